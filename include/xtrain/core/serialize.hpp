/**
 * @file serialize.hpp
 * @brief A small binary writer and reader for checkpoints: little-endian, tagged, CRC-32 checked.
 *
 * Every piece of state that a resumed run needs (parameters, optimizer state, sampler position,
 * random engines) writes itself through a BinaryWriter and reads itself back through a
 * BinaryReader. Values are written little-endian whatever the host, so a checkpoint moves between
 * machines. Sections start with a tag, so that reading state of one kind where another was
 * written fails with a message naming both. A CRC-32 (the zlib/PNG polynomial) over everything
 * written lets the reader refuse a file that was damaged.
 */
#ifndef XTRAIN_CORE_SERIALIZE_HPP
#define XTRAIN_CORE_SERIALIZE_HPP

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <istream>
#include <limits>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <zlib.h>

#include "xtrain/core/error.hpp"
#include "xtrain/core/random.hpp"

namespace xtrain
{
    /** @brief Continues a CRC-32 (zlib's polynomial) over @p n bytes; start with crc = 0. */
    inline std::uint32_t crc32_update(std::uint32_t crc, const void* data, std::size_t n) noexcept
    {
        // zlib's crc32 (already a dependency for the gzip readers) takes at most a uInt per call.
        const auto* p = static_cast<const Bytef*>(data);
        uLong c = crc;
        while (n > 0)
        {
            const uInt chunk = static_cast<uInt>(std::min<std::size_t>(n, std::numeric_limits<uInt>::max()));
            c = ::crc32(c, p, chunk);
            p += chunk;
            n -= chunk;
        }
        return static_cast<std::uint32_t>(c);
    }

    /** @brief Writes little-endian values to a stream and keeps a CRC-32 of all bytes written. */
    class BinaryWriter
    {
    public:
        /** @brief Writes to @p os, which must outlive the writer. */
        explicit BinaryWriter(std::ostream& os) noexcept : m_os(os) {}

        /** @brief Writes raw bytes. @throws checkpoint_error if the stream fails. */
        void write_bytes(const void* data, std::size_t n)
        {
            m_os.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
            if (!m_os)
            {
                throw checkpoint_error("xtrain::BinaryWriter: writing failed (disk full or stream closed?)");
            }
            m_crc = crc32_update(m_crc, data, n);
            m_count += n;
        }

        /** @brief Writes an integer, bool or floating-point value, little-endian. */
        template <class V>
        void write(V v)
        {
            static_assert(std::is_arithmetic_v<V>, "BinaryWriter::write takes arithmetic values");
            if constexpr (std::is_same_v<V, bool>)
            {
                const unsigned char b = v ? 1 : 0;
                write_bytes(&b, 1);
                return;
            }
            unsigned char buf[sizeof(V)];
            std::memcpy(buf, &v, sizeof(V));
            if (!host_is_little_endian())
            {
                for (std::size_t i = 0; i < sizeof(V) / 2; ++i)
                {
                    std::swap(buf[i], buf[sizeof(V) - 1 - i]);
                }
            }
            write_bytes(buf, sizeof(V));
        }

        /** @brief Writes a length-prefixed string. */
        void write_string(std::string_view s)
        {
            write<std::uint64_t>(s.size());
            write_bytes(s.data(), s.size());
        }

        /** @brief Starts a section: readers check it with BinaryReader::expect_tag. */
        void write_tag(std::string_view tag) { write_string(tag); }

        /** @brief Writes a length-prefixed array of arithmetic values. */
        template <class V>
        void write_array(const V* data, std::size_t n)
        {
            write<std::uint64_t>(n);
            if (host_is_little_endian())
            {
                write_bytes(data, n * sizeof(V));
            }
            else
            {
                for (std::size_t i = 0; i < n; ++i)
                {
                    write(data[i]);
                }
            }
        }

        /** @brief Writes the state of a random engine. */
        void write_rng(const Rng& rng)
        {
            for (std::uint64_t w : rng.state())
            {
                write(w);
            }
            write(rng.has_spare_normal());
            write(rng.spare_normal());
        }

        /** @brief CRC-32 of everything written so far. */
        std::uint32_t crc() const noexcept { return m_crc; }
        /** @brief Number of bytes written so far. */
        std::uint64_t count() const noexcept { return m_count; }

        /** @brief True on little-endian hosts (checked at run time; C++17 has no std::endian). */
        static bool host_is_little_endian() noexcept
        {
            const std::uint16_t one = 1;
            unsigned char b = 0;
            std::memcpy(&b, &one, 1);
            return b == 1;
        }

    private:
        std::ostream& m_os;
        std::uint32_t m_crc = 0;
        std::uint64_t m_count = 0;
    };

    /** @brief Reads what a BinaryWriter wrote; every failure is a checkpoint_error naming the source. */
    class BinaryReader
    {
    public:
        /** @brief Reads from @p is; @p source names it in messages (e.g. the file path). */
        BinaryReader(std::istream& is, std::string source) : m_is(is), m_source(std::move(source)) {}

        /** @brief Reads exactly @p n bytes. @throws checkpoint_error if the data ends first. */
        void read_bytes(void* data, std::size_t n)
        {
            m_is.read(static_cast<char*>(data), static_cast<std::streamsize>(n));
            if (static_cast<std::size_t>(m_is.gcount()) != n)
            {
                fail(detail::concat("truncated: needed ", n, " more bytes at offset ", m_count));
            }
            m_crc = crc32_update(m_crc, data, n);
            m_count += n;
        }

        /** @brief Reads one little-endian arithmetic value. */
        template <class V>
        V read()
        {
            static_assert(std::is_arithmetic_v<V>, "BinaryReader::read returns arithmetic values");
            if constexpr (std::is_same_v<V, bool>)
            {
                // Copying an arbitrary byte into a bool is undefined; check it is 0 or 1 first.
                unsigned char b = 0;
                read_bytes(&b, 1);
                if (b > 1)
                {
                    fail(detail::concat("a boolean holds the byte ", static_cast<int>(b), " at offset ", m_count - 1));
                }
                return b == 1;
            }
            unsigned char buf[sizeof(V)];
            read_bytes(buf, sizeof(V));
            if (!BinaryWriter::host_is_little_endian())
            {
                for (std::size_t i = 0; i < sizeof(V) / 2; ++i)
                {
                    std::swap(buf[i], buf[sizeof(V) - 1 - i]);
                }
            }
            V v;
            std::memcpy(&v, buf, sizeof(V));
            return v;
        }

        /** @brief Reads a length-prefixed string of at most @p max_len bytes. */
        std::string read_string(std::size_t max_len = 1U << 20)
        {
            const auto n = read<std::uint64_t>();
            if (n > max_len)
            {
                fail(detail::concat("a string of ", n, " bytes is longer than the limit of ", max_len));
            }
            std::string s(static_cast<std::size_t>(n), '\0');
            read_bytes(s.data(), s.size());
            return s;
        }

        /** @brief Reads a section tag and checks it is @p tag. */
        void expect_tag(std::string_view tag)
        {
            const std::string got = read_string(256);
            if (got != tag)
            {
                fail(detail::concat("expected section '", tag, "' but found '", got, "'"));
            }
        }

        /**
         * @brief Reads an array written by write_array into @p data, which holds exactly @p n values.
         * @throws checkpoint_error if the stored length is not @p n (@p what names the array).
         */
        template <class V>
        void read_array(V* data, std::size_t n, std::string_view what)
        {
            const auto stored = read<std::uint64_t>();
            if (stored != n)
            {
                fail(detail::concat(what, " holds ", stored, " values where ", n, " were expected"));
            }
            if (BinaryWriter::host_is_little_endian())
            {
                read_bytes(data, n * sizeof(V));
            }
            else
            {
                for (std::size_t i = 0; i < n; ++i)
                {
                    data[i] = read<V>();
                }
            }
        }

        /** @brief Reads the length of an array written by write_array (then read its values with read_array_values). */
        std::uint64_t read_array_length(std::uint64_t max_len, std::string_view what)
        {
            const auto n = read<std::uint64_t>();
            if (n > max_len)
            {
                fail(detail::concat(what, " claims ", n, " values, more than the limit of ", max_len));
            }
            return n;
        }

        /**
         * @brief Reads a byte array written by write_array (of unsigned char) into @p out, in chunks,
         * so that a damaged length fails at the end of the data instead of allocating it up front.
         */
        void read_byte_array(std::vector<unsigned char>& out, std::uint64_t max_len, std::string_view what)
        {
            const std::uint64_t n = read_array_length(max_len, what);
            out.clear();
            constexpr std::uint64_t chunk = std::uint64_t(1) << 20;
            for (std::uint64_t done = 0; done < n;)
            {
                const std::uint64_t k = std::min(chunk, n - done);
                out.resize(static_cast<std::size_t>(done + k));
                read_bytes(out.data() + done, static_cast<std::size_t>(k));
                done += k;
            }
        }

        /** @brief Reads the state of a random engine written by write_rng. */
        Rng read_rng()
        {
            Rng::state_type s{};
            for (auto& w : s)
            {
                w = read<std::uint64_t>();
            }
            const bool has_spare = read<bool>();
            const double spare = read<double>();
            Rng r;
            r.set_state(s, has_spare, spare);
            return r;
        }

        /** @brief CRC-32 of everything read so far. */
        std::uint32_t crc() const noexcept { return m_crc; }
        /** @brief Number of bytes read so far. */
        std::uint64_t count() const noexcept { return m_count; }
        /** @brief The name given to the source. */
        const std::string& source() const noexcept { return m_source; }

        /** @brief Throws checkpoint_error "<source>: <what>". */
        [[noreturn]] void fail(const std::string& what) const
        {
            throw checkpoint_error(detail::concat(m_source, ": ", what));
        }

    private:
        std::istream& m_is;
        std::string m_source;
        std::uint32_t m_crc = 0;
        std::uint64_t m_count = 0;
    };
}

#endif
