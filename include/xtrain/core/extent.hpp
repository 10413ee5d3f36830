/**
 * @file extent.hpp
 * @brief `xtrain::dynamic`: the size argument that means "chosen at run time".
 */
#ifndef XTRAIN_CORE_EXTENT_HPP
#define XTRAIN_CORE_EXTENT_HPP

#include <cstddef>
#include <limits>

namespace xtrain
{
    /**
     * @brief A compile-time size argument meaning "given at run time instead".
     *
     * `BatchSampler<32>` fixes the batch size at compile time; `BatchSampler<xtrain::dynamic>`
     * takes it as a constructor argument. Layers use it the same way for their extents.
     */
    inline constexpr std::size_t dynamic = std::numeric_limits<std::size_t>::max();
}

#endif
