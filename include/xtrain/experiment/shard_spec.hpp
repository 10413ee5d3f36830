/**
 * @file shard_spec.hpp
 * @brief `--shard K/N`: which part of a sweep one process runs.
 *
 * Shard K of N runs the runs whose grid index is K modulo N. Any launcher can spread a sweep this
 * way (a Slurm array with K = $SLURM_ARRAY_TASK_ID, an MPI job with K = rank, a loop over ssh):
 * the processes need nothing from each other, and their folders merge afterwards with
 * `merge_results`.
 */
#ifndef XTRAIN_EXPERIMENT_SHARD_SPEC_HPP
#define XTRAIN_EXPERIMENT_SHARD_SPEC_HPP

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "xtrain/core/error.hpp"
#include "xtrain/experiment/detail/text_io.hpp"

namespace xtrain
{
    /** @brief Shard `index` of `count`: the runs whose grid index is `index` modulo `count`. */
    struct ShardSpec
    {
        std::size_t index = 0;  ///< K, 0 <= K < N
        std::size_t count = 1;  ///< N >= 1; 1 means the whole sweep

        /** @brief True if the run at grid index @p run_index belongs to this shard. */
        bool contains(std::size_t run_index) const noexcept { return count != 0 && run_index % count == index; }
        /** @brief True for 0/1, the whole sweep. */
        bool whole() const noexcept { return count == 1; }
        /** @brief "K/N". */
        std::string str() const { return detail::format_uint(index) + "/" + detail::format_uint(count); }
        /** @brief Throws std::invalid_argument unless 0 <= K < N. */
        void validate() const
        {
            detail::require(count >= 1 && index < count, "xtrain::ShardSpec", "shard", str(),
                            "must be K/N with N >= 1 and 0 <= K < N");
        }
    };

    /**
     * @brief Parses "K/N" (decimal, no spaces), e.g. "0/4".
     * @throws std::invalid_argument naming the text and the rule it breaks.
     */
    inline ShardSpec parse_shard(std::string_view text)
    {
        const char* where = "xtrain::parse_shard";
        const std::string shown = "\"" + std::string(text) + "\"";
        const std::size_t slash = text.find('/');
        detail::require(slash != std::string_view::npos, where, "shard", shown,
                        "must be K/N, e.g. 0/4 (the runs whose index is K modulo N)");
        std::uint64_t k = 0;
        std::uint64_t n = 0;
        detail::require(detail::parse_uint(text.substr(0, slash), k), where, "shard", shown,
                        "must be K/N with K a non-negative integer");
        detail::require(detail::parse_uint(text.substr(slash + 1), n), where, "shard", shown,
                        "must be K/N with N a positive integer");
        detail::require(n >= 1, where, "shard", shown, "must have N >= 1");
        detail::require(k < n, where, "shard", shown, "must have K < N (shards are numbered 0 to N-1)");
        return ShardSpec{static_cast<std::size_t>(k), static_cast<std::size_t>(n)};
    }
}

#endif
