// THE reference of the recurrent stacks: a plain double-precision scalar implementation of
// every cell of tg/rnn_spec.h, written from the equations there (loops, no GEMMs, no saved
// state, no vectorisation), against which every fast variant is validated (the CPU kernels,
// the CUDA kernels and their emulation: tests/test_backend_ops.cpp, tests/test_rnn_kernels.cpp).
// Gradients are central finite differences of this forward.
//
// It deliberately does not use tg/kernels/cells.h, where the fast variants take their cell
// math from: a mistake there would otherwise be in both sides of every comparison.
#pragma once

#include <cstdint>
#include <vector>

#include "tg/rnn_spec.h"

namespace tg::reference {

using Vec = std::vector<double>;

/// One stack call, all in double: weights as layers * rnn_weights_per_layer(cell) vectors in
/// rnn_spec.h order; x [B, T, in]; h0, c0 [L, B, H] or empty (zeros); len: B values in [0, T]
/// or empty (all T).
struct RnnProblem {
  Cell cell = Cell::GruTf1;
  int L = 1, B = 1, T = 1, in = 1, H = 1;
  std::vector<int32_t> len;
  std::vector<Vec> w;
  Vec x, h0, c0;
};

struct RnnResult {
  Vec y, hT, cT;  // y [B, T, H] (zero past len); hT, cT [L, B, H] (the state after len steps)
};

/// One step of one layer: h, c ([H]) updated in place; w: the layer's weights; x: [in].
void cell_step(Cell cell, const Vec* w, const double* x, int in, int H, Vec& h, Vec& c);

/// Forward of the whole stack.
RnnResult rnn_forward(const RnnProblem& p);

/// Gradient of sum(gy * y) with respect to *v (a vector inside p), by central differences.
Vec rnn_grad_fd(RnnProblem& p, const Vec& gy, Vec& v, double eps = 1e-5);

}  // namespace tg::reference
