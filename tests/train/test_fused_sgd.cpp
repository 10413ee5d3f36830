// The Trainer's fused plain-SGD step (model.loss_and_descent): taken only when nothing needs the
// gradient, and then the same trajectory as the two-pass step to float rounding.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "support/alloc_counter.hpp"
#include "xtrain/model.hpp"
#include "train_fixtures.hpp"

using namespace xtrain;
using xtrain::test::make_blobs;

namespace
{
    using Net = Sequential<Dense<12, 32>, ReLU, Dense<32, 3>, SoftmaxCrossEntropy>;

    Optimizer<SGD> sgd(double lr, double momentum = 0.0, double weight_decay = 0.0)
    {
        SGD h;
        h.lr = lr;
        h.momentum = momentum;
        h.weight_decay = weight_decay;
        return Optimizer<SGD>(h);
    }

    template <class Tr>
    double max_relative_difference(const Tr& a, const Tr& b)
    {
        const auto& pa = a.model().parameters().values();
        const auto& pb = b.model().parameters().values();
        double diff = 0.0;
        double scale = 0.0;
        for (std::size_t i = 0; i < pa.size(); ++i)
        {
            diff = std::max(diff, std::abs(static_cast<double>(pa(i)) - static_cast<double>(pb(i))));
            scale = std::max(scale, std::abs(static_cast<double>(pa(i))));
        }
        return diff / scale;
    }

    // Counts the updates that reached on_gradient: only the two-pass step has a gradient to show.
    struct GradientReader
    {
        std::size_t seen = 0;
        template <class Tr, class B, class G>
        void on_gradient(Tr&, const B&, const G&)
        {
            ++seen;
        }
    };

    // Allocations between the ends of consecutive updates within an epoch (after the first).
    struct StepAllocations
    {
        std::size_t last = 0;
        std::size_t allocations = 0;
        std::size_t updates = 0;
        std::uint64_t last_epoch = 0;
        template <class Tr>
        void on_step_end(Tr& t)
        {
            const std::size_t now = xtrain::test::total_allocations();
            if (t.epoch() >= 1 && t.epoch() == last_epoch)
            {
                allocations += now - last;
                ++updates;
            }
            last_epoch = t.epoch();
            last = now;
        }
    };

    // One more update moves the parameters and is counted by the optimizer (a checkpoint stores
    // that count), though the optimizer's own step did not run.
    template <class Tr>
    bool one_more_counted_step(Tr& t, const Dataset<float>& data)
    {
        const auto before = t.model().parameters().values();
        const std::size_t steps = t.optimizer().step_count();
        t.fit(data, Budget::steps(t.step() + 1));
        return t.optimizer().step_count() == steps + 1 && !(t.model().parameters().values() == before);
    }
}

TEST_CASE("the fused plain-SGD step follows the two-pass trajectory to rounding", "[train][fused]")
{
    const auto data = make_blobs<float>(256, 12, 3, 5);
    for (std::size_t b : {1, 4, 8, 32})
    {
        CAPTURE(b);
        Trainer fused(Net(3), sgd(0.05), BatchSampler<dynamic>(data.size(), b, {true, false, 9}));
        Trainer two_pass(Net(3), sgd(0.05), BatchSampler<dynamic>(data.size(), b, {true, false, 9}));
        two_pass.options().fuse_plain_sgd = false;
        fused.fit(data, Budget::epochs(2));
        two_pass.fit(data, Budget::epochs(2));
        REQUIRE(fused.step() == two_pass.step());
        CHECK(fused.optimizer().step_count() == two_pass.optimizer().step_count());
        // Float rounding of about 1e-7 per step, a few hundred steps: 1e-4 is still far from the
        // lr * gradient (>= 1e-3 here) that a wrong or missing update would leave.
        CHECK(max_relative_difference(fused, two_pass) < 1e-4);
        CHECK(fused.history().steps.back().loss == Approx(two_pass.history().steps.back().loss).epsilon(1e-3));
        CHECK(one_more_counted_step(fused, data));
    }
}

namespace
{
    // Net, counting which pass ran: the fused one (loss_and_descent) or the gradient (two-pass).
    struct CountingNet : Net
    {
        using Net::Net;
        std::size_t descents = 0;
        float loss_and_descent(const Batch<float>& batch, float lr)
        {
            ++descents;
            return Net::loss_and_descent(batch, lr);
        }
    };
}

TEST_CASE("the two-pass step is kept whenever something needs the gradient or the rule is not plain descent",
          "[train][fused]")
{
    const auto data = make_blobs<float>(128, 12, 3, 6);
    // The two-pass step is kept: no fused update ran, and the parameters equal the two-pass ones bit for bit.
    auto kept = [&data](auto make) {
        auto a = make();
        auto b = make();
        b.options().fuse_plain_sgd = false;
        a.fit(data, Budget::epochs(1));
        b.fit(data, Budget::epochs(1));
        return a.model().descents == 0 && b.model().descents == 0
            && a.model().parameters().values() == b.model().parameters().values();
    };
    const SamplerOptions opts{true, false, 2};
    // A callback that reads the gradient (the guard's dead-network check, a noise-scale monitor).
    CHECK(kept([&] { return Trainer(CountingNet(1), sgd(0.05), BatchSampler<dynamic>(128, 4, opts), GradientReader{}); }));
    CHECK(kept([&] { return Trainer(CountingNet(1), sgd(0.05), BatchSampler<dynamic>(128, 4, opts), DivergenceGuard()); }));
    // Momentum, weight decay, a per-segment rate, accumulation.
    CHECK(kept([&] { return Trainer(CountingNet(1), sgd(0.05, 0.9), BatchSampler<dynamic>(128, 4, opts)); }));
    CHECK(kept([&] { return Trainer(CountingNet(1), sgd(0.05, 0.0, 1e-3), BatchSampler<dynamic>(128, 4, opts)); }));
    CHECK(kept([&] {
        CountingNet net(1);
        net.parameters().layout().set_lr_scale("0.bias", 0.5);
        return Trainer(std::move(net), sgd(0.05), BatchSampler<dynamic>(128, 4, opts));
    }));
    CHECK(kept([&] {
        auto t = Trainer(CountingNet(1), sgd(0.05), BatchSampler<dynamic>(128, 4, opts));
        t.options().accumulation_steps = 2;
        return t;
    }));
    // Adam is never plain descent.
    CHECK(kept([&] { return Trainer(CountingNet(1), Optimizer<Adam>(Adam{}), BatchSampler<dynamic>(128, 4, opts)); }));
    // And plain SGD with nothing reading the gradient does fuse, every update, so the checks above could fail.
    auto plain = Trainer(CountingNet(1), sgd(0.05), BatchSampler<dynamic>(128, 4, opts));
    plain.fit(data, Budget::epochs(1));
    CHECK(plain.model().descents == 32);
    CHECK_FALSE(kept([&] { return Trainer(CountingNet(1), sgd(0.05), BatchSampler<dynamic>(128, 4, opts)); }));

    Trainer reader(Net(1), sgd(0.05), BatchSampler<dynamic>(128, 4, opts), GradientReader{});
    reader.fit(data, Budget::steps(10));
    CHECK(reader.callback<GradientReader>().seen == 10);
}

TEST_CASE("the fused step allocates nothing per update", "[train][fused][alloc]")
{
    const auto data = make_blobs<float>(256, 12, 3, 7);
    Trainer t(Net(3), sgd(0.05), BatchSampler<dynamic>(data.size(), 8, {true, false, 1}), StepAllocations{});
    t.fit(data, Budget::epochs(3));
    CHECK(t.callback<StepAllocations>().updates >= 60);
    CHECK(t.callback<StepAllocations>().allocations == 0);
}
