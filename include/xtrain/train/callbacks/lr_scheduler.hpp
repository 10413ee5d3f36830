/**
 * @file lr_scheduler.hpp
 * @brief Applies a learning-rate schedule to the trainer's optimizer, per update or per epoch.
 */
#ifndef XTRAIN_TRAIN_CALLBACKS_LR_SCHEDULER_HPP
#define XTRAIN_TRAIN_CALLBACKS_LR_SCHEDULER_HPP

#include <cmath>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "xtrain/core/serialize.hpp"
#include "xtrain/optim/schedule.hpp"
#include "xtrain/train/callback.hpp"
#include "xtrain/train/trainer.hpp"

namespace xtrain
{
    /** @brief What a schedule's index counts. */
    enum class ScheduleUnit : std::uint8_t
    {
        step, ///< optimizer updates: the schedule is asked before every update with the update's 0-based index
        epoch ///< epochs: asked at the start of every epoch with its 0-based index
    };

    /**
     * @brief Sets the optimizer's rate from schedule S before each update (or each epoch).
     *
     * S is any copyable type with `double operator()(std::size_t t) const`. If S also has
     * `void observe(double metric)` (reduce-on-plateau), it is given the validation loss at each
     * epoch end (the running training loss when there is no validation data). A schedule with
     * `save`/`load` keeps its state in checkpoints. The rate in effect at every update is in the
     * trainer's history (StepRecord::lr).
     */
    template <class S>
    class LrScheduler
    {
        static_assert(check_schedule<S>(), "see the messages above");

    public:
        /** @brief Applies @p schedule, indexed by @p unit. */
        explicit LrScheduler(S schedule, ScheduleUnit unit = ScheduleUnit::step)
            : m_schedule(std::move(schedule))
            , m_unit(unit)
        {
        }

        /**
         * @brief Sets the rate of the coming update already, so that an evaluation before it (a row
         * at step 0) reports the rate in effect, not the optimizer's initial one.
         */
        template <class Tr>
        void on_fit_begin(Tr& t)
        {
            const auto index = m_unit == ScheduleUnit::step ? t.step() : t.epoch();
            t.optimizer().set_lr(static_cast<double>(m_schedule(static_cast<std::size_t>(index))));
        }

        /** @brief Per-epoch schedules: set the rate for the epoch starting. */
        template <class Tr>
        void on_epoch_begin(Tr& t)
        {
            if (m_unit == ScheduleUnit::epoch)
            {
                t.optimizer().set_lr(static_cast<double>(m_schedule(static_cast<std::size_t>(t.epoch()))));
            }
        }

        /** @brief Per-step schedules: set the rate for the update about to happen. */
        template <class Tr>
        void on_step_begin(Tr& t)
        {
            if (m_unit == ScheduleUnit::step)
            {
                t.optimizer().set_lr(static_cast<double>(m_schedule(static_cast<std::size_t>(t.step()))));
            }
        }

        /** @brief Feeds metric-driven schedules the epoch's validation (or training) loss. */
        template <class Tr>
        void on_epoch_end(Tr& t)
        {
            if constexpr (has_observe_v<S>)
            {
                const auto& evals = t.history().evals;
                if (!evals.empty())
                {
                    const double v = std::isnan(evals.back().val_loss) ? evals.back().train_loss : evals.back().val_loss;
                    m_schedule.observe(v);
                }
            }
            else
            {
                (void)t;
            }
        }

        /** @brief The schedule. */
        const S& schedule() const noexcept { return m_schedule; }
        /** @brief The schedule (e.g. to inspect a reduce-on-plateau's state). */
        S& schedule() noexcept { return m_schedule; }

        /** @brief Keeps a stateful schedule's state in checkpoints. */
        void save(BinaryWriter& w) const
        {
            w.write_tag("lr_scheduler");
            if constexpr (has_checkpoint_state_v<S>)
            {
                m_schedule.save(w);
            }
        }
        /** @brief Restores what save() wrote. */
        void load(BinaryReader& r)
        {
            r.expect_tag("lr_scheduler");
            if constexpr (has_checkpoint_state_v<S>)
            {
                m_schedule.load(r);
            }
        }

    private:
        S m_schedule;
        ScheduleUnit m_unit;
    };
}

#endif
