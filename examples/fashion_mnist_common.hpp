// What the two Fashion-MNIST examples share: their command-line flags, the data, the optional
// output files (CSV logs, checkpoints) and the run itself (resume, fit, report). The models and
// their Trainers are in the examples; nothing here is part of the library.
#ifndef XTRAIN_EXAMPLES_FASHION_MNIST_COMMON_HPP
#define XTRAIN_EXAMPLES_FASHION_MNIST_COMMON_HPP

#include <xtrain/command_line.hpp>

#include <xtrain/xtrain.hpp>

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace example
{
    struct Options
    {
        std::size_t epochs = 5;
        std::size_t batch = 64;
        std::string optimizer = "sgd"; // sgd (with momentum) or adam
        double lr = 0.0;               // 0: the optimizer's default below
        double sgd_lr = 0.02;          // default rate for sgd
        double adam_lr = 1e-3;         // default rate for adam
        double momentum = 0.9;         // sgd only
        std::size_t limit = 0;         // train on the first N samples only (0: all)
        std::size_t test_limit = 0;    // evaluate on the first N test samples only (0: all)
        std::uint64_t seed = 1;
        std::string data = xtrain::datasets::fashion_mnist_default_dir;
        std::string csv_dir;    // write evals.csv and steps.csv there
        std::string checkpoint; // save a checkpoint there after every epoch and at the end
        bool resume = false;    // continue from the checkpoint
    };

    // Reads the flags over the example's defaults. --help prints the usage and exits with 0; a bad
    // flag or value prints what is wrong and exits with 2 (xtrain/command_line.hpp).
    inline Options parse_options(int argc, char** argv, Options o, const std::string& program, const std::string& summary)
    {
        using namespace xtrain::cli;
        CLI::App app(summary);
        configure(app, program);
        const std::string lr_help = "learning rate (default " + CLI::detail::to_string(o.sgd_lr) + " for sgd, "
                                  + CLI::detail::to_string(o.adam_lr) + " for adam)";
        app.add_option("--epochs", o.epochs, "total epochs of the run (default " + std::to_string(o.epochs) + ")")
            ->type_name("N")->check(count());
        app.add_option("--batch", o.batch, "batch size (default " + std::to_string(o.batch) + ")")
            ->type_name("N")->check(count());
        app.add_option("--optimizer", o.optimizer, "sgd (with momentum) or adam (default " + o.optimizer + ")")
            ->type_name("NAME")->check(CLI::IsMember({"sgd", "adam"}));
        app.add_option("--lr", o.lr, lr_help)->type_name("X")->check(real("> 0", [](double v) { return v > 0.0; }));
        app.add_option("--momentum", o.momentum, "sgd's momentum, in [0, 1) (default " + CLI::detail::to_string(o.momentum) + ")")
            ->type_name("X")->check(real("in [0, 1)", [](double v) { return v >= 0.0 && v < 1.0; }));
        app.add_option("--limit", o.limit, "train on the first N training samples only (default: all)")
            ->type_name("N")->check(count(true));
        app.add_option("--test-limit", o.test_limit, "evaluate on the first N test samples only (default: all)")
            ->type_name("N")->check(count(true));
        app.add_option("--seed", o.seed, "seed of the initialisation, the sample order and dropout (default "
                                             + std::to_string(o.seed) + ")")
            ->type_name("N")->check(count(true));
        app.add_option("--data", o.data, "Fashion-MNIST's directory (default " + o.data
                                             + "); without it, a synthetic stand-in of the same shape is used")
            ->type_name("DIR");
        app.add_option("--csv", o.csv_dir, "write DIR/evals.csv (per epoch) and DIR/steps.csv (per update)")->type_name("DIR");
        CLI::Option* checkpoint = app.add_option("--checkpoint", o.checkpoint,
                                                 "save a checkpoint to PATH after every epoch and at the end")
                                      ->type_name("PATH");
        // --resume needs the checkpoint to continue from.
        app.add_flag("--resume", o.resume, "continue the run saved in --checkpoint PATH up to --epochs")->needs(checkpoint);
        parse_or_exit(app, argc, argv);
        if (o.lr == 0.0)
        {
            o.lr = o.optimizer == "adam" ? o.adam_lr : o.sgd_lr;
        }
        return o;
    }

    // Fashion-MNIST, or the synthetic stand-in when it is not installed; --limit and --test-limit
    // keep the first N samples (for quick runs and smoke tests).
    inline xtrain::TrainTest<float> load_data(const Options& o)
    {
        auto data = xtrain::datasets::fashion_mnist_or_synthetic<float>(o.data, o.seed);
        if (data.train.name.rfind("fashion-mnist", 0) != 0)
        {
            std::printf("note: Fashion-MNIST is not installed in %s (apt-get install dataset-fashion-mnist);\n"
                        "      training on a synthetic task of the same shape instead, so the accuracy below\n"
                        "      says nothing about Fashion-MNIST\n",
                        o.data.c_str());
        }
        const auto keep_first = [](xtrain::Dataset<float>& d, std::size_t n) {
            if (n > 0 && n < d.size())
            {
                std::vector<std::size_t> first(n);
                std::iota(first.begin(), first.end(), std::size_t(0));
                d = xtrain::subset(d, first, d.name);
            }
        };
        keep_first(data.train, o.limit);
        keep_first(data.test, o.test_limit);
        std::printf("data: %s, %zu training and %zu test samples of %zu features, %zu classes\n",
                    data.train.name.c_str(), data.train.size(), data.test.size(), data.train.feature_dim(),
                    data.train.num_classes);
        return data;
    }

    // Calls f once with the optimizer --optimizer names (sgd: SGD with --momentum), through the
    // library's xtrain::with_optimizer, which turns the run-time name into a compile-time policy.
    template <class F>
    int with_optimizer(const Options& o, F&& f)
    {
        xtrain::OptimizerSettings settings;
        settings.momentum = o.momentum;
        return xtrain::with_optimizer(o.optimizer == "adam" ? "adam" : "momentum", o.lr, settings, std::forward<F>(f));
    }

    // Prints each evaluation (every epoch end) to stdout as it happens, unless the progress bar
    // shows it already (on a terminal).
    class EpochLog
    {
    public:
        template <class Tr>
        void on_evaluate(Tr&, const xtrain::EvalRecord& e)
        {
            if (m_print)
            {
                std::printf("epoch %llu: train loss %.4f, test loss %.4f, test accuracy %.2f %%, %.1f s\n",
                            static_cast<unsigned long long>(e.epoch), e.train_loss, e.val_loss, 100.0 * e.val_accuracy,
                            e.wall_seconds);
                std::fflush(stdout);
            }
        }

    private:
        bool m_print = !xtrain::ProgressBar().enabled();
    };

    // The files a run writes when asked (--csv, --checkpoint), as one callback: a Trainer's
    // callbacks are fixed when it is compiled, so switching these two on and off by flags needs one
    // type that holds them or not and passes the hooks on.
    class RunFiles
    {
    public:
        explicit RunFiles(const Options& o)
        {
            if (!o.csv_dir.empty())
            {
                std::filesystem::create_directories(o.csv_dir);
                m_csv.emplace(o.csv_dir + "/evals.csv", o.csv_dir + "/steps.csv");
            }
            if (!o.checkpoint.empty())
            {
                m_checkpoint.emplace(o.checkpoint, /*every_epochs*/ 1);
            }
        }
        template <class Tr>
        void on_fit_begin(Tr& t)
        {
            if (m_csv)
            {
                m_csv->on_fit_begin(t);
            }
        }
        template <class Tr>
        void on_step_end(Tr& t)
        {
            if (m_checkpoint)
            {
                m_checkpoint->on_step_end(t);
            }
        }
        template <class Tr>
        void on_epoch_end(Tr& t)
        {
            if (m_checkpoint)
            {
                m_checkpoint->on_epoch_end(t);
            }
        }
        template <class Tr>
        void on_evaluate(Tr& t, const xtrain::EvalRecord& r)
        {
            if (m_csv)
            {
                m_csv->on_evaluate(t, r);
            }
        }
        template <class Tr>
        void on_fit_end(Tr& t)
        {
            if (m_csv)
            {
                m_csv->on_fit_end(t);
            }
            if (m_checkpoint)
            {
                m_checkpoint->on_fit_end(t);
            }
        }

    private:
        std::optional<xtrain::CsvLogger> m_csv;
        std::optional<xtrain::CheckpointSaver> m_checkpoint;
    };

    // The shortest text that reads back to exactly v (0.05, not 0.050000000000000003).
    inline std::string number_text(double v)
    {
        char buf[64];
        const auto r = std::to_chars(buf, buf + sizeof buf, v);
        return std::string(buf, r.ptr);
    }

    // Resumes if asked, trains up to --epochs, evaluates on the test set at every epoch end, and
    // reports. Returns the exit code: 0, or 1 if the run diverged or learnt nothing (its test loss
    // stayed above the untrained model's). Errors, such as a refused checkpoint, are exceptions
    // for main() to report.
    template <class Trainer>
    int run(Trainer& trainer, const xtrain::TrainTest<float>& data, const Options& o)
    {
        if (o.resume)
        {
            try
            {
                trainer.load_checkpoint(o.checkpoint);
            }
            catch (const xtrain::checkpoint_error& e)
            {
                // The library names the field (another --optimizer or --batch refuses the optimizer
                // or sampler state); say which flags a resume must repeat.
                throw std::runtime_error(std::string(e.what())
                                         + "\n  (resume with the --optimizer, --batch, --seed and --limit of the run that "
                                           "wrote it, or start a new checkpoint)");
            }
            // The optimizer takes the learning rate the checkpoint holds, which these examples never
            // schedule: a different --lr would be ignored without a word, so it is refused instead.
            if (trainer.optimizer().lr() != o.lr)
            {
                throw std::runtime_error("--lr " + number_text(o.lr) + " differs from the checkpoint's "
                                         + number_text(trainer.optimizer().lr())
                                         + "; resume with the same settings or start a new checkpoint");
            }
            std::printf("resumed from %s after epoch %llu (step %llu)\n", o.checkpoint.c_str(),
                        static_cast<unsigned long long>(trainer.epoch()),
                        static_cast<unsigned long long>(trainer.step()));
        }
        // The untrained model's test loss: a run that does not get below it has learnt nothing.
        const double untrained_loss = o.resume ? 0.0 : trainer.evaluate(data.test).loss;
        const std::size_t first_new = trainer.history().evals.size();
        const auto start = std::chrono::steady_clock::now();
        const xtrain::History& h = trainer.fit(data.train, xtrain::Budget::epochs(o.epochs), &data.test);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

        if (trainer.status() != xtrain::RunStatus::finished)
        {
            std::fprintf(stderr, "the run ended %s: %s\n", xtrain::to_string(trainer.status()),
                         trainer.status_message().c_str());
            return 1;
        }
        const double accuracy = h.evals.back().val_accuracy;
        const std::size_t epochs_run = h.evals.size() - first_new;
        std::printf("final test accuracy: %.2f %% after %llu epochs (this run: %zu epochs in %.1f s, "
                    "%.2f s per epoch with its test evaluation)\n",
                    100.0 * accuracy, static_cast<unsigned long long>(trainer.epoch()), epochs_run, seconds,
                    epochs_run > 0 ? seconds / static_cast<double>(epochs_run) : 0.0);
        if (!o.csv_dir.empty())
        {
            std::printf("curves: %s/evals.csv (per epoch), %s/steps.csv (per update)\n", o.csv_dir.c_str(),
                        o.csv_dir.c_str());
        }
        if (!o.checkpoint.empty())
        {
            std::printf("checkpoint: %s (continue with --checkpoint %s --resume --epochs N)\n",
                        o.checkpoint.c_str(), o.checkpoint.c_str());
        }
        if (!o.resume && !(h.evals.back().val_loss < untrained_loss))
        {
            std::fprintf(stderr, "the test loss did not fall below the untrained model's (%.4f)\n", untrained_loss);
            return 1;
        }
        return 0;
    }
}

#endif
