// Tests of parameters files (model/parameters_file.hpp): the round trip is bit-exact, a damaged,
// foreign, absent or folder path is refused with a message naming it, a model of another shape is
// refused naming the tensor and both shapes (and left unchanged), subset and partial loads leave
// what they do not load as initialised, and a Trainer checkpoint's parameters load the same way.
#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "xtrain/model.hpp"
#include "xtrain/model/parameters_file.hpp"
#include "xtrain/data/synthetic.hpp"
#include "xtrain/optim/optimizer.hpp"
#include "xtrain/optim/sgd.hpp"
#include "xtrain/train/trainer.hpp"
#include "support/message_of.hpp"

using namespace xtrain;
namespace fs = std::filesystem;

using xtrain::test::message_of;

namespace
{
    fs::path tmp_path(const std::string& name)
    {
        const fs::path p = fs::path(XTRAIN_TEST_TMP_DIR) / ("parameters_file_" + name);
        std::error_code ec;
        fs::remove_all(p, ec);
        return p;
    }

    template <class T>
    using Net = Sequential<T, Dense<>, ReLU, Dense<>, SoftmaxCrossEntropy>;

    // 4 inputs, a hidden layer of `hidden`, `classes` outputs: segments 0.weight, 0.bias, 2.weight, 2.bias.
    template <class T>
    Net<T> make_net(std::uint64_t seed, std::size_t hidden = 8, std::size_t classes = 3)
    {
        return Net<T>(seed, Dense<>(4, hidden), ReLU(), Dense<>(hidden, classes), SoftmaxCrossEntropy());
    }

    template <class T>
    std::vector<T> segment_values(const ParamBuffer<T>& p, const std::string& name)
    {
        const std::size_t i = p.layout().index_of(name);
        return std::vector<T>(p.segment_data(i), p.segment_data(i) + p.layout()[i].size);
    }

    template <class T>
    bool same_bits(const ParamBuffer<T>& a, const ParamBuffer<T>& b)
    {
        return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
    }

    std::string read_bytes(const fs::path& p)
    {
        std::ifstream is(p, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(is), std::istreambuf_iterator<char>());
    }

    void write_bytes(const fs::path& p, const std::string& bytes)
    {
        std::ofstream os(p, std::ios::binary | std::ios::trunc);
        os.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }

    // Rewrites the trailing CRC-32 so that a deliberate edit is seen as intact by the checksum.
    void fix_crc(std::string& bytes)
    {
        const std::uint32_t crc = crc32_update(0, bytes.data(), bytes.size() - 4);
        for (int k = 0; k < 4; ++k)
        {
            bytes[bytes.size() - 4 + k] = static_cast<char>((crc >> (8 * k)) & 0xFFU);
        }
    }

}

TEMPLATE_TEST_CASE("a parameters file round trip is bit-exact", "[parameters_file]", float, double)
{
    // File names carry the type: ctest runs the float and double cases in parallel.
    const fs::path file = tmp_path("roundtrip_" + std::to_string(sizeof(TestType)) + ".xtp");
    const auto a = make_net<TestType>(1);
    save_parameters(a, file);
    auto b = make_net<TestType>(2);
    REQUIRE_FALSE(same_bits(a.parameters(), b.parameters()));
    const LoadReport report = load_parameters(b, file);
    CHECK(same_bits(a.parameters(), b.parameters()));
    CHECK(report.loaded == std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"});
    CHECK(report.kept.empty());

    // The same parameters give the same bytes; the header names the format; no temporary is left.
    const fs::path again = tmp_path("roundtrip_again_" + std::to_string(sizeof(TestType)) + ".xtp");
    save_parameters(b.parameters(), again);
    const std::string bytes = read_bytes(file);
    CHECK(bytes == read_bytes(again));
    CHECK(bytes.compare(0, 8, "XTRAINPF") == 0);
    for (const auto& entry : fs::directory_iterator(file.parent_path()))
    {
        CHECK(entry.path().filename().string().find(".tmp-") == std::string::npos);
    }

    const ParametersFileInfo info = read_parameters_info(file);
    CHECK(info.kind == "parameters file");
    CHECK(info.scalar_bytes == sizeof(TestType));
    REQUIRE(info.tensors.size() == 4);
    CHECK(info.tensors[0].name == "0.weight");
    CHECK(info.tensors[0].shape == std::vector<std::size_t>{8, 4});
    CHECK(info.tensors[3].size == 3);

    // Overwriting an existing file works (the rename replaces it).
    save_parameters(make_net<TestType>(3), file);
    load_parameters(b, file);
    CHECK(same_bits(make_net<TestType>(3).parameters(), b.parameters()));
}

TEST_CASE("a damaged, foreign, absent or folder path is refused, naming it, and the model is unchanged",
          "[parameters_file]")
{
    const fs::path file = tmp_path("good.xtp");
    save_parameters(make_net<float>(1), file);
    const std::string good = read_bytes(file);
    auto model = make_net<float>(7);
    const auto before = model.parameters().values();
    const fs::path bad = tmp_path("bad.xtp");
    auto load = [&](const fs::path& p) { return message_of([&] { load_parameters(model, p); }); };

    SECTION("one flipped bit in a value")
    {
        std::string b = good;
        b[b.size() / 2] = static_cast<char>(b[b.size() / 2] ^ 0x10);
        write_bytes(bad, b);
        CHECK_THAT(load(bad), Catch::Contains(bad.string()) && Catch::Contains("damaged: the CRC-32 checksum"));
    }
    SECTION("truncated")
    {
        write_bytes(bad, good.substr(0, good.size() - 9));
        CHECK_THAT(load(bad), Catch::Contains("damaged"));
    }
    SECTION("truncated inside a header, with a checksum that matches")
    {
        std::string b = good.substr(0, good.size() - 40);
        b += "0000";
        fix_crc(b);
        write_bytes(bad, b);
        CHECK_THAT(load(bad), Catch::Contains(bad.string() + ": truncated: needed 8 more bytes"));
    }
    SECTION("truncated inside the last tensor's values, with a checksum that matches")
    {
        // The last 4 bytes are the checksum, the 12 before them 2.bias's 3 values: drop 4 of those.
        std::string b = good.substr(0, good.size() - 8) + "0000";
        fix_crc(b);
        write_bytes(bad, b);
        CHECK_THAT(load(bad), Catch::Contains("truncated: tensor '2.bias' needs 3 values of 4 bytes at offset"));
    }
    SECTION("another format version")
    {
        std::string b = good;
        b[8] = 2;
        fix_crc(b);
        write_bytes(bad, b);
        CHECK_THAT(load(bad), Catch::Contains("format version 2, but load_parameters reads version 1"));
    }
    SECTION("not a parameters file")
    {
        write_bytes(bad, "label,x\n1,2\n3,4\n5,6\n");
        CHECK_THAT(load(bad), Catch::Contains("not an xtrain parameters file"));
    }
    SECTION("empty")
    {
        write_bytes(bad, "");
        CHECK_THAT(load(bad), Catch::Contains("the file is empty"));
    }
    SECTION("absent")
    {
        CHECK_THAT(load(tmp_path("absent.xtp")), Catch::Contains("absent.xtp: no such parameters file"));
    }
    SECTION("a folder")
    {
        const fs::path dir = tmp_path("a_folder");
        fs::create_directories(dir);
        CHECK_THAT(load(dir), Catch::Contains("is a folder, not a parameters file"));
    }
    SECTION("written for double, loaded as float")
    {
        save_parameters(make_net<double>(1), bad);
        CHECK_THAT(load(bad), Catch::Contains("written for 64-bit parameters, but this model uses 32-bit ones"));
    }
    CHECK(std::memcmp(before.data(), model.parameters().data(), before.size() * sizeof(float)) == 0);
    CHECK_THROWS_AS(load_parameters(model, tmp_path("absent.xtp")), checkpoint_error);
}

TEST_CASE("saving refuses a folder or a missing parent folder", "[parameters_file]")
{
    const auto model = make_net<float>(1);
    const fs::path dir = tmp_path("save_folder");
    fs::create_directories(dir);
    CHECK_THAT(message_of([&] { save_parameters(model, dir); }), Catch::Contains("is a folder; give a file name"));
    const fs::path orphan = tmp_path("no_such_folder") / "p.xtp";
    CHECK_THAT(message_of([&] { save_parameters(model, orphan); }),
               Catch::Contains("no_such_folder' of '") && Catch::Contains("does not exist"));
}

TEST_CASE("a model of another shape is refused, naming the tensor and both shapes", "[parameters_file]")
{
    const fs::path file = tmp_path("shapes.xtp");
    save_parameters(make_net<float>(1, 8, 3), file);

    auto wider = make_net<float>(2, 16, 3);
    const auto before = wider.parameters().values();
    CHECK_THAT(message_of([&] { load_parameters(wider, file); }),
               Catch::Contains("its tensor '0.weight' is of shape {16, 4} here but {8, 4} in"));
    CHECK(std::memcmp(before.data(), wider.parameters().data(), before.size() * sizeof(float)) == 0);
    CHECK_THROWS_AS(load_parameters(wider, file), checkpoint_error);

    // A model with fewer tensors: the file's extra ones are named.
    using Small = Sequential<float, Dense<>, SoftmaxCrossEntropy>;
    Small small(1, Dense<>(4, 8), SoftmaxCrossEntropy());
    CHECK_THAT(message_of([&] { load_parameters(small, file); }),
               Catch::Contains("it holds the tensor '2.weight' {3, 8} that the model has not"));
}

TEST_CASE("a subset load fills the body and leaves a new head as initialised", "[parameters_file]")
{
    const fs::path file = tmp_path("subset.xtp");
    const auto pretrained = make_net<float>(1, 8, 3);
    save_parameters(pretrained, file);

    // A new head of another size: everything but "2.*" comes from the file.
    const auto fresh = make_net<float>(5, 8, 5);
    auto model = fresh;
    ParameterSelection body;
    body.exclude = {"2.*"};
    const LoadReport report = load_parameters(model, file, body);
    CHECK(report.loaded == std::vector<std::string>{"0.weight", "0.bias"});
    REQUIRE(report.kept.size() == 2);
    CHECK(report.kept[0] == "2.weight: not selected");
    CHECK(segment_values(model.parameters(), "0.weight") == segment_values(pretrained.parameters(), "0.weight"));
    CHECK(segment_values(model.parameters(), "0.bias") == segment_values(pretrained.parameters(), "0.bias"));
    CHECK(segment_values(model.parameters(), "2.weight") == segment_values(fresh.parameters(), "2.weight"));
    CHECK(segment_values(model.parameters(), "2.bias") == segment_values(fresh.parameters(), "2.bias"));

    // The same with include.
    auto by_include = fresh;
    ParameterSelection first;
    first.include = {"0.*"};
    load_parameters(by_include, file, first);
    CHECK(same_bits(model.parameters(), by_include.parameters()));

    // Without a selection the head's shape is refused; with partial it is kept, and said why.
    auto strict = fresh;
    CHECK_THAT(message_of([&] { load_parameters(strict, file); }),
               Catch::Contains("'2.weight' is of shape {5, 8} here but {3, 8} in"));
    auto partial = fresh;
    ParameterSelection what_fits;
    what_fits.partial = true;
    const LoadReport r = load_parameters(partial, file, what_fits);
    CHECK(same_bits(model.parameters(), partial.parameters()));
    REQUIRE(r.kept.size() == 2);
    CHECK_THAT(r.kept[0], Catch::Contains("2.weight: of shape {5, 8} here but {3, 8} in"));
    CHECK_THAT(r.describe(), Catch::StartsWith("loaded 2 tensors, kept 2 as initialised"));

    // A glob that matches no tensor is refused, listing the model's tensors.
    ParameterSelection typo;
    typo.exclude = {"head.*"};
    CHECK_THAT(message_of([&] { load_parameters(partial, file, typo); }),
               Catch::Contains("the exclude glob 'head.*' matches no tensor of the model (it has: 0.weight {8, 4}, "
                               "0.bias {8}, 2.weight {5, 8}, 2.bias {5})"));
    CHECK_THROWS_AS(load_parameters(partial, file, typo), std::invalid_argument);

    // Selecting nothing loadable is refused rather than loading nothing.
    auto other = make_net<float>(1, 16, 5);
    CHECK_THAT(message_of([&] { load_parameters(other, file, what_fits); }), Catch::Contains("nothing to load"));
}

TEMPLATE_TEST_CASE("the parameters of a Trainer checkpoint load like a parameters file", "[parameters_file]", float, double)
{
    datasets::BlobsOptions o;
    o.num_samples = 120;
    o.num_features = 4;
    o.num_classes = 3;
    const Dataset<TestType> data = datasets::gaussian_blobs<TestType>(o);
    SGD h;
    h.lr = 0.05;
    h.momentum = 0.9;
    Trainer trainer(make_net<TestType>(1), Optimizer<SGD>(h), BatchSampler<dynamic>(data.size(), 16, SamplerOptions::shuffled(3)));
    trainer.fit(data, Budget::epochs(2));
    const fs::path ckpt = tmp_path("trainer_" + std::to_string(sizeof(TestType)) + ".ckpt");
    trainer.save_checkpoint(ckpt.string());

    auto model = make_net<TestType>(9);
    const LoadReport report = load_parameters(model, ckpt);
    CHECK(report.loaded.size() == 4);
    CHECK(same_bits(model.parameters(), trainer.model().parameters()));
    const ParametersFileInfo info = read_parameters_info(ckpt);
    CHECK(info.kind == "Trainer checkpoint");
    CHECK(info.tensors.size() == 4);

    // The export: the trainer's model as a parameters file.
    const fs::path exported = tmp_path("exported_" + std::to_string(sizeof(TestType)) + ".xtp");
    save_parameters(trainer.model(), exported);
    auto from_export = make_net<TestType>(10);
    load_parameters(from_export, exported);
    CHECK(same_bits(from_export.parameters(), trainer.model().parameters()));

    // A damaged checkpoint is refused like a damaged parameters file.
    std::string b = read_bytes(ckpt);
    b[b.size() / 3] = static_cast<char>(b[b.size() / 3] ^ 1);
    write_bytes(ckpt, b);
    CHECK_THAT(message_of([&] { load_parameters(model, ckpt); }), Catch::Contains("damaged"));
}

TEST_CASE("the snippet of docs/models.md loads a body and freezes it", "[parameters_file]")
{
    const auto pretrained = make_net<float>(1, 8, 3);
    const fs::path path = tmp_path("docs.xtp");
    #include "doc_snippets/models-parameters-file.inc"
    CHECK(report.describe() == "loaded 2 tensors, kept 2 as initialised (2.weight: not selected; 2.bias: not selected)");
    CHECK(segment_values(model.parameters(), "0.weight") == segment_values(pretrained.parameters(), "0.weight"));
    CHECK(model.parameters().layout()[0].lr_scale == 0.0);
}
