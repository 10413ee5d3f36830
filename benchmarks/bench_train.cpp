// One training step of an MLP 784-256-10 (float) at B = 1 ... 1024, beside the bare BLAS GEMMs
// that step needs, in the same program:
//   BM_train_step/B : model.loss_and_gradient(batch, grad) and an SGD update p -= lr * g
//   BM_loss_and_gradient/B : the same without the update
//   BM_gemm_floor/B : the five products of that step into preallocated buffers (forward X W1^T and
//                     H W2^T; weight gradients dZ^T H and dH^T X; input gradient dZ W2 of layer 2
//                     only; the first layer's input gradient is not needed)
// The ratio step / floor is the overhead of everything else (bias, ReLU, softmax cross-entropy,
// bias gradients, the update). "allocs_per_step" counts operator new calls inside the timed loop.
// Run: OPENBLAS_NUM_THREADS=1 bench_train --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>
#include <vector>

#include <xtrain/core.hpp>
#include <xtrain/model.hpp>

// Counting allocation functions for this program, so that the step can show it allocates nothing.
// g++ inlines them into this file's static initialisers and then mistakes the free() of a pointer
// from the replaced operator new for a mismatch; the pairing here is correct by construction.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
namespace
{
    std::atomic<std::size_t> g_allocations{0};
}
void* operator new(std::size_t n)
{
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n == 0 ? 1 : n))
    {
        return p;
    }
    throw std::bad_alloc();
}
void* operator new[](std::size_t n)
{
    return operator new(n);
}
void* operator new(std::size_t n, std::align_val_t al)
{
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    const auto a = static_cast<std::size_t>(al);
    if (void* p = std::aligned_alloc(a, ((n == 0 ? 1 : n) + a - 1) / a * a))
    {
        return p;
    }
    throw std::bad_alloc();
}
void* operator new[](std::size_t n, std::align_val_t al)
{
    return operator new(n, al);
}
void operator delete(void* p) noexcept
{
    std::free(p);
}
void operator delete[](void* p) noexcept
{
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept
{
    std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept
{
    std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept
{
    std::free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept
{
    std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept
{
    std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept
{
    std::free(p);
}

namespace
{
    constexpr std::size_t in_dim = 784;
    constexpr std::size_t hidden = 256;
    constexpr std::size_t classes = 10;
    constexpr std::size_t max_batch = 1024;

    struct Data
    {
        std::vector<float> x;
        std::vector<xtrain::label_type> y;
        Data() : x(max_batch * in_dim), y(max_batch)
        {
            xtrain::Rng rng(1);
            for (float& v : x)
            {
                v = rng.uniform_float();
            }
            for (auto& c : y)
            {
                c = static_cast<xtrain::label_type>(rng.uniform_index(classes));
            }
        }
    };

    const Data& data()
    {
        static const Data d;
        return d;
    }

    void BM_train_step(benchmark::State& state)
    {
        const auto b = static_cast<std::size_t>(state.range(0));
        xtrain::Sequential<xtrain::Dense<in_dim, hidden>, xtrain::ReLU, xtrain::Dense<hidden, classes>,
                           xtrain::SoftmaxCrossEntropy>
            model(42);
        xt::xtensor<float, 1> grad = model.parameters().zeros_like();
        xtrain::Batch<float> batch;
        batch.features = data().x.data();
        batch.size = b;
        batch.feature_dim = in_dim;
        batch.labels = data().y.data();
        const float lr = 1e-3f; // small, so that repeated steps on one batch stay finite
        float* p = model.parameters().data();
        const std::size_t n = model.parameters().size();
        model.loss_and_gradient(batch, grad); // allocates the buffers
        const std::size_t before = g_allocations.load();
        for (auto _ : state)
        {
            const float loss = model.loss_and_gradient(batch, grad);
            benchmark::DoNotOptimize(loss);
            const float* g = grad.data();
            for (std::size_t i = 0; i < n; ++i)
            {
                p[i] -= lr * g[i];
            }
            benchmark::ClobberMemory();
        }
        state.counters["allocs_per_step"] = benchmark::Counter(
            static_cast<double>(g_allocations.load() - before) / static_cast<double>(state.iterations()));
        state.counters["samples_per_s"] =
            benchmark::Counter(static_cast<double>(b), benchmark::Counter::kIsIterationInvariantRate);
    }

    // loss_and_gradient alone: separates the model's own cost from the update's full pass over
    // the 203 530 parameters, which dominates the step at small B.
    void BM_loss_and_gradient(benchmark::State& state)
    {
        const auto b = static_cast<std::size_t>(state.range(0));
        xtrain::Sequential<xtrain::Dense<in_dim, hidden>, xtrain::ReLU, xtrain::Dense<hidden, classes>,
                           xtrain::SoftmaxCrossEntropy>
            model(42);
        xt::xtensor<float, 1> grad = model.parameters().zeros_like();
        xtrain::Batch<float> batch;
        batch.features = data().x.data();
        batch.size = b;
        batch.feature_dim = in_dim;
        batch.labels = data().y.data();
        model.loss_and_gradient(batch, grad);
        const std::size_t before = g_allocations.load();
        for (auto _ : state)
        {
            const float loss = model.loss_and_gradient(batch, grad);
            benchmark::DoNotOptimize(loss);
            benchmark::ClobberMemory();
        }
        state.counters["allocs_per_step"] = benchmark::Counter(
            static_cast<double>(g_allocations.load() - before) / static_cast<double>(state.iterations()));
    }

    void BM_gemm_floor(benchmark::State& state)
    {
        const auto b = static_cast<std::size_t>(state.range(0));
        std::vector<float> w1(hidden * in_dim, 0.01f), w2(classes * hidden, 0.01f);
        std::vector<float> h(max_batch * hidden), z(max_batch * classes), dz(max_batch * classes, 0.001f);
        std::vector<float> dh(max_batch * hidden), dw1(hidden * in_dim), dw2(classes * hidden);
        const float* x = data().x.data();
        for (auto _ : state)
        {
            xtrain::detail::nn::gemm(false, true, b, hidden, in_dim, 1.0f, x, in_dim, w1.data(), in_dim, 0.0f, h.data(),
                                 hidden);
            xtrain::detail::nn::gemm(false, true, b, classes, hidden, 1.0f, h.data(), hidden, w2.data(), hidden, 0.0f,
                                 z.data(), classes);
            xtrain::detail::nn::gemm(true, false, classes, hidden, b, 1.0f, dz.data(), classes, h.data(), hidden, 0.0f,
                                 dw2.data(), hidden);
            xtrain::detail::nn::gemm(false, false, b, hidden, classes, 1.0f, dz.data(), classes, w2.data(), hidden, 0.0f,
                                 dh.data(), hidden);
            xtrain::detail::nn::gemm(true, false, hidden, in_dim, b, 1.0f, dh.data(), hidden, x, in_dim, 0.0f, dw1.data(),
                                 in_dim);
            benchmark::ClobberMemory();
        }
        state.counters["samples_per_s"] =
            benchmark::Counter(static_cast<double>(b), benchmark::Counter::kIsIterationInvariantRate);
    }
}

BENCHMARK(BM_train_step)->RangeMultiplier(2)->Range(1, 1024)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_loss_and_gradient)->RangeMultiplier(2)->Range(1, 1024)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_gemm_floor)->RangeMultiplier(2)->Range(1, 1024)->Unit(benchmark::kMicrosecond)->UseRealTime();
