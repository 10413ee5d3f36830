/**
 * @file dense.hpp
 * @brief Dense (fully connected) layer: y = x W^T + b, with W stored out x in as PyTorch does.
 */
#ifndef XTRAIN_MODEL_DENSE_HPP
#define XTRAIN_MODEL_DENSE_HPP

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
    /**
     * @brief The working part of a Dense layer for scalar type T (what Sequential and MLP hold).
     *
     * Any input shape whose size is `in_features()` is accepted (an image of 1 x 28 x 28 feeds a
     * Dense<784, ...> directly). Segments: "<prefix>.weight" (out x in) and "<prefix>.bias" (out).
     */
    template <class T>
    class DenseLayer
    {
    public:
        /** @brief Scalar type. */
        using value_type = T;
        /** @brief Dense layers own trainable parameters. */
        static constexpr bool has_parameters = true;

        /** @brief A layer of @p in inputs and @p out outputs. @throws std::invalid_argument if either is 0. */
        DenseLayer(std::size_t in, std::size_t out, WeightInit weight_init = WeightInit::pytorch_default,
                   BiasInit bias_init = BiasInit::pytorch_default);

        /** @brief Inputs per sample. */
        std::size_t in_features() const noexcept { return m_in; }
        /** @brief Outputs per sample. */
        std::size_t out_features() const noexcept { return m_out; }
        /** @brief E.g. "Dense(784 -> 256)", for messages. */
        std::string describe() const;

        /** @brief Adds "<prefix>.weight" and "<prefix>.bias" to @p layout and remembers their offsets. */
        void declare(ParamLayout& layout, const std::string& prefix);
        /** @brief Draws the initial weights and biases into @p params from derive_rng(seed, init, index). */
        void initialize(T* params, std::uint64_t seed, std::size_t index) const;
        /** @brief The output shape for input @p in. @throws std::invalid_argument if its size is not in_features(). */
        SampleShape output_shape(const SampleShape& in) const;
        /** @brief Allocates outputs for @p forward_batch samples and, if @p need_dx, input gradients for @p backward_batch. */
        void reserve(const SampleShape& in, std::size_t forward_batch, std::size_t backward_batch, bool need_dx);
        /** @brief Computes the outputs of @p n samples; returns a pointer to them (n x out). */
        const T* forward(const T* x, std::size_t n, const T* params, ForwardMode mode);
        /**
         * @brief Writes the weight and bias gradients into @p grads (overwriting) and, if @p need_dx,
         * returns dL/dx (n x in); otherwise returns nullptr without computing it.
         */
        const T* backward(const T* x, const T* y, const T* dy, std::size_t n, const T* params, T* grads,
                          bool need_dx);
        /**
         * @brief The backward pass fused with plain SGD: params -= lr * (weight and bias gradients),
         * with no gradient buffer. Returns dL/dx (computed with the weights before the update) if
         * @p need_dx, else nullptr. The weight gradient's product accumulates straight into the
         * weights (alpha = -lr, beta = 1).
         */
        const T* backward_descent(const T* x, const T* dy, std::size_t n, T* params, T lr, T bias_lr, bool need_dx);
        /** @brief No state beyond the parameters. */
        void save(BinaryWriter&) const noexcept {}
        /** @brief No state beyond the parameters. */
        void load(BinaryReader&) noexcept {}

    private:
        std::size_t m_in;
        std::size_t m_out;
        WeightInit m_weight_init;
        BiasInit m_bias_init;
        std::size_t m_w = 0; // offsets into the flat buffer: valid in every copy of the model
        std::size_t m_b = 0;
        xt::xtensor<T, 1> m_y;
        xt::xtensor<T, 1> m_dx;
        xt::xtensor<T, 1> m_dy_t; // alpha dy^T for the small-batch weight-gradient kernel
    };

    /**
     * @brief A Dense layer for Sequential: `Dense<784, 256>` (sizes at compile time) or
     * `Dense<>(784, 256)` (sizes at run time).
     *
     * Weights are out x in (as torch.nn.Linear), initialised by `WeightInit::pytorch_default` and
     * biases by `BiasInit::pytorch_default` unless other choices are given.
     */
    template <std::size_t In = dynamic, std::size_t Out = dynamic>
    class Dense
    {
        static_assert((In == dynamic) == (Out == dynamic),
                      "xtrain::Dense<In, Out>: give both sizes at compile time, or neither (Dense<>(in, out))");
        static_assert(In != 0 && Out != 0, "xtrain::Dense<In, Out>: sizes must be > 0");

    public:
        /** @brief The layer object Sequential<T, ...> holds. */
        template <class T>
        using layer_type = DenseLayer<T>;

        /** @brief Compile-time sizes, PyTorch's initialisation. */
        template <std::size_t I = In, std::enable_if_t<I != dynamic, int> = 0>
        Dense() noexcept : m_in(In), m_out(Out)
        {
        }
        /** @brief Compile-time sizes, the given initialisation. */
        template <std::size_t I = In, std::enable_if_t<I != dynamic, int> = 0>
        explicit Dense(WeightInit weight_init, BiasInit bias_init = BiasInit::pytorch_default) noexcept
            : m_in(In), m_out(Out), m_weight_init(weight_init), m_bias_init(bias_init)
        {
        }
        /** @brief Run-time sizes. @throws std::invalid_argument if either is 0. */
        template <std::size_t I = In, std::enable_if_t<I == dynamic, int> = 0>
        Dense(std::size_t in, std::size_t out, WeightInit weight_init = WeightInit::pytorch_default,
              BiasInit bias_init = BiasInit::pytorch_default)
            : m_in(in), m_out(out), m_weight_init(weight_init), m_bias_init(bias_init)
        {
            detail::require(in > 0, "xtrain::Dense", "in", in, "must be > 0");
            detail::require(out > 0, "xtrain::Dense", "out", out, "must be > 0");
        }

        /** @brief Builds the working layer for scalar type T. */
        template <class T>
        DenseLayer<T> make_layer() const
        {
            return DenseLayer<T>(m_in, m_out, m_weight_init, m_bias_init);
        }

    private:
        std::size_t m_in;
        std::size_t m_out;
        WeightInit m_weight_init = WeightInit::pytorch_default;
        BiasInit m_bias_init = BiasInit::pytorch_default;
    };

    /*************************
     * DenseLayer definitions *
     *************************/

    template <class T>
    DenseLayer<T>::DenseLayer(std::size_t in, std::size_t out, WeightInit weight_init, BiasInit bias_init)
        : m_in(in), m_out(out), m_weight_init(weight_init), m_bias_init(bias_init)
    {
        detail::require(in > 0, "xtrain::DenseLayer", "in", in, "must be > 0");
        detail::require(out > 0, "xtrain::DenseLayer", "out", out, "must be > 0");
        detail::nn::require_blas_size(in, "xtrain::DenseLayer", "in");
        detail::nn::require_blas_size(out, "xtrain::DenseLayer", "out");
    }

    template <class T>
    std::string DenseLayer<T>::describe() const
    {
        return detail::concat("Dense(", m_in, " -> ", m_out, ")");
    }

    template <class T>
    void DenseLayer<T>::declare(ParamLayout& layout, const std::string& prefix)
    {
        m_w = layout[layout.add(prefix + ".weight", {m_out, m_in})].offset;
        m_b = layout[layout.add(prefix + ".bias", {m_out})].offset;
    }

    template <class T>
    void DenseLayer<T>::initialize(T* params, std::uint64_t seed, std::size_t index) const
    {
        Rng rng = derive_rng(seed, RngStream::init, index);
        init_weights(params + m_w, m_out * m_in, m_in, m_out, m_weight_init, rng);
        init_bias(params + m_b, m_out, m_in, m_bias_init, rng);
    }

    template <class T>
    SampleShape DenseLayer<T>::output_shape(const SampleShape& in) const
    {
        if (in.size() != m_in)
        {
            throw std::invalid_argument(detail::concat("expects ", m_in, " input features per sample but gets ",
                                                       in.size(), " (sample shape ", in.to_string(), ")"));
        }
        return SampleShape::flat(m_out);
    }

    template <class T>
    void DenseLayer<T>::reserve(const SampleShape&, std::size_t forward_batch, std::size_t backward_batch,
                                bool need_dx)
    {
        detail::nn::require_blas_size(forward_batch, "xtrain::DenseLayer", "batch size");
        detail::nn::grow(m_y, forward_batch * m_out);
        if (need_dx)
        {
            detail::nn::grow(m_dx, backward_batch * m_in);
        }
        if (detail::nn::uses_libxsmm<T>(1)) // libxsmm built in for T: scratch for the batches it takes
        {
            const std::size_t rows =
                backward_batch < detail::nn::libxsmm_max_batch ? backward_batch : detail::nn::libxsmm_max_batch;
            detail::nn::grow(m_dy_t, rows * m_out);
        }
    }

    template <class T>
    const T* DenseLayer<T>::forward(const T* x, std::size_t n, const T* params, ForwardMode)
    {
        const T* w = params + m_w;
        const T* b = params + m_b;
        T* y = m_y.data();
        // Start from the bias and let GEMM add x W^T (beta = 1): no separate pass for the bias.
        for (std::size_t r = 0; r < n; ++r)
        {
            T* yr = y + r * m_out;
            for (std::size_t j = 0; j < m_out; ++j)
            {
                yr[j] = b[j];
            }
        }
        detail::nn::gemm(false, true, n, m_out, m_in, T(1), x, m_in, w, m_in, T(1), y, m_out);
        return y;
    }

    template <class T>
    const T* DenseLayer<T>::backward(const T* x, const T*, const T* dy, std::size_t n, const T* params, T* grads,
                                     bool need_dx)
    {
        // dW = dy^T x (out x in), db = column sums of dy, dx = dy W (n x in).
        detail::nn::weight_gradient(m_out, m_in, n, T(1), dy, x, T(0), grads + m_w, m_dy_t.data());
        T* db = grads + m_b;
        for (std::size_t j = 0; j < m_out; ++j)
        {
            db[j] = T(0);
        }
        for (std::size_t r = 0; r < n; ++r)
        {
            const T* dyr = dy + r * m_out;
            for (std::size_t j = 0; j < m_out; ++j)
            {
                db[j] += dyr[j];
            }
        }
        if (!need_dx)
        {
            return nullptr;
        }
        T* dx = m_dx.data();
        detail::nn::gemm(false, false, n, m_in, m_out, T(1), dy, m_out, params + m_w, m_in, T(0), dx, m_in);
        return dx;
    }

    template <class T>
    const T* DenseLayer<T>::backward_descent(const T* x, const T* dy, std::size_t n, T* params, T lr, T bias_lr,
                                             bool need_dx)
    {
        // dx first: it needs the weights of this step, which the update below overwrites.
        T* dx = nullptr;
        if (need_dx)
        {
            dx = m_dx.data();
            detail::nn::gemm(false, false, n, m_in, m_out, T(1), dy, m_out, params + m_w, m_in, T(0), dx, m_in);
        }
        detail::nn::weight_gradient(m_out, m_in, n, -lr, dy, x, T(1), params + m_w, m_dy_t.data());
        // The bias as the two-pass path computes it: the column sum, then one multiply-add.
        T* b = params + m_b;
        const T neg_lr = -bias_lr;
        for (std::size_t j = 0; j < m_out; ++j)
        {
            T s = T(0);
            for (std::size_t r = 0; r < n; ++r)
            {
                s += dy[r * m_out + j];
            }
            b[j] = s * neg_lr + b[j];
        }
        return dx;
    }
}

#endif
