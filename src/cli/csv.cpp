#include "cli/csv.hpp"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/invalid_input.hpp"
#include "gridbatch/error.hpp"
#include "io/c_number.hpp"
#include "io/input_file.hpp"

namespace gridbatch::cli {
std::vector<std::string> split_csv_line(const std::string& line) {
    const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
    const auto trimmed = [&](const std::string& cell) {
        std::size_t b = 0, e = cell.size();
        while (b < e && blank(cell[b])) ++b;
        while (e > b && blank(cell[e - 1])) --e;
        return cell.substr(b, e - b);
    };
    std::vector<std::string> cells;
    std::size_t i = 0;
    for (;;) {
        while (i < line.size() && blank(line[i])) ++i;
        std::size_t comma = line.find(',', i);
        std::string cell = line.substr(i, comma == std::string::npos ? comma : comma - i);
        if (i < line.size() && line[i] == '"') {
            // A quoted cell (RFC 4180, as R's write.csv and Excel write headers): commas inside
            // it are text, "" is one quote. Without its closing quote a cell is read as it
            // stands, up to the next comma (the message about it then shows the quote).
            std::string text;
            std::size_t k = i + 1;
            for (; k < line.size(); ++k) {
                if (line[k] != '"') {
                    text += line[k];
                } else if (k + 1 < line.size() && line[k + 1] == '"') {
                    text += '"';
                    ++k;
                } else {
                    break;
                }
            }
            if (k < line.size()) {  // at the closing quote
                comma = line.find(',', k);
                cell =
                    text + line.substr(k + 1, comma == std::string::npos ? comma : comma - k - 1);
            }
        }
        cells.push_back(trimmed(cell));
        if (comma == std::string::npos) break;
        i = comma + 1;
    }
    // A comma at the end of the line (some spreadsheets end every row so) adds no column.
    const std::string whole = trimmed(line);
    if (cells.size() > 1 && !whole.empty() && whole.back() == ',') cells.pop_back();
    return cells;
}

std::string shown(const std::string& text) {
    std::string out;
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u != 0x7f) {
            out += c;
        } else {
            char hex[8];
            std::snprintf(hex, sizeof hex, "\\x%02X", u);
            out += hex;
        }
    }
    return out;
}

void make_output_dir(const std::string& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec || !std::filesystem::is_directory(dir))
        throw Error(ErrorKind::io, "cannot create output directory '" + dir + "'" +
                                       (ec ? ": " + ec.message() : ""));
}

bool parse_finite(const std::string& text, Real& value) {
    const std::size_t first = text.find_first_not_of(" \t\r");
    if (first == std::string::npos) return false;
    const std::size_t last = text.find_last_not_of(" \t\r");
    // Decimal only: strtod would read "0x10" as 16.
    if (text.find_first_not_of("0123456789+-.eE \t\r") != std::string::npos) return false;
    const char* begin = text.c_str() + first;
    char* end = nullptr;
    errno = 0;
    value = detail::strtod_c(begin, &end);
    return end == text.c_str() + last + 1 && errno != ERANGE && std::isfinite(value);
}

std::string read_header_line(std::istream& in, const std::string& path) {
    std::string line;
    if (!std::getline(in, line))
        throw Error(ErrorKind::invalid_input, path + ": the file is empty");
    // The byte order mark that Excel's "CSV UTF-8" and Windows editors put first: not part of
    // the first column's name; nor is a Windows line end.
    if (line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos)
        throw Error(ErrorKind::invalid_input,
                    path + ":1: the first line is empty; it names the columns");
    return line;
}

void require_header_width(const std::vector<std::string>& cells,
                          const std::vector<std::string>& header, const std::string& where) {
    if (cells.size() != header.size())
        throw Error(ErrorKind::invalid_input,
                    where + std::to_string(cells.size()) + " cells, but the header has " +
                        std::to_string(header.size()) +
                        " columns (a decimal comma? numbers are written 1.5, not 1,5)");
}

Vector read_csv_column(const std::string& path, const std::string& name, std::vector<int>* lines) {
    std::ifstream in = detail::open_input_file(path, "CSV file");
    std::string line = read_header_line(in, path);
    const auto header = split_csv_line(line);
    std::size_t column = header.size();
    for (std::size_t c = 0; c < header.size(); ++c)
        if (header[c] == name) {
            if (column != header.size())
                throw Error(ErrorKind::invalid_input,
                            path + ":1: the header names column '" + name + "' twice");
            column = c;
        }
    if (column == header.size())
        throw Error(ErrorKind::invalid_input,
                    path + ":1: no column '" + name + "' in the header '" + shown(line) + "'");
    std::vector<Real> values;
    for (int number = 2; std::getline(in, line); ++number) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        const auto cells = split_csv_line(line);
        const std::string where = path + ":" + std::to_string(number) + ": ";
        require_header_width(cells, header, where);
        const std::string& text = cells[column];
        Real v = 0;
        if (!parse_finite(text, v))
            throw Error(
                ErrorKind::invalid_input,
                where + "'" + shown(text) + "' is not a finite number (column '" + name + "')");
        values.push_back(v);
        if (lines) lines->push_back(number);
    }
    if (values.empty())
        throw Error(ErrorKind::invalid_input, path + ": no values under '" + name + "'");
    return Eigen::Map<const Vector>(values.data(), static_cast<Index>(values.size()));
}

std::vector<Index> read_outage_list(const std::string& path, const Network& net) {
    std::vector<int> lines;
    const Vector values = read_csv_column(path, "outage", &lines);
    std::vector<Index> out;
    std::vector<char> seen(static_cast<std::size_t>(net.n_branch()), 0);
    for (Index j = 0; j < values.size(); ++j) {
        const Real v = values[j];
        const std::string where = path + ":" + std::to_string(lines[static_cast<std::size_t>(j)]) +
                                  ": outage " + detail::num(v);
        if (v != std::floor(v) || v < 0 || v >= static_cast<Real>(net.n_branch()))
            throw Error(ErrorKind::invalid_input, where + " is not a branch row of " +
                                                      net.source() + " (0.." +
                                                      std::to_string(net.n_branch() - 1) + ")");
        const auto k = static_cast<Index>(v);
        if (!net.branch_active(k))
            throw Error(ErrorKind::invalid_input,
                        where + ": branch " + std::to_string(k) + " (bus " +
                            std::to_string(net.branches().from[k]) + " - bus " +
                            std::to_string(net.branches().to[k]) + ") is out of service");
        if (seen[static_cast<std::size_t>(k)]++)
            throw Error(ErrorKind::invalid_input, where + " is listed twice");
        out.push_back(k);
    }
    return out;
}

CsvWriter::CsvWriter(const std::string& path) : path_(path) {
    file_ = std::fopen(path.c_str(), "wb");
    if (!file_) throw Error(ErrorKind::io, "cannot write '" + path + "': " + std::strerror(errno));
    buffer_.reserve(1 << 16);
}

CsvWriter::~CsvWriter() {
    if (!file_) return;
    std::fwrite(buffer_.data(), 1, buffer_.size(), file_);
    std::fclose(file_);
}

void CsvWriter::put(const char* text, std::size_t n) {
    if (!first_in_row_) buffer_.push_back(',');
    first_in_row_ = false;
    buffer_.append(text, n);
    if (buffer_.size() >= (1 << 16)) {
        if (std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size())
            throw Error(ErrorKind::io, "cannot write '" + path_ + "': " + std::strerror(errno));
        buffer_.clear();
    }
}

CsvWriter& CsvWriter::cell(Real value) {
    char text[32];
    const auto r = std::to_chars(text, text + sizeof text, value, std::chars_format::general, 15);
    put(text, static_cast<std::size_t>(r.ptr - text));
    return *this;
}

CsvWriter& CsvWriter::cell(Index value) {
    char text[24];
    const auto r = std::to_chars(text, text + sizeof text, value);
    put(text, static_cast<std::size_t>(r.ptr - text));
    return *this;
}

CsvWriter& CsvWriter::cell(const std::string& text) {
    put(text.data(), text.size());
    return *this;
}

CsvWriter& CsvWriter::row(const std::vector<std::string>& cells) {
    for (const auto& c : cells) cell(c);
    end_row();
    return *this;
}

void CsvWriter::end_row() {
    buffer_.push_back('\n');
    first_in_row_ = true;
}

void CsvWriter::close() {
    if (!file_) return;
    const bool ok = std::fwrite(buffer_.data(), 1, buffer_.size(), file_) == buffer_.size();
    const bool closed = std::fclose(file_) == 0;
    file_ = nullptr;
    if (!ok || !closed) throw Error(ErrorKind::io, "cannot write '" + path_ + "'");
}

void write_solution_csv(const std::string& dir, const Network& net, const ScenarioSolution& sol) {
    CsvWriter bus(dir + "/bus.csv");
    bus.row({"bus_id", "vm", "va_deg"});
    for (Index i = 0; i < net.n_bus(); ++i) {
        bus.cell(net.buses().id[i]).cell(sol.vm[i]).cell(sol.va[i]);
        bus.end_row();
    }
    bus.close();
    CsvWriter branch(dir + "/branch.csv");
    branch.row({"from", "to", "pf_mw", "qf_mvar", "pt_mw", "qt_mvar"});
    for (Index k = 0; k < net.n_branch(); ++k) {
        branch.cell(net.branches().from[k]).cell(net.branches().to[k]);
        branch.cell(sol.pf[k]).cell(sol.qf[k]).cell(sol.pt[k]).cell(sol.qt[k]);
        branch.end_row();
    }
    branch.close();
    CsvWriter gen(dir + "/gen.csv");
    gen.row({"bus_id", "pg_mw", "qg_mvar"});
    for (Index g = 0; g < net.n_gen(); ++g) {
        gen.cell(net.generators().bus[g]).cell(sol.pg[g]).cell(sol.qg[g]);
        gen.end_row();
    }
    gen.close();
}

namespace {

void scenario_header(CsvWriter& out, std::vector<std::string> ids, Index scenarios) {
    for (Index s = 0; s < scenarios; ++s) ids.push_back("s" + std::to_string(s));
    out.row(ids);
}

// One row per element: its ids (one column each), then one value per scenario.
void write_rows(const std::string& path, const std::vector<std::string>& id_names,
                const std::vector<const IndexVector*>& ids, const Matrix& values) {
    CsvWriter out(path);
    scenario_header(out, id_names, values.cols());
    for (Index r = 0; r < values.rows(); ++r) {
        for (const IndexVector* id : ids) out.cell((*id)[r]);
        for (Index s = 0; s < values.cols(); ++s) out.cell(values(r, s));
        out.end_row();
    }
    out.close();
}

}  // namespace

void write_bus_matrix_csv(const std::string& path, const Network& net, const Matrix& values) {
    write_rows(path, {"bus_id"}, {&net.buses().id}, values);
}

void write_branch_matrix_csv(const std::string& path, const Network& net, const Matrix& values) {
    write_rows(path, {"from", "to"}, {&net.branches().from, &net.branches().to}, values);
}

void write_gen_matrix_csv(const std::string& path, const Network& net, const Matrix& values) {
    write_rows(path, {"bus_id"}, {&net.generators().bus}, values);
}

void write_summary_csv(const std::string& path, const ScenarioReport& report, const Vector* loss_mw,
                       const Vector* slack_mw) {
    CsvWriter out(path);
    std::vector<std::string> header{"scenario", "converged", "iterations", "max_mismatch",
                                    "status"};
    if (loss_mw) header.insert(header.end(), {"loss_mw", "slack_mw"});
    out.row(header);
    for (Index s = 0; s < report.size(); ++s) {
        out.cell(s).cell(report.at(s) == Status::converged ? 1 : 0);
        out.cell(report.iterations[s]).cell(report.max_mismatch[s]).cell(to_string(report.at(s)));
        if (loss_mw) out.cell((*loss_mw)[s]).cell((*slack_mw)[s]);
        out.end_row();
    }
    out.close();
}

Matrix scale_columns(const Vector& base, const Vector& factors) {
    Matrix out(base.size(), factors.size());
    for (Index s = 0; s < factors.size(); ++s) out.col(s) = base * factors[s];
    return out;
}

void branch_cells(CsvWriter& out, const Network& net, Index k) {
    if (k < 0) {
        out.cell("").cell("").cell("");
        return;
    }
    out.cell(k).cell(net.branches().from[k]).cell(net.branches().to[k]);
}

void write_violations_csv(const std::string& path, const Network& net,
                          const std::vector<N1Violation>& violations) {
    CsvWriter out(path);
    out.row({"scenario", "outage", "outage_from", "outage_to", "branch", "branch_from", "branch_to",
             "loading_pct"});
    for (const N1Violation& v : violations) {
        out.cell(v.scenario);
        branch_cells(out, net, v.outage);
        branch_cells(out, net, v.branch);
        out.cell(v.loading_percent);
        out.end_row();
    }
    out.close();
}

}  // namespace gridbatch::cli
