/**
 * @file model_support.hpp
 * @brief Internals shared by Sequential and MLP: batch checks, gradient buffer, argmax.
 */
#ifndef XTRAIN_MODEL_DETAIL_MODEL_SUPPORT_HPP
#define XTRAIN_MODEL_DETAIL_MODEL_SUPPORT_HPP

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

#include <xtensor/xtensor.hpp>

#include "xtrain/core/batch.hpp"
#include "xtrain/core/error.hpp"
#include "xtrain/core/param_buffer.hpp"
#include "xtrain/model/shape.hpp"

namespace xtrain::detail::nn
{
    /**
     * @brief The sample shape of @p batch after checking what every model needs of it.
     * @throws std::invalid_argument for an empty batch, missing features, or a sample_shape that
     * disagrees with feature_dim.
     */
    template <class T>
    SampleShape checked_input_shape(const Batch<T>& batch, std::string_view where)
    {
        require(batch.size > 0, where, "batch.size", batch.size, "must be > 0");
        if (batch.features == nullptr)
        {
            throw std::invalid_argument(concat(where, ": batch.features is null"));
        }
        const SampleShape in = SampleShape::of_batch(batch);
        if (in.size() != batch.feature_dim)
        {
            throw std::invalid_argument(concat(where, ": batch.sample_shape ", in.to_string(), " holds ", in.size(),
                                               " values but batch.feature_dim is ", batch.feature_dim));
        }
        return in;
    }

    /**
     * @brief Checks that the model's parameters still have the size its layers were built for.
     * @throws std::logic_error if parameters() was replaced by a buffer of another layout.
     */
    template <class T>
    void check_parameter_size(const ParamBuffer<T>& params, std::size_t expected, std::string_view where)
    {
        if (params.size() != expected)
        {
            throw std::logic_error(concat(where, ": parameters() holds ", params.size(), " values but the layers need ",
                                          expected, " (assign values into the buffer; do not replace its layout)"));
        }
    }

    /** @brief Gives @p grad @p n values if it has another size (allocates once; pass a sized buffer to avoid it). */
    template <class T>
    void size_gradient(xt::xtensor<T, 1>& grad, std::size_t n)
    {
        if (grad.size() != n)
        {
            grad.resize({n});
        }
    }

    /** @brief out[i] = index of the largest of the @p k values of row i (the first among equals). */
    template <class T>
    void argmax_rows(const T* z, std::size_t n, std::size_t k, label_type* out) noexcept
    {
        for (std::size_t i = 0; i < n; ++i)
        {
            const T* zi = z + i * k;
            std::size_t best = 0;
            for (std::size_t j = 1; j < k; ++j)
            {
                if (zi[j] > zi[best])
                {
                    best = j;
                }
            }
            out[i] = static_cast<label_type>(best);
        }
    }

    /** @brief Rethrows a layer's shape complaint with the model, the layer's position and its description. */
    [[noreturn]] inline void rethrow_layer_error(std::string_view where, std::size_t index, const std::string& layer,
                                                 const std::invalid_argument& e)
    {
        throw std::invalid_argument(concat(where, ": layer ", index, " (", layer, "): ", e.what()));
    }
}

#endif
