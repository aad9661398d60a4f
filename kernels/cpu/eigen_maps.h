// Row-major Eigen views of raw buffers with a row stride, for the CPU kernels compiled at the
// build's instruction set (gemm_cpu.cpp, rnn_cpu.cpp). Not for gemm_avx2.cpp / gemm_avx512.cpp:
// Eigen's inline functions compiled there with other instruction sets could be the ones the
// linker keeps. Private to kernels/cpu.
#pragma once

#include <Eigen/Core>

namespace tg::kernels::cpu {

using Eigen::Index;
template <typename T>
using MatR = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using MapM = Eigen::Map<MatR<T>, 0, Eigen::OuterStride<>>;
template <typename T>
using CMapM = Eigen::Map<const MatR<T>, 0, Eigen::OuterStride<>>;

/// p as an r x c row-major matrix with row stride ld.
template <typename T>
inline MapM<T> mm(T* p, Index r, Index c, Index ld) {
  return MapM<T>(p, r, c, Eigen::OuterStride<>(ld));
}
template <typename T>
inline CMapM<T> cm(const T* p, Index r, Index c, Index ld) {
  return CMapM<T>(p, r, c, Eigen::OuterStride<>(ld));
}

}  // namespace tg::kernels::cpu
