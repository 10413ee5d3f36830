/**
 * @file init.hpp
 * @brief How layers draw their initial weights and biases (PyTorch's defaults unless told otherwise).
 *
 * Every draw comes from `derive_rng(seed, RngStream::init, layer_index)`, the weights first (in
 * row-major order), then the biases: the same seed gives the same parameters on every platform, and
 * adding a layer does not change the numbers of the others.
 */
#ifndef XTRAIN_MODEL_INIT_HPP
#define XTRAIN_MODEL_INIT_HPP

#include <cmath>
#include <cstddef>

#include "xtrain/core/random.hpp"

namespace xtrain
{
    /**
     * @brief Distribution of a layer's initial weights (fan_in = inputs per output, e.g. C*k*k for Conv2D).
     *
     * `pytorch_default` is what `torch.nn.Linear` and `torch.nn.Conv2d` do: Kaiming-uniform with
     * a = sqrt(5), which works out as U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
     */
    enum class WeightInit
    {
        pytorch_default, ///< U(+-1/sqrt(fan_in)) (Kaiming-uniform, a = sqrt(5))
        kaiming_uniform, ///< U(+-sqrt(6/fan_in)): He et al. for ReLU (a = 0)
        kaiming_normal,  ///< N(0, 2/fan_in): He et al. for ReLU (a = 0)
        xavier_uniform,  ///< U(+-sqrt(6/(fan_in+fan_out))): Glorot and Bengio
        xavier_normal,   ///< N(0, 2/(fan_in+fan_out)): Glorot and Bengio
        zeros            ///< all zero (e.g. for a linear model)
    };

    /** @brief Distribution of a layer's initial biases. */
    enum class BiasInit
    {
        pytorch_default, ///< U(+-1/sqrt(fan_in)), as torch.nn.Linear and Conv2d
        zeros            ///< all zero
    };

    /** @brief The bound b of U(-b, b) or the standard deviation of the normal that @p init draws from. */
    inline double init_scale(WeightInit init, std::size_t fan_in, std::size_t fan_out) noexcept
    {
        const auto fi = static_cast<double>(fan_in);
        const auto fo = static_cast<double>(fan_out);
        switch (init)
        {
        case WeightInit::pytorch_default: return 1.0 / std::sqrt(fi);
        case WeightInit::kaiming_uniform: return std::sqrt(6.0 / fi);
        case WeightInit::kaiming_normal: return std::sqrt(2.0 / fi);
        case WeightInit::xavier_uniform: return std::sqrt(6.0 / (fi + fo));
        case WeightInit::xavier_normal: return std::sqrt(2.0 / (fi + fo));
        case WeightInit::zeros: return 0.0;
        }
        return 0.0;
    }

    /** @brief Fills @p n weights at @p w as @p init says, drawing from @p rng. */
    template <class T>
    void init_weights(T* w, std::size_t n, std::size_t fan_in, std::size_t fan_out, WeightInit init, Rng& rng)
    {
        const double s = init_scale(init, fan_in, fan_out);
        const bool normal = init == WeightInit::kaiming_normal || init == WeightInit::xavier_normal;
        for (std::size_t i = 0; i < n; ++i)
        {
            if (init == WeightInit::zeros)
            {
                w[i] = T(0);
            }
            else
            {
                w[i] = static_cast<T>(normal ? rng.normal(0.0, s) : rng.uniform(-s, s));
            }
        }
    }

    /** @brief Fills @p n biases at @p b as @p init says, drawing from @p rng. */
    template <class T>
    void init_bias(T* b, std::size_t n, std::size_t fan_in, BiasInit init, Rng& rng)
    {
        const double s = 1.0 / std::sqrt(static_cast<double>(fan_in));
        for (std::size_t i = 0; i < n; ++i)
        {
            b[i] = init == BiasInit::zeros ? T(0) : static_cast<T>(rng.uniform(-s, s));
        }
    }
}

#endif
