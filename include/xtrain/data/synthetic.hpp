/**
 * @file synthetic.hpp
 * @brief Seeded synthetic tasks: linear regression with a known optimum, Gaussian blobs, two
 * spirals, a teacher-student MLP task, and the Fashion-MNIST-shaped default used when the real
 * data is not installed.
 *
 * Everything is drawn from `derive_rng(seed, RngStream::data, k)` with a fixed k per purpose
 * (k = 0: parameters such as true weights, centres or the teacher; 1: inputs; 2: noise; 3: label
 * noise), through xtrain's own engine and Box-Muller normals, so the same options give the same
 * numbers on every platform. Values are computed in double and rounded to T once.
 */
#ifndef XTRAIN_DATA_SYNTHETIC_HPP
#define XTRAIN_DATA_SYNTHETIC_HPP

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "xtrain/core/error.hpp"
#include "xtrain/core/random.hpp"
#include "xtrain/data/dataset.hpp"
#include "xtrain/data/fashion_mnist.hpp"

namespace xtrain::datasets
{
    // ---------------------------------------------------------------------------------------------
    // Linear regression
    // ---------------------------------------------------------------------------------------------

    /** @brief Options of linear_regression(). */
    struct LinearRegressionOptions
    {
        std::size_t num_samples = 1000;  ///< N
        std::size_t num_features = 10;   ///< D
        std::size_t num_targets = 1;     ///< K
        double noise_std = 0.1;          ///< standard deviation of the noise added to each target
        double condition_number = 1.0;   ///< ratio of the largest to the smallest feature variance (>= 1)
        std::uint64_t seed = 0;          ///< the run seed
    };

    /**
     * @brief y = W x + b + noise, with everything that defines the optimum exposed.
     *
     * x_j ~ N(0, feature_std_j^2) independently, feature_std_j = condition_number^(-j / (2 (D - 1)))
     * (so the feature covariance, the Hessian of the squared error up to a factor 2, has
     * condition number `condition_number`); W_kj, b_k ~ N(0, 1); noise ~ N(0, noise_std^2) per target.
     * The population optimum of the mean squared error is (W, b) with risk noise_std^2 per target;
     * least_squares() gives the optimum on the finite sample.
     */
    template <class T>
    struct LinearRegressionTask
    {
        Dataset<T> data;                 ///< N x D features, N x K targets
        xt::xtensor<double, 2> weights;  ///< the true W, K x D
        xt::xtensor<double, 1> bias;     ///< the true b, K
        xt::xtensor<double, 1> feature_std; ///< standard deviation of each feature, D
        double noise_std = 0.0;          ///< standard deviation of the target noise

        /** @brief Expected squared error per target of the true (W, b) on new data: noise_std^2. */
        double optimal_risk() const noexcept { return noise_std * noise_std; }
    };

    /**
     * @brief A linear regression task (see LinearRegressionTask).
     * @throws std::invalid_argument for zero sizes, a negative noise or a condition number < 1.
     */
    template <class T>
    LinearRegressionTask<T> linear_regression(const LinearRegressionOptions& o = {})
    {
        const char* where = "xtrain::datasets::linear_regression";
        detail::require(o.num_samples > 0, where, "num_samples", o.num_samples, "must be > 0");
        detail::require(o.num_features > 0, where, "num_features", o.num_features, "must be > 0");
        detail::require(o.num_targets > 0, where, "num_targets", o.num_targets, "must be > 0");
        detail::require(o.noise_std >= 0.0 && std::isfinite(o.noise_std), where, "noise_std", o.noise_std, "must be >= 0");
        detail::require(o.condition_number >= 1.0 && std::isfinite(o.condition_number), where, "condition_number",
                        o.condition_number, "must be >= 1");
        const std::size_t n = o.num_samples;
        const std::size_t d = o.num_features;
        const std::size_t k = o.num_targets;
        LinearRegressionTask<T> task;
        task.noise_std = o.noise_std;
        task.weights = xt::xtensor<double, 2>::from_shape({k, d});
        task.bias = xt::xtensor<double, 1>::from_shape({k});
        task.feature_std = xt::xtensor<double, 1>::from_shape({d});
        Rng prng = derive_rng(o.seed, RngStream::data, 0);
        for (std::size_t r = 0; r < k; ++r)
        {
            for (std::size_t j = 0; j < d; ++j)
            {
                task.weights(r, j) = prng.normal();
            }
            task.bias(r) = prng.normal();
        }
        for (std::size_t j = 0; j < d; ++j)
        {
            const double e = d > 1 ? -0.5 * static_cast<double>(j) / static_cast<double>(d - 1) : 0.0;
            task.feature_std(j) = std::pow(o.condition_number, e);
        }
        Dataset<T>& ds = task.data;
        ds.name = "linear-regression";
        ds.sample_shape = {d};
        ds.features = xt::xtensor<T, 2>::from_shape({n, d});
        ds.targets = xt::xtensor<T, 2>::from_shape({n, k});
        Rng xrng = derive_rng(o.seed, RngStream::data, 1);
        Rng nrng = derive_rng(o.seed, RngStream::data, 2);
        std::vector<double> x(d);
        for (std::size_t i = 0; i < n; ++i)
        {
            for (std::size_t j = 0; j < d; ++j)
            {
                // Round to T first, so the targets are exact functions of the stored features.
                x[j] = static_cast<double>(static_cast<T>(task.feature_std(j) * xrng.normal()));
                ds.features(i, j) = static_cast<T>(x[j]);
            }
            for (std::size_t r = 0; r < k; ++r)
            {
                double y = task.bias(r);
                for (std::size_t j = 0; j < d; ++j)
                {
                    y += task.weights(r, j) * x[j];
                }
                ds.targets(i, r) = static_cast<T>(y + o.noise_std * nrng.normal());
            }
        }
        return task;
    }

    /** @brief The least-squares fit of a linear model with bias: the optimum of the training loss. */
    struct LeastSquaresSolution
    {
        xt::xtensor<double, 2> weights;  ///< K x D
        xt::xtensor<double, 1> bias;     ///< K
        double mean_squared_error = 0.0; ///< mean over samples and targets of the squared residual
    };

    /**
     * @brief Solves min over (W, b) of the mean squared error on a regression dataset (normal
     * equations, Cholesky, in double). For checking that training reaches the minimum of the
     * training loss, rather than the population optimum.
     * @throws std::invalid_argument if @p d is not a regression set.
     * @throws data_error if the features are collinear (the normal equations are singular).
     */
    template <class T>
    LeastSquaresSolution least_squares(const Dataset<T>& d)
    {
        detail::require(d.is_regression(), "xtrain::datasets::least_squares", "dataset '" + d.name + "'",
                        "without targets", "must be a regression set");
        const std::size_t n = d.size();
        const std::size_t p = d.feature_dim() + 1;  // the last column is the constant 1 (bias)
        const std::size_t k = d.target_dim();
        std::vector<double> a(p * p, 0.0);
        std::vector<double> rhs(p * k, 0.0);
        std::vector<double> z(p);
        for (std::size_t i = 0; i < n; ++i)
        {
            for (std::size_t j = 0; j + 1 < p; ++j)
            {
                z[j] = static_cast<double>(d.features(i, j));
            }
            z[p - 1] = 1.0;
            for (std::size_t r = 0; r < p; ++r)
            {
                for (std::size_t c = 0; c <= r; ++c)
                {
                    a[r * p + c] += z[r] * z[c];
                }
                for (std::size_t t = 0; t < k; ++t)
                {
                    rhs[r * k + t] += z[r] * static_cast<double>(d.targets(i, t));
                }
            }
        }
        // Cholesky A = L L^T in the lower triangle.
        for (std::size_t j = 0; j < p; ++j)
        {
            double s = a[j * p + j];
            for (std::size_t m = 0; m < j; ++m)
            {
                s -= a[j * p + m] * a[j * p + m];
            }
            if (!(s > 1e-12 * std::max(1.0, a[j * p + j])))
            {
                throw data_error(detail::concat("xtrain::datasets::least_squares: the features of '", d.name,
                                                "' are collinear (or fewer samples than features + 1)"));
            }
            const double l = std::sqrt(s);
            a[j * p + j] = l;
            for (std::size_t r = j + 1; r < p; ++r)
            {
                double v = a[r * p + j];
                for (std::size_t m = 0; m < j; ++m)
                {
                    v -= a[r * p + m] * a[j * p + m];
                }
                a[r * p + j] = v / l;
            }
        }
        LeastSquaresSolution sol;
        sol.weights = xt::xtensor<double, 2>::from_shape({k, p - 1});
        sol.bias = xt::xtensor<double, 1>::from_shape({k});
        std::vector<double> y(p);
        for (std::size_t t = 0; t < k; ++t)
        {
            for (std::size_t r = 0; r < p; ++r)
            {
                double v = rhs[r * k + t];
                for (std::size_t m = 0; m < r; ++m)
                {
                    v -= a[r * p + m] * y[m];
                }
                y[r] = v / a[r * p + r];
            }
            for (std::size_t r = p; r-- > 0;)
            {
                double v = y[r];
                for (std::size_t m = r + 1; m < p; ++m)
                {
                    v -= a[m * p + r] * y[m];
                }
                y[r] = v / a[r * p + r];
            }
            for (std::size_t j = 0; j + 1 < p; ++j)
            {
                sol.weights(t, j) = y[j];
            }
            sol.bias(t) = y[p - 1];
        }
        double sse = 0.0;
        for (std::size_t i = 0; i < n; ++i)
        {
            for (std::size_t t = 0; t < k; ++t)
            {
                double pred = sol.bias(t);
                for (std::size_t j = 0; j + 1 < p; ++j)
                {
                    pred += sol.weights(t, j) * static_cast<double>(d.features(i, j));
                }
                const double e = static_cast<double>(d.targets(i, t)) - pred;
                sse += e * e;
            }
        }
        sol.mean_squared_error = sse / static_cast<double>(n * k);
        return sol;
    }

    // ---------------------------------------------------------------------------------------------
    // Gaussian blobs and two spirals
    // ---------------------------------------------------------------------------------------------

    /** @brief Options of gaussian_blobs(). */
    struct BlobsOptions
    {
        std::size_t num_samples = 1000;  ///< N
        std::size_t num_features = 2;    ///< D
        std::size_t num_classes = 3;     ///< one blob per class
        double cluster_std = 1.0;        ///< standard deviation around each centre
        double center_box = 10.0;        ///< centres are uniform in [-center_box, center_box]^D
        std::uint64_t seed = 0;          ///< the run seed
    };

    /**
     * @brief Isotropic Gaussian clusters, one per class; sample i belongs to class i mod C (balanced).
     * @throws std::invalid_argument for zero sizes or a negative spread.
     */
    template <class T>
    Dataset<T> gaussian_blobs(const BlobsOptions& o = {})
    {
        const char* where = "xtrain::datasets::gaussian_blobs";
        detail::require(o.num_samples > 0, where, "num_samples", o.num_samples, "must be > 0");
        detail::require(o.num_features > 0, where, "num_features", o.num_features, "must be > 0");
        detail::require(o.num_classes > 0, where, "num_classes", o.num_classes, "must be > 0");
        detail::require(o.cluster_std >= 0.0 && std::isfinite(o.cluster_std), where, "cluster_std", o.cluster_std, "must be >= 0");
        detail::require(o.center_box >= 0.0 && std::isfinite(o.center_box), where, "center_box", o.center_box, "must be >= 0");
        const std::size_t n = o.num_samples;
        const std::size_t d = o.num_features;
        const std::size_t c = o.num_classes;
        std::vector<double> centers(c * d);
        Rng crng = derive_rng(o.seed, RngStream::data, 0);
        for (double& v : centers)
        {
            v = crng.uniform(-o.center_box, o.center_box);
        }
        Dataset<T> ds;
        ds.name = "gaussian-blobs";
        ds.sample_shape = {d};
        ds.num_classes = c;
        ds.features = xt::xtensor<T, 2>::from_shape({n, d});
        ds.labels = xt::xtensor<label_type, 1>::from_shape({n});
        Rng xrng = derive_rng(o.seed, RngStream::data, 1);
        for (std::size_t i = 0; i < n; ++i)
        {
            const std::size_t y = i % c;
            ds.labels(i) = static_cast<label_type>(y);
            for (std::size_t j = 0; j < d; ++j)
            {
                ds.features(i, j) = static_cast<T>(centers[y * d + j] + o.cluster_std * xrng.normal());
            }
        }
        return ds;
    }

    /** @brief Options of two_spirals(). */
    struct SpiralsOptions
    {
        std::size_t num_samples = 1000;  ///< N (half per spiral)
        double turns = 1.5;              ///< turns of each arm
        double noise = 0.05;             ///< standard deviation of the Gaussian noise on x and y (the radius is 1)
        std::uint64_t seed = 0;          ///< the run seed
    };

    /**
     * @brief Two interleaved spiral arms in the plane, one per class: a task that no linear model
     * solves. Sample i is on arm i mod 2 at t ~ U(0, 1): radius t, angle 2 pi turns t (+ pi for arm 1).
     * @throws std::invalid_argument for N = 0, turns <= 0 or a negative noise.
     */
    template <class T>
    Dataset<T> two_spirals(const SpiralsOptions& o = {})
    {
        const char* where = "xtrain::datasets::two_spirals";
        detail::require(o.num_samples > 0, where, "num_samples", o.num_samples, "must be > 0");
        detail::require(o.turns > 0.0 && std::isfinite(o.turns), where, "turns", o.turns, "must be > 0");
        detail::require(o.noise >= 0.0 && std::isfinite(o.noise), where, "noise", o.noise, "must be >= 0");
        const double pi = 3.141592653589793238462643;
        Dataset<T> ds;
        ds.name = "two-spirals";
        ds.sample_shape = {2};
        ds.num_classes = 2;
        ds.features = xt::xtensor<T, 2>::from_shape({o.num_samples, 2});
        ds.labels = xt::xtensor<label_type, 1>::from_shape({o.num_samples});
        Rng trng = derive_rng(o.seed, RngStream::data, 1);
        Rng nrng = derive_rng(o.seed, RngStream::data, 2);
        for (std::size_t i = 0; i < o.num_samples; ++i)
        {
            const std::size_t arm = i % 2;
            const double t = trng.uniform();
            const double angle = 2.0 * pi * o.turns * t + (arm ? pi : 0.0);
            ds.labels(i) = static_cast<label_type>(arm);
            ds.features(i, 0) = static_cast<T>(t * std::cos(angle) + o.noise * nrng.normal());
            ds.features(i, 1) = static_cast<T>(t * std::sin(angle) + o.noise * nrng.normal());
        }
        return ds;
    }

    // ---------------------------------------------------------------------------------------------
    // Teacher-student
    // ---------------------------------------------------------------------------------------------

    /** @brief A random fully connected network with tanh hidden layers, computed in double with plain loops. */
    struct TeacherNetwork
    {
        std::vector<xt::xtensor<double, 2>> weights;  ///< layer l: out x in
        std::vector<xt::xtensor<double, 1>> biases;   ///< layer l: out

        /** @brief Input dimension. */
        std::size_t input_dim() const noexcept { return weights.empty() ? 0 : weights.front().shape()[1]; }
        /** @brief Output dimension. */
        std::size_t output_dim() const noexcept { return weights.empty() ? 0 : weights.back().shape()[0]; }

        /**
         * @brief Computes the outputs (no activation on the last layer) for @p n inputs.
         * @param x n x input_dim row-major inputs.
         * @param n number of inputs.
         * @param out n x output_dim row-major outputs.
         */
        template <class T>
        void forward(const T* x, std::size_t n, double* out) const
        {
            // Transposed copies (in x out), so the inner loop runs over contiguous outputs and
            // vectorises; each output still sums its terms in input order.
            std::vector<std::vector<double>> wt(weights.size());
            std::size_t widest = input_dim();
            for (std::size_t l = 0; l < weights.size(); ++l)
            {
                const std::size_t nout = weights[l].shape()[0];
                const std::size_t nin = weights[l].shape()[1];
                wt[l].resize(nin * nout);
                for (std::size_t r = 0; r < nout; ++r)
                {
                    for (std::size_t c = 0; c < nin; ++c)
                    {
                        wt[l][c * nout + r] = weights[l](r, c);
                    }
                }
                widest = std::max(widest, nout);
            }
            std::vector<double> a(widest);
            std::vector<double> b(widest);
            for (std::size_t i = 0; i < n; ++i)
            {
                for (std::size_t c = 0; c < input_dim(); ++c)
                {
                    a[c] = static_cast<double>(x[i * input_dim() + c]);
                }
                for (std::size_t l = 0; l < weights.size(); ++l)
                {
                    const std::size_t nout = weights[l].shape()[0];
                    const std::size_t nin = weights[l].shape()[1];
                    double* bo = b.data();
                    const double* bl = biases[l].data();
                    for (std::size_t r = 0; r < nout; ++r)
                    {
                        bo[r] = bl[r];
                    }
                    for (std::size_t c = 0; c < nin; ++c)
                    {
                        const double ac = a[c];
                        const double* w = wt[l].data() + c * nout;
                        for (std::size_t r = 0; r < nout; ++r)
                        {
                            bo[r] += w[r] * ac;
                        }
                    }
                    if (l + 1 < weights.size())
                    {
                        for (std::size_t r = 0; r < nout; ++r)
                        {
                            bo[r] = std::tanh(bo[r]);
                        }
                    }
                    a.swap(b);
                }
                std::copy(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(output_dim()), out + i * output_dim());
            }
        }
    };

    /** @brief Options of teacher_student(). */
    struct TeacherStudentOptions
    {
        std::size_t num_samples = 10000;        ///< N
        std::size_t input_dim = 20;             ///< D
        std::vector<std::size_t> hidden{32};    ///< widths of the teacher's tanh hidden layers
        std::size_t num_outputs = 10;           ///< classes (classification) or targets (regression)
        bool classification = true;             ///< labels = argmax of the teacher's outputs; else targets = outputs
        double noise_std = 0.0;                 ///< regression: Gaussian noise added to the targets
        double label_noise = 0.0;               ///< classification: fraction of labels replaced by a uniform class
        std::vector<std::size_t> sample_shape;  ///< optional shape of a sample (product input_dim), e.g. {1, 28, 28}
        std::uint64_t seed = 0;                 ///< the run seed
    };

    /** @brief A dataset labelled by a known random network, which a student of the same shape can fit exactly. */
    template <class T>
    struct TeacherStudentTask
    {
        Dataset<T> data;          ///< inputs ~ N(0, I); labels or targets from the teacher
        TeacherNetwork teacher;   ///< the network that labelled the data
    };

    /**
     * @brief Draws a teacher network and labels N(0, I) inputs with it.
     *
     * Weights are N(0, 1 / fan_in), hidden biases N(0, 0.01). For classification the output
     * biases are set so that every output has mean 0 over the drawn inputs, which keeps the
     * argmax classes roughly balanced; labels are the argmax, then a `label_noise` fraction is
     * replaced by uniformly drawn classes.
     * @throws std::invalid_argument for zero sizes, a zero hidden width, a sample_shape whose product
     * is not input_dim, noise < 0 or label_noise outside [0, 1].
     */
    template <class T>
    TeacherStudentTask<T> teacher_student(const TeacherStudentOptions& o = {})
    {
        const char* where = "xtrain::datasets::teacher_student";
        detail::require(o.num_samples > 0, where, "num_samples", o.num_samples, "must be > 0");
        detail::require(o.input_dim > 0, where, "input_dim", o.input_dim, "must be > 0");
        detail::require(o.num_outputs > 0, where, "num_outputs", o.num_outputs, "must be > 0");
        for (std::size_t h : o.hidden)
        {
            detail::require(h > 0, where, "a hidden width", h, "must be > 0");
        }
        detail::require(o.noise_std >= 0.0 && std::isfinite(o.noise_std), where, "noise_std", o.noise_std, "must be >= 0");
        detail::require(o.label_noise >= 0.0 && o.label_noise <= 1.0, where, "label_noise", o.label_noise,
                        "must be in [0, 1]");
        detail::require(o.sample_shape.empty() || detail::shape_product(o.sample_shape) == o.input_dim, where,
                        "sample_shape", detail::shape_text(o.sample_shape),
                        detail::concat("must have product input_dim = ", o.input_dim));
        detail::require(o.sample_shape.size() <= max_sample_rank, where, "sample_shape", detail::shape_text(o.sample_shape),
                        detail::concat("must have at most ", max_sample_rank, " dimensions"));
        const std::size_t n = o.num_samples;
        const std::size_t d = o.input_dim;
        const std::size_t k = o.num_outputs;
        TeacherStudentTask<T> task;
        Rng wrng = derive_rng(o.seed, RngStream::data, 0);
        std::size_t fan_in = d;
        std::vector<std::size_t> widths = o.hidden;
        widths.push_back(k);
        for (std::size_t l = 0; l < widths.size(); ++l)
        {
            const std::size_t nout = widths[l];
            xt::xtensor<double, 2> w = xt::xtensor<double, 2>::from_shape({nout, fan_in});
            xt::xtensor<double, 1> b = xt::xtensor<double, 1>::from_shape({nout});
            const double sd = 1.0 / std::sqrt(static_cast<double>(fan_in));
            for (double& v : w)
            {
                v = sd * wrng.normal();
            }
            for (double& v : b)
            {
                v = l + 1 < widths.size() ? 0.1 * wrng.normal() : 0.0;
            }
            task.teacher.weights.push_back(std::move(w));
            task.teacher.biases.push_back(std::move(b));
            fan_in = nout;
        }
        Dataset<T>& ds = task.data;
        ds.name = o.classification ? "teacher-student-classification" : "teacher-student-regression";
        ds.sample_shape = o.sample_shape.empty() ? std::vector<std::size_t>{d} : o.sample_shape;
        ds.features = xt::xtensor<T, 2>::from_shape({n, d});
        Rng xrng = derive_rng(o.seed, RngStream::data, 1);
        for (T& v : ds.features)
        {
            v = static_cast<T>(xrng.normal());
        }
        std::vector<double> out(n * k);
        task.teacher.forward(ds.features.data(), n, out.data());
        if (!o.classification)
        {
            Rng nrng = derive_rng(o.seed, RngStream::data, 2);
            ds.targets = xt::xtensor<T, 2>::from_shape({n, k});
            for (std::size_t i = 0; i < n * k; ++i)
            {
                ds.targets.data()[i] = static_cast<T>(out[i] + o.noise_std * nrng.normal());
            }
            return task;
        }
        // Centre each output over the drawn inputs (part of the teacher: its output bias).
        auto& bias = task.teacher.biases.back();
        for (std::size_t c = 0; c < k; ++c)
        {
            double s = 0.0;
            for (std::size_t i = 0; i < n; ++i)
            {
                s += out[i * k + c];
            }
            bias(c) = -s / static_cast<double>(n);
        }
        ds.num_classes = k;
        ds.labels = xt::xtensor<label_type, 1>::from_shape({n});
        Rng lrng = derive_rng(o.seed, RngStream::data, 3);
        for (std::size_t i = 0; i < n; ++i)
        {
            std::size_t best = 0;
            for (std::size_t c = 1; c < k; ++c)
            {
                if (out[i * k + c] + bias(c) > out[i * k + best] + bias(best))
                {
                    best = c;
                }
            }
            // Draw both numbers for every sample, so that the noise of sample i does not depend on the others.
            const double u = lrng.uniform();
            const std::uint64_t other = lrng.uniform_index(k);
            ds.labels(i) = static_cast<label_type>(u < o.label_noise ? other : best);
        }
        return task;
    }

    // ---------------------------------------------------------------------------------------------
    // The default when Fashion-MNIST is absent
    // ---------------------------------------------------------------------------------------------

    /**
     * @brief Fashion-MNIST if it is installed in @p dir, else a synthetic stand-in of the same
     * shape: a teacher-student classification task with 784 inputs (sample_shape {1, 28, 28}), a
     * tanh hidden layer of 32 and 10 classes, 60000 training and 10000 test samples drawn from
     * @p seed. Check `train.name` ("fashion-mnist/train" or "synthetic-fashion-mnist-shaped/train")
     * to tell which one was returned.
     */
    template <class T = float>
    TrainTest<T> fashion_mnist_or_synthetic(const std::string& dir = fashion_mnist_default_dir, std::uint64_t seed = 0)
    {
        if (fashion_mnist_available(dir))
        {
            return fashion_mnist<T>(dir);
        }
        TeacherStudentOptions o;
        o.num_samples = 70000;
        o.input_dim = 784;
        o.hidden = {32};
        o.num_outputs = 10;
        o.sample_shape = {1, 28, 28};
        o.seed = seed;
        Dataset<T> all = teacher_student<T>(o).data;
        std::vector<std::size_t> train_idx(60000);
        std::vector<std::size_t> test_idx(10000);
        for (std::size_t i = 0; i < 60000; ++i)
        {
            train_idx[i] = i;
        }
        for (std::size_t i = 0; i < 10000; ++i)
        {
            test_idx[i] = 60000 + i;
        }
        TrainTest<T> out;
        out.train = subset(all, train_idx, "synthetic-fashion-mnist-shaped/train");
        out.test = subset(all, test_idx, "synthetic-fashion-mnist-shaped/test");
        return out;
    }
}

#endif
