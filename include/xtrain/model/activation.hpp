/**
 * @file activation.hpp
 * @brief Element-wise activations: ReLU, Tanh, Sigmoid, and the layer that applies them.
 *
 * Each activation's derivative is written in terms of its output (ReLU: y > 0; Tanh: 1 - y^2;
 * Sigmoid: y (1 - y)), so the backward pass needs only the stored output.
 */
#ifndef XTRAIN_MODEL_ACTIVATION_HPP
#define XTRAIN_MODEL_ACTIVATION_HPP

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include <xtensor/xtensor.hpp>

#include "xtrain/core/param_buffer.hpp"
#include "xtrain/core/serialize.hpp"
#include "xtrain/model/detail/kernels.hpp"
#include "xtrain/model/layer.hpp"
#include "xtrain/model/shape.hpp"

namespace xtrain
{
    /**
     * @brief Applies the activation @p F element by element; keeps the input's shape.
     *
     * F provides `static T apply(T x)`, `static T backward(T y, T dy)` (dy times the derivative, from
     * the output y) and `static const char* name()`.
     */
    template <class T, class F>
    class ActivationLayer
    {
    public:
        /** @brief Scalar type. */
        using value_type = T;
        /** @brief Activations have no parameters. */
        static constexpr bool has_parameters = false;

        /** @brief E.g. "ReLU". */
        std::string describe() const { return F::name(); }
        /** @brief No parameters to declare. */
        void declare(ParamLayout&, const std::string&) noexcept {}
        /** @brief Nothing to initialise. */
        void initialize(T*, std::uint64_t, std::size_t) const noexcept {}
        /** @brief The same shape as the input. */
        SampleShape output_shape(const SampleShape& in) const noexcept { return in; }
        /** @brief Allocates outputs for @p forward_batch samples (and input gradients for @p backward_batch). */
        void reserve(const SampleShape& in, std::size_t forward_batch, std::size_t backward_batch, bool need_dx)
        {
            m_size = in.size();
            detail::nn::grow(m_y, forward_batch * m_size);
            if (need_dx)
            {
                detail::nn::grow(m_dx, backward_batch * m_size);
            }
        }
        /** @brief y = F(x) for n samples. */
        const T* forward(const T* x, std::size_t n, const T*, ForwardMode)
        {
            T* y = m_y.data();
            const std::size_t total = n * m_size;
            for (std::size_t i = 0; i < total; ++i)
            {
                y[i] = F::apply(x[i]);
            }
            return y;
        }
        /** @brief dx = dy * F'(x), computed from y; nullptr if not @p need_dx. */
        const T* backward(const T*, const T* y, const T* dy, std::size_t n, const T*, T*, bool need_dx)
        {
            if (!need_dx)
            {
                return nullptr;
            }
            T* dx = m_dx.data();
            const std::size_t total = n * m_size;
            for (std::size_t i = 0; i < total; ++i)
            {
                dx[i] = F::backward(y[i], dy[i]);
            }
            return dx;
        }
        /** @brief No state. */
        void save(BinaryWriter&) const noexcept {}
        /** @brief No state. */
        void load(BinaryReader&) noexcept {}

    private:
        std::size_t m_size = 0;
        xt::xtensor<T, 1> m_y;
        xt::xtensor<T, 1> m_dx;
    };

    /** @brief max(x, 0), NaN kept (a diverging run must show it); the gradient at 0 is taken as 0, as PyTorch does. */
    struct ReLU
    {
        /** @brief The layer object Sequential<T, ...> holds. */
        template <class T>
        using layer_type = ActivationLayer<T, ReLU>;
        /** @brief Builds the working layer for scalar type T. */
        template <class T>
        layer_type<T> make_layer() const
        {
            return {};
        }
        /** @brief The function. */
        template <class T>
        static T apply(T x) noexcept
        {
            return x < T(0) ? T(0) : x;
        }
        /** @brief dy where the output was positive, else 0: a select, not a multiply, so the loop vectorises. */
        template <class T>
        static T backward(T y, T dy) noexcept
        {
            return y > T(0) ? dy : T(0);
        }
        /** @brief Name in messages. */
        static const char* name() noexcept { return "ReLU"; }
    };

    /** @brief tanh(x). */
    struct Tanh
    {
        /** @brief The layer object Sequential<T, ...> holds. */
        template <class T>
        using layer_type = ActivationLayer<T, Tanh>;
        /** @brief Builds the working layer for scalar type T. */
        template <class T>
        layer_type<T> make_layer() const
        {
            return {};
        }
        /** @brief The function. */
        template <class T>
        static T apply(T x) noexcept
        {
            return std::tanh(x);
        }
        /** @brief dy (1 - y^2), from the output y = tanh(x). */
        template <class T>
        static T backward(T y, T dy) noexcept
        {
            return dy * (T(1) - y * y);
        }
        /** @brief Name in messages. */
        static const char* name() noexcept { return "Tanh"; }
    };

    /** @brief The logistic function 1 / (1 + exp(-x)), computed without overflow for any x. */
    struct Sigmoid
    {
        /** @brief The layer object Sequential<T, ...> holds. */
        template <class T>
        using layer_type = ActivationLayer<T, Sigmoid>;
        /** @brief Builds the working layer for scalar type T. */
        template <class T>
        layer_type<T> make_layer() const
        {
            return {};
        }
        /** @brief The function; exp is only taken of non-positive numbers. */
        template <class T>
        static T apply(T x) noexcept
        {
            if (x >= T(0))
            {
                return T(1) / (T(1) + std::exp(-x));
            }
            const T e = std::exp(x);
            return e / (T(1) + e);
        }
        /** @brief dy y (1 - y), from the output y. */
        template <class T>
        static T backward(T y, T dy) noexcept
        {
            return dy * y * (T(1) - y);
        }
        /** @brief Name in messages. */
        static const char* name() noexcept { return "Sigmoid"; }
    };
}

#endif
