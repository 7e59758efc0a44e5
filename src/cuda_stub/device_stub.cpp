// Built only when the CUDA backend is not: every question about CUDA answers "not compiled".
#include "engine/device.hpp"
#include "gridbatch/error.hpp"

namespace gridbatch::detail::cuda {

bool built() noexcept { return false; }

BackendStatus device_status() {
    return {false,
            "this gridbatch build has no CUDA backend (configured with GRIDBATCH_CUDA=OFF, or no "
            "nvcc was found); use the cpu or auto backend, or rebuild with "
            "-DGRIDBATCH_CUDA=ON"};
}

int device_count() noexcept { return 0; }

void check_device_index(int) {
    throw Error(ErrorKind::backend_unavailable, device_status().reason);
}

std::size_t device_free_bytes() { return 0; }

std::size_t device_chunk_budget(std::size_t) { return 0; }

long long scenarios_per_chunk(long long scenarios, std::size_t) {
    return scenarios > 1 ? scenarios : 1;
}

std::string device_description(int) { return device_status().reason; }

}  // namespace gridbatch::detail::cuda
