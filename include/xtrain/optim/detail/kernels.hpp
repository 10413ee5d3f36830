/**
 * @file kernels.hpp
 * @brief Internals of the optimizer steps: rounding-faithful arithmetic, flag dispatch, norms.
 *
 * Users never include this directly; the policies do.
 */
#ifndef XTRAIN_OPTIM_DETAIL_KERNELS_HPP
#define XTRAIN_OPTIM_DETAIL_KERNELS_HPP

#include <cmath>
#include <cstddef>
#include <type_traits>

/**
 * @brief Unrolls the next loop four times (after vectorisation: 16 floats per iteration with SSE).
 *
 * The lightest steps (SGD: one multiply-add per element) are limited by instruction fetch in
 * cache; a two-instruction-per-vector loop then runs half as fast when it happens to straddle a
 * 64-byte boundary, which depends on unrelated code. Unrolling makes that luck irrelevant.
 */
#if defined(__GNUC__) || defined(__clang__)
#define XTRAIN_UNROLL4 _Pragma("GCC unroll 4")
#else
#define XTRAIN_UNROLL4
#endif

namespace xtrain::detail
{
    /**
     * @brief a * b + c, rounded once where the target has FMA instructions.
     *
     * PyTorch's CPU kernels for `add(x, y, alpha)` and `addcmul` use fused multiply-adds in their
     * AVX2 code path. Where the compiler may emit FMA (-mfma, -march=haswell or later) the same
     * single rounding is used here, so that results can agree to the bit; elsewhere an FMA would
     * be a slow library call per element, and the two roundings of a * b + c differ from it by at
     * most one unit in the last place.
     */
    template <class T>
    inline T muladd(T a, T b, T c) noexcept
    {
#if defined(__FMA__)
        return std::fma(a, b, c);
#else
        return a * b + c;
#endif
    }

    /** @brief Calls f() once every flag has been turned into std::true_type / std::false_type. */
    template <class F>
    inline void dispatch_flags(F&& f)
    {
        f();
    }

    /**
     * @brief Calls f(std::bool_constant<b1>{}, std::bool_constant<b2>{}, ...) for run-time flags.
     *
     * Branches on hyperparameters move out of the per-element loop this way, so that every
     * combination is a straight loop the compiler vectorises (also at -O2, which does not unswitch).
     */
    template <class F, class... Rest>
    inline void dispatch_flags(F&& f, bool first, Rest... rest)
    {
        if (first)
        {
            dispatch_flags([&f](auto... tail) { f(std::true_type{}, tail...); }, rest...);
        }
        else
        {
            dispatch_flags([&f](auto... tail) { f(std::false_type{}, tail...); }, rest...);
        }
    }

    /**
     * @brief Plain gradient descent over p[0..n): p += neg_lr * (g + wd * p), weight decay only when asked.
     *
     * The step of SGD and of classic-momentum SGD when momentum is 0 (where the two rules agree).
     */
    template <class T>
    inline void plain_descent(T* p, const T* g, std::size_t n, T wd, T neg_lr, bool decay) noexcept
    {
        dispatch_flags(
            [&](auto with_decay) {
                XTRAIN_UNROLL4
                for (std::size_t i = 0; i < n; ++i)
                {
                    T d = g[i];
                    if constexpr (decltype(with_decay)::value)
                    {
                        d = muladd(p[i], wd, d);
                    }
                    p[i] = muladd(d, neg_lr, p[i]);
                }
            },
            decay);
    }

    /** @brief Sum of squares of x[0..n), accumulated in double (four partial sums for speed). */
    template <class T>
    inline double sum_of_squares(const T* x, std::size_t n) noexcept
    {
        double s0 = 0.0;
        double s1 = 0.0;
        double s2 = 0.0;
        double s3 = 0.0;
        std::size_t i = 0;
        for (; i + 4 <= n; i += 4)
        {
            const double a = static_cast<double>(x[i]);
            const double b = static_cast<double>(x[i + 1]);
            const double c = static_cast<double>(x[i + 2]);
            const double d = static_cast<double>(x[i + 3]);
            s0 += a * a;
            s1 += b * b;
            s2 += c * c;
            s3 += d * d;
        }
        for (; i < n; ++i)
        {
            const double a = static_cast<double>(x[i]);
            s0 += a * a;
        }
        return (s0 + s1) + (s2 + s3);
    }
}

#endif
