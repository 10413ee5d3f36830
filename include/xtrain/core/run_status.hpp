/**
 * @file run_status.hpp
 * @brief RunStatus: where a training run stands (not started, running, finished, stopped, ...).
 */
#ifndef XTRAIN_CORE_RUN_STATUS_HPP
#define XTRAIN_CORE_RUN_STATUS_HPP

#include <cstdint>

namespace xtrain
{
    /** @brief Where a run stands. */
    enum class RunStatus : std::uint8_t
    {
        not_started, ///< fit() not called yet
        running,     ///< inside fit()
        finished,    ///< the budget was reached
        stopped,     ///< a callback stopped the run (e.g. early stopping)
        diverged,    ///< blew up: the loss became NaN or infinite, or stayed far above its start
        stalled      ///< stopped because it cannot learn any more (e.g. a dead network)
    };

    /** @brief "not_started", "running", "finished", "stopped", "diverged" or "stalled". */
    inline const char* to_string(RunStatus s) noexcept
    {
        switch (s)
        {
        case RunStatus::not_started:
            return "not_started";
        case RunStatus::running:
            return "running";
        case RunStatus::finished:
            return "finished";
        case RunStatus::stopped:
            return "stopped";
        case RunStatus::diverged:
            return "diverged";
        case RunStatus::stalled:
            return "stalled";
        }
        return "unknown";
    }
}

#endif
