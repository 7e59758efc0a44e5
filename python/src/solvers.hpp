// The Python-side solver objects: the C++ solver plus a mutex. Solves run without the GIL, so two
// Python threads could otherwise enter one solver at once; DcPowerFlow::solve and the
// sensitivities mutate it, and AcPowerFlow's engine workspaces are not meant for two threads.
#pragma once

#include <pybind11/pybind11.h>

#include <mutex>
#include <optional>

#include "bindings.hpp"
#include "gridbatch/ac_power_flow.hpp"
#include "gridbatch/dc_power_flow.hpp"

namespace gridbatch::python {

struct DcSolver {
    DcSolver(const Network& net, DcOptions options) : pf(net, std::move(options)) {}
    DcPowerFlow pf;
    std::mutex mutex;
};

struct AcSolver {
    AcSolver(const Network& net, AcOptions options) : pf(net, std::move(options)) {}
    AcPowerFlow pf;
    std::mutex mutex;
};

// An AC batch from Python's scenario-major arrays (AcPowerFlow.solve's arguments), holding the
// arrays C++ reads. scenarios: from the first array given (outage counts), which may have none.
struct AcInputs {
    AcInputs(const Network& net, const py::object& pd, const py::object& qd, const py::object& pg,
             const py::object& vg, const py::object& vm0, const py::object& va0,
             const py::object& outage);
    AcBatch batch() const;  // needs `given`; pd, qd default to the case's in each scenario
    std::optional<ScenarioInput> pd, qd, pg, vg, vm0, va0;
    std::optional<IndexVector> outage;
    Index scenarios = 0;
    bool given = false;  // whether any array was given (none: the case itself)
};

}  // namespace gridbatch::python
