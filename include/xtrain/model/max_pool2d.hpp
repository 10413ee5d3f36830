/**
 * @file max_pool2d.hpp
 * @brief 2-D max pooling over k x k windows (no padding; a last partial window is dropped, as PyTorch).
 *
 * The forward pass remembers where each maximum came from; the backward pass sends each output's
 * gradient to that input. Among equal values the first (in row-major order) wins; a window holding a
 * NaN gives NaN, so a diverging run shows NaN rather than hiding it.
 */
#ifndef XTRAIN_MODEL_MAX_POOL2D_HPP
#define XTRAIN_MODEL_MAX_POOL2D_HPP

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>

#include <xtensor/xtensor.hpp>

#include "xtrain/core/error.hpp"
#include "xtrain/core/extent.hpp"
#include "xtrain/core/param_buffer.hpp"
#include "xtrain/core/serialize.hpp"
#include "xtrain/model/detail/kernels.hpp"
#include "xtrain/model/layer.hpp"
#include "xtrain/model/shape.hpp"

namespace xtrain
{
    /** @brief The working part of MaxPool2D (what Sequential holds). Input C x H x W (or H x W). */
    template <class T>
    class MaxPool2DLayer
    {
    public:
        /** @brief Scalar type. */
        using value_type = T;
        /** @brief No parameters. */
        static constexpr bool has_parameters = false;

        /** @brief Windows of @p kernel x @p kernel, @p stride apart. @throws std::invalid_argument if either is 0. */
        MaxPool2DLayer(std::size_t kernel, std::size_t stride) : m_k(kernel), m_s(stride)
        {
            detail::require(kernel > 0, "xtrain::MaxPool2D", "kernel", kernel, "must be > 0");
            detail::require(stride > 0, "xtrain::MaxPool2D", "stride", stride, "must be > 0");
        }

        /** @brief Window size k (k x k). */
        std::size_t kernel() const noexcept { return m_k; }
        /** @brief Distance between windows. */
        std::size_t stride() const noexcept { return m_s; }
        /** @brief E.g. "MaxPool2D(kernel 2, stride 2)". */
        std::string describe() const { return detail::concat("MaxPool2D(kernel ", m_k, ", stride ", m_s, ")"); }
        /** @brief No parameters to declare. */
        void declare(ParamLayout&, const std::string&) noexcept {}
        /** @brief Nothing to initialise. */
        void initialize(T*, std::uint64_t, std::size_t) const noexcept {}

        /** @brief C x H' x W' with H' = (H - k) / stride + 1. @throws std::invalid_argument for another rank or H, W < k. */
        SampleShape output_shape(const SampleShape& in) const
        {
            if (in.rank != 2 && in.rank != 3)
            {
                throw std::invalid_argument(detail::concat("expects samples of shape C x H x W (or H x W) but gets ",
                                                           in.to_string()));
            }
            const std::size_t h = in[in.rank - 2];
            const std::size_t w = in[in.rank - 1];
            if (h < m_k || w < m_k)
            {
                throw std::invalid_argument(
                    detail::concat("the input ", h, "x", w, " is smaller than the window ", m_k, "x", m_k));
            }
            SampleShape out = in;
            out.dims[in.rank - 2] = (h - m_k) / m_s + 1;
            out.dims[in.rank - 1] = (w - m_k) / m_s + 1;
            return out;
        }

        /** @brief Allocates outputs and argmax for @p forward_batch samples (input gradients for @p backward_batch). */
        void reserve(const SampleShape& in, std::size_t forward_batch, std::size_t backward_batch, bool need_dx)
        {
            const SampleShape out = output_shape(in);
            m_c = in.rank == 3 ? in[0] : 1;
            m_h = in[in.rank - 2];
            m_w = in[in.rank - 1];
            m_ho = out[in.rank - 2];
            m_wo = out[in.rank - 1];
            detail::require(in.size() <= std::numeric_limits<std::uint32_t>::max(), "xtrain::MaxPool2D",
                            "input size per sample", in.size(), "must be < 2^32");
            detail::nn::grow(m_y, forward_batch * out.size());
            detail::nn::grow(m_arg, forward_batch * out.size());
            if (need_dx)
            {
                detail::nn::grow(m_dx, backward_batch * in.size());
            }
        }

        /** @brief The maximum of each window, for @p n samples. */
        const T* forward(const T* x, std::size_t n, const T*, ForwardMode)
        {
            const std::size_t in_size = m_c * m_h * m_w;
            const std::size_t out_size = m_c * m_ho * m_wo;
            for (std::size_t i = 0; i < n; ++i)
            {
                const T* xi = x + i * in_size;
                T* y = m_y.data() + i * out_size;
                std::uint32_t* arg = m_arg.data() + i * out_size;
                for (std::size_t c = 0; c < m_c; ++c)
                {
                    for (std::size_t oh = 0; oh < m_ho; ++oh)
                    {
                        for (std::size_t ow = 0; ow < m_wo; ++ow)
                        {
                            std::size_t best = (c * m_h + oh * m_s) * m_w + ow * m_s;
                            T v = xi[best];
                            bool nan = false;
                            for (std::size_t ki = 0; ki < m_k; ++ki)
                            {
                                const std::size_t row = (c * m_h + oh * m_s + ki) * m_w + ow * m_s;
                                for (std::size_t kj = 0; kj < m_k; ++kj)
                                {
                                    // Selects, not jumps: with random data a branch here
                                    // mispredicts about half the time.
                                    const T u = xi[row + kj];
                                    const bool take = u > v;
                                    best = take ? row + kj : best;
                                    v = take ? u : v;
                                    nan |= u != u;
                                }
                            }
                            if (nan)
                            {
                                v = std::numeric_limits<T>::quiet_NaN();
                            }
                            const std::size_t o = (c * m_ho + oh) * m_wo + ow;
                            y[o] = v;
                            arg[o] = static_cast<std::uint32_t>(best);
                        }
                    }
                }
            }
            return m_y.data();
        }

        /** @brief Routes each output's gradient to the input that was the maximum; nullptr if not @p need_dx. */
        const T* backward(const T*, const T*, const T* dy, std::size_t n, const T*, T*, bool need_dx)
        {
            if (!need_dx)
            {
                return nullptr;
            }
            const std::size_t in_size = m_c * m_h * m_w;
            const std::size_t out_size = m_c * m_ho * m_wo;
            T* dx = m_dx.data();
            for (std::size_t i = 0; i < n * in_size; ++i)
            {
                dx[i] = T(0);
            }
            for (std::size_t i = 0; i < n; ++i)
            {
                T* dxi = dx + i * in_size;
                const T* dyi = dy + i * out_size;
                const std::uint32_t* arg = m_arg.data() + i * out_size;
                for (std::size_t o = 0; o < out_size; ++o)
                {
                    dxi[arg[o]] += dyi[o];
                }
            }
            return dx;
        }
        /** @brief No state. */
        void save(BinaryWriter&) const noexcept {}
        /** @brief No state. */
        void load(BinaryReader&) noexcept {}

    private:
        std::size_t m_k;
        std::size_t m_s;
        std::size_t m_c = 0; // geometry of the planned input
        std::size_t m_h = 0;
        std::size_t m_w = 0;
        std::size_t m_ho = 0;
        std::size_t m_wo = 0;
        xt::xtensor<T, 1> m_y;
        xt::xtensor<std::uint32_t, 1> m_arg;
        xt::xtensor<T, 1> m_dx;
    };

    /**
     * @brief Max pooling for Sequential: `MaxPool2D<2>` (2 x 2 windows, stride 2), `MaxPool2D<3, 2>`,
     * or `MaxPool2D<>(kernel, stride)` at run time.
     */
    template <std::size_t Kernel = dynamic, std::size_t Stride = Kernel>
    class MaxPool2D
    {
        static_assert((Kernel == dynamic) == (Stride == dynamic),
                      "xtrain::MaxPool2D<Kernel, Stride>: give both at compile time, or neither (MaxPool2D<>(k, s))");
        static_assert(Kernel != 0 && Stride != 0, "xtrain::MaxPool2D: kernel and stride must be > 0");

    public:
        /** @brief The layer object Sequential<T, ...> holds. */
        template <class T>
        using layer_type = MaxPool2DLayer<T>;

        /** @brief Compile-time sizes. */
        template <std::size_t K = Kernel, std::enable_if_t<K != dynamic, int> = 0>
        MaxPool2D() noexcept : m_k(Kernel), m_s(Stride)
        {
        }
        /** @brief Run-time window @p kernel, stride = kernel (as torch.nn.MaxPool2d). */
        template <std::size_t K = Kernel, std::enable_if_t<K == dynamic, int> = 0>
        explicit MaxPool2D(std::size_t kernel) : MaxPool2D(kernel, kernel)
        {
        }
        /** @brief Run-time window and stride. @throws std::invalid_argument if either is 0. */
        template <std::size_t K = Kernel, std::enable_if_t<K == dynamic, int> = 0>
        MaxPool2D(std::size_t kernel, std::size_t stride) : m_k(kernel), m_s(stride)
        {
            detail::require(kernel > 0, "xtrain::MaxPool2D", "kernel", kernel, "must be > 0");
            detail::require(stride > 0, "xtrain::MaxPool2D", "stride", stride, "must be > 0");
        }

        /** @brief Builds the working layer for scalar type T. */
        template <class T>
        layer_type<T> make_layer() const
        {
            return layer_type<T>(m_k, m_s);
        }

    private:
        std::size_t m_k;
        std::size_t m_s;
    };
}

#endif
