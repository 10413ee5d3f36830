/**
 * @file csv_logger.hpp
 * @brief Writes each evaluation row to a CSV file as it happens, so a killed run keeps its curve.
 */
#ifndef XTRAIN_TRAIN_CALLBACKS_CSV_LOGGER_HPP
#define XTRAIN_TRAIN_CALLBACKS_CSV_LOGGER_HPP

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <utility>

#include "xtrain/core/error.hpp"
#include "xtrain/train/history.hpp"
#include "xtrain/train/trainer.hpp"

namespace xtrain
{
    /**
     * @brief Appends every evaluation point to a CSV file (columns as History::write_evals_csv),
     * flushed row by row; with `steps_path`, also every update (as History::write_steps_csv),
     * flushed at each evaluation point.
     *
     * The files are created (truncated) when fit begins, unless the trainer resumes from a
 * checkpoint (step > 0): then rows are appended to the files, and a file that does not exist yet
 * (or is empty) starts with its header line and the rows the checkpoint's history already holds,
 * so it is the whole curve either way. Every write is checked: a file that cannot be written (a
 * full disk, a missing folder) stops training with an exception naming the path.
 */
    class CsvLogger
    {
    public:
        /** @brief Logs evaluation rows to @p evals_path and, if not empty, step rows to @p steps_path. */
        explicit CsvLogger(std::string evals_path, std::string steps_path = {})
            : m_evals_path(std::move(evals_path))
            , m_steps_path(std::move(steps_path))
        {
            if (m_evals_path.empty())
            {
                throw std::invalid_argument("xtrain::CsvLogger: the evaluation CSV path is empty");
            }
        }

        /** @brief Opens the files (truncates them, or appends after a resume). */
        template <class Tr>
        void on_fit_begin(Tr& t)
        {
            const bool resume = t.step() > 0;
            if (open(m_evals, m_evals_path, resume, History::evals_csv_header))
            {
                for (const EvalRecord& r : t.history().evals)
                {
                    History::write_csv_row(*m_evals, r);
                }
                check(*m_evals, m_evals_path);
            }
            if (!m_steps_path.empty())
            {
                const bool fresh = open(m_steps, m_steps_path, resume, History::steps_csv_header);
                m_steps_written = fresh ? 0 : t.history().steps.size();
            }
        }

        /** @brief Writes the row, and the step rows since the previous one. */
        template <class Tr>
        void on_evaluate(Tr& t, const EvalRecord& r)
        {
            if (!m_evals)
            {
                return;
            }
            History::write_csv_row(*m_evals, r);
            check(*m_evals, m_evals_path);
            if (m_steps)
            {
                const auto& steps = t.history().steps;
                for (; m_steps_written < steps.size(); ++m_steps_written)
                {
                    History::write_csv_row(*m_steps, steps[m_steps_written]);
                }
                check(*m_steps, m_steps_path);
            }
        }

        /** @brief Closes the files. */
        template <class Tr>
        void on_fit_end(Tr&)
        {
            m_evals.reset();
            m_steps.reset();
        }

    private:
        // Opens @p path; returns true if it starts empty (its header was written).
        static bool open(std::shared_ptr<std::ofstream>& f, const std::string& path, bool resume, const std::string& header)
        {
            std::error_code ec;
            const bool has_rows = resume && std::filesystem::file_size(path, ec) > 0 && !ec;
            f = std::make_shared<std::ofstream>(path, has_rows ? std::ios::app : std::ios::trunc);
            if (!*f)
            {
                throw std::runtime_error(detail::concat("xtrain::CsvLogger: cannot open '", path, "' for writing"));
            }
            if (!has_rows)
            {
                *f << header;
                check(*f, path);
            }
            return !has_rows;
        }

        static void check(std::ofstream& f, const std::string& path)
        {
            f.flush();
            if (!f)
            {
                throw std::runtime_error(
                    detail::concat("xtrain::CsvLogger: cannot write '", path, "' (disk full, or the file system is gone?)"));
            }
        }

        std::string m_evals_path;
        std::string m_steps_path;
        // Shared so the callback stays copyable (trainers copy callbacks when loading checkpoints).
        std::shared_ptr<std::ofstream> m_evals;
        std::shared_ptr<std::ofstream> m_steps;
        std::size_t m_steps_written = 0;
    };
}

#endif
