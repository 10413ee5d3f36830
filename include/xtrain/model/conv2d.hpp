/**
 * @file conv2d.hpp
 * @brief 2-D convolution (cross-correlation, as torch.nn.Conv2d) by im2col and GEMM.
 *
 * Samples are C x H x W, row-major. For each sample the k x k patches are unrolled into a
 * (C k k) x (H' W') matrix, and one GEMM with the O x (C k k) weight matrix gives the O x H' x W'
 * output. The unrolled patches are kept for the backward pass, where dW = dY col^T accumulates over
 * the batch, and dX (only when an earlier layer needs it) is col2im(W^T dY).
 */
#ifndef XTRAIN_MODEL_CONV2D_HPP
#define XTRAIN_MODEL_CONV2D_HPP

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>

#include <xtensor/xtensor.hpp>

#include "xtrain/core/error.hpp"
#include "xtrain/core/extent.hpp"
#include "xtrain/core/param_buffer.hpp"
#include "xtrain/core/random.hpp"
#include "xtrain/core/serialize.hpp"
#include "xtrain/model/detail/kernels.hpp"
#include "xtrain/model/init.hpp"
#include "xtrain/model/layer.hpp"
#include "xtrain/model/shape.hpp"

namespace xtrain
{
    namespace detail::nn
    {
        /** @brief Throws std::invalid_argument naming the first Conv2D size that is 0 or too large. */
        inline void check_conv2d(std::size_t in_channels, std::size_t out_channels, std::size_t kernel,
                                 std::size_t stride)
        {
            require(in_channels > 0, "xtrain::Conv2D", "in_channels", in_channels, "must be > 0");
            require(out_channels > 0, "xtrain::Conv2D", "out_channels", out_channels, "must be > 0");
            require(kernel > 0, "xtrain::Conv2D", "kernel", kernel, "must be > 0");
            require(stride > 0, "xtrain::Conv2D", "stride", stride, "must be > 0");
            require_blas_size(in_channels * kernel * kernel, "xtrain::Conv2D", "in_channels * kernel^2");
            require_blas_size(out_channels, "xtrain::Conv2D", "out_channels");
        }
    }

    /**
     * @brief The working part of a Conv2D layer (what Sequential holds).
     *
     * Input C x H x W (or H x W when C = 1); output O x H' x W' with
     * H' = (H + 2 padding - kernel) / stride + 1. Segments: "<prefix>.weight" (O x C x k x k) and
     * "<prefix>.bias" (O), as torch.nn.Conv2d.
     */
    template <class T>
    class Conv2DLayer
    {
    public:
        /** @brief Scalar type. */
        using value_type = T;
        /** @brief Conv2D layers own trainable parameters. */
        static constexpr bool has_parameters = true;

        /**
         * @brief A convolution of @p in_channels to @p out_channels with a square @p kernel.
         * @throws std::invalid_argument if a channel count, the kernel or the stride is 0.
         */
        Conv2DLayer(std::size_t in_channels, std::size_t out_channels, std::size_t kernel, std::size_t stride = 1,
                    std::size_t padding = 0, WeightInit weight_init = WeightInit::pytorch_default,
                    BiasInit bias_init = BiasInit::pytorch_default);

        /** @brief Input channels C. */
        std::size_t in_channels() const noexcept { return m_c; }
        /** @brief Output channels O. */
        std::size_t out_channels() const noexcept { return m_o; }
        /** @brief Kernel size k (k x k). */
        std::size_t kernel() const noexcept { return m_k; }
        /** @brief Stride (both directions). */
        std::size_t stride() const noexcept { return m_s; }
        /** @brief Zero padding on each side. */
        std::size_t padding() const noexcept { return m_p; }
        /** @brief E.g. "Conv2D(1 -> 8, kernel 3, stride 1, padding 0)". */
        std::string describe() const;

        /** @brief Adds "<prefix>.weight" and "<prefix>.bias" to @p layout and remembers their offsets. */
        void declare(ParamLayout& layout, const std::string& prefix);
        /** @brief Draws the initial parameters (fan_in = C k k, fan_out = O k k). */
        void initialize(T* params, std::uint64_t seed, std::size_t index) const;
        /** @brief O x H' x W' for input C x H x W. @throws std::invalid_argument for another rank, C, or a too small image. */
        SampleShape output_shape(const SampleShape& in) const;
        /**
         * @brief Allocates outputs for @p forward_batch samples, the unrolled patches for
         * @p backward_batch (one sample's worth at least) and, if @p need_dx, input gradients.
         */
        void reserve(const SampleShape& in, std::size_t forward_batch, std::size_t backward_batch, bool need_dx);
        /** @brief Computes the outputs of @p n samples (n x O x H' x W'); keeps the patches if a backward pass follows. */
        const T* forward(const T* x, std::size_t n, const T* params, ForwardMode mode);
        /** @brief Writes the weight and bias gradients into @p grads; returns dL/dx if @p need_dx, else nullptr. */
        const T* backward(const T* x, const T* y, const T* dy, std::size_t n, const T* params, T* grads,
                          bool need_dx);
        /** @brief No state beyond the parameters. */
        void save(BinaryWriter&) const noexcept {}
        /** @brief No state beyond the parameters. */
        void load(BinaryReader&) noexcept {}

    private:
        void im2col(const T* x, T* col) const noexcept;
        void col2im(const T* col, T* dx) const noexcept;

        std::size_t m_c;
        std::size_t m_o;
        std::size_t m_k;
        std::size_t m_s;
        std::size_t m_p;
        WeightInit m_weight_init;
        BiasInit m_bias_init;
        std::size_t m_w = 0; // offsets into the flat buffer
        std::size_t m_b = 0;
        std::size_t m_h = 0; // geometry of the planned input
        std::size_t m_wd = 0;
        std::size_t m_ho = 0;
        std::size_t m_wo = 0;
        xt::xtensor<T, 1> m_col;  // per sample (C k k) x (H' W'); one sample's worth in evaluation
        xt::xtensor<T, 1> m_y;
        xt::xtensor<T, 1> m_dcol; // one sample
        xt::xtensor<T, 1> m_dx;
    };

    /**
     * @brief A Conv2D layer for Sequential: `Conv2D<1, 8, 3>` (stride 1, no padding),
     * `Conv2D<1, 8, 3, 1, 1>`, or `Conv2D<>(1, 8, 3, stride, padding)` with sizes at run time.
     */
    template <std::size_t InChannels = dynamic, std::size_t OutChannels = dynamic, std::size_t Kernel = dynamic,
              std::size_t Stride = 1, std::size_t Padding = 0>
    class Conv2D
    {
        static_assert((InChannels == dynamic) == (OutChannels == dynamic) && (InChannels == dynamic) == (Kernel == dynamic),
                      "xtrain::Conv2D<InChannels, OutChannels, Kernel>: give all three at compile time, or none "
                      "(Conv2D<>(in_channels, out_channels, kernel, stride, padding))");
        static_assert(InChannels != 0 && OutChannels != 0 && Kernel != 0 && Stride != 0,
                      "xtrain::Conv2D: channels, kernel and stride must be > 0");

    public:
        /** @brief The layer object Sequential<T, ...> holds. */
        template <class T>
        using layer_type = Conv2DLayer<T>;

        /** @brief Compile-time sizes, PyTorch's initialisation. */
        template <std::size_t I = InChannels, std::enable_if_t<I != dynamic, int> = 0>
        Conv2D() noexcept : m_c(InChannels), m_o(OutChannels), m_k(Kernel), m_s(Stride), m_p(Padding)
        {
        }
        /** @brief Compile-time sizes, the given initialisation. */
        template <std::size_t I = InChannels, std::enable_if_t<I != dynamic, int> = 0>
        explicit Conv2D(WeightInit weight_init, BiasInit bias_init = BiasInit::pytorch_default) noexcept
            : m_c(InChannels), m_o(OutChannels), m_k(Kernel), m_s(Stride), m_p(Padding), m_weight_init(weight_init),
              m_bias_init(bias_init)
        {
        }
        /** @brief Run-time sizes. @throws std::invalid_argument if a channel count, the kernel or the stride is 0. */
        template <std::size_t I = InChannels, std::enable_if_t<I == dynamic, int> = 0>
        Conv2D(std::size_t in_channels, std::size_t out_channels, std::size_t kernel, std::size_t stride = 1,
               std::size_t padding = 0, WeightInit weight_init = WeightInit::pytorch_default,
               BiasInit bias_init = BiasInit::pytorch_default)
            : m_c(in_channels), m_o(out_channels), m_k(kernel), m_s(stride), m_p(padding), m_weight_init(weight_init),
              m_bias_init(bias_init)
        {
            // Checked here too, so that the error comes from the user's call rather than the model's construction.
            detail::nn::check_conv2d(in_channels, out_channels, kernel, stride);
        }

        /** @brief Builds the working layer for scalar type T. */
        template <class T>
        Conv2DLayer<T> make_layer() const
        {
            return Conv2DLayer<T>(m_c, m_o, m_k, m_s, m_p, m_weight_init, m_bias_init);
        }

    private:
        std::size_t m_c;
        std::size_t m_o;
        std::size_t m_k;
        std::size_t m_s;
        std::size_t m_p;
        WeightInit m_weight_init = WeightInit::pytorch_default;
        BiasInit m_bias_init = BiasInit::pytorch_default;
    };

    /**************************
     * Conv2DLayer definitions *
     **************************/

    template <class T>
    Conv2DLayer<T>::Conv2DLayer(std::size_t in_channels, std::size_t out_channels, std::size_t kernel,
                                std::size_t stride, std::size_t padding, WeightInit weight_init, BiasInit bias_init)
        : m_c(in_channels), m_o(out_channels), m_k(kernel), m_s(stride), m_p(padding), m_weight_init(weight_init),
          m_bias_init(bias_init)
    {
        detail::nn::check_conv2d(in_channels, out_channels, kernel, stride);
    }

    template <class T>
    std::string Conv2DLayer<T>::describe() const
    {
        return detail::concat("Conv2D(", m_c, " -> ", m_o, ", kernel ", m_k, ", stride ", m_s, ", padding ", m_p, ")");
    }

    template <class T>
    void Conv2DLayer<T>::declare(ParamLayout& layout, const std::string& prefix)
    {
        m_w = layout[layout.add(prefix + ".weight", {m_o, m_c, m_k, m_k})].offset;
        m_b = layout[layout.add(prefix + ".bias", {m_o})].offset;
    }

    template <class T>
    void Conv2DLayer<T>::initialize(T* params, std::uint64_t seed, std::size_t index) const
    {
        Rng rng = derive_rng(seed, RngStream::init, index);
        const std::size_t fan_in = m_c * m_k * m_k;
        init_weights(params + m_w, m_o * fan_in, fan_in, m_o * m_k * m_k, m_weight_init, rng);
        init_bias(params + m_b, m_o, fan_in, m_bias_init, rng);
    }

    template <class T>
    SampleShape Conv2DLayer<T>::output_shape(const SampleShape& in) const
    {
        std::size_t c = 0;
        std::size_t h = 0;
        std::size_t w = 0;
        if (in.rank == 3)
        {
            c = in[0];
            h = in[1];
            w = in[2];
        }
        else if (in.rank == 2)
        {
            c = 1;
            h = in[0];
            w = in[1];
        }
        else
        {
            throw std::invalid_argument(detail::concat(
                "expects samples of shape C x H x W (or H x W) but gets sample shape ", in.to_string(),
                " (a flat dataset needs its sample_shape set, e.g. 1x28x28)"));
        }
        if (c != m_c)
        {
            throw std::invalid_argument(detail::concat("expects ", m_c, " input channels but gets ", c,
                                                       " (sample shape ", in.to_string(), ")"));
        }
        if (h + 2 * m_p < m_k || w + 2 * m_p < m_k)
        {
            throw std::invalid_argument(detail::concat("the input ", h, "x", w, " with padding ", m_p,
                                                       " is smaller than the kernel ", m_k, "x", m_k));
        }
        return SampleShape::of({m_o, (h + 2 * m_p - m_k) / m_s + 1, (w + 2 * m_p - m_k) / m_s + 1});
    }

    template <class T>
    void Conv2DLayer<T>::reserve(const SampleShape& in, std::size_t forward_batch, std::size_t backward_batch,
                                 bool need_dx)
    {
        const SampleShape out = output_shape(in);
        m_h = in.rank == 3 ? in[1] : in[0];
        m_wd = in.rank == 3 ? in[2] : in[1];
        m_ho = out[1];
        m_wo = out[2];
        const std::size_t ckk = m_c * m_k * m_k;
        const std::size_t hw = m_ho * m_wo;
        detail::nn::require_blas_size(hw, "xtrain::Conv2D", "output height * width");
        detail::nn::grow(m_col, (backward_batch > 0 ? backward_batch : 1) * ckk * hw);
        detail::nn::grow(m_y, forward_batch * m_o * hw);
        if (need_dx)
        {
            detail::nn::grow(m_dcol, ckk * hw);
            detail::nn::grow(m_dx, backward_batch * m_c * m_h * m_wd);
        }
    }

    template <class T>
    void Conv2DLayer<T>::im2col(const T* x, T* col) const noexcept
    {
        const std::size_t hw = m_ho * m_wo;
        for (std::size_t c = 0; c < m_c; ++c)
        {
            for (std::size_t ki = 0; ki < m_k; ++ki)
            {
                for (std::size_t kj = 0; kj < m_k; ++kj)
                {
                    T* dst = col + ((c * m_k + ki) * m_k + kj) * hw;
                    for (std::size_t oh = 0; oh < m_ho; ++oh)
                    {
                        T* drow = dst + oh * m_wo;
                        // Row ih = oh*s + ki - p of the unpadded input; outside it, the padding is zero.
                        const std::size_t ih = oh * m_s + ki;
                        if (ih < m_p || ih - m_p >= m_h)
                        {
                            for (std::size_t ow = 0; ow < m_wo; ++ow)
                            {
                                drow[ow] = T(0);
                            }
                            continue;
                        }
                        const T* src = x + (c * m_h + (ih - m_p)) * m_wd;
                        for (std::size_t ow = 0; ow < m_wo; ++ow)
                        {
                            const std::size_t iw = ow * m_s + kj;
                            drow[ow] = (iw < m_p || iw - m_p >= m_wd) ? T(0) : src[iw - m_p];
                        }
                    }
                }
            }
        }
    }

    template <class T>
    void Conv2DLayer<T>::col2im(const T* col, T* dx) const noexcept
    {
        const std::size_t hw = m_ho * m_wo;
        for (std::size_t i = 0; i < m_c * m_h * m_wd; ++i)
        {
            dx[i] = T(0);
        }
        for (std::size_t c = 0; c < m_c; ++c)
        {
            for (std::size_t ki = 0; ki < m_k; ++ki)
            {
                for (std::size_t kj = 0; kj < m_k; ++kj)
                {
                    const T* src = col + ((c * m_k + ki) * m_k + kj) * hw;
                    for (std::size_t oh = 0; oh < m_ho; ++oh)
                    {
                        const std::size_t ih = oh * m_s + ki;
                        if (ih < m_p || ih - m_p >= m_h)
                        {
                            continue;
                        }
                        T* drow = dx + (c * m_h + (ih - m_p)) * m_wd;
                        const T* srow = src + oh * m_wo;
                        for (std::size_t ow = 0; ow < m_wo; ++ow)
                        {
                            const std::size_t iw = ow * m_s + kj;
                            if (iw >= m_p && iw - m_p < m_wd)
                            {
                                drow[iw - m_p] += srow[ow];
                            }
                        }
                    }
                }
            }
        }
    }

    template <class T>
    const T* Conv2DLayer<T>::forward(const T* x, std::size_t n, const T* params, ForwardMode mode)
    {
        const std::size_t ckk = m_c * m_k * m_k;
        const std::size_t hw = m_ho * m_wo;
        const std::size_t in_size = m_c * m_h * m_wd;
        const T* w = params + m_w;
        const T* b = params + m_b;
        for (std::size_t i = 0; i < n; ++i)
        {
            // The backward pass reads every sample's patches; an evaluation reuses one slot.
            T* col = m_col.data() + (mode.backward ? i * ckk * hw : 0);
            T* y = m_y.data() + i * m_o * hw;
            im2col(x + i * in_size, col);
            for (std::size_t o = 0; o < m_o; ++o)
            {
                for (std::size_t j = 0; j < hw; ++j)
                {
                    y[o * hw + j] = b[o];
                }
            }
            detail::nn::gemm(false, false, m_o, hw, ckk, T(1), w, ckk, col, hw, T(1), y, hw);
        }
        return m_y.data();
    }

    template <class T>
    const T* Conv2DLayer<T>::backward(const T*, const T*, const T* dy, std::size_t n, const T* params, T* grads,
                                      bool need_dx)
    {
        const std::size_t ckk = m_c * m_k * m_k;
        const std::size_t hw = m_ho * m_wo;
        const std::size_t in_size = m_c * m_h * m_wd;
        T* gw = grads + m_w;
        T* gb = grads + m_b;
        for (std::size_t o = 0; o < m_o; ++o)
        {
            gb[o] = T(0);
        }
        for (std::size_t i = 0; i < n; ++i)
        {
            const T* dyi = dy + i * m_o * hw;
            // dW = sum over samples of dY_i col_i^T: the first product overwrites, the others add.
            detail::nn::gemm(false, true, m_o, ckk, hw, T(1), dyi, hw, m_col.data() + i * ckk * hw, hw,
                         i == 0 ? T(0) : T(1), gw, ckk);
            for (std::size_t o = 0; o < m_o; ++o)
            {
                T s = T(0);
                for (std::size_t j = 0; j < hw; ++j)
                {
                    s += dyi[o * hw + j];
                }
                gb[o] += s;
            }
        }
        if (!need_dx)
        {
            return nullptr;
        }
        for (std::size_t i = 0; i < n; ++i)
        {
            detail::nn::gemm(true, false, ckk, hw, m_o, T(1), params + m_w, ckk, dy + i * m_o * hw, hw, T(0),
                         m_dcol.data(), hw);
            col2im(m_dcol.data(), m_dx.data() + i * in_size);
        }
        return m_dx.data();
    }
}

#endif
