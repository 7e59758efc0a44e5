// A power network in MATPOWER's data model: bus, generator and branch tables in MATPOWER units
// (MW, MVAr, p.u., degrees, kV), rows in the case file's order, external bus numbers mapped to
// consecutive internal indices. Solvers convert to p.u. once.
#pragma once

#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "gridbatch/types.hpp"

namespace gridbatch {

enum class BusType : std::int8_t { pq = 1, pv = 2, ref = 3, isolated = 4 };  // MATPOWER codes

struct BusTable {
    IndexVector id;  // external bus number
    FlagVector type;
    Vector pd, qd, gs, bs, vm, va, base_kv, vmax, vmin;
    IndexVector area, zone;
    Index size() const { return id.size(); }
};

struct GeneratorTable {
    IndexVector bus;  // external bus number
    Vector pg, qg, qmax, qmin, vg, mbase, pmax, pmin;
    FlagVector in_service;
    Index size() const { return bus.size(); }
};

struct BranchTable {
    IndexVector from, to;  // external bus numbers
    Vector r, x, b, rate_a, rate_b, rate_c;
    Vector tap;    // MATPOWER "ratio": 0 means a line (tap 1)
    Vector shift;  // degrees
    FlagVector in_service;
    Vector angle_min, angle_max;
    Index size() const { return from.size(); }
};

// Where the tables came from in a file, for messages: the 1-based line of baseMVA and of each
// table row (read_matpower fills it; empty, or 0, where unknown).
struct SourceLines {
    int base_mva = 0;
    std::vector<int> bus, gen, branch;
};

class Network {
public:
    // Validates the tables (ids, references, finite values) and throws Error naming the element:
    // `source` names where the tables came from, and with `lines` an error names the file line
    // too ("case.m:31: mpc.bus row 3: ...").
    static Network from_tables(Real base_mva, BusTable buses, GeneratorTable generators,
                               BranchTable branches, std::string source = "network",
                               const SourceLines& lines = {});

    Real base_mva() const noexcept { return base_mva_; }
    Index n_bus() const noexcept { return buses_.size(); }
    Index n_gen() const noexcept { return generators_.size(); }
    Index n_branch() const noexcept { return branches_.size(); }
    const BusTable& buses() const noexcept { return buses_; }
    const GeneratorTable& generators() const noexcept { return generators_; }
    const BranchTable& branches() const noexcept { return branches_; }
    const std::string& source() const noexcept { return source_; }
    // What the source held that this model leaves out, one sentence each, naming file and line
    // (read_matpower: mpc.dcline); the command line prints them as warnings.
    const std::vector<std::string>& notes() const noexcept { return notes_; }
    void add_note(std::string note) { notes_.push_back(std::move(note)); }

    // Internal (row) index of an external bus number; throws Error naming the id.
    Index internal_bus(Index external_id) const;
    bool has_bus(Index external_id) const { return bus_index_.count(external_id) != 0; }

    // Internal indices of each branch's ends and each generator's bus.
    const Eigen::VectorXi& branch_from() const noexcept { return branch_from_; }
    const Eigen::VectorXi& branch_to() const noexcept { return branch_to_; }
    const Eigen::VectorXi& gen_bus() const noexcept { return gen_bus_; }

    // As MATPOWER's ext2int: a branch is active when in service and neither end is isolated;
    // a generator when in service and its bus is not isolated.
    bool branch_active(Index k) const;
    bool gen_active(Index g) const;
    Index reference_bus() const noexcept { return reference_bus_; }  // first REF bus, internal
    Index n_transformers() const;  // branches with tap ratio != 0 or a phase shift
    Index n_areas() const;

private:
    Real base_mva_ = 100;
    BusTable buses_;
    GeneratorTable generators_;
    BranchTable branches_;
    std::string source_;
    std::vector<std::string> notes_;
    std::unordered_map<Index, Index> bus_index_;
    Eigen::VectorXi branch_from_, branch_to_, gen_bus_;
    Index reference_bus_ = -1;
};

}  // namespace gridbatch
