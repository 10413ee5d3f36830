/**
 * @file file_io.hpp
 * @brief Whole-file reads and atomic file replacement, shared by every file xtrain writes.
 *
 * Checkpoints, parameters files and the sweep's results are all written the same way: the bytes go
 * to a temporary file beside the target, which is then renamed over it, so a kill or a full disk
 * leaves either the old file or the new one, never a mixture. Reads take the whole file at once and
 * name the file and the kind of file in every message.
 */
#ifndef XTRAIN_CORE_FILE_IO_HPP
#define XTRAIN_CORE_FILE_IO_HPP

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <system_error>

#include "xtrain/core/error.hpp"

namespace xtrain
{
    namespace detail
    {
        /** @brief Which temporary file write_file_atomic writes before the rename. */
        enum class TemporaryName
        {
            fixed, ///< "<path>.tmp": for files only one writer touches (a locked results folder, a run's checkpoint)
            unique ///< "<path>.tmp-<random>": for files several processes may write at once (a shared cache)
        };

        /** @brief A name for a temporary file beside @p path that no other writer uses. */
        inline std::filesystem::path unique_temporary_beside(const std::filesystem::path& path)
        {
            std::random_device rd;
            const unsigned long long tag = (static_cast<unsigned long long>(rd()) << 32) ^ rd();
            char buf[32];
            std::snprintf(buf, sizeof buf, ".tmp-%016llx", tag);
            return path.string() + buf;
        }

        /**
         * @brief Replaces @p path by @p content atomically: a temporary file beside it, then a rename.
         *
         * A kill during the rewrite leaves either the old file or the new one, never a mixture; a
         * failed write (a full disk) removes the temporary file and leaves the old file as it was.
         * @tparam Error the exception thrown, its message naming the file (and starting with @p where
         * when given)
         */
        template <class Error = std::runtime_error>
        void write_file_atomic(const std::filesystem::path& path, const std::string& content,
                               TemporaryName temporary = TemporaryName::fixed, const char* where = nullptr)
        {
            const std::string prefix = where != nullptr ? concat(where, ": ") : std::string();
            std::filesystem::path tmp = path;
            if (temporary == TemporaryName::unique)
            {
                tmp = unique_temporary_beside(path);
            }
            else
            {
                tmp += ".tmp";
            }
            {
                std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
                if (!out)
                {
                    throw Error(concat(prefix, "cannot open '", tmp.string(), "' for writing (", std::strerror(errno), ")"));
                }
                out.write(content.data(), static_cast<std::streamsize>(content.size()));
                out.close();
                if (!out)
                {
                    std::error_code ignored;
                    std::filesystem::remove(tmp, ignored); // the old file stays as it was
                    throw Error(concat(prefix, "cannot write '", tmp.string(), "' (disk full?)"));
                }
            }
            std::error_code ec;
            std::filesystem::rename(tmp, path, ec);
            if (ec)
            {
                std::error_code ignored;
                std::filesystem::remove(tmp, ignored);
                throw Error(concat(prefix, "cannot rename '", tmp.string(), "' to '", path.string(), "': ", ec.message()));
            }
        }

        /**
         * @brief The whole content of @p path, a file of the kind @p noun names ("checkpoint",
         * "parameters file") in the messages.
         * @throws checkpoint_error "PATH: is a folder, not a NOUN", "PATH: cannot open the NOUN (why)"
         * or "PATH: cannot read the NOUN (why)"
         */
        inline std::string read_file_bytes(const std::filesystem::path& path, const char* noun)
        {
            const std::string p = path.string();
            std::error_code ec;
            if (std::filesystem::is_directory(path, ec))
            {
                throw checkpoint_error(concat(p, ": is a folder, not a ", noun));
            }
            std::ifstream is(path, std::ios::binary);
            if (!is)
            {
                throw checkpoint_error(concat(p, ": cannot open the ", noun, " (", std::strerror(errno), ")"));
            }
            std::string bytes;
            try
            {
                bytes.assign(std::istreambuf_iterator<char>(is), std::istreambuf_iterator<char>());
            }
            catch (const std::exception& e)
            {
                throw checkpoint_error(concat(p, ": cannot read the ", noun, " (", e.what(), ")"));
            }
            if (is.bad())
            {
                throw checkpoint_error(concat(p, ": cannot read the ", noun));
            }
            return bytes;
        }
    }
}

#endif
