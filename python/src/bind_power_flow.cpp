// DC power flow: DcPowerFlow (factorise once, solve many batches) and dc_power_flow (one shot).
// Inputs are scenario-major (S, n) arrays read in place when C-contiguous float64; outputs are
// (S, n) views of the result's own buffers. The GIL is released while C++ works.
#include <pybind11/stl.h>

#include <algorithm>

#include "bindings.hpp"
#include "gridbatch/dc_power_flow.hpp"
#include "solvers.hpp"

namespace gridbatch::python {

using namespace pybind11::literals;

namespace {

DcOptions dc_options(const Network& net, const py::object& backend, int threads, int device,
                     const py::object& slack, const py::object& participation) {
    DcOptions o;
    o.backend = to_backend(backend);
    o.threads = threads;
    o.device = device;
    o.slack = enum_arg<SlackMode>(
        slack, "slack", {{"single", SlackMode::single}, {"distributed", SlackMode::distributed}});
    if (!participation.is_none())
        o.participation = to_vector(participation, "participation", net.n_gen(), "generator");
    return o;
}

// pd (and pg) from Python; pd None with pg given means the case's loads in every scenario.
DcPowerFlowResult solve_dc(DcSolver& solver, const py::object& pd, const py::object& pg) {
    const Network& net = solver.pf.network();
    std::optional<ScenarioInput> pd_in = optional_input(pd, "pd", net.n_bus(), "bus");
    const std::optional<ScenarioInput> pg_in = optional_input(pg, "pg", net.n_gen(), "generator");
    ScenarioCount count;
    count.add(pd_in, "pd");
    count.add(pg_in, "pg");
    if (!pd_in && pg_in) {
        const Index scenarios = pg_in->scenarios();
        py::array_t<Real> case_pd(
            {static_cast<py::ssize_t>(scenarios), static_cast<py::ssize_t>(net.n_bus())});
        Eigen::Map<Matrix>(case_pd.mutable_data(), net.n_bus(), scenarios) =
            net.buses().pd.replicate(1, scenarios);
        pd_in.emplace(case_pd, "pd", net.n_bus(), "bus");
    }
    if (pd_in && !pg_in) {  // in chunks, so that Ctrl-C interrupts a long batch
        const CommArg here{py::none()};
        const Index chunk = std::max<Index>(256, (pd_in->scenarios() + 63) / 64);
        py::gil_scoped_release nogil;
        const std::lock_guard<std::mutex> lock(solver.mutex);
        return solve_sharded(solver.pf, pd_in->view(), *here, chunk);
    }
    py::gil_scoped_release nogil;
    const std::lock_guard<std::mutex> lock(solver.mutex);
    if (!pd_in) return solver.pf.solve();
    return solver.pf.solve(pd_in->view(), pg_in->view());
}

constexpr const char* kSolveDoc =
    "Solves a batch. pd: bus active loads (S, n_bus) MW, or (n_bus,) for one scenario; pg: "
    "generator schedules (S, n_gen) MW (default: the case's Pg). Both None: the case itself. "
    "C-contiguous float64 arrays are read in place; anything else is converted once. The GIL "
    "is released during the solve; a pd-only batch runs in chunks so Ctrl-C interrupts it.";

}  // namespace

void bind_power_flow(py::module_& m) {
    py::enum_<SlackMode>(m, "SlackMode",
                         "Who balances a DC power flow: 'single' (MATPOWER's: the first "
                         "generator at the reference bus) or 'distributed' (participation "
                         "factors).")
        .value("single", SlackMode::single)
        .value("distributed", SlackMode::distributed);

    py::class_<DcPowerFlowResult> result(
        m, "DcPowerFlowResult",
        "Result of a batched DC power flow. Arrays are scenario-major (S, n) views of the "
        "result's own memory (no copy); they stay valid as long as any of them or the result "
        "is alive.");
    result
        .def_property_readonly("va", matrix_of(&DcPowerFlowResult::va),
                               "(S, n_bus) bus voltage angles, degrees.")
        .def_property_readonly("pf", matrix_of(&DcPowerFlowResult::pf),
                               "(S, n_branch) from-end active flows, MW (to-end flow is -pf).")
        .def_property_readonly(
            "pg", matrix_of(&DcPowerFlowResult::pg),
            "(S, n_gen) generator outputs, MW: schedule plus slack share (0 when out of "
            "service).")
        .def_property_readonly("slack_mw", vector_of(&DcPowerFlowResult::slack_mw),
                               "(S,) total balancing generation added to the schedule, MW.")
        .def("__repr__", [](const DcPowerFlowResult& r) {
            return "<gridbatch.DcPowerFlowResult: " + std::to_string(r.size()) + " scenarios, " +
                   std::to_string(r.report.n_converged()) + " converged, backend " +
                   to_string(r.backend) + ">";
        });
    add_report(result);

    py::class_<DcSolver>(
        m, "DcPowerFlow",
        "Batched DC power flow with MATPOWER's rundcpf conventions. Building it validates the "
        "network and factorises B once; solve() then reuses the factorisation for any number "
        "of scenarios.")
        .def(py::init([](const Network& net, const py::object& backend, int threads, int device,
                         const py::object& slack, const py::object& participation) {
                 DcOptions o = dc_options(net, backend, threads, device, slack, participation);
                 py::gil_scoped_release nogil;
                 return std::make_unique<DcSolver>(net, std::move(o));
             }),
             py::arg("network"), py::kw_only(), py::arg("backend") = "auto", py::arg("threads") = 0,
             py::arg("device") = 0, py::arg("slack") = "single",
             py::arg("participation") = py::none(),
             "network: the Network. backend: 'cpu', 'cuda' or 'auto'. threads: CPU threads (0 = "
             "all cores). device: CUDA device. slack: 'single' or 'distributed'. participation: "
             "(n_gen,) factors for the distributed slack (default: Pmax of active units).")
        .def("solve", &solve_dc, py::arg("pd") = py::none(), py::arg("pg") = py::none(), kSolveDoc)
        .def_property_readonly(
            "backend", [](const DcSolver& s) { return s.pf.backend(); },
            "The backend this solver runs on (cpu or cuda).")
        .def_property_readonly(
            "network", [](const DcSolver& s) { return s.pf.network(); },
            "A copy of the network this solver was built for.")
        .def("__repr__", [](const DcSolver& s) {
            return "<gridbatch.DcPowerFlow: " + std::to_string(s.pf.network().n_bus()) +
                   " buses, backend " + to_string(s.pf.backend()) + ", slack " +
                   to_string(s.pf.options().slack) + ">";
        });

    m.def(
        "dc_power_flow",
        [](const Network& net, const py::object& pd, const py::object& pg,
           const py::object& backend, int threads, int device, const py::object& slack,
           const py::object& participation) {
            DcOptions o = dc_options(net, backend, threads, device, slack, participation);
            std::unique_ptr<DcSolver> solver;
            {
                py::gil_scoped_release nogil;
                solver = std::make_unique<DcSolver>(net, std::move(o));
            }
            return solve_dc(*solver, pd, pg);
        },
        py::arg("network"), py::arg("pd") = py::none(), py::arg("pg") = py::none(), py::kw_only(),
        py::arg("backend") = "auto", py::arg("threads") = 0, py::arg("device") = 0,
        py::arg("slack") = "single", py::arg("participation") = py::none(),
        "One-shot DC power flow: DcPowerFlow(network, **options).solve(pd, pg).");
}

}  // namespace gridbatch::python
