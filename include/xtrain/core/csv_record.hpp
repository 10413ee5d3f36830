/**
 * @file csv_record.hpp
 * @brief A record's CSV columns and fields from its `visit` member, which lists its fields once.
 *
 * A record type (StepRecord, EvalRecord, EvalRow) has a static `visit(record, f)` that calls
 * `f(name, member)` for every field in column order. csv_names() and csv_fields() turn it into a
 * header and a row, so a column is added to every file that holds the record by adding one line
 * to visit(). Numbers are written as every xtrain file writes them: integers in decimal, doubles
 * in the shortest text that reads back to exactly the same value (`std::to_chars`, locale-free;
 * "nan", "inf", "-inf"), so a CSV of a run is as exact as its checkpoint.
 * @code
 * os << "variant,seed," << xtrain::csv_names<xtrain::EvalRow>() << '\n';
 * for (const xtrain::EvalRow& row : rows)
 *     os << name << ',' << seed << ',' << xtrain::csv_fields(row) << '\n';
 * @endcode
 */
#ifndef XTRAIN_CORE_CSV_RECORD_HPP
#define XTRAIN_CORE_CSV_RECORD_HPP

#include <sstream>
#include <string>
#include <type_traits>

#include "xtrain/core/error.hpp"

namespace xtrain
{
    /** @brief "a,b,c": the names Record::visit lists, joined by commas (no line break). */
    template <class Record>
    std::string csv_names()
    {
        std::string out;
        Record r{};
        Record::visit(r, [&out](const char* name, const auto&) {
            out += out.empty() ? "" : ",";
            out += name;
        });
        return out;
    }

    /**
     * @brief The fields of @p r as Record::visit lists them, joined by commas (no line break):
     *        integers in decimal, doubles in their shortest exact text ("nan" when not measured).
     */
    template <class Record>
    std::string csv_fields(const Record& r)
    {
        std::ostringstream os;
        bool first = true;
        Record::visit(r, [&](const char*, const auto& v) {
            static_assert(std::is_arithmetic_v<std::decay_t<decltype(v)>>,
                          "xtrain::csv_fields: a field Record::visit lists is not a number");
            if (!first)
            {
                os << ',';
            }
            first = false;
            detail::put_value(os, v);
        });
        return os.str();
    }
}

#endif
