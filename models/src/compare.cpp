// Label frequencies and static columns, real against synthetic (tg/models/compare.h).
#include "tg/models/compare.h"

#include <cmath>

#include "tg/models/metrics.h"

namespace tg::models::metrics {

std::vector<StaticColumnStats> static_column_stats(const tg::io::OutputMap& map, const tg::io::Windows& real,
                                                   const tg::io::Windows& synthetic) {
  const auto S = static_cast<int64_t>(map.static_columns.size());
  std::vector<StaticColumnStats> out;
  if (S == 0 || real.static_dim != S || synthetic.static_dim != S || real.n < 1 || synthetic.n < 1) return out;
  std::vector<double> rv = real.statics, sv = synthetic.statics;
  map.statics.inverse(rv.data(), real.n);
  map.statics.inverse(sv.data(), synthetic.n);
  auto moments = [S](const std::vector<double>& v, int64_t k, double& mean, double& sd, std::vector<double>& col) {
    const auto n = static_cast<int64_t>(v.size()) / S;
    col.clear();
    mean = 0;
    for (int64_t i = 0; i < n; ++i) col.push_back(v[static_cast<size_t>(i * S + k)]);
    for (double x : col) mean += x / static_cast<double>(n);
    double var = 0;
    for (double x : col) var += (x - mean) * (x - mean) / static_cast<double>(n);
    sd = std::sqrt(var);  // population standard deviation
  };
  for (int64_t k = 0; k < S; ++k) {
    StaticColumnStats c;
    c.column = map.static_columns[static_cast<size_t>(k)];
    c.real_n = real.n;
    c.synthetic_n = synthetic.n;
    std::vector<double> a, b;
    moments(rv, k, c.real_mean, c.real_std, a);
    moments(sv, k, c.synthetic_mean, c.synthetic_std, b);
    c.wasserstein = wasserstein1(a, b);
    out.push_back(c);
  }
  return out;
}

std::vector<CategoryFrequencies> category_frequencies(const tg::io::OutputMap& map, const tg::io::Windows& real,
                                                      const tg::io::Windows& synthetic) {
  std::vector<CategoryFrequencies> out;
  int64_t off = map.numeric();
  for (const auto& c : map.categorical) {
    CategoryFrequencies f;
    f.column = c.name;
    f.labels = c.labels;
    const auto K = static_cast<int64_t>(c.labels.size());
    auto count = [&](const tg::io::Windows& w, std::vector<double>& freq) {
      freq.assign(static_cast<size_t>(K), 0.0);
      double n = 0;
      for (int64_t i = 0; i < w.n; ++i)
        for (int64_t t = 0; t < w.length(i); ++t) {
          int64_t best = 0;
          for (int64_t j = 1; j < K; ++j)
            if (w.at(i, t, off + j) > w.at(i, t, off + best)) best = j;
          freq[static_cast<size_t>(best)] += 1;
          n += 1;
        }
      if (n > 0)
        for (double& v : freq) v /= n;
    };
    count(real, f.real);
    count(synthetic, f.synthetic);
    for (int64_t j = 0; j < K; ++j)
      f.total_variation += 0.5 * std::fabs(f.real[static_cast<size_t>(j)] - f.synthetic[static_cast<size_t>(j)]);
    out.push_back(std::move(f));
    off += K;
  }
  return out;
}

}  // namespace tg::models::metrics
