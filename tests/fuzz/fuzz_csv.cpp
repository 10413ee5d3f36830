// libFuzzer target for the CSV reader. The first input byte picks the options (delimiter, task,
// label column, class names); the rest is the table. Bad tables must raise data_error, options that
// do not fit the header std::invalid_argument; anything else is a finding.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>

#include "xtrain/data/csv.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0)
    {
        return 0;
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
    const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
    // A table the reader accepts must make a consistent dataset: validate() outside the try.
    xtrain::Dataset<float> f;
    xtrain::Dataset<double> d;
    try
    {
        if (flags & 128U)
        {
            d = xtrain::parse_csv<double>(text, o, "fuzz.csv");
        }
        else
        {
            f = xtrain::parse_csv<float>(text, o, "fuzz.csv");
        }
    }
    catch (const xtrain::data_error&)
    {
        return 0;
    }
    catch (const std::invalid_argument&)
    {
        return 0;
    }
    if (flags & 128U)
    {
        d.validate();
    }
    else
    {
        f.validate();
    }
    return 0;
}
