// Tests of include/xtrain/core: random engine, parameter buffer, batch views, binary I/O, the
// checkpoint counters and atomic file writes.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <iterator>
#include <limits>
#include <numeric>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "xtrain/core.hpp"
#include "support/alloc_counter.hpp"

using namespace xtrain;

TEST_CASE("Rng reproduces the reference xoshiro256** sequence", "[core][random]")
{
    // Computed independently (tests/data/README.md gives the Python used) from the published algorithm.
    Rng a(0);
    CHECK(a() == 0x99ec5f36cb75f2b4ULL);
    CHECK(a() == 0xbf6e1f784956452aULL);
    CHECK(a() == 0x1a5f849d4933e6e0ULL);
    Rng b(42);
    CHECK(b() == 0x15780b2e0c2ec716ULL);
    CHECK(b() == 0x6104d9866d113a7eULL);
}

TEST_CASE("Rng uniform values stay in range and bounded integers are unbiased", "[core][random]")
{
    Rng r(7);
    for (int i = 0; i < 10000; ++i)
    {
        const double u = r.uniform();
        REQUIRE(u >= 0.0);
        REQUIRE(u < 1.0);
        const float f = r.uniform_float();
        REQUIRE(f >= 0.0f);
        REQUIRE(f < 1.0f);
    }
    CHECK(r.uniform_index(0) == 0);
    CHECK(r.uniform_index(1) == 0);
    // Chi-square over 7 bins, 70000 draws: 6 degrees of freedom, 99.99 % quantile is 27.9.
    std::vector<int> counts(7, 0);
    const int n = 70000;
    for (int i = 0; i < n; ++i)
    {
        const auto k = r.uniform_index(7);
        REQUIRE(k < 7);
        ++counts[k];
    }
    double chi2 = 0.0;
    for (int c : counts)
    {
        chi2 += (c - n / 7.0) * (c - n / 7.0) / (n / 7.0);
    }
    CHECK(chi2 < 27.9);
}

TEST_CASE("Rng normal deviates have mean 0 and variance 1", "[core][random]")
{
    Rng r(3);
    const int n = 200000;
    double s = 0.0;
    double s2 = 0.0;
    for (int i = 0; i < n; ++i)
    {
        const double z = r.normal();
        REQUIRE(std::isfinite(z));
        s += z;
        s2 += z * z;
    }
    const double mean = s / n;
    const double var = s2 / n - mean * mean;
    // Standard errors: 1/sqrt(n) = 0.0022 for the mean, sqrt(2/n) = 0.0032 for the variance.
    CHECK(std::abs(mean) < 0.012);
    CHECK(std::abs(var - 1.0) < 0.016);
}

TEST_CASE("Rng shuffle is a seeded permutation", "[core][random]")
{
    std::vector<int> v(1000);
    std::iota(v.begin(), v.end(), 0);
    auto a = v;
    auto b = v;
    Rng(11).shuffle(a.begin(), a.end());
    Rng(11).shuffle(b.begin(), b.end());
    CHECK(a == b);
    CHECK(a != v);
    auto sorted = a;
    std::sort(sorted.begin(), sorted.end());
    CHECK(sorted == v);
    auto c = v;
    Rng(12).shuffle(c.begin(), c.end());
    CHECK(c != a);
}

TEST_CASE("derive_rng gives independent streams per purpose and index", "[core][random]")
{
    Rng s0 = derive_rng(5, RngStream::shuffle, 0);
    Rng s1 = derive_rng(5, RngStream::shuffle, 1);
    Rng i0 = derive_rng(5, RngStream::init, 0);
    Rng other = derive_rng(6, RngStream::shuffle, 0);
    const auto a = s0();
    CHECK(a != s1());
    CHECK(a != i0());
    CHECK(a != other());
    CHECK(derive_rng(5, RngStream::shuffle, 0)() == a);
}

TEST_CASE("Rng state round-trips, including a pending normal deviate", "[core][random]")
{
    Rng r(9);
    r.normal();  // leaves the second value of the pair pending
    Rng copy;
    copy.set_state(r.state(), r.has_spare_normal(), r.spare_normal());
    CHECK(copy == r);
    CHECK(copy.normal() == r.normal());
    CHECK(copy() == r());
}

TEST_CASE("glob patterns select segments", "[core][param_buffer]")
{
    using detail::glob_match;
    CHECK(glob_match("*.bias", "fc1.bias"));
    CHECK_FALSE(glob_match("*.bias", "fc1.weight"));
    CHECK(glob_match("fc?.*", "fc2.weight"));
    CHECK(glob_match("*", ""));
    CHECK(glob_match("a*b*c", "aXXbYYc"));
    CHECK_FALSE(glob_match("a*b*c", "aXXbYY"));
    CHECK(glob_match("exact", "exact"));
    CHECK_FALSE(glob_match("exact", "exactly"));
}

TEST_CASE("ParamLayout packs named segments and configures groups", "[core][param_buffer]")
{
    ParamLayout l;
    CHECK(l.add("fc1.weight", {4, 3}) == 0);
    CHECK(l.add("fc1.bias", {4}) == 1);
    CHECK(l.add("fc2.weight", {2, 4}) == 2);
    CHECK(l.add("fc2.bias", {2}) == 3);
    CHECK(l.size() == 12 + 4 + 8 + 2);
    CHECK(l[1].offset == 12);
    CHECK(l[2].offset == 16);
    CHECK(l[3].offset == 24);
    CHECK(l.index_of("fc2.weight") == 2);
    CHECK_FALSE(l.find("nope"));

    CHECK(l.set_weight_decay("*.bias", 0.0) == 2);
    CHECK(l[1].weight_decay == 0.0);
    CHECK_FALSE(l[0].weight_decay.has_value());
    CHECK(l.set_lr_scale("fc2.*", 0.5) == 2);
    CHECK(l[2].lr_scale == 0.5);
    CHECK(l[0].lr_scale == 1.0);
    CHECK(l.set_layer_adaptation("*.bias", false) == 2);
    CHECK_FALSE(l[3].layer_adaptation);

    CHECK_THROWS_WITH(l.add("fc1.bias", {3}), Catch::Contains("duplicate segment name 'fc1.bias'"));
    CHECK_THROWS_WITH(l.add("empty", {3, 0}), Catch::Contains("'empty' has no elements"));
    CHECK_THROWS_WITH(l.add("", {3}), Catch::Contains("name is empty"));
    CHECK_THROWS_WITH(l.set_weight_decay("conv*", 0.0), Catch::Contains("pattern 'conv*' matches no segment"));
    CHECK_THROWS_WITH(l.set_lr_scale("*", -1.0), Catch::Contains("scale must be >= 0 (got -1)"));
    CHECK_THROWS_WITH(l.index_of("fc3.weight"), Catch::Contains("no segment named 'fc3.weight'"));

    ParamLayout m = l;
    m.set_weight_decay("*", 0.1);
    CHECK(l.same_structure(m));
    m.add("extra", {1});
    CHECK_FALSE(l.same_structure(m));
}

TEMPLATE_TEST_CASE("ParamBuffer views alias the flat storage", "[core][param_buffer]", float, double)
{
    ParamLayout l;
    l.add("w", {2, 3});
    l.add("b", {3});
    ParamBuffer<TestType> p(l, TestType(0));
    REQUIRE(p.size() == 9);
    auto w = p.template view<2>(0);
    REQUIRE(w.shape()[0] == 2);
    REQUIRE(w.shape()[1] == 3);
    w(1, 2) = TestType(5);
    CHECK(p.values()(5) == TestType(5));
    auto b = p.segment("b");
    b(0) = TestType(7);
    CHECK(p.values()(6) == TestType(7));
    CHECK(p.segment_data(1) == p.data() + 6);
    CHECK_THROWS_WITH(p.template view<3>(0), Catch::Contains("segment 'w' has rank 2"));

    auto g = p.zeros_like();
    CHECK(g.size() == p.size());
    CHECK(std::all_of(g.begin(), g.end(), [](TestType v) { return v == TestType(0); }));

    // Moving keeps the storage, so views made before the move stay valid.
    const TestType* before = p.data();
    ParamBuffer<TestType> moved = std::move(p);
    CHECK(moved.data() == before);

    moved.layout().add("late", {2});
    CHECK_THROWS_AS(moved.check_layout(), std::logic_error);
}

TEST_CASE("Batch views expose features, targets and labels", "[core][batch]")
{
    std::vector<float> x{1, 2, 3, 4, 5, 6};
    std::vector<label_type> y{0, 2};
    Batch<float> b;
    b.features = x.data();
    b.size = 2;
    b.feature_dim = 3;
    b.labels = y.data();
    CHECK(b.has_labels());
    CHECK_FALSE(b.has_targets());
    auto xv = b.x();
    CHECK(xv.shape()[0] == 2);
    CHECK(xv(1, 0) == 4.0f);
    CHECK(b.label_view()(1) == 2);
    CHECK(b.y().size() == 0);
}

TEST_CASE("CRC-32 matches the standard check value", "[core][serialize]")
{
    const std::string s = "123456789";
    CHECK(crc32_update(0, s.data(), s.size()) == 0xCBF43926U);
    // Continuing a CRC over pieces gives the CRC of the whole.
    CHECK(crc32_update(crc32_update(0, s.data(), 4), s.data() + 4, 5) == 0xCBF43926U);
}

TEST_CASE("BinaryWriter and BinaryReader round-trip values, arrays and engines", "[core][serialize]")
{
    std::stringstream ss;
    BinaryWriter w(ss);
    w.write_tag("section");
    w.write<std::uint32_t>(0xDEADBEEF);
    w.write<double>(-0.1);
    w.write<float>(3.5f);
    w.write(true);
    w.write_string("hello");
    const std::vector<float> arr{1.5f, -2.0f, 1e-30f};
    w.write_array(arr.data(), arr.size());
    Rng rng(77);
    rng.normal();
    w.write_rng(rng);
    const auto crc = w.crc();

    BinaryReader r(ss, "memory");
    r.expect_tag("section");
    CHECK(r.read<std::uint32_t>() == 0xDEADBEEF);
    CHECK(r.read<double>() == -0.1);
    CHECK(r.read<float>() == 3.5f);
    CHECK(r.read<bool>());
    CHECK(r.read_string() == "hello");
    std::vector<float> back(3);
    r.read_array(back.data(), back.size(), "arr");
    CHECK(back == arr);
    CHECK(r.read_rng() == rng);
    CHECK(r.crc() == crc);
    CHECK(r.count() == w.count());
}

TEST_CASE("BinaryReader refuses truncated, mislabelled and malformed data", "[core][serialize]")
{
    std::stringstream ss;
    BinaryWriter w(ss);
    w.write_tag("optimizer");
    w.write<std::uint64_t>(3);
    const std::string full = ss.str();

    {
        std::stringstream in(full);
        BinaryReader r(in, "ckpt.bin");
        CHECK_THROWS_WITH(r.expect_tag("sampler"),
                          Catch::Contains("ckpt.bin") && Catch::Contains("expected section 'sampler' but found 'optimizer'"));
    }
    {
        std::stringstream in(full.substr(0, full.size() - 3));
        BinaryReader r(in, "ckpt.bin");
        r.expect_tag("optimizer");
        CHECK_THROWS_AS(r.read<std::uint64_t>(), checkpoint_error);
    }
    {
        std::stringstream in(full);
        BinaryReader r(in, "ckpt.bin");
        r.expect_tag("optimizer");
        std::vector<float> v(2);
        // The stored length (3) disagrees with the expected one (2).
        CHECK_THROWS_WITH(r.read_array(v.data(), v.size(), "momentum buffer"),
                          Catch::Contains("momentum buffer holds 3 values where 2 were expected"));
    }
    {
        std::stringstream in(std::string("\x05", 1));
        BinaryReader r(in, "bools");
        CHECK_THROWS_WITH(r.read<bool>(), Catch::Contains("a boolean holds the byte 5"));
    }
    {
        std::stringstream bad;
        BinaryWriter bw(bad);
        bw.write<std::uint64_t>(std::uint64_t(1) << 40);  // an absurd string length
        BinaryReader r(bad, "huge");
        CHECK_THROWS_WITH(r.read_string(), Catch::Contains("longer than the limit"));
    }
}

TEST_CASE("require() names the place, the parameter and the value", "[core][error]")
{
    CHECK_THROWS_AS(detail::require(false, "xtrain::SGD", "lr", -0.5, "must be >= 0"), std::invalid_argument);
    CHECK_THROWS_WITH(detail::require(false, "xtrain::SGD", "lr", -0.5, "must be >= 0"),
                      "xtrain::SGD: lr must be >= 0 (got -0.5)");
    CHECK_NOTHROW(detail::require(true, "xtrain::SGD", "lr", 0.5, "must be >= 0"));
    // Numbers in messages read as a user wrote them, and still read back to the same value.
    CHECK(detail::concat("p=", 0.1) == "p=0.1");
    CHECK(detail::concat("momentum ", 0.9, ", eps ", 1e-8f) == "momentum 0.9, eps 1e-08");
    CHECK(detail::concat(1.0 / 3.0) == "0.3333333333333333");
    CHECK(std::stod(detail::concat(1.0 / 3.0)) == 1.0 / 3.0);
    CHECK(detail::concat(std::nan(""), " ", -std::numeric_limits<double>::infinity()) == "nan -inf");
}

TEST_CASE("the allocation counter sees operator new", "[core][support]")
{
    xtrain::test::AllocationCounter count;
    {
        // Through a volatile pointer, so that the compiler cannot elide the allocation.
        static std::vector<double>* volatile sink = nullptr;
        sink = new std::vector<double>(100);
        delete sink;
    }
    CHECK(count.allocations() == 2);
    xtrain::test::AllocationCounter none;
    Rng r(1);
    double s = 0.0;
    for (int i = 0; i < 100; ++i)
    {
        s += r.normal();
    }
    CHECK(std::isfinite(s));
    CHECK(none.allocations() == 0);
}

TEST_CASE("TrainerCounters save and load every field, in the order visit lists them", "[core][checkpoint]")
{
    TrainerCounters c;
    c.step = 12;
    c.epoch = 3;
    c.examples_seen = 1234;
    c.in_epoch = true;
    c.batches_in_epoch = 5;
    c.status = RunStatus::diverged;
    c.status_message = "loss is NaN";
    c.loss_sum_since_eval = 2.5;
    c.updates_since_eval = 4;
    c.last_loss = 0.625;
    c.wall_seconds = 7.25;
    std::ostringstream os(std::ios::binary);
    BinaryWriter w(os);
    c.save(w);

    // The file's order is visit()'s: the fields written one by one in that order give the same bytes.
    std::ostringstream by_hand(std::ios::binary);
    BinaryWriter h(by_hand);
    std::vector<std::string> names;
    c.visit([&](const char* name, const auto& v) {
        names.emplace_back(name);
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, std::string>)
        {
            h.write_string(v);
        }
        else if constexpr (std::is_same_v<V, RunStatus>)
        {
            h.write(static_cast<std::uint8_t>(v));
        }
        else
        {
            h.write(v);
        }
    });
    CHECK(by_hand.str() == os.str());
    CHECK(names == std::vector<std::string>{"step", "epoch", "examples_seen", "in_epoch", "batches_in_epoch", "status",
                                            "status_message", "loss_sum_since_eval", "updates_since_eval", "last_loss",
                                            "wall_seconds"});

    std::istringstream is(os.str(), std::ios::binary);
    BinaryReader r(is, "counters");
    const TrainerCounters back = TrainerCounters::load(r);
    CHECK(back.step == 12);
    CHECK(back.epoch == 3);
    CHECK(back.examples_seen == 1234);
    CHECK(back.in_epoch);
    CHECK(back.batches_in_epoch == 5);
    CHECK(back.status == RunStatus::diverged);
    CHECK(back.status_message == "loss is NaN");
    CHECK(back.loss_sum_since_eval == 2.5);
    CHECK(back.updates_since_eval == 4);
    CHECK(back.last_loss == 0.625);
    CHECK(back.wall_seconds == 7.25);
    CHECK(r.count() == os.str().size());
}

TEST_CASE("TrainerCounters refuse a run status no saved run has", "[core][checkpoint]")
{
    for (const auto& [byte, expected] : {std::pair<std::uint8_t, const char*>{1, "the run status 'running' is never saved"},
                                         std::pair<std::uint8_t, const char*>{6, "unknown run status 6"},
                                         std::pair<std::uint8_t, const char*>{255, "unknown run status 255"}})
    {
        TrainerCounters c;
        std::ostringstream os(std::ios::binary);
        BinaryWriter w(os);
        c.save(w);
        std::string bytes = os.str();
        bytes[3 * 8 + 1 + 8] = static_cast<char>(byte); // after step, epoch, examples_seen, in_epoch, batches_in_epoch
        std::istringstream is(bytes, std::ios::binary);
        BinaryReader r(is, "counters.bin");
        CHECK_THROWS_WITH(TrainerCounters::load(r), Catch::Contains("counters.bin") && Catch::Contains(expected));
    }
}

TEST_CASE("write_file_atomic replaces a file whole and leaves no temporary file", "[core][files]")
{
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / "xtrain_test_core_files";
    fs::remove_all(dir);
    fs::create_directories(dir);
    const fs::path file = dir / "out.bin";
    for (const auto kind : {detail::TemporaryName::fixed, detail::TemporaryName::unique})
    {
        detail::write_file_atomic(file, "first", kind);
        detail::write_file_atomic(file, std::string("sec\0nd", 6), kind);
        CHECK(detail::read_file_bytes(file, "test file") == std::string("sec\0nd", 6));
        CHECK(std::distance(fs::directory_iterator(dir), fs::directory_iterator()) == 1);
    }
    CHECK_THROWS_WITH(detail::write_file_atomic<checkpoint_error>(dir / "no_such_dir" / "x", "x", detail::TemporaryName::fixed, "here"),
                      Catch::StartsWith("here: cannot open '") && Catch::Contains("no_such_dir/x.tmp' for writing (No such file or directory)"));
    CHECK_THROWS_WITH(detail::read_file_bytes(dir, "test file"), Catch::EndsWith(": is a folder, not a test file"));
    CHECK_THROWS_WITH(detail::read_file_bytes(dir / "absent", "test file"),
                      Catch::Contains("absent: cannot open the test file (No such file or directory)"));
    fs::remove_all(dir);
}
