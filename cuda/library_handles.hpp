// One CUDA stream with the cuBLAS and cuSOLVER handles bound to it, owned together (RAII,
// move-only): the DC engine's dense path holds one, so engines never serialise on each other's
// streams.
#pragma once

#include <cublas_v2.h>
#include <cusolverDn.h>

#include <string>

#include "check.hpp"
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

namespace gridbatch::detail::cuda {

// A library status as its name ("CUBLAS_STATUS_ALLOC_FAILED"), for GRIDBATCH_CUDA_LIB_CHECK.
std::string library_status(cublasStatus_t status);
std::string library_status(cusolverStatus_t status);
// A library's failure to allocate its workspace, with how much device memory was free.
bool is_allocation_failure(cublasStatus_t status);
bool is_allocation_failure(cusolverStatus_t status);
[[noreturn]] void throw_library_allocation_failure(const char* call, const std::string& status);

}  // namespace gridbatch::detail::cuda

#define GRIDBATCH_CUDA_LIB_CHECK(call)                                                        \
    do {                                                                                      \
        const auto gridbatch_status_ = (call);                                                \
        if (static_cast<int>(gridbatch_status_) != 0) {                                       \
            const std::string gridbatch_name_ =                                               \
                ::gridbatch::detail::cuda::library_status(gridbatch_status_);                 \
            if (::gridbatch::detail::cuda::is_allocation_failure(gridbatch_status_))          \
                ::gridbatch::detail::cuda::throw_library_allocation_failure(#call,            \
                                                                            gridbatch_name_); \
            ::gridbatch::detail::cuda::throw_cuda_error(#call, gridbatch_name_, __FILE__,     \
                                                        __LINE__);                            \
        }                                                                                     \
    } while (0)
