// Static columns through the CSV reader, the long-format preparation and the timegan
// executable: constant-per-id checks and one-line errors, the static scaler, synthetic.csv and
// generate with the static values beside each sequence (in the data's units), the run
// directory, resume and generate from a saved run.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

#include "test_util.h"
#include "tg/engine.h"
#include "tg/io/csv.h"
#include "tg/io/dataset.h"
#include "tg/io/error.h"
#include "tg/io/fs.h"
#include "tg/io/json.h"

namespace {

using tgtest::error_of;
using tgtest::has;
using tgtest::run;

using tgtest::write;

// 12 sequences of 5 rows: id, value, level (static: 10 or 30), size (static: 1..3).
std::string static_csv() {
  std::ostringstream s;
  s << "id,value,level,size\n";
  for (int i = 0; i < 12; ++i)
    for (int t = 0; t < 5; ++t)
      s << "s" << i << ',' << (i % 2 ? 0.8 : 0.2) + 0.05 * std::sin(t + i) << ',' << (i % 2 ? 30 : 10) << ',' << 1 + i % 3
        << '\n';
  return s.str();
}

tg::io::CsvOptions static_opts() {
  tg::io::CsvOptions o;
  o.id_column = "id";
  o.static_columns = {"level", "size"};
  return o;
}

const std::string kSmall = "--iterations 3" + tgtest::kTinyNet + "--seq-len 0 --id-column id";

}  // namespace

TEST_CASE("csv: static columns are moved out of the values, constant per id") {
  const tg::io::Table t = tg::io::parse_csv("id,a,k,b\nx,1,5,2\nx,3,5,4\ny,5,7,6\n", "s.csv", [] {
    tg::io::CsvOptions o;
    o.id_column = "id";
    o.static_columns = {"k"};
    return o;
  }());
  CHECK(t.columns == std::vector<std::string>{"a", "b"});
  CHECK(t.values == std::vector<double>{1, 2, 3, 4, 5, 6});
  CHECK(t.static_columns == std::vector<std::string>{"k"});
  CHECK(t.statics == std::vector<double>{5, 5, 7});
  // With --columns the static column is read too.
  tg::io::CsvOptions o = static_opts();
  o.columns = {"value"};
  const tg::io::Table u = tg::io::parse_csv(static_csv(), "c.csv", o);
  CHECK(u.columns == std::vector<std::string>{"value"});
  CHECK(u.static_columns == std::vector<std::string>{"level", "size"});
  CHECK(u.statics.size() == 60 * 2);
}

TEST_CASE("csv: bad static columns are one-line errors naming file, line and column") {
  using tg::io::InputError;
  tg::io::CsvOptions o;
  o.id_column = "id";
  o.static_columns = {"k"};
  CHECK(has(error_of<InputError>([&] { tg::io::parse_csv("id,a,k\nx,1,5\nx,2,6\n", "v.csv", o); }),
            "v.csv:3: static column 'k': value 6 differs from 5 earlier in sequence 'x'"));
  // A new id may change it.
  CHECK_NOTHROW(tg::io::parse_csv("id,a,k\nx,1,5\ny,2,6\n", "v.csv", o));
  o.static_columns = {"nope"};
  CHECK(has(error_of<InputError>([&] { tg::io::parse_csv("id,a,k\nx,1,5\n", "u.csv", o); }),
            "u.csv: unknown static column 'nope' (available: id, a, k)"));
  o.static_columns = {"k"};
  o.missing = true;
  CHECK(has(error_of<InputError>([&] { tg::io::parse_csv("id,a,k\nx,1,5\nx,2,\n", "m.csv", o); }),
            "m.csv:3: static column 'k': empty field"));
  o.missing = false;
  CHECK(has(error_of<InputError>([&] { tg::io::parse_csv("id,a,k\nx,1,up\nx,2,up\n", "c.csv", o); }),
            "c.csv: static column 'k' is not numeric"));
  tg::io::CsvOptions wide;
  wide.static_columns = {"k"};
  CHECK(has(error_of<InputError>([&] { tg::io::parse_csv("a,k\n1,5\n2,5\n", "w.csv", wide); }),
            "w.csv: static column 'k' needs long format (--id-column)"));
  o.static_columns = {"a"};
  CHECK(has(error_of<InputError>([&] { tg::io::parse_csv("id,a\nx,1\nx,1\n", "n.csv", o); }), "n.csv: no numeric columns besides the static ones"));
}

TEST_CASE("prepare: static values per sequence, their own min-max, and back to the data's units") {
  const tg::io::Table t = tg::io::parse_csv(static_csv(), "s.csv", static_opts());
  tg::Rng rng(0, 5);
  const tg::io::Prepared p = tg::io::prepare(t, tg::io::PrepOptions{"default", 0, 1, false, false}, rng);
  const tg::io::Windows& w = p.windows;
  REQUIRE(w.n == 12);
  CHECK(w.dim == 1);
  CHECK(w.static_dim == 2);
  // level: 10 -> 0, 30 -> 1; size: 1 -> 0, 2 -> 0.5, 3 -> 1.
  CHECK(w.statics[0] == 0.0);
  CHECK(w.statics[1] == 0.0);
  CHECK(w.statics[2] == 1.0);
  CHECK(w.statics[3] == 0.5);
  CHECK(w.statics[5] == 1.0);
  CHECK(p.map.static_columns == std::vector<std::string>{"level", "size"});
  // The output map's JSON round trip keeps the scaler; model_to_original restores the units.
  const tg::io::OutputMap m = tg::io::OutputMap::from_json(p.map.to_json());
  tg::io::Windows back = w;
  m.model_to_original(back);
  CHECK(back.statics[0] == 10.0);
  CHECK(back.statics[2] == 30.0);
  CHECK(back.statics[3] == 2.0);
  CHECK(back.static_columns == std::vector<std::string>{"level", "size"});
  // Without static columns the JSON has no "static" entry (config.json as before).
  tg::io::CsvOptions plain;
  plain.id_column = "id";
  tg::Rng rng2(0, 5);
  CHECK(!tg::io::prepare(tg::io::parse_csv(static_csv(), "s.csv", plain), tg::io::PrepOptions{"default", 0, 1, false, false}, rng2)
             .map.to_json()
             .contains("static"));
  // The CSV writer repeats each sequence's static values on its rows.
  const std::string csv = tg::io::windows_csv_text(back);
  CHECK(csv.rfind("sequence_id,t,value,level,size\n", 0) == 0);
  CHECK(has(csv, "\n0,4,"));
  CHECK(has(csv, ",10,1\n1,0,"));
}

TEST_CASE("cli: --static-columns end to end: train, synthetic.csv, generate, resume, errors") {
  const std::string d = tgtest::make_tmpdir("tg-static");
  write(d + "/s.csv", static_csv());
  auto r = run("train --data " + d + "/s.csv --static-columns level,size " + kSmall + " --out " + d + "/run --quiet");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  const tg::io::Json cfg = tg::io::Json::parse(tg::io::read_file(d + "/run/config.json"), "config.json");
  CHECK(cfg.at("model").at("static_features").as_int64() == 2);
  CHECK(cfg.at("data").at("static_columns").as_string() == "level,size");
  CHECK(cfg.at("output_map").at("static").at("columns").items().at(1).as_string() == "size");
  // synthetic.csv: the static values in the data's units beside each sequence, one value per id.
  tg::io::CsvOptions o;
  o.id_column = "sequence_id";
  o.static_columns = {"level", "size"};
  const tg::io::Table syn = tg::io::read_csv(d + "/run/synthetic.csv", o);  // throws if not constant per id
  CHECK(syn.columns == std::vector<std::string>{"t", "value"});
  for (size_t i = 0; i < syn.statics.size(); i += 2) {
    CHECK(syn.statics[i] >= 10.0);
    CHECK(syn.statics[i] <= 30.0);
    CHECK(syn.statics[i + 1] >= 1.0);
    CHECK(syn.statics[i + 1] <= 3.0);
  }
  // generate: same seed, same bytes; the statics are there.
  r = run("generate --model " + d + "/run --n 5 --seed 2 --out " + d + "/g.csv --quiet");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  r = run("generate --model " + d + "/run --n 5 --seed 2 --out " + d + "/g2.csv --quiet");
  REQUIRE(r.code == 0);
  CHECK(tg::io::read_file(d + "/g.csv") == tg::io::read_file(d + "/g2.csv"));
  CHECK(tg::io::read_csv(d + "/g.csv", o).statics.size() == 2 * 5 * 5);
  // evaluate --model: each static column's distribution, real against synthetic, in metrics.json and the report.
  r = run("evaluate --model " + d + "/run --repeats 1 --metric-iterations 5 --tsne-iterations 10 --out " + d + "/ev --quiet");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  const tg::io::Json mj = tg::io::Json::parse(tg::io::read_file(d + "/ev/metrics.json"), "metrics.json");
  const tg::io::Json& lv = mj.at("static").at("level");
  CHECK(lv.at("real_mean").as_double() == doctest::Approx(20.0));
  CHECK(lv.at("real_std").as_double() == doctest::Approx(10.0));
  CHECK(lv.at("real_n").as_int64() == 12);
  CHECK(lv.at("synthetic_n").as_int64() == 12);
  CHECK(lv.at("wasserstein").as_double() >= 0.0);
  CHECK(mj.at("static").contains("size"));
  CHECK(has(tg::io::read_file(d + "/ev/report.html"), "Static columns"));
  // Resume with more iterations continues the same model.
  r = run("train --resume " + d + "/run --iterations 4 --quiet");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  // A config.json whose model and output map disagree on the static columns: one line, exit 1.
  {
    tg::io::Json bad = cfg;
    bad["model"]["static_features"] = 1;
    r = run("train --data " + d + "/s.csv --static-columns level,size " + kSmall + " --out " + d + "/run2 --quiet");
    REQUIRE(r.code == 0);
    write(d + "/run2/config.json", bad.dump());
    r = run("generate --model " + d + "/run2 --n 2 --out " + d + "/g3.csv --quiet");
    CHECK(r.code == 1);
    CHECK(has(r.out, "config.json: output_map: static names 2 column(s), the model has 1 static feature(s)"));
    CHECK(tgtest::count_lines(r.out) == 1);
  }
  // Bad input: one line, exit 1; a wide CSV or sine: refused naming the option.
  write(d + "/v.csv", "id,value,level\na,1,2\na,2,3\n");
  r = run("train --data " + d + "/v.csv --static-columns level " + kSmall + " --out " + d + "/bad");
  CHECK(r.code == 1);
  CHECK(has(r.out, d + "/v.csv:3: static column 'level': value 3 differs from 2 earlier in sequence 'a'"));
  CHECK(tgtest::count_lines(r.out) == 1);
  r = run("train --data " + d + "/s.csv --static-columns nope " + kSmall + " --out " + d + "/bad");
  CHECK(r.code == 1);
  CHECK(has(r.out, "unknown static column 'nope'"));
  r = run("train --data sine --static-columns a --iterations 1 --out " + d + "/bad");
  CHECK(r.code == 2);
  CHECK(has(r.out, "static-columns"));
  CHECK(!tg::io::file_exists(d + "/bad/config.json"));
}

namespace {
// The per-id static file of static_csv()'s sequences: level and size of s0..s11.
std::string static_file_csv() {
  std::ostringstream s;
  s << "id,level,size\n";
  for (int i = 0; i < 12; ++i) s << "s" << i << ',' << (i % 2 ? 30 : 10) << ',' << 1 + i % 3 << '\n';
  return s.str();
}

// static_csv() without its static columns: the temporal long-format data.
std::string temporal_csv() {
  std::ostringstream s;
  s << "id,value\n";
  for (int i = 0; i < 12; ++i)
    for (int t = 0; t < 5; ++t) s << "s" << i << ',' << (i % 2 ? 0.8 : 0.2) + 0.05 * std::sin(t + i) << '\n';
  return s.str();
}

tg::io::Table long_table(const std::string& text) {
  tg::io::CsvOptions o;
  o.id_column = "id";
  return tg::io::parse_csv(text, "d.csv", o);
}
}  // namespace

TEST_CASE("static file: read per id and joined to the long-format rows") {
  const tg::io::Table s = tg::io::parse_static_csv("id,k,m\nb,7,1\na,5,2\n", "st.csv", "id", {});
  CHECK(s.columns == std::vector<std::string>{"k", "m"});
  CHECK(s.ids == std::vector<std::string>{"b", "a"});
  tg::io::Table t = long_table("id,x\na,1\na,2\nb,3\n");
  tg::io::join_statics(t, s, "id");
  CHECK(t.static_columns == std::vector<std::string>{"k", "m"});
  CHECK(t.statics == std::vector<double>{5, 2, 5, 2, 7, 1});
  CHECK(t.columns == std::vector<std::string>{"x"});
  // --static-columns selects among the file's columns, in its order.
  const tg::io::Table sel = tg::io::parse_static_csv("id,k,m\nb,7,1\na,5,2\n", "st.csv", "id", {"m"});
  CHECK(sel.columns == std::vector<std::string>{"m"});
  CHECK(sel.values == std::vector<double>{1, 2});
  // The same values as the static columns of one long CSV: the same prepared data.
  tg::io::Table joined = long_table(temporal_csv());
  tg::io::join_statics(joined, tg::io::parse_static_csv(static_file_csv(), "st.csv", "id", {}), "id");
  const tg::io::Table inline_t = tg::io::parse_csv(static_csv(), "s.csv", static_opts());
  CHECK(joined.statics == inline_t.statics);
  CHECK(joined.values == inline_t.values);
}

TEST_CASE("static file: bad files are one-line errors naming file, line and column") {
  using tg::io::InputError;
  auto join = [](const std::string& data, const std::string& st, std::vector<std::string> cols = {}) {
    tg::io::Table t = long_table(data);
    tg::io::join_statics(t, tg::io::parse_static_csv(st, "st.csv", "id", cols), "id");
  };
  const std::string data = "id,x\na,1\na,2\nb,3\n";
  CHECK(has(error_of<InputError>([&] { join(data, "id,k\na,1\nb,2\na,3\n"); }),
            "st.csv:4: column 'id': id 'a' occurs twice (first on line 2)"));
  CHECK(has(error_of<InputError>([&] { join(data, "id,k\na,1\n"); }),
            "d.csv:4: column 'id': sequence 'b' has no row in the static file st.csv"));
  CHECK(has(error_of<InputError>([&] { join(data, "id,k\na,1\nb,2\nc,3\n"); }),
            "st.csv:4: column 'id': id 'c' is not a sequence of d.csv"));
  CHECK(has(error_of<InputError>([&] { join(data, "id,k\na,1\nb,\n"); }), "st.csv:3: column 'k': empty field"));
  CHECK(has(error_of<InputError>([&] { join(data, "id,k\na,big\nb,2\n"); }), "st.csv:2: column 'k': not a number: \"big\""));
  CHECK(has(error_of<InputError>([&] { join(data, "id,k\na,1\nb,2x\n"); }), "st.csv:3: column 'k': not a number: \"2x\""));
  CHECK(has(error_of<InputError>([&] { join(data, "id,k\na,1\nb,2\n", {"nope"}); }),
            "st.csv:1: unknown column 'nope' (available: id, k)"));
  CHECK(has(error_of<InputError>([&] { join(data, "\nkey,k\na,1\n"); }), "st.csv:2: unknown id column 'id' (available: key, k)"));
  CHECK(has(error_of<InputError>([&] { join(data, "id,x\na,1\nb,2\n"); }),
            "st.csv: column 'x': is also a temporal column of d.csv"));
  // Each message is one line.
  CHECK(error_of<InputError>([&] { join(data, "id,k\na,1\n"); }).find('\n') == std::string::npos);
}

TEST_CASE("split_static_columns: a table built in memory gets the CSV reader's checks and messages") {
  using tg::io::InputError;
  tg::io::Table t = long_table("id,a,k\nx,1,5\nx,2,5\ny,3,7\n");
  tg::io::split_static_columns(t, {"k"});
  CHECK(t.columns == std::vector<std::string>{"a"});
  CHECK(t.values == std::vector<double>{1, 2, 3});
  CHECK(t.statics == std::vector<double>{5, 5, 7});
  CHECK(t.static_columns == std::vector<std::string>{"k"});
  tg::io::Table u = long_table("id,a,k\nx,1,5\nx,2,6\n");
  CHECK(has(error_of<InputError>([&] { tg::io::split_static_columns(u, {"k"}); }),
            "d.csv:3: static column 'k': value 6 differs from 5 earlier in sequence 'x'"));
  tg::io::Table v = long_table("id,a,k\nx,1,5\n");
  CHECK(has(error_of<InputError>([&] { tg::io::split_static_columns(v, {"q"}); }), "d.csv: unknown static column 'q'"));
  CHECK(has(error_of<InputError>([&] { tg::io::split_static_columns(v, {"a", "k"}); }),
            "d.csv: no numeric columns besides the static ones"));
}

TEST_CASE("cli: --static FILE: train, synthetic.csv, resume, evaluate --synthetic, errors") {
  const std::string d = tgtest::make_tmpdir("tg-static-file");
  write(d + "/long.csv", temporal_csv());
  write(d + "/st.csv", static_file_csv());
  write(d + "/s.csv", static_csv());
  auto r = run("train --data " + d + "/long.csv --static " + d + "/st.csv " + kSmall + " --out " + d + "/run --quiet");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  const tg::io::Json cfg = tg::io::Json::parse(tg::io::read_file(d + "/run/config.json"), "config.json");
  CHECK(cfg.at("data").at("static_file").as_string() == d + "/st.csv");
  CHECK(!cfg.at("data").contains("static_columns"));
  CHECK(cfg.at("model").at("static_features").as_int64() == 2);
  // The same data as one long CSV with --static-columns: the same run, byte for byte.
  r = run("train --data " + d + "/s.csv --static-columns level,size " + kSmall + " --out " + d + "/inline --quiet");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  CHECK(tg::io::read_file(d + "/run/synthetic.csv") == tg::io::read_file(d + "/inline/synthetic.csv"));
  CHECK(tg::io::read_file(d + "/run/losses.csv") == tg::io::read_file(d + "/inline/losses.csv"));
  CHECK(has(tg::io::read_file(d + "/run/synthetic.csv"), "sequence_id,t,value,level,size\n"));
  // --static-columns selects among the file's columns.
  r = run("train --data " + d + "/long.csv --static " + d + "/st.csv --static-columns size " + kSmall + " --out " + d +
          "/sel --quiet");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  CHECK(has(tg::io::read_file(d + "/sel/synthetic.csv"), "sequence_id,t,value,size\n"));

  // Resume: the same static values continue; a changed one is refused (one line, exit 1).
  r = run("train --resume " + d + "/run --iterations 4 --quiet");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  std::string changed = static_file_csv();
  changed.replace(changed.find("s3,30,1"), 7, "s3,31,1");
  write(d + "/st.csv", changed);
  r = run("train --resume " + d + "/run --iterations 5 --quiet");
  CHECK(r.code == 1);
  CHECK(has(r.out, d + "/st.csv: the static columns or their values differ from those the run started with"));
  CHECK(tgtest::count_lines(r.out) == 1);
  write(d + "/st.csv", static_file_csv());
  r = run("train --resume " + d + "/run --iterations 5 --quiet");
  CHECK_MESSAGE(r.code == 0, r.out);
  // The same for static columns inside the data file: every row of sequence s3 carries the
  // static value, so all of them change (constant within the id).
  std::ostringstream s;
  s << "id,value,level,size\n";
  for (int i = 0; i < 12; ++i)
    for (int t = 0; t < 5; ++t)
      s << "s" << i << ',' << (i % 2 ? 0.8 : 0.2) + 0.05 * std::sin(t + i) << ',' << (i == 3 ? 29 : i % 2 ? 30 : 10) << ','
        << 1 + i % 3 << '\n';
  write(d + "/s.csv", s.str());
  r = run("train --resume " + d + "/inline --iterations 4 --quiet");
  CHECK(r.code == 1);
  CHECK(has(r.out, d + "/s.csv: the static columns or their values differ from those the run started with"));
  write(d + "/s.csv", static_csv());
  r = run("train --resume " + d + "/inline --iterations 4 --quiet");
  CHECK_MESSAGE(r.code == 0, r.out);

  // evaluate --synthetic reads the static columns of a generated CSV: the same static section
  // as evaluate --model with the same sequences.
  r = run("generate --model " + d + "/run --n 12 --seed 1 --out " + d + "/g.csv --quiet");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  const std::string ev_opts = " --repeats 1 --metric-iterations 3 --tsne-iterations 5 --seed 1 --quiet";
  r = run("evaluate --real " + d + "/long.csv --static " + d + "/st.csv --id-column id --seq-len 0 --synthetic " + d +
          "/g.csv --out " + d + "/ev1" + ev_opts);
  REQUIRE_MESSAGE(r.code == 0, r.out);
  r = run("evaluate --model " + d + "/run --out " + d + "/ev2" + ev_opts);
  REQUIRE_MESSAGE(r.code == 0, r.out);
  const tg::io::Json m1 = tg::io::Json::parse(tg::io::read_file(d + "/ev1/metrics.json"), "metrics.json");
  const tg::io::Json m2 = tg::io::Json::parse(tg::io::read_file(d + "/ev2/metrics.json"), "metrics.json");
  REQUIRE(m1.contains("static"));
  // The file's values went through the CSV text (shortest round trip) and the static scaler:
  // equal up to rounding.
  auto same_static = [](const tg::io::Json& a, const tg::io::Json& b) {
    for (const char* c : {"level", "size"})
      for (const char* k : {"real_mean", "real_std", "synthetic_mean", "synthetic_std", "wasserstein"})
        CHECK(a.at(c).at(k).as_double() == doctest::Approx(b.at(c).at(k).as_double()).epsilon(1e-12));
    CHECK(a.at("level").at("synthetic_n").as_int64() == b.at("level").at("synthetic_n").as_int64());
  };
  same_static(m1.at("static"), m2.at("static"));
  CHECK(m1.at("static").at("level").at("real_mean").as_double() == doctest::Approx(20.0));
  CHECK(has(tg::io::read_file(d + "/ev1/report.html"), "Static columns"));
  // The same real data as one long CSV with --static-columns.
  r = run("evaluate --real " + d + "/s.csv --static-columns level,size --id-column id --seq-len 0 --synthetic " + d +
          "/g.csv --out " + d + "/ev3" + ev_opts);
  REQUIRE_MESSAGE(r.code == 0, r.out);
  same_static(tg::io::Json::parse(tg::io::read_file(d + "/ev3/metrics.json"), "m").at("static"), m2.at("static"));
  // A synthetic file without the static columns, or with a value changing within a sequence.
  write(d + "/nostatic.csv", "sequence_id,t,value\n0,0,0.1\n0,1,0.2\n1,0,0.3\n1,1,0.4\n");
  r = run("evaluate --real " + d + "/long.csv --static " + d + "/st.csv --id-column id --seq-len 0 --synthetic " + d +
          "/nostatic.csv --out " + d + "/ev4" + ev_opts);
  CHECK(r.code == 1);
  CHECK(has(r.out, "nostatic.csv: unknown static column 'level'"));
  CHECK(tgtest::count_lines(r.out) == 1);
  write(d + "/vary.csv", "sequence_id,t,value,level,size\n0,0,0.1,10,1\n0,1,0.2,11,1\n1,0,0.3,10,1\n1,1,0.4,10,1\n");
  r = run("evaluate --real " + d + "/long.csv --static " + d + "/st.csv --id-column id --seq-len 0 --synthetic " + d +
          "/vary.csv --out " + d + "/ev5" + ev_opts);
  CHECK(r.code == 1);
  CHECK(has(r.out, "vary.csv:3: static column 'level': value 11 differs from 10 earlier in sequence '0'"));
  // --static without --real: refused as the other data options.
  r = run("evaluate --model " + d + "/run --static " + d + "/st.csv --out " + d + "/ev6" + ev_opts);
  CHECK(r.code == 2);

  // Bad static files through the CLI: one line, exit 1, no run directory written.
  write(d + "/dup.csv", "id,level\ns0,1\ns0,2\n");
  r = run("train --data " + d + "/long.csv --static " + d + "/dup.csv " + kSmall + " --out " + d + "/bad");
  CHECK(r.code == 1);
  CHECK(has(r.out, d + "/dup.csv:3: column 'id': id 's0' occurs twice"));
  CHECK(tgtest::count_lines(r.out) == 1);
  CHECK(!tg::io::file_exists(d + "/bad/config.json"));
  r = run("train --data " + d + "/long.csv --static " + d + "/st.csv --iterations 1 --out " + d + "/bad");
  CHECK(r.code == 2);
  CHECK(has(r.out, "--static: needs long-format data (--id-column)"));
  r = run("train --data sine --static " + d + "/st.csv --iterations 1 --out " + d + "/bad");
  CHECK(r.code == 2);
  CHECK(!tg::io::file_exists(d + "/bad/config.json"));
}
