/**
 * @file batch_size_scheduler.hpp
 * @brief Sets the batch size of each epoch from a schedule: growing the batch instead of decaying
 * the learning rate (Smith, Kindermans, Ying and Le, 2018).
 */
#ifndef XTRAIN_TRAIN_CALLBACKS_BATCH_SIZE_SCHEDULER_HPP
#define XTRAIN_TRAIN_CALLBACKS_BATCH_SIZE_SCHEDULER_HPP

#include <cstddef>
#include <type_traits>
#include <utility>

#include "xtrain/train/trainer.hpp"

namespace xtrain
{
    /** @brief True when S can be called as `std::size_t(std::size_t epoch)` (const), as BatchSizeScheduler needs. */
    template <class S>
    inline constexpr bool is_batch_size_schedule_v
        = std::is_copy_constructible_v<S> && std::is_invocable_r_v<std::size_t, const S&, std::size_t>;

    /**
     * @brief Gives the trainer's sampler the batch size `schedule(e)` for every epoch e.
     *
     * S is any copyable callable taking the 0-based epoch and returning the batch size, e.g. a
     * lambda `[](std::size_t e) { return e < 10 ? 128 : e < 20 ? 640 : 3200; }`. The sampler must
     * be a `BatchSampler<xtrain::dynamic>`; the size is set before each epoch starts (at the start
     * of fit and at each epoch's end), so each epoch runs at its size from its first batch, and
     * the trainer grows its batch buffer when needed. The size in effect is in the history
     * (StepRecord::examples_seen grows by it), and the schedule, being a function of the epoch,
     * needs no checkpoint state: the sampler keeps its sizes in checkpoints itself.
     */
    template <class S>
    class BatchSizeScheduler
    {
        static_assert(is_batch_size_schedule_v<S>,
                      "xtrain::BatchSizeScheduler<S>: S must be a copyable callable 'std::size_t operator()(std::size_t epoch) "
                      "const' giving the batch size of each 0-based epoch");

    public:
        /** @brief Applies @p schedule, a function of the 0-based epoch. */
        explicit BatchSizeScheduler(S schedule) : m_schedule(std::move(schedule)) {}

        /** @brief Sets the size of the first epoch this fit starts (epoch 0, or the next after a resume). */
        template <class Tr>
        void on_fit_begin(Tr& t)
        {
            apply(t);
        }

        /** @brief Sets the size of the epoch about to start (t.epoch() counts the epochs completed). */
        template <class Tr>
        void on_epoch_end(Tr& t)
        {
            apply(t);
        }

        /** @brief The batch size the schedule gives for epoch @p epoch. */
        std::size_t operator()(std::size_t epoch) const { return static_cast<std::size_t>(m_schedule(epoch)); }

        /** @brief The schedule. */
        const S& schedule() const noexcept { return m_schedule; }

    private:
        template <class Tr>
        void apply(Tr& t)
        {
            // Mid-epoch (a resumed checkpoint) this sets the size of the next epoch, which its own
            // on_epoch_end sets again: harmless.
            t.sampler().set_batch_size((*this)(static_cast<std::size_t>(t.epoch())));
        }

        S m_schedule;
    };
}

#endif
