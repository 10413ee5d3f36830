/**
 * @file reduce_lr_on_plateau.hpp
 * @brief xtrain::ReduceLROnPlateau: a schedule that lowers the rate when a metric stops improving.
 *
 * Unlike the closed-form schedules its rate depends on the metrics it was shown: observe(metric)
 * once per evaluation (usually per epoch), and operator()(t) returns the current rate whatever t.
 * The rules are torch.optim.lr_scheduler.ReduceLROnPlateau's.
 */
#ifndef XTRAIN_OPTIM_REDUCE_LR_ON_PLATEAU_HPP
#define XTRAIN_OPTIM_REDUCE_LR_ON_PLATEAU_HPP

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "xtrain/core/error.hpp"
#include "xtrain/core/serialize.hpp"
#include "xtrain/optim/policy.hpp"

namespace xtrain
{
    /** @brief Whether a lower or a higher metric is better. */
    enum class PlateauMode
    {
        min, ///< e.g. a loss
        max  ///< e.g. an accuracy
    };

    /** @brief How the improvement threshold is measured. */
    enum class ThresholdMode
    {
        rel, ///< better than best * (1 -/+ threshold)
        abs  ///< better than best -/+ threshold
    };

    /**
     * @brief Multiplies the rate by `factor` once the metric has not improved for more than `patience` observations.
     *
     * After a reduction, `cooldown` observations pass before bad ones count again. The rate never
     * goes below `min_lr`, and a reduction smaller than `eps` is skipped.
     */
    class ReduceLROnPlateau
    {
    public:
        /** @brief Arguments in torch's order, with the starting rate first. @throws std::invalid_argument naming a bad one. */
        explicit ReduceLROnPlateau(double lr, PlateauMode mode = PlateauMode::min, double factor = 0.1,
                                   std::size_t patience = 10, double threshold = 1e-4,
                                   ThresholdMode threshold_mode = ThresholdMode::rel, std::size_t cooldown = 0,
                                   double min_lr = 0.0, double eps = 1e-8)
            : m_lr(lr)
            , m_mode(mode)
            , m_factor(factor)
            , m_patience(patience)
            , m_threshold(threshold)
            , m_threshold_mode(threshold_mode)
            , m_cooldown(cooldown)
            , m_min_lr(min_lr)
            , m_eps(eps)
        {
            const char* where = "xtrain::ReduceLROnPlateau";
            detail::require(detail::finite_nonnegative(lr), where, "lr", lr, "must be a finite number >= 0");
            detail::require(factor >= 0.0 && factor < 1.0, where, "factor", factor, "must be in [0, 1)");
            detail::require(detail::finite_nonnegative(threshold), where, "threshold", threshold,
                            "must be a finite number >= 0");
            detail::require(detail::finite_nonnegative(min_lr), where, "min_lr", min_lr, "must be a finite number >= 0");
            detail::require(detail::finite_nonnegative(eps), where, "eps", eps, "must be a finite number >= 0");
            m_best = worst();
        }

        /** @brief The current rate (the same for every @p t: it changes only through observe()). */
        double operator()(std::size_t /*t*/) const noexcept { return m_lr; }

        /** @brief Records one evaluation of the metric; may lower the rate. A NaN metric counts as no improvement. */
        void observe(double metric) noexcept
        {
            if (is_better(metric, m_best))
            {
                m_best = metric;
                m_bad = 0;
            }
            else
            {
                ++m_bad;
            }
            if (m_cooldown_left > 0)
            {
                --m_cooldown_left;
                m_bad = 0; // bad observations during the cooldown do not count
            }
            if (m_bad > m_patience)
            {
                const double reduced = std::max(m_lr * m_factor, m_min_lr);
                if (m_lr - reduced > m_eps)
                {
                    m_lr = reduced;
                    ++m_reductions;
                }
                m_cooldown_left = m_cooldown;
                m_bad = 0;
            }
        }

        /** @brief The best metric seen so far (+inf or -inf before the first). */
        double best() const noexcept { return m_best; }
        /** @brief Observations since the last improvement (reset by a reduction and during cooldown). */
        std::size_t num_bad_epochs() const noexcept { return m_bad; }
        /** @brief How many times the rate has been lowered. */
        std::size_t reductions() const noexcept { return m_reductions; }

        /**
         * @brief Writes what observe() has changed (rate, best metric, counters), so that a run
         * resumed from a checkpoint goes on lowering the rate where it left off. LrScheduler calls it.
         */
        void save(BinaryWriter& w) const
        {
            w.write_tag("ReduceLROnPlateau");
            w.write<double>(m_lr);
            w.write<double>(m_best);
            w.write<std::uint64_t>(m_bad);
            w.write<std::uint64_t>(m_cooldown_left);
            w.write<std::uint64_t>(m_reductions);
        }

        /** @brief Restores what save() wrote; nothing changes if reading fails. @throws checkpoint_error */
        void load(BinaryReader& r)
        {
            r.expect_tag("ReduceLROnPlateau");
            const auto lr = r.read<double>();
            const auto best = r.read<double>();
            const auto bad = r.read<std::uint64_t>();
            const auto cooldown_left = r.read<std::uint64_t>();
            const auto reductions = r.read<std::uint64_t>();
            if (!detail::finite_nonnegative(lr))
            {
                r.fail(detail::concat("ReduceLROnPlateau holds the learning rate ", lr, ", not a finite number >= 0"));
            }
            m_lr = lr;
            m_best = best;
            m_bad = static_cast<std::size_t>(bad);
            m_cooldown_left = static_cast<std::size_t>(cooldown_left);
            m_reductions = static_cast<std::size_t>(reductions);
        }

    private:
        double worst() const noexcept
        {
            const double inf = std::numeric_limits<double>::infinity();
            return m_mode == PlateauMode::min ? inf : -inf;
        }

        bool is_better(double a, double best) const noexcept
        {
            if (m_mode == PlateauMode::min)
            {
                return m_threshold_mode == ThresholdMode::rel ? a < best * (1.0 - m_threshold) : a < best - m_threshold;
            }
            return m_threshold_mode == ThresholdMode::rel ? a > best * (m_threshold + 1.0) : a > best + m_threshold;
        }

        double m_lr;
        PlateauMode m_mode;
        double m_factor;
        std::size_t m_patience;
        double m_threshold;
        ThresholdMode m_threshold_mode;
        std::size_t m_cooldown;
        double m_min_lr;
        double m_eps;
        double m_best = 0.0;
        std::size_t m_bad = 0;
        std::size_t m_cooldown_left = 0;
        std::size_t m_reductions = 0;
    };
}

#endif
