// Evaluation of synthetic against real data, as `timegan evaluate` does it: the reference's
// post-hoc scores (repeated), PCA / t-SNE, distribution distances, the report and metrics.json.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

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
/// Where a report goes: DIR/metrics.json and DIR/report.html, written as a set. Both files are
/// written (and fsync'ed) in a temporary directory first and moved into place once complete:
/// - DIR did not exist: they are written in PARENT/.NAME.tmp.PID (beside DIR, so on its file
///   system), which is renamed to DIR: DIR appears complete or not at all. Missing parents of
///   DIR are made by the constructor and removed again when nothing is committed.
/// - DIR exists (a report directory, or one holding other files, e.g. the run directory): they
///   are written in DIR/.report.tmp.PID and each replaces its namesake in DIR by a rename; other
///   files in DIR are never touched. When the second rename fails, the first is undone, so DIR
///   keeps its previous pair. A crash (kill -9, power loss) between the two renames leaves the
///   new metrics.json beside the previous report.html, the previous metrics.json in the
///   temporary directory.
/// Until commit() has completed nothing of the new report is visible: on failure (an
/// exception, a full disk) the temporary directory is removed and an existing DIR keeps its
/// files as they were. The constructor makes the temporary directory and writes a byte in it,
/// so that an unwritable place is refused before the work (OutputError "<option> DIR: ..."),
/// and removes temporary directories of earlier evaluations into DIR whose process no longer
/// runs (what a crash leaves).
class ReportOutput {
 public:
  ReportOutput(const std::string& dir, const std::string& option);
  ~ReportOutput();
  ReportOutput(const ReportOutput&) = delete;
  ReportOutput& operator=(const ReportOutput&) = delete;
  /// Writes the report's files and moves them into place; a failure throws OutputError naming
  /// DIR's file and the OS's reason, with the previous report (if any) unchanged.
  void commit(const Evaluation& ev);
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_, option_, tmp_;
  bool existed_ = false, committed_ = false;
  std::vector<std::string> made_parents_;  // deepest first
};

/// Writes DIR/metrics.json and DIR/report.html as ReportOutput does (DIR is created).
void write_report(const std::string& dir, const Evaluation& ev);

}  // namespace tg::app
