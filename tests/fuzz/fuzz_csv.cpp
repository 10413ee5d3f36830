// Fuzz target for the CSV reader. The first input byte picks the options, the rest is the table:
//   bits 0-1  delimiter: ',' ';' tab ' '          bit 2  regression (else classification)
//   bit 3     label_names                          bit 4  label = column 0
//   bit 5     label = column "y" (wins over bit 4)  bit 6  ignore column "id"
//   bit 7     num_classes = 3
// The table is parsed as double and as float. Invariants, beyond "no crash, no undefined
// behaviour":
// - a refusal is data_error naming the source, or, for options that do not fit the header, the
//   documented std::invalid_argument (an unknown column, the label ignored, no feature left),
//   which depends on the header alone, so both parses raise the same one;
// - the float parse reads what the double parse reads, rounded: it accepts only if the double
//   parse accepts (a value finite in double may overflow float), with the same shape, labels and
//   class names, and features and targets equal to the double values rounded to float;
// - an accepted table gives a consistent dataset (validate()), N x D features with D >= 1, the
//   labels and classes the options ask for (indices below num_classes; names sorted, unique and
//   all used) or one finite target per row for regression;
// - written back as CSV (plain header, quoted class names, numbers that round-trip) and read
//   again, it gives the same dataset: the result depends on the table's content, not its spelling.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_target.hpp"
#include "xtrain/data/csv.hpp"

const char* const xtrain::fuzz::target_name = "fuzz_csv";

namespace
{
    using xtrain::fuzz::Outcome;

    const std::string source = "fuzz.csv";

    bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

    // What one parse did: a dataset, or the kind and message of the refusal.
    template <class T>
    struct Parse
    {
        std::optional<xtrain::Dataset<T>> data;
        bool option_error = false;  // std::invalid_argument: the options do not fit the header
        std::string message;
    };

    template <class T>
    Parse<T> parse(std::string_view text, const xtrain::CsvOptions& o)
    {
        Parse<T> p;
        try
        {
            p.data = xtrain::parse_csv<T>(text, o, source);
        }
        catch (const xtrain::data_error& e)
        {
            p.message = e.what();
            XTRAIN_FUZZ_CHECK(contains(p.message, source.c_str()), "a refusal names the source");
        }
        catch (const std::invalid_argument& e)
        {
            p.option_error = true;
            p.message = e.what();
            XTRAIN_FUZZ_CHECK(contains(p.message, source.c_str()), "a refusal names the source");
            XTRAIN_FUZZ_CHECK(contains(p.message, "xtrain::read_csv: ")
                                  && (contains(p.message, "is not in the header of")
                                      || contains(p.message, "is out of range for")
                                      || contains(p.message, "is also in CsvOptions::ignore")
                                      || contains(p.message, "has no feature column")),
                              "std::invalid_argument only for the documented option errors");
        }
        return p;
    }

    template <class T>
    void check_dataset(const xtrain::Dataset<T>& d, const xtrain::CsvOptions& o)
    {
        try
        {
            d.validate();
        }
        catch (const std::exception& e)
        {
            std::fprintf(stderr, "validate(): %s\n", e.what());
            XTRAIN_FUZZ_CHECK(false, "an accepted table makes a consistent dataset");
        }
        const std::size_t n = d.size();
        const std::size_t dim = d.feature_dim();
        XTRAIN_FUZZ_CHECK(n >= 1 && dim >= 1, "at least one row and one feature");
        XTRAIN_FUZZ_CHECK(d.sample_shape == std::vector<std::size_t>{dim}, "a sample is its D features");
        XTRAIN_FUZZ_CHECK(d.name == source, "the dataset is named after its source");
        if (o.task == xtrain::CsvTask::regression)
        {
            XTRAIN_FUZZ_CHECK(d.is_regression() && d.labels.size() == 0, "regression: targets, no labels");
            XTRAIN_FUZZ_CHECK(d.targets.shape()[0] == n && d.targets.shape()[1] == 1, "one target per row");
            return;
        }
        XTRAIN_FUZZ_CHECK(d.is_classification() && d.targets.size() == 0, "classification: labels, no targets");
        XTRAIN_FUZZ_CHECK(d.labels.size() == n, "one label per row");
        std::vector<std::size_t> used(d.num_classes, 0);
        std::size_t top = 0;
        for (std::size_t i = 0; i < n; ++i)
        {
            const auto y = static_cast<std::size_t>(d.labels(i));
            XTRAIN_FUZZ_CHECK(d.labels(i) >= 0 && y < d.num_classes, "labels lie in [0, num_classes)");
            ++used[y];
            top = std::max(top, y);
        }
        if (o.label_names)
        {
            XTRAIN_FUZZ_CHECK(d.class_names.size() == d.num_classes, "a name per class");
            XTRAIN_FUZZ_CHECK(std::is_sorted(d.class_names.begin(), d.class_names.end())
                                  && std::adjacent_find(d.class_names.begin(), d.class_names.end())
                                         == d.class_names.end(),
                              "class names sorted and unique");
            XTRAIN_FUZZ_CHECK(std::find(used.begin(), used.end(), std::size_t{0}) == used.end(),
                              "every named class occurs");
        }
        else
        {
            XTRAIN_FUZZ_CHECK(d.class_names.empty(), "no class names without label_names");
            XTRAIN_FUZZ_CHECK(d.num_classes == (o.num_classes != 0 ? o.num_classes : top + 1),
                              "num_classes as given, else the largest label + 1");
        }
    }

    // The shortest text that reads back as exactly v.
    std::string number(double v)
    {
        char buf[64];
        const auto r = std::to_chars(buf, buf + sizeof buf, v);
        return std::string(buf, r.ptr);
    }

    std::string quoted(const std::string& s)
    {
        std::string q = "\"";
        for (char c : s)
        {
            q += c;
            if (c == '"')
            {
                q += '"';
            }
        }
        return q + "\"";
    }

    bool normal_or_zero(double v) { return std::fpclassify(v) != FP_SUBNORMAL; }

    // The dataset written back as a plain table: features f0..f(D-1), the label last.
    template <class T>
    std::optional<std::string> write_back(const xtrain::Dataset<T>& d, const xtrain::CsvOptions& o)
    {
        std::string text;
        for (std::size_t j = 0; j < d.feature_dim(); ++j)
        {
            text += "f" + std::to_string(j) + ",";
        }
        text += "y\n";
        for (std::size_t i = 0; i < d.size(); ++i)
        {
            for (std::size_t j = 0; j < d.feature_dim(); ++j)
            {
                const double v = static_cast<double>(d.features(i, j));
                if (!normal_or_zero(v))
                {
                    return std::nullopt;  // text round trips of subnormals depend on the C++ library
                }
                text += number(v) + ",";
            }
            if (o.task == xtrain::CsvTask::regression)
            {
                const double t = static_cast<double>(d.targets(i, 0));
                if (!normal_or_zero(t))
                {
                    return std::nullopt;
                }
                text += number(t);
            }
            else if (o.label_names)
            {
                text += quoted(d.class_names[static_cast<std::size_t>(d.labels(i))]);
            }
            else
            {
                text += std::to_string(d.labels(i));
            }
            text += '\n';
        }
        return text;
    }

    template <class T>
    bool same(const xtrain::Dataset<T>& a, const xtrain::Dataset<T>& b)
    {
        return a.features == b.features && a.labels == b.labels && a.targets == b.targets
            && a.num_classes == b.num_classes && a.class_names == b.class_names && a.sample_shape == b.sample_shape;
    }
}

xtrain::fuzz::Outcome xtrain::fuzz::one_input(const std::uint8_t* data, std::size_t size)
{
    if (size == 0)
    {
        return Outcome::refused;
    }
    const unsigned flags = data[0];
    xtrain::CsvOptions o;
    static const char delimiters[] = {',', ';', '\t', ' '};
    o.delimiter = delimiters[flags & 3U];
    o.task = (flags & 4U) ? xtrain::CsvTask::regression : xtrain::CsvTask::classification;
    o.label_names = (flags & 8U) != 0;
    if (flags & 16U)
    {
        o.label = 0;
    }
    if (flags & 32U)
    {
        o.label = "y";
    }
    if (flags & 64U)
    {
        o.ignore = {"id"};
    }
    if (flags & 128U)
    {
        o.num_classes = 3;
    }
    const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
    const Parse<double> d = parse<double>(text, o);
    const Parse<float> f = parse<float>(text, o);

    XTRAIN_FUZZ_CHECK(d.option_error == f.option_error, "option errors depend on the header, not the type");
    if (d.option_error)
    {
        XTRAIN_FUZZ_CHECK(d.message == f.message, "option errors depend on the header, not the type");
    }
    if (f.data)
    {
        XTRAIN_FUZZ_CHECK(d.data.has_value(), "a table the float parse accepts, the double parse accepts");
        const auto& fd = *f.data;
        const auto& dd = *d.data;
        XTRAIN_FUZZ_CHECK(fd.features.shape() == dd.features.shape() && fd.targets.shape() == dd.targets.shape(),
                          "float and double parses have the same shape");
        XTRAIN_FUZZ_CHECK(fd.labels == dd.labels && fd.num_classes == dd.num_classes && fd.class_names == dd.class_names,
                          "float and double parses have the same labels and classes");
        for (std::size_t i = 0; i < fd.features.size(); ++i)
        {
            XTRAIN_FUZZ_CHECK(fd.features.data()[i] == static_cast<float>(dd.features.data()[i]),
                              "a float feature is the double one rounded");
        }
        for (std::size_t i = 0; i < fd.targets.size(); ++i)
        {
            XTRAIN_FUZZ_CHECK(fd.targets.data()[i] == static_cast<float>(dd.targets.data()[i]),
                              "a float target is the double one rounded");
        }
        check_dataset(fd, o);
    }
    if (!d.data)
    {
        return Outcome::refused;
    }
    check_dataset(*d.data, o);

    // Written back plainly and read again: the same dataset.
    const std::optional<std::string> again = write_back(*d.data, o);
    if (again)
    {
        xtrain::CsvOptions plain;
        plain.task = o.task;
        plain.label_names = o.label_names;
        plain.num_classes = o.num_classes;
        const Parse<double> back = parse<double>(*again, plain);
        if (!back.data)
        {
            std::fprintf(stderr, "read back: %s\n", back.message.c_str());
        }
        XTRAIN_FUZZ_CHECK(back.data.has_value(), "a table written back from an accepted one is accepted");
        XTRAIN_FUZZ_CHECK(same(*back.data, *d.data), "a table written back reads as the same dataset");
    }
    return f.data ? Outcome::accepted : Outcome::refused;
}
