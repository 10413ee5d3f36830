// Tests of the analysis (include/xtrain/experiment/analysis.hpp) on constructed inputs with known
// answers, and of the gradient noise scale estimator on linear regression, where the per-example
// gradient mean G and covariance Sigma are known in closed form.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <vector>

#include "xtrain/core/random.hpp"
#include "xtrain/experiment/analysis.hpp"
#include "xtrain/train/gradient_noise_scale.hpp"
#include "support/alloc_counter.hpp"

using namespace xtrain;

namespace
{
    constexpr double inf = std::numeric_limits<double>::infinity();
    constexpr double not_a_number = std::numeric_limits<double>::quiet_NaN();

    RunSummary run(const std::string& opt, double lr, std::size_t b, std::uint64_t seed, double acc,
                   bool diverged = false, std::uint64_t steps_to_target = 0)
    {
        RunSummary s;
        s.key = RunKey{opt, lr, b, seed, ""};
        s.status = diverged ? RunOutcome::diverged : RunOutcome::finished;
        s.last.val_accuracy = acc;
        s.last.val_loss = 1.0 - acc;
        s.last.train_loss = 1.0 - acc;
        s.best_val_accuracy = acc;
        s.min_val_loss = 1.0 - acc;
        s.target_reached = steps_to_target != 0;
        s.to_target.step = steps_to_target;
        s.to_target.examples = steps_to_target * b;
        s.to_target.epoch = static_cast<double>(steps_to_target * b) / 1000.0;
        return s;
    }
}

TEST_CASE("median: odd and even counts, infinities for diverged seeds", "[experiment][analysis]")
{
    CHECK(std::isnan(median({})));
    CHECK(median({3.0}) == 3.0);
    CHECK(median({3.0, 1.0, 2.0}) == 2.0);
    CHECK(median({4.0, 1.0, 2.0, 3.0}) == 2.5);
    CHECK(median({-inf, 0.8, 0.9}) == 0.8);     // one of three diverged: still a value
    CHECK(median({-inf, -inf, 0.9}) == -inf);   // two of three: diverged
    CHECK(median({-inf, 0.9}) == -inf);         // one of two: diverged
    CHECK(median({inf, inf}) == inf);
}

TEST_CASE("Metrics have names, directions and a sensible default", "[experiment][analysis]")
{
    for (Metric m : {Metric::final_val_accuracy, Metric::best_val_accuracy, Metric::final_val_loss,
                     Metric::min_val_loss, Metric::final_train_loss})
    {
        CHECK(parse_metric(metric_name(m)) == m);
    }
    CHECK_THROWS_WITH(parse_metric("accuracy"), Catch::Contains("\"accuracy\""));
    CHECK(higher_is_better(Metric::best_val_accuracy));
    CHECK_FALSE(higher_is_better(Metric::min_val_loss));
    std::vector<RunSummary> runs = {run("sgd", 0.1, 32, 0, 0.9)};
    CHECK(default_metric(runs) == Metric::final_val_accuracy);
    runs[0].last.val_accuracy = not_a_number;
    CHECK(default_metric(runs) == Metric::final_val_loss);
    runs[0].last.val_loss = not_a_number;
    CHECK(default_metric(runs) == Metric::final_train_loss);
    CHECK(metric_of(runs[0], Metric::min_val_loss) == Approx(0.1));
}

TEST_CASE("Best lr per batch size: medians over seeds, diverged seeds, ties, edges", "[experiment][analysis]")
{
    std::vector<RunSummary> runs;
    // B = 32: lr 0.1 is best by median (0.90) even though lr 0.3 has the single best seed (0.95)
    // and lr 0.3's median (0.85) is pulled down by one diverged seed of three.
    for (const auto& [lr, accs] : std::vector<std::pair<double, std::vector<double>>>{
             {0.03, {0.80, 0.81, 0.79}}, {0.1, {0.90, 0.89, 0.91}}, {0.3, {0.95, 0.85, -1.0}}, {1.0, {-1, -1, 0.5}}})
    {
        for (std::size_t s = 0; s < accs.size(); ++s)
        {
            runs.push_back(run("sgd", lr, 32, s, accs[s] < 0 ? 0.1 : accs[s], accs[s] < 0));
        }
    }
    // B = 128: exact tie between lr 0.1 and 0.3 (goes to 0.1); lr 1.0 diverges in one seed.
    for (std::size_t s = 0; s < 3; ++s)
    {
        runs.push_back(run("sgd", 0.03, 128, s, 0.70));
        runs.push_back(run("sgd", 0.1, 128, s, 0.88));
        runs.push_back(run("sgd", 0.3, 128, s, 0.88));
        runs.push_back(run("sgd", 1.0, 128, s, 0.86, s == 2));
    }
    // Adam at B = 32: best at the largest lr tried (edge), nothing diverged.
    for (std::size_t s = 0; s < 2; ++s)
    {
        runs.push_back(run("adam", 0.001, 32, s, 0.80));
        runs.push_back(run("adam", 0.003, 32, s, 0.85));
    }
    // Every cell diverged: no best lr, no stable lr.
    runs.push_back(run("adam", 0.001, 4096, 0, 0.1, true));

    const auto cells = cell_stats(runs, Metric::final_val_accuracy);
    REQUIRE(cells.size() == 4 + 4 + 2 + 1);
    const CellStats& c03 = cells[2 + 1 + 2];  // adam x3, then sgd B=32: 0.03, 0.1, 0.3
    CHECK(c03.optimizer == "sgd");
    CHECK(c03.lr == 0.3);
    CHECK(c03.seeds == 3);
    CHECK(c03.diverged == 1);
    CHECK(c03.value == Approx(0.85));
    CHECK(c03.value_stable == Approx(0.90));  // median of 0.95 and 0.85

    const auto table = summarize_by_batch(runs, Metric::final_val_accuracy);
    REQUIRE(table.size() == 4);
    const BatchSummary& adam32 = table[0];
    const BatchSummary& adam4096 = table[1];
    const BatchSummary& sgd32 = table[2];
    const BatchSummary& sgd128 = table[3];
    CHECK(sgd32.batch_size == 32);
    CHECK(sgd32.best_lr == 0.1);
    CHECK(sgd32.best_value == Approx(0.90));
    CHECK(sgd32.best_seeds == 3);
    CHECK_FALSE(sgd32.best_at_edge);
    CHECK(sgd32.lrs_tried == 4);
    CHECK(sgd32.largest_stable_lr == 0.1);
    CHECK(sgd32.smallest_diverged_lr == 0.3);
    CHECK(sgd128.best_lr == 0.1);  // tie with 0.3: the smaller
    CHECK(sgd128.largest_stable_lr == 0.3);
    CHECK(sgd128.smallest_diverged_lr == 1.0);
    CHECK(adam32.best_lr == 0.003);
    CHECK(adam32.best_at_edge);
    CHECK(adam32.largest_stable_lr == 0.003);
    CHECK(std::isnan(adam32.smallest_diverged_lr));
    CHECK(std::isnan(adam4096.best_lr));
    CHECK(std::isnan(adam4096.largest_stable_lr));
    CHECK(adam4096.smallest_diverged_lr == 0.001);

    // The loss as the metric: lower is better, same answer here.
    const auto by_loss = summarize_by_batch(runs, Metric::final_val_loss);
    CHECK(by_loss[2].best_lr == 0.1);
    CHECK(by_loss[2].best_value == Approx(0.10));
    // A NaN metric (not measured) counts as worst.
    std::vector<RunSummary> unmeasured = {run("sgd", 0.1, 32, 0, not_a_number), run("sgd", 0.3, 32, 0, 0.5)};
    CHECK(summarize_by_batch(unmeasured, Metric::final_val_accuracy)[0].best_lr == 0.3);
}

TEST_CASE("The stability edge: stalled and diverged seeds, and the edge never contradicts itself",
          "[experiment][analysis]")
{
    auto stalled = [](RunSummary r) {
        r.status = RunOutcome::stalled;
        return r;
    };
    std::vector<RunSummary> runs;
    // B = 64: the smallest lr stalls (too slow for the budget), the best is 0.1, 0.3 trains,
    // 1.0 has a seed that stalled (a dead network), 3.0 blew up. The slow lr below the best is
    // not instability: the edge is 0.3; the first unstable lr 1.0; the first blow-up 3.0.
    for (std::uint64_t s = 0; s < 3; ++s)
    {
        runs.push_back(stalled(run("sgd", 0.001, 64, s, 0.12)));
        runs.push_back(run("sgd", 0.1, 64, s, 0.88));
        runs.push_back(run("sgd", 0.3, 64, s, 0.85));
        runs.push_back(s == 1 ? stalled(run("sgd", 1.0, 64, s, 0.10)) : run("sgd", 1.0, 64, s, 0.70));
        runs.push_back(run("sgd", 3.0, 64, s, 0.1, true));
    }
    // B = 256: the best cell itself has a stalled seed: the edge is the largest lr below it
    // without a failing seed.
    for (std::uint64_t s = 0; s < 3; ++s)
    {
        runs.push_back(run("sgd", 0.1, 256, s, 0.80));
        runs.push_back(s == 0 ? stalled(run("sgd", 0.3, 256, s, 0.11)) : run("sgd", 0.3, 256, s, 0.86));
        runs.push_back(run("sgd", 1.0, 256, s, 0.1, true));
    }
    const auto table = summarize_by_batch(runs, Metric::final_val_accuracy);
    REQUIRE(table.size() == 2);
    const BatchSummary& b64 = table[0];
    CHECK(b64.best_lr == 0.1);
    CHECK(b64.largest_stable_lr == 0.3);
    CHECK(b64.smallest_unstable_lr == 1.0);
    CHECK(b64.smallest_diverged_lr == 3.0);
    CHECK(b64.stalled_runs == 4);
    CHECK(b64.diverged_runs == 3);
    const BatchSummary& b256 = table[1];
    CHECK(b256.best_lr == 0.3);
    CHECK(b256.largest_stable_lr == 0.1);
    CHECK(b256.smallest_unstable_lr == 0.3);
    CHECK(b256.smallest_diverged_lr == 1.0);

    // Any mix of outcomes: largest_stable_lr < smallest_unstable_lr <= smallest_diverged_lr,
    // whichever of them are defined; the stable lr trains in every seed.
    Rng rng(42);
    const std::vector<double> lrs = {0.001, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0};
    for (int trial = 0; trial < 300; ++trial)
    {
        std::vector<RunSummary> mix;
        for (const double lr : lrs)
        {
            for (std::uint64_t s = 0; s < 3; ++s)
            {
                const double u = rng.uniform();
                RunSummary r = run("sgd", lr, 32, s, 0.1 + 0.8 * rng.uniform(), u < 0.2);
                mix.push_back(u >= 0.2 && u < 0.35 ? stalled(r) : r);
            }
        }
        const BatchSummary b = summarize_by_batch(mix, Metric::final_val_accuracy)[0];
        if (!std::isnan(b.largest_stable_lr) && !std::isnan(b.smallest_unstable_lr))
        {
            CHECK(b.largest_stable_lr < b.smallest_unstable_lr);
        }
        if (!std::isnan(b.smallest_unstable_lr) && !std::isnan(b.smallest_diverged_lr))
        {
            CHECK(b.smallest_unstable_lr <= b.smallest_diverged_lr);
        }
        if (!std::isnan(b.largest_stable_lr) && !std::isnan(b.smallest_diverged_lr))
        {
            CHECK(b.largest_stable_lr < b.smallest_diverged_lr);
        }
        for (const auto& r : mix)
        {
            if (r.key.lr == b.largest_stable_lr)
            {
                CHECK(r.status == RunOutcome::finished);
            }
        }
    }
}

TEST_CASE("Best lr with the rates tied with it over seeds (a bootstrap), the same every time",
          "[experiment][analysis]")
{
    std::vector<RunSummary> runs;
    // B = 32: seeds disagree between 0.1 and 0.3 (paired: seed 0 prefers 0.3); 0.03 and 1.0 are
    // clearly worse. B = 128: 0.1 is best in every seed.
    const std::vector<std::vector<double>> acc32 = {{0.80, 0.90, 0.92, 0.60}, {0.81, 0.91, 0.89, 0.62}, {0.79, 0.90, 0.88, 0.61}};
    const std::vector<double> lrs = {0.03, 0.1, 0.3, 1.0};
    for (std::uint64_t s = 0; s < 3; ++s)
    {
        for (std::size_t k = 0; k < lrs.size(); ++k)
        {
            runs.push_back(run("sgd", lrs[k], 32, s, acc32[s][k]));
            runs.push_back(run("sgd", lrs[k], 128, s, k == 1 ? 0.9 + 0.001 * static_cast<double>(s) : 0.7));
        }
    }
    const auto table = summarize_by_batch(runs, Metric::final_val_accuracy);
    REQUIRE(table.size() == 2);
    CHECK(table[0].best_lr == 0.1);
    CHECK(table[0].best_lr_lo == 0.1);
    CHECK(table[0].best_lr_hi == 0.3);   // seed 0 alone (a draw of it three times) prefers 0.3
    CHECK(table[1].best_lr_lo == 0.1);
    CHECK(table[1].best_lr_hi == 0.1);
    const auto again = summarize_by_batch(runs, Metric::final_val_accuracy);
    CHECK(again[0].best_lr_hi == table[0].best_lr_hi);
    // One seed: nothing to resample, the interval is the point.
    const std::vector<RunSummary> one = {run("sgd", 0.1, 32, 0, 0.9), run("sgd", 0.3, 32, 0, 0.8)};
    const BatchSummary b1 = summarize_by_batch(one, Metric::final_val_accuracy)[0];
    CHECK(b1.best_lr_lo == 0.1);
    CHECK(b1.best_lr_hi == 0.1);
    // A best lr at the edge of the rates tried carries a warning, with a sentence for it.
    CHECK(b1.best_at_edge);
    REQUIRE(b1.warnings.size() == 1);
    CHECK(b1.warnings[0] == "best_lr_at_edge");
    CHECK_THAT(warning_text(b1.warnings[0]), Catch::Contains("edge of the lrs tried"));
}

TEST_CASE("Fits: unresolved steps are refused, too few points are not a fit, intervals over seeds",
          "[experiment][analysis]")
{
    // S(B) = 500 (1 + 64 / B) with seed noise; B = 16 met the target at its first evaluation
    // (resolution: all of its steps), so it must be left out and flagged.
    std::vector<RunSummary> runs;
    for (const std::size_t b : {16, 32, 64, 128, 256, 512})
    {
        for (std::uint64_t seed = 0; seed < 5; ++seed)
        {
            const double noise = 1.0 + 0.03 * (static_cast<double>(seed) - 2.0);
            const auto steps = static_cast<std::uint64_t>(500.0 * (1.0 + 64.0 / static_cast<double>(b)) * noise);
            RunSummary r = run("sgd", 0.1, b, seed, 0.9, false, b == 16 ? 40 : steps);
            r.to_target.resolution = b == 16 ? 40 : 1;
            runs.push_back(r);
        }
    }
    const auto table = summarize_by_batch(runs, Metric::final_val_accuracy);
    REQUIRE(table.size() == 6);
    CHECK(table[0].target_resolution_limited);
    CHECK(table[0].warnings == std::vector<std::string>{"target_resolution_limited"});
    CHECK_FALSE(table[1].target_resolution_limited);
    CHECK(table[1].steps_to_target_lo <= table[1].steps_to_target);
    CHECK(table[1].steps_to_target <= table[1].steps_to_target_hi);
    CHECK(table[1].steps_to_target_hi > table[1].steps_to_target_lo);
    const auto fits = summarize_fits(runs, table, Metric::final_val_accuracy);
    REQUIRE(fits.size() == 1);
    const FitSummary& f = fits[0];
    CHECK(f.refused_points == 1);
    CHECK(f.steps.points == 5);
    CHECK(f.steps.valid());
    CHECK(f.steps.s_min == Approx(500.0).epsilon(0.02));
    CHECK(f.steps.b_noise == Approx(64.0).epsilon(0.05));
    CHECK(f.bootstrap_draws == 200);
    CHECK(f.bootstrap_valid_fits > 150);
    CHECK(f.s_min_lo <= f.steps.s_min);
    CHECK(f.steps.s_min <= f.s_min_hi);
    CHECK(f.b_noise_lo <= f.steps.b_noise);
    CHECK(f.steps.b_noise <= f.b_noise_hi);
    CHECK(f.s_min_hi / f.s_min_lo < 1.2);  // 3 % seed noise: a narrow interval
    CHECK(std::find(f.warnings.begin(), f.warnings.end(), "target_resolution_limited") != f.warnings.end());
    CHECK(std::find(f.warnings.begin(), f.warnings.end(), "best_lr_fit_too_few_points") == f.warnings.end());

    // Two batch sizes determine two parameters exactly: no fit.
    std::vector<RunSummary> two;
    for (const auto& r : runs)
    {
        if (r.key.batch_size == 32 || r.key.batch_size == 64)
        {
            two.push_back(r);
        }
    }
    const auto two_table = summarize_by_batch(two, Metric::final_val_accuracy);
    const FitSummary f2 = summarize_fits(two, two_table, Metric::final_val_accuracy)[0];
    CHECK(f2.steps.points == 2);
    CHECK_FALSE(f2.steps.valid());
    CHECK(std::find(f2.warnings.begin(), f2.warnings.end(), "steps_fit_too_few_points") != f2.warnings.end());
    CHECK(std::find(f2.warnings.begin(), f2.warnings.end(), "best_lr_fit_too_few_points") != f2.warnings.end());
    // Met before training (step 0) is never resolved; one step of resolution always is.
    TargetHit h;
    h.step = 0;
    h.resolution = 0;
    CHECK(h.resolution_limited());
    h.step = 3;
    h.resolution = 1;
    CHECK_FALSE(h.resolution_limited());
    h.step = 8;
    h.resolution = 5;
    CHECK(h.resolution_limited());
    h.resolution = 4;
    CHECK_FALSE(h.resolution_limited());
}

TEST_CASE("Log-log slope of the best lr: 1 for linear scaling, 1/2 for square-root scaling",
          "[experiment][analysis]")
{
    const std::vector<double> b = {32, 64, 128, 256, 512, 1024};
    std::vector<double> linear;
    std::vector<double> root;
    for (const double x : b)
    {
        linear.push_back(0.1 * x / 32);
        root.push_back(0.1 * std::sqrt(x / 32));
    }
    const LineFit l = fit_loglog(b, linear);
    CHECK(l.valid());
    CHECK(l.points == 6);
    CHECK(l.slope == Approx(1.0).epsilon(0).margin(1e-12));
    CHECK(std::exp(l.intercept) * 32 == Approx(0.1).epsilon(1e-12));  // lr = (0.1 / 32) B
    CHECK(l.r_squared == Approx(1.0).epsilon(0).margin(1e-12));
    CHECK(fit_loglog(b, root).slope == Approx(0.5).epsilon(0).margin(1e-12));

    // Through the whole pipeline: summaries whose accuracy peaks at lr*(B), lr grid in powers of 2,
    // so that the best grid lr is exactly lr*(B).
    for (const double power : {1.0, 0.5})
    {
        std::vector<RunSummary> runs;
        for (const double bs : b)
        {
            const double star = 0.1 * std::pow(bs / 32, power);
            for (int k = -8; k <= 10; ++k)
            {
                const double lr = 0.1 * std::pow(2.0, 0.5 * k);
                const double miss = std::log(lr / star);
                for (std::uint64_t seed = 0; seed < 3; ++seed)
                {
                    const double noise = 0.001 * (static_cast<double>(seed) - 1.0);
                    runs.push_back(run("sgd", lr, static_cast<std::size_t>(bs), seed, 0.9 - 0.1 * miss * miss + noise,
                                       lr > 8 * star));
                }
            }
        }
        const auto table = summarize_by_batch(runs, Metric::final_val_accuracy);
        const LineFit f = best_lr_scaling(table, "sgd");
        CHECK(f.points == 6);
        CHECK(f.slope == Approx(power).epsilon(0).margin(1e-9));
        for (const auto& row : table)
        {
            CHECK(row.best_lr == Approx(0.1 * std::pow(static_cast<double>(row.batch_size) / 32, power)).epsilon(1e-14));
        }
    }
    // Degenerate inputs give invalid fits, mismatched sizes an exception.
    CHECK_FALSE(fit_loglog({32}, {0.1}).valid());
    CHECK_FALSE(fit_loglog({32, 32}, {0.1, 0.2}).valid());
    CHECK(fit_loglog({32, 64, 128}, {0.1, not_a_number, 0.4}).points == 2);
    CHECK(fit_loglog({32, 64, 128}, {0.1, -1.0, 0.4}).slope == Approx(1.0).epsilon(0).margin(1e-12));
    CHECK_THROWS_WITH(fit_line({1, 2}, {1}), Catch::Contains("y.size()"));
    CHECK_THROWS_AS(fit_loglog({1, 2}, {1}), std::invalid_argument);
}

TEST_CASE("Steps to target: S(B) = S_min (1 + B_noise / B) recovered, runs that never reach it left out",
          "[experiment][analysis]")
{
    const std::vector<double> b = {16, 32, 64, 128, 256, 512, 1024};
    std::vector<double> s;
    for (const double x : b)
    {
        s.push_back(1000.0 * (1.0 + 128.0 / x));
    }
    StepsFit f = fit_steps_to_target(b, s);
    CHECK(f.valid());
    CHECK(f.points == 7);
    // An iterative fit (golden section on log B_noise): exact data are recovered to 1e-6.
    CHECK(f.s_min == Approx(1000.0).epsilon(1e-6));
    CHECK(f.b_noise == Approx(128.0).epsilon(1e-6));
    CHECK(f.r_squared == Approx(1.0).epsilon(0).margin(1e-9));
    CHECK(f.predict(128) == Approx(2000.0).epsilon(2e-6));  // S_min (1 + B_noise / B): both to 1e-6

    // Batch sizes that never reached the target (inf) are skipped.
    s[6] = inf;
    s[5] = not_a_number;
    f = fit_steps_to_target(b, s);
    CHECK(f.points == 5);
    CHECK(f.b_noise == Approx(128.0).epsilon(1e-6));
    // +-2 % multiplicative noise: still close.
    std::vector<double> noisy;
    for (std::size_t i = 0; i < b.size(); ++i)
    {
        noisy.push_back(1000.0 * (1.0 + 128.0 / b[i]) * (i % 2 ? 1.02 : 0.98));
    }
    f = fit_steps_to_target(b, noisy);
    CHECK(f.s_min == Approx(1000.0).epsilon(0.05));
    CHECK(f.b_noise == Approx(128.0).epsilon(0.1));
    // Too few points, or steps that grow with B (no positive S_min), are invalid.
    CHECK_FALSE(fit_steps_to_target({32}, {100}).valid());
    CHECK_FALSE(fit_steps_to_target({32, 64}, {inf, 100}).valid());
    CHECK_FALSE(fit_steps_to_target({32, 64}, {300, 200}).valid());  // two points determine two parameters exactly
    CHECK_FALSE(fit_steps_to_target({16, 32, 64}, {10, 100, 1000}).valid());
    // Perfect scaling throughout (S = 8000 / B): no S_min can be read off either.
    CHECK_FALSE(fit_steps_to_target({16, 32, 64, 128}, {500, 250, 125, 62.5}).valid());
    // Spanning decades, the log fit is not dominated by the small batches: the shape of the
    // default sweep's Adam curve, S = 80 (1 + 800 / B) with +-10 % noise.
    std::vector<double> wide_b = {16, 32, 64, 128, 256, 512, 1024, 2048};
    std::vector<double> wide_s;
    for (std::size_t i = 0; i < wide_b.size(); ++i)
    {
        wide_s.push_back(80.0 * (1.0 + 800.0 / wide_b[i]) * (i % 2 ? 1.1 : 0.9));
    }
    f = fit_steps_to_target(wide_b, wide_s);
    CHECK(f.valid());
    CHECK(f.s_min == Approx(80.0).epsilon(0.15));
    CHECK(f.b_noise == Approx(800.0).epsilon(0.2));
    CHECK_THROWS_AS(fit_steps_to_target({16, 32}, {10}), std::invalid_argument);

    // Through the per-batch table: min over lr of the median steps, a seed that missed counts +inf.
    std::vector<RunSummary> runs;
    for (const double bs : {32.0, 64.0, 128.0, 256.0})
    {
        const auto steps = static_cast<std::uint64_t>(500.0 * (1.0 + 64.0 / bs));
        const auto bsz = static_cast<std::size_t>(bs);
        for (std::uint64_t seed = 0; seed < 3; ++seed)
        {
            runs.push_back(run("sgd", 0.1, bsz, seed, 0.9, false, steps));
            runs.push_back(run("sgd", 0.3, bsz, seed, 0.9, false, seed == 0 ? steps / 2 : 0));  // 2 of 3 missed
            runs.push_back(run("sgd", 0.03, bsz, seed, 0.9, false, steps * 2));
        }
    }
    runs.push_back(run("sgd", 0.1, 4096, 0, 0.5, false, 0));  // never reached
    const auto table = summarize_by_batch(runs, Metric::final_val_accuracy);
    REQUIRE(table.size() == 5);
    CHECK(table[0].steps_to_target == 1500.0);
    CHECK(table[0].lr_to_target == 0.1);
    CHECK(table[0].examples_to_target == 48000.0);
    CHECK(table[0].epochs_to_target == 48.0);
    CHECK(table[3].steps_to_target == 625.0);
    CHECK(std::isinf(table[4].steps_to_target));
    CHECK(std::isnan(table[4].lr_to_target));
    const StepsFit tf = steps_to_target_fit(table, "sgd");
    CHECK(tf.points == 4);
    CHECK(tf.s_min == Approx(500.0).epsilon(1e-6));  // exact steps (1500, 1000, 750, 625): the fit's precision
    CHECK(tf.b_noise == Approx(64.0).epsilon(1e-6));
}

// ------------------------------------------------------------------------------------------------
// Gradient noise scale
// ------------------------------------------------------------------------------------------------

TEST_CASE("The noise-scale estimators are exact on expected squared norms", "[experiment][noise]")
{
    // E|G_B|^2 = |G|^2 + tr(Sigma) / B exactly: the two estimators must return |G|^2 and tr(Sigma).
    const double g2 = 0.7;
    const double tr = 35.0;
    const auto norm = [&](double b) { return g2 + tr / b; };
    // Exact up to the rounding of a few operations: 1e-12 relative.
    CHECK(GradientNoiseScale::squared_gradient_estimate(8, norm(8), 64, norm(64)) == Approx(g2).epsilon(1e-12));
    CHECK(GradientNoiseScale::trace_estimate(8, norm(8), 64, norm(64)) == Approx(tr).epsilon(1e-12));
    GradientNoiseScale est(0.9);
    CHECK(std::isnan(est.b_simple()));
    CHECK(std::isnan(est.squared_gradient()));
    est.update(8, norm(8), 64, norm(64));
    CHECK(est.squared_gradient() == Approx(g2).epsilon(1e-12));  // bias-corrected from the first update
    CHECK(est.trace_covariance() == Approx(tr).epsilon(1e-12));
    CHECK(est.b_simple() == Approx(50.0).epsilon(1e-12));
    est.update(16, norm(16), 32, norm(32));
    CHECK(est.b_simple() == Approx(50.0).epsilon(1e-12));
    CHECK(est.updates() == 2);
    est.reset();
    CHECK(est.updates() == 0);
    CHECK(std::isnan(est.b_simple()));
    CHECK(est.smoothing() == 0.9);

    CHECK_THROWS_WITH(GradientNoiseScale(1.0), Catch::Contains("smoothing must be in [0, 1) (got 1)"));
    CHECK_THROWS_WITH(est.update(64, 1, 8, 1), Catch::Contains("b_big must be > b_small"));
    CHECK_THROWS_WITH(est.update(0, 1, 8, 1), Catch::Contains("b_small must be > 0"));
    CHECK_THROWS_WITH(est.update(8, -1, 64, 1), Catch::Contains("sq_norm_small"));
    CHECK_THROWS_WITH(est.update(8, 1, 64, not_a_number), Catch::Contains("sq_norm_big"));

    const std::vector<float> v = {3.0f, 4.0f};
    CHECK(squared_norm(v) == 25.0);
    CHECK(squared_norm(v.data(), 1) == 9.0);
    CHECK(squared_norm(v.data(), 0) == 0.0);
}

TEST_CASE("squared_norm sums every value, whatever the length against its eight partial sums",
          "[experiment][noise]")
{
    // Integers: every partial sum is exact, so any order of adding gives the same double, and a
    // value left out or counted twice changes the result.
    std::vector<float> v(41);
    for (std::size_t i = 0; i < v.size(); ++i)
    {
        v[i] = static_cast<float>(i + 1);
    }
    for (std::size_t n = 0; n <= v.size(); ++n)
    {
        INFO("n = " << n);
        const double expected = static_cast<double>(n * (n + 1) * (2 * n + 1) / 6);
        CHECK(squared_norm(v.data(), n) == expected);
    }
    // Same values in double, and the same call twice gives the same bits.
    std::vector<double> w(1000);
    for (std::size_t i = 0; i < w.size(); ++i)
    {
        w[i] = std::sin(static_cast<double>(i));
    }
    double plain = 0.0;
    for (double x : w)
    {
        plain += x * x;
    }
    CHECK(squared_norm(w) == Approx(plain).epsilon(1e-13));
    CHECK(squared_norm(w) == squared_norm(w));
}

TEST_CASE("Feeding the noise-scale estimator every step allocates nothing", "[experiment][noise]")
{
    std::vector<float> small(1000, 0.5f);
    std::vector<double> big(1000, 0.25);
    GradientNoiseScale est;
    est.update(8, squared_norm(small), 64, squared_norm(big));
    test::AllocationCounter count;
    double sink = 0.0;
    for (int step = 0; step < 100; ++step)
    {
        small[static_cast<std::size_t>(step)] = 0.6f;
        est.update(8, squared_norm(small), 64, squared_norm(big));
        sink += est.b_simple();
    }
    CHECK(count.allocations() == 0);
    CHECK(std::isfinite(sink));
}

TEST_CASE("B_simple on linear regression matches the closed-form truth", "[experiment][noise]")
{
    // y = x . w* + eps, x_j ~ N(0, s_j^2) independent, eps ~ N(0, sigma^2); loss 1/2 (x . w - y)^2.
    // At w = w* + delta the per-example gradient is g = x (x . delta - eps), so
    //   G = E g = diag(s^2) delta,
    //   E|g|^2 = sum_j delta_j^2 s_j^2 (S + 2 s_j^2) + sigma^2 S,  S = sum_i s_i^2
    // (Gaussian fourth moments: E x_j^4 = 3 s_j^4), and tr(Sigma) = E|g|^2 - |G|^2.
    constexpr std::size_t d = 6;
    const double s[d] = {0.5, 0.8, 1.0, 1.2, 1.5, 2.0};
    const double delta[d] = {0.3, -0.2, 0.25, 0.1, -0.15, 0.05};
    const double sigma = 0.5;
    double S = 0.0;
    for (const double v : s)
    {
        S += v * v;
    }
    double g2_true = 0.0;
    double eg2 = sigma * sigma * S;
    for (std::size_t j = 0; j < d; ++j)
    {
        g2_true += s[j] * s[j] * s[j] * s[j] * delta[j] * delta[j];
        eg2 += delta[j] * delta[j] * s[j] * s[j] * (S + 2 * s[j] * s[j]);
    }
    const double tr_true = eg2 - g2_true;
    const double b_true = tr_true / g2_true;

    auto sample_gradient = [&](Rng& rng, double* g) {
        double x[d];
        double r = 0.0;
        for (std::size_t j = 0; j < d; ++j)
        {
            x[j] = s[j] * rng.normal();
            r += x[j] * delta[j];
        }
        r -= sigma * rng.normal();
        for (std::size_t j = 0; j < d; ++j)
        {
            g[j] = x[j] * r;
        }
    };

    // The closed form agrees with a large sample (guards the algebra above).
    {
        Rng rng = derive_rng(1, RngStream::noise, 0);
        const std::size_t n = 400000;
        double mean[d] = {};
        double sq = 0.0;
        double g[d];
        for (std::size_t i = 0; i < n; ++i)
        {
            sample_gradient(rng, g);
            for (std::size_t j = 0; j < d; ++j)
            {
                mean[j] += g[j];
                sq += g[j] * g[j];
            }
        }
        double g2 = 0.0;
        for (std::size_t j = 0; j < d; ++j)
        {
            mean[j] /= static_cast<double>(n);
            g2 += mean[j] * mean[j];
        }
        const double tr = sq / static_cast<double>(n) - g2;
        CHECK(g2 == Approx(g2_true).epsilon(0.03));
        CHECK(tr == Approx(tr_true).epsilon(0.02));
    }

    // Estimator: batch gradients at B_small = 8 and B_big = 64 from fresh samples, smoothed over
    // 800 steps, averaged over 24 independent draws.
    const std::size_t b_small = 8;
    const std::size_t b_big = 64;
    auto run_draw = [&](std::uint64_t draw, bool nested) {
        Rng rng = derive_rng(draw, RngStream::noise, 1);
        GradientNoiseScale est(0.99);
        double g[d];
        for (int step = 0; step < 800; ++step)
        {
            double big[d] = {};
            double small[d] = {};
            for (std::size_t i = 0; i < b_big; ++i)
            {
                sample_gradient(rng, g);
                for (std::size_t j = 0; j < d; ++j)
                {
                    big[j] += g[j] / static_cast<double>(b_big);
                    if (nested && i < b_small)
                    {
                        small[j] += g[j] / static_cast<double>(b_small);
                    }
                }
            }
            if (!nested)
            {
                for (std::size_t i = 0; i < b_small; ++i)
                {
                    sample_gradient(rng, g);
                    for (std::size_t j = 0; j < d; ++j)
                    {
                        small[j] += g[j] / static_cast<double>(b_small);
                    }
                }
            }
            est.update(static_cast<double>(b_small), squared_norm(small, d), static_cast<double>(b_big),
                       squared_norm(big, d));
        }
        return est;
    };
    for (const bool nested : {false, true})
    {
        double b_sum = 0.0;
        double g2_sum = 0.0;
        double tr_sum = 0.0;
        const int draws = 24;
        for (int k = 0; k < draws; ++k)
        {
            const GradientNoiseScale est = run_draw(static_cast<std::uint64_t>(k) + (nested ? 100 : 0), nested);
            b_sum += est.b_simple();
            g2_sum += est.squared_gradient();
            tr_sum += est.trace_covariance();
        }
        INFO("nested sub-batch: " << nested << ", true B_simple " << b_true);
        CHECK(b_sum / draws == Approx(b_true).epsilon(0.04));
        CHECK(g2_sum / draws == Approx(g2_true).epsilon(0.04));
        CHECK(tr_sum / draws == Approx(tr_true).epsilon(0.03));
    }
}
