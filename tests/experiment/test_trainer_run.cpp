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
    CHECK(policy_name("adamw") == "AdamW lr=0.050000");  // saved as AdamW in a checkpoint
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
    auto decay = [&](std::string_view n) {
        return with_optimizer(n, 0.1, s, [](auto opt) -> std::pair<bool, double> {
            if constexpr (std::is_base_of_v<Adam, std::decay_t<decltype(opt.policy())>>)
            {
                return {opt.policy().decoupled_weight_decay, opt.policy().weight_decay};
            }
            else
            {
                return {false, -1.0};
            }
        });
    };
    // Unset, each keeps its own default: AdamW's is PyTorch's 0.01, not 0 (it would be Adam).
    CHECK(decay("adamw") == std::make_pair(true, 0.01));
    CHECK(decay("adam") == std::make_pair(false, 0.0));
    s.weight_decay = 0.05;
    CHECK(decay("adamw") == std::make_pair(true, 0.05));
    CHECK(decay("adam") == std::make_pair(false, 0.05));
    s.weight_decay.reset();
    CHECK_THROWS_WITH(policy_name("adamax"), Catch::Contains("unknown optimizer 'adamax'") && Catch::Contains("lamb"));
    for (std::string_view n : sweep_optimizer_names)
    {
        CHECK_NOTHROW(policy_name(n));
    }
}

TEST_CASE("with_batch_sampler uses a compile-time size when listed, else a dynamic one", "[experiment][trainer_run]")
{
    const SamplerOptions o = SamplerOptions::shuffled(3);
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
    // Training and validation from the same blobs: a trained model is well above chance (1/3).
    const auto split = train_validation_split(blobs(800, 1), 0.25, 7);
    const auto& data = split.train;
    const auto& val = split.validation;
    SweepConfig config;
    config.grid = SweepGrid().with_optimizers({"sgd", "adam"}).with_lrs({0.05, 500.0}).with_batch_sizes({16, 64}).with_seeds({1, 2});
    config.model = "mlp 6-8-3";
    config.dataset = "blobs";
    RunSettings settings;
    settings.budget = Budget::epochs(2);
    settings.evals_per_epoch = 3;
    config.target = parse_target("val_accuracy=0.7");
    const RunFunction fn = make_trainer_run(data, &val, mlp_factory(), settings);

    const fs::path whole = fresh("whole");
    const SweepReport r = run_sweep(config, whole, fn, quiet());
    CHECK(r.finished + r.diverged + r.stalled == 16);
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
        // The column repeats the run's outcome on each of its rows, as 0 or 1: SGD at lr 500
        // diverges (r.diverged == 4 below) and no other run does.
        CHECK(row[div] == (row[lr] == "500" && row[0] == "sgd" ? "1" : "0"));
        diverged_rows += row[div] == "1" ? 1 : 0;
        CHECK(std::stod(row[epoch]) <= 2.0);
    }
    CHECK(diverged_rows > 0);
    // Finished runs: a row before training, then 3 evaluation points per epoch over 2 epochs.
    for (const auto& [key, n] : rows_per_run)
    {
        if (key.find("500") == std::string::npos)
        {
            CHECK(n == 7);
        }
    }
    // SGD at lr 500 blows up (NaN within a few steps) at every batch size and seed. Adam's steps are
    // bounded by its rate: at lr 500 its loss is huge, yet it still separates the blobs, and a run
    // that ends that far above chance must not be stopped early (a single-batch rule would have).
    const auto summary = csv_rows(whole / "summary.csv");
    const std::size_t opt = column(summary.front(), "optimizer");
    const std::size_t status = column(summary.front(), "status");
    const std::size_t slr = column(summary.front(), "lr");
    const std::size_t acc = column(summary.front(), "val_accuracy");
    for (std::size_t i = 1; i < summary.size(); ++i)
    {
        const auto& row = summary[i];
        if (row[slr] == "500" && row[opt] == "sgd")
        {
            CHECK(row[status] == "diverged");
        }
        else
        {
            CHECK(row[status] == "finished");
            CHECK(std::stod(row[acc]) > 0.6);
        }
    }
    double adam_500_worst = 0.0;
    for (std::size_t i = 1; i < runs.size(); ++i)
    {
        if (runs[i][0] == "adam" && runs[i][lr] == "500" && runs[i][column(header, "step")] != "0")
        {
            adam_500_worst = std::max(adam_500_worst, std::stod(runs[i][column(header, "train_loss")]));
        }
    }
    CHECK(adam_500_worst > 100.0);
    CHECK(r.diverged == 4);
    CHECK(r.stalled == 0);

    // Stop after a few runs (as Ctrl-C does), then resume: the same rows as the whole sweep.
    const fs::path parts = fresh("stopped");
    std::atomic<int> calls{0};
    // Ctrl-C during the sixth run: the run gives up (as SweepReporter does when the sweep's stop
    // flag is set) and no new run starts.
    // wrap() keeps fn's grid check and settings (its part of the fingerprint).
    const RunFunction stopping = fn.wrap([&](const RunSpec& spec, EvalSink& sink) -> RunResult {
        if (++calls == 6)
        {
            throw sweep_interrupted("interrupted");
        }
        return fn(spec, sink);
    });
    SweepOptions o = quiet(1);
    const SweepReport first = run_sweep(config, parts, stopping, o);
    CHECK(first.interrupted);
    CHECK(first.not_run > 0);
    const SweepReport second = run_sweep(config, parts, fn, quiet());
    CHECK(first.finished + first.diverged + first.stalled == 5);
    CHECK(second.already_done == 5);
    CHECK(second.finished + second.diverged + second.stalled == 11);
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
    config.grid = SweepGrid().with_optimizers({"sgd"}).with_lrs({0.01}).with_batch_sizes({1, 7, 32, 96}).with_seeds({5});
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
    config.grid = SweepGrid().with_optimizers({"sgd"}).with_lrs({0.01}).with_batch_sizes({8, 32}).with_seeds({1});
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
    // After the warm-up epoch the rate is 0.01 x B / 8; during it, lower. The row before training
    // reports the rate of the first update: the warm-up's start, B0 / B of the scaled rate.
    CHECK(by_b[8].back().second == Approx(0.01).epsilon(1e-14));
    CHECK(by_b[32].back().second == Approx(0.04).epsilon(1e-14));
    REQUIRE(by_b[32].size() == 9);
    CHECK(by_b[32].front().first == 0.0);
    CHECK(by_b[32].front().second == Approx(0.01).epsilon(1e-14));
    CHECK(by_b[32][1].first < 1.0);
    CHECK(by_b[32][1].second < 0.04);
    CHECK(by_b[32][1].second > 0.01);

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
    config.grid = SweepGrid().with_optimizers({"sgd"}).with_lrs({0.01}).with_batch_sizes({1, 64}).with_seeds({1});
    RunSettings settings;
    settings.budget = Budget::epochs(3);
    settings.noise_scale_every = 2;
    settings.divergence.factor = 1000.0; // single-sample losses swing widely
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

    // The sweep gathers the per-run files into noise_scale.csv, in run order.
    const auto all = csv_rows(out / "noise_scale.csv");
    REQUIRE(all.size() == 1 + 3 + 3);
    CHECK(all[1][column(all.front(), "batch_size")] == "1");
    CHECK(all[4] == big[1]);
    const std::vector<NoiseScaleRow> rows = collect_noise_scale(out);
    CHECK(rows.size() == 6);
    const NoiseScaleMedians medians = noise_scale_medians(rows);
    REQUIRE(medians.count({"sgd", "", 64, 0.01}) == 1);
    CHECK(medians.count({"sgd", "", 1, 0.01}) == 0);  // no measurement at B = 1
    std::vector<double> epochs;
    for (std::size_t i = 1; i < big.size(); ++i)
    {
        epochs.push_back(std::stod(big[i][bs]));
    }
    CHECK(medians.at({"sgd", "", 64, 0.01}) == median(epochs));

    // Two shards merged carry their runs' files, under the merged grid's indices.
    std::vector<fs::path> shards;
    for (std::size_t k = 0; k < 2; ++k)
    {
        const fs::path shard = fresh("noise_shard" + std::to_string(k));
        RunSettings part = settings;
        part.noise_scale_dir = shard / "noise_scale";
        SweepOptions o = quiet(1);
        o.shard = ShardSpec{k, 2};
        run_sweep(config, shard, make_trainer_run(data, nullptr, mlp_factory(), part), o);
        shards.push_back(shard);
    }
    const fs::path merged = fresh("noise_merged");
    merge_results(shards, merged);
    CHECK(csv_rows(merged / "noise_scale.csv") == all);
    CHECK(csv_rows(merged / "noise_scale" / "run-1.csv") == big);

    // A per-run file that is not one is refused, naming it and the line.
    {
        std::ofstream bad(out / "noise_scale" / "run-1.csv", std::ios::app);
        bad << "sgd,0.01,64,1,,4,xx,1,1,1,3\n";
    }
    CHECK_THROWS_WITH(collect_noise_scale(out), Catch::Contains("run-1.csv line 5: column step"));
}

TEST_CASE("docs/sweeps.md: make_trainer_run", "[experiment][trainer_run][docs]")
{
    const auto train = blobs(400, 5);
    const auto validation = blobs(200, 6);
    const fs::path out = fresh("docs");
    SweepOptions options = quiet(2);
    #include "doc_snippets/sweeps-trainer-run.inc"
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
        Trainer t(Linear(11, {8, 1}), Optimizer<SGD>(h), BatchSampler<dynamic>(n, 64, SamplerOptions::shuffled(seed)),
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

namespace
{
    // A model without gradient_of_first(): NoiseScaleMonitor falls back to a half-batch pass.
    struct WithoutKeptPass
    {
        using value_type = double;
        MLP<double> inner;
        ParamBuffer<double>& parameters() { return inner.parameters(); }
        const ParamBuffer<double>& parameters() const { return inner.parameters(); }
        double loss_and_gradient(const Batch<double>& b, xt::xtensor<double, 1>& g) { return inner.loss_and_gradient(b, g); }
        double loss(const Batch<double>& b) { return inner.loss(b); }
    };

    // Placed before NoiseScaleMonitor: counts the updates at which the model still holds the
    // batch's backward pass, i.e. at which the monitor can take the kept path.
    struct KeptPassProbe
    {
        std::size_t held = 0;
        std::size_t updates = 0;
        template <class Tr, class B, class G>
        void on_gradient(Tr& t, const B& batch, const G&)
        {
            held += t.model().holds_backward_of(batch) ? 1U : 0U;
            ++updates;
        }
    };

    Dataset<double> noisy_blobs()
    {
        datasets::BlobsOptions o;
        o.num_samples = 400;
        o.num_features = 4;
        o.cluster_std = 4.0;
        o.seed = 8;
        return datasets::gaussian_blobs<double>(o);
    }
}

TEST_CASE("NoiseScaleMonitor measures the same from the batch's kept pass as from a half-batch pass",
          "[experiment][trainer_run][noise]")
{
    static_assert(has_gradient_of_first_v<MLP<double>> && !has_gradient_of_first_v<WithoutKeptPass>);
    const Dataset<double> data = noisy_blobs();
    for (std::size_t b : {2, 7, 32, 100})
    {
        INFO("B = " << b);
        SGD h;
        h.lr = 0.05;
        Trainer kept(MLP<double>(5, {data.feature_dim(), 16, data.num_classes}), Optimizer<SGD>(h),
                     BatchSampler<dynamic>(data.size(), b, SamplerOptions::shuffled(4)), KeptPassProbe{},
                     NoiseScaleMonitor<double>(1, 1));
        Trainer halves(WithoutKeptPass{MLP<double>(5, {data.feature_dim(), 16, data.num_classes})}, Optimizer<SGD>(h),
                       BatchSampler<dynamic>(data.size(), b, SamplerOptions::shuffled(4)), NoiseScaleMonitor<double>(1, 1));
        kept.fit(data, Budget::epochs(3));
        halves.fit(data, Budget::epochs(3));
        const auto& a = kept.callback<1>().records();
        CHECK(kept.callback<0>().updates > 0);
        CHECK(kept.callback<0>().held == kept.callback<0>().updates);
        const auto& r = halves.callback<0>().records();
        REQUIRE(a.size() == 3);
        REQUIRE(r.size() == 3);
        for (std::size_t e = 0; e < 3; ++e)
        {
            CHECK(a[e].measurements == r[e].measurements);
            CHECK(a[e].measurements > 0);
            CHECK(a[e].grad_sq == Approx(r[e].grad_sq).epsilon(1e-9));
            CHECK(a[e].trace_sigma == Approx(r[e].trace_sigma).epsilon(1e-9));
        }
        // Neither way of measuring changes the training itself.
        CHECK((kept.model().parameters().values() == halves.model().inner.parameters().values()));
    }
}

TEST_CASE("NoiseScaleMonitor leaves a model with dropout on the trajectory it takes without it",
          "[experiment][trainer_run][noise][dropout]")
{
    using Net = Sequential<double, Dense<>, ReLU, Dropout, Dense<>, SoftmaxCrossEntropy>;
    const Dataset<double> data = noisy_blobs();
    const std::size_t d = data.feature_dim();
    const auto make = [&] { return Net(6, Dense<>(d, 16), ReLU(), Dropout(0.3), Dense<>(16, data.num_classes), SoftmaxCrossEntropy()); };
    Adam h;
    h.lr = 0.01;
    Trainer measured(make(), Optimizer<Adam>(h), BatchSampler<dynamic>(data.size(), 16, SamplerOptions::shuffled(2)),
                     NoiseScaleMonitor<double>(1));
    Trainer plain(make(), Optimizer<Adam>(h), BatchSampler<dynamic>(data.size(), 16, SamplerOptions::shuffled(2)),
                  NoiseScaleMonitor<double>(0));
    measured.fit(data, Budget::epochs(2));
    plain.fit(data, Budget::epochs(2));
    REQUIRE(measured.callback<0>().records().size() == 2);
    CHECK(measured.callback<0>().records()[0].measurements > 0);
    CHECK((measured.model().parameters().values() == plain.model().parameters().values()));
}

TEST_CASE("Steps to target are resolved by going back to the last miss and bisecting",
          "[experiment][trainer_run]")
{
    // A linear classifier at a small rate: the validation loss falls steadily, so the first step
    // that meets the target is well defined. Evaluating after every update finds it directly.
    const auto split = train_validation_split(blobs(640, 4, 3.0), 0.25, 3);
    const auto linear = [](std::uint64_t seed) { return MLP<float>(seed, {6, 3}); };
    SweepConfig config;
    config.grid = SweepGrid().with_optimizers({"sgd"}).with_lrs({0.02}).with_batch_sizes({8, 32}).with_seeds({1});
    config.target = parse_target("val_loss=0.5");
    RunSettings dense;
    dense.budget = Budget::epochs(3);
    dense.evals_per_epoch = 60;  // after every update at B = 8 and at B = 32
    dense.target_precision = 0.0;
    const fs::path exact = fresh("bisect_dense");
    run_sweep(config, exact, make_trainer_run(split.train, &split.validation, linear, dense), quiet(1));
    RunSettings coarse = dense;
    coarse.evals_per_epoch = 1;
    coarse.target_precision = 1e-9;  // down to one step
    const fs::path found = fresh("bisect_coarse");
    run_sweep(config, found, make_trainer_run(split.train, &split.validation, linear, coarse), quiet(1));
    RunSettings rough = coarse;
    rough.target_precision = 0.0;  // evaluation resolution only
    const fs::path unresolved = fresh("bisect_off");
    run_sweep(config, unresolved, make_trainer_run(split.train, &split.validation, linear, rough), quiet(1));

    const ResultSet a = load_results(exact);
    const ResultSet b = load_results(found);
    const ResultSet c = load_results(unresolved);
    for (const std::size_t batch : {8, 32})
    {
        const RunKey key{"sgd", 0.02, batch, 1, ""};
        const RunSummary& sa = a.find(key)->summary;
        const RunSummary& sb = b.find(key)->summary;
        const RunSummary& sc = c.find(key)->summary;
        REQUIRE(sa.target_reached);
        REQUIRE(sb.target_reached);
        CHECK(sa.to_target.resolution == 1);
        CHECK(sb.to_target.step == sa.to_target.step);  // the same step, from 3 evaluations instead of 180
        CHECK(sb.to_target.resolution == 1);
        CHECK(sb.to_target.examples == sa.to_target.examples);
        CHECK(sb.to_target.epoch == Approx(sa.to_target.epoch));
        CHECK(std::isfinite(sb.refine_seconds));
        CHECK(b.find(key)->rows.size() == 4);  // the bisection adds no rows: step 0 and 3 epochs
        // Without it, the hit is the first epoch end at or after the target, known to an epoch.
        CHECK(sc.to_target.step >= sa.to_target.step);
        CHECK(sc.to_target.resolution > 1);
        CHECK(std::isnan(sc.refine_seconds));
        CHECK(std::isfinite(sc.eval_seconds));
    }
}

TEST_CASE("With early stopping off every run trains to the end, and the guard says where it would have stopped",
          "[experiment][trainer_run]")
{
    const auto split = train_validation_split(blobs(400, 5), 0.25, 5);
    SweepConfig config;
    config.grid = SweepGrid().with_optimizers({"sgd"}).with_lrs({0.05, 500.0}).with_batch_sizes({16}).with_seeds({1});
    RunSettings guarded;
    guarded.budget = Budget::epochs(3);
    RunSettings unguarded = guarded;
    unguarded.early_stopping = false;
    CHECK(guarded.describe() != unguarded.describe());  // the fingerprint tells the two apart
    CHECK_THAT(unguarded.describe(), Catch::Contains("no early stopping"));
    // So do settings that change what is written, not how runs train.
    RunSettings noise = guarded;
    noise.noise_scale_every = 8;
    CHECK_THAT(noise.describe(), Catch::Contains("gradient noise scale every 8 steps"));
    RunSettings provable = guarded;
    provable.divergence.stop_nearly_dead = false;
    CHECK(provable.describe() != guarded.describe());
    const fs::path g = fresh("guard_on");
    const fs::path u = fresh("guard_off");
    run_sweep(config, g, make_trainer_run(split.train, &split.validation, mlp_factory(), guarded), quiet(1));
    run_sweep(config, u, make_trainer_run(split.train, &split.validation, mlp_factory(), unguarded), quiet(1));
    const ResultSet a = load_results(g);
    const ResultSet b = load_results(u);
    const RunRecord* stopped = a.find(RunKey{"sgd", 500.0, 16, 1, ""});
    const RunRecord* twin = b.find(RunKey{"sgd", 500.0, 16, 1, ""});
    REQUIRE(stopped != nullptr);
    REQUIRE(twin != nullptr);
    CHECK(stopped->summary.status == RunOutcome::diverged);
    CHECK(stopped->summary.guard_step > 0);
    CHECK(stopped->summary.last.step == stopped->summary.guard_step);
    // The twin went on to the end of its budget (3 epochs of 19 updates), and says where the guard
    // would have stopped it: the same step, since the two are the same run up to there.
    CHECK(twin->summary.last.step == 57);
    CHECK(twin->summary.guard_step == stopped->summary.guard_step);
    CHECK_THAT(twin->summary.note, Catch::Contains("early stopping off: the guard would have stopped it at step"));
    CHECK(twin->summary.status == RunOutcome::diverged);  // its loss is still not finite at the end
    // A run that trains is the same run either way.
    const RunRecord* fine_a = a.find(RunKey{"sgd", 0.05, 16, 1, ""});
    const RunRecord* fine_b = b.find(RunKey{"sgd", 0.05, 16, 1, ""});
    CHECK(fine_a->summary.guard_step == 0);
    CHECK(fine_a->summary.last.val_accuracy == fine_b->summary.last.val_accuracy);
    CHECK(fine_a->summary.status == RunOutcome::finished);
}

TEST_CASE("A grid the run function cannot run is refused before anything is written", "[experiment][trainer_run]")
{
    const auto data = blobs(100, 6);
    RunSettings settings;
    settings.budget = Budget::epochs(1);
    const RunFunction fn = make_trainer_run(data, nullptr, mlp_factory(), settings);
    SweepConfig config;
    config.grid = SweepGrid().with_optimizers({"sgd", "SGD"}).with_lrs({0.1}).with_batch_sizes({16}).with_seeds({1});
    const fs::path out = fresh("refused_grid");
    CHECK_THROWS_WITH(run_sweep(config, out, fn, quiet(1)),
                      Catch::Contains("unknown optimizer 'SGD' (known: sgd, momentum, nesterov, adam, adamw"));
    CHECK_FALSE(fs::exists(out));
    config.grid.optimizers = {"sgd"};
    config.grid.schedules = {"Cosine"};
    CHECK_THROWS_WITH(run_sweep(config, out, fn, quiet(1)), Catch::Contains("unknown schedule 'Cosine'"));
    CHECK_FALSE(fs::exists(out));
    // A batch larger than the training set would run as the whole set, recorded under a size that never ran.
    config.grid.schedules.clear();
    config.grid.batch_sizes = {16, 101};
    CHECK_THROWS_WITH(run_sweep(config, out, fn, quiet(1)),
                      Catch::Contains("batch size 101 is larger than the training set (100 examples"));
    CHECK_FALSE(fs::exists(out));
    config.grid.batch_sizes = {100};  // the whole set is a batch size like any other
    CHECK(run_sweep(config, out, fn, quiet(1)).complete());
}

namespace
{
    // A user's own rule, written outside xtrain: signSGD (p -= lr * sign(g)), stateless, no decay.
    struct SignSGD
    {
        static constexpr const char* name = "SignSGD";
        double lr = 0.01;
        void validate() const {}
        template <class T>
        struct State
        {
            template <class F>
            void visit(F&&)
            {
            }
        };
        template <class T>
        void init(State<T>&, std::size_t) const
        {
        }
        template <class T>
        void update(State<T>&, const StepContext& ctx, T* params, const T* grads, std::size_t n) const
        {
            const T step = static_cast<T>(ctx.lr);
            for (std::size_t i = 0; i < n; ++i)
            {
                params[i] -= grads[i] > T(0) ? step : (grads[i] < T(0) ? -step : T(0));
            }
        }
    };
}

TEST_CASE("A user's own optimizers are swept by name beside xtrain's", "[experiment][trainer_run]")
{
    SGD slow;
    slow.momentum = 0.5;
    const auto mine = optimizer_set(sweep_optimizer("sign", SignSGD{}), sweep_optimizer("sgd-m05", slow));
    CHECK(mine.own_names() == std::vector<std::string>{"sign", "sgd-m05"});
    CHECK(mine.knows("sign"));
    CHECK(mine.knows("adam"));
    CHECK_FALSE(mine.knows("Sign"));
    // with_optimizer hands the user's policy, with its hyperparameters and the run's rate.
    OptimizerSettings s;
    const auto described = [&](std::string_view n) {
        return with_optimizer(n, 0.25, s, mine, [](auto opt) {
            std::string d = std::string(std::decay_t<decltype(opt.policy())>::name) + " lr=" + std::to_string(opt.lr());
            if constexpr (std::is_same_v<decltype(opt), Optimizer<SGD>>)
            {
                d += " momentum=" + std::to_string(opt.policy().momentum);
            }
            return d;
        });
    };
    CHECK(described("sign") == "SignSGD lr=0.250000");
    CHECK(described("sgd-m05") == "SGD lr=0.250000 momentum=0.500000");
    CHECK(described("sgd") == "SGD lr=0.250000 momentum=0.000000");
    CHECK_THROWS_WITH(described("lion"), Catch::Contains("unknown optimizer 'lion'") && Catch::Contains("lamb, sign, sgd-m05"));
    s.weight_decay = 0.1;
    CHECK_THROWS_WITH(described("sign"), Catch::Contains("optimizer 'sign' (policy SignSGD) has no weight_decay"));
    CHECK(described("sgd-m05") == "SGD lr=0.250000 momentum=0.500000");  // SGD has one
    // Names are unique, and xtrain's own stay xtrain's.
    CHECK_THROWS_WITH(optimizer_set(sweep_optimizer("adam", SignSGD{})), Catch::Contains("'adam' is one of xtrain's own"));
    CHECK_THROWS_WITH(optimizer_set(sweep_optimizer("a", SignSGD{}), sweep_optimizer("a", slow)),
                      Catch::Contains("the name 'a' is used twice"));
    CHECK_THROWS_WITH(sweep_optimizer("", SignSGD{}), Catch::Contains("the name is empty"));

    // A sweep over them: the user's rule trains, and an unknown name is refused before anything is written.
    const auto split = train_validation_split(blobs(600, 3), 0.25, 3);
    RunSettings settings;
    settings.budget = Budget::epochs(2);
    const RunFunction fn = make_trainer_run(split.train, &split.validation, mlp_factory(), settings, mine);
    SweepConfig config;
    config.grid = SweepGrid().with_optimizers({"sgd", "sign", "sgd-m05"}).with_lrs({0.01}).with_batch_sizes({16}).with_seeds({1});
    const fs::path out = fresh("user_optimizers");
    REQUIRE(run_sweep(config, out, fn, quiet(1)).complete());
    const ResultSet set = load_results(out);
    const auto acc = [&](const char* o) { return set.find(RunKey{o, 0.01, 16, 1, ""})->summary.last.val_accuracy; };
    CHECK(acc("sign") > 0.8);
    const auto loss = [&](const char* o) { return set.find(RunKey{o, 0.01, 16, 1, ""})->summary.last.val_loss; };
    CHECK(loss("sgd-m05") != loss("sgd"));  // momentum 0.5 is another trajectory
    config.grid.optimizers = {"sgd", "signsgd"};
    const fs::path refused = fresh("user_optimizers_refused");
    CHECK_THROWS_WITH(run_sweep(config, refused, fn, quiet(1)),
                      Catch::Contains("unknown optimizer 'signsgd'") && Catch::Contains("sign, sgd-m05"));
    CHECK_FALSE(fs::exists(refused));
}

namespace
{
    // The page's user policy: a sign-based rule under another name.
    struct Lion : SignSGD
    {
        static constexpr const char* name = "Lion";
    };
}

TEST_CASE("docs/sweeps.md: your own optimizers and schedules", "[experiment][trainer_run][docs]")
{
    const auto split = train_validation_split(blobs(400, 8), 0.25, 8);
    const auto& train = split.train;
    const auto& validation = split.validation;
    auto make_model = mlp_factory();
    RunSettings settings;
    settings.budget = Budget::epochs(1);
    #include "doc_snippets/sweeps-own-optimizers.inc"
    #include "doc_snippets/sweeps-own-schedule.inc"
    SweepConfig config;
    config.grid = SweepGrid().with_optimizers({"sgd", "lion", "adam-b2"}).with_lrs({0.01}).with_batch_sizes({16}).with_seeds({1});
    const fs::path out = fresh("docs_optimizers");
    CHECK(run_sweep(config, out, fn, quiet(1)).complete());
    config.grid.schedules = {"constant", "cosine", "inverse-sqrt"};
    const fs::path out2 = fresh("docs_schedules");
    CHECK(run_sweep(config, out2, make_trainer_run(train, &validation, make_model, settings, mine), quiet(1)).complete());
    const ResultSet set = load_results(out2);
    const EvalRow& last = set.find(RunKey{"lion", 0.01, 16, 1, "inverse-sqrt"})->rows.back();
    CHECK(last.lr_in_effect == Approx(0.01 / std::sqrt(1.0 + static_cast<double>(last.step - 1))));
}

TEST_CASE("Each run follows the schedule its cell names, and lr_in_effect shows it", "[experiment][trainer_run]")
{
    const auto split = train_validation_split(blobs(640, 4), 0.25, 4);  // 480 training examples
    RunSettings settings;
    settings.budget = Budget::epochs(4);  // 30 updates an epoch at B = 16: T = 120
    settings.evals_per_epoch = 2;
    settings.schedules["halving"] = [](const ScheduleContext& c) {
        return SweepSchedule([lr = c.lr, e = c.steps_per_epoch](std::size_t t) { return lr * std::pow(0.5, static_cast<double>(t / e)); });
    };
    const RunFunction fn = make_trainer_run(split.train, &split.validation, mlp_factory(), settings);
    SweepConfig config;
    config.grid = SweepGrid()
                      .with_optimizers({"sgd"})
                      .with_lrs({0.2})
                      .with_batch_sizes({16})
                      .with_seeds({1})
                      .with_schedules({"constant", "cosine", "linear", "step", "halving"});
    const fs::path out = fresh("schedules");
    REQUIRE(run_sweep(config, out, fn, quiet(2)).complete());
    const ResultSet set = load_results(out);
    // lr_in_effect at step s is the rate of the last update, the schedule's value at index s - 1
    // (at step 0, the rate of the first update).
    const auto lrs = [&](const char* schedule) {
        std::vector<std::pair<std::uint64_t, double>> out;
        for (const EvalRow& r : set.find(RunKey{"sgd", 0.2, 16, 1, schedule})->rows)
        {
            out.emplace_back(r.step == 0 ? 0 : r.step - 1, r.lr_in_effect);
        }
        return out;
    };
    const double pi = 3.14159265358979323846;
    for (const auto& [step, lr] : lrs("constant"))
    {
        CHECK(lr == Approx(0.2));
    }
    for (const auto& [step, lr] : lrs("cosine"))
    {
        CHECK(lr == Approx(0.1 * (1.0 + std::cos(pi * static_cast<double>(step) / 120.0))).margin(1e-12));
    }
    for (const auto& [step, lr] : lrs("linear"))
    {
        CHECK(lr == Approx(0.2 * (1.0 - static_cast<double>(step) / 120.0)).margin(1e-12));
    }
    for (const auto& [step, lr] : lrs("step"))
    {
        CHECK(lr == Approx(step < 60 ? 0.2 : (step < 90 ? 0.02 : 0.002)));
    }
    for (const auto& [step, lr] : lrs("halving"))
    {
        CHECK(lr == Approx(0.2 * std::pow(0.5, static_cast<double>(step / 30))));
    }
    CHECK(lrs("cosine").back().first == 119);  // the last update of T = 120, at a rate near 0
    CHECK(lrs("cosine").back().second < 1e-4);
    // A name neither xtrain nor the settings know is refused up front, listing the known ones.
    config.grid.schedules = {"constant", "cosine-restarts"};
    const fs::path refused = fresh("schedules_refused");
    CHECK_THROWS_WITH(run_sweep(config, refused, fn, quiet(1)),
                      Catch::Contains("unknown schedule 'cosine-restarts' (known: constant, cosine, linear, step, halving)"));
    CHECK_FALSE(fs::exists(refused));
    // A user's schedule may not take one of xtrain's names.
    RunSettings clash;
    clash.schedules["cosine"] = [](const ScheduleContext& c) { return SweepSchedule(FixedLR(c.lr)); };
    CHECK_THROWS_WITH(clash.validate(), Catch::Contains("'cosine' is one of xtrain's own schedules"));
}

TEST_CASE("The run function's settings enter the fingerprint without being copied by hand", "[experiment][trainer_run]")
{
    const auto data = blobs(200, 5);
    RunSettings settings;
    settings.budget = Budget::epochs(1);
    SweepConfig config;
    config.grid = SweepGrid().with_optimizers({"sgd"}).with_lrs({0.1}).with_batch_sizes({16}).with_seeds({1});
    const fs::path out = fresh("settings_fingerprint");
    REQUIRE(run_sweep(config, out, make_trainer_run(data, nullptr, mlp_factory(), settings), quiet(1)).complete());
    CHECK(read_meta(out / "meta.json").config.budget == settings.describe({"sgd"}));
    // Resuming with another budget is refused, naming it, although config.budget was never set.
    RunSettings longer = settings;
    longer.budget = Budget::epochs(2);
    CHECK_THROWS_WITH(run_sweep(config, out, make_trainer_run(data, nullptr, mlp_factory(), longer), quiet(1)),
                      Catch::Contains("holds the results of a different sweep") && Catch::Contains("budget"));
    // A budget text that contradicts the run function's settings is refused before anything is written.
    config.budget = "epochs=7";
    const fs::path other = fresh("settings_contradicted");
    CHECK_THROWS_WITH(run_sweep(config, other, make_trainer_run(data, nullptr, mlp_factory(), settings), quiet(1)),
                      Catch::Contains("config.budget says \"epochs=7\" but the run function's settings are"));
    CHECK_FALSE(fs::exists(other));
}

TEST_CASE("A test set scores every run's final model", "[experiment][trainer_run]")
{
    const auto all = blobs(600, 7);
    const auto split = train_validation_split(all, 0.2, 7);
    const auto test = blobs(150, 7);  // the same blobs (same seed), other draws would be a new set
    SweepConfig config;
    config.grid = SweepGrid().with_optimizers({"sgd"}).with_lrs({0.05, 500.0}).with_batch_sizes({16}).with_seeds({1});
    RunSettings settings;
    settings.budget = Budget::epochs(2);
    const fs::path out = fresh("test_split");
    run_sweep(config, out, make_trainer_run(split.train, &split.validation, mlp_factory(), settings, BatchSizes<>{}, &test),
              quiet(1));
    const ResultSet set = load_results(out);
    const RunSummary& good = set.find(RunKey{"sgd", 0.05, 16, 1, ""})->summary;
    const RunSummary& bad = set.find(RunKey{"sgd", 500.0, 16, 1, ""})->summary;
    CHECK(good.test_accuracy > 0.8);
    CHECK(std::isfinite(good.test_loss));
    CHECK(bad.status == RunOutcome::diverged);
    CHECK(std::isnan(bad.test_accuracy));
    CHECK(csv_rows(out / "summary.csv").front()[column(csv_rows(out / "summary.csv").front(), "test_accuracy")]
          == "test_accuracy");
}

TEST_CASE("Self-check: the guard stops no run that would have trained, and saves most of the hopeless ones' compute",
          "[experiment][trainer_run][guard]")
{
    // Rates from good to hopeless; small batches make single-batch losses swing (one confidently
    // wrong sample), which must never be enough.
    const auto split = train_validation_split(blobs(720, 8, 3.0), 1.0 / 6.0, 8);
    SweepConfig config;
    config.grid = SweepGrid().with_optimizers({"sgd", "adam"}).with_lrs({0.03, 0.3, 3.0, 30.0, 300.0}).with_batch_sizes({4, 32}).with_seeds({1, 2});
    RunSettings settings;
    settings.budget = Budget::epochs(6);
    settings.evals_per_epoch = 4;
    const fs::path g = fresh("selfcheck_guarded");
    const fs::path u = fresh("selfcheck_unguarded");
    run_sweep(config, g, make_trainer_run(split.train, &split.validation, mlp_factory(), settings), quiet());
    settings.early_stopping = false;
    run_sweep(config, u, make_trainer_run(split.train, &split.validation, mlp_factory(), settings), quiet());
    const double chance = chance_accuracy(split.validation);
    CHECK(chance >= 1.0 / 3.0);  // the share of the validation set's most common class
    CHECK(chance < 0.5);
    const GuardCheckReport rep = check_guard(load_results(g), load_results(u), chance);
    write_guard_check_csv(g / "self_check.csv", rep);
    INFO(describe_guard_check(rep));
    CHECK(rep.pairs == 40);
    CHECK(rep.stopped > 0);
    CHECK(rep.false_stops == 0);
    CHECK(rep.step_mismatches == 0);
    CHECK(rep.passed());
    CHECK(rep.hopeless > 0);
    CHECK(rep.hopeless_saved > 0.5);
    CHECK(csv_rows(g / "self_check.csv").size() == 1 + rep.stopped);
    CHECK_THAT(describe_guard_check(rep), Catch::Contains("PASSED"));
}
