// Must not compile: a Sequential must end in a loss. Checked by ctest for the static_assert message.
#include <xtrain/model.hpp>

int main()
{
    xtrain::Sequential<xtrain::Dense<4, 3>, xtrain::ReLU> model(1);
    return static_cast<int>(model.parameters().size());
}
