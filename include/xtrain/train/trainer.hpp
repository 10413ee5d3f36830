/**
 * @file trainer.hpp
 * @brief Trainer<Model, Optimizer, Sampler, Callbacks...>: the training loop, its history and checkpoints.
 *
 * One update, as data flows: the sampler yields indices, the trainer gathers those rows into batch
 * buffers it allocated once, the model writes the gradient of the mean loss into the trainer's
 * gradient buffer, the optimizer steps the model's parameter buffer. With gradient accumulation
 * (`options().accumulation_steps = k`) k micro-batches are averaged, weighted by their sizes, into
 * one update: the same update as one batch k times as large. Nothing in the loop allocates after
 * the first update, except at the start of an epoch whose batch size is larger than any before
 * (BatchSampler<dynamic>::set_batch_size), where the batch buffer grows once.
 */
#ifndef XTRAIN_TRAIN_TRAINER_HPP
#define XTRAIN_TRAIN_TRAINER_HPP

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "xtrain/core/batch.hpp"
#include "xtrain/core/checkpoint_format.hpp"
#include "xtrain/core/detect.hpp"
#include "xtrain/core/error.hpp"
#include "xtrain/core/file_io.hpp"
#include "xtrain/core/param_buffer.hpp"
#include "xtrain/core/run_status.hpp"
#include "xtrain/core/serialize.hpp"
#include "xtrain/data/batch_buffer.hpp"
#include "xtrain/data/dataset.hpp"
#include "xtrain/model/model_traits.hpp"
#include "xtrain/optim/policy.hpp"
#include "xtrain/train/callback.hpp"
#include "xtrain/train/checkpoint_checks.hpp"
#include "xtrain/train/history.hpp"

namespace xtrain
{
    /** @brief How long fit() trains: a total number of epochs, optimizer updates or examples. */
    struct Budget
    {
        /** @brief What the amount counts. */
        enum class Unit
        {
            epochs,  ///< complete passes over the training data
            steps,   ///< optimizer updates
            samples  ///< training examples consumed (stops at the first update that reaches it)
        };
        Unit unit = Unit::epochs; ///< what amount counts
        std::uint64_t amount = 1; ///< the total, counted from the start of training (not from this call)

        /** @brief Train until @p n epochs are complete. */
        static Budget epochs(std::uint64_t n) noexcept { return {Unit::epochs, n}; }
        /** @brief Train until @p n updates are done. */
        static Budget steps(std::uint64_t n) noexcept { return {Unit::steps, n}; }
        /** @brief Train until @p n examples are consumed. */
        static Budget samples(std::uint64_t n) noexcept { return {Unit::samples, n}; }

        /** @brief E.g. "3 epochs". */
        std::string describe() const
        {
            const char* u = unit == Unit::epochs ? " epochs" : unit == Unit::steps ? " steps" : " samples";
            return detail::concat(amount, u);
        }
    };

    /** @brief Settings of the loop that are not the model's, the optimizer's or the sampler's. */
    struct TrainerOptions
    {
        std::size_t accumulation_steps = 1; ///< micro-batches averaged into one update (effective batch = B x k)
        std::uint64_t eval_every_steps = 0; ///< also evaluate every N updates (0: only at epoch ends and at the end)
        std::size_t evals_per_epoch = 1;    ///< evaluation points per epoch, evenly spaced in updates, the last at its end
        std::size_t eval_batch_size = 512;  ///< rows per forward pass during evaluation
        bool record_steps = true;           ///< keep a StepRecord per update in the history
        bool evaluate_at_start = false;     ///< also evaluate before the first update (a row at step 0)
        /**
         * Fuse a plain SGD step (no momentum, no weight decay, one rate for every parameter) into
         * the model's backward pass when nothing reads the gradient: no callback with on_gradient,
         * accumulation_steps 1, a model with loss_and_descent (Sequential of Dense layers, MLP).
         * The same trajectory to float rounding, one pass over the parameters fewer; false keeps
         * the two-pass step (gradient buffer, then Optimizer::step) always.
         */
        bool fuse_plain_sgd = true;
    };

    /** @brief Mean loss and accuracy of a model over a dataset. */
    struct EvalResult
    {
        double loss = std::numeric_limits<double>::quiet_NaN();     ///< mean loss over all samples
        double accuracy = std::numeric_limits<double>::quiet_NaN(); ///< fraction correct; NaN without predict() or labels
    };

    namespace detail
    {
        /** @brief Detects a sampler that knows the batches of its next epoch (BatchSampler does). */
        template <class S>
        using next_iterations_per_epoch_t = decltype(std::declval<const S&>().next_iterations_per_epoch());
        /** @brief Detects an optimizer that loads for a known number of parameters (Optimizer<Policy> does). */
        template <class O>
        using sized_load_t = decltype(std::declval<O&>().load(std::declval<BinaryReader&>(), std::size_t{}));
        /** @brief Detects a model that fuses plain SGD into its backward pass (Sequential of Dense, MLP). */
        template <class M>
        using loss_and_descent_t = decltype(std::declval<M&>().loss_and_descent(
            std::declval<const Batch<typename M::value_type>&>(), typename M::value_type{}));
        /** @brief Detects an optimizer that says when its step is plain descent and counts a fused step. */
        template <class O, class M>
        using plain_descent_t = decltype(bool(std::declval<const O&>().plain_descent(std::declval<M&>().parameters())),
                                         std::declval<O&>().record_fused_step(std::declval<M&>().parameters()));
    }

    namespace detail
    {
        template <class O, class M>
        using optimizer_step_t = decltype(std::declval<O&>().step(std::declval<M&>().parameters(),
                                                                  std::declval<const xt::xtensor<typename M::value_type, 1>&>()),
                                          double(std::declval<const O&>().lr()), std::declval<O&>().set_lr(1.0));
        template <class S>
        using sampler_t = decltype(std::declval<S&>().start_epoch(std::size_t{}), std::declval<S&>().next(),
                                   std::size_t(std::declval<const S&>().iterations_per_epoch()),
                                   std::size_t(std::declval<const S&>().num_samples()));

        /** @brief One readable error each for a Trainer's optimizer and sampler parameters, with a hint. */
        template <class Model, class Optimizer, class Sampler>
        constexpr bool check_trainer_parts()
        {
            static_assert(!is_optimizer_policy_v<Optimizer>,
                          "xtrain::Trainer: the optimizer argument is an update rule (a policy such as xtrain::SGD{...}); "
                          "wrap it: xtrain::Optimizer<xtrain::SGD>(xtrain::SGD{...})");
            static_assert(is_optimizer_policy_v<Optimizer> || is_detected_v<optimizer_step_t, Optimizer, Model>,
                          "xtrain::Trainer: the optimizer argument needs step(model.parameters(), grad), lr() and "
                          "set_lr(double), as xtrain::Optimizer<Policy> has");
            static_assert(is_detected_v<sampler_t, Sampler>,
                          "xtrain::Trainer: the sampler argument needs start_epoch(epoch), next(), iterations_per_epoch() "
                          "and num_samples(), as xtrain::BatchSampler<Size> has (e.g. "
                          "xtrain::BatchSampler<xtrain::dynamic>(batch_size, train.size(), options))");
            return true;
        }
    }

    /**
     * @brief Trains a model: the loop, evaluation, history, callbacks and checkpoints.
     *
     * @tparam Model     meets the Model requirement (docs/models.md), checked at compile time
     * @tparam Optimizer e.g. Optimizer<SGD>: step(ParamBuffer&, grad), lr(), set_lr(), save(), load()
     * @tparam Sampler   e.g. BatchSampler<32> or BatchSampler<dynamic>
     * @tparam Callbacks hooks detected by signature (train/callback.hpp), called in order
     *
     * Owns all of them, the batch buffers and the gradient buffers. Budgets are totals from the
     * start of training, so fit() after load_checkpoint() with the same budget finishes the run.
     */
    template <class Model, class Optimizer, class Sampler, class... Callbacks>
    class Trainer
    {
        static_assert(check_model<Model>(), "the Model requirement is not met (see the messages above)");
        static_assert(detail::check_trainer_parts<Model, Optimizer, Sampler>(), "see the messages above");

    public:
        /** @brief The model type. */
        using model_type = Model;
        /** @brief Scalar type of the model (float or double). */
        using value_type = typename Model::value_type;
        /** @brief The optimizer type. */
        using optimizer_type = Optimizer;
        /** @brief The sampler type. */
        using sampler_type = Sampler;
        /** @brief The dataset type fit() takes. */
        using dataset_type = Dataset<value_type>;
        /** @brief The flat gradient buffer type. */
        using gradient_type = xt::xtensor<value_type, 1>;

        /** @brief Takes ownership of the parts; callbacks are called in the order given. */
        Trainer(Model model, Optimizer optimizer, Sampler sampler, Callbacks... callbacks)
            : m_model(std::move(model))
            , m_optimizer(std::move(optimizer))
            , m_sampler(std::move(sampler))
            , m_callbacks(std::move(callbacks)...)
        {
            static_assert((is_callback_v<Callbacks, Trainer> && ...),
                          "a callback has none of the hooks on_fit_begin(Trainer&), on_fit_end(Trainer&), "
                          "on_epoch_begin(Trainer&), on_epoch_end(Trainer&), on_step_begin(Trainer&), "
                          "on_step_end(Trainer&), on_gradient(Trainer&, const Batch<T>&, const xt::xtensor<T, 1>&), "
                          "on_evaluate(Trainer&, const EvalRecord&), reduce_gradient(Trainer&, xt::xtensor<T, 1>&, "
                          "std::size_t&, double&), evaluation_rows(Trainer&, std::size_t), "
                          "reduce_evaluation(Trainer&, double&, std::size_t&, std::size_t&)");
        }

        /** @brief Loop settings; change them before fit(). */
        TrainerOptions& options() noexcept { return m_options; }
        /** @brief Loop settings. */
        const TrainerOptions& options() const noexcept { return m_options; }

        /**
         * @brief Trains on @p train until @p budget (a total) is reached, a callback stops the run or
         * the run diverges; evaluates on @p validation (if given) at every evaluation point.
         * @return the history so far.
         * @throws std::invalid_argument if the sampler was made for another number of samples, the
         * dataset is empty or the options are impossible. Exceptions from the model propagate.
         */
        const History& fit(const dataset_type& train, Budget budget, const dataset_type* validation = nullptr)
        {
            check_fit_arguments(train, budget);
            if (ended_early())
            {
                return m_history;
            }
            prepare(train, budget);
            m_run.status = RunStatus::running;
            m_validation = validation;
            m_fit_start = clock::now();
            m_timing = true;
            call_hooks<detail::on_fit_begin_t>([this](auto& cb) { cb.on_fit_begin(*this); });
            if (m_options.evaluate_at_start && m_run.step == 0 && m_history.evals.empty())
            {
                record_evaluation();
                serve_requests();
            }

            while (m_run.status == RunStatus::running)
            {
                if (m_run.in_epoch && m_run.batches_in_epoch >= m_sampler.iterations_per_epoch())
                {
                    end_epoch();
                    serve_requests();
                    continue;
                }
                if (budget_reached(budget))
                {
                    m_run.status = RunStatus::finished;
                    break;
                }
                if (!m_run.in_epoch)
                {
                    begin_epoch(train);
                }
                train_one_update(train);
                if (m_run.status == RunStatus::running)
                {
                    if (m_run.batches_in_epoch == m_sampler.iterations_per_epoch())
                    {
                        end_epoch();
                    }
                    else if (mid_epoch_evaluation_due())
                    {
                        record_evaluation();
                    }
                }
                // A safe point: the update, its evaluation and all hooks are done.
                serve_requests();
            }

            // The last evaluation point is the end of the run, unless it was just recorded.
            if (m_history.evals.empty() || m_history.evals.back().step != m_run.step)
            {
                record_evaluation();
            }
            call_hooks<detail::on_fit_end_t>([this](auto& cb) { cb.on_fit_end(*this); });
            m_run.wall_seconds = wall_seconds();
            m_timing = false;
            m_validation = nullptr;
            return m_history;
        }

        /**
         * @brief Mean loss (and accuracy, when the model predicts classes and @p data has labels)
         * of the model over @p data, in batches of options().eval_batch_size, in evaluation mode.
         */
        EvalResult evaluate(const dataset_type& data)
        {
            EvalResult result;
            const std::size_t n = data.size();
            if (n == 0)
            {
                return result;
            }
            // Batches view the rows in place (Dataset::rows), so nothing is copied; rows() trusts the
            // labels or targets to cover every row, which is checked here once.
            const std::size_t answers = data.is_classification() ? data.labels.size()
                                      : data.is_regression()     ? data.targets.shape()[0]
                                                                 : n;
            if (answers != n)
            {
                throw data_error(detail::concat("xtrain::Trainer::evaluate: dataset '", data.name, "' has ", n,
                                                " samples but ", answers,
                                                data.is_classification() ? " labels" : " target rows"));
            }
            const std::size_t cap = std::min(n, std::max<std::size_t>(1, m_options.eval_batch_size));
            constexpr bool predicts = has_predict_v<Model> || has_loss_and_predict_v<Model>;
            const bool count_correct = predicts && data.is_classification();
            if (count_correct && m_predictions.size() < cap)
            {
                m_predictions.resize(cap);
            }
            // A callback may split the rows among processes (evaluation_rows) and sum their results
            // (reduce_evaluation): data-parallel evaluation.
            std::size_t first_row = 0;
            std::size_t last_row = n;
            call_hooks<detail::evaluation_rows_t>([this, n, &first_row, &last_row](auto& cb) {
                const auto range = cb.evaluation_rows(*this, n);
                first_row = std::min<std::size_t>(range.first, n);
                last_row = std::min<std::size_t>(std::max<std::size_t>(range.second, first_row), n);
            });
            set_training(false);
            double loss_sum = 0.0;
            std::size_t correct = 0;
            for (std::size_t first = first_row; first < last_row; first += cap)
            {
                const std::size_t b = std::min(cap, last_row - first);
                const Batch<value_type> batch = data.rows(first, b);
                if constexpr (has_loss_and_predict_v<Model>)
                {
                    if (count_correct)
                    {
                        // One forward pass for both, where the model offers it.
                        loss_sum += static_cast<double>(m_model.loss_and_predict(batch, m_predictions.data()))
                                  * static_cast<double>(b);
                        correct += count_matches(batch, b);
                        continue;
                    }
                }
                loss_sum += static_cast<double>(eval_loss(batch)) * static_cast<double>(b);
                if constexpr (has_predict_v<Model>)
                {
                    if (count_correct)
                    {
                        m_model.predict(batch, m_predictions.data());
                        correct += count_matches(batch, b);
                    }
                }
            }
            set_training(true);
            std::size_t rows = last_row - first_row;
            call_hooks<detail::reduce_evaluation_t>(
                [this, &loss_sum, &correct, &rows](auto& cb) { cb.reduce_evaluation(*this, loss_sum, correct, rows); });
            result.loss = loss_sum / static_cast<double>(n);
            if (count_correct)
            {
                result.accuracy = static_cast<double>(correct) / static_cast<double>(n);
            }
            return result;
        }

        /** @brief Stops the run after the current hook; used by callbacks (early stopping, divergence guard). */
        void request_stop(RunStatus why, std::string message)
        {
            if (why != RunStatus::stopped && why != RunStatus::diverged && why != RunStatus::stalled
                && why != RunStatus::finished)
            {
                throw std::invalid_argument(detail::concat("xtrain::Trainer::request_stop: the reason must be stopped, "
                                                           "diverged, stalled or finished (got ",
                                                           to_string(why), ")"));
            }
            if (m_run.status == RunStatus::running)
            {
                m_run.status = why;
                m_run.status_message = std::move(message);
            }
        }

        /**
         * @brief Asks for a checkpoint at @p path at the end of the current update, once its
         * evaluation and every hook have run (the point from which a resumed run continues exactly).
         */
        void request_checkpoint(std::string path) { m_checkpoint_request = std::move(path); }

        /**
         * @brief Like request_checkpoint, but the state goes into @p into (save_state's format), which
         * must outlive the request: an in-memory point to go back to, e.g. to replay part of a run.
         */
        void request_state(std::string& into) { m_state_request = &into; }

        /** @brief The model. */
        Model& model() noexcept { return m_model; }
        /** @brief The model. */
        const Model& model() const noexcept { return m_model; }
        /** @brief The optimizer. */
        Optimizer& optimizer() noexcept { return m_optimizer; }
        /** @brief The optimizer. */
        const Optimizer& optimizer() const noexcept { return m_optimizer; }
        /** @brief The sampler. */
        Sampler& sampler() noexcept { return m_sampler; }
        /** @brief The sampler. */
        const Sampler& sampler() const noexcept { return m_sampler; }
        /** @brief The history recorded so far. */
        const History& history() const noexcept { return m_history; }
        /** @brief Callback number @p I of the pack. */
        template <std::size_t I>
        auto& callback() noexcept
        {
            return std::get<I>(m_callbacks);
        }
        /** @brief The callback of type @p C (which must appear once in the pack). */
        template <class C>
        C& callback() noexcept
        {
            return std::get<C>(m_callbacks);
        }

        /** @brief Updates done so far (during on_step_begin: the 0-based index of the coming update). */
        std::uint64_t step() const noexcept { return m_run.step; }
        /** @brief The current epoch, 0-based (the number of completed epochs between epochs). */
        std::uint64_t epoch() const noexcept { return m_run.epoch; }
        /** @brief Training examples consumed so far. */
        std::uint64_t examples_seen() const noexcept { return m_run.examples_seen; }
        /** @brief Mean loss of the last update's batch (NaN before the first update). */
        double last_loss() const noexcept { return m_run.last_loss; }
        /** @brief The batch being trained on (valid inside on_step_end and on_gradient). */
        const Batch<value_type>& current_batch() const noexcept { return m_batch; }
        /** @brief Where the run stands. */
        RunStatus status() const noexcept { return m_run.status; }
        /** @brief True once a callback ended the run before its budget (stopped, diverged or stalled). */
        bool ended_early() const noexcept
        {
            return m_run.status == RunStatus::stopped || m_run.status == RunStatus::diverged || m_run.status == RunStatus::stalled;
        }
        /** @brief Seconds spent evaluating (in the history's evaluation points) so far. */
        double evaluation_seconds() const noexcept { return m_eval_seconds; }
        /** @brief Why the run stopped or diverged (empty otherwise). */
        const std::string& status_message() const noexcept { return m_run.status_message; }
        /**
         * @brief Updates per epoch: ceil(batches per epoch / accumulation_steps), for the epoch in
         * progress or, between epochs, for the epoch about to start (its batch size may have been
         * changed by BatchSampler<dynamic>::set_batch_size).
         */
        std::uint64_t updates_per_epoch() const noexcept
        {
            const std::uint64_t k = std::max<std::size_t>(1, m_options.accumulation_steps);
            std::uint64_t batches = m_sampler.iterations_per_epoch();
            if constexpr (detail::is_detected_v<detail::next_iterations_per_epoch_t, Sampler>)
            {
                if (!m_run.in_epoch)
                {
                    batches = m_sampler.next_iterations_per_epoch();
                }
            }
            return (batches + k - 1) / k;
        }
        /** @brief Seconds of training so far (including time before a checkpoint was loaded). */
        double wall_seconds() const noexcept
        {
            if (!m_timing)
            {
                return m_run.wall_seconds;
            }
            return m_run.wall_seconds + std::chrono::duration<double>(clock::now() - m_fit_start).count();
        }

        /**
         * @brief Writes everything a resumed run needs to continue bit-identically: parameters,
         * optimizer state, sampler position, model state, callback state, counters and history.
         *
         * Format (little-endian): "XTRAINCK", a u32 format version, tagged sections, and a CRC-32
         * of all preceding bytes. Written to "<path>.tmp" and renamed, so a crash never leaves a
         * half-written checkpoint under @p path. @throws checkpoint_error if writing fails.
         */
        void save_checkpoint(const std::string& path) const
        {
            detail::write_file_atomic<checkpoint_error>(path, save_state(), detail::TemporaryName::fixed,
                                                        "xtrain::Trainer::save_checkpoint");
        }

        /** @brief The bytes save_checkpoint() writes, in memory. */
        std::string save_state() const
        {
            std::ostringstream buffer(std::ios::binary);
            BinaryWriter w(buffer);
            w.write_bytes(detail::checkpoint_magic, sizeof detail::checkpoint_magic);
            w.write<std::uint32_t>(checkpoint_format_version);
            detail::write_checkpoint_layout(w, m_model.parameters().layout(), sizeof(value_type));
            TrainerCounters counters = m_run;
            // A run in progress is saved as not_started: fit() sets running itself.
            counters.status = m_run.status == RunStatus::running ? RunStatus::not_started : m_run.status;
            counters.wall_seconds = wall_seconds();
            w.write_tag("counters");
            counters.save(w);
            w.write_tag("parameters");
            const auto& params = m_model.parameters();
            w.write_array(params.data(), params.size());
            w.write_tag("optimizer");
            m_optimizer.save(w);
            w.write_tag("sampler");
            m_sampler.save(w);
            w.write_tag("model");
            if constexpr (has_model_state_v<Model>)
            {
                m_model.save(w);
            }
            w.write_tag("callbacks");
            std::apply([&w](const auto&... cb) { (save_callback(w, cb), ...); }, m_callbacks);
            m_history.save(w);
            const std::uint32_t crc = w.crc();
            w.write(crc);
            return buffer.str();
        }

        /**
         * @brief Restores a checkpoint written by save_checkpoint for the same model structure.
         *
         * All or nothing: on any error the trainer is left as it was.
         * @throws checkpoint_error naming the file and the problem: not a checkpoint, another format
         * version, a damaged file (checksum), another scalar type, another model structure, or a
         * state the optimizer, sampler or model refuses.
         */
        void load_checkpoint(const std::string& path) { load_state(detail::read_file_bytes(path, "checkpoint"), path); }

        /**
         * @brief Restores the bytes of save_state() (or of a checkpoint file); @p source names them
         * in error messages. All or nothing, like load_checkpoint.
         */
        void load_state(const std::string& bytes, const std::string& source = "the saved state")
        {
            const std::string& path = source;
            const std::size_t header = sizeof detail::checkpoint_magic + sizeof(std::uint32_t);
            if (bytes.size() < header + sizeof(std::uint32_t)
                || bytes.compare(0, sizeof detail::checkpoint_magic, detail::checkpoint_magic, sizeof detail::checkpoint_magic) != 0)
            {
                throw checkpoint_error(detail::concat(path, ": not an xtrain checkpoint (no XTRAINCK header)"));
            }
            std::istringstream in(bytes, std::ios::binary);
            BinaryReader r(in, path);
            char magic[sizeof detail::checkpoint_magic];
            r.read_bytes(magic, sizeof magic);
            const auto version = r.read<std::uint32_t>();
            if (version != checkpoint_format_version)
            {
                r.fail(detail::concat("checkpoint format version ", version, ", but this xtrain reads version ",
                                      checkpoint_format_version));
            }
            const std::size_t body = detail::check_file_checksum(bytes, r).size;
            detail::check_checkpoint_layout(r, m_model.parameters().layout(), sizeof(value_type));
            r.expect_tag("counters");
            TrainerCounters counters = TrainerCounters::load(r);

            r.expect_tag("parameters");
            auto params = m_model.parameters().values();
            r.read_array(params.data(), params.size(), "the parameter buffer");
            Optimizer optimizer = m_optimizer;
            r.expect_tag("optimizer");
            if constexpr (detail::is_detected_v<detail::sized_load_t, Optimizer>)
            {
                optimizer.load(r, params.size());
            }
            else
            {
                optimizer.load(r);
            }
            Sampler sampler = m_sampler;
            r.expect_tag("sampler");
            sampler.load(r);
            Model model = m_model;
            r.expect_tag("model");
            if constexpr (has_model_state_v<Model>)
            {
                model.load(r);
            }
            auto callbacks = m_callbacks;
            r.expect_tag("callbacks");
            std::apply([&r](auto&... cb) { (load_callback(r, cb), ...); }, callbacks);
            History history;
            history.load(r);
            if (r.count() != body)
            {
                r.fail(detail::concat(body - r.count(), " unexpected bytes after the last section"));
            }
            detail::check_loaded_run(r, counters, sampler, history);

            // Everything parsed: commit.
            model.parameters().values() = std::move(params);
            m_model = std::move(model);
            m_optimizer = std::move(optimizer);
            m_sampler = std::move(sampler);
            m_callbacks = std::move(callbacks);
            m_history = std::move(history);
            m_run = std::move(counters);
        }

    private:
        using clock = std::chrono::steady_clock;

        // Writes the checkpoint or in-memory state asked for since the last safe point.
        void serve_requests()
        {
            if (m_run.status != RunStatus::running)
            {
                return;
            }
            if (!m_checkpoint_request.empty())
            {
                save_checkpoint(m_checkpoint_request);
                m_checkpoint_request.clear();
            }
            if (m_state_request != nullptr)
            {
                *m_state_request = save_state();
                m_state_request = nullptr;
            }
        }

        // Calls f(cb) on each callback that has the hook Hook (detected with this Trainer), in order.
        template <template <class...> class Hook, class F>
        void call_hooks(F&& f)
        {
            std::apply([&f](auto&... cb) { (call_hook<Hook>(f, cb), ...); }, m_callbacks);
        }

        template <template <class...> class Hook, class F, class C>
        static void call_hook(F& f, C& cb)
        {
            if constexpr (detail::is_detected_v<Hook, C, Trainer>)
            {
                f(cb);
            }
            else
            {
                (void)f;
                (void)cb;
            }
        }

        void check_fit_arguments(const dataset_type& train, const Budget& budget) const
        {
            if (train.size() == 0)
            {
                throw std::invalid_argument("xtrain::Trainer::fit: the training dataset is empty");
            }
            if (m_sampler.num_samples() != train.size())
            {
                throw std::invalid_argument(detail::concat("xtrain::Trainer::fit: the sampler was made for ",
                                                           m_sampler.num_samples(), " samples but the training set has ",
                                                           train.size()));
            }
            detail::require(m_options.accumulation_steps >= 1, "xtrain::Trainer", "accumulation_steps",
                            m_options.accumulation_steps, "must be >= 1");
            detail::require(m_options.eval_batch_size >= 1, "xtrain::Trainer", "eval_batch_size",
                            m_options.eval_batch_size, "must be >= 1");
            detail::require(m_options.evals_per_epoch >= 1, "xtrain::Trainer", "evals_per_epoch",
                            m_options.evals_per_epoch, "must be >= 1");
            (void)budget;
        }

        // Allocates what the loop needs, once: batch buffer, gradient buffers, history capacity.
        void prepare(const dataset_type& train, const Budget& budget)
        {
            const std::size_t p = m_model.parameters().size();
            if (m_grad.size() != p)
            {
                m_grad = m_model.parameters().zeros_like();
            }
            if (m_options.accumulation_steps > 1 && m_accum.size() != p)
            {
                m_accum = m_model.parameters().zeros_like();
            }
            ensure_batch_buffer(train);
            // Reserve the history so that recording never reallocates inside the loop: room for the
            // updates still to come (the budget is a total; a resumed run has done some already).
            const std::uint64_t per_epoch = std::max<std::uint64_t>(1, updates_per_epoch());
            const auto left = [](std::uint64_t total, std::uint64_t done) { return total > done ? total - done : 0; };
            const std::uint64_t most = std::numeric_limits<std::uint64_t>::max();
            std::uint64_t total_updates = 0;
            switch (budget.unit)
            {
            case Budget::Unit::epochs:
            {
                const std::uint64_t epochs = left(budget.amount, m_run.epoch);
                total_updates = epochs > most / per_epoch ? most : epochs * per_epoch;
                break;
            }
            case Budget::Unit::steps:
                total_updates = left(budget.amount, m_run.step);
                break;
            case Budget::Unit::samples:
                total_updates = left(budget.amount, m_run.examples_seen) / std::max<std::size_t>(1, m_sampler.batch_size())
                              + per_epoch;
                break;
            }
            const std::uint64_t cap = std::uint64_t(1) << 26; // a bound, in case of an absurd budget
            total_updates = std::min(total_updates, cap);
            if (m_options.record_steps)
            {
                reserve_records(m_history.steps, m_history.steps.size() + static_cast<std::size_t>(total_updates));
            }
            std::uint64_t evals = (total_updates / per_epoch + 2) * std::max<std::size_t>(1, m_options.evals_per_epoch);
            if (m_options.eval_every_steps != 0)
            {
                evals += total_updates / m_options.eval_every_steps;
            }
            reserve_records(m_history.evals, m_history.evals.size() + static_cast<std::size_t>(std::min(evals, cap)));
        }

        // Geometric growth: fit() called again and again with a growing budget (epoch by epoch,
        // say) would otherwise reallocate and copy the whole history at every call.
        template <class Record>
        static void reserve_records(std::vector<Record>& records, std::size_t n)
        {
            if (n > records.capacity())
            {
                records.reserve(std::max(n, 2 * records.capacity()));
            }
        }

        // True after the update that completes one of the evenly spaced parts of the epoch
        // (evals_per_epoch), or every eval_every_steps updates.
        bool mid_epoch_evaluation_due() const noexcept
        {
            if (m_options.eval_every_steps != 0 && m_run.step % m_options.eval_every_steps == 0)
            {
                return true;
            }
            const std::uint64_t parts = m_options.evals_per_epoch;
            if (parts <= 1)
            {
                return false;
            }
            const std::uint64_t k = std::max<std::size_t>(1, m_options.accumulation_steps);
            const std::uint64_t total = updates_per_epoch();
            const std::uint64_t done = (m_run.batches_in_epoch + k - 1) / k;
            return done < total && (done * parts) / total > ((done - 1) * parts) / total;
        }

        bool budget_reached(const Budget& budget) const noexcept
        {
            switch (budget.unit)
            {
            case Budget::Unit::epochs:
                return m_run.epoch >= budget.amount;
            case Budget::Unit::steps:
                return m_run.step >= budget.amount;
            case Budget::Unit::samples:
                return m_run.examples_seen >= budget.amount;
            }
            return true;
        }

        // A buffer for the current epoch's batches: made by the first fit, grown when an epoch's
        // batch size exceeds its capacity (a sampler whose batch size grows between epochs). A batch
        // never holds more than the training set, however large the batch size asked for.
        void ensure_batch_buffer(const dataset_type& train)
        {
            const std::size_t rows = std::min(m_sampler.batch_size(), train.size());
            if (!m_batch_buffer || m_batch_buffer->capacity() < rows
                || m_batch_buffer->feature_dim() != train.feature_dim())
            {
                m_batch_buffer.emplace(train, rows);
            }
        }

        void begin_epoch(const dataset_type& train)
        {
            m_sampler.start_epoch(m_run.epoch);
            ensure_batch_buffer(train);
            m_run.in_epoch = true;
            m_run.batches_in_epoch = 0;
            call_hooks<detail::on_epoch_begin_t>([this](auto& cb) { cb.on_epoch_begin(*this); });
        }

        void end_epoch()
        {
            ++m_run.epoch;
            m_run.in_epoch = false;
            record_evaluation();
            call_hooks<detail::on_epoch_end_t>([this](auto& cb) { cb.on_epoch_end(*this); });
        }

        void train_one_update(const dataset_type& train)
        {
            call_hooks<detail::on_step_begin_t>([this](auto& cb) { cb.on_step_begin(*this); });
            if (m_run.status != RunStatus::running)
            {
                return;
            }
            const std::size_t k = m_options.accumulation_steps;
            const std::size_t per_epoch = m_sampler.iterations_per_epoch();
            // A callback that combines gradients across processes (reduce_gradient): a process's
            // slice of a batch may then be empty, and the gradient must exist as a buffer.
            constexpr bool reduces = (detail::is_detected_v<detail::reduce_gradient_t, Callbacks, Trainer> || ...);
            // Plain SGD fused into the backward pass: decided at compile time from the types (the
            // model can, the optimizer can say when its step is plain descent, no callback reads
            // or reduces the gradient), then per update from the settings.
            constexpr bool can_fuse = detail::is_detected_v<detail::loss_and_descent_t, Model>
                                      && detail::is_detected_v<detail::plain_descent_t, Optimizer, Model>
                                      && !(detail::is_detected_v<detail::on_gradient_t, Callbacks, Trainer> || ...)
                                      && !reduces;
            bool fused = false;
            if constexpr (can_fuse)
            {
                fused = k == 1 && m_options.fuse_plain_sgd && m_optimizer.plain_descent(m_model.parameters());
            }
            const double lr_used = m_optimizer.lr();
            std::size_t rows = 0;
            double loss_sum = 0.0;
            for (std::size_t micro = 0; micro < k && m_run.batches_in_epoch < per_epoch; ++micro)
            {
                const auto ib = m_sampler.next();
                if (ib.size == 0)
                {
                    if constexpr (reduces)
                    {
                        ++m_run.batches_in_epoch; // no rows of this batch fall to this process
                        continue;
                    }
                    throw std::logic_error("xtrain::Trainer: the sampler ended an epoch before iterations_per_epoch() batches");
                }
                ++m_run.batches_in_epoch;
                m_batch = m_batch_buffer->gather(train, ib.indices, ib.size);
                double loss = 0.0;
                if constexpr (can_fuse)
                {
                    if (fused)
                    {
                        loss = static_cast<double>(m_model.loss_and_descent(m_batch, static_cast<value_type>(lr_used)));
                        rows += ib.size;
                        loss_sum += loss * static_cast<double>(ib.size);
                        continue;
                    }
                }
                loss = static_cast<double>(m_model.loss_and_gradient(m_batch, m_grad));
                call_hooks<detail::on_gradient_t>([this](auto& cb) { cb.on_gradient(*this, m_batch, m_grad); });
                const auto n = static_cast<value_type>(ib.size);
                if (k > 1)
                {
                    accumulate(rows == 0, n); // the first micro-batch with rows starts the sum
                }
                rows += ib.size;
                loss_sum += loss * static_cast<double>(ib.size);
            }
            if (rows == 0 && !reduces)
            {
                return;
            }
            gradient_type* grad = k > 1 ? &m_accum : &m_grad;
            if (k > 1 && rows > 0)
            {
                // Weighted by micro-batch size: the mean over all rows, as one big batch would give.
                const value_type inv = value_type(1) / static_cast<value_type>(rows);
                value_type* a = m_accum.data();
                const std::size_t p = m_accum.size();
                for (std::size_t i = 0; i < p; ++i)
                {
                    a[i] *= inv;
                }
            }
            if constexpr (reduces)
            {
                call_hooks<detail::reduce_gradient_t>(
                    [this, grad, &rows, &loss_sum](auto& cb) { cb.reduce_gradient(*this, *grad, rows, loss_sum); });
                if (rows == 0)
                {
                    return;
                }
            }
            if (fused)
            {
                m_optimizer.record_fused_step(m_model.parameters());
            }
            else
            {
                m_optimizer.step(m_model.parameters(), *grad);
            }
            ++m_run.step;
            m_run.examples_seen += rows;
            m_run.last_loss = loss_sum / static_cast<double>(rows);
            m_run.loss_sum_since_eval += m_run.last_loss;
            ++m_run.updates_since_eval;
            if (m_options.record_steps)
            {
                m_history.steps.push_back(StepRecord{m_run.step, m_run.epoch, m_run.examples_seen, m_run.last_loss, lr_used, wall_seconds()});
            }
            call_hooks<detail::on_step_end_t>([this](auto& cb) { cb.on_step_end(*this); });
        }

        // m_accum = (first ? 0 : m_accum) + n * m_grad, in one pass.
        void accumulate(bool first, value_type n) noexcept
        {
            value_type* a = m_accum.data();
            const value_type* g = m_grad.data();
            const std::size_t p = m_accum.size();
            if (first)
            {
                for (std::size_t i = 0; i < p; ++i)
                {
                    a[i] = n * g[i];
                }
            }
            else
            {
                for (std::size_t i = 0; i < p; ++i)
                {
                    a[i] += n * g[i];
                }
            }
        }

        void record_evaluation()
        {
            EvalRecord rec;
            rec.epoch = m_run.epoch;
            rec.step = m_run.step;
            rec.examples_seen = m_run.examples_seen;
            rec.train_loss = m_run.updates_since_eval > 0 ? m_run.loss_sum_since_eval / static_cast<double>(m_run.updates_since_eval)
                                                      : std::numeric_limits<double>::quiet_NaN();
            rec.lr = m_optimizer.lr();
            // A diverged model's predictions mean nothing; its row keeps NaN validation metrics.
            if (m_validation != nullptr && m_run.status != RunStatus::diverged)
            {
                const auto t0 = clock::now();
                const EvalResult v = evaluate(*m_validation);
                m_eval_seconds += std::chrono::duration<double>(clock::now() - t0).count();
                rec.val_loss = v.loss;
                rec.val_accuracy = v.accuracy;
            }
            rec.wall_seconds = wall_seconds();
            m_run.loss_sum_since_eval = 0.0;
            m_run.updates_since_eval = 0;
            m_history.evals.push_back(rec);
            const EvalRecord& stored = m_history.evals.back();
            call_hooks<detail::on_evaluate_t>([this, &stored](auto& cb) { cb.on_evaluate(*this, stored); });
        }

        // How many of the first b predictions (m_predictions) equal the batch's labels.
        std::size_t count_matches(const Batch<value_type>& batch, std::size_t b) const noexcept
        {
            std::size_t correct = 0;
            for (std::size_t i = 0; i < b; ++i)
            {
                correct += m_predictions[i] == batch.labels[i] ? 1U : 0U;
            }
            return correct;
        }

        value_type eval_loss(const Batch<value_type>& batch)
        {
            if constexpr (has_loss_v<Model>)
            {
                return m_model.loss(batch);
            }
            else
            {
                if (m_eval_grad.size() != m_model.parameters().size())
                {
                    m_eval_grad = m_model.parameters().zeros_like();
                }
                return m_model.loss_and_gradient(batch, m_eval_grad);
            }
        }

        void set_training(bool on)
        {
            if constexpr (has_set_training_v<Model>)
            {
                m_model.set_training(on);
            }
            else
            {
                (void)on;
            }
        }

        template <class C>
        static void save_callback(BinaryWriter& w, const C& cb)
        {
            if constexpr (has_checkpoint_state_v<C>)
            {
                cb.save(w);
            }
            else
            {
                (void)w;
                (void)cb;
            }
        }

        template <class C>
        static void load_callback(BinaryReader& r, C& cb)
        {
            if constexpr (has_checkpoint_state_v<C>)
            {
                cb.load(r);
            }
            else
            {
                (void)r;
                (void)cb;
            }
        }

        Model m_model;
        Optimizer m_optimizer;
        Sampler m_sampler;
        std::tuple<Callbacks...> m_callbacks;
        TrainerOptions m_options;

        std::optional<BatchBuffer<value_type>> m_batch_buffer; // made by the first fit()
        std::vector<label_type> m_predictions;
        gradient_type m_grad;
        gradient_type m_accum;
        gradient_type m_eval_grad;
        Batch<value_type> m_batch;
        const dataset_type* m_validation = nullptr;

        History m_history;
        TrainerCounters m_run; // where the run stands: what a checkpoint saves besides the parts
        std::string m_checkpoint_request;
        std::string* m_state_request = nullptr;
        double m_eval_seconds = 0.0;
        clock::time_point m_fit_start{};
        bool m_timing = false;
    };
}

#endif
