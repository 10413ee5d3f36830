/**
 * @file rmsprop.hpp
 * @brief xtrain::RMSprop, as torch.optim.RMSprop (PyTorch 1.13) computes it.
 *
 * With g += wd * p (L2): s = alpha * s + (1 - alpha) * g^2; centered: a = alpha * a + (1 - alpha) * g
 * and the denominator is sqrt(s - a^2) + eps, else sqrt(s) + eps. With momentum:
 * b = mu * b + g / denominator, p -= lr * b; without: p -= lr * g / denominator.
 */
#ifndef XTRAIN_OPTIM_RMSPROP_HPP
#define XTRAIN_OPTIM_RMSPROP_HPP

#include <cmath>
#include <cstddef>

#include <xtensor/xbuilder.hpp>
#include <xtensor/xtensor.hpp>

#include "xtrain/core/error.hpp"
#include "xtrain/optim/detail/kernels.hpp"
#include "xtrain/optim/policy.hpp"

namespace xtrain
{
    /** @brief RMSprop (Hinton's lecture 6e; Graves 2013 for the centered variant), as PyTorch computes it. */
    struct RMSprop
    {
        /** @brief Identifies this rule's state in checkpoints. */
        static constexpr const char* name = "RMSprop";

        double lr = 1e-2;          ///< learning rate
        double alpha = 0.99;       ///< decay of the mean square, in [0, 1]
        double eps = 1e-8;         ///< added to the denominator, >= 0
        double weight_decay = 0.0; ///< L2 penalty added to the gradient
        double momentum = 0.0;     ///< momentum factor, >= 0
        bool centered = false;     ///< divide by the estimated variance instead of the mean square

        /** @brief Throws std::invalid_argument naming the first invalid hyperparameter. */
        void validate() const
        {
            detail::require(detail::finite_nonnegative(lr), "xtrain::RMSprop", "lr", lr, "must be a finite number >= 0");
            detail::require(alpha >= 0.0 && alpha <= 1.0, "xtrain::RMSprop", "alpha", alpha, "must be in [0, 1]");
            detail::require(detail::finite_nonnegative(eps), "xtrain::RMSprop", "eps", eps, "must be a finite number >= 0");
            detail::require(detail::finite_nonnegative(weight_decay), "xtrain::RMSprop", "weight_decay", weight_decay,
                            "must be a finite number >= 0");
            detail::require(detail::finite_nonnegative(momentum), "xtrain::RMSprop", "momentum", momentum,
                            "must be a finite number >= 0");
        }

        /** @brief Mean square, mean gradient (centered) and momentum buffer (momentum > 0). */
        template <class T>
        struct State
        {
            xt::xtensor<T, 1> square_avg;      ///< s
            xt::xtensor<T, 1> grad_avg;        ///< a (empty unless centered)
            xt::xtensor<T, 1> momentum_buffer; ///< b (empty unless momentum > 0)

            /** @brief Hands every member to @p f, for checkpoints. */
            template <class F>
            void visit(F&& f)
            {
                f("square_avg", square_avg);
                f("grad_avg", grad_avg);
                f("momentum_buffer", momentum_buffer);
            }
        };

        /** @brief Allocates zeroed buffers for @p n parameters. */
        template <class T>
        void init(State<T>& s, std::size_t n) const
        {
            s.square_avg = xt::zeros<T>({n});
            if (centered)
            {
                s.grad_avg = xt::zeros<T>({n});
            }
            if (momentum > 0.0)
            {
                s.momentum_buffer = xt::zeros<T>({n});
            }
        }

        /** @brief One step over one segment (see the file comment for the equations). */
        template <class T>
        void update(State<T>& s, const StepContext& c, T* p, const T* g, std::size_t n) const
        {
            const T a = static_cast<T>(alpha);
            const T one_minus_a = static_cast<T>(1.0 - alpha);
            const T e = static_cast<T>(eps);
            const T wd = static_cast<T>(c.weight_decay);
            const T neg_lr = static_cast<T>(-c.lr);
            const T mu = static_cast<T>(momentum);
            T* sq = s.square_avg.data() + c.offset;
            T* ga = centered ? s.grad_avg.data() + c.offset : nullptr;
            T* buf = momentum > 0.0 ? s.momentum_buffer.data() + c.offset : nullptr;
            detail::dispatch_flags(
                [&](auto decay, auto center, auto mom) {
                    for (std::size_t i = 0; i < n; ++i)
                    {
                        T gi = g[i];
                        if constexpr (decltype(decay)::value)
                        {
                            gi = detail::muladd(p[i], wd, gi);
                        }
                        const T si = detail::muladd(one_minus_a * gi, gi, sq[i] * a);
                        sq[i] = si;
                        T avg;
                        if constexpr (decltype(center)::value)
                        {
                            const T gai = detail::muladd(gi, one_minus_a, ga[i] * a);
                            ga[i] = gai;
                            avg = std::sqrt(detail::muladd(-gai, gai, si));
                        }
                        else
                        {
                            avg = std::sqrt(si);
                        }
                        avg = avg + e;
                        if constexpr (decltype(mom)::value)
                        {
                            const T bi = buf[i] * mu + gi / avg;
                            buf[i] = bi;
                            p[i] = detail::muladd(bi, neg_lr, p[i]);
                        }
                        else
                        {
                            p[i] = p[i] + (neg_lr * gi) / avg;
                        }
                    }
                },
                c.weight_decay != 0.0, centered, momentum > 0.0);
        }
    };
}

#endif
