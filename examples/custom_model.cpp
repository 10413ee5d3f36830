// custom_model: a model written by hand, with no built-in layers, trained by xtrain's Trainer.
//
// Multinomial logistic regression on Fashion-MNIST (a synthetic task of the same shape when the
// dataset-fashion-mnist package is absent). The class below is all a model needs: a value_type,
// its parameters in one ParamBuffer, and the mean loss of a batch with its gradient; predict()
// is optional and gives accuracy. docs/models.md explains the requirement.
//
//   custom_model [--epochs N] [--limit N] [--lr X]
#include <xtrain/xtrain.hpp>

#include <xtrain/command_line.hpp> // the command-line rules shared by the examples

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <string>
#include <vector>

class LogisticRegression
{
public:
    using value_type = float;

    LogisticRegression(std::size_t inputs, std::size_t classes) : m_in(inputs), m_out(classes), m_p(classes)
    {
        xtrain::ParamLayout layout;
        layout.add("weight", {classes, inputs});
        layout.add("bias", {classes});
        m_params = xtrain::ParamBuffer<float>(layout); // zero initialisation is fine for a convex loss
    }

    xtrain::ParamBuffer<float>& parameters() { return m_params; }
    const xtrain::ParamBuffer<float>& parameters() const { return m_params; }

    // Mean cross-entropy over the batch; grad gets its gradient (same layout as the parameters).
    float loss_and_gradient(const xtrain::Batch<float>& batch, xt::xtensor<float, 1>& grad)
    {
        std::fill(grad.begin(), grad.end(), 0.0f);
        float* gw = grad.data();
        float* gb = gw + m_out * m_in;
        const float scale = 1.0f / static_cast<float>(batch.size);
        float loss = 0.0f;
        for (std::size_t i = 0; i < batch.size; ++i)
        {
            const float* x = batch.features + i * m_in;
            const auto y = static_cast<std::size_t>(batch.labels[i]);
            loss -= std::log(softmax(x)[y]);
            for (std::size_t c = 0; c < m_out; ++c)
            {
                const float d = scale * (m_p[c] - (c == y ? 1.0f : 0.0f)); // d(mean loss)/d(logit c)
                for (std::size_t j = 0; j < m_in; ++j)
                {
                    gw[c * m_in + j] += d * x[j];
                }
                gb[c] += d;
            }
        }
        return loss * scale;
    }

    void predict(const xtrain::Batch<float>& batch, xtrain::label_type* out)
    {
        for (std::size_t i = 0; i < batch.size; ++i)
        {
            const auto& p = softmax(batch.features + i * m_in);
            out[i] = static_cast<xtrain::label_type>(std::max_element(p.begin(), p.end()) - p.begin());
        }
    }

private:
    // Class probabilities of one sample, into m_p (stable: the largest logit is subtracted).
    const std::vector<float>& softmax(const float* x)
    {
        const float* w = m_params.data();
        for (std::size_t c = 0; c < m_out; ++c)
        {
            m_p[c] = w[m_out * m_in + c] + std::inner_product(x, x + m_in, w + c * m_in, 0.0f);
        }
        const float top = *std::max_element(m_p.begin(), m_p.end());
        float sum = 0.0f;
        for (float& v : m_p)
        {
            sum += (v = std::exp(v - top));
        }
        for (float& v : m_p)
        {
            v /= sum;
        }
        return m_p;
    }

    std::size_t m_in;
    std::size_t m_out;
    std::vector<float> m_p;
    xtrain::ParamBuffer<float> m_params;
};

int main(int argc, char** argv)
{
    std::size_t epochs = 3;
    std::size_t limit = 0;
    double lr = 0.1;
    CLI::App app("custom_model: logistic regression written by hand, trained by xtrain's Trainer");
    xtrain::cli::configure(app, "custom_model");
    app.add_option("--epochs", epochs, "epochs to train (default 3)")->type_name("N")->check(xtrain::cli::count());
    app.add_option("--limit", limit, "train on the first N samples only (default: all)")
        ->type_name("N")->check(xtrain::cli::count(true));
    app.add_option("--lr", lr, "SGD's learning rate (default 0.1)")
        ->type_name("X")->check(xtrain::cli::real("> 0", [](double v) { return v > 0.0; }));
    xtrain::cli::parse_or_exit(app, argc, argv);

    auto data = xtrain::datasets::fashion_mnist_or_synthetic<float>();
    if (limit > 0 && limit < data.train.size())
    {
        std::vector<std::size_t> first(limit);
        std::iota(first.begin(), first.end(), std::size_t(0));
        data.train = xtrain::subset(data.train, first, data.train.name);
    }
    std::printf("training on %s: %zu samples of %zu features, %zu classes\n", data.train.name.c_str(),
                data.train.size(), data.train.feature_dim(), data.train.num_classes);

    xtrain::SGD h;
    h.lr = lr;
    xtrain::Trainer trainer(LogisticRegression(data.train.feature_dim(), data.train.num_classes),
                            xtrain::Optimizer<xtrain::SGD>(h),
                            xtrain::BatchSampler<64>(data.train.size(), xtrain::SamplerOptions::shuffled(1)),
                            xtrain::DivergenceGuard(), xtrain::ProgressBar());
    const xtrain::History& history = trainer.fit(data.train, xtrain::Budget::epochs(epochs), &data.test);

    for (const xtrain::EvalRecord& e : history.evals)
    {
        std::printf("epoch %llu: train loss %.4f, test loss %.4f, test accuracy %.4f\n",
                    static_cast<unsigned long long>(e.epoch), e.train_loss, e.val_loss, e.val_accuracy);
    }
    if (trainer.status() != xtrain::RunStatus::finished)
    {
        std::fprintf(stderr, "the run ended %s: %s\n", xtrain::to_string(trainer.status()), trainer.status_message().c_str());
        return 1;
    }
    // Chance is 10 %: anything close to it means the model or the loop is broken.
    return history.evals.back().val_accuracy > 0.5 ? 0 : 1;
}
