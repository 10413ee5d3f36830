/**
 * @file gradient_noise_scale.hpp
 * @brief The simple gradient noise scale B_simple = tr(Sigma) / |G|^2 (McCandlish et al. 2018),
 *        estimated during training from gradient norms at two batch sizes.
 *
 * With per-example gradients g of mean G and covariance Sigma, the mean gradient over a batch of
 * B examples satisfies E|G_B|^2 = |G|^2 + tr(Sigma) / B. Measuring |G_B|^2 at a small batch size
 * B_small and a big one B_big and solving the two equations gives unbiased estimates
 * (McCandlish et al. 2018, appendix A.1):
 *
 *     |G|^2     ~ (B_big |G_big|^2 - B_small |G_small|^2) / (B_big - B_small)
 *     tr(Sigma) ~ (|G_small|^2 - |G_big|^2) / (1/B_small - 1/B_big)
 *
 * Each estimate is very noisy on its own (the |G|^2 one is often negative), so each is smoothed by
 * an exponential moving average and B_simple is the ratio of the two averages: a ratio of means,
 * not a mean of ratios, which would be dominated by the steps whose |G|^2 estimate is near zero.
 *
 * In a single-process trainer, G_big can be the step's mini-batch gradient and G_small the
 * gradient of a part of that batch (the first B_small rows): the identity above holds for each
 * batch separately, so the two need not be independent. B_simple is about the batch size beyond
 * which larger batches stop paying off (the critical batch size, B_noise in analysis.hpp).
 */
#ifndef XTRAIN_TRAIN_GRADIENT_NOISE_SCALE_HPP
#define XTRAIN_TRAIN_GRADIENT_NOISE_SCALE_HPP

#include <cmath>
#include <cstddef>
#include <limits>

#include "xtrain/core/error.hpp"

namespace xtrain
{
    /**
     * @brief Sum of squares of @p n values, accumulated in double.
     *
     * Eight partial sums (value i goes to sum i mod 8), added pairwise at the end: a single sum
     * would make every addition wait for the one before (0.53 ns a value measured, 0.1 ms for a
     * gradient of 200 000 values), eight independent ones vectorise (0.19 ns). The order is fixed, so the
     * result is the same on every call.
     */
    template <class T>
    double squared_norm(const T* data, std::size_t n) noexcept
    {
        constexpr std::size_t lanes = 8;
        double s[lanes] = {};
        std::size_t i = 0;
        for (; i + lanes <= n; i += lanes)
        {
            for (std::size_t j = 0; j < lanes; ++j)
            {
                const double v = static_cast<double>(data[i + j]);
                s[j] += v * v;
            }
        }
        for (std::size_t j = 0; i + j < n; ++j)
        {
            const double v = static_cast<double>(data[i + j]);
            s[j] += v * v;
        }
        return ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]));
    }

    /** @brief Sum of squares of a contiguous container (anything with data() and size(), e.g. xt::xtensor). */
    template <class C>
    auto squared_norm(const C& c) noexcept -> decltype(c.data(), c.size(), double())
    {
        return squared_norm(c.data(), static_cast<std::size_t>(c.size()));
    }

    /**
     * @brief Smoothed estimator of |G|^2, tr(Sigma) and B_simple from gradient norms at two batch sizes.
     *
     * Feed it once per step (or once per measurement) with update(); read b_simple() whenever a
     * value is logged (e.g. per epoch). Allocation-free and O(1) per update.
     */
    class GradientNoiseScale
    {
    public:
        /**
         * @brief @p smoothing is the moving-average decay beta in [0, 1): each update weighs
         *        1 - beta. 0.95 averages over roughly the last 20 updates, 0.99 over 100.
         * @throws std::invalid_argument if beta is outside [0, 1).
         */
        explicit GradientNoiseScale(double smoothing = 0.95) : m_beta(smoothing)
        {
            detail::require(smoothing >= 0.0 && smoothing < 1.0, "xtrain::GradientNoiseScale", "smoothing",
                            smoothing, "must be in [0, 1)");
        }

        /**
         * @brief Adds one measurement: @p sq_norm_small = |G_small|^2, the squared norm of the mean
         *        gradient over @p b_small examples, and @p sq_norm_big likewise over @p b_big.
         * @throws std::invalid_argument unless 0 < b_small < b_big and both norms are finite and >= 0.
         */
        void update(double b_small, double sq_norm_small, double b_big, double sq_norm_big)
        {
            const char* where = "xtrain::GradientNoiseScale::update";
            detail::require(b_small > 0.0, where, "b_small", b_small, "must be > 0");
            detail::require(b_big > b_small, where, "b_big", b_big, "must be > b_small");
            detail::require(std::isfinite(sq_norm_small) && sq_norm_small >= 0.0, where, "sq_norm_small",
                            sq_norm_small, "must be finite and >= 0");
            detail::require(std::isfinite(sq_norm_big) && sq_norm_big >= 0.0, where, "sq_norm_big", sq_norm_big,
                            "must be finite and >= 0");
            const double g2 = squared_gradient_estimate(b_small, sq_norm_small, b_big, sq_norm_big);
            const double tr = trace_estimate(b_small, sq_norm_small, b_big, sq_norm_big);
            m_g2 = m_beta * m_g2 + (1.0 - m_beta) * g2;
            m_tr = m_beta * m_tr + (1.0 - m_beta) * tr;
            m_weight = m_beta * m_weight + (1.0 - m_beta);
            ++m_updates;
        }

        /** @brief Unbiased estimate of |G|^2 from one measurement (may be negative). */
        static double squared_gradient_estimate(double b_small, double sq_norm_small, double b_big,
                                                double sq_norm_big) noexcept
        {
            return (b_big * sq_norm_big - b_small * sq_norm_small) / (b_big - b_small);
        }

        /** @brief Unbiased estimate of tr(Sigma) from one measurement. */
        static double trace_estimate(double b_small, double sq_norm_small, double b_big, double sq_norm_big) noexcept
        {
            return (sq_norm_small - sq_norm_big) / (1.0 / b_small - 1.0 / b_big);
        }

        /** @brief Smoothed |G|^2 (bias-corrected for the zero start); NaN before the first update. */
        double squared_gradient() const noexcept { return m_updates ? m_g2 / m_weight : nan(); }
        /** @brief Smoothed tr(Sigma) (bias-corrected); NaN before the first update. */
        double trace_covariance() const noexcept { return m_updates ? m_tr / m_weight : nan(); }
        /**
         * @brief B_simple = smoothed tr(Sigma) / smoothed |G|^2; NaN before the first update or
         *        while the smoothed |G|^2 is not positive (too few measurements for the noise).
         */
        double b_simple() const noexcept { return m_updates && m_g2 > 0.0 ? m_tr / m_g2 : nan(); }
        /** @brief Number of updates since construction or reset(). */
        std::size_t updates() const noexcept { return m_updates; }
        /** @brief The decay beta. */
        double smoothing() const noexcept { return m_beta; }
        /** @brief Forgets every measurement. */
        void reset() noexcept
        {
            m_g2 = m_tr = m_weight = 0.0;
            m_updates = 0;
        }

    private:
        static double nan() noexcept { return std::numeric_limits<double>::quiet_NaN(); }

        double m_beta;
        double m_g2 = 0.0;
        double m_tr = 0.0;
        double m_weight = 0.0;  // 1 - beta^t: divides out the zero start
        std::size_t m_updates = 0;
    };
}

#endif
