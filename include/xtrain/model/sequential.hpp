/**
 * @file sequential.hpp
 * @brief Sequential: built-in layers composed at compile time, ending in a loss.
 *
 * @code
 * xtrain::Sequential<Dense<784, 256>, ReLU, Dense<256, 10>, SoftmaxCrossEntropy> mlp(seed);
 * xtrain::Sequential<double, Dense<>, Tanh, Dense<>, MSE> net(seed, Dense<>(3, 16), Tanh(), Dense<>(16, 2), MSE());
 * @endcode
 * The optional first argument is the scalar type (float by default). The last type is the loss:
 * it turns the last layer's outputs and the batch's labels or targets into the mean loss and
 * starts the backward pass. Parameter segments are named by position as torch.nn.Sequential
 * names them ("0.weight", "0.bias", "2.weight", ...), and layer i draws its initial values from
 * derive_rng(seed, RngStream::init, i).
 *
 * Buffers for activations and gradients are allocated on the first call for a batch size (or by
 * reserve()) and reused: a later call with the same or a smaller batch allocates nothing. The
 * layers hold offsets into the parameter buffer, never pointers, so copies and moves are safe.
 * The model's one set of pointers, to the last forward pass's outputs (kept for
 * gradient_of_first()), is marked empty in a copy, a move and its source.
 */
#ifndef XTRAIN_MODEL_SEQUENTIAL_HPP
#define XTRAIN_MODEL_SEQUENTIAL_HPP

#include <array>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include <xtensor/xtensor.hpp>

#include "xtrain/core/batch.hpp"
#include "xtrain/core/error.hpp"
#include "xtrain/core/param_buffer.hpp"
#include "xtrain/core/serialize.hpp"
#include "xtrain/model/detail/model_support.hpp"
#include "xtrain/model/layer.hpp"
#include "xtrain/model/model_traits.hpp"
#include "xtrain/model/shape.hpp"

namespace xtrain
{
    namespace detail
    {
        template <class S>
        using layer_probe_t = typename S::template layer_type<float>;
        template <class S>
        using loss_probe_t = typename S::template loss_type<float>;

        /** @brief True for a layer description (Dense<...>, ReLU, ...): it names a `layer_type<T>`. */
        template <class S>
        inline constexpr bool is_layer_spec_v = model_detect::is_detected_v<layer_probe_t, S>;
        /** @brief True for a loss description (SoftmaxCrossEntropy, MSE): it names a `loss_type<T>`. */
        template <class S>
        inline constexpr bool is_loss_spec_v = model_detect::is_detected_v<loss_probe_t, S>;

        /** @brief Splits Sequential's arguments into the scalar type and the layer/loss descriptions. */
        template <class... Ls>
        struct sequential_args
        {
            using value_type = float;
            using specs = std::tuple<Ls...>;
        };
        template <class... Ls>
        struct sequential_args<float, Ls...>
        {
            using value_type = float;
            using specs = std::tuple<Ls...>;
        };
        template <class... Ls>
        struct sequential_args<double, Ls...>
        {
            using value_type = double;
            using specs = std::tuple<Ls...>;
        };

        template <class T, class Specs, class Indices>
        struct sequential_layers;
        template <class T, class Specs, std::size_t... I>
        struct sequential_layers<T, Specs, std::index_sequence<I...>>
        {
            using type = std::tuple<typename std::tuple_element_t<I, Specs>::template layer_type<T>...>;
        };

        template <class L>
        using backward_descent_t = decltype(std::declval<L&>().backward_descent(
            std::declval<const typename L::value_type*>(), std::declval<const typename L::value_type*>(),
            std::size_t{}, std::declval<typename L::value_type*>(), typename L::value_type{},
            typename L::value_type{}, bool{}));

        /** @brief True for a layer without parameters or one that fuses plain SGD into its backward pass. */
        template <class L>
        inline constexpr bool layer_descends_v =
            !L::has_parameters || model_detect::is_detected_v<backward_descent_t, L>;

        template <class Tuple>
        struct all_layers_descend;
        template <class... L>
        struct all_layers_descend<std::tuple<L...>> : std::bool_constant<(true && ... && layer_descends_v<L>)>
        {
        };

        template <class Specs, std::size_t... I>
        constexpr bool all_layer_specs(std::index_sequence<I...>)
        {
            return (true && ... && is_layer_spec_v<std::tuple_element_t<I, Specs>>);
        }

        template <class Tuple>
        Tuple default_specs()
        {
            static_assert(std::is_default_constructible_v<Tuple>,
                          "xtrain::Sequential(seed): a layer has run-time sizes (e.g. Dense<>); pass every layer and "
                          "the loss to the constructor: Sequential<...>(seed, Dense<>(784, 256), ReLU(), "
                          "Dense<>(256, 10), SoftmaxCrossEntropy())");
            if constexpr (std::is_default_constructible_v<Tuple>)
            {
                return Tuple{};
            }
            else
            {
                throw std::logic_error("unreachable");
            }
        }
    }

    /**
     * @brief A model made of layers applied in order, then a loss; meets the Model requirement.
     *
     * `Sequential<Layers..., Loss>` uses float; `Sequential<double, Layers..., Loss>` double.
     * Layers: Dense, Conv2D, MaxPool2D, Flatten, ReLU, Tanh, Sigmoid, Dropout. Losses:
     * SoftmaxCrossEntropy (class labels; enables predict()) and MSE (regression targets).
     */
    template <class... Ls>
    class Sequential
    {
        using args = detail::sequential_args<Ls...>;
        using specs_tuple = typename args::specs;
        static constexpr std::size_t num_specs = std::tuple_size_v<specs_tuple>;
        static_assert(num_specs >= 1, "xtrain::Sequential: give the layers and, last, a loss, e.g. "
                                      "Sequential<Dense<784, 10>, SoftmaxCrossEntropy>");

    public:
        /** @brief Scalar type (float unless the first argument is double). */
        using value_type = typename args::value_type;
        /** @brief Number of layers (the loss not counted). */
        static constexpr std::size_t num_layers = num_specs - 1;

    private:
        using T = value_type;
        using loss_spec = std::tuple_element_t<num_layers, specs_tuple>;
        static_assert(detail::is_loss_spec_v<loss_spec>,
                      "xtrain::Sequential: the last type must be a loss (SoftmaxCrossEntropy or MSE), e.g. "
                      "Sequential<Dense<784, 10>, SoftmaxCrossEntropy>");
        static_assert(detail::all_layer_specs<specs_tuple>(std::make_index_sequence<num_layers>{}),
                      "xtrain::Sequential: every type but the last must be a layer (Dense, Conv2D, MaxPool2D, "
                      "Flatten, ReLU, Tanh, Sigmoid, Dropout); a float/double scalar type may only come first");
        using layers_tuple =
            typename detail::sequential_layers<T, specs_tuple, std::make_index_sequence<num_layers>>::type;

    public:
        /** @brief The loss object (SoftmaxCrossEntropyLoss<T> or MSELoss<T>). */
        using loss_type = typename loss_spec::template loss_type<T>;
        /** @brief The type of layer @p I. */
        template <std::size_t I>
        using layer_type = std::tuple_element_t<I, layers_tuple>;

        /** @brief Builds a model whose layers all have compile-time sizes, initialised from @p seed. */
        explicit Sequential(std::uint64_t seed = 0) : Sequential(build_tag{}, detail::default_specs<specs_tuple>(), seed)
        {
        }

        /**
         * @brief Builds a model from layer descriptions (one per layer, then the loss, in order),
         * initialised from @p seed: `Sequential<Dense<>, ReLU, Dense<>, SoftmaxCrossEntropy>(seed,
         * Dense<>(784, 256), ReLU(), Dense<>(256, 10), SoftmaxCrossEntropy())`.
         */
        template <class... Args, std::enable_if_t<sizeof...(Args) == num_specs, int> = 0>
        Sequential(std::uint64_t seed, Args&&... specs)
            : Sequential(build_tag{}, specs_tuple(std::forward<Args>(specs)...), seed)
        {
        }

        /** @brief All parameters, one flat buffer with segments "0.weight", "0.bias", ... */
        ParamBuffer<T>& parameters() noexcept { return m_params; }
        /** @brief All parameters. */
        const ParamBuffer<T>& parameters() const noexcept { return m_params; }

        /**
         * @brief Mean loss over @p batch; overwrites @p grad with d(mean loss)/d(parameters).
         *
         * @p grad is resized to parameters().size() if it has another size (an allocation: pass a
         * buffer of the right size, e.g. parameters().zeros_like()). Dropout is active if training().
         * @throws std::invalid_argument for a batch that does not fit the model (the message names
         * the layer, or the bad label / target count).
         */
        T loss_and_gradient(const Batch<T>& batch, xt::xtensor<T, 1>& grad);

        /**
         * @brief Overwrites @p grad with the gradient of the mean loss over the first @p n samples
         * of @p batch, by repeating the backward pass of the loss_and_gradient(batch, ...) call just
         * made over those samples: no forward pass, no new dropout mask (the samples keep theirs).
         *
         * Equal, to float rounding, to loss_and_gradient() on a batch of those n samples when the
         * model has no dropout. What NoiseScaleMonitor uses for its half-batch gradient. Only valid
         * while the parameters are those of that call: between loss_and_gradient and the
         * optimizer's step.
         * The model recognises the batch by its addresses and size: the rows behind them, and the
         * parameters, must be those of that call.
         * @throws std::logic_error if the last pass was not loss_and_gradient on this batch (the
         * same addresses and size), or a forward pass ran since; std::invalid_argument if @p n is
         * 0 or above batch.size.
         */
        void gradient_of_first(const Batch<T>& batch, std::size_t n, xt::xtensor<T, 1>& grad);
        /**
         * @brief True if the last pass was loss_and_gradient on a batch at @p batch's addresses and
         * of its size, and no forward pass ran since (whether the rows or the parameters changed
         * since, the model cannot tell).
         */
        bool holds_backward_of(const Batch<T>& batch) const noexcept { return m_kept.holds(batch); }

        /** @brief True when every layer with parameters can fuse its update into its backward pass (Dense). */
        static constexpr bool supports_descent = detail::all_layers_descend<layers_tuple>::value;

        /**
         * @brief Mean loss over @p batch, and one step of plain SGD (no momentum, no weight decay)
         * at rate @p lr on every parameter, without a gradient buffer.
         *
         * The same step as loss_and_gradient() followed by Optimizer<SGD>::step (to float
         * rounding: the weight gradient's product adds -lr times its result straight into the
         * weights), with one pass over the parameters fewer. Only for models whose parameterised
         * layers are all Dense (supports_descent).
         */
        template <bool D = supports_descent, std::enable_if_t<D, int> = 0>
        T loss_and_descent(const Batch<T>& batch, T lr);

        /** @brief Mean loss over @p batch without a gradient; dropout is always off here. */
        T loss(const Batch<T>& batch);

        /**
         * @brief Writes the predicted class (argmax of the outputs) of each sample to @p out
         * (batch.size values). Only with a classification loss. Dropout is always off here.
         */
        template <class L = loss_type, std::enable_if_t<L::classifies, int> = 0>
        void predict(const Batch<T>& batch, label_type* out);

        /**
         * @brief loss(batch), and predict(batch, out), from one forward pass (what evaluation needs).
         * Only with a classification loss.
         */
        template <class L = loss_type, std::enable_if_t<L::classifies, int> = 0>
        T loss_and_predict(const Batch<T>& batch, label_type* out);

        /** @brief Switches dropout on (true, the default) or off in loss_and_gradient(). */
        void set_training(bool on) noexcept { m_training = on; }
        /** @brief Whether loss_and_gradient() applies dropout. */
        bool training() const noexcept { return m_training; }

        /** @brief Redraws all parameters and restarts the dropout engines from @p seed. */
        void initialize(std::uint64_t seed);

        /**
         * @brief Allocates every buffer for training batches of up to @p max_batch samples of shape
         * @p input, so that even the first step allocates nothing.
         * @throws std::invalid_argument if @p input does not fit.
         */
        void reserve(std::size_t max_batch, const SampleShape& input);

        /** @brief Writes the state beyond the parameters (dropout engines) for a checkpoint. */
        void save(BinaryWriter& out) const;
        /** @brief Reads what save() wrote. @throws checkpoint_error if it was written by another structure. */
        void load(BinaryReader& in);

        /** @brief Layer @p I (e.g. to read its sizes). */
        template <std::size_t I>
        layer_type<I>& layer() noexcept
        {
            return std::get<I>(m_layers);
        }
        /** @brief Layer @p I. */
        template <std::size_t I>
        const layer_type<I>& layer() const noexcept
        {
            return std::get<I>(m_layers);
        }

        /** @brief One line per layer with its parameter segments, e.g. "0 Dense(784 -> 256): 0.weight 256x784, 0.bias 256". */
        std::string summary() const;

    private:
        struct build_tag
        {
        };
        using activations = std::array<const T*, num_layers + 1>;

        Sequential(build_tag, const specs_tuple& specs, std::uint64_t seed);

        template <std::size_t... I>
        static layers_tuple make_layers(const specs_tuple& specs, std::index_sequence<I...>)
        {
            return layers_tuple(std::get<I>(specs).template make_layer<T>()...);
        }

        template <class F, std::size_t... I>
        void for_each_layer(F&& f, std::index_sequence<I...>)
        {
            (f(std::integral_constant<std::size_t, I>{}, std::get<I>(m_layers)), ...);
        }
        template <class F>
        void for_each_layer(F&& f)
        {
            for_each_layer(std::forward<F>(f), std::make_index_sequence<num_layers>{});
        }
        template <class F, std::size_t... I>
        void for_each_layer(F&& f, std::index_sequence<I...>) const
        {
            (f(std::integral_constant<std::size_t, I>{}, std::get<I>(m_layers)), ...);
        }
        template <class F>
        void for_each_layer(F&& f) const
        {
            for_each_layer(std::forward<F>(f), std::make_index_sequence<num_layers>{});
        }

        // Layer i needs dL/d(its input) only if a layer before it has parameters; the first
        // parameterised layer never computes it (nothing would use it).
        static constexpr bool needs_input_gradient(std::size_t i) noexcept
        {
            return needs_input_gradient_impl(i, std::make_index_sequence<num_layers>{});
        }
        template <std::size_t... I>
        static constexpr bool needs_input_gradient_impl(std::size_t i, std::index_sequence<I...>) noexcept
        {
            return ((I < i && layer_type<I>::has_parameters) || ... || false);
        }

        std::size_t prepare(const Batch<T>& batch, bool backward, const char* where);
        void plan(const SampleShape& input, std::size_t forward_batch, std::size_t backward_batch, const char* where);
        void forward(const T* x, std::size_t n, ForwardMode mode, activations& acts);
        template <std::size_t... I>
        void backward(const activations& acts, std::size_t n, T* grad, std::index_sequence<I...>);
        /** @brief Backward pass of layer I, skipped when it has no parameters and nothing before it needs dx. */
        template <std::size_t I>
        const T* backward_layer(const activations& acts, const T* dy, std::size_t n, T* grad);
        template <std::size_t... I>
        void backward_descent(const activations& acts, std::size_t n, T lr, std::index_sequence<I...>);
        template <std::size_t I>
        const T* backward_descent_layer(const activations& acts, const T* dy, std::size_t n, T lr);

        layers_tuple m_layers;
        loss_type m_loss;
        ParamBuffer<T> m_params;
        std::size_t m_param_count = 0;
        std::array<SampleShape, num_layers + 1> m_shapes{};
        std::size_t m_forward_capacity = 0;  // largest batch the forward buffers hold
        std::size_t m_backward_capacity = 0; // largest batch the backward-only buffers hold
        bool m_planned = false;
        bool m_training = true;
        activations m_acts{};                 // outputs of the last forward pass (input first)
        detail::nn::KeptPass<T> m_kept;      // whose loss_and_gradient m_acts and the loss's gradient are
    };

    /*************************
     * Sequential definitions *
     *************************/

    template <class... Ls>
    Sequential<Ls...>::Sequential(build_tag, const specs_tuple& specs, std::uint64_t seed)
        : m_layers(make_layers(specs, std::make_index_sequence<num_layers>{}))
        , m_loss(std::get<num_layers>(specs).template make_loss<T>())
    {
        ParamLayout layout;
        for_each_layer([&layout](auto i, auto& layer) { layer.declare(layout, std::to_string(i())); });
        m_param_count = layout.size();
        m_params = ParamBuffer<T>(std::move(layout));
        initialize(seed);
    }

    template <class... Ls>
    void Sequential<Ls...>::initialize(std::uint64_t seed)
    {
        m_kept.clear();
        T* p = m_params.data();
        for_each_layer([p, seed](auto i, auto& layer) { layer.initialize(p, seed, i()); });
    }

    template <class... Ls>
    void Sequential<Ls...>::plan(const SampleShape& input, std::size_t forward_batch, std::size_t backward_batch,
                                 const char* where)
    {
        m_planned = false;
        m_kept.clear();
        std::array<SampleShape, num_layers + 1> shapes{};
        shapes[0] = input;
        for_each_layer(
            [&shapes, where](auto i, auto& layer)
            {
                try
                {
                    shapes[i() + 1] = layer.output_shape(shapes[i()]);
                }
                catch (const std::invalid_argument& e)
                {
                    detail::nn::rethrow_layer_error(where, i(), layer.describe(), e);
                }
            });
        for_each_layer([&shapes, forward_batch, backward_batch](auto i, auto& layer)
                       { layer.reserve(shapes[i()], forward_batch, backward_batch, needs_input_gradient(i())); });
        m_loss.reserve(shapes[num_layers].size(), backward_batch);
        m_shapes = shapes;
        m_forward_capacity = forward_batch;
        m_backward_capacity = backward_batch;
        m_planned = true;
    }

    template <class... Ls>
    std::size_t Sequential<Ls...>::prepare(const Batch<T>& batch, bool backward, const char* where)
    {
        const SampleShape in = detail::nn::checked_input_shape(batch, where);
        const std::size_t n = batch.size;
        const std::size_t fwd = n > m_forward_capacity ? n : m_forward_capacity;
        const std::size_t bwd = backward && n > m_backward_capacity ? n : m_backward_capacity;
        if (!m_planned || in != m_shapes[0] || fwd != m_forward_capacity || bwd != m_backward_capacity)
        {
            plan(in, fwd, bwd, where);
        }
        detail::nn::check_parameter_size(m_params, m_param_count, where);
        return batch.size;
    }

    template <class... Ls>
    void Sequential<Ls...>::forward(const T* x, std::size_t n, ForwardMode mode, activations& acts)
    {
        m_kept.clear();
        acts[0] = x;
        const T* p = m_params.data();
        for_each_layer([&acts, n, p, mode](auto i, auto& layer) { acts[i() + 1] = layer.forward(acts[i()], n, p, mode); });
    }

    /** @brief Backward pass of layer I; returns dL/d(its input), or dy unchanged when it has nothing to do. */
    template <class... Ls>
    template <std::size_t I>
    const typename Sequential<Ls...>::value_type* Sequential<Ls...>::backward_layer(const activations& acts,
                                                                                    const T* dy, std::size_t n,
                                                                                    T* grad)
    {
        constexpr bool need_dx = needs_input_gradient(I);
        if constexpr (layer_type<I>::has_parameters || need_dx)
        {
            return std::get<I>(m_layers).backward(acts[I], acts[I + 1], dy, n, m_params.data(), grad, need_dx);
        }
        else
        {
            return dy; // nothing before this layer needs a gradient
        }
    }

    template <class... Ls>
    template <std::size_t... I>
    void Sequential<Ls...>::backward(const activations& acts, std::size_t n, T* grad, std::index_sequence<I...>)
    {
        const T* dy = m_loss.gradient();
        // Last layer first: index num_layers - 1 - I for I = 0, 1, ...
        ((dy = backward_layer<num_layers - 1 - I>(acts, dy, n, grad)), ...);
        (void)dy;
    }

    template <class... Ls>
    auto Sequential<Ls...>::loss_and_gradient(const Batch<T>& batch, xt::xtensor<T, 1>& grad) -> T
    {
        const std::size_t n = prepare(batch, true, "xtrain::Sequential::loss_and_gradient");
        const std::size_t k = m_shapes[num_layers].size();
        m_loss.check_batch(batch, k);
        detail::nn::size_gradient(grad, m_param_count);
        forward(batch.features, n, ForwardMode::training_step(m_training), m_acts);
        const T value = m_loss.loss_and_gradient(m_acts[num_layers], n, k, batch);
        backward(m_acts, n, grad.data(), std::make_index_sequence<num_layers>{});
        m_kept.keep(batch);
        return value;
    }

    template <class... Ls>
    void Sequential<Ls...>::gradient_of_first(const Batch<T>& batch, std::size_t n, xt::xtensor<T, 1>& grad)
    {
        constexpr const char* where = "xtrain::Sequential::gradient_of_first";
        m_kept.check(batch, n, where);
        detail::nn::check_parameter_size(m_params, m_param_count, where);
        detail::nn::size_gradient(grad, m_param_count);
        // The loss's gradient holds d(mean over batch.size)/d(outputs); the backward pass over the
        // first n rows sums their share, which batch.size / n turns into the mean over n.
        backward(m_acts, n, grad.data(), std::make_index_sequence<num_layers>{});
        detail::nn::scale_gradient(grad.data(), m_param_count, static_cast<T>(batch.size) / static_cast<T>(n));
    }

    template <class... Ls>
    template <std::size_t I>
    const typename Sequential<Ls...>::value_type*
    Sequential<Ls...>::backward_descent_layer(const activations& acts, const T* dy, std::size_t n, T lr)
    {
        constexpr bool need_dx = needs_input_gradient(I);
        if constexpr (layer_type<I>::has_parameters)
        {
            return std::get<I>(m_layers).backward_descent(acts[I], dy, n, m_params.data(), lr, lr, need_dx);
        }
        else if constexpr (need_dx)
        {
            return std::get<I>(m_layers).backward(acts[I], acts[I + 1], dy, n, m_params.data(), nullptr, true);
        }
        else
        {
            return dy;
        }
    }

    template <class... Ls>
    template <std::size_t... I>
    void Sequential<Ls...>::backward_descent(const activations& acts, std::size_t n, T lr, std::index_sequence<I...>)
    {
        const T* dy = m_loss.gradient();
        ((dy = backward_descent_layer<num_layers - 1 - I>(acts, dy, n, lr)), ...);
        (void)dy;
    }

    template <class... Ls>
    template <bool D, std::enable_if_t<D, int>>
    auto Sequential<Ls...>::loss_and_descent(const Batch<T>& batch, T lr) -> T
    {
        const std::size_t n = prepare(batch, true, "xtrain::Sequential::loss_and_descent");
        const std::size_t k = m_shapes[num_layers].size();
        m_loss.check_batch(batch, k);
        activations acts{};
        forward(batch.features, n, ForwardMode::training_step(m_training), acts);
        const T value = m_loss.loss_and_gradient(acts[num_layers], n, k, batch);
        backward_descent(acts, n, lr, std::make_index_sequence<num_layers>{});
        return value;
    }

    template <class... Ls>
    auto Sequential<Ls...>::loss(const Batch<T>& batch) -> T
    {
        const std::size_t n = prepare(batch, false, "xtrain::Sequential::loss");
        const std::size_t k = m_shapes[num_layers].size();
        m_loss.check_batch(batch, k);
        activations acts{};
        forward(batch.features, n, ForwardMode::evaluation(), acts);
        return m_loss.loss(acts[num_layers], n, k, batch);
    }

    template <class... Ls>
    template <class L, std::enable_if_t<L::classifies, int>>
    void Sequential<Ls...>::predict(const Batch<T>& batch, label_type* out)
    {
        if (out == nullptr)
        {
            throw std::invalid_argument("xtrain::Sequential::predict: out is null");
        }
        const std::size_t n = prepare(batch, false, "xtrain::Sequential::predict");
        activations acts{};
        forward(batch.features, n, ForwardMode::evaluation(), acts);
        detail::nn::argmax_rows(acts[num_layers], n, m_shapes[num_layers].size(), out);
    }

    template <class... Ls>
    template <class L, std::enable_if_t<L::classifies, int>>
    auto Sequential<Ls...>::loss_and_predict(const Batch<T>& batch, label_type* out) -> T
    {
        if (out == nullptr)
        {
            throw std::invalid_argument("xtrain::Sequential::loss_and_predict: out is null");
        }
        const std::size_t n = prepare(batch, false, "xtrain::Sequential::loss_and_predict");
        const std::size_t k = m_shapes[num_layers].size();
        m_loss.check_batch(batch, k);
        activations acts{};
        forward(batch.features, n, ForwardMode::evaluation(), acts);
        detail::nn::argmax_rows(acts[num_layers], n, k, out);
        return m_loss.loss(acts[num_layers], n, k, batch);
    }

    template <class... Ls>
    void Sequential<Ls...>::reserve(std::size_t max_batch, const SampleShape& input)
    {
        detail::require(max_batch > 0, "xtrain::Sequential::reserve", "max_batch", max_batch, "must be > 0");
        plan(input, max_batch > m_forward_capacity ? max_batch : m_forward_capacity,
             max_batch > m_backward_capacity ? max_batch : m_backward_capacity, "xtrain::Sequential::reserve");
    }

    template <class... Ls>
    void Sequential<Ls...>::save(BinaryWriter& out) const
    {
        out.write_tag("xtrain.Sequential");
        out.write<std::uint64_t>(num_layers);
        for_each_layer([&out](auto, const auto& layer) { layer.save(out); });
    }

    template <class... Ls>
    void Sequential<Ls...>::load(BinaryReader& in)
    {
        m_kept.clear();
        in.expect_tag("xtrain.Sequential");
        const auto n = in.read<std::uint64_t>();
        if (n != num_layers)
        {
            in.fail(detail::concat("the checkpoint's Sequential has ", n, " layers but this model has ", num_layers));
        }
        for_each_layer([&in](auto, auto& layer) { layer.load(in); });
    }

    template <class... Ls>
    std::string Sequential<Ls...>::summary() const
    {
        std::string s;
        for_each_layer(
            [this, &s](auto i, const auto& layer)
            {
                s += std::to_string(i()) + " " + layer.describe();
                const std::string prefix = std::to_string(i()) + ".";
                bool first = true;
                for (const Segment& seg : m_params.layout().segments())
                {
                    if (seg.name.compare(0, prefix.size(), prefix) == 0)
                    {
                        s += first ? ": " : ", ";
                        first = false;
                        s += seg.name + " " + detail::shape_text(seg.shape);
                    }
                }
                s += "\n";
            });
        s += std::to_string(num_layers) + " " + m_loss.describe() + "\n";
        return s;
    }
}

#endif
