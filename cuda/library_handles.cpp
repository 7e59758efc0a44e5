#include "library_handles.hpp"

#include <utility>

#include "check.hpp"

namespace gridbatch::detail::cuda {

LibraryHandles::LibraryHandles() {
    try {
        GRIDBATCH_CUDA_CHECK(cudaGetDevice(&device_));
        GRIDBATCH_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
        GRIDBATCH_CUDA_LIB_CHECK(cublasCreate(&cublas_));
        GRIDBATCH_CUDA_LIB_CHECK(cublasSetStream(cublas_, stream_));
        GRIDBATCH_CUDA_LIB_CHECK(cusolverDnCreate(&cusolver_));
        GRIDBATCH_CUDA_LIB_CHECK(cusolverDnSetStream(cusolver_, stream_));
        GRIDBATCH_CUDA_LIB_CHECK(cusparseCreate(&cusparse_));
        GRIDBATCH_CUDA_LIB_CHECK(cusparseSetStream(cusparse_, stream_));
    } catch (...) {
        release();
        throw;
    }
}

LibraryHandles::~LibraryHandles() { release(); }

LibraryHandles::LibraryHandles(LibraryHandles&& other) noexcept
    : device_(other.device_),
      stream_(std::exchange(other.stream_, nullptr)),
      cublas_(std::exchange(other.cublas_, nullptr)),
      cusolver_(std::exchange(other.cusolver_, nullptr)),
      cusparse_(std::exchange(other.cusparse_, nullptr)) {}

LibraryHandles& LibraryHandles::operator=(LibraryHandles&& other) noexcept {
    if (this != &other) {
        release();
        device_ = other.device_;
        stream_ = std::exchange(other.stream_, nullptr);
        cublas_ = std::exchange(other.cublas_, nullptr);
        cusolver_ = std::exchange(other.cusolver_, nullptr);
        cusparse_ = std::exchange(other.cusparse_, nullptr);
    }
    return *this;
}

void LibraryHandles::synchronize() const { GRIDBATCH_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

void LibraryHandles::release() noexcept {
    // Destroy failures only happen with a dead context; nothing useful can be done in a destructor.
    if (stream_ == nullptr && cublas_ == nullptr && cusolver_ == nullptr && cusparse_ == nullptr)
        return;
    int current = device_;
    (void)cudaGetDevice(&current);
    if (current != device_) (void)cudaSetDevice(device_);
    if (cusparse_ != nullptr) (void)cusparseDestroy(cusparse_);
    if (cusolver_ != nullptr) (void)cusolverDnDestroy(cusolver_);
    if (cublas_ != nullptr) (void)cublasDestroy(cublas_);
    if (stream_ != nullptr) (void)cudaStreamDestroy(stream_);
    if (current != device_) (void)cudaSetDevice(current);
    cusparse_ = nullptr;
    cusolver_ = nullptr;
    cublas_ = nullptr;
    stream_ = nullptr;
}

}  // namespace gridbatch::detail::cuda
