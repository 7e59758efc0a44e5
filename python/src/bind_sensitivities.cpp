// PTDF, LODF and N-1 screening on a DcPowerFlow's factorisation. Bus and branch arguments are
// rows of the tables (internal indices); Network.internal_bus converts bus numbers.
#include <pybind11/stl.h>

#include <cmath>

#include "bindings.hpp"
#include "gridbatch/sensitivities.hpp"
#include "solvers.hpp"

namespace gridbatch::python {

namespace {

PtdfSlack ptdf_slack(const std::optional<Index>& slack_bus) {
    PtdfSlack s;
    if (slack_bus) s.bus = *slack_bus;
    return s;
}

py::array_t<bool> bools(const std::vector<bool>& v) {
    py::array_t<bool> out(static_cast<py::ssize_t>(v.size()));
    for (std::size_t i = 0; i < v.size(); ++i) out.mutable_at(i) = v[i];
    return out;
}

constexpr const char* kSlackDoc =
    " slack_bus: row of the bus that withdraws the injections (default: the power flow's own "
    "slack, one per island). With slack_bus, the columns of buses in other islands than its own "
    "are zero (no path carries the transfer), as are the slack bus's own and isolated buses'.";

}  // namespace

void bind_sensitivities(py::module_& m) {
    PYBIND11_NUMPY_DTYPE(N1Violation, scenario, outage, branch, loading_percent);
    m.def(
        "ptdf",
        [](DcSolver& solver, std::optional<Index> slack_bus) {
            Matrix out;
            {
                py::gil_scoped_release nogil;
                const std::lock_guard<std::mutex> lock(solver.mutex);
                out = ptdf(solver.pf, ptdf_slack(slack_bus));
            }
            return owned_matrix(std::move(out));
        },
        py::arg("power_flow"), py::kw_only(), py::arg("slack_bus") = py::none(),
        (std::string("PTDF (n_branch, n_bus): MW on each branch (from end) per MW injected at a "
                     "bus and withdrawn at the slack. Dense: 8 n_branch n_bus bytes.") +
         kSlackDoc)
            .c_str());
    m.def(
        "ptdf_columns",
        [](DcSolver& solver, const std::vector<Index>& buses, std::optional<Index> slack_bus) {
            Matrix out;
            {
                py::gil_scoped_release nogil;
                const std::lock_guard<std::mutex> lock(solver.mutex);
                out = ptdf_columns(solver.pf, buses, ptdf_slack(slack_bus));
            }
            return owned_matrix(std::move(out));
        },
        py::arg("power_flow"), py::arg("buses"), py::kw_only(), py::arg("slack_bus") = py::none(),
        (std::string("PTDF columns of the given bus rows: (n_branch, len(buses)).") + kSlackDoc)
            .c_str());
    m.def(
        "ptdf_rows",
        [](DcSolver& solver, const std::vector<Index>& branches, std::optional<Index> slack_bus) {
            Matrix out;
            {
                py::gil_scoped_release nogil;
                const std::lock_guard<std::mutex> lock(solver.mutex);
                out = ptdf_rows(solver.pf, branches, ptdf_slack(slack_bus));
            }
            return owned_matrix(std::move(out));
        },
        py::arg("power_flow"), py::arg("branches"), py::kw_only(),
        py::arg("slack_bus") = py::none(),
        (std::string("PTDF rows of the given branches: (len(branches), n_bus).") + kSlackDoc)
            .c_str());

    py::class_<Lodf>(m, "Lodf",
                     "Line outage distribution factors: factors[l, j] is the change of the flow "
                     "on branch l per MW that flowed on branch outages[j] before its outage.")
        .def_property_readonly(
            "factors",
            [](const py::object& self) {
                return matrix_view(self.cast<const Lodf&>().factors, self);
            },
            "(n_branch, n_outages) factors (a view, no copy); a column is zero for an outage "
            "that islands the network.")
        .def_property_readonly(
            "outages", [](const Lodf& l) { return copy_of(l.outages); },
            "(n_outages,) int64: branch row of each column.")
        .def_property_readonly(
            "islanding", [](const Lodf& l) { return bools(l.islanding); },
            "(n_outages,) bool: outages that split an island (no LODF exists).");
    m.def(
        "lodf",
        [](DcSolver& solver, const std::optional<std::vector<Index>>& outages) {
            py::gil_scoped_release nogil;
            const std::lock_guard<std::mutex> lock(solver.mutex);
            return outages ? lodf(solver.pf, *outages) : lodf(solver.pf);
        },
        py::arg("power_flow"), py::arg("outages") = py::none(),
        "LODFs for the given branch rows (default: every branch).");
    m.def(
        "islanding_branches", [](const Network& net) { return bools(islanding_branches(net)); },
        py::arg("network"),
        "(n_branch,) bool: branches whose outage splits an island (bridges of the graph of "
        "active branches).");

    py::class_<N1Result>(m, "N1Result",
                         "N-1 screening of S base cases. Arrays are views of the result's memory.")
        .def_property_readonly(
            "violations", records_of(&N1Result::violations),
            "Structured array (scenario, outage, branch, loading_percent), sorted by scenario, "
            "outage, branch: every post-outage loading above the threshold (a view, no copy).")
        .def_property_readonly(
            "worst_loading_percent", vector_of(&N1Result::worst_loading_percent),
            "(S,) highest post-outage loading over outages and branches, % of rateA (NaN if no "
            "rated branch).")
        .def_property_readonly(
            "worst_outage", vector_of(&N1Result::worst_outage),
            "(S,) int64: the outage (branch row) where it occurs, -1 if no rated branch.")
        .def_property_readonly("worst_branch", vector_of(&N1Result::worst_branch),
                               "(S,) int64: the overloaded branch row, -1 if no rated branch.")
        .def_property_readonly(
            "screened", [](const N1Result& r) { return copy_of(r.screened); },
            "int64 branch rows of the outages screened.")
        .def_property_readonly(
            "islanding", [](const N1Result& r) { return copy_of(r.islanding); },
            "int64 branch rows of outages skipped because they island the network.")
        .def_readonly("base", &N1Result::base, "The base cases' DcPowerFlowResult.")
        .def(
            "__len__", [](const N1Result& r) { return r.worst_loading_percent.size(); },
            "Number of scenarios S.")
        .def("__repr__", [](const N1Result& r) {
            return "<gridbatch.N1Result: " + std::to_string(r.worst_loading_percent.size()) +
                   " scenarios, " + std::to_string(r.screened.size()) + " outages screened, " +
                   std::to_string(r.violations.size()) + " violations>";
        });

    m.def(
        "n1_screen",
        [](DcSolver& solver, const py::object& pd, const std::optional<std::vector<Index>>& outages,
           Real threshold_percent, Real min_increase_percent, Index outages_per_block,
           const py::object& comm) {
            const Network& net = solver.pf.network();
            const py::object pd_value =
                pd.is_none() ? py::array_t<Real>(net.n_bus(), net.buses().pd.data()) : pd;
            const ScenarioInput input(pd_value, "pd", net.n_bus(), "bus");
            N1Options o;
            if (outages) o.outages = given_outages(*outages, "n1_screen");
            o.threshold_percent = threshold_percent;
            o.min_increase_percent = min_increase_percent;
            o.outages_per_block = outages_per_block;
            const CommArg c(comm);
            py::gil_scoped_release nogil;
            const std::lock_guard<std::mutex> lock(solver.mutex);
            return n1_screen(solver.pf, input.view(), o, *c);
        },
        py::arg("power_flow"), py::arg("pd") = py::none(), py::kw_only(),
        py::arg("outages") = py::none(), py::arg("threshold_percent") = 100.0,
        py::arg("min_increase_percent") = -HUGE_VAL, py::arg("outages_per_block") = 256,
        py::arg("comm") = py::none(),
        "N-1 screening for single-branch outages via LODFs. pd: bus loads (S, n_bus) MW "
        "(default: the case). outages: branch rows, each once (default: every active branch). "
        "Reports "
        "post-outage loadings above threshold_percent of rateA (and, when min_increase_percent "
        "is given, above the base-case loading plus that many points); memory O(n_branch (S + "
        "outages_per_block)). The GIL is released; Ctrl-C interrupts between blocks of outages. "
        "comm: a Communicator or mpi4py communicator to shard the outage blocks over MPI "
        "ranks (rank 0 gets the whole result).");
}

}  // namespace gridbatch::python
