/**
 * @file lr_scaling.hpp
 * @brief Batch-size scaling rules: the learning rate for batch size B from one tuned at B0.
 *
 * The gradient is a mean over the batch, so its noise shrinks as B grows; a larger B can take
 * larger steps. Goyal et al. (2017) scale SGD's rate linearly (with a warm-up, see LinearWarmup);
 * for Adam-like rules the square-root rule (Hoffer et al. 2017; Malladi et al. 2022) keeps the
 * update's noise scale constant.
 */
#ifndef XTRAIN_OPTIM_LR_SCALING_HPP
#define XTRAIN_OPTIM_LR_SCALING_HPP

#include <cmath>
#include <cstddef>

#include "xtrain/core/error.hpp"
#include "xtrain/optim/policy.hpp"

namespace xtrain
{
    namespace detail
    {
        inline void check_scaling(const char* where, double base_lr, std::size_t batch_size, std::size_t base_batch_size)
        {
            require(finite_nonnegative(base_lr), where, "base_lr", base_lr, "must be a finite number >= 0");
            require(batch_size > 0, where, "batch_size", batch_size, "must be > 0");
            require(base_batch_size > 0, where, "base_batch_size", base_batch_size, "must be > 0");
        }
    }

    /**
     * @brief The linear scaling rule: base_lr * batch_size / base_batch_size (SGD; Goyal et al. 2017).
     * @throws std::invalid_argument for a negative or non-finite rate or a batch size of 0.
     */
    inline double linear_scaled_lr(double base_lr, std::size_t batch_size, std::size_t base_batch_size)
    {
        detail::check_scaling("xtrain::linear_scaled_lr", base_lr, batch_size, base_batch_size);
        return base_lr * static_cast<double>(batch_size) / static_cast<double>(base_batch_size);
    }

    /**
     * @brief The square-root scaling rule: base_lr * sqrt(batch_size / base_batch_size) (Adam).
     * @throws std::invalid_argument for a negative or non-finite rate or a batch size of 0.
     */
    inline double sqrt_scaled_lr(double base_lr, std::size_t batch_size, std::size_t base_batch_size)
    {
        detail::check_scaling("xtrain::sqrt_scaled_lr", base_lr, batch_size, base_batch_size);
        return base_lr * std::sqrt(static_cast<double>(batch_size) / static_cast<double>(base_batch_size));
    }
}

#endif
