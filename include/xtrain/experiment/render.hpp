/**
 * @file render.hpp
 * @brief Runs gnuplot on the scripts write_figures() or add_figure() wrote: the one place xtrain starts a process.
 *
 * Opt-in: neither xtrain.hpp nor experiment.hpp includes this header, so a program that links
 * xtrain never searches the PATH or calls std::system unless it includes it. The examples do:
 * @code
 * #include <xtrain/xtrain.hpp>
 * #include <xtrain/experiment/render.hpp>
 * xtrain::FigureReport figures = xtrain::write_figures(folder);
 * xtrain::render_figures(figures);  // PNG and SVG beside the scripts, when gnuplot is installed
 * std::cout << figures.message << '\n';
 * @endcode
 */
#ifndef XTRAIN_EXPERIMENT_RENDER_HPP
#define XTRAIN_EXPERIMENT_RENDER_HPP

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

#include "xtrain/experiment/figures.hpp"

namespace xtrain
{
    /** @brief The full path of @p program if it is an executable file or found on the PATH, else empty. */
    inline std::filesystem::path find_program(const std::string& program);

    /**
     * @brief Runs @p gnuplot (a path) on @p script inside @p dir, its output to @p log (a file name
     *        in @p dir) or, when @p log is empty, to this program's terminal; returns the exit status.
     */
    inline int run_gnuplot(const std::filesystem::path& gnuplot, const std::filesystem::path& dir, const std::string& script,
                           const std::string& log = {});

    /**
     * @brief Draws the PNG and SVG of every script in @p report with @p gnuplot (a name looked up
     *        on the PATH, or a path), filling report.images and report.rendered, and rewrites
     *        report.message: where the images are, or what failed, or how to install gnuplot.
     */
    inline void render_figures(FigureReport& report, const std::string& gnuplot = "gnuplot");

    // ---------------------------------------------------------------------------------------------
    // Implementation
    // ---------------------------------------------------------------------------------------------

    inline std::filesystem::path find_program(const std::string& program)
    {
        namespace fs = std::filesystem;
        auto runnable = [](const fs::path& p) {
            std::error_code ec;
            const auto st = fs::status(p, ec);
            return !ec && fs::is_regular_file(st)
                && (st.permissions() & (fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec))
                       != fs::perms::none;
        };
        if (program.empty())
        {
            return {};
        }
        if (program.find('/') != std::string::npos)
        {
            return runnable(program) ? fs::path(program) : fs::path();
        }
        const char* path = std::getenv("PATH");
        if (path == nullptr)
        {
            return {};
        }
        std::string p(path);
        std::size_t start = 0;
        while (start <= p.size())
        {
            const std::size_t end = std::min(p.find(':', start), p.size());
            const fs::path candidate = fs::path(end == start ? "." : p.substr(start, end - start)) / program;
            if (runnable(candidate))
            {
                return candidate;
            }
            start = end + 1;
        }
        return {};
    }

    inline int run_gnuplot(const std::filesystem::path& gnuplot, const std::filesystem::path& dir, const std::string& script,
                           const std::string& log)
    {
        std::string cmd = "cd " + detail::shell_quote(dir.string()) + " && " + detail::shell_quote(gnuplot.string()) + " "
                        + detail::shell_quote(script);
        if (!log.empty())
        {
            cmd += " > " + detail::shell_quote(log) + " 2>&1";
        }
        return std::system(cmd.c_str());
    }

    inline void render_figures(FigureReport& report, const std::string& gnuplot_program)
    {
        namespace fs = std::filesystem;
        report.images.clear();
        report.rendered = false;
        if (report.scripts.empty())
        {
            return;
        }
        const fs::path gnuplot = find_program(gnuplot_program);
        if (gnuplot.empty())
        {
            report.message = detail::figures_message(report, "; gnuplot was not found: install it (apt-get install gnuplot-nox), ");
            return;
        }
        report.rendered = true;
        std::string problems;
        for (const fs::path& script : report.scripts)
        {
            const std::string name = script.stem().string();
            bool ok = run_gnuplot(gnuplot, report.dir, name + ".gp", name + ".log") == 0;
            for (const char* ext : {".png", ".svg"})
            {
                const fs::path img = report.dir / (name + ext);
                std::error_code ec;
                if (fs::exists(img, ec) && fs::file_size(img, ec) > 0 && !ec)
                {
                    report.images.push_back(img);
                }
                else
                {
                    ok = false;
                }
            }
            if (ok)
            {
                std::error_code ec;
                fs::remove(report.dir / (name + ".log"), ec);  // warnings only; keep it when drawing failed
            }
            else
            {
                report.rendered = false;
                problems += " " + name + ".gp failed (see " + name + ".log);";
            }
        }
        report.message = report.rendered
                             ? "figures: " + std::to_string(report.images.size()) + " images (PNG and SVG) in '"
                                   + report.dir.string() + "'"
                             : "figures: gnuplot could not draw everything:" + problems + " the data and scripts are in '"
                                   + report.dir.string() + "'";
        for (const auto& s : report.skipped)
        {
            report.message += "\nfigures: skipped " + s;
        }
    }
}

#endif
