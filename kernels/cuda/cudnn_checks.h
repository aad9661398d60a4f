/*
cudnn_checks.h: the guards of the cuDNN GRU (cudnn_gru.cu) as plain C++, without cuDNN types, so
that the emulated build and a host-only cuDNN test (tests/cudnn_host) can test them without a
device.

  * check_param_layout: a weight or bias descriptor that cudnnGetRNNWeightParams returned (its
    dimensions and strides, read with cudnnGetTensorNdDescriptor) against the layout the copies
    in and out of the weight space assume: a dense row-major [rows, cols] block (a bias is
    [rows, 1]); unit dimensions may appear anywhere, their strides do not matter.
  * choose_small_h: TG_CUDNN_ALGO=small_h (CUDNN_RNN_ALGO_PERSIST_STATIC_SMALL_H) is float only
    and cuDNN documents no per-sequence lengths for it: batches with lengths shorter than the
    sequence fall back to the standard algorithm, with one note.
  * OneBackward: cudnnRNNBackwardData_v8 writes the reserve space that its forward filled, so a
    forward's saved state supports one backward; a second one through the same forward is an
    error instead of wrong gradients.
*/
#pragma once

#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace tg::kernels::cuda::cudnn_checks {

/// "" when (nb, dims, strides) describe a dense row-major [rows, cols] block, else what differs.
inline std::string check_param_layout(const char* what, int nb, const int* dims, const int* strides, int64_t rows,
                                      int64_t cols) {
  auto list = [](int n, const int* v) {
    std::string s = "[";
    for (int i = 0; i < n; ++i) s += (i ? "," : "") + std::to_string(v[i]);
    return s + "]";
  };
  const std::string got = std::string(what) + " descriptor with dims " + (nb > 0 && nb <= 8 ? list(nb, dims) : "?") +
                          " strides " + (nb > 0 && nb <= 8 ? list(nb, strides) : "?");
  const std::string want = "a dense row-major " + std::to_string(rows) + " x " + std::to_string(cols) + " block";
  if (nb < 1 || nb > 8) return got + " (" + std::to_string(nb) + " dimensions), expected " + want;
  std::vector<int64_t> d, s;  // the non-unit dimensions, outermost first
  for (int i = 0; i < nb; ++i) {
    if (dims[i] < 1) return got + ", expected " + want;
    if (dims[i] != 1) {
      d.push_back(dims[i]);
      s.push_back(strides[i]);
    }
  }
  std::vector<int64_t> ed, es;
  if (rows != 1) {
    ed.push_back(rows);
    es.push_back(cols);
  }
  if (cols != 1) {
    ed.push_back(cols);
    es.push_back(1);
  }
  if (d != ed || s != es) return got + ", expected " + want;
  return "";
}

/// Whether a call runs with CUDNN_RNN_ALGO_PERSIST_STATIC_SMALL_H: asked for (TG_CUDNN_ALGO),
/// float, and every length the full sequence. When asked for but refused because of lengths,
/// *note says so (the caller prints it once).
inline bool choose_small_h(bool requested, bool is_float, bool variable_lengths, std::string* note) {
  if (!requested || !is_float) return false;
  if (variable_lengths) {
    if (note)
      *note = "cuDNN GRU: TG_CUDNN_ALGO=small_h does not support per-sequence lengths; batches with lengths "
              "shorter than the sequence use the standard algorithm";
    return false;
  }
  return true;
}

/// One backward per forward: claim() throws std::logic_error on the second call.
class OneBackward {
 public:
  void claim() {
    if (used_.exchange(true))
      throw std::logic_error(
          "cuDNN GRU: a second backward through one forward is not supported: cuDNN's backward overwrites the "
          "reserve space of its forward; run the forward again for each backward (or use TG_GRU_IMPL=ours)");
  }
  bool used() const { return used_.load(); }

 private:
  std::atomic<bool> used_{false};
};

}  // namespace tg::kernels::cuda::cudnn_checks
