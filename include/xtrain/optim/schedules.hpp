/**
 * @file schedules.hpp
 * @brief Learning-rate schedules as small copyable policies: rate = schedule(t), t = 0, 1, 2, ...
 *
 * Each is a closed form of t (PyTorch's `_get_closed_form_lr` where PyTorch has the same
 * schedule), so the rate at any index is known without replaying the past, and a resumed run
 * needs no schedule state. Names and argument orders follow torch.optim.lr_scheduler, with the
 * base rate first where PyTorch takes it from the optimizer. They compose: LinearWarmup multiplies
 * any schedule by a linear ramp, SequentialLR switches from one schedule to another.
 */
#ifndef XTRAIN_OPTIM_SCHEDULES_HPP
#define XTRAIN_OPTIM_SCHEDULES_HPP

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include "xtrain/core/error.hpp"
#include "xtrain/optim/policy.hpp"
#include "xtrain/optim/schedule.hpp"

namespace xtrain
{
    namespace detail
    {
        inline constexpr double pi = 3.14159265358979323846;

        inline void check_rate(const char* where, const char* name, double v)
        {
            require(finite_nonnegative(v), where, name, v, "must be a finite number >= 0");
        }
    }

    /** @brief The same rate at every index. */
    class FixedLR
    {
    public:
        /** @brief @throws std::invalid_argument unless lr is finite and >= 0. */
        explicit FixedLR(double lr) : m_lr(lr) { detail::check_rate("xtrain::FixedLR", "lr", lr); }
        /** @brief The rate at index @p t. */
        double operator()(std::size_t /*t*/) const noexcept { return m_lr; }

    private:
        double m_lr;
    };

    /** @brief lr * gamma^floor(t / step_size) (torch StepLR). */
    class StepLR
    {
    public:
        /** @brief @throws std::invalid_argument for lr or gamma negative or not finite, or step_size 0. */
        StepLR(double lr, std::size_t step_size, double gamma = 0.1)
            : m_lr(lr)
            , m_step_size(step_size)
            , m_gamma(gamma)
        {
            detail::check_rate("xtrain::StepLR", "lr", lr);
            detail::require(step_size > 0, "xtrain::StepLR", "step_size", step_size, "must be > 0");
            detail::check_rate("xtrain::StepLR", "gamma", gamma);
        }
        /** @brief The rate at index @p t. */
        double operator()(std::size_t t) const noexcept
        {
            return m_lr * std::pow(m_gamma, static_cast<double>(t / m_step_size));
        }

    private:
        double m_lr;
        std::size_t m_step_size;
        double m_gamma;
    };

    /** @brief lr * gamma^(number of milestones <= t) (torch MultiStepLR; a repeated milestone counts twice). */
    class MultiStepLR
    {
    public:
        /** @brief @throws std::invalid_argument for lr or gamma negative or not finite. */
        MultiStepLR(double lr, std::vector<std::size_t> milestones, double gamma = 0.1)
            : m_lr(lr)
            , m_milestones(std::move(milestones))
            , m_gamma(gamma)
        {
            detail::check_rate("xtrain::MultiStepLR", "lr", lr);
            detail::check_rate("xtrain::MultiStepLR", "gamma", gamma);
            std::sort(m_milestones.begin(), m_milestones.end());
        }
        /** @brief The rate at index @p t. */
        double operator()(std::size_t t) const noexcept
        {
            const auto passed = std::upper_bound(m_milestones.begin(), m_milestones.end(), t) - m_milestones.begin();
            return m_lr * std::pow(m_gamma, static_cast<double>(passed));
        }

    private:
        double m_lr;
        std::vector<std::size_t> m_milestones;
        double m_gamma;
    };

    /** @brief lr * gamma^t (torch ExponentialLR). */
    class ExponentialLR
    {
    public:
        /** @brief @throws std::invalid_argument for lr or gamma negative or not finite. */
        ExponentialLR(double lr, double gamma)
            : m_lr(lr)
            , m_gamma(gamma)
        {
            detail::check_rate("xtrain::ExponentialLR", "lr", lr);
            detail::check_rate("xtrain::ExponentialLR", "gamma", gamma);
        }
        /** @brief The rate at index @p t. */
        double operator()(std::size_t t) const noexcept { return m_lr * std::pow(m_gamma, static_cast<double>(t)); }

    private:
        double m_lr;
        double m_gamma;
    };

    /**
     * @brief Half a cosine from lr down to eta_min over t_max indices, then eta_min (torch CosineAnnealingLR).
     *
     * eta_min + (lr - eta_min) * (1 + cos(pi * t / t_max)) / 2 for t <= t_max. PyTorch's formula
     * rises again after t_max; xtrain holds eta_min, which is what a run longer than t_max wants.
     */
    class CosineAnnealingLR
    {
    public:
        /** @brief @throws std::invalid_argument for a negative or non-finite rate or t_max 0. */
        CosineAnnealingLR(double lr, std::size_t t_max, double eta_min = 0.0)
            : m_lr(lr)
            , m_t_max(t_max)
            , m_eta_min(eta_min)
        {
            detail::check_rate("xtrain::CosineAnnealingLR", "lr", lr);
            detail::require(t_max > 0, "xtrain::CosineAnnealingLR", "t_max", t_max, "must be > 0");
            detail::check_rate("xtrain::CosineAnnealingLR", "eta_min", eta_min);
        }
        /** @brief The rate at index @p t. */
        double operator()(std::size_t t) const noexcept
        {
            if (t >= m_t_max)
            {
                return m_eta_min;
            }
            return m_eta_min + (m_lr - m_eta_min) *
                                   (1.0 + std::cos(detail::pi * static_cast<double>(t) / static_cast<double>(m_t_max))) / 2.0;
        }

    private:
        double m_lr;
        std::size_t m_t_max;
        double m_eta_min;
    };

    /**
     * @brief Cosine annealing with warm restarts (SGDR, Loshchilov and Hutter 2017; torch CosineAnnealingWarmRestarts).
     *
     * The first cycle lasts t_0 indices, each next one t_mult times longer; within a cycle of
     * length T_i at position T_cur the rate is eta_min + (lr - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2.
     */
    class CosineAnnealingWarmRestarts
    {
    public:
        /** @brief @throws std::invalid_argument for a negative or non-finite rate, t_0 0 or t_mult 0. */
        CosineAnnealingWarmRestarts(double lr, std::size_t t_0, std::size_t t_mult = 1, double eta_min = 0.0)
            : m_lr(lr)
            , m_t_0(t_0)
            , m_t_mult(t_mult)
            , m_eta_min(eta_min)
        {
            detail::check_rate("xtrain::CosineAnnealingWarmRestarts", "lr", lr);
            detail::require(t_0 > 0, "xtrain::CosineAnnealingWarmRestarts", "t_0", t_0, "must be > 0");
            detail::require(t_mult >= 1, "xtrain::CosineAnnealingWarmRestarts", "t_mult", t_mult, "must be >= 1");
            detail::check_rate("xtrain::CosineAnnealingWarmRestarts", "eta_min", eta_min);
        }

        /** @brief The rate at index @p t. */
        double operator()(std::size_t t) const noexcept
        {
            std::size_t t_cur = t;
            std::size_t t_i = m_t_0;
            if (m_t_mult == 1)
            {
                t_cur = t % m_t_0;
            }
            else
            {
                while (t_cur >= t_i)
                {
                    t_cur -= t_i;
                    if (t_i > std::numeric_limits<std::size_t>::max() / m_t_mult)
                    {
                        break; // the next cycle would be longer than any index
                    }
                    t_i *= m_t_mult;
                }
            }
            return m_eta_min + (m_lr - m_eta_min) *
                                   (1.0 + std::cos(detail::pi * static_cast<double>(t_cur) / static_cast<double>(t_i))) / 2.0;
        }

    private:
        double m_lr;
        std::size_t m_t_0;
        std::size_t m_t_mult;
        double m_eta_min;
    };

    /** @brief How OneCycleLR moves between its end points. */
    enum class Anneal
    {
        cos,   ///< half a cosine
        linear ///< a straight line
    };

    /**
     * @brief The one-cycle policy (Smith and Topin 2018; torch OneCycleLR without momentum cycling).
     *
     * From max_lr / div_factor up to max_lr over the first pct_start of total_steps, then down to
     * max_lr / div_factor / final_div_factor at index total_steps - 1 (with three_phase: back to the
     * initial rate at 2 * pct_start, then down to the minimum). Indices past the end keep the last
     * rate (PyTorch raises there). PyTorch also cycles momentum by default; this schedule sets
     * only the learning rate.
     */
    class OneCycleLR
    {
    public:
        /** @brief @throws std::invalid_argument naming an invalid argument. */
        OneCycleLR(double max_lr, std::size_t total_steps, double pct_start = 0.3, Anneal anneal = Anneal::cos,
                   double div_factor = 25.0, double final_div_factor = 1e4, bool three_phase = false)
            : m_total(total_steps)
            , m_anneal(anneal)
            , m_three_phase(three_phase)
        {
            const char* where = "xtrain::OneCycleLR";
            detail::check_rate(where, "max_lr", max_lr);
            detail::require(total_steps > 0, where, "total_steps", total_steps, "must be > 0");
            detail::require(pct_start >= 0.0 && pct_start <= 1.0, where, "pct_start", pct_start, "must be in [0, 1]");
            detail::require(std::isfinite(div_factor) && div_factor > 0.0, where, "div_factor", div_factor,
                            "must be a finite number > 0");
            detail::require(std::isfinite(final_div_factor) && final_div_factor > 0.0, where, "final_div_factor",
                            final_div_factor, "must be a finite number > 0");
            m_max_lr = max_lr;
            m_initial_lr = max_lr / div_factor;
            m_min_lr = m_initial_lr / final_div_factor;
            const double total = static_cast<double>(total_steps);
            if (three_phase)
            {
                m_end[0] = pct_start * total - 1.0;
                m_end[1] = 2.0 * pct_start * total - 2.0;
                m_end[2] = total - 1.0;
            }
            else
            {
                m_end[0] = pct_start * total - 1.0;
                m_end[1] = total - 1.0;
            }
        }

        /** @brief The rate at index @p t. */
        double operator()(std::size_t t) const noexcept
        {
            const double step = static_cast<double>(std::min(t, m_total - 1));
            const double from[3] = {m_initial_lr, m_max_lr, m_three_phase ? m_initial_lr : m_min_lr};
            const double to[3] = {m_max_lr, m_three_phase ? m_initial_lr : m_min_lr, m_min_lr};
            const int phases = m_three_phase ? 3 : 2;
            double start = 0.0;
            for (int i = 0; i < phases; ++i)
            {
                const double end = m_end[i];
                if (step <= end || i == phases - 1)
                {
                    // A phase shorter than one index (tiny pct_start) has arrived at its end already.
                    const double pct = end > start ? (step - start) / (end - start) : 1.0;
                    return anneal(from[i], to[i], pct);
                }
                start = end;
            }
            return m_min_lr;
        }

        /** @brief The first rate, max_lr / div_factor. */
        double initial_lr() const noexcept { return m_initial_lr; }
        /** @brief The peak rate. */
        double max_lr() const noexcept { return m_max_lr; }
        /** @brief The last rate, initial_lr / final_div_factor. */
        double min_lr() const noexcept { return m_min_lr; }

    private:
        double anneal(double start, double end, double pct) const noexcept
        {
            if (m_anneal == Anneal::cos)
            {
                return end + (start - end) / 2.0 * (std::cos(detail::pi * pct) + 1.0);
            }
            return (end - start) * pct + start;
        }

        std::size_t m_total;
        Anneal m_anneal;
        bool m_three_phase;
        double m_max_lr = 0.0;
        double m_initial_lr = 0.0;
        double m_min_lr = 0.0;
        double m_end[3] = {0.0, 0.0, 0.0};
    };

    /**
     * @brief Any schedule multiplied by a linear warm-up ramp (torch LinearLR composed with it).
     *
     * rate(t) = inner(t) * (start_factor + (1 - start_factor) * t / warmup_steps) for t < warmup_steps,
     * inner(t) afterwards. The inner schedule runs on the same index (it is not shifted), so
     * Goyal et al.'s recipe reads: LinearWarmup(MultiStepLR(k * lr, {30, 60, 80} epochs), 5 epochs, 1 / k).
     * observe() is forwarded when the inner schedule has one.
     */
    template <class S>
    class LinearWarmup
    {
        static_assert(check_schedule<S>(), "xtrain::LinearWarmup<S>: S must be a schedule");

    public:
        /** @brief @throws std::invalid_argument unless start_factor is in [0, 1]. */
        LinearWarmup(S inner, std::size_t warmup_steps, double start_factor)
            : m_inner(std::move(inner))
            , m_warmup(warmup_steps)
            , m_start(start_factor)
        {
            detail::require(start_factor >= 0.0 && start_factor <= 1.0, "xtrain::LinearWarmup", "start_factor",
                            start_factor, "must be in [0, 1]");
        }

        /** @brief The rate at index @p t. */
        double operator()(std::size_t t) const
        {
            const double inner = static_cast<double>(m_inner(t));
            if (t >= m_warmup)
            {
                return inner;
            }
            return inner * (m_start + (1.0 - m_start) * static_cast<double>(t) / static_cast<double>(m_warmup));
        }

        /** @brief Passes a metric to the inner schedule (only when it has observe()). */
        template <class U = S, std::enable_if_t<has_observe_v<U>, int> = 0>
        void observe(double metric)
        {
            m_inner.observe(metric);
        }

        /** @brief The wrapped schedule. */
        const S& inner() const noexcept { return m_inner; }
        /** @brief Length of the ramp. */
        std::size_t warmup_steps() const noexcept { return m_warmup; }

    private:
        S m_inner;
        std::size_t m_warmup;
        double m_start;
    };

    /**
     * @brief first(t) before the milestone, then second(t - milestone) (torch SequentialLR with one milestone).
     *
     * The second schedule starts from its own index 0 at the milestone. observe() is forwarded to
     * whichever of the two has one.
     */
    template <class A, class B>
    class SequentialLR
    {
        static_assert(check_schedule<A>(), "xtrain::SequentialLR<A, B>: A must be a schedule");
        static_assert(check_schedule<B>(), "xtrain::SequentialLR<A, B>: B must be a schedule");

    public:
        /** @brief Runs @p first for indices below @p milestone, then @p second. */
        SequentialLR(A first, std::size_t milestone, B second)
            : m_first(std::move(first))
            , m_milestone(milestone)
            , m_second(std::move(second))
        {
        }

        /** @brief The rate at index @p t. */
        double operator()(std::size_t t) const
        {
            return t < m_milestone ? static_cast<double>(m_first(t)) : static_cast<double>(m_second(t - m_milestone));
        }

        /** @brief Passes a metric to each part that has observe(). */
        template <class U = A, std::enable_if_t<has_observe_v<U> || has_observe_v<B>, int> = 0>
        void observe(double metric)
        {
            if constexpr (has_observe_v<A>)
            {
                m_first.observe(metric);
            }
            if constexpr (has_observe_v<B>)
            {
                m_second.observe(metric);
            }
        }

        /** @brief Index at which the second schedule takes over. */
        std::size_t milestone() const noexcept { return m_milestone; }

    private:
        A m_first;
        std::size_t m_milestone;
        B m_second;
    };
}

#endif
