// The GEMM floor of the main job's runs: what the matrix products of the default model (MLP
// 784-128-10, float, lr_batch_sweep's --model mlp:128) cost on one thread, with nothing else.
//   BM_sweep_step_floor/B  the five products of one training update at batch B (forward X W1^T and
//                          H W2^T; weight gradients dZ^T H and dH^T X; input gradient dZ W2 of the
//                          second layer; the first layer's input gradient is not needed)
//   BM_sweep_eval_floor/B  the two forward products of an evaluation batch of B rows (the sweep
//                          evaluates in batches of RunSettings::eval_batch_size, 1000 by default)
//   BM_sweep_run<Opt, NoiseScale>/B  one whole run of the main job at batch B, as lr_batch_sweep makes it
//                          (make_trainer_run with its defaults: divergence guard, gradient noise
//                          scale every 8 updates (NoiseScale = false: switched off, as
//                          --noise-scale 0 does), 4 evaluations per epoch on 10 000 rows, SGD or
//                          Adam), for one epoch of 50 000 rows of the same shape as Fashion-MNIST
//                          (Gaussian blobs; a run stopped before the end of its epoch is an error)
// Counters: floor_us_per_sample is the floor per training (or evaluated) row in real time;
// examples and evaluated_rows are per iteration of a run, to divide its CPU time by.
// benchmarks/compare/sweep_floor.py turns the CPU times into the cost of a sweep's run per
// training example against its floor (the update's products plus its share of the evaluations'),
// at each B, and over a results folder's runs when given one:
//   OPENBLAS_NUM_THREADS=1 bench_sweep_floor --benchmark_repetitions=3 --benchmark_out=floor.json
//   /usr/bin/python3 benchmarks/compare/sweep_floor.py floor.json [results/lr_batch_sweep]
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <xtrain/data.hpp>
#include <xtrain/experiment.hpp>
#include <xtrain/model.hpp>

namespace
{
    constexpr std::size_t in_dim = 784;
    constexpr std::size_t hidden = 128;
    constexpr std::size_t classes = 10;
    constexpr std::size_t train_rows = 50000;
    constexpr std::size_t validation_rows = 10000;

    void BM_sweep_step_floor(benchmark::State& state)
    {
        using xtrain::detail::nn::blas_gemm;
        const auto b = static_cast<std::size_t>(state.range(0));
        std::vector<float> x(b * in_dim, 0.5f), w1(hidden * in_dim, 0.01f), w2(classes * hidden, 0.01f);
        std::vector<float> h(b * hidden), z(b * classes), dz(b * classes, 0.001f);
        std::vector<float> dh(b * hidden), dw1(hidden * in_dim), dw2(classes * hidden);
        for (auto _ : state)
        {
            blas_gemm(false, true, b, hidden, in_dim, 1.0f, x.data(), in_dim, w1.data(), in_dim, 0.0f, h.data(), hidden);
            blas_gemm(false, true, b, classes, hidden, 1.0f, h.data(), hidden, w2.data(), hidden, 0.0f, z.data(), classes);
            blas_gemm(true, false, classes, hidden, b, 1.0f, dz.data(), classes, h.data(), hidden, 0.0f, dw2.data(), hidden);
            blas_gemm(false, false, b, hidden, classes, 1.0f, dz.data(), classes, w2.data(), hidden, 0.0f, dh.data(), hidden);
            blas_gemm(true, false, hidden, in_dim, b, 1.0f, dh.data(), hidden, x.data(), in_dim, 0.0f, dw1.data(), in_dim);
            benchmark::ClobberMemory();
        }
        state.counters["floor_us_per_sample"] = benchmark::Counter(
            static_cast<double>(state.iterations()) * static_cast<double>(b) * 1e-6,
            benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
    }

    void BM_sweep_eval_floor(benchmark::State& state)
    {
        using xtrain::detail::nn::blas_gemm;
        const auto b = static_cast<std::size_t>(state.range(0));
        std::vector<float> x(b * in_dim, 0.5f), w1(hidden * in_dim, 0.01f), w2(classes * hidden, 0.01f);
        std::vector<float> h(b * hidden), z(b * classes);
        for (auto _ : state)
        {
            blas_gemm(false, true, b, hidden, in_dim, 1.0f, x.data(), in_dim, w1.data(), in_dim, 0.0f, h.data(), hidden);
            blas_gemm(false, true, b, classes, hidden, 1.0f, h.data(), hidden, w2.data(), hidden, 0.0f, z.data(), classes);
            benchmark::ClobberMemory();
        }
        state.counters["floor_us_per_sample"] = benchmark::Counter(
            static_cast<double>(state.iterations()) * static_cast<double>(b) * 1e-6,
            benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
    }

    // Gaussian blobs of Fashion-MNIST's shape (784 features, 10 classes).
    xtrain::Dataset<float> blobs(std::size_t rows, std::uint64_t seed)
    {
        xtrain::datasets::BlobsOptions o;
        o.num_samples = rows;
        o.num_features = in_dim;
        o.num_classes = classes;
        o.cluster_std = 1.0;
        o.center_box = 1.0;
        o.seed = seed;
        return xtrain::datasets::gaussian_blobs<float>(o);
    }

    struct Sgd
    {
        static constexpr const char* name = "sgd";
        static constexpr double lr = 0.02;
    };
    struct Adam
    {
        static constexpr const char* name = "adam";
        static constexpr double lr = 0.0005;
    };

    template <class Opt, bool NoiseScale>
    void BM_sweep_run(benchmark::State& state)
    {
        static const xtrain::Dataset<float> train = blobs(train_rows, 1);
        static const xtrain::Dataset<float> validation = blobs(validation_rows, 2);
        xtrain::RunSettings settings; // lr_batch_sweep's defaults, but for one epoch
        settings.budget = xtrain::Budget::epochs(1);
        settings.evals_per_epoch = 4;
        settings.noise_scale_every = NoiseScale ? 8 : 0;
        const std::vector<std::size_t> widths{in_dim, hidden, classes};
        const xtrain::RunFunction run = xtrain::make_trainer_run(
            train, &validation, [widths](std::uint64_t seed) { return xtrain::MLP<float>(seed, widths); }, settings);
        xtrain::RunSpec spec;
        spec.optimizer = Opt::name;
        spec.lr = Opt::lr;
        spec.batch_size = static_cast<std::size_t>(state.range(0));
        spec.seed = 1;
        std::uint64_t examples = 0;
        std::uint64_t evaluations = 0;
        for (auto _ : state)
        {
            xtrain::EvalSink sink(spec);
            const xtrain::RunResult result = run(spec, sink);
            // A run the guard stopped early would be cheaper per example than one that trained.
            if (sink.rows().empty() || sink.rows().back().examples_seen < train_rows)
            {
                state.SkipWithError(("the run was stopped before the end of its epoch (" + result.note + ")").c_str());
                return;
            }
            examples = sink.rows().back().examples_seen;
            evaluations = sink.rows().size();
        }
        state.counters["examples"] = static_cast<double>(examples);
        state.counters["evaluated_rows"] = static_cast<double>(evaluations * validation_rows);
    }
}

BENCHMARK(BM_sweep_step_floor)->RangeMultiplier(2)->Range(1, 4096)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_sweep_eval_floor)->Arg(1000)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK_TEMPLATE(BM_sweep_run, Sgd, true)->RangeMultiplier(2)->Range(8, 2048)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK_TEMPLATE(BM_sweep_run, Adam, true)->RangeMultiplier(2)->Range(8, 2048)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK_TEMPLATE(BM_sweep_run, Sgd, false)->RangeMultiplier(2)->Range(8, 2048)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK_TEMPLATE(BM_sweep_run, Adam, false)->RangeMultiplier(2)->Range(8, 2048)->Unit(benchmark::kMillisecond)->Iterations(1);
