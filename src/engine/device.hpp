// What the CUDA backend says about itself: implemented in cuda/device.cpp when CUDA is built,
// in src/cuda_stub/ otherwise.
#pragma once

#include <cstddef>
#include <string>

#include "gridbatch/backend.hpp"

namespace gridbatch::detail::cuda {

bool built() noexcept;
// Probed once, lazily; any CUDA error means "no device" and its text is kept as the reason.
BackendStatus device_status();
// Number of CUDA devices (0 when there is none or CUDA is not built).
int device_count() noexcept;
// Throws Error{backend_unavailable} (with the reason) where there is no usable device, and
// Error{invalid_input} unless 0 <= device < device_count().
void check_device_index(int device);
// Bytes free on the current device (0 when there is none), capped by GRIDBATCH_MEMORY_LIMIT.
std::size_t device_free_bytes();
// The bytes an engine may size its chunks by: the free bytes plus `held`, what its own chunk
// buffers hold now (given back when they are resized), the sum capped by `limit` (0: none). The
// limit bounds all the engine uses, so it caps the sum, not the free part alone.
inline std::size_t chunk_budget(std::size_t free_bytes, std::size_t held, std::size_t limit) {
    const std::size_t budget = free_bytes + held;
    return limit > 0 && limit < budget ? limit : budget;
}
// chunk_budget on the current device with GRIDBATCH_MEMORY_LIMIT (0 when there is no device).
std::size_t device_chunk_budget(std::size_t held);
// How many of `scenarios` fit in 80 % of the free device memory at `bytes_per_scenario` each
// (at least 1): the chunk the CUDA engines and benchmarks split a batch into.
long long scenarios_per_chunk(long long scenarios, std::size_t bytes_per_scenario);
// "NAME, N GiB, compute capability X.Y" of a device, or why there is none.
std::string device_description(int device);

}  // namespace gridbatch::detail::cuda
