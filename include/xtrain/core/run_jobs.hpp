/**
 * @file run_jobs.hpp
 * @brief Runs N independent jobs (trainings) on J worker threads, one BLAS thread each.
 *
 * The one worker pool of xtrain: run_sweep() runs a sweep's runs through it, and a program that
 * trains a handful of runs side by side (the scenario examples) calls it directly:
 * @code
 * std::vector<Result> results(n);
 * xtrain::JobOptions o;
 * o.jobs = 2;
 * o.done = [&](std::size_t i, std::size_t finished) { std::printf("[%zu/%zu] run %zu done\n", finished, n, i); };
 * xtrain::run_jobs(n, [&](std::size_t i) { results[i] = train(i); }, o);
 * @endcode
 * Parallel runs, not parallel BLAS: OpenBLAS starts its own pool, and J runs each using every
 * core would oversubscribe them, so the BLAS thread count is set for the duration of the call.
 */
#ifndef XTRAIN_CORE_RUN_JOBS_HPP
#define XTRAIN_CORE_RUN_JOBS_HPP

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <sched.h>
#endif

#include "xtrain/core/blas_threads.hpp"

namespace xtrain
{
    /** @brief How run_jobs() runs its jobs (none of this changes what a job computes). */
    struct JobOptions
    {
        /** @brief Worker threads; 0 means one per CPU this process may use (usable_cpus()). Never more than there are jobs. */
        std::size_t jobs = 1;
        /**
         * @brief BLAS threads while the jobs run, restored afterwards; 0 leaves BLAS alone. One
         *        thread per job keeps J parallel jobs from oversubscribing the cores.
         */
        int blas_threads = 1;
        /** @brief Once it reads true, no new job starts (jobs in flight finish); nullptr for never. */
        const std::atomic<bool>* stop = nullptr;
        /**
         * @brief Called as done(job, finished) after each job returns, one call at a time (never
         *        concurrently), with the number of jobs finished so far: a progress line.
         */
        std::function<void(std::size_t, std::size_t)> done;
        /**
         * @brief Called on the calling thread about every 200 ms while jobs run, e.g. to redraw a
         *        progress line's clock or to look at a signal flag and raise @ref stop.
         */
        std::function<void()> watch;
    };

    /**
     * @brief The number of CPUs this process may run on: its CPU affinity on Linux (which `mpirun`,
     *        `taskset`, Slurm and containers narrow), else the hardware's thread count; at least 1.
     *
     * OpenMPI's `mpirun` binds each rank to one core by default: J worker threads in such a rank
     * share that core and take J times as long. run_sweep() says so when it sees it.
     */
    inline std::size_t usable_cpus() noexcept
    {
#if defined(__linux__) && defined(CPU_COUNT)
        cpu_set_t set;
        CPU_ZERO(&set);
        if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
        {
            return static_cast<std::size_t>(CPU_COUNT(&set));
        }
#endif
        return std::max<std::size_t>(1, std::thread::hardware_concurrency());
    }

    /**
     * @brief Calls fn(i) for every i in [0, n), started in order of i, on `options.jobs` worker
     *        threads (the calling thread only watches), and returns when all have returned (or,
     *        once @ref JobOptions::stop is set, when the jobs in flight have).
     *
     * The first exception a job, `options.done` or `options.watch` throws stops new jobs from
     * starting; it is rethrown once the jobs in flight have returned.
     * @return the number of jobs that returned normally.
     */
    inline std::size_t run_jobs(std::size_t n, const std::function<void(std::size_t)>& fn, const JobOptions& options = {});

    // ---------------------------------------------------------------------------------------------
    // Implementation
    // ---------------------------------------------------------------------------------------------

    inline std::size_t run_jobs(std::size_t n, const std::function<void(std::size_t)>& fn, const JobOptions& options)
    {
        if (n == 0)
        {
            return 0;
        }
        const std::size_t wanted = options.jobs == 0 ? usable_cpus() : options.jobs;
        const std::size_t workers = std::max<std::size_t>(1, std::min(wanted, n));
        const int previous_blas = blas_threads();
        if (options.blas_threads > 0)
        {
            set_blas_threads(options.blas_threads);
        }

        std::atomic<std::size_t> next{0};
        std::atomic<bool> failed{false};
        std::mutex mutex;  // guards finished, workers_left, failure and the done() calls
        std::condition_variable all_done;
        std::size_t finished = 0;
        std::size_t workers_left = workers;
        std::exception_ptr failure;
        const auto stopped = [&] { return failed.load() || (options.stop != nullptr && options.stop->load()); };

        const auto worker = [&] {
            while (!stopped())
            {
                const std::size_t i = next.fetch_add(1);
                if (i >= n)
                {
                    break;
                }
                try
                {
                    fn(i);
                    std::lock_guard<std::mutex> lock(mutex);
                    ++finished;
                    if (options.done)
                    {
                        options.done(i, finished);
                    }
                }
                catch (...)
                {
                    std::lock_guard<std::mutex> lock(mutex);
                    if (!failure)
                    {
                        failure = std::current_exception();
                    }
                    failed = true;
                }
            }
            std::lock_guard<std::mutex> lock(mutex);
            --workers_left;
            all_done.notify_all();
        };

        std::vector<std::thread> threads;
        threads.reserve(workers);
        for (std::size_t j = 0; j < workers; ++j)
        {
            threads.emplace_back(worker);
        }
        {
            std::unique_lock<std::mutex> lock(mutex);
            while (workers_left != 0)
            {
                all_done.wait_for(lock, std::chrono::milliseconds(200));
                if (options.watch && workers_left != 0 && !failed.load())
                {
                    lock.unlock();
                    std::exception_ptr watch_failure;
                    try
                    {
                        options.watch();
                    }
                    catch (...)
                    {
                        watch_failure = std::current_exception();  // the workers must still be joined
                    }
                    lock.lock();
                    if (watch_failure && !failure)
                    {
                        failure = watch_failure;
                        failed = true;
                    }
                }
            }
        }
        for (std::thread& t : threads)
        {
            t.join();
        }
        if (options.blas_threads > 0 && previous_blas > 0)
        {
            set_blas_threads(previous_blas);
        }
        if (failure)
        {
            std::rethrow_exception(failure);
        }
        return finished;
    }
}

#endif
