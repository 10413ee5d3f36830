// What the scenario programs (warmup_large_batch.cpp, increase_batch_size.cpp) share: common flags,
// curves from the trainer's history, statistics over seeds and the files they write. Each program
// keeps its paper's recipe to itself; this file is plumbing, and the machinery is xtrain's own:
// runs in parallel with xtrain::run_jobs (as a sweep's), curve points are xtrain::EvalRow (as in a
// sweep's runs.csv, written through its visit() with csv_names / csv_fields), and the figure goes
// through gnuplot_prologue, add_figure and render_figures (as a sweep's figures).
#ifndef XTRAIN_EXAMPLES_SCENARIO_COMMON_HPP
#define XTRAIN_EXAMPLES_SCENARIO_COMMON_HPP

#include <xtrain/command_line.hpp>

#include <xtrain/xtrain.hpp>
#include <xtrain/experiment/render.hpp> // runs gnuplot on the figures

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <numeric>
#include <stdexcept>
#include <string>
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

    /** @brief The outcome of one run. */
    struct RunRecord
    {
        std::string variant;
        std::uint64_t seed = 0;
        /**
         * @brief The trainer's evaluation points (TrainerOptions::evals_per_epoch of them per
         * epoch, evenly spaced in updates) against fractional epochs, examples seen / N, which
         * puts runs at different batch sizes on the same axis (xtrain::eval_row).
         */
        std::vector<xtrain::EvalRow> curve;
        std::vector<std::size_t> batch_sizes;  ///< the batch size of each epoch
        bool diverged = false;
        std::string status_message;
        double seconds = 0.0;

        /** @brief The batch size of the epoch @p p is in: a point at an epoch's end belongs to that epoch. */
        std::size_t batch_size_at(const xtrain::EvalRow& p) const
        {
            const double started = std::ceil(p.epoch);
            const std::size_t e = started >= 1.0 ? static_cast<std::size_t>(started) - 1 : 0;
            return batch_sizes.empty() ? 0 : batch_sizes[std::min(e, batch_sizes.size() - 1)];
        }
    };

    /**
     * @brief The record of a trained run: its curve from @p trainer's history (@p train_size
     * examples per epoch), @p batch_size_of(e) for each of its @p epochs, and how it ended.
     */
    template <class Trainer, class BatchSizeOf>
    RunRecord record_run(const Trainer& trainer, const std::string& variant, std::uint64_t seed, std::size_t train_size,
                         std::size_t epochs, const BatchSizeOf& batch_size_of)
    {
        RunRecord r;
        r.variant = variant;
        r.seed = seed;
        for (const xtrain::EvalRecord& e : trainer.history().evals)
        {
            r.curve.push_back(xtrain::eval_row(e, train_size));
        }
        for (std::size_t e = 0; e < epochs; ++e)
        {
            r.batch_sizes.push_back(batch_size_of(e));
        }
        r.diverged = trainer.status() == xtrain::RunStatus::diverged;
        r.status_message = trainer.status_message();
        r.seconds = trainer.wall_seconds();
        return r;
    }

    /**
     * @brief Calls fn(i) for i in [0, n) on @p jobs threads, one BLAS thread each (xtrain::run_jobs);
     * prints a line per finished run through @p describe. The first exception is rethrown.
     */
    inline void run_parallel(std::size_t n, std::size_t jobs, const std::function<void(std::size_t)>& fn,
                             const std::function<std::string(std::size_t)>& describe)
    {
        xtrain::JobOptions options;
        options.jobs = jobs;
        options.done = [&](std::size_t i, std::size_t finished) {
            std::printf("[%zu/%zu] %s\n", finished, n, describe(i).c_str());
            std::fflush(stdout);
        };
        xtrain::run_jobs(n, fn, options);
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

    /**
     * @brief Writes the runs of one variant, one row per point per seed: the variant, the seed, the
     * point's EvalRow fields (the columns of a sweep's runs.csv, numbers in the same exact text),
     * the batch size of its epoch and whether the run diverged.
     */
    inline void write_variant_csv(const std::filesystem::path& path, const std::vector<const RunRecord*>& runs)
    {
        std::ofstream os(path);
        os << "variant,seed," << xtrain::csv_names<xtrain::EvalRow>() << ",batch_size,diverged\n";
        for (const RunRecord* r : runs)
        {
            for (const xtrain::EvalRow& p : r->curve)
            {
                os << r->variant << ',' << r->seed << ',' << xtrain::csv_fields(p) << ',' << r->batch_size_at(p) << ','
                   << (r->diverged ? 1 : 0) << '\n';
            }
        }
        os.close();
        if (!os)
        {
            throw std::runtime_error("cannot write '" + path.string() + "'");
        }
    }

    /** @brief The columns of the .dat blocks the figures draw, in order (gnuplot's `using` counts from 1). */
    inline const std::string dat_columns = "epoch train_loss val_accuracy lr_in_effect step val_loss batch_size";

    /**
     * @brief One block of a figure's .dat file: "# VARIANT, seed S: @p title", then a line per
     * point of @p r's curve, in the order of dat_columns.
     */
    inline std::string dat_block(const RunRecord& r, const std::string& title)
    {
        std::string block = "# " + r.variant + ", seed " + std::to_string(r.seed) + ": " + title + "\n";
        char line[256];
        for (const xtrain::EvalRow& p : r.curve)
        {
            std::snprintf(line, sizeof line, "%.5f %.6g %.6g %.6g %llu %.6g %zu\n", p.epoch, p.train_loss, p.val_accuracy,
                          p.lr_in_effect, static_cast<unsigned long long>(p.step), p.val_loss, r.batch_size_at(p));
            block += line;
        }
        return block;
    }

    /**
     * @brief Writes NAME.dat and NAME.gp into @p out (xtrain::add_figure), says where the curves are
     * (PREFIX_<variant>.csv and NAME.dat) and draws the figure with gnuplot (xtrain::render_figures)
     * or says how to.
     */
    inline void publish(const std::filesystem::path& out, const std::string& name, const std::string& csv_prefix,
                        const std::string& dat, const std::string& gnuplot_script)
    {
        xtrain::FigureReport figure;
        figure.dir = out;
        xtrain::add_figure(figure, name, dat, gnuplot_script);
        std::printf("\ncurves: %s/%s_<variant>.csv, %s/%s.dat\n", out.string().c_str(), csv_prefix.c_str(),
                    out.string().c_str(), name.c_str());
        xtrain::render_figures(figure);
        std::printf("%s\n", figure.message.c_str());
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
