// Battery dispatch for load smoothing and synthetic AI-training load profiles.
//
// Time series are scenario-major like everything else in Python: a load is (S, T), one row per
// scenario, time along the row (the C++ T x S column-major matrix, same bytes). Parameter structs
// take keyword arguments for any of their fields.
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "core/invalid_input.hpp"
#include "gridbatch/battery_dispatch.hpp"
#include "gridbatch/load_profiles.hpp"

namespace gridbatch::python {

namespace {

// Keyword-argument constructor for a plain struct: starts from the C++ defaults and sets each
// given field through its Python property, so unknown names are rejected by name.
template <class T>
std::unique_ptr<T> from_kwargs(const py::kwargs& kwargs, const char* type_name) {
    auto value = std::make_unique<T>();
    const py::object view = py::cast(value.get(), py::return_value_policy::reference);
    for (const auto item : kwargs) {
        const auto key = py::str(item.first).cast<std::string>();
        if (!py::hasattr(view, key.c_str()) || key.rfind("_", 0) == 0)
            throw Error(ErrorKind::invalid_input,
                        std::string(type_name) + " has no field '" + key + "'");
        view.attr(key.c_str()) = item.second;
    }
    return value;
}

// Owning (S, T) view of a T x S result: the matrix moves to the heap, numpy frees it.
py::array owned_scenarios(Matrix&& matrix) {
    auto* heap = new Matrix(std::move(matrix));
    const py::capsule owner(heap, [](void* p) { delete static_cast<Matrix*>(p); });
    return scenario_view(*heap, owner, true);  // nothing else sees it: the caller's to change
}

// One object shared by every scenario, or a sequence of S.
template <class T>
std::vector<T> one_or_many(const py::handle& value, const char* name) {
    if (py::isinstance<T>(value)) return {value.cast<T>()};
    try {
        return value.cast<std::vector<T>>();
    } catch (const py::cast_error&) {
        throw Error(ErrorKind::invalid_input,
                    std::string(name) + " must be one " +
                        py::str(py::type::of<T>().attr("__name__")).cast<std::string>() +
                        " or a list of one per scenario, got " +
                        py::repr(value).cast<std::string>());
    }
}

// A load (S, T) or (T,): T is whatever the last axis holds.
ScenarioInput load_input(const py::object& load) {
    const py::array a = py::module_::import("numpy").attr("asarray")(load);
    if (a.ndim() != 1 && a.ndim() != 2)
        throw Error(ErrorKind::invalid_input,
                    "load has " + std::to_string(a.ndim()) +
                        " dimensions, expected (S, T): one row per scenario, one column per "
                        "time step (or (T,) for one scenario)");
    return ScenarioInput(a, "load", static_cast<Index>(a.shape(a.ndim() - 1)), "time step");
}

DispatchOptions dispatch_options(Real dt_seconds, const py::object& method,
                                 const py::object& target, const py::object& backend, int threads,
                                 int device) {
    DispatchOptions o;
    if (!target.is_none())  // None: the C++ default
        o.target = enum_arg<SmoothingTarget>(target, "target",
                                             {{"zero", SmoothingTarget::zero},
                                              {"min_load", SmoothingTarget::min_load},
                                              {"mean_load", SmoothingTarget::mean_load}});
    o.dt_seconds = dt_seconds;
    o.method = enum_arg<DispatchMethod>(method, "method",
                                        {{"auto", DispatchMethod::automatic},
                                         {"automatic", DispatchMethod::automatic},
                                         {"taut_string", DispatchMethod::taut_string},
                                         {"dynamic_program", DispatchMethod::dynamic_program}});
    o.backend = to_backend(backend);
    o.threads = threads;
    o.device = device;
    return o;
}

std::vector<GridConnection> grids_of(const py::object& grid) {
    if (grid.is_none()) return {GridConnection{}};
    return one_or_many<GridConnection>(grid, "grid");
}

void bind_parameters(py::module_& m) {
    py::class_<BatteryUnit>(m, "BatteryUnit", "One battery unit as sold (see battery_unit()).")
        .def(py::init(
                 [](const py::kwargs& kw) { return from_kwargs<BatteryUnit>(kw, "BatteryUnit"); }),
             "Keyword arguments set any field.")
        .def_readwrite("name", &BatteryUnit::name, "Preset name.")
        .def_readwrite("energy_mwh", &BatteryUnit::energy_mwh, "Energy, MWh.")
        .def_readwrite("charge_mw", &BatteryUnit::charge_mw, "Charge power limit, MW.")
        .def_readwrite("discharge_mw", &BatteryUnit::discharge_mw, "Discharge power limit, MW.")
        .def_readwrite("round_trip_efficiency", &BatteryUnit::round_trip_efficiency,
                       "Round-trip efficiency, (0, 1].")
        .def("__repr__", [](const BatteryUnit& u) {
            return "BatteryUnit('" + u.name + "', " + detail::num(u.discharge_mw) + " MW, " +
                   detail::num(u.energy_mwh) + " MWh)";
        });
    m.def("battery_unit", &battery_unit, py::arg("name"),
          "A preset unit by name (battery_unit_names() lists them); InputError names the known "
          "ones for an unknown name.");
    m.def("battery_unit_names", &battery_unit_names, "Names of the preset battery units.");

    py::enum_<TerminalCondition>(m, "TerminalCondition", "Stored energy at the end of the horizon.")
        .value("equal", TerminalCondition::equal)
        .value("at_least_initial", TerminalCondition::at_least_initial)
        .value("free", TerminalCondition::free);

    py::class_<BatteryFleet> fleet(m, "BatteryFleet",
                                   "A battery fleet at one point of connection (acts as one "
                                   "battery). Keyword arguments set any field.");
    fleet
        .def(py::init(
            [](const py::kwargs& kw) { return from_kwargs<BatteryFleet>(kw, "BatteryFleet"); }))
        .def_static(
            "from_units",
            [](const py::object& unit, Real units) {
                return BatteryFleet::from_units(py::isinstance<py::str>(unit)
                                                    ? battery_unit(unit.cast<std::string>())
                                                    : unit.cast<BatteryUnit>(),
                                                units);
            },
            py::arg("unit"), py::arg("units"),
            "`units` copies (fractions allowed) of a BatteryUnit or preset name; SoC window "
            "5%..95%, initial 50%, efficiencies sqrt(round trip) each way.")
        .def_property(
            "terminal", [](const BatteryFleet& f) { return f.terminal; },
            [](BatteryFleet& f, const py::object& v) {
                f.terminal = enum_arg<TerminalCondition>(
                    v, "terminal",
                    {{"equal", TerminalCondition::equal},
                     {"at_least_initial", TerminalCondition::at_least_initial},
                     {"free", TerminalCondition::free}});
            },
            "'equal', 'at_least_initial' or 'free' (a TerminalCondition).")
        .def(
            "validate", [](const BatteryFleet& f) { f.validate("BatteryFleet"); },
            "Raises InputError naming a field out of range.")
        .def("__repr__", [](const BatteryFleet& f) {
            return "BatteryFleet(" + std::to_string(f.discharge_mw) + " MW, " +
                   std::to_string(f.energy_mwh) + " MWh)";
        });
    fleet.def_readwrite("energy_mwh", &BatteryFleet::energy_mwh, "Usable capacity at SoC 1, MWh.");
    fleet.def_readwrite("charge_mw", &BatteryFleet::charge_mw, "Charge limit, MW.");
    fleet.def_readwrite("discharge_mw", &BatteryFleet::discharge_mw, "Discharge limit, MW.");
    fleet.def_readwrite("charge_efficiency", &BatteryFleet::charge_efficiency, "(0, 1].");
    fleet.def_readwrite("discharge_efficiency", &BatteryFleet::discharge_efficiency, "(0, 1].");
    fleet.def_readwrite("self_discharge_per_hour", &BatteryFleet::self_discharge_per_hour,
                        "Fraction of stored energy lost per hour, [0, 1).");
    fleet.def_readwrite("soc_min", &BatteryFleet::soc_min, "Lowest SoC, fraction of energy_mwh.");
    fleet.def_readwrite("soc_max", &BatteryFleet::soc_max, "Highest SoC, fraction of energy_mwh.");
    fleet.def_readwrite("initial_soc", &BatteryFleet::initial_soc, "Initial SoC, fraction.");
    fleet.def_readwrite("throughput_cost", &BatteryFleet::throughput_cost,
                        "Cost per MWh through the terminals (objective units MW^2 h / MWh).");
    fleet.def_readwrite("ramp_limit_mw_per_s", &BatteryFleet::ramp_limit_mw_per_s,
                        "Limit on the change of battery power, MW/s (smooth_dispatch only).");

    py::class_<GridConnection>(m, "GridConnection", "Limits of the grid connection.")
        .def(py::init([](const py::kwargs& kw) {
                 return from_kwargs<GridConnection>(kw, "GridConnection");
             }),
             "Keyword arguments: import_limit_mw (default inf), export_allowed (default False), "
             "backup_mw, backup_ramp_mw_per_s, backup_cost_per_mwh (backup generation; "
             "smooth_dispatch only).")
        .def_readwrite("import_limit_mw", &GridConnection::import_limit_mw,
                       "Upper limit on grid draw, MW.")
        .def_readwrite("export_allowed", &GridConnection::export_allowed, "False: grid draw >= 0.")
        .def_readwrite("backup_mw", &GridConnection::backup_mw,
                       "Backup generation capacity at the site (gas turbines), MW; 0 = none.")
        .def_readwrite("backup_ramp_mw_per_s", &GridConnection::backup_ramp_mw_per_s,
                       "Ramp limit of the backup generation, MW/s; inf = none.")
        .def_readwrite("backup_cost_per_mwh", &GridConnection::backup_cost_per_mwh,
                       "Cost of backup energy, objective units per MWh.");

    py::class_<TrainingJob> job(m, "TrainingJob",
                                "One synchronous data-parallel training job of the synthetic "
                                "load model. Keyword arguments set any field.");
    job.def(
        py::init([](const py::kwargs& kw) { return from_kwargs<TrainingJob>(kw, "TrainingJob"); }));
    for (const auto& [name, member, doc] :
         std::initializer_list<std::tuple<const char*, Real TrainingJob::*, const char*>>{
             {"gpu_share", &TrainingJob::gpu_share, "Fraction of the site's GPUs, (0, 1]."},
             {"iteration_period_s", &TrainingJob::iteration_period_s, "Iteration period, s."},
             {"period_jitter", &TrainingJob::period_jitter, "Relative spread of periods."},
             {"compute_share", &TrainingJob::compute_share, "Fraction of an iteration at peak."},
             {"peak_level", &TrainingJob::peak_level, "Peak, fraction of IT power per GPU."},
             {"trough_level", &TrainingJob::trough_level, "Level during all-reduce."},
             {"amplitude_jitter", &TrainingJob::amplitude_jitter, "Relative std of the peak."},
             {"start_s", &TrainingJob::start_s, "Start time, s."},
             {"stop_s", &TrainingJob::stop_s, "Stop time, s."},
             {"ramp_s", &TrainingJob::ramp_s, "Start/stop ramp, s."},
             {"checkpoint_interval_s", &TrainingJob::checkpoint_interval_s, "0 = none."},
             {"checkpoint_duration_s", &TrainingJob::checkpoint_duration_s, "Seconds."},
             {"checkpoint_level", &TrainingJob::checkpoint_level, "Level while checkpointing."},
             {"failures_per_hour", &TrainingJob::failures_per_hour, "Poisson failure rate."},
             {"restart_outage_s", &TrainingJob::restart_outage_s, "Idle time after a failure."}})
        job.def_readwrite(name, member, doc);

    py::class_<TrainingLoadParameters> params(
        m, "TrainingLoadParameters",
        "The synthetic AI-training campus (defaults: ~100,000 H100s, ~150 MW). Keyword "
        "arguments set any field; `jobs` is a list of TrainingJob (assign a new list to change "
        "it).");
    params.def(py::init([](const py::kwargs& kw) {
        return from_kwargs<TrainingLoadParameters>(kw, "TrainingLoadParameters");
    }));
    for (const auto& [name, member, doc] : std::initializer_list<
             std::tuple<const char*, Real TrainingLoadParameters::*, const char*>>{
             {"gpu_count", &TrainingLoadParameters::gpu_count, "Number of GPUs."},
             {"it_kw_per_gpu", &TrainingLoadParameters::it_kw_per_gpu, "IT kW per GPU."},
             {"idle_level", &TrainingLoadParameters::idle_level, "Idle, fraction of IT power."},
             {"pue", &TrainingLoadParameters::pue, "Power usage effectiveness."},
             {"cooling_time_constant_s", &TrainingLoadParameters::cooling_time_constant_s,
              "Lag of the facility overhead, s."},
             {"noise", &TrainingLoadParameters::noise, "Relative white noise per step."}})
        params.def_readwrite(name, member, doc);
    params.def_readwrite("jobs", &TrainingLoadParameters::jobs, "The training jobs (a copy).");
}

void bind_results(py::module_& m) {
    py::class_<DispatchResult> result(
        m, "DispatchResult",
        "Battery dispatch of S scenarios. Series are (S, T) views of the result's memory "
        "(soc_mwh is (S, T + 1), row entry 0 the initial state).");
    result
        .def_property_readonly("battery_mw", matrix_of(&DispatchResult::battery_mw),
                               "(S, T) battery power, MW, > 0 discharging.")
        .def_property_readonly("soc_mwh", matrix_of(&DispatchResult::soc_mwh),
                               "(S, T + 1) stored energy, MWh.")
        .def_property_readonly("grid_mw", matrix_of(&DispatchResult::grid_mw),
                               "(S, T) grid draw = load - battery, MW.")
        .def_property_readonly("objective", vector_of(&DispatchResult::objective),
                               "(S,) sum_t h ((g - z)^2 + throughput_cost |b|), MW^2 h, z the "
                               "target (0, the scenario's min or mean load).")
        .def_property_readonly(
            "infeasible_step", vector_of(&DispatchResult::infeasible_step),
            "(S,) first step whose limits cannot be met (T: the terminal condition), -1 if none.")
        .def_property_readonly("violation", vector_of(&DispatchResult::violation),
                               "(S,) size of that violation, MW or MWh.")
        .def_property_readonly("violation_kind", vector_of(&DispatchResult::violation_kind),
                               "(S,) int8: 0 none, 1 power, 2 energy.")
        .def_property_readonly("method", vector_of(&DispatchResult::method),
                               "(S,) int8: the method used (1 taut string, 2 dynamic program).")
        .def_property_readonly(
            "relaxed_steps", vector_of(&DispatchResult::relaxed_steps),
            "(S,) steps dispatched by the relaxation (charging and discharging at once); 0 = "
            "exact.")
        .def("__repr__", [](const DispatchResult& r) {
            return "<gridbatch.DispatchResult: " + std::to_string(r.report.size()) +
                   " scenarios x " + std::to_string(r.grid_mw.rows()) + " steps, " +
                   std::to_string(r.report.n_converged()) + " optimal, backend " +
                   to_string(r.backend) + ">";
        });
    add_report(result);

    py::class_<DispatchMetrics> metrics(m, "DispatchMetrics",
                                        "Per-scenario quality of a dispatch, (S,) arrays.");
    for (const auto& [name, member, doc] :
         std::initializer_list<std::tuple<const char*, Vector DispatchMetrics::*, const char*>>{
             {"peak_mw", &DispatchMetrics::peak_mw, "Peak grid draw, MW."},
             {"max_ramp_mw_per_s", &DispatchMetrics::max_ramp_mw_per_s, "Largest step, MW/s."},
             {"max_ramp_mw_per_min", &DispatchMetrics::max_ramp_mw_per_min,
              "Largest change over 60 s, MW/min."},
             {"std_mw", &DispatchMetrics::std_mw, "Standard deviation of the grid draw, MW."},
             {"throughput_mwh", &DispatchMetrics::throughput_mwh, "sum |b| h, MWh."},
             {"equivalent_full_cycles", &DispatchMetrics::equivalent_full_cycles,
              "throughput / (2 energy)."},
             {"time_at_soc_limits_s", &DispatchMetrics::time_at_soc_limits_s,
              "Time at the SoC window's edges, s."},
             {"losses_mwh", &DispatchMetrics::losses_mwh, "Battery losses, MWh."}})
        metrics.def_property_readonly(name, vector_of(member), doc);
    metrics
        .def_property_readonly(
            "band_energy", matrix_of(&DispatchMetrics::band_energy),
            "(S, n_bands) energy of the mean-removed grid draw per frequency band (Parseval: "
            "the bands of [0, Nyquist] add up to T variance).")
        .def_readonly("bands", &DispatchMetrics::bands, "The (low, high) bands, Hz.");
}

constexpr const char* kLoadDoc =
    "load: (S, T) site load in MW, one row per scenario (or (T,)); read in place when "
    "C-contiguous float64.";

}  // namespace

void bind_dispatch(py::module_& m) {
    bind_parameters(m);
    bind_results(m);

    m.def(
        "dispatch",
        [](const py::object& load, const py::object& fleet, const py::object& grid, Real dt_seconds,
           const py::object& method, const py::object& target, const py::object& backend,
           int threads, int device, const py::object& comm) {
            const ScenarioInput in = load_input(load);
            const auto fleets = one_or_many<BatteryFleet>(fleet, "fleet");
            const auto grids = grids_of(grid);
            const DispatchOptions o =
                dispatch_options(dt_seconds, method, target, backend, threads, device);
            const CommArg c(comm);
            const Index chunk = scenario_chunk(in.scenarios());
            py::gil_scoped_release nogil;
            return gridbatch::dispatch(in.view(), fleets, grids, o, *c, chunk);
        },
        py::arg("load"), py::arg("fleet"), py::arg("grid") = py::none(), py::kw_only(),
        py::arg("dt_seconds") = 1.0, py::arg("method") = "auto", py::arg("target") = py::none(),
        py::arg("backend") = "auto", py::arg("threads") = 0, py::arg("device") = 0,
        py::arg("comm") = py::none(),
        (std::string("Optimal battery dispatch smoothing the grid draw (exact: taut string or "
                     "convex dynamic program). ") +
         kLoadDoc +
         " fleet: a BatteryFleet or one per scenario. grid: a GridConnection or one per scenario "
         "(default: unlimited import, no export). method: 'auto', 'taut_string', "
         "'dynamic_program'. target: what the grid draw is pulled towards, 'zero' (None: the "
         "default, an exact optimum), 'min_load' (exact, smoother) or 'mean_load' (the smoothest; "
         "the command line's and the study's choice); it matters only with losses, where 'zero' "
         "leaves the draw stepping between two levels as the load swings (std 4.7 MW on the "
         "default profile where 'mean_load' gives 0.04 MW). Infeasible scenarios "
         "are a status, not an error. Runs in chunks of scenarios: Ctrl-C interrupts between "
         "them. comm: a Communicator or mpi4py communicator to shard the scenarios over MPI "
         "ranks (rank 0 gets the whole result).")
            .c_str());
    m.def(
        "causal_filter",
        [](const py::object& load, const py::object& fleet, Real dt_seconds, Real time_constant_s,
           Real soc_gain_per_hour) {
            const ScenarioInput in = load_input(load);
            const auto fleets = one_or_many<BatteryFleet>(fleet, "fleet");
            CausalFilterOptions o;
            o.time_constant_s = time_constant_s;
            o.soc_gain_per_hour = soc_gain_per_hour;
            py::gil_scoped_release nogil;
            return gridbatch::causal_filter(in.view(), fleets, dt_seconds, o);
        },
        py::arg("load"), py::arg("fleet"), py::kw_only(), py::arg("dt_seconds") = 1.0,
        py::arg("time_constant_s") = 600.0, py::arg("soc_gain_per_hour") = 1.0,
        (std::string("Causal baseline without look-ahead: the grid follows a low-pass of the "
                     "load. ") +
         kLoadDoc)
            .c_str());
    m.def(
        "receding_horizon",
        [](const py::object& load, const py::object& fleet, const py::object& grid,
           Index horizon_steps, Index replan_every, Real forecast_noise, const py::object& seed,
           Real dt_seconds, const py::object& method, const py::object& target,
           const py::object& backend, int threads, int device) {
            const ScenarioInput in = load_input(load);
            const auto fleets = one_or_many<BatteryFleet>(fleet, "fleet");
            const auto grids = grids_of(grid);
            const DispatchOptions o =
                dispatch_options(dt_seconds, method, target, backend, threads, device);
            RecedingHorizonOptions mpc;
            mpc.horizon_steps = horizon_steps;
            mpc.replan_every = replan_every;
            mpc.forecast_noise = forecast_noise;
            mpc.seed = seed_arg(seed, "seed");
            mpc.before_replan = check_signals_hook();
            py::gil_scoped_release nogil;
            return gridbatch::receding_horizon(in.view(), fleets, grids, mpc, o);
        },
        py::arg("load"), py::arg("fleet"), py::arg("grid") = py::none(), py::kw_only(),
        py::arg("horizon_steps") = 3600, py::arg("replan_every") = 60,
        py::arg("forecast_noise") = 0.0, py::arg("seed") = 1, py::arg("dt_seconds") = 1.0,
        py::arg("method") = "auto", py::arg("target") = py::none(), py::arg("backend") = "auto",
        py::arg("threads") = 0, py::arg("device") = 0,
        (std::string("Receding-horizon (MPC) dispatch: every replan_every steps, the optimal "
                     "dispatch of the next horizon_steps on a forecast (the load times 1 + "
                     "forecast_noise N(0, 1), from seed), ending the window at the SoC it "
                     "started from; the first replan_every steps are applied. ") +
         kLoadDoc + " Ctrl-C interrupts between re-plans.")
            .c_str());
    m.def(
        "dispatch_metrics",
        [](const py::object& load, const DispatchResult& result, const py::object& fleet,
           Real dt_seconds, const std::optional<std::vector<std::pair<Real, Real>>>& bands) {
            const ScenarioInput in = load_input(load);
            const auto fleets = one_or_many<BatteryFleet>(fleet, "fleet");
            py::gil_scoped_release nogil;
            return bands ? dispatch_metrics(in.view(), result, fleets, dt_seconds, *bands)
                         : dispatch_metrics(in.view(), result, fleets, dt_seconds);
        },
        py::arg("load"), py::arg("result"), py::arg("fleet"), py::kw_only(),
        py::arg("dt_seconds") = 1.0, py::arg("bands") = py::none(),
        "Peak, ramps, standard deviation, throughput, cycles, losses and band energies of a "
        "dispatch, per scenario. bands: (low, high) Hz pairs (default: 1e-4..0.01, 0.01..0.1, "
        "0.1..20).");
    m.def(
        "size_fleet",
        [](const py::object& load, const py::object& unit, Real ramp_limit_mw_per_min,
           Index max_units, const py::object& grid, Real dt_seconds, const py::object& method,
           const py::object& target, const py::object& backend, int threads, int device) {
            const ScenarioInput in = load_input(load);
            const BatteryUnit u = py::isinstance<py::str>(unit)
                                      ? battery_unit(unit.cast<std::string>())
                                      : unit.cast<BatteryUnit>();
            const GridConnection g =
                grid.is_none() ? GridConnection{} : grid.cast<GridConnection>();
            const DispatchOptions o =
                dispatch_options(dt_seconds, method, target, backend, threads, device);
            detail::check_site_load(in.view(), "size_fleet");  // the caller's scenario numbers
            // Scenarios are sized independently: chunks of them, Ctrl-C between chunks.
            const Index S = in.scenarios();
            const IndexVector out =
                solve_in_chunks(S, scenario_chunk(S), [&](Index first, Index count) {
                    return size_fleet(in.view().middleCols(first, count), u, ramp_limit_mw_per_min,
                                      max_units, g, o);
                });
            return py::array_t<Index>(out.size(), out.data());
        },
        py::arg("load"), py::arg("unit"), py::arg("ramp_limit_mw_per_min"), py::kw_only(),
        py::arg("max_units") = 1000, py::arg("grid") = py::none(), py::arg("dt_seconds") = 1.0,
        py::arg("method") = "auto", py::arg("target") = py::none(), py::arg("backend") = "auto",
        py::arg("threads") = 0, py::arg("device") = 0,
        "(S,) int64: smallest unit count per scenario keeping every 60 s grid ramp within "
        "ramp_limit_mw_per_min under optimal dispatch (target as dispatch's: with the default "
        "'zero' a lossy fleet's draw keeps a step at every swing, so 'mean_load' needs far fewer "
        "units); -1 where max_units is not enough.");
    m.def(
        "training_load",
        [](const py::object& parameters, Index n_scenarios, Index steps, Real dt_seconds,
           const py::object& seed, const py::object& backend, int threads, int device) {
            const std::vector<TrainingLoadParameters> p =
                parameters.is_none()
                    ? std::vector<TrainingLoadParameters>{TrainingLoadParameters{}}
                    : one_or_many<TrainingLoadParameters>(parameters, "parameters");
            LoadProfileOptions o;
            o.steps = steps;
            o.dt_seconds = dt_seconds;
            o.seed = seed_arg(seed, "seed");
            o.backend = to_backend(backend);
            o.threads = threads;
            o.device = device;
            Matrix out;
            {
                py::gil_scoped_release nogil;
                out = training_load(p, n_scenarios, o);
            }
            return owned_scenarios(std::move(out));
        },
        py::arg("parameters") = py::none(), py::kw_only(), py::arg("n_scenarios") = 1,
        py::arg("steps") = 3600, py::arg("dt_seconds") = 1.0, py::arg("seed") = 1,
        py::arg("backend") = "auto", py::arg("threads") = 0, py::arg("device") = 0,
        "Synthetic AI-training campus load, (n_scenarios, steps) MW (no copy: the array owns "
        "the C++ buffer). parameters: a TrainingLoadParameters (default: the Colossus-sized "
        "campus) or one per scenario. Deterministic in seed, independent of threads.");
}

}  // namespace gridbatch::python
