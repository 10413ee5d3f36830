/**
 * @file random.hpp
 * @brief xtrain's own random engine, so that a seed means the same numbers everywhere.
 *
 * `std::shuffle` and the `<random>` distributions are implemented differently by each standard
 * library, so a run seeded with 42 would see other data orders and other initial weights with
 * libc++ than with libstdc++. xtrain therefore uses only the generator and the algorithms written
 * here:
 * - the engine is xoshiro256** (Blackman and Vigna, 2018), 64-bit output, period 2^256 - 1;
 * - its 256-bit state is filled by SplitMix64 from a 64-bit seed;
 * - integers in [0, n) come from Lemire's multiply-shift method with rejection (unbiased);
 * - doubles in [0, 1) take the top 53 bits; floats the top 24;
 * - normal deviates come from the Box-Muller transform (both values of a pair are used);
 * - shuffling is Fisher-Yates, drawing j uniformly in [0, i] for i = n-1 down to 1.
 *
 * Independent streams (shuffling, initialisation, dropout, ...) are derived from one run seed with
 * `derive_rng(seed, RngStream::..., index)`, which hashes the three numbers through SplitMix64.
 * Integer and uniform outputs are bit-identical on every platform; normal deviates use std::log,
 * std::sqrt and std::cos and are identical wherever those are correctly rounded (glibc is).
 */
#ifndef XTRAIN_CORE_RANDOM_HPP
#define XTRAIN_CORE_RANDOM_HPP

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <limits>
#include <utility>

namespace xtrain
{
    namespace detail
    {
        // 128-bit products for unbiased bounded integers; __extension__ keeps -Wpedantic quiet.
        __extension__ using uint128 = unsigned __int128;
    }

    /** @brief One step of SplitMix64: advances @p state and returns the next output. */
    constexpr std::uint64_t splitmix64(std::uint64_t& state) noexcept
    {
        std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }

    /**
     * @brief The xoshiro256** engine with the sampling methods xtrain needs.
     *
     * Meets UniformRandomBitGenerator, so it can also feed standard algorithms, but xtrain's own code
     * uses only the members below, whose results do not depend on the standard library.
     */
    class Rng
    {
    public:
        /** @brief Output type of the engine. */
        using result_type = std::uint64_t;
        /** @brief The full state: four 64-bit words. */
        using state_type = std::array<std::uint64_t, 4>;

        /** @brief Seeds the engine from one 64-bit number (through SplitMix64). */
        explicit Rng(std::uint64_t seed = 0) noexcept { reseed(seed); }

        /** @brief Restarts the engine from @p seed, as if newly constructed. */
        void reseed(std::uint64_t seed) noexcept
        {
            std::uint64_t sm = seed;
            for (auto& w : m_s)
            {
                w = splitmix64(sm);
            }
            m_has_spare = false;
            m_spare = 0.0;
        }

        /** @brief Smallest value operator() returns. */
        static constexpr result_type min() noexcept { return 0; }
        /** @brief Largest value operator() returns. */
        static constexpr result_type max() noexcept { return std::numeric_limits<result_type>::max(); }

        /** @brief The next 64 random bits. */
        result_type operator()() noexcept { return next_u64(); }

        /** @brief The next 64 random bits. */
        std::uint64_t next_u64() noexcept
        {
            const std::uint64_t result = rotl(m_s[1] * 5, 7) * 9;
            const std::uint64_t t = m_s[1] << 17;
            m_s[2] ^= m_s[0];
            m_s[3] ^= m_s[1];
            m_s[1] ^= m_s[2];
            m_s[0] ^= m_s[3];
            m_s[2] ^= t;
            m_s[3] = rotl(m_s[3], 45);
            return result;
        }

        /** @brief A uniform integer in [0, n); returns 0 when n is 0. Unbiased (Lemire 2019). */
        std::uint64_t uniform_index(std::uint64_t n) noexcept
        {
            if (n == 0)
            {
                return 0;
            }
            detail::uint128 m = static_cast<detail::uint128>(next_u64()) * n;
            auto low = static_cast<std::uint64_t>(m);
            if (low < n)
            {
                const std::uint64_t threshold = (0 - n) % n;
                while (low < threshold)
                {
                    m = static_cast<detail::uint128>(next_u64()) * n;
                    low = static_cast<std::uint64_t>(m);
                }
            }
            return static_cast<std::uint64_t>(m >> 64);
        }

        /** @brief A uniform double in [0, 1) with 53 random bits. */
        double uniform() noexcept { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

        /** @brief A uniform double in [a, b). */
        double uniform(double a, double b) noexcept { return a + (b - a) * uniform(); }

        /** @brief A uniform float in [0, 1) with 24 random bits. */
        float uniform_float() noexcept { return static_cast<float>(next_u64() >> 40) * 0x1.0p-24f; }

        /** @brief A standard normal deviate (Box-Muller; the second value of each pair is kept). */
        double normal() noexcept
        {
            if (m_has_spare)
            {
                m_has_spare = false;
                return m_spare;
            }
            // 1 - uniform() lies in (0, 1], so the log is finite.
            const double u1 = 1.0 - uniform();
            const double u2 = uniform();
            const double r = std::sqrt(-2.0 * std::log(u1));
            const double theta = 6.283185307179586476925 * u2;
            m_spare = r * std::sin(theta);
            m_has_spare = true;
            return r * std::cos(theta);
        }

        /** @brief A normal deviate with the given mean and standard deviation. */
        double normal(double mean, double stddev) noexcept { return mean + stddev * normal(); }

        /** @brief True with probability @p p. */
        bool bernoulli(double p) noexcept { return uniform() < p; }

        /** @brief Fisher-Yates shuffle of [first, last) (random-access iterators). */
        template <class It>
        void shuffle(It first, It last) noexcept(noexcept(std::iter_swap(first, last)))
        {
            const auto n = static_cast<std::uint64_t>(last - first);
            for (std::uint64_t i = n; i > 1; --i)
            {
                const std::uint64_t j = uniform_index(i);
                std::iter_swap(first + static_cast<std::ptrdiff_t>(i - 1),
                               first + static_cast<std::ptrdiff_t>(j));
            }
        }

        /** @brief The engine state (for checkpoints). */
        const state_type& state() const noexcept { return m_s; }
        /** @brief Whether a Box-Muller value is waiting (part of the state, for checkpoints). */
        bool has_spare_normal() const noexcept { return m_has_spare; }
        /** @brief The waiting Box-Muller value, meaningful when has_spare_normal(). */
        double spare_normal() const noexcept { return m_spare; }

        /** @brief Restores a state saved with state(), has_spare_normal() and spare_normal(). */
        void set_state(const state_type& s, bool has_spare = false, double spare = 0.0) noexcept
        {
            m_s = s;
            m_has_spare = has_spare;
            m_spare = spare;
        }

        /** @brief Two engines are equal when they will produce the same sequence. */
        friend bool operator==(const Rng& a, const Rng& b) noexcept
        {
            return a.m_s == b.m_s && a.m_has_spare == b.m_has_spare
                && (!a.m_has_spare || a.m_spare == b.m_spare);
        }
        /** @brief Negation of operator==. */
        friend bool operator!=(const Rng& a, const Rng& b) noexcept { return !(a == b); }

    private:
        static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept
        {
            return (x << k) | (x >> (64 - k));
        }

        state_type m_s{};
        bool m_has_spare = false;
        double m_spare = 0.0;
    };

    /**
     * @brief The purposes that get their own random stream, all derived from one run seed.
     *
     * Adding a stream never changes the numbers of the others. Values from `user` upwards are free
     * for a user's own purposes.
     */
    enum class RngStream : std::uint64_t
    {
        shuffle = 1,  ///< the data order of each epoch (index = epoch)
        init = 2,     ///< parameter initialisation (index = layer or 0)
        dropout = 3,  ///< dropout masks (index = layer)
        split = 4,    ///< train/validation splits
        data = 5,     ///< synthetic data generation
        noise = 6,    ///< gradient-noise measurements and other estimators
        user = 1000   ///< first value free for users
    };

    /**
     * @brief An engine for one purpose of one run: hashes (seed, stream, index) through SplitMix64.
     *
     * `derive_rng(seed, RngStream::shuffle, epoch)` is what makes the data order of an epoch depend
     * on the seed and the epoch only, not on the batch size or on how many numbers were drawn before.
     */
    inline Rng derive_rng(std::uint64_t seed, RngStream stream, std::uint64_t index = 0) noexcept
    {
        std::uint64_t h = seed;
        std::uint64_t a = splitmix64(h);
        h = a ^ (static_cast<std::uint64_t>(stream) * 0xd1342543de82ef95ULL);
        std::uint64_t b = splitmix64(h);
        h = b ^ (index * 0x9e3779b97f4a7c15ULL + 0x2545f4914f6cdd1dULL);
        return Rng(splitmix64(h));
    }
}

#endif
