/**
 * @file batch.hpp
 * @brief A non-owning view of one batch: what a model sees for one step.
 *
 * The trainer owns the batch buffers (allocated once); a sampler fills them; a Batch points into
 * them. A partial last batch is the same buffers with a smaller `size`. Models read features as
 * a B x D row-major matrix (D = product of sample_shape, e.g. 1 x 28 x 28) and either class labels
 * (classification) or a B x K matrix of targets (regression).
 */
#ifndef XTRAIN_CORE_BATCH_HPP
#define XTRAIN_CORE_BATCH_HPP

#include <array>
#include <cstddef>
#include <cstdint>

#include <xtensor/xadapt.hpp>
#include <xtensor/xtensor.hpp>

namespace xtrain
{
    /** @brief The class-label type used throughout xtrain. */
    using label_type = std::int32_t;

    /** @brief Most dimensions a sample may have (e.g. C x H x W is 3). */
    inline constexpr std::size_t max_sample_rank = 4;

    /** @brief A view of one batch of samples; cheap to copy, owns nothing. */
    template <class T>
    struct Batch
    {
        const T* features = nullptr;        ///< size x feature_dim, row-major
        std::size_t size = 0;               ///< number of samples B (the last batch may be smaller)
        std::size_t feature_dim = 0;        ///< D, the product of sample_shape
        std::array<std::size_t, max_sample_rank> sample_shape{}; ///< e.g. {1, 28, 28}; first sample_rank entries used
        std::size_t sample_rank = 0;        ///< number of used entries in sample_shape
        const label_type* labels = nullptr; ///< size class indices, or null for regression
        const T* targets = nullptr;         ///< size x target_dim regression targets, or null
        std::size_t target_dim = 0;         ///< K, columns of targets

        /** @brief True if the batch carries class labels. */
        bool has_labels() const noexcept { return labels != nullptr; }
        /** @brief True if the batch carries regression targets. */
        bool has_targets() const noexcept { return targets != nullptr; }

        /** @brief Features as a size x feature_dim matrix view. */
        auto x() const noexcept
        {
            return xt::adapt(features, size * feature_dim, xt::no_ownership(),
                             std::array<std::size_t, 2>{size, feature_dim});
        }
        /** @brief Targets as a size x target_dim matrix view (empty shape for a classification batch). */
        auto y() const noexcept
        {
            const std::size_t rows = targets ? size : 0;
            return xt::adapt(targets, rows * target_dim, xt::no_ownership(),
                             std::array<std::size_t, 2>{rows, target_dim});
        }
        /** @brief Labels as a 1-D view (empty for a regression batch). */
        auto label_view() const noexcept
        {
            const std::size_t n = labels ? size : 0;
            return xt::adapt(labels, n, xt::no_ownership(), std::array<std::size_t, 1>{n});
        }
    };
}

#endif
