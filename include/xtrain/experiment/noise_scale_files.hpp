/**
 * @file noise_scale_files.hpp
 * @brief A sweep's gradient-noise-scale files: one per run in FOLDER/noise_scale/run-INDEX.csv
 *        (written by the run function), gathered into FOLDER/noise_scale.csv, carried by a merge.
 *
 * Every row holds the run's key (optimizer, lr, batch size, seed, schedule) and one epoch's
 * NoiseScaleRecord. The per-run files are written whole through a rename, so a kill leaves a file
 * complete or absent. run_sweep gathers them into noise_scale.csv when it finishes; merge_results
 * brings the files of every input into the merged folder under the merged grid's indices.
 */
#ifndef XTRAIN_EXPERIMENT_NOISE_SCALE_FILES_HPP
#define XTRAIN_EXPERIMENT_NOISE_SCALE_FILES_HPP

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "xtrain/core/error.hpp"
#include "xtrain/experiment/analysis.hpp"
#include "xtrain/experiment/detail/text_io.hpp"
#include "xtrain/experiment/results_folder.hpp"
#include "xtrain/experiment/sweep_grid.hpp"
#include "xtrain/train/callbacks/noise_scale_monitor.hpp"
#include "xtrain/train/history.hpp"

namespace xtrain
{
    /** @brief Header of the per-run noise-scale files and of noise_scale.csv. */
    inline constexpr const char* noise_scale_csv_header =
        "optimizer,lr,batch_size,seed,schedule,epoch,step,b_simple,grad_sq,trace_sigma,measurements";

    /** @brief Writes one run's noise-scale records as CSV (with the run's key in every row). */
    inline void write_noise_scale_csv(const std::filesystem::path& file, const RunSpec& spec,
                                      const std::vector<NoiseScaleRecord>& records)
    {
        std::ostringstream os;
        os << noise_scale_csv_header << '\n';
        for (const NoiseScaleRecord& r : records)
        {
            os << spec.optimizer << ',' << detail::format_double(spec.lr) << ',' << spec.batch_size << ',' << spec.seed
               << ',' << spec.schedule << ',' << r.epoch << ',' << r.step << ',';
            detail::write_csv_number(os, r.b_simple);
            os << ',';
            detail::write_csv_number(os, r.grad_sq);
            os << ',';
            detail::write_csv_number(os, r.trace_sigma);
            os << ',' << r.measurements << '\n';
        }
        detail::write_file_atomic(file, os.str());
    }

    /** @brief One row of a noise-scale file: a run and one epoch's measurement. */
    struct NoiseScaleRow
    {
        RunKey key;               ///< the run
        NoiseScaleRecord record;  ///< the epoch's measurement
    };

    /** @brief The median B_simple of each grid cell, by (optimizer, schedule, batch size, lr). */
    using NoiseScaleMedians = std::map<std::tuple<std::string, std::string, std::size_t, double>, double>;

    namespace detail
    {
        /** @brief The run index in a per-run file's name "run-INDEX.csv", if it is one. */
        inline std::optional<std::size_t> noise_file_index(const std::filesystem::path& p)
        {
            const std::string name = p.filename().string();
            if (name.size() < 9 || name.compare(0, 4, "run-") != 0 || p.extension() != ".csv")
            {
                return std::nullopt;
            }
            const std::string digits = name.substr(4, name.size() - 8);
            if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 18)
            {
                return std::nullopt;
            }
            return static_cast<std::size_t>(std::stoull(digits));
        }

        /** @brief The per-run files of @p dir (FOLDER/noise_scale), by run index. */
        inline std::map<std::size_t, std::filesystem::path> noise_files(const std::filesystem::path& dir)
        {
            std::map<std::size_t, std::filesystem::path> out;
            std::error_code ec;
            if (!std::filesystem::is_directory(dir, ec))
            {
                return out;
            }
            for (const auto& e : std::filesystem::directory_iterator(dir))
            {
                if (const auto i = noise_file_index(e.path()))
                {
                    out[*i] = e.path();
                }
            }
            return out;
        }

        /** @brief The rows of one noise-scale file; throws data_error naming the file and line. */
        inline std::vector<NoiseScaleRow> read_noise_file(const std::filesystem::path& path, const std::string& text)
        {
            const TextLines t = split_lines(text);
            if (t.lines.empty() || t.lines[0] != noise_scale_csv_header || !t.partial.empty())
            {
                throw data_error(concat(path.string(), ": not a complete noise-scale file written by an xtrain sweep"));
            }
            std::vector<NoiseScaleRow> rows;
            for (std::size_t i = 1; i < t.lines.size(); ++i)
            {
                CsvRow row(path.string(), i + 1, noise_scale_csv_header);
                row.load(t.lines[i]);
                NoiseScaleRow r;
                r.key = row.key(row.col("schedule"));
                r.record.epoch = row.uint("epoch");
                r.record.step = row.uint("step");
                r.record.b_simple = row.real("b_simple");
                r.record.grad_sq = row.real("grad_sq");
                r.record.trace_sigma = row.real("trace_sigma");
                r.record.measurements = static_cast<std::size_t>(row.uint("measurements"));
                rows.push_back(std::move(r));
            }
            return rows;
        }
    }

    /**
     * @brief Reads FOLDER/noise_scale/run-*.csv and writes their rows, in run order, to
     *        FOLDER/noise_scale.csv (atomically). Nothing is written when there is no per-run file.
     * @return every row read
     * @throws data_error naming the file and line of a corrupt per-run file; std::runtime_error if
     *         noise_scale.csv cannot be written
     */
    inline std::vector<NoiseScaleRow> collect_noise_scale(const std::filesystem::path& folder)
    {
        const auto files = detail::noise_files(folder / "noise_scale");
        std::vector<NoiseScaleRow> rows;
        if (files.empty())
        {
            return rows;
        }
        std::string all = std::string(noise_scale_csv_header) + "\n";
        for (const auto& [index, path] : files)
        {
            const std::string text = detail::read_file_text(path);
            for (NoiseScaleRow& r : detail::read_noise_file(path, text))
            {
                rows.push_back(std::move(r));
            }
            all += text.substr(text.find('\n') + 1);
        }
        detail::write_file_atomic(folder / "noise_scale.csv", all);
        return rows;
    }

    /**
     * @brief Per grid cell (optimizer, schedule, batch size, lr), the median over seeds of each
     *        run's median B_simple over its epochs (one epoch's value is noisy, and B_simple drifts
     *        as training proceeds). Epochs without a positive finite value are left out.
     */
    inline NoiseScaleMedians noise_scale_medians(const std::vector<NoiseScaleRow>& rows)
    {
        std::map<RunKey, std::vector<double>> per_run;
        for (const NoiseScaleRow& r : rows)
        {
            if (std::isfinite(r.record.b_simple) && r.record.b_simple > 0.0)
            {
                per_run[r.key].push_back(r.record.b_simple);
            }
        }
        std::map<std::tuple<std::string, std::string, std::size_t, double>, std::vector<double>> per_cell;
        for (const auto& [k, values] : per_run)
        {
            per_cell[{k.optimizer, k.schedule, k.batch_size, k.lr}].push_back(median(values));
        }
        NoiseScaleMedians out;
        for (const auto& [cell, values] : per_cell)
        {
            out[cell] = median(values);
        }
        return out;
    }

    /**
     * @brief Brings the per-run noise-scale files of @p inputs into @p out/noise_scale, named by the
     *        run's index in @p grid (the merged grid), the first input's file kept when several
     *        have one; files of runs the grid does not hold are refused. Files already in @p out
     *        that no input has are removed. Then gathers noise_scale.csv.
     */
    inline void merge_noise_scale_files(const std::vector<std::filesystem::path>& inputs, const std::filesystem::path& out,
                                        const SweepGrid& grid)
    {
        std::map<std::size_t, std::string> texts;  // by merged index, read before anything is written
        for (const auto& in : inputs)
        {
            for (const auto& [index, path] : detail::noise_files(in / "noise_scale"))
            {
                const std::string text = detail::read_file_text(path);
                const auto rows = detail::read_noise_file(path, text);
                if (rows.empty())
                {
                    continue;  // a run without measurements: nothing to carry
                }
                const std::size_t merged = grid.index_of(rows.front().key);
                if (merged >= grid.size())
                {
                    throw data_error(detail::concat(path.string(), ": run ", rows.front().key.str(),
                                                    " is not in the grid of the merged sweep"));
                }
                texts.emplace(merged, text);
            }
        }
        if (texts.empty() && !std::filesystem::exists(out / "noise_scale"))
        {
            return;
        }
        std::filesystem::create_directories(out / "noise_scale");
        for (const auto& [index, text] : texts)
        {
            detail::write_file_atomic(out / "noise_scale" / ("run-" + std::to_string(index) + ".csv"), text);
        }
        for (const auto& [index, path] : detail::noise_files(out / "noise_scale"))
        {
            if (texts.count(index) == 0)
            {
                std::filesystem::remove(path);
            }
        }
        collect_noise_scale(out);
    }
}

#endif
