// Backend conformance table, in the manner of ggml's test-backend-ops: one table of cases
// (every Backend method of tg/backend.h, both dtypes, representative shapes, and TimeGAN's
// recurrent call patterns: frozen weights, accumulated weight gradients, lengths shorter than T
// including 0, batch-concatenated calls), each run on every backend this build has (the CPU;
// CUDA when a device is usable, the CPU emulation of kernels/cuda/emu in a TG_CUDA_EMU build)
// against a plain double-precision scalar reference, forward and gradients: written here for the
// primitives, kernels/reference (THE reference of the recurrent stacks, independent of the cell
// header the backends use) for the recurrent calls, whose gradients are central finite
// differences of the scalar forward (in double).
//
// Adding an op = adding a row to table(): a name, a tolerance class, the backend call and its
// reference. Inputs are drawn per row from fixed seeds and rounded to the dtype before both the
// backend and the reference see them, so the reference is exact for the inputs used.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "reference/rnn_reference.h"
#include "tg/backend.h"
#include "tg/kernels/rnn_cpu.h"
#include "tg/random.h"
#include "tg/rnn_spec.h"
#include "tg/tensor.h"

using namespace tg;

namespace {

using Vec = std::vector<double>;

struct Out {
  std::string name;
  Vec v;
};
using Outs = std::vector<Out>;

// Tolerance classes: |got - ref| <= rtol * (|ref| + max|ref| / 4) + atol, atol = rtol / 10.
enum class Tol { Exact, Elementwise, Reduction, Recurrent };
double rtol_of(Tol t, DType dt) {
  const bool f = dt == DType::F32;
  switch (t) {
    case Tol::Exact: return f ? 2e-7 : 4e-16;
    case Tol::Elementwise: return f ? 2e-6 : 1e-13;
    case Tol::Reduction: return f ? 2e-5 : 1e-11;
    case Tol::Recurrent: return f ? 2e-3 : 2e-7;  // vs finite differences in double
  }
  return 0;
}

double round_to(DType dt, double v) { return dt == DType::F32 ? static_cast<double>(static_cast<float>(v)) : v; }

// n uniform values in [lo, hi) from `seed`, rounded to dt.
Vec rv(int64_t n, uint32_t seed, DType dt, double lo = -1, double hi = 1) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  Vec v(static_cast<size_t>(n));
  for (auto& x : v) x = round_to(dt, u(g));
  return v;
}

// What a row's backend call gets: the backend, its device, the dtype.
struct Env {
  Backend& be;
  Device dev;
  DType dt;
  Tensor t(const Shape& s, const Vec& v) const { return Tensor::from_vector(s, v, dt, dev); }
  Tensor empty(const Shape& s) const { return Tensor::empty(s, dt, dev); }
  /// A tensor full of NaN: an output the call must overwrite.
  Tensor nan(const Shape& s) const { return t(s, Vec(static_cast<size_t>(s.numel()), std::nan(""))); }
};

struct Row {
  std::string name;
  Tol tol;
  std::function<Outs(const Env&)> run;  // the backend
  std::function<Outs(DType)> ref;       // the scalar reference
};

double sigm(double x) { return 1 / (1 + std::exp(-x)); }

double unary_ref(UnaryOp op, double v) {
  switch (op) {
    case UnaryOp::Neg: return -v;
    case UnaryOp::Sigmoid: return sigm(v);
    case UnaryOp::Tanh: return std::tanh(v);
    case UnaryOp::Sqrt: return std::sqrt(v);
    case UnaryOp::Abs: return std::abs(v);
    case UnaryOp::Square: return v * v;
    case UnaryOp::Exp: return std::exp(v);
    case UnaryOp::Log: return std::log(v);
  }
  return 0;
}
double unary_deriv_ref(UnaryOp op, double v) {
  switch (op) {
    case UnaryOp::Neg: return -1;
    case UnaryOp::Sigmoid: return sigm(v) * (1 - sigm(v));
    case UnaryOp::Tanh: return 1 - std::tanh(v) * std::tanh(v);
    case UnaryOp::Sqrt: return 0.5 / std::sqrt(v);
    case UnaryOp::Abs: return v > 0 ? 1 : (v < 0 ? -1 : 0);
    case UnaryOp::Square: return 2 * v;
    case UnaryOp::Exp: return std::exp(v);
    case UnaryOp::Log: return 1 / v;
  }
  return 0;
}
bool positive_domain(UnaryOp op) { return op == UnaryOp::Sqrt || op == UnaryOp::Log; }

double binary_ref(BinaryOp op, double a, double b) {
  switch (op) {
    case BinaryOp::Add: return a + b;
    case BinaryOp::Sub: return a - b;
    case BinaryOp::Mul: return a * b;
    case BinaryOp::Div: return a / b;
  }
  return 0;
}

// Index of `out_shape` element i in a tensor of shape `s` broadcast to out_shape (numpy rules).
int64_t bcast_index(const Shape& s, const Shape& out, int64_t i) {
  int64_t idx = 0, stride = 1;
  for (int k = out.rank() - 1, j = s.rank() - 1; k >= 0; --k, --j) {
    const int64_t c = i % out[k];
    i /= out[k];
    if (j >= 0) {
      if (s[j] != 1) idx += c * stride;
      stride *= s[j];
    }
  }
  return idx;
}

// ---- recurrent stacks: the scalar reference ----------------------------------------------------
struct RnnRow {
  Cell cell;
  int L, B, T, in, H;
  std::vector<int32_t> len;  // empty: all T
  bool h0;                   // initial states given (and their gradients asked for)
  bool frozen;               // empty weight-gradient vector
  int sample = 0;            // > 0: each gradient checked at this many spread entries (large H)
};

// The entries of an n-vector a sampled row checks: all when n <= s, else s spread evenly over
// it (first and last included). At large H the finite differences of every weight would take
// hours; y and hT are always checked in full.
std::vector<size_t> sampled(size_t n, int s) {
  std::vector<size_t> idx;
  if (s <= 0 || n <= static_cast<size_t>(s)) {
    for (size_t i = 0; i < n; ++i) idx.push_back(i);
  } else {
    for (size_t i = 0; i < static_cast<size_t>(s); ++i) idx.push_back(i * (n - 1) / (static_cast<size_t>(s) - 1));
  }
  return idx;
}
Vec pick(const Vec& v, int s) {
  Vec o;
  for (size_t i : sampled(v.size(), s)) o.push_back(v[i]);
  return o;
}

struct RnnData {
  std::vector<Vec> w, gw0;  // weights, preset weight gradients (accumulated into)
  Vec x, h0, c0, gy;
};

RnnData rnn_data(const RnnRow& r, DType dt) {
  RnnData d;
  uint32_t seed = 900;
  const double wr = r.H > 24 ? 0.6 * std::sqrt(24.0 / r.H) : 0.6;  // (large H: gates not saturated)
  for (int l = 0; l < r.L; ++l)
    for (auto& sh : rnn_weight_shapes(r.cell, l == 0 ? r.in : r.H, r.H)) {
      d.w.push_back(rv(Shape(sh).numel(), seed++, dt, -wr, wr));
      d.gw0.push_back(rv(Shape(sh).numel(), seed++ + 500, dt));
    }
  d.x = rv(int64_t{r.B} * r.T * r.in, 950, dt);
  if (r.h0) {
    d.h0 = rv(int64_t{r.L} * r.B * r.H, 951, dt);
    if (cell_has_c(r.cell)) d.c0 = rv(int64_t{r.L} * r.B * r.H, 952, dt);
  }
  d.gy = rv(int64_t{r.B} * r.T * r.H, 953, dt);
  return d;
}

// The problem of a row, for the reference (kernels/reference).
reference::RnnProblem problem_of(const RnnRow& r, const RnnData& d) {
  reference::RnnProblem p;
  p.cell = r.cell;
  p.L = r.L;
  p.B = r.B;
  p.T = r.T;
  p.in = r.in;
  p.H = r.H;
  p.len = r.len;
  p.w = d.w;
  p.x = d.x;
  p.h0 = d.h0;
  p.c0 = d.c0;
  return p;
}

// The reference gradient of sum(gy * y) at the entries of v a row checks.
Vec grad_fd(const RnnRow& r, reference::RnnProblem& p, const Vec& gy, Vec& v) {
  if (r.sample <= 0) return reference::rnn_grad_fd(p, gy, v);
  Vec g;
  for (size_t i : sampled(v.size(), r.sample)) {
    const double keep = v[i];
    const double eps = 1e-5;
    auto loss = [&](double at) {
      v[i] = at;
      const Vec y = reference::rnn_forward(p).y;
      double s = 0;
      for (size_t k = 0; k < y.size(); ++k) s += gy[k] * y[k];
      return s;
    };
    const double lp = loss(keep + eps), lm = loss(keep - eps);
    v[i] = keep;
    g.push_back((lp - lm) / (2 * eps));
  }
  return g;
}

Outs rnn_ref(const RnnRow& r, DType dt) {
  const RnnData d = rnn_data(r, dt);
  reference::RnnProblem p = problem_of(r, d);
  const reference::RnnResult f = reference::rnn_forward(p);
  Outs o{{"y", f.y}, {"hT", f.hT}};
  if (cell_has_c(r.cell)) o.push_back({"cT", f.cT});
  o.push_back({"gx", grad_fd(r, p, d.gy, p.x)});
  if (r.h0) {
    o.push_back({"gh0", grad_fd(r, p, d.gy, p.h0)});
    if (cell_has_c(r.cell)) o.push_back({"gc0", grad_fd(r, p, d.gy, p.c0)});
  }
  if (!r.frozen)
    for (size_t i = 0; i < p.w.size(); ++i) {
      Vec g = grad_fd(r, p, d.gy, p.w[i]);
      const Vec preset = r.sample > 0 ? pick(d.gw0[i], r.sample) : d.gw0[i];
      for (size_t k = 0; k < g.size(); ++k) g[k] += preset[k];  // accumulated into the preset
      o.push_back({"gw" + std::to_string(i), g});
    }
  return o;
}

Outs rnn_run(const RnnRow& r, const Env& e) {
  const RnnData d = rnn_data(r, e.dt);
  const RnnSpec call{r.cell, r.L, r.H, r.B, r.T, r.in};
  const bool has_c = cell_has_c(r.cell);
  std::vector<Tensor> w, gw;
  size_t i = 0;
  for (int l = 0; l < r.L; ++l)
    for (auto& sh : rnn_weight_shapes(r.cell, l == 0 ? r.in : r.H, r.H)) {
      w.push_back(e.t(Shape(sh), d.w[i]));
      if (!r.frozen) gw.push_back(e.t(Shape(sh), d.gw0[i]));
      ++i;
    }
  const Shape state{r.L, r.B, r.H}, seq{r.B, r.T, r.H};
  const Tensor x = e.t(Shape{r.B, r.T, r.in}, d.x);
  const Tensor h0 = r.h0 ? e.t(state, d.h0) : Tensor();
  const Tensor c0 = r.h0 && has_c ? e.t(state, d.c0) : Tensor();
  Tensor y = e.nan(seq), hT = e.nan(state), cT = has_c ? e.nan(state) : Tensor();
  const int32_t* lp = r.len.empty() ? nullptr : r.len.data();
  const std::shared_ptr<RnnSaved> saved = e.be.rnn_forward(call, w, x, lp, h0, c0, y, hT, cT, true);
  REQUIRE(static_cast<bool>(saved));
  Tensor gx = e.nan(Shape{r.B, r.T, r.in});
  Tensor gh0 = r.h0 ? e.nan(state) : Tensor(), gc0 = r.h0 && has_c ? e.nan(state) : Tensor();
  e.be.rnn_backward(call, w, x, lp, h0, c0, *saved, e.t(seq, d.gy), gx, gw, gh0, gc0);
  Outs o{{"y", y.to_vector()}, {"hT", hT.to_vector()}};
  if (has_c) o.push_back({"cT", cT.to_vector()});
  o.push_back({"gx", pick(gx.to_vector(), r.sample)});
  if (r.h0) {
    o.push_back({"gh0", pick(gh0.to_vector(), r.sample)});
    if (has_c) o.push_back({"gc0", pick(gc0.to_vector(), r.sample)});
  }
  for (size_t i = 0; i < gw.size(); ++i) o.push_back({"gw" + std::to_string(i), pick(gw[i].to_vector(), r.sample)});
  return o;
}

// ---- the table ----------------------------------------------------------------------------------
std::vector<Row> table() {
  std::vector<Row> rows;
  const Shape s3{4, 3, 5};

  rows.push_back({"fill", Tol::Exact,
                  [=](const Env& e) {
                    Tensor o = e.nan(s3);
                    e.be.fill(o, -0.375);
                    return Outs{{"out", o.to_vector()}};
                  },
                  [=](DType) { return Outs{{"out", Vec(60, -0.375)}}; }});

  // 40 tensors of sizes 0..39 (more than one launch's table on CUDA; an empty one among them)
  rows.push_back({"fill_multi", Tol::Exact,
                  [=](const Env& e) {
                    std::vector<Tensor> ts;
                    for (int64_t k = 0; k < 40; ++k) ts.push_back(e.nan(Shape{k}));
                    std::vector<Tensor*> ps;
                    for (Tensor& t : ts) ps.push_back(&t);
                    e.be.fill_multi(ps, 0.625);
                    Vec all;
                    for (const Tensor& t : ts)
                      for (double v : t.to_vector()) all.push_back(v);
                    return Outs{{"out", all}};
                  },
                  [=](DType) { return Outs{{"out", Vec(40 * 39 / 2, 0.625)}}; }});

  rows.push_back({"cast to the other dtype", Tol::Exact,
                  [=](const Env& e) {
                    const Tensor x = e.t(s3, rv(60, 1, e.dt));
                    Tensor o = Tensor::empty(s3, e.dt == DType::F32 ? DType::F64 : DType::F32, e.dev);
                    e.be.cast(x, o);
                    return Outs{{"out", o.to_vector()}};
                  },
                  [=](DType dt) {
                    Vec v = rv(60, 1, dt);
                    for (auto& x : v) x = round_to(DType::F32, x);  // one side is float32
                    return Outs{{"out", v}};
                  }});

  for (UnaryOp op : kUnaryOps) {
    const double lo = positive_domain(op) ? 0.05 : -3, hi = 3;
    rows.push_back({std::string("unary ") + unary_name(op), Tol::Elementwise,
                    [=](const Env& e) {
                      Tensor o = e.nan(s3);
                      e.be.unary(op, e.t(s3, rv(60, 2, e.dt, lo, hi)), o);
                      return Outs{{"out", o.to_vector()}};
                    },
                    [=](DType dt) {
                      Vec v = rv(60, 2, dt, lo, hi);
                      for (auto& x : v) x = unary_ref(op, x);
                      return Outs{{"out", v}};
                    }});
    for (bool acc : {false, true})
      rows.push_back({std::string("unary_backward ") + unary_name(op) + (acc ? " accumulate" : ""), Tol::Elementwise,
                      [=](const Env& e) {
                        const Tensor x = e.t(s3, rv(60, 3, e.dt, lo, hi));
                        Tensor y = e.empty(s3);
                        e.be.unary(op, x, y);
                        Tensor gx = acc ? e.t(s3, rv(60, 5, e.dt)) : e.nan(s3);
                        e.be.unary_backward(op, x, y, e.t(s3, rv(60, 4, e.dt)), gx, acc);
                        return Outs{{"gx", gx.to_vector()}};
                      },
                      [=](DType dt) {
                        const Vec x = rv(60, 3, dt, lo, hi), gy = rv(60, 4, dt), g0 = rv(60, 5, dt);
                        Vec g(60);
                        for (size_t i = 0; i < 60; ++i) g[i] = (acc ? g0[i] : 0) + gy[i] * unary_deriv_ref(op, x[i]);
                        return Outs{{"gx", g}};
                      }});
  }

  // binary with broadcasting: (a shape, b shape) -> the broadcast shape
  const std::vector<std::pair<Shape, Shape>> bshapes = {
      {Shape{4, 3, 5}, Shape{4, 3, 5}}, {Shape{4, 3, 5}, Shape{5}}, {Shape{4, 1, 5}, Shape{3, 1}},
      {Shape{1}, Shape{4, 3, 5}},       {Shape{4, 3, 1}, Shape{4, 1, 5}}};
  for (BinaryOp op : kBinaryOps)
    for (const auto& [sa, sb] : bshapes) {
      const Shape so{4, 3, 5};
      const double blo = op == BinaryOp::Div ? 0.5 : -1;
      rows.push_back({std::string("binary ") + binary_name(op) + " " + sa.str() + " " + sb.str(), Tol::Elementwise,
                      [=](const Env& e) {
                        Tensor o = e.nan(so);
                        e.be.binary(op, e.t(sa, rv(sa.numel(), 6, e.dt)), e.t(sb, rv(sb.numel(), 7, e.dt, blo, 2)), o);
                        return Outs{{"out", o.to_vector()}};
                      },
                      [=](DType dt) {
                        const Vec a = rv(sa.numel(), 6, dt), b = rv(sb.numel(), 7, dt, blo, 2);
                        Vec o(60);
                        for (int64_t i = 0; i < 60; ++i)
                          o[static_cast<size_t>(i)] = binary_ref(op, a[static_cast<size_t>(bcast_index(sa, so, i))],
                                                                 b[static_cast<size_t>(bcast_index(sb, so, i))]);
                        return Outs{{"out", o}};
                      }});
    }

  for (auto [alpha, beta] : {std::pair<double, double>{0.75, 0.0}, {1.0, 1.0}, {-0.5, 1.5}})
    rows.push_back({"axpby alpha " + std::to_string(alpha) + " beta " + std::to_string(beta), Tol::Elementwise,
                    [=](const Env& e) {
                      Tensor o = beta == 0 ? e.nan(s3) : e.t(s3, rv(60, 9, e.dt));  // beta 0 ignores NaN
                      e.be.axpby(alpha, e.t(s3, rv(60, 8, e.dt)), beta, o);
                      return Outs{{"out", o.to_vector()}};
                    },
                    [=](DType dt) {
                      const Vec x = rv(60, 8, dt), y = rv(60, 9, dt);
                      Vec o(60);
                      for (size_t i = 0; i < 60; ++i) o[i] = alpha * x[i] + (beta == 0 ? 0 : beta * y[i]);
                      return Outs{{"out", o}};
                    }});

  for (const Shape& so : {Shape{4, 3, 5}, Shape{5}, Shape{3, 1}, Shape{4, 1, 5}, Shape{1}})
    for (bool acc : {false, true})
      rows.push_back({"sum_to " + so.str() + (acc ? " accumulate" : ""), Tol::Reduction,
                      [=](const Env& e) {
                        Tensor o = acc ? e.t(so, rv(so.numel(), 11, e.dt)) : e.nan(so);
                        e.be.sum_to(e.t(s3, rv(60, 10, e.dt)), o, acc);
                        return Outs{{"out", o.to_vector()}};
                      },
                      [=](DType dt) {
                        const Vec x = rv(60, 10, dt), o0 = rv(so.numel(), 11, dt);
                        Vec o(static_cast<size_t>(so.numel()), 0);
                        if (acc) o = o0;
                        for (int64_t i = 0; i < 60; ++i) o[static_cast<size_t>(bcast_index(so, s3, i))] += x[static_cast<size_t>(i)];
                        return Outs{{"out", o}};
                      }});

  // reductions over axis 0 of [n0, inner]
  for (const Shape& s : {Shape{7, 3, 2}, Shape{1, 4}, Shape{33, 1}}) {
    const int64_t n0 = s[0], inner = s.numel() / n0;
    std::vector<int64_t> idims = s.dims();
    idims.erase(idims.begin());
    const Shape si(idims);
    rows.push_back({"mean_axis0 and var_axis0 " + s.str(), Tol::Reduction,
                    [=](const Env& e) {
                      const Tensor x = e.t(s, rv(s.numel(), 12, e.dt));
                      Tensor m = e.nan(si), v = e.nan(si);
                      e.be.mean_axis0(x, m);
                      e.be.var_axis0(x, v);
                      return Outs{{"mean", m.to_vector()}, {"var", v.to_vector()}};
                    },
                    [=](DType dt) {
                      const Vec x = rv(s.numel(), 12, dt);
                      Vec m(static_cast<size_t>(inner), 0), v(static_cast<size_t>(inner), 0);
                      for (int64_t j = 0; j < inner; ++j) {
                        for (int64_t b = 0; b < n0; ++b) m[static_cast<size_t>(j)] += x[static_cast<size_t>(b * inner + j)] / double(n0);
                        for (int64_t b = 0; b < n0; ++b) {
                          const double c = x[static_cast<size_t>(b * inner + j)] - m[static_cast<size_t>(j)];
                          v[static_cast<size_t>(j)] += c * c / double(n0);
                        }
                      }
                      return Outs{{"mean", m}, {"var", v}};
                    }});
    for (bool acc : {false, true})
      rows.push_back({"var_axis0_backward " + s.str() + (acc ? " accumulate" : ""), Tol::Reduction,
                      [=](const Env& e) {
                        Tensor g = acc ? e.t(s, rv(s.numel(), 14, e.dt)) : e.nan(s);
                        e.be.var_axis0_backward(e.t(s, rv(s.numel(), 12, e.dt)), e.t(si, rv(inner, 13, e.dt)), g, acc);
                        return Outs{{"gx", g.to_vector()}};
                      },
                      [=](DType dt) {
                        const Vec x = rv(s.numel(), 12, dt), gy = rv(inner, 13, dt), g0 = rv(s.numel(), 14, dt);
                        Vec g(static_cast<size_t>(s.numel()));
                        for (int64_t j = 0; j < inner; ++j) {
                          double m = 0;
                          for (int64_t b = 0; b < n0; ++b) m += x[static_cast<size_t>(b * inner + j)] / double(n0);
                          for (int64_t b = 0; b < n0; ++b) {
                            const size_t i = static_cast<size_t>(b * inner + j);
                            g[i] = (acc ? g0[i] : 0) + gy[static_cast<size_t>(j)] * 2 * (x[i] - m) / double(n0);
                          }
                        }
                        return Outs{{"gx", g}};
                      }});
  }

  // alpha 1 with beta 0 or 1 is the dense layers' forward (on the CPU: the micro-kernels).
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (double beta : {0.0, 0.5, 1.0})
        for (double alpha : {1.0, 1.25})
        for (int64_t k : {int64_t{0}, int64_t{1}, int64_t{19}}) {
          const int64_t m = 6, n = 7;
          rows.push_back({"gemm ta " + std::to_string(ta) + " tb " + std::to_string(tb) + " beta " + std::to_string(beta) +
                              " alpha " + std::to_string(alpha) + " k " + std::to_string(k),
                          Tol::Reduction,
                          [=](const Env& e) {
                            const Tensor a = e.t(ta ? Shape{k, m} : Shape{m, k}, rv(m * k, 15, e.dt));
                            const Tensor b = e.t(tb ? Shape{n, k} : Shape{k, n}, rv(k * n, 16, e.dt));
                            Tensor c = beta == 0 ? e.nan(Shape{m, n}) : e.t(Shape{m, n}, rv(m * n, 17, e.dt));
                            e.be.gemm(ta, tb, m, n, k, alpha, a, b, beta, c);
                            return Outs{{"c", c.to_vector()}};
                          },
                          [=](DType dt) {
                            const Vec a = rv(m * k, 15, dt), b = rv(k * n, 16, dt), c0 = rv(m * n, 17, dt);
                            Vec c(static_cast<size_t>(m * n));
                            for (int64_t i = 0; i < m; ++i)
                              for (int64_t j = 0; j < n; ++j) {
                                double s = 0;
                                for (int64_t p = 0; p < k; ++p)
                                  s += a[static_cast<size_t>(ta ? p * m + i : i * k + p)] * b[static_cast<size_t>(tb ? j * k + p : p * n + j)];
                                c[static_cast<size_t>(i * n + j)] = alpha * s + (beta == 0 ? 0 : beta * c0[static_cast<size_t>(i * n + j)]);
                              }
                            return Outs{{"c", c}};
                          }});
        }

  rows.push_back({"add_row_vector", Tol::Elementwise,
                  [=](const Env& e) {
                    Tensor o = e.t(s3, rv(60, 18, e.dt));
                    e.be.add_row_vector(e.t(Shape{5}, rv(5, 19, e.dt)), o);
                    return Outs{{"out", o.to_vector()}};
                  },
                  [=](DType dt) {
                    Vec o = rv(60, 18, dt);
                    const Vec b = rv(5, 19, dt);
                    for (size_t i = 0; i < 60; ++i) o[i] += b[i % 5];
                    return Outs{{"out", o}};
                  }});

  // strided block copies (slices and concatenation along the batch and the time axis)
  for (bool acc : {false, true})
    for (auto [rows_n, cols, doff, ds, soff, ss] :
         {std::array<int64_t, 6>{3, 4, 2, 9, 1, 5}, {5, 6, 0, 6, 0, 6}, {1, 7, 5, 7, 3, 7}}) {
      const int64_t dn = 60, sn = 40;
      rows.push_back({"copy_rows " + std::to_string(rows_n) + "x" + std::to_string(cols) + (acc ? " accumulate" : ""),
                      Tol::Exact,
                      [=](const Env& e) {
                        Tensor d = e.t(Shape{dn}, rv(dn, 20, e.dt));
                        e.be.copy_rows(d, doff, ds, e.t(Shape{sn}, rv(sn, 21, e.dt)), soff, ss, rows_n, cols, acc);
                        return Outs{{"dst", d.to_vector()}};
                      },
                      [=](DType dt) {
                        Vec d = rv(dn, 20, dt);
                        const Vec s = rv(sn, 21, dt);
                        for (int64_t r = 0; r < rows_n; ++r)
                          for (int64_t c = 0; c < cols; ++c) {
                            double& o = d[static_cast<size_t>(doff + r * ds + c)];
                            const double v = s[static_cast<size_t>(soff + r * ss + c)];
                            o = round_to(dt, acc ? o + v : v);
                          }
                        return Outs{{"dst", d}};
                      }});
    }

  for (double label : {0.0, 1.0}) {
    rows.push_back({"sigmoid_ce label " + std::to_string(int(label)), Tol::Elementwise,
                    [=](const Env& e) {
                      Tensor o = e.nan(s3);
                      e.be.sigmoid_ce(e.t(s3, rv(60, 22, e.dt, -20, 20)), label, o);
                      return Outs{{"out", o.to_vector()}};
                    },
                    [=](DType dt) {
                      Vec z = rv(60, 22, dt, -20, 20);
                      for (auto& v : z) v = std::max(v, 0.0) - v * label + std::log1p(std::exp(-std::abs(v)));
                      return Outs{{"out", z}};
                    }});
    for (bool acc : {false, true})
      rows.push_back({"sigmoid_ce_backward label " + std::to_string(int(label)) + (acc ? " accumulate" : ""),
                      Tol::Elementwise,
                      [=](const Env& e) {
                        Tensor g = acc ? e.t(s3, rv(60, 24, e.dt)) : e.nan(s3);
                        e.be.sigmoid_ce_backward(e.t(s3, rv(60, 22, e.dt, -20, 20)), label, e.t(s3, rv(60, 23, e.dt)), g, acc);
                        return Outs{{"gz", g.to_vector()}};
                      },
                      [=](DType dt) {
                        const Vec z = rv(60, 22, dt, -20, 20), gy = rv(60, 23, dt), g0 = rv(60, 24, dt);
                        Vec g(60);
                        for (size_t i = 0; i < 60; ++i) g[i] = (acc ? g0[i] : 0) + gy[i] * (sigm(z[i]) - label);
                        return Outs{{"gz", g}};
                      }});
  }

  rows.push_back({"adam_update", Tol::Elementwise,
                  [=](const Env& e) {
                    Tensor p = e.t(s3, rv(60, 25, e.dt)), m = e.t(s3, rv(60, 27, e.dt)), v = e.t(s3, rv(60, 28, e.dt, 0, 1));
                    const AdamStep st{0.9, 0.999, 0.01, 1e-7};
                    e.be.adam_update(p, e.t(s3, rv(60, 26, e.dt)), m, v, st);
                    return Outs{{"p", p.to_vector()}, {"m", m.to_vector()}, {"v", v.to_vector()}};
                  },
                  [=](DType dt) {
                    Vec p = rv(60, 25, dt), g = rv(60, 26, dt), m = rv(60, 27, dt), v = rv(60, 28, dt, 0, 1);
                    for (size_t i = 0; i < 60; ++i) {
                      m[i] = 0.9 * m[i] + 0.1 * g[i];
                      v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
                      p[i] -= 0.01 * m[i] / (std::sqrt(v[i]) + 1e-7);
                    }
                    return Outs{{"p", p}, {"m", m}, {"v", v}};
                  }});

  // one optimiser step over 40 parameters of sizes 0..39 (more than one launch's table on CUDA,
  // an empty one among them: each parameter updated once)
  rows.push_back({"adam_update_multi", Tol::Elementwise,
                  [=](const Env& e) {
                    std::vector<Tensor> p, g, m, v;
                    for (int64_t k = 0; k < 40; ++k) {
                      const auto s = static_cast<uint32_t>(40 + 4 * k);
                      p.push_back(e.t(Shape{k}, rv(k, s, e.dt)));
                      g.push_back(e.t(Shape{k}, rv(k, s + 1, e.dt)));
                      m.push_back(e.t(Shape{k}, rv(k, s + 2, e.dt)));
                      v.push_back(e.t(Shape{k}, rv(k, s + 3, e.dt, 0, 1)));
                    }
                    std::vector<AdamTensors> ts;
                    for (size_t k = 0; k < 40; ++k) ts.push_back({&p[k], &g[k], &m[k], &v[k]});
                    e.be.adam_update_multi(ts, AdamStep{0.9, 0.999, 0.01, 1e-7});
                    Vec all;
                    for (const auto* list : {&p, &m, &v})
                      for (const Tensor& t : *list)
                        for (double x : t.to_vector()) all.push_back(x);
                    return Outs{{"p, m, v", all}};
                  },
                  [=](DType dt) {
                    std::vector<Vec> p, m, v;
                    for (int64_t k = 0; k < 40; ++k) {
                      const auto s = static_cast<uint32_t>(40 + 4 * k);
                      Vec pk = rv(k, s, dt), gk = rv(k, s + 1, dt), mk = rv(k, s + 2, dt), vk = rv(k, s + 3, dt, 0, 1);
                      for (size_t i = 0; i < pk.size(); ++i) {
                        mk[i] = 0.9 * mk[i] + 0.1 * gk[i];
                        vk[i] = 0.999 * vk[i] + 0.001 * gk[i] * gk[i];
                        pk[i] -= 0.01 * mk[i] / (std::sqrt(vk[i]) + 1e-7);
                      }
                      p.push_back(pk);
                      m.push_back(mk);
                      v.push_back(vk);
                    }
                    Vec all;
                    for (const auto* list : {&p, &m, &v})
                      for (const Vec& t : *list) all.insert(all.end(), t.begin(), t.end());
                    return Outs{{"p, m, v", all}};
                  }});

  rows.push_back({"fill_uniform", Tol::Exact,
                  [=](const Env& e) {
                    Tensor o = e.nan(Shape{37});
                    e.be.fill_uniform(o, Rng(7, 3), 11, -0.5, 1.5);
                    return Outs{{"out", o.to_vector()}};
                  },
                  [=](DType) {
                    const Rng rng(7, 3);
                    Vec o(37);
                    for (int64_t i = 0; i < 37; ++i) {
                      const uint32_t lane = rng.block(11 + static_cast<uint64_t>(i / 4))[static_cast<size_t>(i % 4)];
                      o[static_cast<size_t>(i)] = -0.5 + 2.0 * static_cast<double>(u32_to_unit_float(lane));
                    }
                    return Outs{{"out", o}};
                  }});

  // recurrent stacks: forward, gradients of x, h0/c0 and the weights (accumulated into preset
  // values), in TimeGAN's call patterns
  for (Cell cell : {Cell::GruTf1, Cell::GruResetAfter, Cell::Lstm, Cell::LstmLn}) {
    const std::vector<std::pair<std::string, RnnRow>> cases = {
        {"initial state", {cell, 2, 3, 4, 3, 4, {}, true, false}},
        {"lengths < T (with 0)", {cell, 2, 5, 5, 3, 4, {5, 2, 0, 3, 1}, false, false}},
        {"frozen weights", {cell, 2, 5, 5, 3, 4, {5, 2, 0, 3, 1}, true, true}},
        {"batch-concatenated [real; synthetic]", {cell, 1, 6, 4, 2, 3, {4, 4, 4, 1, 3, 4}, true, false}},
    };
    for (const auto& [what, r] : cases)
      rows.push_back({std::string("rnn ") + cell_name(cell) + " " + what, Tol::Recurrent,
                      [r = r](const Env& e) { return rnn_run(r, e); }, [r = r](DType dt) { return rnn_ref(r, dt); }});
  }
  // the GRU forms at the paper's energy size (112) and beyond (256): on CUDA the persistent
  // kernels where the recurrent weights fit the device's shared memory, the step-wise path where
  // they do not (kernels/cuda/gru.cu; which of them runs depends on H, the dtype and the device,
  // .ci/cuda-emu reruns these rows under several opt-in limits). Gradients sampled. The
  // sanitizer runs (TG_CUDA_TEST_QUICK=1) keep hidden 112, which takes both paths on the default
  // emulated device (float persistent, double step-wise).
  const char* quick = std::getenv("TG_CUDA_TEST_QUICK");
  const bool quick_run = quick != nullptr && std::string(quick) == "1";
  for (Cell cell : {Cell::GruTf1, Cell::GruResetAfter}) {
    std::vector<std::pair<std::string, RnnRow>> cases = {
        {"hidden 112, lengths < T", {cell, 1, 3, 4, 3, 112, {4, 2, 4}, true, false, quick_run ? 6 : 24}},
    };
    if (!quick_run) cases.push_back({"hidden 256, lengths < T", {cell, 1, 3, 3, 2, 256, {3, 1, 3}, true, false, 24}});
    for (const auto& [what, r] : cases)
      rows.push_back({std::string("rnn ") + cell_name(cell) + " " + what, Tol::Recurrent,
                      [r = r](const Env& e) { return rnn_run(r, e); }, [r = r](DType dt) { return rnn_ref(r, dt); }});
  }
  return rows;
}

// TG_BACKEND_OPS_ROWS=TEXT: only the rows whose name contains TEXT (.ci/cuda-emu reruns the GRU
// rows under other shared-memory limits of the emulated device).
bool row_selected(const std::string& name) {
  const char* f = std::getenv("TG_BACKEND_OPS_ROWS");
  return f == nullptr || *f == '\0' || name.find(f) != std::string::npos;
}

std::vector<Device> devices() {
  std::vector<Device> d{Device::CPU};
  if (cuda_available()) d.push_back(Device::CUDA);
  return d;
}

}  // namespace

TEST_CASE("backend ops: every row of the table on every backend against the scalar reference") {
  const auto rows = table();
  int checked = 0;
  std::map<std::pair<size_t, DType>, Outs> refs;  // each reference once (finite differences)
  for (Device dev : devices()) {
    Backend& be = backend_for(dev);
    for (DType dt : {DType::F32, DType::F64})
      for (size_t ri = 0; ri < rows.size(); ++ri) {
        const Row& row = rows[ri];
        if (!row_selected(row.name)) continue;
        const std::string where = row.name + " on " + be.name() + " " + dtype_name(dt);
        CAPTURE(where);
        const Outs got = row.run(Env{be, dev, dt});
        auto it = refs.find({ri, dt});
        if (it == refs.end()) it = refs.emplace(std::make_pair(ri, dt), row.ref(dt)).first;
        const Outs& want = it->second;
        REQUIRE(got.size() == want.size());
        const double rtol = rtol_of(row.tol, dt), atol = rtol / 10;
        for (size_t o = 0; o < got.size(); ++o) {
          const Vec &g = got[o].v, &w = want[o].v;
          REQUIRE(g.size() == w.size());
          double maxabs = 0;
          for (double v : w) maxabs = std::max(maxabs, std::abs(v));
          size_t bad = g.size();
          for (size_t i = 0; i < g.size() && bad == g.size(); ++i)
            if (!(std::abs(g[i] - w[i]) <= atol + rtol * (std::abs(w[i]) + maxabs / 4))) bad = i;
          INFO(want[o].name << ": first bad element " << bad << " of " << g.size() << ": got "
                            << (bad < g.size() ? g[bad] : 0) << ", reference " << (bad < g.size() ? w[bad] : 0));
          CHECK(bad == g.size());
          ++checked;
        }
      }
  }
  MESSAGE((refs.size() / 2) << " of " << rows.size() << " rows, " << devices().size() << " backend(s), " << checked << " outputs checked");
}

TEST_CASE("backend ops: the CPU's dense forward product gives each row the same bits whatever the row count") {
  // What makes generation in chunks equal to generation in one call: the rows of X W do not
  // depend on how many rows share the product (Eigen's own product changes algorithm with size,
  // so on a CPU without AVX2 and FMA, where the micro-kernels cannot run, this does not hold).
  if (tg::kernels::cpu::gemm_kernel() == tg::kernels::cpu::GemmKernel::Eigen) return;
  Backend& be = backend_for(Device::CPU);
  std::mt19937 rng(21);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (int64_t k : {int64_t{5}, int64_t{24}})
    for (int64_t n : {int64_t{2}, int64_t{6}, int64_t{24}, int64_t{28}}) {
      const int64_t M = 300;
      std::vector<float> a(static_cast<size_t>(M * k)), b(static_cast<size_t>(k * n));
      for (auto& v : a) v = u(rng);
      for (auto& v : b) v = u(rng);
      const Tensor B = Tensor::from_floats(Shape{k, n}, b);
      const Tensor A = Tensor::from_floats(Shape{M, k}, a);
      Tensor C = Tensor::empty(Shape{M, n}, DType::F32);
      be.gemm(false, false, M, n, k, 1.0, A, B, 0.0, C);
      const std::vector<double> all = C.to_vector();
      for (int64_t m : {int64_t{1}, int64_t{2}, int64_t{3}, int64_t{7}, int64_t{8}, int64_t{20}, int64_t{97}}) {
        const Tensor Am = Tensor::from_floats(Shape{m, k}, std::vector<float>(a.begin(), a.begin() + m * k));
        Tensor Cm = Tensor::empty(Shape{m, n}, DType::F32);
        be.gemm(false, false, m, n, k, 1.0, Am, B, 0.0, Cm);
        const std::vector<double> part = Cm.to_vector();
        INFO("m " << m << " n " << n << " k " << k);
        CHECK(std::equal(part.begin(), part.end(), all.begin()));
      }
    }
}
