/**
 * @file error.hpp
 * @brief The exceptions xtrain throws, and the helpers that build messages naming the culprit.
 *
 * Arguments a caller got wrong (a negative learning rate, a batch size of 0, buffers of different
 * sizes) raise `std::invalid_argument`. Bad content read from outside (a truncated file, a
 * non-numeric CSV cell) raises `xtrain::data_error`; a checkpoint that is corrupt or was written by
 * something else raises `xtrain::checkpoint_error`. Every message names the thing at fault.
 */
#ifndef XTRAIN_CORE_ERROR_HPP
#define XTRAIN_CORE_ERROR_HPP

#include <charconv>
#include <cmath>
#include <cstddef>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

namespace xtrain
{
    /** @brief Bad content in data read from a file or a stream (the message names the source). */
    class data_error : public std::runtime_error
    {
    public:
        using std::runtime_error::runtime_error;
    };

    /** @brief A checkpoint that is corrupt, truncated, of another version or of another model. */
    class checkpoint_error : public std::runtime_error
    {
    public:
        using std::runtime_error::runtime_error;
    };

    namespace detail
    {
        /**
         * @brief The shortest text that reads back to exactly @p v (`std::to_chars`, locale-free):
         * 0.9 is "0.9", not "0.90000000000000002"; "nan", "inf" and "-inf" when not finite.
         */
        template <class V>
        std::string shortest_text(V v)
        {
            static_assert(std::is_floating_point_v<V>, "shortest_text takes a floating-point value");
            if (std::isnan(v))
            {
                return "nan";
            }
            if (std::isinf(v))
            {
                return v > 0 ? "inf" : "-inf";
            }
            char buf[64];
            const auto r = std::to_chars(buf, buf + sizeof(buf), v);
            return std::string(buf, r.ptr);
        }

        /**
         * @brief A shape as every message and summary writes it: "{1, 28, 28}", the way a user
         *        writes it in C++ (e.g. `sample_shape = {1, 28, 28}`); "{}" for no extents.
         */
        template <class Shape>
        std::string shape_text(const Shape& shape)
        {
            std::string s = "{";
            bool first = true;
            for (const auto extent : shape)
            {
                s += (first ? "" : ", ") + std::to_string(extent);
                first = false;
            }
            return s + "}";
        }

        /** @brief Writes a value to a stream; floating-point values in their shortest exact form. */
        template <class V>
        void put_value(std::ostream& os, const V& v)
        {
            if constexpr (std::is_floating_point_v<V>)
            {
                os << shortest_text(v);
            }
            else if constexpr (std::is_same_v<V, bool>)
            {
                os << (v ? "true" : "false");
            }
            else
            {
                os << v;
            }
        }

        /** @brief Concatenates the arguments as text (floating-point in the shortest form that reads back exactly). */
        template <class... Args>
        std::string concat(const Args&... args)
        {
            std::ostringstream os;
            (put_value(os, args), ...);
            return os.str();
        }

        /**
         * @brief Throws `std::invalid_argument` "<where>: <name> <rule> (got <value>)" unless @p ok.
         *
         * Used by every hyperparameter check so that all messages read the same way, e.g.
         * "xtrain::SGD: momentum must be >= 0 (got -0.5)".
         */
        template <class V>
        void require(bool ok, std::string_view where, std::string_view name, const V& value,
                     std::string_view rule)
        {
            if (!ok)
            {
                throw std::invalid_argument(concat(where, ": ", name, " ", rule, " (got ", value, ")"));
            }
        }
    }
}

#endif
