/**
 * @file run_summary.hpp
 * @brief One run condensed to a row of summary.csv: final metrics, time to target, status.
 */
#ifndef XTRAIN_EXPERIMENT_RUN_SUMMARY_HPP
#define XTRAIN_EXPERIMENT_RUN_SUMMARY_HPP

#include <cmath>
#include <cstddef>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "xtrain/experiment/eval_sink.hpp"
#include "xtrain/experiment/sweep_grid.hpp"
#include "xtrain/experiment/target.hpp"

namespace xtrain
{
    /** @brief A run's outcome: one row of summary.csv. */
    struct RunSummary
    {
        RunKey key;                              ///< which run
        RunOutcome status = RunOutcome::finished;  ///< finished or diverged
        std::size_t eval_rows = 0;               ///< rows the run has in runs.csv (checked on resume)
        EvalRow last;                            ///< the last evaluation row (NaN metrics if none)
        double best_val_accuracy = std::numeric_limits<double>::quiet_NaN();  ///< max over the rows
        double min_val_loss = std::numeric_limits<double>::quiet_NaN();       ///< min over the rows
        double run_seconds = 0.0;                ///< wall time of the whole run as the sweep measured it
        Target target;                           ///< the target in effect
        bool target_reached = false;             ///< whether `to_target` is meaningful
        TargetHit to_target;                     ///< when the target was first met
        std::string note;                        ///< the run function's note (e.g. why it diverged)

        /** @brief True if the run diverged. */
        bool diverged() const noexcept { return status == RunOutcome::diverged; }
    };

    /**
     * @brief Condenses a run's rows and result into its summary.
     *
     * - A run returned as finished whose last row has a non-finite train_loss is recorded as
     *   diverged (the run function missed it), with a note saying so.
     * - The time to target is the earliest of the sink's target_reached() report and the first
     *   recorded row that meets the target (so it is known at evaluation resolution at least).
     *   A run that reaches the target and diverges later keeps its time to target.
     */
    inline RunSummary summarize_run(const RunKey& key, const std::vector<EvalRow>& rows, const RunResult& result,
                                    double run_seconds, const Target& target,
                                    const std::optional<TargetHit>& reported = std::nullopt)
    {
        constexpr double nan = std::numeric_limits<double>::quiet_NaN();
        RunSummary s;
        s.key = key;
        s.status = result.status;
        s.note = result.note;
        s.eval_rows = rows.size();
        s.run_seconds = run_seconds;
        s.target = target;
        if (rows.empty())
        {
            s.last.train_loss = s.last.val_loss = s.last.val_accuracy = s.last.lr_in_effect = nan;
        }
        else
        {
            s.last = rows.back();
        }
        for (const auto& r : rows)
        {
            if (!std::isnan(r.val_accuracy) && !(r.val_accuracy <= s.best_val_accuracy))
            {
                s.best_val_accuracy = r.val_accuracy;
            }
            if (!std::isnan(r.val_loss) && !(r.val_loss >= s.min_val_loss))
            {
                s.min_val_loss = r.val_loss;
            }
        }
        if (s.status == RunOutcome::finished && !rows.empty() && !std::isfinite(rows.back().train_loss))
        {
            s.status = RunOutcome::diverged;
            s.note = s.note.empty() ? "train_loss not finite at the last evaluation"
                                    : s.note + "; train_loss not finite at the last evaluation";
        }
        std::optional<TargetHit> hit = reported;
        if (target.enabled())
        {
            for (const auto& r : rows)
            {
                const double v = target.metric == TargetMetric::val_accuracy ? r.val_accuracy
                               : target.metric == TargetMetric::val_loss     ? r.val_loss
                                                                             : r.train_loss;
                if (target.met(v))
                {
                    if (!hit || r.step < hit->step)
                    {
                        hit = TargetHit{r.epoch, r.step, r.examples_seen, r.wall_seconds};
                    }
                    break;
                }
            }
        }
        else
        {
            hit.reset();
        }
        s.target_reached = hit.has_value();
        if (hit)
        {
            s.to_target = *hit;
        }
        return s;
    }
}

#endif
