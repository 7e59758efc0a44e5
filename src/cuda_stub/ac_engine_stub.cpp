// Built only when the CUDA backend is not: asking for a CUDA AC engine says so.
#include "engine/ac_engine.hpp"
#include "gridbatch/error.hpp"

namespace gridbatch::detail::cuda {

std::unique_ptr<AcEngine> make_ac_engine(std::shared_ptr<const PreparedAcNetwork> /*network*/,
                                         int /*device*/) {
    throw Error(ErrorKind::backend_unavailable,
                "Backend::cuda requested, but this gridbatch build has no CUDA backend "
                "(configured with GRIDBATCH_CUDA=OFF, or no nvcc was found). Use Backend::cpu or "
                "Backend::automatic, or rebuild with -DGRIDBATCH_CUDA=ON.");
}

}  // namespace gridbatch::detail::cuda
