// CSV input and output of the command-line program: a buffered writer, the `--load-scale` file,
// one solved scenario in MATPOWER's units (bus.csv, branch.csv, gen.csv), scenario matrices with
// id columns (va_deg.csv, pf_mw.csv, ...) and the per-scenario summary.
#pragma once

#include <cstdio>
#include <istream>
#include <string>
#include <vector>

#include "gridbatch/network.hpp"
#include "gridbatch/result.hpp"
#include "gridbatch/sensitivities.hpp"

namespace gridbatch::cli {

// Creates `dir` and its parents; throws Error{io} naming it.
void make_output_dir(const std::string& dir);

// The first line of a CSV file, without a UTF-8 byte order mark or a final CR; throws
// Error{invalid_input} naming the file when it is empty or the line blank.
std::string read_header_line(std::istream& in, const std::string& path);

// The cells of one CSV line, blanks and a trailing CR trimmed; a quoted cell ("a,b" or "say
// ""x""") is its text; a comma ending the line adds no cell.
std::vector<std::string> split_csv_line(const std::string& line);
// Text for a message: control bytes (a NUL, a stray CR) as \xNN, the rest as it is.
std::string shown(const std::string& text);
// Throws "<where>N cells, but the header has M columns ..." unless a row has the header's width
// (a row "1,5" under the header "scale" is a decimal comma, not the value 1).
void require_header_width(const std::vector<std::string>& cells,
                          const std::vector<std::string>& header, const std::string& where);

// The values of column `name` of a CSV file with a header row, e.g. `--load-scale FILE` with
// header `scale`. Errors (missing file or column, a cell that is not a finite number) name the
// file and line. `lines`, when given, receives each value's line in the file.
Vector read_csv_column(const std::string& path, const std::string& name,
                       std::vector<int>* lines = nullptr);

// The branch outages listed in column `outage` of a CSV file: rows of the branch table from 0
// (as the n1 outputs name them), each in service, no repeats. Errors name the file and line.
std::vector<Index> read_outage_list(const std::string& path, const Network& net);

// The whole of `text` (surrounding blanks allowed) as a finite decimal number; false for anything
// else ("12abc", "nan", "inf", "0x10", "", embedded NUL).
bool parse_finite(const std::string& text, Real& value);

// Writes cells separated by commas; numbers with 15 significant digits (round-trips to ~1e-15
// relative). Throws Error{io} naming the file when it cannot be opened or written.
class CsvWriter {
public:
    explicit CsvWriter(const std::string& path);
    ~CsvWriter();
    CsvWriter(const CsvWriter&) = delete;
    CsvWriter& operator=(const CsvWriter&) = delete;

    CsvWriter& cell(Real value);
    CsvWriter& cell(Index value);
    CsvWriter& cell(int value) { return cell(static_cast<Index>(value)); }
    CsvWriter& cell(const std::string& text);
    CsvWriter& cell(const char* text) { return cell(std::string(text)); }
    CsvWriter& row(const std::vector<std::string>& cells);  // e.g. a header
    void end_row();
    void close();  // flushes and checks; the destructor closes without throwing

private:
    void put(const char* text, std::size_t n);
    std::string path_;
    std::FILE* file_ = nullptr;
    std::string buffer_;
    bool first_in_row_ = true;
};

// One solved scenario in MATPOWER's units and the case's row order.
struct ScenarioSolution {
    Vector vm, va;          // n_bus: p.u., degrees
    Vector pf, qf, pt, qt;  // n_branch: MW, MVAr
    Vector pg, qg;          // n_gen: MW, MVAr
};
// DIR/bus.csv (bus_id,vm,va_deg), DIR/branch.csv (from,to,pf_mw,qf_mvar,pt_mw,qt_mvar) and
// DIR/gen.csv (bus_id,pg_mw,qg_mvar).
void write_solution_csv(const std::string& dir, const Network& net, const ScenarioSolution& sol);

// A scenario matrix, one row per bus (header bus_id,s0,s1,...) or per branch (from,to,s0,...).
void write_bus_matrix_csv(const std::string& path, const Network& net, const Matrix& values);
void write_branch_matrix_csv(const std::string& path, const Network& net, const Matrix& values);
// One row per generator (gen-table order), `bus_id` its bus.
void write_gen_matrix_csv(const std::string& path, const Network& net, const Matrix& values);

// scenario,converged,iterations,max_mismatch,status (converged: 1 or 0; status its name, e.g.
// max_iterations), and for an AC power flow loss_mw,slack_mw (the total distributed slack, 0 with
// a single reference bus) after them.
void write_summary_csv(const std::string& path, const ScenarioReport& report,
                       const Vector* loss_mw = nullptr, const Vector* slack_mw = nullptr);

// Column k = base * factors[k]: the `--load-scale` scenarios of a bus quantity (Pd or Qd).
Matrix scale_columns(const Vector& base, const Vector& factors);

// Three cells naming branch k: its row, from bus and to bus (three empty cells for k < 0).
void branch_cells(CsvWriter& out, const Network& net, Index k);

// The n1 commands' violations.csv: scenario, the outage and the loaded branch (branch_cells each),
// loading_pct.
void write_violations_csv(const std::string& path, const Network& net,
                          const std::vector<N1Violation>& violations);

}  // namespace gridbatch::cli
