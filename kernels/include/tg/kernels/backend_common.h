// Host-side helpers both built-in backends use: the dtype dispatch and the rank-4 view of a
// broadcast (cpu/cpu_backend.cpp, cuda/cuda_backend.cu).
#pragma once

#include <array>
#include <cstdint>

#include "tg/tensor.h"

namespace tg::kernels {

/// fn(float{}) or fn(double{}) by the dtype.
template <typename Fn>
void dispatch(DType dt, Fn&& fn) {
  if (dt == DType::F32)
    fn(float{});
  else
    fn(double{});
}

/// The dims of `s` right-aligned in a rank-4 index space (leading 1s).
inline std::array<int64_t, 4> dims4(const Shape& s) {
  std::array<int64_t, 4> d{1, 1, 1, 1};
  const int off = 4 - s.rank();
  for (int i = 0; i < s.rank(); ++i) d[static_cast<size_t>(i + off)] = s[i];
  return d;
}

/// Strides (in elements) of `s` right-aligned against the rank-4 index space of `out`, with 0 for
/// broadcast axes.
inline std::array<int64_t, 4> broadcast_strides(const Shape& s, const Shape& out) {
  std::array<int64_t, 4> st{0, 0, 0, 0};
  int64_t stride = 1;
  const int off = 4 - out.rank();
  for (int i = s.rank() - 1, j = out.rank() - 1; i >= 0; --i, --j) {
    st[static_cast<size_t>(j + off)] = (s[i] == 1 && out[j] != 1) ? 0 : stride;
    stride *= s[i];
  }
  return st;
}

}  // namespace tg::kernels
