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

    void write_text(const fs::path& p, const std::string& s)
    {
        std::ofstream out(p, std::ios::binary | std::ios::trunc);
        out << s;
    }

    fs::path fresh_dir(const std::string& name)
    {
        const fs::path p = fs::path(XTRAIN_TEST_TMP_DIR) / ("meta_json_" + name);
        fs::remove_all(p);
        fs::create_directories(p);
        return p;
    }

    /** @brief @p text with its first @p from replaced by @p to (which must be there). */
    std::string replaced(std::string text, const std::string& from, const std::string& to)
    {
        const auto pos = text.find(from);
        REQUIRE(pos != std::string::npos);
        return text.replace(pos, from.size(), to);
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

    // Same text: numbers in their shortest form (1e-05, 0.9, 1, 1e+20), the same layout. Only
    // backspace and form feed are now escaped the short way (backslash b and f, where 0.1.0 wrote
    // backslash u0008 and u000c); both read back alike.
    CHECK(meta_to_json(m) == replaced(read_text(path), "\\u0008\\u000c", "\\b\\f"));
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

TEST_CASE("meta.json numbers are written in their shortest form and read back exactly", "[experiment][meta]")
{
    const fs::path dir = fresh_dir("numbers");
    SweepMeta m;
    m.config = minimal_config();
    m.config.grid.lrs = {0.9, 1e-05, 1.0, 0.1 + 0.2, 5e-324, 1.7976931348623157e308};
    m.config.grid.batch_sizes = {1, 60000};
    m.config.grid.seeds = {0, 18446744073709551615ULL};
    const std::string text = meta_to_json(m);
    // Not 0.90000000000000002, 0.00001 or 1.0; 0.1 + 0.2 is not 0.3, and says so.
    CHECK(text.find("\"lrs\": [0.9, 1e-05, 1, 0.30000000000000004, 5e-324, 1.7976931348623157e+308],")
          != std::string::npos);
    CHECK(text.find("\"batch_sizes\": [1, 60000],") != std::string::npos);
    CHECK(text.find("\"seeds\": [0, 18446744073709551615],") != std::string::npos);
    write_text(dir / "meta.json", text);
    const SweepMeta back = read_meta(dir / "meta.json");
    CHECK(back.config.grid.lrs == m.config.grid.lrs);
    CHECK(back.config.grid.batch_sizes == m.config.grid.batch_sizes);
    CHECK(back.config.grid.seeds == m.config.grid.seeds);
    CHECK(back.fingerprint == m.config.fingerprint());
    CHECK(meta_to_json(back) == text);
}

TEST_CASE("A meta.json that is not JSON is refused, naming the file and the byte", "[experiment][meta]")
{
    const fs::path dir = fresh_dir("invalid");
    const fs::path path = dir / "meta.json";
    SweepMeta m;
    m.config = minimal_config();
    const std::string good = meta_to_json(m);
    write_text(path, good);
    REQUIRE(read_meta(path).fingerprint == "f4706f9129313135");

    // Numbers JSON does not allow (a leading zero, a point with no digit after it), each placed where
    // the learning rates are; the reader before nlohmann-json took them.
    const std::string lrs = "\"lrs\": [0.05]";
    const auto lrs_at = good.find(lrs);
    REQUIRE(lrs_at != std::string::npos);
    const auto list_at = lrs_at + lrs.find('[');
    struct Case
    {
        std::string list;
        std::size_t byte;  // 1-based, as nlohmann counts: the byte where the text stops being JSON
    };
    for (const Case& c : {Case{"[01]", list_at + 3}, Case{"[1.]", list_at + 4}, Case{"[-01.0]", list_at + 6},
                          Case{"[.5]", list_at + 2}, Case{"[0x10]", list_at + 3}, Case{"[1,]", list_at + 4}})
    {
        CAPTURE(c.list);
        write_text(path, replaced(good, lrs, "\"lrs\": " + c.list));
        CHECK_THROWS_AS(read_meta(path), data_error);
        CHECK_THROWS_WITH(read_meta(path), Catch::StartsWith(path.string() + ": not valid JSON at byte "
                                                             + std::to_string(c.byte) + ": "));
    }

    // Trailing text, a truncated file, an empty one, comments.
    write_text(path, good + "x");
    CHECK_THROWS_WITH(read_meta(path), Catch::StartsWith(path.string() + ": not valid JSON at byte "
                                                         + std::to_string(good.size() + 1) + ": "));
    write_text(path, good + "{}");
    CHECK_THROWS_WITH(read_meta(path), Catch::Contains("not valid JSON at byte"));
    write_text(path, good.substr(0, good.size() / 2));
    CHECK_THROWS_AS(read_meta(path), data_error);
    CHECK_THROWS_WITH(read_meta(path), Catch::Contains(path.string()) && Catch::Contains("not valid JSON at byte"));
    write_text(path, "");
    CHECK_THROWS_WITH(read_meta(path), Catch::Contains("not valid JSON at byte 1"));
    write_text(path, "// written by hand\n" + good);
    CHECK_THROWS_WITH(read_meta(path), Catch::Contains("not valid JSON at byte 1"));
    // A number beyond double's range is refused as well (nlohmann reports no byte for it).
    write_text(path, replaced(good, lrs, "\"lrs\": [1e400]"));
    CHECK_THROWS_WITH(read_meta(path), Catch::StartsWith(path.string() + ": not valid JSON: "));
    // Text that is not UTF-8 inside a string.
    write_text(path, replaced(good, "\"synthetic\"", "\"synth\xe9tic\""));
    CHECK_THROWS_WITH(read_meta(path), Catch::Contains("not valid JSON at byte"));
    // Standalone documents.
    for (const char* text : {"[01]", "[1.]", "[-01.0]"})
    {
        CAPTURE(text);
        write_text(path, text);
        CHECK_THROWS_AS(read_meta(path), data_error);
        CHECK_THROWS_WITH(read_meta(path), Catch::Contains("not valid JSON at byte"));
    }
    write_text(path, "[1]");
    CHECK_THROWS_WITH(read_meta(path), Catch::Contains("not a JSON object"));
}

TEST_CASE("A meta.json field of the wrong type or missing is refused, naming the field", "[experiment][meta]")
{
    const fs::path dir = fresh_dir("fields");
    const fs::path path = dir / "meta.json";
    SweepMeta m;
    m.config = minimal_config();
    m.config.grid.refined.push_back(RefinedCell{"sgd", "", 8, 0.07, 1});
    m.config.notes["host"] = "box";
    const std::string good = meta_to_json(m);
    write_text(path, good);
    REQUIRE(read_meta(path).config.grid.refined.size() == 1);

    struct Case
    {
        std::string from, to, message;
    };
    const Case cases[] = {
        {"\"lrs\": [0.05]", "\"lrs\": [\"0.05\"]", "\"grid.lrs[0]\" must be a number, not a string"},
        {"\"lrs\": [0.05]", "\"lrs\": 0.05", "\"grid.lrs\" must be an array, not a number"},
        {"\"batch_sizes\": [8]", "\"batch_sizes\": [8.0]", "\"grid.batch_sizes[0]\" must be a non-negative integer, not a number"},
        {"\"batch_sizes\": [8]", "\"batch_sizes\": [8e0]", "\"grid.batch_sizes[0]\" must be a non-negative integer"},
        {"\"seeds\": [42]", "\"seeds\": [42, -1]", "\"grid.seeds[1]\" must be a non-negative integer, not a number"},
        {"\"seeds\": [42]", "\"seeds\": [18446744073709551616]", "\"grid.seeds[0]\" must be a non-negative integer"},
        {"\"optimizers\": [\"sgd\"]", "\"optimizers\": [null]", "\"grid.optimizers[0]\" must be a string, not a null"},
        {"\"optimizers\": [\"sgd\"],", "", "missing \"grid.optimizers\""},
        {"\"lr\": 0.07", "\"lr\": \"0.07\"", "\"grid.refined[0].lr\" must be a number, not a string"},
        {"\"round\": 1", "\"round\": true", "\"grid.refined[0].round\" must be a non-negative integer, not a boolean"},
        {"\"refined\": [", "\"refined\": [3, ", "\"grid.refined[0]\" must be an object, not a number"},
        {"\"model\": \"\"", "\"model\": 0", "\"model\" must be a string, not a number"},
        {"  \"model\": \"\",\n", "", "missing \"model\""},
        {"\"notes\": {", "\"notes\": [", "not valid JSON"},  // the brace that closes it no longer matches
        {"\"host\": \"box\"", "\"host\": 1", "\"notes.host\" must be a string, not a number"},
        {"\"grid\": {", "\"grid\": [], \"x\": {", "\"grid\" must be an object, not an array"},
        {"\"format_version\": 1", "\"format_version\": 1.0", "format_version 1.0 is not supported"},
        {"\"format_version\": 1", "\"format_version\": \"1\"", "format_version \"1\" is not supported"},
        {"\"format\": \"xtrain-sweep\"", "\"format\": 1", "not an xtrain sweep's meta.json"},
    };
    for (const Case& c : cases)
    {
        CAPTURE(c.to);
        write_text(path, replaced(good, c.from, c.to));
        CHECK_THROWS_AS(read_meta(path), data_error);
        CHECK_THROWS_WITH(read_meta(path), Catch::StartsWith(path.string() + ": ") && Catch::Contains(c.message));
    }
}

TEST_CASE("meta_to_json refuses text that is not UTF-8, naming the field", "[experiment][meta]")
{
    SweepMeta m;
    m.config = minimal_config();
    m.config.model = "caf\xe9";  // Latin-1, not UTF-8: JSON cannot hold it
    CHECK_THROWS_AS(meta_to_json(m), std::invalid_argument);
    CHECK_THROWS_WITH(meta_to_json(m), Catch::Contains("the model description is not UTF-8"));
    m.config = minimal_config();
    m.config.notes["host"] = "\xff";
    CHECK_THROWS_WITH(meta_to_json(m), Catch::Contains("note \"host\" is not UTF-8"));
    // Messages that compare configurations still show such text, without throwing.
    SweepConfig a = minimal_config();
    a.model = "caf\xe9";
    CHECK(describe_differences(a, minimal_config(), "the folder", "this sweep")
          == "model: the folder has \"caf\xef\xbf\xbd\", this sweep has \"\"");
}
