// CPU kernels for multi-layer recurrent stacks (the cells of tg/rnn_spec.h).
//
// Layouts: x [B,T,input], y / gy [B,T,H] batch-major; h0, c0, hT, cT, gh0, gc0 [L,B,H].
// Weights: layers * rnn_weights_per_layer(cell) pointers, layer-major, in rnn_spec.h order.
// Per-sequence lengths follow TF dynamic_rnn: outputs at t >= len[b] are zero, the state is
// carried unchanged past len (hT/cT are the state after the last valid step; len 0 gives h0).
//
// The batch is split into slices run concurrently on the tg::kernels::cpu thread pool (one
// dispatch per call) when it is large enough (>= 32 rows per slice). The slicing chosen by the
// forward is recorded in its RnnReserve, so the backward is correct whatever the thread count.
// No heap allocation happens inside the time loops (scratch is thread_local, grown once).
// Several threads may call these functions concurrently (pool dispatches are serialised).
#pragma once

#include <cstdint>
#include <string>

#include "tg/rnn_spec.h"

namespace tg::kernels::cpu {

/// What the forward saves for the backward (training mode): the batch slicing it chose (the
/// backward re-uses it) and, at `data`, rnn_reserve_elems(s) saved values: per slice (rows
/// b0..b0+nb-1) and per layer, the layer output [T, nb, H] then the cell's saved slots
/// [T, nb, rnn_saved_width(cell, H)] (layouts: tg/kernels/cells.h).
template <typename T>
struct RnnReserve {
  T* data = nullptr;
  int slices = 0;  // set by rnn_forward
};

/// Elements of T the forward saves for backward (training mode), all layers:
/// layers*batch*seq*(hidden + rnn_saved_width). Throws std::invalid_argument for a bad shape.
int64_t rnn_reserve_elems(const RnnSpec& s);

/// Forward of the stack. lengths: B int32 in [0,T] or nullptr (= all T). h0, c0: [L,B,H] or
/// nullptr (= zeros; c0 only for LSTM cells). y [B,T,H] (required). hT, cT: optional [L,B,H].
/// reserve: its data holding rnn_reserve_elems(s) elements, or nullptr when not training.
/// Throws std::invalid_argument on bad shapes / null pointers / lengths out of range.
template <typename T>
void rnn_forward(const RnnSpec& s, const T* const* weights, const T* x, const int32_t* lengths,
                 const T* h0, const T* c0, T* y, T* hT, T* cT, RnnReserve<T>* reserve);

/// Backward of the stack. gy [B,T,H] gradient of y (values at t >= len are ignored).
/// gx [B,T,input] is written (=), may be nullptr. gweights: same layout as weights,
/// accumulated (+=); nullptr when the weights are frozen (their gradient GEMMs are skipped).
/// gh0 / gc0 [L,B,H] written, may be nullptr.
/// ghT / gcT (optional, [L,B,H]) are gradients of the final states hT / cT.
/// reserve: what rnn_forward saved with the same inputs.
template <typename T>
void rnn_backward(const RnnSpec& s, const T* const* weights, const T* x, const int32_t* lengths,
                  const T* h0, const T* c0, const RnnReserve<T>& reserve, const T* gy, T* gx,
                  T* const* gweights, T* gh0, T* gc0, const T* ghT = nullptr,
                  const T* gcT = nullptr);

/// The vectorised activations the kernels apply to whole rows: forms of tg::cells::sigmoid and
/// tg::cells::tanh_ (tg/kernels/cells.h), exposed so that tests check them against those
/// definitions. In place over n contiguous values.
template <typename T>
void vector_sigmoid(T* p, int n);
template <typename T>
void vector_tanh(T* p, int n);

/// The float small-GEMM micro-kernels the stacks run on (double always uses Eigen). Chosen at
/// run time: by default the best one CPUID allows (Avx2 on a CPU with AVX2 and FMA, whatever
/// instruction set the build targets; Eigen otherwise); the environment variable TG_CPU_GEMM
/// (auto, eigen, avx2) or set_gemm_kernel() picks one. Every kernel gives the same results up to
/// floating-point rounding (tests/test_rnn_kernels.cpp); bench_rnn --variant times each.
/// Avx512 is the slot for AVX-512 micro-kernels: none are written yet, so it is never available.
enum class GemmKernel { Eigen, Avx2, Avx512 };
const char* gemm_kernel_name(GemmKernel k);
/// Empty when `k` can run on this CPU and build, else why not (one line).
std::string gemm_kernel_unavailable_reason(GemmKernel k);
bool gemm_kernel_available(GemmKernel k);
/// The kernel in use (the first call reads TG_CPU_GEMM; a bad value throws std::runtime_error).
GemmKernel gemm_kernel();
/// Use `k` from now on (all threads). Throws std::invalid_argument when it is not available.
void set_gemm_kernel(GemmKernel k);
/// Back to the best available kernel (what TG_CPU_GEMM=auto gives).
void reset_gemm_kernel();

}  // namespace tg::kernels::cpu
