// Must not compile: predict() exists but writes to a std::vector, so accuracy would be silently
// unavailable. Checked by ctest for the static_assert message.
#include <vector>

#include <xtrain/model/model_traits.hpp>

struct WrongPredict
{
    using value_type = float;
    xtrain::ParamBuffer<float>& parameters();
    const xtrain::ParamBuffer<float>& parameters() const;
    float loss_and_gradient(const xtrain::Batch<float>& batch, xt::xtensor<float, 1>& grad);
    void predict(const xtrain::Batch<float>& batch, std::vector<int>& out);
};

static_assert(xtrain::check_model<WrongPredict>());
