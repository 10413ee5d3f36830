/**
 * @file target.hpp
 * @brief The target a sweep measures "time to" (steps, examples, seconds until a metric is reached).
 *
 * Shallue et al. (2019) measure the effect of batch size by the number of steps needed to reach a
 * fixed goal, with the learning rate tuned per batch size. A Target is that goal: a validation
 * accuracy to reach (higher is better) or a validation or training loss to get below.
 */
#ifndef XTRAIN_EXPERIMENT_TARGET_HPP
#define XTRAIN_EXPERIMENT_TARGET_HPP

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "xtrain/core/error.hpp"
#include "xtrain/experiment/detail/text_io.hpp"

namespace xtrain
{
    /** @brief The metric a Target is about. */
    enum class TargetMetric
    {
        none,          ///< no target: nothing is measured
        val_accuracy,  ///< reached when val_accuracy >= value
        val_loss,      ///< reached when val_loss <= value
        train_loss     ///< reached when train_loss <= value
    };

    /** @brief The column name of @p m in the CSV files ("none" for TargetMetric::none). */
    inline const char* target_metric_name(TargetMetric m) noexcept
    {
        switch (m)
        {
        case TargetMetric::val_accuracy: return "val_accuracy";
        case TargetMetric::val_loss: return "val_loss";
        case TargetMetric::train_loss: return "train_loss";
        case TargetMetric::none: break;
        }
        return "none";
    }

    /** @brief A goal on one metric: accuracy at least `value`, or loss at most `value`. */
    struct Target
    {
        TargetMetric metric = TargetMetric::none;  ///< which metric; none disables the target
        double value = 0.0;                        ///< threshold

        /** @brief True unless the metric is none. */
        bool enabled() const noexcept { return metric != TargetMetric::none; }
        /** @brief True if a measured value @p x meets the target (never for NaN or when disabled). */
        bool met(double x) const noexcept
        {
            switch (metric)
            {
            case TargetMetric::val_accuracy: return x >= value;
            case TargetMetric::val_loss:
            case TargetMetric::train_loss: return x <= value;
            case TargetMetric::none: break;
            }
            return false;
        }
        /** @brief Canonical text: "val_accuracy>=0.85", "val_loss<=0.3" or "none". parse_target reads it back. */
        std::string str() const
        {
            if (!enabled())
            {
                return "none";
            }
            return std::string(target_metric_name(metric))
                 + (metric == TargetMetric::val_accuracy ? ">=" : "<=") + detail::format_double(value);
        }
        /** @brief Same metric and threshold. */
        friend bool operator==(const Target& a, const Target& b) noexcept
        {
            return a.metric == b.metric && (a.metric == TargetMetric::none || a.value == b.value);
        }
        /** @brief Negation of operator==. */
        friend bool operator!=(const Target& a, const Target& b) noexcept { return !(a == b); }
    };

    /**
     * @brief Parses a target: "none" (or ""), or METRIC=VALUE with METRIC one of val_accuracy,
     *        val_loss, train_loss. The canonical forms "val_accuracy>=0.85" and "val_loss<=0.3" are
     *        accepted too, when the comparison matches the metric's direction.
     * @throws std::invalid_argument naming the text and what is wrong with it.
     */
    inline Target parse_target(std::string_view text)
    {
        const char* where = "xtrain::parse_target";
        const std::string shown = "\"" + std::string(text) + "\"";
        if (text.empty() || text == "none")
        {
            return Target{};
        }
        const std::size_t eq = text.find('=');
        detail::require(eq != std::string_view::npos && eq > 0, where, "target", shown,
                        "must be none or METRIC=VALUE with METRIC val_accuracy, val_loss or train_loss");
        std::string_view name = text.substr(0, eq);
        char cmp = 0;
        if (name.back() == '>' || name.back() == '<')
        {
            cmp = name.back();
            name.remove_suffix(1);
        }
        Target t;
        if (name == "val_accuracy")
        {
            t.metric = TargetMetric::val_accuracy;
        }
        else if (name == "val_loss")
        {
            t.metric = TargetMetric::val_loss;
        }
        else if (name == "train_loss")
        {
            t.metric = TargetMetric::train_loss;
        }
        detail::require(t.metric != TargetMetric::none, where, "target", shown,
                        "must name val_accuracy, val_loss or train_loss before '='");
        const char expected = t.metric == TargetMetric::val_accuracy ? '>' : '<';
        detail::require(cmp == 0 || cmp == expected, where, "target", shown,
                        "compares the wrong way: accuracy targets are >=, loss targets <=");
        detail::require(detail::parse_double(text.substr(eq + 1), t.value) && std::isfinite(t.value), where,
                        "target", shown, "must end with a finite number after '='");
        return t;
    }

    /** @brief When a run first met its target. */
    struct TargetHit
    {
        double epoch = 0.0;          ///< epochs completed (fractional within an epoch)
        std::uint64_t step = 0;      ///< optimizer steps taken
        std::uint64_t examples = 0;  ///< training examples seen
        double seconds = 0.0;        ///< wall-clock seconds since the run started
        /**
         * @brief Steps between the last check that found the target not yet met and this hit: the
         * first hit lies in (step - resolution, step]. 1 for a target checked after every update;
         * 0 when the target was met before the first update.
         */
        std::uint64_t resolution = 1;

        /**
         * @brief True when the hit is not resolved: met before training, or known only to within
         * more than half of its steps (e.g. at the first evaluation point). A fit of steps to
         * target against batch size must not use such a point.
         */
        bool resolution_limited() const noexcept
        {
            return step == 0 || (resolution > 1 && 2 * resolution > step);
        }

        /** @brief Calls f(name, member) for every field (@p h may be const). */
        template <class Hit, class F>
        static void visit(Hit& h, F&& f)
        {
            f("epoch", h.epoch);
            f("step", h.step);
            f("examples", h.examples);
            f("seconds", h.seconds);
            f("resolution", h.resolution);
        }
    };
}

#endif
