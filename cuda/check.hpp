// Error checks for CUDA runtime calls (library_handles.hpp has cuBLAS's and cuSOLVER's): a failure
// throws Error{device} naming the call, the error and file:line (a macro because C++17 has no
// source_location).
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <string>

#include "gridbatch/error.hpp"

namespace gridbatch::detail::cuda {

[[noreturn]] void throw_cuda_error(const char* call, const std::string& what, const char* file,
                                   int line);
// Throws Error{device} for a cudaMalloc of `bytes` that found too little memory, saying how much
// the device had free (detail::device_allocation_failure).
[[noreturn]] void throw_allocation_failure(std::size_t bytes);

}  // namespace gridbatch::detail::cuda

#define GRIDBATCH_CUDA_CHECK(call)                                        \
    do {                                                                  \
        const cudaError_t gridbatch_status_ = (call);                     \
        if (gridbatch_status_ != cudaSuccess)                             \
            ::gridbatch::detail::cuda::throw_cuda_error(                  \
                #call,                                                    \
                std::string(cudaGetErrorName(gridbatch_status_)) + ": " + \
                    cudaGetErrorString(gridbatch_status_),                \
                __FILE__, __LINE__);                                      \
    } while (0)
