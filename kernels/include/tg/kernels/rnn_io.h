// The buffers of one recurrent-stack call: what the kernels of every backend (kernels/cpu,
// kernels/cuda) take besides its tg::RnnSpec. A call below the Backend interface is
// (RnnSpec, RnnIo<T>); T is the element type (the CPU kernels), or void for kernels that
// dispatch on a DType themselves (the CUDA backend).
//
// Layouts (tg/rnn_spec.h): x [B,T,input], y / gy [B,T,H] batch-major; h0, c0, hT, cT, gh0, gc0,
// ghT, gcT [L,B,H]; weights and gweights: layers * rnn_weights_per_layer(cell) pointers,
// layer-major, in rnn_spec.h order.
//
// nullptr means absent, everywhere:
//   lengths   all sequences full (otherwise B host ints in [0, T]; TF dynamic_rnn semantics)
//   h0, c0    zero initial state (c0, cT, gc0, gcT are ignored for cells without a c state)
//   hT, cT    final states not wanted
//   reserve   inference (forward); the backward requires it
//   gx        input gradient not wanted
//   gweights  frozen weights: no weight gradients (the weight-gradient GEMMs are skipped)
//   gh0, gc0  initial-state gradients not wanted
//   ghT, gcT  no gradient flows into the final states
// The forward writes y (required), hT, cT and the reserve; the backward writes gx, gh0, gc0
// (=) and accumulates into gweights (+=).
#pragma once

#include <cstdint>

#include "tg/rnn_spec.h"

namespace tg::kernels {

template <typename T>
struct RnnIo {
  // ---- forward inputs ----
  const T* const* weights = nullptr;
  const T* x = nullptr;
  const int32_t* lengths = nullptr;  // host memory
  const T* h0 = nullptr;
  const T* c0 = nullptr;
  // ---- forward outputs ----
  T* y = nullptr;
  T* hT = nullptr;
  T* cT = nullptr;
  // ---- what the forward saves for the backward (training) ----
  T* reserve = nullptr;
  /// The batch slicing the CPU forward chose for `reserve` (it returns it; the CPU backward
  /// re-uses it). Unused by the CUDA kernels.
  int slices = 0;
  // ---- backward ----
  const T* gy = nullptr;
  T* gx = nullptr;
  T* const* gweights = nullptr;
  T* gh0 = nullptr;
  T* gc0 = nullptr;
  const T* ghT = nullptr;
  const T* gcT = nullptr;
};

/// Elements of T in the reserve of kernels that save, per layer, the layer output and the
/// cell's rnn_saved_width values per (row, step): the CPU kernels and the hand-written CUDA ones
/// (each orders them its own way; cuDNN's reserve is its own size).
/// layers * batch * seq * (hidden + rnn_saved_width(cell, hidden)); no shape checks.
inline int64_t rnn_layer_saved_elems(const RnnSpec& s) {
  return static_cast<int64_t>(s.layers) * s.batch * s.seq * (s.hidden + rnn_saved_width(s.cell, s.hidden));
}

}  // namespace tg::kernels
