// What several benchmark programs train on: random rows and labels, and a plain SGD small enough
// that many steps on them stay finite.
#ifndef XTRAIN_BENCHMARKS_SUPPORT_RANDOM_DATA_HPP
#define XTRAIN_BENCHMARKS_SUPPORT_RANDOM_DATA_HPP

#include <cstddef>
#include <cstdint>

#include <xtrain/core.hpp>
#include <xtrain/data.hpp>
#include <xtrain/optim.hpp>

namespace xtrain::bench
{
    // rows x features values uniform in [0, 1), labels uniform over classes; the same for a seed.
    inline Dataset<float> random_classification(std::size_t rows, std::size_t features, std::size_t classes,
                                                std::uint64_t seed = 1)
    {
        Dataset<float> out;
        out.features = xt::xtensor<float, 2>::from_shape({rows, features});
        out.labels = xt::xtensor<label_type, 1>::from_shape({rows});
        out.sample_shape = {features};
        out.num_classes = classes;
        out.name = "random";
        Rng rng(seed);
        for (float& v : out.features)
        {
            v = rng.uniform_float();
        }
        for (auto& c : out.labels)
        {
            c = static_cast<label_type>(rng.uniform_index(classes));
        }
        out.validate();
        return out;
    }

    // Plain SGD at lr 1e-3: many steps on random data stay finite.
    inline Optimizer<SGD> small_sgd()
    {
        SGD h;
        h.lr = 1e-3;
        return Optimizer<SGD>(h);
    }
}

#endif
