// Optimizer::step flushes subnormal values to zero (FlushSubnormals, core/float_env.hpp) unless told
// not to, restores the thread's floating-point mode afterwards, and changes nothing above the
// subnormal range.
#include <catch2/catch.hpp>

#include <cfenv>
#include <cmath>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <type_traits>

#include "xtrain/optim.hpp"

using namespace xtrain;

namespace
{
    template <class T>
    bool subnormal(T v)
    {
        return std::fpclassify(v) == FP_SUBNORMAL;
    }

    // True if this thread computes subnormal results (it may flush already, e.g. in a program
    // built with -ffast-math); the checks of IEEE behaviour need it.
    bool thread_keeps_subnormals()
    {
        volatile float tiny = std::numeric_limits<float>::min(); // volatile: computed at run time
        return subnormal(tiny / 2.0f);
    }

    // A policy whose update throws: the mode must be restored on the way out.
    struct Throwing
    {
        static constexpr const char* name = "throwing";
        double lr = 0.1;
        void validate() const {}
        template <class T>
        struct State
        {
            template <class F>
            void visit(F&&)
            {
            }
        };
        template <class T>
        void init(State<T>&, std::size_t) const
        {
        }
        template <class T>
        void update(State<T>&, const StepContext&, T*, const T*, std::size_t) const
        {
            throw std::runtime_error("update failed");
        }
    };
}

TEMPLATE_TEST_CASE("Adam's step flushes subnormal moments to zero, and keeps them when told to", "[optim][subnormal]",
                   float, double)
{
    using T = TestType;
    if (!thread_keeps_subnormals())
    {
        WARN("this thread already flushes subnormal values: the IEEE side cannot be checked");
        return;
    }
    // g^2 (1 - beta2) lands in the subnormal range, g (1 - beta1) does not.
    const T g = std::is_same_v<T, float> ? T(1e-20) : T(1e-155);
    xt::xtensor<T, 1> params = {T(0.5), T(-0.25)};
    xt::xtensor<T, 1> grads = {g, T(0.1)};
    Adam h;
    h.lr = 0.01;

    Optimizer<Adam> flushing(h);
    CHECK(flushing.flush_subnormals());
    xt::xtensor<T, 1> p1 = params;
    flushing.step(p1, grads);
    const auto& s1 = *flushing.template state<T>();
    if (FlushSubnormals::supported)
    {
        CHECK(s1.exp_avg_sq(0) == T(0));
    }
    else
    {
        CHECK(subnormal(s1.exp_avg_sq(0))); // nothing to set on this target
    }
    CHECK_FALSE(subnormal(s1.exp_avg(0)));
    CHECK(s1.exp_avg(0) > T(0));

    Optimizer<Adam> exact(h);
    exact.set_flush_subnormals(false);
    xt::xtensor<T, 1> p2 = params;
    exact.step(p2, grads);
    const auto& s2 = *exact.template state<T>();
    CHECK(subnormal(s2.exp_avg_sq(0)));

    // The ParamBuffer overload (what Trainer calls) flushes too.
    ParamLayout layout;
    layout.add("w", {2});
    ParamBuffer<T> buffer(std::move(layout));
    buffer.values() = params;
    Optimizer<Adam> segmented(h);
    segmented.step(buffer, grads);
    CHECK(segmented.template state<T>()->exp_avg_sq(0) == s1.exp_avg_sq(0));
    CHECK(buffer.values()(1) == p1(1));
    // Above the subnormal range both give the same bits.
    CHECK(s1.exp_avg(0) == s2.exp_avg(0));
    CHECK(s1.exp_avg_sq(1) == s2.exp_avg_sq(1));
    CHECK(p1(1) == p2(1));
}

TEST_CASE("The step leaves the thread's floating-point mode as it found it", "[optim][subnormal]")
{
    if (!FlushSubnormals::supported || !thread_keeps_subnormals())
    {
        WARN("no SSE control register on this target, or this thread flushes already");
        return;
    }
    volatile float tiny = std::numeric_limits<float>::min(); // volatile: computed at run time
    const auto halved = [&] { return tiny / 2.0f; };          // a subnormal unless flushed
    REQUIRE(subnormal(halved()));
    {
        const FlushSubnormals flush;
        CHECK(halved() == 0.0f);
        {
            const FlushSubnormals off(false);
            CHECK(halved() == 0.0f); // false leaves the mode as it is
        }
        CHECK(halved() == 0.0f);
    }
    CHECK(subnormal(halved()));

    xt::xtensor<float, 1> p = {1.0f, 2.0f};
    xt::xtensor<float, 1> g = {0.5f, 0.5f};
    Optimizer<Adam> adam;
    adam.step(p, g);
    CHECK(subnormal(halved()));
    ParamLayout layout;
    layout.add("w", {2});
    ParamBuffer<float> buffer(std::move(layout));
    adam.reset();
    adam.step(buffer, g);
    CHECK(subnormal(halved()));

    Optimizer<Throwing> throwing;
    CHECK_THROWS_AS(throwing.step(p, g), std::runtime_error);
    CHECK(subnormal(halved()));
    CHECK_THROWS_AS(throwing.step(buffer, g), std::runtime_error);
    CHECK(subnormal(halved()));
}

TEST_CASE("FlushSubnormals keeps the exception flags its scope raised", "[optim][subnormal]")
{
    if (!FlushSubnormals::supported)
    {
        WARN("no SSE control register on this target");
        return;
    }
    std::feclearexcept(FE_ALL_EXCEPT);
    {
        const FlushSubnormals flush;
        volatile float big = std::numeric_limits<float>::max();
        volatile float r = big * 2.0f; // raises overflow
        (void)r;
    }
    CHECK(std::fetestexcept(FE_OVERFLOW) != 0);
    std::feclearexcept(FE_ALL_EXCEPT);
}
