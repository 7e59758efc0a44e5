#include "gridbatch/backend.hpp"

#include "engine/device.hpp"
#include "gridbatch/error.hpp"

namespace gridbatch {

const char* to_string(Backend backend) noexcept {
    switch (backend) {
        case Backend::cpu:
            return "cpu";
        case Backend::cuda:
            return "cuda";
        case Backend::automatic:
            return "auto";
    }
    return "unknown";
}

Backend parse_backend(const std::string& text) {
    if (text == "cpu") return Backend::cpu;
    if (text == "cuda") return Backend::cuda;
    if (text == "auto" || text == "automatic") return Backend::automatic;
    throw Error(ErrorKind::invalid_input,
                "unknown backend '" + text + "': expected cpu, cuda or auto");
}

BackendStatus backend_status(Backend backend) {
    switch (backend) {
        case Backend::cpu:
            return {true, ""};
        case Backend::cuda:
            return detail::cuda::device_status();
        case Backend::automatic:
            return {true, ""};
    }
    return {false, "unknown backend"};
}

std::vector<Backend> available_backends() {
    std::vector<Backend> out{Backend::cpu};
    if (detail::cuda::device_status().available) out.push_back(Backend::cuda);
    return out;
}

Backend resolve_backend(Backend requested) {
    if (requested == Backend::automatic)
        return detail::cuda::device_status().available ? Backend::cuda : Backend::cpu;
    const BackendStatus status = backend_status(requested);
    if (!status.available)
        throw Error(ErrorKind::backend_unavailable, std::string("the ") + to_string(requested) +
                                                        " backend was requested, but " +
                                                        status.reason);
    return requested;
}

BuildInfo build_info() {
    BuildInfo info;
    info.version = GRIDBATCH_VERSION;
    info.cuda_built = detail::cuda::built();
    info.cuda_architectures = info.cuda_built ? GRIDBATCH_CUDA_ARCHITECTURES : "";
    const BackendStatus status = detail::cuda::device_status();
    info.cuda_device = status.available ? detail::cuda::device_description(0) : status.reason;
    return info;
}

}  // namespace gridbatch
