// Tests of the pieces a program uses to write curves and figures of its own, as the scenario
// examples do: eval_row (eval_sink.hpp), gnuplot_prologue / gnuplot_epilogue / add_figure
// (figures.hpp) and render_figures (render.hpp) on such a figure.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <string>

#include "xtrain/experiment/eval_sink.hpp"
#include "xtrain/experiment/figures.hpp"
#include "xtrain/experiment/render.hpp"
#include "support/skip.hpp"

using namespace xtrain;
namespace fs = std::filesystem;

TEST_CASE("eval_row puts an evaluation point on the fractional-epoch axis and copies the rest", "[experiment][eval_row]")
{
    EvalRecord e;
    e.epoch = 1;  // epochs completed: not what the row's epoch is
    e.step = 40;
    e.examples_seen = 3750;
    e.train_loss = 0.5;
    e.val_loss = 0.25;
    e.val_accuracy = 0.875;
    e.lr = 0.03;
    e.wall_seconds = 1.5;
    const EvalRow r = eval_row(e, 2500);
    CHECK(r.epoch == 1.5);
    CHECK(r.step == 40);
    CHECK(r.examples_seen == 3750);
    CHECK(r.train_loss == 0.5);
    CHECK(r.val_loss == 0.25);
    CHECK(r.val_accuracy == 0.875);
    CHECK(r.lr_in_effect == 0.03);
    CHECK(r.wall_seconds == 1.5);
    e.val_loss = std::nan("");
    CHECK(std::isnan(eval_row(e, 2500).val_loss));  // not measured stays not measured
}

TEST_CASE("A figure of a program's own is written by add_figure and drawn like the sweep's", "[experiment][figures]")
{
    const fs::path dir = fs::path(XTRAIN_TEST_TMP_DIR) / "experiment_own_figure";
    fs::remove_all(dir);
    const std::string gp = gnuplot_prologue("own", "a straight line", 400, 300)
                         + "  set multiplot layout 1,1\n  plot 'own.dat' using 1:2 with lines notitle\n"
                         + gnuplot_epilogue(true);
    CHECK_THAT(gp, Catch::Contains("set output 'own.png'") && Catch::Contains("set output 'own.svg'")
                       && Catch::Contains("# a straight line") && Catch::Contains("size 400,300"));
    CHECK_THAT(gp, Catch::EndsWith("  unset multiplot\n  set output\n}\n"));
    CHECK(gnuplot_epilogue() == "  set output\n}\n");

    FigureReport report;
    report.dir = dir;  // created by add_figure
    add_figure(report, "own", "0 0\n1 1\n", gp);
    REQUIRE(report.scripts.size() == 1);
    REQUIRE(report.data_files.size() == 1);
    CHECK(report.scripts[0] == dir / "own.gp");
    CHECK(detail::read_file_text(dir / "own.gp") == gp);
    CHECK(detail::read_file_text(dir / "own.dat") == "0 0\n1 1\n");

    if (find_program("gnuplot").empty())
    {
        XTRAIN_SKIP_TEST("gnuplot is not installed");
    }
    render_figures(report);
    INFO(report.message);
    CHECK(report.rendered);
    CHECK(report.images.size() == 2);
    CHECK(detail::read_file_text(dir / "own.png").substr(1, 3) == "PNG");
}
