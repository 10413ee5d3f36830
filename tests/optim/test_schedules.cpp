// Tests of include/xtrain/optim's learning-rate schedules and batch-size scaling rules. The expected
// values are computed by hand from each schedule's formula (and agree with torch.optim.lr_scheduler
// where PyTorch has the same schedule).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "xtrain/optim.hpp"

using xtrain::CosineAnnealingLR;
using xtrain::CosineAnnealingWarmRestarts;
using xtrain::ExponentialLR;
using xtrain::FixedLR;
using xtrain::LinearWarmup;
using xtrain::MultiStepLR;
using xtrain::OneCycleLR;
using xtrain::ReduceLROnPlateau;
using xtrain::SequentialLR;
using xtrain::StepLR;

namespace
{
    // Rates are computed in double by a few operations: agreement to 1e-14 relative is exact arithmetic's.
    Approx rate(double v) { return Approx(v).epsilon(1e-14).margin(1e-17); }

    std::string invalid_message(void (*f)())
    {
        try
        {
            f();
        }
        catch (const std::invalid_argument& e)
        {
            return e.what();
        }
        return "(no std::invalid_argument thrown)";
    }
}

TEST_CASE("FixedLR, StepLR, MultiStepLR and ExponentialLR at chosen indices", "[optim][schedules]")
{
    const FixedLR fixed(0.1);
    CHECK(fixed(0) == 0.1);
    CHECK(fixed(1000000) == 0.1);

    const StepLR step(0.1, 30, 0.1);
    CHECK(step(0) == rate(0.1));
    CHECK(step(29) == rate(0.1));
    CHECK(step(30) == rate(0.01));
    CHECK(step(59) == rate(0.01));
    CHECK(step(60) == rate(0.001));

    const MultiStepLR multi(0.1, {80, 30, 60}, 0.1); // any order: sorted
    CHECK(multi(29) == rate(0.1));
    CHECK(multi(30) == rate(0.01));
    CHECK(multi(79) == rate(0.001));
    CHECK(multi(80) == rate(0.0001));
    const MultiStepLR twice(1.0, {5, 5}, 0.5); // a repeated milestone applies gamma twice, as in PyTorch
    CHECK(twice(4) == 1.0);
    CHECK(twice(5) == 0.25);

    const ExponentialLR expo(0.1, 0.5);
    CHECK(expo(0) == rate(0.1));
    CHECK(expo(1) == rate(0.05));
    CHECK(expo(3) == rate(0.0125));
}

TEST_CASE("CosineAnnealingLR descends half a cosine, then holds eta_min", "[optim][schedules]")
{
    const CosineAnnealingLR cosine(1.0, 10, 0.01);
    CHECK(cosine(0) == rate(1.0));
    // 0.01 + 0.99 * (1 + cos(0.2 pi)) / 2, cos(36 degrees) = (1 + sqrt 5) / 4
    CHECK(cosine(2) == rate(0.01 + 0.99 * (1.0 + (1.0 + std::sqrt(5.0)) / 4.0) / 2.0));
    CHECK(cosine(5) == rate(0.505));
    CHECK(cosine(10) == rate(0.01));
    CHECK(cosine(11) == 0.01);
    CHECK(cosine(1000) == 0.01);
}

TEST_CASE("CosineAnnealingWarmRestarts restarts at the end of each cycle", "[optim][schedules]")
{
    const CosineAnnealingWarmRestarts doubling(0.1, 10, 2); // cycles [0, 10), [10, 30), [30, 70), ...
    CHECK(doubling(0) == rate(0.1));
    CHECK(doubling(9) == rate(0.1 * (1.0 + std::cos(0.9 * 3.14159265358979323846)) / 2.0));
    CHECK(doubling(10) == rate(0.1));
    CHECK(doubling(20) == rate(0.05));
    CHECK(doubling(30) == rate(0.1));
    CHECK(doubling(50) == rate(0.05));
    CHECK(doubling(70) == rate(0.1));
    const CosineAnnealingWarmRestarts same(0.1, 10, 1, 0.02);
    CHECK(same(25) == rate(0.06));
    CHECK(same(30) == rate(0.1));
    CHECK(std::isfinite(doubling(std::numeric_limits<std::size_t>::max())));
}

TEST_CASE("OneCycleLR rises to max_lr and anneals to max_lr / div / final_div", "[optim][schedules]")
{
    const OneCycleLR cyc(1.0, 100); // pct_start 0.3: phase ends at indices 29 and 99
    CHECK(cyc.initial_lr() == rate(0.04));
    CHECK(cyc.min_lr() == rate(4e-6));
    CHECK(cyc(0) == rate(0.04));
    CHECK(cyc(14) == rate(1.0 + (0.04 - 1.0) / 2.0 * (std::cos(3.14159265358979323846 * 14.0 / 29.0) + 1.0)));
    CHECK(cyc(29) == rate(1.0));
    CHECK(cyc(64) == rate(0.500002));
    CHECK(cyc(99) == rate(4e-6));
    CHECK(cyc(500) == rate(4e-6)); // past the end: the last rate

    const OneCycleLR lin(1.0, 100, 0.3, xtrain::Anneal::linear);
    CHECK(lin(14) == rate(0.04 + 0.96 * 14.0 / 29.0));

    const OneCycleLR three(1.0, 100, 0.25, xtrain::Anneal::linear, 25.0, 1e4, true); // ends 24, 48, 99
    CHECK(three(24) == rate(1.0));
    CHECK(three(36) == rate(0.52));
    CHECK(three(48) == rate(0.04));
    CHECK(three(99) == Approx(4e-6).epsilon(1e-9));

    // A first phase shorter than one index (PyTorch divides by zero here) starts at the peak.
    const OneCycleLR tiny(1.0, 10, 0.1);
    CHECK(tiny(0) == rate(1.0));
    CHECK(std::isfinite(tiny(5)));
}

TEST_CASE("LinearWarmup ramps any schedule linearly, exact at the boundaries", "[optim][schedules]")
{
    const LinearWarmup warm(FixedLR(0.4), 5, 0.25);
    CHECK(warm(0) == rate(0.1));
    CHECK(warm(1) == rate(0.16));
    CHECK(warm(4) == rate(0.34));
    CHECK(warm(5) == 0.4); // the first index after the ramp is the inner schedule's own value
    CHECK(warm(6) == 0.4);
    CHECK(warm.warmup_steps() == 5);

    const LinearWarmup from_zero(StepLR(1.0, 3, 0.5), 4, 0.0);
    CHECK(from_zero(0) == 0.0);
    CHECK(from_zero(2) == rate(0.5));         // 1.0 * 2 / 4
    CHECK(from_zero(3) == rate(0.5 * 0.75));  // the inner schedule already decayed at 3
    CHECK(from_zero(4) == rate(0.5));

    const LinearWarmup none(FixedLR(0.3), 0, 0.1);
    CHECK(none(0) == 0.3);
}

TEST_CASE("docs/optimizers.md: Goyal et al.'s warm-up recipe", "[optim][schedules][docs]")
{
    #include "doc_snippets/optimizers-warmup-recipe.inc"
    const std::size_t w = 5 * iters_per_epoch;
    CHECK(peak == rate(0.4));
    CHECK(schedule(0) == rate(0.1));
    CHECK(schedule(w - 1) == rate(0.4 * (0.25 + 0.75 * double(w - 1) / double(w))));
    CHECK(schedule(w) == rate(0.4));
    CHECK(schedule(30 * iters_per_epoch - 1) == rate(0.4));
    CHECK(schedule(30 * iters_per_epoch) == rate(0.04));
    CHECK(schedule(80 * iters_per_epoch) == rate(0.0004));
    // Applied to an optimizer, the next step uses the schedule's rate: p -= rate * g with g = 1.
    xtrain::Optimizer<xtrain::SGD> opt;
    xt::xtensor<double, 1> p = {0.0};
    const xt::xtensor<double, 1> g = {1.0};
    opt.set_lr(schedule(w / 2));
    opt.step(p, g);
    CHECK(p(0) == -schedule(w / 2));
    CHECK(schedule(w / 2) > 0.1);  // mid-ramp: neither the start nor the peak
    CHECK(schedule(w / 2) < 0.4);
}

TEST_CASE("SequentialLR switches schedules at the milestone and restarts the second at 0", "[optim][schedules]")
{
    const SequentialLR seq(FixedLR(0.01), 3, CosineAnnealingLR(0.1, 10));
    CHECK(seq(2) == 0.01);
    CHECK(seq(3) == rate(0.1));
    CHECK(seq(8) == rate(0.05));
    CHECK(seq.milestone() == 3);
    // PyTorch's ConstantLR(factor = 0.5, total_iters = 4) on a rate of 0.2:
    const SequentialLR constant(FixedLR(0.2 * 0.5), 4, FixedLR(0.2));
    CHECK(constant(3) == 0.1);
    CHECK(constant(4) == 0.2);
}

TEST_CASE("ReduceLROnPlateau follows PyTorch's patience, threshold, cooldown and min_lr rules", "[optim][schedules]")
{
    ReduceLROnPlateau plateau(1.0, xtrain::PlateauMode::min, 0.5, 2, 0.1, xtrain::ThresholdMode::rel, 1, 0.1);
    const std::vector<double> metrics = {10, 9.5, 9.2, 9.1, 9.1, 9.1, 9.1, 9.1, 8.0, 8.0, 8.0,
                                         8.0, 8.0, 8.0, 8.0, 8.0, 8.0, 8.0};
    // The rate in effect before observing each metric (the same sequence torch gives).
    const std::vector<double> expected = {1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25,
                                          0.25, 0.125, 0.125, 0.125, 0.125, 0.1, 0.1};
    for (std::size_t i = 0; i < metrics.size(); ++i)
    {
        INFO("observation " << i);
        CHECK(plateau(i) == expected[i]);
        plateau.observe(metrics[i]);
    }
    CHECK(plateau(0) == 0.1); // min_lr is a floor
    CHECK(plateau.best() == 8.0);
    CHECK(plateau.reductions() == 4);

    ReduceLROnPlateau acc(0.1, xtrain::PlateauMode::max, 0.1, 0, 0.01, xtrain::ThresholdMode::abs);
    acc.observe(0.80);
    acc.observe(0.805); // not better by 0.01: one bad observation > patience 0
    CHECK(acc(0) == rate(0.01));
    acc.observe(0.9);
    CHECK(acc(0) == rate(0.01));
    acc.observe(std::numeric_limits<double>::quiet_NaN()); // NaN is never an improvement
    CHECK(acc(0) == rate(0.001));
}

TEST_CASE("ReduceLROnPlateau saved mid-run and loaded into a fresh one goes on identically", "[optim][schedules]")
{
    const std::vector<double> metrics = {10, 9.5, 9.2, 9.1, 9.1, 9.1, 9.1, 9.1, 8.0, 8.0, 8.0, 8.0, 8.0, 8.0};
    ReduceLROnPlateau original(1.0, xtrain::PlateauMode::min, 0.5, 2, 0.1, xtrain::ThresholdMode::rel, 1, 0.1);
    for (std::size_t i = 0; i < 6; ++i) // mid-cooldown after the first reduction
    {
        original.observe(metrics[i]);
    }
    REQUIRE(original.reductions() == 1);
    std::stringstream ss;
    xtrain::BinaryWriter w(ss);
    original.save(w);

    ReduceLROnPlateau resumed(1.0, xtrain::PlateauMode::min, 0.5, 2, 0.1, xtrain::ThresholdMode::rel, 1, 0.1);
    xtrain::BinaryReader r(ss, "memory");
    resumed.load(r);
    CHECK(resumed(0) == original(0));
    CHECK(resumed.best() == original.best());
    for (std::size_t i = 6; i < metrics.size(); ++i)
    {
        INFO("observation " << i);
        original.observe(metrics[i]);
        resumed.observe(metrics[i]);
        CHECK(resumed(i) == original(i));
        CHECK(resumed.reductions() == original.reductions());
    }

    std::stringstream foreign;
    xtrain::BinaryWriter fw(foreign);
    fw.write_tag("StepLR");
    xtrain::BinaryReader fr(foreign, "memory");
    CHECK_THROWS_AS(resumed.load(fr), xtrain::checkpoint_error);
    CHECK(resumed(0) == original(0)); // a refused load changes nothing
}

TEST_CASE("Schedule traits: what the trainer can detect", "[optim][schedules]")
{
    const auto lambda = [](std::size_t t) { return 0.1 / (1.0 + static_cast<double>(t)); };
    static_assert(xtrain::is_schedule_v<FixedLR>);
    static_assert(xtrain::is_schedule_v<OneCycleLR>);
    static_assert(xtrain::is_schedule_v<decltype(lambda)>);
    static_assert(xtrain::is_schedule_v<ReduceLROnPlateau>);
    static_assert(!xtrain::is_schedule_v<int>);
    static_assert(!xtrain::is_schedule_v<xtrain::SGD>);
    static_assert(xtrain::has_observe_v<ReduceLROnPlateau>);
    static_assert(!xtrain::has_observe_v<FixedLR>);
    static_assert(!xtrain::has_observe_v<LinearWarmup<FixedLR>>);
    static_assert(xtrain::has_observe_v<LinearWarmup<ReduceLROnPlateau>>);
    static_assert(xtrain::has_observe_v<SequentialLR<FixedLR, ReduceLROnPlateau>>);
    static_assert(!xtrain::has_observe_v<SequentialLR<FixedLR, StepLR>>);
    CHECK(xtrain::check_schedule<decltype(lambda)>());

    // observe() reaches a wrapped plateau schedule.
    LinearWarmup warm(ReduceLROnPlateau(1.0, xtrain::PlateauMode::min, 0.5, 0), 2, 0.5);
    CHECK(warm(0) == 0.5);
    warm.observe(1.0);
    warm.observe(2.0);
    CHECK(warm(5) == 0.5);
    CHECK(warm.inner().reductions() == 1);
    const LinearWarmup with_lambda(lambda, 2, 0.0);
    CHECK(with_lambda(1) == rate(0.5 * 0.05));
}

TEST_CASE("Batch-size scaling rules", "[optim][schedules]")
{
    CHECK(xtrain::linear_scaled_lr(0.1, 1024, 256) == rate(0.4));
    CHECK(xtrain::linear_scaled_lr(0.1, 64, 256) == rate(0.025));
    CHECK(xtrain::sqrt_scaled_lr(1e-3, 1024, 256) == rate(2e-3));
    CHECK(xtrain::sqrt_scaled_lr(1e-3, 64, 256) == rate(5e-4));
}

TEST_CASE("Invalid schedule arguments throw std::invalid_argument naming them", "[optim][schedules][validation]")
{
    struct Case
    {
        void (*make)();
        const char* field;
        const char* value;
    };
    const std::vector<Case> cases = {
        {[] { (void)FixedLR(-1.0); }, "lr", "got -1"},
        {[] { (void)FixedLR(std::numeric_limits<double>::quiet_NaN()); }, "lr", "got nan"},
        {[] { (void)StepLR(0.1, 0); }, "step_size", "got 0"},
        {[] { (void)StepLR(0.1, 5, -0.5); }, "gamma", "got -0.5"},
        {[] { (void)MultiStepLR(-0.1, {1}); }, "lr", "got -0.1"},
        {[] { (void)ExponentialLR(0.1, std::numeric_limits<double>::infinity()); }, "gamma", "got inf"},
        {[] { (void)CosineAnnealingLR(0.1, 0); }, "t_max", "got 0"},
        {[] { (void)CosineAnnealingLR(0.1, 10, -0.5); }, "eta_min", "got -0.5"},
        {[] { (void)CosineAnnealingWarmRestarts(0.1, 0); }, "t_0", "got 0"},
        {[] { (void)CosineAnnealingWarmRestarts(0.1, 10, 0); }, "t_mult", "got 0"},
        {[] { (void)OneCycleLR(0.1, 0); }, "total_steps", "got 0"},
        {[] { (void)OneCycleLR(0.1, 10, 1.5); }, "pct_start", "got 1.5"},
        {[] { (void)OneCycleLR(0.1, 10, 0.3, xtrain::Anneal::cos, 0.0); }, "div_factor", "got 0"},
        {[] { (void)OneCycleLR(0.1, 10, 0.3, xtrain::Anneal::cos, 25.0, -1.0); }, "final_div_factor", "got -1"},
        {[] { (void)LinearWarmup(FixedLR(0.1), 5, 1.5); }, "start_factor", "got 1.5"},
        {[] { (void)ReduceLROnPlateau(0.1, xtrain::PlateauMode::min, 1.0); }, "factor", "got 1"},
        {[] { (void)ReduceLROnPlateau(0.1, xtrain::PlateauMode::min, 0.1, 10, -1.0); }, "threshold", "got -1"},
        {[] { (void)xtrain::linear_scaled_lr(0.1, 0, 256); }, "batch_size", "got 0"},
        {[] { (void)xtrain::sqrt_scaled_lr(0.1, 32, 0); }, "base_batch_size", "got 0"},
        {[] { (void)xtrain::sqrt_scaled_lr(-0.1, 32, 32); }, "base_lr", "got -0.1"},
    };
    for (const Case& c : cases)
    {
        const std::string msg = invalid_message(c.make);
        INFO(msg);
        CHECK(msg.find(c.field) != std::string::npos);
        CHECK(msg.find(c.value) != std::string::npos);
    }
}
