// Reading docs/*.md and the headers for the checks of test_docs.cpp: the C++ blocks of a page with
// the marker line before each, a declaration listing's pieces, and the tables of a page.
#ifndef XTRAIN_TESTS_DOCS_DOC_PAGES_HPP
#define XTRAIN_TESTS_DOCS_DOC_PAGES_HPP

#include <cctype>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace xtrain::test::docs
{
    inline std::string read_text(const std::filesystem::path& path)
    {
        std::ifstream in(path, std::ios::binary);
        if (!in)
        {
            throw std::runtime_error(path.string() + ": cannot open");
        }
        std::ostringstream s;
        s << in.rdbuf();
        return s.str();
    }

    inline std::vector<std::string> split_lines(const std::string& text)
    {
        std::vector<std::string> lines;
        std::istringstream in(text);
        std::string line;
        while (std::getline(in, line))
        {
            lines.push_back(line);
        }
        return lines;
    }

    inline std::string trim(const std::string& s)
    {
        const auto first = s.find_first_not_of(" \t\r");
        if (first == std::string::npos)
        {
            return "";
        }
        return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
    }

    /** @brief One ```cpp block: its page, the page line of its fence, the marker before it, its lines. */
    struct CodeBlock
    {
        std::string page;   // "docs/data.md"
        std::size_t line;   // 1-based line of the opening fence
        std::string marker; // the line before the fence, trimmed
        std::vector<std::string> lines;

        std::string first_line() const
        {
            for (const std::string& l : lines)
            {
                if (!trim(l).empty())
                {
                    return trim(l);
                }
            }
            return "";
        }
        std::string where() const
        {
            return page + ":" + std::to_string(line) + " (block starting \"" + first_line() + "\")";
        }
    };

    inline std::vector<CodeBlock> cpp_blocks(const std::filesystem::path& page, const std::string& page_name)
    {
        const std::vector<std::string> lines = split_lines(read_text(page));
        std::vector<CodeBlock> blocks;
        for (std::size_t i = 0; i < lines.size(); ++i)
        {
            if (trim(lines[i]).rfind("```", 0) != 0)
            {
                continue;
            }
            const bool cpp = trim(lines[i]).rfind("```cpp", 0) == 0;
            CodeBlock b{page_name, i + 1, i > 0 ? trim(lines[i - 1]) : "", {}};
            for (++i; i < lines.size() && trim(lines[i]).rfind("```", 0) != 0; ++i)
            {
                b.lines.push_back(lines[i]);
            }
            if (cpp)
            {
                blocks.push_back(b);
            }
        }
        return blocks;
    }

    inline bool is_identifier_char(char c)
    {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
    }

    /**
     * @brief C++ text reduced for comparison: comments dropped, whitespace kept only between two
     * identifier characters (as one space), and inside parentheses the names of parameters dropped
     * (`f(const A& a, int n = 1)` reads `f(const A&,int=1)`), so a listing may name them or not.
     */
    inline std::string normalize_cpp(const std::string& text)
    {
        std::string code;
        for (std::size_t i = 0; i < text.size(); ++i)
        {
            if (text.compare(i, 2, "//") == 0)
            {
                i = text.find('\n', i);
                if (i == std::string::npos)
                {
                    break;
                }
                code += '\n';
            }
            else if (text.compare(i, 2, "/*") == 0)
            {
                const auto end = text.find("*/", i + 2);
                i = end == std::string::npos ? text.size() : end + 1;
                code += ' ';
            }
            else
            {
                code += text[i];
            }
        }
        std::string out;
        bool space = false;
        for (char c : code)
        {
            if (std::isspace(static_cast<unsigned char>(c)) != 0)
            {
                space = true;
                continue;
            }
            if (space && !out.empty() && is_identifier_char(out.back()) && is_identifier_char(c))
            {
                out += ' ';
            }
            space = false;
            out += c;
        }
        std::string named;
        int depth = 0;
        for (std::size_t i = 0; i < out.size(); ++i)
        {
            const char c = out[i];
            depth += c == '(' ? 1 : c == ')' ? -1 : 0;
            if (depth > 0 && is_identifier_char(c) && (i == 0 || !is_identifier_char(out[i - 1])))
            {
                std::size_t end = i;
                while (end < out.size() && is_identifier_char(out[end]))
                {
                    ++end;
                }
                const char before = i > 0 ? out[i - 1] : '(';
                const char after = end < out.size() ? out[end] : ')';
                const bool after_type = before == '&' || before == '*' || before == '>'
                                        || (before == ' ' && i > 1 && is_identifier_char(out[i - 2]));
                const bool a_keyword = out.compare(i, end - i, "const") == 0;
                if (after_type && !a_keyword && (after == ',' || after == ')' || after == '='))
                {
                    if (before == ' ')
                    {
                        named.pop_back();
                    }
                    i = end - 1;
                    continue;
                }
            }
            named += c;
        }
        return named;
    }

    /** @brief The declarations of a listing: its normalized text cut at ';', '{' and '}' outside parentheses. */
    inline std::vector<std::string> declaration_pieces(const std::vector<std::string>& lines)
    {
        std::string text;
        for (const std::string& l : lines)
        {
            text += l + '\n';
        }
        const std::string n = normalize_cpp(text);
        std::vector<std::string> pieces;
        std::string piece;
        int depth = 0;
        for (char c : n)
        {
            depth += c == '(' ? 1 : c == ')' ? -1 : 0;
            if (depth == 0 && (c == ';' || c == '{' || c == '}'))
            {
                if (!piece.empty() && piece != "...")
                {
                    pieces.push_back(piece);
                }
                piece.clear();
                continue;
            }
            piece += c;
        }
        if (!piece.empty() && piece != "...")
        {
            pieces.push_back(piece);
        }
        return pieces;
    }

    /**
     * @brief The names in the first column of the page's table whose header's first cell names
     * `type` (e.g. "| `SamplerOptions` field | type | default | meaning |"): each `name` in
     * backticks in that column, rows until the table ends. Empty if the page has no such table.
     */
    inline std::vector<std::string> table_names(const std::string& page_text, const std::string& type)
    {
        const std::vector<std::string> lines = split_lines(page_text);
        std::vector<std::string> names;
        for (std::size_t i = 0; i + 1 < lines.size(); ++i)
        {
            const std::string head = trim(lines[i]);
            if (head.rfind('|', 0) != 0 || trim(lines[i + 1]).rfind("|---", 0) != 0)
            {
                continue;
            }
            const std::string first_cell = head.substr(1, head.find('|', 1) - 1);
            if (first_cell.find("`" + type + "`") == std::string::npos)
            {
                continue;
            }
            for (std::size_t r = i + 2; r < lines.size() && trim(lines[r]).rfind('|', 0) == 0; ++r)
            {
                const std::string row = trim(lines[r]);
                const std::string cell = row.substr(1, row.find('|', 1) - 1);
                for (std::size_t at = cell.find('`'); at != std::string::npos; at = cell.find('`', at))
                {
                    const auto end = cell.find('`', at + 1);
                    if (end == std::string::npos)
                    {
                        break;
                    }
                    names.push_back(cell.substr(at + 1, end - at - 1));
                    at = end + 1;
                }
            }
        }
        return names;
    }

    /**
     * @brief The public data members of `struct name { ... }` (or `class`) in a header: declarations at the
     * struct's top level that end in a name (not a ')', 'const' or 'noexcept': member functions),
     * skipping nested types, `using`, `static` and `friend` declarations, and anything after
     * `private:` or `protected:`.
     */
    inline std::vector<std::string> struct_fields(const std::string& header_text, const std::string& name)
    {
        const std::string code = normalize_cpp(header_text);
        std::string key = "struct " + name + "{";
        auto at = code.find(key);
        bool visible = true;
        if (at == std::string::npos)
        {
            key = "class " + name + "{";
            at = code.find(key);
            visible = false;
        }
        if (at == std::string::npos)
        {
            throw std::runtime_error("struct " + name + " not found");
        }
        std::vector<std::string> fields;
        std::string statement;
        auto skip_braces = [&](std::size_t i) {
            int depth = 0;
            for (; i < code.size(); ++i)
            {
                depth += code[i] == '{' ? 1 : code[i] == '}' ? -1 : 0;
                if (depth == 0)
                {
                    return i;
                }
            }
            return i;
        };
        auto starts = [&](const std::string& word) {
            return statement.rfind(word, 0) == 0
                   && (statement.size() == word.size() || !is_identifier_char(statement[word.size()]));
        };
        // "f(...)", "f(...) const", "S(...) : m(...)": a body follows, not a brace initializer.
        auto looks_like_function = [](const std::string& s) {
            if (s.find("):") != std::string::npos)
            {
                return true;
            }
            std::string t = s;
            for (bool cut = true; cut;)
            {
                cut = false;
                for (const std::string w : {"override", "final", "noexcept", "const"})
                {
                    if (t.size() > w.size() && t.compare(t.size() - w.size(), w.size(), w) == 0
                        && !is_identifier_char(t[t.size() - w.size() - 1]))
                    {
                        t.erase(t.size() - w.size());
                        while (!t.empty() && t.back() == ' ')
                        {
                            t.pop_back();
                        }
                        cut = true;
                    }
                }
            }
            return !t.empty() && t.back() == ')';
        };
        for (std::size_t i = at + key.size(); i < code.size(); ++i)
        {
            const char c = code[i];
            if (c == '}' && statement.empty())
            {
                break; // the end of the struct
            }
            if (c == ':' && (statement == "public" || statement == "private" || statement == "protected")
                && code[i + 1] != ':')
            {
                visible = statement == "public";
                statement.clear();
                continue;
            }
            if (c == '{')
            {
                const bool type = starts("struct") || starts("class") || starts("enum") || starts("union")
                                  || starts("template");
                if (type || looks_like_function(statement))
                {
                    i = skip_braces(i); // a nested type or a function body
                    if (type || statement.rfind("template", 0) == 0)
                    {
                        statement.clear();
                    }
                    else
                    {
                        statement.clear();
                        if (i + 1 < code.size() && code[i + 1] == ';')
                        {
                            ++i;
                        }
                    }
                    continue;
                }
                const auto end = skip_braces(i); // a brace initializer: part of the declaration
                statement += code.substr(i, end - i + 1);
                i = end;
                continue;
            }
            if (c != ';')
            {
                statement += c;
                continue;
            }
            std::string decl = statement;
            statement.clear();
            if (!visible || decl.rfind("using ", 0) == 0 || decl.rfind("static ", 0) == 0
                || decl.rfind("friend ", 0) == 0 || decl.rfind("template", 0) == 0
                || decl.rfind("static_assert", 0) == 0)
            {
                continue;
            }
            // Cut the initializer: at a top-level '=' or '{'.
            int angle = 0;
            for (std::size_t k = 0; k < decl.size(); ++k)
            {
                angle += decl[k] == '<' ? 1 : decl[k] == '>' ? -1 : 0;
                if (angle == 0 && (decl[k] == '=' || decl[k] == '{'))
                {
                    decl = decl.substr(0, k);
                    break;
                }
            }
            std::size_t end = decl.size();
            if (end == 0 || !is_identifier_char(decl[end - 1]))
            {
                continue; // ends in ')' or ']': a function (or an array, which no settings struct has)
            }
            std::size_t begin = end;
            while (begin > 0 && is_identifier_char(decl[begin - 1]))
            {
                --begin;
            }
            const std::string last = decl.substr(begin, end - begin);
            if (last == "const" || last == "noexcept" || last == "override" || last == "default" || last == "delete")
            {
                continue;
            }
            fields.push_back(last);
        }
        return fields;
    }
}

#endif
