/**
 * @file fashion_mnist.hpp
 * @brief Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017) from the Debian package dataset-fashion-mnist.
 *
 * 70000 grey 28 x 28 images of clothes in 10 classes: 60000 for training, 10000 for testing. The
 * package installs the four original gzip IDX files in /usr/share/datasets/fashion-mnist.
 */
#ifndef XTRAIN_DATA_FASHION_MNIST_HPP
#define XTRAIN_DATA_FASHION_MNIST_HPP

#include <array>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

#include "xtrain/core/error.hpp"
#include "xtrain/data/dataset.hpp"
#include "xtrain/data/idx.hpp"

namespace xtrain
{
    /** @brief A training set and a test set, e.g. `auto [train, test] = datasets::fashion_mnist();`. */
    template <class T>
    struct TrainTest
    {
        Dataset<T> train;  ///< the training part
        Dataset<T> test;   ///< the held-out part
    };

    namespace datasets
    {
        /** @brief Where the Debian package dataset-fashion-mnist installs the files. */
        inline constexpr const char* fashion_mnist_default_dir = "/usr/share/datasets/fashion-mnist";

        /** @brief The ten class names, in label order. */
        inline const std::array<const char*, 10>& fashion_mnist_class_names() noexcept
        {
            static const std::array<const char*, 10> names{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                           "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
            return names;
        }
    }

    namespace detail
    {
        /** @brief The path of @p file in @p dir, plain or with ".gz", or empty if neither exists. */
        inline std::string find_idx_file(const std::string& dir, const std::string& file)
        {
            namespace fs = std::filesystem;
            std::error_code ec;
            for (const char* suffix : {".gz", ""})
            {
                const fs::path p = fs::path(dir) / (file + suffix);
                if (fs::is_regular_file(p, ec))
                {
                    return p.string();
                }
            }
            return {};
        }

        /** @brief Locates one of the four files or explains how to get them. */
        inline std::string require_idx_file(const std::string& dir, const std::string& file)
        {
            std::string p = find_idx_file(dir, file);
            if (p.empty())
            {
                throw data_error(concat(
                    "xtrain::datasets::fashion_mnist: ", dir, "/", file, ".gz not found (nor ", file,
                    " uncompressed); on Debian or Ubuntu install the data with "
                    "`apt-get install dataset-fashion-mnist`, or pass the folder that holds the four IDX files"));
            }
            return p;
        }

        /**
         * @brief Makes the kernel map (and zero) the pages of [p, p + bytes) now, so that writing
         * them later does not fault page by page. Linux 5.14 and later; elsewhere it does nothing.
         */
        inline void prefault_pages(void* p, std::size_t bytes) noexcept
        {
#if defined(__linux__) && defined(MADV_POPULATE_WRITE)
            const long page_size = sysconf(_SC_PAGESIZE);
            if (page_size <= 0)
            {
                return;
            }
            const auto page = static_cast<std::uintptr_t>(page_size);
            const auto begin = (reinterpret_cast<std::uintptr_t>(p) + page - 1) / page * page;
            const auto end = (reinterpret_cast<std::uintptr_t>(p) + bytes) / page * page;
            if (end > begin)
            {
                // Failure (an older kernel) only loses the speed-up.
                (void)madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE);
            }
#else
            (void)p;
            (void)bytes;
#endif
        }

        /**
         * @brief Reads one part (train or t10k). With @p prefault, a helper thread maps the pages of
         * the feature matrix while this thread inflates into it: the first touch of 188 MB costs
         * about half as much as inflating the file, and the two then overlap.
         */
        template <class T>
        Dataset<T> fashion_mnist_part(const std::string& dir, const std::string& prefix, const char* part,
                                      bool prefault = false)
        {
            ByteStream images(require_idx_file(dir, prefix + "-images-idx3-ubyte"));
            ByteStream labels(require_idx_file(dir, prefix + "-labels-idx1-ubyte"));
            std::thread helper;
            auto hook = [&](void* p, std::size_t bytes) {
                if (prefault)
                {
                    try
                    {
                        helper = std::thread([p, bytes] { prefault_pages(p, bytes); });
                    }
                    catch (const std::system_error&)
                    {
                        // No thread to be had: read without the overlap.
                    }
                }
            };
            Dataset<T> d;
            try
            {
                d = idx_dataset_from<T>(images, labels, std::string("fashion-mnist/") + part, 10, hook);
            }
            catch (...)
            {
                if (helper.joinable())
                {
                    helper.join();
                }
                throw;
            }
            if (helper.joinable())
            {
                helper.join();
            }
            for (const char* c : datasets::fashion_mnist_class_names())
            {
                d.class_names.emplace_back(c);
            }
            return d;
        }
    }

    namespace datasets
    {
        /** @brief True if the four Fashion-MNIST files are in @p dir (plain or gzip). */
        inline bool fashion_mnist_available(const std::string& dir = fashion_mnist_default_dir)
        {
            for (const char* f : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                                  "t10k-labels-idx1-ubyte"})
            {
                if (detail::find_idx_file(dir, f).empty())
                {
                    return false;
                }
            }
            return true;
        }

        /**
         * @brief Loads Fashion-MNIST from @p dir: 60000 training and 10000 test images.
         *
         * Features are pixel / 255 in [0, 1] (as torchvision's ToTensor), one row of 784 per image,
         * sample_shape {1, 28, 28}; labels 0-9 (fashion_mnist_class_names() gives their names).
         * The test files are read on a second thread while the training files are read, since
         * inflating the 26 MB of training images dominates.
         * @throws data_error if a file is missing (the message says `apt-get install
         * dataset-fashion-mnist`) or is corrupt.
         */
        template <class T = float>
        TrainTest<T> fashion_mnist(const std::string& dir = fashion_mnist_default_dir)
        {
            TrainTest<T> out;
            // Fail fast, on this thread, if a file is missing.
            for (const char* f : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                                  "t10k-labels-idx1-ubyte"})
            {
                detail::require_idx_file(dir, f);
            }
            std::exception_ptr test_error;
            std::thread test_reader([&] {
                try
                {
                    out.test = detail::fashion_mnist_part<T>(dir, "t10k", "test");
                }
                catch (...)
                {
                    test_error = std::current_exception();
                }
            });
            try
            {
                out.train = detail::fashion_mnist_part<T>(dir, "train", "train", true);
            }
            catch (...)
            {
                test_reader.join();
                throw;
            }
            test_reader.join();
            if (test_error)
            {
                std::rethrow_exception(test_error);
            }
            if (out.train.size() != 60000 || out.test.size() != 10000 || out.train.feature_dim() != 784)
            {
                throw data_error(detail::concat("xtrain::datasets::fashion_mnist: ", dir, " holds ",
                                                        out.train.size(), " training and ", out.test.size(),
                                                        " test images of ", out.train.feature_dim(),
                                                        " pixels; expected 60000 and 10000 of 784"));
            }
            return out;
        }
    }
}

#endif
