/**
 * @file sgd_classic.hpp
 * @brief xtrain::SGDClassic: momentum SGD in the form of Sutskever et al. (2013), with the rate inside the velocity.
 *
 * With d = g + wd * p: v = mu * v + lr * d, then p -= v (or, with nesterov, p -= mu * v + lr * d).
 * While the rate is constant this is the same trajectory as SGD with dampening 0 (v = lr * b).
 * When the rate changes, the velocity still carries the steps taken at the old rate and the new
 * rate phases in over about 1 / (1 - mu) steps, where SGD rescales all momentum at once.
 */
#ifndef XTRAIN_OPTIM_SGD_CLASSIC_HPP
#define XTRAIN_OPTIM_SGD_CLASSIC_HPP

#include <cstddef>
#include <stdexcept>

#include <xtensor/xbuilder.hpp>
#include <xtensor/xtensor.hpp>

#include "xtrain/core/error.hpp"
#include "xtrain/optim/detail/kernels.hpp"
#include "xtrain/optim/policy.hpp"

namespace xtrain
{
    /** @brief Classic momentum SGD: the learning rate scales each gradient as it enters the velocity. */
    struct SGDClassic
    {
        /** @brief Identifies this rule's state in checkpoints. */
        static constexpr const char* name = "SGDClassic";

        double lr = 0.01;          ///< learning rate
        double momentum = 0.0;     ///< momentum factor mu, >= 0
        double weight_decay = 0.0; ///< L2 penalty added to the gradient: g + weight_decay * p
        bool nesterov = false;     ///< Nesterov's look-ahead (needs momentum > 0)

        /** @brief Throws std::invalid_argument naming the first invalid hyperparameter. */
        void validate() const
        {
            detail::require(detail::finite_nonnegative(lr), "xtrain::SGDClassic", "lr", lr,
                            "must be a finite number >= 0");
            detail::require(detail::finite_nonnegative(momentum), "xtrain::SGDClassic", "momentum", momentum,
                            "must be a finite number >= 0");
            detail::require(detail::finite_nonnegative(weight_decay), "xtrain::SGDClassic", "weight_decay",
                            weight_decay, "must be a finite number >= 0");
            if (nesterov && !(momentum > 0.0))
            {
                throw std::invalid_argument(
                    detail::concat("xtrain::SGDClassic: nesterov requires momentum > 0 (got momentum ", momentum, ")"));
            }
        }

        /** @brief The velocity (empty when momentum is 0). */
        template <class T>
        struct State
        {
            xt::xtensor<T, 1> velocity; ///< v, one value per parameter, in units of parameters

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

        /** @brief One step over one segment (see the file comment for the equations). */
        template <class T>
        void update(State<T>& s, const StepContext& c, T* p, const T* g, std::size_t n) const
        {
            const T wd = static_cast<T>(c.weight_decay);
            const T rate = static_cast<T>(c.lr);
            const T neg_rate = static_cast<T>(-c.lr);
            if (momentum == 0.0)
            {
                detail::plain_descent(p, g, n, wd, neg_rate, c.weight_decay != 0.0);
                return;
            }
            T* v = s.velocity.data() + c.offset;
            const T mu = static_cast<T>(momentum);
            detail::dispatch_flags(
                [&](auto decay, auto nest) {
                    XTRAIN_UNROLL4
                    for (std::size_t i = 0; i < n; ++i)
                    {
                        T d = g[i];
                        if constexpr (decltype(decay)::value)
                        {
                            d = detail::muladd(p[i], wd, d);
                        }
                        const T vi = detail::muladd(d, rate, v[i] * mu);
                        v[i] = vi;
                        if constexpr (decltype(nest)::value)
                        {
                            p[i] = p[i] - detail::muladd(d, rate, vi * mu);
                        }
                        else
                        {
                            p[i] = p[i] - vi;
                        }
                    }
                },
                c.weight_decay != 0.0, nesterov);
        }
    };
}

#endif
