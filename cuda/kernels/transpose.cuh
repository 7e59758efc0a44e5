// The one tiled transpose of the CUDA engines, between their bus-fastest columns (one scenario
// per column, as the host passes them) and the scenario-fastest rows their per-scenario kernels
// read coalesced.
#pragma once

#include <cuda_runtime.h>

namespace gridbatch::detail::cuda {

// out(c, r) = beta out(c, r) + in(r, c), with in rows x cols and out cols x rows, both
// column-major; where given, in's column c is read from column in_column[c] and out's column r
// is written to column out_column[r] (a permutation, e.g. a factor's row order). beta = 0 does
// not read out.
void transpose(const double* in, long rows, long cols, const int* in_column, const int* out_column,
               double beta, double* out, cudaStream_t stream);

}  // namespace gridbatch::detail::cuda
