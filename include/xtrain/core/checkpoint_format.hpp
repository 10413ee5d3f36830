/**
 * @file checkpoint_format.hpp
 * @brief The Trainer checkpoint's file format: its envelope, its layout section and its counters.
 *
 * A checkpoint is, little-endian (core/serialize.hpp):
 *
 * | part | content |
 * |---|---|
 * | magic | the 8 bytes "XTRAINCK" |
 * | version | u32, checkpoint_format_version |
 * | "layout" | scalar size in bytes (u32), number of tensors (u64), then per tensor its name and shape |
 * | "counters" | TrainerCounters, field by field in the order of TrainerCounters::visit |
 * | "parameters" | the flat parameter buffer |
 * | "optimizer", "sampler", "model", "callbacks" | each part's own state, written by the part |
 * | history | the History (train/history.hpp) |
 * | checksum | u32, CRC-32 of every byte before it |
 *
 * Trainer::save_state writes it and Trainer::load_state reads it; load_parameters
 * (model/parameters_file.hpp) reads the layout and the parameters of one. Both use what this header
 * defines, so a change to the format is made here once.
 */
#ifndef XTRAIN_CORE_CHECKPOINT_FORMAT_HPP
#define XTRAIN_CORE_CHECKPOINT_FORMAT_HPP

#include <cstddef>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "xtrain/core/error.hpp"
#include "xtrain/core/param_buffer.hpp"
#include "xtrain/core/run_status.hpp"
#include "xtrain/core/serialize.hpp"

namespace xtrain
{
    /** @brief The version of the checkpoint format written by Trainer::save_checkpoint. */
    inline constexpr std::uint32_t checkpoint_format_version = 1;

    /**
     * @brief Where a run stands, as a checkpoint stores it: the Trainer's counters.
     *
     * Saved and loaded field by field in the order visit() lists them; a field is added here once.
     */
    struct TrainerCounters
    {
        std::uint64_t step = 0;                ///< updates done
        std::uint64_t epoch = 0;               ///< completed epochs
        std::uint64_t examples_seen = 0;       ///< training examples consumed
        bool in_epoch = false;                 ///< true between an epoch's first batch and its end
        std::uint64_t batches_in_epoch = 0;    ///< batches of the epoch in progress handed out so far
        RunStatus status = RunStatus::not_started; ///< never `running` in a file: a run in progress is saved as not_started
        std::string status_message;            ///< why the run stopped or diverged (empty otherwise)
        double loss_sum_since_eval = 0.0;      ///< sum of the update losses since the last evaluation
        std::uint64_t updates_since_eval = 0;  ///< updates since the last evaluation
        double last_loss = std::numeric_limits<double>::quiet_NaN(); ///< the last update's mean loss
        double wall_seconds = 0.0;             ///< seconds of training up to the save

        /** @brief Calls f(name, field) for every field, in the file's order. */
        template <class F>
        void visit(F&& f)
        {
            visit_fields(*this, f);
        }
        /** @brief Calls f(name, field) for every field, in the file's order. */
        template <class F>
        void visit(F&& f) const
        {
            visit_fields(*this, f);
        }

        /** @brief Writes the fields, in visit() order. */
        void save(BinaryWriter& w) const
        {
            visit([&w](const char*, const auto& v) {
                using V = std::decay_t<decltype(v)>;
                if constexpr (std::is_same_v<V, std::string>)
                {
                    w.write_string(v);
                }
                else if constexpr (std::is_same_v<V, RunStatus>)
                {
                    w.write(static_cast<std::uint8_t>(v));
                }
                else
                {
                    w.write(v);
                }
            });
        }

        /**
         * @brief Reads the fields written by save(). @throws checkpoint_error (through the reader)
         * for a truncated section or a run status that no saved run can have.
         */
        static TrainerCounters load(BinaryReader& r)
        {
            TrainerCounters c;
            c.visit([&r](const char*, auto& v) {
                using V = std::decay_t<decltype(v)>;
                if constexpr (std::is_same_v<V, std::string>)
                {
                    v = r.read_string();
                }
                else if constexpr (std::is_same_v<V, RunStatus>)
                {
                    const auto byte = r.read<std::uint8_t>();
                    if (byte > static_cast<std::uint8_t>(RunStatus::stalled))
                    {
                        r.fail(detail::concat("unknown run status ", static_cast<int>(byte)));
                    }
                    if (byte == static_cast<std::uint8_t>(RunStatus::running))
                    {
                        r.fail("the run status 'running' is never saved (a run in progress is saved as not_started)");
                    }
                    v = static_cast<RunStatus>(byte);
                }
                else
                {
                    v = r.read<V>();
                }
            });
            return c;
        }

    private:
        template <class Self, class F>
        static void visit_fields(Self& s, F& f)
        {
            f("step", s.step);
            f("epoch", s.epoch);
            f("examples_seen", s.examples_seen);
            f("in_epoch", s.in_epoch);
            f("batches_in_epoch", s.batches_in_epoch);
            f("status", s.status);
            f("status_message", s.status_message);
            f("loss_sum_since_eval", s.loss_sum_since_eval);
            f("updates_since_eval", s.updates_since_eval);
            f("last_loss", s.last_loss);
            f("wall_seconds", s.wall_seconds);
        }
    };

    namespace detail
    {
        /** @brief The first 8 bytes of a Trainer checkpoint. */
        inline constexpr char checkpoint_magic[8] = {'X', 'T', 'R', 'A', 'I', 'N', 'C', 'K'};

        /** @brief The bytes before the trailing checksum, and the checksum. */
        struct FileBody
        {
            std::size_t size = 0;  ///< bytes covered by the checksum
            std::uint32_t crc = 0; ///< the stored CRC-32
        };

        /**
         * @brief Checks the trailing CRC-32 of @p bytes (a file of xtrain's binary formats, at least
         * 4 bytes long); @p r names the source in the message.
         * @throws checkpoint_error "damaged: the CRC-32 checksum does not match the contents"
         */
        inline FileBody check_file_checksum(const std::string& bytes, const BinaryReader& r)
        {
            FileBody b;
            b.size = bytes.size() - sizeof(std::uint32_t);
            std::istringstream tail(bytes.substr(b.size), std::ios::binary);
            BinaryReader tr(tail, "the checksum");
            b.crc = tr.read<std::uint32_t>();
            if (crc32_update(0, bytes.data(), b.size) != b.crc)
            {
                r.fail("damaged: the CRC-32 checksum does not match the contents");
            }
            return b;
        }

        /** @brief Writes a checkpoint's "layout" section: the scalar size and each tensor's name and shape. */
        inline void write_checkpoint_layout(BinaryWriter& w, const ParamLayout& layout, std::size_t scalar_bytes)
        {
            w.write_tag("layout");
            w.write<std::uint32_t>(static_cast<std::uint32_t>(scalar_bytes));
            w.write<std::uint64_t>(layout.num_segments());
            for (const Segment& s : layout.segments())
            {
                w.write_string(s.name);
                w.write_array(s.shape.data(), s.shape.size());
            }
        }

        /**
         * @brief Reads a checkpoint's "layout" section and checks it describes @p layout with
         * scalars of @p scalar_bytes. @throws checkpoint_error naming the first difference
         */
        inline void check_checkpoint_layout(BinaryReader& r, const ParamLayout& layout, std::size_t scalar_bytes)
        {
            r.expect_tag("layout");
            const auto scalar = r.read<std::uint32_t>();
            if (scalar != scalar_bytes)
            {
                r.fail(concat("written for ", scalar * 8, "-bit parameters, but this model uses ", scalar_bytes * 8,
                              "-bit ones"));
            }
            const auto nseg = r.read<std::uint64_t>();
            if (nseg != layout.num_segments())
            {
                r.fail(concat("written for a model with ", nseg, " parameter tensors, but this model has ",
                              layout.num_segments(), " (another model?)"));
            }
            for (const Segment& s : layout.segments())
            {
                const std::string name = r.read_string(4096);
                const auto rank = r.read_array_length(64, "a tensor shape");
                std::vector<std::size_t> shape(static_cast<std::size_t>(rank));
                for (auto& d : shape)
                {
                    d = static_cast<std::size_t>(r.read<std::uint64_t>());
                }
                if (name != s.name || shape != s.shape)
                {
                    r.fail(concat("written for another model: it has tensor '", name, "' of shape ", shape_text(shape),
                                  " where this model has '", s.name, "' of shape ", shape_text(s.shape)));
                }
            }
        }
    }
}

#endif
