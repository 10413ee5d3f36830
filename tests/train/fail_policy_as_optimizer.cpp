// Must not compile: the update rule is passed where the Optimizer goes, and the trainer says how
// to wrap it instead of failing inside fit().
#include "train_fixtures.hpp"

int main()
{
    auto data = xtrain::test::make_regression<double>(64, 3, 1);
    xtrain::Trainer trainer(xtrain::test::LinearRegression<double>(3), xtrain::SGD{},
                            xtrain::BatchSampler<xtrain::dynamic>(64, 8));
    trainer.fit(data, xtrain::Budget::epochs(1));
}
