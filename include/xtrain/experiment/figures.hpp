/**
 * @file figures.hpp
 * @brief The sweep's four figures as gnuplot scripts with their data, and the pieces to write others.
 *
 * For a results folder, write_figures() writes into `<folder>/figures/`, per figure, a data file
 * (`.dat`: whitespace-separated columns, one block per series separated by two blank lines, each
 * block headed by a comment naming the series) and a gnuplot script (`.gp`) that draws it into a
 * `.png` and an `.svg` beside it; the message says how to plot them (`cd <folder>/figures && for f
 * in *.gp; do gnuplot "$f"; done`). This header starts no process: render_figures(), in the opt-in
 * header xtrain/experiment/render.hpp (not included by xtrain.hpp), runs gnuplot on the scripts.
 * The scripts use relative paths, so the folder can be moved or copied. A program draws figures
 * of its own the same way: gnuplot_prologue() and gnuplot_epilogue() around its plot commands,
 * add_figure() to write the script and its data into a FigureReport, render_figures() to draw.
 *
 * 1. fig1_loss_vs_epoch: training loss against epoch, one line per batch size, at one learning
 *    rate per optimizer (the lr of the grid closest, on a log scale, to the one asked for), median
 *    over seeds; one panel per optimizer.
 * 2. fig2_accuracy_heatmap: the metric (final validation accuracy by default) over learning rate x
 *    batch size (the grid's rates), median over the seeds that did not diverge, one heatmap per
 *    optimizer side by side. Each outcome has its own mark: a red cross in the corner of a cell
 *    where a seed blew up (a large cross, and no value, where every seed did), an open grey circle
 *    where a seed stalled near chance.
 * 3. fig3_best_lr: best learning rate against batch size, log-log, per optimizer, with error bars
 *    spanning the rates statistically tied with it (bootstrap over seeds) and the slope of the
 *    least-squares fit in the legend (only when it rests on 3 or more batch sizes); a best rate at
 *    the edge of the rates tried is drawn hollow (the optimum may lie outside them); the largest
 *    stable learning rate dashed; guide lines of slope 1 (linear scaling) and 1/2 (square-root
 *    scaling) through the first point.
 * 4. fig4_steps_to_target: steps to target against batch size, log-log, per optimizer, with error
 *    bars from the fewest to the most steps over the seeds, and the fitted curve
 *    S_min (1 + B_noise / B) with its bootstrap intervals, drawn only when the fit is determined
 *    (3 or more resolved batch sizes). Points met at the first evaluation (not resolved) are drawn
 *    hollow and left out of the fit. Skipped (with a reason) when the sweep has no target or no
 *    batch size reached it.
 */
#ifndef XTRAIN_EXPERIMENT_FIGURES_HPP
#define XTRAIN_EXPERIMENT_FIGURES_HPP

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <limits>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "xtrain/core/error.hpp"
#include "xtrain/experiment/analysis.hpp"
#include "xtrain/experiment/detail/text_io.hpp"
#include "xtrain/experiment/results_folder.hpp"

namespace xtrain
{
    /** @brief Choices for write_figures(). */
    struct FigureOptions
    {
        /** @brief Output folder; empty means `<results folder>/figures`. */
        std::filesystem::path dir;
        /**
         * @brief Figure 1: the learning rate to show, per optimizer name (the grid's lr closest to
         *        it on a log scale is used). An optimizer not listed uses `loss_lr`.
         */
        std::map<std::string, double> loss_lrs;
        /** @brief Figure 1 fallback; NaN (default) means the optimizer's best lr at its smallest batch size. */
        double loss_lr = std::numeric_limits<double>::quiet_NaN();
        /** @brief Figures 2 and 3: the metric; empty means default_metric() (final validation accuracy). */
        std::optional<Metric> metric;
        /** @brief Optimizers to draw, in panel order; empty means all, in grid order. */
        std::vector<std::string> optimizers;
        /** @brief Which schedule's runs to draw when the grid has several; empty means the first. */
        std::string schedule;
    };

    /** @brief What write_figures() produced. */
    struct FigureReport
    {
        std::filesystem::path dir;                       ///< where the files are
        std::vector<std::filesystem::path> data_files;   ///< .dat files written
        std::vector<std::filesystem::path> scripts;      ///< .gp files written
        std::vector<std::filesystem::path> images;       ///< .png and .svg files produced (by render_figures())
        std::vector<std::string> skipped;                ///< figures not drawn, with the reason
        bool rendered = false;                           ///< render_figures() ran gnuplot and it produced every image
        std::string message;                             ///< one paragraph for the user: where, or how to plot
    };

    /** @brief Writes the figures of the results in @p results (a sweep's folder). */
    inline FigureReport write_figures(const std::filesystem::path& results, const FigureOptions& options = {});

    /** @brief Writes the figures of an in-memory result set into @p options.dir (required). */
    inline FigureReport write_figures(const ResultSet& set, const FigureOptions& options);

    /**
     * @brief The opening of a figure's gnuplot script: a comment saying what it draws (@p what)
     *        and how, then a loop that draws the same plot into NAME.png (pngcairo when gnuplot has
     *        it) and NAME.svg, @p width x @p height pixels. The plot commands follow; end the
     *        script with gnuplot_epilogue(). Every script of write_figures() starts this way.
     */
    inline std::string gnuplot_prologue(const std::string& name, const std::string& what, int width, int height);

    /** @brief Closes the loop gnuplot_prologue() opened; @p multiplot true ends a `set multiplot` first. */
    inline std::string gnuplot_epilogue(bool multiplot = false);

    /**
     * @brief Writes NAME.dat and NAME.gp (@p dat and @p gp) into `report.dir` and lists them in
     *        @p report, so that render_figures() draws it with the others: how a program adds a
     *        figure of its own. @throws std::runtime_error if a file cannot be written.
     */
    inline void add_figure(FigureReport& report, const std::string& name, const std::string& dat, const std::string& gp);

    /** @brief Short text of a number for titles, legends and tick labels (printf's %g). */
    inline std::string short_number(double v);

    // ---------------------------------------------------------------------------------------------
    // Implementation
    // ---------------------------------------------------------------------------------------------

    inline std::string short_number(double v)
    {
        char buf[32];
        std::snprintf(buf, sizeof(buf), "%g", v);
        return buf;
    }

    inline std::string gnuplot_prologue(const std::string& name, const std::string& what, int width, int height)
    {
        const std::string w = std::to_string(width);
        const std::string h = std::to_string(height);
        std::string s;
        s += "# " + what + "\n";
        s += "# Data: " + name + ".dat. Draw: gnuplot " + name + ".gp (writes " + name + ".png and " + name
           + ".svg here).\n";
        s += "# Written by xtrain; edit freely.\n";
        s += "do for [fmt in \"png svg\"] {\n";
        s += "  if (fmt eq \"png\") {\n";
        s += "    if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) {\n";
        s += "      set terminal pngcairo size " + w + "," + h + " font \"sans,10\" noenhanced\n";
        s += "    } else {\n";
        s += "      set terminal png size " + w + "," + h + " noenhanced\n";
        s += "    }\n";
        s += "    set output '" + name + ".png'\n";
        s += "  } else {\n";
        s += "    set terminal svg size " + w + "," + h + " font \"sans,10\" noenhanced background rgb 'white'\n";
        s += "    set output '" + name + ".svg'\n";
        s += "  }\n";
        return s;
    }

    inline std::string gnuplot_epilogue(bool multiplot)
    {
        return std::string(multiplot ? "  unset multiplot\n" : "") + "  set output\n}\n";
    }

    inline void add_figure(FigureReport& report, const std::string& name, const std::string& dat, const std::string& gp)
    {
        std::filesystem::create_directories(report.dir);
        detail::write_file_atomic(report.dir / (name + ".dat"), dat);
        detail::write_file_atomic(report.dir / (name + ".gp"), gp);
        report.data_files.push_back(report.dir / (name + ".dat"));
        report.scripts.push_back(report.dir / (name + ".gp"));
    }

    namespace detail
    {
        /** @brief @p s as a single-quoted gnuplot string (no escapes are interpreted in those). */
        inline std::string gp_string(const std::string& s)
        {
            std::string out = "'";
            for (const char c : s)
            {
                out += c;
                if (c == '\'')
                {
                    out += '\'';
                }
            }
            return out + "'";
        }

        /** @brief @p s quoted for a POSIX shell. */
        inline std::string shell_quote(const std::string& s)
        {
            std::string out = "'";
            for (const char c : s)
            {
                if (c == '\'')
                {
                    out += "'\\''";
                }
                else
                {
                    out += c;
                }
            }
            return out + "'";
        }

        /**
         * The body of a .dat block with no points. gnuplot's `index` does not count a block without a
         * data line, so an empty block would shift every later index onto the wrong data (the next
         * optimizer's values drawn as this one's marks): it holds one row of NaNs, which draws nothing.
         */
        inline const std::string empty_block = "# (none)\nNaN NaN NaN NaN NaN NaN NaN NaN NaN NaN NaN\n";

        /** @brief Multiplot layout (rows, columns) for @p n panels. */
        inline std::pair<int, int> panel_layout(std::size_t n)
        {
            if (n <= 3)
            {
                return {1, static_cast<int>(std::max<std::size_t>(n, 1))};
            }
            const int cols = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(n))));
            return {static_cast<int>((n + static_cast<std::size_t>(cols) - 1) / static_cast<std::size_t>(cols)), cols};
        }

        /** @brief Tick list "('a' 0, 'b' 1, ...)" labelling positions 0..n-1. */
        inline std::string index_tics(const std::vector<std::string>& labels)
        {
            std::string s = "(";
            for (std::size_t i = 0; i < labels.size(); ++i)
            {
                s += (i ? ", " : "") + gp_string(labels[i]) + " " + std::to_string(i);
            }
            return s + ")";
        }

        /** @brief Tick list "(32, 64, ...)" at the values themselves (for log axes of batch sizes). */
        inline std::string value_tics(const std::vector<std::size_t>& values)
        {
            std::string s = "(";
            for (std::size_t i = 0; i < values.size(); ++i)
            {
                s += (i ? ", " : "") + gp_string(std::to_string(values[i])) + " " + std::to_string(values[i]);
            }
            return s + ")";
        }

        /** @brief The data behind the figures, computed once from a result set. */
        struct FigureData
        {
            std::vector<std::string> optimizers;
            std::string schedule;
            Metric metric = Metric::final_val_accuracy;
            std::vector<RunSummary> summaries;  // of the chosen schedule
            std::vector<BatchSummary> table;
        };

        inline FigureData figure_data(const ResultSet& set, const FigureOptions& o)
        {
            FigureData d;
            const SweepGrid& grid = set.meta.config.grid;
            const auto labels = grid.schedule_labels();
            d.schedule = o.schedule.empty() ? labels.front() : o.schedule;
            require(std::find(labels.begin(), labels.end(), d.schedule) != labels.end(), "xtrain::write_figures",
                    "schedule", "\"" + d.schedule + "\"", "must be one of the grid's schedule labels");
            d.optimizers = o.optimizers.empty() ? grid.optimizers : o.optimizers;
            for (const auto& name : d.optimizers)
            {
                require(std::find(grid.optimizers.begin(), grid.optimizers.end(), name) != grid.optimizers.end(),
                        "xtrain::write_figures", "optimizer", "\"" + name + "\"", "must be one of the grid's optimizers");
            }
            for (const auto& r : set.runs)
            {
                if (r.spec.schedule == d.schedule)
                {
                    d.summaries.push_back(r.summary);
                }
            }
            d.metric = o.metric ? *o.metric : default_metric(d.summaries);
            d.table = summarize_by_batch(d.summaries, d.metric);
            return d;
        }

        inline std::string schedule_suffix(const FigureData& d)
        {
            return d.schedule.empty() ? "" : ", schedule " + d.schedule;
        }

        /** @brief The lr of @p lrs closest to @p want on a log scale (ties to the smaller). */
        inline double closest_lr(const std::vector<double>& lrs, double want)
        {
            double best = lrs.front();
            for (const double lr : lrs)
            {
                const double d = std::fabs(std::log(lr) - std::log(want));
                const double db = std::fabs(std::log(best) - std::log(want));
                if (d < db || (d == db && lr < best))
                {
                    best = lr;
                }
            }
            return best;
        }

        /** @brief Figure 1. Returns false (with @p why) when there is nothing to draw. */
        inline bool figure_loss(const ResultSet& set, const FigureData& d, const FigureOptions& o, std::string& dat,
                                std::string& gp, std::string& why)
        {
            const SweepGrid& grid = set.meta.config.grid;
            std::vector<std::string> series_titles;
            std::vector<std::vector<std::size_t>> panel_blocks(d.optimizers.size());
            std::vector<double> panel_lr(d.optimizers.size(), 0.0);
            std::size_t block = 0;
            dat = "# Figure 1: training loss against epoch, median over seeds, at one lr per optimizer\n"
                  "# columns: epoch train_loss_median step_median examples_seen_median seeds\n";
            for (std::size_t p = 0; p < d.optimizers.size(); ++p)
            {
                const std::string& opt = d.optimizers[p];
                double want = o.loss_lr;
                if (const auto it = o.loss_lrs.find(opt); it != o.loss_lrs.end())
                {
                    want = it->second;
                }
                if (!(want > 0.0) || !std::isfinite(want))
                {
                    want = grid.lrs.front();
                    for (const auto& b : d.table)  // ordered by batch size: the first is the smallest
                    {
                        if (b.optimizer == opt && std::isfinite(b.best_lr))
                        {
                            want = b.best_lr;
                            break;
                        }
                    }
                }
                const double lr = closest_lr(grid.lrs, want);
                panel_lr[p] = lr;
                for (const std::size_t bs : grid.batch_sizes)
                {
                    // epoch -> values over seeds
                    std::map<double, std::vector<double>> loss;
                    std::map<double, std::vector<double>> step;
                    std::map<double, std::vector<double>> examples;
                    std::size_t seeds = 0;
                    for (const auto& r : set.runs)
                    {
                        if (r.spec.optimizer != opt || r.spec.lr != lr || r.spec.batch_size != bs
                            || r.spec.schedule != d.schedule)
                        {
                            continue;
                        }
                        ++seeds;
                        for (const auto& row : r.rows)
                        {
                            if (!std::isnan(row.train_loss))
                            {
                                loss[row.epoch].push_back(row.train_loss);
                                step[row.epoch].push_back(static_cast<double>(row.step));
                                examples[row.epoch].push_back(static_cast<double>(row.examples_seen));
                            }
                        }
                    }
                    std::string lines;
                    for (const auto& [epoch, values] : loss)
                    {
                        const double m = median(values);
                        if (std::isfinite(m) && m > 0.0)  // a log axis; a diverged tail ends the line
                        {
                            lines += format_double(epoch) + " " + format_double(m) + " "
                                   + format_double(median(step[epoch])) + " " + format_double(median(examples[epoch]))
                                   + " " + std::to_string(values.size()) + "\n";
                        }
                    }
                    if (lines.empty())
                    {
                        continue;
                    }
                    dat += (block ? "\n\n" : "") + std::string("# optimizer=") + opt + " lr=" + format_double(lr)
                         + " batch_size=" + std::to_string(bs) + " seeds=" + std::to_string(seeds) + "\n" + lines;
                    panel_blocks[p].push_back(block++);
                    series_titles.push_back("B=" + std::to_string(bs));
                }
            }
            if (block == 0)
            {
                why = "no run recorded a finite training loss";
                return false;
            }
            const auto [rows, cols] = panel_layout(d.optimizers.size());
            gp = gnuplot_prologue("fig1_loss_vs_epoch", "Figure 1: training loss against epoch, one line per batch size",
                             520 * cols, 420 * rows);
            gp += "  set multiplot layout " + std::to_string(rows) + "," + std::to_string(cols)
                + " title 'Training loss against epoch (median over seeds" + schedule_suffix(d) + ")'\n";
            gp += "  set logscale y\n  set xlabel 'epoch'\n  set ylabel 'training loss'\n  set grid\n"
                  "  set key top right\n";
            for (std::size_t p = 0; p < d.optimizers.size(); ++p)
            {
                gp += "  set title " + gp_string(d.optimizers[p] + ", lr = " + short_number(panel_lr[p])) + "\n";
                if (panel_blocks[p].empty())
                {
                    gp += "  set label 1 'no data' at graph 0.5, 0.5 center\n  plot [0:1] [1:10] NaN notitle\n"
                          "  unset label 1\n";
                    continue;
                }
                gp += "  plot ";
                for (std::size_t k = 0; k < panel_blocks[p].size(); ++k)
                {
                    const std::size_t b = panel_blocks[p][k];
                    gp += std::string(k ? ", \\\n       " : "") + "'fig1_loss_vs_epoch.dat' index "
                        + std::to_string(b) + " using 1:2 with linespoints lw 2 pt 7 ps 0.6 title "
                        + gp_string(series_titles[b]);
                }
                gp += "\n";
            }
            gp += gnuplot_epilogue(true);
            return true;
        }

        /** @brief Figure 2. */
        inline bool figure_heatmap(const ResultSet& set, const FigureData& d, std::string& dat, std::string& gp,
                                   std::string& why)
        {
            const SweepGrid& grid = set.meta.config.grid;
            std::vector<double> lrs = grid.lrs;
            std::sort(lrs.begin(), lrs.end());
            std::vector<std::size_t> bss = grid.batch_sizes;
            std::sort(bss.begin(), bss.end());
            const std::vector<CellStats> cells = cell_stats(d.summaries, d.metric);
            double lo = std::numeric_limits<double>::infinity();
            double hi = -lo;
            for (const auto& c : cells)
            {
                if (std::isfinite(c.value_stable))
                {
                    lo = std::min(lo, c.value_stable);
                    hi = std::max(hi, c.value_stable);
                }
            }
            if (!(lo <= hi))
            {
                why = std::string("no cell has a finite ") + metric_name(d.metric);
                return false;
            }
            const double mid = (lo + hi) / 2;
            dat = std::string("# Figure 2: ") + metric_name(d.metric)
                + " over lr x batch size, median over the seeds that did not diverge\n"
                  "# three blocks per optimizer: cells with a value, cells where a seed diverged, cells where a seed stalled\n"
                  "# columns (values): lr_index batch_index lr batch_size value seeds diverged label_rgb\n"
                  "# columns (diverged): lr_index batch_index lr batch_size seeds diverged all_diverged\n"
                  "# columns (stalled): lr_index batch_index lr batch_size seeds stalled\n";
            struct Marks
            {
                bool values = false;
                bool diverged = false;
                bool stalled = false;
            };
            std::vector<Marks> has(d.optimizers.size());
            for (std::size_t p = 0; p < d.optimizers.size(); ++p)
            {
                std::string values;
                std::string diverged;
                std::string stalled;
                for (const auto& c : cells)
                {
                    const auto li = static_cast<std::size_t>(std::find(lrs.begin(), lrs.end(), c.lr) - lrs.begin());
                    const auto bi = static_cast<std::size_t>(std::find(bss.begin(), bss.end(), c.batch_size) - bss.begin());
                    if (c.optimizer != d.optimizers[p] || li == lrs.size() || bi == bss.size())
                    {
                        continue;  // another panel, or a rate added by refinement (not a column of the grid)
                    }
                    const std::string pos = std::to_string(li) + " " + std::to_string(bi) + " " + format_double(c.lr) + " "
                                          + std::to_string(c.batch_size);
                    if (std::isfinite(c.value_stable))
                    {
                        // Dark cells get white labels: the palette is dark at its low end.
                        const bool dark = !(c.value_stable > mid);
                        values += pos + " " + format_double(c.value_stable) + " " + std::to_string(c.seeds) + " "
                                + std::to_string(c.diverged) + " " + (dark ? "16777215" : "0") + "\n";
                    }
                    if (c.diverged > 0)
                    {
                        diverged += pos + " " + std::to_string(c.seeds) + " " + std::to_string(c.diverged) + " "
                                  + (c.diverged == c.seeds ? "1" : "0") + "\n";
                    }
                    if (c.stalled > 0)
                    {
                        stalled += pos + " " + std::to_string(c.seeds) + " " + std::to_string(c.stalled) + "\n";
                    }
                }
                has[p] = Marks{!values.empty(), !diverged.empty(), !stalled.empty()};
                dat += (p ? "\n\n" : "") + std::string("# optimizer=") + d.optimizers[p] + " values\n"
                     + (values.empty() ? detail::empty_block : values);
                dat += "\n\n# optimizer=" + d.optimizers[p] + " diverged\n" + (diverged.empty() ? detail::empty_block : diverged);
                dat += "\n\n# optimizer=" + d.optimizers[p] + " stalled\n" + (stalled.empty() ? detail::empty_block : stalled);
            }
            std::vector<std::string> lr_labels;
            for (const double lr : lrs)
            {
                lr_labels.push_back(short_number(lr));
            }
            std::vector<std::string> b_labels;
            for (const std::size_t b : bss)
            {
                b_labels.push_back(std::to_string(b));
            }
            const auto [rows, cols] = panel_layout(d.optimizers.size());
            const int cell_w = std::max(40, std::min(90, 600 / static_cast<int>(lrs.size())));
            const int cell_h = std::max(30, std::min(60, 400 / static_cast<int>(bss.size())));
            const int width = cols * (static_cast<int>(lrs.size()) * cell_w + 190);
            const int height = rows * (static_cast<int>(bss.size()) * cell_h + 150) + 40;
            gp = gnuplot_prologue("fig2_accuracy_heatmap",
                             std::string("Figure 2: ") + metric_name(d.metric) + " over learning rate x batch size",
                             width, height);
            gp += "  set multiplot layout " + std::to_string(rows) + "," + std::to_string(cols) + " title "
                + gp_string(std::string(metric_name(d.metric)) + ", median over seeds that did not diverge"
                            + schedule_suffix(d) + "; x: a seed diverged, o: a seed stalled near chance")
                + "\n";
            gp += "  set palette defined (0 '#440154', 0.25 '#3b528b', 0.5 '#21918c', 0.75 '#5ec962', 1 '#fde725')\n";
            gp += "  set cbrange [" + format_double(lo) + ":" + format_double(hi == lo ? lo + 1e-9 : hi) + "]\n";
            gp += "  set xrange [-0.5:" + format_double(static_cast<double>(lrs.size()) - 0.5) + "]\n";
            gp += "  set yrange [-0.5:" + format_double(static_cast<double>(bss.size()) - 0.5) + "]\n";
            gp += "  set xtics " + index_tics(lr_labels) + " rotate by 45 right\n";
            gp += "  set ytics " + index_tics(b_labels) + "\n";
            gp += "  set xlabel 'learning rate'\n  set ylabel 'batch size'\n  set tics scale 0\n  unset key\n";
            for (std::size_t p = 0; p < d.optimizers.size(); ++p)
            {
                gp += "  set title " + gp_string(d.optimizers[p]) + "\n";
                const std::string v = "'fig2_accuracy_heatmap.dat' index " + std::to_string(3 * p);
                const std::string x = "'fig2_accuracy_heatmap.dat' index " + std::to_string(3 * p + 1);
                const std::string o = "'fig2_accuracy_heatmap.dat' index " + std::to_string(3 * p + 2);
                std::string parts;
                auto add = [&parts](const std::string& part) {
                    parts += (parts.empty() ? "" : ", \\\n       ") + part;
                };
                if (has[p].values)
                {
                    add(v + " using 1:2:(0.5):(0.5):5 with boxxyerror fs solid 1.0 noborder fc palette");
                    add(v + " using 1:2:(sprintf('%.3g', $5)):8 with labels tc rgb variable font ',9'");
                }
                if (has[p].diverged)
                {
                    // In the corner of a cell that still shows a value; large and central where every seed blew up.
                    add(x + " using ($7 > 0.5 ? $1 : $1 + 0.32):($7 > 0.5 ? $2 : $2 + 0.27):($7 > 0.5 ? 2.5 : 1.1) with points pt 2 ps "
                            "variable lw 2 lc rgb '#d62728'");
                }
                if (has[p].stalled)
                {
                    add(o + " using ($1 - 0.32):($2 + 0.27) with points pt 6 ps 1.1 lw 2 lc rgb '#7f7f7f'");
                }
                gp += parts.empty() ? "  plot NaN\n" : "  plot " + parts + "\n";
            }
            gp += gnuplot_epilogue(true);
            return true;
        }

        /** @brief Figure 3. */
        inline bool figure_best_lr(const ResultSet& set, const FigureData& d, std::string& dat, std::string& gp,
                                   std::string& why)
        {
            std::vector<std::size_t> bss = set.meta.config.grid.batch_sizes;
            std::sort(bss.begin(), bss.end());
            dat = std::string("# Figure 3: best lr (by ") + metric_name(d.metric)
                + ", median over seeds) and largest stable lr against batch size\n"
                  "# three blocks per optimizer: best lr, largest stable lr, best lr at the edge of the rates tried\n"
                  "# columns (best, edge): batch_size best_lr best_value best_at_edge best_lr_lo best_lr_hi\n"
                  "# columns (stable): batch_size largest_stable_lr\n";
            double anchor_b = std::numeric_limits<double>::quiet_NaN();
            double anchor_lr = anchor_b;
            double lr_lo = std::numeric_limits<double>::infinity();
            double lr_hi = -lr_lo;
            struct Series
            {
                bool best = false;
                bool stable = false;
                bool edge = false;
            };
            std::vector<Series> has(d.optimizers.size());
            std::vector<LineFit> fits;
            bool any_edge = false;
            for (std::size_t p = 0; p < d.optimizers.size(); ++p)
            {
                std::string best;
                std::string stable;
                std::string edge;
                for (const auto& b : d.table)
                {
                    if (b.optimizer != d.optimizers[p])
                    {
                        continue;
                    }
                    if (std::isfinite(b.best_lr))
                    {
                        const std::string line = std::to_string(b.batch_size) + " " + format_double(b.best_lr) + " "
                                               + format_double(b.best_value) + " " + (b.best_at_edge ? "1" : "0") + " "
                                               + format_double(b.best_lr_lo) + " " + format_double(b.best_lr_hi) + "\n";
                        best += line;
                        edge += b.best_at_edge ? line : "";
                        if (std::isnan(anchor_b))
                        {
                            anchor_b = static_cast<double>(b.batch_size);
                            anchor_lr = b.best_lr;
                        }
                        lr_lo = std::min({lr_lo, b.best_lr, b.best_lr_lo});
                        lr_hi = std::max({lr_hi, b.best_lr, b.best_lr_hi});
                    }
                    if (std::isfinite(b.largest_stable_lr))
                    {
                        stable += std::to_string(b.batch_size) + " " + format_double(b.largest_stable_lr) + "\n";
                        lr_lo = std::min(lr_lo, b.largest_stable_lr);
                        lr_hi = std::max(lr_hi, b.largest_stable_lr);
                    }
                }
                has[p] = Series{!best.empty(), !stable.empty(), !edge.empty()};
                any_edge = any_edge || !edge.empty();
                fits.push_back(best_lr_scaling(d.table, d.optimizers[p], d.schedule));
                dat += (p ? "\n\n" : "") + std::string("# optimizer=") + d.optimizers[p] + " best_lr\n"
                     + (best.empty() ? detail::empty_block : best);
                dat += "\n\n# optimizer=" + d.optimizers[p] + " largest_stable_lr\n" + (stable.empty() ? detail::empty_block : stable);
                dat += "\n\n# optimizer=" + d.optimizers[p] + " best_lr_at_edge\n" + (edge.empty() ? detail::empty_block : edge);
            }
            if (std::isnan(anchor_b))
            {
                why = "no batch size has a best learning rate (every cell diverged?)";
                return false;
            }
            gp = gnuplot_prologue("fig3_best_lr", "Figure 3: best learning rate against batch size, log-log", 1000, 520);
            gp += "  set title " + gp_string("Best learning rate against batch size (" + std::string(metric_name(d.metric))
                                             + ", median over seeds" + schedule_suffix(d)
                                             + "; bars: rates tied with the best over seeds)")
                + "\n";
            gp += "  set logscale xy\n  set xlabel 'batch size'\n  set ylabel 'learning rate'\n  set grid\n";
            gp += "  set xtics " + value_tics(bss) + "\n";
            gp += "  set xrange [" + format_double(static_cast<double>(bss.front()) / 1.3) + ":"
                + format_double(static_cast<double>(bss.back()) * 1.3) + "]\n";
            gp += "  set yrange [" + format_double(lr_lo / 2.5) + ":" + format_double(lr_hi * 2.5) + "]\n";
            gp += "  set key outside right top\n";
            gp += "  b0 = " + format_double(anchor_b) + "; lr0 = " + format_double(anchor_lr) + "\n";
            gp += "  linear(x) = lr0 * x / b0\n  sqrtrule(x) = lr0 * sqrt(x / b0)\n";
            gp += "  plot linear(x) with lines dt 2 lw 1.5 lc rgb '#777777' title 'linear scaling (slope 1)', \\\n";
            gp += "       sqrtrule(x) with lines dt 3 lw 1.5 lc rgb '#aaaaaa' title 'square-root scaling (slope 1/2)'";
            for (std::size_t p = 0; p < d.optimizers.size(); ++p)
            {
                const std::string lt = std::to_string(p + 1);
                const std::string file = "'fig3_best_lr.dat' index ";
                if (has[p].best)
                {
                    const bool determined = fits[p].valid() && fits[p].points >= 3;
                    const std::string slope = determined
                        ? " (slope " + short_number(std::round(fits[p].slope * 100) / 100) + ")"
                        : " (slope not determined: " + std::to_string(fits[p].points) + " batch sizes)";
                    gp += ", \\\n       " + file + std::to_string(3 * p) + " using 1:2 with lines lw 2 lt " + lt
                        + " title " + gp_string(d.optimizers[p] + " best lr" + slope);
                    gp += ", \\\n       " + file + std::to_string(3 * p) + " using 1:2:5:6 with yerrorbars pt 7 lt " + lt
                        + " notitle";
                }
                if (has[p].edge)
                {
                    gp += ", \\\n       " + file + std::to_string(3 * p + 2)
                        + " using 1:2 with points pt 7 ps 1.6 lc rgb 'white' notitle";
                    gp += ", \\\n       " + file + std::to_string(3 * p + 2) + " using 1:2 with points pt 6 ps 1.6 lw 2 lt "
                        + lt + " notitle";
                }
                if (has[p].stable)
                {
                    gp += ", \\\n       " + file + std::to_string(3 * p + 1)
                        + " using 1:2 with linespoints dt 2 lw 1 pt 6 lt " + lt + " title "
                        + gp_string(d.optimizers[p] + " largest stable lr");
                }
            }
            if (any_edge)
            {
                gp += ", \\\n       NaN with points pt 6 ps 1.6 lw 2 lc rgb 'black' title "
                      "'hollow: best lr at the edge of the rates tried'";
            }
            gp += "\n" + gnuplot_epilogue();
            return true;
        }

        /** @brief Figure 4. */
        inline bool figure_steps(const ResultSet& set, const FigureData& d, std::string& dat, std::string& gp,
                                 std::string& why)
        {
            if (!set.meta.config.target.enabled())
            {
                why = "the sweep has no target";
                return false;
            }
            std::vector<std::size_t> bss = set.meta.config.grid.batch_sizes;
            std::sort(bss.begin(), bss.end());
            dat = "# Figure 4: steps to " + set.meta.config.target.str()
                + " against batch size (fastest lr per batch size, median over seeds)\n"
                  "# two blocks per optimizer: resolved points (in the fit), then points met at the first evaluation\n"
                  "# columns: batch_size steps_to_target examples_to_target epochs_to_target lr steps_lo steps_hi\n"
                  "# (steps_hi is the plot's top when a seed never reached the target)\n";
            struct Series
            {
                bool resolved = false;
                bool limited = false;
            };
            std::vector<Series> has(d.optimizers.size());
            const std::vector<FitSummary> all_fits = summarize_fits(d.summaries, d.table, d.metric);
            std::vector<FitSummary> fits;
            double s_lo = std::numeric_limits<double>::infinity();
            double s_hi = -s_lo;
            for (const auto& b : d.table)
            {
                if (std::isfinite(b.steps_to_target))
                {
                    s_lo = std::min({s_lo, b.steps_to_target, b.steps_to_target_lo});
                    s_hi = std::max({s_hi, b.steps_to_target, std::isfinite(b.steps_to_target_hi) ? b.steps_to_target_hi : 0.0});
                }
            }
            for (std::size_t p = 0; p < d.optimizers.size(); ++p)
            {
                std::string resolved;
                std::string limited;
                for (const auto& b : d.table)
                {
                    if (b.optimizer == d.optimizers[p] && std::isfinite(b.steps_to_target))
                    {
                        const double top = std::isfinite(b.steps_to_target_hi) ? b.steps_to_target_hi : s_hi * 2;
                        (b.target_resolution_limited ? limited : resolved)
                            += std::to_string(b.batch_size) + " " + format_double(b.steps_to_target) + " "
                             + format_double(b.examples_to_target) + " " + format_double(b.epochs_to_target) + " "
                             + format_double(b.lr_to_target) + " " + format_double(b.steps_to_target_lo) + " "
                             + format_double(top) + "\n";
                    }
                }
                has[p] = Series{!resolved.empty(), !limited.empty()};
                FitSummary f;
                for (const auto& candidate : all_fits)
                {
                    f = candidate.optimizer == d.optimizers[p] ? candidate : f;
                }
                fits.push_back(f);
                dat += (p ? "\n\n" : "") + std::string("# optimizer=") + d.optimizers[p] + " resolved\n"
                     + (resolved.empty() ? detail::empty_block : resolved);
                dat += "\n\n# optimizer=" + d.optimizers[p] + " first_evaluation\n" + (limited.empty() ? detail::empty_block : limited);
            }
            if (!(s_lo <= s_hi))
            {
                why = "no batch size reached the target " + set.meta.config.target.str();
                return false;
            }
            gp = gnuplot_prologue("fig4_steps_to_target", "Figure 4: steps to target against batch size, log-log", 1100, 520);
            gp += "  set title " + gp_string("Steps to " + set.meta.config.target.str()
                                             + " against batch size (fastest lr per batch size" + schedule_suffix(d)
                                             + "; bars: fewest to most steps over seeds)")
                + "\n";
            gp += "  set logscale xy\n  set xlabel 'batch size'\n  set ylabel 'steps to target'\n  set grid\n";
            gp += "  set xtics " + value_tics(bss) + "\n";
            gp += "  set xrange [" + format_double(static_cast<double>(bss.front()) / 1.3) + ":"
                + format_double(static_cast<double>(bss.back()) * 1.3) + "]\n";
            gp += "  set yrange [" + format_double(s_lo / 2) + ":" + format_double(s_hi * 2) + "]\n";
            gp += "  set bars 0.5\n";
            gp += "  set key outside right top\n  set samples 200\n";
            std::string plots;
            bool any_limited = false;
            auto interval = [](double lo, double hi) {
                return std::isfinite(lo) && std::isfinite(hi)
                    ? " [" + short_number(std::round(lo * 10) / 10) + ", " + short_number(std::round(hi * 10) / 10) + "]"
                    : std::string();
            };
            for (std::size_t p = 0; p < d.optimizers.size(); ++p)
            {
                const std::string lt = std::to_string(p + 1);
                const std::string file = "'fig4_steps_to_target.dat' index ";
                const StepsFit& sf = fits[p].steps;
                if (has[p].resolved)
                {
                    const std::string title = sf.valid() ? d.optimizers[p]
                                                         : d.optimizers[p] + " (fit not determined: "
                                                               + std::to_string(sf.points) + " resolved batch sizes)";
                    plots += std::string(plots.empty() ? "" : ", \\\n       ") + file + std::to_string(2 * p)
                           + " using 1:2:6:7 with yerrorbars pt 7 ps 1.2 lt " + lt + " title " + gp_string(title);
                }
                if (has[p].limited)
                {
                    any_limited = true;
                    plots += std::string(plots.empty() ? "" : ", \\\n       ") + file + std::to_string(2 * p + 1)
                           + " using 1:2 with points pt 6 ps 1.4 lw 2 lt " + lt + " notitle";
                }
                if (sf.valid())
                {
                    const std::string f = "s" + std::to_string(p);
                    gp += "  " + f + "(x) = " + format_double(sf.s_min) + " * (1 + " + format_double(sf.b_noise) + " / x)\n";
                    plots += ", \\\n       " + f + "(x) with lines lw 2 lt " + lt + " title "
                           + gp_string(d.optimizers[p] + " fit: S_min = " + short_number(std::round(sf.s_min))
                                       + interval(fits[p].s_min_lo, fits[p].s_min_hi) + ", B_noise = "
                                       + short_number(std::round(sf.b_noise * 10) / 10)
                                       + interval(fits[p].b_noise_lo, fits[p].b_noise_hi));
                }
            }
            if (any_limited)
            {
                plots += ", \\\n       NaN with points pt 6 ps 1.4 lw 2 lc rgb 'black' title "
                         "'hollow: met at the first evaluation (not resolved, left out of the fit)'";
            }
            gp += "  plot " + plots + "\n" + gnuplot_epilogue();
            return true;
        }
    }

    namespace detail
    {
        /**
         * @brief The report's paragraph when the images are not (all) drawn: where the data and
         *        scripts are, then @p why_not_drawn and the command that draws them; the skipped
         *        figures below, one a line.
         */
        inline std::string figures_message(const FigureReport& report, const std::string& why_not_drawn)
        {
            std::string msg = report.scripts.empty()
                                ? std::string("figures: nothing to draw")
                                : "figures: data and gnuplot scripts written to '" + report.dir.string() + "'" + why_not_drawn
                                      + "then run: cd " + shell_quote(report.dir.string())
                                      + " && for f in *.gp; do gnuplot \"$f\"; done";
            for (const auto& s : report.skipped)
            {
                msg += "\nfigures: skipped " + s;
            }
            return msg;
        }
    }

    inline FigureReport write_figures(const ResultSet& set, const FigureOptions& options)
    {
        namespace fs = std::filesystem;
        detail::require(!options.dir.empty(), "xtrain::write_figures", "options.dir", "empty",
                        "must name the output folder when figures are drawn from a ResultSet");
        FigureReport report;
        report.dir = options.dir;
        fs::create_directories(options.dir);
        const detail::FigureData d = detail::figure_data(set, options);

        auto emit = [&](const std::string& name, bool ok, const std::string& dat, const std::string& gp,
                        const std::string& why) {
            if (!ok)
            {
                report.skipped.push_back(name + ": " + why);
                return;
            }
            add_figure(report, name, dat, gp);
        };
        {
            std::string dat, gp, why;
            const bool ok = detail::figure_loss(set, d, options, dat, gp, why);
            emit("fig1_loss_vs_epoch", ok, dat, gp, why);
        }
        {
            std::string dat, gp, why;
            const bool ok = detail::figure_heatmap(set, d, dat, gp, why);
            emit("fig2_accuracy_heatmap", ok, dat, gp, why);
        }
        {
            std::string dat, gp, why;
            const bool ok = detail::figure_best_lr(set, d, dat, gp, why);
            emit("fig3_best_lr", ok, dat, gp, why);
        }
        {
            std::string dat, gp, why;
            const bool ok = detail::figure_steps(set, d, dat, gp, why);
            emit("fig4_steps_to_target", ok, dat, gp, why);
        }

        report.message = detail::figures_message(report, "; to draw them, ");
        return report;
    }

    inline FigureReport write_figures(const std::filesystem::path& results, const FigureOptions& options)
    {
        FigureOptions o = options;
        if (o.dir.empty())
        {
            o.dir = results / "figures";
        }
        return write_figures(load_results(results), o);
    }
}

#endif
