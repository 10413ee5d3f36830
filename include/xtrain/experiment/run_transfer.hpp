/**
 * @file run_transfer.hpp
 * @brief A run of a sweep done in another process: the bytes of its RunSpec and of what it reported.
 *
 * run_sweep hands runs to a RunExecutor (run_sweep.hpp) besides its own worker threads. An executor
 * that runs them in other processes (xtrain/distributed/mpi_sweep.hpp: other MPI ranks) sends each
 * RunSpec there, runs it with run_and_report(), sends the RunReport back and replays it into the
 * sweep's sink with replay_report(). Both are encoded field by field from the records' visit()
 * lists, little-endian with a CRC-32 (core/serialize.hpp), so a field added to a record travels
 * without another change; numbers keep every bit.
 */
#ifndef XTRAIN_EXPERIMENT_RUN_TRANSFER_HPP
#define XTRAIN_EXPERIMENT_RUN_TRANSFER_HPP

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "xtrain/core/checkpoint_format.hpp"
#include "xtrain/core/error.hpp"
#include "xtrain/core/serialize.hpp"
#include "xtrain/experiment/eval_sink.hpp"
#include "xtrain/experiment/run_sweep.hpp"
#include "xtrain/experiment/sweep_grid.hpp"
#include "xtrain/experiment/target.hpp"

namespace xtrain
{
    /** @brief What one run reported, as run_and_report() packages it. */
    struct RunReport
    {
        std::vector<EvalRow> rows;       ///< its evaluation points, in order
        std::optional<TargetHit> hit;    ///< its earliest EvalSink::target_reached() report
        std::optional<RunResult> result; ///< its result; empty when it failed or was interrupted
        std::string error;               ///< why it failed (empty otherwise)
        bool interrupted = false;        ///< it threw sweep_interrupted: the sweep is being stopped
    };

    namespace detail
    {
        inline constexpr char run_spec_magic[8] = {'X', 'T', 'R', 'A', 'I', 'N', 'R', 'S'};
        inline constexpr char run_report_magic[8] = {'X', 'T', 'R', 'A', 'I', 'N', 'R', 'R'};
        inline constexpr std::uint32_t run_transfer_version = 1;

        template <class V>
        void write_field(BinaryWriter& w, const V& v)
        {
            if constexpr (std::is_same_v<V, std::string>)
            {
                w.write_string(v);
            }
            else if constexpr (std::is_same_v<V, RunOutcome>)
            {
                w.write(static_cast<std::uint8_t>(v));
            }
            else if constexpr (std::is_same_v<V, bool> || std::is_floating_point_v<V>)
            {
                w.write(v);
            }
            else
            {
                static_assert(std::is_unsigned_v<V>, "a transferred field is a string, an outcome, a bool, a float or unsigned");
                w.write(static_cast<std::uint64_t>(v));
            }
        }

        template <class V>
        void read_field(BinaryReader& r, const char* name, V& v)
        {
            if constexpr (std::is_same_v<V, std::string>)
            {
                v = r.read_string();
            }
            else if constexpr (std::is_same_v<V, RunOutcome>)
            {
                const auto b = r.read<std::uint8_t>();
                if (b > static_cast<std::uint8_t>(RunOutcome::stalled))
                {
                    r.fail(concat("the field ", name, " holds the unknown run outcome ", static_cast<int>(b)));
                }
                v = static_cast<RunOutcome>(b);
            }
            else if constexpr (std::is_same_v<V, bool> || std::is_floating_point_v<V>)
            {
                v = r.read<V>();
            }
            else
            {
                const auto u = r.read<std::uint64_t>();
                if (u > std::numeric_limits<V>::max())
                {
                    r.fail(concat("the field ", name, " holds ", u, ", too large for this platform"));
                }
                v = static_cast<V>(u);
            }
        }

        template <class Record>
        void write_record(BinaryWriter& w, const Record& rec)
        {
            Record::visit(rec, [&w](const char*, const auto& v) { write_field(w, v); });
        }

        template <class Record>
        Record read_record(BinaryReader& r)
        {
            Record rec;
            Record::visit(rec, [&r](const char* name, auto& v) { read_field(r, name, v); });
            return rec;
        }

        inline std::string seal(const std::ostringstream& buffer, BinaryWriter& w)
        {
            const std::uint32_t crc = w.crc();
            w.write(crc);
            return buffer.str();
        }

        // Checks the magic, the version and the checksum; returns a reader past the header.
        inline std::size_t open_transfer(const std::string& bytes, BinaryReader& r, const char (&magic)[8], const char* what)
        {
            char got[8] = {};
            if (bytes.size() < sizeof got + 2 * sizeof(std::uint32_t))
            {
                r.fail(concat("too short for ", what, " (", bytes.size(), " bytes)"));
            }
            r.read_bytes(got, sizeof got);
            if (std::string(got, sizeof got) != std::string(magic, sizeof magic))
            {
                r.fail(concat("not ", what));
            }
            const auto version = r.read<std::uint32_t>();
            if (version != run_transfer_version)
            {
                r.fail(concat(what, " of version ", version, ", but this xtrain reads version ", run_transfer_version,
                              " (every process must run the same xtrain)"));
            }
            return check_file_checksum(bytes, r).size;
        }
    }

    /** @brief The bytes of @p spec, for another process. */
    inline std::string encode_run_spec(const RunSpec& spec)
    {
        std::ostringstream buffer(std::ios::binary);
        BinaryWriter w(buffer);
        w.write_bytes(detail::run_spec_magic, sizeof detail::run_spec_magic);
        w.write(detail::run_transfer_version);
        detail::write_record(w, spec);
        return detail::seal(buffer, w);
    }

    /**
     * @brief The RunSpec of encode_run_spec()'s bytes; @p source names them in messages.
     * @throws checkpoint_error for bytes that are not a whole, intact run spec of this version
     */
    inline RunSpec decode_run_spec(const std::string& bytes, const std::string& source)
    {
        std::istringstream in(bytes, std::ios::binary);
        BinaryReader r(in, source);
        const std::size_t body = detail::open_transfer(bytes, r, detail::run_spec_magic, "a run spec");
        RunSpec spec = detail::read_record<RunSpec>(r);
        if (r.count() != body)
        {
            r.fail(detail::concat(body - r.count(), " unexpected bytes after the run spec"));
        }
        return spec;
    }

    /** @brief The bytes of @p report, for the process that runs the sweep. */
    inline std::string encode_run_report(const RunReport& report)
    {
        std::ostringstream buffer(std::ios::binary);
        BinaryWriter w(buffer);
        w.write_bytes(detail::run_report_magic, sizeof detail::run_report_magic);
        w.write(detail::run_transfer_version);
        w.write<std::uint64_t>(report.rows.size());
        for (const EvalRow& row : report.rows)
        {
            detail::write_record(w, row);
        }
        w.write(report.hit.has_value());
        if (report.hit)
        {
            detail::write_record(w, *report.hit);
        }
        w.write(report.result.has_value());
        if (report.result)
        {
            detail::write_record(w, *report.result);
        }
        w.write_string(report.error);
        w.write(report.interrupted);
        return detail::seal(buffer, w);
    }

    /**
     * @brief The RunReport of encode_run_report()'s bytes; @p source names them in messages.
     * @throws checkpoint_error for bytes that are not a whole, intact run report of this version
     */
    inline RunReport decode_run_report(const std::string& bytes, const std::string& source)
    {
        std::istringstream in(bytes, std::ios::binary);
        BinaryReader r(in, source);
        const std::size_t body = detail::open_transfer(bytes, r, detail::run_report_magic, "a run report");
        RunReport report;
        const auto n = r.read_array_length(body / 8, "the evaluation rows");
        report.rows.reserve(static_cast<std::size_t>(n));
        for (std::uint64_t i = 0; i < n; ++i)
        {
            report.rows.push_back(detail::read_record<EvalRow>(r));
        }
        if (r.read<bool>())
        {
            report.hit = detail::read_record<TargetHit>(r);
        }
        if (r.read<bool>())
        {
            report.result = detail::read_record<RunResult>(r);
        }
        report.error = r.read_string();
        if (report.error.find('\0') != std::string::npos)
        {
            // It becomes an exception's what(), which ends at the first NUL: refuse it rather than cut it.
            r.fail("the run's error message holds a NUL byte");
        }
        report.interrupted = r.read<bool>();
        if (r.count() != body)
        {
            r.fail(detail::concat(body - r.count(), " unexpected bytes after the run report"));
        }
        const int kinds = (report.result ? 1 : 0) + (report.error.empty() ? 0 : 1) + (report.interrupted ? 1 : 0);
        if (kinds != 1)
        {
            r.fail("a run report holds exactly one of a result, an error and an interruption");
        }
        return report;
    }

    /**
     * @brief Runs @p fn on @p spec here, as a sweep's worker would, and packages what it reports:
     * exceptions become the report's error (sweep_interrupted its interruption), a result of
     * status failed an error with its note.
     */
    inline RunReport run_and_report(const RunFunction& fn, const RunSpec& spec, const Target& target,
                                    const std::atomic<bool>* stop = nullptr)
    {
        EvalSink sink(spec, target, stop);
        RunReport report;
        try
        {
            RunResult result = fn(spec, sink);
            if (result.status == RunOutcome::failed)
            {
                // Up to a NUL, if any: the message travels as an exception's what().
                report.error = result.note.substr(0, result.note.find('\0'));
                if (report.error.empty())
                {
                    report.error = "the run function returned status failed";
                }
            }
            else
            {
                report.result = std::move(result);
            }
        }
        catch (const sweep_interrupted&)
        {
            report.interrupted = true;
        }
        catch (const std::exception& e)
        {
            report.error = e.what();
        }
        catch (...)
        {
            report.error = "an exception that is not a std::exception";
        }
        if (report.error.empty() && !report.interrupted && !report.result)
        {
            report.error = "the run reported nothing";
        }
        report.rows = sink.rows();
        report.hit = sink.reported_target();
        return report;
    }

    /**
     * @brief Replays @p report into @p sink (its rows, its target report) and returns its result,
     * as if the run had run on this sink. @throws sweep_interrupted for an interrupted run and
     * std::runtime_error with the run's message for a failed one, as the run function would have.
     */
    inline RunResult replay_report(const RunReport& report, EvalSink& sink)
    {
        if (report.interrupted)
        {
            throw sweep_interrupted("the run was interrupted");
        }
        if (!report.result)
        {
            throw std::runtime_error(report.error.empty() ? "the run reported nothing" : report.error);
        }
        for (const EvalRow& row : report.rows)
        {
            sink.record(row);
        }
        if (report.hit)
        {
            sink.target_reached(*report.hit);
        }
        return *report.result;
    }
}

#endif
