#include <gtest/gtest.h>

#include "engine/device.hpp"
#include "gridbatch/backend.hpp"
#include "gridbatch/error.hpp"
#include "support/expect_error.hpp"

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
    test::expect_error([] { resolve_backend(Backend::cuda); },
                       {"the cuda backend was requested, but",
                        detail::cuda::built() ? "no usable CUDA device" : "no CUDA backend"},
                       ErrorKind::backend_unavailable);
}

TEST(BackendSelection, ParsesNames) {
    EXPECT_EQ(parse_backend("cpu"), Backend::cpu);
    EXPECT_EQ(parse_backend("cuda"), Backend::cuda);
    EXPECT_EQ(parse_backend("auto"), Backend::automatic);
    EXPECT_THROW(parse_backend("gpu"), Error);
}

}  // namespace
}  // namespace gridbatch
