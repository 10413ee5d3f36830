/**
 * @file flatten.hpp
 * @brief Flatten: C x H x W (or any shape) to one dimension, without copying anything.
 *
 * Samples are stored row-major, so flattening only changes the shape that the next layer sees;
 * the layer hands its input through in both directions. Dense accepts any input shape of the right
 * size, so Flatten is there to make a model read as its PyTorch twin does.
 */
#ifndef XTRAIN_MODEL_FLATTEN_HPP
#define XTRAIN_MODEL_FLATTEN_HPP

#include <cstddef>
#include <cstdint>
#include <string>

#include "xtrain/core/param_buffer.hpp"
#include "xtrain/core/serialize.hpp"
#include "xtrain/model/layer.hpp"
#include "xtrain/model/shape.hpp"

namespace xtrain
{
    /** @brief The working part of Flatten (what Sequential holds). */
    template <class T>
    class FlattenLayer
    {
    public:
        /** @brief Scalar type. */
        using value_type = T;
        /** @brief No parameters. */
        static constexpr bool has_parameters = false;

        /** @brief "Flatten". */
        std::string describe() const { return "Flatten"; }
        /** @brief No parameters to declare. */
        void declare(ParamLayout&, const std::string&) noexcept {}
        /** @brief Nothing to initialise. */
        void initialize(T*, std::uint64_t, std::size_t) const noexcept {}
        /** @brief One dimension holding every scalar of @p in. */
        SampleShape output_shape(const SampleShape& in) const noexcept { return SampleShape::flat(in.size()); }
        /** @brief Needs no buffers. */
        void reserve(const SampleShape&, std::size_t, std::size_t, bool) noexcept {}
        /** @brief Returns @p x itself. */
        const T* forward(const T* x, std::size_t, const T*, ForwardMode) noexcept { return x; }
        /** @brief Returns @p dy itself (or nullptr if not @p need_dx). */
        const T* backward(const T*, const T*, const T* dy, std::size_t, const T*, T*, bool need_dx) noexcept
        {
            return need_dx ? dy : nullptr;
        }
        /** @brief No state. */
        void save(BinaryWriter&) const noexcept {}
        /** @brief No state. */
        void load(BinaryReader&) noexcept {}
    };

    /** @brief Flattens each sample to one dimension (a C x H x W image to C*H*W features). */
    struct Flatten
    {
        /** @brief The layer object Sequential<T, ...> holds. */
        template <class T>
        using layer_type = FlattenLayer<T>;
        /** @brief Builds the working layer for scalar type T. */
        template <class T>
        layer_type<T> make_layer() const
        {
            return {};
        }
    };
}

#endif
