// GRIDBATCH_HD marks the algorithms written once for both backends (core/dispatch/,
// core/ipm_core.hpp): host and device functions under nvcc, plain functions elsewhere.
// GRIDBATCH_HD_INLINE also forces inlining on the device (the AC engine's per-entry helpers in
// cuda/kernels/batched_lu.hpp and newton_steps.hpp).
#pragma once

#ifdef __CUDACC__
#define GRIDBATCH_HD __host__ __device__
#define GRIDBATCH_HD_INLINE __host__ __device__ __forceinline__
#else
#define GRIDBATCH_HD
#define GRIDBATCH_HD_INLINE inline
#endif
