// Smooth an hour of a 150 MW training campus with 168 Megapack-class units and compare ramps;
// then the ramp-aware dispatch of a 20-unit fleet under a hard limit on the grid's ramp, and what
// it reports where the limit cannot be met.
#include <gridbatch/gridbatch.hpp>
#include <iostream>

int main() {
    using namespace gridbatch;
    try {
        LoadProfileOptions lp;
        lp.steps = 3600;  // one hour at 1 s
        const Matrix load = training_load({TrainingLoadParameters{}}, 4, lp);
        const BatteryFleet fleet = BatteryFleet::from_units(battery_unit("megapack-2h"), 168);
        DispatchOptions options;
        options.target = SmoothingTarget::mean_load;
        const DispatchResult d = dispatch(load, {fleet}, {GridConnection{}}, options);
        // The raw load's metrics: a fleet of 0 units leaves the grid taking the load as it is.
        const DispatchMetrics before = dispatch_metrics(
            load,
            causal_filter(load, {BatteryFleet::from_units(battery_unit("megapack-2h"), 0)}, 1.0),
            {fleet}, 1.0);
        const DispatchMetrics after = dispatch_metrics(load, d, {fleet}, 1.0);
        for (Index s = 0; s < load.cols(); ++s)
            std::cout << "scenario " << s << ": max ramp " << before.max_ramp_mw_per_min[s]
                      << " -> " << after.max_ramp_mw_per_min[s] << " MW/min, std "
                      << before.std_mw[s] << " -> " << after.std_mw[s] << " MW, "
                      << to_string(d.report.at(s)) << "\n";

        SmoothDispatchOptions ramp_aware;
        ramp_aware.ramp_limit_mw_per_s = 0.5;
        const BatteryFleet small = BatteryFleet::from_units(battery_unit("megapack-2h"), 20);
        const SmoothDispatchResult r =
            smooth_dispatch(load, {small}, {GridConnection{}}, ramp_aware);
        for (Index s = 0; s < load.cols(); ++s) {
            std::cout << "scenario " << s << ", 20 units, grid ramp <= 0.5 MW/s: ";
            if (r.report.at(s) == Status::infeasible)
                std::cout << "infeasible: the limits need relaxing by " << r.violation[s]
                          << " MW, first at step " << r.infeasible_step[s] << "\n";
            else
                std::cout << to_string(r.report.at(s)) << ", max ramp " << r.max_ramp_mw_per_s[s]
                          << " MW/s\n";
        }
        return 0;
    } catch (const Error& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
}
