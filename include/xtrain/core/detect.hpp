/**
 * @file detect.hpp
 * @brief The detection idiom (std::experimental::is_detected, written out for C++17).
 *
 * Requirements on user types (a model, an optimizer policy, a callback, a schedule) are checked
 * by detecting members: `is_detected_v<op, T>` is true when `op<T>` is a valid type.
 */
#ifndef XTRAIN_CORE_DETECT_HPP
#define XTRAIN_CORE_DETECT_HPP

#include <type_traits>

namespace xtrain::detail
{
    /** @brief Stands for "no such type" in detected_t. */
    struct nonesuch
    {
        nonesuch() = delete;
        ~nonesuch() = delete;
        nonesuch(const nonesuch&) = delete;
        void operator=(const nonesuch&) = delete;
    };

    template <class Default, class AlwaysVoid, template <class...> class Op, class... Args>
    struct detector
    {
        using value_t = std::false_type;
        using type = Default;
    };

    template <class Default, template <class...> class Op, class... Args>
    struct detector<Default, std::void_t<Op<Args...>>, Op, Args...>
    {
        using value_t = std::true_type;
        using type = Op<Args...>;
    };

    /** @brief True when Op<Args...> is a valid type. */
    template <template <class...> class Op, class... Args>
    inline constexpr bool is_detected_v = detector<nonesuch, void, Op, Args...>::value_t::value;

    /** @brief Op<Args...> if valid, else nonesuch. */
    template <template <class...> class Op, class... Args>
    using detected_t = typename detector<nonesuch, void, Op, Args...>::type;

    /** @brief True when Op<Args...> is valid and is exactly Expected. */
    template <class Expected, template <class...> class Op, class... Args>
    inline constexpr bool is_detected_exact_v = std::is_same_v<Expected, detected_t<Op, Args...>>;
}

#endif
