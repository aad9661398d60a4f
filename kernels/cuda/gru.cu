/*
gru.cu: hand-written GRU stacks on the GPU, both cell forms of rnn_spec.h
(Cell::GruTf1 = TF1 GRUCell, reset before the matmul; Cell::GruResetAfter = cuDNN/PyTorch form).

Design (engine-anchors.md §A.1, §A.6, §C.1): at TimeGAN sizes (H 24, B 128, T 24) a GRU step
is ~1 MFLOP, so launches dominate. Per layer:
  forward   1. input projection of ALL T steps: one cuBLAS GEMM (two for GruTf1, whose x-weights
               live in two tensors) into P [B*T, 3H], then biases folded in;
            2. ONE persistent kernel with the time loop inside. The batch is split across blocks;
               each block owns R rows and a full copy of the recurrent weights in shared memory
               (rows padded to an odd stride: conflict-free both for row and column walks). Only
               __syncthreads() between the phases of a step; no grid barrier is needed because
               rows are independent. The hidden state of the block's rows stays in shared memory.
  backward  1. ONE reverse-time persistent kernel per layer computing the pre-activation gate
               gradients dG [B*T, .] and carrying dh in shared memory (recurrent weights in
               shared memory again);
            2. weight gradients as GEMMs over all B*T rows (dG^T X, dG^T Hprev), bias gradients as
               GEMVs with a ones vector, and dX = dG W as GEMMs (the dOut of the layer below).
Lengths follow TF dynamic_rnn (rnn_cpu.h): rows with t >= len[b] output 0, keep their state,
save zero gates and get zero gate gradients, so the all-rows GEMMs need no masking.

Reserve layout (backend-private, elements of T), per layer l (layer-major):
  out_l   [B, T, H]   layer output (batch-major rows b*T + t), zero past len
  gates_l [B, T, 4H]  GruTf1: r, u, c, r*h      GruResetAfter: r, z, n, W_hn h + b_hn
                      (the width is rnn_saved_width of the traits table, kGruSavedH below)
Total L*B*T*5H. The backward re-reads x, h0 and the weights from its arguments.

Shared memory per block (elements): weights 3H*(H+1) (+H bias) plus R*(4..5)H state/scratch;
H = 24 float: ~8 KB. Larger H raises the dynamic shared-memory limit up to the device opt-in
(sm_90: 227 KiB, hidden up to 138 in float and 97 in double; sm_80: 163 KiB, 116 / 82).

Step-wise path, for the stacks whose weights do not fit (chosen per call, run_stepwise below):
when even one row per block exceeds the device's opt-in (persistent_min_smem), each layer runs
  forward   per step t: the recurrent product of all B rows as one cuBLAS GEMM with the weights
            in global memory, then fused elementwise kernels over the B*H pairs (b, k).
            GruResetAfter: Q = h W_hh^T [B, 3H], one kernel for r, z, n and the new state
            (2 launches per step). GruTf1: Q = h W_gates[h rows] [B, 2H], a kernel for r, u and
            r*h, the candidate's GEMM (r*h) W_cand[h rows], a kernel for c and the new state (4).
  backward  per step t in reverse: a kernel for the gate gradients of step t and the direct part
            of dh_{t-1}, then the recurrent part added by a GEMM with beta = 1 (GruTf1: first
            d(r*h) = dc W_cand[h rows]^T as a GEMM and a kernel for d r_pre and the reset path).
            2 launches per step (GruTf1: 4).
It writes exactly the reserve (out_l, gates_l) and dG of the persistent kernels, with the same
masking past the lengths (output 0, state kept, zero gates, zero gate gradients), so the input
projection before it and the weight-gradient GEMMs after it are shared, and a forward of one
path may be followed by a backward of the other. Its state h / dh is a [B, H] buffer in global
memory. Cost: no change in FLOPs; per step the weights are read again from L2 / HBM (3H^2
elements: 768 KiB at H = 256 in float, L2-resident on sm_80 / sm_90) and 2-4 launches are paid,
so a layer costs 2T (GruTf1: 4T) launches each way instead of one kernel: at TimeGAN's T = 24,
48 (96) launches per layer forward and again backward, launch-bound (GruTf1 at ~3-5 us per
launch: ~0.3-0.5 ms per layer forward) until B*H is large enough for the GEMMs to dominate. Not yet
measured on a device: bench_gru_cuda times it (impl "stepwise", e.g. --hidden 256).
The first call that falls back prints one line on stderr; which paths ran is recorded
(gru_impls_run in tg/kernels/cuda_backend.h, "gru_impl" in summary.json).
TG_GRU_PATH=auto|persistent|stepwise (set_gru_path) forces a path at any size (tests).

Versions: CUDA 12/13, sm_80 / sm_90; float and double (no tensor cores: parity with the CPU).
*/
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <string>
#include <utility>

#include "common.cuh"
#include "tg/kernels/backend_common.h"
#include "tg/kernels/cells.h"
#include "tg/kernels/cuda_backend.h"

namespace tg::kernels::cuda {
namespace {

// Values saved per (row, step) in units of H, from the table of cell traits (rnn_spec.h): the
// stride of gates_l in the reserve. Both GRU forms save the same four slots, and the kernels
// below write exactly those four (zero_gates, the forward kernels).
constexpr int kGruSavedH = kCellTraits[static_cast<int>(Cell::GruTf1)].saved_h;
static_assert(kCellTraits[static_cast<int>(Cell::GruResetAfter)].saved_h == kGruSavedH &&
                  kCellTraits[static_cast<int>(Cell::GruTf1)].saved_extra == 0 &&
                  kCellTraits[static_cast<int>(Cell::GruResetAfter)].saved_extra == 0 && kGruSavedH == 4,
              "gru.cu saves four H-wide slots per (row, step) for both GRU forms");

__device__ __forceinline__ bool is_active(const int* len, int b, int t) { return len == nullptr || t < len[b]; }

// Saved gates of a step past the row's length: zeros, not whatever the reserve held. The
// backward's weight GEMMs run over all B*T rows and rely on 0 * saved = 0 there (GruTf1 reads
// the r*h slot as a GEMM operand); garbage could be NaN or Inf, and 0 * NaN is NaN.
template <typename T>
__device__ __forceinline__ void zero_gates(T* g, int H, int k) {
  g[k] = T(0);
  g[H + k] = T(0);
  g[2 * H + k] = T(0);
  g[3 * H + k] = T(0);
}

// P[r, j] += bias_j for the GRU input projection.
//   GruResetAfter: bias = b_ih + b_hh for r, z (j < 2H), b_ih for n.
//   GruTf1:        bias = b_gates (j < 2H), b_cand (j >= 2H).
template <typename T>
__global__ void gru_bias_kernel(T* P, int64_t rows, int H, const T* b1, const T* b2, bool ra) {
  const int G = 3 * H;
  GRID_STRIDE(i, rows * G) {
    const int j = static_cast<int>(i % G);
    T add;
    if (ra)
      add = j < 2 * H ? b1[j] + b2[j] : b1[j];
    else
      add = j < 2 * H ? b1[j] : b2[j - 2 * H];
    P[i] += add;
  }
}

// ---------------------------------------------------------------------------------------------
// Forward, GruResetAfter. smem: W_hh [3H][H+1], b_hn [H], h [R][H], q [R][3H]
// ---------------------------------------------------------------------------------------------
template <typename T>
__global__ void gru_ra_forward_kernel(const T* __restrict__ P, const T* __restrict__ Whh, const T* __restrict__ bhh,
                                      const T* __restrict__ h0, const int* __restrict__ len, T* __restrict__ out,
                                      T* __restrict__ gates, T* __restrict__ hT, int B, int Tn, int H, int R) {
  T* W = gpu::dynamic_smem<T>();
  const int ldw = H + 1, G = 3 * H;
  T* bhn = W + G * ldw;
  T* h = bhn + H;
  T* q = h + R * H;
  const int tid = threadIdx.x, nt = blockDim.x;
  const int b0 = blockIdx.x * R;
  const int nb = min(R, B - b0);
  for (int i = tid; i < G * H; i += nt) W[(i / H) * ldw + i % H] = Whh[i];
  for (int k = tid; k < H; k += nt) bhn[k] = bhh[2 * H + k];
  for (int i = tid; i < nb * H; i += nt) h[i] = h0 ? h0[static_cast<int64_t>(b0) * H + i] : T(0);
  __syncthreads();
  for (int t = 0; t < Tn; ++t) {
    for (int idx = tid; idx < nb * G; idx += nt) {
      const int i = idx / G, j = idx % G;
      if (!is_active(len, b0 + i, t)) continue;
      const T* hi = h + i * H;
      const T* wj = W + j * ldw;
      T acc = T(0);
      for (int k = 0; k < H; ++k) acc += hi[k] * wj[k];
      q[idx] = acc;
    }
    __syncthreads();
    for (int idx = tid; idx < nb * H; idx += nt) {
      const int i = idx / H, k = idx % H;
      const int64_t rr = static_cast<int64_t>(b0 + i) * Tn + t;
      if (!is_active(len, b0 + i, t)) {
        out[rr * H + k] = T(0);
        if (gates) zero_gates(gates + rr * kGruSavedH * H, H, k);
        continue;
      }
      const T* p = P + rr * G;
      const T* qi = q + i * G;
      using Cell = cells::GruResetAfter;
      const T r = Cell::gate(p[k], qi[k]);
      const T z = Cell::gate(p[H + k], qi[H + k]);
      const T hn = qi[2 * H + k] + bhn[k];
      const T nn = Cell::cand(Cell::cand_pre(p[2 * H + k], r, hn));
      const T hnew = Cell::next_h(z, nn, h[idx]);
      h[idx] = hnew;
      out[rr * H + k] = hnew;
      if (gates) {
        T* g = gates + rr * kGruSavedH * H;
        g[k] = r;
        g[H + k] = z;
        g[2 * H + k] = nn;
        g[3 * H + k] = hn;
      }
    }
    __syncthreads();
  }
  if (hT)
    for (int i = tid; i < nb * H; i += nt) hT[static_cast<int64_t>(b0) * H + i] = h[i];
}

// ---------------------------------------------------------------------------------------------
// Forward, GruTf1. smem: Wg [H][2H+1] (h rows of W_gates), Wc [H][H+1] (h rows of W_cand),
// h [R][H], s [R][2H] (r, u), rh [R][H]
// ---------------------------------------------------------------------------------------------
template <typename T>
__global__ void gru_tf1_forward_kernel(const T* __restrict__ P, const T* __restrict__ Wgh, const T* __restrict__ Wch,
                                       const T* __restrict__ h0, const int* __restrict__ len, T* __restrict__ out,
                                       T* __restrict__ gates, T* __restrict__ hT, int B, int Tn, int H, int R) {
  const int ldg = 2 * H + 1, ldc = H + 1, G = 3 * H;
  T* Wg = gpu::dynamic_smem<T>();
  T* Wc = Wg + H * ldg;
  T* h = Wc + H * ldc;
  T* s = h + R * H;
  T* rh = s + R * 2 * H;
  const int tid = threadIdx.x, nt = blockDim.x;
  const int b0 = blockIdx.x * R;
  const int nb = min(R, B - b0);
  for (int i = tid; i < H * 2 * H; i += nt) Wg[(i / (2 * H)) * ldg + i % (2 * H)] = Wgh[i];
  for (int i = tid; i < H * H; i += nt) Wc[(i / H) * ldc + i % H] = Wch[i];
  for (int i = tid; i < nb * H; i += nt) h[i] = h0 ? h0[static_cast<int64_t>(b0) * H + i] : T(0);
  __syncthreads();
  for (int t = 0; t < Tn; ++t) {
    for (int idx = tid; idx < nb * 2 * H; idx += nt) {
      const int i = idx / (2 * H), j = idx % (2 * H);
      if (!is_active(len, b0 + i, t)) continue;
      const int64_t rr = static_cast<int64_t>(b0 + i) * Tn + t;
      const T* hi = h + i * H;
      T acc = T(0);
      for (int k = 0; k < H; ++k) acc += hi[k] * Wg[k * ldg + j];
      const T v = cells::GruTf1::gate(acc + P[rr * G + j]);
      s[idx] = v;
      if (j < H) rh[i * H + j] = cells::GruTf1::reset_h(v, hi[j]);
    }
    __syncthreads();
    for (int idx = tid; idx < nb * H; idx += nt) {
      const int i = idx / H, k = idx % H;
      const int64_t rr = static_cast<int64_t>(b0 + i) * Tn + t;
      if (!is_active(len, b0 + i, t)) {
        out[rr * H + k] = T(0);
        if (gates) zero_gates(gates + rr * kGruSavedH * H, H, k);
        continue;
      }
      const T* rhi = rh + i * H;
      T acc = T(0);
      for (int m = 0; m < H; ++m) acc += rhi[m] * Wc[m * ldc + k];
      const T c = cells::GruTf1::cand(acc + P[rr * G + 2 * H + k]);
      const T u = s[i * 2 * H + H + k];
      const T hnew = cells::GruTf1::next_h(u, h[idx], c);
      h[idx] = hnew;
      out[rr * H + k] = hnew;
      if (gates) {
        T* g = gates + rr * kGruSavedH * H;
        g[k] = s[i * 2 * H + k];
        g[H + k] = u;
        g[2 * H + k] = c;
        g[3 * H + k] = rhi[k];
      }
    }
    __syncthreads();
  }
  if (hT)
    for (int i = tid; i < nb * H; i += nt) hT[static_cast<int64_t>(b0) * H + i] = h[i];
}

// ---------------------------------------------------------------------------------------------
// Backward, GruResetAfter. dG row layout [4H]: d r_pre, d z_pre, d(W_hn h + b_hn) = dn_pre*r,
// dn_pre (the x side of n). smem: W_hh [3H][H+1], dh [R][H], dh2 [R][H], s [R][3H]
// ---------------------------------------------------------------------------------------------
template <typename T>
__global__ void gru_ra_backward_kernel(const T* __restrict__ Whh, const T* __restrict__ gates,
                                       const T* __restrict__ out, const T* __restrict__ h0,
                                       const int* __restrict__ len, const T* __restrict__ dOut,
                                       T* __restrict__ dG, T* __restrict__ gh0, int B, int Tn, int H, int R) {
  const int ldw = H + 1, G = 3 * H;
  T* W = gpu::dynamic_smem<T>();
  T* dh = W + G * ldw;
  T* dh2 = dh + R * H;
  T* s = dh2 + R * H;
  const int tid = threadIdx.x, nt = blockDim.x;
  const int b0 = blockIdx.x * R;
  const int nb = min(R, B - b0);
  for (int i = tid; i < G * H; i += nt) W[(i / H) * ldw + i % H] = Whh[i];
  for (int i = tid; i < nb * H; i += nt) dh[i] = T(0);
  __syncthreads();
  for (int t = Tn - 1; t >= 0; --t) {
    for (int idx = tid; idx < nb * H; idx += nt) {
      const int i = idx / H, k = idx % H;
      const int b = b0 + i;
      const int64_t rr = static_cast<int64_t>(b) * Tn + t;
      T* d = dG + rr * 4 * H;
      if (!is_active(len, b, t)) {
        d[k] = T(0);
        d[H + k] = T(0);
        d[2 * H + k] = T(0);
        d[3 * H + k] = T(0);
        continue;
      }
      const T* g = gates + rr * kGruSavedH * H;
      const T r = g[k], z = g[H + k], nn = g[2 * H + k], hn = g[3 * H + k];
      const T hp = t > 0 ? out[(rr - 1) * H + k] : (h0 ? h0[static_cast<int64_t>(b) * H + k] : T(0));
      T d0, d1, d2, dnp;
      cells::GruResetAfter::backward(dh[idx] + dOut[rr * H + k], r, z, nn, hn, hp, dh2[idx], d0, d1, d2,
                                     dnp);
      d[k] = d0;
      d[H + k] = d1;
      d[2 * H + k] = d2;
      d[3 * H + k] = dnp;
      T* si = s + i * G;
      si[k] = d0;
      si[H + k] = d1;
      si[2 * H + k] = d2;
    }
    __syncthreads();
    for (int idx = tid; idx < nb * H; idx += nt) {
      const int i = idx / H, k = idx % H;
      if (!is_active(len, b0 + i, t)) continue;
      const T* si = s + i * G;
      T acc = T(0);
      for (int j = 0; j < G; ++j) acc += si[j] * W[j * ldw + k];
      dh[idx] = dh2[idx] + acc;
    }
    __syncthreads();
  }
  if (gh0)
    for (int i = tid; i < nb * H; i += nt) gh0[static_cast<int64_t>(b0) * H + i] = dh[i];
}

// ---------------------------------------------------------------------------------------------
// Backward, GruTf1. dG row layout [3H]: d r_pre, d u_pre, d c_pre.
// smem: Wg [H][2H+1], Wc [H][H+1], dh [R][H], dh2 [R][H], s [R][3H]
// ---------------------------------------------------------------------------------------------
template <typename T>
__global__ void gru_tf1_backward_kernel(const T* __restrict__ Wgh, const T* __restrict__ Wch,
                                        const T* __restrict__ gates, const T* __restrict__ out,
                                        const T* __restrict__ h0, const int* __restrict__ len,
                                        const T* __restrict__ dOut, T* __restrict__ dG, T* __restrict__ gh0, int B,
                                        int Tn, int H, int R) {
  const int ldg = 2 * H + 1, ldc = H + 1, G = 3 * H;
  T* Wg = gpu::dynamic_smem<T>();
  T* Wc = Wg + H * ldg;
  T* dh = Wc + H * ldc;
  T* dh2 = dh + R * H;
  T* s = dh2 + R * H;
  const int tid = threadIdx.x, nt = blockDim.x;
  const int b0 = blockIdx.x * R;
  const int nb = min(R, B - b0);
  for (int i = tid; i < H * 2 * H; i += nt) Wg[(i / (2 * H)) * ldg + i % (2 * H)] = Wgh[i];
  for (int i = tid; i < H * H; i += nt) Wc[(i / H) * ldc + i % H] = Wch[i];
  for (int i = tid; i < nb * H; i += nt) dh[i] = T(0);
  __syncthreads();
  for (int t = Tn - 1; t >= 0; --t) {
    for (int idx = tid; idx < nb * H; idx += nt) {
      const int i = idx / H, k = idx % H;
      const int b = b0 + i;
      const int64_t rr = static_cast<int64_t>(b) * Tn + t;
      T* d = dG + rr * G;
      if (!is_active(len, b, t)) {
        d[k] = T(0);
        d[H + k] = T(0);
        d[2 * H + k] = T(0);
        continue;
      }
      const T* g = gates + rr * kGruSavedH * H;
      const T u = g[H + k], c = g[2 * H + k];
      const T hp = t > 0 ? out[(rr - 1) * H + k] : (h0 ? h0[static_cast<int64_t>(b) * H + k] : T(0));
      T dgu, dgc;
      cells::GruTf1::backward(dh[idx] + dOut[rr * H + k], u, c, hp, dh2[idx], dgu, dgc);
      d[H + k] = dgu;
      d[2 * H + k] = dgc;
      s[i * G + H + k] = dgu;
      s[i * G + 2 * H + k] = dgc;
    }
    __syncthreads();
    for (int idx = tid; idx < nb * H; idx += nt) {
      const int i = idx / H, k = idx % H;
      const int b = b0 + i;
      if (!is_active(len, b, t)) continue;
      const int64_t rr = static_cast<int64_t>(b) * Tn + t;
      const T* dgc = s + i * G + 2 * H;
      const T* wk = Wc + k * ldc;
      T drh = T(0);
      for (int m = 0; m < H; ++m) drh += dgc[m] * wk[m];
      const T r = gates[rr * kGruSavedH * H + k];
      const T hp = t > 0 ? out[(rr - 1) * H + k] : (h0 ? h0[static_cast<int64_t>(b) * H + k] : T(0));
      T add, dr;
      cells::GruTf1::backward_reset(drh, r, hp, add, dr);
      dh2[idx] += add;
      dG[rr * G + k] = dr;
      s[i * G + k] = dr;
    }
    __syncthreads();
    for (int idx = tid; idx < nb * H; idx += nt) {
      const int i = idx / H, k = idx % H;
      if (!is_active(len, b0 + i, t)) continue;
      const T* si = s + i * G;
      const T* wk = Wg + k * ldg;
      T acc = T(0);
      for (int j = 0; j < 2 * H; ++j) acc += si[j] * wk[j];
      dh[idx] = dh2[idx] + acc;
    }
    __syncthreads();
  }
  if (gh0)
    for (int i = tid; i < nb * H; i += nt) gh0[static_cast<int64_t>(b0) * H + i] = dh[i];
}

// ---------------------------------------------------------------------------------------------
// Step-wise path (recurrent weights too large for one block's shared memory): per time step
// the recurrent products are cuBLAS GEMMs over the rows of all B sequences (h [B, H] times the
// weights in global memory), and fused elementwise kernels apply the gates. Each kernel covers
// the B*H pairs (b, k) of one step t with a grid-stride loop. S points at the saved gates of
// step t (gates + t*4H, row stride lds = T*4H; a [B, 4H] scratch with lds = 4H when nothing is
// saved); D at the gate gradients of step t (dG + t*S, row stride ldd = T*S). The state h (dh
// in the backward) lives in its own [B, H] buffer: rows past their length keep it unchanged.
// ---------------------------------------------------------------------------------------------
template <typename T>
__device__ __forceinline__ T prev_h(const T* out, const T* h0, int64_t rr, int64_t b, int t, int H, int k) {
  return t > 0 ? out[(rr - 1) * H + k] : (h0 ? h0[b * H + k] : T(0));
}

// GruTf1 forward, step t, phase 1. Q = h W_gates[h rows] [B, 2H]. Saves r, u and r*h (the
// operand of the candidate's product); rows past their length: zero gates and output.
template <typename T>
__global__ void gru_tf1_step_gates_kernel(const T* __restrict__ P, const T* __restrict__ Q, const T* __restrict__ h,
                                          const int* __restrict__ len, T* __restrict__ S, int64_t lds,
                                          T* __restrict__ out, int B, int Tn, int H, int t) {
  const int64_t n = static_cast<int64_t>(B) * H;
  GRID_STRIDE(i, n) {
    const int b = static_cast<int>(i / H), k = static_cast<int>(i % H);
    const int64_t rr = static_cast<int64_t>(b) * Tn + t;
    T* s = S + b * lds;
    if (!is_active(len, b, t)) {
      out[rr * H + k] = T(0);
      zero_gates(s, H, k);
      continue;
    }
    const T* p = P + rr * 3 * H;
    const T* q = Q + static_cast<int64_t>(b) * 2 * H;
    const T r = cells::GruTf1::gate(q[k] + p[k]);
    s[k] = r;
    s[H + k] = cells::GruTf1::gate(q[H + k] + p[H + k]);
    s[3 * H + k] = cells::GruTf1::reset_h(r, h[i]);
  }
}

// GruTf1 forward, step t, phase 2. C = (r*h) W_cand[h rows] [B, H]: candidate, new state.
template <typename T>
__global__ void gru_tf1_step_out_kernel(const T* __restrict__ P, const T* __restrict__ C, const int* __restrict__ len,
                                        T* __restrict__ S, int64_t lds, T* __restrict__ h, T* __restrict__ out, int B,
                                        int Tn, int H, int t) {
  const int64_t n = static_cast<int64_t>(B) * H;
  GRID_STRIDE(i, n) {
    const int b = static_cast<int>(i / H), k = static_cast<int>(i % H);
    if (!is_active(len, b, t)) continue;
    const int64_t rr = static_cast<int64_t>(b) * Tn + t;
    T* s = S + b * lds;
    const T c = cells::GruTf1::cand(C[i] + P[rr * 3 * H + 2 * H + k]);
    const T hnew = cells::GruTf1::next_h(s[H + k], h[i], c);
    s[2 * H + k] = c;
    h[i] = hnew;
    out[rr * H + k] = hnew;
  }
}

// GruResetAfter forward, step t. Q = h W_hh^T [B, 3H].
template <typename T>
__global__ void gru_ra_step_kernel(const T* __restrict__ P, const T* __restrict__ Q, const T* __restrict__ bhh,
                                   const int* __restrict__ len, T* __restrict__ S, int64_t lds, T* __restrict__ h,
                                   T* __restrict__ out, int B, int Tn, int H, int t) {
  const int64_t n = static_cast<int64_t>(B) * H;
  GRID_STRIDE(i, n) {
    const int b = static_cast<int>(i / H), k = static_cast<int>(i % H);
    const int64_t rr = static_cast<int64_t>(b) * Tn + t;
    T* s = S + b * lds;
    if (!is_active(len, b, t)) {
      out[rr * H + k] = T(0);
      zero_gates(s, H, k);
      continue;
    }
    const T* p = P + rr * 3 * H;
    const T* q = Q + static_cast<int64_t>(b) * 3 * H;
    using Cell = cells::GruResetAfter;
    const T r = Cell::gate(p[k], q[k]);
    const T z = Cell::gate(p[H + k], q[H + k]);
    const T hn = q[2 * H + k] + bhh[2 * H + k];
    const T nn = Cell::cand(Cell::cand_pre(p[2 * H + k], r, hn));
    const T hnew = Cell::next_h(z, nn, h[i]);
    h[i] = hnew;
    out[rr * H + k] = hnew;
    s[k] = r;
    s[H + k] = z;
    s[2 * H + k] = nn;
    s[3 * H + k] = hn;
  }
}

// GruTf1 backward, step t, phase 1: d u_pre, d c_pre; dh2 = the direct part u*dh (dh itself past
// the row's length, where the gate gradients are zero).
template <typename T>
__global__ void gru_tf1_step_back1_kernel(const T* __restrict__ S, int64_t lds, const T* __restrict__ out,
                                          const T* __restrict__ h0, const int* __restrict__ len,
                                          const T* __restrict__ dOut, T* __restrict__ D, int64_t ldd,
                                          const T* __restrict__ dh, T* __restrict__ dh2, int B, int Tn, int H, int t) {
  const int64_t n = static_cast<int64_t>(B) * H;
  GRID_STRIDE(i, n) {
    const int b = static_cast<int>(i / H), k = static_cast<int>(i % H);
    const int64_t rr = static_cast<int64_t>(b) * Tn + t;
    T* d = D + b * ldd;
    if (!is_active(len, b, t)) {
      d[k] = T(0);
      d[H + k] = T(0);
      d[2 * H + k] = T(0);
      dh2[i] = dh[i];
      continue;
    }
    const T* s = S + b * lds;
    T dgu, dgc;
    cells::GruTf1::backward(dh[i] + dOut[rr * H + k], s[H + k], s[2 * H + k], prev_h(out, h0, rr, b, t, H, k),
                            dh2[i], dgu, dgc);
    d[H + k] = dgu;
    d[2 * H + k] = dgc;
  }
}

// GruTf1 backward, step t, phase 2. DRH = d c_pre W_cand[h rows]^T [B, H] = d(r*h): d r_pre and
// the reset path's share of dh2.
template <typename T>
__global__ void gru_tf1_step_back2_kernel(const T* __restrict__ S, int64_t lds, const T* __restrict__ out,
                                          const T* __restrict__ h0, const int* __restrict__ len,
                                          const T* __restrict__ DRH, T* __restrict__ D, int64_t ldd,
                                          T* __restrict__ dh2, int B, int Tn, int H, int t) {
  const int64_t n = static_cast<int64_t>(B) * H;
  GRID_STRIDE(i, n) {
    const int b = static_cast<int>(i / H), k = static_cast<int>(i % H);
    if (!is_active(len, b, t)) continue;
    const int64_t rr = static_cast<int64_t>(b) * Tn + t;
    T add, dr;
    cells::GruTf1::backward_reset(DRH[i], S[b * lds + k], prev_h(out, h0, rr, b, t, H, k), add, dr);
    dh2[i] += add;
    D[b * ldd + k] = dr;
  }
}

// GruResetAfter backward, step t: the four gate gradients; dh2 = z*dh (dh past the length).
template <typename T>
__global__ void gru_ra_step_back_kernel(const T* __restrict__ S, int64_t lds, const T* __restrict__ out,
                                        const T* __restrict__ h0, const int* __restrict__ len,
                                        const T* __restrict__ dOut, T* __restrict__ D, int64_t ldd,
                                        const T* __restrict__ dh, T* __restrict__ dh2, int B, int Tn, int H, int t) {
  const int64_t n = static_cast<int64_t>(B) * H;
  GRID_STRIDE(i, n) {
    const int b = static_cast<int>(i / H), k = static_cast<int>(i % H);
    const int64_t rr = static_cast<int64_t>(b) * Tn + t;
    T* d = D + b * ldd;
    if (!is_active(len, b, t)) {
      d[k] = T(0);
      d[H + k] = T(0);
      d[2 * H + k] = T(0);
      d[3 * H + k] = T(0);
      dh2[i] = dh[i];
      continue;
    }
    const T* s = S + b * lds;
    T d0, d1, d2, dnp;
    cells::GruResetAfter::backward(dh[i] + dOut[rr * H + k], s[k], s[H + k], s[2 * H + k], s[3 * H + k],
                                   prev_h(out, h0, rr, b, t, H, k), dh2[i], d0, d1, d2, dnp);
    d[k] = d0;
    d[H + k] = d1;
    d[2 * H + k] = d2;
    d[3 * H + k] = dnp;
  }
}

// ---------------------------------------------------------------------------------------------
// Launch geometry
// ---------------------------------------------------------------------------------------------
struct Geometry {
  int R, blocks, threads;
  size_t smem;
};

// Shared-memory elements: weights + per-row arrays (`per_row` elements per row).
Geometry geometry(int B, int H, size_t weight_elems, int per_row, int work_per_row, size_t esize,
                  const char* what) {
  Ctx& cx = ctx();
  int R = gru_rows_per_block();
  if (R <= 0) R = std::max(1, (B + cx.num_sms - 1) / cx.num_sms);
  R = std::min(R, B);
  auto smem_of = [&](int r) { return (weight_elems + static_cast<size_t>(r) * per_row) * esize; };
  while (R > 1 && smem_of(R) > cx.max_smem_optin) R = (R + 1) / 2;
  if (smem_of(R) > cx.max_smem_optin)
    throw std::runtime_error(std::string("CUDA GRU (") + what + "): hidden size " + std::to_string(H) +
                             " needs " + std::to_string(smem_of(R)) + " bytes of shared memory, the device allows " +
                             std::to_string(cx.max_smem_optin) +
                             " for the persistent kernel, which TG_GRU_PATH=persistent (set_gru_path) forces; "
                             "TG_GRU_PATH=auto (the default) or stepwise runs the step-wise GRU at any size");
  Geometry g;
  g.R = R;
  g.blocks = (B + R - 1) / R;
  const int work = R * work_per_row;
  g.threads = std::min(256, std::max(32, (work + 31) / 32 * 32));
  g.smem = smem_of(R);
  return g;
}

template <typename K>
void allow_smem(K kernel, size_t smem) {
  if (smem > 48 * 1024) TG_CUDA_CHECK(gpu::allow_dynamic_smem(kernel, smem));
}

// ---------------------------------------------------------------------------------------------
// Which path runs a stack: the persistent kernels when one row's worth of shared memory (the
// recurrent weights plus the largest per-row arrays, those of the backward) fits the device's
// opt-in, else the step-wise path; TG_GRU_PATH / set_gru_path can force either.
// ---------------------------------------------------------------------------------------------
// Elements of the recurrent weights in the forward kernels' shared memory (padded rows; the
// reset-after form adds b_hn); the backward of the reset-after form keeps no bias.
size_t recurrent_weight_elems(bool ra, int H) {
  const size_t h = static_cast<size_t>(H);
  return ra ? 3 * h * (h + 1) + h : h * (2 * h + 1) + h * (h + 1);
}
constexpr int kMaxPerRowH = 5;  // the backward kernels' per-row arrays: 5H elements (forward: 4H)

// Bytes of shared memory the persistent kernels need with one row per block (the least they
// can run with), the larger of forward and backward.
size_t persistent_min_smem(bool ra, int H, size_t esize) {
  const size_t h = static_cast<size_t>(H);
  const size_t fwd = recurrent_weight_elems(ra, H) + 4 * h;
  const size_t bwd = (ra ? 3 * h * (h + 1) : recurrent_weight_elems(false, H)) + kMaxPerRowH * h;
  return std::max(fwd, bwd) * esize;
}

bool run_stepwise(const RnnSpec& c, size_t esize) {
  const GruPath want = gru_path();
  if (want != GruPath::Auto) return want == GruPath::Stepwise;
  const bool ra = c.cell == Cell::GruResetAfter;
  const size_t need = persistent_min_smem(ra, c.hidden, esize);
  const size_t allow = ctx().max_smem_optin;
  if (need <= allow) return false;
  static std::atomic<bool> told{false};
  if (!told.exchange(true))
    std::fprintf(stderr,
                 "CUDA GRU: hidden %d (%s) needs %zu bytes of shared memory per block, the device allows %zu: "
                 "running the step-wise GRU (cuBLAS per step)\n",
                 c.hidden, esize == sizeof(float) ? "float" : "double", need, allow);
  return true;
}

template <typename T>
void stepwise_forward(bool ra, const T* P, const T* wa, const T* wb, const T* bhh, const T* h0, const int* len,
                      T* out, T* gates, T* hT, int B, int Tn, int H) {
  Ctx& cx = ctx();
  const int64_t BH = static_cast<int64_t>(B) * H;
  Scratch h(static_cast<size_t>(BH) * sizeof(T)), Q(static_cast<size_t>(BH) * 3 * sizeof(T));
  Scratch C(ra ? 0 : static_cast<size_t>(BH) * sizeof(T));
  Scratch own(gates ? 0 : static_cast<size_t>(BH) * kGruSavedH * sizeof(T));  // gates of one step
  const int64_t lds = gates ? static_cast<int64_t>(Tn) * kGruSavedH * H : static_cast<int64_t>(kGruSavedH) * H;
  if (h0)
    TG_CUDA_CHECK(gpu::memcpy_async(h.get(), h0, static_cast<size_t>(BH) * sizeof(T), gpu::Copy::DeviceToDevice,
                                    cx.stream));
  else
    TG_CUDA_CHECK(gpu::memset_async(h.get(), 0, static_cast<size_t>(BH) * sizeof(T), cx.stream));
  for (int t = 0; t < Tn; ++t) {
    T* S = gates ? gates + static_cast<int64_t>(t) * kGruSavedH * H : own.as<T>();
    if (ra) {
      gemm_rm<T>(false, true, B, 3 * H, H, T(1), h.as<T>(), H, wa, H, T(0), Q.as<T>(), 3 * H);
      gpu::launch(gru_ra_step_kernel<T>, grid_for(BH), kThreads, 0, cx.stream, P, Q.as<T>(), bhh, len, S, lds,
                  h.as<T>(), out, B, Tn, H, t);
      TG_KERNEL_CHECK("gru_ra_step_kernel");
    } else {
      gemm_rm<T>(false, false, B, 2 * H, H, T(1), h.as<T>(), H, wa, 2 * H, T(0), Q.as<T>(), 2 * H);
      gpu::launch(gru_tf1_step_gates_kernel<T>, grid_for(BH), kThreads, 0, cx.stream, P, Q.as<T>(), h.as<T>(), len,
                  S, lds, out, B, Tn, H, t);
      TG_KERNEL_CHECK("gru_tf1_step_gates_kernel");
      gemm_rm<T>(false, false, B, H, H, T(1), S + 3 * H, lds, wb, H, T(0), C.as<T>(), H);
      gpu::launch(gru_tf1_step_out_kernel<T>, grid_for(BH), kThreads, 0, cx.stream, P, C.as<T>(), len, S, lds,
                  h.as<T>(), out, B, Tn, H, t);
      TG_KERNEL_CHECK("gru_tf1_step_out_kernel");
    }
  }
  if (hT)
    TG_CUDA_CHECK(gpu::memcpy_async(hT, h.get(), static_cast<size_t>(BH) * sizeof(T), gpu::Copy::DeviceToDevice,
                                    cx.stream));
}

template <typename T>
void stepwise_backward(bool ra, const T* wa, const T* wb, const T* gates, const T* out, const T* h0, const int* len,
                       const T* dOut, T* dG, T* gh0, int B, int Tn, int H) {
  Ctx& cx = ctx();
  const int64_t BH = static_cast<int64_t>(B) * H;
  const int Sd = ra ? 4 * H : 3 * H;
  const int64_t lds = static_cast<int64_t>(Tn) * kGruSavedH * H, ldd = static_cast<int64_t>(Tn) * Sd;
  Scratch s1(static_cast<size_t>(BH) * sizeof(T)), s2(static_cast<size_t>(BH) * sizeof(T));
  Scratch drh(ra ? 0 : static_cast<size_t>(BH) * sizeof(T));
  T* dh = s1.as<T>();
  T* dh2 = s2.as<T>();
  TG_CUDA_CHECK(gpu::memset_async(dh, 0, static_cast<size_t>(BH) * sizeof(T), cx.stream));
  for (int t = Tn - 1; t >= 0; --t) {
    const T* S = gates + static_cast<int64_t>(t) * kGruSavedH * H;
    T* D = dG + static_cast<int64_t>(t) * Sd;
    if (ra) {
      gpu::launch(gru_ra_step_back_kernel<T>, grid_for(BH), kThreads, 0, cx.stream, S, lds, out, h0, len, dOut, D, ldd,
                  static_cast<const T*>(dh), dh2, B, Tn, H, t);
      TG_KERNEL_CHECK("gru_ra_step_back_kernel");
      gemm_rm<T>(false, false, B, H, 3 * H, T(1), D, ldd, wa, H, T(1), dh2, H);
    } else {
      gpu::launch(gru_tf1_step_back1_kernel<T>, grid_for(BH), kThreads, 0, cx.stream, S, lds, out, h0, len, dOut, D,
                  ldd, static_cast<const T*>(dh), dh2, B, Tn, H, t);
      TG_KERNEL_CHECK("gru_tf1_step_back1_kernel");
      gemm_rm<T>(false, true, B, H, H, T(1), D + 2 * H, ldd, wb, H, T(0), drh.as<T>(), H);
      gpu::launch(gru_tf1_step_back2_kernel<T>, grid_for(BH), kThreads, 0, cx.stream, S, lds, out, h0, len,
                  static_cast<const T*>(drh.as<T>()), D, ldd, dh2, B, Tn, H, t);
      TG_KERNEL_CHECK("gru_tf1_step_back2_kernel");
      gemm_rm<T>(false, true, B, H, 2 * H, T(1), D, ldd, wa, 2 * H, T(1), dh2, H);
    }
    std::swap(dh, dh2);
  }
  if (gh0)
    TG_CUDA_CHECK(gpu::memcpy_async(gh0, dh, static_cast<size_t>(BH) * sizeof(T), gpu::Copy::DeviceToDevice,
                                    cx.stream));
}

template <typename T>
void forward_impl(const RnnSpec& c, const RnnIo<void>& a) {
  const int L = c.layers, B = c.batch, Tn = c.seq, H = c.hidden, G = 3 * H;
  const int64_t BT = static_cast<int64_t>(B) * Tn;
  const bool ra = c.cell == Cell::GruResetAfter;
  const bool stepwise = run_stepwise(c, sizeof(T));
  record_gru_impl(stepwise ? GruRan::Stepwise : GruRan::Persistent);
  Ctx& cx = ctx();
  bool any_len = false;
  Scratch dlen = upload_lengths(a.lengths, B, Tn, &any_len);
  const int* len = any_len ? dlen.as<int>() : nullptr;
  Scratch P(static_cast<size_t>(BT) * G * sizeof(T));
  Scratch tmp;  // layer outputs when not training
  T* res = static_cast<T*>(a.reserve);
  T* outs;
  if (res) {
    outs = res;
  } else {
    tmp = Scratch(static_cast<size_t>(std::min(L, 2)) * BT * H * sizeof(T));
    outs = tmp.as<T>();
  }
  const int64_t layer_stride = res ? BT * (1 + kGruSavedH) * H : BT * H;
  for (int l = 0; l < L; ++l) {
    const int in = l == 0 ? c.input : H;
    const T* X = l == 0 ? static_cast<const T*>(a.x) : outs + (res ? (l - 1) : ((l - 1) % 2)) * layer_stride;
    T* out = outs + (res ? l : (l % 2)) * layer_stride;
    T* gates = res ? out + BT * H : nullptr;
    const T* w0 = static_cast<const T*>(a.weights[static_cast<size_t>(l * 4 + 0)]);
    const T* w1 = static_cast<const T*>(a.weights[static_cast<size_t>(l * 4 + 1)]);
    const T* w2 = static_cast<const T*>(a.weights[static_cast<size_t>(l * 4 + 2)]);
    const T* w3 = static_cast<const T*>(a.weights[static_cast<size_t>(l * 4 + 3)]);
    const T* h0 = a.h0 ? static_cast<const T*>(a.h0) + static_cast<int64_t>(l) * B * H : nullptr;
    T* hT = a.hT ? static_cast<T*>(a.hT) + static_cast<int64_t>(l) * B * H : nullptr;
    if (ra) {
      // P = X W_ih^T (+ b_ih + b_hh for r, z; + b_ih for n)
      gemm_rm<T>(false, true, BT, G, in, T(1), X, in, w0, in, T(0), P.as<T>(), G);
      gpu::launch(gru_bias_kernel<T>, grid_for(BT * G), kThreads, 0, cx.stream, P.as<T>(), BT, H, w2, w3, true);
      TG_KERNEL_CHECK("gru_bias_kernel");
      if (stepwise) {
        stepwise_forward<T>(true, P.as<T>(), w1, nullptr, w3, h0, len, out, gates, hT, B, Tn, H);
        continue;
      }
      const Geometry g = geometry(B, H, recurrent_weight_elems(true, H), 4 * H, G, sizeof(T), "forward");
      allow_smem(gru_ra_forward_kernel<T>, g.smem);
      gpu::launch(gru_ra_forward_kernel<T>, g.blocks, g.threads, g.smem, cx.stream, P.as<T>(), w1, w3, h0, len, out, gates,
                                                                           hT, B, Tn, H, g.R);
      TG_KERNEL_CHECK("gru_ra_forward_kernel");
    } else {
      // P[:, 0:2H] = X W_gates[x rows] + b_gates; P[:, 2H:3H] = X W_cand[x rows] + b_cand
      gemm_rm<T>(false, false, BT, 2 * H, in, T(1), X, in, w0, 2 * H, T(0), P.as<T>(), G);
      gemm_rm<T>(false, false, BT, H, in, T(1), X, in, w2, H, T(0), P.as<T>() + 2 * H, G);
      gpu::launch(gru_bias_kernel<T>, grid_for(BT * G), kThreads, 0, cx.stream, P.as<T>(), BT, H, w1, w3, false);
      TG_KERNEL_CHECK("gru_bias_kernel");
      const T* wgh = w0 + static_cast<int64_t>(in) * 2 * H;
      const T* wch = w2 + static_cast<int64_t>(in) * H;
      if (stepwise) {
        stepwise_forward<T>(false, P.as<T>(), wgh, wch, nullptr, h0, len, out, gates, hT, B, Tn, H);
        continue;
      }
      const Geometry g = geometry(B, H, recurrent_weight_elems(false, H), 4 * H, 2 * H, sizeof(T), "forward");
      allow_smem(gru_tf1_forward_kernel<T>, g.smem);
      gpu::launch(gru_tf1_forward_kernel<T>, g.blocks, g.threads, g.smem, cx.stream,
          P.as<T>(), wgh, wch, h0, len, out, gates, hT, B, Tn, H, g.R);
      TG_KERNEL_CHECK("gru_tf1_forward_kernel");
    }
  }
  const T* top = outs + (res ? (L - 1) : ((L - 1) % 2)) * layer_stride;
  TG_CUDA_CHECK(gpu::memcpy_async(a.y, top, static_cast<size_t>(BT) * H * sizeof(T), gpu::Copy::DeviceToDevice,
                                cx.stream));
}

template <typename T>
void backward_impl(const RnnSpec& c, const RnnIo<void>& a) {
  const int L = c.layers, B = c.batch, Tn = c.seq, H = c.hidden, G = 3 * H;
  const int64_t BT = static_cast<int64_t>(B) * Tn;
  const bool ra = c.cell == Cell::GruResetAfter;
  const int S = ra ? 4 * H : 3 * H;  // dG row width
  const bool stepwise = run_stepwise(c, sizeof(T));
  record_gru_impl(stepwise ? GruRan::Stepwise : GruRan::Persistent);
  Ctx& cx = ctx();
  bool any_len = false;
  Scratch dlen = upload_lengths(a.lengths, B, Tn, &any_len);
  const int* len = any_len ? dlen.as<int>() : nullptr;
  const T* res = static_cast<const T*>(a.reserve);
  const int64_t layer_stride = BT * (1 + kGruSavedH) * H;
  Scratch dG(static_cast<size_t>(BT) * S * sizeof(T));
  Scratch hprev(a.gweights == nullptr ? 0 : static_cast<size_t>(BT) * H * sizeof(T));
  Scratch dA(static_cast<size_t>(BT) * H * sizeof(T)), dB(static_cast<size_t>(BT) * H * sizeof(T));
  const T* dOut = static_cast<const T*>(a.gy);
  const bool frozen = a.gweights == nullptr;
  for (int l = L - 1; l >= 0; --l) {
    const int in = l == 0 ? c.input : H;
    const T* out = res + l * layer_stride;
    const T* gates = out + BT * H;
    const T* X = l == 0 ? static_cast<const T*>(a.x) : res + (l - 1) * layer_stride;
    const T* w0 = static_cast<const T*>(a.weights[static_cast<size_t>(l * 4 + 0)]);
    const T* w1 = static_cast<const T*>(a.weights[static_cast<size_t>(l * 4 + 1)]);
    const T* w2 = static_cast<const T*>(a.weights[static_cast<size_t>(l * 4 + 2)]);
    const T* h0 = a.h0 ? static_cast<const T*>(a.h0) + static_cast<int64_t>(l) * B * H : nullptr;
    T* gh0 = a.gh0 ? static_cast<T*>(a.gh0) + static_cast<int64_t>(l) * B * H : nullptr;
    T* dX = l == 0 ? static_cast<T*>(a.gx) : ((L - 1 - l) % 2 == 0 ? dA.as<T>() : dB.as<T>());
    T* d = dG.as<T>();
    // GruTf1: the h rows of W_gates and W_cand
    const T* wgh = ra ? nullptr : w0 + static_cast<int64_t>(in) * 2 * H;
    const T* wch = ra ? nullptr : w2 + static_cast<int64_t>(in) * H;
    if (stepwise) {
      if (ra)
        stepwise_backward<T>(true, w1, nullptr, gates, out, h0, len, dOut, d, gh0, B, Tn, H);
      else
        stepwise_backward<T>(false, wgh, wch, gates, out, h0, len, dOut, d, gh0, B, Tn, H);
    } else if (ra) {
      const Geometry g = geometry(B, H, static_cast<size_t>(G) * (H + 1), 5 * H, H, sizeof(T), "backward");
      allow_smem(gru_ra_backward_kernel<T>, g.smem);
      gpu::launch(gru_ra_backward_kernel<T>, g.blocks, g.threads, g.smem, cx.stream, w1, gates, out, h0, len, dOut, d, gh0, B,
                                                                            Tn, H, g.R);
      TG_KERNEL_CHECK("gru_ra_backward_kernel");
    } else {
      const Geometry g = geometry(B, H, recurrent_weight_elems(false, H), kMaxPerRowH * H, H, sizeof(T), "backward");
      allow_smem(gru_tf1_backward_kernel<T>, g.smem);
      gpu::launch(gru_tf1_backward_kernel<T>, g.blocks, g.threads, g.smem, cx.stream,
          wgh, wch, gates, out, h0, len, dOut, d, gh0, B, Tn, H, g.R);
      TG_KERNEL_CHECK("gru_tf1_backward_kernel");
    }
    if (frozen) {
      // frozen weights: no weight gradients (null gweights, rnn_io.h); only dX below
    } else {
      // weight gradients as GEMMs over all B*T rows, from h_{t-1} and the saved gates
      gpu::launch(hprev_kernel<T>, grid_for(BT * H), kThreads, 0, cx.stream, out, h0, hprev.as<T>(), B, Tn, H);
      TG_KERNEL_CHECK("hprev_kernel");
      const T* hp = hprev.as<T>();
      T* g0 = static_cast<T*>(a.gweights[static_cast<size_t>(l * 4 + 0)]);
      T* g1 = static_cast<T*>(a.gweights[static_cast<size_t>(l * 4 + 1)]);
      T* g2 = static_cast<T*>(a.gweights[static_cast<size_t>(l * 4 + 2)]);
      T* g3 = static_cast<T*>(a.gweights[static_cast<size_t>(l * 4 + 3)]);
      if (ra) {
        gemm_rm<T>(true, false, 2 * H, in, BT, T(1), d, S, X, in, T(1), g0, in);
        gemm_rm<T>(true, false, H, in, BT, T(1), d + 3 * H, S, X, in, T(1), g0 + static_cast<int64_t>(2) * H * in, in);
        gemm_rm<T>(true, false, G, H, BT, T(1), d, S, hp, H, T(1), g1, H);
        colsum_add<T>(d, BT, 2 * H, S, g2);
        colsum_add<T>(d + 3 * H, BT, H, S, g2 + 2 * H);
        colsum_add<T>(d, BT, G, S, g3);
      } else {
        gemm_rm<T>(true, false, in, 2 * H, BT, T(1), X, in, d, S, T(1), g0, 2 * H);
        gemm_rm<T>(true, false, H, 2 * H, BT, T(1), hp, H, d, S, T(1), g0 + static_cast<int64_t>(in) * 2 * H, 2 * H);
        gemm_rm<T>(true, false, in, H, BT, T(1), X, in, d + 2 * H, S, T(1), g2, H);
        gemm_rm<T>(true, false, H, H, BT, T(1), gates + 3 * H, kGruSavedH * H, d + 2 * H, S, T(1),
                   g2 + static_cast<int64_t>(in) * H, H);
        colsum_add<T>(d, BT, 2 * H, S, g1);
        colsum_add<T>(d + 2 * H, BT, H, S, g3);
      }
    }
    if (ra) {
      if (dX) {
        gemm_rm<T>(false, false, BT, in, 2 * H, T(1), d, S, w0, in, T(0), dX, in);
        gemm_rm<T>(false, false, BT, in, H, T(1), d + 3 * H, S, w0 + static_cast<int64_t>(2) * H * in, in, T(1), dX, in);
      }
    } else {
      if (dX) {
        gemm_rm<T>(false, true, BT, in, 2 * H, T(1), d, S, w0, 2 * H, T(0), dX, in);
        gemm_rm<T>(false, true, BT, in, H, T(1), d + 2 * H, S, w2, H, T(1), dX, in);
      }
    }
    dOut = dX;
  }
}

}  // namespace

int64_t gru_reserve_elems(const RnnSpec& c) {
  return rnn_layer_saved_elems(c);
}

void gru_forward(const RnnSpec& c, DType dt, const RnnIo<void>& a) {
  dispatch(dt, [&](auto z) { forward_impl<decltype(z)>(c, a); });
}
void gru_backward(const RnnSpec& c, DType dt, const RnnIo<void>& a) {
  dispatch(dt, [&](auto z) { backward_impl<decltype(z)>(c, a); });
}

}  // namespace tg::kernels::cuda
