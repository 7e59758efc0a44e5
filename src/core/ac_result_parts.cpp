#include "core/ac_result_parts.hpp"

#include <type_traits>
#include <utility>

namespace gridbatch::detail {
namespace {

// f(part's field, full's field) for every field with one column (matrices) or entry (vectors)
// per scenario, Q-limited bus lists aside.
template <class F>
void for_each_scenario_field(const AcPowerFlowResult& part, AcPowerFlowResult& full, F&& f) {
    f(part.vm, full.vm);
    f(part.va, full.va);
    f(part.pg, full.pg);
    f(part.qg, full.qg);
    f(part.pf, full.pf);
    f(part.qf, full.qf);
    f(part.pt, full.pt);
    f(part.qt, full.qt);
    f(part.loss_mw, full.loss_mw);
    f(part.loss_mvar, full.loss_mvar);
    f(part.slack_mw, full.slack_mw);
    f(part.report.status, full.report.status);
    f(part.report.iterations, full.report.iterations);
    f(part.report.max_mismatch, full.report.max_mismatch);
}

template <class M>
constexpr bool is_vector = M::ColsAtCompileTime == 1;

}  // namespace

AcBatch slice(const AcBatch& b, Index first, Index count) {
    AcBatch part(b.pd.middleCols(first, count), b.qd.middleCols(first, count));
    // Ref has no assignment: optional inputs are emplaced.
    if (b.pg) part.pg.emplace(b.pg->middleCols(first, count));
    if (b.vg) part.vg.emplace(b.vg->middleCols(first, count));
    if (b.vm0) part.vm0.emplace(b.vm0->middleCols(first, count));
    if (b.va0_deg) part.va0_deg.emplace(b.va0_deg->middleCols(first, count));
    if (b.outage) part.outage.emplace(b.outage->segment(first, count));
    return part;
}

double solve_bytes_per_scenario(const Network& net) {
    return 8.0 * static_cast<double>(5 * net.n_bus() + 7 * net.n_gen() + 4 * net.n_branch() + 8);
}

AcPowerFlowResult sized_result(const Network& net, Index S, Backend backend) {
    AcPowerFlowResult r;
    for (Matrix* m : {&r.vm, &r.va}) m->resize(net.n_bus(), S);
    for (Matrix* m : {&r.pg, &r.qg}) m->resize(net.n_gen(), S);
    for (Matrix* m : {&r.pf, &r.qf, &r.pt, &r.qt}) m->resize(net.n_branch(), S);
    for (Vector* v : {&r.loss_mw, &r.loss_mvar, &r.slack_mw}) v->resize(S);
    r.report = ScenarioReport(S);
    r.q_limited_buses.assign(static_cast<std::size_t>(S), {});
    r.backend = backend;
    return r;
}

void copy_scenario(const AcPowerFlowResult& part, Index j, AcPowerFlowResult& full, Index s) {
    for_each_scenario_field(part, full, [&](const auto& from, auto& to) {
        if constexpr (is_vector<std::decay_t<decltype(from)>>)
            to[s] = from[j];
        else
            to.col(s) = from.col(j);
    });
    full.q_limited_buses[static_cast<std::size_t>(s)] =
        part.q_limited_buses[static_cast<std::size_t>(j)];
}

void place(AcPowerFlowResult&& part, AcPowerFlowResult& full, Index first) {
    const Index count = part.report.size();
    for_each_scenario_field(part, full, [&](const auto& from, auto& to) {
        if constexpr (is_vector<std::decay_t<decltype(from)>>)
            to.segment(first, count) = from;
        else
            to.middleCols(first, count) = from;
    });
    for (Index s = 0; s < count; ++s)
        full.q_limited_buses[static_cast<std::size_t>(first + s)] =
            std::move(part.q_limited_buses[static_cast<std::size_t>(s)]);
}

}  // namespace gridbatch::detail
