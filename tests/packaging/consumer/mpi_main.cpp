// A project's data-parallel program: <xtrain/distributed/mpi.hpp> through the xtrain::mpi target.
// The packaging tests build it (where xtrain::mpi exists); starting MPI is left to the real tests.
#include <xtrain/distributed/mpi.hpp>
#include <xtrain/xtrain.hpp>

#include <cstdio>

int main(int argc, char** argv)
{
    xtrain::mpi::Environment environment(argc, argv);
    const xtrain::mpi::Communicator comm;
    std::printf("xtrain mpi consumer: rank %zu of %zu\n", comm.rank(), comm.size());
    return 0;
}
