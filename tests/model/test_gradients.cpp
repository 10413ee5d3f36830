// Tests of the layers' arithmetic: forward passes against plain reference loops, backward passes
// against central finite differences (double) for every layer and for whole networks, the losses'
// values and stability, and the initial weight distributions.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <vector>

#include "xtrain/model.hpp"
#include "model/model_test_support.hpp"

using namespace xtrain;
using xtrain::test::check_gradient;
using xtrain::test::random_data;

namespace
{
    // Parameters of one stand-alone layer, laid out and initialised as a model would.
    template <class Layer>
    ParamBuffer<double> params_for(Layer& layer, std::uint64_t seed)
    {
        ParamLayout layout;
        layer.declare(layout, "l");
        ParamBuffer<double> p(std::move(layout));
        layer.initialize(p.data(), seed, 0);
        return p;
    }

    struct Moments
    {
        double mean = 0.0;
        double var = 0.0;
        double max_abs = 0.0;
    };

    template <class V>
    Moments moments(const V& v)
    {
        Moments m;
        for (double x : v)
        {
            m.mean += x;
            m.max_abs = std::max(m.max_abs, std::abs(x));
        }
        m.mean /= static_cast<double>(v.size());
        for (double x : v)
        {
            m.var += (x - m.mean) * (x - m.mean);
        }
        m.var /= static_cast<double>(v.size());
        return m;
    }
}

// ---------------------------------------------------------------------------------------------
// Forward passes against reference loops
// ---------------------------------------------------------------------------------------------

TEST_CASE("Dense, ReLU and softmax cross-entropy compute what the formulas say", "[model][forward]")
{
    Sequential<double, Dense<5, 4>, ReLU, Dense<4, 3>, SoftmaxCrossEntropy> model(3);
    const auto data = random_data<double>(6, {5}, 3, 0, 11);
    const auto& p = model.parameters();
    const auto w1 = p.view<2>(p.layout().index_of("0.weight"));
    const auto b1 = p.segment("0.bias");
    const auto w2 = p.view<2>(p.layout().index_of("2.weight"));
    const auto b2 = p.segment("2.bias");
    double total = 0.0;
    std::vector<label_type> expected_class;
    for (std::size_t i = 0; i < 6; ++i)
    {
        double h[4];
        for (std::size_t j = 0; j < 4; ++j)
        {
            h[j] = b1(j);
            for (std::size_t k = 0; k < 5; ++k)
            {
                h[j] += w1(j, k) * data.x[i * 5 + k];
            }
            h[j] = std::max(h[j], 0.0);
        }
        double z[3];
        double sum = 0.0;
        std::size_t best = 0;
        for (std::size_t c = 0; c < 3; ++c)
        {
            z[c] = b2(c);
            for (std::size_t j = 0; j < 4; ++j)
            {
                z[c] += w2(c, j) * h[j];
            }
            sum += std::exp(z[c]);
            best = z[c] > z[best] ? c : best;
        }
        total += std::log(sum) - z[data.labels[i]];
        expected_class.push_back(static_cast<label_type>(best));
    }
    CHECK(model.loss(data.batch()) == Approx(total / 6).epsilon(1e-13));
    std::vector<label_type> predicted(6, -1);
    model.predict(data.batch(), predicted.data());
    CHECK(predicted == expected_class);
}

TEST_CASE("Conv2DLayer matches a direct convolution with stride and padding", "[model][forward][conv]")
{
    // C = 2, O = 3, k = 3, stride 2, padding 1 on a non-square 6 x 5 input: 3 x 3 x 3 outputs.
    Conv2DLayer<double> conv(2, 3, 3, 2, 1);
    const auto p = params_for(conv, 5);
    const SampleShape in = SampleShape::of({2, 6, 5});
    const SampleShape out = conv.output_shape(in);
    REQUIRE(out == SampleShape::of({3, 3, 3}));
    const std::size_t n = 2;
    const auto data = random_data<double>(n, {2, 6, 5}, 0, 0, 9);
    conv.reserve(in, n, 0, false); // evaluation: one sample's patches at a time
    const double* y = conv.forward(data.x.data(), n, p.data(), ForwardMode::evaluation());
    std::vector<double> y_eval(y, y + n * 27);
    conv.reserve(in, n, n, false); // as in a training step: every sample's patches kept
    y = conv.forward(data.x.data(), n, p.data(), ForwardMode::training_step(true));
    CHECK(std::equal(y_eval.begin(), y_eval.end(), y));
    const double* w = p.data() + p.layout()[0].offset;
    const double* b = p.data() + p.layout()[1].offset;
    for (std::size_t s = 0; s < n; ++s)
    {
        for (std::size_t o = 0; o < 3; ++o)
        {
            for (std::size_t oh = 0; oh < 3; ++oh)
            {
                for (std::size_t ow = 0; ow < 3; ++ow)
                {
                    double ref = b[o];
                    for (std::size_t c = 0; c < 2; ++c)
                    {
                        for (std::size_t ki = 0; ki < 3; ++ki)
                        {
                            for (std::size_t kj = 0; kj < 3; ++kj)
                            {
                                const long ih = static_cast<long>(oh * 2 + ki) - 1;
                                const long iw = static_cast<long>(ow * 2 + kj) - 1;
                                if (ih < 0 || ih >= 6 || iw < 0 || iw >= 5)
                                {
                                    continue;
                                }
                                ref += w[((o * 2 + c) * 3 + ki) * 3 + kj]
                                       * data.x[s * 60 + (c * 6 + static_cast<std::size_t>(ih)) * 5
                                                + static_cast<std::size_t>(iw)];
                            }
                        }
                    }
                    CHECK(y[s * 27 + (o * 3 + oh) * 3 + ow] == Approx(ref).epsilon(1e-13));
                }
            }
        }
    }
}

TEST_CASE("MaxPool2DLayer takes window maxima, the first among equals, and routes gradients there",
          "[model][forward][pool]")
{
    MaxPool2DLayer<double> pool(3, 2); // windows 3 x 3, stride 2: 5 x 5 -> 2 x 2
    const SampleShape in = SampleShape::of({1, 5, 5});
    REQUIRE(pool.output_shape(in) == SampleShape::of({1, 2, 2}));
    std::vector<double> x(25);
    for (std::size_t i = 0; i < 25; ++i)
    {
        x[i] = static_cast<double>((i * 7) % 11);
    }
    x[12] = 20.0; // the centre belongs to all four windows
    x[0] = 30.0;  // and the top-left window has a larger one
    pool.reserve(in, 1, 1, true);
    const double* y = pool.forward(x.data(), 1, nullptr, ForwardMode::training_step(true));
    CHECK(y[0] == 30.0);
    CHECK(y[1] == 20.0);
    CHECK(y[2] == 20.0);
    CHECK(y[3] == 20.0);
    const double dy[4] = {1.0, 2.0, 3.0, 4.0};
    const double* dx = pool.backward(x.data(), y, dy, 1, nullptr, nullptr, true);
    CHECK(dx[0] == 1.0);
    CHECK(dx[12] == 9.0);
    double sum = 0.0;
    for (std::size_t i = 0; i < 25; ++i)
    {
        sum += dx[i];
    }
    CHECK(sum == 10.0);

    // Ties: the first maximum in row-major order takes the gradient.
    std::vector<double> flat(25, 1.0);
    pool.forward(flat.data(), 1, nullptr, ForwardMode::training_step(true));
    const double* dflat = pool.backward(flat.data(), y, dy, 1, nullptr, nullptr, true);
    CHECK(dflat[0] == 1.0);
    CHECK(dflat[2] == 2.0);
    CHECK(dflat[10] == 3.0);
    CHECK(dflat[12] == 4.0);

    // A NaN anywhere in a window makes that window's output NaN (divergence stays visible).
    flat[6] = std::numeric_limits<double>::quiet_NaN(); // row 1, column 1: top-left window only
    const double* ynan = pool.forward(flat.data(), 1, nullptr, ForwardMode::evaluation());
    CHECK(std::isnan(ynan[0]));
    CHECK(ynan[1] == 1.0);
    CHECK(ynan[3] == 1.0);
}

TEST_CASE("Softmax cross-entropy is exact on known values and finite for huge logits", "[model][loss]")
{
    SoftmaxCrossEntropyLoss<double> ce;
    ce.reserve(3, 2);
    const double z[6] = {1.0, 2.0, 3.0, 1000.0, 0.0, -1000.0};
    const label_type labels[2] = {2, 1};
    Batch<double> b;
    b.size = 2;
    b.labels = labels;
    // log(e + e^2 + e^3) - 3 = 0.40760596444438 ; log(e^1000 + 1 + e^-1000) - 0 = 1000 (to double precision).
    const double expected = (0.40760596444437555 + 1000.0) / 2;
    CHECK(ce.loss(z, 2, 3, b) == Approx(expected).epsilon(1e-14));
    CHECK(ce.loss_and_gradient(z, 2, 3, b) == Approx(expected).epsilon(1e-14));
    const double* g = ce.gradient();
    // Row 0: (softmax - onehot) / 2; row 1: softmax is (1, 0, 0), onehot at 1.
    const double s = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
    CHECK(g[0] == Approx(std::exp(1.0) / s / 2).epsilon(1e-14));
    CHECK(g[2] == Approx((std::exp(3.0) / s - 1.0) / 2).epsilon(1e-14));
    CHECK(g[3] == Approx(0.5).epsilon(1e-14));
    CHECK(g[4] == Approx(-0.5).epsilon(1e-14));
    CHECK(g[5] == 0.0);

    SoftmaxCrossEntropyLoss<float> cef;
    cef.reserve(3, 2);
    const float zf[6] = {80.0f, -80.0f, 0.0f, 1e30f, -1e30f, 0.0f};
    Batch<float> bf;
    bf.size = 2;
    bf.labels = labels;
    const float lf = cef.loss_and_gradient(zf, 2, 3, bf);
    CHECK(std::isfinite(lf));
    // Row 0: 80 + log(1 + e^-80 + e^-160) - 0 = 80; row 1: 1e30 - (-1e30) = 2e30.
    CHECK(lf == Approx((80.0 + 2e30) / 2).epsilon(1e-6));
    for (std::size_t i = 0; i < 6; ++i)
    {
        CHECK(std::isfinite(cef.gradient()[i]));
    }
}

TEST_CASE("MSE is the mean over samples and outputs, as torch.nn.MSELoss", "[model][loss]")
{
    MSELoss<double> mse;
    mse.reserve(2, 2);
    const double z[4] = {1.0, 2.0, 3.0, 4.0};
    const double t[4] = {0.0, 0.0, 3.0, 6.0};
    Batch<double> b;
    b.size = 2;
    b.targets = t;
    b.target_dim = 2;
    CHECK(mse.loss(z, 2, 2, b) == Approx((1.0 + 4.0 + 0.0 + 4.0) / 4).epsilon(1e-15));
    CHECK(mse.loss_and_gradient(z, 2, 2, b) == Approx(2.25).epsilon(1e-15));
    CHECK(mse.gradient()[0] == Approx(2.0 * 1.0 / 4).epsilon(1e-15));
    CHECK(mse.gradient()[3] == Approx(2.0 * -2.0 / 4).epsilon(1e-15));
}

TEST_CASE("Activations: values, stable sigmoid, derivatives from outputs", "[model][forward]")
{
    CHECK(ReLU::apply(-2.0) == 0.0);
    CHECK(ReLU::apply(3.0) == 3.0);
    CHECK(ReLU::backward(0.0, 5.0) == 0.0);
    CHECK(ReLU::backward(0.5, 5.0) == 5.0);
    CHECK(std::isnan(ReLU::apply(std::numeric_limits<double>::quiet_NaN()))); // divergence stays visible
    CHECK(Sigmoid::apply(0.0) == 0.5);
    CHECK(Sigmoid::apply(-1000.0) == 0.0);
    CHECK(Sigmoid::apply(1000.0) == 1.0);
    CHECK(Sigmoid::apply(-80.0f) > 0.0f);
    CHECK(Sigmoid::apply(-80.0f) == Approx(std::exp(-80.0)).epsilon(1e-5));
    CHECK(Tanh::apply(0.5) == std::tanh(0.5));
    // The derivatives from the outputs, dy (1 - y^2) and dy y (1 - y), against the closed forms: a
    // few roundings apart (1e-14), where a wrong formula is off by tens of percent.
    CHECK(Tanh::backward(std::tanh(0.5), 2.0) == Approx(2.0 / (std::cosh(0.5) * std::cosh(0.5))).epsilon(1e-14));
    CHECK(Sigmoid::backward(Sigmoid::apply(1.0), 2.0)
          == Approx(2.0 * std::exp(-1.0) / std::pow(1.0 + std::exp(-1.0), 2)).epsilon(1e-14));
}

// ---------------------------------------------------------------------------------------------
// Finite-difference gradient checks, layer by layer (each inside the smallest network in which
// its backward pass feeds a parameter gradient), then whole networks
// ---------------------------------------------------------------------------------------------

TEST_CASE("Gradient check: Dense with MSE", "[model][gradient]")
{
    Sequential<double, Dense<5, 3>, MSE> model(1);
    check_gradient(model, random_data<double>(7, {5}, 0, 3, 2).batch());
}

TEMPLATE_TEST_CASE("Gradient check: Dense, activation, Dense with softmax cross-entropy and with MSE",
                   "[model][gradient]", ReLU, Tanh, Sigmoid)
{
    Sequential<double, Dense<5, 7>, TestType, Dense<7, 4>, SoftmaxCrossEntropy> classifier(4);
    check_gradient(classifier, random_data<double>(9, {5}, 4, 0, 5).batch());
    Sequential<double, Dense<5, 7>, TestType, Dense<7, 2>, MSE> regressor(6);
    check_gradient(regressor, random_data<double>(9, {5}, 0, 2, 7).batch());
}

TEMPLATE_TEST_CASE("Gradient check: a deeper MLP with each activation (runtime widths)", "[model][gradient]", ReLU,
                   Tanh, Sigmoid)
{
    MLP<double, TestType> classifier(8, {6, 9, 7, 3});
    check_gradient(classifier, random_data<double>(10, {6}, 3, 0, 9).batch());
    MLP<double, TestType, MSE> regressor(10, {6, 9, 7, 2});
    check_gradient(regressor, random_data<double>(10, {6}, 0, 2, 11).batch());
}

TEST_CASE("Gradient check: Dropout (the same mask in every evaluation)", "[model][gradient][dropout]")
{
    Sequential<double, Dense<5, 8>, ReLU, Dropout, Dense<8, 3>, SoftmaxCrossEntropy> model(
        12, Dense<5, 8>(), ReLU(), Dropout(0.4), Dense<8, 3>(), SoftmaxCrossEntropy());
    const auto data = random_data<double>(8, {5}, 3, 0, 13);
    check_gradient(model, data.batch());
    // The check above must have run with units dropped: the training gradient differs from the
    // gradient without dropout.
    auto a = model;
    auto b = model;
    b.set_training(false);
    xt::xtensor<double, 1> ga = a.parameters().zeros_like();
    xt::xtensor<double, 1> gb = ga;
    a.loss_and_gradient(data.batch(), ga);
    b.loss_and_gradient(data.batch(), gb);
    CHECK((ga != gb));
}

TEST_CASE("Gradient check: Conv2D with padding, stride and a second Conv2D", "[model][gradient][conv]")
{
    // 2x6x6 -> Conv(2->3, k3, s1, p1) 3x6x6 -> Tanh -> Conv(3->2, k2, s2) 2x3x3 -> Flatten 18 -> Dense 4.
    Sequential<double, Conv2D<2, 3, 3, 1, 1>, Tanh, Conv2D<3, 2, 2, 2, 0>, Flatten, Dense<18, 4>, SoftmaxCrossEntropy>
        model(14);
    check_gradient(model, random_data<double>(3, {2, 6, 6}, 4, 0, 15).batch());
}

TEST_CASE("Gradient check: CNN with Conv2D, ReLU, MaxPool2D, Flatten, Dense (run-time sizes)",
          "[model][gradient][conv]")
{
    using Net = Sequential<double, Conv2D<>, ReLU, MaxPool2D<>, Conv2D<>, ReLU, MaxPool2D<>, Flatten, Dense<>,
                           SoftmaxCrossEntropy>;
    // 1x12x11 -> conv 4x10x9 -> pool(2) 4x5x4 -> conv(k2) 5x4x3 -> pool(3, stride 1) 5x2x1 -> 10 -> 6 classes
    Net model(16, Conv2D<>(1, 4, 3), ReLU(), MaxPool2D<>(2), Conv2D<>(4, 5, 2), ReLU(), MaxPool2D<>(3, 1), Flatten(),
              Dense<>(10, 6), SoftmaxCrossEntropy());
    check_gradient(model, random_data<double>(4, {1, 12, 11}, 6, 0, 17).batch());
}

TEST_CASE("Gradient check: CNN regression head on a rank-2 (H x W) input", "[model][gradient][conv]")
{
    Sequential<double, Conv2D<1, 2, 3>, Sigmoid, MaxPool2D<2>, Flatten, Dense<8, 3>, MSE> model(18);
    check_gradient(model, random_data<double>(5, {6, 6}, 0, 3, 19).batch());
}

#include "doc_snippets/models-custom-activation.inc"

TEST_CASE("Gradient check: a user's own activation in a Sequential", "[model][gradient]")
{
    Sequential<double, Dense<5, 7>, LeakyReLU, Dense<7, 3>, SoftmaxCrossEntropy> model(30);
    check_gradient(model, random_data<double>(9, {5}, 3, 0, 31).batch());
    CHECK(model.summary().find("1 LeakyReLU") != std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Initialisation
// ---------------------------------------------------------------------------------------------

TEST_CASE("Default Dense initialisation is PyTorch's: U(+-1/sqrt(fan_in)) for weights and biases",
          "[model][init]")
{
    // 400 x 1000 weights. For U(-b, b): variance b^2/3; the sample variance has a relative standard
    // error of sqrt(4/45 / n) / (1/3) = 0.0014 at n = 4e5, so 1 % is 7 standard errors; the mean
    // has a standard error of b / sqrt(3 n) = 0.0009 b.
    Sequential<double, Dense<>, MSE> model(21, Dense<>(1000, 400), MSE());
    const double bound = 1.0 / std::sqrt(1000.0);
    const auto w = moments(model.parameters().segment("0.weight"));
    CHECK(w.max_abs <= bound);
    CHECK(w.max_abs > 0.999 * bound);
    CHECK(std::abs(w.mean) < 0.005 * bound);
    CHECK(w.var == Approx(bound * bound / 3).epsilon(0.01));
    const auto b = moments(model.parameters().segment("0.bias"));
    CHECK(b.max_abs <= bound);
    CHECK(b.max_abs > 0.9 * bound);
}

TEST_CASE("Default Conv2D initialisation uses fan_in = C k k", "[model][init][conv]")
{
    // 64 x 3 x 5 x 5 = 4800 weights: relative standard error of the variance 1.3 %; 6 % is 4.6 of them.
    Sequential<double, Conv2D<3, 64, 5>, Flatten, MSE> model(22);
    const double bound = 1.0 / std::sqrt(75.0);
    const auto w = moments(model.parameters().segment("0.weight"));
    CHECK(w.max_abs <= bound);
    CHECK(w.max_abs > 0.99 * bound);
    CHECK(w.var == Approx(bound * bound / 3).epsilon(0.06));
    CHECK(moments(model.parameters().segment("0.bias")).max_abs <= bound);
}

TEST_CASE("Other initialisations: Kaiming, Xavier, zeros", "[model][init]")
{
    const std::size_t fi = 1000;
    const std::size_t fo = 400;
    auto stats = [&](WeightInit init, BiasInit bias = BiasInit::zeros)
    {
        Sequential<double, Dense<>, MSE> m(23, Dense<>(fi, fo, init, bias), MSE());
        return std::make_pair(moments(m.parameters().segment("0.weight")), moments(m.parameters().segment("0.bias")));
    };
    // Normal: relative standard error of the variance sqrt(2/n) = 0.0022; 1.5 % is 6.7 of them.
    const auto kn = stats(WeightInit::kaiming_normal).first;
    CHECK(kn.var == Approx(2.0 / fi).epsilon(0.015));
    CHECK(kn.max_abs > 3.5 * std::sqrt(2.0 / fi)); // normal tails, not a uniform's edge
    const auto ku = stats(WeightInit::kaiming_uniform).first;
    CHECK(ku.max_abs <= std::sqrt(6.0 / fi));
    CHECK(ku.var == Approx(2.0 / fi).epsilon(0.01));
    const auto xu = stats(WeightInit::xavier_uniform).first;
    CHECK(xu.max_abs <= std::sqrt(6.0 / (fi + fo)));
    CHECK(xu.var == Approx(2.0 / (fi + fo)).epsilon(0.01));
    const auto xn = stats(WeightInit::xavier_normal).first;
    CHECK(xn.var == Approx(2.0 / (fi + fo)).epsilon(0.015));
    const auto z = stats(WeightInit::zeros, BiasInit::zeros);
    CHECK(z.first.max_abs == 0.0);
    CHECK(z.second.max_abs == 0.0);
    CHECK(stats(WeightInit::xavier_uniform, BiasInit::zeros).second.max_abs == 0.0);

    // The spellings docs/models.md shows, for compile-time and run-time sizes.
    Sequential<Dense<784, 256>, MSE> a(1, Dense<784, 256>(WeightInit::kaiming_normal, BiasInit::zeros), MSE());
    Sequential<Dense<>, MSE> b(1, Dense<>(784, 256, WeightInit::xavier_uniform), MSE());
    Sequential<Conv2D<>, Flatten, MSE> c(1, Conv2D<>(1, 8, 3, 1, 0, WeightInit::kaiming_uniform), Flatten(), MSE());
    CHECK(moments(a.parameters().segment("0.bias")).max_abs == 0.0);
    CHECK(moments(a.parameters().segment("0.weight")).max_abs > 3.5 * std::sqrt(2.0 / 784));
    CHECK(moments(b.parameters().segment("0.weight")).max_abs <= std::sqrt(6.0 / (784 + 256)));
    CHECK(moments(b.parameters().segment("0.bias")).max_abs > 0.0); // PyTorch's bias unless told otherwise
    CHECK(moments(c.parameters().segment("0.weight")).max_abs <= std::sqrt(6.0 / 9));
    CHECK(moments(c.parameters().segment("0.weight")).max_abs > 1.0 / 3); // beyond the default's bound
}
