/**
 * @file batch_sampler.hpp
 * @brief BatchSampler<Size>: batches of sample indices from one seeded permutation per epoch.
 *
 * The permutation of an epoch depends on (seed, epoch) only: it is the identity shuffled by
 * Fisher-Yates with the engine `derive_rng(seed, RngStream::shuffle, epoch)` (xoshiro256**, see
 * core/random.hpp). The batch size only decides where that sequence is cut. Two runs with the same
 * seed and different batch sizes therefore see the samples in the same order (paired sampling),
 * and the difference between their curves comes from the batch size and learning rate, not from
 * the luck of the draw.
 *
 * A `BatchSampler<xtrain::dynamic>` can change its batch size between epochs (`set_batch_size`,
 * effective from the next start_epoch): growing the batch instead of decaying the learning rate
 * (Smith et al., 2018) keeps the same data order as a run at a fixed batch size.
 */
#ifndef XTRAIN_DATA_BATCH_SAMPLER_HPP
#define XTRAIN_DATA_BATCH_SAMPLER_HPP

#include <cstddef>
#include <cstdint>
#include <numeric>
#include <type_traits>
#include <vector>

#include "xtrain/core/error.hpp"
#include "xtrain/core/extent.hpp"
#include "xtrain/core/random.hpp"
#include "xtrain/core/serialize.hpp"

namespace xtrain
{
    /** @brief How a BatchSampler orders and cuts an epoch. */
    struct SamplerOptions
    {
        bool shuffle = true;     ///< a new seeded permutation every epoch; false: 0, 1, ..., N-1
        bool drop_last = false;  ///< skip the last batch when it would be smaller than the batch size
        std::uint64_t seed = 0;  ///< the run seed; the order of epoch e depends on (seed, e) only

        /** @brief A new permutation every epoch from @p seed, the last (smaller) batch kept. */
        static constexpr SamplerOptions shuffled(std::uint64_t seed) noexcept
        {
            SamplerOptions o;
            o.seed = seed;
            return o;
        }

        /** @brief 0, 1, ..., N-1 every epoch, the last (smaller) batch kept. */
        static constexpr SamplerOptions in_order() noexcept
        {
            SamplerOptions o;
            o.shuffle = false;
            return o;
        }

        /** @brief These options, skipping the last batch of an epoch when it is smaller than the batch size. */
        constexpr SamplerOptions dropping_last() const noexcept
        {
            SamplerOptions o = *this;
            o.drop_last = true;
            return o;
        }
    };

    /** @brief One batch of sample indices; valid until the next call to start_epoch. size 0: the epoch is over. */
    struct IndexBatch
    {
        const std::size_t* indices = nullptr;  ///< size indices into the dataset
        std::size_t size = 0;                  ///< number of indices; 0 at the end of the epoch

        /** @brief True while the epoch goes on (size > 0). */
        explicit operator bool() const noexcept { return size != 0; }
        /** @brief First index. */
        const std::size_t* begin() const noexcept { return indices; }
        /** @brief One past the last index. */
        const std::size_t* end() const noexcept { return indices + size; }
    };

    /**
     * @brief Cuts each epoch's permutation of N samples into batches of `Size` (or a run-time size).
     *
     * `Size` is a batch size fixed at compile time (> 0), or `xtrain::dynamic` for one given to the
     * constructor and changeable between epochs with set_batch_size(). Every sample appears
     * exactly once per epoch; with drop_last the last N mod B samples of the permutation are
     * skipped instead of forming a smaller batch. The permutation buffer is allocated once, by
     * the constructor; next() only moves a cursor.
     *
     * @code
     * xtrain::BatchSampler<32> sampler(train.size(), xtrain::SamplerOptions::shuffled(seed));
     * for (std::size_t epoch = 0; epoch < 10; ++epoch)
     * {
     *     sampler.start_epoch(epoch);
     *     while (auto ib = sampler.next()) { auto batch = buffer.gather(train, ib.indices, ib.size); ... }
     * }
     * @endcode
     */
    template <std::size_t Size>
    class BatchSampler
    {
        static_assert(Size > 0, "BatchSampler<Size>: the batch size must be > 0 (or xtrain::dynamic for a run-time size)");

    public:
        /** @brief The compile-time batch size, or xtrain::dynamic. */
        static constexpr std::size_t static_batch_size = Size;

        /**
         * @brief A sampler over @p num_samples samples with batch size Size (for a fixed Size).
         * @throws std::invalid_argument if num_samples is 0, or if drop_last leaves no batch (Size > N).
         */
        template <std::size_t S = Size, std::enable_if_t<S != dynamic, int> = 0>
        explicit BatchSampler(std::size_t num_samples, SamplerOptions options = {})
            : m_num_samples(num_samples)
            , m_initial_batch_size(Size)
            , m_batch_size(Size)
            , m_next_batch_size(Size)
            , m_options(options)
        {
            init();
        }

        /**
         * @brief A sampler over @p num_samples samples with a run-time @p batch_size (Size == dynamic).
         * @throws std::invalid_argument if num_samples or batch_size is 0, or if drop_last leaves
         * no batch (batch_size > num_samples).
         */
        template <std::size_t S = Size, std::enable_if_t<S == dynamic, int> = 0>
        BatchSampler(std::size_t num_samples, std::size_t batch_size, SamplerOptions options = {})
            : m_num_samples(num_samples)
            , m_initial_batch_size(batch_size)
            , m_batch_size(batch_size)
            , m_next_batch_size(batch_size)
            , m_options(options)
        {
            init();
        }

        /**
         * @brief The batch size B of the current epoch (the last batch of an epoch may be smaller
         * unless drop_last).
         */
        std::size_t batch_size() const noexcept
        {
            if constexpr (Size != dynamic)
            {
                return Size;
            }
            else
            {
                return m_batch_size;
            }
        }

        /**
         * @brief The batch size from the next start_epoch() on: batch_size() unless set_batch_size()
         * asked for another one.
         */
        std::size_t next_batch_size() const noexcept
        {
            if constexpr (Size != dynamic)
            {
                return Size;
            }
            else
            {
                return m_next_batch_size;
            }
        }

        /**
         * @brief Sets the batch size of the epochs started from now on (BatchSampler<dynamic> only).
         *
         * The epoch in progress keeps its batch size to its end, so a trainer's count of the
         * batches in it stays true; the permutations do not change (they depend on seed and epoch
         * only), so a run whose batch grows sees the same data order as a run at a fixed size.
         * Kept in checkpoints by save()/load().
         * @throws std::invalid_argument if @p batch_size is 0, or larger than num_samples() with drop_last.
         */
        void set_batch_size(std::size_t batch_size)
        {
            static_assert(Size == dynamic, "BatchSampler<Size>::set_batch_size: the batch size of BatchSampler<Size> is "
                                           "fixed at compile time; use BatchSampler<xtrain::dynamic> to change it between epochs");
            check_batch_size("xtrain::BatchSampler::set_batch_size", batch_size);
            m_next_batch_size = batch_size;
        }
        /** @brief Number of samples N. */
        std::size_t num_samples() const noexcept { return m_num_samples; }
        /** @brief The options given at construction. */
        const SamplerOptions& options() const noexcept { return m_options; }

        /** @brief Batches in the current epoch: ceil(N / B), or floor(N / B) with drop_last. */
        std::size_t iterations_per_epoch() const noexcept { return iterations_for(batch_size()); }
        /** @brief Batches in the epochs from the next start_epoch() on (with next_batch_size()). */
        std::size_t next_iterations_per_epoch() const noexcept { return iterations_for(next_batch_size()); }
        /** @brief Samples handed out per epoch: N, or B * floor(N / B) with drop_last. */
        std::size_t samples_per_epoch() const noexcept
        {
            return m_options.drop_last ? iterations_per_epoch() * batch_size() : m_num_samples;
        }

        /**
         * @brief Starts epoch @p epoch: recomputes the permutation from (seed, epoch), rewinds, and
         * takes the batch size set by set_batch_size(), if any.
         *
         * Epochs may be started in any order; the same epoch always gives the same permutation.
         * No allocation.
         */
        void start_epoch(std::size_t epoch) noexcept
        {
            m_batch_size = m_next_batch_size;
            permute(epoch);
        }

        /** @brief The next batch of the epoch, or a batch of size 0 once the epoch is over. No allocation. */
        IndexBatch next() noexcept
        {
            const std::size_t end = samples_per_epoch();
            const std::size_t n = end - m_position < batch_size() ? end - m_position : batch_size();
            IndexBatch b{m_perm.data() + m_position, n};
            m_position += n;
            return b;
        }

        /** @brief The epoch last started (0 after construction). */
        std::size_t epoch() const noexcept { return m_epoch; }
        /** @brief Samples handed out so far in this epoch. */
        std::size_t position() const noexcept { return m_position; }
        /** @brief Batches handed out so far in this epoch. */
        std::size_t iteration() const noexcept { return (m_position + batch_size() - 1) / batch_size(); }
        /** @brief True when next() would return an empty batch. */
        bool epoch_done() const noexcept { return m_position >= samples_per_epoch(); }
        /** @brief The whole permutation of the current epoch (N indices, including any dropped at the end). */
        const std::vector<std::size_t>& permutation() const noexcept { return m_perm; }

        /**
         * @brief Writes the position (configuration, epoch, cursor, the current and next batch
         * sizes) for a bit-identical resume.
         */
        void save(BinaryWriter& w) const
        {
            w.write_tag("xtrain.BatchSampler");
            w.write<std::uint32_t>(2);  // format version
            w.write<std::uint64_t>(m_num_samples);
            w.write<std::uint64_t>(m_initial_batch_size);
            w.write(m_options.shuffle);
            w.write(m_options.drop_last);
            w.write<std::uint64_t>(m_options.seed);
            w.write<std::uint64_t>(m_epoch);
            w.write<std::uint64_t>(m_position);
            w.write<std::uint64_t>(batch_size());
            w.write<std::uint64_t>(next_batch_size());
        }

        /**
         * @brief Restores what save() wrote; the next next() continues exactly where the saved one stopped.
         *
         * The permutation is recomputed from (seed, epoch), so a checkpoint stays small. The
         * sampler must be constructed as the saved one was (its batch_size argument, not the size
         * a set_batch_size() made later); the current and next batch sizes are then restored.
         * Reads format versions 1 (no set_batch_size) and 2.
         * @throws checkpoint_error if the saved sampler had another N, batch size or options (a
         * resumed run must draw the same batches), or if the data is corrupt.
         */
        void load(BinaryReader& r)
        {
            r.expect_tag("xtrain.BatchSampler");
            const auto version = r.read<std::uint32_t>();
            if (version != 1 && version != 2)
            {
                r.fail(detail::concat("BatchSampler state of format version ", version, " (this build reads 1 and 2)"));
            }
            const auto n = r.read<std::uint64_t>();
            const auto b = r.read<std::uint64_t>();
            const bool shuffle = r.read<bool>();
            const bool drop_last = r.read<bool>();
            const auto seed = r.read<std::uint64_t>();
            const auto epoch = r.read<std::uint64_t>();
            const auto position = r.read<std::uint64_t>();
            const auto current = version >= 2 ? r.read<std::uint64_t>() : b;
            const auto next = version >= 2 ? r.read<std::uint64_t>() : b;
            check_same(r, "num_samples", n, m_num_samples);
            check_same(r, "batch_size", b, m_initial_batch_size);
            check_same(r, "shuffle", shuffle, m_options.shuffle);
            check_same(r, "drop_last", drop_last, m_options.drop_last);
            check_same(r, "seed", seed, m_options.seed);
            for (const auto size : {current, next})
            {
                const bool valid = size > 0 && (!drop_last || size <= n) && (Size == dynamic || size == Size);
                if (!valid)
                {
                    r.fail(detail::concat("BatchSampler batch size ", size, " is impossible for this sampler (",
                                          Size == dynamic ? "dynamic" : "fixed at compile time", ", ", n,
                                          " samples", drop_last ? ", drop_last)" : ")"));
                }
            }
            const auto samples = m_options.drop_last ? (n / current) * current : n;
            if (position > samples)
            {
                r.fail(detail::concat("BatchSampler position ", position, " is past the end of the epoch (", samples,
                                      " samples)"));
            }
            // next() moves the cursor by whole batches, except for the last, shorter one.
            if (position % current != 0 && position != samples)
            {
                r.fail(detail::concat("BatchSampler position ", position, " is not at the end of a batch of ", current,
                                      " (nor at the end of the epoch, ", samples, ")"));
            }
            m_batch_size = static_cast<std::size_t>(current);
            m_next_batch_size = static_cast<std::size_t>(next);
            permute(static_cast<std::size_t>(epoch));
            m_position = static_cast<std::size_t>(position);
        }

    private:
        void init()
        {
            detail::require(m_num_samples > 0, "xtrain::BatchSampler", "num_samples", m_num_samples,
                            "must be > 0: the dataset is empty");
            check_batch_size("xtrain::BatchSampler", m_batch_size);
            m_perm.resize(m_num_samples);
            start_epoch(0);
        }

        // Builds a message only on failure: set_batch_size between epochs allocates nothing.
        void check_batch_size(const char* who, std::size_t b) const
        {
            detail::require(b > 0, who, "batch_size", b, "must be > 0");
            if (m_options.drop_last && b > m_num_samples)
            {
                detail::require(false, who, "batch_size", b,
                                detail::concat("must be <= num_samples = ", m_num_samples,
                                               " with drop_last, which would drop every batch"));
            }
        }

        std::size_t iterations_for(std::size_t b) const noexcept
        {
            return m_options.drop_last ? m_num_samples / b : (m_num_samples + b - 1) / b;
        }

        // The permutation of epoch e, from (seed, e) only; rewinds the cursor.
        void permute(std::size_t epoch) noexcept
        {
            m_epoch = epoch;
            m_position = 0;
            std::iota(m_perm.begin(), m_perm.end(), std::size_t{0});
            if (m_options.shuffle)
            {
                Rng rng = derive_rng(m_options.seed, RngStream::shuffle, static_cast<std::uint64_t>(epoch));
                rng.shuffle(m_perm.begin(), m_perm.end());
            }
        }

        template <class V, class W>
        static void check_same(BinaryReader& r, const char* what, V saved, W mine)
        {
            if (saved != static_cast<V>(mine))
            {
                r.fail(detail::concat("the saved BatchSampler has ", what, " = ", saved, " but this one has ",
                                      static_cast<V>(mine)));
            }
        }

        std::size_t m_num_samples = 0;
        std::size_t m_initial_batch_size = 0;  // the constructor's: what a checkpoint must match
        std::size_t m_batch_size = 0;          // the current epoch's
        std::size_t m_next_batch_size = 0;     // taken by the next start_epoch
        SamplerOptions m_options;
        std::vector<std::size_t> m_perm;
        std::size_t m_epoch = 0;
        std::size_t m_position = 0;
    };
}

#endif
