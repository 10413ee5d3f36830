// lr_batch_sweep: the learning-rate x batch-size sweep, xtrain's main job.
//
// Trains one model per cell of the grid optimizer x learning rate x batch size x seed, in
// parallel, and writes tidy CSV files and figures: training loss per batch size, validation
// accuracy over lr x batch size (SGD and Adam side by side), the best lr against the batch size,
// and the steps to a target accuracy against the batch size with the fit
// S(B) = S_min (1 + B_noise / B). Running the same command again resumes an interrupted sweep.
// `lr_batch_sweep --help` lists the flags; docs/reproducing.md explains the figures.
#include "cli.hpp"

#include <xtrain/xtrain.hpp>
#include <xtrain/experiment/render.hpp> // runs gnuplot on the figures

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <algorithm>
#include <cmath>
#include <iomanip>
#include <numeric>
#include <vector>

namespace
{
    namespace fs = std::filesystem;

    // -----------------------------------------------------------------------------------------
    // Command line
    // -----------------------------------------------------------------------------------------

    /** @brief What the command line says; an empty optional leaves the choice to the sweep. */
    struct SweepCommandLine
    {
        std::string dataset = "fashion-mnist";
        std::optional<std::string> label;
        bool regression = false;
        bool label_names = false;
        std::string data_dir = xtrain::datasets::fashion_mnist_default_dir;
        std::optional<std::uint64_t> train_size;
        std::uint64_t val_size = 10000;
        std::string model = "mlp:128";
        std::vector<std::string> optimizers{"sgd", "adam"};
        std::vector<double> lrs{0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2};
        std::vector<std::size_t> batch_sizes{16, 32, 64, 128, 256, 512, 1024, 2048};
        std::vector<std::uint64_t> seeds{1, 2, 3};
        example_cli::Budget budget; // none given: 5 epochs
        std::uint64_t evals_per_epoch = 4;
        std::optional<std::string> target;
        std::optional<double> target_precision;
        std::uint64_t refine = 0;
        bool test = false;
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
        std::string out = "results/lr_batch_sweep";
        std::vector<std::string> merge; // empty: not merging
        bool figures_only = false;
        bool no_figures = false;
    };

    /** @brief Defines every flag of the sweep on @p app, each filling its field of @p s. */
    inline void add_sweep_options(CLI::App& app, SweepCommandLine& s)
    {
        using namespace example_cli;
        app.description("Trains one model per optimizer x learning rate x batch size x seed and writes\n"
                        "runs.csv, summary.csv, summary_by_batch.csv, fits.csv, meta.json and figures/.\n"
                        "Running the same command again resumes; a different grid needs another --out.");
        // Defaults: about ten minutes on two cores with Fashion-MNIST (see docs/reproducing.md).
        app.add_option("--dataset", s.dataset, "fashion-mnist (default), blobs, spirals, teacher, linear, or csv:FILE")
            ->type_name("NAME");
        add_optional(app, "--label", s.label, "label column of a CSV file, by name or 0-based index (default: the last)")
            ->type_name("COLUMN");
        CLI::Option* regression = app.add_flag("--regression", s.regression, "treat the CSV label column as a regression target");
        app.add_flag("--label-names", s.label_names, "the CSV label column holds class names (mapped to classes in sorted order)")
            ->excludes(regression);
        app.add_option("--data-dir", s.data_dir, "where the Fashion-MNIST files are (default /usr/share/datasets/fashion-mnist)")
            ->type_name("DIR");
        add_optional(app, "--train-size", s.train_size, "use only the first N training samples (default: all)")
            ->type_name("N")->check(count());
        app.add_option("--val-size", s.val_size, "samples held out of the training set for validation (default 10000)")
            ->type_name("N")->check(count());
        app.add_option("--model", s.model, "mlp:W1xW2... hidden widths (default mlp:128), linear (no hidden layer), or cnn")
            ->type_name("SPEC");
        add_list(app, "--optimizers", s.optimizers,
                 "comma list of sgd, momentum, nesterov, adam, adamw, rmsprop, adagrad, lars, lamb (default sgd,adam)");
        add_list(app, "--lrs", s.lrs, "comma list of learning rates (default 0.0005,0.001,0.002,0.005,...,0.5,1,2)",
                 real("> 0", [](double v) { return v > 0.0; }));
        add_list(app, "--batch-sizes", s.batch_sizes, "comma list of batch sizes (default 16,32,64,128,256,512,1024,2048)",
                 count());
        add_list(app, "--seeds", s.seeds, "comma list of run seeds (default 1,2,3)", count(true));
        add_budget(app, s.budget, "budget per run in epochs (default 5)", "budget per run in optimizer steps instead",
                   "budget per run in training examples instead");
        app.add_option("--evals-per-epoch", s.evals_per_epoch, "evaluation points per epoch (default 4)")
            ->type_name("N")->check(count());
        add_optional(app, "--target", s.target, "val_accuracy=0.85 (default for classification), val_loss=0.5, train_loss=X or none")
            ->type_name("SPEC");
        add_optional(app, "--target-precision", s.target_precision,
                     "resolve steps to target to within P of themselves by bisecting (default 0.02; 0: off)")
            ->type_name("P")->check(real("in [0, 1)", [](double v) { return v >= 0.0 && v < 1.0; }));
        app.add_option("--refine", s.refine, "after the grid, N rounds of rates halfway between each best lr and its neighbours (default 0)")
            ->type_name("N")->check(count(true));
        app.add_flag("--test", s.test, "also score every run's final model on a test set (Fashion-MNIST: t10k; others: held out)");
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
        // --self-check runs the grid both with and without early stopping.
        app.add_flag("--self-check", s.self_check, "run the grid with early stopping and without (OUT/guarded, OUT/unguarded) and compare")
            ->excludes(no_early);
        app.add_option("--noise-scale", s.noise_scale, "measure the gradient noise scale every N steps, 0 to skip (default 8)")
            ->type_name("N")->check(count(true));
        add_optional(app, "--jobs", s.jobs, "runs in parallel, one BLAS thread each (default: hardware threads)")
            ->type_name("N")->check(count());
        add_optional(app, "--shard", s.shard, "run only the runs whose index is K modulo N (for many machines)")
            ->type_name("K/N");
        app.add_option("--out", s.out, "results folder (default results/lr_batch_sweep); rerun to resume")
            ->type_name("DIR")->check(CLI::Validator(
                [](std::string& v) { return v.empty() ? std::string("the results folder's name is empty") : std::string(); }, ""));
        add_list(app, "--merge", s.merge, "merge these shards' results folders into --out, draw the figures, and exit");
        app.add_flag("--figures-only", s.figures_only, "redraw the figures and the summary of --out, and exit");
        app.add_flag("--no-figures", s.no_figures, "write the CSV files only");
    }

    [[noreturn]] void usage_error(const std::string& message)
    {
        example_cli::fail("lr_batch_sweep", message);
    }

    std::uint64_t parse_count(const std::string& flag, const std::string& text)
    {
        std::string t = text;
        const std::string why = example_cli::count()(t);
        if (!why.empty())
        {
            usage_error(flag + ": " + why);
        }
        return std::stoull(text);
    }

    // -----------------------------------------------------------------------------------------
    // Data and models
    // -----------------------------------------------------------------------------------------

    struct Data
    {
        xtrain::Dataset<float> train;
        xtrain::Dataset<float> validation;
        std::optional<xtrain::Dataset<float>> test;
        std::string description;
    };

    Data load_data(const SweepCommandLine& f)
    {
        const std::string& name = f.dataset;
        const std::uint64_t data_seed = 20260101; // fixed: the data (and the split) do not vary with run seeds
        xtrain::Dataset<float> all;
        std::optional<xtrain::Dataset<float>> official_test;
        std::string description;
        if (name == "fashion-mnist")
        {
            const std::string& dir = f.data_dir;
            if (!xtrain::datasets::fashion_mnist_available(dir))
            {
                std::cerr << "lr_batch_sweep: Fashion-MNIST is not installed in " << dir
                          << " (apt-get install dataset-fashion-mnist);\n"
                          << "  running on a synthetic task of the same shape instead (teacher-student, 784 inputs, 10 classes).\n";
            }
            auto both = xtrain::datasets::fashion_mnist_or_synthetic<float>(dir, data_seed);
            all = std::move(both.train);
            if (f.test)
            {
                official_test = std::move(both.test);
            }
            description = all.name;
        }
        else if (name == "blobs")
        {
            xtrain::datasets::BlobsOptions o;
            o.num_samples = 20000;
            o.num_features = 20;
            o.num_classes = 5;
            o.cluster_std = 4.0;
            o.seed = data_seed;
            all = xtrain::datasets::gaussian_blobs<float>(o);
            description = "gaussian blobs 20000 x 20, 5 classes, std 4";
        }
        else if (name == "spirals")
        {
            xtrain::datasets::SpiralsOptions o;
            o.num_samples = 20000;
            o.seed = data_seed;
            all = xtrain::datasets::two_spirals<float>(o);
            description = "two spirals 20000";
        }
        else if (name == "teacher")
        {
            xtrain::datasets::TeacherStudentOptions o;
            o.num_samples = 30000;
            o.seed = data_seed;
            all = xtrain::datasets::teacher_student<float>(o).data;
            description = "teacher-student 30000";
        }
        else if (name == "linear")
        {
            xtrain::datasets::LinearRegressionOptions o;
            o.num_samples = 20000;
            o.num_features = 50;
            o.seed = data_seed;
            all = xtrain::datasets::linear_regression<float>(o).data;
            description = "linear regression 20000 x 50";
        }
        else if (name.rfind("csv:", 0) == 0)
        {
            xtrain::CsvOptions o;
            if (f.label)
            {
                const std::string& label = *f.label;
                const bool numeric = !label.empty() && label.find_first_not_of("0123456789") == std::string::npos;
                o.label = numeric ? xtrain::ColumnRef(std::stoul(label)) : xtrain::ColumnRef(label);
            }
            o.task = f.regression ? xtrain::CsvTask::regression : xtrain::CsvTask::classification;
            o.label_names = f.label_names;
            try
            {
                all = xtrain::read_csv<float>(name.substr(4), o);
            }
            catch (const xtrain::data_error& e)
            {
                // The library's remedy names CsvOptions fields; on the command line they are flags.
                std::string m = e.what();
                const std::size_t cut = m.find("; set CsvOptions::label_names");
                if (cut != std::string::npos)
                {
                    m = m.substr(0, cut) + "; --label-names maps class names to indices, --regression reads a real-valued target";
                }
                const std::size_t nc = m.find(", or set CsvOptions::num_classes");
                if (nc != std::string::npos)
                {
                    m = m.substr(0, nc) + " (the classes are inferred from the labels in use)";
                }
                throw xtrain::data_error(m);
            }
            description = "csv " + name.substr(4);
        }
        else
        {
            usage_error("--dataset: unknown dataset '" + name + "' (fashion-mnist, blobs, spirals, teacher, linear, csv:FILE)");
        }

        const std::uint64_t val_size = f.val_size;
        std::optional<xtrain::Dataset<float>> test = std::move(official_test);
        if (f.test && !test)
        {
            // No official test split: hold one out, the size of the validation set, before anything else.
            if (2 * val_size >= all.size())
            {
                usage_error("--test holds out " + std::to_string(val_size) + " test samples beside the validation set, "
                            "which leaves no training data (the dataset has " + std::to_string(all.size()) + " samples)");
            }
            auto held = xtrain::train_validation_split(all, static_cast<double>(val_size) / static_cast<double>(all.size()),
                                                       data_seed + 1);
            all = std::move(held.train);
            test = std::move(held.validation);
        }
        if (val_size >= all.size())
        {
            usage_error("--val-size " + std::to_string(val_size) + " leaves no training data (the dataset has "
                        + std::to_string(all.size()) + " samples)");
        }
        auto parts = xtrain::train_validation_split(all, static_cast<double>(val_size) / static_cast<double>(all.size()), data_seed);
        if (f.train_size)
        {
            const std::uint64_t n = *f.train_size;
            if (n < parts.train.size())
            {
                std::vector<std::size_t> first(n);
                std::iota(first.begin(), first.end(), std::size_t(0));
                parts.train = xtrain::subset(parts.train, first, parts.train.name);
            }
        }
        if (name != "fashion-mnist" || all.is_regression())
        {
            // Features on comparable scales, fitted on the training part only.
            if (test)
            {
                xtrain::standardize(parts.train, parts.validation, *test);
            }
            else
            {
                xtrain::standardize(parts.train, parts.validation);
            }
            description += ", standardised";
        }
        description += ", " + std::to_string(parts.train.size()) + " train / " + std::to_string(parts.validation.size())
                     + " validation";
        if (test)
        {
            description += " / " + std::to_string(test->size()) + (name == "fashion-mnist" ? " test (t10k)" : " test (held out)");
        }
        return Data{std::move(parts.train), std::move(parts.validation), std::move(test), description};
    }

    enum class ModelKind
    {
        mlp,
        cnn
    };

    struct ModelSpec
    {
        ModelKind kind = ModelKind::mlp;
        std::vector<std::size_t> hidden{128};
        std::string text = "mlp:128";
    };

    ModelSpec parse_model(const SweepCommandLine& f)
    {
        ModelSpec m;
        m.text = f.model;
        if (m.text == "cnn")
        {
            m.kind = ModelKind::cnn;
            m.hidden.clear();
        }
        else if (m.text == "linear")
        {
            m.hidden.clear();
        }
        else if (m.text.rfind("mlp:", 0) == 0)
        {
            m.hidden.clear();
            std::stringstream ss(m.text.substr(4));
            for (std::string w; std::getline(ss, w, 'x');)
            {
                m.hidden.push_back(parse_count("--model", w));
            }
            if (m.hidden.empty())
            {
                usage_error("--model: 'mlp:' needs hidden widths, e.g. mlp:256 or mlp:512x256");
            }
        }
        else
        {
            usage_error("--model: unknown model '" + m.text + "' (mlp:W1xW2..., linear or cnn)");
        }
        return m;
    }

    // -----------------------------------------------------------------------------------------
    // Reporting
    // -----------------------------------------------------------------------------------------

    std::string fmt(double v, int precision = 3)
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

    using NoiseKey = std::tuple<std::string, std::size_t, double>; // optimizer, batch size, lr

    // Collects the per-run noise-scale files into one noise_scale.csv and returns, per
    // (optimizer, batch size, lr), the median over seeds of each run's median B_simple over its
    // epochs (one epoch's value is noisy, and B_simple drifts as training proceeds).
    std::map<NoiseKey, double> collect_noise_scale(const fs::path& out)
    {
        std::map<NoiseKey, std::vector<double>> per_run;
        const fs::path dir = out / "noise_scale";
        if (!fs::exists(dir))
        {
            return {};
        }
        std::vector<fs::path> files;
        for (const auto& e : fs::directory_iterator(dir))
        {
            if (e.path().extension() == ".csv")
            {
                files.push_back(e.path());
            }
        }
        std::sort(files.begin(), files.end());
        std::ofstream all(out / "noise_scale.csv", std::ios::trunc);
        bool header = false;
        for (const fs::path& file : files)
        {
            std::ifstream in(file);
            std::string line;
            if (!std::getline(in, line))
            {
                continue;
            }
            if (!header)
            {
                all << line << '\n';
                header = true;
            }
            std::optional<NoiseKey> key;
            std::vector<double> values;
            while (std::getline(in, line))
            {
                all << line << '\n';
                std::vector<std::string> cells;
                std::stringstream ss(line);
                for (std::string c; std::getline(ss, c, ',');)
                {
                    cells.push_back(c);
                }
                if (cells.size() >= 8)
                {
                    key = NoiseKey{cells[0], std::stoul(cells[2]), std::strtod(cells[1].c_str(), nullptr)};
                    const double b = std::strtod(cells[7].c_str(), nullptr);
                    if (std::isfinite(b) && b > 0.0)
                    {
                        values.push_back(b);
                    }
                }
            }
            if (key && !values.empty())
            {
                per_run[*key].push_back(xtrain::median(values));
            }
        }
        all.close();
        if (!all)
        {
            throw std::runtime_error("cannot write '" + (out / "noise_scale.csv").string() + "' (disk full?)");
        }
        std::map<NoiseKey, double> median;
        for (auto& [key, values] : per_run)
        {
            median[key] = xtrain::median(values);
        }
        return median;
    }

    std::string interval(double lo, double hi, int precision = 3)
    {
        if (!std::isfinite(lo) || !std::isfinite(hi) || lo == hi)
        {
            return "";
        }
        return "[" + fmt(lo, precision) + "-" + fmt(hi, precision) + "]";
    }

    void print_summary(const fs::path& out)
    {
        const xtrain::ResultSet set = xtrain::load_results(out);
        const auto runs = set.summaries();
        if (runs.empty())
        {
            std::cout << "No finished runs in " << out.string() << " yet.\n";
            return;
        }
        const xtrain::Metric metric = xtrain::default_metric(runs);
        const auto table = xtrain::summarize_by_batch(runs, metric);
        const auto fits = xtrain::summarize_fits(runs, table, metric);
        const auto noise = collect_noise_scale(out);
        const auto& grid = set.meta.config.grid;
        const std::string schedule = grid.schedules.empty() ? "" : grid.schedules.front();
        std::set<std::string> warnings;
        std::cout << "\nBest learning rate per batch size (" << xtrain::metric_name(metric)
                  << ", median over seeds; [tied]: the rates best in 5 % or more of bootstrap draws over seeds):\n";
        for (const std::string& opt : grid.optimizers)
        {
            std::cout << "  " << opt << '\n';
            std::cout << "      B         best lr [tied]   value  stable up to  unstable from  diverged/stalled"
                         "    steps to target [seeds]  epochs  B_simple*\n";
            for (const auto& row : table)
            {
                if (row.optimizer != opt || row.schedule != schedule)
                {
                    continue;
                }
                const auto it = noise.find({opt, row.batch_size, row.best_lr}); // at the best lr
                const std::string best = fmt(row.best_lr) + (row.best_at_edge ? "*" : "") + " "
                                       + interval(row.best_lr_lo, row.best_lr_hi);
                const std::string steps = fmt(row.steps_to_target, 4) + (row.target_resolution_limited ? "!" : "") + " "
                                        + interval(row.steps_to_target_lo, row.steps_to_target_hi, 4);
                char line[320];
                std::snprintf(line, sizeof line, "  %5zu  %22s  %6s  %12s  %13s  %8zu/%-7zu  %25s  %6s  %9s\n",
                              row.batch_size, best.c_str(), fmt(row.best_value, 4).c_str(),
                              fmt(row.largest_stable_lr).c_str(), fmt(row.smallest_unstable_lr).c_str(),
                              row.diverged_runs, row.stalled_runs, steps.c_str(), fmt(row.epochs_to_target, 3).c_str(),
                              it == noise.end() ? "-" : fmt(it->second, 3).c_str());
                std::cout << line;
                warnings.insert(row.warnings.begin(), row.warnings.end());
            }
            for (const auto& f : fits)
            {
                if (f.optimizer != opt || f.schedule != schedule)
                {
                    continue;
                }
                warnings.insert(f.warnings.begin(), f.warnings.end());
                if (f.best_lr.points >= 3 && f.best_lr.valid())
                {
                    std::cout << "      best lr ~ B^" << fmt(f.best_lr.slope, 2) << " " << interval(f.slope_lo, f.slope_hi, 2)
                              << " (linear scaling: B^1, square-root scaling: B^0.5)\n";
                }
                if (f.steps.valid())
                {
                    std::cout << "      steps to target ~ " << fmt(f.steps.s_min, 4) << " " << interval(f.s_min_lo, f.s_min_hi, 4)
                              << " x (1 + " << fmt(f.steps.b_noise, 3) << " " << interval(f.b_noise_lo, f.b_noise_hi)
                              << " / B): beyond B ~ " << fmt(f.steps.b_noise, 3) << " larger batches stop saving steps\n";
                }
            }
        }
        std::cout << "  (* a best lr at the edge of the rates tried; ! steps to target not resolved (met at the first\n"
                     "   evaluation); [seeds]: fewest to most steps over the seeds; B_simple*: the gradient noise scale of\n"
                     "   the runs at the best lr, median over epochs and seeds; intervals of the fits: 5th-95th percentile)\n";
        for (const std::string& w : warnings)
        {
            std::cout << "  warning: " << xtrain::warning_text(w) << '\n';
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
            std::cout << "  evaluation took " << fmt(100.0 * eval_seconds / run_seconds, 2)
                      << " % of the runs' time, resolving the steps to target " << fmt(100.0 * refine_seconds / run_seconds, 2)
                      << " %\n";
        }
    }

    void draw_figures(const fs::path& out)
    {
        xtrain::FigureReport figures = xtrain::write_figures(out);
        xtrain::render_figures(figures);
        std::cout << '\n' << figures.message << '\n';
        for (const std::string& s : figures.skipped)
        {
            std::cout << "  skipped: " << s << '\n';
        }
    }

    // -----------------------------------------------------------------------------------------
    // Running
    // -----------------------------------------------------------------------------------------

    std::atomic<bool> g_stop{false};

    extern "C" void on_interrupt(int)
    {
        g_stop.store(true);
        // A second Ctrl-C ends the program at once.
        std::signal(SIGINT, SIG_DFL);
    }

    template <class MakeModel>
    xtrain::SweepReport run(const Data& data, MakeModel make_model, const xtrain::SweepConfig& config,
                            const xtrain::RunSettings& settings, const xtrain::SweepOptions& options, const fs::path& out)
    {
        const xtrain::RunFunction fn = xtrain::make_trainer_run(data.train, &data.validation, make_model, settings,
                                                                xtrain::BatchSizes<>{}, data.test ? &*data.test : nullptr);
        return xtrain::run_sweep(config, out, fn, options);
    }

    void print_report(const xtrain::SweepReport& report)
    {
        std::cout << "\n" << report.finished << " runs finished, " << report.diverged << " diverged, " << report.stalled
                  << " stalled, " << report.failed << " failed, " << report.already_done << " were already done ("
                  << fmt(report.seconds, 3) << " s).\n";
        for (const auto& failure : report.failures)
        {
            std::cout << "  failed: " << failure.spec.key().str() << ": " << failure.message << '\n';
        }
        if (report.interrupted)
        {
            std::cout << "Interrupted: " << report.not_run << " runs not run; the same command resumes.\n";
        }
    }
}

int main(int argc, char** argv)
{
    try
    {
        SweepCommandLine f;
        CLI::App app;
        example_cli::configure(app, "lr_batch_sweep");
        add_sweep_options(app, f);
        example_cli::parse_or_exit(app, argc, argv);
        const fs::path out(f.out);

        if (!f.merge.empty())
        {
            std::vector<fs::path> inputs(f.merge.begin(), f.merge.end());
            const xtrain::FolderLock lock(out, "lr_batch_sweep --merge");
            const xtrain::MergeReport m = xtrain::merge_results(inputs, out);
            std::cout << "Merged " << inputs.size() << " results folders into " << out.string() << ": " << m.runs
                      << " runs with a result, " << m.duplicates << " found in more than one folder (the first kept), "
                      << m.failures << " failed everywhere, " << m.missing << " missing";
            std::cout << (m.missing > 0 ? " (run the sweep with --out " + out.string() + " to finish them).\n" : ".\n");
            fs::create_directories(out / "noise_scale");
            for (const fs::path& in : inputs)
            {
                std::error_code same;
                if (fs::equivalent(in, out, same) && !same)
                {
                    continue;  // merging into one of the inputs: its files are already there
                }
                if (fs::exists(in / "noise_scale"))
                {
                    for (const auto& e : fs::directory_iterator(in / "noise_scale"))
                    {
                        fs::copy_file(e.path(), out / "noise_scale" / e.path().filename(), fs::copy_options::overwrite_existing);
                    }
                }
            }
            print_summary(out);
            if (!f.no_figures)
            {
                draw_figures(out);
            }
            return 0;
        }
        if (f.figures_only)
        {
            if (!fs::exists(out / "meta.json"))
            {
                usage_error("--figures-only: '" + out.string() + "' holds no sweep results (no meta.json)");
            }
            const xtrain::FolderLock lock(out, "lr_batch_sweep --figures-only");
            print_summary(out);
            draw_figures(out);
            return 0;
        }

        // The grid.
        xtrain::SweepConfig config;
        auto& grid = config.grid;
        grid.optimizers = f.optimizers;
        grid.lrs = f.lrs;
        grid.batch_sizes = f.batch_sizes;
        grid.seeds = f.seeds;

        // What every run shares.
        xtrain::RunSettings settings;
        settings.budget = f.budget.steps     ? xtrain::Budget::steps(*f.budget.steps)
                        : f.budget.samples ? xtrain::Budget::samples(*f.budget.samples)
                                           : xtrain::Budget::epochs(f.budget.epochs.value_or(5));
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
            settings.scaling = f.scale_lr == "linear" ? xtrain::LrScaling::linear : xtrain::LrScaling::sqrt;
            settings.base_batch_size = f.base_batch ? *f.base_batch
                                                    : *std::min_element(grid.batch_sizes.begin(), grid.batch_sizes.end());
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
        const bool self_check = f.self_check;
        settings.noise_scale_every = f.noise_scale;
        settings.noise_scale_dir = out / "noise_scale";

        const ModelSpec model = parse_model(f);
        const Data data = load_data(f);
        const bool classify = data.train.is_classification();
        config.target = xtrain::parse_target(f.target ? *f.target : (classify ? "val_accuracy=0.85" : "none"));
        config.dataset = data.description;
        config.budget = settings.describe(grid.optimizers);
        config.notes["command"] = [&] {
            std::string c;
            for (int i = 0; i < argc; ++i)
            {
                c += (i ? " " : "") + std::string(argv[i]);
            }
            return c;
        }();

        xtrain::SweepOptions options;
        const unsigned hw = std::max(1U, std::thread::hardware_concurrency());
        options.jobs = f.jobs ? *f.jobs : hw;
        if (f.shard)
        {
            options.shard = xtrain::parse_shard(*f.shard);
        }
        options.stop = &g_stop;
        options.refine_rounds = f.refine;
        std::signal(SIGINT, on_interrupt);

        const std::size_t inputs = data.train.feature_dim();
        const std::size_t outputs = classify ? data.train.num_classes : data.train.target_dim();
        std::cout << "Sweep of " << grid.size() << " runs (" << grid.optimizers.size() << " optimizers x " << grid.lrs.size()
                  << " learning rates x " << grid.batch_sizes.size() << " batch sizes x " << grid.seeds.size()
                  << " seeds) on " << data.description << ", " << options.jobs << " in parallel"
                  << (self_check ? ", once with early stopping and once without" : "") << ".\n"
                  << "Results go to " << out.string() << " (Ctrl-C keeps every finished run and stops the runs in flight, which are not recorded and start again when you rerun the same command; a second Ctrl-C ends at once).\n";
        // The model, built per run; `sweep` runs the grid with the given settings into a folder.
        std::function<xtrain::SweepReport(const xtrain::RunSettings&, const xtrain::SweepConfig&, const fs::path&)> sweep;
        if (model.kind == ModelKind::cnn)
        {
            if (!classify || data.train.sample_shape.size() != 3)
            {
                usage_error("--model cnn needs images (samples of shape C x H x W) with class labels, e.g. --dataset fashion-mnist");
            }
            const std::size_t c = data.train.sample_shape[0];
            const std::size_t h = data.train.sample_shape[1];
            const std::size_t w = data.train.sample_shape[2];
            if (h < 4 || w < 4)
            {
                usage_error("--model cnn needs images of at least 4 x 4 pixels");
            }
            config.model = "cnn conv3x3(" + std::to_string(c) + "->16) relu maxpool2 conv3x3(16->32) relu maxpool2 dense("
                         + std::to_string(outputs) + ")";
            const std::size_t h2 = ((h - 2) / 2 - 2) / 2;
            const std::size_t w2 = ((w - 2) / 2 - 2) / 2;
            using namespace xtrain;
            using Cnn = Sequential<float, Conv2D<>, ReLU, MaxPool2D<>, Conv2D<>, ReLU, MaxPool2D<>, Flatten, Dense<>,
                                   SoftmaxCrossEntropy>;
            auto make = [=](std::uint64_t seed) {
                return Cnn(seed, Conv2D<>(c, 16, 3), ReLU(), MaxPool2D<>(2), Conv2D<>(16, 32, 3), ReLU(), MaxPool2D<>(2),
                           Flatten(), Dense<>(32 * h2 * w2, outputs), SoftmaxCrossEntropy());
            };
            sweep = [&, make](const RunSettings& s, const SweepConfig& cf, const fs::path& dir) {
                return run(data, make, cf, s, options, dir);
            };
        }
        else
        {
            std::vector<std::size_t> widths{inputs};
            widths.insert(widths.end(), model.hidden.begin(), model.hidden.end());
            widths.push_back(outputs);
            config.model = "mlp";
            for (std::size_t i = 0; i < widths.size(); ++i)
            {
                config.model += (i ? "-" : " ") + std::to_string(widths[i]);
            }
            config.model += classify ? " relu softmax-cross-entropy" : " relu mse";
            if (classify)
            {
                auto make = [widths](std::uint64_t seed) { return xtrain::MLP<float>(seed, widths); };
                sweep = [&, make](const xtrain::RunSettings& s, const xtrain::SweepConfig& cf, const fs::path& dir) {
                    return run(data, make, cf, s, options, dir);
                };
            }
            else
            {
                auto make = [widths](std::uint64_t seed) { return xtrain::MLP<float, xtrain::ReLU, xtrain::MSE>(seed, widths); };
                sweep = [&, make](const xtrain::RunSettings& s, const xtrain::SweepConfig& cf, const fs::path& dir) {
                    return run(data, make, cf, s, options, dir);
                };
            }
        }

        // One writer per folder: this process holds --out from the first run to the last figure.
        const xtrain::FolderLock lock(out, "lr_batch_sweep");
        if (self_check)
        {
            // The same grid twice: with the guard, and trained to the end; then run by run.
            xtrain::RunSettings unguarded = settings;
            unguarded.early_stopping = false;
            xtrain::SweepConfig unguarded_config = config;
            unguarded_config.budget = unguarded.describe(grid.optimizers);
            settings.noise_scale_dir = out / "guarded" / "noise_scale";
            unguarded.noise_scale_dir = out / "unguarded" / "noise_scale";
            std::cout << "\n== with early stopping (" << (out / "guarded").string() << ")\n";
            const xtrain::SweepReport a = sweep(settings, config, out / "guarded");
            print_report(a);
            if (a.interrupted)
            {
                return 1;
            }
            std::cout << "\n== trained to the end (" << (out / "unguarded").string() << ")\n";
            const xtrain::SweepReport b = sweep(unguarded, unguarded_config, out / "unguarded");
            print_report(b);
            if (b.interrupted)
            {
                return 1;
            }
            const xtrain::GuardCheckReport check = xtrain::check_guard(
                xtrain::load_results(out / "guarded"), xtrain::load_results(out / "unguarded"),
                xtrain::chance_accuracy(data.validation));
            xtrain::write_guard_check_csv(out / "self_check.csv", check);
            print_summary(out / "guarded");
            std::cout << '\n' << xtrain::describe_guard_check(check) << "\nThe stopped runs, each beside its twin: "
                      << (out / "self_check.csv").string() << '\n';
            return check.passed() && a.complete() && b.complete() ? 0 : 1;
        }

        const xtrain::SweepReport report = sweep(settings, config, out);
        print_report(report);
        print_summary(out);
        if (!f.no_figures)
        {
            draw_figures(out);
        }
        std::cout << "\nResults: " << fs::absolute(out).string() << "/{runs,summary,summary_by_batch,fits}.csv, meta.json";
        if (settings.noise_scale_every != 0)
        {
            std::cout << ", noise_scale.csv";
        }
        std::cout << '\n';
        return report.complete() ? 0 : 1;
    }
    catch (const std::exception& e)
    {
        std::cerr << "lr_batch_sweep: " << e.what() << '\n';
        return 1;
    }
}
