#include "support/cases.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace gridbatch::test {

namespace fs = std::filesystem;

std::string shared_dir() {
    if (const char* env = std::getenv("GRIDBATCH_SHARED_DIR")) return env;
    return GRIDBATCH_SHARED_DIR;
}

std::string cli_command() {
    const char* env = std::getenv("GRIDBATCH_CLI");
    return "'" + std::string(env ? env : GRIDBATCH_CLI) + "'";
}

bool have_shared() { return fs::is_directory(shared_dir() + "/cases"); }

std::string case_path(const std::string& name) { return shared_dir() + "/cases/" + name + ".m"; }

std::string ref_path(const std::string& name, const std::string& file) {
    return shared_dir() + "/refs/matpower/" + name + "/" + file;
}

std::vector<std::string> all_cases() {
    std::vector<std::pair<std::uintmax_t, std::string>> found;
    if (!have_shared()) return {};
    for (const auto& e : fs::directory_iterator(shared_dir() + "/cases"))
        if (e.path().extension() == ".m")
            found.emplace_back(e.file_size(), e.path().stem().string());
    std::sort(found.begin(), found.end());
    std::vector<std::string> out;
    for (auto& f : found) out.push_back(f.second);
    return out;
}

namespace {
std::size_t column_index(const Csv& csv, const std::string& name) {
    const auto it = std::find(csv.header.begin(), csv.header.end(), name);
    if (it == csv.header.end()) throw std::runtime_error("no column " + name);
    return static_cast<std::size_t>(it - csv.header.begin());
}
}  // namespace

std::vector<double> Csv::column(const std::string& name) const {
    const std::size_t c = column_index(*this, name);
    std::vector<double> out;
    out.reserve(rows.size());
    for (const auto& r : rows) out.push_back(r.at(c));
    return out;
}

std::vector<std::string> Csv::text_column(const std::string& name) const {
    const std::size_t c = column_index(*this, name);
    std::vector<std::string> out;
    out.reserve(text.size());
    for (const auto& r : text) out.push_back(r.at(c));
    return out;
}

Csv read_csv(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open " + path);
    Csv csv;
    std::string line;
    std::getline(in, line);
    std::stringstream hs(line);
    for (std::string cell; std::getline(hs, cell, ',');) csv.header.push_back(cell);
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        std::vector<double> row;
        std::vector<std::string> cells;
        std::stringstream ls(line);
        for (std::string cell; std::getline(ls, cell, ',');) {
            char* end = nullptr;
            const double x = std::strtod(cell.c_str(), &end);
            row.push_back(!cell.empty() && *end == '\0' ? x : NAN);
            cells.push_back(cell);
        }
        csv.rows.push_back(std::move(row));
        csv.text.push_back(std::move(cells));
    }
    return csv;
}

ComplexVector ref_voltages(const std::string& name, const std::string& variant) {
    const Csv bus = read_csv(ref_path(name, variant + "_bus.csv"));
    const auto vm = bus.column("vm");
    const auto va = bus.column("va_deg");
    ComplexVector v(static_cast<Index>(vm.size()));
    for (std::size_t i = 0; i < vm.size(); ++i)
        v[static_cast<Index>(i)] = std::polar(vm[i], va[i] * M_PI / 180.0);
    return v;
}

std::string three_bus_case_text() {
    return R"(function mpc = three
mpc.version = '2';
mpc.baseMVA = 100;
mpc.bus = [
  1 3 0  0  0 0 1 1.02 0 230 1 1.1 0.9;
  2 1 50 10 0 0 1 1 0 230 1 1.1 0.9;
  3 2 40 5  0 0 1 1 0 230 1 1.1 0.9;
];
mpc.gen = [
  1 50 0 100 -100 1.02 100 1 200 0;
  3 45 0 100 -100 1.01 100 1 200 0;
];
mpc.branch = [
  1 2 0.01 0.1 0.02 100 100 100 0 0 1 -360 360;
  2 3 0.01 0.1 0.02 100 100 100 0 0 1 -360 360;
  1 3 0.02 0.2 0.04 100 100 100 0 0 1 -360 360;
];
)";
}

}  // namespace gridbatch::test
