#include "tg/io/csv.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <string_view>
#include <unordered_map>

#include "tg/io/dataset.h"
#include "tg/io/error.h"
#include "tg/io/fs.h"
#include "tg/io/json.h"
#include "text.h"

namespace tg::io {

namespace {
void split_static(Table& t, const std::vector<std::size_t>& keep, const std::vector<std::size_t>& static_cols,
                  const std::vector<std::string>& header, const std::string& name);
}  // namespace

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string o(s);
  for (char& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

// A missing numeric cell (with CsvOptions::missing): nan / NaN / NA in any case (an empty field
// is checked by the caller).
bool is_missing_token(std::string_view f) {
  const std::string l = lower(f);
  return l == "nan" || l == "na";
}

/// "value" for messages: at most about 60 bytes, escaped to printable UTF-8 (detail::printable).
std::string quote_value(std::string_view s) {
  std::string o = detail::printable(s.substr(0, 60));
  if (s.size() > 60) o += "...";
  return "\"" + o + "\"";
}


bool digits(std::string_view s, std::size_t pos, std::size_t n) {
  if (pos + n > s.size()) return false;
  for (std::size_t i = 0; i < n; ++i)
    if (!std::isdigit(static_cast<unsigned char>(s[pos + i]))) return false;
  return true;
}

bool is_date_header(const std::string& h) {
  const std::string l = lower(trim(h));
  return l == "date" || l == "time" || l == "timestamp" || l == "datetime" || l == "date_time" ||
         l == "date time";
}

/// "a, b, c" (the first 30 names, then how many more).
std::string join(const std::vector<std::string>& v) {
  std::string o;
  const std::size_t shown = std::min<std::size_t>(v.size(), 30);
  for (std::size_t i = 0; i < shown; ++i) o += (i ? ", " : "") + detail::printable(v[i]);
  if (shown < v.size()) o += ", ... (" + std::to_string(v.size()) + " columns)";
  return o;
}

}  // namespace

bool looks_like_date(const std::string& str) {
  const std::string_view s = trim(str);
  // YYYY-MM-DD or YYYY/MM/DD
  if (!digits(s, 0, 4) || s.size() < 10) return false;
  const char sep = s[4];
  if ((sep != '-' && sep != '/') || !digits(s, 5, 2) || s[7] != sep || !digits(s, 8, 2)) return false;
  const int month = (s[5] - '0') * 10 + (s[6] - '0');
  const int day = (s[8] - '0') * 10 + (s[9] - '0');
  if (month < 1 || month > 12 || day < 1 || day > 31) return false;
  if (s.size() == 10) return true;
  if (s[10] != ' ' && s[10] != 'T') return false;
  // HH:MM[:SS[.fff]]
  if (!digits(s, 11, 2) || s.size() < 16 || s[13] != ':' || !digits(s, 14, 2)) return false;
  std::size_t p = 16;
  if (p < s.size() && s[p] == ':') {
    if (!digits(s, p + 1, 2)) return false;
    p += 3;
    if (p < s.size() && s[p] == '.') {
      ++p;
      if (!digits(s, p, 1)) return false;
      while (p < s.size() && std::isdigit(static_cast<unsigned char>(s[p]))) ++p;
    }
  }
  if (p == s.size()) return true;
  if (s[p] == 'Z' && p + 1 == s.size()) return true;
  if ((s[p] == '+' || s[p] == '-') && digits(s, p + 1, 2)) {
    std::size_t q = p + 3;
    if (q < s.size() && s[q] == ':') ++q;
    return q == s.size() || (digits(s, q, 2) && q + 2 == s.size());
  }
  return false;
}

namespace {
/// A file whose header is one column containing ';' or a tab was most likely written with
/// another delimiter: errors about it get this hint appended.
std::string delimiter_hint(const std::vector<std::string>& header, char delim) {
  if (header.size() != 1) return "";
  const std::string& h = header[0];
  const char* what = nullptr;
  if (delim != ';' && h.find(';') != std::string::npos) what = "semicolon";
  else if (delim != '\t' && h.find('\t') != std::string::npos) what = "tab";
  if (!what) return "";
  return std::string(" (the header is one column containing a ") + what + ": the file looks " + what +
         "-separated, but fields must be separated by '" + std::string(1, delim) + "')";
}

Table parse_csv_body(CsvRecords& rd, std::vector<std::string>& header, int64_t header_line, const std::string& text,
                     const std::string& name, const CsvOptions& opt);
}  // namespace

CsvRecords::CsvRecords(const std::string& text, const std::string& name, char delimiter)
    : t_(text), name_(name), d_(delimiter) {
  if (t_.size() >= 3 && t_.compare(0, 3, "\xEF\xBB\xBF") == 0) p_ = 3;  // UTF-8 BOM
}

bool CsvRecords::next(std::vector<std::string>& fields, int64_t& line) {
  // Skip blank (or whitespace-only) lines.
  for (;;) {
    if (p_ >= t_.size()) return false;
    std::size_t q = p_;
    while (q < t_.size() && (t_[q] == ' ' || t_[q] == '\t' || t_[q] == '\r')) ++q;
    if (q >= t_.size()) { p_ = q; return false; }
    if (t_[q] == '\n') { p_ = q + 1; ++line_; continue; }
    break;
  }
  line = line_;
  fields.clear();
  for (;;) {
    std::string f;
    std::size_t q = p_;
    while (q < t_.size() && (t_[q] == ' ' || t_[q] == '\t')) ++q;
    if (q < t_.size() && t_[q] == '"') {
      p_ = q + 1;
      for (;;) {
        if (p_ >= t_.size())
          throw InputError(name_ + ":" + std::to_string(line) + ": unterminated quoted field");
        const char c = t_[p_];
        if (c == '"') {
          if (p_ + 1 < t_.size() && t_[p_ + 1] == '"') { f += '"'; p_ += 2; continue; }
          ++p_;
          break;
        }
        if (c == '\n') ++line_;
        f += c;
        ++p_;
      }
      while (p_ < t_.size() && (t_[p_] == ' ' || t_[p_] == '\t' || t_[p_] == '\r')) ++p_;
      if (p_ < t_.size() && t_[p_] != d_ && t_[p_] != '\n')
        throw InputError(name_ + ":" + std::to_string(line_) + ": unexpected character after quoted field " +
                         quote_value(f));
      f.insert(0, 1, '\x01');  // mark as quoted (stripped below); never a valid number char
    } else {
      const std::size_t b = p_;
      while (p_ < t_.size() && t_[p_] != d_ && t_[p_] != '\n') ++p_;
      f.assign(trim(std::string_view(t_).substr(b, p_ - b)));
    }
    fields.push_back(std::move(f));
    if (p_ >= t_.size()) break;
    if (t_[p_] == d_) { ++p_; continue; }
    // newline
    ++p_;
    ++line_;
    break;
  }
  for (auto& f : fields)
    if (!f.empty() && f[0] == '\x01') f.erase(0, 1);
  return true;
}

Table parse_csv(const std::string& text, const std::string& name, const CsvOptions& opt) {
  CsvRecords rd(text, name, opt.delimiter);
  std::vector<std::string> header;
  int64_t line = 0;
  try {
    if (!rd.next(header, line)) throw InputError(name + ": empty file (no header line)");
  } catch (const InputError& e) {
    throw InputError(detail::printable(e.what()));
  }
  const std::string hint = delimiter_hint(header, opt.delimiter);
  try {
    return parse_csv_body(rd, header, line, text, name, opt);
  } catch (const InputError& e) {
    // Names and values quoted from the file may hold newlines or bytes that are not UTF-8.
    throw InputError(detail::printable(e.what() + hint));
  }
}

namespace {
/// True when `f` (trimmed) reads whole as a number (finite or not, overflow aside).
bool to_number(std::string_view f, double& v) {
  std::string_view num = f;
  if (num.size() > 1 && num[0] == '+' && num[1] != '-' && num[1] != '+') num.remove_prefix(1);
  const auto r = std::from_chars(num.data(), num.data() + num.size(), v);
  return r.ptr == num.data() + num.size() && (r.ec == std::errc() || r.ec == std::errc::result_out_of_range);
}

// One parse of a CSV body (after its header): each step a method, in the order of the checks
// (and so of the errors) that read_csv documents.
class BodyParser {
 public:
  BodyParser(std::vector<std::string>& header, int64_t header_line, const std::string& text, const std::string& name,
             const CsvOptions& opt)
      : header_(header), header_line_(header_line), text_(text), name_(name), opt_(opt), ncol_(header.size()) {}

  Table parse(CsvRecords& rd) {
    index_header();
    std::vector<std::string> fields;
    int64_t line = header_line_;
    if (!rd.next(fields, line)) throw InputError(name_ + ": no data rows (header only)");
    check_width(fields, line);
    is_date_.resize(ncol_);
    for (std::size_t i = 0; i < ncol_; ++i) is_date_[i] = is_date_header(header_[i]) || looks_like_date(fields[i]);
    t_.source = name_;
    choose_id();
    choose_statics();
    choose_kept();
    choose_categorical(fields);
    check_kinds();
    read_rows(rd, fields, line);
    number_labels();
    if (!static_cols_.empty()) split_static(t_, keep_, static_cols_, header_, name_);
    return std::move(t_);
  }

 private:
  std::string at(int64_t line) const { return name_ + ":" + std::to_string(line) + ": "; }
  std::string available() const { return " (available: " + join(header_) + ")"; }
  int64_t find_col(const std::string& c) const {
    const auto it = index_.find(c);
    return it == index_.end() ? -1 : static_cast<int64_t>(it->second);
  }
  void check_width(const std::vector<std::string>& fields, int64_t line) const {
    if (fields.size() != ncol_)
      throw InputError(at(line) + "expected " + std::to_string(ncol_) + " fields, found " + std::to_string(fields.size()));
  }

  // Names every column (an empty name becomes column_<n>); a name given twice is an error.
  void index_header() {
    index_.reserve(ncol_);  // name -> column (linear scans are quadratic)
    for (std::size_t i = 0; i < ncol_; ++i) {
      if (header_[i].empty()) header_[i] = "column_" + std::to_string(i + 1);
      if (!index_.emplace(header_[i], i).second)
        throw InputError(at(header_line_) + "duplicate column name '" + detail::printable(header_[i]) + "'");
    }
  }

  // Requested names are trimmed like header fields ("--columns 'Open, Close'").
  void choose_id() {
    id_name_ = std::string(trim(opt_.id_column));
    if (id_name_.empty() && !opt_.id_column.empty()) throw InputError(name_ + ": the id column name is blank");
    if (id_name_.empty()) return;
    id_col_ = find_col(id_name_);
    if (id_col_ < 0) throw InputError(name_ + ": unknown id column '" + detail::printable(id_name_) + "'" + available());
  }

  // A column named for a role (`what`: "static", "categorical"): its index, its trimmed name c
  // and q, the name quoted for messages; -1 for a blank name. An unknown column or the id column
  // is an error.
  int64_t named(const std::string& raw, const char* what, std::string& c, std::string& q) const {
    c = std::string(trim(raw));
    if (c.empty()) return -1;
    const int64_t k = find_col(c);
    q = "'" + detail::printable(c) + "'";
    if (k < 0) throw InputError(name_ + ": unknown " + what + " column " + q + available());
    if (k == id_col_) throw InputError(name_ + ": column " + q + " is the id column and cannot be " + what);
    return k;
  }

  // Static columns: known, not the id, only in long format; read beside the kept columns.
  void choose_statics() {
    for (const auto& c : opt_.columns)
      if (!trim(c).empty()) wanted_.emplace_back(trim(c));
    std::string c, q;
    for (const auto& c0 : opt_.static_columns) {
      const int64_t k = named(c0, "static", c, q);
      if (k < 0) continue;
      if (id_col_ < 0)
        throw InputError(name_ + ": static column " + q + " needs long format (--id-column): a static value belongs to one sequence");
      if (std::find(static_cols_.begin(), static_cols_.end(), static_cast<std::size_t>(k)) != static_cols_.end())
        throw InputError(name_ + ": static column " + q + " named twice");
      static_cols_.push_back(static_cast<std::size_t>(k));
      t_.static_columns.push_back(header_[static_cast<std::size_t>(k)]);
      if (!wanted_.empty() && std::find(wanted_.begin(), wanted_.end(), c) == wanted_.end()) wanted_.push_back(c);
    }
  }

  // The kept columns: the requested ones in their order, else every column but the id and dates.
  void choose_kept() {
    if (wanted_.empty()) {
      for (std::size_t i = 0; i < ncol_; ++i) {
        if (static_cast<int64_t>(i) == id_col_) continue;
        if (is_date_[i]) { t_.skipped.push_back(header_[i]); continue; }
        keep_.push_back(i);
      }
      if (keep_.empty()) throw InputError(name_ + ": no numeric columns");
      return;
    }
    std::vector<bool> taken(ncol_, false);
    for (const auto& c : wanted_) {
      const int64_t k = find_col(c);
      const std::string q = "'" + detail::printable(c) + "'";
      if (k < 0) throw InputError(name_ + ": unknown column " + q + available());
      if (k == id_col_) throw InputError(name_ + ": column " + q + " is the id column and cannot be a feature");
      const auto uk = static_cast<std::size_t>(k);
      if (is_date_[uk]) throw InputError(name_ + ": column " + q + " holds dates/times, not numbers");
      if (taken[uk]) throw InputError(name_ + ": column " + q + " requested twice");
      taken[uk] = true;
      keep_.push_back(uk);
    }
  }

  // Categorical columns: named ones, then (auto) kept columns whose first value is not a number.
  void choose_categorical(const std::vector<std::string>& first) {
    is_cat_.assign(ncol_, false);
    std::string c, q;
    for (const auto& c0 : opt_.categorical) {
      const int64_t k = named(c0, "categorical", c, q);
      if (k < 0) continue;
      const auto uk = static_cast<std::size_t>(k);
      if (std::find(keep_.begin(), keep_.end(), uk) == keep_.end()) {
        if (!wanted_.empty()) throw InputError(name_ + ": categorical column " + q + " is not among the selected columns");
        // A column skipped as a date is kept when named categorical (at its place in file order).
        keep_.insert(std::upper_bound(keep_.begin(), keep_.end(), uk), uk);
        t_.skipped.erase(std::find(t_.skipped.begin(), t_.skipped.end(), header_[uk]));
      }
      is_cat_[uk] = true;
    }
    // Not for a file that looks separated by another delimiter: its error keeps the hint.
    if (!opt_.auto_categorical || !delimiter_hint(header_, opt_.delimiter).empty()) return;
    for (std::size_t k : keep_) {
      const std::string_view f = trim(first[k]);
      double v = 0;
      if (!is_cat_[k] && !f.empty() && !(opt_.missing && is_missing_token(f)) && !to_number(f, v)) {
        is_cat_[k] = true;
        t_.auto_categorical.push_back(header_[k]);
      }
    }
  }

  // Static columns are numbers; at least one numeric column besides them.
  void check_kinds() {
    if (opt_.max_categories < 1)
      throw InputError(name_ + ": the category limit must be at least 1 (got " + std::to_string(opt_.max_categories) + ")");
    for (std::size_t k : static_cols_) {
      const std::string q = "'" + detail::printable(header_[k]) + "'";
      if (is_date_[k]) throw InputError(name_ + ": static column " + q + " holds dates/times, not numbers");
      if (is_cat_[k]) throw InputError(name_ + ": static column " + q + " is not numeric (static columns must be numbers)");
    }
    bool any_num = false;
    for (std::size_t k : keep_)
      if (std::find(static_cols_.begin(), static_cols_.end(), k) == static_cols_.end()) (is_cat_[k] ? any_cat_ : any_num) = true;
    if (!any_num && !static_cols_.empty()) throw InputError(name_ + ": no numeric columns besides the static ones");
    if (!any_num) {
      std::vector<std::string> kept;
      for (std::size_t k : keep_) kept.push_back(header_[k]);
      throw InputError(name_ + ": no numeric columns (categorical: " + join(kept) + "); at least one numeric column is needed");
    }
  }

  void read_rows(CsvRecords& rd, std::vector<std::string>& fields, int64_t line) {
    // Per kept categorical column: label -> index in order of appearance (sorted at the end).
    label_index_.assign(any_cat_ ? keep_.size() : 0, {});
    if (any_cat_) t_.categories.assign(keep_.size(), {});
    for (std::size_t k : keep_) t_.columns.push_back(header_[k]);
    t_.values.reserve(keep_.size() * (text_.size() / std::max<std::size_t>(1, 8 * ncol_) + 1));
    do {
      check_width(fields, line);
      for (std::size_t j = 0; j < keep_.size(); ++j) t_.values.push_back(cell(j, trim(fields[keep_[j]]), line));
      if (id_col_ >= 0) {
        const std::string id(trim(fields[static_cast<std::size_t>(id_col_)]));
        if (id.empty()) throw InputError(at(line) + "column '" + detail::printable(id_name_) + "': empty field");
        t_.ids.push_back(id);
      }
      t_.line_of_row.push_back(line);
      ++t_.rows;
    } while (rd.next(fields, line));
  }

  // The value of kept column j's (trimmed) field f: a number, NaN for a missing cell, or a
  // categorical column's label index.
  double cell(std::size_t j, std::string_view f, int64_t line) {
    const std::size_t k = keep_[j];
    auto where = [&]() { return at(line) + "column '" + detail::printable(header_[k]) + "': "; };
    if (opt_.missing && !is_cat_[k] && (f.empty() || is_missing_token(f))) {
      ++t_.missing_cells;
      return std::numeric_limits<double>::quiet_NaN();
    }
    if (f.empty()) throw InputError(where() + "empty field");
    if (is_cat_[k]) {
      auto& idx = label_index_[j];
      auto it = idx.find(std::string(f));
      if (it == idx.end()) {
        if (static_cast<int64_t>(idx.size()) >= opt_.max_categories)
          throw InputError(where() + "more than " + std::to_string(opt_.max_categories) + " categories (label " +
                           quote_value(f) + "; the limit is --max-categories)");
        it = idx.emplace(std::string(f), static_cast<int64_t>(idx.size())).first;
        t_.categories[j].emplace_back(f);
      }
      return static_cast<double>(it->second);
    }
    std::string_view num = f;
    if (num.size() > 1 && num[0] == '+' && num[1] != '-' && num[1] != '+') num.remove_prefix(1);
    double v = 0.0;
    const auto r = std::from_chars(num.data(), num.data() + num.size(), v);
    if (r.ptr != num.data() + num.size() || (r.ec != std::errc() && r.ec != std::errc::result_out_of_range))
      throw InputError(where() + "not a number: " + quote_value(f));
    if (r.ec == std::errc::result_out_of_range) {
      // Denormal underflow is fine (value is representable as 0 or subnormal); overflow is not.
      const double s = std::strtod(std::string(num).c_str(), nullptr);
      if (!std::isfinite(s)) throw InputError(where() + "number out of range: " + quote_value(f));
      v = s;
    }
    if (!std::isfinite(v)) throw InputError(where() + "not a finite number: " + quote_value(f));
    return v;
  }

  // Number each categorical column's labels in sorted order.
  void number_labels() {
    for (std::size_t j = 0; j < t_.categories.size(); ++j) {
      auto& labels = t_.categories[j];
      if (labels.empty()) continue;
      std::vector<std::string> sorted = labels;
      std::sort(sorted.begin(), sorted.end());
      std::vector<double> code(labels.size());
      for (std::size_t a = 0; a < labels.size(); ++a)
        code[a] = static_cast<double>(std::lower_bound(sorted.begin(), sorted.end(), labels[a]) - sorted.begin());
      for (int64_t r = 0; r < t_.rows; ++r) {
        double& v = t_.values[static_cast<std::size_t>(r) * keep_.size() + j];
        v = code[static_cast<std::size_t>(v)];
      }
      labels = std::move(sorted);
    }
  }

  std::vector<std::string>& header_;
  const int64_t header_line_;
  const std::string& text_;
  const std::string& name_;
  const CsvOptions& opt_;
  const std::size_t ncol_;
  std::unordered_map<std::string, std::size_t> index_;
  std::vector<bool> is_date_, is_cat_;
  int64_t id_col_ = -1;
  std::string id_name_;
  std::vector<std::string> wanted_;
  std::vector<std::size_t> keep_, static_cols_;
  bool any_cat_ = false;
  std::vector<std::unordered_map<std::string, int64_t>> label_index_;
  Table t_;
};

Table parse_csv_body(CsvRecords& rd, std::vector<std::string>& header, int64_t header_line, const std::string& text,
                     const std::string& name, const CsvOptions& opt) {
  return BodyParser(header, header_line, text, name, opt).parse(rd);
}
}  // namespace

namespace {
// Moves the static columns out of t's values into t.statics, checking that each is given in
// every row and constant within a sequence.
void split_static(Table& t, const std::vector<std::size_t>& keep, const std::vector<std::size_t>& static_cols,
                  const std::vector<std::string>& header, const std::string& name) {
  const std::size_t nk = keep.size(), ns = static_cols.size();
  std::vector<std::size_t> pos;  // index of each static column among the kept ones
  for (std::size_t k : static_cols) pos.push_back(static_cast<std::size_t>(std::find(keep.begin(), keep.end(), k) - keep.begin()));
  std::vector<bool> is_static(nk, false);
  for (std::size_t j : pos) is_static[j] = true;
  std::vector<double> values, statics;
  values.reserve(static_cast<std::size_t>(t.rows) * (nk - ns));
  statics.reserve(static_cast<std::size_t>(t.rows) * ns);
  for (int64_t r = 0; r < t.rows; ++r) {
    const std::size_t row = static_cast<std::size_t>(r);
    for (std::size_t j = 0; j < nk; ++j)
      if (!is_static[j]) values.push_back(t.values[row * nk + j]);
    for (std::size_t s = 0; s < ns; ++s) {
      const double v = t.values[row * nk + pos[s]];
      auto where = [&]() {
        return name + ":" + std::to_string(t.line_of_row[row]) + ": static column '" + detail::printable(header[static_cols[s]]) + "': ";
      };
      if (std::isnan(v)) throw InputError(where() + "empty field (a static column needs a value in every row)");
      if (r > 0 && t.ids[row] == t.ids[row - 1] && v != statics[(row - 1) * ns + s])
        throw InputError(where() + "value " + format_double(v) + " differs from " + format_double(statics[(row - 1) * ns + s]) +
                         " earlier in sequence '" + detail::printable(t.ids[row]) + "' (a static value is constant within a sequence)");
      statics.push_back(v);
    }
  }
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> categories;
  for (std::size_t j = 0; j < nk; ++j) {
    if (is_static[j]) continue;
    columns.push_back(t.columns[j]);
    if (!t.categories.empty()) categories.push_back(t.categories[j]);
  }
  t.columns = std::move(columns);
  t.categories = std::move(categories);
  t.values = std::move(values);
  t.statics = std::move(statics);
}
}  // namespace

Table read_csv(const std::string& path, const CsvOptions& opt) {
  return parse_csv(read_text_file(path), path, opt);
}

namespace {
std::string csv_escape(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string o = "\"";
  for (char c : s) {
    if (c == '"') o += '"';
    o += c;
  }
  return o + "\"";
}
}  // namespace

void write_csv(const std::string& path, const std::vector<std::string>& columns, const std::vector<double>& values) {
  const std::size_t nc = columns.size();
  if (nc == 0 || values.size() % nc != 0)
    throw std::invalid_argument("write_csv: values.size() is not a multiple of the column count");
  std::string out;
  for (std::size_t c = 0; c < nc; ++c) out += (c ? "," : "") + csv_escape(columns[c]);
  out += '\n';
  for (std::size_t i = 0; i < values.size(); ++i) {
    out += format_double(values[i]);
    out += (i % nc == nc - 1) ? '\n' : ',';
  }
  atomic_write_text(path, out);
}

std::string windows_csv_text(const Windows& w, const std::vector<std::string>& ids) {
  if (!ids.empty() && static_cast<int64_t>(ids.size()) != w.n)
    throw std::invalid_argument("write_windows_csv: ids.size() != number of windows");
  if (static_cast<int64_t>(w.data.size()) != w.n * w.seq * w.dim)
    throw std::invalid_argument("write_windows_csv: data size does not match [n, seq, dim]");
  if (static_cast<int64_t>(w.statics.size()) != w.n * w.static_dim)
    throw std::invalid_argument("write_windows_csv: static values do not match [n, static_dim]");
  const bool cond = !w.condition_column.empty();
  if (cond && static_cast<int64_t>(w.condition_text.size()) != w.n)
    throw std::invalid_argument("write_windows_csv: condition values do not match the number of windows");
  std::string out = "sequence_id,t";
  for (int64_t k = 0; k < w.dim; ++k) {
    const std::string c = k < static_cast<int64_t>(w.columns.size()) ? w.columns[static_cast<std::size_t>(k)]
                                                                     : "feature_" + std::to_string(k + 1);
    out += "," + csv_escape(c);
  }
  for (int64_t k = 0; k < w.static_dim; ++k) {
    const std::string c = k < static_cast<int64_t>(w.static_columns.size()) ? w.static_columns[static_cast<std::size_t>(k)]
                                                                            : "static_" + std::to_string(k + 1);
    out += "," + csv_escape(c);
  }
  if (cond) out += "," + csv_escape(w.condition_column);
  out += '\n';
  out.reserve(out.size() + static_cast<std::size_t>(w.n * w.seq * (w.dim * 20 + 10)));
  for (int64_t i = 0; i < w.n; ++i) {
    const std::string id = ids.empty() ? std::to_string(i) : csv_escape(ids[static_cast<std::size_t>(i)]);
    int64_t len = w.seq;
    if (!w.lengths.empty()) len = std::min<int64_t>(w.seq, w.lengths[static_cast<std::size_t>(i)]);
    for (int64_t t = 0; t < len; ++t) {
      out += id;
      out += ',';
      out += std::to_string(t);
      const double* row = w.data.data() + (i * w.seq + t) * w.dim;
      for (int64_t k = 0; k < w.dim; ++k) {
        out += ',';
        const std::vector<std::string>* labels =
            k < static_cast<int64_t>(w.categories.size()) && !w.categories[static_cast<std::size_t>(k)].empty()
                ? &w.categories[static_cast<std::size_t>(k)]
                : nullptr;
        if (labels) {
          const double c = row[k];
          if (!(c >= 0 && c < static_cast<double>(labels->size())))
            throw std::invalid_argument("write_windows_csv: label index out of range in column " + std::to_string(k + 1));
          out += csv_escape((*labels)[static_cast<std::size_t>(c)]);
        } else {
          out += format_double(row[k]);
        }
      }
      for (int64_t k = 0; k < w.static_dim; ++k) {
        out += ',';
        out += format_double(w.statics[static_cast<std::size_t>(i * w.static_dim + k)]);
      }
      if (cond) {
        out += ',';
        out += csv_escape(w.condition_text[static_cast<std::size_t>(i)]);
      }
      out += '\n';
    }
  }
  return out;
}

void write_windows_csv(const std::string& path, const Windows& w, const std::vector<std::string>& ids) {
  atomic_write_text(path, windows_csv_text(w, ids));
}

void split_static_columns(Table& t, const std::vector<std::string>& names) {
  const std::string& name = t.source;
  if (t.ids.size() != static_cast<std::size_t>(t.rows) || t.line_of_row.size() != t.ids.size() ||
      t.values.size() != t.ids.size() * t.columns.size())
    throw InputError(name + ": static columns need long format (an id column): a static value belongs to one sequence");
  std::vector<std::size_t> keep, static_cols;
  for (std::size_t k = 0; k < t.columns.size(); ++k) keep.push_back(k);
  std::vector<std::string> found;
  for (const auto& c : names) {
    const auto it = std::find(t.columns.begin(), t.columns.end(), c);
    if (it == t.columns.end())
      throw InputError(name + ": unknown static column '" + detail::printable(c) + "' (available: " + join(t.columns) + ")");
    const auto k = static_cast<std::size_t>(it - t.columns.begin());
    if (std::find(static_cols.begin(), static_cols.end(), k) != static_cols.end())
      throw InputError(name + ": static column '" + detail::printable(c) + "' named twice");
    if (t.is_categorical(static_cast<int64_t>(k)))
      throw InputError(name + ": static column '" + detail::printable(c) + "' is not numeric (static columns must be numbers)");
    static_cols.push_back(k);
    found.push_back(c);
  }
  if (static_cols.size() == t.columns.size()) throw InputError(name + ": no numeric columns besides the static ones");
  const std::vector<std::string> header = t.columns;
  split_static(t, keep, static_cols, header, name);
  t.static_columns = std::move(found);
}

}  // namespace tg::io
