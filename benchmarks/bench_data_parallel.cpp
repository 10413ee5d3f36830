// Data-parallel training of an MLP 784-H-10 (float) over MPI, beside one process doing the same
// work, in the same run: H = 256 (fashion_mnist_mlp's, 203,530 parameters) and H = 128 (the main
// job's, 101,770). Start it under mpirun (it also runs as one process, where P = 1):
//   BM_dp_fit<H>/B       Trainer::fit with mpi::DataParallel over all P ranks at global batch B,
//                        64 updates per call (each rank computes B / P rows, then one in-place
//                        all-reduce of the flat gradient); us_per_step is per update
//   BM_one_rank_fit<H>/B the baseline: rank 0 alone runs the same Trainer at batch B without MPI
//                        while the other ranks wait at a barrier (the single-process step, measured
//                        in the same run on the same machine)
//   BM_allreduce<H>      the all-reduce alone: comm.sum_in_place over the gradient (814,120 bytes
//                        at H = 256, 407,080 at H = 128)
// speedup = BM_one_rank_fit / BM_dp_fit per B. Every rank runs the same fixed number of iterations
// (so that the collectives pair up); rank 0 alone reports. Do not pass
// --benchmark_enable_random_interleaving: the ranks would order the benchmarks differently.
// Run (docs/distributed.md shows the table):
//   OPENBLAS_NUM_THREADS=1 mpirun -np 2 bench_data_parallel --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true --benchmark_out=bench_data_parallel.json
#include <benchmark/benchmark.h>

#include <mpi.h>

#include <chrono>
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include <xtrain/core.hpp>
#include <xtrain/data.hpp>
#include <xtrain/distributed/mpi.hpp>
#include <xtrain/model.hpp>
#include <xtrain/optim.hpp>
#include <xtrain/train.hpp>

#include "support/random_data.hpp"

namespace
{
    constexpr std::size_t in_dim = 784;
    constexpr std::size_t classes = 10;
    constexpr std::size_t dataset_rows = 32768;
    constexpr std::size_t updates_per_fit = 64;
    constexpr benchmark::IterationCount iterations = 4;

    template <std::size_t H>
    using Model = xtrain::Sequential<xtrain::Dense<in_dim, H>, xtrain::ReLU, xtrain::Dense<H, classes>,
                                     xtrain::SoftmaxCrossEntropy>;

    // Random rows, the same on every rank (the same seed): each rank holds the whole dataset, as
    // the examples do, and gathers its slice of every global batch.
    const xtrain::Dataset<float>& dataset()
    {
        static const xtrain::Dataset<float> d = xtrain::bench::random_classification(dataset_rows, in_dim, classes);
        return d;
    }

    xtrain::BatchSampler<xtrain::dynamic> sampler(std::size_t b)
    {
        return xtrain::BatchSampler<xtrain::dynamic>(dataset_rows, b, xtrain::SamplerOptions::shuffled(1));
    }

    template <class Trainer>
    void time_fits(benchmark::State& state, Trainer& trainer, std::size_t b)
    {
        const xtrain::Dataset<float>& data = dataset();
        trainer.fit(data, xtrain::Budget::steps(updates_per_fit));  // warm: buffers sized, history reserved
        const auto start = std::chrono::steady_clock::now();
        for (auto _ : state)
        {
            trainer.fit(data, xtrain::Budget::steps(trainer.step() + updates_per_fit));
        }
        const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - start;
        const double updates = static_cast<double>(state.iterations() * updates_per_fit);
        state.counters["us_per_step"] = benchmark::Counter(1e6 * seconds.count() / updates);
        state.counters["samples_per_s"] = benchmark::Counter(static_cast<double>(b) * updates / seconds.count());
    }

    template <std::size_t H>
    void BM_dp_fit(benchmark::State& state)
    {
        const auto b = static_cast<std::size_t>(state.range(0));
        const xtrain::mpi::Communicator comm;
        xtrain::Trainer trainer(Model<H>(42), xtrain::bench::small_sgd(), comm.slice(sampler(b)), xtrain::mpi::DataParallel(comm));
        MPI_Barrier(comm.handle());
        time_fits(state, trainer, b);
        state.counters["ranks"] = benchmark::Counter(static_cast<double>(comm.size()));
    }

    template <std::size_t H>
    void BM_one_rank_fit(benchmark::State& state)
    {
        const auto b = static_cast<std::size_t>(state.range(0));
        const xtrain::mpi::Communicator comm;
        MPI_Barrier(comm.handle());
        if (comm.is_root())
        {
            xtrain::Trainer trainer(Model<H>(42), xtrain::bench::small_sgd(), sampler(b));
            time_fits(state, trainer, b);
        }
        else
        {
            for (auto _ : state)
            {
            }
        }
        MPI_Barrier(comm.handle());
    }

    template <std::size_t H>
    void BM_allreduce(benchmark::State& state)
    {
        const xtrain::mpi::Communicator comm;
        std::vector<float> grad(Model<H>(42).parameters().size(), 1.0f);
        MPI_Barrier(comm.handle());
        for (auto _ : state)
        {
            comm.sum_in_place(grad.data(), grad.size());
            benchmark::ClobberMemory();
        }
        state.counters["bytes"] = benchmark::Counter(static_cast<double>(grad.size() * sizeof(float)));
        state.counters["ranks"] = benchmark::Counter(static_cast<double>(comm.size()));
    }

    class NullReporter : public benchmark::BenchmarkReporter
    {
    public:
        bool ReportContext(const Context&) override { return true; }
        void ReportRuns(const std::vector<Run>&) override {}
    };
}

// Fixed iterations: every rank must make the same collective calls.
BENCHMARK_TEMPLATE(BM_dp_fit, 256)->RangeMultiplier(2)->Range(16, 4096)->Iterations(iterations)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_TEMPLATE(BM_one_rank_fit, 256)->RangeMultiplier(2)->Range(16, 4096)->Iterations(iterations)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_TEMPLATE(BM_allreduce, 256)->Iterations(200)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK_TEMPLATE(BM_dp_fit, 128)->RangeMultiplier(2)->Range(16, 2048)->Iterations(iterations)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_TEMPLATE(BM_one_rank_fit, 128)->RangeMultiplier(2)->Range(16, 2048)->Iterations(iterations)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_TEMPLATE(BM_allreduce, 128)->Iterations(200)->Unit(benchmark::kMicrosecond)->UseRealTime();

int main(int argc, char** argv)
{
    xtrain::mpi::Environment environment(argc, argv);
    const xtrain::mpi::Communicator comm;
    // Rank 0 reports; the others run the same benchmarks silently and write no file.
    std::vector<char*> args;
    for (int i = 0; i < argc; ++i)
    {
        if (comm.is_root() || std::strncmp(argv[i], "--benchmark_out", 15) != 0)
        {
            args.push_back(argv[i]);
        }
    }
    int count = static_cast<int>(args.size());
    benchmark::Initialize(&count, args.data());
    if (benchmark::ReportUnrecognizedArguments(count, args.data()))
    {
        return 1;
    }
    if (comm.is_root())
    {
        benchmark::RunSpecifiedBenchmarks();
    }
    else
    {
        NullReporter quiet;
        benchmark::RunSpecifiedBenchmarks(&quiet);
    }
    benchmark::Shutdown();
    return 0;
}
