/**
 * @file sgd.hpp
 * @brief xtrain::SGD: stochastic gradient descent with momentum in PyTorch's form (torch.optim.SGD).
 *
 * With d = g + wd * p, the momentum buffer is b = d on the first step and b = mu * b + (1 - dampening) * d
 * afterwards; the step is p -= lr * (d + mu * b) with nesterov, else p -= lr * b. The learning rate
 * multiplies the buffer at each step rather than being folded into it, so a new rate applies to all
 * of the accumulated momentum at once (see SGDClassic for the other form).
 */
#ifndef XTRAIN_OPTIM_SGD_HPP
#define XTRAIN_OPTIM_SGD_HPP

#include <cstddef>
#include <stdexcept>

#include <xtensor/xbuilder.hpp>
#include <xtensor/xtensor.hpp>

#include "xtrain/core/error.hpp"
#include "xtrain/optim/detail/kernels.hpp"
#include "xtrain/optim/policy.hpp"

namespace xtrain
{
    /**
     * @brief SGD with optional momentum, dampening, Nesterov momentum and L2 weight decay,
     *        exactly as torch.optim.SGD (PyTorch 1.13) computes it.
     *
     * PyTorch has no default learning rate for SGD; xtrain's default is 0.01.
     */
    struct SGD
    {
        /** @brief Identifies this rule's state in checkpoints. */
        static constexpr const char* name = "SGD";

        double lr = 0.01;          ///< learning rate (PyTorch requires one; xtrain's default is 0.01)
        double momentum = 0.0;     ///< momentum factor mu, >= 0
        double dampening = 0.0;    ///< dampening of the gradient in the buffer, in [0, 1]
        double weight_decay = 0.0; ///< L2 penalty added to the gradient: g + weight_decay * p
        bool nesterov = false;     ///< Nesterov momentum (needs momentum > 0 and dampening 0)

        /** @brief Throws std::invalid_argument naming the first invalid hyperparameter. */
        void validate() const
        {
            detail::require(detail::finite_nonnegative(lr), "xtrain::SGD", "lr", lr, "must be a finite number >= 0");
            detail::require(detail::finite_nonnegative(momentum), "xtrain::SGD", "momentum", momentum,
                            "must be a finite number >= 0");
            detail::require(dampening >= 0.0 && dampening <= 1.0, "xtrain::SGD", "dampening", dampening,
                            "must be in [0, 1]");
            detail::require(detail::finite_nonnegative(weight_decay), "xtrain::SGD", "weight_decay", weight_decay,
                            "must be a finite number >= 0");
            if (nesterov && !(momentum > 0.0))
            {
                throw std::invalid_argument(
                    detail::concat("xtrain::SGD: nesterov requires momentum > 0 (got momentum ", momentum, ")"));
            }
            if (nesterov && dampening != 0.0)
            {
                throw std::invalid_argument(
                    detail::concat("xtrain::SGD: nesterov requires dampening == 0 (got dampening ", dampening, ")"));
            }
        }

        /**
         * @brief True when a step is p -= lr * g and nothing else (no momentum, no weight decay):
         * then a model may fuse it into its backward pass (Optimizer::plain_descent).
         */
        bool is_plain_descent() const noexcept { return momentum == 0.0 && weight_decay == 0.0; }

        /** @brief The momentum buffer (empty when momentum is 0). */
        template <class T>
        struct State
        {
            xt::xtensor<T, 1> momentum_buffer; ///< b, one value per parameter

            /** @brief Hands every member to @p f, for checkpoints. */
            template <class F>
            void visit(F&& f)
            {
                f("momentum_buffer", momentum_buffer);
            }
        };

        /** @brief Allocates the buffer for @p n parameters when momentum is used. */
        template <class T>
        void init(State<T>& s, std::size_t n) const
        {
            if (momentum != 0.0)
            {
                s.momentum_buffer = xt::zeros<T>({n});
            }
        }

        /** @brief One step over one segment (see the file comment for the equations). */
        template <class T>
        void update(State<T>& s, const StepContext& c, T* p, const T* g, std::size_t n) const
        {
            // Scalars are rounded to T before use, as PyTorch rounds Python numbers to the tensor's type.
            const T wd = static_cast<T>(c.weight_decay);
            const T neg_lr = static_cast<T>(-c.lr);
            if (momentum == 0.0)
            {
                detail::plain_descent(p, g, n, wd, neg_lr, c.weight_decay != 0.0);
                return;
            }
            T* b = s.momentum_buffer.data() + c.offset;
            const T mu = static_cast<T>(momentum);
            const T keep = static_cast<T>(1.0 - dampening);
            detail::dispatch_flags(
                [&](auto decay, auto first, auto damp, auto nest) {
                    XTRAIN_UNROLL4
                    for (std::size_t i = 0; i < n; ++i)
                    {
                        T d = g[i];
                        if constexpr (decltype(decay)::value)
                        {
                            d = detail::muladd(p[i], wd, d);
                        }
                        T bi;
                        if constexpr (decltype(first)::value)
                        {
                            bi = d;
                        }
                        else if constexpr (decltype(damp)::value)
                        {
                            bi = detail::muladd(d, keep, b[i] * mu);
                        }
                        else
                        {
                            bi = b[i] * mu + d; // = muladd(d, 1, b * mu) exactly, without the multiply by 1
                        }
                        b[i] = bi;
                        if constexpr (decltype(nest)::value)
                        {
                            d = detail::muladd(bi, mu, d);
                        }
                        else
                        {
                            d = bi;
                        }
                        p[i] = detail::muladd(d, neg_lr, p[i]);
                    }
                },
                c.weight_decay != 0.0, c.step == 1, dampening != 0.0, nesterov);
        }
    };
}

#endif
