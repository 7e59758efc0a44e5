// Sub-commands of the `gridbatch` program; each lives in its own cmd_*.cpp and returns an exit
// code. `args` excludes the program and command names.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "gridbatch/distributed.hpp"
#include "gridbatch/network.hpp"

namespace gridbatch::cli {

using Args = std::vector<std::string>;

// A MATPOWER case file, or the built-in study network for the name "builtin".
Network load_case(const std::string& name);

// "1 scenario", "3 scenarios": counts in the commands' summary lines.
inline std::string counted(Index n, const std::string& noun) {
    return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

// MPI_COMM_WORLD when started by mpirun (a build without MPI says so), else nullptr. The
// commands that shard their work (pf, n1, smooth, study) call it; main() runs the others on
// rank 0 alone.
std::unique_ptr<Communicator> launcher_communicator();
// launcher_communicator() under mpirun; else this process alone, printing "[ 40%] what" to stderr
// as the chunks of a long solve go by (n1's outage blocks, smooth's scenarios).
std::unique_ptr<Communicator> progress_communicator(const std::string& what);

int cmd_info(const Args& args);
int cmd_study(const Args& args);
int cmd_pf(const Args& args);
struct PfRequest;
class Options;
// `pf --ac` (cmd_pf_ac.cpp), called by cmd_pf() with its parsed options.
int run_ac_pf(const PfRequest& req, const Options& opt);
int cmd_n1(const Args& args);
// `n1 --ac` (cmd_n1_ac.cpp), called by cmd_n1() with its parsed options and load factors.
int run_ac_n1(const Options& opt, const Network& net, const Vector& factors);
int cmd_profile(const Args& args);
int cmd_smooth(const Args& args);

}  // namespace gridbatch::cli
