// gridbatch._core: the compiled half of the `gridbatch` Python package. The package's
// __init__.py re-exports everything here; see the .pyi stub for the signatures.
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "gridbatch/result.hpp"

namespace gridbatch::python {

namespace {

void bind_backend(py::module_& m) {
    py::enum_<Backend>(m, "Backend",
                       "Where a solver runs. Functions taking `backend=` also accept the strings "
                       "'cpu', 'cuda' and 'auto' (= Backend.automatic: CUDA if usable, else CPU).")
        .value("cpu", Backend::cpu)
        .value("cuda", Backend::cuda)
        .value("automatic", Backend::automatic);

    py::class_<BackendStatus>(m, "BackendStatus", "Whether a backend can run, and if not why.")
        .def_readonly("available", &BackendStatus::available, "True when the backend can run.")
        .def_readonly("reason", &BackendStatus::reason, "Why it cannot run (empty when available).")
        .def("__bool__", [](const BackendStatus& s) { return s.available; })
        .def("__repr__", [](const BackendStatus& s) {
            return s.available ? std::string("BackendStatus(available=True)")
                               : "BackendStatus(available=False, reason=" +
                                     py::repr(py::str(s.reason)).cast<std::string>() + ")";
        });

    m.def(
        "backend_status",
        [](const py::object& backend) { return backend_status(to_backend(backend)); },
        py::arg("backend"),
        "Whether `backend` ('cpu', 'cuda', 'auto' or a Backend) can run here; `reason` says why "
        "not. The CUDA probe runs once, on first use.");
    m.def("available_backends", &available_backends, "The backends that can run here, CPU first.");
    m.def(
        "resolve_backend",
        [](const py::object& backend) { return resolve_backend(to_backend(backend)); },
        py::arg("backend") = "auto",
        "The backend a solver would use for `backend`: 'auto' becomes cuda if usable, else cpu. "
        "Raises BackendUnavailableError, with the reason, for an explicit backend that cannot "
        "run.");

    // For the zero-copy tests: where the converter every solver uses puts an input's data.
    m.def(
        "_input_address",
        [](const py::object& value, Index rows) {
            const ScenarioInput input(value, "value", rows, "column");
            return py::make_tuple(reinterpret_cast<std::uintptr_t>(input.data()), input.copied(),
                                  input.scenarios());
        },
        py::arg("value"), py::arg("rows"),
        "(address, copied, S) of the column-major rows x S matrix C++ would read for `value`.");
    m.def(
        "build_info",
        [] {
            const BuildInfo info = build_info();
            py::dict d;
            d["version"] = info.version;
            d["cuda_built"] = info.cuda_built;
            d["cuda_architectures"] = info.cuda_architectures;
            d["cuda_device"] = info.cuda_device;
            return d;
        },
        "How this gridbatch was built, as a dict: version, cuda_built, cuda_architectures, "
        "cuda_device (the name of device 0, or why there is none).");
}

void bind_status(py::module_& m) {
    py::enum_<Status>(m, "Status",
                      "Outcome of one scenario. Results hold these as an int8 array "
                      "(`result.status`): compare with the member's value "
                      "(`result.status == Status.converged.value`) or use `result.converged`.")
        .value("converged", Status::converged, "Converged (optimal, for dispatch).")
        .value("max_iterations", Status::max_iterations,
               "Iteration limit reached without meeting the tolerance.")
        .value("diverged", Status::diverged, "The iterate blew up.")
        .value("singular", Status::singular, "A linear system could not be factorised.")
        .value("infeasible", Status::infeasible,
               "Dispatch: the limits cannot be met. AC with Q limits: no generator is left to "
               "hold a voltage, or one of several reference buses must switch.")
        .value("not_solved", Status::not_solved, "Not attempted.")
        .value("islanded", Status::islanded,
               "AC with a distributed slack: the scenario's branch outage leaves buses without a "
               "reference bus (not solved; its results are NaN). With a single slack such "
               "buses are de-energised and the rest solved.")
        .value("relaxation_gap", Status::relaxation_gap,
               "smooth_dispatch: the QP charged and discharged at once and the physical dispatch "
               "made of it breaks a limit (limit_violation); not an optimum of the model.");
}

}  // namespace

void bind_module(py::module_& m) {
    m.doc() = "gridbatch compiled core: batched power-system solvers on CPU and CUDA.";
    m.attr("__version__") = build_info().version;
    bind_errors(m);
    bind_backend(m);
    bind_status(m);
    bind_network(m);
    bind_power_flow(m);
    bind_sensitivities(m);
    bind_ac_power_flow(m);
    bind_dispatch(m);
    bind_study(m);
    bind_smooth_dispatch(m);
    bind_distributed(m);
}

}  // namespace gridbatch::python

PYBIND11_MODULE(_core, m) { gridbatch::python::bind_module(m); }
