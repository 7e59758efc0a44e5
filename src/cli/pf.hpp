// `gridbatch pf`: the parsed request, shared by the DC path (cmd_pf.cpp) and the AC path
// (cmd_pf_ac.cpp, run_ac_pf(), dispatched from cmd_pf() for --ac).
#pragma once

#include <string>

#include "gridbatch/backend.hpp"
#include "gridbatch/distributed.hpp"
#include "gridbatch/network.hpp"
#include "gridbatch/slack.hpp"

namespace gridbatch::cli {

struct PfRequest {
    Network network;
    std::string out_dir;
    Backend backend = Backend::automatic;
    int threads = 0;
    // From --load-scale FILE: scenario k multiplies every bus's Pd and Qd by factors[k]. Empty:
    // the case itself, written as bus.csv, branch.csv and gen.csv.
    Vector factors;
    // --slack and --participation FILE (one factor per generator; empty: Pmax).
    SlackMode slack = SlackMode::single;
    Vector participation;
    // Under mpirun: the scenarios of a --load-scale batch are sharded over the ranks and rank 0
    // writes the files. nullptr: one process.
    Communicator* comm = nullptr;
    bool writes() const { return comm == nullptr || comm->rank() == 0; }
    int device() const { return comm ? device_for(*comm) : 0; }
    // " over N MPI ranks" under mpirun, else "".
    std::string ranks_note() const {
        return comm ? " over " + std::to_string(comm->size()) + " MPI ranks" : "";
    }
};

}  // namespace gridbatch::cli
