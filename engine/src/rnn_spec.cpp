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

const char* cell_name(Cell c) {
  switch (c) {
    case Cell::GruTf1: return "gru";
    case Cell::GruResetAfter: return "gru_ra";
    case Cell::Lstm: return "lstm";
    case Cell::LstmLn: return "lstm_ln";
  }
  return "unknown";
}

int rnn_weights_per_layer(Cell c) {
  switch (c) {
    case Cell::GruTf1: return 4;
    case Cell::GruResetAfter: return 4;
    case Cell::Lstm: return 2;
    case Cell::LstmLn: return 5;
  }
  throw std::invalid_argument("tg::rnn_weights_per_layer: invalid cell value " +
                              std::to_string(static_cast<int>(c)));
}

std::vector<std::vector<int64_t>> rnn_weight_shapes(Cell c, int64_t in, int64_t hidden) {
  if (in < 1 || hidden < 1)
    throw std::invalid_argument("tg::rnn_weight_shapes: need in >= 1 and hidden >= 1, got in=" +
                                std::to_string(in) + " hidden=" + std::to_string(hidden));
  const int64_t H = hidden;
  switch (c) {
    case Cell::GruTf1: return {{in + H, 2 * H}, {2 * H}, {in + H, H}, {H}};
    case Cell::GruResetAfter: return {{3 * H, in}, {3 * H, H}, {3 * H}, {3 * H}};
    case Cell::Lstm: return {{in + H, 4 * H}, {4 * H}};
    case Cell::LstmLn: return {{in + H, 4 * H}, {4 * H}, {4 * H}, {H}, {H}};
  }
  throw std::invalid_argument("tg::rnn_weight_shapes: invalid cell value " +
                              std::to_string(static_cast<int>(c)));
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
