// my_model_sweep: the main job on your own model and data; the file to copy.
// A hand-written softmax regression, a CSV file (--csv FILE; without it, examples/data's
// four_features.csv), and xtrain::SweepMain for the rest: `my_model_sweep --help` lists the flags.
#include <xtrain/sweep_main.hpp>

#include <cmath>
#include <numeric>

struct Softmax // your model: value_type, parameters(), loss_and_gradient(); predict() for accuracies
{
    using value_type = float;
    std::size_t in, out;
    xtrain::ParamBuffer<float> params;
    std::vector<float> p;
    Softmax(std::size_t inputs, std::size_t classes) : in(inputs), out(classes), params([&] {
        xtrain::ParamLayout l;
        l.add("weight", {classes, inputs});
        l.add("bias", {classes});
        return l;
    }()), p(classes) {}
    xtrain::ParamBuffer<float>& parameters() { return params; }
    const xtrain::ParamBuffer<float>& parameters() const { return params; }
    const std::vector<float>& probabilities(const float* x) // softmax of the logits, stable
    {
        for (std::size_t c = 0; c < out; ++c)
            p[c] = params.data()[out * in + c] + std::inner_product(x, x + in, params.data() + c * in, 0.0f);
        const float top = *std::max_element(p.begin(), p.end());
        float sum = 0.0f;
        for (float& v : p) sum += (v = std::exp(v - top));
        for (float& v : p) v /= sum;
        return p;
    }
    float loss_and_gradient(const xtrain::Batch<float>& b, xt::xtensor<float, 1>& grad) // mean loss
    {
        grad.fill(0.0f);
        float loss = 0.0f;
        for (std::size_t i = 0; i < b.size; ++i)
        {
            const float* x = b.features + i * in;
            const auto y = static_cast<std::size_t>(b.labels[i]);
            loss -= std::log(probabilities(x)[y]);
            for (std::size_t c = 0; c < out; ++c)
            {
                const float d = (p[c] - (c == y ? 1.0f : 0.0f)) / static_cast<float>(b.size);
                for (std::size_t j = 0; j < in; ++j) grad(c * in + j) += d * x[j];
                grad(out * in + c) += d;
            }
        }
        return loss / static_cast<float>(b.size);
    }
    void predict(const xtrain::Batch<float>& b, xtrain::label_type* labels)
    {
        for (std::size_t i = 0; i < b.size; ++i)
        {
            const auto& q = probabilities(b.features + i * in);
            labels[i] = static_cast<xtrain::label_type>(std::max_element(q.begin(), q.end()) - q.begin());
        }
    }
};

int main(int argc, char** argv)
{
    xtrain::SweepCommandLine defaults; // a small grid: seconds, not minutes
    defaults.lrs = {0.01, 0.1, 1};
    defaults.batch_sizes = {8, 32, 128};
    defaults.seeds = {1, 2};
    defaults.out = "results/my_model_sweep";
    xtrain::SweepMain sweep("my_model_sweep", "A sweep of a hand-written softmax regression on a CSV file.", defaults);
    std::string csv = XTRAIN_EXAMPLE_DATA_DIR "/four_features.csv";
    sweep.app().add_option("--csv", csv, "a CSV file, the class in its last column (default: four_features.csv)");
    sweep.parse(argc, argv);
    return sweep.main([&] {
        auto [train, validation] = xtrain::train_validation_split(xtrain::read_csv<float>(csv), 0.25, 7);
        xtrain::standardize(train, validation);
        const std::size_t inputs = train.feature_dim(), classes = train.num_classes;
        return sweep.run(xtrain::SweepData<float>{train, validation, std::nullopt, "csv " + csv},
                         [=](std::uint64_t /*seed*/) { return Softmax(inputs, classes); }, "softmax regression");
    });
}
