// The recurrent stack composed of the differentiable ops (tg/ops.h): what rnn() runs on a
// backend that does not provide the fused stack (Backend::provides_rnn), so that a new backend
// trains every model once it has the primitives. The cells' formulas are rnn_spec.h's, step by
// step and layer by layer; the backward is the ops' own. Slow (a few dozen ops per step) but the
// same mathematics as the fused kernels: tests/test_engine_ops.cpp checks values and gradients
// against the CPU's fused stack.
#include <stdexcept>
#include <string>
#include <vector>

#include "tg/ops.h"

namespace tg {
namespace {

Var constant(const Shape& s, double v, const Var& like) {
  return Var(Tensor::full(s, v, like.value().dtype(), like.value().device()));
}
Var one_minus(const Var& x) { return add_scalar(neg(x), 1.0); }

// One layer's weights and its hidden width.
struct Step {
  const Var* w;  // this layer's rnn_weights_per_layer(cell) weights
  int64_t H;
};

// mean over the last axis of x [B, n] -> [B, 1], as a product with a column of 1/n
Var row_mean(const Var& x, int64_t n) { return linear(x, constant(Shape{n, 1}, 1.0 / static_cast<double>(n), x), Var()); }
// (x - mean) / sqrt(var + eps) over the last axis of x [B, n] (tf.contrib's layer_norm)
Var normalize(const Var& x, int64_t n) {
  const Var centred = sub(x, row_mean(x, n));
  return div(centred, sqrt(add_scalar(row_mean(square(centred), n), kLstmLnEpsilon)));
}

// One time step of one layer: x [B, in], h (and c) [B, H] -> the new h (and c).
void cell_step(Cell cell, const Step& s, const Var& x, Var& h, Var& c) {
  const Var* w = s.w;
  const int64_t H = s.H;
  switch (cell) {
    case Cell::GruTf1: {
      const Var g = sigmoid(linear(concat_last({x, h}), w[0], w[1]));
      const Var r = slice_last(g, 0, H), u = slice_last(g, H, H);
      const Var cand = tanh(linear(concat_last({x, mul(r, h)}), w[2], w[3]));
      h = add(mul(u, h), mul(one_minus(u), cand));
      return;
    }
    case Cell::GruResetAfter: {
      const Var a = linear_t(x, w[0], w[2]), q = linear_t(h, w[1], w[3]);
      const Var r = sigmoid(add(slice_last(a, 0, H), slice_last(q, 0, H)));
      const Var z = sigmoid(add(slice_last(a, H, H), slice_last(q, H, H)));
      const Var n = tanh(add(slice_last(a, 2 * H, H), mul(r, slice_last(q, 2 * H, H))));
      h = add(mul(one_minus(z), n), mul(z, h));
      return;
    }
    case Cell::Lstm: {
      const Var a = linear(concat_last({x, h}), w[0], w[1]);
      const Var i = sigmoid(slice_last(a, 0, H)), j = tanh(slice_last(a, H, H));
      const Var f = sigmoid(add_scalar(slice_last(a, 2 * H, H), kLstmForgetBias)), o = sigmoid(slice_last(a, 3 * H, H));
      c = add(mul(c, f), mul(i, j));
      h = mul(tanh(c), o);
      return;
    }
    case Cell::LstmLn: {
      const Var a = linear(concat_last({x, h}), w[0], Var());
      Var act[4];
      for (int k = 0; k < 4; ++k)
        act[k] = add(mul(normalize(slice_last(a, k * H, H), H), slice_last(w[1], k * H, H)), slice_last(w[2], k * H, H));
      const Var i = sigmoid(act[0]), j = tanh(act[1]), f = sigmoid(add_scalar(act[2], kLstmForgetBias)),
                o = sigmoid(act[3]);
      c = add(mul(normalize(add(mul(c, f), mul(i, j)), H), w[3]), w[4]);
      h = mul(tanh(c), o);
      return;
    }
  }
  throw std::invalid_argument("rnn_composed: unknown cell");
}

}  // namespace

Var rnn_composed(const RnnSpec& spec, const Var& x, const std::vector<Var>& weights, const std::vector<int32_t>& lengths,
                 const Var& h0, const Var& c0) {
  check_rnn_call("rnn_composed", spec, x, weights, lengths, h0, c0);
  const int64_t B = x.shape()[0], T = x.shape()[1], H = spec.hidden;
  const int npl = rnn_weights_per_layer(spec.cell);
  const bool has_c = cell_has_c(spec.cell);
  // per step, which rows are still inside their sequence: [B, 1] of 1 and 0 (none: all are)
  std::vector<Var> active;
  if (!lengths.empty())
    for (int64_t t = 0; t < T; ++t) {
      std::vector<double> m(static_cast<size_t>(B));
      for (int64_t b = 0; b < B; ++b) m[static_cast<size_t>(b)] = t < lengths[static_cast<size_t>(b)] ? 1.0 : 0.0;
      active.push_back(Var(Tensor::from_vector(Shape{B, 1}, m, x.value().dtype(), x.value().device())));
    }
  Var in = x;
  for (int l = 0; l < spec.layers; ++l) {
    auto initial = [&](const Var& s) {
      return s.defined() ? reshape(slice_batch(s, l, l + 1), Shape{B, H}) : constant(Shape{B, H}, 0.0, x);
    };
    Var h = initial(h0), c = has_c ? initial(c0) : Var();
    const Step step{&weights[static_cast<size_t>(l * npl)], H};
    const int64_t width = in.shape()[2];
    std::vector<Var> ys;
    for (int64_t t = 0; t < T; ++t) {
      const Var xt = reshape(slice_time(in, t, t + 1), Shape{B, width});
      Var hn = h, cn = c;
      cell_step(spec.cell, step, xt, hn, cn);
      if (active.empty()) {
        h = hn;
        c = cn;
        ys.push_back(hn);
      } else {
        // TF dynamic_rnn: past its length a row outputs 0 and keeps its state. By masks, not by
        // skipping the row as the fused kernels do: the same for the finite values of padded
        // data (0 x a non-finite value computed past a length would not be).
        const Var& m = active[static_cast<size_t>(t)];
        const Var keep = one_minus(m);
        h = add(mul(m, hn), mul(keep, h));
        if (has_c) c = add(mul(m, cn), mul(keep, c));
        ys.push_back(mul(m, hn));
      }
    }
    in = reshape(concat_last(ys), Shape{B, T, H});  // T >= 1 (check_rnn_call)
  }
  return in;
}

}  // namespace tg
