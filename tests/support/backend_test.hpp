// The fixture that runs one test source against every backend: an unavailable backend is a
// visible skip with the reason (or a failure when GRIDBATCH_REQUIRE_CUDA is set), never a pass.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "gridbatch/backend.hpp"
#include "gridbatch/dc_power_flow.hpp"

namespace gridbatch::test {

class BackendTest : public ::testing::TestWithParam<Backend> {
protected:
    void SetUp() override {
        const BackendStatus status = backend_status(GetParam());
        if (status.available) return;
        if (GetParam() == Backend::cuda && std::getenv("GRIDBATCH_REQUIRE_CUDA"))
            FAIL() << "CUDA required but unavailable: " << status.reason;
        GTEST_SKIP() << to_string(GetParam()) << " backend unavailable: " << status.reason;
    }
    Backend backend() const { return GetParam(); }
};

// For DC power-flow tests: options on this backend.
class DcBackendTest : public BackendTest {
protected:
    DcOptions options(SlackMode slack = SlackMode::single) const {
        DcOptions o;
        o.backend = backend();
        o.slack = slack;
        return o;
    }
};

}  // namespace gridbatch::test

#define GRIDBATCH_INSTANTIATE_FOR_ALL_BACKENDS(suite)                             \
    INSTANTIATE_TEST_SUITE_P(                                                     \
        AllBackends, suite,                                                       \
        ::testing::Values(::gridbatch::Backend::cpu, ::gridbatch::Backend::cuda), \
        [](const auto& param_info) {                                              \
            return std::string(::gridbatch::to_string(param_info.param));         \
        })
