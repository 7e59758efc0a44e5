#include "library_handles.hpp"

#include <utility>

#include "check.hpp"

namespace gridbatch::detail::cuda {

std::string library_status(cublasStatus_t status) { return cublasGetStatusName(status); }

std::string library_status(cusolverStatus_t status) {
    switch (status) {  // cuSOLVER has no cublasGetStatusName: the statuses its calls here return
        case CUSOLVER_STATUS_NOT_INITIALIZED:
            return "CUSOLVER_STATUS_NOT_INITIALIZED";
        case CUSOLVER_STATUS_ALLOC_FAILED:
            return "CUSOLVER_STATUS_ALLOC_FAILED";
        case CUSOLVER_STATUS_INVALID_VALUE:
            return "CUSOLVER_STATUS_INVALID_VALUE";
        case CUSOLVER_STATUS_ARCH_MISMATCH:
            return "CUSOLVER_STATUS_ARCH_MISMATCH";
        case CUSOLVER_STATUS_EXECUTION_FAILED:
            return "CUSOLVER_STATUS_EXECUTION_FAILED";
        case CUSOLVER_STATUS_INTERNAL_ERROR:
            return "CUSOLVER_STATUS_INTERNAL_ERROR";
        case CUSOLVER_STATUS_NOT_SUPPORTED:
            return "CUSOLVER_STATUS_NOT_SUPPORTED";
        case CUSOLVER_STATUS_INVALID_WORKSPACE:
            return "CUSOLVER_STATUS_INVALID_WORKSPACE";
        default:
            return "cuSOLVER status " + std::to_string(static_cast<int>(status));
    }
}

bool is_allocation_failure(cublasStatus_t status) { return status == CUBLAS_STATUS_ALLOC_FAILED; }
bool is_allocation_failure(cusolverStatus_t status) {
    return status == CUSOLVER_STATUS_ALLOC_FAILED;
}

void throw_library_allocation_failure(const char* call, const std::string& status) {
    std::size_t free_bytes = 0, total = 0;
    (void)cudaMemGetInfo(&free_bytes, &total);
    throw Error(ErrorKind::device,
                std::string(call) + " failed with " + status + ": the library could not allocate " +
                    "its workspace; " + std::to_string(free_bytes >> 20) + " MiB of the GPU's " +
                    std::to_string(total >> 20) +
                    " MiB were free (other processes, or this one's earlier results, hold the "
                    "rest); solve a smaller batch or network, or use the cpu backend");
}

LibraryHandles::LibraryHandles() {
    try {
        GRIDBATCH_CUDA_LIB_CHECK(cublasCreate(&cublas_));
        GRIDBATCH_CUDA_LIB_CHECK(cublasSetStream(cublas_, stream_.get()));
        GRIDBATCH_CUDA_LIB_CHECK(cusolverDnCreate(&cusolver_));
        GRIDBATCH_CUDA_LIB_CHECK(cusolverDnSetStream(cusolver_, stream_.get()));
    } catch (...) {
        release();
        throw;
    }
}

LibraryHandles::~LibraryHandles() { release(); }

LibraryHandles::LibraryHandles(LibraryHandles&& other) noexcept
    : stream_(std::move(other.stream_)),
      cublas_(std::exchange(other.cublas_, nullptr)),
      cusolver_(std::exchange(other.cusolver_, nullptr)) {}

LibraryHandles& LibraryHandles::operator=(LibraryHandles&& other) noexcept {
    if (this != &other) {
        release();
        stream_ = std::move(other.stream_);
        cublas_ = std::exchange(other.cublas_, nullptr);
        cusolver_ = std::exchange(other.cusolver_, nullptr);
    }
    return *this;
}

void LibraryHandles::release() noexcept {
    // Handles go before their stream (the member, destroyed after this body).
    if (cublas_ == nullptr && cusolver_ == nullptr) return;
    const DeviceScope scope(stream_.device());
    if (cusolver_ != nullptr) (void)cusolverDnDestroy(cusolver_);
    if (cublas_ != nullptr) (void)cublasDestroy(cublas_);
    cusolver_ = nullptr;
    cublas_ = nullptr;
}

}  // namespace gridbatch::detail::cuda
