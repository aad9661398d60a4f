// What metrics.json and report.html both need: a set's mean and standard deviation, and a
// feature's name.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tg/app/report.h"
#include "tg/models/metrics.h"

namespace tg::app::report_detail {

inline double mean_of(const std::vector<double>& v) {
  double m, s;
  tg::models::metrics::mean_std(v, m, s);
  return m;
}
inline double std_of(const std::vector<double>& v) {
  double m, s;
  tg::models::metrics::mean_std(v, m, s);
  return s;
}

inline std::string column_name(const EvalResult& r, int64_t k) {
  return k < static_cast<int64_t>(r.columns.size()) ? r.columns[static_cast<size_t>(k)] : "feature_" + std::to_string(k + 1);
}

}  // namespace tg::app::report_detail
