/**
 * @file results_folder.hpp
 * @brief A sweep's results on disk: runs.csv, summary.csv, failures.csv, summary_by_batch.csv,
 *        fits.csv and meta.json; appending run by run, resuming, repairing, reading back.
 *
 * Nothing is lost:
 * - when a run returns, its rows go to runs.csv in one write, then its summary row to
 *   summary.csv in one write, each flushed, under one mutex: rows of different runs never
 *   interleave and a line is never written in two pieces;
 * - summary.csv is the ledger: a run counts as done only if its summary row is complete and
 *   runs.csv holds exactly `eval_rows` rows for it. Opening a folder drops what a kill left half
 *   written (a last line without its line break, rows without a summary row, a row count that
 *   does not match) and rewrites the files without it, so those runs run again;
 * - files are rewritten (repair, finalize, merge) through a temporary file and a rename, so a kill
 *   leaves the old or the new file, never a mixture;
 * - every summary row ends with a checksum (CRC-32) of the run's lines in runs.csv and of the row
 *   itself: a value edited by hand in either file is refused on reading, naming the line and the
 *   run, instead of entering a figure silently (an empty checksum cell turns the check off for
 *   that run, for edits made on purpose).
 * Lines are flushed to the operating system, not synced to the disk: a process kill loses at most
 * the runs in flight; a power cut may lose more (the repair still leaves a consistent folder).
 *
 * One process writes a folder at a time, enforced: a ResultsFolder holds the folder's FolderLock
 * (folder_lock.hpp) for its lifetime, and a second process is refused with a message naming the
 * first. Shards on several machines use one folder each and are merged afterwards
 * (merge_results.hpp).
 */
#ifndef XTRAIN_EXPERIMENT_RESULTS_FOLDER_HPP
#define XTRAIN_EXPERIMENT_RESULTS_FOLDER_HPP

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "xtrain/core/csv_record.hpp"
#include "xtrain/core/error.hpp"
#include "xtrain/core/serialize.hpp"
#include "xtrain/experiment/analysis.hpp"
#include "xtrain/experiment/folder_lock.hpp"
#include "xtrain/experiment/detail/text_io.hpp"
#include "xtrain/experiment/eval_sink.hpp"
#include "xtrain/experiment/run_summary.hpp"
#include "xtrain/experiment/sweep_config.hpp"
#include "xtrain/experiment/sweep_grid.hpp"

namespace xtrain
{
    namespace detail
    {
        /** @brief ",epoch,step,...": the names EvalRow::visit lists, each after a comma. */
        inline std::string eval_row_names() { return "," + csv_names<EvalRow>(); }
    }

    /** @brief Header of runs.csv: the run's key, one evaluation row (EvalRow), the diverged flag and the schedule label. */
    inline const std::string runs_csv_header =
        "optimizer,lr,batch_size,seed" + detail::eval_row_names() + ",diverged,schedule";
    /** @brief Header of summary.csv (one row per finished, diverged or stalled run): its last row is an EvalRow. */
    inline const std::string summary_csv_header =
        "optimizer,lr,batch_size,seed,schedule,status,diverged,eval_rows" + detail::eval_row_names()
        + ",best_val_accuracy,min_val_loss,"
        "run_seconds,target,target_reached,epochs_to_target,steps_to_target,examples_to_target,"
        "seconds_to_target,target_resolution_steps,test_loss,test_accuracy,eval_seconds,refine_seconds,guard_step,guard_rules,note,"
        "checksum";
    /** @brief Header of failures.csv (runs whose function threw, and have not succeeded since). */
    inline constexpr const char* failures_csv_header = "optimizer,lr,batch_size,seed,schedule,message";
    /** @brief Header of summary_by_batch.csv (one row per optimizer, schedule and batch size). */
    inline constexpr const char* summary_by_batch_csv_header =
        "optimizer,schedule,batch_size,metric,lrs_tried,best_lr,best_lr_lo,best_lr_hi,best_value,best_seeds,"
        "best_at_edge,largest_stable_lr,smallest_unstable_lr,smallest_diverged_lr,diverged_runs,stalled_runs,"
        "steps_to_target,steps_to_target_lo,steps_to_target_hi,examples_to_target,epochs_to_target,lr_to_target,"
        "target_resolution_limited,warnings";
    /** @brief Header of fits.csv (one row per optimizer and schedule). */
    inline constexpr const char* fits_csv_header =
        "optimizer,schedule,metric,best_lr_slope,best_lr_slope_lo,best_lr_slope_hi,best_lr_intercept,best_lr_r2,"
        "best_lr_points,s_min,s_min_lo,s_min_hi,b_noise,b_noise_lo,b_noise_hi,steps_r2,steps_points,"
        "steps_points_refused,steps_fit_valid,bootstrap_draws,bootstrap_valid_fits,warnings";

    /** @brief One run with everything recorded about it. */
    struct RunRecord
    {
        RunSpec spec;               ///< the run (index and key)
        RunSummary summary;         ///< its row of summary.csv
        std::vector<EvalRow> rows;  ///< its rows of runs.csv, in the order reported
    };

    /** @brief A run whose function threw (the sweep retries it when run again). */
    struct FailedRun
    {
        RunSpec spec;         ///< the run
        std::string message;  ///< the exception's what()
    };

    /** @brief Everything a results folder holds, in memory, runs in grid order. */
    struct ResultSet
    {
        SweepMeta meta;                   ///< meta.json
        std::vector<RunRecord> runs;      ///< finished and diverged runs, by grid index
        std::vector<FailedRun> failures;  ///< runs that failed and have no result
        std::size_t dropped_lines = 0;    ///< half-written last lines found (and ignored)
        std::size_t dropped_runs = 0;     ///< runs found incomplete (and ignored): the two kinds below
        std::size_t runs_missing_rows = 0;   ///< of which: a summary row, but not all the run's rows in runs.csv
        std::size_t rows_without_summary = 0; ///< of which: rows in runs.csv, no summary row (a run cut short)
        std::vector<std::string> missing_files; ///< runs.csv, summary.csv or failures.csv absent (or empty)

        /**
         * @brief What opening the folder found incomplete, in words ("" if nothing), e.g. "runs.csv
         * missing; 120 runs with a summary row but not all their rows in runs.csv (rerun)".
         */
        std::string describe_damage() const
        {
            std::string out;
            const auto add = [&out](const std::string& part) { out += (out.empty() ? "" : "; ") + part; };
            for (const std::string& f : missing_files)
            {
                add(f + " missing or empty");
            }
            if (runs_missing_rows != 0)
            {
                add(std::to_string(runs_missing_rows) + " run" + (runs_missing_rows == 1 ? "" : "s")
                    + " with a summary row but not all their rows in runs.csv (rerun)");
            }
            if (rows_without_summary != 0)
            {
                add(std::to_string(rows_without_summary) + " run" + (rows_without_summary == 1 ? "" : "s")
                    + " with rows but no summary row, cut short by an interruption (rerun)");
            }
            if (dropped_lines != 0)
            {
                add(std::to_string(dropped_lines) + " half-written last line" + (dropped_lines == 1 ? "" : "s"));
            }
            return out;
        }

        /** @brief The summaries of all runs, for analysis.hpp. */
        std::vector<RunSummary> summaries() const
        {
            std::vector<RunSummary> out;
            out.reserve(runs.size());
            for (const auto& r : runs)
            {
                out.push_back(r.summary);
            }
            return out;
        }
        /** @brief The run with key @p k, or nullptr. */
        const RunRecord* find(const RunKey& k) const
        {
            for (const auto& r : runs)
            {
                if (r.spec.key() == k)
                {
                    return &r;
                }
            }
            return nullptr;
        }
        /** @brief Grid indices of the runs without a result (failed or never run). */
        std::vector<std::size_t> missing() const
        {
            std::vector<bool> have(meta.config.grid.size(), false);
            for (const auto& r : runs)
            {
                have[r.spec.index] = true;
            }
            std::vector<std::size_t> out;
            for (std::size_t i = 0; i < have.size(); ++i)
            {
                if (!have[i])
                {
                    out.push_back(i);
                }
            }
            return out;
        }
    };

    /**
     * @brief Reads a results folder (read-only) into a consistent ResultSet: half-written lines and
     *        incomplete runs are ignored and counted, as resuming would drop them.
     * @throws data_error naming the file and line if a file was not written by an xtrain sweep, is
     *         corrupt in the middle, or names runs outside the grid of meta.json.
     */
    inline ResultSet load_results(const std::filesystem::path& dir);

    /**
     * @brief Rewrites every CSV file of @p dir from @p set (sorted by grid index), plus the
     *        summary_by_batch.csv and fits.csv tables computed with @p metric (default_metric()
     *        when empty). meta.json is not touched.
     */
    inline void write_result_files(const std::filesystem::path& dir, const ResultSet& set,
                                   std::optional<Metric> metric = std::nullopt);

    /**
     * @brief Writes the files of @p dir from @p set and tables already computed (analyze_runs()):
     *        the writing alone, for a program that also shows the tables.
     */
    inline void write_result_files(const std::filesystem::path& dir, const ResultSet& set, const ResultTables& tables);

    /**
     * @brief A folder being written by a sweep: created, or opened to resume.
     *
     * Opening checks meta.json against the sweep's configuration and refuses (std::invalid_argument,
     * naming every field that differs) to mix results of different sweeps. It then repairs what a
     * kill may have left (see the file comment). append() and append_failure() may be called from
     * several threads at once.
     */
    class ResultsFolder
    {
    public:
        /**
         * @brief Creates @p dir (and meta.json with @p written_by) or opens it to resume.
         * @throws std::invalid_argument if @p dir holds another sweep's results;
         *         data_error if its files are not a sweep's or are corrupt beyond a cut last line;
         *         folder_busy if another process writes @p dir (the lock is held until destruction).
         */
        ResultsFolder(std::filesystem::path dir, const SweepConfig& config, const std::string& written_by);
        ResultsFolder(const ResultsFolder&) = delete;
        ResultsFolder& operator=(const ResultsFolder&) = delete;

        /** @brief The folder. */
        const std::filesystem::path& dir() const noexcept { return m_dir; }
        /** @brief What is in it (not to be read while other threads append). */
        const ResultSet& results() const noexcept { return m_set; }
        /** @brief True if the run at grid index @p index has a result. */
        bool done(std::size_t index) const;
        /** @brief True if the folder was created by this object (nothing to resume). */
        bool created() const noexcept { return m_created; }

        /** @brief Writes a run's rows then its summary row, each in one write, flushed. Thread-safe. */
        void append(RunRecord record);
        /** @brief Records a failed run in failures.csv, flushed. Thread-safe. */
        void append_failure(FailedRun failure);
        /** @brief Rewrites the files sorted by grid index and writes the per-batch tables. */
        void finalize(std::optional<Metric> metric = std::nullopt);
        /**
         * @brief Adds refined cells to the grid and lists them in meta.json (rewritten atomically)
         * before any of their runs is written. Not while runs are being appended.
         * @throws std::invalid_argument if a cell does not fit the grid or repeats one.
         */
        void add_refined(const std::vector<RefinedCell>& cells);

    private:
        void append_line_block(std::ofstream& out, const std::filesystem::path& path, const std::string& block);

        std::filesystem::path m_dir;
        FolderLock m_lock;
        ResultSet m_set;
        std::vector<bool> m_done;
        bool m_created = false;
        std::mutex m_mutex;
        std::ofstream m_runs;
        std::ofstream m_summary;
        std::ofstream m_failures;
    };

    // ---------------------------------------------------------------------------------------------
    // Implementation
    // ---------------------------------------------------------------------------------------------

    namespace detail
    {
        inline std::string key_fields_runs(const RunKey& k)
        {
            return k.optimizer + "," + format_double(k.lr) + "," + format_uint(k.batch_size) + ","
                 + format_uint(k.seed);
        }

        /** @brief Warning codes as one CSV cell: "a;b" (codes have no commas). */
        inline std::string warnings_cell(const std::vector<std::string>& codes)
        {
            std::string out;
            for (const auto& c : codes)
            {
                out += (out.empty() ? "" : ";") + c;
            }
            return out;
        }

        /** @brief ",epoch,step,...": the fields of @p r as EvalRow::visit lists them, each after a comma. */
        inline std::string eval_row_fields(const EvalRow& r) { return "," + csv_fields(r); }

        inline std::string runs_csv_line(const RunKey& k, const EvalRow& r, bool diverged)
        {
            std::string s = key_fields_runs(k);
            s += eval_row_fields(r);
            s += diverged ? ",1," : ",0,";
            s += k.schedule;
            s += '\n';
            return s;
        }

        inline std::string summary_csv_line(const RunSummary& s)
        {
            const RunKey& k = s.key;
            std::string o = key_fields_runs(k) + "," + k.schedule;
            o += ",";
            o += run_outcome_name(s.status);
            o += s.diverged() ? ",1," : ",0,";
            o += format_uint(s.eval_rows);
            o += eval_row_fields(s.last);
            o += "," + format_double(s.best_val_accuracy) + "," + format_double(s.min_val_loss);
            o += "," + format_double(s.run_seconds) + "," + s.target.str();
            if (s.target_reached)
            {
                o += ",1," + format_double(s.to_target.epoch) + "," + format_uint(s.to_target.step) + ","
                   + format_uint(s.to_target.examples) + "," + format_double(s.to_target.seconds) + ","
                   + format_uint(s.to_target.resolution);
            }
            else
            {
                o += ",0,,,,,";
            }
            o += "," + format_double(s.test_loss) + "," + format_double(s.test_accuracy) + ","
               + format_double(s.eval_seconds) + "," + format_double(s.refine_seconds) + "," + format_uint(s.guard_step)
               + "," + s.guard_rules;
            o += "," + csv_field(s.note);
            o += '\n';
            return o;
        }

        /** @brief The checksum of a run: CRC-32 of its runs.csv lines, then of its summary row up to the checksum. */
        inline std::uint32_t run_checksum(const std::string& rows, std::string_view summary_fields)
        {
            return crc32_update(crc32_update(0, rows.data(), rows.size()), summary_fields.data(), summary_fields.size());
        }

        inline std::string checksum_text(std::uint32_t crc)
        {
            static const char digits[] = "0123456789abcdef";
            std::string out(8, '0');
            for (std::size_t i = 0; i < 8; ++i)
            {
                out[7 - i] = digits[(crc >> (4 * i)) & 0xFU];
            }
            return out;
        }

        /**
         * @brief The summary.csv line of a run whose runs.csv lines are @p rows (each ending in '\n'):
         *        its fields, then the checksum over both, so a value edited by hand in either file is
         *        refused when the folder is read back.
         */
        inline std::string sealed_summary_line(const std::string& rows, const RunSummary& s)
        {
            std::string line = summary_csv_line(s);
            line.pop_back();  // the '\n'
            line += "," + checksum_text(run_checksum(rows, line)) + "\n";
            return line;
        }

        inline std::string failures_csv_line(const FailedRun& f)
        {
            return key_fields_runs(f.spec.key()) + "," + f.spec.schedule + "," + csv_field(f.message) + "\n";
        }

        /** @brief Typed access to the fields of one CSV line, with messages naming file, line and column. */
        class CsvRow
        {
        public:
            CsvRow(const std::string& file, std::size_t line, const std::string& header)
                : m_file(file), m_line(line)
            {
                split_csv_line(header, m_names);
            }

            void load(const std::string& text)
            {
                if (!split_csv_line(text, m_fields))
                {
                    fail("has a malformed quoted field");
                }
                if (m_fields.size() != m_names.size())
                {
                    fail(concat("has ", m_fields.size(), " fields, expected ", m_names.size()));
                }
            }

            [[noreturn]] void fail(const std::string& what) const
            {
                throw data_error(concat(m_file, " line ", m_line, ": ", what));
            }

            const std::string& str(std::size_t i) const { return m_fields[i]; }

            /** @brief The position of column @p name in the header (a programming error if absent). */
            std::size_t col(std::string_view name) const
            {
                for (std::size_t i = 0; i < m_names.size(); ++i)
                {
                    if (m_names[i] == name)
                    {
                        return i;
                    }
                }
                throw std::logic_error(concat("xtrain: no column '", name, "' in the header of ", m_file));
            }
            /** @brief The text of column @p name. */
            const std::string& str(std::string_view name) const { return m_fields[col(name)]; }
            /** @brief Column @p name as a number. */
            double real(std::string_view name) const { return real(col(name)); }
            /** @brief Column @p name as a non-negative integer. */
            std::uint64_t uint(std::string_view name) const { return uint(col(name)); }
            /** @brief Column @p name as 0 or 1. */
            bool flag(std::string_view name) const { return flag(col(name)); }

            double real(std::size_t i) const
            {
                double v = 0.0;
                if (!parse_double(m_fields[i], v))
                {
                    fail(concat("column ", m_names[i], " is not a number (got \"", m_fields[i], "\")"));
                }
                return v;
            }

            std::uint64_t uint(std::size_t i) const
            {
                std::uint64_t v = 0;
                if (!parse_uint(m_fields[i], v))
                {
                    fail(concat("column ", m_names[i], " is not a non-negative integer (got \"", m_fields[i],
                                "\")"));
                }
                return v;
            }

            bool flag(std::size_t i) const
            {
                if (m_fields[i] != "0" && m_fields[i] != "1")
                {
                    fail(concat("column ", m_names[i], " must be 0 or 1 (got \"", m_fields[i], "\")"));
                }
                return m_fields[i] == "1";
            }

            /** @brief The run key from (optimizer, lr, batch_size, seed) at 0..3 and schedule at @p sched. */
            RunKey key(std::size_t sched) const
            {
                return RunKey{m_fields[0], real(1), static_cast<std::size_t>(uint(2)), uint(3), m_fields[sched]};
            }

        private:
            std::string m_file;
            std::size_t m_line;
            std::vector<std::string> m_names;
            std::vector<std::string> m_fields;
        };

        /** @brief The complete lines of a CSV file after its header; counts a cut last line. */
        inline std::vector<std::string> csv_body(const std::filesystem::path& path, const std::string& header,
                                                 std::size_t& dropped_lines)
        {
            if (!std::filesystem::exists(path))
            {
                return {};
            }
            TextLines t = split_lines(read_file_text(path));
            if (!t.partial.empty())
            {
                ++dropped_lines;  // a write cut by a kill; its run is incomplete and will rerun
            }
            if (t.lines.empty())
            {
                return {};  // empty, or only a cut header
            }
            if (t.lines[0] != header)
            {
                throw data_error(concat(path.string(), " line 1: not a file written by an xtrain sweep (header \"",
                                        t.lines[0], "\", expected \"", header, "\")"));
            }
            t.lines.erase(t.lines.begin());
            return std::move(t.lines);
        }

        /** @brief The EvalRow fields of @p row, read by column name as EvalRow::visit lists them. */
        inline EvalRow read_eval_row(const CsvRow& row)
        {
            EvalRow r;
            EvalRow::visit(r, [&row](const char* name, auto& v) {
                if constexpr (std::is_floating_point_v<std::decay_t<decltype(v)>>)
                {
                    v = row.real(name);
                }
                else
                {
                    v = row.uint(name);
                }
            });
            return r;
        }

        inline RunSpec spec_in_grid(const SweepGrid& grid, const RunKey& k, const CsvRow& row)
        {
            const std::size_t index = grid.index_of(k);
            if (index >= grid.size())
            {
                row.fail("run " + k.str() + " is not in the grid of meta.json (a file from another sweep?)");
            }
            return grid.at(index);
        }

        /** @brief Reads the CSV files of @p dir for @p meta; drops and counts what is incomplete. */
        inline ResultSet read_result_files(const std::filesystem::path& dir, SweepMeta meta)
        {
            ResultSet set;
            set.meta = std::move(meta);
            const SweepGrid& grid = set.meta.config.grid;

            // summary.csv: the ledger.
            std::map<std::size_t, RunSummary> summaries;
            struct Seal
            {
                std::size_t line = 0;
                std::string fields;  // the row up to its checksum, which covers it
                std::optional<std::uint32_t> checksum;  // empty cell: not checked
            };
            std::map<std::size_t, Seal> seals;
            {
                const auto path = dir / "summary.csv";
                const auto lines = csv_body(path, summary_csv_header, set.dropped_lines);
                for (std::size_t i = 0; i < lines.size(); ++i)
                {
                    if (lines[i].empty())
                    {
                        continue;
                    }
                    CsvRow row(path.string(), i + 2, summary_csv_header);
                    row.load(lines[i]);
                    RunSummary s;
                    s.key = row.key(row.col("schedule"));
                    const RunSpec spec = spec_in_grid(grid, s.key, row);
                    const std::string& status = row.str("status");
                    if (status == "finished")
                    {
                        s.status = RunOutcome::finished;
                    }
                    else if (status == "diverged")
                    {
                        s.status = RunOutcome::diverged;
                    }
                    else if (status == "stalled")
                    {
                        s.status = RunOutcome::stalled;
                    }
                    else
                    {
                        row.fail("column status must be finished, diverged or stalled (got \"" + status + "\")");
                    }
                    if (row.flag("diverged") != s.diverged())
                    {
                        row.fail("columns status and diverged disagree");
                    }
                    s.eval_rows = static_cast<std::size_t>(row.uint("eval_rows"));
                    s.last = read_eval_row(row);
                    s.best_val_accuracy = row.real("best_val_accuracy");
                    s.min_val_loss = row.real("min_val_loss");
                    s.run_seconds = row.real("run_seconds");
                    try
                    {
                        s.target = parse_target(row.str("target"));
                    }
                    catch (const std::invalid_argument& e)
                    {
                        row.fail(e.what());
                    }
                    s.target_reached = row.flag("target_reached");
                    const char* hit_columns[] = {"epochs_to_target", "steps_to_target", "examples_to_target",
                                                 "seconds_to_target", "target_resolution_steps"};
                    if (s.target_reached)
                    {
                        s.to_target = TargetHit{row.real("epochs_to_target"), row.uint("steps_to_target"),
                                                row.uint("examples_to_target"), row.real("seconds_to_target"),
                                                row.uint("target_resolution_steps")};
                        if (s.to_target.resolution > s.to_target.step)
                        {
                            row.fail("target_resolution_steps is larger than steps_to_target");
                        }
                    }
                    else
                    {
                        for (const char* c : hit_columns)
                        {
                            if (!row.str(c).empty())
                            {
                                row.fail("target_reached is 0 but the *_to_target columns are not empty");
                            }
                        }
                    }
                    s.test_loss = row.real("test_loss");
                    s.test_accuracy = row.real("test_accuracy");
                    s.eval_seconds = row.real("eval_seconds");
                    s.refine_seconds = row.real("refine_seconds");
                    s.guard_step = row.uint("guard_step");
                    s.guard_rules = row.str("guard_rules");
                    s.note = row.str("note");
                    if (!summaries.emplace(spec.index, s).second)
                    {
                        row.fail("run " + s.key.str() + " has a second summary row (two processes wrote this folder?)");
                    }
                    Seal seal{i + 2, lines[i].substr(0, lines[i].rfind(',')), std::nullopt};
                    if (const std::string& c = row.str("checksum"); !c.empty())
                    {
                        if (c.size() != 8 || c.find_first_not_of("0123456789abcdef") != std::string::npos)
                        {
                            row.fail("column checksum must be 8 hexadecimal digits, or empty (got \"" + c + "\")");
                        }
                        seal.checksum = static_cast<std::uint32_t>(std::stoul(c, nullptr, 16));
                    }
                    seals[spec.index] = std::move(seal);
                }
            }

            // runs.csv: rows grouped in contiguous blocks per run.
            std::map<std::size_t, std::pair<std::vector<EvalRow>, bool>> blocks;  // rows, diverged flag ok
            std::map<std::size_t, std::uint32_t> block_crc;  // CRC-32 of each block's lines, as written
            {
                const auto path = dir / "runs.csv";
                const auto lines = csv_body(path, runs_csv_header, set.dropped_lines);
                std::size_t current = grid.size();
                for (std::size_t i = 0; i < lines.size(); ++i)
                {
                    if (lines[i].empty())
                    {
                        continue;
                    }
                    CsvRow row(path.string(), i + 2, runs_csv_header);
                    row.load(lines[i]);
                    const RunSpec spec = spec_in_grid(grid, row.key(row.col("schedule")), row);
                    const EvalRow r = read_eval_row(row);
                    const bool diverged = row.flag("diverged");
                    if (spec.index != current)
                    {
                        if (blocks.count(spec.index) != 0)
                        {
                            row.fail("rows of run " + spec.key().str()
                                     + " are not contiguous (two processes wrote this folder, or it was edited)");
                        }
                        current = spec.index;
                        blocks[current] = {{}, true};
                    }
                    auto& block = blocks[current];
                    block.first.push_back(r);
                    std::uint32_t& crc = block_crc[current];
                    crc = crc32_update(crc, lines[i].data(), lines[i].size());
                    crc = crc32_update(crc, "\n", 1);
                    const auto it = summaries.find(current);
                    if (it != summaries.end() && it->second.diverged() != diverged)
                    {
                        block.second = false;
                    }
                }
            }

            // A run counts only if its summary row and all its rows are there.
            for (auto& [index, s] : summaries)
            {
                auto b = blocks.find(index);
                const std::size_t have = b == blocks.end() ? 0 : b->second.first.size();
                const bool flags_ok = b == blocks.end() || b->second.second;
                if (have != s.eval_rows || !flags_ok)
                {
                    ++set.dropped_runs;
                    ++set.runs_missing_rows;
                    continue;
                }
                const Seal& seal = seals.at(index);
                if (seal.checksum)
                {
                    const auto crc = block_crc.find(index);
                    const std::uint32_t computed =
                        crc32_update(crc == block_crc.end() ? 0 : crc->second, seal.fields.data(), seal.fields.size());
                    if (computed != *seal.checksum)
                    {
                        throw data_error(concat(
                            (dir / "summary.csv").string(), " line ", seal.line, ": run ", s.key.str(),
                            " does not match its checksum (", checksum_text(*seal.checksum), ", computed ",
                            checksum_text(computed), "): its row here or its rows in ", (dir / "runs.csv").string(),
                            " were changed after xtrain wrote them. Restore the files (or rerun the run by deleting its"
                            " rows from both); to keep an edit on purpose, empty this row's checksum cell"));
                    }
                }
                RunRecord rec;
                rec.spec = grid.at(index);
                rec.summary = s;
                if (b != blocks.end())
                {
                    rec.rows = std::move(b->second.first);
                }
                set.runs.push_back(std::move(rec));
            }
            for (const auto& [index, b] : blocks)
            {
                if (summaries.count(index) == 0)
                {
                    ++set.dropped_runs;  // rows written, summary not: the kill came in between
                    ++set.rows_without_summary;
                }
            }

            // failures.csv: the latest message per run that still has no result.
            {
                const auto path = dir / "failures.csv";
                const auto lines = csv_body(path, failures_csv_header, set.dropped_lines);
                std::map<std::size_t, FailedRun> latest;
                for (std::size_t i = 0; i < lines.size(); ++i)
                {
                    if (lines[i].empty())
                    {
                        continue;
                    }
                    CsvRow row(path.string(), i + 2, failures_csv_header);
                    row.load(lines[i]);
                    const RunSpec spec = spec_in_grid(grid, row.key(row.col("schedule")), row);
                    latest[spec.index] = FailedRun{spec, row.str("message")};
                }
                std::set<std::size_t> done;
                for (const auto& r : set.runs)
                {
                    done.insert(r.spec.index);
                }
                for (auto& [index, f] : latest)
                {
                    if (done.count(index) == 0)
                    {
                        set.failures.push_back(std::move(f));
                    }
                }
            }
            return set;
        }
    }

    inline ResultSet load_results(const std::filesystem::path& dir)
    {
        const auto meta_path = dir / "meta.json";
        if (!std::filesystem::exists(meta_path))
        {
            throw data_error(detail::concat("'", dir.string(), "' is not a sweep's results folder (no meta.json)"));
        }
        return detail::read_result_files(dir, read_meta(meta_path));
    }

    inline void write_result_files(const std::filesystem::path& dir, const ResultSet& set, std::optional<Metric> metric)
    {
        write_result_files(dir, set, analyze_runs(set.summaries(), metric));
    }

    inline void write_result_files(const std::filesystem::path& dir, const ResultSet& set, const ResultTables& tables)
    {
        std::vector<const RunRecord*> runs;
        for (const auto& r : set.runs)
        {
            runs.push_back(&r);
        }
        std::stable_sort(runs.begin(), runs.end(),
                         [](const RunRecord* a, const RunRecord* b) { return a->spec.index < b->spec.index; });
        std::string rows = runs_csv_header + "\n";
        std::string summary = summary_csv_header + "\n";
        std::set<std::size_t> done;
        for (const RunRecord* r : runs)
        {
            done.insert(r->spec.index);
            std::string run_rows;
            for (const auto& row : r->rows)
            {
                run_rows += detail::runs_csv_line(r->spec.key(), row, r->summary.diverged());
            }
            summary += detail::sealed_summary_line(run_rows, r->summary);
            rows += run_rows;
        }
        std::string failures = std::string(failures_csv_header) + "\n";
        std::vector<const FailedRun*> failed;
        for (const auto& f : set.failures)
        {
            if (done.count(f.spec.index) == 0)
            {
                failed.push_back(&f);
            }
        }
        std::stable_sort(failed.begin(), failed.end(),
                         [](const FailedRun* a, const FailedRun* b) { return a->spec.index < b->spec.index; });
        for (const FailedRun* f : failed)
        {
            failures += detail::failures_csv_line(*f);
        }

        const Metric m = tables.metric;
        std::string by_batch = std::string(summary_by_batch_csv_header) + "\n";
        using detail::format_double;
        using detail::format_uint;
        for (const auto& b : tables.by_batch)
        {
            by_batch += b.optimizer + "," + b.schedule + "," + format_uint(b.batch_size) + "," + metric_name(m) + ","
                      + format_uint(b.lrs_tried) + "," + format_double(b.best_lr) + "," + format_double(b.best_lr_lo)
                      + "," + format_double(b.best_lr_hi) + "," + format_double(b.best_value) + ","
                      + format_uint(b.best_seeds) + "," + (b.best_at_edge ? "1" : "0") + ","
                      + format_double(b.largest_stable_lr) + "," + format_double(b.smallest_unstable_lr) + ","
                      + format_double(b.smallest_diverged_lr) + "," + format_uint(b.diverged_runs) + ","
                      + format_uint(b.stalled_runs) + "," + format_double(b.steps_to_target) + ","
                      + format_double(b.steps_to_target_lo) + "," + format_double(b.steps_to_target_hi) + ","
                      + format_double(b.examples_to_target) + "," + format_double(b.epochs_to_target) + ","
                      + format_double(b.lr_to_target) + "," + (b.target_resolution_limited ? "1" : "0") + ","
                      + detail::warnings_cell(b.warnings) + "\n";
        }
        std::string fits = std::string(fits_csv_header) + "\n";
        for (const FitSummary& f : tables.fits)
        {
            const LineFit& lf = f.best_lr;
            const StepsFit& sf = f.steps;
            fits += f.optimizer + "," + f.schedule + "," + metric_name(m) + "," + format_double(lf.slope) + ","
                  + format_double(f.slope_lo) + "," + format_double(f.slope_hi) + "," + format_double(lf.intercept) + ","
                  + format_double(lf.r_squared) + "," + format_uint(lf.points) + "," + format_double(sf.s_min) + ","
                  + format_double(f.s_min_lo) + "," + format_double(f.s_min_hi) + "," + format_double(sf.b_noise) + ","
                  + format_double(f.b_noise_lo) + "," + format_double(f.b_noise_hi) + "," + format_double(sf.r_squared)
                  + "," + format_uint(sf.points) + "," + format_uint(f.refused_points) + "," + (sf.valid() ? "1" : "0")
                  + "," + format_uint(f.bootstrap_draws) + "," + format_uint(f.bootstrap_valid_fits) + ","
                  + detail::warnings_cell(f.warnings) + "\n";
        }
        std::filesystem::create_directories(dir);
        detail::write_file_atomic(dir / "runs.csv", rows);
        detail::write_file_atomic(dir / "summary.csv", summary);
        detail::write_file_atomic(dir / "failures.csv", failures);
        detail::write_file_atomic(dir / "summary_by_batch.csv", by_batch);
        detail::write_file_atomic(dir / "fits.csv", fits);
    }

    inline ResultsFolder::ResultsFolder(std::filesystem::path dir, const SweepConfig& config,
                                        const std::string& written_by)
        : m_dir(std::move(dir)), m_lock((config.validate(), FolderLock(m_dir, "writing a sweep (" + written_by + ")")))
    {
        const auto meta_path = m_dir / "meta.json";
        if (std::filesystem::exists(meta_path))
        {
            SweepMeta meta = read_meta(meta_path);
            if (meta.fingerprint != config.fingerprint())
            {
                throw std::invalid_argument(detail::concat(
                    "xtrain::ResultsFolder: '", m_dir.string(), "' holds the results of a different sweep (fingerprint ",
                    meta.fingerprint, ", this sweep ", config.fingerprint(),
                    "): ", describe_differences(meta.config, config, "the folder", "this sweep"),
                    ". Refusing to mix them: choose another output folder, or delete this one to start over."));
            }
            m_set = detail::read_result_files(m_dir, std::move(meta));
            bool headers_missing = false;
            for (const char* f : {"runs.csv", "summary.csv", "failures.csv"})
            {
                std::error_code ec;
                if (std::filesystem::file_size(m_dir / f, ec) == 0 || ec)
                {
                    headers_missing = true;
                    m_set.missing_files.emplace_back(f);
                }
            }
            if (m_set.dropped_lines != 0 || m_set.dropped_runs != 0 || headers_missing)
            {
                write_result_files(m_dir, m_set);  // repair: the incomplete runs disappear and will rerun
            }
        }
        else
        {
            for (const char* f : {"runs.csv", "summary.csv"})
            {
                if (std::filesystem::exists(m_dir / f))
                {
                    throw data_error(detail::concat("'", m_dir.string(), "' has ", f,
                                                    " but no meta.json: not a sweep folder xtrain can resume"));
                }
            }
            m_created = true;
            std::filesystem::create_directories(m_dir);
            m_set.meta.config = config;
            m_set.meta.fingerprint = config.fingerprint();
            m_set.meta.xtrain_version = version_string;
            m_set.meta.compiler = compiler_description();
            m_set.meta.written_by = written_by;
            // meta.json first: a folder with CSV files but no meta.json is refused as foreign.
            detail::write_file_atomic(meta_path, meta_to_json(m_set.meta));
            write_result_files(m_dir, m_set);
        }
        m_done.assign(m_set.meta.config.grid.size(), false);
        for (const auto& r : m_set.runs)
        {
            m_done[r.spec.index] = true;
        }
    }

    inline bool ResultsFolder::done(std::size_t index) const
    {
        return index < m_done.size() && m_done[index];
    }

    inline void ResultsFolder::append_line_block(std::ofstream& out, const std::filesystem::path& path,
                                                 const std::string& block)
    {
        if (!out.is_open())
        {
            out.open(path, std::ios::binary | std::ios::app);
            if (!out)
            {
                throw std::runtime_error(detail::concat("cannot open '", path.string(), "' for appending"));
            }
        }
        out.write(block.data(), static_cast<std::streamsize>(block.size()));
        out.flush();
        if (!out)
        {
            throw std::runtime_error(detail::concat("cannot write '", path.string(), "' (disk full?)"));
        }
    }

    inline void ResultsFolder::append(RunRecord record)
    {
        std::string rows;
        for (const auto& r : record.rows)
        {
            rows += detail::runs_csv_line(record.spec.key(), r, record.summary.diverged());
        }
        const std::string summary = detail::sealed_summary_line(rows, record.summary);
        std::lock_guard<std::mutex> lock(m_mutex);
        if (!rows.empty())
        {
            append_line_block(m_runs, m_dir / "runs.csv", rows);
        }
        append_line_block(m_summary, m_dir / "summary.csv", summary);
        m_done[record.spec.index] = true;
        m_set.runs.push_back(std::move(record));
    }

    inline void ResultsFolder::append_failure(FailedRun failure)
    {
        const std::string line = detail::failures_csv_line(failure);
        std::lock_guard<std::mutex> lock(m_mutex);
        append_line_block(m_failures, m_dir / "failures.csv", line);
        m_set.failures.push_back(std::move(failure));
    }

    inline void ResultsFolder::add_refined(const std::vector<RefinedCell>& cells)
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        SweepGrid grid = m_set.meta.config.grid;
        grid.refined.insert(grid.refined.end(), cells.begin(), cells.end());
        grid.validate();
        SweepMeta meta = m_set.meta;
        meta.config.grid = grid;
        detail::write_file_atomic(m_dir / "meta.json", meta_to_json(meta));
        m_set.meta = std::move(meta);
        m_done.resize(m_set.meta.config.grid.size(), false);
    }

    inline void ResultsFolder::finalize(std::optional<Metric> metric)
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        for (std::ofstream* s : {&m_runs, &m_summary, &m_failures})
        {
            if (s->is_open())
            {
                s->close();
            }
        }
        std::stable_sort(m_set.runs.begin(), m_set.runs.end(),
                         [](const RunRecord& a, const RunRecord& b) { return a.spec.index < b.spec.index; });
        // Keep only the latest failure of each run that still has no result.
        std::map<std::size_t, FailedRun> latest;
        for (auto& f : m_set.failures)
        {
            if (!m_done[f.spec.index])
            {
                latest[f.spec.index] = std::move(f);
            }
        }
        m_set.failures.clear();
        for (auto& [index, f] : latest)
        {
            m_set.failures.push_back(std::move(f));
        }
        write_result_files(m_dir, m_set, metric);
    }
}

#endif
