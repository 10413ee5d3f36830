/**
 * @file parameters_file.hpp
 * @brief A model's parameters alone, saved to a file and loaded back, whole or in part: the way
 * to start a run from pretrained weights.
 *
 * ```cpp
 * xtrain::save_parameters(trainer.model(), "pretrained.xtp");
 * Net net(seed);                                      // a new head, initialised from the seed
 * xtrain::ParameterSelection body;
 * body.exclude = {"10.*"};                            // everything but the head
 * xtrain::load_parameters(net, "pretrained.xtp", body);
 * ```
 * The format follows the Trainer's checkpoints (core/serialize.hpp): little-endian, the 8 bytes
 * "XTRAINPF", a u32 format version, a tagged section with the scalar size and, per tensor, its
 * name, shape and values, then a CRC-32 of every preceding byte. Names and shapes are stored, so
 * a load checks every tensor against the model and refuses, naming the tensor, anything that does
 * not fit. load_parameters() also reads the parameter part of a Trainer checkpoint
 * (Trainer::save_checkpoint, format version 1), so a run can start from either.
 *
 * Writing is atomic (a temporary file beside the target, renamed over it once complete); reading
 * is all or nothing (the model is changed only after the whole file has been checked).
 */
#ifndef XTRAIN_MODEL_PARAMETERS_FILE_HPP
#define XTRAIN_MODEL_PARAMETERS_FILE_HPP

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "xtrain/core/checkpoint_format.hpp"
#include "xtrain/core/error.hpp"
#include "xtrain/core/file_io.hpp"
#include "xtrain/core/param_buffer.hpp"
#include "xtrain/core/serialize.hpp"

namespace xtrain
{
    /** @brief The version of the format save_parameters writes (load_parameters reads this one only). */
    inline constexpr std::uint32_t parameters_format_version = 1;

    /** @brief One tensor stored in a parameters file or a checkpoint. */
    struct StoredTensor
    {
        std::string name;                ///< e.g. "0.weight"
        std::vector<std::size_t> shape;  ///< row-major
        std::size_t size = 0;            ///< product of shape
    };

    /** @brief What a parameters file (or a Trainer checkpoint) holds, without its values. */
    struct ParametersFileInfo
    {
        std::string path;                  ///< as given
        std::string kind;                  ///< "parameters file" or "Trainer checkpoint"
        std::size_t scalar_bytes = 0;      ///< 4 (float) or 8 (double)
        std::vector<StoredTensor> tensors; ///< in file order
        std::uint32_t crc = 0;             ///< the file's CRC-32: identifies its contents

        /** @brief The tensor named @p name, or nullptr. */
        const StoredTensor* find(std::string_view name) const noexcept
        {
            for (const StoredTensor& t : tensors)
            {
                if (t.name == name)
                {
                    return &t;
                }
            }
            return nullptr;
        }
    };

    /**
     * @brief Which tensors load_parameters copies into a model.
     *
     * By default every tensor, and the file and the model must hold exactly the same names and
     * shapes. `include` and `exclude` select by glob ('*' any run, '?' one character; a tensor is
     * selected if it matches some include glob, or include is empty, and no exclude glob); then the
     * selected tensors of the model and of the file must match one to one. With `partial`, a
     * selected tensor of the model is loaded when the file has one of the same name and shape and
     * is otherwise left as initialised (the LoadReport lists which and why).
     */
    struct ParameterSelection
    {
        std::vector<std::string> include; ///< globs to load (empty: all)
        std::vector<std::string> exclude; ///< globs not to load (e.g. "10.*": a new head)
        bool partial = false;             ///< load what matches by name and shape, keep the rest as initialised

        /** @brief True when every tensor is selected and the match must be exact. */
        bool everything() const noexcept { return include.empty() && exclude.empty() && !partial; }

        /** @brief Whether the tensor @p name is selected. */
        bool selects(std::string_view name) const noexcept
        {
            const auto matches = [name](const std::string& g) { return detail::glob_match(g, name); };
            const bool in = include.empty() || std::any_of(include.begin(), include.end(), matches);
            return in && std::none_of(exclude.begin(), exclude.end(), matches);
        }

        /** @brief @throws std::invalid_argument for an empty glob. */
        void validate() const
        {
            for (const auto* list : {&include, &exclude})
            {
                for (const std::string& g : *list)
                {
                    if (g.empty())
                    {
                        throw std::invalid_argument(detail::concat("xtrain::ParameterSelection: an empty glob in ",
                                                                   list == &include ? "include" : "exclude"));
                    }
                }
            }
        }

        /** @brief E.g. "all but 10.*" or "0.*, 3.* (partial)". */
        std::string describe() const
        {
            const auto join = [](const std::vector<std::string>& v) {
                std::string s;
                for (const std::string& g : v)
                {
                    s += (s.empty() ? "" : " ") + g;
                }
                return s;
            };
            std::string s = include.empty() ? "all" : join(include);
            if (!exclude.empty())
            {
                s += " but " + join(exclude);
            }
            if (partial)
            {
                s += " (what matches by name and shape)";
            }
            return s;
        }
    };

    /** @brief What load_parameters did. */
    struct LoadReport
    {
        std::vector<std::string> loaded; ///< tensors copied from the file
        std::vector<std::string> kept;   ///< tensors left as they were, each with the reason

        /** @brief "loaded 6 tensors, kept 2 (10.weight: not selected, ...)". */
        std::string describe() const
        {
            std::string s = detail::concat("loaded ", loaded.size(), " tensor", loaded.size() == 1 ? "" : "s");
            if (!kept.empty())
            {
                s += detail::concat(", kept ", kept.size(), " as initialised (");
                for (std::size_t i = 0; i < kept.size(); ++i)
                {
                    s += (i ? "; " : "") + kept[i];
                }
                s += ")";
            }
            return s;
        }
    };

    /**
     * @brief Writes the parameters of @p params to @p path (atomically: a temporary file beside it,
     * renamed over it). @throws checkpoint_error naming the path if it is a folder, its folder does
     * not exist, or writing fails (disk full, no permission).
     */
    template <class T>
    void save_parameters(const ParamBuffer<T>& params, const std::filesystem::path& path);

    /** @brief Writes `model.parameters()` to @p path (see the ParamBuffer overload). */
    template <class Model, class = decltype(std::declval<const Model&>().parameters())>
    void save_parameters(const Model& model, const std::filesystem::path& path)
    {
        save_parameters(model.parameters(), path);
    }

    /**
     * @brief Reads the names and shapes in a parameters file or a Trainer checkpoint, after checking
     * its header, version and checksum. @throws checkpoint_error naming the path and the problem.
     */
    inline ParametersFileInfo read_parameters_info(const std::filesystem::path& path);

    /**
     * @brief Loads the tensors @p selection picks from @p path (a parameters file or a Trainer
     * checkpoint) into @p params. All or nothing: on any error @p params is unchanged.
     * @throws checkpoint_error for an absent, unreadable, corrupt or foreign file, another scalar
     * type, or a tensor that does not fit (the message names it, with both shapes);
     * std::invalid_argument for a glob that matches no tensor of the model (the message lists them).
     */
    template <class T>
    LoadReport load_parameters(ParamBuffer<T>& params, const std::filesystem::path& path,
                               const ParameterSelection& selection = {});

    /** @brief Loads into `model.parameters()` (see the ParamBuffer overload). */
    template <class Model, class = decltype(std::declval<Model&>().parameters())>
    LoadReport load_parameters(Model& model, const std::filesystem::path& path, const ParameterSelection& selection = {})
    {
        return load_parameters(model.parameters(), path, selection);
    }

    // ---------------------------------------------------------------------------------------------
    // Implementation
    // ---------------------------------------------------------------------------------------------

    namespace detail
    {
        inline constexpr char parameters_magic[8] = {'X', 'T', 'R', 'A', 'I', 'N', 'P', 'F'};

        /** @brief "a {2, 3}, b {3}" for messages. */
        template <class Range, class Name, class Shape>
        std::string tensor_list(const Range& r, Name name, Shape shape)
        {
            std::string s;
            for (const auto& t : r)
            {
                s += (s.empty() ? "" : ", ") + name(t) + " " + shape_text(shape(t));
            }
            return s.empty() ? "none" : s;
        }

        /** @brief A parsed file: its description, its bytes and where each tensor's values start. */
        struct ParsedParameters
        {
            ParametersFileInfo info;
            std::string bytes;
            std::vector<std::size_t> value_offsets;  ///< per tensor, into bytes
        };

        inline std::string read_whole_file(const std::filesystem::path& path)
        {
            std::error_code ec;
            if (!std::filesystem::is_directory(path, ec) && !std::filesystem::exists(path, ec))
            {
                throw checkpoint_error(concat(path.string(), ": no such parameters file"));
            }
            return read_file_bytes(path, "parameters file");
        }

        /** @brief Reads a tensor's name, rank and extents (u64 each) and checks them. */
        inline StoredTensor read_tensor_header(BinaryReader& r)
        {
            StoredTensor t;
            t.name = r.read_string(4096);
            if (t.name.empty())
            {
                r.fail("a tensor has an empty name");
            }
            const auto rank = r.read_array_length(64, concat("the shape of '", t.name, "'"));
            t.shape.resize(static_cast<std::size_t>(rank));
            std::size_t n = rank == 0 ? 0 : 1;
            for (auto& d : t.shape)
            {
                const auto e = r.read<std::uint64_t>();
                if (e == 0 || e > std::numeric_limits<std::size_t>::max() / n)
                {
                    r.fail(concat("tensor '", t.name, "' has an impossible extent ", e));
                }
                d = static_cast<std::size_t>(e);
                n *= d;
            }
            if (n == 0)
            {
                r.fail(concat("tensor '", t.name, "' has no elements"));
            }
            t.size = n;
            return t;
        }

        /** @brief Skips the values of an array of @p expected scalars and returns where they start. */
        inline std::size_t skip_values(BinaryReader& r, const ParsedParameters& p, std::size_t expected,
                                       const std::string& what)
        {
            const auto n = r.read<std::uint64_t>();
            if (n != expected)
            {
                r.fail(concat(what, " holds ", n, " values where its shape says ", expected));
            }
            const std::size_t start = static_cast<std::size_t>(r.count());
            const std::size_t end = p.bytes.size() - sizeof(std::uint32_t);  // the checksum follows the data
            if (start > end || expected > (end - start) / p.info.scalar_bytes)
            {
                r.fail(concat("truncated: ", what, " needs ", expected, " values of ", p.info.scalar_bytes,
                              " bytes at offset ", start, " but the data end at ", end));
            }
            const std::size_t bytes = expected * p.info.scalar_bytes;
            // Through the reader, in chunks: it keeps its count and checksum.
            std::vector<char> sink(std::min<std::size_t>(bytes, std::size_t(1) << 16));
            for (std::size_t done = 0; done < bytes;)
            {
                const std::size_t k = std::min(sink.size(), bytes - done);
                r.read_bytes(sink.data(), k);
                done += k;
            }
            return start;
        }

        /** @brief Parses the bytes of a parameters file or checkpoint; @p source names them in messages. */
        inline ParsedParameters parse_parameters_bytes(std::string bytes, std::string source)
        {
            ParsedParameters p;
            p.info.path = std::move(source);
            p.bytes = std::move(bytes);
            const std::string& src = p.info.path;
            const std::size_t header = sizeof parameters_magic + sizeof(std::uint32_t);
            if (p.bytes.empty())
            {
                throw checkpoint_error(concat(src, ": the file is empty, not a parameters file"));
            }
            const bool is_params = p.bytes.compare(0, 8, parameters_magic, 8) == 0;
            const bool is_checkpoint = p.bytes.compare(0, 8, checkpoint_magic, 8) == 0;
            if (p.bytes.size() < header + sizeof(std::uint32_t) || !(is_params || is_checkpoint))
            {
                throw checkpoint_error(concat(src, ": not an xtrain parameters file (no XTRAINPF header) nor a ",
                                              "Trainer checkpoint (XTRAINCK)"));
            }
            p.info.kind = is_params ? "parameters file" : "Trainer checkpoint";
            std::istringstream in(p.bytes, std::ios::binary);
            BinaryReader r(in, src);
            char magic[8];
            r.read_bytes(magic, sizeof magic);
            const auto version = r.read<std::uint32_t>();
            const std::uint32_t known = is_params ? parameters_format_version : checkpoint_format_version;
            if (version != known)
            {
                r.fail(concat(p.info.kind, " format version ", version, ", but load_parameters reads version ", known,
                              is_params ? "" : " (load it with Trainer::load_checkpoint, then save_parameters(trainer.model(), path))"));
            }
            const detail::FileBody file = check_file_checksum(p.bytes, r);
            const std::size_t body = file.size;
            p.info.crc = file.crc;

            // Both formats: the scalar size and the tensors' names and shapes first.
            r.expect_tag(is_params ? "parameters" : "layout");
            const auto scalar = r.read<std::uint32_t>();
            if (scalar != 4 && scalar != 8)
            {
                r.fail(concat("scalars of ", scalar, " bytes (4 or 8 expected)"));
            }
            p.info.scalar_bytes = scalar;
            const auto count = r.read<std::uint64_t>();
            if (count == 0 || count > body / 16)
            {
                r.fail(concat("an impossible number of tensors: ", count));
            }
            std::size_t total = 0;
            for (std::uint64_t i = 0; i < count; ++i)
            {
                StoredTensor t = read_tensor_header(r);
                if (p.info.find(t.name) != nullptr)
                {
                    r.fail(concat("the tensor '", t.name, "' appears twice"));
                }
                if (is_params)
                {
                    p.value_offsets.push_back(skip_values(r, p, t.size, concat("tensor '", t.name, "'")));
                }
                total += t.size;
                p.info.tensors.push_back(std::move(t));
            }
            if (is_checkpoint)
            {
                // The counters (read as Trainer::load_state reads them, and dropped), then the flat
                // parameter buffer in layout order.
                r.expect_tag("counters");
                (void)TrainerCounters::load(r);
                r.expect_tag("parameters");
                std::size_t start = skip_values(r, p, total, "the parameter buffer");
                for (const StoredTensor& t : p.info.tensors)
                {
                    p.value_offsets.push_back(start);
                    start += t.size * scalar;
                }
                // The optimizer, sampler, model and callback state that follow are not needed here.
            }
            else if (r.count() != body)
            {
                r.fail(concat(body - r.count(), " unexpected bytes after the last tensor"));
            }
            return p;
        }

        inline ParsedParameters parse_parameters(const std::filesystem::path& path)
        {
            return parse_parameters_bytes(read_whole_file(path), path.string());
        }

        /** @brief Throws unless every glob of @p globs matches some tensor of @p layout (listing them). */
        inline void require_globs_match(const std::vector<std::string>& globs, const char* which, const ParamLayout& layout,
                                        const std::string& where)
        {
            for (const std::string& g : globs)
            {
                const bool hit = std::any_of(layout.segments().begin(), layout.segments().end(),
                                             [&g](const Segment& s) { return glob_match(g, s.name); });
                if (!hit)
                {
                    throw std::invalid_argument(concat(
                        where, ": the ", which, " glob '", g, "' matches no tensor of the model (it has: ",
                        tensor_list(layout.segments(), [](const Segment& s) { return s.name; },
                                    [](const Segment& s) { return s.shape; }),
                        ")"));
                }
            }
        }

        /** @brief Which model segment takes which file tensor: (segment, tensor) pairs, checked. */
        inline std::vector<std::pair<std::size_t, std::size_t>>
        plan_load(const ParamLayout& layout, const ParametersFileInfo& info, const ParameterSelection& sel,
                  LoadReport& report)
        {
            const std::string& src = info.path;
            std::vector<std::pair<std::size_t, std::size_t>> plan;
            for (std::size_t i = 0; i < layout.num_segments(); ++i)
            {
                const Segment& s = layout[i];
                if (!sel.selects(s.name))
                {
                    report.kept.push_back(s.name + ": not selected");
                    continue;
                }
                const StoredTensor* t = info.find(s.name);
                if (t == nullptr || t->shape != s.shape)
                {
                    const std::string why = t == nullptr
                        ? concat("not in ", src)
                        : concat("of shape ", shape_text(s.shape), " here but ", shape_text(t->shape), " in ", src);
                    if (sel.partial)
                    {
                        report.kept.push_back(s.name + ": " + why);
                        continue;
                    }
                    throw checkpoint_error(concat(
                        src, ": does not fit the model: its tensor '", s.name, "' is ", why, " (the file holds: ",
                        tensor_list(info.tensors, [](const StoredTensor& x) { return x.name; },
                                    [](const StoredTensor& x) { return x.shape; }),
                        "; load a subset with ParameterSelection's include/exclude globs, or partial)"));
                }
                plan.emplace_back(i, static_cast<std::size_t>(t - info.tensors.data()));
                report.loaded.push_back(s.name);
            }
            if (!sel.partial)
            {
                for (const StoredTensor& t : info.tensors)
                {
                    if (sel.selects(t.name) && !layout.find(t.name))
                    {
                        throw checkpoint_error(concat(
                            src, ": does not fit the model: it holds the tensor '", t.name, "' ", shape_text(t.shape),
                            " that the model has not (the model has: ",
                            tensor_list(layout.segments(), [](const Segment& x) { return x.name; },
                                        [](const Segment& x) { return x.shape; }),
                            "; exclude it with ParameterSelection::exclude, or load with partial)"));
                    }
                }
            }
            if (plan.empty())
            {
                throw checkpoint_error(concat(src, ": nothing to load: no selected tensor of the model (",
                                              sel.describe(), ") is in the file with the same shape (",
                                              report.describe(), ")"));
            }
            return plan;
        }
    }

    template <class T>
    void save_parameters(const ParamBuffer<T>& params, const std::filesystem::path& path)
    {
        static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                      "xtrain::save_parameters: parameters must be float or double");
        namespace fs = std::filesystem;
        const std::string p = path.string();
        const char* where = "xtrain::save_parameters";
        params.check_layout();
        std::error_code ec;
        if (path.empty())
        {
            throw checkpoint_error(detail::concat(where, ": the path is empty"));
        }
        if (fs::is_directory(path, ec))
        {
            throw checkpoint_error(detail::concat(where, ": '", p, "' is a folder; give a file name"));
        }
        const fs::path parent = path.parent_path();
        if (!parent.empty() && !fs::is_directory(parent, ec))
        {
            throw checkpoint_error(detail::concat(where, ": the folder '", parent.string(), "' of '", p, "' does not exist"));
        }

        std::ostringstream buffer(std::ios::binary);
        BinaryWriter w(buffer);
        w.write_bytes(detail::parameters_magic, sizeof detail::parameters_magic);
        w.write<std::uint32_t>(parameters_format_version);
        w.write_tag("parameters");
        w.write<std::uint32_t>(sizeof(T));
        const ParamLayout& layout = params.layout();
        w.write<std::uint64_t>(layout.num_segments());
        for (std::size_t i = 0; i < layout.num_segments(); ++i)
        {
            const Segment& s = layout[i];
            w.write_string(s.name);
            w.write<std::uint64_t>(s.shape.size());
            for (std::size_t d : s.shape)
            {
                w.write<std::uint64_t>(d);
            }
            w.write_array(params.segment_data(i), s.size);
        }
        const std::uint32_t crc = w.crc();
        w.write(crc);
        // Unique temporary names: concurrent runs of a sweep may cache the same pretrained weights.
        detail::write_file_atomic<checkpoint_error>(path, buffer.str(), detail::TemporaryName::unique, where);
    }

    inline ParametersFileInfo read_parameters_info(const std::filesystem::path& path)
    {
        return detail::parse_parameters(path).info;
    }

    namespace detail
    {
        /** @brief load_parameters after the file was read and parsed (all or nothing, like it). */
        template <class T>
        LoadReport load_parsed(ParamBuffer<T>& params, const ParsedParameters& parsed, const ParameterSelection& selection)
        {
            const ParamLayout& layout = params.layout();
            if (parsed.info.scalar_bytes != sizeof(T))
            {
                throw checkpoint_error(concat(parsed.info.path, ": written for ", parsed.info.scalar_bytes * 8,
                                              "-bit parameters, but this model uses ", sizeof(T) * 8, "-bit ones"));
            }
            LoadReport report;
            const auto plan = plan_load(layout, parsed.info, selection, report);
            // Everything checked: copy.
            for (const auto& [seg, tensor] : plan)
            {
                T* out = params.segment_data(seg);
                const char* in = parsed.bytes.data() + parsed.value_offsets[tensor];
                const std::size_t n = layout[seg].size;
                std::memcpy(out, in, n * sizeof(T));
                if (!BinaryWriter::host_is_little_endian())
                {
                    for (std::size_t k = 0; k < n; ++k)
                    {
                        auto* b = reinterpret_cast<unsigned char*>(out + k);
                        std::reverse(b, b + sizeof(T));
                    }
                }
            }
            return report;
        }
    }

    template <class T>
    LoadReport load_parameters(ParamBuffer<T>& params, const std::filesystem::path& path, const ParameterSelection& selection)
    {
        static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                      "xtrain::load_parameters: parameters must be float or double");
        selection.validate();
        params.check_layout();
        detail::require_globs_match(selection.include, "include", params.layout(), "xtrain::load_parameters");
        detail::require_globs_match(selection.exclude, "exclude", params.layout(), "xtrain::load_parameters");
        return detail::load_parsed(params, detail::parse_parameters(path), selection);
    }
}

#endif
