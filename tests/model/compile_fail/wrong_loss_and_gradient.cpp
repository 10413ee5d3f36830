// Must not compile: loss_and_gradient takes the gradient in a std::vector instead of an
// xt::xtensor<T, 1>. Checked by ctest for the static_assert message.
#include <vector>

#include <xtrain/model/model_traits.hpp>

struct WrongGradientType
{
    using value_type = double;
    xtrain::ParamBuffer<double>& parameters();
    const xtrain::ParamBuffer<double>& parameters() const;
    double loss_and_gradient(const xtrain::Batch<double>& batch, std::vector<double>& grad);
};

static_assert(xtrain::check_model<WrongGradientType>());
