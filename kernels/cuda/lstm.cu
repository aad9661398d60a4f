/*
lstm.cu: LSTM (Cell::Lstm, TF1 BasicLSTMCell) and LN-LSTM (Cell::LstmLn, TF1
LayerNormBasicLSTMCell) stacks on the GPU: the simple composed path.

These cells are not on TimeGAN's default path, so they use per-step launches instead of a
persistent kernel: per layer one GEMM for the input projection of all steps, then per step one
cuBLAS GEMM (h W_h) and one cell kernel with one thread per batch row. The cell math (forget
bias 1 inside, LN epsilon 1e-12 over each H-wide gate block with its own gamma/beta slice, the
state norm LN_c on c', the state carrying the normalised c') is tg/kernels/cells.h, which the CPU
kernels evaluate too, so the results match the CPU to rounding.

Backward, per step in reverse: one cell-backward kernel (thread per row) writing the gate
pre-activation gradients dG [B*T, 4H] and dc, then dh = dG_t W_h^T as one GEMM over the B rows
of step t (rows strided by T*4H in the batch-major dG). A row that first becomes active at
t = len-1 starts from dh = 0, so no merge kernel is needed. LN gamma/beta gradients are written
per (b, t) row into E [B*T, 10H] and reduced by GEMVs after the loop (deterministic, no atomics).
Weight gradients and dX are GEMMs over all B*T rows.

Reserve layout (per layer l, layer-major, elements of T):
  out_l   [B, T, H]
  gates_l [B, T, S]   Lstm S = 6H: i, j, f, o (activated), c', tanh(c')
                      LstmLn S = 11H + 5: xhat[4H], act[4H], xhat_c[H], c'[H], tanh(c')[H], rstd[5]

Versions: CUDA 12/13, sm_80 / sm_90; float and double.
*/
#include <algorithm>

#include "common.cuh"
#include "tg/kernels/backend_common.h"
#include "tg/kernels/cells.h"

namespace tg::kernels::cuda {
namespace {

int slot(Cell c, int H) { return static_cast<int>(rnn_saved_width(c, H)); }

// The same widths for the device code (rnn_saved_width is host-only): values saved per
// (row, step), from the table of cell traits (rnn_spec.h).
constexpr int kLstmSavedH = kCellTraits[static_cast<int>(Cell::Lstm)].saved_h;
constexpr int kLnSavedH = kCellTraits[static_cast<int>(Cell::LstmLn)].saved_h;
constexpr int kLnSavedExtra = kCellTraits[static_cast<int>(Cell::LstmLn)].saved_extra;
static_assert(kCellTraits[static_cast<int>(Cell::Lstm)].saved_extra == 0, "the LSTM saves whole H-wide slots");

template <typename T>
__global__ void lstm_bias_kernel(T* P, int64_t rows, int H, const T* b) {
  const int G = 4 * H;
  GRID_STRIDE(i, rows * G) {
    const int j = static_cast<int>(i % G);
    T v = P[i] + b[j];
    if (j >= 2 * H && j < 3 * H) v += T(kLstmForgetBias);
    P[i] = v;
  }
}

template <typename T>
__global__ void init_state_kernel(T* dst, const T* src, int64_t n) {
  GRID_STRIDE(i, n)
    dst[i] = src ? src[i] : T(0);
}

template <typename T>
__global__ void lstm_cell_forward_kernel(bool ln, const T* __restrict__ P, const T* __restrict__ Q,
                                         const T* __restrict__ gam, const T* __restrict__ bet,
                                         const T* __restrict__ gamc, const T* __restrict__ betc,
                                         const int* __restrict__ len, T* h, T* c, T* out, T* gates, int B, int Tn,
                                         int H, int t) {
  const int b = blockIdx.x * blockDim.x + threadIdx.x;
  if (b >= B) return;
  const int64_t rr = static_cast<int64_t>(b) * Tn + t;
  T* o = out + rr * H;
  if (len && t >= len[b]) {
    for (int k = 0; k < H; ++k) o[k] = T(0);
    return;
  }
  const int S = ln ? kLnSavedH * H + kLnSavedExtra : kLstmSavedH * H;
  const T* p = P + rr * 4 * H;
  const T* q = Q + static_cast<int64_t>(b) * 4 * H;
  T* g = gates + rr * S;
  T* hp = h + static_cast<int64_t>(b) * H;
  T* cp = c + static_cast<int64_t>(b) * H;
  if (!ln) {
    using Cell = cells::Lstm;
    for (int k = 0; k < H; ++k) g[k] = Cell::gate(q[k] + p[k]);
    for (int k = H; k < 2 * H; ++k) g[k] = Cell::input(q[k] + p[k]);
    for (int k = 2 * H; k < 4 * H; ++k) g[k] = Cell::gate(q[k] + p[k]);
    for (int k = 0; k < H; ++k) {
      const T cn = Cell::next_c(cp[k], g[2 * H + k], g[k], g[H + k]);
      g[4 * H + k] = cn;
      g[5 * H + k] = Cell::squash(cn);
    }
    for (int k = 0; k < H; ++k) {
      cp[k] = g[4 * H + k];
      hp[k] = Cell::next_h(g[5 * H + k], g[3 * H + k]);
      o[k] = hp[k];
    }
    return;
  }
  cells::LstmLn::forward_row<cells::ScalarAct>(H, p, q, gam, bet, gamc, betc, cp, g);
  for (int k = 0; k < H; ++k) {
    cp[k] = g[9 * H + k];
    hp[k] = cells::LstmLn::next_h(g, H, k);
    o[k] = hp[k];
  }
}

// One thread per row b at step t. dh_gemm: dG_{t+1} W_h^T from the previous (later) step.
template <typename T>
__global__ void lstm_cell_backward_kernel(bool ln, const T* __restrict__ gates, const T* __restrict__ c0,
                                          const int* __restrict__ len, const T* __restrict__ dOut,
                                          const T* __restrict__ dh_gemm, T* dc, T* dG, T* E,
                                          const T* __restrict__ gam, const T* __restrict__ gamc, int B, int Tn,
                                          int H, int t) {
  const int b = blockIdx.x * blockDim.x + threadIdx.x;
  if (b >= B) return;
  const int64_t rr = static_cast<int64_t>(b) * Tn + t;
  const int G = 4 * H;
  T* d = dG + rr * G;
  const int lb = len ? len[b] : Tn;
  if (t >= lb) {
    for (int k = 0; k < G; ++k) d[k] = T(0);
    if (ln)
      for (int k = 0; k < 10 * H; ++k) E[rr * 10 * H + k] = T(0);
    return;
  }
  const int S = ln ? kLnSavedH * H + kLnSavedExtra : kLstmSavedH * H;
  const bool carried = t + 1 < lb;  // dh from the later step exists
  const T* dhi = dh_gemm + static_cast<int64_t>(b) * H;
  const T* dO = dOut + rr * H;
  T* dcb = dc + static_cast<int64_t>(b) * H;
  const T* g = gates + rr * S;
  const int cslot = ln ? 9 * H : 4 * H;
  const T* cprev = t > 0 ? gates + (rr - 1) * S + cslot : (c0 ? c0 + static_cast<int64_t>(b) * H : nullptr);
  if (!ln) {
    for (int k = 0; k < H; ++k) {
      const T dht = (carried ? dhi[k] : T(0)) + dO[k];
      cells::Lstm::backward(dht, dcb[k], g[k], g[H + k], g[2 * H + k], g[3 * H + k], g[5 * H + k],
                            cprev ? cprev[k] : T(0), dcb[k], d[k], d[H + k], d[2 * H + k], d[3 * H + k]);
    }
    return;
  }
  T* e = E + rr * 10 * H;
  cells::LstmLn::backward_row<false>(H, carried ? dhi : static_cast<const T*>(nullptr), dO, dcb, g, cprev,
                                     gam, gamc, d, dcb, e, e + 4 * H, e + 8 * H, e + 9 * H);
}

template <typename T>
__global__ void lstm_gh0_kernel(const T* dh_gemm, const int* len, T* gh0, int B, int H) {
  const int64_t n = static_cast<int64_t>(B) * H;
  GRID_STRIDE(i, n) {
    const int b = static_cast<int>(i / H);
    gh0[i] = (len == nullptr || len[b] > 0) ? dh_gemm[i] : T(0);
  }
}

template <typename T>
void forward_impl(const RnnSpec& c, const RnnIo<void>& a) {
  const bool ln = c.cell == Cell::LstmLn;
  const int L = c.layers, B = c.batch, Tn = c.seq, H = c.hidden, G = 4 * H, S = slot(c.cell, H);
  const int nw = ln ? 5 : 2;
  const int64_t BT = static_cast<int64_t>(B) * Tn;
  Ctx& cx = ctx();
  bool any_len = false;
  Scratch dlen = upload_lengths(a.lengths, B, Tn, &any_len);
  const int* len = any_len ? dlen.as<int>() : nullptr;
  Scratch tmp;
  T* res = static_cast<T*>(a.reserve);
  if (!res) {
    tmp = Scratch(static_cast<size_t>(lstm_reserve_elems(c)) * sizeof(T));
    res = tmp.as<T>();
  }
  const int64_t layer_stride = BT * (H + S);
  Scratch P(static_cast<size_t>(BT) * G * sizeof(T)), Q(static_cast<size_t>(B) * G * sizeof(T));
  Scratch hs(static_cast<size_t>(B) * H * sizeof(T)), cs(static_cast<size_t>(B) * H * sizeof(T));
  const unsigned rb = static_cast<unsigned>((B + 127) / 128);
  for (int l = 0; l < L; ++l) {
    const int in = l == 0 ? c.input : H;
    const T* X = l == 0 ? static_cast<const T*>(a.x) : res + (l - 1) * layer_stride;
    T* out = res + l * layer_stride;
    T* gates = out + BT * H;
    const T* W = static_cast<const T*>(a.weights[static_cast<size_t>(l * nw)]);
    const T* h0 = a.h0 ? static_cast<const T*>(a.h0) + static_cast<int64_t>(l) * B * H : nullptr;
    const T* c0 = a.c0 ? static_cast<const T*>(a.c0) + static_cast<int64_t>(l) * B * H : nullptr;
    gemm_rm<T>(false, false, BT, G, in, T(1), X, in, W, G, T(0), P.as<T>(), G);
    if (!ln) {
      gpu::launch(lstm_bias_kernel<T>, grid_for(BT * G), kThreads, 0, cx.stream,
          P.as<T>(), BT, H, static_cast<const T*>(a.weights[static_cast<size_t>(l * nw + 1)]));
      TG_KERNEL_CHECK("lstm_bias_kernel");
    }
    gpu::launch(init_state_kernel<T>, grid_for(B * H), kThreads, 0, cx.stream, hs.as<T>(), h0, static_cast<int64_t>(B) * H);
    TG_KERNEL_CHECK("init_state_kernel");
    gpu::launch(init_state_kernel<T>, grid_for(B * H), kThreads, 0, cx.stream, cs.as<T>(), c0, static_cast<int64_t>(B) * H);
    TG_KERNEL_CHECK("init_state_kernel");
    const T* gam = ln ? static_cast<const T*>(a.weights[static_cast<size_t>(l * nw + 1)]) : nullptr;
    const T* bet = ln ? static_cast<const T*>(a.weights[static_cast<size_t>(l * nw + 2)]) : nullptr;
    const T* gamc = ln ? static_cast<const T*>(a.weights[static_cast<size_t>(l * nw + 3)]) : nullptr;
    const T* betc = ln ? static_cast<const T*>(a.weights[static_cast<size_t>(l * nw + 4)]) : nullptr;
    for (int t = 0; t < Tn; ++t) {
      gemm_rm<T>(false, false, B, G, H, T(1), hs.as<T>(), H, W + static_cast<int64_t>(in) * G, G, T(0), Q.as<T>(), G);
      gpu::launch(lstm_cell_forward_kernel<T>, rb, 128, 0, cx.stream, ln, P.as<T>(), Q.as<T>(), gam, bet, gamc, betc, len,
                                                             hs.as<T>(), cs.as<T>(), out, gates, B, Tn, H, t);
      TG_KERNEL_CHECK("lstm_cell_forward_kernel");
    }
    if (a.hT)
      TG_CUDA_CHECK(gpu::memcpy_async(static_cast<T*>(a.hT) + static_cast<int64_t>(l) * B * H, hs.get(),
                                    static_cast<size_t>(B) * H * sizeof(T), gpu::Copy::DeviceToDevice, cx.stream));
    if (a.cT)
      TG_CUDA_CHECK(gpu::memcpy_async(static_cast<T*>(a.cT) + static_cast<int64_t>(l) * B * H, cs.get(),
                                    static_cast<size_t>(B) * H * sizeof(T), gpu::Copy::DeviceToDevice, cx.stream));
  }
  TG_CUDA_CHECK(gpu::memcpy_async(a.y, res + (L - 1) * layer_stride, static_cast<size_t>(BT) * H * sizeof(T),
                                gpu::Copy::DeviceToDevice, cx.stream));
}

template <typename T>
void backward_impl(const RnnSpec& c, const RnnIo<void>& a) {
  const bool ln = c.cell == Cell::LstmLn;
  const int L = c.layers, B = c.batch, Tn = c.seq, H = c.hidden, G = 4 * H, S = slot(c.cell, H);
  const int nw = ln ? 5 : 2;
  const int64_t BT = static_cast<int64_t>(B) * Tn;
  Ctx& cx = ctx();
  bool any_len = false;
  Scratch dlen = upload_lengths(a.lengths, B, Tn, &any_len);
  const int* len = any_len ? dlen.as<int>() : nullptr;
  const T* res = static_cast<const T*>(a.reserve);
  const int64_t layer_stride = BT * (H + S);
  Scratch dG(static_cast<size_t>(BT) * G * sizeof(T));
  Scratch E(ln ? static_cast<size_t>(BT) * 10 * H * sizeof(T) : 8);
  Scratch dh(static_cast<size_t>(B) * H * sizeof(T)), dc(static_cast<size_t>(B) * H * sizeof(T));
  Scratch hprev(a.gweights == nullptr ? 0 : static_cast<size_t>(BT) * H * sizeof(T));
  Scratch dA(static_cast<size_t>(BT) * H * sizeof(T)), dBuf(static_cast<size_t>(BT) * H * sizeof(T));
  const unsigned rb = static_cast<unsigned>((B + 127) / 128);
  const T* dOut = static_cast<const T*>(a.gy);
  for (int l = L - 1; l >= 0; --l) {
    const int in = l == 0 ? c.input : H;
    const T* out = res + l * layer_stride;
    const T* gates = out + BT * H;
    const T* X = l == 0 ? static_cast<const T*>(a.x) : res + (l - 1) * layer_stride;
    const T* W = static_cast<const T*>(a.weights[static_cast<size_t>(l * nw)]);
    const T* h0 = a.h0 ? static_cast<const T*>(a.h0) + static_cast<int64_t>(l) * B * H : nullptr;
    const T* c0 = a.c0 ? static_cast<const T*>(a.c0) + static_cast<int64_t>(l) * B * H : nullptr;
    const T* gam = ln ? static_cast<const T*>(a.weights[static_cast<size_t>(l * nw + 1)]) : nullptr;
    const T* gamc = ln ? static_cast<const T*>(a.weights[static_cast<size_t>(l * nw + 3)]) : nullptr;
    T* dX = l == 0 ? static_cast<T*>(a.gx) : ((L - 1 - l) % 2 == 0 ? dA.as<T>() : dBuf.as<T>());
    gpu::launch(init_state_kernel<T>, grid_for(B * H), kThreads, 0, cx.stream, dc.as<T>(), nullptr, static_cast<int64_t>(B) * H);
    TG_KERNEL_CHECK("init_state_kernel");
    gpu::launch(init_state_kernel<T>, grid_for(B * H), kThreads, 0, cx.stream, dh.as<T>(), nullptr, static_cast<int64_t>(B) * H);
    TG_KERNEL_CHECK("init_state_kernel");
    for (int t = Tn - 1; t >= 0; --t) {
      gpu::launch(lstm_cell_backward_kernel<T>, rb, 128, 0, cx.stream, ln, gates, c0, len, dOut, dh.as<T>(), dc.as<T>(),
                                                              dG.as<T>(), E.as<T>(), gam, gamc, B, Tn, H, t);
      TG_KERNEL_CHECK("lstm_cell_backward_kernel");
      // dh = dG_t W_h^T (rows of step t are strided by T*4H in the batch-major dG)
      gemm_rm<T>(false, true, B, H, G, T(1), dG.as<T>() + static_cast<int64_t>(t) * G, static_cast<int64_t>(Tn) * G,
                 W + static_cast<int64_t>(in) * G, G, T(0), dh.as<T>(), H);
    }
    if (a.gh0) {
      gpu::launch(lstm_gh0_kernel<T>, grid_for(B * H), kThreads, 0, cx.stream,
          dh.as<T>(), len, static_cast<T*>(a.gh0) + static_cast<int64_t>(l) * B * H, B, H);
      TG_KERNEL_CHECK("lstm_gh0_kernel");
    }
    if (a.gc0)
      TG_CUDA_CHECK(gpu::memcpy_async(static_cast<T*>(a.gc0) + static_cast<int64_t>(l) * B * H, dc.get(),
                                    static_cast<size_t>(B) * H * sizeof(T), gpu::Copy::DeviceToDevice, cx.stream));
    const T* d = dG.as<T>();
    if (a.gweights != nullptr) {  // null: frozen weights, no weight gradients (rnn_io.h)
      gpu::launch(hprev_kernel<T>, grid_for(BT * H), kThreads, 0, cx.stream, out, h0, hprev.as<T>(), B, Tn, H);
      TG_KERNEL_CHECK("hprev_kernel");
      T* gW = static_cast<T*>(a.gweights[static_cast<size_t>(l * nw)]);
      gemm_rm<T>(true, false, in, G, BT, T(1), X, in, d, G, T(1), gW, G);
      gemm_rm<T>(true, false, H, G, BT, T(1), hprev.as<T>(), H, d, G, T(1), gW + static_cast<int64_t>(in) * G, G);
      if (!ln) {
        colsum_add<T>(d, BT, G, G, static_cast<T*>(a.gweights[static_cast<size_t>(l * nw + 1)]));
      } else {
        const T* e = E.as<T>();
        colsum_add<T>(e, BT, 4 * H, 10 * H, static_cast<T*>(a.gweights[static_cast<size_t>(l * nw + 1)]));
        colsum_add<T>(e + 4 * H, BT, 4 * H, 10 * H, static_cast<T*>(a.gweights[static_cast<size_t>(l * nw + 2)]));
        colsum_add<T>(e + 8 * H, BT, H, 10 * H, static_cast<T*>(a.gweights[static_cast<size_t>(l * nw + 3)]));
        colsum_add<T>(e + 9 * H, BT, H, 10 * H, static_cast<T*>(a.gweights[static_cast<size_t>(l * nw + 4)]));
      }
    }
    if (dX) gemm_rm<T>(false, true, BT, in, G, T(1), d, G, W, G, T(0), dX, in);
    dOut = dX;
  }
}

}  // namespace

int64_t lstm_reserve_elems(const RnnSpec& c) {
  return rnn_layer_saved_elems(c);
}

void lstm_forward(const RnnSpec& c, DType dt, const RnnIo<void>& a) {
  dispatch(dt, [&](auto z) { forward_impl<decltype(z)>(c, a); });
}
void lstm_backward(const RnnSpec& c, DType dt, const RnnIo<void>& a) {
  dispatch(dt, [&](auto z) { backward_impl<decltype(z)>(c, a); });
}

}  // namespace tg::kernels::cuda
