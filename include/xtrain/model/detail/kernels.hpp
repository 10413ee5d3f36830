/**
 * @file kernels.hpp
 * @brief Internals of the layers: row-major GEMM through CBLAS, grow-only buffers.
 */
#ifndef XTRAIN_MODEL_DETAIL_KERNELS_HPP
#define XTRAIN_MODEL_DETAIL_KERNELS_HPP

#include <climits>
#include <cstddef>
#include <string_view>

#include <xtensor-blas/xblas.hpp>
#include <xtensor/xtensor.hpp>

#include "xtrain/core/error.hpp"

namespace xtrain::detail::nn
{
    /**
     * @brief C = alpha * op(A) * op(B) + beta * C, all row-major, op = transpose when @p ta / @p tb.
     *
     * Raw CBLAS (declared by xtensor-blas) rather than xt::blas::gemm: the layers multiply parts of
     * larger buffers (the first B rows of a buffer sized for the largest batch), and the transpose
     * flags spare the copies that a transposed view would cost.
     */
    inline void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a,
                     std::size_t lda, const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc) noexcept
    {
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha, a, static_cast<int>(lda), b,
                    static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
    }

    /** @brief Double-precision overload of gemm. */
    inline void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, double alpha, const double* a,
                     std::size_t lda, const double* b, std::size_t ldb, double beta, double* c,
                     std::size_t ldc) noexcept
    {
        cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha, a, static_cast<int>(lda), b,
                    static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
    }

    /**
     * @brief Checks that @p n fits the int that CBLAS takes for a dimension.
     * @throws std::invalid_argument naming @p what otherwise.
     */
    inline void require_blas_size(std::size_t n, std::string_view where, std::string_view what)
    {
        require(n <= static_cast<std::size_t>(INT_MAX), where, what, n, "must fit a BLAS int (<= 2^31 - 1)");
    }

    /** @brief Makes @p buf hold at least @p n values; allocates only when it must grow. */
    template <class V>
    void grow(xt::xtensor<V, 1>& buf, std::size_t n)
    {
        if (buf.size() < n)
        {
            buf = xt::xtensor<V, 1>::from_shape({n});
        }
    }
}

#endif
