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

Shared memory per block (elements): weights 3H*(H+1) (+H bias) plus R*(4..6)H state/scratch;
H = 24 float: ~8 KB. Larger H raises the dynamic shared-memory limit up to the device opt-in;
beyond it (H > ~130 in float) the call throws and names TG_GRU_IMPL=cudnn.

Versions: CUDA 12/13, sm_80 / sm_90; float and double (no tensor cores: parity with the CPU).
*/
#include <algorithm>
#include <string>

#include "common.cuh"
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
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < rows * G;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int j = static_cast<int>(i % G);
    T add;
    if (ra)
      add = j < 2 * H ? b1[j] + b2[j] : b1[j];
    else
      add = j < 2 * H ? b1[j] : b2[j - 2 * H];
    P[i] += add;
  }
}

// Hprev[b*T + t] = t > 0 ? out[b*T + t - 1] : h0[b] (or 0).
template <typename T>
__global__ void hprev_kernel(const T* out, const T* h0, T* hp, int B, int Tn, int H) {
  const int64_t n = static_cast<int64_t>(B) * Tn * H;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t row = i / H;
    const int k = static_cast<int>(i % H);
    const int t = static_cast<int>(row % Tn);
    const int64_t b = row / Tn;
    hp[i] = t > 0 ? out[i - H] : (h0 ? h0[b * H + k] : T(0));
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
                             std::to_string(cx.max_smem_optin) + "; use TG_GRU_IMPL=cudnn (reset-after GRU) or the CPU");
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

template <typename T>
void forward_impl(const RnnSpec& c, const RnnIo<void>& a) {
  const int L = c.layers, B = c.batch, Tn = c.seq, H = c.hidden, G = 3 * H;
  const int64_t BT = static_cast<int64_t>(B) * Tn;
  const bool ra = c.cell == Cell::GruResetAfter;
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
      const Geometry g = geometry(B, H, static_cast<size_t>(G) * (H + 1) + H, 4 * H, G, sizeof(T), "forward");
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
      const Geometry g = geometry(B, H, static_cast<size_t>(H) * (2 * H + 1) + static_cast<size_t>(H) * (H + 1),
                                  4 * H, 2 * H, sizeof(T), "forward");
      allow_smem(gru_tf1_forward_kernel<T>, g.smem);
      gpu::launch(gru_tf1_forward_kernel<T>, g.blocks, g.threads, g.smem, cx.stream,
          P.as<T>(), w0 + static_cast<int64_t>(in) * 2 * H, w2 + static_cast<int64_t>(in) * H, h0, len, out, gates,
          hT, B, Tn, H, g.R);
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
    if (ra) {
      const Geometry g = geometry(B, H, static_cast<size_t>(G) * (H + 1), 5 * H, H, sizeof(T), "backward");
      allow_smem(gru_ra_backward_kernel<T>, g.smem);
      gpu::launch(gru_ra_backward_kernel<T>, g.blocks, g.threads, g.smem, cx.stream, w1, gates, out, h0, len, dOut, d, gh0, B,
                                                                            Tn, H, g.R);
      TG_KERNEL_CHECK("gru_ra_backward_kernel");
    } else {
      const Geometry g = geometry(B, H, static_cast<size_t>(H) * (2 * H + 1) + static_cast<size_t>(H) * (H + 1),
                                  5 * H, H, sizeof(T), "backward");
      allow_smem(gru_tf1_backward_kernel<T>, g.smem);
      gpu::launch(gru_tf1_backward_kernel<T>, g.blocks, g.threads, g.smem, cx.stream,
          w0 + static_cast<int64_t>(in) * 2 * H, w2 + static_cast<int64_t>(in) * H, gates, out, h0, len, dOut, d, gh0,
          B, Tn, H, g.R);
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
  if (dt == DType::F32)
    forward_impl<float>(c, a);
  else
    forward_impl<double>(c, a);
}

void gru_backward(const RnnSpec& c, DType dt, const RnnIo<void>& a) {
  if (dt == DType::F32)
    backward_impl<float>(c, a);
  else
    backward_impl<double>(c, a);
}

}  // namespace tg::kernels::cuda
