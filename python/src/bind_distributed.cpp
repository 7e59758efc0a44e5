// Scenario sharding over MPI processes: a script started with `mpirun -np N python3 script.py`
// solves one batch on N ranks (dynamic chunks, gathered to rank 0, bitwise equal to one process).
#include <algorithm>
#include <thread>

#include "bindings.hpp"
#include "gridbatch/distributed.hpp"
#include "solvers.hpp"

namespace gridbatch::python {

namespace {

// An mpi4py communicator as a gridbatch one (mpi4py is imported only when one is passed).
std::unique_ptr<Communicator> from_mpi4py(const py::object& comm) {
    const py::module_ mpi = py::module_::import("mpi4py.MPI");
    if (!py::isinstance(comm, mpi.attr("Comm")))
        throw py::type_error("comm must be a gridbatch.Communicator or an mpi4py.MPI.Comm (got " +
                             py::repr(py::type::of(comm)).cast<std::string>() + ")");
    return mpi_communicator(mpi.attr("_handleof")(comm).cast<std::intptr_t>());
}

bool is_mpi4py(const py::object& comm) {
    const py::object module = py::type::of(comm).attr("__module__");
    return py::str(module).cast<std::string>().rfind("mpi4py", 0) == 0;
}

}  // namespace

Index core_count() { return std::max(1U, std::thread::hardware_concurrency()); }

Index scenario_chunk(Index n_scenarios) {
    return std::max<Index>(4 * core_count(), (n_scenarios + 31) / 32);
}

ChunkHook check_signals_hook() {
    return [](Index, Index) {
        const py::gil_scoped_acquire gil;
        if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    };
}

CommArg::CommArg(const py::object& comm) {
    if (comm.is_none()) {
        owned_ = local_communicator(check_signals_hook());
        comm_ = owned_.get();
    } else if (py::isinstance<Communicator>(comm)) {
        comm_ = &comm.cast<Communicator&>();
    } else if (is_mpi4py(comm)) {
        owned_ = from_mpi4py(comm);
        comm_ = owned_.get();
    } else {
        throw py::type_error(
            "comm must be None, a gridbatch.Communicator or an mpi4py.MPI.Comm "
            "(got " +
            py::repr(py::type::of(comm)).cast<std::string>() + ")");
    }
}

void bind_distributed(py::module_& m) {
    py::class_<Communicator>(m, "Communicator",
                             "The processes sharing a batch (local_communicator() or "
                             "mpi_communicator()).")
        .def_property_readonly("rank", &Communicator::rank, "This process's rank.")
        .def_property_readonly("size", &Communicator::size, "Number of processes.")
        .def_property_readonly("local_rank", &Communicator::local_rank,
                               "Rank among the processes of this machine (picks the GPU).");
    m.def(
        "local_communicator", [] { return local_communicator(); }, "A one-process communicator.");
    m.def(
        "mpi_communicator",
        [](const py::object& comm) {
            return comm.is_none() ? mpi_communicator() : from_mpi4py(comm);
        },
        py::arg("comm") = py::none(),
        "MPI_COMM_WORLD (MPI starts on first use), or the given mpi4py communicator (which must "
        "outlive the result). BackendUnavailableError when gridbatch was built without MPI.");
    m.def("mpi_built", &mpi_built, "Whether gridbatch was built with MPI.");
    m.def("device_for", &device_for, py::arg("comm"),
          "The CUDA device this rank should use: comm.local_rank modulo the devices of this "
          "machine (0 without devices). Pass it as device= to the solvers a rank builds.");
    m.def("launcher_rank", &launcher_rank,
          "This process's rank as mpirun/Slurm give it, without starting MPI (0 otherwise).");
    m.def("launched_by_mpi", &launched_by_mpi,
          "Whether this process was started by mpirun/mpiexec (or Slurm).");
    m.def(
        "solve_sharded",
        [](DcSolver& solver, const py::object& pd, const py::object& comm, Index chunk) {
            const Network& net = solver.pf.network();
            const ScenarioInput in(pd, "pd", net.n_bus(), "bus");
            const CommArg c(comm);
            py::gil_scoped_release nogil;
            const std::lock_guard<std::mutex> lock(solver.mutex);
            return solve_sharded(solver.pf, in.view(), *c, chunk);
        },
        py::arg("power_flow"), py::arg("pd"), py::arg("comm"), py::arg("chunk") = 256,
        "DC power flow of pd (S, n_bus) sharded over `comm`'s ranks (a Communicator or an "
        "mpi4py communicator); every rank calls it with the same arguments. Rank 0 gets the whole "
        "result; other ranks' results hold only their "
        "own chunks.");
    m.def(
        "solve_sharded",
        [](AcSolver& solver, const py::object& pd, const py::object& qd, const py::object& comm,
           Index chunk, const py::object& pg, const py::object& vg, const py::object& vm0,
           const py::object& va0, const py::object& outage) {
            if (pd.is_none() || qd.is_none())
                throw Error(ErrorKind::invalid_input, "solve_sharded: pd and qd are required");
            const AcInputs in(solver.pf.network(), pd, qd, pg, vg, vm0, va0, outage);
            const AcBatch batch = in.batch();
            const CommArg c(comm);
            py::gil_scoped_release nogil;
            const std::lock_guard<std::mutex> lock(solver.mutex);
            return solve_sharded(solver.pf, batch, *c, chunk);
        },
        py::arg("power_flow"), py::arg("pd"), py::arg("qd"), py::arg("comm"), py::arg("chunk") = 64,
        py::kw_only(), py::arg("pg") = py::none(), py::arg("vg") = py::none(),
        py::arg("vm0") = py::none(), py::arg("va0") = py::none(), py::arg("outage") = py::none(),
        "AC power flow of pd, qd (S, n_bus) sharded over `comm`'s ranks, as for DC; pg, vg, vm0, "
        "va0 and outage as AcPowerFlow.solve takes them.");
}

}  // namespace gridbatch::python
