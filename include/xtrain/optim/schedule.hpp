/**
 * @file schedule.hpp
 * @brief The learning-rate schedule requirement, as traits a trainer can test.
 *
 * A schedule is any copyable type with `double operator()(std::size_t t) const`: the rate at the
 * 0-based index t. Whether t counts steps or epochs is up to whoever applies it (the trainer's
 * callback calls Optimizer::set_lr(schedule(t)) before the step or epoch t). A schedule that
 * reacts to a metric, such as ReduceLROnPlateau, also has `void observe(double metric)`.
 * A lambda `[](std::size_t t) { return 0.1 / (1.0 + t); }` is a schedule too.
 */
#ifndef XTRAIN_OPTIM_SCHEDULE_HPP
#define XTRAIN_OPTIM_SCHEDULE_HPP

#include <cstddef>
#include <type_traits>
#include <utility>

#include "xtrain/optim/policy.hpp"

namespace xtrain
{
    namespace detail
    {
        template <class S>
        using schedule_call_t = decltype(static_cast<double>(std::declval<const S&>()(std::size_t{})));
        template <class S>
        using schedule_observe_t = decltype(std::declval<S&>().observe(double{}));
    }

    /** @brief True when @p S is a schedule: copyable, with `double operator()(std::size_t) const`. */
    template <class S>
    inline constexpr bool is_schedule_v =
        detail::is_detected_v<detail::schedule_call_t, S> && std::is_copy_constructible_v<S>;

    /** @brief True when @p S also has `void observe(double metric)` (e.g. ReduceLROnPlateau). */
    template <class S>
    inline constexpr bool has_observe_v = detail::is_detected_v<detail::schedule_observe_t, S>;

    /** @brief Fails to compile, with one message per missing member, unless @p S is a schedule. */
    template <class S>
    constexpr bool check_schedule()
    {
        static_assert(detail::is_detected_v<detail::schedule_call_t, S>,
                      "xtrain schedule: missing 'double operator()(std::size_t t) const' (the rate at index t)");
        static_assert(std::is_copy_constructible_v<S>, "xtrain schedule: the schedule must be copyable");
        return true;
    }
}

#endif
