/**
 * @file shape.hpp
 * @brief SampleShape: the shape of one sample as it flows from layer to layer.
 *
 * A batch carries B samples of a shape such as 1 x 28 x 28; each layer maps a sample shape to
 * another (Conv2D: C x H x W to O x H' x W'; Flatten: anything to one dimension). The batch size is
 * not part of it, so the same plan serves a full batch and the smaller last one.
 */
#ifndef XTRAIN_MODEL_SHAPE_HPP
#define XTRAIN_MODEL_SHAPE_HPP

#include <array>
#include <cstddef>
#include <initializer_list>
#include <stdexcept>
#include <string>

#include "xtrain/core/batch.hpp"
#include "xtrain/core/error.hpp"

namespace xtrain
{
    /** @brief The shape of one sample (at most max_sample_rank dimensions), row-major. */
    struct SampleShape
    {
        std::array<std::size_t, max_sample_rank> dims{}; ///< extents; the first `rank` are used
        std::size_t rank = 0;                             ///< number of dimensions

        /** @brief A one-dimensional shape of @p n features. */
        static SampleShape flat(std::size_t n) noexcept;

        /** @brief A shape from its extents, e.g. `SampleShape::of({1, 28, 28})`. @throws std::invalid_argument if too many. */
        static SampleShape of(std::initializer_list<std::size_t> extents);

        /** @brief The sample shape of a batch: its sample_shape, or flat(feature_dim) when it gives none. */
        template <class T>
        static SampleShape of_batch(const Batch<T>& batch) noexcept;

        /** @brief Number of scalars per sample (the product of the extents; 0 for rank 0). */
        std::size_t size() const noexcept;

        /** @brief Extent @p i (unchecked). */
        std::size_t operator[](std::size_t i) const noexcept { return dims[i]; }

        /** @brief The shape as text, e.g. "1x28x28". */
        std::string to_string() const;

        /** @brief Same rank and extents. */
        friend bool operator==(const SampleShape& a, const SampleShape& b) noexcept
        {
            if (a.rank != b.rank)
            {
                return false;
            }
            for (std::size_t i = 0; i < a.rank; ++i)
            {
                if (a.dims[i] != b.dims[i])
                {
                    return false;
                }
            }
            return true;
        }
        /** @brief Negation of operator==. */
        friend bool operator!=(const SampleShape& a, const SampleShape& b) noexcept { return !(a == b); }
    };

    /**************************
     * SampleShape definitions *
     **************************/

    inline SampleShape SampleShape::flat(std::size_t n) noexcept
    {
        SampleShape s;
        s.rank = 1;
        s.dims[0] = n;
        return s;
    }

    inline SampleShape SampleShape::of(std::initializer_list<std::size_t> extents)
    {
        detail::require(extents.size() <= max_sample_rank, "xtrain::SampleShape::of", "rank", extents.size(),
                        "must be <= xtrain::max_sample_rank");
        SampleShape s;
        for (std::size_t e : extents)
        {
            s.dims[s.rank++] = e;
        }
        return s;
    }

    template <class T>
    SampleShape SampleShape::of_batch(const Batch<T>& batch) noexcept
    {
        if (batch.sample_rank == 0 || batch.sample_rank > max_sample_rank)
        {
            return flat(batch.feature_dim);
        }
        SampleShape s;
        s.rank = batch.sample_rank;
        for (std::size_t i = 0; i < s.rank; ++i)
        {
            s.dims[i] = batch.sample_shape[i];
        }
        return s;
    }

    inline std::size_t SampleShape::size() const noexcept
    {
        if (rank == 0)
        {
            return 0;
        }
        std::size_t n = 1;
        for (std::size_t i = 0; i < rank; ++i)
        {
            n *= dims[i];
        }
        return n;
    }

    inline std::string SampleShape::to_string() const
    {
        std::string s;
        for (std::size_t i = 0; i < rank; ++i)
        {
            if (i > 0)
            {
                s += 'x';
            }
            s += std::to_string(dims[i]);
        }
        return rank == 0 ? std::string("(empty)") : s;
    }
}

#endif
