// xtrain::check_gradients, the public finite-difference check for a user's backward pass: it
// passes correct models in double and float, and finds a wrong gradient, naming the segment.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <cstddef>
#include <string>

#include "xtrain/model.hpp"
#include "model/model_test_support.hpp"

using namespace xtrain;
using xtrain::test::random_data;

namespace
{
    // A model whose backward pass is wrong in one place: the gradient of one segment is scaled.
    template <class T>
    struct WrongGradient
    {
        using value_type = T;
        MLP<T> inner;
        std::string segment;
        T factor;

        ParamBuffer<T>& parameters() { return inner.parameters(); }
        const ParamBuffer<T>& parameters() const { return inner.parameters(); }
        T loss_and_gradient(const Batch<T>& batch, xt::xtensor<T, 1>& grad)
        {
            const T loss = inner.loss_and_gradient(batch, grad);
            const auto& seg = inner.parameters().layout()[*inner.parameters().layout().find(segment)];
            for (std::size_t i = seg.offset; i < seg.offset + seg.size; ++i)
            {
                grad(i) *= factor;
            }
            return loss;
        }
    };

    // A model whose gradient is zero everywhere, as a backward pass that forgot to write it.
    struct NoGradient
    {
        using value_type = double;
        MLP<double> inner{1, {4, 3}};
        ParamBuffer<double>& parameters() { return inner.parameters(); }
        const ParamBuffer<double>& parameters() const { return inner.parameters(); }
        double loss_and_gradient(const Batch<double>& batch, xt::xtensor<double, 1>& grad)
        {
            const double loss = inner.loss_and_gradient(batch, grad);
            grad.fill(0.0);
            return loss;
        }
    };
}

TEST_CASE("check_gradients passes a correct model, in double and in float", "[model][gradient][check]")
{
    const auto data = random_data<double>(16, {6}, 3, 0, 4);
    const MLP<double, Tanh> model(3, {6, 9, 3});
    const GradientCheck c = check_gradients(model, data.batch());
    INFO(c.describe());
    CHECK(c.ok());
    CHECK(c.checked == model.parameters().size());  // fewer than max_parameters: all of them
    CHECK(c.worst_relative_error < 1e-6);
    CHECK(c.largest_gradient > 1e-2);
    CHECK(c.tolerance == 1e-5);

    const auto fdata = random_data<float>(16, {6}, 3, 0, 4);
    const MLP<float, Tanh> fmodel(3, {6, 9, 3});
    const GradientCheck f = check_gradients(fmodel, fdata.batch());
    INFO(f.describe());
    CHECK(f.ok());
    CHECK(f.tolerance == 2e-2);
}

TEST_CASE("check_gradients finds a wrong gradient and says where", "[model][gradient][check]")
{
    const auto data = random_data<double>(12, {5}, 4, 0, 8);
    for (const char* segment : {"0.weight", "0.bias", "2.bias"})
    {
        WrongGradient<double> wrong{MLP<double>(5, {5, 7, 4}), segment, 1.05};  // 5 % off
        const GradientCheck c = check_gradients(wrong, data.batch());
        INFO(c.describe());
        CHECK_FALSE(c.ok());
        CHECK(c.worst_segment == segment);
        CHECK(c.worst_relative_error == Approx(0.05 / 1.05).epsilon(1e-3));
        CHECK(c.describe().find(std::string(segment) + "[") != std::string::npos);
        CHECK(c.describe().find("WRONG") != std::string::npos);
    }
    // A sample of the parameters, spread over every segment, still finds the wrong one.
    WrongGradient<double> wrong{MLP<double>(5, {5, 40, 30, 4}), "4.bias", 0.5};
    GradientCheckOptions few;
    few.max_parameters = 50;
    const GradientCheck c = check_gradients(wrong, data.batch(), few);
    CHECK(c.checked < 120);
    CHECK(c.worst_segment == "4.bias");
    CHECK_FALSE(c.ok());
}

TEST_CASE("check_gradients refuses a gradient that is zero everywhere, and bad options", "[model][gradient][check]")
{
    const auto data = random_data<double>(8, {4}, 3, 0, 2);
    const GradientCheck c = check_gradients(NoGradient{}, data.batch());
    CHECK_FALSE(c.ok());
    CHECK(c.describe().find("the gradient is zero at every checked parameter") != std::string::npos);
    GradientCheckOptions bad;
    bad.step = 0.0;
    CHECK_THROWS_WITH(check_gradients(MLP<double>(1, {4, 3}), data.batch(), bad), Catch::Contains("options.step"));
    Batch<double> empty = data.batch();
    empty.size = 0;
    CHECK_THROWS_WITH(check_gradients(MLP<double>(1, {4, 3}), empty), Catch::Contains("batch.size"));
}

TEST_CASE("docs/models.md: checking the backward pass", "[model][gradient][check][docs]")
{
    const auto data = random_data<double>(8, {4}, 3, 0, 1);
    const auto batch = data.batch();
    const MLP<double> model(2, {4, 3});
    #include "doc_snippets/models-gradient-check.inc"
    CHECK(c.ok());
}
