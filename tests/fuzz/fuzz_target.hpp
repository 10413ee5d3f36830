// What each fuzz target provides, and how it reports a broken invariant.
//
// A target (fuzz_idx.cpp, fuzz_csv.cpp) defines xtrain::fuzz::one_input: it feeds one input to a
// reader and checks what the reader did with it. Input the reader refuses must be refused with
// data_error (or, for options that do not fit a table, the documented std::invalid_argument)
// naming the source; input it accepts must give a result that agrees with an independent reading
// of the same bytes. A broken invariant prints what broke and aborts.
//
// The same target file links into two programs: with libfuzzer_entry.cpp, a libFuzzer target
// (scripts/fuzz.sh, clang); with replay_main.cpp, a plain program that replays the committed
// corpus in tests/fuzz/corpus/<target>/ as an ordinary ctest test (any compiler).
#ifndef XTRAIN_TESTS_FUZZ_FUZZ_TARGET_HPP
#define XTRAIN_TESTS_FUZZ_FUZZ_TARGET_HPP

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace xtrain::fuzz
{
    /** @brief What the reader did with an input. */
    enum class Outcome
    {
        accepted,  ///< read, and every invariant of the result holds
        refused    ///< refused with the documented exception, naming the source
    };

    /** @brief Feeds one input to the target's reader and checks the invariants (defined by each target). */
    Outcome one_input(const std::uint8_t* data, std::size_t size);

    /** @brief The target's name, as in tests/fuzz/corpus/<name> (defined by each target). */
    extern const char* const target_name;

    /** @brief Reports a broken invariant and aborts: a finding for libFuzzer, a failure for the replay. */
    [[noreturn]] inline void invariant_broken(const char* condition, const char* what, const char* file, int line)
    {
        std::fprintf(stderr, "%s:%d: fuzz invariant broken: %s\n  (%s)\n", file, line, what, condition);
        std::fflush(stderr);
        std::abort();
    }
}

/** @brief Checks an invariant of the reader's behaviour; @p what says it in words. */
#define XTRAIN_FUZZ_CHECK(condition, what)                                                               \
    do                                                                                                   \
    {                                                                                                    \
        if (!(condition))                                                                                \
        {                                                                                                \
            ::xtrain::fuzz::invariant_broken(#condition, what, __FILE__, __LINE__);                      \
        }                                                                                                \
    } while (false)

#endif
