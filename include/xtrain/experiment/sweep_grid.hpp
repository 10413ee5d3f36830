/**
 * @file sweep_grid.hpp
 * @brief The grid of a sweep (optimizers x learning rates x batch sizes x seeds x schedules) and
 *        the identity of each run in it.
 *
 * Every run has two identities:
 * - its **index**, its position in the expanded grid. It depends only on the grid's lists and
 *   their order, so every machine of a sharded sweep computes the same index for the same run
 *   (`--shard K/N` takes the runs whose index is K modulo N);
 * - its **key** (optimizer, lr, batch size, seed, schedule), which is what the result files store
 *   and what resuming and merging match on.
 *
 * The expansion order is seed (outermost), schedule, optimizer, batch size, learning rate
 * (innermost):
 * `index = (((seed_i * S + schedule_i) * O + optimizer_i) * B + batch_i) * L + lr_i`.
 * Seeds come outermost so that a sweep stopped half-way has whole grids for its first seeds, and
 * the learning rate innermost so that consecutive indices (and thus each shard) spread over all
 * batch sizes, whose runs differ most in duration.
 *
 * Refinement adds cells after the fact: a learning rate between the best one of a batch size and
 * its neighbours, chosen from the results (run_sweep's SweepOptions::refine_rounds). They are
 * listed in `SweepGrid::refined`, each crossed with every seed, and indexed after the crossed grid
 * in the order they were added: `index = crossed + refined_i * seeds + seed_i`. They depend on the
 * results, not on the definition of the sweep, so they are not part of its fingerprint.
 */
#ifndef XTRAIN_EXPERIMENT_SWEEP_GRID_HPP
#define XTRAIN_EXPERIMENT_SWEEP_GRID_HPP

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "xtrain/core/error.hpp"
#include "xtrain/experiment/detail/text_io.hpp"

namespace xtrain
{
    /**
     * @brief What identifies a run in the result files: resuming and merging match on it.
     *
     * The learning rate is compared exactly: the files store it in a form that reads back to the
     * same double.
     */
    struct RunKey
    {
        std::string optimizer;       ///< optimizer name as given in the grid, e.g. "sgd"
        double lr = 0.0;             ///< base learning rate
        std::size_t batch_size = 0;  ///< batch size
        std::uint64_t seed = 0;      ///< run seed (data order, initialisation, ...)
        std::string schedule;        ///< schedule label; empty when the grid has none

        /** @brief Strict weak order (optimizer, schedule, batch size, lr, seed), for maps. */
        friend bool operator<(const RunKey& a, const RunKey& b)
        {
            return std::tie(a.optimizer, a.schedule, a.batch_size, a.lr, a.seed)
                 < std::tie(b.optimizer, b.schedule, b.batch_size, b.lr, b.seed);
        }
        /** @brief Same run. */
        friend bool operator==(const RunKey& a, const RunKey& b)
        {
            return a.optimizer == b.optimizer && a.lr == b.lr && a.batch_size == b.batch_size
                && a.seed == b.seed && a.schedule == b.schedule;
        }
        /** @brief Different run. */
        friend bool operator!=(const RunKey& a, const RunKey& b) { return !(a == b); }

        /** @brief Human-readable form for logs and messages, e.g. "sgd lr=0.1 B=32 seed=0". */
        std::string str() const
        {
            std::string s = optimizer;
            if (!schedule.empty())
            {
                s += "/" + schedule;
            }
            s += " lr=" + detail::format_double(lr) + " B=" + detail::format_uint(batch_size)
               + " seed=" + detail::format_uint(seed);
            return s;
        }
    };

    /**
     * @brief One run of a sweep, as handed to the run function.
     *
     * Paired sampling: the run function must derive every random stream from `seed` alone (for
     * example `derive_rng(spec.seed, RngStream::shuffle, epoch)`), never from the batch size or
     * the index, so that runs with the same seed see the same data order at every batch size.
     */
    struct RunSpec
    {
        std::size_t index = 0;           ///< position in the expanded grid (see the file comment)
        std::string optimizer;           ///< optimizer name
        double lr = 0.0;                 ///< base learning rate
        std::size_t batch_size = 0;      ///< batch size
        std::uint64_t seed = 0;          ///< run seed
        std::string schedule;            ///< schedule label ("" when the grid has none)
        std::size_t optimizer_index = 0; ///< position of `optimizer` in SweepGrid::optimizers
        std::size_t lr_index = 0;        ///< position of `lr` in SweepGrid::lrs
        std::size_t batch_index = 0;     ///< position of `batch_size` in SweepGrid::batch_sizes
        std::size_t seed_index = 0;      ///< position of `seed` in SweepGrid::seeds
        std::size_t schedule_index = 0;  ///< position of `schedule` in SweepGrid::schedules (0 if none)

        /** @brief The key the result files store for this run. */
        RunKey key() const { return RunKey{optimizer, lr, batch_size, seed, schedule}; }

        /** @brief Calls f(name, member) for every field (@p s may be const). */
        template <class Spec, class F>
        static void visit(Spec& s, F&& f)
        {
            f("index", s.index);
            f("optimizer", s.optimizer);
            f("lr", s.lr);
            f("batch_size", s.batch_size);
            f("seed", s.seed);
            f("schedule", s.schedule);
            f("optimizer_index", s.optimizer_index);
            f("lr_index", s.lr_index);
            f("batch_index", s.batch_index);
            f("seed_index", s.seed_index);
            f("schedule_index", s.schedule_index);
        }
    };

    /** @brief A cell added by refinement: one more learning rate for one optimizer, schedule and batch size. */
    struct RefinedCell
    {
        std::string optimizer;      ///< optimizer name (one of the grid's)
        std::string schedule;       ///< schedule label (one of the grid's, or "" when it has none)
        std::size_t batch_size = 0; ///< batch size (one of the grid's)
        double lr = 0.0;            ///< the added learning rate (not one of the grid's lrs)
        std::size_t round = 1;      ///< the refinement round that added it (1, 2, ...)

        /** @brief Same cell (the round does not count). */
        bool same_cell(const RefinedCell& o) const noexcept
        {
            return optimizer == o.optimizer && schedule == o.schedule && batch_size == o.batch_size && lr == o.lr;
        }
    };

    /**
     * @brief The lists a sweep crosses. Every combination is one run, and so is every refined cell
     * with every seed.
     *
     * Names (optimizers, schedules) must not contain commas, double quotes or control characters,
     * so that they appear verbatim in the CSV files. `schedules` may stay empty: the grid then has
     * one unnamed schedule, written as an empty `schedule` cell.
     */
    struct SweepGrid
    {
        /**
         * @brief An empty grid. Fill it by name, `grid.lrs = {...}` or `SweepGrid().with_lrs({...})`:
         *        the grid cannot be filled by position (`{{"sgd"}, {0.1}, {16}, {1}}` does not
         *        compile), where swapping the batch sizes and the seeds would go unnoticed.
         */
        SweepGrid() noexcept {}  // user-provided on purpose: not an aggregate, so no positional init

        /** @name Named setters, for one expression: `SweepGrid().with_optimizers({"sgd"}).with_lrs({0.1})` */
        ///@{
        SweepGrid& with_optimizers(std::vector<std::string> v) { optimizers = std::move(v); return *this; }
        SweepGrid& with_lrs(std::vector<double> v) { lrs = std::move(v); return *this; }
        SweepGrid& with_batch_sizes(std::vector<std::size_t> v) { batch_sizes = std::move(v); return *this; }
        SweepGrid& with_seeds(std::vector<std::uint64_t> v) { seeds = std::move(v); return *this; }
        SweepGrid& with_schedules(std::vector<std::string> v) { schedules = std::move(v); return *this; }
        ///@}

        std::vector<std::string> optimizers;   ///< optimizer names, e.g. {"sgd", "adam"}
        std::vector<double> lrs;               ///< base learning rates (finite, > 0, distinct)
        std::vector<std::size_t> batch_sizes;  ///< batch sizes (> 0, distinct)
        std::vector<std::uint64_t> seeds;      ///< run seeds (distinct)
        std::vector<std::string> schedules;    ///< optional schedule names, e.g. {"constant", "cosine"} (sweep_schedules.hpp)
        /** @brief Cells added by refinement (not fingerprinted; see the file comment). */
        std::vector<RefinedCell> refined;

        /** @brief Throws std::invalid_argument naming the list and the bad value. */
        void validate() const;
        /** @brief Number of runs: the product of the list sizes (schedules counting 1 when empty), plus refined cells x seeds. */
        std::size_t size() const noexcept;
        /** @brief Runs of the crossed lists alone (the indices below it). */
        std::size_t crossed_size() const noexcept;
        /** @brief The refinement rounds done so far (the largest round in `refined`, 0 if none). */
        std::size_t refinement_rounds() const noexcept;
        /** @brief The schedule labels in effect: `schedules`, or {""} when it is empty. */
        std::vector<std::string> schedule_labels() const;
        /** @brief The run at @p index (0 <= index < size()). */
        RunSpec at(std::size_t index) const;
        /** @brief All runs, in index order. Validates first. */
        std::vector<RunSpec> expand() const;
        /** @brief The index of the run with key @p k, or size() if the grid has no such run. */
        std::size_t index_of(const RunKey& k) const;
    };

    // ---------------------------------------------------------------------------------------------
    // Implementation
    // ---------------------------------------------------------------------------------------------

    namespace detail
    {
        template <class V>
        void require_distinct(const std::vector<V>& v, const char* name)
        {
            for (std::size_t i = 0; i < v.size(); ++i)
            {
                for (std::size_t j = 0; j < i; ++j)
                {
                    require(!(v[i] == v[j]), "xtrain::SweepGrid", name, v[i],
                            "must not repeat a value");
                }
            }
        }

        template <class V>
        std::size_t position_of(const std::vector<V>& v, const V& x)
        {
            for (std::size_t i = 0; i < v.size(); ++i)
            {
                if (v[i] == x)
                {
                    return i;
                }
            }
            return v.size();
        }
    }

    inline void SweepGrid::validate() const
    {
        const char* where = "xtrain::SweepGrid";
        detail::require(!optimizers.empty(), where, "optimizers", "an empty list", "must not be empty");
        detail::require(!lrs.empty(), where, "lrs", "an empty list", "must not be empty");
        detail::require(!batch_sizes.empty(), where, "batch_sizes", "an empty list", "must not be empty");
        detail::require(!seeds.empty(), where, "seeds", "an empty list", "must not be empty");
        for (const auto& o : optimizers)
        {
            detail::require(!o.empty() && detail::is_plain_label(o), where, "optimizer name",
                            "\"" + o + "\"",
                            "must be non-empty, without commas, quotes or control characters");
        }
        for (const auto& s : schedules)
        {
            detail::require(!s.empty() && detail::is_plain_label(s), where, "schedule label",
                            "\"" + s + "\"",
                            "must be non-empty, without commas, quotes or control characters");
        }
        for (const double lr : lrs)
        {
            detail::require(std::isfinite(lr) && lr > 0.0, where, "lr", lr, "must be finite and > 0");
        }
        for (const std::size_t b : batch_sizes)
        {
            detail::require(b > 0, where, "batch_size", b, "must be > 0");
        }
        for (std::size_t i = 0; i < refined.size(); ++i)
        {
            const RefinedCell& c = refined[i];
            const std::string cell = "\"" + c.optimizer + " B=" + detail::format_uint(c.batch_size) + " lr="
                                   + detail::format_double(c.lr) + "\"";
            detail::require(detail::position_of(optimizers, c.optimizer) < optimizers.size()
                                && detail::position_of(batch_sizes, c.batch_size) < batch_sizes.size()
                                && (schedules.empty() ? c.schedule.empty()
                                                      : detail::position_of(schedules, c.schedule) < schedules.size()),
                            where, "refined cell", cell, "must use the grid's optimizers, batch sizes and schedules");
            detail::require(std::isfinite(c.lr) && c.lr > 0.0 && detail::position_of(lrs, c.lr) == lrs.size(), where,
                            "refined cell", cell, "must have a finite lr > 0 that is not one of the grid's");
            detail::require(c.round >= 1, where, "refined cell", cell, "must have a round >= 1");
            for (std::size_t j = 0; j < i; ++j)
            {
                detail::require(!refined[j].same_cell(c), where, "refined cell", cell, "must not repeat a cell");
            }
        }
        detail::require_distinct(optimizers, "optimizers");
        detail::require_distinct(lrs, "lrs");
        detail::require_distinct(batch_sizes, "batch_sizes");
        detail::require_distinct(seeds, "seeds");
        detail::require_distinct(schedules, "schedules");
    }

    inline std::size_t SweepGrid::crossed_size() const noexcept
    {
        return optimizers.size() * lrs.size() * batch_sizes.size() * seeds.size()
             * (schedules.empty() ? 1 : schedules.size());
    }

    inline std::size_t SweepGrid::size() const noexcept { return crossed_size() + refined.size() * seeds.size(); }

    inline std::size_t SweepGrid::refinement_rounds() const noexcept
    {
        std::size_t r = 0;
        for (const auto& c : refined)
        {
            r = std::max(r, c.round);
        }
        return r;
    }

    inline std::vector<std::string> SweepGrid::schedule_labels() const
    {
        return schedules.empty() ? std::vector<std::string>{std::string()} : schedules;
    }

    inline RunSpec SweepGrid::at(std::size_t index) const
    {
        detail::require(index < size(), "xtrain::SweepGrid::at", "index", index,
                        "must be < the number of runs " + std::to_string(size()));
        RunSpec r;
        r.index = index;
        if (index >= crossed_size())
        {
            const std::size_t k = index - crossed_size();
            const RefinedCell& c = refined[k / seeds.size()];
            r.seed_index = k % seeds.size();
            r.optimizer_index = detail::position_of(optimizers, c.optimizer);
            r.batch_index = detail::position_of(batch_sizes, c.batch_size);
            r.schedule_index = schedules.empty() ? 0 : detail::position_of(schedules, c.schedule);
            r.lr_index = lrs.size();  // not one of the grid's lrs
            r.optimizer = c.optimizer;
            r.lr = c.lr;
            r.batch_size = c.batch_size;
            r.seed = seeds[r.seed_index];
            r.schedule = c.schedule;
            return r;
        }
        std::size_t rest = index;
        r.lr_index = rest % lrs.size();
        rest /= lrs.size();
        r.batch_index = rest % batch_sizes.size();
        rest /= batch_sizes.size();
        r.optimizer_index = rest % optimizers.size();
        rest /= optimizers.size();
        const std::size_t n_sched = schedules.empty() ? 1 : schedules.size();
        r.schedule_index = rest % n_sched;
        rest /= n_sched;
        r.seed_index = rest;
        r.optimizer = optimizers[r.optimizer_index];
        r.lr = lrs[r.lr_index];
        r.batch_size = batch_sizes[r.batch_index];
        r.seed = seeds[r.seed_index];
        r.schedule = schedules.empty() ? std::string() : schedules[r.schedule_index];
        return r;
    }

    inline std::vector<RunSpec> SweepGrid::expand() const
    {
        validate();
        std::vector<RunSpec> out;
        out.reserve(size());
        for (std::size_t i = 0; i < size(); ++i)
        {
            out.push_back(at(i));
        }
        return out;
    }

    inline std::size_t SweepGrid::index_of(const RunKey& k) const
    {
        const std::size_t o = detail::position_of(optimizers, k.optimizer);
        const std::size_t l = detail::position_of(lrs, k.lr);
        const std::size_t b = detail::position_of(batch_sizes, k.batch_size);
        const std::size_t s = detail::position_of(seeds, k.seed);
        const std::size_t n_sched = schedules.empty() ? 1 : schedules.size();
        const std::size_t c = schedules.empty() ? (k.schedule.empty() ? 0 : 1)
                                                : detail::position_of(schedules, k.schedule);
        if (o == optimizers.size() || b == batch_sizes.size() || s == seeds.size() || c >= n_sched)
        {
            return size();
        }
        if (l == lrs.size())
        {
            for (std::size_t j = 0; j < refined.size(); ++j)
            {
                const RefinedCell& r = refined[j];
                if (r.optimizer == k.optimizer && r.schedule == k.schedule && r.batch_size == k.batch_size && r.lr == k.lr)
                {
                    return crossed_size() + j * seeds.size() + s;
                }
            }
            return size();
        }
        return (((s * n_sched + c) * optimizers.size() + o) * batch_sizes.size() + b) * lrs.size() + l;
    }
}

#endif
