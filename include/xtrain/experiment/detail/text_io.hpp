/**
 * @file text_io.hpp
 * @brief Internals of the sweep's files: exact number text, CSV lines, hashing, atomic rewrites.
 *
 * Numbers are written with `std::to_chars` in its shortest form that reads back to the same value
 * (at most max_digits10 significant digits, usually far fewer: 0.1 is written "0.1"), and read with
 * `std::from_chars`; both ignore the locale, so a results folder means the same on every machine.
 * Not-a-number is written "nan" and infinities "inf" / "-inf".
 */
#ifndef XTRAIN_EXPERIMENT_DETAIL_TEXT_IO_HPP
#define XTRAIN_EXPERIMENT_DETAIL_TEXT_IO_HPP

#include <charconv>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "xtrain/core/error.hpp"
#include "xtrain/core/file_io.hpp"

namespace xtrain
{
    namespace detail
    {
        /** @brief "a, b, c": @p names joined by @p sep, for messages and help texts. */
        inline std::string join_names(const std::vector<std::string>& names, const char* sep = ", ")
        {
            std::string out;
            for (const std::string& n : names)
            {
                out += (out.empty() ? "" : sep) + n;
            }
            return out;
        }

        /** @brief Shortest text that reads back to exactly @p v ("nan", "inf", "-inf" when not finite). */
        inline std::string format_double(double v) { return shortest_text(v); }

        /** @brief Decimal text of an unsigned integer. */
        inline std::string format_uint(std::uint64_t v)
        {
            char buf[32];
            const auto r = std::to_chars(buf, buf + sizeof(buf), v);
            return std::string(buf, r.ptr);
        }

        /** @brief Parses the whole of @p s as a double ("nan", "inf", "-inf" accepted); false if it is not one. */
        inline bool parse_double(std::string_view s, double& out) noexcept
        {
            if (s.empty())
            {
                return false;
            }
            const char* first = s.data();
            const char* last = s.data() + s.size();
            const auto r = std::from_chars(first, last, out);
            return r.ec == std::errc() && r.ptr == last;
        }

        /** @brief Parses the whole of @p s as an unsigned decimal integer; false if it is not one. */
        inline bool parse_uint(std::string_view s, std::uint64_t& out) noexcept
        {
            if (s.empty())
            {
                return false;
            }
            const char* last = s.data() + s.size();
            const auto r = std::from_chars(s.data(), last, out);
            return r.ec == std::errc() && r.ptr == last;
        }

        /** @brief 64-bit FNV-1a over @p text: the grid fingerprint (stable across platforms). */
        inline std::uint64_t fnv1a64(std::string_view text) noexcept
        {
            std::uint64_t h = 0xcbf29ce484222325ULL;
            for (const char c : text)
            {
                h ^= static_cast<unsigned char>(c);
                h *= 0x100000001b3ULL;
            }
            return h;
        }

        /** @brief @p v as 16 lower-case hexadecimal digits. */
        inline std::string hex64(std::uint64_t v)
        {
            static constexpr char digits[] = "0123456789abcdef";
            std::string s(16, '0');
            for (int i = 15; i >= 0; --i)
            {
                s[static_cast<std::size_t>(i)] = digits[v & 0xFU];
                v >>= 4;
            }
            return s;
        }

        /** @brief A CSV field: quoted (with doubled quotes) only when it holds a comma, quote or line break. */
        inline std::string csv_field(std::string_view s)
        {
            if (s.find_first_of(",\"\r\n") == std::string_view::npos)
            {
                return std::string(s);
            }
            std::string out = "\"";
            for (const char c : s)
            {
                if (c == '"')
                {
                    out += "\"\"";
                }
                else if (c == '\r' || c == '\n')
                {
                    out += ' ';  // one record per line, always: line breaks become spaces
                }
                else
                {
                    out += c;
                }
            }
            out += '"';
            return out;
        }

        /**
         * @brief Splits one CSV line (no line break) into fields, honouring RFC 4180 quotes.
         * @return false if a quoted field is not closed or is followed by something other than a comma.
         */
        inline bool split_csv_line(std::string_view line, std::vector<std::string>& fields)
        {
            fields.clear();
            std::size_t i = 0;
            const std::size_t n = line.size();
            while (true)
            {
                std::string field;
                if (i < n && line[i] == '"')
                {
                    ++i;
                    bool closed = false;
                    while (i < n)
                    {
                        if (line[i] == '"')
                        {
                            if (i + 1 < n && line[i + 1] == '"')
                            {
                                field += '"';
                                i += 2;
                                continue;
                            }
                            ++i;
                            closed = true;
                            break;
                        }
                        field += line[i++];
                    }
                    if (!closed || (i < n && line[i] != ','))
                    {
                        return false;
                    }
                }
                else
                {
                    const std::size_t end = line.find(',', i);
                    const std::size_t stop = end == std::string_view::npos ? n : end;
                    field.assign(line.substr(i, stop - i));
                    if (field.find('"') != std::string::npos)
                    {
                        return false;
                    }
                    i = stop;
                }
                fields.push_back(std::move(field));
                if (i >= n)
                {
                    return true;
                }
                ++i;  // the comma
                if (i == n)
                {
                    fields.emplace_back();  // a trailing comma ends with an empty field
                    return true;
                }
            }
        }

        /** @brief The lines of a text file, and whether its last line lacked its line break (a cut write). */
        struct TextLines
        {
            std::vector<std::string> lines;  ///< complete lines, without their '\n'
            std::string partial;             ///< text after the last '\n' (empty if the file ends with one)
        };

        /** @brief Reads @p path whole; throws data_error naming it if it cannot be read. */
        inline std::string read_file_text(const std::filesystem::path& path)
        {
            std::ifstream in(path, std::ios::binary);
            if (!in)
            {
                throw data_error(concat("cannot open '", path.string(), "' for reading"));
            }
            std::ostringstream ss;
            ss << in.rdbuf();
            if (in.bad())
            {
                throw data_error(concat("cannot read '", path.string(), "'"));
            }
            return ss.str();
        }

        /** @brief Splits a file's text into complete lines and a trailing partial line. */
        inline TextLines split_lines(const std::string& text)
        {
            TextLines out;
            std::size_t start = 0;
            while (start < text.size())
            {
                const std::size_t nl = text.find('\n', start);
                if (nl == std::string::npos)
                {
                    out.partial = text.substr(start);
                    break;
                }
                std::size_t end = nl;
                if (end > start && text[end - 1] == '\r')
                {
                    --end;  // tolerate CRLF from an editor
                }
                out.lines.emplace_back(text, start, end - start);
                start = nl + 1;
            }
            return out;
        }

        /** @brief True if @p s is usable as an optimizer or schedule name in the CSV files. */
        inline bool is_plain_label(std::string_view s) noexcept
        {
            for (const char c : s)
            {
                const auto u = static_cast<unsigned char>(c);
                if (c == ',' || c == '"' || u < 0x20 || u == 0x7f)
                {
                    return false;
                }
            }
            return true;
        }
    }
}

#endif
