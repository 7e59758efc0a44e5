#include "library_handles.hpp"

#include <utility>

#include "check.hpp"

namespace gridbatch::detail::cuda {

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
