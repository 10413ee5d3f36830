// Tests of the training loop: budgets, history, accumulation, determinism, evaluation, checkpoints.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/alloc_counter.hpp"
#include "xtrain/model/mlp.hpp"
#include "train_fixtures.hpp"

using namespace xtrain;
using xtrain::test::LinearRegression;
using xtrain::test::make_blobs;
using xtrain::test::make_regression;
using xtrain::test::Softmax;

namespace
{
    template <class T>
    Optimizer<SGD> sgd(double lr, double momentum = 0.0)
    {
        SGD h;
        h.lr = lr;
        h.momentum = momentum;
        return Optimizer<SGD>(h);
    }

    std::string tmp_path(const std::string& name)
    {
        return std::string(XTRAIN_TEST_TMP_DIR) + "/" + name;
    }

    // Histories compared field by field, except wall time.
    void require_same_history(const History& a, const History& b)
    {
        REQUIRE(a.steps.size() == b.steps.size());
        for (std::size_t i = 0; i < a.steps.size(); ++i)
        {
            REQUIRE(a.steps[i].step == b.steps[i].step);
            REQUIRE(a.steps[i].epoch == b.steps[i].epoch);
            REQUIRE(a.steps[i].examples_seen == b.steps[i].examples_seen);
            REQUIRE(a.steps[i].loss == b.steps[i].loss);
            REQUIRE(a.steps[i].lr == b.steps[i].lr);
        }
        REQUIRE(a.evals.size() == b.evals.size());
        for (std::size_t i = 0; i < a.evals.size(); ++i)
        {
            REQUIRE(a.evals[i].step == b.evals[i].step);
            REQUIRE(a.evals[i].epoch == b.evals[i].epoch);
            REQUIRE(a.evals[i].examples_seen == b.evals[i].examples_seen);
            REQUIRE(a.evals[i].train_loss == b.evals[i].train_loss);
            REQUIRE((a.evals[i].val_loss == b.evals[i].val_loss
                     || (std::isnan(a.evals[i].val_loss) && std::isnan(b.evals[i].val_loss))));
            REQUIRE((a.evals[i].val_accuracy == b.evals[i].val_accuracy
                     || (std::isnan(a.evals[i].val_accuracy) && std::isnan(b.evals[i].val_accuracy))));
            REQUIRE(a.evals[i].lr == b.evals[i].lr);
        }
    }

    template <class T>
    bool same_values(const ParamBuffer<T>& a, const ParamBuffer<T>& b)
    {
        return a.size() == b.size() && std::equal(a.values().begin(), a.values().end(), b.values().begin());
    }

}

TEMPLATE_TEST_CASE("the trainer fits a linear regression to the noise floor", "[train]", float, double)
{
    const auto data = make_regression<TestType>(512, 4, 1, 0.1);
    Trainer trainer(LinearRegression<TestType>(4), sgd<TestType>(0.1), BatchSampler<16>(512, SamplerOptions::shuffled(7)));
    const History& h = trainer.fit(data, Budget::epochs(10));
    CHECK(trainer.status() == RunStatus::finished);
    // The loss is half the mean squared residual: the noise floor is 0.1^2 / 2 = 0.005.
    CHECK(h.evals.back().train_loss < 0.0075);
    CHECK(h.evals.front().train_loss > h.evals.back().train_loss);
    const auto& w = trainer.model().parameters().values();
    for (std::size_t j = 0; j < 4; ++j)
    {
        CHECK(static_cast<double>(w(j)) == Approx((j + 1.0) / 4.0).epsilon(0).margin(0.03));
    }
    CHECK(static_cast<double>(w(4)) == Approx(0.5).epsilon(0).margin(0.03));
}

TEST_CASE("budgets count epochs, updates or examples, and history rows follow", "[train]")
{
    const auto data = make_regression<double>(100, 3, 2);
    SECTION("epochs: ceil(N / B) updates per epoch, one evaluation row per epoch")
    {
        Trainer t(LinearRegression<double>(3), sgd<double>(0.05), BatchSampler<dynamic>(100, 32));
        const History& h = t.fit(data, Budget::epochs(3));
        CHECK(t.updates_per_epoch() == 4);
        CHECK(t.step() == 12);
        CHECK(t.epoch() == 3);
        CHECK(t.examples_seen() == 300);
        REQUIRE(h.steps.size() == 12);
        CHECK(h.steps[3].examples_seen == 100); // the fourth update is the partial batch of 4
        CHECK(h.steps[4].epoch == 1);
        REQUIRE(h.evals.size() == 3);
        CHECK(h.evals[1].step == 8);
        CHECK(h.evals[1].epoch == 2);
        CHECK(h.evals[1].lr == 0.05);
        // No validation set: validation metrics are NaN.
        CHECK(std::isnan(h.evals[1].val_loss));
    }
    SECTION("drop_last: floor(N / B) updates per epoch")
    {
        Trainer t(LinearRegression<double>(3), sgd<double>(0.05), BatchSampler<32>(100, SamplerOptions::shuffled(0).dropping_last()));
        t.fit(data, Budget::epochs(2));
        CHECK(t.step() == 6);
        CHECK(t.examples_seen() == 192);
    }
    SECTION("steps: stops mid-epoch and records a final evaluation there")
    {
        Trainer t(LinearRegression<double>(3), sgd<double>(0.05), BatchSampler<dynamic>(100, 32));
        const History& h = t.fit(data, Budget::steps(6));
        CHECK(t.step() == 6);
        CHECK(t.epoch() == 1);
        REQUIRE(h.evals.size() == 2);
        CHECK(h.evals.back().step == 6);
        // fit() again with a larger total continues where it stopped.
        t.fit(data, Budget::steps(10));
        CHECK(t.step() == 10);
        CHECK(t.history().steps.size() == 10);
    }
    SECTION("samples: stops at the first update that reaches the count")
    {
        Trainer t(LinearRegression<double>(3), sgd<double>(0.05), BatchSampler<dynamic>(100, 32));
        t.fit(data, Budget::samples(150));
        CHECK(t.examples_seen() == 164); // 32 + 32 + 32 + 4, then 32 + 32
        CHECK(t.step() == 6);
    }
    SECTION("evaluation every N steps")
    {
        Trainer t(LinearRegression<double>(3), sgd<double>(0.05), BatchSampler<dynamic>(100, 10));
        t.options().eval_every_steps = 4;
        const History& h = t.fit(data, Budget::epochs(1));
        std::vector<std::uint64_t> at;
        for (const auto& e : h.evals)
        {
            at.push_back(e.step);
        }
        CHECK(at == std::vector<std::uint64_t>{4, 8, 10});
    }
    SECTION("evaluation points evenly spaced within each epoch")
    {
        // 100 / 8 -> 13 updates per epoch; 3 parts: after updates 5, 9 and 13 of each epoch.
        Trainer t(LinearRegression<double>(3), sgd<double>(0.05), BatchSampler<dynamic>(100, 8));
        t.options().evals_per_epoch = 3;
        const History& h = t.fit(data, Budget::epochs(2));
        std::vector<std::uint64_t> at;
        for (const auto& e : h.evals)
        {
            at.push_back(e.step);
        }
        CHECK(at == std::vector<std::uint64_t>{5, 9, 13, 18, 22, 26});
        // More parts than updates: one evaluation per update.
        Trainer u(LinearRegression<double>(3), sgd<double>(0.05), BatchSampler<dynamic>(100, 50));
        u.options().evals_per_epoch = 5;
        CHECK(u.fit(data, Budget::epochs(1)).evals.size() == 2);
    }
}

TEST_CASE("the trainer refuses a sampler of another size and impossible options", "[train]")
{
    const auto data = make_regression<double>(100, 3, 2);
    Trainer t(LinearRegression<double>(3), sgd<double>(0.05), BatchSampler<dynamic>(99, 10));
    CHECK_THROWS_WITH(t.fit(data, Budget::epochs(1)),
                      Catch::Contains("sampler was made for 99 samples but the training set has 100"));
    Trainer u(LinearRegression<double>(3), sgd<double>(0.05), BatchSampler<dynamic>(100, 10));
    u.options().accumulation_steps = 0;
    CHECK_THROWS_WITH(u.fit(data, Budget::epochs(1)), Catch::Contains("accumulation_steps must be >= 1 (got 0)"));
    Dataset<double> empty;
    Trainer v(LinearRegression<double>(3), sgd<double>(0.05), BatchSampler<dynamic>(100, 10));
    CHECK_THROWS_WITH(v.fit(empty, Budget::epochs(1)), Catch::Contains("training dataset is empty"));
}

TEST_CASE("a batch size beyond the training set is the whole set, with no buffer for the size asked", "[train]")
{
    const auto train = make_blobs<double>(60, 4, 3, 1);
    auto make = [](std::size_t b) {
        return Trainer(Softmax<double>(4, 3, 2), sgd<double>(0.1), BatchSampler<dynamic>(60, b, SamplerOptions::in_order()));
    };
    auto whole = make(60);
    whole.fit(train, Budget::epochs(3));
    // 10^12 rows of 4 doubles would be 32 TB: asked for, not allocated (a bad_alloc before).
    auto huge = make(std::size_t{1000000000000});
    REQUIRE_NOTHROW(huge.fit(train, Budget::epochs(3)));
    CHECK(huge.step() == 3);
    CHECK(huge.history().evals.back().train_loss == whole.history().evals.back().train_loss);
}

TEST_CASE("gradient accumulation gives the update of one big batch", "[train]")
{
    const auto data = make_regression<double>(96, 5, 3);
    const SamplerOptions opts = SamplerOptions::shuffled(11);
    // 8 micro-batches of 4 per update against batches of 32, same data order (paired sampling).
    Trainer small(LinearRegression<double>(5, 9), sgd<double>(0.1, 0.9), BatchSampler<4>(96, opts));
    small.options().accumulation_steps = 8;
    Trainer big(LinearRegression<double>(5, 9), sgd<double>(0.1, 0.9), BatchSampler<32>(96, opts));
    small.fit(data, Budget::epochs(4));
    big.fit(data, Budget::epochs(4));
    REQUIRE(small.step() == big.step());
    CHECK(small.examples_seen() == big.examples_seen());
    const auto& a = small.model().parameters().values();
    const auto& b = big.model().parameters().values();
    for (std::size_t i = 0; i < a.size(); ++i)
    {
        // Only the summation order differs: agreement to a few ulps of double.
        CHECK(a(i) == Approx(b(i)).epsilon(1e-12));
    }
    for (std::size_t i = 0; i < small.history().steps.size(); ++i)
    {
        CHECK(small.history().steps[i].loss == Approx(big.history().steps[i].loss).epsilon(1e-12));
    }

    SECTION("a partial group at the end of an epoch is weighted by its rows")
    {
        // 100 rows, micro-batches of 8, k = 4: groups of 32, 32, 32 and a last group of 4 rows.
        const auto d2 = make_regression<double>(100, 5, 4);
        Trainer s(LinearRegression<double>(5, 9), sgd<double>(0.1), BatchSampler<8>(100, opts));
        s.options().accumulation_steps = 4;
        Trainer g(LinearRegression<double>(5, 9), sgd<double>(0.1), BatchSampler<32>(100, opts));
        s.fit(d2, Budget::epochs(2));
        g.fit(d2, Budget::epochs(2));
        REQUIRE(s.step() == 8);
        REQUIRE(g.step() == 8);
        for (std::size_t i = 0; i < 6; ++i)
        {
            CHECK(s.model().parameters().values()(i) == Approx(g.model().parameters().values()(i)).epsilon(1e-12));
        }
    }
}

TEST_CASE("the same seed gives bit-identical histories and parameters", "[train]")
{
    const auto train = make_blobs<float>(300, 6, 3, 5);
    const auto val = make_blobs<float>(100, 6, 3, 6);
    auto run = [&](std::uint64_t seed) {
        Trainer t(Softmax<float>(6, 3, seed), sgd<float>(0.2, 0.9), BatchSampler<dynamic>(300, 17, SamplerOptions::shuffled(seed)));
        t.fit(train, Budget::epochs(3), &val);
        return t;
    };
    auto a = run(1);
    auto b = run(1);
    auto c = run(2);
    require_same_history(a.history(), b.history());
    CHECK(same_values(a.model().parameters(), b.model().parameters()));
    CHECK_FALSE(same_values(a.model().parameters(), c.model().parameters()));
    CHECK(a.history().evals.back().val_accuracy > 0.8);
}

TEST_CASE("evaluation reports mean loss and accuracy over the whole set", "[train]")
{
    const auto data = make_blobs<double>(250, 4, 4, 8);
    Trainer t(Softmax<double>(4, 4), sgd<double>(0.1), BatchSampler<dynamic>(250, 25));
    t.options().eval_batch_size = 64; // 250 = 3 x 64 + 58: batches of unequal size
    const EvalResult r = t.evaluate(data);
    // The loss over one batch of everything is the reference.
    Softmax<double> same(4, 4);
    std::vector<std::size_t> idx(250);
    std::iota(idx.begin(), idx.end(), std::size_t(0));
    BatchBuffer<double> buf(data, 250);
    const Batch<double> all = buf.gather(data, idx.data(), idx.size());
    CHECK(r.loss == Approx(static_cast<double>(same.loss(all))).epsilon(1e-12));
    std::vector<label_type> pred(250);
    same.predict(all, pred.data());
    std::size_t correct = 0;
    for (std::size_t i = 0; i < 250; ++i)
    {
        correct += pred[i] == data.labels(i) ? 1 : 0;
    }
    CHECK(r.accuracy == Approx(correct / 250.0));
    // A model with loss_and_predict is run once per batch for both numbers: the same results.
    MLP<double> mlp(3, {4, 8, 4});
    MLP<double> twin = mlp;
    Trainer m(std::move(mlp), sgd<double>(0.1), BatchSampler<dynamic>(250, 25));
    m.options().eval_batch_size = 64;
    const EvalResult e = m.evaluate(data);
    CHECK(e.loss == Approx(static_cast<double>(twin.loss(all))).epsilon(1e-12));
    twin.predict(all, pred.data());
    std::size_t twin_correct = 0;
    for (std::size_t i = 0; i < 250; ++i)
    {
        twin_correct += pred[i] == data.labels(i) ? 1 : 0;
    }
    CHECK(e.accuracy == Approx(twin_correct / 250.0));
    // Evaluation views the rows in place, so labels that do not cover every row are refused first.
    auto short_labels = data;
    short_labels.labels = xt::xtensor<label_type, 1>::from_shape({249});
    short_labels.labels.fill(0);
    CHECK_THROWS_WITH(t.evaluate(short_labels), Catch::Contains("250 samples but 249 labels"));
    // A regression model has no accuracy.
    const auto reg = make_regression<double>(50, 2, 1);
    Trainer u(LinearRegression<double>(2), sgd<double>(0.1), BatchSampler<dynamic>(50, 10));
    CHECK(std::isnan(u.evaluate(reg).accuracy));
    CHECK(std::isfinite(u.evaluate(reg).loss));
}

TEST_CASE("nothing allocates per update in steady state", "[train][alloc]")
{
    const auto train = make_blobs<float>(200, 8, 3, 1);
    const auto val = make_blobs<float>(60, 8, 3, 2);
    Trainer t(Softmax<float>(8, 3), sgd<float>(0.1, 0.9), BatchSampler<dynamic>(200, 16), DivergenceGuard(),
              EarlyStopping(Monitor::val_loss, 100), xtrain::test::AllocationProbe{});
    t.options().accumulation_steps = 2;
    t.fit(train, Budget::epochs(4), &val);
    CHECK(t.status() == RunStatus::finished);
    CHECK(t.callback<xtrain::test::AllocationProbe>().updates_counted >= 20); // including epoch ends and evaluations
    CHECK(t.callback<xtrain::test::AllocationProbe>().steady_allocations == 0);
}

TEST_CASE("fit called again and again with a growing budget grows the history geometrically", "[train][alloc]")
{
    const auto train = make_blobs<float>(200, 8, 3, 1);
    Trainer t(Softmax<float>(8, 3), sgd<float>(0.1), BatchSampler<dynamic>(200, 16));
    t.fit(train, Budget::steps(1));
    xtrain::test::AllocationCounter count;
    for (std::uint64_t steps = 2; steps <= 257; ++steps)
    {
        t.fit(train, Budget::steps(steps));
    }
    CHECK(t.history().steps.size() == 257);
    // Two vectors (steps, evals) doubling from 1 to 257 records: at most 2 x 9 reallocations,
    // where reserving exactly the budget at each call would reallocate at each of the 256 calls.
    CHECK(count.allocations() <= 18);
}

TEST_CASE("a checkpointed run resumes bit-identically", "[train][checkpoint]")
{
    const auto train = make_blobs<double>(150, 5, 3, 3);
    const auto val = make_blobs<double>(40, 5, 3, 4);
    const SamplerOptions opts = SamplerOptions::shuffled(21);
    auto make = [&](CheckpointSaver saver) {
        return Trainer(Softmax<double>(5, 3, 4), sgd<double>(0.1, 0.9), BatchSampler<dynamic>(150, 16, opts),
                       DivergenceGuard(), std::move(saver));
    };
    const std::string path = tmp_path("resume.ckpt");

    auto whole = make(CheckpointSaver(tmp_path("unused.ckpt"), 0, 0, false));
    whole.fit(train, Budget::epochs(3), &val);

    SECTION("from an epoch boundary")
    {
        auto first = make(CheckpointSaver(path, 1, 0, false));
        first.fit(train, Budget::epochs(1), &val);
        auto second = make(CheckpointSaver(tmp_path("unused2.ckpt"), 0, 0, false));
        second.load_checkpoint(path);
        CHECK(second.step() == first.step());
        second.fit(train, Budget::epochs(3), &val);
        require_same_history(whole.history(), second.history());
        CHECK(same_values(whole.model().parameters(), second.model().parameters()));
    }
    SECTION("from the middle of an epoch (sampler position, momentum, counters)")
    {
        auto first = make(CheckpointSaver(path, 0, 7, false));
        first.fit(train, Budget::steps(15), &val); // the last request was at step 14, mid-epoch 1
        auto second = make(CheckpointSaver(tmp_path("unused3.ckpt"), 0, 0, false));
        second.load_checkpoint(path);
        CHECK(second.step() == 14);
        second.fit(train, Budget::epochs(3), &val);
        require_same_history(whole.history(), second.history());
        CHECK(same_values(whole.model().parameters(), second.model().parameters()));
    }
}

TEST_CASE("corrupt, foreign and mismatched checkpoints are refused, leaving the trainer intact", "[train][checkpoint]")
{
    const auto data = make_regression<double>(64, 3, 1);
    Trainer t(LinearRegression<double>(3), sgd<double>(0.05, 0.9), BatchSampler<dynamic>(64, 8));
    t.fit(data, Budget::epochs(1));
    const std::string path = tmp_path("good.ckpt");
    t.save_checkpoint(path);
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto write = [](const std::string& p, const std::string& b) {
        std::ofstream os(p, std::ios::binary | std::ios::trunc);
        os.write(b.data(), static_cast<std::streamsize>(b.size()));
    };

    Trainer fresh(LinearRegression<double>(3, 5), sgd<double>(0.05, 0.9), BatchSampler<dynamic>(64, 8));
    const auto before = fresh.model().parameters().values();

    std::string flipped = bytes;
    flipped[bytes.size() / 2] = static_cast<char>(flipped[bytes.size() / 2] ^ 0x10);
    write(tmp_path("flipped.ckpt"), flipped);
    CHECK_THROWS_WITH(fresh.load_checkpoint(tmp_path("flipped.ckpt")), Catch::Contains("CRC-32 checksum does not match"));

    write(tmp_path("short.ckpt"), bytes.substr(0, bytes.size() / 3));
    CHECK_THROWS_AS(fresh.load_checkpoint(tmp_path("short.ckpt")), checkpoint_error);
    std::filesystem::create_directories(tmp_path("a_folder.ckpt"));
    CHECK_THROWS_WITH(fresh.load_checkpoint(tmp_path("a_folder.ckpt")), Catch::Contains("a_folder.ckpt: is a folder, not a checkpoint"));
    CHECK_THROWS_WITH(fresh.load_checkpoint(tmp_path("absent.ckpt")),
                      Catch::Contains("absent.ckpt: cannot open the checkpoint (No such file or directory)"));

    write(tmp_path("foreign.ckpt"), "PK\x03\x04 this is a zip file, not a checkpoint");
    CHECK_THROWS_WITH(fresh.load_checkpoint(tmp_path("foreign.ckpt")), Catch::Contains("not an xtrain checkpoint"));

    CHECK_THROWS_WITH(fresh.load_checkpoint(tmp_path("missing.ckpt")), Catch::Contains("cannot open"));

    Trainer other(LinearRegression<double>(4), sgd<double>(0.05), BatchSampler<dynamic>(64, 8));
    CHECK_THROWS_WITH(other.load_checkpoint(path), Catch::Contains("another model") && Catch::Contains("'weight' of shape {3}"));

    Trainer single(LinearRegression<float>(3), sgd<float>(0.05), BatchSampler<dynamic>(64, 8));
    CHECK_THROWS_WITH(single.load_checkpoint(path), Catch::Contains("64-bit parameters") && Catch::Contains("32-bit"));

    CHECK(std::equal(before.begin(), before.end(), fresh.model().parameters().values().begin()));
    CHECK(fresh.step() == 0);
    fresh.load_checkpoint(path);
    CHECK(fresh.step() == t.step());
    CHECK(same_values(fresh.model().parameters(), t.model().parameters()));
}

// -------------------------------------------------------------------------------------------------
// A batch size that changes between epochs (BatchSampler<dynamic>::set_batch_size, BatchSizeScheduler)
// -------------------------------------------------------------------------------------------------

namespace
{
    // 10 for two epochs, then 40, then the whole set: a batch that grows (Smith et al., 2018).
    std::size_t growing(std::size_t epoch)
    {
        return epoch < 2 ? 10 : epoch < 3 ? 40 : 150;
    }

    // What the trainer reports during each update.
    struct BatchProbe
    {
        std::vector<std::size_t> batch_sizes;
        std::vector<std::uint64_t> updates_per_epoch;
        template <class Tr>
        void on_step_end(Tr& t)
        {
            batch_sizes.push_back(t.current_batch().size);
            updates_per_epoch.push_back(t.updates_per_epoch());
        }
    };

    // Heap allocations made during each update and the epoch it belonged to (room for 64 updates,
    // so that the probe itself allocates nothing).
    struct EpochAllocationProbe
    {
        EpochAllocationProbe()
        {
            allocations.reserve(64);
            epochs.reserve(64);
        }
        std::size_t last = 0;
        std::vector<std::size_t> allocations;
        std::vector<std::uint64_t> epochs;
        template <class Tr>
        void on_step_end(Tr& t)
        {
            const std::size_t now = xtrain::test::total_allocations();
            allocations.push_back(now - last);
            epochs.push_back(t.epoch());
            last = now;
        }
    };
}

TEST_CASE("a batch size growing between epochs trains as one sampler per size would", "[train][batch-size]")
{
    const auto train = make_blobs<double>(150, 5, 3, 3);
    const SamplerOptions opts = SamplerOptions::shuffled(21);
    Trainer t(Softmax<double>(5, 3, 4), sgd<double>(0.1, 0.9), BatchSampler<dynamic>(150, 10, opts),
              BatchSizeScheduler(growing), BatchProbe{});
    CHECK(t.updates_per_epoch() == 15);
    const History& h = t.fit(train, Budget::epochs(4));
    REQUIRE(t.status() == RunStatus::finished);

    // 15 + 15 + 4 + 1 updates; every epoch is one pass over the 150 samples.
    REQUIRE(h.steps.size() == 35);
    const auto& probe = t.callback<BatchProbe>();
    std::vector<std::size_t> expected_sizes(30, 10);
    expected_sizes.insert(expected_sizes.end(), {40, 40, 40, 30, 150});
    CHECK(probe.batch_sizes == expected_sizes);
    std::vector<std::uint64_t> expected_updates(30, 15);
    expected_updates.insert(expected_updates.end(), {4, 4, 4, 4, 1});
    CHECK(probe.updates_per_epoch == expected_updates);
    REQUIRE(h.evals.size() == 4);
    CHECK(h.evals[2].step == 34);
    CHECK(h.evals[2].examples_seen == 450);
    CHECK(h.evals[3].step == 35);
    CHECK(h.evals[3].examples_seen == 600);
    CHECK(t.sampler().batch_size() == 150);

    // The same updates, written out by hand: a fresh sampler of each epoch's size with the same
    // seed (paired sampling: the order depends on seed and epoch only), one buffer, one optimizer.
    Softmax<double> model(5, 3, 4);
    Optimizer<SGD> opt = sgd<double>(0.1, 0.9);
    BatchBuffer<double> buffer(train, 150);
    xt::xtensor<double, 1> grad = model.parameters().zeros_like();
    std::size_t step = 0;
    for (std::size_t epoch = 0; epoch < 4; ++epoch)
    {
        BatchSampler<dynamic> s(150, growing(epoch), opts);
        s.start_epoch(epoch);
        while (IndexBatch ib = s.next())
        {
            const double loss = model.loss_and_gradient(buffer.gather(train, ib), grad);
            opt.step(model.parameters(), grad);
            REQUIRE(step < h.steps.size());
            const auto rows = static_cast<double>(ib.size);
            CHECK(h.steps[step].loss == loss * rows / rows);  // the trainer's size-weighted mean
            CHECK(h.steps[step].epoch == epoch);
            ++step;
        }
    }
    CHECK(step == 35);
    CHECK(same_values(t.model().parameters(), model.parameters()));
}

TEST_CASE("updates_per_epoch between epochs is the coming epoch's", "[train][batch-size]")
{
    const auto data = make_regression<double>(100, 3, 2);
    Trainer t(LinearRegression<double>(3), sgd<double>(0.05), BatchSampler<dynamic>(100, 10), BatchSizeScheduler(growing));
    t.fit(data, Budget::epochs(2));
    CHECK(t.step() == 20);
    CHECK(t.sampler().batch_size() == 10);       // the epoch last run
    CHECK(t.updates_per_epoch() == 3);           // the next one runs at 40: ceil(100 / 40)
    t.options().accumulation_steps = 2;
    CHECK(t.updates_per_epoch() == 2);           // ceil(3 / 2)
    t.options().accumulation_steps = 1;
    t.fit(data, Budget::epochs(3));              // a longer budget continues the run
    CHECK(t.step() == 23);
    CHECK(t.updates_per_epoch() == 1);           // then the whole set
}

TEST_CASE("a run whose batch grew resumes bit-identically from a checkpoint", "[train][batch-size][checkpoint]")
{
    const auto train = make_blobs<double>(150, 5, 3, 3);
    const auto val = make_blobs<double>(40, 5, 3, 4);
    const SamplerOptions opts = SamplerOptions::shuffled(21);
    auto make = [&](CheckpointSaver saver) {
        return Trainer(Softmax<double>(5, 3, 4), sgd<double>(0.1, 0.9), BatchSampler<dynamic>(150, 10, opts),
                       BatchSizeScheduler(growing), DivergenceGuard(), std::move(saver));
    };
    const std::string path = tmp_path("grown.ckpt");
    auto whole = make(CheckpointSaver(tmp_path("grown-unused.ckpt"), 0, 0, false));
    whole.fit(train, Budget::epochs(4), &val);

    // Saved at step 32: the second update of epoch 2, at batch size 40.
    auto first = make(CheckpointSaver(path, 0, 32, false));
    first.fit(train, Budget::steps(33), &val);
    auto second = make(CheckpointSaver(tmp_path("grown-unused2.ckpt"), 0, 0, false));
    second.load_checkpoint(path);
    CHECK(second.step() == 32);
    CHECK(second.sampler().batch_size() == 40);
    second.fit(train, Budget::epochs(4), &val);
    require_same_history(whole.history(), second.history());
    CHECK(same_values(whole.model().parameters(), second.model().parameters()));
}

TEST_CASE("a growing batch allocates only when an epoch needs a larger buffer", "[train][batch-size][alloc]")
{
    const auto train = make_blobs<float>(200, 8, 3, 1);
    const auto val = make_blobs<float>(60, 8, 3, 2);
    auto sizes = [](std::size_t e) -> std::size_t { return e < 2 ? 16 : 64; };
    Trainer t(Softmax<float>(8, 3), sgd<float>(0.1, 0.9), BatchSampler<dynamic>(200, 16), BatchSizeScheduler(sizes),
              DivergenceGuard(), EpochAllocationProbe{});
    t.fit(train, Budget::epochs(5), &val);
    REQUIRE(t.status() == RunStatus::finished);
    const EpochAllocationProbe& p = t.callback<EpochAllocationProbe>();
    REQUIRE(p.allocations.size() == 13 + 13 + 4 + 4 + 4);
    std::size_t steady = 0;
    std::size_t at_growth = 0;
    for (std::size_t i = 1; i < p.allocations.size(); ++i)
    {
        const bool new_epoch = p.epochs[i] != p.epochs[i - 1];
        if (new_epoch && (p.epochs[i] == 1 || p.epochs[i] == 2))
        {
            at_growth += p.allocations[i];  // the first evaluation's buffers; the buffer for 64 rows
            continue;
        }
        steady += p.allocations[i];
    }
    CHECK(steady == 0);
    CHECK(at_growth > 0);
}
