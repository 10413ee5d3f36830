// Fuzz target for parameters files (model/parameters_file.hpp), read from memory as
// load_parameters reads a file. The first input byte is a mode, the rest the file:
//   bit 0 set    the last four bytes are first replaced by the CRC-32 of the others, so that
//                mutations reach the parser instead of all stopping at the checksum
//   bit 1 set    the selection is partial (load what matches by name and shape)
//   bit 2 set    the selection excludes the head ("2.*")
// The model is fixed: Sequential<double> Dense(2 -> 3), ReLU, Dense(3 -> 2), softmax cross-entropy
// (tensors 0.weight (3, 2), 0.bias (3), 2.weight (2, 3), 2.bias (2)).
// Invariants, beyond "no crash, no undefined behaviour, no unbounded allocation":
// - a refusal is a checkpoint_error naming the source first, and leaves the model as it was;
// - an accepted file changes exactly the tensors the report lists as loaded, and the file's
//   description (names, shapes, scalar size) agrees with what was loaded;
// - the loaded parameters save to a file that loads again, bit for bit.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "fuzz_target.hpp"
#include "reseal.hpp"
#include "xtrain/model.hpp"

const char* const xtrain::fuzz::target_name = "fuzz_parameters";

namespace
{
    using Net = xtrain::Sequential<double, xtrain::Dense<>, xtrain::ReLU, xtrain::Dense<>, xtrain::SoftmaxCrossEntropy>;

    Net make_net(std::uint64_t seed)
    {
        return Net(seed, xtrain::Dense<>(2, 3), xtrain::ReLU(), xtrain::Dense<>(3, 2), xtrain::SoftmaxCrossEntropy());
    }

    bool same(const xtrain::ParamBuffer<double>& a, const xtrain::ParamBuffer<double>& b, std::size_t segment)
    {
        return std::memcmp(a.segment_data(segment), b.segment_data(segment), a.layout()[segment].size * sizeof(double)) == 0;
    }
}

xtrain::fuzz::Outcome xtrain::fuzz::one_input(const std::uint8_t* data, std::size_t size)
{
    if (size == 0)
    {
        return Outcome::refused;
    }
    std::string bytes(reinterpret_cast<const char*>(data + 1), size - 1);
    if ((data[0] & 1U) != 0)
    {
        reseal(bytes);
    }
    xtrain::ParameterSelection selection;
    selection.partial = (data[0] & 2U) != 0;
    if ((data[0] & 4U) != 0)
    {
        selection.exclude = {"2.*"};
    }
    Net model = make_net(1);
    const Net before = model;
    xtrain::LoadReport report;
    xtrain::ParametersFileInfo info;
    try
    {
        const auto parsed = xtrain::detail::parse_parameters_bytes(bytes, "fuzz.xtp");
        info = parsed.info;
        report = xtrain::detail::load_parsed(model.parameters(), parsed, selection);
    }
    catch (const xtrain::checkpoint_error& e)
    {
        XTRAIN_FUZZ_CHECK(std::string(e.what()).rfind("fuzz.xtp: ", 0) == 0, "a refusal names the source first");
        for (std::size_t i = 0; i < 4; ++i)
        {
            XTRAIN_FUZZ_CHECK(same(model.parameters(), before.parameters(), i), "a refused file leaves the model as it was");
        }
        return Outcome::refused;
    }

    const xtrain::ParamLayout& layout = model.parameters().layout();
    XTRAIN_FUZZ_CHECK(info.scalar_bytes == sizeof(double), "an accepted file holds the model's scalar type");
    XTRAIN_FUZZ_CHECK(!report.loaded.empty(), "an accepted file loads something");
    XTRAIN_FUZZ_CHECK(report.loaded.size() + report.kept.size() == layout.num_segments(),
                      "every tensor of the model is either loaded or kept");
    for (std::size_t i = 0; i < layout.num_segments(); ++i)
    {
        const xtrain::Segment& s = layout[i];
        bool loaded = false;
        for (const std::string& n : report.loaded)
        {
            loaded = loaded || n == s.name;
        }
        if (loaded)
        {
            const xtrain::StoredTensor* t = info.find(s.name);
            XTRAIN_FUZZ_CHECK(t != nullptr && t->shape == s.shape, "a loaded tensor is in the file with its shape");
            XTRAIN_FUZZ_CHECK(selection.selects(s.name), "only selected tensors are loaded");
        }
        else
        {
            XTRAIN_FUZZ_CHECK(same(model.parameters(), before.parameters(), i), "a kept tensor is unchanged");
        }
    }

    // What was loaded saves and loads again, bit for bit.
    {
        const std::filesystem::path path = std::filesystem::temp_directory_path() / "xtrain_fuzz_parameters_resave.xtp";
        xtrain::save_parameters(model, path);
        Net again = make_net(2);
        xtrain::load_parameters(again, path);
        for (std::size_t i = 0; i < layout.num_segments(); ++i)
        {
            XTRAIN_FUZZ_CHECK(same(model.parameters(), again.parameters(), i), "a resaved file loads to the same bits");
        }
    }
    return Outcome::accepted;
}
