#include <gtest/gtest.h>

#include "engine/device.hpp"
#include "gridbatch/backend.hpp"
#include "gridbatch/error.hpp"

namespace gridbatch {
namespace {

TEST(BackendSelection, CpuIsAlwaysAvailable) {
    EXPECT_TRUE(backend_status(Backend::cpu).available);
    EXPECT_EQ(resolve_backend(Backend::cpu), Backend::cpu);
    EXPECT_EQ(available_backends().front(), Backend::cpu);
}

TEST(BackendSelection, AutomaticPicksCudaOnlyWhenAvailable) {
    const bool cuda = backend_status(Backend::cuda).available;
    EXPECT_EQ(resolve_backend(Backend::automatic), cuda ? Backend::cuda : Backend::cpu);
}

TEST(BackendSelection, UnavailableCudaThrowsWithReason) {
    const BackendStatus status = backend_status(Backend::cuda);
    if (status.available) GTEST_SKIP() << "a CUDA device is present";
    EXPECT_FALSE(status.reason.empty());
    try {
        resolve_backend(Backend::cuda);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::backend_unavailable);
        const std::string msg = e.what();
        EXPECT_NE(msg.find("Backend::cuda requested, but"), std::string::npos) << msg;
        if (detail::cuda::built())
            EXPECT_NE(msg.find("no usable CUDA device"), std::string::npos) << msg;
        else
            EXPECT_NE(msg.find("no CUDA backend"), std::string::npos) << msg;
    }
}

TEST(BackendSelection, ParsesNames) {
    EXPECT_EQ(parse_backend("cpu"), Backend::cpu);
    EXPECT_EQ(parse_backend("cuda"), Backend::cuda);
    EXPECT_EQ(parse_backend("auto"), Backend::automatic);
    EXPECT_THROW(parse_backend("gpu"), Error);
}

}  // namespace
}  // namespace gridbatch
