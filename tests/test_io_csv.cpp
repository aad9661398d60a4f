// CSV reading/writing: good files, every bad-input message, date columns, long format.
#include <doctest/doctest.h>

#include <utility>

#include "test_util.h"

#include <cstdio>
#include <filesystem>
#include <string>
#include <unistd.h>

#include "tg/io/csv.h"
#include "tg/io/dataset.h"
#include "tg/io/error.h"
#include "tg/io/fs.h"

#ifndef TG_SOURCE_DIR
#define TG_SOURCE_DIR "."
#endif

using namespace tg::io;

namespace {
std::string data_path(const std::string& f) { return std::string(TG_SOURCE_DIR) + "/tests/data/" + f; }

std::string tmp_dir() {
  const auto d = std::filesystem::temp_directory_path() / ("tg_io_csv_" + std::to_string(::getpid()));
  make_dirs(d.string());
  return d.string();
}

template <typename F>
std::string input_error(F&& f) {
  return tgtest::error_of<InputError>(std::forward<F>(f));
}

using tgtest::has;
}  // namespace

TEST_CASE("csv: small numeric file") {
  const Table t = read_csv(data_path("small.csv"));
  CHECK(t.columns == std::vector<std::string>{"A", "B"});
  CHECK(t.rows == 6);
  REQUIRE(t.values.size() == 12);
  CHECK(t.at(0, 0) == 0.0);
  CHECK(t.at(0, 1) == 10.0);
  CHECK(t.at(5, 1) == 50.0);
  CHECK(t.skipped.empty());
  CHECK(t.ids.empty());
  CHECK(t.line_of_row.front() == 2);
}

TEST_CASE("csv: CRLF, quoted fields, blank line, no final newline") {
  const Table t = read_csv(data_path("crlf_quoted.csv"));
  CHECK(t.columns == std::vector<std::string>{"a", "b, quoted", "c"});
  REQUIRE(t.rows == 3);
  CHECK(t.values == std::vector<double>{1, 2.5, 3, 4, 5, -0.6, 7, 8, 9});
  CHECK(t.line_of_row == std::vector<int64_t>{2, 3, 5});
}

TEST_CASE("csv: date column skipped and reported") {
  const Table t = read_csv(data_path("with_date.csv"));
  CHECK(t.columns == std::vector<std::string>{"Open", "Close"});
  CHECK(t.skipped == std::vector<std::string>{"Date"});
  CHECK(t.rows == 3);
  CHECK(t.at(2, 1) == 51.75);
  // Detected from the first value, whatever the header says.
  const Table u = read_csv(data_path("with_datetime.csv"));
  CHECK(u.columns == std::vector<std::string>{"x", "y"});
  CHECK(u.skipped == std::vector<std::string>{"when"});
  // Asking for the date column explicitly is an error.
  CsvOptions o;
  o.columns = {"Date"};
  CHECK(has(input_error([&] { read_csv(data_path("with_date.csv"), o); }), "'Date'"));
}

TEST_CASE("csv: looks_like_date") {
  CHECK(looks_like_date("2004-08-19"));
  CHECK(looks_like_date("2004/08/19"));
  CHECK(looks_like_date("2016-01-11 17:00:00"));
  CHECK(looks_like_date("2016-01-11T17:00"));
  CHECK(looks_like_date("2016-01-11T17:00:00.123Z"));
  CHECK(looks_like_date("2016-01-11 17:00:00+01:00"));
  CHECK_FALSE(looks_like_date("2004"));
  CHECK_FALSE(looks_like_date("2004-13-19"));
  CHECK_FALSE(looks_like_date("1.5"));
  CHECK_FALSE(looks_like_date("2004-08-19x"));
}

TEST_CASE("csv: column selection") {
  CsvOptions o;
  o.columns = {"Close", "Open"};
  const Table t = read_csv(data_path("with_date.csv"), o);
  CHECK(t.columns == std::vector<std::string>{"Close", "Open"});
  CHECK(t.at(0, 0) == 50.25);
  CHECK(t.at(0, 1) == 49.5);
  o.columns = {"Open", "Volume"};
  const std::string m = input_error([&] { read_csv(data_path("with_date.csv"), o); });
  CHECK(has(m, "with_date.csv"));
  CHECK(has(m, "unknown column 'Volume'"));
  CHECK(has(m, "available: Date, Open, Close"));
}

TEST_CASE("csv: bad input messages name file, line and column") {
  std::string m = input_error([] { read_csv(data_path("ragged.csv")); });
  CHECK(has(m, "ragged.csv:9: expected 6 fields, found 5"));

  m = input_error([] { read_csv(data_path("nonnumeric.csv")); });
  CHECK(has(m, "nonnumeric.csv:3: column 'Close': not a number: \"abc\""));

  m = input_error([] { read_csv(data_path("nan.csv")); });
  CHECK(has(m, "nan.csv:4: column 'Open': not a finite number: \"nan\""));

  m = input_error([] { read_csv(data_path("inf.csv")); });
  CHECK(has(m, "inf.csv:3: column 'Close': not a finite number: \"inf\""));

  m = input_error([] { read_csv(data_path("empty_field.csv")); });
  CHECK(has(m, "empty_field.csv:3: column 'Close': empty field"));

  m = input_error([] { read_csv(data_path("header_only.csv")); });
  CHECK(has(m, "header_only.csv: no data rows"));

  m = input_error([] { read_csv(data_path("empty.csv")); });
  CHECK(has(m, "empty.csv: empty file"));

  m = input_error([] { read_csv(data_path("does_not_exist.csv")); });
  CHECK(has(m, "does_not_exist.csv: cannot open"));

  m = input_error([] { parse_csv("x,y\n1,2\n3,\"4\n", "q.csv"); });
  CHECK(has(m, "q.csv:3: unterminated quoted field"));

  m = input_error([] { parse_csv("x,y\n1,2\n1e999,2\n", "big.csv"); });
  CHECK(has(m, "big.csv:3: column 'x': number out of range"));

  m = input_error([] { parse_csv("x,x\n1,2\n", "dup.csv"); });
  CHECK(has(m, "dup.csv:1: duplicate column name 'x'"));

  m = input_error([] { parse_csv("x,y\n1,2,3\n", "extra.csv"); });
  CHECK(has(m, "extra.csv:2: expected 2 fields, found 3"));

  // Text in a column's first row makes it categorical (test_categorical.cpp); without that
  // detection it is not a number.
  CsvOptions numeric_only;
  numeric_only.auto_categorical = false;
  m = input_error([&] { parse_csv("x,sym\n1,GOOG\n", "str.csv", numeric_only); });
  CHECK(has(m, "str.csv:2: column 'sym': not a number: \"GOOG\""));
}

TEST_CASE("csv: number forms") {
  const Table t = parse_csv("x\n+1.5\n-2e3\n 7 \n.5\n", "n.csv");
  CHECK(t.values == std::vector<double>{1.5, -2000, 7, 0.5});
}

TEST_CASE("csv: long format with id column") {
  CsvOptions o;
  o.id_column = "id";
  const Table t = read_csv(data_path("long.csv"), o);
  CHECK(t.columns == std::vector<std::string>{"x", "y"});
  CHECK(t.rows == 9);
  CHECK(t.ids == std::vector<std::string>{"s1", "s1", "s1", "s2", "s2", "s3", "s3", "s3", "s3"});
  o.id_column = "seq";
  CHECK(has(input_error([&] { read_csv(data_path("long.csv"), o); }), "unknown id column 'seq'"));
}

TEST_CASE("csv: windows writer is long format and atomic") {
  Windows w;
  w.n = 2;
  w.seq = 2;
  w.dim = 2;
  w.columns = {"a", "b,c"};
  w.data = {0.1, 1, 2, 3, 4, 5, 6, 7};
  w.lengths = {2, 1};
  const std::string text = windows_csv_text(w);
  CHECK(text == "sequence_id,t,a,\"b,c\"\n0,0,0.1,1\n0,1,2,3\n1,0,4,5\n");
  const std::string dir = tmp_dir();
  const std::string path = dir + "/out.csv";
  write_windows_csv(path, w, {"x", "y"});
  CsvOptions o;
  o.id_column = "sequence_id";
  const Table back = read_csv(path, o);
  CHECK(back.ids == std::vector<std::string>{"x", "x", "y"});
  CHECK(back.columns == std::vector<std::string>{"t", "a", "b,c"});
  CHECK(back.values == std::vector<double>{0, 0.1, 1, 1, 2, 3, 0, 4, 5});
  // Failure leaves the previous file and no temporary behind.
  tg::io::testing::set_write_fault_after(5);
  CHECK_THROWS_AS(write_windows_csv(path, w), OutputError);
  tg::io::testing::set_write_fault_after(-1);
  CHECK(read_file(path) == windows_csv_text(w, {"x", "y"}));
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    (void)e;
    ++files;
  }
  CHECK(files == 1);
  CHECK_THROWS_AS(write_windows_csv(dir + "/no/such/dir/out.csv", w), OutputError);
  std::filesystem::remove_all(dir);
}

TEST_CASE("csv: write_csv round trip with exact doubles") {
  const std::string dir = tmp_dir();
  const std::vector<double> v{0.1, 1.0 / 3.0, -1e-300, 123456789.125, 2.5e17, 0};
  write_csv(dir + "/t.csv", {"p", "q"}, v);
  const Table t = read_csv(dir + "/t.csv");
  CHECK(t.values == v);
  std::filesystem::remove_all(dir);
}

TEST_CASE("csv: 20000 x 28 reads quickly") {
  std::string text;
  for (int c = 0; c < 28; ++c) text += (c ? ",c" : "c") + std::to_string(c);
  text += '\n';
  for (int r = 0; r < 20000; ++r) {
    for (int c = 0; c < 28; ++c) {
      text += c ? "," : "";
      text += std::to_string(r * 0.001 + c * 1.25);
    }
    text += '\n';
  }
  const Table t = parse_csv(text, "wide.csv");
  CHECK(t.rows == 20000);
  CHECK(t.cols() == 28);
  CHECK(t.at(19999, 27) == doctest::Approx(19.999 + 27 * 1.25));
}

TEST_CASE("csv: requested column names are trimmed") {
  const std::string text = "Date,Open,High,Close\n2020-01-01,1,2,3\n2020-01-02,4,5,6\n";
  CsvOptions o;
  o.columns = {"Close", " Open", "", "  "};  // as split from --columns 'Close, Open,,  '
  Table t = parse_csv(text, "c.csv", o);
  CHECK(t.columns == std::vector<std::string>{"Close", "Open"});
  CHECK(t.values == std::vector<double>{3, 1, 6, 4});
  o.columns = {"Close", " Close\t"};
  CHECK(has(input_error([&] { parse_csv(text, "c.csv", o); }), "c.csv: column 'Close' requested twice"));

  CsvOptions l;
  l.id_column = " id ";
  t = parse_csv("id,x\na,1\na,2\n", "l.csv", l);
  CHECK(t.ids == std::vector<std::string>{"a", "a"});
  // A blank id column name is an error, not silently the wide format.
  l.id_column = " \t";
  CHECK(input_error([&] { parse_csv("id,x\na,1\n", "l.csv", l); }) == "l.csv: the id column name is blank");
}

TEST_CASE("csv: a semicolon- or tab-separated file gets a delimiter hint") {
  std::string m = input_error([] { parse_csv("Open;Close\n1;2\n", "semi.csv"); });
  CHECK(has(m, "semi.csv:2: column 'Open;Close': not a number: \"1;2\""));
  CHECK(has(m, "the file looks semicolon-separated, but fields must be separated by ','"));
  m = input_error([] { parse_csv("Open\tClose\n1\t2\n", "tab.csv"); });
  CHECK(has(m, "tab.csv:2: column 'Open\\tClose': not a number"));
  CHECK(has(m, "the file looks tab-separated"));
  CsvOptions o;
  o.columns = {"Open"};
  m = input_error([&] { parse_csv("Open;Close\n1;2\n", "semi.csv", o); });
  CHECK(has(m, "unknown column 'Open'"));
  CHECK(has(m, "semicolon-separated"));
  // A genuine one-column file is not given the hint.
  m = input_error([] { parse_csv("x\nabc\n", "one.csv"); });
  CHECK(!has(m, "separated"));
}

TEST_CASE("csv: names and values quoted from the file keep the message on one line") {
  // input_error checks that the message is one line.
  CsvOptions o;
  o.auto_categorical = false;  // text is an error, not a label
  std::string m = input_error([&] { parse_csv("\"a\nb\",c\n1,x\n", "nl.csv", o); });
  CHECK(has(m, "nl.csv:3: column 'c': not a number: \"x\""));
  m = input_error([&] { parse_csv("\"a\nb\",c\nx,1\n", "nl.csv", o); });
  CHECK(has(m, "column 'a\\nb': not a number"));
  m = input_error([&] { parse_csv(std::string("a,b\n1,\xff\x00z\n", 10), "bin.csv", o); });
  CHECK(has(m, "bin.csv:2: column 'b': not a number: \"\\xff\\x00z\""));
  m = input_error([] { parse_csv("a,a\n1,2\n", "dup.csv"); });
  CHECK(has(m, "dup.csv:1: duplicate column name 'a'"));
}

TEST_CASE("csv: the list of available columns is cut short for wide files") {
  std::string header, row;
  for (int i = 0; i < 1000; ++i) {
    header += (i ? ",c" : "c") + std::to_string(i);
    row += i ? ",1" : "1";
  }
  CsvOptions o;
  o.columns = {"nope"};
  const std::string m = input_error([&] { parse_csv(header + "\n" + row + "\n", "wide.csv", o); });
  CHECK(has(m, "wide.csv: unknown column 'nope' (available: c0, c1,"));
  CHECK(has(m, "c29, ... (1000 columns))"));
  CHECK(m.size() < 400);
}

TEST_CASE("csv: data whose min-max range overflows is refused when prepared") {
  Table t = parse_csv("a,b\n1,-1.7e308\n2,1.7e308\n3,0\n", "huge.csv");
  PrepOptions o;
  o.seq_len = 2;
  tg::Rng rng(1, 5);
  std::string m = input_error([&] { prepare(t, o, rng); });
  CHECK(m == "huge.csv: column 'b': values from -1.7e+308 to 1.7e+308 span more than the largest double, so they "
             "cannot be min-max scaled; rescale the column");
  o.preset = "original";
  CHECK(has(input_error([&] { prepare(t, o, rng); }), "huge.csv: column 'b'"));
  // Large but representable ranges are fine.
  t = parse_csv("a,b\n1,-8e307\n2,8e307\n3,0\n", "big.csv");
  o.preset = "default";
  CHECK(prepare(t, o, rng).windows.n == 2);
}

TEST_CASE("csv: long format windows are bounded before they are allocated") {
  // One sequence of 33,000 rows and 33,000 one-row sequences: padding every sequence to the
  // longest would need 33,001 x 33,000 values (8.7 GB); refused up front.
  Table t;
  t.source = "long.csv";
  t.columns = {"x"};
  const int64_t L = 33000;
  for (int64_t r = 0; r < 2 * L; ++r) {
    t.values.push_back(static_cast<double>(r % 7));
    t.ids.push_back(r < L ? std::string("long") : "s" + std::to_string(r));
  }
  t.rows = 2 * L;
  PrepOptions o;
  o.seq_len = 0;
  tg::Rng rng(1, 5);
  const std::string m = input_error([&] { prepare(t, o, rng); });
  CHECK(has(m, "long.csv: 33001 windows x 33000 steps x 1 features is more than 1073741824 values"));
  // An id that comes back after others is found without a quadratic search (and named).
  t.ids.back() = "long";
  CHECK(has(input_error([&] { prepare(t, o, rng); }), "sequence id 'long' appears again"));
}

TEST_CASE("data: sizes from options are checked without overflow") {
  tg::Rng rng(1, 5);
  std::string m = input_error([&] { sine_data(100000000, 100000, 100000, rng); });
  CHECK(has(m, "sine data: 100000000 windows x 100000 steps x 100000 features is more than 1073741824 values"));
  CHECK_THROWS_AS(check_window_size(int64_t{1} << 40, int64_t{1} << 40, 1, "x"), InputError);
  CHECK_NOTHROW(check_window_size(1024, 1024, 1024, "x"));
  CHECK_THROWS_AS(check_window_size(1024, 1024, 1025, "x"), InputError);

  Table empty;
  empty.source = "e.csv";
  PrepOptions o;
  m = input_error([&] { prepare(empty, o, rng); });
  CHECK(m == "e.csv: no data to scale: 0 data rows x 0 selected columns");
  const std::string fit = tgtest::error_of<std::invalid_argument>(
      [] { MinMaxScaler::fit_default(nullptr, 0, 3); });
  CHECK(fit == "MinMaxScaler: no rows to fit (0 rows of 3 features given)");
}

TEST_CASE("csv: input that is not text of lines is refused once its first MiB is read") {
  // /dev/zero is endless: read whole up to the 4 GiB limit it would take 4 GiB of memory.
  CHECK(input_error([] { read_csv("/dev/zero"); }) ==
        "/dev/zero:1: line longer than 1048576 bytes (1 MiB, the limit of a first line): not a text file of lines");
  CHECK(has(input_error([] { read_static_csv("/dev/zero", "id", {}); }), "/dev/zero:1: line longer than 1048576 bytes"));
  CHECK(has(input_error([] { read_csv("/dev/urandom"); }), ": holds a NUL byte: not a text file"));
  const std::string dir = tmp_dir();
  const std::string f = dir + "/t.csv";
  // A first line of 1 MiB is read; one byte more is refused, naming line 1 and the limit.
  const std::string name(static_cast<size_t>(kMaxFirstLineBytes), 'a');
  tgtest::write(f, name + "\n1\n2\n");
  CHECK(read_csv(f).columns == std::vector<std::string>{name});
  tgtest::write(f, name + "b\n1\n2\n");
  CHECK(input_error([&] { read_csv(f); }) ==
        f + ":1: line longer than 1048576 bytes (1 MiB, the limit of a first line): not a text file of lines");
  // A short file without a line end is no such case (a header only).
  tgtest::write(f, "a,b");
  CHECK(input_error([&] { read_csv(f); }) == f + ": no data rows (header only)");
  // CR-only line ends; CRLF and a last line's CR are fine.
  tgtest::write(f, "Open,Close\r49.845802,50.1\r51.2,52.3\r");
  CHECK(input_error([&] { read_csv(f); }) == f + ": uses CR-only line endings (old Mac format); convert to LF or CRLF");
  CHECK(input_error([&] { read_static_csv(f, "Open", {}); }) ==
        f + ": uses CR-only line endings (old Mac format); convert to LF or CRLF");
  tgtest::write(f, "Open,Close\r\n49.845802,50.1\r\n");
  CHECK(read_csv(f).rows == 1);
  tgtest::write(f, "Open,Close\r");
  CHECK(input_error([&] { read_csv(f); }) == f + ": no data rows (header only)");
  // A NUL byte: the line it is on (UTF-16 text has one in every character).
  tgtest::write(f, std::string("a,b\n1,2\n3,\0", 11) + "4\n");
  CHECK(input_error([&] { read_csv(f); }) ==
        f + ":3: holds a NUL byte: not a text file (binary data, or UTF-16 text: save it as UTF-8)");
  tgtest::write(f, std::string("a\0,\0b\0\n\0", 8));
  CHECK(has(input_error([&] { read_csv(f); }), f + ":1: holds a NUL byte"));
  // Past the first MiB too (the check runs as the file is read).
  tgtest::write(f, "a,b\n" + std::string(static_cast<size_t>(kMaxFirstLineBytes), '\n') + std::string(1, '\0'));
  CHECK(has(input_error([&] { read_text_file(f); }), f + ":1048578: holds a NUL byte"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("CsvRecords: records split as the readers split them, with the line each starts on") {
  const std::string text = "\xEF\xBB\xBF" "a, b ,c\r\n\n  \n\"x,1\",\"say \"\"hi\"\"\",\"two\nlines\"\n3,,4";
  const std::string name = "t.csv";
  CsvRecords rd(text, name);
  std::vector<std::string> f;
  int64_t line = 0;
  REQUIRE(rd.next(f, line));
  CHECK(line == 1);
  CHECK(f == std::vector<std::string>{"a", "b", "c"});
  REQUIRE(rd.next(f, line));
  CHECK(line == 4);  // blank and whitespace-only lines skipped
  CHECK(f == std::vector<std::string>{"x,1", "say \"hi\"", "two\nlines"});
  REQUIRE(rd.next(f, line));
  CHECK(line == 6);  // the quoted line break counted
  CHECK(f == std::vector<std::string>{"3", "", "4"});
  CHECK_FALSE(rd.next(f, line));

  const std::string bad = "a,b\n1,\"open\n";
  CsvRecords rb(bad, name);
  REQUIRE(rb.next(f, line));
  CHECK_THROWS_WITH_AS(rb.next(f, line), "t.csv:2: unterminated quoted field", InputError);
  const std::string after = "a\n\"q\"x\n";
  CsvRecords ra(after, name);
  REQUIRE(ra.next(f, line));
  CHECK_THROWS_WITH_AS(ra.next(f, line), doctest::Contains("t.csv:2: unexpected character after quoted field"), InputError);
}
