// Reader for MATPOWER case files (format version 2, `.m`).
#pragma once

#include <string>

#include "gridbatch/network.hpp"

namespace gridbatch {

// Reads a case file; errors name the file and line.
Network read_matpower(const std::string& path);
// Parses case text; `name` stands for the file in error messages.
Network parse_matpower(const std::string& text, const std::string& name = "<string>");

}  // namespace gridbatch

namespace gridbatch {

// Writes a network as a MATPOWER case file (format version 2) that read_matpower reads back
// to the same tables; `name` is its function's name (a MATLAB identifier, else Error).
void write_matpower(const Network& net, const std::string& path, const std::string& name = "case");
std::string format_matpower(const Network& net, const std::string& name = "case");

}  // namespace gridbatch
