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

  m = input_error([] { parse_csv("x,sym\n1,GOOG\n", "str.csv"); });
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
