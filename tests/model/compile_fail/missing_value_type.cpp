// Must not compile: the model has no value_type. Checked by ctest for the static_assert message.
#include <xtrain/model/model_traits.hpp>

struct NoValueType
{
    xtrain::ParamBuffer<float>& parameters();
    const xtrain::ParamBuffer<float>& parameters() const;
    float loss_and_gradient(const xtrain::Batch<float>& batch, xt::xtensor<float, 1>& grad);
};

static_assert(xtrain::check_model<NoValueType>());
