/**
 * @file batch_buffer.hpp
 * @brief BatchBuffer<T>: contiguous buffers, allocated once, into which a batch's rows are gathered.
 *
 * A model wants a batch as one B x D matrix (a GEMM operand). The sampler yields indices in a
 * shuffled order, so the rows are scattered through the dataset; the buffer copies them, one
 * memcpy per row (a row of 784 floats is 3 KiB, so the copy runs at memory speed), into storage
 * allocated by the constructor. Every batch, including a smaller last one, reuses that storage.
 */
#ifndef XTRAIN_DATA_BATCH_BUFFER_HPP
#define XTRAIN_DATA_BATCH_BUFFER_HPP

#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "xtrain/core/batch.hpp"
#include "xtrain/core/error.hpp"
#include "xtrain/data/batch_sampler.hpp"
#include "xtrain/data/dataset.hpp"

namespace xtrain
{
    namespace detail
    {
        /** @brief Asks for the cache lines of [p, p + bytes) to be loaded into the outer caches. */
        inline void prefetch_bytes(const void* p, std::size_t bytes) noexcept
        {
            const char* c = static_cast<const char*>(p);
            for (std::size_t o = 0; o < bytes; o += 64)
            {
                __builtin_prefetch(c + o, 0, 1);
            }
        }

        /**
         * @brief memcpy of @p bytes that prefetches the same span at @p next (if not null) as it
         * goes: four cache lines of it per 256 bytes copied.
         */
        inline void copy_prefetching(void* dst, const void* src, std::size_t bytes, const void* next) noexcept
        {
            auto* t = static_cast<char*>(dst);
            const auto* s = static_cast<const char*>(src);
            const auto* q = static_cast<const char*>(next);
            std::size_t o = 0;
            for (; o + 256 <= bytes; o += 256)
            {
                if (q != nullptr)
                {
                    prefetch_bytes(q + o, 256);
                }
                std::memcpy(t + o, s + o, 256);
            }
            if (q != nullptr)
            {
                prefetch_bytes(q + o, bytes - o);
            }
            std::memcpy(t + o, s + o, bytes - o);
        }
    }

    /**
     * @brief Owns the features and labels/targets of up to `capacity` samples shaped like one dataset.
     *
     * The Batch returned by gather() points into this object: it stays valid until the next
     * gather() and as long as the buffer lives.
     */
    template <class T>
    class BatchBuffer
    {
    public:
        /** @brief Scalar type. */
        using value_type = T;

        /**
         * @brief Buffers for batches of up to @p capacity samples shaped like @p like.
         *
         * Allocates (and touches, so the first step is not slower than the others) all storage now.
         * @throws std::invalid_argument if capacity is 0 or @p like has no features.
         */
        BatchBuffer(const Dataset<T>& like, std::size_t capacity)
            : m_capacity(capacity)
            , m_feature_dim(like.feature_dim())
            , m_sample_shape(like.sample_shape)
            , m_has_labels(like.labels.size() != 0)
            , m_target_dim(like.is_regression() ? like.target_dim() : 0)
        {
            detail::require(capacity > 0, "xtrain::BatchBuffer", "capacity", capacity, "must be > 0");
            detail::require(m_feature_dim > 0, "xtrain::BatchBuffer", "like.feature_dim()", m_feature_dim,
                            "must be > 0");
            m_features = xt::xtensor<T, 2>::from_shape({capacity, m_feature_dim});
            m_features.fill(T(0));
            if (m_has_labels)
            {
                m_labels = xt::xtensor<label_type, 1>::from_shape({capacity});
                m_labels.fill(0);
            }
            if (m_target_dim != 0)
            {
                m_targets = xt::xtensor<T, 2>::from_shape({capacity, m_target_dim});
                m_targets.fill(T(0));
            }
        }

        /** @brief Most samples one batch may hold. */
        std::size_t capacity() const noexcept { return m_capacity; }
        /** @brief Values per sample D. */
        std::size_t feature_dim() const noexcept { return m_feature_dim; }

        /**
         * @brief Copies the rows @p indices[0..n) of @p d into the buffers and returns them as a Batch.
         *
         * No allocation. @throws std::invalid_argument if n > capacity(), if @p d is not shaped
         * like the dataset the buffer was made for (feature_dim, sample_shape, labels or targets),
         * or if an index is >= d.size() (the rows gathered before it are then overwritten garbage).
         */
        Batch<T> gather(const Dataset<T>& d, const std::size_t* indices, std::size_t n)
        {
            // Checked with plain ifs: building the message eagerly would allocate on every batch.
            if (n > m_capacity)
            {
                detail::require(false, "xtrain::BatchBuffer::gather", "n", n,
                                detail::concat("must be <= capacity() = ", m_capacity));
            }
            if (n != 0 && indices == nullptr)
            {
                detail::require(false, "xtrain::BatchBuffer::gather", "indices", "null", "must point to n indices");
            }
            check_matches(d);

            const std::size_t dim = m_feature_dim;
            const std::size_t rows = d.size();
            const std::size_t row_bytes = dim * sizeof(T);
            const T* src = d.features.data();
            T* dst = m_features.data();
            const label_type* ls = m_has_labels ? d.labels.data() : nullptr;
            label_type* ld = m_labels.data();
            // Rows are scattered through a dataset much larger than the caches and the hardware
            // prefetcher cannot guess the next one: while row r is copied, row r + 2 is
            // prefetched, four cache lines per 256 bytes copied so that the requests stay spread
            // out; labels are copied in the same loop so that their misses overlap too.
            constexpr std::size_t ahead = 2;
            for (std::size_t r = 0; r < ahead && r < n; ++r)
            {
                if (indices[r] < rows)
                {
                    detail::prefetch_bytes(src + indices[r] * dim, row_bytes);
                    if (ls != nullptr)
                    {
                        detail::prefetch_bytes(ls + indices[r], 1);
                    }
                }
            }
            for (std::size_t r = 0; r < n; ++r)
            {
                const std::size_t i = indices[r];
                if (i >= rows)
                {
                    bad_index(r, i, rows, d.name);
                }
                const T* next = nullptr;
                if (r + ahead < n && indices[r + ahead] < rows)
                {
                    next = src + indices[r + ahead] * dim;
                    if (ls != nullptr)
                    {
                        detail::prefetch_bytes(ls + indices[r + ahead], 1);
                    }
                }
                detail::copy_prefetching(dst + r * dim, src + i * dim, row_bytes, next);
                if (ls != nullptr)
                {
                    ld[r] = ls[i];
                }
            }
            if (m_target_dim != 0)
            {
                const std::size_t k = m_target_dim;
                const T* ts = d.targets.data();
                T* td = m_targets.data();
                for (std::size_t r = 0; r < n; ++r)
                {
                    std::memcpy(td + r * k, ts + indices[r] * k, k * sizeof(T));
                }
            }
            return make_batch(n);
        }

        /** @brief gather(d, b.indices, b.size). */
        Batch<T> gather(const Dataset<T>& d, IndexBatch b) { return gather(d, b.indices, b.size); }

        /** @brief The last gathered batch's storage as a Batch of @p n rows (n <= capacity, unchecked contents). */
        Batch<T> make_batch(std::size_t n) const noexcept
        {
            Batch<T> b;
            b.features = m_features.data();
            b.size = n;
            detail::set_batch_shape(b, m_sample_shape, m_feature_dim);
            if (m_has_labels)
            {
                b.labels = m_labels.data();
            }
            else if (m_target_dim != 0)
            {
                b.targets = m_targets.data();
                b.target_dim = m_target_dim;
            }
            return b;
        }

    private:
        void check_matches(const Dataset<T>& d) const
        {
            const bool labels = d.labels.size() != 0;
            const std::size_t k = d.is_regression() ? d.target_dim() : 0;
            if (d.feature_dim() != m_feature_dim || d.sample_shape != m_sample_shape || labels != m_has_labels
                || k != m_target_dim)
            {
                mismatch(d);
            }
            if ((labels && d.labels.size() != d.size()) || (k != 0 && d.targets.shape()[0] != d.size()))
            {
                throw std::invalid_argument(detail::concat(
                    "xtrain::BatchBuffer::gather: dataset '", d.name, "' has ", d.size(), " feature rows but ",
                    labels ? d.labels.size() : d.targets.shape()[0], labels ? " labels" : " target rows"));
            }
        }

        [[noreturn]] void mismatch(const Dataset<T>& d) const
        {
            auto kind = [](bool labels, std::size_t k) {
                return labels ? std::string("class labels") : (k ? "targets of width " + std::to_string(k) : "no labels");
            };
            throw std::invalid_argument(detail::concat(
                "xtrain::BatchBuffer::gather: dataset '", d.name, "' (feature_dim ", d.feature_dim(), ", sample_shape ",
                detail::shape_text(d.sample_shape), ", ", kind(d.labels.size() != 0, d.is_regression() ? d.target_dim() : 0),
                ") is not shaped like the dataset this buffer was made for (feature_dim ", m_feature_dim,
                ", sample_shape ", detail::shape_text(m_sample_shape), ", ", kind(m_has_labels, m_target_dim), ")"));
        }

        [[noreturn]] static void bad_index(std::size_t r, std::size_t i, std::size_t rows, const std::string& name)
        {
            throw std::invalid_argument(detail::concat("xtrain::BatchBuffer::gather: indices[", r, "] = ", i,
                                                       " is out of range for dataset '", name, "' of ", rows,
                                                       " samples"));
        }

        std::size_t m_capacity;
        std::size_t m_feature_dim;
        std::vector<std::size_t> m_sample_shape;
        bool m_has_labels;
        std::size_t m_target_dim;
        xt::xtensor<T, 2> m_features;
        xt::xtensor<label_type, 1> m_labels;
        xt::xtensor<T, 2> m_targets;
    };
}

#endif
