/**
 * @file gradient_check.hpp
 * @brief check_gradients(): compares a model's backward pass with central finite differences.
 *
 * A hand-written backward pass is where a model goes wrong silently: a missing term or a wrong
 * index still trains, only worse. check_gradients() evaluates the loss at p + h and p - h for
 * parameters spread over every segment, compares (L(p + h) - L(p - h)) / 2h with the gradient
 * from loss_and_gradient, and reports the worst disagreement and where it is:
 *
 * ```cpp
 * const xtrain::GradientCheck c = xtrain::check_gradients(model, batch);
 * if (!c.ok()) { std::cerr << c.describe() << "\n"; }   // e.g. "2.weight[17] (parameter 2065): ..."
 * ```
 * Check in double when the model can be instantiated in double: the finite difference of a float
 * loss is good to about 1e-3 only, and the default tolerance follows the type (1e-5 in double,
 * 2e-2 in float). Every evaluation runs on a fresh copy of the model, so a model with dropout sees
 * the same mask each time (the copy carries the generator's position).
 */
#ifndef XTRAIN_MODEL_GRADIENT_CHECK_HPP
#define XTRAIN_MODEL_GRADIENT_CHECK_HPP

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>

#include <xtensor/xtensor.hpp>

#include "xtrain/core/batch.hpp"
#include "xtrain/core/error.hpp"
#include "xtrain/model/model_traits.hpp"

namespace xtrain
{
    /** @brief How check_gradients() samples and judges. */
    struct GradientCheckOptions
    {
        /** @brief The step h of the central difference; NaN: 1e-6 in double, 1e-3 in float. */
        double step = std::numeric_limits<double>::quiet_NaN();
        /** @brief The largest relative error still accepted; NaN: 1e-5 in double, 2e-2 in float. */
        double tolerance = std::numeric_limits<double>::quiet_NaN();
        /** @brief Parameters checked at most, spread evenly over every segment (0: all of them). */
        std::size_t max_parameters = 2000;
    };

    /** @brief What check_gradients() found. */
    struct GradientCheck
    {
        std::size_t checked = 0;            ///< parameters compared
        double worst_relative_error = 0.0;  ///< the largest error, relative (see check_gradients)
        std::size_t worst_index = 0;        ///< its position in the flat parameter buffer
        std::string worst_segment;          ///< the segment holding it, e.g. "2.weight"
        std::size_t worst_element = 0;      ///< its position within that segment
        double gradient = 0.0;              ///< loss_and_gradient's value there
        double finite_difference = 0.0;     ///< the central difference there
        double largest_gradient = 0.0;      ///< the largest |gradient| over the checked parameters
        double tolerance = 0.0;             ///< the tolerance ok() applies
        double noise = 0.0;                 ///< differences below this are the loss's rounding, not errors

        /**
         * @brief True if every checked parameter agrees within the tolerance and the gradient is not
         *        zero everywhere (a zero gradient would agree with a constant loss trivially).
         */
        bool ok() const noexcept { return worst_relative_error <= tolerance && largest_gradient > 0.0; }

        /** @brief One line: the worst parameter, both values and the verdict. */
        std::string describe() const
        {
            if (checked == 0)
            {
                return "no parameter checked";
            }
            std::string out = detail::concat(
                "checked ", checked, " parameters; worst: ", worst_segment, "[", worst_element, "] (parameter ",
                worst_index, "): gradient ", gradient, ", finite difference ", finite_difference, ", relative error ",
                worst_relative_error, " (tolerance ", tolerance, ")");
            if (largest_gradient == 0.0)
            {
                out += "; the gradient is zero at every checked parameter";
            }
            return out + (ok() ? ": ok" : ": WRONG");
        }
    };

    /**
     * @brief Compares @p model's gradient on @p batch with central differences.
     *
     * The relative error of a parameter is |fd - g| / max(|fd|, |g|), and 0 when |fd - g| is below
     * what the rounding of the loss alone explains (10 eps max(1, |loss|) / h: the difference
     * quotient of a loss known to 10 ulps), so that tiny components are not judged on noise.
     * @p model is not changed.
     * @throws std::invalid_argument for a step that is not finite and > 0, or an empty batch.
     */
    template <class M>
    GradientCheck check_gradients(const M& model, const Batch<typename M::value_type>& batch,
                                  const GradientCheckOptions& options = {})
    {
        static_assert(check_model<M>(), "xtrain::check_gradients: M must be a model (see the messages above)");
        using T = typename M::value_type;
        const bool single = sizeof(T) < sizeof(double);
        const double h = std::isnan(options.step) ? (single ? 1e-3 : 1e-6) : options.step;
        detail::require(std::isfinite(h) && h > 0.0, "xtrain::check_gradients", "options.step", h,
                        "must be finite and > 0");
        detail::require(batch.size > 0, "xtrain::check_gradients", "batch.size", batch.size, "must be > 0");

        GradientCheck out;
        out.tolerance = std::isnan(options.tolerance) ? (single ? 2e-2 : 1e-5) : options.tolerance;
        M m = model;
        xt::xtensor<T, 1> g = m.parameters().zeros_like();
        const double loss0 = static_cast<double>(m.loss_and_gradient(batch, g));
        xt::xtensor<T, 1> scratch = g;
        const auto loss_at = [&](std::size_t i, double delta) {
            M shifted = model;
            auto& v = shifted.parameters().values();
            v(i) = static_cast<T>(static_cast<double>(v(i)) + delta);
            return static_cast<double>(shifted.loss_and_gradient(batch, scratch));
        };

        const auto& layout = model.parameters().layout();
        const std::size_t total = g.size();
        const std::size_t budget = options.max_parameters == 0 ? total : std::min(options.max_parameters, total);
        // What rounding alone can make the difference quotient wrong by: the loss is known to about
        // 10 ulps, and that error is divided by 2h.
        const double noise = 10.0 * static_cast<double>(std::numeric_limits<T>::epsilon()) * std::max(1.0, std::abs(loss0)) / h;
        out.noise = noise;
        bool first = true;
        // Each segment gets a share of the budget in proportion to its size, at least one parameter.
        for (std::size_t s = 0; s < layout.num_segments(); ++s)
        {
            const auto& seg = layout[s];
            const std::size_t share = std::max<std::size_t>(
                1, static_cast<std::size_t>(static_cast<double>(budget) * static_cast<double>(seg.size) / static_cast<double>(total)));
            const std::size_t stride = std::max<std::size_t>(1, seg.size / share);
            for (std::size_t e = 0; e < seg.size; e += stride)
            {
                const std::size_t i = seg.offset + e;
                const double gi = static_cast<double>(g(i));
                const double fd = (loss_at(i, h) - loss_at(i, -h)) / (2.0 * h);
                const double diff = std::abs(fd - gi);
                const double err = diff <= noise ? 0.0 : diff / std::max(std::abs(fd), std::abs(gi));
                ++out.checked;
                out.largest_gradient = std::max(out.largest_gradient, std::abs(gi));
                // The first, and then any worse; a NaN counts as the worst and stays.
                if (first || (!std::isnan(out.worst_relative_error) && !(err <= out.worst_relative_error)))
                {
                    first = false;
                    out.worst_relative_error = err;
                    out.worst_index = i;
                    out.worst_segment = seg.name;
                    out.worst_element = e;
                    out.gradient = gi;
                    out.finite_difference = fd;
                }
            }
        }
        return out;
    }
}

#endif
