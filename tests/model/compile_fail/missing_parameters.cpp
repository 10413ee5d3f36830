// Must not compile: the model has no parameters(). Checked by ctest for the static_assert message.
#include <xtrain/model/model_traits.hpp>

struct NoParameters
{
    using value_type = float;
    float loss_and_gradient(const xtrain::Batch<float>& batch, xt::xtensor<float, 1>& grad);
};

static_assert(xtrain::check_model<NoParameters>());
