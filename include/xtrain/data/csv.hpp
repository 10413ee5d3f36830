/**
 * @file csv.hpp
 * @brief Reading a user's own table from a CSV file into a Dataset.
 *
 * The file has a header row naming the columns, then one sample per row. One column is the label
 * (chosen by name or index): a class index for classification, or a number for regression. All
 * other columns, except those listed to be ignored, are numeric features. Fields may be quoted
 * ("a, b" with "" for a quote, as RFC 4180); blank lines are skipped; numbers are parsed without
 * the locale (a '.' decimal point always). Every bad cell is reported with its data row, line and
 * column.
 */
#ifndef XTRAIN_DATA_CSV_HPP
#define XTRAIN_DATA_CSV_HPP

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "xtrain/core/error.hpp"
#include "xtrain/data/dataset.hpp"

namespace xtrain
{
    /** @brief A column of a table, named by its header or by its 0-based index. */
    class ColumnRef
    {
    public:
        /** @brief The last column (the default place for a label). */
        ColumnRef() = default;
        /** @brief The column whose header is @p name. */
        ColumnRef(std::string name) : m_name(std::move(name)), m_by_name(true) {}  // NOLINT: implicit on purpose
        /** @brief The column whose header is @p name. */
        ColumnRef(const char* name) : m_name(name), m_by_name(true) {}  // NOLINT: implicit on purpose
        /** @brief The column at 0-based @p index (any integer type; a negative one is an error when resolved). */
        template <class I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>, int> = 0>
        ColumnRef(I index)  // NOLINT: implicit on purpose
            : m_by_index(true)
        {
            if constexpr (std::is_signed_v<I>)
            {
                m_negative = index < 0 ? static_cast<long long>(index) : 0;
            }
            m_index = m_negative < 0 ? 0 : static_cast<std::size_t>(index);
        }

        /** @brief The last column. */
        static ColumnRef last() { return ColumnRef(); }

        /**
         * @brief The index of this column among @p header.
         * @throws std::invalid_argument naming @p what and @p source if there is no such column.
         */
        std::size_t resolve(const std::vector<std::string>& header, const char* what, const std::string& source) const
        {
            if (m_by_name)
            {
                const auto it = std::find(header.begin(), header.end(), m_name);
                if (it == header.end())
                {
                    std::string names;
                    for (std::size_t i = 0; i < header.size() && i < 20; ++i)
                    {
                        names += (i ? ", '" : "'") + header[i] + "'";
                    }
                    throw std::invalid_argument(detail::concat("xtrain::read_csv: ", what, " column '", m_name,
                                                               "' is not in the header of ", source, " (columns: ",
                                                               names, header.size() > 20 ? ", ..." : "", ")"));
                }
                return static_cast<std::size_t>(it - header.begin());
            }
            if (m_by_index)
            {
                if (m_negative < 0 || m_index >= header.size())
                {
                    throw std::invalid_argument(detail::concat(
                        "xtrain::read_csv: ", what, " column index ", m_negative < 0 ? std::to_string(m_negative) : std::to_string(m_index),
                        " is out of range for ", source, ", whose header has ", header.size(), " columns"));
                }
                return m_index;
            }
            return header.size() - 1;
        }

    private:
        std::string m_name;
        std::size_t m_index = 0;
        bool m_by_name = false;
        bool m_by_index = false;
        long long m_negative = 0;  // a negative index as given, kept for the message
    };

    /** @brief What the label column holds. */
    enum class CsvTask
    {
        classification,  ///< class indices 0, 1, ... (or class names with CsvOptions::label_names)
        regression       ///< a real-valued target (K = 1)
    };

    /** @brief How read_csv reads a table. */
    struct CsvOptions
    {
        ColumnRef label = ColumnRef::last();    ///< the label column, by name or 0-based index (default: the last)
        CsvTask task = CsvTask::classification; ///< class indices or a regression target
        bool label_names = false;               ///< classification: labels are names, mapped to classes in sorted order
        std::vector<ColumnRef> ignore;          ///< columns that are neither label nor feature (e.g. an id)
        char delimiter = ',';                   ///< field separator (e.g. ';', or a tab)
        /// classification with indices: 0 = largest label + 1, as long as that is plausible (see
        /// csv_max_inferred_classes); set it to accept labels the file does not all use
        std::size_t num_classes = 0;
        std::string name;                       ///< the dataset's name; default: the file name
    };

    /**
     * @brief The largest class count read_csv infers (CsvOptions::num_classes = 0) from @p distinct
     * distinct labels: max(256, 4 x distinct).
     *
     * A label far beyond the labels a file uses (1000000 among 0 ... 9) is almost always a data
     * error, and inferring the classes from it would build an output layer of a million units.
     * Files whose labels leave most classes unused set CsvOptions::num_classes.
     */
    constexpr std::size_t csv_max_inferred_classes(std::size_t distinct) noexcept
    {
        return distinct > 64 ? 4 * distinct : 256;
    }

    namespace detail
    {
        /** @brief Splits CSV text into rows of fields; tracks the line each row starts on. */
        class CsvScanner
        {
        public:
            CsvScanner(std::string_view text, char delimiter, const std::string& source)
                : m_text(text)
                , m_delim(delimiter)
                , m_source(source)
            {
                // A UTF-8 byte-order mark, as some spreadsheet programs write, is not part of the first name.
                if (m_text.size() >= 3 && m_text.compare(0, 3, "\xEF\xBB\xBF") == 0)
                {
                    m_pos = 3;
                }
            }

            /** @brief Reads the next non-blank row into @p fields; false at the end of the text. */
            bool next_row(std::vector<std::string>& fields)
            {
                fields.clear();
                // Skip blank lines (only whitespace).
                for (;;)
                {
                    if (m_pos >= m_text.size())
                    {
                        return false;
                    }
                    std::size_t p = m_pos;
                    while (p < m_text.size() && (m_text[p] == ' ' || m_text[p] == '\t' || m_text[p] == '\r')
                           && m_text[p] != m_delim)
                    {
                        ++p;
                    }
                    if (p < m_text.size() && m_text[p] == '\n')
                    {
                        m_pos = p + 1;
                        ++m_line;
                        continue;
                    }
                    if (p >= m_text.size())
                    {
                        m_pos = p;
                        return false;
                    }
                    break;
                }
                m_row_line = m_line;
                std::string field;
                for (;;)
                {
                    field.clear();
                    // Leading spaces before a quote are allowed.
                    std::size_t p = m_pos;
                    while (p < m_text.size() && m_text[p] == ' ' && m_delim != ' ')
                    {
                        ++p;
                    }
                    if (p < m_text.size() && m_text[p] == '"')
                    {
                        m_pos = p + 1;
                        for (;;)
                        {
                            if (m_pos >= m_text.size())
                            {
                                throw data_error(concat(m_source, ": line ", m_row_line,
                                                        ": a quoted field is not closed before the end of the file"));
                            }
                            const char c = m_text[m_pos++];
                            if (c == '"')
                            {
                                if (m_pos < m_text.size() && m_text[m_pos] == '"')
                                {
                                    field += '"';
                                    ++m_pos;
                                }
                                else
                                {
                                    break;
                                }
                            }
                            else
                            {
                                if (c == '\n')
                                {
                                    ++m_line;
                                }
                                field += c;
                            }
                        }
                        // Only spaces may follow the closing quote.
                        while (m_pos < m_text.size() && (m_text[m_pos] == ' ' || m_text[m_pos] == '\r')
                               && m_text[m_pos] != m_delim)
                        {
                            ++m_pos;
                        }
                        if (m_pos < m_text.size() && m_text[m_pos] != m_delim && m_text[m_pos] != '\n')
                        {
                            throw data_error(concat(m_source, ": line ", m_line, ": unexpected character '",
                                                    m_text[m_pos], "' after a closing quote in field ",
                                                    fields.size() + 1));
                        }
                    }
                    else
                    {
                        while (m_pos < m_text.size() && m_text[m_pos] != m_delim && m_text[m_pos] != '\n')
                        {
                            field += m_text[m_pos++];
                        }
                        if (!field.empty() && field.back() == '\r')
                        {
                            field.pop_back();
                        }
                    }
                    fields.push_back(field);
                    if (m_pos >= m_text.size())
                    {
                        return true;
                    }
                    const char sep = m_text[m_pos++];
                    if (sep == '\n')
                    {
                        ++m_line;
                        return true;
                    }
                }
            }

            /** @brief 1-based line on which the last row returned starts. */
            std::size_t row_line() const noexcept { return m_row_line; }

        private:
            std::string_view m_text;
            char m_delim;
            const std::string& m_source;
            std::size_t m_pos = 0;
            std::size_t m_line = 1;
            std::size_t m_row_line = 1;
        };

        /** @brief The field without surrounding spaces and tabs. */
        inline std::string_view trim(std::string_view s) noexcept
        {
            while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
            {
                s.remove_prefix(1);
            }
            while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
            {
                s.remove_suffix(1);
            }
            return s;
        }

        /** @brief Parses a whole field as a finite double (locale-independent); false if it is not one. */
        /**
         * @brief The decimal exponent of a well-formed number's leading significant digit (2 for
         * "123.4", -3 for "0.00123", -400 for "1e-400"; a number with no non-zero digit counts as -1).
         */
        inline long decimal_exponent(std::string_view s) noexcept
        {
            std::size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
            long lead = 0;      // exponent of the first non-zero digit, before the e part
            bool found = false;
            long int_digits = 0;
            for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i)
            {
                if (!found && s[i] != '0')
                {
                    found = true;
                    int_digits = 0;
                }
                if (found)
                {
                    ++int_digits;
                }
            }
            if (found)
            {
                lead = int_digits - 1;
            }
            if (i < s.size() && s[i] == '.')
            {
                long k = 0;
                for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i)
                {
                    ++k;
                    if (!found && s[i] != '0')
                    {
                        found = true;
                        lead = -k;
                    }
                }
            }
            if (!found)
            {
                return -1;
            }
            long e = 0;
            if (i < s.size() && (s[i] == 'e' || s[i] == 'E'))
            {
                ++i;
                const bool negative = i < s.size() && s[i] == '-';
                i += (i < s.size() && (s[i] == '-' || s[i] == '+')) ? 1 : 0;
                for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i)
                {
                    e = e < 100000000L ? 10 * e + (s[i] - '0') : e;  // saturates far beyond any double
                }
                e = negative ? -e : e;
            }
            return lead + e;
        }

        inline bool parse_number(std::string_view s, double& out) noexcept
        {
            if (!s.empty() && s.front() == '+')
            {
                s.remove_prefix(1);
                if (!s.empty() && (s.front() == '-' || s.front() == '+'))
                {
                    return false;
                }
            }
            if (s.empty())
            {
                return false;
            }
            const char* first = s.data();
            const char* last = s.data() + s.size();
            const auto res = std::from_chars(first, last, out, std::chars_format::general);
            if (res.ec == std::errc::result_out_of_range && res.ptr == last)
            {
                // A valid number too small for a double reads as 0 (as strtod reads it); one too
                // large is not a finite number.
                if (decimal_exponent(std::string_view(first, static_cast<std::size_t>(last - first))) < 0)
                {
                    out = *first == '-' ? -0.0 : 0.0;
                    return true;
                }
                return false;
            }
            return res.ec == std::errc() && res.ptr == last && std::isfinite(out);
        }

        /** @brief "float" or "double", for messages. */
        template <class T>
        constexpr const char* float_type_name() noexcept
        {
            return std::is_same<T, float>::value ? "float" : std::is_same<T, double>::value ? "double" : "this value type";
        }

        /** @brief "data row 3 (line 4), column 2 'width'" for messages. */
        inline std::string cell_text(std::size_t row, std::size_t line, std::size_t col, const std::string& name)
        {
            return concat("data row ", row, " (line ", line, "), column ", col + 1, " '", name, "'");
        }
    }

    /**
     * @brief Parses CSV @p text (header row, then samples) into a Dataset; @p source names it in messages.
     *
     * @throws data_error naming the source, and for a bad cell its data row (1-based, after the
     * header), line and column: no header, no data rows, a row with another number of fields
     * than the header, a missing (empty) or non-numeric feature, a label that is not a
     * non-negative integer (classification without label_names) or not a number (regression).
     * @throws std::invalid_argument for options that do not fit the header (an unknown column,
     * the label column ignored, no feature column left).
     */
    template <class T>
    Dataset<T> parse_csv(std::string_view text, const CsvOptions& options, const std::string& source)
    {
        detail::CsvScanner scan(text, options.delimiter, source);
        std::vector<std::string> header;
        if (!scan.next_row(header))
        {
            throw data_error(source + ": the file is empty (expected a header row naming the columns)");
        }
        for (auto& h : header)
        {
            h = std::string(detail::trim(h));
        }
        const std::size_t ncols = header.size();
        const std::size_t label_col = options.label.resolve(header, "label", source);
        std::vector<bool> is_feature(ncols, true);
        is_feature[label_col] = false;
        for (const ColumnRef& c : options.ignore)
        {
            const std::size_t i = c.resolve(header, "ignored", source);
            if (i == label_col)
            {
                throw std::invalid_argument(detail::concat("xtrain::read_csv: the label column '", header[i],
                                                           "' of ", source, " is also in CsvOptions::ignore"));
            }
            is_feature[i] = false;
        }
        std::vector<std::size_t> feature_cols;
        for (std::size_t i = 0; i < ncols; ++i)
        {
            if (is_feature[i])
            {
                feature_cols.push_back(i);
            }
        }
        if (feature_cols.empty())
        {
            throw std::invalid_argument(detail::concat("xtrain::read_csv: ", source,
                                                       " has no feature column besides the label and ignored ones"));
        }
        const std::size_t dim = feature_cols.size();
        const bool classification = options.task == CsvTask::classification;

        std::vector<T> values;
        std::vector<double> numeric_labels;
        std::vector<std::string> text_labels;
        std::vector<std::string> fields;
        std::size_t row = 0;
        while (scan.next_row(fields))
        {
            ++row;
            const std::size_t line = scan.row_line();
            if (fields.size() != ncols)
            {
                throw data_error(detail::concat(source, ": data row ", row, " (line ", line, ") has ", fields.size(),
                                                " fields but the header has ", ncols));
            }
            for (std::size_t c : feature_cols)
            {
                const std::string_view cell = detail::trim(fields[c]);
                double v = 0.0;
                if (cell.empty())
                {
                    throw data_error(detail::concat(source, ": ", detail::cell_text(row, line, c, header[c]),
                                                    ": missing value"));
                }
                if (!detail::parse_number(cell, v))
                {
                    throw data_error(detail::concat(source, ": ", detail::cell_text(row, line, c, header[c]), ": '",
                                                    cell, "' is not a finite number"));
                }
                if (!std::isfinite(static_cast<T>(v)))
                {
                    throw data_error(detail::concat(source, ": ", detail::cell_text(row, line, c, header[c]), ": '",
                                                    cell, "' is too large for ", detail::float_type_name<T>(),
                                                    " (largest ", std::numeric_limits<T>::max(), ")"));
                }
                values.push_back(static_cast<T>(v));
            }
            const std::string_view cell = detail::trim(fields[label_col]);
            if (cell.empty())
            {
                throw data_error(detail::concat(source, ": ", detail::cell_text(row, line, label_col, header[label_col]),
                                                ": missing label"));
            }
            if (classification && options.label_names)
            {
                text_labels.emplace_back(cell);
                continue;
            }
            double v = 0.0;
            const bool ok = detail::parse_number(cell, v);
            if (classification)
            {
                if (!ok || v < 0 || v != std::floor(v) || v > static_cast<double>(std::numeric_limits<label_type>::max() - 1))
                {
                    throw data_error(detail::concat(
                        source, ": ", detail::cell_text(row, line, label_col, header[label_col]), ": label '", cell,
                        "' is not a class index (a non-negative integer); set CsvOptions::label_names to map class "
                        "names to indices, or CsvOptions::task to CsvTask::regression"));
                }
            }
            else if (!ok)
            {
                throw data_error(detail::concat(source, ": ", detail::cell_text(row, line, label_col, header[label_col]),
                                                ": target '", cell, "' is not a finite number"));
            }
            else if (!std::isfinite(static_cast<T>(v)))
            {
                throw data_error(detail::concat(source, ": ", detail::cell_text(row, line, label_col, header[label_col]),
                                                ": target '", cell, "' is too large for ", detail::float_type_name<T>(),
                                                " (largest ", std::numeric_limits<T>::max(), ")"));
            }
            numeric_labels.push_back(v);
        }
        if (row == 0)
        {
            throw data_error(source + ": the dataset is empty (a header row but no data rows)");
        }

        Dataset<T> d;
        d.name = options.name.empty() ? source : options.name;
        d.features = xt::xtensor<T, 2>::from_shape({row, dim});
        std::copy(values.begin(), values.end(), d.features.begin());
        d.sample_shape = {dim};
        if (!classification)
        {
            d.targets = xt::xtensor<T, 2>::from_shape({row, 1});
            for (std::size_t i = 0; i < row; ++i)
            {
                d.targets(i, 0) = static_cast<T>(numeric_labels[i]);
            }
            return d;
        }
        d.labels = xt::xtensor<label_type, 1>::from_shape({row});
        if (options.label_names)
        {
            std::vector<std::string> names = text_labels;
            std::sort(names.begin(), names.end());
            names.erase(std::unique(names.begin(), names.end()), names.end());
            for (std::size_t i = 0; i < row; ++i)
            {
                d.labels(i) = static_cast<label_type>(std::lower_bound(names.begin(), names.end(), text_labels[i])
                                                      - names.begin());
            }
            d.num_classes = names.size();
            d.class_names = std::move(names);
            return d;
        }
        std::size_t top = 0;
        for (std::size_t i = 0; i < row; ++i)
        {
            const auto y = static_cast<std::size_t>(numeric_labels[i]);
            d.labels(i) = static_cast<label_type>(y);
            top = std::max(top, y);
        }
        if (options.num_classes == 0)
        {
            std::vector<label_type> seen(d.labels.begin(), d.labels.end());
            std::sort(seen.begin(), seen.end());
            const auto distinct = static_cast<std::size_t>(std::unique(seen.begin(), seen.end()) - seen.begin());
            const std::size_t limit = csv_max_inferred_classes(distinct);
            if (top >= limit)
            {
                const std::size_t i = static_cast<std::size_t>(
                    std::find(numeric_labels.begin(), numeric_labels.end(), static_cast<double>(top))
                    - numeric_labels.begin());
                throw data_error(detail::concat(
                    source, ": data row ", i + 1, ", column ", label_col + 1, " '", header[label_col], "': label ",
                    top, " would make ", top + 1, " classes from ", distinct,
                    " distinct labels (at most ", limit,
                    " are inferred); fix the label, or set CsvOptions::num_classes if the classes really go that far"));
            }
        }
        d.num_classes = options.num_classes == 0 ? top + 1 : options.num_classes;
        if (top >= d.num_classes)
        {
            std::size_t i = 0;
            while (static_cast<std::size_t>(numeric_labels[i]) < d.num_classes)
            {
                ++i;
            }
            throw data_error(detail::concat(source, ": data row ", i + 1, ", column ", label_col + 1, " '",
                                            header[label_col], "': label ", numeric_labels[i],
                                            " is not below num_classes = ", d.num_classes));
        }
        return d;
    }

    /**
     * @brief Reads the CSV file at @p path into a Dataset (see parse_csv for the format and the errors).
     * @throws data_error if the file cannot be read, or for its content.
     */
    template <class T>
    Dataset<T> read_csv(const std::string& path, const CsvOptions& options = {})
    {
        std::FILE* f = std::fopen(path.c_str(), "rb");
        if (f == nullptr)
        {
            throw data_error(path + ": cannot open the CSV file (" + std::strerror(errno) + ")");
        }
        std::string text;
        char buf[1 << 16];
        std::size_t k = 0;
        while ((k = std::fread(buf, 1, sizeof buf, f)) > 0)
        {
            text.append(buf, k);
        }
        const bool failed = std::ferror(f) != 0;
        const int err = errno;
        std::fclose(f);
        if (failed)
        {
            throw data_error(path + ": read error (" + std::strerror(err) + ")");
        }
        return parse_csv<T>(text, options, path);
    }
}

#endif
