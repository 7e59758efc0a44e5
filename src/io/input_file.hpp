// Opening a file the library or the command line reads: one check, one wording, for the MATPOWER
// reader and the CSV inputs.
#pragma once

#include <fstream>
#include <string>

namespace gridbatch::detail {

// `path` opened for reading, binary. Throws Error{io} "<path>: cannot open <what>" when it cannot
// be opened, and "<path>: not a regular file" for a directory (which opens on Linux and then
// reads as empty) or a device; a pipe is accepted (`<(cmd)` in a shell).
std::ifstream open_input_file(const std::string& path, const std::string& what);

}  // namespace gridbatch::detail
