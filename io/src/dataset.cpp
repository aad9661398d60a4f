#include "tg/io/dataset.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <unordered_set>
#include <utility>

#include "tg/io/error.h"
#include "text.h"

namespace tg::io {

void check_window_size(int64_t n, int64_t seq, int64_t dim, const std::string& src) {
  int64_t nd = 0, total = 0;
  const bool overflow =
      n < 0 || seq < 0 || dim < 0 || __builtin_mul_overflow(n, seq, &nd) || __builtin_mul_overflow(nd, dim, &total);
  if (overflow || total > kMaxWindowValues)
    throw InputError(src + ": " + std::to_string(n) + " windows x " + std::to_string(seq) + " steps x " +
                     std::to_string(dim) + " features is more than " + std::to_string(kMaxWindowValues) +
                     " values (8 GiB); use fewer or shorter windows, a larger stride or fewer columns");
}

void check_scalable(const double* x, int64_t rows, int64_t dim, const std::vector<std::string>& columns,
                    const std::string& src, bool allow_missing) {
  for (int64_t k = 0; k < dim; ++k) {
    const std::string col = k < static_cast<int64_t>(columns.size())
                                ? detail::printable(columns[static_cast<std::size_t>(k)])
                                : "feature_" + std::to_string(k + 1);
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (int64_t r = 0; r < rows; ++r) {
      const double v = x[r * dim + k];
      if (allow_missing && std::isnan(v)) continue;
      if (!std::isfinite(v))
        throw InputError(src + ": column '" + col + "': NaN or infinite value " + format_double(v) + " (row " +
                         std::to_string(r + 1) + ")");
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    if (allow_missing && rows > 0 && lo > hi)
      throw InputError(src + ": column '" + col + "': every value is missing; drop the column or give it a value");
    if (rows > 0 && !std::isfinite(hi - lo))
      throw InputError(src + ": column '" + col + "': values from " + format_double(lo) + " to " + format_double(hi) +
                       " span more than the largest double, so they cannot be min-max scaled; rescale the column");
  }
}

namespace {
// n windows of seq steps each (all full length) and d features named `columns`, values zero.
Windows full_windows(int64_t n, int64_t seq, int64_t d, std::vector<std::string> columns) {
  Windows w;
  w.n = n;
  w.seq = seq;
  w.dim = d;
  w.columns = std::move(columns);
  w.lengths.assign(static_cast<std::size_t>(n), static_cast<int32_t>(seq));
  w.data.resize(static_cast<std::size_t>(n * seq * d));
  return w;
}
}  // namespace

Windows sine_data(int64_t n, int64_t seq, int64_t dim, tg::Rng& rng) {
  if (n < 0 || seq <= 0 || dim <= 0) throw InputError("sine data: need n >= 0, seq_len > 0 and dim > 0");
  check_window_size(n, seq, dim, "sine data");
  std::vector<std::string> names;
  for (int64_t k = 0; k < dim; ++k) names.push_back("feature_" + std::to_string(k + 1));
  Windows w = full_windows(n, seq, dim, std::move(names));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t k = 0; k < dim; ++k) {
      const double freq = 0.1 * rng.next_double();   // np.random.uniform(0, 0.1)
      const double phase = 0.1 * rng.next_double();  // np.random.uniform(0, 0.1)
      for (int64_t j = 0; j < seq; ++j)
        w.at(i, j, k) = (std::sin(freq * static_cast<double>(j) + phase) + 1.0) * 0.5;
    }
  }
  return w;
}

// ------------------------------------------------------------------ MinMaxScaler

void MinMaxScaler::transform(double* x, int64_t rows) const {
  const int64_t d = dim();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < d; ++k) {
      double& v = x[r * d + k];
      v = (v - min[static_cast<std::size_t>(k)]) / (range[static_cast<std::size_t>(k)] + eps);
    }
}

void MinMaxScaler::inverse(double* x, int64_t rows) const {
  const int64_t d = dim();
  const double e = eps_in_inverse ? eps : 0.0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < d; ++k) {
      double& v = x[r * d + k];
      v = v * (range[static_cast<std::size_t>(k)] + e) + min[static_cast<std::size_t>(k)];
    }
}

namespace {
void check_dim(const MinMaxScaler& s, const Windows& w) {
  if (s.dim() != w.dim || s.range.size() != s.min.size())
    throw std::invalid_argument("MinMaxScaler: has " + std::to_string(s.dim()) + " features, windows have " +
                                std::to_string(w.dim));
}
}  // namespace

void MinMaxScaler::transform(Windows& w) const {
  check_dim(*this, w);
  for (int64_t i = 0; i < w.n; ++i) transform(&w.at(i, 0, 0), w.length(i));
}

void MinMaxScaler::inverse(Windows& w) const {
  check_dim(*this, w);
  for (int64_t i = 0; i < w.n; ++i) inverse(&w.at(i, 0, 0), w.length(i));
}

namespace {
// NaN (a missing cell) fails both comparisons and is skipped.
void col_min_max(const double* x, int64_t rows, int64_t dim, std::vector<double>& mn, std::vector<double>& mx) {
  mn.assign(static_cast<std::size_t>(dim), std::numeric_limits<double>::infinity());
  mx.assign(static_cast<std::size_t>(dim), -std::numeric_limits<double>::infinity());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < dim; ++k) {
      const double v = x[r * dim + k];
      auto& a = mn[static_cast<std::size_t>(k)];
      auto& b = mx[static_cast<std::size_t>(k)];
      if (v < a) a = v;
      if (v > b) b = v;
    }
}

// A scaler with each column's min, and each column's max in mx; rows must be > 0.
MinMaxScaler with_min(const double* x, int64_t rows, int64_t dim, std::vector<double>& mx) {
  if (rows <= 0)
    throw std::invalid_argument("MinMaxScaler: no rows to fit (" + std::to_string(rows) + " rows of " +
                                std::to_string(dim) + " features given)");
  MinMaxScaler s;
  col_min_max(x, rows, dim, s.min, mx);
  s.range.resize(s.min.size());
  return s;
}
}  // namespace

MinMaxScaler MinMaxScaler::fit_reference_outer(const double* x, int64_t rows, int64_t dim) {
  std::vector<double> mx;
  MinMaxScaler s = with_min(x, rows, dim, mx);
  for (std::size_t k = 0; k < s.min.size(); ++k) s.range[k] = mx[k] - s.min[k];  // (max - min) + 1e-7
  s.eps = 1e-7;
  s.eps_in_inverse = true;
  return s;
}

MinMaxScaler MinMaxScaler::fit_default(const double* x, int64_t rows, int64_t dim) {
  std::vector<double> mx;
  MinMaxScaler s = with_min(x, rows, dim, mx);
  for (std::size_t k = 0; k < s.min.size(); ++k) {
    const double r = mx[k] - s.min[k];
    s.range[k] = (r > 0.0 && std::isfinite(r)) ? r : 1.0;
  }
  s.eps = 0.0;
  s.eps_in_inverse = true;
  return s;
}

MinMaxScaler MinMaxScaler::fit_reference_inner(const Windows& w) {
  // min over (samples, time); then max over the shifted data (not max - min: same in exact
  // arithmetic, and this is what the reference computes).
  MinMaxScaler s;
  const auto d = static_cast<std::size_t>(w.dim);
  s.min.assign(d, std::numeric_limits<double>::infinity());
  s.range.assign(d, -std::numeric_limits<double>::infinity());
  bool any = false;
  // std::min / std::max keep their first argument against NaN: missing cells are skipped.
  for (int64_t i = 0; i < w.n; ++i)
    for (int64_t t = 0; t < w.length(i); ++t)
      for (std::size_t k = 0; k < d; ++k) {
        s.min[k] = std::min(s.min[k], w.at(i, t, static_cast<int64_t>(k)));
        any = true;
      }
  if (!any)
    throw std::invalid_argument("MinMaxScaler: no data to fit (" + std::to_string(w.n) + " windows with no valid step)");
  for (int64_t i = 0; i < w.n; ++i)
    for (int64_t t = 0; t < w.length(i); ++t)
      for (std::size_t k = 0; k < d; ++k) s.range[k] = std::max(s.range[k], w.at(i, t, static_cast<int64_t>(k)) - s.min[k]);
  s.eps = 1e-7;
  s.eps_in_inverse = false;
  return s;
}

std::vector<double> MinMaxScaler::to_vector() const {
  std::vector<double> v{static_cast<double>(min.size()), eps, eps_in_inverse ? 1.0 : 0.0};
  v.insert(v.end(), min.begin(), min.end());
  v.insert(v.end(), range.begin(), range.end());
  return v;
}

MinMaxScaler MinMaxScaler::from_vector(const std::vector<double>& v) {
  if (v.size() < 3 || v[0] < 0 || v[0] != std::floor(v[0]) || v.size() != 3 + 2 * static_cast<std::size_t>(v[0]))
    throw InputError("scaler: malformed flat vector of " + std::to_string(v.size()) + " values");
  MinMaxScaler s;
  const auto d = static_cast<std::size_t>(v[0]);
  s.eps = v[1];
  s.eps_in_inverse = v[2] != 0.0;
  s.min.assign(v.begin() + 3, v.begin() + 3 + static_cast<std::ptrdiff_t>(d));
  s.range.assign(v.begin() + 3 + static_cast<std::ptrdiff_t>(d), v.end());
  return s;
}

Json MinMaxScaler::to_json() const {
  Json j = Json::object();
  j["min"] = Json::from_doubles(min);
  j["range"] = Json::from_doubles(range);
  j["eps"] = eps;
  j["eps_in_inverse"] = eps_in_inverse;
  return j;
}

MinMaxScaler MinMaxScaler::from_json(const Json& j) {
  try {
    MinMaxScaler s;
    s.min = j.at("min").as_doubles();
    s.range = j.at("range").as_doubles();
    s.eps = j.at("eps").as_double();
    s.eps_in_inverse = j.at("eps_in_inverse").as_bool();
    if (s.min.size() != s.range.size()) throw std::runtime_error("min and range differ in length");
    return s;
  } catch (const InputError&) {
    throw;
  } catch (const std::exception& e) {
    throw InputError(std::string("scaler: malformed JSON: ") + e.what());
  }
}

// ------------------------------------------------------------------ OutputMap

int64_t OutputMap::model_features() const {
  int64_t d = numeric();
  for (const auto& c : categorical) d += static_cast<int64_t>(c.labels.size());
  return d;
}

std::vector<int64_t> OutputMap::block_sizes() const {
  std::vector<int64_t> b;
  for (const auto& c : categorical) b.push_back(static_cast<int64_t>(c.labels.size()));
  return b;
}

namespace {
// Applies `f(row)` to the first `numeric` values of every valid step.
template <class F>
void each_numeric_row(Windows& w, F f) {
  for (int64_t i = 0; i < w.n; ++i)
    for (int64_t t = 0; t < w.length(i); ++t) f(&w.at(i, t, 0));
}
void check_model_dim(const OutputMap& m, const Windows& w) {
  if (w.dim != m.model_features())
    throw std::invalid_argument("OutputMap: windows have " + std::to_string(w.dim) + " features, the map expects " +
                                std::to_string(m.model_features()));
}
// Undoes scaler s (when `has`) on the numeric features of w, the leading ones of each step: all
// of them without categorical columns, else those before the one-hot blocks (w checked first).
void inverse_numeric(const OutputMap& m, bool has, const MinMaxScaler& s, Windows& w) {
  if (m.categorical.empty()) {
    if (has) s.inverse(w);
    return;
  }
  check_model_dim(m, w);
  if (has) each_numeric_row(w, [&](double* r) { s.inverse(r, 1); });
}
}  // namespace

void OutputMap::model_to_reference(Windows& w) const { inverse_numeric(*this, has_inner, inner, w); }
void OutputMap::reference_to_original(Windows& w) const { inverse_numeric(*this, has_outer, outer, w); }
namespace {
// Each valid step (i, t) of w: its numeric values copied to o, then block(i, t, c, off, K) for
// each categorical column c, whose one-hot block starts at column off and holds K labels.
template <class F>
void each_step_block(const OutputMap& m, const Windows& w, Windows& o, F&& block) {
  const int64_t nn = m.numeric();
  for (int64_t i = 0; i < w.n; ++i)
    for (int64_t t = 0; t < w.length(i); ++t) {
      for (int64_t k = 0; k < nn; ++k) o.at(i, t, k) = w.at(i, t, k);
      int64_t off = nn;
      for (std::size_t c = 0; c < m.categorical.size(); ++c) {
        const auto K = static_cast<int64_t>(m.categorical[c].labels.size());
        block(i, t, static_cast<int64_t>(c), off, K);
        off += K;
      }
    }
}

// Windows of w's sequences with `dim` temporal columns not yet filled in: the temporal layout
// changes (one-hot blocks <-> label columns), the per-sequence values (lengths, static values,
// conditions) carry over.
Windows same_sequences(const Windows& w, int64_t dim) {
  Windows o;
  o.n = w.n;
  o.seq = w.seq;
  o.dim = dim;
  o.lengths = w.lengths;
  o.static_dim = w.static_dim;
  o.statics = w.statics;
  o.static_columns = w.static_columns;
  o.cond_dim = w.cond_dim;
  o.conditions = w.conditions;
  o.condition_column = w.condition_column;
  o.condition_text = w.condition_text;
  return o;
}

// Windows whose column k moves to column pos[k] (or, `inverse`, whose column k comes from pos[k]).
Windows permute_columns(const Windows& w, const std::vector<int64_t>& pos, bool inverse) {
  Windows o = w;
  for (std::size_t k = 0; k < pos.size(); ++k) {
    const auto to = static_cast<std::size_t>(inverse ? static_cast<int64_t>(k) : pos[k]);
    const auto from = static_cast<std::size_t>(inverse ? pos[k] : static_cast<int64_t>(k));
    if (from < w.columns.size() && to < o.columns.size()) o.columns[to] = w.columns[from];
    if (from < w.categories.size() && to < o.categories.size()) o.categories[to] = w.categories[from];
  }
  for (int64_t i = 0; i < w.n; ++i)
    for (int64_t t = 0; t < w.seq; ++t)
      for (std::size_t k = 0; k < pos.size(); ++k) {
        const int64_t to = inverse ? static_cast<int64_t>(k) : pos[k], from = inverse ? pos[k] : static_cast<int64_t>(k);
        o.at(i, t, to) = w.at(i, t, from);
      }
  return o;
}
}  // namespace

void OutputMap::model_to_original(Windows& w, tg::Rng* sample_labels) const {
  if (!static_columns.empty() && w.static_dim > 0) {  // the static values to the data's units
    if (w.static_dim != statics.dim() || static_cast<int64_t>(w.statics.size()) != w.n * w.static_dim)
      throw std::invalid_argument("OutputMap: static values do not match the static scaler");
    statics.inverse(w.statics.data(), w.n);
    w.static_columns = static_columns;
  }
  model_to_reference(w);
  reference_to_original(w);
  if (categorical.empty()) return;
  // One-hot blocks -> label indices by argmax.
  const int64_t nn = numeric(), nc = static_cast<int64_t>(categorical.size()), d = nn + nc;
  Windows o = same_sequences(w, d);
  o.columns = columns;
  o.categories.assign(static_cast<std::size_t>(d), {});
  for (int64_t c = 0; c < nc; ++c) {
    o.columns.push_back(categorical[static_cast<std::size_t>(c)].name);
    o.categories[static_cast<std::size_t>(nn + c)] = categorical[static_cast<std::size_t>(c)].labels;
  }
  o.data.assign(static_cast<std::size_t>(o.n * o.seq * d), 0.0);
  each_step_block(*this, w, o, [&](int64_t i, int64_t t, int64_t c, int64_t off, int64_t K) {
    int64_t best = 0;
    for (int64_t j = 1; j < K; ++j)
      if (w.at(i, t, off + j) > w.at(i, t, off + best)) best = j;
    if (sample_labels) {  // a draw from the block's probabilities
      double total = 0;
      for (int64_t j = 0; j < K; ++j) total += std::max(0.0, w.at(i, t, off + j));
      const double u = sample_labels->next_double() * total;
      if (total > 0 && std::isfinite(total)) {
        double cum = 0;
        best = K - 1;  // rounding: the last label with a positive probability
        while (best > 0 && !(w.at(i, t, off + best) > 0)) --best;
        for (int64_t j = 0; j < K; ++j) {
          cum += std::max(0.0, w.at(i, t, off + j));
          if (u < cum) {
            best = j;
            break;
          }
        }
      }
    }
    o.at(i, t, nn + c) = static_cast<double>(best);
  });
  w = order.empty() ? std::move(o) : permute_columns(o, data_positions(), false);
}

std::vector<int64_t> OutputMap::data_positions() const {
  const int64_t nn = numeric(), d = nn + static_cast<int64_t>(categorical.size());
  std::vector<int64_t> pos(static_cast<std::size_t>(d));
  for (int64_t k = 0; k < d; ++k) {
    pos[static_cast<std::size_t>(k)] = k;
    if (order.empty()) continue;
    const std::string& name =
        k < nn ? columns[static_cast<std::size_t>(k)] : categorical[static_cast<std::size_t>(k - nn)].name;
    pos[static_cast<std::size_t>(k)] = std::find(order.begin(), order.end(), name) - order.begin();
  }
  return pos;
}


void OutputMap::original_to_reference(Windows& w) const {
  if (categorical.empty()) {
    if (has_outer) outer.transform(w);
    return;
  }
  if (!order.empty()) {  // the data's order -> [numeric..., categorical...]
    if (w.dim != numeric() + static_cast<int64_t>(categorical.size()))
      throw std::invalid_argument("OutputMap: windows have " + std::to_string(w.dim) + " columns, the map expects " +
                                  std::to_string(numeric() + static_cast<int64_t>(categorical.size())));
    w = permute_columns(w, data_positions(), true);
  }
  const int64_t nn = numeric(), nc = static_cast<int64_t>(categorical.size()), d = model_features();
  if (w.dim != nn + nc)
    throw std::invalid_argument("OutputMap: windows have " + std::to_string(w.dim) + " columns, the map expects " +
                                std::to_string(nn + nc));
  check_window_size(w.n, w.seq, d, "<windows>");
  Windows o = same_sequences(w, d);  // static values and conditions are not touched here
  o.columns = columns;
  for (const auto& c : categorical)
    for (const auto& l : c.labels) o.columns.push_back(c.name + "=" + l);
  o.data.assign(static_cast<std::size_t>(o.n * o.seq * d), 0.0);
  each_step_block(*this, w, o, [&](int64_t i, int64_t t, int64_t c, int64_t off, int64_t K) {
    const double v = w.at(i, t, nn + c);
    if (!(v >= 0 && v < static_cast<double>(K)) || v != std::floor(v))
      throw InputError("column '" + categorical[static_cast<std::size_t>(c)].name + "': " + format_double(v) +
                       " is not a label index in [0, " + std::to_string(K) + ")");
    o.at(i, t, off + static_cast<int64_t>(v)) = 1.0;
  });
  if (has_outer) each_numeric_row(o, [&](double* r) { outer.transform(r, 1); });
  w = std::move(o);
}

Json OutputMap::to_json() const {
  Json j = Json::object();
  j["preset"] = preset;
  Json c = Json::array();
  for (const auto& s : columns) c.push_back(s);
  j["columns"] = c;
  j["inner"] = has_inner ? inner.to_json() : Json();
  j["outer"] = has_outer ? outer.to_json() : Json();
  if (!categorical.empty()) {  // absent without categorical columns (config.json as before)
    Json cs = Json::array();
    for (const auto& c : categorical) {
      Json o = Json::object();
      o["name"] = c.name;
      Json l = Json::array();
      for (const auto& s : c.labels) l.push_back(s);
      o["labels"] = l;
      cs.push_back(o);
    }
    j["categorical"] = cs;
  }
  if (!order.empty()) {  // absent unless a categorical column precedes a numeric one
    Json c = Json::array();
    for (const auto& s : order) c.push_back(s);
    j["column_order"] = c;
  }
  if (!static_columns.empty()) {  // absent without static columns (config.json as before)
    Json st = Json::object();
    Json c = Json::array();
    for (const auto& s : static_columns) c.push_back(s);
    st["columns"] = c;
    st["scaler"] = statics.to_json();
    j["static"] = st;
  }
  if (!condition.is_null()) j["condition"] = condition;  // absent without a condition
  return j;
}

OutputMap OutputMap::from_json(const Json& j) {
  try {
    OutputMap m;
    m.preset = j.at("preset").as_string();
    for (const auto& c : j.at("columns").items()) m.columns.push_back(c.as_string());
    if (!j.at("inner").is_null()) {
      m.has_inner = true;
      m.inner = MinMaxScaler::from_json(j.at("inner"));
    }
    if (!j.at("outer").is_null()) {
      m.has_outer = true;
      m.outer = MinMaxScaler::from_json(j.at("outer"));
    }
    if (j.contains("categorical"))
      for (const auto& c : j.at("categorical").items()) {
        CategoricalColumn cc;
        cc.name = c.at("name").as_string();
        for (const auto& l : c.at("labels").items()) cc.labels.push_back(l.as_string());
        if (cc.labels.empty()) throw std::runtime_error("categorical column '" + detail::printable(cc.name) + "' has no labels");
        m.categorical.push_back(std::move(cc));
      }
    if (j.contains("column_order")) {
      for (const auto& c : j.at("column_order").items()) m.order.push_back(c.as_string());
      std::vector<std::string> names = m.columns, sorted = m.order;
      for (const auto& c : m.categorical) names.push_back(c.name);
      std::sort(names.begin(), names.end());
      std::sort(sorted.begin(), sorted.end());
      if (names != sorted || std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
        throw std::runtime_error("column_order does not list the numeric and categorical columns once each");
    }
    if (j.contains("condition")) m.condition = j.at("condition");
    if (j.contains("static")) {
      for (const auto& c : j.at("static").at("columns").items()) m.static_columns.push_back(c.as_string());
      m.statics = MinMaxScaler::from_json(j.at("static").at("scaler"));
      if (m.static_columns.empty() || m.statics.dim() != static_cast<int64_t>(m.static_columns.size()))
        throw std::runtime_error("static: the scaler does not match the " + std::to_string(m.static_columns.size()) + " columns");
    }
    return m;
  } catch (const InputError&) {
    throw;
  } catch (const std::exception& e) {
    throw InputError(std::string("output map: malformed JSON: ") + e.what());
  }
}

void OutputMap::check(int64_t features, int64_t static_features, bool from_csv) const {
  auto bad = [](const std::string& what) { throw InputError("output_map: " + what); };
  if (static_cast<int64_t>(static_columns.size()) != static_features)
    bad("static names " + std::to_string(static_columns.size()) + " column(s), the model has " +
        std::to_string(static_features) + " static feature(s)");
  if (model_features() != features)
    bad(std::to_string(numeric()) + " numeric column(s) and " + std::to_string(categorical.size()) +
        " categorical one(s) make " + std::to_string(model_features()) + " features, the model has " +
        std::to_string(features));
  if (has_outer && outer.dim() != numeric())
    bad("the outer scaler has " + std::to_string(outer.dim()) + " column(s), not " + std::to_string(numeric()));
  if (has_inner && inner.dim() != numeric())
    bad("the inner scaler has " + std::to_string(inner.dim()) + " column(s), not " + std::to_string(numeric()));
  if (preset != "default" && preset != "original") bad("unknown preset '" + detail::printable(preset) + "'");
  if (preset == "original" && !has_inner) bad("the original preset's inner scaler is missing");
  if (from_csv && !has_outer) bad("the scaler to the data's units (outer) is missing");
}

// ------------------------------------------------------------------ presets

namespace {

bool is_original(const PrepOptions& o, const std::string& src) {
  if (o.preset == "original") return true;
  if (o.preset == "default") return false;
  throw InputError(src + ": unknown preprocessing preset '" + o.preset + "' (expected 'original' or 'default')");
}

std::string src_name(const Table& t) { return t.source.empty() ? std::string("<table>") : t.source; }

// With missing cells, a column can be observed in the data but in none of the original
// preset's windows (which leave out the last rows): its inner scaler would have no minimum.
void check_inner_observed(const MinMaxScaler& s, const std::vector<std::string>& columns, const std::string& src) {
  for (std::size_t k = 0; k < s.min.size(); ++k)
    if (!std::isfinite(s.min[k]) || !std::isfinite(s.range[k]))
      throw InputError(src + ": column '" + (k < columns.size() ? detail::printable(columns[k]) : "feature_" + std::to_string(k + 1)) +
                       "': no observed value in any window");
}

Prepared prepare_long(const Table& t, const PrepOptions& o, bool original) {
  const std::string src = src_name(t);
  const int64_t d = t.cols();
  // Group consecutive ids.
  std::vector<int64_t> starts, lens;
  std::vector<std::string> ids;
  std::unordered_set<std::string> seen;
  if (t.ids.size() != static_cast<std::size_t>(t.rows))
    throw std::invalid_argument("prepare: table ids do not match its rows");
  for (int64_t r = 0; r < t.rows; ++r) {
    const std::string& id = t.ids[static_cast<std::size_t>(r)];
    if (r == 0 || id != ids.back()) {
      if (!seen.insert(id).second) {
        const std::string where =
            t.line_of_row.empty() ? src : src + ":" + std::to_string(t.line_of_row[static_cast<std::size_t>(r)]);
        throw InputError(where + ": sequence id '" + detail::printable(id) +
                         "' appears again after other ids (rows of one sequence must be consecutive)");
      }
      ids.push_back(id);
      starts.push_back(r);
      lens.push_back(0);
    }
    ++lens.back();
  }
  const int64_t longest = *std::max_element(lens.begin(), lens.end());
  const int64_t seq = o.seq_len > 0 ? o.seq_len : longest;
  if (o.seq_len < 0) throw InputError(src + ": seq_len must be positive, got " + std::to_string(o.seq_len));
  for (std::size_t s = 0; s < ids.size(); ++s) {
    if (lens[s] > seq && !o.truncate) {
      const std::string where = t.line_of_row.empty()
                                    ? src
                                    : src + ":" + std::to_string(t.line_of_row[static_cast<std::size_t>(starts[s])]);
      throw InputError(where + ": sequence '" + detail::printable(ids[s]) + "' has " + std::to_string(lens[s]) +
                       " rows, longer than seq_len " + std::to_string(seq) + " (give a seq_len of at least " +
                       std::to_string(longest) + ", or 0 for the longest sequence)");
    }
  }

  check_window_size(static_cast<int64_t>(ids.size()), seq, d, src);

  Prepared p;
  p.map.preset = original ? "original" : "default";
  p.map.columns = t.columns;
  p.map.has_outer = true;
  p.map.outer = original ? MinMaxScaler::fit_reference_outer(t.values.data(), t.rows, d)
                         : MinMaxScaler::fit_default(t.values.data(), t.rows, d);
  Windows& w = p.windows;
  w.n = static_cast<int64_t>(ids.size());
  w.seq = seq;
  w.dim = d;
  w.columns = t.columns;
  w.data.assign(static_cast<std::size_t>(w.n * seq * d), 0.0);
  for (int64_t s = 0; s < w.n; ++s) {
    const int64_t len = std::min(lens[static_cast<std::size_t>(s)], seq);
    w.lengths.push_back(static_cast<int32_t>(len));
    std::copy(t.values.begin() + starts[static_cast<std::size_t>(s)] * d,
              t.values.begin() + (starts[static_cast<std::size_t>(s)] + len) * d, w.data.begin() + s * seq * d);
    p.first_row.push_back(starts[static_cast<std::size_t>(s)]);
  }
  p.map.outer.transform(w);
  p.ids = ids;
  p.row_step = 1;
  if (original) {
    p.reference = w;
    p.map.has_inner = true;
    p.map.inner = MinMaxScaler::fit_reference_inner(w);
    check_inner_observed(p.map.inner, t.columns, src);
    p.map.inner.transform(w);
  }
  return p;
}

}  // namespace

namespace {
// Categorical columns: the numeric columns are prepared alone, then each categorical column is
// appended to every window as a one-hot block, read from the same data rows.
Prepared prepare_with_categorical(const Table& t, const PrepOptions& o, tg::Rng& rng) {
  const std::string src = src_name(t);
  const int64_t d = t.cols();
  if (static_cast<int64_t>(t.values.size()) != t.rows * d || static_cast<int64_t>(t.categories.size()) != d)
    throw std::invalid_argument("prepare: table values do not match rows x columns");
  Table nt;
  nt.source = t.source;
  nt.rows = t.rows;
  nt.ids = t.ids;
  nt.line_of_row = t.line_of_row;
  std::vector<int64_t> num, cat;
  for (int64_t c = 0; c < d; ++c) (t.is_categorical(c) ? cat : num).push_back(c);
  if (num.empty())
    throw InputError(src + ": every selected column is categorical; at least one numeric column is needed");
  for (int64_t c : num) nt.columns.push_back(t.columns[static_cast<std::size_t>(c)]);
  nt.values.reserve(static_cast<std::size_t>(t.rows) * num.size());
  for (int64_t r = 0; r < t.rows; ++r)
    for (int64_t c : num) nt.values.push_back(t.at(r, c));
  Prepared p = prepare(nt, o, rng);
  int64_t width = 0;
  for (int64_t c : cat) {
    CategoricalColumn cc;
    cc.name = t.columns[static_cast<std::size_t>(c)];
    cc.labels = t.categories[static_cast<std::size_t>(c)];
    width += static_cast<int64_t>(cc.labels.size());
    p.map.categorical.push_back(std::move(cc));
  }
  // A categorical column before a numeric one: the output keeps the data's column order.
  if (cat.front() < num.back()) p.map.order = t.columns;
  const int64_t nn = static_cast<int64_t>(num.size());
  auto widen = [&](Windows& w) {
    if (w.n == 0) return;
    check_window_size(w.n, w.seq, nn + width, src);
    Windows o2;
    o2.n = w.n;
    o2.seq = w.seq;
    o2.dim = nn + width;
    o2.lengths = w.lengths;
    o2.columns = w.columns;
    for (const auto& cc : p.map.categorical)
      for (const auto& l : cc.labels) o2.columns.push_back(cc.name + "=" + l);
    o2.data.assign(static_cast<std::size_t>(o2.n * o2.seq * o2.dim), 0.0);
    for (int64_t i = 0; i < w.n; ++i)
      for (int64_t s = 0; s < w.length(i); ++s) {
        for (int64_t k = 0; k < nn; ++k) o2.at(i, s, k) = w.at(i, s, k);
        const int64_t row = p.first_row[static_cast<std::size_t>(i)] + s * p.row_step;
        int64_t off = nn;
        for (std::size_t c = 0; c < cat.size(); ++c) {
          o2.at(i, s, off + static_cast<int64_t>(t.at(row, cat[c]))) = 1.0;
          off += static_cast<int64_t>(p.map.categorical[c].labels.size());
        }
      }
    w = std::move(o2);
  };
  widen(p.windows);
  widen(p.reference);
  return p;
}
}  // namespace

static Prepared prepare_temporal(const Table& t, const PrepOptions& o, tg::Rng& rng);

namespace {
// Static columns (long format): each sequence's values (from its first row; the CSV reader has
// checked that they are constant within it), min-max scaled by their own scaler (range
// max - min, 1 where 0, eps 0), in model scale beside every window of the sequence.
void attach_statics(Prepared& p, const Table& t) {
  const std::string src = src_name(t);
  const auto S = static_cast<int64_t>(t.static_columns.size());
  if (t.ids.empty()) throw InputError(src + ": static columns need long format (an id column): a static value belongs to one sequence");
  if (static_cast<int64_t>(t.statics.size()) != t.rows * S || static_cast<int64_t>(p.first_row.size()) != p.windows.n)
    throw std::invalid_argument("prepare: table statics do not match rows x static columns");
  check_scalable(t.statics.data(), t.rows, S, t.static_columns, src);
  std::vector<double> v;
  v.reserve(static_cast<std::size_t>(p.windows.n * S));
  for (int64_t k = 0; k < p.windows.n; ++k) {
    const auto row = static_cast<std::size_t>(p.first_row[static_cast<std::size_t>(k)]);
    v.insert(v.end(), t.statics.begin() + static_cast<std::ptrdiff_t>(row * static_cast<std::size_t>(S)),
             t.statics.begin() + static_cast<std::ptrdiff_t>((row + 1) * static_cast<std::size_t>(S)));
  }
  p.map.static_columns = t.static_columns;
  p.map.statics = MinMaxScaler::fit_default(v.data(), p.windows.n, S);
  p.map.statics.transform(v.data(), p.windows.n);
  for (Windows* w : {&p.windows, &p.reference}) {
    if (w->n == 0) continue;
    w->static_dim = S;
    w->statics = v;
    w->static_columns = t.static_columns;
  }
}
}  // namespace

Prepared prepare(const Table& t, const PrepOptions& o, tg::Rng& rng) {
  Prepared p = prepare_temporal(t, o, rng);
  if (!t.static_columns.empty()) attach_statics(p, t);
  return p;
}

static Prepared prepare_temporal(const Table& t, const PrepOptions& o, tg::Rng& rng) {
  const std::string src = src_name(t);
  for (int64_t c = 0; c < t.cols(); ++c)
    if (t.is_categorical(c)) return prepare_with_categorical(t, o, rng);
  const bool original = is_original(o, src);
  const int64_t d = t.cols();
  if (d <= 0 || t.rows <= 0)
    throw InputError(src + ": no data to scale: " + std::to_string(t.rows) + " data rows x " + std::to_string(d) +
                     " selected columns");
  if (static_cast<int64_t>(t.values.size()) != t.rows * d)
    throw std::invalid_argument("prepare: table values do not match rows x columns");
  check_scalable(t.values.data(), t.rows, d, t.columns, src, o.missing);
  if (!t.ids.empty()) return prepare_long(t, o, original);

  const int64_t seq = o.seq_len;
  if (seq <= 0) throw InputError(src + ": seq_len must be positive, got " + std::to_string(seq));
  const int64_t N = t.rows;

  Prepared p;
  p.map.columns = t.columns;
  p.map.has_outer = true;
  if (original) {
    if (o.stride != 1)
      throw InputError(src + ": the original preset uses stride 1 (got stride " + std::to_string(o.stride) + ")");
    if (N <= seq)
      throw InputError(src + ": too few rows for the window: " + std::to_string(N) + " rows, seq_len " +
                       std::to_string(seq) + " (the original preset needs more than seq_len rows)");
    p.map.preset = "original";
    // 1. flip rows (x[::-1]); 2. outer min-max over all rows (flip does not change min/max).
    std::vector<double> f(t.values.size());
    for (int64_t r = 0; r < N; ++r)
      std::copy(t.values.begin() + (N - 1 - r) * d, t.values.begin() + (N - r) * d, f.begin() + r * d);
    p.map.outer = MinMaxScaler::fit_reference_outer(f.data(), N, d);
    p.map.outer.transform(f.data(), N);
    // 3. windows i = 0..N-seq-1 (range(0, len - seq_len): N-seq windows).
    const int64_t nw = N - seq;
    check_window_size(nw, seq, d, src);
    // 4. shuffle: windows[k] = raw[perm[k]].
    p.order = rng.permutation(nw);
    p.reference = full_windows(nw, seq, d, t.columns);
    Windows& ref = p.reference;
    for (int64_t k = 0; k < nw; ++k) {
      const int64_t i = p.order[static_cast<std::size_t>(k)];
      std::copy(f.begin() + i * d, f.begin() + (i + seq) * d, ref.data.begin() + k * seq * d);
      p.first_row.push_back(N - 1 - i);  // flipped row i is data row N-1-i
    }
    p.row_step = -1;
    // 5. inner min-max (timegan()).
    p.map.has_inner = true;
    p.map.inner = MinMaxScaler::fit_reference_inner(ref);
    check_inner_observed(p.map.inner, t.columns, src);
    p.windows = ref;
    p.map.inner.transform(p.windows);
    return p;
  }

  if (o.stride <= 0) throw InputError(src + ": stride must be positive, got " + std::to_string(o.stride));
  if (N < seq)
    throw InputError(src + ": too few rows for the window: " + std::to_string(N) + " rows, seq_len " +
                     std::to_string(seq));
  p.map.preset = "default";
  const int64_t nw = (N - seq) / o.stride + 1;
  check_window_size(nw, seq, d, src);
  p.map.outer = MinMaxScaler::fit_default(t.values.data(), N, d);
  p.windows = full_windows(nw, seq, d, t.columns);
  Windows& w = p.windows;
  for (int64_t k = 0; k < nw; ++k) {
    const int64_t start = k * o.stride;
    std::copy(t.values.begin() + start * d, t.values.begin() + (start + seq) * d, w.data.begin() + k * seq * d);
    p.first_row.push_back(start);
  }
  p.row_step = 1;
  p.map.outer.transform(w);
  return p;
}

Prepared prepare_npy(NpyArray a, const PrepOptions& o, const std::string& src) {
  is_original(o, src);  // an unknown preset is refused first
  if (a.shape.size() != 3)
    throw InputError(src + ": expected windows of shape [n, T, d], found rank " + std::to_string(a.shape.size()));
  const int64_t n = a.shape[0], seq = a.shape[1], dim = a.shape[2];
  if (n < 1 || seq < 2 || dim < 1)
    throw InputError(src + ": shape (" + std::to_string(n) + ", " + std::to_string(seq) + ", " + std::to_string(dim) +
                     ") leaves nothing to train on: needs at least 1 window of 2 steps and 1 feature");
  // parse_npy checked n * seq * dim against the bytes in the file; this bounds it.
  check_window_size(n, seq, dim, src);
  if (static_cast<int64_t>(a.data.size()) != n * seq * dim)
    throw std::invalid_argument("prepare_npy: data size does not match the shape");
  Windows w;
  w.n = n;
  w.seq = seq;
  w.dim = dim;
  w.data = std::move(a.data);
  for (int64_t k = 0; k < dim; ++k) w.columns.push_back("feature_" + std::to_string(k + 1));
  check_scalable(w.data.data(), n * seq, dim, w.columns, src, o.missing);
  // Scale per feature over all windows and steps; the map returns outputs to these units.
  const MinMaxScaler sc = MinMaxScaler::fit_default(w.data.data(), n * seq, dim);
  sc.transform(w.data.data(), n * seq);
  Prepared p = prepare(std::move(w), o);
  p.map.has_outer = true;
  p.map.outer = sc;
  return p;
}

Prepared prepare(Windows w, const PrepOptions& o) {
  const bool original = is_original(o, "<windows>");
  if (static_cast<int64_t>(w.data.size()) != w.n * w.seq * w.dim)
    throw std::invalid_argument("prepare: window data do not match [n, seq, dim]");
  if (w.n < 1 || w.seq < 1 || w.dim < 1)
    throw InputError("<windows>: no data to scale: " + std::to_string(w.n) + " windows of " + std::to_string(w.seq) +
                     " steps x " + std::to_string(w.dim) + " features");
  if (w.lengths.empty()) w.lengths.assign(static_cast<std::size_t>(w.n), static_cast<int32_t>(w.seq));
  Prepared p;
  p.map.preset = original ? "original" : "default";
  p.map.columns = w.columns;
  for (int64_t i = 0; i < w.n; ++i) p.order.push_back(i);
  if (original) {
    p.map.has_inner = true;
    p.map.inner = MinMaxScaler::fit_reference_inner(w);
    check_inner_observed(p.map.inner, w.columns, "<windows>");
    p.reference = w;
    p.map.inner.transform(w);
  }
  p.windows = std::move(w);
  return p;
}

}  // namespace tg::io
