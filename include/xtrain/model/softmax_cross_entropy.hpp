/**
 * @file softmax_cross_entropy.hpp
 * @brief Softmax and cross-entropy fused into one loss on logits, stable for any logits.
 *
 * For logits z of a sample with label c: loss = log(sum_j exp(z_j)) - z_c, computed as
 * m + log(sum_j exp(z_j - m)) with m = max_j z_j, so no exponent overflows. Its gradient is
 * softmax(z) - onehot(c); the batch loss is the mean over samples, so every gradient is divided
 * by B. Equals torch.nn.CrossEntropyLoss() (reduction "mean") on the same logits.
 */
#ifndef XTRAIN_MODEL_SOFTMAX_CROSS_ENTROPY_HPP
#define XTRAIN_MODEL_SOFTMAX_CROSS_ENTROPY_HPP

#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>

#include <xtensor/xtensor.hpp>

#include "xtrain/core/batch.hpp"
#include "xtrain/core/error.hpp"
#include "xtrain/model/detail/kernels.hpp"

namespace xtrain
{
    /** @brief The working part of SoftmaxCrossEntropy (what Sequential holds). */
    template <class T>
    class SoftmaxCrossEntropyLoss
    {
    public:
        /** @brief Scalar type. */
        using value_type = T;
        /** @brief The outputs are class scores: the model can predict labels (argmax). */
        static constexpr bool classifies = true;

        /** @brief "SoftmaxCrossEntropy". */
        std::string describe() const { return "SoftmaxCrossEntropy"; }

        /**
         * @brief Checks that @p batch has labels, all in [0, k).
         * @throws std::invalid_argument naming the first bad label and its sample.
         */
        void check_batch(const Batch<T>& batch, std::size_t k) const
        {
            if (!batch.has_labels())
            {
                throw std::invalid_argument(
                    "xtrain::SoftmaxCrossEntropy: the batch has no labels (a classification loss needs batch.labels)");
            }
            for (std::size_t i = 0; i < batch.size; ++i)
            {
                const label_type c = batch.labels[i];
                if (c < 0 || static_cast<std::size_t>(c) >= k)
                {
                    throw std::invalid_argument(detail::concat("xtrain::SoftmaxCrossEntropy: label ", c, " of sample ", i,
                                                               " is outside [0, ", k, ") (the model has ", k,
                                                               " outputs)"));
                }
            }
        }

        /** @brief Allocates the logit-gradient buffer for @p batch samples of @p k classes. */
        void reserve(std::size_t k, std::size_t batch) { detail::nn::grow(m_dz, batch * k); }

        /** @brief Mean loss of @p n samples of logits @p z (n x k); labels checked by check_batch. */
        T loss(const T* z, std::size_t n, std::size_t k, const Batch<T>& batch) const noexcept
        {
            double total = 0.0;
            for (std::size_t i = 0; i < n; ++i)
            {
                const T* zi = z + i * k;
                const T m = row_max(zi, k);
                T s = T(0);
                for (std::size_t j = 0; j < k; ++j)
                {
                    s += std::exp(zi[j] - m);
                }
                total += static_cast<double>(m + std::log(s) - zi[batch.labels[i]]);
            }
            return static_cast<T>(total / static_cast<double>(n));
        }

        /** @brief Mean loss, and its gradient with respect to the logits into gradient(). */
        T loss_and_gradient(const T* z, std::size_t n, std::size_t k, const Batch<T>& batch) noexcept
        {
            const T inv_n = T(1) / static_cast<T>(n);
            T* dz = m_dz.data();
            double total = 0.0;
            for (std::size_t i = 0; i < n; ++i)
            {
                const T* zi = z + i * k;
                T* gi = dz + i * k;
                const T m = row_max(zi, k);
                T s = T(0);
                for (std::size_t j = 0; j < k; ++j)
                {
                    gi[j] = std::exp(zi[j] - m);
                    s += gi[j];
                }
                const auto c = static_cast<std::size_t>(batch.labels[i]);
                total += static_cast<double>(m + std::log(s) - zi[c]);
                const T scale = inv_n / s;
                for (std::size_t j = 0; j < k; ++j)
                {
                    gi[j] *= scale;
                }
                gi[c] -= inv_n;
            }
            return static_cast<T>(total / static_cast<double>(n));
        }

        /** @brief d(mean loss)/d(logits) from the last loss_and_gradient (n x k). */
        const T* gradient() const noexcept { return m_dz.data(); }

    private:
        static T row_max(const T* z, std::size_t k) noexcept
        {
            T m = z[0];
            for (std::size_t j = 1; j < k; ++j)
            {
                m = z[j] > m ? z[j] : m;
            }
            return m;
        }

        xt::xtensor<T, 1> m_dz;
    };

    /** @brief Softmax + cross-entropy on the last layer's outputs (logits), against class labels. */
    struct SoftmaxCrossEntropy
    {
        /** @brief The loss object Sequential<T, ...> holds. */
        template <class T>
        using loss_type = SoftmaxCrossEntropyLoss<T>;
        /** @brief Builds the working loss for scalar type T. */
        template <class T>
        loss_type<T> make_loss() const
        {
            return {};
        }
    };
}

#endif
