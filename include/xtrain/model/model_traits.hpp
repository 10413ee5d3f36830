/**
 * @file model_traits.hpp
 * @brief The Model requirement: detection traits, and check_model<M>() with one readable error per
 * missing member.
 *
 * A model is any class with
 * @code
 * using value_type = T;                                                 // float or double
 * xtrain::ParamBuffer<T>& parameters();
 * const xtrain::ParamBuffer<T>& parameters() const;
 * T loss_and_gradient(const xtrain::Batch<T>& batch, xt::xtensor<T, 1>& grad);
 * @endcode
 * and optionally `T loss(const Batch<T>&)`, `void predict(const Batch<T>&, label_type*)`,
 * `void set_training(bool)`, `void save(BinaryWriter&) const` with `void load(BinaryReader&)`,
 * `void gradient_of_first(const Batch<T>&, std::size_t, xt::xtensor<T, 1>&)` with
 * `bool holds_backward_of(const Batch<T>&) const`.
 * loss_and_gradient returns the MEAN loss over the batch and overwrites grad (same layout as
 * parameters()) with the gradient of that mean, so the gradient's scale does not depend on the
 * batch size. Each member has a detection alias and a boolean trait (usable for SFINAE and
 * `if constexpr`); check_model<M>() turns a missing member into one static_assert whose message
 * quotes the expected signature.
 */
#ifndef XTRAIN_MODEL_MODEL_TRAITS_HPP
#define XTRAIN_MODEL_MODEL_TRAITS_HPP

#include <cstddef>
#include <type_traits>
#include <utility>

#include <xtensor/xtensor.hpp>

#include "xtrain/core/batch.hpp"
#include "xtrain/core/detect.hpp"
#include "xtrain/core/param_buffer.hpp"
#include "xtrain/core/serialize.hpp"

namespace xtrain
{
    namespace detail::model_detect
    {
        // The detection idiom is core's (core/detect.hpp); named here for the qualified uses below.
        using detail::detected_t;
        using detail::is_detected_exact_v;
        using detail::is_detected_v;

        // One alias per member; T is the model's value_type (float when it has none, so that the
        // other checks stay well-formed and only the value_type assertion fires).
        template <class M>
        using value_type_t = typename M::value_type;
        template <class M>
        using parameters_t = decltype(std::declval<M&>().parameters());
        template <class M>
        using const_parameters_t = decltype(std::declval<const M&>().parameters());
        template <class M, class T>
        using loss_and_gradient_t = decltype(std::declval<M&>().loss_and_gradient(
            std::declval<const Batch<T>&>(), std::declval<xt::xtensor<T, 1>&>()));
        template <class M, class T>
        using loss_t = decltype(std::declval<M&>().loss(std::declval<const Batch<T>&>()));
        template <class M, class T>
        using predict_t = decltype(std::declval<M&>().predict(std::declval<const Batch<T>&>(),
                                                               std::declval<label_type*>()));
        template <class M, class T>
        using loss_and_predict_t = decltype(std::declval<M&>().loss_and_predict(std::declval<const Batch<T>&>(),
                                                                                 std::declval<label_type*>()));
        template <class M, class T>
        using gradient_of_first_t = decltype(std::declval<M&>().gradient_of_first(
            std::declval<const Batch<T>&>(), std::declval<std::size_t>(), std::declval<xt::xtensor<T, 1>&>()));
        template <class M, class T>
        using holds_backward_of_t = decltype(std::declval<const M&>().holds_backward_of(std::declval<const Batch<T>&>()));
        template <class M>
        using set_training_t = decltype(std::declval<M&>().set_training(std::declval<bool>()));
        template <class M>
        using save_t = decltype(std::declval<const M&>().save(std::declval<BinaryWriter&>()));
        template <class M>
        using load_t = decltype(std::declval<M&>().load(std::declval<BinaryReader&>()));

        // A member of that name exists (and is not overloaded or a template): used to report an
        // optional member whose signature is wrong, which would otherwise be silently ignored.
        template <class M>
        using named_loss_t = decltype(&M::loss);
        template <class M>
        using named_predict_t = decltype(&M::predict);
        template <class M>
        using named_set_training_t = decltype(&M::set_training);

        template <class M>
        inline constexpr bool has_value_type_v = is_detected_v<value_type_t, M>;

        template <class M, bool = has_value_type_v<M>>
        struct scalar_of
        {
            using type = float;
            static constexpr bool valid = false;
        };
        template <class M>
        struct scalar_of<M, true>
        {
            using vt = typename M::value_type;
            static constexpr bool valid = std::is_same_v<vt, float> || std::is_same_v<vt, double>;
            using type = std::conditional_t<valid, vt, float>;
        };

        template <class M>
        using scalar_t = typename scalar_of<M>::type;
    }

    /** @brief True if M has `using value_type = float;` or `= double;`. */
    template <class M>
    inline constexpr bool has_value_type_v = detail::model_detect::scalar_of<M>::valid;

    /** @brief True if M has `ParamBuffer<T>& parameters()` and `const ParamBuffer<T>& parameters() const`. */
    template <class M>
    inline constexpr bool has_parameters_v =
        has_value_type_v<M>
        && detail::model_detect::is_detected_exact_v<ParamBuffer<detail::model_detect::scalar_t<M>>&,
                                                     detail::model_detect::parameters_t, M>
        && detail::model_detect::is_detected_exact_v<const ParamBuffer<detail::model_detect::scalar_t<M>>&,
                                                     detail::model_detect::const_parameters_t, M>;

    /** @brief True if M has `T loss_and_gradient(const Batch<T>&, xt::xtensor<T, 1>&)`. */
    template <class M>
    inline constexpr bool has_loss_and_gradient_v =
        has_value_type_v<M>
        && detail::model_detect::is_detected_exact_v<detail::model_detect::scalar_t<M>,
                                                     detail::model_detect::loss_and_gradient_t, M,
                                                     detail::model_detect::scalar_t<M>>;

    /** @brief True if M meets the Model requirement (value_type, parameters(), loss_and_gradient()). */
    template <class M>
    inline constexpr bool is_model_v = has_value_type_v<M> && has_parameters_v<M> && has_loss_and_gradient_v<M>;

    /** @brief True if M has `T loss(const Batch<T>&)` (evaluation without a gradient). */
    template <class M>
    inline constexpr bool has_loss_v =
        has_value_type_v<M>
        && detail::model_detect::is_detected_exact_v<detail::model_detect::scalar_t<M>, detail::model_detect::loss_t, M,
                                                     detail::model_detect::scalar_t<M>>;

    /** @brief True if M has `void predict(const Batch<T>&, label_type* out)` (class predictions: accuracy). */
    template <class M>
    inline constexpr bool has_predict_v =
        has_value_type_v<M>
        && detail::model_detect::is_detected_v<detail::model_detect::predict_t, M, detail::model_detect::scalar_t<M>>;

    /**
     * @brief True if M has `T loss_and_predict(const Batch<T>&, label_type* out)`: the mean loss and
     * the predicted classes from one forward pass (optional; evaluation then runs the model once per
     * batch instead of twice).
     */
    template <class M>
    inline constexpr bool has_loss_and_predict_v
        = has_value_type_v<M>
        && detail::model_detect::is_detected_exact_v<detail::model_detect::scalar_t<M>, detail::model_detect::loss_and_predict_t,
                                                     M, detail::model_detect::scalar_t<M>>;

    /** @brief True if M has `void set_training(bool)` (e.g. dropout off in evaluation). */
    template <class M>
    inline constexpr bool has_set_training_v = detail::model_detect::is_detected_v<detail::model_detect::set_training_t, M>;

    /**
     * @brief True if M has `void gradient_of_first(const Batch<T>&, std::size_t n, xt::xtensor<T, 1>&)`
     * and `bool holds_backward_of(const Batch<T>&) const`: the gradient over a batch's first n
     * samples from the backward pass just made (NoiseScaleMonitor's half-batch gradient without a
     * second forward pass).
     */
    template <class M>
    inline constexpr bool has_gradient_of_first_v
        = has_value_type_v<M>
        && detail::model_detect::is_detected_v<detail::model_detect::gradient_of_first_t, M, detail::model_detect::scalar_t<M>>
        && detail::model_detect::is_detected_exact_v<bool, detail::model_detect::holds_backward_of_t, M,
                                                     detail::model_detect::scalar_t<M>>;

    /** @brief True if M has `void save(BinaryWriter&) const` and `void load(BinaryReader&)` (state beyond the parameters). */
    template <class M>
    inline constexpr bool has_model_state_v = detail::model_detect::is_detected_v<detail::model_detect::save_t, M>
                                              && detail::model_detect::is_detected_v<detail::model_detect::load_t, M>;

    /**
     * @brief Checks the Model requirement at compile time: one static_assert per missing member,
     * quoting the signature expected. Returns true, so it can sit in a `static_assert` or an `if constexpr`.
     *
     * Call it first in anything that takes a user's model. Optional members are checked when present
     * under their name but with another signature (they would otherwise be ignored silently), and
     * save/load must come as a pair.
     */
    template <class M>
    constexpr bool check_model()
    {
        namespace d = detail::model_detect;
        constexpr bool vt = d::has_value_type_v<M>;
        static_assert(vt, "xtrain model: missing member 'using value_type = T;' (T = float or double)");
        static_assert(!vt || has_value_type_v<M>, "xtrain model: value_type must be float or double");
        constexpr bool ok_t = has_value_type_v<M>;
        constexpr bool mutable_params =
            d::is_detected_exact_v<ParamBuffer<d::scalar_t<M>>&, d::parameters_t, M>;
        static_assert(!ok_t || mutable_params,
                      "xtrain model: missing member 'xtrain::ParamBuffer<T>& parameters();' (T = value_type)");
        static_assert(!ok_t || !mutable_params
                          || d::is_detected_exact_v<const ParamBuffer<d::scalar_t<M>>&, d::const_parameters_t, M>,
                      "xtrain model: missing member 'const xtrain::ParamBuffer<T>& parameters() const;'");
        static_assert(!ok_t || has_loss_and_gradient_v<M>,
                      "xtrain model: missing member, or wrong signature: 'T loss_and_gradient(const xtrain::Batch<T>& "
                      "batch, xt::xtensor<T, 1>& grad);' (returns the mean loss, overwrites grad with its gradient)");
        static_assert(!ok_t || !d::is_detected_v<d::named_loss_t, M> || has_loss_v<M>,
                      "xtrain model: member loss() must have the signature 'T loss(const xtrain::Batch<T>& batch);'");
        static_assert(!ok_t || !d::is_detected_v<d::named_predict_t, M> || has_predict_v<M>,
                      "xtrain model: member predict() must have the signature "
                      "'void predict(const xtrain::Batch<T>& batch, xtrain::label_type* out);'");
        static_assert(!d::is_detected_v<d::named_set_training_t, M> || has_set_training_v<M>,
                      "xtrain model: member set_training() must have the signature 'void set_training(bool on);'");
        static_assert(d::is_detected_v<d::save_t, M> || !d::is_detected_v<d::load_t, M>,
                      "xtrain model: load() without 'void save(xtrain::BinaryWriter& out) const;'");
        static_assert(!d::is_detected_v<d::save_t, M> || d::is_detected_v<d::load_t, M>,
                      "xtrain model: save() without 'void load(xtrain::BinaryReader& in);'");
        return true;
    }
}

#endif
