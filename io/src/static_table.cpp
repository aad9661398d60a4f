// Static values from a separate per-id CSV (`--static FILE`) and their join with a long-format
// table (tg/io/csv.h).
#include <stdexcept>
#include <string_view>
#include <unordered_map>

#include "tg/io/csv.h"
#include "tg/io/error.h"
#include "tg/io/fs.h"
#include "text.h"

namespace tg::io {

namespace {

// The 1-based line of the header: the first line that is not blank (the CSV reader skips blank lines).
int64_t header_line(const std::string& text) {
  int64_t line = 1;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t nl = text.find('\n', pos);
    const std::string_view l(text.data() + pos, (nl == std::string::npos ? text.size() : nl) - pos);
    if (l.find_first_not_of(" \t\r") != std::string_view::npos) break;
    if (nl == std::string::npos) break;
    pos = nl + 1;
    ++line;
  }
  return line;
}

std::string quoted(const std::string& s) { return "'" + detail::printable(s) + "'"; }

}  // namespace

Table parse_static_csv(const std::string& text, const std::string& name, const std::string& id_column,
                       const std::vector<std::string>& columns) {
  const std::string hl = name + ":" + std::to_string(header_line(text));
  if (id_column.empty()) throw InputError(name + ": a static file needs the id column of the long-format data (--id-column)");
  CsvOptions o;
  o.id_column = id_column;
  o.columns = columns;
  o.auto_categorical = false;  // a label is "not a number", naming its line and column
  Table t;
  try {
    t = parse_csv(text, name, o);
  } catch (const InputError& e) {
    // The header's problems (no id column, an unknown column) name the header line.
    const std::string m = e.what(), head = name + ": unknown ";
    if (m.compare(0, head.size(), head) == 0) throw InputError(hl + m.substr(name.size()));
    throw;
  }
  if (!t.skipped.empty())
    throw InputError(hl + ": column " + quoted(t.skipped.front()) + ": holds dates/times; static values must be numbers");
  return t;
}

Table read_static_csv(const std::string& path, const std::string& id_column, const std::vector<std::string>& columns) {
  return parse_static_csv(read_text_file(path), path, id_column, columns);
}

void join_statics(Table& t, const Table& s, const std::string& id_column) {
  const std::string& src = s.source;
  if (!t.static_columns.empty())
    throw InputError(t.source + ": has static columns already (" + quoted(t.static_columns.front()) +
                     "); give static values either in the data or in the static file " + src);
  if (t.ids.size() != static_cast<std::size_t>(t.rows))
    throw InputError(src + ": static values need long-format data (an id column)");
  for (const auto& c : s.columns)
    for (const auto& tc : t.columns)
      if (c == tc)
        throw InputError(src + ": column " + quoted(c) + ": is also a temporal column of " + t.source +
                         " (a static column's name must differ)");
  if (s.ids.size() != static_cast<std::size_t>(s.rows) || s.line_of_row.size() != s.ids.size() ||
      s.values.size() != s.ids.size() * s.columns.size())
    throw std::invalid_argument("join_statics: the static table's ids, lines and values do not match its rows");
  std::unordered_map<std::string, std::size_t> row_of;  // id -> row of s
  row_of.reserve(s.ids.size());
  for (std::size_t r = 0; r < s.ids.size(); ++r) {
    const auto [it, fresh] = row_of.emplace(s.ids[r], r);
    if (!fresh)
      throw InputError(src + ":" + std::to_string(s.line_of_row[r]) + ": column " + quoted(id_column) + ": id " +
                       quoted(s.ids[r]) + " occurs twice (first on line " + std::to_string(s.line_of_row[it->second]) +
                       "); a static file has one row per id");
  }
  const std::size_t S = s.columns.size();
  std::vector<bool> used(s.ids.size(), false);
  std::vector<double> statics;
  statics.reserve(static_cast<std::size_t>(t.rows) * S);
  for (std::size_t r = 0; r < t.ids.size(); ++r) {
    const auto it = row_of.find(t.ids[r]);
    if (it == row_of.end()) {
      const std::string line = r < t.line_of_row.size() ? ":" + std::to_string(t.line_of_row[r]) : "";
      throw InputError(t.source + line + ": column " + quoted(id_column) + ": sequence " + quoted(t.ids[r]) +
                       " has no row in the static file " + src);
    }
    used[it->second] = true;
    statics.insert(statics.end(), s.values.begin() + static_cast<std::ptrdiff_t>(it->second * S),
                   s.values.begin() + static_cast<std::ptrdiff_t>((it->second + 1) * S));
  }
  for (std::size_t r = 0; r < used.size(); ++r)
    if (!used[r])
      throw InputError(src + ":" + std::to_string(s.line_of_row[r]) + ": column " + quoted(id_column) + ": id " +
                       quoted(s.ids[r]) + " is not a sequence of " + t.source);
  t.static_columns = s.columns;
  t.statics = std::move(statics);
}

}  // namespace tg::io
