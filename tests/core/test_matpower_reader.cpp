#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "gridbatch/error.hpp"
#include "gridbatch/matpower.hpp"
#include "support/cases.hpp"
#include "support/expect_error.hpp"

namespace gridbatch {
namespace {

std::string message_of(const std::string& text) {
    SCOPED_TRACE("for:\n" + text);
    return test::error_of([&] { parse_matpower(text, "bad.m"); });
}

std::string replace(std::string s, const std::string& from, const std::string& to) {
    const auto pos = s.find(from);
    EXPECT_NE(pos, std::string::npos) << from;
    return s.replace(pos, from.size(), to);
}

TEST(MatpowerReader, ParsesSmallCase) {
    const Network net = parse_matpower(test::three_bus_case_text(), "three.m");
    EXPECT_EQ(net.n_bus(), 3);
    EXPECT_EQ(net.n_gen(), 2);
    EXPECT_EQ(net.n_branch(), 3);
    EXPECT_EQ(net.base_mva(), 100);
    EXPECT_EQ(net.reference_bus(), 0);
    EXPECT_DOUBLE_EQ(net.buses().pd[1], 50);
    EXPECT_DOUBLE_EQ(net.branches().x[2], 0.2);
    EXPECT_EQ(net.gen_bus()[1], 2);
}

TEST(MatpowerReader, AcceptsContinuationsCommentsCommasInfAndExponents) {
    std::string text = test::three_bus_case_text();
    text = replace(text, "1 2 0.01 0.1 0.02", "1, 2, 1e-2, 0.1, ... continued\n 2E-2");
    text = replace(text, "1 50 0 100 -100", "1 50 0 Inf -Inf ... comment\n");
    text = replace(text, "mpc.branch = [", "mpc.branch = [\n  % a comment line\n\n");
    text += "\nmpc.gencost = [ 2 0 0 3 0.1 1 0; 2 0 0 3 0.1 1 0 ];\n";
    text += "mpc.bus_name = {\n 'A;]'; 'B''s';\n 'C' };\n\n";
    const Network net = parse_matpower(text, "ok.m");
    EXPECT_DOUBLE_EQ(net.branches().r[0], 0.01);
    EXPECT_DOUBLE_EQ(net.branches().b[0], 0.02);
    EXPECT_TRUE(std::isinf(net.generators().qmax[0]));
    EXPECT_LT(net.generators().qmin[0], 0);
}

// MATPOWER's runpf ignores DC lines unless toggle_dcline adds them; so does the reader, but it
// says so.
TEST(MatpowerReader, IgnoredDcLinesAreNoted) {
    EXPECT_TRUE(parse_matpower(test::three_bus_case_text(), "three.m").notes().empty());
    std::string text = test::three_bus_case_text();
    const int line = 1 + static_cast<int>(std::count(text.begin(), text.end(), '\n'));
    text += "mpc.dcline = [\n";
    text += " 1 2 1 10 8.9 0 0 1.01 1 1 100 -10 10 -10 10 1 0.01;\n";
    text += " 2 3 0 10 9.9 0 0 1.01 1 1 100 -10 10 -10 10 0 0;\n];\n";
    const Network net = parse_matpower(text, "dc.m");
    ASSERT_EQ(net.notes().size(), 1u);
    const std::string& note = net.notes()[0];
    EXPECT_EQ(note.rfind("dc.m:" + std::to_string(line) +
                             ": mpc.dcline (2 DC lines, 1 in service) is ignored",
                         0),
              0u)
        << note;
    EXPECT_EQ(net.n_gen(), parse_matpower(test::three_bus_case_text(), "three.m").n_gen());
}

// Legal MATLAB that decides which assignments count: read as MATLAB runs it, or refused; never
// an assignment taken that MATLAB would not make (or one dropped that it would).
TEST(MatpowerReader, ReadsAssignmentsAsMatlabRunsThem) {
    const std::string text = test::three_bus_case_text();
    auto base_of = [](const std::string& t) { return parse_matpower(t, "ok.m").base_mva(); };
    EXPECT_EQ(base_of(text + "%{\nmpc.baseMVA = 5;\n%}\n"), 100);  // a block comment
    EXPECT_EQ(base_of(text + "  %{\n%{\nmpc.baseMVA = 5;\n  %}\nmpc.baseMVA = 6;\n%}\n"), 100);
    EXPECT_EQ(base_of(text + "%{ not alone on its line\nmpc.baseMVA = 5;\n"), 5);
    EXPECT_EQ(base_of(text + "return\nmpc.baseMVA = 5;\n"), 100);
    EXPECT_EQ(base_of(text + "end\nfunction x = helper\nmpc.baseMVA = 5;\n"), 100);
    // A '%' in a string of a statement the reader skips is not a comment; a quote after a value
    // is a transpose, not a string.
    EXPECT_EQ(base_of(replace(text, "mpc.baseMVA = 100;",
                              "mpc.baseMVA = 100; x = '%'; mpc.baseMVA = 50;")),
              50);
    EXPECT_EQ(base_of(replace(text, "mpc.baseMVA = 100;",
                              "mpc.baseMVA = 100; x = y'; mpc.baseMVA = 50; % '")),
              50);
    EXPECT_EQ(base_of(text + "x = \"%\"; mpc.baseMVA = 40;\n"), 40);
    EXPECT_EQ(base_of(text + "other = [1 2 % a comment\n 3 4];\nmpc.baseMVA = 30;\n"), 30);
    EXPECT_EQ(base_of(replace(text, "mpc.baseMVA = 100;", "mpc.baseMVA = [100];")), 100);

    for (const char* control : {"if 0\n  mpc.baseMVA = 5;\nend\n", "for k = 1:2\nend\n",
                                "while false\nend\n", "switch x\nend\n", "try\nend\n"}) {
        const std::string msg = message_of(text + control);
        EXPECT_NE(msg.find("bad.m:18: '"), std::string::npos) << msg;
        EXPECT_NE(msg.find("' statements are not read"), std::string::npos) << msg;
    }
}

TEST(MatpowerReader, OutputNameAndVariablesAreFollowed) {
    std::string text = test::three_bus_case_text();
    // MATPOWER's loadcase takes the function's output whatever its name.
    std::string renamed = replace(text, "function mpc = three", "function res = three");
    for (std::size_t at = renamed.find("mpc."); at != std::string::npos; at = renamed.find("mpc."))
        renamed.replace(at, 4, "res.");
    const Network a = parse_matpower(renamed, "res.m");
    EXPECT_EQ(a.n_bus(), 3);
    EXPECT_EQ(a.n_branch(), 3);
    // A table assigned to a variable first.
    std::string aliased = replace(text, "mpc.gen = [", "gen = [");
    aliased += "mpc.gen = gen;\n";
    EXPECT_EQ(parse_matpower(aliased, "alias.m").generators().pg,
              parse_matpower(text, "three.m").generators().pg);

    EXPECT_NE(message_of(replace(text, "mpc.baseMVA = 100;", "mpc.baseMVA = base;"))
                  .find("bad.m:3: mpc.baseMVA = base: the value must be a literal"),
              std::string::npos);
    EXPECT_NE(message_of(replace(text, "mpc.baseMVA = 100;", "b = 50 * 2; mpc.baseMVA = b;"))
                  .find("bad.m:3: mpc.baseMVA = b: b is not a literal"),
              std::string::npos);
    EXPECT_NE(message_of(replace(text, "mpc.baseMVA = 100;", "mpc.baseMVA = 100 * 2;"))
                  .find("unexpected character '*' after the value of mpc.baseMVA"),
              std::string::npos);
    EXPECT_NE(message_of(replace(text, "mpc.baseMVA = 100;", "mpc.baseMVA = '100';"))
                  .find("bad.m:3: mpc.baseMVA must be a number"),
              std::string::npos);
    EXPECT_NE(message_of(text + "mpc.bus(3, 3) = 5;\n").find("only whole fields are read"),
              std::string::npos);
    EXPECT_NE(message_of(text + "mpc = ext2int(mpc);\n").find("built field by field"),
              std::string::npos);
    EXPECT_NE(message_of(replace(text, "function mpc = three", "function [baseMVA, bus] = three"))
                  .find("MATPOWER version 1 case"),
              std::string::npos);
    EXPECT_NE(message_of(text + "x = [1 2\n")
                  .find("bad.m:19: bracket opened in the statement on "
                        "line 18 is not closed"),
              std::string::npos);
}

// As a Windows editor saves it: a UTF-8 byte order mark first and CRLF line ends.
TEST(MatpowerReader, AcceptsByteOrderMarkAndCrlf) {
    std::string text;
    for (const char c : test::three_bus_case_text())
        text += c == '\n' ? std::string("\r\n") : std::string(1, c);
    const Network net = parse_matpower("\xEF\xBB\xBF" + text, "windows.m");
    const Network plain = parse_matpower(test::three_bus_case_text(), "three.m");
    EXPECT_EQ(net.n_bus(), plain.n_bus());
    EXPECT_EQ(net.n_branch(), plain.n_branch());
    EXPECT_EQ(net.buses().pd, plain.buses().pd);
    EXPECT_EQ(net.branches().x, plain.branches().x);
    // Old Mac line ends (CR alone).
    std::string cr = test::three_bus_case_text();
    std::replace(cr.begin(), cr.end(), '\n', '\r');
    EXPECT_EQ(parse_matpower(cr, "mac.m").branches().x, plain.branches().x);
}

// A byte that is not printable is named by its value (printed alone it is not readable).
TEST(MatpowerReader, UnprintableByteNamedByValue) {
    const std::string msg = message_of("function mpc = bad\n\x01\n");
    EXPECT_NE(msg.find("bad.m:2: unexpected byte 0x01"), std::string::npos) << msg;
    const std::string bom_inside = message_of("function mpc = bad\n\xEF\xBB\xBFmpc.x = 1;\n");
    EXPECT_NE(bom_inside.find("bad.m:2: unexpected byte 0xEF"), std::string::npos) << bom_inside;
}

TEST(MatpowerReader, MissingBusTable) {
    const std::string text = replace(test::three_bus_case_text(), "mpc.bus = [", "mpc.buses = [");
    EXPECT_NE(message_of(text).find("bad.m: missing mpc.bus"), std::string::npos);
}

TEST(MatpowerReader, RowWithTooFewColumnsNamesLine) {
    const std::string text = replace(test::three_bus_case_text(),
                                     "2 3 0.01 0.1 0.02 100 100 100 0 0 1 -360 360;", "2 3 0.01;");
    const std::string msg = message_of(text);
    EXPECT_NE(msg.find("bad.m:15:"), std::string::npos) << msg;
    EXPECT_NE(msg.find("mpc.branch row 2 has 3 columns, expected at least 11"), std::string::npos)
        << msg;
}

TEST(MatpowerReader, BranchToUnknownBusNamesLineAndBus) {
    const std::string text = replace(test::three_bus_case_text(), "2 3 0.01 0.1", "2 99 0.01 0.1");
    const std::string msg = message_of(text);
    EXPECT_NE(msg.find("bad.m:15:"), std::string::npos) << msg;
    EXPECT_NE(msg.find("mpc.branch row 2 (bus 2 -> 99): to bus 99 is not in the bus table"),
              std::string::npos)
        << msg;
}

TEST(MatpowerReader, NoReferenceBus) {
    const std::string text = replace(test::three_bus_case_text(), "1 3 0  0", "1 2 0  0");
    EXPECT_NE(message_of(text).find("no reference bus"), std::string::npos);
}

TEST(MatpowerReader, NonNumberNamesLineAndToken) {
    const std::string text = replace(test::three_bus_case_text(), "2 1 50 10", "2 1 5x0 10");
    const std::string msg = message_of(text);
    EXPECT_NE(msg.find("bad.m:6:"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'5x0' is not a number"), std::string::npos) << msg;
}

TEST(MatpowerReader, UnterminatedMatrixAndBadVersionAndBadType) {
    std::string text = test::three_bus_case_text();
    text = text.substr(0, text.find("];"));
    EXPECT_NE(message_of(text).find("is not closed"), std::string::npos);
    EXPECT_NE(message_of(replace(test::three_bus_case_text(), "'2'", "'1'")).find("version"),
              std::string::npos);
    EXPECT_NE(
        message_of(replace(test::three_bus_case_text(), "3 2 40 5", "3 7 40 5")).find("type 7"),
        std::string::npos);
}

TEST(MatpowerReader, EmptyAndTruncatedInput) {
    EXPECT_NE(message_of("").find("missing mpc.baseMVA"), std::string::npos);
    const std::string text = test::three_bus_case_text();
    for (std::size_t cut = 0; cut < text.size(); cut += 7) {
        try {
            parse_matpower(text.substr(0, cut), "cut.m");
        } catch (const Error&) {
            continue;  // any clear error is fine; a crash or hang is not
        }
    }
}

TEST(MatpowerReader, MissingFileIsIoError) {
    test::expect_error([] { read_matpower("/nonexistent/case.m"); }, {"/nonexistent/case.m"},
                       ErrorKind::io);
}

TEST(MatpowerReader, ReadsEverySharedCase) {
    GRIDBATCH_REQUIRE_SHARED();
    for (const std::string& name : test::all_cases()) {
        SCOPED_TRACE(name);
        const auto t0 = std::chrono::steady_clock::now();
        const Network net = read_matpower(test::case_path(name));
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::cout << name << ": read in " << seconds * 1e3 << " ms\n";
        const auto ids = test::read_csv(test::ref_path(name, "nr_bus.csv")).column("bus_id");
        ASSERT_EQ(static_cast<Index>(ids.size()), net.n_bus());
        for (Index i = 0; i < net.n_bus(); ++i)
            ASSERT_EQ(net.buses().id[i], static_cast<Index>(ids[static_cast<std::size_t>(i)]));
        EXPECT_EQ(
            static_cast<Index>(test::read_csv(test::ref_path(name, "nr_gen.csv")).rows.size()),
            net.n_gen());
        EXPECT_EQ(
            static_cast<Index>(test::read_csv(test::ref_path(name, "nr_branch.csv")).rows.size()),
            net.n_branch());
    }
}

}  // namespace
}  // namespace gridbatch
