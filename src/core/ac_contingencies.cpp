// AC contingency analysis: chunks of (scenario, outage) power flows over a Communicator, each
// chunk reduced to its summaries before the next.
#include "gridbatch/ac_contingencies.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <tuple>

#include "core/ac_result_parts.hpp"
#include "core/bridges.hpp"
#include "core/invalid_input.hpp"
#include "core/memory.hpp"
#include "core/run_chunks.hpp"
#include "gridbatch/distributed.hpp"
#include "gridbatch/error.hpp"

namespace gridbatch {
namespace {

void validate(const AcPowerFlow& pf, const AcBatch& base, const AcContingencyOptions& o) {
    const Network& net = pf.network();
    if (pf.options().algorithm != AcAlgorithm::newton)
        throw Error(ErrorKind::invalid_input,
                    "ac_contingencies needs Newton (AcOptions.algorithm is " +
                        std::string(to_string(pf.options().algorithm)) + ")");
    if (base.outage)
        throw Error(ErrorKind::invalid_input,
                    "ac_contingencies: the base cases' AcBatch.outage must be unset (the outages "
                    "are AcContingencyOptions.outages)");
    if (!(o.threshold_percent >= 0) || std::isinf(o.threshold_percent))
        throw Error(ErrorKind::invalid_input,
                    "AcContingencyOptions.threshold_percent must be finite and >= 0 (got " +
                        detail::num(o.threshold_percent) + ")");
    if (o.chunk < 0)
        throw Error(ErrorKind::invalid_input,
                    "AcContingencyOptions.chunk must be >= 0 (0 = automatic; got " +
                        std::to_string(o.chunk) + ")");
    std::vector<char> listed(static_cast<std::size_t>(net.n_branch()), 0);
    for (std::size_t i = 0; i < o.outages.size(); ++i) {
        const std::string where = "AcContingencyOptions.outages[" + std::to_string(i) +
                                  "] = " + std::to_string(o.outages[i]);
        detail::require_outage(net, o.outages[i], where, false);
        if (listed[static_cast<std::size_t>(o.outages[i])]++)  // its cases twice in the result
            throw Error(ErrorKind::invalid_input, where + ": branch listed twice");
    }
    for (std::size_t i = 0; i < o.monitored_buses.size(); ++i) {
        const Index b = o.monitored_buses[i];
        if (b < 0 || b >= net.n_bus())
            throw Error(ErrorKind::invalid_input,
                        "AcContingencyOptions.monitored_buses[" + std::to_string(i) + "] = " +
                            std::to_string(b) + ": the network has " + std::to_string(net.n_bus()) +
                            " buses (rows 0.." + std::to_string(net.n_bus() - 1) + ")");
    }
}

// The summary of power flow j of r (scenario s, outage k; loads pd, MW, and generator schedule
// pg, MW, of its base case), and the loadings above the threshold appended to `over` as
// (scenario, outage, branch, loading) when `over` is given.
AcContingency summarize(const Network& net, const AcPowerFlowResult& r, Index j,
                        const Eigen::Ref<const Vector>& pd, const Eigen::Ref<const Vector>& pg,
                        Index s, Index k, Real threshold, std::vector<Real>* over) {
    AcContingency c;
    c.scenario = s;
    c.outage = k;
    c.status = r.report.at(j);
    c.iterations = r.report.iterations[j];
    if (c.status == Status::islanded) return c;
    const auto& bus = net.buses();
    // De-energised buses (cut off by the outage) are the ones without a voltage.
    std::vector<char> dead(static_cast<std::size_t>(net.n_bus()), 0);
    for (Index i = 0; i < net.n_bus(); ++i) {
        if (bus.type[i] == static_cast<std::int8_t>(BusType::isolated) || !std::isnan(r.vm(i, j)))
            continue;
        dead[static_cast<std::size_t>(i)] = 1;
        ++c.de_energized_buses;
        c.lost_load_mw += pd[i];
    }
    if (c.de_energized_buses > 0)
        for (Index g = 0; g < net.n_gen(); ++g)
            if (net.gen_active(g) && dead[static_cast<std::size_t>(net.gen_bus()[g])])
                c.lost_generation_mw += pg[g];
    if (c.status != Status::converged) return c;
    const auto& rate = net.branches().rate_a;
    for (Index l = 0; l < net.n_branch(); ++l) {
        // Not the branch taken out, nor one at a de-energised bus: neither carries a loading.
        if (l == k || !(rate[l] > 0) || dead[static_cast<std::size_t>(net.branch_from()[l])] ||
            dead[static_cast<std::size_t>(net.branch_to()[l])])
            continue;
        const Real loading = loading_percent(r, l, j, rate[l]);
        if (c.max_loading_branch < 0 || loading > c.max_loading_percent) {
            c.max_loading_percent = loading;
            c.max_loading_branch = l;
        }
        if (over && loading > threshold)
            over->insert(over->end(), {Real(s), Real(k), Real(l), loading});
    }
    for (Index i = 0; i < net.n_bus(); ++i) {
        if (bus.type[i] == static_cast<std::int8_t>(BusType::isolated) ||
            dead[static_cast<std::size_t>(i)])
            continue;
        const Real vm = r.vm(i, j);
        if (c.min_vm_bus < 0 || vm < c.min_vm) {
            c.min_vm = vm;
            c.min_vm_bus = i;
        }
        if (c.max_vm_bus < 0 || vm > c.max_vm) {
            c.max_vm = vm;
            c.max_vm_bus = i;
        }
        if (vm < bus.vmin[i] || vm > bus.vmax[i]) ++c.buses_outside_limits;
    }
    return c;
}

// A summary travels as doubles (indices and codes are exact): position of its outage in the list,
// then its fields, then the monitored Vm.
constexpr int kFields = 14;
void put(std::vector<Real>& out, Index position, const AcContingency& c) {
    out.insert(out.end(),
               {Real(c.scenario), Real(position), Real(static_cast<int>(c.status)),
                Real(c.iterations), c.max_loading_percent, Real(c.max_loading_branch), c.min_vm,
                Real(c.min_vm_bus), c.max_vm, Real(c.max_vm_bus), Real(c.buses_outside_limits),
                Real(c.de_energized_buses), c.lost_load_mw, c.lost_generation_mw});
}
AcContingency get(const Real* v, const std::vector<Index>& outages) {
    AcContingency c;
    c.scenario = Index(v[0]);
    c.outage = outages[static_cast<std::size_t>(v[1])];
    c.status = static_cast<Status>(static_cast<int>(v[2]));
    c.iterations = static_cast<int>(v[3]);
    c.max_loading_percent = v[4];
    c.max_loading_branch = Index(v[5]);
    c.min_vm = v[6];
    c.min_vm_bus = Index(v[7]);
    c.max_vm = v[8];
    c.max_vm_bus = Index(v[9]);
    c.buses_outside_limits = Index(v[10]);
    c.de_energized_buses = Index(v[11]);
    c.lost_load_mw = v[12];
    c.lost_generation_mw = v[13];
    return c;
}

void monitor(const AcPowerFlowResult& r, Index j, const std::vector<Index>& buses,
             std::vector<Real>& out) {
    for (Index b : buses) out.push_back(r.report.at(j) == Status::converged ? r.vm(b, j) : NAN);
}

// Power flows per chunk (AcContingencyOptions::chunk). On the CPU 256 keep every thread busy
// and chunks small enough for MPI ranks to share them evenly; a GPU engine runs one thread per
// scenario in its factorisation (blocks of 32), so 256 would keep 8 of an H100's 132
// multiprocessors busy.
Index chunk_size(const AcPowerFlow& pf, Index asked) {
    constexpr Index kCpuChunk = 256;
    if (asked > 0) return asked;
    if (pf.backend() != Backend::cuda) return kCpuChunk;
    // Per power flow: the chunk's inputs (pd, qd, vm0, va0) and what the solve holds.
    const Network& net = pf.network();
    const double bytes =
        32.0 * static_cast<double>(net.n_bus()) + detail::solve_bytes_per_scenario(net);
    return std::max(kCpuChunk, static_cast<Index>(512e6 / bytes));
}

}  // namespace

AcContingencyResult ac_contingencies(const AcPowerFlow& pf, const AcBatch& base,
                                     const AcContingencyOptions& options) {
    return ac_contingencies(pf, base, options, *local_communicator());
}

AcContingencyResult ac_contingencies(const AcPowerFlow& pf, const AcBatch& base,
                                     const AcContingencyOptions& options, Communicator& comm) {
    validate(pf, base, options);
    const Network& net = pf.network();
    const auto& bus = net.buses();
    AcContingencyResult out;
    out.outages = options.outages;
    if (out.outages.empty())
        for (Index k = 0; k < net.n_branch(); ++k)
            if (net.branch_active(k)) out.outages.push_back(k);
    // Every rank solves the base cases: the outages' start.
    out.base = pf.solve(base);
    const Index S = base.size(), n_out = static_cast<Index>(out.outages.size());
    const auto n_mon = static_cast<Index>(options.monitored_buses.size());

    // Scenario s's generator schedule (MW): the lost generation of a de-energised part.
    const auto schedule = [&](Index s) -> Vector {
        return base.pg ? Vector(base.pg->col(s)) : net.generators().pg;
    };
    std::vector<Real> cases, over;
    detail::run_chunks(
        comm, S * n_out, chunk_size(pf, options.chunk), [&](Index first, Index count) {
            const Index nb = net.n_bus(), ng = net.n_gen();
            Matrix pd(nb, count), qd(nb, count), pg(base.pg ? ng : 0, count),
                vg(base.vg ? ng : 0, count), vm0(nb, count), va0(nb, count);
            IndexVector outage(count);
            for (Index j = 0; j < count; ++j) {
                const Index q = first + j, s = q / n_out;
                pd.col(j) = base.pd.col(s);
                qd.col(j) = base.qd.col(s);
                if (base.pg) pg.col(j) = base.pg->col(s);
                if (base.vg) vg.col(j) = base.vg->col(s);
                outage[j] = out.outages[static_cast<std::size_t>(q % n_out)];
                // From the base case's solution; from the case where it has none.
                const bool warm = out.base.report.at(s) == Status::converged;
                vm0.col(j) = warm ? Vector(out.base.vm.col(s)) : bus.vm;
                va0.col(j) = warm ? Vector(out.base.va.col(s)) : bus.va;
            }
            AcBatch batch(pd, qd);
            if (base.pg) batch.pg.emplace(pg);
            if (base.vg) batch.vg.emplace(vg);
            batch.vm0.emplace(vm0);
            batch.va0_deg.emplace(va0);
            batch.outage.emplace(outage);
            const AcPowerFlowResult r = pf.solve(batch, StartMode::warm);
            for (Index j = 0; j < count; ++j) {
                const Index q = first + j, s = q / n_out;
                put(cases, q % n_out,
                    summarize(net, r, j, base.pd.col(s), schedule(s), s, outage[j],
                              options.threshold_percent, &over));
                monitor(r, j, options.monitored_buses, cases);
            }
            // As the DC screening's: a list the threshold lets grow past the memory is refused
            // as it grows (4 doubles each here, an N1Violation each in the result).
            if (!over.empty())
                detail::require_host_memory(
                    static_cast<double>(over.size() / 4) *
                        (sizeof(N1Violation) + detail::held_in_budget(4 * sizeof(Real))),
                    "ac_contingencies: the list of the " + std::to_string(over.size() / 4) +
                        " violations found by contingency " + std::to_string(first + count) +
                        " of " + std::to_string(S * n_out),
                    "raise threshold_percent (--threshold), or screen fewer "
                    "scenarios or outages at a time");
        });
    cases = comm.gather_concat(cases);
    over = comm.gather_concat(over);
    if (comm.rank() != 0) return out;

    out.cases.resize(static_cast<std::size_t>(S * (1 + n_out)));
    out.monitored_vm.resize(n_mon, S * (1 + n_out));
    for (Index s = 0; s < S; ++s) {
        const Index at = s * (1 + n_out);
        out.cases[static_cast<std::size_t>(at)] = summarize(
            net, out.base, s, base.pd.col(s), schedule(s), s, -1, options.threshold_percent, &over);
        std::vector<Real> vm;
        monitor(out.base, s, options.monitored_buses, vm);
        for (Index m = 0; m < n_mon; ++m) out.monitored_vm(m, at) = vm[static_cast<std::size_t>(m)];
    }
    const std::size_t record = kFields + static_cast<std::size_t>(n_mon);
    for (std::size_t i = 0; i + record <= cases.size(); i += record) {
        const AcContingency c = get(cases.data() + i, out.outages);
        const Index at = c.scenario * (1 + n_out) + 1 + Index(cases[i + 1]);
        out.cases[static_cast<std::size_t>(at)] = c;
        for (Index m = 0; m < n_mon; ++m)
            out.monitored_vm(m, at) = cases[i + kFields + static_cast<std::size_t>(m)];
    }

    out.violations.reserve(over.size() / 4);
    for (std::size_t i = 0; i + 4 <= over.size(); i += 4)
        out.violations.push_back(
            {Index(over[i]), Index(over[i + 1]), Index(over[i + 2]), over[i + 3]});
    std::sort(out.violations.begin(), out.violations.end(),
              [](const N1Violation& a, const N1Violation& b) {
                  return std::tie(a.scenario, a.outage, a.branch) <
                         std::tie(b.scenario, b.outage, b.branch);
              });

    out.worst_loading_percent = Vector::Constant(S, NAN);
    out.worst_outage = out.worst_branch = IndexVector::Constant(S, -1);
    out.lowest_vm = Vector::Constant(S, NAN);
    out.lowest_vm_bus = out.lowest_vm_outage = IndexVector::Constant(S, -1);
    for (Index s = 0; s < S; ++s) {
        if (out.at(s, -1).status != Status::converged) ++out.not_converged;
        for (Index k = 0; k < n_out; ++k) {
            const AcContingency& c = out.at(s, k);
            if (s == 0 && c.cuts_off()) out.islanding.push_back(c.outage);
            if (c.status == Status::islanded) continue;
            if (c.status != Status::converged) {
                ++out.not_converged;
                continue;
            }
            if (c.max_loading_branch >= 0 &&
                (out.worst_outage[s] < 0 || c.max_loading_percent > out.worst_loading_percent[s])) {
                out.worst_loading_percent[s] = c.max_loading_percent;
                out.worst_outage[s] = c.outage;
                out.worst_branch[s] = c.max_loading_branch;
            }
            if (c.min_vm_bus >= 0 && (out.lowest_vm_bus[s] < 0 || c.min_vm < out.lowest_vm[s])) {
                out.lowest_vm[s] = c.min_vm;
                out.lowest_vm_bus[s] = c.min_vm_bus;
                out.lowest_vm_outage[s] = c.outage;
            }
        }
    }
    return out;
}

}  // namespace gridbatch
