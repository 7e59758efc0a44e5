// Stream: one non-blocking CUDA stream owned by one object (RAII, move-only), created on the
// current device and destroyed on that device, whichever is current then.
#pragma once

#include <cuda_runtime.h>

namespace gridbatch::detail::cuda {

class Stream {
public:
    // On the current device, or on `device` made current first; throws Error{device} when the
    // stream cannot be created.
    Stream();
    explicit Stream(int device);
    ~Stream();
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;
    Stream(Stream&& other) noexcept;
    Stream& operator=(Stream&& other) noexcept;

    cudaStream_t get() const noexcept { return stream_; }
    int device() const noexcept { return device_; }
    // Makes the stream's device current for the calling thread: another engine or thread may
    // have made another device current since. Throws Error{device}.
    void activate() const;
    void synchronize() const;

private:
    void release() noexcept;

    int device_ = 0;
    cudaStream_t stream_ = nullptr;
};

// Makes `device` current for this object's lifetime and restores the previous one after:
// destructors that free handles or streams of another device than the current one.
class DeviceScope {
public:
    explicit DeviceScope(int device) noexcept;
    ~DeviceScope();
    DeviceScope(const DeviceScope&) = delete;
    DeviceScope& operator=(const DeviceScope&) = delete;

private:
    int previous_ = -1;
};

}  // namespace gridbatch::detail::cuda
