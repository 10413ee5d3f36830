// Benchmarks of include/xtrain/optim: time per parameter per step of Optimizer<SGD> (plain and with
// momentum), Optimizer<Adam> and Optimizer<AdamW> over float buffers of 1e4, 1e6 and 1e7
// parameters, each beside a hand-written fused loop that streams the same bytes (SGD 12 B per
// parameter, momentum 20 B, Adam and AdamW 28 B), in the same program.
//
//   OPENBLAS_NUM_THREADS=1 ./bench_optim --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// ns per parameter = the reported time per iteration / the size (the last argument). One thread, no
// BLAS: the CPU time is the measure (on a shared machine the wall time also counts time the process
// waited for a core), the wall time is reported beside it. Buffers are
// allocated, written and stepped a few times before timing: on these machines the first touch of
// fresh memory costs more than a whole step.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstddef>
#include <map>
#include <memory>

#include "xtrain/optim.hpp"

namespace
{
    enum Kind
    {
        sgd,
        sgd_momentum,
        adam,
        adamw
    };

    constexpr double lr = 1e-4; // small, so that parameters stay in a normal range over millions of steps
    constexpr double momentum = 0.9;
    constexpr double wd = 1e-2;

    struct Buffers
    {
        xt::xtensor<float, 1> params;
        xt::xtensor<float, 1> grads;
        xt::xtensor<float, 1> state_a; // the hand loops' momentum buffer or first moment
        xt::xtensor<float, 1> state_b; // the hand loops' second moment
    };

    Buffers& buffers(std::size_t n)
    {
        static std::map<std::size_t, std::unique_ptr<Buffers>> cache;
        auto& slot = cache[n];
        if (!slot)
        {
            slot = std::make_unique<Buffers>();
            xtrain::Rng rng(n);
            slot->params = xt::xtensor<float, 1>::from_shape({n});
            slot->grads = xt::xtensor<float, 1>::from_shape({n});
            for (std::size_t i = 0; i < n; ++i)
            {
                slot->params(i) = static_cast<float>(rng.normal());
                slot->grads(i) = static_cast<float>(0.01 * rng.normal());
            }
            slot->state_a = xt::zeros<float>({n});
            slot->state_b = xt::zeros<float>({n});
        }
        return *slot;
    }

    template <Kind K>
    auto make_policy()
    {
        if constexpr (K == sgd || K == sgd_momentum)
        {
            xtrain::SGD h;
            h.lr = lr;
            h.momentum = K == sgd_momentum ? momentum : 0.0;
            return h;
        }
        else if constexpr (K == adam)
        {
            xtrain::Adam h;
            h.lr = lr;
            return h;
        }
        else
        {
            xtrain::AdamW h;
            h.lr = lr;
            h.weight_decay = wd;
            return h;
        }
    }

    // One optimizer per kind and size, kept across the benchmark's runs so its state is warm.
    template <Kind K>
    auto& optimizer(std::size_t n)
    {
        using Opt = xtrain::Optimizer<decltype(make_policy<K>())>;
        static std::map<std::size_t, std::unique_ptr<Opt>> cache;
        auto& slot = cache[n];
        if (!slot)
        {
            slot = std::make_unique<Opt>(make_policy<K>());
        }
        return *slot;
    }

    // --- The hand-written fused loops: what a careful programmer writes for one rule and one type.

    void hand_sgd(float* p, const float* g, std::size_t n, float rate)
    {
        for (std::size_t i = 0; i < n; ++i)
        {
            p[i] -= rate * g[i];
        }
    }

    void hand_momentum(float* p, const float* g, float* b, std::size_t n, float rate, float mu)
    {
        for (std::size_t i = 0; i < n; ++i)
        {
            b[i] = mu * b[i] + g[i];
            p[i] -= rate * b[i];
        }
    }

    template <bool Decoupled>
    void hand_adam(float* p, const float* g, float* m, float* v, std::size_t n, std::size_t t)
    {
        const float b1 = 0.9f;
        const float b2 = 0.999f;
        const float c1 = 1.0f - b1;
        const float c2 = 1.0f - b2;
        const float eps = 1e-8f;
        const float step = static_cast<float>(lr / (1.0 - std::pow(0.9, static_cast<double>(t))));
        const float inv_bc2 = static_cast<float>(1.0 / std::sqrt(1.0 - std::pow(0.999, static_cast<double>(t))));
        const float decay = static_cast<float>(1.0 - lr * wd);
        for (std::size_t i = 0; i < n; ++i)
        {
            float pi = p[i];
            if constexpr (Decoupled)
            {
                pi *= decay;
            }
            const float gi = g[i];
            m[i] = b1 * m[i] + c1 * gi;
            v[i] = b2 * v[i] + c2 * gi * gi;
            p[i] = pi - step * m[i] / (std::sqrt(v[i]) * inv_bc2 + eps);
        }
    }

    template <Kind K>
    void hand_step(Buffers& b, std::size_t& t)
    {
        const std::size_t n = b.params.size();
        ++t;
        if constexpr (K == sgd)
        {
            hand_sgd(b.params.data(), b.grads.data(), n, static_cast<float>(lr));
        }
        else if constexpr (K == sgd_momentum)
        {
            hand_momentum(b.params.data(), b.grads.data(), b.state_a.data(), n, static_cast<float>(lr),
                          static_cast<float>(momentum));
        }
        else
        {
            hand_adam<K == adamw>(b.params.data(), b.grads.data(), b.state_a.data(), b.state_b.data(), n, t);
        }
    }

    template <Kind K>
    void bm_xtrain(benchmark::State& state)
    {
        const auto n = static_cast<std::size_t>(state.range(0));
        Buffers& b = buffers(n);
        auto& opt = optimizer<K>(n);
        for (int warm = 0; warm < 3; ++warm)
        {
            opt.step(b.params, b.grads);
        }
        for (auto _ : state)
        {
            opt.step(b.params, b.grads);
            benchmark::DoNotOptimize(b.params.data());
            benchmark::ClobberMemory();
        }
        state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
    }

    template <Kind K>
    void bm_hand(benchmark::State& state)
    {
        const auto n = static_cast<std::size_t>(state.range(0));
        Buffers& b = buffers(n);
        static std::map<std::size_t, std::size_t> steps; // the hand Adam's step count, per size
        std::size_t& t = steps[n];
        for (int warm = 0; warm < 3; ++warm)
        {
            hand_step<K>(b, t);
        }
        for (auto _ : state)
        {
            hand_step<K>(b, t);
            benchmark::DoNotOptimize(b.params.data());
            benchmark::ClobberMemory();
        }
        state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
    }

    void sizes(benchmark::internal::Benchmark* b)
    {
        b->Arg(10'000)->Arg(1'000'000)->Arg(10'000'000)->Unit(benchmark::kMicrosecond);
    }
}

// Adam's step on a state whose second moments are subnormal, as Fashion-MNIST's border pixels leave
// them: with the flush (the default) and without it, one baseline for the other. 101 770 parameters,
// the main job's MLP 784-128-10; half of them have a zero gradient and a decaying subnormal moment.
template <bool Flush>
void bm_adam_subnormal(benchmark::State& state)
{
    const std::size_t n = 101770;
    xt::xtensor<float, 1> params = xt::zeros<float>({n});
    xt::xtensor<float, 1> grads = xt::zeros<float>({n});
    for (std::size_t i = 0; i < n; i += 2)
    {
        grads(i) = 1e-3f;
    }
    xtrain::Optimizer<xtrain::Adam> adam;
    adam.set_flush_subnormals(Flush);
    adam.step(params, grads);
    for (auto _ : state)
    {
        state.PauseTiming();
        // Put the zero-gradient half back into the subnormal range, where the step leaves it only
        // after thousands of steps (beta2 = 0.999 takes about 16 000 to cross it).
        auto& v = const_cast<xt::xtensor<float, 1>&>(adam.state<float>()->exp_avg_sq);
        auto& m = const_cast<xt::xtensor<float, 1>&>(adam.state<float>()->exp_avg);
        for (std::size_t i = 1; i < n; i += 2)
        {
            v(i) = 1e-39f;
            m(i) = 1e-39f;
        }
        state.ResumeTiming();
        adam.step(params, grads);
        benchmark::DoNotOptimize(params.data());
    }
    state.counters["ns_per_param"] = benchmark::Counter(
        static_cast<double>(state.iterations()) * static_cast<double>(n) * 1e-9,
        benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(bm_adam_subnormal<true>)->Name("xtrain/Adam/subnormal state/flush")->Unit(benchmark::kMicrosecond);
BENCHMARK(bm_adam_subnormal<false>)->Name("xtrain/Adam/subnormal state/no flush")->Unit(benchmark::kMicrosecond);

BENCHMARK(bm_hand<sgd>)->Name("hand/SGD")->Apply(sizes);
BENCHMARK(bm_xtrain<sgd>)->Name("xtrain/SGD")->Apply(sizes);
BENCHMARK(bm_hand<sgd_momentum>)->Name("hand/SGD+momentum")->Apply(sizes);
BENCHMARK(bm_xtrain<sgd_momentum>)->Name("xtrain/SGD+momentum")->Apply(sizes);
BENCHMARK(bm_hand<adam>)->Name("hand/Adam")->Apply(sizes);
BENCHMARK(bm_xtrain<adam>)->Name("xtrain/Adam")->Apply(sizes);
BENCHMARK(bm_hand<adamw>)->Name("hand/AdamW")->Apply(sizes);
BENCHMARK(bm_xtrain<adamw>)->Name("xtrain/AdamW")->Apply(sizes);
