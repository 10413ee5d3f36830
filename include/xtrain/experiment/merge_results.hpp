/**
 * @file merge_results.hpp
 * @brief Merging the folders of a sharded sweep into one result set.
 *
 * After `--shard K/N` runs on N machines, each with its own output folder, merge_results() puts
 * them together. The merged folder has the same files, sorted the same way, as a folder written
 * by the whole sweep on one machine: the analysis and the figures cannot tell the difference
 * (only the timing columns differ, as they would between any two runs).
 */
#ifndef XTRAIN_EXPERIMENT_MERGE_RESULTS_HPP
#define XTRAIN_EXPERIMENT_MERGE_RESULTS_HPP

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "xtrain/core/error.hpp"
#include "xtrain/experiment/analysis.hpp"
#include "xtrain/experiment/noise_scale_files.hpp"
#include "xtrain/experiment/results_folder.hpp"
#include "xtrain/experiment/sweep_config.hpp"

namespace xtrain
{
    /** @brief What merge_results() did. */
    struct MergeReport
    {
        std::filesystem::path out;     ///< the merged folder
        std::size_t inputs = 0;        ///< folders read (including `out` if it already held results)
        std::size_t runs = 0;          ///< runs with a result in the merged set
        std::size_t duplicates = 0;    ///< runs found in more than one input (the first kept)
        std::size_t failures = 0;      ///< runs that failed everywhere they were tried
        std::size_t missing = 0;       ///< runs of the grid with no result anywhere (run the sweep on `out` to finish them)
        std::size_t dropped_runs = 0;  ///< incomplete runs found in the inputs and left out
    };

    /**
     * @brief Merges the results folders @p inputs into @p out.
     *
     * Every input must hold the same sweep (same fingerprint in meta.json); a folder of another
     * sweep is refused with a message naming it and what differs. A run found in several inputs
     * is taken from the first that has it (inputs are read in order). A run that failed in one
     * shard but has a result in another counts as done. @p out may be new, empty, or already hold
     * results of the same sweep (for instance shard 0's folder, or an earlier merge): its content
     * is read first and kept. summary.csv, summary_by_batch.csv and fits.csv are recomputed;
     * meta.json says "merge of M folders".
     * @p out is locked (FolderLock) while the merge writes it.
     * @throws std::invalid_argument for no inputs or a sweep mismatch; data_error for a corrupt input;
     *         folder_busy if another process writes @p out.
     */
    inline MergeReport merge_results(const std::vector<std::filesystem::path>& inputs, const std::filesystem::path& out,
                                     std::optional<Metric> metric = std::nullopt)
    {
        const char* where = "xtrain::merge_results";
        detail::require(!inputs.empty(), where, "inputs", "an empty list", "must name at least one results folder");
        const FolderLock lock(out, "merging results folders");
        std::vector<std::filesystem::path> sources;
        std::error_code ec;
        const bool out_has_results = std::filesystem::exists(out / "meta.json");
        if (out_has_results)
        {
            sources.push_back(out);
        }
        for (const auto& in : inputs)
        {
            const bool same_as_out = std::filesystem::equivalent(in, out, ec) && !ec;
            if (!(same_as_out && out_has_results))
            {
                sources.push_back(in);
            }
        }
        if (!out_has_results && std::filesystem::exists(out))
        {
            for (const char* f : {"runs.csv", "summary.csv"})
            {
                if (std::filesystem::exists(out / f))
                {
                    throw data_error(detail::concat("'", out.string(), "' has ", f,
                                                    " but no meta.json: not a sweep folder to merge into"));
                }
            }
        }

        MergeReport report;
        report.out = out;
        report.inputs = sources.size();
        ResultSet merged;
        std::vector<ResultSet> sets;
        for (std::size_t s = 0; s < sources.size(); ++s)
        {
            sets.push_back(load_results(sources[s]));
            const ResultSet& set = sets.back();
            if (s == 0)
            {
                merged.meta = set.meta;
                merged.meta.config.grid.refined.clear();
            }
            else if (set.meta.fingerprint != merged.meta.fingerprint)
            {
                throw std::invalid_argument(detail::concat(
                    where, ": '", sources[s].string(), "' holds a different sweep than '", sources[0].string(),
                    "' (fingerprint ", set.meta.fingerprint, " vs ", merged.meta.fingerprint, "): ",
                    describe_differences(set.meta.config, merged.meta.config, "'" + sources[s].string() + "'",
                                         "'" + sources[0].string() + "'"),
                    ". Only shards of one sweep can be merged."));
            }
            // Refined cells: the union over the folders, in the order first seen.
            for (const RefinedCell& c : set.meta.config.grid.refined)
            {
                auto& all = merged.meta.config.grid.refined;
                if (std::none_of(all.begin(), all.end(), [&c](const RefinedCell& o) { return o.same_cell(c); }))
                {
                    all.push_back(c);
                }
            }
        }
        // Indices are those of the merged grid (refined cells may sit at other positions in each folder).
        const SweepGrid& grid = merged.meta.config.grid;
        std::map<std::size_t, FailedRun> failures;
        std::vector<bool> have(grid.size(), false);
        for (ResultSet& set : sets)
        {
            report.dropped_runs += set.dropped_runs;
            for (auto& r : set.runs)
            {
                const std::size_t index = grid.index_of(r.spec.key());
                r.spec = grid.at(index);
                if (have[index])
                {
                    ++report.duplicates;
                    continue;
                }
                have[index] = true;
                merged.runs.push_back(std::move(r));
            }
            for (auto& f : set.failures)
            {
                const std::size_t index = grid.index_of(f.spec.key());
                f.spec = grid.at(index);
                failures[index] = std::move(f);
            }
        }
        for (auto& [index, f] : failures)
        {
            if (!have[index])
            {
                merged.failures.push_back(std::move(f));
            }
        }
        merged.meta.written_by = "merge of " + std::to_string(sources.size()) + " folders";
        std::filesystem::create_directories(out);
        detail::write_file_atomic(out / "meta.json", meta_to_json(merged.meta));
        write_result_files(out, merged, metric);
        merge_noise_scale_files(sources, out, merged.meta.config.grid);
        report.runs = merged.runs.size();
        report.failures = merged.failures.size();
        report.missing = merged.missing().size();
        return report;
    }
}

#endif
