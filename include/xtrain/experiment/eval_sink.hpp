/**
 * @file eval_sink.hpp
 * @brief What a run function reports to the sweep: evaluation rows, the target, its final status.
 *
 * A run function has the signature `RunResult fn(const RunSpec&, EvalSink&)`. It trains one cell
 * of the grid, calls `sink.record(row)` at each evaluation point, and returns how the run ended:
 * `RunResult::finished()` or `RunResult::diverged("why")`. A diverged run is a result, written
 * like any other. An exception escaping the function marks the run *failed* (recorded with its
 * message in failures.csv, retried when the sweep is run again); the sweep goes on. Throwing
 * `sweep_interrupted` instead stops the sweep: the run is not recorded at all, no new run starts.
 */
#ifndef XTRAIN_EXPERIMENT_EVAL_SINK_HPP
#define XTRAIN_EXPERIMENT_EVAL_SINK_HPP

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "xtrain/experiment/sweep_grid.hpp"
#include "xtrain/experiment/target.hpp"
#include "xtrain/train/history.hpp"

namespace xtrain
{
    /**
     * @brief One evaluation point of one run: a row of runs.csv (without the run's key).
     *
     * A value that was not measured (no validation set, no accuracy for a regression) is NaN,
     * written "nan".
     */
    struct EvalRow
    {
        double epoch = 0.0;                ///< epochs completed; fractional for mid-epoch evaluations
        std::uint64_t step = 0;            ///< optimizer steps taken so far
        std::uint64_t examples_seen = 0;   ///< training examples consumed so far
        double train_loss = 0.0;           ///< training loss (e.g. mean over the last epoch)
        double val_loss = 0.0;             ///< validation loss
        double val_accuracy = 0.0;         ///< validation accuracy in [0, 1]
        double lr_in_effect = 0.0;         ///< learning rate the optimizer uses at this point
        double wall_seconds = 0.0;         ///< seconds since the run started

        /**
         * @brief Calls f(name, member) for every field, in column order (@p r may be const): the
         *        columns of runs.csv and of a run's last row in summary.csv, written and read by name.
         */
        template <class Row, class F>
        static void visit(Row& r, F&& f)
        {
            f("epoch", r.epoch);
            f("step", r.step);
            f("examples_seen", r.examples_seen);
            f("train_loss", r.train_loss);
            f("val_loss", r.val_loss);
            f("val_accuracy", r.val_accuracy);
            f("lr_in_effect", r.lr_in_effect);
            f("wall_seconds", r.wall_seconds);
        }
    };

    /**
     * @brief The trainer's evaluation point @p r as an EvalRow: its epoch is examples seen /
     *        @p train_size (fractional), which puts runs at different batch sizes, or with a batch
     *        size that changes, on the same axis; the other fields are copied.
     */
    inline EvalRow eval_row(const EvalRecord& r, std::size_t train_size)
    {
        EvalRow row;
        row.epoch = static_cast<double>(r.examples_seen) / static_cast<double>(train_size);
        row.step = r.step;
        row.examples_seen = r.examples_seen;
        row.train_loss = r.train_loss;
        row.val_loss = r.val_loss;
        row.val_accuracy = r.val_accuracy;
        row.lr_in_effect = r.lr;
        row.wall_seconds = r.wall_seconds;
        return row;
    }

    /**
     * @brief How a run ended.
     *
     * `diverged` and `stalled` are results, recorded and analysed like `finished`; only `failed`
     * is not a result.
     */
    enum class RunOutcome
    {
        finished,  ///< trained: the budget was used up, and the run got somewhere
        diverged,  ///< blew up: a loss that is not finite, or far above its start for good
        failed,    ///< the run function threw: not a result; retried on the next invocation
        stalled    ///< trained to the end, or stopped as a dead network, at or near chance
    };

    /** @brief "finished", "diverged", "stalled" or "failed". */
    inline const char* run_outcome_name(RunOutcome s) noexcept
    {
        switch (s)
        {
        case RunOutcome::finished: return "finished";
        case RunOutcome::diverged: return "diverged";
        case RunOutcome::stalled: return "stalled";
        case RunOutcome::failed: break;
        }
        return "failed";
    }

    /** @brief What a run function returns. */
    struct RunResult
    {
        RunOutcome status = RunOutcome::finished;  ///< finished, diverged or stalled (failed is set by the sweep)
        std::string note;                        ///< free text kept in summary.csv, e.g. why it diverged
        /** @brief Loss of the final model on a test set (NaN: not measured). */
        double test_loss = std::numeric_limits<double>::quiet_NaN();
        /** @brief Accuracy of the final model on a test set (NaN: not measured). */
        double test_accuracy = std::numeric_limits<double>::quiet_NaN();
        /** @brief Seconds the run spent evaluating (NaN: not measured). */
        double eval_seconds = std::numeric_limits<double>::quiet_NaN();
        /** @brief Seconds spent resolving the time to target more finely than the evaluations (NaN: none). */
        double refine_seconds = std::numeric_limits<double>::quiet_NaN();
        /**
         * @brief The step at which an early-stopping rule stopped the run (or, with early stopping
         * off, would have stopped it); 0 if it never did.
         */
        std::uint64_t guard_step = 0;
        /** @brief Where each early-stopping rule first fired, e.g. "dead@600;at_chance@450" (empty: none). */
        std::string guard_rules;

        /** @brief Calls f(name, member) for every field (@p r may be const). */
        template <class Result, class F>
        static void visit(Result& r, F&& f)
        {
            f("status", r.status);
            f("note", r.note);
            f("test_loss", r.test_loss);
            f("test_accuracy", r.test_accuracy);
            f("eval_seconds", r.eval_seconds);
            f("refine_seconds", r.refine_seconds);
            f("guard_step", r.guard_step);
            f("guard_rules", r.guard_rules);
        }

        /** @brief The run used its whole budget and got somewhere. */
        static RunResult finished(std::string note = {}) { return make(RunOutcome::finished, std::move(note)); }
        /** @brief The run blew up; @p note says how (e.g. "loss inf at step 120"). */
        static RunResult diverged(std::string note = {}) { return make(RunOutcome::diverged, std::move(note)); }
        /** @brief The run ended at or near chance (or its network died); @p note says how. */
        static RunResult stalled(std::string note = {}) { return make(RunOutcome::stalled, std::move(note)); }

    private:
        static RunResult make(RunOutcome status, std::string note)
        {
            RunResult r;
            r.status = status;
            r.note = std::move(note);
            return r;
        }
    };

    /**
     * @brief Thrown by a run function to stop the whole sweep (e.g. on Ctrl-C): the current run is
     *        dropped, runs already in flight on other workers finish and are recorded, no new run starts.
     */
    class sweep_interrupted : public std::runtime_error
    {
    public:
        using std::runtime_error::runtime_error;
    };

    /**
     * @brief Collects what one run reports. The sweep makes one per run and writes its rows to
     *        runs.csv, all at once, when the run returns.
     *
     * Used by one thread (the worker running the run function); not shared between runs.
     */
    class EvalSink
    {
    public:
        /**
         * @brief A sink for the run @p spec; @p stop, if given, is the flag stop_requested() reads.
         * The clock of elapsed_seconds() starts here.
         */
        explicit EvalSink(RunSpec spec, Target target = {}, const std::atomic<bool>* stop = nullptr)
            : m_spec(std::move(spec)), m_target(target), m_stop(stop), m_start(std::chrono::steady_clock::now())
        {
        }

        /** @brief Appends an evaluation point. */
        void record(const EvalRow& row) { m_rows.push_back(row); }

        /**
         * @brief Reports that the target was met at @p hit, for a run function that checks it more
         *        often than it evaluates. The earliest report (fewest steps) is kept; the sweep also
         *        checks the recorded rows and keeps whichever came first.
         */
        void target_reached(const TargetHit& hit)
        {
            if (!m_hit || hit.step < m_hit->step)
            {
                m_hit = hit;
            }
        }

        /** @brief The run being reported. */
        const RunSpec& spec() const noexcept { return m_spec; }
        /** @brief The sweep's target (metric none when there is no target). */
        const Target& target() const noexcept { return m_target; }
        /** @brief Seconds since the sink was created, i.e. since the run started. */
        double elapsed_seconds() const noexcept
        {
            return std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
        }
        /**
         * @brief True once the sweep has been asked to stop (SweepOptions::stop). A long run may
         *        poll it and throw sweep_interrupted to give up its run early.
         */
        bool stop_requested() const noexcept { return m_stop != nullptr && m_stop->load(); }

        /** @brief The rows recorded so far. */
        const std::vector<EvalRow>& rows() const noexcept { return m_rows; }
        /** @brief The earliest target_reached() report, if any. */
        const std::optional<TargetHit>& reported_target() const noexcept { return m_hit; }

    private:
        RunSpec m_spec;
        Target m_target;
        const std::atomic<bool>* m_stop;
        std::chrono::steady_clock::time_point m_start;
        std::vector<EvalRow> m_rows;
        std::optional<TargetHit> m_hit;
    };
}

#endif
