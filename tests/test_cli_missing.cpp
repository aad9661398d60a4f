// Missing cells through the timegan executable: the default refuses an empty cell with a
// one-line error naming file, line and column; `--missing mask` trains, resumes, generates and
// evaluates (only complete real windows scored, counts in metrics.json) and writes no NaN.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "test_util.h"
#include "tg/io/fs.h"
#include "tg/io/json.h"

namespace {

using tgtest::has;
using tgtest::run;

using tgtest::write;

// 40 rows of two series; row 7 has an empty a, row 20 a NaN b, row 30 an NA a (lines 9, 22, 32).
std::string holey_csv() {
  std::ostringstream s;
  s << "a,b\n";
  for (int i = 0; i < 40; ++i) {
    const std::string a = i == 7 ? "" : i == 30 ? "NA" : std::to_string(0.5 + 0.01 * (i % 7));
    const std::string b = i == 20 ? "NaN" : std::to_string(10 + i % 5);
    s << a << ',' << b << '\n';
  }
  return s.str();
}

bool has_nan_text(const std::string& s) {
  return s.find("nan") != std::string::npos || s.find("NaN") != std::string::npos || s.find("inf") != std::string::npos;
}

const std::string kSmall = "--iterations 3" + tgtest::kTinyNet + "--seq-len 5";

}  // namespace

TEST_CASE("cli: an empty cell is still a one-line error by default") {
  const std::string d = tgtest::make_tmpdir("tg-miss");
  write(d + "/h.csv", holey_csv());
  auto r = run("train --data " + d + "/h.csv " + kSmall + " --out " + d + "/run");
  CHECK(r.code == 1);
  CHECK(has(r.out, d + "/h.csv:9: column 'a': empty field"));
  CHECK(tgtest::count_lines(r.out) == 1);
  CHECK(!tg::io::file_exists(d + "/run/config.json"));
  r = run("train --data " + d + "/h.csv --missing impute " + kSmall + " --out " + d + "/run2");
  CHECK(r.code == 2);
  CHECK(has(r.out, "--missing"));
}

TEST_CASE("cli: --missing mask trains, resumes, generates and evaluates without NaN") {
  const std::string d = tgtest::make_tmpdir("tg-miss");
  write(d + "/h.csv", holey_csv());
  auto r = run("train --data " + d + "/h.csv --missing mask " + kSmall + " --out " + d + "/run --quiet");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  const tg::io::Json cfg = tg::io::Json::parse(tg::io::read_file(d + "/run/config.json"), "config.json");
  CHECK(cfg.at("data").at("missing").as_string() == "mask");
  CHECK(cfg.at("model").at("missing").as_string() == "mask");
  // Scaled over observed cells: a's min/max are those of the observed values.
  CHECK(cfg.at("output_map").at("outer").at("min").items().at(0).as_double() == doctest::Approx(0.5));
  const std::string syn = tg::io::read_file(d + "/run/synthetic.csv");
  CHECK(syn.rfind("sequence_id,t,a,b\n", 0) == 0);
  CHECK(!has_nan_text(syn));
  CHECK(!has_nan_text(tg::io::read_file(d + "/run/losses.csv")));
  // Resume restores the option from config.json.
  r = run("train --resume " + d + "/run --iterations 4 --quiet");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  r = run("generate --model " + d + "/run --n 6 --seed 3 --out " + d + "/g.csv --quiet");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  CHECK(!has_nan_text(tg::io::read_file(d + "/g.csv")));
  // Evaluate: only complete real windows are scored; the counts are in metrics.json.
  r = run("evaluate --model " + d + "/run --repeats 1 --metric-iterations 5 --tsne-iterations 10 --out " + d + "/ev --quiet");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  CHECK(has(r.out, "missing cells: 15 in 15 of 36 real windows; scored on the 21 complete ones"));
  const tg::io::Json m = tg::io::Json::parse(tg::io::read_file(d + "/ev/metrics.json"), "metrics.json");
  const tg::io::Json& miss = m.at("missing");
  // 36 windows of 5 rows; each of the rows 7, 20 and 30 lies in 5 of them (no window holds two).
  CHECK(miss.at("real_windows").as_int64() == 36);
  CHECK(miss.at("windows_with_missing").as_int64() == 15);
  CHECK(miss.at("cells").as_int64() == 15);
  CHECK(miss.at("windows_evaluated").as_int64() == 21);
  CHECK(!has_nan_text(tg::io::read_file(d + "/ev/metrics.json")));
  CHECK(has(tg::io::read_file(d + "/ev/report.html"), "Missing cells"));
  // evaluate --real with --missing mask against a generated file; without it the cell is refused.
  r = run("generate --model " + d + "/run --n 30 --seed 1 --out " + d + "/g30.csv --quiet");
  REQUIRE(r.code == 0);
  r = run("evaluate --real " + d + "/h.csv --missing mask --seq-len 5 --synthetic " + d + "/g30.csv --repeats 1 "
          "--metric-iterations 3 --tsne-iterations 10 --out " + d + "/ev3 --quiet");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  CHECK(tg::io::Json::parse(tg::io::read_file(d + "/ev3/metrics.json"), "m").at("missing").at("windows_evaluated").as_int64() == 21);
  r = run("evaluate --real " + d + "/h.csv --seq-len 5 --synthetic " + d + "/g30.csv --repeats 1 --out " + d + "/ev4 --quiet");
  CHECK(r.code == 1);
  CHECK(has(r.out, d + "/h.csv:9: column 'a': empty field"));
  // Without missing cells nothing of this is reported.
  write(d + "/full.csv", "a,b\n1,2\n2,3\n3,1\n4,5\n5,2\n6,1\n7,3\n8,2\n");
  r = run("train --data " + d + "/full.csv --iterations 2 --hidden-dim 4 --num-layers 2 --batch-size 4 --seq-len 3 --out " + d +
          "/plain --quiet");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  r = run("evaluate --model " + d + "/plain --repeats 1 --metric-iterations 5 --tsne-iterations 10 --out " + d + "/ev2 --quiet");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  CHECK(!tg::io::Json::parse(tg::io::read_file(d + "/ev2/metrics.json"), "m").contains("missing"));
  CHECK(!tg::io::Json::parse(tg::io::read_file(d + "/plain/config.json"), "c").at("model").contains("missing"));
}
