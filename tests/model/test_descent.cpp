// The small-batch kernels of the dense layers (row slices on OpenBLAS's small-matrix path, libxsmm
// weight gradients when built with it) against a plain triple loop, and the fused SGD step
// (loss_and_descent) against the two-pass step it replaces. This file is also compiled with
// XTRAIN_DISABLE_LIBXSMM (test_dense_portable), so both paths are tested in a libxsmm build.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <cstddef>
#include <vector>

#include "xtrain/core.hpp"
#include "xtrain/model.hpp"
#include "xtrain/optim.hpp"

#include "model/model_test_support.hpp"

namespace
{
    template <class T>
    std::vector<T> random_values(std::size_t n, std::uint64_t seed, double scale)
    {
        xtrain::Rng rng(seed);
        std::vector<T> v(n);
        for (T& x : v)
        {
            x = static_cast<T>(scale * rng.uniform(-1.0, 1.0));
        }
        return v;
    }

    // Float products of 784 terms of magnitude <= 1 agree with a double reference to a few 1e-6
    // of their scale; double ones to 1e-13.
    template <class T>
    double tolerance()
    {
        return std::is_same_v<T, float> ? 2e-5 : 1e-12;
    }
}

TEMPLATE_TEST_CASE("dense kernels at small batches agree with a triple loop", "[model][kernels]", float, double)
{
    using T = TestType;
    constexpr std::size_t in = 784;
    constexpr std::size_t out = 256;
    for (std::size_t n : {1, 3, 4, 5, 8, 13, 32, 33, 64})
    {
        CAPTURE(n);
        const auto x = random_values<T>(n * in, 1, 1.0);
        const auto w = random_values<T>(out * in, 2, 1.0);
        const auto dy = random_values<T>(n * out, 3, 1.0);
        // Forward y = x W^T + y0 (beta = 1, as the layer uses it after writing the bias).
        double worst_y = 0.0;
        double worst_dw = 0.0;
        double worst_dw2 = 0.0;
        std::vector<T> y(n * out, T(0.5));
        xtrain::detail::nn::gemm(false, true, n, out, in, T(1), x.data(), in, w.data(), in, T(1), y.data(), out);
        for (std::size_t r = 0; r < n; ++r)
        {
            for (std::size_t j = 0; j < out; ++j)
            {
                double s = 0.5;
                for (std::size_t k = 0; k < in; ++k)
                {
                    s += static_cast<double>(x[r * in + k]) * static_cast<double>(w[j * in + k]);
                }
                worst_y = std::max(worst_y, std::abs(static_cast<double>(y[r * out + j]) - s));
            }
        }
        CHECK(worst_y <= tolerance<T>() * in);
        // Weight gradient with alpha and beta = 0, then accumulated again with beta = 1.
        std::vector<T> scratch(out * n);
        std::vector<T> dw(out * in, T(7));
        const T alpha = T(-0.25);
        xtrain::detail::nn::weight_gradient(out, in, n, alpha, dy.data(), x.data(), T(0), dw.data(), scratch.data());
        std::vector<T> dw2 = w;
        xtrain::detail::nn::weight_gradient(out, in, n, alpha, dy.data(), x.data(), T(1), dw2.data(), scratch.data());
        for (std::size_t j = 0; j < out; ++j)
        {
            for (std::size_t k = 0; k < in; ++k)
            {
                double s = 0.0;
                for (std::size_t r = 0; r < n; ++r)
                {
                    s += static_cast<double>(dy[r * out + j]) * static_cast<double>(x[r * in + k]);
                }
                s *= static_cast<double>(alpha);
                worst_dw = std::max(worst_dw, std::abs(static_cast<double>(dw[j * in + k]) - s));
                worst_dw2 = std::max(worst_dw2, std::abs(static_cast<double>(dw2[j * in + k]) - s -
                                                         static_cast<double>(w[j * in + k])));
            }
        }
        CHECK(worst_dw <= tolerance<T>() * n);
        CHECK(worst_dw2 <= tolerance<T>() * (n + 1));
    }
}

namespace
{
    // Runs `steps` updates at batch size n both ways from the same initial parameters and
    // returns the largest parameter difference relative to the largest parameter.
    template <class Model>
    double fused_against_two_pass(Model a, std::size_t n, std::size_t steps, double lr)
    {
        using T = typename Model::value_type;
        Model b = a;
        const auto data = xtrain::test::random_data<T>(n * steps, {784}, 10, 0, 11);
        xtrain::SGD h;
        h.lr = lr;
        xtrain::Optimizer<xtrain::SGD> opt(h);
        xt::xtensor<T, 1> grad = a.parameters().zeros_like();
        for (std::size_t s = 0; s < steps; ++s)
        {
            const xtrain::Batch<T> batch = data.batch(s * n, n);
            const T la = a.loss_and_gradient(batch, grad);
            opt.step(a.parameters(), grad);
            const T lb = b.loss_and_descent(batch, static_cast<T>(lr));
            // The losses are computed before each update, from parameters that agree to rounding.
            REQUIRE(static_cast<double>(lb) == Approx(static_cast<double>(la)).epsilon(1e3 * tolerance<T>()));
        }
        const T* pa = a.parameters().data();
        const T* pb = b.parameters().data();
        double diff = 0.0;
        double scale = 0.0;
        for (std::size_t i = 0; i < a.parameters().size(); ++i)
        {
            diff = std::max(diff, std::abs(static_cast<double>(pa[i]) - static_cast<double>(pb[i])));
            scale = std::max(scale, std::abs(static_cast<double>(pa[i])));
        }
        return diff / scale;
    }
}

TEMPLATE_TEST_CASE("loss_and_descent follows the two-pass SGD trajectory to rounding", "[model][descent]", float, double)
{
    using T = TestType;
    using Seq = xtrain::Sequential<T, xtrain::Dense<784, 256>, xtrain::ReLU, xtrain::Dense<256, 10>,
                                   xtrain::SoftmaxCrossEntropy>;
    STATIC_REQUIRE(Seq::supports_descent);
    STATIC_REQUIRE(xtrain::MLP<T>::supports_descent);
    // A rounding difference per step of about eps relative, over 20 steps; a wrong update (a
    // missing or doubled term, dx taken after the update) differs by lr * gradient, >= 1e-4 here.
    const double tol = std::is_same_v<T, float> ? 1e-5 : 1e-13;
    for (std::size_t n : {1, 2, 4, 5, 8, 32, 64})
    {
        CAPTURE(n);
        CHECK(fused_against_two_pass(Seq(5), n, 20, 0.05) < tol);
        CHECK(fused_against_two_pass(xtrain::MLP<T>(5, {784, 256, 10}), n, 20, 0.05) < tol);
    }
    // Deeper, with an activation between hidden layers whose backward runs between two updates.
    CHECK(fused_against_two_pass(xtrain::MLP<T>(7, {784, 64, 32, 10}), 4, 20, 0.1) < tol);
}

TEST_CASE("models with layers that cannot fuse their update do not offer loss_and_descent", "[model][descent]")
{
    using Conv = xtrain::Sequential<xtrain::Conv2D<1, 4, 3>, xtrain::ReLU, xtrain::Flatten, xtrain::Dense<>,
                                    xtrain::SoftmaxCrossEntropy>;
    STATIC_REQUIRE_FALSE(Conv::supports_descent);
}
