// Tests of include/xtrain/core/run_jobs.hpp: the worker pool run_sweep and the scenario examples share.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "xtrain/core/run_jobs.hpp"

using namespace xtrain;

TEST_CASE("run_jobs runs every job once, on at most the requested number of threads", "[core][run_jobs]")
{
    const std::size_t n = 40;
    std::vector<int> calls(n, 0);
    std::atomic<int> running{0};
    std::atomic<int> most{0};
    std::mutex m;
    std::set<std::thread::id> threads;
    std::vector<std::size_t> finished_counts;
    JobOptions o;
    o.jobs = 3;
    o.done = [&](std::size_t, std::size_t finished) { finished_counts.push_back(finished); };  // never concurrent
    const std::size_t done = run_jobs(
        n,
        [&](std::size_t i) {
            const int now = ++running;
            int seen = most.load();
            while (now > seen && !most.compare_exchange_weak(seen, now))
            {
            }
            {
                std::lock_guard<std::mutex> lock(m);
                threads.insert(std::this_thread::get_id());
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
            ++calls[i];
            --running;
        },
        o);
    CHECK(done == n);
    CHECK(std::all_of(calls.begin(), calls.end(), [](int c) { return c == 1; }));
    CHECK(most.load() <= 3);
    CHECK(threads.size() <= 3);
    CHECK_FALSE(threads.count(std::this_thread::get_id()));  // the calling thread only watches
    REQUIRE(finished_counts.size() == n);
    for (std::size_t k = 0; k < n; ++k)
    {
        CHECK(finished_counts[k] == k + 1);  // done() sees 1, 2, ..., n: a progress line counts up
    }
}

TEST_CASE("run_jobs never starts more threads than jobs, and does nothing for none", "[core][run_jobs]")
{
    std::set<std::thread::id> threads;
    std::mutex m;
    JobOptions o;
    o.jobs = 8;
    CHECK(run_jobs(2, [&](std::size_t) {
              std::lock_guard<std::mutex> lock(m);
              threads.insert(std::this_thread::get_id());
          }, o) == 2);
    CHECK(threads.size() <= 2);
    bool called = false;
    CHECK(run_jobs(0, [&](std::size_t) { called = true; }, o) == 0);
    CHECK_FALSE(called);
}

TEST_CASE("run_jobs rethrows the first exception after the jobs in flight return, and starts no new job", "[core][run_jobs]")
{
    std::atomic<int> started{0};
    JobOptions o;
    o.jobs = 1;  // one worker: the jobs run in order, so "no job after the failure" is exact
    CHECK_THROWS_WITH(run_jobs(10,
                               [&](std::size_t i) {
                                   ++started;
                                   if (i == 3)
                                   {
                                       throw std::runtime_error("job 3 failed");
                                   }
                               },
                               o),
                      "job 3 failed");
    CHECK(started.load() == 4);
}

TEST_CASE("run_jobs starts no job once the stop flag is set, and calls watch while jobs run", "[core][run_jobs]")
{
    std::atomic<bool> stop{false};
    std::atomic<int> started{0};
    std::atomic<int> watched{0};
    JobOptions o;
    o.jobs = 1;
    o.stop = &stop;
    o.watch = [&] { ++watched; };
    const std::size_t done = run_jobs(
        10,
        [&](std::size_t i) {
            ++started;
            if (i == 1)
            {
                // Long enough for the calling thread's 200 ms watch to come round at least once.
                std::this_thread::sleep_for(std::chrono::milliseconds(450));
                stop = true;
            }
        },
        o);
    CHECK(done == 2);
    CHECK(started.load() == 2);
    CHECK(watched.load() >= 1);
}

// The BLAS thread count that run_jobs sets and restores is checked through run_sweep in
// tests/experiment/test_sweep.cpp, whose executable links OpenBLAS (this one need not).
