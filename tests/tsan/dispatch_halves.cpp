// ThreadSanitizer check of the CPU dispatch engine, the one engine with synchronisation of its
// own: a scenario's two halves of the dynamic program run on two threads, which wait for each
// other's meet and join (scripts/tsan.sh builds it with -fsanitize=thread and runs it). One and
// three scenarios on 1, 2, 4 and 7 threads, the third scenario infeasible so that its halves do
// not meet and one thread runs the one pass; results equal the one-thread run bitwise.
#include <cmath>
#include <cstdio>
#include <random>

#include "engine/dispatch_engine.hpp"

namespace gridbatch::detail::cpu {
std::unique_ptr<DispatchEngine> make_dispatch_engine(int threads);
}
using namespace gridbatch;
namespace dp = gridbatch::detail::dispatch;

int main() {
    const Index T = 3001;
    std::mt19937 rng(3);
    std::uniform_real_distribution<double> u(0, 1);
    int bad = 0;
    for (Index S : {1, 3}) {
        Matrix load(T, S);
        std::vector<dp::FleetParams> fleets(S);
        for (Index s = 0; s < S; ++s) {
            double base = 100;
            for (Index t = 0; t < T; ++t) {
                base = std::max(20.0, base + 4 * (u(rng) - 0.5));
                load(t, s) = base + ((t / 7) % 2 ? 30.0 : -30.0);
            }
            dp::FleetParams& f = fleets[s];
            const double e = 0.5 + 2 * u(rng);
            f.e_min = 0.1 * e;
            f.e_max = 0.9 * e;
            f.e_init = 0.5 * e;
            f.p_charge = f.p_discharge = 30;
            f.eta_c = f.eta_d = 0.95;
            f.decay = 1;
            f.kappa = 1;
            f.target = 0;
            f.terminal = 0;
            f.g_min = 0;
            f.g_max = s == 2 ? 105.0 : HUGE_VAL;  // scenario 2 cannot keep it
        }
        DispatchResult one = detail::allocate(T, S, Backend::cpu);
        detail::cpu::make_dispatch_engine(1)->solve(load, fleets, 1.0 / 60, 2, one);
        for (int threads : {2, 4, 7}) {
            DispatchResult many = detail::allocate(T, S, Backend::cpu);
            detail::cpu::make_dispatch_engine(threads)->solve(load, fleets, 1.0 / 60, 2, many);
            const bool same = one.battery_mw == many.battery_mw && one.soc_mwh == many.soc_mwh &&
                              one.objective == many.objective &&
                              one.infeasible_step == many.infeasible_step;
            std::printf("%ld scenarios on %d threads: %s\n", static_cast<long>(S), threads,
                        same ? "the one-thread results" : "DIFFERENT from one thread");
            bad += !same;
        }
    }
    return bad;
}
