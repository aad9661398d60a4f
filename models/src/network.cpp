#include "tg/models/network.h"

#include <stdexcept>

#include "tg/backend.h"
#include "tg/models/losses.h"
#include "tg/optim.h"

namespace tg::models {

std::vector<Tensor> init_rnn_layer(Cell cell, int input, int hidden, Rng& rng, DType dtype, Device device) {
  // Initial values from the cell's traits (rnn_spec.h): Glorot-uniform matrices drawn in weight
  // order (gru: the original's W_gates then W_cand; gate bias 1), constants for the rest.
  const CellTraits& tr = cell_traits(cell);
  const auto shapes = rnn_weight_shapes(cell, input, hidden);
  std::vector<Tensor> w;
  for (const auto& s : shapes) w.push_back(Tensor::empty(Shape(s), dtype, device));
  for (size_t i = 0; i < w.size(); ++i) {
    switch (tr.weights[i].init) {
      case RnnInit::Glorot: init_glorot_uniform(w[i], shapes[i][0], shapes[i][1], rng); break;
      case RnnInit::Zero: backend_for(device).fill(w[i], 0.0); break;
      case RnnInit::One: backend_for(device).fill(w[i], 1.0); break;
    }
  }
  return w;
}

Network::Network(std::string name, Cell cell, int layers, int input, int hidden, int output, Head head,
                 Rng& rng, DType dtype, Device device)
    : spec_{cell, layers, hidden}, input_(input), output_(output), head_kind_(head) {
  if (layers < 1 || input < 1 || hidden < 1 || output < 1)
    throw std::invalid_argument("network '" + name + "': layers, input, hidden and output must be >= 1");
  params_.name = std::move(name);
  for (int l = 0; l < layers; ++l) {
    auto w = init_rnn_layer(cell, l == 0 ? input : hidden, hidden, rng, dtype, device);
    for (size_t i = 0; i < w.size(); ++i)
      rnn_w_.push_back(params_.add("layer" + std::to_string(l) + "/" + cell_traits(cell).weights[i].name, w[i]));
  }
  Tensor hw = Tensor::empty(Shape{hidden, output}, dtype, device);
  init_glorot_uniform(hw, hidden, output, rng);
  head_w_ = params_.add("head/W", hw);
  head_b_ = params_.add("head/b", Tensor::zeros(Shape{output}, dtype, device));
}

Var Network::hidden_states(const Var& x, const std::vector<int32_t>& lengths) const {
  return rnn(spec_, x, rnn_w_, lengths);
}

Var Network::logits(const Var& h) const { return linear(h, head_w_, head_b_); }

Var Network::activate(const Var& y) const {
  if (!blocks_.empty()) return mixed_activation(y, numeric_, blocks_);
  return head_kind_ == Head::Sigmoid ? sigmoid(y) : y;
}

Var Network::head(const Var& h) const { return activate(logits(h)); }

void Network::set_output_blocks(int64_t numeric, std::vector<int64_t> blocks) {
  int64_t total = numeric;
  for (int64_t b : blocks) {
    if (b < 1) throw std::invalid_argument("network '" + name() + "': an output block must be at least 1 wide");
    total += b;
  }
  if (numeric < 0 || total != output_)
    throw std::invalid_argument("network '" + name() + "': " + std::to_string(numeric) +
                                " numeric outputs and the blocks do not add up to " + std::to_string(output_));
  numeric_ = numeric;
  blocks_ = std::move(blocks);
}

Var Network::forward(const Var& x, const std::vector<int32_t>& lengths) const {
  return head(hidden_states(x, lengths));
}

void Network::set_trainable(bool on) {
  for (auto& p : params_.params) p.node()->requires_grad = on;
}

DenseNet::DenseNet(std::string name, int input, int output, Head head, Rng& rng, DType dtype, Device device)
    : head_kind_(head) {
  if (input < 1 || output < 1) throw std::invalid_argument("network '" + name + "': input and output must be >= 1");
  params_.name = std::move(name);
  Tensor w = Tensor::empty(Shape{input, output}, dtype, device);
  init_glorot_uniform(w, input, output, rng);
  w_ = params_.add("W", w);
  b_ = params_.add("b", Tensor::zeros(Shape{output}, dtype, device));
}

Var DenseNet::forward(const Var& x) const {
  Var y = linear(x, w_, b_);
  return head_kind_ == Head::Sigmoid ? sigmoid(y) : y;
}

void DenseNet::set_trainable(bool on) {
  for (auto& p : params_.params) p.node()->requires_grad = on;
}

}  // namespace tg::models
