// finetune_sweep: learning rate x batch size when fine-tuning a pretrained network, against the
// same grid trained from scratch (Kandel and Castelli 2020, "The effect of batch size on the
// generalizability of the convolutional neural networks on a histopathology dataset", who
// fine-tune pretrained networks and find that lower learning rates and smaller batches do better).
//
// 1. Pretrain a small CNN once on Fashion-MNIST classes 0-4 (T-shirt/top, Trouser, Pullover,
//    Dress, Coat); its parameters are cached in OUT/pretrained.xtp and reused by later
//    invocations with the same pretraining flags.
// 2. Fine-tune on classes 5-9 (Sandal, Shirt, Sneaker, Bag, Ankle boot), a few thousand images:
//    the body is loaded from the cache, the head (a new Dense layer for the 5 new classes) keeps
//    its initialisation; optionally the body trains at a lower rate or is frozen
//    (--body-lr-scale). SGD and Adam over a grid of learning rates x batch sizes x seeds, through
//    make_trainer_run and run_sweep: OUT/finetune (OUT/finetune_body<scale> with --body-lr-scale)
//    is a results folder (resume, figures) like lr_batch_sweep's.
// 3. The same grid from scratch on the same data, into OUT/scratch; then the two tables, and
//    OUT/comparison_<finetune folder>.csv. Variants share OUT's cache and OUT/scratch (already done).
//
// Without the dataset-fashion-mnist package the program says so and uses the synthetic stand-in
// of the same shape (a teacher-student task with 10 classes), split into the same two label sets.
#include <xtrain/command_line.hpp>

#include <xtrain/xtrain.hpp>
#include <xtrain/experiment/render.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace
{
    struct Settings
    {
        std::vector<std::string> optimizers{"sgd", "adam"};
        std::vector<double> lrs{3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1};
        std::vector<std::size_t> batch_sizes{16, 64, 256};
        std::vector<std::uint64_t> seeds{1, 2};
        std::size_t epochs = 3;
        std::size_t train_size = 2000;
        std::size_t val_size = 1000;
        std::size_t pretrain_size = 0;
        std::size_t pretrain_epochs = 2;
        double pretrain_lr = 1e-3;
        std::size_t hidden = 64;
        double body_lr_scale = 1.0;
        std::size_t jobs = 2;
        bool no_scratch = false;
        bool no_figures = false;
        std::string out = "finetune_sweep";
    };

    // A mistake found after parsing: "finetune_sweep: what" and the hint, status 2.
    [[noreturn]] void usage_error(const std::string& what) { xtrain::cli::fail("finetune_sweep", what); }

    Settings parse(int argc, char** argv)
    {
        using xtrain::cli::count;
        using xtrain::cli::real;
        Settings s;
        CLI::App app("Fine-tuning a pretrained CNN over learning rate x batch size, against training from scratch "
                     "(Kandel and Castelli 2020), on Fashion-MNIST: pretrain on classes 0-4 (cached in OUT), "
                     "fine-tune a new head on classes 5-9.");
        xtrain::cli::configure(app, "finetune_sweep");
        app.option_defaults()->always_capture_default();
        const auto positive = real("> 0", [](double v) { return v > 0.0; });
        xtrain::cli::add_list(app, "--optimizers", s.optimizers, "optimizers of the grid (sgd, momentum, adam, ...)")
            ->default_str("sgd,adam");
        xtrain::cli::add_list(app, "--lrs", s.lrs, "learning rates of the grid", positive)
            ->default_str("0.0003,0.001,0.003,0.01,0.03,0.1,0.3");
        xtrain::cli::add_list(app, "--batch-sizes", s.batch_sizes, "batch sizes of the grid", count())->default_str("16,64,256");
        xtrain::cli::add_list(app, "--seeds", s.seeds, "run seeds (data order and the new head's initialisation)", count(true))
            ->default_str("1,2");
        app.add_option("--epochs", s.epochs, "fine-tuning epochs per run")->check(count());
        app.add_option("--train-size", s.train_size, "fine-tuning training images (classes 5-9)")->check(count());
        app.add_option("--val-size", s.val_size, "validation images (classes 5-9, held out)")->check(count());
        app.add_option("--pretrain-size", s.pretrain_size, "pretraining images of classes 0-4 (0: all, about 28000)")
            ->check(count(true));
        app.add_option("--pretrain-epochs", s.pretrain_epochs, "pretraining epochs (Adam, batch 64)")->check(count());
        app.add_option("--pretrain-lr", s.pretrain_lr, "pretraining learning rate")->check(positive);
        app.add_option("--hidden", s.hidden, "width of the dense layer before the head")->check(count());
        app.add_option("--body-lr-scale", s.body_lr_scale,
                       "the body's learning rate as a multiple of the head's (0 freezes the pretrained layers)")
            ->check(real(">= 0", [](double v) { return v >= 0.0; }));
        app.add_option("--jobs", s.jobs, "runs in parallel (one BLAS thread each)")->check(count());
        app.add_flag("--no-scratch", s.no_scratch, "skip the comparison grid trained from scratch");
        app.add_flag("--no-figures", s.no_figures, "do not write the figures");
        app.add_option("--out", s.out, "output folder (the cache, OUT/finetune* and OUT/scratch)");
        xtrain::cli::parse_or_exit(app, argc, argv);
        if (s.out.empty())
        {
            usage_error("--out must name a folder");
        }
        return s;
    }

    // -----------------------------------------------------------------------------------------
    // Data: two disjoint label sets of the same images
    // -----------------------------------------------------------------------------------------

    struct Data
    {
        std::string description;
        xtrain::Dataset<float> pretrain_train, pretrain_val;  // classes 0-4
        xtrain::Dataset<float> train, validation;             // classes 5-9, relabelled 0-4
    };

    // The samples of @p d whose label is in [first, first + 5), relabelled from 0, in a fixed shuffled order.
    xtrain::Dataset<float> classes(const xtrain::Dataset<float>& d, std::size_t first, const std::string& name)
    {
        std::vector<std::size_t> idx;
        for (std::size_t i = 0; i < d.size(); ++i)
        {
            const auto label = static_cast<std::size_t>(d.labels(i));
            if (label >= first && label < first + 5)
            {
                idx.push_back(i);
            }
        }
        xtrain::Rng rng(12345);  // fixed: every invocation and every run sees the same sets
        for (std::size_t i = idx.size(); i > 1; --i)
        {
            std::swap(idx[i - 1], idx[rng.uniform_index(i)]);
        }
        xtrain::Dataset<float> out = xtrain::subset(d, idx, name);
        for (std::size_t i = 0; i < out.size(); ++i)
        {
            out.labels(i) = static_cast<xtrain::label_type>(static_cast<std::size_t>(out.labels(i)) - first);
        }
        out.num_classes = 5;
        if (d.class_names.size() == 10)
        {
            out.class_names.assign(d.class_names.begin() + static_cast<std::ptrdiff_t>(first),
                                   d.class_names.begin() + static_cast<std::ptrdiff_t>(first + 5));
        }
        return out;
    }

    xtrain::Dataset<float> rows(const xtrain::Dataset<float>& d, std::size_t first, std::size_t count, const std::string& name)
    {
        std::vector<std::size_t> idx(std::min(count, d.size() - std::min(first, d.size())));
        std::iota(idx.begin(), idx.end(), first);
        return xtrain::subset(d, idx, name);
    }

    Data load_data(const Settings& s)
    {
        auto all = xtrain::datasets::fashion_mnist_or_synthetic<float>();
        const bool real = all.train.name.rfind("fashion-mnist/", 0) == 0;
        Data d;
        d.description = real ? "fashion-mnist" : "synthetic-fashion-mnist-shaped";
        std::printf("data: %s\n", real ? "Fashion-MNIST from /usr/share/datasets/fashion-mnist"
                                       : "Fashion-MNIST is not installed: a synthetic teacher-student task of the same "
                                         "shape, split into the same two label sets (apt-get install "
                                         "dataset-fashion-mnist for the real one)");
        const auto a = classes(all.train, 0, d.description + "/classes0-4");
        const auto b = classes(all.train, 5, d.description + "/classes5-9");
        const std::size_t pre_val = std::min<std::size_t>(2000, a.size() / 6);
        d.pretrain_val = rows(a, 0, pre_val, a.name + "/validation");
        d.pretrain_train = rows(a, pre_val, s.pretrain_size == 0 ? a.size() : s.pretrain_size, a.name + "/train");
        if (s.train_size + s.val_size > b.size())
        {
            usage_error("--train-size + --val-size = " + std::to_string(s.train_size + s.val_size) + " but classes 5-9 have "
                        + std::to_string(b.size()) + " images");
        }
        d.validation = rows(b, 0, s.val_size, b.name + "/validation");
        d.train = rows(b, s.val_size, s.train_size, b.name + "/train");
        std::printf("      pretraining: %zu images of classes 0-4 (+ %zu for validation); fine-tuning: %zu images of "
                    "classes 5-9 (+ %zu for validation)\n",
                    d.pretrain_train.size(), d.pretrain_val.size(), d.train.size(), d.validation.size());
        return d;
    }

    // -----------------------------------------------------------------------------------------
    // The network: tensors 0.* and 3.* (convolutions), 7.* (dense), 9.* (the head)
    // -----------------------------------------------------------------------------------------

    using Cnn = xtrain::Sequential<float, xtrain::Conv2D<>, xtrain::ReLU, xtrain::MaxPool2D<>, xtrain::Conv2D<>, xtrain::ReLU,
                                   xtrain::MaxPool2D<>, xtrain::Flatten, xtrain::Dense<>, xtrain::ReLU, xtrain::Dense<>,
                                   xtrain::SoftmaxCrossEntropy>;
    const char* const head = "9.*";

    Cnn make_cnn(std::uint64_t seed, std::size_t hidden)
    {
        using namespace xtrain;
        return Cnn(seed, Conv2D<>(1, 16, 3), ReLU(), MaxPool2D<>(2), Conv2D<>(16, 32, 3), ReLU(), MaxPool2D<>(2), Flatten(),
                   Dense<>(32 * 5 * 5, hidden), ReLU(), Dense<>(hidden, 5), SoftmaxCrossEntropy());
    }

    std::string model_text(std::size_t hidden)
    {
        return "cnn conv3x3(1->16) relu maxpool2 conv3x3(16->32) relu maxpool2 dense(800->" + std::to_string(hidden)
             + ") relu dense(" + std::to_string(hidden) + "->5)";
    }

    // -----------------------------------------------------------------------------------------
    // Pretraining, cached
    // -----------------------------------------------------------------------------------------

    // Pretrains (or reuses OUT/pretrained.xtp when OUT/pretrained.txt says it was made with the same
    // settings and it loads); returns the path of the parameters file.
    fs::path pretrained(const Settings& s, const Data& d, const fs::path& out)
    {
        const fs::path file = out / "pretrained.xtp";
        const fs::path note = out / "pretrained.txt";
        const std::uint64_t seed = 1;
        std::ostringstream want;
        want << "model: " << model_text(s.hidden) << "\ndata: " << d.pretrain_train.name << " (" << d.pretrain_train.size()
             << " images)\noptimizer: adam lr " << s.pretrain_lr << ", batch 64, " << s.pretrain_epochs
             << " epochs, seed " << seed << "\n";
        auto evaluate = [&](Cnn model) {
            xtrain::Trainer t(std::move(model), xtrain::Optimizer<xtrain::Adam>(xtrain::Adam{}),
                              xtrain::BatchSampler<xtrain::dynamic>(d.pretrain_val.size(), 64, xtrain::SamplerOptions::in_order()));
            return t.evaluate(d.pretrain_val).accuracy;
        };
        std::ifstream in(note);
        const std::string have((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (fs::exists(file) && have.rfind(want.str(), 0) == 0)
        {
            try
            {
                Cnn model = make_cnn(seed, s.hidden);
                xtrain::load_parameters(model, file);
                std::printf("pretrained: reusing %s (validation accuracy on classes 0-4: %.4f)\n", file.string().c_str(),
                            evaluate(std::move(model)));
                return file;
            }
            catch (const std::exception& e)
            {
                std::printf("pretrained: %s cannot be used (%s); pretraining again\n", file.string().c_str(), e.what());
            }
        }
        else if (fs::exists(file))
        {
            std::printf("pretrained: %s was made with other settings; pretraining again\n", file.string().c_str());
        }
        std::printf("pretraining on %zu images of classes 0-4 for %zu epochs...\n", d.pretrain_train.size(), s.pretrain_epochs);
        std::fflush(stdout);
        xtrain::Adam adam;
        adam.lr = s.pretrain_lr;
        xtrain::Trainer t(make_cnn(seed, s.hidden), xtrain::Optimizer<xtrain::Adam>(adam),
                          xtrain::BatchSampler<xtrain::dynamic>(d.pretrain_train.size(), 64, xtrain::SamplerOptions::shuffled(seed)),
                          xtrain::DivergenceGuard());
        t.fit(d.pretrain_train, xtrain::Budget::epochs(s.pretrain_epochs), &d.pretrain_val);
        const double accuracy = t.history().evals.empty() ? std::nan("") : t.history().evals.back().val_accuracy;
        std::printf("pretrained: validation accuracy on classes 0-4 %.4f after %.1f s\n", accuracy, t.wall_seconds());
        if (t.status() != xtrain::RunStatus::finished || !(accuracy > 0.5))
        {
            throw std::runtime_error("pretraining did not learn (status " + std::string(xtrain::to_string(t.status()))
                                     + "): nothing to fine-tune from");
        }
        xtrain::save_parameters(t.model(), file);
        std::ofstream os(note, std::ios::trunc);
        os << want.str() << "validation accuracy: " << accuracy << "\n";
        os.close();
        if (!os)
        {
            throw std::runtime_error("cannot write " + note.string());
        }
        return file;
    }

    // -----------------------------------------------------------------------------------------
    // The comparison
    // -----------------------------------------------------------------------------------------

    // OUT/finetune, or OUT/finetune_body0.1 with the body at 0.1 x the rate: variants share the cache and OUT/scratch.
    std::string finetune_folder(const Settings& s)
    {
        char buf[64];
        std::snprintf(buf, sizeof buf, "finetune_body%g", s.body_lr_scale);
        return s.body_lr_scale == 1.0 ? std::string("finetune") : std::string(buf);
    }

    struct Cell
    {
        double median = std::nan("");  // final validation accuracy, median over the seeds that did not diverge
        std::size_t diverged = 0;
        std::size_t seeds = 0;
    };

    using Table = std::map<std::string, std::map<std::size_t, std::map<double, Cell>>>;  // optimizer, B, lr

    Table table_of(const fs::path& folder)
    {
        const xtrain::ResultSet set = xtrain::load_results(folder);
        std::map<std::string, std::map<std::size_t, std::map<double, std::vector<double>>>> values;
        Table t;
        for (const xtrain::RunRecord& r : set.runs)
        {
            Cell& c = t[r.spec.optimizer][r.spec.batch_size][r.spec.lr];
            ++c.seeds;
            if (r.summary.diverged() || !std::isfinite(r.summary.last.val_accuracy))
            {
                ++c.diverged;
                continue;
            }
            values[r.spec.optimizer][r.spec.batch_size][r.spec.lr].push_back(r.summary.last.val_accuracy);
        }
        for (auto& [o, by_b] : values)
        {
            for (auto& [b, by_lr] : by_b)
            {
                for (auto& [lr, v] : by_lr)
                {
                    std::sort(v.begin(), v.end());
                    const std::size_t n = v.size();
                    t[o][b][lr].median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
                }
            }
        }
        return t;
    }

    std::string cell_text(const Cell& c)
    {
        char buf[32];
        if (!std::isfinite(c.median))
        {
            std::snprintf(buf, sizeof buf, "%s", c.seeds == 0 ? "-" : "diverged");
        }
        else
        {
            std::snprintf(buf, sizeof buf, "%.4f%s", c.median, c.diverged ? "*" : "");
        }
        return buf;
    }

    // Prints, per optimizer, the accuracy over lr x B of each mode, the best lr per B, and writes comparison.csv.
    void compare(const Settings& s, const fs::path& out)
    {
        const Table ft = table_of(out / finetune_folder(s));
        const Table sc = s.no_scratch ? Table{} : table_of(out / "scratch");
        const fs::path csv_path = out / ("comparison_" + finetune_folder(s) + ".csv");
        std::ofstream csv(csv_path, std::ios::trunc);
        csv << "optimizer,batch_size,lr,finetune_val_accuracy,finetune_diverged,scratch_val_accuracy,scratch_diverged,seeds\n";
        for (const std::string& o : s.optimizers)
        {
            for (const auto* mode : {&ft, &sc})
            {
                if (mode->count(o) == 0)
                {
                    continue;
                }
                std::printf("\n%s, %s: final validation accuracy (median over seeds; * some seeds diverged)\n", o.c_str(),
                            mode == &ft ? "fine-tuned" : "from scratch");
                std::printf("%8s", "B \\ lr");
                for (double lr : s.lrs)
                {
                    std::printf(" %10g", lr);
                }
                std::printf("  %10s %8s\n", "best lr", "best");
                for (std::size_t b : s.batch_sizes)
                {
                    std::printf("%8zu", b);
                    double best = -1.0, best_lr = std::nan("");
                    for (double lr : s.lrs)
                    {
                        const auto& row = mode->at(o);
                        const Cell c = row.count(b) && row.at(b).count(lr) ? row.at(b).at(lr) : Cell{};
                        std::printf(" %10s", cell_text(c).c_str());
                        if (std::isfinite(c.median) && c.median > best)
                        {
                            best = c.median;
                            best_lr = lr;
                        }
                    }
                    std::printf("  %10g %8.4f\n", best_lr, best);
                }
            }
            for (std::size_t b : s.batch_sizes)
            {
                for (double lr : s.lrs)
                {
                    auto get = [&](const Table& t) {
                        return t.count(o) && t.at(o).count(b) && t.at(o).at(b).count(lr) ? t.at(o).at(b).at(lr) : Cell{};
                    };
                    const Cell f = get(ft);
                    const Cell c = get(sc);
                    csv << o << ',' << b << ',' << lr << ',' << f.median << ',' << f.diverged << ',' << c.median << ','
                        << c.diverged << ',' << f.seeds << '\n';
                }
            }
        }
        csv.close();
        if (!csv)
        {
            throw std::runtime_error("cannot write " + csv_path.string());
        }
        std::printf("\ncomparison: %s\n", csv_path.string().c_str());
    }

    std::atomic<bool> g_stop{false};
    extern "C" void on_interrupt(int)
    {
        g_stop.store(true);
        std::signal(SIGINT, SIG_DFL);
    }
}

int main(int argc, char** argv)
{
    const Settings s = parse(argc, argv);
    try
    {
        const fs::path out = s.out;
        fs::create_directories(out);
        xtrain::set_blas_threads(1);  // the pretraining runs alone, the sweeps one BLAS thread per run
        const Data data = load_data(s);
        const fs::path weights = pretrained(s, data, out);

        xtrain::SweepConfig config;
        config.grid.optimizers = s.optimizers;
        config.grid.lrs = s.lrs;
        config.grid.batch_sizes = s.batch_sizes;
        config.grid.seeds = s.seeds;
        config.model = model_text(s.hidden);
        config.dataset = data.train.name + " (" + std::to_string(data.train.size()) + " images), validation "
                       + std::to_string(data.validation.size());

        xtrain::RunSettings scratch;
        scratch.budget = xtrain::Budget::epochs(s.epochs);
        scratch.evals_per_epoch = 1;
        xtrain::RunSettings finetune = scratch;
        finetune.finetune.initial_parameters = weights;
        finetune.finetune.load.exclude = {head};  // a new head for the new classes
        if (s.body_lr_scale != 1.0)
        {
            finetune.finetune.scale_lr("*", s.body_lr_scale).scale_lr(head, 1.0);
        }
        // Refuse a mistake before anything is written (a run's model is built like this one).
        const xtrain::LoadReport plan = xtrain::check_finetuning(make_cnn(s.seeds.front(), s.hidden), finetune.finetune);
        std::printf("fine-tuning: %s\n", plan.describe().c_str());

        xtrain::SweepOptions options;
        options.jobs = s.jobs;
        options.stop = &g_stop;
        options.progress = xtrain::ProgressMode::lines;
        std::signal(SIGINT, on_interrupt);
        const std::size_t hidden = s.hidden;
        const auto make_model = [hidden](std::uint64_t seed) { return make_cnn(seed, hidden); };

        bool complete = true;
        auto sweep = [&](const xtrain::RunSettings& settings, const fs::path& dir) {
            xtrain::SweepConfig c = config;
            std::printf("\n== %s: %zu runs into %s\n", dir.filename().string().c_str(), c.grid.size(), dir.string().c_str());
            std::fflush(stdout);
            const xtrain::RunFunction fn = xtrain::make_trainer_run(data.train, &data.validation, make_model, settings);
            const xtrain::SweepReport r = xtrain::run_sweep(c, dir, fn, options);
            std::printf("%zu finished, %zu diverged, %zu stalled, %zu failed, %zu already done (%.1f s)\n", r.finished,
                        r.diverged, r.stalled, r.failed, r.already_done, r.seconds);
            for (const auto& f : r.failures)
            {
                std::printf("  failed: %s: %s\n", f.spec.key().str().c_str(), f.message.c_str());
            }
            complete = complete && r.complete();
            if (!s.no_figures && r.complete())
            {
                xtrain::FigureReport fig = xtrain::write_figures(dir);
                xtrain::render_figures(fig);  // PNG and SVG, when gnuplot is on the PATH
                std::printf("%s\n", fig.message.c_str());
            }
        };
        sweep(finetune, out / finetune_folder(s));
        if (!s.no_scratch && !g_stop.load())
        {
            sweep(scratch, out / "scratch");
        }
        if (!complete)
        {
            std::printf("\nnot every run has a result (interrupted or failed): run the same command again to resume\n");
            return 1;
        }
        compare(s, out);
        return 0;
    }
    catch (const std::exception& e)
    {
        std::fprintf(stderr, "finetune_sweep: %s\n", e.what());
        return 1;
    }
}
