/**
 * @file divergence_guard.hpp
 * @brief Stops a run early only when it cannot recover: a loss that is not finite, a smoothed loss
 *        far above where it started for a sustained stretch, or a network whose parameters have
 *        stopped changing.
 *
 * In a learning-rate sweep the largest rates fail: that is a result to record, not an error. The
 * guard ends such runs early, to save their compute, with a status and a message saying when and
 * why; no exception is thrown, so a sweep simply goes on to the next run. A stopped run must be one
 * that would not have trained had it been left to the end of its budget (the sweep's self-check
 * measures exactly that), so no single batch decides anything: at B = 8 one confidently
 * misclassified image can lift a batch loss to 3x its start in a run that trains well.
 *
 * The three rules:
 * - **not finite**: a batch loss that is NaN or infinite. Parameters that produced it are NaN or
 *   overflowing; status `diverged`.
 * - **blow-up**: the training loss smoothed over the last `smoothing_examples` examples (the mean
 *   of the last ceil(smoothing_examples / B) batch losses, at least 8 and at most 512) stays above
 *   `factor` x the start loss for a whole epoch (and at least as many updates as it averages). A
 *   plain window, not an exponential average: a first spike to 600x the start loss would linger in
 *   an exponential average for dozens of updates after the loss itself has come back, long enough
 *   to fill an epoch of 25 updates at B = 2048 (the self-check caught two Adam runs stopped so that
 *   would have trained); a window forgets it after exactly its length. The start loss is the validation loss of the evaluation before the first update
 *   (TrainerOptions::evaluate_at_start), or, without one, the mean loss of the first updates
 *   covering at least 32 examples. Status `diverged`. Shorter excursions are common and harmless:
 *   Adam at a large batch and rate can spike to 50x its start loss in its first quarter epoch and
 *   still train to 0.5 accuracy, so only a loss that stays up while the whole training set goes by
 *   counts.
 * - **dead network**: over one whole epoch, from its first update to its last (so that every
 *   training example went through the network once), every gradient had at most
 *   `live_parameter_limit` non-zero entries, and at most that many of the trainable parameters
 *   (segments whose lr_scale is not 0) changed, and the validation accuracy at the epoch's end is
 *   no better than `chance_accuracy` (the most common class's share: the best a constant
 *   prediction can do). A ReLU network whose units all died has a zero gradient for every weight
 *   but the output layer's bias, on every example: it can only make a constant prediction, and
 *   the same data will never bring it back. The accuracy is needed too: Adam at a huge rate can
 *   saturate its softmax, so that every example it classifies right has a zero gradient and
 *   every other one reaches only dead units; such a network is frozen at 0.6-0.8 accuracy, not at
 *   chance. Without a validation set, or with `chance_accuracy` NaN (the default outside a sweep:
 *   set it with xtrain::chance_accuracy(validation)), the rule does not fire. The rest is needed:
 *   over a stretch shorter than a whole epoch a unit alive for a few examples revives when they
 *   come round, and unchanged parameters alone are no proof either (Adam after a blow-up can take
 *   steps too small to change a float for a whole epoch, and recover when its second moments
 *   decay). The gradient is scanned only until it shows more than the limit of non-zero entries,
 *   once an epoch, so a live network costs a few hundred reads per epoch. The default limit is
 *   the size of the model's last parameter tensor when that is a vector (the output bias of every
 *   built-in model), else 0. Status `stalled`.
 *   With weight decay the dead weights keep shrinking, so the rule does not fire; such a run
 *   trains to the end of its budget and is judged there. A sampler that drops the last partial
 *   batch does not show every example each epoch; the rule assumes it does.
 * - **nearly dead** (DivergenceRule::stop_nearly_dead): over a whole epoch, at least half of the
 *   updates had a gradient zero but for the output bias (their examples reached no live unit),
 *   the validation accuracy stayed within 1 point of chance at every evaluation point, and the
 *   training loss did not go below 0.99 x its start. A large rate kills most of a ReLU network's
 *   units and leaves a few alive for a few examples: it sits at chance, its loss at the trivial
 *   predictor's, and the live units keep dying. This is evidence, not proof; the sweep's
 *   self-check measures it on the default grid (no run it stopped would have trained), and
 *   `stop_nearly_dead = false` keeps to the provable rules. A slow rate is never nearly dead:
 *   its gradient reaches every unit. Status `stalled`.
 * rule_steps() says where each rule first fired, stopping or not.
 */
#ifndef XTRAIN_TRAIN_CALLBACKS_DIVERGENCE_GUARD_HPP
#define XTRAIN_TRAIN_CALLBACKS_DIVERGENCE_GUARD_HPP

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "xtrain/core/error.hpp"
#include "xtrain/core/serialize.hpp"
#include "xtrain/train/trainer.hpp"

namespace xtrain
{
    /** @brief The rules of a DivergenceGuard (see divergence_guard.hpp). */
    struct DivergenceRule
    {
        /** @brief Blow-up: the smoothed loss must stay above this multiple of the start loss (> 1). */
        double factor = 3.0;
        /** @brief Examples the loss is smoothed over (it must stay above the bound for an epoch, and at least this long). */
        double smoothing_examples = 4096.0;
        /** @brief Stop a network whose trainable parameters stopped changing for a whole epoch. */
        bool stop_dead = true;
        /** @brief Parameters that may still change in a dead network; -1: the model's last tensor if it is a vector. */
        long long live_parameter_limit = -1;
        /** @brief false: never stop a run, only note where a rule would have (DivergenceGuard::first_stop). */
        bool stop_runs = true;
        /** @brief The dead-network rule needs the validation accuracy at or below this (chance_accuracy()); NaN: off. */
        double chance_accuracy = std::numeric_limits<double>::quiet_NaN();
        /**
         * @brief Also stop a nearly dead network (see the file comment): over a whole epoch at least
         * `dead_update_share` of the updates had a gradient zero but for the output bias, the
         * validation accuracy stayed within `chance_tolerance` of chance, and the mean training
         * loss did not go below (1 - flat_fraction) x the start loss. Evidence, not proof; false
         * keeps to the provable rules (the guard still notes where this one would fire).
         */
        bool stop_nearly_dead = true;
        double dead_update_share = 0.5;  ///< see stop_nearly_dead
        double chance_tolerance = 0.01;  ///< see stop_nearly_dead
        double flat_fraction = 0.01;     ///< see stop_nearly_dead

        /** @brief @throws std::invalid_argument naming the first impossible setting. */
        void validate() const
        {
            detail::require(factor > 1.0, "xtrain::DivergenceRule", "factor", factor, "must be > 1");
            detail::require(smoothing_examples >= 1.0 && std::isfinite(smoothing_examples), "xtrain::DivergenceRule",
                            "smoothing_examples", smoothing_examples, "must be finite and >= 1");
            detail::require(live_parameter_limit >= -1, "xtrain::DivergenceRule", "live_parameter_limit",
                            live_parameter_limit, "must be >= 0, or -1 for the model's output bias");
        }
    };

    /**
     * @brief Ends a run as `diverged` (loss not finite, or a sustained blow-up of the smoothed loss)
     * or `stalled` (a dead network); see the file comment for the rules.
     */
    class DivergenceGuard
    {
    public:
        /** @brief The rules, in the order of rule_steps(). */
        enum class Rule : std::uint8_t
        {
            not_finite,  ///< a loss that is NaN or infinite (diverged)
            blow_up,     ///< a smoothed loss far above its start for an epoch (diverged)
            dead,        ///< a dead network (stalled)
            nearly_dead  ///< a nearly dead network at chance for an epoch (stalled; see stop_nearly_dead)
        };

        /** @brief "not_finite", "blow_up", "dead" or "nearly_dead". */
        static const char* rule_name(Rule r) noexcept
        {
            switch (r)
            {
            case Rule::not_finite: return "not_finite";
            case Rule::blow_up: return "blow_up";
            case Rule::dead: return "dead";
            case Rule::nearly_dead: break;
            }
            return "nearly_dead";
        }

        /** @brief Where and why a rule fired first. */
        struct Stop
        {
            Rule rule = Rule::not_finite;  ///< which rule
            std::uint64_t step = 0;      ///< updates done when it fired
            std::uint64_t examples = 0;  ///< examples seen when it fired
            RunStatus status = RunStatus::diverged;  ///< diverged or stalled
            std::string message;         ///< the reason, as in Trainer::status_message()
        };

        /** @brief The default rule: factor 3 over 4096 examples, dead networks stopped. */
        DivergenceGuard() : DivergenceGuard(DivergenceRule{}) {}

        /** @brief The default rule with another blow-up @p factor (> 1). */
        explicit DivergenceGuard(double factor) : DivergenceGuard(with_factor(factor)) {}

        /** @brief The given rule. @throws std::invalid_argument for an impossible setting. */
        explicit DivergenceGuard(const DivergenceRule& rule) : m_rule(rule) { m_rule.validate(); }

        /** @brief The rule in use. */
        const DivergenceRule& rule() const noexcept { return m_rule; }

        /** @brief Takes the start loss from an evaluation before the first update; keeps the latest accuracy. */
        template <class Tr>
        void on_evaluate(Tr&, const EvalRecord& r)
        {
            if (r.step == 0 && !m_has_start && std::isfinite(r.val_loss))
            {
                m_start = r.val_loss;
                m_has_start = true;
            }
            m_last_accuracy = r.val_accuracy;
            m_last_accuracy_step = r.step;
            if (r.step > m_epoch_start_step)
            {
                ++m_epoch_evals;
                m_epoch_at_chance = m_epoch_at_chance && r.val_accuracy <= m_rule.chance_accuracy + m_rule.chance_tolerance;
            }
        }

        /** @brief Keeps the parameters as the epoch starts, to see at its end what changed. */
        template <class Tr>
        void on_epoch_begin(Tr& t)
        {
            m_epoch_start_step = t.step();
            m_epoch_evals = 0;
            m_epoch_at_chance = true;
            m_epoch_loss = 0.0;
            m_epoch_updates = 0;
            m_epoch_scanned = 0;
            m_epoch_dead_updates = 0;
            if (m_rule.stop_dead)
            {
                copy_params(t.model().parameters(), m_epoch_start);
                m_has_epoch_start = true;
                m_epoch_alive = false;
            }
        }

        /** @brief Looks at the gradient until this epoch shows it alive (more non-zero entries than the limit). */
        template <class Tr, class B, class G>
        void on_gradient(Tr& t, const B&, const G& grad)
        {
            if (!m_rule.stop_dead)
            {
                return;
            }
            // Scanned until it shows more non-zero entries than the limit: a few reads for a live
            // network, the whole gradient only for a dead-looking one.
            const std::size_t limit = live_limit(t.model().parameters().layout());
            const auto* g = grad.data();
            std::size_t nonzero = 0;
            bool live = false;
            for (std::size_t i = 0, n = grad.size(); i < n && !live; ++i)
            {
                nonzero += g[i] != 0 ? 1U : 0U;
                live = nonzero > limit;
            }
            m_epoch_alive = m_epoch_alive || live;
            ++m_epoch_scanned;
            m_epoch_dead_updates += live ? 0U : 1U;
        }

        /** @brief A dead network: all epoch long a gradient that is zero but for the output bias, and nothing else changed. */
        template <class Tr>
        void on_epoch_end(Tr& t)
        {
            // Nearly dead: most updates reached no live unit, accuracy at chance, no descent below the start.
            const double dead_share = m_epoch_scanned > 0
                ? static_cast<double>(m_epoch_dead_updates) / static_cast<double>(m_epoch_scanned)
                : 0.0;
            if (m_epoch_evals > 0 && m_epoch_at_chance && m_has_start && m_epoch_updates > 0
                && dead_share >= m_rule.dead_update_share
                && m_epoch_loss / static_cast<double>(m_epoch_updates) >= (1.0 - m_rule.flat_fraction) * m_start)
            {
                fire(t, Rule::nearly_dead, RunStatus::stalled,
                     detail::concat("the network is nearly dead: over the whole of epoch ", t.epoch(), ", ",
                                    std::round(dead_share * 1000.0) / 10.0,
                                    " % of its updates reached no live unit (a gradient zero but for the output "
                                    "bias), its validation accuracy stayed within ", m_rule.chance_tolerance,
                                    " of chance ", m_rule.chance_accuracy, " and its training loss (mean ",
                                    m_epoch_loss / static_cast<double>(m_epoch_updates), ") did not go below ",
                                    1.0 - m_rule.flat_fraction, " x its start ", m_start));
                if (t.status() != RunStatus::running)
                {
                    return;
                }
            }
            const auto& params = t.model().parameters();
            if (!m_rule.stop_dead || !m_has_epoch_start || m_epoch_start.size() != params.size() * sizeof(*params.data()))
            {
                return;
            }
            m_has_epoch_start = false;
            // A constant prediction scores at most chance: anything better is a live network.
            const bool at_chance = m_last_accuracy_step == t.step() && m_last_accuracy <= m_rule.chance_accuracy + 1e-12;
            if (m_epoch_alive || !at_chance)
            {
                return;
            }
            const ParamLayout& layout = params.layout();
            const std::size_t changed = changed_trainable(params, layout, m_epoch_start);
            if (changed <= live_limit(layout))
            {
                fire(t, Rule::dead, RunStatus::stalled,
                     detail::concat("the network stopped learning: over the whole of epoch ", t.epoch(), " (steps ",
                                    m_epoch_start_step + 1, " to ", t.step(), ") its gradient was zero but for at most ",
                                    live_limit(layout), " entries and only ", changed, " of its ", trainable(layout),
                                    " trainable parameters changed; its validation accuracy ", m_last_accuracy,
                                    " is no better than chance ", m_rule.chance_accuracy,
                                    ": it can only make a constant prediction (a dead network)"));
            }
        }

        /** @brief Checks the loss of the update just done. */
        template <class Tr>
        void on_step_end(Tr& t)
        {
            const double loss = t.last_loss();
            if (!std::isfinite(loss))
            {
                fire(t, Rule::not_finite, RunStatus::diverged,
                     detail::concat("the loss became ", loss, " at step ", t.step()));
                return;
            }
            const double batch = static_cast<double>(std::max<std::size_t>(1, t.current_batch().size));
            if (m_window == 0)
            {
                const double updates = std::ceil(m_rule.smoothing_examples / batch);
                m_window = static_cast<std::uint64_t>(std::clamp(updates, 8.0, static_cast<double>(window_capacity)));
            }
            if (!m_has_start)
            {
                // Without an evaluation before the first update: the first updates covering 32 examples.
                m_first_sum += loss * batch;
                m_first_examples += batch;
                if (m_first_examples >= 32.0)
                {
                    m_start = m_first_sum / m_first_examples;
                    m_has_start = true;
                }
            }
            m_epoch_loss += loss;
            ++m_epoch_updates;
            // The mean of the last m_window batch losses (a ring of fixed capacity: no allocation).
            const std::size_t slot = static_cast<std::size_t>(m_updates % m_window);
            if (m_updates >= m_window)
            {
                m_window_sum -= m_ring[slot];
            }
            m_ring[slot] = loss;
            m_window_sum += loss;
            ++m_updates;
            if (slot + 1 == m_window)
            {
                // Once per window, the sum afresh: no drift from adding and removing huge losses.
                m_window_sum = 0.0;
                for (std::size_t i = 0; i < m_window; ++i)
                {
                    m_window_sum += m_ring[i];
                }
            }
            const double smoothed = smoothed_loss();
            const double bound = m_rule.factor * m_start;
            if (m_has_start && bound > 0.0 && m_updates >= m_window && smoothed > bound)
            {
                ++m_above;
                m_above_examples += static_cast<std::uint64_t>(batch);
                if (m_above >= m_window && m_above_examples >= t.sampler().num_samples())
                {
                    fire(t, Rule::blow_up, RunStatus::diverged,
                         detail::concat("the training loss, smoothed over ", m_window, " updates, stayed above ",
                                        m_rule.factor, " x its start ", m_start, " for ", m_above, " updates (",
                                        m_above_examples, " examples, ", smoothed, " at step ", t.step(), ")"));
                }
            }
            else
            {
                m_above = 0;
                m_above_examples = 0;
            }
        }

        /** @brief The first time a rule that stops runs fired (whether or not it did, see DivergenceRule::stop_runs). */
        const std::optional<Stop>& first_stop() const noexcept { return m_first_stop; }
        /** @brief Per rule (indexed by Rule), the step at which it first fired, 0 if it never did. */
        const std::array<std::uint64_t, 4>& rule_steps() const noexcept { return m_rule_steps; }

        /** @brief The loss the blow-up rule compares with (NaN until known). */
        double start_loss() const noexcept { return m_has_start ? m_start : std::nan(""); }
        /** @brief The smoothed training loss (NaN before the first update). */
        double smoothed_loss() const noexcept
        {
            const std::uint64_t n = std::min(m_updates, m_window);
            return n > 0 ? m_window_sum / static_cast<double>(n) : std::nan("");
        }

        /** @brief Keeps the guard's state in checkpoints, so a resumed run is judged as an uninterrupted one. */
        void save(BinaryWriter& w) const
        {
            w.write_tag("divergence_guard/3");
            w.write(m_has_start);
            w.write(m_start);
            w.write(m_first_sum);
            w.write(m_first_examples);
            w.write(m_window);
            w.write_array(m_ring.data(), m_ring.size());
            w.write(m_window_sum);
            w.write(m_updates);
            w.write(m_above);
            w.write(m_above_examples);
            w.write(m_has_epoch_start);
            w.write(m_epoch_alive);
            w.write(m_last_accuracy);
            w.write(m_last_accuracy_step);
            w.write(m_epoch_evals);
            w.write(m_epoch_at_chance);
            w.write(m_epoch_loss);
            w.write(m_epoch_updates);
            w.write(m_epoch_scanned);
            w.write(m_epoch_dead_updates);
            for (const std::uint64_t step : m_rule_steps)
            {
                w.write(step);
            }
            w.write(m_epoch_start_step);
            w.write_array(m_epoch_start.data(), m_epoch_start.size());
            w.write(m_first_stop.has_value());
            if (m_first_stop)
            {
                w.write(static_cast<std::uint8_t>(m_first_stop->rule));
                w.write(m_first_stop->step);
                w.write(m_first_stop->examples);
                w.write(static_cast<std::uint8_t>(m_first_stop->status));
                w.write_string(m_first_stop->message);
            }
        }
        /** @brief Restores what save() wrote. */
        void load(BinaryReader& r)
        {
            const std::string tag = r.read_string(256);
            if (tag == "divergence_guard/2")
            {
                r.fail("the divergence guard's state was written by an earlier xtrain, whose guard smoothed the "
                       "loss differently (section 'divergence_guard/2', this one reads 'divergence_guard/3'): "
                       "finish the run with the version that started it, or start it again");
            }
            if (tag != "divergence_guard/3")
            {
                r.fail(detail::concat("expected section 'divergence_guard/3' but found '", tag, "'"));
            }
            m_has_start = r.read<bool>();
            m_start = r.read<double>();
            m_first_sum = r.read<double>();
            m_first_examples = r.read<double>();
            m_window = r.read<std::uint64_t>();
            if (m_window > window_capacity)
            {
                r.fail(detail::concat("the divergence guard's smoothing window ", m_window, " is above its capacity ",
                                      window_capacity));
            }
            r.read_array(m_ring.data(), m_ring.size(), "the divergence guard's loss window");
            m_window_sum = r.read<double>();
            m_updates = r.read<std::uint64_t>();
            m_above = r.read<std::uint64_t>();
            m_above_examples = r.read<std::uint64_t>();
            m_has_epoch_start = r.read<bool>();
            m_epoch_alive = r.read<bool>();
            m_last_accuracy = r.read<double>();
            m_last_accuracy_step = r.read<std::uint64_t>();
            m_epoch_evals = r.read<std::uint64_t>();
            m_epoch_at_chance = r.read<bool>();
            m_epoch_loss = r.read<double>();
            m_epoch_updates = r.read<std::uint64_t>();
            m_epoch_scanned = r.read<std::uint64_t>();
            m_epoch_dead_updates = r.read<std::uint64_t>();
            for (std::uint64_t& step : m_rule_steps)
            {
                step = r.read<std::uint64_t>();
            }
            m_epoch_start_step = r.read<std::uint64_t>();
            r.read_byte_array(m_epoch_start, snapshot_limit, "the divergence guard's parameter snapshot");
            m_first_stop.reset();
            if (r.read<bool>())
            {
                Stop s;
                const auto rule = r.read<std::uint8_t>();
                if (rule > static_cast<std::uint8_t>(Rule::nearly_dead))
                {
                    r.fail(detail::concat("the divergence guard's stop has rule byte ", static_cast<int>(rule)));
                }
                s.rule = static_cast<Rule>(rule);
                s.step = r.read<std::uint64_t>();
                s.examples = r.read<std::uint64_t>();
                const auto status = r.read<std::uint8_t>();
                if (status != static_cast<std::uint8_t>(RunStatus::diverged)
                    && status != static_cast<std::uint8_t>(RunStatus::stalled))
                {
                    r.fail(detail::concat("the divergence guard's stop has status byte ", static_cast<int>(status)));
                }
                s.status = static_cast<RunStatus>(status);
                s.message = r.read_string();
                m_first_stop = std::move(s);
            }
        }

    private:
        static constexpr std::uint64_t snapshot_limit = std::uint64_t(1) << 40;

        template <class Tr>
        void fire(Tr& t, Rule rule, RunStatus status, std::string message)
        {
            auto& first = m_rule_steps[static_cast<std::size_t>(rule)];
            first = first == 0 ? std::max<std::uint64_t>(1, t.step()) : first;
            const bool stops = rule != Rule::nearly_dead || m_rule.stop_nearly_dead;
            if (!stops)
            {
                return;
            }
            if (!m_first_stop)
            {
                m_first_stop = Stop{rule, t.step(), t.examples_seen(), status, message};
            }
            if (m_rule.stop_runs)
            {
                t.request_stop(status, std::move(message));
            }
        }

        static DivergenceRule with_factor(double factor)
        {
            DivergenceRule r;
            r.factor = factor;
            return r;
        }

        std::size_t live_limit(const ParamLayout& layout) const noexcept
        {
            if (m_rule.live_parameter_limit >= 0)
            {
                return static_cast<std::size_t>(m_rule.live_parameter_limit);
            }
            if (layout.num_segments() == 0)
            {
                return 0;
            }
            const Segment& last = layout.segments().back();
            return last.shape.size() == 1 ? last.size : 0;
        }

        static std::size_t trainable(const ParamLayout& layout) noexcept
        {
            std::size_t n = 0;
            for (const Segment& s : layout.segments())
            {
                n += s.lr_scale != 0.0 ? s.size : 0;
            }
            return n;
        }

        // Snapshots are the parameters' bytes: "unchanged" means bit for bit (a NaN stays equal to itself).
        template <class Buffer>
        static void copy_params(const Buffer& params, std::vector<unsigned char>& into)
        {
            const std::size_t bytes = params.size() * sizeof(*params.data());
            into.resize(bytes);
            if (bytes != 0)
            {
                std::memcpy(into.data(), params.data(), bytes);
            }
        }

        template <class Buffer>
        static std::size_t changed_trainable(const Buffer& params, const ParamLayout& layout,
                                             const std::vector<unsigned char>& before)
        {
            using T = std::remove_const_t<std::remove_pointer_t<decltype(params.data())>>;
            const T* p = params.data();
            const unsigned char* b = before.data();
            std::size_t changed = 0;
            for (const Segment& s : layout.segments())
            {
                if (s.lr_scale == 0.0)
                {
                    continue;  // frozen: unchanged by design, not by death
                }
                for (std::size_t i = s.offset; i < s.offset + s.size; ++i)
                {
                    changed += std::memcmp(p + i, b + i * sizeof(T), sizeof(T)) != 0 ? 1U : 0U;
                }
            }
            return changed;
        }

        DivergenceRule m_rule;
        // Blow-up rule.
        bool m_has_start = false;
        double m_start = 0.0;
        double m_first_sum = 0.0;
        double m_first_examples = 0.0;
        static constexpr std::size_t window_capacity = 512;
        std::uint64_t m_window = 0;
        std::array<double, window_capacity> m_ring{};
        double m_window_sum = 0.0;
        std::uint64_t m_updates = 0;
        std::uint64_t m_above = 0;
        std::uint64_t m_above_examples = 0;
        // Dead-network rule: the parameters' bytes at the start of the epoch in progress.
        bool m_has_epoch_start = false;
        bool m_epoch_alive = false;
        std::uint64_t m_epoch_start_step = 0;
        double m_last_accuracy = std::numeric_limits<double>::quiet_NaN();
        std::uint64_t m_last_accuracy_step = 0;
        // Nearly-dead rule: the epoch so far.
        std::uint64_t m_epoch_evals = 0;
        bool m_epoch_at_chance = true;
        double m_epoch_loss = 0.0;
        std::uint64_t m_epoch_updates = 0;
        std::uint64_t m_epoch_scanned = 0;
        std::uint64_t m_epoch_dead_updates = 0;
        std::array<std::uint64_t, 4> m_rule_steps{};
        std::vector<unsigned char> m_epoch_start;
        std::optional<Stop> m_first_stop;
    };
}

#endif
