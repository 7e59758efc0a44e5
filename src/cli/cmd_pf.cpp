// `gridbatch pf CASE --dc [--slack single|distributed] [--participation FILE] [--load-scale FILE]
// [--backend cpu|cuda|auto] [--threads N] --out DIR`; `--ac` goes to run_ac_pf() in cmd_pf_ac.cpp.
#include <chrono>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/csv.hpp"
#include "cli/options.hpp"
#include "cli/pf.hpp"
#include "gridbatch/dc_power_flow.hpp"

namespace gridbatch::cli {
namespace {

constexpr const char* kUsage =
    "usage: gridbatch pf CASE --dc|--ac [--alg nr|fdxb|fdbx] [--enforce-q-lims] "
    "[--start from_case|flat|from_dc|previous_step] [--max-iterations N] [--tolerance PU] "
    "[--slack single|distributed] [--participation FILE] [--load-scale FILE] "
    "[--backend cpu|cuda|auto] [--threads N] --out DIR";

// --slack (default: distributed where --participation is given, else single) and
// --participation FILE: a CSV with the header `participation` and one factor per generator, in
// the case's gen-table order (default factors: Pmax).
void parse_slack(const Options& opt, PfRequest& req) {
    const std::string slack = opt.get("slack", opt.has("participation") ? "distributed" : "single");
    if (slack == "single")
        req.slack = SlackMode::single;
    else if (slack == "distributed")
        req.slack = SlackMode::distributed;
    else
        throw Error(ErrorKind::invalid_input,
                    "pf: --slack must be single or distributed (got '" + slack + "')");
    if (!opt.has("participation")) return;
    if (req.slack == SlackMode::single)
        throw UsageError(
            "options --participation and --slack single: participation factors "
            "share a distributed slack");
    const std::string path = opt.get("participation", "");
    req.participation = read_csv_column(path, "participation");
    if (req.participation.size() != req.network.n_gen())
        throw Error(ErrorKind::invalid_input,
                    "pf: --participation " + path + " has " +
                        std::to_string(req.participation.size()) + " rows; " +
                        req.network.source() + " has " + std::to_string(req.network.n_gen()) +
                        " generators (one factor per generator, in the gen table's order)");
}

int run_dc_pf(const PfRequest& req) {
    const Network& net = req.network;
    DcOptions options;
    options.backend = req.backend;
    options.threads = req.threads;
    options.device = req.device();
    options.slack = req.slack;
    options.participation = req.participation;
    DcPowerFlow pf(net, options);
    if (req.writes()) make_output_dir(req.out_dir);
    if (req.factors.size() == 0) {
        if (!req.writes()) return 0;  // one case: rank 0 alone
        const DcPowerFlowResult r = pf.solve();
        ScenarioSolution sol;
        sol.vm = Vector::Ones(net.n_bus());
        for (Index i = 0; i < net.n_bus(); ++i)  // isolated buses keep the case's values
            if (net.buses().type[i] == static_cast<std::int8_t>(BusType::isolated))
                sol.vm[i] = net.buses().vm[i];
        sol.va = r.va.col(0);
        sol.pf = r.pf.col(0);
        sol.pt = -r.pf.col(0);
        sol.qf = sol.qt = Vector::Zero(net.n_branch());
        sol.pg = r.pg.col(0);
        sol.qg = Vector::Zero(net.n_gen());
        write_solution_csv(req.out_dir, net, sol);
        std::cout << "dc power flow of " << net.source() << " on " << to_string(r.backend)
                  << ": wrote bus.csv, branch.csv, gen.csv to " << req.out_dir << "\n";
        return 0;
    }
    const Matrix pd = scale_columns(net.buses().pd, req.factors);
    const auto start = std::chrono::steady_clock::now();
    const DcPowerFlowResult r = req.comm ? solve_sharded(pf, pd, *req.comm) : pf.solve(pd);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!req.writes()) return 0;
    write_bus_matrix_csv(req.out_dir + "/va_deg.csv", net, r.va);
    write_branch_matrix_csv(req.out_dir + "/pf_mw.csv", net, r.pf);
    write_gen_matrix_csv(req.out_dir + "/pg_mw.csv", net, r.pg);
    write_summary_csv(req.out_dir + "/summary.csv", r.report);
    std::cout << "dc power flow of " << net.source() << ", " << counted(r.size(), "scenario")
              << " on " << to_string(r.backend) << ": solved in " << seconds << " s"
              << req.ranks_note() << "; wrote va_deg.csv, pf_mw.csv, pg_mw.csv, summary.csv to "
              << req.out_dir << "\n";
    return 0;
}

}  // namespace

int cmd_pf(const Args& args) {
    const Options opt(args, {"dc", "ac", "enforce-q-lims"},
                      {"load-scale", "backend", "threads", "out", "alg", "start", "max-iterations",
                       "tolerance", "slack", "participation"});
    if (opt.flag("help")) {
        std::cout << kUsage << "\n";
        return 0;
    }
    if (opt.positional().size() != 1) throw UsageError(kUsage);
    if (opt.flag("dc") == opt.flag("ac"))
        throw UsageError(std::string("choose one of --dc and --ac; ") + kUsage);
    PfRequest req;
    req.network = load_case(opt.positional()[0]);
    req.out_dir = opt.require("out");
    req.backend = parse_backend(opt.get("backend", "auto"));
    req.threads = static_cast<int>(opt.integer("threads", 0));
    if (opt.has("load-scale")) req.factors = read_csv_column(opt.get("load-scale", ""), "scale");
    parse_slack(opt, req);
    const std::unique_ptr<Communicator> comm = launcher_communicator();
    req.comm = comm.get();
    if (opt.flag("ac")) return run_ac_pf(req, opt);
    if (opt.has("alg") || opt.has("start") || opt.flag("enforce-q-lims") ||
        opt.has("max-iterations") || opt.has("tolerance"))
        throw UsageError(
            "pf: --alg, --start, --enforce-q-lims, --max-iterations and --tolerance need --ac");
    return run_dc_pf(req);
}

}  // namespace gridbatch::cli
