// makeYbus / makeBdc with MATPOWER's conventions (see MATPOWER's makeYbus.m and makeBdc.m).
#include "gridbatch/admittance.hpp"

#include <cmath>
#include <string>
#include <vector>

#include "core/angles.hpp"
#include "gridbatch/error.hpp"

namespace gridbatch {
namespace {

using detail::kDegToRad;

template <typename Scalar>
Eigen::SparseMatrix<Scalar, Eigen::RowMajor, int> from_triplets(
    Index rows, Index cols, const std::vector<Eigen::Triplet<Scalar, int>>& t) {
    Eigen::SparseMatrix<Scalar, Eigen::RowMajor, int> m(rows, cols);
    m.setFromTriplets(t.begin(), t.end());  // duplicates (parallel branches) are summed
    m.makeCompressed();
    return m;
}

}  // namespace

Admittance make_admittance(const Network& net) {
    const Index nb = net.n_bus(), nl = net.n_branch();
    const auto& br = net.branches();
    const auto& bus = net.buses();
    using T = Eigen::Triplet<Complex, int>;
    std::vector<T> tf, tt, tbus;
    tf.reserve(2 * nl);
    tt.reserve(2 * nl);
    tbus.reserve(4 * nl + nb);
    for (Index k = 0; k < nl; ++k) {
        if (!net.branch_active(k)) continue;
        const Complex ys = 1.0 / Complex(br.r[k], br.x[k]);
        const Complex bc(0.0, br.b[k]);
        const Real ratio = br.tap[k] != 0 ? br.tap[k] : 1.0;
        const Complex tap = std::polar(ratio, br.shift[k] * kDegToRad);
        const Complex ytt = ys + bc / 2.0;
        const Complex yff = ytt / (ratio * ratio);
        const Complex yft = -ys / std::conj(tap);
        const Complex ytf = -ys / tap;
        const int f = net.branch_from()[k], t = net.branch_to()[k];
        const int row = static_cast<int>(k);
        tf.emplace_back(row, f, yff);
        tf.emplace_back(row, t, yft);
        tt.emplace_back(row, f, ytf);
        tt.emplace_back(row, t, ytt);
        tbus.emplace_back(f, f, yff);
        tbus.emplace_back(f, t, yft);
        tbus.emplace_back(t, f, ytf);
        tbus.emplace_back(t, t, ytt);
    }
    for (Index i = 0; i < nb; ++i) {
        const int ii = static_cast<int>(i);
        // Every diagonal is stored, even when zero, so the pattern always holds the diagonal.
        tbus.emplace_back(ii, ii, Complex(bus.gs[i], bus.bs[i]) / net.base_mva());
    }
    return {from_triplets(nb, nb, tbus), from_triplets(nl, nb, tf), from_triplets(nl, nb, tt)};
}

DcMatrices make_dc_matrices(const Network& net) {
    const Index nb = net.n_bus(), nl = net.n_branch();
    const auto& br = net.branches();
    using T = Eigen::Triplet<Real, int>;
    std::vector<T> tf, tbus;
    tf.reserve(2 * nl);
    tbus.reserve(4 * nl + nb);
    DcMatrices dc;
    dc.pfinj = Vector::Zero(nl);
    dc.pbusinj = Vector::Zero(nb);
    for (Index k = 0; k < nl; ++k) {
        if (!net.branch_active(k)) continue;
        if (br.x[k] == 0)  // MATPOWER's makeBdc divides by it too, and factorises infinities
            throw Error(ErrorKind::invalid_input,
                        net.source() + ": branch row " + std::to_string(k + 1) + " (bus " +
                            std::to_string(br.from[k]) + " -> " + std::to_string(br.to[k]) +
                            ") has x = 0: the DC model (flow = angle difference / x) needs a "
                            "nonzero reactance");
        const Real ratio = br.tap[k] != 0 ? br.tap[k] : 1.0;
        const Real b = 1.0 / br.x[k] / ratio;
        const int f = net.branch_from()[k], t = net.branch_to()[k];
        const int row = static_cast<int>(k);
        tf.emplace_back(row, f, b);
        tf.emplace_back(row, t, -b);
        tbus.emplace_back(f, f, b);
        tbus.emplace_back(f, t, -b);
        tbus.emplace_back(t, f, -b);
        tbus.emplace_back(t, t, b);
        dc.pfinj[k] = -b * br.shift[k] * kDegToRad;
        dc.pbusinj[f] += dc.pfinj[k];
        dc.pbusinj[t] -= dc.pfinj[k];
    }
    for (Index i = 0; i < nb; ++i) tbus.emplace_back(static_cast<int>(i), static_cast<int>(i), 0.0);
    dc.bbus = from_triplets(nb, nb, tbus);
    dc.bf = from_triplets(nl, nb, tf);
    return dc;
}

ComplexVector bus_injections(const Network& net) {
    const auto& bus = net.buses();
    const auto& gen = net.generators();
    ComplexVector s(net.n_bus());
    for (Index i = 0; i < net.n_bus(); ++i) s[i] = -Complex(bus.pd[i], bus.qd[i]);
    for (Index g = 0; g < net.n_gen(); ++g)
        if (net.gen_active(g)) s[net.gen_bus()[g]] += Complex(gen.pg[g], gen.qg[g]);
    return s / net.base_mva();
}

}  // namespace gridbatch
