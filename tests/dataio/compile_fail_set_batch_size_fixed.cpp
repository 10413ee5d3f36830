// Must not compile: a batch size fixed at compile time cannot be changed between epochs.
#include "xtrain/data/batch_sampler.hpp"

int main()
{
    xtrain::BatchSampler<32> sampler(100);
    sampler.set_batch_size(64);
    return static_cast<int>(sampler.batch_size());
}
