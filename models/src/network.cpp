#include "tg/models/network.h"

#include <stdexcept>

#include "tg/backend.h"
#include "tg/models/losses.h"
#include "tg/optim.h"

namespace tg::models {

std::vector<Tensor> init_rnn_layer(Cell cell, int input, int hidden, Rng& rng, DType dtype, Device device) {
  const auto shapes = rnn_weight_shapes(cell, input, hidden);
  std::vector<Tensor> w;
  for (const auto& s : shapes) w.push_back(Tensor::empty(Shape(s), dtype, device));
  const int64_t in = input, H = hidden;
  auto fill = [&](size_t i, double v) { backend_for(device).fill(w[i], v); };
  switch (cell) {
    case Cell::GruTf1:  // W_gates [in+H, 2H], b_gates = 1, W_cand [in+H, H], b_cand = 0
      init_glorot_uniform(w[0], in + H, 2 * H, rng);
      fill(1, 1.0);
      init_glorot_uniform(w[2], in + H, H, rng);
      fill(3, 0.0);
      break;
    case Cell::GruResetAfter:  // W_ih [3H, in], W_hh [3H, H], biases 0 (Keras defaults)
      init_glorot_uniform(w[0], in, 3 * H, rng);
      init_glorot_uniform(w[1], H, 3 * H, rng);
      fill(2, 0.0);
      fill(3, 0.0);
      break;
    case Cell::Lstm:  // W [in+H, 4H], b = 0 (forget bias 1 is added inside the cell)
      init_glorot_uniform(w[0], in + H, 4 * H, rng);
      fill(1, 0.0);
      break;
    case Cell::LstmLn:  // W [in+H, 4H]; gains 1, shifts 0
      init_glorot_uniform(w[0], in + H, 4 * H, rng);
      fill(1, 1.0);
      fill(2, 0.0);
      fill(3, 1.0);
      fill(4, 0.0);
      break;
  }
  return w;
}

static const char* weight_name(Cell c, int i) {
  static const char* gru[] = {"W_gates", "b_gates", "W_cand", "b_cand"};
  static const char* gru_ra[] = {"W_ih", "W_hh", "b_ih", "b_hh"};
  static const char* lstm[] = {"W", "b"};
  static const char* lstm_ln[] = {"W", "gamma", "beta", "gamma_c", "beta_c"};
  switch (c) {
    case Cell::GruTf1: return gru[i];
    case Cell::GruResetAfter: return gru_ra[i];
    case Cell::Lstm: return lstm[i];
    case Cell::LstmLn: return lstm_ln[i];
  }
  return "?";
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
      rnn_w_.push_back(params_.add("layer" + std::to_string(l) + "/" + weight_name(cell, static_cast<int>(i)), w[i]));
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

}  // namespace tg::models
