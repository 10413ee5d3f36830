// Tests of include/xtrain/data: Dataset, BatchSampler, BatchBuffer, splits, standardisation and
// synthetic tasks. Readers (IDX, CSV, Fashion-MNIST) are in test_readers.cpp.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "xtrain/data.hpp"
#include "support/alloc_counter.hpp"

using namespace xtrain;

namespace
{
    // A classification set whose feature 0 of sample i is i, so a gathered row tells where it came from.
    template <class T>
    Dataset<T> indexed_dataset(std::size_t n, std::size_t d, std::size_t classes = 3)
    {
        Dataset<T> ds;
        ds.name = "indexed";
        ds.features = xt::xtensor<T, 2>::from_shape({n, d});
        ds.labels = xt::xtensor<label_type, 1>::from_shape({n});
        for (std::size_t i = 0; i < n; ++i)
        {
            for (std::size_t j = 0; j < d; ++j)
            {
                ds.features(i, j) = static_cast<T>(i) + static_cast<T>(j) / T(1000);
            }
            ds.labels(i) = static_cast<label_type>(i % classes);
        }
        ds.sample_shape = {d};
        ds.num_classes = classes;
        return ds;
    }

    template <class Sampler>
    std::vector<std::size_t> epoch_order(Sampler& s, std::size_t epoch, std::vector<std::size_t>* sizes = nullptr)
    {
        s.start_epoch(epoch);
        std::vector<std::size_t> out;
        while (auto b = s.next())
        {
            out.insert(out.end(), b.begin(), b.end());
            if (sizes)
            {
                sizes->push_back(b.size);
            }
        }
        return out;
    }
}

// -------------------------------------------------------------------------------------------------
// BatchSampler
// -------------------------------------------------------------------------------------------------

TEST_CASE("BatchSampler hands out every sample exactly once per epoch", "[data][sampler]")
{
    for (std::size_t n : {1u, 2u, 7u, 100u, 1001u})
    {
        for (std::size_t b : {1u, 3u, 32u, 1000u, 1001u, 1500u})
        {
            for (bool shuffle : {true, false})
            {
                for (bool drop_last : {false, true})
                {
                    CAPTURE(n, b, shuffle, drop_last);
                    if (drop_last && b > n)
                    {
                        CHECK_THROWS_AS(BatchSampler<dynamic>(n, b, {shuffle, drop_last, 5}), std::invalid_argument);
                        continue;
                    }
                    BatchSampler<dynamic> s(n, b, {shuffle, drop_last, 5});
                    const std::size_t expected_iters = drop_last ? n / b : (n + b - 1) / b;
                    REQUIRE(s.iterations_per_epoch() == expected_iters);
                    for (std::size_t epoch : {0u, 1u, 9u})
                    {
                        std::vector<std::size_t> sizes;
                        const auto order = epoch_order(s, epoch, &sizes);
                        REQUIRE(sizes.size() == expected_iters);
                        // All batches full except possibly the last one (never with drop_last).
                        for (std::size_t i = 0; i + 1 < sizes.size(); ++i)
                        {
                            REQUIRE(sizes[i] == b);
                        }
                        if (drop_last)
                        {
                            REQUIRE(sizes.back() == b);
                            REQUIRE(order.size() == (n / b) * b);
                        }
                        else
                        {
                            REQUIRE(sizes.back() == n - (expected_iters - 1) * b);
                            REQUIRE(order.size() == n);
                        }
                        std::set<std::size_t> distinct(order.begin(), order.end());
                        REQUIRE(distinct.size() == order.size());
                        REQUIRE(*distinct.rbegin() < n);
                        if (!shuffle)
                        {
                            for (std::size_t i = 0; i < order.size(); ++i)
                            {
                                REQUIRE(order[i] == i);
                            }
                        }
                        // After the end, next() keeps returning an empty batch.
                        REQUIRE(s.next().size == 0);
                        REQUIRE(s.epoch_done());
                        REQUIRE(s.epoch() == epoch);
                    }
                }
            }
        }
    }
}

TEST_CASE("BatchSampler with drop_last drops the tail of the same permutation", "[data][sampler]")
{
    BatchSampler<dynamic> keep(103, 10, SamplerOptions::shuffled(11));
    BatchSampler<dynamic> drop(103, 10, SamplerOptions::shuffled(11).dropping_last());
    const auto all = epoch_order(keep, 4);
    const auto dropped = epoch_order(drop, 4);
    REQUIRE(dropped.size() == 100);
    CHECK(std::equal(dropped.begin(), dropped.end(), all.begin()));
    CHECK(drop.samples_per_epoch() == 100);
    CHECK(keep.samples_per_epoch() == 103);
}

TEST_CASE("Paired sampling: the order of an epoch is the same for every batch size", "[data][sampler]")
{
    const std::size_t n = 5000;
    const SamplerOptions opt = SamplerOptions::shuffled(1234);
    BatchSampler<1> s1(n, opt);
    BatchSampler<7> s7(n, opt);
    BatchSampler<32> s32(n, opt);
    BatchSampler<dynamic> s1000(n, 1000, opt);
    for (std::size_t epoch : {0u, 1u, 17u})
    {
        const auto o1 = epoch_order(s1, epoch);
        REQUIRE(o1.size() == n);
        CHECK(epoch_order(s7, epoch) == o1);
        CHECK(epoch_order(s32, epoch) == o1);
        CHECK(epoch_order(s1000, epoch) == o1);
        CHECK(s32.permutation() == o1);
    }
    // drop_last cuts the same sequence, so it is a prefix of it.
    BatchSampler<dynamic> d(n, 3000, SamplerOptions::shuffled(1234).dropping_last());
    const auto od = epoch_order(d, 17);
    REQUIRE(od.size() == 3000);
    const auto o1 = epoch_order(s1, 17);
    CHECK(std::equal(od.begin(), od.end(), o1.begin()));
}

TEST_CASE("BatchSampler order depends on seed and epoch only", "[data][sampler]")
{
    BatchSampler<dynamic> a(1000, 64, SamplerOptions::shuffled(7));
    BatchSampler<dynamic> b(1000, 64, SamplerOptions::shuffled(7));
    BatchSampler<dynamic> c(1000, 64, SamplerOptions::shuffled(8));
    const auto a0 = epoch_order(a, 0);
    const auto a1 = epoch_order(a, 1);
    CHECK(a0 != a1);
    CHECK(epoch_order(b, 0) == a0);
    CHECK(epoch_order(c, 0) != a0);
    // Epochs may be visited in any order, and a half-consumed epoch does not matter.
    b.start_epoch(5);
    b.next();
    CHECK(epoch_order(b, 1) == a1);
    CHECK(epoch_order(a, 0) == a0);
    // The constructor starts epoch 0.
    BatchSampler<dynamic> fresh(1000, 64, SamplerOptions::shuffled(7));
    std::vector<std::size_t> first;
    while (auto ib = fresh.next())
    {
        first.insert(first.end(), ib.begin(), ib.end());
    }
    CHECK(first == a0);
}

TEST_CASE("BatchSampler permutation matches an independent implementation of the documented algorithm", "[data][sampler]")
{
    // Expected values from tests/dataio/reference_permutation.py (SplitMix64, xoshiro256**,
    // derive_rng, Lemire's bounded integers and Fisher-Yates, written from their descriptions).
    BatchSampler<dynamic> s(10, 4, SamplerOptions::shuffled(42));
    CHECK(epoch_order(s, 0) == std::vector<std::size_t>{7, 5, 0, 1, 6, 9, 8, 3, 2, 4});
    CHECK(epoch_order(s, 1) == std::vector<std::size_t>{6, 7, 3, 5, 0, 1, 4, 8, 9, 2});
    BatchSampler<3> t(20, SamplerOptions::shuffled(7));
    CHECK(epoch_order(t, 3)
          == std::vector<std::size_t>{10, 2, 11, 5, 12, 0, 4, 14, 8, 15, 9, 1, 17, 6, 3, 7, 16, 18, 13, 19});
}

TEST_CASE("BatchSampler resumes mid-epoch bit-identically after save and load", "[data][sampler]")
{
    const SamplerOptions opt = SamplerOptions::shuffled(99);
    BatchSampler<dynamic> a(1003, 10, opt);
    a.start_epoch(2);
    for (int i = 0; i < 37; ++i)
    {
        a.next();
    }
    std::stringstream ss;
    BinaryWriter w(ss);
    a.save(w);

    BatchSampler<dynamic> b(1003, 10, opt);  // a new process: starts at epoch 0
    BinaryReader r(ss, "sampler checkpoint");
    b.load(r);
    CHECK(b.epoch() == 2);
    CHECK(b.position() == 370);
    CHECK(b.iteration() == 37);
    // The rest of epoch 2, then a whole epoch 3, are the same.
    for (int epoch = 2; epoch <= 3; ++epoch)
    {
        if (epoch == 3)
        {
            a.start_epoch(3);
            b.start_epoch(3);
        }
        for (;;)
        {
            const IndexBatch x = a.next();
            const IndexBatch y = b.next();
            REQUIRE(x.size == y.size);
            if (x.size == 0)
            {
                break;
            }
            REQUIRE(std::equal(x.begin(), x.end(), y.begin()));
        }
    }

    // A sampler with another configuration refuses the state.
    for (int which = 0; which < 3; ++which)
    {
        std::stringstream s2;
        BinaryWriter w2(s2);
        a.save(w2);
        BinaryReader r2(s2, "ckpt");
        if (which == 0)
        {
            BatchSampler<dynamic> other(1003, 10, SamplerOptions::shuffled(100));
            CHECK_THROWS_WITH(other.load(r2), Catch::Contains("ckpt") && Catch::Contains("seed = 99 but this one has 100"));
        }
        else if (which == 1)
        {
            BatchSampler<dynamic> other(1003, 20, opt);
            CHECK_THROWS_WITH(other.load(r2), Catch::Contains("batch_size = 10 but this one has 20"));
        }
        else
        {
            BatchSampler<10> other(1000, opt);
            CHECK_THROWS_AS(other.load(r2), checkpoint_error);
        }
    }
}

TEST_CASE("set_batch_size changes the batch size from the next epoch on, keeping the order", "[data][sampler]")
{
    const std::size_t n = 1000;
    const SamplerOptions opt = SamplerOptions::shuffled(31);
    BatchSampler<dynamic> s(n, 10, opt);
    BatchSampler<1> reference(n, opt);
    CHECK(s.next_batch_size() == 10);
    CHECK(s.next_iterations_per_epoch() == 100);

    // Mid-epoch: the epoch in progress keeps its size to its end.
    s.start_epoch(0);
    for (int i = 0; i < 5; ++i)
    {
        REQUIRE(s.next().size == 10);
    }
    s.set_batch_size(300);
    CHECK(s.batch_size() == 10);
    CHECK(s.iterations_per_epoch() == 100);
    CHECK(s.next_batch_size() == 300);
    CHECK(s.next_iterations_per_epoch() == 4);
    std::size_t rest = 0;
    while (auto ib = s.next())
    {
        REQUIRE(ib.size == 10);
        rest += ib.size;
    }
    CHECK(rest == n - 50);

    // From the next epoch: batches of 300, 300, 300, 100, in the order any batch size sees.
    for (std::size_t epoch : {1u, 2u})
    {
        std::vector<std::size_t> sizes;
        const auto order = epoch_order(s, epoch, &sizes);
        CHECK(s.batch_size() == 300);
        CHECK(s.iterations_per_epoch() == 4);
        CHECK(sizes == std::vector<std::size_t>{300, 300, 300, 100});
        CHECK(order == epoch_order(reference, epoch));
    }

    // Shrinking works the same way; the last call before start_epoch wins.
    s.set_batch_size(7);
    s.set_batch_size(250);
    CHECK(s.batch_size() == 300);
    s.start_epoch(3);
    CHECK(s.batch_size() == 250);
    CHECK(s.iteration() == 0);
    CHECK(s.next().size == 250);
    CHECK(s.iteration() == 1);

    // With drop_last, the tail dropped follows the size of each epoch.
    BatchSampler<dynamic> d(n, 300, SamplerOptions::shuffled(31).dropping_last());
    CHECK(d.samples_per_epoch() == 900);
    d.set_batch_size(400);
    CHECK(d.samples_per_epoch() == 900);
    CHECK(d.next_iterations_per_epoch() == 2);
    std::vector<std::size_t> sizes;
    const auto order = epoch_order(d, 4, &sizes);
    CHECK(sizes == std::vector<std::size_t>{400, 400});
    CHECK(d.samples_per_epoch() == 800);
    const auto full = epoch_order(reference, 4);
    CHECK(std::equal(order.begin(), order.end(), full.begin()));

    // A fixed size reports itself as the next size too.
    BatchSampler<32> fixed(n, opt);
    CHECK(fixed.next_batch_size() == 32);
    CHECK(fixed.next_iterations_per_epoch() == 32);
}

TEST_CASE("set_batch_size refuses impossible sizes, naming them, and leaves the sampler as it was", "[data][sampler]")
{
    BatchSampler<dynamic> s(100, 10, SamplerOptions::shuffled(0).dropping_last());
    CHECK_THROWS_WITH(s.set_batch_size(0), Catch::Contains("set_batch_size") && Catch::Contains("batch_size must be > 0 (got 0)"));
    CHECK_THROWS_WITH(s.set_batch_size(101), Catch::Contains("batch_size must be <= num_samples = 100 with drop_last")
                                                 && Catch::Contains("(got 101)"));
    CHECK(s.next_batch_size() == 10);
    s.start_epoch(1);
    CHECK(s.batch_size() == 10);
    // Without drop_last a size above N is one batch of N.
    BatchSampler<dynamic> t(100, 10, SamplerOptions::shuffled(0));
    t.set_batch_size(1000);
    t.start_epoch(1);
    CHECK(t.iterations_per_epoch() == 1);
    CHECK(t.next().size == 100);
}

TEST_CASE("a sampler whose batch size changed resumes with both sizes from a checkpoint", "[data][sampler]")
{
    const SamplerOptions opt = SamplerOptions::shuffled(5);
    BatchSampler<dynamic> a(1003, 10, opt);
    a.set_batch_size(40);
    a.start_epoch(2);  // epoch 2 at 40
    for (int i = 0; i < 7; ++i)
    {
        a.next();
    }
    a.set_batch_size(160);  // for epoch 3
    std::stringstream ss;
    BinaryWriter w(ss);
    a.save(w);

    BatchSampler<dynamic> b(1003, 10, opt);  // constructed as the saved one was
    BinaryReader r(ss, "ckpt");
    b.load(r);
    CHECK(b.epoch() == 2);
    CHECK(b.position() == 280);
    CHECK(b.batch_size() == 40);
    CHECK(b.next_batch_size() == 160);
    for (int epoch = 2; epoch <= 3; ++epoch)
    {
        if (epoch == 3)
        {
            a.start_epoch(3);
            b.start_epoch(3);
            CHECK(b.batch_size() == 160);
        }
        for (;;)
        {
            const IndexBatch x = a.next();
            const IndexBatch y = b.next();
            REQUIRE(x.size == y.size);
            if (x.size == 0)
            {
                break;
            }
            REQUIRE(std::equal(x.begin(), x.end(), y.begin()));
        }
    }

    // The constructor's batch size is what must match, not the size reached.
    std::stringstream s2;
    BinaryWriter w2(s2);
    a.save(w2);
    BatchSampler<dynamic> other(1003, 160, opt);
    BinaryReader r2(s2, "ckpt");
    CHECK_THROWS_WITH(other.load(r2), Catch::Contains("batch_size = 10 but this one has 160"));
    CHECK(other.batch_size() == 160);
    CHECK(other.epoch() == 0);
}

TEST_CASE("BatchSampler reads the state of format version 1 and refuses impossible sizes", "[data][sampler]")
{
    // Version 1, as written before set_batch_size existed: no current/next batch sizes.
    auto state = [](std::uint32_t version, std::uint64_t b, std::uint64_t position, std::uint64_t current) {
        std::stringstream ss;
        BinaryWriter w(ss);
        w.write_tag("xtrain.BatchSampler");
        w.write<std::uint32_t>(version);
        w.write<std::uint64_t>(100);  // N
        w.write<std::uint64_t>(b);
        w.write(true);                // shuffle
        w.write(false);               // drop_last
        w.write<std::uint64_t>(9);    // seed
        w.write<std::uint64_t>(4);    // epoch
        w.write<std::uint64_t>(position);
        if (version >= 2)
        {
            w.write<std::uint64_t>(current);
            w.write<std::uint64_t>(current);
        }
        return ss.str();
    };
    {
        std::stringstream ss(state(1, 16, 32, 0));
        BatchSampler<dynamic> s(100, 16, SamplerOptions::shuffled(9));
        BinaryReader r(ss, "v1");
        s.load(r);
        CHECK(s.epoch() == 4);
        CHECK(s.position() == 32);
        CHECK(s.batch_size() == 16);
        CHECK(s.next_batch_size() == 16);
        BatchSampler<16> fresh(100, SamplerOptions::shuffled(9));
        const auto order = epoch_order(fresh, 4);
        const IndexBatch ib = s.next();
        CHECK(std::equal(ib.begin(), ib.end(), order.begin() + 32));
    }
    {
        std::stringstream ss(state(2, 16, 0, 0));
        BatchSampler<dynamic> s(100, 16, SamplerOptions::shuffled(9));
        BinaryReader r(ss, "zero");
        CHECK_THROWS_WITH(s.load(r), Catch::Contains("zero") && Catch::Contains("batch size 0 is impossible"));
    }
    {
        std::stringstream ss(state(2, 16, 0, 20));
        BatchSampler<16> s(100, SamplerOptions::shuffled(9));
        BinaryReader r(ss, "fixed");
        CHECK_THROWS_WITH(s.load(r), Catch::Contains("batch size 20 is impossible") && Catch::Contains("fixed at compile time"));
    }
    {
        std::stringstream ss(state(3, 16, 0, 16));
        BatchSampler<dynamic> s(100, 16, SamplerOptions::shuffled(9));
        BinaryReader r(ss, "future");
        CHECK_THROWS_WITH(s.load(r), Catch::Contains("format version 3"));
    }
}

TEST_CASE("BatchSampler rejects bad arguments with messages naming them", "[data][sampler]")
{
    CHECK_THROWS_WITH(BatchSampler<dynamic>(100, 0), Catch::Contains("batch_size must be > 0 (got 0)"));
    CHECK_THROWS_WITH(BatchSampler<dynamic>(0, 8), Catch::Contains("num_samples must be > 0: the dataset is empty (got 0)"));
    CHECK_THROWS_WITH(BatchSampler<32>(0), Catch::Contains("num_samples must be > 0"));
    CHECK_THROWS_WITH(BatchSampler<dynamic>(100, 101, SamplerOptions::shuffled(0).dropping_last()),
                      Catch::Contains("batch_size must be <= num_samples = 100 with drop_last")
                          && Catch::Contains("(got 101)"));
    CHECK_THROWS_WITH(BatchSampler<128>(100, SamplerOptions::in_order().dropping_last()),
                      Catch::Contains("batch_size must be <= num_samples = 100 with drop_last")
                          && Catch::Contains("(got 128)"));
    // Without drop_last a batch size above N gives one batch of N.
    BatchSampler<128> s(100, SamplerOptions::in_order());
    CHECK(s.iterations_per_epoch() == 1);
    CHECK(s.next().size == 100);
    static_assert(BatchSampler<128>::static_batch_size == 128);
    static_assert(BatchSampler<dynamic>::static_batch_size == dynamic);
}

TEST_CASE("BatchSampler and BatchBuffer allocate nothing per batch", "[data][sampler][alloc]")
{
    const auto ds = indexed_dataset<float>(500, 16);
    BatchSampler<32> s(ds.size(), SamplerOptions::shuffled(3));
    BatchBuffer<float> buf(ds, 32);
    BatchSampler<dynamic> d(ds.size(), 8, SamplerOptions::shuffled(3));
    double checksum = 0.0;
    test::AllocationCounter count;
    for (std::size_t epoch = 0; epoch < 3; ++epoch)
    {
        s.start_epoch(epoch);
        while (auto ib = s.next())
        {
            const Batch<float> b = buf.gather(ds, ib);
            checksum += b.features[0] + b.labels[b.size - 1];
        }
    }
    // Changing a dynamic sampler's batch size between epochs allocates nothing either.
    for (std::size_t epoch = 0; epoch < 3; ++epoch)
    {
        d.set_batch_size(8 << epoch);
        d.start_epoch(epoch);
        while (auto ib = d.next())
        {
            const Batch<float> b = buf.gather(ds, ib);
            checksum += b.features[0];
        }
    }
    CHECK(count.allocations() == 0);
    CHECK(checksum > 0.0);
}

// -------------------------------------------------------------------------------------------------
// BatchBuffer
// -------------------------------------------------------------------------------------------------

TEMPLATE_TEST_CASE("BatchBuffer gathers rows and labels into its own buffers", "[data][buffer]", float, double)
{
    auto ds = indexed_dataset<TestType>(50, 6, 4);
    ds.sample_shape = {1, 2, 3};
    BatchBuffer<TestType> buf(ds, 8);
    CHECK(buf.capacity() == 8);
    const std::vector<std::size_t> idx{49, 0, 17, 17, 3};
    const Batch<TestType> b = buf.gather(ds, idx.data(), idx.size());
    REQUIRE(b.size == 5);
    REQUIRE(b.feature_dim == 6);
    REQUIRE(b.sample_rank == 3);
    CHECK(b.sample_shape[0] == 1);
    CHECK(b.sample_shape[1] == 2);
    CHECK(b.sample_shape[2] == 3);
    REQUIRE(b.has_labels());
    CHECK_FALSE(b.has_targets());
    for (std::size_t r = 0; r < idx.size(); ++r)
    {
        for (std::size_t j = 0; j < 6; ++j)
        {
            CHECK(b.x()(r, j) == ds.features(idx[r], j));
        }
        CHECK(b.labels[r] == ds.labels(idx[r]));
    }
    // The features are copies, not views of the dataset.
    CHECK((b.features < ds.features.data() || b.features >= ds.features.data() + ds.features.size()));
    // A smaller (last) batch reuses the same buffers.
    const std::vector<std::size_t> last{2};
    const Batch<TestType> p = buf.gather(ds, last.data(), 1);
    CHECK(p.features == b.features);
    CHECK(p.labels == b.labels);
    CHECK(p.size == 1);
    CHECK(p.x()(0, 0) == TestType(2));
}

TEMPLATE_TEST_CASE("BatchBuffer gathers regression targets", "[data][buffer]", float, double)
{
    auto task = datasets::linear_regression<TestType>({40, 3, 2, 0.1, 1.0, 5});
    const auto& ds = task.data;
    BatchBuffer<TestType> buf(ds, 4);
    const std::vector<std::size_t> idx{39, 1, 20};
    const Batch<TestType> b = buf.gather(ds, idx.data(), idx.size());
    REQUIRE(b.has_targets());
    CHECK_FALSE(b.has_labels());
    REQUIRE(b.target_dim == 2);
    for (std::size_t r = 0; r < idx.size(); ++r)
    {
        CHECK(b.y()(r, 0) == ds.targets(idx[r], 0));
        CHECK(b.y()(r, 1) == ds.targets(idx[r], 1));
        CHECK(b.x()(r, 2) == ds.features(idx[r], 2));
    }
}

TEST_CASE("BatchBuffer checks capacity, indices and the dataset's shape", "[data][buffer]")
{
    auto ds = indexed_dataset<float>(10, 4);
    BatchBuffer<float> buf(ds, 3);
    const std::vector<std::size_t> four{0, 1, 2, 3};
    CHECK_THROWS_WITH(buf.gather(ds, four.data(), 4), Catch::Contains("n must be <= capacity() = 3 (got 4)"));
    const std::vector<std::size_t> bad{1, 10};
    CHECK_THROWS_WITH(buf.gather(ds, bad.data(), 2),
                      Catch::Contains("indices[1] = 10 is out of range for dataset 'indexed' of 10 samples"));
    auto wide = indexed_dataset<float>(10, 5);
    wide.name = "wide";
    CHECK_THROWS_WITH(buf.gather(wide, four.data(), 2),
                      Catch::Contains("dataset 'wide' (feature_dim 5") && Catch::Contains("(feature_dim 4"));
    auto reg = datasets::linear_regression<float>({10, 4, 1, 0.0, 1.0, 0});
    CHECK_THROWS_WITH(buf.gather(reg.data, four.data(), 2), Catch::Contains("targets of width 1")
                                                                && Catch::Contains("class labels"));
    CHECK_THROWS_WITH(BatchBuffer<float>(ds, 0), Catch::Contains("capacity must be > 0 (got 0)"));
    // n = 0 is a valid empty batch.
    CHECK(buf.gather(ds, nullptr, 0).size == 0);
}

// -------------------------------------------------------------------------------------------------
// Dataset
// -------------------------------------------------------------------------------------------------

TEST_CASE("Dataset::validate names the inconsistency", "[data][dataset]")
{
    auto ds = indexed_dataset<float>(5, 4);
    CHECK(ds.size() == 5);
    CHECK(ds.feature_dim() == 4);
    CHECK(ds.is_classification());
    CHECK_FALSE(ds.is_regression());
    CHECK_NOTHROW(ds.validate());

    Dataset<float> empty;
    empty.name = "nothing";
    CHECK_THROWS_WITH(empty.validate(), Catch::Contains("'nothing': the dataset is empty"));

    auto d = ds;
    d.sample_shape = {2, 3};
    CHECK_THROWS_WITH(d.validate(), Catch::Contains("sample_shape {2, 3} holds 6 values but features have 4 columns"));
    d = ds;
    d.labels(3) = 7;
    CHECK_THROWS_WITH(d.validate(), Catch::Contains("label 7 of sample 3 is outside [0, 3)"));
    d = ds;
    d.labels = xt::xtensor<label_type, 1>::from_shape({4});
    CHECK_THROWS_WITH(d.validate(), Catch::Contains("4 labels for 5 samples"));
    d = ds;
    d.features(2, 1) = std::nanf("");
    CHECK_THROWS_WITH(d.validate(), Catch::Contains("feature 1 of sample 2 is not finite"));
    d = ds;
    d.targets = xt::xtensor<float, 2>::from_shape({5, 1});
    CHECK_THROWS_WITH(d.validate(), Catch::Contains("both labels and targets"));
    d = ds;
    d.labels = xt::xtensor<label_type, 1>{};
    CHECK_THROWS_WITH(d.validate(), Catch::Contains("neither labels nor targets"));
    d = ds;
    d.class_names = {"a", "b"};
    CHECK_THROWS_WITH(d.validate(), Catch::Contains("2 class names for 3 classes"));
}

TEST_CASE("Dataset::rows views a range in place and subset copies", "[data][dataset]")
{
    const auto ds = indexed_dataset<double>(10, 3);
    const Batch<double> b = ds.rows(4, 3);
    CHECK(b.features == ds.features.data() + 12);
    CHECK(b.size == 3);
    CHECK(b.labels == ds.labels.data() + 4);
    CHECK(b.x()(2, 0) == 6.0);
    CHECK(ds.rows(10, 0).size == 0);
    CHECK_THROWS_WITH(ds.rows(8, 3), Catch::Contains("must be <= size() = 10"));

    const auto s = subset(ds, {9, 2}, "two");
    CHECK(s.size() == 2);
    CHECK(s.name == "two");
    CHECK(s.features(0, 0) == 9.0);
    CHECK(s.labels(1) == ds.labels(2));
    CHECK_THROWS_WITH(subset(ds, {1, 10}), Catch::Contains("indices[1] must be < the dataset's size 10 (got 10)"));
}

// -------------------------------------------------------------------------------------------------
// Splits and standardisation
// -------------------------------------------------------------------------------------------------

TEMPLATE_TEST_CASE("train_validation_split is seeded, disjoint and complete", "[data][split]", float, double)
{
    const auto ds = indexed_dataset<TestType>(1000, 2);
    const auto [train, val] = train_validation_split(ds, 0.2, 17);
    REQUIRE(train.size() == 800);
    REQUIRE(val.size() == 200);
    CHECK(train.name == "indexed/train");
    CHECK(val.name == "indexed/validation");
    std::vector<std::size_t> seen;
    for (const auto* part : {&train, &val})
    {
        for (std::size_t i = 0; i < part->size(); ++i)
        {
            const auto orig = static_cast<std::size_t>(part->features(i, 0));
            seen.push_back(orig);
            REQUIRE(part->labels(i) == ds.labels(orig));
            if (i > 0)
            {
                REQUIRE(part->features(i, 0) > part->features(i - 1, 0));  // original order kept
            }
        }
    }
    std::sort(seen.begin(), seen.end());
    for (std::size_t i = 0; i < seen.size(); ++i)
    {
        REQUIRE(seen[i] == i);
    }
    const auto again = train_validation_split(ds, 0.2, 17);
    CHECK(bool(again.validation.features == val.features));
    const auto other = train_validation_split(ds, 0.2, 18);
    CHECK(bool(other.validation.features != val.features));

    CHECK_THROWS_WITH(train_validation_split(ds, 0.0, 1), Catch::Contains("validation_fraction must be in (0, 1) (got 0)"));
    CHECK_THROWS_WITH(train_validation_split(ds, 1.5, 1), Catch::Contains("validation_fraction must be in (0, 1)"));
    const auto tiny = indexed_dataset<TestType>(3, 2);
    CHECK_THROWS_WITH(train_validation_split(tiny, 0.1, 1), Catch::Contains("must leave both parts non-empty"));
}

TEMPLATE_TEST_CASE("Standardizer is fitted on the training part only", "[data][split]", float, double)
{
    const auto blobs = datasets::gaussian_blobs<TestType>({2000, 3, 2, 2.0, 5.0, 4});
    auto [train, val] = train_validation_split(blobs, 0.25, 1);
    // A constant feature (like an image border) maps to 0 rather than dividing by zero.
    for (std::size_t i = 0; i < train.size(); ++i)
    {
        train.features(i, 2) = TestType(3);
    }
    const auto val_before = val.features;
    const Standardizer<TestType> s = standardize(train, val);
    REQUIRE(s.fitted());
    for (std::size_t j = 0; j < 3; ++j)
    {
        double m = 0.0;
        double v = 0.0;
        for (std::size_t i = 0; i < train.size(); ++i)
        {
            m += static_cast<double>(train.features(i, j));
        }
        m /= static_cast<double>(train.size());
        for (std::size_t i = 0; i < train.size(); ++i)
        {
            v += std::pow(static_cast<double>(train.features(i, j)) - m, 2.0);
        }
        v /= static_cast<double>(train.size());
        // float: 1500 values summed in double, each rounded to float: error ~1e-7 relative.
        CHECK(m == Approx(0.0).epsilon(0).margin(1e-5));
        CHECK(v == Approx(j == 2 ? 0.0 : 1.0).epsilon(0).margin(1e-5));
    }
    CHECK(s.scale()(2) == TestType(1));
    // Validation used the training statistics: exactly (x - mean) / scale.
    for (std::size_t i = 0; i < val.size(); i += 97)
    {
        CHECK(val.features(i, 0) == (val_before(i, 0) - s.mean()(0)) / s.scale()(0));
    }
    // The state round-trips through a checkpoint.
    std::stringstream ss;
    BinaryWriter w(ss);
    s.save(w);
    Standardizer<TestType> t;
    CHECK_FALSE(t.fitted());
    BinaryReader r(ss, "std");
    t.load(r);
    CHECK(bool(t.mean() == s.mean()));
    CHECK(bool(t.scale() == s.scale()));
    auto wrong = indexed_dataset<TestType>(5, 2);
    CHECK_THROWS_WITH(s.transform(wrong), Catch::Contains("feature_dim of 'indexed' must equal the fitted 3 (got 2)"));
    CHECK_THROWS_WITH(Standardizer<TestType>().transform(wrong), Catch::Contains("call fit first"));
}

// -------------------------------------------------------------------------------------------------
// Synthetic tasks
// -------------------------------------------------------------------------------------------------

TEMPLATE_TEST_CASE("linear_regression exposes its optimum", "[data][synthetic]", float, double)
{
    datasets::LinearRegressionOptions o;
    o.num_samples = 4000;
    o.num_features = 5;
    o.num_targets = 2;
    o.noise_std = 0.1;
    o.condition_number = 100.0;
    o.seed = 3;
    const auto task = datasets::linear_regression<TestType>(o);
    task.data.validate();
    REQUIRE(task.data.size() == 4000);
    REQUIRE(task.data.target_dim() == 2);
    REQUIRE(task.weights.shape()[0] == 2);
    REQUIRE(task.weights.shape()[1] == 5);
    // Closed forms of the options (noise_std^2; condition_number^(-j / (2 (D - 1)))): exact but for rounding.
    CHECK(task.optimal_risk() == Approx(0.01).epsilon(1e-14));
    CHECK(task.feature_std(0) == 1.0);
    CHECK(task.feature_std(4) == Approx(0.1).epsilon(1e-14));
    // The least-squares fit is within a few standard errors of the true weights: the error of
    // w_j is about noise / (feature_std_j sqrt(N)) <= 0.1 / (0.1 * 63) = 0.016.
    const auto ls = datasets::least_squares(task.data);
    for (std::size_t k = 0; k < 2; ++k)
    {
        for (std::size_t j = 0; j < 5; ++j)
        {
            CHECK(ls.weights(k, j) == Approx(task.weights(k, j)).epsilon(0).margin(0.08));
        }
        CHECK(ls.bias(k) == Approx(task.bias(k)).epsilon(0).margin(0.01));
    }
    // The training optimum is the noise variance, up to sampling error (relative sd sqrt(2 / 8000)).
    CHECK(ls.mean_squared_error == Approx(0.01).epsilon(0.1));
    // The sample variances of the features follow feature_std (relative sd sqrt(2 / 4000) = 2 %).
    for (std::size_t j : {0u, 4u})
    {
        double v = 0.0;
        for (std::size_t i = 0; i < 4000; ++i)
        {
            v += std::pow(static_cast<double>(task.data.features(i, j)), 2.0);
        }
        CHECK(v / 4000 == Approx(std::pow(task.feature_std(j), 2.0)).epsilon(0.1));
    }
    // Same options, same data; another seed, other data.
    CHECK(bool(datasets::linear_regression<TestType>(o).data.targets == task.data.targets));
    o.seed = 4;
    CHECK(bool(datasets::linear_regression<TestType>(o).data.targets != task.data.targets));
}

TEST_CASE("linear_regression without noise is solved exactly", "[data][synthetic]")
{
    const auto task = datasets::linear_regression<double>({200, 4, 1, 0.0, 10.0, 9});
    const auto ls = datasets::least_squares(task.data);
    for (std::size_t j = 0; j < 4; ++j)
    {
        CHECK(ls.weights(0, j) == Approx(task.weights(0, j)).epsilon(0).margin(1e-9));
    }
    CHECK(ls.mean_squared_error < 1e-20);
    CHECK_THROWS_WITH(datasets::linear_regression<float>({0, 4, 1, 0.1, 1.0, 0}), Catch::Contains("num_samples must be > 0"));
    CHECK_THROWS_WITH(datasets::linear_regression<float>({10, 4, 1, 0.1, 0.5, 0}),
                      Catch::Contains("condition_number must be >= 1 (got 0.5)"));
    CHECK_THROWS_AS(datasets::least_squares(indexed_dataset<float>(10, 2)), std::invalid_argument);
}

TEMPLATE_TEST_CASE("gaussian_blobs and two_spirals are balanced, seeded classification sets", "[data][synthetic]", float, double)
{
    const auto blobs = datasets::gaussian_blobs<TestType>({3000, 4, 3, 0.5, 10.0, 1});
    blobs.validate();
    CHECK(blobs.num_classes == 3);
    CHECK(blobs.feature_dim() == 4);
    // Within-class spread is cluster_std (relative sd of the estimate ~ sqrt(2 / 4000)).
    for (label_type c = 0; c < 3; ++c)
    {
        std::vector<double> mean(4, 0.0);
        std::size_t n = 0;
        for (std::size_t i = 0; i < blobs.size(); ++i)
        {
            if (blobs.labels(i) == c)
            {
                ++n;
                for (std::size_t j = 0; j < 4; ++j)
                {
                    mean[j] += static_cast<double>(blobs.features(i, j));
                }
            }
        }
        REQUIRE(n == 1000);
        double ss = 0.0;
        for (std::size_t i = 0; i < blobs.size(); ++i)
        {
            if (blobs.labels(i) == c)
            {
                for (std::size_t j = 0; j < 4; ++j)
                {
                    ss += std::pow(static_cast<double>(blobs.features(i, j)) - mean[j] / 1000.0, 2.0);
                }
            }
        }
        CHECK(std::sqrt(ss / 4000.0) == Approx(0.5).epsilon(0.05));
    }
    CHECK(bool(datasets::gaussian_blobs<TestType>({3000, 4, 3, 0.5, 10.0, 1}).features == blobs.features));

    const auto sp = datasets::two_spirals<TestType>({1000, 1.5, 0.0, 2});
    sp.validate();
    CHECK(sp.num_classes == 2);
    for (std::size_t i = 0; i < sp.size(); ++i)
    {
        REQUIRE(sp.labels(i) == static_cast<label_type>(i % 2));
        const double r = std::hypot(static_cast<double>(sp.features(i, 0)), static_cast<double>(sp.features(i, 1)));
        REQUIRE(r <= 1.0 + 1e-6);
    }
    // Without noise every point lies on its class's arm: radius t, angle 2 pi turns t, plus pi on
    // arm 1. So arm 1 is arm 0 turned by pi (mirrored through the origin), and neither is the other.
    // The angle of a point rounded to T is known to about eps_T, and t (its radius) to eps_T
    // relative, 2 pi 1.5 eps_T of angle: 100 eps_T is ample, a point on the wrong arm is pi away.
    const double pi = 3.141592653589793;
    const double tol = 100.0 * static_cast<double>(std::numeric_limits<TestType>::epsilon());
    std::size_t off_arm = 0;
    std::size_t on_other_arm = 0;
    double largest_radius = 0.0;
    for (std::size_t i = 0; i < sp.size(); ++i)
    {
        const double x = static_cast<double>(sp.features(i, 0));
        const double y = static_cast<double>(sp.features(i, 1));
        const double r = std::hypot(x, y);
        largest_radius = std::max(largest_radius, r);
        if (r < 1e-6)
        {
            continue;  // the angle of (almost) the origin means nothing
        }
        const double arm = sp.labels(i) == 1 ? pi : 0.0;
        const double along = 2.0 * pi * 1.5 * r;
        off_arm += std::abs(std::remainder(std::atan2(y, x) - along - arm, 2.0 * pi)) > tol ? 1 : 0;
        on_other_arm += std::abs(std::remainder(std::atan2(y, x) - along - (pi - arm), 2.0 * pi)) <= tol ? 1 : 0;
    }
    CHECK(off_arm == 0);
    CHECK(on_other_arm == 0);
    CHECK(largest_radius > 0.99);  // t ~ U(0, 1): the arms run out to radius 1
    CHECK(bool(datasets::two_spirals<TestType>({1000, 1.5, 0.0, 3}).features != sp.features));
    CHECK_THROWS_WITH(datasets::two_spirals<TestType>({10, 0.0, 0.1, 0}), Catch::Contains("turns must be > 0"));
    CHECK_THROWS_WITH(datasets::gaussian_blobs<TestType>({10, 2, 0, 1.0, 1.0, 0}), Catch::Contains("num_classes must be > 0"));
}

TEMPLATE_TEST_CASE("teacher_student labels come from the exposed teacher", "[data][synthetic]", float, double)
{
    datasets::TeacherStudentOptions o;
    o.num_samples = 5000;
    o.input_dim = 12;
    o.hidden = {16, 8};
    o.num_outputs = 5;
    o.seed = 21;
    const auto task = datasets::teacher_student<TestType>(o);
    task.data.validate();
    REQUIRE(task.teacher.weights.size() == 3);
    CHECK(task.teacher.input_dim() == 12);
    CHECK(task.teacher.output_dim() == 5);
    std::vector<double> out(5000 * 5);
    task.teacher.forward(task.data.features.data(), 5000, out.data());
    std::vector<std::size_t> counts(5, 0);
    for (std::size_t i = 0; i < 5000; ++i)
    {
        const auto best = std::max_element(out.begin() + static_cast<std::ptrdiff_t>(5 * i),
                                           out.begin() + static_cast<std::ptrdiff_t>(5 * i + 5))
                        - (out.begin() + static_cast<std::ptrdiff_t>(5 * i));
        REQUIRE(task.data.labels(i) == best);
        ++counts[static_cast<std::size_t>(best)];
    }
    // Centred outputs keep every class present (uniform would be 1000 each).
    for (std::size_t c : counts)
    {
        CHECK(c > 250);
    }
    // Label noise replaces a fraction p of labels by uniform classes: (1 - 1/K) p of them change.
    o.label_noise = 0.3;
    const auto noisy = datasets::teacher_student<TestType>(o);
    std::size_t changed = 0;
    for (std::size_t i = 0; i < 5000; ++i)
    {
        changed += noisy.data.labels(i) != task.data.labels(i) ? 1 : 0;
    }
    // Expected 0.24 * 5000 = 1200, sd sqrt(5000 * 0.24 * 0.76) = 30.
    CHECK(changed > 1080);
    CHECK(changed < 1320);
    // Regression: targets are the teacher's outputs (plus noise_std noise).
    o.classification = false;
    o.label_noise = 0.0;
    const auto reg = datasets::teacher_student<TestType>(o);
    reg.data.validate();
    REQUIRE(reg.data.target_dim() == 5);
    std::vector<double> rout(5000 * 5);
    reg.teacher.forward(reg.data.features.data(), 5000, rout.data());
    for (std::size_t i = 0; i < 5000 * 5; i += 101)
    {
        CHECK(reg.data.targets.data()[i] == static_cast<TestType>(rout[i]));
    }
    o.sample_shape = {3, 5};
    CHECK_THROWS_WITH(datasets::teacher_student<TestType>(o), Catch::Contains("must have product input_dim = 12"));
}
