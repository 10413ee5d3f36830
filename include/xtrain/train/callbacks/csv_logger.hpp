/**
 * @file csv_logger.hpp
 * @brief Writes each evaluation row to a CSV file as it happens, so a killed run keeps its curve.
 */
#ifndef XTRAIN_TRAIN_CALLBACKS_CSV_LOGGER_HPP
#define XTRAIN_TRAIN_CALLBACKS_CSV_LOGGER_HPP

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
     * checkpoint (step > 0), in which case rows are appended.
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
            const bool append = t.step() > 0;
            open(m_evals, m_evals_path, append, History::evals_csv_header);
            if (!m_steps_path.empty())
            {
                open(m_steps, m_steps_path, append, History::steps_csv_header);
                m_steps_written = t.history().steps.size();
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
            m_evals->flush();
            if (m_steps)
            {
                const auto& steps = t.history().steps;
                for (; m_steps_written < steps.size(); ++m_steps_written)
                {
                    History::write_csv_row(*m_steps, steps[m_steps_written]);
                }
                m_steps->flush();
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
        static void open(std::shared_ptr<std::ofstream>& f, const std::string& path, bool append, const char* header)
        {
            f = std::make_shared<std::ofstream>(path, append ? std::ios::app : std::ios::trunc);
            if (!*f)
            {
                throw std::runtime_error(detail::concat("xtrain::CsvLogger: cannot open '", path, "' for writing"));
            }
            if (!append)
            {
                *f << header;
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
