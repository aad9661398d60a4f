// Conditional generation (docs/conditional.md): a per-sequence attribute of a long-format CSV
// (`--condition COLUMN`) that the generator and the discriminators take as an input. This file
// holds what the application needs to read it from a table, to encode it for the model, to
// store it in a run directory and to draw or parse the conditions of generated sequences.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tg/io/csv.h"
#include "tg/io/dataset.h"
#include "tg/io/json.h"

namespace tg::app {

struct Condition {
  std::string column;               ///< the CSV column; empty: no condition
  bool categorical = false;
  std::vector<std::string> labels;  ///< categorical: the labels, in sorted (byte) order
  std::vector<int64_t> counts;      ///< categorical: training sequences per label
  double min = 0, max = 0;          ///< numeric: the range of the training values
  std::vector<double> values;       ///< numeric: every training sequence's value, sorted

  bool defined() const { return !column.empty(); }
  /// Width of the model-scale vector: the labels (one-hot) or 1 (min-max scaled).
  int64_t width() const { return categorical ? static_cast<int64_t>(labels.size()) : 1; }
  /// Training sequences.
  int64_t sequences() const;

  /// The model-scale vector of one value in the data's units (a label, or a number as text),
  /// appended to `out`. An unknown label, a field that is not a number, or a number outside
  /// [min, max] throws io::InputError "<where>: condition '<column>': ...".
  void encode(const std::string& text, std::vector<double>& out, const std::string& where) const;
  /// The same without the range check (a synthetic file's values, which are only grouped).
  void encode_unchecked(const std::string& text, std::vector<double>& out, const std::string& where) const;
  /// A model-scale vector (width() entries) back to the data's units as text: the label with
  /// the largest entry, or the number.
  std::string text(const double* v) const;
  /// n conditions drawn from the training distribution (each label with its frequency, or a
  /// training value picked uniformly), from the random stream (seed, 7): model scale [n, width()]
  /// and, in `texts`, the same in the data's units.
  std::vector<double> draw(int64_t n, uint64_t seed, std::vector<std::string>& texts) const;

  tg::io::Json to_json() const;
  /// Reads what to_json writes; a malformed object throws io::InputError "<src>: condition: ...".
  static Condition from_json(const tg::io::Json& j, const std::string& src);
};

/// Takes the condition column out of a table read with it (a categorical column when it holds
/// labels or is named in --categorical, else numeric): removes it from the table's columns and
/// returns each row's value (a label index or a number). Refuses a table without ids, an
/// empty cell and a value that changes within a sequence (io::InputError naming file, line and
/// column). `labels` receives the column's labels (empty when numeric).
std::vector<double> take_condition_column(tg::io::Table& t, const std::string& column, std::vector<std::string>& labels);

/// After prepare(): builds the Condition from each sequence's value (the value of its first
/// row, prep.first_row) and puts the model-scale conditions into prep.windows (cond_dim,
/// conditions), the Condition into prep.map.condition.
void attach_condition(tg::io::Prepared& prep, const std::string& column, const std::vector<double>& row_values,
                      const std::vector<std::string>& labels);

/// The condition stored in a run's output map (an undefined Condition when there is none).
Condition condition_of(const tg::io::OutputMap& map, const std::string& src);

/// Groups of sequences for per-condition scores: a categorical condition's labels, or for a
/// numeric one up to `bins` bins between quantiles of the real values (edges at the
/// 0, 1/bins, ..., 1 quantiles of the real sequences' values; equal edges merged; each bin holds
/// the values up to and including its upper edge). `real` and `synthetic` hold each window's
/// group (Windows::conditions in model scale).
struct ConditionGroups {
  std::vector<std::string> names;
  std::vector<int64_t> real, synthetic;
};
ConditionGroups condition_groups(const Condition& c, const tg::io::Windows& real, const tg::io::Windows& synthetic,
                                 int bins = 4);

/// Sets w.condition_column / w.condition_text from w.conditions (model scale), for output.
void label_conditions(tg::io::Windows& w, const Condition& c);

}  // namespace tg::app
