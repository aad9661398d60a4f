// What the evaluation compares beside the scores (tg/app/report.h shows them): the label
// frequencies of each categorical column, and each static column's moments and distance.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tg/io/dataset.h"

namespace tg::models::metrics {

/// How often each label of a categorical column occurs (argmax of its one-hot block, over
/// every valid step) in the real and the synthetic set.
struct CategoryFrequencies {
  std::string column;
  std::vector<std::string> labels;
  std::vector<double> real, synthetic;  ///< fractions (each sums to 1)
  double total_variation = 0;           ///< (1/2) sum |real - synthetic|
};
/// The frequencies of each one-hot block of `map` in two sets on the model's layout.
std::vector<CategoryFrequencies> category_frequencies(const tg::io::OutputMap& map, const tg::io::Windows& real,
                                                      const tg::io::Windows& synthetic);

/// One static column, real against synthetic, in the data's units.
struct StaticColumnStats {
  std::string column;
  int64_t real_n = 0, synthetic_n = 0;
  double real_mean = 0, real_std = 0, synthetic_mean = 0, synthetic_std = 0;
  double wasserstein = 0;  ///< Wasserstein-1 distance between the two empirical distributions
};
/// The statistics of each static column of `map` (Windows::statics in model scale, mapped to the
/// data's units with map.statics); empty when either set has no static values.
std::vector<StaticColumnStats> static_column_stats(const tg::io::OutputMap& map, const tg::io::Windows& real,
                                                   const tg::io::Windows& synthetic);

}  // namespace tg::models::metrics
