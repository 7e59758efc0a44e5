#include "cli/options.hpp"

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdlib>

#include "io/c_number.hpp"

namespace gridbatch::cli {

Options::Options(const std::vector<std::string>& args, const std::set<std::string>& flags,
                 const std::set<std::string>& valued) {
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "-h") {
            flags_.insert("help");
            continue;
        }
        if (a.rfind("--", 0) != 0) {
            positional_.push_back(a);
            continue;
        }
        const std::string name = a.substr(2);
        if (flags.count(name) || name == "help") {
            if (!flags_.insert(name).second && name != "help")
                throw UsageError("option --" + name + " is given twice");
        } else if (valued.count(name)) {
            if (i + 1 >= args.size()) throw UsageError("option --" + name + " needs a value");
            if (values_.count(name))
                throw UsageError("option --" + name + " is given twice ('" + values_[name] +
                                 "' and '" + args[i + 1] + "')");
            values_[name] = args[++i];
        } else if (const auto eq = name.find('=');
                   eq != std::string::npos && valued.count(name.substr(0, eq))) {
            throw UsageError("unknown option " + a + " (write --" + name.substr(0, eq) + " " +
                             name.substr(eq + 1) + ")");
        } else {
            throw UsageError("unknown option " + a);
        }
    }
}

std::string Options::get(const std::string& name, const std::string& fallback) const {
    auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second;
}

std::string Options::require(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end()) throw UsageError("option --" + name + " is required");
    return it->second;
}

double Options::number(const std::string& name, double fallback) const {
    auto it = values_.find(name);
    if (it == values_.end()) return fallback;
    char* end = nullptr;
    errno = 0;
    const double v = detail::strtod_c(it->second.c_str(), &end);
    // Decimal only, as in the CSV files (strtod reads "0x1p-1" as 0.5).
    if (end == it->second.c_str() || *end != '\0' || !std::isfinite(v) ||
        it->second.find_first_not_of("0123456789+-.eE") != std::string::npos)
        throw Error(ErrorKind::invalid_input,
                    "option --" + name + ": '" + it->second + "' is not a finite number");
    if (errno == ERANGE)  // e.g. 1e-320: strtod flags what is below the smallest normal double too
        throw Error(ErrorKind::invalid_input,
                    "option --" + name + ": '" + it->second +
                        "' is out of range (beyond 1.8e308, or below 2.2e-308)");
    return v;
}

long Options::integer(const std::string& name, long fallback) const {
    auto it = values_.find(name);
    if (it == values_.end()) return fallback;
    char* end = nullptr;
    errno = 0;
    const long v = std::strtol(it->second.c_str(), &end, 10);
    // Every integer option (threads, scenarios, steps, bus ids) fits an int.
    if (end == it->second.c_str() || *end != '\0' || errno == ERANGE || v > INT_MAX || v < INT_MIN)
        throw Error(ErrorKind::invalid_input,
                    "option --" + name + ": '" + it->second + "' is not an integer in range");
    return v;
}

void rethrow_naming_option(const Error& e, const std::vector<OptionOf>& table) {
    const std::string what = e.what();
    if (dynamic_cast<const UsageError*>(&e) == nullptr)
        for (const OptionOf& o : table)
            if (what.find(o.parameter) != std::string::npos)
                throw Error(e.kind(), "option --" + std::string(o.option) + ": " + what);
    throw;  // as it was thrown: `throw e` made a usage error (exit 2) a plain one (exit 1)
}

}  // namespace gridbatch::cli
