// One training step of an MLP 784-256-10 (float) at B = 1 ... 1024, beside the bare BLAS GEMMs
// that step needs, in the same program:
//   BM_train_step/B       model.loss_and_gradient(batch, grad), then Optimizer<SGD>::step(params, grad)
//                         on a fixed batch: the model's and the optimizer's work
//   BM_train_step_fused/B  model.loss_and_descent(batch, lr): the step with plain SGD fused into
//                         the backward pass (no gradient buffer, no optimizer pass)
//   BM_trainer_update/B   what one Trainer update does: the sampler's next indices, the gather of
//                         those rows from a 65536-sample Dataset into the batch buffer,
//                         loss_and_gradient, Optimizer<SGD>::step (driving the same parts as
//                         Trainer::fit, without its hooks and history)
//   BM_trainer_fit/B      Trainer::fit itself, 64 updates per call (Time is per call; the counters
//                         us_per_step and cpu_us_per_step are per update)
//   BM_fit_fixed<B>, BM_fit_dynamic/B  Trainer::fit as above with BatchSampler<B> against
//                         BatchSampler<dynamic>(..., B), at B = 1, 4, 8, 16, 32
//   BM_layer1<K>/B        the first layer's forward product and weight gradient, as xtrain
//                         computes them and as one plain OpenBLAS call
//   BM_loss_and_gradient/B  loss_and_gradient alone
//   BM_gemm_floor/B       the five products of that step into preallocated buffers (forward X W1^T
//                         and H W2^T; weight gradients dZ^T H and dH^T X; input gradient dZ W2 of
//                         layer 2 only; the first layer's input gradient is not needed)
// The ratio step / floor is the overhead of everything else (bias, ReLU, softmax cross-entropy,
// bias gradients, the update, and for the Trainer the gather). "allocs_per_step" counts operator
// new calls inside the timed loop, divided by the updates done.
// Run (docs/performance.md shows the table and how to read it):
//   OPENBLAS_NUM_THREADS=1 bench_train --benchmark_repetitions=9 --benchmark_enable_random_interleaving=true
//       --benchmark_report_aggregates_only=true --benchmark_out=bench_train.json
//   /usr/bin/python3 benchmarks/compare/bench_train_table.py bench_train.json
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <vector>

#include <xtrain/core.hpp>
#include <xtrain/data.hpp>
#include <xtrain/model.hpp>
#include <xtrain/optim.hpp>
#include <xtrain/train.hpp>

#include "support/random_data.hpp"

#include "support/alloc_counter.hpp"

namespace
{
    constexpr std::size_t in_dim = 784;
    constexpr std::size_t hidden = 256;
    constexpr std::size_t classes = 10;
    constexpr std::size_t max_batch = 1024;
    // Rows the Trainer variants sample from: shuffled rows scattered through 205 MB, as in an epoch
    // of Fashion-MNIST (60000 rows), so that the gather pays for cache and TLB misses as it would.
    constexpr std::size_t dataset_rows = 65536;
    constexpr std::size_t updates_per_fit = 64;

    using Model = xtrain::Sequential<xtrain::Dense<in_dim, hidden>, xtrain::ReLU, xtrain::Dense<hidden, classes>,
                                     xtrain::SoftmaxCrossEntropy>;

    const xtrain::Dataset<float>& dataset()
    {
        static const xtrain::Dataset<float> d = xtrain::bench::random_classification(dataset_rows, in_dim, classes);
        return d;
    }

    // The first B rows of the dataset as one batch (the fixed-batch benchmarks).
    xtrain::Batch<float> first_rows(std::size_t b)
    {
        return dataset().rows(0, b);
    }

    void set_counters(benchmark::State& state, std::size_t b, std::size_t allocations, std::size_t updates)
    {
        state.counters["allocs_per_step"] =
            benchmark::Counter(static_cast<double>(allocations) / static_cast<double>(updates));
        state.counters["samples_per_s"] =
            benchmark::Counter(static_cast<double>(b), benchmark::Counter::kIsIterationInvariantRate);
    }

    void BM_train_step(benchmark::State& state)
    {
        const auto b = static_cast<std::size_t>(state.range(0));
        Model model(42);
        auto opt = xtrain::bench::small_sgd();
        xt::xtensor<float, 1> grad = model.parameters().zeros_like();
        const xtrain::Batch<float> batch = first_rows(b);
        model.loss_and_gradient(batch, grad); // allocates the model's buffers
        opt.step(model.parameters(), grad);   // and the optimizer's state (none for plain SGD)
        const std::size_t before = xtrain::test::total_allocations();
        for (auto _ : state)
        {
            const float loss = model.loss_and_gradient(batch, grad);
            benchmark::DoNotOptimize(loss);
            opt.step(model.parameters(), grad);
            benchmark::ClobberMemory();
        }
        set_counters(state, b, xtrain::test::total_allocations() - before, state.iterations());
    }

    // The same step fused: loss_and_descent adds -lr times the weight gradient straight into the
    // weights (what Trainer does for plain SGD when nothing reads the gradient).
    void BM_train_step_fused(benchmark::State& state)
    {
        const auto b = static_cast<std::size_t>(state.range(0));
        Model model(42);
        const xtrain::Batch<float> batch = first_rows(b);
        model.loss_and_descent(batch, 1e-3f);
        const std::size_t before = xtrain::test::total_allocations();
        for (auto _ : state)
        {
            const float loss = model.loss_and_descent(batch, 1e-3f);
            benchmark::DoNotOptimize(loss);
            benchmark::ClobberMemory();
        }
        set_counters(state, b, xtrain::test::total_allocations() - before, state.iterations());
    }

    void BM_trainer_update(benchmark::State& state)
    {
        const auto b = static_cast<std::size_t>(state.range(0));
        const xtrain::Dataset<float>& data = dataset();
        Model model(42);
        auto opt = xtrain::bench::small_sgd();
        xt::xtensor<float, 1> grad = model.parameters().zeros_like();
        xtrain::BatchSampler<xtrain::dynamic> sampler(data.size(), b, {/*shuffle*/ true, /*drop_last*/ false, /*seed*/ 1});
        xtrain::BatchBuffer<float> buffer(data, b);
        std::size_t epoch = 0;
        sampler.start_epoch(epoch);
        auto update = [&] {
            xtrain::IndexBatch ib = sampler.next();
            if (!ib)
            {
                sampler.start_epoch(++epoch);
                ib = sampler.next();
            }
            const xtrain::Batch<float> batch = buffer.gather(data, ib);
            const float loss = model.loss_and_gradient(batch, grad);
            opt.step(model.parameters(), grad);
            return loss;
        };
        update();
        const std::size_t before = xtrain::test::total_allocations();
        for (auto _ : state)
        {
            benchmark::DoNotOptimize(update());
            benchmark::ClobberMemory();
        }
        set_counters(state, b, xtrain::test::total_allocations() - before, state.iterations());
    }

    void BM_trainer_fit(benchmark::State& state)
    {
        const auto b = static_cast<std::size_t>(state.range(0));
        const xtrain::Dataset<float>& data = dataset();
        xtrain::Trainer trainer(Model(42), xtrain::bench::small_sgd(),
                                xtrain::BatchSampler<xtrain::dynamic>(data.size(), b, {true, false, 1}));
        // The history keeps a record per update (the default); fit() reserves it, outside the loop.
        trainer.fit(data, xtrain::Budget::steps(updates_per_fit));
        const std::size_t before = xtrain::test::total_allocations();
        const auto start = std::chrono::steady_clock::now();
        const std::clock_t cpu_start = std::clock();
        for (auto _ : state)
        {
            trainer.fit(data, xtrain::Budget::steps(trainer.step() + updates_per_fit));
        }
        const double cpu_seconds = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
        const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - start;
        const std::size_t updates = state.iterations() * updates_per_fit;
        set_counters(state, b * updates_per_fit, xtrain::test::total_allocations() - before, updates);
        // The Time and CPU columns are per fit() call of 64 updates; these two are per update.
        state.counters["us_per_step"] = benchmark::Counter(1e6 * seconds.count() / static_cast<double>(updates));
        state.counters["cpu_us_per_step"] = benchmark::Counter(1e6 * cpu_seconds / static_cast<double>(updates));
    }

    // Trainer::fit with the batch size fixed at compile time (BatchSampler<B>) against the same
    // size given at run time (BatchSampler<dynamic>): what a compile-time size buys per update.
    template <class Sampler>
    void run_fit(benchmark::State& state, Sampler sampler, std::size_t b)
    {
        const xtrain::Dataset<float>& data = dataset();
        xtrain::Trainer trainer(Model(42), xtrain::bench::small_sgd(), std::move(sampler));
        trainer.fit(data, xtrain::Budget::steps(updates_per_fit));
        const std::size_t before = xtrain::test::total_allocations();
        const std::clock_t cpu_start = std::clock();
        for (auto _ : state)
        {
            trainer.fit(data, xtrain::Budget::steps(trainer.step() + updates_per_fit));
        }
        const double cpu_seconds = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
        const std::size_t updates = state.iterations() * updates_per_fit;
        set_counters(state, b * updates_per_fit, xtrain::test::total_allocations() - before, updates);
        state.counters["cpu_us_per_step"] = benchmark::Counter(1e6 * cpu_seconds / static_cast<double>(updates));
    }

    template <std::size_t B>
    void BM_fit_fixed(benchmark::State& state)
    {
        run_fit(state, xtrain::BatchSampler<B>(dataset().size(), {true, false, 1}), B);
    }

    void BM_fit_dynamic(benchmark::State& state)
    {
        const auto b = static_cast<std::size_t>(state.range(0));
        run_fit(state, xtrain::BatchSampler<xtrain::dynamic>(dataset().size(), b, {true, false, 1}), b);
    }

    // loss_and_gradient alone: separates the model's own cost from the update's full pass over
    // the 203 530 parameters, which dominates the step at small B.
    void BM_loss_and_gradient(benchmark::State& state)
    {
        const auto b = static_cast<std::size_t>(state.range(0));
        Model model(42);
        xt::xtensor<float, 1> grad = model.parameters().zeros_like();
        const xtrain::Batch<float> batch = first_rows(b);
        model.loss_and_gradient(batch, grad);
        const std::size_t before = xtrain::test::total_allocations();
        for (auto _ : state)
        {
            const float loss = model.loss_and_gradient(batch, grad);
            benchmark::DoNotOptimize(loss);
            benchmark::ClobberMemory();
        }
        set_counters(state, b, xtrain::test::total_allocations() - before, state.iterations());
    }

    void BM_gemm_floor(benchmark::State& state)
    {
        using xtrain::detail::nn::blas_gemm;
        const auto b = static_cast<std::size_t>(state.range(0));
        std::vector<float> w1(hidden * in_dim, 0.01f), w2(classes * hidden, 0.01f);
        std::vector<float> h(max_batch * hidden), z(max_batch * classes), dz(max_batch * classes, 0.001f);
        std::vector<float> dh(max_batch * hidden), dw1(hidden * in_dim), dw2(classes * hidden);
        const float* x = first_rows(b).features;
        for (auto _ : state)
        {
            blas_gemm(false, true, b, hidden, in_dim, 1.0f, x, in_dim, w1.data(), in_dim, 0.0f, h.data(), hidden);
            blas_gemm(false, true, b, classes, hidden, 1.0f, h.data(), hidden, w2.data(), hidden, 0.0f, z.data(), classes);
            blas_gemm(true, false, classes, hidden, b, 1.0f, dz.data(), classes, h.data(), hidden, 0.0f, dw2.data(), hidden);
            blas_gemm(false, false, b, hidden, classes, 1.0f, dz.data(), classes, w2.data(), hidden, 0.0f, dh.data(), hidden);
            blas_gemm(true, false, hidden, in_dim, b, 1.0f, dh.data(), hidden, x, in_dim, 0.0f, dw1.data(), in_dim);
            benchmark::ClobberMemory();
        }
        state.counters["samples_per_s"] =
            benchmark::Counter(static_cast<double>(b), benchmark::Counter::kIsIterationInvariantRate);
    }

    // The first layer's two large products at batch B, as xtrain computes them (detail::nn::gemm:
    // row slices on OpenBLAS's small-matrix path; weight_gradient: libxsmm up to B = 32 when built
    // with it) and as one plain OpenBLAS call: what the small-batch kernels buy, product by product.
    enum class Kernel
    {
        forward_blas,
        forward_xtrain,
        weight_gradient_blas,
        weight_gradient_xtrain
    };

    template <Kernel K>
    void BM_layer1(benchmark::State& state)
    {
        namespace nn = xtrain::detail::nn;
        const auto b = static_cast<std::size_t>(state.range(0));
        std::vector<float> w(hidden * in_dim, 0.01f), y(max_batch * hidden), dh(max_batch * hidden, 0.001f);
        std::vector<float> dw(hidden * in_dim), scratch(max_batch * hidden);
        const float* x = first_rows(b).features;
        for (auto _ : state)
        {
            if constexpr (K == Kernel::forward_blas)
            {
                nn::blas_gemm(false, true, b, hidden, in_dim, 1.0f, x, in_dim, w.data(), in_dim, 0.0f, y.data(), hidden);
            }
            else if constexpr (K == Kernel::forward_xtrain)
            {
                nn::gemm(false, true, b, hidden, in_dim, 1.0f, x, in_dim, w.data(), in_dim, 0.0f, y.data(), hidden);
            }
            else if constexpr (K == Kernel::weight_gradient_blas)
            {
                nn::blas_gemm(true, false, hidden, in_dim, b, 1.0f, dh.data(), hidden, x, in_dim, 0.0f, dw.data(), in_dim);
            }
            else
            {
                nn::weight_gradient(hidden, in_dim, b, 1.0f, dh.data(), x, 0.0f, dw.data(), scratch.data());
            }
            benchmark::ClobberMemory();
        }
    }
}

// Real time, so that the figures stay right when BLAS runs threads (OPENBLAS_NUM_THREADS > 1).
BENCHMARK(BM_train_step)->RangeMultiplier(2)->Range(1, max_batch)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_train_step_fused)->RangeMultiplier(2)->Range(1, max_batch)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_trainer_update)->RangeMultiplier(2)->Range(1, max_batch)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_trainer_fit)->RangeMultiplier(2)->Range(1, max_batch)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK_TEMPLATE(BM_fit_fixed, 1)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK_TEMPLATE(BM_fit_fixed, 4)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK_TEMPLATE(BM_fit_fixed, 8)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK_TEMPLATE(BM_fit_fixed, 16)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK_TEMPLATE(BM_fit_fixed, 32)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_fit_dynamic)->Arg(1)->Arg(4)->Arg(8)->Arg(16)->Arg(32)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK_TEMPLATE(BM_layer1, Kernel::forward_blas)->RangeMultiplier(2)->Range(1, 64)->Arg(512)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK_TEMPLATE(BM_layer1, Kernel::forward_xtrain)->RangeMultiplier(2)->Range(1, 64)->Arg(512)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK_TEMPLATE(BM_layer1, Kernel::weight_gradient_blas)->RangeMultiplier(2)->Range(1, 64)->Arg(512)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK_TEMPLATE(BM_layer1, Kernel::weight_gradient_xtrain)->RangeMultiplier(2)->Range(1, 64)->Arg(512)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_loss_and_gradient)->RangeMultiplier(2)->Range(1, max_batch)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_gemm_floor)->RangeMultiplier(2)->Range(1, max_batch)->Unit(benchmark::kMicrosecond)->UseRealTime();
