// Conditional generation's condition column (tg/app/condition.h; docs/conditional.md).
#include "tg/app/condition.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "tg/io/error.h"
#include "tg/random.h"

namespace tg::app {

using tg::io::InputError;
using tg::io::Json;

namespace {
// Generation draws the conditions from their own stream, so that the temporal noise of a seed
// (streams 4 and 6) does not depend on them.
constexpr uint64_t kStreamConditions = 7;

std::string trim(const std::string& s) {
  size_t a = 0, b = s.size();
  while (a < b && (s[a] == ' ' || s[a] == '\t')) ++a;
  while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t')) --b;
  return s.substr(a, b - a);
}

std::string quoted(const std::string& s) { return "\"" + tg::io::printable(s) + "\""; }
}  // namespace

int64_t Condition::sequences() const {
  if (!categorical) return static_cast<int64_t>(values.size());
  int64_t n = 0;
  for (int64_t c : counts) n += c;
  return n;
}

void Condition::encode_unchecked(const std::string& text, std::vector<double>& out, const std::string& where) const {
  if (categorical) return encode(text, out, where);
  const std::string v = trim(text);
  char* end = nullptr;
  const double x = v.empty() ? std::nan("") : std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || !std::isfinite(x))
    throw InputError(where + ": condition '" + tg::io::printable(column) + "': not a number: " + quoted(v));
  out.push_back((x - min) / (max > min ? max - min : 1.0));
}

void Condition::encode(const std::string& text, std::vector<double>& out, const std::string& where) const {
  const std::string v = trim(text);
  const std::string pre = where + ": condition '" + tg::io::printable(column) + "': ";
  if (categorical) {
    const auto it = std::find(labels.begin(), labels.end(), v);
    if (it == labels.end()) {
      std::string known;
      for (size_t i = 0; i < labels.size() && i < 20; ++i) known += (i ? ", " : "") + tg::io::printable(labels[i]);
      if (labels.size() > 20) known += ", ...";
      throw InputError(pre + "unknown label " + quoted(v) + " (the model knows: " + known + ")");
    }
    const size_t k = static_cast<size_t>(it - labels.begin());
    for (size_t i = 0; i < labels.size(); ++i) out.push_back(i == k ? 1.0 : 0.0);
    return;
  }
  char* end = nullptr;
  errno = 0;
  const double x = v.empty() ? std::nan("") : std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(x))
    throw InputError(pre + "not a number: " + quoted(v));
  if (x < min || x > max)
    throw InputError(pre + "value " + tg::io::format_double(x) + " is outside the training range [" +
                     tg::io::format_double(min) + ", " + tg::io::format_double(max) +
                     "] (a numeric condition is not extrapolated)");
  const double range = max > min ? max - min : 1.0;
  out.push_back((x - min) / range);
}

std::string Condition::text(const double* v) const {
  if (categorical) {
    size_t best = 0;
    for (size_t i = 1; i < labels.size(); ++i)
      if (v[i] > v[best]) best = i;
    return labels[best];
  }
  const double range = max > min ? max - min : 1.0;
  return tg::io::format_double(v[0] * range + min);
}

std::vector<double> Condition::draw(int64_t n, uint64_t seed, std::vector<std::string>& texts) const {
  tg::Rng rng(seed, kStreamConditions);
  std::vector<double> out;
  out.reserve(static_cast<size_t>(n * width()));
  texts.clear();
  texts.reserve(static_cast<size_t>(n));
  const int64_t total = sequences();
  if (total < 1) throw std::logic_error("Condition::draw: no training distribution");
  for (int64_t i = 0; i < n; ++i) {
    if (categorical) {
      int64_t r = static_cast<int64_t>(rng.next_below(static_cast<uint64_t>(total)));
      size_t k = 0;
      while (r >= counts[k]) r -= counts[k++];
      for (size_t j = 0; j < labels.size(); ++j) out.push_back(j == k ? 1.0 : 0.0);
      texts.push_back(labels[k]);
    } else {
      const double x = values[rng.next_below(values.size())];
      const double range = max > min ? max - min : 1.0;
      out.push_back((x - min) / range);
      texts.push_back(tg::io::format_double(x));
    }
  }
  return out;
}

Json Condition::to_json() const {
  Json j = Json::object();
  j["column"] = column;
  j["kind"] = categorical ? "categorical" : "numeric";
  if (categorical) {
    Json l = Json::array(), c = Json::array();
    for (const auto& s : labels) l.push_back(s);
    for (int64_t k : counts) c.push_back(static_cast<long long>(k));
    j["labels"] = l;
    j["counts"] = c;
  } else {
    j["min"] = min;
    j["max"] = max;
    j["values"] = Json::from_doubles(values);
  }
  return j;
}

Condition Condition::from_json(const Json& j, const std::string& src) {
  Condition c;
  auto bad = [&](const std::string& what) { return InputError(src + ": condition: " + what); };
  try {
    c.column = j.at("column").as_string();
    if (c.column.empty()) throw bad("empty column name");
    const std::string kind = j.at("kind").as_string();
    if (kind != "categorical" && kind != "numeric") throw bad("kind must be 'categorical' or 'numeric'");
    c.categorical = kind == "categorical";
    if (c.categorical) {
      for (const auto& l : j.at("labels").items()) c.labels.push_back(l.as_string());
      for (const auto& k : j.at("counts").items()) c.counts.push_back(k.as_int64());
      if (c.labels.empty() || c.counts.size() != c.labels.size()) throw bad("labels and counts do not match");
      int64_t total = 0;
      for (int64_t k : c.counts) {
        if (k < 0 || k > (int64_t{1} << 40)) throw bad("a count is out of range");
        total += k;
      }
      if (total < 1) throw bad("no training sequence");
      if (total > (int64_t{1} << 50)) throw bad("the counts add up to more than 2^50 sequences");
      std::vector<std::string> sorted = c.labels;
      std::sort(sorted.begin(), sorted.end());
      if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) throw bad("a label occurs twice");
    } else {
      c.min = j.at("min").as_double();
      c.max = j.at("max").as_double();
      c.values = j.at("values").as_doubles();
      if (c.values.empty()) throw bad("no training value");
      for (size_t i = 0; i < c.values.size(); ++i)
        if (!std::isfinite(c.values[i]) || (i > 0 && c.values[i] < c.values[i - 1]))
          throw bad("the training values are not finite and sorted");
      if (!(c.min == c.values.front() && c.max == c.values.back())) throw bad("min and max do not match the values");
    }
  } catch (const InputError&) {
    throw;
  } catch (const std::exception& e) {
    throw bad(e.what());
  }
  return c;
}

std::vector<double> take_condition_column(tg::io::Table& t, const std::string& column, std::vector<std::string>& labels) {
  const std::string& src = t.source;
  if (t.ids.size() != static_cast<size_t>(t.rows))
    throw InputError(src + ": condition column '" + tg::io::printable(column) +
                     "' needs long format (--id-column): a condition belongs to one sequence");
  const auto it = std::find(t.columns.begin(), t.columns.end(), column);
  if (it == t.columns.end()) {
    std::string avail;
    for (const auto& c : t.columns) avail += (avail.empty() ? "" : ", ") + tg::io::printable(c);
    throw InputError(src + ": unknown condition column '" + tg::io::printable(column) + "' (available: " + avail + ")");
  }
  const size_t k = static_cast<size_t>(it - t.columns.begin()), nc = t.columns.size();
  labels = t.is_categorical(static_cast<int64_t>(k)) ? t.categories[k] : std::vector<std::string>();
  std::vector<double> v(static_cast<size_t>(t.rows)), rest;
  rest.reserve(static_cast<size_t>(t.rows) * (nc - 1));
  auto show = [&](double x) { return labels.empty() ? tg::io::format_double(x) : quoted(labels[static_cast<size_t>(x)]); };
  for (size_t r = 0; r < static_cast<size_t>(t.rows); ++r) {
    const double x = t.values[r * nc + k];
    const std::string where =
        src + (r < t.line_of_row.size() ? ":" + std::to_string(t.line_of_row[r]) : "") + ": condition column '" +
        tg::io::printable(column) + "': ";
    if (std::isnan(x)) throw InputError(where + "empty field (a condition needs a value in every row)");
    if (r > 0 && t.ids[r] == t.ids[r - 1] && x != v[r - 1])
      throw InputError(where + "value " + show(x) + " differs from " + show(v[r - 1]) + " earlier in sequence '" +
                       tg::io::printable(t.ids[r]) + "' (a condition is constant within a sequence)");
    v[r] = x;
    for (size_t j = 0; j < nc; ++j)
      if (j != k) rest.push_back(t.values[r * nc + j]);
  }
  t.values = std::move(rest);
  t.columns.erase(t.columns.begin() + static_cast<std::ptrdiff_t>(k));
  if (!t.categories.empty()) {
    t.categories.erase(t.categories.begin() + static_cast<std::ptrdiff_t>(k));
    bool any = false;
    for (const auto& c : t.categories) any = any || !c.empty();
    if (!any) t.categories.clear();
  }
  t.auto_categorical.erase(std::remove(t.auto_categorical.begin(), t.auto_categorical.end(), column),
                           t.auto_categorical.end());
  if (t.columns.empty())
    throw InputError(src + ": no column left besides the condition column '" + tg::io::printable(column) + "'");
  return v;
}

void attach_condition(tg::io::Prepared& prep, const std::string& column, const std::vector<double>& row_values,
                      const std::vector<std::string>& labels) {
  tg::io::Windows& w = prep.windows;
  if (static_cast<int64_t>(prep.first_row.size()) != w.n)
    throw std::logic_error("attach_condition: the prepared data do not record each sequence's first row");
  std::vector<double> seq(static_cast<size_t>(w.n));
  for (int64_t i = 0; i < w.n; ++i) seq[static_cast<size_t>(i)] = row_values.at(static_cast<size_t>(prep.first_row[static_cast<size_t>(i)]));
  Condition c;
  c.column = column;
  c.categorical = !labels.empty();
  if (c.categorical) {
    c.labels = labels;
    c.counts.assign(labels.size(), 0);
    for (double x : seq) ++c.counts[static_cast<size_t>(x)];
  } else {
    c.values = seq;
    std::sort(c.values.begin(), c.values.end());
    c.min = c.values.front();
    c.max = c.values.back();
  }
  const int64_t C = c.width();
  w.cond_dim = C;
  w.conditions.assign(static_cast<size_t>(w.n * C), 0.0);
  const double range = c.max > c.min ? c.max - c.min : 1.0;
  for (int64_t i = 0; i < w.n; ++i) {
    const double x = seq[static_cast<size_t>(i)];
    if (c.categorical) w.conditions[static_cast<size_t>(i * C + static_cast<int64_t>(x))] = 1.0;
    else w.conditions[static_cast<size_t>(i)] = (x - c.min) / range;
  }
  if (prep.reference.n) {  // the original preset's reference windows are in the same order
    prep.reference.cond_dim = C;
    prep.reference.conditions = w.conditions;
  }
  prep.map.condition = c.to_json();
}

Condition condition_of(const tg::io::OutputMap& map, const std::string& src) {
  if (map.condition.is_null()) return Condition();
  return Condition::from_json(map.condition, src);
}

ConditionGroups condition_groups(const Condition& c, const tg::io::Windows& real, const tg::io::Windows& synthetic,
                                 int bins) {
  ConditionGroups g;
  const int64_t C = c.width();
  if (real.cond_dim != C || synthetic.cond_dim != C) return g;
  auto value = [&](const tg::io::Windows& w, int64_t i) {  // a label index, or the value in the data's units
    const double* v = w.conditions.data() + i * C;
    if (c.categorical) return static_cast<double>(std::max_element(v, v + C) - v);
    return v[0] * (c.max > c.min ? c.max - c.min : 1.0) + c.min;
  };
  if (c.categorical) {
    g.names = c.labels;
    for (int64_t i = 0; i < real.n; ++i) g.real.push_back(static_cast<int64_t>(value(real, i)));
    for (int64_t i = 0; i < synthetic.n; ++i) g.synthetic.push_back(static_cast<int64_t>(value(synthetic, i)));
    return g;
  }
  std::vector<double> sorted;
  for (int64_t i = 0; i < real.n; ++i) sorted.push_back(value(real, i));
  if (sorted.empty()) return g;
  std::sort(sorted.begin(), sorted.end());
  std::vector<double> edges;
  for (int j = 0; j <= bins; ++j) {
    const double e = sorted[static_cast<size_t>(static_cast<double>(j) * static_cast<double>(sorted.size() - 1) / bins)];
    if (edges.empty() || e > edges.back()) edges.push_back(e);
  }
  if (edges.size() == 1) edges.push_back(edges[0]);  // one value: one bin
  for (size_t j = 0; j + 1 < edges.size(); ++j)
    g.names.push_back((j == 0 ? "[" : "(") + tg::io::format_double(edges[j]) + ", " + tg::io::format_double(edges[j + 1]) + "]");
  auto bin = [&](double v) {
    int64_t j = 0;
    while (j + 2 < static_cast<int64_t>(edges.size()) && v > edges[static_cast<size_t>(j) + 1]) ++j;
    return j;
  };
  for (int64_t i = 0; i < real.n; ++i) g.real.push_back(bin(value(real, i)));
  for (int64_t i = 0; i < synthetic.n; ++i) g.synthetic.push_back(bin(value(synthetic, i)));
  return g;
}

void label_conditions(tg::io::Windows& w, const Condition& c) {
  if (!c.defined() || w.cond_dim != c.width()) return;
  w.condition_column = c.column;
  w.condition_text.clear();
  for (int64_t i = 0; i < w.n; ++i) w.condition_text.push_back(c.text(w.conditions.data() + i * w.cond_dim));
}

}  // namespace tg::app
