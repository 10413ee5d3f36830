/**
 * @file float_env.hpp
 * @brief FlushSubnormals: subnormal floating-point values read and written as zero, for a scope.
 *
 * An optimizer's state decays geometrically where the gradient is zero (Adam's moments by beta1 and
 * beta2 per step, a momentum buffer by its momentum). Inputs that are almost always zero, such as
 * the border pixels of an image set, leave their weights' state decaying for thousands of steps, and
 * on x86 every arithmetic operation with a subnormal operand or result (below 1.2e-38 in float)
 * takes a microcode assist of about a hundred cycles. On Fashion-MNIST at B = 8 that made Adam's
 * step 85 % of a run's time. Setting the SSE control register's "denormals are zero" and "flush to
 * zero" bits for the step removes the assists; what it changes is values below 1.2e-38 (float) or
 * 2.2e-308 (double), which are then zero.
 */
#ifndef XTRAIN_CORE_FLOAT_ENV_HPP
#define XTRAIN_CORE_FLOAT_ENV_HPP

// Only where scalar float and double arithmetic runs on SSE: every x86-64 target, and 32-bit x86
// when told so (GCC/Clang -mfpmath=sse, MSVC /arch:SSE2); 32-bit x87 arithmetic ignores MXCSR.
#if (defined(__x86_64__) || defined(_M_X64) || defined(__SSE2_MATH__) || (defined(_M_IX86_FP) && _M_IX86_FP >= 2)) \
    && !defined(_M_ARM64EC)
#include <xmmintrin.h>
#define XTRAIN_HAVE_SSE_CSR 1
#else
#define XTRAIN_HAVE_SSE_CSR 0
#endif

namespace xtrain
{
    /**
     * @brief While it lives, the calling thread reads subnormal float and double operands as zero and
     * writes subnormal results as zero (x86: the MXCSR bits DAZ and FTZ); the destructor restores
     * those two bits as it found them and keeps the exception flags the scope raised. Threads
     * already running are not affected; threads started inside the scope inherit the mode.
     *
     * Where the build target has no SSE control register (aarch64, 32-bit x87 arithmetic) it does
     * nothing, and `supported` is false. x87 arithmetic (long double) is never affected.
     */
    class FlushSubnormals
    {
    public:
        /** @brief True where the mode can be set (x86 with SSE2, which includes every x86-64). */
        static constexpr bool supported = XTRAIN_HAVE_SSE_CSR != 0;

        /** @brief Sets the mode if @p on; otherwise leaves the thread's mode as it is. */
        explicit FlushSubnormals(bool on = true) noexcept
        {
#if XTRAIN_HAVE_SSE_CSR
            m_active = on;
            if (on)
            {
                m_saved = _mm_getcsr();
                _mm_setcsr(m_saved | flush_bits);
            }
#else
            (void)on;
#endif
        }

        /** @brief Restores the mode found by the constructor. */
        ~FlushSubnormals()
        {
#if XTRAIN_HAVE_SSE_CSR
            if (m_active)
            {
                _mm_setcsr((_mm_getcsr() & ~flush_bits) | (m_saved & flush_bits));
            }
#endif
        }

        FlushSubnormals(const FlushSubnormals&) = delete;
        FlushSubnormals& operator=(const FlushSubnormals&) = delete;
        FlushSubnormals(FlushSubnormals&&) = delete;
        FlushSubnormals& operator=(FlushSubnormals&&) = delete;

    private:
#if XTRAIN_HAVE_SSE_CSR
        static constexpr unsigned flush_bits = 0x8040U; // FTZ (bit 15) and DAZ (bit 6)
        unsigned m_saved = 0;
        bool m_active = false;
#endif
    };
}

#endif
