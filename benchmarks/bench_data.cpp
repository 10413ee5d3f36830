// Benchmarks of the data path: the shuffled gather of a batch against memcpy of the same bytes
// from contiguous rows, at B = 1 ... 4096 rows of 784 floats (N = 60000, Fashion-MNIST's shape);
// the cost of a new epoch's permutation; and reading Fashion-MNIST against inflating its files.
//   OPENBLAS_NUM_THREADS=1 ./bench_data --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//       --benchmark_enable_random_interleaving=true
// items_per_second is samples per second; compare gather/B with memcpy/B at the same B.
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>
#include <vector>

#include <zlib.h>

#include "xtrain/data.hpp"

namespace
{
    constexpr std::size_t num_samples = 60000;
    constexpr std::size_t dim = 784;

    // Built once and shared: 188 MB, far larger than the caches, like the real dataset.
    const xtrain::Dataset<float>& dataset()
    {
        static const xtrain::Dataset<float> d = [] {
            xtrain::Dataset<float> ds;
            ds.name = "bench";
            ds.features = xt::xtensor<float, 2>::from_shape({num_samples, dim});
            ds.labels = xt::xtensor<xtrain::label_type, 1>::from_shape({num_samples});
            xtrain::Rng rng(1);
            for (float& v : ds.features)
            {
                v = rng.uniform_float();
            }
            for (std::size_t i = 0; i < num_samples; ++i)
            {
                ds.labels(i) = static_cast<xtrain::label_type>(i % 10);
            }
            ds.sample_shape = {1, 28, 28};
            ds.num_classes = 10;
            return ds;
        }();
        return d;
    }

    // The sampler's permutation, cut into batches, gathered into the batch buffer.
    void BM_gather(benchmark::State& state)
    {
        const auto& d = dataset();
        const auto b = static_cast<std::size_t>(state.range(0));
        xtrain::BatchSampler<xtrain::dynamic> sampler(d.size(), b, {true, true, 42});
        xtrain::BatchBuffer<float> buffer(d, b);
        std::size_t epoch = 0;
        for (auto _ : state)
        {
            xtrain::IndexBatch ib = sampler.next();
            if (ib.size == 0)
            {
                state.PauseTiming();
                sampler.start_epoch(++epoch);
                state.ResumeTiming();
                ib = sampler.next();
            }
            const xtrain::Batch<float> batch = buffer.gather(d, ib);
            benchmark::DoNotOptimize(batch.features);
            benchmark::ClobberMemory();
        }
        state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * b));
        state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * b * (dim * sizeof(float) + sizeof(xtrain::label_type))));
    }

    // The baseline: memcpy of the same number of bytes from consecutive rows, walking through the
    // dataset as the gather does (so both read from memory, not from the cache).
    void BM_memcpy(benchmark::State& state)
    {
        const auto& d = dataset();
        const auto b = static_cast<std::size_t>(state.range(0));
        std::vector<float> features(b * dim, 0.0f);
        std::vector<xtrain::label_type> labels(b, 0);
        std::size_t row = 0;
        for (auto _ : state)
        {
            if (row + b > num_samples)
            {
                row = 0;
            }
            std::memcpy(features.data(), d.features.data() + row * dim, b * dim * sizeof(float));
            std::memcpy(labels.data(), d.labels.data() + row, b * sizeof(xtrain::label_type));
            row += b;
            benchmark::DoNotOptimize(features.data());
            benchmark::ClobberMemory();
        }
        state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * b));
        state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * b * (dim * sizeof(float) + sizeof(xtrain::label_type))));
    }

    // A new epoch: the permutation of 60000 indices (Fisher-Yates with xoshiro256**).
    void BM_start_epoch(benchmark::State& state)
    {
        xtrain::BatchSampler<32> sampler(num_samples, {true, false, 42});
        std::size_t epoch = 0;
        for (auto _ : state)
        {
            sampler.start_epoch(++epoch);
            benchmark::DoNotOptimize(sampler.permutation().data());
        }
        state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * num_samples));
    }

    // Reading Fashion-MNIST (70000 images: inflate, convert to float / 255, labels).
    void BM_fashion_mnist_read(benchmark::State& state)
    {
        if (!xtrain::datasets::fashion_mnist_available())
        {
            state.SkipWithError("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)");
            return;
        }
        for (auto _ : state)
        {
            auto data = xtrain::datasets::fashion_mnist();
            benchmark::DoNotOptimize(data.train.features.data());
            // Freeing 220 MB is not part of reading (a program reads once and keeps the data).
            state.PauseTiming();
            data = {};
            state.ResumeTiming();
        }
    }

    // Its floor on one thread: zlib inflating the four files into a reused buffer, nothing else.
    void BM_fashion_mnist_inflate_only(benchmark::State& state)
    {
        if (!xtrain::datasets::fashion_mnist_available())
        {
            state.SkipWithError("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)");
            return;
        }
        std::vector<char> buf(std::size_t{1} << 16);
        for (auto _ : state)
        {
            std::size_t total = 0;
            for (const char* f : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                                  "t10k-labels-idx1-ubyte"})
            {
                // The file the reader would open (.gz or plain: gzread reads both).
                const std::string path = xtrain::detail::find_idx_file(xtrain::datasets::fashion_mnist_default_dir, f);
                gzFile g = path.empty() ? nullptr : gzopen(path.c_str(), "rb");
                if (g == nullptr)
                {
                    state.SkipWithError(("cannot open " + (path.empty() ? std::string(f) : path)).c_str());
                    return;
                }
                gzbuffer(g, 1U << 18);
                int k = 0;
                while ((k = gzread(g, buf.data(), static_cast<unsigned>(buf.size()))) > 0)
                {
                    total += static_cast<std::size_t>(k);
                }
                gzclose(g);
            }
            benchmark::DoNotOptimize(total);
        }
    }
}

// Gather and its memcpy baseline side by side at each B, so that the load of a shared machine
// weighs on both alike (add --benchmark_enable_random_interleaving=true to mix repetitions too).
static const bool registered_pairs = [] {
    for (std::int64_t b = 1; b <= 4096; b *= 2)
    {
        benchmark::RegisterBenchmark("BM_gather", BM_gather)->Arg(b);
        benchmark::RegisterBenchmark("BM_memcpy", BM_memcpy)->Arg(b);
    }
    return true;
}();
BENCHMARK(BM_start_epoch)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_fashion_mnist_read)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_fashion_mnist_inflate_only)->Unit(benchmark::kMillisecond)->Iterations(3);
