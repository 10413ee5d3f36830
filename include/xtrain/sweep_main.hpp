/**
 * @file sweep_main.hpp
 * @brief The main job for any model: the learning-rate x batch-size sweep's whole command line,
 *        outputs, figures, resume, shards and merge, around a user's own model and data.
 *
 * Opt-in: it needs CLI11 (Debian's libcli11-dev; link CLI11::CLI11) and runs gnuplot for the
 * figures (render.hpp); the umbrella header includes neither, and this one includes the whole
 * library (xtrain.hpp). The shortest program:
 *
 * ```cpp
 * #include <xtrain/sweep_main.hpp>
 * int main(int argc, char** argv)
 * {
 *     const xtrain::SweepData<float> data = load_my_data();   // train, validation, optional test
 *     auto make_model = [](std::uint64_t seed) { return MyModel(seed); };
 *     return xtrain::sweep_main(argc, argv, make_model, data, "my model");
 * }
 * ```
 * That program takes the main job's flags (`--optimizers`, `--lrs`, `--batch-sizes`, `--seeds`,
 * `--schedules`, `--epochs`, `--jobs`, `--shard`, `--out`, `--merge`, `--figures-only`,
 * `--no-figures`, `--self-check`, ...; `--help` lists them) and writes the same results folder.
 * For flags of its own (which data, which model), a program uses SweepMain: add them to app(),
 * parse(), then load only when needs_data() (merging and redrawing need no data), and run().
 *
 * Built with MPI (a program linking xtrain::mpi, which defines XTRAIN_HAVE_MPI) and started by
 * mpirun or srun on several ranks, every rank parses the same flags and loads the same data; rank 0
 * runs the sweep and writes the folder, the other ranks run the runs it hands out
 * (distributed/mpi_sweep.hpp, docs/distributed.md). Otherwise nothing changes.
 */
#ifndef XTRAIN_SWEEP_MAIN_HPP
#define XTRAIN_SWEEP_MAIN_HPP

#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "xtrain/command_line.hpp"
#include "xtrain/data/dataset.hpp"
#include "xtrain/experiment/render.hpp"
#include "xtrain/xtrain.hpp"

#ifdef XTRAIN_HAVE_MPI // the program links xtrain::mpi: under mpirun or srun the runs spread over the ranks
#include <cstdlib>

#include "xtrain/distributed/mpi_sweep.hpp"
#endif

namespace xtrain
{
    /** @brief What a sweep trains on: training and validation sets, and optionally a test set. */
    template <class T>
    struct SweepData
    {
        Dataset<T> train;               ///< the training set
        Dataset<T> validation;          ///< evaluated at every evaluation point
        std::optional<Dataset<T>> test; ///< if set, every run's final model is scored on it
        std::string description;        ///< for meta.json and the banner, e.g. "my data, 2000 rows"
    };

    /** @brief The sweep's flags, with the main job's defaults; change a default before parsing. */
    struct SweepCommandLine
    {
        std::vector<std::string> optimizers{"sgd", "adam"};
        std::vector<double> lrs{0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2};
        std::vector<std::size_t> batch_sizes{16, 32, 64, 128, 256, 512, 1024, 2048};
        std::vector<std::uint64_t> seeds{1, 2, 3};
        std::vector<std::string> schedules;  ///< empty: every run at a constant rate (no schedule column)
        cli::Budget budget;                  ///< none given: default_epochs
        std::uint64_t default_epochs = 5;
        std::uint64_t evals_per_epoch = 4;
        std::optional<std::string> target;   ///< none given: val_accuracy=0.85 for classification, else none
        std::optional<double> target_precision;
        std::uint64_t refine = 0;
        std::optional<double> momentum;
        std::optional<double> weight_decay;
        std::string scale_lr = "none";
        std::optional<std::uint64_t> base_batch;
        std::optional<double> warmup_epochs;
        std::optional<double> divergence;
        bool no_early_stopping = false;
        bool provable_stops_only = false;
        bool self_check = false;
        std::uint64_t noise_scale = 8;
        std::optional<std::uint64_t> jobs;
        std::optional<std::string> shard;
        std::string out = "results/sweep";
        std::vector<std::string> merge;  ///< empty: not merging
        bool figures_only = false;
        bool no_figures = false;
    };

    namespace detail
    {
        template <class V>
        std::string list_default(const std::vector<V>& v)
        {
            std::ostringstream os;
            for (std::size_t i = 0; i < v.size(); ++i)
            {
                os << (i ? "," : "") << v[i];
            }
            return os.str();
        }

        /** @brief The flag of the sweep that stops it: set by Ctrl-C, read by run_sweep. */
        inline std::atomic<bool>& sweep_main_stop()
        {
            static std::atomic<bool> stop{false};
            return stop;
        }

#ifdef XTRAIN_HAVE_MPI
        /** @brief True when an MPI launcher (mpirun, mpiexec, srun) started this process. */
        inline bool launched_by_mpi()
        {
            for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", "MV2_COMM_WORLD_SIZE"})
            {
                if (std::getenv(name) != nullptr)
                {
                    return true;
                }
            }
            return false;
        }
#endif

        extern "C" inline void sweep_main_on_interrupt(int)
        {
            sweep_main_stop().store(true);
            std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the program at once
        }

        /** @brief A number for the terminal: 3 significant digits, "-" for NaN, "never" for infinity. */
        inline std::string terminal_number(double v, int precision = 3)
        {
            if (std::isnan(v))
            {
                return "-";
            }
            if (std::isinf(v))
            {
                return "never";
            }
            std::ostringstream os;
            os << std::setprecision(precision) << v;
            return os.str();
        }

        inline std::string terminal_interval(double lo, double hi, int precision = 3)
        {
            if (!std::isfinite(lo) || !std::isfinite(hi) || lo == hi)
            {
                return "";
            }
            return "[" + terminal_number(lo, precision) + "-" + terminal_number(hi, precision) + "]";
        }
    }

    /**
     * @brief Defines the sweep's flags on @p app, each filling its field of @p s (the current values
     *        are the defaults shown by --help). @p optimizer_names and @p schedule_names are listed in
     *        the help of --optimizers and --schedules.
     */
    inline void add_sweep_options(CLI::App& app, SweepCommandLine& s, const std::vector<std::string>& optimizer_names,
                                  const std::vector<std::string>& schedule_names)
    {
        using namespace cli;
        using detail::list_default;
        cli::add_list(app, "--optimizers", s.optimizers,
                      "comma list of " + detail::join_names(optimizer_names) + " (default " + list_default(s.optimizers) + ")");
        cli::add_list(app, "--lrs", s.lrs, "comma list of learning rates (default " + list_default(s.lrs) + ")",
                      real("> 0", [](double v) { return v > 0.0; }));
        cli::add_list(app, "--batch-sizes", s.batch_sizes, "comma list of batch sizes (default " + list_default(s.batch_sizes) + ")",
                      count());
        cli::add_list(app, "--seeds", s.seeds, "comma list of run seeds (default " + list_default(s.seeds) + ")", count(true));
        cli::add_list(app, "--schedules", s.schedules,
                      "comma list of lr schedules, each a grid axis: " + detail::join_names(schedule_names)
                          + " (default: none, a constant rate)");
        add_budget(app, s.budget, "budget per run in epochs (default " + std::to_string(s.default_epochs) + ")",
                   "budget per run in optimizer steps instead", "budget per run in training examples instead");
        app.add_option("--evals-per-epoch", s.evals_per_epoch,
                       "evaluation points per epoch (default " + std::to_string(s.evals_per_epoch) + ")")
            ->type_name("N")->check(count());
        add_optional(app, "--target", s.target, "val_accuracy=0.85 (default for classification), val_loss=0.5, train_loss=X or none")
            ->type_name("SPEC");
        add_optional(app, "--target-precision", s.target_precision,
                     "resolve steps to target to within P of themselves by bisecting (default 0.02; 0: off)")
            ->type_name("P")->check(real("in [0, 1)", [](double v) { return v >= 0.0 && v < 1.0; }));
        app.add_option("--refine", s.refine, "after the grid, N rounds of rates halfway between each best lr and its neighbours (default 0)")
            ->type_name("N")->check(count(true));
        add_optional(app, "--momentum", s.momentum, "momentum of momentum, nesterov and lars (default 0.9)")
            ->type_name("X")->check(real());
        add_optional(app, "--weight-decay", s.weight_decay, "weight decay of every optimizer (default: each one's own, 0; adamw and lamb 0.01)")
            ->type_name("X")->check(real());
        app.add_option("--scale-lr", s.scale_lr, "none (default), linear or sqrt: scale each lr by B/B0 or sqrt(B/B0)")
            ->type_name("RULE")->check(CLI::IsMember({"none", "linear", "sqrt"}));
        add_optional(app, "--base-batch", s.base_batch, "the B0 of --scale-lr (default: the smallest batch size)")
            ->type_name("B0")->check(count());
        add_optional(app, "--warmup-epochs", s.warmup_epochs, "linear warm-up of the lr over E epochs, per step (default 0)")
            ->type_name("E")->check(real(">= 0", [](double v) { return v >= 0.0; }));
        add_optional(app, "--divergence", s.divergence,
                     "stop a run whose loss, smoothed over 4096 examples, stays above X times its start (default 3)")
            ->type_name("X")->check(real("> 1", [](double v) { return v > 1.0; }));
        CLI::Option* no_early = app.add_flag("--no-early-stopping", s.no_early_stopping,
                                             "train every run to the end of its budget (the guard only notes where it would stop)");
        app.add_flag("--provable-stops-only", s.provable_stops_only, "do not stop nearly dead networks at chance, only provably hopeless runs");
        app.add_flag("--self-check", s.self_check, "run the grid with early stopping and without (OUT/guarded, OUT/unguarded) and compare")
            ->excludes(no_early);
        app.add_option("--noise-scale", s.noise_scale,
                       "measure the gradient noise scale every N steps, 0 to skip (default " + std::to_string(s.noise_scale) + ")")
            ->type_name("N")->check(count(true));
        add_optional(app, "--jobs", s.jobs, "runs in parallel, one BLAS thread each (default: the CPUs this process may use; 1 per MPI rank under mpirun)")
            ->type_name("N")->check(count());
        add_optional(app, "--shard", s.shard, "run only the runs whose index is K modulo N (for many machines)")
            ->type_name("K/N");
        app.add_option("--out", s.out, "results folder (default " + s.out + "); rerun to resume")
            ->type_name("DIR")->check(CLI::Validator(
                [](std::string& v) { return v.empty() ? std::string("the results folder's name is empty") : std::string(); }, ""));
        cli::add_list(app, "--merge", s.merge, "merge these shards' results folders into --out, draw the figures, and exit");
        app.add_flag("--figures-only", s.figures_only, "redraw the figures and the summary of --out, and exit");
        app.add_flag("--no-figures", s.no_figures, "write the CSV files only");
    }

    /** @brief The tables of a results folder on the terminal: best lr per batch size, fits, warnings. */
    inline void print_sweep_summary(const std::filesystem::path& out, std::ostream& os = std::cout)
    {
        using detail::terminal_interval;
        using detail::terminal_number;
        const ResultSet set = load_results(out);
        const auto runs = set.summaries();
        if (runs.empty())
        {
            os << "No finished runs in " << out.string() << " yet.\n";
            return;
        }
        const ResultTables tables = analyze_runs(runs);
        const NoiseScaleMedians noise = noise_scale_medians(collect_noise_scale(out));
        const auto& grid = set.meta.config.grid;
        std::set<std::string> warnings;
        os << "\nBest learning rate per batch size (" << metric_name(tables.metric)
           << ", median over seeds; [tied]: the rates best in 5 % or more of bootstrap draws over seeds):\n";
        for (const std::string& schedule : grid.schedule_labels())
        {
            for (const std::string& opt : grid.optimizers)
            {
                os << "  " << opt << (schedule.empty() ? "" : ", schedule " + schedule) << '\n';
                os << "      B         best lr [tied]   value  stable up to  unstable from  diverged/stalled"
                      "    steps to target [seeds]  epochs  B_simple*\n";
                for (const auto& row : tables.by_batch)
                {
                    if (row.optimizer != opt || row.schedule != schedule)
                    {
                        continue;
                    }
                    const auto it = noise.find({opt, schedule, row.batch_size, row.best_lr});  // at the best lr
                    const std::string best = terminal_number(row.best_lr) + (row.best_at_edge ? "*" : "") + " "
                                           + terminal_interval(row.best_lr_lo, row.best_lr_hi);
                    const std::string steps = terminal_number(row.steps_to_target, 4) + (row.target_resolution_limited ? "!" : "")
                                            + " " + terminal_interval(row.steps_to_target_lo, row.steps_to_target_hi, 4);
                    char line[320];
                    std::snprintf(line, sizeof line, "  %5zu  %22s  %6s  %12s  %13s  %8zu/%-7zu  %25s  %6s  %9s\n",
                                  row.batch_size, best.c_str(), terminal_number(row.best_value, 4).c_str(),
                                  terminal_number(row.largest_stable_lr).c_str(), terminal_number(row.smallest_unstable_lr).c_str(),
                                  row.diverged_runs, row.stalled_runs, steps.c_str(),
                                  terminal_number(row.epochs_to_target, 3).c_str(),
                                  it == noise.end() ? "-" : terminal_number(it->second, 3).c_str());
                    os << line;
                    warnings.insert(row.warnings.begin(), row.warnings.end());
                }
                for (const auto& f : tables.fits)
                {
                    if (f.optimizer != opt || f.schedule != schedule)
                    {
                        continue;
                    }
                    warnings.insert(f.warnings.begin(), f.warnings.end());
                    if (f.best_lr.points >= 3 && f.best_lr.valid())
                    {
                        os << "      best lr ~ B^" << terminal_number(f.best_lr.slope, 2) << " "
                           << terminal_interval(f.slope_lo, f.slope_hi, 2) << " (linear scaling: B^1, square-root scaling: B^0.5)\n";
                    }
                    if (f.steps.valid())
                    {
                        os << "      steps to target ~ " << terminal_number(f.steps.s_min, 4) << " "
                           << terminal_interval(f.s_min_lo, f.s_min_hi, 4) << " x (1 + " << terminal_number(f.steps.b_noise, 3) << " "
                           << terminal_interval(f.b_noise_lo, f.b_noise_hi) << " / B): beyond B ~ "
                           << terminal_number(f.steps.b_noise, 3) << " larger batches stop saving steps\n";
                    }
                }
            }
        }
        os << "  (* a best lr at the edge of the rates tried; ! steps to target not resolved (met at the first\n"
              "   evaluation); [seeds]: fewest to most steps over the seeds; B_simple*: the gradient noise scale of\n"
              "   the runs at the best lr, median over epochs and seeds; intervals of the fits: 5th-95th percentile)\n";
        for (const std::string& w : warnings)
        {
            os << "  warning: " << warning_text(w) << '\n';
        }
        double run_seconds = 0.0;
        double eval_seconds = 0.0;
        double refine_seconds = 0.0;
        for (const auto& r : runs)
        {
            run_seconds += r.run_seconds;
            eval_seconds += std::isfinite(r.eval_seconds) ? r.eval_seconds : 0.0;
            refine_seconds += std::isfinite(r.refine_seconds) ? r.refine_seconds : 0.0;
        }
        if (run_seconds > 0.0)
        {
            os << "  evaluation took " << terminal_number(100.0 * eval_seconds / run_seconds, 2)
               << " % of the runs' time, resolving the steps to target " << terminal_number(100.0 * refine_seconds / run_seconds, 2)
               << " %\n";
        }
    }

    /**
     * @brief The main job around a user's model and data: flags, results folder, figures, resume,
     *        shards, merge and the self-check. Construct, add flags of your own to app(), parse(),
     *        then run() (or, for --merge and --figures-only, which need no data, run_without_data()).
     */
    class SweepMain
    {
    public:
        /**
         * @param program the name in messages and --help (e.g. "my_model_sweep")
         * @param description what the program does, first in --help
         * @param defaults the flags' defaults (the main job's unless given)
         */
        explicit SweepMain(std::string program, std::string description = "", SweepCommandLine defaults = {})
            : m_program(std::move(program)), m_flags(std::move(defaults))
        {
            cli::configure(m_app, m_program);
            m_app.description(description.empty()
                                  ? "Trains one model per optimizer x learning rate x batch size x seed and writes\n"
                                    "runs.csv, summary.csv, summary_by_batch.csv, fits.csv, meta.json and figures/.\n"
                                    "Running the same command again resumes; a different grid needs another --out."
                                  : description);
        }
        SweepMain(const SweepMain&) = delete;
        SweepMain& operator=(const SweepMain&) = delete;

        /** @brief The parser, for flags of the program's own (before parse()). */
        CLI::App& app() noexcept { return m_app; }
        /** @brief The sweep's flags as parsed (their defaults before parse()). */
        SweepCommandLine& flags() noexcept { return m_flags; }
        /** @brief The program's name. */
        const std::string& program() const noexcept { return m_program; }

        /**
         * @brief Adds the sweep's flags (with @p optimizer_names and @p schedule_names in the help:
         *        xtrain's own when empty) and parses; --help exits 0, a mistake exits 2.
         */
        void parse(int argc, char** argv, std::vector<std::string> optimizer_names = {},
                   std::vector<std::string> schedule_names = {})
        {
            if (optimizer_names.empty())
            {
                optimizer_names.assign(std::begin(sweep_optimizer_names), std::end(sweep_optimizer_names));
            }
            if (schedule_names.empty())
            {
                schedule_names = known_schedule_names();
            }
            add_sweep_options(m_app, m_flags, optimizer_names, schedule_names);
            cli::parse_or_exit(m_app, argc, argv);
            for (int i = 0; i < argc; ++i)
            {
                m_command += (i ? " " : "") + std::string(argv[i]);
            }
            start_mpi(argc, argv);
        }

        /** @brief How many processes share the sweep: the MPI ranks under mpirun or srun, else 1. */
        std::size_t ranks() const noexcept
        {
#ifdef XTRAIN_HAVE_MPI
            return m_comm ? m_comm->size() : 1;
#else
            return 1;
#endif
        }

        /** @brief False on the ranks other than 0 of a sweep across MPI ranks (they print and write nothing). */
        bool is_root() const noexcept
        {
#ifdef XTRAIN_HAVE_MPI
            return !m_comm || m_comm->is_root();
#else
            return true;
#endif
        }

        /**
         * @brief Calls @p body (which loads the data and returns run()'s exit code) unless the flags
         *        ask for --merge or --figures-only, which need no data; an exception is printed as
         *        "PROGRAM: message" and gives exit code 1. For main(): `return sweep.main([&] { ... });`
         */
        template <class Body>
        int main(Body&& body)
        {
            try
            {
                return needs_data() ? static_cast<int>(body()) : run_without_data();
            }
            catch (const std::exception& e)
            {
                std::cerr << m_program << ": " << e.what() << '\n';
#ifdef XTRAIN_HAVE_MPI
                if (!is_root())
                {
                    // Rank 0 may be waiting for this rank's report: end the whole job, not this rank alone.
                    MPI_Abort(m_comm->handle(), 1);
                }
#endif
                return 1;
            }
        }

        /** @brief False for --merge and --figures-only, which read results folders only. */
        bool needs_data() const noexcept { return m_flags.merge.empty() && !m_flags.figures_only; }

        /** @brief Does --merge or --figures-only; returns the exit code. */
        int run_without_data()
        {
#ifdef XTRAIN_HAVE_MPI
            if (!is_root()) // rank 0 merges or draws alone
            {
                mpi::wait_for_finish(*m_comm);
                return 0;
            }
#endif
            const std::filesystem::path out(m_flags.out);
            if (!m_flags.merge.empty())
            {
                const std::vector<std::filesystem::path> inputs(m_flags.merge.begin(), m_flags.merge.end());
                const FolderLock lock(out, m_program + " --merge");
                const MergeReport m = merge_results(inputs, out);
                std::cout << "Merged " << inputs.size() << " results folders into " << out.string() << ": " << m.runs
                          << " runs with a result, " << m.duplicates << " found in more than one folder (the first kept), "
                          << m.failures << " failed everywhere, " << m.missing << " missing";
                std::cout << (m.missing > 0 ? " (run the sweep with --out " + out.string() + " to finish them).\n" : ".\n");
                print_sweep_summary(out);
                if (!m_flags.no_figures)
                {
                    draw(out);
                }
                return 0;
            }
            if (!std::filesystem::exists(out / "meta.json"))
            {
                cli::fail(m_program, "--figures-only: '" + out.string() + "' holds no sweep results (no meta.json)");
            }
            const FolderLock lock(out, m_program + " --figures-only");
            print_sweep_summary(out);
            draw(out);
            return 0;
        }

        /**
         * @brief Runs the sweep the flags describe on @p data with models from @p make_model.
         * @param model_description for meta.json (part of the fingerprint), e.g. "mlp 784-128-10"
         * @param settings what the flags do not set (e.g. your own schedules); flags given override it
         * @param optimizers your own optimizers, beside xtrain's (optimizer_set())
         * @return 0 when every run has a result (and the self-check passed), else 1
         */
        template <class T, class MakeModel, class... Policies>
        int run(const SweepData<T>& data, MakeModel make_model, const std::string& model_description,
                RunSettings settings = {}, const OptimizerSet<Policies...>& optimizers = OptimizerSet<>())
        {
            if (!needs_data())
            {
                return run_without_data();
            }
            const SweepCommandLine& f = m_flags;
            const std::filesystem::path out(f.out);
            SweepConfig config;
            config.grid.optimizers = f.optimizers;
            config.grid.lrs = f.lrs;
            config.grid.batch_sizes = f.batch_sizes;
            config.grid.seeds = f.seeds;
            config.grid.schedules = f.schedules;

            settings.budget = f.budget.steps     ? Budget::steps(*f.budget.steps)
                            : f.budget.samples ? Budget::samples(*f.budget.samples)
                                               : Budget::epochs(f.budget.epochs.value_or(f.default_epochs));
            settings.evals_per_epoch = f.evals_per_epoch;
            if (f.momentum)
            {
                settings.optimizer.momentum = *f.momentum;
            }
            if (f.weight_decay)
            {
                settings.optimizer.weight_decay = *f.weight_decay;
            }
            if (f.scale_lr != "none")
            {
                settings.scaling = f.scale_lr == "linear" ? LrScaling::linear : LrScaling::sqrt;
                settings.base_batch_size = f.base_batch ? *f.base_batch
                                                        : *std::min_element(f.batch_sizes.begin(), f.batch_sizes.end());
            }
            if (f.warmup_epochs)
            {
                settings.warmup_epochs = *f.warmup_epochs;
            }
            if (f.divergence)
            {
                settings.divergence.factor = *f.divergence;
            }
            settings.early_stopping = !f.no_early_stopping;
            settings.divergence.stop_nearly_dead = !f.provable_stops_only;
            if (f.target_precision)
            {
                settings.target_precision = *f.target_precision;
            }
            settings.noise_scale_every = f.noise_scale;  // the files go to FOLDER/noise_scale (below)

            const bool classify = data.train.is_classification();
            config.target = parse_target(f.target ? *f.target : (classify ? "val_accuracy=0.85" : "none"));
            config.model = model_description;
            config.dataset = data.description.empty() ? data.train.name : data.description;
            config.notes["command"] = m_command;

            SweepOptions options;
            // Across ranks, one run per process unless told: each rank is usually given its own cores.
            options.jobs = f.jobs ? *f.jobs : ranks() > 1 ? 1 : usable_cpus();
            if (f.shard)
            {
                options.shard = parse_shard(*f.shard);
            }
            options.stop = &detail::sweep_main_stop();
            options.refine_rounds = f.refine;
            std::signal(SIGINT, detail::sweep_main_on_interrupt);
            const Dataset<T>* test = data.test ? &*data.test : nullptr;
            RunSettings unguarded = settings;
            unguarded.early_stopping = false;
            const auto run_function = [&](const RunSettings& s, const std::filesystem::path& dir) {
                RunSettings here = s;
                here.noise_scale_dir = dir / "noise_scale";
                return RunFunction(make_trainer_run(data.train, &data.validation, make_model, here, optimizers, BatchSizes<>{}, test));
            };
#ifdef XTRAIN_HAVE_MPI
            if (!is_root())
            {
                // The same rounds as rank 0 (guarded, then unguarded for --self-check), each with its run function.
                const auto serve = [&](const RunSettings& s, const std::filesystem::path& dir) {
                    return mpi::serve_runs(run_function(s, dir), config.target, *m_comm, &detail::sweep_main_stop());
                };
                const bool more = f.self_check ? serve(settings, out / "guarded") && serve(unguarded, out / "unguarded")
                                               : serve(settings, out);
                if (more)
                {
                    mpi::wait_for_finish(*m_comm);
                }
                return 0;
            }
#endif

            const SweepGrid& grid = config.grid;
            std::cout << "Sweep of " << grid.size() << " runs (" << grid.optimizers.size() << " optimizers x "
                      << grid.lrs.size() << " learning rates x " << grid.batch_sizes.size() << " batch sizes x "
                      << grid.seeds.size() << " seeds" << (grid.schedules.empty() ? "" : " x " + std::to_string(grid.schedules.size()) + " schedules")
                      << ") on " << config.dataset << ", " << options.jobs + ranks() - 1 << " in parallel"
                      << (ranks() > 1 ? " (" + std::to_string(options.jobs) + " on rank 0, 1 on each of "
                                            + std::to_string(ranks() - 1) + " other MPI ranks)"
                                      : std::string())
                      << (f.self_check ? ", once with early stopping and once without" : "") << ".\n"
                      << "Results go to " << out.string()
                      << " (Ctrl-C keeps every finished run and stops the runs in flight, which are not recorded and start "
                         "again when you rerun the same command; a second Ctrl-C ends at once).\n";
            const auto sweep = [&](const RunSettings& s, const std::filesystem::path& dir) {
                const RunFunction fn = run_function(s, dir);
#ifdef XTRAIN_HAVE_MPI
                if (m_comm)
                {
                    SweepOptions across = options;
                    mpi::RankExecutor others(*m_comm);  // its end ends the round on the other ranks
                    across.remote = &others;
                    return run_sweep(config, dir, fn, across);
                }
#endif
                return run_sweep(config, dir, fn, options);
            };

            // One writer per folder: this process holds --out from the first run to the last figure.
            const FolderLock lock(out, m_program);
            if (f.self_check)
            {
                std::cout << "\n== with early stopping (" << (out / "guarded").string() << ")\n";
                const SweepReport a = sweep(settings, out / "guarded");
                print_report(a);
                if (a.interrupted)
                {
                    return 1;
                }
                std::cout << "\n== trained to the end (" << (out / "unguarded").string() << ")\n";
                const SweepReport b = sweep(unguarded, out / "unguarded");
                release_ranks();
                print_report(b);
                if (b.interrupted)
                {
                    return 1;
                }
                const GuardCheckReport check = check_guard(load_results(out / "guarded"), load_results(out / "unguarded"),
                                                           chance_accuracy(data.validation));
                write_guard_check_csv(out / "self_check.csv", check);
                print_sweep_summary(out / "guarded");
                std::cout << '\n' << describe_guard_check(check) << "\nThe stopped runs, each beside its twin: "
                          << (out / "self_check.csv").string() << '\n';
                return check.passed() && a.complete() && b.complete() ? 0 : 1;
            }

            const SweepReport report = sweep(settings, out);
            release_ranks();
            print_report(report);
            print_sweep_summary(out);
            if (!f.no_figures)
            {
                draw(out);
            }
            std::cout << "\nResults: " << std::filesystem::absolute(out).string()
                      << "/{runs,summary,summary_by_batch,fits}.csv, meta.json"
                      << (settings.noise_scale_every != 0 ? ", noise_scale.csv" : "") << '\n';
            return report.complete() ? 0 : 1;
        }

    private:
        // Under an MPI launcher with several ranks: MPI for the life of this object, and on rank 0
        // the promise to release the other ranks however this process ends.
        void start_mpi([[maybe_unused]] int argc, [[maybe_unused]] char** argv)
        {
#ifdef XTRAIN_HAVE_MPI
            if (!detail::launched_by_mpi())
            {
                return;
            }
            m_mpi.emplace(argc, argv, MPI_THREAD_SERIALIZED);
            mpi::Communicator comm;
            if (comm.size() > 1)
            {
                m_comm = comm;
                m_release.emplace(comm);
            }
#endif
        }

        // The other ranks have nothing more to run: let them exit while rank 0 prints and draws.
        void release_ranks()
        {
#ifdef XTRAIN_HAVE_MPI
            if (m_release)
            {
                m_release->release();
            }
#endif
        }

        static void print_report(const SweepReport& report)
        {
            std::cout << "\n" << report.finished << " runs finished, " << report.diverged << " diverged, " << report.stalled
                      << " stalled, " << report.failed << " failed, " << report.already_done << " were already done ("
                      << detail::terminal_number(report.seconds, 3) << " s).\n";
            for (const auto& failure : report.failures)
            {
                std::cout << "  failed: " << failure.spec.key().str() << ": " << failure.message << '\n';
            }
            if (report.interrupted)
            {
                std::cout << "Interrupted: " << report.not_run << " runs not run; the same command resumes.\n";
            }
        }

        // The figures of each schedule: in figures/, or figures/SCHEDULE/ when the grid has several.
        static void draw(const std::filesystem::path& out)
        {
            const std::vector<std::string> labels = load_results(out).meta.config.grid.schedule_labels();
            for (const std::string& label : labels)
            {
                FigureOptions o;
                o.schedule = label;
                if (labels.size() > 1)
                {
                    o.dir = out / "figures" / label;
                    std::cout << "\nSchedule " << label << ':';
                }
                FigureReport figures = write_figures(out, o);
                render_figures(figures);
                std::cout << '\n' << figures.message << '\n';
                for (const std::string& s : figures.skipped)
                {
                    std::cout << "  skipped: " << s << '\n';
                }
            }
        }

        std::string m_program;
        SweepCommandLine m_flags;
        CLI::App m_app;
        std::string m_command;
#ifdef XTRAIN_HAVE_MPI
        std::optional<mpi::Environment> m_mpi;      // declared first: finalised last
        std::optional<mpi::Communicator> m_comm;    // set with more than one rank
        std::optional<mpi::WorkerRelease> m_release; // rank 0 only
#endif
    };

    /**
     * @brief The main job in one call: parses the sweep's flags, runs the sweep of @p make_model on
     *        @p data (or merges, or redraws), and returns the exit code for main().
     * Errors (a refused folder, a bad grid) are printed as "PROGRAM: message" and return 1.
     */
    template <class T, class MakeModel, class... Policies>
    int sweep_main(int argc, char** argv, MakeModel make_model, const SweepData<T>& data,
                   const std::string& model_description, RunSettings settings = {},
                   const OptimizerSet<Policies...>& optimizers = OptimizerSet<>())
    {
        const std::string program = argc > 0 ? std::filesystem::path(argv[0]).filename().string() : "sweep";
        try
        {
            SweepMain m(program);
            m.parse(argc, argv, optimizers.names(), known_schedule_names(settings.schedules));
            return m.main([&] { return m.run(data, std::move(make_model), model_description, std::move(settings), optimizers); });
        }
        catch (const std::exception& e)
        {
            std::cerr << program << ": " << e.what() << '\n';
            return 1;
        }
    }
}

#endif
