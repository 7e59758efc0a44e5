// Network matrices with MATPOWER's conventions (makeYbus, makeBdc), in p.u. on baseMVA, internal
// bus order. Rows of Yf, Yt, Bf and Pfinj follow the branch table; inactive branches give zero
// rows.
#pragma once

#include "gridbatch/network.hpp"

namespace gridbatch {

struct Admittance {
    ComplexSparseMatrix ybus;  // n_bus x n_bus
    ComplexSparseMatrix yf;    // n_branch x n_bus: from-end currents I_f = Yf V
    ComplexSparseMatrix yt;    // n_branch x n_bus: to-end currents I_t = Yt V
};
Admittance make_admittance(const Network& net);

struct DcMatrices {
    SparseMatrix bbus;  // n_bus x n_bus
    SparseMatrix bf;    // n_branch x n_bus
    Vector pbusinj;     // n_bus, phase-shifter injections (p.u.)
    Vector pfinj;       // n_branch
};
// Throws Error{invalid_input} naming an in-service branch with x = 0 (its DC flow is undefined).
DcMatrices make_dc_matrices(const Network& net);

// Bus injections of the case, in p.u.: Sbus = (Cg Sg - Sd) / baseMVA, active generators only.
ComplexVector bus_injections(const Network& net);

}  // namespace gridbatch
