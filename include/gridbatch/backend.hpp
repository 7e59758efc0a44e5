// Backend choice at run time: cpu always exists; cuda exists when the library was built with it
// and a device is present. `automatic` picks cuda where available, else cpu.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gridbatch {

enum class Backend : std::uint8_t { cpu, cuda, automatic };

const char* to_string(Backend backend) noexcept;
// Parses "cpu", "cuda" or "auto"; throws Error naming the text otherwise.
Backend parse_backend(const std::string& text);

struct BackendStatus {
    bool available = false;
    std::string reason;  // empty when available
};

BackendStatus backend_status(Backend backend);
std::vector<Backend> available_backends();
// automatic -> cuda if available else cpu; an unavailable explicit choice throws
// Error{backend_unavailable} saying why.
Backend resolve_backend(Backend requested);

struct BuildInfo {
    std::string version;
    bool cuda_built = false;
    std::string cuda_architectures;
    std::string cuda_device;  // name of device 0, or why there is none
};
BuildInfo build_info();

}  // namespace gridbatch
