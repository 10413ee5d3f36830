/**
 * @file lamb.hpp
 * @brief xtrain::LAMB: layer-wise adaptive moments (You et al., 2019/2020, Algorithm 2).
 *
 * At step t, per segment ("layer"):
 *   m = beta1 * m + (1 - beta1) * g,   v = beta2 * v + (1 - beta2) * g^2,
 *   r = (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps),   u = r + lambda * x,
 *   x -= lr * ||x|| / ||u|| * u.
 * The ratio ||x|| / ||u|| (phi is the identity) is 1 where the segment's layer_adaptation is off and
 * where either norm is 0. Two passes per segment: the first updates m and v and accumulates the
 * norms, the second recomputes u (the same operations, so the same values) and moves x.
 */
#ifndef XTRAIN_OPTIM_LAMB_HPP
#define XTRAIN_OPTIM_LAMB_HPP

#include <cmath>
#include <cstddef>

#include <xtensor/xbuilder.hpp>
#include <xtensor/xtensor.hpp>

#include "xtrain/core/error.hpp"
#include "xtrain/optim/detail/kernels.hpp"
#include "xtrain/optim/policy.hpp"

namespace xtrain
{
    /** @brief LAMB: Adam's direction plus decoupled decay, scaled per segment by ||x|| / ||direction||. */
    struct LAMB
    {
        /** @brief Identifies this rule's state in checkpoints. */
        static constexpr const char* name = "LAMB";

        double lr = 1e-3;          ///< learning rate eta
        double beta1 = 0.9;        ///< decay of the first moment, in [0, 1)
        double beta2 = 0.999;      ///< decay of the second moment, in [0, 1)
        double eps = 1e-6;         ///< added to the denominator, >= 0
        double weight_decay = 0.01; ///< lambda, added to the direction (decoupled), >= 0

        /** @brief Throws std::invalid_argument naming the first invalid hyperparameter. */
        void validate() const
        {
            detail::require(detail::finite_nonnegative(lr), "xtrain::LAMB", "lr", lr, "must be a finite number >= 0");
            detail::require(detail::in_unit_interval_open(beta1), "xtrain::LAMB", "beta1", beta1, "must be in [0, 1)");
            detail::require(detail::in_unit_interval_open(beta2), "xtrain::LAMB", "beta2", beta2, "must be in [0, 1)");
            detail::require(detail::finite_nonnegative(eps), "xtrain::LAMB", "eps", eps, "must be a finite number >= 0");
            detail::require(detail::finite_nonnegative(weight_decay), "xtrain::LAMB", "weight_decay", weight_decay,
                            "must be a finite number >= 0");
        }

        /** @brief First and second moments. */
        template <class T>
        struct State
        {
            xt::xtensor<T, 1> exp_avg;    ///< m
            xt::xtensor<T, 1> exp_avg_sq; ///< v

            /** @brief Hands every member to @p f, for checkpoints. */
            template <class F>
            void visit(F&& f)
            {
                f("exp_avg", exp_avg);
                f("exp_avg_sq", exp_avg_sq);
            }
        };

        /** @brief Allocates zeroed moments for @p n parameters. */
        template <class T>
        void init(State<T>& s, std::size_t n) const
        {
            s.exp_avg = xt::zeros<T>({n});
            s.exp_avg_sq = xt::zeros<T>({n});
        }

        /** @brief One step over one segment (see the file comment for the equations). */
        template <class T>
        void update(State<T>& s, const StepContext& c, T* x, const T* g, std::size_t n) const
        {
            const double t = static_cast<double>(c.step);
            const T bc1 = static_cast<T>(1.0 - std::pow(beta1, t));
            const T bc2 = static_cast<T>(1.0 - std::pow(beta2, t));
            const T b1 = static_cast<T>(beta1);
            const T one_minus_b1 = static_cast<T>(1.0 - beta1);
            const T b2 = static_cast<T>(beta2);
            const T one_minus_b2 = static_cast<T>(1.0 - beta2);
            const T e = static_cast<T>(eps);
            const T wd = static_cast<T>(c.weight_decay);
            T* m = s.exp_avg.data() + c.offset;
            T* v = s.exp_avg_sq.data() + c.offset;
            // Written once and used by both passes, so that both compute u with the same roundings.
            const auto direction = [=](T mi, T vi, T xi) {
                const T r = (mi / bc1) / (std::sqrt(vi / bc2) + e);
                return detail::muladd(wd, xi, r);
            };
            double x_sq = 0.0;
            double u_sq = 0.0;
            for (std::size_t i = 0; i < n; ++i)
            {
                const T gi = g[i];
                const T mi = detail::muladd(one_minus_b1, gi, b1 * m[i]);
                const T vi = detail::muladd(one_minus_b2 * gi, gi, b2 * v[i]);
                m[i] = mi;
                v[i] = vi;
                const double xi = static_cast<double>(x[i]);
                const double ui = static_cast<double>(direction(mi, vi, x[i]));
                x_sq += xi * xi;
                u_sq += ui * ui;
            }
            double ratio = 1.0;
            if (c.layer_adaptation && x_sq > 0.0 && u_sq > 0.0)
            {
                ratio = std::sqrt(x_sq) / std::sqrt(u_sq);
            }
            const T neg_rate = static_cast<T>(-(c.lr * ratio));
            for (std::size_t i = 0; i < n; ++i)
            {
                x[i] = detail::muladd(neg_rate, direction(m[i], v[i], x[i]), x[i]);
            }
        }
    };
}

#endif
