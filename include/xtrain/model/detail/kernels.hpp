/**
 * @file kernels.hpp
 * @brief Internals of the layers: row-major GEMM through CBLAS, grow-only buffers.
 */
#ifndef XTRAIN_MODEL_DETAIL_KERNELS_HPP
#define XTRAIN_MODEL_DETAIL_KERNELS_HPP

#include <climits>
#include <cstddef>
#include <string_view>
#include <type_traits>

#include <xtensor-blas/xblas.hpp>
#include <xtensor/xtensor.hpp>

// libxsmm is optional: CMake defines XTRAIN_HAVE_LIBXSMM when it finds the library (option
// XTRAIN_USE_LIBXSMM); XTRAIN_DISABLE_LIBXSMM keeps a translation unit on the portable path.
#if defined(XTRAIN_HAVE_LIBXSMM) && !defined(XTRAIN_DISABLE_LIBXSMM)
#define XTRAIN_WITH_LIBXSMM 1
#include <libxsmm.h>
#else
#define XTRAIN_WITH_LIBXSMM 0
#endif

#include "xtrain/core/error.hpp"

namespace xtrain::detail::nn
{
    /** @brief The plain CBLAS call: C = alpha * op(A) * op(B) + beta * C, row-major. */
    inline void blas_gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a,
                          std::size_t lda, const float* b, std::size_t ldb, float beta, float* c,
                          std::size_t ldc) noexcept
    {
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha, a, static_cast<int>(lda), b,
                    static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
    }

    /** @brief Double-precision overload of blas_gemm. */
    inline void blas_gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, double alpha,
                          const double* a, std::size_t lda, const double* b, std::size_t ldb, double beta, double* c,
                          std::size_t ldc) noexcept
    {
        cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha, a, static_cast<int>(lda), b,
                    static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
    }

    /**
     * @brief True when OpenBLAS has its unpacked small-matrix GEMM path on this CPU.
     *
     * OpenBLAS 0.3.21 has it for AVX-512 cores only and takes it while M x N x K <= 10^6; beyond
     * that it packs both operands at every call, which for a layer's weights (N x K) costs more
     * than the product itself when M (the batch) is small.
     */
    inline bool blas_has_small_matrix_path() noexcept
    {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
        static const bool avx512 = __builtin_cpu_supports("avx512f") != 0;
        return avx512;
#else
        return false;
#endif
    }

    /** @brief OpenBLAS's bound on M x N x K for its small-matrix path. */
    inline constexpr std::size_t blas_small_mnk = 1000000;

    /**
     * @brief Rows per call when a product with few rows is cut into slices that each stay on the
     * small-matrix path, or 0 when the product is best left whole.
     *
     * Measured (MLP 784-256-10, forward X W^T at B = 8: 32 us in slices of 4 against 83 us whole)
     * the slices win while there are at most 8 of them; at B = 64 the packed product is faster.
     */
    inline std::size_t small_matrix_slice(std::size_t m, std::size_t n, std::size_t k) noexcept
    {
        if (n == 0 || k == 0 || m * n * k <= blas_small_mnk || !blas_has_small_matrix_path())
        {
            return 0;
        }
        const std::size_t rows = blas_small_mnk / (n * k);
        return rows >= 4 && m <= 8 * rows ? rows : 0;
    }

    /**
     * @brief C = alpha * op(A) * op(B) + beta * C, all row-major, op = transpose when @p ta / @p tb.
     *
     * Raw CBLAS (declared by xtensor-blas) rather than xt::blas::gemm: the layers multiply parts of
     * larger buffers (the first B rows of a buffer sized for the largest batch), and the transpose
     * flags spare the copies that a transposed view would cost. A product of a few rows of A
     * against a large B is cut into slices of rows that OpenBLAS multiplies without packing B
     * (see small_matrix_slice); each row of C is computed by the same kind of call either way.
     */
    template <class T>
    void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, T alpha, const T* a, std::size_t lda,
              const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc) noexcept
    {
        const std::size_t rows = ta ? 0 : small_matrix_slice(m, n, k);
        if (rows == 0)
        {
            blas_gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            return;
        }
        for (std::size_t r = 0; r < m; r += rows)
        {
            const std::size_t mr = m - r < rows ? m - r : rows;
            blas_gemm(false, tb, mr, n, k, alpha, a + r * lda, lda, b, ldb, beta, c + r * ldc, ldc);
        }
    }

    /** @brief Largest batch for which weight_gradient() uses libxsmm (measured: faster up to 32, slower at 64). */
    inline constexpr std::size_t libxsmm_max_batch = 32;

    /** @brief True when weight_gradient() takes the libxsmm path for type T and batch @p n. */
    template <class T>
    constexpr bool uses_libxsmm(std::size_t n) noexcept
    {
        return XTRAIN_WITH_LIBXSMM && std::is_same_v<T, float> && n <= libxsmm_max_batch;
    }

    /**
     * @brief dW = beta * dW + alpha * dy^T x for a dense layer: dW out x in, dy n x out, x n x in,
     * all row-major; @p scratch holds at least out x n values when uses_libxsmm<T>(n).
     *
     * OpenBLAS packs x and writes dW through its general path once out x in x n > 10^6; libxsmm's
     * generated kernel streams x and dW once (2x faster at n = 8 to 16, 1.5x at n = 1, measured).
     * Seen column-major, dW is the in x out product of x (in x n) and alpha dy (n x out), whose
     * copy into @p scratch is the only extra work. @p beta must be 0 or 1.
     */
    template <class T>
    void weight_gradient(std::size_t out, std::size_t in, std::size_t n, T alpha, const T* dy, const T* x, T beta,
                         T* dw, T* scratch) noexcept
    {
#if XTRAIN_WITH_LIBXSMM
        if constexpr (std::is_same_v<T, float>)
        {
            if (uses_libxsmm<T>(n))
            {
                const auto m_ = static_cast<libxsmm_blasint>(in);
                const auto n_ = static_cast<libxsmm_blasint>(out);
                const auto k_ = static_cast<libxsmm_blasint>(n);
                const float one = 1.0f;
                const libxsmm_smmfunction kernel =
                    libxsmm_smmdispatch(m_, n_, k_, &m_, &k_, &m_, &one, &beta, nullptr, nullptr);
                if (kernel != nullptr)
                {
                    for (std::size_t r = 0; r < n; ++r)
                    {
                        const T* dyr = dy + r * out;
                        for (std::size_t j = 0; j < out; ++j)
                        {
                            scratch[j * n + r] = alpha * dyr[j];
                        }
                    }
                    kernel(x, scratch, dw);
                    return;
                }
            }
        }
#else
        (void)scratch;
#endif
        blas_gemm(true, false, out, in, n, alpha, dy, out, x, in, beta, dw, in);
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
