// The model and matrices checked without a solver: MATPOWER's converged voltages put into our
// Ybus must reproduce the injections implied by the reference's generation and load.
#include <gtest/gtest.h>

#include <cmath>

#include "gridbatch/admittance.hpp"
#include "gridbatch/matpower.hpp"
#include "support/cases.hpp"

namespace gridbatch {
namespace {

bool isolated(const Network& net, Index i) {
    return net.buses().type[i] == static_cast<std::int8_t>(BusType::isolated);
}

class AdmittanceOnCase : public ::testing::TestWithParam<std::string> {};

TEST_P(AdmittanceOnCase, YbusReproducesReferenceInjections) {
    GRIDBATCH_REQUIRE_SHARED();
    const std::string name = GetParam();
    const Network net = read_matpower(test::case_path(name));
    const Admittance y = make_admittance(net);
    const ComplexVector v = test::ref_voltages(name, "nr");
    const ComplexVector s = v.cwiseProduct((y.ybus * v).conjugate());

    // Injections implied by the reference: generation of in-service units minus load.
    const test::Csv gen = test::read_csv(test::ref_path(name, "nr_gen.csv"));
    const auto pg = gen.column("pg_mw"), qg = gen.column("qg_mvar"), st = gen.column("status");
    ComplexVector expected = -ComplexVector(net.buses().pd.cast<Complex>() +
                                            Complex(0, 1) * net.buses().qd.cast<Complex>());
    for (Index g = 0; g < net.n_gen(); ++g)
        if (st[static_cast<std::size_t>(g)] > 0 && net.gen_active(g))
            expected[net.gen_bus()[g]] +=
                Complex(pg[static_cast<std::size_t>(g)], qg[static_cast<std::size_t>(g)]);
    expected /= net.base_mva();

    // Active power everywhere; reactive power only at PQ buses, because generator Q splits are
    // inconsistent in one reference (case_ACTIVSg10k, see refs/README.md) and, at PV/REF buses,
    // Q is whatever the voltages make it: those are checked against the branch flows below.
    Real worst_p = 0, worst_q = 0;
    for (Index i = 0; i < net.n_bus(); ++i) {
        if (isolated(net, i)) continue;
        worst_p = std::max(worst_p, std::abs(s[i].real() - expected[i].real()));
        if (net.buses().type[i] == static_cast<std::int8_t>(BusType::pq))
            worst_q = std::max(worst_q, std::abs(s[i].imag() - expected[i].imag()));
    }
    EXPECT_LT(worst_p, 1e-6) << name;
    EXPECT_LT(worst_q, 1e-6) << name;

    // Branch flows S_f = V_f conj(Yf V) against the reference, every branch, in MVA.
    const test::Csv br = test::read_csv(test::ref_path(name, "nr_branch.csv"));
    const auto pf = br.column("pf_mw"), qf = br.column("qf_mvar");
    const auto pt = br.column("pt_mw"), qt = br.column("qt_mvar");
    const ComplexVector sf = (y.yf * v).conjugate();
    const ComplexVector st_ = (y.yt * v).conjugate();
    Real worst_flow = 0;
    for (Index k = 0; k < net.n_branch(); ++k) {
        const auto r = static_cast<std::size_t>(k);
        const Complex f = v[net.branch_from()[k]] * sf[k] * net.base_mva();
        const Complex t = v[net.branch_to()[k]] * st_[k] * net.base_mva();
        worst_flow = std::max({worst_flow, std::abs(f.real() - pf[r]), std::abs(f.imag() - qf[r]),
                               std::abs(t.real() - pt[r]), std::abs(t.imag() - qt[r])});
    }
    EXPECT_LT(worst_flow, 1e-4) << name;  // refs carry 12 significant digits
}

TEST_P(AdmittanceOnCase, BbusReproducesDcReference) {
    GRIDBATCH_REQUIRE_SHARED();
    const std::string name = GetParam();
    const Network net = read_matpower(test::case_path(name));
    const DcMatrices dc = make_dc_matrices(net);
    const test::Csv bus = test::read_csv(test::ref_path(name, "dc_bus.csv"));
    const auto va_deg = bus.column("va_deg");
    Vector va(net.n_bus());
    for (Index i = 0; i < net.n_bus(); ++i)
        va[i] = va_deg[static_cast<std::size_t>(i)] * M_PI / 180;

    // P = Bbus va + Pbusinj + Gs/baseMVA must equal the scheduled injections.
    const test::Csv gen = test::read_csv(test::ref_path(name, "dc_gen.csv"));
    const auto pg = gen.column("pg_mw");
    Vector expected = -net.buses().pd;
    for (Index g = 0; g < net.n_gen(); ++g)
        if (net.gen_active(g)) expected[net.gen_bus()[g]] += pg[static_cast<std::size_t>(g)];
    expected /= net.base_mva();
    const Vector p = dc.bbus * va + dc.pbusinj + net.buses().gs / net.base_mva();
    Real worst = 0;
    for (Index i = 0; i < net.n_bus(); ++i)
        if (!isolated(net, i)) worst = std::max(worst, std::abs(p[i] - expected[i]));
    EXPECT_LT(worst, 1e-6) << name;

    const auto pf = test::read_csv(test::ref_path(name, "dc_branch.csv")).column("pf_mw");
    const Vector flow = (dc.bf * va + dc.pfinj) * net.base_mva();
    Real worst_flow = 0;
    for (Index k = 0; k < net.n_branch(); ++k)
        worst_flow = std::max(worst_flow, std::abs(flow[k] - pf[static_cast<std::size_t>(k)]));
    // Flows from the reference's rounded angles (12 digits in degrees) carry that rounding
    // times the branch susceptance: 1e-4 MW is what the data supports here. The DC solver itself
    // is held to 1e-8 against these references.
    EXPECT_LT(worst_flow, 1e-4) << name;
}

INSTANTIATE_TEST_SUITE_P(SharedCases, AdmittanceOnCase,
                         ::testing::ValuesIn(test::have_shared()
                                                 ? test::all_cases()
                                                 : std::vector<std::string>{"case9"}));

TEST(Admittance, TapAndShiftFollowMatpower) {
    // One transformer, tap 0.95 with a 10 degree shift, hand-computed entries.
    std::string text = test::three_bus_case_text();
    const std::string line = "1 3 0.02 0.2 0.04 100 100 100 0 0";
    text.replace(text.find(line), line.size(), "1 3 0.02 0.2 0.04 100 100 100 0.95 10");
    const Network net = parse_matpower(text, "tap.m");
    const Admittance y = make_admittance(net);
    const Complex ys = 1.0 / Complex(0.02, 0.2);
    const Complex tap = std::polar(0.95, 10 * M_PI / 180);
    const Complex ytt = ys + Complex(0, 0.02);
    EXPECT_NEAR(std::abs(y.yf.coeff(2, 0) - ytt / (0.95 * 0.95)), 0, 1e-12);
    EXPECT_NEAR(std::abs(y.yf.coeff(2, 2) - (-ys / std::conj(tap))), 0, 1e-12);
    EXPECT_NEAR(std::abs(y.yt.coeff(2, 0) - (-ys / tap)), 0, 1e-12);
    const DcMatrices dc = make_dc_matrices(net);
    EXPECT_NEAR(dc.bf.coeff(2, 0), 1 / 0.2 / 0.95, 1e-12);
    EXPECT_NEAR(dc.pfinj[2], -(1 / 0.2 / 0.95) * 10 * M_PI / 180, 1e-12);
}

}  // namespace
}  // namespace gridbatch
