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
#include <type_traits>
#include <string>
#include <vector>

#include "xtrain/core/error.hpp"
#include "xtrain/experiment/detail/json.hpp"
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

    /** @brief meta.json text for @p meta (the fingerprint is recomputed from the config). */
    inline std::string meta_to_json(const SweepMeta& meta);

    /**
     * @brief Reads a meta.json written by meta_to_json.
     * @throws data_error naming @p path if it is not such a file or its fingerprint does not match
     *         its contents (it was edited by hand).
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

        inline std::string list_text(const std::vector<std::string>& items, bool quoted)
        {
            std::string s = "[";
            for (std::size_t i = 0; i < items.size(); ++i)
            {
                s += i ? ", " : "";
                s += quoted ? json_string(items[i]) : items[i];
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
        add("optimizers", detail::list_text(a.grid.optimizers, true), detail::list_text(b.grid.optimizers, true));
        add("lrs", detail::list_text(detail::to_texts(a.grid.lrs), false),
            detail::list_text(detail::to_texts(b.grid.lrs), false));
        add("batch_sizes", detail::list_text(detail::to_texts(a.grid.batch_sizes), false),
            detail::list_text(detail::to_texts(b.grid.batch_sizes), false));
        add("seeds", detail::list_text(detail::to_texts(a.grid.seeds), false),
            detail::list_text(detail::to_texts(b.grid.seeds), false));
        add("schedules", detail::list_text(a.grid.schedules, true), detail::list_text(b.grid.schedules, true));
        add("model", detail::json_string(a.model), detail::json_string(b.model));
        add("dataset", detail::json_string(a.dataset), detail::json_string(b.dataset));
        add("budget", detail::json_string(a.budget), detail::json_string(b.budget));
        add("target", a.target.str(), b.target.str());
        return out;
    }

    inline std::string meta_to_json(const SweepMeta& meta)
    {
        const SweepConfig& c = meta.config;
        std::string j = "{\n";
        j += "  \"format\": \"xtrain-sweep\",\n";
        j += "  \"format_version\": 1,\n";
        j += "  \"fingerprint\": " + detail::json_string(c.fingerprint()) + ",\n";
        j += "  \"grid\": {\n";
        j += "    \"optimizers\": " + detail::list_text(c.grid.optimizers, true) + ",\n";
        j += "    \"lrs\": " + detail::list_text(detail::to_texts(c.grid.lrs), false) + ",\n";
        j += "    \"batch_sizes\": " + detail::list_text(detail::to_texts(c.grid.batch_sizes), false) + ",\n";
        j += "    \"seeds\": " + detail::list_text(detail::to_texts(c.grid.seeds), false) + ",\n";
        j += "    \"schedules\": " + detail::list_text(c.grid.schedules, true) + ",\n";
        j += "    \"refined\": [";
        for (std::size_t i = 0; i < c.grid.refined.size(); ++i)
        {
            const RefinedCell& r = c.grid.refined[i];
            j += std::string(i ? ",\n" : "\n") + "      {\"optimizer\": " + detail::json_string(r.optimizer)
               + ", \"schedule\": " + detail::json_string(r.schedule) + ", \"batch_size\": "
               + detail::format_uint(r.batch_size) + ", \"lr\": " + detail::format_double(r.lr)
               + ", \"round\": " + detail::format_uint(r.round) + "}";
        }
        j += c.grid.refined.empty() ? "]\n" : "\n    ]\n";
        j += "  },\n";
        j += "  \"runs_in_grid\": " + detail::format_uint(c.grid.size()) + ",\n";
        j += "  \"refinement_rounds\": " + detail::format_uint(c.grid.refinement_rounds()) + ",\n";
        j += "  \"model\": " + detail::json_string(c.model) + ",\n";
        j += "  \"dataset\": " + detail::json_string(c.dataset) + ",\n";
        j += "  \"budget\": " + detail::json_string(c.budget) + ",\n";
        j += "  \"target\": " + detail::json_string(c.target.str()) + ",\n";
        j += "  \"notes\": {";
        bool first = true;
        for (const auto& [k, v] : c.notes)
        {
            j += first ? "\n" : ",\n";
            j += "    " + detail::json_string(k) + ": " + detail::json_string(v);
            first = false;
        }
        j += first ? "},\n" : "\n  },\n";
        j += "  \"xtrain_version\": " + detail::json_string(meta.xtrain_version) + ",\n";
        j += "  \"compiler\": " + detail::json_string(meta.compiler) + ",\n";
        j += "  \"written_by\": " + detail::json_string(meta.written_by) + "\n";
        j += "}\n";
        return j;
    }

    namespace detail
    {
        struct MetaReader
        {
            std::string source;

            [[noreturn]] void fail(const std::string& what) const
            {
                throw data_error(concat(source, ": ", what));
            }

            const JsonValue& member(const JsonValue& obj, const char* key, JsonValue::Kind kind) const
            {
                const JsonValue* v = obj.find(key);
                if (v == nullptr)
                {
                    fail(concat("missing \"", key, "\""));
                }
                if (v->kind != kind)
                {
                    fail(concat("\"", key, "\" has the wrong type"));
                }
                return *v;
            }

            std::string string(const JsonValue& obj, const char* key) const
            {
                return member(obj, key, JsonValue::Kind::string).text;
            }

            std::vector<std::string> strings(const JsonValue& obj, const char* key) const
            {
                std::vector<std::string> out;
                for (const auto& v : member(obj, key, JsonValue::Kind::array).items)
                {
                    if (v.kind != JsonValue::Kind::string)
                    {
                        fail(concat("\"", key, "\" must hold strings"));
                    }
                    out.push_back(v.text);
                }
                return out;
            }

            std::vector<double> doubles(const JsonValue& obj, const char* key) const
            {
                std::vector<double> out;
                for (const auto& v : member(obj, key, JsonValue::Kind::array).items)
                {
                    double x = 0.0;
                    if (v.kind != JsonValue::Kind::number || !parse_double(v.text, x))
                    {
                        fail(concat("\"", key, "\" must hold numbers"));
                    }
                    out.push_back(x);
                }
                return out;
            }

            double number(const JsonValue& obj, const char* key) const
            {
                double x = 0.0;
                if (!parse_double(member(obj, key, JsonValue::Kind::number).text, x))
                {
                    fail(concat("\"", key, "\" must be a number"));
                }
                return x;
            }

            std::uint64_t uint(const JsonValue& obj, const char* key) const
            {
                std::uint64_t x = 0;
                if (!parse_uint(member(obj, key, JsonValue::Kind::number).text, x))
                {
                    fail(concat("\"", key, "\" must be a non-negative integer"));
                }
                return x;
            }

            std::vector<std::uint64_t> uints(const JsonValue& obj, const char* key) const
            {
                std::vector<std::uint64_t> out;
                for (const auto& v : member(obj, key, JsonValue::Kind::array).items)
                {
                    std::uint64_t x = 0;
                    if (v.kind != JsonValue::Kind::number || !parse_uint(v.text, x))
                    {
                        fail(concat("\"", key, "\" must hold non-negative integers"));
                    }
                    out.push_back(x);
                }
                return out;
            }
        };
    }

    inline SweepMeta read_meta(const std::filesystem::path& path)
    {
        const std::string text = detail::read_file_text(path);
        detail::MetaReader r{path.string()};
        const detail::JsonValue root = detail::JsonReader(text, path.string()).parse();
        if (root.kind != detail::JsonValue::Kind::object)
        {
            r.fail("not a JSON object");
        }
        const detail::JsonValue* format = root.find("format");
        if (format == nullptr || format->kind != detail::JsonValue::Kind::string || format->text != "xtrain-sweep")
        {
            r.fail("not an xtrain sweep's meta.json (\"format\" is not \"xtrain-sweep\")");
        }
        const auto& version = r.member(root, "format_version", detail::JsonValue::Kind::number);
        if (version.text != "1")
        {
            r.fail("format_version " + version.text + " is not supported by this xtrain (it reads 1)");
        }
        SweepMeta m;
        const auto& grid = r.member(root, "grid", detail::JsonValue::Kind::object);
        m.config.grid.optimizers = r.strings(grid, "optimizers");
        m.config.grid.lrs = r.doubles(grid, "lrs");
        for (const auto b : r.uints(grid, "batch_sizes"))
        {
            m.config.grid.batch_sizes.push_back(static_cast<std::size_t>(b));
        }
        m.config.grid.seeds = r.uints(grid, "seeds");
        m.config.grid.schedules = r.strings(grid, "schedules");
        if (const detail::JsonValue* refined = grid.find("refined"))
        {
            if (refined->kind != detail::JsonValue::Kind::array)
            {
                r.fail("\"refined\" must be an array");
            }
            for (const auto& item : refined->items)
            {
                if (item.kind != detail::JsonValue::Kind::object)
                {
                    r.fail("\"refined\" must hold objects");
                }
                RefinedCell c;
                c.optimizer = r.string(item, "optimizer");
                c.schedule = r.string(item, "schedule");
                c.batch_size = static_cast<std::size_t>(r.uint(item, "batch_size"));
                c.lr = r.number(item, "lr");
                c.round = static_cast<std::size_t>(r.uint(item, "round"));
                m.config.grid.refined.push_back(std::move(c));
            }
        }
        m.config.model = r.string(root, "model");
        m.config.dataset = r.string(root, "dataset");
        m.config.budget = r.string(root, "budget");
        try
        {
            m.config.target = parse_target(r.string(root, "target"));
            m.config.grid.validate();
        }
        catch (const std::invalid_argument& e)
        {
            r.fail(e.what());
        }
        if (const detail::JsonValue* notes = root.find("notes"))
        {
            if (notes->kind != detail::JsonValue::Kind::object)
            {
                r.fail("\"notes\" must be an object");
            }
            for (const auto& [k, v] : notes->members)
            {
                if (v.kind != detail::JsonValue::Kind::string)
                {
                    r.fail("\"notes\" must map names to strings");
                }
                m.config.notes[k] = v.text;
            }
        }
        m.fingerprint = r.string(root, "fingerprint");
        m.xtrain_version = r.string(root, "xtrain_version");
        m.compiler = r.string(root, "compiler");
        m.written_by = r.string(root, "written_by");
        if (m.fingerprint != m.config.fingerprint())
        {
            r.fail("its fingerprint " + m.fingerprint + " does not match its contents (computed "
                   + m.config.fingerprint() + "): the file was edited; restore it or start a new folder");
        }
        return m;
    }
}

#endif
