// Recurrent cell kinds and their parameter layouts: the contract between the autograd op
// (engine), the kernels (kernels/cpu, kernels/cuda) and the models.
//
// Every layer of a stack owns rnn_weights_per_layer(cell) tensors, in this order:
//
//  Cell::GruTf1  ("gru", TF1 GRUCell, the original TimeGAN's cell; reset before the matmul)
//    0 W_gates [in+H, 2H]  rows 0..in-1 multiply x, rows in..in+H-1 multiply h;
//                          columns 0..H-1 give r, H..2H-1 give u
//    1 b_gates [2H]        initialised to 1.0
//    2 W_cand  [in+H, H]   rows as W_gates; multiplies [x, r*h]
//    3 b_cand  [H]         initialised to 0.0
//    [r,u] = sigmoid([x,h] W_gates + b_gates); c = tanh([x, r*h] W_cand + b_cand)
//    h' = u*h + (1-u)*c
//
//  Cell::GruResetAfter ("gru_ra", cuDNN / PyTorch / Keras-2 form; gate order r, z, n)
//    0 W_ih [3H, in]   1 W_hh [3H, H]   2 b_ih [3H]   3 b_hh [3H]
//    r = sigmoid(W_ir x + b_ir + W_hr h + b_hr); z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
//    n = tanh(W_in x + b_in + r*(W_hn h + b_hn)); h' = (1-z)*n + z*h
//
//  Cell::Lstm ("lstm", TF1 BasicLSTMCell, forget_bias 1.0 added inside, state (c, h))
//    0 W [in+H, 4H]  columns: i, j, f, o      1 b [4H]  initialised to 0.0
//    c' = c*sigmoid(f + 1) + sigmoid(i)*tanh(j); h' = tanh(c')*sigmoid(o)
//
//  Cell::LstmLn ("lstm_ln", TF1 contrib LayerNormBasicLSTMCell, forget_bias 1.0, no dropout)
//    0 W [in+H, 4H] (no bias)  1 gamma [4H] (1.0)  2 beta [4H] (0.0)  3 gamma_c [H] (1.0)
//    4 beta_c [H] (0.0)
//    each of i, j, f, o (blocks of H columns) is layer-normalised over its H units with its
//    own slice of gamma/beta (epsilon kLstmLnEpsilon); c' = LN_c(c*sigmoid(f+1) +
//    sigmoid(i)*tanh(j)); h' = tanh(c')*sigmoid(o); the state carries the normalised c'.
//
// Layer 0 has input width `input`; layers 1..L-1 have input width H.
// Sequences are batch-major [B, T, F]. With per-sequence lengths, outputs at t >= len[b]
// are zero and the state is carried unchanged (TF dynamic_rnn semantics).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tg {

enum class Cell : uint8_t { GruTf1 = 0, GruResetAfter = 1, Lstm = 2, LstmLn = 3 };
constexpr int kNumCells = 4;

constexpr double kLstmForgetBias = 1.0;
constexpr double kLstmLnEpsilon = 1e-12;  // tf.contrib.layers.layer_norm's variance epsilon

// ---- the table of cell traits --------------------------------------------------------------
// One row per cell: its weights (name, shape as multiples of the layer's input width and H,
// initial value) and the width of what the forward saves per (row, step) for the backward.
// Everything else (weight counts, shapes, parameter counts, the models' initialisation and
// parameter names) is derived from this table.

/// A size a*in + b*H (0 for an absent second dimension).
struct RnnDim {
  int8_t in = 0, h = 0;
  constexpr int64_t of(int64_t input, int64_t hidden) const { return in * input + h * hidden; }
};
enum class RnnInit : uint8_t { Glorot, Zero, One };
struct RnnWeightTrait {
  const char* name = nullptr;
  RnnDim rows{}, cols{};            // cols {0,0}: a vector of `rows` values
  RnnInit init = RnnInit::Zero;     // Glorot: U(+-sqrt(6 / (rows + cols))) over the 2-D shape
};
struct CellTraits {
  Cell cell = Cell::GruTf1;
  const char* name = nullptr;
  bool has_c = false;  // a second state c besides h
  int n_weights = 0;
  RnnWeightTrait weights[5] = {};
  int saved_h = 0, saved_extra = 0;  // saved values per (row, step): saved_h*H + saved_extra
};

inline constexpr CellTraits kCellTraits[kNumCells] = {
    {Cell::GruTf1, "gru", false, 4,
     {{"W_gates", {1, 1}, {0, 2}, RnnInit::Glorot},
      {"b_gates", {0, 2}, {}, RnnInit::One},
      {"W_cand", {1, 1}, {0, 1}, RnnInit::Glorot},
      {"b_cand", {0, 1}, {}, RnnInit::Zero}},
     4, 0},  // r, u, c, r*h
    {Cell::GruResetAfter, "gru_ra", false, 4,
     {{"W_ih", {0, 3}, {1, 0}, RnnInit::Glorot},
      {"W_hh", {0, 3}, {0, 1}, RnnInit::Glorot},
      {"b_ih", {0, 3}, {}, RnnInit::Zero},
      {"b_hh", {0, 3}, {}, RnnInit::Zero}},
     4, 0},  // r, z, n, W_hn h + b_hn
    {Cell::Lstm, "lstm", true, 2,
     {{"W", {1, 1}, {0, 4}, RnnInit::Glorot}, {"b", {0, 4}, {}, RnnInit::Zero}},
     6, 0},  // i, j, f, o (activated), c', tanh(c')
    {Cell::LstmLn, "lstm_ln", true, 5,
     {{"W", {1, 1}, {0, 4}, RnnInit::Glorot},
      {"gamma", {0, 4}, {}, RnnInit::One},
      {"beta", {0, 4}, {}, RnnInit::Zero},
      {"gamma_c", {0, 1}, {}, RnnInit::One},
      {"beta_c", {0, 1}, {}, RnnInit::Zero}},
     11, 5},  // xhat[4H], act[4H], xhat_c, c', tanh(c'), rstd[4], rstd_c
};

/// One recurrent-stack call: the stack (cell, layers, hidden; what a model gives, e.g.
/// RnnSpec{Cell::GruTf1, 3, 24}) and the batch, sequence length and input width of the call
/// (filled by tg::rnn from its input). The one description of a call that the ops layer, the
/// backends and the kernels share.
struct RnnSpec {
  Cell cell = Cell::GruTf1;
  int layers = 1;
  int hidden = 0;
  int batch = 0;
  int seq = 0;
  int input = 0;
};

static_assert(kCellTraits[0].cell == Cell::GruTf1 && kCellTraits[1].cell == Cell::GruResetAfter &&
                  kCellTraits[2].cell == Cell::Lstm && kCellTraits[3].cell == Cell::LstmLn,
              "kCellTraits is indexed by Cell");

/// The traits of a cell; throws std::invalid_argument for a value outside the enum.
const CellTraits& cell_traits(Cell c);

/// "gru", "gru_ra", "lstm", "lstm_ln" (also accepts "lstmLN" as the original spells it).
Cell parse_cell(const std::string& name);
const char* cell_name(Cell c);
/// Whether the cell has a second state (c) besides h.
inline bool cell_has_c(Cell c) {
  const int i = static_cast<int>(c);
  return i >= 0 && i < kNumCells && kCellTraits[i].has_c;
}
int rnn_weights_per_layer(Cell c);
/// Shapes of one layer's weights, in the order above.
std::vector<std::vector<int64_t>> rnn_weight_shapes(Cell c, int64_t in, int64_t hidden);
/// Parameter count of one layer.
int64_t rnn_layer_params(Cell c, int64_t in, int64_t hidden);
/// Values the forward saves per (row, step) for the backward.
/// (0 for a value outside the enum.)
inline int64_t rnn_saved_width(Cell c, int64_t hidden) {
  const int i = static_cast<int>(c);
  if (i < 0 || i >= kNumCells) return 0;
  return kCellTraits[i].saved_h * hidden + kCellTraits[i].saved_extra;
}

}  // namespace tg
