// The one exception type of gridbatch. Its message says what is wrong and where (file:line for
// input files, element index for data). Numerical non-convergence is never an Error: it is a
// per-scenario Status in the result.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace gridbatch {

enum class ErrorKind : std::uint8_t { invalid_input, io, backend_unavailable, device };

const char* to_string(ErrorKind kind) noexcept;

class Error : public std::runtime_error {
public:
    Error(ErrorKind kind, const std::string& message);
    ErrorKind kind() const noexcept { return kind_; }

private:
    ErrorKind kind_;
};

}  // namespace gridbatch
