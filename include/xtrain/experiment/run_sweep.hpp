/**
 * @file run_sweep.hpp
 * @brief Runs a sweep: every run of the grid (or of one shard) not yet in the results folder, in
 *        parallel over worker threads, one BLAS thread each, with a progress line.
 *
 * The engine knows nothing about training: it calls a *run function*
 * `RunResult fn(const RunSpec&, EvalSink&)` per run, and writes what the function reports.
 * See eval_sink.hpp for the function's contract and results_folder.hpp for the files.
 *
 * Progress goes to SweepOptions::log (standard error by default):
 * - on a terminal, one status line redrawn in place (runs done / total, running, diverged,
 *   failed, elapsed, ETA), plus a permanent line per failed run;
 * - otherwise (a log file, a Slurm output), one line per finished run with its outcome and the
 *   ETA, so a log shows progress without carriage-return clutter.
 * The ETA is the remaining runs times the mean wall time per run completed in this invocation
 * (which already accounts for the parallel workers).
 */
#ifndef XTRAIN_EXPERIMENT_RUN_SWEEP_HPP
#define XTRAIN_EXPERIMENT_RUN_SWEEP_HPP

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <functional>
#include <iostream>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "xtrain/core/error.hpp"
#include "xtrain/core/run_jobs.hpp"
#include "xtrain/experiment/analysis.hpp"
#include "xtrain/experiment/eval_sink.hpp"
#include "xtrain/experiment/noise_scale_files.hpp"
#include "xtrain/experiment/results_folder.hpp"
#include "xtrain/experiment/run_summary.hpp"
#include "xtrain/experiment/shard_spec.hpp"
#include "xtrain/experiment/sweep_progress.hpp"
#include "xtrain/experiment/sweep_config.hpp"

namespace xtrain
{
    /**
     * @brief The function a sweep calls for each run, `RunResult fn(const RunSpec&, EvalSink&)`, and
     * optionally a check of the grid that the sweep calls before it writes anything.
     *
     * Any callable converts to it. A run function that only knows some optimizers or schedules
     * (make_trainer_run) gives a check that refuses a grid naming others, so that a typo ("SGD"
     * for "sgd") is reported up front instead of as a failure of every run.
     */
    class RunFunction
    {
    public:
        /** @brief The call signature. */
        using signature = RunResult(const RunSpec&, EvalSink&);
        /** @brief A check of the grid; throws std::invalid_argument naming what it refuses. */
        using GridCheck = std::function<void(const SweepGrid&)>;

        /** @brief An empty function (run_sweep refuses it). */
        RunFunction() = default;

        /** @brief Any callable with the run function's signature. */
        template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, RunFunction>
                                                    && std::is_invocable_r_v<RunResult, F&, const RunSpec&, EvalSink&>>>
        RunFunction(F f)  // NOLINT(google-explicit-constructor): any callable is a run function
            : m_run(std::move(f))
        {
        }

        /** @brief Describes, for a grid, what the function holds fixed that changes results. */
        using SettingsText = std::function<std::string(const SweepGrid&)>;

        /** @brief A callable and the check of the grids it can run. */
        template <class F>
        RunFunction(F f, GridCheck check) : m_run(std::move(f)), m_check(std::move(check))
        {
        }

        /**
         * @brief A callable, the check of the grids it can run, and the description of its settings,
         *        which run_sweep puts into the sweep's fingerprint (SweepConfig::budget).
         */
        template <class F>
        RunFunction(F f, GridCheck check, SettingsText settings)
            : m_run(std::move(f)), m_check(std::move(check)), m_settings(std::move(settings))
        {
        }

        /** @brief Runs one run. */
        RunResult operator()(const RunSpec& spec, EvalSink& sink) const { return m_run(spec, sink); }

        /** @brief @throws std::invalid_argument if the function cannot run @p grid. */
        void check(const SweepGrid& grid) const
        {
            if (m_check)
            {
                m_check(grid);
            }
        }

        /**
         * @brief Another callable (e.g. one that calls this function and does more) with this
         *        function's grid check and settings, so that wrapping keeps them.
         */
        template <class F>
        RunFunction wrap(F f) const
        {
            RunFunction out(std::move(f));
            out.m_check = m_check;
            out.m_settings = m_settings;
            return out;
        }

        /** @brief What the function holds fixed for @p grid that changes results ("" if it does not say). */
        std::string settings_text(const SweepGrid& grid) const { return m_settings ? m_settings(grid) : std::string(); }

        /** @brief True unless empty. */
        explicit operator bool() const noexcept { return static_cast<bool>(m_run); }

    private:
        std::function<signature> m_run;
        GridCheck m_check;
        SettingsText m_settings;
    };

    /**
     * @brief Runs a sweep's runs somewhere else (other processes, other machines), beside the
     *        sweep's own worker threads: e.g. xtrain::mpi::RankExecutor (distributed/mpi_sweep.hpp)
     *        runs them on other MPI ranks.
     *
     * run_sweep() adds slots() workers to its own; each hands its run to run(), which must behave
     * as the run function would on this process: record the run's evaluation points in @p sink
     * (and its target report), return its result, throw sweep_interrupted when the run was
     * interrupted and another exception when it failed. run() is called from several threads at
     * once, never more than slots() at a time. run_transfer.hpp has the bytes to send and the
     * function that replays a run's report into the sink.
     */
    class RunExecutor
    {
    public:
        virtual ~RunExecutor() = default;
        /** @brief How many runs it runs at once. */
        virtual std::size_t slots() const = 0;
        /** @brief Runs @p spec and reports it into @p sink (see the class comment). */
        virtual RunResult run(const RunSpec& spec, EvalSink& sink) = 0;
    };

    /** @brief How a sweep is run (none of this changes its results). */
    struct SweepOptions
    {
        /** @brief Worker threads (runs in parallel); 0 means one per CPU this process may use (usable_cpus()). */
        std::size_t jobs = 1;
        /** @brief Which part of the grid this process runs (`--shard K/N`). */
        ShardSpec shard;
        /**
         * @brief BLAS threads while the runs run (JobOptions::blas_threads: set for the whole
         *        process before the workers start, restored afterwards); 0 leaves BLAS alone. One
         *        thread per run keeps J parallel runs from oversubscribing the cores.
         */
        int blas_threads = 1;
        /** @brief Progress display. */
        ProgressMode progress = ProgressMode::automatic;
        /** @brief Where progress and messages go; nullptr for silence. */
        std::ostream* log = &std::cerr;
        /**
         * @brief If set to true (e.g. by the caller's signal handler), no new run starts; runs in
         *        flight finish (or give up early if they poll EvalSink::stop_requested()).
         */
        const std::atomic<bool>* stop = nullptr;
        /** @brief Metric of summary_by_batch.csv; empty for default_metric(). */
        std::optional<Metric> summary_metric;
        /**
         * @brief Refinement rounds after the grid (`--refine N`): each adds, for every optimizer,
         * schedule and batch size, the learning rates halfway (on a log scale) between the best
         * one and its neighbours, or one step past the edge when the best is at an edge, and runs
         * them with every seed. N rounds know the best rate to a factor g^(1/2^N) of a grid step g.
         * Needs the whole grid (no shard). Rounds already in the folder are not repeated.
         */
        std::size_t refine_rounds = 0;
        /**
         * @brief Runs beside the `jobs` worker threads, e.g. on other MPI ranks (not owned;
         *        nullptr: none). A run goes to it when one of its slots is free, else to a local worker.
         */
        RunExecutor* remote = nullptr;
    };

    /** @brief What a call to run_sweep did. */
    struct SweepReport
    {
        std::filesystem::path folder;   ///< the results folder
        std::size_t grid_runs = 0;      ///< runs in the whole grid
        std::size_t shard_runs = 0;     ///< runs in this shard
        std::size_t already_done = 0;   ///< of which had results before this call (skipped)
        std::size_t repaired = 0;       ///< incomplete runs found and dropped on opening (rerun)
        std::size_t finished = 0;       ///< runs finished in this call
        std::size_t diverged = 0;       ///< runs diverged in this call
        std::size_t stalled = 0;        ///< runs stalled (near chance) in this call
        std::size_t failed = 0;         ///< runs whose function threw in this call
        std::size_t not_run = 0;        ///< runs of the shard left without a result attempt (stopped)
        bool interrupted = false;       ///< stopped by SweepOptions::stop or sweep_interrupted
        std::vector<FailedRun> failures;  ///< the failures of this call, with their messages
        double seconds = 0.0;           ///< wall time of the call

        /** @brief True if every run of the shard now has a result. */
        bool complete() const noexcept { return failed == 0 && not_run == 0; }
    };

    /**
     * @brief Runs the runs of @p config's grid that belong to `options.shard` and have no result in
     *        @p out yet, calling @p fn for each, and rewrites the summaries at the end.
     *
     * Creates @p out or resumes it (see ResultsFolder: a folder of another sweep is refused). Runs
     * start in grid-index order on `options.jobs` threads. A run function's exception marks that
     * run failed and the sweep goes on; `sweep_interrupted` or `options.stop` stops it cleanly.
     * When @p fn describes its settings (make_trainer_run's do), an empty `config.budget` is filled
     * with that description, so the fingerprint holds them; a budget text that differs is refused.
     * @throws std::invalid_argument for a bad configuration, shard or folder of another sweep;
     *         data_error for a corrupt folder; std::runtime_error if the files cannot be written.
     */
    inline SweepReport run_sweep(const SweepConfig& config, const std::filesystem::path& out, const RunFunction& fn,
                                 const SweepOptions& options = {});

    // ---------------------------------------------------------------------------------------------
    // Implementation
    // ---------------------------------------------------------------------------------------------

    namespace detail
    {
        /**
         * @brief @p given with its budget text filled from the run function's settings, so that
         *        the fingerprint always holds them; refuses a budget text that contradicts them.
         */
        inline SweepConfig with_run_settings(const SweepConfig& given, const RunFunction& fn)
        {
            SweepConfig config = given;
            const std::string settings = fn.settings_text(config.grid);
            if (settings.empty() || config.budget == settings)
            {
                return config;
            }
            if (!config.budget.empty())
            {
                throw std::invalid_argument(concat(
                    "xtrain::run_sweep: config.budget says \"", config.budget, "\" but the run function's settings are \"",
                    settings, "\": leave config.budget empty, and the sweep records the run function's settings itself"));
            }
            config.budget = settings;
            return config;
        }
    }

    inline SweepReport run_sweep(const SweepConfig& given, const std::filesystem::path& out, const RunFunction& fn,
                                 const SweepOptions& options)
    {
        detail::require(static_cast<bool>(fn), "xtrain::run_sweep", "fn", "an empty function",
                        "must be a callable run function");
        const SweepConfig config = detail::with_run_settings(given, fn);
        config.validate();
        options.shard.validate();
        detail::require(options.refine_rounds == 0 || options.shard.whole(), "xtrain::run_sweep", "refine_rounds",
                        options.refine_rounds,
                        "needs every run's result: merge the shards, then refine the merged folder without a shard");
        fn.check(config.grid);  // before anything is written
        const auto t0 = std::chrono::steady_clock::now();
        ResultsFolder folder(out, config, "sweep, shard " + options.shard.str());

        SweepReport report;
        report.folder = out;
        report.repaired = folder.results().dropped_runs;
        // The folder's grid: the configuration's, plus the cells refinement added (if resuming).
        const auto pending_runs = [&](std::size_t first, std::size_t last, bool count) {
            const SweepGrid& grid = folder.results().meta.config.grid;
            std::vector<RunSpec> pending;
            for (std::size_t i = first; i < last; ++i)
            {
                if (!options.shard.contains(i))
                {
                    continue;
                }
                report.shard_runs += count ? 1 : 0;
                if (folder.done(i))
                {
                    report.already_done += count ? 1 : 0;
                }
                else
                {
                    pending.push_back(grid.at(i));
                }
            }
            return pending;
        };
        std::vector<RunSpec> pending = pending_runs(0, folder.results().meta.config.grid.size(), true);
        const std::size_t jobs_wanted = options.jobs == 0 ? usable_cpus() : options.jobs;
        const std::size_t remote_slots = options.remote != nullptr ? options.remote->slots() : 0;
        {
            const std::size_t jobs = std::max<std::size_t>(1, std::min(jobs_wanted, pending.size()));
            std::string head = "sweep: " + std::to_string(folder.results().meta.config.grid.size()) + " runs in the grid";
            if (!options.shard.whole())
            {
                head += ", " + std::to_string(report.shard_runs) + " in shard " + options.shard.str();
            }
            if (!folder.created())
            {
                head += "; resuming '" + out.string() + "': " + std::to_string(report.already_done) + " already done";
                const std::string damage = folder.results().describe_damage();
                if (!damage.empty())
                {
                    head += " (found: " + damage + ")";
                }
            }
            head += "; " + std::to_string(pending.size()) + " to run on " + std::to_string(jobs) + " worker"
                  + (jobs == 1 ? "" : "s");
            if (remote_slots > 0)
            {
                head += " here and " + std::to_string(remote_slots) + " elsewhere";
            }
            if (options.log != nullptr)
            {
                *options.log << head << '\n';
                const std::size_t cpus = usable_cpus();
                if (jobs > cpus)
                {
                    *options.log << "sweep: warning: this process may run on " << cpus << " CPU" << (cpus == 1 ? "" : "s")
                                 << " only (its CPU affinity), so its " << jobs << " workers share "
                                 << (cpus == 1 ? "it" : "them") << " and each run takes longer; under mpirun add "
                                 << "--bind-to none or --map-by slot:PE=" << jobs << ", under Slurm --cpus-per-task=" << jobs << '\n';
                }
            }
            const SweepMeta& meta = folder.results().meta;
            if (options.log != nullptr && (meta.xtrain_version != version_string || meta.compiler != compiler_description()))
            {
                *options.log << "sweep: note: the folder was started by xtrain " << meta.xtrain_version << " ("
                             << meta.compiler << "); this is xtrain " << version_string << " ("
                             << compiler_description() << ")\n";
            }
        }

        std::atomic<bool> stop_all{false};
        std::atomic<bool> interrupted{false};
        std::mutex report_mutex;
        std::exception_ptr first_error;

        // Runs @p batch on the workers; returns when all are done or the sweep is stopped.
        const auto run_batch = [&](const std::vector<RunSpec>& batch, std::size_t shown_total, std::size_t shown_before) {
            if (batch.empty())
            {
                return;
            }
            detail::SweepProgress progress(options.log, options.progress, shown_total, shown_before, batch.size());
            // Each run takes a free remote slot if there is one, else a local one: there are as many
            // worker threads as slots of both kinds, so a starting run always finds one.
            std::mutex slot_mutex;
            std::size_t remote_free = remote_slots;
            const auto take_slot = [&]() {
                std::lock_guard<std::mutex> lock(slot_mutex);
                const bool remote = remote_free > 0;
                remote_free -= remote ? 1 : 0;
                return remote;
            };
            struct SlotHold // gives a remote slot back however the run ends
            {
                std::mutex& mutex;
                std::size_t& free;
                bool remote;
                ~SlotHold()
                {
                    std::lock_guard<std::mutex> lock(mutex);
                    free += remote ? 1 : 0;
                }
            };
            JobOptions jobs;
            jobs.jobs = std::max<std::size_t>(1, jobs_wanted) + remote_slots;
            jobs.blas_threads = options.blas_threads;
            jobs.stop = &stop_all;
            // The calling thread watches the caller's stop flag and keeps the live line's clock moving.
            jobs.watch = [&] {
                if (options.stop != nullptr && options.stop->load() && !stop_all.load())
                {
                    interrupted = true;
                    stop_all = true;
                }
                progress.refresh();
            };
            // A run function's exception is that run's result (failures.csv) and the sweep goes on;
            // the sweep's own errors (a results file that cannot be written) stop it via first_error.
            run_jobs(
                batch.size(),
                [&](std::size_t i) {
                    const RunSpec& spec = batch[i];
                    progress.started();
                    EvalSink sink(spec, config.target, &stop_all);
                    const auto start = std::chrono::steady_clock::now();
                    std::optional<RunResult> result;
                    std::string error;
                    try
                    {
                        const SlotHold slot{slot_mutex, remote_free, remote_slots > 0 && take_slot()};
                        result = slot.remote ? options.remote->run(spec, sink) : fn(spec, sink);
                        if (result->status == RunOutcome::failed)
                        {
                            error = result->note.empty() ? "the run function returned status failed" : result->note;
                            result.reset();
                        }
                    }
                    catch (const sweep_interrupted&)
                    {
                        interrupted = true;
                        stop_all = true;
                        progress.abandoned();
                        return;
                    }
                    catch (const std::exception& e)
                    {
                        error = e.what();
                    }
                    catch (...)
                    {
                        error = "an exception that is not a std::exception";
                    }
                    const double seconds =
                        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                    try
                    {
                        if (result)
                        {
                            RunRecord rec;
                            rec.spec = spec;
                            rec.summary = summarize_run(spec.key(), sink.rows(), *result, seconds, config.target,
                                                        sink.reported_target());
                            rec.rows = sink.rows();
                            const RunOutcome status = rec.summary.status;
                            const std::string text = detail::outcome_text(rec.summary);
                            folder.append(std::move(rec));
                            {
                                std::lock_guard<std::mutex> lock(report_mutex);
                                (status == RunOutcome::diverged  ? report.diverged
                                 : status == RunOutcome::stalled ? report.stalled
                                                                 : report.finished) += 1;
                            }
                            progress.finished(spec, status, text, seconds);
                        }
                        else
                        {
                            folder.append_failure(FailedRun{spec, error});
                            {
                                std::lock_guard<std::mutex> lock(report_mutex);
                                ++report.failed;
                                report.failures.push_back(FailedRun{spec, error});
                            }
                            progress.finished(spec, RunOutcome::failed, error, seconds);
                        }
                    }
                    catch (...)
                    {
                        std::lock_guard<std::mutex> lock(report_mutex);
                        if (!first_error)
                        {
                            first_error = std::current_exception();
                        }
                        stop_all = true;
                    }
                },
                jobs);
            progress.close();
        };

        std::size_t to_run = pending.size();
        run_batch(pending, report.shard_runs, report.already_done);

        // Refinement rounds: more lrs around each batch size's best, chosen from the results so far.
        const Metric refine_metric = options.summary_metric ? *options.summary_metric
                                                            : default_metric(folder.results().summaries());
        for (std::size_t round = folder.results().meta.config.grid.refinement_rounds() + 1;
             round <= options.refine_rounds && !stop_all.load() && !first_error; ++round)
        {
            const std::vector<RefinedCell> cells
                = refinement_cells(folder.results().meta.config.grid, folder.results().summaries(), refine_metric, round);
            if (cells.empty())
            {
                break;
            }
            const std::size_t first = folder.results().meta.config.grid.size();
            folder.add_refined(cells);  // meta.json lists them before they run: a resume runs what is missing
            const std::vector<RunSpec> more = pending_runs(first, folder.results().meta.config.grid.size(), true);
            if (options.log != nullptr)
            {
                *options.log << "sweep: refinement round " << round << ": " << cells.size()
                             << " learning rates next to the best ones, " << more.size() << " runs\n";
            }
            to_run += more.size();
            run_batch(more, more.size(), 0);
        }

        if (first_error)
        {
            std::rethrow_exception(first_error);
        }

        folder.finalize(options.summary_metric);
        collect_noise_scale(out);  // the runs' noise-scale files, if the run function wrote any
        report.grid_runs = folder.results().meta.config.grid.size();
        const std::size_t attempted = report.finished + report.diverged + report.stalled + report.failed;
        report.not_run = to_run - attempted;
        report.interrupted = interrupted.load();
        report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

        std::string tail = "sweep: " + std::to_string(attempted) + " run" + (attempted == 1 ? "" : "s") + " in "
                         + format_duration(report.seconds) + " (" + std::to_string(report.finished) + " finished, "
                         + std::to_string(report.diverged) + " diverged, " + std::to_string(report.stalled)
                         + " stalled, " + std::to_string(report.failed) + " failed"
                         + (report.failed ? ": see failures.csv" : "") + ")";
        if (report.interrupted)
        {
            tail += "; stopped with " + std::to_string(report.not_run)
                  + " runs not done: run the same command again to resume";
        }
        tail += "; results in '" + out.string() + "'";
        if (options.log != nullptr)
        {
            *options.log << tail << '\n';
            options.log->flush();
        }
        return report;
    }
}

#endif
