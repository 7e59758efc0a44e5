// One CUDA stream with the cuBLAS, cuSOLVER and cuSPARSE handles bound to it, owned together
// (RAII, move-only): each engine holds one, so engines never serialise on each other's streams.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusolverDn.h>
#include <cusparse.h>

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

    cudaStream_t stream() const noexcept { return stream_; }
    cublasHandle_t cublas() const noexcept { return cublas_; }
    cusolverDnHandle_t cusolver() const noexcept { return cusolver_; }
    cusparseHandle_t cusparse() const noexcept { return cusparse_; }
    void synchronize() const;

private:
    void release() noexcept;

    int device_ = 0;
    cudaStream_t stream_ = nullptr;
    cublasHandle_t cublas_ = nullptr;
    cusolverDnHandle_t cusolver_ = nullptr;
    cusparseHandle_t cusparse_ = nullptr;
};

}  // namespace gridbatch::detail::cuda
