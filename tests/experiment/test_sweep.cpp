// Tests of the sweep engine (include/xtrain/experiment): grid and run identity, shards, targets,
// meta.json and the fingerprint, the runner with a fake run function (no Trainer), the result
// files, resume and repair after a kill, shards merged against a whole sweep, and the figures.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "xtrain/core/blas_threads.hpp"
#include "xtrain/core/random.hpp"
#include "xtrain/experiment.hpp"
#include "xtrain/experiment/render.hpp"
#include "support/skip.hpp"

#if defined(__unix__)
#include <csignal>
#include <sys/wait.h>
#include <unistd.h>
#endif

using namespace xtrain;
namespace fs = std::filesystem;

namespace
{
    // A fresh, empty folder per test case (ctest runs test cases in parallel processes).
    fs::path fresh_dir(const std::string& name)
    {
        const fs::path p = fs::path(XTRAIN_TEST_TMP_DIR) / ("experiment_" + name);
        fs::remove_all(p);
        return p;
    }

    std::string read_text(const fs::path& p)
    {
        std::ifstream in(p, std::ios::binary);
        std::ostringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }

    void write_text(const fs::path& p, const std::string& s)
    {
        std::ofstream out(p, std::ios::binary | std::ios::trunc);
        out << s;
    }

    std::vector<std::string> lines_of(const fs::path& p)
    {
        std::vector<std::string> out;
        std::istringstream in(read_text(p));
        std::string line;
        while (std::getline(in, line))
        {
            out.push_back(line);
        }
        return out;
    }

    std::vector<std::string> split(const std::string& line)
    {
        std::vector<std::string> f;
        REQUIRE(detail::split_csv_line(line, f));
        return f;
    }

    std::size_t column(const std::string& header, const std::string& name)
    {
        const auto names = split(header);
        const auto it = std::find(names.begin(), names.end(), name);
        REQUIRE(it != names.end());
        return static_cast<std::size_t>(it - names.begin());
    }

    // The lines of a CSV file with the named (timing) columns blanked: what two runs of the same
    // deterministic sweep must agree on.
    std::vector<std::string> without_columns(const fs::path& p, const std::set<std::string>& drop)
    {
        const auto lines = lines_of(p);
        REQUIRE(!lines.empty());
        const auto header = split(lines[0]);
        std::vector<std::string> out;
        for (const auto& line : lines)
        {
            auto f = split(line);
            std::string joined;
            for (std::size_t i = 0; i < f.size(); ++i)
            {
                joined += (i ? "," : "") + (drop.count(header[i]) && &line != &lines[0] ? std::string("*") : f[i]);
            }
            out.push_back(joined);
        }
        return out;
    }

    // A stand-in for training whose outcome depends on (optimizer, lr, batch size, seed) the way the
    // literature says: the best SGD lr grows linearly with B, Adam's as sqrt(B); too large an lr
    // diverges; the data order (and its noise) depends on the seed alone.
    struct FakeTraining
    {
        std::size_t train_size = 256;
        std::size_t epochs = 3;

        static double best_lr(const RunSpec& s)
        {
            const double r = static_cast<double>(s.batch_size) / 16.0;
            return s.optimizer == "adam" ? 0.001 * std::sqrt(r) : 0.05 * r;
        }

        static bool diverges(const RunSpec& s) { return s.lr > std::min(4.0 * best_lr(s), 0.5); }

        RunResult operator()(const RunSpec& s, EvalSink& sink) const
        {
            // Paired sampling: the "data order" comes from the seed only.
            Rng order = derive_rng(s.seed, RngStream::shuffle, 0);
            const double seed_noise = 0.004 * (order.uniform() - 0.5);
            const double miss = std::log(s.lr / best_lr(s));
            const double final_acc = std::max(0.1, 0.9 - 0.05 * miss * miss + seed_noise);
            const std::size_t steps_per_epoch = train_size / s.batch_size;
            const double b = static_cast<double>(s.batch_size);
            // Steps to a given progress follow S(B) = S_min (1 + B_noise / B) with B_noise = 32.
            auto progress_at = [&](std::size_t step) {
                return 1.0 - std::exp(-static_cast<double>(step) / (3.0 * (1.0 + 32.0 / b)));
            };
            bool reached = false;
            for (std::size_t e = 1; e <= epochs; ++e)
            {
                // The target, checked after every step (as a run function may), is reported exactly.
                for (std::size_t k = (e - 1) * steps_per_epoch + 1; k <= e * steps_per_epoch && !reached; ++k)
                {
                    if (!(diverges(s) && e >= 2) && sink.target().met(0.1 + (final_acc - 0.1) * progress_at(k)))
                    {
                        reached = true;
                        sink.target_reached(TargetHit{static_cast<double>(k) / static_cast<double>(steps_per_epoch), k,
                                                      k * s.batch_size, sink.elapsed_seconds()});
                    }
                }
                EvalRow row;
                row.epoch = static_cast<double>(e);
                row.step = e * steps_per_epoch;
                row.examples_seen = e * train_size;
                row.lr_in_effect = s.lr;
                row.wall_seconds = sink.elapsed_seconds();
                if (diverges(s) && e == 2)
                {
                    row.train_loss = std::numeric_limits<double>::infinity();
                    row.val_loss = std::numeric_limits<double>::quiet_NaN();
                    row.val_accuracy = 0.1;
                    sink.record(row);
                    return RunResult::diverged("loss inf at epoch 2");
                }
                const double progress = progress_at(e * steps_per_epoch);
                row.train_loss = 2.3 * std::exp(-1.5 * progress * (final_acc - 0.1)) + 0.01 * s.lr;
                row.val_loss = row.train_loss * 1.05;
                row.val_accuracy = 0.1 + (final_acc - 0.1) * progress;
                sink.record(row);
            }
            return RunResult::finished();
        }
    };

    SweepConfig small_config()
    {
        SweepConfig c;
        c.grid.optimizers = {"sgd", "adam"};
        c.grid.lrs = {0.001, 0.01, 0.1, 1.0};
        c.grid.batch_sizes = {16, 64};
        c.grid.seeds = {0, 1};
        c.model = "fake";
        c.dataset = "fake, 256 examples";
        c.budget = "epochs=3";
        c.target = parse_target("val_accuracy=0.6");
        return c;
    }

    SweepOptions quiet_options(std::size_t jobs = 2)
    {
        SweepOptions o;
        o.jobs = jobs;
        o.log = nullptr;
        return o;
    }

    std::size_t expected_rows(const SweepConfig& c, const FakeTraining& t)
    {
        std::size_t n = 0;
        for (const auto& s : c.grid.expand())
        {
            n += FakeTraining::diverges(s) ? 2 : t.epochs;
        }
        return n;
    }
}

// ------------------------------------------------------------------------------------------------
// Grid, shards, targets
// ------------------------------------------------------------------------------------------------

TEST_CASE("The grid expands in a stable order and maps keys back to indices", "[experiment][grid]")
{
    SweepGrid g;
    g.optimizers = {"sgd", "adam"};
    g.lrs = {0.1, 0.01, 1.0};
    g.batch_sizes = {32, 128};
    g.seeds = {7, 3};
    CHECK(g.size() == 24);
    const auto runs = g.expand();
    REQUIRE(runs.size() == 24);
    // lr innermost, then batch size, optimizer, schedule, seed outermost.
    CHECK(runs[0].key() == RunKey{"sgd", 0.1, 32, 7, ""});
    CHECK(runs[1].key() == RunKey{"sgd", 0.01, 32, 7, ""});
    CHECK(runs[3].key() == RunKey{"sgd", 0.1, 128, 7, ""});
    CHECK(runs[6].key() == RunKey{"adam", 0.1, 32, 7, ""});
    CHECK(runs[12].key() == RunKey{"sgd", 0.1, 32, 3, ""});
    CHECK(runs[23].key() == RunKey{"adam", 1.0, 128, 3, ""});
    std::set<RunKey> keys;
    for (std::size_t i = 0; i < runs.size(); ++i)
    {
        CHECK(runs[i].index == i);
        CHECK(g.index_of(runs[i].key()) == i);
        CHECK(g.lrs[runs[i].lr_index] == runs[i].lr);
        CHECK(g.batch_sizes[runs[i].batch_index] == runs[i].batch_size);
        keys.insert(runs[i].key());
    }
    CHECK(keys.size() == 24);
    CHECK(g.index_of(RunKey{"sgd", 0.2, 32, 7, ""}) == g.size());
    CHECK(g.index_of(RunKey{"sgd", 0.1, 32, 7, "warmup"}) == g.size());
    CHECK(runs[5].key().str() == "sgd lr=1 B=128 seed=7");

    g.schedules = {"const", "warmup"};
    CHECK(g.size() == 48);
    const RunSpec r = g.at(7);  // seed 0, schedule 0, optimizer 1 ("adam"), B 32, lr 0.01
    CHECK(r.key() == RunKey{"adam", 0.01, 32, 7, "const"});
    CHECK(g.at(13).key() == RunKey{"sgd", 0.01, 32, 7, "warmup"});
    CHECK(g.index_of(g.at(19).key()) == 19);
    CHECK(g.at(13).key().str() == "sgd/warmup lr=0.01 B=32 seed=7");
}

TEST_CASE("The grid rejects empty lists, repeats and unusable names", "[experiment][grid]")
{
    SweepGrid g;
    g.optimizers = {"sgd"};
    g.lrs = {0.1};
    g.batch_sizes = {32};
    g.seeds = {0};
    CHECK_NOTHROW(g.validate());
    auto bad = [&](auto edit, const std::string& needle) {
        SweepGrid h = g;
        edit(h);
        CHECK_THROWS_WITH(h.validate(), Catch::Contains(needle));
    };
    bad([](SweepGrid& h) { h.lrs.clear(); }, "lrs must not be empty");
    bad([](SweepGrid& h) { h.seeds.clear(); }, "seeds must not be empty");
    bad([](SweepGrid& h) { h.lrs = {0.1, -1.0}; }, "lr must be finite and > 0 (got -1)");
    bad([](SweepGrid& h) { h.lrs = {0.1, 0.1}; }, "lrs must not repeat a value (got 0.1");
    bad([](SweepGrid& h) { h.batch_sizes = {0}; }, "batch_size must be > 0");
    bad([](SweepGrid& h) { h.optimizers = {"s,gd"}; }, "optimizer name must be non-empty, without commas");
    bad([](SweepGrid& h) { h.schedules = {"a\"b"}; }, "schedule label");
    CHECK_THROWS_AS(g.at(1), std::invalid_argument);
}

TEST_CASE("parse_shard reads K/N and names what is wrong", "[experiment][shard]")
{
    const ShardSpec s = parse_shard("2/5");
    CHECK(s.index == 2);
    CHECK(s.count == 5);
    CHECK(s.str() == "2/5");
    CHECK(s.contains(7));
    CHECK_FALSE(s.contains(8));
    CHECK(parse_shard("0/1").whole());
    CHECK_THROWS_WITH(parse_shard("3/3"), Catch::Contains("must have K < N") && Catch::Contains("\"3/3\""));
    CHECK_THROWS_WITH(parse_shard("1/0"), Catch::Contains("N >= 1"));
    CHECK_THROWS_WITH(parse_shard("1"), Catch::Contains("must be K/N"));
    CHECK_THROWS_AS(parse_shard("a/2"), std::invalid_argument);
    CHECK_THROWS_AS(parse_shard("-1/2"), std::invalid_argument);
    CHECK_THROWS_AS(parse_shard("1/2/3"), std::invalid_argument);
    CHECK_THROWS_AS(parse_shard(" 1/2"), std::invalid_argument);
    CHECK_THROWS_AS((ShardSpec{4, 2}.validate()), std::invalid_argument);
    // The shards of N partition the indices.
    for (std::size_t i = 0; i < 20; ++i)
    {
        int owners = 0;
        for (std::size_t k = 0; k < 3; ++k)
        {
            owners += ShardSpec{k, 3}.contains(i) ? 1 : 0;
        }
        CHECK(owners == 1);
    }
}

TEST_CASE("parse_target reads accuracy and loss targets", "[experiment][target]")
{
    const Target a = parse_target("val_accuracy=0.85");
    CHECK(a.metric == TargetMetric::val_accuracy);
    CHECK(a.value == 0.85);
    CHECK(a.met(0.85));
    CHECK_FALSE(a.met(0.84));
    CHECK_FALSE(a.met(std::nan("")));
    CHECK(a.str() == "val_accuracy>=0.85");
    CHECK(parse_target(a.str()) == a);
    const Target l = parse_target("val_loss<=0.3");
    CHECK(l.met(0.3));
    CHECK_FALSE(l.met(0.31));
    CHECK(parse_target("train_loss=1e-2").value == 0.01);
    CHECK_FALSE(parse_target("none").enabled());
    CHECK_FALSE(parse_target("").enabled());
    CHECK_FALSE(Target{}.met(0.0));
    CHECK_THROWS_WITH(parse_target("accuracy=0.9"), Catch::Contains("val_accuracy, val_loss or train_loss"));
    CHECK_THROWS_WITH(parse_target("val_loss>=0.3"), Catch::Contains("compares the wrong way"));
    CHECK_THROWS_WITH(parse_target("val_loss=abc"), Catch::Contains("finite number"));
    CHECK_THROWS_AS(parse_target("val_loss=inf"), std::invalid_argument);
    CHECK_THROWS_AS(parse_target("0.9"), std::invalid_argument);
}

// ------------------------------------------------------------------------------------------------
// Text formats
// ------------------------------------------------------------------------------------------------

TEST_CASE("Numbers are written short and read back exactly", "[experiment][format]")
{
    CHECK(detail::format_double(0.1) == "0.1");
    CHECK(detail::format_double(3e-4) == "3e-04");
    CHECK(detail::format_double(std::nan("")) == "nan");
    CHECK(detail::format_double(-std::numeric_limits<double>::infinity()) == "-inf");
    Rng r(3);
    for (int i = 0; i < 2000; ++i)
    {
        const double v = std::ldexp(r.uniform() - 0.5, static_cast<int>(r.uniform_index(200)) - 100);
        double back = 0.0;
        REQUIRE(detail::parse_double(detail::format_double(v), back));
        CHECK(back == v);
    }
    double x = 0.0;
    CHECK_FALSE(detail::parse_double("0.1x", x));
    CHECK_FALSE(detail::parse_double("", x));
    CHECK(detail::parse_double("inf", x));
    CHECK(std::isinf(x));
    std::uint64_t u = 0;
    CHECK(detail::parse_uint("18446744073709551615", u));
    CHECK(u == 18446744073709551615ULL);
    CHECK_FALSE(detail::parse_uint("18446744073709551616", u));
    CHECK_FALSE(detail::parse_uint("-1", u));
}

TEST_CASE("CSV fields are quoted when needed and split back", "[experiment][format]")
{
    const std::string msg = "bad \"lr\", really\nsecond line";
    const std::string line = "a," + detail::csv_field(msg) + ",,b,";
    std::vector<std::string> f;
    REQUIRE(detail::split_csv_line(line, f));
    REQUIRE(f.size() == 5);
    CHECK(f[1] == "bad \"lr\", really second line");
    CHECK(f[2].empty());
    CHECK(f[4].empty());
    CHECK_FALSE(detail::split_csv_line("a,\"open", f));
    CHECK_FALSE(detail::split_csv_line("a,\"x\"y", f));
    CHECK_FALSE(detail::split_csv_line("a,b\"c", f));
}

TEST_CASE("meta.json round-trips the configuration and the fingerprint tracks it", "[experiment][meta]")
{
    const fs::path dir = fresh_dir("meta");
    fs::create_directories(dir);
    SweepConfig c = small_config();
    c.grid.seeds = {0, 18446744073709551615ULL};
    c.grid.lrs = {3e-4, 0.1, 1.0 / 3.0};
    c.grid.schedules = {"const", "warm up"};
    c.model = "mlp \"784-256-10\"\twith\\tabs\nand lines";
    c.notes["command"] = "lr_batch_sweep --jobs 2";
    SweepMeta m;
    m.config = c;
    m.xtrain_version = "0.1.0";
    m.compiler = compiler_description();
    m.written_by = "test";
    write_text(dir / "meta.json", meta_to_json(m));
    const SweepMeta back = read_meta(dir / "meta.json");
    CHECK(back.config.fingerprint() == c.fingerprint());
    CHECK(back.fingerprint == c.fingerprint());
    CHECK(back.config.grid.lrs == c.grid.lrs);
    CHECK(back.config.grid.seeds == c.grid.seeds);
    CHECK(back.config.grid.schedules == c.grid.schedules);
    CHECK(back.config.model == c.model);
    CHECK(back.config.target == c.target);
    CHECK(back.config.notes == c.notes);
    CHECK(back.compiler == compiler_description());
    CHECK(c.fingerprint().size() == 16);

    // Every field that shapes the results changes the fingerprint; notes and order-free text do not.
    auto differs = [&](auto edit) {
        SweepConfig d = c;
        edit(d);
        return d.fingerprint() != c.fingerprint();
    };
    CHECK(differs([](SweepConfig& d) { d.grid.lrs[0] = 3.1e-4; }));
    CHECK(differs([](SweepConfig& d) { std::swap(d.grid.lrs[0], d.grid.lrs[1]); }));  // indices change
    CHECK(differs([](SweepConfig& d) { d.grid.batch_sizes.push_back(256); }));
    CHECK(differs([](SweepConfig& d) { d.grid.seeds[1] = 2; }));
    CHECK(differs([](SweepConfig& d) { d.grid.optimizers[0] = "sgdm"; }));
    CHECK(differs([](SweepConfig& d) { d.grid.schedules.clear(); }));
    CHECK(differs([](SweepConfig& d) { d.model += " "; }));
    CHECK(differs([](SweepConfig& d) { d.dataset = "other"; }));
    CHECK(differs([](SweepConfig& d) { d.budget = "epochs=4"; }));
    CHECK(differs([](SweepConfig& d) { d.target = parse_target("val_accuracy=0.7"); }));
    CHECK_FALSE(differs([](SweepConfig& d) { d.notes["host"] = "x"; }));

    // A hand-edited meta.json is refused.
    std::string text = read_text(dir / "meta.json");
    const auto pos = text.find("\"budget\": \"epochs=3\"");
    REQUIRE(pos != std::string::npos);
    text.replace(pos, 20, "\"budget\": \"epochs=9\"");
    write_text(dir / "meta.json", text);
    CHECK_THROWS_WITH(read_meta(dir / "meta.json"), Catch::Contains("was edited"));
    write_text(dir / "meta.json", "{\"format\": \"other\"}");
    CHECK_THROWS_WITH(read_meta(dir / "meta.json"), Catch::Contains("not an xtrain sweep"));
    write_text(dir / "meta.json", "{\"format\": \"xtrain-sweep\", ");
    CHECK_THROWS_WITH(read_meta(dir / "meta.json"), Catch::Contains("not valid JSON"));
}

// ------------------------------------------------------------------------------------------------
// The sweep end to end with a fake run function
// ------------------------------------------------------------------------------------------------

TEST_CASE("A small sweep writes tidy runs.csv, summary.csv, the per-batch tables and meta.json",
          "[experiment][sweep]")
{
    const fs::path dir = fresh_dir("small");
    const SweepConfig c = small_config();
    const FakeTraining fake;
    const SweepReport rep = run_sweep(c, dir, fake, quiet_options(2));
    CHECK(rep.grid_runs == 32);
    CHECK(rep.shard_runs == 32);
    CHECK(rep.already_done == 0);
    CHECK(rep.finished + rep.diverged == 32);
    CHECK(rep.diverged == 16);  // sgd at lr 1; adam at lr 0.01, 0.1 and 1
    CHECK(rep.failed == 0);
    CHECK(rep.complete());
    CHECK_FALSE(rep.interrupted);

    const auto runs = lines_of(dir / "runs.csv");
    REQUIRE(!runs.empty());
    CHECK(runs[0]
          == "optimizer,lr,batch_size,seed,epoch,step,examples_seen,train_loss,val_loss,val_accuracy,"
             "lr_in_effect,wall_seconds,diverged,schedule");
    CHECK(runs.size() == 1 + expected_rows(c, fake));
    for (std::size_t i = 1; i < runs.size(); ++i)
    {
        CHECK(split(runs[i]).size() == 14);
    }
    // One row: sgd, lr 0.001, B 16, seed 0, epoch 1: 16 steps, 256 examples, lr_in_effect 0.001.
    const auto first = split(runs[1]);
    CHECK(first[0] == "sgd");
    CHECK(first[1] == "0.001");
    CHECK(first[2] == "16");
    CHECK(first[3] == "0");
    CHECK(first[4] == "1");
    CHECK(first[5] == "16");
    CHECK(first[6] == "256");
    CHECK(first[10] == "0.001");
    CHECK(first[12] == "0");
    CHECK(first[13].empty());

    const auto summary = lines_of(dir / "summary.csv");
    CHECK(summary.size() == 33);
    CHECK(split(summary[0]).size() == 34);
    CHECK(split(summary[0]).back() == "checksum");
    CHECK(split(summary[1]).back().size() == 8);
    const auto by_batch = lines_of(dir / "summary_by_batch.csv");
    CHECK(by_batch.size() == 1 + 4);  // (sgd, adam) x (16, 64)
    CHECK(lines_of(dir / "fits.csv").size() == 1 + 2);
    CHECK(lines_of(dir / "failures.csv").size() == 1);
    const SweepMeta meta = read_meta(dir / "meta.json");
    CHECK(meta.fingerprint == c.fingerprint());
    CHECK(meta.xtrain_version == version_string);
    CHECK(meta.written_by == "sweep, shard 0/1");
    CHECK(read_text(dir / "meta.json").find("\"runs_in_grid\": 32") != std::string::npos);

    // Reading back gives the same values as the fake produced.
    const ResultSet set = load_results(dir);
    REQUIRE(set.runs.size() == 32);
    CHECK(set.missing().empty());
    const RunRecord* r = set.find(RunKey{"sgd", 0.1, 64, 1, ""});
    REQUIRE(r != nullptr);
    CHECK(r->rows.size() == 3);
    CHECK(r->summary.status == RunOutcome::finished);
    CHECK(r->summary.eval_rows == 3);
    CHECK(r->summary.target_reached);
    // The fake checks the target after every step: met at step 5 of 4 per epoch, exactly (resolution 1),
    // before the evaluation at step 8 that shows it.
    CHECK(r->summary.to_target.epoch == 1.25);
    CHECK(r->summary.to_target.step == 5);
    CHECK(r->summary.to_target.examples == 320);
    CHECK(r->summary.to_target.resolution == 1);
    CHECK_FALSE(r->summary.to_target.resolution_limited());
    CHECK(r->rows[1].step == 8);
    CHECK(r->rows[1].val_accuracy >= 0.6);
    CHECK(r->rows[0].val_accuracy < 0.6);
    CHECK(r->rows[2].step == 12);

    // Analysis over the folder: SGD's best lr per batch size follows the fake's optimum.
    const auto table = summarize_by_batch(set.summaries(), Metric::final_val_accuracy);
    REQUIRE(table.size() == 4);
    CHECK(table[0].optimizer == "adam");
    CHECK(table[2].optimizer == "sgd");
    CHECK(table[2].batch_size == 16);
    CHECK(table[2].best_lr == 0.1);   // optimum 0.05: 0.1 is closer on a log scale than 0.01
    CHECK(table[3].best_lr == 0.1);   // optimum 0.2
    CHECK(table[3].largest_stable_lr == 0.1);  // 1.0 > 4 x 0.2 diverges
    CHECK(table[0].best_lr == 0.001);
}

TEST_CASE("A diverged run is a result, marked in both files, not an error", "[experiment][sweep]")
{
    const fs::path dir = fresh_dir("diverged");
    SweepConfig c = small_config();
    c.grid.optimizers = {"sgd"};
    c.grid.lrs = {0.01, 1.0};
    c.grid.batch_sizes = {16};
    c.grid.seeds = {0};
    // The second run "forgets" to say it diverged but its loss is NaN: recorded as diverged too.
    const RunFunction fn = [](const RunSpec& s, EvalSink& sink) {
        if (s.lr == 0.01)
        {
            return FakeTraining{}(s, sink);
        }
        sink.record(EvalRow{1, 16, 256, std::nan(""), std::nan(""), 0.1, s.lr, 0.0});
        return RunResult::finished();
    };
    const SweepReport rep = run_sweep(c, dir, fn, quiet_options(1));
    CHECK(rep.diverged == 1);
    CHECK(rep.finished == 1);
    CHECK(rep.failed == 0);
    const ResultSet set = load_results(dir);
    const RunRecord* d = set.find(RunKey{"sgd", 1.0, 16, 0, ""});
    REQUIRE(d != nullptr);
    CHECK(d->summary.diverged());
    CHECK(d->summary.note.find("not finite") != std::string::npos);
    const auto runs = lines_of(dir / "runs.csv");
    REQUIRE(runs.size() == 1 + 3 + 1);
    CHECK(split(runs.back())[12] == "1");
    CHECK(split(runs.back())[7] == "nan");
    CHECK(split(runs[1])[12] == "0");

    // And the fake's explicit divergence keeps its note and the rows before it.
    const fs::path dir2 = fresh_dir("diverged2");
    c.grid.lrs = {1.0};
    run_sweep(c, dir2, FakeTraining{}, quiet_options(1));
    const ResultSet set2 = load_results(dir2);
    REQUIRE(set2.runs.size() == 1);
    CHECK(set2.runs[0].summary.diverged());
    CHECK(set2.runs[0].summary.note == "loss inf at epoch 2");
    CHECK(set2.runs[0].rows.size() == 2);
    CHECK(std::isinf(set2.runs[0].rows[1].train_loss));
}

TEST_CASE("A throwing run function is recorded as failed, the sweep goes on, and a rerun retries it",
          "[experiment][sweep]")
{
    const fs::path dir = fresh_dir("failing");
    const SweepConfig c = small_config();
    std::atomic<bool> broken{true};
    std::atomic<int> calls{0};
    const RunFunction fn = [&](const RunSpec& s, EvalSink& sink) {
        ++calls;
        if (broken && s.optimizer == "adam" && s.lr == 0.01 && s.batch_size == 64)
        {
            throw std::runtime_error("out of memory, \"really\"\nat layer 2");
        }
        return FakeTraining{}(s, sink);
    };
    const SweepReport rep = run_sweep(c, dir, fn, quiet_options(2));
    CHECK(rep.failed == 2);  // two seeds
    CHECK(rep.finished + rep.diverged == 30);
    CHECK_FALSE(rep.complete());
    REQUIRE(rep.failures.size() == 2);
    CHECK(rep.failures[0].message == "out of memory, \"really\"\nat layer 2");
    const auto failures = lines_of(dir / "failures.csv");
    REQUIRE(failures.size() == 3);
    const auto f = split(failures[1]);
    CHECK(f[0] == "adam");
    CHECK(f[1] == "0.01");
    CHECK(f[2] == "64");
    CHECK(f[5] == "out of memory, \"really\" at layer 2");
    CHECK(lines_of(dir / "summary.csv").size() == 31);
    const ResultSet set = load_results(dir);
    CHECK(set.failures.size() == 2);
    CHECK(set.missing().size() == 2);

    // The same command again runs only the failed runs; once they succeed, failures.csv empties.
    broken = false;
    calls = 0;
    const SweepReport again = run_sweep(c, dir, fn, quiet_options(2));
    CHECK(calls == 2);
    CHECK(again.already_done == 30);
    CHECK(again.failed == 0);
    CHECK(again.complete());
    CHECK(lines_of(dir / "failures.csv").size() == 1);
    CHECK(lines_of(dir / "summary.csv").size() == 33);

    // An exception that is not a std::exception is caught too.
    const fs::path dir2 = fresh_dir("failing2");
    SweepConfig one = c;
    one.grid.optimizers = {"sgd"};
    one.grid.lrs = {0.1};
    one.grid.batch_sizes = {16};
    one.grid.seeds = {0};
    const SweepReport odd = run_sweep(
        one, dir2, [](const RunSpec&, EvalSink&) -> RunResult { throw 42; }, quiet_options(1));
    REQUIRE(odd.failures.size() == 1);
    CHECK(odd.failures[0].message.find("not a std::exception") != std::string::npos);
}

TEST_CASE("A stopped sweep resumes where it stopped: no duplicate, no missing row", "[experiment][sweep][resume]")
{
    const fs::path dir = fresh_dir("resume");
    const SweepConfig c = small_config();
    const FakeTraining fake;
    std::mutex m;
    std::vector<std::size_t> first_calls;
    std::atomic<int> done{0};
    const RunFunction stops_after_5 = [&](const RunSpec& s, EvalSink& sink) {
        if (done.load() >= 5)
        {
            throw sweep_interrupted("simulated kill");
        }
        ++done;
        {
            std::lock_guard<std::mutex> lock(m);
            first_calls.push_back(s.index);
        }
        return fake(s, sink);
    };
    const SweepReport part = run_sweep(c, dir, stops_after_5, quiet_options(1));
    CHECK(part.interrupted);
    CHECK(part.finished + part.diverged == 5);
    CHECK(part.not_run == 27);
    CHECK(lines_of(dir / "summary.csv").size() == 1 + 5);

    std::vector<std::size_t> second_calls;
    const RunFunction counting = [&](const RunSpec& s, EvalSink& sink) {
        {
            std::lock_guard<std::mutex> lock(m);
            second_calls.push_back(s.index);
        }
        return fake(s, sink);
    };
    const SweepReport rest = run_sweep(c, dir, counting, quiet_options(2));
    CHECK(rest.already_done == 5);
    CHECK(rest.finished + rest.diverged == 27);
    CHECK(rest.complete());
    // Exactly the runs not done before, each once.
    std::set<std::size_t> all(first_calls.begin(), first_calls.end());
    for (const auto i : second_calls)
    {
        CHECK(all.insert(i).second);
    }
    CHECK(all.size() == 32);

    const auto runs = lines_of(dir / "runs.csv");
    CHECK(runs.size() == 1 + expected_rows(c, fake));
    std::set<std::string> unique_rows;
    for (std::size_t i = 1; i < runs.size(); ++i)
    {
        auto f = split(runs[i]);
        f[11] = "";  // wall_seconds
        std::string k;
        for (const auto& x : f)
        {
            k += x + ",";
        }
        CHECK(unique_rows.insert(k).second);
    }
    // A third invocation has nothing left to do.
    const SweepReport none = run_sweep(c, dir, counting, quiet_options(2));
    CHECK(none.already_done == 32);
    CHECK(none.finished == 0);
}

TEST_CASE("The caller's stop flag stops a sweep cleanly", "[experiment][sweep][resume]")
{
    const fs::path dir = fresh_dir("stopflag");
    const SweepConfig c = small_config();
    std::atomic<bool> stop{false};
    std::atomic<int> calls{0};
    SweepOptions o = quiet_options(1);
    o.stop = &stop;
    const RunFunction fn = [&](const RunSpec& s, EvalSink& sink) {
        if (++calls == 3)
        {
            stop = true;
            // A long run polls the flag and gives up its run early.
            for (int i = 0; i < 500 && !sink.stop_requested(); ++i)
            {
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
            CHECK(sink.stop_requested());
            throw sweep_interrupted("stopped");
        }
        return FakeTraining{}(s, sink);
    };
    const SweepReport rep = run_sweep(c, dir, fn, o);
    CHECK(rep.interrupted);
    CHECK(rep.finished + rep.diverged == 2);
    CHECK(rep.not_run == 30);
    CHECK(calls == 3);
}

TEST_CASE("Opening a folder repairs what a kill left half-written, and reruns those runs",
          "[experiment][sweep][resume]")
{
    const SweepConfig c = small_config();
    const FakeTraining fake;
    const fs::path whole = fresh_dir("repair_whole");
    run_sweep(c, whole, fake, quiet_options(2));
    const auto reference = without_columns(whole / "runs.csv", {"wall_seconds"});

    auto check_repaired = [&](const std::string& name, auto damage, std::size_t expect_rerun) {
        const fs::path dir = fresh_dir(name);
        fs::copy(whole, dir);
        damage(dir);
        std::vector<std::size_t> reran;
        std::mutex m;
        const RunFunction fn = [&](const RunSpec& s, EvalSink& sink) {
            std::lock_guard<std::mutex> lock(m);
            reran.push_back(s.index);
            return fake(s, sink);
        };
        const SweepReport rep = run_sweep(c, dir, fn, quiet_options(1));
        CHECK(reran.size() == expect_rerun);
        CHECK(rep.complete());
        CHECK(without_columns(dir / "runs.csv", {"wall_seconds"}) == reference);
        CHECK(lines_of(dir / "summary.csv").size() == 33);
    };

    SECTION("the last line of runs.csv cut in the middle, its summary row never written")
    {
        check_repaired("repair_cut_rows", [](const fs::path& d) {
            std::string rows = read_text(d / "runs.csv");
            write_text(d / "runs.csv", rows.substr(0, rows.size() - 7));
            auto s = lines_of(d / "summary.csv");
            s.pop_back();
            std::string text;
            for (const auto& l : s)
            {
                text += l + "\n";
            }
            write_text(d / "summary.csv", text);
        }, 1);
    }
    SECTION("the last summary row cut in the middle: its rows are orphans")
    {
        check_repaired("repair_cut_summary", [](const fs::path& d) {
            std::string s = read_text(d / "summary.csv");
            write_text(d / "summary.csv", s.substr(0, s.size() - 10));
        }, 1);
    }
    SECTION("runs.csv cut at a line boundary: the row count no longer matches the summary")
    {
        check_repaired("repair_cut_boundary", [](const fs::path& d) {
            auto rows = lines_of(d / "runs.csv");
            rows.pop_back();
            std::string text;
            for (const auto& l : rows)
            {
                text += l + "\n";
            }
            write_text(d / "runs.csv", text);
        }, 1);
    }
    SECTION("the header of every file cut (killed right after creation)")
    {
        check_repaired("repair_cut_header", [](const fs::path& d) {
            write_text(d / "runs.csv", "optimizer,lr,bat");
            write_text(d / "summary.csv", "");
            fs::remove(d / "failures.csv");
        }, 32);
    }
    SECTION("load_results (read-only) ignores the same damage without touching the files")
    {
        const fs::path dir = fresh_dir("repair_readonly");
        fs::copy(whole, dir);
        std::string s = read_text(dir / "summary.csv");
        write_text(dir / "summary.csv", s.substr(0, s.size() - 10));
        const ResultSet set = load_results(dir);
        CHECK(set.runs.size() == 31);
        CHECK(set.dropped_lines == 1);
        CHECK(set.dropped_runs == 1);
        CHECK(read_text(dir / "summary.csv") == s.substr(0, s.size() - 10));
    }
}

TEST_CASE("Files that are not a sweep's, or corrupt in the middle, are refused clearly", "[experiment][sweep]")
{
    const SweepConfig c = small_config();
    const fs::path whole = fresh_dir("refuse_whole");
    run_sweep(c, whole, FakeTraining{}, quiet_options(2));

    SECTION("a foreign runs.csv header")
    {
        const fs::path d = fresh_dir("refuse_header");
        fs::copy(whole, d);
        write_text(d / "runs.csv", "a,b,c\n1,2,3\n");
        CHECK_THROWS_WITH(load_results(d), Catch::Contains("runs.csv line 1: not a file written by an xtrain sweep"));
        CHECK_THROWS_AS(run_sweep(c, d, FakeTraining{}, quiet_options()), data_error);
    }
    SECTION("a corrupt line in the middle")
    {
        const fs::path d = fresh_dir("refuse_middle");
        fs::copy(whole, d);
        auto rows = lines_of(d / "runs.csv");
        rows[3] = "sgd,0.001,16,0,3,xx,768,1,1,1,0.001,0,0,";
        std::string text;
        for (const auto& l : rows)
        {
            text += l + "\n";
        }
        write_text(d / "runs.csv", text);
        CHECK_THROWS_WITH(load_results(d),
                          Catch::Contains("runs.csv line 4: column step is not a non-negative integer (got \"xx\")"));
    }
    SECTION("a run that is not in the grid")
    {
        const fs::path d = fresh_dir("refuse_foreign_run");
        fs::copy(whole, d);
        auto rows = lines_of(d / "runs.csv");
        rows.push_back("sgd,0.5,16,0,1,16,256,1,1,1,0.5,0,0,");
        std::string text;
        for (const auto& l : rows)
        {
            text += l + "\n";
        }
        write_text(d / "runs.csv", text);
        CHECK_THROWS_WITH(load_results(d), Catch::Contains("run sgd lr=0.5 B=16 seed=0 is not in the grid"));
    }
    SECTION("rows of one run split in two blocks")
    {
        const fs::path d = fresh_dir("refuse_interleaved");
        fs::copy(whole, d);
        auto rows = lines_of(d / "runs.csv");
        std::swap(rows[2], rows[4]);  // run 0's second row after run 1's first
        std::string text;
        for (const auto& l : rows)
        {
            text += l + "\n";
        }
        write_text(d / "runs.csv", text);
        CHECK_THROWS_WITH(load_results(d), Catch::Contains("are not contiguous"));
    }
    // Rewrites a file line by line through @p edit (lines without their '\n').
    const auto edit_lines = [](const fs::path& p, auto edit) {
        auto lines = lines_of(p);
        edit(lines);
        std::string text;
        for (const auto& l : lines)
        {
            text += l + "\n";
        }
        write_text(p, text);
    };
    // Replaces field @p i of a CSV line (no quoted fields in these lines).
    const auto set_field = [](std::string& line, std::size_t i, const std::string& value) {
        auto f = split(line);
        f[i] = value;
        line.clear();
        for (std::size_t k = 0; k < f.size(); ++k)
        {
            line += (k ? "," : "") + f[k];
        }
    };
    SECTION("a value edited by hand in runs.csv: refused on reading and on resuming, naming the run")
    {
        const fs::path d = fresh_dir("refuse_edited_rows");
        fs::copy(whole, d);
        edit_lines(d / "runs.csv", [&](std::vector<std::string>& rows) {
            const auto f = split(rows[3]);
            set_field(rows[3], 9, f[9] == "0.5" ? "0.75" : "0.5");  // val_accuracy, still a valid number
        });
        const std::string key = [&] {
            const auto f = split(lines_of(d / "runs.csv")[3]);
            return "run " + f[0] + " lr=" + f[1] + " B=" + f[2] + " seed=" + f[3];
        }();
        CHECK_THROWS_WITH(load_results(d), Catch::Contains(key + " does not match its checksum")
                                               && Catch::Contains("summary.csv line ")
                                               && Catch::Contains("runs.csv were changed after xtrain wrote them"));
        CHECK_THROWS_WITH(run_sweep(c, d, FakeTraining{}, quiet_options()), Catch::Contains("does not match its checksum"));
    }
    SECTION("a value edited by hand in summary.csv, and an edit kept on purpose by emptying the checksum")
    {
        const fs::path d = fresh_dir("refuse_edited_summary");
        fs::copy(whole, d);
        const std::size_t best = column(lines_of(d / "summary.csv")[0], "best_val_accuracy");
        const std::size_t checksum = column(lines_of(d / "summary.csv")[0], "checksum");
        edit_lines(d / "summary.csv", [&](std::vector<std::string>& rows) { set_field(rows[5], best, "0.999"); });
        CHECK_THROWS_WITH(load_results(d), Catch::Contains("summary.csv line 6: run ")
                                               && Catch::Contains("empty this row's checksum cell"));
        edit_lines(d / "summary.csv", [&](std::vector<std::string>& rows) { set_field(rows[5], checksum, ""); });
        const ResultSet set = load_results(d);
        CHECK(set.runs.size() == 32);
        CHECK(std::count_if(set.runs.begin(), set.runs.end(),
                            [](const RunRecord& r) { return r.summary.best_val_accuracy == 0.999; }) == 1);
        CHECK(run_sweep(c, d, FakeTraining{}, quiet_options()).already_done == 32);
    }
    SECTION("a checksum cell that is not one")
    {
        const fs::path d = fresh_dir("refuse_bad_checksum");
        fs::copy(whole, d);
        const std::size_t checksum = column(lines_of(d / "summary.csv")[0], "checksum");
        edit_lines(d / "summary.csv", [&](std::vector<std::string>& rows) { set_field(rows[2], checksum, "xyz"); });
        CHECK_THROWS_WITH(load_results(d),
                          Catch::Contains("summary.csv line 3: column checksum must be 8 hexadecimal digits, or empty"));
    }
    SECTION("line ends converted to CRLF by an editor are not an edit")
    {
        const fs::path d = fresh_dir("accept_crlf");
        fs::copy(whole, d);
        for (const char* f : {"runs.csv", "summary.csv"})
        {
            std::string crlf;
            for (const auto& l : lines_of(d / f))
            {
                crlf += l + "\r\n";
            }
            write_text(d / f, crlf);
        }
        CHECK(load_results(d).runs.size() == 32);
    }
    SECTION("CSV files without meta.json")
    {
        const fs::path d = fresh_dir("refuse_nometa");
        fs::copy(whole, d);
        fs::remove(d / "meta.json");
        CHECK_THROWS_WITH(run_sweep(c, d, FakeTraining{}, quiet_options()), Catch::Contains("but no meta.json"));
        CHECK_THROWS_WITH(load_results(d), Catch::Contains("no meta.json"));
    }
}

TEST_CASE("A folder written by a different grid is refused, naming what differs", "[experiment][sweep]")
{
    const fs::path dir = fresh_dir("mismatch");
    const SweepConfig c = small_config();
    run_sweep(c, dir, FakeTraining{}, quiet_options(2));
    const std::string before = read_text(dir / "runs.csv");

    SweepConfig other = c;
    other.grid.lrs = {0.001, 0.01, 0.1, 2.0};
    other.model = "fake v2";
    try
    {
        run_sweep(other, dir, FakeTraining{}, quiet_options(2));
        FAIL("a different grid was accepted");
    }
    catch (const std::invalid_argument& e)
    {
        const std::string msg = e.what();
        CHECK_THAT(msg, Catch::Contains("holds the results of a different sweep"));
        CHECK_THAT(msg, Catch::Contains("lrs: the folder has [0.001, 0.01, 0.1, 1], this sweep has [0.001, 0.01, 0.1, 2]"));
        CHECK_THAT(msg, Catch::Contains("model: the folder has \"fake\", this sweep has \"fake v2\""));
        CHECK_THAT(msg, !Catch::Contains("batch_sizes"));
        CHECK_THAT(msg, Catch::Contains("Refusing to mix them"));
    }
    CHECK(read_text(dir / "runs.csv") == before);  // untouched

    // Notes are not part of the sweep's identity: a changed command line still resumes.
    SweepConfig noted = c;
    noted.notes["command"] = "something else";
    CHECK_NOTHROW(run_sweep(noted, dir, FakeTraining{}, quiet_options(2)));
}

TEST_CASE("Shards merged give the same result set as the whole sweep", "[experiment][shard][merge]")
{
    const SweepConfig c = small_config();
    const FakeTraining fake;
    const fs::path whole = fresh_dir("merge_whole");
    run_sweep(c, whole, fake, quiet_options(2));

    std::vector<fs::path> shards;
    std::set<std::size_t> seen;
    for (std::size_t k = 0; k < 3; ++k)
    {
        shards.push_back(fresh_dir("merge_shard" + std::to_string(k)));
        SweepOptions o = quiet_options(1);
        o.shard = ShardSpec{k, 3};
        std::mutex m;
        const RunFunction fn = [&](const RunSpec& s, EvalSink& sink) {
            std::lock_guard<std::mutex> lock(m);
            CHECK(s.index % 3 == k);
            CHECK(seen.insert(s.index).second);
            return fake(s, sink);
        };
        const SweepReport rep = run_sweep(c, shards.back(), fn, o);
        CHECK(rep.shard_runs == (k == 2 ? 10u : 11u));
        CHECK(rep.complete());
        CHECK(read_meta(shards.back() / "meta.json").written_by == "sweep, shard " + std::to_string(k) + "/3");
    }
    CHECK(seen.size() == 32);

    const fs::path merged = fresh_dir("merge_out");
    const MergeReport mr = merge_results(shards, merged);
    CHECK(mr.inputs == 3);
    CHECK(mr.runs == 32);
    CHECK(mr.duplicates == 0);
    CHECK(mr.missing == 0);
    CHECK(read_meta(merged / "meta.json").written_by == "merge of 3 folders");
    CHECK(read_meta(merged / "meta.json").fingerprint == c.fingerprint());

    // The checksum covers the timings, so it differs with them.
    const std::set<std::string> timing = {"wall_seconds", "run_seconds", "seconds_to_target", "checksum"};
    CHECK(without_columns(merged / "runs.csv", timing) == without_columns(whole / "runs.csv", timing));
    CHECK(without_columns(merged / "summary.csv", timing) == without_columns(whole / "summary.csv", timing));
    CHECK(read_text(merged / "summary_by_batch.csv") == read_text(whole / "summary_by_batch.csv"));
    CHECK(read_text(merged / "fits.csv") == read_text(whole / "fits.csv"));
    CHECK(read_text(merged / "failures.csv") == read_text(whole / "failures.csv"));

    // The merged folder behaves like a whole one: resuming it finds nothing to do.
    const SweepReport again = run_sweep(c, merged, fake, quiet_options(1));
    CHECK(again.already_done == 32);

    // Merging into an existing shard folder, with an overlapping input, keeps one copy of each run.
    const MergeReport into = merge_results({shards[1], shards[2], shards[1]}, shards[0]);
    CHECK(into.inputs == 4);
    CHECK(into.runs == 32);
    CHECK(into.duplicates == 11);
    CHECK(without_columns(shards[0] / "runs.csv", timing) == without_columns(whole / "runs.csv", timing));

    // A missing shard shows as missing runs; running the sweep on the merged folder completes it.
    const fs::path partial = fresh_dir("merge_partial");
    const MergeReport pr = merge_results({shards[1], shards[2]}, partial);
    CHECK(pr.missing == 11);
    const SweepReport fill = run_sweep(c, partial, fake, quiet_options(2));
    CHECK(fill.finished + fill.diverged == 11);
    CHECK(without_columns(partial / "runs.csv", timing) == without_columns(whole / "runs.csv", timing));

    // Another sweep's folder is refused, naming it.
    SweepConfig other = c;
    other.grid.seeds = {0, 1, 2};
    const fs::path foreign = fresh_dir("merge_foreign");
    ResultsFolder make(foreign, other, "test");
    CHECK_THROWS_WITH(merge_results({whole, foreign}, fresh_dir("merge_refused")),
                      Catch::Contains("merge_foreign' holds a different sweep") && Catch::Contains("seeds:"));
    CHECK_THROWS_AS(merge_results({}, fresh_dir("merge_none")), std::invalid_argument);
}

TEST_CASE("Refinement rounds add rates next to the best, resume, and merge", "[experiment][sweep][refine]")
{
    const fs::path dir = fresh_dir("refine");
    const SweepConfig c = small_config();
    SweepOptions o = quiet_options(2);
    o.refine_rounds = 2;
    const SweepReport rep = run_sweep(c, dir, FakeTraining{}, o);
    CHECK(rep.failed == 0);
    const ResultSet set = load_results(dir);
    const SweepGrid& grid = set.meta.config.grid;
    CHECK(grid.refinement_rounds() == 2);
    CHECK(set.meta.fingerprint == c.fingerprint());  // refinement does not change which sweep this is
    CHECK(set.runs.size() == grid.size());
    CHECK(rep.grid_runs == grid.size());
    auto refined_at = [&](const std::string& opt, std::size_t b, std::size_t round) {
        std::vector<double> lrs;
        for (const RefinedCell& r : grid.refined)
        {
            if (r.optimizer == opt && r.batch_size == b && r.round == round)
            {
                lrs.push_back(r.lr);
            }
        }
        std::sort(lrs.begin(), lrs.end());
        return lrs;
    };
    // SGD at B = 16 (optimum 0.05): the grid's best is 0.1; round 1 adds the geometric midpoints
    // with its neighbours, 0.0316 wins; round 2 halves the step again and 0.0562 wins.
    const auto r1 = refined_at("sgd", 16, 1);
    REQUIRE(r1.size() == 2);
    CHECK(r1[0] == Approx(std::sqrt(0.01 * 0.1)).epsilon(1e-12));
    CHECK(r1[1] == Approx(std::sqrt(0.1 * 1.0)).epsilon(1e-12));
    const auto r2 = refined_at("sgd", 16, 2);
    REQUIRE(r2.size() == 2);
    CHECK(r2[1] == Approx(std::pow(10.0, -1.25)).epsilon(1e-12));
    const auto table = summarize_by_batch(set.summaries(), Metric::final_val_accuracy);
    CHECK(table[2].optimizer == "sgd");
    CHECK(table[2].batch_size == 16);
    CHECK(table[2].best_lr == Approx(std::pow(10.0, -1.25)).epsilon(1e-12));
    // Adam's best is the smallest rate tried: round 1 also looks one step past that edge.
    const auto a1 = refined_at("adam", 16, 1);
    REQUIRE(a1.size() == 2);
    CHECK(a1[0] == Approx(1e-4).epsilon(1e-12));
    // Refined runs are ordinary rows of the files, and meta.json lists their cells.
    CHECK(read_text(dir / "meta.json").find("\"round\": 2") != std::string::npos);
    CHECK(read_text(dir / "runs.csv").find("\nsgd,0.03162277660168379,16,0,") != std::string::npos);

    // Running again resumes: nothing left, no round repeated; one more round asked adds round 3.
    const SweepReport again = run_sweep(c, dir, FakeTraining{}, o);
    CHECK(again.finished + again.diverged + again.stalled == 0);
    CHECK(load_results(dir).meta.config.grid.refinement_rounds() == 2);
    o.refine_rounds = 3;
    run_sweep(c, dir, FakeTraining{}, o);
    CHECK(load_results(dir).meta.config.grid.refinement_rounds() == 3);

    // A refined folder merges with a plain one of the same sweep (shard 0's folder, say).
    const fs::path plain = fresh_dir("refine_plain");
    run_sweep(c, plain, FakeTraining{}, quiet_options(2));
    const fs::path merged = fresh_dir("refine_merged");
    const MergeReport m = merge_results({plain, dir}, merged);
    CHECK(m.missing == 0);
    CHECK(m.runs == load_results(dir).runs.size());
    CHECK(load_results(merged).meta.config.grid.refined.size() == load_results(dir).meta.config.grid.refined.size());

    // A shard cannot refine: the best rates need every run.
    SweepOptions sharded = o;
    sharded.shard = parse_shard("0/2");
    CHECK_THROWS_WITH(run_sweep(c, fresh_dir("refine_shard"), FakeTraining{}, sharded),
                      Catch::Contains("merge the shards, then refine"));
}

TEST_CASE("Runs with the same seed get the same data order at every batch size (paired seeds)",
          "[experiment][sweep]")
{
    const fs::path dir = fresh_dir("paired");
    const SweepConfig c = small_config();
    std::mutex m;
    std::map<std::size_t, std::uint64_t> order_of;   // grid index -> hash of the epoch-0 permutation
    const RunFunction fn = [&](const RunSpec& s, EvalSink& sink) {
        Rng r = derive_rng(s.seed, RngStream::shuffle, 0);
        std::vector<int> perm(64);
        for (int i = 0; i < 64; ++i)
        {
            perm[static_cast<std::size_t>(i)] = i;
        }
        r.shuffle(perm.begin(), perm.end());
        std::uint64_t h = 1469598103934665603ULL;
        for (const int v : perm)
        {
            h = (h ^ static_cast<std::uint64_t>(v)) * 1099511628211ULL;
        }
        {
            std::lock_guard<std::mutex> lock(m);
            order_of[s.index] = h;
        }
        return FakeTraining{}(s, sink);
    };
    run_sweep(c, dir, fn, quiet_options(2));
    REQUIRE(order_of.size() == 32);
    std::map<std::uint64_t, std::set<std::uint64_t>> orders_per_seed;
    std::map<std::uint64_t, std::set<RunKey>> cells_per_seed;
    for (const auto& [index, h] : order_of)
    {
        const RunSpec s = c.grid.at(index);
        orders_per_seed[s.seed].insert(h);
        RunKey cell = s.key();
        cell.seed = 0;
        cells_per_seed[s.seed].insert(cell);
    }
    REQUIRE(orders_per_seed.size() == 2);
    CHECK(orders_per_seed[0].size() == 1);  // one data order across optimizers, lrs, batch sizes
    CHECK(orders_per_seed[1].size() == 1);
    CHECK(*orders_per_seed[0].begin() != *orders_per_seed[1].begin());
    CHECK(cells_per_seed[0] == cells_per_seed[1]);  // each seed covers the whole grid
    CHECK(cells_per_seed[0].size() == 16);
    // In the files, each (optimizer, lr, batch size) cell has one row per seed.
    const ResultSet set = load_results(dir);
    const auto cells = cell_stats(set.summaries(), Metric::final_val_accuracy);
    CHECK(cells.size() == 16);
    for (const auto& cell : cells)
    {
        CHECK(cell.seeds == 2);
    }
}

TEST_CASE("Concurrent appends never interleave the rows of two runs", "[experiment][sweep]")
{
    const fs::path dir = fresh_dir("concurrent");
    SweepConfig c = small_config();
    c.grid.seeds = {0, 1, 2, 3, 4, 5, 6, 7};
    {
        ResultsFolder folder(dir, c, "test");
        const auto specs = c.grid.expand();
        std::atomic<std::size_t> next{0};
        auto worker = [&]() {
            for (std::size_t i = next++; i < specs.size(); i = next++)
            {
                RunRecord rec;
                rec.spec = specs[i];
                for (std::size_t e = 0; e < 50; ++e)
                {
                    rec.rows.push_back(EvalRow{static_cast<double>(e), e, e, 1.0, 1.0, 0.5, 0.1, 0.0});
                }
                rec.summary = summarize_run(rec.spec.key(), rec.rows, RunResult::finished(), 0.0, c.target);
                folder.append(std::move(rec));
            }
        };
        std::thread a(worker);
        std::thread b(worker);
        std::thread d(worker);
        a.join();
        b.join();
        d.join();
        // Before any rewrite, the appended file itself reads back whole (contiguity is checked).
        const ResultSet set = load_results(dir);
        CHECK(set.runs.size() == specs.size());
        CHECK(set.dropped_runs == 0);
        CHECK(lines_of(dir / "runs.csv").size() == 1 + 50 * specs.size());
    }
}

TEST_CASE("Workers use one BLAS thread and the previous setting comes back", "[experiment][sweep]")
{
    if (!set_blas_threads(2))
    {
        XTRAIN_SKIP_TEST("the BLAS library linked in is not OpenBLAS: it has no openblas_set_num_threads");
    }
    const fs::path dir = fresh_dir("blas");
    SweepConfig c = small_config();
    c.grid.seeds = {0};
    std::atomic<int> seen_max{0};
    const RunFunction fn = [&](const RunSpec& s, EvalSink& sink) {
        seen_max = std::max(seen_max.load(), blas_threads());
        return FakeTraining{}(s, sink);
    };
    run_sweep(c, dir, fn, quiet_options(2));
    CHECK(seen_max == 1);
    CHECK(blas_threads() == 2);
    set_blas_threads(1);
}

TEST_CASE("Progress: a line per finished run off a terminal, or a live line", "[experiment][sweep]")
{
    const SweepConfig c = small_config();
    {
        std::ostringstream log;
        SweepOptions o = quiet_options(2);
        o.log = &log;
        run_sweep(c, fresh_dir("progress_lines"), FakeTraining{}, o);
        const std::string text = log.str();
        CHECK_THAT(text, Catch::StartsWith("sweep: 32 runs in the grid; 32 to run on 2 workers"));
        CHECK_THAT(text, Catch::Contains("[sweep 32/32] "));
        CHECK_THAT(text, Catch::Contains("sgd lr=0.1 B=64 seed=1: finished in "));
        CHECK_THAT(text, Catch::Contains("val_accuracy 0.8"));
        CHECK_THAT(text, Catch::Contains("diverged in "));
        CHECK_THAT(text, Catch::Contains("; ETA "));
        CHECK_THAT(text, Catch::Contains("sweep: 32 runs in "));
        // 34 lines, and one more warning on a process that may use one CPU only.
        CHECK(std::count(text.begin(), text.end(), '\n') == (usable_cpus() < 2 ? 35 : 34));
        CHECK(text.find('\r') == std::string::npos);
    }
    {
        std::ostringstream log;
        SweepOptions o = quiet_options(1);
        o.log = &log;
        o.progress = ProgressMode::live;
        o.shard = ShardSpec{1, 2};
        run_sweep(c, fresh_dir("progress_live"), FakeTraining{}, o);
        const std::string text = log.str();
        CHECK_THAT(text, Catch::Contains("16 in shard 1/2"));
        CHECK_THAT(text, Catch::Contains("\r\x1b[Ksweep: 16/16 done, 0 running"));
        CHECK_THAT(text, Catch::Contains("ETA 00:00:00"));
    }
    {
        std::ostringstream log;
        SweepOptions o = quiet_options(1);
        o.log = &log;
        o.progress = ProgressMode::quiet;
        run_sweep(c, fresh_dir("progress_quiet"), FakeTraining{}, o);
        const std::string text = log.str();
        CHECK(std::count(text.begin(), text.end(), '\n') == 2);
    }
    CHECK(format_duration(3725.4) == "01:02:05");
    CHECK(format_duration(std::nan("")) == "--:--:--");
}

#if defined(__linux__) && defined(CPU_COUNT)
TEST_CASE("More workers than the CPUs the process may use are run, with a warning that says how to unbind",
          "[experiment][sweep]")
{
    cpu_set_t saved;
    CPU_ZERO(&saved);
    REQUIRE(sched_getaffinity(0, sizeof(saved), &saved) == 0);
    int first = -1;
    for (int cpu = 0; cpu < CPU_SETSIZE && first < 0; ++cpu)
    {
        first = CPU_ISSET(cpu, &saved) ? cpu : -1;
    }
    REQUIRE(first >= 0);
    // As mpirun leaves a rank: bound to one core (the workers inherit the calling thread's mask).
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    REQUIRE(sched_setaffinity(0, sizeof(one), &one) == 0);
    CHECK(usable_cpus() == 1);
    std::ostringstream log;
    SweepOptions o = quiet_options(2);
    o.log = &log;
    o.progress = ProgressMode::quiet;
    SweepConfig c = small_config();
    c.grid.seeds = {0};
    const SweepReport report = run_sweep(c, fresh_dir("affinity"), FakeTraining{}, o);
    sched_setaffinity(0, sizeof(saved), &saved);
    CHECK(report.failed == 0);
    CHECK_THAT(log.str(), Catch::Contains("sweep: warning: this process may run on 1 CPU only (its CPU affinity), so its 2 "
                                          "workers share it and each run takes longer; under mpirun add --bind-to none or "
                                          "--map-by slot:PE=2, under Slurm --cpus-per-task=2"));
    CHECK(usable_cpus() == static_cast<std::size_t>(CPU_COUNT(&saved)));
}
#endif

TEST_CASE("run_sweep validates its arguments before touching the folder", "[experiment][sweep]")
{
    const fs::path dir = fresh_dir("validate");
    SweepConfig c = small_config();
    SweepOptions o = quiet_options();
    o.shard = ShardSpec{3, 3};
    CHECK_THROWS_WITH(run_sweep(c, dir, FakeTraining{}, o), Catch::Contains("shard"));
    CHECK_THROWS_WITH(run_sweep(c, dir, RunFunction{}, quiet_options()), Catch::Contains("run function"));
    c.target.value = std::nan("");
    CHECK_THROWS_WITH(run_sweep(c, dir, FakeTraining{}, quiet_options()), Catch::Contains("target.value must be finite"));
    c.grid.lrs.clear();
    CHECK_THROWS_WITH(run_sweep(c, dir, FakeTraining{}, quiet_options()), Catch::Contains("lrs must not be empty"));
    CHECK_FALSE(fs::exists(dir));
}

TEST_CASE("The sink keeps the earliest target report and the summary takes the earlier source",
          "[experiment][sweep]")
{
    RunSpec spec = small_config().grid.at(0);
    const Target t = parse_target("val_accuracy=0.5");
    EvalSink sink(spec, t);
    CHECK(sink.spec().index == 0);
    CHECK(sink.target() == t);
    CHECK_FALSE(sink.stop_requested());
    sink.record(EvalRow{1, 100, 1000, 1.0, 1.0, 0.4, 0.1, 1.0});
    sink.record(EvalRow{2, 200, 2000, 0.5, 0.5, 0.6, 0.1, 2.0});
    sink.record(EvalRow{3, 300, 3000, 0.4, 0.45, 0.55, 0.1, 3.0});
    RunSummary from_rows = summarize_run(spec.key(), sink.rows(), RunResult::finished(), 3.5, t);
    CHECK(from_rows.target_reached);
    CHECK(from_rows.to_target.step == 200);
    CHECK(from_rows.to_target.seconds == 2.0);
    CHECK(from_rows.best_val_accuracy == 0.6);
    CHECK(from_rows.min_val_loss == 0.45);
    CHECK(from_rows.last.step == 300);
    sink.target_reached(TargetHit{1.7, 170, 1700, 1.6});
    sink.target_reached(TargetHit{1.9, 190, 1900, 1.8});  // later: ignored
    REQUIRE(sink.reported_target());
    CHECK(sink.reported_target()->step == 170);
    const RunSummary s = summarize_run(spec.key(), sink.rows(), RunResult::finished(), 3.5, t, sink.reported_target());
    CHECK(s.to_target.step == 170);
    CHECK(s.to_target.examples == 1700);
    // Without a target nothing is reached; without rows the metrics are NaN.
    const RunSummary none = summarize_run(spec.key(), {}, RunResult::finished(), 0.0, Target{}, sink.reported_target());
    CHECK_FALSE(none.target_reached);
    CHECK(std::isnan(none.last.val_accuracy));
    CHECK(none.status == RunOutcome::finished);
}

// ------------------------------------------------------------------------------------------------
// Figures
// ------------------------------------------------------------------------------------------------

TEST_CASE("Figures: data files and gnuplot scripts from constructed results, and how to plot",
          "[experiment][figures]")
{
    const fs::path dir = fresh_dir("figures");
    const SweepConfig c = small_config();
    run_sweep(c, dir, FakeTraining{}, quiet_options(2));

    FigureOptions o;
    o.loss_lrs["sgd"] = 0.08;   // closest grid lr on a log scale: 0.1
    o.loss_lrs["adam"] = 0.002; // closest: 0.001
    const FigureReport rep = write_figures(dir, o);
    const fs::path figs = dir / "figures";
    CHECK(rep.dir == figs);
    CHECK(rep.data_files.size() == 4);
    CHECK(rep.scripts.size() == 4);
    CHECK(rep.skipped.empty());
    CHECK_FALSE(rep.rendered);
    CHECK(rep.images.empty());
    CHECK_THAT(rep.message, Catch::Contains("gnuplot fig") || Catch::Contains("gnuplot \"$f\""));

    // Figure 1: one block per (optimizer, batch size) at the chosen lr, three epochs each.
    const std::string f1 = read_text(figs / "fig1_loss_vs_epoch.dat");
    CHECK_THAT(f1, Catch::Contains("# optimizer=sgd lr=0.1 batch_size=16 seeds=2\n1 "));
    CHECK_THAT(f1, Catch::Contains("# optimizer=adam lr=0.001 batch_size=64 seeds=2\n"));
    const std::string g1 = read_text(figs / "fig1_loss_vs_epoch.gp");
    CHECK_THAT(g1, Catch::Contains("set multiplot layout 1,2"));
    CHECK_THAT(g1, Catch::Contains("'fig1_loss_vs_epoch.dat' index 3 using 1:2"));
    CHECK_THAT(g1, Catch::Contains("set output 'fig1_loss_vs_epoch.png'"));
    CHECK_THAT(g1, Catch::Contains("set output 'fig1_loss_vs_epoch.svg'"));
    CHECK_THAT(g1, Catch::Contains("title 'B=64'"));
    CHECK_THAT(g1, Catch::Contains("set title 'sgd, lr = 0.1'"));

    // Figure 2: every cell of sgd's panel; lr 1 at B = 16 and 64 diverged in both seeds (the last
    // column says every seed did: a large cross and no value).
    const std::string f2 = read_text(figs / "fig2_accuracy_heatmap.dat");
    CHECK_THAT(f2, Catch::Contains("# optimizer=sgd diverged\n3 0 1 16 2 2 1\n3 1 1 64 2 2 1\n"));
    CHECK_THAT(f2, Catch::Contains("# optimizer=sgd stalled\n# (none)\nNaN "));
    // gnuplot's `index` skips a block without a data line: every block must hold one (an empty one
    // a row of NaNs), or the marks of one panel are drawn from the next optimizer's data.
    for (const char* name : {"fig1_loss_vs_epoch.dat", "fig2_accuracy_heatmap.dat", "fig3_best_lr.dat",
                             "fig4_steps_to_target.dat"})
    {
        if (!fs::exists(figs / name))
        {
            continue;
        }
        const std::string text = read_text(figs / name);
        std::size_t start = 0;
        while (start < text.size())
        {
            const std::size_t end = std::min(text.find("\n\n\n", start), text.size());
            std::istringstream block(text.substr(start, end - start));
            bool data = false;
            for (std::string line; std::getline(block, line);)
            {
                data = data || (!line.empty() && line[0] != '#');
            }
            INFO(name << ": block at byte " << start);
            CHECK(data);
            start = end == text.size() ? end : end + 3;
        }
    }
    CHECK_THAT(f2, Catch::Contains("# optimizer=adam values\n0 0 0.001 16 "));
    CHECK(f2.find("\n3 0 1 16 0.") == std::string::npos);  // no value where every seed blew up
    const std::string g2 = read_text(figs / "fig2_accuracy_heatmap.gp");
    CHECK_THAT(g2, Catch::Contains("set xtics ('0.001' 0, '0.01' 1, '0.1' 2, '1' 3)"));
    CHECK_THAT(g2, Catch::Contains("set ytics ('16' 0, '64' 1)"));
    CHECK_THAT(g2, Catch::Contains("with boxxyerror"));
    CHECK_THAT(g2, Catch::Contains("index 4 using ($7 > 0.5 ? $1 : $1 + 0.32)"));
    CHECK_THAT(g2, Catch::Contains("x: a seed diverged, o: a seed stalled near chance"));

    // Figure 3: the best lr per batch size as in summary_by_batch.csv with its tied range, guides
    // through the first point; adam's best is the smallest rate tried (drawn hollow); two batch
    // sizes do not make a slope.
    const std::string f3 = read_text(figs / "fig3_best_lr.dat");
    CHECK_THAT(f3, Catch::Contains("# optimizer=sgd best_lr\n16 0.1 "));
    CHECK_THAT(f3, Catch::Contains("\n64 0.1 "));
    CHECK_THAT(f3, Catch::Contains("# optimizer=adam best_lr_at_edge\n16 0.001 "));
    CHECK_THAT(f3, Catch::Contains("# optimizer=sgd best_lr_at_edge\n# (none)\nNaN "));
    const std::string g3 = read_text(figs / "fig3_best_lr.gp");
    CHECK_THAT(g3, Catch::Contains("linear(x) = lr0 * x / b0"));
    CHECK_THAT(g3, Catch::Contains("sqrtrule(x) = lr0 * sqrt(x / b0)"));
    CHECK_THAT(g3, Catch::Contains("set logscale xy"));
    CHECK_THAT(g3, Catch::Contains("'adam best lr (slope not determined: 2 batch sizes)'"));
    CHECK_THAT(g3, Catch::Contains("using 1:2:5:6 with yerrorbars"));
    CHECK_THAT(g3, Catch::Contains("'hollow: best lr at the edge of the rates tried'"));

    // Figure 4: steps to target per batch size (reported exactly by the fake), with the seeds'
    // spread; two resolved batch sizes determine no fit, and none is drawn.
    const std::string f4 = read_text(figs / "fig4_steps_to_target.dat");
    CHECK_THAT(f4, Catch::Contains("# optimizer=sgd resolved\n16 10 160 0.625 0.1 10 10\n64 5 320 1.25 0.1 5 5\n"));
    const std::string g4 = read_text(figs / "fig4_steps_to_target.gp");
    CHECK_THAT(g4, Catch::Contains("using 1:2:6:7 with yerrorbars"));
    CHECK_THAT(g4, Catch::Contains("'sgd (fit not determined: 2 resolved batch sizes)'"));
    CHECK(g4.find("fit: S_min = ") == std::string::npos);
    CHECK(g4.find("s0(x) = ") == std::string::npos);

    // Without gnuplot (a program that does not exist), the message says how to get it.
    FigureReport no_gp = write_figures(dir, o);
    render_figures(no_gp, "/nonexistent/gnuplot");
    CHECK_FALSE(no_gp.rendered);
    CHECK(no_gp.images.empty());
    CHECK_THAT(no_gp.message, Catch::Contains("apt-get install gnuplot-nox"));
    CHECK_THAT(no_gp.message, Catch::Contains("gnuplot \"$f\""));

    // Bad choices are named.
    FigureOptions bad = o;
    bad.optimizers = {"lamb"};
    CHECK_THROWS_WITH(write_figures(dir, bad), Catch::Contains("optimizer") && Catch::Contains("lamb"));
    bad = o;
    bad.schedule = "warmup";
    CHECK_THROWS_WITH(write_figures(dir, bad), Catch::Contains("schedule") && Catch::Contains("warmup"));
    CHECK_THROWS_WITH(write_figures(load_results(dir), FigureOptions{}), Catch::Contains("options.dir"));
}

TEST_CASE("Figures: a folder without results draws nothing and says why", "[experiment][figures]")
{
    const fs::path dir = fresh_dir("figures_empty");
    run_sweep(small_config(), dir, [](const RunSpec&, EvalSink&) -> RunResult { throw std::runtime_error("no"); },
              quiet_options(2));
    FigureOptions o;
    const FigureReport rep = write_figures(dir, o);
    CHECK(rep.scripts.empty());
    CHECK(rep.skipped.size() == 4);
    CHECK_THAT(rep.message, Catch::StartsWith("figures: nothing to draw"));
}

TEST_CASE("Figures: a sweep without a target skips figure 4 and says why", "[experiment][figures]")
{
    const fs::path dir = fresh_dir("figures_notarget");
    SweepConfig c = small_config();
    c.target = Target{};
    run_sweep(c, dir, FakeTraining{}, quiet_options(2));
    FigureOptions o;
    const FigureReport rep = write_figures(dir, o);
    CHECK(rep.scripts.size() == 3);
    REQUIRE(rep.skipped.size() == 1);
    CHECK_THAT(rep.skipped[0], Catch::Contains("fig4_steps_to_target: the sweep has no target"));
    CHECK_FALSE(fs::exists(dir / "figures" / "fig4_steps_to_target.gp"));
    CHECK_THAT(rep.message, Catch::Contains("skipped fig4_steps_to_target"));
    // Figure 1's default lr: each optimizer's best lr at its smallest batch size.
    CHECK_THAT(read_text(dir / "figures" / "fig1_loss_vs_epoch.gp"), Catch::Contains("set title 'sgd, lr = 0.1'"));
    CHECK_THAT(read_text(dir / "figures" / "fig1_loss_vs_epoch.gp"), Catch::Contains("set title 'adam, lr = 0.001'"));
}

TEST_CASE("Figures: gnuplot renders non-empty PNG and SVG when it is installed", "[experiment][figures]")
{
    if (find_program("gnuplot").empty())
    {
        XTRAIN_SKIP_TEST("gnuplot is not installed (apt-get install gnuplot-nox, or bash scripts/deps.sh test)");
    }
    const fs::path dir = fresh_dir("figures_render");
    SweepConfig c = small_config();
    c.grid.schedules = {"const", "warmup"};
    c.grid.lrs = {0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0};
    c.grid.batch_sizes = {16, 32, 64, 128};
    c.grid.seeds = {0};
    run_sweep(c, dir, FakeTraining{}, quiet_options(2));
    FigureOptions o;
    o.schedule = "warmup";
    o.loss_lr = 0.1;
    FigureReport rep = write_figures(dir, o);
    CHECK(rep.images.empty()); // writing starts no process
    render_figures(rep);
    INFO(rep.message);
    CHECK(rep.rendered);
    CHECK(rep.images.size() == 8);
    for (const auto& img : rep.images)
    {
        CHECK(fs::file_size(img) > 1000);
    }
    const std::string png = read_text(dir / "figures" / "fig2_accuracy_heatmap.png");
    CHECK(png.substr(1, 3) == "PNG");
    CHECK_THAT(read_text(dir / "figures" / "fig3_best_lr.svg"), Catch::Contains("<svg"));
    CHECK_THAT(rep.message, Catch::Contains("8 images"));
    CHECK_FALSE(fs::exists(dir / "figures" / "fig1_loss_vs_epoch.log"));
}

// ------------------------------------------------------------------------------------------------
// docs/sweeps.md: the page's code, included from the page (doc_snippets/), run in the test's tmp
// ------------------------------------------------------------------------------------------------

namespace docs_example
{
    #include "doc_snippets/sweeps-toy-run.inc"
}

TEST_CASE("docs/sweeps.md: the examples compile and run", "[experiment][docs]")
{
    using docs_example::toy_run;
    // The page writes to relative folders ("sweeps/toy", "sweeps/shard0", ...): run it in a fresh one.
    const fs::path dir = fresh_dir("docs_sweeps");
    fs::create_directories(dir);
    struct WorkingDirectory
    {
        fs::path previous = fs::current_path();
        ~WorkingDirectory() { fs::current_path(previous); }
    } restore;
    fs::current_path(dir);
    #include "doc_snippets/sweeps-toy-sweep.inc"
    CHECK(report.complete());
    CHECK(report.diverged == 9);  // lr 3 at every batch size and seed
    CHECK(figures.skipped.empty());

    #include "doc_snippets/sweeps-analysis.inc"
    REQUIRE(table.size() == 3);
    CHECK(table[0].largest_stable_lr == 1.0);
    CHECK(std::isfinite(table[2].steps_to_target));

    #include "doc_snippets/sweeps-shards.inc"
    CHECK(merged.runs == 54);
    CHECK(merged.missing == 0);
    CHECK(read_text(base / "all" / "summary_by_batch.csv") == read_text(out / "summary_by_batch.csv"));

    #include "doc_snippets/sweeps-noise-scale.inc"
    CHECK(noise.b_simple() > 0);
}

#if defined(__unix__)
namespace
{
    // A second process that takes the folder's lock, says so through a pipe, and holds it until it
    // is killed or told to go (its end of the second pipe closes).
    struct LockHolder
    {
        pid_t pid = -1;
        int go = -1;

        explicit LockHolder(const fs::path& dir)
        {
            int ready[2];
            int wait[2];
            REQUIRE(::pipe(ready) == 0);
            REQUIRE(::pipe(wait) == 0);
            pid = ::fork();
            REQUIRE(pid >= 0);
            if (pid == 0)
            {
                ::close(ready[0]);
                ::close(wait[1]);
                int status = 0;
                try
                {
                    const FolderLock lock(dir, "the other test process");
                    const char c = 'y';
                    status = ::write(ready[1], &c, 1) == 1 ? 0 : 2;
                    char x;
                    while (::read(wait[0], &x, 1) > 0)
                    {
                    }
                }
                catch (...)
                {
                    status = 3;
                }
                ::_exit(status);
            }
            ::close(ready[1]);
            ::close(wait[0]);
            go = wait[1];
            char c = 0;
            REQUIRE(::read(ready[0], &c, 1) == 1);
            ::close(ready[0]);
        }

        int finish(bool kill)
        {
            if (kill)
            {
                ::kill(pid, SIGKILL);
            }
            ::close(go);
            int status = 0;
            ::waitpid(pid, &status, 0);
            return status;
        }
    };

    // 0 if another program can take the folder's lock now, 1 if it is refused: util-linux's
    // flock(1) (Debian: essential), run in a new process image so that nothing of this process's
    // descriptors (and so of its locks) is inherited.
    int lock_from_child(const fs::path& dir)
    {
        const std::string path = (dir / FolderLock::file_name).string();
        const pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0)
        {
            ::execlp("flock", "flock", "--nonblock", "--conflict-exit-code", "1", path.c_str(), "true",
                     static_cast<char*>(nullptr));
            ::_exit(127);
        }
        int status = 0;
        ::waitpid(pid, &status, 0);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
}

TEST_CASE("One process writes a results folder: a second is refused, naming the first, and a kill frees it",
          "[experiment][sweep][lock]")
{
    const fs::path dir = fresh_dir("lock");
    const SweepConfig c = small_config();
    const fs::path other = fresh_dir("lock_other");
    REQUIRE(run_sweep(c, other, FakeTraining{}, quiet_options()).complete());

    LockHolder holder(dir);
    const std::string who = "pid " + std::to_string(holder.pid);
    CHECK_THROWS_AS(FolderLock(dir, "me"), folder_busy);
    CHECK_THROWS_WITH(FolderLock(dir, "me"), Catch::Contains("is in use by another process (" + who)
                                                 && Catch::Contains("the other test process")
                                                 && Catch::Contains("one process writes a folder at a time"));
    CHECK_THROWS_AS(run_sweep(c, dir, FakeTraining{}, quiet_options()), folder_busy);
    CHECK_THROWS_AS(merge_results({other}, dir), folder_busy);
    CHECK_FALSE(fs::exists(dir / "meta.json"));  // nothing was written

    // SIGKILL: the kernel drops the lock; the file may stay, a stale lock does not.
    const int status = holder.finish(true);
    CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL));
    CHECK(fs::exists(dir / FolderLock::file_name));
    REQUIRE(run_sweep(c, dir, FakeTraining{}, quiet_options()).complete());

    // A holder that ends normally frees it too.
    LockHolder polite(dir);
    CHECK(lock_from_child(dir) == 1);
    CHECK(polite.finish(false) == 0);
    CHECK(lock_from_child(dir) == 0);
}

TEST_CASE("Folder locks nest within one process and are released with the last one", "[experiment][sweep][lock]")
{
    const fs::path dir = fresh_dir("lock_nest");
    const SweepConfig c = small_config();
    {
        const FolderLock outer(dir, "a program");
        CHECK(outer.held());
        FolderLock inner(dir, "the same program");
        REQUIRE(run_sweep(c, dir, FakeTraining{}, quiet_options()).complete());  // ResultsFolder shares it
        const MergeReport m = merge_results({dir}, dir);                          // so does a merge in place
        CHECK(m.runs == c.grid.size());
        FolderLock moved = std::move(inner);
        CHECK(moved.held());
        CHECK_FALSE(inner.held());
        CHECK(lock_from_child(dir) == 1);
    }
    CHECK(lock_from_child(dir) == 0);
    // Open, released on destruction: a later writer in this process or another one gets it.
    {
        ResultsFolder folder(dir, c, "test");
        CHECK(lock_from_child(dir) == 1);
    }
    CHECK(lock_from_child(dir) == 0);
}
#endif

#if defined(__unix__)
#include <sys/resource.h>

namespace
{
    // Runs @p f in a child process whose files cannot grow beyond @p bytes (RLIMIT_FSIZE: a write
    // past it fails as on a full disk); returns the child's exit code (0: f returned, 1: it threw)
    // and what it threw.
    template <class F>
    std::pair<int, std::string> with_file_size_limit(std::size_t bytes, F f)
    {
        int pipe_fd[2];
        REQUIRE(::pipe(pipe_fd) == 0);
        const pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0)
        {
            ::close(pipe_fd[0]);
            std::signal(SIGXFSZ, SIG_IGN);  // a failed write, not a killed process
            rlimit limit{static_cast<rlim_t>(bytes), static_cast<rlim_t>(bytes)};
            int code = 2;
            std::string what;
            if (::setrlimit(RLIMIT_FSIZE, &limit) == 0)
            {
                try
                {
                    f();
                    code = 0;
                }
                catch (const std::exception& e)
                {
                    code = 1;
                    what = e.what();
                }
            }
            [[maybe_unused]] const auto n = ::write(pipe_fd[1], what.data(), what.size());
            ::_exit(code);
        }
        ::close(pipe_fd[1]);
        std::string what;
        char buf[4096];
        ssize_t k = 0;
        while ((k = ::read(pipe_fd[0], buf, sizeof buf)) > 0)
        {
            what.append(buf, static_cast<std::size_t>(k));
        }
        ::close(pipe_fd[0]);
        int status = 0;
        ::waitpid(pid, &status, 0);
        return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, what};
    }
}

TEST_CASE("A write that fails (a full disk) fails loudly, naming the file, and loses nothing written before",
          "[experiment][sweep][disk]")
{
    const fs::path dir = fresh_dir("full_disk");
    fs::create_directories(dir);

    // A file rewritten atomically: the old content stays, no temporary is left.
    write_text(dir / "kept.txt", "old\n");
    auto [code, what] = with_file_size_limit(1000, [&] { detail::write_file_atomic(dir / "kept.txt", std::string(5000, 'x')); });
    CHECK(code == 1);
    CHECK_THAT(what, Catch::Contains("cannot write '" + (dir / "kept.txt.tmp").string() + "' (disk full?)"));
    CHECK(read_text(dir / "kept.txt") == "old\n");
    CHECK_FALSE(fs::exists(dir / "kept.txt.tmp"));

    // A run's noise-scale file: never a short or empty file under its name.
    std::vector<NoiseScaleRecord> records(200);
    RunSpec spec;
    spec.optimizer = "sgd";
    spec.lr = 0.1;
    spec.batch_size = 16;
    std::tie(code, what) = with_file_size_limit(1000, [&] { write_noise_scale_csv(dir / "run-1.csv", spec, records); });
    CHECK(code == 1);
    CHECK_THAT(what, Catch::Contains("run-1.csv.tmp' (disk full?)"));
    CHECK_FALSE(fs::exists(dir / "run-1.csv"));

    // A sweep whose folder fills up stops with the file's name; reopened with room, it finishes
    // with every run once.
    const SweepConfig c = small_config();
    const fs::path out = dir / "sweep";
    std::tie(code, what) = with_file_size_limit(6000, [&] { run_sweep(c, out, FakeTraining{}, quiet_options()); });
    CHECK(code == 1);
    CHECK_THAT(what, Catch::Contains("cannot write '") && Catch::Contains("(disk full?)"));
    const SweepReport resumed = run_sweep(c, out, FakeTraining{}, quiet_options());
    CHECK(resumed.complete());
    CHECK(resumed.already_done < c.grid.size());
    const ResultSet set = load_results(out);
    CHECK(set.runs.size() == c.grid.size());
    CHECK(set.missing().empty());
}
#endif

namespace
{
    // Runs each run on a thread of its own, through the bytes another process would receive and
    // send back: what an executor on other ranks does, without MPI.
    class ThreadExecutor : public RunExecutor
    {
    public:
        ThreadExecutor(RunFunction fn, Target target, std::size_t slots) : m_fn(std::move(fn)), m_target(target), m_slots(slots) {}
        std::size_t slots() const override { return m_slots; }
        RunResult run(const RunSpec& spec, EvalSink& sink) override
        {
            const std::string sent = encode_run_spec(spec);
            std::string answer;
            std::thread elsewhere([&] {
                const RunSpec there = decode_run_spec(sent, "the run spec");
                answer = encode_run_report(run_and_report(m_fn, there, m_target));
            });
            elsewhere.join();
            ++m_runs;
            return replay_report(decode_run_report(answer, "the run report"), sink);
        }
        std::size_t runs() const { return m_runs.load(); }

    private:
        RunFunction m_fn;
        Target m_target;
        std::size_t m_slots;
        std::atomic<std::size_t> m_runs{0};
    };
}

TEST_CASE("runs handed to a RunExecutor give the same result files as local workers", "[experiment][sweep][executor]")
{
    const SweepConfig config = small_config();
    const FakeTraining training;
    const fs::path local = fresh_dir("executor_local");
    const fs::path mixed = fresh_dir("executor_mixed");
    run_sweep(config, local, training, quiet_options(2));

    ThreadExecutor remote(training, config.target, 3);
    SweepOptions o = quiet_options(1);
    o.remote = &remote;
    const SweepReport report = run_sweep(config, mixed, training, o);
    CHECK(report.complete());
    CHECK(remote.runs() > 0);
    CHECK(remote.runs() < config.grid.size()); // the local worker took some too
    const std::set<std::string> timing = {"wall_seconds", "run_seconds", "seconds_to_target", "checksum"};
    CHECK(without_columns(mixed / "runs.csv", timing) == without_columns(local / "runs.csv", timing));
    CHECK(without_columns(mixed / "summary.csv", timing) == without_columns(local / "summary.csv", timing));
}

TEST_CASE("a run's failure and interruption travel back from a RunExecutor as from a local run", "[experiment][sweep][executor]")
{
    const SweepConfig config = small_config();
    const auto failing = [](const RunSpec& s, EvalSink& sink) -> RunResult {
        if (s.lr == 1.0)
        {
            throw std::runtime_error("out of memory on the far side");
        }
        return FakeTraining()(s, sink);
    };
    ThreadExecutor remote(failing, config.target, 2);
    SweepOptions o = quiet_options(1);
    o.remote = &remote;
    const fs::path dir = fresh_dir("executor_failing");
    const SweepReport report = run_sweep(config, dir, failing, o);
    CHECK(report.failed == 8);
    REQUIRE(!report.failures.empty());
    CHECK(report.failures.front().message == "out of memory on the far side");

    RunReport interrupted;
    interrupted.interrupted = true;
    EvalSink sink(config.grid.at(0));
    CHECK_THROWS_AS(replay_report(decode_run_report(encode_run_report(interrupted), "r"), sink), sweep_interrupted);
}

TEST_CASE("run specs and run reports keep every bit through their bytes, and damaged bytes are refused", "[experiment][executor]")
{
    RunSpec spec = small_config().grid.at(5);
    spec.lr = 0.1 + 1e-17; // not a short decimal
    spec.schedule = "cosine";
    const RunSpec back = decode_run_spec(encode_run_spec(spec), "spec");
    CHECK(back.key() == spec.key());
    CHECK(back.index == spec.index);
    CHECK(back.lr_index == spec.lr_index);
    CHECK(back.batch_index == spec.batch_index);

    RunReport report;
    EvalRow row;
    row.epoch = 0.25;
    row.step = 3;
    row.examples_seen = 48;
    row.train_loss = std::nextafter(1.0, 2.0);
    row.val_loss = std::numeric_limits<double>::quiet_NaN();
    row.val_accuracy = 0.5;
    row.lr_in_effect = 1e-3;
    row.wall_seconds = 0.125;
    report.rows = {row, row};
    report.hit = TargetHit{0.5, 6, 96, 0.2, 2};
    report.result = RunResult::stalled("at chance");
    report.result->guard_rules = "dead@6";
    report.result->guard_step = 6;
    const std::string bytes = encode_run_report(report);
    const RunReport got = decode_run_report(bytes, "report");
    REQUIRE(got.rows.size() == 2);
    CHECK(got.rows[1].train_loss == row.train_loss);
    CHECK(std::isnan(got.rows[1].val_loss));
    CHECK(got.rows[1].examples_seen == 48);
    REQUIRE(got.hit);
    CHECK(got.hit->resolution == 2);
    REQUIRE(got.result);
    CHECK(got.result->status == RunOutcome::stalled);
    CHECK(got.result->note == "at chance");
    CHECK(got.result->guard_rules == "dead@6");
    CHECK(got.result->guard_step == 6);

    std::string flipped = bytes;
    flipped[20] = static_cast<char>(flipped[20] ^ 1);
    CHECK_THROWS_WITH(decode_run_report(flipped, "from rank 3"), Catch::Contains("from rank 3") && Catch::Contains("CRC-32"));
    CHECK_THROWS_WITH(decode_run_report(encode_run_spec(spec), "from rank 3"), Catch::Contains("not a run report"));
    CHECK_THROWS_WITH(decode_run_spec(bytes.substr(0, 10), "to rank 1"), Catch::Contains("to rank 1") && Catch::Contains("too short"));
    RunReport both = report;
    both.error = "and an error";
    CHECK_THROWS_WITH(decode_run_report(encode_run_report(both), "r"), Catch::Contains("exactly one of a result, an error"));

    // The error becomes an exception's what() on the other side, which ends at a NUL: a failed
    // run's note is sent up to its first NUL, and a report holding one is refused.
    const RunFunction fails_with_nul = [](const RunSpec&, EvalSink&) {
        RunResult r;
        r.status = RunOutcome::failed;
        r.note = std::string("out of memory\0at step 3", 24);
        return r;
    };
    const RunReport cut = run_and_report(fails_with_nul, spec, Target{});
    CHECK(cut.error == "out of memory");
    RunReport with_nul;
    with_nul.error = std::string("out\0of memory", 13);
    CHECK_THROWS_WITH(decode_run_report(encode_run_report(with_nul), "from rank 2"),
                      Catch::Contains("from rank 2") && Catch::Contains("the run's error message holds a NUL byte"));
}
