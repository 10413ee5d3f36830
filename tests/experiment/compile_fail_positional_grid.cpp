// Must not compile: a grid filled by position, where swapping the batch sizes {16} and the seeds
// {1} would go unnoticed. A grid is filled by name (grid.lrs = ..., or SweepGrid().with_lrs(...)).
#include "xtrain/experiment/sweep_grid.hpp"

int main()
{
    const xtrain::SweepGrid grid = {{"sgd"}, {0.1}, {1}, {16}, {}, {}};
    return static_cast<int>(grid.size());
}
