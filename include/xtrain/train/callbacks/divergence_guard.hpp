/**
 * @file divergence_guard.hpp
 * @brief Stops a run whose loss has become NaN or infinite, or has grown far above where it began.
 *
 * In a learning-rate sweep the largest rates diverge: that is a result to record, not an error.
 * The guard marks the run `RunStatus::diverged` with a message saying when and why; no exception
 * is thrown, so a sweep simply goes on to the next run.
 */
#ifndef XTRAIN_TRAIN_CALLBACKS_DIVERGENCE_GUARD_HPP
#define XTRAIN_TRAIN_CALLBACKS_DIVERGENCE_GUARD_HPP

#include <cmath>
#include <cstdint>

#include "xtrain/core/error.hpp"
#include "xtrain/core/serialize.hpp"
#include "xtrain/train/trainer.hpp"

namespace xtrain
{
    /**
     * @brief Marks the run diverged when the batch loss is not finite, or exceeds
     * `factor` x the loss of the first update (and at least `min_threshold`).
     */
    class DivergenceGuard
    {
    public:
        /** @brief @p factor > 1: how far above the initial loss counts as diverged. */
        explicit DivergenceGuard(double factor = 10.0, double min_threshold = 0.0)
            : m_factor(factor)
            , m_min_threshold(min_threshold)
        {
            detail::require(factor > 1.0, "xtrain::DivergenceGuard", "factor", factor, "must be > 1");
            detail::require(min_threshold >= 0.0, "xtrain::DivergenceGuard", "min_threshold", min_threshold,
                            "must be >= 0");
        }

        /** @brief Checks the loss of the update just done. */
        template <class Tr>
        void on_step_end(Tr& t)
        {
            const double loss = t.last_loss();
            if (!std::isfinite(loss))
            {
                t.request_stop(RunStatus::diverged, detail::concat("the loss became ", loss, " at step ", t.step()));
                return;
            }
            if (!m_has_initial)
            {
                m_initial = loss;
                m_has_initial = true;
                return;
            }
            const double bound = std::max(m_factor * std::abs(m_initial), m_min_threshold);
            if (bound > 0.0 && loss > bound)
            {
                t.request_stop(RunStatus::diverged, detail::concat("the loss ", loss, " at step ", t.step(), " exceeded ",
                                                                   m_factor, " x the initial loss ", m_initial));
            }
        }

        /** @brief The loss of the first update (NaN before it). */
        double initial_loss() const noexcept { return m_has_initial ? m_initial : std::nan(""); }

        /** @brief Keeps the initial loss in checkpoints. */
        void save(BinaryWriter& w) const
        {
            w.write_tag("divergence_guard");
            w.write(m_has_initial);
            w.write(m_initial);
        }
        /** @brief Restores what save() wrote. */
        void load(BinaryReader& r)
        {
            r.expect_tag("divergence_guard");
            m_has_initial = r.read<bool>();
            m_initial = r.read<double>();
        }

    private:
        double m_factor;
        double m_min_threshold;
        double m_initial = 0.0;
        bool m_has_initial = false;
    };
}

#endif
