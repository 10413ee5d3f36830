// Tests of include/xtrain/core/csv_record.hpp: a record's CSV columns and fields from its visit().
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "xtrain/core/csv_record.hpp"

namespace
{
    struct Point
    {
        std::uint64_t step = 0;
        double loss = 0.0;
        double lr = 0.0;

        template <class Record, class F>
        static void visit(Record& r, F&& f)
        {
            f("step", r.step);
            f("loss", r.loss);
            f("lr", r.lr);
        }
    };
}

TEST_CASE("csv_names lists the names visit() hands out, in its order", "[core][csv_record]")
{
    CHECK(xtrain::csv_names<Point>() == "step,loss,lr");
}

TEST_CASE("csv_fields writes doubles in their shortest exact text, as runs.csv does", "[core][csv_record]")
{
    Point p;
    p.step = 18446744073709551615ULL;  // the largest uint64 survives (no detour through double)
    p.loss = 0.1 + 0.2;                // 0.30000000000000004: %.6g would write 0.3, which reads back differently
    p.lr = std::numeric_limits<double>::quiet_NaN();
    const std::string text = xtrain::csv_fields(p);
    CHECK(text == "18446744073709551615,0.30000000000000004,nan");
    p.loss = 0.1;
    p.lr = -std::numeric_limits<double>::infinity();
    CHECK(xtrain::csv_fields(p) == "18446744073709551615,0.1,-inf");
    // Round trip: the text of the loss reads back to the same double.
    p.loss = 1.0 / 3.0;
    const std::string third = xtrain::csv_fields(p);
    const std::string loss_text = third.substr(third.find(',') + 1, third.rfind(',') - third.find(',') - 1);
    CHECK(std::stod(loss_text) == p.loss);
}
