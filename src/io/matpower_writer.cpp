#include <algorithm>
#include <cctype>
#include <fstream>
#include <iomanip>
#include <locale>
#include <sstream>

#include "gridbatch/error.hpp"
#include "gridbatch/matpower.hpp"

namespace gridbatch {

std::string format_matpower(const Network& net, const std::string& name) {
    // It becomes the function's name: a MATLAB identifier (a letter, then letters, digits and
    // underscores, at most namelengthmax = 63), or the text would not be a case file.
    const bool identifier =
        !name.empty() && name.size() <= 63 && std::isalpha(static_cast<unsigned char>(name[0])) &&
        std::all_of(name.begin(), name.end(),
                    [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
    if (!identifier)
        throw Error(ErrorKind::invalid_input,
                    "case name '" + name +
                        "' is not a MATLAB function name (a letter, then letters, digits or "
                        "underscores, at most 63)");
    std::ostringstream o;
    o.imbue(std::locale::classic());  // MATLAB's decimal point under any global C++ locale
    o << std::setprecision(17);
    o << "function mpc = " << name << "\n%% written by gridbatch\nmpc.version = '2';\n"
      << "mpc.baseMVA = " << net.base_mva() << ";\n\n";
    const auto& b = net.buses();
    o << "%% bus_i type Pd Qd Gs Bs area Vm Va baseKV zone Vmax Vmin\nmpc.bus = [\n";
    for (Index i = 0; i < net.n_bus(); ++i)
        o << "\t" << b.id[i] << "\t" << int(b.type[i]) << "\t" << b.pd[i] << "\t" << b.qd[i] << "\t"
          << b.gs[i] << "\t" << b.bs[i] << "\t" << b.area[i] << "\t" << b.vm[i] << "\t" << b.va[i]
          << "\t" << b.base_kv[i] << "\t" << b.zone[i] << "\t" << b.vmax[i] << "\t" << b.vmin[i]
          << ";\n";
    const auto& g = net.generators();
    o << "];\n\n%% bus Pg Qg Qmax Qmin Vg mBase status Pmax Pmin\nmpc.gen = [\n";
    for (Index k = 0; k < net.n_gen(); ++k)
        o << "\t" << g.bus[k] << "\t" << g.pg[k] << "\t" << g.qg[k] << "\t" << g.qmax[k] << "\t"
          << g.qmin[k] << "\t" << g.vg[k] << "\t" << g.mbase[k] << "\t" << int(g.in_service[k])
          << "\t" << g.pmax[k] << "\t" << g.pmin[k] << ";\n";
    const auto& l = net.branches();
    o << "];\n\n%% fbus tbus r x b rateA rateB rateC ratio angle status angmin angmax\n"
      << "mpc.branch = [\n";
    for (Index k = 0; k < net.n_branch(); ++k)
        o << "\t" << l.from[k] << "\t" << l.to[k] << "\t" << l.r[k] << "\t" << l.x[k] << "\t"
          << l.b[k] << "\t" << l.rate_a[k] << "\t" << l.rate_b[k] << "\t" << l.rate_c[k] << "\t"
          << l.tap[k] << "\t" << l.shift[k] << "\t" << int(l.in_service[k]) << "\t"
          << l.angle_min[k] << "\t" << l.angle_max[k] << ";\n";
    o << "];\n";
    return o.str();
}

void write_matpower(const Network& net, const std::string& path, const std::string& name) {
    std::ofstream out(path);
    if (!out) throw Error(ErrorKind::io, path + ": cannot open for writing");
    out << format_matpower(net, name);
    if (!out) throw Error(ErrorKind::io, path + ": write error");
}

}  // namespace gridbatch
