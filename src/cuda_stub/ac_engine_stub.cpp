// Built only when the CUDA backend is not: asking for a CUDA AC engine says so.
#include "engine/ac_engine.hpp"
#include "engine/device.hpp"
#include "gridbatch/error.hpp"

namespace gridbatch::detail::cuda {

std::unique_ptr<AcEngine> make_ac_engine(std::shared_ptr<const PreparedAcNetwork> /*network*/,
                                         int /*device*/) {
    throw Error(ErrorKind::backend_unavailable,
                "the cuda backend was requested, but " + device_status().reason);
}

}  // namespace gridbatch::detail::cuda
