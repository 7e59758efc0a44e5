#include "engine/device.hpp"

#include <cuda_runtime.h>

#include <algorithm>
#include <mutex>

#include "check.hpp"
#include "core/memory.hpp"

namespace gridbatch::detail::cuda {

void throw_cuda_error(const char* call, const std::string& what, const char* file, int line) {
    throw Error(ErrorKind::device, std::string(call) + " failed with " + what + " (" + file + ":" +
                                       std::to_string(line) + ")");
}

void throw_allocation_failure(std::size_t bytes) {
    (void)cudaGetLastError();  // cudaMalloc's error is not sticky; clear it for the next call
    std::size_t free_bytes = 0, total = 0;
    (void)cudaMemGetInfo(&free_bytes, &total);
    throw Error(ErrorKind::device, device_allocation_failure(bytes, free_bytes, total));
}

bool built() noexcept { return true; }

BackendStatus device_status() {
    // Probed on first use, never during static initialisation. On machines without a driver
    // cudaGetDeviceCount fails (cudaErrorInsufficientDriver): any failure means "no device".
    static std::once_flag once;
    static BackendStatus status;
    std::call_once(once, [] {
        int count = 0;
        const cudaError_t err = cudaGetDeviceCount(&count);
        if (err != cudaSuccess) {
            (void)cudaGetLastError();
            status = {false, std::string("no usable CUDA device: cudaGetDeviceCount failed with ") +
                                 cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + ")"};
        } else if (count == 0) {
            status = {false, "no usable CUDA device: cudaGetDeviceCount found 0 devices"};
        } else {
            status = {true, ""};
        }
    });
    return status;
}

int device_count() noexcept {
    int count = 0;
    if (!device_status().available || cudaGetDeviceCount(&count) != cudaSuccess) return 0;
    return count;
}

void check_device_index(int device) {
    const int count = device_count();
    if (count == 0) throw Error(ErrorKind::backend_unavailable, device_status().reason);
    if (device < 0 || device >= count)
        throw Error(ErrorKind::invalid_input,
                    "CUDA device " + std::to_string(device) + " requested, but this machine has " +
                        std::to_string(count) + " (devices 0.." + std::to_string(count - 1) + ")");
}

// GRIDBATCH_MEMORY_LIMIT caps both, so tests can force the chunked paths on a large GPU.
std::size_t device_chunk_budget(std::size_t held) {
    if (!device_status().available) return 0;
    std::size_t free_bytes = 0, total = 0;
    GRIDBATCH_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total));
    return chunk_budget(free_bytes, held, memory_limit_from_env());
}

std::size_t device_free_bytes() { return device_chunk_budget(0); }

long long scenarios_per_chunk(long long scenarios, std::size_t bytes_per_scenario) {
    const std::size_t budget = device_free_bytes() / 10 * 8;
    const auto fit =
        static_cast<long long>(budget / (bytes_per_scenario > 0 ? bytes_per_scenario : 1));
    return std::max(1LL, std::min(scenarios, fit));
}

std::string device_description(int device) {
    check_device_index(device);
    cudaDeviceProp p{};
    GRIDBATCH_CUDA_CHECK(cudaGetDeviceProperties(&p, device));
    return std::string(p.name) + ", " +
           std::to_string(static_cast<long long>(p.totalGlobalMem >> 30)) +
           " GiB, compute capability " + std::to_string(p.major) + "." + std::to_string(p.minor);
}

}  // namespace gridbatch::detail::cuda
