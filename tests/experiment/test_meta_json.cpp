// Tests of meta.json (include/xtrain/experiment/sweep_config.hpp) against files users already have:
// the fingerprints that name their results folders, meta.json files written by earlier xtrain
// versions (tests/data/meta_v1_*.json), the exact text written, and what a corrupt file is told.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "xtrain/experiment.hpp"

using namespace xtrain;
namespace fs = std::filesystem;

namespace
{
    std::string read_text(const fs::path& p)
    {
        std::ifstream in(p, std::ios::binary);
        REQUIRE(in);
        std::ostringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }

    const fs::path data_dir = XTRAIN_TEST_DATA_DIR;

    // The configurations whose fingerprints were computed by xtrain 0.1.0 (commit 2f1350a, before
    // meta.json went through nlohmann-json) and are pinned below.
    SweepConfig plain_config()
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

    SweepConfig escaped_config()
    {
        SweepConfig c = plain_config();
        c.grid.seeds = {0, 18446744073709551615ULL};
        c.grid.lrs = {3e-4, 0.1, 1.0 / 3.0};
        c.grid.schedules = {"const", "warm up"};
        c.model = "mlp \"784-256-10\"\twith\\tabs\nand lines";
        c.notes["command"] = "lr_batch_sweep --jobs 2";
        return c;
    }

    // The configuration of tests/data/meta_v1_refined.json.
    SweepConfig refined_config()
    {
        SweepConfig c;
        c.grid.optimizers = {"sgdm", "adamw"};
        c.grid.lrs = {1e-05, 0.9, 1.0, 2.5e-3, 1e20};
        c.grid.batch_sizes = {32, 1024, 60000};
        c.grid.seeds = {7, 4294967296ULL};
        c.grid.schedules = {"const", "warmup5"};
        c.grid.refined.push_back(RefinedCell{"sgdm", "const", 32, 3e-05, 1});
        c.grid.refined.push_back(RefinedCell{"adamw", "warmup5", 1024, 0.45, 2});
        c.model = "mlp 784-256-10 relu, caf\xc3\xa9 \xe2\x82\xac";
        c.dataset = "fashion-mnist val=10000";
        c.budget = "epochs=10 eval=epoch";
        c.target = parse_target("val_loss<=0.3");
        c.notes["command"] = "lr_batch_sweep --lrs 1e-5,0.9";
        c.notes["host"] = "ctl\x01\x1f/\b\f end";
        return c;
    }

    SweepConfig minimal_config()
    {
        SweepConfig c;
        c.grid.optimizers = {"sgd"};
        c.grid.lrs = {0.05};
        c.grid.batch_sizes = {8};
        c.grid.seeds = {42};
        c.dataset = "synthetic";
        c.budget = "steps=100";
        return c;
    }
}

TEST_CASE("A sweep's fingerprint is the one earlier xtrain versions gave it", "[experiment][meta]")
{
    // Results folders are matched by fingerprint (resume, merge): a change here orphans them.
    CHECK(plain_config().fingerprint() == "abcbc400bb31f4d6");
    CHECK(escaped_config().fingerprint() == "8a8087f13277fa4a");
    CHECK(refined_config().fingerprint() == "1eb1e2eec73ffb2a");
    CHECK(minimal_config().fingerprint() == "f4706f9129313135");
}

TEST_CASE("A meta.json written by xtrain 0.1.0 reads back, and is written again the same", "[experiment][meta]")
{
    const fs::path path = data_dir / "meta_v1_refined.json";
    const SweepMeta m = read_meta(path);
    const SweepConfig c = refined_config();
    CHECK(m.fingerprint == "1eb1e2eec73ffb2a");
    CHECK(m.config.fingerprint() == c.fingerprint());
    CHECK(m.config.grid.optimizers == c.grid.optimizers);
    CHECK(m.config.grid.lrs == c.grid.lrs);
    CHECK(m.config.grid.batch_sizes == c.grid.batch_sizes);
    CHECK(m.config.grid.seeds == c.grid.seeds);
    CHECK(m.config.grid.schedules == c.grid.schedules);
    REQUIRE(m.config.grid.refined.size() == 2);
    for (std::size_t i = 0; i < 2; ++i)
    {
        CHECK(m.config.grid.refined[i].same_cell(c.grid.refined[i]));
        CHECK(m.config.grid.refined[i].round == c.grid.refined[i].round);
    }
    CHECK(m.config.model == c.model);
    CHECK(m.config.dataset == c.dataset);
    CHECK(m.config.budget == c.budget);
    CHECK(m.config.target == c.target);
    CHECK(m.config.notes == c.notes);
    CHECK(m.xtrain_version == "0.1.0");
    CHECK(m.compiler == "g++ 12.2.0");
    CHECK(m.written_by == "sweep, shard 1/1");

    // Same text: numbers in their shortest form (1e-05, 0.9, 1, 1e+20), the same layout.
    CHECK(meta_to_json(m) == read_text(path));
}

TEST_CASE("A meta.json written by lr_batch_sweep of xtrain 0.1.0 reads back", "[experiment][meta]")
{
    const fs::path path = data_dir / "meta_v1_lr_batch_sweep.json";
    const SweepMeta m = read_meta(path);
    CHECK(m.config.fingerprint() == m.fingerprint);
    CHECK(m.config.grid.optimizers == std::vector<std::string>{"sgd", "adam"});
    CHECK(m.config.grid.lrs == std::vector<double>{0.01, 0.1, 10});
    CHECK(m.config.grid.batch_sizes == std::vector<std::size_t>{16, 128});
    CHECK(m.config.notes.count("command") == 1);
    CHECK(meta_to_json(m) == read_text(path));
}
