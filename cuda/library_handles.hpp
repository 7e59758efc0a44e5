// One CUDA stream with the cuBLAS and cuSOLVER handles bound to it, owned together (RAII,
// move-only): the DC engine's dense path holds one, so engines never serialise on each other's
// streams.
#pragma once

#include <cublas_v2.h>
#include <cusolverDn.h>

#include "stream.hpp"

namespace gridbatch::detail::cuda {

class LibraryHandles {
public:
    // Creates the stream and the handles on the current device; throws Error{device} on failure.
    // They are destroyed on that device too, whichever is current then (cuBLAS asks for it).
    LibraryHandles();
    ~LibraryHandles();
    LibraryHandles(const LibraryHandles&) = delete;
    LibraryHandles& operator=(const LibraryHandles&) = delete;
    LibraryHandles(LibraryHandles&& other) noexcept;
    LibraryHandles& operator=(LibraryHandles&& other) noexcept;

    cudaStream_t stream() const noexcept { return stream_.get(); }
    cublasHandle_t cublas() const noexcept { return cublas_; }
    cusolverDnHandle_t cusolver() const noexcept { return cusolver_; }
    void synchronize() const { stream_.synchronize(); }

private:
    void release() noexcept;

    Stream stream_;
    cublasHandle_t cublas_ = nullptr;
    cusolverDnHandle_t cusolver_ = nullptr;
};

}  // namespace gridbatch::detail::cuda
