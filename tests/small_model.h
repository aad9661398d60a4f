// The small TimeGAN configurations the model suites build: the shape in one call, the data
// features after it (c.static_features = 2, c.missing_mask = true, ...).
#pragma once

#include <cstdint>

#include "tg/models/timegan.h"

namespace tgtest {

/// The shape of a small model: data features, window length, hidden width and batch rows.
struct SmallShape {
  int64_t features, seq_len, hidden, batch;
};

/// A two-layer model of that shape, `iterations` per phase, seeded with `seed`.
inline tg::models::TimeGanConfig small_config(SmallShape s, int64_t iterations, uint64_t seed,
                                              tg::DType dtype = tg::DType::F32) {
  tg::models::TimeGanConfig c;
  c.features = s.features;
  c.seq_len = s.seq_len;
  c.hidden = s.hidden;
  c.layers = 2;
  c.batch = s.batch;
  c.iterations = iterations;
  c.seed = seed;
  c.dtype = dtype;
  return c;
}

}  // namespace tgtest
