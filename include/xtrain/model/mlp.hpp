/**
 * @file mlp.hpp
 * @brief MLP: a multilayer perceptron whose depth and widths are chosen at run time.
 *
 * `MLP<>(seed, {784, 256, 128, 10})` is Dense(784, 256), ReLU, Dense(256, 128), ReLU,
 * Dense(128, 10) and softmax cross-entropy: what a sweep builds from widths given on a command
 * line. It names its segments and draws its initial values exactly as the Sequential of the same
 * layers does ("0.weight", "0.bias", "2.weight", ...; layer i from derive_rng(seed, init, i)), so
 * the two give bit-identical parameters and losses.
 */
#ifndef XTRAIN_MODEL_MLP_HPP
#define XTRAIN_MODEL_MLP_HPP

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "xtrain/core/batch.hpp"
#include "xtrain/core/error.hpp"
#include "xtrain/core/param_buffer.hpp"
#include "xtrain/model/activation.hpp"
#include "xtrain/model/dense.hpp"
#include "xtrain/model/detail/model_support.hpp"
#include "xtrain/model/init.hpp"
#include "xtrain/model/layer.hpp"
#include "xtrain/model/shape.hpp"
#include "xtrain/model/softmax_cross_entropy.hpp"

namespace xtrain
{
    /**
     * @brief Dense layers of run-time widths with @p Activation between them and @p Loss after the
     * last; meets the Model requirement (predict() only with a classification loss).
     * @tparam T float or double
     * @tparam Activation ReLU, Tanh or Sigmoid
     * @tparam Loss SoftmaxCrossEntropy or MSE
     */
    template <class T = float, class Activation = ReLU, class Loss = SoftmaxCrossEntropy>
    class MLP
    {
        static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "xtrain::MLP<T>: T must be float or double");

    public:
        /** @brief Scalar type. */
        using value_type = T;
        /** @brief The loss object. */
        using loss_type = typename Loss::template loss_type<T>;

        /**
         * @brief Layers of @p widths (inputs, hidden..., outputs), initialised from @p seed.
         * @throws std::invalid_argument if fewer than two widths are given or one is 0.
         */
        MLP(std::uint64_t seed, const std::vector<std::size_t>& widths,
            WeightInit weight_init = WeightInit::pytorch_default, BiasInit bias_init = BiasInit::pytorch_default);

        /** @brief All parameters, one flat buffer with segments "0.weight", "0.bias", "2.weight", ... */
        ParamBuffer<T>& parameters() noexcept { return m_params; }
        /** @brief All parameters. */
        const ParamBuffer<T>& parameters() const noexcept { return m_params; }

        /** @brief Mean loss over @p batch; overwrites @p grad with its gradient (see Sequential::loss_and_gradient). */
        T loss_and_gradient(const Batch<T>& batch, xt::xtensor<T, 1>& grad);
        /**
         * @brief Overwrites @p grad with the gradient of the mean loss over the first @p n samples
         * of @p batch from the loss_and_gradient(batch, ...) call just made: a backward pass over
         * n samples, no forward pass (see Sequential::gradient_of_first).
         * @throws std::logic_error if the last pass was not loss_and_gradient on this batch (the
         *         same addresses and size; the rows and parameters must be unchanged too);
         *         std::invalid_argument if @p n is 0 or above batch.size.
         */
        void gradient_of_first(const Batch<T>& batch, std::size_t n, xt::xtensor<T, 1>& grad);
        /** @brief True if gradient_of_first(@p batch, ...) can run now (see Sequential::holds_backward_of). */
        bool holds_backward_of(const Batch<T>& batch) const noexcept { return m_kept.holds(batch); }
        /** @brief Every layer with parameters is Dense: loss_and_descent() exists. */
        static constexpr bool supports_descent = true;
        /**
         * @brief Mean loss over @p batch and one plain SGD step at rate @p lr on every parameter,
         * without a gradient buffer (see Sequential::loss_and_descent).
         */
        T loss_and_descent(const Batch<T>& batch, T lr);
        /** @brief Mean loss over @p batch without a gradient. */
        T loss(const Batch<T>& batch);
        /** @brief Writes the predicted class of each sample to @p out (classification loss only). */
        template <class L = loss_type, std::enable_if_t<L::classifies, int> = 0>
        void predict(const Batch<T>& batch, label_type* out);
        /** @brief loss(batch), and predict(batch, out), from one forward pass (classification loss only). */
        template <class L = loss_type, std::enable_if_t<L::classifies, int> = 0>
        T loss_and_predict(const Batch<T>& batch, label_type* out);

        /** @brief Redraws all parameters from @p seed. */
        void initialize(std::uint64_t seed);
        /** @brief Allocates every buffer for training batches of up to @p max_batch samples. */
        void reserve(std::size_t max_batch);

        /** @brief The widths given at construction. */
        const std::vector<std::size_t>& widths() const noexcept { return m_widths; }
        /** @brief Dense layer @p j (0-based among the Dense layers; its position in the model is 2 j). */
        const DenseLayer<T>& dense(std::size_t j) const { return m_dense.at(j); }

    private:
        std::size_t prepare(const Batch<T>& batch, bool backward, const char* where);
        void ensure_capacity(std::size_t forward_batch, std::size_t backward_batch);
        void forward(const T* x, std::size_t n, ForwardMode mode);
        void backward(std::size_t n, T* grad);

        std::vector<std::size_t> m_widths;
        std::vector<DenseLayer<T>> m_dense;
        std::vector<typename Activation::template layer_type<T>> m_act;
        loss_type m_loss;
        ParamBuffer<T> m_params;
        std::size_t m_param_count = 0;
        std::size_t m_forward_capacity = 0;
        std::size_t m_backward_capacity = 0;
        // Outputs of each layer in order (input, dense 0, activation 0, dense 1, ...). Rewritten by
        // every forward pass before use; gradient_of_first() reads them without one only while
        // m_kept says they are this model's (a copy, a move and its source start empty).
        std::vector<const T*> m_acts;
        detail::nn::KeptPass<T> m_kept; // whose loss_and_gradient m_acts and the loss's gradient are
    };

    /******************
     * MLP definitions *
     ******************/

    template <class T, class Activation, class Loss>
    MLP<T, Activation, Loss>::MLP(std::uint64_t seed, const std::vector<std::size_t>& widths, WeightInit weight_init,
                                  BiasInit bias_init)
        : m_widths(widths), m_loss(Loss{}.template make_loss<T>())
    {
        detail::require(widths.size() >= 2, "xtrain::MLP", "widths.size()", widths.size(),
                        "must be >= 2 (inputs and outputs)");
        for (std::size_t j = 0; j < widths.size(); ++j)
        {
            detail::require(widths[j] > 0, "xtrain::MLP", detail::concat("widths[", j, "]"), widths[j], "must be > 0");
        }
        const std::size_t layers = widths.size() - 1;
        ParamLayout layout;
        m_dense.reserve(layers);
        for (std::size_t j = 0; j < layers; ++j)
        {
            m_dense.emplace_back(widths[j], widths[j + 1], weight_init, bias_init);
            m_dense.back().declare(layout, std::to_string(2 * j));
        }
        m_act.resize(layers - 1);
        m_acts.resize(2 * layers);
        m_param_count = layout.size();
        m_params = ParamBuffer<T>(std::move(layout));
        initialize(seed);
    }

    template <class T, class Activation, class Loss>
    void MLP<T, Activation, Loss>::initialize(std::uint64_t seed)
    {
        m_kept.clear();
        for (std::size_t j = 0; j < m_dense.size(); ++j)
        {
            m_dense[j].initialize(m_params.data(), seed, 2 * j);
        }
    }

    template <class T, class Activation, class Loss>
    void MLP<T, Activation, Loss>::reserve(std::size_t max_batch)
    {
        detail::require(max_batch > 0, "xtrain::MLP::reserve", "max_batch", max_batch, "must be > 0");
        ensure_capacity(max_batch, max_batch);
    }

    template <class T, class Activation, class Loss>
    void MLP<T, Activation, Loss>::ensure_capacity(std::size_t forward_batch, std::size_t backward_batch)
    {
        const std::size_t fwd = forward_batch > m_forward_capacity ? forward_batch : m_forward_capacity;
        const std::size_t bwd = backward_batch > m_backward_capacity ? backward_batch : m_backward_capacity;
        if (fwd == m_forward_capacity && bwd == m_backward_capacity)
        {
            return;
        }
        m_kept.clear();
        for (std::size_t j = 0; j < m_dense.size(); ++j)
        {
            m_dense[j].reserve(SampleShape::flat(m_widths[j]), fwd, bwd, j > 0);
            if (j + 1 < m_dense.size())
            {
                m_act[j].reserve(SampleShape::flat(m_widths[j + 1]), fwd, bwd, true);
            }
        }
        m_loss.reserve(m_widths.back(), bwd);
        m_forward_capacity = fwd;
        m_backward_capacity = bwd;
    }

    template <class T, class Activation, class Loss>
    std::size_t MLP<T, Activation, Loss>::prepare(const Batch<T>& batch, bool backward, const char* where)
    {
        const SampleShape in = detail::nn::checked_input_shape(batch, where);
        try
        {
            (void)m_dense[0].output_shape(in);
        }
        catch (const std::invalid_argument& e)
        {
            detail::nn::rethrow_layer_error(where, 0, m_dense[0].describe(), e);
        }
        ensure_capacity(batch.size, backward ? batch.size : 0);
        detail::nn::check_parameter_size(m_params, m_param_count, where);
        return batch.size;
    }

    template <class T, class Activation, class Loss>
    void MLP<T, Activation, Loss>::forward(const T* x, std::size_t n, ForwardMode mode)
    {
        m_kept.clear();
        const T* p = m_params.data();
        const T* a = x;
        m_acts[0] = x;
        for (std::size_t j = 0; j < m_dense.size(); ++j)
        {
            a = m_dense[j].forward(a, n, p, mode);
            m_acts[2 * j + 1] = a;
            if (j + 1 < m_dense.size())
            {
                a = m_act[j].forward(a, n, p, mode);
                m_acts[2 * j + 2] = a;
            }
        }
    }

    template <class T, class Activation, class Loss>
    T MLP<T, Activation, Loss>::loss_and_gradient(const Batch<T>& batch, xt::xtensor<T, 1>& grad)
    {
        const std::size_t n = prepare(batch, true, "xtrain::MLP::loss_and_gradient");
        const std::size_t k = m_widths.back();
        m_loss.check_batch(batch, k);
        detail::nn::size_gradient(grad, m_param_count);
        forward(batch.features, n, ForwardMode::training_step(false));
        const T value = m_loss.loss_and_gradient(m_acts.back(), n, k, batch);
        backward(n, grad.data());
        m_kept.keep(batch);
        return value;
    }

    template <class T, class Activation, class Loss>
    void MLP<T, Activation, Loss>::backward(std::size_t n, T* g)
    {
        const T* p = m_params.data();
        const T* dy = m_loss.gradient();
        for (std::size_t j = m_dense.size(); j-- > 0;)
        {
            // Dense j reads acts[2j] and wrote acts[2j + 1]; the activation before it wrote acts[2j].
            dy = m_dense[j].backward(m_acts[2 * j], m_acts[2 * j + 1], dy, n, p, g, j > 0);
            if (j > 0)
            {
                dy = m_act[j - 1].backward(m_acts[2 * j - 1], m_acts[2 * j], dy, n, p, g, true);
            }
        }
    }

    template <class T, class Activation, class Loss>
    void MLP<T, Activation, Loss>::gradient_of_first(const Batch<T>& batch, std::size_t n, xt::xtensor<T, 1>& grad)
    {
        constexpr const char* where = "xtrain::MLP::gradient_of_first";
        m_kept.check(batch, n, where);
        detail::nn::check_parameter_size(m_params, m_param_count, where);
        detail::nn::size_gradient(grad, m_param_count);
        backward(n, grad.data());
        detail::nn::scale_gradient(grad.data(), m_param_count, static_cast<T>(batch.size) / static_cast<T>(n));
    }

    template <class T, class Activation, class Loss>
    T MLP<T, Activation, Loss>::loss_and_descent(const Batch<T>& batch, T lr)
    {
        const std::size_t n = prepare(batch, true, "xtrain::MLP::loss_and_descent");
        const std::size_t k = m_widths.back();
        m_loss.check_batch(batch, k);
        forward(batch.features, n, ForwardMode::training_step(false));
        const T value = m_loss.loss_and_gradient(m_acts.back(), n, k, batch);
        T* p = m_params.data();
        const T* dy = m_loss.gradient();
        for (std::size_t j = m_dense.size(); j-- > 0;)
        {
            // dx of dense j is computed with its weights before they are updated.
            dy = m_dense[j].backward_descent(m_acts[2 * j], dy, n, p, lr, lr, j > 0);
            if (j > 0)
            {
                dy = m_act[j - 1].backward(m_acts[2 * j - 1], m_acts[2 * j], dy, n, p, nullptr, true);
            }
        }
        return value;
    }

    template <class T, class Activation, class Loss>
    T MLP<T, Activation, Loss>::loss(const Batch<T>& batch)
    {
        const std::size_t n = prepare(batch, false, "xtrain::MLP::loss");
        const std::size_t k = m_widths.back();
        m_loss.check_batch(batch, k);
        forward(batch.features, n, ForwardMode::evaluation());
        return m_loss.loss(m_acts.back(), n, k, batch);
    }

    template <class T, class Activation, class Loss>
    template <class L, std::enable_if_t<L::classifies, int>>
    void MLP<T, Activation, Loss>::predict(const Batch<T>& batch, label_type* out)
    {
        if (out == nullptr)
        {
            throw std::invalid_argument("xtrain::MLP::predict: out is null");
        }
        const std::size_t n = prepare(batch, false, "xtrain::MLP::predict");
        forward(batch.features, n, ForwardMode::evaluation());
        detail::nn::argmax_rows(m_acts.back(), n, m_widths.back(), out);
    }

    template <class T, class Activation, class Loss>
    template <class L, std::enable_if_t<L::classifies, int>>
    T MLP<T, Activation, Loss>::loss_and_predict(const Batch<T>& batch, label_type* out)
    {
        if (out == nullptr)
        {
            throw std::invalid_argument("xtrain::MLP::loss_and_predict: out is null");
        }
        const std::size_t n = prepare(batch, false, "xtrain::MLP::loss_and_predict");
        const std::size_t k = m_widths.back();
        m_loss.check_batch(batch, k);
        forward(batch.features, n, ForwardMode::evaluation());
        detail::nn::argmax_rows(m_acts.back(), n, k, out);
        return m_loss.loss(m_acts.back(), n, k, batch);
    }
}

#endif
