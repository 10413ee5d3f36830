// Tests that Trainer::load_state refuses a checkpoint whose CRC-32 is right but whose fields the
// training loop could never have written (an edited or forged file), naming the file and the field,
// and leaves the trainer as it was.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <sstream>
#include <string>

#include "checkpoint_bytes.hpp"
#include "train_fixtures.hpp"

using namespace xtrain;
using Catch::Matchers::Contains;
using xtrain::test::CheckpointBytes;
using xtrain::test::make_blobs;
using xtrain::test::Softmax;
namespace field = xtrain::test::ckpt_field;

namespace
{
    constexpr std::size_t num_samples = 40;
    constexpr std::size_t batch = 8; // 5 batches per epoch

    auto make_trainer(std::size_t dim = 4)
    {
        SGD h;
        h.lr = 0.1;
        h.momentum = 0.9;
        return Trainer(Softmax<double>(dim, 3, 1), Optimizer<SGD>(h),
                       BatchSampler<dynamic>(num_samples, batch, SamplerOptions::shuffled(7)));
    }

    // A run stopped in its second epoch: step 7, epoch 1, 2 batches into it, 56 examples,
    // 7 step rows and 2 evaluation rows (end of epoch 0, end of the run).
    std::string saved_state(std::size_t dim = 4)
    {
        auto t = make_trainer(dim);
        const auto train = make_blobs<double>(num_samples, dim, 3, 3);
        const auto val = make_blobs<double>(20, dim, 3, 4);
        t.fit(train, Budget::steps(7), &val);
        return t.save_state();
    }

    // Loads @p bytes into a fresh trainer, expecting a refusal that names the file and says @p what;
    // the trainer must be left exactly as it was.
    void require_refused(const std::string& bytes, const std::string& what)
    {
        auto t = make_trainer();
        const std::string before = t.save_state();
        REQUIRE_THROWS_AS(t.load_state(bytes, "ckpt.bin"), checkpoint_error);
        REQUIRE_THROWS_WITH(t.load_state(bytes, "ckpt.bin"), Contains("ckpt.bin: ") && Contains(what));
        CHECK(t.save_state() == before);
    }
}

TEST_CASE("a checkpoint re-sealed unchanged loads, and the offsets point at the fields they name")
{
    const CheckpointBytes c(saved_state());
    CHECK(c.get<std::uint64_t>("counters", field::step) == 7);
    CHECK(c.get<std::uint64_t>("counters", field::epoch) == 1);
    CHECK(c.get<std::uint64_t>("counters", field::examples) == 56);
    CHECK(c.get<bool>("counters", field::in_epoch));
    CHECK(c.get<std::uint64_t>("counters", field::batches_in_epoch) == 2);
    CHECK(c.get<std::uint64_t>("counters", field::status_message_length) == 0);
    CHECK(c.get<std::uint64_t>("counters", field::updates_since_eval) == 0);
    CHECK(c.get<std::uint64_t>("xtrain.BatchSampler", field::sampler_epoch) == 1);
    CHECK(c.get<std::uint64_t>("xtrain.BatchSampler", field::sampler_position) == 16);
    CHECK(c.get<std::uint64_t>("xtrain.BatchSampler", field::sampler_batch) == batch);
    CHECK(c.get<double>("xtrain::Optimizer", field::optimizer_lr) == 0.1);
    CHECK(c.get<std::uint64_t>("xtrain::Optimizer", field::optimizer_steps) == 7);
    CHECK(c.get<std::uint64_t>("history", 0) == 7);
    CHECK(c.get<std::uint64_t>("history", field::step_row(6)) == 7);
    CHECK(c.get<std::uint64_t>("history", field::eval_row(0, 7) - 8) == 2);
    CHECK(c.get<std::uint64_t>("history", field::eval_row(1, 7) + 8) == 7);
    CHECK(c.bytes() == c.raw());

    auto t = make_trainer();
    t.load_state(c.bytes(), "ckpt.bin");
    CHECK(t.step() == 7);
    CHECK(t.epoch() == 1);
    CHECK(t.examples_seen() == 56);
}

TEST_CASE("load_state refuses counters that contradict each other")
{
    CheckpointBytes c(saved_state());
    SECTION("an epoch beyond the step counter")
    {
        c.set<std::uint64_t>("counters", field::epoch, 4294967295U);
        require_refused(c.bytes(), "epoch 4294967295 is impossible for step 7");
    }
    SECTION("a step counter below the history rows")
    {
        c.set<std::uint64_t>("counters", field::step, 5);
        require_refused(c.bytes(), "the step counter 5 is below the 7 history rows");
    }
    SECTION("fewer examples than updates")
    {
        c.set<std::uint64_t>("counters", field::examples, 3);
        require_refused(c.bytes(), "examples_seen 3 is below the step counter 7");
    }
    SECTION("examples that do not add up to the epochs and the sampler's position")
    {
        c.set<std::uint64_t>("counters", field::examples, 57);
        require_refused(c.bytes(), "examples_seen 57 does not match 1 completed epochs of 40 samples and 16 of the epoch in progress");
    }
    SECTION("more batches in the epoch than it has")
    {
        c.set<std::uint64_t>("counters", field::batches_in_epoch, 99);
        require_refused(c.bytes(), "the epoch's batch count 99 is more than its 5 batches");
    }
    SECTION("a batch count the sampler does not agree with")
    {
        c.set<std::uint64_t>("counters", field::batches_in_epoch, 3);
        require_refused(c.bytes(), "the sampler has handed out 2 batches of the epoch but the trainer counts 3");
    }
    SECTION("a run status that is never saved")
    {
        c.set<std::uint8_t>("counters", field::status, static_cast<std::uint8_t>(RunStatus::running));
        require_refused(c.bytes(), "the run status 'running' is never saved");
    }
    SECTION("an unknown run status")
    {
        c.set<std::uint8_t>("counters", field::status, 9);
        require_refused(c.bytes(), "unknown run status 9");
    }
    SECTION("more updates since the last evaluation than in the run")
    {
        c.set<std::uint64_t>("counters", field::updates_since_eval, 8);
        require_refused(c.bytes(), "the 8 updates since the last evaluation are more than the 7 updates of the run");
    }
    SECTION("a training time that is not a number")
    {
        c.set<double>("counters", field::wall, std::numeric_limits<double>::quiet_NaN());
        require_refused(c.bytes(), "the training time nan s is not a finite number >= 0");
    }
}

TEST_CASE("load_state refuses a sampler state the trainer's counters contradict")
{
    CheckpointBytes c(saved_state());
    SECTION("the sampler in another epoch")
    {
        c.set<std::uint64_t>("xtrain.BatchSampler", field::sampler_epoch, 0);
        require_refused(c.bytes(), "the sampler is in epoch 0 but the trainer in epoch 1");
    }
    SECTION("a cursor between two batches")
    {
        c.set<std::uint64_t>("xtrain.BatchSampler", field::sampler_position, 12);
        require_refused(c.bytes(), "BatchSampler position 12 is not at the end of a batch of 8");
    }
    SECTION("a cursor past the epoch")
    {
        c.set<std::uint64_t>("xtrain.BatchSampler", field::sampler_position, 48);
        require_refused(c.bytes(), "BatchSampler position 48 is past the end of the epoch (40 samples)");
    }
    SECTION("a batch size of 0")
    {
        c.set<std::uint64_t>("xtrain.BatchSampler", field::sampler_batch, 0);
        require_refused(c.bytes(), "BatchSampler batch size 0 is impossible");
    }
}

TEST_CASE("load_state refuses an optimizer state that cannot be this run's")
{
    CheckpointBytes c(saved_state());
    SECTION("an infinite learning rate")
    {
        c.set<double>("xtrain::Optimizer", field::optimizer_lr, std::numeric_limits<double>::infinity());
        require_refused(c.bytes(), "invalid learning rate inf");
    }
    SECTION("a step count its states do not add up to")
    {
        c.set<std::uint64_t>("xtrain::Optimizer", field::optimizer_steps, 6);
        require_refused(c.bytes(), "the optimizer counts 6 steps in total but its states count 0 (float) and 7 (double)");
    }
    SECTION("a momentum buffer made for another number of parameters")
    {
        // The optimizer section of a run with 5 features (18 parameters) in this run's checkpoint
        // (15 parameters): consistent in itself, but not the model's.
        const CheckpointBytes other(saved_state(5));
        const std::size_t from = other.after_tag("xtrain::Optimizer");
        const std::size_t to = other.after_tag("sampler") - 8 - 7;
        c.splice(c.after_tag("xtrain::Optimizer"), c.after_tag("sampler") - 8 - 7, other.raw().substr(from, to - from));
        require_refused(c.bytes(), "the optimizer state (double) was made for 18 parameters but the model has 15");
    }
}

TEST_CASE("load_state refuses history rows out of order or ahead of the counters")
{
    CheckpointBytes c(saved_state());
    SECTION("two step rows with the same step")
    {
        c.set<std::uint64_t>("history", field::step_row(3), 3);
        require_refused(c.bytes(), "step history row 4 (step 3): not after the previous row's step 3");
    }
    SECTION("a step row ahead of the step counter")
    {
        c.set<std::uint64_t>("history", field::step_row(6), 8);
        require_refused(c.bytes(), "step history row 7 (step 8): its step is outside 1..7");
    }
    SECTION("a step row in an epoch not reached")
    {
        c.set<std::uint64_t>("history", field::step_row(6) + 8, 2);
        require_refused(c.bytes(), "step history row 7 (step 7): its epoch 2 is out of order");
    }
    SECTION("a step row whose examples go backwards")
    {
        c.set<std::uint64_t>("history", field::step_row(2) + 16, 8);
        require_refused(c.bytes(), "step history row 3 (step 3): its examples_seen 8 is out of order");
    }
    SECTION("a step row with a negative learning rate")
    {
        c.set<double>("history", field::step_row(1) + 32, -0.1);
        require_refused(c.bytes(), "step history row 2 (step 2): its learning rate -0.1 is not a finite number >= 0");
    }
    SECTION("evaluation rows whose steps go backwards")
    {
        c.set<std::uint64_t>("history", field::eval_row(1, 7) + 8, 4);
        require_refused(c.bytes(), "evaluation history row 2 (step 4): its step is out of order");
    }
    SECTION("an evaluation row with more epochs than steps")
    {
        c.set<std::uint64_t>("history", field::eval_row(0, 7), 6);
        require_refused(c.bytes(), "evaluation history row 1 (step 5): its epoch 6 is out of order");
    }
    SECTION("an accuracy above 1")
    {
        c.set<double>("history", field::eval_row(0, 7) + 40, 1.5);
        require_refused(c.bytes(), "evaluation history row 1 (step 5): its accuracy 1.5 is outside [0, 1]");
    }
}

TEST_CASE("ReduceLROnPlateau refuses a saved learning rate that is not a finite number >= 0")
{
    ReduceLROnPlateau plateau(0.1);
    std::ostringstream out(std::ios::binary);
    BinaryWriter w(out);
    plateau.save(w);
    CheckpointBytes c(out.str());
    c.set<double>("ReduceLROnPlateau", 0, -1.0);
    std::istringstream in(c.raw(), std::ios::binary);
    BinaryReader r(in, "plateau.bin");
    REQUIRE_THROWS_WITH(plateau.load(r), Contains("plateau.bin: ReduceLROnPlateau holds the learning rate -1"));
    CHECK(plateau(0) == 0.1);
}

TEST_CASE("a divergence guard state of the earlier format is refused, saying why")
{
    const auto data = make_blobs<double>(60, 4, 3, 1);
    auto make = [] {
        SGD h;
        h.lr = 0.1;
        return Trainer(Softmax<double>(4, 3, 1), Optimizer<SGD>(h), BatchSampler<dynamic>(60, 8), DivergenceGuard());
    };
    auto first = make();
    first.fit(data, Budget::epochs(1));
    std::string bytes = first.save_state();
    auto fresh = make();
    REQUIRE_NOTHROW(fresh.load_state(bytes, "guard.ckpt"));
    // The same bytes under the tag the exponential-average guard wrote: not read as if they were a window.
    const std::size_t at = bytes.find("divergence_guard/3");
    REQUIRE(at != std::string::npos);
    bytes[at + std::string("divergence_guard/").size()] = '2';
    xtrain::test::reseal_checkpoint(bytes);
    auto old = make();
    CHECK_THROWS_WITH(old.load_state(bytes, "guard.ckpt"),
                      Contains("guard.ckpt") && Contains("written by an earlier xtrain")
                          && Contains("'divergence_guard/2', this one reads 'divergence_guard/3'"));
}
