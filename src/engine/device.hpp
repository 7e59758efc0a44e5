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
// Throws Error{invalid_input} unless 0 <= device < device_count().
void check_device_index(int device);
// Bytes free on the current device (0 when there is none).
std::size_t device_free_bytes();
// How many of `scenarios` fit in 80 % of the free device memory at `bytes_per_scenario` each
// (at least 1): the chunk the CUDA engines and benchmarks split a batch into.
long long scenarios_per_chunk(long long scenarios, std::size_t bytes_per_scenario);
// "NAME, N GiB, compute capability X.Y" of a device, or why there is none.
std::string device_description(int device);

}  // namespace gridbatch::detail::cuda
