// DeviceBuffer, Stream, LibraryHandles and the mapping of CUDA failures to gridbatch::Error.
#include <gtest/gtest.h>

#include <numeric>
#include <string>
#include <vector>

#include "cuda/require_device.hpp"
#include "device_buffer.hpp"
#include "library_handles.hpp"
#include "stream.hpp"
#include "support/expect_error.hpp"

namespace gridbatch::detail::cuda {
namespace {

TEST(CudaErrors, FailedCallThrowsDeviceErrorNamingCallErrorAndPlace) {
    test::expect_error([] { GRIDBATCH_CUDA_CHECK(cudaErrorInvalidValue); },
                       {"cudaErrorInvalidValue", "test_device_buffer.cpp:"}, ErrorKind::device);
}

TEST(CudaErrors, LibraryStatusIsReported) {
    test::expect_error([] { GRIDBATCH_CUDA_LIB_CHECK(CUBLAS_STATUS_NOT_INITIALIZED); },
                       {"CUBLAS_STATUS_NOT_INITIALIZED"}, ErrorKind::device);
}

TEST(DeviceBuffer, CopyOutsideTheBufferIsAnErrorBeforeAnyDeviceCall) {
    DeviceBuffer<double> empty;
    const double x = 1;
    EXPECT_TRUE(empty.empty());
    EXPECT_THROW(empty.upload(&x, 1, nullptr), Error);
    double y = 0;
    EXPECT_THROW(empty.download(&y, 1, nullptr), Error);
}

TEST(DeviceBuffer, AllocationBeyondTheDeviceSaysWhatItAskedAndWhatWasFree) {
    GRIDBATCH_REQUIRE_DEVICE();
    // 1 PB: more than any GPU; the device stays usable afterwards.
    test::expect_error([] { DeviceBuffer<double> huge(std::size_t{125'000'000'000'000}); },
                       {"a device allocation of 1e+06 GB failed:", "were free", "the cpu backend"},
                       ErrorKind::device);
    const LibraryHandles handles;
    const std::vector<double> host{1, 2, 3};
    EXPECT_EQ(DeviceBuffer<double>(host, handles.stream()).download(handles.stream()), host);
}

TEST(DeviceBuffer, RoundTripWithOffsetsAndMoves) {
    GRIDBATCH_REQUIRE_DEVICE();
    const LibraryHandles handles;
    std::vector<double> host(1000);
    std::iota(host.begin(), host.end(), -3.5);
    DeviceBuffer<double> a(host, handles.stream());
    EXPECT_EQ(a.size(), host.size());
    EXPECT_EQ(a.download(handles.stream()), host);

    const std::vector<double> patch{7, 8, 9};
    a.upload(patch.data(), patch.size(), handles.stream(), 500);
    std::vector<double> back(3);
    a.download(back.data(), 3, handles.stream(), 500);
    EXPECT_EQ(back, patch);
    EXPECT_THROW(a.upload(patch.data(), 3, handles.stream(), 998), Error);

    DeviceBuffer<double> b(std::move(a));
    EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): moved-from state is specified
    EXPECT_EQ(b.size(), host.size());
    b.fill_zero(handles.stream());
    EXPECT_EQ(b.download(handles.stream()), std::vector<double>(host.size(), 0.0));
    b.resize(10);
    EXPECT_EQ(b.size(), 10u);
}

TEST(LibraryHandles, MovedHandlesKeepWorkingAndTheSourceIsEmpty) {
    GRIDBATCH_REQUIRE_DEVICE();
    LibraryHandles a;
    const cudaStream_t stream = a.stream();
    LibraryHandles b(std::move(a));
    EXPECT_EQ(a.stream(), nullptr);  // NOLINT(bugprone-use-after-move): moved-from state
    EXPECT_EQ(a.cublas(), nullptr);  // NOLINT(bugprone-use-after-move)
    EXPECT_EQ(b.stream(), stream);
    // C = A B on the moved handles' stream: they were bound to it, and still are.
    const std::vector<double> ab{1, 2, 3, 4};
    DeviceBuffer<double> d_a(ab, b.stream()), d_c(4);
    const double one = 1, zero = 0;
    ASSERT_EQ(cublasDgemm(b.cublas(), CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 2, &one, d_a.data(), 2,
                          d_a.data(), 2, &zero, d_c.data(), 2),
              CUBLAS_STATUS_SUCCESS);
    EXPECT_EQ(d_c.download(b.stream()), (std::vector<double>{7, 10, 15, 22}));

    LibraryHandles c;
    c = std::move(b);  // c's own handles and stream are released first
    EXPECT_EQ(c.stream(), stream);
    EXPECT_EQ(b.cusolver(), nullptr);  // NOLINT(bugprone-use-after-move)
    c.synchronize();

    Stream on_device(0);
    Stream moved = std::move(on_device);
    EXPECT_EQ(on_device.get(), nullptr);  // NOLINT(bugprone-use-after-move)
    EXPECT_EQ(moved.device(), 0);
    moved.synchronize();
}

}  // namespace
}  // namespace gridbatch::detail::cuda
