// fashion_mnist_cnn: a small convolutional network on Fashion-MNIST, trained by xtrain's Trainer.
//
// Two 3x3 convolutions with max pooling, then two dense layers with dropout between them, on the
// 1 x 28 x 28 images:
//   Conv2D(1 -> 16, 3x3) ReLU MaxPool(2)    28x28 -> 26x26 -> 13x13
//   Conv2D(16 -> 32, 3x3) ReLU MaxPool(2)   13x13 -> 11x11 -> 5x5
//   Flatten, Dense(800 -> 128) ReLU Dropout(0.25) Dense(128 -> 10), softmax cross-entropy
// Adam (lr 1e-3), batches of 64 (docs/performance.md gives the measured accuracy and epoch time).
// Without the dataset-fashion-mnist package it trains on a synthetic task of the same shape and
// says so. Flags as fashion_mnist_mlp (--help).
#include "fashion_mnist_common.hpp"

int main(int argc, char** argv)
{
    example::Options defaults;
    defaults.epochs = 5;
    defaults.batch = 64;
    defaults.optimizer = "adam";
    const example::Options o =
        example::parse_options(argc, argv, defaults, "fashion_mnist_cnn", "fashion_mnist_cnn: a small CNN on Fashion-MNIST");
    try
    {
        const auto data = example::load_data(o);

        // Layer sizes known at compile time; Conv2D and MaxPool2D read the samples' 1 x 28 x 28
        // shape from the dataset.
        using namespace xtrain;
        using Cnn = Sequential<Conv2D<1, 16, 3>, ReLU, MaxPool2D<2>, Conv2D<16, 32, 3>, ReLU, MaxPool2D<2>, Flatten,
                               Dense<32 * 5 * 5, 128>, ReLU, Dropout, Dense<128, 10>, SoftmaxCrossEntropy>;

        return example::with_optimizer(o, [&](auto optimizer) {
            // One description per layer, in order: only Dropout's rate differs from the defaults.
            Cnn model(o.seed, Conv2D<1, 16, 3>(), ReLU(), MaxPool2D<2>(), Conv2D<16, 32, 3>(), ReLU(), MaxPool2D<2>(),
                      Flatten(), Dense<32 * 5 * 5, 128>(), ReLU(), Dropout(0.25), Dense<128, 10>(), SoftmaxCrossEntropy());
            Trainer trainer(std::move(model), std::move(optimizer),
                            BatchSampler<dynamic>(data.train.size(), o.batch, SamplerOptions::shuffled(o.seed)),
                            DivergenceGuard(), ProgressBar(), example::EpochLog(), example::RunFiles(o));
            return example::run(trainer, data, o);
        });
    }
    catch (const std::exception& e)
    {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
}
