// The data-centre grid study (run_study): load profiles -> battery dispatch -> AC power flow of
// every step -> N-1 of the worst steps -> sizing sweep, as one call. The study reports progress
// between stages and AC chunks; the binding uses that hook to run Python's signal handlers, so
// Ctrl-C stops a long study there, and to call an optional Python progress callback.
#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "gridbatch/builtin_network.hpp"
#include "gridbatch/study.hpp"

namespace gridbatch::python {

namespace {

template <class Row, class T>
py::array_t<T> column_of(const std::vector<Row>& rows, T Row::*member) {
    py::array_t<T> out(static_cast<py::ssize_t>(rows.size()));
    for (std::size_t i = 0; i < rows.size(); ++i) out.mutable_at(i) = rows[i].*member;
    return out;
}

template <class Row>
py::array_t<std::int8_t> strategy_column(const std::vector<Row>& rows) {
    py::array_t<std::int8_t> out(static_cast<py::ssize_t>(rows.size()));
    for (std::size_t i = 0; i < rows.size(); ++i)
        out.mutable_at(i) = static_cast<std::int8_t>(rows[i].strategy);
    return out;
}

void apply_kwargs(StudyOptions& options, const py::kwargs& kwargs) {
    const py::object view = py::cast(&options, py::return_value_policy::reference);
    for (const auto item : kwargs) {
        const auto key = py::str(item.first).cast<std::string>();
        if (!py::hasattr(view, key.c_str()) || key.rfind("_", 0) == 0)
            throw Error(ErrorKind::invalid_input, "StudyOptions has no field '" + key + "'");
        view.attr(key.c_str()) = item.second;
    }
}

}  // namespace

void bind_study(py::module_& m) {
    py::enum_<Strategy>(m, "Strategy", "Battery strategy of the study.")
        .value("none", Strategy::none, "No battery.")
        .value("filter", Strategy::filter, "The causal filter.")
        .value("optimal", Strategy::optimal, "The optimal (least-variance) dispatch.")
        .value("ramp_aware", Strategy::ramp_aware,
               "The ramp-aware dispatch (smooth_dispatch's default objective).");

    py::class_<StudyOptions> options_class(
        m, "StudyOptions",
        "Options of run_study (the CLI's `gridbatch study` options). Keyword arguments set any "
        "field.");
    options_class.def(py::init([](const py::kwargs& kw) {
        auto o = std::make_unique<StudyOptions>();
        apply_kwargs(*o, kw);
        return o;
    }));
    for (const auto& [name, member, doc] :
         std::initializer_list<std::tuple<const char*, Real StudyOptions::*, const char*>>{
             {"campus_mw", &StudyOptions::campus_mw, "Facility draw at full training load, MW."},
             {"power_factor", &StudyOptions::power_factor, "Lagging power factor at the POI."},
             {"fleet_units", &StudyOptions::fleet_units, "Battery units in the fleet."},
             {"import_limit_mw", &StudyOptions::import_limit_mw, "Grid import limit, MW."},
             {"ramp_limit_mw_per_min", &StudyOptions::ramp_limit_mw_per_min,
              "Sizing target; 0 = 5 % of campus_mw per minute."},
             {"dt_seconds", &StudyOptions::dt_seconds, "Time step, s."},
             {"sizing_max_units", &StudyOptions::sizing_max_units,
              "Sizing sweep and search range; 0 = automatic (twice the largest smallest fleet "
              "found)."}})
        options_class.def_readwrite(name, member, doc);
    for (const auto& [name, member, doc] :
         std::initializer_list<std::tuple<const char*, Index StudyOptions::*, const char*>>{
             {"poi_bus", &StudyOptions::poi_bus,
              "External POI bus number; -1 = the built-in network's 161 kV POI."},
             {"steps", &StudyOptions::steps, "Time steps."},
             {"scenarios", &StudyOptions::scenarios, "Scenarios (independent load draws)."},
             {"sizing_points", &StudyOptions::sizing_points, "Fleet sizes in the sweep."},
             {"n1_steps", &StudyOptions::n1_steps, "Worst steps per strategy screened for N-1."},
             {"ac_chunk", &StudyOptions::ac_chunk, "Power flows per AC batch (bounds memory)."}})
        options_class.def_readwrite(name, member, doc);
    options_class.def_readwrite("unit", &StudyOptions::unit, "Battery unit preset name.")
        .def_property(
            "seed", [](const StudyOptions& o) { return o.seed; },
            [](StudyOptions& o, const py::object& v) { o.seed = seed_arg(v, "StudyOptions.seed"); },
            "Random seed of the load profiles, an integer in [0, 2**64).")
        .def_readwrite("n1_ac", &StudyOptions::n1_ac,
                       "AC contingencies of the N-1 steps too (every branch out in turn).")
        .def_readwrite("threads", &StudyOptions::threads, "CPU threads; 0 = all cores.")
        .def_property(
            "backend", [](const StudyOptions& o) { return o.backend; },
            [](StudyOptions& o, const py::object& v) { o.backend = to_backend(v); },
            "'cpu', 'cuda' or 'auto'.");

    py::class_<StrategyOutcome>(m, "StrategyOutcome",
                                "One strategy's results. (S, T) arrays are views, no copy.")
        .def_readonly("dispatch", &StrategyOutcome::dispatch, "Battery, SoC, grid draw.")
        .def_readonly("metrics", &StrategyOutcome::metrics, "Dispatch metrics.")
        .def_property_readonly(
            "poi_vm", matrix_of(&StrategyOutcome::poi_vm),
            "(S, T) POI voltage, p.u. (NaN where the AC power flow did not converge).")
        .def_property_readonly(
            "max_loading", matrix_of(&StrategyOutcome::max_loading),
            "(S, T) highest branch loading, % of rateA (NaN where the AC power flow did not "
            "converge).")
        .def_property_readonly(
            "peak_loading", vector_of(&StrategyOutcome::peak_loading),
            "(S,) highest branch loading over the converged steps, % of rateA (NaN: none "
            "converged).")
        .def_property_readonly("ac_not_converged", vector_of(&StrategyOutcome::ac_not_converged),
                               "(S,) AC power flows that did not converge.")
        .def_property_readonly("poi_vm_min", vector_of(&StrategyOutcome::poi_vm_min),
                               "(S,) lowest POI voltage, p.u.")
        .def_property_readonly("poi_vm_max", vector_of(&StrategyOutcome::poi_vm_max),
                               "(S,) highest POI voltage, p.u.")
        .def_property_readonly(
            "poi_max_dv_step", vector_of(&StrategyOutcome::poi_max_dv_step),
            "(S,) largest POI voltage change between two converged steps in a row, "
            "p.u. (NaN: no such pair).")
        .def_property_readonly("voltage_violations",
                               vector_of(&StrategyOutcome::voltage_violations),
                               "(S,) (bus, step) pairs outside Vmin/Vmax.");

    py::class_<StudyResult>(m, "StudyResult", "Everything run_study computed.")
        .def_readonly("options", &StudyResult::options, "The options used.")
        .def_readonly("poi_bus", &StudyResult::poi_bus, "External POI bus number.")
        .def_property_readonly("load_mw", matrix_of(&StudyResult::load_mw),
                               "(S, T) campus load, MW.")
        .def_property_readonly(
            "outcomes",
            [](const py::object& self) {
                const auto& r = self.cast<const StudyResult&>();
                py::dict d;
                for (Strategy k : kStrategies)
                    d[to_string(k)] = py::cast(&r.outcomes[static_cast<std::size_t>(k)],
                                               py::return_value_policy::reference_internal, self);
                return d;
            },
            "dict strategy name ('none', 'filter', 'optimal', 'ramp_aware') -> StrategyOutcome.")
        .def_property_readonly(
            "voltage_violations",
            [](const StudyResult& r) {
                const auto& v = r.voltage_violations;
                py::dict d;
                d["strategy"] = strategy_column(v);
                d["scenario"] = column_of(v, &VoltageViolation::scenario);
                d["step"] = column_of(v, &VoltageViolation::step);
                d["bus"] = column_of(v, &VoltageViolation::bus);
                d["vm"] = column_of(v, &VoltageViolation::vm);
                return d;
            },
            "dict of columns (strategy, scenario, step, bus, vm): the first 10,000 voltage "
            "violations (copied).")
        .def_property_readonly(
            "n1",
            [](const StudyResult& r) {
                const auto& v = r.n1;
                py::dict d;
                d["strategy"] = strategy_column(v);
                d["scenario"] = column_of(v, &StudyN1Row::scenario);
                d["step"] = column_of(v, &StudyN1Row::step);
                d["base_max_loading"] = column_of(v, &StudyN1Row::base_max_loading);
                d["worst_loading_percent"] = column_of(v, &StudyN1Row::worst_loading_percent);
                d["worst_outage"] = column_of(v, &StudyN1Row::worst_outage);
                d["worst_branch"] = column_of(v, &StudyN1Row::worst_branch);
                d["n_violations"] = column_of(v, &StudyN1Row::n_violations);
                for (const auto& [name, member] :
                     std::initializer_list<std::pair<const char*, Real StudyN1Row::*>>{
                         {"ac_worst_loading_percent", &StudyN1Row::ac_worst_loading_percent},
                         {"ac_min_poi_vm", &StudyN1Row::ac_min_poi_vm},
                         {"ac_min_vm", &StudyN1Row::ac_min_vm}})
                    d[name] = column_of(v, member);
                for (const auto& [name, member] :
                     std::initializer_list<std::pair<const char*, Index StudyN1Row::*>>{
                         {"ac_worst_outage", &StudyN1Row::ac_worst_outage},
                         {"ac_worst_branch", &StudyN1Row::ac_worst_branch},
                         {"ac_min_poi_vm_outage", &StudyN1Row::ac_min_poi_vm_outage},
                         {"ac_min_vm_bus", &StudyN1Row::ac_min_vm_bus},
                         {"ac_min_vm_outage", &StudyN1Row::ac_min_vm_outage},
                         {"ac_not_converged", &StudyN1Row::ac_not_converged},
                         {"ac_islanding", &StudyN1Row::ac_islanding},
                         {"ac_poi_cut_off", &StudyN1Row::ac_poi_cut_off}})
                    d[name] = column_of(v, member);
                return d;
            },
            "dict of columns: DC N-1 screening of the worst steps of each strategy (copied).")
        .def_property_readonly(
            "sizing",
            [](const StudyResult& r) {
                py::list out;
                const auto array = [](const Vector& v) {
                    return py::array_t<Real>(v.size(), v.data());
                };
                for (const auto& p : r.sizing)
                    out.append(py::make_tuple(p.units, array(p.max_ramp_mw_per_min),
                                              array(p.ramp_aware_max_ramp_mw_per_min)));
                return out;
            },
            "Sizing sweep: a list of (units, (S,) max ramp MW/min of the optimal dispatch, (S,) "
            "of the ramp-aware dispatch).")
        .def_property_readonly(
            "smallest_fleet", vector_of(&StudyResult::smallest_fleet),
            "(S,) units meeting the ramp limit under the optimal dispatch, -1 if none up to the "
            "maximum.")
        .def_property_readonly(
            "ramp_aware_smallest_fleet", vector_of(&StudyResult::ramp_aware_smallest_fleet),
            "(S,) units meeting the ramp limit under the ramp-aware dispatch, -1 if none.")
        .def_readonly("ramp_limit_mw_per_min", &StudyResult::ramp_limit_mw_per_min,
                      "The ramp limit used for sizing, MW/min.")
        .def_readonly("backend", &StudyResult::backend, "The backend that ran.")
        .def_readonly("seconds", &StudyResult::seconds, "Wall time of the study, s.");

    m.def(
        "run_study",
        [](const std::optional<Network>& network, const std::optional<StudyOptions>& options,
           const py::object& progress, const py::object& comm, const py::kwargs& kwargs) {
            const Network net = network ? *network : builtin_network();
            StudyOptions o = options ? *options : StudyOptions{};
            apply_kwargs(o, kwargs);
            // Runs with the GIL between stages and AC chunks: signal handlers (Ctrl-C), then
            // the caller's callback; either may raise, which unwinds the study.
            const StudyProgress hook = [&progress](const std::string& stage, double fraction) {
                const py::gil_scoped_acquire gil;
                if (PyErr_CheckSignals() != 0) throw py::error_already_set();
                if (!progress.is_none()) progress(stage, fraction);
            };
            if (comm.is_none()) {
                py::gil_scoped_release nogil;
                return run_study(net, o, hook);
            }
            const CommArg c(comm);
            py::gil_scoped_release nogil;
            return run_study(net, o, *c, hook);
        },
        py::arg("network") = py::none(), py::arg("options") = py::none(), py::kw_only(),
        py::arg("progress") = py::none(), py::arg("comm") = py::none(),
        "The data-centre grid study in one call (as `gridbatch study`). network: default the "
        "built-in network. options: a StudyOptions; any StudyOptions field may also be given as "
        "a keyword (e.g. steps=600, scenarios=2). progress: optional callable(stage, fraction). "
        "The GIL is released; Ctrl-C stops the study at its next progress point. comm: a "
        "Communicator or mpi4py communicator sharding the AC power flows over MPI ranks (rank 0 "
        "gets the whole result; the others return a partial one after the AC stage).");
    m.def(
        "write_study",
        [](const StudyResult& result, const Network& network, const py::object& directory) {
            const std::string dir = py::str(py::module_::import("os").attr("fspath")(directory));
            const py::gil_scoped_release nogil;
            write_study(result, network, dir);
        },
        py::arg("result"), py::arg("network"), py::arg("directory"),
        "Writes the study's CSV files (summary, timeseries, spectrum, sizing, voltage "
        "violations, n1) into `directory`.");
    m.def(
        "welch_psd",
        [](const py::object& x, Real dt, Index segment) {
            const Vector v = to_vector(x, "x", std::nullopt, "");
            std::pair<Vector, Vector> r;
            {
                const py::gil_scoped_release nogil;
                r = welch_psd(v, dt, segment);
            }
            return py::make_tuple(owned_vector(std::move(r.first)),
                                  owned_vector(std::move(r.second)));
        },
        py::arg("x"), py::arg("dt"), py::arg("segment") = 1024,
        "Welch power spectral density (Hann window, 50 % overlap, segments of the largest "
        "power of two up to `segment` and len(x) samples) of the mean-removed series x sampled "
        "every dt seconds: "
        "(frequencies Hz, PSD x^2/Hz).");
}

}  // namespace gridbatch::python
