#include "stream.hpp"

#include <utility>

#include "check.hpp"

namespace gridbatch::detail::cuda {

Stream::Stream() {
    GRIDBATCH_CUDA_CHECK(cudaGetDevice(&device_));
    GRIDBATCH_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
}

Stream::Stream(int device) : device_(device) {
    GRIDBATCH_CUDA_CHECK(cudaSetDevice(device_));
    GRIDBATCH_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
}

Stream::~Stream() { release(); }

Stream::Stream(Stream&& other) noexcept
    : device_(other.device_), stream_(std::exchange(other.stream_, nullptr)) {}

Stream& Stream::operator=(Stream&& other) noexcept {
    if (this != &other) {
        release();
        device_ = other.device_;
        stream_ = std::exchange(other.stream_, nullptr);
    }
    return *this;
}

void Stream::activate() const { GRIDBATCH_CUDA_CHECK(cudaSetDevice(device_)); }

void Stream::synchronize() const { GRIDBATCH_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

void Stream::release() noexcept {
    if (stream_ == nullptr) return;
    // A failure here means a dead context; nothing useful can be done in a destructor.
    const DeviceScope scope(device_);
    (void)cudaStreamDestroy(stream_);
    stream_ = nullptr;
}

DeviceScope::DeviceScope(int device) noexcept {
    int current = -1;
    if (cudaGetDevice(&current) != cudaSuccess || current == device) return;
    if (cudaSetDevice(device) == cudaSuccess) previous_ = current;
}

DeviceScope::~DeviceScope() {
    if (previous_ >= 0) (void)cudaSetDevice(previous_);
}

}  // namespace gridbatch::detail::cuda
