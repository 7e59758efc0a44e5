// MATPOWER case reader. A hand-written scanner over the whole file (one pass, no regex): it reads
// `mpc.<field> = <value>;` assignments (`mpc` being the function's output, whatever its name),
// where a value is a numeric matrix `[...]`, a scalar, a quoted string ('...' or "..."), a cell
// array `{...}` (skipped) or a variable assigned such a literal before (`bus = [...]; mpc.bus =
// bus;`).
// Comments (`%`, `%{ ... %}` blocks), `...` continuations, commas, blank lines, CR, LF or CRLF line
// ends and numbers such as `1e-3`, `Inf` and `NaN` are accepted; other statements are skipped
// (strings and brackets honoured), and reading stops at `return` or a second function, as MATLAB
// runs it. Control flow (`if`, `for`, ...) would decide which assignments count: it is refused,
// as are element assignments (`mpc.bus(3, 3) = ...`). Every error names the file and line.
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "gridbatch/error.hpp"
#include "gridbatch/matpower.hpp"
#include "io/c_number.hpp"
#include "io/input_file.hpp"

namespace gridbatch {
namespace {

struct NumericMatrix {
    std::vector<std::vector<double>> rows;
    std::vector<int> row_lines;  // line of each row, for messages
    int line = 0;                // line of the assignment
};

class Scanner {
public:
    // `text` has LF line ends and no byte order mark (parse_matpower).
    Scanner(const std::string& text, const std::string& name) : s_(text), name_(name) {}

    [[noreturn]] void fail(const std::string& what, int line = -1) const {
        throw Error(ErrorKind::invalid_input,
                    name_ + ":" + std::to_string(line < 0 ? line_ : line) + ": " + what);
    }

    bool at_end() const { return pos_ >= s_.size(); }
    // The next character for a message: 'c' where printable, else its byte value (a byte of a
    // multi-byte character printed alone is not readable).
    std::string describe_next() const {
        const auto c = static_cast<unsigned char>(peek());
        if (c >= 0x20 && c < 0x7f) return std::string("character '") + static_cast<char>(c) + "'";
        char text[16];
        std::snprintf(text, sizeof text, "byte 0x%02X", c);
        return text;
    }
    char peek() const { return at_end() ? '\0' : s_[pos_]; }
    int line() const { return line_; }
    // The line of a `%{` block comment that runs to the end of the file, 0 if none.
    int unclosed_comment_line() const { return unclosed_comment_line_; }

    // Skips spaces, tabs, comments and `...` continuations; newlines too when `newlines`.
    void skip_blank(bool newlines) {
        while (!at_end()) {
            const char c = s_[pos_];
            if (c == ' ' || c == '\t') {
                ++pos_;
            } else if (c == '%') {
                if (line_is("%{")) {
                    skip_block_comment();
                } else {
                    skip_to_eol();
                }
            } else if (c == '.' && s_.compare(pos_, 3, "...") == 0) {
                skip_to_eol();
                if (!at_end()) advance_newline();
            } else if (c == '\n' && newlines) {
                advance_newline();
            } else {
                return;
            }
        }
    }

    void skip_to_eol() {
        while (!at_end() && s_[pos_] != '\n') ++pos_;
    }
    void advance_newline() {
        ++pos_;
        ++line_;
    }
    // Skips a statement this reader does not evaluate: to a `;`, `,` or line end outside
    // brackets, honouring strings (a quote after a value is MATLAB's transpose), comments and
    // continuations, so that a `%` in a string or a matrix over several lines stays in it.
    void skip_statement() {
        const int start = line_;
        int depth = 0;
        char last = ' ';  // the last character that was not blank, for the transpose rule
        while (!at_end()) {
            const char c = s_[pos_];
            if ((c == '\'' && !ends_value(last)) || c == '"') {
                ++pos_;
                quoted(c);
                last = c;
                continue;
            }
            if (c == '%' || (c == '.' && s_.compare(pos_, 3, "...") == 0)) {
                if (c == '%' && depth == 0) return skip_to_eol();
                skip_to_eol();  // a comment inside brackets, or a continuation
                if (c == '.' && !at_end()) advance_newline();
                continue;
            }
            if (c == '\n') {
                if (depth == 0) return;
                advance_newline();
                continue;
            }
            if (depth == 0 && (c == ';' || c == ',')) {
                ++pos_;
                return;
            }
            depth += (c == '[' || c == '(' || c == '{') - (c == ']' || c == ')' || c == '}');
            if (depth < 0) fail("unexpected '" + std::string(1, c) + "'");
            if (c != ' ' && c != '\t') last = c;
            ++pos_;
        }
        if (depth > 0)
            fail("bracket opened in the statement on line " + std::to_string(start) +
                 " is not closed");
    }

    // Where the scanner is, to read a value again later (a variable that a field names).
    struct Mark {
        std::size_t pos;
        int line;
    };
    Mark mark() const { return {pos_, line_}; }
    void reset(Mark m) {
        pos_ = m.pos;
        line_ = m.line;
    }

    std::string identifier() {
        const std::size_t start = pos_;
        while (!at_end() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) ||
                             s_[pos_] == '_' || s_[pos_] == '.'))
            ++pos_;
        return s_.substr(start, pos_ - start);
    }

    bool accept(char c) {
        if (peek() != c) return false;
        ++pos_;
        return true;
    }

    // After the opening quote (' for a char array, " for a string); MATLAB doubles a quote to
    // escape it.
    std::string quoted(char quote) {
        std::string out;
        for (;;) {
            if (at_end() || s_[pos_] == '\n') fail("unterminated string");
            const char c = s_[pos_++];
            if (c == quote) {
                if (peek() == quote) {
                    out += quote;
                    ++pos_;
                    continue;
                }
                return out;
            }
            out += c;
        }
    }

    double number() {
        const char* begin = s_.c_str() + pos_;
        char* end = nullptr;
        errno = 0;
        const double v = detail::strtod_c(begin, &end);
        const std::size_t used = static_cast<std::size_t>(end - begin);
        const char next = pos_ + used < s_.size() ? s_[pos_ + used] : ' ';
        const bool delimited = std::isspace(static_cast<unsigned char>(next)) || next == ';' ||
                               next == ',' || next == ']' || next == '%';
        if (used == 0 || !delimited || (errno == ERANGE && std::isinf(v))) {
            std::size_t n = 0;
            while (pos_ + n < s_.size() && n < 40) {
                const char c = s_[pos_ + n];
                if (std::isspace(static_cast<unsigned char>(c)) || c == ';' || c == ',' || c == ']')
                    break;
                ++n;
            }
            fail("'" + s_.substr(pos_, n) + "' is not a number");
        }
        pos_ += used;
        return v;
    }

    NumericMatrix matrix() {  // after '['
        NumericMatrix m;
        m.line = line_;
        std::vector<double> row;
        int row_line = line_;
        auto end_row = [&] {
            if (!row.empty()) {
                m.rows.push_back(std::move(row));
                m.row_lines.push_back(row_line);
                row.clear();
            }
        };
        for (;;) {
            skip_blank(false);
            if (at_end())
                fail("matrix opened on line " + std::to_string(m.line) + " is not closed with ']'");
            const char c = peek();
            if (c == ']') {
                ++pos_;
                end_row();
                return m;
            }
            if (c == ';' || c == '\n') {
                end_row();
                if (c == '\n')
                    advance_newline();
                else
                    ++pos_;
                continue;
            }
            if (c == ',') {
                ++pos_;
                continue;
            }
            if (row.empty()) row_line = line_;
            row.push_back(number());
        }
    }

    void skip_cell() {  // after '{': skips to the matching '}', honouring quoted strings
        const int start = line_;
        int depth = 1;
        while (depth > 0) {
            if (at_end())
                fail("cell array opened on line " + std::to_string(start) +
                     " is not closed with '}'");
            const char c = s_[pos_];
            if (c == '\'' || c == '"') {
                ++pos_;
                quoted(c);
            } else if (c == '%') {
                skip_to_eol();
            } else if (c == '\n') {
                advance_newline();
            } else {
                depth += (c == '{') - (c == '}');
                ++pos_;
            }
        }
    }

private:
    // Whether the current line holds `token` alone (blanks around it), as MATLAB's block comment
    // markers must.
    bool line_is(const char* token) const {
        std::size_t begin = pos_ == 0 ? std::string::npos : s_.rfind('\n', pos_ - 1);
        begin = begin == std::string::npos ? 0 : begin + 1;
        std::size_t end = s_.find('\n', pos_);
        if (end == std::string::npos) end = s_.size();
        auto blank = [](char c) { return c == ' ' || c == '\t'; };
        while (begin < end && blank(s_[begin])) ++begin;
        while (end > begin && blank(s_[end - 1])) --end;
        return s_.compare(begin, end - begin, token) == 0;
    }
    // At a `%{` line: skips to the line after its `%}` (blocks nest), or to the end of the text.
    void skip_block_comment() {
        int depth = 0;
        const int opened = line_;
        while (!at_end()) {
            if (line_is("%{")) ++depth;
            if (line_is("%}")) --depth;
            skip_to_eol();
            if (!at_end()) advance_newline();
            if (depth == 0) return;
            while (!at_end() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
        }
        unclosed_comment_line_ = opened;  // MATLAB comments out the rest of the file
    }
    // A quote after one of these is MATLAB's transpose, not a string.
    static bool ends_value(char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ')' || c == ']' ||
               c == '}' || c == '.' || c == '\'' || c == '"';
    }

    const std::string& s_;
    const std::string& name_;
    std::size_t pos_ = 0;
    int line_ = 1;
    int unclosed_comment_line_ = 0;
};

// One assigned value: the last assignment of a field wins, as in MATLAB.
struct Value {
    enum class Kind : std::uint8_t { matrix, scalar, string, cell } kind = Kind::scalar;
    NumericMatrix matrix;
    double scalar = 0;
    std::string text;
    int line = 0;
};

struct ParsedCase {
    std::map<std::string, Value> fields;  // of the output variable, without its `mpc.`
    int unclosed_comment_line = 0;        // Scanner::unclosed_comment_line
    // "missing mpc.<field>", and why where a block comment swallowed the rest of the file.
    [[noreturn]] void missing(const std::string& field, const std::string& name) const {
        throw Error(ErrorKind::invalid_input,
                    name + ": missing mpc." + field +
                        (unclosed_comment_line > 0
                             ? " (the %{ block comment opened on line " +
                                   std::to_string(unclosed_comment_line) +
                                   " is not closed with %}: the rest of the file is a comment)"
                             : std::string()));
    }
};

bool control_statement(const std::string& id) {
    for (const char* k : {"if", "elseif", "else", "for", "parfor", "while", "switch", "case",
                          "otherwise", "try", "catch", "break", "continue"})
        if (id == k) return true;
    return false;
}

// A literal value after `=`; false (nothing read) where the value is not one.
bool literal(Scanner& sc, Value& v) {
    v.line = sc.line();
    if (sc.accept('[')) {
        v.kind = Value::Kind::matrix;
        v.matrix = sc.matrix();
    } else if (sc.accept('{')) {
        v.kind = Value::Kind::cell;
        sc.skip_cell();
    } else if (sc.accept('\'')) {
        v.kind = Value::Kind::string;
        v.text = sc.quoted('\'');
    } else if (sc.accept('"')) {
        v.kind = Value::Kind::string;
        v.text = sc.quoted('"');
    } else if (const char c = sc.peek();
               std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '+' || c == '.') {
        v.kind = Value::Kind::scalar;
        v.scalar = sc.number();
    } else {
        const Scanner::Mark start = sc.mark();
        const std::string word = sc.identifier();
        sc.reset(start);
        if (word != "Inf" && word != "inf" && word != "NaN" && word != "nan") return false;
        v.kind = Value::Kind::scalar;
        v.scalar = sc.number();
    }
    return true;
}

// Whether the statement ends after a value (taking its `;` or `,`), not an expression going on.
bool value_ends(Scanner& sc) {
    sc.skip_blank(false);
    return sc.accept(';') || sc.accept(',') || sc.peek() == '\n' || sc.at_end();
}

ParsedCase scan(const std::string& text, const std::string& name) {
    Scanner sc(text, name);
    ParsedCase out;
    std::string output = "mpc";  // the function's output variable
    bool in_function = false;
    std::map<std::string, Scanner::Mark> variables;  // where each other variable was last set
    for (;;) {
        sc.skip_blank(true);
        if (sc.at_end()) break;
        if (sc.accept(';') || sc.accept(',')) continue;
        const std::string id = sc.identifier();
        if (id.empty()) sc.fail("unexpected " + sc.describe_next());
        if (id == "function") {
            if (in_function) break;  // a subfunction: MATLAB runs the first function only
            in_function = true;
            sc.skip_blank(false);
            if (sc.peek() == '[')
                sc.fail(
                    "a function with several outputs ([baseMVA, bus, gen, ...] = ...) is a "
                    "MATPOWER version 1 case; only version 2 (one struct, mpc) is read: "
                    "convert it with MATPOWER's savecase");
            const Scanner::Mark after = sc.mark();
            const std::string first = sc.identifier();
            sc.skip_blank(false);
            if (sc.accept('=') && !first.empty())
                output = first;
            else
                sc.reset(after);
            sc.skip_statement();
            continue;
        }
        if (id == "return") break;
        if (control_statement(id))
            sc.fail("'" + id +
                    "' statements are not read: a case file's data must be plain assignments "
                    "(control flow would decide which of them count)");
        const bool field = id.rfind(output + ".", 0) == 0;
        sc.skip_blank(false);
        if (!sc.accept('=') || sc.peek() == '=') {
            if (field || id == output)
                sc.fail("expected '=' after " + id +
                        " (only whole fields are read, as mpc.bus = [...];)");
            sc.skip_statement();  // a command, an element assignment or a comparison
            continue;
        }
        sc.skip_blank(false);
        if (!field) {
            variables[id] = sc.mark();
            if (id == output)
                sc.fail(id + " = ...: the case must be built field by field (" + id +
                        ".bus = [...];)");
            sc.skip_statement();
            continue;
        }
        const std::string key = id.substr(output.size() + 1);
        Value v;
        if (!literal(sc, v)) {
            const std::string source = sc.identifier();
            const auto it = variables.find(source);
            if (source.empty() || it == variables.end())
                sc.fail(id + " = " + (source.empty() ? sc.describe_next() : source) +
                        ": the value must be a literal (a number, [matrix], 'string' or {cell}) "
                        "or a variable assigned one before");
            const Scanner::Mark here = sc.mark();
            sc.reset(it->second);
            const bool ok = literal(sc, v) && value_ends(sc);
            sc.reset(here);
            if (!ok)
                sc.fail(id + " = " + source + ": " + source +
                        " is not a literal this reader evaluates (a number, [matrix], 'string' "
                        "or {cell})");
        }
        out.fields[key] = std::move(v);
        if (!value_ends(sc))
            sc.fail("unexpected " + sc.describe_next() + " after the value of " + id +
                    " (expressions are not evaluated)");
    }
    out.unclosed_comment_line = sc.unclosed_comment_line();
    return out;
}

const NumericMatrix& require_matrix(const ParsedCase& pc, const std::string& field,
                                    std::size_t min_cols, const std::string& name) {
    auto it = pc.fields.find(field);
    if (it == pc.fields.end()) pc.missing(field, name);
    if (it->second.kind != Value::Kind::matrix)
        throw Error(ErrorKind::invalid_input, name + ":" + std::to_string(it->second.line) +
                                                  ": mpc." + field + " must be a matrix [...]");
    const NumericMatrix& m = it->second.matrix;
    const auto where = [&](std::size_t r) {
        return name + ":" + std::to_string(m.row_lines[r]) + ": mpc." + field + " row " +
               std::to_string(r + 1) + " has " + std::to_string(m.rows[r].size()) + " columns";
    };
    for (std::size_t r = 0; r < m.rows.size(); ++r)
        if (m.rows[r].size() < min_cols)
            throw Error(ErrorKind::invalid_input,
                        where(r) + ", expected at least " + std::to_string(min_cols));
    // A value too many or too few shifts every column after it: MATLAB refuses such a matrix
    // ("dimensions ... not consistent"), and so do we, naming the first row whose width differs
    // from most rows'.
    std::map<std::size_t, std::size_t> widths;
    for (const auto& row : m.rows) ++widths[row.size()];
    std::size_t usual = 0, most = 0;
    for (const auto& [width, count] : widths)
        if (count > most) std::tie(usual, most) = std::pair{width, count};
    for (std::size_t r = 0; r < m.rows.size(); ++r)
        if (m.rows[r].size() != usual)
            throw Error(ErrorKind::invalid_input,
                        where(r) + ", the other rows " + std::to_string(usual) +
                            " (rows of a matrix must have the same number of columns)");
    return m;
}

Index integer_cell(const NumericMatrix& m, std::size_t r, std::size_t c, const char* what,
                   const std::string& field, const std::string& name) {
    const double v = m.rows[r][c];
    if (!std::isfinite(v) || v != std::floor(v) || std::abs(v) > 9.0e15)
        throw Error(ErrorKind::invalid_input,
                    name + ":" + std::to_string(m.row_lines[r]) + ": mpc." + field + " row " +
                        std::to_string(r + 1) + ": " + what +
                        " must be an integer of at most 9e15 in magnitude");
    return static_cast<Index>(v);
}

// A status column: in service when positive (as MATPOWER), but NaN is an error, not "out".
std::int8_t status_cell(const NumericMatrix& m, std::size_t r, std::size_t c,
                        const std::string& field, const std::string& name) {
    const double v = m.rows[r][c];
    if (std::isnan(v))
        throw Error(ErrorKind::invalid_input,
                    name + ":" + std::to_string(m.row_lines[r]) + ": mpc." + field + " row " +
                        std::to_string(r + 1) + ": status must be a number (1 = in service)");
    return v > 0 ? 1 : 0;
}

Network build(const ParsedCase& pc, const std::string& name) {
    if (auto v = pc.fields.find("version"); v != pc.fields.end()) {
        const Value& version = v->second;
        const bool two = version.kind == Value::Kind::string   ? version.text == "2"
                         : version.kind == Value::Kind::scalar ? version.scalar == 2
                                                               : false;
        if (!two)
            throw Error(ErrorKind::invalid_input,
                        name + ":" + std::to_string(version.line) +
                            ": MATPOWER case format version " +
                            (version.kind == Value::Kind::string ? "'" + version.text + "'"
                                                                 : std::string("value")) +
                            " is not supported (only version 2)");
    }
    auto base = pc.fields.find("baseMVA");
    if (base == pc.fields.end()) pc.missing("baseMVA", name);
    const Value& base_value = base->second;
    const bool one_by_one = base_value.kind == Value::Kind::matrix &&
                            base_value.matrix.rows.size() == 1 &&
                            base_value.matrix.rows[0].size() == 1;
    if (base_value.kind != Value::Kind::scalar && !one_by_one)
        throw Error(ErrorKind::invalid_input, name + ":" + std::to_string(base_value.line) +
                                                  ": mpc.baseMVA must be a number");
    const double base_mva = one_by_one ? base_value.matrix.rows[0][0] : base_value.scalar;

    const NumericMatrix& bm = require_matrix(pc, "bus", 13, name);
    const NumericMatrix& gm = require_matrix(pc, "gen", 10, name);
    const NumericMatrix& lm = require_matrix(pc, "branch", 11, name);

    const auto nb = static_cast<Index>(bm.rows.size());
    BusTable bus;
    bus.id.resize(nb);
    bus.type.resize(nb);
    for (Vector* v :
         {&bus.pd, &bus.qd, &bus.gs, &bus.bs, &bus.vm, &bus.va, &bus.base_kv, &bus.vmax, &bus.vmin})
        v->resize(nb);
    bus.area.resize(nb);
    bus.zone.resize(nb);
    for (Index i = 0; i < nb; ++i) {
        const auto r = static_cast<std::size_t>(i);
        const auto& row = bm.rows[r];
        bus.id[i] = integer_cell(bm, r, 0, "bus number", "bus", name);
        const Index type = integer_cell(bm, r, 1, "bus type", "bus", name);
        // Checked before it is narrowed to 8 bits (Network checks the rest, naming the line).
        if (type < 1 || type > 4)
            throw Error(ErrorKind::invalid_input,
                        name + ":" + std::to_string(bm.row_lines[r]) + ": mpc.bus row " +
                            std::to_string(i + 1) + " (bus " + std::to_string(bus.id[i]) +
                            "): type " + std::to_string(type) +
                            " is not 1 (PQ), 2 (PV), 3 (REF) or 4 (isolated)");
        bus.type[i] = static_cast<std::int8_t>(type);
        bus.pd[i] = row[2];
        bus.qd[i] = row[3];
        bus.gs[i] = row[4];
        bus.bs[i] = row[5];
        bus.area[i] = integer_cell(bm, r, 6, "area", "bus", name);
        bus.vm[i] = row[7];
        bus.va[i] = row[8];
        bus.base_kv[i] = row[9];
        bus.zone[i] = integer_cell(bm, r, 10, "zone", "bus", name);
        bus.vmax[i] = row[11];
        bus.vmin[i] = row[12];
    }

    const auto ng = static_cast<Index>(gm.rows.size());
    GeneratorTable gen;
    gen.bus.resize(ng);
    for (Vector* v :
         {&gen.pg, &gen.qg, &gen.qmax, &gen.qmin, &gen.vg, &gen.mbase, &gen.pmax, &gen.pmin})
        v->resize(ng);
    gen.in_service.resize(ng);
    for (Index g = 0; g < ng; ++g) {
        const auto r = static_cast<std::size_t>(g);
        const auto& row = gm.rows[r];
        gen.bus[g] = integer_cell(gm, r, 0, "bus number", "gen", name);
        gen.pg[g] = row[1];
        gen.qg[g] = row[2];
        gen.qmax[g] = row[3];
        gen.qmin[g] = row[4];
        gen.vg[g] = row[5];
        gen.mbase[g] = row[6];
        gen.in_service[g] = status_cell(gm, r, 7, "gen", name);
        gen.pmax[g] = row[8];
        gen.pmin[g] = row[9];
    }

    const auto nl = static_cast<Index>(lm.rows.size());
    BranchTable br;
    br.from.resize(nl);
    br.to.resize(nl);
    for (Vector* v : {&br.r, &br.x, &br.b, &br.rate_a, &br.rate_b, &br.rate_c, &br.tap, &br.shift,
                      &br.angle_min, &br.angle_max})
        v->resize(nl);
    br.in_service.resize(nl);
    for (Index k = 0; k < nl; ++k) {
        const auto r = static_cast<std::size_t>(k);
        const auto& row = lm.rows[r];
        br.from[k] = integer_cell(lm, r, 0, "from bus", "branch", name);
        br.to[k] = integer_cell(lm, r, 1, "to bus", "branch", name);
        br.r[k] = row[2];
        br.x[k] = row[3];
        br.b[k] = row[4];
        br.rate_a[k] = row[5];
        br.rate_b[k] = row[6];
        br.rate_c[k] = row[7];
        br.tap[k] = row[8];
        br.shift[k] = row[9];
        br.in_service[k] = status_cell(lm, r, 10, "branch", name);
        br.angle_min[k] = row.size() > 11 ? row[11] : -360.0;
        br.angle_max[k] = row.size() > 12 ? row[12] : 360.0;
    }
    SourceLines lines;
    lines.base_mva = base_value.line;
    lines.bus = bm.row_lines;
    lines.gen = gm.row_lines;
    lines.branch = lm.row_lines;
    Network net =
        Network::from_tables(base_mva, std::move(bus), std::move(gen), std::move(br), name, lines);
    if (auto dc = pc.fields.find("dcline"); dc != pc.fields.end() &&
                                            dc->second.kind == Value::Kind::matrix &&
                                            !dc->second.matrix.rows.empty()) {
        const NumericMatrix& m = dc->second.matrix;
        std::size_t in_service = 0;
        for (const auto& row : m.rows) in_service += row.size() > 2 && row[2] > 0;
        net.add_note(
            name + ":" + std::to_string(m.line) + ": mpc.dcline (" + std::to_string(m.rows.size()) +
            (m.rows.size() == 1 ? " DC line, " : " DC lines, ") + std::to_string(in_service) +
            " in service) is ignored, as MATPOWER's runpf ignores it unless toggle_dcline "
            "adds each line's terminals as generators; its transfers are not in the "
            "results");
    }
    return net;
}

}  // namespace

Network parse_matpower(const std::string& text, const std::string& name) {
    // One line end (CRLF of Windows, CR of old Macs: LF), and no UTF-8 byte order mark (Windows
    // editors write one), so the scanner sees one form.
    std::string lf;
    lf.reserve(text.size());
    for (std::size_t i = text.rfind("\xEF\xBB\xBF", 0) == 0 ? 3 : 0; i < text.size(); ++i) {
        if (text[i] != '\r') {
            lf += text[i];
        } else if (i + 1 == text.size() || text[i + 1] != '\n') {
            lf += '\n';
        }
    }
    return build(scan(lf, name), name);
}

Network read_matpower(const std::string& path) {
    std::ifstream in = detail::open_input_file(path, "MATPOWER case file");
    std::ostringstream buffer;
    buffer << in.rdbuf();
    if (in.bad()) throw Error(ErrorKind::io, path + ": read error");
    return parse_matpower(buffer.str(), path);
}

}  // namespace gridbatch
