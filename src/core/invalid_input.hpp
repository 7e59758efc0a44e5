// One way to refuse bad input in the dispatch and load-profile code: throw, print a number in the
// message, check a field.
#pragma once

#include <sstream>
#include <string>

#include "gridbatch/error.hpp"
#include "gridbatch/types.hpp"

namespace gridbatch::detail {

[[noreturn]] inline void fail(const std::string& message) {
    throw Error(ErrorKind::invalid_input, message);
}

// A number as a stream prints it ("0.5", "1e+20"; std::to_string would give "0.500000").
inline std::string num(Real v) {
    std::ostringstream s;
    s << v;
    return s.str();
}

// Throws "<where>: <field> must be <expected> (got <value>)" unless `ok`.
inline void require(bool ok, const std::string& where, const std::string& field, Real value,
                    const std::string& expected) {
    if (!ok) fail(where + ": " + field + " must be " + expected + " (got " + num(value) + ")");
}

}  // namespace gridbatch::detail
