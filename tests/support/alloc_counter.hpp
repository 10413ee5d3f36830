// Counts heap allocations made through operator new, for the "nothing allocates per step" tests.
// Link tests/support/alloc_counter.cpp into the test executable (it replaces the global operator
// new and delete); then:
//     xtrain::test::AllocationCounter count;
//     ... code under test ...
//     CHECK(count.allocations() == 0);
// or, per update of a Trainer, the AllocationProbe callback below.
#ifndef XTRAIN_TESTS_SUPPORT_ALLOC_COUNTER_HPP
#define XTRAIN_TESTS_SUPPORT_ALLOC_COUNTER_HPP

#include <cstddef>

namespace xtrain::test
{
    // Total number of operator new calls in this process so far (all threads).
    std::size_t total_allocations() noexcept;

    // Counts the allocations made between its construction and a call to allocations().
    class AllocationCounter
    {
    public:
        AllocationCounter() noexcept : m_start(total_allocations()) {}
        std::size_t allocations() const noexcept { return total_allocations() - m_start; }

    private:
        std::size_t m_start;
    };

    // A Trainer callback that counts heap allocations between consecutive updates once every
    // buffer exists: from the first update after the first evaluation (end of epoch 0) made the
    // evaluation buffers.
    struct AllocationProbe
    {
        std::size_t last = 0;
        bool counting = false;
        std::size_t steady_allocations = 0;
        std::size_t updates_counted = 0;
        template <class Tr>
        void on_step_end(Tr& t)
        {
            const std::size_t now = total_allocations();
            if (counting)
            {
                steady_allocations += now - last;
                ++updates_counted;
            }
            counting = t.epoch() >= 1;
            last = now;
        }
    };
}

#endif
