/**
 * @file trainer_run.hpp
 * @brief Binds the Trainer to the sweep engine: a run function for your own model and data.
 *
 * ```cpp
 * xtrain::RunSettings settings;
 * settings.budget = xtrain::Budget::epochs(5);
 * auto fn = xtrain::make_trainer_run(train, &validation,
 *                                    [](std::uint64_t seed) { return MyModel(seed); }, settings);
 * xtrain::run_sweep(config, "results", fn, options);
 * ```
 * For each cell of the grid the run function builds the model from the run's seed, the optimizer
 * named in the grid at the cell's learning rate (scaled with the batch size if asked), a shuffled
 * `BatchSampler` seeded with the run's seed (so every batch size sees the same data order), a
 * per-step learning-rate schedule (the one its grid cell names, under a linear warm-up if asked),
 * a divergence guard, and reports every
 * evaluation point to the sweep, the first one before any update. A run that blew up or stalled
 * is returned as a result, not thrown. When the target is first met between two evaluation points,
 * the run goes back to the earlier one (an in-memory copy of the trainer's state) and bisects the
 * interval, so that the steps to target are known to within `target_precision` of themselves.
 */
#ifndef XTRAIN_EXPERIMENT_TRAINER_RUN_HPP
#define XTRAIN_EXPERIMENT_TRAINER_RUN_HPP

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "xtrain/core/error.hpp"
#include "xtrain/core/extent.hpp"
#include "xtrain/data/batch_sampler.hpp"
#include "xtrain/data/dataset.hpp"
#include "xtrain/experiment/detail/text_io.hpp"
#include "xtrain/experiment/eval_sink.hpp"
#include "xtrain/experiment/finetune.hpp"
#include "xtrain/experiment/noise_scale_files.hpp"
#include "xtrain/experiment/run_sweep.hpp"
#include "xtrain/experiment/sweep_grid.hpp"
#include "xtrain/experiment/sweep_optimizers.hpp"
#include "xtrain/experiment/sweep_schedules.hpp"
#include "xtrain/optim/lr_scaling.hpp"
#include "xtrain/optim/optimizer.hpp"
#include "xtrain/optim/schedules.hpp"
#include "xtrain/train/callbacks/divergence_guard.hpp"
#include "xtrain/experiment/target.hpp"
#include "xtrain/train/callbacks/lr_scheduler.hpp"
#include "xtrain/train/callbacks/noise_scale_monitor.hpp"
#include "xtrain/train/trainer.hpp"

namespace xtrain
{
    // ---------------------------------------------------------------------------------------------
    // Batch sizes fixed at compile time
    // ---------------------------------------------------------------------------------------------

    /**
     * @brief A list of batch sizes for which a sweep instantiates `BatchSampler<Size>` at compile time;
     * other sizes of the grid use `BatchSampler<dynamic>`.
     */
    template <std::size_t... Sizes>
    struct BatchSizes
    {
    };

    namespace detail
    {
        template <class T>
        struct identity
        {
            using type = T;
        };
        /** @brief T, in a context where it is not deduced (std::type_identity_t before C++20). */
        template <class T>
        using identity_t = typename identity<T>::type;

        template <class F>
        auto batch_sampler_dispatch(std::size_t batch_size, std::size_t n, const SamplerOptions& options, F& f)
            -> decltype(f(BatchSampler<dynamic>(n, batch_size, options)))
        {
            return f(BatchSampler<dynamic>(n, batch_size, options));
        }

        template <std::size_t S, std::size_t... Rest, class F>
        auto batch_sampler_dispatch(std::size_t batch_size, std::size_t n, const SamplerOptions& options, F& f)
            -> decltype(f(BatchSampler<dynamic>(n, batch_size, options)))
        {
            if (batch_size == S)
            {
                return f(BatchSampler<S>(n, options));
            }
            return batch_sampler_dispatch<Rest...>(batch_size, n, options, f);
        }
    }

    /**
     * @brief Calls @p f with `BatchSampler<S>(n, options)` when @p batch_size is one of the listed S,
     * else with `BatchSampler<dynamic>(n, batch_size, options)`.
     */
    template <std::size_t... Sizes, class F>
    auto with_batch_sampler(BatchSizes<Sizes...>, std::size_t batch_size, std::size_t n, const SamplerOptions& options,
                            F&& f) -> decltype(f(BatchSampler<dynamic>(n, batch_size, options)))
    {
        return detail::batch_sampler_dispatch<Sizes...>(batch_size, n, options, f);
    }

    // ---------------------------------------------------------------------------------------------
    // Callbacks that report to the sweep
    // ---------------------------------------------------------------------------------------------

    /**
     * @brief Reports each evaluation point of a Trainer to a sweep's EvalSink, and gives up the run
     * when the sweep is asked to stop (Ctrl-C), by throwing sweep_interrupted.
     */
    class SweepReporter
    {
    public:
        /**
         * @brief Reports to @p sink; @p train_size converts examples seen into (fractional) epochs.
         * With @p record false it only polls the stop flag (a replay of part of a run).
         */
        SweepReporter(EvalSink& sink, std::size_t train_size, bool record = true)
            : m_sink(&sink), m_train_size(train_size), m_record(record)
        {
        }

        /** @brief One row of runs.csv. */
        template <class Tr>
        void on_evaluate(Tr&, const EvalRecord& r)
        {
            if (!m_record)
            {
                return;
            }
            EvalRow row = eval_row(r, m_train_size);
            row.wall_seconds = m_sink->elapsed_seconds();  // since the run started, set-up included
            m_sink->record(row);
        }

        /** @brief Polls the sweep's stop flag once per update. */
        template <class Tr>
        void on_step_end(Tr& t)
        {
            if (m_sink->stop_requested())
            {
                throw sweep_interrupted(detail::concat("stopped at step ", t.step()));
            }
        }

    private:
        EvalSink* m_sink;
        std::size_t m_train_size;
        bool m_record;
    };

    /**
     * @brief Watches the evaluation points for the first that meets a target, and keeps (when asked)
     * an in-memory copy of the trainer's state at the last point that did not: the place to go back
     * to and look between the two.
     */
    class TargetTracker
    {
    public:
        /** @brief Watches @p target; keeps the trainer's state at the last miss if @p keep_state. */
        explicit TargetTracker(Target target = {}, bool keep_state = false)
            : m_target(target), m_keep_state(keep_state)
        {
        }

        /** @brief Checks the evaluation point. */
        template <class Tr>
        void on_evaluate(Tr& t, const EvalRecord& r)
        {
            if (!m_target.enabled() || m_hit)
            {
                return;
            }
            if (m_target.met(value(r)))
            {
                m_hit = r;
                return;
            }
            m_miss = r;
            if (m_keep_state)
            {
                t.request_state(m_state);
            }
        }

        /** @brief The target's metric at an evaluation point. */
        double value(const EvalRecord& r) const noexcept
        {
            return m_target.metric == TargetMetric::val_accuracy ? r.val_accuracy
                 : m_target.metric == TargetMetric::val_loss     ? r.val_loss
                                                                 : r.train_loss;
        }
        /** @brief The target. */
        const Target& target() const noexcept { return m_target; }
        /** @brief The first evaluation point that met the target. */
        const std::optional<EvalRecord>& hit() const noexcept { return m_hit; }
        /** @brief The last evaluation point before it (or so far) that did not. */
        const std::optional<EvalRecord>& miss() const noexcept { return m_miss; }
        /** @brief The trainer's state at miss() (empty unless kept). */
        const std::string& state_at_miss() const noexcept { return m_state; }

    private:
        Target m_target;
        bool m_keep_state;
        std::optional<EvalRecord> m_hit;
        std::optional<EvalRecord> m_miss;
        std::string m_state;
    };

    // ---------------------------------------------------------------------------------------------
    // The run function
    // ---------------------------------------------------------------------------------------------

    /** @brief How the learning rate of a grid cell depends on its batch size. */
    enum class LrScaling : std::uint8_t
    {
        none,   ///< the grid's lr is used as it is
        linear, ///< lr x B / B0 (Goyal et al. 2017; SGD)
        sqrt    ///< lr x sqrt(B / B0) (Hoffer et al. 2017; Adam-type)
    };

    /** @brief Everything about a sweep's runs that the grid does not vary. */
    struct RunSettings
    {
        Budget budget = Budget::epochs(3);  ///< per run (a total)
        std::size_t evals_per_epoch = 1;    ///< evaluation points per epoch (>= 1; finer gives finer steps-to-target)
        std::size_t eval_batch_size = 1000; ///< rows per forward pass when evaluating
        OptimizerSettings optimizer;        ///< momentum, weight decay
        LrScaling scaling = LrScaling::none;  ///< how lr depends on the batch size
        std::size_t base_batch_size = 0;      ///< B0 of the scaling rule (required unless none)
        double warmup_epochs = 0.0;           ///< linear warm-up, per step, over this many epochs
        /** @brief Warm-up starts at this fraction of the rate; NaN: B0/B under scaling (Goyal et al.), else 0.1. */
        double warmup_start_factor = std::numeric_limits<double>::quiet_NaN();
        /** @brief When a run is stopped early (DivergenceGuard's rule: blow-up factor, smoothing, dead networks). */
        DivergenceRule divergence;
        /**
         * @brief false: no run is stopped before its budget (the guard only notes where it would
         * have stopped, in guard_step); outcomes are judged at the end. For checking the guard.
         */
        bool early_stopping = true;
        /**
         * @brief A run that ends less than this fraction of the way from chance to perfect is
         * `stalled`: validation accuracy below chance + f (1 - chance), chance being the share of
         * the validation set's most common class; without accuracies, a final loss above (1 - f)
         * x the loss before training.
         */
        double stall_fraction = 0.1;
        /**
         * @brief Steps to target are resolved to within this fraction of themselves (or one step) by
         * bisecting, from an in-memory copy of the state, the evaluation interval in which the
         * target was first met; 0 leaves them at evaluation resolution. Not for train_loss targets
         * (their value depends on the evaluation spacing).
         */
        double target_precision = 0.02;
        std::size_t noise_scale_every = 0;   ///< measure B_simple every N updates, at least 32 times an epoch (0: off)
        std::filesystem::path noise_scale_dir; ///< where per-run noise-scale CSV files go (empty: not written)
        std::size_t accumulation_steps = 1;  ///< micro-batches per update (the grid's B is the micro-batch)
        /**
         * @brief A user's own schedules, by the name a grid uses (sweep_schedules.hpp), beside
         * xtrain's constant, cosine, linear and step. Names are part of each run's key, so a
         * resume with another factory under the same name is not detected: rename it.
         */
        std::map<std::string, ScheduleFactory, std::less<>> schedules;
        /**
         * @brief Initial weights (a parameters file or a Trainer checkpoint, whole or in part) and
         * per-tensor lr multipliers (0 freezes) and weight decays, applied to every run's model
         * (experiment/finetune.hpp); off by default.
         */
        FineTuning finetune;

        /** @brief @throws std::invalid_argument naming the first impossible setting. */
        void validate() const
        {
            const char* where = "xtrain::RunSettings";
            detail::require(budget.amount > 0, where, "budget.amount", budget.amount, "must be > 0");
            detail::require(evals_per_epoch >= 1, where, "evals_per_epoch", evals_per_epoch, "must be >= 1");
            detail::require(eval_batch_size >= 1, where, "eval_batch_size", eval_batch_size, "must be >= 1");
            detail::require(scaling == LrScaling::none || base_batch_size > 0, where, "base_batch_size",
                            base_batch_size, "must be > 0 when the lr is scaled with the batch size");
            detail::require(warmup_epochs >= 0.0 && std::isfinite(warmup_epochs), where, "warmup_epochs", warmup_epochs,
                            "must be finite and >= 0");
            detail::require(std::isnan(warmup_start_factor) || (warmup_start_factor >= 0.0 && warmup_start_factor <= 1.0),
                            where, "warmup_start_factor", warmup_start_factor, "must be in [0, 1]");
            divergence.validate();
            detail::require(stall_fraction >= 0.0 && stall_fraction < 1.0, where, "stall_fraction", stall_fraction,
                            "must be in [0, 1)");
            detail::require(target_precision >= 0.0 && target_precision < 1.0, where, "target_precision",
                            target_precision, "must be in [0, 1)");
            detail::require(accumulation_steps >= 1, where, "accumulation_steps", accumulation_steps, "must be >= 1");
            for (const auto& [name, factory] : schedules)
            {
                if (name.empty() || is_builtin_schedule(name))
                {
                    throw std::invalid_argument(detail::concat(
                        where, ": schedules: the name '", name, "' ",
                        name.empty() ? "is empty" : "is one of xtrain's own schedules; give yours another name"));
                }
                if (!factory)
                {
                    throw std::invalid_argument(detail::concat(where, ": schedules: '", name, "' has no factory"));
                }
            }
            finetune.validate();
        }

        /** @brief The rate a cell trains at: its grid lr, scaled for its batch size. */
        double scaled_lr(double lr, std::size_t batch_size) const
        {
            switch (scaling)
            {
            case LrScaling::linear:
                return linear_scaled_lr(lr, static_cast<double>(batch_size), static_cast<double>(base_batch_size));
            case LrScaling::sqrt:
                return sqrt_scaled_lr(lr, static_cast<double>(batch_size), static_cast<double>(base_batch_size));
            case LrScaling::none:
                break;
            }
            return lr;
        }

        /**
         * @brief A short text for SweepConfig::budget: everything here that changes results. With
         * the grid's @p optimizers, only the hyperparameters they use are named (momentum only for
         * momentum, nesterov and lars).
         */
        std::string describe(const std::vector<std::string>& optimizers = {}) const
        {
            std::string s = budget.describe() + ", " + std::to_string(evals_per_epoch) + " evaluations/epoch";
            const bool momentum = optimizers.empty()
                || std::any_of(optimizers.begin(), optimizers.end(), [](const std::string& o) {
                       return o == "momentum" || o == "nesterov" || o == "lars";
                   });
            if (momentum)
            {
                s += detail::concat(", momentum ", optimizer.momentum);
            }
            if (optimizer.weight_decay)
            {
                s += detail::concat(", weight decay ", *optimizer.weight_decay);
            }
            if (scaling != LrScaling::none)
            {
                s += detail::concat(", lr scaled ", scaling == LrScaling::linear ? "linearly" : "by sqrt",
                                    " from B0 = ", base_batch_size);
            }
            if (warmup_epochs > 0.0)
            {
                s += detail::concat(", warm-up ", warmup_epochs, " epochs");
                if (!std::isnan(warmup_start_factor))
                {
                    s += detail::concat(" from ", warmup_start_factor);
                }
            }
            if (accumulation_steps > 1)
            {
                s += detail::concat(", accumulation x", accumulation_steps);
            }
            if (!early_stopping)
            {
                s += ", no early stopping";
            }
            else
            {
                s += detail::concat(", stopped when the loss smoothed over ", divergence.smoothing_examples,
                                    " examples stays above ", divergence.factor, "x its start");
                if (divergence.stop_dead)
                {
                    s += divergence.stop_nearly_dead ? " or the network is dead or nearly dead" : " or the network is dead";
                }
            }
            s += detail::concat(", stalled below ", stall_fraction, " of the way from chance");
            if (noise_scale_every > 0)
            {
                // Not the training, but the noise_scale files: a resume must not mix two cadences.
                s += detail::concat(", gradient noise scale every ", noise_scale_every, " steps");
            }
            if (target_precision > 0.0)
            {
                s += detail::concat(", steps to target to ", target_precision);
            }
            if (finetune.enabled())
            {
                s += ", " + finetune.describe();
            }
            return s;
        }
    };

    namespace detail
    {
        /**
         * @brief Whether a run that trained to the end of its budget is `stalled` (RunSettings::stall_fraction):
         * @p note says why when it is.
         */
        inline bool ended_near_chance(const std::vector<EvalRow>& rows, double chance, double fraction, std::string& note)
        {
            if (rows.empty())
            {
                return false;
            }
            const EvalRow& last = rows.back();
            if (std::isfinite(last.val_accuracy) && std::isfinite(chance))
            {
                const double bar = chance + fraction * (1.0 - chance);
                if (last.val_accuracy < bar)
                {
                    note = concat("ended at val_accuracy ", last.val_accuracy, ", below ", bar, " (chance ", chance,
                                  " + ", fraction, " of the way to 1)");
                    return true;
                }
                return false;
            }
            const bool val = std::isfinite(last.val_loss) && std::isfinite(rows.front().val_loss);
            const double start = val ? rows.front().val_loss : std::numeric_limits<double>::quiet_NaN();
            const double end = val ? last.val_loss : last.train_loss;
            if (std::isfinite(start) && std::isfinite(end) && start > 0.0 && end > (1.0 - fraction) * start)
            {
                note = concat("ended at ", val ? "val_loss " : "train_loss ", end, ", above ", 1.0 - fraction,
                              " x the loss before training ", start);
                return true;
            }
            return false;
        }

        /** @brief The wall time at @p step, interpolated between the rows around it. */
        inline double wall_at_step(const std::vector<EvalRow>& rows, std::uint64_t step)
        {
            const EvalRow* before = nullptr;
            for (const EvalRow& r : rows)
            {
                if (r.step >= step)
                {
                    if (before == nullptr || r.step == before->step)
                    {
                        return r.wall_seconds;
                    }
                    const double f = static_cast<double>(step - before->step) / static_cast<double>(r.step - before->step);
                    return before->wall_seconds + f * (r.wall_seconds - before->wall_seconds);
                }
                before = &r;
            }
            return rows.empty() ? 0.0 : rows.back().wall_seconds;
        }
    }

    /**
     * @brief Refused at compile time: the run function keeps a reference to the training set, and
     * a temporary (e.g. `make_trainer_run(load_data(), ...)`) would be gone before the sweep runs.
     * Keep the dataset in a variable that outlives the sweep.
     */
    template <class T, class MakeModel, class... Rest>
    RunFunction make_trainer_run(Dataset<T>&&, const detail::identity_t<Dataset<T>>*, MakeModel, RunSettings, Rest&&...)
    {
        static_assert(sizeof(T) == 0,
                      "xtrain::make_trainer_run: the training set is a temporary; the run function keeps a "
                      "reference to it, so keep the dataset in a variable that outlives the sweep");
        return {};
    }

    namespace detail
    {
        /** @brief Updates a budget allows at @p steps_per_epoch updates of @p examples_per_step examples. */
        inline std::size_t budget_steps(const Budget& b, std::size_t train_size, std::size_t steps_per_epoch,
                                        std::size_t examples_per_step)
        {
            switch (b.unit)
            {
            case Budget::Unit::steps:
                return static_cast<std::size_t>(b.amount);
            case Budget::Unit::epochs:
                return static_cast<std::size_t>(b.amount) * steps_per_epoch;
            case Budget::Unit::samples:
            {
                const auto epochs = static_cast<std::size_t>(b.amount / train_size);
                const auto rest = static_cast<std::size_t>(b.amount % train_size);
                return epochs * steps_per_epoch + (rest + examples_per_step - 1) / examples_per_step;
            }
            }
            return 0;
        }
    }

    /**
     * @brief A sweep run function that trains `make_model(seed)` on @p train with the Trainer.
     *
     * @param train the training set (must outlive the sweep)
     * @param validation evaluated at every evaluation point (may be null; must outlive the sweep)
     * @param make_model `Model make_model(std::uint64_t seed)`: a fresh model for a run seed
     * @param settings what the grid does not vary
     * @param optimizers a user's own optimizers, beside xtrain's nine (optimizer_set(); may be omitted)
     * @param sizes batch sizes to compile as `BatchSampler<S>` (others run as `BatchSampler<dynamic>`)
     * @param test if given, each run's final model is also scored on it (test_loss, test_accuracy)
     *
     * Paired sampling: the data order, the initialisation and every other random stream come from
     * the run's seed only, so cells with the same seed differ only in optimizer, lr, batch size and
     * schedule. Each run follows the schedule its grid cell names (sweep_schedules.hpp: xtrain's
     * constant, cosine, linear and step, or RunSettings::schedules; none named: constant), under
     * RunSettings' warm-up when one is asked. The run function refuses, before anything is
     * written, a grid that names an optimizer or a schedule it does not know (listing the known
     * ones) or a batch size larger than the training set.
     * @throws std::invalid_argument (from validate()) for impossible settings.
     */
    template <class T, class MakeModel, class... Policies, std::size_t... Sizes>
    RunFunction make_trainer_run(const Dataset<T>& train, const detail::identity_t<Dataset<T>>* validation, MakeModel make_model,
                                 RunSettings settings, OptimizerSet<Policies...> optimizers, BatchSizes<Sizes...> sizes = {},
                                 const detail::identity_t<Dataset<T>>* test = nullptr)
    {
        settings.validate();
        if (!settings.noise_scale_dir.empty())
        {
            std::filesystem::create_directories(settings.noise_scale_dir);
        }
        const double chance = chance_accuracy(validation != nullptr ? *validation : train);
        auto run = [&train, validation, test, chance, make_model, settings, optimizers,
                    sizes](const RunSpec& spec, EvalSink& sink) -> RunResult {
            const double lr = settings.scaled_lr(spec.lr, spec.batch_size);
            const SamplerOptions sampling{/*shuffle*/ true, /*drop_last*/ false, /*seed*/ spec.seed};
            return with_optimizer(spec.optimizer, lr, settings.optimizer, optimizers, [&](auto optimizer) {
                return with_batch_sampler(sizes, spec.batch_size, train.size(), sampling, [&](auto sampler) {
                    const std::size_t k = settings.accumulation_steps;
                    const std::size_t updates_per_epoch = (sampler.iterations_per_epoch() + k - 1) / k;
                    const auto warmup_steps
                        = static_cast<std::size_t>(std::llround(settings.warmup_epochs * static_cast<double>(updates_per_epoch)));
                    double start = settings.warmup_start_factor;
                    if (std::isnan(start))
                    {
                        start = settings.scaling != LrScaling::none
                            ? std::min(1.0, lr > 0.0 ? spec.lr / lr : 1.0)
                            : 0.1;
                    }
                    ScheduleContext context;
                    context.lr = lr;
                    context.batch_size = spec.batch_size;
                    context.steps_per_epoch = updates_per_epoch;
                    context.total_steps = detail::budget_steps(settings.budget, train.size(), updates_per_epoch,
                                                               spec.batch_size * k);
                    const SweepSchedule schedule = make_sweep_schedule(spec.schedule, context, settings.schedules);
                    using Schedule = LinearWarmup<SweepSchedule>;
                    DivergenceRule rule = settings.divergence;
                    rule.stop_runs = settings.early_stopping;
                    if (std::isnan(rule.chance_accuracy))
                    {
                        rule.chance_accuracy = chance;
                    }
                    // The run, and (for resolving the time to target) a replay of part of it: the same
                    // types, so that one can load the other's state.
                    const Target& target = sink.target();
                    const bool refine = settings.target_precision > 0.0 && target.enabled()
                                     && target.metric != TargetMetric::train_loss;
                    auto make_trainer = [&](bool primary) {
                        Trainer t(apply_finetuning(make_model(spec.seed), settings.finetune), optimizer, sampler, DivergenceGuard(rule),
                                  LrScheduler<Schedule>(Schedule(schedule, warmup_steps, start), ScheduleUnit::step),
                                  SweepReporter(sink, train.size(), primary),
                                  NoiseScaleMonitor<T>(primary ? settings.noise_scale_every : 0),
                                  TargetTracker(target, primary && refine));
                        t.options().accumulation_steps = k;
                        t.options().record_steps = false;  // the sweep reads evaluations only
                        t.options().eval_batch_size = settings.eval_batch_size;
                        t.options().evals_per_epoch = settings.evals_per_epoch;
                        t.options().evaluate_at_start = primary;
                        return t;
                    };
                    auto trainer = make_trainer(true);
                    trainer.fit(train, settings.budget, validation);
                    if (!settings.noise_scale_dir.empty() && settings.noise_scale_every != 0)
                    {
                        write_noise_scale_csv(settings.noise_scale_dir / ("run-" + std::to_string(spec.index) + ".csv"),
                                              spec, trainer.template callback<NoiseScaleMonitor<T>>().records());
                    }
                    RunResult result;
                    const DivergenceGuard& guard = trainer.template callback<DivergenceGuard>();
                    if (trainer.status() == RunStatus::diverged)
                    {
                        result = RunResult::diverged(trainer.status_message());
                    }
                    else if (trainer.status() == RunStatus::stalled)
                    {
                        result = RunResult::stalled(trainer.status_message());
                    }
                    else
                    {
                        std::string why;
                        result = detail::ended_near_chance(sink.rows(), chance, settings.stall_fraction, why)
                                   ? RunResult::stalled(why)
                                   : RunResult::finished();
                        if (guard.first_stop())
                        {
                            const auto& stop = *guard.first_stop();
                            result.note += detail::concat(result.note.empty() ? "" : "; ", "early stopping off: the guard would have ",
                                                          "stopped it at step ", stop.step, " as ", to_string(stop.status),
                                                          " (", stop.message, ")");
                            if (stop.status == RunStatus::diverged && !std::isfinite(trainer.last_loss()))
                            {
                                result.status = RunOutcome::diverged;
                            }
                        }
                    }
                    if (guard.first_stop())
                    {
                        result.guard_step = guard.first_stop()->step;
                    }
                    for (std::size_t r = 0; r < guard.rule_steps().size(); ++r)
                    {
                        if (guard.rule_steps()[r] != 0)
                        {
                            result.guard_rules += detail::concat(result.guard_rules.empty() ? "" : ";",
                                                                 DivergenceGuard::rule_name(static_cast<DivergenceGuard::Rule>(r)),
                                                                 "@", guard.rule_steps()[r]);
                        }
                    }
                    result.eval_seconds = trainer.evaluation_seconds();
                    if (test != nullptr && trainer.status() != RunStatus::diverged)
                    {
                        const EvalResult e = trainer.evaluate(*test);
                        result.test_loss = e.loss;
                        result.test_accuracy = e.accuracy;
                    }

                    // Steps to target: bisect the evaluation interval in which the target was first met.
                    const TargetTracker& tracker = trainer.template callback<TargetTracker>();
                    if (refine && tracker.hit() && tracker.miss() && !tracker.state_at_miss().empty())
                    {
                        const auto t0 = std::chrono::steady_clock::now();
                        std::uint64_t lo = tracker.miss()->step;
                        std::uint64_t hi = tracker.hit()->step;
                        EvalRecord hit = *tracker.hit();
                        auto close_enough = [&] {
                            return hi - lo <= 1 || static_cast<double>(hi - lo) <= settings.target_precision * static_cast<double>(hi);
                        };
                        if (!close_enough())
                        {
                            auto replay = make_trainer(false);
                            std::string lo_state = tracker.state_at_miss();
                            bool at_lo = false;
                            while (!close_enough())
                            {
                                const std::uint64_t mid = lo + (hi - lo) / 2;
                                if (!at_lo)
                                {
                                    replay.load_state(lo_state, "the state at step " + std::to_string(lo));
                                }
                                replay.fit(train, Budget::steps(mid), validation);
                                const EvalRecord& r = replay.history().evals.back();
                                if (replay.status() != RunStatus::finished || r.step != mid)
                                {
                                    break;  // cannot happen for a deterministic model; keep what is known
                                }
                                if (target.met(tracker.value(r)))
                                {
                                    hi = mid;
                                    hit = r;
                                    at_lo = false;
                                }
                                else
                                {
                                    lo = mid;
                                    lo_state = replay.save_state();
                                    at_lo = true;
                                }
                            }
                        }
                        sink.target_reached(TargetHit{static_cast<double>(hit.examples_seen) / static_cast<double>(train.size()),
                                                      hi, hit.examples_seen, detail::wall_at_step(sink.rows(), hi), hi - lo});
                        result.eval_seconds = trainer.evaluation_seconds();
                        result.refine_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
                    }
                    return result;
                });
            });
        };
        auto check = [train_size = train.size(), train_name = train.name, optimizers, schedules = settings.schedules,
                      finetune = settings.finetune, make_model](const SweepGrid& grid) {
            if (finetune.enabled() && !grid.seeds.empty())
            {
                check_finetuning(make_model(grid.seeds.front()), finetune);  // a glob that matches nothing, a wrong file
            }
            for (const std::size_t b : grid.batch_sizes)
            {
                if (b > train_size)
                {
                    throw std::invalid_argument(detail::concat(
                        "the grid's batch size ", b, " is larger than the training set (", train_size,
                        " examples", train_name.empty() ? "" : " of " + train_name,
                        "): every step would be the whole set, not a batch of ", b,
                        ", and the results would be recorded under a batch size that never ran"));
                }
            }
            for (const std::string& name : grid.optimizers)
            {
                if (!optimizers.knows(name))
                {
                    throw std::invalid_argument(detail::concat("the grid names an unknown optimizer '", name,
                                                               "' (known: ", detail::join_names(optimizers.names()), ")"));
                }
            }
            for (const std::string& name : grid.schedules)
            {
                if (!is_builtin_schedule(name) && schedules.count(name) == 0)
                {
                    throw std::invalid_argument(detail::concat("the grid names an unknown schedule '", name, "' (known: ",
                                                               detail::join_names(known_schedule_names(schedules)), ")"));
                }
            }
        };
        auto describe = [settings](const SweepGrid& grid) { return settings.describe(grid.optimizers); };
        return RunFunction(std::move(run), std::move(check), std::move(describe));
    }

    /** @brief make_trainer_run() with xtrain's own optimizers only. */
    template <class T, class MakeModel, std::size_t... Sizes>
    RunFunction make_trainer_run(const Dataset<T>& train, const detail::identity_t<Dataset<T>>* validation, MakeModel make_model,
                                 RunSettings settings, BatchSizes<Sizes...> sizes = {},
                                 const detail::identity_t<Dataset<T>>* test = nullptr)
    {
        return make_trainer_run(train, validation, std::move(make_model), std::move(settings), OptimizerSet<>(), sizes, test);
    }
}

#endif
