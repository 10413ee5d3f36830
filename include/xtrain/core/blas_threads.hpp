/**
 * @file blas_threads.hpp
 * @brief Choosing how many threads the BLAS library uses.
 *
 * A sweep runs many trainings in parallel, one BLAS thread each; a single run may want all cores.
 * OpenBLAS is asked through `openblas_set_num_threads`, declared weak so that a program linked
 * against another BLAS still links and runs (the call then reports that it could not act).
 */
#ifndef XTRAIN_CORE_BLAS_THREADS_HPP
#define XTRAIN_CORE_BLAS_THREADS_HPP

extern "C"
{
    /** @brief OpenBLAS's thread setter; weak, so it is null when another BLAS is linked in. */
    void openblas_set_num_threads(int num_threads) __attribute__((weak));
    /** @brief OpenBLAS's thread getter; weak, so it is null when another BLAS is linked in. */
    int openblas_get_num_threads(void) __attribute__((weak));
}

namespace xtrain
{
    /**
     * @brief Sets the number of threads BLAS uses for the whole process.
     * @return true if the BLAS library took the setting (OpenBLAS), false if it offers no such call.
     */
    inline bool set_blas_threads(int n) noexcept
    {
        if (&openblas_set_num_threads != nullptr)
        {
            openblas_set_num_threads(n < 1 ? 1 : n);
            return true;
        }
        return false;
    }

    /** @brief The number of BLAS threads in effect, or 0 if the BLAS library cannot say. */
    inline int blas_threads() noexcept
    {
        return &openblas_get_num_threads != nullptr ? openblas_get_num_threads() : 0;
    }
}

#endif
