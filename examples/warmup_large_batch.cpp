// warmup_large_batch: a large batch with the linearly scaled learning rate, without and with a
// gradual warm-up (Goyal et al. 2017, "Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour").
//
// Their recipe: when the batch grows k-fold, multiply SGD's rate by k (the linear scaling rule),
// and ramp the rate up linearly, per step, from the small-batch rate to the scaled one over the
// first 5 epochs. Without the ramp the scaled rate is too large for the first updates of a
// freshly initialised network; with it, the large batch follows the small batch's curve, epoch
// for epoch, at a k-th of the steps.
//
// Four runs per seed, all from the same initial weights and the same data order (paired sampling):
//   small             B0, lr0                               the reference
//   large_unscaled    k B0, lr0                              why scaling is needed: too slow per epoch
//   large_no_warmup   k B0, k lr0 from the first step         starts badly
//   large_warmup      k B0, lr0 -> k lr0 linearly over the first W epochs, per step
// All four divide the rate by 10 at the --decay-epochs (the paper decays at 30, 60 and 80 of 90).
// SGD with momentum 0.9 on an MLP with five hidden ReLU layers of 128 (He initialisation), on
// Fashion-MNIST (a synthetic stand-in of the same shape if the dataset is not installed).
//
//   warmup_large_batch [--epochs 10] [--seeds 1,2,3,4,5] [--small-batch 32] [--large-batch 512]
//                      [--lr0 0.01] [--warmup-epochs 2] [--decay-epochs 8] [--hidden 128,128,128,128,128]
//                      [--points-per-epoch 4] [--jobs 2] [--limit N] [--out warmup_large_batch]
//
// Writes <out>/warmup_<variant>.csv (one row per curve point per seed), <out>/warmup_large_batch.dat
// (what the figure draws: one block per variant and seed), <out>/warmup_large_batch.gp and, with
// gnuplot, the .png and .svg. The table printed at the end gives the final numbers, mean over seeds.
#include "scenario_common.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace
{
    struct Settings : scenario::CommonSettings
    {
        std::size_t small_batch = 32;
        std::size_t large_batch = 512;
        double lr0 = 0.01;
        double warmup_epochs = 2.0;
        std::vector<std::size_t> decay_epochs = {8};

        Settings()
        {
            epochs = 10;
            seeds = {1, 2, 3, 4, 5};
            out = "warmup_large_batch";
        }
    };

    struct Variant
    {
        std::string name;
        std::string title;  // for the legend
        std::size_t batch_size;
        double lr;          // the rate after any warm-up
        double warmup_epochs;
    };

    Settings parse(int argc, char** argv)
    {
        using namespace xtrain::cli;
        Settings s;
        CLI::App app("Goyal et al. (2017): SGD (momentum 0.9) at batch B0 and rate lr0, against batch B with the rate\n"
                     "lr0 * B / B0, without and with a linear warm-up over W epochs (and B at lr0, unscaled).");
        configure(app, "warmup_large_batch");
        scenario::add_common(app, s);
        app.add_option("--small-batch", s.small_batch, "the small batch B0 (default 32)")->type_name("B0")->check(count());
        app.add_option("--large-batch", s.large_batch, "the large batch B, larger than B0 (default 512)")
            ->type_name("B")->check(count());
        app.add_option("--lr0", s.lr0, "the rate at B0 (default 0.01)")->type_name("X")->check(real("> 0", [](double v) { return v > 0.0; }));
        app.add_option("--warmup-epochs", s.warmup_epochs, "linear warm-up over W epochs (default 2)")
            ->type_name("W")->check(real(">= 0", [](double v) { return v >= 0.0; }));
        add_list(app, "--decay-epochs", s.decay_epochs, "epochs where the rate is divided by 10 (default 8; 0 for none)", count(true))
            ->type_name("E,E,...");
        parse_or_exit(app, argc, argv);
        scenario::require(s.large_batch > s.small_batch, "--large-batch must be larger than --small-batch (> 0)");
        s.decay_epochs.erase(std::remove(s.decay_epochs.begin(), s.decay_epochs.end(), std::size_t(0)), s.decay_epochs.end());
        return s;
    }

    using xtrain::short_number;

    // One run: the trainer of the variant, at the seed, to the budget.
    scenario::RunRecord train(const Settings& s, const Variant& v, std::uint64_t seed, const xtrain::Dataset<float>& train,
                              const xtrain::Dataset<float>& validation)
    {
        std::vector<std::size_t> widths = {train.feature_dim()};
        widths.insert(widths.end(), s.hidden.begin(), s.hidden.end());
        widths.push_back(train.num_classes);

        xtrain::BatchSampler<xtrain::dynamic> sampler(train.size(), v.batch_size, xtrain::SamplerOptions::shuffled(seed));
        const std::size_t steps_per_epoch = sampler.iterations_per_epoch();
        std::vector<std::size_t> milestones;
        for (std::size_t e : s.decay_epochs)
        {
            milestones.push_back(e * steps_per_epoch);
        }
        // Goyal et al.'s schedule, indexed by steps: the ramp rises every update, from lr0 (start
        // factor lr0 / lr) to lr; the step decay keeps its milestones (the inner schedule is not shifted).
        const auto warmup_steps = static_cast<std::size_t>(std::lround(v.warmup_epochs * static_cast<double>(steps_per_epoch)));
        const xtrain::LinearWarmup<xtrain::MultiStepLR> schedule(xtrain::MultiStepLR(v.lr, milestones, 0.1), warmup_steps,
                                                                 std::min(1.0, s.lr0 / v.lr));
        xtrain::SGD sgd;
        sgd.lr = schedule(0);
        sgd.momentum = 0.9;
        // The same seed gives every variant the same initial weights and the same data order.
        xtrain::Trainer trainer(xtrain::MLP<>(seed, widths, xtrain::WeightInit::kaiming_normal), xtrain::Optimizer<xtrain::SGD>(sgd),
                                std::move(sampler), xtrain::DivergenceGuard(),
                                xtrain::LrScheduler<xtrain::LinearWarmup<xtrain::MultiStepLR>>(schedule, xtrain::ScheduleUnit::step));
        trainer.options().evals_per_epoch = s.points_per_epoch;  // evenly spaced in each epoch's updates
        trainer.fit(train, xtrain::Budget::epochs(s.epochs), &validation);

        return scenario::record_run(trainer, v.name, seed, train.size(), s.epochs, [&v](std::size_t) { return v.batch_size; });
    }

    // One line per seed, coloured by variant: a seed that diverges shows as a line that stops (and
    // a cross), which a mean over seeds would hide.
    std::string gnuplot_script(const Settings& s, const std::vector<Variant>& variants, const std::string& data_name,
                               const std::vector<std::vector<std::pair<double, double>>>& diverged_at)
    {
        const std::size_t seeds = s.seeds.size();
        const char* colors[] = {"#000000", "#999999", "#d62728", "#1f77b4"};
        const char* dashes[] = {"1", "2", "1", "1"};
        std::string g = xtrain::gnuplot_prologue("warmup_large_batch", "Goyal et al. 2017: a large batch with the linearly scaled rate, without and with a warm-up",
                                                 1350, 430);
        g += "  set multiplot layout 1,3 title 'Large batch with the linearly scaled rate: no warm-up vs. gradual warm-up (Goyal et al. 2017); "
           + std::to_string(seeds) + (seeds == 1 ? " seed" : " seeds, one line each") + "'\n";
        g += "  set grid\n  set xlabel 'epoch'\n  set xrange [0:" + std::to_string(s.epochs) + "]\n";
        // One legend, in the accuracy panel's empty middle: the colours are the same in all three.
        auto plot = [&](const std::string& column, bool markers, bool titles) {
            std::string p = "  plot ";
            for (std::size_t i = 0; i < variants.size(); ++i)
            {
                for (std::size_t j = 0; j < seeds; ++j)
                {
                    p += std::string(i + j ? ", \\\n       " : "") + "'" + data_name + "' index " + std::to_string(i * seeds + j)
                       + " using 1:" + column + " with lines lw 1.5 dt " + dashes[i] + " lc rgb '" + colors[i] + "' "
                       + (titles && j == 0 ? "title '" + variants[i].title + "'" : std::string("notitle"));
                }
            }
            if (markers)
            {
                for (std::size_t i = 0; i < variants.size(); ++i)
                {
                    for (const auto& [x, y] : diverged_at[i])
                    {
                        p += ", \\\n       '+' using (" + short_number(x) + "):(" + short_number(y) + ") every ::0::0 with points pt 2 ps 2 lw 2 lc rgb '"
                           + colors[i] + "' notitle";
                    }
                }
            }
            return p + "\n";
        };
        g += "  unset key\n  set title 'learning rate (per step)'\n  set ylabel 'learning rate'\n  set logscale y\n  set autoscale y\n";
        g += plot("4", false, false);
        g += "  set title 'training loss (x: stopped by the divergence guard)'\n  set ylabel 'training loss'\n"
             "  set yrange [0.1:4]\n";
        g += plot("2", true, false);
        g += "  unset logscale y\n  set yrange [0.05:0.95]\n  set title 'validation accuracy'\n  set ylabel 'accuracy'\n"
             "  set key at graph 0.97, graph 0.62 right font ',9' box opaque\n";
        g += plot("3", false, true);
        g += xtrain::gnuplot_epilogue(true);
        return g;
    }
}

int main(int argc, char** argv)
{
    return scenario::run_main("warmup_large_batch", argc, argv, parse, [](const Settings& s) {
        const auto data = scenario::load_data(s.limit);
        const double k = static_cast<double>(s.large_batch) / static_cast<double>(s.small_batch);
        const double scaled = xtrain::linear_scaled_lr(s.lr0, s.large_batch, s.small_batch);
        const std::string b0 = std::to_string(s.small_batch);
        const std::string b = std::to_string(s.large_batch);
        const std::vector<Variant> variants = {
            {"small", "B=" + b0 + ", lr=" + short_number(s.lr0), s.small_batch, s.lr0, 0.0},
            {"large_unscaled", "B=" + b + ", lr=" + short_number(s.lr0) + " (not scaled)", s.large_batch, s.lr0, 0.0},
            {"large_no_warmup", "B=" + b + ", lr=" + short_number(scaled) + ", no warm-up", s.large_batch, scaled, 0.0},
            {"large_warmup", "B=" + b + ", lr=" + short_number(scaled) + ", warm-up " + short_number(s.warmup_epochs) + " epochs", s.large_batch,
             scaled, s.warmup_epochs},
        };
        std::printf("k = %g: B0 = %zu at lr0 = %g, B = %zu at lr0 * k = %g; %zu epochs, rate / 10 at", k, s.small_batch, s.lr0,
                    s.large_batch, scaled, s.epochs);
        for (std::size_t e : s.decay_epochs)
        {
            std::printf(" %zu", e);
        }
        std::printf("%s; seeds", s.decay_epochs.empty() ? " (none)" : "");
        for (std::size_t seed : s.seeds)
        {
            std::printf(" %zu", seed);
        }
        std::printf("; %zu runs on %zu threads\n", variants.size() * s.seeds.size(), s.jobs);

        // Seed outermost, so that a slow small-batch run starts first on each seed.
        std::vector<scenario::RunRecord> runs(variants.size() * s.seeds.size());
        scenario::run_parallel(
            runs.size(), s.jobs,
            [&](std::size_t i) {
                runs[i] = train(s, variants[i % variants.size()], s.seeds[i / variants.size()], data.train, data.validation);
            },
            [&](std::size_t i) {
                const scenario::RunRecord& r = runs[i];
                const xtrain::EvalRow* last = r.curve.empty() ? nullptr : &r.curve.back();
                char buf[256];
                if (r.diverged)
                {
                    std::snprintf(buf, sizeof buf, "%s seed %llu: diverged (%s), %.1f s", r.variant.c_str(),
                                  static_cast<unsigned long long>(r.seed), r.status_message.c_str(), r.seconds);
                }
                else
                {
                    std::snprintf(buf, sizeof buf, "%s seed %llu: train loss %.4f, val accuracy %.4f, %llu steps, %.1f s",
                                  r.variant.c_str(), static_cast<unsigned long long>(r.seed), last ? last->train_loss : 0.0,
                                  last ? last->val_accuracy : 0.0, last ? static_cast<unsigned long long>(last->step) : 0ULL,
                                  r.seconds);
                }
                return std::string(buf);
            });

        namespace fs = std::filesystem;
        const fs::path out = s.out;
        fs::create_directories(out);
        std::string dat = "# Goyal et al. 2017 scenario: one block per variant and seed (variant outer, seed inner).\n"
                          "# columns: " + scenario::dat_columns + "\n\n";
        std::vector<std::vector<std::pair<double, double>>> diverged_at(variants.size());
        std::printf("\nat the end (mean and sd over the seeds that did not diverge; per seed: final validation accuracy)\n");
        std::printf("%-16s %5s %6s %6s %18s %18s  %s\n", "variant", "B", "lr", "steps", "train loss", "val accuracy", "per seed");
        for (std::size_t vi = 0; vi < variants.size(); ++vi)
        {
            std::vector<const scenario::RunRecord*> mine;
            std::vector<double> losses;
            std::vector<double> accuracies;
            std::string per_seed;
            std::uint64_t steps = 0;
            for (const scenario::RunRecord& r : runs)
            {
                if (r.variant != variants[vi].name)
                {
                    continue;
                }
                mine.push_back(&r);
                char cell[32];
                std::snprintf(cell, sizeof cell, " %.4f", r.curve.empty() ? 0.0 : r.curve.back().val_accuracy);
                per_seed += r.diverged ? std::string(" diverged") : std::string(cell);
                if (r.diverged)
                {
                    // Mark where it stopped, at its last finite loss (clipped into the plot).
                    double y = 3.5;
                    for (const auto& p : r.curve)
                    {
                        y = std::isfinite(p.train_loss) ? std::min(p.train_loss, 3.5) : y;
                    }
                    diverged_at[vi].push_back({r.curve.empty() ? 0.0 : r.curve.back().epoch, y});
                }
                else if (!r.curve.empty())
                {
                    losses.push_back(r.curve.back().train_loss);
                    accuracies.push_back(r.curve.back().val_accuracy);
                    steps = r.curve.back().step;
                }
            }
            scenario::write_variant_csv(out / ("warmup_" + variants[vi].name + ".csv"), mine);
            for (const scenario::RunRecord* r : mine)
            {
                dat += std::string(vi > 0 || r != mine.front() ? "\n\n" : "")
                     + scenario::dat_block(*r, variants[vi].title + (r->diverged ? " (diverged: " + r->status_message + ")" : std::string()));
            }
            const auto [lm, ls] = scenario::mean_sd(losses);
            const auto [am, as] = scenario::mean_sd(accuracies);
            std::printf("%-16s %5zu %6g %6llu %9.4f +- %.4f %9.4f +- %.4f %s\n", variants[vi].name.c_str(),
                        variants[vi].batch_size, variants[vi].lr, static_cast<unsigned long long>(steps), lm, ls, am, as,
                        per_seed.c_str());
        }
        scenario::publish(out, "warmup_large_batch", "warmup", dat, gnuplot_script(s, variants, "warmup_large_batch.dat", diverged_at));
        if (!scenario::references_learned(runs, {"small"}))
        {
            return 1;
        }
        return 0;
    });
}
