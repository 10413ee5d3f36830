/**
 * @file param_buffer.hpp
 * @brief All of a model's parameters in one contiguous buffer with named segments.
 *
 * A model declares its tensors in a ParamLayout ("fc1.weight" 256 x 784, "fc1.bias" 256, ...); a
 * ParamBuffer allocates them back to back in one `xt::xtensor<T, 1>`. Gradients use the same layout
 * (a flat buffer of the same size), so an optimizer steps the whole model in one pass over memory
 * and still knows where each tensor starts: parameter groups (a learning-rate multiplier, a weight
 * decay of their own) and per-layer trust ratios (LARS, LAMB) work on segments.
 */
#ifndef XTRAIN_CORE_PARAM_BUFFER_HPP
#define XTRAIN_CORE_PARAM_BUFFER_HPP

#include <array>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <xtensor/xadapt.hpp>
#include <xtensor/xtensor.hpp>

#include "xtrain/core/error.hpp"

namespace xtrain
{
    /** @brief One named tensor inside a ParamBuffer, with its parameter-group settings. */
    struct Segment
    {
        std::string name;                   ///< e.g. "fc1.weight"
        std::size_t offset = 0;             ///< first element in the flat buffer
        std::size_t size = 0;               ///< number of elements (product of shape)
        std::vector<std::size_t> shape;     ///< the tensor's shape, row-major
        double lr_scale = 1.0;              ///< multiplies the optimizer's learning rate here
        std::optional<double> weight_decay; ///< replaces the optimizer's weight decay when set
        bool layer_adaptation = true;       ///< false: LARS/LAMB use a trust ratio of 1 here
    };

    namespace detail
    {
        /** @brief Glob match with '*' (any run, also empty) and '?' (one character). */
        inline bool glob_match(std::string_view pattern, std::string_view text) noexcept
        {
            std::size_t p = 0;
            std::size_t t = 0;
            std::size_t star = std::string_view::npos;
            std::size_t mark = 0;
            while (t < text.size())
            {
                if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t]))
                {
                    ++p;
                    ++t;
                }
                else if (p < pattern.size() && pattern[p] == '*')
                {
                    star = p++;
                    mark = t;
                }
                else if (star != std::string_view::npos)
                {
                    p = star + 1;
                    t = ++mark;
                }
                else
                {
                    return false;
                }
            }
            while (p < pattern.size() && pattern[p] == '*')
            {
                ++p;
            }
            return p == pattern.size();
        }
    }

    /**
     * @brief The named segments of a flat parameter buffer, in order, packed without gaps.
     *
     * Built once by a model (`add` for each tensor), then handed to a ParamBuffer. Group settings
     * (learning-rate scale, weight decay, layer adaptation) may be changed later by name pattern.
     */
    class ParamLayout
    {
    public:
        /**
         * @brief Appends a tensor named @p name with @p shape; returns its segment index.
         * @throws std::invalid_argument for an empty or duplicate name or a zero-sized shape.
         */
        std::size_t add(std::string name, std::vector<std::size_t> shape)
        {
            if (name.empty())
            {
                throw std::invalid_argument("xtrain::ParamLayout::add: the segment name is empty");
            }
            if (find(name))
            {
                throw std::invalid_argument(
                    detail::concat("xtrain::ParamLayout::add: duplicate segment name '", name, "'"));
            }
            std::size_t n = shape.empty() ? 0 : 1;
            for (std::size_t d : shape)
            {
                n *= d;
            }
            if (n == 0)
            {
                throw std::invalid_argument(detail::concat(
                    "xtrain::ParamLayout::add: segment '", name, "' has no elements (empty shape or a zero extent)"));
            }
            Segment s;
            s.name = std::move(name);
            s.offset = m_size;
            s.size = n;
            s.shape = std::move(shape);
            m_size += n;
            m_segments.push_back(std::move(s));
            return m_segments.size() - 1;
        }

        /** @brief Total number of scalars over all segments. */
        std::size_t size() const noexcept { return m_size; }
        /** @brief Number of segments. */
        std::size_t num_segments() const noexcept { return m_segments.size(); }
        /** @brief All segments, in buffer order. */
        const std::vector<Segment>& segments() const noexcept { return m_segments; }
        /** @brief Segment @p i (unchecked). */
        const Segment& operator[](std::size_t i) const noexcept { return m_segments[i]; }

        /** @brief Index of the segment named @p name, if any. */
        std::optional<std::size_t> find(std::string_view name) const noexcept
        {
            for (std::size_t i = 0; i < m_segments.size(); ++i)
            {
                if (m_segments[i].name == name)
                {
                    return i;
                }
            }
            return std::nullopt;
        }

        /** @brief Index of the segment named @p name. @throws std::invalid_argument if absent. */
        std::size_t index_of(std::string_view name) const
        {
            if (auto i = find(name))
            {
                return *i;
            }
            throw std::invalid_argument(detail::concat("xtrain::ParamLayout: no segment named '", name, "'"));
        }

        /**
         * @brief Multiplies the learning rate by @p scale in every segment matching @p pattern.
         * @return the number of segments changed. @throws std::invalid_argument if none match or scale < 0.
         */
        std::size_t set_lr_scale(std::string_view pattern, double scale)
        {
            detail::require(scale >= 0.0, "xtrain::ParamLayout::set_lr_scale", "scale", scale, "must be >= 0");
            return apply(pattern, "set_lr_scale", [scale](Segment& s) { s.lr_scale = scale; });
        }

        /**
         * @brief Gives every segment matching @p pattern its own weight decay (e.g. 0 for "*.bias").
         * @return the number of segments changed. @throws std::invalid_argument if none match or wd < 0.
         */
        std::size_t set_weight_decay(std::string_view pattern, double weight_decay)
        {
            detail::require(weight_decay >= 0.0, "xtrain::ParamLayout::set_weight_decay", "weight_decay",
                            weight_decay, "must be >= 0");
            return apply(pattern, "set_weight_decay", [weight_decay](Segment& s) { s.weight_decay = weight_decay; });
        }

        /**
         * @brief Switches LARS/LAMB layer adaptation on or off for segments matching @p pattern.
         * @return the number of segments changed. @throws std::invalid_argument if none match.
         */
        std::size_t set_layer_adaptation(std::string_view pattern, bool on)
        {
            return apply(pattern, "set_layer_adaptation", [on](Segment& s) { s.layer_adaptation = on; });
        }

        /** @brief True when both layouts have the same names, shapes and offsets (groups may differ). */
        bool same_structure(const ParamLayout& other) const noexcept
        {
            if (m_size != other.m_size || m_segments.size() != other.m_segments.size())
            {
                return false;
            }
            for (std::size_t i = 0; i < m_segments.size(); ++i)
            {
                const Segment& a = m_segments[i];
                const Segment& b = other.m_segments[i];
                if (a.name != b.name || a.offset != b.offset || a.shape != b.shape)
                {
                    return false;
                }
            }
            return true;
        }

    private:
        template <class F>
        std::size_t apply(std::string_view pattern, const char* what, F&& f)
        {
            std::size_t n = 0;
            for (Segment& s : m_segments)
            {
                if (detail::glob_match(pattern, s.name))
                {
                    f(s);
                    ++n;
                }
            }
            if (n == 0)
            {
                throw std::invalid_argument(
                    detail::concat("xtrain::ParamLayout::", what, ": pattern '", pattern, "' matches no segment"));
            }
            return n;
        }

        std::vector<Segment> m_segments;
        std::size_t m_size = 0;
    };

    /**
     * @brief A flat buffer of parameters (or gradients) laid out by a ParamLayout.
     *
     * Owns its values; segment views are non-owning adaptors into them and stay valid while the
     * buffer lives and is not reassigned. Moving a ParamBuffer keeps the storage (views stay
     * valid); copying makes new storage.
     */
    template <class T>
    class ParamBuffer
    {
    public:
        /** @brief Scalar type. */
        using value_type = T;
        /** @brief The flat storage type. */
        using storage_type = xt::xtensor<T, 1>;

        /** @brief An empty buffer with no segments. */
        ParamBuffer() = default;

        /** @brief Allocates storage for @p layout, filled with @p fill. */
        explicit ParamBuffer(ParamLayout layout, T fill = T(0))
            : m_layout(std::move(layout))
            , m_values(storage_type::from_shape({m_layout.size()}))
        {
            m_values.fill(fill);
        }

        /** @brief The layout (segment names, shapes, groups). */
        const ParamLayout& layout() const noexcept { return m_layout; }
        /**
         * @brief The layout, for changing group settings (set_lr_scale, set_weight_decay, ...).
         * Adding segments through this reference is not allowed and is detected by check_layout().
         */
        ParamLayout& layout() noexcept { return m_layout; }

        /** @brief Throws std::logic_error if segments were added after the storage was allocated. */
        void check_layout() const
        {
            if (m_layout.size() != m_values.size())
            {
                throw std::logic_error("xtrain::ParamBuffer: the layout changed after allocation");
            }
        }

        /** @brief Number of scalars. */
        std::size_t size() const noexcept { return m_values.size(); }
        /** @brief Pointer to the first scalar. */
        T* data() noexcept { return m_values.data(); }
        /** @brief Pointer to the first scalar. */
        const T* data() const noexcept { return m_values.data(); }
        /** @brief The flat storage. */
        storage_type& values() noexcept { return m_values; }
        /** @brief The flat storage. */
        const storage_type& values() const noexcept { return m_values; }

        /** @brief Pointer to the first scalar of segment @p i. */
        T* segment_data(std::size_t i) noexcept { return m_values.data() + m_layout[i].offset; }
        /** @brief Pointer to the first scalar of segment @p i. */
        const T* segment_data(std::size_t i) const noexcept { return m_values.data() + m_layout[i].offset; }

        /** @brief Segment @p i as a flat 1-D view. */
        auto segment(std::size_t i) noexcept
        {
            const std::size_t n = m_layout[i].size;
            return xt::adapt(segment_data(i), n, xt::no_ownership(), std::array<std::size_t, 1>{n});
        }
        /** @brief Segment @p i as a flat 1-D view. */
        auto segment(std::size_t i) const noexcept
        {
            const std::size_t n = m_layout[i].size;
            return xt::adapt(segment_data(i), n, xt::no_ownership(), std::array<std::size_t, 1>{n});
        }
        /** @brief The segment named @p name as a flat 1-D view. */
        auto segment(std::string_view name) { return segment(m_layout.index_of(name)); }
        /** @brief The segment named @p name as a flat 1-D view. */
        auto segment(std::string_view name) const { return segment(m_layout.index_of(name)); }

        /**
         * @brief Segment @p i viewed with its own shape of rank @p N (e.g. a 2-D weight matrix).
         * @throws std::invalid_argument if the segment's rank is not N.
         */
        template <std::size_t N>
        auto view(std::size_t i)
        {
            return xt::adapt(segment_data(i), m_layout[i].size, xt::no_ownership(), shape_of<N>(i));
        }
        /** @brief Const version of view<N>(i). */
        template <std::size_t N>
        auto view(std::size_t i) const
        {
            return xt::adapt(segment_data(i), m_layout[i].size, xt::no_ownership(), shape_of<N>(i));
        }

        /** @brief A zero-filled flat buffer of the same size (e.g. for gradients). */
        storage_type zeros_like() const
        {
            storage_type z = storage_type::from_shape({m_values.size()});
            z.fill(T(0));
            return z;
        }

    private:
        template <std::size_t N>
        std::array<std::size_t, N> shape_of(std::size_t i) const
        {
            const Segment& s = m_layout[i];
            if (s.shape.size() != N)
            {
                throw std::invalid_argument(detail::concat("xtrain::ParamBuffer::view<", N, ">: segment '", s.name,
                                                           "' has rank ", s.shape.size()));
            }
            std::array<std::size_t, N> a{};
            for (std::size_t d = 0; d < N; ++d)
            {
                a[d] = s.shape[d];
            }
            return a;
        }

        ParamLayout m_layout;
        storage_type m_values;
    };
}

#endif
