// CSV input (numeric tables with a header) and CSV output of generated windows.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tg::io {

struct Windows;  // dataset.h

struct CsvOptions {
  /// Columns to keep, in this order; empty = every numeric column in file order.
  /// An unknown name is an InputError listing the available columns.
  std::vector<std::string> columns;
  /// Long format: the name of a sequence-id column (rows grouped by consecutive equal ids).
  /// The ids are kept as strings in Table::ids; the column is not part of the values.
  std::string id_column;
  char delimiter = ',';
  /// Columns read as categorical (labels, not numbers), by name; an unknown name is an
  /// InputError. Besides these, a kept column whose first data row is not a number (and not a
  /// date) is categorical when `auto_categorical` is set (listed in Table::auto_categorical).
  std::vector<std::string> categorical;
  bool auto_categorical = true;
  /// Most distinct labels a categorical column may hold (more is an InputError naming the line).
  int64_t max_categories = 64;
  /// Missing cells: when set, an empty field or NaN / nan / NA in a numeric column is read as a
  /// missing value (NaN in Table::values) instead of an InputError. Categorical and id columns
  /// still need a value in every row.
  bool missing = false;
  /// Static columns (long format only, numeric): values that describe a whole sequence. Each
  /// must be constant within a sequence (else an InputError naming file, line and column); they
  /// are read beside the kept columns and moved to Table::static_columns / Table::statics.
  std::vector<std::string> static_columns;
};

struct Table {
  std::string source;                ///< file name (for messages)
  std::vector<std::string> columns;  ///< kept numeric columns, in order
  int64_t rows = 0;
  std::vector<double> values;        ///< row-major, rows x columns.size()
  std::vector<std::string> ids;      ///< per-row sequence id (only with CsvOptions::id_column)
  std::vector<std::string> skipped;  ///< date/time columns that were skipped (caller may print)
  std::vector<int64_t> line_of_row;  ///< 1-based file line of each data row (for messages)
  /// Per kept column: its labels (sorted) when categorical, else empty; a categorical column's
  /// values are label indices 0..labels-1. Empty when no column is categorical.
  std::vector<std::vector<std::string>> categories;
  std::vector<std::string> auto_categorical;  ///< categorical columns found by auto-detection
  int64_t missing_cells = 0;         ///< numeric cells read as missing (CsvOptions::missing)
  std::vector<std::string> static_columns;  ///< CsvOptions::static_columns, in that order
  std::vector<double> statics;       ///< row-major, rows x static_columns.size() (constant per id)

  bool is_categorical(int64_t c) const {
    return !categories.empty() && !categories[static_cast<std::size_t>(c)].empty();
  }

  int64_t cols() const { return static_cast<int64_t>(columns.size()); }
  double at(int64_t r, int64_t c) const { return values[static_cast<std::size_t>(r * cols() + c)]; }
};

/// The records of a CSV text, one at a time, split as read_csv splits them: "quoted" fields
/// (doubled quotes and line breaks inside), fields trimmed of spaces and tabs, CRLF line ends, a
/// UTF-8 BOM and blank lines skipped. An unterminated quoted field, or a character after a
/// closing quote, is an InputError naming `name` and the line. `text` and `name` must outlive it.
class CsvRecords {
 public:
  CsvRecords(const std::string& text, const std::string& name, char delimiter = ',');
  /// The next record into `fields`; false at the end. `line`: the 1-based line it starts on.
  bool next(std::vector<std::string>& fields, int64_t& line);

 private:
  const std::string& t_;
  const std::string& name_;
  char d_;
  std::size_t p_ = 0;
  int64_t line_ = 1;
};

/// Reads a CSV file with a header line. Categorical columns (CsvOptions::categorical) hold
/// labels: each distinct non-empty label (trimmed) is a category, numbered in sorted order. A column whose header is date/time/timestamp/datetime
/// (any case) or whose first value looks like a date (2004-08-19, 2004/08/19, optionally with a
/// time) is skipped and listed in Table::skipped. Any other non-numeric field, NaN/inf, an empty
/// field, a row with the wrong number of fields, an empty file or a header with no rows throws
/// InputError "<file>:<line>: ...". CRLF line ends, "quoted" fields and a missing final newline
/// are accepted; blank lines are ignored.
Table read_csv(const std::string& path, const CsvOptions& opt = {});
/// Same, from text in memory; `name` is used in messages.
Table parse_csv(const std::string& text, const std::string& name, const CsvOptions& opt = {});

/// A per-id CSV of static values (`--static FILE`): a header with `id_column` and the static
/// columns (`columns` selects some, in that order; empty = every other column), one row per id,
/// every cell a number. Returned as a Table whose ids are the rows' ids and whose values are the
/// static values (rows x columns). An empty or non-numeric cell, an unknown column or a file
/// without the id column is an InputError "<file>:<line>: ..." naming the column.
Table read_static_csv(const std::string& path, const std::string& id_column, const std::vector<std::string>& columns);
/// Same, from text in memory; `name` is used in messages.
Table parse_static_csv(const std::string& text, const std::string& name, const std::string& id_column,
                       const std::vector<std::string>& columns);
/// Gives every row of the long-format table `t` (ids in `t.ids`, read with `id_column`) the
/// static values of its id from `statics` (a table as read_static_csv returns it): sets
/// t.static_columns and t.statics. An id twice in `statics`, a sequence of `t` without a row in
/// `statics`, an id of `statics` that is no sequence of `t`, a static column that is also a
/// column of `t`, or a table that already has static columns is an InputError naming file, line
/// and column.
void join_statics(Table& t, const Table& statics, const std::string& id_column);

/// Moves the named columns of a table built in memory (long format: ids per row) out of its
/// values into t.static_columns / t.statics, with the CSV reader's checks and messages: a known
/// numeric column that is not the id, a value in every row, constant within a sequence
/// (InputError "<source>:<line>: static column '<name>': ...").
void split_static_columns(Table& t, const std::vector<std::string>& names);

/// True if `s` looks like a date or date-time (YYYY-MM-DD or YYYY/MM/DD, optionally followed by
/// ' ' or 'T' and HH:MM[:SS[.fff]], optional 'Z' or +HH:MM).
bool looks_like_date(const std::string& s);

/// Writes `header` + rows (row-major values, columns.size() per row) atomically.
void write_csv(const std::string& path, const std::vector<std::string>& columns,
               const std::vector<double>& values);
/// Long format: `sequence_id,t,<w.columns...>`, one line per valid time step (t < lengths[i]),
/// then w.static_columns with each sequence's static values repeated on each of its lines.
/// A column with labels (w.categories[k] non-empty) holds label indices and is written as labels.
/// sequence ids are `ids[i]` when given (ids.size() == w.n), else 0..n-1. Atomic write.
void write_windows_csv(const std::string& path, const Windows& w, const std::vector<std::string>& ids = {});
/// The text that write_windows_csv writes.
std::string windows_csv_text(const Windows& w, const std::vector<std::string>& ids = {});

}  // namespace tg::io
