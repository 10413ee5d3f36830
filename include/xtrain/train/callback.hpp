/**
 * @file callback.hpp
 * @brief The Callback requirement: hooks detected by signature.
 *
 * A callback is any class with one or more of these members (each may be a template over the
 * trainer type, and only the ones present are called):
 * ```cpp
 * void on_fit_begin(Trainer& t);    void on_fit_end(Trainer& t);
 * void on_epoch_begin(Trainer& t);  void on_epoch_end(Trainer& t);
 * void on_step_begin(Trainer& t);   void on_step_end(Trainer& t);
 * void on_gradient(Trainer& t, const Batch<T>& batch, const xt::xtensor<T, 1>& grad);
 * void on_evaluate(Trainer& t, const EvalRecord& record);
 * void save(BinaryWriter& w) const; void load(BinaryReader& r);   // state kept in checkpoints
 * ```
 * Three more hooks let a callback combine the work of several processes (data-parallel training,
 * xtrain/distributed/mpi.hpp); the trainer itself stays unaware of how:
 * ```cpp
 * // After the local backward pass (and accumulation), before the optimizer step. On entry: the
 * // mean gradient over this process's `rows` rows (any content when rows is 0) and their loss sum;
 * // on return: the mean over all processes' rows, their total and their loss sum.
 * void reduce_gradient(Trainer& t, xt::xtensor<T, 1>& grad, std::size_t& rows, double& loss_sum);
 * // Which rows [first, last) of an n-row evaluation set this process evaluates.
 * std::pair<std::size_t, std::size_t> evaluation_rows(Trainer& t, std::size_t n);
 * // After evaluating those rows: this process's loss sum, correct count and rows in, the totals out.
 * void reduce_evaluation(Trainer& t, double& loss_sum, std::size_t& correct, std::size_t& rows);
 * ```
 * A callback with reduce_gradient turns off the fused plain-SGD step (TrainerOptions::fuse_plain_sgd):
 * the gradient must exist as a buffer to be reduced.
 * Callbacks are held by value in the trainer, in a compile-time pack: a hook that a callback does
 * not have costs nothing. A class with none of the hooks is refused at compile time (a misspelt
 * hook would otherwise be silently ignored).
 */
#ifndef XTRAIN_TRAIN_CALLBACK_HPP
#define XTRAIN_TRAIN_CALLBACK_HPP

#include <cstddef>
#include <type_traits>
#include <utility>

#include "xtrain/core/batch.hpp"
#include "xtrain/core/detect.hpp"
#include "xtrain/core/serialize.hpp"
#include "xtrain/train/history.hpp"

namespace xtrain
{
    namespace detail
    {
        template <class C, class Tr>
        using on_fit_begin_t = decltype(std::declval<C&>().on_fit_begin(std::declval<Tr&>()));
        template <class C, class Tr>
        using on_fit_end_t = decltype(std::declval<C&>().on_fit_end(std::declval<Tr&>()));
        template <class C, class Tr>
        using on_epoch_begin_t = decltype(std::declval<C&>().on_epoch_begin(std::declval<Tr&>()));
        template <class C, class Tr>
        using on_epoch_end_t = decltype(std::declval<C&>().on_epoch_end(std::declval<Tr&>()));
        template <class C, class Tr>
        using on_step_begin_t = decltype(std::declval<C&>().on_step_begin(std::declval<Tr&>()));
        template <class C, class Tr>
        using on_step_end_t = decltype(std::declval<C&>().on_step_end(std::declval<Tr&>()));
        template <class C, class Tr>
        using on_gradient_t = decltype(std::declval<C&>().on_gradient(
            std::declval<Tr&>(), std::declval<const Batch<typename Tr::value_type>&>(),
            std::declval<const typename Tr::gradient_type&>()));
        template <class C, class Tr>
        using on_evaluate_t
            = decltype(std::declval<C&>().on_evaluate(std::declval<Tr&>(), std::declval<const EvalRecord&>()));
        template <class C, class Tr>
        using reduce_gradient_t = decltype(std::declval<C&>().reduce_gradient(
            std::declval<Tr&>(), std::declval<typename Tr::gradient_type&>(), std::declval<std::size_t&>(),
            std::declval<double&>()));
        template <class C, class Tr>
        using evaluation_rows_t = decltype(std::size_t(std::declval<C&>().evaluation_rows(std::declval<Tr&>(),
                                                                                          std::size_t{}).first),
                                           std::size_t(std::declval<C&>().evaluation_rows(std::declval<Tr&>(),
                                                                                          std::size_t{}).second));
        template <class C, class Tr>
        using reduce_evaluation_t = decltype(std::declval<C&>().reduce_evaluation(
            std::declval<Tr&>(), std::declval<double&>(), std::declval<std::size_t&>(), std::declval<std::size_t&>()));
        template <class C>
        using save_t = decltype(std::declval<const C&>().save(std::declval<BinaryWriter&>()));
        template <class C>
        using load_t = decltype(std::declval<C&>().load(std::declval<BinaryReader&>()));
    }

    /** @brief True when C has at least one hook callable with trainer type Tr. */
    template <class C, class Tr>
    inline constexpr bool is_callback_v = detail::is_detected_v<detail::on_fit_begin_t, C, Tr>
        || detail::is_detected_v<detail::on_fit_end_t, C, Tr> || detail::is_detected_v<detail::on_epoch_begin_t, C, Tr>
        || detail::is_detected_v<detail::on_epoch_end_t, C, Tr> || detail::is_detected_v<detail::on_step_begin_t, C, Tr>
        || detail::is_detected_v<detail::on_step_end_t, C, Tr> || detail::is_detected_v<detail::on_gradient_t, C, Tr>
        || detail::is_detected_v<detail::on_evaluate_t, C, Tr> || detail::is_detected_v<detail::reduce_gradient_t, C, Tr>
        || detail::is_detected_v<detail::evaluation_rows_t, C, Tr> || detail::is_detected_v<detail::reduce_evaluation_t, C, Tr>;

    /** @brief True when C keeps state in checkpoints (has both save and load). */
    template <class C>
    inline constexpr bool has_checkpoint_state_v
        = detail::is_detected_v<detail::save_t, C> && detail::is_detected_v<detail::load_t, C>;
}

#endif
