// Differentiable ops. Each computes its output through the backend of its inputs' device and,
// when grad mode is on and an input requires a gradient, records a node whose backward
// formula is in ops.cpp (all backward formulas of the engine live in that one file).
//
// Shape rules: binary ops broadcast numpy-style (shapes right-aligned, size-1 axes stretch);
// the batch axis is axis 0 and the time axis is axis 1 of [B, T, F] sequences. Every shape,
// dtype or device mistake throws std::invalid_argument naming the op and the shapes.
#pragma once

#include <cstdint>
#include <vector>

#include "tg/autograd.h"
#include "tg/backend.h"  // the op tables
#include "tg/rnn_spec.h"

namespace tg {

// ---- elementwise -------------------------------------------------------------------------
// One function per op of the tables in tg/backend.h, broadcasting binary ones:
// add(a, b), sub, mul, div; neg(x), sigmoid, tanh, sqrt, abs, square, exp, log.
#define TG_DECLARE_BINARY_(Op, fn) Var fn(const Var& a, const Var& b);
#define TG_DECLARE_UNARY_(Op, fn) Var fn(const Var& x);
TG_BINARY_OPS(TG_DECLARE_BINARY_)
TG_UNARY_OPS(TG_DECLARE_UNARY_)
#undef TG_DECLARE_BINARY_
#undef TG_DECLARE_UNARY_
Var scale(const Var& x, double s);       // x * s
Var add_scalar(const Var& x, double s);  // x + s

inline Var operator+(const Var& a, const Var& b) { return add(a, b); }
inline Var operator-(const Var& a, const Var& b) { return sub(a, b); }
inline Var operator*(const Var& a, const Var& b) { return mul(a, b); }
inline Var operator/(const Var& a, const Var& b) { return div(a, b); }
inline Var operator*(const Var& a, double s) { return scale(a, s); }
inline Var operator*(double s, const Var& a) { return scale(a, s); }
inline Var operator+(const Var& a, double s) { return add_scalar(a, s); }

// ---- reductions --------------------------------------------------------------------------
Var sum(const Var& x);          // over everything -> shape []
Var mean(const Var& x);         // over everything -> shape []
Var mean_batch(const Var& x);   // over axis 0: [B, ...] -> [...]
Var var_batch(const Var& x);    // population variance over axis 0: [B, ...] -> [...]

// ---- layout ------------------------------------------------------------------------------
Var reshape(const Var& x, const Shape& s);
/// x[:, start:end] along axis 1 of a rank >= 2 tensor (negative indices count from the end).
Var slice_time(const Var& x, int64_t start, int64_t end);
/// x[start:end] along axis 0.
Var slice_batch(const Var& x, int64_t start, int64_t end);
/// Concatenation along axis 0 (all other axes equal).
Var concat_batch(const std::vector<Var>& xs);
/// x[..., from:from+count] along the last axis (count >= 1).
Var slice_last(const Var& x, int64_t from, int64_t count);
/// Concatenation along the last axis (all other axes equal).
Var concat_last(const std::vector<Var>& xs);
/// [x[b, t, :], c[b, :]] at every step: x [B, T, d], c [B, C] -> [B, T, d + C] (per-sequence
/// features, e.g. a condition, appended to every step's input); gradients flow to both.
Var append_to_steps(const Var& x, const Var& c);
/// y[b, lengths[b]-1, :] of a [B, T, F] tensor -> [B, F] (the state at each sequence's end).
Var last_valid_step(const Var& y, const std::vector<int32_t>& lengths);

// ---- layers ------------------------------------------------------------------------------
/// Time-distributed dense layer: x [..., in] W [in, out] + b [out] (b may be undefined).
Var linear(const Var& x, const Var& w, const Var& b);
/// The same with the weight stored transposed (PyTorch's and cuDNN's layout): x [..., in] W^T + b,
/// W [out, in], b [out] (may be undefined).
Var linear_t(const Var& x, const Var& w, const Var& b);

/// A fused stack of `layers` recurrent layers of one cell kind (rnn_spec.h).
/// x [B, T, in]; weights: layers * rnn_weights_per_layer(cell), layer-major (rnn_spec.h);
/// lengths: B values in [0, T], or empty for all T; h0 (and c0 for LSTM cells): [L, B, H] or
/// undefined for zeros. Returns the top layer's outputs [B, T, H] (zero past each length).
///
/// It runs the backend's fused stack (Backend::rnn_forward / rnn_backward) where the backend
/// provides one (Backend::provides_rnn), and rnn_composed otherwise.
Var rnn(const RnnSpec& spec, const Var& x, const std::vector<Var>& weights,
        const std::vector<int32_t>& lengths = {}, const Var& h0 = Var(), const Var& c0 = Var());
/// The same stack composed of the ops above, step by step (engine/src/rnn_composed.cpp): what
/// rnn() runs on a backend without a fused stack, so that a new backend trains every model
/// once it has the primitives. Arguments as rnn()'s, checked the same way.
Var rnn_composed(const RnnSpec& spec, const Var& x, const std::vector<Var>& weights,
                 const std::vector<int32_t>& lengths = {}, const Var& h0 = Var(), const Var& c0 = Var());

// ---- losses ------------------------------------------------------------------------------
/// Elementwise max(z,0) - z*label + log(1 + exp(-|z|)) (sigmoid cross-entropy on logits).
Var sigmoid_cross_entropy(const Var& logits, double label);
/// mean((a - b)^2) over every element.
Var mse(const Var& a, const Var& b);
/// mean(|a - b|) over every element.
Var l1(const Var& a, const Var& b);

// ---- plain tensor helpers (no autograd) ----------------------------------------------------
/// The checks of rnn() and rnn_composed(): std::invalid_argument naming `op` for an input that
/// is not [B, T, F] with B, T, F >= 1, a wrong weight count or shape, lengths outside [0, T], an
/// initial state that is not [layers, B, H] (or a c0 for a cell without one).
void check_rnn_call(const char* op, const RnnSpec& spec, const Var& x, const std::vector<Var>& weights,
                    const std::vector<int32_t>& lengths, const Var& h0, const Var& c0);
/// Broadcast shape of a and b, or std::invalid_argument naming `op` and both shapes.
Shape broadcast_shape(const Shape& a, const Shape& b, const char* op);

}  // namespace tg
