// Must not compile: a batch size is passed where the sampler goes, and the trainer names what a
// sampler needs.
#include "train_fixtures.hpp"

int main()
{
    auto data = xtrain::test::make_regression<double>(64, 3, 1);
    xtrain::Trainer trainer(xtrain::test::LinearRegression<double>(3), xtrain::Optimizer<xtrain::SGD>(), std::size_t{8});
    trainer.fit(data, xtrain::Budget::epochs(1));
}
