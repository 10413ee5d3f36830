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

    /**
     * @brief Which batch the activations of the last loss_and_gradient() belong to, so that its
     * backward pass can be repeated over the batch's first samples (gradient_of_first()).
     *
     * A copy or an assignment starts empty: the activations it names live in the buffers of the
     * model it was copied from. A move empties both sides: the buffers moved away with the model.
     */
    template <class T>
    class KeptPass
    {
    public:
        KeptPass() noexcept = default;
        KeptPass(const KeptPass&) noexcept {}
        KeptPass& operator=(const KeptPass&) noexcept
        {
            clear();
            return *this;
        }
        KeptPass(KeptPass&& other) noexcept { other.clear(); }
        KeptPass& operator=(KeptPass&& other) noexcept
        {
            clear();
            other.clear();
            return *this;
        }
        ~KeptPass() = default;

        /** @brief The activations now belong to @p batch. */
        void keep(const Batch<T>& batch) noexcept
        {
            m_features = batch.features;
            m_labels = batch.labels;
            m_targets = batch.targets;
            m_size = batch.size;
        }
        /** @brief A forward pass or a new plan overwrote the activations. */
        void clear() noexcept { m_size = 0; }
        /** @brief True if the activations are those of a batch at @p batch's addresses and of its size. */
        bool holds(const Batch<T>& batch) const noexcept
        {
            return m_size != 0 && batch.size == m_size && batch.features == m_features && batch.labels == m_labels
                && batch.targets == m_targets;
        }

        /**
         * @brief Checks a gradient_of_first() call.
         * @throws std::logic_error if the activations are not those of @p batch;
         *         std::invalid_argument if @p n is 0 or above batch.size.
         */
        void check(const Batch<T>& batch, std::size_t n, std::string_view where) const
        {
            if (!holds(batch))
            {
                throw std::logic_error(concat(where, ": the model holds no backward pass of this batch (call "
                                                     "loss_and_gradient(batch, grad) first, and nothing that runs "
                                                     "a forward pass in between)"));
            }
            if (n == 0 || n > batch.size)
            {
                throw std::invalid_argument(concat(where, ": n must be in 1 ... batch.size (", batch.size, ") (got ", n, ")"));
            }
        }

    private:
        const T* m_features = nullptr;
        const label_type* m_labels = nullptr;
        const T* m_targets = nullptr;
        std::size_t m_size = 0;
    };

    /** @brief grad *= @p scale over its @p n values (the mean over a subset from a sum scaled for the whole batch). */
    template <class T>
    void scale_gradient(T* grad, std::size_t n, T scale) noexcept
    {
        for (std::size_t i = 0; i < n; ++i)
        {
            grad[i] *= scale;
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
