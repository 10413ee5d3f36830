// Must not compile: a temporary training set would dangle inside the run function.
#include "xtrain/data/synthetic.hpp"
#include "xtrain/experiment/trainer_run.hpp"
#include "xtrain/model/mlp.hpp"

int main()
{
    xtrain::RunSettings settings;
    const auto fn = xtrain::make_trainer_run(xtrain::datasets::gaussian_blobs<float>(), nullptr,
                                             [](std::uint64_t seed) { return xtrain::MLP<float>(seed, {4, 3}); },
                                             settings);
    return fn ? 0 : 1;
}
