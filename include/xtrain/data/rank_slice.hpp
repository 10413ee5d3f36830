/**
 * @file rank_slice.hpp
 * @brief RankSlice<Sampler>: one rank's contiguous part of every batch of a sampler.
 *
 * Data-parallel training runs P copies of one model (P ranks), each on part of every batch. Every
 * rank builds the same sampler (same seed, same global batch size B), so every rank draws the same
 * global batches in the same order; RankSlice hands rank r rows [floor(b r / P), floor(b (r+1) / P))
 * of each global batch of b rows. Concatenated in rank order the slices are the global batch, so the
 * P ranks together see exactly the data order one process sees at batch size B. When P does not
 * divide b (a batch size not a multiple of P, or the short last batch of an epoch) the slices
 * differ by one row, and a slice may be empty when b < P: a rank then contributes no rows to that
 * update, and the mean over the global batch weights each rank by its rows.
 *
 * The counters (batch_size, iterations_per_epoch, position, iteration) are the global ones: a
 * trainer counts global batches, and a checkpoint written on one rank resumes on any.
 * Nothing here knows of MPI: the rank and the number of ranks are plain numbers.
 */
#ifndef XTRAIN_DATA_RANK_SLICE_HPP
#define XTRAIN_DATA_RANK_SLICE_HPP

#include <cstddef>
#include <utility>

#include "xtrain/core/error.hpp"
#include "xtrain/core/serialize.hpp"
#include "xtrain/data/batch_sampler.hpp"

namespace xtrain
{
    /**
     * @brief Wraps a sampler of global batches (e.g. BatchSampler<dynamic>) and yields rank
     * @p rank's contiguous slice of each, out of @p ranks.
     *
     * @code
     * xtrain::RankSlice sampler(xtrain::BatchSampler<xtrain::dynamic>(train.size(), global_batch,
     *                                                                 xtrain::SamplerOptions::shuffled(seed)),
     *                           comm.rank(), comm.size());
     * @endcode
     */
    template <class Sampler>
    class RankSlice
    {
    public:
        /** @brief The wrapped sampler's type. */
        using sampler_type = Sampler;

        /**
         * @brief Rank @p rank of @p ranks, over the global batches of @p sampler.
         * @throws std::invalid_argument if ranks is 0 or rank >= ranks.
         */
        RankSlice(Sampler sampler, std::size_t rank, std::size_t ranks)
            : m_sampler(std::move(sampler))
            , m_rank(rank)
            , m_ranks(ranks)
        {
            detail::require(ranks > 0, "xtrain::RankSlice", "ranks", ranks, "must be > 0");
            detail::require(rank < ranks, "xtrain::RankSlice", "rank", rank,
                            detail::concat("must be < ranks = ", ranks));
        }

        /** @brief This rank, 0-based. */
        std::size_t rank() const noexcept { return m_rank; }
        /** @brief The number of ranks P. */
        std::size_t ranks() const noexcept { return m_ranks; }
        /** @brief The wrapped sampler (e.g. for set_batch_size, which then applies to the global batch). */
        Sampler& global() noexcept { return m_sampler; }
        /** @brief The wrapped sampler. */
        const Sampler& global() const noexcept { return m_sampler; }

        /** @brief Starts epoch @p epoch of the global sampler. */
        void start_epoch(std::size_t epoch) noexcept(noexcept(std::declval<Sampler&>().start_epoch(epoch)))
        {
            m_sampler.start_epoch(epoch);
        }

        /**
         * @brief This rank's slice of the next global batch. Its size is 0 either at the end of the
         * epoch or when the global batch has fewer rows than ranks and none fall to this rank; the
         * trainer tells the two apart by counting batches (iterations_per_epoch).
         */
        IndexBatch next() noexcept(noexcept(std::declval<Sampler&>().next()))
        {
            const IndexBatch b = m_sampler.next();
            const std::size_t lo = b.size * m_rank / m_ranks;
            const std::size_t hi = b.size * (m_rank + 1) / m_ranks;
            return IndexBatch{b.indices == nullptr ? nullptr : b.indices + lo, hi - lo};
        }

        /** @brief The global batch size B (rows per update over all ranks). */
        std::size_t batch_size() const noexcept { return m_sampler.batch_size(); }
        /** @brief Global batches per epoch. */
        std::size_t iterations_per_epoch() const noexcept { return m_sampler.iterations_per_epoch(); }
        /** @brief Samples in the whole dataset (not this rank's share). */
        std::size_t num_samples() const noexcept { return m_sampler.num_samples(); }
        /** @brief The wrapped sampler's options. */
        decltype(auto) options() const noexcept { return m_sampler.options(); }
        /** @brief The epoch last started. */
        std::size_t epoch() const noexcept { return m_sampler.epoch(); }
        /** @brief Samples handed out so far in this epoch, over all ranks. */
        std::size_t position() const noexcept { return m_sampler.position(); }
        /** @brief Global batches handed out so far in this epoch. */
        std::size_t iteration() const noexcept { return m_sampler.iteration(); }

        /** @brief Global batches in the epochs from the next start_epoch() on, where the sampler knows. */
        template <class S = Sampler>
        auto next_iterations_per_epoch() const noexcept -> decltype(std::declval<const S&>().next_iterations_per_epoch())
        {
            return m_sampler.next_iterations_per_epoch();
        }
        /** @brief The global batch size from the next start_epoch() on, where the sampler knows. */
        template <class S = Sampler>
        auto next_batch_size() const noexcept -> decltype(std::declval<const S&>().next_batch_size())
        {
            return m_sampler.next_batch_size();
        }

        /** @brief The global sampler's position: the same on every rank, so any rank's checkpoint resumes all. */
        void save(BinaryWriter& w) const { m_sampler.save(w); }
        /** @brief Restores what save() wrote. */
        void load(BinaryReader& r) { m_sampler.load(r); }

    private:
        Sampler m_sampler;
        std::size_t m_rank;
        std::size_t m_ranks;
    };
}

#endif
