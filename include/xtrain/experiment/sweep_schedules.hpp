/**
 * @file sweep_schedules.hpp
 * @brief Learning-rate schedules by name for sweeps: the grid's schedules axis.
 *
 * A grid may vary the schedule as it varies the optimizer (`SweepGrid::schedules`, the main job's
 * `--schedules`). Each name stands for a factory that builds a run's per-step schedule once the run
 * is known: its learning rate, batch size, updates per epoch and total updates. xtrain's own names:
 *
 * | name | rate at update t (lr: the run's rate, T: its total updates) |
 * |---|---|
 * | constant | lr |
 * | cosine | lr (1 + cos(pi t / T)) / 2: half a cosine down to 0 at the end of the budget |
 * | linear | lr (1 - t / T): a straight line down to 0 at the end of the budget |
 * | step | lr, then lr / 10 after half of the budget and lr / 100 after three quarters |
 *
 * A user adds their own under new names (RunSettings::schedules):
 * ```cpp
 * settings.schedules["inverse-sqrt"] = [](const xtrain::ScheduleContext& c) {
 *     return xtrain::SweepSchedule([lr = c.lr](std::size_t t) { return lr / std::sqrt(1.0 + t); });
 * };
 * ```
 * The warm-up of RunSettings, when asked, ramps up whichever schedule a run follows.
 */
#ifndef XTRAIN_EXPERIMENT_SWEEP_SCHEDULES_HPP
#define XTRAIN_EXPERIMENT_SWEEP_SCHEDULES_HPP

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "xtrain/core/error.hpp"
#include "xtrain/experiment/detail/text_io.hpp"
#include "xtrain/optim/schedule.hpp"
#include "xtrain/optim/schedules.hpp"

namespace xtrain
{
    /** @brief What a schedule factory knows about the run it builds a schedule for. */
    struct ScheduleContext
    {
        double lr = 0.0;                 ///< the run's rate (the grid's lr, scaled with B if asked)
        std::size_t batch_size = 0;      ///< the run's batch size
        std::size_t steps_per_epoch = 0; ///< updates per epoch
        std::size_t total_steps = 0;     ///< updates the run's budget allows
    };

    /**
     * @brief Any schedule, behind one type: a sweep's runs follow different schedules but share the
     * Trainer's type. Calling it costs one indirect call and allocates nothing.
     */
    class SweepSchedule
    {
    public:
        /** @brief Wraps @p schedule (any `double operator()(std::size_t) const`, e.g. a lambda). */
        template <class S, class = std::enable_if_t<!std::is_same_v<std::decay_t<S>, SweepSchedule>>>
        explicit SweepSchedule(S schedule)
        {
            static_assert(check_schedule<S>(), "xtrain::SweepSchedule: see the messages above");
            m_rate = [s = std::move(schedule)](std::size_t t) { return static_cast<double>(s(t)); };
        }

        /** @brief The rate at update @p t. */
        double operator()(std::size_t t) const { return m_rate(t); }

    private:
        std::function<double(std::size_t)> m_rate;
    };

    /** @brief Builds a run's schedule from its context. */
    using ScheduleFactory = std::function<SweepSchedule(const ScheduleContext&)>;

    /** @brief xtrain's own schedule names, in the order `--help` lists them. */
    inline constexpr std::string_view sweep_schedule_names[] = {"constant", "cosine", "linear", "step"};

    /** @brief Whether @p name is one of xtrain's own schedules. */
    inline bool is_builtin_schedule(std::string_view name)
    {
        for (std::string_view n : sweep_schedule_names)
        {
            if (n == name)
            {
                return true;
            }
        }
        return false;
    }

    /** @brief The names a grid may use: xtrain's own, then @p user's. */
    inline std::vector<std::string> known_schedule_names(const std::map<std::string, ScheduleFactory, std::less<>>& user = {})
    {
        std::vector<std::string> out(std::begin(sweep_schedule_names), std::end(sweep_schedule_names));
        for (const auto& entry : user)
        {
            out.push_back(entry.first);
        }
        return out;
    }

    /**
     * @brief The schedule @p name stands for in context @p c: xtrain's own, or @p user's factory.
     * An empty name is "constant" (a grid without a schedules axis).
     * @throws std::invalid_argument naming an unknown schedule and listing the known ones.
     */
    inline SweepSchedule make_sweep_schedule(std::string_view name, const ScheduleContext& c,
                                             const std::map<std::string, ScheduleFactory, std::less<>>& user = {})
    {
        const double lr = c.lr;
        const double total = static_cast<double>(c.total_steps > 0 ? c.total_steps : 1);
        if (name.empty() || name == "constant")
        {
            return SweepSchedule(FixedLR(lr));
        }
        if (name == "cosine")
        {
            return SweepSchedule(CosineAnnealingLR(lr, c.total_steps > 0 ? c.total_steps : 1));
        }
        if (name == "linear")
        {
            return SweepSchedule([lr, total](std::size_t t) {
                const double left = 1.0 - static_cast<double>(t) / total;
                return left > 0.0 ? lr * left : 0.0;
            });
        }
        if (name == "step")
        {
            return SweepSchedule(MultiStepLR(lr, {c.total_steps / 2, c.total_steps * 3 / 4}, 0.1));
        }
        if (const auto it = user.find(name); it != user.end())
        {
            return it->second(c);
        }
        throw std::invalid_argument(
            detail::concat("unknown schedule '", name, "' (known: ", detail::join_names(known_schedule_names(user)), ")"));
    }
}

#endif
