// Replaces the global allocation functions with counting ones (see alloc_counter.hpp).
#include "support/alloc_counter.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

namespace
{
    std::atomic<std::size_t> g_allocations{0};

    void* counted_alloc(std::size_t n)
    {
        g_allocations.fetch_add(1, std::memory_order_relaxed);
        return std::malloc(n == 0 ? 1 : n);
    }

    void* counted_aligned_alloc(std::size_t n, std::align_val_t al)
    {
        g_allocations.fetch_add(1, std::memory_order_relaxed);
        const auto a = static_cast<std::size_t>(al);
        const std::size_t size = ((n == 0 ? 1 : n) + a - 1) / a * a;
        return std::aligned_alloc(a, size);
    }
}

std::size_t xtrain::test::total_allocations() noexcept
{
    return g_allocations.load(std::memory_order_relaxed);
}

void* operator new(std::size_t n)
{
    if (void* p = counted_alloc(n))
    {
        return p;
    }
    throw std::bad_alloc();
}
void* operator new[](std::size_t n)
{
    return operator new(n);
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept
{
    return counted_alloc(n);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept
{
    return counted_alloc(n);
}
void* operator new(std::size_t n, std::align_val_t al)
{
    if (void* p = counted_aligned_alloc(n, al))
    {
        return p;
    }
    throw std::bad_alloc();
}
void* operator new[](std::size_t n, std::align_val_t al)
{
    return operator new(n, al);
}
void operator delete(void* p) noexcept
{
    std::free(p);
}
void operator delete[](void* p) noexcept
{
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept
{
    std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept
{
    std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept
{
    std::free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept
{
    std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept
{
    std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept
{
    std::free(p);
}
