#include "tg/autograd.h"

#include <stdexcept>
#include <unordered_set>

#include "tg/backend.h"

namespace tg {

namespace {
thread_local bool g_grad_enabled = true;
}

bool grad_enabled() { return g_grad_enabled; }
NoGradGuard::NoGradGuard() : prev_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = prev_; }

Var::Var(Tensor value, bool requires_grad) : node_(std::make_shared<Node>()) {
  node_->value = std::move(value);
  node_->requires_grad = requires_grad;
}

const Tensor& Var::value() const {
  if (!node_) throw std::logic_error("Var: use of an undefined variable");
  return node_->value;
}
Tensor& Var::mutable_value() {
  if (!node_) throw std::logic_error("Var: use of an undefined variable");
  return node_->value;
}
const Tensor& Var::grad() const {
  if (!node_) throw std::logic_error("Var: use of an undefined variable");
  return node_->grad;
}
void Var::zero_grad() {
  if (node_) {
    node_->grad = Tensor();
    node_->grad_owned = false;
  }
}

void accumulate_grad(Node& n, const Tensor& g) {
  if (g.shape() != n.value.shape())
    throw std::logic_error(std::string("autograd: gradient of shape ") + g.shape().str() +
                           " for a value of shape " + n.value.shape().str() + " (op " + n.op + ")");
  if (!n.grad.defined()) {
    n.grad = g;
    n.grad_owned = false;
    return;
  }
  Backend& be = backend_for(n.value.device());
  if (!n.grad_owned) {
    // The first sum goes into a gradient of the node's own (the one it holds may be shared):
    // one op, the same bits as a copy followed by the accumulation below.
    Tensor sum = Tensor::empty(n.grad.shape(), n.grad.dtype(), n.grad.device());
    be.binary(BinaryOp::Add, g, n.grad, sum);
    n.grad = sum;
    n.grad_owned = true;
    return;
  }
  be.axpby(1.0, g, 1.0, n.grad);
}

void backward(const Var& loss) {
  if (loss.value().numel() != 1)
    throw std::invalid_argument("backward: loss of shape " + loss.shape().str() +
                                " is not a scalar; pass a seed gradient");
  backward(loss, Tensor::full(loss.shape(), 1.0, loss.dtype(), loss.device()));
}

void backward(const Var& out, const Tensor& seed) {
  if (!out.requires_grad())
    throw std::invalid_argument(std::string("backward: output of op '") + out.op() +
                                "' does not require a gradient (no parameter reaches it)");
  // Iterative DFS post-order gives a topological order (inputs before users).
  std::vector<Node*> order;
  std::unordered_set<Node*> seen;
  std::vector<std::pair<Node*, size_t>> stack{{out.node().get(), 0}};
  seen.insert(out.node().get());
  while (!stack.empty()) {
    auto& [n, i] = stack.back();
    if (i < n->inputs.size()) {
      Node* in = n->inputs[i++].get();
      if (in->requires_grad && !seen.count(in)) {
        seen.insert(in);
        stack.push_back({in, 0});
      }
    } else {
      order.push_back(n);
      stack.pop_back();
    }
  }
  accumulate_grad(*out.node(), seed);
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node* n = *it;
    if (n->is_leaf || !n->backward || !n->grad.defined()) continue;
    n->backward(*n);
    n->grad = Tensor();  // intermediate gradients are not kept
    n->grad_owned = false;
  }
}

Var ParamGroup::add(const std::string& pname, Tensor value) {
  names.push_back(pname);
  params.emplace_back(std::move(value), true);
  return params.back();
}

void ParamGroup::zero_grad() {
  for (auto& p : params) p.zero_grad();
}

int64_t ParamGroup::numel() const {
  int64_t n = 0;
  for (const auto& p : params) n += p.value().numel();
  return n;
}

void ParamGroup::extend(const ParamGroup& other) {
  for (size_t i = 0; i < other.params.size(); ++i) {
    names.push_back(other.name + "/" + other.names[i]);
    params.push_back(other.params[i]);
  }
}

}  // namespace tg
