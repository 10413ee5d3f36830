/**
 * @file mse.hpp
 * @brief Mean squared error against regression targets.
 *
 * loss = (1 / (B K)) sum_i sum_j (z_ij - t_ij)^2 over B samples of K outputs: the mean over the
 * batch of each sample's mean over its outputs, which is torch.nn.MSELoss() (reduction "mean").
 */
#ifndef XTRAIN_MODEL_MSE_HPP
#define XTRAIN_MODEL_MSE_HPP

#include <cstddef>
#include <stdexcept>
#include <string>

#include <xtensor/xtensor.hpp>

#include "xtrain/core/batch.hpp"
#include "xtrain/core/error.hpp"
#include "xtrain/model/detail/kernels.hpp"

namespace xtrain
{
    /** @brief The working part of MSE (what Sequential holds). */
    template <class T>
    class MSELoss
    {
    public:
        /** @brief Scalar type. */
        using value_type = T;
        /** @brief The outputs are values, not class scores: no predict(). */
        static constexpr bool classifies = false;

        /** @brief "MSE". */
        std::string describe() const { return "MSE"; }

        /** @brief Checks that @p batch has targets with @p k columns. @throws std::invalid_argument otherwise. */
        void check_batch(const Batch<T>& batch, std::size_t k) const
        {
            if (!batch.has_targets())
            {
                throw std::invalid_argument("xtrain::MSE: the batch has no targets (a regression loss needs batch.targets)");
            }
            if (batch.target_dim != k)
            {
                throw std::invalid_argument(detail::concat("xtrain::MSE: the batch has ", batch.target_dim,
                                                           " target columns (batch.target_dim) but the model has ", k,
                                                           " outputs"));
            }
        }

        /** @brief Allocates the output-gradient buffer for @p batch samples of @p k outputs. */
        void reserve(std::size_t k, std::size_t batch) { detail::nn::grow(m_dz, batch * k); }

        /** @brief Mean loss of @p n samples of outputs @p z (n x k). */
        T loss(const T* z, std::size_t n, std::size_t k, const Batch<T>& batch) const noexcept
        {
            const T* t = batch.targets;
            double total = 0.0;
            for (std::size_t i = 0; i < n * k; ++i)
            {
                const double d = static_cast<double>(z[i]) - static_cast<double>(t[i]);
                total += d * d;
            }
            return static_cast<T>(total / static_cast<double>(n * k));
        }

        /** @brief Mean loss, and its gradient 2 (z - t) / (n k) into gradient(). */
        T loss_and_gradient(const T* z, std::size_t n, std::size_t k, const Batch<T>& batch) noexcept
        {
            const T* t = batch.targets;
            const T scale = T(2) / static_cast<T>(n * k);
            T* dz = m_dz.data();
            double total = 0.0;
            for (std::size_t i = 0; i < n * k; ++i)
            {
                const T d = z[i] - t[i];
                total += static_cast<double>(d) * static_cast<double>(d);
                dz[i] = scale * d;
            }
            return static_cast<T>(total / static_cast<double>(n * k));
        }

        /** @brief d(mean loss)/d(outputs) from the last loss_and_gradient (n x k). */
        const T* gradient() const noexcept { return m_dz.data(); }

    private:
        xt::xtensor<T, 1> m_dz;
    };

    /** @brief Mean squared error on the last layer's outputs, against batch.targets. */
    struct MSE
    {
        /** @brief The loss object Sequential<T, ...> holds. */
        template <class T>
        using loss_type = MSELoss<T>;
        /** @brief Builds the working loss for scalar type T. */
        template <class T>
        loss_type<T> make_loss() const
        {
            return {};
        }
    };
}

#endif
