// Small models and datasets written by hand for the trainer's tests: no built-in layers, so the
// tests exercise the Model requirement as a user's own model meets it.
#ifndef XTRAIN_TESTS_TRAIN_FIXTURES_HPP
#define XTRAIN_TESTS_TRAIN_FIXTURES_HPP

#include <cmath>
#include <cstddef>
#include <cstdint>

#include <xtensor/xtensor.hpp>

#include "xtrain/core.hpp"
#include "xtrain/data.hpp"
#include "xtrain/optim.hpp"
#include "xtrain/train.hpp"

namespace xtrain::test
{
    // y = x . w + b, loss = mean over the batch of (y - t)^2 / 2.
    template <class T>
    class LinearRegression
    {
    public:
        using value_type = T;

        explicit LinearRegression(std::size_t dim, std::uint64_t seed = 0)
        {
            ParamLayout layout;
            layout.add("weight", {dim});
            layout.add("bias", {1});
            m_params = ParamBuffer<T>(layout);
            Rng rng = derive_rng(seed, RngStream::init);
            for (auto& v : m_params.values())
            {
                v = static_cast<T>(rng.uniform(-0.1, 0.1));
            }
        }

        ParamBuffer<T>& parameters() { return m_params; }
        const ParamBuffer<T>& parameters() const { return m_params; }

        T loss_and_gradient(const Batch<T>& batch, xt::xtensor<T, 1>& grad)
        {
            const std::size_t d = batch.feature_dim;
            const T* w = m_params.data();
            const T b = w[d];
            T* g = grad.data();
            for (std::size_t j = 0; j <= d; ++j)
            {
                g[j] = T(0);
            }
            T loss = T(0);
            const T inv = T(1) / static_cast<T>(batch.size);
            for (std::size_t i = 0; i < batch.size; ++i)
            {
                const T* x = batch.features + i * d;
                T y = b;
                for (std::size_t j = 0; j < d; ++j)
                {
                    y += x[j] * w[j];
                }
                const T r = y - batch.targets[i];
                loss += T(0.5) * r * r;
                for (std::size_t j = 0; j < d; ++j)
                {
                    g[j] += inv * r * x[j];
                }
                g[d] += inv * r;
            }
            return loss * inv;
        }

    private:
        ParamBuffer<T> m_params;
    };

    // Multinomial logistic regression with predictions (enables accuracy).
    template <class T>
    class Softmax
    {
    public:
        using value_type = T;

        Softmax(std::size_t dim, std::size_t classes, std::uint64_t seed = 0)
            : m_dim(dim)
            , m_classes(classes)
            , m_logits(classes)
        {
            ParamLayout layout;
            layout.add("weight", {classes, dim});
            layout.add("bias", {classes});
            m_params = ParamBuffer<T>(layout);
            Rng rng = derive_rng(seed, RngStream::init);
            for (auto& v : m_params.values())
            {
                v = static_cast<T>(rng.uniform(-0.05, 0.05));
            }
        }

        ParamBuffer<T>& parameters() { return m_params; }
        const ParamBuffer<T>& parameters() const { return m_params; }

        T loss_and_gradient(const Batch<T>& batch, xt::xtensor<T, 1>& grad)
        {
            return run(batch, &grad);
        }
        T loss(const Batch<T>& batch) { return run(batch, nullptr); }
        void predict(const Batch<T>& batch, label_type* out)
        {
            for (std::size_t i = 0; i < batch.size; ++i)
            {
                logits(batch.features + i * m_dim);
                std::size_t best = 0;
                for (std::size_t c = 1; c < m_classes; ++c)
                {
                    best = m_logits[c] > m_logits[best] ? c : best;
                }
                out[i] = static_cast<label_type>(best);
            }
        }

    private:
        void logits(const T* x)
        {
            const T* w = m_params.data();
            const T* b = w + m_classes * m_dim;
            for (std::size_t c = 0; c < m_classes; ++c)
            {
                T z = b[c];
                for (std::size_t j = 0; j < m_dim; ++j)
                {
                    z += w[c * m_dim + j] * x[j];
                }
                m_logits[c] = z;
            }
        }

        T run(const Batch<T>& batch, xt::xtensor<T, 1>* grad)
        {
            if (grad)
            {
                grad->fill(T(0));
            }
            const T inv = T(1) / static_cast<T>(batch.size);
            T loss = T(0);
            for (std::size_t i = 0; i < batch.size; ++i)
            {
                const T* x = batch.features + i * m_dim;
                logits(x);
                T mx = m_logits[0];
                for (std::size_t c = 1; c < m_classes; ++c)
                {
                    mx = std::max(mx, m_logits[c]);
                }
                T sum = T(0);
                for (std::size_t c = 0; c < m_classes; ++c)
                {
                    m_logits[c] = std::exp(m_logits[c] - mx);
                    sum += m_logits[c];
                }
                const auto y = static_cast<std::size_t>(batch.labels[i]);
                loss -= std::log(m_logits[y] / sum);
                if (grad)
                {
                    T* g = grad->data();
                    T* gb = g + m_classes * m_dim;
                    for (std::size_t c = 0; c < m_classes; ++c)
                    {
                        const T p = m_logits[c] / sum - (c == y ? T(1) : T(0));
                        for (std::size_t j = 0; j < m_dim; ++j)
                        {
                            g[c * m_dim + j] += inv * p * x[j];
                        }
                        gb[c] += inv * p;
                    }
                }
            }
            return loss * inv;
        }

        std::size_t m_dim;
        std::size_t m_classes;
        std::vector<T> m_logits;
        ParamBuffer<T> m_params;
    };

    // Targets y = x . w* + 0.5 + noise: the optimum is known.
    template <class T>
    Dataset<T> make_regression(std::size_t n, std::size_t d, std::uint64_t seed, double noise = 0.1)
    {
        Dataset<T> data;
        data.features = xt::xtensor<T, 2>::from_shape({n, d});
        data.targets = xt::xtensor<T, 2>::from_shape({n, 1});
        data.sample_shape = {d};
        data.name = "regression";
        Rng rng = derive_rng(seed, RngStream::data);
        for (std::size_t i = 0; i < n; ++i)
        {
            double y = 0.5;
            for (std::size_t j = 0; j < d; ++j)
            {
                const double x = rng.normal();
                data.features(i, j) = static_cast<T>(x);
                y += x * (static_cast<double>(j) + 1.0) / static_cast<double>(d);
            }
            data.targets(i, 0) = static_cast<T>(y + noise * rng.normal());
        }
        return data;
    }

    // Gaussian blobs in d dimensions, one per class.
    template <class T>
    Dataset<T> make_blobs(std::size_t n, std::size_t d, std::size_t classes, std::uint64_t seed)
    {
        Dataset<T> data;
        data.features = xt::xtensor<T, 2>::from_shape({n, d});
        data.labels = xt::xtensor<label_type, 1>::from_shape({n});
        data.sample_shape = {d};
        data.num_classes = classes;
        data.name = "blobs";
        Rng rng = derive_rng(seed, RngStream::data);
        for (std::size_t i = 0; i < n; ++i)
        {
            const auto c = static_cast<std::size_t>(rng.uniform_index(classes));
            data.labels(i) = static_cast<label_type>(c);
            for (std::size_t j = 0; j < d; ++j)
            {
                const double centre = (j % classes == c) ? 2.0 : 0.0;
                data.features(i, j) = static_cast<T>(centre + rng.normal());
            }
        }
        return data;
    }
}

#endif
