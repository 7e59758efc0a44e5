#include "support/expect_error.hpp"

#include <gtest/gtest.h>

namespace gridbatch::test {

std::string error_of(const std::function<void()>& f, ErrorKind kind) {
    try {
        f();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), kind) << e.what();
        return e.what();
    }
    ADD_FAILURE() << "no error";
    return "";
}

void expect_error(const std::function<void()>& f, std::initializer_list<std::string> parts,
                  ErrorKind kind) {
    const std::string message = error_of(f, kind);
    for (const std::string& part : parts)
        EXPECT_NE(message.find(part), std::string::npos) << "'" << part << "' not in: " << message;
}

}  // namespace gridbatch::test
