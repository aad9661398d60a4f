// The evaluation report (`timegan evaluate`, timegan.evaluate in Python): one self-contained HTML file (inline CSS and
// SVG, no scripts, no external reference of any kind) and metrics.json with every number.
#pragma once

#include <string>
#include <vector>

#include "tg/io/dataset.h"
#include "tg/io/json.h"
#include "tg/models/compare.h"
#include "tg/models/metrics.h"

namespace tg::app {

/// One loss curve of the training log (already subsampled).
struct LossCurve {
  std::string phase, name;
  std::vector<double> iteration, value;
};

/// Label frequencies of a categorical column and a static column's statistics (tg/models/compare.h).
using CategoryFrequencies = tg::models::metrics::CategoryFrequencies;
using StaticColumnStats = tg::models::metrics::StaticColumnStats;
using tg::models::metrics::category_frequencies;
using tg::models::metrics::static_column_stats;

/// The scores on the sequences of one condition (a class, or a bin of a numeric condition).
struct ConditionGroupScores {
  std::string name;                 ///< the label, or the bin "[a, b]" in the data's units
  int64_t real_n = 0, synthetic_n = 0;
  std::string skipped;              ///< why the group was not scored ("" when scored)
  std::vector<double> disc, pred;   ///< per repeat
};
/// Per-condition scores of a conditional model (column empty: none).
struct ConditionScores {
  std::string column, kind;  ///< kind: "categorical" or "numeric"
  std::vector<ConditionGroupScores> groups;
};

struct EvalResult {
  // What was compared.
  std::string real_source, synthetic_source, preset, scale;  // scale: words for the common scale
  std::vector<std::string> columns;
  const tg::io::Windows* real = nullptr;
  const tg::io::Windows* synthetic = nullptr;
  // Paper values (Table 2) when the data set is one of the paper's.
  std::string paper_set;  // "" = none
  double paper_disc = 0, paper_disc_std = 0, paper_pred = 0, paper_pred_std = 0;
  // Per repeat.
  std::vector<double> disc, disc_accuracy, pred;
  bool pred_own_past = false;
  double pred_real_on_real = 0;  // the predictor trained on the real set itself (once): a floor
  // Beyond the reference.
  std::vector<double> wasserstein;
  std::vector<CategoryFrequencies> categories;  ///< one per categorical column (none: empty)
  std::vector<StaticColumnStats> statics;       ///< one per static column (none: empty)
  ConditionScores conditions;                   ///< per-condition scores (conditional models)
  double acf_diff = 0;
  tg::models::metrics::XcorrDifference xcorr;
  tg::models::metrics::Mmd mmd;
  tg::models::metrics::Visualisation vis;
  // Missing cells in the real data: the scores, distances and pictures use only the real
  // windows without any missing cell (nothing is filled in). Reported when the data options
  // keep missing cells or the real data hold some.
  bool missing_reported = false;
  int64_t missing_cells = 0, real_windows = 0, windows_with_missing = 0, windows_evaluated = 0;
  // Training log (with --model).
  std::vector<LossCurve> losses;
  std::string losses_note;  // why there are none
  tg::io::Json settings = tg::io::Json::object();
  double seconds = 0;
};

tg::io::Json metrics_json(const EvalResult& r);
std::string report_html(const EvalResult& r);

/// Reads a run's losses.csv (phase,iteration,<losses>...) into the curves the report plots:
/// embedding sqrt(e_loss_t0); supervised g_loss_s; joint sqrt(e_loss_t0), g_loss_s, g_loss_u,
/// d_loss; each subsampled to at most max_points. Throws InputError naming file and line.
std::vector<LossCurve> read_loss_curves(const std::string& path, size_t max_points = 1000);

}  // namespace tg::app
