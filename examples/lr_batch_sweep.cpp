// lr_batch_sweep: the learning-rate x batch-size sweep, xtrain's main job.
//
// Trains one model per cell of the grid optimizer x learning rate x batch size x seed, in
// parallel, and writes tidy CSV files and figures: training loss per batch size, validation
// accuracy over lr x batch size (SGD and Adam side by side), the best lr against the batch size,
// and the steps to a target accuracy against the batch size with the fit
// S(B) = S_min (1 + B_noise / B). Running the same command again resumes an interrupted sweep.
// `lr_batch_sweep --help` lists the flags; docs/reproducing.md explains the figures.
#include <xtrain/xtrain.hpp>

#include <atomic>
#include <cerrno>
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

    struct Flag
    {
        const char* name;
        const char* value; // placeholder shown in --help; nullptr for a switch
        const char* help;
    };

    // Defaults: about ten minutes on two cores with Fashion-MNIST (see docs/reproducing.md).
    constexpr Flag flags[] = {
        {"--dataset", "NAME", "fashion-mnist (default), blobs, spirals, teacher, linear, or csv:FILE"},
        {"--label", "COLUMN", "label column of a CSV file, by name or 0-based index (default: the last)"},
        {"--regression", nullptr, "treat the CSV label column as a regression target"},
        {"--label-names", nullptr, "the CSV label column holds class names (mapped to classes in sorted order)"},
        {"--data-dir", "DIR", "where the Fashion-MNIST files are (default /usr/share/datasets/fashion-mnist)"},
        {"--train-size", "N", "use only the first N training samples (default: all)"},
        {"--val-size", "N", "samples held out of the training set for validation (default 10000)"},
        {"--model", "SPEC", "mlp:W1xW2... hidden widths (default mlp:128), linear (no hidden layer), or cnn"},
        {"--optimizers", "LIST", "comma list of sgd, momentum, nesterov, adam, adamw, rmsprop, adagrad, lars, lamb (default sgd,adam)"},
        {"--lrs", "LIST", "comma list of learning rates (default 0.0005,0.001,0.002,0.005,...,0.5,1,2)"},
        {"--batch-sizes", "LIST", "comma list of batch sizes (default 16,32,64,128,256,512,1024,2048)"},
        {"--seeds", "LIST", "comma list of run seeds (default 1,2,3)"},
        {"--epochs", "N", "budget per run in epochs (default 5)"},
        {"--steps", "N", "budget per run in optimizer steps instead"},
        {"--samples", "N", "budget per run in training examples instead"},
        {"--evals-per-epoch", "N", "evaluation points per epoch (default 4)"},
        {"--target", "SPEC", "val_accuracy=0.85 (default for classification), val_loss=0.5, train_loss=X or none"},
        {"--target-precision", "P", "resolve steps to target to within P of themselves by bisecting (default 0.02; 0: off)"},
        {"--refine", "N", "after the grid, N rounds of rates halfway between each best lr and its neighbours (default 0)"},
        {"--test", nullptr, "also score every run's final model on a test set (Fashion-MNIST: t10k; others: held out)"},
        {"--momentum", "X", "momentum of momentum, nesterov and lars (default 0.9)"},
        {"--weight-decay", "X", "weight decay of every optimizer (default: each one's own, 0; adamw and lamb 0.01)"},
        {"--scale-lr", "RULE", "none (default), linear or sqrt: scale each lr by B/B0 or sqrt(B/B0)"},
        {"--base-batch", "B0", "the B0 of --scale-lr (default: the smallest batch size)"},
        {"--warmup-epochs", "E", "linear warm-up of the lr over E epochs, per step (default 0)"},
        {"--divergence", "X", "stop a run whose loss, smoothed over 4096 examples, stays above X times its start (default 3)"},
        {"--no-early-stopping", nullptr, "train every run to the end of its budget (the guard only notes where it would stop)"},
        {"--provable-stops-only", nullptr, "do not stop nearly dead networks at chance, only provably hopeless runs"},
        {"--self-check", nullptr, "run the grid with early stopping and without (OUT/guarded, OUT/unguarded) and compare"},
        {"--noise-scale", "N", "measure the gradient noise scale every N steps, 0 to skip (default 8)"},
        {"--jobs", "N", "runs in parallel, one BLAS thread each (default: hardware threads)"},
        {"--shard", "K/N", "run only the runs whose index is K modulo N (for many machines)"},
        {"--out", "DIR", "results folder (default results/lr_batch_sweep); rerun to resume"},
        {"--merge", "LIST", "merge these shards' results folders into --out, draw the figures, and exit"},
        {"--figures-only", nullptr, "redraw the figures and the summary of --out, and exit"},
        {"--no-figures", nullptr, "write the CSV files only"},
        {"--help", nullptr, "this text"},
    };

    [[noreturn]] void usage_error(const std::string& message)
    {
        std::cerr << "lr_batch_sweep: " << message << "\n(see lr_batch_sweep --help)\n";
        std::exit(2);
    }

    void print_help()
    {
        std::cout << "usage: lr_batch_sweep [flags]\n\n"
                     "Trains one model per optimizer x learning rate x batch size x seed and writes\n"
                     "runs.csv, summary.csv, summary_by_batch.csv, fits.csv, meta.json and figures/.\n"
                     "Running the same command again resumes; a different grid needs another --out.\n\n";
        for (const Flag& f : flags)
        {
            std::string left = std::string("  ") + f.name + (f.value ? std::string(" ") + f.value : std::string());
            left.resize(std::max<std::size_t>(left.size() + 2, 26), ' ');
            std::cout << left << f.help << '\n';
        }
    }

    // Values of the flags given, by name; a switch maps to "".
    std::map<std::string, std::string> parse_flags(int argc, char** argv)
    {
        std::map<std::string, std::string> given;
        for (int i = 1; i < argc; ++i)
        {
            std::string arg = argv[i];
            std::optional<std::string> inline_value;
            if (const auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos)
            {
                inline_value = arg.substr(eq + 1);
                arg.resize(eq);
            }
            const Flag* flag = nullptr;
            for (const Flag& f : flags)
            {
                flag = arg == f.name ? &f : flag;
            }
            if (flag == nullptr)
            {
                usage_error(std::string(arg.rfind("--", 0) == 0 ? "unknown flag '" : "unexpected argument '") + argv[i]
                            + "' (flags start with --; see --help)");
            }
            if (given.count(arg))
            {
                usage_error(arg + " is given twice");
            }
            if (flag->value == nullptr)
            {
                if (inline_value)
                {
                    usage_error(arg + " takes no value");
                }
                given[arg] = "";
            }
            else if (inline_value)
            {
                given[arg] = *inline_value;
            }
            else if (i + 1 < argc)
            {
                given[arg] = argv[++i];
            }
            else
            {
                usage_error(arg + " needs a value (" + flag->value + ")");
            }
        }
        return given;
    }

    std::vector<std::string> split_list(const std::string& flag, const std::string& text)
    {
        std::vector<std::string> items;
        std::stringstream ss(text);
        for (std::string item; std::getline(ss, item, ',');)
        {
            if (item.empty())
            {
                usage_error(flag + ": empty item in '" + text + "'");
            }
            items.push_back(item);
        }
        if (items.empty())
        {
            usage_error(flag + " needs at least one value");
        }
        return items;
    }

    double parse_double(const std::string& flag, const std::string& text)
    {
        char* end = nullptr;
        errno = 0;
        const double v = std::strtod(text.c_str(), &end);
        if (text.empty() || end != text.c_str() + text.size())
        {
            usage_error(flag + ": '" + text + "' is not a number");
        }
        if (!std::isfinite(v) || (errno == ERANGE && std::fabs(v) > 1.0))
        {
            usage_error(flag + ": '" + text + "' is too large (not a finite double)");
        }
        if (errno == ERANGE || (v != 0.0 && std::fabs(v) < std::numeric_limits<double>::min()))
        {
            usage_error(flag + ": '" + text + "' is too small to compute with (below 2.2e-308, the smallest normal double)");
        }
        return v;
    }

    std::uint64_t parse_count(const std::string& flag, const std::string& text, bool allow_zero = false)
    {
        char* end = nullptr;
        errno = 0;
        const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
        if (text.empty() || text[0] == '-' || end != text.c_str() + text.size() || errno == ERANGE || (!allow_zero && v == 0))
        {
            usage_error(flag + ": '" + text + "' is not a " + (allow_zero ? "non-negative" : "positive") + " whole number");
        }
        return v;
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

    Data load_data(const std::map<std::string, std::string>& f)
    {
        const std::string name = f.count("--dataset") ? f.at("--dataset") : "fashion-mnist";
        const std::uint64_t data_seed = 20260101; // fixed: the data (and the split) do not vary with run seeds
        xtrain::Dataset<float> all;
        std::optional<xtrain::Dataset<float>> official_test;
        std::string description;
        if (name == "fashion-mnist")
        {
            const std::string dir = f.count("--data-dir") ? f.at("--data-dir") : xtrain::datasets::fashion_mnist_default_dir;
            if (!xtrain::datasets::fashion_mnist_available(dir))
            {
                std::cerr << "lr_batch_sweep: Fashion-MNIST is not installed in " << dir
                          << " (apt-get install dataset-fashion-mnist);\n"
                          << "  running on a synthetic task of the same shape instead (teacher-student, 784 inputs, 10 classes).\n";
            }
            auto both = xtrain::datasets::fashion_mnist_or_synthetic<float>(dir, data_seed);
            all = std::move(both.train);
            if (f.count("--test"))
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
            if (f.count("--label"))
            {
                const std::string& label = f.at("--label");
                const bool numeric = !label.empty() && label.find_first_not_of("0123456789") == std::string::npos;
                o.label = numeric ? xtrain::ColumnRef(std::stoul(label)) : xtrain::ColumnRef(label);
            }
            o.task = f.count("--regression") ? xtrain::CsvTask::regression : xtrain::CsvTask::classification;
            o.label_names = f.count("--label-names") != 0;
            if (o.label_names && o.task == xtrain::CsvTask::regression)
            {
                usage_error("--label-names and --regression: a regression target has no class names");
            }
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

        const std::uint64_t val_size = f.count("--val-size") ? parse_count("--val-size", f.at("--val-size")) : 10000;
        std::optional<xtrain::Dataset<float>> test = std::move(official_test);
        if (f.count("--test") && !test)
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
        if (f.count("--train-size"))
        {
            const std::uint64_t n = parse_count("--train-size", f.at("--train-size"));
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

    ModelSpec parse_model(const std::map<std::string, std::string>& f)
    {
        ModelSpec m;
        if (!f.count("--model"))
        {
            return m;
        }
        m.text = f.at("--model");
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
        xtrain::FigureOptions fo;
        const xtrain::FigureReport figures = xtrain::write_figures(out, fo);
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
        const auto f = parse_flags(argc, argv);
        if (f.count("--help"))
        {
            print_help();
            return 0;
        }
        if (f.count("--out") && f.at("--out").empty())
        {
            usage_error("--out: the results folder's name is empty");
        }
        const fs::path out = f.count("--out") ? fs::path(f.at("--out")) : fs::path("results/lr_batch_sweep");

        if (f.count("--merge"))
        {
            std::vector<fs::path> inputs;
            for (const std::string& d : split_list("--merge", f.at("--merge")))
            {
                inputs.emplace_back(d);
            }
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
            if (!f.count("--no-figures"))
            {
                draw_figures(out);
            }
            return 0;
        }
        if (f.count("--figures-only"))
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
        grid.optimizers = f.count("--optimizers") ? split_list("--optimizers", f.at("--optimizers"))
                                                  : std::vector<std::string>{"sgd", "adam"};
        for (const std::string& s : split_list("--lrs", f.count("--lrs") ? f.at("--lrs") : "0.0005,0.001,0.002,0.005,0.01,0.02,0.05,0.1,0.2,0.5,1,2"))
        {
            const double lr = parse_double("--lrs", s);
            if (lr <= 0.0)
            {
                usage_error("--lrs: learning rates must be > 0 (got " + s + ")");
            }
            grid.lrs.push_back(lr);
        }
        for (const std::string& s : split_list("--batch-sizes", f.count("--batch-sizes") ? f.at("--batch-sizes") : "16,32,64,128,256,512,1024,2048"))
        {
            grid.batch_sizes.push_back(parse_count("--batch-sizes", s));
        }
        for (const std::string& s : split_list("--seeds", f.count("--seeds") ? f.at("--seeds") : "1,2,3"))
        {
            grid.seeds.push_back(parse_count("--seeds", s, true));
        }

        // What every run shares.
        xtrain::RunSettings settings;
        const int budgets = static_cast<int>(f.count("--epochs") + f.count("--steps") + f.count("--samples"));
        if (budgets > 1)
        {
            usage_error("give one of --epochs, --steps and --samples");
        }
        settings.budget = f.count("--steps")     ? xtrain::Budget::steps(parse_count("--steps", f.at("--steps")))
                        : f.count("--samples") ? xtrain::Budget::samples(parse_count("--samples", f.at("--samples")))
                                               : xtrain::Budget::epochs(f.count("--epochs") ? parse_count("--epochs", f.at("--epochs")) : 5);
        settings.evals_per_epoch = f.count("--evals-per-epoch") ? parse_count("--evals-per-epoch", f.at("--evals-per-epoch")) : 4;
        if (f.count("--momentum"))
        {
            settings.optimizer.momentum = parse_double("--momentum", f.at("--momentum"));
        }
        if (f.count("--weight-decay"))
        {
            settings.optimizer.weight_decay = parse_double("--weight-decay", f.at("--weight-decay"));
        }
        const std::string scaling = f.count("--scale-lr") ? f.at("--scale-lr") : "none";
        if (scaling == "linear" || scaling == "sqrt")
        {
            settings.scaling = scaling == "linear" ? xtrain::LrScaling::linear : xtrain::LrScaling::sqrt;
            settings.base_batch_size = f.count("--base-batch")
                ? parse_count("--base-batch", f.at("--base-batch"))
                : *std::min_element(grid.batch_sizes.begin(), grid.batch_sizes.end());
        }
        else if (scaling != "none")
        {
            usage_error("--scale-lr: '" + scaling + "' is not none, linear or sqrt");
        }
        if (f.count("--warmup-epochs"))
        {
            settings.warmup_epochs = parse_double("--warmup-epochs", f.at("--warmup-epochs"));
            if (settings.warmup_epochs < 0.0)
            {
                usage_error("--warmup-epochs must be >= 0");
            }
        }
        if (f.count("--divergence"))
        {
            settings.divergence.factor = parse_double("--divergence", f.at("--divergence"));
            if (settings.divergence.factor <= 1.0)
            {
                usage_error("--divergence must be > 1");
            }
        }
        settings.early_stopping = f.count("--no-early-stopping") == 0;
        settings.divergence.stop_nearly_dead = f.count("--provable-stops-only") == 0;
        if (f.count("--target-precision"))
        {
            settings.target_precision = parse_double("--target-precision", f.at("--target-precision"));
            if (settings.target_precision < 0.0 || settings.target_precision >= 1.0)
            {
                usage_error("--target-precision must be in [0, 1) (got " + f.at("--target-precision") + ")");
            }
        }
        const bool self_check = f.count("--self-check") != 0;
        if (self_check && !settings.early_stopping)
        {
            usage_error("--self-check runs the grid both with and without early stopping: leave out --no-early-stopping");
        }
        settings.noise_scale_every = f.count("--noise-scale") ? parse_count("--noise-scale", f.at("--noise-scale"), true) : 8;
        settings.noise_scale_dir = out / "noise_scale";

        const ModelSpec model = parse_model(f);
        const Data data = load_data(f);
        const bool classify = data.train.is_classification();
        config.target = xtrain::parse_target(f.count("--target") ? f.at("--target") : (classify ? "val_accuracy=0.85" : "none"));
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
        options.jobs = f.count("--jobs") ? parse_count("--jobs", f.at("--jobs")) : hw;
        if (f.count("--shard"))
        {
            options.shard = xtrain::parse_shard(f.at("--shard"));
        }
        options.stop = &g_stop;
        options.refine_rounds = f.count("--refine") ? parse_count("--refine", f.at("--refine"), true) : 0;
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
        if (!f.count("--no-figures"))
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
