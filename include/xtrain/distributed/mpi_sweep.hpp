/**
 * @file mpi_sweep.hpp
 * @brief A sweep's runs spread over MPI ranks: RankExecutor on rank 0, serve_runs() on the others
 *        (opt-in header: link xtrain::mpi).
 *
 * Rank 0 runs run_sweep() as one process would, with a RankExecutor as SweepOptions::remote: it
 * has one slot per other rank, so a rank gets its next run as soon as it sends back its last one
 * (dynamic balancing: a run at B = 8 may cost ten runs at B = 2048). Rank 0 alone writes the
 * results folder. Every other rank calls serve_runs() with the same run function, once per
 * run_sweep() call of rank 0 (a round), and serves until rank 0 ends the round.
 *
 * Protocol, on the communicator given (point to point, from rank 0 to a worker and back):
 * - tag_spec (0 -> r): encode_run_spec() bytes; r runs it with run_and_report();
 * - tag_report (r -> 0): encode_run_report() bytes; rank 0 replays them into the sweep's sink;
 * - tag_stop (0 -> r, empty): the sweep is stopping: give up the run in flight (it reports interrupted);
 * - tag_round_end (0 -> r, empty): this run_sweep() is over (RankExecutor's destructor sends it);
 * - tag_finish (0 -> r, empty): no more rounds (WorkerRelease sends it, also when rank 0 throws).
 *
 * Threads: run_sweep calls RankExecutor::run() from several threads; every MPI call there is made
 * under one mutex and none blocks (MPI_Isend, MPI_Iprobe, MPI_Test, polled with a short sleep), so
 * MPI_THREAD_SERIALIZED suffices. A worker computes its run on a second thread while its main
 * thread alone calls MPI, which needs MPI_THREAD_FUNNELED. mpi::Environment asks for SERIALIZED.
 */
#ifndef XTRAIN_DISTRIBUTED_MPI_SWEEP_HPP
#define XTRAIN_DISTRIBUTED_MPI_SWEEP_HPP

#include <mpi.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <cstddef>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "xtrain/core/error.hpp"
#include "xtrain/distributed/mpi.hpp"
#include "xtrain/experiment/run_sweep.hpp"
#include "xtrain/experiment/run_transfer.hpp"

namespace xtrain::mpi
{
    /** @brief The message tags of the protocol (see the file comment). */
    enum sweep_tag : int
    {
        tag_spec = 0x5831,
        tag_report = 0x5832,
        tag_stop = 0x5833,
        tag_round_end = 0x5834,
        tag_finish = 0x5835,
    };

    namespace detail
    {
        inline constexpr auto sweep_poll = std::chrono::milliseconds(2);

        inline void require_thread_level(int needed, const char* who)
        {
            const int provided = thread_level();
            if (provided < needed)
            {
                throw mpi_error(xtrain::detail::concat(who, " needs MPI initialised with at least ", thread_level_name(needed),
                                                       " but it provides ", thread_level_name(provided),
                                                       ": start MPI with xtrain::mpi::Environment (which asks for "
                                                       "MPI_THREAD_SERIALIZED) or MPI_Init_thread"));
            }
        }

        inline int byte_count(const std::string& bytes)
        {
            if (bytes.size() > static_cast<std::size_t>(INT_MAX))
            {
                throw mpi_error(xtrain::detail::concat("xtrain::mpi: a message of ", bytes.size(), " bytes is too large"));
            }
            return static_cast<int>(bytes.size());
        }

        // Receives the message that @p status describes (it has been probed: it is there).
        inline std::string receive_bytes(MPI_Comm comm, const MPI_Status& status)
        {
            int count = 0;
            check(MPI_Get_count(&status, MPI_BYTE, &count), "MPI_Get_count");
            std::string bytes(static_cast<std::size_t>(count), '\0');
            check(MPI_Recv(bytes.data(), count, MPI_BYTE, status.MPI_SOURCE, status.MPI_TAG, comm, MPI_STATUS_IGNORE),
                  "MPI_Recv");
            return bytes;
        }

        inline void send_empty(MPI_Comm comm, int rank, int tag)
        {
            check(MPI_Send(nullptr, 0, MPI_BYTE, rank, tag, comm), "MPI_Send");
        }
    }

    /**
     * @brief Rank 0's RunExecutor: one slot per other rank of @p comm (SweepOptions::remote).
     *
     * One per run_sweep() call: its destructor ends the round on every worker (tag_round_end),
     * however the sweep ended. A run that failed on a worker fails here with the worker's message;
     * when the sweep's sink asks to stop, the worker is told to give up its run.
     */
    class RankExecutor : public RunExecutor
    {
    public:
        /** @brief Runs on ranks 1 .. size-1 of @p comm; call on rank 0. @throws mpi_error below MPI_THREAD_SERIALIZED */
        explicit RankExecutor(Communicator comm = Communicator())
            : m_comm(comm)
        {
            if (!m_comm.is_root())
            {
                throw std::logic_error("xtrain::mpi::RankExecutor: only rank 0 hands out runs; the other ranks call serve_runs()");
            }
            detail::require_thread_level(MPI_THREAD_SERIALIZED, "xtrain::mpi::RankExecutor");
            for (std::size_t r = m_comm.size(); r-- > 1;)
            {
                m_free.push_back(static_cast<int>(r));
            }
        }
        RankExecutor(const RankExecutor&) = delete;
        RankExecutor& operator=(const RankExecutor&) = delete;

        /** @brief Ends the round on every worker rank. */
        ~RankExecutor() override
        {
            const std::lock_guard<std::mutex> lock(m_mpi);
            for (std::size_t r = 1; r < m_comm.size(); ++r)
            {
                MPI_Send(nullptr, 0, MPI_BYTE, static_cast<int>(r), tag_round_end, m_comm.handle());
            }
        }

        /** @brief One slot per worker rank. */
        std::size_t slots() const override { return m_comm.size() - 1; }

        /** @brief Runs @p spec on a free worker rank and replays its report into @p sink. */
        RunResult run(const RunSpec& spec, EvalSink& sink) override
        {
            const int rank = take_rank();
            struct GiveBack
            {
                RankExecutor& self;
                int rank;
                ~GiveBack()
                {
                    const std::lock_guard<std::mutex> lock(self.m_slots);
                    self.m_free.push_back(rank);
                }
            } give_back{*this, rank};

            const std::string bytes = encode_run_spec(spec);
            MPI_Request send = MPI_REQUEST_NULL;
            {
                const std::lock_guard<std::mutex> lock(m_mpi);
                detail::check(MPI_Isend(bytes.data(), detail::byte_count(bytes), MPI_BYTE, rank, tag_spec, m_comm.handle(), &send),
                              "MPI_Isend");
            }
            bool stop_sent = false;
            std::string report;
            for (bool received = false; !received;)
            {
                {
                    const std::lock_guard<std::mutex> lock(m_mpi);
                    if (send != MPI_REQUEST_NULL)
                    {
                        int done = 0;
                        detail::check(MPI_Test(&send, &done, MPI_STATUS_IGNORE), "MPI_Test");
                    }
                    if (!stop_sent && sink.stop_requested())
                    {
                        detail::send_empty(m_comm.handle(), rank, tag_stop);
                        stop_sent = true;
                    }
                    int flag = 0;
                    MPI_Status status;
                    detail::check(MPI_Iprobe(rank, tag_report, m_comm.handle(), &flag, &status), "MPI_Iprobe");
                    if (flag != 0)
                    {
                        report = detail::receive_bytes(m_comm.handle(), status);
                        received = true;
                        // The worker received the spec before it answered: the send is complete.
                        detail::check(MPI_Wait(&send, MPI_STATUS_IGNORE), "MPI_Wait");
                    }
                }
                if (!received)
                {
                    std::this_thread::sleep_for(detail::sweep_poll);
                }
            }
            return replay_report(decode_run_report(report, xtrain::detail::concat("the report of rank ", rank)), sink);
        }

    private:
        int take_rank()
        {
            const std::lock_guard<std::mutex> lock(m_slots);
            if (m_free.empty())
            {
                throw std::logic_error("xtrain::mpi::RankExecutor: more runs at once than slots()");
            }
            const int rank = m_free.back();
            m_free.pop_back();
            return rank;
        }

        Communicator m_comm;
        std::mutex m_mpi;   // every MPI call of this object
        std::mutex m_slots; // m_free
        std::vector<int> m_free;
    };

    /**
     * @brief On rank 0: tells every other rank that no more rounds come (tag_finish), at release()
     *        or at the latest in its destructor, so that an exception on rank 0 leaves no rank waiting.
     */
    class WorkerRelease
    {
    public:
        /** @brief Guards the workers of @p comm; does nothing on a rank other than 0. */
        explicit WorkerRelease(Communicator comm = Communicator())
            : m_comm(comm), m_done(!comm.is_root())
        {
        }
        WorkerRelease(const WorkerRelease&) = delete;
        WorkerRelease& operator=(const WorkerRelease&) = delete;
        ~WorkerRelease()
        {
            try
            {
                release();
            }
            catch (...) // nothing to do about it while unwinding
            {
            }
        }

        /** @brief Sends tag_finish to every other rank, once. */
        void release()
        {
            if (m_done)
            {
                return;
            }
            m_done = true;
            for (std::size_t r = 1; r < m_comm.size(); ++r)
            {
                detail::send_empty(m_comm.handle(), static_cast<int>(r), tag_finish);
            }
        }

    private:
        Communicator m_comm;
        bool m_done;
    };

    /** @brief On a rank other than 0: waits until rank 0 finishes (tag_finish), ignoring anything else it sends. */
    inline void wait_for_finish(const Communicator& comm = Communicator())
    {
        for (;;)
        {
            MPI_Status status;
            detail::check(MPI_Probe(0, MPI_ANY_TAG, comm.handle(), &status), "MPI_Probe");
            detail::receive_bytes(comm.handle(), status);
            if (status.MPI_TAG == tag_finish)
            {
                return;
            }
        }
    }

    /**
     * @brief On a rank other than 0: runs the specs rank 0 sends with @p fn (run_and_report with
     *        @p target; @p stop, e.g. set by a signal handler, interrupts them) and sends back their
     *        reports, until rank 0 ends the round or finishes.
     * @return true when the round ended (rank 0 may start another), false when rank 0 finished
     * @throws mpi_error below MPI_THREAD_FUNNELED
     */
    inline bool serve_runs(const RunFunction& fn, const Target& target, const Communicator& comm = Communicator(),
                           const std::atomic<bool>* stop = nullptr)
    {
        if (comm.is_root())
        {
            throw std::logic_error("xtrain::mpi::serve_runs: rank 0 hands out the runs (RankExecutor); call it on the others");
        }
        detail::require_thread_level(MPI_THREAD_FUNNELED, "xtrain::mpi::serve_runs");
        const MPI_Comm c = comm.handle();
        for (;;)
        {
            MPI_Status status;
            detail::check(MPI_Probe(0, MPI_ANY_TAG, c, &status), "MPI_Probe");
            const std::string bytes = detail::receive_bytes(c, status);
            if (status.MPI_TAG == tag_round_end)
            {
                return true;
            }
            if (status.MPI_TAG == tag_finish)
            {
                return false;
            }
            if (status.MPI_TAG != tag_spec)
            {
                continue; // a stop that came after its run had ended
            }
            // The run computes on its own thread; this one alone talks to MPI, listening for a stop.
            // Either stop interrupts the run: rank 0's message or this process's own flag.
            std::atomic<bool> stop_run{false};
            std::atomic<bool> done{false};
            RunReport report;
            std::thread runner([&] {
                try
                {
                    const RunSpec spec = decode_run_spec(bytes, "the run spec from rank 0");
                    report = run_and_report(fn, spec, target, &stop_run);
                }
                catch (const std::exception& e)
                {
                    report.error = e.what();
                }
                catch (...)
                {
                    report.error = "the run threw an exception that is not a std::exception";
                }
                done.store(true);
            });
            try
            {
                while (!done.load())
                {
                    if (stop != nullptr && stop->load())
                    {
                        stop_run.store(true);
                    }
                    int flag = 0;
                    MPI_Status s;
                    detail::check(MPI_Iprobe(0, tag_stop, c, &flag, &s), "MPI_Iprobe");
                    if (flag != 0)
                    {
                        detail::receive_bytes(c, s);
                        stop_run.store(true);
                    }
                    std::this_thread::sleep_for(detail::sweep_poll);
                }
            }
            catch (...)
            {
                stop_run.store(true);
                runner.join();
                throw;
            }
            runner.join();
            const std::string answer = encode_run_report(report);
            detail::check(MPI_Send(answer.data(), detail::byte_count(answer), MPI_BYTE, 0, tag_report, c), "MPI_Send");
        }
    }
}

#endif
