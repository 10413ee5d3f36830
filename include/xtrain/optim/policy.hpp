/**
 * @file policy.hpp
 * @brief The optimizer-policy requirement: what Optimizer<Policy> needs from an update rule.
 *
 * A policy is a small copyable struct: public hyperparameters with defaults, a check of them, a
 * nested State template holding what the rule remembers between steps (momentum, moments), and
 * the update itself, called once per segment of the parameter buffer:
 * @code
 * struct MyRule {
 *     static constexpr const char* name = "MyRule";   // identifies its state in checkpoints
 *     double lr = 0.01;                                // the rate Optimizer::lr() starts from
 *     double weight_decay = 0.0;                       // optional: default for segments without one
 *     void validate() const;                           // throws std::invalid_argument naming the field
 *     template <class T> struct State {                // default-constructible, for T = float, double
 *         xt::xtensor<T, 1> buffer;
 *         template <class F> void visit(F&& f) { f("buffer", buffer); }  // every member, for checkpoints
 *     };
 *     template <class T> void init(State<T>& s, std::size_t n) const;     // allocate for n parameters
 *     template <class T> void update(State<T>& s, const xtrain::StepContext& ctx,
 *                                    T* params, const T* grads, std::size_t n) const;
 * };
 * @endcode
 * `update` sees one segment: `params` and `grads` point at its first element, `n` is its size,
 * and the State's buffers cover the whole parameter buffer, so they are indexed from `ctx.offset`.
 * `Optimizer<P>` checks all of this at compile time with one readable `static_assert` per missing
 * member; `xtrain::is_optimizer_policy_v<P>` is the same test as a boolean.
 */
#ifndef XTRAIN_OPTIM_POLICY_HPP
#define XTRAIN_OPTIM_POLICY_HPP

#include <cmath>
#include <cstddef>
#include <string_view>
#include <type_traits>
#include <utility>

#include "xtrain/core/detect.hpp"

namespace xtrain
{
    /** @brief What Optimizer tells a policy's update about one segment of one step. */
    struct StepContext
    {
        /** @brief The learning rate here: Optimizer::lr() times the segment's lr_scale. */
        double lr = 0.0;
        /** @brief The segment's weight decay if it sets one, else the policy's (0 if it has none). */
        double weight_decay = 0.0;
        /** @brief The segment's layer_adaptation flag (LARS and LAMB use a trust ratio of 1 where false). */
        bool layer_adaptation = true;
        /** @brief 1 on the first step of this state, then 2, 3, ... (bias corrections, first-step rules). */
        std::size_t step = 1;
        /** @brief Index of the segment's first element in the whole buffer: State buffers are indexed from it. */
        std::size_t offset = 0;
    };

    namespace detail
    {
        /** @brief Accepts any (name, member) pair: probes that State::visit can be called. */
        struct state_visit_probe
        {
            /** @brief Does nothing. */
            template <class V>
            void operator()(const char*, V&) const noexcept
            {
            }
        };

        template <class P>
        using policy_lr_t = decltype(static_cast<double>(std::declval<const P&>().lr));
        template <class P>
        using policy_weight_decay_t = decltype(static_cast<double>(std::declval<const P&>().weight_decay));
        template <class P>
        using policy_validate_t = decltype(std::declval<const P&>().validate());
        template <class P>
        using policy_name_t = decltype(std::string_view(P::name));
        template <class P, class T>
        using policy_state_raw_t = typename P::template State<T>;
        template <class S>
        using state_visit_t = decltype(std::declval<S&>().visit(state_visit_probe{}));
        template <class P, class T>
        using policy_init_t = decltype(std::declval<const P&>().init(std::declval<policy_state_raw_t<P, T>&>(),
                                                                     std::size_t{}));
        template <class P, class T>
        using policy_update_t = decltype(std::declval<const P&>().update(
            std::declval<policy_state_raw_t<P, T>&>(), std::declval<const StepContext&>(), std::declval<T*>(),
            std::declval<const T*>(), std::size_t{}));

        template <class P, class T, bool = is_detected_v<policy_state_raw_t, P, T>>
        struct policy_state
        {
            /** @brief Stand-in when the policy has no State, so that only the static_assert reports it. */
            struct type
            {
                template <class F>
                void visit(F&&)
                {
                }
            };
        };

        template <class P, class T>
        struct policy_state<P, T, true>
        {
            /** @brief The policy's own state for scalar type T. */
            using type = typename P::template State<T>;
        };

        /** @brief P::State<T>, or an empty stand-in when P has none. */
        template <class P, class T>
        using policy_state_t = typename policy_state<P, T>::type;

        template <class P>
        inline constexpr bool policy_has_state_v =
            is_detected_v<policy_state_raw_t, P, float> && is_detected_v<policy_state_raw_t, P, double>;

        template <class P, bool = policy_has_state_v<P>>
        struct policy_state_usable : std::false_type
        {
        };

        template <class P>
        struct policy_state_usable<P, true>
            : std::bool_constant<std::is_default_constructible_v<policy_state_raw_t<P, float>> &&
                                 std::is_default_constructible_v<policy_state_raw_t<P, double>>>
        {
        };

        template <class P, bool = policy_has_state_v<P>>
        struct policy_state_visitable : std::false_type
        {
        };

        template <class P>
        struct policy_state_visitable<P, true>
            : std::bool_constant<is_detected_v<state_visit_t, policy_state_raw_t<P, float>> &&
                                 is_detected_v<state_visit_t, policy_state_raw_t<P, double>>>
        {
        };

        /** @brief True for a number that is finite and >= 0 (false for NaN). */
        inline bool finite_nonnegative(double v) noexcept
        {
            return std::isfinite(v) && v >= 0.0;
        }

        /** @brief True for a number in [0, 1) (false for NaN). */
        inline bool in_unit_interval_open(double v) noexcept
        {
            return v >= 0.0 && v < 1.0;
        }

        /** @brief The policy's weight decay, the default for segments without one; 0 if it has none. */
        template <class P>
        double policy_weight_decay(const P& p) noexcept
        {
            if constexpr (is_detected_v<policy_weight_decay_t, P>)
            {
                return static_cast<double>(p.weight_decay);
            }
            else
            {
                (void)p;
                return 0.0;
            }
        }
    }

    /** @brief Which members of the optimizer-policy requirement @p P has. */
    template <class P>
    struct policy_traits
    {
        /** @brief A public data member `lr` convertible to double. */
        static constexpr bool has_lr = detail::is_detected_v<detail::policy_lr_t, P>;
        /** @brief `void validate() const`. */
        static constexpr bool has_validate = detail::is_detected_v<detail::policy_validate_t, P>;
        /** @brief A static member `name` convertible to std::string_view. */
        static constexpr bool has_name = detail::is_detected_v<detail::policy_name_t, P>;
        /** @brief A nested `template <class T> struct State`, default-constructible for float and double. */
        static constexpr bool has_state = detail::policy_state_usable<P>::value;
        /** @brief `State<T>::visit(f)` calling f(name, member). */
        static constexpr bool has_visit = detail::policy_state_visitable<P>::value;
        /** @brief `template <class T> void init(State<T>&, std::size_t n) const`. */
        static constexpr bool has_init = detail::is_detected_v<detail::policy_init_t, P, float> &&
                                         detail::is_detected_v<detail::policy_init_t, P, double>;
        /** @brief `template <class T> void update(State<T>&, const StepContext&, T*, const T*, std::size_t) const`. */
        static constexpr bool has_update = detail::is_detected_v<detail::policy_update_t, P, float> &&
                                           detail::is_detected_v<detail::policy_update_t, P, double>;
        /** @brief An optional `weight_decay` member: the default for segments that set none. */
        static constexpr bool has_weight_decay = detail::is_detected_v<detail::policy_weight_decay_t, P>;
    };

    /** @brief True when @p P meets the optimizer-policy requirement (see policy.hpp). */
    template <class P>
    inline constexpr bool is_optimizer_policy_v =
        policy_traits<P>::has_lr && policy_traits<P>::has_validate && policy_traits<P>::has_name &&
        policy_traits<P>::has_state && policy_traits<P>::has_visit && policy_traits<P>::has_init &&
        policy_traits<P>::has_update && std::is_copy_constructible_v<P>;

    /**
     * @brief Fails to compile, with one message per missing member, unless @p P is an optimizer policy.
     *
     * Members that need the State are only checked once the State itself is there, so a policy
     * without a State gets one message, not four.
     */
    template <class P>
    constexpr bool check_optimizer_policy()
    {
        using tr = policy_traits<P>;
        static_assert(tr::has_lr, "xtrain optimizer policy: missing public data member 'double lr' (the initial learning rate)");
        static_assert(tr::has_validate, "xtrain optimizer policy: missing 'void validate() const' (throws std::invalid_argument naming a bad hyperparameter)");
        static_assert(tr::has_name, "xtrain optimizer policy: missing 'static constexpr const char* name' (identifies its state in checkpoints)");
        static_assert(tr::has_state, "xtrain optimizer policy: missing nested 'template <class T> struct State' (default-constructible)");
        static_assert(!tr::has_state || tr::has_visit, "xtrain optimizer policy: State<T> is missing 'template <class F> void visit(F&& f)' calling f(\"name\", member) for each member");
        static_assert(!tr::has_state || tr::has_init, "xtrain optimizer policy: missing 'template <class T> void init(State<T>& state, std::size_t n) const'");
        static_assert(!tr::has_state || tr::has_update, "xtrain optimizer policy: missing 'template <class T> void update(State<T>& state, const xtrain::StepContext& ctx, T* params, const T* grads, std::size_t n) const'");
        static_assert(std::is_copy_constructible_v<P>, "xtrain optimizer policy: the policy must be copyable");
        return true;
    }
}

#endif
