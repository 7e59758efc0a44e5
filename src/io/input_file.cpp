#include "io/input_file.hpp"

#include <filesystem>
#include <system_error>

#include "gridbatch/error.hpp"

namespace gridbatch::detail {

std::ifstream open_input_file(const std::string& path, const std::string& what) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(ErrorKind::io, path + ": cannot open " + what);
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec) && !std::filesystem::is_fifo(path, ec))
        throw Error(ErrorKind::io, path + ": not a regular file");
    return in;
}

}  // namespace gridbatch::detail
