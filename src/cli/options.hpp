// A small option parser shared by the sub-commands: positional arguments and `--name value` /
// `--flag` options, with errors that name the option.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "gridbatch/error.hpp"

namespace gridbatch::cli {

// A command line the command cannot run as given (an unknown, repeated or missing option, a
// missing argument, options that exclude each other): main() exits 2 for it, 1 for other errors.
class UsageError : public Error {
public:
    explicit UsageError(const std::string& message) : Error(ErrorKind::invalid_input, message) {}
};

class Options {
public:
    // `flags` take no value; `valued` take one, once; `--help` (or `-h`) is a flag of every
    // command. Anything else starting with "--" is a UsageError.
    Options(const std::vector<std::string>& args, const std::set<std::string>& flags,
            const std::set<std::string>& valued);

    const std::vector<std::string>& positional() const { return positional_; }
    bool flag(const std::string& name) const { return flags_.count(name) != 0; }
    bool has(const std::string& name) const { return values_.count(name) != 0; }
    std::string get(const std::string& name, const std::string& fallback) const;
    std::string require(const std::string& name) const;
    double number(const std::string& name, double fallback) const;
    long integer(const std::string& name, long fallback) const;

private:
    std::vector<std::string> positional_;
    std::set<std::string> flags_;
    std::map<std::string, std::string> values_;
};

// A library parameter as its error messages name it (e.g. ": gpu_count ", or with the owner where
// two share a name, "fleet (shared): ramp_limit_mw_per_s"), and the option that sets it.
struct OptionOf {
    const char* parameter;
    const char* option;
};
// Rethrows `e` as "option --<option>: <message>" for the first entry its message names, else as it
// is: a bad value is named by the option the user typed, the library's parameter after it. Call
// it from the handler that caught `e` (a usage error, or one no entry names, is rethrown).
[[noreturn]] void rethrow_naming_option(const Error& e, const std::vector<OptionOf>& table);

}  // namespace gridbatch::cli
