/**
 * @file progress_bar.hpp
 * @brief A one-line progress display on a terminal; silent when stderr is not a terminal.
 */
#ifndef XTRAIN_TRAIN_CALLBACKS_PROGRESS_BAR_HPP
#define XTRAIN_TRAIN_CALLBACKS_PROGRESS_BAR_HPP

#include <chrono>
#include <cmath>
#include <cstdio>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

#include "xtrain/train/trainer.hpp"

namespace xtrain
{
    /**
     * @brief Redraws "epoch E  [#####.....]  step S  loss L  lr R  T s" on stderr at most every
     * `min_interval` seconds, and prints the epoch's evaluation when an epoch ends.
     *
     * When stderr is not a terminal (a log file, a CI job, a sweep), it prints nothing, so logs
     * are not filled with carriage returns. Pass `force = true` to draw anyway.
     */
    class ProgressBar
    {
    public:
        /** @brief Draws at most every @p min_interval seconds. */
        explicit ProgressBar(double min_interval = 0.1, bool force = false)
            : m_interval(min_interval)
            , m_enabled(force || stderr_is_terminal())
        {
        }

        /** @brief True when stderr is a terminal; false where that cannot be asked (no POSIX isatty). */
        static bool stderr_is_terminal() noexcept
        {
#if defined(__unix__) || defined(__APPLE__)
            return ::isatty(::fileno(stderr)) != 0;
#else
            return false;
#endif
        }

        /** @brief Whether anything will be printed. */
        bool enabled() const noexcept { return m_enabled; }

        /** @brief Redraws the line if enough time has passed. */
        template <class Tr>
        void on_step_end(Tr& t)
        {
            if (!m_enabled)
            {
                return;
            }
            const auto now = std::chrono::steady_clock::now();
            if (std::chrono::duration<double>(now - m_last).count() < m_interval)
            {
                return;
            }
            m_last = now;
            // The sampler's own count: right even when the batch size changes between epochs.
            const auto per_epoch = static_cast<double>(t.sampler().iterations_per_epoch());
            const auto done_in_epoch = static_cast<double>(t.sampler().iteration());
            const int width = 20;
            const int filled = per_epoch > 0 ? static_cast<int>(std::lround(width * done_in_epoch / per_epoch)) : 0;
            char bar[width + 1];
            for (int i = 0; i < width; ++i)
            {
                bar[i] = i < filled ? '#' : '.';
            }
            bar[width] = '\0';
            std::fprintf(stderr, "\repoch %llu [%s] step %llu  loss %.4g  lr %.3g  %.1f s ",
                         static_cast<unsigned long long>(t.epoch() + 1), bar, static_cast<unsigned long long>(t.step()),
                         t.last_loss(), t.optimizer().lr(), t.wall_seconds());
            std::fflush(stderr);
        }

        /** @brief Prints the evaluation on its own line. */
        template <class Tr>
        void on_evaluate(Tr& t, const EvalRecord& r)
        {
            if (!m_enabled)
            {
                return;
            }
            std::fprintf(stderr, "\repoch %llu  step %llu  train loss %.4g  val loss %.4g  val acc %.4f  %.1f s%s\n",
                         static_cast<unsigned long long>(r.epoch), static_cast<unsigned long long>(r.step), r.train_loss,
                         r.val_loss, r.val_accuracy, r.wall_seconds,
                         t.status() == RunStatus::diverged ? "  (diverged)"
                         : t.status() == RunStatus::stalled ? "  (stalled)"
                                                            : "");
        }

    private:
        double m_interval;
        bool m_enabled;
        std::chrono::steady_clock::time_point m_last{};
    };
}

#endif
