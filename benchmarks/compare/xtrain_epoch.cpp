// xtrain's side of the PyTorch comparison (compare_pytorch.sh runs it; torch_epoch.py is the other side).
//
// Trains MLP 784-256-10 (float, ReLU, softmax cross-entropy, plain SGD) for one epoch of
// Fashion-MNIST's training set with xtrain's Trainer and prints the epoch's wall time. With
// --dump DIR it writes, instead of training, what the PyTorch side needs to compute the very same
// thing: the initial parameters (DIR/init.f32, the segments 0.weight 256x784, 0.bias, 2.weight
// 10x256, 2.bias, float32 little-endian, as torch.nn.Linear stores them) and the epoch's
// permutation (DIR/perm.i64). With --losses PATH it writes the first 20 batch losses, one a line,
// for the check that both sides compute the same thing.
//
//   xtrain_epoch --batch B [--limit N] [--lr X] [--seed S] [--threads T] [--losses PATH]
//   xtrain_epoch --dump DIR [--limit N] [--seed S]
#include <xtrain/xtrain.hpp>

#include <chrono>
#include <ctime>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

namespace
{
    using Model = xtrain::Sequential<xtrain::Dense<784, 256>, xtrain::ReLU, xtrain::Dense<256, 10>,
                                     xtrain::SoftmaxCrossEntropy>;

    struct Args
    {
        std::size_t batch = 0;
        std::size_t limit = 0;
        double lr = 0.05;
        std::uint64_t seed = 1;
        int threads = 1;
        std::string dump;
        std::string losses;
    };

    [[noreturn]] void usage(const char* why)
    {
        std::fprintf(stderr,
                     "xtrain_epoch: %s\nusage: xtrain_epoch --batch B [--limit N] [--lr X] [--seed S] [--threads T] "
                     "[--losses PATH]\n       xtrain_epoch --dump DIR [--limit N] [--seed S]\n",
                     why);
        std::exit(2);
    }

    std::uint64_t parse_count(const char* flag, const char* text)
    {
        char* end = nullptr;
        const unsigned long long v = std::strtoull(text, &end, 10);
        if (*text == '\0' || *text == '-' || *end != '\0')
        {
            usage((std::string(flag) + " needs a non-negative integer, got '" + text + "'").c_str());
        }
        return v;
    }

    Args parse(int argc, char** argv)
    {
        Args a;
        for (int i = 1; i < argc; ++i)
        {
            const std::string flag = argv[i];
            if (i + 1 >= argc)
            {
                usage(("missing value after " + flag).c_str());
            }
            const char* value = argv[++i];
            if (flag == "--batch")
            {
                a.batch = parse_count("--batch", value);
            }
            else if (flag == "--limit")
            {
                a.limit = parse_count("--limit", value);
            }
            else if (flag == "--seed")
            {
                a.seed = parse_count("--seed", value);
            }
            else if (flag == "--threads")
            {
                a.threads = static_cast<int>(parse_count("--threads", value));
            }
            else if (flag == "--lr")
            {
                char* end = nullptr;
                a.lr = std::strtod(value, &end);
                if (*end != '\0' || !(a.lr > 0.0))
                {
                    usage(("--lr needs a positive number, got '" + std::string(value) + "'").c_str());
                }
            }
            else if (flag == "--dump")
            {
                a.dump = value;
            }
            else if (flag == "--losses")
            {
                a.losses = value;
            }
            else
            {
                usage(("unknown flag " + flag).c_str());
            }
        }
        if (a.dump.empty() && a.batch == 0)
        {
            usage("give --batch B (> 0) or --dump DIR");
        }
        return a;
    }

    void write_file(const std::string& path, const void* data, std::size_t bytes)
    {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
        if (!out)
        {
            std::fprintf(stderr, "xtrain_epoch: cannot write %s\n", path.c_str());
            std::exit(1);
        }
    }
}

int main(int argc, char** argv)
try
{
    const Args a = parse(argc, argv);
    xtrain::set_blas_threads(a.threads);

    xtrain::Dataset<float> train = xtrain::datasets::fashion_mnist<float>().train; // the real data, or a clear error
    if (a.limit > 0 && a.limit < train.size())
    {
        std::vector<std::size_t> first(a.limit);
        std::iota(first.begin(), first.end(), std::size_t(0));
        train = xtrain::subset(train, first, train.name);
    }
    const xtrain::SamplerOptions sampling{/*shuffle*/ true, /*drop_last*/ false, a.seed};

    if (!a.dump.empty())
    {
        // The permutation depends on (seed, epoch) only, never on the batch size: one file serves every B.
        const Model model(a.seed);
        const auto& params = model.parameters();
        write_file(a.dump + "/init.f32", params.data(), params.size() * sizeof(float));
        xtrain::BatchSampler<xtrain::dynamic> sampler(train.size(), 1, sampling);
        sampler.start_epoch(0);
        const std::vector<std::int64_t> perm(sampler.permutation().begin(), sampler.permutation().end());
        write_file(a.dump + "/perm.i64", perm.data(), perm.size() * sizeof(std::int64_t));
        std::printf("xtrain_epoch: wrote %s/init.f32 (%zu parameters) and %s/perm.i64 (%zu samples)\n", a.dump.c_str(),
                    params.size(), a.dump.c_str(), perm.size());
        return 0;
    }

    xtrain::SGD sgd;
    sgd.lr = a.lr;
    xtrain::Trainer trainer(Model(a.seed), xtrain::Optimizer<xtrain::SGD>(sgd),
                            xtrain::BatchSampler<xtrain::dynamic>(train.size(), a.batch, sampling));
    const auto start = std::chrono::steady_clock::now();
    const std::clock_t cpu_start = std::clock();
    const xtrain::History& h = trainer.fit(train, xtrain::Budget::epochs(1));
    const double cpu_seconds = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    if (!a.losses.empty())
    {
        std::ofstream out(a.losses, std::ios::trunc);
        out.precision(9);
        for (std::size_t i = 0; i < h.steps.size() && i < 20; ++i)
        {
            out << h.steps[i].loss << '\n';
        }
    }
    std::printf("xtrain batch=%zu samples=%zu steps=%zu epoch_seconds=%.6f cpu_seconds=%.6f last_loss=%.6f\n", a.batch,
                train.size(), h.steps.size(), seconds, cpu_seconds, h.steps.back().loss);
    return 0;
}
catch (const std::exception& e)
{
    std::fprintf(stderr, "xtrain_epoch: %s\n", e.what());
    return 1;
}
