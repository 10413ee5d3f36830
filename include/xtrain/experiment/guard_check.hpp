/**
 * @file guard_check.hpp
 * @brief The early-stopping self-check: the same sweep with the divergence guard and with no early
 *        stopping at all, compared run by run.
 *
 * A guard that stops a run which would have trained is the worst error a sweep can make at the
 * stability edge: the heatmap shows a failure where training works, and the largest stable rate
 * is biased low. The check runs every cell twice, once with early stopping (the guarded sweep) and
 * once trained to the end of its budget (the unguarded twin), and holds the guard to two promises:
 * - **no false stop**: no run the guard stopped ends, trained to the end, more than `margin`
 *   above chance (validation accuracy above chance + margin; without accuracies, a final
 *   validation loss below (1 - margin) x the loss before training);
 * - **it pays**: of the runs that end at chance anyway (hopeless runs), it reports how much of
 *   their compute (examples trained on) the guard saved.
 * It also checks that the unguarded twin's guard_step (where the guard would have stopped it)
 * equals the step where the guarded run stopped: the two runs are the same up to there.
 */
#ifndef XTRAIN_EXPERIMENT_GUARD_CHECK_HPP
#define XTRAIN_EXPERIMENT_GUARD_CHECK_HPP

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "xtrain/core/error.hpp"
#include "xtrain/experiment/detail/text_io.hpp"
#include "xtrain/experiment/results_folder.hpp"

namespace xtrain
{
    /** @brief One run the guard stopped, beside its unguarded twin. */
    struct GuardCheckRun
    {
        RunKey key;                          ///< the run
        RunOutcome status = RunOutcome::diverged;  ///< how the guarded run ended
        std::uint64_t stopped_at_step = 0;   ///< where the guard stopped it
        std::uint64_t twin_guard_step = 0;   ///< where the twin says the guard would have stopped it
        std::uint64_t examples = 0;          ///< examples the guarded run trained on
        std::uint64_t twin_examples = 0;     ///< examples the twin trained on (its whole budget)
        double twin_value = std::numeric_limits<double>::quiet_NaN();  ///< the twin's final value (accuracy or loss)
        double bar = std::numeric_limits<double>::quiet_NaN();         ///< the value above which it trained
        bool false_stop = false;             ///< the twin trained: the guard should not have stopped it
        std::string note;                    ///< the guarded run's note (why it stopped)
    };

    /** @brief What the self-check found. */
    struct GuardCheckReport
    {
        std::string measure;        ///< "val_accuracy" or "val_loss": what "trained" is judged by
        double chance = std::numeric_limits<double>::quiet_NaN();  ///< chance accuracy (NaN: judged by loss)
        double margin = 0.10;       ///< how far above chance counts as trained
        std::size_t pairs = 0;      ///< runs present in both sweeps
        std::size_t stopped = 0;    ///< runs the guard stopped before their budget
        std::size_t false_stops = 0;  ///< of which the twin trained (must be 0)
        std::size_t step_mismatches = 0;  ///< stopped runs whose twin's guard_step differs (must be 0)
        std::size_t hopeless = 0;   ///< twins that ended at chance (within the margin)
        std::size_t hopeless_stopped = 0;  ///< of which the guard stopped early
        double hopeless_saved = 0.0;  ///< share of the hopeless runs' examples the guard saved
        double examples_guarded = 0.0;    ///< examples trained on by the whole guarded sweep
        double examples_unguarded = 0.0;  ///< and by the unguarded one
        double seconds_guarded = 0.0;     ///< run time of the guarded sweep (sum over runs)
        double seconds_unguarded = 0.0;   ///< and of the unguarded one
        std::vector<GuardCheckRun> runs;  ///< every stopped run, in grid order

        /** @brief No false stop and every stop where the twin says it would be. */
        bool passed() const noexcept { return false_stops == 0 && step_mismatches == 0; }
    };

    /**
     * @brief Compares a guarded sweep with its unguarded twin (see the file comment).
     * @param guarded results of the sweep with early stopping
     * @param unguarded results of the same grid trained to the end (RunSettings::early_stopping false)
     * @param chance chance accuracy of the validation set (chance_accuracy()); NaN to judge by loss
     * @param margin how far above chance (accuracy points, or fraction of the loss) counts as trained
     * @throws std::invalid_argument if the two grids differ in their runs.
     */
    inline GuardCheckReport check_guard(const ResultSet& guarded, const ResultSet& unguarded, double chance,
                                        double margin = 0.10)
    {
        const SweepGrid& a = guarded.meta.config.grid;
        const SweepGrid& b = unguarded.meta.config.grid;
        detail::require(a.optimizers == b.optimizers && a.lrs == b.lrs && a.batch_sizes == b.batch_sizes
                            && a.seeds == b.seeds && a.schedules == b.schedules,
                        "xtrain::check_guard", "unguarded", "a sweep of another grid",
                        "must be the guarded sweep's grid trained without early stopping");
        GuardCheckReport rep;
        rep.chance = chance;
        rep.margin = margin;
        rep.measure = std::isnan(chance) ? "val_loss" : "val_accuracy";
        double hopeless_guarded = 0.0;
        double hopeless_unguarded = 0.0;
        for (const RunRecord& g : guarded.runs)
        {
            const RunRecord* u = unguarded.find(g.spec.key());
            if (u == nullptr)
            {
                continue;
            }
            ++rep.pairs;
            const RunSummary& gs = g.summary;
            const RunSummary& us = u->summary;
            rep.examples_guarded += static_cast<double>(gs.last.examples_seen);
            rep.examples_unguarded += static_cast<double>(us.last.examples_seen);
            rep.seconds_guarded += gs.run_seconds;
            rep.seconds_unguarded += us.run_seconds;
            // Where the twin ended, and the bar above which that counts as trained.
            double value = std::numeric_limits<double>::quiet_NaN();
            double bar = std::numeric_limits<double>::quiet_NaN();
            bool trained = false;
            if (!std::isnan(chance))
            {
                value = us.last.val_accuracy;
                bar = chance + margin;
                trained = value > bar;
            }
            else
            {
                value = us.last.val_loss;
                const double start = u->rows.empty() ? std::numeric_limits<double>::quiet_NaN() : u->rows.front().val_loss;
                bar = (1.0 - margin) * start;
                trained = std::isfinite(value) && value < bar;
            }
            const bool stopped = gs.guard_step > 0 && gs.last.examples_seen < us.last.examples_seen;
            if (!trained)
            {
                ++rep.hopeless;
                rep.hopeless_stopped += stopped ? 1 : 0;
                hopeless_guarded += static_cast<double>(gs.last.examples_seen);
                hopeless_unguarded += static_cast<double>(us.last.examples_seen);
            }
            if (!stopped)
            {
                continue;
            }
            ++rep.stopped;
            GuardCheckRun r;
            r.key = g.spec.key();
            r.status = gs.status;
            r.stopped_at_step = gs.guard_step;
            r.twin_guard_step = us.guard_step;
            r.examples = gs.last.examples_seen;
            r.twin_examples = us.last.examples_seen;
            r.twin_value = value;
            r.bar = bar;
            r.false_stop = trained;
            r.note = gs.note;
            rep.false_stops += trained ? 1 : 0;
            rep.step_mismatches += us.guard_step != gs.guard_step ? 1 : 0;
            rep.runs.push_back(std::move(r));
        }
        rep.hopeless_saved = hopeless_unguarded > 0.0 ? 1.0 - hopeless_guarded / hopeless_unguarded : 0.0;
        return rep;
    }

    /** @brief Writes @p rep's stopped runs as CSV (one row each), for a results folder. */
    inline void write_guard_check_csv(const std::filesystem::path& file, const GuardCheckReport& rep)
    {
        using detail::format_double;
        using detail::format_uint;
        std::string text = "optimizer,lr,batch_size,seed,schedule,status,stopped_at_step,twin_guard_step,examples,"
                           "twin_examples,twin_" + rep.measure + ",bar,false_stop,note\n";
        for (const GuardCheckRun& r : rep.runs)
        {
            text += r.key.optimizer + "," + format_double(r.key.lr) + "," + format_uint(r.key.batch_size) + ","
                  + format_uint(r.key.seed) + "," + r.key.schedule + "," + run_outcome_name(r.status) + ","
                  + format_uint(r.stopped_at_step) + "," + format_uint(r.twin_guard_step) + "," + format_uint(r.examples)
                  + "," + format_uint(r.twin_examples) + "," + format_double(r.twin_value) + "," + format_double(r.bar)
                  + "," + (r.false_stop ? "1" : "0") + "," + detail::csv_field(r.note) + "\n";
        }
        detail::write_file_atomic(file, text);
    }

    /** @brief A paragraph for the user: the verdict and the figures. */
    inline std::string describe_guard_check(const GuardCheckReport& rep)
    {
        using detail::concat;
        auto pct = [](double x) { return concat(std::round(x * 1000.0) / 10.0, " %"); };
        std::string s = concat("Early-stopping self-check over ", rep.pairs, " runs (each trained once with the guard and once to the end):\n");
        s += concat("  the guard stopped ", rep.stopped, " runs early; ", rep.false_stops,
                    " of them would have trained (", rep.measure, " above ",
                    std::isnan(rep.chance) ? std::string("(1 - ") + detail::format_double(rep.margin) + ") x its start"
                                           : concat("chance ", rep.chance, " + ", rep.margin),
                    " at the end)", rep.false_stops == 0 ? ": none, as it must be.\n" : ": the guard is wrong for these.\n");
        s += concat("  ", rep.hopeless, " runs end at chance when trained to the end; the guard stopped ", rep.hopeless_stopped,
                    " of them early and saved ", pct(rep.hopeless_saved), " of their examples.\n");
        s += concat("  the whole sweep: ", pct(rep.examples_unguarded > 0 ? 1.0 - rep.examples_guarded / rep.examples_unguarded : 0.0),
                    " fewer examples, ", detail::format_double(std::round(rep.seconds_guarded)), " s of run time against ",
                    detail::format_double(std::round(rep.seconds_unguarded)), " s.\n");
        if (rep.step_mismatches != 0)
        {
            s += concat("  ", rep.step_mismatches, " stopped runs have twins whose guard fired at another step: the two sweeps "
                        "did not train the same runs.\n");
        }
        s += rep.passed() ? "  PASSED" : "  FAILED";
        return s;
    }
}

#endif
