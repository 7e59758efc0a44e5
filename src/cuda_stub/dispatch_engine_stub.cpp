// Built only without the CUDA backend: asking for the CUDA dispatch engine says so.
#include "engine/device.hpp"
#include "engine/dispatch_engine.hpp"
#include "gridbatch/error.hpp"

namespace gridbatch::detail::cuda {

std::unique_ptr<DispatchEngine> make_dispatch_engine(int) {
    throw Error(ErrorKind::backend_unavailable,
                "the cuda backend was requested, but " + device_status().reason);
}

}  // namespace gridbatch::detail::cuda
