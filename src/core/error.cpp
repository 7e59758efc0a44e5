#include "gridbatch/error.hpp"

namespace gridbatch {

const char* to_string(ErrorKind kind) noexcept {
    switch (kind) {
        case ErrorKind::invalid_input:
            return "invalid_input";
        case ErrorKind::io:
            return "io";
        case ErrorKind::backend_unavailable:
            return "backend_unavailable";
        case ErrorKind::device:
            return "device";
    }
    return "unknown";
}

Error::Error(ErrorKind kind, const std::string& message)
    : std::runtime_error(message), kind_(kind) {}

}  // namespace gridbatch
