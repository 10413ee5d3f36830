// gradient_of_first(): the gradient over a batch's first n samples from the backward pass just made,
// against a forward and backward pass over those n samples alone; and what it refuses.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "xtrain/model.hpp"
#include "model/model_test_support.hpp"

using namespace xtrain;
using xtrain::test::random_data;

namespace
{
    // Largest |a - b| over the largest |b|: one relative figure for a whole gradient.
    template <class T>
    double relative_difference(const xt::xtensor<T, 1>& a, const xt::xtensor<T, 1>& b)
    {
        REQUIRE(a.size() == b.size());
        double diff = 0.0;
        double scale = 0.0;
        for (std::size_t i = 0; i < a.size(); ++i)
        {
            diff = std::max(diff, std::abs(static_cast<double>(a(i)) - static_cast<double>(b(i))));
            scale = std::max(scale, std::abs(static_cast<double>(b(i))));
        }
        REQUIRE(scale > 0.0);
        return diff / scale;
    }

    // For each n: the model's gradient_of_first(batch, n) after loss_and_gradient(batch) against a
    // copy's loss_and_gradient on the first n samples alone.
    template <class Model, class T>
    void check_first_samples(Model& model, const test::Data<T>& data, std::initializer_list<std::size_t> ns, double tol)
    {
        const Batch<T> batch = data.batch();
        xt::xtensor<T, 1> g = model.parameters().zeros_like();
        xt::xtensor<T, 1> part = g;
        xt::xtensor<T, 1> again = g;
        xt::xtensor<T, 1> ref = g;
        model.loss_and_gradient(batch, g);
        const xt::xtensor<T, 1> whole = g;
        for (std::size_t n : ns)
        {
            INFO("n = " << n << " of " << batch.size);
            REQUIRE(model.holds_backward_of(batch));
            model.gradient_of_first(batch, n, part);
            model.gradient_of_first(batch, n, again);
            CHECK((part == again)); // repeating it reads nothing it wrote
            Model alone = model;
            alone.loss_and_gradient(data.batch(0, n), ref);
            CHECK(relative_difference(part, ref) <= tol);
        }
        // All of the batch: the batch's own gradient, bit for bit (the same backward pass).
        model.gradient_of_first(batch, batch.size, part);
        CHECK((part == whole));
    }

    template <class T>
    void reserve_more(MLP<T>& model, const Batch<T>& batch)
    {
        model.reserve(4 * batch.size);
    }
    template <class M, class T, std::enable_if_t<!std::is_same_v<M, MLP<T>>, int> = 0>
    void reserve_more(M& model, const Batch<T>& batch)
    {
        model.reserve(4 * batch.size, SampleShape::of_batch(batch));
    }

    template <class Model, class T>
    void check_refusals(Model& model, const test::Data<T>& data, const std::string& name)
    {
        const Batch<T> batch = data.batch();
        xt::xtensor<T, 1> g = model.parameters().zeros_like();
        const std::string where = "xtrain::" + name + "::gradient_of_first";
        CHECK_FALSE(model.holds_backward_of(batch));
        CHECK_THROWS_AS(model.gradient_of_first(batch, 1, g), std::logic_error);
        CHECK_THROWS_WITH(model.gradient_of_first(batch, 1, g),
                          Catch::Matchers::Contains(where + ": the model holds no backward pass of this batch"));

        model.loss_and_gradient(batch, g);
        CHECK(model.holds_backward_of(batch));
        CHECK_FALSE(model.holds_backward_of(data.batch(1, batch.size - 1))); // other rows
        CHECK_FALSE(model.holds_backward_of(data.batch(0, batch.size - 1))); // fewer rows: pass the batch itself
        CHECK_THROWS_AS(model.gradient_of_first(data.batch(1, 2), 1, g), std::logic_error);
        CHECK_THROWS_AS(model.gradient_of_first(batch, 0, g), std::invalid_argument);
        CHECK_THROWS_WITH(model.gradient_of_first(batch, 0, g),
                          Catch::Matchers::Contains(where + ": n must be in 1 ... batch.size (" +
                                                    std::to_string(batch.size) + ") (got 0)"));
        CHECK_THROWS_AS(model.gradient_of_first(batch, batch.size + 1, g), std::invalid_argument);
        CHECK(model.holds_backward_of(batch)); // a refused call changes nothing

        // A copy's activations would be the original's buffers: it holds no pass.
        Model copy = model;
        CHECK_FALSE(copy.holds_backward_of(batch));
        CHECK(model.holds_backward_of(batch));
        Model assigned = copy;
        assigned.loss_and_gradient(batch, g);
        assigned = model;
        CHECK_FALSE(assigned.holds_backward_of(batch));

        // A move takes the buffers away: neither side holds the pass.
        assigned.loss_and_gradient(batch, g);
        Model moved = std::move(assigned);
        CHECK_FALSE(moved.holds_backward_of(batch));
        CHECK_FALSE(assigned.holds_backward_of(batch)); // NOLINT(bugprone-use-after-move): checked on purpose
        moved.loss_and_gradient(batch, g);
        Model target = copy;
        target = std::move(moved);
        CHECK_FALSE(target.holds_backward_of(batch));
        CHECK_FALSE(moved.holds_backward_of(batch)); // NOLINT(bugprone-use-after-move)

        // Anything with a forward pass overwrites the activations.
        (void)model.loss(batch);
        CHECK_FALSE(model.holds_backward_of(batch));
        CHECK_THROWS_AS(model.gradient_of_first(batch, 1, g), std::logic_error);
        model.loss_and_gradient(batch, g);
        std::vector<label_type> out(batch.size);
        model.predict(batch, out.data());
        CHECK_FALSE(model.holds_backward_of(batch));
        model.loss_and_gradient(batch, g);
        (void)model.loss_and_descent(batch, T(0));
        CHECK_FALSE(model.holds_backward_of(batch));
        model.loss_and_gradient(batch, g);
        model.initialize(3);
        CHECK_FALSE(model.holds_backward_of(batch));
        // A larger reservation reallocates the buffers the activations live in.
        model.loss_and_gradient(batch, g);
        reserve_more(model, batch);
        CHECK_FALSE(model.holds_backward_of(batch));
    }
}

TEMPLATE_TEST_CASE("gradient_of_first equals a pass over the first samples alone (MLP)", "[model][gradient_of_first]",
                   float, double)
{
    const double tol = std::is_same_v<TestType, float> ? 1e-5 : 1e-12;
    MLP<TestType> classifier(8, {6, 9, 7, 3});
    check_first_samples(classifier, random_data<TestType>(11, {6}, 3, 0, 9), {1, 2, 5, 10}, tol);
    MLP<TestType, Tanh, MSE> regressor(10, {6, 9, 2});
    check_first_samples(regressor, random_data<TestType>(12, {6}, 0, 2, 11), {1, 6, 11}, tol);
    // Batches large enough for the small-batch kernels and the row slices of the first layer.
    MLP<TestType> wide(12, {784, 64, 10});
    check_first_samples(wide, random_data<TestType>(64, {784}, 10, 0, 13), {1, 4, 5, 8, 16, 32, 63}, tol);
}

TEST_CASE("gradient_of_first equals a pass over the first samples alone (Sequential with Conv2D and pooling)",
          "[model][gradient_of_first][conv]")
{
    using Net = Sequential<double, Conv2D<>, ReLU, MaxPool2D<>, Conv2D<>, ReLU, MaxPool2D<>, Flatten, Dense<>,
                           SoftmaxCrossEntropy>;
    Net model(16, Conv2D<>(1, 4, 3), ReLU(), MaxPool2D<>(2), Conv2D<>(4, 5, 2), ReLU(), MaxPool2D<>(3, 1), Flatten(),
              Dense<>(10, 6), SoftmaxCrossEntropy());
    check_first_samples(model, random_data<double>(7, {1, 12, 11}, 6, 0, 17), {1, 3, 6}, 1e-12);
    Sequential<double, Conv2D<1, 2, 3>, Sigmoid, MaxPool2D<2>, Flatten, Dense<8, 3>, MSE> regressor(18);
    check_first_samples(regressor, random_data<double>(5, {6, 6}, 0, 3, 19), {1, 2, 4}, 1e-12);
}

TEST_CASE("gradient_of_first with dropout keeps the batch's masks and draws none", "[model][gradient_of_first][dropout]")
{
    using Net = Sequential<double, Dense<5, 8>, ReLU, Dropout, Dense<8, 3>, SoftmaxCrossEntropy>;
    Net model(12, Dense<5, 8>(), ReLU(), Dropout(0.4), Dense<8, 3>(), SoftmaxCrossEntropy());
    const auto data = random_data<double>(8, {5}, 3, 0, 13);
    Net twin = model;
    xt::xtensor<double, 1> g = model.parameters().zeros_like();
    xt::xtensor<double, 1> part = g;
    xt::xtensor<double, 1> g_twin = g;
    model.loss_and_gradient(data.batch(), g);
    model.gradient_of_first(data.batch(), 8, part);
    CHECK((part == g)); // the same masks as the batch's own pass
    model.gradient_of_first(data.batch(), 4, part);
    // No mask was drawn: the next pass of both models draws the same masks.
    twin.loss_and_gradient(data.batch(), g_twin);
    model.loss_and_gradient(data.batch(), g);
    twin.loss_and_gradient(data.batch(), g_twin);
    CHECK((g == g_twin));
    // Without dropout the part equals a pass over the first samples alone.
    model.set_training(false);
    check_first_samples(model, data, {1, 4, 7}, 1e-12);
}

TEST_CASE("gradient_of_first refuses a pass the model does not hold", "[model][gradient_of_first]")
{
    MLP<float> mlp(8, {6, 9, 3});
    check_refusals(mlp, random_data<float>(6, {6}, 3, 0, 9), "MLP");
    Sequential<float, Dense<6, 9>, ReLU, Dense<9, 3>, SoftmaxCrossEntropy> seq(8);
    check_refusals(seq, random_data<float>(6, {6}, 3, 0, 9), "Sequential");
    CHECK(has_gradient_of_first_v<MLP<float>>);
    CHECK(has_gradient_of_first_v<decltype(seq)>);
}
