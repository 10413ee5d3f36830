// Tests of include/xtrain/optim's optimizers: torch.optim's trajectories (tests/data/optimizer_traces.bin,
// written by tests/data/make_optimizer_traces.py), LARS and LAMB against the papers' formulas,
// parameter groups, checkpoints, validation, allocations, and the snippets of docs/optimizers.md.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <xtensor/xview.hpp>

#include "xtrain/optim.hpp"
#include "support/alloc_counter.hpp"

namespace
{
    // ----------------------------------------------------------------------------------------------
    // The golden traces
    // ----------------------------------------------------------------------------------------------

    struct Trace
    {
        std::string spec;
        std::string optimizer;
        std::map<std::string, double> hyper;
        unsigned width = 0;          // bytes per scalar: 8 (float64) or 4 (float32)
        std::vector<double> lr;      // rate in effect at each step
        std::vector<double> params;  // steps x P, after each step (float values widened exactly)
    };

    struct TraceFile
    {
        std::string provenance;
        std::size_t P = 0;
        std::size_t S = 0;
        std::vector<float> grads; // S x P
        std::vector<float> init;  // P
        std::vector<Trace> traces;
    };

    // Reads little-endian values from the file's bytes (the machines running the tests are little-endian;
    // the first check below refuses anything else).
    class Bytes
    {
    public:
        explicit Bytes(std::vector<char> data) : m_data(std::move(data)) {}

        template <class V>
        V get()
        {
            V v;
            take(&v, sizeof(V));
            return v;
        }

        std::string text(std::size_t n)
        {
            std::string s(n, '\0');
            take(s.data(), n);
            return s;
        }

        template <class V>
        void values(std::vector<V>& out, std::size_t n)
        {
            out.resize(n);
            take(out.data(), n * sizeof(V));
        }

        bool at_end() const { return m_pos == m_data.size(); }

    private:
        void take(void* dst, std::size_t n)
        {
            if (m_data.size() - m_pos < n)
            {
                throw std::runtime_error("optimizer_traces.bin is truncated");
            }
            std::memcpy(dst, m_data.data() + m_pos, n);
            m_pos += n;
        }

        std::vector<char> m_data;
        std::size_t m_pos = 0;
    };

    const TraceFile& traces()
    {
        static const TraceFile file = [] {
            REQUIRE(xtrain::BinaryWriter::host_is_little_endian());
            std::ifstream in(XTRAIN_TEST_DATA_DIR "/optimizer_traces.bin", std::ios::binary);
            REQUIRE(in.good());
            Bytes b{std::vector<char>{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()}};
            TraceFile f;
            REQUIRE(b.text(8) == "XTOPTTR1");
            f.provenance = b.text(b.get<std::uint32_t>());
            f.P = b.get<std::uint32_t>();
            f.S = b.get<std::uint32_t>();
            b.values(f.grads, f.S * f.P);
            b.values(f.init, f.P);
            const auto count = b.get<std::uint32_t>();
            for (std::uint32_t k = 0; k < count; ++k)
            {
                Trace t;
                t.spec = b.text(b.get<std::uint32_t>());
                t.width = b.get<std::uint8_t>();
                b.values(t.lr, f.S);
                if (t.width == 8)
                {
                    b.values(t.params, f.S * f.P);
                }
                else
                {
                    std::vector<float> p;
                    b.values(p, f.S * f.P);
                    t.params.assign(p.begin(), p.end());
                }
                std::istringstream words(t.spec);
                words >> t.optimizer;
                std::string kv;
                while (words >> kv)
                {
                    const auto eq = kv.find('=');
                    t.hyper[kv.substr(0, eq)] = std::stod(kv.substr(eq + 1));
                }
                f.traces.push_back(std::move(t));
            }
            REQUIRE(b.at_end());
            return f;
        }();
        return file;
    }

    xtrain::SGD sgd_from(const std::map<std::string, double>& h)
    {
        xtrain::SGD p;
        p.lr = h.at("lr");
        p.momentum = h.at("momentum");
        p.dampening = h.at("dampening");
        p.weight_decay = h.at("weight_decay");
        p.nesterov = h.at("nesterov") != 0.0;
        return p;
    }

    xtrain::Adam adam_from(const std::map<std::string, double>& h)
    {
        xtrain::Adam p;
        p.lr = h.at("lr");
        p.beta1 = h.at("beta1");
        p.beta2 = h.at("beta2");
        p.eps = h.at("eps");
        p.weight_decay = h.at("weight_decay");
        p.amsgrad = h.at("amsgrad") != 0.0;
        p.decoupled_weight_decay = h.at("decoupled_weight_decay") != 0.0;
        return p;
    }

    xtrain::RMSprop rmsprop_from(const std::map<std::string, double>& h)
    {
        xtrain::RMSprop p;
        p.lr = h.at("lr");
        p.alpha = h.at("alpha");
        p.eps = h.at("eps");
        p.weight_decay = h.at("weight_decay");
        p.momentum = h.at("momentum");
        p.centered = h.at("centered") != 0.0;
        return p;
    }

    xtrain::Adagrad adagrad_from(const std::map<std::string, double>& h)
    {
        xtrain::Adagrad p;
        p.lr = h.at("lr");
        p.lr_decay = h.at("lr_decay");
        p.weight_decay = h.at("weight_decay");
        p.initial_accumulator_value = h.at("initial_accumulator_value");
        p.eps = h.at("eps");
        return p;
    }

    // Relative error robust near zero: |x - r| divided by the largest magnitude the parameter takes
    // in the reference trajectory (its starting value included). A parameter that crosses zero is
    // thus measured against its own scale rather than against the tiny value at the crossing,
    // which is also the scale of the rounding errors its updates accumulate.
    struct ErrorReport
    {
        double worst = 0.0;
        std::size_t step = 0;
        std::size_t index = 0;
    };

    template <class T>
    ErrorReport compare_trajectory(const std::vector<std::vector<T>>& got, const std::vector<double>& ref,
                                   const std::vector<float>& init, std::size_t P)
    {
        ErrorReport r;
        const std::size_t S = got.size();
        for (std::size_t i = 0; i < P; ++i)
        {
            double scale = std::abs(static_cast<double>(init[i]));
            for (std::size_t s = 0; s < S; ++s)
            {
                scale = std::max(scale, std::abs(ref[s * P + i]));
            }
            scale = std::max(scale, std::numeric_limits<double>::min());
            for (std::size_t s = 0; s < S; ++s)
            {
                const double e = std::abs(static_cast<double>(got[s][i]) - ref[s * P + i]) / scale;
                if (!(e <= r.worst)) // also catches NaN
                {
                    r.worst = std::isnan(e) ? std::numeric_limits<double>::infinity() : e;
                    r.step = s;
                    r.index = i;
                }
            }
        }
        return r;
    }

    // Runs one trace twice: over a flat buffer, and over a ParamBuffer split into two segments
    // (default group settings), which must give the very same bits.
    template <class Policy, class T>
    void check_trace(const TraceFile& f, const Trace& tr, const Policy& policy, double tolerance)
    {
        xt::xtensor<T, 1> flat = xt::xtensor<T, 1>::from_shape({f.P});
        xtrain::ParamLayout layout;
        layout.add("w", {2, 3});
        layout.add("b", {f.P - 6});
        xtrain::ParamBuffer<T> segmented(layout);
        for (std::size_t i = 0; i < f.P; ++i)
        {
            flat(i) = static_cast<T>(f.init[i]);
            segmented.values()(i) = static_cast<T>(f.init[i]);
        }
        xt::xtensor<T, 1> g = xt::xtensor<T, 1>::from_shape({f.P});
        xtrain::Optimizer<Policy> a(policy);
        xtrain::Optimizer<Policy> b(policy);
        std::vector<std::vector<T>> got;
        bool same_bits = true;
        for (std::size_t s = 0; s < f.S; ++s)
        {
            for (std::size_t i = 0; i < f.P; ++i)
            {
                g(i) = static_cast<T>(f.grads[s * f.P + i]);
            }
            a.set_lr(tr.lr[s]);
            b.set_lr(tr.lr[s]);
            a.step(flat, g);
            b.step(segmented, g);
            got.emplace_back(flat.begin(), flat.end());
            same_bits = same_bits && std::memcmp(flat.data(), segmented.data(), f.P * sizeof(T)) == 0;
        }
        const ErrorReport r = compare_trajectory(got, tr.params, f.init, f.P);
        INFO(tr.spec << " as " << (sizeof(T) == 8 ? "double" : "float") << ": worst relative error " << r.worst
                     << " at step " << r.step << ", parameter " << r.index);
        CHECK(r.worst <= tolerance);
        CHECK(same_bits);
        CHECK(a.step_count() == f.S);
    }

    template <class T>
    void check_trace_any(const TraceFile& f, const Trace& tr, double tolerance)
    {
        if (tr.optimizer == "SGD")
        {
            check_trace<xtrain::SGD, T>(f, tr, sgd_from(tr.hyper), tolerance);
        }
        else if (tr.optimizer == "Adam")
        {
            check_trace<xtrain::Adam, T>(f, tr, adam_from(tr.hyper), tolerance);
        }
        else if (tr.optimizer == "RMSprop")
        {
            check_trace<xtrain::RMSprop, T>(f, tr, rmsprop_from(tr.hyper), tolerance);
        }
        else if (tr.optimizer == "Adagrad")
        {
            check_trace<xtrain::Adagrad, T>(f, tr, adagrad_from(tr.hyper), tolerance);
        }
        else
        {
            FAIL("unknown optimizer in the trace file: " << tr.spec);
        }
    }

    std::string message_of(const std::function<void()>& f)
    {
        try
        {
            f();
        }
        catch (const std::invalid_argument& e)
        {
            return e.what();
        }
        return "(no std::invalid_argument thrown)";
    }

    // Widens a buffer to doubles (a loop: GCC 12 at -O3 warns falsely about vector's range constructor here).
    template <class E>
    std::vector<double> widen(const E& e)
    {
        std::vector<double> out;
        out.reserve(e.size());
        for (auto x : e)
        {
            out.push_back(static_cast<double>(x));
        }
        return out;
    }

    bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

    // Gradients for the non-trace tests: normal deviates rounded to float, so float and double runs see the same.
    template <class T>
    xt::xtensor<T, 1> random_vector(xtrain::Rng& rng, std::size_t n, double scale)
    {
        xt::xtensor<T, 1> v = xt::xtensor<T, 1>::from_shape({n});
        for (auto& x : v)
        {
            x = static_cast<T>(static_cast<float>(scale * rng.normal()));
        }
        return v;
    }
}

// --------------------------------------------------------------------------------------------------
// Against torch.optim
// --------------------------------------------------------------------------------------------------

TEST_CASE("The trace file covers every optimizer and flag combination it promises", "[optim][traces]")
{
    const TraceFile& f = traces();
    INFO(f.provenance);
    CHECK(f.S >= 50);
    CHECK(f.P >= 8);
    std::map<std::string, int> per_optimizer;
    int lr_changes_ok = 0;
    for (const Trace& t : f.traces)
    {
        ++per_optimizer[t.optimizer + (t.width == 8 ? "/double" : "/float")];
        const bool changes = std::any_of(t.lr.begin(), t.lr.end(), [&](double v) { return v != t.lr.front(); });
        lr_changes_ok += changes ? 1 : 0;
    }
    CHECK(lr_changes_ok == static_cast<int>(f.traces.size()));
    CHECK(per_optimizer["SGD/double"] == 10); // every momentum x dampening x nesterov x weight-decay combination torch accepts
    CHECK(per_optimizer["SGD/float"] == 10);
    CHECK(per_optimizer["Adam/double"] == 7); // Adam, L2, AdamW, each with and without AMSGrad, other betas
    CHECK(per_optimizer["Adam/float"] == 7);
    CHECK(per_optimizer["RMSprop/double"] == 5);
    CHECK(per_optimizer["RMSprop/float"] == 5);
    CHECK(per_optimizer["Adagrad/double"] == 2);
    CHECK(per_optimizer["Adagrad/float"] == 2);
}

TEST_CASE("SGD, Adam, AdamW, AMSGrad, RMSprop and Adagrad follow torch.optim's trajectories", "[optim][traces]")
{
    const TraceFile& f = traces();
    for (const Trace& t : f.traces)
    {
        if (t.width == 8)
        {
            check_trace_any<double>(f, t, 1e-12);
        }
        else
        {
            check_trace_any<float>(f, t, 1e-5);
        }
    }
}

TEST_CASE("xtrain::AdamW is Adam with decoupled decay and torch.optim.AdamW's defaults", "[optim][adam]")
{
    const xtrain::AdamW w;
    CHECK(w.decoupled_weight_decay);
    CHECK(w.weight_decay == 0.01);
    CHECK(w.lr == 1e-3);
    xtrain::Adam a;
    a.decoupled_weight_decay = true;
    a.weight_decay = 0.01;
    xtrain::Rng rng(5);
    xt::xtensor<double, 1> p1 = random_vector<double>(rng, 37, 1.0);
    xt::xtensor<double, 1> p2 = p1;
    xtrain::Optimizer<xtrain::AdamW> ow;
    xtrain::Optimizer<xtrain::Adam> oa(a);
    for (int s = 0; s < 5; ++s)
    {
        const auto g = random_vector<double>(rng, 37, 0.1);
        ow.step(p1, g);
        oa.step(p2, g);
    }
    CHECK((p1 == p2));
}

// --------------------------------------------------------------------------------------------------
// Parameter groups
// --------------------------------------------------------------------------------------------------

TEMPLATE_TEST_CASE("Segment lr_scale and weight_decay act like torch parameter groups", "[optim][groups]", float, double)
{
    using T = TestType;
    xtrain::ParamLayout layout;
    layout.add("fc.weight", {4, 6});
    layout.add("fc.bias", {4});
    layout.set_weight_decay("*.bias", 0.0);
    layout.set_lr_scale("fc.weight", 0.5);
    xtrain::Rng rng(11);
    xtrain::ParamBuffer<T> params(layout);
    params.values() = random_vector<T>(rng, layout.size(), 1.0);

    // The same rule as two independent optimizers, one per group, with the group's settings.
    xtrain::Adam h;
    h.lr = 0.01;
    h.weight_decay = 0.1;
    xtrain::Adam h_weight = h;
    h_weight.lr = h.lr * 0.5;
    xtrain::Adam h_bias = h;
    h_bias.weight_decay = 0.0;
    xt::xtensor<T, 1> w = params.segment(0);
    xt::xtensor<T, 1> b = params.segment(1);

    xtrain::Optimizer<xtrain::Adam> grouped(h);
    xtrain::Optimizer<xtrain::Adam> ow(h_weight);
    xtrain::Optimizer<xtrain::Adam> ob(h_bias);
    for (int s = 0; s < 8; ++s)
    {
        if (s == 4)
        {
            grouped.set_lr(0.02);
            ow.set_lr(0.02 * 0.5);
            ob.set_lr(0.02);
        }
        const xt::xtensor<T, 1> g = random_vector<T>(rng, layout.size(), 0.3);
        grouped.step(params, g);
        const xt::xtensor<T, 1> gw = xt::view(g, xt::range(0, 24));
        const xt::xtensor<T, 1> gb = xt::view(g, xt::range(24, 28));
        ow.step(w, gw);
        ob.step(b, gb);
    }
    // Same operations on the same numbers: equal to the bit.
    CHECK((xt::xtensor<T, 1>(params.segment(0)) == w));
    CHECK((xt::xtensor<T, 1>(params.segment(1)) == b));
}

TEST_CASE("A segment without weight decay is not decayed by SGD, and a zero lr_scale freezes it", "[optim][groups]")
{
    xtrain::ParamLayout layout;
    layout.add("a", {3});
    layout.add("frozen", {2});
    layout.set_lr_scale("frozen", 0.0);
    xtrain::ParamBuffer<double> params(layout, 1.0);
    xt::xtensor<double, 1> g = {0.0, 0.0, 0.0, 1.0, 1.0};
    xtrain::SGD h;
    h.lr = 0.1;
    h.weight_decay = 0.5;
    xtrain::Optimizer<xtrain::SGD> opt(h);
    opt.step(params, g);
    // a: p -= 0.1 * (0 + 0.5 * 1) = 0.95; frozen: lr 0, unchanged.
    CHECK(params.values()(0) == Approx(0.95).epsilon(1e-15));
    CHECK(params.values()(3) == 1.0);
    params.layout().set_weight_decay("a", 0.0);
    opt.step(params, g);
    CHECK(params.values()(0) == Approx(0.95).epsilon(1e-15));
}

// --------------------------------------------------------------------------------------------------
// SGDClassic
// --------------------------------------------------------------------------------------------------

TEMPLATE_TEST_CASE("SGDClassic follows v = mu v + lr (g + wd p), p -= v", "[optim][sgd_classic]", float, double)
{
    using T = TestType;
    for (const bool nesterov : {false, true})
    {
        xtrain::SGDClassic h;
        h.lr = 0.05;
        h.momentum = 0.8;
        h.weight_decay = 0.01;
        h.nesterov = nesterov;
        xtrain::Optimizer<xtrain::SGDClassic> opt(h);
        xtrain::Rng rng(3);
        xt::xtensor<T, 1> p = random_vector<T>(rng, 9, 1.0);
        std::vector<double> ref = widen(p);
        std::vector<double> v(9, 0.0);
        for (int s = 0; s < 30; ++s)
        {
            const double lr = s < 15 ? 0.05 : 0.01;
            opt.set_lr(lr);
            const xt::xtensor<T, 1> g = random_vector<T>(rng, 9, 1.0);
            opt.step(p, g);
            for (std::size_t i = 0; i < 9; ++i)
            {
                const double d = static_cast<double>(g(i)) + 0.01 * ref[i];
                v[i] = 0.8 * v[i] + lr * d;
                ref[i] -= nesterov ? 0.8 * v[i] + lr * d : v[i];
            }
        }
        const double tol = sizeof(T) == 8 ? 1e-12 : 1e-5;
        for (std::size_t i = 0; i < 9; ++i)
        {
            CHECK(static_cast<double>(p(i)) == Approx(ref[i]).epsilon(tol).margin(tol));
        }
    }
}

TEST_CASE("SGD and SGDClassic agree at a constant rate and part when it changes", "[optim][sgd_classic]")
{
    xtrain::SGD a;
    a.lr = 0.1;
    a.momentum = 0.9;
    xtrain::SGDClassic c;
    c.lr = 0.1;
    c.momentum = 0.9;
    xtrain::Optimizer<xtrain::SGD> pytorch_form(a);
    xtrain::Optimizer<xtrain::SGDClassic> classic(c);
    xt::xtensor<double, 1> p1 = {0.0};
    xt::xtensor<double, 1> p2 = {0.0};
    const xt::xtensor<double, 1> g = {1.0};
    for (int s = 0; s < 200; ++s)
    {
        pytorch_form.step(p1, g);
        classic.step(p2, g);
    }
    CHECK(p1(0) == Approx(p2(0)).epsilon(1e-12));
    // After 200 steps of g = 1 the buffer b is ~10 and the velocity v = lr * b ~1.
    pytorch_form.set_lr(0.01);
    classic.set_lr(0.01);
    const double before1 = p1(0);
    const double before2 = p2(0);
    pytorch_form.step(p1, g);
    classic.step(p2, g);
    // PyTorch's form rescales all the momentum at once: the step is 0.01 * (0.9 * 10 + 1) = 0.1.
    CHECK(before1 - p1(0) == Approx(0.1).epsilon(1e-8));
    // The classic form keeps the velocity built at the old rate: 0.9 * 1 + 0.01 * 1 = 0.91.
    CHECK(before2 - p2(0) == Approx(0.91).epsilon(1e-8));
}

// --------------------------------------------------------------------------------------------------
// LARS and LAMB against the papers
// --------------------------------------------------------------------------------------------------

namespace
{
    struct Group
    {
        std::size_t offset;
        std::size_t size;
        double lr_scale;
        std::optional<double> weight_decay;
        bool adapt;
    };

    xtrain::ParamLayout paper_layout()
    {
        xtrain::ParamLayout layout;
        layout.add("fc1.weight", {6, 5});
        layout.add("fc1.bias", {6});
        layout.add("fc2.weight", {3, 6});
        layout.add("fc2.bias", {3});
        layout.set_weight_decay("fc1.bias", 0.0);
        layout.set_layer_adaptation("fc1.bias", false);
        layout.set_lr_scale("fc2.weight", 0.5);
        return layout;
    }

    std::vector<Group> groups_of(const xtrain::ParamLayout& layout)
    {
        std::vector<Group> out;
        for (const auto& s : layout.segments())
        {
            out.push_back({s.offset, s.size, s.lr_scale, s.weight_decay, s.layer_adaptation});
        }
        return out;
    }

    double norm(const std::vector<double>& x, std::size_t off, std::size_t n)
    {
        double s = 0.0;
        for (std::size_t i = off; i < off + n; ++i)
        {
            s += x[i] * x[i];
        }
        return std::sqrt(s);
    }

    // Starting values: fc1.bias at zero (so its trust ratio would be 0 without the guard), others random.
    template <class T>
    xtrain::ParamBuffer<T> paper_params(xtrain::Rng& rng)
    {
        xtrain::ParamBuffer<T> p(paper_layout());
        p.values() = random_vector<T>(rng, p.size(), 0.5);
        for (std::size_t i = 30; i < 36; ++i)
        {
            p.values()(i) = T(0);
        }
        return p;
    }

    template <class T>
    double worst_relative(const xtrain::ParamBuffer<T>& got, const std::vector<double>& ref)
    {
        double scale = 0.0;
        for (double r : ref)
        {
            scale = std::max(scale, std::abs(r));
        }
        double worst = 0.0;
        for (std::size_t i = 0; i < ref.size(); ++i)
        {
            const double e = std::abs(static_cast<double>(got.values()(i)) - ref[i]) /
                             std::max(std::abs(ref[i]), 1e-3 * scale);
            worst = std::isnan(e) ? std::numeric_limits<double>::infinity() : std::max(worst, e);
        }
        return worst;
    }
}

TEMPLATE_TEST_CASE("LARS follows You, Gitman and Ginsburg (2017), Algorithm 1, per segment", "[optim][lars]", float, double)
{
    using T = TestType;
    xtrain::LARS h;
    h.lr = 2.0;
    h.momentum = 0.9;
    h.weight_decay = 5e-4;
    h.trust_coefficient = 0.001;
    xtrain::Rng rng(21);
    xtrain::ParamBuffer<T> params = paper_params<T>(rng);
    const auto groups = groups_of(params.layout());
    std::vector<double> w = widen(params.values());
    std::vector<double> v = widen(xt::zeros<double>({w.size()}));
    xtrain::Optimizer<xtrain::LARS> opt(h);
    for (int t = 0; t < 25; ++t)
    {
        const double gamma = 2.0 * (1.0 - t / 25.0) * (1.0 - t / 25.0); // the paper's polynomial decay
        opt.set_lr(gamma);
        xt::xtensor<T, 1> g = random_vector<T>(rng, params.size(), 0.05);
        if (t == 3)
        {
            xt::view(g, xt::range(54, 57)) = T(0); // fc2.bias gets no gradient: trust ratio 1
        }
        opt.step(params, g);
        const std::vector<double> gd = widen(g);
        for (const Group& l : groups)
        {
            const double beta = l.weight_decay.value_or(h.weight_decay);
            const double wn = norm(w, l.offset, l.size);
            const double gn = norm(gd, l.offset, l.size);
            double lambda = h.trust_coefficient * wn / (gn + beta * wn);
            if (!l.adapt || wn == 0.0 || gn == 0.0)
            {
                lambda = 1.0;
            }
            for (std::size_t i = l.offset; i < l.offset + l.size; ++i)
            {
                v[i] = h.momentum * v[i] + gamma * l.lr_scale * lambda * (gd[i] + beta * w[i]);
                w[i] -= v[i];
            }
        }
    }
    const double err = worst_relative(params, w);
    INFO("LARS worst relative error " << err);
    CHECK(err <= (sizeof(T) == 8 ? 1e-12 : 1e-5));
    // The zero-initialised bias moved (ratio 1 there), so the guard works.
    CHECK(xt::any(xt::not_equal(params.segment(1), T(0))));
}

TEST_CASE("LARS without momentum, over a flat buffer (one segment)", "[optim][lars]")
{
    xtrain::LARS h;
    h.lr = 0.5;
    h.momentum = 0.0;
    h.weight_decay = 0.01;
    h.trust_coefficient = 0.02;
    xtrain::Optimizer<xtrain::LARS> opt(h);
    xt::xtensor<double, 1> w = {3.0, -4.0};           // ||w|| = 5
    const xt::xtensor<double, 1> g = {0.6, 0.8};      // ||g|| = 1
    opt.step(w, g);
    const double lambda = 0.02 * 5.0 / (1.0 + 0.01 * 5.0);
    CHECK(w(0) == Approx(3.0 - 0.5 * lambda * (0.6 + 0.01 * 3.0)).epsilon(1e-15));
    CHECK(w(1) == Approx(-4.0 - 0.5 * lambda * (0.8 - 0.01 * 4.0)).epsilon(1e-15));
    CHECK(opt.state<double>()->velocity.size() == 0); // no buffer without momentum
}

TEMPLATE_TEST_CASE("LAMB follows You et al. (2020), Algorithm 2, per segment", "[optim][lamb]", float, double)
{
    using T = TestType;
    xtrain::LAMB h;
    h.lr = 0.01;
    h.weight_decay = 0.01;
    xtrain::Rng rng(22);
    xtrain::ParamBuffer<T> params = paper_params<T>(rng);
    const auto groups = groups_of(params.layout());
    std::vector<double> x = widen(params.values());
    std::vector<double> m = widen(xt::zeros<double>({x.size()}));
    std::vector<double> v = m;
    std::vector<double> u = m;
    xtrain::Optimizer<xtrain::LAMB> opt(h);
    for (int t = 1; t <= 25; ++t)
    {
        const double eta = t <= 10 ? 0.01 : 0.004;
        opt.set_lr(eta);
        const xt::xtensor<T, 1> g = random_vector<T>(rng, params.size(), 0.05);
        opt.step(params, g);
        for (const Group& l : groups)
        {
            const double lambda = l.weight_decay.value_or(h.weight_decay);
            for (std::size_t i = l.offset; i < l.offset + l.size; ++i)
            {
                const double gi = static_cast<double>(g(i));
                m[i] = h.beta1 * m[i] + (1.0 - h.beta1) * gi;
                v[i] = h.beta2 * v[i] + (1.0 - h.beta2) * gi * gi;
                const double mhat = m[i] / (1.0 - std::pow(h.beta1, t));
                const double vhat = v[i] / (1.0 - std::pow(h.beta2, t));
                u[i] = mhat / (std::sqrt(vhat) + h.eps) + lambda * x[i];
            }
            const double xn = norm(x, l.offset, l.size);
            const double un = norm(u, l.offset, l.size);
            const double ratio = (l.adapt && xn > 0.0 && un > 0.0) ? xn / un : 1.0;
            for (std::size_t i = l.offset; i < l.offset + l.size; ++i)
            {
                x[i] -= eta * l.lr_scale * ratio * u[i];
            }
        }
    }
    const double err = worst_relative(params, x);
    INFO("LAMB worst relative error " << err);
    CHECK(err <= (sizeof(T) == 8 ? 1e-12 : 1e-5));
}

TEST_CASE("A LAMB step moves each adapted segment by lr times its norm", "[optim][lamb]")
{
    // ||x_new - x|| = lr * ||x|| / ||u|| * ||u|| = lr * ||x||: the trust ratio's promise.
    xtrain::ParamLayout layout;
    layout.add("a", {50});
    layout.add("b", {20});
    xtrain::Rng rng(8);
    xtrain::ParamBuffer<double> p(layout);
    p.values() = random_vector<double>(rng, 70, 3.0);
    xt::view(p.values(), xt::range(50, 70)) *= 0.01;
    const xt::xtensor<double, 1> before = p.values();
    xtrain::LAMB h;
    h.lr = 0.02;
    xtrain::Optimizer<xtrain::LAMB> opt(h);
    opt.step(p, random_vector<double>(rng, 70, 1.0));
    for (std::size_t s = 0; s < 2; ++s)
    {
        const auto& seg = layout[s];
        double moved = 0.0;
        double size = 0.0;
        for (std::size_t i = seg.offset; i < seg.offset + seg.size; ++i)
        {
            moved += (p.values()(i) - before(i)) * (p.values()(i) - before(i));
            size += before(i) * before(i);
        }
        CHECK(std::sqrt(moved) == Approx(0.02 * std::sqrt(size)).epsilon(1e-12));
    }
}

// --------------------------------------------------------------------------------------------------
// Validation
// --------------------------------------------------------------------------------------------------

namespace
{
    struct BadCase
    {
        const char* what;
        std::function<void()> make;
        const char* field; // the message must name the hyperparameter...
        const char* value; // ...and the value it got ("got <value>")
    };

    template <class P, class F>
    std::function<void()> with(F set)
    {
        return [set] {
            P p;
            set(p);
            xtrain::Optimizer<P> opt(p);
        };
    }

    const double not_a_number = std::numeric_limits<double>::quiet_NaN();
    const double inf = std::numeric_limits<double>::infinity();
}

TEST_CASE("Every invalid hyperparameter throws std::invalid_argument naming it and its value", "[optim][validation]")
{
    using namespace xtrain;
    const std::vector<BadCase> cases = {
        {"SGD lr < 0", with<SGD>([](SGD& p) { p.lr = -0.1; }), "lr", "got -0.1"},
        {"SGD lr NaN", with<SGD>([](SGD& p) { p.lr = not_a_number; }), "lr", "got nan"},
        {"SGD lr inf", with<SGD>([](SGD& p) { p.lr = inf; }), "lr", "got inf"},
        {"SGD momentum < 0", with<SGD>([](SGD& p) { p.momentum = -0.5; }), "momentum", "got -0.5"},
        {"SGD dampening > 1", with<SGD>([](SGD& p) { p.dampening = 1.5; }), "dampening", "got 1.5"},
        {"SGD dampening < 0", with<SGD>([](SGD& p) { p.dampening = -0.25; }), "dampening", "got -0.25"},
        {"SGD weight_decay < 0", with<SGD>([](SGD& p) { p.weight_decay = -0.125; }), "weight_decay", "got -0.125"},
        {"SGD nesterov without momentum", with<SGD>([](SGD& p) { p.nesterov = true; }), "nesterov", "got momentum 0"},
        {"SGD nesterov with dampening", with<SGD>([](SGD& p) { p.nesterov = true; p.momentum = 0.9; p.dampening = 0.5; }),
         "nesterov", "dampening 0.5"},
        {"SGDClassic lr < 0", with<SGDClassic>([](SGDClassic& p) { p.lr = -2.0; }), "lr", "got -2"},
        {"SGDClassic momentum NaN", with<SGDClassic>([](SGDClassic& p) { p.momentum = not_a_number; }), "momentum", "got nan"},
        {"SGDClassic weight_decay < 0", with<SGDClassic>([](SGDClassic& p) { p.weight_decay = -1.0; }), "weight_decay", "got -1"},
        {"SGDClassic nesterov without momentum", with<SGDClassic>([](SGDClassic& p) { p.nesterov = true; }), "nesterov",
         "momentum 0"},
        {"Adam lr < 0", with<Adam>([](Adam& p) { p.lr = -1e-3; }), "lr", "got -0.001"},
        {"Adam beta1 = 1", with<Adam>([](Adam& p) { p.beta1 = 1.0; }), "beta1", "got 1"},
        {"Adam beta1 < 0", with<Adam>([](Adam& p) { p.beta1 = -0.5; }), "beta1", "got -0.5"},
        {"Adam beta2 = 1", with<Adam>([](Adam& p) { p.beta2 = 1.0; }), "beta2", "got 1"},
        {"Adam beta2 NaN", with<Adam>([](Adam& p) { p.beta2 = not_a_number; }), "beta2", "got nan"},
        {"Adam eps < 0", with<Adam>([](Adam& p) { p.eps = -1e-8; }), "eps", "got -1e-08"},
        {"Adam weight_decay < 0", with<Adam>([](Adam& p) { p.weight_decay = -0.5; }), "weight_decay", "got -0.5"},
        {"AdamW weight_decay < 0", with<AdamW>([](AdamW& p) { p.weight_decay = -0.5; }), "weight_decay", "got -0.5"},
        {"RMSprop lr < 0", with<RMSprop>([](RMSprop& p) { p.lr = -0.5; }), "lr", "got -0.5"},
        {"RMSprop alpha > 1", with<RMSprop>([](RMSprop& p) { p.alpha = 1.5; }), "alpha", "got 1.5"},
        {"RMSprop alpha < 0", with<RMSprop>([](RMSprop& p) { p.alpha = -0.5; }), "alpha", "got -0.5"},
        {"RMSprop eps < 0", with<RMSprop>([](RMSprop& p) { p.eps = -0.5; }), "eps", "got -0.5"},
        {"RMSprop weight_decay < 0", with<RMSprop>([](RMSprop& p) { p.weight_decay = -0.5; }), "weight_decay", "got -0.5"},
        {"RMSprop momentum < 0", with<RMSprop>([](RMSprop& p) { p.momentum = -0.5; }), "momentum", "got -0.5"},
        {"Adagrad lr < 0", with<Adagrad>([](Adagrad& p) { p.lr = -0.5; }), "lr", "got -0.5"},
        {"Adagrad lr_decay < 0", with<Adagrad>([](Adagrad& p) { p.lr_decay = -0.5; }), "lr_decay", "got -0.5"},
        {"Adagrad weight_decay < 0", with<Adagrad>([](Adagrad& p) { p.weight_decay = -0.5; }), "weight_decay", "got -0.5"},
        {"Adagrad initial_accumulator_value < 0",
         with<Adagrad>([](Adagrad& p) { p.initial_accumulator_value = -0.5; }), "initial_accumulator_value", "got -0.5"},
        {"Adagrad eps < 0", with<Adagrad>([](Adagrad& p) { p.eps = -0.5; }), "eps", "got -0.5"},
        {"LARS lr < 0", with<LARS>([](LARS& p) { p.lr = -0.5; }), "lr", "got -0.5"},
        {"LARS momentum < 0", with<LARS>([](LARS& p) { p.momentum = -0.5; }), "momentum", "got -0.5"},
        {"LARS weight_decay < 0", with<LARS>([](LARS& p) { p.weight_decay = -0.5; }), "weight_decay", "got -0.5"},
        {"LARS trust_coefficient = 0", with<LARS>([](LARS& p) { p.trust_coefficient = 0.0; }), "trust_coefficient", "got 0"},
        {"LAMB lr < 0", with<LAMB>([](LAMB& p) { p.lr = -0.5; }), "lr", "got -0.5"},
        {"LAMB beta1 = 1", with<LAMB>([](LAMB& p) { p.beta1 = 1.0; }), "beta1", "got 1"},
        {"LAMB beta2 > 1", with<LAMB>([](LAMB& p) { p.beta2 = 1.5; }), "beta2", "got 1.5"},
        {"LAMB eps < 0", with<LAMB>([](LAMB& p) { p.eps = -0.5; }), "eps", "got -0.5"},
        {"LAMB weight_decay < 0", with<LAMB>([](LAMB& p) { p.weight_decay = -0.5; }), "weight_decay", "got -0.5"},
        {"set_lr < 0", [] { Optimizer<SGD> o; o.set_lr(-3.0); }, "lr", "got -3"},
        {"set_lr NaN", [] { Optimizer<Adam> o; o.set_lr(not_a_number); }, "lr", "got nan"},
        {"grads of another size", [] {
             Optimizer<SGD> o;
             xt::xtensor<float, 1> p = xt::zeros<float>({4});
             const xt::xtensor<float, 1> g = xt::zeros<float>({3});
             o.step(p, g);
         }, "grads", "grads has 3 elements but params has 4"},
    };
    for (const BadCase& c : cases)
    {
        const std::string msg = message_of(c.make);
        INFO(c.what << ": \"" << msg << "\"");
        CHECK(contains(msg, c.field));
        CHECK(contains(msg, c.value));
    }
    // The defaults are valid.
    CHECK_NOTHROW(Optimizer<SGD>());
    CHECK_NOTHROW(Optimizer<SGDClassic>());
    CHECK_NOTHROW(Optimizer<Adam>());
    CHECK_NOTHROW(Optimizer<AdamW>());
    CHECK_NOTHROW(Optimizer<RMSprop>());
    CHECK_NOTHROW(Optimizer<Adagrad>());
    CHECK_NOTHROW(Optimizer<LARS>());
    CHECK_NOTHROW(Optimizer<LAMB>());
}

TEST_CASE("A state made for one size refuses another, until reset()", "[optim][validation]")
{
    xtrain::Optimizer<xtrain::Adam> opt;
    xt::xtensor<double, 1> a = xt::ones<double>({5});
    xt::xtensor<double, 1> b = xt::ones<double>({6});
    opt.step(a, a);
    CHECK_THROWS_AS(opt.step(b, b), std::invalid_argument);
    CHECK(opt.step_count() == 1);
    opt.reset();
    CHECK_NOTHROW(opt.step(b, b));
}

// --------------------------------------------------------------------------------------------------
// Host behaviour: lr, step count, reset, one object for float and double
// --------------------------------------------------------------------------------------------------

TEST_CASE("lr() starts at the policy's rate, set_lr() changes the next step, reset() restores everything", "[optim]")
{
    xtrain::SGD h;
    h.lr = 0.5;
    xtrain::Optimizer<xtrain::SGD> opt(h);
    CHECK(opt.lr() == 0.5);
    xt::xtensor<double, 1> p = {1.0};
    const xt::xtensor<double, 1> g = {1.0};
    opt.step(p, g);
    CHECK(p(0) == 0.5);
    opt.set_lr(0.25);
    CHECK(opt.lr() == 0.25);
    CHECK(opt.policy().lr == 0.5);
    opt.step(p, g);
    CHECK(p(0) == 0.25);
    CHECK(opt.step_count() == 2);
    CHECK(opt.state<double>() != nullptr);
    CHECK(opt.state<float>() == nullptr);
    opt.reset();
    CHECK(opt.lr() == 0.5);
    CHECK(opt.step_count() == 0);
    CHECK(opt.state<double>() == nullptr);
}

TEST_CASE("One optimizer steps float and double buffers with separate states", "[optim]")
{
    xtrain::Adam h;
    h.lr = 0.1;
    xtrain::Optimizer<xtrain::Adam> both(h);
    xtrain::Optimizer<xtrain::Adam> only_double(h);
    xt::xtensor<float, 1> pf = {1.0f, 2.0f};
    xt::xtensor<double, 1> pd = {1.0, 2.0};
    xt::xtensor<double, 1> pd2 = pd;
    const xt::xtensor<float, 1> gf = {0.5f, -0.5f};
    const xt::xtensor<double, 1> gd = {0.25, 0.75};
    for (int s = 0; s < 3; ++s)
    {
        both.step(pf, gf);
    }
    both.step(pd, gd);        // the double state's first step: bias corrections of step 1
    only_double.step(pd2, gd);
    CHECK((pd == pd2));
    CHECK(both.step_count() == 4);
    REQUIRE(both.state<float>() != nullptr);
    REQUIRE(both.state<double>() != nullptr);
    CHECK(both.state<float>()->exp_avg.size() == 2);
}

// --------------------------------------------------------------------------------------------------
// No allocation per step
// --------------------------------------------------------------------------------------------------

namespace
{
    template <class Policy, class T>
    void check_no_allocation(const Policy& policy)
    {
        xtrain::ParamLayout layout = paper_layout();
        xtrain::Rng rng(4);
        xtrain::ParamBuffer<T> params(layout);
        params.values() = random_vector<T>(rng, layout.size(), 1.0);
        const xt::xtensor<T, 1> g = random_vector<T>(rng, layout.size(), 0.1);
        xt::xtensor<T, 1> flat = params.values();
        xtrain::Optimizer<Policy> opt(policy);
        std::size_t first = 0;
        {
            xtrain::test::AllocationCounter count;
            opt.step(params, g);
            first = count.allocations();
        }
        xtrain::test::AllocationCounter count;
        for (int s = 0; s < 10; ++s)
        {
            opt.set_lr(opt.lr() * 0.9);
            opt.step(params, g);
            opt.step(flat, g);
        }
        const std::size_t later = count.allocations();
        INFO(Policy::name << (sizeof(T) == 8 ? " double" : " float") << ": first step " << first << " allocations");
        CHECK(first > 0); // the counter sees the state being created
        CHECK(later == 0);
    }

    template <class T>
    void check_no_allocation_all()
    {
        xtrain::SGD sgd;
        sgd.momentum = 0.9;
        sgd.nesterov = true;
        sgd.weight_decay = 1e-4;
        check_no_allocation<xtrain::SGD, T>(sgd);
        xtrain::SGDClassic classic;
        classic.momentum = 0.9;
        check_no_allocation<xtrain::SGDClassic, T>(classic);
        xtrain::Adam adam;
        adam.amsgrad = true;
        check_no_allocation<xtrain::Adam, T>(adam);
        check_no_allocation<xtrain::AdamW, T>(xtrain::AdamW{});
        xtrain::RMSprop rms;
        rms.centered = true;
        rms.momentum = 0.9;
        check_no_allocation<xtrain::RMSprop, T>(rms);
        check_no_allocation<xtrain::Adagrad, T>(xtrain::Adagrad{});
        check_no_allocation<xtrain::LARS, T>(xtrain::LARS{});
        check_no_allocation<xtrain::LAMB, T>(xtrain::LAMB{});
    }
}

TEMPLATE_TEST_CASE("No step allocates after the first", "[optim][alloc]", float, double)
{
    check_no_allocation_all<TestType>();
}

// --------------------------------------------------------------------------------------------------
// Checkpoints
// --------------------------------------------------------------------------------------------------

namespace
{
    template <class Policy>
    void check_resume(const Policy& policy)
    {
        INFO(Policy::name);
        xtrain::Rng rng(9);
        xt::xtensor<float, 1> pf = random_vector<float>(rng, 40, 1.0);
        xt::xtensor<double, 1> pd = random_vector<double>(rng, 40, 1.0);
        std::vector<xt::xtensor<float, 1>> gf;
        std::vector<xt::xtensor<double, 1>> gd;
        for (int s = 0; s < 8; ++s)
        {
            gf.push_back(random_vector<float>(rng, 40, 0.5));
            gd.push_back(random_vector<double>(rng, 40, 0.5));
        }
        xtrain::Optimizer<Policy> a(policy);
        for (int s = 0; s < 4; ++s)
        {
            a.set_lr(policy.lr * (1.0 + s));
            a.step(pf, gf[s]);
            a.step(pd, gd[s]);
        }
        std::stringstream bytes;
        xtrain::BinaryWriter w(bytes);
        a.save(w);
        const auto saved_pf = pf;
        const auto saved_pd = pd;
        for (int s = 4; s < 8; ++s)
        {
            a.step(pf, gf[s]);
            a.step(pd, gd[s]);
        }

        xtrain::Optimizer<Policy> b(policy);
        xtrain::BinaryReader r(bytes, "checkpoint");
        b.load(r);
        CHECK(r.crc() == w.crc());
        CHECK(b.lr() == policy.lr * 4.0);
        CHECK(b.step_count() == 8);
        auto qf = saved_pf;
        auto qd = saved_pd;
        for (int s = 4; s < 8; ++s)
        {
            b.step(qf, gf[s]);
            b.step(qd, gd[s]);
        }
        CHECK((qf == pf)); // bit-identical resume
        CHECK((qd == pd));
    }

    std::string checkpoint_message(const std::function<void()>& f)
    {
        try
        {
            f();
        }
        catch (const xtrain::checkpoint_error& e)
        {
            return e.what();
        }
        return "(no xtrain::checkpoint_error thrown)";
    }
}

TEST_CASE("save() and load() resume every optimizer bit-identically", "[optim][checkpoint]")
{
    xtrain::SGD sgd;
    sgd.lr = 0.05;
    sgd.momentum = 0.9;
    sgd.nesterov = true;
    check_resume(sgd);
    xtrain::SGDClassic classic;
    classic.momentum = 0.8;
    check_resume(classic);
    xtrain::Adam adam;
    adam.amsgrad = true;
    check_resume(adam);
    check_resume(xtrain::AdamW{});
    xtrain::RMSprop rms;
    rms.centered = true;
    rms.momentum = 0.5;
    check_resume(rms);
    xtrain::Adagrad ada;
    ada.lr_decay = 0.1;
    check_resume(ada);
    check_resume(xtrain::LARS{});
    check_resume(xtrain::LAMB{});
}

TEST_CASE("load() refuses the state of another policy, size or configuration, and leaves the optimizer as it was",
          "[optim][checkpoint]")
{
    xt::xtensor<double, 1> p100 = xt::ones<double>({100});
    xt::xtensor<double, 1> p50 = xt::ones<double>({50});
    std::stringstream adam_bytes;
    {
        xtrain::Optimizer<xtrain::Adam> a;
        a.step(p100, p100);
        xtrain::BinaryWriter w(adam_bytes);
        a.save(w);
    }
    const std::string adam_state = adam_bytes.str();
    const auto reader_of = [](const std::string& bytes) {
        return std::make_shared<std::istringstream>(bytes);
    };

    SECTION("another policy")
    {
        xtrain::Optimizer<xtrain::SGD> s;
        auto in = reader_of(adam_state);
        xtrain::BinaryReader r(*in, "run.ckpt");
        const std::string msg = checkpoint_message([&] { s.load(r); });
        CHECK(contains(msg, "run.ckpt"));
        CHECK(contains(msg, "'Adam'"));
        CHECK(contains(msg, "'SGD'"));
    }
    SECTION("AdamW's state is not Adam's")
    {
        xtrain::Optimizer<xtrain::AdamW> s;
        auto in = reader_of(adam_state);
        xtrain::BinaryReader r(*in, "run.ckpt");
        CHECK(contains(checkpoint_message([&] { s.load(r); }), "'AdamW'"));
    }
    SECTION("amsgrad on one side only")
    {
        xtrain::Adam h;
        h.amsgrad = true;
        xtrain::Optimizer<xtrain::Adam> s(h);
        auto in = reader_of(adam_state);
        xtrain::BinaryReader r(*in, "run.ckpt");
        CHECK(contains(checkpoint_message([&] { s.load(r); }), "max_exp_avg_sq"));
        CHECK(s.step_count() == 0);
        CHECK(s.state<double>() == nullptr);
    }
    SECTION("a state for 100 parameters, then a step over 50")
    {
        xtrain::Optimizer<xtrain::Adam> s;
        auto in = reader_of(adam_state);
        xtrain::BinaryReader r(*in, "run.ckpt");
        s.load(r);
        const std::string msg = checkpoint_message([&] { s.step(p50, p50); });
        CHECK(contains(msg, "50"));
        CHECK(contains(msg, "100"));
    }
    SECTION("an optimizer that already steps 50 parameters")
    {
        xtrain::Optimizer<xtrain::Adam> s;
        s.set_lr(0.5);
        s.step(p50, p50);
        auto in = reader_of(adam_state);
        xtrain::BinaryReader r(*in, "run.ckpt");
        const std::string msg = checkpoint_message([&] { s.load(r); });
        CHECK(contains(msg, "100"));
        CHECK(s.lr() == 0.5);
        CHECK(s.step_count() == 1);
        CHECK(s.state<double>()->exp_avg.size() == 50);
    }
    SECTION("a truncated state")
    {
        xtrain::Optimizer<xtrain::Adam> s;
        auto in = reader_of(adam_state.substr(0, adam_state.size() - 9));
        xtrain::BinaryReader r(*in, "run.ckpt");
        CHECK(contains(checkpoint_message([&] { s.load(r); }), "truncated"));
        CHECK(s.state<double>() == nullptr);
    }
}

// --------------------------------------------------------------------------------------------------
// The policy requirement, and the snippets of docs/optimizers.md
// --------------------------------------------------------------------------------------------------

namespace
{
    struct NotAPolicy
    {
        double lr = 0.1;
    };
}

static_assert(xtrain::is_optimizer_policy_v<xtrain::SGD>);
static_assert(xtrain::is_optimizer_policy_v<xtrain::SGDClassic>);
static_assert(xtrain::is_optimizer_policy_v<xtrain::Adam>);
static_assert(xtrain::is_optimizer_policy_v<xtrain::AdamW>);
static_assert(xtrain::is_optimizer_policy_v<xtrain::RMSprop>);
static_assert(xtrain::is_optimizer_policy_v<xtrain::Adagrad>);
static_assert(xtrain::is_optimizer_policy_v<xtrain::LARS>);
static_assert(xtrain::is_optimizer_policy_v<xtrain::LAMB>);
static_assert(!xtrain::is_optimizer_policy_v<NotAPolicy>);
static_assert(xtrain::policy_traits<NotAPolicy>::has_lr && !xtrain::policy_traits<NotAPolicy>::has_state);
static_assert(xtrain::policy_traits<xtrain::SGD>::has_weight_decay);

TEST_CASE("docs/optimizers.md: the contract example", "[optim][docs]")
{
    xt::xtensor<double, 1> params = {1.0, -2.0};
    const xt::xtensor<double, 1> grads = {0.5, 0.25};
    #include "doc_snippets/optimizers-contract.inc"
    // First step: d = g + 1e-4 p, b = d, p -= 0.1 * (d + 0.9 b) = p - 0.19 d.
    CHECK(params(0) == Approx(1.0 - 0.19 * (0.5 + 1e-4)).epsilon(1e-14));
    CHECK(params(1) == Approx(-2.0 - 0.19 * (0.25 - 2e-4)).epsilon(1e-14));
    CHECK(opt.lr() == 0.05);
}

#include "doc_snippets/optimizers-signum.inc"

TEST_CASE("docs/optimizers.md: a user-written policy plugs into Optimizer", "[optim][docs]")
{
    static_assert(xtrain::is_optimizer_policy_v<Signum>);
    Signum h;
    h.lr = 0.01;
    xtrain::Optimizer<Signum> opt(h);
    xt::xtensor<float, 1> p = {1.0f, 1.0f, 1.0f};
    const xt::xtensor<float, 1> g = {2.0f, -3.0f, 0.0f};
    opt.step(p, g);
    CHECK(p(0) == 0.99f);
    CHECK(p(1) == 1.01f);
    CHECK(p(2) == 1.0f);
    // Its checkpoints work like the built-in ones.
    std::stringstream bytes;
    xtrain::BinaryWriter w(bytes);
    opt.save(w);
    xtrain::Optimizer<Signum> copy(h);
    xtrain::BinaryReader r(bytes, "signum");
    copy.load(r);
    CHECK((copy.state<float>()->m == opt.state<float>()->m));
    // The host checks lr even though Signum::validate() does not, and Signum's own check works.
    h.lr = -1.0;
    CHECK(contains(message_of([&] { xtrain::Optimizer<Signum> bad(h); }), "lr"));
    h.lr = 0.1;
    h.beta = 1.0;
    CHECK(contains(message_of([&] { xtrain::Optimizer<Signum> bad(h); }), "beta"));
}

TEST_CASE("docs/optimizers.md: parameter groups, checkpoints and one example per rule", "[optim][docs]")
{
    {
        #include "doc_snippets/optimizers-groups.inc"
        // The groups as the comments say: from parameters at 1 and a zero gradient (the moments stay
        // 0, so only the decoupled decay moves them), fc1.weight shrinks by lr * 0.5 * 0.01, the
        // bias not at all.
        params.values().fill(1.0f);
        opt.step(params, grads);
        CHECK(opt.step_count() == 2);
        const auto weight = params.segment("fc1.weight");
        const auto bias = params.segment("fc1.bias");
        CHECK(std::all_of(weight.begin(), weight.end(), [](float v) { return v == static_cast<float>(1.0 - 1e-3 * 0.5 * 0.01); }));
        CHECK(std::all_of(bias.begin(), bias.end(), [](float v) { return v == 1.0f; }));

        grads.fill(0.5f);
        opt.step(params, grads);
        #include "doc_snippets/optimizers-checkpoints.inc"
        xtrain::ParamBuffer<float> copy = params;
        opt.step(params, grads);
        resumed.step(copy, grads);
        CHECK((params.values() == copy.values()));
    }
    // Each rule's example configures what its comment says: one or two steps from p = (1, -1) with
    // g = (0.5, 0.5) against the page's formula, written out in double. A handful of rounded
    // operations separate the two: 1e-14 relative is ample, and far below the effect of any
    // hyperparameter not taking effect (the smallest, eps, changes these steps by 1e-5 relative).
    const xt::xtensor<double, 1> start = {1.0, -1.0};
    const xt::xtensor<double, 1> grads = {0.5, 0.5};
    auto near = [](double v) { return Approx(v).epsilon(1e-14); };
    {
        #include "doc_snippets/optimizers-sgd.inc"
        xt::xtensor<double, 1> p = start;
        opt.step(p, grads);  // b = g: p -= 0.1 * 0.5
        opt.step(p, grads);  // b = 0.9 * 0.5 + 0.5: p -= 0.1 * 0.95
        CHECK(p(0) == near(1.0 - 0.05 - 0.095));
        CHECK(p(1) == near(-1.0 - 0.05 - 0.095));
    }
    {
        #include "doc_snippets/optimizers-sgd-classic.inc"
        xt::xtensor<double, 1> p = start;
        opt.step(p, grads);  // v = 0.1 * 0.5
        opt.set_lr(0.01);    // the classic form keeps the velocity built at the old rate
        opt.step(p, grads);  // v = 0.9 * 0.05 + 0.01 * 0.5 (PyTorch's form would step 0.01 * 0.95)
        CHECK(p(0) == near(1.0 - 0.05 - (0.9 * 0.05 + 0.01 * 0.5)));
    }
    {
        #include "doc_snippets/optimizers-adam.inc"
        // A zero gradient tells the two decays apart. Coupled: g = 1e-4 p, so the first Adam step
        // is lr * g / (|g| + eps), about lr against the sign of p.
        const xt::xtensor<double, 1> zero = {0.0, 0.0};
        xt::xtensor<double, 1> pa = start;
        a.step(pa, zero);
        const double g = 1e-4;
        const double m = (1.0 - 0.9) * g;
        const double v = (1.0 - 0.999) * g * g;
        const double step = 1e-3 / (1.0 - 0.9) * m / (std::sqrt(v) / std::sqrt(1.0 - 0.999) + 1e-8);
        CHECK(pa(0) == near(1.0 - step));
        CHECK(pa(1) == near(-1.0 + step));
        // Decoupled: p *= 1 - lr * weight_decay, and the moments (zero) move nothing.
        xt::xtensor<double, 1> pw = start;
        w.step(pw, zero);
        CHECK(pw(0) == near(1.0 - 3e-4 * 0.01));
        CHECK(pw(1) == near(-(1.0 - 3e-4 * 0.01)));
        // AMSGrad keeps the running maximum of v, a state plain Adam does not have.
        REQUIRE(w.state<double>() != nullptr);
        CHECK(w.state<double>()->max_exp_avg_sq.size() == 2);
        CHECK(a.state<double>()->max_exp_avg_sq.size() == 0);
    }
    {
        #include "doc_snippets/optimizers-rmsprop.inc"
        xt::xtensor<double, 1> p = start;
        opt.step(p, grads);
        // Centered: s = 0.01 g^2, a = 0.01 g, den = sqrt(s - a^2) + eps (uncentered: sqrt(s) + eps).
        const double s2 = 0.01 * 0.25;
        const double a = 0.01 * 0.5;
        CHECK(p(0) == near(1.0 - 1e-3 * 0.5 / (std::sqrt(s2 - a * a) + 1e-8)));
    }
    {
        #include "doc_snippets/optimizers-adagrad.inc"
        xt::xtensor<double, 1> p = start;
        opt.step(p, grads);  // s = g^2: p -= 0.05 * g / (|g| + 1e-10)
        opt.step(p, grads);  // s = 2 g^2
        CHECK(p(0) == near(1.0 - 0.05 * 0.5 / (0.5 + 1e-10) - 0.05 * 0.5 / (std::sqrt(0.5) + 1e-10)));
    }
    {
        #include "doc_snippets/optimizers-lars.inc"
        xt::xtensor<double, 1> p = start;
        opt.step(p, grads);
        // One segment: ||w|| = sqrt 2, ||g|| = sqrt 0.5, the default trust coefficient 0.001.
        const double lambda = 0.001 * std::sqrt(2.0) / (std::sqrt(0.5) + 5e-4 * std::sqrt(2.0));
        CHECK(p(0) == near(1.0 - 2.0 * lambda * (0.5 + 5e-4 * 1.0)));
        CHECK(p(1) == near(-1.0 - 2.0 * lambda * (0.5 - 5e-4 * 1.0)));
    }
    {
        #include "doc_snippets/optimizers-lamb.inc"
        xt::xtensor<double, 1> p = start;
        opt.step(p, grads);
        // The trust ratio makes the step lr * ||w|| long, whatever the gradient. (The differences of
        // numbers near 1 keep about 13 significant digits of a step of 3e-3: 1e-12.)
        const double moved = std::hypot(p(0) - start(0), p(1) - start(1));
        CHECK(moved == Approx(2e-3 * std::sqrt(2.0)).epsilon(1e-12));
    }
}
