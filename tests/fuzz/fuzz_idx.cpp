// Fuzz target for the IDX reader, plain and gzip. The first input byte picks the entry point, the
// rest is the file:
//   0  read_idx<float> from memory          1  read_idx<double> from memory
//   2  read_idx_dataset<float>: the byte after the mode says where the label file starts
//      (at byte * size / 256 of what follows it); before it, the image file
//   3  read_idx<float> from a temporary file (the path reader, which reads in chunks), against
//      the memory reader
// Invariants, beyond "no crash, no undefined behaviour, no unbounded allocation":
// - refused input raises data_error naming the source, and nothing else;
// - a plain file is accepted exactly when an independent reading of the format (below) accepts
//   it, and then the header and every value agree with that reading;
// - a gzip file (first bytes 1f 8b) is accepted exactly when zlib inflates it as gzip -d does
//   (members one after another, nothing else after them) into a plain file the independent
//   reading accepts, and then agrees with that reading;
// - an image and label pair is accepted exactly when both files read on their own as unsigned
//   bytes in 3 and 1 dimensions with the same count, and no empty extent; the dataset then holds
//   those pixels / 255 and those labels, its classes cover the labels, and validate() passes;
// - the file reader and the memory reader give the same result.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <unistd.h>
#include <zlib.h>

#include "fuzz_target.hpp"
#include "xtrain/data/idx.hpp"

const char* const xtrain::fuzz::target_name = "fuzz_idx";

namespace
{
    using xtrain::fuzz::Outcome;

    bool names(const std::exception& e, const std::string& source)
    {
        return std::string(e.what()).find(source) != std::string::npos;
    }

    std::uint32_t be32(const std::uint8_t* p)
    {
        return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
    }

    // An IDX file read by the format's definition, written here without the library's code: a
    // magic of two zero bytes, a type code and 1 to 255 dimensions; big-endian 32-bit extents;
    // then exactly the elements the extents call for, big-endian. One limit beyond the format,
    // which the reader documents: inner extents whose product exceeds 2^40 are refused even when
    // the first extent is 0 (the N x D result could not be built).
    struct Reference
    {
        bool ok = false;
        std::uint8_t type = 0;
        std::vector<std::size_t> shape;
        std::size_t element_size = 0;
        std::vector<std::uint8_t> inflated;  // the plain bytes of a gzip file
        const std::uint8_t* elements = nullptr;
        std::size_t count = 0;

        // Element i as a double (every IDX element type converts to double exactly).
        double value(std::size_t i) const
        {
            const std::uint8_t* p = elements + i * element_size;
            switch (type)
            {
            case 0x08: return p[0];
            case 0x09: return static_cast<signed char>(p[0]);
            case 0x0B: return static_cast<std::int16_t>(static_cast<std::uint16_t>((p[0] << 8) | p[1]));
            case 0x0C: return static_cast<std::int32_t>(be32(p));
            case 0x0D:
            {
                const std::uint32_t bits = be32(p);
                float f;
                std::memcpy(&f, &bits, 4);
                return f;
            }
            default:
            {
                const std::uint64_t bits = (std::uint64_t{be32(p)} << 32) | be32(p + 4);
                double d;
                std::memcpy(&d, &bits, 8);
                return d;
            }
            }
        }
    };

    std::size_t element_size(std::uint8_t code)
    {
        switch (code)
        {
        case 0x08:
        case 0x09: return 1;
        case 0x0B: return 2;
        case 0x0C:
        case 0x0D: return 4;
        case 0x0E: return 8;
        default: return 0;
        }
    }

    void read_plain(Reference& r, const std::uint8_t* b, std::size_t n)
    {
        if (n < 4 || b[0] != 0 || b[1] != 0 || element_size(b[2]) == 0 || b[3] == 0)
        {
            return;
        }
        const std::size_t rank = b[3];
        if (n < 4 + 4 * rank)
        {
            return;
        }
        r.type = b[2];
        r.element_size = element_size(b[2]);
        r.shape.resize(rank);
        bool empty = false;
        for (std::size_t i = 0; i < rank; ++i)
        {
            r.shape[i] = be32(b + 4 + 4 * i);
            empty = empty || r.shape[i] == 0;
        }
        const std::size_t rest = n - (4 + 4 * rank);
        std::size_t bytes = 0;
        if (!empty)
        {
            bytes = r.element_size;
            for (std::size_t d : r.shape)
            {
                if (bytes > rest / d)
                {
                    return;  // more than the file holds
                }
                bytes *= d;
            }
        }
        if (bytes != rest)
        {
            return;
        }
        std::size_t cols = 1;
        for (std::size_t i = 1; i < rank; ++i)
        {
            if (r.shape[i] != 0 && cols > (std::size_t{1} << 40) / r.shape[i])
            {
                return;
            }
            cols *= r.shape[i];
        }
        r.elements = b + (4 + 4 * rank);
        r.count = bytes / r.element_size;
        r.ok = true;
    }

    // gzip -d: gzip members one after another until the input ends; anything else is an error.
    bool gunzip(const std::uint8_t* b, std::size_t n, std::vector<std::uint8_t>& out)
    {
        z_stream zs{};
        if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
        {
            return false;
        }
        zs.next_in = const_cast<Bytef*>(b);
        zs.avail_in = static_cast<uInt>(n);
        std::uint8_t buf[1 << 16];
        bool member_done = false;
        bool ok = true;
        for (;;)
        {
            if (member_done)
            {
                if (zs.avail_in == 0)
                {
                    break;  // the input ends with a complete member
                }
                member_done = false;
                if (inflateReset(&zs) != Z_OK)
                {
                    ok = false;
                    break;
                }
            }
            zs.next_out = buf;
            zs.avail_out = sizeof buf;
            const int rc = inflate(&zs, Z_NO_FLUSH);
            out.insert(out.end(), buf, buf + (sizeof buf - zs.avail_out));
            if (rc == Z_STREAM_END)
            {
                member_done = true;
            }
            // Any error, or input used up inside a member with room left for output (truncated).
            else if (rc != Z_OK || (zs.avail_in == 0 && zs.avail_out != 0) || out.size() > (std::size_t{1} << 28))
            {
                ok = false;
                break;
            }
        }
        inflateEnd(&zs);
        return ok;
    }

    Reference reference(const std::uint8_t* b, std::size_t n)
    {
        Reference r;
        if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)
        {
            if (gunzip(b, n, r.inflated))
            {
                read_plain(r, r.inflated.data(), r.inflated.size());
            }
        }
        else
        {
            read_plain(r, b, n);
        }
        return r;
    }

    template <class T>
    bool same_value(T a, T b)
    {
        return a == b || (std::isnan(a) && std::isnan(b));
    }

    template <class T>
    void check_against(const xtrain::IdxMatrix<T>& m, const Reference& r)
    {
        XTRAIN_FUZZ_CHECK(static_cast<std::uint8_t>(m.header.type) == r.type, "the header's element type is the file's");
        XTRAIN_FUZZ_CHECK(m.header.shape == r.shape, "the header's extents are the file's");
        XTRAIN_FUZZ_CHECK(m.header.count() == r.count, "count() is the product of the extents");
        std::size_t cols = 1;
        for (std::size_t i = 1; i < r.shape.size(); ++i)
        {
            cols *= r.shape[i];
        }
        XTRAIN_FUZZ_CHECK(m.values.shape()[0] == r.shape[0] && m.values.shape()[1] == cols,
                          "the values are N x D: the first extent by the product of the others");
        XTRAIN_FUZZ_CHECK(m.values.size() == r.count, "one value per element");
        const T* v = m.values.data();
        for (std::size_t i = 0; i < r.count; ++i)
        {
            XTRAIN_FUZZ_CHECK(same_value(v[i], static_cast<T>(r.value(i))), "every value is its big-endian element");
        }
    }

    template <class T>
    std::optional<xtrain::IdxMatrix<T>> read_memory(const std::uint8_t* b, std::size_t n, const std::string& name)
    {
        try
        {
            return xtrain::read_idx<T>(b, n, name);
        }
        catch (const xtrain::data_error& e)
        {
            XTRAIN_FUZZ_CHECK(names(e, name), "a refusal names the source");
            return std::nullopt;
        }
    }

    template <class T>
    Outcome check_matrix(const std::uint8_t* b, std::size_t n)
    {
        const std::optional<xtrain::IdxMatrix<T>> m = read_memory<T>(b, n, "fuzz.idx");
        const Reference r = reference(b, n);
        if (!m)
        {
            XTRAIN_FUZZ_CHECK(!r.ok, "the reader refused a file that the format allows");
            return Outcome::refused;
        }
        XTRAIN_FUZZ_CHECK(r.ok, "the reader accepted bytes that are not one IDX file");
        check_against(*m, r);
        return Outcome::accepted;
    }

    Outcome check_pair(const std::uint8_t* b, std::size_t n)
    {
        const std::size_t cut = n == 0 ? 0 : (static_cast<std::size_t>(b[0]) * n) / 256;
        const std::uint8_t* rest = n == 0 ? b : b + 1;
        const std::size_t m = n == 0 ? 0 : n - 1;
        const std::size_t c = cut < m ? cut : m;
        const std::uint8_t* labels = rest + c;
        std::optional<xtrain::Dataset<float>> d;
        try
        {
            d = xtrain::read_idx_dataset<float>(rest, c, labels, m - c, "fuzz");
        }
        catch (const xtrain::data_error& e)
        {
            XTRAIN_FUZZ_CHECK(names(e, "fuzz (images)") || names(e, "fuzz (labels)"), "a refusal names the file");
        }
        // Each file on its own, through the general reader (whose own invariants modes 0, 1 and 3 check).
        const auto images = read_memory<float>(rest, c, "images");
        const auto labs = read_memory<float>(labels, m - c, "labels");
        const bool fits = images && labs && images->header.type == xtrain::IdxType::u8 && images->header.shape.size() == 3
                       && labs->header.type == xtrain::IdxType::u8 && labs->header.shape.size() == 1
                       && images->header.shape[0] == labs->header.shape[0] && images->header.count() != 0;
        if (!d)
        {
            XTRAIN_FUZZ_CHECK(!fits, "the dataset reader refused an image and a label file that fit each other");
            return Outcome::refused;
        }
        XTRAIN_FUZZ_CHECK(fits, "the dataset reader accepted files that do not make a dataset");
        try
        {
            d->validate();
        }
        catch (const std::exception& e)
        {
            std::fprintf(stderr, "validate(): %s\n", e.what());
            XTRAIN_FUZZ_CHECK(false, "an accepted pair of files makes a consistent dataset");
        }
        const auto& shape = images->header.shape;
        const std::size_t count = shape[0];
        const std::size_t pixels = shape[1] * shape[2];
        XTRAIN_FUZZ_CHECK(d->size() == count && d->feature_dim() == pixels, "one row of H x W pixels per image");
        XTRAIN_FUZZ_CHECK((d->sample_shape == std::vector<std::size_t>{1, shape[1], shape[2]}), "samples are 1 x H x W");
        XTRAIN_FUZZ_CHECK(d->name == "fuzz", "the dataset has the name it was given");
        for (std::size_t i = 0; i < count * pixels; ++i)
        {
            XTRAIN_FUZZ_CHECK(d->features.data()[i] == images->values.data()[i] / 255.0f, "a pixel is its byte / 255");
        }
        std::size_t top = 0;
        for (std::size_t i = 0; i < count; ++i)
        {
            const auto y = static_cast<std::size_t>(labs->values(i, 0));
            XTRAIN_FUZZ_CHECK(static_cast<std::size_t>(d->labels(i)) == y, "a label is its byte");
            top = y > top ? y : top;
        }
        XTRAIN_FUZZ_CHECK(d->num_classes == top + 1, "without num_classes, the classes run to the largest label");
        return Outcome::accepted;
    }

    Outcome check_file(const std::uint8_t* b, std::size_t n)
    {
        const std::string path = (std::filesystem::temp_directory_path()
                                  / ("xtrain-fuzz-idx-" + std::to_string(::getpid()) + ".idx")).string();
        std::FILE* f = std::fopen(path.c_str(), "wb");
        XTRAIN_FUZZ_CHECK(f != nullptr, "the temporary file can be created");
        const bool written = std::fwrite(b, 1, n, f) == n;
        XTRAIN_FUZZ_CHECK(std::fclose(f) == 0 && written, "the temporary file can be written");
        std::optional<xtrain::IdxMatrix<float>> from_file;
        try
        {
            from_file = xtrain::read_idx<float>(path);
        }
        catch (const xtrain::data_error& e)
        {
            XTRAIN_FUZZ_CHECK(names(e, path), "a refusal names the file");
        }
        catch (...)
        {
            std::remove(path.c_str());
            throw;
        }
        std::remove(path.c_str());
        const Outcome o = check_matrix<float>(b, n);
        XTRAIN_FUZZ_CHECK(from_file.has_value() == (o == Outcome::accepted), "the file and memory readers agree");
        if (from_file)
        {
            const auto from_memory = read_memory<float>(b, n, "fuzz.idx");
            XTRAIN_FUZZ_CHECK(from_memory.has_value(), "the memory reader gives the same answer twice");
            XTRAIN_FUZZ_CHECK(from_file->header.shape == from_memory->header.shape
                                  && from_file->header.type == from_memory->header.type,
                              "the file and memory readers agree");
            for (std::size_t i = 0; i < from_file->values.size(); ++i)
            {
                XTRAIN_FUZZ_CHECK(same_value(from_file->values.data()[i], from_memory->values.data()[i]),
                                  "the file and memory readers agree");
            }
        }
        return o;
    }
}

xtrain::fuzz::Outcome xtrain::fuzz::one_input(const std::uint8_t* data, std::size_t size)
{
    if (size == 0)
    {
        return Outcome::refused;
    }
    const std::uint8_t* file = data + 1;
    const std::size_t n = size - 1;
    switch (data[0] % 4)
    {
    case 0: return check_matrix<float>(file, n);
    case 1: return check_matrix<double>(file, n);
    case 2: return check_pair(file, n);
    default: return check_file(file, n);
    }
}
