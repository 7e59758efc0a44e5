// `gridbatch info CASE`: size of a case and basic checks.
#include <cmath>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "gridbatch/admittance.hpp"
#include "gridbatch/builtin_network.hpp"
#include "gridbatch/matpower.hpp"

namespace gridbatch::cli {

Network load_case(const std::string& name) {
    Network net = name == "builtin" ? builtin_network() : read_matpower(name);
    if (launcher_rank() == 0)
        for (const std::string& note : net.notes()) std::cerr << "warning: " << note << "\n";
    return net;
}

int cmd_info(const Args& args) {
    const Options opt(args, {}, {"write"});
    const char* usage = "usage: gridbatch info CASE|builtin [--write FILE]";
    if (opt.flag("help")) {
        std::cout << usage << "\n";
        return 0;
    }
    if (opt.positional().size() != 1) throw UsageError(usage);
    const Network net = load_case(opt.positional()[0]);
    Index active_branches = 0, active_gens = 0, isolated = 0, pv = 0;
    for (Index k = 0; k < net.n_branch(); ++k) active_branches += net.branch_active(k);
    for (Index g = 0; g < net.n_gen(); ++g) active_gens += net.gen_active(g);
    for (Index i = 0; i < net.n_bus(); ++i) {
        isolated += net.buses().type[i] == static_cast<std::int8_t>(BusType::isolated);
        pv += net.buses().type[i] == static_cast<std::int8_t>(BusType::pv);
    }
    const ComplexVector s = bus_injections(net) * net.base_mva();
    std::cout << "case:         " << net.source() << "\n"
              << "baseMVA:      " << net.base_mva() << "\n"
              << "buses:        " << net.n_bus() << " (" << pv << " PV, " << isolated
              << " isolated; reference bus " << net.buses().id[net.reference_bus()] << ")\n"
              << "generators:   " << net.n_gen() << " (" << active_gens << " in service)\n"
              << "branches:     " << net.n_branch() << " (" << active_branches << " in service, "
              << net.n_transformers() << " transformers)\n"
              << "areas:        " << net.n_areas() << "\n"
              << "load:         " << net.buses().pd.sum() << " MW, " << net.buses().qd.sum()
              << " MVAr\n"
              << "generation:   " << (s.real().sum() + net.buses().pd.sum())
              << " MW scheduled (in-service units)\n";
    if (opt.has("write")) {
        write_matpower(net, opt.get("write", ""), "gridbatch_case");
        std::cout << "written:      " << opt.get("write", "") << "\n";
    }
    return 0;
}

}  // namespace gridbatch::cli
