// libFuzzer target for the MATPOWER reader. For any bytes, parse_matpower either returns a valid
// network or throws gridbatch::Error of kind invalid_input whose message starts with the file
// name; anything else (another exception, a crash, a sanitizer report, a leak) is a bug. A network
// it accepts must also go through the network matrices, and write_matpower's text must read back
// to the same tables, bit for bit.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "gridbatch/admittance.hpp"
#include "gridbatch/error.hpp"
#include "gridbatch/matpower.hpp"

namespace {

using gridbatch::Index;

[[noreturn]] void fail(const char* what, const std::string& detail) {
    std::fprintf(stderr, "fuzz_matpower: %s: %s\n", what, detail.c_str());
    std::abort();
}

// Same bits, so NaN equals NaN and -0 differs from 0: the writer must lose nothing.
template <typename V>
void require_same(const V& a, const V& b, const char* column) {
    if (a.size() != b.size() ||
        (a.size() > 0 && std::memcmp(a.data(), b.data(), sizeof(a[0]) * a.size()) != 0))
        fail("write/read round trip changed column", column);
}

void require_round_trip(const gridbatch::Network& net) {
    const std::string text = gridbatch::format_matpower(net, "roundtrip");
    gridbatch::Network back = [&] {
        try {
            return gridbatch::parse_matpower(text, "roundtrip.m");
        } catch (const gridbatch::Error& e) {
            fail("the reader rejects the writer's output", e.what());
        }
    }();
    if (back.base_mva() != net.base_mva()) fail("round trip changed", "baseMVA");
    const auto &b0 = net.buses(), &b1 = back.buses();
    require_same(b0.id, b1.id, "bus.id");
    require_same(b0.type, b1.type, "bus.type");
    require_same(b0.pd, b1.pd, "bus.pd");
    require_same(b0.qd, b1.qd, "bus.qd");
    require_same(b0.gs, b1.gs, "bus.gs");
    require_same(b0.bs, b1.bs, "bus.bs");
    require_same(b0.vm, b1.vm, "bus.vm");
    require_same(b0.va, b1.va, "bus.va");
    require_same(b0.base_kv, b1.base_kv, "bus.base_kv");
    require_same(b0.vmax, b1.vmax, "bus.vmax");
    require_same(b0.vmin, b1.vmin, "bus.vmin");
    require_same(b0.area, b1.area, "bus.area");
    require_same(b0.zone, b1.zone, "bus.zone");
    const auto &g0 = net.generators(), &g1 = back.generators();
    require_same(g0.bus, g1.bus, "gen.bus");
    require_same(g0.pg, g1.pg, "gen.pg");
    require_same(g0.qg, g1.qg, "gen.qg");
    require_same(g0.qmax, g1.qmax, "gen.qmax");
    require_same(g0.qmin, g1.qmin, "gen.qmin");
    require_same(g0.vg, g1.vg, "gen.vg");
    require_same(g0.mbase, g1.mbase, "gen.mbase");
    require_same(g0.pmax, g1.pmax, "gen.pmax");
    require_same(g0.pmin, g1.pmin, "gen.pmin");
    require_same(g0.in_service, g1.in_service, "gen.in_service");
    const auto &l0 = net.branches(), &l1 = back.branches();
    require_same(l0.from, l1.from, "branch.from");
    require_same(l0.to, l1.to, "branch.to");
    require_same(l0.r, l1.r, "branch.r");
    require_same(l0.x, l1.x, "branch.x");
    require_same(l0.b, l1.b, "branch.b");
    require_same(l0.rate_a, l1.rate_a, "branch.rate_a");
    require_same(l0.rate_b, l1.rate_b, "branch.rate_b");
    require_same(l0.rate_c, l1.rate_c, "branch.rate_c");
    require_same(l0.tap, l1.tap, "branch.tap");
    require_same(l0.shift, l1.shift, "branch.shift");
    require_same(l0.in_service, l1.in_service, "branch.in_service");
    require_same(l0.angle_min, l1.angle_min, "branch.angle_min");
    require_same(l0.angle_max, l1.angle_max, "branch.angle_max");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const gridbatch::Network net = gridbatch::parse_matpower(text, "fuzz.m");
        const gridbatch::Admittance y = gridbatch::make_admittance(net);
        const gridbatch::DcMatrices dc = gridbatch::make_dc_matrices(net);
        const gridbatch::ComplexVector s = gridbatch::bus_injections(net);
        if (y.ybus.rows() != net.n_bus() || dc.bbus.rows() != net.n_bus() ||
            y.yf.rows() != net.n_branch() || s.size() != net.n_bus())
            fail("network matrices have the wrong size", net.source());
        require_round_trip(net);
    } catch (const gridbatch::Error& e) {
        if (e.kind() != gridbatch::ErrorKind::invalid_input)
            fail("parse error of the wrong kind", e.what());
        if (std::string(e.what()).rfind("fuzz.m", 0) != 0)
            fail("error message does not name the file", e.what());
    }
    return 0;
}
