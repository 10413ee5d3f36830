/**
 * @file lars.hpp
 * @brief xtrain::LARS: layer-wise adaptive rate scaling (You, Gitman and Ginsburg, 2017, Algorithm 1).
 *
 * Per segment ("layer") l, with the trust coefficient eta and the weight decay beta:
 *   lambda = eta * ||w|| / (||g|| + beta * ||w||)        (the local learning rate)
 *   v = m * v + lr * lambda * (g + beta * w),   w -= v.
 * lambda is 1 where the segment's layer_adaptation is off, and where ||w|| or ||g|| is 0 (a layer
 * initialised at zero would otherwise never move). The momentum keeps the rate inside the velocity,
 * as the paper writes it (the classic form; see SGDClassic). The norms need a pass over the segment
 * before its update, so a step reads each segment twice.
 */
#ifndef XTRAIN_OPTIM_LARS_HPP
#define XTRAIN_OPTIM_LARS_HPP

#include <cmath>
#include <cstddef>

#include <xtensor/xbuilder.hpp>
#include <xtensor/xtensor.hpp>

#include "xtrain/core/error.hpp"
#include "xtrain/optim/detail/kernels.hpp"
#include "xtrain/optim/policy.hpp"

namespace xtrain
{
    /** @brief LARS: momentum SGD whose rate each segment scales by its trust ratio ||w|| / ||g||. */
    struct LARS
    {
        /** @brief Identifies this rule's state in checkpoints. */
        static constexpr const char* name = "LARS";

        double lr = 0.1;                  ///< global learning rate gamma
        double momentum = 0.9;            ///< momentum m, >= 0
        double weight_decay = 0.0;        ///< weight decay beta, >= 0
        double trust_coefficient = 0.001; ///< eta, > 0

        /** @brief Throws std::invalid_argument naming the first invalid hyperparameter. */
        void validate() const
        {
            detail::require(detail::finite_nonnegative(lr), "xtrain::LARS", "lr", lr, "must be a finite number >= 0");
            detail::require(detail::finite_nonnegative(momentum), "xtrain::LARS", "momentum", momentum,
                            "must be a finite number >= 0");
            detail::require(detail::finite_nonnegative(weight_decay), "xtrain::LARS", "weight_decay", weight_decay,
                            "must be a finite number >= 0");
            detail::require(std::isfinite(trust_coefficient) && trust_coefficient > 0.0, "xtrain::LARS",
                            "trust_coefficient", trust_coefficient, "must be a finite number > 0");
        }

        /** @brief The velocity (empty when momentum is 0). */
        template <class T>
        struct State
        {
            xt::xtensor<T, 1> velocity; ///< v

            /** @brief Hands every member to @p f, for checkpoints. */
            template <class F>
            void visit(F&& f)
            {
                f("velocity", velocity);
            }
        };

        /** @brief Allocates the velocity for @p n parameters when momentum is used. */
        template <class T>
        void init(State<T>& s, std::size_t n) const
        {
            if (momentum != 0.0)
            {
                s.velocity = xt::zeros<T>({n});
            }
        }

        /** @brief The trust ratio lambda of a segment with weight norm @p w_norm and gradient norm @p g_norm. */
        double trust_ratio(double w_norm, double g_norm, double decay) const noexcept
        {
            if (w_norm > 0.0 && g_norm > 0.0)
            {
                return trust_coefficient * w_norm / (g_norm + decay * w_norm);
            }
            return 1.0;
        }

        /** @brief One step over one segment (see the file comment for the equations). */
        template <class T>
        void update(State<T>& s, const StepContext& c, T* p, const T* g, std::size_t n) const
        {
            double ratio = 1.0;
            if (c.layer_adaptation)
            {
                ratio = trust_ratio(std::sqrt(detail::sum_of_squares(p, n)), std::sqrt(detail::sum_of_squares(g, n)),
                                    c.weight_decay);
            }
            const T rate = static_cast<T>(c.lr * ratio);
            const T wd = static_cast<T>(c.weight_decay);
            if (momentum == 0.0)
            {
                XTRAIN_UNROLL4
                for (std::size_t i = 0; i < n; ++i)
                {
                    const T d = detail::muladd(wd, p[i], g[i]);
                    p[i] = p[i] - rate * d;
                }
                return;
            }
            T* v = s.velocity.data() + c.offset;
            const T mu = static_cast<T>(momentum);
            XTRAIN_UNROLL4
            for (std::size_t i = 0; i < n; ++i)
            {
                const T d = detail::muladd(wd, p[i], g[i]);
                const T vi = detail::muladd(rate, d, mu * v[i]);
                v[i] = vi;
                p[i] = p[i] - vi;
            }
        }
    };
}

#endif
