// Numeric types shared by the whole API: column-major dense matrices (one scenario per column)
// and CSR sparse matrices with 32-bit indices, the layout cuSPARSE uses.
#pragma once

#include <Eigen/Dense>
#include <Eigen/SparseCore>
#include <complex>
#include <cstdint>
#include <functional>

namespace gridbatch {

using Real = double;
using Complex = std::complex<double>;
using Index = Eigen::Index;
using Matrix = Eigen::Matrix<Real, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
using Vector = Eigen::Matrix<Real, Eigen::Dynamic, 1>;
using ComplexVector = Eigen::Matrix<Complex, Eigen::Dynamic, 1>;
using IndexVector = Eigen::Matrix<Index, Eigen::Dynamic, 1>;
using FlagVector = Eigen::Matrix<std::int8_t, Eigen::Dynamic, 1>;
using MatrixView = Eigen::Ref<const Matrix>;  // input: no copy when columns are contiguous
using SparseMatrix = Eigen::SparseMatrix<Real, Eigen::RowMajor, int>;
using ComplexSparseMatrix = Eigen::SparseMatrix<Complex, Eigen::RowMajor, int>;

// Called by a long computation in the calling thread before each of its n_chunks chunks
// (scenario chunks, outage blocks, re-plans): a caller reports progress there, or cancels by
// throwing, which ends the computation with that exception.
using ChunkHook = std::function<void(Index chunk, Index n_chunks)>;

}  // namespace gridbatch
