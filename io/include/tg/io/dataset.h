// Data sets as windows [n, seq, dim], the sine generator, min-max scalers and the
// preprocessing presets ("original" = the reference's data_loading + timegan() scaling with
// its quirks; "default" = one min-max, time order kept, every window), plus the map that
// turns model outputs back into the CSV's units.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tg/io/csv.h"
#include "tg/io/json.h"
#include "tg/io/npy.h"
#include "tg/random.h"

namespace tg::io {

struct Windows {
  int64_t n = 0, seq = 0, dim = 0;
  std::vector<double> data;           ///< [n, seq, dim] row-major
  std::vector<int32_t> lengths;       ///< n entries, each <= seq; steps >= length are zero padding
  std::vector<std::string> columns;   ///< dim names
  /// Per column, in the data's units: the labels of a categorical column (its values are label
  /// indices), else empty. Empty when no column is categorical.
  std::vector<std::vector<std::string>> categories;
  /// Static features: values per window that do not change over time ([n, static_dim]
  /// row-major in `statics`, named by `static_columns`). static_dim 0: none.
  int64_t static_dim = 0;
  std::vector<double> statics;
  std::vector<std::string> static_columns;
  /// Conditional generation: each window's condition in model scale ([n, cond_dim] row-major;
  /// a one-hot block or one value in [0, 1]). cond_dim 0: none.
  int64_t cond_dim = 0;
  std::vector<double> conditions;
  /// The condition in the data's units, for output: the column's name and each window's
  /// value as text (a label or a number). Empty name: no condition column is written.
  std::string condition_column;
  std::vector<std::string> condition_text;

  double& at(int64_t i, int64_t t, int64_t k) { return data[static_cast<std::size_t>((i * seq + t) * dim + k)]; }
  double at(int64_t i, int64_t t, int64_t k) const {
    return data[static_cast<std::size_t>((i * seq + t) * dim + k)];
  }
  /// Valid length of window i (seq when `lengths` is empty).
  int64_t length(int64_t i) const { return lengths.empty() ? seq : lengths[static_cast<std::size_t>(i)]; }
};

/// Upper bound on the values one set of windows may hold (n * seq * dim): 2^30 doubles, 8 GiB.
/// Every window set built from a file, a config or options is checked against it (without
/// overflow) before anything is allocated.
constexpr int64_t kMaxWindowValues = int64_t{1} << 30;
/// Throws InputError "<src>: <n> windows x <seq> steps x <dim> features is more than ..." when
/// n * seq * dim overflows or exceeds kMaxWindowValues (or a size is negative).
void check_window_size(int64_t n, int64_t seq, int64_t dim, const std::string& src);

/// Refuses data that min-max scaling cannot represent: a NaN or infinite value, or a column
/// whose max - min overflows a double (values near +-1.7e308). InputError
/// "<src>: column '<name>': ..." (columns[k], or feature_<k+1> when `columns` is short).
/// With `allow_missing`, NaN is a missing cell and is skipped (an infinity is still refused), but a
/// column without any observed value is an InputError.
void check_scalable(const double* x, int64_t rows, int64_t dim, const std::vector<std::string>& columns,
                    const std::string& src, bool allow_missing = false);

/// The reference's sine data (§1.3): for each sample, for each feature k: freq = 0.1*U[0,1),
/// then phase = 0.1*U[0,1) (rng.next_double(), in that order); x[j] = (sin(freq*j + phase)+1)/2.
/// Columns "feature_1".."feature_dim"; lengths all seq.
Windows sine_data(int64_t n, int64_t seq, int64_t dim, tg::Rng& rng);

/// Per-feature affine scaler: forward y = (x - min) / (range + eps);
/// inverse x = y * (range + (eps_in_inverse ? eps : 0)) + min.
///  - reference outer scaler (data_loading):  range = max - min, eps = 1e-7, eps_in_inverse = true;
///  - reference inner scaler (timegan()):      range = max of (x - min), eps = 1e-7,
///    eps_in_inverse = false (the reference's asymmetry, kept);
///  - default preset:                          range = max - min (1 where 0), eps = 0.
struct MinMaxScaler {
  std::vector<double> min, range;
  double eps = 0.0;
  bool eps_in_inverse = true;

  int64_t dim() const { return static_cast<int64_t>(min.size()); }
  /// In place over `rows` rows of dim() values each (row-major).
  void transform(double* x, int64_t rows) const;
  void inverse(double* x, int64_t rows) const;
  /// In place over the valid steps of each window (padding stays zero).
  void transform(Windows& w) const;
  void inverse(Windows& w) const;

  /// The fits skip NaN (missing cells): min and max are over the observed values of each column.
  static MinMaxScaler fit_reference_outer(const double* x, int64_t rows, int64_t dim);
  static MinMaxScaler fit_reference_inner(const Windows& w);  // over valid steps of all windows
  static MinMaxScaler fit_default(const double* x, int64_t rows, int64_t dim);

  /// Flat form: [dim, eps, eps_in_inverse, min..., range...]; exact.
  std::vector<double> to_vector() const;
  static MinMaxScaler from_vector(const std::vector<double>& v);
  Json to_json() const;
  static MinMaxScaler from_json(const Json& j);
  bool operator==(const MinMaxScaler& o) const {
    return min == o.min && range == o.range && eps == o.eps && eps_in_inverse == o.eps_in_inverse;
  }
};

/// Everything needed to map model-scale outputs back: model --inner^-1--> reference scale
/// --outer^-1--> CSV units. Missing stages are identities. Serialisable for checkpoints.
/// A categorical column: its name and labels. In model scale it is a one-hot block of
/// labels.size() features; the blocks follow the numeric features, in column order.
struct CategoricalColumn {
  std::string name;
  std::vector<std::string> labels;
};

struct OutputMap {
  std::string preset;                 ///< "original" or "default"
  std::vector<std::string> columns;   ///< the numeric columns (what the scalers cover)
  std::vector<CategoricalColumn> categorical;  ///< one-hot blocks after the numeric features
  bool has_inner = false;
  MinMaxScaler inner;                 ///< model scale <-> reference scale
  bool has_outer = false;
  MinMaxScaler outer;                 ///< reference scale <-> CSV units
  std::vector<std::string> static_columns;  ///< static columns (long format), none: empty
  MinMaxScaler statics;               ///< their own min-max: model scale <-> the data's units
  /// The data's order of the temporal columns (names) when a categorical column comes before a
  /// numeric one; empty when it is the model's [numeric..., categorical...]. model_to_original
  /// writes and original_to_reference reads the columns in this order.
  std::vector<std::string> order;
  /// Where each column of the model's order ([numeric..., categorical...]) sits in the data's
  /// order (the identity without `order`).
  std::vector<int64_t> data_positions() const;
  /// The condition of conditional generation (its column, labels or range, and its training
  /// distribution) as tg::app::Condition writes it; null without a condition. Kept as JSON here:
  /// the io layer carries it through config.json and does not interpret it.
  Json condition;

  /// Numeric features in the model's layout ([numeric..., one-hot blocks...]).
  int64_t numeric() const { return static_cast<int64_t>(columns.size()); }
  /// The model's feature count: numeric + one-hot widths.
  int64_t model_features() const;
  /// Widths of the one-hot blocks.
  std::vector<int64_t> block_sizes() const;
  /// Scalers on the numeric features only; one-hot blocks are left as they are.
  void model_to_reference(Windows& w) const;
  void reference_to_original(Windows& w) const;
  /// To the data's units. With categorical columns, each block becomes one column holding the
  /// index of its largest entry (argmax; ties: the first), labels in Windows::categories;
  /// the result is [numeric columns..., categorical columns...], or the data's `order`. With `sample_labels`, each
  /// label is drawn from its block instead (the recovery's softmax, normalised by its sum): one
  /// u = next_double() per sequence, step and column in that order (sequence-major), the first
  /// label whose cumulative probability exceeds u (argmax when the block sums to no positive
  /// finite value).
  void model_to_original(Windows& w, tg::Rng* sample_labels = nullptr) const;
  /// From the data's units ([numeric..., categorical label indices...] or the data's `order`, as
  /// model_to_original writes) to the reference scale: numeric through the outer scaler, indices to one-hot.
  void original_to_reference(Windows& w) const;
  Json to_json() const;
  static OutputMap from_json(const Json& j);  // throws InputError on a malformed object
  /// Checks the map against the model it serves (`features` model features, `static_features`)
  /// and its data (`from_csv`: values scaled from a CSV's units, so the outer scaler must be
  /// there): the column count, the scalers' widths, the preset. Throws InputError
  /// "output_map: ..." (the caller names the file).
  void check(int64_t features, int64_t static_features, bool from_csv) const;
};

struct PrepOptions {
  std::string preset = "default";  ///< "original" or "default"
  int64_t seq_len = 24;            ///< window length; long format: 0 = the longest sequence
  int64_t stride = 1;              ///< default preset only (the original preset uses 1)
  bool truncate = false;           ///< long format: cut sequences longer than seq_len
  /// Missing cells (NaN in numeric columns) are kept as NaN through every step: the scalers
  /// are fitted over the observed cells only and map NaN to NaN. Off: NaN is an InputError.
  bool missing = false;
};

struct Prepared {
  Windows windows;    ///< model scale (what training consumes)
  Windows reference;  ///< original preset: the data_loading-scale windows the reference's metrics
                      ///< compare (same order as `windows`); empty for default (= windows)
  OutputMap map;
  std::vector<int64_t> order;      ///< original: windows[k] is unshuffled window order[k]
  std::vector<int64_t> first_row;  ///< per window: 0-based data row (file order) of step 0
  int64_t row_step = 1;            ///< step t of window k is data row first_row[k] + t*row_step
  std::vector<std::string> ids;    ///< long format: the id of each sequence

  const Windows& reference_windows() const { return reference.n ? reference : windows; }
};

/// Preprocesses a table. Static columns (Table::static_columns; long format only) give each
/// sequence's static values, min-max scaled by their own scaler (OutputMap::statics).
/// Categorical columns (Table::categories) are not scaled: the numeric
/// columns go through the steps below unchanged and each categorical column is appended as a
/// one-hot block of its labels (same windows, same order), in model and reference scale alike.
/// At least one numeric column is needed. Wide tables are windowed:
///  - "original" (§1.2-1.4): flip rows; outer min-max with 1e-7; windows i = 0..N-seq-1 (N-seq of
///    them); shuffle with rng.permutation(N-seq); inner min-max. Needs N > seq.
///  - "default": min-max (zero range guarded), time order, windows every `stride` rows while
///    they fit (N-seq+1 for stride 1), no shuffle. Needs N >= seq.
/// Tables with ids (long format): one sequence per id, no windowing, no flip/shuffle; the
/// preset's scalers; shorter sequences zero-padded (lengths recorded), longer ones an error or
/// truncated. Bad options / too few rows: InputError naming the file, rows and seq_len.
Prepared prepare(const Table& t, const PrepOptions& o, tg::Rng& rng);
/// An NPY array of windows [n, T, d] as `timegan train --data x.npy` reads it: rank 3, n >= 1,
/// T >= 2, d >= 1, finite and scalable values; one min-max over all windows and steps (zero
/// range guarded) whose inverse is the output map's outer stage; then prepare(Windows) with the
/// preset. Columns feature_1..feature_d. Throws InputError naming `src` before allocating.
Prepared prepare_npy(NpyArray a, const PrepOptions& o, const std::string& src);
/// Data already in [0,1] (e.g. sine_data): "original" applies the inner min-max only
/// (reference = the input), "default" leaves it as is.
Prepared prepare(Windows w, const PrepOptions& o);

}  // namespace tg::io
