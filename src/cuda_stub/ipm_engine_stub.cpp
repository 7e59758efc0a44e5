// Built only without the CUDA backend: asking for the CUDA interior point says so.
#include "engine/device.hpp"
#include "engine/ipm_engine.hpp"
#include "gridbatch/error.hpp"

namespace gridbatch::detail::cuda {

std::unique_ptr<IpmEngine> make_ipm_engine(int) {
    throw Error(ErrorKind::backend_unavailable,
                "the cuda backend was requested, but " + device_status().reason);
}

}  // namespace gridbatch::detail::cuda
