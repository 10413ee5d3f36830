// Must not compile: a batch size of 0 is caught at compile time.
#include "xtrain/data/batch_sampler.hpp"

int main()
{
    xtrain::BatchSampler<0> sampler(100);
    return static_cast<int>(sampler.batch_size());
}
