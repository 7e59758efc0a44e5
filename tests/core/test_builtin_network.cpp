#include <gtest/gtest.h>

#include "gridbatch/admittance.hpp"
#include "gridbatch/builtin_network.hpp"
#include "gridbatch/matpower.hpp"

namespace gridbatch {
namespace {

TEST(BuiltinNetwork, HasTheDocumentedShape) {
    const Network net = builtin_network();
    EXPECT_GE(net.n_bus(), 100);
    EXPECT_TRUE(net.has_bus(kBuiltinPoi161));
    EXPECT_TRUE(net.has_bus(kBuiltinPoi500));
    EXPECT_EQ(net.buses().base_kv[net.internal_bus(kBuiltinPoi161)], 161.0);
    EXPECT_EQ(net.buses().base_kv[net.internal_bus(kBuiltinPoi500)], 500.0);
    for (Index g = 0; g < net.n_gen(); ++g)  // every generator sits on a PV or the REF bus
        EXPECT_NE(net.buses().type[net.gen_bus()[g]], static_cast<std::int8_t>(BusType::pq));
}

TEST(MatpowerWriter, RoundTripsTablesExactly) {
    const Network a = builtin_network();
    const Network b = parse_matpower(format_matpower(a, "builtin"), "roundtrip.m");
    ASSERT_EQ(a.n_bus(), b.n_bus());
    ASSERT_EQ(a.n_branch(), b.n_branch());
    ASSERT_EQ(a.n_gen(), b.n_gen());
    EXPECT_EQ(a.buses().id, b.buses().id);
    EXPECT_EQ(a.buses().pd, b.buses().pd);
    EXPECT_EQ(a.branches().x, b.branches().x);
    EXPECT_EQ(a.branches().b, b.branches().b);
    EXPECT_EQ(a.generators().pg, b.generators().pg);
    const Admittance ya = make_admittance(a), yb = make_admittance(b);
    EXPECT_EQ((ya.ybus - yb.ybus).norm(), 0.0);
}

}  // namespace
}  // namespace gridbatch
