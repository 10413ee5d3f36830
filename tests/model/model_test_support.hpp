// Helpers shared by the model tests: batches over owned data, and a finite-difference gradient check.
#ifndef XTRAIN_TESTS_MODEL_TEST_SUPPORT_HPP
#define XTRAIN_TESTS_MODEL_TEST_SUPPORT_HPP

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <vector>

#include "xtrain/core.hpp"
#include "xtrain/model/gradient_check.hpp"

namespace xtrain::test
{
    // Features, labels and targets owned by the test; batch() views the first n samples.
    template <class T>
    struct Data
    {
        std::vector<T> x;
        std::vector<label_type> labels;
        std::vector<T> targets;
        std::vector<std::size_t> shape;
        std::size_t dim = 0;
        std::size_t target_dim = 0;

        std::size_t size() const { return dim == 0 ? 0 : x.size() / dim; }

        Batch<T> batch(std::size_t first, std::size_t n) const
        {
            Batch<T> b;
            b.features = x.data() + first * dim;
            b.size = n;
            b.feature_dim = dim;
            b.sample_rank = shape.size();
            for (std::size_t i = 0; i < shape.size(); ++i)
            {
                b.sample_shape[i] = shape[i];
            }
            if (!labels.empty())
            {
                b.labels = labels.data() + first;
            }
            if (!targets.empty())
            {
                b.targets = targets.data() + first * target_dim;
                b.target_dim = target_dim;
            }
            return b;
        }
        Batch<T> batch() const { return batch(0, size()); }
    };

    // n samples of the given shape with features uniform in [-1, 1), labels in [0, classes) and
    // targets uniform in [-1, 1) (either may be switched off with 0).
    template <class T>
    Data<T> random_data(std::size_t n, std::initializer_list<std::size_t> shape, std::size_t classes,
                        std::size_t target_dim, std::uint64_t seed)
    {
        Data<T> d;
        d.shape.assign(shape.begin(), shape.end());
        d.dim = 1;
        for (std::size_t s : shape)
        {
            d.dim *= s;
        }
        Rng rng(seed);
        d.x.resize(n * d.dim);
        for (T& v : d.x)
        {
            v = static_cast<T>(rng.uniform(-1.0, 1.0));
        }
        if (classes > 0)
        {
            d.labels.resize(n);
            for (label_type& c : d.labels)
            {
                c = static_cast<label_type>(rng.uniform_index(classes));
            }
        }
        if (target_dim > 0)
        {
            d.target_dim = target_dim;
            d.targets.resize(n * target_dim);
            for (T& v : d.targets)
            {
                v = static_cast<T>(rng.uniform(-1.0, 1.0));
            }
        }
        return d;
    }

    // Compares loss_and_gradient's gradient with central differences through the library's
    // check_gradients (every parameter, or about one in `stride`), in double with its default
    // step h = 1e-6 and tolerance 1e-5. The central difference then has a truncation error of about
    // h^2 |f'''| / 6 ~ 1e-12 and a rounding error of about eps |f| / h ~ 2e-16 * 10 / 1e-6 = 2e-9;
    // a wrong gradient (a missing term, a wrong index or factor) is off by a sizeable fraction of
    // the gradient itself.
    template <class M>
    void check_gradient(const M& model, const Batch<double>& batch, std::size_t stride = 1)
    {
        GradientCheckOptions o;
        o.max_parameters = stride <= 1 ? 0 : (model.parameters().size() + stride - 1) / stride;
        const GradientCheck c = check_gradients(model, batch, o);
        INFO(c.describe());
        CHECK(c.ok());
        // A gradient that is zero everywhere would pass trivially.
        CHECK(c.largest_gradient > 1e-3);
    }
}

#endif
