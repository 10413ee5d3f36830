/**
 * @file mpi.hpp
 * @brief Data-parallel training over MPI: Environment, Communicator, DataParallel (opt-in header).
 *
 * Not included by xtrain.hpp: it needs MPI (link the CMake target xtrain::mpi, which exists when
 * CMake found MPI). P processes (ranks) train one model:
 * - every rank builds the same Trainer: same model seed, same sampler seed and global batch B;
 * - the sampler is wrapped in RankSlice, so rank r trains on its contiguous slice of every global batch;
 * - DataParallel, a callback, broadcasts rank 0's parameters when fit() begins, and after each local
 *   backward pass turns the local mean gradient into the mean over the global batch with one
 *   in-place MPI_Allreduce over the flat gradient buffer (plus one of two doubles: loss sum, rows);
 *   evaluation is split across ranks and its sums reduced the same way;
 * - every rank then takes the same optimizer step, so the parameters stay identical;
 * - callbacks that write files go in RootOnly, so that rank 0 alone writes them (mpi::on_root).
 * The result follows the single-process run at batch size B to float rounding (docs/distributed.md).
 *
 * @code
 * xtrain::mpi::Environment env(argc, argv);
 * xtrain::mpi::Communicator comm;
 * xtrain::Trainer trainer(Mlp(seed), xtrain::Optimizer<xtrain::Adam>(xtrain::Adam{1e-3}),
 *                         comm.slice(xtrain::BatchSampler<xtrain::dynamic>(train.size(), 256,
 *                                                                        xtrain::SamplerOptions::shuffled(seed))),
 *                         xtrain::mpi::DataParallel(comm),
 *                         xtrain::mpi::on_root(xtrain::CsvLogger("evals.csv", "steps.csv"), comm));
 * @endcode
 */
#ifndef XTRAIN_DISTRIBUTED_MPI_HPP
#define XTRAIN_DISTRIBUTED_MPI_HPP

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "xtrain/core/detect.hpp"
#include "xtrain/core/error.hpp"
#include "xtrain/data/rank_slice.hpp"
#include "xtrain/train/callbacks/root_only.hpp"

namespace xtrain::mpi
{
    /** @brief An MPI call failed; the message names the call and MPI's description of the error. */
    class mpi_error : public std::runtime_error
    {
    public:
        using std::runtime_error::runtime_error;
    };

    namespace detail
    {
        inline void check(int code, const char* call)
        {
            if (code != MPI_SUCCESS)
            {
                char text[MPI_MAX_ERROR_STRING] = {};
                int length = 0;
                MPI_Error_string(code, text, &length);
                throw mpi_error(xtrain::detail::concat("xtrain::mpi: ", call, " failed: ", std::string(text, length)));
            }
        }

        template <class T>
        MPI_Datatype datatype() noexcept
        {
            static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                          "xtrain::mpi: only float and double buffers are reduced");
            if constexpr (std::is_same_v<T, float>)
            {
                return MPI_FLOAT;
            }
            else
            {
                return MPI_DOUBLE;
            }
        }

        template <class S>
        using rank_slice_t = decltype(std::size_t(std::declval<const S&>().rank())
                                      + std::size_t(std::declval<const S&>().ranks()));
    }

    /** @brief The thread support MPI was initialised with (MPI_Query_thread), e.g. MPI_THREAD_SERIALIZED. */
    inline int thread_level()
    {
        int provided = MPI_THREAD_SINGLE;
        detail::check(MPI_Query_thread(&provided), "MPI_Query_thread");
        return provided;
    }

    /** @brief The name of MPI thread level @p level, for messages ("MPI_THREAD_FUNNELED"). */
    inline const char* thread_level_name(int level) noexcept
    {
        return level == MPI_THREAD_SINGLE       ? "MPI_THREAD_SINGLE"
             : level == MPI_THREAD_FUNNELED     ? "MPI_THREAD_FUNNELED"
             : level == MPI_THREAD_SERIALIZED   ? "MPI_THREAD_SERIALIZED"
             : level == MPI_THREAD_MULTIPLE     ? "MPI_THREAD_MULTIPLE"
                                                : "an unknown MPI thread level";
    }

    /**
     * @brief Initialises MPI for the life of the object (if nothing did before) and finalises it
     * at the end if it initialised it. One per program, in main(), before any Communicator.
     *
     * It asks for MPI_THREAD_SERIALIZED by default: data-parallel training calls MPI from one
     * thread, and a sweep across ranks (mpi_sweep.hpp) from several threads, one at a time.
     */
    class Environment
    {
    public:
        /** @brief MPI_Init_thread with main's arguments asking for @p thread_level, unless MPI is initialised already. */
        Environment(int& argc, char**& argv, int thread_level = MPI_THREAD_SERIALIZED)
        {
            int initialized = 0;
            detail::check(MPI_Initialized(&initialized), "MPI_Initialized");
            if (initialized == 0)
            {
                int provided = MPI_THREAD_SINGLE;
                detail::check(MPI_Init_thread(&argc, &argv, thread_level, &provided), "MPI_Init_thread");
                m_owner = true;
            }
        }
        Environment(const Environment&) = delete;
        Environment& operator=(const Environment&) = delete;
        /** @brief MPI_Finalize, if this object initialised MPI. */
        ~Environment()
        {
            int finalized = 0;
            MPI_Finalized(&finalized);
            if (m_owner && finalized == 0)
            {
                MPI_Finalize();
            }
        }

        /** @brief The thread level MPI provides (it may be less than the one asked for). */
        int provided() const { return thread_level(); }

    private:
        bool m_owner = false;
    };

    /** @brief A communicator (MPI_COMM_WORLD unless given) with the few collectives training uses. */
    class Communicator
    {
    public:
        /** @brief Wraps @p comm (not owned); MPI must be initialised. */
        explicit Communicator(MPI_Comm comm = MPI_COMM_WORLD)
            : m_comm(comm)
        {
            detail::check(MPI_Comm_rank(m_comm, &m_rank), "MPI_Comm_rank");
            detail::check(MPI_Comm_size(m_comm, &m_size), "MPI_Comm_size");
        }

        /** @brief This process's rank, 0-based. */
        std::size_t rank() const noexcept { return static_cast<std::size_t>(m_rank); }
        /** @brief The number of ranks. */
        std::size_t size() const noexcept { return static_cast<std::size_t>(m_size); }
        /** @brief True on rank 0, the one that writes files and prints. */
        bool is_root() const noexcept { return m_rank == 0; }
        /** @brief The MPI communicator. */
        MPI_Comm handle() const noexcept { return m_comm; }

        /** @brief @p sampler's global batches, sliced for this rank (RankSlice). */
        template <class Sampler>
        RankSlice<Sampler> slice(Sampler sampler) const
        {
            return RankSlice<Sampler>(std::move(sampler), rank(), size());
        }

        /** @brief Element-wise sum of @p data over all ranks, in place (MPI_IN_PLACE; no copy, no allocation). */
        template <class T>
        void sum_in_place(T* data, std::size_t n) const
        {
            // MPI counts are ints: a buffer beyond INT_MAX elements goes in several calls.
            for (std::size_t first = 0; first < n; first += chunk)
            {
                const int count = static_cast<int>(std::min(chunk, n - first));
                detail::check(MPI_Allreduce(MPI_IN_PLACE, data + first, count, detail::datatype<T>(), MPI_SUM, m_comm),
                              "MPI_Allreduce");
            }
        }

        /** @brief Copies rank @p root's @p data to every rank. */
        template <class T>
        void broadcast(T* data, std::size_t n, std::size_t root = 0) const
        {
            for (std::size_t first = 0; first < n; first += chunk)
            {
                const int count = static_cast<int>(std::min(chunk, n - first));
                detail::check(MPI_Bcast(data + first, count, detail::datatype<T>(), static_cast<int>(root), m_comm),
                              "MPI_Bcast");
            }
        }

        /** @brief The largest and the smallest of @p value over all ranks. */
        std::pair<unsigned long long, unsigned long long> max_min(unsigned long long value) const
        {
            unsigned long long both[2] = {value, ~value}; // max of ~v is ~(min of v): one call
            detail::check(MPI_Allreduce(MPI_IN_PLACE, both, 2, MPI_UNSIGNED_LONG_LONG, MPI_MAX, m_comm), "MPI_Allreduce");
            return {both[0], ~both[1]};
        }

    private:
        static constexpr std::size_t chunk = std::size_t(1) << 30;
        MPI_Comm m_comm;
        int m_rank = 0;
        int m_size = 1;
    };

    /** @brief @p callback, run on rank 0 only (RootOnly): for callbacks that write files or print. */
    template <class C>
    RootOnly<C> on_root(C callback, const Communicator& comm)
    {
        return RootOnly<C>(std::move(callback), comm.is_root());
    }

    /**
     * @brief The callback that makes a Trainer data-parallel over a communicator.
     *
     * Hooks (train/callback.hpp): on_fit_begin broadcasts rank 0's parameters (so models
     * initialised differently still start identical) after checking that every rank has as many;
     * reduce_gradient turns the local mean gradient over `rows` rows into the global mean with one
     * in-place MPI_Allreduce over the whole flat gradient and one over {loss sum, rows};
     * evaluation_rows gives rank r rows [n r / P, n (r+1) / P) of an evaluation set and
     * reduce_evaluation sums loss, correct answers and rows over the ranks.
     *
     * Every rank must call fit() and evaluate() together (they are collective). The trainer's
     * sampler must be a RankSlice for this communicator (Communicator::slice), checked when fit() begins.
     */
    class DataParallel
    {
    public:
        /** @brief Data-parallel over @p comm (MPI_COMM_WORLD by default). */
        explicit DataParallel(Communicator comm = Communicator())
            : m_comm(comm)
        {
        }

        /** @brief The communicator. */
        const Communicator& communicator() const noexcept { return m_comm; }

        /** @brief Checks the sampler and the parameter count, then broadcasts rank 0's parameters. */
        template <class Tr>
        void on_fit_begin(Tr& t)
        {
            using sampler_type = typename Tr::sampler_type;
            static_assert(xtrain::detail::is_detected_v<detail::rank_slice_t, sampler_type>,
                          "xtrain::mpi::DataParallel: the trainer's sampler must hand each rank its slice of the "
                          "global batch: wrap it, e.g. comm.slice(xtrain::BatchSampler<xtrain::dynamic>(...))");
            const auto& sampler = t.sampler();
            if (sampler.rank() != m_comm.rank() || sampler.ranks() != m_comm.size())
            {
                throw std::invalid_argument(xtrain::detail::concat(
                    "xtrain::mpi::DataParallel: the sampler is sliced for rank ", sampler.rank(), " of ", sampler.ranks(),
                    " but this process is rank ", m_comm.rank(), " of ", m_comm.size()));
            }
            auto& params = t.model().parameters();
            // Every rank reaches the same verdict, so all throw together instead of one hanging.
            const auto [most, least] = m_comm.max_min(static_cast<unsigned long long>(params.size()));
            if (most != least)
            {
                throw std::invalid_argument(xtrain::detail::concat(
                    "xtrain::mpi::DataParallel: the ranks' models differ in size (", least, " to ", most,
                    " parameters); every rank must build the same model"));
            }
            m_comm.broadcast(params.data(), params.size());
        }

        /** @brief Local mean over @p rows rows in, global mean over all ranks' rows out. No allocation. */
        template <class Tr, class G>
        void reduce_gradient(Tr&, G& grad, std::size_t& rows, double& loss_sum)
        {
            using T = typename G::value_type;
            T* g = grad.data();
            const std::size_t p = grad.size();
            // Weighted by rows: a rank with a shorter slice (or none) counts for what it saw.
            const T local = static_cast<T>(rows);
            for (std::size_t i = 0; i < p; ++i)
            {
                g[i] = rows == 0 ? T(0) : g[i] * local;
            }
            m_comm.sum_in_place(g, p);
            double sums[2] = {loss_sum, static_cast<double>(rows)};
            m_comm.sum_in_place(sums, 2);
            loss_sum = sums[0];
            rows = static_cast<std::size_t>(sums[1]);
            if (rows > 0)
            {
                const T inv = T(1) / static_cast<T>(rows);
                for (std::size_t i = 0; i < p; ++i)
                {
                    g[i] *= inv;
                }
            }
        }

        /** @brief This rank's contiguous share of an @p n-row evaluation set. */
        template <class Tr>
        std::pair<std::size_t, std::size_t> evaluation_rows(Tr&, std::size_t n) const noexcept
        {
            const std::size_t r = m_comm.rank();
            const std::size_t ranks = m_comm.size();
            return {n * r / ranks, n * (r + 1) / ranks};
        }

        /** @brief Sums the evaluation's loss, correct answers and rows over the ranks. */
        template <class Tr>
        void reduce_evaluation(Tr&, double& loss_sum, std::size_t& correct, std::size_t& rows)
        {
            double sums[3] = {loss_sum, static_cast<double>(correct), static_cast<double>(rows)};
            m_comm.sum_in_place(sums, 3);
            loss_sum = sums[0];
            correct = static_cast<std::size_t>(sums[1]);
            rows = static_cast<std::size_t>(sums[2]);
        }

    private:
        Communicator m_comm;
    };
}

#endif
