// Host memory guard: a batch whose results cannot fit is refused up front with what it needs and
// what there is, instead of dying in an allocation failure half way. The budget is the memory
// available now: MemAvailable of /proc/meminfo, or less where the process's memory cgroup (a
// container's limit, v1 or v2) leaves less room; or GRIDBATCH_MEMORY_LIMIT (bytes, with an
// optional K, M or G suffix) when set, which is also how tests exercise this path. The CUDA
// engines cap the free device memory they chunk by with the same variable (cuda/device.cpp).
#pragma once

#include <cstddef>
#include <string>

#include "gridbatch/types.hpp"

namespace gridbatch::detail {

// The limit from GRIDBATCH_MEMORY_LIMIT, or 0 when unset. Throws Error{invalid_input} naming the
// variable when it is set but not a size.
std::size_t memory_limit_from_env();

// The room under the memory limits of the process's cgroup and its ancestors: limit - usage,
// the smallest over the levels that set one; kNoLimit where none does. The paths are
// /proc/self/cgroup and /sys/fs/cgroup, other roots for tests.
constexpr std::size_t kNoLimit = static_cast<std::size_t>(-1);
std::size_t cgroup_room(const std::string& proc_self_cgroup, const std::string& sys_fs_cgroup);

// Throws Error{invalid_input} when `bytes` exceed the budget: "<what> needs X GB ...; <remedy>".
inline constexpr const char* kSolveInParts =
    "solve the batch in parts (columns of scenarios), or shard it over MPI ranks (solve_sharded)";
void require_host_memory(double bytes, const std::string& what,
                         const std::string& remedy = kSolveInParts);

// For a check of memory a growing result still needs: `bytes` already allocated count against
// GRIDBATCH_MEMORY_LIMIT (a budget of the whole), not against the memory available now (which
// they have already left), so this is `bytes` under the variable and 0 without it.
inline double held_in_budget(std::size_t bytes) {
    return memory_limit_from_env() > 0 ? static_cast<double>(bytes) : 0.0;
}

// The error of a device allocation of `bytes` that failed with `free_bytes` of `total_bytes` free:
// what was asked, what there was, and what to do.
std::string device_allocation_failure(std::size_t bytes, std::size_t free_bytes,
                                      std::size_t total_bytes);

// Maps the pages of a fresh buffer of `bytes` at `data` in one system call (Linux's
// MADV_POPULATE_WRITE) instead of one page fault per 4 KiB page at first touch; for buffers that
// are then written in full. On the VM behind our CPU numbers a fault costs ~10 us: touching 2 MB
// page by page took 5 ms, mapping it at once 0.6 ms, and 100 lossless days of dispatch (results
// of 207 MB, fresh memory every call) went from 449 to 291 ms. Engines call
// it per thread on the part each thread writes, so the mapping runs in parallel and near the
// thread that uses it. A no-op below 64 KiB and where the kernel does not offer it.
void populate(void* data, std::size_t bytes);
// The same for a freshly sized matrix that is then written in full.
inline void populate(Matrix& m) {
    populate(m.data(), sizeof(Real) * static_cast<std::size_t>(m.size()));
}

}  // namespace gridbatch::detail
