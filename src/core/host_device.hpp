// GRIDBATCH_HD marks the algorithms written once for both backends (dispatch_core.hpp,
// ipm_core.hpp): host and device functions under nvcc, plain functions elsewhere.
#pragma once

#ifdef __CUDACC__
#define GRIDBATCH_HD __host__ __device__
#else
#define GRIDBATCH_HD
#endif
