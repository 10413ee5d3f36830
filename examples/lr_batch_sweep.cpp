// lr_batch_sweep: the learning-rate x batch-size sweep, xtrain's main job.
//
// Trains one model per cell of the grid optimizer x learning rate x batch size x seed, in
// parallel, and writes tidy CSV files and figures: training loss per batch size, validation
// accuracy over lr x batch size (SGD and Adam side by side), the best lr against the batch size,
// and the steps to a target accuracy against the batch size with the fit
// S(B) = S_min (1 + B_noise / B). Running the same command again resumes an interrupted sweep.
// `lr_batch_sweep --help` lists the flags; docs/reproducing.md explains the figures.
//
// Everything about the sweep itself (its flags, results folder, figures, resume, shards, merge)
// is xtrain::SweepMain (xtrain/sweep_main.hpp); this program adds what to train on: the data
// (--dataset, ...) and the model (--model).
#include <xtrain/sweep_main.hpp>
#include <xtrain/xtrain.hpp>

#include <cstdint>
#include <filesystem>
#include <iostream>
#include <numeric>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace
{
    namespace fs = std::filesystem;

    // -----------------------------------------------------------------------------------------
    // Command line
    // -----------------------------------------------------------------------------------------

    /** @brief What to train on: this program's own flags, beside the sweep's. */
    struct DataFlags
    {
        std::string dataset = "fashion-mnist";
        std::optional<std::string> label;
        bool regression = false;
        bool label_names = false;
        std::string data_dir = xtrain::datasets::fashion_mnist_default_dir;
        std::optional<std::uint64_t> train_size;
        std::uint64_t val_size = 10000;
        std::string model = "mlp:128";
        bool test = false;
    };

    /** @brief Defines the data and model flags on @p app, each filling its field of @p s. */
    inline void add_data_options(CLI::App& app, DataFlags& s)
    {
        using namespace xtrain::cli;
        app.add_option("--dataset", s.dataset, "fashion-mnist (default), blobs, spirals, teacher, linear, or csv:FILE")
            ->type_name("NAME");
        add_optional(app, "--label", s.label, "label column of a CSV file, by name or 0-based index (default: the last)")
            ->type_name("COLUMN");
        CLI::Option* regression = app.add_flag("--regression", s.regression, "treat the CSV label column as a regression target");
        app.add_flag("--label-names", s.label_names, "the CSV label column holds class names (mapped to classes in sorted order)")
            ->excludes(regression);
        app.add_option("--data-dir", s.data_dir, "where the Fashion-MNIST files are (default /usr/share/datasets/fashion-mnist)")
            ->type_name("DIR");
        add_optional(app, "--train-size", s.train_size, "use only the first N training samples (default: all)")
            ->type_name("N")->check(count());
        app.add_option("--val-size", s.val_size, "samples held out of the training set for validation (default 10000)")
            ->type_name("N")->check(count());
        app.add_option("--model", s.model, "mlp:W1xW2... hidden widths (default mlp:128), linear (no hidden layer), or cnn")
            ->type_name("SPEC");
        app.add_flag("--test", s.test, "also score every run's final model on a test set (Fashion-MNIST: t10k; others: held out)");
    }

    [[noreturn]] void usage_error(const std::string& message)
    {
        xtrain::cli::fail("lr_batch_sweep", message);
    }

    std::uint64_t parse_count(const std::string& flag, const std::string& text)
    {
        std::string t = text;
        const std::string why = xtrain::cli::count()(t);
        if (!why.empty())
        {
            usage_error(flag + ": " + why);
        }
        return std::stoull(text);
    }

    // -----------------------------------------------------------------------------------------
    // Data and models
    // -----------------------------------------------------------------------------------------

    using Data = xtrain::SweepData<float>;

    Data load_data(const DataFlags& f)
    {
        const std::string& name = f.dataset;
        const std::uint64_t data_seed = 20260101; // fixed: the data (and the split) do not vary with run seeds
        xtrain::Dataset<float> all;
        std::optional<xtrain::Dataset<float>> official_test;
        std::string description;
        if (name == "fashion-mnist")
        {
            const std::string& dir = f.data_dir;
            if (!xtrain::datasets::fashion_mnist_available(dir))
            {
                std::cerr << "lr_batch_sweep: Fashion-MNIST is not installed in " << dir
                          << " (apt-get install dataset-fashion-mnist);\n"
                          << "  running on a synthetic task of the same shape instead (teacher-student, 784 inputs, 10 classes).\n";
            }
            auto both = xtrain::datasets::fashion_mnist_or_synthetic<float>(dir, data_seed);
            all = std::move(both.train);
            if (f.test)
            {
                official_test = std::move(both.test);
            }
            description = all.name;
        }
        else if (name == "blobs")
        {
            xtrain::datasets::BlobsOptions o;
            o.num_samples = 20000;
            o.num_features = 20;
            o.num_classes = 5;
            o.cluster_std = 4.0;
            o.seed = data_seed;
            all = xtrain::datasets::gaussian_blobs<float>(o);
            description = "gaussian blobs 20000 x 20, 5 classes, std 4";
        }
        else if (name == "spirals")
        {
            xtrain::datasets::SpiralsOptions o;
            o.num_samples = 20000;
            o.seed = data_seed;
            all = xtrain::datasets::two_spirals<float>(o);
            description = "two spirals 20000";
        }
        else if (name == "teacher")
        {
            xtrain::datasets::TeacherStudentOptions o;
            o.num_samples = 30000;
            o.seed = data_seed;
            all = xtrain::datasets::teacher_student<float>(o).data;
            description = "teacher-student 30000";
        }
        else if (name == "linear")
        {
            xtrain::datasets::LinearRegressionOptions o;
            o.num_samples = 20000;
            o.num_features = 50;
            o.seed = data_seed;
            all = xtrain::datasets::linear_regression<float>(o).data;
            description = "linear regression 20000 x 50";
        }
        else if (name.rfind("csv:", 0) == 0)
        {
            xtrain::CsvOptions o;
            if (f.label)
            {
                const std::string& label = *f.label;
                const bool numeric = !label.empty() && label.find_first_not_of("0123456789") == std::string::npos;
                o.label = numeric ? xtrain::ColumnRef(std::stoul(label)) : xtrain::ColumnRef(label);
            }
            o.task = f.regression ? xtrain::CsvTask::regression : xtrain::CsvTask::classification;
            o.label_names = f.label_names;
            try
            {
                all = xtrain::read_csv<float>(name.substr(4), o);
            }
            catch (const xtrain::data_error& e)
            {
                // The library's remedy names CsvOptions fields; on the command line they are flags.
                std::string m = e.what();
                const std::size_t cut = m.find("; set CsvOptions::label_names");
                if (cut != std::string::npos)
                {
                    m = m.substr(0, cut) + "; --label-names maps class names to indices, --regression reads a real-valued target";
                }
                const std::size_t nc = m.find(", or set CsvOptions::num_classes");
                if (nc != std::string::npos)
                {
                    m = m.substr(0, nc) + " (the classes are inferred from the labels in use)";
                }
                throw xtrain::data_error(m);
            }
            description = "csv " + name.substr(4);
        }
        else
        {
            usage_error("--dataset: unknown dataset '" + name + "' (fashion-mnist, blobs, spirals, teacher, linear, csv:FILE)");
        }

        const std::uint64_t val_size = f.val_size;
        std::optional<xtrain::Dataset<float>> test = std::move(official_test);
        if (f.test && !test)
        {
            // No official test split: hold one out, the size of the validation set, before anything else.
            if (2 * val_size >= all.size())
            {
                usage_error("--test holds out " + std::to_string(val_size) + " test samples beside the validation set, "
                            "which leaves no training data (the dataset has " + std::to_string(all.size()) + " samples)");
            }
            auto held = xtrain::train_validation_split(all, static_cast<double>(val_size) / static_cast<double>(all.size()),
                                                       data_seed + 1);
            all = std::move(held.train);
            test = std::move(held.validation);
        }
        if (val_size >= all.size())
        {
            usage_error("--val-size " + std::to_string(val_size) + " leaves no training data (the dataset has "
                        + std::to_string(all.size()) + " samples)");
        }
        auto parts = xtrain::train_validation_split(all, static_cast<double>(val_size) / static_cast<double>(all.size()), data_seed);
        if (f.train_size)
        {
            const std::uint64_t n = *f.train_size;
            if (n < parts.train.size())
            {
                std::vector<std::size_t> first(n);
                std::iota(first.begin(), first.end(), std::size_t(0));
                parts.train = xtrain::subset(parts.train, first, parts.train.name);
            }
        }
        if (name != "fashion-mnist" || all.is_regression())
        {
            // Features on comparable scales, fitted on the training part only.
            if (test)
            {
                xtrain::standardize(parts.train, parts.validation, *test);
            }
            else
            {
                xtrain::standardize(parts.train, parts.validation);
            }
            description += ", standardised";
        }
        description += ", " + std::to_string(parts.train.size()) + " train / " + std::to_string(parts.validation.size())
                     + " validation";
        if (test)
        {
            description += " / " + std::to_string(test->size()) + (name == "fashion-mnist" ? " test (t10k)" : " test (held out)");
        }
        return Data{std::move(parts.train), std::move(parts.validation), std::move(test), description};
    }

    enum class ModelKind
    {
        mlp,
        cnn
    };

    struct ModelSpec
    {
        ModelKind kind = ModelKind::mlp;
        std::vector<std::size_t> hidden{128};
        std::string text = "mlp:128";
    };

    ModelSpec parse_model(const DataFlags& f)
    {
        ModelSpec m;
        m.text = f.model;
        if (m.text == "cnn")
        {
            m.kind = ModelKind::cnn;
            m.hidden.clear();
        }
        else if (m.text == "linear")
        {
            m.hidden.clear();
        }
        else if (m.text.rfind("mlp:", 0) == 0)
        {
            m.hidden.clear();
            std::stringstream ss(m.text.substr(4));
            for (std::string w; std::getline(ss, w, 'x');)
            {
                m.hidden.push_back(parse_count("--model", w));
            }
            if (m.hidden.empty())
            {
                usage_error("--model: 'mlp:' needs hidden widths, e.g. mlp:256 or mlp:512x256");
            }
        }
        else
        {
            usage_error("--model: unknown model '" + m.text + "' (mlp:W1xW2..., linear or cnn)");
        }
        return m;
    }
}

int main(int argc, char** argv)
{
    try
    {
        xtrain::SweepCommandLine defaults;
        defaults.out = "results/lr_batch_sweep";
        xtrain::SweepMain sweep("lr_batch_sweep", "", defaults);
        DataFlags f;
        add_data_options(sweep.app(), f);
        sweep.parse(argc, argv);
        if (!sweep.needs_data())
        {
            return sweep.run_without_data();
        }
        const ModelSpec model = parse_model(f);
        const Data data = load_data(f);
        const bool classify = data.train.is_classification();
        const std::size_t inputs = data.train.feature_dim();
        const std::size_t outputs = classify ? data.train.num_classes : data.train.target_dim();
        if (model.kind == ModelKind::cnn)
        {
            if (!classify || data.train.sample_shape.size() != 3)
            {
                usage_error("--model cnn needs images (samples of shape C x H x W) with class labels, e.g. --dataset fashion-mnist");
            }
            const std::size_t c = data.train.sample_shape[0];
            const std::size_t h = data.train.sample_shape[1];
            const std::size_t w = data.train.sample_shape[2];
            if (h < 4 || w < 4)
            {
                usage_error("--model cnn needs images of at least 4 x 4 pixels");
            }
            const std::string description = "cnn conv3x3(" + std::to_string(c) + "->16) relu maxpool2 conv3x3(16->32) relu maxpool2 dense("
                                          + std::to_string(outputs) + ")";
            const std::size_t h2 = ((h - 2) / 2 - 2) / 2;
            const std::size_t w2 = ((w - 2) / 2 - 2) / 2;
            using namespace xtrain;
            using Cnn = Sequential<float, Conv2D<>, ReLU, MaxPool2D<>, Conv2D<>, ReLU, MaxPool2D<>, Flatten, Dense<>,
                                   SoftmaxCrossEntropy>;
            auto make = [=](std::uint64_t seed) {
                return Cnn(seed, Conv2D<>(c, 16, 3), ReLU(), MaxPool2D<>(2), Conv2D<>(16, 32, 3), ReLU(), MaxPool2D<>(2),
                           Flatten(), Dense<>(32 * h2 * w2, outputs), SoftmaxCrossEntropy());
            };
            return sweep.run(data, make, description);
        }
        std::vector<std::size_t> widths{inputs};
        widths.insert(widths.end(), model.hidden.begin(), model.hidden.end());
        widths.push_back(outputs);
        std::string description = "mlp";
        for (std::size_t i = 0; i < widths.size(); ++i)
        {
            description += (i ? "-" : " ") + std::to_string(widths[i]);
        }
        description += classify ? " relu softmax-cross-entropy" : " relu mse";
        if (classify)
        {
            return sweep.run(data, [widths](std::uint64_t seed) { return xtrain::MLP<float>(seed, widths); }, description);
        }
        return sweep.run(data, [widths](std::uint64_t seed) { return xtrain::MLP<float, xtrain::ReLU, xtrain::MSE>(seed, widths); },
                         description);
    }
    catch (const std::exception& e)
    {
        std::cerr << "lr_batch_sweep: " << e.what() << '\n';
        return 1;
    }
}
