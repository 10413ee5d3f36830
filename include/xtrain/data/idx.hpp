/**
 * @file idx.hpp
 * @brief Reading IDX files (the MNIST format), plain or gzip-compressed.
 *
 * An IDX file is a 4-byte magic number (two zero bytes, an element-type code, the number of
 * dimensions), one big-endian 32-bit extent per dimension, then the elements in row-major order,
 * big-endian. MNIST and Fashion-MNIST store images as unsigned bytes of shape N x 28 x 28 (magic
 * 2051 = 0x00000803) and labels as unsigned bytes of shape N (magic 2049 = 0x00000801).
 *
 * The readers check the header against what the file can hold before allocating anything, so a
 * corrupt 16-byte header cannot ask for gigabytes, and they raise data_error naming the file for
 * every inconsistency: wrong magic, unknown type code, truncated data, data beyond the claimed
 * extents, corrupt gzip, images and labels of different counts.
 */
#ifndef XTRAIN_DATA_IDX_HPP
#define XTRAIN_DATA_IDX_HPP

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "xtrain/core/batch.hpp"
#include "xtrain/core/error.hpp"
#include "xtrain/data/dataset.hpp"
#include "xtrain/data/detail/byte_stream.hpp"

namespace xtrain
{
    /** @brief Element type codes of the IDX format (third byte of the magic number). */
    enum class IdxType : std::uint8_t
    {
        u8 = 0x08,   ///< unsigned byte
        i8 = 0x09,   ///< signed byte
        i16 = 0x0B,  ///< 16-bit signed integer, big-endian
        i32 = 0x0C,  ///< 32-bit signed integer, big-endian
        f32 = 0x0D,  ///< IEEE float, big-endian
        f64 = 0x0E   ///< IEEE double, big-endian
    };

    /** @brief Bytes per element of an IDX type (0 for an unknown code). */
    inline std::size_t idx_element_size(IdxType t) noexcept
    {
        switch (t)
        {
        case IdxType::u8:
        case IdxType::i8: return 1;
        case IdxType::i16: return 2;
        case IdxType::i32:
        case IdxType::f32: return 4;
        case IdxType::f64: return 8;
        }
        return 0;
    }

    /** @brief The header of an IDX file: element type and extents. */
    struct IdxHeader
    {
        IdxType type = IdxType::u8;        ///< element type
        std::vector<std::size_t> shape;    ///< extents, outermost first (e.g. {60000, 28, 28})

        /** @brief Number of elements (product of the extents). */
        std::size_t count() const noexcept { return detail::shape_product(shape); }
        /** @brief The magic number as a 32-bit integer (e.g. 2051 for images of bytes). */
        std::uint32_t magic() const noexcept
        {
            return (static_cast<std::uint32_t>(type) << 8) | static_cast<std::uint32_t>(shape.size());
        }
    };

    /** @brief The contents of an IDX file as N x D (D = product of the inner extents), with the full shape. */
    template <class T>
    struct IdxMatrix
    {
        IdxHeader header;             ///< type and extents as stored
        xt::xtensor<T, 2> values;     ///< shape[0] rows of the remaining extents' product
    };

    namespace detail
    {
        /** @brief Hex digits of a 32-bit value (8 digits). */
        inline std::string to_hex(std::uint32_t v)
        {
            static const char digits[] = "0123456789abcdef";
            std::string s(8, '0');
            for (int i = 7; i >= 0; --i, v >>= 4)
            {
                s[static_cast<std::size_t>(i)] = digits[v & 0xF];
            }
            return s;
        }

        /** @brief Bytes of the header: 4 + 4 per dimension. */
        inline std::uint64_t header_bytes(const IdxHeader& h) noexcept { return 4 + 4 * h.shape.size(); }

        /** @brief Reads and checks an IDX header; the claimed data must fit in what the source can hold. */
        inline IdxHeader read_idx_header(ByteStream& in)
        {
            unsigned char magic[4];
            const std::size_t got = in.read(magic, 4);
            if (got < 4)
            {
                throw data_error(concat(in.name(), ": truncated: ", got, " bytes, too short for an IDX header"));
            }
            const std::uint32_t m = (std::uint32_t{magic[0]} << 24) | (std::uint32_t{magic[1]} << 16)
                                  | (std::uint32_t{magic[2]} << 8) | std::uint32_t{magic[3]};
            const auto type = static_cast<IdxType>(magic[2]);
            if (magic[0] != 0 || magic[1] != 0 || idx_element_size(type) == 0 || magic[3] == 0)
            {
                throw data_error(concat(in.name(), ": wrong magic number ", m,
                                        " (0x", to_hex(m), "): not an IDX file (expected two zero bytes, a type code "
                                        "8, 9, 11, 12, 13 or 14, and 1 to 255 dimensions, e.g. 2051 for images)"));
            }
            IdxHeader h;
            h.type = type;
            h.shape.resize(magic[3]);
            unsigned char dims[4 * 255];
            in.read_exact(dims, 4 * h.shape.size(), "IDX header's extents");
            // Compare the claimed size with what the source can hold, without overflowing.
            std::uint64_t bytes = idx_element_size(type);
            const std::uint64_t limit = in.max_remaining();
            bool too_big = false;
            for (std::size_t i = 0; i < h.shape.size(); ++i)
            {
                const unsigned char* p = dims + 4 * i;
                h.shape[i] = (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8)
                           | std::uint32_t{p[3]};
            }
            const bool empty = std::find(h.shape.begin(), h.shape.end(), std::size_t{0}) != h.shape.end();
            if (empty)
            {
                bytes = 0;
            }
            else  // the product stops before it passes limit, so it cannot overflow
            {
                for (std::size_t d : h.shape)
                {
                    if (bytes > limit / d)
                    {
                        too_big = true;
                        break;
                    }
                    bytes *= d;
                }
            }
            if (too_big || bytes > limit)
            {
                throw data_error(concat(in.name(), ": the header claims ", shape_text(h.shape), " elements of ",
                                        idx_element_size(type), " bytes, more than the ",
                                        in.is_gzip() ? "compressed file can hold (at most " : "file holds (",
                                        limit, " bytes after the header): the file is truncated or its header is wrong"));
            }
            return h;
        }

        /** @brief Converts @p n big-endian elements of @p type at @p src to U, each divided by @p divisor. */
        template <class U>
        void decode_idx(IdxType type, const unsigned char* src, std::size_t n, U* dst, U divisor)
        {
            switch (type)
            {
            case IdxType::u8:
                // Converting and dividing vectorises (a table lookup per byte would not); the
                // division is exact IEEE, so the result is the same as torchvision's x / 255.
                for (std::size_t i = 0; i < n; ++i)
                {
                    dst[i] = static_cast<U>(static_cast<U>(src[i]) / divisor);
                }
                return;
            case IdxType::i8:
                for (std::size_t i = 0; i < n; ++i)
                {
                    dst[i] = static_cast<U>(static_cast<signed char>(src[i])) / divisor;
                }
                return;
            case IdxType::i16:
                for (std::size_t i = 0; i < n; ++i)
                {
                    const auto v = static_cast<std::uint16_t>((src[2 * i] << 8) | src[2 * i + 1]);
                    dst[i] = static_cast<U>(static_cast<std::int16_t>(v)) / divisor;
                }
                return;
            case IdxType::i32:
                for (std::size_t i = 0; i < n; ++i)
                {
                    const unsigned char* p = src + 4 * i;
                    const std::uint32_t v = (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16)
                                          | (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
                    dst[i] = static_cast<U>(static_cast<std::int32_t>(v)) / divisor;
                }
                return;
            case IdxType::f32:
                for (std::size_t i = 0; i < n; ++i)
                {
                    const unsigned char* p = src + 4 * i;
                    const std::uint32_t v = (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16)
                                          | (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
                    float f;
                    std::memcpy(&f, &v, 4);
                    dst[i] = static_cast<U>(f) / divisor;
                }
                return;
            case IdxType::f64:
                for (std::size_t i = 0; i < n; ++i)
                {
                    std::uint64_t v = 0;
                    for (int k = 0; k < 8; ++k)
                    {
                        v = (v << 8) | src[8 * i + static_cast<std::size_t>(k)];
                    }
                    double f;
                    std::memcpy(&f, &v, 8);
                    dst[i] = static_cast<U>(f) / divisor;
                }
                return;
            }
        }

        /**
         * @brief Reads the data after the header into @p out (count elements), divided by @p divisor,
         * then checks that nothing follows.
         */
        template <class U>
        void read_idx_data(ByteStream& in, const IdxHeader& h, U* out, U divisor)
        {
            const std::size_t esize = idx_element_size(h.type);
            const std::size_t count = h.count();
            // 64 KiB stays in L2 while it is converted.
            constexpr std::size_t chunk = std::size_t{1} << 16;
            unsigned char buf[chunk];
            const std::size_t per_chunk = chunk / esize;
            std::size_t done = 0;
            while (done < count)
            {
                const std::size_t k = count - done < per_chunk ? count - done : per_chunk;
                const std::size_t got = in.read(buf, k * esize);
                if (got != k * esize)
                {
                    const std::uint64_t have = in.position() - header_bytes(h);
                    throw data_error(concat(in.name(), ": truncated: the header claims ", shape_text(h.shape),
                                            " elements (", count * esize, " bytes of data) but the ",
                                            in.is_gzip() ? "decompressed " : "", "data ends after ", have,
                                            " bytes"));
                }
                decode_idx<U>(h.type, buf, k, out + done, divisor);
                done += k;
            }
            const std::uint64_t extra = in.skip_rest(std::uint64_t{1} << 20);
            if (extra != 0)
            {
                throw data_error(concat(in.name(), ": the header claims ", shape_text(h.shape), " elements (",
                                        count * esize, " bytes of data) but ",
                                        extra > (std::uint64_t{1} << 20) ? std::string("more than ") : std::string(),
                                        extra, " more bytes follow: the counts disagree with the file size"));
            }
        }

        /** @brief Reads a whole IDX stream as a matrix (rows = first extent). */
        template <class U>
        IdxMatrix<U> read_idx_matrix(ByteStream& in, U divisor)
        {
            IdxMatrix<U> m;
            m.header = read_idx_header(in);
            const std::size_t rows = m.header.shape[0];
            // The inner extents' product, which an empty file (some extent 0) leaves unchecked by
            // the size test: refuse one that overflows, rather than build an impossible shape.
            std::size_t cols = 1;
            for (std::size_t i = 1; i < m.header.shape.size(); ++i)
            {
                const std::size_t d = m.header.shape[i];
                if (d != 0 && cols > (std::size_t{1} << 40) / d)
                {
                    throw data_error(concat(in.name(), ": the header claims extents ", shape_text(m.header.shape),
                                            " whose product is too large"));
                }
                cols *= d;
            }
            m.values = xt::xtensor<U, 2>::from_shape({rows, cols});
            read_idx_data<U>(in, m.header, m.values.data(), divisor);
            return m;
        }

        /** @brief Checks the magic of an image or label file. */
        inline void expect_idx(const IdxHeader& h, const std::string& name, std::size_t rank, const char* what)
        {
            if (h.type != IdxType::u8 || h.shape.size() != rank)
            {
                throw data_error(concat(name, ": wrong magic number ", h.magic(), " for ", what, " (expected ",
                                        rank == 3 ? 2051 : 2049, ": unsigned bytes in ", rank, " dimensions)"));
            }
        }
    }

    /**
     * @brief Reads any IDX file (plain or gzip) as an N x D matrix of T, D the product of the inner extents.
     * @throws data_error naming @p path for a missing, truncated, corrupt or inconsistent file.
     */
    template <class T>
    IdxMatrix<T> read_idx(const std::string& path)
    {
        static_assert(std::is_floating_point_v<T>, "read_idx<T>: T must be float or double");
        detail::ByteStream in(path);
        return detail::read_idx_matrix<T>(in, T(1));
    }

    /** @brief read_idx() from @p size bytes in memory (plain or gzip); @p name is used in messages. */
    template <class T>
    IdxMatrix<T> read_idx(const void* data, std::size_t size, const std::string& name)
    {
        static_assert(std::is_floating_point_v<T>, "read_idx<T>: T must be float or double");
        detail::ByteStream in(data, size, name);
        return detail::read_idx_matrix<T>(in, T(1));
    }

    namespace detail
    {
        /** @brief The default for idx_dataset_from's allocation hook: nothing. */
        struct NoAllocationHook
        {
            /** @brief Does nothing. */
            void operator()(void*, std::size_t) const noexcept {}
        };

        /**
         * @brief Reads an image file and a label file into a Dataset; @p on_features_allocated(p,
         * bytes) is called once the feature matrix is allocated, before it is written.
         */
        template <class T, class Hook = NoAllocationHook>
        Dataset<T> idx_dataset_from(ByteStream& images, ByteStream& labels, std::string name, std::size_t num_classes,
                                    Hook&& on_features_allocated = Hook{})
        {
            Dataset<T> d;
            const IdxHeader ih = read_idx_header(images);
            expect_idx(ih, images.name(), 3, "images");
            const IdxHeader lh = read_idx_header(labels);
            expect_idx(lh, labels.name(), 1, "labels");
            if (ih.shape[0] != lh.shape[0])
            {
                throw data_error(concat(images.name(), " holds ", ih.shape[0], " images but ", labels.name(),
                                        " holds ", lh.shape[0], " labels"));
            }
            if (ih.shape[0] == 0 || ih.shape[1] == 0 || ih.shape[2] == 0)
            {
                throw data_error(concat(images.name(), ": the dataset is empty (shape ", shape_text(ih.shape), ")"));
            }
            const std::size_t n = ih.shape[0];
            d.features = xt::xtensor<T, 2>::from_shape({n, ih.shape[1] * ih.shape[2]});
            on_features_allocated(static_cast<void*>(d.features.data()), d.features.size() * sizeof(T));
            // Pixels / 255, as torchvision's ToTensor: the division (not a multiplication by 1/255)
            // gives the same floats.
            read_idx_data<T>(images, ih, d.features.data(), T(255));
            xt::xtensor<unsigned char, 1> raw = xt::xtensor<unsigned char, 1>::from_shape({n});
            read_idx_data<unsigned char>(labels, lh, raw.data(), static_cast<unsigned char>(1));
            d.labels = xt::xtensor<label_type, 1>::from_shape({n});
            unsigned char top = 0;
            for (std::size_t i = 0; i < n; ++i)
            {
                d.labels(i) = raw(i);
                top = raw(i) > top ? raw(i) : top;
            }
            if (num_classes == 0)
            {
                num_classes = std::size_t{top} + 1;
            }
            else if (top >= num_classes)
            {
                std::size_t i = 0;
                while (raw(i) < num_classes)
                {
                    ++i;
                }
                throw data_error(concat(labels.name(), ": label ", int{raw(i)}, " of sample ", i, " is outside [0, ",
                                        num_classes, ")"));
            }
            d.sample_shape = {1, ih.shape[1], ih.shape[2]};
            d.num_classes = num_classes;
            d.name = std::move(name);
            return d;
        }
    }

    /**
     * @brief A classification Dataset from an IDX image file (bytes, N x H x W) and label file (bytes, N).
     *
     * Pixels become T in [0, 1] (value / 255, as torchvision's ToTensor); sample_shape is {1, H, W}.
     * @param images_path the image file (magic 2051), plain or gzip.
     * @param labels_path the label file (magic 2049), plain or gzip.
     * @param name the dataset's name (default: images_path).
     * @param num_classes the number of classes, or 0 to take the largest label + 1.
     * @throws data_error naming the file at fault (see the file comment), including images and
     * labels of different counts and a label >= num_classes.
     */
    template <class T>
    Dataset<T> read_idx_dataset(const std::string& images_path, const std::string& labels_path, std::string name = {},
                                std::size_t num_classes = 0)
    {
        detail::ByteStream images(images_path);
        detail::ByteStream labels(labels_path);
        return detail::idx_dataset_from<T>(images, labels, name.empty() ? images_path : std::move(name), num_classes);
    }

    /** @brief read_idx_dataset() from two memory blocks (plain or gzip), e.g. embedded data or fuzzing input. */
    template <class T>
    Dataset<T> read_idx_dataset(const void* images, std::size_t images_size, const void* labels,
                                std::size_t labels_size, std::string name, std::size_t num_classes = 0)
    {
        detail::ByteStream im(images, images_size, name + " (images)");
        detail::ByteStream lb(labels, labels_size, name + " (labels)");
        return detail::idx_dataset_from<T>(im, lb, std::move(name), num_classes);
    }
}

#endif
