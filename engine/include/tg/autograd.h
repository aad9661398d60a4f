// Reverse-mode automatic differentiation on a tape of nodes (flashlight-style).
//
// A Var is a handle to a Node: its value, its gradient (allocated on first use), the input
// nodes it was computed from and a backward function. Ops (ops.h) record nodes while grad
// mode is on and any input requires a gradient; backward(loss) walks the nodes reachable from
// the loss in reverse topological order. Gradients ACCUMULATE into leaves (parameters) until
// zero_grad(); intermediate gradients are released as soon as they have been propagated.
// Every backward formula lives in ops.cpp.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tg/tensor.h"

namespace tg {

struct Node {
  Tensor value;
  Tensor grad;               // undefined until a gradient arrives
  bool grad_owned = false;   // grad's storage belongs to this node (safe to add into)
  bool requires_grad = false;
  bool is_leaf = true;
  const char* op = "leaf";
  std::vector<std::shared_ptr<Node>> inputs;
  std::function<void(Node& self)> backward;  // reads self.grad, feeds inputs' grads
};

class Var {
 public:
  Var() = default;
  explicit Var(Tensor value, bool requires_grad = false);

  bool defined() const { return static_cast<bool>(node_); }
  const Tensor& value() const;
  /// Replace the value in place (parameters: loading a checkpoint, optimiser updates).
  Tensor& mutable_value();
  const Tensor& grad() const;  // undefined when no gradient has arrived
  bool has_grad() const { return node_ && node_->grad.defined(); }
  bool requires_grad() const { return node_ && node_->requires_grad; }
  void zero_grad();  // releases the gradient
  const Shape& shape() const { return value().shape(); }
  DType dtype() const { return value().dtype(); }
  Device device() const { return value().device(); }
  const char* op() const { return node_ ? node_->op : "undefined"; }
  /// A new leaf with the same value that does not require a gradient (cuts the graph).
  Var detach() const { return Var(value(), false); }

  const std::shared_ptr<Node>& node() const { return node_; }
  static Var from_node(std::shared_ptr<Node> n) {
    Var v;
    v.node_ = std::move(n);
    return v;
  }

 private:
  std::shared_ptr<Node> node_;
};

/// Whether ops currently record the tape.
bool grad_enabled();

/// Turns recording off in a scope (inference, metric evaluation, optimiser steps).
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

/// Accumulates g into n.grad (takes g's storage when n has no gradient yet).
void accumulate_grad(Node& n, const Tensor& g);

/// Back-propagates from a scalar (one-element) loss with seed gradient 1; or from any tensor
/// with an explicit seed of the same shape.
void backward(const Var& loss);
void backward(const Var& out, const Tensor& seed);

/// A named group of parameters: one per network, so each optimiser owns exactly its own.
struct ParamGroup {
  std::string name;
  std::vector<std::string> names;  // "layer0/W_gates", ...
  std::vector<Var> params;

  /// Adds a parameter (requires_grad) and returns its handle (Vars are shared handles).
  Var add(const std::string& pname, Tensor value);
  void zero_grad();
  int64_t numel() const;
  /// Concatenate with another group's parameters (for optimisers spanning two networks).
  void extend(const ParamGroup& other);
};

}  // namespace tg
