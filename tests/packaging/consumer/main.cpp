// A program that uses xtrain as another project would: only <xtrain/xtrain.hpp>.
// It trains a small MLP on a synthetic task with the Trainer and checks that it learned, then
// prints "xtrain consumer: ok"; the packaging tests look for that line.
#include <xtrain/xtrain.hpp>

#include <cstdio>

int main()
{
    xtrain::datasets::BlobsOptions o;
    o.num_samples = 600;
    o.num_features = 4;
    o.num_classes = 3;
    o.seed = 7;
    const xtrain::Dataset<float> data = xtrain::datasets::gaussian_blobs<float>(o);

    xtrain::SGD h;
    h.lr = 0.05;
    h.momentum = 0.9;
    xtrain::Trainer trainer(xtrain::MLP<float>(/*seed*/ 1, {4, 16, 3}), xtrain::Optimizer<xtrain::SGD>(h),
                            xtrain::BatchSampler<32>(data.size(), xtrain::SamplerOptions::shuffled(1)), xtrain::DivergenceGuard());
    const xtrain::History& history = trainer.fit(data, xtrain::Budget::epochs(5), &data);
    const double accuracy = history.evals.back().val_accuracy;
    const bool ok = trainer.status() == xtrain::RunStatus::finished && accuracy > 0.9;
    std::printf("xtrain %s: accuracy %.3f after %llu steps\n", xtrain::version_string, accuracy,
                static_cast<unsigned long long>(trainer.step()));
    if (ok)
    {
        std::printf("xtrain consumer: ok\n");
    }
    return ok ? 0 : 1;
}
