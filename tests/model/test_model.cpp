// Tests of the Model requirement, Sequential and MLP: traits and a user's own model, the
// mean-loss convention, segment names, determinism, allocation-free steps, errors for batches
// that do not fit, copies, and the state saved for resuming.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "xtrain/model.hpp"
#include "model/model_test_support.hpp"
#include "support/alloc_counter.hpp"

using namespace xtrain;
using xtrain::test::check_gradient;
using xtrain::test::random_data;

// ---------------------------------------------------------------------------------------------
// A user's own model: the example of docs/models.md, included from the page
// ---------------------------------------------------------------------------------------------

#include "doc_snippets/models-logistic-regression.inc"

TEST_CASE("A hand-written model meets the requirement and passes the gradient check", "[model][requirement]")
{
    LogisticRegression model(4, 1);
    const auto data = random_data<double>(16, {4}, 2, 0, 2);
    check_gradient(model, data.batch());
    std::vector<label_type> out(16, -1);
    model.predict(data.batch(), out.data());
    CHECK(std::all_of(out.begin(), out.end(), [](label_type c) { return c == 0 || c == 1; }));
}

// ---------------------------------------------------------------------------------------------
// Traits
// ---------------------------------------------------------------------------------------------

namespace
{
    struct Minimal
    {
        using value_type = float;
        ParamBuffer<float>& parameters();
        const ParamBuffer<float>& parameters() const;
        float loss_and_gradient(const Batch<float>&, xt::xtensor<float, 1>&);
    };
    struct Full : Minimal
    {
        float loss(const Batch<float>&);
        void predict(const Batch<float>&, label_type*);
        void set_training(bool);
        void save(BinaryWriter&) const;
        void load(BinaryReader&);
    };
    struct IntModel
    {
        using value_type = int;
    };
    struct WrongScalar : Minimal
    {
        double loss_and_gradient(const Batch<double>&, xt::xtensor<double, 1>&);
    };
    struct ConstGradient
    {
        using value_type = float;
        ParamBuffer<float>& parameters();
        const ParamBuffer<float>& parameters() const;
        float loss_and_gradient(const Batch<float>&, const std::vector<float>&);
    };
    struct SaveOnly : Minimal
    {
        void save(BinaryWriter&) const;
    };
}

TEST_CASE("Model traits detect each member", "[model][requirement]")
{
    STATIC_REQUIRE(is_model_v<Minimal>);
    STATIC_REQUIRE(!has_loss_v<Minimal>);
    STATIC_REQUIRE(!has_predict_v<Minimal>);
    STATIC_REQUIRE(!has_set_training_v<Minimal>);
    STATIC_REQUIRE(!has_model_state_v<Minimal>);
    STATIC_REQUIRE(is_model_v<Full>);
    STATIC_REQUIRE(has_loss_v<Full>);
    STATIC_REQUIRE(has_predict_v<Full>);
    STATIC_REQUIRE(has_set_training_v<Full>);
    STATIC_REQUIRE(has_model_state_v<Full>);
    STATIC_REQUIRE(check_model<Full>());
    STATIC_REQUIRE(!is_model_v<IntModel>);
    STATIC_REQUIRE(!has_value_type_v<IntModel>);
    STATIC_REQUIRE(!is_model_v<ConstGradient>);
    STATIC_REQUIRE(!has_model_state_v<SaveOnly>);
    STATIC_REQUIRE(!is_model_v<int>);
    // A loss_and_gradient for double hides the inherited float one: not a float model any more.
    STATIC_REQUIRE(!is_model_v<WrongScalar>);

    using Mlp = Sequential<Dense<784, 256>, ReLU, Dense<256, 10>, SoftmaxCrossEntropy>;
    STATIC_REQUIRE(check_model<Mlp>());
    STATIC_REQUIRE(std::is_same_v<Mlp::value_type, float>);
    STATIC_REQUIRE(has_loss_v<Mlp> && has_predict_v<Mlp> && has_set_training_v<Mlp> && has_model_state_v<Mlp>);
    using Regressor = Sequential<double, Dense<>, Tanh, Dense<>, MSE>;
    STATIC_REQUIRE(check_model<Regressor>());
    STATIC_REQUIRE(std::is_same_v<Regressor::value_type, double>);
    STATIC_REQUIRE(!has_predict_v<Regressor>); // regression: no classes to predict
    STATIC_REQUIRE(check_model<MLP<>>() && has_predict_v<MLP<>> && !has_set_training_v<MLP<>>);
    STATIC_REQUIRE(!has_predict_v<MLP<double, ReLU, MSE>>);
    STATIC_REQUIRE(has_loss_and_predict_v<Mlp> && has_loss_and_predict_v<MLP<>>);
    STATIC_REQUIRE(!has_loss_and_predict_v<Regressor> && !has_loss_and_predict_v<MLP<double, ReLU, MSE>>);
    STATIC_REQUIRE(!has_loss_and_predict_v<Full>); // optional: hand-written models need not have it
}

namespace
{
    // ReLU that counts its evaluations, to count the forward passes a call makes.
    struct CountingReLU
    {
        static inline std::size_t applied = 0;
        template <class T>
        using layer_type = xtrain::ActivationLayer<T, CountingReLU>;
        template <class T>
        layer_type<T> make_layer() const
        {
            return {};
        }
        template <class T>
        static T apply(T x) noexcept
        {
            ++applied;
            return x < T(0) ? T(0) : x;
        }
        template <class T>
        static T backward(T y, T dy) noexcept
        {
            return y > T(0) ? dy : T(0);
        }
        static const char* name() noexcept { return "CountingReLU"; }
    };
}

TEST_CASE("loss_and_predict gives loss() and predict() from one forward pass, bit for bit", "[model][evaluate]")
{
    auto same = [](auto& model, const auto& data, std::size_t n) {
        std::vector<label_type> p1(n, 99);
        std::vector<label_type> p2(n, 98);
        const auto l1 = model.loss(data.batch(0, n));
        model.predict(data.batch(0, n), p1.data());
        const auto l2 = model.loss_and_predict(data.batch(0, n), p2.data());
        CHECK(l1 == l2);
        CHECK(p1 == p2);
        CHECK_THROWS_WITH(model.loss_and_predict(data.batch(0, n), nullptr), Catch::Contains("out is null"));
    };
    SECTION("Sequential with dropout (off in evaluation)")
    {
        Sequential<double, Conv2D<>, CountingReLU, MaxPool2D<>, Flatten, Dropout, Dense<>, SoftmaxCrossEntropy> model(
            3, Conv2D<>(1, 4, 3, 1, 1), CountingReLU(), MaxPool2D<>(2), Flatten(), Dropout(0.5), Dense<>(4 * 5 * 5, 6),
            SoftmaxCrossEntropy());
        const auto data = random_data<double>(24, {1, 10, 10}, 6, 0, 7);
        same(model, data, 24);
        // One forward pass: the activation runs as often as for loss() alone (4 x 10 x 10 per sample).
        std::vector<label_type> out(24);
        CountingReLU::applied = 0;
        model.loss(data.batch());
        CHECK(CountingReLU::applied == 24 * 400);
        CountingReLU::applied = 0;
        model.loss_and_predict(data.batch(), out.data());
        CHECK(CountingReLU::applied == 24 * 400);
    }
    SECTION("MLP with run-time widths, a partial batch")
    {
        MLP<float, Tanh> model(5, {20, 16, 4});
        const auto data = random_data<float>(40, {20}, 4, 0, 8);
        same(model, data, 40);
        same(model, data, 13);
    }
}

// ---------------------------------------------------------------------------------------------
// Sequential and MLP: structure
// ---------------------------------------------------------------------------------------------

TEST_CASE("Sequential names segments by position, as torch.nn.Sequential", "[model][sequential]")
{
    #include "doc_snippets/models-sequential.inc"
    const ParamLayout& layout = mlp.parameters().layout();
    REQUIRE(layout.num_segments() == 4);
    CHECK(layout[0].name == "0.weight");
    CHECK(layout[0].shape == std::vector<std::size_t>{256, 784});
    CHECK(layout[1].name == "0.bias");
    CHECK(layout[2].name == "2.weight");
    CHECK(layout[2].shape == std::vector<std::size_t>{10, 256});
    CHECK(layout[3].name == "2.bias");
    CHECK(mlp.parameters().size() == 784 * 256 + 256 + 256 * 10 + 10);
    CHECK(layout[1].weight_decay == 0.0);
    CHECK(!layout[0].weight_decay.has_value());

    const ParamLayout& cl = cnn.parameters().layout();
    CHECK(cl[0].name == "0.weight");
    CHECK(cl[0].shape == std::vector<std::size_t>{8, 1, 3, 3});
    CHECK(cl[2].name == "5.weight");
    CHECK(cnn.summary().find("4 Dropout(0.25)") != std::string::npos);
    CHECK(cnn.layer<5>().in_features() == 8 * 13 * 13);
}

TEST_CASE("MLP with run-time widths equals the Sequential of the same layers, bit for bit", "[model][mlp]")
{
    #include "doc_snippets/models-mlp.inc"
    Sequential<Dense<784, 256>, ReLU, Dense<256, 128>, ReLU, Dense<128, 10>, SoftmaxCrossEntropy> same(7);
    REQUIRE(model.parameters().layout().same_structure(same.parameters().layout()));
    CHECK((model.parameters().values() == same.parameters().values()));
    const auto data = random_data<float>(32, {1, 28, 28}, 10, 0, 3);
    xt::xtensor<float, 1> g1 = model.parameters().zeros_like();
    xt::xtensor<float, 1> g2 = g1;
    CHECK(model.loss_and_gradient(data.batch(), g1) == same.loss_and_gradient(data.batch(), g2));
    CHECK((g1 == g2));
    CHECK_THROWS_WITH(MLP<>(1, {784}), Catch::Contains("widths.size() must be >= 2"));
    CHECK_THROWS_WITH(MLP<>(1, {784, 0, 10}), Catch::Contains("widths[1] must be > 0"));
}

// ---------------------------------------------------------------------------------------------
// The mean-loss convention
// ---------------------------------------------------------------------------------------------

TEMPLATE_TEST_CASE("The gradient is that of the mean loss: per-sample average, batch-size free", "[model][mean]",
                   float, double)
{
    using T = TestType;
    // Float sums of 8-16 terms of size ~0.1-1 round at ~1e-7 each: 1e-5 is ample; double 1e-12.
    // Absolute tolerances (epsilon(0): Approx would otherwise also allow 1.2e-5 relative).
    const double tol = std::is_same_v<T, float> ? 1e-5 : 1e-12;
    MLP<T> classifier(1, {6, 8, 3});
    Sequential<T, Conv2D<2, 3, 3>, Tanh, Flatten, Dense<12, 2>, MSE> regressor(2);
    auto check = [tol](auto& model, const auto& data)
    {
        const std::size_t n = data.size();
        const std::size_t p = model.parameters().size();
        xt::xtensor<T, 1> g = model.parameters().zeros_like();
        const double loss = model.loss_and_gradient(data.batch(), g);
        const xt::xtensor<T, 1> g_batch = g;
        // The batch gradient is the average of the per-sample gradients; the loss the average loss.
        std::vector<double> avg(p, 0.0);
        double avg_loss = 0.0;
        for (std::size_t i = 0; i < n; ++i)
        {
            avg_loss += model.loss_and_gradient(data.batch(i, 1), g) / static_cast<double>(n);
            for (std::size_t j = 0; j < p; ++j)
            {
                avg[j] += static_cast<double>(g(j)) / static_cast<double>(n);
            }
        }
        CHECK(loss == Approx(avg_loss).epsilon(0).margin(tol));
        std::size_t off = 0;
        for (std::size_t j = 0; j < p; ++j)
        {
            off += std::abs(static_cast<double>(g_batch(j)) - avg[j]) > tol ? 1 : 0;
        }
        CHECK(off == 0);
        // The same batch twice: the same loss and gradient (a sum would double them).
        auto twice = data;
        twice.x.insert(twice.x.end(), data.x.begin(), data.x.end());
        twice.labels.insert(twice.labels.end(), data.labels.begin(), data.labels.end());
        twice.targets.insert(twice.targets.end(), data.targets.begin(), data.targets.end());
        CHECK(model.loss_and_gradient(twice.batch(), g) == Approx(loss).epsilon(0).margin(tol));
        off = 0;
        for (std::size_t j = 0; j < p; ++j)
        {
            off += std::abs(static_cast<double>(g(j) - g_batch(j))) > tol ? 1 : 0;
        }
        CHECK(off == 0);
        CHECK(xt::amax(xt::abs(g_batch))() > T(1e-3));
    };
    check(classifier, random_data<T>(8, {6}, 3, 0, 4));
    check(regressor, random_data<T>(5, {2, 4, 4}, 0, 2, 5));
}

// ---------------------------------------------------------------------------------------------
// Determinism and copies
// ---------------------------------------------------------------------------------------------

TEST_CASE("The same seed gives bit-identical parameters and losses, and another seed does not", "[model][seed]")
{
    using Net = Sequential<Conv2D<1, 4, 3>, ReLU, MaxPool2D<2>, Flatten, Dropout, Dense<36, 5>, SoftmaxCrossEntropy>;
    auto make = [](std::uint64_t seed)
    { return Net(seed, Conv2D<1, 4, 3>(), ReLU(), MaxPool2D<2>(), Flatten(), Dropout(0.5), Dense<36, 5>(),
                 SoftmaxCrossEntropy()); };
    Net a = make(99);
    Net b = make(99);
    Net c = make(100);
    CHECK((a.parameters().values() == b.parameters().values()));
    CHECK((a.parameters().values() != c.parameters().values()));
    const auto data = random_data<float>(16, {1, 8, 8}, 5, 0, 6);
    xt::xtensor<float, 1> ga = a.parameters().zeros_like();
    xt::xtensor<float, 1> gb = ga;
    for (int step = 0; step < 3; ++step) // dropout masks differ per step but agree between a and b
    {
        CHECK(a.loss_and_gradient(data.batch(), ga) == b.loss_and_gradient(data.batch(), gb));
        CHECK((ga == gb));
    }
    // initialize() restarts from a seed: the parameters and dropout engine of a fresh model.
    a.initialize(100);
    CHECK((a.parameters().values() == c.parameters().values()));
    CHECK(a.layer<4>().rng() == c.layer<4>().rng());
    // Layers of the same shape draw from different streams.
    Sequential<Dense<8, 8>, ReLU, Dense<8, 8>, MSE> twins(1);
    CHECK((twins.parameters().segment("0.weight") != twins.parameters().segment("2.weight")));
}

TEST_CASE("Copies and moves of a model are independent and keep working", "[model][copy]")
{
    Sequential<Dense<6, 5>, Tanh, Dense<5, 3>, SoftmaxCrossEntropy> model(3);
    const auto data = random_data<float>(10, {6}, 3, 0, 7);
    xt::xtensor<float, 1> g = model.parameters().zeros_like();
    const float before = model.loss_and_gradient(data.batch(), g); // buffers now allocated
    auto copy = model;
    model.parameters().values().fill(0.0f);
    xt::xtensor<float, 1> gc = g;
    CHECK(copy.loss_and_gradient(data.batch(), gc) == before);
    CHECK((gc == g));
    CHECK(model.loss(data.batch()) == Approx(std::log(3.0f)));
    auto moved = std::move(copy);
    CHECK(moved.loss(data.batch()) == before);
    model = moved;
    CHECK(model.loss(data.batch()) == before);
}

// ---------------------------------------------------------------------------------------------
// Steps allocate nothing in steady state
// ---------------------------------------------------------------------------------------------

TEST_CASE("loss_and_gradient, loss and predict allocate nothing after the first call, also for a smaller batch",
          "[model][alloc]")
{
    auto steady = [](auto& model, const auto& data, std::size_t full, std::size_t partial)
    {
        using T = typename std::decay_t<decltype(model)>::value_type;
        xt::xtensor<T, 1> g = model.parameters().zeros_like();
        std::vector<label_type> pred(full);
        model.loss_and_gradient(data.batch(0, full), g); // allocates the buffers
        model.loss(data.batch(0, full));
        test::AllocationCounter count;
        T sum = 0;
        for (int i = 0; i < 3; ++i)
        {
            sum += model.loss_and_gradient(data.batch(0, full), g);
            sum += model.loss_and_gradient(data.batch(full, partial), g); // partial last batch
            sum += model.loss(data.batch(0, partial));
            if constexpr (has_predict_v<std::decay_t<decltype(model)>>)
            {
                model.predict(data.batch(0, full), pred.data());
            }
        }
        CHECK(count.allocations() == 0);
        CHECK(std::isfinite(sum));
    };
    SECTION("Sequential MLP")
    {
        Sequential<Dense<784, 256>, ReLU, Dense<256, 10>, SoftmaxCrossEntropy> model(1);
        steady(model, random_data<float>(64 + 17, {1, 28, 28}, 10, 0, 1), 64, 17);
    }
    SECTION("MLP with run-time widths")
    {
        MLP<float, Tanh> model(1, {20, 30, 30, 4});
        steady(model, random_data<float>(40, {20}, 4, 0, 2), 32, 8);
    }
    SECTION("CNN with dropout and an MSE head")
    {
        Sequential<double, Conv2D<>, ReLU, MaxPool2D<>, Flatten, Dropout, Dense<>, MSE> model(
            1, Conv2D<>(1, 4, 3, 1, 1), ReLU(), MaxPool2D<>(2), Flatten(), Dropout(0.3), Dense<>(4 * 5 * 5, 3), MSE());
        steady(model, random_data<double>(20, {1, 10, 10}, 0, 3, 3), 16, 4);
    }
    SECTION("Evaluating a larger batch sizes only the forward buffers")
    {
        Sequential<Conv2D<1, 4, 3>, ReLU, MaxPool2D<2>, Flatten, Dense<36, 3>, SoftmaxCrossEntropy> model(1);
        const auto data = random_data<float>(64, {1, 8, 8}, 3, 0, 5);
        xt::xtensor<float, 1> g = model.parameters().zeros_like();
        model.loss_and_gradient(data.batch(0, 8), g);
        model.loss(data.batch(0, 64)); // grows what a forward pass needs
        test::AllocationCounter count;
        model.loss(data.batch(0, 64));
        model.loss_and_gradient(data.batch(0, 8), g);
        CHECK(count.allocations() == 0);
        // The unrolled patches and input gradients for 64 samples were not allocated by loss():
        // the first training step at that size allocates them.
        model.loss_and_gradient(data.batch(0, 64), g);
        CHECK(count.allocations() > 0);
    }
    SECTION("reserve() makes even the first step allocation-free")
    {
        Sequential<Conv2D<1, 4, 3>, ReLU, Flatten, Dense<144, 3>, SoftmaxCrossEntropy> model(1);
        model.reserve(16, SampleShape::of({1, 8, 8}));
        const auto data = random_data<float>(16, {1, 8, 8}, 3, 0, 4);
        xt::xtensor<float, 1> g = model.parameters().zeros_like();
        test::AllocationCounter count;
        model.loss_and_gradient(data.batch(), g);
        CHECK(count.allocations() == 0);
    }
}

// ---------------------------------------------------------------------------------------------
// Batches that do not fit the model
// ---------------------------------------------------------------------------------------------

TEST_CASE("A batch that does not fit the model throws invalid_argument naming the problem", "[model][errors]")
{
    Sequential<Dense<784, 16>, ReLU, Dense<16, 10>, SoftmaxCrossEntropy> mlp(1);
    xt::xtensor<float, 1> g = mlp.parameters().zeros_like();
    auto wrong_dim = random_data<float>(4, {10, 10}, 10, 0, 1);
    CHECK_THROWS_AS(mlp.loss_and_gradient(wrong_dim.batch(), g), std::invalid_argument);
    CHECK_THROWS_WITH(mlp.loss_and_gradient(wrong_dim.batch(), g),
                      Catch::Contains("layer 0 (Dense(784 -> 16)): expects 784 input features per sample but gets 100"));
    CHECK_THROWS_WITH(mlp.loss(wrong_dim.batch()), Catch::Contains("xtrain::Sequential::loss"));

    auto data = random_data<float>(6, {784}, 10, 0, 2);
    data.labels[3] = 10;
    CHECK_THROWS_WITH(mlp.loss_and_gradient(data.batch(), g),
                      Catch::Contains("label 10 of sample 3 is outside [0, 10)"));
    data.labels[3] = -1;
    CHECK_THROWS_WITH(mlp.loss(data.batch()), Catch::Contains("label -1 of sample 3"));
    data.labels[3] = 2;
    Batch<float> unlabelled = data.batch();
    unlabelled.labels = nullptr;
    CHECK_THROWS_WITH(mlp.loss_and_gradient(unlabelled, g), Catch::Contains("the batch has no labels"));
    Batch<float> empty = data.batch();
    empty.size = 0;
    CHECK_THROWS_WITH(mlp.loss_and_gradient(empty, g), Catch::Contains("batch.size must be > 0"));
    Batch<float> inconsistent = data.batch();
    inconsistent.feature_dim = 700;
    CHECK_THROWS_WITH(mlp.loss_and_gradient(inconsistent, g),
                      Catch::Contains("batch.sample_shape 784 holds 784 values but batch.feature_dim is 700"));
    // After all that, the model still works, and without new buffers.
    CHECK(std::isfinite(mlp.loss_and_gradient(data.batch(), g)));

    Sequential<Dense<3, 2>, MSE> reg(1);
    xt::xtensor<float, 1> gr = reg.parameters().zeros_like();
    auto targets = random_data<float>(4, {3}, 0, 5, 3);
    CHECK_THROWS_WITH(reg.loss_and_gradient(targets.batch(), gr),
                      Catch::Contains("the batch has 5 target columns (batch.target_dim) but the model has 2 outputs"));
    CHECK_THROWS_WITH(reg.loss(random_data<float>(4, {3}, 2, 0, 3).batch()), Catch::Contains("the batch has no targets"));

    Sequential<Conv2D<3, 4, 3>, Flatten, Dense<4, 2>, SoftmaxCrossEntropy> cnn(1);
    xt::xtensor<float, 1> gc = cnn.parameters().zeros_like();
    CHECK_THROWS_WITH(cnn.loss_and_gradient(random_data<float>(2, {27}, 2, 0, 4).batch(), gc),
                      Catch::Contains("layer 0 (Conv2D(3 -> 4, kernel 3, stride 1, padding 0)): expects samples of "
                                      "shape C x H x W"));
    CHECK_THROWS_WITH(cnn.loss_and_gradient(random_data<float>(2, {1, 3, 3}, 2, 0, 4).batch(), gc),
                      Catch::Contains("expects 3 input channels but gets 1"));
    CHECK_THROWS_WITH(cnn.loss_and_gradient(random_data<float>(2, {3, 2, 5}, 2, 0, 4).batch(), gc),
                      Catch::Contains("smaller than the kernel"));
    CHECK_THROWS_WITH(cnn.loss_and_gradient(random_data<float>(2, {3, 4, 4}, 2, 0, 4).batch(), gc),
                      Catch::Contains("layer 2 (Dense(4 -> 2)): expects 4 input features per sample but gets 16"));
    CHECK(std::isfinite(cnn.loss_and_gradient(random_data<float>(2, {3, 3, 3}, 2, 0, 4).batch(), gc)));

    MLP<> runtime(1, {5, 4, 3});
    xt::xtensor<float, 1> gm;
    CHECK_THROWS_WITH(runtime.loss_and_gradient(random_data<float>(2, {6}, 3, 0, 5).batch(), gm),
                      Catch::Contains("xtrain::MLP::loss_and_gradient: layer 0 (Dense(5 -> 4)): expects 5"));
}

TEST_CASE("Layer arguments are checked when the model is described", "[model][errors]")
{
    CHECK_THROWS_WITH(Dense<>(0, 3), Catch::Contains("xtrain::Dense: in must be > 0 (got 0)"));
    CHECK_THROWS_WITH(Conv2D<>(1, 4, 3, 0), Catch::Contains("xtrain::Conv2D: stride must be > 0 (got 0)"));
    CHECK_THROWS_WITH(MaxPool2D<>(0), Catch::Contains("xtrain::MaxPool2D: kernel must be > 0"));
    CHECK_THROWS_WITH(Dropout(1.0), Catch::Contains("xtrain::Dropout: p must be in [0, 1) (got 1)"));
    CHECK_THROWS_WITH(Dropout(-0.1), Catch::Contains("p must be in [0, 1)"));
}

TEST_CASE("The gradient buffer is sized for the caller, and a replaced parameter buffer is refused", "[model][errors]")
{
    Sequential<Dense<3, 2>, SoftmaxCrossEntropy> model(1);
    const auto data = random_data<float>(4, {3}, 2, 0, 1);
    xt::xtensor<float, 1> g; // empty: resized on the first call
    model.loss_and_gradient(data.batch(), g);
    CHECK(g.size() == model.parameters().size());
    ParamLayout other;
    other.add("w", {5});
    model.parameters() = ParamBuffer<float>(other);
    CHECK_THROWS_AS(model.loss_and_gradient(data.batch(), g), std::logic_error);
}

// ---------------------------------------------------------------------------------------------
// Training mode, dropout and the state for resuming
// ---------------------------------------------------------------------------------------------

TEST_CASE("Dropout drops a fraction p while training and nothing in evaluation", "[model][dropout]")
{
    DropoutLayer<double> drop(0.3);
    drop.initialize(nullptr, 5, 1);
    const SampleShape s = SampleShape::flat(1000);
    drop.reserve(s, 20, 20, true);
    std::vector<double> x(20000, 2.0);
    const double* y = drop.forward(x.data(), 20, nullptr, ForwardMode::training_step(true));
    std::size_t zeros = 0;
    for (std::size_t i = 0; i < x.size(); ++i)
    {
        zeros += y[i] == 0.0 ? 1 : 0;
        REQUIRE((y[i] == 0.0 || y[i] == Approx(2.0 / 0.7).epsilon(1e-15)));  // kept units scaled by 1 / (1 - p)
    }
    // Binomial(20000, 0.3): standard deviation 65; 400 is about 6 of them.
    CHECK(zeros > 6000 - 400);
    CHECK(zeros < 6000 + 400);
    CHECK(drop.forward(x.data(), 20, nullptr, ForwardMode::evaluation()) == x.data());
    CHECK(drop.forward(x.data(), 20, nullptr, ForwardMode::training_step(false)) == x.data());

    // set_training(false): loss_and_gradient agrees with loss() (no dropout), and repeatable.
    Sequential<Dense<4, 6>, Dropout, Dense<6, 2>, SoftmaxCrossEntropy> model(
        1, Dense<4, 6>(), Dropout(0.5), Dense<6, 2>(), SoftmaxCrossEntropy());
    const auto data = random_data<float>(8, {4}, 2, 0, 2);
    xt::xtensor<float, 1> g = model.parameters().zeros_like();
    CHECK(model.training());
    const float l1 = model.loss_and_gradient(data.batch(), g);
    const float l2 = model.loss_and_gradient(data.batch(), g);
    CHECK(l1 != l2); // other masks
    model.set_training(false);
    CHECK(model.loss_and_gradient(data.batch(), g) == model.loss(data.batch()));
}

TEST_CASE("save/load carry the dropout engines, so a resumed run draws the same masks", "[model][state]")
{
    using Net = Sequential<Dense<4, 6>, ReLU, Dropout, Dense<6, 2>, SoftmaxCrossEntropy>;
    Net model(1, Dense<4, 6>(), ReLU(), Dropout(0.5), Dense<6, 2>(), SoftmaxCrossEntropy());
    const auto data = random_data<float>(8, {4}, 2, 0, 2);
    xt::xtensor<float, 1> g = model.parameters().zeros_like();
    model.loss_and_gradient(data.batch(), g);
    std::stringstream state;
    BinaryWriter w(state);
    model.save(w);
    const auto params = model.parameters().values();
    std::vector<float> expected;
    for (int i = 0; i < 3; ++i)
    {
        expected.push_back(model.loss_and_gradient(data.batch(), g));
    }
    Net resumed(2, Dense<4, 6>(), ReLU(), Dropout(0.5), Dense<6, 2>(), SoftmaxCrossEntropy());
    resumed.parameters().values() = params;
    BinaryReader r(state, "state");
    resumed.load(r);
    for (int i = 0; i < 3; ++i)
    {
        CHECK(resumed.loss_and_gradient(data.batch(), g) == expected[static_cast<std::size_t>(i)]);
    }

    std::stringstream again;
    BinaryWriter w2(again);
    model.save(w2);
    Sequential<Dense<4, 6>, ReLU, Dropout, Dense<6, 2>, SoftmaxCrossEntropy> other_p(
        1, Dense<4, 6>(), ReLU(), Dropout(0.2), Dense<6, 2>(), SoftmaxCrossEntropy());
    BinaryReader r2(again, "model.ckpt");
    CHECK_THROWS_WITH(other_p.load(r2), Catch::Contains("model.ckpt: the checkpoint's Dropout has p = 0.5"));
    std::stringstream third;
    BinaryWriter w3(third);
    model.save(w3);
    Sequential<Dense<4, 2>, SoftmaxCrossEntropy> shorter(1);
    BinaryReader r3(third, "model.ckpt");
    CHECK_THROWS_AS(shorter.load(r3), checkpoint_error);
}
