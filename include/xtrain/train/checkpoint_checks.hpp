/**
 * @file checkpoint_checks.hpp
 * @brief The invariants of the training loop, checked on a checkpoint before the Trainer loads it.
 *
 * The checksum (core/checkpoint_format.hpp) only proves a checkpoint's bytes are the ones written,
 * not that whoever wrote them was the Trainer's loop. These checks refuse counters, a sampler
 * position and a history that the loop cannot have produced, each naming the field and the value
 * it contradicts.
 */
#ifndef XTRAIN_TRAIN_CHECKPOINT_CHECKS_HPP
#define XTRAIN_TRAIN_CHECKPOINT_CHECKS_HPP

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>

#include "xtrain/core/checkpoint_format.hpp"
#include "xtrain/core/detect.hpp"
#include "xtrain/core/error.hpp"
#include "xtrain/core/serialize.hpp"
#include "xtrain/train/history.hpp"

namespace xtrain
{
    namespace detail
    {
        /** @brief Detects a sampler that reports its epoch, position, batches handed out and options (BatchSampler does). */
        template <class S>
        using sampler_cursor_t = decltype(std::declval<const S&>().epoch() + std::declval<const S&>().position()
                                          + std::declval<const S&>().iteration()
                                          + std::declval<const S&>().options().drop_last);

        // The history's rows are in the order the loop appends them, and none is ahead of the counters.
        inline void check_history(const BinaryReader& r, const TrainerCounters& c, const History& history)
        {
            if (history.steps.size() > c.step)
            {
                r.fail(concat("the step counter ", c.step, " is below the ", history.steps.size(), " history rows"));
            }
            const auto valid_lr = [](double lr) { return std::isfinite(lr) && lr >= 0.0; };
            const auto valid_time = [](double t) { return std::isfinite(t) && t >= 0.0; };
            for (std::size_t i = 0; i < history.steps.size(); ++i)
            {
                const StepRecord& s = history.steps[i];
                const StepRecord* prev = i > 0 ? &history.steps[i - 1] : nullptr;
                const auto row = [&](auto... what) {
                    r.fail(concat("step history row ", i + 1, " (step ", s.step, "): ", what...));
                };
                if (s.step == 0 || s.step > c.step)
                {
                    row("its step is outside 1..", c.step);
                }
                if (prev && s.step <= prev->step)
                {
                    row("not after the previous row's step ", prev->step);
                }
                if (s.epoch > c.epoch || (prev && s.epoch < prev->epoch))
                {
                    row("its epoch ", s.epoch, " is out of order (the run is in epoch ", c.epoch, ")");
                }
                if (s.examples_seen < s.step || s.examples_seen > c.examples_seen || (prev && s.examples_seen <= prev->examples_seen))
                {
                    row("its examples_seen ", s.examples_seen, " is out of order (the run has seen ", c.examples_seen, ")");
                }
                if (!valid_lr(s.lr))
                {
                    row("its learning rate ", s.lr, " is not a finite number >= 0");
                }
                if (!valid_time(s.wall_seconds))
                {
                    row("its time ", s.wall_seconds, " s is not a finite number >= 0");
                }
            }
            for (std::size_t i = 0; i < history.evals.size(); ++i)
            {
                const EvalRecord& e = history.evals[i];
                const EvalRecord* prev = i > 0 ? &history.evals[i - 1] : nullptr;
                const auto row = [&](auto... what) {
                    r.fail(concat("evaluation history row ", i + 1, " (step ", e.step, "): ", what...));
                };
                if (e.step > c.step || (prev && e.step < prev->step))
                {
                    row("its step is out of order (the run is at step ", c.step, ")");
                }
                if (e.epoch > c.epoch || e.epoch > e.step || (prev && e.epoch < prev->epoch))
                {
                    row("its epoch ", e.epoch, " is out of order (the run is in epoch ", c.epoch, ")");
                }
                if (e.examples_seen < e.step || e.examples_seen > c.examples_seen || (prev && e.examples_seen < prev->examples_seen))
                {
                    row("its examples_seen ", e.examples_seen, " is out of order (the run has seen ", c.examples_seen, ")");
                }
                if (!valid_lr(e.lr))
                {
                    row("its learning rate ", e.lr, " is not a finite number >= 0");
                }
                if (!(std::isnan(e.val_accuracy) || (e.val_accuracy >= 0.0 && e.val_accuracy <= 1.0)))
                {
                    row("its accuracy ", e.val_accuracy, " is outside [0, 1]");
                }
                if (!valid_time(e.wall_seconds))
                {
                    row("its time ", e.wall_seconds, " s is not a finite number >= 0");
                }
            }
        }

        // The invariants the loop keeps, checked on a parsed checkpoint before anything is committed:
        // the CRC only proves the bytes are the ones written, not that whoever wrote them was this
        // loop. Each refusal names the field and the value it contradicts.
        template <class Sampler>
        void check_loaded_run(const BinaryReader& r, const TrainerCounters& c, const Sampler& sampler,
                              const History& history)
        {
            // Every completed epoch had at least one update (a sampler always has a batch per epoch),
            // and every update consumed at least one example and at most one epoch's worth.
            if (c.epoch > c.step)
            {
                r.fail(concat("epoch ", c.epoch, " is impossible for step ", c.step,
                                      ": every epoch takes at least one update"));
            }
            if (c.examples_seen < c.step)
            {
                r.fail(concat("examples_seen ", c.examples_seen, " is below the step counter ", c.step,
                                      ": every update consumes at least one example"));
            }
            // Each completed epoch consumed at most N examples (exactly N without drop_last), the
            // epoch in progress as many as the sampler has handed out.
            const std::uint64_t n = sampler.num_samples();
            std::uint64_t in_progress = c.in_epoch ? n : 0;
            bool exact = false;
            if constexpr (is_detected_v<sampler_cursor_t, Sampler>)
            {
                in_progress = c.in_epoch ? static_cast<std::uint64_t>(sampler.position()) : 0;
                exact = !sampler.options().drop_last;
            }
            const std::uint64_t most = std::numeric_limits<std::uint64_t>::max();
            const bool fits = c.epoch <= (most - in_progress) / n;
            const std::uint64_t bound = fits ? c.epoch * n + in_progress : most;
            if (c.examples_seen > bound || (exact && (!fits || c.examples_seen != bound)))
            {
                r.fail(concat("examples_seen ", c.examples_seen, " does not match ", c.epoch, " completed epochs of ", n,
                                      " samples", c.in_epoch ? concat(" and ", in_progress, " of the epoch in progress") : "",
                                      exact ? "" : " (at most)"));
            }
            const std::uint64_t per_epoch = sampler.iterations_per_epoch();
            if (c.batches_in_epoch > per_epoch)
            {
                r.fail(concat("the epoch's batch count ", c.batches_in_epoch, " is more than its ", per_epoch,
                                      " batches"));
            }
            if (c.updates_since_eval > c.step)
            {
                r.fail(concat("the ", c.updates_since_eval, " updates since the last evaluation are more than the ",
                                      c.step, " updates of the run"));
            }
            if (!(std::isfinite(c.wall_seconds) && c.wall_seconds >= 0.0))
            {
                r.fail(concat("the training time ", c.wall_seconds, " s is not a finite number >= 0"));
            }
            if constexpr (is_detected_v<sampler_cursor_t, Sampler>)
            {
                // Within an epoch the sampler is at that epoch, and has handed out exactly the
                // batches the trainer counts.
                if (c.in_epoch && sampler.epoch() != c.epoch)
                {
                    r.fail(concat("the sampler is in epoch ", sampler.epoch(), " but the trainer in epoch ", c.epoch));
                }
                if (!c.in_epoch && sampler.epoch() > c.epoch)
                {
                    r.fail(concat("the sampler is in epoch ", sampler.epoch(), " but the trainer has completed only ",
                                          c.epoch));
                }
                if (c.in_epoch && sampler.iteration() != c.batches_in_epoch)
                {
                    r.fail(concat("the sampler has handed out ", sampler.iteration(),
                                          " batches of the epoch but the trainer counts ", c.batches_in_epoch));
                }
            }
            check_history(r, c, history);
        }
    }
}

#endif
