// What the scenario programs (warmup_large_batch.cpp, increase_batch_size.cpp) share: common flags,
// curves from the trainer's history, running runs in parallel, statistics over seeds, CSV files
// and drawing with gnuplot. Each program keeps its paper's recipe
// to itself; this file is plumbing.
#ifndef XTRAIN_EXAMPLES_SCENARIO_COMMON_HPP
#define XTRAIN_EXAMPLES_SCENARIO_COMMON_HPP

#include <xtrain/command_line.hpp>

#include <xtrain/xtrain.hpp>
#include <xtrain/experiment/render.hpp> // runs gnuplot on the figures

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace scenario
{
    /** @brief A command-line mistake found after parsing (flags that do not fit together): exit status 2. */
    struct usage_error : std::runtime_error
    {
        using std::runtime_error::runtime_error;
    };

    /** @brief Throws usage_error(@p what) unless @p ok. */
    inline void require(bool ok, const std::string& what)
    {
        if (!ok)
        {
            throw usage_error(what);
        }
    }

    /** @brief @p v as printf's %g writes it, for titles and legends. */
    inline std::string number(double v)
    {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%g", v);
        return buf;
    }

    /** @brief The settings every scenario has; each program sets its own defaults and adds its recipe's. */
    struct CommonSettings
    {
        std::size_t epochs = 0;
        std::vector<std::size_t> seeds;
        std::vector<std::size_t> hidden = {128, 128, 128, 128, 128};
        std::size_t points_per_epoch = 4;
        std::size_t jobs = 2;
        std::size_t limit = 0;
        std::string out;
    };

    /**
     * @brief Adds --epochs, --seeds, --hidden, --points-per-epoch, --jobs, --limit and --out over
     * the defaults in @p s, each checked by its validator (the message names the flag).
     */
    inline void add_common(CLI::App& app, CommonSettings& s)
    {
        using namespace xtrain::cli;
        auto join = [](const std::vector<std::size_t>& v) {
            std::string t;
            for (std::size_t x : v)
            {
                t += (t.empty() ? "" : ",") + std::to_string(x);
            }
            return t;
        };
        app.add_option("--epochs", s.epochs, "epochs per run (default " + std::to_string(s.epochs) + ")")
            ->type_name("N")->check(count());
        add_list(app, "--seeds", s.seeds, "comma list of run seeds (default " + join(s.seeds) + ")", count(true))
            ->type_name("S,S,...");
        add_list(app, "--hidden", s.hidden, "comma list of hidden widths (default " + join(s.hidden) + ")", count())
            ->type_name("H,H,...");
        app.add_option("--points-per-epoch", s.points_per_epoch,
                       "points of each curve per epoch (default " + std::to_string(s.points_per_epoch) + ")")
            ->type_name("P")->check(count());
        app.add_option("--jobs", s.jobs, "runs in parallel (default " + std::to_string(s.jobs) + ")")
            ->type_name("J")->check(count(true));
        app.add_option("--limit", s.limit, "train on the first N images only, at least 12 (default: all)")
            ->type_name("N")
            ->check(count(true))
            ->check(CLI::Validator(
                [](std::string& v) {
                    // A validation sixth is split off: fewer than 12 images leave too little to compare.
                    std::uint64_t n = 0;
                    const bool few = CLI::detail::lexical_cast(v, n) && n != 0 && n < 12;
                    return few ? "'" + v + "' must be at least 12 (a validation sixth is split off)" : std::string();
                },
                ""));
        app.add_option("--out", s.out, "results folder (default " + s.out + ")")
            ->type_name("DIR")
            ->check(CLI::Validator([](std::string& v) { return v.empty() ? std::string("must name a folder") : std::string(); }, ""));
    }

    /** @brief One point of a training curve. */
    struct CurvePoint
    {
        double epoch = 0.0;              ///< examples seen / training-set size (fractional)
        std::uint64_t step = 0;          ///< optimizer updates so far
        std::uint64_t examples_seen = 0; ///< training examples so far
        std::size_t batch_size = 0;      ///< the batch size of the epoch the point is in
        double train_loss = 0.0;         ///< mean batch loss over the updates since the previous point
        double val_loss = std::numeric_limits<double>::quiet_NaN();
        double val_accuracy = std::numeric_limits<double>::quiet_NaN();
        double lr = 0.0;                 ///< the rate of the last update
        double wall_seconds = 0.0;
    };

    /**
     * @brief The trainer's evaluation points (TrainerOptions::evals_per_epoch of them per epoch,
     * evenly spaced in updates) as a curve against fractional epochs: examples seen / N puts runs
     * at different batch sizes on the same axis. @p batch_size_of(e) is the batch size of epoch e.
     */
    inline std::vector<CurvePoint> curve(const xtrain::History& history, std::size_t train_size,
                                         const std::function<std::size_t(std::size_t)>& batch_size_of)
    {
        std::vector<CurvePoint> out;
        for (const xtrain::EvalRecord& e : history.evals)
        {
            CurvePoint p;
            p.epoch = static_cast<double>(e.examples_seen) / static_cast<double>(train_size);
            p.step = e.step;
            p.examples_seen = e.examples_seen;
            // The epoch this point belongs to: a point at an epoch's end belongs to that epoch.
            const std::uint64_t started = (e.examples_seen + train_size - 1) / train_size;
            p.batch_size = batch_size_of(static_cast<std::size_t>(started > 0 ? started - 1 : 0));
            p.train_loss = e.train_loss;
            p.val_loss = e.val_loss;
            p.val_accuracy = e.val_accuracy;
            p.lr = e.lr;
            p.wall_seconds = e.wall_seconds;
            out.push_back(p);
        }
        return out;
    }

    /** @brief The outcome of one run. */
    struct RunRecord
    {
        std::string variant;
        std::uint64_t seed = 0;
        std::vector<CurvePoint> curve;
        bool diverged = false;
        std::string status_message;
        double seconds = 0.0;
    };

    /**
     * @brief Calls fn(i) for i in [0, n) on @p jobs threads, one BLAS thread each; prints a line
     * per finished run through @p describe. Exceptions are collected and the first rethrown.
     */
    inline void run_parallel(std::size_t n, std::size_t jobs, const std::function<void(std::size_t)>& fn,
                             const std::function<std::string(std::size_t)>& describe)
    {
        xtrain::set_blas_threads(1);  // parallel runs, not parallel BLAS: two pools would oversubscribe
        std::atomic<std::size_t> next{0};
        std::mutex mutex;
        std::size_t done = 0;
        std::exception_ptr failure;
        auto worker = [&] {
            for (std::size_t i = next++; i < n; i = next++)
            {
                try
                {
                    fn(i);
                    std::lock_guard<std::mutex> lock(mutex);
                    ++done;
                    std::printf("[%zu/%zu] %s\n", done, n, describe(i).c_str());
                    std::fflush(stdout);
                }
                catch (...)
                {
                    std::lock_guard<std::mutex> lock(mutex);
                    if (!failure)
                    {
                        failure = std::current_exception();
                    }
                }
            }
        };
        std::vector<std::thread> threads;
        for (std::size_t j = 1; j < std::max<std::size_t>(1, std::min(jobs, n)); ++j)
        {
            threads.emplace_back(worker);
        }
        worker();
        for (std::thread& t : threads)
        {
            t.join();
        }
        if (failure)
        {
            std::rethrow_exception(failure);
        }
    }

    /** @brief Mean and sample standard deviation of @p v (0 for one value). */
    inline std::pair<double, double> mean_sd(const std::vector<double>& v)
    {
        if (v.empty())
        {
            return {std::nan(""), std::nan("")};
        }
        const double mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
        double ss = 0.0;
        for (double x : v)
        {
            ss += (x - mean) * (x - mean);
        }
        return {mean, v.size() > 1 ? std::sqrt(ss / static_cast<double>(v.size() - 1)) : 0.0};
    }

    /** @brief Writes the runs of one variant, one row per point per seed. */
    inline void write_variant_csv(const std::filesystem::path& path, const std::vector<const RunRecord*>& runs)
    {
        std::ofstream os(path);
        if (!os)
        {
            throw std::runtime_error("cannot write '" + path.string() + "'");
        }
        os << "variant,seed,epoch,step,examples_seen,batch_size,train_loss,val_loss,val_accuracy,lr,wall_seconds,diverged\n";
        char buf[512];
        for (const RunRecord* r : runs)
        {
            for (const CurvePoint& p : r->curve)
            {
                std::snprintf(buf, sizeof buf, "%s,%llu,%.6g,%llu,%llu,%zu,%.6g,%.6g,%.6g,%.6g,%.3f,%d\n", r->variant.c_str(),
                              static_cast<unsigned long long>(r->seed), p.epoch, static_cast<unsigned long long>(p.step),
                              static_cast<unsigned long long>(p.examples_seen), p.batch_size, p.train_loss, p.val_loss,
                              p.val_accuracy, p.lr, p.wall_seconds, r->diverged ? 1 : 0);
                os << buf;
            }
        }
        os.close();
        if (!os)
        {
            throw std::runtime_error("cannot write '" + path.string() + "'");
        }
    }

    /** @brief Writes @p text to @p path. */
    inline void write_text(const std::filesystem::path& path, const std::string& text)
    {
        std::ofstream os(path);
        os << text;
        os.close();
        if (!os)
        {
            throw std::runtime_error("cannot write '" + path.string() + "'");
        }
    }

    /** @brief The start of a gnuplot script that draws the same plot into NAME.png, then NAME.svg. */
    inline std::string gnuplot_prologue(const std::string& name, int width, int height)
    {
        const std::string w = std::to_string(width);
        const std::string h = std::to_string(height);
        return "# Draw with: gnuplot " + name + ".gp   (writes " + name + ".png and " + name + ".svg here)\n"
               "do for [fmt in \"png svg\"] {\n"
               "  if (fmt eq \"png\") {\n"
               "    if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) {\n"
               "      set terminal pngcairo size " + w + "," + h + " font \"sans,10\" noenhanced\n"
               "    } else {\n"
               "      set terminal png size " + w + "," + h + " noenhanced\n"
               "    }\n"
               "    set output '" + name + ".png'\n"
               "  } else {\n"
               "    set terminal svg size " + w + "," + h + " font \"sans,10\" noenhanced background rgb 'white'\n"
               "    set output '" + name + ".svg'\n"
               "  }\n";
    }

    /** @brief Closes what gnuplot_prologue opened. */
    inline std::string gnuplot_epilogue() { return "  unset multiplot\n  set output\n}\n"; }

    /**
     * @brief Runs `gnuplot NAME.gp` in @p dir if gnuplot is on the PATH; returns a sentence saying
     * where the figure is, or how to draw it.
     */
    inline std::string draw(const std::filesystem::path& dir, const std::string& name)
    {
        const std::filesystem::path gnuplot = xtrain::find_program("gnuplot");
        const std::string script = (dir / (name + ".gp")).string();
        if (gnuplot.empty())
        {
            return "gnuplot is not on the PATH: the data and " + script
                 + " are written; to draw them, install gnuplot (apt-get install gnuplot-nox) and run: cd " + xtrain::detail::shell_quote(dir.string())
                 + " && gnuplot " + name + ".gp";
        }
        if (xtrain::run_gnuplot(gnuplot, dir, name + ".gp") != 0)
        {
            return "gnuplot failed on " + script + " (its messages are above); the data files are in " + dir.string();
        }
        return "figure: " + (dir / (name + ".png")).string() + " and " + (dir / (name + ".svg")).string();
    }

    /**
     * @brief Writes NAME.dat and NAME.gp into @p out, says where the curves are (PREFIX_<variant>.csv
     * and NAME.dat) and draws the figure.
     */
    inline void publish(const std::filesystem::path& out, const std::string& name, const std::string& csv_prefix,
                        const std::string& dat, const std::string& gnuplot_script)
    {
        write_text(out / (name + ".dat"), dat);
        write_text(out / (name + ".gp"), gnuplot_script);
        std::printf("\ncurves: %s/%s_<variant>.csv, %s/%s.dat\n", out.string().c_str(), csv_prefix.c_str(),
                    out.string().c_str(), name.c_str());
        std::printf("%s\n", draw(out, name).c_str());
    }

    /**
     * @brief A scenario's main(): settings = parse(argc, argv), then body(settings). A usage_error
     * prints the message and exits with 2 (as a mistake the parser finds does); any other exception prints its message and
     * returns 1; otherwise body's result is returned.
     */
    template <class Parse, class Body>
    int run_main(const char* program, int argc, char** argv, Parse&& parse, Body&& body)
    {
        decltype(parse(argc, argv)) settings{};
        try
        {
            settings = parse(argc, argv);
        }
        catch (const usage_error& e)
        {
            xtrain::cli::fail(program, e.what());
        }
        try
        {
            return body(settings);
        }
        catch (const std::exception& e)
        {
            std::fprintf(stderr, "%s: %s\n", program, e.what());
            return 1;
        }
    }

    /**
     * @brief False (with a message) when a reference run diverged or ended near chance: then the
     * comparison means nothing and something is broken (the smoke tests rely on this).
     */
    inline bool references_learned(const std::vector<RunRecord>& runs, const std::vector<std::string>& reference_variants)
    {
        bool ok = true;
        for (const RunRecord& r : runs)
        {
            if (std::find(reference_variants.begin(), reference_variants.end(), r.variant) == reference_variants.end())
            {
                continue;
            }
            const double accuracy = r.curve.empty() ? 0.0 : r.curve.back().val_accuracy;
            if (r.diverged || !(accuracy > 0.5))
            {
                std::fprintf(stderr, "the reference run %s, seed %llu, did not learn (%s, validation accuracy %.4f)\n",
                             r.variant.c_str(), static_cast<unsigned long long>(r.seed), r.diverged ? "diverged" : "finished",
                             accuracy);
                ok = false;
            }
        }
        return ok;
    }

    /** @brief Fashion-MNIST's training images split 50000 / 10000 (the same split for every run), or the synthetic stand-in. */
    inline xtrain::TrainValidation<float> load_data(std::size_t limit)
    {
        auto data = xtrain::datasets::fashion_mnist_or_synthetic<float>();
        const bool real = data.train.name.rfind("fashion-mnist/", 0) == 0;  // else "synthetic-fashion-mnist-shaped/..."
        std::printf("data: %s (%s)\n", data.train.name.c_str(),
                    real ? "Fashion-MNIST from /usr/share/datasets/fashion-mnist"
                         : "Fashion-MNIST is not installed: a synthetic teacher-student task of the same shape; "
                           "apt-get install dataset-fashion-mnist for the real one");
        if (limit > 0 && limit < data.train.size())
        {
            std::vector<std::size_t> first(limit);
            std::iota(first.begin(), first.end(), std::size_t(0));
            data.train = xtrain::subset(data.train, first, data.train.name);
        }
        // The split has its own fixed seed: every run, whatever its seed, sees the same sets.
        auto split = xtrain::train_validation_split(data.train, 1.0 / 6.0, /*seed=*/0);
        std::printf("      %zu training and %zu validation samples (the training file split 5:1)\n", split.train.size(),
                    split.validation.size());
        return split;
    }
}

#endif
