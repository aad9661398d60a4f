// Categorical columns: reading labels from a CSV, one-hot blocks through the presets and back to
// labels, the recovery network's softmax heads and the cross-entropy reconstruction term (exact
// values on hand-built tensors, finite-difference gradients), checkpoints, and a small data set
// on which the label decides a numeric series' level.
#include <doctest/doctest.h>

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "gradcheck.h"
#include "small_model.h"
#include "test_util.h"
#include "tg/engine.h"
#include "tg/io/checkpoint.h"
#include "tg/io/csv.h"
#include "tg/io/dataset.h"
#include "tg/io/error.h"
#include "tg/models/losses.h"
#include "tg/models/timegan.h"

using namespace tg;
using namespace tg::models;
using tgtest::error_of;
using tgtest::has;

namespace {
using tgtest::t64;
}  // namespace

// ---- CSV ----------------------------------------------------------------------------------

TEST_CASE("csv: a text column is read as categorical, labels numbered in sorted order") {
  const io::Table t = io::parse_csv("x,kind,y\n1,b,2\n3,a,4\n5,b,6\n7,c,8\n", "k.csv");
  REQUIRE(t.cols() == 3);
  CHECK(t.auto_categorical == std::vector<std::string>{"kind"});
  CHECK(!t.is_categorical(0));
  CHECK(t.is_categorical(1));
  CHECK(t.categories[1] == std::vector<std::string>{"a", "b", "c"});
  CHECK(t.at(0, 1) == 1.0);  // b
  CHECK(t.at(1, 1) == 0.0);  // a
  CHECK(t.at(3, 1) == 2.0);  // c
  CHECK(t.at(3, 2) == 8.0);
  // Without categorical columns nothing changes: no categories at all.
  CHECK(io::parse_csv("x,y\n1,2\n3,4\n", "n.csv").categories.empty());
  // A numeric column after its first row still refuses text (not a category).
  CHECK(has(error_of<io::InputError>([] { io::parse_csv("x,y\n1,2\n3,oops\n", "bad.csv"); }),
            "bad.csv:3: column 'y': not a number: \"oops\""));
  // Auto-detection off: a text column is an error as before.
  io::CsvOptions off;
  off.auto_categorical = false;
  CHECK(has(error_of<io::InputError>([&] { io::parse_csv("x,k\n1,a\n", "off.csv", off); }), "off.csv:2: column 'k': not a number"));
}

TEST_CASE("csv: categorical by name, including numbers as labels") {
  io::CsvOptions o;
  o.categorical = {"code"};
  const io::Table t = io::parse_csv("v,code\n0.5,10\n0.7,2\n0.1,10\n", "c.csv", o);
  REQUIRE(t.is_categorical(1));
  CHECK(t.categories[1] == std::vector<std::string>{"10", "2"});  // sorted as text
  CHECK(t.at(0, 1) == 0.0);
  CHECK(t.at(1, 1) == 1.0);
  CHECK(t.auto_categorical.empty());
}

TEST_CASE("csv: bad categorical input gives one-line errors naming file, line and column") {
  io::CsvOptions unknown;
  unknown.categorical = {"nope"};
  CHECK(has(error_of<io::InputError>([&] { io::parse_csv("a,b\n1,x\n", "u.csv", unknown); }),
            "u.csv: unknown categorical column 'nope' (available: a, b)"));
  io::CsvOptions two;
  two.max_categories = 2;
  CHECK(has(error_of<io::InputError>([&] { io::parse_csv("a,b\n1,x\n2,y\n3,x\n4,z\n", "m.csv", two); }),
            "m.csv:5: column 'b': more than 2 categories (label \"z\"; the limit is --max-categories)"));
  CHECK(has(error_of<io::InputError>([] { io::parse_csv("a,b\n1,x\n2,\n", "e.csv"); }), "e.csv:3: column 'b': empty field"));
  io::CsvOptions sel;
  sel.columns = {"a"};
  sel.categorical = {"b"};
  CHECK(has(error_of<io::InputError>([&] { io::parse_csv("a,b\n1,x\n", "s.csv", sel); }),
            "s.csv: categorical column 'b' is not among the selected columns"));
}

// ---- presets and the output map --------------------------------------------------------------

namespace {
// 6 rows: x = 0..5 (numeric), k = a,b,a,c,b,a.
io::Table small_table() { return io::parse_csv("x,k\n0,a\n1,b\n2,a\n3,c\n4,b\n5,a\n", "t.csv"); }
}  // namespace

TEST_CASE("prepare: one-hot blocks after the numeric features, not scaled, in both presets") {
  for (const char* preset : {"default", "original"}) {
    CAPTURE(preset);
    io::PrepOptions o;
    o.preset = preset;
    o.seq_len = 3;
    Rng rng(1, 5);
    const io::Table t = small_table();
    const io::Prepared p = io::prepare(t, o, rng);
    const io::Windows& w = p.windows;
    REQUIRE(w.dim == 4);
    CHECK(p.map.numeric() == 1);
    CHECK(p.map.block_sizes() == std::vector<int64_t>{3});
    CHECK(w.columns == std::vector<std::string>{"x", "k=a", "k=b", "k=c"});
    for (int64_t i = 0; i < w.n; ++i)
      for (int64_t s = 0; s < w.seq; ++s) {
        const int64_t row = p.first_row[static_cast<size_t>(i)] + s * p.row_step;
        const int64_t code = static_cast<int64_t>(t.at(row, 1));
        for (int64_t j = 0; j < 3; ++j) CHECK(w.at(i, s, 1 + j) == (j == code ? 1.0 : 0.0));
        const double raw = t.at(row, 0);
        // Back to the data's units: the numeric value and the label index.
        io::Windows one;
        one.n = 1;
        one.seq = w.seq;
        one.dim = w.dim;
        one.data.assign(w.data.begin() + i * w.seq * w.dim, w.data.begin() + (i + 1) * w.seq * w.dim);
        p.map.model_to_original(one);
        REQUIRE(one.dim == 2);
        CHECK(one.at(0, s, 0) == doctest::Approx(raw).epsilon(1e-6));  // the original preset: 1e-7 terms
        CHECK(one.at(0, s, 1) == static_cast<double>(code));
        CHECK(one.categories[1] == std::vector<std::string>{"a", "b", "c"});
      }
    if (std::string(preset) == "original") {  // the reference windows hold the same blocks
      REQUIRE(p.reference.dim == 4);
      for (int64_t i = 0; i < w.n; ++i)
        for (int64_t s = 0; s < w.seq; ++s)
          for (int64_t j = 1; j < 4; ++j) CHECK(p.reference.at(i, s, j) == w.at(i, s, j));
    }
    // The map round-trips through JSON with its vocabularies.
    const io::OutputMap back = io::OutputMap::from_json(io::Json::parse(p.map.to_json().dump(), "map"));
    REQUIRE(back.categorical.size() == 1);
    CHECK(back.categorical[0].name == "k");
    CHECK(back.categorical[0].labels == std::vector<std::string>{"a", "b", "c"});
  }
}

TEST_CASE("model outputs to labels: argmax per block, written as labels") {
  io::OutputMap m;
  m.preset = "default";
  m.columns = {"x"};
  m.has_outer = true;
  m.outer.min = {10};
  m.outer.range = {2};
  m.categorical = {{"k", {"lo", "hi"}}};
  io::Windows w;
  w.n = 1;
  w.seq = 2;
  w.dim = 3;
  w.data = {0.5, 0.3, 0.7, 1.0, 0.6, 0.4};
  m.model_to_original(w);
  REQUIRE(w.dim == 2);
  CHECK(w.data == std::vector<double>{11, 1, 12, 0});
  CHECK(io::windows_csv_text(w) == "sequence_id,t,x,k\n0,0,11,hi\n0,1,12,lo\n");
  // And back: labels to one-hot, numeric scaled.
  m.original_to_reference(w);
  REQUIRE(w.dim == 3);
  CHECK(w.data == std::vector<double>{0.5, 0, 1, 1, 1, 0});
}

TEST_CASE("model outputs to labels keep each sequence's static values and condition") {
  // A run with categorical, static and condition columns: the label conversion rebuilds the
  // temporal columns; the per-sequence values must come through it (they were once dropped, so
  // generate wrote no static columns for such runs).
  io::OutputMap m;
  m.preset = "default";
  m.columns = {"x"};
  m.categorical = {{"k", {"lo", "hi"}}};
  m.static_columns = {"size"};
  m.statics.min = {100};
  m.statics.range = {10};
  io::Windows w;
  w.n = 2;
  w.seq = 1;
  w.dim = 3;
  w.data = {0.5, 0.3, 0.7, 0.25, 0.9, 0.1};
  w.static_dim = 1;
  w.statics = {0.5, 0.2};
  w.cond_dim = 1;
  w.conditions = {0.0, 1.0};
  w.condition_column = "ward";
  w.condition_text = {"a", "b"};
  m.model_to_original(w);
  REQUIRE(w.dim == 2);
  CHECK(w.static_dim == 1);
  CHECK(w.statics == std::vector<double>{105, 102});
  CHECK(w.static_columns == std::vector<std::string>{"size"});
  CHECK(w.conditions == std::vector<double>{0.0, 1.0});
  CHECK(io::windows_csv_text(w) == "sequence_id,t,x,k,size,ward\n0,0,0.5,hi,105,a\n1,0,0.25,lo,102,b\n");
  m.original_to_reference(w);
  REQUIRE(w.dim == 3);
  CHECK(w.statics == std::vector<double>{105, 102});
  CHECK(w.cond_dim == 1);
  CHECK(w.conditions == std::vector<double>{0.0, 1.0});
  CHECK(w.condition_text == std::vector<std::string>{"a", "b"});
}

TEST_CASE("model outputs in the data's column order when a categorical column precedes a numeric one") {
  io::OutputMap m;
  m.preset = "default";
  m.columns = {"x", "y"};
  m.categorical = {{"k", {"lo", "hi"}}};
  m.order = {"x", "k", "y"};
  CHECK(m.data_positions() == std::vector<int64_t>{0, 2, 1});
  io::Windows w;  // model order: x, y, k=lo, k=hi
  w.n = 1;
  w.seq = 2;
  w.dim = 4;
  w.data = {0.1, 0.2, 0.3, 0.7, 0.4, 0.5, 0.9, 0.1};
  m.model_to_original(w);
  REQUIRE(w.dim == 3);
  CHECK(w.columns == std::vector<std::string>{"x", "k", "y"});
  CHECK(w.data == std::vector<double>{0.1, 1, 0.2, 0.4, 0, 0.5});
  CHECK(io::windows_csv_text(w) == "sequence_id,t,x,k,y\n0,0,0.1,hi,0.2\n0,1,0.4,lo,0.5\n");
  m.original_to_reference(w);  // back to the model's order, labels one-hot
  REQUIRE(w.dim == 4);
  CHECK(w.data == std::vector<double>{0.1, 0.2, 0, 1, 0.4, 0.5, 1, 0});
  // config.json: "column_order" only when needed; a list that is not the columns is refused.
  const io::OutputMap back = io::OutputMap::from_json(m.to_json());
  CHECK(back.order == m.order);
  io::OutputMap plain = m;
  plain.order.clear();
  CHECK(!plain.to_json().contains("column_order"));
  io::Json bad = m.to_json();
  bad["column_order"] = io::Json::array();
  bad["column_order"].push_back("x");
  bad["column_order"].push_back("x");
  bad["column_order"].push_back("k");
  CHECK(has(error_of<io::InputError>([&] { io::OutputMap::from_json(bad); }), "column_order"));
  // prepare: the order is recorded for a table whose categorical column comes first; not otherwise.
  io::CsvOptions co;
  tg::Rng rng(0, 5);
  const io::Prepared p = io::prepare(io::parse_csv("k,x\na,1\nb,2\na,3\n", "o.csv", co), io::PrepOptions{"default", 2, 1, false, false}, rng);
  CHECK(p.map.order == std::vector<std::string>{"k", "x"});
  tg::Rng rng2(0, 5);
  CHECK(io::prepare(io::parse_csv("x,k\n1,a\n2,b\n3,a\n", "o.csv", co), io::PrepOptions{"default", 2, 1, false, false}, rng2)
            .map.order.empty());
}

TEST_CASE("model outputs to labels: drawn from each block's probabilities with a given stream") {
  io::OutputMap m;
  m.preset = "default";
  m.columns = {"x"};
  m.categorical = {{"k", {"a", "b", "c"}}, {"j", {"lo", "hi"}}};
  // 400 sequences of 3 steps: block k (0.2, 0.5, 0.3), block j (0, 1) (always "hi").
  io::Windows w;
  w.n = 400;
  w.seq = 3;
  w.dim = 1 + 3 + 2;
  for (int64_t i = 0; i < w.n * w.seq; ++i)
    for (double v : {0.5, 0.2, 0.5, 0.3, 0.0, 1.0}) w.data.push_back(v);
  io::Windows argmax = w;
  m.model_to_original(argmax);
  io::Windows drawn = w;
  Rng rng(9, 7);
  m.model_to_original(drawn, &rng);
  REQUIRE(drawn.dim == 3);
  // Exactly the draws of the stream: one u per sequence, step and column, in that order.
  Rng replay(9, 7);
  int64_t counts[3] = {0, 0, 0};
  for (int64_t i = 0; i < w.n; ++i)
    for (int64_t t = 0; t < w.seq; ++t) {
      const double u = replay.next_double();
      const double expect = u < 0.2 ? 0 : u < 0.7 ? 1 : 2;
      CHECK(drawn.at(i, t, 1) == expect);
      ++counts[static_cast<int>(expect)];
      replay.next_double();  // column j's draw
      CHECK(drawn.at(i, t, 2) == 1.0);
      CHECK(argmax.at(i, t, 1) == 1.0);  // argmax: always the most probable
    }
  // 1,200 draws: each label's share within 4 standard deviations of its probability.
  const double p[3] = {0.2, 0.5, 0.3};
  for (int k = 0; k < 3; ++k)
    CHECK(std::abs(static_cast<double>(counts[k]) / 1200.0 - p[k]) < 4.0 * std::sqrt(p[k] * (1 - p[k]) / 1200.0));
  CHECK(counts[0] > 0);
  CHECK(counts[2] > 0);
  // A block without positive mass falls back to argmax (and still takes its draw).
  io::Windows zero;
  zero.n = 1;
  zero.seq = 1;
  zero.dim = 6;
  zero.data = {0.5, 0.0, 0.0, 0.0, 0.0, 1.0};
  Rng r2(1, 7);
  m.model_to_original(zero, &r2);
  CHECK(zero.at(0, 0, 1) == 0.0);
  CHECK(r2.counter() == 2);
}

// ---- head and loss ---------------------------------------------------------------------------

TEST_CASE("mixed head and reconstruction loss on hand-built tensors") {
  // One numeric feature and one block of 2, two positions.
  // logits: position 0 = [0, 0, ln 3], position 1 = [ln 4 (sigmoid 0.8), 2, 2].
  const double l3 = std::log(3.0), l4 = std::log(4.0);
  Var logits = t64(Shape{1, 2, 3}, {0, 0, l3, l4, 2, 2});
  Var out = mixed_activation(logits, 1, {2});
  const std::vector<double> o = out.value().to_vector();
  CHECK(o[0] == doctest::Approx(0.5));
  CHECK(o[1] == doctest::Approx(0.25));  // softmax(0, ln 3) = (1/4, 3/4)
  CHECK(o[2] == doctest::Approx(0.75));
  CHECK(o[3] == doctest::Approx(0.8));
  CHECK(o[4] == doctest::Approx(0.5));
  CHECK(o[5] == doctest::Approx(0.5));
  // x: numeric 1 then 0.8; labels: second at 0, first at 1.
  Var x = t64(Shape{1, 2, 3}, {1, 0, 1, 0.8, 1, 0});
  // MSE over the numeric feature: ((1 - 0.5)^2 + 0) / 2 = 0.125.
  // CE: -ln(3/4) and -ln(1/2), mean (ln(4/3) + ln 2) / 2. Total: (1 * 0.125 + CE) / 2 columns.
  const double ce = (std::log(4.0 / 3.0) + std::log(2.0)) / 2;
  CHECK(mixed_reconstruction_loss(x, out, logits, 1, {2}, Var()).value().item() == doctest::Approx((0.125 + ce) / 2));
  // Masked: only position 0 valid.
  Var mask = t64(Shape{1, 2, 1}, {1, 0});
  CHECK(mixed_reconstruction_loss(x, out, logits, 1, {2}, mask).value().item() ==
        doctest::Approx((0.25 + std::log(4.0 / 3.0)) / 2));
  // Large logits stay finite (the maximum is subtracted before exp).
  Var big = t64(Shape{1, 1, 3}, {0, 1000, 0});
  Var xb = t64(Shape{1, 1, 3}, {0.5, 0, 1});
  const double v = mixed_reconstruction_loss(xb, mixed_activation(big, 1, {2}), big, 1, {2}, Var()).value().item();
  CHECK(v == doctest::Approx((0 + 1000.0) / 2));
}

TEST_CASE("finite-difference gradients of the softmax head and the mixed loss") {
  Var x = t64(Shape{2, 3, 6}, {1, 0, 0, 0, 1, 0,  0.3, 0, 1, 0, 0, 1,  0.5, 1, 0, 0, 1, 0,
                               0.2, 0, 0, 1, 0, 1,  0.9, 0, 1, 0, 1, 0,  0.1, 1, 0, 0, 0, 1});
  Var logits(tgtest::rand_tensor(Shape{2, 3, 6}, 3, -2.0, 2.0), true);
  Var mask = t64(Shape{2, 3, 1}, {1, 1, 1, 1, 1, 0});
  // Layout: 1 numeric, a block of 3, a block of 2.
  const std::vector<int64_t> blocks{3, 2};
  double err = tgtest::gradcheck(
      [&](const std::vector<Var>& in) {
        return mixed_reconstruction_loss(x, mixed_activation(in[0], 1, blocks), in[0], 1, blocks, mask);
      },
      {logits});
  CHECK(err < 1e-6);
  err = tgtest::gradcheck([&](const std::vector<Var>& in) { return tgtest::weighted_sum(mixed_activation(in[0], 1, blocks)); },
                          {logits});
  CHECK(err < 1e-6);
}

// ---- the model -------------------------------------------------------------------------------

namespace {
TimeGanConfig cat_config(int64_t iters) {
  TimeGanConfig c = tgtest::small_config({3, 6, 8, 32}, iters, 3);
  c.categorical = {2};  // 1 numeric feature + a block of 2
  return c;
}

// Windows whose label (constant per window) sets the numeric level: A -> about 0.2, B -> 0.8.
io::Windows level_data(int64_t n) {
  Rng rng(9, 1);
  io::Windows w;
  w.n = n;
  w.seq = 6;
  w.dim = 3;
  w.data.assign(static_cast<size_t>(n * 6 * 3), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    const bool b = i % 2 == 1;
    for (int64_t t = 0; t < 6; ++t) {
      w.at(i, t, 0) = (b ? 0.8 : 0.2) + 0.05 * (rng.next_double() - 0.5);
      w.at(i, t, b ? 2 : 1) = 1.0;
    }
  }
  return w;
}
}  // namespace

TEST_CASE("categorical config: JSON round trip, validation, checkpoint mismatch") {
  const TimeGanConfig c = cat_config(2);
  const TimeGanConfig back = TimeGanConfig::from_json(c.to_json());
  CHECK(back.categorical == std::vector<int64_t>{2});
  CHECK(back.numeric_features() == 1);
  CHECK(!TimeGanConfig().to_json().contains("categorical"));  // absent without categorical columns
  TimeGanConfig bad = c;
  bad.categorical = {3};
  CHECK(has(error_of<std::invalid_argument>([&] { bad.validate(); }), "leave no numeric feature"));
  TimeGan m(c);
  m.set_data(level_data(8));
  m.step();
  TimeGanConfig other = c;
  other.categorical.clear();
  TimeGan plain(other);
  CHECK(has(error_of<io::InputError>([&] { plain.load_checkpoint(m.to_checkpoint()); }), "categorical blocks [2] (checkpoint) vs [] (requested)"));
  // Same configuration: loads, and generates the same probabilities.
  TimeGan again(c);
  again.load_checkpoint(io::parse_checkpoint(io::checkpoint_bytes(m.to_checkpoint()), "m.ckpt"));
  CHECK(again.generate(4, 1).data == m.generate(4, 1).data);
}

TEST_CASE("the recovery's blocks are probability distributions") {
  TimeGan m(cat_config(1));
  const io::Windows g = m.generate(5, 2);
  for (int64_t i = 0; i < g.n; ++i)
    for (int64_t t = 0; t < g.seq; ++t) {
      CHECK(g.at(i, t, 0) > 0.0);
      CHECK(g.at(i, t, 0) < 1.0);
      CHECK(g.at(i, t, 1) + g.at(i, t, 2) == doctest::Approx(1.0).epsilon(1e-6));
    }
}

TEST_CASE("learning: generated windows labelled B sit at B's level") {
  TimeGanConfig c = cat_config(800);
  TimeGan m(c);
  m.set_data(level_data(128));
  while (!m.done()) {
    const StepLosses l = m.step();
    REQUIRE(l.first_nonfinite().empty());
  }
  const io::Windows g = m.generate(200, 5);
  double sum[2] = {0, 0}, cnt[2] = {0, 0};
  for (int64_t i = 0; i < g.n; ++i)
    for (int64_t t = 0; t < g.seq; ++t) {
      const int label = g.at(i, t, 2) > g.at(i, t, 1) ? 1 : 0;
      sum[label] += g.at(i, t, 0);
      cnt[label] += 1;
    }
  REQUIRE(cnt[0] > 50);
  REQUIRE(cnt[1] > 50);
  const double a = sum[0] / cnt[0], b = sum[1] / cnt[1];
  MESSAGE("mean level with label A " << a << ", with label B " << b);
  CHECK(a < 0.4);
  CHECK(b > 0.6);
}
