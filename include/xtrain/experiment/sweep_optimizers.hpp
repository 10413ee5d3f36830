/**
 * @file sweep_optimizers.hpp
 * @brief Optimizers by name for sweeps: xtrain's own nine, and any set of a user's own policies.
 *
 * A sweep grid names its optimizers as text ("sgd", "adam", ...); a Trainer needs the update rule
 * as a type. with_optimizer() is the one place where a name becomes a policy: it calls a generic
 * function with the `Optimizer<P>` the name stands for. xtrain's own names are always known; a
 * user's policies join them through an OptimizerSet, which carries their types at compile time
 * and their names and hyperparameters at run time:
 *
 * ```cpp
 * auto mine = xtrain::optimizer_set(xtrain::sweep_optimizer("lion", Lion{}),
 *                                   xtrain::sweep_optimizer("adam-b2", beta2_095));  // an xtrain::Adam with beta2 = 0.95
 * auto fn = xtrain::make_trainer_run(train, &validation, make_model, settings, mine);
 * // the grid may now say {"sgd", "lion", "adam-b2"}; an unknown name is refused before any run
 * ```
 */
#ifndef XTRAIN_EXPERIMENT_SWEEP_OPTIMIZERS_HPP
#define XTRAIN_EXPERIMENT_SWEEP_OPTIMIZERS_HPP

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "xtrain/core/error.hpp"
#include "xtrain/experiment/detail/text_io.hpp"
#include "xtrain/optim/adagrad.hpp"
#include "xtrain/optim/adam.hpp"
#include "xtrain/optim/lamb.hpp"
#include "xtrain/optim/lars.hpp"
#include "xtrain/optim/optimizer.hpp"
#include "xtrain/optim/policy.hpp"
#include "xtrain/optim/rmsprop.hpp"
#include "xtrain/optim/sgd.hpp"

namespace xtrain
{
    /** @brief xtrain's own optimizer names, in the order `--help` lists them. */
    inline constexpr std::string_view sweep_optimizer_names[] = {"sgd",     "momentum", "nesterov", "adam", "adamw",
                                                                 "rmsprop", "adagrad",  "lars",     "lamb"};

    /** @brief Hyperparameters a sweep holds fixed while it varies the learning rate. */
    struct OptimizerSettings
    {
        double momentum = 0.9;     ///< for "momentum", "nesterov" and "lars"
        /// L2 for SGD/Adam/RMSprop/Adagrad/LARS, decoupled for AdamW and LAMB; unset: each
        /// optimizer's own default (0; PyTorch's 0.01 for AdamW; 0.01 for LAMB). A user's policy
        /// takes it only if it has a `weight_decay` member (and refuses it otherwise).
        std::optional<double> weight_decay;
    };

    /** @brief A user's update rule under a sweep name, with the hyperparameters its runs use. */
    template <class Policy>
    struct SweepOptimizer
    {
        std::string name; ///< the name a grid uses, e.g. "lion"
        Policy hyper;     ///< its hyperparameters; the rate is replaced by each run's learning rate
    };

    /** @brief A user's policy under a sweep name (checked: the policy requirement, a non-empty name). */
    template <class Policy>
    SweepOptimizer<Policy> sweep_optimizer(std::string name, Policy hyper = Policy{})
    {
        static_assert(check_optimizer_policy<Policy>(), "xtrain::sweep_optimizer: Policy must be an optimizer policy");
        if (name.empty())
        {
            throw std::invalid_argument("xtrain::sweep_optimizer: the name is empty");
        }
        return {std::move(name), std::move(hyper)};
    }

    namespace detail
    {
        template <class P, class = void>
        struct has_weight_decay_member : std::false_type
        {
        };
        template <class P>
        struct has_weight_decay_member<P, std::void_t<decltype(std::declval<P&>().weight_decay = 0.0)>> : std::true_type
        {
        };

        /** @brief Calls run(hyper, name) for the entry of @p set named @p name; throws listing the names if none is. */
        template <class R, std::size_t I = 0, class Set, class Run>
        R with_set_entry(const Set& set, std::string_view name, Run& run)
        {
            if constexpr (I == std::tuple_size_v<std::decay_t<decltype(set.entries())>>)
            {
                throw std::invalid_argument(concat("unknown optimizer '", name, "' (known: ", join_names(set.names()), ")"));
            }
            else
            {
                const auto& entry = std::get<I>(set.entries());
                if (entry.name == name)
                {
                    return run(entry.hyper, entry.name);
                }
                return with_set_entry<R, I + 1>(set, name, run);
            }
        }
    }

    /**
     * @brief The optimizers a sweep knows beyond xtrain's own: a compile-time list of policies,
     * each under a run-time name. Build it with optimizer_set().
     */
    template <class... Policies>
    class OptimizerSet
    {
    public:
        /** @throws std::invalid_argument if two entries share a name or one takes a name of xtrain's own. */
        explicit OptimizerSet(SweepOptimizer<Policies>... entries) : m_entries(std::move(entries)...)
        {
            std::vector<std::string> seen;
            for (const std::string& n : own_names())
            {
                for (std::string_view builtin : sweep_optimizer_names)
                {
                    if (n == builtin)
                    {
                        throw std::invalid_argument(detail::concat(
                            "xtrain::optimizer_set: '", n, "' is one of xtrain's own optimizers; give yours another name"));
                    }
                }
                for (const std::string& s : seen)
                {
                    if (s == n)
                    {
                        throw std::invalid_argument(detail::concat("xtrain::optimizer_set: the name '", n, "' is used twice"));
                    }
                }
                seen.push_back(n);
            }
        }

        /** @brief The names of the set's own entries, in order. */
        std::vector<std::string> own_names() const
        {
            std::vector<std::string> out;
            std::apply([&out](const auto&... e) { (out.push_back(e.name), ...); }, m_entries);
            return out;
        }

        /** @brief Every name a grid may use: xtrain's own, then the set's. */
        std::vector<std::string> names() const
        {
            std::vector<std::string> out(std::begin(sweep_optimizer_names), std::end(sweep_optimizer_names));
            for (std::string& n : own_names())
            {
                out.push_back(std::move(n));
            }
            return out;
        }

        /** @brief Whether a grid may use @p name. */
        bool knows(std::string_view name) const
        {
            for (const std::string& n : names())
            {
                if (n == name)
                {
                    return true;
                }
            }
            return false;
        }

        /** @brief The entries (a tuple of SweepOptimizer<P>). */
        const std::tuple<SweepOptimizer<Policies>...>& entries() const noexcept { return m_entries; }

    private:
        std::tuple<SweepOptimizer<Policies>...> m_entries;
    };

    /** @brief An OptimizerSet of the given entries (see sweep_optimizer()). */
    template <class... Policies>
    OptimizerSet<Policies...> optimizer_set(SweepOptimizer<Policies>... entries)
    {
        return OptimizerSet<Policies...>(std::move(entries)...);
    }

    /**
     * @brief Calls @p f with an `Optimizer<P>` built for @p name at rate @p lr: the one place a
     * run-time optimizer name becomes a compile-time policy.
     *
     * "sgd" is plain SGD; "momentum" and "nesterov" are PyTorch's SGD with `settings.momentum`;
     * "adam", "adamw" (the AdamW policy), "rmsprop", "adagrad", "lars" and "lamb" use their defaults
     * (docs/optimizers.md), with `settings.weight_decay` when it is set. Any other name is looked up
     * in @p extra: its policy with its hyperparameters, at rate @p lr.
     * @throws std::invalid_argument naming an unknown optimizer and listing the known ones, or a
     *         weight decay set for a policy of @p extra that has none.
     */
    template <class... Policies, class F>
    decltype(auto) with_optimizer(std::string_view name, double lr, const OptimizerSettings& settings,
                                  const OptimizerSet<Policies...>& extra, F&& f)
    {
        // Every rule takes the rate, and the weight decay when one is set; the branches set what differs.
        auto run = [&](auto h, std::string_view label) -> decltype(auto) {
            using P = decltype(h);
            h.lr = lr;
            if (settings.weight_decay)
            {
                if constexpr (detail::has_weight_decay_member<P>::value)
                {
                    h.weight_decay = *settings.weight_decay;
                }
                else
                {
                    throw std::invalid_argument(detail::concat("a weight decay is set, but optimizer '", label, "' (policy ",
                                                               std::string_view(P::name), ") has no weight_decay hyperparameter"));
                }
            }
            return f(Optimizer<P>(h));
        };
        if (name == "sgd" || name == "momentum" || name == "nesterov")
        {
            SGD h;
            if (name != "sgd")
            {
                h.momentum = settings.momentum;
                h.nesterov = name == "nesterov";
            }
            return run(h, name);
        }
        if (name == "adam")
        {
            return run(Adam{}, name);
        }
        if (name == "adamw")
        {
            return run(AdamW{}, name);
        }
        if (name == "rmsprop")
        {
            return run(RMSprop{}, name);
        }
        if (name == "adagrad")
        {
            return run(Adagrad{}, name);
        }
        if (name == "lars")
        {
            LARS h;
            h.momentum = settings.momentum;
            return run(h, name);
        }
        if (name == "lamb")
        {
            return run(LAMB{}, name);
        }
        // A user's policies (names are unique in a set).
        return detail::with_set_entry<decltype(run(SGD{}, name))>(extra, name, run);
    }

    /** @brief with_optimizer() for xtrain's own nine names only. */
    template <class F>
    decltype(auto) with_optimizer(std::string_view name, double lr, const OptimizerSettings& settings, F&& f)
    {
        return with_optimizer(name, lr, settings, OptimizerSet<>(), std::forward<F>(f));
    }
}

#endif
