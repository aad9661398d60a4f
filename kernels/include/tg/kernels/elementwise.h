// The elementwise ops of tg/backend.h's tables, each written once for the host and the device (as
// cells.h does for the recurrent cells): Unary<op>::f(x) and its derivative d(x, y) with y = f(x),
// Binary<op>::f(a, b). The CPU loops and the CUDA kernels are instantiated from these through
// with_unary / with_binary, which turn a run-time op into its compile-time definition.
#pragma once

#include <algorithm>
#include <cmath>

#include "tg/backend.h"
#include "tg/kernels/cells.h"

namespace tg::ew {

using cells::abs_;
using cells::log_;

template <UnaryOp>
struct Unary;
template <BinaryOp>
struct Binary;

// Each definition: f(x), then d(x, y), the derivative at x given y = f(x).
#define TG_UNARY_DEF_(Op, fx, dxy)                  \
  template <>                                       \
  struct Unary<UnaryOp::Op> {                       \
    template <typename T>                           \
    TG_HD static T f(T x) {                         \
      return fx;                                    \
    }                                               \
    template <typename T>                           \
    TG_HD static T d([[maybe_unused]] T x, [[maybe_unused]] T y) { \
      return dxy;                                   \
    }                                               \
  };
TG_UNARY_DEF_(Neg, -x, T(-1))
TG_UNARY_DEF_(Sigmoid, cells::sigmoid(x), y * (T(1) - y))
TG_UNARY_DEF_(Tanh, cells::tanh_(x), T(1) - y * y)
TG_UNARY_DEF_(Sqrt, cells::sqrt_(x), T(0.5) / y)
TG_UNARY_DEF_(Abs, abs_(x), x > T(0) ? T(1) : (x < T(0) ? T(-1) : T(0)))
TG_UNARY_DEF_(Square, x * x, T(2) * x)
TG_UNARY_DEF_(Exp, cells::exp_(x), y)
TG_UNARY_DEF_(Log, log_(x), T(1) / x)
#undef TG_UNARY_DEF_

#define TG_BINARY_DEF_(Op, expr)       \
  template <>                          \
  struct Binary<BinaryOp::Op> {        \
    template <typename T>              \
    TG_HD static T f(T a, T b) {       \
      return expr;                     \
    }                                  \
  };
TG_BINARY_DEF_(Add, a + b)
TG_BINARY_DEF_(Sub, a - b)
TG_BINARY_DEF_(Mul, a * b)
TG_BINARY_DEF_(Div, a / b)
#undef TG_BINARY_DEF_

/// Sigmoid cross-entropy of a logit z with label y, max(z, 0) - z y + log(1 + exp(-|z|)) (stable
/// for any z), and its derivative in z, sigmoid(z) - y.
template <typename T>
TG_HD T sigmoid_ce(T z, T y) {
#ifdef __CUDA_ARCH__
  return fmax(z, T(0)) - z * y + log1p(exp(-fabs(z)));
#else
  return std::max(z, T(0)) - z * y + std::log1p(std::exp(-std::abs(z)));
#endif
}
template <typename T>
TG_HD T sigmoid_ce_grad(T z, T y) {
  return cells::sigmoid(z) - y;
}

/// One element of an Adam update, either form (the step's constants differ: tg::AdamStep).
template <typename T>
TG_HD void adam_element(T& p, T g, T& m, T& v, T b1, T b2, T lr, T eps) {
  const T mi = b1 * m + (T(1) - b1) * g;
  const T vi = b2 * v + (T(1) - b2) * g * g;
  m = mi;
  v = vi;
  p -= lr * mi / (cells::sqrt_(vi) + eps);
}

/// with_unary(op, fn) calls fn(Unary<op>{}), with_binary(op, fn) fn(Binary<op>{}): the op's
/// definition as a type, for code instantiated per op.
#define TG_CASE_UNARY_(Op, name) \
  case UnaryOp::Op: fn(Unary<UnaryOp::Op>{}); return;
#define TG_CASE_BINARY_(Op, name) \
  case BinaryOp::Op: fn(Binary<BinaryOp::Op>{}); return;
#define TG_WITH_OP_(with, Enum, TABLE, CASE) \
  template <typename F>                      \
  void with(Enum op, F&& fn) {               \
    switch (op) { TABLE(CASE) }              \
  }
TG_WITH_OP_(with_unary, UnaryOp, TG_UNARY_OPS, TG_CASE_UNARY_)
TG_WITH_OP_(with_binary, BinaryOp, TG_BINARY_OPS, TG_CASE_BINARY_)
#undef TG_WITH_OP_
#undef TG_CASE_UNARY_
#undef TG_CASE_BINARY_

}  // namespace tg::ew
