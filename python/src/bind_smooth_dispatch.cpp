// Ramp-aware battery dispatch (smooth_dispatch, a QP) and fleet sizing for a ramp limit.
// Options come as a SmoothDispatchOptions or as its fields in keyword arguments.
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "core/invalid_input.hpp"
#include "gridbatch/smooth_dispatch.hpp"

namespace gridbatch::python {

namespace {

void apply_fields(SmoothDispatchOptions& options, const py::kwargs& kwargs) {
    const py::object view = py::cast(&options, py::return_value_policy::reference);
    for (const auto item : kwargs) {
        const auto key = py::str(item.first).cast<std::string>();
        if (!py::hasattr(view, key.c_str()) || key.rfind("_", 0) == 0)
            throw Error(ErrorKind::invalid_input,
                        "SmoothDispatchOptions has no field '" + key + "'");
        view.attr(key.c_str()) = item.second;
    }
}

SmoothDispatchOptions options_of(const std::optional<SmoothDispatchOptions>& options,
                                 const py::kwargs& kwargs) {
    SmoothDispatchOptions o = options ? *options : SmoothDispatchOptions{};
    apply_fields(o, kwargs);
    return o;
}

ScenarioInput load_of(const py::object& load) {
    const py::array a = py::module_::import("numpy").attr("asarray")(load);
    if (a.ndim() != 1 && a.ndim() != 2)
        throw Error(ErrorKind::invalid_input, "load has " + std::to_string(a.ndim()) +
                                                  " dimensions, expected (S, T) or (T,)");
    return ScenarioInput(a, "load", static_cast<Index>(a.shape(a.ndim() - 1)), "time step");
}

}  // namespace

void bind_smooth_dispatch(py::module_& m) {
    py::enum_<SmoothDispatchSolver>(m, "SmoothDispatchSolver",
                                    "QP solver of smooth_dispatch: the interior point (default; "
                                    "hands infeasible scenarios to the ADMM) or OSQP's ADMM.")
        .value("interior_point", SmoothDispatchSolver::interior_point)
        .value("admm", SmoothDispatchSolver::admm);
    py::class_<SmoothDispatchOptions> options_class(
        m, "SmoothDispatchOptions",
        "Options of smooth_dispatch (OSQP's meaning for the ADMM ones). Keyword arguments set "
        "any field.");
    options_class.def(py::init([](const py::kwargs& kw) {
        auto o = std::make_unique<SmoothDispatchOptions>();
        apply_fields(*o, kw);
        return o;
    }));
    for (const auto& [name, member, doc] :
         std::initializer_list<std::tuple<const char*, Real SmoothDispatchOptions::*, const char*>>{
             {"dt_seconds", &SmoothDispatchOptions::dt_seconds, "Time step, s."},
             {"ramp_weight", &SmoothDispatchOptions::ramp_weight, "w_ramp >= 0."},
             {"level_weight", &SmoothDispatchOptions::level_weight,
              "w_level; < 0: w_ramp (dt / level_time_constant_s)^2."},
             {"level_time_constant_s", &SmoothDispatchOptions::level_time_constant_s, "Seconds."},
             {"ramp_limit_mw_per_s", &SmoothDispatchOptions::ramp_limit_mw_per_s,
              "Hard limit on |g_t - g_{t-1}| / dt; inf = none."},
             {"eps_abs", &SmoothDispatchOptions::eps_abs, "ADMM absolute tolerance."},
             {"eps_rel", &SmoothDispatchOptions::eps_rel, "ADMM relative tolerance."},
             {"eps_infeasible", &SmoothDispatchOptions::eps_infeasible,
              "Primal infeasibility tolerance."},
             {"rho", &SmoothDispatchOptions::rho, "ADMM step size."},
             {"peak_weight", &SmoothDispatchOptions::peak_weight,
              "Objective units per MW of the horizon's peak grid draw."},
             {"ipm_tolerance", &SmoothDispatchOptions::ipm_tolerance,
              "Interior point: relative residuals and duality gap."}})
        options_class.def_readwrite(name, member, doc);
    for (const auto& [name, member, doc] : std::initializer_list<
             std::tuple<const char*, Vector SmoothDispatchOptions::*, const char*>>{
             {"energy_price", &SmoothDispatchOptions::energy_price,
              "(T,) objective units per MWh of grid draw, shared by every scenario; empty: none."},
             {"target_mw", &SmoothDispatchOptions::target_mw,
              "(T,) level the grid draw is pulled towards; empty: each scenario's mean load."}})
        options_class.def_property(
            name,
            [member = member](const SmoothDispatchOptions& o) {
                return owned_vector(Vector(o.*member));
            },
            [member = member, name = name](SmoothDispatchOptions& o, const py::object& v) {
                o.*member = v.is_none() ? Vector() : to_vector(v, name, std::nullopt, "time step");
            },
            doc);
    options_class
        .def_property(
            "solver", [](const SmoothDispatchOptions& o) { return o.solver; },
            [](SmoothDispatchOptions& o, const py::object& v) {
                o.solver = enum_arg<SmoothDispatchSolver>(
                    v, "solver",
                    {{"interior_point", SmoothDispatchSolver::interior_point},
                     {"admm", SmoothDispatchSolver::admm}});
            },
            "'interior_point' or 'admm' (or a SmoothDispatchSolver).")
        .def_readwrite("ipm_max_iterations", &SmoothDispatchOptions::ipm_max_iterations,
                       "Interior point: Newton-step limit.")
        .def_readwrite("max_iterations", &SmoothDispatchOptions::max_iterations,
                       "ADMM iteration limit.")
        .def_readwrite("adaptive_rho", &SmoothDispatchOptions::adaptive_rho,
                       "Adapt rho as OSQP does.")
        .def_readwrite("threads", &SmoothDispatchOptions::threads, "CPU threads; 0 = all cores.")
        .def_property(
            "backend", [](const SmoothDispatchOptions& o) { return o.backend; },
            [](SmoothDispatchOptions& o, const py::object& v) { o.backend = to_backend(v); },
            "'cpu', 'cuda' or 'auto' (or a Backend): where the interior point runs; the ADMM "
            "and the polish run on the CPU.")
        .def_readwrite("device", &SmoothDispatchOptions::device, "CUDA device.");

    py::class_<SmoothDispatchResult, DispatchResult>(
        m, "SmoothDispatchResult",
        "A DispatchResult (usable with dispatch_metrics) plus the QP solver's diagnostics.")
        .def_property_readonly("backup_mw", matrix_of(&SmoothDispatchResult::backup_mw),
                               "(S, T) backup generation, MW (zeros without it).")
        .def_property_readonly("dual_residual", vector_of(&SmoothDispatchResult::dual_residual),
                               "(S,) unscaled dual residual.")
        .def_property_readonly("limit_violation", vector_of(&SmoothDispatchResult::limit_violation),
                               "(S,) largest grid- or ramp-limit excess after polish, MW.")
        .def_property_readonly("max_ramp_mw_per_s",
                               vector_of(&SmoothDispatchResult::max_ramp_mw_per_s),
                               "(S,) largest step of the grid draw, MW/s.");

    m.def(
        "smooth_dispatch",
        [](const py::object& load, const py::object& fleet, const py::object& grid,
           const std::optional<SmoothDispatchOptions>& options, const py::object& comm,
           const py::kwargs& kwargs) {
            const ScenarioInput in = load_of(load);
            const std::vector<BatteryFleet> fleets =
                py::isinstance<BatteryFleet>(fleet)
                    ? std::vector<BatteryFleet>{fleet.cast<BatteryFleet>()}
                    : fleet.cast<std::vector<BatteryFleet>>();
            const std::vector<GridConnection> grids =
                grid.is_none() ? std::vector<GridConnection>{GridConnection{}}
                : py::isinstance<GridConnection>(grid)
                    ? std::vector<GridConnection>{grid.cast<GridConnection>()}
                    : grid.cast<std::vector<GridConnection>>();
            const SmoothDispatchOptions o = options_of(options, kwargs);
            const CommArg c(comm);
            // A scenario takes seconds: chunks of one per core keep Ctrl-C prompt. The device
            // takes the whole batch at once (it chunks by its memory itself).
            const bool device = o.solver == SmoothDispatchSolver::interior_point &&
                                resolve_backend(o.backend) == Backend::cuda;
            const Index chunk = device ? std::max<Index>(1, in.scenarios()) : core_count();
            py::gil_scoped_release nogil;
            return smooth_dispatch(in.view(), fleets, grids, o, *c, chunk);
        },
        py::arg("load"), py::arg("fleet"), py::arg("grid") = py::none(), py::kw_only(),
        py::arg("options") = py::none(), py::arg("comm") = py::none(),
        "Ramp-aware dispatch: the grid draw as smooth as the fleet allows (a QP), with an "
        "optional hard ramp limit. load: (S, T) MW. fleet, grid: one or one per scenario. "
        "options: a SmoothDispatchOptions; its fields may also be given as keywords "
        "(ramp_limit_mw_per_s=..., dt_seconds=...). An infeasible scenario (status infeasible) "
        "gets in `violation` the smallest amount, MW, by which every grid limit (import, export, "
        "grid ramp per step) must be relaxed for it to become feasible, in `infeasible_step` the "
        "first step that needs all of it, and the best dispatch under limits relaxed that much. "
        "Where no relaxation of the grid limits helps (the battery alone cannot keep its own "
        "limits, e.g. an energy target it cannot reach), `infeasible_step`, `violation` and "
        "`violation_kind` describe the first limit the returned dispatch breaks instead. "
        "The GIL is released; scenarios run in chunks so Ctrl-C interrupts between them. comm: a "
        "Communicator or mpi4py communicator to shard the scenarios over MPI ranks.");
    m.def(
        "smallest_fleet_for_ramp",
        [](const py::object& load, const py::object& unit, Real ramp_limit_mw_per_min,
           Index max_units, const py::object& grid,
           const std::optional<SmoothDispatchOptions>& options, const py::object& first_probe,
           const py::kwargs& kwargs) {
            const ScenarioInput in = load_of(load);
            const IndexVector probe = first_probe.is_none()
                                          ? IndexVector()
                                          : integer_column<IndexVector>(first_probe, "first_probe");
            if (probe.size() != 0 && probe.size() != in.scenarios())
                throw Error(ErrorKind::invalid_input,
                            "smallest_fleet_for_ramp: first_probe has " +
                                std::to_string(probe.size()) + " entries; expected " +
                                std::to_string(in.scenarios()) + " (one per scenario) or none");
            const BatteryUnit u = py::isinstance<py::str>(unit)
                                      ? battery_unit(unit.cast<std::string>())
                                      : unit.cast<BatteryUnit>();
            const GridConnection g =
                grid.is_none() ? GridConnection{} : grid.cast<GridConnection>();
            const SmoothDispatchOptions o = options_of(options, kwargs);
            detail::check_site_load(in.view(), "smallest_fleet_for_ramp");  // caller's numbers
            // Scenarios are sized independently: chunks of one per core, Ctrl-C between them.
            const IndexVector out =
                solve_in_chunks(in.scenarios(), core_count(), [&](Index first, Index count) {
                    return smallest_fleet_for_ramp(
                        in.view().middleCols(first, count), u, ramp_limit_mw_per_min, max_units, g,
                        o, probe.size() == 0 ? probe : IndexVector(probe.segment(first, count)));
                });
            return py::array_t<Index>(out.size(), out.data());
        },
        py::arg("load"), py::arg("unit"), py::arg("ramp_limit_mw_per_min"), py::kw_only(),
        py::arg("max_units") = 1000, py::arg("grid") = py::none(), py::arg("options") = py::none(),
        py::arg("first_probe") = py::none(),
        "(S,) int64: smallest unit count whose smooth dispatch keeps every 60 s ramp within "
        "ramp_limit_mw_per_min; -1 where max_units is not enough. first_probe: (S,) unit counts "
        "to try first (size_fleet's answer is a cheap, close one); it saves rounds and does not "
        "change the answer.");
}

}  // namespace gridbatch::python
