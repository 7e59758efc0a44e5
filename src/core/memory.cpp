#include "core/memory.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

#include "gridbatch/error.hpp"
#include "io/c_number.hpp"

namespace gridbatch::detail {
namespace {

std::string gigabytes(double bytes) {
    char text[32];
    std::snprintf(text, sizeof text, "%.3g GB", bytes / 1e9);
    return text;
}

// MemAvailable in bytes, or 0 where /proc/meminfo does not say.
std::size_t meminfo_available() {
    std::ifstream in("/proc/meminfo");
    std::string key;
    std::size_t kib = 0;
    std::string unit;
    while (in >> key >> kib >> unit)
        if (key == "MemAvailable:") return kib * 1024;
    return 0;
}

// The first number in a file, or `fallback` where there is none ("max": no limit).
std::size_t number_in(const std::string& path, std::size_t fallback) {
    std::ifstream in(path);
    unsigned long long v = 0;
    return in >> v ? static_cast<std::size_t>(v) : fallback;
}

// The room left under a memory cgroup's limit at `dir` and each of its ancestors up to `root`.
std::size_t room_under(std::string dir, const std::string& root, const char* limit_file,
                       const char* usage_file) {
    std::size_t room = kNoLimit;
    for (;;) {
        const std::size_t limit = number_in(dir + "/" + limit_file, kNoLimit);
        if (limit < kNoLimit / 2) {  // v1 writes "no limit" as a huge number, v2 as "max"
            const std::size_t used = number_in(dir + "/" + usage_file, 0);
            room = std::min(room, limit > used ? limit - used : 0);
        }
        if (dir.size() <= root.size()) return room;
        dir.erase(dir.rfind('/'));
    }
}

}  // namespace

std::size_t cgroup_room(const std::string& proc_self_cgroup, const std::string& sys_fs_cgroup) {
    std::ifstream in(proc_self_cgroup);
    std::size_t room = kNoLimit;
    for (std::string line; std::getline(in, line);) {
        // "0::/path" (v2, unified) or "4:memory:/path" (v1, the memory controller).
        const auto first = line.find(':'), second = line.find(':', first + 1);
        if (first == std::string::npos || second == std::string::npos) continue;
        const std::string controllers = line.substr(first + 1, second - first - 1);
        std::string path = line.substr(second + 1);
        if (path == "/") path.clear();
        if (line.compare(0, first, "0") == 0 && controllers.empty()) {
            room = std::min(room, room_under(sys_fs_cgroup + path, sys_fs_cgroup, "memory.max",
                                             "memory.current"));
        } else if (("," + controllers + ",").find(",memory,") != std::string::npos) {
            const std::string v1 = sys_fs_cgroup + "/memory";
            room = std::min(
                room, room_under(v1 + path, v1, "memory.limit_in_bytes", "memory.usage_in_bytes"));
        }
    }
    return room;
}

namespace {

// The budget without GRIDBATCH_MEMORY_LIMIT, in bytes (0: unknown).
std::size_t available_bytes() {
    const std::size_t meminfo = meminfo_available();
    const std::size_t cgroup = cgroup_room("/proc/self/cgroup", "/sys/fs/cgroup");
    if (meminfo == 0) return cgroup == kNoLimit ? 0 : cgroup;
    return std::min(meminfo, cgroup);
}

}  // namespace

std::size_t memory_limit_from_env() {
    const char* text = std::getenv("GRIDBATCH_MEMORY_LIMIT");
    if (!text || !*text) return 0;
    char* end = nullptr;
    const double value = detail::strtod_c(text, &end);
    double scale = 1;
    if (end && *end) {
        switch (std::toupper(static_cast<unsigned char>(*end))) {
            case 'K':
                scale = 1e3;
                break;
            case 'M':
                scale = 1e6;
                break;
            case 'G':
                scale = 1e9;
                break;
            default:
                scale = 0;
        }
        if (scale != 0 && end[1] != '\0') scale = 0;
    }
    if (end == text || !(value > 0) || scale == 0)
        throw Error(ErrorKind::invalid_input, std::string("GRIDBATCH_MEMORY_LIMIT='") + text +
                                                  "' is not a size (bytes, or a number with K, "
                                                  "M or G, e.g. 512M)");
    return static_cast<std::size_t>(value * scale);
}

void require_host_memory(double bytes, const std::string& what, const std::string& remedy) {
    const std::size_t limit = memory_limit_from_env();
    const std::size_t budget = limit > 0 ? limit : available_bytes();
    if (budget == 0 || bytes <= static_cast<double>(budget)) return;
    throw Error(ErrorKind::invalid_input,
                what + " needs " + gigabytes(bytes) + " of host memory for its results, but " +
                    gigabytes(static_cast<double>(budget)) +
                    (limit > 0 ? " is the limit (GRIDBATCH_MEMORY_LIMIT)" : " is available") +
                    "; " + remedy);
}

std::string device_allocation_failure(std::size_t bytes, std::size_t free_bytes,
                                      std::size_t total_bytes) {
    return "a device allocation of " + gigabytes(static_cast<double>(bytes)) +
           " failed: " + gigabytes(static_cast<double>(free_bytes)) + " of the GPU's " +
           gigabytes(static_cast<double>(total_bytes)) +
           " were free (other processes, or this one's earlier results, hold the rest); solve a "
           "smaller batch or network, free device memory, or use the cpu backend";
}

void populate(void* data, std::size_t bytes) {
#if defined(__linux__) && defined(MADV_POPULATE_WRITE)
    if (bytes < (std::size_t{1} << 16)) return;  // a syscall for fewer than 16 pages: no gain
    // The whole pages inside the buffer (madvise takes page-aligned ranges).
    const auto page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
    const auto begin = (reinterpret_cast<std::uintptr_t>(data) + page - 1) / page * page;
    const auto end = (reinterpret_cast<std::uintptr_t>(data) + bytes) / page * page;
    if (end > begin)
        (void)madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE);
#else
    (void)data;
    (void)bytes;
#endif
}

}  // namespace gridbatch::detail
