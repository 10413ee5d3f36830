// libFuzzer target for the IDX reader (plain and gzip). The first input byte picks the entry point;
// the rest is the file. Any exception other than data_error, any crash, sanitizer report or
// oversized allocation is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <unistd.h>

#include "xtrain/data/idx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0)
    {
        return 0;
    }
    const unsigned mode = data[0] % 4;
    const std::uint8_t* file = data + 1;
    const std::size_t n = size - 1;
    try
    {
        switch (mode)
        {
        case 0:
        {
            auto m = xtrain::read_idx<float>(file, n, "fuzz.idx");
            (void)m;
            break;
        }
        case 1:
        {
            auto m = xtrain::read_idx<double>(file, n, "fuzz.idx");
            (void)m;
            break;
        }
        case 2:
        {
            // Images and labels: the second byte says where the labels start.
            const std::size_t cut = n == 0 ? 0 : (static_cast<std::size_t>(file[0]) * n) / 256;
            const std::uint8_t* rest = n == 0 ? file : file + 1;
            const std::size_t m = n == 0 ? 0 : n - 1;
            const std::size_t c = cut < m ? cut : m;
            xtrain::Dataset<float> d;
            try
            {
                d = xtrain::read_idx_dataset<float>(rest, c, rest + c, m - c, "fuzz");
            }
            catch (const xtrain::data_error&)
            {
                return 0;
            }
            try
            {
                d.validate();  // an accepted pair of files must make a consistent dataset
            }
            catch (...)
            {
                std::abort();
            }
            break;
        }
        default:
        {
            // The file path reads in chunks with fread: exercise it too.
            const std::string path = "/tmp/xtrain-fuzz-idx-" + std::to_string(::getpid()) + ".idx";
            std::FILE* f = std::fopen(path.c_str(), "wb");
            if (f == nullptr)
            {
                return 0;
            }
            std::fwrite(file, 1, n, f);
            std::fclose(f);
            try
            {
                auto m = xtrain::read_idx<float>(path);
                (void)m;
            }
            catch (...)
            {
                std::remove(path.c_str());
                throw;
            }
            std::remove(path.c_str());
            break;
        }
        }
    }
    catch (const xtrain::data_error&)
    {
        // Bad input correctly refused.
    }
    return 0;
}
