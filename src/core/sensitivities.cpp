// PTDF, LODF and N-1 screening over a DcPowerFlow's factorisation: every column comes from the
// engine's branch_sensitivity (Bf_red B_red^-1 r), so they run on the power flow's backend.
#include "gridbatch/sensitivities.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <tuple>

#include "core/bridges.hpp"
#include "core/dc_access.hpp"
#include "core/invalid_input.hpp"
#include "core/memory.hpp"
#include "core/n1_screen.hpp"
#include "cpu/parallel.hpp"
#include "gridbatch/error.hpp"

namespace gridbatch {
namespace {

using detail::DcAccess;
using detail::DcModel;

// Right-hand sides handled per engine call in the dense PTDF/LODF forms (workspace n x block).
constexpr Index kBlock = 256;

void check_index(Index i, Index n, const char* what, const char* function) {
    if (i < 0 || i >= n)
        throw Error(ErrorKind::invalid_input, std::string(function) + ": " + what + " index " +
                                                  std::to_string(i) + " is out of range [0, " +
                                                  std::to_string(n) + ")");
}

// The weights w of the slack that absorbs an injection at a bus of island c: the flow of a unit
// injection at j is H e_j - H w_c. Zero weights mean "the island's reference buses", which
// H (built on the reduced system) already is.
struct SlackWeights {
    Index bus = -1;  // chosen slack bus, or -1
    bool distributed = false;
};

SlackWeights slack_weights(DcPowerFlow& pf, PtdfSlack slack, const char* function) {
    const DcModel& m = DcAccess::model(pf);
    if (slack.bus < -1)
        throw Error(ErrorKind::invalid_input,
                    std::string(function) + ": slack bus index " + std::to_string(slack.bus) +
                        " is out of range (a bus index, or -1 for the power flow's own slack)");
    if (slack.bus >= 0) {
        check_index(slack.bus, m.n_bus, "slack bus", function);
        if (m.island[slack.bus] < 0)
            throw Error(ErrorKind::invalid_input,
                        std::string(function) + ": slack bus " +
                            std::to_string(pf.network().buses().id[slack.bus]) +
                            " is isolated (type 4)");
        return {slack.bus, false};
    }
    return {-1, m.distributed};
}

// H w for the slack: one column per island (distributed) or the slack bus's column.
Matrix slack_columns(DcPowerFlow& pf, const SlackWeights& w) {
    const DcModel& m = DcAccess::model(pf);
    const Index nf = m.n_free();
    if (w.bus >= 0) {
        Matrix r = Matrix::Zero(nf, 1);
        if (m.reduced_index[w.bus] >= 0) r(m.reduced_index[w.bus], 0) = 1;
        Matrix y(m.n_branch, 1);
        DcAccess::engine(pf).branch_sensitivity(r.data(), nf, 1, y.data(), m.n_branch);
        return y;
    }
    if (!w.distributed) return Matrix();
    Matrix r = Matrix::Zero(nf, m.n_island);
    for (Index i = 0; i < m.n_bus; ++i)
        if (m.reduced_index[i] >= 0) r(m.reduced_index[i], m.island[i]) = m.participation[i];
    Matrix y(m.n_branch, m.n_island);
    if (m.n_island > 0)
        DcAccess::engine(pf).branch_sensitivity(r.data(), nf, m.n_island, y.data(), m.n_branch);
    return y;
}

// PTDF columns of `buses`; bad arguments are named as arguments of `function`.
Matrix columns_of(DcPowerFlow& pf, const std::vector<Index>& buses, PtdfSlack slack,
                  const char* function) {
    const DcModel& m = DcAccess::model(pf);
    for (Index j : buses) check_index(j, m.n_bus, "bus", function);
    const SlackWeights w = slack_weights(pf, slack, function);
    const Matrix shift = slack_columns(pf, w);
    const Index nf = m.n_free(), n = static_cast<Index>(buses.size());
    Matrix out = Matrix::Zero(m.n_branch, n);
    for (Index first = 0; first < n; first += kBlock) {
        const Index k = std::min(kBlock, n - first);
        Matrix r = Matrix::Zero(nf, k);
        for (Index c = 0; c < k; ++c) {
            const Index j = buses[first + c];
            if (m.reduced_index[j] >= 0) r(m.reduced_index[j], c) = 1;
        }
        if (nf > 0)
            DcAccess::engine(pf).branch_sensitivity(r.data(), nf, k, out.col(first).data(),
                                                    m.n_branch);
    }
    for (Index c = 0; c < n; ++c) {
        const Index j = buses[c];
        if (m.island[j] < 0) {
            out.col(c).setZero();
        } else if (w.bus >= 0) {
            if (m.island[j] == m.island[w.bus])
                out.col(c) -= shift.col(0);
            else
                out.col(c).setZero();
        } else if (w.distributed) {
            out.col(c) -= shift.col(m.island[j]);
        }
    }
    return out;
}

}  // namespace

Matrix ptdf_columns(DcPowerFlow& pf, const std::vector<Index>& buses, PtdfSlack slack) {
    return columns_of(pf, buses, slack, "ptdf_columns");
}

Matrix ptdf_rows(DcPowerFlow& pf, const std::vector<Index>& branches, PtdfSlack slack) {
    const DcModel& m = DcAccess::model(pf);
    for (Index l : branches) check_index(l, m.n_branch, "branch", "ptdf_rows");
    const SlackWeights w = slack_weights(pf, slack, "ptdf_rows");
    const Index nf = m.n_free(), n = static_cast<Index>(branches.size());
    // Row l of Bf_red B_red^-1 is (B_red^-1 Bf_red(l, :)^T)^T, B_red being symmetric.
    Matrix x = Matrix::Zero(nf, n);
    const auto& bf = m.bf_reduced;
    for (Index c = 0; c < n; ++c)
        for (int e = bf.row_ptr[branches[c]]; e < bf.row_ptr[branches[c] + 1]; ++e)
            x(bf.col_index[e], c) = bf.values[e];
    if (nf > 0 && n > 0) DcAccess::engine(pf).solve_reduced(x.data(), nf, n);
    Matrix out = Matrix::Zero(n, m.n_bus);
    for (Index r = 0; r < nf; ++r) out.col(m.free_bus[r]) = x.row(r).transpose();
    if (w.bus >= 0) {
        const Vector at_slack = out.col(w.bus);
        for (Index j = 0; j < m.n_bus; ++j) {
            if (m.island[j] == m.island[w.bus])
                out.col(j) -= at_slack;
            else
                out.col(j).setZero();
        }
    } else if (w.distributed) {
        Matrix per_island = Matrix::Zero(n, m.n_island);
        for (Index j = 0; j < m.n_bus; ++j)
            if (m.island[j] >= 0) per_island.col(m.island[j]) += m.participation[j] * out.col(j);
        for (Index j = 0; j < m.n_bus; ++j)
            if (m.island[j] >= 0) out.col(j) -= per_island.col(m.island[j]);
    }
    return out;
}

Matrix ptdf(DcPowerFlow& pf, PtdfSlack slack) {
    std::vector<Index> all(static_cast<std::size_t>(pf.network().n_bus()));
    for (std::size_t j = 0; j < all.size(); ++j) all[j] = static_cast<Index>(j);
    return columns_of(pf, all, slack, "ptdf");
}

std::vector<bool> islanding_branches(const Network& net) {
    return detail::BranchGraph(net).bridges();
}

Lodf lodf(DcPowerFlow& pf) {
    std::vector<Index> all(static_cast<std::size_t>(pf.network().n_branch()));
    for (std::size_t k = 0; k < all.size(); ++k) all[k] = static_cast<Index>(k);
    return lodf(pf, all);
}

namespace {

// LODF columns for `outages` (active, not islanding) into `out` (n_branch x outages.size()):
// H(:, k) / (1 - H(k, k)) with H(:, k) the flows of a unit transfer from k's from bus to its to
// bus, and -1 on the diagonal.
void lodf_block(DcPowerFlow& pf, const std::vector<Index>& outages, Real* out, Index ld) {
    const DcModel& m = DcAccess::model(pf);
    const Network& net = pf.network();
    const Index nf = m.n_free(), n = static_cast<Index>(outages.size());
    if (n == 0) return;
    Matrix r = Matrix::Zero(nf, n);
    for (Index c = 0; c < n; ++c) {
        const int f = m.reduced_index[net.branch_from()[outages[c]]];
        const int t = m.reduced_index[net.branch_to()[outages[c]]];
        if (f >= 0) r(f, c) += 1;
        if (t >= 0) r(t, c) -= 1;
    }
    Eigen::Map<Matrix, 0, Eigen::OuterStride<>> y(out, m.n_branch, n, Eigen::OuterStride<>(ld));
    if (nf > 0)
        DcAccess::engine(pf).branch_sensitivity(r.data(), nf, n, out, ld);
    else
        y.setZero();
    for (Index c = 0; c < n; ++c) {
        const Index k = outages[c];
        y.col(c) /= 1 - y(k, c);
        y(k, c) = -1;
    }
}

}  // namespace

Lodf lodf(DcPowerFlow& pf, const std::vector<Index>& outages) {
    const Network& net = pf.network();
    for (Index k : outages) check_index(k, net.n_branch(), "branch", "lodf");
    const std::vector<bool> bridge = islanding_branches(net);
    Lodf out;
    out.outages = outages;
    out.islanding.assign(outages.size(), false);
    out.factors = Matrix::Zero(net.n_branch(), static_cast<Index>(outages.size()));
    std::vector<Index> block;
    std::vector<Index> column;
    auto flush = [&] {
        if (block.empty()) return;
        Matrix y(net.n_branch(), static_cast<Index>(block.size()));
        lodf_block(pf, block, y.data(), y.rows());
        for (std::size_t c = 0; c < block.size(); ++c)
            out.factors.col(column[c]) = y.col(static_cast<Index>(c));
        block.clear();
        column.clear();
    };
    for (std::size_t c = 0; c < outages.size(); ++c) {
        const Index k = outages[c];
        if (!net.branch_active(k)) continue;
        if (bridge[k]) {
            out.islanding[c] = true;
            continue;
        }
        block.push_back(k);
        column.push_back(static_cast<Index>(c));
        if (static_cast<Index>(block.size()) == kBlock) flush();
    }
    flush();
    return out;
}

namespace detail {

N1Plan plan_n1(const Network& net, const N1Options& options) {
    const Index nl = net.n_branch();
    if (!(options.threshold_percent >= 0) || !std::isfinite(options.threshold_percent))
        throw Error(ErrorKind::invalid_input,
                    "N1Options.threshold_percent must be finite and "
                    ">= 0 (got " +
                        detail::num(options.threshold_percent) + ")");
    if (std::isnan(options.min_increase_percent) || options.min_increase_percent == HUGE_VAL)
        throw Error(ErrorKind::invalid_input,
                    "N1Options.min_increase_percent must be a number or -inf (got " +
                        detail::num(options.min_increase_percent) + ")");
    if (options.outages_per_block < 1)
        throw Error(ErrorKind::invalid_input, "N1Options.outages_per_block must be >= 1 (got " +
                                                  std::to_string(options.outages_per_block) + ")");
    std::vector<Index> outages = options.outages;
    if (outages.empty()) {
        for (Index k = 0; k < nl; ++k)
            if (net.branch_active(k)) outages.push_back(k);
    }
    std::vector<char> listed(static_cast<std::size_t>(nl), 0);
    for (Index k : outages) {
        check_index(k, nl, "outage branch", "n1_screen");
        const std::string branch = "n1_screen: outage branch " + std::to_string(k) + " (bus " +
                                   std::to_string(net.branches().from[k]) + " -> " +
                                   std::to_string(net.branches().to[k]) + ")";
        if (!net.branch_active(k))
            throw Error(ErrorKind::invalid_input, branch + " is out of service");
        // Twice would report its violations twice (the command line refuses it the same way).
        if (listed[static_cast<std::size_t>(k)]++)
            throw Error(ErrorKind::invalid_input, branch + " is listed twice");
    }

    N1Plan plan;
    plan.threshold = options.threshold_percent / 100;
    // Post-outage flows carry round-off (~1e-13 of the rating) where an outage leaves a branch as
    // it was: without a margin, min_increase 0 would keep or drop such branches at random.
    constexpr Real kRoundOff = 1e-9;  // fraction of rateA: 1e-7 percentage points
    plan.min_increase = options.min_increase_percent / 100 + kRoundOff;
    plan.inv_rating = Vector::Zero(nl);
    for (Index l = 0; l < nl; ++l)
        if (net.branch_active(l) && net.branches().rate_a[l] > 0)
            plan.inv_rating[l] = 1 / net.branches().rate_a[l];
    const std::vector<bool> bridge = islanding_branches(net);
    for (Index k : outages) {
        if (bridge[k]) {
            plan.islanding.push_back(k);
            continue;
        }
        if (plan.blocks.empty() ||
            static_cast<Index>(plan.blocks.back().size()) == options.outages_per_block)
            plan.blocks.emplace_back();
        plan.blocks.back().push_back(k);
    }
    return plan;
}

std::vector<Index> plan_positions(const N1Plan& plan, Index n_branch) {
    std::vector<Index> position(static_cast<std::size_t>(n_branch), -1);
    Index next = 0;
    for (const auto& block : plan.blocks)
        for (Index k : block) position[static_cast<std::size_t>(k)] = next++;
    return position;
}

OutageScreenResult empty_screen(Index n_scenarios) {
    OutageScreenResult screen;
    screen.worst = Vector::Zero(n_scenarios);
    screen.worst_outage = IndexVector::Constant(n_scenarios, -1);
    screen.worst_branch = IndexVector::Constant(n_scenarios, -1);
    return screen;
}

void screen_block(DcPowerFlow& pf, const N1Plan& plan, std::size_t b, const DcPowerFlowResult& base,
                  Matrix& factors, OutageScreenResult& screen) {
    const std::vector<Index>& block = plan.blocks[b];
    const Index nl = pf.network().n_branch(), S = base.size();
    if (factors.rows() != nl || factors.cols() < static_cast<Index>(block.size()))
        factors.resize(nl, static_cast<Index>(block.size()));
    lodf_block(pf, block, factors.data(), nl);
    const std::vector<int> outage(block.begin(), block.end());
    OutageBlock ob;
    ob.n_scenarios = S;
    ob.base_flow = base.pf.data();
    ob.ld_base_flow = nl;
    ob.n_outage = static_cast<Index>(block.size());
    ob.outage = outage.data();
    ob.lodf = factors.data();
    ob.ld_lodf = nl;
    ob.inv_rating = plan.inv_rating.data();
    ob.threshold = plan.threshold;
    ob.min_increase = plan.min_increase;
    if (S > 0) DcAccess::engine(pf).screen_outages(ob, screen);
    // The violations are as many as the threshold lets through (S x outages x branches at 0 %),
    // found block by block: refused once those found so far, with their copy into the result,
    // outgrow the memory (they grew to the out-of-memory killer).
    std::size_t found = 0;
    for (const auto& piece : screen.violations) found += piece.size();
    if (found > 0)
        require_host_memory(
            static_cast<double>(found) *
                (sizeof(N1Violation) + held_in_budget(sizeof(OutageViolation))),
            "N-1 screening: the list of the " + std::to_string(found) +
                " violations found by block " + std::to_string(b + 1) + " of " +
                std::to_string(plan.blocks.size()) + " of outages",
            "raise threshold_percent (--threshold), report only what outages make worse "
            "(min_increase_percent, --min-increase), screen fewer scenarios or outages at a "
            "time, or shard them over MPI ranks");
}

void merge_worst(OutageScreenResult& screen, Index s, Real worst, Index outage, Index branch,
                 const std::vector<Index>& position) {
    if (outage < 0) return;
    const Index have = screen.worst_outage[s];
    const auto at = [&position](Index k) { return position[static_cast<std::size_t>(k)]; };
    if (have < 0 || worst > screen.worst[s] ||
        (worst == screen.worst[s] &&
         std::make_tuple(at(outage), branch) < std::make_tuple(at(have), screen.worst_branch[s]))) {
        screen.worst[s] = worst;
        screen.worst_outage[s] = outage;
        screen.worst_branch[s] = branch;
    }
}

N1Result finish_n1(const N1Plan& plan, DcPowerFlowResult base, OutageScreenResult screen,
                   int threads) {
    N1Result res;
    for (const auto& block : plan.blocks)
        res.screened.insert(res.screened.end(), block.begin(), block.end());
    res.islanding = plan.islanding;
    // Sorted by scenario with one counting pass and one scatter (into the result, in percent),
    // then by outage and branch within each scenario where needed: the CPU engine finds each
    // scenario's violations in that order already when the outages ascend, as they do by default.
    const Index S = screen.worst.size();
    std::vector<std::size_t> start(static_cast<std::size_t>(S) + 1, 0);
    for (const auto& piece : screen.violations)
        for (const auto& v : piece) ++start[static_cast<std::size_t>(v.scenario) + 1];
    for (std::size_t s = 0; s < static_cast<std::size_t>(S); ++s) start[s + 1] += start[s];
    // Mapped at once: a screening can find millions (~1.8 GB of them for 1,000 scenarios of the
    // benchmark), and page by page the mapping cost more than the screening.
    res.violations.reserve(start.back());
    populate(res.violations.data(), sizeof(N1Violation) * start.back());
    res.violations.resize(start.back());
    std::vector<std::size_t> at(start.begin(), start.end() - 1);
    for (auto& piece : screen.violations) {
        for (const auto& v : piece)
            res.violations[at[static_cast<std::size_t>(v.scenario)]++] = {
                v.scenario, v.outage, v.branch, v.loading * 100};
        std::vector<OutageViolation>().swap(piece);  // freed as it goes: a lower peak
    }
    const auto by_outage = [](const N1Violation& a, const N1Violation& b) {
        return std::tie(a.outage, a.branch) < std::tie(b.outage, b.branch);
    };
    // The GPU engine's violations come in no order (tens of thousands per scenario in a heavy
    // screening): the scenarios are sorted on every core.
    cpu::parallel_for(S, threads, 1, [&](int, Index begin, Index end) {
        for (auto s = static_cast<std::size_t>(begin); s < static_cast<std::size_t>(end); ++s) {
            const auto first = res.violations.begin() + static_cast<std::ptrdiff_t>(start[s]),
                       last = res.violations.begin() + static_cast<std::ptrdiff_t>(start[s + 1]);
            if (!std::is_sorted(first, last, by_outage)) std::sort(first, last, by_outage);
        }
    });
    res.worst_loading_percent = screen.worst * 100;
    for (Index s = 0; s < S; ++s)  // no rated branch: no loading (as the AC contingencies say)
        if (screen.worst_outage[s] < 0) res.worst_loading_percent[s] = NAN;
    res.worst_outage = std::move(screen.worst_outage);
    res.worst_branch = std::move(screen.worst_branch);
    res.base = std::move(base);
    return res;
}

}  // namespace detail

N1Result n1_screen(DcPowerFlow& pf, const MatrixView& pd, const N1Options& options) {
    const detail::N1Plan plan = detail::plan_n1(pf.network(), options);
    DcPowerFlowResult base = pf.solve(pd);
    detail::OutageScreenResult screen = detail::empty_screen(base.size());
    Matrix factors;
    for (std::size_t b = 0; b < plan.blocks.size(); ++b)
        detail::screen_block(pf, plan, b, base, factors, screen);
    return detail::finish_n1(plan, std::move(base), std::move(screen), pf.options().threads);
}

}  // namespace gridbatch
