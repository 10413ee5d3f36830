// A sweep across MPI ranks (xtrain/distributed/mpi_sweep.hpp) with a fake run function, run
// under mpirun: its result files equal one process's but for the timing columns, a run failing on
// another rank is that run's failure, and a sweep stopped midway resumes without duplicates.
// Rank 0 checks and prints; every rank only serves or sweeps, so a failed check cannot leave a
// rank waiting (no collective call between checks). The exit code of rank 0 is the verdict.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "xtrain/distributed/mpi_sweep.hpp"
#include "xtrain/experiment.hpp"

namespace fs = std::filesystem;
using namespace xtrain;

namespace
{
    int failures = 0;

    void check(bool ok, const std::string& what)
    {
        if (!ok)
        {
            ++failures;
            std::cerr << "FAILED: " << what << '\n';
        }
    }

    SweepConfig config()
    {
        SweepConfig c;
        c.grid.optimizers = {"sgd", "adam"};
        c.grid.lrs = {0.01, 0.1, 1.0};
        c.grid.batch_sizes = {8, 64};
        c.grid.seeds = {1, 2};
        c.model = "fake";
        c.dataset = "fake, 256 examples";
        c.budget = "epochs=3";
        c.target = parse_target("val_accuracy=0.6");
        return c;
    }

    // Deterministic curves from the spec alone; @p pause per epoch, giving up when asked to stop.
    RunResult fake_run(const RunSpec& s, EvalSink& sink, std::chrono::milliseconds pause)
    {
        const double miss = std::log(s.lr / (s.optimizer == "adam" ? 0.01 : 0.1));
        const double final_acc = std::max(0.1, 0.9 - 0.05 * miss * miss + 0.001 * static_cast<double>(s.seed));
        const std::size_t steps = 256 / s.batch_size;
        for (std::size_t e = 1; e <= 3; ++e)
        {
            std::this_thread::sleep_for(pause);
            if (sink.stop_requested())
            {
                throw sweep_interrupted("stopped");
            }
            EvalRow row;
            row.epoch = static_cast<double>(e);
            row.step = e * steps;
            row.examples_seen = e * 256;
            row.lr_in_effect = s.lr;
            row.wall_seconds = sink.elapsed_seconds();
            row.val_accuracy = 0.1 + (final_acc - 0.1) * static_cast<double>(e) / 3.0;
            row.train_loss = 2.3 * (1.0 - row.val_accuracy);
            row.val_loss = row.train_loss * 1.05;
            sink.record(row);
        }
        return RunResult::finished();
    }

    std::vector<std::string> lines_without(const fs::path& p, const std::set<std::string>& drop)
    {
        std::ifstream in(p);
        std::vector<std::string> lines;
        std::vector<std::string> header;
        for (std::string line; std::getline(in, line);)
        {
            std::vector<std::string> f;
            std::stringstream ss(line);
            for (std::string x; std::getline(ss, x, ',');)
            {
                f.push_back(x);
            }
            if (header.empty())
            {
                header = f;
                continue;
            }
            std::string joined;
            for (std::size_t i = 0; i < f.size(); ++i)
            {
                joined += (i ? "," : "") + (i < header.size() && drop.count(header[i]) ? std::string("*") : f[i]);
            }
            lines.push_back(joined);
        }
        std::sort(lines.begin(), lines.end()); // the order runs finish in is not part of the result
        return lines;
    }

    const std::set<std::string> timing = {"wall_seconds", "run_seconds", "seconds_to_target", "checksum",
                                          "eval_seconds", "refine_seconds"};

    SweepOptions quiet(std::size_t jobs)
    {
        SweepOptions o;
        o.jobs = jobs;
        o.log = nullptr;
        return o;
    }
}

int main(int argc, char** argv)
{
    mpi::Environment env(argc, argv);
    const mpi::Communicator comm;
    const SweepConfig c = config();
    const fs::path root = argc > 1 ? fs::path(argv[1]) : fs::path("sweep_ranks");
    const auto quick = [](const RunSpec& s, EvalSink& sink) { return fake_run(s, sink, std::chrono::milliseconds(1)); };
    // On the other ranks the runs with B = 8 fail; rank 0 is slow, so the others take most runs.
    const int rank = static_cast<int>(comm.rank());
    const auto failing = [rank](const RunSpec& s, EvalSink& sink) {
        if (rank != 0 && s.batch_size == 8)
        {
            throw std::runtime_error("out of memory on rank " + std::to_string(rank));
        }
        return fake_run(s, sink, std::chrono::milliseconds(rank == 0 ? 60 : 1));
    };
    const auto slow = [](const RunSpec& s, EvalSink& sink) { return fake_run(s, sink, std::chrono::milliseconds(15)); };

    if (!comm.is_root())
    {
        // Rounds in rank 0's order: equal, failing, stopped, resumed.
        const bool more = mpi::serve_runs(quick, c.target, comm) && mpi::serve_runs(failing, c.target, comm)
                       && mpi::serve_runs(slow, c.target, comm) && mpi::serve_runs(slow, c.target, comm);
        if (more)
        {
            mpi::wait_for_finish(comm);
        }
        return 0;
    }

    mpi::WorkerRelease release(comm);
    const std::size_t n = c.grid.size();
    try
    {
        fs::remove_all(root);
        // 1. The same files as one process (which runs first, alone).
        run_sweep(c, root / "one", quick, quiet(2));
        {
            mpi::RankExecutor others(comm);
            SweepOptions o = quiet(1);
            o.remote = &others;
            const SweepReport r = run_sweep(c, root / "ranks", quick, o);
            check(r.complete() && r.finished == n, "the sweep across ranks finishes every run");
        }
        for (const char* file : {"runs.csv", "summary.csv", "summary_by_batch.csv"})
        {
            check(lines_without(root / "one" / file, timing) == lines_without(root / "ranks" / file, timing),
                  std::string(file) + " across ranks equals one process's but for the timing columns");
        }

        // 2. A run that fails on another rank is that run's failure, with its message.
        {
            mpi::RankExecutor others(comm);
            SweepOptions o = quiet(1);
            o.remote = &others;
            const SweepReport r = run_sweep(c, root / "failing", failing, o);
            check(r.failed > 0, "runs failed on the other ranks");
            bool named = !r.failures.empty();
            for (const auto& f : r.failures)
            {
                named = named && f.message.rfind("out of memory on rank ", 0) == 0;
            }
            check(named, "each failure carries the worker's message");
            check(r.failed + r.finished + r.diverged + r.stalled == n, "every run is accounted for");
            const auto failed_lines = lines_without(root / "failing" / "failures.csv", {});
            check(failed_lines.size() == r.failed, "failures.csv holds the failed runs");
        }

        // 3. Stopped after a few runs, then rerun: it resumes and ends with each run once.
        {
            std::atomic<bool> stop{false};
            mpi::RankExecutor others(comm);
            SweepOptions o = quiet(1);
            o.remote = &others;
            o.stop = &stop;
            std::atomic<bool> over{false};
            std::thread stopper([&] { // stops once 4 runs (3 rows each) are in runs.csv
                while (!over.load() && lines_without(root / "stopped" / "runs.csv", {}).size() < 12)
                {
                    std::this_thread::sleep_for(std::chrono::milliseconds(5));
                }
                stop.store(true);
            });
            SweepReport r;
            try
            {
                r = run_sweep(c, root / "stopped", slow, o);
            }
            catch (...)
            {
                over.store(true);
                stopper.join();
                throw;
            }
            over.store(true);
            stopper.join();
            check(r.interrupted && !r.complete(), "the stopped sweep says so");
        }
        {
            mpi::RankExecutor others(comm);
            SweepOptions o = quiet(1);
            o.remote = &others;
            const SweepReport r = run_sweep(c, root / "stopped", slow, o);
            check(r.complete() && r.already_done >= 4, "the rerun finishes what the stopped sweep left");
            const auto summary = lines_without(root / "stopped" / "summary.csv", {});
            check(summary.size() == n && std::set<std::string>(summary.begin(), summary.end()).size() == n,
                  "summary.csv holds every run once");
            check(lines_without(root / "stopped" / "summary.csv", timing) == lines_without(root / "one" / "summary.csv", timing),
                  "the resumed sweep's summary equals one process's but for the timing columns");
        }
    }
    catch (const std::exception& e)
    {
        ++failures;
        std::cerr << "FAILED: " << e.what() << '\n';
    }
    release.release();
    std::cout << (failures == 0 ? "sweep across " : "FAILED: sweep across ") << comm.size() << " ranks: " << failures
              << " failed checks\n";
    return failures == 0 ? 0 : 1;
}
