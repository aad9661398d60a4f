// Implements the parameter-layout contract declared in tg/rnn_spec.h.
#include "tg/rnn_spec.h"

#include <stdexcept>

namespace tg {

Cell parse_cell(const std::string& name) {
  if (name == "gru") return Cell::GruTf1;
  if (name == "gru_ra") return Cell::GruResetAfter;
  if (name == "lstm") return Cell::Lstm;
  if (name == "lstm_ln" || name == "lstmLN") return Cell::LstmLn;
  throw std::invalid_argument("tg::parse_cell: unknown cell '" + name +
                              "' (valid: gru, gru_ra, lstm, lstm_ln, lstmLN)");
}

const CellTraits& cell_traits(Cell c) {
  const int i = static_cast<int>(c);
  if (i < 0 || i >= kNumCells)
    throw std::invalid_argument("tg::cell_traits: invalid cell value " + std::to_string(i));
  return kCellTraits[i];
}

const char* cell_name(Cell c) {
  const int i = static_cast<int>(c);
  return i >= 0 && i < kNumCells ? kCellTraits[i].name : "unknown";
}

int rnn_weights_per_layer(Cell c) { return cell_traits(c).n_weights; }

std::vector<std::vector<int64_t>> rnn_weight_shapes(Cell c, int64_t in, int64_t hidden) {
  const CellTraits& t = cell_traits(c);
  if (in < 1 || hidden < 1)
    throw std::invalid_argument("tg::rnn_weight_shapes: need in >= 1 and hidden >= 1, got in=" +
                                std::to_string(in) + " hidden=" + std::to_string(hidden));
  std::vector<std::vector<int64_t>> shapes;
  for (int k = 0; k < t.n_weights; ++k) {
    const RnnWeightTrait& w = t.weights[k];
    const int64_t cols = w.cols.of(in, hidden);
    if (cols > 0) shapes.push_back({w.rows.of(in, hidden), cols});
    else shapes.push_back({w.rows.of(in, hidden)});
  }
  return shapes;
}

int64_t rnn_layer_params(Cell c, int64_t in, int64_t hidden) {
  int64_t n = 0;
  for (const auto& s : rnn_weight_shapes(c, in, hidden)) {
    int64_t p = 1;
    for (int64_t d : s) p *= d;
    n += p;
  }
  return n;
}

}  // namespace tg
