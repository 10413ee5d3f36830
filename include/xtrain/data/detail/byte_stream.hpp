/**
 * @file byte_stream.hpp
 * @brief Internal: reads the bytes of a file or a memory block, inflating gzip on the fly.
 *
 * The readers see one stream of bytes whether the data is plain or gzip-compressed (recognised by
 * its magic bytes 1f 8b, not by the file name). Data is inflated in chunks straight into the
 * caller's buffer, so a 47 MB image file is never held twice. Every failure is a data_error that
 * names the source.
 */
#ifndef XTRAIN_DATA_DETAIL_BYTE_STREAM_HPP
#define XTRAIN_DATA_DETAIL_BYTE_STREAM_HPP

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include <zlib.h>

#include "xtrain/core/error.hpp"

namespace xtrain::detail
{
    /**
     * @brief Sequential reader over a file or memory block, gzip or plain.
     *
     * Not copyable (it owns a FILE* and a zlib stream); movable through unique_ptr by its users.
     */
    class ByteStream
    {
    public:
        /** @brief deflate cannot expand data by more than about 1032:1; used to bound claimed sizes. */
        static constexpr std::uint64_t max_inflate_ratio = 1032;

        /** @brief Opens @p path. @throws data_error if it cannot be opened or read. */
        explicit ByteStream(const std::string& path) : m_name(path)
        {
            m_file = std::fopen(path.c_str(), "rb");
            if (m_file == nullptr)
            {
                const int err = errno;
                throw data_error(concat(path, ": cannot open (", std::strerror(err), ")"));
            }
            if (std::fseek(m_file, 0, SEEK_END) != 0)
            {
                close_file();
                throw data_error(concat(path, ": cannot determine the file size (not a regular file?)"));
            }
            const long end = std::ftell(m_file);
            if (end < 0 || std::fseek(m_file, 0, SEEK_SET) != 0)
            {
                close_file();
                throw data_error(concat(path, ": cannot determine the file size (not a regular file?)"));
            }
            m_raw_size = static_cast<std::uint64_t>(end);
            try
            {
                m_inbuf.resize(chunk_size);
                start();
            }
            catch (...)
            {
                // The destructor does not run for an object whose constructor threw.
                close_file();
                throw;
            }
        }

        /** @brief Reads the @p size bytes at @p data (not copied: they must outlive the stream); @p name is for messages. */
        ByteStream(const void* data, std::size_t size, std::string name)
            : m_name(std::move(name))
            , m_mem(static_cast<const unsigned char*>(data))
            , m_raw_size(size)
        {
            start();
        }

        ByteStream(const ByteStream&) = delete;
        ByteStream& operator=(const ByteStream&) = delete;

        ~ByteStream()
        {
            if (m_gzip)
            {
                inflateEnd(&m_zs);
            }
            close_file();
        }

        /** @brief The name used in messages (the path for a file). */
        const std::string& name() const noexcept { return m_name; }
        /** @brief True if the source is gzip-compressed. */
        bool is_gzip() const noexcept { return m_gzip; }
        /** @brief Size of the source as stored (compressed size for gzip). */
        std::uint64_t raw_size() const noexcept { return m_raw_size; }
        /** @brief Bytes delivered by read() so far. */
        std::uint64_t position() const noexcept { return m_pos; }

        /**
         * @brief An upper bound on the bytes still to come: exact for plain data, the deflate
         * expansion limit for gzip. Lets a reader refuse a header that claims more than the
         * source can hold before allocating anything.
         */
        std::uint64_t max_remaining() const noexcept
        {
            if (!m_gzip)
            {
                return m_raw_size - m_pos;
            }
            const std::uint64_t cap = std::numeric_limits<std::uint64_t>::max() / max_inflate_ratio;
            return m_raw_size > cap ? std::numeric_limits<std::uint64_t>::max() : m_raw_size * max_inflate_ratio + 1024;
        }

        /** @brief Reads up to @p n bytes into @p dst; fewer only at the end of the data. @throws data_error for corrupt gzip. */
        std::size_t read(void* dst, std::size_t n)
        {
            auto* out = static_cast<unsigned char*>(dst);
            std::size_t got = 0;
            if (!m_gzip)
            {
                got = read_raw(out, n);
            }
            else
            {
                while (got < n && !m_eof)
                {
                    got += inflate_some(out + got, n - got);
                }
            }
            m_pos += got;
            return got;
        }

        /** @brief Reads exactly @p n bytes. @throws data_error naming @p what if the data ends first. */
        void read_exact(void* dst, std::size_t n, const char* what)
        {
            const std::size_t got = read(dst, n);
            if (got != n)
            {
                throw data_error(concat(m_name, ": truncated: the ", what, " needs ", n, " bytes at offset ",
                                        m_pos - got, " but only ", got, " remain"));
            }
        }

        /**
         * @brief Counts the bytes left (reading them), at most @p limit + 1; also checks the gzip
         * checksum at the end of the stream. Used to report data beyond what a header claims.
         */
        std::uint64_t skip_rest(std::uint64_t limit)
        {
            unsigned char tmp[4096];
            std::uint64_t extra = 0;
            while (extra <= limit)
            {
                const std::size_t got = read(tmp, sizeof tmp);
                if (got == 0)
                {
                    break;
                }
                extra += got;
            }
            return extra;
        }

    private:
        static constexpr std::size_t chunk_size = std::size_t{1} << 18;

        void close_file() noexcept
        {
            if (m_file != nullptr)
            {
                std::fclose(m_file);
                m_file = nullptr;
            }
        }

        // Peeks at the magic bytes and sets up inflation for gzip.
        void start()
        {
            const unsigned char* head = nullptr;
            std::size_t avail = 0;
            if (m_mem != nullptr || m_raw_size == 0)
            {
                head = m_mem;
                avail = static_cast<std::size_t>(m_raw_size);
            }
            else
            {
                fill_input();
                head = m_inbuf.data();
                avail = m_in_avail;
            }
            m_gzip = avail >= 2 && head[0] == 0x1f && head[1] == 0x8b;
            if (!m_gzip)
            {
                return;
            }
            std::memset(&m_zs, 0, sizeof m_zs);
            // 16 + MAX_WBITS: expect a gzip header and trailer (CRC-32 and length are checked by zlib).
            const int rc = inflateInit2(&m_zs, 16 + MAX_WBITS);
            if (rc != Z_OK)
            {
                m_gzip = false;
                if (rc == Z_MEM_ERROR)
                {
                    throw std::bad_alloc();
                }
                throw data_error(concat(m_name, ": cannot start gzip decompression (zlib error ", rc, ")"));
            }
            if (m_mem != nullptr)
            {
                m_zs.next_in = const_cast<Bytef*>(m_mem);
                m_zs.avail_in = 0;
                m_mem_left = static_cast<std::size_t>(m_raw_size);
            }
            else
            {
                m_zs.next_in = m_inbuf.data();
                m_zs.avail_in = static_cast<uInt>(m_in_avail);
                m_in_avail = 0;
            }
        }

        // Reads the next chunk of the file into m_inbuf (plain files read around it).
        void fill_input()
        {
            m_in_avail = std::fread(m_inbuf.data(), 1, m_inbuf.size(), m_file);
            if (m_in_avail < m_inbuf.size() && std::ferror(m_file))
            {
                throw data_error(concat(m_name, ": read error at byte ", m_raw_pos, " (", std::strerror(errno), ")"));
            }
            m_raw_pos += m_in_avail;
        }

        std::size_t read_raw(unsigned char* out, std::size_t n)
        {
            if (m_mem != nullptr)
            {
                const std::size_t left = static_cast<std::size_t>(m_raw_size) - m_raw_pos;
                const std::size_t k = n < left ? n : left;
                if (k != 0)
                {
                    std::memcpy(out, m_mem + m_raw_pos, k);
                }
                m_raw_pos += k;
                return k;
            }
            if (m_file == nullptr)
            {
                return 0;
            }
            std::size_t got = 0;
            // Bytes peeked by start() come first.
            if (m_in_avail > m_in_used)
            {
                const std::size_t k = std::min(n, m_in_avail - m_in_used);
                std::memcpy(out, m_inbuf.data() + m_in_used, k);
                m_in_used += k;
                got += k;
            }
            if (got < n)
            {
                const std::size_t k = std::fread(out + got, 1, n - got, m_file);
                if (k < n - got && std::ferror(m_file))
                {
                    throw data_error(concat(m_name, ": read error at byte ", m_raw_pos, " (", std::strerror(errno), ")"));
                }
                m_raw_pos += k;
                got += k;
            }
            return got;
        }

        // Inflates into out[0..n); returns bytes produced (0 only at the end of the data).
        std::size_t inflate_some(unsigned char* out, std::size_t n)
        {
            const uInt want = n > std::numeric_limits<uInt>::max() ? std::numeric_limits<uInt>::max() : static_cast<uInt>(n);
            m_zs.next_out = out;
            m_zs.avail_out = want;
            while (m_zs.avail_out != 0)
            {
                if (m_zs.avail_in == 0 && !refill())
                {
                    if (m_member_done)
                    {
                        m_eof = true;
                        break;
                    }
                    throw data_error(concat(m_name, ": truncated gzip data (the compressed stream ends after ",
                                            m_pos + (want - m_zs.avail_out), " bytes, before its end marker)"));
                }
                if (m_member_done)
                {
                    // More bytes after a complete gzip member: another member (as gzip -d accepts).
                    if (inflateReset(&m_zs) != Z_OK)
                    {
                        throw data_error(concat(m_name, ": cannot restart gzip decompression"));
                    }
                    m_member_done = false;
                }
                const int rc = inflate(&m_zs, Z_NO_FLUSH);
                if (rc == Z_STREAM_END)
                {
                    m_member_done = true;
                }
                else if (rc == Z_MEM_ERROR)
                {
                    throw std::bad_alloc();
                }
                else if (rc != Z_OK && rc != Z_BUF_ERROR)
                {
                    const char* msg = m_zs.msg != nullptr ? m_zs.msg : "invalid data";
                    throw data_error(concat(m_name, ": corrupt gzip data near uncompressed byte ",
                                            m_pos + (want - m_zs.avail_out), " (zlib: ", msg, ")"));
                }
            }
            return want - m_zs.avail_out;
        }

        // Makes more compressed input available; false when the source is exhausted.
        bool refill()
        {
            if (m_mem != nullptr)
            {
                if (m_mem_left == 0)
                {
                    return false;
                }
                const std::size_t offered = static_cast<std::size_t>(m_zs.next_in - m_mem);
                const std::size_t k = std::min<std::size_t>(m_mem_left, std::numeric_limits<uInt>::max());
                m_zs.next_in = const_cast<Bytef*>(m_mem + offered);
                m_zs.avail_in = static_cast<uInt>(k);
                m_mem_left -= k;
                return true;
            }
            fill_input();
            m_zs.next_in = m_inbuf.data();
            m_zs.avail_in = static_cast<uInt>(m_in_avail);
            m_in_avail = 0;
            return m_zs.avail_in != 0;
        }

        std::string m_name;
        std::FILE* m_file = nullptr;
        const unsigned char* m_mem = nullptr;
        std::size_t m_mem_left = 0;
        std::uint64_t m_raw_size = 0;
        std::uint64_t m_raw_pos = 0;
        std::uint64_t m_pos = 0;
        std::vector<unsigned char> m_inbuf;
        std::size_t m_in_avail = 0;
        std::size_t m_in_used = 0;
        bool m_gzip = false;
        bool m_member_done = false;
        bool m_eof = false;
        z_stream m_zs{};
    };
}

#endif
