// The built-in study network (docs/builtin_network.md). Everything is generated from per-km line
// constants and transformer nameplates typical of 500 kV and 161 kV practice; the layout and
// loads come from a fixed deterministic sequence, so the network is the same on every machine.
#include "gridbatch/builtin_network.hpp"

#include <cmath>
#include <vector>

namespace gridbatch {
namespace {

constexpr Real kBaseMva = 100.0;

// Per-km constants. 500 kV: three-conductor bundle of 954 kcmil ACSR; 161 kV: single 795 kcmil
// ACSR "Drake". Ratings are thermal (rateA), with 10 % / 20 % emergency ratings for B / C.
struct LineType {
    Real kv, r_ohm_km, x_ohm_km, b_us_km, rate_mva;
};
constexpr LineType k500{500.0, 0.0178, 0.325, 5.10, 2600.0};
constexpr LineType k161{161.0, 0.0733, 0.390, 2.90, 300.0};

// 500/161 kV autotransformer: 560 MVA, X = 12 %, R = 0.3 % on its own base.
constexpr Real kXfmrMva = 560.0, kXfmrX = 0.12, kXfmrR = 0.003;

class Builder {
public:
    void bus(Index id, BusType type, Real kv, Index area, Real pd = 0, Real qd = 0, Real bs = 0) {
        buses_.push_back({id, type, kv, area, pd, qd, bs});
    }
    void line(Index f, Index t, const LineType& lt, Real km) {
        const Real zbase = lt.kv * lt.kv / kBaseMva;
        branches_.push_back({f, t, lt.r_ohm_km * km / zbase, lt.x_ohm_km * km / zbase,
                             lt.b_us_km * 1e-6 * km * zbase, lt.rate_mva, 0.0});
    }
    void transformer(Index hv, Index lv) {
        const Real s = kBaseMva / kXfmrMva;
        branches_.push_back({hv, lv, kXfmrR * s, kXfmrX * s, 0.0, kXfmrMva, 1.0});
    }
    void gen(Index bus, Real pmax, Real vg) {
        gens_.push_back({bus, pmax, vg});
        for (auto& b : buses_)
            if (b.id == bus && b.type == BusType::pq) b.type = BusType::pv;
    }

    // Units are dispatched in proportion to capacity to cover the load plus ~1.5 % losses; the
    // reference bus takes up the difference.
    Network build() const {
        Real load = 0, capacity = 0;
        for (const auto& x : buses_) load += x.pd;
        for (const auto& x : gens_) capacity += x.pmax;
        const Real dispatch_fraction = 1.015 * load / capacity;
        BusTable b;
        const auto nb = static_cast<Index>(buses_.size());
        b.id.resize(nb);
        b.type.resize(nb);
        b.area.resize(nb);
        b.zone = IndexVector::Ones(nb);
        for (Vector* v : {&b.pd, &b.qd, &b.gs, &b.bs, &b.vm, &b.va, &b.base_kv, &b.vmax, &b.vmin})
            v->resize(nb);
        for (Index i = 0; i < nb; ++i) {
            const auto& x = buses_[static_cast<std::size_t>(i)];
            b.id[i] = x.id;
            b.type[i] = static_cast<std::int8_t>(x.type);
            b.area[i] = x.area;
            b.pd[i] = x.pd;
            b.qd[i] = x.qd;
            b.gs[i] = 0;
            b.bs[i] = x.bs;
            b.vm[i] = 1.0;
            b.va[i] = 0.0;
            b.base_kv[i] = x.kv;
            b.vmax[i] = 1.05;
            b.vmin[i] = 0.95;
        }
        GeneratorTable g;
        const auto ng = static_cast<Index>(gens_.size());
        g.bus.resize(ng);
        for (Vector* v : {&g.pg, &g.qg, &g.qmax, &g.qmin, &g.vg, &g.mbase, &g.pmax, &g.pmin})
            v->resize(ng);
        g.in_service = FlagVector::Ones(ng);
        for (Index k = 0; k < ng; ++k) {
            const auto& x = gens_[static_cast<std::size_t>(k)];
            g.bus[k] = x.bus;
            g.pmax[k] = x.pmax;
            g.pmin[k] = 0.2 * x.pmax;
            g.pg[k] = dispatch_fraction * x.pmax;
            g.qg[k] = 0;
            g.qmax[k] = 0.6 * x.pmax;  // ~0.85 power factor capability
            g.qmin[k] = -0.3 * x.pmax;
            g.vg[k] = x.vg;
            g.mbase[k] = x.pmax / 0.9;
        }
        BranchTable l;
        const auto nl = static_cast<Index>(branches_.size());
        l.from.resize(nl);
        l.to.resize(nl);
        for (Vector* v : {&l.r, &l.x, &l.b, &l.rate_a, &l.rate_b, &l.rate_c, &l.tap, &l.shift,
                          &l.angle_min, &l.angle_max})
            v->resize(nl);
        l.in_service = FlagVector::Ones(nl);
        for (Index k = 0; k < nl; ++k) {
            const auto& x = branches_[static_cast<std::size_t>(k)];
            l.from[k] = x.f;
            l.to[k] = x.t;
            l.r[k] = x.r;
            l.x[k] = x.x;
            l.b[k] = x.b;
            l.rate_a[k] = x.rate;
            l.rate_b[k] = 1.1 * x.rate;
            l.rate_c[k] = 1.2 * x.rate;
            l.tap[k] = x.tap;
            l.shift[k] = 0;
            l.angle_min[k] = -360;
            l.angle_max[k] = 360;
        }
        return Network::from_tables(kBaseMva, std::move(b), std::move(g), std::move(l), "builtin");
    }

private:
    struct B {
        Index id;
        BusType type;
        Real kv;
        Index area;
        Real pd, qd, bs;
    };
    struct L {
        Index f, t;
        Real r, x, b, rate, tap;
    };
    struct G {
        Index bus;
        Real pmax, vg;
    };
    std::vector<B> buses_;
    std::vector<L> branches_;
    std::vector<G> gens_;
};

// A fixed sequence in [0, 1): the layout's "random" choices, identical everywhere.
class Sequence {
public:
    Real next() {
        state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
        return static_cast<Real>(state_ >> 11) * (1.0 / 9007199254740992.0);
    }
    Real in(Real lo, Real hi) { return lo + (hi - lo) * next(); }

private:
    std::uint64_t state_ = 20261123;
};

}  // namespace

Network builtin_network() {
    Builder net;
    Sequence seq;
    constexpr int kSubs = 8;           // 500 kV substations, ids 101..108
    constexpr int kClusterBuses = 11;  // 161 kV load buses per substation, ids s*100+11..
    const Real ring_km[kSubs] = {120, 95, 140, 110, 130, 100, 125, 115};
    // Large plants on the 500 kV grid (MW) and their voltage setpoints; bus 101 is the reference.
    const Real plant_mw[kSubs] = {2400, 0, 0, 1800, 0, 1500, 0, 1200};

    for (int s = 1; s <= kSubs; ++s) {
        const Index hv = 100 + s;
        const bool plant = plant_mw[s - 1] > 0;
        // 500 kV shunt reactors compensate line charging at substations without a plant.
        net.bus(hv, s == 1 ? BusType::ref : (plant ? BusType::pv : BusType::pq), 500.0, s, 0, 0,
                plant ? 0.0 : -60.0);
        if (plant) net.gen(hv, plant_mw[s - 1], 1.03);
        const Index hub = s * 100 + 10;
        net.bus(hub, BusType::pq, 161.0, s);
        net.transformer(hv, hub);
        net.transformer(hv, hub);
        for (int j = 1; j <= kClusterBuses; ++j) {
            const Index id = hub + j;
            const Real pd = std::round(seq.in(30, 95));
            const Real cap = (j % 4 == 0) ? 30.0 : 0.0;  // switched capacitor banks, MVAr at 1 p.u.
            net.bus(id, BusType::pq, 161.0, s, pd, std::round(0.25 * pd), cap);
        }
        // Spokes from the hub, a ring through the cluster, and two chords.
        for (int j : {1, 4, 7, 10}) net.line(hub, hub + j, k161, std::round(seq.in(15, 30)));
        for (int j = 1; j <= kClusterBuses; ++j)
            net.line(hub + j, hub + (j % kClusterBuses) + 1, k161, std::round(seq.in(15, 40)));
        net.line(hub + 3, hub + 7, k161, std::round(seq.in(25, 45)));
        net.line(hub + 2, hub + 10, k161, std::round(seq.in(25, 45)));
    }
    // Mid-size plants on the 161 kV grid: (bus, MW).
    const std::pair<Index, Real> plants161[] = {{215, 300}, {320, 250}, {412, 250},
                                                {517, 400}, {713, 200}, {818, 350}};
    for (const auto& [bus, mw] : plants161) net.gen(bus, mw, 1.02);
    for (int s = 1; s <= kSubs; ++s) {
        const int n = s % kSubs + 1;
        net.line(100 + s, 100 + n, k500, ring_km[s - 1]);
        net.line(s * 100 + 16, n * 100 + 19, k161, std::round(seq.in(50, 70)));  // weak tie
    }
    net.line(101, 105, k500, 160);
    net.line(103, 107, k500, 150);

    // The campus substations: 161 kV POI fed by a double circuit from hub 310 and a single
    // circuit from 314; a 500 kV POI on a double circuit from 103 for GW-scale campuses.
    net.bus(kBuiltinPoi161, BusType::pq, 161.0, 3);
    net.line(310, kBuiltinPoi161, k161, 15);
    net.line(310, kBuiltinPoi161, k161, 15);
    net.line(314, kBuiltinPoi161, k161, 25);
    net.bus(kBuiltinPoi500, BusType::pq, 500.0, 3);
    net.line(103, kBuiltinPoi500, k500, 30);
    net.line(103, kBuiltinPoi500, k500, 30);

    return net.build();
}

}  // namespace gridbatch
