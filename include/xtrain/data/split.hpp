/**
 * @file split.hpp
 * @brief A seeded train/validation split, and standardisation fitted on the training part only.
 *
 * Fitting the mean and spread on the validation data too would leak it into training; the
 * Standardizer is therefore fitted on one dataset and applied, unchanged, to the others.
 */
#ifndef XTRAIN_DATA_SPLIT_HPP
#define XTRAIN_DATA_SPLIT_HPP

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "xtrain/core/error.hpp"
#include "xtrain/core/random.hpp"
#include "xtrain/core/serialize.hpp"
#include "xtrain/data/dataset.hpp"

namespace xtrain
{
    /** @brief A training part and a validation part, e.g. `auto [train, val] = train_validation_split(d, 0.1, seed);`. */
    template <class T>
    struct TrainValidation
    {
        Dataset<T> train;       ///< the part to fit on
        Dataset<T> validation;  ///< the held-out part
    };

    /**
     * @brief Splits @p d at random into round(validation_fraction * N) validation samples and the rest.
     *
     * The samples are chosen by a Fisher-Yates shuffle with `derive_rng(seed, RngStream::split)`,
     * so the split depends on the seed only; both parts keep the original order of their samples.
     * Names get "/train" and "/validation" appended.
     * @throws std::invalid_argument if the fraction is not in (0, 1) or leaves a part empty.
     */
    template <class T>
    TrainValidation<T> train_validation_split(const Dataset<T>& d, double validation_fraction, std::uint64_t seed)
    {
        const char* where = "xtrain::train_validation_split";
        detail::require(validation_fraction > 0.0 && validation_fraction < 1.0, where, "validation_fraction",
                        validation_fraction, "must be in (0, 1)");
        const std::size_t n = d.size();
        const auto nval = static_cast<std::size_t>(std::llround(validation_fraction * static_cast<double>(n)));
        detail::require(nval > 0 && nval < n, where, "validation_fraction", validation_fraction,
                        detail::concat("must leave both parts non-empty for a dataset of ", n, " samples (",
                                       nval, " for validation)"));
        std::vector<std::size_t> perm(n);
        std::iota(perm.begin(), perm.end(), std::size_t{0});
        Rng rng = derive_rng(seed, RngStream::split, 0);
        rng.shuffle(perm.begin(), perm.end());
        std::vector<std::size_t> val(perm.begin(), perm.begin() + static_cast<std::ptrdiff_t>(nval));
        std::vector<std::size_t> train(perm.begin() + static_cast<std::ptrdiff_t>(nval), perm.end());
        std::sort(val.begin(), val.end());
        std::sort(train.begin(), train.end());
        TrainValidation<T> out;
        out.train = subset(d, train, d.name + "/train");
        out.validation = subset(d, val, d.name + "/validation");
        return out;
    }

    /**
     * @brief Per-feature standardisation x' = (x - mean) / std, with mean and std fitted on one dataset.
     *
     * The standard deviation is the population one (divides by N, as scikit-learn's
     * StandardScaler); a feature that is constant in the fitted data (e.g. a border pixel that is
     * always 0) keeps a scale of 1, so it maps to 0 instead of dividing by zero. Sums are taken in
     * double whatever T.
     */
    template <class T>
    class Standardizer
    {
    public:
        /** @brief An unfitted standardizer; fit() it before transform(). */
        Standardizer() = default;

        /** @brief Fits on @p train. @throws std::invalid_argument if it is empty. */
        explicit Standardizer(const Dataset<T>& train) { fit(train); }

        /** @brief Computes each feature's mean and standard deviation over @p train. */
        void fit(const Dataset<T>& train)
        {
            const std::size_t n = train.size();
            const std::size_t dim = train.feature_dim();
            detail::require(n > 0, "xtrain::Standardizer::fit", "train.size()", n, "must be > 0");
            std::vector<double> sum(dim, 0.0);
            const T* x = train.features.data();
            for (std::size_t i = 0; i < n; ++i)
            {
                for (std::size_t j = 0; j < dim; ++j)
                {
                    sum[j] += static_cast<double>(x[i * dim + j]);
                }
            }
            std::vector<double> mean(dim);
            for (std::size_t j = 0; j < dim; ++j)
            {
                mean[j] = sum[j] / static_cast<double>(n);
            }
            // Two passes: the sum of squared deviations does not cancel catastrophically.
            std::vector<double> ss(dim, 0.0);
            for (std::size_t i = 0; i < n; ++i)
            {
                for (std::size_t j = 0; j < dim; ++j)
                {
                    const double dv = static_cast<double>(x[i * dim + j]) - mean[j];
                    ss[j] += dv * dv;
                }
            }
            m_mean = xt::xtensor<T, 1>::from_shape({dim});
            m_scale = xt::xtensor<T, 1>::from_shape({dim});
            for (std::size_t j = 0; j < dim; ++j)
            {
                const double sd = std::sqrt(ss[j] / static_cast<double>(n));
                m_mean(j) = static_cast<T>(mean[j]);
                // Relative test: a "constant" feature may show rounding-level spread.
                m_scale(j) = static_cast<T>(sd > 1e-12 * std::max(1.0, std::abs(mean[j])) ? sd : 1.0);
            }
        }

        /** @brief True once fitted. */
        bool fitted() const noexcept { return m_mean.size() != 0; }
        /** @brief Per-feature means of the fitted data. */
        const xt::xtensor<T, 1>& mean() const noexcept { return m_mean; }
        /** @brief Per-feature scales (standard deviations; 1 for constant features). */
        const xt::xtensor<T, 1>& scale() const noexcept { return m_scale; }

        /**
         * @brief Standardises @p d's features in place with the fitted mean and scale.
         * @throws std::invalid_argument if not fitted or if d has another feature_dim.
         */
        void transform(Dataset<T>& d) const
        {
            detail::require(fitted(), "xtrain::Standardizer::transform", "fitted()", false, "must be true: call fit first");
            const std::size_t dim = m_mean.size();
            detail::require(d.feature_dim() == dim, "xtrain::Standardizer::transform", "feature_dim of '" + d.name + "'",
                            d.feature_dim(), detail::concat("must equal the fitted ", dim));
            T* x = d.features.data();
            const T* mu = m_mean.data();
            const T* sc = m_scale.data();
            const std::size_t n = d.size();
            for (std::size_t i = 0; i < n; ++i)
            {
                T* row = x + i * dim;
                for (std::size_t j = 0; j < dim; ++j)
                {
                    row[j] = (row[j] - mu[j]) / sc[j];
                }
            }
        }

        /** @brief Writes the fitted mean and scale. */
        void save(BinaryWriter& w) const
        {
            w.write_tag("xtrain.Standardizer");
            w.write<std::uint64_t>(m_mean.size());
            w.write_array(m_mean.data(), m_mean.size());
            w.write_array(m_scale.data(), m_scale.size());
        }

        /** @brief Reads what save() wrote. @throws checkpoint_error if corrupt. */
        void load(BinaryReader& r)
        {
            r.expect_tag("xtrain.Standardizer");
            const auto n = r.read<std::uint64_t>();
            if (n > (std::uint64_t{1} << 32))
            {
                r.fail(detail::concat("a Standardizer of ", n, " features is implausible (corrupt data?)"));
            }
            xt::xtensor<T, 1> mean = xt::xtensor<T, 1>::from_shape({static_cast<std::size_t>(n)});
            xt::xtensor<T, 1> scale = xt::xtensor<T, 1>::from_shape({static_cast<std::size_t>(n)});
            r.read_array(mean.data(), mean.size(), "Standardizer mean");
            r.read_array(scale.data(), scale.size(), "Standardizer scale");
            m_mean = std::move(mean);
            m_scale = std::move(scale);
        }

    private:
        xt::xtensor<T, 1> m_mean;
        xt::xtensor<T, 1> m_scale;
    };

    /**
     * @brief Fits a Standardizer on @p train and applies it to @p train and each of @p others.
     * @return the fitted Standardizer (to apply to data that comes later).
     */
    template <class T, class... Others>
    Standardizer<T> standardize(Dataset<T>& train, Others&... others)
    {
        Standardizer<T> s(train);
        s.transform(train);
        (s.transform(others), ...);
        return s;
    }
}

#endif
