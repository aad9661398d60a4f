// Every differentiable op of the engine with its backward formula, in one place.
//
// Pattern: check shapes, compute the value through the backend, then `record` a node whose
// backward lambda turns self.grad (dL/d output) into gradients for the inputs that require
// one (accumulate_grad). Gradients are always fresh tensors, never views of another's grad.
#include "tg/ops.h"

#include <algorithm>
#include <sstream>
#include <stdexcept>

#include "tg/backend.h"

namespace tg {
namespace {

using BackwardFn = std::function<void(Node&)>;

[[noreturn]] void fail(const char* op, const std::string& what) {
  throw std::invalid_argument(std::string(op) + ": " + what);
}

void check_same(const char* op, const Var& a, const Var& b) {
  if (!a.defined() || !b.defined()) fail(op, "undefined input");
  if (a.dtype() != b.dtype())
    fail(op, std::string("dtype mismatch ") + dtype_name(a.dtype()) + " " + a.shape().str() +
                 " vs " + dtype_name(b.dtype()) + " " + b.shape().str());
  if (a.device() != b.device())
    fail(op, std::string("device mismatch ") + device_name(a.device()) + " " + a.shape().str() +
                 " vs " + device_name(b.device()) + " " + b.shape().str());
}

Backend& be_of(const Tensor& t) { return backend_for(t.device()); }

Tensor empty_like(const Tensor& t, const Shape& s) { return Tensor::empty(s, t.dtype(), t.device()); }
Tensor empty_like(const Tensor& t) { return empty_like(t, t.shape()); }

/// Makes the output Var; records a node when grad mode is on and an input requires a grad.
Var record(const char* op, Tensor value, std::vector<Var> inputs, BackwardFn backward) {
  bool needs = false;
  if (grad_enabled())
    for (const auto& in : inputs) needs = needs || in.requires_grad();
  if (!needs) return Var(std::move(value), false);
  auto n = std::make_shared<Node>();
  n->value = std::move(value);
  n->requires_grad = true;
  n->is_leaf = false;
  n->op = op;
  for (auto& in : inputs) n->inputs.push_back(in.node());
  n->backward = std::move(backward);
  return Var::from_node(std::move(n));
}

bool wants(const Node& self, size_t i) { return self.inputs[i]->requires_grad; }

// Tensor-level helpers.
Tensor t_binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  Tensor out = empty_like(a, broadcast_shape(a.shape(), b.shape(), binary_name(op)));
  be_of(a).binary(op, a, b, out);
  return out;
}
Tensor t_sum_to(const Tensor& x, const Shape& s) {
  if (x.shape() == s) return x;
  Tensor out = empty_like(x, s);
  be_of(x).sum_to(x, out, false);
  return out;
}
Tensor t_scale(const Tensor& x, double s) {
  Tensor out = empty_like(x);
  be_of(x).axpby(s, x, 0.0, out);
  return out;
}

Var binary_op(BinaryOp op, const Var& a, const Var& b) {
  check_same(binary_name(op), a, b);
  Tensor out = t_binary(op, a.value(), b.value());
  return record(binary_name(op), out, {a, b}, [op](Node& self) {
    const Tensor& g = self.grad;
    const Tensor& av = self.inputs[0]->value;
    const Tensor& bv = self.inputs[1]->value;
    switch (op) {
      case BinaryOp::Add:
        if (wants(self, 0)) accumulate_grad(*self.inputs[0], t_sum_to(g, av.shape()));
        if (wants(self, 1)) accumulate_grad(*self.inputs[1], t_sum_to(g, bv.shape()));
        break;
      case BinaryOp::Sub:
        if (wants(self, 0)) accumulate_grad(*self.inputs[0], t_sum_to(g, av.shape()));
        if (wants(self, 1)) accumulate_grad(*self.inputs[1], t_scale(t_sum_to(g, bv.shape()), -1.0));
        break;
      case BinaryOp::Mul:  // d(a*b) = b da + a db
        if (wants(self, 0)) accumulate_grad(*self.inputs[0], t_sum_to(t_binary(BinaryOp::Mul, g, bv), av.shape()));
        if (wants(self, 1)) accumulate_grad(*self.inputs[1], t_sum_to(t_binary(BinaryOp::Mul, g, av), bv.shape()));
        break;
      case BinaryOp::Div:  // d(a/b) = da / b - (a/b) db / b
        if (wants(self, 0)) accumulate_grad(*self.inputs[0], t_sum_to(t_binary(BinaryOp::Div, g, bv), av.shape()));
        if (wants(self, 1)) {
          Tensor q = t_binary(BinaryOp::Div, t_binary(BinaryOp::Mul, g, self.value), bv);
          accumulate_grad(*self.inputs[1], t_scale(t_sum_to(q, bv.shape()), -1.0));
        }
        break;
    }
  });
}

Var unary_op(UnaryOp op, const Var& x) {
  if (!x.defined()) fail(unary_name(op), "undefined input");
  Tensor out = empty_like(x.value());
  be_of(out).unary(op, x.value(), out);
  return record(unary_name(op), out, {x}, [op](Node& self) {
    const Tensor& xv = self.inputs[0]->value;
    Tensor gx = empty_like(xv);
    be_of(xv).unary_backward(op, xv, self.value, self.grad, gx, false);  // gy * f'(x)
    accumulate_grad(*self.inputs[0], gx);
  });
}

int64_t norm_index(int64_t i, int64_t n) { return i < 0 ? i + n : i; }

}  // namespace

Shape broadcast_shape(const Shape& a, const Shape& b, const char* op) {
  const int r = std::max(a.rank(), b.rank());
  std::vector<int64_t> d(static_cast<size_t>(r));
  for (int i = 1; i <= r; ++i) {
    const int64_t da = i <= a.rank() ? a[-i] : 1, db = i <= b.rank() ? b[-i] : 1;
    if (da != db && da != 1 && db != 1)
      fail(op, "shapes " + a.str() + " and " + b.str() + " do not broadcast");
    d[static_cast<size_t>(r - i)] = da == 1 ? db : da;
  }
  return Shape(d);
}

// ---- elementwise -------------------------------------------------------------------------
#define TG_DEFINE_BINARY_(Op, fn) \
  Var fn(const Var& a, const Var& b) { return binary_op(BinaryOp::Op, a, b); }
#define TG_DEFINE_UNARY_(Op, fn) \
  Var fn(const Var& x) { return unary_op(UnaryOp::Op, x); }
TG_BINARY_OPS(TG_DEFINE_BINARY_)
TG_UNARY_OPS(TG_DEFINE_UNARY_)
#undef TG_DEFINE_BINARY_
#undef TG_DEFINE_UNARY_

Var scale(const Var& x, double s) {
  if (!x.defined()) fail("scale", "undefined input");
  return record("scale", t_scale(x.value(), s), {x}, [s](Node& self) {
    accumulate_grad(*self.inputs[0], t_scale(self.grad, s));
  });
}

Var add_scalar(const Var& x, double s) {
  if (!x.defined()) fail("add_scalar", "undefined input");
  Tensor c = Tensor::full(Shape{}, s, x.dtype(), x.device());
  Tensor out = t_binary(BinaryOp::Add, x.value(), c);
  return record("add_scalar", out, {x}, [](Node& self) { accumulate_grad(*self.inputs[0], self.grad); });
}

// ---- reductions --------------------------------------------------------------------------
Var sum(const Var& x) {
  if (!x.defined()) fail("sum", "undefined input");
  Tensor out = empty_like(x.value(), Shape{});
  be_of(out).sum_to(x.value(), out, false);
  return record("sum", out, {x}, [](Node& self) {
    const Tensor& xv = self.inputs[0]->value;
    Tensor g = empty_like(xv);
    be_of(xv).fill(g, 0.0);
    Tensor ones = g;  // g = 0 + broadcast(grad)
    be_of(xv).binary(BinaryOp::Add, ones, self.grad, g);
    accumulate_grad(*self.inputs[0], g);
  });
}

Var mean(const Var& x) {
  if (!x.defined()) fail("mean", "undefined input");
  if (x.value().numel() == 0) fail("mean", "empty tensor " + x.shape().str());
  return scale(sum(x), 1.0 / static_cast<double>(x.value().numel()));
}

Var mean_batch(const Var& x) {
  if (!x.defined() || x.value().rank() < 1) fail("mean_batch", "needs a tensor of rank >= 1");
  if (x.shape()[0] == 0) fail("mean_batch", "empty batch axis in " + x.shape().str());
  std::vector<int64_t> d = x.shape().dims();
  d.erase(d.begin());
  Tensor out = empty_like(x.value(), Shape(d));
  be_of(out).mean_axis0(x.value(), out);
  return record("mean_batch", out, {x}, [](Node& self) {
    const Tensor& xv = self.inputs[0]->value;
    Tensor g = empty_like(xv);
    be_of(xv).fill(g, 0.0);
    Tensor z = g;
    be_of(xv).binary(BinaryOp::Add, z, self.grad, g);  // broadcast over the batch axis
    accumulate_grad(*self.inputs[0], t_scale(g, 1.0 / static_cast<double>(xv.dim(0))));
  });
}

Var var_batch(const Var& x) {
  if (!x.defined() || x.value().rank() < 1) fail("var_batch", "needs a tensor of rank >= 1");
  if (x.shape()[0] == 0) fail("var_batch", "empty batch axis in " + x.shape().str());
  std::vector<int64_t> d = x.shape().dims();
  d.erase(d.begin());
  Tensor out = empty_like(x.value(), Shape(d));
  be_of(out).var_axis0(x.value(), out);
  return record("var_batch", out, {x}, [](Node& self) {
    const Tensor& xv = self.inputs[0]->value;
    Tensor g = empty_like(xv);
    be_of(xv).var_axis0_backward(xv, self.grad, g, false);  // 2 (x - mean) / B * gy
    accumulate_grad(*self.inputs[0], g);
  });
}

// ---- layout ------------------------------------------------------------------------------
Var reshape(const Var& x, const Shape& s) {
  if (!x.defined()) fail("reshape", "undefined input");
  Tensor out;
  try {
    out = x.value().reshape(s);
  } catch (const std::invalid_argument&) {
    fail("reshape", "cannot view " + x.shape().str() + " as " + s.str());
  }
  return record("reshape", out, {x}, [](Node& self) {
    accumulate_grad(*self.inputs[0], self.grad.reshape(self.inputs[0]->value.shape()));
  });
}

Var slice_time(const Var& x, int64_t start, int64_t end) {
  if (!x.defined() || x.value().rank() < 2)
    fail("slice_time", "needs a tensor of rank >= 2, got " + (x.defined() ? x.shape().str() : std::string("undefined")));
  const int64_t T = x.shape()[1];
  start = norm_index(start, T);
  end = norm_index(end, T);
  if (start < 0 || end > T || start > end)
    fail("slice_time", "range [" + std::to_string(start) + ", " + std::to_string(end) + ") outside axis 1 of " + x.shape().str());
  std::vector<int64_t> d = x.shape().dims();
  const int64_t B = d[0], inner = x.value().numel() / (B * std::max<int64_t>(T, 1));
  d[1] = end - start;
  Tensor out = empty_like(x.value(), Shape(d));
  if (out.numel() > 0)
    be_of(out).copy_rows(out, 0, (end - start) * inner, x.value(), start * inner, T * inner, B,
                         (end - start) * inner, false);
  return record("slice_time", out, {x}, [start, end, B, T, inner](Node& self) {
    const Tensor& xv = self.inputs[0]->value;
    Tensor g = empty_like(xv);
    be_of(xv).fill(g, 0.0);
    if (self.grad.numel() > 0)
      be_of(xv).copy_rows(g, start * inner, T * inner, self.grad, 0, (end - start) * inner, B,
                          (end - start) * inner, false);
    accumulate_grad(*self.inputs[0], g);
  });
}

Var slice_batch(const Var& x, int64_t start, int64_t end) {
  if (!x.defined() || x.value().rank() < 1) fail("slice_batch", "needs a tensor of rank >= 1");
  const int64_t B = x.shape()[0];
  start = norm_index(start, B);
  end = norm_index(end, B);
  if (start < 0 || end > B || start > end)
    fail("slice_batch", "range [" + std::to_string(start) + ", " + std::to_string(end) + ") outside axis 0 of " + x.shape().str());
  std::vector<int64_t> d = x.shape().dims();
  const int64_t inner = B == 0 ? 0 : x.value().numel() / B;
  d[0] = end - start;
  Tensor out = empty_like(x.value(), Shape(d));
  if (out.numel() > 0) be_of(out).copy_rows(out, 0, 0, x.value(), start * inner, 0, 1, out.numel(), false);
  return record("slice_batch", out, {x}, [start, inner](Node& self) {
    const Tensor& xv = self.inputs[0]->value;
    Tensor g = empty_like(xv);
    be_of(xv).fill(g, 0.0);
    if (self.grad.numel() > 0)
      be_of(xv).copy_rows(g, start * inner, 0, self.grad, 0, 0, 1, self.grad.numel(), false);
    accumulate_grad(*self.inputs[0], g);
  });
}

Var concat_batch(const std::vector<Var>& xs) {
  if (xs.empty()) fail("concat_batch", "no inputs");
  std::vector<int64_t> d = xs[0].shape().dims();
  if (d.empty()) fail("concat_batch", "scalar input");
  int64_t B = 0;
  for (const auto& x : xs) {
    check_same("concat_batch", xs[0], x);
    std::vector<int64_t> e = x.shape().dims();
    bool ok = e.size() == d.size();
    for (size_t i = 1; ok && i < d.size(); ++i) ok = e[i] == d[i];
    if (!ok) fail("concat_batch", "shapes " + xs[0].shape().str() + " and " + x.shape().str() + " differ beyond axis 0");
    B += e[0];
  }
  d[0] = B;
  Tensor out = empty_like(xs[0].value(), Shape(d));
  int64_t off = 0;
  std::vector<int64_t> offsets;
  for (const auto& x : xs) {
    offsets.push_back(off);
    if (x.value().numel() > 0) be_of(out).copy_rows(out, off, 0, x.value(), 0, 0, 1, x.value().numel(), false);
    off += x.value().numel();
  }
  return record("concat_batch", out, xs, [offsets](Node& self) {
    for (size_t i = 0; i < self.inputs.size(); ++i) {
      if (!wants(self, i)) continue;
      const Tensor& xv = self.inputs[i]->value;
      Tensor g = empty_like(xv);
      if (xv.numel() > 0) be_of(xv).copy_rows(g, 0, 0, self.grad, offsets[i], 0, 1, xv.numel(), false);
      accumulate_grad(*self.inputs[i], g);
    }
  });
}

Var slice_last(const Var& x, int64_t from, int64_t count) {
  if (!x.defined() || x.value().rank() < 1)
    fail("slice_last", "needs a tensor of rank >= 1, got " + (x.defined() ? x.shape().str() : std::string("undefined")));
  const int64_t d = x.shape()[-1];
  if (from < 0 || count < 1 || from + count > d)
    fail("slice_last", "[" + std::to_string(from) + ", " + std::to_string(from + count) + ") is not within the last axis of " +
                           x.shape().str());
  std::vector<int64_t> dims = x.shape().dims();
  const int64_t rows = x.value().numel() / d;  // d >= count >= 1
  dims.back() = count;
  Tensor out = empty_like(x.value(), Shape(dims));
  if (rows > 0) be_of(out).copy_rows(out, 0, count, x.value(), from, d, rows, count, false);
  return record("slice_last", out, {x}, [from, count, d, rows](Node& self) {
    const Tensor& xv = self.inputs[0]->value;
    Tensor g = empty_like(xv);
    be_of(xv).fill(g, 0.0);
    if (rows > 0) be_of(xv).copy_rows(g, from, d, self.grad, 0, count, rows, count, false);
    accumulate_grad(*self.inputs[0], g);
  });
}

Var concat_last(const std::vector<Var>& xs) {
  if (xs.empty()) fail("concat_last", "needs at least one tensor");
  std::vector<int64_t> offsets, widths;
  int64_t width = 0;
  for (const Var& x : xs) {
    if (!x.defined() || x.value().rank() < 1) fail("concat_last", "needs tensors of rank >= 1");
    check_same("concat_last", xs[0], x);
    std::vector<int64_t> a = x.shape().dims(), b = xs[0].shape().dims();
    a.back() = b.back() = 0;
    if (a != b) fail("concat_last", "shapes " + xs[0].shape().str() + " and " + x.shape().str() + " differ before the last axis");
    offsets.push_back(width);
    widths.push_back(x.shape()[-1]);
    width += x.shape()[-1];
  }
  std::vector<int64_t> dims = xs[0].shape().dims();
  int64_t n_rows = 1;  // the product of the axes before the last
  for (size_t i = 0; i + 1 < dims.size(); ++i) n_rows *= dims[i];
  dims.back() = width;
  Tensor out = empty_like(xs[0].value(), Shape(dims));
  for (size_t i = 0; i < xs.size(); ++i)
    if (n_rows > 0 && widths[i] > 0)
      be_of(out).copy_rows(out, offsets[i], width, xs[i].value(), 0, widths[i], n_rows, widths[i], false);
  return record("concat_last", out, xs, [offsets, widths, width, n_rows](Node& self) {
    for (size_t i = 0; i < self.inputs.size(); ++i) {
      if (!wants(self, i)) continue;
      const Tensor& xv = self.inputs[i]->value;
      Tensor g = empty_like(xv);
      if (n_rows > 0 && widths[i] > 0) be_of(xv).copy_rows(g, 0, widths[i], self.grad, offsets[i], width, n_rows, widths[i], false);
      accumulate_grad(*self.inputs[i], g);
    }
  });
}

Var append_to_steps(const Var& x, const Var& c) {
  if (!x.defined() || !c.defined() || x.value().rank() != 3 || c.value().rank() != 2 ||
      c.shape()[0] != x.shape()[0])
    fail("append_to_steps", "needs x [B, T, d] and c [B, C], got " +
                                (x.defined() ? x.shape().str() : std::string("undefined")) + " and " +
                                (c.defined() ? c.shape().str() : std::string("undefined")));
  check_same("append_to_steps", x, c);
  const int64_t B = x.shape()[0], T = x.shape()[1], d = x.shape()[2], C = c.shape()[1], w = d + C;
  Tensor out = empty_like(x.value(), Shape{B, T, w});
  // Strided block copies only (no host data, so nothing crosses to a device): x's rows in one
  // copy, c's row b at each of the T steps of sequence b in another.
  if (B * T > 0) {
    if (d > 0) be_of(out).copy_rows(out, 0, w, x.value(), 0, d, B * T, d, false);
    if (C > 0) be_of(out).broadcast_rows(out, d, w, c.value(), C, B, T, C);
  }
  return record("append_to_steps", out, {x, c}, [B, T, d, C, w](Node& self) {
    if (wants(self, 0)) {
      const Tensor& xv = self.inputs[0]->value;
      Tensor g = empty_like(xv);
      if (B * T * d > 0) be_of(xv).copy_rows(g, 0, d, self.grad, 0, w, B * T, d, false);
      accumulate_grad(*self.inputs[0], g);
    }
    if (wants(self, 1)) {
      const Tensor& cv = self.inputs[1]->value;
      Tensor g = empty_like(cv);
      if (T == 0)
        be_of(cv).fill(g, 0.0);
      else if (B * C > 0)  // the sum over steps, in step order
        be_of(cv).sum_row_groups(g, C, self.grad, d, w, B, T, C);
      accumulate_grad(*self.inputs[1], g);
    }
  });
}

Var last_valid_step(const Var& y, const std::vector<int32_t>& lengths) {
  if (!y.defined() || y.value().rank() != 3)
    fail("last_valid_step", "needs [B, T, F], got " + (y.defined() ? y.shape().str() : std::string("undefined")));
  const int64_t B = y.shape()[0], T = y.shape()[1], F = y.shape()[2];
  std::vector<int32_t> len = lengths.empty() ? std::vector<int32_t>(static_cast<size_t>(B), static_cast<int32_t>(T)) : lengths;
  if (static_cast<int64_t>(len.size()) != B)
    fail("last_valid_step", std::to_string(len.size()) + " lengths for " + y.shape().str());
  for (auto l : len)
    if (l < 1 || l > T) fail("last_valid_step", "length " + std::to_string(l) + " outside [1, " + std::to_string(T) + "]");
  Tensor out = empty_like(y.value(), Shape{B, F});
  for (int64_t b = 0; b < B; ++b)
    be_of(out).copy_rows(out, b * F, 0, y.value(), (b * T + len[static_cast<size_t>(b)] - 1) * F, 0, 1, F, false);
  return record("last_valid_step", out, {y}, [len, B, T, F](Node& self) {
    const Tensor& yv = self.inputs[0]->value;
    Tensor g = empty_like(yv);
    be_of(yv).fill(g, 0.0);
    for (int64_t b = 0; b < B; ++b)
      be_of(yv).copy_rows(g, (b * T + len[static_cast<size_t>(b)] - 1) * F, 0, self.grad, b * F, 0, 1, F, false);
    accumulate_grad(*self.inputs[0], g);
  });
}

// ---- layers ------------------------------------------------------------------------------
namespace {
// x [..., in] times W ([in, out], or [out, in] stored transposed) + b [out]: linear and linear_t.
Var dense(const char* op, const Var& x, const Var& w, const Var& b, bool transposed) {
  check_same(op, x, w);
  if (w.value().rank() != 2) fail(op, std::string("weight must be ") + (transposed ? "[out, in]" : "[in, out]") + ", got " + w.shape().str());
  const int64_t in = w.shape()[transposed ? 1 : 0], outd = w.shape()[transposed ? 0 : 1];
  if (x.value().rank() < 1 || x.shape()[-1] != in)
    fail(op, "input " + x.shape().str() + " does not end in " + std::to_string(in) + " for weight " + w.shape().str());
  if (b.defined()) {
    check_same(op, x, b);
    if (b.value().rank() != 1 || b.shape()[0] != outd)
      fail(op, "bias " + b.shape().str() + " does not match weight " + w.shape().str());
  }
  const int64_t rows = x.value().numel() / in;
  std::vector<int64_t> d = x.shape().dims();
  d.back() = outd;
  Tensor out = empty_like(x.value(), Shape(d));
  Backend& be = be_of(out);
  be.gemm(false, transposed, rows, outd, in, 1.0, x.value(), w.value(), 0.0, out);
  if (b.defined()) be.add_row_vector(b.value(), out);
  std::vector<Var> ins{x, w};
  if (b.defined()) ins.push_back(b);
  return record(op, out, ins, [rows, in, outd, transposed](Node& self) {
    const Tensor& g = self.grad;
    const Tensor& xv = self.inputs[0]->value;
    const Tensor& wv = self.inputs[1]->value;
    Backend& be = be_of(g);
    if (wants(self, 0)) {  // dx = g W^T (g W when stored transposed)
      Tensor gx = empty_like(xv);
      be.gemm(false, !transposed, rows, in, outd, 1.0, g, wv, 0.0, gx);
      accumulate_grad(*self.inputs[0], gx);
    }
    if (wants(self, 1)) {  // dW = x^T g (g^T x)
      Tensor gw = empty_like(wv);
      if (transposed)
        be.gemm(true, false, outd, in, rows, 1.0, g, xv, 0.0, gw);
      else
        be.gemm(true, false, in, outd, rows, 1.0, xv, g, 0.0, gw);
      accumulate_grad(*self.inputs[1], gw);
    }
    if (self.inputs.size() > 2 && wants(self, 2)) {  // db = sum over rows of g
      Tensor gb = empty_like(self.inputs[2]->value);
      be.sum_to(g.reshape(Shape{rows, outd}), gb, false);
      accumulate_grad(*self.inputs[2], gb);
    }
  });
}
}  // namespace

Var linear(const Var& x, const Var& w, const Var& b) { return dense("linear", x, w, b, false); }
Var linear_t(const Var& x, const Var& w, const Var& b) { return dense("linear_t", x, w, b, true); }

void check_rnn_call(const char* op, const RnnSpec& spec, const Var& x, const std::vector<Var>& weights,
                    const std::vector<int32_t>& lengths, const Var& h0, const Var& c0) {
  if (!x.defined() || x.value().rank() != 3)
    fail(op, "input must be [B, T, F], got " + (x.defined() ? x.shape().str() : std::string("undefined")));
  if (spec.layers < 1 || spec.hidden < 1)
    fail(op, "layers and hidden must be >= 1 (got " + std::to_string(spec.layers) + ", " + std::to_string(spec.hidden) + ")");
  const int npl = rnn_weights_per_layer(spec.cell);
  if (static_cast<int>(weights.size()) != spec.layers * npl)
    fail(op, std::string(cell_name(spec.cell)) + " stack of " + std::to_string(spec.layers) + " layers needs " +
                 std::to_string(spec.layers * npl) + " weights, got " + std::to_string(weights.size()));
  const int64_t B = x.shape()[0], T = x.shape()[1], in = x.shape()[2], H = spec.hidden;
  if (B < 1 || T < 1 || in < 1) fail(op, "input " + x.shape().str() + " is empty (every backend needs B, T, F >= 1)");
  for (int l = 0; l < spec.layers; ++l) {
    const auto shapes = rnn_weight_shapes(spec.cell, l == 0 ? in : H, H);
    for (int i = 0; i < npl; ++i) {
      const Var& w = weights[static_cast<size_t>(l * npl + i)];
      check_same(op, x, w);
      if (w.shape() != Shape(shapes[static_cast<size_t>(i)]))
        fail(op, "layer " + std::to_string(l) + " weight " + std::to_string(i) + " has shape " + w.shape().str() +
                     ", expected " + Shape(shapes[static_cast<size_t>(i)]).str() + " for input " + x.shape().str());
    }
  }
  if (!lengths.empty()) {
    if (static_cast<int64_t>(lengths.size()) != B)
      fail(op, std::to_string(lengths.size()) + " lengths for input " + x.shape().str());
    for (auto l : lengths)
      if (l < 0 || l > T) fail(op, "length " + std::to_string(l) + " outside [0, " + std::to_string(T) + "] for input " + x.shape().str());
  }
  const Shape sshape{spec.layers, B, H};
  for (const Var* s : {&h0, &c0}) {
    if (!s->defined()) continue;
    check_same(op, x, *s);
    if (s->shape() != sshape) fail(op, "initial state " + s->shape().str() + ", expected " + sshape.str());
  }
  if (c0.defined() && !cell_has_c(spec.cell)) fail(op, std::string("cell ") + cell_name(spec.cell) + " has no c state");

}

Var rnn(const RnnSpec& spec, const Var& x, const std::vector<Var>& weights,
        const std::vector<int32_t>& lengths, const Var& h0, const Var& c0) {
  check_rnn_call("rnn", spec, x, weights, lengths, h0, c0);
  const int64_t B = x.shape()[0], T = x.shape()[1], in = x.shape()[2], H = spec.hidden;
  Backend& be = be_of(x.value());
  if (!be.provides_rnn()) return rnn_composed(spec, x, weights, lengths, h0, c0);
  RnnSpec call = spec;
  call.batch = static_cast<int>(B);
  call.seq = static_cast<int>(T);
  call.input = static_cast<int>(in);
  std::vector<Tensor> wt;
  for (const auto& w : weights) wt.push_back(w.value());
  Tensor y = empty_like(x.value(), Shape{B, T, H});
  bool training = grad_enabled() && x.requires_grad();
  for (const auto& w : weights) training = training || (grad_enabled() && w.requires_grad());
  training = training || (grad_enabled() && ((h0.defined() && h0.requires_grad()) || (c0.defined() && c0.requires_grad())));
  Tensor hT, cT;
  const int32_t* lp = lengths.empty() ? nullptr : lengths.data();
  std::shared_ptr<RnnSaved> saved = be.rnn_forward(call, wt, x.value(), lp, h0.defined() ? h0.value() : Tensor(),
                                                   c0.defined() ? c0.value() : Tensor(), y, hT, cT, training);

  std::vector<Var> ins{x};
  ins.insert(ins.end(), weights.begin(), weights.end());
  const bool has_h0 = h0.defined(), has_c0 = c0.defined();
  if (has_h0) ins.push_back(h0);
  if (has_c0) ins.push_back(c0);
  const size_t nw = weights.size();
  return record("rnn", y, ins, [call, lengths, saved, nw, has_h0, has_c0](Node& self) {
    if (!saved) fail("rnn", "backward through a forward that ran without gradients");
    const Tensor& xv = self.inputs[0]->value;
    Backend& be = be_of(xv);
    std::vector<Tensor> wt, gw;
    bool any_w = false;  // frozen networks (e.g. the discriminator in a generator step) skip dW
    for (size_t i = 0; i < nw; ++i) any_w = any_w || wants(self, 1 + i);
    for (size_t i = 0; i < nw; ++i) {
      const Tensor& w = self.inputs[1 + i]->value;
      wt.push_back(w);
      if (any_w) gw.push_back(empty_like(w));
    }
    if (any_w) {  // the backward accumulates into them: zeroed together (one launch on a device)
      std::vector<Tensor*> zero;
      for (Tensor& g : gw) zero.push_back(&g);
      be.fill_multi(zero, 0.0);
    }
    size_t k = 1 + nw;
    Tensor h0v = has_h0 ? self.inputs[k++]->value : Tensor();
    Tensor c0v = has_c0 ? self.inputs[k]->value : Tensor();
    Tensor gx = empty_like(xv);
    Tensor gh0 = has_h0 ? empty_like(h0v) : Tensor();
    Tensor gc0 = has_c0 ? empty_like(c0v) : Tensor();
    be.rnn_backward(call, wt, xv, lengths.empty() ? nullptr : lengths.data(), h0v, c0v, *saved, self.grad, gx, gw,
                    gh0, gc0);
    if (wants(self, 0)) accumulate_grad(*self.inputs[0], gx);
    for (size_t i = 0; i < nw && any_w; ++i)
      if (wants(self, 1 + i)) accumulate_grad(*self.inputs[1 + i], gw[i]);
    k = 1 + nw;
    if (has_h0 && wants(self, k)) accumulate_grad(*self.inputs[k], gh0);
    if (has_h0) ++k;
    if (has_c0 && wants(self, k)) accumulate_grad(*self.inputs[k], gc0);
  });
}

// ---- losses ------------------------------------------------------------------------------
Var sigmoid_cross_entropy(const Var& logits, double label) {
  if (!logits.defined()) fail("sigmoid_cross_entropy", "undefined input");
  Tensor out = empty_like(logits.value());
  be_of(out).sigmoid_ce(logits.value(), label, out);
  return record("sigmoid_cross_entropy", out, {logits}, [label](Node& self) {
    const Tensor& z = self.inputs[0]->value;
    Tensor g = empty_like(z);
    be_of(z).sigmoid_ce_backward(z, label, self.grad, g, false);  // gy * (sigmoid(z) - label)
    accumulate_grad(*self.inputs[0], g);
  });
}

Var mse(const Var& a, const Var& b) {
  check_same("mse", a, b);
  if (a.shape() != b.shape()) fail("mse", "shapes " + a.shape().str() + " and " + b.shape().str() + " differ");
  return mean(square(sub(a, b)));
}

Var l1(const Var& a, const Var& b) {
  check_same("l1", a, b);
  if (a.shape() != b.shape()) fail("l1", "shapes " + a.shape().str() + " and " + b.shape().str() + " differ");
  return mean(abs(sub(a, b)));
}

}  // namespace tg
