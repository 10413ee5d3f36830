/**
 * @file run_summary.hpp
 * @brief One run condensed to a row of summary.csv: final metrics, time to target, status.
 */
#ifndef XTRAIN_EXPERIMENT_RUN_SUMMARY_HPP
#define XTRAIN_EXPERIMENT_RUN_SUMMARY_HPP

#include <cmath>
#include <cstddef>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "xtrain/experiment/eval_sink.hpp"
#include "xtrain/experiment/sweep_grid.hpp"
#include "xtrain/experiment/target.hpp"

namespace xtrain
{
    /** @brief A run's outcome: one row of summary.csv. */
    struct RunSummary
    {
        RunKey key;                              ///< which run
        RunOutcome status = RunOutcome::finished;  ///< finished, diverged or stalled
        std::size_t eval_rows = 0;               ///< rows the run has in runs.csv (checked on resume)
        EvalRow last;                            ///< the last evaluation row (NaN metrics if none)
        double best_val_accuracy = std::numeric_limits<double>::quiet_NaN();  ///< max over the rows
        double min_val_loss = std::numeric_limits<double>::quiet_NaN();       ///< min over the rows
        double run_seconds = 0.0;                ///< wall time of the whole run as the sweep measured it
        Target target;                           ///< the target in effect
        bool target_reached = false;             ///< whether `to_target` is meaningful
        TargetHit to_target;                     ///< when the target was first met
        std::string note;                        ///< the run function's note (e.g. why it diverged)
        double test_loss = std::numeric_limits<double>::quiet_NaN();      ///< final model on the test set
        double test_accuracy = std::numeric_limits<double>::quiet_NaN();  ///< final model on the test set
        double eval_seconds = std::numeric_limits<double>::quiet_NaN();   ///< time the run spent evaluating
        double refine_seconds = std::numeric_limits<double>::quiet_NaN(); ///< time spent resolving the time to target
        std::uint64_t guard_step = 0;  ///< where the guard stopped the run (or would have); 0: never
        std::string guard_rules;       ///< where each of the guard's rules first fired, e.g. "dead@600"

        /** @brief True if the run blew up. */
        bool diverged() const noexcept { return status == RunOutcome::diverged; }
        /** @brief True if the run ended at or near chance. */
        bool stalled() const noexcept { return status == RunOutcome::stalled; }
    };

    /**
     * @brief Condenses a run's rows and result into its summary.
     *
     * - A run returned as finished whose last row has a non-finite train_loss is recorded as
     *   diverged (the run function missed it), with a note saying so.
     * - The time to target is the earliest of the sink's target_reached() report and the first
     *   recorded row that meets the target (so it is known at evaluation resolution at least; its
     *   `resolution` is then the steps since the row before). A run that reaches the target and
     *   diverges later keeps its time to target.
     * - The result's test metrics and timings are copied.
     */
    inline RunSummary summarize_run(const RunKey& key, const std::vector<EvalRow>& rows, const RunResult& result,
                                    double run_seconds, const Target& target,
                                    const std::optional<TargetHit>& reported = std::nullopt)
    {
        constexpr double nan = std::numeric_limits<double>::quiet_NaN();
        RunSummary s;
        s.key = key;
        s.status = result.status;
        s.note = result.note;
        s.eval_rows = rows.size();
        s.run_seconds = run_seconds;
        s.target = target;
        s.test_loss = result.test_loss;
        s.test_accuracy = result.test_accuracy;
        s.eval_seconds = result.eval_seconds;
        s.refine_seconds = result.refine_seconds;
        s.guard_step = result.guard_step;
        s.guard_rules = result.guard_rules;
        if (rows.empty())
        {
            s.last.train_loss = s.last.val_loss = s.last.val_accuracy = s.last.lr_in_effect = nan;
        }
        else
        {
            s.last = rows.back();
        }
        for (const auto& r : rows)
        {
            if (!std::isnan(r.val_accuracy) && !(r.val_accuracy <= s.best_val_accuracy))
            {
                s.best_val_accuracy = r.val_accuracy;
            }
            if (!std::isnan(r.val_loss) && !(r.val_loss >= s.min_val_loss))
            {
                s.min_val_loss = r.val_loss;
            }
        }
        // A row at step 0 (an evaluation before training) has no training loss yet: that is not a blow-up.
        if (s.status != RunOutcome::diverged && !rows.empty() && !std::isfinite(rows.back().train_loss)
            && rows.back().step != 0)
        {
            s.status = RunOutcome::diverged;
            s.note = s.note.empty() ? "train_loss not finite at the last evaluation"
                                    : s.note + "; train_loss not finite at the last evaluation";
        }
        std::optional<TargetHit> hit = reported;
        if (target.enabled())
        {
            std::uint64_t previous = 0;
            for (const auto& r : rows)
            {
                const double v = target.metric == TargetMetric::val_accuracy ? r.val_accuracy
                               : target.metric == TargetMetric::val_loss     ? r.val_loss
                                                                             : r.train_loss;
                if (target.met(v))
                {
                    if (!hit || r.step < hit->step)
                    {
                        hit = TargetHit{r.epoch, r.step, r.examples_seen, r.wall_seconds, r.step - previous};
                    }
                    break;
                }
                previous = r.step;
            }
        }
        else
        {
            hit.reset();
        }
        s.target_reached = hit.has_value();
        if (hit)
        {
            s.to_target = *hit;
        }
        return s;
    }
}

#endif
