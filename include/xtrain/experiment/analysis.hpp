/**
 * @file analysis.hpp
 * @brief What the sweep's curves are about: best and largest stable learning rate per batch size,
 *        how the best rate scales with the batch size, and steps to target against batch size.
 *
 * Everything here works on RunSummary values (summary.csv), so it gives the same answers on a
 * single machine's folder and on merged shards.
 *
 * Cells and seeds. A *cell* is (optimizer, schedule, batch size, lr); its seeds are repeated runs.
 * A metric of a cell is the median over its seeds (mean of the two middle values for an even
 * count), with a diverged seed, or a seed whose metric is NaN, counted as the worst possible value
 * (-inf for an accuracy, +inf for a loss). A cell whose median is not finite is therefore "diverged"
 * for the purpose of choosing a learning rate: with 3 seeds that takes 2 diverged seeds, with 2 seeds
 * one. A stalled seed keeps the value it measured (at or near chance, so it rarely wins).
 *
 * Uncertainty over seeds comes from a bootstrap over seeds: the seeds of a batch size (or, for the
 * fits, of the whole sweep) are drawn with replacement, and the analysis is repeated on each draw.
 * The same seed keeps its pairing across learning rates and batch sizes (the same data order and
 * initialisation), and the draws come from a fixed random stream, so the intervals are the same
 * every time the same results are analysed.
 */
#ifndef XTRAIN_EXPERIMENT_ANALYSIS_HPP
#define XTRAIN_EXPERIMENT_ANALYSIS_HPP

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <map>
#include <set>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "xtrain/core/error.hpp"
#include "xtrain/core/random.hpp"
#include "xtrain/experiment/detail/text_io.hpp"
#include "xtrain/experiment/run_summary.hpp"

namespace xtrain
{
    /** @brief The per-run number a learning rate is judged by. */
    enum class Metric
    {
        final_val_accuracy,  ///< val_accuracy at the last evaluation (higher is better)
        best_val_accuracy,   ///< max val_accuracy over the run (higher is better)
        final_val_loss,      ///< val_loss at the last evaluation (lower is better)
        min_val_loss,        ///< min val_loss over the run (lower is better)
        final_train_loss     ///< train_loss at the last evaluation (lower is better)
    };

    /** @brief The name used in summary_by_batch.csv, e.g. "final_val_accuracy". */
    inline const char* metric_name(Metric m) noexcept
    {
        switch (m)
        {
        case Metric::final_val_accuracy: return "final_val_accuracy";
        case Metric::best_val_accuracy: return "best_val_accuracy";
        case Metric::final_val_loss: return "final_val_loss";
        case Metric::min_val_loss: return "min_val_loss";
        case Metric::final_train_loss: break;
        }
        return "final_train_loss";
    }

    /** @brief Parses a name written by metric_name(); throws std::invalid_argument otherwise. */
    inline Metric parse_metric(const std::string& name)
    {
        for (Metric m : {Metric::final_val_accuracy, Metric::best_val_accuracy, Metric::final_val_loss,
                         Metric::min_val_loss, Metric::final_train_loss})
        {
            if (name == metric_name(m))
            {
                return m;
            }
        }
        detail::require(false, "xtrain::parse_metric", "metric", "\"" + name + "\"",
                        "must be final_val_accuracy, best_val_accuracy, final_val_loss, min_val_loss or "
                        "final_train_loss");
        return Metric::final_val_accuracy;
    }

    /** @brief True for the accuracies. */
    inline bool higher_is_better(Metric m) noexcept
    {
        return m == Metric::final_val_accuracy || m == Metric::best_val_accuracy;
    }

    /** @brief The metric's value for one run (NaN when the run did not measure it). */
    inline double metric_of(const RunSummary& s, Metric m) noexcept
    {
        switch (m)
        {
        case Metric::final_val_accuracy: return s.last.val_accuracy;
        case Metric::best_val_accuracy: return s.best_val_accuracy;
        case Metric::final_val_loss: return s.last.val_loss;
        case Metric::min_val_loss: return s.min_val_loss;
        case Metric::final_train_loss: break;
        }
        return s.last.train_loss;
    }

    /**
     * @brief The metric summaries use when none is asked for: final_val_accuracy if any run measured
     *        an accuracy, else final_val_loss if any measured a validation loss, else final_train_loss.
     */
    inline Metric default_metric(const std::vector<RunSummary>& runs) noexcept
    {
        bool acc = false;
        bool vloss = false;
        for (const auto& r : runs)
        {
            acc = acc || std::isfinite(r.last.val_accuracy);
            vloss = vloss || std::isfinite(r.last.val_loss);
        }
        return acc ? Metric::final_val_accuracy : vloss ? Metric::final_val_loss : Metric::final_train_loss;
    }

    /**
     * @brief Median of @p v (mean of the two middle values for an even count); NaN if empty.
     *
     * Infinite values take part (they encode diverged runs); NaN must not be passed.
     */
    inline double median(std::vector<double> v)
    {
        if (v.empty())
        {
            return std::numeric_limits<double>::quiet_NaN();
        }
        std::sort(v.begin(), v.end());
        const std::size_t n = v.size();
        if (n % 2 == 1)
        {
            return v[n / 2];
        }
        const double a = v[n / 2 - 1];
        const double b = v[n / 2];
        if (std::isinf(a))
        {
            return a;  // a diverged seed in the middle pair makes the cell diverged
        }
        if (std::isinf(b))
        {
            return b;
        }
        return a + (b - a) / 2;
    }

    /** @brief One cell (optimizer, schedule, batch size, lr) over its seeds. */
    struct CellStats
    {
        std::string optimizer;       ///< optimizer name
        std::string schedule;        ///< schedule label
        std::size_t batch_size = 0;  ///< batch size
        double lr = 0.0;             ///< learning rate
        std::size_t seeds = 0;       ///< runs (seeds) in the cell
        std::size_t diverged = 0;    ///< of which blew up
        std::size_t stalled = 0;     ///< of which ended at or near chance (or as a dead network)
        double value = 0.0;          ///< median of the metric over seeds, diverged counted as worst
        double value_stable = 0.0;   ///< median over the seeds that did not diverge (NaN if none)
        double steps_to_target = 0.0;     ///< median steps to target, +inf for seeds that missed it
        double examples_to_target = 0.0;  ///< median examples to target, likewise
        double epochs_to_target = 0.0;    ///< median epochs to target, likewise
        double steps_to_target_lo = 0.0;  ///< fewest steps to target over the seeds (+inf if none reached it)
        double steps_to_target_hi = 0.0;  ///< most steps to target over the seeds (+inf if one missed it)
        /** @brief More than half of the seeds that reached the target did so unresolved (TargetHit::resolution_limited). */
        bool target_resolution_limited = false;
        /** @brief Per seed: the value entering `value` (diverged counted as worst). */
        std::map<std::uint64_t, double> seed_values;
        /** @brief Per seed: steps to target (+inf if missed). */
        std::map<std::uint64_t, double> seed_steps;

        /** @brief True when some seed diverged or stalled. */
        bool fails() const noexcept { return diverged + stalled > 0; }
    };

    /** @brief Groups runs into cells (ordered by optimizer, schedule, batch size, lr) and takes medians. */
    inline std::vector<CellStats> cell_stats(const std::vector<RunSummary>& runs, Metric metric)
    {
        constexpr double inf = std::numeric_limits<double>::infinity();
        const double worst = higher_is_better(metric) ? -inf : inf;
        using CellKey = std::tuple<std::string, std::string, std::size_t, double>;
        std::map<CellKey, std::vector<const RunSummary*>> groups;
        for (const auto& r : runs)
        {
            groups[CellKey{r.key.optimizer, r.key.schedule, r.key.batch_size, r.key.lr}].push_back(&r);
        }
        std::vector<CellStats> out;
        for (const auto& [k, members] : groups)
        {
            CellStats c;
            std::tie(c.optimizer, c.schedule, c.batch_size, c.lr) = k;
            c.seeds = members.size();
            std::vector<double> all;
            std::vector<double> stable;
            std::vector<double> steps;
            std::vector<double> examples;
            std::vector<double> epochs;
            std::size_t reached = 0;
            std::size_t limited = 0;
            for (const RunSummary* r : members)
            {
                const double v = metric_of(*r, metric);
                c.diverged += r->diverged() ? 1 : 0;
                c.stalled += r->stalled() ? 1 : 0;
                all.push_back(r->diverged() || std::isnan(v) ? worst : v);
                c.seed_values[r->key.seed] = all.back();
                if (!r->diverged() && !std::isnan(v))
                {
                    stable.push_back(v);
                }
                steps.push_back(r->target_reached ? static_cast<double>(r->to_target.step) : inf);
                c.seed_steps[r->key.seed] = steps.back();
                examples.push_back(r->target_reached ? static_cast<double>(r->to_target.examples) : inf);
                epochs.push_back(r->target_reached ? r->to_target.epoch : inf);
                reached += r->target_reached ? 1 : 0;
                limited += r->target_reached && r->to_target.resolution_limited() ? 1 : 0;
            }
            c.value = median(all);
            c.value_stable = median(stable);
            c.steps_to_target = median(steps);
            c.examples_to_target = median(examples);
            c.epochs_to_target = median(epochs);
            c.steps_to_target_lo = *std::min_element(steps.begin(), steps.end());
            c.steps_to_target_hi = *std::max_element(steps.begin(), steps.end());
            c.target_resolution_limited = reached > 0 && 2 * limited > reached;
            out.push_back(c);
        }
        return out;
    }

    namespace detail
    {
        /** @brief A stable 64-bit seed for a bootstrap stream, from a text key. */
        inline std::uint64_t bootstrap_seed(const std::string& key) { return fnv1a64("xtrain-bootstrap/" + key); }

        /** @brief Median over the drawn seeds present in @p per_seed (NaN if none is). */
        inline double median_of_draw(const std::map<std::uint64_t, double>& per_seed,
                                     const std::vector<std::uint64_t>& draw, std::vector<double>& scratch)
        {
            scratch.clear();
            for (const std::uint64_t s : draw)
            {
                if (const auto it = per_seed.find(s); it != per_seed.end())
                {
                    scratch.push_back(it->second);
                }
            }
            return median(scratch);
        }

        /**
         * @brief Index in [first, last) of the best cell by @p value_of (finite values only, ties to
         * the smaller lr, as cells are sorted by lr), or last if none is finite.
         */
        template <class ValueOf>
        std::size_t best_cell(std::size_t first, std::size_t last, bool up, ValueOf value_of)
        {
            std::size_t best = last;
            double best_value = 0.0;
            for (std::size_t k = first; k < last; ++k)
            {
                const double v = value_of(k);
                if (std::isfinite(v) && (best == last || (up ? v > best_value : v < best_value)))
                {
                    best = k;
                    best_value = v;
                }
            }
            return best;
        }

        /** @brief The @p q quantile (0..1) of @p v by linear interpolation; NaN if empty. */
        inline double quantile(std::vector<double> v, double q)
        {
            if (v.empty())
            {
                return std::numeric_limits<double>::quiet_NaN();
            }
            std::sort(v.begin(), v.end());
            const double pos = q * static_cast<double>(v.size() - 1);
            const auto i = static_cast<std::size_t>(std::floor(pos));
            const std::size_t j = std::min(i + 1, v.size() - 1);
            return v[i] + (v[j] - v[i]) * (pos - static_cast<double>(i));
        }
    }

    /** @brief How many bootstrap draws over seeds the analysis makes, and what counts as a tie. */
    struct BootstrapOptions
    {
        std::size_t replicates = 1000;  ///< draws per batch size (the fits use a fifth of this)
        double tie_share = 0.05;        ///< an lr is tied with the best if it is best in at least this share of draws
        double interval = 0.90;         ///< central coverage of the fits' intervals (0.90: 5th to 95th percentile)
    };

    /** @brief Per (optimizer, schedule, batch size): best lr, largest stable lr, steps to target. */
    struct BatchSummary
    {
        std::string optimizer;       ///< optimizer name
        std::string schedule;        ///< schedule label
        std::size_t batch_size = 0;  ///< batch size
        Metric metric = Metric::final_val_accuracy;  ///< what "best" means
        std::size_t lrs_tried = 0;   ///< learning rates with at least one run
        /** @brief lr whose median metric is best; NaN if every cell diverged. Ties go to the smaller lr. */
        double best_lr = std::numeric_limits<double>::quiet_NaN();
        double best_value = std::numeric_limits<double>::quiet_NaN();  ///< that median
        std::size_t best_seeds = 0;  ///< seeds in the best cell
        /** @brief The best lr is the smallest or largest lr tried: the optimum may lie outside the grid. */
        bool best_at_edge = false;
        /** @brief Smallest lr statistically tied with the best (best in >= tie_share of bootstrap draws over seeds). */
        double best_lr_lo = std::numeric_limits<double>::quiet_NaN();
        /** @brief Largest lr statistically tied with the best. */
        double best_lr_hi = std::numeric_limits<double>::quiet_NaN();
        /**
         * @brief The stability edge: the largest lr that trains (no seed diverged or stalled), reached
         * from the best lr upwards through lrs that all train. NaN if there is none.
         */
        double largest_stable_lr = std::numeric_limits<double>::quiet_NaN();
        /** @brief The next lr tried above largest_stable_lr: some seed diverged or stalled there. NaN if none. */
        double smallest_unstable_lr = std::numeric_limits<double>::quiet_NaN();
        /** @brief The smallest lr above largest_stable_lr at which some seed blew up. NaN if none did. */
        double smallest_diverged_lr = std::numeric_limits<double>::quiet_NaN();
        std::size_t diverged_runs = 0;  ///< runs of this batch size that blew up
        std::size_t stalled_runs = 0;   ///< runs of this batch size that ended at or near chance
        /** @brief min over lr of the median steps to target; +inf if no lr reached it in most seeds. */
        double steps_to_target = std::numeric_limits<double>::infinity();
        double examples_to_target = std::numeric_limits<double>::infinity();  ///< median examples at that lr
        double epochs_to_target = std::numeric_limits<double>::infinity();    ///< median epochs at that lr
        double lr_to_target = std::numeric_limits<double>::quiet_NaN();       ///< the lr achieving steps_to_target
        double steps_to_target_lo = std::numeric_limits<double>::infinity();  ///< fewest steps over the seeds at that lr
        double steps_to_target_hi = std::numeric_limits<double>::infinity();  ///< most steps over the seeds at that lr
        /** @brief The steps to target are not resolved (met at the first evaluation): fits leave this batch size out. */
        bool target_resolution_limited = false;
        /** @brief Short codes of what a reader must know (see warning_text()), e.g. "best_lr_at_edge". */
        std::vector<std::string> warnings;
    };

    /** @brief One sentence for a warning code of BatchSummary or FitSummary. */
    inline std::string warning_text(const std::string& code)
    {
        if (code == "best_lr_at_edge")
        {
            return "the best lr is at the edge of the lrs tried: the optimum may lie outside them (widen the grid or refine)";
        }
        if (code == "target_resolution_limited")
        {
            return "the target was met at the first evaluation: the steps to target are not resolved, and the fit leaves them out";
        }
        if (code == "steps_fit_too_few_points")
        {
            return "the steps-to-target fit has fewer than 3 resolved batch sizes: S_min and B_noise are not determined";
        }
        if (code == "steps_fit_not_determined")
        {
            return "the steps to target do not show both regimes (B_noise at the end of its range): S_min and B_noise "
                   "are not determined";
        }
        if (code == "best_lr_fit_too_few_points")
        {
            return "the best-lr slope rests on fewer than 3 batch sizes";
        }
        if (code == "best_lr_at_edge_in_fit")
        {
            return "some best lrs of the slope are at the edge of the lrs tried: the slope is a bound, not a measurement";
        }
        return code;
    }

    /**
     * @brief The per-batch-size table (summary_by_batch.csv), ordered by optimizer, schedule, batch size.
     *
     * - best lr: the lr whose cell median (see the file comment) is best; cells with a non-finite
     *   median are not eligible; exact ties go to the smaller lr (the safer choice). best_lr_lo and
     *   best_lr_hi bound the lrs that are best in at least `tie_share` of the bootstrap draws over
     *   this batch size's seeds;
     * - the stability edge: from the best lr upwards, the largest lr reached through lrs at which no
     *   seed diverged or stalled (largest_stable_lr), the next one (smallest_unstable_lr) and the
     *   first above the edge where a seed blew up (smallest_diverged_lr), so that
     *   largest_stable_lr < smallest_unstable_lr <= smallest_diverged_lr always. When the best lr
     *   itself has a failing seed, the edge is the largest lr below it without one; without a best
     *   lr, it is reached from the smallest lr upwards;
     * - steps to target (Shallue et al. 2019): for each lr the median over seeds of the steps to
     *   target, a seed that missed the target counting +inf; then the minimum over lr (ties to the
     *   smaller lr), with the fewest and most steps over that lr's seeds. +inf when no lr reached it
     *   in most of its seeds.
     */
    inline std::vector<BatchSummary> summarize_by_batch(const std::vector<RunSummary>& runs, Metric metric,
                                                        const BootstrapOptions& bootstrap = {})
    {
        const std::vector<CellStats> cells = cell_stats(runs, metric);
        std::vector<BatchSummary> out;
        const bool up = higher_is_better(metric);
        std::vector<double> scratch;
        std::size_t i = 0;
        while (i < cells.size())
        {
            std::size_t j = i;
            while (j < cells.size() && cells[j].optimizer == cells[i].optimizer
                   && cells[j].schedule == cells[i].schedule && cells[j].batch_size == cells[i].batch_size)
            {
                ++j;
            }
            // cells[i, j) share (optimizer, schedule, batch size) and are sorted by lr.
            BatchSummary b;
            b.optimizer = cells[i].optimizer;
            b.schedule = cells[i].schedule;
            b.batch_size = cells[i].batch_size;
            b.metric = metric;
            b.lrs_tried = j - i;
            const std::size_t best = detail::best_cell(i, j, up, [&](std::size_t k) { return cells[k].value; });
            std::size_t fastest = j;
            for (std::size_t k = i; k < j; ++k)
            {
                const CellStats& c = cells[k];
                b.diverged_runs += c.diverged;
                b.stalled_runs += c.stalled;
                if (std::isfinite(c.steps_to_target)
                    && (fastest == j || c.steps_to_target < cells[fastest].steps_to_target))
                {
                    fastest = k;
                }
            }
            // The stability edge (see the function comment): `edge` indexes the largest stable lr, j if none.
            std::size_t edge = j;
            if (best != j && !cells[best].fails())
            {
                edge = best;
                while (edge + 1 < j && !cells[edge + 1].fails())
                {
                    ++edge;
                }
            }
            else if (best != j)
            {
                std::size_t k = best;
                while (k > i && cells[k - 1].fails())
                {
                    --k;
                }
                edge = k == i ? j : k - 1;
            }
            else
            {
                std::size_t k = i;
                while (k < j && !cells[k].fails())
                {
                    ++k;
                }
                edge = k == i ? j : k - 1;
            }
            const std::size_t first_unstable = edge == j ? i : edge + 1;
            if (edge != j)
            {
                b.largest_stable_lr = cells[edge].lr;
            }
            if (first_unstable < j)
            {
                b.smallest_unstable_lr = cells[first_unstable].lr;
            }
            for (std::size_t k = first_unstable; k < j; ++k)
            {
                if (cells[k].diverged > 0)
                {
                    b.smallest_diverged_lr = cells[k].lr;
                    break;
                }
            }
            if (best != j)
            {
                b.best_lr = cells[best].lr;
                b.best_value = cells[best].value;
                b.best_seeds = cells[best].seeds;
                b.best_at_edge = b.lrs_tried > 1 && (best == i || best == j - 1);
                // The tied set: lrs best in at least tie_share of the draws over this batch size's seeds.
                std::set<std::uint64_t> seed_set;
                for (std::size_t k = i; k < j; ++k)
                {
                    for (const auto& entry : cells[k].seed_values)
                    {
                        seed_set.insert(entry.first);
                    }
                }
                const std::vector<std::uint64_t> seeds(seed_set.begin(), seed_set.end());
                std::vector<std::size_t> wins(j - i, 0);
                Rng rng(detail::bootstrap_seed(b.optimizer + "/" + b.schedule + "/" + std::to_string(b.batch_size)));
                std::vector<std::uint64_t> draw(seeds.size());
                const std::size_t reps = seeds.size() > 1 ? bootstrap.replicates : 0;
                for (std::size_t r = 0; r < reps; ++r)
                {
                    for (auto& d : draw)
                    {
                        d = seeds[rng.uniform_index(seeds.size())];
                    }
                    const std::size_t w = detail::best_cell(i, j, up, [&](std::size_t k) {
                        return detail::median_of_draw(cells[k].seed_values, draw, scratch);
                    });
                    if (w != j)
                    {
                        ++wins[w - i];
                    }
                }
                b.best_lr_lo = b.best_lr_hi = b.best_lr;
                for (std::size_t k = i; k < j; ++k)
                {
                    if (reps > 0 && static_cast<double>(wins[k - i]) >= bootstrap.tie_share * static_cast<double>(reps))
                    {
                        b.best_lr_lo = std::min(b.best_lr_lo, cells[k].lr);
                        b.best_lr_hi = std::max(b.best_lr_hi, cells[k].lr);
                    }
                }
                if (b.best_at_edge)
                {
                    b.warnings.push_back("best_lr_at_edge");
                }
            }
            if (fastest != j)
            {
                const CellStats& c = cells[fastest];
                b.steps_to_target = c.steps_to_target;
                b.examples_to_target = c.examples_to_target;
                b.epochs_to_target = c.epochs_to_target;
                b.lr_to_target = c.lr;
                b.steps_to_target_lo = c.steps_to_target_lo;
                b.steps_to_target_hi = c.steps_to_target_hi;
                b.target_resolution_limited = c.target_resolution_limited;
                if (b.target_resolution_limited)
                {
                    b.warnings.push_back("target_resolution_limited");
                }
            }
            out.push_back(b);
            i = j;
        }
        return out;
    }

    /**
     * @brief The cells one refinement round adds (SweepOptions::refine_rounds): for each optimizer,
     * schedule and batch size of @p grid with a best lr among @p runs, the learning rates halfway on
     * a log scale between the best and its neighbours among the lrs tried; at an edge of the lrs
     * tried, one step past it instead (the step to its one neighbour), since the optimum may lie
     * outside. Rates already tried or already refined are not added again. @p round is stored in
     * each cell.
     */
    inline std::vector<RefinedCell> refinement_cells(const SweepGrid& grid, const std::vector<RunSummary>& runs,
                                                     Metric metric, std::size_t round)
    {
        std::vector<RefinedCell> out;
        const std::vector<CellStats> cells = cell_stats(runs, metric);
        const std::vector<BatchSummary> table = summarize_by_batch(runs, metric, BootstrapOptions{0, 0.05, 0.9});
        auto known = [&](const BatchSummary& b, double lr) {
            const auto near = [lr](double x) { return std::fabs(x - lr) <= 1e-12 * std::max(std::fabs(x), std::fabs(lr)); };
            for (const CellStats& c : cells)
            {
                if (c.optimizer == b.optimizer && c.schedule == b.schedule && c.batch_size == b.batch_size && near(c.lr))
                {
                    return true;
                }
            }
            for (const RefinedCell& c : grid.refined)
            {
                if (c.optimizer == b.optimizer && c.schedule == b.schedule && c.batch_size == b.batch_size && near(c.lr))
                {
                    return true;
                }
            }
            return std::any_of(grid.lrs.begin(), grid.lrs.end(), near);
        };
        for (const BatchSummary& b : table)
        {
            if (!std::isfinite(b.best_lr))
            {
                continue;
            }
            std::vector<double> tried;
            for (const CellStats& c : cells)
            {
                if (c.optimizer == b.optimizer && c.schedule == b.schedule && c.batch_size == b.batch_size)
                {
                    tried.push_back(c.lr);  // sorted: cells come ordered by lr
                }
            }
            const auto k = static_cast<std::size_t>(std::find(tried.begin(), tried.end(), b.best_lr) - tried.begin());
            std::vector<double> add;
            if (tried.size() >= 2)
            {
                add.push_back(k > 0 ? std::sqrt(tried[k - 1] * tried[k]) : tried[0] * tried[0] / tried[1]);
                add.push_back(k + 1 < tried.size() ? std::sqrt(tried[k] * tried[k + 1])
                                                   : tried[k] * tried[k] / tried[k - 1]);
            }
            for (const double lr : add)
            {
                if (std::isfinite(lr) && lr > 0.0 && !known(b, lr))
                {
                    out.push_back(RefinedCell{b.optimizer, b.schedule, b.batch_size, lr, round});
                }
            }
        }
        return out;
    }

    /** @brief A least-squares line y = intercept + slope * x. */
    struct LineFit
    {
        double slope = std::numeric_limits<double>::quiet_NaN();      ///< dy/dx
        double intercept = std::numeric_limits<double>::quiet_NaN();  ///< y at x = 0
        double r_squared = std::numeric_limits<double>::quiet_NaN();  ///< coefficient of determination
        std::size_t points = 0;                                       ///< points used

        /** @brief True when at least two distinct x were available. */
        bool valid() const noexcept { return std::isfinite(slope) && std::isfinite(intercept); }
    };

    /**
     * @brief Ordinary least squares of y on x over the points where both are finite.
     * @throws std::invalid_argument if the sizes differ. Fewer than two distinct x give an invalid fit.
     */
    inline LineFit fit_line(const std::vector<double>& x, const std::vector<double>& y)
    {
        detail::require(x.size() == y.size(), "xtrain::fit_line", "y.size()", y.size(),
                        "must equal x.size() " + std::to_string(x.size()));
        LineFit f;
        double sx = 0.0;
        double sy = 0.0;
        std::size_t n = 0;
        for (std::size_t i = 0; i < x.size(); ++i)
        {
            if (std::isfinite(x[i]) && std::isfinite(y[i]))
            {
                sx += x[i];
                sy += y[i];
                ++n;
            }
        }
        f.points = n;
        if (n < 2)
        {
            return f;
        }
        const double mx = sx / static_cast<double>(n);
        const double my = sy / static_cast<double>(n);
        double sxx = 0.0;
        double sxy = 0.0;
        double syy = 0.0;
        for (std::size_t i = 0; i < x.size(); ++i)
        {
            if (std::isfinite(x[i]) && std::isfinite(y[i]))
            {
                sxx += (x[i] - mx) * (x[i] - mx);
                sxy += (x[i] - mx) * (y[i] - my);
                syy += (y[i] - my) * (y[i] - my);
            }
        }
        if (!(sxx > 0.0))
        {
            return f;
        }
        f.slope = sxy / sxx;
        f.intercept = my - f.slope * mx;
        f.r_squared = syy > 0.0 ? (sxy * sxy) / (sxx * syy) : 1.0;
        return f;
    }

    /**
     * @brief Least squares of log y on log x (natural logs; the slope does not depend on the base).
     *
     * Points with x <= 0 or y <= 0 or non-finite values are skipped. For the best learning rate
     * against the batch size, slope 1 is the linear scaling rule (Goyal et al. 2017) and slope 0.5
     * the square-root rule (Krizhevsky 2014; Hoffer et al. 2017).
     */
    inline LineFit fit_loglog(const std::vector<double>& x, const std::vector<double>& y)
    {
        detail::require(x.size() == y.size(), "xtrain::fit_loglog", "y.size()", y.size(),
                        "must equal x.size() " + std::to_string(x.size()));
        constexpr double nan = std::numeric_limits<double>::quiet_NaN();
        std::vector<double> lx;
        std::vector<double> ly;
        for (std::size_t i = 0; i < x.size(); ++i)
        {
            const bool ok = x[i] > 0.0 && y[i] > 0.0 && std::isfinite(x[i]) && std::isfinite(y[i]);
            lx.push_back(ok ? std::log(x[i]) : nan);
            ly.push_back(ok ? std::log(y[i]) : nan);
        }
        return fit_line(lx, ly);
    }

    /**
     * @brief Slope of log(best lr) against log(batch size) for one optimizer and schedule, from the
     *        table of summarize_by_batch (batch sizes whose best lr is NaN are skipped).
     */
    inline LineFit best_lr_scaling(const std::vector<BatchSummary>& table, const std::string& optimizer,
                                   const std::string& schedule = {})
    {
        std::vector<double> b;
        std::vector<double> lr;
        for (const auto& row : table)
        {
            if (row.optimizer == optimizer && row.schedule == schedule)
            {
                b.push_back(static_cast<double>(row.batch_size));
                lr.push_back(row.best_lr);
            }
        }
        return fit_loglog(b, lr);
    }

    /**
     * @brief The fit S(B) = S_min * (1 + B_noise / B) of steps to target against batch size
     *        (McCandlish et al. 2018, eq. 2.11; Shallue et al. 2019).
     *
     * S_min is the fewest steps any batch size can achieve; B_noise is the batch size around
     * which doubling B stops halving the steps. Steps span decades across batch sizes, so the fit
     * is made on log S (a least-squares fit of S itself is dominated by the smallest batches).
     */
    struct StepsFit
    {
        double s_min = std::numeric_limits<double>::quiet_NaN();    ///< asymptotic steps for B -> infinity
        double b_noise = std::numeric_limits<double>::quiet_NaN();  ///< critical batch size
        double r_squared = std::numeric_limits<double>::quiet_NaN(); ///< of log S (see fit_steps_to_target)
        std::size_t points = 0;                                     ///< batch sizes used

        /** @brief The best B_noise lies at an end of the searched range (see fit_steps_to_target). */
        bool at_range_end = false;
        /**
         * @brief True when the fit determines both parameters: at least 3 batch sizes (more points
         * than parameters), S_min > 0, and B_noise inside the searched range.
         */
        bool valid() const noexcept { return points >= 3 && s_min > 0.0 && b_noise > 0.0 && !at_range_end; }
        /** @brief S(B) by the fit. */
        double predict(double batch_size) const noexcept { return s_min * (1.0 + b_noise / batch_size); }
    };

    /**
     * @brief Fits S(B) = S_min (1 + B_noise / B) by least squares on log S.
     *
     * For a given B_noise the best log S_min is closed-form (the mean of log S - log(1 + B_noise/B)),
     * so the fit is a one-dimensional search over log B_noise, from 1e-3 x the smallest to 1e3 x
     * the largest batch size: a grid, then golden-section refinement. r_squared is that of log S.
     * Batch sizes whose steps are not finite (the target was never reached) are left out, as are
     * non-positive values. Fewer than two batch sizes left, or a best B_noise at an end of the
     * range (steps that do not fall with B, or fall as 1/B throughout, determine no S_min and
     * B_noise), give an invalid fit (valid() false; s_min and b_noise hold the end point found).
     * @throws std::invalid_argument if the sizes differ.
     */
    inline StepsFit fit_steps_to_target(const std::vector<double>& batch_sizes, const std::vector<double>& steps)
    {
        detail::require(batch_sizes.size() == steps.size(), "xtrain::fit_steps_to_target", "steps.size()",
                        steps.size(), "must equal batch_sizes.size() " + std::to_string(batch_sizes.size()));
        std::vector<double> b;
        std::vector<double> log_s;
        for (std::size_t i = 0; i < steps.size(); ++i)
        {
            if (batch_sizes[i] > 0.0 && steps[i] > 0.0 && std::isfinite(batch_sizes[i]) && std::isfinite(steps[i]))
            {
                b.push_back(batch_sizes[i]);
                log_s.push_back(std::log(steps[i]));
            }
        }
        StepsFit f;
        f.points = b.size();
        if (b.size() < 2)
        {
            return f;
        }
        const double n = static_cast<double>(b.size());
        // For a given B_noise the best log S_min is the mean residual; the fit's sum of squares
        // is then a function of B_noise alone.
        auto fit_at = [&](double b_noise, double& log_s_min) {
            double mean = 0.0;
            for (std::size_t i = 0; i < b.size(); ++i)
            {
                mean += log_s[i] - std::log1p(b_noise / b[i]);
            }
            log_s_min = mean / n;
            double sse = 0.0;
            for (std::size_t i = 0; i < b.size(); ++i)
            {
                const double r = log_s[i] - log_s_min - std::log1p(b_noise / b[i]);
                sse += r * r;
            }
            return sse;
        };
        // Search log(B_noise) over six decades around the batch sizes: a coarse grid, then a
        // golden-section refinement around the best grid point.
        const double lo = std::log(*std::min_element(b.begin(), b.end()) * 1e-3);
        const double hi = std::log(*std::max_element(b.begin(), b.end()) * 1e3);
        const int grid = 240;
        double ignored = 0.0;
        int best = 0;
        double best_sse = std::numeric_limits<double>::infinity();
        for (int k = 0; k <= grid; ++k)
        {
            const double sse = fit_at(std::exp(lo + (hi - lo) * k / grid), ignored);
            if (sse < best_sse)
            {
                best_sse = sse;
                best = k;
            }
        }
        double a = lo + (hi - lo) * std::max(0, best - 1) / grid;
        double c = lo + (hi - lo) * std::min(grid, best + 1) / grid;
        const double phi = 0.5 * (std::sqrt(5.0) - 1.0);
        double x1 = c - phi * (c - a);
        double x2 = a + phi * (c - a);
        double f1 = fit_at(std::exp(x1), ignored);
        double f2 = fit_at(std::exp(x2), ignored);
        for (int it = 0; it < 200 && c - a > 1e-14; ++it)
        {
            if (f1 < f2)
            {
                c = x2;
                x2 = x1;
                f2 = f1;
                x1 = c - phi * (c - a);
                f1 = fit_at(std::exp(x1), ignored);
            }
            else
            {
                a = x1;
                x1 = x2;
                f1 = f2;
                x2 = a + phi * (c - a);
                f2 = fit_at(std::exp(x2), ignored);
            }
        }
        const double u = 0.5 * (a + c);
        double log_s_min = 0.0;
        const double sse = fit_at(std::exp(u), log_s_min);
        double mean = 0.0;
        for (double v : log_s)
        {
            mean += v / n;
        }
        double sst = 0.0;
        for (double v : log_s)
        {
            sst += (v - mean) * (v - mean);
        }
        f.b_noise = std::exp(u);
        f.s_min = std::exp(log_s_min);
        f.r_squared = sst > 0.0 ? 1.0 - sse / sst : std::numeric_limits<double>::quiet_NaN();
        // At either end of the searched range the data do not show both regimes (steps that do
        // not fall with B, or that fall as 1/B throughout): no S_min or B_noise can be read off.
        f.at_range_end = best == 0 || best == grid;
        return f;
    }

    /**
     * @brief fit_steps_to_target over one optimizer's and schedule's rows of summarize_by_batch,
     *        leaving out the batch sizes whose steps to target are not resolved.
     */
    inline StepsFit steps_to_target_fit(const std::vector<BatchSummary>& table, const std::string& optimizer,
                                        const std::string& schedule = {})
    {
        std::vector<double> b;
        std::vector<double> s;
        for (const auto& row : table)
        {
            if (row.optimizer == optimizer && row.schedule == schedule && !row.target_resolution_limited)
            {
                b.push_back(static_cast<double>(row.batch_size));
                s.push_back(row.steps_to_target);
            }
        }
        return fit_steps_to_target(b, s);
    }

    /** @brief The fits of one optimizer and schedule with their bootstrap intervals: a row of fits.csv. */
    struct FitSummary
    {
        std::string optimizer;  ///< optimizer name
        std::string schedule;   ///< schedule label
        Metric metric = Metric::final_val_accuracy;  ///< what "best" means
        LineFit best_lr;        ///< log(best lr) against log(B)
        double slope_lo = std::numeric_limits<double>::quiet_NaN();    ///< interval of the slope over seed draws
        double slope_hi = std::numeric_limits<double>::quiet_NaN();    ///< (coverage BootstrapOptions::interval)
        StepsFit steps;         ///< S(B) = S_min (1 + B_noise / B) on the resolved batch sizes
        double s_min_lo = std::numeric_limits<double>::quiet_NaN();    ///< interval of S_min over seed draws
        double s_min_hi = std::numeric_limits<double>::quiet_NaN();    ///< upper end
        double b_noise_lo = std::numeric_limits<double>::quiet_NaN();  ///< interval of B_noise over seed draws
        double b_noise_hi = std::numeric_limits<double>::quiet_NaN();  ///< upper end
        std::size_t bootstrap_draws = 0;       ///< draws made (0 with a single seed)
        std::size_t bootstrap_valid_fits = 0;  ///< draws whose steps fit was valid (the intervals use these)
        std::size_t refused_points = 0;        ///< batch sizes left out of the steps fit as not resolved
        std::vector<std::string> warnings;     ///< codes, see warning_text()
    };

    /**
     * @brief One FitSummary per (optimizer, schedule) of @p table (summarize_by_batch of @p runs),
     *        with intervals from a bootstrap over the sweep's seeds: each draw redoes the choice of
     *        the best and the fastest lr at every batch size, then both fits.
     */
    inline std::vector<FitSummary> summarize_fits(const std::vector<RunSummary>& runs,
                                                  const std::vector<BatchSummary>& table, Metric metric,
                                                  const BootstrapOptions& bootstrap = {})
    {
        std::vector<FitSummary> out;
        const std::vector<CellStats> cells = cell_stats(runs, metric);
        const bool up = higher_is_better(metric);
        std::vector<double> scratch;
        for (std::size_t r = 0; r < table.size(); ++r)
        {
            if (r > 0 && table[r].optimizer == table[r - 1].optimizer && table[r].schedule == table[r - 1].schedule)
            {
                continue;
            }
            FitSummary f;
            f.optimizer = table[r].optimizer;
            f.schedule = table[r].schedule;
            f.metric = metric;
            f.best_lr = best_lr_scaling(table, f.optimizer, f.schedule);
            f.steps = steps_to_target_fit(table, f.optimizer, f.schedule);
            // Per batch size of this group: its cells [first, last) and whether its steps are resolved.
            struct Group
            {
                std::size_t first;
                std::size_t last;
                bool resolved;
            };
            std::vector<Group> groups;
            std::set<std::uint64_t> seed_set;
            bool edge_in_fit = false;
            for (std::size_t k = r; k < table.size() && table[k].optimizer == f.optimizer && table[k].schedule == f.schedule;
                 ++k)
            {
                const bool reached = std::isfinite(table[k].steps_to_target);
                f.refused_points += table[k].target_resolution_limited && reached ? 1 : 0;
                edge_in_fit = edge_in_fit || (table[k].best_at_edge && std::isfinite(table[k].best_lr));
                Group g{cells.size(), cells.size(), !table[k].target_resolution_limited};
                for (std::size_t c = 0; c < cells.size(); ++c)
                {
                    if (cells[c].optimizer == f.optimizer && cells[c].schedule == f.schedule
                        && cells[c].batch_size == table[k].batch_size)
                    {
                        g.first = std::min(g.first, c);
                        g.last = c + 1;
                        for (const auto& entry : cells[c].seed_values)
                        {
                            seed_set.insert(entry.first);
                        }
                    }
                }
                if (g.first < g.last)
                {
                    groups.push_back(g);
                }
            }
            const std::vector<std::uint64_t> seeds(seed_set.begin(), seed_set.end());
            const std::size_t reps = seeds.size() > 1 ? std::max<std::size_t>(1, bootstrap.replicates / 5) : 0;
            Rng rng(detail::bootstrap_seed("fits/" + f.optimizer + "/" + f.schedule));
            std::vector<std::uint64_t> draw(seeds.size());
            std::vector<double> slopes;
            std::vector<double> s_mins;
            std::vector<double> b_noises;
            std::vector<double> bs;
            std::vector<double> best_lrs;
            std::vector<double> steps_b;
            std::vector<double> steps;
            for (std::size_t rep = 0; rep < reps; ++rep)
            {
                for (auto& d : draw)
                {
                    d = seeds[rng.uniform_index(seeds.size())];
                }
                bs.clear();
                best_lrs.clear();
                steps_b.clear();
                steps.clear();
                for (const Group& g : groups)
                {
                    const double batch = static_cast<double>(cells[g.first].batch_size);
                    const std::size_t best = detail::best_cell(g.first, g.last, up, [&](std::size_t k) {
                        return detail::median_of_draw(cells[k].seed_values, draw, scratch);
                    });
                    bs.push_back(batch);
                    best_lrs.push_back(best != g.last ? cells[best].lr : std::numeric_limits<double>::quiet_NaN());
                    double fewest = std::numeric_limits<double>::infinity();
                    for (std::size_t k = g.first; k < g.last; ++k)
                    {
                        const double m = detail::median_of_draw(cells[k].seed_steps, draw, scratch);
                        fewest = std::isnan(m) ? fewest : std::min(fewest, m);
                    }
                    if (g.resolved)
                    {
                        steps_b.push_back(batch);
                        steps.push_back(fewest);
                    }
                }
                const LineFit lf = fit_loglog(bs, best_lrs);
                if (lf.valid())
                {
                    slopes.push_back(lf.slope);
                }
                const StepsFit sf = fit_steps_to_target(steps_b, steps);
                if (sf.valid())
                {
                    s_mins.push_back(sf.s_min);
                    b_noises.push_back(sf.b_noise);
                }
            }
            const double tail = (1.0 - bootstrap.interval) / 2;
            f.bootstrap_draws = reps;
            f.bootstrap_valid_fits = s_mins.size();
            f.slope_lo = detail::quantile(slopes, tail);
            f.slope_hi = detail::quantile(slopes, 1.0 - tail);
            f.s_min_lo = detail::quantile(s_mins, tail);
            f.s_min_hi = detail::quantile(s_mins, 1.0 - tail);
            f.b_noise_lo = detail::quantile(b_noises, tail);
            f.b_noise_hi = detail::quantile(b_noises, 1.0 - tail);
            if (f.best_lr.points < 3)
            {
                f.warnings.push_back("best_lr_fit_too_few_points");
            }
            if (edge_in_fit)
            {
                f.warnings.push_back("best_lr_at_edge_in_fit");
            }
            const bool any_reached = std::any_of(table.begin() + static_cast<std::ptrdiff_t>(r), table.end(),
                                                 [&](const BatchSummary& row) {
                                                     return row.optimizer == f.optimizer && row.schedule == f.schedule
                                                         && std::isfinite(row.steps_to_target);
                                                 });
            if (any_reached && f.steps.points < 3)
            {
                f.warnings.push_back("steps_fit_too_few_points");
            }
            else if (any_reached && !f.steps.valid())
            {
                f.warnings.push_back("steps_fit_not_determined");
            }
            if (f.refused_points > 0)
            {
                f.warnings.push_back("target_resolution_limited");
            }
            out.push_back(std::move(f));
        }
        return out;
    }

    /** @brief The tables a sweep's results reduce to: per batch size, and the fits over batch sizes. */
    struct ResultTables
    {
        Metric metric = Metric::final_val_accuracy;  ///< what "best" means in both
        std::vector<BatchSummary> by_batch;    ///< summarize_by_batch()
        std::vector<FitSummary> fits;          ///< summarize_fits()
    };

    /** @brief Both tables for @p runs, by @p metric (default_metric() of @p runs when empty). */
    inline ResultTables analyze_runs(const std::vector<RunSummary>& runs, std::optional<Metric> metric = std::nullopt)
    {
        ResultTables t;
        t.metric = metric ? *metric : default_metric(runs);
        t.by_batch = summarize_by_batch(runs, t.metric);
        t.fits = summarize_fits(runs, t.by_batch, t.metric);
        return t;
    }
}

#endif
