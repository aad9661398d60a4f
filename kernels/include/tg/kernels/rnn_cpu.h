// CPU kernels for multi-layer recurrent stacks (the cells of tg/rnn_spec.h).
//
// A call is (RnnSpec, RnnIo<T>): the buffers, their layouts and what a null pointer means are
// described once in tg/kernels/rnn_io.h, for the kernels of every backend.
// Per-sequence lengths follow TF dynamic_rnn: outputs at t >= len[b] are zero, the state is
// carried unchanged past len (hT/cT are the state after the last valid step; len 0 gives h0).
//
// The batch is split into slices run concurrently on the tg::kernels::cpu thread pool (one
// dispatch per call) when it is large enough (>= 32 rows per slice). The slicing chosen by the
// forward is returned with its reserve (RnnIo::slices), so the backward is correct whatever the thread count.
// No heap allocation happens inside the time loops (scratch is thread_local, grown once).
// Several threads may call these functions concurrently (pool dispatches are serialised).
#pragma once

#include <cstdint>
#include <string>

#include "tg/kernels/rnn_io.h"
#include "tg/rnn_spec.h"

namespace tg::kernels::cpu {

/// Elements of T the forward saves for backward (training mode), all layers:
/// layers*batch*seq*(hidden + rnn_saved_width). Throws std::invalid_argument for a bad shape.
/// Layout of the reserve: per slice (rows b0..b0+nb-1) and per layer, the layer output
/// [T, nb, H] then the cell's saved slots [T, nb, rnn_saved_width(cell, H)] (tg/kernels/cells.h).
int64_t rnn_reserve_elems(const RnnSpec& s);

/// Forward of the stack (buffers and what nullptr means: tg/kernels/rnn_io.h). Reads weights,
/// x, lengths, h0, c0; writes y, hT, cT and, when io.reserve is set (training), the
/// rnn_reserve_elems(s) elements there. Returns the batch slicing it chose, which the backward
/// of that reserve needs (RnnIo::slices). The gradient fields are ignored.
/// Throws std::invalid_argument on bad shapes / null pointers / lengths out of range.
template <typename T>
int rnn_forward(const RnnSpec& s, const RnnIo<T>& io);

/// Backward of the stack: the forward's inputs as given to rnn_forward, io.reserve and
/// io.slices as it wrote and returned them, gy (values at t >= len are ignored). Writes gx,
/// gh0, gc0; accumulates into gweights (nullptr: frozen weights, their GEMMs are skipped).
/// ghT / gcT: gradients of the final states, or nullptr. The forward outputs are ignored.
template <typename T>
void rnn_backward(const RnnSpec& s, const RnnIo<T>& io);

/// The vectorised activations the kernels apply to whole rows: forms of tg::cells::sigmoid and
/// tg::cells::tanh_ (tg/kernels/cells.h), exposed so that tests check them against those
/// definitions. In place over n contiguous values.
template <typename T>
void vector_sigmoid(T* p, int n);
template <typename T>
void vector_tanh(T* p, int n);

/// The float small-GEMM micro-kernels the stacks run on, with the gate activations of the same
/// vector width (double always uses Eigen). Chosen at run time: by default the best one CPUID
/// allows, whatever instruction set the build targets (Avx512 on a CPU with AVX512F, Avx2 on one
/// with AVX2 and FMA, Eigen otherwise); the
/// environment variable TG_CPU_GEMM (auto, eigen, avx2, avx512, avx512-layout) or
/// set_gemm_kernel() picks one. Avx512Layout runs the AVX-512 kernels' blocking on pairs of AVX2
/// registers, so that their code paths are tested on hosts without AVX-512 (not fast).
/// The micro-kernels (Avx2, Avx512, Avx512Layout) give bit-identical results; Eigen's products
/// agree with them up to floating-point rounding (tests/test_rnn_kernels.cpp); bench_rnn
/// --variant times each.
enum class GemmKernel { Eigen, Avx2, Avx512, Avx512Layout };
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
