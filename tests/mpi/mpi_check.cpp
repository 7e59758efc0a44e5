// Run under `mpirun -np N`: sharded DC and AC power flows must equal the one-process solve
// bitwise, and bad input in one rank's shard must end every rank with a clear message.
// Prints "N passed, M failed" on rank 0 and exits non-zero on any failure.
#include <cmath>
#include <iostream>
#include <limits>
#include <string>

#include "gridbatch/builtin_network.hpp"
#include "gridbatch/distributed.hpp"
#include "gridbatch/error.hpp"

using namespace gridbatch;

int main() {
    auto comm = mpi_communicator();
    int passed = 0, failed = 0;
    auto expect = [&](bool ok, const std::string& what) {
        if (comm->rank() != 0) return;
        (ok ? passed : failed)++;
        std::cout << (ok ? "[  PASSED  ] " : "[  FAILED  ] ") << what << std::endl;
    };

    const Network net = builtin_network();
    const Index S = 37;  // not a multiple of the chunk: the last chunk is partial
    Matrix pd(net.n_bus(), S), qd(net.n_bus(), S);
    for (Index s = 0; s < S; ++s) {
        const Real f = 0.7 + 0.6 * static_cast<Real>(s) / static_cast<Real>(S - 1);
        pd.col(s) = net.buses().pd * f;
        qd.col(s) = net.buses().qd * f;
    }

    DcOptions dco;
    dco.backend = Backend::cpu;
    dco.threads = 1;
    DcPowerFlow dc(net, dco);
    const DcPowerFlowResult dc_sharded = solve_sharded(dc, pd, *comm, 4);
    if (comm->rank() == 0) {
        const DcPowerFlowResult ref = dc.solve(pd);
        expect(dc_sharded.va == ref.va && dc_sharded.pf == ref.pf && dc_sharded.pg == ref.pg &&
                   dc_sharded.report.status == ref.report.status,
               "DC sharded over " + std::to_string(comm->size()) + " ranks == one process");
    }

    AcOptions aco;
    aco.backend = Backend::cpu;
    aco.threads = 1;
    aco.enforce_q_limits = true;
    const AcPowerFlow ac(net, aco);
    const AcPowerFlowResult ac_sharded = solve_sharded(ac, AcBatch(pd, qd), *comm, 5);
    if (comm->rank() == 0) {
        const AcPowerFlowResult ref = ac.solve(AcBatch(pd, qd));
        expect(
            ac_sharded.vm == ref.vm && ac_sharded.va == ref.va && ac_sharded.qf == ref.qf &&
                ac_sharded.qg == ref.qg && ac_sharded.loss_mw == ref.loss_mw &&
                ac_sharded.report.iterations == ref.report.iterations &&
                ac_sharded.q_limited_buses == ref.q_limited_buses,
            "AC (Q limits) sharded over " + std::to_string(comm->size()) + " ranks == one process");
    }

    // Bad input in one shard: every rank must throw, naming the failing rank and scenario.
    Matrix bad = pd;
    bad(3, 29) = std::numeric_limits<Real>::quiet_NaN();
    std::string message;
    try {
        solve_sharded(dc, bad, *comm, 4);
    } catch (const Error& e) {
        message = e.what();
    }
    int all_threw = !message.empty(), everyone = 0;
    everyone = static_cast<int>(comm->max_over_ranks(all_threw ? 0 : 1)) == 0;
    expect(everyone && message.find("rank ") != std::string::npos &&
               message.find("scenario") != std::string::npos,
           "a NaN in one shard ends every rank with: " + message);

    if (comm->rank() == 0) std::cout << passed << " passed, " << failed << " failed" << std::endl;
    return comm->max_over_ranks(failed) > 0 ? 1 : 0;
}
