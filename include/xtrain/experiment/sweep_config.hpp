/**
 * @file sweep_config.hpp
 * @brief Everything that defines a sweep's results (grid, model, dataset, budget, target), its
 *        fingerprint, and the meta.json that stores them beside the results.
 *
 * Two result sets may be mixed (resumed into, merged) only if they come from the same sweep. The
 * fingerprint is a 64-bit FNV-1a hash of a canonical text of the grid (lists in their order, since
 * the order fixes the run indices that shards use), the model, dataset and budget descriptions and
 * the target. The descriptions are free text chosen by the caller: whatever would make results
 * incomparable belongs in them (e.g. "mlp 784-256-10 relu", "fashion-mnist val=10000",
 * "epochs=10 eval=epoch"). `notes` are stored but not fingerprinted (the command line, a host name).
 */
#ifndef XTRAIN_EXPERIMENT_SWEEP_CONFIG_HPP
#define XTRAIN_EXPERIMENT_SWEEP_CONFIG_HPP

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "xtrain/core/error.hpp"
#include "xtrain/experiment/detail/text_io.hpp"
#include "xtrain/experiment/sweep_grid.hpp"
#include "xtrain/experiment/target.hpp"
#include "xtrain/version.hpp"

namespace xtrain
{
    /** @brief The definition of a sweep: what its results depend on. */
    struct SweepConfig
    {
        SweepGrid grid;       ///< the runs
        std::string model;    ///< description of the model, e.g. "mlp 784-256-10"
        std::string dataset;  ///< description of the data and the validation split
        std::string budget;   ///< description of the budget and evaluation points, e.g. "epochs=10"
        Target target;        ///< the goal whose time-to is recorded (none: no target)
        std::map<std::string, std::string> notes;  ///< stored in meta.json, not fingerprinted

        /** @brief The canonical text the fingerprint hashes. */
        std::string canonical_text() const;
        /** @brief 16 hexadecimal digits identifying the sweep (see the file comment). */
        std::string fingerprint() const { return detail::hex64(detail::fnv1a64(canonical_text())); }
        /** @brief Validates the grid and the target (throws std::invalid_argument). */
        void validate() const
        {
            grid.validate();
            detail::require(!target.enabled() || std::isfinite(target.value), "xtrain::SweepConfig", "target.value",
                            target.value, "must be finite");
        }
    };

    /**
     * @brief What differs between two configurations, field by field, for error messages:
     *        e.g. `lrs: folder has [0.1, 0.2], this sweep has [0.1, 0.3]`. Empty if they fingerprint alike.
     * @param a the first configuration
     * @param b the second configuration
     * @param a_name how to call @p a in the text (e.g. "the folder")
     * @param b_name how to call @p b in the text (e.g. "this sweep")
     */
    inline std::string describe_differences(const SweepConfig& a, const SweepConfig& b, const std::string& a_name,
                                     const std::string& b_name);

    /** @brief The contents of a results folder's meta.json. */
    struct SweepMeta
    {
        SweepConfig config;          ///< the sweep
        std::string fingerprint;     ///< as stored (checked against the config when read)
        std::string xtrain_version;  ///< version of the xtrain that created the folder
        std::string compiler;        ///< compiler of the program that created the folder
        std::string written_by;      ///< "sweep, shard K/N" or "merge of M folders"
    };

    /** @brief The compiler that builds the calling code, e.g. "g++ 12.2.0". */
    inline std::string compiler_description()
    {
#if defined(__clang__)
        return __VERSION__;
#elif defined(__GNUC__)
        return std::string("g++ ") + __VERSION__;
#else
        return "unknown compiler";
#endif
    }

    /**
     * @brief meta.json text for @p meta (the fingerprint is recomputed from the config).
     * @throws std::invalid_argument naming the field if a text is not UTF-8 (a JSON file holds only UTF-8).
     */
    inline std::string meta_to_json(const SweepMeta& meta);

    /**
     * @brief Reads a meta.json written by meta_to_json.
     * @throws data_error naming @p path if it is not JSON (with the byte where it stops being JSON),
     *         lacks a field or holds one of the wrong type (naming the field), or its fingerprint does
     *         not match its contents (it was edited by hand).
     */
    inline SweepMeta read_meta(const std::filesystem::path& path);

    // ---------------------------------------------------------------------------------------------
    // Implementation
    // ---------------------------------------------------------------------------------------------

    namespace detail
    {
        inline void canon_field(std::string& out, const char* name, const std::vector<std::string>& items)
        {
            out += name;
            out += '=';
            for (const auto& s : items)
            {
                out += format_uint(s.size());
                out += ':';
                out += s;
                out += ';';
            }
            out += '\n';
        }

        template <class V>
        std::vector<std::string> to_texts(const std::vector<V>& v)
        {
            std::vector<std::string> out;
            for (const auto& x : v)
            {
                if constexpr (std::is_floating_point_v<V>)
                {
                    out.push_back(format_double(x));
                }
                else
                {
                    out.push_back(format_uint(x));
                }
            }
            return out;
        }

        /** @brief @p s as a JSON string, quotes included; @p field names it if @p s is not UTF-8. */
        inline std::string json_string(const std::string& s, const std::string& field)
        {
            try
            {
                return nlohmann::json(s).dump();
            }
            catch (const nlohmann::json::type_error&)
            {
                throw std::invalid_argument(
                    concat("xtrain::meta_to_json: ", field, " is not UTF-8 text, and meta.json (JSON) holds only UTF-8"));
            }
        }

        inline std::vector<std::string> json_strings(const std::vector<std::string>& items, const std::string& field)
        {
            std::vector<std::string> out;
            for (const auto& s : items)
            {
                out.push_back(json_string(s, field));
            }
            return out;
        }

        /** @brief @p s quoted as meta.json writes it, for messages (bytes that are not UTF-8 become U+FFFD). */
        inline std::string quoted_text(const std::string& s)
        {
            return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        }

        inline std::vector<std::string> quoted_texts(const std::vector<std::string>& items)
        {
            std::vector<std::string> out;
            for (const auto& s : items)
            {
                out.push_back(quoted_text(s));
            }
            return out;
        }

        /** @brief "[a, b, c]" of items already in their JSON form. */
        inline std::string list_text(const std::vector<std::string>& items)
        {
            std::string s = "[";
            for (std::size_t i = 0; i < items.size(); ++i)
            {
                s += i ? ", " : "";
                s += items[i];
            }
            return s + "]";
        }
    }

    inline std::string SweepConfig::canonical_text() const
    {
        std::string out = "xtrain-sweep/1\n";
        detail::canon_field(out, "optimizers", grid.optimizers);
        detail::canon_field(out, "lrs", detail::to_texts(grid.lrs));
        detail::canon_field(out, "batch_sizes", detail::to_texts(grid.batch_sizes));
        detail::canon_field(out, "seeds", detail::to_texts(grid.seeds));
        detail::canon_field(out, "schedules", grid.schedules);
        detail::canon_field(out, "model", {model});
        detail::canon_field(out, "dataset", {dataset});
        detail::canon_field(out, "budget", {budget});
        detail::canon_field(out, "target", {target.str()});
        return out;
    }

    inline std::string describe_differences(const SweepConfig& a, const SweepConfig& b, const std::string& a_name,
                                            const std::string& b_name)
    {
        std::string out;
        auto add = [&](const char* field, const std::string& va, const std::string& vb) {
            if (va != vb)
            {
                out += out.empty() ? "" : "; ";
                out += detail::concat(field, ": ", a_name, " has ", va, ", ", b_name, " has ", vb);
            }
        };
        add("optimizers", detail::list_text(detail::quoted_texts(a.grid.optimizers)),
            detail::list_text(detail::quoted_texts(b.grid.optimizers)));
        add("lrs", detail::list_text(detail::to_texts(a.grid.lrs)), detail::list_text(detail::to_texts(b.grid.lrs)));
        add("batch_sizes", detail::list_text(detail::to_texts(a.grid.batch_sizes)),
            detail::list_text(detail::to_texts(b.grid.batch_sizes)));
        add("seeds", detail::list_text(detail::to_texts(a.grid.seeds)), detail::list_text(detail::to_texts(b.grid.seeds)));
        add("schedules", detail::list_text(detail::quoted_texts(a.grid.schedules)),
            detail::list_text(detail::quoted_texts(b.grid.schedules)));
        add("model", detail::quoted_text(a.model), detail::quoted_text(b.model));
        add("dataset", detail::quoted_text(a.dataset), detail::quoted_text(b.dataset));
        add("budget", detail::quoted_text(a.budget), detail::quoted_text(b.budget));
        add("target", a.target.str(), b.target.str());
        return out;
    }

    inline std::string meta_to_json(const SweepMeta& meta)
    {
        // The layout is fixed by hand (one line per list, one per refined cell) and numbers go through
        // format_double: nlohmann's dump would write 1e-05 as 0.00001 and 1 as 1.0, so files would
        // change for nothing. Strings, where JSON's rules live, are nlohmann's.
        using detail::json_string;
        using detail::json_strings;
        using detail::list_text;
        const SweepConfig& c = meta.config;
        std::string j = "{\n";
        j += "  \"format\": \"xtrain-sweep\",\n";
        j += "  \"format_version\": 1,\n";
        j += "  \"fingerprint\": " + json_string(c.fingerprint(), "the fingerprint") + ",\n";
        j += "  \"grid\": {\n";
        j += "    \"optimizers\": " + list_text(json_strings(c.grid.optimizers, "an optimizer name")) + ",\n";
        j += "    \"lrs\": " + list_text(detail::to_texts(c.grid.lrs)) + ",\n";
        j += "    \"batch_sizes\": " + list_text(detail::to_texts(c.grid.batch_sizes)) + ",\n";
        j += "    \"seeds\": " + list_text(detail::to_texts(c.grid.seeds)) + ",\n";
        j += "    \"schedules\": " + list_text(json_strings(c.grid.schedules, "a schedule name")) + ",\n";
        j += "    \"refined\": [";
        for (std::size_t i = 0; i < c.grid.refined.size(); ++i)
        {
            const RefinedCell& r = c.grid.refined[i];
            j += std::string(i ? ",\n" : "\n") + "      {\"optimizer\": " + json_string(r.optimizer, "a refined cell's optimizer")
               + ", \"schedule\": " + json_string(r.schedule, "a refined cell's schedule") + ", \"batch_size\": "
               + detail::format_uint(r.batch_size) + ", \"lr\": " + detail::format_double(r.lr)
               + ", \"round\": " + detail::format_uint(r.round) + "}";
        }
        j += c.grid.refined.empty() ? "]\n" : "\n    ]\n";
        j += "  },\n";
        j += "  \"runs_in_grid\": " + detail::format_uint(c.grid.size()) + ",\n";
        j += "  \"refinement_rounds\": " + detail::format_uint(c.grid.refinement_rounds()) + ",\n";
        j += "  \"model\": " + json_string(c.model, "the model description") + ",\n";
        j += "  \"dataset\": " + json_string(c.dataset, "the dataset description") + ",\n";
        j += "  \"budget\": " + json_string(c.budget, "the budget description") + ",\n";
        j += "  \"target\": " + json_string(c.target.str(), "the target") + ",\n";
        j += "  \"notes\": {";
        bool first = true;
        for (const auto& [k, v] : c.notes)
        {
            const std::string field = "note " + detail::quoted_text(k);
            j += first ? "\n" : ",\n";
            j += "    " + json_string(k, field + "'s name") + ": " + json_string(v, field);
            first = false;
        }
        j += first ? "},\n" : "\n  },\n";
        j += "  \"xtrain_version\": " + json_string(meta.xtrain_version, "the xtrain version") + ",\n";
        j += "  \"compiler\": " + json_string(meta.compiler, "the compiler description") + ",\n";
        j += "  \"written_by\": " + json_string(meta.written_by, "written_by") + "\n";
        j += "}\n";
        return j;
    }

    namespace detail
    {
        /** @brief Reads meta.json's fields, naming the field (e.g. "grid.lrs[2]") in every refusal. */
        struct MetaReader
        {
            std::string source;

            [[noreturn]] void fail(const std::string& what) const
            {
                throw data_error(concat(source, ": ", what));
            }

            /** @brief The document in @p text; anything that is not JSON (RFC 8259) is refused. */
            nlohmann::json parse(const std::string& text) const
            {
                // nlohmann's messages start with "[json.exception.parse_error.101] "; the id
                // means nothing to a user.
                auto message = [](const nlohmann::json::exception& e) {
                    const std::string what = e.what();
                    const auto close = what.find("] ");
                    return what.compare(0, 1, "[") == 0 && close != std::string::npos ? what.substr(close + 2) : what;
                };
                try
                {
                    return nlohmann::json::parse(text);
                }
                catch (const nlohmann::json::parse_error& e)
                {
                    fail(concat("not valid JSON at byte ", e.byte, ": ", message(e)));
                }
                catch (const nlohmann::json::exception& e)
                {
                    fail(concat("not valid JSON: ", message(e)));  // e.g. a number beyond double's range
                }
            }

            [[noreturn]] void wrong_type(const std::string& field, const char* expected, const nlohmann::json& v) const
            {
                const std::string found = v.type_name();
                const bool vowel = found[0] == 'a' || found[0] == 'o';
                fail(concat("\"", field, "\" must be ", expected, ", not ", vowel ? "an " : "a ", found));
            }

            static std::string field_name(const std::string& parent, const char* key)
            {
                return parent.empty() ? std::string(key) : parent + "." + key;
            }

            /** @brief Member @p key of the object @p obj (named @p parent), which must exist. */
            const nlohmann::json& member(const nlohmann::json& obj, const std::string& parent, const char* key) const
            {
                const auto it = obj.find(key);
                if (it == obj.end())
                {
                    fail(concat("missing \"", field_name(parent, key), "\""));
                }
                return *it;
            }

            std::string string(const nlohmann::json& v, const std::string& field) const
            {
                if (!v.is_string())
                {
                    wrong_type(field, "a string", v);
                }
                return v.get<std::string>();
            }

            double number(const nlohmann::json& v, const std::string& field) const
            {
                if (!v.is_number())
                {
                    wrong_type(field, "a number", v);
                }
                return v.get<double>();
            }

            std::uint64_t uint(const nlohmann::json& v, const std::string& field) const
            {
                // A fraction, an exponent or a minus sign makes another kind of number in nlohmann.
                if (!v.is_number_unsigned())
                {
                    wrong_type(field, "a non-negative integer", v);
                }
                return v.get<std::uint64_t>();
            }

            const nlohmann::json& array(const nlohmann::json& v, const std::string& field) const
            {
                if (!v.is_array())
                {
                    wrong_type(field, "an array", v);
                }
                return v;
            }

            const nlohmann::json& object(const nlohmann::json& v, const std::string& field) const
            {
                if (!v.is_object())
                {
                    wrong_type(field, "an object", v);
                }
                return v;
            }

            /** @brief Every element of the array @p v (named @p field), read by @p read. */
            template <class Read>
            auto elements(const nlohmann::json& v, const std::string& field, Read read) const
            {
                std::vector<decltype(read(v, field))> out;
                std::size_t i = 0;
                for (const auto& item : array(v, field))
                {
                    out.push_back(read(item, concat(field, "[", i++, "]")));
                }
                return out;
            }

            std::string string_member(const nlohmann::json& obj, const std::string& parent, const char* key) const
            {
                return string(member(obj, parent, key), field_name(parent, key));
            }

            std::vector<std::string> strings(const nlohmann::json& obj, const std::string& parent, const char* key) const
            {
                return elements(member(obj, parent, key), field_name(parent, key),
                                [this](const nlohmann::json& v, const std::string& f) { return string(v, f); });
            }
        };
    }

    inline SweepMeta read_meta(const std::filesystem::path& path)
    {
        const std::string text = detail::read_file_text(path);
        const detail::MetaReader r{path.string()};
        const nlohmann::json root = r.parse(text);
        if (!root.is_object())
        {
            r.fail("not a JSON object");
        }
        const auto format = root.find("format");
        if (format == root.end() || !format->is_string() || format->get<std::string>() != "xtrain-sweep")
        {
            r.fail("not an xtrain sweep's meta.json (\"format\" is not \"xtrain-sweep\")");
        }
        const auto& version = r.member(root, "", "format_version");
        if (!version.is_number_unsigned() || version.get<std::uint64_t>() != 1)
        {
            r.fail("format_version " + version.dump() + " is not supported by this xtrain (it reads 1)");
        }
        SweepMeta m;
        const auto& grid = r.object(r.member(root, "", "grid"), "grid");
        const auto read_uint = [&r](const nlohmann::json& v, const std::string& f) { return r.uint(v, f); };
        m.config.grid.optimizers = r.strings(grid, "grid", "optimizers");
        m.config.grid.lrs = r.elements(r.member(grid, "grid", "lrs"), "grid.lrs",
                                       [&r](const nlohmann::json& v, const std::string& f) { return r.number(v, f); });
        for (const auto b : r.elements(r.member(grid, "grid", "batch_sizes"), "grid.batch_sizes", read_uint))
        {
            m.config.grid.batch_sizes.push_back(static_cast<std::size_t>(b));
        }
        m.config.grid.seeds = r.elements(r.member(grid, "grid", "seeds"), "grid.seeds", read_uint);
        m.config.grid.schedules = r.strings(grid, "grid", "schedules");
        if (const auto refined = grid.find("refined"); refined != grid.end())
        {
            std::size_t i = 0;
            for (const auto& item : r.array(*refined, "grid.refined"))
            {
                const std::string where = detail::concat("grid.refined[", i++, "]");
                r.object(item, where);
                RefinedCell c;
                c.optimizer = r.string_member(item, where, "optimizer");
                c.schedule = r.string_member(item, where, "schedule");
                c.batch_size = static_cast<std::size_t>(r.uint(r.member(item, where, "batch_size"), where + ".batch_size"));
                c.lr = r.number(r.member(item, where, "lr"), where + ".lr");
                c.round = static_cast<std::size_t>(r.uint(r.member(item, where, "round"), where + ".round"));
                m.config.grid.refined.push_back(std::move(c));
            }
        }
        m.config.model = r.string_member(root, "", "model");
        m.config.dataset = r.string_member(root, "", "dataset");
        m.config.budget = r.string_member(root, "", "budget");
        try
        {
            m.config.target = parse_target(r.string_member(root, "", "target"));
            m.config.grid.validate();
        }
        catch (const std::invalid_argument& e)
        {
            r.fail(e.what());
        }
        if (const auto notes = root.find("notes"); notes != root.end())
        {
            for (const auto& [k, v] : r.object(*notes, "notes").items())
            {
                m.config.notes[k] = r.string(v, "notes." + k);
            }
        }
        m.fingerprint = r.string_member(root, "", "fingerprint");
        m.xtrain_version = r.string_member(root, "", "xtrain_version");
        m.compiler = r.string_member(root, "", "compiler");
        m.written_by = r.string_member(root, "", "written_by");
        if (m.fingerprint != m.config.fingerprint())
        {
            r.fail("its fingerprint " + m.fingerprint + " does not match its contents (computed "
                   + m.config.fingerprint() + "): the file was edited; restore it or start a new folder");
        }
        return m;
    }
}

#endif
