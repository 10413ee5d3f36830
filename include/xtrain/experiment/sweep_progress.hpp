/**
 * @file sweep_progress.hpp
 * @brief What a sweep shows while it runs: a live status line on a terminal, one line per
 *        finished run in a log file. The sweep runner (run_sweep.hpp) reports to it and nothing
 *        in here changes a result.
 */
#ifndef XTRAIN_EXPERIMENT_SWEEP_PROGRESS_HPP
#define XTRAIN_EXPERIMENT_SWEEP_PROGRESS_HPP

#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <ostream>
#include <string>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

#include "xtrain/experiment/detail/text_io.hpp"
#include "xtrain/experiment/eval_sink.hpp"
#include "xtrain/experiment/run_summary.hpp"
#include "xtrain/experiment/sweep_grid.hpp"

namespace xtrain
{
    /** @brief How progress is shown. */
    enum class ProgressMode
    {
        automatic,  ///< `live` when the log is standard error on a terminal, else `lines`
        live,       ///< one status line redrawn in place (carriage return, no new line)
        lines,      ///< one line per finished run
        quiet       ///< only the start and end messages
    };

    /** @brief Seconds as "hh:mm:ss" (or "--:--:--" when unknown). */
    inline std::string format_duration(double seconds)
    {
        if (!std::isfinite(seconds) || seconds < 0)
        {
            return "--:--:--";
        }
        const auto s = static_cast<unsigned long long>(seconds + 0.5);
        char buf[32];
        std::snprintf(buf, sizeof(buf), "%02llu:%02llu:%02llu", s / 3600, (s / 60) % 60, s % 60);
        return buf;
    }

    namespace detail
    {
        inline bool log_is_terminal(const std::ostream* log)
        {
#if defined(__unix__) || defined(__APPLE__)
            return (log == &std::cerr || log == &std::clog) && ::isatty(2) == 1;
#else
            (void)log;
            return false;
#endif
        }

        /** @brief The progress display; every call holds its own mutex. */
        class SweepProgress
        {
        public:
            SweepProgress(std::ostream* log, ProgressMode mode, std::size_t shard_runs, std::size_t already_done,
                          std::size_t to_run)
                : m_log(log), m_mode(mode), m_total(shard_runs), m_before(already_done), m_to_run(to_run),
                  m_start(std::chrono::steady_clock::now())
            {
                if (m_mode == ProgressMode::automatic)
                {
                    m_mode = log_is_terminal(log) ? ProgressMode::live : ProgressMode::lines;
                }
            }

            void message(const std::string& text)
            {
                std::lock_guard<std::mutex> lock(m_mutex);
                if (m_log != nullptr)
                {
                    clear_live();
                    *m_log << text << '\n';
                    draw_live();
                    m_log->flush();
                }
            }

            void started()
            {
                std::lock_guard<std::mutex> lock(m_mutex);
                ++m_running;
                refresh_locked();
            }

            void finished(const RunSpec& spec, RunOutcome status, const std::string& detail_text, double seconds)
            {
                std::lock_guard<std::mutex> lock(m_mutex);
                --m_running;
                ++m_done;
                m_diverged += status == RunOutcome::diverged ? 1 : 0;
                m_stalled += status == RunOutcome::stalled ? 1 : 0;
                m_failed += status == RunOutcome::failed ? 1 : 0;
                if (m_log == nullptr)
                {
                    return;
                }
                const std::string head = "[sweep " + std::to_string(m_before + m_done) + "/" + std::to_string(m_total)
                                       + "] " + spec.key().str() + ": ";
                if (status == RunOutcome::failed)
                {
                    clear_live();
                    *m_log << head << "FAILED after " << format_seconds(seconds) << ": " << detail_text
                           << " (recorded in failures.csv; rerun to retry)\n";
                    draw_live();
                }
                else if (m_mode == ProgressMode::lines)
                {
                    *m_log << head << run_outcome_name(status) << " in " << format_seconds(seconds)
                           << (detail_text.empty() ? "" : ", ") << detail_text << "; ETA " << format_duration(eta())
                           << '\n';
                }
                else
                {
                    draw_live();
                }
                m_log->flush();
            }

            void abandoned()
            {
                std::lock_guard<std::mutex> lock(m_mutex);
                --m_running;
                refresh_locked();
            }

            void refresh()
            {
                std::lock_guard<std::mutex> lock(m_mutex);
                refresh_locked();
            }

            void close()
            {
                std::lock_guard<std::mutex> lock(m_mutex);
                clear_live();
                if (m_log != nullptr)
                {
                    m_log->flush();
                }
            }

            double elapsed() const
            {
                return std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
            }

        private:
            static std::string format_seconds(double s)
            {
                char buf[32];
                std::snprintf(buf, sizeof(buf), "%.1f s", s);
                return buf;
            }

            double eta() const
            {
                if (m_done == 0)
                {
                    return std::nan("");
                }
                return elapsed() / static_cast<double>(m_done) * static_cast<double>(m_to_run - m_done);
            }

            void refresh_locked()
            {
                if (m_log != nullptr && m_mode == ProgressMode::live)
                {
                    draw_live();
                    m_log->flush();
                }
            }

            void draw_live()
            {
                if (m_log == nullptr || m_mode != ProgressMode::live)
                {
                    return;
                }
                *m_log << "\r\x1b[K" << "sweep: " << (m_before + m_done) << "/" << m_total << " done, " << m_running
                       << " running, " << m_diverged << " diverged, " << m_stalled << " stalled, " << m_failed
                       << " failed; elapsed "
                       << format_duration(elapsed()) << ", ETA " << format_duration(eta());
                m_live_shown = true;
            }

            void clear_live()
            {
                if (m_log != nullptr && m_live_shown)
                {
                    *m_log << "\r\x1b[K";
                    m_live_shown = false;
                }
            }

            std::mutex m_mutex;
            std::ostream* m_log;
            ProgressMode m_mode;
            std::size_t m_total;
            std::size_t m_before;
            std::size_t m_to_run;
            std::size_t m_done = 0;
            std::size_t m_running = 0;
            std::size_t m_diverged = 0;
            std::size_t m_stalled = 0;
            std::size_t m_failed = 0;
            bool m_live_shown = false;
            std::chrono::steady_clock::time_point m_start;
        };

        inline std::string outcome_text(const RunSummary& s)
        {
            const EvalRow& r = s.last;
            std::string t;
            if (std::isfinite(r.val_accuracy))
            {
                t = "val_accuracy " + format_double(std::round(r.val_accuracy * 1e4) / 1e4);
            }
            else if (std::isfinite(r.val_loss))
            {
                t = "val_loss " + format_double(r.val_loss);
            }
            else if (s.eval_rows != 0)
            {
                t = "train_loss " + format_double(r.train_loss);
            }
            if (s.target.enabled())
            {
                t += t.empty() ? "" : ", ";
                t += s.target_reached ? "target at step " + format_uint(s.to_target.step) : "target not reached";
            }
            if (!s.note.empty())
            {
                t += (t.empty() ? "" : ", ") + s.note;
            }
            return t;
        }
    }
}

#endif
