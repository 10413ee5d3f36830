/**
 * @file json.hpp
 * @brief Just enough JSON for a sweep's meta.json: a writer and a strict reader.
 *
 * The reader keeps numbers as their text, so a 64-bit seed or a learning rate reads back exactly
 * (a general JSON library would go through double). It accepts any valid JSON document and rejects
 * anything else with a message giving the byte offset.
 */
#ifndef XTRAIN_EXPERIMENT_DETAIL_JSON_HPP
#define XTRAIN_EXPERIMENT_DETAIL_JSON_HPP

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "xtrain/core/error.hpp"
#include "xtrain/experiment/detail/text_io.hpp"

namespace xtrain
{
    namespace detail
    {
        /** @brief @p s as a JSON string literal, quotes included. */
        inline std::string json_string(std::string_view s)
        {
            std::string out = "\"";
            for (const char c : s)
            {
                switch (c)
                {
                case '"': out += "\\\""; break;
                case '\\': out += "\\\\"; break;
                case '\n': out += "\\n"; break;
                case '\r': out += "\\r"; break;
                case '\t': out += "\\t"; break;
                default:
                    if (static_cast<unsigned char>(c) < 0x20)
                    {
                        static constexpr char hex[] = "0123456789abcdef";
                        out += "\\u00";
                        out += hex[(static_cast<unsigned char>(c) >> 4) & 0xF];
                        out += hex[static_cast<unsigned char>(c) & 0xF];
                    }
                    else
                    {
                        out += c;
                    }
                }
            }
            out += '"';
            return out;
        }

        /** @brief A parsed JSON value; numbers keep their source text. */
        struct JsonValue
        {
            /** @brief The JSON kinds. */
            enum class Kind
            {
                null,
                boolean,
                number,
                string,
                array,
                object
            };
            Kind kind = Kind::null;                              ///< which member below is meaningful
            bool boolean = false;                                ///< for Kind::boolean
            std::string text;                                    ///< the number's text, or the string
            std::vector<JsonValue> items;                        ///< array elements
            std::vector<std::pair<std::string, JsonValue>> members;  ///< object members, in order

            /** @brief The member named @p key, or nullptr. */
            const JsonValue* find(std::string_view key) const
            {
                for (const auto& m : members)
                {
                    if (m.first == key)
                    {
                        return &m.second;
                    }
                }
                return nullptr;
            }
        };

        /** @brief Recursive-descent reader of one JSON document. */
        class JsonReader
        {
        public:
            /** @brief Reads @p text; @p source names the file in error messages. */
            JsonReader(std::string_view text, std::string source)
                : m_text(text), m_source(std::move(source))
            {
            }

            /** @brief Parses the whole document; throws data_error on anything that is not JSON. */
            JsonValue parse()
            {
                JsonValue v = value(0);
                skip_ws();
                if (m_pos != m_text.size())
                {
                    fail("unexpected text after the document");
                }
                return v;
            }

        private:
            [[noreturn]] void fail(std::string_view what) const
            {
                throw data_error(concat(m_source, ": not valid JSON at byte ", m_pos, ": ", what));
            }

            void skip_ws()
            {
                while (m_pos < m_text.size()
                       && (m_text[m_pos] == ' ' || m_text[m_pos] == '\n' || m_text[m_pos] == '\r'
                           || m_text[m_pos] == '\t'))
                {
                    ++m_pos;
                }
            }

            bool consume(std::string_view word)
            {
                if (m_text.substr(m_pos, word.size()) == word)
                {
                    m_pos += word.size();
                    return true;
                }
                return false;
            }

            JsonValue value(int depth)
            {
                if (depth > 64)
                {
                    fail("nested too deeply");
                }
                skip_ws();
                if (m_pos >= m_text.size())
                {
                    fail("unexpected end");
                }
                JsonValue v;
                const char c = m_text[m_pos];
                if (c == '{')
                {
                    v.kind = JsonValue::Kind::object;
                    ++m_pos;
                    skip_ws();
                    if (consume("}"))
                    {
                        return v;
                    }
                    while (true)
                    {
                        skip_ws();
                        if (m_pos >= m_text.size() || m_text[m_pos] != '"')
                        {
                            fail("expected a member name");
                        }
                        std::string key = string_body();
                        skip_ws();
                        if (!consume(":"))
                        {
                            fail("expected ':'");
                        }
                        v.members.emplace_back(std::move(key), value(depth + 1));
                        skip_ws();
                        if (consume("}"))
                        {
                            return v;
                        }
                        if (!consume(","))
                        {
                            fail("expected ',' or '}'");
                        }
                    }
                }
                if (c == '[')
                {
                    v.kind = JsonValue::Kind::array;
                    ++m_pos;
                    skip_ws();
                    if (consume("]"))
                    {
                        return v;
                    }
                    while (true)
                    {
                        v.items.push_back(value(depth + 1));
                        skip_ws();
                        if (consume("]"))
                        {
                            return v;
                        }
                        if (!consume(","))
                        {
                            fail("expected ',' or ']'");
                        }
                    }
                }
                if (c == '"')
                {
                    v.kind = JsonValue::Kind::string;
                    v.text = string_body();
                    return v;
                }
                if (consume("true"))
                {
                    v.kind = JsonValue::Kind::boolean;
                    v.boolean = true;
                    return v;
                }
                if (consume("false"))
                {
                    v.kind = JsonValue::Kind::boolean;
                    return v;
                }
                if (consume("null"))
                {
                    return v;
                }
                if (c == '-' || (c >= '0' && c <= '9'))
                {
                    const std::size_t start = m_pos;
                    ++m_pos;
                    while (m_pos < m_text.size()
                           && ((m_text[m_pos] >= '0' && m_text[m_pos] <= '9') || m_text[m_pos] == '.'
                               || m_text[m_pos] == 'e' || m_text[m_pos] == 'E' || m_text[m_pos] == '+'
                               || m_text[m_pos] == '-'))
                    {
                        ++m_pos;
                    }
                    v.kind = JsonValue::Kind::number;
                    v.text = std::string(m_text.substr(start, m_pos - start));
                    double check = 0.0;
                    if (!parse_double(v.text, check))
                    {
                        m_pos = start;
                        fail("malformed number");
                    }
                    return v;
                }
                fail("unexpected character");
            }

            static void put_utf8(std::string& out, std::uint32_t cp)
            {
                if (cp < 0x80)
                {
                    out += static_cast<char>(cp);
                }
                else if (cp < 0x800)
                {
                    out += static_cast<char>(0xC0 | (cp >> 6));
                    out += static_cast<char>(0x80 | (cp & 0x3F));
                }
                else if (cp < 0x10000)
                {
                    out += static_cast<char>(0xE0 | (cp >> 12));
                    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
                    out += static_cast<char>(0x80 | (cp & 0x3F));
                }
                else
                {
                    out += static_cast<char>(0xF0 | (cp >> 18));
                    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
                    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
                    out += static_cast<char>(0x80 | (cp & 0x3F));
                }
            }

            std::uint32_t hex4()
            {
                if (m_pos + 4 > m_text.size())
                {
                    fail("truncated \\u escape");
                }
                std::uint32_t v = 0;
                for (int i = 0; i < 4; ++i)
                {
                    const char h = m_text[m_pos++];
                    v <<= 4;
                    if (h >= '0' && h <= '9')
                    {
                        v |= static_cast<std::uint32_t>(h - '0');
                    }
                    else if (h >= 'a' && h <= 'f')
                    {
                        v |= static_cast<std::uint32_t>(h - 'a' + 10);
                    }
                    else if (h >= 'A' && h <= 'F')
                    {
                        v |= static_cast<std::uint32_t>(h - 'A' + 10);
                    }
                    else
                    {
                        fail("bad \\u escape");
                    }
                }
                return v;
            }

            std::string string_body()
            {
                ++m_pos;  // opening quote
                std::string out;
                while (true)
                {
                    if (m_pos >= m_text.size())
                    {
                        fail("unterminated string");
                    }
                    const char c = m_text[m_pos++];
                    if (c == '"')
                    {
                        return out;
                    }
                    if (static_cast<unsigned char>(c) < 0x20)
                    {
                        fail("control character in a string");
                    }
                    if (c != '\\')
                    {
                        out += c;
                        continue;
                    }
                    if (m_pos >= m_text.size())
                    {
                        fail("unterminated escape");
                    }
                    const char e = m_text[m_pos++];
                    switch (e)
                    {
                    case '"': out += '"'; break;
                    case '\\': out += '\\'; break;
                    case '/': out += '/'; break;
                    case 'b': out += '\b'; break;
                    case 'f': out += '\f'; break;
                    case 'n': out += '\n'; break;
                    case 'r': out += '\r'; break;
                    case 't': out += '\t'; break;
                    case 'u':
                    {
                        std::uint32_t cp = hex4();
                        if (cp >= 0xD800 && cp < 0xDC00)
                        {
                            if (!consume("\\u"))
                            {
                                fail("unpaired surrogate");
                            }
                            const std::uint32_t lo = hex4();
                            if (lo < 0xDC00 || lo >= 0xE000)
                            {
                                fail("unpaired surrogate");
                            }
                            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                        }
                        else if (cp >= 0xDC00 && cp < 0xE000)
                        {
                            fail("unpaired surrogate");
                        }
                        put_utf8(out, cp);
                        break;
                    }
                    default: fail("unknown escape");
                    }
                }
            }

            std::string_view m_text;
            std::string m_source;
            std::size_t m_pos = 0;
        };
    }
}

#endif
