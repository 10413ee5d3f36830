// Replays a corpus through a fuzz target without libFuzzer, as an ordinary test:
//   fuzz_<target>_replay PATH...      (files, or folders whose files are read in name order)
// Every input goes through the target's invariant checks (a broken one aborts). A file named
// accept-* must be accepted and one named refuse-* refused, so the corpus also pins down which
// inputs are valid; the run fails if it read no input, or if none was accepted or none refused
// (a corpus that never reaches one of the two paths checks too little).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "fuzz_target.hpp"

namespace fs = std::filesystem;

namespace
{
    std::vector<std::uint8_t> read_bytes(const fs::path& p)
    {
        std::ifstream in(p, std::ios::binary);
        return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    }

    bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }
}

int main(int argc, char** argv)
{
    const char* target = xtrain::fuzz::target_name;
    if (argc < 2)
    {
        std::fprintf(stderr, "usage: %s CORPUS_FOLDER_OR_FILE...\n", argv[0]);
        return 2;
    }
    std::vector<fs::path> inputs;
    for (int i = 1; i < argc; ++i)
    {
        const fs::path p = argv[i];
        std::error_code ec;
        if (fs::is_directory(p, ec))
        {
            std::vector<fs::path> files;
            for (const auto& e : fs::directory_iterator(p))
            {
                if (e.is_regular_file())
                {
                    files.push_back(e.path());
                }
            }
            std::sort(files.begin(), files.end());
            inputs.insert(inputs.end(), files.begin(), files.end());
        }
        else if (fs::is_regular_file(p, ec))
        {
            inputs.push_back(p);
        }
        else
        {
            std::fprintf(stderr, "%s replay: %s is neither a file nor a folder\n", target, p.c_str());
            return 1;
        }
    }
    std::size_t accepted = 0;
    std::size_t refused = 0;
    std::size_t wrong = 0;
    for (const fs::path& p : inputs)
    {
        const std::vector<std::uint8_t> bytes = read_bytes(p);
        // A copy of exactly the input's size, so that AddressSanitizer sees any read past its end.
        const auto data = std::make_unique<std::uint8_t[]>(bytes.size());
        std::copy(bytes.begin(), bytes.end(), data.get());
        const xtrain::fuzz::Outcome o = xtrain::fuzz::one_input(data.get(), bytes.size());
        const bool ok = o == xtrain::fuzz::Outcome::accepted;
        (ok ? accepted : refused) += 1;
        const std::string name = p.filename().string();
        if ((starts_with(name, "accept-") && !ok) || (starts_with(name, "refuse-") && ok))
        {
            std::fprintf(stderr, "%s replay: %s was %s, but its name says it must be %s\n", target, p.c_str(),
                         ok ? "accepted" : "refused", ok ? "refused" : "accepted");
            ++wrong;
        }
    }
    std::printf("%s replay: %zu inputs, %zu accepted, %zu refused, %zu not as their names say\n", target,
                inputs.size(), accepted, refused, wrong);
    if (inputs.empty() || accepted == 0 || refused == 0)
    {
        std::fprintf(stderr, "%s replay: the corpus must hold inputs the reader accepts and inputs it refuses\n",
                     target);
        return 1;
    }
    return wrong == 0 ? 0 : 1;
}
