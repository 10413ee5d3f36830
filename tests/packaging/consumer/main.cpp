// A program that uses xtrain as another project would: only <xtrain/xtrain.hpp>.
// It builds a parameter buffer, seeds a random engine and checks a few results, then prints
// "xtrain consumer: ok"; the packaging tests look for that line.
#include <xtrain/xtrain.hpp>

#include <cstdio>

int main()
{
    xtrain::ParamLayout layout;
    layout.add("w", {3, 2});
    layout.add("b", {2});
    xtrain::ParamBuffer<float> params(layout, 1.0f);
    xtrain::Rng rng = xtrain::derive_rng(42, xtrain::RngStream::init);
    for (float& v : params.values())
    {
        v = rng.uniform_float();
    }
    const bool ok = params.size() == 8 && params.view<2>(0).shape()[0] == 3 && params.values()(0) >= 0.0f;
    std::printf("xtrain %s consumer: %s\n", xtrain::version_string, ok ? "" : "FAILED");
    if (ok)
    {
        std::printf("xtrain consumer: ok\n");
    }
    return ok ? 0 : 1;
}
