// Catch2's main, inside MPI_Init and MPI_Finalize: every rank runs every test case, in the same
// order, so their collective calls meet. Only rank 0 reports, unless a check fails elsewhere.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <mpi.h>

int main(int argc, char** argv)
{
    MPI_Init(&argc, &argv);
    const int failed = Catch::Session().run(argc, argv);
    // One verdict for the job: a failure on any rank fails the test.
    int any = failed != 0 ? 1 : 0;
    MPI_Allreduce(MPI_IN_PLACE, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Finalize();
    return any;
}
