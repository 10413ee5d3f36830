// For targets whose format ends in a CRC-32 of everything before it: an input can ask for the
// checksum to be made right, so that the fuzzer reaches the parser behind the integrity check.
#ifndef XTRAIN_TESTS_FUZZ_RESEAL_HPP
#define XTRAIN_TESTS_FUZZ_RESEAL_HPP

#include <cstddef>
#include <cstdint>
#include <string>

#include "xtrain/core/serialize.hpp"

namespace xtrain::fuzz
{
    /** @brief Rewrites the last 4 bytes (little-endian) as the CRC-32 of the bytes before them. */
    inline void reseal(std::string& bytes)
    {
        if (bytes.size() < 4)
        {
            return;
        }
        const std::uint32_t crc = crc32_update(0, bytes.data(), bytes.size() - 4);
        for (std::size_t k = 0; k < 4; ++k)
        {
            bytes[bytes.size() - 4 + k] = static_cast<char>((crc >> (8 * k)) & 0xFFU);
        }
    }
}

#endif
