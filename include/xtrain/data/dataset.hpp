/**
 * @file dataset.hpp
 * @brief An in-memory dataset: N samples as rows of a matrix, with class labels or regression targets.
 *
 * Every sample is one row of `features` (N x D, row-major), whatever its natural shape: an image
 * of 1 x 28 x 28 is a row of 784 values and `sample_shape` remembers {1, 28, 28} for the models
 * that care. Keeping rows contiguous is what makes a batch gather a handful of memcpy calls.
 * A dataset is either a classification set (`labels`, N class indices in [0, num_classes)) or a
 * regression set (`targets`, N x K); the other member stays empty.
 */
#ifndef XTRAIN_DATA_DATASET_HPP
#define XTRAIN_DATA_DATASET_HPP

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <limits>
#include <cstring>
#include <string>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "xtrain/core/batch.hpp"
#include "xtrain/core/error.hpp"

namespace xtrain
{
    /**
     * @brief N samples in memory: features N x D, and labels (classification) or targets (regression).
     *
     * A plain aggregate that readers and synthetic generators fill; call validate() after filling
     * one by hand. Copying a Dataset copies its data; the sampler and the batch buffer only ever
     * refer to it.
     */
    template <class T>
    struct Dataset
    {
        /** @brief Scalar type of features and targets. */
        using value_type = T;

        xt::xtensor<T, 2> features;              ///< N x D, one sample per row
        std::vector<std::size_t> sample_shape;   ///< shape of one sample, product D, e.g. {784} or {1, 28, 28}
        xt::xtensor<label_type, 1> labels;       ///< N class indices (classification), else empty
        xt::xtensor<T, 2> targets;               ///< N x K (regression), else 0 x 0
        std::size_t num_classes = 0;             ///< number of classes (classification), else 0
        std::string name;                        ///< names the data in messages and results, e.g. "fashion-mnist/train"
        std::vector<std::string> class_names;    ///< optional, num_classes entries when known

        /** @brief Number of samples N. */
        std::size_t size() const noexcept { return features.shape()[0]; }
        /** @brief True when there are no samples. */
        bool empty() const noexcept { return size() == 0; }
        /** @brief Values per sample D (the product of sample_shape). */
        std::size_t feature_dim() const noexcept { return features.shape()[1]; }
        /** @brief Columns of the regression targets K (0 for classification). */
        std::size_t target_dim() const noexcept { return targets.shape()[1]; }
        /** @brief True for a classification set (labels present). */
        bool is_classification() const noexcept { return labels.size() != 0; }
        /** @brief True for a regression set (targets present). */
        bool is_regression() const noexcept { return targets.shape()[0] != 0 && targets.shape()[1] != 0; }

        /**
         * @brief Checks that the members agree with each other.
         *
         * @throws data_error naming the dataset and the first inconsistency: no samples, a sample
         * shape whose product is not D or has more than max_sample_rank dimensions, labels or
         * targets of another length than N, both or neither of them, a label outside
         * [0, num_classes), a non-finite feature or target, class_names of the wrong length.
         */
        void validate() const;

        /**
         * @brief A Batch viewing rows [first, first + count) in place, without copying.
         *
         * Rows are contiguous, so evaluation can walk the dataset in chunks without a gather.
         * @throws std::invalid_argument if the range goes past the end.
         */
        Batch<T> rows(std::size_t first, std::size_t count) const;
    };

    namespace detail
    {
        /** @brief Product of a shape's extents (1 for an empty shape). */
        inline std::size_t shape_product(const std::vector<std::size_t>& shape) noexcept
        {
            std::size_t p = 1;
            for (std::size_t d : shape)
            {
                p *= d;
            }
            return p;
        }

        /** @brief Fills the shape fields of a Batch from a dataset's sample_shape. */
        template <class T>
        void set_batch_shape(Batch<T>& b, const std::vector<std::size_t>& sample_shape, std::size_t feature_dim) noexcept
        {
            b.feature_dim = feature_dim;
            const std::size_t rank = std::min(sample_shape.size(), max_sample_rank);
            for (std::size_t i = 0; i < rank; ++i)
            {
                b.sample_shape[i] = sample_shape[i];
            }
            b.sample_rank = rank;
            if (rank == 0)
            {
                b.sample_shape[0] = feature_dim;
                b.sample_rank = 1;
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Dataset members
    // ---------------------------------------------------------------------------------------------

    template <class T>
    void Dataset<T>::validate() const
    {
        const std::string who = "xtrain::Dataset '" + name + "'";
        const std::size_t n = size();
        const std::size_t d = feature_dim();
        if (n == 0)
        {
            throw data_error(who + ": the dataset is empty (no samples)");
        }
        if (d == 0)
        {
            throw data_error(who + ": samples have no features (D = 0)");
        }
        if (sample_shape.empty() || sample_shape.size() > max_sample_rank)
        {
            throw data_error(detail::concat(who, ": sample_shape ", detail::shape_text(sample_shape), " must have 1 to ",
                                            max_sample_rank, " dimensions"));
        }
        if (detail::shape_product(sample_shape) != d)
        {
            throw data_error(detail::concat(who, ": sample_shape ", detail::shape_text(sample_shape),
                                            " holds ", detail::shape_product(sample_shape),
                                            " values but features have ", d, " columns"));
        }
        const bool has_labels = labels.size() != 0;
        const bool has_targets = targets.size() != 0;
        if (has_labels && has_targets)
        {
            throw data_error(who + ": both labels and targets are set; a dataset is either classification or regression");
        }
        if (!has_labels && !has_targets)
        {
            throw data_error(who + ": neither labels nor targets are set");
        }
        if (has_labels)
        {
            if (labels.size() != n)
            {
                throw data_error(detail::concat(who, ": ", labels.size(), " labels for ", n, " samples"));
            }
            if (num_classes == 0)
            {
                throw data_error(who + ": num_classes is 0 in a classification set");
            }
            for (std::size_t i = 0; i < n; ++i)
            {
                const label_type y = labels(i);
                if (y < 0 || static_cast<std::size_t>(y) >= num_classes)
                {
                    throw data_error(detail::concat(who, ": label ", y, " of sample ", i, " is outside [0, ",
                                                    num_classes, ")"));
                }
            }
            if (!class_names.empty() && class_names.size() != num_classes)
            {
                throw data_error(detail::concat(who, ": ", class_names.size(), " class names for ", num_classes,
                                                " classes"));
            }
        }
        else
        {
            if (targets.shape()[0] != n)
            {
                throw data_error(detail::concat(who, ": ", targets.shape()[0], " target rows for ", n, " samples"));
            }
            for (std::size_t i = 0; i < targets.size(); ++i)
            {
                if (!std::isfinite(targets.data()[i]))
                {
                    throw data_error(detail::concat(who, ": target ", targets.data()[i], " of sample ",
                                                    i / target_dim(), " is not finite"));
                }
            }
        }
        for (std::size_t i = 0; i < features.size(); ++i)
        {
            if (!std::isfinite(features.data()[i]))
            {
                throw data_error(detail::concat(who, ": feature ", i % d, " of sample ", i / d, " is not finite (",
                                                features.data()[i], ")"));
            }
        }
    }

    template <class T>
    Batch<T> Dataset<T>::rows(std::size_t first, std::size_t count) const
    {
        if (first > size() || count > size() - first)
        {
            detail::require(false, "xtrain::Dataset::rows", "first + count", detail::concat(first, " + ", count),
                            detail::concat("must be <= size() = ", size()));
        }
        Batch<T> b;
        b.features = features.data() + first * feature_dim();
        b.size = count;
        detail::set_batch_shape(b, sample_shape, feature_dim());
        if (labels.size() != 0)
        {
            b.labels = labels.data() + first;
        }
        else if (is_regression())
        {
            b.targets = targets.data() + first * target_dim();
            b.target_dim = target_dim();
        }
        return b;
    }

    /**
     * @brief The accuracy of always predicting the most common class of @p data: what a network that
     *        ignores its input scores at best (chance). NaN for a dataset without class labels.
     */
    template <class T>
    double chance_accuracy(const Dataset<T>& data)
    {
        if (!data.is_classification() || data.labels.size() == 0)
        {
            return std::numeric_limits<double>::quiet_NaN();
        }
        std::vector<std::size_t> counts(std::max<std::size_t>(1, data.num_classes), 0);
        for (const auto label : data.labels)
        {
            const auto c = static_cast<std::size_t>(label);
            if (c >= counts.size())
            {
                counts.resize(c + 1, 0);
            }
            ++counts[c];
        }
        return static_cast<double>(*std::max_element(counts.begin(), counts.end()))
             / static_cast<double>(data.labels.size());
    }

    /**
     * @brief The samples at @p indices (in that order) as a new dataset with the same metadata.
     * @throws std::invalid_argument if an index is out of range.
     */
    template <class T>
    Dataset<T> subset(const Dataset<T>& d, const std::vector<std::size_t>& indices, std::string name = {})
    {
        const std::size_t n = d.size();
        const std::size_t dim = d.feature_dim();
        const bool has_labels = d.labels.size() != 0;
        const bool has_targets = d.is_regression();
        const std::size_t k = has_targets ? d.target_dim() : 0;
        Dataset<T> out;
        out.features = xt::xtensor<T, 2>::from_shape({indices.size(), dim});
        if (has_labels)
        {
            out.labels = xt::xtensor<label_type, 1>::from_shape({indices.size()});
        }
        out.targets = xt::xtensor<T, 2>::from_shape({has_targets ? indices.size() : 0, k});
        for (std::size_t r = 0; r < indices.size(); ++r)
        {
            const std::size_t i = indices[r];
            detail::require(i < n, "xtrain::subset", detail::concat("indices[", r, "]"), i,
                            detail::concat("must be < the dataset's size ", n));
            if (dim != 0)
            {
                std::memcpy(out.features.data() + r * dim, d.features.data() + i * dim, dim * sizeof(T));
            }
            if (has_labels)
            {
                out.labels(r) = d.labels(i);
            }
            if (has_targets)
            {
                std::memcpy(out.targets.data() + r * k, d.targets.data() + i * k, k * sizeof(T));
            }
        }
        out.sample_shape = d.sample_shape;
        out.num_classes = d.num_classes;
        out.class_names = d.class_names;
        out.name = name.empty() ? d.name : std::move(name);
        return out;
    }
}

#endif
