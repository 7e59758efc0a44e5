// Host memory guard: a batch whose results cannot fit is refused up front with what it needs and
// what there is, instead of dying in an allocation failure half way. The budget is the memory
// available now (MemAvailable of /proc/meminfo), or GRIDBATCH_MEMORY_LIMIT (bytes, with an
// optional K, M or G suffix) when set, which is also how tests exercise this path. The CUDA
// engines cap the free device memory they chunk by with the same variable (cuda/device.cpp).
#pragma once

#include <cstddef>
#include <string>

namespace gridbatch::detail {

// The limit from GRIDBATCH_MEMORY_LIMIT, or 0 when unset. Throws Error{invalid_input} naming the
// variable when it is set but not a size.
std::size_t memory_limit_from_env();

// Throws Error{invalid_input} when `bytes` exceed the budget: "<what> needs X GB ...".
void require_host_memory(double bytes, const std::string& what);

}  // namespace gridbatch::detail
