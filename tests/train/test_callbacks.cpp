// Tests of the built-in callbacks and of hook detection.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "train_fixtures.hpp"
#include "xtrain/xtrain.hpp"  // here, so that the first snippet of docs/training.md, which includes it, can sit in a test

using namespace xtrain;
using xtrain::test::LinearRegression;
using xtrain::test::make_blobs;
using xtrain::test::make_regression;
using xtrain::test::Softmax;

namespace
{
    Optimizer<SGD> sgd(double lr)
    {
        SGD h;
        h.lr = lr;
        return Optimizer<SGD>(h);
    }

    std::string tmp_path(const std::string& name)
    {
        return std::string(XTRAIN_TEST_TMP_DIR) + "/" + name;
    }

    std::vector<std::string> read_lines(const std::string& path)
    {
        std::ifstream in(path);
        std::vector<std::string> lines;
        for (std::string line; std::getline(in, line);)
        {
            lines.push_back(line);
        }
        return lines;
    }

    // A schedule written by a user: halve the rate every 3 indices.
    struct Halving
    {
        double lr0 = 0.08;
        double operator()(std::size_t t) const { return lr0 / static_cast<double>(1U << (t / 3)); }
    };

    // A metric-driven schedule: counts what it observes.
    struct Watching
    {
        std::vector<double> seen;
        double operator()(std::size_t) const { return 0.01; }
        void observe(double metric) { seen.push_back(metric); }
    };

    // Records, at every on_gradient call, the updates done so far and whether the gradient handed
    // over is the model's gradient on that batch at the parameters of that moment (recomputed on
    // a copy): true only if the hook runs before the update that uses the gradient.
    struct GradientTiming
    {
        std::vector<std::uint64_t> steps_seen;
        std::size_t current = 0;
        std::size_t stale = 0;
        template <class Tr, class B, class G>
        void on_gradient(Tr& t, const B& batch, const G& grad)
        {
            steps_seen.push_back(t.step());
            auto copy = t.model();
            xt::xtensor<double, 1> g = copy.parameters().zeros_like();
            copy.loss_and_gradient(batch, g);
            (g == grad ? current : stale) += 1;
        }
    };

    struct OnlyGradient
    {
        double last_norm = 0.0;
        std::size_t calls = 0;
        template <class Tr, class B, class G>
        void on_gradient(Tr&, const B& batch, const G& grad)
        {
            double s = 0.0;
            for (auto v : grad)
            {
                s += static_cast<double>(v) * static_cast<double>(v);
            }
            last_norm = std::sqrt(s);
            calls += batch.size > 0 ? 1 : 0;
        }
    };

    struct NoHooks
    {
        int x = 0;
    };
}

TEST_CASE("hooks are detected by signature", "[train][callbacks]")
{
    using T = Trainer<LinearRegression<double>, Optimizer<SGD>, BatchSampler<dynamic>>;
    STATIC_REQUIRE(is_callback_v<DivergenceGuard, T>);
    STATIC_REQUIRE(is_callback_v<OnlyGradient, T>);
    STATIC_REQUIRE_FALSE(is_callback_v<NoHooks, T>);
    STATIC_REQUIRE(has_checkpoint_state_v<EarlyStopping>);
    STATIC_REQUIRE_FALSE(has_checkpoint_state_v<ProgressBar>);
}

TEST_CASE("on_gradient sees every micro-batch's gradient before the update", "[train][callbacks]")
{
    const auto data = make_regression<double>(64, 3, 1);
    Trainer t(LinearRegression<double>(3), sgd(0.05), BatchSampler<dynamic>(64, 8), OnlyGradient{}, GradientTiming{});
    t.options().accumulation_steps = 2;
    t.fit(data, Budget::epochs(1));
    CHECK(t.callback<OnlyGradient>().calls == 8);
    CHECK(t.step() == 4);
    CHECK(t.callback<OnlyGradient>().last_norm > 0.0);
    // Two micro-batches per update: both are seen while the update count is still that of the
    // previous update, and each gradient is the one at the parameters not yet updated.
    const GradientTiming& timing = t.callback<GradientTiming>();
    CHECK(timing.steps_seen == std::vector<std::uint64_t>{0, 0, 1, 1, 2, 2, 3, 3});
    CHECK(timing.current == 8);
    CHECK(timing.stale == 0);
}

TEST_CASE("a diverging learning rate marks the run diverged, without an exception", "[train][callbacks]")
{
    const auto data = make_regression<double>(128, 4, 1);
    Trainer t(LinearRegression<double>(4), sgd(50.0), BatchSampler<dynamic>(128, 16), DivergenceGuard());
    const History* h = nullptr;
    REQUIRE_NOTHROW(h = &t.fit(data, Budget::epochs(200)));
    CHECK(t.status() == RunStatus::diverged);
    CHECK_THAT(t.status_message(), Catch::Contains("stayed above 3 x its start") || Catch::Contains("the loss became"));
    CHECK(t.step() < 1000);
    // The last evaluation row is the point of divergence.
    CHECK(h->evals.back().step == t.step());
    // fit() again does nothing: a diverged run stays diverged.
    const auto steps = t.step();
    t.fit(data, Budget::epochs(300));
    CHECK(t.step() == steps);
    CHECK_THROWS_WITH(DivergenceGuard(1.0), Catch::Contains("factor must be > 1 (got 1)"));
    DivergenceRule bad;
    bad.smoothing_examples = 0.5;
    CHECK_THROWS_WITH(DivergenceGuard(bad), Catch::Contains("smoothing_examples must be finite and >= 1 (got 0.5)"));
}

namespace
{
    // A model whose batch loss follows a script, update by update (repeating its last value), and
    // whose gradient is zero except on the tensors listed in `moving`: drives the divergence guard
    // through chosen losses and chosen parameter changes.
    class ScriptedLoss
    {
    public:
        using value_type = double;
        // With @p w_every > 0, "w" also moves on every w_every-th call (a unit alive for a few examples).
        // It predicts class 0 for every sample, or the true class for the first @p right of every batch.
        ScriptedLoss(std::vector<double> losses, std::vector<std::string> moving = {"b"}, std::size_t w_every = 0,
                     std::size_t right = 0)
            : m_losses(std::move(losses))
            , m_moving(std::move(moving))
            , m_w_every(w_every)
            , m_right(right)
        {
            ParamLayout l;
            l.add("w", {6});
            l.add("b", {2});
            m_params = ParamBuffer<double>(l);
        }
        ParamBuffer<double>& parameters() { return m_params; }
        const ParamBuffer<double>& parameters() const { return m_params; }
        double loss_and_gradient(const Batch<double>&, xt::xtensor<double, 1>& grad)
        {
            grad.fill(0.0);
            for (const auto& name : m_moving)
            {
                const Segment& s = m_params.layout()[m_params.layout().index_of(name)];
                for (std::size_t i = s.offset; i < s.offset + s.size; ++i)
                {
                    grad(i) = 1.0;
                }
            }
            if (m_w_every != 0 && (m_calls + 1) % m_w_every == 0)
            {
                grad(0) = 1.0;
            }
            const std::size_t i = std::min(m_calls++, m_losses.size() - 1);
            return m_losses[i];
        }
        double loss(const Batch<double>&) const { return m_losses.front(); }
        void predict(const Batch<double>& b, label_type* out) const
        {
            for (std::size_t i = 0; i < b.size; ++i)
            {
                out[i] = i < m_right && b.labels != nullptr ? b.labels[i] : 0;
            }
        }

    private:
        std::vector<double> m_losses;
        std::vector<std::string> m_moving;
        std::size_t m_w_every = 0;
        std::size_t m_right = 0;
        std::size_t m_calls = 0;
        ParamBuffer<double> m_params;
    };

    std::vector<double> repeated(std::initializer_list<std::pair<double, std::size_t>> runs)
    {
        std::vector<double> v;
        for (const auto& [value, count] : runs)
        {
            v.insert(v.end(), count, value);
        }
        return v;
    }

    DivergenceRule rule_over(double smoothing_examples, double factor = 3.0)
    {
        DivergenceRule r;
        r.smoothing_examples = smoothing_examples;
        r.factor = factor;
        return r;
    }
}

TEST_CASE("one spike never stops a run, at any batch size", "[train][callbacks]")
{
    const auto data = make_regression<double>(80, 2, 1);
    // B = 8: the window is 512 updates (4096 examples). One batch at 100 x the start, or a burst of
    // 200 updates at 5 x, moves the smoothed loss, but not above 3 x for 512 updates in a row.
    for (const auto& script : {repeated({{1.0, 100}, {100.0, 1}, {0.5, 1}}),
                               repeated({{1.0, 100}, {5.0, 200}, {0.8, 1}})})
    {
        Trainer t(ScriptedLoss(script, {"w", "b"}), sgd(0.01), BatchSampler<dynamic>(80, 8), DivergenceGuard());
        t.fit(data, Budget::epochs(300));
        CHECK(t.status() == RunStatus::finished);
        CHECK(t.callback<DivergenceGuard>().start_loss() == 1.0);
    }
}

TEST_CASE("a smoothed loss above factor x its start for a whole window diverges", "[train][callbacks]")
{
    const auto data = make_regression<double>(80, 2, 1);
    // B = 8, smoothing over 256 examples: a window of 32 updates. The loss jumps to 4 x its start at
    // update 101; the window's mean passes 3 x once 22 of its 32 losses are 4 ((22 x 4 + 10) / 32 =
    // 3.06) and must stay there for 32 more updates, so the run is stopped at update 154.
    Trainer t(ScriptedLoss(repeated({{1.0, 100}, {4.0, 1}}), {"w", "b"}), sgd(0.01), BatchSampler<dynamic>(80, 8),
              DivergenceGuard(rule_over(256.0)));
    t.fit(data, Budget::epochs(100));
    CHECK(t.status() == RunStatus::diverged);
    CHECK(t.step() == 100 + 22 + 32 - 1);
    CHECK_THAT(t.status_message(), Catch::Contains("smoothed over 32 updates, stayed above 3 x its start 1 for 32 updates (256 examples"));
    // The same climb to 2.9 x never diverges.
    Trainer below(ScriptedLoss(repeated({{1.0, 100}, {2.9, 1}}), {"w", "b"}), sgd(0.01), BatchSampler<dynamic>(80, 8),
                  DivergenceGuard(rule_over(256.0)));
    below.fit(data, Budget::epochs(100));
    CHECK(below.status() == RunStatus::finished);
}

TEST_CASE("a huge first spike is forgotten once it leaves the window", "[train][callbacks]")
{
    // 200 samples at B = 8: 25 updates an epoch (Adam at B = 2048 on Fashion-MNIST has 25 too);
    // smoothing over 64 examples: a window of 8 updates. Seven updates at 600 x the start, then the
    // loss back at 2 x: an exponential average with the same time constant would stay above 3 x
    // for about 45 updates, more than an epoch, and stop a run that trains; the window's mean is
    // back below 3 x after 8 updates.
    const auto data = make_regression<double>(200, 2, 1);
    Trainer t(ScriptedLoss(repeated({{1.0, 4}, {600.0, 7}, {2.0, 1}}), {"w", "b"}), sgd(0.01),
              BatchSampler<dynamic>(200, 8), DivergenceGuard(rule_over(64.0)));
    t.fit(data, Budget::epochs(6));
    CHECK(t.status() == RunStatus::finished);
    CHECK(t.callback<DivergenceGuard>().start_loss() == 1.0);
    CHECK(t.callback<DivergenceGuard>().smoothed_loss() == 2.0);
    CHECK(t.callback<DivergenceGuard>().rule_steps()[static_cast<std::size_t>(DivergenceGuard::Rule::blow_up)] == 0);
}

TEST_CASE("a blow-up must last a whole epoch", "[train][callbacks]")
{
    // 400 samples at B = 8: 50 updates an epoch; smoothing over 64 examples: a window of 8 updates.
    // A climb to 4 x the start passes 3 x after about 9 updates, then must stay there for 50 more.
    const auto data = make_regression<double>(400, 2, 1);
    Trainer t(ScriptedLoss(repeated({{1.0, 100}, {4.0, 1}}), {"w", "b"}), sgd(0.01), BatchSampler<dynamic>(400, 8),
              DivergenceGuard(rule_over(64.0)));
    t.fit(data, Budget::epochs(20));
    CHECK(t.status() == RunStatus::diverged);
    CHECK(t.step() >= 100 + 50);
    CHECK(t.step() <= 100 + 50 + 20);
    // The same climb for 40 updates (less than an epoch) does not stop the run: it came back.
    Trainer back(ScriptedLoss(repeated({{1.0, 100}, {4.0, 40}, {0.9, 1}}), {"w", "b"}), sgd(0.01),
                 BatchSampler<dynamic>(400, 8), DivergenceGuard(rule_over(64.0)));
    back.fit(data, Budget::epochs(20));
    CHECK(back.status() == RunStatus::finished);
}

TEST_CASE("the start loss comes from the evaluation before the first update", "[train][callbacks]")
{
    const auto train = make_regression<double>(64, 3, 1);
    const auto val = make_regression<double>(32, 3, 2);
    Trainer t(LinearRegression<double>(3), sgd(0.01), BatchSampler<dynamic>(64, 8), DivergenceGuard());
    t.options().evaluate_at_start = true;
    t.fit(train, Budget::epochs(1), &val);
    REQUIRE(t.history().evals.front().step == 0);
    CHECK(t.callback<DivergenceGuard>().start_loss() == t.history().evals.front().val_loss);
    // Without it: the mean of the first updates covering 32 examples (4 batches of 8).
    Trainer u(ScriptedLoss({1.0, 2.0, 3.0, 6.0, 100.0}), sgd(0.01), BatchSampler<dynamic>(64, 8), DivergenceGuard());
    u.fit(train, Budget::steps(5));
    CHECK(u.callback<DivergenceGuard>().start_loss() == 3.0);
}

TEST_CASE("a network that is dead for a whole epoch is stopped as stalled", "[train][callbacks]")
{
    // 40 samples of 2 balanced classes: chance is 0.5. ScriptedLoss predicts class 0 for every
    // sample: a constant prediction, at chance.
    auto data = make_blobs<double>(40, 2, 2, 1);
    for (std::size_t i = 0; i < 40; ++i)
    {
        data.labels(i) = static_cast<label_type>(i % 2);
    }
    const double chance = chance_accuracy(data);
    REQUIRE(chance == 0.5);
    DivergenceRule rule;
    rule.chance_accuracy = chance;
    rule.stop_nearly_dead = false;  // the provable rule alone (the nearly-dead one: below)
    auto fit = [&](ScriptedLoss model, DivergenceRule r, const Dataset<double>* validation = nullptr) {
        auto t = std::make_unique<Trainer<ScriptedLoss, Optimizer<SGD>, BatchSampler<dynamic>, DivergenceGuard>>(
            std::move(model), sgd(0.1), BatchSampler<dynamic>(40, 10), DivergenceGuard(r));
        t->options().evals_per_epoch = 4;
        t->options().evaluate_at_start = true;  // the start loss: the loss before training
        t->fit(data, Budget::epochs(10), validation);
        return t;
    };

    // Only the output bias "b" (2 values, the last tensor) moves, all epoch long: dead.
    auto dead = fit(ScriptedLoss({2.3}, {"b"}), rule, &data);
    CHECK(dead->status() == RunStatus::stalled);
    CHECK(dead->examples_seen() == 40);
    CHECK_THAT(dead->status_message(), Catch::Contains("over the whole of epoch 1 (steps 1 to 4) its gradient was zero "
                                                       "but for at most 2 entries and only 2 of its 8 trainable "
                                                       "parameters changed; its validation accuracy 0.5 is no better "
                                                       "than chance 0.5"));
    CHECK_THAT(dead->status_message(), Catch::Contains("dead network"));

    // The same network scoring above chance is frozen, not dead (a saturated softmax): it goes on.
    auto frozen_above = fit(ScriptedLoss({2.3}, {"b"}, 0, /* right */ 40), rule, &data);
    CHECK(frozen_above->status() == RunStatus::finished);
    // Without a validation set, or without a chance level, there is no proof: it goes on.
    CHECK(fit(ScriptedLoss({2.3}, {"b"}), rule)->status() == RunStatus::finished);
    CHECK(fit(ScriptedLoss({2.3}, {"b"}), DivergenceRule{}, &data)->status() == RunStatus::finished);

    // A weight that moves only for one example of the epoch keeps the network alive: over any
    // stretch shorter than a whole epoch it would look dead.
    CHECK(fit(ScriptedLoss({2.3}, {"b"}, 4), rule, &data)->status() == RunStatus::finished);

    // Every tensor moving: never stalled, however flat the loss.
    CHECK(fit(ScriptedLoss({2.3}, {"w", "b"}), rule, &data)->status() == RunStatus::finished);

    // A frozen tensor (lr_scale 0) with a gradient is a live network told not to move it.
    ScriptedLoss frozen_model({2.3}, {"w", "b"});
    frozen_model.parameters().layout().set_lr_scale("w", 0.0);
    CHECK(fit(std::move(frozen_model), rule, &data)->status() == RunStatus::finished);

    // Parameters that do not change are no proof on their own: a gradient whose steps are too small
    // to change a double (here through a tiny lr_scale) is still a live network.
    ScriptedLoss underflow({2.3}, {"w", "b"});
    underflow.parameters().layout().set_lr_scale("w", 1e-300);
    underflow.parameters().values().fill(1.0);  // 1 - 1e-301 is 1
    CHECK(fit(std::move(underflow), rule, &data)->status() == RunStatus::finished);

    // Nearly dead: the weight moves on one update in four (a unit alive for a few examples), the
    // predictions are at chance and the loss flat: not provably dead, but nearly, and stopped as
    // such unless only the provable rules are asked for (the guard notes it either way).
    DivergenceRule nearly = rule;
    nearly.stop_nearly_dead = true;
    auto almost = fit(ScriptedLoss({2.3}, {"b"}, 4), nearly, &data);
    CHECK(almost->status() == RunStatus::stalled);
    CHECK(almost->examples_seen() == 40);
    CHECK_THAT(almost->status_message(), Catch::Contains("nearly dead: over the whole of epoch 1, 75 % of its updates "
                                                         "reached no live unit"));
    auto provable = fit(ScriptedLoss({2.3}, {"b"}, 4), rule, &data);
    CHECK(provable->status() == RunStatus::finished);
    const auto& steps = provable->callback<DivergenceGuard>().rule_steps();
    CHECK(steps[static_cast<std::size_t>(DivergenceGuard::Rule::nearly_dead)] == 4);
    CHECK(steps[static_cast<std::size_t>(DivergenceGuard::Rule::dead)] == 0);
    // Half the updates dead is below a share of 0.6; above chance is not nearly dead either.
    DivergenceRule stricter = nearly;
    stricter.dead_update_share = 0.6;
    CHECK(fit(ScriptedLoss({2.3}, {"b"}, 2), stricter, &data)->status() == RunStatus::finished);
    CHECK(fit(ScriptedLoss({2.3}, {"b"}, 2), nearly, &data)->status() == RunStatus::stalled);
    CHECK(fit(ScriptedLoss({2.3}, {"b"}, 4, 40), nearly, &data)->status() == RunStatus::finished);
    // A loss that descends (a slow rate) is never nearly dead.
    CHECK(fit(ScriptedLoss(repeated({{2.3, 1}, {2.0, 1}}), {"b"}, 4), nearly, &data)->status() == RunStatus::finished);

    // The rule can be switched off; a stricter limit counts the bias as alive.
    DivergenceRule off = rule;
    off.stop_dead = false;
    CHECK(fit(ScriptedLoss({2.3}, {"b"}), off, &data)->status() == RunStatus::finished);
    DivergenceRule strict = rule;
    strict.live_parameter_limit = 1;
    CHECK(fit(ScriptedLoss({2.3}, {"b"}), strict, &data)->status() == RunStatus::finished);
}

TEST_CASE("NaN losses are caught at once", "[train][callbacks]")
{
    auto data = make_regression<double>(32, 2, 1);
    data.targets(5, 0) = std::numeric_limits<double>::quiet_NaN();
    Trainer t(LinearRegression<double>(2), sgd(0.01), BatchSampler<dynamic>(32, 32), DivergenceGuard());
    t.fit(data, Budget::epochs(3));
    CHECK(t.status() == RunStatus::diverged);
    CHECK_THAT(t.status_message(), Catch::Contains("the loss became nan at step 1"));
}

TEST_CASE("early stopping stops after `patience` evaluations without improvement", "[train][callbacks]")
{
    const auto train = make_blobs<double>(200, 4, 3, 1);
    const auto val = make_blobs<double>(100, 4, 3, 2);
    // A zero learning rate never improves: the run stops after 1 + patience evaluations.
    Trainer t(Softmax<double>(4, 3), sgd(0.0), BatchSampler<dynamic>(200, 50), EarlyStopping(Monitor::val_loss, 2));
    t.fit(train, Budget::epochs(50), &val);
    CHECK(t.status() == RunStatus::stopped);
    CHECK(t.epoch() == 3);
    CHECK_THAT(t.status_message(), Catch::Contains("no improvement for 2 evaluations"));
    // With learning, it runs to the budget.
    Trainer u(Softmax<double>(4, 3), sgd(0.5), BatchSampler<dynamic>(200, 50), EarlyStopping(Monitor::val_accuracy, 5));
    u.fit(train, Budget::epochs(5), &val);
    CHECK(u.status() == RunStatus::finished);
}

TEST_CASE("LrScheduler applies a schedule per step or per epoch and the history records it", "[train][callbacks]")
{
    // 40 samples in batches of 10: 4 updates per epoch. Halving halves the rate every 3 indices, so
    // indexed by update it changes inside an epoch, indexed by epoch only when an epoch starts.
    const auto data = make_regression<double>(40, 2, 1);
    auto rates = [](const History& h) {
        std::vector<double> lrs;
        for (const auto& s : h.steps)
        {
            lrs.push_back(s.lr);
        }
        return lrs;
    };
    SECTION("per step: the index is the update's")
    {
        Trainer t(LinearRegression<double>(2), sgd(1.0), BatchSampler<dynamic>(40, 10), LrScheduler<Halving>(Halving{}));
        const History& h = t.fit(data, Budget::steps(8));
        CHECK(rates(h) == std::vector<double>{0.08, 0.08, 0.08, 0.04, 0.04, 0.04, 0.02, 0.02});
    }
    SECTION("per epoch: the index is the epoch's, the rate holds for all its updates")
    {
        Trainer t(LinearRegression<double>(2), sgd(1.0), BatchSampler<dynamic>(40, 10),
                  LrScheduler<Halving>(Halving{}, ScheduleUnit::epoch));
        const History& h = t.fit(data, Budget::epochs(7));
        std::vector<double> expected(12, 0.08);    // epochs 0-2
        expected.insert(expected.end(), 12, 0.04); // epochs 3-5
        expected.insert(expected.end(), 4, 0.02);  // epoch 6
        CHECK(rates(h) == expected);
        for (const auto& s : h.steps)
        {
            CHECK(s.lr == Halving{}(static_cast<std::size_t>(s.epoch)));
        }
    }
    SECTION("a metric-driven schedule observes each epoch's loss; the last scheduler sets the rate")
    {
        Trainer t(LinearRegression<double>(2), sgd(1.0), BatchSampler<dynamic>(40, 10),
                  LrScheduler<Halving>(Halving{}, ScheduleUnit::epoch), LrScheduler<Watching>(Watching{}, ScheduleUnit::epoch));
        const History& h = t.fit(data, Budget::epochs(4));
        // The second scheduler runs last and wins: 0.01 everywhere.
        CHECK(rates(h) == std::vector<double>(16, 0.01));
        const auto& seen = t.callback<1>().schedule().seen;
        REQUIRE(seen.size() == 4);
        REQUIRE(h.evals.size() == 4);
        for (std::size_t e = 0; e < 4; ++e)
        {
            CHECK(seen[e] == h.evals[e].train_loss);  // no validation set: the running training loss
        }
    }
}

namespace
{
    // Runs after the CsvLogger: what its files hold at each evaluation (lines, header included).
    struct FilesAtEvaluation
    {
        std::string evals;
        std::string steps;
        std::vector<std::size_t> eval_lines;
        std::vector<std::size_t> step_lines;
        template <class Tr>
        void on_evaluate(Tr&, const EvalRecord&)
        {
            eval_lines.push_back(read_lines(evals).size());
            step_lines.push_back(read_lines(steps).size());
        }
    };
}

TEST_CASE("CsvLogger writes every evaluation row as it happens", "[train][callbacks]")
{
    const auto train = make_blobs<float>(90, 3, 3, 1);
    const auto val = make_blobs<float>(30, 3, 3, 2);
    const std::string evals = tmp_path("evals.csv");
    const std::string steps = tmp_path("steps.csv");
    Trainer t(Softmax<float>(3, 3), sgd(0.1), BatchSampler<dynamic>(90, 30), CsvLogger(evals, steps),
              FilesAtEvaluation{evals, steps, {}, {}});
    t.fit(train, Budget::epochs(2), &val);
    // On disk during the run, not only at its end: each evaluation's row, and the step rows
    // before it (3 updates per epoch), are in the files when the next callback runs.
    CHECK(t.callback<1>().eval_lines == std::vector<std::size_t>{2, 3});
    CHECK(t.callback<1>().step_lines == std::vector<std::size_t>{4, 7});
    const auto e = read_lines(evals);
    REQUIRE(e.size() == 3);
    CHECK(e[0] == "epoch,step,examples_seen,train_loss,val_loss,val_accuracy,lr,wall_seconds");
    CHECK(e[2].rfind("2,6,180,", 0) == 0);
    const auto s = read_lines(steps);
    REQUIRE(s.size() == 7);
    CHECK(s[0] == "step,epoch,examples_seen,loss,lr,wall_seconds");
    CHECK(s[6].rfind("6,1,180,", 0) == 0);
    // The same rows as History::write_evals_csv.
    std::ostringstream os;
    t.history().write_evals_csv(os);
    std::ostringstream joined;
    for (const auto& line : e)
    {
        joined << line << '\n';
    }
    CHECK(os.str() == joined.str());
    CHECK_THROWS_AS(t.history().write_evals_csv(std::string("/nonexistent-dir/x.csv")), std::runtime_error);
}

TEST_CASE("CsvLogger after a resume: appends to its files, or starts new ones with header and history",
          "[train][callbacks][checkpoint]")
{
    const auto train = make_blobs<float>(90, 3, 3, 1);
    const auto val = make_blobs<float>(30, 3, 3, 2);
    const std::string ckpt = tmp_path("csv_resume.ckpt");
    const std::string evals = tmp_path("csv_resume_evals.csv");
    const std::string steps = tmp_path("csv_resume_steps.csv");
    {
        Trainer first(Softmax<float>(3, 3), sgd(0.1), BatchSampler<dynamic>(90, 30), CsvLogger(evals, steps));
        first.fit(train, Budget::epochs(1), &val);
        first.save_checkpoint(ckpt);
    }
    Trainer whole(Softmax<float>(3, 3), sgd(0.1), BatchSampler<dynamic>(90, 30),
                  CsvLogger(tmp_path("csv_whole_evals.csv"), tmp_path("csv_whole_steps.csv")));
    whole.fit(train, Budget::epochs(2), &val);
    const auto whole_evals = read_lines(tmp_path("csv_whole_evals.csv"));
    const auto whole_steps = read_lines(tmp_path("csv_whole_steps.csv"));
    REQUIRE(whole_evals.size() == 3);
    REQUIRE(whole_steps.size() == 7);
    const auto without_wall = [](std::vector<std::string> lines) {
        for (auto& l : lines)
        {
            l = l.substr(0, l.rfind(','));  // wall_seconds is the last column
        }
        return lines;
    };

    SECTION("into the same files: the rows are appended")
    {
        Trainer second(Softmax<float>(3, 3), sgd(0.1), BatchSampler<dynamic>(90, 30), CsvLogger(evals, steps));
        second.load_checkpoint(ckpt);
        second.fit(train, Budget::epochs(2), &val);
        CHECK(without_wall(read_lines(evals)) == without_wall(whole_evals));
        CHECK(without_wall(read_lines(steps)) == without_wall(whole_steps));
    }
    SECTION("into new files: each starts with its header and the checkpoint's rows")
    {
        const std::string evals2 = tmp_path("csv_resume_evals2.csv");
        const std::string steps2 = tmp_path("csv_resume_steps2.csv");
        std::remove(evals2.c_str());
        std::remove(steps2.c_str());
        Trainer second(Softmax<float>(3, 3), sgd(0.1), BatchSampler<dynamic>(90, 30), CsvLogger(evals2, steps2));
        second.load_checkpoint(ckpt);
        second.fit(train, Budget::epochs(2), &val);
        CHECK(without_wall(read_lines(evals2)) == without_wall(whole_evals));
        CHECK(without_wall(read_lines(steps2)) == without_wall(whole_steps));
    }
}

TEST_CASE("CsvLogger: a file that cannot be written stops training, naming it", "[train][callbacks]")
{
    const auto train = make_blobs<float>(90, 3, 3, 1);
    Trainer bad_dir(Softmax<float>(3, 3), sgd(0.1), BatchSampler<dynamic>(90, 30),
                    CsvLogger("/nonexistent-dir/evals.csv"));
    CHECK_THROWS_WITH(bad_dir.fit(train, Budget::epochs(1)),
                      Catch::Contains("cannot open '/nonexistent-dir/evals.csv' for writing"));
    if (std::filesystem::exists("/dev/full"))  // Linux: every write fails with ENOSPC
    {
        Trainer full(Softmax<float>(3, 3), sgd(0.1), BatchSampler<dynamic>(90, 30), CsvLogger("/dev/full"));
        CHECK_THROWS_WITH(full.fit(train, Budget::epochs(1)), Catch::Contains("cannot write '/dev/full'"));
    }
}

TEST_CASE("docs/training.md: the first snippet", "[train][docs]")
{
    const auto train = make_blobs<float>(640, 3, 3, 5);
    const auto validation = make_blobs<float>(200, 3, 3, 6);
    const Softmax<float> model(3, 3);
    const std::string dir = tmp_path("first_snippet");
    std::filesystem::create_directories(dir);
    const auto cwd = std::filesystem::current_path();
    std::filesystem::current_path(dir);  // the snippet writes evals.csv where it runs
    #include "doc_snippets/training-first.inc"
    std::filesystem::current_path(cwd);
    CHECK(history.evals.size() == 5);
    CHECK(trainer.step() == 5 * 10);
    CHECK(history.evals.back().val_accuracy > 0.8);
    CHECK(read_lines(dir + "/evals.csv").size() == 6);
}

TEST_CASE("docs/training.md: BatchSizeScheduler", "[train][callbacks][docs]")
{
    const auto train = make_blobs<float>(4000, 3, 3, 5);
    const auto validation = make_blobs<float>(500, 3, 3, 6);
    const Softmax<float> model(3, 3);
    SGD h;
    h.lr = 0.1;
    h.momentum = 0.9;
    #include "doc_snippets/training-batch-size-scheduler.inc"
    // ceil(4000 / 128) = 32, ceil(4000 / 640) = 7, ceil(4000 / 3200) = 2 updates per epoch.
    CHECK(trainer.step() == 4 * 32 + 4 * 7 + 4 * 2);
    CHECK(trainer.examples_seen() == 12 * 4000);
    CHECK(trainer.history().evals.back().val_accuracy > 0.8);
    CHECK(trainer.sampler().batch_size() == 3200);  // the size of the last epochs
}

namespace
{
    // Runs f with stderr (file descriptor 2) sent to a file, and returns what was written there.
    // A ProgressBar constructed inside f sees a stderr that is not a terminal, however the tests run.
    template <class F>
    std::string capture_stderr(const std::string& path, F f)
    {
        std::fflush(stderr);
        const int saved = dup(2);
        REQUIRE(saved >= 0);
        std::FILE* file = std::fopen(path.c_str(), "w");
        REQUIRE(file != nullptr);
        REQUIRE(dup2(fileno(file), 2) == 2);
        std::fclose(file);
        f();
        std::fflush(stderr);
        dup2(saved, 2);
        close(saved);
        std::ifstream in(path);
        std::ostringstream text;
        text << in.rdbuf();
        return text.str();
    }
}

TEST_CASE("the progress bar is silent when stderr is not a terminal, and draws when forced", "[train][callbacks]")
{
    const auto train = make_blobs<double>(60, 3, 3, 1);
    const auto val = make_blobs<double>(30, 3, 3, 2);
    auto fit_with = [&](ProgressBar bar) {
        Trainer t(Softmax<double>(3, 3), sgd(0.1), BatchSampler<dynamic>(60, 20), bar);
        t.fit(train, Budget::epochs(2), &val);
        CHECK(t.step() == 6);
    };
    // min_interval 0: every update would redraw.
    const std::string off = capture_stderr(tmp_path("progress-off.txt"), [&] {
        const ProgressBar bar(0.0);
        CHECK_FALSE(bar.enabled());
        fit_with(bar);
    });
    CHECK(off.empty());
    const std::string forced = capture_stderr(tmp_path("progress-forced.txt"), [&] {
        const ProgressBar bar(0.0, true);
        CHECK(bar.enabled());
        fit_with(bar);
    });
    CHECK_THAT(forced, Catch::Contains("\repoch 1 [") && Catch::Contains("step 3") && Catch::Contains("val acc"));
    CHECK(std::count(forced.begin(), forced.end(), '\n') == 2);  // one line per evaluation
}
