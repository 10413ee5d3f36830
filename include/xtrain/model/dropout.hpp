/**
 * @file dropout.hpp
 * @brief Dropout: zeroes each input with probability p during training, scaling the rest by 1/(1-p).
 *
 * Inverted dropout, as torch.nn.Dropout: in evaluation the layer passes its input through unchanged.
 * Masks are drawn from `derive_rng(seed, RngStream::dropout, layer_index)`; the engine's position
 * is the layer's state, saved with the model so that a resumed run draws the same masks.
 */
#ifndef XTRAIN_MODEL_DROPOUT_HPP
#define XTRAIN_MODEL_DROPOUT_HPP

#include <cstddef>
#include <cstdint>
#include <string>

#include <xtensor/xtensor.hpp>

#include "xtrain/core/error.hpp"
#include "xtrain/core/param_buffer.hpp"
#include "xtrain/core/random.hpp"
#include "xtrain/core/serialize.hpp"
#include "xtrain/model/detail/kernels.hpp"
#include "xtrain/model/layer.hpp"
#include "xtrain/model/shape.hpp"

namespace xtrain
{
    /** @brief The working part of Dropout (what Sequential holds). */
    template <class T>
    class DropoutLayer
    {
    public:
        /** @brief Scalar type. */
        using value_type = T;
        /** @brief No parameters. */
        static constexpr bool has_parameters = false;

        /** @brief Drops with probability @p p. @throws std::invalid_argument unless 0 <= p < 1. */
        explicit DropoutLayer(double p) : m_p(p)
        {
            detail::require(p >= 0.0 && p < 1.0, "xtrain::Dropout", "p", p, "must be in [0, 1)");
        }

        /** @brief The drop probability. */
        double p() const noexcept { return m_p; }
        /** @brief The engine that draws the masks (its position is the layer's state). */
        const Rng& rng() const noexcept { return m_rng; }
        /** @brief E.g. "Dropout(0.5)". */
        std::string describe() const { return detail::concat("Dropout(", m_p, ")"); }
        /** @brief No parameters to declare. */
        void declare(ParamLayout&, const std::string&) noexcept {}
        /** @brief Restarts the mask engine from derive_rng(seed, dropout, index). */
        void initialize(T*, std::uint64_t seed, std::size_t index) { m_rng = derive_rng(seed, RngStream::dropout, index); }
        /** @brief The same shape as the input. */
        SampleShape output_shape(const SampleShape& in) const noexcept { return in; }
        /**
         * @brief Allocates the output, mask (and input-gradient) buffers for @p backward_batch samples:
         * only a training step, which a backward pass follows, drops anything.
         */
        void reserve(const SampleShape& in, std::size_t, std::size_t backward_batch, bool need_dx)
        {
            m_size = in.size();
            detail::nn::grow(m_y, backward_batch * m_size);
            detail::nn::grow(m_mask, backward_batch * m_size);
            if (need_dx)
            {
                detail::nn::grow(m_dx, backward_batch * m_size);
            }
        }
        /** @brief In a training step, y = x * mask with mask 0 or 1/(1-p); otherwise returns @p x itself. */
        const T* forward(const T* x, std::size_t n, const T*, ForwardMode mode)
        {
            m_masked = mode.training && mode.backward && m_p > 0.0;
            if (!m_masked)
            {
                return x;
            }
            const T keep = static_cast<T>(1.0 / (1.0 - m_p));
            T* y = m_y.data();
            T* mask = m_mask.data();
            const std::size_t total = n * m_size;
            for (std::size_t i = 0; i < total; ++i)
            {
                mask[i] = m_rng.uniform() < m_p ? T(0) : keep;
                y[i] = x[i] * mask[i];
            }
            return y;
        }
        /** @brief dx = dy * mask (dy itself if the last forward pass did not drop). */
        const T* backward(const T*, const T*, const T* dy, std::size_t n, const T*, T*, bool need_dx)
        {
            if (!need_dx)
            {
                return nullptr;
            }
            if (!m_masked)
            {
                return dy;
            }
            T* dx = m_dx.data();
            const T* mask = m_mask.data();
            const std::size_t total = n * m_size;
            for (std::size_t i = 0; i < total; ++i)
            {
                dx[i] = dy[i] * mask[i];
            }
            return dx;
        }
        /** @brief Writes the mask engine's state. */
        void save(BinaryWriter& w) const
        {
            w.write_tag("xtrain.Dropout");
            w.write(m_p);
            w.write_rng(m_rng);
        }
        /** @brief Reads what save() wrote. @throws checkpoint_error if it is not a Dropout of the same p. */
        void load(BinaryReader& r)
        {
            r.expect_tag("xtrain.Dropout");
            const auto p = r.read<double>();
            if (p != m_p)
            {
                r.fail(detail::concat("the checkpoint's Dropout has p = ", p, " but this model's has p = ", m_p));
            }
            m_rng = r.read_rng();
        }

    private:
        double m_p;
        Rng m_rng;
        bool m_masked = false;
        std::size_t m_size = 0;
        xt::xtensor<T, 1> m_y;
        xt::xtensor<T, 1> m_mask;
        xt::xtensor<T, 1> m_dx;
    };

    /** @brief Dropout with probability p (PyTorch's default 0.5); active only while training. */
    class Dropout
    {
    public:
        /** @brief The layer object Sequential<T, ...> holds. */
        template <class T>
        using layer_type = DropoutLayer<T>;

        /** @brief Drops with PyTorch's default probability, 0.5. */
        Dropout() noexcept = default;
        /** @brief Drops with probability @p p. @throws std::invalid_argument unless 0 <= p < 1. */
        explicit Dropout(double p) : m_p(p)
        {
            detail::require(p >= 0.0 && p < 1.0, "xtrain::Dropout", "p", p, "must be in [0, 1)");
        }
        /** @brief Builds the working layer for scalar type T. */
        template <class T>
        layer_type<T> make_layer() const
        {
            return layer_type<T>(m_p);
        }

    private:
        double m_p = 0.5;
    };
}

#endif
