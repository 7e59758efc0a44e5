// `gridbatch COMMAND ...`: the command-line front end. Errors print one line and exit 1; usage
// errors (cli::UsageError) exit 2; `pf` of a single case that does not converge, and `smooth`
// with a scenario not optimal (infeasible, diverged, out of iterations), exit 3 (their files say
// what was reached).
#include <cstring>
#include <iomanip>
#include <iostream>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "gridbatch/backend.hpp"
#include "gridbatch/distributed.hpp"
#include "gridbatch/error.hpp"

namespace {

struct Command {
    const char* name;
    int (*run)(const gridbatch::cli::Args&);
    const char* help;
};

const Command kCommands[] = {
    {"info", gridbatch::cli::cmd_info,
     "info CASE|builtin [--write FILE]   size and checks of a case; writes it as MATPOWER"},
    {"study", gridbatch::cli::cmd_study,
     "study [options] --out DIR           the data-centre grid study (study --help)"},
    {"pf", gridbatch::cli::cmd_pf,
     "pf CASE --dc|--ac [--alg nr|fdxb|fdbx] [--enforce-q-lims] [--load-scale FILE] "
     "[--backend B] --out DIR   DC or AC power flow (batched)"},
    {"n1", gridbatch::cli::cmd_n1,
     "n1 CASE [--ac] [--load-scale FILE] [--threshold 100] --out DIR   N-1 branch outages: DC "
     "screening, or AC contingency analysis (--ac)"},
    {"profile", gridbatch::cli::cmd_profile,
     "profile [generator options] --out FILE   synthetic AI-training load (profile --help)"},
    {"smooth", gridbatch::cli::cmd_smooth,
     "smooth --load FILE|--synthetic --fleet N --unit megapack-2h|megapack-4h "
     "[--ramp-limit MW_PER_MIN] --out DIR   battery smoothing (smooth --help)"},
};

void usage(std::ostream& out) {
    out << "usage: gridbatch COMMAND [options]\n\ncommands:\n";
    for (const Command& c : kCommands) out << "  " << c.help << "\n";
    out << "  version              version and backends\n";
}

}  // namespace

namespace gridbatch::cli {

std::unique_ptr<Communicator> launcher_communicator() {
    return launched_by_mpi() ? mpi_communicator() : nullptr;
}

std::unique_ptr<Communicator> progress_communicator(const std::string& what) {
    if (auto mpi = launcher_communicator()) return mpi;
    return local_communicator([what, shown = Index(-1)](Index chunk, Index n_chunks) mutable {
        if (n_chunks < 10) return;  // short solves stay quiet
        const Index tenth = chunk * 10 / n_chunks;
        if (tenth == shown) return;
        shown = tenth;
        std::cerr << "  [" << std::setw(3) << tenth * 10 << "%] " << what << std::endl;
    });
}

}  // namespace gridbatch::cli

int main(int argc, char** argv) {
#if defined(__GLIBC__)
    // Memory freed by one batch stays with the process for the next instead of going back to the
    // system: every batch's results and workspaces would otherwise come back as fresh pages, and
    // a first touch costs ~10 us on the VM we measure on. The default study: 4.2 -> 2.8 s.
    // (A program that embeds the library chooses this for itself: README, Performance.)
    mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's largest
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
    if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
        usage(argc < 2 ? std::cerr : std::cout);
        return argc < 2 ? 2 : 0;
    }
    const std::string name = argv[1];
    if (name == "version" || name == "--version") {
        if (argc > 2) {
            std::cerr << "gridbatch " << name << ": unknown option " << argv[2]
                      << " (it takes none)\n";
            return 2;
        }
        const auto info = gridbatch::build_info();
        std::cout << "gridbatch " << info.version << "\ncuda built: "
                  << (info.cuda_built ? "yes (" + info.cuda_architectures + ")" : "no")
                  << "\ncuda device: " << info.cuda_device << "\n";
        return 0;
    }
    // Under mpirun, pf, n1, smooth and study share their work over the ranks; the other commands
    // run on rank 0 alone. Either way `mpirun -np N gridbatch CMD` writes the same files as one
    // process.
    const bool sharded = name == "pf" || name == "n1" || name == "smooth" || name == "study";
    if (!sharded && gridbatch::launched_by_mpi() && gridbatch::launcher_rank() != 0) return 0;
    for (const Command& c : kCommands) {
        if (name != c.name) continue;
        try {
            return c.run(gridbatch::cli::Args(argv + 2, argv + argc));
        } catch (const gridbatch::cli::UsageError& e) {
            std::cerr << "gridbatch " << name << ": " << e.what() << " (gridbatch " << name
                      << " --help)\n";
            return 2;
        } catch (const gridbatch::Error& e) {
            std::cerr << "gridbatch " << name << ": error: " << e.what() << "\n";
            return 1;
        } catch (const std::exception& e) {
            std::cerr << "gridbatch " << name << ": internal error: " << e.what() << "\n";
            return 1;
        }
    }
    std::cerr << "gridbatch: unknown command '" << name << "'\n";
    usage(std::cerr);
    return 2;
}
