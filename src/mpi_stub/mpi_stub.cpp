// Built only when gridbatch has no MPI: asking for MPI says so.
#include "gridbatch/distributed.hpp"
#include "gridbatch/error.hpp"

namespace gridbatch {

bool mpi_built() noexcept { return false; }

std::unique_ptr<Communicator> mpi_communicator() {
    throw Error(ErrorKind::backend_unavailable,
                "MPI requested, but this gridbatch build has no MPI support (configured with "
                "GRIDBATCH_MPI=OFF, or no MPI was found); install libopenmpi-dev and rebuild, or "
                "run as one process");
}

std::unique_ptr<Communicator> mpi_communicator(std::intptr_t) { return mpi_communicator(); }

}  // namespace gridbatch
