/**
 * @file history.hpp
 * @brief What a training run records: one row per optimizer step, one row per evaluation point.
 *
 * The step rows are the raw curve (loss and learning rate at every update); the evaluation rows
 * are what sweeps compare (running training loss, validation loss and accuracy at the end of each
 * epoch, or every N steps). Both are written as CSV with write_steps_csv / write_evals_csv.
 */
#ifndef XTRAIN_TRAIN_HISTORY_HPP
#define XTRAIN_TRAIN_HISTORY_HPP

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <limits>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "xtrain/core/csv_record.hpp"
#include "xtrain/core/error.hpp"
#include "xtrain/core/serialize.hpp"

namespace xtrain
{
    /**
     * @brief One optimizer update.
     *
     * Its fields are listed once, in visit(): the CSV header and rows and the checkpoint follow it.
     */
    struct StepRecord
    {
        std::uint64_t step = 0;          ///< 1-based index of this update
        std::uint64_t epoch = 0;         ///< 0-based epoch the update belongs to
        std::uint64_t examples_seen = 0; ///< training examples consumed up to and including this update
        double loss = 0.0;               ///< mean loss of the batch (before the update)
        double lr = 0.0;                 ///< learning rate the update used
        double wall_seconds = 0.0;       ///< time since fit began, at the end of the update

        /** @brief Calls f(name, member) for every field, in CSV column order (@p r may be const). */
        template <class Record, class F>
        static void visit(Record& r, F&& f)
        {
            f("step", r.step);
            f("epoch", r.epoch);
            f("examples_seen", r.examples_seen);
            f("loss", r.loss);
            f("lr", r.lr);
            f("wall_seconds", r.wall_seconds);
        }
    };

    /**
     * @brief One evaluation point (end of an epoch, every N steps, end of the run).
     *
     * Its fields are listed once, in visit(): the CSV header and rows and the checkpoint follow it.
     */
    struct EvalRecord
    {
        std::uint64_t epoch = 0;         ///< epochs completed (fractional progress shows in step)
        std::uint64_t step = 0;          ///< updates so far
        std::uint64_t examples_seen = 0; ///< training examples consumed so far
        double train_loss = 0.0;         ///< mean batch loss over the updates since the previous evaluation point
        double val_loss = std::numeric_limits<double>::quiet_NaN();     ///< NaN without validation data
        double val_accuracy = std::numeric_limits<double>::quiet_NaN(); ///< NaN without predictions or labels
        double lr = 0.0;                 ///< learning rate in effect after the last update
        double wall_seconds = 0.0;       ///< time since fit began

        /** @brief Calls f(name, member) for every field, in CSV column order (@p r may be const). */
        template <class Record, class F>
        static void visit(Record& r, F&& f)
        {
            f("epoch", r.epoch);
            f("step", r.step);
            f("examples_seen", r.examples_seen);
            f("train_loss", r.train_loss);
            f("val_loss", r.val_loss);
            f("val_accuracy", r.val_accuracy);
            f("lr", r.lr);
            f("wall_seconds", r.wall_seconds);
        }
    };

    namespace detail
    {
        /** @brief Writes a double so that it parses back exactly; NaN and infinities as nan / inf / -inf. */
        inline void write_csv_number(std::ostream& os, double v)
        {
            if (std::isnan(v))
            {
                os << "nan";
            }
            else if (std::isinf(v))
            {
                os << (v > 0 ? "inf" : "-inf");
            }
            else
            {
                put_value(os, v);
            }
        }

        /** @brief "a,b,c\n": the names @p Record::visit hands out, as a CSV header line. */
        template <class Record>
        std::string csv_header_of()
        {
            return csv_names<Record>() + "\n";
        }

        /** @brief Writes the fields of @p r as one CSV row (integers as they are, doubles exactly). */
        template <class Record>
        void write_csv_record(std::ostream& os, const Record& r)
        {
            os << csv_fields(r) << '\n';
        }

        inline std::ofstream open_for_writing(const std::string& path, const char* who)
        {
            std::ofstream os(path, std::ios::out | std::ios::trunc);
            if (!os)
            {
                throw std::runtime_error(concat(who, ": cannot open '", path, "' for writing"));
            }
            return os;
        }

        inline void finish_writing(std::ofstream& os, const std::string& path, const char* who)
        {
            os.close();
            if (!os)
            {
                throw std::runtime_error(concat(who, ": cannot write '", path, "' (disk full?)"));
            }
        }
    }

    /** @brief The records of one run; reserved up front so that recording never allocates per step. */
    class History
    {
    public:
        /** @brief Every update, in order (empty when step recording is off). */
        std::vector<StepRecord> steps;
        /** @brief Every evaluation point, in order. */
        std::vector<EvalRecord> evals;

        /** @brief Header line of the step CSV (with its newline), from StepRecord::visit. */
        static inline const std::string steps_csv_header = detail::csv_header_of<StepRecord>();
        /** @brief Header line of the evaluation CSV (with its newline), from EvalRecord::visit. */
        static inline const std::string evals_csv_header = detail::csv_header_of<EvalRecord>();

        /** @brief Writes one step row (with its newline). */
        static void write_csv_row(std::ostream& os, const StepRecord& r) { detail::write_csv_record(os, r); }

        /** @brief Writes one evaluation row (with its newline). */
        static void write_csv_row(std::ostream& os, const EvalRecord& r) { detail::write_csv_record(os, r); }

        /** @brief Writes the step rows as CSV, header first (columns as in StepRecord::visit). */
        void write_steps_csv(std::ostream& os) const
        {
            os << steps_csv_header;
            for (const StepRecord& r : steps)
            {
                write_csv_row(os, r);
            }
        }

        /** @brief Writes the evaluation rows as CSV, header first (columns as in EvalRecord::visit). */
        void write_evals_csv(std::ostream& os) const
        {
            os << evals_csv_header;
            for (const EvalRecord& r : evals)
            {
                write_csv_row(os, r);
            }
        }

        /** @brief Writes the step rows to a file. @throws std::runtime_error naming the path if it cannot be opened or written. */
        void write_steps_csv(const std::string& path) const
        {
            auto os = detail::open_for_writing(path, "xtrain::History::write_steps_csv");
            write_steps_csv(os);
            detail::finish_writing(os, path, "xtrain::History::write_steps_csv");
        }

        /** @brief Writes the evaluation rows to a file. @throws std::runtime_error naming the path if it cannot be opened or written. */
        void write_evals_csv(const std::string& path) const
        {
            auto os = detail::open_for_writing(path, "xtrain::History::write_evals_csv");
            write_evals_csv(os);
            detail::finish_writing(os, path, "xtrain::History::write_evals_csv");
        }

        /** @brief Writes both vectors to a checkpoint (each record's fields in visit() order). */
        void save(BinaryWriter& w) const
        {
            w.write_tag("history");
            save_records(w, steps);
            save_records(w, evals);
        }

        /** @brief Reads what save() wrote, replacing the current records. */
        void load(BinaryReader& r)
        {
            r.expect_tag("history");
            // A record takes at least 48 bytes; the limit only guards against absurd counts.
            load_records(r, steps, "the step history");
            load_records(r, evals, "the evaluation history");
        }

    private:
        template <class Record>
        static void save_records(BinaryWriter& w, const std::vector<Record>& records)
        {
            w.write<std::uint64_t>(records.size());
            for (const Record& rec : records)
            {
                Record::visit(rec, [&w](const char*, const auto& v) { w.write(v); });
            }
        }

        template <class Record>
        static void load_records(BinaryReader& r, std::vector<Record>& records, std::string_view what)
        {
            const auto n = r.read_array_length(std::uint64_t(1) << 32, what);
            records.clear();
            // Reserve no more than a modest amount from an untrusted count; push_back grows if needed.
            records.reserve(static_cast<std::size_t>(n < 65536 ? n : 65536));
            for (std::uint64_t i = 0; i < n; ++i)
            {
                Record rec;
                Record::visit(rec, [&r](const char*, auto& v) { v = r.read<std::decay_t<decltype(v)>>(); });
                records.push_back(rec);
            }
        }
    };
}

#endif
