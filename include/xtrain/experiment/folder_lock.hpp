/**
 * @file folder_lock.hpp
 * @brief One writer per results folder, enforced by an operating-system lock.
 *
 * A results folder is written by one process at a time: two sweeps appending to one runs.csv would
 * interleave their runs and leave a folder that cannot be resumed. FolderLock takes an exclusive,
 * non-blocking `flock` on `DIR/.xtrain-lock` and holds it for its lifetime. The kernel releases it
 * when the process ends in any way (a crash or a SIGKILL included), so a killed sweep never leaves a
 * stale lock behind: the file may stay, the lock does not. The holder writes its process id, host
 * and purpose into the file, and a second process is refused with a message that names them.
 *
 * ResultsFolder (every sweep, resume and refinement) and merge_results take the lock on the folder
 * they write; a program that writes into a results folder by other means (figures, extra files)
 * takes one too.
 *
 * Locks nest within a process: a program that holds a folder's lock may open a ResultsFolder or
 * merge into it; the lock is released when the last FolderLock on it goes.
 *
 * Limits: `flock` locks are advisory (a process that does not ask is not stopped) and, on some
 * network file systems, local to one machine: shards on several machines still use one folder
 * each. On systems without `flock` (not POSIX) the lock is a no-op.
 */
#ifndef XTRAIN_EXPERIMENT_FOLDER_LOCK_HPP
#define XTRAIN_EXPERIMENT_FOLDER_LOCK_HPP

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "xtrain/core/error.hpp"

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#define XTRAIN_HAS_FLOCK 1
#else
#define XTRAIN_HAS_FLOCK 0
#endif

namespace xtrain
{
    /** @brief Thrown when another process holds a results folder's lock. */
    class folder_busy : public std::runtime_error
    {
    public:
        using std::runtime_error::runtime_error;
    };

    /**
     * @brief An exclusive lock on a results folder for the lifetime of the object (move-only).
     */
    class FolderLock
    {
    public:
        /** @brief The lock file's name inside the folder. */
        static constexpr const char* file_name = ".xtrain-lock";

        /**
         * @brief Creates @p dir if needed and locks it; @p purpose says what for ("sweep", "merge",
         * ...), for the message another process gets.
         * @throws folder_busy naming the holder if another process holds the lock;
         *         std::runtime_error if the lock file cannot be created or locked.
         */
        FolderLock(const std::filesystem::path& dir, std::string_view purpose)
        {
            std::error_code ec;
            std::filesystem::create_directories(dir, ec);
            if (ec)
            {
                throw std::runtime_error(
                    detail::concat("cannot create the results folder '", dir.string(), "': ", ec.message()));
            }
#if XTRAIN_HAS_FLOCK
            const std::filesystem::path path = dir / file_name;
            m_fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
            if (m_fd < 0)
            {
                throw std::runtime_error(detail::concat("cannot create the lock file '", path.string(),
                                                        "': ", std::strerror(errno)));
            }
            struct stat st
            {
            };
            if (::fstat(m_fd, &st) != 0)
            {
                const int err = errno;
                ::close(m_fd);
                m_fd = -1;
                throw std::runtime_error(detail::concat("cannot read '", path.string(), "': ", std::strerror(err)));
            }
            m_key = {static_cast<unsigned long long>(st.st_dev), static_cast<unsigned long long>(st.st_ino)};
            // Held across the check and the flock: two threads of one process share, never race.
            std::lock_guard<std::mutex> guard(registry_mutex());
            auto it = registry().find(m_key);
            if (it != registry().end())
            {
                // This process holds it already: share that lock.
                ::close(m_fd);
                m_fd = -1;
                ++it->second.count;
                m_shared = true;
                return;
            }
            int rc = 0;
            do
            {
                rc = ::flock(m_fd, LOCK_EX | LOCK_NB);
            } while (rc != 0 && errno == EINTR);
            if (rc != 0)
            {
                const int err = errno;
                const std::string holder = read_all(m_fd);
                ::close(m_fd);
                m_fd = -1;
                if (err == EWOULDBLOCK)
                {
                    throw folder_busy(detail::concat(
                        "the results folder '", dir.string(), "' is in use by another process (",
                        holder.empty() ? std::string("it did not say which") : holder,
                        "): one process writes a folder at a time. Wait for it to finish or stop it, or "
                        "choose another folder (shards on several machines write one folder each and are "
                        "merged afterwards)."));
                }
                throw std::runtime_error(
                    detail::concat("cannot lock '", path.string(), "': ", std::strerror(err)));
            }
            // Who holds it, for the message a second process gets. Best effort: the lock is what counts.
            char host[256] = {};
            if (::gethostname(host, sizeof host - 1) != 0)
            {
                host[0] = '\0';
            }
            const std::string who = detail::concat("pid ", static_cast<long>(::getpid()),
                                                   host[0] != '\0' ? " on " : "", host, ", ", purpose);
            if (::ftruncate(m_fd, 0) == 0)
            {
                [[maybe_unused]] const auto written = ::pwrite(m_fd, who.data(), who.size(), 0);
            }
            registry()[m_key] = Held{m_fd, 1};
            m_shared = true;
            m_fd = -1;
#else
            (void)purpose;
#endif
        }

        FolderLock(FolderLock&& other) noexcept
            : m_key(other.m_key), m_shared(std::exchange(other.m_shared, false))
        {
        }
        FolderLock& operator=(FolderLock&& other) noexcept
        {
            if (this != &other)
            {
                release();
                m_key = other.m_key;
                m_shared = std::exchange(other.m_shared, false);
            }
            return *this;
        }
        FolderLock(const FolderLock&) = delete;
        FolderLock& operator=(const FolderLock&) = delete;
        ~FolderLock() { release(); }

        /** @brief True while the lock is held (always true on systems without `flock`). */
        bool held() const noexcept { return XTRAIN_HAS_FLOCK == 0 || m_shared; }

    private:
        using Key = std::pair<unsigned long long, unsigned long long>;  // device, inode of the lock file
        struct Held
        {
            int fd;
            int count;
        };
        static std::map<Key, Held>& registry()
        {
            static std::map<Key, Held> held;
            return held;
        }
        static std::mutex& registry_mutex()
        {
            static std::mutex m;
            return m;
        }

        void release() noexcept
        {
#if XTRAIN_HAS_FLOCK
            if (!m_shared)
            {
                return;
            }
            m_shared = false;
            std::lock_guard<std::mutex> guard(registry_mutex());
            auto it = registry().find(m_key);
            if (it != registry().end() && --it->second.count == 0)
            {
                ::close(it->second.fd);  // closing the only descriptor releases the lock
                registry().erase(it);
            }
#endif
        }

#if XTRAIN_HAS_FLOCK
        static std::string read_all(int fd)
        {
            std::string text;
            char buf[512];
            off_t at = 0;
            ssize_t k = 0;
            while (text.size() < 4096 && (k = ::pread(fd, buf, sizeof buf, at)) > 0)
            {
                text.append(buf, static_cast<std::size_t>(k));
                at += k;
            }
            while (!text.empty() && (text.back() == '\n' || text.back() == '\0'))
            {
                text.pop_back();
            }
            return text;
        }
#endif

        int m_fd = -1;  // only while the constructor runs
        Key m_key{};
        bool m_shared = false;  // counted in registry()
    };
}

#endif
