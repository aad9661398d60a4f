// Conditional generation through the timegan executable (docs/conditional.md): --condition in a
// long-format CSV (labels and numbers), the run directory, synthetic.csv and generate with the
// condition beside each sequence (labels in, labels out), --condition / --condition-file,
// checkpoint and resume, per-condition scores in evaluate, and one-line errors on bad input.
#include <doctest/doctest.h>

#include <cmath>
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

// 16 sequences of 6 rows: id, value, class (slow / fast: the frequency), dose (a number).
std::string cond_csv() {
  std::ostringstream s;
  s << "id,value,class,dose\n";
  for (int i = 0; i < 16; ++i)
    for (int t = 0; t < 6; ++t)
      s << "s" << i << ',' << 0.5 + 0.4 * std::sin((i % 2 ? 0.9 : 0.2) * t + i) << ',' << (i % 2 ? "fast" : "slow") << ','
        << 1 + i % 4 << '\n';
  return s.str();
}

const std::string kSmall = " --iterations 3" + tgtest::kTinyNet + "--seq-len 0 --id-column id --columns value";

// The distinct values of a column of a generated CSV, with the number of sequences of each.
std::multiset<std::string> per_sequence(const std::string& path, const std::string& column) {
  tg::io::CsvOptions o;
  o.id_column = "sequence_id";
  o.categorical = {column};
  const tg::io::Table t = tg::io::read_csv(path, o);
  size_t k = 0;
  while (t.columns[k] != column) ++k;
  std::multiset<std::string> out;
  for (int64_t r = 0; r < t.rows; ++r)
    if (r == 0 || t.ids[static_cast<size_t>(r)] != t.ids[static_cast<size_t>(r - 1)])
      out.insert(t.categories[k][static_cast<size_t>(t.at(r, static_cast<int64_t>(k)))]);
  return out;
}

}  // namespace

TEST_CASE("cli: --condition with labels: run directory, synthetic.csv, generate, condition file") {
  const std::string d = tgtest::make_tmpdir("tg-cond");
  write(d + "/c.csv", cond_csv());
  auto r = run("train --data " + d + "/c.csv --condition class" + std::string(kSmall) + " --out " + d + "/run --quiet");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  const tg::io::Json cfg = tg::io::Json::parse(tg::io::read_file(d + "/run/config.json"), "config.json");
  CHECK(cfg.at("model").at("condition_dim").as_int64() == 2);
  CHECK(cfg.at("model").at("features").as_int64() == 1);  // the condition is not a temporal feature
  CHECK(cfg.at("data").at("condition").as_string() == "class");
  const tg::io::Json& c = cfg.at("output_map").at("condition");
  CHECK(c.at("kind").as_string() == "categorical");
  CHECK(c.at("labels").items().at(0).as_string() == "fast");
  CHECK(c.at("counts").items().at(0).as_int64() == 8);
  CHECK(c.at("counts").items().at(1).as_int64() == 8);
  // The checkpoint's metadata holds the condition too.
  const tg::io::Checkpoint ck = tg::io::load_checkpoint(d + "/run/model.ckpt");
  CHECK(has(ck.meta_json, "\"condition\""));
  CHECK(has(ck.config_json, "\"condition_dim\": 2"));
  // synthetic.csv: the labels beside each sequence, drawn from the training distribution.
  CHECK(has(tg::io::read_file(d + "/run/synthetic.csv"), "sequence_id,t,value,class\n"));
  auto drawn = per_sequence(d + "/run/synthetic.csv", "class");
  CHECK(drawn.size() == 16);
  CHECK(drawn.count("fast") + drawn.count("slow") == 16);
  // generate --condition: --n sequences per value, the label written back.
  r = run("generate --model " + d + "/run --condition fast,slow --n 3 --out " + d + "/g.csv --quiet");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  auto g = per_sequence(d + "/g.csv", "class");
  CHECK(g.count("fast") == 3);
  CHECK(g.count("slow") == 3);
  // --condition-file: one sequence per value, in the file's order.
  write(d + "/want.csv", "class\nslow\nslow\nfast\n");
  r = run("generate --model " + d + "/run --condition-file " + d + "/want.csv --out " + d + "/g2.csv --quiet");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  const std::string g2 = tg::io::read_file(d + "/g2.csv");
  CHECK(has(g2, "\n0,0,"));
  CHECK(has(g2, ",slow\n1,0,"));
  CHECK(has(g2, ",fast\n"));
  CHECK(per_sequence(d + "/g2.csv", "class").size() == 3);
  // The same seed and condition: the same sequence whatever else is asked for.
  r = run("generate --model " + d + "/run --condition slow --n 1 --out " + d + "/g3.csv --quiet");
  REQUIRE(r.code == 0);
  const std::string g3 = tg::io::read_file(d + "/g3.csv");
  CHECK(g2.compare(0, g3.size(), g3) == 0);
  // Drawn conditions without --condition, seeded.
  REQUIRE(run("generate --model " + d + "/run --n 20 --seed 4 --out " + d + "/d1.csv --quiet").code == 0);
  REQUIRE(run("generate --model " + d + "/run --n 20 --seed 4 --out " + d + "/d2.csv --quiet").code == 0);
  CHECK(tg::io::read_file(d + "/d1.csv") == tg::io::read_file(d + "/d2.csv"));
  auto d1 = per_sequence(d + "/d1.csv", "class");
  CHECK(d1.count("fast") > 0);
  CHECK(d1.count("slow") > 0);
}

TEST_CASE("cli: --condition with numbers: min-max scaled, range checked at generate") {
  const std::string d = tgtest::make_tmpdir("tg-cond-num");
  write(d + "/c.csv", cond_csv());
  auto r = run("train --data " + d + "/c.csv --condition dose" + std::string(kSmall) + " --out " + d + "/run --quiet");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  const tg::io::Json cfg = tg::io::Json::parse(tg::io::read_file(d + "/run/config.json"), "config.json");
  const tg::io::Json& c = cfg.at("output_map").at("condition");
  CHECK(c.at("kind").as_string() == "numeric");
  CHECK(c.at("min").as_double() == 1.0);
  CHECK(c.at("max").as_double() == 4.0);
  CHECK(c.at("values").size() == 16);
  CHECK(cfg.at("model").at("condition_dim").as_int64() == 1);
  r = run("generate --model " + d + "/run --condition 2.5 --n 2 --out " + d + "/g.csv --quiet");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  CHECK(has(tg::io::read_file(d + "/g.csv"), ",2.5\n1,0,"));
  r = run("generate --model " + d + "/run --condition 7 --n 2 --out " + d + "/bad.csv --quiet");
  CHECK(r.code == 1);
  CHECK(has(r.out, "--condition: condition 'dose': value 7 is outside the training range [1, 4]"));
  CHECK(tgtest::count_lines(r.out) == 1);
  CHECK(!tg::io::file_exists(d + "/bad.csv"));
  r = run("generate --model " + d + "/run --condition abc --n 2 --out " + d + "/bad.csv --quiet");
  CHECK(r.code == 1);
  CHECK(has(r.out, "condition 'dose': not a number: \"abc\""));
  // --categorical reads the numbers as labels.
  r = run("train --data " + d + "/c.csv --condition dose --categorical dose" + std::string(kSmall) + " --out " + d +
          "/cat --quiet");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  CHECK(tg::io::Json::parse(tg::io::read_file(d + "/cat/config.json"), "c").at("model").at("condition_dim").as_int64() == 4);
}

TEST_CASE("cli: --condition resume continues bit-identically") {
  const std::string d = tgtest::make_tmpdir("tg-cond-resume");
  write(d + "/c.csv", cond_csv());
  const std::string common = " --data " + d + "/c.csv --condition class --iterations 20 --hidden-dim 4 --num-layers 2 "
                             "--batch-size 8 --seq-len 0 --id-column id --columns value --quiet --seed 2";
  REQUIRE(run("train" + common + " --out " + d + "/full").code == 0);
  auto part = run("train" + common + " --out " + d + "/part --max-time 0.001s");
  CHECK(part.code == 75);
  auto res = run("train --resume " + d + "/part --quiet");
  REQUIRE_MESSAGE(res.code == 0, res.out);
  const tg::io::Checkpoint a = tg::io::load_checkpoint(d + "/part/model.ckpt"),
                           b = tg::io::load_checkpoint(d + "/full/model.ckpt");
  REQUIRE(a.tensors.size() == b.tensors.size());
  for (size_t i = 0; i < a.tensors.size(); ++i) CHECK(a.tensors[i].bytes == b.tensors[i].bytes);
  CHECK(tg::io::read_file(d + "/part/losses.csv") == tg::io::read_file(d + "/full/losses.csv"));
  CHECK(tg::io::read_file(d + "/part/synthetic.csv") == tg::io::read_file(d + "/full/synthetic.csv"));
  // Data whose conditions changed: refused.
  // (every row of the first sequence: one row alone would break the constancy check first).
  std::string changed = cond_csv();
  for (size_t p = changed.find("\ns0,"); p != std::string::npos; p = changed.find("\ns0,", p + 1)) {
    const size_t q = changed.find(",slow,", p);
    changed.replace(q, 6, ",fast,");
  }
  write(d + "/c.csv", changed);
  auto bad = run("train --resume " + d + "/part --iterations 25 --quiet");
  CHECK(bad.code == 1);
  CHECK(has(bad.out, "the conditions differ from those the run started with"));
}

TEST_CASE("cli: --condition errors are one line with a non-zero exit") {
  const std::string d = tgtest::make_tmpdir("tg-cond-err");
  write(d + "/c.csv", cond_csv());
  // Unknown column.
  auto r = run("train --data " + d + "/c.csv --condition nope --iterations 2 --id-column id --seq-len 0 --out " + d + "/x --quiet");
  CHECK(r.code == 1);
  CHECK(has(r.out, "c.csv: unknown condition column 'nope' (available: "));
  CHECK(tgtest::count_lines(r.out) == 1);
  CHECK(!tg::io::file_exists(d + "/x/config.json"));
  // A value that changes within a sequence: file, line and column.
  std::string varying = cond_csv();
  const size_t p = varying.find("s0,", varying.find("s0,") + 1);  // the second row of s0 (line 3)
  const size_t q = varying.find(",slow,", p);
  varying.replace(q, 6, ",fast,");
  write(d + "/v.csv", varying);
  r = run("train --data " + d + "/v.csv --condition class --iterations 2 --id-column id --seq-len 0 --out " + d + "/x --quiet");
  CHECK(r.code == 1);
  CHECK(has(r.out, "v.csv:3: condition column 'class': value \"fast\" differs from \"slow\" earlier in sequence 's0' "
                   "(a condition is constant within a sequence)"));
  CHECK(tgtest::count_lines(r.out) == 1);
  // Without --id-column, or on sine: exit 2.
  r = run("train --data " + d + "/c.csv --condition class --iterations 2 --out " + d + "/x --quiet");
  CHECK(r.code == 2);
  CHECK(has(r.out, "--condition: needs a long-format CSV with --id-column"));
  r = run("train --data sine --condition class --iterations 2 --out " + d + "/x --quiet");
  CHECK(r.code == 2);
  // An unknown label at generate: nothing written.
  REQUIRE(run("train --data " + d + "/c.csv --condition class" + std::string(kSmall) + " --out " + d + "/run --quiet").code == 0);
  r = run("generate --model " + d + "/run --condition medium --out " + d + "/g.csv --quiet");
  CHECK(r.code == 1);
  CHECK(has(r.out, "--condition: condition 'class': unknown label \"medium\" (the model knows: fast, slow)"));
  CHECK(tgtest::count_lines(r.out) == 1);
  CHECK(!tg::io::file_exists(d + "/g.csv"));
  // --n per value times the values: refused before the list of conditions is built.
  r = run("generate --model " + d + "/run --condition slow,fast --n 400000000 --threads 1 --out " + d + "/g.csv --quiet");
  CHECK(r.code == 2);
  CHECK(has(r.out, "--n: 800000000 sequences of"));
  CHECK(tgtest::count_lines(r.out) == 1);
  CHECK(!tg::io::file_exists(d + "/g.csv"));
  write(d + "/want.csv", "class\nslow\nmedium\n");
  r = run("generate --model " + d + "/run --condition-file " + d + "/want.csv --out " + d + "/g.csv --quiet");
  CHECK(r.code == 1);
  CHECK(has(r.out, "want.csv:3: condition 'class': unknown label \"medium\""));
  CHECK(!tg::io::file_exists(d + "/g.csv"));
  // A config.json whose condition is corrupt: one line naming it.
  {
    tg::io::Json cfg = tg::io::Json::parse(tg::io::read_file(d + "/run/config.json"), "config.json");
    tg::io::Json labels = tg::io::Json::array();
    labels.push_back("slow");
    labels.push_back("slow");
    cfg["output_map"]["condition"]["labels"] = labels;
    write(d + "/run/config.json", cfg.dump());
    r = run("generate --model " + d + "/run --n 2 --out " + d + "/g.csv --quiet");
    CHECK(r.code == 1);
    CHECK(has(r.out, "config.json: condition: a label occurs twice"));
    CHECK(tgtest::count_lines(r.out) == 1);
    CHECK(!tg::io::file_exists(d + "/g.csv"));
  }
  // The condition named as a static column too.
  r = run("train --data " + d + "/c.csv --condition dose --static-columns dose --iterations 2 --id-column id --seq-len 0 --out " +
          d + "/x --quiet");
  CHECK(r.code == 2);
  CHECK(has(r.out, "--condition: 'dose' is also a static column"));
  // A condition given to a model trained without one.
  REQUIRE(run("train --data " + d + "/c.csv" + std::string(kSmall) + " --out " + d + "/plain --quiet").code == 0);
  r = run("generate --model " + d + "/plain --condition slow --out " + d + "/g.csv --quiet");
  CHECK(r.code == 1);
  CHECK(has(r.out, "plain: the model was trained without a condition (--condition); it cannot generate for one"));
  CHECK(tgtest::count_lines(r.out) == 1);
  CHECK(!tg::io::file_exists(d + "/g.csv"));
}

TEST_CASE("cli: evaluate scores each condition (labels; numeric quantile bins); --synthetic with a condition column") {
  const std::string d = tgtest::make_tmpdir("tg-cond-eval");
  // 24 sequences: 12 slow, 12 fast (a class with fewer than 10 sequences would be skipped).
  std::ostringstream s;
  s << "id,value,class,dose\n";
  for (int i = 0; i < 24; ++i)
    for (int t = 0; t < 6; ++t)
      s << "s" << i << ',' << 0.5 + 0.4 * std::sin((i % 2 ? 0.9 : 0.2) * t + i) << ',' << (i % 2 ? "fast" : "slow")
        << ',' << (i < 21 ? 1 + i % 4 : 9) << '\n';
  write(d + "/c.csv", s.str());
  auto r = run("train --data " + d + "/c.csv --condition class" + std::string(kSmall) + " --out " + d + "/run --quiet");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  r = run("evaluate --model " + d + "/run --repeats 1 --metric-iterations 5 --tsne-iterations 10 --out " + d + "/ev --quiet");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  const tg::io::Json m = tg::io::Json::parse(tg::io::read_file(d + "/ev/metrics.json"), "metrics.json");
  const tg::io::Json& c = m.at("conditions");
  CHECK(c.at("column").as_string() == "class");
  CHECK(c.at("kind").as_string() == "categorical");
  REQUIRE(c.at("groups").size() == 2);
  const tg::io::Json& fast = c.at("groups")[0];
  CHECK(fast.at("condition").as_string() == "fast");
  CHECK(fast.at("real_sequences").as_int64() == 12);
  CHECK(fast.at("synthetic_sequences").as_int64() == 12);  // generated for each real sequence's own condition
  CHECK(fast.at("discriminative").at("per_repeat").size() == 1);
  CHECK(fast.at("predictive").at("mean").as_double() >= 0.0);
  CHECK(m.contains("discriminative"));  // the overall scores stay
  CHECK(has(tg::io::read_file(d + "/ev/report.html"), "Scores per condition"));
  // --synthetic: a generated file's condition column is read and mapped to the model's labels.
  REQUIRE(run("generate --model " + d + "/run --condition slow,fast --n 11 --out " + d + "/g.csv --quiet").code == 0);
  r = run("evaluate --real " + d + "/c.csv --id-column id --columns value --seq-len 0 --condition class --synthetic " + d +
          "/g.csv --repeats 1 --metric-iterations 5 --tsne-iterations 10 --out " + d + "/ev2 --quiet");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  const tg::io::Json m2 = tg::io::Json::parse(tg::io::read_file(d + "/ev2/metrics.json"), "metrics.json");
  CHECK(m2.at("conditions").at("groups")[1].at("synthetic_sequences").as_int64() == 11);
  CHECK(m2.at("conditions").at("groups")[1].at("real_sequences").as_int64() == 12);
  // A numeric condition: quantile bins of the real values; a bin with too few sequences is skipped with a note.
  r = run("train --data " + d + "/c.csv --condition dose" + std::string(kSmall) + " --out " + d + "/num --quiet");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  r = run("evaluate --model " + d + "/num --repeats 1 --metric-iterations 5 --tsne-iterations 10 --out " + d + "/ev3 --quiet");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  const tg::io::Json m3 = tg::io::Json::parse(tg::io::read_file(d + "/ev3/metrics.json"), "metrics.json");
  const tg::io::Json& g3 = m3.at("conditions").at("groups");
  CHECK(m3.at("conditions").at("kind").as_string() == "numeric");
  // Sorted values: six 1, five 2, five 3, five 4, three 9; the 0, 1/4, ..., 1 quantiles (indices
  // 0, 5, 11, 17, 23) are 1, 1, 3, 4, 9: bins [1, 3], (3, 4], (4, 9].
  REQUIRE(g3.size() == 3);
  CHECK(g3[0].at("condition").as_string() == "[1, 3]");
  CHECK(g3[0].at("real_sequences").as_int64() == 16);
  CHECK(g3[0].contains("discriminative"));
  CHECK(g3[2].at("condition").as_string() == "(4, 9]");
  CHECK(has(g3[2].at("skipped").as_string(), "fewer than 10 sequences (3 real, 3 synthetic)"));
  CHECK(has(g3[1].at("skipped").as_string(), "fewer than 10 sequences (5 real, 5 synthetic)"));
}
