// A batch whose results do not fit the host memory budget is refused up front, naming what it
// needs and what there is; GRIDBATCH_MEMORY_LIMIT stands in for a small machine.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "gridbatch/ac_power_flow.hpp"
#include "gridbatch/battery_dispatch.hpp"
#include "gridbatch/builtin_network.hpp"
#include "gridbatch/dc_power_flow.hpp"
#include "gridbatch/error.hpp"
#include "gridbatch/load_profiles.hpp"

namespace gridbatch {
namespace {

// Sets GRIDBATCH_MEMORY_LIMIT for one test and restores the environment after it.
class MemoryLimit {
public:
    explicit MemoryLimit(const char* value) {
        if (const char* old = std::getenv(kName)) old_ = old;
        setenv(kName, value, 1);
    }
    ~MemoryLimit() {
        if (old_.empty())
            unsetenv(kName);
        else
            setenv(kName, old_.c_str(), 1);
    }

private:
    static constexpr const char* kName = "GRIDBATCH_MEMORY_LIMIT";
    std::string old_;
};

// Runs f, which must throw an Error whose message contains every one of `parts`.
template <typename F>
void expect_refused(F&& f, std::initializer_list<const char*> parts) {
    try {
        f();
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::invalid_input);
        for (const char* part : parts)
            EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
}

Matrix scaled(const Vector& column, Index scenarios) { return column.replicate(1, scenarios); }

TEST(MemoryLimit, LargeBatchesAreRefusedSmallOnesRun) {
    const Network net = builtin_network();
    const MemoryLimit limit("2M");  // about 600 DC or 300 AC scenarios of the built-in network
    DcOptions dco;
    dco.backend = Backend::cpu;
    DcPowerFlow dc(net, dco);
    expect_refused([&] { dc.solve(scaled(net.buses().pd, 5000)); },
                   {"DC power flow of 5000 scenarios needs", "GRIDBATCH_MEMORY_LIMIT"});
    EXPECT_EQ(dc.solve(scaled(net.buses().pd, 20)).report.n_converged(), 20);

    AcOptions aco;
    aco.backend = Backend::cpu;
    const AcPowerFlow ac(net, aco);
    expect_refused([&] { ac.solve(scaled(net.buses().pd, 5000), scaled(net.buses().qd, 5000)); },
                   {"AC power flow of 5000 scenarios needs", "0.002 GB is the limit"});
    EXPECT_EQ(ac.solve(scaled(net.buses().pd, 10), scaled(net.buses().qd, 10)).report.n_converged(),
              10);

    LoadProfileOptions lpo;
    lpo.steps = 3600;
    lpo.backend = Backend::cpu;
    expect_refused([&] { training_load({TrainingLoadParameters{}}, 100, lpo); },
                   {"training_load of 100 scenarios x 3600 steps needs"});
    const Matrix load = training_load({TrainingLoadParameters{}}, 2, lpo);
    DispatchOptions dpo;
    dpo.backend = Backend::cpu;
    const BatteryFleet fleet = BatteryFleet::from_units(battery_unit("megapack-2h"), 50);
    EXPECT_EQ(dispatch(load, {fleet}, {GridConnection{}}, dpo).report.n_converged(), 2);
    const Matrix many = load.replicate(1, 40);
    expect_refused([&] { dispatch(many, {fleet}, {GridConnection{}}, dpo); },
                   {"dispatch of 80 scenarios x 3600 steps needs"});
}

TEST(MemoryLimit, ABadLimitIsNamed) {
    const Network net = builtin_network();
    const MemoryLimit limit("lots");
    DcOptions dco;
    dco.backend = Backend::cpu;
    DcPowerFlow dc(net, dco);
    expect_refused([&] { dc.solve(scaled(net.buses().pd, 2)); },
                   {"GRIDBATCH_MEMORY_LIMIT='lots' is not a size"});
}

}  // namespace
}  // namespace gridbatch
