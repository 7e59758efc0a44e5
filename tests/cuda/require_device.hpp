// CUDA-internal tests that need a device skip visibly without one, or fail when
// GRIDBATCH_REQUIRE_CUDA is set (the GPU machine's run, scripts/gpu_run.sh).
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>

#include "gridbatch/backend.hpp"

#define GRIDBATCH_REQUIRE_DEVICE()                                                       \
    do {                                                                                 \
        const ::gridbatch::BackendStatus gridbatch_status_ =                             \
            ::gridbatch::backend_status(::gridbatch::Backend::cuda);                     \
        if (!gridbatch_status_.available) {                                              \
            if (std::getenv("GRIDBATCH_REQUIRE_CUDA"))                                   \
                FAIL() << "CUDA required but unavailable: " << gridbatch_status_.reason; \
            GTEST_SKIP() << "cuda backend unavailable: " << gridbatch_status_.reason;    \
        }                                                                                \
    } while (0)
