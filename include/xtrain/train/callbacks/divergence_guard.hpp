/**
 * @file divergence_guard.hpp
 * @brief Stops a run whose loss has become NaN or infinite, or has grown far above where it began.
 *
 * In a learning-rate sweep the largest rates diverge: that is a result to record, not an error.
 * The guard marks the run `RunStatus::diverged` with a message saying when and why; no exception
 * is thrown, so a sweep simply goes on to the next run.
 *
 * Two signs count. A blow-up: a batch loss that is NaN, infinite, or above `factor` x the loss of
 * the first update. And a relapse: a running training loss, at an evaluation point, that has
 * climbed back more than `relapse` of the way from its lowest value to the initial loss. The
 * second catches rates that are too large without a spike above the bound, such as a ReLU network
 * whose units die after a few large steps: its loss returns to chance level and stays there.
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
     * @brief Marks the run diverged when the batch loss is not finite or exceeds `factor` x the loss
     * of the first update, or when the running training loss relapses (see the file comment).
     */
    class DivergenceGuard
    {
    public:
        /**
         * @brief @p factor > 1: how far above the initial loss a batch loss may go; @p relapse > 0:
         * the fraction of its descent the running loss may climb back (infinity switches it off).
         */
        explicit DivergenceGuard(double factor = 10.0, double relapse = 0.5)
            : m_factor(factor)
            , m_relapse(relapse)
        {
            detail::require(factor > 1.0, "xtrain::DivergenceGuard", "factor", factor, "must be > 1");
            detail::require(relapse > 0.0, "xtrain::DivergenceGuard", "relapse", relapse, "must be > 0");
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
            const double bound = m_factor * std::abs(m_initial);
            if (bound > 0.0 && loss > bound)
            {
                t.request_stop(RunStatus::diverged, detail::concat("the loss ", loss, " at step ", t.step(), " exceeded ",
                                                                   m_factor, " x the initial loss ", m_initial));
            }
        }

        /** @brief Watches the running training loss for a relapse. */
        template <class Tr>
        void on_evaluate(Tr& t, const EvalRecord& r)
        {
            if (!m_has_initial || !std::isfinite(r.train_loss))
            {
                return;
            }
            if (!m_has_lowest || r.train_loss < m_lowest)
            {
                m_lowest = r.train_loss;
                m_has_lowest = true;
                return;
            }
            const double descent = m_initial - m_lowest;
            if (descent > 0.0 && r.train_loss > m_lowest + m_relapse * descent)
            {
                t.request_stop(RunStatus::diverged,
                               detail::concat("the training loss climbed back from ", m_lowest, " to ", r.train_loss,
                                              " at step ", t.step(), ", more than ", m_relapse,
                                              " of its descent from the initial loss ", m_initial));
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
            w.write(m_has_lowest);
            w.write(m_lowest);
        }
        /** @brief Restores what save() wrote. */
        void load(BinaryReader& r)
        {
            r.expect_tag("divergence_guard");
            m_has_initial = r.read<bool>();
            m_initial = r.read<double>();
            m_has_lowest = r.read<bool>();
            m_lowest = r.read<double>();
        }

    private:
        double m_factor;
        double m_relapse;
        double m_initial = 0.0;
        bool m_has_initial = false;
        double m_lowest = 0.0;
        bool m_has_lowest = false;
    };
}

#endif
