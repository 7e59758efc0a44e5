// `gridbatch pf CASE --ac [--alg nr|fdxb|fdbx] [--enforce-q-lims]
// [--start from_case|flat|from_dc|previous_step] [--max-iterations N] [--tolerance PU]
// [--slack single|distributed] [--participation FILE] [--load-scale FILE] [--backend cpu|cuda|auto]
// [--threads N] --out DIR`, reached through
// cmd_pf(). previous_step: the load-scale rows are the steps of a time series, each warm from the
// one before. A single case that does not converge still writes its last iterate, says so on
// stderr and exits 3, so that a script cannot take it for a solution; in a batch, summary.csv
// flags each scenario and the exit status is 0.
#include <chrono>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/csv.hpp"
#include "cli/options.hpp"
#include "cli/pf.hpp"
#include "gridbatch/ac_power_flow.hpp"
#include "gridbatch/error.hpp"

namespace gridbatch::cli {
namespace {

AcAlgorithm parse_algorithm(const std::string& text) {
    if (text == "nr") return AcAlgorithm::newton;
    if (text == "fdxb") return AcAlgorithm::fast_decoupled_xb;
    if (text == "fdbx") return AcAlgorithm::fast_decoupled_bx;
    throw Error(ErrorKind::invalid_input,
                "pf --ac: --alg must be nr, fdxb or fdbx (got '" + text + "')");
}

StartMode parse_start(const std::string& text) {
    if (text == "from_case") return StartMode::from_case;
    if (text == "flat") return StartMode::flat;
    if (text == "from_dc") return StartMode::from_dc;
    if (text == "previous_step") return StartMode::previous_step;
    throw Error(
        ErrorKind::invalid_input,
        "pf --ac: --start must be from_case, flat, from_dc or previous_step (got '" + text + "')");
}

}  // namespace

int run_ac_pf(const PfRequest& req, const Options& opt) {
    const Network& net = req.network;
    const std::string algorithm = opt.get("alg", "nr");
    AcOptions options;
    options.backend = req.backend;
    options.threads = req.threads;
    options.device = req.device();
    options.algorithm = parse_algorithm(algorithm);
    options.start = parse_start(opt.get("start", "from_case"));
    options.enforce_q_limits = opt.flag("enforce-q-lims");
    options.slack = req.slack;
    if (req.slack == SlackMode::distributed && options.enforce_q_limits)
        throw UsageError("options --slack distributed and --enforce-q-lims exclude each other");
    if (req.slack == SlackMode::distributed && options.algorithm != AcAlgorithm::newton)
        throw UsageError("option --slack distributed: Newton-Raphson only (--alg nr)");
    options.participation = req.participation;
    const long max_iterations = opt.integer("max-iterations", 0);
    if (opt.has("max-iterations") && (max_iterations < 1 || max_iterations > 1000))
        throw Error(ErrorKind::invalid_input,
                    "pf --ac: --max-iterations must be between 1 and 1000 (got " +
                        opt.get("max-iterations", "") + ")");
    options.max_iterations = static_cast<int>(max_iterations);
    options.tolerance = opt.number("tolerance", options.tolerance);
    if (!(options.tolerance > 0))
        throw Error(ErrorKind::invalid_input,
                    "pf --ac: --tolerance must be > 0 p.u. (got " + opt.get("tolerance", "") + ")");
    const AcPowerFlow pf(net, options);
    if (req.writes()) make_output_dir(req.out_dir);
    const std::string what = std::string("ac power flow (") + algorithm + ") of " + net.source();
    if (req.factors.size() == 0) {
        if (!req.writes()) return 0;  // one case: rank 0 alone
        const AcPowerFlowResult r = pf.solve();
        ScenarioSolution sol{r.vm.col(0), r.va.col(0), r.pf.col(0), r.qf.col(0),
                             r.pt.col(0), r.qt.col(0), r.pg.col(0), r.qg.col(0)};
        write_solution_csv(req.out_dir, net, sol);
        const Status status = r.report.at(0);
        std::cout << what << " on " << to_string(r.backend) << ": " << to_string(status) << " in "
                  << r.report.iterations[0] << " iterations (max mismatch "
                  << r.report.max_mismatch[0] << " p.u.); wrote bus.csv, branch.csv, gen.csv to "
                  << req.out_dir << "\n";
        if (status == Status::converged) return 0;
        std::cerr << "gridbatch pf: warning: the power flow did not converge (" << to_string(status)
                  << "); the files hold the last iterate, not a solution\n";
        return 3;
    }
    const Matrix pd = scale_columns(net.buses().pd, req.factors);
    const Matrix qd = scale_columns(net.buses().qd, req.factors);
    const auto t0 = std::chrono::steady_clock::now();
    const AcPowerFlowResult r =
        req.comm ? solve_sharded(pf, AcBatch(pd, qd), *req.comm) : pf.solve(pd, qd);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!req.writes()) return 0;
    write_bus_matrix_csv(req.out_dir + "/vm.csv", net, r.vm);
    write_bus_matrix_csv(req.out_dir + "/va_deg.csv", net, r.va);
    write_branch_matrix_csv(req.out_dir + "/pf_mw.csv", net, r.pf);
    write_branch_matrix_csv(req.out_dir + "/qf_mvar.csv", net, r.qf);
    write_gen_matrix_csv(req.out_dir + "/pg_mw.csv", net, r.pg);
    write_summary_csv(req.out_dir + "/summary.csv", r.report, &r.loss_mw, &r.slack_mw);
    std::cout << what << ", " << counted(r.report.size(), "scenario") << " on "
              << to_string(r.backend) << ": " << r.report.n_converged() << " converged, solved in "
              << seconds << " s" << req.ranks_note()
              << "; wrote vm.csv, va_deg.csv, pf_mw.csv, qf_mvar.csv, pg_mw.csv, summary.csv to "
              << req.out_dir << "\n";
    return 0;
}

}  // namespace gridbatch::cli
