/**
 * @file adagrad.hpp
 * @brief xtrain::Adagrad, as torch.optim.Adagrad (PyTorch 1.13) computes it for dense gradients.
 *
 * At step t, with g += wd * p (L2): the rate is clr = lr / (1 + (t - 1) * lr_decay),
 * s += g^2 (s starts at initial_accumulator_value), p -= clr * g / (sqrt(s) + eps).
 */
#ifndef XTRAIN_OPTIM_ADAGRAD_HPP
#define XTRAIN_OPTIM_ADAGRAD_HPP

#include <cmath>
#include <cstddef>

#include <xtensor/xtensor.hpp>

#include "xtrain/core/error.hpp"
#include "xtrain/optim/detail/kernels.hpp"
#include "xtrain/optim/policy.hpp"

namespace xtrain
{
    /** @brief Adagrad (Duchi et al., 2011), as PyTorch computes it. */
    struct Adagrad
    {
        /** @brief Identifies this rule's state in checkpoints. */
        static constexpr const char* name = "Adagrad";

        double lr = 1e-2;                      ///< learning rate
        double lr_decay = 0.0;                 ///< the rate at step t is lr / (1 + (t - 1) * lr_decay)
        double weight_decay = 0.0;             ///< L2 penalty added to the gradient
        double initial_accumulator_value = 0.0; ///< starting value of the sum of squares
        double eps = 1e-10;                    ///< added to the denominator, >= 0

        /** @brief Throws std::invalid_argument naming the first invalid hyperparameter. */
        void validate() const
        {
            detail::require(detail::finite_nonnegative(lr), "xtrain::Adagrad", "lr", lr, "must be a finite number >= 0");
            detail::require(detail::finite_nonnegative(lr_decay), "xtrain::Adagrad", "lr_decay", lr_decay,
                            "must be a finite number >= 0");
            detail::require(detail::finite_nonnegative(weight_decay), "xtrain::Adagrad", "weight_decay", weight_decay,
                            "must be a finite number >= 0");
            detail::require(detail::finite_nonnegative(initial_accumulator_value), "xtrain::Adagrad",
                            "initial_accumulator_value", initial_accumulator_value, "must be a finite number >= 0");
            detail::require(detail::finite_nonnegative(eps), "xtrain::Adagrad", "eps", eps, "must be a finite number >= 0");
        }

        /** @brief The running sum of squared gradients. */
        template <class T>
        struct State
        {
            xt::xtensor<T, 1> sum; ///< s

            /** @brief Hands every member to @p f, for checkpoints. */
            template <class F>
            void visit(F&& f)
            {
                f("sum", sum);
            }
        };

        /** @brief Allocates the sum for @p n parameters, filled with initial_accumulator_value. */
        template <class T>
        void init(State<T>& s, std::size_t n) const
        {
            s.sum = xt::xtensor<T, 1>::from_shape({n});
            s.sum.fill(static_cast<T>(initial_accumulator_value));
        }

        /** @brief One step over one segment (see the file comment for the equations). */
        template <class T>
        void update(State<T>& s, const StepContext& c, T* p, const T* g, std::size_t n) const
        {
            const double clr = c.lr / (1.0 + (static_cast<double>(c.step) - 1.0) * lr_decay);
            const T neg_clr = static_cast<T>(-clr);
            const T e = static_cast<T>(eps);
            const T wd = static_cast<T>(c.weight_decay);
            T* sum = s.sum.data() + c.offset;
            detail::dispatch_flags(
                [&](auto decay) {
                    for (std::size_t i = 0; i < n; ++i)
                    {
                        T gi = g[i];
                        if constexpr (decltype(decay)::value)
                        {
                            gi = detail::muladd(p[i], wd, gi);
                        }
                        const T si = detail::muladd(gi, gi, sum[i]);
                        sum[i] = si;
                        const T denom = std::sqrt(si) + e;
                        p[i] = p[i] + (neg_clr * gi) / denom;
                    }
                },
                c.weight_decay != 0.0);
        }
    };
}

#endif
