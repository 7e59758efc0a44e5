// Scenario sharding over MPI processes: a script started with `mpirun -np N python3 script.py`
// solves one batch on N ranks (dynamic chunks, gathered to rank 0, bitwise equal to one process).
#include "bindings.hpp"
#include "gridbatch/distributed.hpp"
#include "solvers.hpp"

namespace gridbatch::python {

void bind_distributed(py::module_& m) {
    py::class_<Communicator>(m, "Communicator",
                             "The processes sharing a batch (local_communicator() or "
                             "mpi_communicator()).")
        .def_property_readonly("rank", &Communicator::rank, "This process's rank.")
        .def_property_readonly("size", &Communicator::size, "Number of processes.")
        .def_property_readonly("local_rank", &Communicator::local_rank,
                               "Rank among the processes of this machine (picks the GPU).");
    m.def("local_communicator", &local_communicator, "A one-process communicator.");
    m.def("mpi_communicator", &mpi_communicator,
          "MPI_COMM_WORLD (MPI starts on first use). BackendUnavailableError when gridbatch "
          "was built without MPI.");
    m.def("mpi_built", &mpi_built, "Whether gridbatch was built with MPI.");
    m.def("launched_by_mpi", &launched_by_mpi,
          "Whether this process was started by mpirun/mpiexec (or Slurm).");
    m.def(
        "solve_sharded",
        [](DcSolver& solver, const py::object& pd, Communicator& comm, Index chunk) {
            const Network& net = solver.pf.network();
            const ScenarioInput in(pd, "pd", net.n_bus(), "bus");
            py::gil_scoped_release nogil;
            const std::lock_guard<std::mutex> lock(solver.mutex);
            return solve_sharded(solver.pf, in.view(), comm, chunk);
        },
        py::arg("power_flow"), py::arg("pd"), py::arg("comm"), py::arg("chunk") = 256,
        "DC power flow of pd (S, n_bus) sharded over `comm`'s ranks; every rank calls it with "
        "the same arguments. Rank 0 gets the whole result; other ranks' results hold only their "
        "own chunks.");
    m.def(
        "solve_sharded",
        [](AcSolver& solver, const py::object& pd, const py::object& qd, Communicator& comm,
           Index chunk) {
            const Network& net = solver.pf.network();
            const ScenarioInput pd_in(pd, "pd", net.n_bus(), "bus");
            const ScenarioInput qd_in(qd, "qd", net.n_bus(), "bus");
            const AcBatch batch(pd_in.view(), qd_in.view());
            py::gil_scoped_release nogil;
            const std::lock_guard<std::mutex> lock(solver.mutex);
            return solve_sharded(solver.pf, batch, comm, chunk);
        },
        py::arg("power_flow"), py::arg("pd"), py::arg("qd"), py::arg("comm"), py::arg("chunk") = 64,
        "AC power flow of pd, qd (S, n_bus) sharded over `comm`'s ranks, as for DC.");
}

}  // namespace gridbatch::python
