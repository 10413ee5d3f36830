/**
 * @file checkpoint_saver.hpp
 * @brief Writes checkpoints every N epochs or N updates, from which a run resumes exactly.
 */
#ifndef XTRAIN_TRAIN_CALLBACKS_CHECKPOINT_SAVER_HPP
#define XTRAIN_TRAIN_CALLBACKS_CHECKPOINT_SAVER_HPP

#include <cstdint>
#include <string>
#include <utility>

#include "xtrain/core/error.hpp"
#include "xtrain/train/trainer.hpp"

namespace xtrain
{
    /**
     * @brief Saves a checkpoint to `path` (overwritten each time, atomically) every `every_epochs`
     * epochs and/or every `every_steps` updates (0 disables either), and at the end of fit.
     *
     * The save happens at the end of the update, after its evaluation and every other hook, so a
     * run resumed with Trainer::load_checkpoint continues bit-identically.
     */
    class CheckpointSaver
    {
    public:
        /** @brief Saves to @p path every @p every_epochs epochs and every @p every_steps updates. */
        explicit CheckpointSaver(std::string path, std::uint64_t every_epochs = 1, std::uint64_t every_steps = 0,
                                 bool at_end = true)
            : m_path(std::move(path))
            , m_every_epochs(every_epochs)
            , m_every_steps(every_steps)
            , m_at_end(at_end)
        {
            if (m_path.empty())
            {
                throw std::invalid_argument("xtrain::CheckpointSaver: the path is empty");
            }
        }

        /** @brief Asks for a save every every_steps updates. */
        template <class Tr>
        void on_step_end(Tr& t)
        {
            if (m_every_steps != 0 && t.step() % m_every_steps == 0)
            {
                t.request_checkpoint(m_path);
            }
        }

        /** @brief Asks for a save every every_epochs epochs. */
        template <class Tr>
        void on_epoch_end(Tr& t)
        {
            if (m_every_epochs != 0 && t.epoch() % m_every_epochs == 0)
            {
                t.request_checkpoint(m_path);
            }
        }

        /** @brief Saves the final state. */
        template <class Tr>
        void on_fit_end(Tr& t)
        {
            if (m_at_end)
            {
                t.save_checkpoint(m_path);
            }
        }

        /** @brief Where checkpoints go. */
        const std::string& path() const noexcept { return m_path; }

    private:
        std::string m_path;
        std::uint64_t m_every_epochs;
        std::uint64_t m_every_steps;
        bool m_at_end;
    };
}

#endif
