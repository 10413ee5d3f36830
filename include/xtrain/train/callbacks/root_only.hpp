/**
 * @file root_only.hpp
 * @brief RootOnly<C>: runs a callback's hooks in one process of several (e.g. rank 0 of an MPI job).
 *
 * In data-parallel training every process runs the same Trainer type, so a callback cannot be
 * added on one process and left out on the others; RootOnly keeps it in the pack everywhere and
 * passes its hooks on only where @p active is true. Meant for callbacks that write (CsvLogger,
 * CheckpointSaver, a progress bar): a callback that steers the run (early stopping, a divergence
 * guard, a learning-rate schedule) must run on every process, or the processes part ways.
 * The inner callback's checkpoint state (save/load) is passed on everywhere, so a checkpoint holds
 * the same bytes whichever process writes it.
 * (The hooks are templates over a defaulted D = C so that each exists only where C has it.)
 */
#ifndef XTRAIN_TRAIN_CALLBACKS_ROOT_ONLY_HPP
#define XTRAIN_TRAIN_CALLBACKS_ROOT_ONLY_HPP

#include <utility>

#include "xtrain/core/serialize.hpp"
#include "xtrain/train/history.hpp"

namespace xtrain
{
    /** @brief Passes the hooks of @p C on only where active (rank 0); see the file comment. */
    template <class C>
    class RootOnly
    {
    public:
        /** @brief Wraps @p inner; its hooks run only when @p active. */
        RootOnly(C inner, bool active)
            : m_inner(std::move(inner))
            , m_active(active)
        {
        }

        /** @brief True where the inner callback's hooks run. */
        bool active() const noexcept { return m_active; }
        /** @brief The wrapped callback. */
        C& inner() noexcept { return m_inner; }
        /** @brief The wrapped callback. */
        const C& inner() const noexcept { return m_inner; }

        /** @brief Passed on where active. */
        template <class Tr, class D = C>
        auto on_fit_begin(Tr& t) -> decltype(std::declval<D&>().on_fit_begin(t), void())
        {
            if (m_active)
            {
                m_inner.on_fit_begin(t);
            }
        }
        /** @brief Passed on where active. */
        template <class Tr, class D = C>
        auto on_fit_end(Tr& t) -> decltype(std::declval<D&>().on_fit_end(t), void())
        {
            if (m_active)
            {
                m_inner.on_fit_end(t);
            }
        }
        /** @brief Passed on where active. */
        template <class Tr, class D = C>
        auto on_epoch_begin(Tr& t) -> decltype(std::declval<D&>().on_epoch_begin(t), void())
        {
            if (m_active)
            {
                m_inner.on_epoch_begin(t);
            }
        }
        /** @brief Passed on where active. */
        template <class Tr, class D = C>
        auto on_epoch_end(Tr& t) -> decltype(std::declval<D&>().on_epoch_end(t), void())
        {
            if (m_active)
            {
                m_inner.on_epoch_end(t);
            }
        }
        /** @brief Passed on where active. */
        template <class Tr, class D = C>
        auto on_step_begin(Tr& t) -> decltype(std::declval<D&>().on_step_begin(t), void())
        {
            if (m_active)
            {
                m_inner.on_step_begin(t);
            }
        }
        /** @brief Passed on where active. */
        template <class Tr, class D = C>
        auto on_step_end(Tr& t) -> decltype(std::declval<D&>().on_step_end(t), void())
        {
            if (m_active)
            {
                m_inner.on_step_end(t);
            }
        }
        /** @brief Passed on where active. */
        template <class Tr, class B, class G, class D = C>
        auto on_gradient(Tr& t, const B& batch, const G& grad)
            -> decltype(std::declval<D&>().on_gradient(t, batch, grad), void())
        {
            if (m_active)
            {
                m_inner.on_gradient(t, batch, grad);
            }
        }
        /** @brief Passed on where active. */
        template <class Tr, class D = C>
        auto on_evaluate(Tr& t, const EvalRecord& record) -> decltype(std::declval<D&>().on_evaluate(t, record), void())
        {
            if (m_active)
            {
                m_inner.on_evaluate(t, record);
            }
        }
        /** @brief The inner callback's checkpoint state, on every process. */
        template <class W = BinaryWriter, class D = C>
        auto save(W& w) const -> decltype(std::declval<const D&>().save(w), void())
        {
            m_inner.save(w);
        }
        /** @brief The inner callback's checkpoint state, on every process. */
        template <class R = BinaryReader, class D = C>
        auto load(R& r) -> decltype(std::declval<D&>().load(r), void())
        {
            m_inner.load(r);
        }

    private:
        C m_inner;
        bool m_active;
    };
}

#endif
