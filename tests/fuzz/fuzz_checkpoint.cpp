// Fuzz target for Trainer::load_state. The first input byte is a mode, the rest the checkpoint:
//   bit 0 set    the last four bytes are first replaced by the CRC-32 of the others, so that
//                mutations reach the field checks instead of all stopping at the checksum
//   bit 0 clear  the bytes are loaded as they are (the checksum itself is under test)
// The trainer is small and fixed: the tests' Softmax model (4 features, 3 classes, double), SGD
// with momentum, BatchSampler<dynamic> over 24 samples in batches of 8, and EarlyStopping.
// Invariants, beyond "no crash, no undefined behaviour, no unbounded allocation":
// - a refusal is a checkpoint_error naming the source, and leaves the trainer as it was;
// - an accepted state satisfies what the training loop guarantees: epoch <= step <= examples
//   seen, examples seen = completed epochs x 24 + the sampler's position in the epoch in progress,
//   the sampler's cursor at a batch boundary of its permutation of 0..23, a finite learning rate,
//   an optimizer state of the model's size, history rows in order and none beyond the counters;
// - the accepted state saves and loads again, to the same bytes;
// - three more updates (fit) run without error, and the state after them loads again.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "fuzz_target.hpp"
#include "../train/checkpoint_bytes.hpp"
#include "../train/train_fixtures.hpp"

const char* const xtrain::fuzz::target_name = "fuzz_checkpoint";

namespace
{
    using xtrain::fuzz::Outcome;

    constexpr std::size_t num_samples = 24;
    constexpr std::size_t batch = 8;

    auto make_trainer()
    {
        xtrain::SGD h;
        h.lr = 0.1;
        h.momentum = 0.9;
        return xtrain::Trainer(xtrain::test::Softmax<double>(4, 3, 1), xtrain::Optimizer<xtrain::SGD>(h),
                               xtrain::BatchSampler<xtrain::dynamic>(num_samples, batch, xtrain::SamplerOptions::shuffled(7)),
                               xtrain::EarlyStopping(xtrain::Monitor::train_loss, 3));
    }

    using trainer_type = decltype(make_trainer());

    const xtrain::Dataset<double>& train_set()
    {
        static const auto data = xtrain::test::make_blobs<double>(num_samples, 4, 3, 3);
        return data;
    }

    void check_state(const trainer_type& t)
    {
        const std::uint64_t step = t.step();
        const std::uint64_t epoch = t.epoch();
        const std::uint64_t examples = t.examples_seen();
        const auto& s = t.sampler();
        XTRAIN_FUZZ_CHECK(t.status() != xtrain::RunStatus::running, "a loaded run is not in progress");
        XTRAIN_FUZZ_CHECK(epoch <= step, "every completed epoch took at least one update");
        XTRAIN_FUZZ_CHECK(examples >= step, "every update consumed at least one example");
        XTRAIN_FUZZ_CHECK(examples / num_samples >= epoch && examples - epoch * num_samples <= num_samples,
                          "the examples seen are the completed epochs' and part of one more");
        const std::uint64_t in_progress = examples - epoch * num_samples;
        XTRAIN_FUZZ_CHECK(in_progress == 0 || (s.epoch() == epoch && s.position() == in_progress),
                          "the examples of the epoch in progress are those the sampler handed out");
        XTRAIN_FUZZ_CHECK(s.batch_size() > 0 && s.next_batch_size() > 0, "batch sizes are positive");
        XTRAIN_FUZZ_CHECK(s.position() <= num_samples
                              && (s.position() % s.batch_size() == 0 || s.position() == num_samples),
                          "the sampler's cursor is at a batch boundary within the epoch");
        std::vector<std::size_t> sorted = s.permutation();
        std::sort(sorted.begin(), sorted.end());
        std::vector<std::size_t> identity(num_samples);
        std::iota(identity.begin(), identity.end(), std::size_t(0));
        XTRAIN_FUZZ_CHECK(sorted == identity, "the sampler's permutation is one of 0..N-1");
        const double lr = t.optimizer().lr();
        XTRAIN_FUZZ_CHECK(std::isfinite(lr) && lr >= 0.0, "the learning rate is a finite number >= 0");
        const std::size_t state = t.optimizer().state_size<double>();
        XTRAIN_FUZZ_CHECK(state == 0 || state == t.model().parameters().size(),
                          "the optimizer state has the model's size");
        const xtrain::History& h = t.history();
        XTRAIN_FUZZ_CHECK(h.steps.size() <= step, "no more step rows than updates");
        for (std::size_t i = 0; i < h.steps.size(); ++i)
        {
            const auto& r = h.steps[i];
            XTRAIN_FUZZ_CHECK(r.step >= 1 && r.step <= step && (i == 0 || r.step > h.steps[i - 1].step),
                              "step rows in increasing step order, none beyond the counter");
            XTRAIN_FUZZ_CHECK(r.epoch <= epoch && r.examples_seen <= examples, "step rows not ahead of the counters");
            XTRAIN_FUZZ_CHECK(std::isfinite(r.lr) && r.lr >= 0.0, "step rows' learning rates are finite");
        }
        for (std::size_t i = 0; i < h.evals.size(); ++i)
        {
            const auto& r = h.evals[i];
            XTRAIN_FUZZ_CHECK(r.step <= step && (i == 0 || r.step >= h.evals[i - 1].step),
                              "evaluation rows in step order, none beyond the counter");
            XTRAIN_FUZZ_CHECK(r.epoch <= epoch && r.examples_seen <= examples,
                              "evaluation rows not ahead of the counters");
        }
    }

    // The state saves, and loads into a fresh trainer to the same bytes.
    void check_round_trip(const trainer_type& t, const char* what)
    {
        const std::string saved = t.save_state();
        auto again = make_trainer();
        try
        {
            again.load_state(saved, "resaved");
        }
        catch (const xtrain::checkpoint_error& e)
        {
            std::fprintf(stderr, "%s\n", e.what());
            XTRAIN_FUZZ_CHECK(false, what);
        }
        XTRAIN_FUZZ_CHECK(again.save_state() == saved, "a loaded state saves to the bytes it was loaded from");
    }
}

xtrain::fuzz::Outcome xtrain::fuzz::one_input(const std::uint8_t* data, std::size_t size)
{
    if (size == 0)
    {
        return Outcome::refused;
    }
    std::string bytes(reinterpret_cast<const char*>(data + 1), size - 1);
    if ((data[0] & 1U) != 0)
    {
        xtrain::test::reseal_checkpoint(bytes);
    }
    auto t = make_trainer();
    const std::string before = t.save_state();
    try
    {
        t.load_state(bytes, "fuzz.ckpt");
    }
    catch (const xtrain::checkpoint_error& e)
    {
        XTRAIN_FUZZ_CHECK(std::string(e.what()).rfind("fuzz.ckpt: ", 0) == 0, "a refusal names the source first");
        XTRAIN_FUZZ_CHECK(t.save_state() == before, "a refused checkpoint leaves the trainer as it was");
        return Outcome::refused;
    }
    check_state(t);
    check_round_trip(t, "an accepted state saves into one that loads");

    const std::uint64_t most = std::numeric_limits<std::uint64_t>::max();
    const std::uint64_t from = t.step();
    t.fit(train_set(), xtrain::Budget::steps(from > most - 3 ? most : from + 3));
    XTRAIN_FUZZ_CHECK(t.step() >= from, "fit never takes updates back");
    check_state(t);
    check_round_trip(t, "the state after a short fit loads again");
    return Outcome::accepted;
}
