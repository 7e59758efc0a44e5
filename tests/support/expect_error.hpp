// Checks of the errors the library throws: the kind, and words of the message that name what is
// wrong and where.
#pragma once

#include <functional>
#include <initializer_list>
#include <string>

#include "gridbatch/error.hpp"

namespace gridbatch::test {

// The message of the Error `f` throws; fails the test when it throws nothing or another kind.
std::string error_of(const std::function<void()>& f, ErrorKind kind = ErrorKind::invalid_input);

// `f` throws an Error of `kind` whose message contains every one of `parts`.
void expect_error(const std::function<void()>& f, std::initializer_list<std::string> parts,
                  ErrorKind kind = ErrorKind::invalid_input);

}  // namespace gridbatch::test
