// Categorical columns through the timegan executable: a CSV with a text column -> train (with
// the note on stderr) -> synthetic.csv and generate with valid labels, the vocabularies in the
// run directory, resume, evaluate with the category frequencies, and the one-line errors.
#include <doctest/doctest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "test_util.h"
#include "tg/io/checkpoint.h"
#include "tg/io/csv.h"
#include "tg/io/fs.h"
#include "tg/io/json.h"

namespace {

using tgtest::has;
using tgtest::run;

using tgtest::write;

// 40 rows: price follows the regime (up: ~0.8, down: ~0.2), volume is a plain number.
std::string regime_csv() {
  std::ostringstream s;
  s << "price,regime,volume\n";
  for (int i = 0; i < 40; ++i) {
    const bool up = (i / 5) % 2 == 0;
    s << (up ? 0.8 : 0.2) + 0.01 * (i % 3) << ',' << (up ? "up" : "down") << ',' << 100 + i << '\n';
  }
  return s.str();
}

// The labels of column `col` in a long-format CSV that timegan writes.
std::set<std::string> labels_in(const std::string& path, const std::string& col) {
  tg::io::CsvOptions o;
  o.id_column = "sequence_id";
  o.categorical = {col};
  const tg::io::Table t = tg::io::read_csv(path, o);
  for (int64_t c = 0; c < t.cols(); ++c)
    if (t.columns[static_cast<size_t>(c)] == col) return {t.categories[static_cast<size_t>(c)].begin(), t.categories[static_cast<size_t>(c)].end()};
  return {};
}

const std::string kSmall = "--iterations 3" + tgtest::kTinyNet + "--seq-len 5";

}  // namespace

TEST_CASE("cli: a text column is categorical end to end: train, generate, resume, evaluate") {
  const std::string d = tgtest::make_tmpdir("tg-cat");
  write(d + "/r.csv", regime_csv());
  auto r = run("train --data " + d + "/r.csv " + kSmall + " --out " + d + "/run");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  CHECK(has(r.out, "note: " + d + "/r.csv: column 'regime' is not numeric: read as categorical (2 labels)"));
  // The run directory stores the vocabulary and the blocks.
  const tg::io::Json cfg = tg::io::Json::parse(tg::io::read_file(d + "/run/config.json"), "config.json");
  const tg::io::Json& cat = cfg.at("output_map").at("categorical").items().at(0);
  CHECK(cat.at("name").as_string() == "regime");
  CHECK(cat.at("labels").items().at(1).as_string() == "up");
  CHECK(cfg.at("model").at("categorical").items().at(0).as_int64() == 2);
  CHECK(cfg.at("model").at("features").as_int64() == 4);
  // The checkpoint carries the labels as well.
  const tg::io::Checkpoint ck = tg::io::load_checkpoint(d + "/run/model.ckpt");
  const tg::io::Json meta = tg::io::Json::parse(ck.meta_json, "meta");
  CHECK(meta.at("extra").at("categorical").items().at(0).at("labels").items().at(0).as_string() == "down");
  // synthetic.csv: the columns in the CSV's order, the label column between the numeric ones.
  const std::string syn = tg::io::read_file(d + "/run/synthetic.csv");
  CHECK(syn.rfind("sequence_id,t,price,regime,volume\n", 0) == 0);
  const auto& order = cfg.at("output_map").at("column_order").items();
  REQUIRE(order.size() == 3);
  CHECK(order.at(0).as_string() == "price");
  CHECK(order.at(1).as_string() == "regime");
  CHECK(order.at(2).as_string() == "volume");
  for (const auto& l : labels_in(d + "/run/synthetic.csv", "regime")) CHECK((l == "up" || l == "down"));
  // generate writes labels; same seed, same file.
  r = run("generate --model " + d + "/run --n 7 --seed 2 --out " + d + "/g.csv --quiet");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  const std::set<std::string> got = labels_in(d + "/g.csv", "regime");
  CHECK(!got.empty());
  for (const auto& l : got) CHECK((l == "up" || l == "down"));
  r = run("generate --model " + d + "/run --n 7 --seed 2 --out " + d + "/g2.csv --quiet");
  CHECK(tg::io::read_file(d + "/g.csv") == tg::io::read_file(d + "/g2.csv"));
  // NPY: label indices.
  r = run("generate --model " + d + "/run --n 3 --out " + d + "/g.npy --quiet");
  CHECK(r.code == 0);
  // Resume with more iterations keeps the vocabulary and the architecture.
  r = run("train --resume " + d + "/run --iterations 4 --quiet");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  // evaluate --model: the category frequencies in metrics.json and the report.
  r = run("evaluate --model " + d + "/run --repeats 1 --metric-iterations 5 --tsne-iterations 10 --out " + d + "/ev --quiet");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  const tg::io::Json m = tg::io::Json::parse(tg::io::read_file(d + "/ev/metrics.json"), "metrics.json");
  const tg::io::Json& reg = m.at("categorical").at("regime");
  CHECK(reg.at("real").at("up").as_double() + reg.at("real").at("down").as_double() == doctest::Approx(1.0));
  CHECK(reg.at("synthetic").at("up").as_double() + reg.at("synthetic").at("down").as_double() == doctest::Approx(1.0));
  CHECK(reg.at("total_variation").as_double() >= 0.0);
  CHECK(has(tg::io::read_file(d + "/ev/report.html"), "Categorical columns"));
  // evaluate --synthetic on the generated CSV (labels mapped to the real vocabulary).
  r = run("evaluate --real " + d + "/r.csv --seq-len 5 --synthetic " + d + "/g.csv --repeats 1 --metric-iterations 5 "
          "--tsne-iterations 10 --out " + d + "/ev2 --quiet");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  const tg::io::Json ev2 = tg::io::Json::parse(tg::io::read_file(d + "/ev2/metrics.json"), "m");
  CHECK(ev2.at("categorical").contains("regime"));
  // The same file with the numeric columns first (the order of files written before the data's
  // order was kept) is read by name: the same numbers.
  {
    tg::io::CsvOptions o;
    o.id_column = "sequence_id";
    o.categorical = {"regime"};
    const tg::io::Table g = tg::io::read_csv(d + "/g.csv", o);
    std::ostringstream moved;
    moved << "sequence_id,t,price,volume,regime\n";
    std::istringstream in(tg::io::read_file(d + "/g.csv"));
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {  // sequence_id,t,price,regime,volume -> ...,price,volume,regime
      std::vector<std::string> f;
      std::stringstream ls(line);
      for (std::string x; std::getline(ls, x, ',');) f.push_back(x);
      REQUIRE(f.size() == 5);
      moved << f[0] << ',' << f[1] << ',' << f[2] << ',' << f[4] << ',' << f[3] << '\n';
    }
    CHECK(g.rows == 7 * 5);
    write(d + "/moved.csv", moved.str());
    r = run("evaluate --real " + d + "/r.csv --seq-len 5 --synthetic " + d + "/moved.csv --repeats 1 --metric-iterations 5 "
            "--tsne-iterations 10 --out " + d + "/ev4 --quiet");
    REQUIRE_MESSAGE(r.code == 0, r.out);
    const tg::io::Json ev4 = tg::io::Json::parse(tg::io::read_file(d + "/ev4/metrics.json"), "m");
    CHECK(ev4.at("categorical").dump() == ev2.at("categorical").dump());
    CHECK(ev4.at("discriminative").dump() == ev2.at("discriminative").dump());
  }
  // A synthetic label the real data never had.
  std::string bad = tg::io::read_file(d + "/g.csv");
  const size_t at = bad.find(",up,") != std::string::npos ? bad.find(",up,") : bad.find(",down,");
  bad.replace(at, bad.find(',', at + 1) - at, ",sideways");
  write(d + "/bad.csv", bad);
  r = run("evaluate --real " + d + "/r.csv --seq-len 5 --synthetic " + d + "/bad.csv --repeats 1 --metric-iterations 5 --out " +
          d + "/ev3 --quiet");
  CHECK(r.code == 1);
  CHECK(has(r.out, "column 'regime': label 'sideways' does not occur in the real data"));
}

TEST_CASE("cli: --categorical names columns; bad categorical input is a one-line error") {
  const std::string d = tgtest::make_tmpdir("tg-cat");
  write(d + "/r.csv", regime_csv());
  // A numeric column read as categories (40 distinct volumes: over a limit of 8).
  auto r = run("train --data " + d + "/r.csv --categorical volume --max-categories 8 " + kSmall + " --out " + d + "/a");
  CHECK(r.code == 1);
  CHECK(has(r.out, d + "/r.csv:10: column 'volume': more than 8 categories"));
  CHECK(tgtest::count_lines(r.out) == 1);
  CHECK(!tg::io::file_exists(d + "/a/config.json"));
  r = run("train --data " + d + "/r.csv --categorical nope " + kSmall + " --out " + d + "/b");
  CHECK(r.code == 1);
  CHECK(has(r.out, "unknown categorical column 'nope' (available: price, regime, volume)"));
  write(d + "/e.csv", "price,regime\n0.1,up\n0.2,\n");
  r = run("train --data " + d + "/e.csv " + kSmall + " --out " + d + "/c");
  CHECK(r.code == 1);
  CHECK(has(r.out, d + "/e.csv:3: column 'regime': empty field"));
  r = run("train --data " + d + "/r.csv --max-categories 0 " + kSmall + " --out " + d + "/d");
  CHECK(r.code == 2);
  // Every column categorical: refused.
  write(d + "/t.csv", "a,b\nx,y\nz,w\n");
  r = run("train --data " + d + "/t.csv --seq-len 2 --out " + d + "/f --quiet");
  CHECK(r.code == 1);
  CHECK(has(r.out, "at least one numeric column is needed"));
  r = run("train --data sine --categorical a " + std::string(kSmall) + " --out " + d + "/h");
  CHECK(r.code == 2);
  CHECK(has(r.out, "--categorical: applies to a CSV file"));
  // A categorical column given explicitly with numbers as labels trains.
  r = run("train --data " + d + "/r.csv --columns price,volume --categorical volume --quiet " + kSmall + " --out " + d + "/g");
  CHECK_MESSAGE(r.code == 0, r.out);
}

TEST_CASE("cli: generate --categorical-sampling sample draws labels with its own stream") {
  const std::string d = tgtest::make_tmpdir("tg-cat-sample");
  write(d + "/r.csv", regime_csv());
  auto r = run("train --data " + d + "/r.csv " + kSmall + " --out " + d + "/run --quiet");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  const std::string g = "generate --model " + d + "/run --n 40 --seed 3 --quiet --out " + d;
  r = run(g + "/a.csv");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  r = run(g + "/a2.csv --categorical-sampling argmax");
  REQUIRE(r.code == 0);
  CHECK(tg::io::read_file(d + "/a.csv") == tg::io::read_file(d + "/a2.csv"));  // the default
  r = run(g + "/s.csv --categorical-sampling sample");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  r = run(g + "/s2.csv --categorical-sampling sample");
  REQUIRE(r.code == 0);
  CHECK(tg::io::read_file(d + "/s.csv") == tg::io::read_file(d + "/s2.csv"));  // same seed, same bytes
  CHECK(tg::io::read_file(d + "/s.csv") != tg::io::read_file(d + "/a.csv"));  // 200 labels: some differ
  // Only the labels differ: the numeric columns are those of argmax (the noise streams are unchanged).
  tg::io::CsvOptions o;
  o.id_column = "sequence_id";
  o.categorical = {"regime"};
  const tg::io::Table ta = tg::io::read_csv(d + "/a.csv", o), ts = tg::io::read_csv(d + "/s.csv", o);
  REQUIRE(ta.rows == ts.rows);
  REQUIRE(ta.columns == ts.columns);
  for (int64_t row = 0; row < ta.rows; ++row)
    for (int64_t c = 0; c < ta.cols(); ++c)
      if (ta.columns[static_cast<size_t>(c)] != "regime") CHECK(ta.at(row, c) == ts.at(row, c));
  CHECK(labels_in(d + "/s.csv", "regime").size() >= 1);
  r = run(g + "/x.csv --categorical-sampling top");
  CHECK(r.code == 2);
  CHECK(has(r.out, "--categorical-sampling"));
  CHECK(!tg::io::file_exists(d + "/x.csv"));
}
