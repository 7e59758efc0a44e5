// Milliseconds of device work on a stream, between two CUDA events recorded around it. Every
// call is checked: a device fault throws gridbatch::Error (the row fails loudly) instead of
// reading as a time of 0.
#pragma once

#include <cuda_runtime.h>

#include "check.hpp"

class DeviceTimer {
public:
    DeviceTimer() {
        GRIDBATCH_CUDA_CHECK(cudaEventCreate(&start_));
        GRIDBATCH_CUDA_CHECK(cudaEventCreate(&stop_));
    }
    ~DeviceTimer() {
        cudaEventDestroy(start_);
        cudaEventDestroy(stop_);
    }
    DeviceTimer(const DeviceTimer&) = delete;
    DeviceTimer& operator=(const DeviceTimer&) = delete;

    template <class Work>
    float milliseconds(cudaStream_t stream, Work&& work) {
        GRIDBATCH_CUDA_CHECK(cudaEventRecord(start_, stream));
        work();
        GRIDBATCH_CUDA_CHECK(cudaEventRecord(stop_, stream));
        GRIDBATCH_CUDA_CHECK(cudaEventSynchronize(stop_));
        float ms = 0;
        GRIDBATCH_CUDA_CHECK(cudaEventElapsedTime(&ms, start_, stop_));
        return ms;
    }

private:
    cudaEvent_t start_ = nullptr, stop_ = nullptr;
};
