#include "gridbatch/result.hpp"

namespace gridbatch {

const char* to_string(Status status) noexcept {
    switch (status) {
        case Status::converged:
            return "converged";
        case Status::max_iterations:
            return "max_iterations";
        case Status::diverged:
            return "diverged";
        case Status::singular:
            return "singular";
        case Status::infeasible:
            return "infeasible";
        case Status::not_solved:
            return "not_solved";
        case Status::islanded:
            return "islanded";
        case Status::relaxation_gap:
            return "relaxation_gap";
    }
    return "unknown";
}

}  // namespace gridbatch
