// Must NOT compile: a policy without update() gets one static_assert naming the missing member.
#include "xtrain/optim.hpp"

struct NoUpdate
{
    static constexpr const char* name = "NoUpdate";
    double lr = 0.1;
    void validate() const {}
    template <class T>
    struct State
    {
        template <class F>
        void visit(F&&)
        {
        }
    };
    template <class T>
    void init(State<T>&, std::size_t) const
    {
    }
};

int main()
{
    xtrain::Optimizer<NoUpdate> opt;
    xt::xtensor<float, 1> p = {1.0f};
    opt.step(p, p);
    return 0;
}
