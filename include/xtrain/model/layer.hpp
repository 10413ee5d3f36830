/**
 * @file layer.hpp
 * @brief The protocol between Sequential (or MLP) and the layers it holds, and ForwardMode.
 *
 * A layer description (`Dense<784, 256>`, `ReLU`, ...) names the working layer for a scalar type
 * T as `layer_type<T>` and builds it with `make_layer<T>()`. The working layer has:
 * @code
 * static constexpr bool has_parameters;
 * std::string describe() const;                                   // "Dense(784 -> 256)", for messages
 * void declare(ParamLayout& layout, const std::string& prefix);   // add segments, remember their offsets
 * void initialize(T* params, std::uint64_t seed, std::size_t index); // draw from derive_rng(seed, ..., index)
 * SampleShape output_shape(const SampleShape& in) const;          // throws std::invalid_argument if in does not fit
 * void reserve(const SampleShape& in, std::size_t forward_batch, std::size_t backward_batch, bool need_dx);
 * const T* forward(const T* x, std::size_t n, const T* params, ForwardMode mode);
 * const T* backward(const T* x, const T* y, const T* dy, std::size_t n, const T* params, T* grads, bool need_dx);
 * void save(BinaryWriter&) const;  void load(BinaryReader&);      // state beyond the parameters
 * @endcode
 * forward returns a pointer to its n outputs (its own buffer, or x itself for a layer that changes
 * nothing); backward overwrites the layer's parameter gradients in @p grads (same layout as the
 * parameters) and returns dL/dx, or nullptr when @p need_dx is false (nothing before the layer
 * needs it). Buffers for outputs hold forward_batch samples, buffers that only the backward pass
 * needs hold backward_batch: evaluating a large batch does not allocate training buffers for it.
 * Layers keep offsets into the parameter buffer, never pointers, so a copied model is independent.
 */
#ifndef XTRAIN_MODEL_LAYER_HPP
#define XTRAIN_MODEL_LAYER_HPP

namespace xtrain
{
    /** @brief What a forward pass is for. */
    struct ForwardMode
    {
        bool training = false; ///< dropout active (only together with backward)
        bool backward = false; ///< a backward pass follows: keep what it needs

        /** @brief Evaluation: no dropout, no backward pass (loss(), predict()). */
        static constexpr ForwardMode evaluation() noexcept { return {false, false}; }
        /** @brief A training step: backward follows; dropout if @p dropout. */
        static constexpr ForwardMode training_step(bool dropout) noexcept { return {dropout, true}; }
    };
}

#endif
