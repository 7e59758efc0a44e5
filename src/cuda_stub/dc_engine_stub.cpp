// Built only when the CUDA backend is not: the CUDA DC engine cannot be made.
#include "engine/dc_engine.hpp"
#include "engine/device.hpp"
#include "gridbatch/error.hpp"

namespace gridbatch::detail::cuda {

std::unique_ptr<DcEngine> make_dc_engine(std::shared_ptr<const DcModel> /*model*/, int /*device*/) {
    throw Error(ErrorKind::backend_unavailable,
                "the cuda backend was requested, but " + device_status().reason);
}

}  // namespace gridbatch::detail::cuda
