// libFuzzer's entry point for a fuzz target (built with -fsanitize=fuzzer by tests/fuzz/CMakeLists.txt).
#include <cstddef>
#include <cstdint>

#include "fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    xtrain::fuzz::one_input(data, size);
    return 0;
}
