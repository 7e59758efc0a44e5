#include "gridbatch/network.hpp"

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "core/invalid_input.hpp"
#include "gridbatch/error.hpp"

namespace gridbatch {
namespace {

void require_size(const std::string& source, const char* table, const char* column, Index got,
                  Index expected) {
    if (got != expected)
        throw Error(ErrorKind::invalid_input, source + ": " + table + "." + column + " has " +
                                                  std::to_string(got) + " entries, expected " +
                                                  std::to_string(expected));
}

// The prefix of a message about row i of a table: "case.m:31: mpc.bus row 3" where the row's
// line is known, else "case.m: bus row 3".
class RowNames {
public:
    RowNames(const std::string& source, const SourceLines& lines) : src_(source), lines_(lines) {}
    std::string operator()(const char* table, Index i) const {
        const std::string t = table;
        const std::vector<int>& l = t == "bus"   ? lines_.bus
                                    : t == "gen" ? lines_.gen
                                                 : lines_.branch;
        const auto at = static_cast<std::size_t>(i);
        if (at < l.size() && l[at] > 0)
            return src_ + ":" + std::to_string(l[at]) + ": mpc." + t + " row " +
                   std::to_string(i + 1);
        return src_ + ": " + t + " row " + std::to_string(i + 1);
    }

private:
    const std::string& src_;
    const SourceLines& lines_;
};

void require_finite(const RowNames& row, const char* table, const char* column, const Vector& v,
                    bool allow_inf = false) {
    for (Index i = 0; i < v.size(); ++i) {
        const bool bad = allow_inf ? std::isnan(v[i]) : !std::isfinite(v[i]);
        if (bad)
            throw Error(ErrorKind::invalid_input,
                        row(table, i) + ": " + column +
                            (allow_inf ? " is not a number (NaN)" : " is not a finite number"));
    }
}

// MATPOWER's status columns as the reader stores them: 1 in service, 0 out (other values would
// mean in service here and out there).
void require_status(const std::string& where, std::int8_t status) {
    if (status != 0 && status != 1)
        throw Error(ErrorKind::invalid_input, where + "status " + std::to_string(int(status)) +
                                                  " is not 0 (out of service) or 1 (in service)");
}

}  // namespace

Network Network::from_tables(Real base_mva, BusTable buses, GeneratorTable generators,
                             BranchTable branches, std::string source, const SourceLines& lines) {
    Network net;
    net.source_ = std::move(source);
    const std::string& src = net.source_;
    const RowNames row(src, lines);
    if (!(base_mva > 0) || !std::isfinite(base_mva))
        throw Error(ErrorKind::invalid_input,
                    (lines.base_mva > 0 ? src + ":" + std::to_string(lines.base_mva) + ": mpc."
                                        : src + ": ") +
                        "baseMVA " + detail::num(base_mva) + " must be a positive number");
    const Index nb = buses.id.size();
    if (nb == 0) throw Error(ErrorKind::invalid_input, src + ": the network has no buses");
    for (auto [col, v] : {std::pair{"type", buses.type.size()},
                          {"pd", buses.pd.size()},
                          {"qd", buses.qd.size()},
                          {"gs", buses.gs.size()},
                          {"bs", buses.bs.size()},
                          {"vm", buses.vm.size()},
                          {"va", buses.va.size()},
                          {"base_kv", buses.base_kv.size()},
                          {"vmax", buses.vmax.size()},
                          {"vmin", buses.vmin.size()},
                          {"area", buses.area.size()},
                          {"zone", buses.zone.size()}})
        require_size(src, "bus", col, v, nb);
    const Index ng = generators.bus.size();
    for (auto [col, v] : {std::pair{"pg", generators.pg.size()},
                          {"qg", generators.qg.size()},
                          {"qmax", generators.qmax.size()},
                          {"qmin", generators.qmin.size()},
                          {"vg", generators.vg.size()},
                          {"mbase", generators.mbase.size()},
                          {"pmax", generators.pmax.size()},
                          {"pmin", generators.pmin.size()},
                          {"in_service", generators.in_service.size()}})
        require_size(src, "gen", col, v, ng);
    const Index nl = branches.from.size();
    for (auto [col, v] : {std::pair{"to", branches.to.size()},
                          {"r", branches.r.size()},
                          {"x", branches.x.size()},
                          {"b", branches.b.size()},
                          {"rate_a", branches.rate_a.size()},
                          {"rate_b", branches.rate_b.size()},
                          {"rate_c", branches.rate_c.size()},
                          {"tap", branches.tap.size()},
                          {"shift", branches.shift.size()},
                          {"in_service", branches.in_service.size()},
                          {"angle_min", branches.angle_min.size()},
                          {"angle_max", branches.angle_max.size()}})
        require_size(src, "branch", col, v, nl);

    for (auto [col, v] : {std::pair{"Pd", &buses.pd},
                          {"Qd", &buses.qd},
                          {"Gs", &buses.gs},
                          {"Bs", &buses.bs},
                          {"Vm", &buses.vm},
                          {"Va", &buses.va}})
        require_finite(row, "bus", col, *v);
    // Limits and ratings may be infinite (unlimited, as MATPOWER writes them) but never NaN.
    for (auto [col, v] :
         {std::pair{"baseKV", &buses.base_kv}, {"Vmax", &buses.vmax}, {"Vmin", &buses.vmin}})
        require_finite(row, "bus", col, *v, /*allow_inf=*/true);
    for (auto [col, v] :
         {std::pair{"Pg", &generators.pg}, {"Qg", &generators.qg}, {"Vg", &generators.vg}})
        require_finite(row, "gen", col, *v);
    for (auto [col, v] : {std::pair{"Qmax", &generators.qmax},
                          {"Qmin", &generators.qmin},
                          {"mBase", &generators.mbase},
                          {"Pmax", &generators.pmax},
                          {"Pmin", &generators.pmin}})
        require_finite(row, "gen", col, *v, /*allow_inf=*/true);
    for (auto [col, v] : {std::pair{"r", &branches.r},
                          {"x", &branches.x},
                          {"b", &branches.b},
                          {"ratio", &branches.tap},
                          {"angle", &branches.shift}})
        require_finite(row, "branch", col, *v);
    for (auto [col, v] : {std::pair{"rateA", &branches.rate_a},
                          {"rateB", &branches.rate_b},
                          {"rateC", &branches.rate_c},
                          {"angmin", &branches.angle_min},
                          {"angmax", &branches.angle_max}})
        require_finite(row, "branch", col, *v, /*allow_inf=*/true);

    net.base_mva_ = base_mva;
    for (Index i = 0; i < nb; ++i) {
        const int t = buses.type[i];
        if (t < 1 || t > 4)
            throw Error(ErrorKind::invalid_input,
                        row("bus", i) + " (bus " + std::to_string(buses.id[i]) + "): type " +
                            std::to_string(t) + " is not 1 (PQ), 2 (PV), 3 (REF) or 4 (isolated)");
        // MATPOWER numbers buses 1, 2, ...: its ext2int indexes by bus number.
        if (buses.id[i] <= 0)
            throw Error(ErrorKind::invalid_input, row("bus", i) + ": bus number " +
                                                      std::to_string(buses.id[i]) +
                                                      " is not a positive integer");
        if (!net.bus_index_.emplace(buses.id[i], i).second)
            throw Error(ErrorKind::invalid_input,
                        row("bus", i) + ": bus " + std::to_string(buses.id[i]) +
                            " appears twice in the bus table (first in row " +
                            std::to_string(net.bus_index_.at(buses.id[i]) + 1) + ")");
        if (t == 3 && net.reference_bus_ < 0) net.reference_bus_ = i;
        if (t != 4 && buses.vmin[i] > buses.vmax[i])
            throw Error(ErrorKind::invalid_input,
                        row("bus", i) + " (bus " + std::to_string(buses.id[i]) + "): Vmin " +
                            detail::num(buses.vmin[i]) + " is above Vmax " +
                            detail::num(buses.vmax[i]));
    }
    if (net.reference_bus_ < 0)
        throw Error(ErrorKind::invalid_input,
                    src + ": no reference bus (no bus of type 3 in the bus table)");

    net.branch_from_.resize(nl);
    net.branch_to_.resize(nl);
    for (Index k = 0; k < nl; ++k) {
        const std::string where = row("branch", k) + " (bus " + std::to_string(branches.from[k]) +
                                  " -> " + std::to_string(branches.to[k]) + "): ";
        for (auto [end, id, out] : {std::tuple{"from", branches.from[k], &net.branch_from_},
                                    {"to", branches.to[k], &net.branch_to_}}) {
            auto it = net.bus_index_.find(id);
            if (it == net.bus_index_.end())
                throw Error(ErrorKind::invalid_input, where + end + " bus " + std::to_string(id) +
                                                          " is not in the bus table");
            (*out)[k] = static_cast<int>(it->second);
        }
        require_status(where, branches.in_service[k]);
        if (branches.in_service[k] == 0) continue;
        // A data error: in Ybus its series terms cancel and its charging becomes a shunt, and
        // its "flow" means nothing.
        if (branches.from[k] == branches.to[k])
            throw Error(ErrorKind::invalid_input,
                        where + "connects bus " + std::to_string(branches.from[k]) + " to itself");
        if (branches.r[k] == 0 && branches.x[k] == 0)
            throw Error(ErrorKind::invalid_input,
                        where + "zero impedance (r = x = 0) is not supported");
        if (branches.tap[k] < 0)
            throw Error(ErrorKind::invalid_input,
                        where + "ratio " + detail::num(branches.tap[k]) +
                            " is negative (a transformer's off-nominal turns ratio; 0 for a line)");
        for (auto [col, v] : {std::pair{"rateA", branches.rate_a[k]},
                              {"rateB", branches.rate_b[k]},
                              {"rateC", branches.rate_c[k]}})
            if (v < 0)
                throw Error(ErrorKind::invalid_input, where + col + " " + detail::num(v) +
                                                          " is negative (MVA; 0 = unlimited)");
    }
    net.gen_bus_.resize(ng);
    for (Index g = 0; g < ng; ++g) {
        auto it = net.bus_index_.find(generators.bus[g]);
        if (it == net.bus_index_.end())
            throw Error(ErrorKind::invalid_input, row("gen", g) + ": bus " +
                                                      std::to_string(generators.bus[g]) +
                                                      " is not in the bus table");
        net.gen_bus_[g] = static_cast<int>(it->second);
        const std::string where =
            row("gen", g) + " (bus " + std::to_string(generators.bus[g]) + "): ";
        require_status(where, generators.in_service[g]);
        if (generators.in_service[g] == 0) continue;
        if (!(generators.vg[g] > 0))
            throw Error(ErrorKind::invalid_input, where + "voltage setpoint Vg " +
                                                      detail::num(generators.vg[g]) +
                                                      " p.u. must be > 0");
        if (generators.qmin[g] > generators.qmax[g])
            throw Error(ErrorKind::invalid_input,
                        where + "Qmin " + detail::num(generators.qmin[g]) + " is above Qmax " +
                            detail::num(generators.qmax[g]));
    }
    net.buses_ = std::move(buses);
    net.generators_ = std::move(generators);
    net.branches_ = std::move(branches);
    return net;
}

Index Network::internal_bus(Index external_id) const {
    auto it = bus_index_.find(external_id);
    if (it == bus_index_.end())
        throw Error(ErrorKind::invalid_input,
                    source_ + ": bus " + std::to_string(external_id) + " is not in the network");
    return it->second;
}

bool Network::branch_active(Index k) const {
    const auto isolated = static_cast<std::int8_t>(BusType::isolated);
    return branches_.in_service[k] != 0 && buses_.type[branch_from_[k]] != isolated &&
           buses_.type[branch_to_[k]] != isolated;
}

bool Network::gen_active(Index g) const {
    return generators_.in_service[g] != 0 &&
           buses_.type[gen_bus_[g]] != static_cast<std::int8_t>(BusType::isolated);
}

Index Network::n_transformers() const {
    Index n = 0;
    for (Index k = 0; k < n_branch(); ++k)
        if (branches_.tap[k] != 0 || branches_.shift[k] != 0) ++n;
    return n;
}

Index Network::n_areas() const {
    return static_cast<Index>(
        std::set<Index>(buses_.area.data(), buses_.area.data() + buses_.area.size()).size());
}

}  // namespace gridbatch
