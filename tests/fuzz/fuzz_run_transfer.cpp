// Fuzz target for the bytes a sweep's runs travel in between processes (experiment/run_transfer.hpp:
// a run spec sent to another rank, a run report sent back). The first input byte is a mode, the
// rest the bytes:
//   bit 0 set    the last four bytes are first replaced by the CRC-32 of the others, so that
//                mutations reach the parser instead of all stopping at the checksum
//   bit 1 set    the bytes are read as a run spec (decode_run_spec), else as a run report
// Invariants, beyond "no crash, no undefined behaviour, no unbounded allocation":
// - a refusal is a checkpoint_error naming the source first;
// - accepted bytes encode back to exactly the same bytes (every field is read whole, every bit kept);
// - an accepted report holds exactly one of a result, an error and an interruption, and replaying
//   it into a sink records its rows and returns its result, or throws as the run did.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "fuzz_target.hpp"
#include "reseal.hpp"
#include "xtrain/experiment/run_transfer.hpp"

const char* const xtrain::fuzz::target_name = "fuzz_run_transfer";

namespace
{
    const char* const source = "fuzz input";

    bool names_source(const std::exception& e) { return std::string(e.what()).rfind(source, 0) == 0; }
}

xtrain::fuzz::Outcome xtrain::fuzz::one_input(const std::uint8_t* data, std::size_t size)
{
    if (size == 0)
    {
        return Outcome::refused;
    }
    const std::uint8_t mode = data[0];
    std::string bytes(reinterpret_cast<const char*>(data + 1), size - 1);
    if ((mode & 1U) != 0)
    {
        reseal(bytes);
    }
    if ((mode & 2U) != 0)
    {
        RunSpec spec;
        try
        {
            spec = decode_run_spec(bytes, source);
        }
        catch (const checkpoint_error& e)
        {
            XTRAIN_FUZZ_CHECK(names_source(e), "a refused run spec names its source first");
            return Outcome::refused;
        }
        XTRAIN_FUZZ_CHECK(encode_run_spec(spec) == bytes, "an accepted run spec encodes back to the same bytes");
        return Outcome::accepted;
    }
    RunReport report;
    try
    {
        report = decode_run_report(bytes, source);
    }
    catch (const checkpoint_error& e)
    {
        XTRAIN_FUZZ_CHECK(names_source(e), "a refused run report names its source first");
        return Outcome::refused;
    }
    XTRAIN_FUZZ_CHECK(encode_run_report(report) == bytes, "an accepted run report encodes back to the same bytes");
    const int kinds = (report.result ? 1 : 0) + (report.error.empty() ? 0 : 1) + (report.interrupted ? 1 : 0);
    XTRAIN_FUZZ_CHECK(kinds == 1, "an accepted report is exactly one of a result, an error and an interruption");
    EvalSink sink(RunSpec{});
    try
    {
        const RunResult result = replay_report(report, sink);
        XTRAIN_FUZZ_CHECK(report.result && result.status == report.result->status && result.note == report.result->note,
                          "a replayed result is the report's");
        XTRAIN_FUZZ_CHECK(sink.rows().size() == report.rows.size(), "a replayed report records every row");
        XTRAIN_FUZZ_CHECK(sink.reported_target().has_value() == report.hit.has_value(),
                          "a replayed report passes its target report on");
    }
    catch (const sweep_interrupted&)
    {
        XTRAIN_FUZZ_CHECK(report.interrupted, "only an interrupted run replays as an interruption");
    }
    catch (const std::runtime_error& e)
    {
        XTRAIN_FUZZ_CHECK(!report.error.empty() && report.error == e.what(), "a failed run replays as its error");
    }
    return Outcome::accepted;
}
