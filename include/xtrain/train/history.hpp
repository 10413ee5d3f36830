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
#include <vector>

#include "xtrain/core/error.hpp"
#include "xtrain/core/serialize.hpp"

namespace xtrain
{
    /** @brief One optimizer update. */
    struct StepRecord
    {
        std::uint64_t step = 0;          ///< 1-based index of this update
        std::uint64_t epoch = 0;         ///< 0-based epoch the update belongs to
        std::uint64_t examples_seen = 0; ///< training examples consumed up to and including this update
        double loss = 0.0;               ///< mean loss of the batch (before the update)
        double lr = 0.0;                 ///< learning rate the update used
        double wall_seconds = 0.0;       ///< time since fit began, at the end of the update
    };

    /** @brief One evaluation point (end of an epoch, every N steps, end of the run). */
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

        /** @brief Header line of the step CSV (with its newline). */
        static constexpr const char* steps_csv_header = "step,epoch,examples_seen,loss,lr,wall_seconds\n";
        /** @brief Header line of the evaluation CSV (with its newline). */
        static constexpr const char* evals_csv_header
            = "epoch,step,examples_seen,train_loss,val_loss,val_accuracy,lr,wall_seconds\n";

        /** @brief Writes one step row (with its newline). */
        static void write_csv_row(std::ostream& os, const StepRecord& r)
        {
            os << r.step << ',' << r.epoch << ',' << r.examples_seen << ',';
            detail::write_csv_number(os, r.loss);
            os << ',';
            detail::write_csv_number(os, r.lr);
            os << ',';
            detail::write_csv_number(os, r.wall_seconds);
            os << '\n';
        }

        /** @brief Writes one evaluation row (with its newline). */
        static void write_csv_row(std::ostream& os, const EvalRecord& r)
        {
            os << r.epoch << ',' << r.step << ',' << r.examples_seen << ',';
            for (double v : {r.train_loss, r.val_loss, r.val_accuracy, r.lr})
            {
                detail::write_csv_number(os, v);
                os << ',';
            }
            detail::write_csv_number(os, r.wall_seconds);
            os << '\n';
        }

        /** @brief Writes the step rows as CSV: step,epoch,examples_seen,loss,lr,wall_seconds. */
        void write_steps_csv(std::ostream& os) const
        {
            os << steps_csv_header;
            for (const StepRecord& r : steps)
            {
                write_csv_row(os, r);
            }
        }

        /** @brief Writes the evaluation rows as CSV (header as in EvalRecord's member order). */
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

        /** @brief Writes both vectors to a checkpoint. */
        void save(BinaryWriter& w) const
        {
            w.write_tag("history");
            w.write<std::uint64_t>(steps.size());
            for (const StepRecord& r : steps)
            {
                w.write(r.step);
                w.write(r.epoch);
                w.write(r.examples_seen);
                w.write(r.loss);
                w.write(r.lr);
                w.write(r.wall_seconds);
            }
            w.write<std::uint64_t>(evals.size());
            for (const EvalRecord& r : evals)
            {
                w.write(r.epoch);
                w.write(r.step);
                w.write(r.examples_seen);
                w.write(r.train_loss);
                w.write(r.val_loss);
                w.write(r.val_accuracy);
                w.write(r.lr);
                w.write(r.wall_seconds);
            }
        }

        /** @brief Reads what save() wrote, replacing the current records. */
        void load(BinaryReader& r)
        {
            r.expect_tag("history");
            // A record takes at least 48 bytes; the limit only guards against absurd counts.
            const auto ns = r.read_array_length(std::uint64_t(1) << 32, "the step history");
            steps.clear();
            // Reserve no more than a modest amount from an untrusted count; push_back grows if needed.
            steps.reserve(static_cast<std::size_t>(ns < 65536 ? ns : 65536));
            for (std::uint64_t i = 0; i < ns; ++i)
            {
                StepRecord s;
                s.step = r.read<std::uint64_t>();
                s.epoch = r.read<std::uint64_t>();
                s.examples_seen = r.read<std::uint64_t>();
                s.loss = r.read<double>();
                s.lr = r.read<double>();
                s.wall_seconds = r.read<double>();
                steps.push_back(s);
            }
            const auto ne = r.read_array_length(std::uint64_t(1) << 32, "the evaluation history");
            evals.clear();
            evals.reserve(static_cast<std::size_t>(ne < 65536 ? ne : 65536));
            for (std::uint64_t i = 0; i < ne; ++i)
            {
                EvalRecord e;
                e.epoch = r.read<std::uint64_t>();
                e.step = r.read<std::uint64_t>();
                e.examples_seen = r.read<std::uint64_t>();
                e.train_loss = r.read<double>();
                e.val_loss = r.read<double>();
                e.val_accuracy = r.read<double>();
                e.lr = r.read<double>();
                e.wall_seconds = r.read<double>();
                evals.push_back(e);
            }
        }
    };
}

#endif
