/**
 * @file early_stopping.hpp
 * @brief Stops a run when a validation metric has not improved for a number of evaluations.
 */
#ifndef XTRAIN_TRAIN_CALLBACKS_EARLY_STOPPING_HPP
#define XTRAIN_TRAIN_CALLBACKS_EARLY_STOPPING_HPP

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "xtrain/core/error.hpp"
#include "xtrain/core/serialize.hpp"
#include "xtrain/train/trainer.hpp"

namespace xtrain
{
    /** @brief The metric early stopping watches. */
    enum class Monitor : std::uint8_t
    {
        val_loss,     ///< lower is better
        val_accuracy, ///< higher is better
        train_loss    ///< lower is better (when there is no validation data)
    };

    /**
     * @brief Stops the run (RunStatus::stopped) after `patience` evaluation points without an
     * improvement of at least `min_delta` in the monitored metric.
     */
    class EarlyStopping
    {
    public:
        /** @brief Watches @p monitor with the given patience (evaluations) and minimal improvement. */
        explicit EarlyStopping(Monitor monitor = Monitor::val_loss, std::size_t patience = 3, double min_delta = 0.0)
            : m_monitor(monitor)
            , m_patience(patience)
            , m_min_delta(min_delta)
        {
            detail::require(patience >= 1, "xtrain::EarlyStopping", "patience", patience, "must be >= 1");
            detail::require(min_delta >= 0.0, "xtrain::EarlyStopping", "min_delta", min_delta, "must be >= 0");
        }

        /** @brief Compares the new evaluation with the best so far. */
        template <class Tr>
        void on_evaluate(Tr& t, const EvalRecord& rec)
        {
            const double v = m_monitor == Monitor::val_loss ? rec.val_loss
                : m_monitor == Monitor::val_accuracy        ? rec.val_accuracy
                                                            : rec.train_loss;
            if (std::isnan(v))
            {
                return;
            }
            const double score = m_monitor == Monitor::val_accuracy ? v : -v; // higher is better
            if (!m_has_best || score > m_best + m_min_delta)
            {
                m_best = score;
                m_has_best = true;
                m_bad = 0;
                m_best_step = rec.step;
                return;
            }
            if (++m_bad >= m_patience)
            {
                t.request_stop(RunStatus::stopped,
                               detail::concat("no improvement for ", m_bad, " evaluations (best at step ", m_best_step, ")"));
            }
        }

        /** @brief Step of the best evaluation so far. */
        std::uint64_t best_step() const noexcept { return m_best_step; }

        /** @brief Keeps the best score and the count in checkpoints. */
        void save(BinaryWriter& w) const
        {
            w.write_tag("early_stopping");
            w.write(m_has_best);
            w.write(m_best);
            w.write<std::uint64_t>(m_bad);
            w.write(m_best_step);
        }
        /** @brief Restores what save() wrote. */
        void load(BinaryReader& r)
        {
            r.expect_tag("early_stopping");
            m_has_best = r.read<bool>();
            m_best = r.read<double>();
            m_bad = static_cast<std::size_t>(r.read<std::uint64_t>());
            m_best_step = r.read<std::uint64_t>();
        }

    private:
        Monitor m_monitor;
        std::size_t m_patience;
        double m_min_delta;
        bool m_has_best = false;
        double m_best = -std::numeric_limits<double>::infinity();
        std::size_t m_bad = 0;
        std::uint64_t m_best_step = 0;
    };
}

#endif
