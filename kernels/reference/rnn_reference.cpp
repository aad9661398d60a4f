// The scalar reference of the recurrent stacks (rnn_reference.h).
#include "reference/rnn_reference.h"

#include <algorithm>
#include <cmath>

namespace tg::reference {
namespace {
double sigm(double x) { return 1 / (1 + std::exp(-x)); }
}  // namespace

// One step of one layer: h, c updated in place. w: the layer's weights (rnn_spec.h layouts).
void cell_step(Cell cell, const Vec* w, const double* x, int in, int H, Vec& h, Vec& c) {
  auto ln = [H](double* a, const double* gam, const double* bet) {  // layer norm over H units
    double mean = 0, var = 0;
    for (int k = 0; k < H; ++k) mean += a[k];
    mean /= H;
    for (int k = 0; k < H; ++k) var += (a[k] - mean) * (a[k] - mean);
    var /= H;
    for (int k = 0; k < H; ++k) a[k] = (a[k] - mean) / std::sqrt(var + kLstmLnEpsilon) * gam[k] + bet[k];
  };
  Vec hn(static_cast<size_t>(H));
  switch (cell) {
    case Cell::GruTf1: {
      const Vec &Wg = w[0], &bg = w[1], &Wc = w[2], &bc = w[3];
      Vec r(static_cast<size_t>(H)), u(static_cast<size_t>(H));
      for (int j = 0; j < 2 * H; ++j) {
        double a = bg[static_cast<size_t>(j)];
        for (int i = 0; i < in; ++i) a += x[i] * Wg[static_cast<size_t>(i * 2 * H + j)];
        for (int k = 0; k < H; ++k) a += h[static_cast<size_t>(k)] * Wg[static_cast<size_t>((in + k) * 2 * H + j)];
        (j < H ? r[static_cast<size_t>(j)] : u[static_cast<size_t>(j - H)]) = sigm(a);
      }
      for (int k = 0; k < H; ++k) {
        double a = bc[static_cast<size_t>(k)];
        for (int i = 0; i < in; ++i) a += x[i] * Wc[static_cast<size_t>(i * H + k)];
        for (int m = 0; m < H; ++m)
          a += r[static_cast<size_t>(m)] * h[static_cast<size_t>(m)] * Wc[static_cast<size_t>((in + m) * H + k)];
        const double cand = std::tanh(a), uk = u[static_cast<size_t>(k)];
        hn[static_cast<size_t>(k)] = uk * h[static_cast<size_t>(k)] + (1 - uk) * cand;
      }
      break;
    }
    case Cell::GruResetAfter: {
      const Vec &Wih = w[0], &Whh = w[1], &bih = w[2], &bhh = w[3];
      Vec a(static_cast<size_t>(3 * H)), q(static_cast<size_t>(3 * H));
      for (int j = 0; j < 3 * H; ++j) {
        a[static_cast<size_t>(j)] = bih[static_cast<size_t>(j)];
        for (int i = 0; i < in; ++i) a[static_cast<size_t>(j)] += Wih[static_cast<size_t>(j * in + i)] * x[i];
        q[static_cast<size_t>(j)] = bhh[static_cast<size_t>(j)];
        for (int k = 0; k < H; ++k) q[static_cast<size_t>(j)] += Whh[static_cast<size_t>(j * H + k)] * h[static_cast<size_t>(k)];
      }
      for (int k = 0; k < H; ++k) {
        const size_t K = static_cast<size_t>(k), HH = static_cast<size_t>(H);
        const double r = sigm(a[K] + q[K]), z = sigm(a[HH + K] + q[HH + K]);
        const double n = std::tanh(a[2 * HH + K] + r * q[2 * HH + K]);
        hn[K] = (1 - z) * n + z * h[K];
      }
      break;
    }
    case Cell::Lstm:
    case Cell::LstmLn: {
      const bool lnc = cell == Cell::LstmLn;
      const Vec& W = w[0];
      Vec g(static_cast<size_t>(4 * H));
      for (int j = 0; j < 4 * H; ++j) {
        double a = lnc ? 0.0 : w[1][static_cast<size_t>(j)];
        for (int i = 0; i < in; ++i) a += x[i] * W[static_cast<size_t>(i * 4 * H + j)];
        for (int k = 0; k < H; ++k) a += h[static_cast<size_t>(k)] * W[static_cast<size_t>((in + k) * 4 * H + j)];
        g[static_cast<size_t>(j)] = a;
      }
      if (lnc)
        for (int blk = 0; blk < 4; ++blk) ln(&g[static_cast<size_t>(blk * H)], &w[1][static_cast<size_t>(blk * H)], &w[2][static_cast<size_t>(blk * H)]);
      Vec cn(static_cast<size_t>(H));
      for (int k = 0; k < H; ++k) {
        const size_t K = static_cast<size_t>(k), HH = static_cast<size_t>(H);
        const double ig = sigm(g[K]), jg = std::tanh(g[HH + K]), fg = sigm(g[2 * HH + K] + kLstmForgetBias);
        cn[K] = c[K] * fg + ig * jg;
      }
      if (lnc) ln(cn.data(), w[3].data(), w[4].data());
      for (int k = 0; k < H; ++k) {
        const size_t K = static_cast<size_t>(k);
        hn[K] = std::tanh(cn[K]) * sigm(g[3 * static_cast<size_t>(H) + K]);
      }
      c = cn;
      break;
    }
  }
  h = hn;
}

RnnResult rnn_forward(const RnnProblem& p) {
  const int nw = rnn_weights_per_layer(p.cell);
  const size_t H = static_cast<size_t>(p.H);
  Vec in = p.x;
  int inw = p.in;
  RnnResult f;
  f.hT.assign(static_cast<size_t>(p.L) * static_cast<size_t>(p.B) * H, 0);
  f.cT.assign(static_cast<size_t>(p.L) * static_cast<size_t>(p.B) * H, 0);
  for (int l = 0; l < p.L; ++l) {
    Vec out(static_cast<size_t>(p.B * p.T) * H, 0);
    for (int b = 0; b < p.B; ++b) {
      const size_t s0 = (static_cast<size_t>(l) * p.B + b) * H;
      Vec h(H, 0), c(H, 0);
      if (!p.h0.empty()) std::copy(p.h0.begin() + long(s0), p.h0.begin() + long(s0 + H), h.begin());
      if (!p.c0.empty()) std::copy(p.c0.begin() + long(s0), p.c0.begin() + long(s0 + H), c.begin());
      const int n = p.len.empty() ? p.T : p.len[static_cast<size_t>(b)];
      for (int t = 0; t < n; ++t) {
        const size_t row = static_cast<size_t>(b * p.T + t);
        cell_step(p.cell, &p.w[static_cast<size_t>(l * nw)], &in[row * static_cast<size_t>(inw)], inw, p.H, h, c);
        std::copy(h.begin(), h.end(), out.begin() + long(row * H));
      }
      std::copy(h.begin(), h.end(), f.hT.begin() + long(s0));
      std::copy(c.begin(), c.end(), f.cT.begin() + long(s0));
    }
    in = out;
    inw = p.H;
  }
  f.y = in;
  return f;
}


Vec rnn_grad_fd(RnnProblem& p, const Vec& gy, Vec& v, double eps) {
  auto loss = [&] {
    const Vec y = rnn_forward(p).y;
    double s = 0;
    for (size_t i = 0; i < y.size(); ++i) s += gy[i] * y[i];
    return s;
  };
  Vec g(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    const double keep = v[i];
    v[i] = keep + eps;
    const double lp = loss();
    v[i] = keep - eps;
    const double lm = loss();
    v[i] = keep;
    g[i] = (lp - lm) / (2 * eps);
  }
  return g;
}

}  // namespace tg::reference
