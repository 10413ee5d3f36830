// Edits the bytes of a checkpoint and re-seals them with a correct CRC-32, so that a test (or the
// checkpoint fuzz target) reaches the field checks of Trainer::load_state instead of the checksum.
//
// The format (Trainer::save_state): "XTRAINCK", a u32 format version, tagged sections, then the
// CRC-32 of all preceding bytes; everything little-endian. A section tag is a u64 length followed
// by its text, so a field is found as an offset from the end of its section's tag.
#ifndef XTRAIN_TESTS_TRAIN_CHECKPOINT_BYTES_HPP
#define XTRAIN_TESTS_TRAIN_CHECKPOINT_BYTES_HPP

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

#include "xtrain/core/serialize.hpp"

namespace xtrain::test
{
    /** @brief Rewrites the last four bytes as the CRC-32 of all bytes before them. */
    inline void reseal_checkpoint(std::string& bytes)
    {
        if (bytes.size() < 4)
        {
            return;
        }
        const std::size_t body = bytes.size() - 4;
        std::uint32_t crc = crc32_update(0, bytes.data(), body);
        for (std::size_t i = 0; i < 4; ++i)
        {
            bytes[body + i] = static_cast<char>(crc & 0xFFU);
            crc >>= 8;
        }
    }

    /** @brief A checkpoint's bytes with typed access to its fields; bytes() re-seals the CRC. */
    class CheckpointBytes
    {
    public:
        explicit CheckpointBytes(std::string bytes) : m_bytes(std::move(bytes)) {}

        /** @brief Offset of the first byte after the section tag @p tag. @throws std::logic_error if absent. */
        std::size_t after_tag(std::string_view tag) const
        {
            std::string prefix(8, '\0');
            std::uint64_t n = tag.size();
            for (std::size_t i = 0; i < 8; ++i)
            {
                prefix[i] = static_cast<char>(n & 0xFFU);
                n >>= 8;
            }
            prefix += tag;
            const std::size_t at = m_bytes.find(prefix);
            if (at == std::string::npos)
            {
                throw std::logic_error("no section '" + std::string(tag) + "' in the checkpoint");
            }
            return at + prefix.size();
        }

        /** @brief The little-endian value at @p offset. */
        template <class V>
        V get(std::size_t offset) const
        {
            static_assert(std::is_arithmetic_v<V>);
            unsigned char buf[sizeof(V)];
            for (std::size_t i = 0; i < sizeof(V); ++i)
            {
                buf[i] = static_cast<unsigned char>(m_bytes.at(offset + i));
            }
            V v;
            std::memcpy(&v, buf, sizeof(V));  // the tests run on little-endian hosts, as the format is
            return v;
        }

        /** @brief Writes @p v little-endian at @p offset. */
        template <class V>
        void set(std::size_t offset, V v)
        {
            static_assert(std::is_arithmetic_v<V>);
            unsigned char buf[sizeof(V)];
            std::memcpy(buf, &v, sizeof(V));
            for (std::size_t i = 0; i < sizeof(V); ++i)
            {
                m_bytes.at(offset + i) = static_cast<char>(buf[i]);
            }
        }

        /** @brief Field @p offset bytes after section tag @p tag. */
        template <class V>
        V get(std::string_view tag, std::size_t offset) const
        {
            return get<V>(after_tag(tag) + offset);
        }

        /** @brief Sets the field @p offset bytes after section tag @p tag. */
        template <class V>
        void set(std::string_view tag, std::size_t offset, V v)
        {
            set<V>(after_tag(tag) + offset, v);
        }

        /** @brief Replaces bytes [from, to) with @p with. */
        void splice(std::size_t from, std::size_t to, std::string_view with)
        {
            m_bytes.replace(from, to - from, with);
        }

        /** @brief The raw bytes, without re-sealing. */
        const std::string& raw() const noexcept { return m_bytes; }

        /** @brief The edited checkpoint with a correct CRC-32. */
        std::string bytes() const
        {
            std::string out = m_bytes;
            reseal_checkpoint(out);
            return out;
        }

    private:
        std::string m_bytes;
    };

    /** @brief Offsets of the fields after their section tags, as Trainer::save_state writes them. */
    namespace ckpt_field
    {
        // "counters" (with an empty status message)
        inline constexpr std::size_t step = 0, epoch = 8, examples = 16, in_epoch = 24, batches_in_epoch = 25,
                                     status = 33, status_message_length = 34, updates_since_eval = 50, wall = 66;
        // "xtrain.BatchSampler"
        inline constexpr std::size_t sampler_epoch = 30, sampler_position = 38, sampler_batch = 46;
        // "xtrain::Optimizer" for a policy named "SGD"
        inline constexpr std::size_t optimizer_lr = 8 + 3, optimizer_steps = 8 + 3 + 8;
        // "history": a u64 count, then step rows of 48 bytes (step, epoch, examples_seen, loss, lr,
        // wall_seconds), then a u64 count and evaluation rows of 64 bytes (epoch, step,
        // examples_seen, train_loss, val_loss, val_accuracy, lr, wall_seconds).
        inline constexpr std::size_t step_row_size = 48, eval_row_size = 64;
        inline constexpr std::size_t step_row(std::size_t i) { return 8 + i * step_row_size; }
        inline constexpr std::size_t eval_row(std::size_t i, std::size_t step_rows)
        {
            return 8 + step_rows * step_row_size + 8 + i * eval_row_size;
        }
    }
}

#endif
