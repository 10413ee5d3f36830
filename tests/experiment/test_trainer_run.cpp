// The sweep engine driving the real Trainer (experiment/trainer_run.hpp), end to end on synthetic
// data: the files and their row counts, a killed sweep resumed, paired sampling across batch
// sizes, a diverging learning rate recorded as diverged, lr scaling and warm-up, the noise scale.
#include <catch2/catch.hpp>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <typeinfo>
#include <vector>

#include "xtrain/xtrain.hpp"

using namespace xtrain;
namespace fs = std::filesystem;

namespace
{
    fs::path fresh(const std::string& name)
    {
        const fs::path p = fs::path(XTRAIN_TEST_TMP_DIR) / ("trainer_run_" + name);
        fs::remove_all(p);
        return p;
    }

    std::vector<std::vector<std::string>> csv_rows(const fs::path& p)
    {
        std::ifstream in(p);
        std::vector<std::vector<std::string>> rows;
        for (std::string line; std::getline(in, line);)
        {
            std::vector<std::string> cells;
            std::stringstream ss(line);
            for (std::string c; std::getline(ss, c, ',');)
            {
                cells.push_back(c);
            }
            rows.push_back(cells);
        }
        return rows;
    }

    std::size_t column(const std::vector<std::string>& header, const std::string& name)
    {
        const auto it = std::find(header.begin(), header.end(), name);
        REQUIRE(it != header.end());
        return static_cast<std::size_t>(it - header.begin());
    }

    // runs.csv without its wall_seconds column, for comparing two sweeps.
    std::vector<std::string> rows_without_time(const fs::path& p)
    {
        auto rows = csv_rows(p);
        const std::size_t wall = column(rows.front(), "wall_seconds");
        std::vector<std::string> out;
        for (auto& r : rows)
        {
            r.erase(r.begin() + static_cast<std::ptrdiff_t>(wall));
            std::string joined;
            for (const auto& c : r)
            {
                joined += c + ",";
            }
            out.push_back(joined);
        }
        std::sort(out.begin(), out.end());
        return out;
    }

    Dataset<float> blobs(std::size_t n, std::uint64_t seed, double spread = 2.0)
    {
        datasets::BlobsOptions o;
        o.num_samples = n;
        o.num_features = 6;
        o.num_classes = 3;
        o.cluster_std = spread;
        o.seed = seed;
        return datasets::gaussian_blobs<float>(o);
    }

    SweepOptions quiet(std::size_t jobs = 2)
    {
        SweepOptions o;
        o.jobs = jobs;
        o.log = nullptr;
        return o;
    }

    auto mlp_factory()
    {
        return [](std::uint64_t seed) { return MLP<float>(seed, {6, 8, 3}); };
    }

    // A linear classifier that records the first feature (the sample's id) of every training
    // sample it sees, per batch size, to check the data order.
    struct OrderLog
    {
        std::mutex mutex;
        std::map<std::size_t, std::vector<float>> seen; // batch size -> ids in training order
    };

    class RecordingModel
    {
    public:
        using value_type = float;
        RecordingModel(OrderLog* log, std::uint64_t seed) : m_log(log), m_inner(seed, {2, 2})
        {
        }
        ParamBuffer<float>& parameters() { return m_inner.parameters(); }
        const ParamBuffer<float>& parameters() const { return m_inner.parameters(); }
        float loss_and_gradient(const Batch<float>& b, xt::xtensor<float, 1>& grad)
        {
            {
                std::lock_guard<std::mutex> lock(m_log->mutex);
                auto& v = m_log->seen[m_batch_size];
                for (std::size_t i = 0; i < b.size; ++i)
                {
                    v.push_back(b.features[i * b.feature_dim]);
                }
            }
            return m_inner.loss_and_gradient(b, grad);
        }
        std::size_t m_batch_size = 0;

    private:
        OrderLog* m_log;
        MLP<float> m_inner;
    };
}

TEST_CASE("with_optimizer maps every grid name to its policy and refuses others", "[experiment][trainer_run]")
{
    OptimizerSettings s;
    s.momentum = 0.8;
    auto policy_name = [&](std::string_view n) {
        return with_optimizer(n, 0.05, s, [](auto opt) {
            return std::string(std::decay_t<decltype(opt.policy())>::name) + " lr=" + std::to_string(opt.lr());
        });
    };
    CHECK(policy_name("sgd") == "SGD lr=0.050000");
    CHECK(policy_name("adam") == "Adam lr=0.050000");
    CHECK(policy_name("adamw").rfind("Adam", 0) == 0);
    CHECK(policy_name("rmsprop").rfind("RMSprop", 0) == 0);
    CHECK(policy_name("adagrad").rfind("Adagrad", 0) == 0);
    CHECK(policy_name("lars").rfind("LARS", 0) == 0);
    CHECK(policy_name("lamb").rfind("LAMB", 0) == 0);
    // SGD's flags, and AdamW's decoupling, as the names promise (-1: another policy).
    auto sgd_flags = [&](std::string_view n) {
        return with_optimizer(n, 0.1, s, [](auto opt) -> std::pair<double, bool> {
            if constexpr (std::is_same_v<decltype(opt), Optimizer<SGD>>)
            {
                return {opt.policy().momentum, opt.policy().nesterov};
            }
            else
            {
                return {-1.0, false};
            }
        });
    };
    CHECK(sgd_flags("sgd") == std::make_pair(0.0, false));
    CHECK(sgd_flags("momentum") == std::make_pair(0.8, false));
    CHECK(sgd_flags("nesterov") == std::make_pair(0.8, true));
    CHECK(sgd_flags("adam").first == -1.0);
    auto decoupled = [&](std::string_view n) {
        return with_optimizer(n, 0.1, s, [](auto opt) {
            if constexpr (std::is_same_v<decltype(opt), Optimizer<Adam>>)
            {
                return opt.policy().decoupled_weight_decay;
            }
            else
            {
                return false;
            }
        });
    };
    CHECK(decoupled("adamw"));
    CHECK_FALSE(decoupled("adam"));
    CHECK_THROWS_WITH(policy_name("adamax"), Catch::Contains("unknown optimizer 'adamax'") && Catch::Contains("lamb"));
    for (std::string_view n : sweep_optimizer_names)
    {
        CHECK_NOTHROW(policy_name(n));
    }
}

TEST_CASE("with_batch_sampler uses a compile-time size when listed, else a dynamic one", "[experiment][trainer_run]")
{
    const SamplerOptions o{true, false, 3};
    auto kind = [&](std::size_t b) {
        return with_batch_sampler(BatchSizes<8, 32>{}, b, 100, o, [](auto sampler) {
            using S = decltype(sampler);
            return std::make_pair(std::is_same_v<S, BatchSampler<dynamic>>, sampler.batch_size());
        });
    };
    CHECK(kind(8) == std::make_pair(false, std::size_t(8)));
    CHECK(kind(32) == std::make_pair(false, std::size_t(32)));
    CHECK(kind(16) == std::make_pair(true, std::size_t(16)));
    CHECK(with_batch_sampler(BatchSizes<>{}, 5, 100, o, [](auto s) { return s.iterations_per_epoch(); }) == 20);
}

TEST_CASE("A Trainer sweep writes every evaluation row, marks divergence and resumes after a stop",
          "[experiment][trainer_run]")
{
    const auto data = blobs(600, 1);
    const auto val = blobs(200, 2);
    SweepConfig config;
    config.grid = {{"sgd", "adam"}, {0.05, 500.0}, {16, 64}, {1, 2}, {}};
    config.model = "mlp 6-8-3";
    config.dataset = "blobs";
    RunSettings settings;
    settings.budget = Budget::epochs(2);
    settings.evals_per_epoch = 3;
    config.budget = settings.describe();
    config.target = parse_target("val_accuracy=0.7");
    const RunFunction fn = make_trainer_run(data, &val, mlp_factory(), settings);

    const fs::path whole = fresh("whole");
    const SweepReport r = run_sweep(config, whole, fn, quiet());
    CHECK(r.finished + r.diverged == 16);
    CHECK(r.failed == 0);
    const auto runs = csv_rows(whole / "runs.csv");
    const auto& header = runs.front();
    CHECK(header.size() == 14);
    const std::size_t lr = column(header, "lr");
    const std::size_t div = column(header, "diverged");
    const std::size_t b = column(header, "batch_size");
    const std::size_t epoch = column(header, "epoch");
    std::size_t diverged_rows = 0;
    std::map<std::string, std::size_t> rows_per_run;
    for (std::size_t i = 1; i < runs.size(); ++i)
    {
        const auto& row = runs[i];
        rows_per_run[row[0] + row[lr] + row[b] + row[column(header, "seed")]] += 1;
        // The column repeats the run's outcome on each of its rows, as 0 or 1: every lr 500 run
        // diverges (r.diverged == 8 below) and no other does.
        CHECK(row[div] == (row[lr] == "500" ? "1" : "0"));
        diverged_rows += row[div] == "1" ? 1 : 0;
        CHECK(std::stod(row[epoch]) <= 2.0);
    }
    CHECK(diverged_rows > 0);
    // Finished runs: 3 evaluation points per epoch over 2 epochs.
    for (const auto& [key, n] : rows_per_run)
    {
        if (key.find("500") == std::string::npos)
        {
            CHECK(n == 6);
        }
    }
    CHECK(r.diverged == 8); // lr 500 diverges for both optimizers, every batch size and seed

    // Stop after a few runs (as Ctrl-C does), then resume: the same rows as the whole sweep.
    const fs::path parts = fresh("stopped");
    std::atomic<int> calls{0};
    // Ctrl-C during the sixth run: the run gives up (as SweepReporter does when the sweep's stop
    // flag is set) and no new run starts.
    const RunFunction stopping = [&](const RunSpec& spec, EvalSink& sink) -> RunResult {
        if (++calls == 6)
        {
            throw sweep_interrupted("interrupted");
        }
        return fn(spec, sink);
    };
    SweepOptions o = quiet(1);
    const SweepReport first = run_sweep(config, parts, stopping, o);
    CHECK(first.interrupted);
    CHECK(first.not_run > 0);
    const SweepReport second = run_sweep(config, parts, fn, quiet());
    CHECK(first.finished + first.diverged == 5);
    CHECK(second.already_done == 5);
    CHECK(second.finished + second.diverged == 11);
    CHECK(rows_without_time(parts / "runs.csv") == rows_without_time(whole / "runs.csv"));
}

TEST_CASE("Runs with the same seed see the same data order at every batch size", "[experiment][trainer_run]")
{
    Dataset<float> data;
    data.features = xt::xtensor<float, 2>::from_shape({96, 2});
    data.labels = xt::xtensor<label_type, 1>::from_shape({96});
    data.sample_shape = {2};
    data.num_classes = 2;
    data.name = "ids";
    for (std::size_t i = 0; i < 96; ++i)
    {
        data.features(i, 0) = static_cast<float>(i) / 128.0f; // the id (small: the model must not diverge)
        data.features(i, 1) = 1.0f;
        data.labels(i) = static_cast<label_type>(i % 2);
    }
    OrderLog log;
    SweepConfig config;
    config.grid = {{"sgd"}, {0.01}, {1, 7, 32, 96}, {5}, {}};
    RunSettings settings;
    settings.budget = Budget::epochs(1);
    auto factory = [&log](std::uint64_t seed) { return RecordingModel(&log, seed); };
    // The factory cannot see the batch size; wrap the run function to tell the model.
    const RunFunction inner = make_trainer_run(data, nullptr, factory, settings);
    std::map<std::size_t, std::vector<float>> order;
    const RunFunction fn = [&](const RunSpec& spec, EvalSink& sink) {
        {
            std::lock_guard<std::mutex> lock(log.mutex);
            log.seen.clear();
        }
        RunResult res = inner(spec, sink);
        std::lock_guard<std::mutex> lock(log.mutex);
        order[spec.batch_size] = log.seen[0];
        return res;
    };
    run_sweep(config, fresh("paired"), fn, quiet(1));
    REQUIRE(order.size() == 4);
    REQUIRE(order[1].size() == 96);
    CHECK(std::set<float>(order[1].begin(), order[1].end()).size() == 96);
    CHECK(order[7] == order[1]);
    CHECK(order[32] == order[1]);
    CHECK(order[96] == order[1]);
    CHECK_FALSE(std::is_sorted(order[1].begin(), order[1].end())); // shuffled
}

TEST_CASE("Scaled learning rates and warm-up are what the rows report", "[experiment][trainer_run]")
{
    const auto data = blobs(256, 3);
    SweepConfig config;
    config.grid = {{"sgd"}, {0.01}, {8, 32}, {1}, {}};
    RunSettings settings;
    settings.budget = Budget::epochs(2);
    settings.evals_per_epoch = 4;
    settings.scaling = LrScaling::linear;
    settings.base_batch_size = 8;
    settings.warmup_epochs = 1.0;
    const fs::path out = fresh("scaling");
    run_sweep(config, out, make_trainer_run(data, nullptr, mlp_factory(), settings), quiet(1));
    const auto rows = csv_rows(out / "runs.csv");
    const std::size_t b = column(rows.front(), "batch_size");
    const std::size_t lr = column(rows.front(), "lr_in_effect");
    const std::size_t ep = column(rows.front(), "epoch");
    std::map<std::size_t, std::vector<std::pair<double, double>>> by_b; // epoch, lr
    for (std::size_t i = 1; i < rows.size(); ++i)
    {
        by_b[std::stoul(rows[i][b])].emplace_back(std::stod(rows[i][ep]), std::stod(rows[i][lr]));
    }
    // After the warm-up epoch the rate is 0.01 x B / 8; during it, lower.
    CHECK(by_b[8].back().second == Approx(0.01).epsilon(1e-14));
    CHECK(by_b[32].back().second == Approx(0.04).epsilon(1e-14));
    CHECK(by_b[32].front().first < 1.0);
    CHECK(by_b[32].front().second < 0.04);
    CHECK(by_b[32].front().second > 0.01);

    RunSettings bad = settings;
    bad.base_batch_size = 0;
    CHECK_THROWS_WITH(make_trainer_run(data, nullptr, mlp_factory(), bad), Catch::Contains("base_batch_size must be > 0"));
    bad = settings;
    bad.evals_per_epoch = 0;
    CHECK_THROWS_WITH(make_trainer_run(data, nullptr, mlp_factory(), bad), Catch::Contains("evals_per_epoch must be >= 1"));
}

TEST_CASE("The gradient noise scale is measured per epoch and written per run", "[experiment][trainer_run]")
{
    // Overlapping classes: per-sample gradients disagree a lot, so tr(Sigma) is clearly positive.
    const auto data = blobs(2048, 4, 8.0);
    SweepConfig config;
    config.grid = {{"sgd"}, {0.01}, {1, 64}, {1}, {}};
    RunSettings settings;
    settings.budget = Budget::epochs(3);
    settings.noise_scale_every = 2;
    settings.divergence_factor = 1000.0; // single-sample losses swing widely
    const fs::path out = fresh("noise");
    settings.noise_scale_dir = out / "noise_scale";
    run_sweep(config, out, make_trainer_run(data, nullptr, mlp_factory(), settings), quiet(1));
    // Index 1 is B = 64; batches of one sample cannot be split, so B = 1 has no measurements.
    const auto big = csv_rows(out / "noise_scale" / "run-1.csv");
    REQUIRE(big.size() == 4);
    const std::size_t bs = column(big.front(), "b_simple");
    const std::size_t m = column(big.front(), "measurements");
    for (std::size_t i = 1; i < big.size(); ++i)
    {
        CHECK(std::stoul(big[i][m]) > 0);
    }
    const double b_simple = std::stod(big.back()[bs]);
    CHECK(std::isfinite(b_simple));
    CHECK(b_simple > 0.0);
    const auto small = csv_rows(out / "noise_scale" / "run-0.csv");
    REQUIRE(small.size() == 4);
    CHECK(small.back()[m] == "0");
}

TEST_CASE("docs/sweeps.md: make_trainer_run", "[experiment][trainer_run][docs]")
{
    const auto train = blobs(400, 5);
    const auto validation = blobs(200, 6);
    const fs::path out = fresh("docs");
    SweepOptions options = quiet(2);
    // [docs/sweeps.md: make_trainer_run]
    // Any class meeting the Model requirement works; here the built-in MLP.
    auto make_model = [](std::uint64_t seed) { return xtrain::MLP<float>(seed, {6, 16, 3}); };

    xtrain::RunSettings settings;
    settings.budget = xtrain::Budget::epochs(3);
    settings.evals_per_epoch = 4;                 // finer steps-to-target
    settings.optimizer.momentum = 0.9;            // for "momentum", "nesterov", "lars"
    settings.warmup_epochs = 1.0;                 // linear warm-up, per step
    settings.scaling = xtrain::LrScaling::linear; // lr x B / B0 (Goyal et al.)
    settings.base_batch_size = 16;
    settings.noise_scale_every = 8;               // B_simple every 8 steps, one row per epoch
    settings.noise_scale_dir = out / "noise_scale";

    xtrain::SweepConfig config;
    config.grid = {{"sgd", "momentum", "adam"}, {0.01, 0.1}, {16, 64}, {1, 2}, {}};
    config.model = "mlp 6-16-3";
    config.dataset = "blobs";
    config.budget = settings.describe();
    config.target = xtrain::parse_target("val_accuracy=0.9");

    const xtrain::RunFunction fn = xtrain::make_trainer_run(train, &validation, make_model, settings);
    xtrain::run_sweep(config, out, fn, options);
    // [docs/sweeps.md: end]
    const ResultSet set = load_results(out);
    CHECK(set.runs.size() == 24);
    CHECK(set.missing().empty());
    CHECK(fs::exists(out / "noise_scale" / "run-23.csv"));
}

TEST_CASE("NoiseScaleMonitor finds the true noise scale of a linear regression at fixed parameters",
          "[experiment][trainer_run][noise]")
{
    // With lr = 0 the parameters stay at their initial values w0, so every measurement estimates
    // the same B_simple = tr(Sigma) / |G|^2, which the test computes exactly from the per-sample
    // gradients at w0 over the whole training set.
    datasets::LinearRegressionOptions o;
    o.num_samples = 8192;
    o.num_features = 8;
    o.noise_std = 0.5;
    o.seed = 3;
    const Dataset<double> data = datasets::linear_regression<double>(o).data;
    using Linear = MLP<double, ReLU, MSE>;
    Linear model(11, {8, 1});

    const std::size_t n = data.size();
    const std::size_t p = model.parameters().size();
    std::vector<double> mean(p, 0.0);
    double mean_sq_norm = 0.0;
    xt::xtensor<double, 1> g = model.parameters().zeros_like();
    for (std::size_t i = 0; i < n; ++i)
    {
        model.loss_and_gradient(data.rows(i, 1), g);
        double sq = 0.0;
        for (std::size_t j = 0; j < p; ++j)
        {
            mean[j] += g(j) / static_cast<double>(n);
            sq += g(j) * g(j);
        }
        mean_sq_norm += sq / static_cast<double>(n);
    }
    double g2 = 0.0;
    for (double v : mean)
    {
        g2 += v * v;
    }
    const double trace = mean_sq_norm - g2;
    const double truth = trace / g2;
    REQUIRE(truth > 1.0);

    // One pair's tr(Sigma) estimate is very noisy (regression gradients have heavy tails; its
    // relative spread over 3000 pairs is still about 6 %), so pool 16 data orders x 8 epochs.
    double sum_g2 = 0.0;
    double sum_tr = 0.0;
    std::size_t epochs = 0;
    for (std::uint64_t seed = 1; seed <= 16; ++seed)
    {
        SGD h;
        h.lr = 0.0;
        Trainer t(Linear(11, {8, 1}), Optimizer<SGD>(h), BatchSampler<dynamic>(n, 64, {true, false, seed}),
                  NoiseScaleMonitor<double>(1));
        t.fit(data, Budget::epochs(8));
        const auto& records = t.callback<0>().records();
        REQUIRE(records.size() == 8);
        for (const NoiseScaleRecord& r : records)
        {
            REQUIRE(r.measurements == 128);
            sum_g2 += r.grad_sq;
            sum_tr += r.trace_sigma;
            ++epochs;
        }
    }
    // 16384 pairs: standard errors about 0.5 % for |G|^2 and 2.5 % for tr(Sigma).
    CHECK(sum_g2 / static_cast<double>(epochs) == Approx(g2).epsilon(0.03));
    CHECK(sum_tr / static_cast<double>(epochs) == Approx(trace).epsilon(0.08));
    CHECK((sum_tr / sum_g2) == Approx(truth).epsilon(0.1));
}
