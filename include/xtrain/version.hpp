/**
 * @file version.hpp
 * @brief The one place xtrain's version lives; CMake reads it from here.
 */
#ifndef XTRAIN_VERSION_HPP
#define XTRAIN_VERSION_HPP

/** @brief Major version: incompatible changes. */
#define XTRAIN_VERSION_MAJOR 0
/** @brief Minor version: while major is 0, also incompatible changes. */
#define XTRAIN_VERSION_MINOR 1
/** @brief Patch version: fixes only. */
#define XTRAIN_VERSION_PATCH 0

namespace xtrain
{
    /** @brief The library version as "major.minor.patch". */
    inline constexpr const char* version_string = "0.1.0";
    /** @brief The library version as one number: major * 10000 + minor * 100 + patch. */
    inline constexpr int version_number =
        XTRAIN_VERSION_MAJOR * 10000 + XTRAIN_VERSION_MINOR * 100 + XTRAIN_VERSION_PATCH;
}

#endif
