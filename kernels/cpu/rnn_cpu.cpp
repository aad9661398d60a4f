// CPU forward/backward of multi-layer GRU / LSTM stacks (cells and weight layouts: tg/rnn_spec.h).
//
// Design (all sizes are tiny: H ~ 24, B ~ 128, T ~ 24, so the cost is per-call overhead, not FLOPs):
//  * The batch is cut into slices (>= 32 rows each, at most 16) by the batch size alone; each slice
//    runs through all layers and time steps on its own, the threads take slices from one
//    thread-pool dispatch, and the weight gradients of the slices are summed in slice order. The
//    thread count therefore decides only who computes a slice, never how a sum is split or
//    ordered: 1, 2, 3 or 8 threads give the same bits (README "Reproducibility").
//  * Inside a slice everything is time-major [T, nb, .] and contiguous: the input projection of a
//    layer is ONE GEMM over all T*nb rows, each step does only the recurrent GEMM(s) on [nb, H],
//    and the weight gradients are GEMMs over all T*nb rows after the reverse time loop.
//  * Biases are added with plain loops, never inside Eigen's logistic()/tanh() expressions.
//  * Scratch lives in thread_local vectors grown once: no heap allocation in the time loops.
//
// Reserve (training, RnnIo::reserve): the forward returns the number of slices it used (the
// backward re-uses it, RnnIo::slices), and per slice s (rows b0..b0+nb-1) and per layer l: out [T, nb, H]
// (layer output, zero past len) followed by gates [T, nb, S] (S per cell, see slot_width()).
#include "tg/kernels/rnn_cpu.h"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "eigen_maps.h"
#include "gemm_cpu.h"
#include "tg/kernels/cells.h"
#include "tg/kernels/parallel.h"

namespace tg::kernels::cpu {
namespace {


// The gate activations, in place: p = act(p + add) over rows x n values (row strides ld, lda;
// add may be null). small::act runs the vector functions of activations.inl for the
// kernel set in use (the host's widest, picked at run time like the GEMMs). The step loops call
// it on blocks of kActRows rows: few calls per step, and a block's gate values stay in L1
// between the activation and the elementwise update that reads them.
template <typename T>
inline void sigmoid_rows(T* p, Index rows, int n, Index ld, const T* add = nullptr, Index lda = 0) {
  small::act(small::Act::Sigmoid, rows, n, p, ld, p, ld, add, lda);
}
template <typename T>
inline void tanh_rows(T* p, Index rows, int n, Index ld, const T* add = nullptr, Index lda = 0) {
  small::act(small::Act::Tanh, rows, n, p, ld, p, ld, add, lda);
}
template <typename T>
inline void sigmoid_ip(T* p, int n) { sigmoid_rows(p, 1, n, n); }
template <typename T>
inline void tanh_ip(T* p, int n) { tanh_rows(p, 1, n, n); }

constexpr int kActRows = 16;

// The activations of tg/kernels/cells.h in their vectorised forms, as the row functions' policy.
struct CpuAct {
  template <typename T>
  static void sigmoid_n(T* p, int n) { sigmoid_ip(p, n); }
  template <typename T>
  static void tanh_n(T* p, int n) { tanh_ip(p, n); }
};

// Small GEMMs C[M,N] (= or +=) A[M,K] * B[K,N] (A addressed as A[i*sai + k*sak]): gemm_cpu.h.
// The float micro-kernel is chosen at run time (AVX2+FMA kernels in gemm_avx2.cpp, or Eigen).
using small::gemm;

// dst [cols, rows] = src [rows, cols] (row stride lds)^T
template <typename T>
void transpose_to(const T* src, int rows, int cols, int lds, T* dst) {
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) dst[c * rows + r] = src[r * lds + c];
}

constexpr int kMinRowsPerSlice = 32;

// Saved values per (t, b) row for backward: the table of rnn_spec.h (layouts: tg/kernels/cells.h).
int slot_width(Cell c, int H) { return static_cast<int>(rnn_saved_width(c, H)); }
// Columns of the input projection P.
int proj_width(Cell c, int H) { return (c == Cell::GruTf1 || c == Cell::GruResetAfter) ? 3 * H : 4 * H; }
// Columns of the per-row pre-activation gradient dG.
int dgate_width(Cell c, int H) { return c == Cell::GruTf1 ? 3 * H : 4 * H; }

struct Slices {
  int n;
  int b0(int s, int B) const { return static_cast<int>(static_cast<int64_t>(s) * B / n); }
};

// Most slices of a batch: the stacks use at most this many threads (a batch of 512 or more
// rows); each slice past the first holds a private copy of the weight gradients.
constexpr int kMaxSlices = 16;

// The slices of a batch of B rows: B / 32, in [1, 16]. Independent of the thread count, so
// that the sums of the weight gradients are the same whatever it is.
int choose_slices(int B) { return std::clamp(B / kMinRowsPerSlice, 1, kMaxSlices); }

// Grow-once scratch, one per thread and per purpose. Aligned to Eigen's widest vector (the
// tensors' 64 bytes cover it), so that a slice's buffers sit at the same offsets from a vector
// boundary whichever thread runs it:
// Eigen's vectorised sums (the double path) peel their first elements up to an aligned
// address, which would otherwise make the rounding depend on the thread.
template <typename T, int Tag>
T* scratch(size_t n) {
  thread_local std::vector<T, Eigen::aligned_allocator<T>> buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

std::string shape_str(const RnnSpec& s) {
  return std::string("cell=") + cell_name(s.cell) + " layers=" + std::to_string(s.layers) +
         " batch=" + std::to_string(s.batch) + " seq=" + std::to_string(s.seq) +
         " input=" + std::to_string(s.input) + " hidden=" + std::to_string(s.hidden);
}

void check_shape(const char* fn, const RnnSpec& s) {
  int ci = static_cast<int>(s.cell);
  if (ci < 0 || ci > 3)
    throw std::invalid_argument(std::string(fn) + ": invalid cell value " + std::to_string(ci));
  if (s.layers < 1 || s.hidden < 1 || s.batch < 1 || s.seq < 1 || s.input < 1)
    throw std::invalid_argument(std::string(fn) +
                                ": need layers, batch, seq, input, hidden >= 1, got " + shape_str(s));
}

template <typename T>
void check_common(const char* fn, const RnnSpec& s, const T* const* w, const T* x,
                  const int32_t* lengths) {
  check_shape(fn, s);
  if (w == nullptr) throw std::invalid_argument(std::string(fn) + ": weights is null");
  int nw = rnn_weights_per_layer(s.cell);
  for (int i = 0; i < s.layers * nw; ++i)
    if (w[i] == nullptr)
      throw std::invalid_argument(std::string(fn) + ": weight pointer " + std::to_string(i) +
                                  " (layer " + std::to_string(i / nw) + ", tensor " +
                                  std::to_string(i % nw) + ") is null");
  if (x == nullptr) throw std::invalid_argument(std::string(fn) + ": x is null");
  if (lengths)
    for (int b = 0; b < s.batch; ++b)
      if (lengths[b] < 0 || lengths[b] > s.seq)
        throw std::invalid_argument(std::string(fn) + ": lengths[" + std::to_string(b) + "] = " +
                                    std::to_string(lengths[b]) + " outside [0, seq=" +
                                    std::to_string(s.seq) + "]");
}

template <typename T>
struct Net {
  Cell cell;
  int L, B, Tn, in0, H, nw, S, Gx, Sg;
  const T* const* W;
  const int32_t* len;
  int in_of(int l) const { return l == 0 ? in0 : H; }
  const T* w(int l, int k) const { return W[l * nw + k]; }
  bool active(int b, int t) const { return len == nullptr || t < len[b]; }
  int64_t slice_region(int nb) const { return static_cast<int64_t>(L) * Tn * nb * (H + S); }
  int64_t layer_stride(int nb) const { return static_cast<int64_t>(Tn) * nb * (H + S); }
};

template <typename T>
Net<T> make_net(const RnnSpec& s, const T* const* w, const int32_t* len) {
  Net<T> n;
  n.cell = s.cell;
  n.L = s.layers;
  n.B = s.batch;
  n.Tn = s.seq;
  n.in0 = s.input;
  n.H = s.hidden;
  n.nw = rnn_weights_per_layer(s.cell);
  n.S = slot_width(s.cell, s.hidden);
  n.Gx = proj_width(s.cell, s.hidden);
  n.Sg = dgate_width(s.cell, s.hidden);
  n.W = w;
  n.len = len;
  if (len) {  // all full length: skip masking
    bool full = true;
    for (int b = 0; b < s.batch; ++b) full = full && len[b] == s.seq;
    if (full) n.len = nullptr;
  }
  return n;
}

// x [B,T,in] rows of the slice -> Xs [T, nb, in], zero where t >= len.
template <typename T>
void gather_x(const Net<T>& n, const T* x, int b0, int nb, T* Xs) {
  const int in = n.in0;
  for (int t = 0; t < n.Tn; ++t)
    for (int i = 0; i < nb; ++i) {
      T* dst = Xs + (static_cast<int64_t>(t) * nb + i) * in;
      if (n.active(b0 + i, t))
        std::memcpy(dst, x + (static_cast<int64_t>(b0 + i) * n.Tn + t) * in, sizeof(T) * in);
      else
        std::fill(dst, dst + in, T(0));
    }
}

// One row's state update at step t: h[k] = next(k) for every k and the output row o = h where
// the row is active; o = 0 (h kept) past its length.
template <typename T, typename Next>
inline void step_row(const Net<T>& n, int b, int t, int H, T* hp, T* o, Next&& next) {
  if (n.active(b, t)) {
    for (int k = 0; k < H; ++k) {
      hp[k] = next(k);
      o[k] = hp[k];
    }
  } else {
    std::fill(o, o + H, T(0));
  }
}

// ---------------------------------------------------------------------------------------------
// Forward of one slice through all layers.
// ---------------------------------------------------------------------------------------------

// One layer's forward over a slice: its geometry and buffers (forward_slice lays them out).
template <typename T>
struct FwdLayer {
  const Net<T>& n;
  int l, in, b0, nb;
  T* P;         // the input projections of every step [T * nb, Gx]
  T* h;         // the state [nb, H]
  T* c;         // the cell state [nb, H] (LSTMs)
  T* tmp;       // scratch of a step [nb, 4H]
  T* wt;        // GruResetAfter: the transposed weights (project_inputs writes them)
  T* Ro;        // the layer's outputs [T, nb, H]
  T* Rg;        // its saved gates [T, nb, S]
  const int H = n.H, S = n.S, Gx = n.Gx;
  const T* Pt(int t) const { return P + static_cast<int64_t>(t) * nb * n.Gx; }
  T* gt(int t) const { return Rg + static_cast<int64_t>(t) * nb * n.S; }
  T* ot(int t) const { return Ro + static_cast<int64_t>(t) * nb * n.H; }
  struct Rows {
    const T* P;  // step t's input projections
    T* g;        // its gates
    T* o;        // its outputs
  };
  Rows at(int t) const { return {Pt(t), gt(t), ot(t)}; }

  // Step t of each cell: the recurrent product, the gates (saved in gt) and the new state.
  void gru_tf1_step(int t) const {
    const auto [Pt, gt, ot] = at(t);
    gemm(nb, 2 * H, H, h, H, 1, n.w(l, 0) + in * 2 * H, 2 * H, gt, S, false);
    for (int i0 = 0; i0 < nb; i0 += kActRows) {
      const int i1 = std::min(nb, i0 + kActRows);
      sigmoid_rows(gt + i0 * S, i1 - i0, 2 * H, S, Pt + i0 * Gx, Gx);
      for (int i = i0; i < i1; ++i) {
        T* g = gt + i * S;
        const T* hp = h + i * H;
        for (int k = 0; k < H; ++k) g[3 * H + k] = cells::GruTf1::reset_h(g[k], hp[k]);
      }
    }
    gemm(nb, H, H, gt + 3 * H, S, 1, n.w(l, 2) + in * H, H, gt + 2 * H, S, false);
    for (int i0 = 0; i0 < nb; i0 += kActRows) {
      const int i1 = std::min(nb, i0 + kActRows);
      tanh_rows(gt + i0 * S + 2 * H, i1 - i0, H, S, Pt + i0 * Gx + 2 * H, Gx);
      for (int i = i0; i < i1; ++i) {
        const T* g = gt + i * S;
        T* hp = h + i * H;
        step_row(n, b0 + i, t, H, hp, ot + i * H,
                 [&](int k) { return cells::GruTf1::next_h(g[H + k], hp[k], g[2 * H + k]); });
      }
    }
  }

  void gru_ra_step(int t) const {
    const auto [Pt, gt, ot] = at(t);
    gemm(nb, 3 * H, H, h, H, 1, wt + in * 3 * H, 3 * H, tmp, 3 * H, false);
    const T* bhn = n.w(l, 3) + 2 * H;
    for (int i0 = 0; i0 < nb; i0 += kActRows) {
      const int i1 = std::min(nb, i0 + kActRows);
      // r, z = sigmoid(p + q)
      small::act(small::Act::Sigmoid, i1 - i0, 2 * H, gt + i0 * S, S, Pt + i0 * Gx, Gx, tmp + i0 * 3 * H, 3 * H);
      for (int i = i0; i < i1; ++i) {
        T* g = gt + i * S;
        const T* p = Pt + i * Gx;
        const T* q = tmp + i * 3 * H;
        for (int k = 0; k < H; ++k) {
          T hn = q[2 * H + k] + bhn[k];
          g[3 * H + k] = hn;
          g[2 * H + k] = cells::GruResetAfter::cand_pre(p[2 * H + k], g[k], hn);
        }
      }
      tanh_rows(gt + i0 * S + 2 * H, i1 - i0, H, S);
      for (int i = i0; i < i1; ++i) {
        const T* g = gt + i * S;
        T* hp = h + i * H;
        step_row(n, b0 + i, t, H, hp, ot + i * H,
                 [&](int k) { return cells::GruResetAfter::next_h(g[H + k], g[2 * H + k], hp[k]); });
      }
    }
  }

  void lstm_step(int t) const {
    const auto [Pt, gt, ot] = at(t);
    gemm(nb, 4 * H, H, h, H, 1, n.w(l, 0) + in * 4 * H, 4 * H, gt, S, false);
    for (int i0 = 0; i0 < nb; i0 += kActRows) {
      const int i1 = std::min(nb, i0 + kActRows), m = i1 - i0;
      T* gb = gt + i0 * S;
      const T* pb = Pt + i0 * Gx;
      sigmoid_rows(gb, m, H, S, pb, Gx);
      tanh_rows(gb + H, m, H, S, pb + H, Gx);
      sigmoid_rows(gb + 2 * H, m, 2 * H, S, pb + 2 * H, Gx);
      for (int i = i0; i < i1; ++i) {
        T* g = gt + i * S;
        const T* cp = c + i * H;
        for (int k = 0; k < H; ++k) g[4 * H + k] = cells::Lstm::next_c(cp[k], g[2 * H + k], g[k], g[H + k]);
        std::memcpy(g + 5 * H, g + 4 * H, sizeof(T) * H);
      }
      tanh_rows(gb + 5 * H, m, H, S);
      for (int i = i0; i < i1; ++i) {
        const T* g = gt + i * S;
        T* cp = c + i * H;
        step_row(n, b0 + i, t, H, h + i * H, ot + i * H, [&](int k) {
          cp[k] = g[4 * H + k];
          return cells::Lstm::next_h(g[5 * H + k], g[3 * H + k]);
        });
      }
    }
  }

  void lstm_ln_step(int t) const {
    const auto [Pt, gt, ot] = at(t);
    gemm(nb, 4 * H, H, h, H, 1, n.w(l, 0) + in * 4 * H, 4 * H, tmp, 4 * H, false);
    for (int i = 0; i < nb; ++i) {
      T* g = gt + i * S;
      T* cp = c + i * H;
      const T* cn = g + 9 * H;
      cells::LstmLn::forward_row<CpuAct>(H, Pt + i * Gx, tmp + i * 4 * H, n.w(l, 1), n.w(l, 2), n.w(l, 3), n.w(l, 4),
                                         cp, g);
      step_row(n, b0 + i, t, H, h + i * H, ot + i * H, [&](int k) {
        cp[k] = cn[k];
        return cells::LstmLn::next_h(g, H, k);
      });
    }
  }
};

// The input projection of layer l over all T*nb rows of X, then its biases with plain loops.
template <typename T>
void project_inputs(const FwdLayer<T>& f, const T* X, int64_t rows) {
  const Net<T>& n = f.n;
  const int H = n.H, Gx = n.Gx, l = f.l, in = f.in;
  T* P = f.P;
  T* wt = f.wt;
  switch (n.cell) {
    case Cell::GruTf1: {
      gemm(rows, 2 * H, in, X, in, 1, n.w(l, 0), 2 * H, P, Gx, false);
      gemm(rows, H, in, X, in, 1, n.w(l, 2), H, P + 2 * H, Gx, false);
      const T* bg = n.w(l, 1);
      const T* bc = n.w(l, 3);
      for (int64_t r = 0; r < rows; ++r) {
        T* p = P + r * Gx;
        for (int k = 0; k < 2 * H; ++k) p[k] += bg[k];
        for (int k = 0; k < H; ++k) p[2 * H + k] += bc[k];
      }
      break;
    }
    case Cell::GruResetAfter: {
      transpose_to(n.w(l, 0), 3 * H, in, in, wt);           // W_ih^T [in, 3H]
      transpose_to(n.w(l, 1), 3 * H, H, H, wt + in * 3 * H);  // W_hh^T [H, 3H]
      gemm(rows, 3 * H, in, X, in, 1, wt, 3 * H, P, Gx, false);
      const T* bi = n.w(l, 2);
      const T* bh = n.w(l, 3);
      for (int64_t r = 0; r < rows; ++r) {
        T* p = P + r * Gx;
        for (int k = 0; k < 2 * H; ++k) p[k] += bi[k] + bh[k];
        for (int k = 2 * H; k < 3 * H; ++k) p[k] += bi[k];
      }
      break;
    }
    case Cell::Lstm: {
      gemm(rows, 4 * H, in, X, in, 1, n.w(l, 0), 4 * H, P, Gx, false);
      const T* b = n.w(l, 1);
      const T fb = T(kLstmForgetBias);
      for (int64_t r = 0; r < rows; ++r) {
        T* p = P + r * Gx;
        for (int k = 0; k < 4 * H; ++k) p[k] += b[k];
        for (int k = 2 * H; k < 3 * H; ++k) p[k] += fb;
      }
      break;
    }
    case Cell::LstmLn:
      gemm(rows, 4 * H, in, X, in, 1, n.w(l, 0), 4 * H, P, Gx, false);
      break;
  }
}

template <typename T>
void forward_slice(const Net<T>& n, const T* x, const T* h0, const T* c0, T* y, T* hT, T* cT,
                   T* region, int b0, int nb) {
  const int H = n.H, Gx = n.Gx, Tn = n.Tn;
  const int64_t rows = static_cast<int64_t>(Tn) * nb;
  const bool has_c = cell_has_c(n.cell);
  // scratch
  const int64_t wt_size = 4 * H * (std::max(n.in0, H) + H);
  size_t need = static_cast<size_t>(rows * n.in0 + rows * Gx + 2 * nb * H + nb * 4 * H + 8 * H +
                                    wt_size);
  if (region == nullptr) need += static_cast<size_t>(n.slice_region(nb));
  T* ws = scratch<T, 0>(need);
  T* Xs = ws;
  T* P = Xs + rows * n.in0;
  T* h = P + rows * Gx;
  T* c = h + nb * H;
  T* tmp = c + nb * H;
  T* wt = tmp + nb * 4 * H + 8 * H;  // transposed weights
  if (region == nullptr) region = wt + wt_size;

  gather_x(n, x, b0, nb, Xs);

  for (int l = 0; l < n.L; ++l) {
    T* Ro = region + l * n.layer_stride(nb);
    const FwdLayer<T> f{n, l, n.in_of(l), b0, nb, P, h, c, tmp, wt, Ro, Ro + rows * H};
    const T* X = l == 0 ? Xs : region + (l - 1) * n.layer_stride(nb);
    // initial state
    if (h0) std::memcpy(h, h0 + (static_cast<int64_t>(l) * n.B + b0) * H, sizeof(T) * nb * H);
    else std::fill(h, h + nb * H, T(0));
    if (has_c) {
      if (c0) std::memcpy(c, c0 + (static_cast<int64_t>(l) * n.B + b0) * H, sizeof(T) * nb * H);
      else std::fill(c, c + nb * H, T(0));
    }
    project_inputs(f, X, rows);
    for (int t = 0; t < Tn; ++t) {
      switch (n.cell) {
        case Cell::GruTf1: f.gru_tf1_step(t); break;
        case Cell::GruResetAfter: f.gru_ra_step(t); break;
        case Cell::Lstm: f.lstm_step(t); break;
        case Cell::LstmLn: f.lstm_ln_step(t); break;
      }
    }
    if (hT) std::memcpy(hT + (static_cast<int64_t>(l) * n.B + b0) * H, h, sizeof(T) * nb * H);
    if (cT && has_c)
      std::memcpy(cT + (static_cast<int64_t>(l) * n.B + b0) * H, c, sizeof(T) * nb * H);
  }
  // top-layer output, time-major slice -> batch-major y
  const T* Ro = region + (n.L - 1) * n.layer_stride(nb);
  for (int i = 0; i < nb; ++i)
    for (int t = 0; t < Tn; ++t)
      std::memcpy(y + (static_cast<int64_t>(b0 + i) * Tn + t) * H,
                  Ro + (static_cast<int64_t>(t) * nb + i) * H, sizeof(T) * H);
}

// ---------------------------------------------------------------------------------------------
// Backward of one slice through all layers. pg: gradient pointers (accumulated), slice-private.
// ---------------------------------------------------------------------------------------------

// C[M,N] (ld ldc) += A^T B for A [K, M] (row stride lda) and B [K, N] (row stride ldb), with K
// the T*nb rows of a weight gradient. Computed as C^T += B^T A in a transposed copy of C: the
// micro-kernel then streams the dense rows of A (a layer input, M = in or H wide) as its B
// operand and broadcasts from the gate gradients, instead of streaming gate-gradient rows that
// use 2H of every Sg columns (side by side: bench/results/cpu-2026-11-30.md). The chain of
// each element (C, then one FMA per k in order) is unchanged, so are the results,
// bit for bit. update_transposed runs f on a transposed copy ct [N, M] of C [M, N] and
// writes it back.
template <typename T, typename F>
void update_transposed(T* C, int M, int N, Index ldc, F&& f) {
  T* ct = scratch<T, 4>(static_cast<size_t>(M) * N);
  transpose_to(C, M, N, static_cast<int>(ldc), ct);  // ct [N, M]
  f(ct);
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) C[i * ldc + j] = ct[j * M + i];
}

template <typename T>
void gemm_tn_acc(int M, int N, int K, const T* A, Index lda, const T* B, Index ldb, T* C, Index ldc) {
  update_transposed(C, M, N, ldc, [&](T* ct) { gemm(N, M, K, B, 1, ldb, A, lda, ct, M, true); });
}

// dst [H, ncols] (ld ldd) += Hprev^T * dG  where Hprev rows are h0 (t = 0) then out[0..T-2].
// transposed: dst [ncols, H] += dG^T * Hprev.
template <typename T>
void add_hprev_grad(T* dst, Index ldd, bool transposed, const T* h0s, const T* Ro, const T* dG,
                    Index ncols, Index ldG, int nb, int Tn, int H) {
  const Index rest = static_cast<Index>(Tn - 1) * nb;
  const int nc = static_cast<int>(ncols), r = static_cast<int>(rest);
  if (!transposed) {  // through a transposed copy, as gemm_tn_acc
    update_transposed(dst, H, nc, ldd,
                      [&](T* ct) { add_hprev_grad(ct, H, true, h0s, Ro, dG, ncols, ldG, nb, Tn, H); });
  } else {
    if (h0s) gemm(nc, H, nb, dG, 1, ldG, h0s, H, dst, ldd, true);
    if (r > 0) gemm(nc, H, r, dG + nb * ldG, 1, ldG, Ro, H, dst, ldd, true);
  }
}

template <typename T>
void add_colsum(T* dst, const T* src, int64_t rows, int ncols, int ld) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* s = src + r * ld;
    for (int k = 0; k < ncols; ++k) dst[k] += s[k];
  }
}

// Per-row backward pieces with restrict-qualified pointers so the compiler vectorises them.
template <typename T>
inline void gru_tf1_bwd_row(int H, const T* __restrict dh, const T* __restrict dO,
                            const T* __restrict g, const T* __restrict hp, T* __restrict dh2,
                            T* __restrict dgr) {
  for (int k = 0; k < H; ++k)
    cells::GruTf1::backward(dh[k] + dO[k], g[H + k], g[2 * H + k], hp[k], dh2[k], dgr[H + k],
                            dgr[2 * H + k]);
}

template <typename T>
inline void gru_ra_bwd_row(int H, const T* __restrict dh, const T* __restrict dO,
                           const T* __restrict g, const T* __restrict hp, T* __restrict dh2,
                           T* __restrict dgr) {
  for (int k = 0; k < H; ++k)
    cells::GruResetAfter::backward(dh[k] + dO[k], g[k], g[H + k], g[2 * H + k], g[3 * H + k], hp[k],
                                   dh2[k], dgr[k], dgr[H + k], dgr[2 * H + k], dgr[3 * H + k]);
}

template <typename T>
inline void lstm_bwd_row(int H, const T* __restrict dh, const T* __restrict dO,
                         const T* __restrict dc, const T* __restrict g, const T* __restrict cprev,
                         T* __restrict dc2, T* __restrict dgr) {
  for (int k = 0; k < H; ++k)
    cells::Lstm::backward(dh[k] + dO[k], dc[k], g[k], g[H + k], g[2 * H + k], g[3 * H + k],
                          g[5 * H + k], cprev[k], dc2[k], dgr[k], dgr[H + k], dgr[2 * H + k],
                          dgr[3 * H + k]);
}

// One layer's backward over a slice: its geometry and buffers (backward_slice lays them out).
template <typename T>
struct BwdLayer {
  const Net<T>& n;
  int l, in, b0, nb;
  const T* Ro;     // the layer's outputs [T, nb, H] (the forward's)
  const T* Rg;     // its saved gates [T, nb, S]
  const T* h0s;    // the slice's initial state, or null (zeros)
  const T* c0s;    // the slice's initial cell state, or null (zeros)
  const T* zeros;  // [nb, H]
  const T* dOut;   // the gradient of the layer's outputs [T, nb, H]
  T* dG;           // the gate gradients [T, nb, Sg]
  T* drh;          // scratch [nb, H]
  T* wt;           // the layer's transposed weights (transpose_weights)
  T* const* pg;    // the weight gradients (accumulated), or null
  // GruTf1: W_gates[h rows]^T [2H, H], W_cand[h rows]^T [H, H], W_gates[x rows]^T [2H, in],
  // W_cand[x rows]^T [H, in]; LSTMs: W[h rows]^T [4H, H], W[x rows]^T [4H, in]
  T* wtg_h() const { return wt; }
  T* wtc_h() const { return wt + 2 * n.H * n.H; }
  T* wtg_x() const { return wt + 3 * n.H * n.H; }
  T* wtc_x() const { return wt + 3 * n.H * n.H + 2 * n.H * in; }
  T* wtl_h() const { return wt; }
  T* wtl_x() const { return wt + 4 * n.H * n.H; }
  const T* gt(int t) const { return Rg + static_cast<int64_t>(t) * nb * n.S; }
  const T* dOt(int t) const { return dOut + static_cast<int64_t>(t) * nb * n.H; }
  T* dGt(int t) const { return dG + static_cast<int64_t>(t) * nb * n.Sg; }
  // the state before step t: h0 (or zeros) at t = 0, else the output of step t - 1
  const T* hp(int t) const { return t > 0 ? Ro + static_cast<int64_t>(t - 1) * nb * n.H : (h0s ? h0s : zeros); }
  // the B operands of the backward products need unit column stride: transposed once per layer
  void transpose_weights() const {
    const int H = n.H;
    if (n.cell == Cell::GruTf1) {
      transpose_to(n.w(l, 0) + in * 2 * H, H, 2 * H, 2 * H, wtg_h());
      transpose_to(n.w(l, 2) + in * H, H, H, H, wtc_h());
      transpose_to(n.w(l, 0), in, 2 * H, 2 * H, wtg_x());
      transpose_to(n.w(l, 2), in, H, H, wtc_x());
    } else if (cell_has_c(n.cell)) {
      transpose_to(n.w(l, 0) + in * 4 * H, H, 4 * H, 4 * H, wtl_h());
      transpose_to(n.w(l, 0), in, 4 * H, 4 * H, wtl_x());
    }
  }
  // A row past its length at step t: no gate gradient, the carried gradient passes unchanged.
  bool skip_row(int i, int t, const T* carry, T* carry2) const {
    if (n.active(b0 + i, t)) return false;
    T* dgr = dGt(t) + i * n.Sg;
    std::fill(dgr, dgr + n.Sg, T(0));
    std::memcpy(carry2 + i * n.H, carry + i * n.H, sizeof(T) * n.H);
    return true;
  }
};

// Step t of each cell, backwards: the gate gradients (into dG) and the state gradients carried
// to step t - 1 (dh -> dh2, dc -> dc2).
// The rows of a GRU step backwards: those past their length skip (BwdLayer::skip_row), the others
// run row(H, dh, dO, gates, h_prev, dh2, dG) on their slices.
template <typename T, typename Row>
void gru_rows_bwd(const BwdLayer<T>& b, int t, const T* dh, T* dh2, Row&& row) {
  const int H = b.n.H, S = b.n.S, Sg = b.n.Sg;
  const T* gt = b.gt(t);
  const T* hp = b.hp(t);
  const T* dOt = b.dOt(t);
  T* dGt = b.dGt(t);
  for (int i = 0; i < b.nb; ++i)
    if (!b.skip_row(i, t, dh, dh2)) row(H, dh + i * H, dOt + i * H, gt + i * S, hp + i * H, dh2 + i * H, dGt + i * Sg);
}

template <typename T>
void gru_tf1_bwd_step(const BwdLayer<T>& b, int t, const T* dh, T* dh2) {
  gru_rows_bwd(b, t, dh, dh2, [](auto... a) { gru_tf1_bwd_row(a...); });
  const int H = b.n.H, S = b.n.S, Sg = b.n.Sg, nb = b.nb;
  const T* gt = b.gt(t);
  const T* hp = b.hp(t);
  T* dGt = b.dGt(t);
  gemm(nb, H, H, dGt + 2 * H, Sg, 1, b.wtc_h(), H, b.drh, H, false);
  for (int i = 0; i < nb; ++i) {
    const T* g = gt + i * S;
    T* dgr = dGt + i * Sg;
    for (int k = 0; k < H; ++k) {
      T add;
      cells::GruTf1::backward_reset(b.drh[i * H + k], g[k], hp[i * H + k], add, dgr[k]);
      dh2[i * H + k] += add;
    }
  }
  gemm(nb, H, 2 * H, dGt, Sg, 1, b.wtg_h(), H, dh2, H, true);
}

template <typename T>
void gru_ra_bwd_step(const BwdLayer<T>& b, int t, const T* dh, T* dh2) {
  gru_rows_bwd(b, t, dh, dh2, [](auto... a) { gru_ra_bwd_row(a...); });
  const int H = b.n.H;
  gemm(b.nb, H, 3 * H, b.dGt(t), b.n.Sg, 1, b.n.w(b.l, 1), H, dh2, H, true);
}

// LSTM and LSTM with layer norm (its cell state saved at 9H of the gates instead of 4H).
template <typename T>
void lstm_bwd_step(const BwdLayer<T>& b, int t, const T* dh, T* dh2, const T* dc, T* dc2) {
  const Net<T>& n = b.n;
  const int H = n.H, S = n.S, Sg = n.Sg, nb = b.nb, l = b.l;
  const bool ln = n.cell == Cell::LstmLn;
  const T* gt = b.gt(t);
  const T* dOt = b.dOt(t);
  T* dGt = b.dGt(t);
  const T* cprev = t > 0 ? b.Rg + static_cast<int64_t>(t - 1) * nb * S + (ln ? 9 : 4) * H : (b.c0s ? b.c0s : b.zeros);
  const int ldc = t > 0 ? S : H;
  for (int i = 0; i < nb; ++i) {
    if (b.skip_row(i, t, dc, dc2)) continue;
    if (ln)
      cells::LstmLn::backward_row<true>(H, dh + i * H, dOt + i * H, dc + i * H, gt + i * S, cprev + i * ldc, n.w(l, 1),
                                        n.w(l, 3), dGt + i * Sg, dc2 + i * H, b.pg[l * n.nw + 1], b.pg[l * n.nw + 2],
                                        b.pg[l * n.nw + 3], b.pg[l * n.nw + 4]);
    else
      lstm_bwd_row(H, dh + i * H, dOt + i * H, dc + i * H, gt + i * S, cprev + i * ldc, dc2 + i * H, dGt + i * Sg);
  }
  gemm(nb, H, 4 * H, dGt, Sg, 1, b.wtl_h(), H, dh2, H, false);
  for (int i = 0; i < nb; ++i)
    if (!n.active(b.b0 + i, t)) std::memcpy(dh2 + i * H, dh + i * H, sizeof(T) * H);
}

// The layer's weight gradients over all T*nb rows (accumulated into pg), and the gradient of
// its input X into dX.
template <typename T>
void layer_grads(const BwdLayer<T>& b, const T* X, int64_t rows, T* dX) {
  const Net<T>& n = b.n;
  const int H = n.H, S = n.S, Sg = n.Sg, nb = b.nb, Tn = n.Tn, l = b.l, in = b.in;
  const int R = static_cast<int>(rows);
  const T* dG = b.dG;
  T* const* pg = b.pg;
  switch (n.cell) {
    case Cell::GruTf1: {
      if (pg) {
        T* gWg = pg[l * n.nw + 0];
        T* gWc = pg[l * n.nw + 2];
        gemm_tn_acc(in, 2 * H, R, X, in, dG, Sg, gWg, 2 * H);
        add_hprev_grad(gWg + in * 2 * H, 2 * H, false, b.h0s, b.Ro, dG, 2 * H, Sg, nb, Tn, H);
        gemm_tn_acc(in, H, R, X, in, dG + 2 * H, Sg, gWc, H);
        gemm_tn_acc(H, H, R, b.Rg + 3 * H, S, dG + 2 * H, Sg, gWc + in * H, H);
        add_colsum(pg[l * n.nw + 1], dG, rows, 2 * H, Sg);
        add_colsum(pg[l * n.nw + 3], dG + 2 * H, rows, H, Sg);
      }
      gemm(R, in, 2 * H, dG, Sg, 1, b.wtg_x(), in, dX, in, false);
      gemm(R, in, H, dG + 2 * H, Sg, 1, b.wtc_x(), in, dX, in, true);
      break;
    }
    case Cell::GruResetAfter: {
      if (pg) {
        T* gWih = pg[l * n.nw + 0];
        gemm(2 * H, in, R, dG, 1, Sg, X, in, gWih, in, true);
        gemm(H, in, R, dG + 3 * H, 1, Sg, X, in, gWih + 2 * H * in, in, true);
        add_hprev_grad(pg[l * n.nw + 1], H, true, b.h0s, b.Ro, dG, 3 * H, Sg, nb, Tn, H);
        T* gbi = pg[l * n.nw + 2];
        add_colsum(gbi, dG, rows, 2 * H, Sg);
        add_colsum(gbi + 2 * H, dG + 3 * H, rows, H, Sg);
        add_colsum(pg[l * n.nw + 3], dG, rows, 3 * H, Sg);
      }
      gemm(R, in, 2 * H, dG, Sg, 1, n.w(l, 0), in, dX, in, false);
      gemm(R, in, H, dG + 3 * H, Sg, 1, n.w(l, 0) + 2 * H * in, in, dX, in, true);
      break;
    }
    case Cell::Lstm:
    case Cell::LstmLn: {
      if (pg) {
        T* gW = pg[l * n.nw + 0];
        gemm_tn_acc(in, 4 * H, R, X, in, dG, Sg, gW, 4 * H);
        add_hprev_grad(gW + in * 4 * H, 4 * H, false, b.h0s, b.Ro, dG, 4 * H, Sg, nb, Tn, H);
        if (n.cell == Cell::Lstm) add_colsum(pg[l * n.nw + 1], dG, rows, 4 * H, Sg);
      }
      gemm(R, in, 4 * H, dG, Sg, 1, b.wtl_x(), in, dX, in, false);
      break;
    }
  }
}

template <typename T>
void backward_slice(const Net<T>& n, const T* x, const T* h0, const T* c0, const T* region,
                    const T* gy, T* gx, T* const* pg, T* gh0, T* gc0, const T* ghT, const T* gcT,
                    int b0, int nb) {
  const int H = n.H, Sg = n.Sg, Tn = n.Tn;
  const int64_t rows = static_cast<int64_t>(Tn) * nb;
  const bool has_c = cell_has_c(n.cell);
  const int64_t wt_size = 4 * H * (std::max(n.in0, H) + H);
  size_t need = static_cast<size_t>(2 * rows * n.in0 + rows * H + rows * Sg + 7 * nb * H + 16 * H +
                                    wt_size);
  T* ws = scratch<T, 1>(need);
  T* Xs = ws;
  T* dX0 = Xs + rows * n.in0;
  T* dOut = dX0 + rows * n.in0;
  T* dG = dOut + rows * H;
  T* dh = dG + rows * Sg;
  T* dh2 = dh + nb * H;
  T* dc = dh2 + nb * H;
  T* dc2 = dc + nb * H;
  T* drh = dc2 + nb * H;
  T* zeros = drh + nb * H;
  T* rowt = zeros + nb * H;
  T* wt = rowt + 16 * H;  // transposed weights of the current layer
  std::fill(zeros, zeros + nb * H, T(0));

  gather_x(n, x, b0, nb, Xs);
  // top-layer output gradient, batch-major -> time-major, masked
  for (int t = 0; t < Tn; ++t)
    for (int i = 0; i < nb; ++i) {
      T* d = dOut + (static_cast<int64_t>(t) * nb + i) * H;
      if (n.active(b0 + i, t))
        std::memcpy(d, gy + (static_cast<int64_t>(b0 + i) * Tn + t) * H, sizeof(T) * H);
      else
        std::fill(d, d + H, T(0));
    }

  for (int l = n.L - 1; l >= 0; --l) {
    const T* Ro = region + l * n.layer_stride(nb);
    const int64_t soff = (static_cast<int64_t>(l) * n.B + b0) * H;
    const BwdLayer<T> b{n, l, n.in_of(l), b0, nb, Ro, Ro + rows * H, h0 ? h0 + soff : nullptr,
                        c0 ? c0 + soff : nullptr, zeros, dOut, dG, drh, wt, pg};
    if (ghT) std::memcpy(dh, ghT + soff, sizeof(T) * nb * H);
    else std::fill(dh, dh + nb * H, T(0));
    if (has_c) {
      if (gcT) std::memcpy(dc, gcT + soff, sizeof(T) * nb * H);
      else std::fill(dc, dc + nb * H, T(0));
    }
    b.transpose_weights();
    for (int t = Tn - 1; t >= 0; --t) {
      switch (n.cell) {
        case Cell::GruTf1: gru_tf1_bwd_step(b, t, dh, dh2); break;
        case Cell::GruResetAfter: gru_ra_bwd_step(b, t, dh, dh2); break;
        case Cell::Lstm:
        case Cell::LstmLn: lstm_bwd_step(b, t, dh, dh2, dc, dc2); break;
      }
      std::swap(dh, dh2);
      if (has_c) std::swap(dc, dc2);
    }
    if (gh0) std::memcpy(gh0 + soff, dh, sizeof(T) * nb * H);
    if (gc0 && has_c) std::memcpy(gc0 + soff, dc, sizeof(T) * nb * H);
    // dOut of this layer is consumed; it becomes the layer below's
    layer_grads(b, l == 0 ? Xs : region + (l - 1) * n.layer_stride(nb), rows, l == 0 ? dX0 : dOut);
  }
  if (gx) {
    const int in = n.in0;
    for (int i = 0; i < nb; ++i)
      for (int t = 0; t < Tn; ++t)
        std::memcpy(gx + (static_cast<int64_t>(b0 + i) * Tn + t) * in,
                    dX0 + (static_cast<int64_t>(t) * nb + i) * in, sizeof(T) * in);
  }
}

}  // namespace

int64_t rnn_reserve_elems(const RnnSpec& s) {
  check_shape("tg::kernels::cpu::rnn_reserve_elems", s);
  return rnn_layer_saved_elems(s);
}

namespace {

// A build for a baseline x86-64 (TG_ARCH=portable) compiles the slice functions without AVX2,
// so their elementwise loops (the cells' state updates and derivatives) would run on SSE2
// without FMA while the GEMMs and activations they call run at the host's width. The float
// slices therefore also get an AVX2+FMA copy, taken where the kernel set in use is a
// micro-kernel one (the CPU has AVX2 and FMA). Everything they call is inlined into the copy
// (flatten), which has its own name: no function shared with the rest of the program is
// compiled for AVX2, so a host without it never reaches AVX2 code (the rule of gemm_avx2.cpp).
// A native AVX2 build needs no copy. The copy computes what a native build computes, up to
// how the compiler contracts a * b + c into FMAs (as in the native build: it may).
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__) && !(defined(__AVX2__) && defined(__FMA__))
#define TG_RNN_AVX2_COPY 1
__attribute__((target("avx2,fma"), flatten)) void forward_slice_avx2(const Net<float>& n, const float* x,
                                                                   const float* h0, const float* c0, float* y,
                                                                   float* hT, float* cT, float* region, int b0,
                                                                   int nb) {
  forward_slice(n, x, h0, c0, y, hT, cT, region, b0, nb);
}
__attribute__((target("avx2,fma"), flatten)) void backward_slice_avx2(
    const Net<float>& n, const float* x, const float* h0, const float* c0, const float* region, const float* gy,
    float* gx, float* const* pg, float* gh0, float* gc0, const float* ghT, const float* gcT, int b0, int nb) {
  backward_slice(n, x, h0, c0, region, gy, gx, pg, gh0, gc0, ghT, gcT, b0, nb);
}
#endif

// The slice functions as a call runs them: the AVX2 copy where there is one and the kernel set
// in use is a micro-kernel one, else the build's own.
template <typename T>
void run_forward_slice(const Net<T>& n, const T* x, const T* h0, const T* c0, T* y, T* hT, T* cT, T* region,
                       int b0, int nb) {
#ifdef TG_RNN_AVX2_COPY
  if constexpr (std::is_same_v<T, float>)
    if (gemm_kernel() != GemmKernel::Eigen) return forward_slice_avx2(n, x, h0, c0, y, hT, cT, region, b0, nb);
#endif
  forward_slice(n, x, h0, c0, y, hT, cT, region, b0, nb);
}
template <typename T>
void run_backward_slice(const Net<T>& n, const T* x, const T* h0, const T* c0, const T* region, const T* gy, T* gx,
                        T* const* pg, T* gh0, T* gc0, const T* ghT, const T* gcT, int b0, int nb) {
#ifdef TG_RNN_AVX2_COPY
  if constexpr (std::is_same_v<T, float>)
    if (gemm_kernel() != GemmKernel::Eigen)
      return backward_slice_avx2(n, x, h0, c0, region, gy, gx, pg, gh0, gc0, ghT, gcT, b0, nb);
#endif
  backward_slice(n, x, h0, c0, region, gy, gx, pg, gh0, gc0, ghT, gcT, b0, nb);
}

}  // namespace

template <typename T>
int rnn_forward(const RnnSpec& s, const RnnIo<T>& io) {
  const char* fn = "tg::kernels::cpu::rnn_forward";
  const T* x = io.x;
  const T* h0 = io.h0;
  const T* c0 = cell_has_c(s.cell) ? io.c0 : nullptr;
  T* y = io.y;
  T* hT = io.hT;
  T* cT = io.cT;
  check_common(fn, s, io.weights, x, io.lengths);
  if (y == nullptr) throw std::invalid_argument(std::string(fn) + ": y is null");
  const Net<T> n = make_net(s, io.weights, io.lengths);
  const int ns = choose_slices(s.batch);
  Slices sl{ns};
  T* saved = io.reserve;
  parallel_for(ns, [&](int si) {
    int b0 = sl.b0(si, n.B), nb = sl.b0(si + 1, n.B) - b0;
    T* region = saved ? saved + static_cast<int64_t>(n.L) * n.Tn * b0 * (n.H + n.S) : nullptr;
    run_forward_slice(n, x, h0, c0, y, hT, cT, region, b0, nb);
  });
  return ns;
}

template <typename T>
void rnn_backward(const RnnSpec& s, const RnnIo<T>& io) {
  const char* fn = "tg::kernels::cpu::rnn_backward";
  const T* x = io.x;
  const T* h0 = io.h0;
  const T* c0 = io.c0;
  const T* gy = io.gy;
  T* gx = io.gx;
  T* const* gweights = io.gweights;
  T* gh0 = io.gh0;
  T* gc0 = io.gc0;
  const T* ghT = io.ghT;
  const T* gcT = io.gcT;
  check_common(fn, s, io.weights, x, io.lengths);
  if (io.reserve == nullptr) throw std::invalid_argument(std::string(fn) + ": reserve is null");
  if (gy == nullptr) throw std::invalid_argument(std::string(fn) + ": gy is null");
  const Net<T> n = make_net(s, io.weights, io.lengths);
  const int nwt = n.L * n.nw;
  // gweights == nullptr: the weights are frozen, only gx / gh0 / gc0 are wanted, and the weight-
  // gradient GEMMs are skipped. The layer-norm cell accumulates its gains inside the time loop,
  // so it takes throw-away buffers instead.
  std::vector<T*> dummy;
  if (gweights == nullptr && s.cell == Cell::LstmLn) {
    int64_t tot = 0;
    for (int l = 0; l < n.L; ++l)
      for (const auto& sh : rnn_weight_shapes(n.cell, n.in_of(l), n.H)) {
        int64_t p = 1;
        for (int64_t d : sh) p *= d;
        tot += p;
      }
    T* buf = scratch<T, 3>(static_cast<size_t>(tot));
    std::fill(buf, buf + tot, T(0));
    for (int l = 0; l < n.L; ++l)
      for (const auto& sh : rnn_weight_shapes(n.cell, n.in_of(l), n.H)) {
        int64_t p = 1;
        for (int64_t d : sh) p *= d;
        dummy.push_back(buf);
        buf += p;
      }
    gweights = dummy.data();
  }
  const bool want_w = gweights != nullptr;
  for (int i = 0; want_w && i < nwt; ++i)
    if (gweights[i] == nullptr)
      throw std::invalid_argument(std::string(fn) + ": gweights pointer " + std::to_string(i) +
                                  " is null");
  const int ns = io.slices;
  if (ns < 1 || ns > n.B)
    throw std::invalid_argument(std::string(fn) + ": reserve slice count " + std::to_string(ns) +
                                " is not in [1, batch=" + std::to_string(n.B) +
                                "]; was the reserve written by rnn_forward with the same shape?");
  Slices sl{ns};
  if (!cell_has_c(n.cell)) {
    c0 = nullptr;
    gc0 = nullptr;
    gcT = nullptr;
  }

  // Slice 0 accumulates straight into gweights; the others into private zeroed buffers.
  std::vector<int64_t> sizes(nwt);
  int64_t total = 0;
  for (int l = 0; l < n.L; ++l) {
    auto shapes = rnn_weight_shapes(n.cell, n.in_of(l), n.H);
    for (int k = 0; k < n.nw; ++k) {
      int64_t p = 1;
      for (int64_t d : shapes[k]) p *= d;
      sizes[l * n.nw + k] = p;
      total += p;
    }
  }
  T* part = nullptr;
  std::vector<T*> ptrs(static_cast<size_t>(ns) * nwt);
  if (ns > 1 && want_w) {
    part = scratch<T, 2>(static_cast<size_t>((ns - 1) * total));
    std::fill(part, part + (ns - 1) * total, T(0));
  }
  for (int si = 0; si < ns && want_w; ++si) {
    T* base = si == 0 ? nullptr : part + (si - 1) * total;
    for (int i = 0; i < nwt; ++i) {
      ptrs[si * nwt + i] = si == 0 ? gweights[i] : base;
      if (base) base += sizes[i];
    }
  }

  parallel_for(ns, [&](int si) {
    int b0 = sl.b0(si, n.B), nb = sl.b0(si + 1, n.B) - b0;
    const T* region = io.reserve + static_cast<int64_t>(n.L) * n.Tn * b0 * (n.H + n.S);
    run_backward_slice(n, x, h0, c0, region, gy, gx, want_w ? ptrs.data() + si * nwt : nullptr, gh0, gc0, ghT, gcT,
                       b0, nb);
  });

  for (int si = 1; si < ns && want_w; ++si)
    for (int i = 0; i < nwt; ++i) {
      const T* src = ptrs[si * nwt + i];
      T* dst = gweights[i];
      for (int64_t k = 0; k < sizes[i]; ++k) dst[k] += src[k];
    }
}

template <typename T>
void vector_sigmoid(T* p, int n) {
  sigmoid_ip(p, n);
}
template <typename T>
void vector_tanh(T* p, int n) {
  tanh_ip(p, n);
}
template void vector_sigmoid<float>(float*, int);
template void vector_sigmoid<double>(double*, int);
template void vector_tanh<float>(float*, int);
template void vector_tanh<double>(double*, int);

template int rnn_forward<float>(const RnnSpec&, const RnnIo<float>&);
template int rnn_forward<double>(const RnnSpec&, const RnnIo<double>&);
template void rnn_backward<float>(const RnnSpec&, const RnnIo<float>&);
template void rnn_backward<double>(const RnnSpec&, const RnnIo<double>&);

}  // namespace tg::kernels::cpu
