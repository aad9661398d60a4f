// One TimeGAN network: a stack of recurrent layers (zero initial state, per-sequence lengths)
// followed by one dense layer applied at every time step, with or without a sigmoid.
// Initialisation follows TF1 (timegan.md §2.1-2.2): glorot-uniform kernels, GRU gate bias 1,
// candidate bias 0, LSTM biases 0, layer-norm gains 1 and shifts 0, head bias 0.
#pragma once

#include <string>
#include <vector>

#include "tg/autograd.h"
#include "tg/ops.h"
#include "tg/random.h"

namespace tg::models {

enum class Head : uint8_t { Sigmoid, Linear };

class Network {
 public:
  Network() = default;
  /// Builds and initialises the parameters, drawing from `rng` in a fixed order (layer by
  /// layer, weights in rnn_spec.h order, then the head kernel).
  Network(std::string name, Cell cell, int layers, int input, int hidden, int output, Head head,
          Rng& rng, DType dtype = DType::F32, Device device = Device::CPU);

  /// x [B, T, input] -> [B, T, output]; lengths empty = all T.
  Var forward(const Var& x, const std::vector<int32_t>& lengths = {}) const;
  /// The recurrent stack's top-layer outputs [B, T, hidden] (before the head).
  Var hidden_states(const Var& x, const std::vector<int32_t>& lengths = {}) const;
  /// The dense head applied to [.., hidden]: activate(logits(h)).
  Var head(const Var& h) const;
  /// The dense layer alone (before the output activation).
  Var logits(const Var& h) const;
  /// The output activation: sigmoid (or none) over every output, or, with output blocks, a
  /// sigmoid over the first `numeric` outputs and a softmax over each block after them.
  Var activate(const Var& logits) const;
  /// Output blocks: softmax groups of these widths after `numeric` sigmoid outputs (the sum must
  /// be output()). Empty blocks: the plain head.
  void set_output_blocks(int64_t numeric, std::vector<int64_t> blocks);
  const std::vector<int64_t>& output_blocks() const { return blocks_; }

  ParamGroup& params() { return params_; }
  const ParamGroup& params() const { return params_; }
  const std::string& name() const { return params_.name; }
  const RnnSpec& spec() const { return spec_; }
  int input() const { return input_; }
  int output() const { return output_; }
  /// Turns gradient recording for this network's parameters on or off.
  void set_trainable(bool on);

 private:
  ParamGroup params_;
  RnnSpec spec_;
  int input_ = 0, output_ = 0;
  Head head_kind_ = Head::Sigmoid;
  int64_t numeric_ = 0;
  std::vector<int64_t> blocks_;
  std::vector<Var> rnn_w_;
  Var head_w_, head_b_;
};

/// One dense layer over per-sequence vectors, x [B, input] -> [B, output], with a sigmoid or no
/// output activation: the static features' networks. TF1 initialisation (glorot-uniform kernel,
/// bias 0), drawn from `rng` after construction order.
class DenseNet {
 public:
  DenseNet() = default;
  DenseNet(std::string name, int input, int output, Head head, Rng& rng, DType dtype = DType::F32,
           Device device = Device::CPU);
  Var forward(const Var& x) const;
  ParamGroup& params() { return params_; }
  const ParamGroup& params() const { return params_; }
  const std::string& name() const { return params_.name; }
  void set_trainable(bool on);

 private:
  ParamGroup params_;
  Head head_kind_ = Head::Sigmoid;
  Var w_, b_;
};

/// Initial values of one recurrent layer's weights (rnn_spec.h order), TF1 defaults.
std::vector<Tensor> init_rnn_layer(Cell cell, int input, int hidden, Rng& rng, DType dtype, Device device);

}  // namespace tg::models
