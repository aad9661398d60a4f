// The recurrent cells of tg/rnn_spec.h, each defined once: the per-unit gate math of a forward
// step and its derivative, as functions that compile for the host (plain C++: the CPU kernels,
// the CUDA emulation, tests) and for the device (nvcc: kernels/cuda).
//
// What is here and what is not: the matrix products of a step (input projection, recurrent
// GEMMs) are the callers' business, as is where values live (registers, shared memory, the
// forward's saved slots). Everything between the products is here: the activations, the state
// update, the saved values, and the pre-activation gradients. The layer-normalised LSTM, whose
// step reduces over the H units of a row, is defined per row; the others per unit.
//
// The order of every floating-point operation is part of the definition: the CPU and CUDA
// backends both evaluate these expressions, so they agree to the rounding of the activations.
// The CPU kernels apply sigmoid/tanh to whole rows with vectorised forms of sigmoid() and tanh()
// below (rnn_cpu.cpp; tests/test_rnn_kernels.cpp checks them against these definitions); the
// row functions of LstmLn take those as a policy (ScalarAct: the definitions as written).
//
// Saved slots per (row, step): the widths are rnn_saved_width() (the table in rnn_spec.h);
// layouts below, per cell. Pre-activation gradient rows (dG): per cell below.
#pragma once

#include <cmath>

#include "tg/rnn_spec.h"

#ifdef __CUDACC__
#define TG_HD __host__ __device__ __forceinline__
#else
#define TG_HD inline
#endif

namespace tg::cells {

// ---- activations ---------------------------------------------------------------------------
// The math functions for host and device: exp_(x) is std::exp on the host, CUDA's exp overload
// on the device; likewise tanh_, sqrt_, log_ and abs_ (fabs on the device).
#ifdef __CUDA_ARCH__
#define TG_MATH_FN_(name, host, device) \
  template <typename T>                 \
  TG_HD T name(T x) {                   \
    return device(x);                   \
  }
#else
#define TG_MATH_FN_(name, host, device) \
  template <typename T>                 \
  TG_HD T name(T x) {                   \
    return host(x);                     \
  }
#endif
TG_MATH_FN_(exp_, std::exp, exp)
TG_MATH_FN_(tanh_, std::tanh, tanh)
TG_MATH_FN_(sqrt_, std::sqrt, sqrt)
TG_MATH_FN_(log_, std::log, log)
TG_MATH_FN_(abs_, std::abs, fabs)
#undef TG_MATH_FN_
template <typename T>
TG_HD T sigmoid(T x) {
  return T(1) / (T(1) + exp_(-x));
}

/// Applies the activations to n contiguous values in place: the definitions as written.
struct ScalarAct {
  template <typename T>
  TG_HD static void sigmoid_n(T* p, int n) {
    for (int k = 0; k < n; ++k) p[k] = sigmoid(p[k]);
  }
  template <typename T>
  TG_HD static void tanh_n(T* p, int n) {
    for (int k = 0; k < n; ++k) p[k] = tanh_(p[k]);
  }
};

// ---- Cell::GruTf1 (TF1 GRUCell; reset before the candidate's matmul) ------------------------
// a = [x, h] W_gates + b_gates:  r = sigmoid(a[0:H]), u = sigmoid(a[H:2H])
// a_c = [x, r*h] W_cand + b_cand: c = tanh(a_c);  h' = u*h + (1-u)*c
// Saved [4H]: r, u, c, r*h.  dG [3H]: d a_r, d a_u, d a_c.
struct GruTf1 {
  template <typename T>
  TG_HD static T gate(T a) { return sigmoid(a); }
  template <typename T>
  TG_HD static T cand(T a) { return tanh_(a); }
  template <typename T>
  TG_HD static T reset_h(T r, T h) { return r * h; }
  template <typename T>
  TG_HD static T next_h(T u, T h, T c) { return u * h + (T(1) - u) * c; }
  /// dh: gradient of h' (carried + output). dh_prev: the direct part u*dh (the reset path and
  /// the recurrent products add to it).
  template <typename T>
  TG_HD static void backward(T dh, T u, T c, T hprev, T& dh_prev, T& da_u, T& da_c) {
    dh_prev = dh * u;
    da_c = dh * (T(1) - u) * (T(1) - c * c);
    da_u = dh * (hprev - c) * u * (T(1) - u);
  }
  /// The reset path, once d(r*h) = da_c W_cand[h rows]^T is known: dh_prev += dh_add.
  template <typename T>
  TG_HD static void backward_reset(T drh, T r, T hprev, T& dh_add, T& da_r) {
    dh_add = drh * r;
    da_r = drh * hprev * r * (T(1) - r);
  }
};

// ---- Cell::GruResetAfter (cuDNN / PyTorch form; gate order r, z, n) -------------------------
// a = W_ih x + b_ih (+ b_hh for r, z), q = W_hh h (+ b_hh for n, as hn):
// r = sigmoid(a_r + q_r), z = sigmoid(a_z + q_z), n = tanh(a_n + r*hn), h' = (1-z)*n + z*h
// Saved [4H]: r, z, n, hn.  dG [4H]: d a_r (= d q_r), d a_z (= d q_z), d hn, d a_n.
struct GruResetAfter {
  template <typename T>
  TG_HD static T gate(T a, T q) { return sigmoid(a + q); }
  template <typename T>
  TG_HD static T cand_pre(T a_n, T r, T hn) { return a_n + r * hn; }
  template <typename T>
  TG_HD static T cand(T pre) { return tanh_(pre); }
  template <typename T>
  TG_HD static T next_h(T z, T n, T h) { return (T(1) - z) * n + z * h; }
  template <typename T>
  TG_HD static void backward(T dh, T r, T z, T n, T hn, T hprev, T& dh_prev, T& da_r, T& da_z,
                             T& d_hn, T& da_n) {
    dh_prev = dh * z;
    da_n = dh * (T(1) - z) * (T(1) - n * n);
    da_r = da_n * hn * r * (T(1) - r);
    da_z = dh * (hprev - n) * z * (T(1) - z);
    d_hn = da_n * r;
  }
};

// ---- Cell::Lstm (TF1 BasicLSTMCell, forget bias inside) -------------------------------------
// a = [x, h] W + b, blocks i, j, f, o:  i = sigmoid(a_i), j = tanh(a_j),
// f = sigmoid(a_f + kLstmForgetBias) (the bias is folded into the input projection),
// o = sigmoid(a_o); c' = c*f + i*j; h' = tanh(c')*o.
// Saved [6H]: i, j, f, o, c', tanh(c').  dG [4H]: d a_i, d a_j, d a_f, d a_o.
struct Lstm {
  template <typename T>
  TG_HD static T gate(T a) { return sigmoid(a); }
  template <typename T>
  TG_HD static T input(T a) { return tanh_(a); }
  template <typename T>
  TG_HD static T next_c(T c, T f, T i, T j) { return c * f + i * j; }
  /// tanh(c'), saved for the backward.
  template <typename T>
  TG_HD static T squash(T c) { return tanh_(c); }
  template <typename T>
  TG_HD static T next_h(T tc, T o) { return tc * o; }
  /// dh, dc: gradients of h', c' (carried + output). dc_prev: gradient of c.
  template <typename T>
  TG_HD static void backward(T dh, T dc, T i, T j, T f, T o, T tc, T cprev, T& dc_prev, T& da_i,
                             T& da_j, T& da_f, T& da_o) {
    const T dct = dc + dh * o * (T(1) - tc * tc);
    da_i = dct * j * i * (T(1) - i);
    da_j = dct * i * (T(1) - j * j);
    da_f = dct * cprev * f * (T(1) - f);
    da_o = dh * tc * o * (T(1) - o);
    dc_prev = dct * f;
  }
};

// ---- Cell::LstmLn (TF1 contrib LayerNormBasicLSTMCell, forget bias 1, no dropout) -----------
// a = [x, h] W (no bias), blocks i, j, f, o, each layer-normalised over its H units with its own
// gamma/beta slice: a' = LN(a); i, f, o = sigmoid(a'_i, a'_f + 1, a'_o), j = tanh(a'_j);
// c' = LN_c(c*f + i*j) (gamma_c, beta_c); h' = tanh(c')*o; the state carries the normalised c'.
// LN(v) = (v - mean) / sqrt(var + kLstmLnEpsilon) * gamma + beta (population variance).
// Saved [11H + 5]: xhat[4H] (normalised a), act[4H] (i, j, f, o), xhat_c[H], c'[H], tanh(c')[H],
// rstd[5] (the four blocks', then c's 1/sqrt(var + eps)).  dG [4H]: d a_i, d a_j, d a_f, d a_o.
struct LstmLn {
  /// v[0..H) -> (v - mean) * rstd in place; returns rstd.
  template <typename T>
  TG_HD static T normalize(T* v, int H) {
    const T invH = T(1) / T(H);
    T mean = 0;
    for (int k = 0; k < H; ++k) mean += v[k];
    mean *= invH;
    T var = 0;
    for (int k = 0; k < H; ++k) {
      v[k] -= mean;
      var += v[k] * v[k];
    }
    var *= invH;
    const T r = T(1) / sqrt_(var + T(kLstmLnEpsilon));
    for (int k = 0; k < H; ++k) v[k] *= r;
    return r;
  }

  /// One row of a step: pre = p + q (input projection + recurrent product, [4H]), cprev [H];
  /// fills the saved slot g [11H + 5]. The new state is c' = g[9H..10H), h' = next_h(g).
  template <typename Act, typename T>
  TG_HD static void forward_row(int H, const T* p, const T* q, const T* gam, const T* bet,
                                const T* gamc, const T* betc, const T* cprev, T* g) {
    T* xh = g;
    T* act = g + 4 * H;
    T* xc = g + 8 * H;
    T* cn = g + 9 * H;
    T* tc = g + 10 * H;
    T* rs = g + 11 * H;
    for (int blk = 0; blk < 4; ++blk) {
      T* a = xh + blk * H;
      for (int k = 0; k < H; ++k) a[k] = p[blk * H + k] + q[blk * H + k];
      rs[blk] = normalize(a, H);
      for (int k = 0; k < H; ++k) act[blk * H + k] = a[k] * gam[blk * H + k] + bet[blk * H + k];
    }
    for (int k = 0; k < H; ++k) act[2 * H + k] += T(kLstmForgetBias);
    Act::sigmoid_n(act, H);
    Act::tanh_n(act + H, H);
    Act::sigmoid_n(act + 2 * H, 2 * H);
    for (int k = 0; k < H; ++k) xc[k] = Lstm::next_c(cprev ? cprev[k] : T(0), act[2 * H + k], act[k], act[H + k]);
    rs[4] = normalize(xc, H);
    for (int k = 0; k < H; ++k) {
      cn[k] = xc[k] * gamc[k] + betc[k];
      tc[k] = cn[k];
    }
    Act::tanh_n(tc, H);
  }
  /// h' of a row from its saved slot.
  template <typename T>
  TG_HD static T next_h(const T* g, int H, int k) {
    return Lstm::next_h(g[10 * H + k], g[7 * H + k]);
  }

  /// One row of the backward of a step. dh, dO: the carried and output gradients of h' (dh may
  /// be null: zero); dc_in: gradient of c'; g: the saved slot; cprev: c (null: zero).
  /// Writes the pre-activation gradients d [4H] and dc_out [H] (may alias dc_in) and writes
  /// (kAccumulate: adds) the gradients of gamma/beta (egam, ebet [4H]) and gamma_c/beta_c
  /// (egamc, ebetc [H]).
  template <bool kAccumulate, typename T>
  TG_HD static void backward_row(int H, const T* dh, const T* dO, const T* dc_in, const T* g,
                                 const T* cprev, const T* gam, const T* gamc, T* d, T* dc_out,
                                 T* egam, T* ebet, T* egamc, T* ebetc) {
    const T invH = T(1) / T(H);
    const T* xh = g;
    const T* act = g + 4 * H;
    const T* xc = g + 8 * H;
    const T* tc = g + 10 * H;
    const T* rs = g + 11 * H;
    T m1 = 0, m2 = 0;
    for (int k = 0; k < H; ++k) {
      const T dht = (dh ? dh[k] : T(0)) + dO[k];
      const T og = act[3 * H + k];
      const T dcp = dc_in[k] + dht * og * (T(1) - tc[k] * tc[k]);
      d[3 * H + k] = dht * tc[k] * og * (T(1) - og);
      if (kAccumulate) {
        egamc[k] += dcp * xc[k];
        ebetc[k] += dcp;
      } else {
        egamc[k] = dcp * xc[k];
        ebetc[k] = dcp;
      }
      const T gc = dcp * gamc[k];
      d[k] = gc;  // kept until the second pass reads it
      m1 += gc;
      m2 += gc * xc[k];
    }
    m1 *= invH;
    m2 *= invH;
    for (int k = 0; k < H; ++k) {
      const T dcraw = rs[4] * (d[k] - m1 - xc[k] * m2);
      const T ig = act[k], jg = act[H + k], fg = act[2 * H + k];
      const T cp = cprev ? cprev[k] : T(0);
      d[k] = dcraw * jg * ig * (T(1) - ig);
      d[H + k] = dcraw * ig * (T(1) - jg * jg);
      d[2 * H + k] = dcraw * cp * fg * (T(1) - fg);
      dc_out[k] = dcraw * fg;
    }
    for (int blk = 0; blk < 4; ++blk) {
      const T* xb = xh + blk * H;
      T* db = d + blk * H;
      T a1 = 0, a2 = 0;
      for (int k = 0; k < H; ++k) {
        if (kAccumulate) {
          egam[blk * H + k] += db[k] * xb[k];
          ebet[blk * H + k] += db[k];
        } else {
          egam[blk * H + k] = db[k] * xb[k];
          ebet[blk * H + k] = db[k];
        }
        db[k] *= gam[blk * H + k];
        a1 += db[k];
        a2 += db[k] * xb[k];
      }
      a1 *= invH;
      a2 *= invH;
      for (int k = 0; k < H; ++k) db[k] = rs[blk] * (db[k] - a1 - xb[k] * a2);
    }
  }
};

}  // namespace tg::cells
