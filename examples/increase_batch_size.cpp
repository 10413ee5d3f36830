// increase_batch_size: "Don't decay the learning rate, increase the batch size" (Smith, Kindermans,
// Ying and Le, 2018).
//
// A step decay divides the rate by a factor f at chosen epochs. Smith et al. multiply the batch
// size by f at the same epochs instead, keeping the rate: the noise of SGD, which scales like
// lr * N / B, falls by the same factor, so the curve against epochs stays about the same, while a
// batch f times larger makes f times fewer updates per epoch.
//
// Two runs per seed, from the same initial weights and the same data order (paired sampling: a
// growing batch cuts the same permutation of each epoch into fewer pieces):
//   decay_lr      batch B0 throughout, rate lr0, divided by f at each milestone epoch
//   grow_batch    rate lr0 throughout, batch B0, multiplied by f at each milestone epoch
// SGD with momentum 0.9, an MLP with five hidden ReLU layers of 128 (He initialisation), on
// Fashion-MNIST (a synthetic stand-in of the same shape if the dataset is not installed). The batch
// grows through xtrain::BatchSizeScheduler and BatchSampler<xtrain::dynamic>::set_batch_size.
//
//   increase_batch_size [--epochs 12] [--seeds 1,2,3] [--batch 64] [--lr 0.04] [--factor 5]
//                       [--milestones 4,8] [--hidden 128,128,128,128,128] [--points-per-epoch 4]
//                       [--jobs 2] [--limit N] [--out increase_batch_size]
//
// Writes <out>/increase_<variant>.csv (one row per curve point per seed), <out>/increase_batch_size.dat
// (what the figure draws: one block per variant and seed), <out>/increase_batch_size.gp and, with
// gnuplot, the .png and .svg. The table printed at the end gives the final numbers.
#include "scenario_common.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace
{
    struct Settings : scenario::CommonSettings
    {
        std::size_t batch = 64;
        double lr = 0.04;
        double factor = 5.0;
        std::vector<std::size_t> milestones = {4, 8};

        Settings()
        {
            epochs = 12;
            seeds = {1, 2, 3};
            out = "increase_batch_size";
        }
    };

    Settings parse(int argc, char** argv)
    {
        using namespace xtrain::cli;
        Settings s;
        CLI::App app("Smith et al. (2018): SGD (momentum 0.9) at batch B0 with the rate divided by F at each milestone\n"
                     "epoch, against the rate kept and the batch multiplied by F at the same epochs.");
        configure(app, "increase_batch_size");
        scenario::add_common(app, s);
        app.add_option("--batch", s.batch, "the starting batch B0 (default 64)")->type_name("B0")->check(count());
        app.add_option("--lr", s.lr, "the starting rate (default 0.04)")->type_name("X")->check(real("> 0", [](double v) { return v > 0.0; }));
        app.add_option("--factor", s.factor, "the rate's divisor, or the batch's multiplier, at each milestone (default 5)")
            ->type_name("F")->check(real("> 1", [](double v) { return v > 1.0; }));
        add_list(app, "--milestones", s.milestones, "epochs strictly between 0 and --epochs (default 4,8)", count())
            ->type_name("E,E,...");
        parse_or_exit(app, argc, argv);
        for (std::size_t m : s.milestones)
        {
            scenario::require(m > 0 && m < s.epochs, "--milestones must lie strictly between 0 and --epochs");
        }
        std::sort(s.milestones.begin(), s.milestones.end());
        return s;
    }

    using xtrain::short_number;

    // The batch size the growing run uses in epoch e: B0 x factor^(milestones passed), the mirror
    // image of the decaying run's MultiStepLR(lr, milestones, 1 / factor).
    struct GrowingBatch
    {
        xtrain::MultiStepLR size;
        GrowingBatch(std::size_t b0, double factor, std::vector<std::size_t> milestones)
            : size(static_cast<double>(b0), std::move(milestones), factor)
        {
        }
        std::size_t operator()(std::size_t epoch) const { return static_cast<std::size_t>(std::lround(size(epoch))); }
    };

    // Trains to the budget, evaluating points_per_epoch times per epoch, and keeps the curve.
    template <class Trainer, class BatchOf>
    scenario::RunRecord finish(Trainer& trainer, const Settings& s, const std::string& variant, std::uint64_t seed,
                               const xtrain::Dataset<float>& train, const xtrain::Dataset<float>& validation, BatchOf batch_of)
    {
        trainer.options().evals_per_epoch = s.points_per_epoch;
        trainer.fit(train, xtrain::Budget::epochs(s.epochs), &validation);
        return scenario::record_run(trainer, variant, seed, train.size(), s.epochs, batch_of);
    }

    scenario::RunRecord train(const Settings& s, bool grow, std::uint64_t seed, const xtrain::Dataset<float>& train,
                              const xtrain::Dataset<float>& validation)
    {
        std::vector<std::size_t> widths = {train.feature_dim()};
        widths.insert(widths.end(), s.hidden.begin(), s.hidden.end());
        widths.push_back(train.num_classes);
        xtrain::SGD sgd;
        sgd.lr = s.lr;
        sgd.momentum = 0.9;
        // The same seed gives both runs the same initial weights and the same order of every epoch.
        xtrain::MLP<> model(seed, widths, xtrain::WeightInit::kaiming_normal);
        xtrain::BatchSampler<xtrain::dynamic> sampler(train.size(), s.batch, xtrain::SamplerOptions::shuffled(seed));
        if (grow)
        {
            const GrowingBatch growing{s.batch, s.factor, s.milestones};
            xtrain::Trainer trainer(std::move(model), xtrain::Optimizer<xtrain::SGD>(sgd), std::move(sampler), xtrain::DivergenceGuard(),
                                    xtrain::BatchSizeScheduler(growing));
            return finish(trainer, s, "grow_batch", seed, train, validation, growing);
        }
        // The step decay, indexed by epochs: lr0 / factor^(milestones passed).
        xtrain::Trainer trainer(std::move(model), xtrain::Optimizer<xtrain::SGD>(sgd), std::move(sampler), xtrain::DivergenceGuard(),
                                xtrain::LrScheduler<xtrain::MultiStepLR>(xtrain::MultiStepLR(s.lr, s.milestones, 1.0 / s.factor),
                                                                         xtrain::ScheduleUnit::epoch));
        return finish(trainer, s, "decay_lr", seed, train, validation, [&s](std::size_t) { return s.batch; });
    }

    // Two rows of three panels: the schedules and the curves against epochs (which should agree),
    // then the curves against optimizer steps (where the growing batch is far ahead).
    std::string gnuplot_script(const Settings& s, const std::vector<std::string>& titles, const std::string& data_name)
    {
        const std::size_t seeds = s.seeds.size();
        const char* colors[] = {"#d62728", "#1f77b4"};
        std::string g = xtrain::gnuplot_prologue("increase_batch_size", "Smith et al. 2018: decay the rate, or grow the batch by the same factor", 1500,
                                                 820);
        g += "  set multiplot layout 2,3 title \"Don't decay the learning rate, increase the batch size (Smith et al. 2018); "
           + std::to_string(seeds) + (seeds == 1 ? " seed" : " seeds, one line each") + "\"\n";
        g += "  set grid\n  unset key\n";
        auto plot = [&](const std::string& columns, const std::string& style, bool titled, bool first_seed_only) {
            std::string p = "  plot ";
            for (std::size_t i = 0; i < titles.size(); ++i)
            {
                for (std::size_t j = 0; j < (first_seed_only ? 1 : seeds); ++j)
                {
                    p += std::string(i + j ? ", \\\n       " : "") + "'" + data_name + "' index " + std::to_string(i * seeds + j)
                       + " using " + columns + " with " + style + " lc rgb '" + colors[i] + "' "
                       + (titled && j == 0 ? "title '" + titles[i] + "'" : std::string("notitle"));
                }
            }
            return p + "\n";
        };
        const std::string epochs = std::to_string(s.epochs);
        const double f = std::pow(s.factor, double(s.milestones.size()));
        g += "  set xlabel 'epoch'\n  set xrange [0:" + epochs + "]\n  set logscale y\n";
        // Row 1: the schedules (the same in every seed), then the training loss against epochs.
        g += "  set title 'learning rate'\n  set ylabel 'learning rate'\n  set yrange [" + short_number(s.lr / f / 2) + ":" + short_number(s.lr * 2)
           + "]\n  set key bottom left font ',9' box opaque\n";
        g += plot("1:4", "fsteps lw 2", true, true);
        g += "  unset key\n  set title 'batch size'\n  set ylabel 'batch size'\n  set yrange [" + short_number(double(s.batch) / 2) + ":"
           + short_number(double(s.batch) * f * 2) + "]\n";
        g += plot("1:7", "fsteps lw 2", false, true);
        g += "  set title 'training loss against epochs'\n  set ylabel 'training loss'\n  set autoscale y\n";
        g += plot("1:2", "lines lw 1.5", false, false);
        // Row 2: validation accuracy against epochs (about the same), then everything against steps.
        g += "  unset logscale y\n  set yrange [0.8:0.9]\n  set title 'validation accuracy against epochs'\n  set ylabel 'accuracy'\n";
        g += plot("1:3", "lines lw 1.5", false, false);
        g += "  set title 'validation accuracy against optimizer steps'\n  set xlabel 'optimizer steps'\n  set autoscale x\n";
        g += plot("5:3", "lines lw 1.5", false, false);
        g += "  set title 'training loss against optimizer steps'\n  set ylabel 'training loss'\n  set logscale y\n  set autoscale y\n";
        g += plot("5:2", "lines lw 1.5", false, false);
        g += xtrain::gnuplot_epilogue(true);
        return g;
    }
}

int main(int argc, char** argv)
{
    return scenario::run_main("increase_batch_size", argc, argv, parse, [](const Settings& s) {
        const auto data = scenario::load_data(s.limit);
        const GrowingBatch growing{s.batch, s.factor, s.milestones};
        std::string decay_title = "decay lr: B=" + std::to_string(s.batch) + ", lr " + short_number(s.lr);
        std::string grow_title = "grow batch: lr=" + short_number(s.lr) + ", B " + std::to_string(s.batch);
        for (std::size_t i = 0; i < s.milestones.size(); ++i)
        {
            decay_title += " -> " + short_number(s.lr / std::pow(s.factor, double(i + 1)));
            grow_title += " -> " + std::to_string(growing(s.milestones[i]));
        }
        const std::vector<std::string> names = {"decay_lr", "grow_batch"};
        const std::vector<std::string> titles = {decay_title, grow_title};
        std::printf("%zu epochs; at epochs", s.epochs);
        for (std::size_t m : s.milestones)
        {
            std::printf(" %zu", m);
        }
        std::printf(" the rate is divided by %g (%s) or the batch multiplied by %g (%s)\n", s.factor, decay_title.c_str(), s.factor,
                    grow_title.c_str());
        std::printf("%zu runs on %zu threads\n", names.size() * s.seeds.size(), s.jobs);

        std::vector<scenario::RunRecord> runs(names.size() * s.seeds.size());
        scenario::run_parallel(
            runs.size(), s.jobs,
            [&](std::size_t i) { runs[i] = train(s, i % 2 == 1, s.seeds[i / 2], data.train, data.validation); },
            [&](std::size_t i) {
                const scenario::RunRecord& r = runs[i];
                const xtrain::EvalRow* last = r.curve.empty() ? nullptr : &r.curve.back();
                char buf[256];
                std::snprintf(buf, sizeof buf, "%s seed %llu: %s, train loss %.4f, val accuracy %.4f, %llu steps, %.1f s",
                              r.variant.c_str(), static_cast<unsigned long long>(r.seed), r.diverged ? "diverged" : "finished",
                              last ? last->train_loss : 0.0, last ? last->val_accuracy : 0.0,
                              last ? static_cast<unsigned long long>(last->step) : 0ULL, r.seconds);
                return std::string(buf);
            });

        namespace fs = std::filesystem;
        const fs::path out = s.out;
        fs::create_directories(out);
        std::string dat = "# Smith et al. 2018 scenario: one block per variant and seed (variant outer, seed inner).\n"
                          "# columns: " + scenario::dat_columns + "\n\n";
        std::printf("\nat the end (mean +- sd over seeds)\n%-11s %8s %18s %18s %18s %10s\n", "variant", "steps", "train loss",
                    "val accuracy", "best val accuracy", "seconds");
        std::vector<double> final_accuracy[2];
        for (std::size_t vi = 0; vi < names.size(); ++vi)
        {
            std::vector<const scenario::RunRecord*> mine;
            std::vector<double> losses;
            std::vector<double> best;
            std::vector<double> seconds;
            std::uint64_t steps = 0;
            for (const scenario::RunRecord& r : runs)
            {
                if (r.variant != names[vi])
                {
                    continue;
                }
                mine.push_back(&r);
                dat += std::string(vi > 0 || &r != mine.front() ? "\n\n" : "")
                     + scenario::dat_block(r, titles[vi] + (r.diverged ? " (diverged)" : ""));
                double top = 0.0;
                for (const xtrain::EvalRow& p : r.curve)
                {
                    top = std::isnan(p.val_accuracy) ? top : std::max(top, p.val_accuracy);
                }
                if (!r.diverged && !r.curve.empty())
                {
                    losses.push_back(r.curve.back().train_loss);
                    final_accuracy[vi].push_back(r.curve.back().val_accuracy);
                    best.push_back(top);
                    seconds.push_back(r.seconds);
                    steps = r.curve.back().step;
                }
            }
            scenario::write_variant_csv(out / ("increase_" + names[vi] + ".csv"), mine);
            const auto [lm, ls] = scenario::mean_sd(losses);
            const auto [am, as] = scenario::mean_sd(final_accuracy[vi]);
            const auto [bm, bs] = scenario::mean_sd(best);
            const auto [sm, ss] = scenario::mean_sd(seconds);
            std::printf("%-11s %8llu %9.4f +- %.4f %9.4f +- %.4f %9.4f +- %.4f %6.1f +- %.1f%s\n", names[vi].c_str(),
                        static_cast<unsigned long long>(steps), lm, ls, am, as, bm, bs, sm, ss,
                        losses.size() < mine.size() ? "  (some seeds diverged)" : "");
        }
        // Paired seeds: the difference per seed is less noisy than either mean.
        std::vector<double> diff;
        for (std::size_t si = 0; si < s.seeds.size(); ++si)
        {
            const scenario::RunRecord& decay = runs[2 * si];
            const scenario::RunRecord& grow = runs[2 * si + 1];
            if (!decay.diverged && !grow.diverged && !decay.curve.empty() && !grow.curve.empty())
            {
                diff.push_back(grow.curve.back().val_accuracy - decay.curve.back().val_accuracy);
            }
        }
        const auto [dm, ds] = scenario::mean_sd(diff);
        std::printf("final val accuracy, grow_batch - decay_lr, paired by seed: %+.4f +- %.4f\n", dm, ds);
        scenario::publish(out, "increase_batch_size", "increase", dat, gnuplot_script(s, titles, "increase_batch_size.dat"));
        if (!scenario::references_learned(runs, {"decay_lr", "grow_batch"}))
        {
            return 1;
        }
        return 0;
    });
}
