#include <algorithm>

#include "launch.cuh"
#include "transpose.cuh"

namespace gridbatch::detail::cuda {
namespace {

// 32 x 32 tiles through shared memory so that both sides are read and written coalesced. Row
// tiles are grid-strided: grid.y stops at 65,535 tiles, and the rows can be a chunk's scenarios,
// of which a small case fits millions on the device.
constexpr int kTile = 32, kTileRows = 8;

__global__ void transpose_kernel(const double* in, long rows, long cols, const int* in_column,
                                 const int* out_column, double beta, double* out) {
    __shared__ double tile[kTile][kTile + 1];
    const long c0 = static_cast<long>(blockIdx.x) * kTile;
    for (long r0 = static_cast<long>(blockIdx.y) * kTile; r0 < rows;
         r0 += static_cast<long>(gridDim.y) * kTile) {
        for (int dy = threadIdx.y; dy < kTile; dy += kTileRows) {
            const long r = r0 + threadIdx.x, c = c0 + dy;
            if (r < rows && c < cols)
                tile[dy][threadIdx.x] = in[r + (in_column ? in_column[c] : c) * rows];
        }
        __syncthreads();
        for (int dy = threadIdx.y; dy < kTile; dy += kTileRows) {
            const long c = c0 + threadIdx.x, r = r0 + dy;
            if (r < rows && c < cols) {
                double& o = out[c + (out_column ? out_column[r] : r) * cols];
                const double v = tile[threadIdx.x][dy];
                o = beta == 0 ? v : beta * o + v;
            }
        }
        __syncthreads();  // before the next row tile overwrites this one
    }
}

}  // namespace

void transpose(const double* in, long rows, long cols, const int* in_column, const int* out_column,
               double beta, double* out, cudaStream_t stream) {
    if (rows == 0 || cols == 0) return;
    const dim3 grid(static_cast<unsigned>((cols + kTile - 1) / kTile),
                    static_cast<unsigned>(std::min<long>((rows + kTile - 1) / kTile, 65535)));
    transpose_kernel<<<grid, dim3(kTile, kTileRows), 0, stream>>>(in, rows, cols, in_column,
                                                                  out_column, beta, out);
    GRIDBATCH_CUDA_CHECK_LAUNCH();
}

}  // namespace gridbatch::detail::cuda
