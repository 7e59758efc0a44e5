// The Python-side solver objects: the C++ solver plus a mutex. Solves run without the GIL, so two
// Python threads could otherwise enter one solver at once; DcPowerFlow::solve and the
// sensitivities mutate it, and AcPowerFlow's engine workspaces are not meant for two threads.
#pragma once

#include <mutex>

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

}  // namespace gridbatch::python
