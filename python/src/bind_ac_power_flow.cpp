// AC power flow: AcPowerFlow (prepare once, solve many batches) and ac_power_flow (one shot).
//
// Ctrl-C. A large batch is handed to C++ in chunks of scenarios (about kChunkSeconds of work
// each, without the GIL: a time-based chunk, where the other calls' chunks count scenarios) and
// Python's signal handlers run between chunks: KeyboardInterrupt arrives within one chunk.
// Scenarios are independent, so a chunked solve gives the same bits as one call; the chunks'
// outputs are copied once into the full result (cheap next to the Newton iterations that produced
// them).
#include <pybind11/stl.h>

#include <chrono>

#include "bindings.hpp"
#include "core/ac_result_parts.hpp"
#include "core/memory.hpp"
#include "gridbatch/ac_contingencies.hpp"
#include "gridbatch/ac_power_flow.hpp"
#include "solvers.hpp"

namespace gridbatch::python {

namespace {

constexpr double kChunkSeconds = 0.25;
constexpr Index kFirstChunk = 64;

AcOptions ac_options(const Network& net, const py::object& backend, int threads, int device,
                     const py::object& algorithm, Real tolerance, int max_iterations,
                     const py::object& start, bool enforce_q_limits, const py::object& slack,
                     const py::object& participation) {
    AcOptions o;
    o.backend = to_backend(backend);
    o.threads = threads;
    o.device = device;
    o.algorithm = enum_arg<AcAlgorithm>(algorithm, "algorithm",
                                        {{"newton", AcAlgorithm::newton},
                                         {"nr", AcAlgorithm::newton},
                                         {"fast_decoupled_xb", AcAlgorithm::fast_decoupled_xb},
                                         {"fdxb", AcAlgorithm::fast_decoupled_xb},
                                         {"fast_decoupled_bx", AcAlgorithm::fast_decoupled_bx},
                                         {"fdbx", AcAlgorithm::fast_decoupled_bx}});
    o.tolerance = tolerance;
    o.max_iterations = max_iterations;
    o.start = enum_arg<StartMode>(start, "start",
                                  {{"flat", StartMode::flat},
                                   {"from_case", StartMode::from_case},
                                   {"from_dc", StartMode::from_dc},
                                   {"warm", StartMode::warm},
                                   {"previous_step", StartMode::previous_step}});
    o.enforce_q_limits = enforce_q_limits;
    o.slack = enum_arg<SlackMode>(
        slack, "slack", {{"single", SlackMode::single}, {"distributed", SlackMode::distributed}});
    if (!participation.is_none())
        o.participation = to_vector(participation, "participation", net.n_gen(), "generator");
    return o;
}

// A column of the case's table repeated for `scenarios` scenarios, as the (S, n) array that
// stands in for an argument the caller left out.
py::array_t<Real> case_columns(const Vector& column, Index scenarios) {
    py::array_t<Real> out(
        {static_cast<py::ssize_t>(scenarios), static_cast<py::ssize_t>(column.size())});
    Eigen::Map<Matrix>(out.mutable_data(), column.size(), scenarios) =
        column.replicate(1, scenarios);
    return out;
}

// Whether the batch is one the chunks may split: every array has S columns and finite values,
// every outage is an in-service branch. Anything else goes to C++ in one call, so its error
// names the scenario by its global index.
bool splittable(const Network& net, const AcBatch& b) {
    const Index s = b.size();
    bool ok = b.qd.cols() == s && b.pd.allFinite() && b.qd.allFinite();
    for (const auto* m : {&b.pg, &b.vg, &b.vm0, &b.va0_deg})
        if (*m) ok = ok && (*m)->cols() == s && (*m)->allFinite();
    if (b.outage) {
        ok = ok && b.outage->size() == s;
        for (Index j = 0; ok && j < b.outage->size(); ++j) {
            const Index k = (*b.outage)[j];
            ok = k == -1 || (k >= 0 && k < net.n_branch() && net.branch_active(k));
        }
    }
    return ok;
}

AcPowerFlowResult solve_chunked(const AcPowerFlow& pf, const AcBatch& batch, Index chunk) {
    const Index total = batch.size();
    if (total <= kFirstChunk || !splittable(pf.network(), batch) || (chunk > 0 && chunk >= total)) {
        py::gil_scoped_release nogil;
        return pf.solve(batch);
    }
    // The whole batch's memory, as one call checks it (a chunk's check named the chunk).
    detail::require_host_memory(
        static_cast<double>(total) * detail::solve_bytes_per_scenario(pf.network()),
        "AC power flow of " + std::to_string(total) + " scenarios");
    // Chunks of whole time-series blocks: a time series (start 'previous_step') gets the results
    // of one call.
    AcPowerFlowResult out;
    Index next = whole_time_series_blocks(chunk > 0 ? chunk : kFirstChunk);
    for (Index first = 0; first < total;) {
        const Index count = std::min(next, total - first);
        const auto start = std::chrono::steady_clock::now();
        AcPowerFlowResult part;
        {
            py::gil_scoped_release nogil;
            part = pf.solve(detail::slice(batch, first, count));
        }
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (PyErr_CheckSignals() != 0) throw py::error_already_set();
        if (first == 0) out = detail::sized_result(pf.network(), total, part.backend);
        detail::place(std::move(part), out, first);
        first += count;
        if (chunk <= 0)  // aim at kChunkSeconds per chunk
            next = whole_time_series_blocks(std::max<Index>(
                kFirstChunk, static_cast<Index>(static_cast<double>(count) * kChunkSeconds /
                                                std::max(seconds, 1e-6))));
    }
    return out;
}

AcPowerFlowResult solve_ac(AcSolver& solver, const py::object& pd, const py::object& qd,
                           const py::object& pg, const py::object& vg, const py::object& vm0,
                           const py::object& va0, const py::object& outage, Index chunk) {
    if (chunk < 0)
        throw Error(
            ErrorKind::invalid_input,
            "chunk must be >= 0 (scenarios per chunk; 0 = adaptive), got " + std::to_string(chunk));
    const AcInputs in(solver.pf.network(), pd, qd, pg, vg, vm0, va0, outage);
    if (!in.given) {
        py::gil_scoped_release nogil;
        const std::lock_guard<std::mutex> lock(solver.mutex);
        return solver.pf.solve();
    }
    const AcBatch batch = in.batch();
    // Taken without the GIL: the thread holding it may need the GIL to finish.
    std::unique_lock<std::mutex> lock(solver.mutex, std::defer_lock);
    {
        py::gil_scoped_release nogil;
        lock.lock();
    }
    return solve_chunked(solver.pf, batch, chunk);
}

constexpr const char* kOptionsDoc =
    "backend: 'cpu', 'cuda' or 'auto'. threads: CPU threads (0 = all cores). device: the CUDA "
    "device (device_for(comm) under MPI). algorithm: "
    "'newton' ('nr'), 'fast_decoupled_xb' ('fdxb') or 'fast_decoupled_bx' ('fdbx'). tolerance: "
    "max |mismatch| in p.u. (fast-decoupled: |mismatch| / Vm, as MATPOWER's fdpf). max_iterations: "
    "0 = MATPOWER's default (10 Newton, 30 FD). start: "
    "'from_case' (MATPOWER's), 'flat', 'from_dc', 'warm' (needs vm0, va0) or 'previous_step' "
    "(scenarios are the steps of a time series, each warm from the one before, in blocks of 16 "
    "steps). enforce_q_limits: "
    "MATPOWER's pf.enforce_q_lims (a reference bus at its limit hands the reference to the "
    "first PV bus, as runpf; no generator left to hold a voltage, or one of several reference "
    "buses at its limit: status 'infeasible'). slack: "
    "'single' (the reference bus takes the imbalance) or "
    "'distributed' (Newton only; generators share it by participation). participation: (n_gen,) "
    "factors for the distributed slack (default: Pmax of active units), as DcPowerFlow's.";

constexpr const char* kSolveDoc =
    "Solves a batch; every argument is scenario-major and optional (default: the case's "
    "values in every scenario; all None: the case itself, one scenario). pd, qd: (S, n_bus) "
    "MW, MVAr. pg: (S, n_gen) MW. vg: (S, n_gen) voltage setpoints p.u. vm0, va0: (S, n_bus) "
    "warm start (p.u., degrees). outage: (S,) integers, the branch (row of the branch table, "
    "from 0) out of service in each scenario, -1 for none (AC contingencies, Newton); alone, "
    "it gives S scenarios at the case's loads; an outage that cuts buses off from every "
    "reference bus de-energises them (NaN voltages, their branches and generators at 0; with a "
    "distributed slack the scenario is not solved: status islanded). C-contiguous float64 arrays "
    "are read in place; anything else "
    "is converted once. The GIL is released; large batches run in chunks of about 0.25 s "
    "(chunk: scenarios per chunk, rounded up to a multiple of 16; 0 = adaptive) so Ctrl-C "
    "interrupts within one chunk.";

}  // namespace

AcInputs::AcInputs(const Network& net, const py::object& pd_arg, const py::object& qd_arg,
                   const py::object& pg_arg, const py::object& vg_arg, const py::object& vm0_arg,
                   const py::object& va0_arg, const py::object& outage_arg)
    : pd(optional_input(pd_arg, "pd", net.n_bus(), "bus")),
      qd(optional_input(qd_arg, "qd", net.n_bus(), "bus")),
      pg(optional_input(pg_arg, "pg", net.n_gen(), "generator")),
      vg(optional_input(vg_arg, "vg", net.n_gen(), "generator")),
      vm0(optional_input(vm0_arg, "vm0", net.n_bus(), "bus")),
      va0(optional_input(va0_arg, "va0", net.n_bus(), "bus")) {
    if (!outage_arg.is_none()) {
        const py::array shape = py::array::ensure(outage_arg);
        if (!shape || shape.ndim() != 1)
            throw Error(ErrorKind::invalid_input,
                        "outage must be a 1-D array of branch indices (one per scenario, -1 for "
                        "none)");
        outage.emplace(integer_column<IndexVector>(outage_arg, "outage"));
    }
    ScenarioCount count;
    for (const auto& [in, name] : {std::pair{&pd, "pd"},
                                   {&qd, "qd"},
                                   {&pg, "pg"},
                                   {&vg, "vg"},
                                   {&vm0, "vm0"},
                                   {&va0, "va0"}})
        count.add(*in, name);
    if (outage) count.add(outage->size(), "outage", "entries");
    given = count.given();
    scenarios = count.scenarios();
    if (!given) return;
    if (!pd) pd.emplace(case_columns(net.buses().pd, scenarios), "pd", net.n_bus(), "bus");
    if (!qd) qd.emplace(case_columns(net.buses().qd, scenarios), "qd", net.n_bus(), "bus");
}

AcBatch AcInputs::batch() const {
    AcBatch b(pd->view(), qd->view());
    if (pg) b.pg.emplace(pg->view());
    if (vg) b.vg.emplace(vg->view());
    if (vm0) b.vm0.emplace(vm0->view());
    if (va0) b.va0_deg.emplace(va0->view());
    if (outage) b.outage.emplace(*outage);
    return b;
}

void bind_ac_power_flow(py::module_& m) {
    py::enum_<AcAlgorithm>(m, "AcAlgorithm", "AC power-flow algorithm (MATPOWER's pf.alg).")
        .value("newton", AcAlgorithm::newton)
        .value("fast_decoupled_xb", AcAlgorithm::fast_decoupled_xb)
        .value("fast_decoupled_bx", AcAlgorithm::fast_decoupled_bx);
    py::enum_<StartMode>(m, "StartMode", "Where the AC iteration starts.")
        .value("flat", StartMode::flat)
        .value("from_case", StartMode::from_case)
        .value("from_dc", StartMode::from_dc)
        .value("warm", StartMode::warm)
        .value("previous_step", StartMode::previous_step);

    py::class_<AcPowerFlowResult> result(
        m, "AcPowerFlowResult",
        "Result of a batched AC power flow. Arrays are scenario-major (S, n) views of the "
        "result's own memory (no copy).");
    const auto matrix = [&result](const char* name, Matrix AcPowerFlowResult::*member,
                                  const char* doc) {
        result.def_property_readonly(name, matrix_of(member), doc);
    };
    const auto vector = [&result](const char* name, Vector AcPowerFlowResult::*member,
                                  const char* doc) {
        result.def_property_readonly(name, vector_of(member), doc);
    };
    matrix("vm", &AcPowerFlowResult::vm, "(S, n_bus) voltage magnitudes, p.u.");
    matrix("va", &AcPowerFlowResult::va, "(S, n_bus) voltage angles, degrees.");
    matrix("pg", &AcPowerFlowResult::pg, "(S, n_gen) generator active power, MW.");
    matrix("qg", &AcPowerFlowResult::qg, "(S, n_gen) generator reactive power, MVAr.");
    matrix("pf", &AcPowerFlowResult::pf, "(S, n_branch) from-end active flow, MW.");
    matrix("qf", &AcPowerFlowResult::qf, "(S, n_branch) from-end reactive flow, MVAr.");
    matrix("pt", &AcPowerFlowResult::pt, "(S, n_branch) to-end active flow, MW.");
    matrix("qt", &AcPowerFlowResult::qt, "(S, n_branch) to-end reactive flow, MVAr.");
    vector("loss_mw", &AcPowerFlowResult::loss_mw, "(S,) active losses, MW.");
    vector("loss_mvar", &AcPowerFlowResult::loss_mvar, "(S,) reactive losses, MVAr.");
    vector("slack_mw", &AcPowerFlowResult::slack_mw,
           "(S,) total distributed slack, MW (0 without one).");
    result.def_readonly("q_limited_buses", &AcPowerFlowResult::q_limited_buses,
                        "Per scenario, bus numbers switched from PV/REF to PQ by Q-limit "
                        "enforcement, in MATPOWER's order (a list of lists, copied).");
    result.def("__repr__", [](const AcPowerFlowResult& r) {
        return "<gridbatch.AcPowerFlowResult: " + std::to_string(r.report.size()) + " scenarios, " +
               std::to_string(r.report.n_converged()) + " converged, backend " +
               to_string(r.backend) + ">";
    });
    add_report(result);

    py::class_<AcSolver>(m, "AcPowerFlow",
                         "Batched AC power flow (Newton-Raphson or fast-decoupled, MATPOWER's "
                         "conventions). Building it prepares Ybus, the Jacobian pattern and its "
                         "symbolic analysis once; solve() reuses them for any number of "
                         "scenarios. Non-convergence is a per-scenario status, not an error.")
        .def(py::init([](const Network& net, const py::object& backend, int threads, int device,
                         const py::object& algorithm, Real tolerance, int max_iterations,
                         const py::object& start, bool enforce_q_limits, const py::object& slack,
                         const py::object& participation) {
                 AcOptions o =
                     ac_options(net, backend, threads, device, algorithm, tolerance, max_iterations,
                                start, enforce_q_limits, slack, participation);
                 py::gil_scoped_release nogil;
                 return std::make_unique<AcSolver>(net, std::move(o));
             }),
             py::arg("network"), py::kw_only(), py::arg("backend") = "auto", py::arg("threads") = 0,
             py::arg("device") = 0, py::arg("algorithm") = "newton", py::arg("tolerance") = 1e-8,
             py::arg("max_iterations") = 0, py::arg("start") = "from_case",
             py::arg("enforce_q_limits") = false, py::arg("slack") = "single",
             py::arg("participation") = py::none(), kOptionsDoc)
        .def("solve", &solve_ac, py::arg("pd") = py::none(), py::arg("qd") = py::none(),
             py::kw_only(), py::arg("pg") = py::none(), py::arg("vg") = py::none(),
             py::arg("vm0") = py::none(), py::arg("va0") = py::none(),
             py::arg("outage") = py::none(), py::arg("chunk") = 0, kSolveDoc)
        .def_property_readonly(
            "backend", [](const AcSolver& s) { return s.pf.backend(); },
            "The backend this solver runs on (cpu or cuda).")
        .def_property_readonly(
            "network", [](const AcSolver& s) { return s.pf.network(); },
            "A copy of the network this solver was built for.")
        .def("__repr__", [](const AcSolver& s) {
            return "<gridbatch.AcPowerFlow: " + std::to_string(s.pf.network().n_bus()) +
                   " buses, " + to_string(s.pf.options().algorithm) + ", backend " +
                   to_string(s.pf.backend()) + ">";
        });

    py::class_<AcContingencyResult>(
        m, "AcContingencyResult",
        "AC contingency analysis of S base cases: one row per power flow (each scenario's base "
        "case, then its outages), the loadings above the threshold and the worst per scenario.")
        .def_property_readonly(
            "outages", [](const AcContingencyResult& r) { return copy_of(r.outages); },
            "int64 branch rows of the outages analysed, in the order given.")
        .def_property_readonly(
            "cases",
            [](const AcContingencyResult& r) {
                const auto n = static_cast<py::ssize_t>(r.cases.size());
                py::array_t<Index> scenario(n), outage(n), branch(n), min_bus(n), max_bus(n),
                    outside(n), dead(n);
                py::array_t<std::int8_t> status(n);
                py::array_t<int> iterations(n);
                py::array_t<Real> loading(n), min_vm(n), max_vm(n), lost_load(n), lost_gen(n);
                for (py::ssize_t i = 0; i < n; ++i) {
                    const AcContingency& c = r.cases[static_cast<std::size_t>(i)];
                    scenario.mutable_at(i) = c.scenario;
                    outage.mutable_at(i) = c.outage;
                    status.mutable_at(i) = static_cast<std::int8_t>(c.status);
                    iterations.mutable_at(i) = c.iterations;
                    loading.mutable_at(i) = c.max_loading_percent;
                    branch.mutable_at(i) = c.max_loading_branch;
                    min_vm.mutable_at(i) = c.min_vm;
                    min_bus.mutable_at(i) = c.min_vm_bus;
                    max_vm.mutable_at(i) = c.max_vm;
                    max_bus.mutable_at(i) = c.max_vm_bus;
                    outside.mutable_at(i) = c.buses_outside_limits;
                    dead.mutable_at(i) = c.de_energized_buses;
                    lost_load.mutable_at(i) = c.lost_load_mw;
                    lost_gen.mutable_at(i) = c.lost_generation_mw;
                }
                py::dict d;
                d["scenario"] = scenario;
                d["outage"] = outage;
                d["status"] = status;
                d["iterations"] = iterations;
                d["max_loading_percent"] = loading;
                d["max_loading_branch"] = branch;
                d["min_vm"] = min_vm;
                d["min_vm_bus"] = min_bus;
                d["max_vm"] = max_vm;
                d["max_vm_bus"] = max_bus;
                d["buses_outside_limits"] = outside;
                d["de_energized_buses"] = dead;
                d["lost_load_mw"] = lost_load;
                d["lost_generation_mw"] = lost_gen;
                return d;
            },
            "Dict of (S * (1 + n_outages),) arrays, one entry per power flow, scenario by "
            "scenario, its base case (outage -1) first: scenario, outage, status (int8), "
            "iterations, max_loading_percent (MVA at the worse end, % of rateA) and "
            "max_loading_branch, min_vm/min_vm_bus, max_vm/max_vm_bus (bus rows), "
            "buses_outside_limits; NaN and -1 where the power flow did not converge; "
            "de_energized_buses, lost_load_mw, lost_generation_mw: the part an outage cut off "
            "from every reference bus (new arrays; pandas.DataFrame(result.cases) makes a "
            "table).")
        .def_property_readonly(
            "monitored_vm", matrix_of(&AcContingencyResult::monitored_vm),
            "(S * (1 + n_outages), n_monitored) Vm of the monitored buses in each power flow, "
            "p.u. (rows as cases).")
        .def_property_readonly(
            "violations", records_of(&AcContingencyResult::violations),
            "Structured array (scenario, outage, branch, loading_percent): MVA loadings above the "
            "threshold, sorted by scenario, outage (-1: the base case), branch (a view).")
        .def_property_readonly("worst_loading_percent",
                               vector_of(&AcContingencyResult::worst_loading_percent),
                               "(S,) highest post-outage MVA loading, % of rateA (NaN: none).")
        .def_property_readonly("worst_outage", vector_of(&AcContingencyResult::worst_outage),
                               "(S,) int64: the outage causing it, -1 if none.")
        .def_property_readonly("worst_branch", vector_of(&AcContingencyResult::worst_branch),
                               "(S,) int64: the branch loaded, -1 if none.")
        .def_property_readonly("lowest_vm", vector_of(&AcContingencyResult::lowest_vm),
                               "(S,) lowest post-outage Vm, p.u.")
        .def_property_readonly("lowest_vm_bus", vector_of(&AcContingencyResult::lowest_vm_bus),
                               "(S,) int64: its bus row.")
        .def_property_readonly("lowest_vm_outage",
                               vector_of(&AcContingencyResult::lowest_vm_outage),
                               "(S,) int64: the outage causing it.")
        .def_property_readonly(
            "islanding", [](const AcContingencyResult& r) { return copy_of(r.islanding); },
            "int64 branch rows of outages that cut buses off from every reference bus (solved "
            "with them de-energised).")
        .def_readonly("not_converged", &AcContingencyResult::not_converged,
                      "Power flows (base or outage) that did not converge, islanding excluded.")
        .def_readonly("base", &AcContingencyResult::base, "The base cases' AcPowerFlowResult.")
        .def(
            "__len__", [](const AcContingencyResult& r) { return r.base.report.size(); },
            "Number of scenarios S.")
        .def("__repr__", [](const AcContingencyResult& r) {
            return "<gridbatch.AcContingencyResult: " + std::to_string(r.base.report.size()) +
                   " scenarios x " + std::to_string(r.outages.size()) + " outages, " +
                   std::to_string(r.islanding.size()) + " islanding, " +
                   std::to_string(r.not_converged) + " not converged, " +
                   std::to_string(r.violations.size()) + " violations>";
        });

    m.def(
        "ac_contingencies",
        [](AcSolver& solver, const py::object& pd, const py::object& qd, const py::object& pg,
           const py::object& vg, const py::object& vm0, const py::object& va0,
           const std::optional<std::vector<Index>>& outages, Real threshold_percent,
           const std::optional<std::vector<Index>>& monitored_buses, Index chunk,
           const py::object& comm) {
            const Network& net = solver.pf.network();
            const bool none = pd.is_none() && qd.is_none() && pg.is_none() && vg.is_none() &&
                              vm0.is_none() && va0.is_none();
            const AcInputs in(
                net, none ? py::object(py::array_t<Real>(net.n_bus(), net.buses().pd.data())) : pd,
                qd, pg, vg, vm0, va0, py::none());
            AcContingencyOptions o;
            if (outages) o.outages = given_outages(*outages, "ac_contingencies");
            o.threshold_percent = threshold_percent;
            if (monitored_buses) o.monitored_buses = *monitored_buses;
            o.chunk = chunk;
            const CommArg c(comm);
            const AcBatch batch = in.batch();
            py::gil_scoped_release nogil;
            const std::lock_guard<std::mutex> lock(solver.mutex);
            return ac_contingencies(solver.pf, batch, o, *c);
        },
        py::arg("power_flow"), py::arg("pd") = py::none(), py::arg("qd") = py::none(),
        py::kw_only(), py::arg("pg") = py::none(), py::arg("vg") = py::none(),
        py::arg("vm0") = py::none(), py::arg("va0") = py::none(), py::arg("outages") = py::none(),
        py::arg("threshold_percent") = 100.0, py::arg("monitored_buses") = py::none(),
        py::arg("chunk") = 0, py::arg("comm") = py::none(),
        "AC contingency analysis (Newton): each base case (pd, qd, pg, vg, vm0, va0 as "
        "AcPowerFlow.solve; default: the case) solved with power_flow's start, then with each "
        "outage (branch rows, each once; default: every active branch) from its solution. Keeps "
        "per power "
        "flow a summary (status, worst MVA loading, Vm range, monitored_buses' Vm), the "
        "loadings above threshold_percent of rateA and the worst per scenario; never the full "
        "results of every outage. The GIL is released; Ctrl-C interrupts between chunks of "
        "`chunk` power flows (0: 256 on the CPU, thousands on a GPU). comm: a Communicator or "
        "mpi4py communicator to shard the chunks "
        "over MPI ranks (rank 0 gets the whole result).");

    m.def(
        "ac_power_flow",
        [](const Network& net, const py::object& pd, const py::object& qd, const py::object& pg,
           const py::object& vg, const py::object& vm0, const py::object& va0,
           const py::object& outage, const py::object& backend, int threads, int device,
           const py::object& algorithm, Real tolerance, int max_iterations, const py::object& start,
           bool enforce_q_limits, const py::object& slack, const py::object& participation) {
            AcOptions o = ac_options(net, backend, threads, device, algorithm, tolerance,
                                     max_iterations, start, enforce_q_limits, slack, participation);
            std::unique_ptr<AcSolver> solver;
            {
                py::gil_scoped_release nogil;
                solver = std::make_unique<AcSolver>(net, std::move(o));
            }
            return solve_ac(*solver, pd, qd, pg, vg, vm0, va0, outage, 0);
        },
        py::arg("network"), py::arg("pd") = py::none(), py::arg("qd") = py::none(), py::kw_only(),
        py::arg("pg") = py::none(), py::arg("vg") = py::none(), py::arg("vm0") = py::none(),
        py::arg("va0") = py::none(), py::arg("outage") = py::none(), py::arg("backend") = "auto",
        py::arg("threads") = 0, py::arg("device") = 0, py::arg("algorithm") = "newton",
        py::arg("tolerance") = 1e-8, py::arg("max_iterations") = 0, py::arg("start") = "from_case",
        py::arg("enforce_q_limits") = false, py::arg("slack") = "single",
        py::arg("participation") = py::none(),
        "One-shot AC power flow: AcPowerFlow(network, **options).solve(pd, qd, ...).");
}

}  // namespace gridbatch::python
