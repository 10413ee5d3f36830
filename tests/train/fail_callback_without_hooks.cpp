// Must not compile: the callback's hook is misspelt, so it has none of the hooks, and the trainer
// says so in one sentence instead of ignoring it.
#include "train_fixtures.hpp"

struct Misspelt
{
    template <class Tr>
    void on_step_ended(Tr&)
    {
    }
};

int main()
{
    auto data = xtrain::test::make_regression<double>(64, 3, 1);
    xtrain::Trainer trainer(xtrain::test::LinearRegression<double>(3), xtrain::Optimizer<xtrain::SGD>(),
                            xtrain::BatchSampler<xtrain::dynamic>(64, 8), Misspelt{});
    (void)trainer;
}
