// Bad-input matrix for the public entry points: every malformed input gives a gridbatch::Error of
// the right kind whose message names the file and line or the element, and nothing crashes, hangs
// or is accepted silently. Run under ASan+UBSan by scripts/asan.sh.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "gridbatch/ac_power_flow.hpp"
#include "gridbatch/admittance.hpp"
#include "gridbatch/battery_dispatch.hpp"
#include "gridbatch/dc_power_flow.hpp"
#include "gridbatch/distributed.hpp"
#include "gridbatch/error.hpp"
#include "gridbatch/load_profiles.hpp"
#include "gridbatch/matpower.hpp"
#include "gridbatch/sensitivities.hpp"
#include "gridbatch/smooth_dispatch.hpp"
#include "support/cases.hpp"
#include "support/expect_error.hpp"

namespace gridbatch {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

using test::error_of;

std::string parse_error(const std::string& text) {
    return error_of([&] { parse_matpower(text, "bad.m"); });
}

// `text` with the first occurrence of `from` replaced; `from` must occur.
std::string replace(std::string text, const std::string& from, const std::string& to) {
    const auto pos = text.find(from);
    EXPECT_NE(pos, std::string::npos) << "'" << from << "' not in the case text";
    return pos == std::string::npos ? text : text.replace(pos, from.size(), to);
}

#define EXPECT_MESSAGE(msg, part) EXPECT_NE((msg).find(part), std::string::npos) << (msg)

// Rows of the 3-bus case (tests/support/cases.cpp), on lines 5-7 (bus), 10-11 (gen), 14-16
// (branch).
const std::string kBus2 = "2 1 50 10 0 0 1 1 0 230 1 1.1 0.9;";
const std::string kGen2 = "3 45 0 100 -100 1.01 100 1 200 0;";
const std::string kBranch2 = "2 3 0.01 0.1 0.02 100 100 100 0 0 1 -360 360;";

// ---- parse_matpower / read_matpower -----------------------------------------------------------

TEST(BadInput, EmptyAndBlankText) {
    for (const std::string text : {"", " ", "\n\n\n", "% only a comment\n", "function mpc = x\n"})
        EXPECT_MESSAGE(parse_error(text), "bad.m: missing mpc.baseMVA");
}

// Every prefix of a valid case is either the whole case or an error naming the file; only the
// prefixes that contain the closing bracket of the last table parse, to the full network.
TEST(BadInput, EveryTruncationPointOfASmallCase) {
    const std::string text = test::three_bus_case_text();
    const std::size_t complete = text.rfind(']') + 1;
    for (std::size_t cut = 0; cut < text.size(); ++cut) {
        SCOPED_TRACE("cut at byte " + std::to_string(cut));
        const std::string prefix = text.substr(0, cut);
        if (cut >= complete) {
            EXPECT_EQ(parse_matpower(prefix, "cut.m").n_branch(), 3);
            continue;
        }
        const std::string msg = error_of([&] { parse_matpower(prefix, "cut.m"); });
        EXPECT_EQ(msg.rfind("cut.m", 0), 0u) << msg;
    }
}

TEST(BadInput, TruncatedSharedCase) {
    GRIDBATCH_REQUIRE_SHARED();
    std::ifstream in(test::case_path("case118"));
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::size_t complete = text.find("];", text.find("mpc.branch")) + 1;
    for (std::size_t cut = 0; cut < complete; cut += 97) {
        SCOPED_TRACE("cut at byte " + std::to_string(cut));
        const std::string msg = error_of([&] { parse_matpower(text.substr(0, cut), "c118.m"); });
        EXPECT_EQ(msg.rfind("c118.m", 0), 0u) << msg;
    }
}

TEST(BadInput, WrongColumnCountsNameLineRowAndCount) {
    const std::string base = test::three_bus_case_text();
    struct Case {
        std::string from, to, expect;
    };
    for (const Case& c : {
             Case{kBus2, "2 1 50 10 0 0 1 1 0 230 1 1.1;",
                  "bad.m:6: mpc.bus row 2 has 12 columns, "
                  "expected at least 13"},
             Case{kGen2, "3 45 0 100 -100 1.01 100 1 200;",
                  "bad.m:11: mpc.gen row 2 has 9 columns, "
                  "expected at least 10"},
             Case{kBranch2, "2 3 0.01 0.1 0.02 100 100 100 0 0;",
                  "bad.m:15: mpc.branch row 2 has 10 columns, expected at least 11"},
             Case{kBus2, "2;", "bad.m:6: mpc.bus row 2 has 1 columns"},
             // One value too many shifts the columns after it (here the ratio would read 100
             // and the status 0): MATLAB refuses a ragged matrix.
             Case{kBranch2, "2 3 0.01 0.1 0.02 100 100 100 100 0 0 1 -360 360;",
                  "bad.m:15: mpc.branch row 2 has 14 columns, the other rows 13"},
             Case{"1 2 0.01 0.1 0.02 100 100 100 0 0 1 -360 360;",
                  "1 2 0.01 0.1 0.02 100 100 100 0 0 1 -360;",
                  "bad.m:14: mpc.branch row 1 has 12 columns, the other rows 13"},
         })
        EXPECT_MESSAGE(parse_error(replace(base, c.from, c.to)), c.expect);
}

TEST(BadInput, UnknownBusIdsNameLineRowAndBus) {
    const std::string base = test::three_bus_case_text();
    std::string msg = parse_error(replace(base, kGen2, "77 45 0 100 -100 1.01 100 1 200 0;"));
    EXPECT_MESSAGE(msg, "bad.m:11: mpc.gen row 2: bus 77 is not in the bus table");
    msg = parse_error(replace(base, kBranch2, "2 0 0.01 0.1 0.02 100 100 100 0 0 1 -360 360;"));
    EXPECT_MESSAGE(msg,
                   "bad.m:15: mpc.branch row 2 (bus 2 -> 0): to bus 0 is not in the bus table");
}

TEST(BadInput, BadBusNumbers) {
    const std::string base = test::three_bus_case_text();
    for (const std::string id : {"1.5", "NaN", "Inf", "-Inf", "1e300"}) {
        SCOPED_TRACE(id);
        EXPECT_MESSAGE(parse_error(replace(base, kBus2, id + " 1 50 10 0 0 1 1 0 230 1 1.1 0.9;")),
                       "bad.m:6: mpc.bus row 2: bus number must be an integer");
    }
    // An extra isolated bus after row 2, so that no branch refers to it.
    const auto extra_bus = [&](const std::string& id) {
        return replace(base, kBus2, kBus2 + "\n  " + id + " 4 0 0 0 0 1 1 0 230 1 1.1 0.9;");
    };
    for (const std::string id : {"0", "-2"}) {
        SCOPED_TRACE(id);
        EXPECT_MESSAGE(parse_error(extra_bus(id)),
                       "bad.m:7: mpc.bus row 3: bus number " + id + " is not a positive integer");
    }
    EXPECT_MESSAGE(parse_error(extra_bus("1")),
                   "bad.m:7: mpc.bus row 3: bus 1 appears twice in the bus table (first in row 1)");
    EXPECT_MESSAGE(parse_error(replace(base, kBus2, "2 0 50 10 0 0 1 1 0 230 1 1.1 0.9;")),
                   "bad.m:6: mpc.bus row 2 (bus 2): type 0 is not 1 (PQ)");
}

TEST(BadInput, NonFiniteValuesNameTableRowAndColumn) {
    const std::string base = test::three_bus_case_text();
    struct Case {
        std::string from, to, expect;
    };
    for (const Case& c : {
             Case{kBus2, "2 1 NaN 10 0 0 1 1 0 230 1 1.1 0.9;", "bus row 2: Pd is not a finite"},
             Case{kBus2, "2 1 50 Inf 0 0 1 1 0 230 1 1.1 0.9;", "bus row 2: Qd is not a finite"},
             Case{kBus2, "2 1 50 10 0 0 1 -Inf 0 230 1 1.1 0.9;", "bus row 2: Vm is not a finite"},
             Case{kBus2, "2 1 50 10 0 0 1 1 0 NaN 1 1.1 0.9;", "bus row 2: baseKV is not a number"},
             Case{kBus2, "2 1 50 10 0 0 1 1 0 230 1 NaN 0.9;", "bus row 2: Vmax is not a number"},
             Case{kGen2, "3 NaN 0 100 -100 1.01 100 1 200 0;", "gen row 2: Pg is not a finite"},
             Case{kGen2, "3 45 0 100 -100 Inf 100 1 200 0;", "gen row 2: Vg is not a finite"},
             Case{kGen2, "3 45 0 100 -100 1.01 100 1 NaN 0;",
                  "gen row 2: Pmax is not a number (NaN)"},
             Case{kGen2, "3 45 0 100 -100 1.01 100 NaN 200 0;", "mpc.gen row 2: status must be"},
             Case{kBranch2, "2 3 Inf 0.1 0.02 100 100 100 0 0 1 -360 360;",
                  "branch row 2: r is not a finite"},
             Case{kBranch2, "2 3 0.01 NaN 0.02 100 100 100 0 0 1 -360 360;",
                  "branch row 2: x is not a finite"},
             Case{kBranch2, "2 3 0.01 0.1 0.02 NaN 100 100 0 0 1 -360 360;",
                  "branch row 2: rateA is not a number"},
             Case{kBranch2, "2 3 0.01 0.1 0.02 100 100 100 NaN 0 1 -360 360;",
                  "branch row 2: ratio is not a finite"},
             Case{kBranch2, "2 3 0.01 0.1 0.02 100 100 100 0 Inf 1 -360 360;",
                  "branch row 2: angle is not a finite"},
             Case{kBranch2, "2 3 0.01 0.1 0.02 100 100 100 0 0 NaN -360 360;",
                  "mpc.branch row 2: status must be"},
             Case{kBranch2, "2 3 0.01 0.1 0.02 100 100 100 0 0 1 NaN 360;",
                  "branch row 2: angmin is not a number"},
         }) {
        SCOPED_TRACE(c.to);
        const std::string msg = parse_error(replace(base, c.from, c.to));
        // The file line of the row: 6 for bus row 2, 11 for gen row 2, 15 for branch row 2.
        const std::string line = c.from == kBus2 ? "6" : c.from == kGen2 ? "11" : "15";
        EXPECT_EQ(msg.rfind("bad.m:" + line + ": mpc.", 0), 0u) << msg;
        EXPECT_MESSAGE(msg, c.expect);
    }
}

TEST(BadInput, InfiniteLimitsMeanUnlimited) {
    // MATPOWER writes unlimited generator limits and ratings as Inf; they are not errors.
    std::string text =
        replace(test::three_bus_case_text(), kGen2, "3 45 0 Inf -Inf 1.01 100 1 Inf -Inf;");
    text = replace(text, kBranch2, "2 3 0.01 0.1 0.02 Inf Inf Inf 0 0 1 -Inf Inf;");
    const Network net = parse_matpower(text, "ok.m");
    EXPECT_TRUE(std::isinf(net.generators().pmax[1]));
    EXPECT_TRUE(std::isinf(net.branches().rate_a[1]));
}

TEST(BadInput, AbsurdValues) {
    const std::string base = test::three_bus_case_text();
    EXPECT_MESSAGE(
        parse_error(replace(base, kBranch2, "2 3 0 0 0.02 100 100 100 0 0 1 -360 360;")),
        "bad.m:15: mpc.branch row 2 (bus 2 -> 3): zero impedance (r = x = 0) is not supported");
    // A resistive branch (x = 0, r > 0) has an AC model but no DC one: the DC power flow names it
    // (it failed with a bare "zero pivot").
    const Network resistive = parse_matpower(
        replace(base, kBranch2, "2 3 0.05 0 0.02 100 100 100 0 0 1 -360 360;"), "r.m");
    EXPECT_EQ(AcPowerFlow(resistive).solve().report.at(0), Status::converged);
    AcOptions from_dc;
    from_dc.start = StartMode::from_dc;  // no DC model: the case angles, as with a singular B
    EXPECT_EQ(AcPowerFlow(resistive, from_dc).solve().report.at(0), Status::converged);
    AcOptions fd;
    fd.algorithm = AcAlgorithm::fast_decoupled_xb;
    EXPECT_MESSAGE(error_of([&] { AcPowerFlow(resistive, fd); }),
                   "r.m: branch row 2 (bus 2 -> 3) has x = 0: the fast-decoupled XB method's B'");
    EXPECT_MESSAGE(error_of([&] { DcPowerFlow{resistive}; }),
                   "r.m: branch row 2 (bus 2 -> 3) has x = 0: the DC model");
    // Out of service, a zero-impedance branch is harmless.
    EXPECT_EQ(
        parse_matpower(replace(base, kBranch2, "2 3 0 0 0.02 100 100 100 0 0 0 -360 360;"), "ok.m")
            .n_branch(),
        3);
    for (const std::string mva : {"0", "-100", "NaN", "Inf", "-Inf"}) {
        SCOPED_TRACE(mva);
        const std::string msg =
            parse_error(replace(base, "mpc.baseMVA = 100;", "mpc.baseMVA = " + mva + ";"));
        EXPECT_MESSAGE(msg, "bad.m:3: mpc.baseMVA ");
        EXPECT_MESSAGE(msg, " must be a positive number");
    }
    EXPECT_MESSAGE(parse_error(replace(base, "2 1 50 10", "2 1 1e999 10")),
                   "bad.m:6: '1e999' is not a number");
    // Values no power flow can mean (each solved to a non-converged or singular scenario, or
    // counted every bus as a voltage violation, before it was refused); out of service they are
    // harmless.
    struct Case {
        std::string from, to, expect;
    };
    for (const auto& c : {
             Case{kBranch2, "2 3 0.01 0.1 0.02 100 100 100 -1 0 1 -360 360;",
                  "bad.m:15: mpc.branch row 2 (bus 2 -> 3): ratio -1 is negative"},
             Case{kBranch2, "2 3 0.01 0.1 0.02 -5 100 100 0 0 1 -360 360;",
                  "bad.m:15: mpc.branch row 2 (bus 2 -> 3): rateA -5 is negative (MVA; 0 = "
                  "unlimited)"},
             Case{kGen2, "3 45 0 100 -100 0 100 1 200 0;",
                  "bad.m:11: mpc.gen row 2 (bus 3): voltage setpoint Vg 0 p.u. must be > 0"},
             Case{kGen2, "3 45 0 100 200 1.01 100 1 200 0;",
                  "bad.m:11: mpc.gen row 2 (bus 3): Qmin 200 is above Qmax 100"},
             Case{kBus2, "2 1 50 10 0 0 1 1 0 230 1 0.9 1.1;",
                  "bad.m:6: mpc.bus row 2 (bus 2): Vmin 1.1 is above Vmax 0.9"},
             Case{kBranch2, "3 3 0.01 0.1 0.02 100 100 100 0 0 1 -360 360;",
                  "bad.m:15: mpc.branch row 2 (bus 3 -> 3): connects bus 3 to itself"},
         }) {
        SCOPED_TRACE(c.to);
        EXPECT_MESSAGE(parse_error(replace(base, c.from, c.to)), c.expect);
    }
    EXPECT_NO_THROW(parse_matpower(
        replace(base, kBranch2, "2 3 0.01 0.1 0.02 -5 100 100 -1 0 0 -360 360;"), "ok.m"));
    EXPECT_NO_THROW(parse_matpower(
        replace(base, kBranch2, "3 3 0.01 0.1 0.02 100 100 100 0 0 0 -360 360;"), "ok.m"));
    EXPECT_NO_THROW(parse_matpower(replace(base, kGen2, "3 45 0 100 200 0 100 0 200 0;"), "ok.m"));
    // Tables built in code: a status other than 0 or 1 would mean in service here and out of
    // service to the MATPOWER reader.
    const Network ok = parse_matpower(base, "ok.m");
    GeneratorTable gen = ok.generators();
    gen.in_service[1] = -1;
    test::expect_error([&] { Network::from_tables(100, ok.buses(), gen, ok.branches(), "t"); },
                       {"t: gen row 2 (bus 3): status -1 is not 0 (out of service) or 1"});
    BranchTable br = ok.branches();
    br.in_service[0] = 2;
    test::expect_error([&] { Network::from_tables(100, ok.buses(), ok.generators(), br, "t"); },
                       {"t: branch row 1 (bus 1 -> 2): status 2 is not 0"});
    EXPECT_MESSAGE(
        parse_error("mpc.baseMVA = 100;\nmpc.bus = [];\nmpc.gen = [];\nmpc.branch = [];"),
        "bad.m: the network has no buses");
}

TEST(BadInput, SyntaxErrorsNameTheLine) {
    const std::string base = test::three_bus_case_text();
    EXPECT_MESSAGE(parse_error(replace(base, "mpc.version = '2';", "mpc.version = '2;")),
                   "bad.m:2: unterminated string");
    EXPECT_MESSAGE(parse_error(base + "mpc.bus_name = {\n 'a';\n"),
                   "bad.m:20: cell array opened on line 18 is not closed");
    EXPECT_MESSAGE(parse_error(replace(base, "mpc.baseMVA = 100;", "mpc.baseMVA 100;")),
                   "bad.m:3: expected '=' after mpc.baseMVA");
    EXPECT_MESSAGE(parse_error(replace(base, "mpc.gen = [", "@mpc.gen = [")),
                   "bad.m:9: unexpected character '@'");
    EXPECT_MESSAGE(parse_error(replace(base, "2 1 50 10", "2 1 50\x01 10")),
                   "bad.m:6: '50\x01' is not a number");
    EXPECT_MESSAGE(parse_error(replace(base, "2 1 50 10", std::string("2 1 50\0 10", 10))),
                   "bad.m:6:");
    // A block comment left open swallows the rest of the file, as in MATLAB: the missing field
    // says why.
    EXPECT_MESSAGE(parse_error(replace(base, "mpc.gen = [", "%{\nmpc.gen = [")),
                   "bad.m: missing mpc.gen (the %{ block comment opened on line 9 is not closed");
    // Double-quoted strings (MATLAB's string type) are values like single-quoted ones.
    EXPECT_EQ(
        parse_matpower(base + "mpc.note = \"it's \"\"x\"\"\";\nmpc.c = {\"a\", 'b'};\n", "ok.m")
            .n_bus(),
        3);
}

TEST(BadInput, BinaryGarbageIsRejected) {
    std::string junk;
    std::uint32_t state = 12345;  // a fixed LCG: the same bytes every run
    for (int i = 0; i < 4096; ++i) {
        state = state * 1664525u + 1013904223u;
        junk += static_cast<char>(state >> 24);
    }
    for (std::size_t len : {1u, 16u, 255u, 4096u}) {
        const std::string msg = error_of([&] { parse_matpower(junk.substr(0, len), "junk.m"); });
        EXPECT_EQ(msg.rfind("junk.m", 0), 0u) << msg;
    }
}

TEST(BadInput, ReadMatpowerFileErrors) {
    const std::filesystem::path dir =
        std::filesystem::path(testing::TempDir()) / "gridbatch_bad_input";
    std::filesystem::create_directories(dir);
    EXPECT_MESSAGE(error_of([&] { read_matpower((dir / "absent.m").string()); }, ErrorKind::io),
                   (dir / "absent.m").string() + ": cannot open");
    EXPECT_MESSAGE(error_of([&] { read_matpower(dir.string()); }, ErrorKind::io),
                   dir.string() + ": not a regular file");
    const std::string empty = (dir / "empty.m").string();
    std::ofstream(empty).close();
    EXPECT_MESSAGE(error_of([&] { read_matpower(empty); }), empty + ": missing mpc.baseMVA");
    const std::string bad = (dir / "bad.m").string();
    std::ofstream(bad) << replace(test::three_bus_case_text(), kBranch2, "2 3 x;");
    EXPECT_MESSAGE(error_of([&] { read_matpower(bad); }), bad + ":15: 'x' is not a number");
}

// ---- Network::from_tables ----------------------------------------------------------------------

struct Tables {
    BusTable bus;
    GeneratorTable gen;
    BranchTable branch;
};

Tables three_bus_tables() {
    const Network net = parse_matpower(test::three_bus_case_text(), "three.m");
    return {net.buses(), net.generators(), net.branches()};
}

std::string tables_error(const std::function<void(Tables&)>& spoil, Real base_mva = 100) {
    Tables t = three_bus_tables();
    spoil(t);
    return error_of([&] { Network::from_tables(base_mva, t.bus, t.gen, t.branch, "tables"); });
}

TEST(BadInput, FromTablesMismatchedColumnSizes) {
    EXPECT_MESSAGE(tables_error([](Tables& t) { t.bus.pd.resize(2); }),
                   "tables: bus.pd has 2 entries, expected 3");
    EXPECT_MESSAGE(tables_error([](Tables& t) { t.bus.type.resize(4); }),
                   "tables: bus.type has 4 entries, expected 3");
    EXPECT_MESSAGE(tables_error([](Tables& t) { t.bus.zone.resize(0); }),
                   "tables: bus.zone has 0 entries, expected 3");
    EXPECT_MESSAGE(tables_error([](Tables& t) { t.gen.in_service.resize(1); }),
                   "tables: gen.in_service has 1 entries, expected 2");
    EXPECT_MESSAGE(tables_error([](Tables& t) { t.gen.pmin.resize(5); }),
                   "tables: gen.pmin has 5 entries, expected 2");
    EXPECT_MESSAGE(tables_error([](Tables& t) { t.branch.to.resize(2); }),
                   "tables: branch.to has 2 entries, expected 3");
    EXPECT_MESSAGE(tables_error([](Tables& t) { t.branch.angle_max.resize(0); }),
                   "tables: branch.angle_max has 0 entries, expected 3");
}

TEST(BadInput, FromTablesBadElements) {
    EXPECT_MESSAGE(tables_error([](Tables&) {}, 0.0), "tables: baseMVA 0 must be a positive");
    EXPECT_MESSAGE(tables_error([](Tables&) {}, kNaN), "tables: baseMVA nan must be a positive");
    EXPECT_MESSAGE(tables_error([](Tables& t) { t.bus = BusTable{}; }),
                   "tables: the network has no buses");
    EXPECT_MESSAGE(tables_error([](Tables& t) { t.bus.type[1] = 9; }),
                   "tables: bus row 2 (bus 2): type 9 is not 1 (PQ)");
    EXPECT_MESSAGE(tables_error([](Tables& t) { t.bus.type[0] = 1; }), "no reference bus");
    EXPECT_MESSAGE(tables_error([](Tables& t) { t.bus.id[2] = 2; }),
                   "tables: bus row 3: bus 2 appears twice in the bus table (first in row 2)");
    EXPECT_MESSAGE(tables_error([](Tables& t) { t.bus.id[2] = -3; }),
                   "tables: bus row 3: bus number -3 is not a positive integer");
    EXPECT_MESSAGE(tables_error([](Tables& t) { t.gen.bus[0] = 42; }),
                   "tables: gen row 1: bus 42 is not in the bus table");
    EXPECT_MESSAGE(tables_error([](Tables& t) { t.branch.to[2] = 42; }),
                   "tables: branch row 3 (bus 1 -> 42): to bus 42 is not in the bus table");
    EXPECT_MESSAGE(tables_error([](Tables& t) { t.bus.va[2] = kInf; }),
                   "tables: bus row 3: Va is not a finite number");
    EXPECT_MESSAGE(tables_error([](Tables& t) { t.gen.qmin[1] = kNaN; }),
                   "tables: gen row 2: Qmin is not a number (NaN)");
    EXPECT_MESSAGE(tables_error([](Tables& t) { t.gen.mbase[0] = kNaN; }),
                   "tables: gen row 1: mBase is not a number");
    EXPECT_MESSAGE(tables_error([](Tables& t) { t.branch.b[0] = -kInf; }),
                   "tables: branch row 1: b is not a finite number");
    EXPECT_MESSAGE(tables_error([](Tables& t) { t.branch.rate_c[2] = kNaN; }),
                   "tables: branch row 3: rateC is not a number");
    EXPECT_MESSAGE(tables_error([](Tables& t) { t.bus.vmin[0] = kNaN; }),
                   "tables: bus row 1: Vmin is not a number");
}

// ---- DC power flow and sensitivities -----------------------------------------------------------

Network three_bus() { return parse_matpower(test::three_bus_case_text(), "three.m"); }

DcOptions cpu_dc() {
    DcOptions o;
    o.backend = Backend::cpu;
    return o;
}

TEST(BadInputDc, Shapes) {
    const Network net = three_bus();
    DcPowerFlow pf(net, cpu_dc());
    EXPECT_MESSAGE(error_of([&] { pf.solve(Matrix::Zero(2, 4)); }),
                   "pd has 2 rows but the network has 3 buses");
    EXPECT_MESSAGE(error_of([&] { pf.solve(Matrix::Zero(4, 1)); }),
                   "pd has 4 rows but the network has 3 buses");
    EXPECT_MESSAGE(error_of([&] { pf.solve(Matrix::Zero(3, 2), Matrix::Zero(2, 3)); }),
                   "pg is 2 x 3 but pd has 2 scenarios");
    EXPECT_MESSAGE(error_of([&] { pf.solve(Matrix::Zero(3, 2), Matrix::Zero(3, 2)); }),
                   "pg is 3 x 2");
}

// No scenarios is an empty batch, not an error: every output has zero columns.
TEST(BadInputDc, ZeroScenarios) {
    DcPowerFlow pf(three_bus(), cpu_dc());
    const DcPowerFlowResult r = pf.solve(Matrix::Zero(3, 0));
    EXPECT_EQ(r.size(), 0);
    EXPECT_EQ(r.va.rows(), 3);
    EXPECT_EQ(r.pf.cols(), 0);
    EXPECT_EQ(r.report.size(), 0);
}

TEST(BadInputDc, NonFiniteLoadsNameScenarioAndBus) {
    DcPowerFlow pf(three_bus(), cpu_dc());
    Matrix pd = Matrix::Constant(3, 4, 10.0);
    pd(2, 3) = kNaN;
    std::string msg = error_of([&] { pf.solve(pd); });
    EXPECT_MESSAGE(msg, "scenario 3");
    EXPECT_MESSAGE(msg, "NaN at bus 3");
    pd(2, 3) = 1;
    pd(1, 2) = -kInf;
    msg = error_of([&] { pf.solve(pd); });
    EXPECT_MESSAGE(msg, "scenario 2");
    EXPECT_MESSAGE(msg, "Inf at bus 2");
    Matrix pg = Matrix::Constant(2, 4, 40.0);
    pd(1, 2) = 1;
    pg(1, 0) = kInf;
    msg = error_of([&] { pf.solve(pd, pg); });
    EXPECT_MESSAGE(msg, "scenario 0");
    EXPECT_MESSAGE(msg, "bus 3");
}

TEST(BadInputDc, Options) {
    const Network net = three_bus();
    DcOptions o = cpu_dc();
    o.threads = -1;
    EXPECT_MESSAGE(error_of([&] { DcPowerFlow(net, o); }), "DcOptions.threads must be >= 0");
    o = cpu_dc();
    o.participation = Vector::Ones(2);
    EXPECT_MESSAGE(error_of([&] { DcPowerFlow(net, o); }),
                   "DcOptions.participation is given but DcOptions.slack is single");
    o.slack = SlackMode::distributed;
    o.participation = Vector::Ones(3);
    EXPECT_MESSAGE(error_of([&] { DcPowerFlow(net, o); }),
                   "DcOptions.participation has 3 entries; expected one per generator (2)");
    o.participation = Vector::Ones(2);
    o.participation[1] = kNaN;
    EXPECT_MESSAGE(error_of([&] { DcPowerFlow(net, o); }),
                   "DcOptions.participation[1] (generator row 2, bus ");
    o.participation[1] = -1;
    EXPECT_MESSAGE(error_of([&] { DcPowerFlow(net, o); }),
                   "DcOptions.participation[1] (generator row 2, bus ");
    o.participation = Vector::Zero(2);
    EXPECT_MESSAGE(error_of([&] { DcPowerFlow(net, o); }), "sum to 0");
}

TEST(BadInputDc, UnavailableBackendIsNamed) {
    if (backend_status(Backend::cuda).available) GTEST_SKIP() << "a CUDA device is present";
    DcOptions o;
    o.backend = Backend::cuda;
    error_of([&] { DcPowerFlow(three_bus(), o); }, ErrorKind::backend_unavailable);
}

// Finite loads whose solution lies beyond double range: that scenario is flagged (not reported as
// converged with infinite flows or slack), the others are untouched.
TEST(BadInputDc, OverflowingScenarioIsFlaggedAlone) {
    DcPowerFlow pf(three_bus(), cpu_dc());
    Matrix pd = Matrix::Constant(3, 3, 10.0);
    pd.col(1).setConstant(1e308);
    const DcPowerFlowResult r = pf.solve(pd);
    EXPECT_EQ(r.report.at(0), Status::converged);
    EXPECT_EQ(r.report.at(1), Status::diverged);
    EXPECT_EQ(r.report.at(2), Status::converged);
    EXPECT_TRUE(r.pg.col(0).allFinite() && r.pf.col(2).allFinite());
    EXPECT_EQ(r.pf.col(0), r.pf.col(2));
}

TEST(BadInputDc, SensitivityIndicesOutOfRange) {
    DcPowerFlow pf(three_bus(), cpu_dc());
    for (Index bad : {Index{-1}, Index{3}, Index{1} << 40}) {
        SCOPED_TRACE(bad);
        error_of([&] { ptdf_columns(pf, {0, bad}); });
        error_of([&] { ptdf_rows(pf, {bad}); });
        error_of([&] { lodf(pf, {bad}); });
        if (bad >= 0) {  // -1: the own slack
            EXPECT_MESSAGE(error_of([&] { ptdf(pf, PtdfSlack{bad}); }), "ptdf: slack bus");
        }
        EXPECT_MESSAGE(error_of([&] { ptdf_columns(pf, {0}, PtdfSlack{bad == -1 ? -2 : bad}); }),
                       "ptdf_columns: slack bus");
        N1Options n1;
        n1.outages = {bad};
        error_of([&] { n1_screen(pf, Matrix::Zero(3, 1), n1); });
    }
    N1Options n1;
    n1.outages_per_block = 0;
    EXPECT_MESSAGE(error_of([&] { n1_screen(pf, Matrix::Zero(3, 1), n1); }),
                   "N1Options.outages_per_block must be >= 1");
    n1 = {};
    n1.threshold_percent = kNaN;
    error_of([&] { n1_screen(pf, Matrix::Zero(3, 1), n1); });
    n1 = {};
    error_of([&] { n1_screen(pf, Matrix::Zero(2, 1), n1); });
    Matrix pd = Matrix::Zero(3, 2);
    pd(0, 1) = kNaN;
    EXPECT_MESSAGE(error_of([&] { n1_screen(pf, pd, n1); }), "scenario 1");
}

// An island without a reference bus has no DC solution: the constructor says which buses.
TEST(BadInputDc, IslandWithoutReference) {
    std::string text = test::three_bus_case_text();
    text = replace(text, "  3 2 40 5  0 0 1 1 0 230 1 1.1 0.9;",
                   "  3 2 40 5  0 0 1 1 0 230 1 1.1 0.9;\n  4 1 5 0 0 0 1 1 0 230 1 1.1 0.9;\n"
                   "  5 1 5 0 0 0 1 1 0 230 1 1.1 0.9;");
    text =
        replace(text, "mpc.branch = [", "mpc.branch = [\n  4 5 0.01 0.1 0 0 0 0 0 0 1 -360 360;");
    const Network net = parse_matpower(text, "island.m");
    const std::string msg = error_of([&] { DcPowerFlow(net, cpu_dc()); });
    EXPECT_MESSAGE(msg, "4");
    EXPECT_MESSAGE(msg, "5");
}

// ---- AC power flow ------------------------------------------------------------------------------

AcOptions cpu_ac() {
    AcOptions o;
    o.backend = Backend::cpu;
    return o;
}

// An island without a REF bus has no AC solution (one slack, as MATPOWER's runpf): the message
// names its buses and what to change, which differs where it has a generator (PV bus) of its own.
TEST(BadInputAc, IslandWithoutReference) {
    const std::string island =
        "  3 2 40 5  0 0 1 1 0 230 1 1.1 0.9;\n  4 1 5 0 0 0 1 1 0 230 1 1.1 0.9;\n"
        "  5 TYPE 5 0 0 0 1 1 0 230 1 1.1 0.9;";
    for (const bool with_generator : {false, true}) {
        std::string text = test::three_bus_case_text();
        text = replace(text, "  3 2 40 5  0 0 1 1 0 230 1 1.1 0.9;",
                       replace(island, "TYPE", with_generator ? "2" : "1"));
        text = replace(text, "mpc.branch = [",
                       "mpc.branch = [\n  4 5 0.01 0.1 0 0 0 0 0 0 1 -360 360;");
        if (with_generator)
            text = replace(text, "mpc.gen = [", "mpc.gen = [\n  5 5 0 10 -10 1.0 100 1 20 0;");
        const Network net = parse_matpower(text, "island.m");
        const std::string msg = error_of([&] { AcPowerFlow(net, cpu_ac()); });
        EXPECT_MESSAGE(msg,
                       "island.m: AC power flow needs a reference bus in every island, but "
                       "buses {4, 5} form an island without a");
        EXPECT_MESSAGE(msg, with_generator ? "make one of its PV buses (5) a REF bus (type 3)"
                                           : "without a generator (no REF or PV bus)");
    }
}

TEST(BadInputAc, Shapes) {
    const AcPowerFlow pf(three_bus(), cpu_ac());
    EXPECT_MESSAGE(error_of([&] { pf.solve(Matrix::Zero(2, 1), Matrix::Zero(2, 1)); }),
                   "AcBatch.pd has shape 2 x 1; expected 3 x 1");
    EXPECT_MESSAGE(error_of([&] { pf.solve(Matrix::Zero(3, 2), Matrix::Zero(3, 1)); }),
                   "AcBatch.qd has shape 3 x 1; expected 3 x 2");
    const Matrix pd = Matrix::Zero(3, 2), qd = Matrix::Zero(3, 2), pg = Matrix::Zero(1, 2);
    AcBatch batch(pd, qd);
    batch.pg.emplace(pg);
    EXPECT_MESSAGE(error_of([&] { pf.solve(batch); }),
                   "AcBatch.pg has shape 1 x 2; expected 2 x 2");
    AcOptions warm = cpu_ac();
    warm.start = StartMode::warm;
    const AcPowerFlow pf_warm(three_bus(), warm);
    EXPECT_MESSAGE(error_of([&] { pf_warm.solve(AcBatch(pd, qd)); }),
                   "StartMode::warm needs AcBatch.vm0");
    // A warm start given to a power flow that starts otherwise was ignored without a word.
    const Matrix vm0 = Matrix::Ones(3, 2), va0 = Matrix::Zero(3, 2);
    AcBatch started(pd, qd);
    started.vm0.emplace(vm0);
    started.va0_deg.emplace(va0);
    for (StartMode start : {StartMode::from_case, StartMode::flat, StartMode::previous_step}) {
        AcOptions o = cpu_ac();
        o.start = start;
        EXPECT_MESSAGE(error_of([&] { AcPowerFlow(three_bus(), o).solve(started); }),
                       "AcBatch.vm0 / va0_deg (a warm start) are given, but the power flow "
                       "starts otherwise: set AcOptions.start to StartMode::warm");
    }
    EXPECT_EQ(pf_warm.solve(started).report.size(), 2);
    EXPECT_EQ(pf.solve(started, StartMode::warm).report.size(), 2);
}

TEST(BadInputAc, ZeroScenarios) {
    const AcPowerFlow pf(three_bus(), cpu_ac());
    const AcPowerFlowResult r = pf.solve(Matrix::Zero(3, 0), Matrix::Zero(3, 0));
    EXPECT_EQ(r.vm.cols(), 0);
    EXPECT_EQ(r.report.size(), 0);
}

TEST(BadInputAc, NonFiniteValuesNameScenarioAndBus) {
    const AcPowerFlow pf(three_bus(), cpu_ac());
    Matrix pd = Matrix::Constant(3, 3, 10.0), qd = Matrix::Constant(3, 3, 1.0);
    pd(1, 2) = kNaN;
    EXPECT_MESSAGE(error_of([&] { pf.solve(pd, qd); }), "AcBatch.pd[bus 2, scenario 2] is nan");
    pd(1, 2) = 1;
    qd(2, 0) = kInf;
    EXPECT_MESSAGE(error_of([&] { pf.solve(pd, qd); }), "AcBatch.qd[bus 3, scenario 0] is inf");
    qd(2, 0) = 1;
    // Voltage setpoints <= 0, refused in the case (Network), were solved to a singular or
    // non-converged scenario when given per scenario.
    for (const auto& [v, text] : {std::pair<Real, std::string>{0.0, "0"}, {-1.0, "-1"}}) {
        AcBatch b(pd, qd);
        Matrix vg = Matrix::Constant(2, 3, 1.0);
        vg(1, 1) = v;
        b.vg.emplace(vg);
        EXPECT_MESSAGE(error_of([&] { pf.solve(b); }), "AcBatch.vg[generator 2, scenario 1] is " +
                                                           text +
                                                           " p.u.; a voltage setpoint must be > 0");
    }
}

TEST(BadInputAc, Options) {
    const Network net = three_bus();
    for (const Real tol : {0.0, -1.0, kNaN, kInf}) {
        AcOptions o = cpu_ac();
        o.tolerance = tol;
        EXPECT_MESSAGE(error_of([&] { AcPowerFlow(net, o); }), "AcOptions.tolerance must be > 0");
    }
    AcOptions o = cpu_ac();
    o.max_iterations = -3;
    EXPECT_MESSAGE(error_of([&] { AcPowerFlow(net, o); }), "AcOptions.max_iterations");
    o = cpu_ac();
    o.participation = Vector::Ones(2);
    EXPECT_MESSAGE(error_of([&] { AcPowerFlow(net, o); }),
                   "AcOptions.participation is given but AcOptions.slack is single");
    o.slack = SlackMode::distributed;
    o.participation = Vector::Zero(2);
    EXPECT_MESSAGE(error_of([&] { AcPowerFlow(net, o); }),
                   "the participation factors of the in-service generators sum to 0");
    o.participation = Vector::Ones(5);
    EXPECT_MESSAGE(error_of([&] { AcPowerFlow(net, o); }), "expected one per generator (2)");
    o.participation = Vector::Ones(2);
    o.participation[1] = kNaN;
    EXPECT_MESSAGE(error_of([&] { AcPowerFlow(net, o); }),
                   "AcOptions.participation[1] (generator row 2, bus ");
    o.participation = Vector();
    o.algorithm = AcAlgorithm::fast_decoupled_xb;
    EXPECT_MESSAGE(error_of([&] { AcPowerFlow(net, o); }), "needs AcAlgorithm::newton");
}

// A load no network can carry is a per-scenario status, never an exception or a "converged".
TEST(BadInputAc, ImpossibleLoadIsAStatusNotSuccess) {
    const AcPowerFlow pf(three_bus(), cpu_ac());
    Matrix pd(3, 2), qd = Matrix::Zero(3, 2);
    pd.col(0) << 0, 50, 40;
    pd.col(1) << 0, 1e6, 1e6;
    const AcPowerFlowResult r = pf.solve(pd, qd);
    ASSERT_EQ(r.report.size(), 2);
    EXPECT_EQ(r.report.at(0), Status::converged);
    EXPECT_NE(r.report.at(1), Status::converged);
    EXPECT_FALSE(r.report.max_mismatch[1] < 1e-8) << r.report.max_mismatch[1];
}

// ---- battery dispatch ---------------------------------------------------------------------------

BatteryFleet small_fleet() {
    BatteryFleet f;
    f.energy_mwh = 10;
    f.charge_mw = 5;
    f.discharge_mw = 5;
    return f;
}

DispatchOptions cpu_dispatch() {
    DispatchOptions o;
    o.backend = Backend::cpu;
    return o;
}

TEST(BadInputDispatch, FleetFields) {
    const Matrix load = Matrix::Constant(16, 2, 20.0);
    const std::vector<GridConnection> grid{GridConnection{}};
    const auto fleet_error = [&](const std::function<void(BatteryFleet&)>& spoil) {
        BatteryFleet f = small_fleet();
        spoil(f);
        return error_of([&] { dispatch(load, {f}, grid, cpu_dispatch()); });
    };
    EXPECT_MESSAGE(fleet_error([](BatteryFleet& f) { f.energy_mwh = -1; }), "energy_mwh");
    EXPECT_MESSAGE(fleet_error([](BatteryFleet& f) { f.energy_mwh = kNaN; }), "energy_mwh");
    EXPECT_MESSAGE(fleet_error([](BatteryFleet& f) { f.charge_mw = -5; }), "charge_mw");
    EXPECT_MESSAGE(fleet_error([](BatteryFleet& f) { f.discharge_mw = kInf; }), "discharge_mw");
    EXPECT_MESSAGE(fleet_error([](BatteryFleet& f) { f.charge_efficiency = 1.2; }),
                   "charge_efficiency");
    EXPECT_MESSAGE(fleet_error([](BatteryFleet& f) { f.discharge_efficiency = 0; }),
                   "discharge_efficiency");
    EXPECT_MESSAGE(fleet_error([](BatteryFleet& f) { f.self_discharge_per_hour = 1; }),
                   "self_discharge_per_hour");
    EXPECT_MESSAGE(fleet_error([](BatteryFleet& f) {
                       f.soc_min = 0.8;
                       f.soc_max = 0.2;
                   }),
                   "soc_min (0.8) is above soc_max (0.2)");
    EXPECT_MESSAGE(fleet_error([](BatteryFleet& f) { f.initial_soc = 1.5; }), "initial_soc");
    EXPECT_MESSAGE(fleet_error([](BatteryFleet& f) { f.throughput_cost = kNaN; }),
                   "throughput_cost");
}

TEST(BadInputDispatch, ShapesAndValues) {
    const std::vector<GridConnection> grid{GridConnection{}};
    const BatteryFleet f = small_fleet();
    Matrix load = Matrix::Constant(16, 3, 20.0);
    EXPECT_MESSAGE(error_of([&] {
                       dispatch(load, {f, f}, grid, cpu_dispatch());
                   }),
                   "expected 1 (shared) or 3");
    EXPECT_MESSAGE(error_of([&] {
                       dispatch(load, {f}, {GridConnection{}, GridConnection{}}, cpu_dispatch());
                   }),
                   "expected 1 (shared) or 3");
    // The sharded forms check the whole batch first: the same message as the plain call, with
    // the caller's scenario numbers, not a chunk's.
    const auto comm = local_communicator();
    EXPECT_MESSAGE(error_of([&] {
                       dispatch(load, {f, f}, grid, cpu_dispatch(), *comm, 1);
                   }),
                   "dispatch: fleets has 2 entries; expected 1 (shared) or 3");
    EXPECT_MESSAGE(error_of([&] {
                       smooth_dispatch(load, {f}, {GridConnection{}, GridConnection{}},
                                       SmoothDispatchOptions{}, *comm, 1);
                   }),
                   "smooth_dispatch: grids has 2 entries; expected 1 (shared) or 3");
    BatteryFleet bad = f;
    bad.initial_soc = 2;
    EXPECT_MESSAGE(error_of([&] {
                       dispatch(load, {f, f, bad}, grid, cpu_dispatch(), *comm, 1);
                   }),
                   "fleet of scenario 2");
    load(5, 2) = kNaN;
    EXPECT_MESSAGE(error_of([&] { dispatch(load, {f}, grid, cpu_dispatch()); }),
                   "load[step 5, scenario 2]");
    load(5, 2) = kInf;
    EXPECT_MESSAGE(error_of([&] { dispatch(load, {f}, grid, cpu_dispatch()); }),
                   "load[step 5, scenario 2]");
    load(5, 2) = 20;
    for (const Real dt : {0.0, -1.0, kNaN}) {
        DispatchOptions o = cpu_dispatch();
        o.dt_seconds = dt;
        EXPECT_MESSAGE(error_of([&] { dispatch(load, {f}, grid, o); }), "dt_seconds");
    }
    GridConnection g;
    g.import_limit_mw = kNaN;
    EXPECT_MESSAGE(error_of([&] { dispatch(load, {f}, {g}, cpu_dispatch()); }), "import_limit_mw");
    // A negative thread count meant all cores here and was refused by the power flows.
    DispatchOptions o = cpu_dispatch();
    o.threads = -1;
    EXPECT_MESSAGE(error_of([&] { dispatch(load, {f}, grid, o); }),
                   "DispatchOptions: threads must be >= 0");
    SmoothDispatchOptions so;
    so.threads = -1;
    EXPECT_MESSAGE(error_of([&] { smooth_dispatch(load, {f}, grid, so); }),
                   "SmoothDispatchOptions: threads = -1 must be >= 0");
    LoadProfileOptions lo;
    lo.threads = -2;
    EXPECT_MESSAGE(error_of([&] { training_load({TrainingLoadParameters{}}, 1, lo); }),
                   "LoadProfileOptions: threads must be >= 0");
    // A fleet of a negative or NaN number of units.
    for (const Real units : {-1.0, kNaN, kInf})
        EXPECT_MESSAGE(
            error_of([&] { BatteryFleet::from_units(battery_unit("megapack-2h"), units); }),
            "BatteryFleet::from_units: units must be finite and >= 0");
}

// A zero-length horizon or no scenarios is an error or an empty result, never a crash.
TEST(BadInputDispatch, EmptyHorizonAndBatch) {
    const std::vector<GridConnection> grid{GridConnection{}};
    const BatteryFleet f = small_fleet();
    for (const auto& [steps, scenarios] : {std::pair<Index, Index>{0, 2}, {16, 0}, {0, 0}}) {
        SCOPED_TRACE(std::to_string(steps) + " steps x " + std::to_string(scenarios));
        const Matrix load = Matrix::Constant(steps, scenarios, 20.0);
        try {
            const DispatchResult r = dispatch(load, {f}, grid, cpu_dispatch());
            EXPECT_EQ(r.battery_mw.rows(), steps);
            EXPECT_EQ(r.battery_mw.cols(), scenarios);
            EXPECT_EQ(r.report.size(), scenarios);
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::invalid_input);
            EXPECT_MESSAGE(std::string(e.what()), "load");
        }
    }
}

// Limits that cannot be met are reported per scenario as infeasible, with the step.
TEST(BadInputDispatch, InfeasibleIsAStatusNotSuccess) {
    BatteryFleet f = small_fleet();
    GridConnection g;
    g.import_limit_mw = 10;  // scenario 1 needs 10 MW from a battery that gives at most 5
    Matrix load = Matrix::Constant(3600, 2, 20.0);
    load.col(0).setConstant(9.0);
    const DispatchResult r = dispatch(load, {f}, {g}, cpu_dispatch());
    EXPECT_EQ(r.report.at(0), Status::converged);
    EXPECT_EQ(r.report.at(1), Status::infeasible);
    EXPECT_GE(r.infeasible_step[1], 0);
}

TEST(BadInputDispatch, OverflowingObjectiveIsDivergedAlone) {
    // 1e200 MW is finite, its square is not: no optimum is represented for that scenario.
    Matrix load = Matrix::Constant(600, 3, 20.0);
    load(300, 1) = 1e200;
    for (const DispatchMethod m : {DispatchMethod::automatic, DispatchMethod::dynamic_program}) {
        DispatchOptions o = cpu_dispatch();
        o.method = m;
        const DispatchResult r = dispatch(load, {small_fleet()}, {GridConnection{}}, o);
        EXPECT_EQ(r.report.at(0), Status::converged);
        EXPECT_EQ(r.report.at(1), Status::diverged);
        EXPECT_EQ(r.report.at(2), Status::converged);
        EXPECT_TRUE(std::isfinite(r.objective[0]));
        EXPECT_EQ(r.objective[0], r.objective[2]);
    }
    const DispatchResult c = causal_filter(load, {small_fleet()}, 1.0, CausalFilterOptions{});
    EXPECT_EQ(c.report.at(0), Status::converged);
    EXPECT_EQ(c.report.at(1), Status::diverged);
}

// ---- determinism -------------------------------------------------------------------------------

template <typename V>
bool same_bits(const V& a, const V& b) {
    return a.size() == b.size() &&
           (a.size() == 0 || std::memcmp(a.data(), b.data(), sizeof(a[0]) * a.size()) == 0);
}

TEST(Determinism, ReaderAndNetworkMatricesAreBitwiseRepeatable) {
    const std::string text = test::have_shared() ? [] {
        std::ifstream in(test::case_path("case300"));
        return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    }()
                                                 : test::three_bus_case_text();
    const Network a = parse_matpower(text, "a.m"), b = parse_matpower(text, "a.m");
    EXPECT_TRUE(same_bits(a.buses().pd, b.buses().pd));
    EXPECT_TRUE(same_bits(a.branches().x, b.branches().x));
    const Admittance ya = make_admittance(a), yb = make_admittance(b);
    ASSERT_EQ(ya.ybus.nonZeros(), yb.ybus.nonZeros());
    EXPECT_EQ(std::memcmp(ya.ybus.valuePtr(), yb.ybus.valuePtr(),
                          sizeof(Complex) * static_cast<std::size_t>(ya.ybus.nonZeros())),
              0);
    EXPECT_EQ(std::memcmp(ya.ybus.innerIndexPtr(), yb.ybus.innerIndexPtr(),
                          sizeof(int) * static_cast<std::size_t>(ya.ybus.nonZeros())),
              0);
    const DcMatrices da = make_dc_matrices(a), db = make_dc_matrices(b);
    ASSERT_EQ(da.bbus.nonZeros(), db.bbus.nonZeros());
    EXPECT_EQ(std::memcmp(da.bbus.valuePtr(), db.bbus.valuePtr(),
                          sizeof(Real) * static_cast<std::size_t>(da.bbus.nonZeros())),
              0);
    EXPECT_TRUE(same_bits(da.pbusinj, db.pbusinj));
}

// Scenario loads that differ from column to column, the same every run (a fixed LCG).
Matrix varied_loads(const Vector& base, Index scenarios) {
    Matrix pd(base.size(), scenarios);
    std::uint32_t state = 2024;
    for (Index s = 0; s < scenarios; ++s)
        for (Index i = 0; i < base.size(); ++i) {
            state = state * 1664525u + 1013904223u;
            pd(i, s) = base[i] * (0.8 + 0.4 * (state >> 8) / double(1u << 24));
        }
    return pd;
}

Network determinism_case() {
    return test::have_shared() ? read_matpower(test::case_path("case118")) : three_bus();
}

// Same input, same bits: run to run, and for any thread count (a scenario is one thread's work).
TEST(Determinism, DcPowerFlowIsBitwiseRepeatable) {
    const Network net = determinism_case();
    const Matrix pd = varied_loads(net.buses().pd, 37);
    DcOptions one = cpu_dc(), many = cpu_dc();
    one.threads = 1;
    many.threads = 3;
    DcPowerFlow a(net, many), b(net, many), c(net, one);
    const DcPowerFlowResult ra = a.solve(pd), rb = b.solve(pd), ra2 = a.solve(pd), rc = c.solve(pd);
    for (const DcPowerFlowResult* r : {&rb, &ra2, &rc}) {
        EXPECT_TRUE(same_bits(ra.va, r->va));
        EXPECT_TRUE(same_bits(ra.pf, r->pf));
        EXPECT_TRUE(same_bits(ra.pg, r->pg));
    }
    N1Options n1;
    n1.threshold_percent = 50;
    const N1Result na = n1_screen(a, pd, n1), nc = n1_screen(c, pd, n1);
    EXPECT_TRUE(same_bits(na.worst_loading_percent, nc.worst_loading_percent));
    ASSERT_EQ(na.violations.size(), nc.violations.size());
    for (std::size_t v = 0; v < na.violations.size(); ++v)
        EXPECT_EQ(na.violations[v].loading_percent, nc.violations[v].loading_percent);
}

TEST(Determinism, AcPowerFlowIsBitwiseRepeatable) {
    const Network net = determinism_case();
    const Matrix pd = varied_loads(net.buses().pd, 9), qd = varied_loads(net.buses().qd, 9);
    AcOptions one = cpu_ac(), many = cpu_ac();
    one.threads = 1;
    many.threads = 3;
    const AcPowerFlow a(net, many), c(net, one);
    const AcPowerFlowResult ra = a.solve(pd, qd), ra2 = a.solve(pd, qd), rc = c.solve(pd, qd);
    ASSERT_EQ(ra.report.n_converged(), 9);
    for (const AcPowerFlowResult* r : {&ra2, &rc}) {
        EXPECT_TRUE(same_bits(ra.vm, r->vm));
        EXPECT_TRUE(same_bits(ra.va, r->va));
        EXPECT_TRUE(same_bits(ra.qg, r->qg));
        EXPECT_TRUE(same_bits(ra.report.iterations, r->report.iterations));
    }
}

TEST(Determinism, DispatchIsBitwiseRepeatable) {
    Matrix load(600, 5);
    std::uint32_t state = 7;
    for (Index s = 0; s < load.cols(); ++s)
        for (Index t = 0; t < load.rows(); ++t) {
            state = state * 1664525u + 1013904223u;
            load(t, s) = 20 + 5 * ((state >> 8) / double(1u << 24)) + (t / 60 % 2 ? 8 : 0);
        }
    BatteryFleet lossy = small_fleet();
    lossy.charge_efficiency = lossy.discharge_efficiency = 0.95;
    for (const BatteryFleet& f : {small_fleet(), lossy}) {
        DispatchOptions one = cpu_dispatch(), many = cpu_dispatch();
        one.threads = 1;
        many.threads = 3;
        const DispatchResult a = dispatch(load, {f}, {GridConnection{}}, many),
                             b = dispatch(load, {f}, {GridConnection{}}, many),
                             c = dispatch(load, {f}, {GridConnection{}}, one);
        for (const DispatchResult* r : {&b, &c}) {
            EXPECT_TRUE(same_bits(a.battery_mw, r->battery_mw));
            EXPECT_TRUE(same_bits(a.soc_mwh, r->soc_mwh));
            EXPECT_TRUE(same_bits(a.objective, r->objective));
        }
    }
}

// ---- command line ------------------------------------------------------------------------------

struct CliRun {
    int exit_code = -1;
    std::string output;  // stdout and stderr together
};

// Runs the built `gridbatch` program under a time limit (a hang fails the test instead of
// blocking the suite).
CliRun run_cli(const std::string& args) {
    const std::string cmd = "timeout 60 " + test::cli_command() + " " + args + " 2>&1";
    CliRun run;
    FILE* pipe = popen(cmd.c_str(), "r");
    if (!pipe) return run;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) run.output.append(buf, n);
    const int status = pclose(pipe);
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return run;
}

#define EXPECT_CLI(args, code, part)                                                         \
    do {                                                                                     \
        const CliRun r_ = run_cli(args);                                                     \
        EXPECT_EQ(r_.exit_code, code) << "gridbatch " << (args) << "\n" << r_.output;        \
        EXPECT_NE(r_.output.find(part), std::string::npos) << "gridbatch " << (args) << "\n" \
                                                           << r_.output;                     \
    } while (0)

TEST(BadInputCli, UsageErrors) {
    EXPECT_CLI("", 2, "usage: gridbatch COMMAND");
    EXPECT_CLI("frobnicate", 2, "unknown command 'frobnicate'");
    EXPECT_CLI("info", 2, "usage: gridbatch info");
    EXPECT_CLI("info a.m b.m", 2, "usage: gridbatch info");
    EXPECT_CLI("info builtin --bogus", 2, "unknown option --bogus");
    EXPECT_CLI("info builtin --write", 2, "option --write needs a value");
    // Usage errors point at the command's help, which every command has.
    EXPECT_CLI("info", 2, "(gridbatch info --help)");
    for (const char* command : {"info", "pf", "n1", "profile", "smooth", "study"}) {
        EXPECT_CLI(std::string(command) + " --help", 0, std::string("gridbatch ") + command);
        EXPECT_CLI(std::string(command) + " -h", 0, std::string("gridbatch ") + command);
    }
    EXPECT_CLI("pf builtin --dc --out a --out b", 2, "option --out is given twice ('a' and 'b')");
    EXPECT_CLI("pf builtin --dc --dc --out a", 2, "option --dc is given twice");
    EXPECT_CLI("version --foo", 2, "gridbatch version: unknown option --foo");
    EXPECT_CLI("smooth --synthetic --fleet 1 --dt 0x1p-1 --out a", 1,
               "option --dt: '0x1p-1' is not a finite number");
    EXPECT_CLI("study --ramp-limit 0 --out a", 1, "--ramp-limit must be > 0 (leave it out");
    EXPECT_CLI("study --sizing-max -3 --out a", 1, "--sizing-max must be > 0");
    EXPECT_CLI("smooth --synthetic --filter --fleet 1 --horizon 10 --out a", 2,
               "options --filter and --horizon: one dispatch at a time");
    EXPECT_CLI("smooth --synthetic --fleet 1 --filter-tau 10 --out a", 2,
               "option --filter-tau: only with");
    EXPECT_CLI("smooth --synthetic --unit megapack-2h --out a", 2, "option --fleet is required");
    EXPECT_CLI("smooth --synthetic --fleet 1 --backup-mw 5 --out a", 2,
               "option --backup-mw needs --objective ramps");
    EXPECT_CLI("smooth --synthetic --fleet 1 --objective ramps --filter --out a", 2,
               "option --objective ramps: not with --filter");
    EXPECT_CLI("pf builtin --dc --out=a", 2, "unknown option --out=a (write --out a)");
    EXPECT_CLI("profile --steps 10 --hours 1 --out x.csv", 2, "give --hours or --steps, not both");
    EXPECT_CLI("study extra --out x", 2, "unexpected argument 'extra'");
}

TEST(BadInputCli, BadCaseFiles) {
    const std::filesystem::path dir =
        std::filesystem::path(testing::TempDir()) / "gridbatch_bad_input_cli";
    std::filesystem::create_directories(dir);
    EXPECT_CLI((dir / "absent.m").string(), 2, "unknown command");  // a path is not a command
    EXPECT_CLI("info " + (dir / "absent.m").string(), 1,
               (dir / "absent.m").string() + ": cannot open");
    const std::string bad = (dir / "bad.m").string();
    std::ofstream(bad) << replace(test::three_bus_case_text(), kGen2,
                                  "3 45 0 100 -100 1.01 100 1 200;");
    EXPECT_CLI("info " + bad, 1, bad + ":11: mpc.gen row 2 has 9 columns");
    const std::string empty = (dir / "empty.m").string();
    std::ofstream(empty).close();
    EXPECT_CLI("info " + empty, 1, empty + ": missing mpc.baseMVA");
    EXPECT_CLI("info builtin --write " + (dir / "no_such_dir" / "x.m").string(), 1,
               (dir / "no_such_dir" / "x.m").string() + ": cannot open for writing");
}

TEST(BadInputCli, PowerFlowAndN1Arguments) {
    const std::filesystem::path dir =
        std::filesystem::path(testing::TempDir()) / "gridbatch_bad_input_pf";
    std::filesystem::create_directories(dir);
    const std::string out = " --out " + (dir / "out").string();
    EXPECT_CLI("pf builtin" + out, 2, "choose one of --dc and --ac");
    EXPECT_CLI("pf builtin --dc --ac" + out, 2, "choose one of --dc and --ac");
    EXPECT_CLI("pf builtin --dc", 2, "option --out is required");
    EXPECT_CLI("pf builtin --dc --backend gpu" + out, 1, "unknown backend 'gpu'");
    EXPECT_CLI("pf builtin --dc --threads many" + out, 1, "option --threads");
    EXPECT_CLI("pf builtin --dc --threads -2" + out, 1, "threads must be >= 0");
    EXPECT_CLI("pf builtin --dc --alg nr" + out, 2, "need --ac");
    EXPECT_CLI("pf builtin --dc --start flat" + out, 2, "need --ac");
    EXPECT_CLI("pf builtin --ac --start warm" + out, 1,
               "--start must be from_case, flat, from_dc or previous_step (got 'warm')");
    EXPECT_CLI("pf builtin --dc --tolerance 1e-6" + out, 2, "need --ac");
    EXPECT_CLI("pf builtin --ac --max-iterations 0" + out, 1,
               "--max-iterations must be between 1 and 1000 (got 0)");
    EXPECT_CLI("pf builtin --ac --max-iterations ten" + out, 1, "option --max-iterations");
    EXPECT_CLI("pf builtin --ac --tolerance -1e-8" + out, 1,
               "--tolerance must be > 0 p.u. (got -1e-8)");
    EXPECT_CLI("pf builtin --ac --tolerance inf" + out, 1, "option --tolerance");
    EXPECT_CLI("n1 builtin --threshold ten" + out, 1,
               "option --threshold: 'ten' is not a finite number");
    EXPECT_CLI("n1 builtin --threshold nan" + out, 1,
               "option --threshold: 'nan' is not a finite number");
    EXPECT_CLI("n1 builtin --threshold -5" + out, 1, "option --threshold must be >= 0");
    EXPECT_CLI("pf builtin --dc --threads 99999999999" + out, 1,
               "option --threads: '99999999999' is not an integer in range");
    const auto csv = [&](const std::string& name, const std::string& text) {
        const std::string path = (dir / name).string();
        std::ofstream(path) << text;
        return path;
    };
    const std::string missing = (dir / "absent.csv").string();
    EXPECT_CLI("pf builtin --dc --load-scale " + missing + out, 1, missing);
    std::string f = csv("nan.csv", "scale\n1.0\nnan\n");
    EXPECT_CLI("pf builtin --dc --load-scale " + f + out, 1,
               f + ":3: 'nan' is not a finite number");
    f = csv("inf.csv", "scale\n1e999\n");
    EXPECT_CLI("n1 builtin --load-scale " + f + out, 1, f + ":2: '1e999' is not a finite number");
    f = csv("nocol.csv", "factor\n1.0\n");
    EXPECT_CLI("pf builtin --dc --load-scale " + f + out, 1, f + ":1: no column 'scale'");
    f = csv("short.csv", "id,scale\n1,1.0\n2\n");
    EXPECT_CLI("pf builtin --dc --load-scale " + f + out, 1,
               f + ":3: 1 cells, but the header has 2 columns");
    // "1,2" under "scale" is 1.2 written with a decimal comma, not the factor 1.
    f = csv("comma.csv", "scale\n1,2\n");
    EXPECT_CLI("pf builtin --dc --load-scale " + f + out, 1,
               f + ":2: 2 cells, but the header has 1 columns (a decimal comma?");
    f = csv("empty.csv", "");
    EXPECT_CLI("pf builtin --dc --load-scale " + f + out, 1, f + ": the file is empty");
    f = csv("header.csv", "scale\n");
    EXPECT_CLI("pf builtin --dc --load-scale " + f + out, 1, f + ": no values under 'scale'");
    EXPECT_CLI("pf builtin --ac --slack shared" + out, 1,
               "--slack must be single or distributed (got 'shared')");
    f = csv("participation3.csv", "participation\n1\n2\n3\n");
    EXPECT_CLI("pf builtin --dc --participation " + f + out, 1,
               f + " has 3 rows; builtin has 10 generators");
    f = csv("participation_nan.csv", "participation\n1\nnan\n");
    EXPECT_CLI("pf builtin --ac --participation " + f + out, 1, f + ":3: 'nan' is not a finite");
    f = csv("participation_zero.csv", "participation\n0\n0\n0\n0\n0\n0\n0\n0\n0\n0\n");
    EXPECT_CLI("pf builtin --ac --participation " + f + out, 1,
               "participation factors of the in-service generators sum to 0");
    // Options that exclude each other are usage errors (exit 2), as the README says.
    EXPECT_CLI("pf builtin --ac --slack single --participation " + f + out, 2,
               "options --participation and --slack single");
    EXPECT_CLI("pf builtin --ac --alg fdxb --slack distributed" + out, 2,
               "option --slack distributed: Newton-Raphson only");
    EXPECT_CLI("pf builtin --ac --enforce-q-lims --slack distributed" + out, 2,
               "options --slack distributed and --enforce-q-lims exclude each other");
    // A directory is not a file (it opens on Linux, then reads as empty).
    EXPECT_CLI("pf builtin --dc --load-scale " + dir.string() + out, 1,
               dir.string() + ": not a regular file");
    EXPECT_CLI("pf builtin --dc --load-scale " + (dir / "absent.csv").string() + out, 1,
               (dir / "absent.csv").string() + ": cannot open CSV file");
    // n1 --outages: rows of the branch table, in service, once each.
    for (const std::string mode : {"", " --ac"}) {
        f = csv("outages_half.csv", "outage\n3.5\n");
        EXPECT_CLI("n1 builtin" + mode + " --outages " + f + out, 1,
                   f + ":2: outage 3.5 is not a branch row of builtin (0..174)");
        f = csv("outages_twice.csv", "outage\n4\n\n2\n4\n");  // a blank line counts as one
        EXPECT_CLI("n1 builtin" + mode + " --outages " + f + out, 1,
                   f + ":5: outage 4 is listed twice");
        f = csv("outages_header.csv", "branch\n4\n");
        EXPECT_CLI("n1 builtin" + mode + " --outages " + f + out, 1,
                   f + ":1: no column 'outage' in the header 'branch'");
    }
    EXPECT_CLI("n1 builtin --enforce-q-lims" + out, 2, "option --enforce-q-lims needs --ac");
    EXPECT_CLI("n1 builtin --ac --min-increase 5" + out, 2,
               "option --min-increase is for the DC screening");
}

TEST(BadInputCli, SmoothArguments) {
    const std::filesystem::path dir =
        std::filesystem::path(testing::TempDir()) / "gridbatch_bad_input_smooth";
    std::filesystem::create_directories(dir);
    const std::string out = " --out " + (dir / "out").string();
    EXPECT_CLI("smooth --fleet 1" + out, 2, "give exactly one of --load FILE and --synthetic");
    const std::string missing = (dir / "absent.csv").string();
    EXPECT_CLI("smooth --load " + missing + " --fleet 1" + out, 1, missing);
    const std::string bad = (dir / "bad.csv").string();
    std::ofstream(bad) << "time_s,scenario_0\n0,10\n1,x\n";
    EXPECT_CLI("smooth --load " + bad + " --fleet 1" + out, 1,
               bad + ":3: 'x' is not a finite number");
    const std::string unit = (dir / "unit.csv").string();
    std::ofstream(unit) << "time_s,scenario_0\n0,10\n1,12abc\n";
    EXPECT_CLI("smooth --load " + unit + " --fleet 1" + out, 1,
               unit + ":3: '12abc' is not a finite number");
    const std::string header_only = (dir / "header_only.csv").string();
    std::ofstream(header_only) << "time_s,scenario_0\n";
    EXPECT_CLI("smooth --load " + header_only + " --fleet 1" + out, 1,
               header_only + ": no load values below the header");
    const std::string ragged = (dir / "ragged.csv").string();
    std::ofstream(ragged) << "time_s,a,b\n0,10,11\n1,12\n";
    EXPECT_CLI("smooth --load " + ragged + " --fleet 1" + out, 1,
               ragged + ":3: 2 cells, but the header has 3 columns");
    // Decimal commas: every row as wide as every other, each one cell wider than the header.
    const std::string comma = (dir / "comma.csv").string();
    std::ofstream(comma) << "time_s,scenario_0\n0,10,5\n1,12,25\n";
    EXPECT_CLI("smooth --load " + comma + " --fleet 1" + out, 1,
               comma + ":2: 3 cells, but the header has 2 columns (a decimal comma?");
    const std::string good = (dir / "good.csv").string();
    std::ofstream(good) << "time_s,scenario_0\n0,10\n1,12\n2,11\n";
    EXPECT_CLI("smooth --load " + good + " --fleet -1" + out, 1, "option --fleet must be >= 0");
    const std::string prices = (dir / "prices.csv").string();
    std::ofstream(prices) << "price\n1\n2\n";
    EXPECT_CLI("smooth --load " + good + " --fleet 1 --objective ramps --price " + prices + out, 1,
               "option --price: " + prices +
                   " has 2 values under 'price'; expected one per step of the load (3)");
    EXPECT_CLI("smooth --load " + good + " --fleet 1 --unit nope" + out, 1,
               "unknown battery unit 'nope'");
    // A horizon of no steps is a mistake in the options, not an empty result.
    EXPECT_CLI("smooth --synthetic --hours 0 --fleet 1" + out, 1,
               "option --hours must give at least one step of --dt");
    EXPECT_CLI("smooth --synthetic --hours 0.0001 --fleet 1" + out, 1,
               "option --hours must give at least one step of --dt");
    EXPECT_CLI("study --hours 0.0003 --no-plots" + out, 1,
               "--hours must give at least 4 steps of --dt (got 1)");
    EXPECT_CLI("study --steps 3 --no-plots" + out, 1,
               "StudyOptions.steps (--steps) must be at least 4 (got 3)");
    // --hours is divided by --dt: a zero step said "(got -9223372036854775808)" steps.
    EXPECT_CLI("study --dt 0 --no-plots" + out, 1, "--dt must be a positive number (got 0)");
    EXPECT_CLI("smooth --synthetic --fleet 10 --ramp-limit -1" + out, 1,
               "option --ramp-limit must be > 0 MW per minute");
    EXPECT_CLI("profile --steps 0 --out " + (dir / "p.csv").string(), 1,
               "option --steps must be >= 1");
    EXPECT_CLI("profile --seed -1 --out " + (dir / "p.csv").string(), 1,
               "option --seed must be >= 0 (got -1)");
    // smooth's own options: the option first, the library's parameter after it.
    for (const auto& [option, parameter] :
         {std::pair<std::string, std::string>{"--throughput-cost -1", "throughput_cost"},
          {"--import-limit -5", "import_limit_mw"},
          {"--filter --filter-tau 0", "time_constant_s"},
          {"--horizon 10 --forecast-noise -1", "forecast_noise"},
          {"--ramp-limit 5 --max-units 0", "max_units"},
          {"--objective ramps --ramp-weight -1", "ramp_weight"},
          {"--objective ramps --grid-ramp -1", "SmoothDispatchOptions: ramp_limit_mw_per_s"},
          {"--objective ramps --battery-ramp 0", "fleet (shared): ramp_limit_mw_per_s"},
          {"--objective ramps --backup-mw 5 --backup-cost -1", "backup_cost_per_mwh"}}) {
        const std::string last = option.substr(option.rfind("--"));
        const std::string name = last.substr(0, last.find(' '));
        EXPECT_CLI("smooth --synthetic --fleet 10 --steps 300 " + option + out, 1,
                   "option " + name + ": ");
        EXPECT_CLI("smooth --synthetic --fleet 10 --steps 300 " + option + out, 1, parameter);
    }
    // The library names the parameter; the command line the option that sets it.
    for (const auto& [option, parameter] :
         {std::pair<std::string, std::string>{"--gpus -5", "gpu_count"},
          {"--pue 0.5", "pue"},
          {"--cooling-tau -1", "cooling_time_constant_s"},
          {"--period 0", "iteration_period_s"},
          {"--checkpoint-for -1", "checkpoint_duration_s"},
          {"--restart-outage -3", "restart_outage_s"}}) {
        const std::string name = option.substr(0, option.find(' '));
        EXPECT_CLI("profile " + option + " --out " + (dir / "p.csv").string(), 1,
                   "option " + name + ": training load parameters");
        EXPECT_CLI("smooth --synthetic --fleet 10 " + option + out, 1,
                   "option " + name + ": training load parameters");
        EXPECT_CLI("profile " + option + " --out " + (dir / "p.csv").string(), 1, parameter);
    }
    for (const std::string n : {"0", "-3"}) {
        EXPECT_CLI("profile --scenarios " + n + " --out " + (dir / "p.csv").string(), 1,
                   "option --scenarios must be >= 1 (got " + n + ")");
        EXPECT_CLI("smooth --synthetic --fleet 10 --scenarios " + n + out, 1,
                   "option --scenarios must be >= 1 (got " + n + ")");
    }
    EXPECT_CLI("study --threads -1 --no-plots" + out, 1,
               "StudyOptions.threads (--threads) must be >= 0");
    EXPECT_CLI("study --poi -5 --no-plots" + out, 1,
               "StudyOptions.poi_bus (--poi) must be a bus number of the case (got -5)");
    EXPECT_CLI("profile --hours -1 --out " + (dir / "p.csv").string(), 1,
               "option --hours must give at least one step of --dt");
}

// Load files as spreadsheets save them, and files that would be misread: a byte order mark and
// CRLF ends (Excel's "CSV UTF-8") and a capitalised time column read as the plain file (with the
// mark the time column was read as a scenario's load); an evenly spaced time_s column gives the
// step; a file without a header, uneven times and a --dt the times contradict are errors.
TEST(BadInputCli, SmoothLoadFiles) {
    const std::filesystem::path dir =
        std::filesystem::path(testing::TempDir()) / "gridbatch_bad_input_load_files";
    std::filesystem::create_directories(dir);
    const auto write = [&](const std::string& name, const std::string& text) {
        const std::string path = (dir / name).string();
        std::ofstream(path, std::ios::binary) << text;
        return path;
    };
    const auto metrics = [&](const std::string& args, const std::string& out) {
        const CliRun r = run_cli("smooth --fleet 1 --out " + (dir / out).string() + " " + args);
        EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.output;
        std::ifstream in(dir / out / "metrics.csv");
        return std::string(std::istreambuf_iterator<char>(in), {});
    };
    const std::string plain = metrics(
        "--load " + write("plain.csv", "time_s,scenario_0\n0,100\n1,120\n2,90\n3,130\n"), "p");
    ASSERT_NE(plain.find("\n0,optimal"), std::string::npos) << plain;
    EXPECT_EQ(plain.find("\n1,"), std::string::npos) << plain;  // one scenario
    const std::string excel = write(
        "excel.csv", "\xEF\xBB\xBFtime_s,scenario_0\r\n0,100\r\n1,120\r\n2,90\r\n3,130\r\n\r\n");
    EXPECT_EQ(metrics("--load " + excel, "e"), plain);
    EXPECT_EQ(
        metrics("--load " + write("capital.csv", "Time_s,a\n0,100\n1,120\n2,90\n3,130\n"), "c"),
        plain);
    // Half-second steps: the same as the plain file with --dt 0.5, not with the default 1 s.
    const std::string half = write("half.csv", "time_s,a\n0,100\n0.5,120\n1,90\n1.5,130\n");
    const std::string plain_half =
        metrics("--dt 0.5 --load " + write("p2.csv", "x\n100\n120\n90\n130\n"), "p2");
    EXPECT_NE(plain_half, plain);
    EXPECT_EQ(metrics("--load " + half, "h"), plain_half);
    EXPECT_EQ(metrics("--dt 0.5 --load " + half, "h2"), plain_half);
    const std::string out = " --fleet 1 --out " + (dir / "bad").string();
    EXPECT_CLI("smooth --dt 1 --load " + half + out, 1,
               "--dt 1 s, but the time_s column of " + half + " steps by 0.5 s");
    const std::string headless = write("headless.csv", "100\n120\n90\n");
    EXPECT_CLI("smooth --load " + headless + out, 1, headless + ":1: '100' is not a header");
    // The generator's options say nothing about a load from a file; --threads does.
    EXPECT_CLI("smooth --load " + half + " --steps 10" + out, 2,
               "option --steps: only with --synthetic");
    EXPECT_EQ(metrics("--threads 1 --load " + half, "h1"), plain_half);
    const std::string uneven = write("uneven.csv", "time_s,a\n0,1\n1,2\n3,3\n");
    EXPECT_CLI("smooth --load " + uneven + out, 1,
               uneven + ":4: time_s 3 is 2 s after the row before it, where the rows are 1");
    // One gap in a long file is named where it is, not at the first row off the mean step.
    std::string gap = "time_s,a\n";
    for (int t = 0; t < 60; ++t) gap += std::to_string(t < 50 ? t : t + 25) + ",1\n";
    const std::string gapped = write("gap.csv", gap);
    EXPECT_CLI("smooth --load " + gapped + out, 1, gapped + ":52: time_s 75 is 26 s after");
    const std::string odd_first = write("odd.csv", "time_s,a\n0,1\n2,1\n3,1\n4,1\n5,1\n");
    EXPECT_CLI("smooth --load " + odd_first + out, 1, odd_first + ":3: time_s 2 is 2 s after");
    const std::string stamps = write("stamps.csv", "time_s,a\n0,1\nnoon,2\n");
    EXPECT_CLI("smooth --load " + stamps + out, 1,
               stamps + ":3: 'noon' is not a time in seconds (time_s)");
    const std::string backwards = write("backwards.csv", "time_s,a\n5,1\n4,2\n");
    EXPECT_CLI("smooth --load " + backwards + out, 1,
               backwards + ":3: time_s 4 does not come after 5: the time_s column must increase");
    // A load that squares to infinity is a scenario not solved: counted, and exit 3.
    const std::string huge = write("huge.csv", "time_s,a,b\n0,1,1\n1,1e300,2\n2,1,1\n");
    EXPECT_CLI("smooth --load " + huge + out, 3, "0 infeasible, 1 not solved");
    // Quoted cells as R's write.csv and Excel write them: the time column stays a time column.
    const std::string quoted =
        write("quoted.csv", "\"time_s\",\"scenario_0\"\n0,100\n1,120\n2,90\n3,130\n");
    const std::string unquoted =
        write("unquoted.csv", "time_s,scenario_0\n0,100\n1,120\n2,90\n3,130\n");
    EXPECT_EQ(metrics("--load " + quoted, "q"), metrics("--load " + unquoted, "u"));
    const std::string spaced =
        write("spaced.csv", "\" time_s\",\"scenario_0\"\n0,100\n1,120\n2,90\n3,130\n");
    EXPECT_EQ(metrics("--load " + spaced, "sp"), metrics("--load " + unquoted, "u2"));
    const std::string nul = write("nul.csv", std::string("time_s,a\n0,1\n1,\0x\n", 18));
    EXPECT_CLI("smooth --load " + nul + out, 1, nul + ":3: '\\x00x' is not a finite number");
    // Hexadecimal is not a decimal number (strtod reads 0x10 as 16); a column named twice is not
    // one column; a quoted header names its column.
    const std::string pf_out = " --out " + (dir / "pf").string();
    EXPECT_CLI("pf builtin --dc --load-scale " + write("hex.csv", "scale\n0x1\n") + pf_out, 1,
               "'0x1' is not a finite number");
    EXPECT_CLI("pf builtin --dc --load-scale " + write("twice.csv", "scale,scale\n1,2\n") + pf_out,
               1, "the header names column 'scale' twice");
    EXPECT_CLI("pf builtin --dc --load-scale " + write("q.csv", "\"scale\"\n1\n1.1\n") + pf_out, 0,
               "2 scenarios");
    // A comma ending every row adds no column; a blank first line names none; a Windows line end
    // is not part of the header a message shows.
    EXPECT_CLI("pf builtin --dc --load-scale " + write("tc.csv", "scale,\n1,\n1.1,\n") + pf_out, 0,
               "2 scenarios");
    EXPECT_CLI("pf builtin --dc --load-scale " + write("blank.csv", "\n1\n") + pf_out, 1,
               ":1: the first line is empty");
    EXPECT_CLI("pf builtin --dc --load-scale " + write("crlf.csv", "factor\r\n1\r\n") + pf_out, 1,
               "no column 'scale' in the header 'factor'\n");
    // --load-scale as Excel saves it.
    const std::string scale = write("scale.csv", "\xEF\xBB\xBFscale\r\n1\r\n1.1\r\n");
    EXPECT_CLI("pf builtin --dc --load-scale " + scale + " --out " + (dir / "pf").string(), 0,
               "2 scenarios");
}

}  // namespace
}  // namespace gridbatch
