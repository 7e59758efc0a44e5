// DeviceBuffer<T>: one device allocation owned by one object (RAII, move-only). Copies are
// stream-ordered; a download into host memory returns when the data is there (pageable host
// memory makes cudaMemcpyAsync synchronous for device-to-host).
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "check.hpp"

namespace gridbatch::detail::cuda {

template <class T>
class DeviceBuffer {
    static_assert(std::is_trivially_copyable<T>::value, "DeviceBuffer holds plain data only");

public:
    DeviceBuffer() = default;
    explicit DeviceBuffer(std::size_t count) { allocate(count); }
    DeviceBuffer(const T* host, std::size_t count, cudaStream_t stream) {
        allocate(count);
        upload(host, count, stream);
    }
    DeviceBuffer(const std::vector<T>& host, cudaStream_t stream)
        : DeviceBuffer(host.data(), host.size(), stream) {}
    ~DeviceBuffer() { release(); }

    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;
    DeviceBuffer(DeviceBuffer&& other) noexcept
        : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
    DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
        if (this != &other) {
            release();
            data_ = std::exchange(other.data_, nullptr);
            size_ = std::exchange(other.size_, 0);
        }
        return *this;
    }

    T* data() noexcept { return data_; }
    const T* data() const noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }
    std::size_t bytes() const noexcept { return size_ * sizeof(T); }
    bool empty() const noexcept { return size_ == 0; }

    // Makes room for `count` elements; the contents are undefined afterwards. Keeps the
    // allocation when it is already exactly that size, so per-batch buffers are reused.
    void resize(std::size_t count) {
        if (count == size_) return;
        release();
        allocate(count);
    }

    // Host -> device into elements [offset, offset + count).
    void upload(const T* host, std::size_t count, cudaStream_t stream, std::size_t offset = 0) {
        check_range(offset, count);
        if (count == 0) return;
        GRIDBATCH_CUDA_CHECK(cudaMemcpyAsync(data_ + offset, host, count * sizeof(T),
                                             cudaMemcpyHostToDevice, stream));
    }
    void upload(const std::vector<T>& host, cudaStream_t stream) {
        resize(host.size());
        upload(host.data(), host.size(), stream);
    }

    // Device elements [offset, offset + count) -> host; waits for the stream's earlier work.
    void download(T* host, std::size_t count, cudaStream_t stream, std::size_t offset = 0) const {
        check_range(offset, count);
        if (count == 0) return;
        GRIDBATCH_CUDA_CHECK(cudaMemcpyAsync(host, data_ + offset, count * sizeof(T),
                                             cudaMemcpyDeviceToHost, stream));
        GRIDBATCH_CUDA_CHECK(cudaStreamSynchronize(stream));
    }
    std::vector<T> download(cudaStream_t stream) const {
        std::vector<T> host(size_);
        download(host.data(), size_, stream);
        return host;
    }

    void fill_zero(cudaStream_t stream) {
        if (size_ != 0) GRIDBATCH_CUDA_CHECK(cudaMemsetAsync(data_, 0, bytes(), stream));
    }

private:
    void allocate(std::size_t count) {
        if (count == 0) return;
        void* p = nullptr;
        const cudaError_t status = cudaMalloc(&p, count * sizeof(T));
        if (status == cudaErrorMemoryAllocation) throw_allocation_failure(count * sizeof(T));
        GRIDBATCH_CUDA_CHECK(status);
        data_ = static_cast<T*>(p);
        size_ = count;
    }
    void release() noexcept {
        // cudaFree only fails for a pointer that is not ours or a dead context; a destructor
        // has nobody to tell, and the memory is gone with the context anyway.
        if (data_ != nullptr) (void)cudaFree(data_);
        data_ = nullptr;
        size_ = 0;
    }
    void check_range(std::size_t offset, std::size_t count) const {
        if (offset > size_ || count > size_ - offset)
            throw Error(ErrorKind::device, "DeviceBuffer: copy of " + std::to_string(count) +
                                               " elements at offset " + std::to_string(offset) +
                                               " exceeds the buffer's " + std::to_string(size_));
    }

    T* data_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace gridbatch::detail::cuda
