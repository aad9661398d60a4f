// Evaluation of synthetic against real data, as `timegan evaluate` does it: the reference's
// post-hoc scores (repeated), PCA / t-SNE, distribution distances, the report and metrics.json.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "tg/app/report.h"
#include "tg/io/dataset.h"
#include "tg/io/json.h"

namespace tg::app {

struct EvalRequest {
  /// The real data options (config.json "data" form); null: the run's own (model_dir).
  tg::io::Json data;
  /// The real data prepared in memory (the Python module); nullptr: load_data(data).
  const tg::io::Prepared* real = nullptr;
  // The synthetic data: exactly one of
  std::string model_dir;                      ///< generated from this run (as many as the real set)
  std::string synthetic_file;                 ///< a CSV as `timegan generate` writes it, or NPY [n, T, d]
  const tg::io::Windows* synthetic = nullptr; ///< windows in the data's units (conditions in model scale, if any)
  std::string synthetic_name;                 ///< how the report names `synthetic`
  int64_t repeats = 10;
  int64_t metric_iterations = 2000;  ///< discriminator steps; the predictor takes 2.5x as many
  int64_t tsne_iterations = 300;
  uint64_t seed = 0;
  tg::Device device = tg::Device::CPU;
  bool quiet = false;  ///< no progress on stderr
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();  ///< for the reported time
};

/// The result with the data it refers to (EvalResult points into prep and syn).
struct Evaluation {
  tg::io::Prepared prep;
  tg::io::Windows complete;  ///< with missing cells: the real windows without any (what is scored)
  tg::io::Windows syn;  ///< on the reference's scale
  EvalResult result;
};

/// Runs the evaluation; bad input throws io::InputError naming the file (or the array).
std::unique_ptr<Evaluation> evaluate(const EvalRequest& req);
/// Writes DIR/metrics.json and DIR/report.html (atomically; DIR is created).
void write_report(const std::string& dir, const Evaluation& ev);

}  // namespace tg::app
