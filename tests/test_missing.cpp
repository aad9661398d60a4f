// Missing cells (`--missing mask`): reading empty / NaN / NA cells, scaling over the observed
// cells only (exact values, both presets), the masked reconstruction loss (hand-computed and
// finite-difference gradients), the model's observed-indicator channels, its configuration
// and checkpoints, and complete generated sequences.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>
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
const double kNaN = std::numeric_limits<double>::quiet_NaN();
using tgtest::t64;
io::CsvOptions keep_missing() {
  io::CsvOptions o;
  o.missing = true;
  return o;
}
}  // namespace

// ---- CSV ----------------------------------------------------------------------------------

TEST_CASE("csv: empty, NaN and NA cells are missing with the option, an error without it") {
  const std::string text = "a,b\n1,2\n,4\nNaN,na\n7,NA\n";
  const io::Table t = io::parse_csv(text, "m.csv", keep_missing());
  REQUIRE(t.rows == 4);
  CHECK(t.missing_cells == 4);
  CHECK(t.at(0, 0) == 1.0);
  CHECK(std::isnan(t.at(1, 0)));
  CHECK(t.at(1, 1) == 4.0);
  CHECK(std::isnan(t.at(2, 0)));
  CHECK(std::isnan(t.at(2, 1)));
  CHECK(std::isnan(t.at(3, 1)));
  CHECK(t.categories.empty());  // NA is not a label
  // Without the option: today's one-line errors naming file, line and column.
  CHECK(has(error_of<io::InputError>([&] { io::parse_csv(text, "m.csv"); }), "m.csv:3: column 'a': empty field"));
  CHECK(has(error_of<io::InputError>([] { io::parse_csv("a\n1\nnan\n", "n.csv"); }), "n.csv:3: column 'a': not a finite number"));
  // A categorical column still needs a label in every row; infinities are still refused.
  io::CsvOptions cat = keep_missing();
  cat.categorical = {"k"};
  CHECK(has(error_of<io::InputError>([&] { io::parse_csv("a,k\n1,x\n,\n", "c.csv", cat); }), "c.csv:3: column 'k': empty field"));
  CHECK(has(error_of<io::InputError>([] { io::parse_csv("a\n1\ninf\n", "i.csv", keep_missing()); }), "i.csv:3: column 'a'"));
}

// ---- scaling ---------------------------------------------------------------------------------

TEST_CASE("prepare: min-max over the observed cells only, missing cells stay NaN (default preset)") {
  const io::Table t = io::parse_csv("a,b\n1,10\n,20\n3,\n5,40\n", "s.csv", keep_missing());
  io::PrepOptions o;
  o.seq_len = 2;
  o.missing = true;
  Rng rng(1, 5);
  const io::Prepared p = io::prepare(t, o, rng);
  // a: observed 1, 3, 5 -> min 1, range 4; b: observed 10, 20, 40 -> min 10, range 30.
  CHECK(p.map.outer.min == std::vector<double>{1.0, 10.0});
  CHECK(p.map.outer.range == std::vector<double>{4.0, 30.0});
  const io::Windows& w = p.windows;
  REQUIRE(w.n == 3);
  CHECK(w.at(0, 0, 0) == 0.0);
  CHECK(std::isnan(w.at(0, 1, 0)));
  CHECK(w.at(0, 1, 1) == doctest::Approx(10.0 / 30.0));
  CHECK(w.at(1, 1, 0) == 0.5);
  CHECK(std::isnan(w.at(1, 1, 1)));
  CHECK(w.at(2, 1, 0) == 1.0);
  CHECK(w.at(2, 1, 1) == 1.0);
  // Without the option the NaN is refused, naming the column.
  io::PrepOptions strict = o;
  strict.missing = false;
  CHECK(has(error_of<io::InputError>([&] { io::prepare(t, strict, rng); }), "s.csv: column 'a': NaN or infinite value"));
  // A column with no observed value.
  const io::Table empty = io::parse_csv("a,b\n1,\n2,\n3,\n", "e.csv", keep_missing());
  CHECK(has(error_of<io::InputError>([&] { io::prepare(empty, o, rng); }), "e.csv: column 'b': every value is missing"));
}

TEST_CASE("prepare: the original preset's two scalers ignore missing cells") {
  // Column a, flipped: 8, NaN, 4, 2, 1: outer min 1, max 8 (range 7, eps 1e-7).
  const io::Table t = io::parse_csv("a,b\n1,1\n2,2\n4,3\n,4\n8,5\n", "o.csv", keep_missing());
  io::PrepOptions o;
  o.preset = "original";
  o.seq_len = 2;
  o.missing = true;
  Rng rng(1, 5);
  const io::Prepared p = io::prepare(t, o, rng);
  CHECK(p.map.outer.min == std::vector<double>{1.0, 1.0});
  CHECK(p.map.outer.range == std::vector<double>{7.0, 4.0});
  // Windows over flipped rows 0..3 = 8, NaN, 4, 2: observed reference values (x-1)/(7+1e-7).
  const double s8 = 7.0 / (7.0 + 1e-7), s2 = 1.0 / (7.0 + 1e-7);
  CHECK(p.map.inner.min[0] == doctest::Approx(s2).epsilon(1e-15));
  CHECK(p.map.inner.range[0] == doctest::Approx(s8 - s2).epsilon(1e-15));
  int64_t nan_cells = 0;
  for (double v : p.windows.data) nan_cells += std::isnan(v) ? 1 : 0;
  CHECK(nan_cells == 2);  // flipped row 1 lies in windows 0 and 1
}

TEST_CASE("prepare_npy: NaN cells are missing with the option") {
  io::NpyArray a;
  a.shape = {2, 2, 1};
  a.data = {0.0, kNaN, 2.0, 4.0};
  io::PrepOptions o;
  o.missing = true;
  const io::Prepared p = io::prepare_npy(a, o, "x.npy");
  CHECK(p.map.outer.min[0] == 0.0);
  CHECK(p.map.outer.range[0] == 4.0);
  CHECK(std::isnan(p.windows.data[1]));
  CHECK(p.windows.data[2] == 0.5);
  o.missing = false;
  CHECK(has(error_of<io::InputError>([&] { io::prepare_npy(a, o, "x.npy"); }), "x.npy: column 'feature_1': NaN"));
}

// ---- the masked loss ------------------------------------------------------------------------

TEST_CASE("observed_mse: the mean over observed cells only, hand-computed") {
  Var a = t64(Shape{1, 2, 2}, {1, 2, 3, 4});
  Var b = t64(Shape{1, 2, 2}, {0, 0, 0, 0});
  // Observed: (0,0) and (1,0): (1 + 9) / 2.
  CHECK(observed_mse(a, b, t64(Shape{1, 2, 2}, {1, 0, 1, 0})).value().item() == doctest::Approx(5.0));
  // Everything observed: the plain MSE (1 + 4 + 9 + 16) / 4.
  CHECK(observed_mse(a, b, t64(Shape{1, 2, 2}, {1, 1, 1, 1})).value().item() == doctest::Approx(7.5));
  // Nothing observed: 0, not NaN.
  CHECK(observed_mse(a, b, t64(Shape{1, 2, 2}, {0, 0, 0, 0})).value().item() == 0.0);
  // With categorical blocks: the numeric part counts observed cells; 1 numeric + block of 2.
  Var x = t64(Shape{1, 2, 3}, {1, 0, 1, 0.8, 1, 0});
  const double l3 = std::log(3.0), l4 = std::log(4.0);
  Var logits = t64(Shape{1, 2, 3}, {0, 0, l3, l4, 2, 2});
  Var out = mixed_activation(logits, 1, {2});
  Var obs = t64(Shape{1, 2, 3}, {0, 1, 1, 1, 1, 1});  // the numeric cell at step 0 is missing
  const double ce = (std::log(4.0 / 3.0) + std::log(2.0)) / 2;
  // numeric: only step 1, (0.8 - 0.8)^2 = 0.
  CHECK(mixed_reconstruction_loss(x, out, logits, 1, {2}, Var(), obs).value().item() == doctest::Approx((0.0 + ce) / 2));
}

TEST_CASE("moment_loss: an observed-cell mask gives moments over the observed entries") {
  // x: B=2, T=1, F=1: values 0.2 and (missing, stored 0); x_hat: 0.2 and 0.2.
  Var x = t64(Shape{2, 1, 1}, {0.2, 0.0});
  Var xh = t64(Shape{2, 1, 1}, {0.2, 0.2});
  Var obs = t64(Shape{2, 1, 1}, {1, 0});
  // Real moments over the one observed entry: mean 0.2, var 0: equal to x_hat's.
  CHECK(moment_loss(x, xh, obs, Var()).value().item() == doctest::Approx(0.0).epsilon(1e-9));
  // Unmasked, the missing 0 would count: mean 0.1.
  CHECK(moment_loss(x, xh, Var(), Var()).value().item() > 0.1);
}

TEST_CASE("moment_loss: finite in float32 where few entries are valid (the variance cannot go negative)") {
  // 60 sequences of 12..20 steps, 5 % of the cells missing, and features that take one value
  // per step across the whole batch (a constant column; true variance 0): E[x^2] - E[x]^2 over
  // ~60 equal floats cancelled to -1.07e-6 in float32, and sqrt(var + 1e-6) was NaN at the first
  // joint iteration of such a run. The two-pass variance is a mean of squares.
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  int finite = 0;
  for (int trial = 0; trial < 20; ++trial) {
    const int64_t B = 60, T = 20, F = 2;
    std::vector<double> x(B * T * F), obs(B * T * F), xh(B * T * F), len_mask(B * T);
    for (int64_t b = 0; b < B; ++b) {
      const int64_t len = 12 + static_cast<int64_t>(u(rng) * 9);
      for (int64_t t = 0; t < T; ++t) {
        len_mask[b * T + t] = t < len ? 1.0 : 0.0;
        for (int64_t k = 0; k < F; ++k) {
          const size_t i = static_cast<size_t>((b * T + t) * F + k);
          const bool seen = t < len && u(rng) >= 0.05;
          x[i] = seen ? 0.5 + 0.45 * std::cos(0.2 * static_cast<double>(t) + 1.7 * static_cast<double>(k + trial)) : 0.0;
          obs[i] = seen ? 1.0 : 0.0;
          xh[i] = 0.3 + 0.4 * u(rng);
        }
      }
    }
    auto f32 = [](const Shape& s, const std::vector<double>& v) { return Var(Tensor::from_vector(s, v, DType::F32)); };
    const double loss = moment_loss(f32(Shape{B, T, F}, x), f32(Shape{B, T, F}, xh), f32(Shape{B, T, F}, obs),
                                    f32(Shape{B, T, 1}, len_mask))
                            .value()
                            .item();
    finite += std::isfinite(loss) ? 1 : 0;
  }
  CHECK(finite == 20);
}

TEST_CASE("finite-difference gradients through the observed-cell mask") {
  Var target = t64(Shape{2, 3, 2}, {0.1, 0.9, 0.4, 0.0, 0.7, 0.3, 0.0, 0.5, 0.2, 0.8, 0.6, 0.0});
  Var obs = t64(Shape{2, 3, 2}, {1, 1, 1, 0, 1, 1, 0, 1, 1, 1, 1, 0});
  Var y(tgtest::rand_tensor(Shape{2, 3, 2}, 5, -2.0, 2.0), true);
  double err = tgtest::gradcheck([&](const std::vector<Var>& in) { return observed_mse(target, sigmoid(in[0]), obs); }, {y});
  CHECK(err < 1e-6);
  // The gradient at a missing cell is exactly 0.
  Var y2(tgtest::rand_tensor(Shape{2, 3, 2}, 5, -2.0, 2.0), true);
  backward(observed_mse(target, sigmoid(y2), obs));
  const std::vector<double> g = y2.grad().to_vector();
  CHECK(g[3] == 0.0);
  CHECK(g[6] == 0.0);
  CHECK(g[11] == 0.0);
  CHECK(g[0] != 0.0);
  // The moment loss with an observed mask.
  Var xr = t64(Shape{2, 3, 2}, {0.1, 0.9, 0.4, 0.0, 0.7, 0.3, 0.5, 0.5, 0.2, 0.8, 0.6, 0.0});
  Var obs2 = t64(Shape{2, 3, 2}, {1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 0});
  err = tgtest::gradcheck([&](const std::vector<Var>& in) { return moment_loss(xr, sigmoid(in[0]), obs2, Var()); }, {y});
  CHECK(err < 1e-6);
}

// ---- the model -------------------------------------------------------------------------------

namespace {
TimeGanConfig missing_config(int64_t iters) {
  TimeGanConfig c = tgtest::small_config({2, 5, 6, 8}, iters, 4);
  c.missing_mask = true;
  return c;
}
// Sine-like windows with every fifth cell missing.
io::Windows holey(int64_t n) {
  io::Windows w;
  w.n = n;
  w.seq = 5;
  w.dim = 2;
  w.lengths.assign(static_cast<size_t>(n), 5);
  for (int64_t i = 0; i < n * 10; ++i)
    w.data.push_back(i % 5 == 3 ? kNaN : 0.5 + 0.4 * std::sin(0.3 * static_cast<double>(i)));
  return w;
}
}  // namespace

TEST_CASE("model with missing cells: indicator channels, finite training, complete output") {
  const TimeGanConfig c = missing_config(3);
  CHECK(c.embedder_inputs() == 4);
  TimeGan m(c);
  CHECK(m.embedder().input() == 4);
  CHECK(m.recovery().output() == 2);
  m.set_data(holey(12));
  while (!m.done()) {
    const StepLosses l = m.step();
    CHECK(l.first_nonfinite().empty());
  }
  CHECK(m.first_nonfinite_tensor().empty());
  const io::Windows g = m.generate(6, 1);
  CHECK(g.dim == 2);
  for (double v : g.data) CHECK(std::isfinite(v));
  // The same data without the option: refused.
  TimeGanConfig plain = c;
  plain.missing_mask = false;
  TimeGan p(plain);
  CHECK(p.embedder().input() == 2);
  CHECK(has(error_of<std::invalid_argument>([&] { p.set_data(holey(4)); }), "missing (NaN) cells"));
}

TEST_CASE("missing config: JSON round trip, absent by default, checkpoint mismatch") {
  const TimeGanConfig c = missing_config(2);
  const io::Json j = c.to_json();
  CHECK(j.at("missing").as_string() == "mask");
  CHECK(TimeGanConfig::from_json(j).missing_mask);
  CHECK(!TimeGanConfig().to_json().contains("missing"));
  io::Json bad = j;
  bad["missing"] = "impute";
  CHECK(has(error_of<std::invalid_argument>([&] { TimeGanConfig::from_json(bad); }), "missing must be one of error, mask"));
  TimeGan m(c);
  m.set_data(holey(8));
  m.step();
  TimeGanConfig other = c;
  other.missing_mask = false;
  TimeGan plain(other);
  CHECK(has(error_of<io::InputError>([&] { plain.load_checkpoint(m.to_checkpoint()); }), "missing mask (checkpoint) vs error (requested)"));
  TimeGan again(c);
  again.load_checkpoint(io::parse_checkpoint(io::checkpoint_bytes(m.to_checkpoint()), "m.ckpt"));
  CHECK(again.generate(4, 1).data == m.generate(4, 1).data);
}

TEST_CASE("learning: missing cells do not pull the generated level towards the 0 they are fed as") {
  // One feature at about 0.8, 40% of the cells missing (fed as 0 with indicator 0). The mask
  // keeps the zeros out of every loss, so the generated level stays near 0.8; counted as
  // observed, the zeros would put the real mean near 0.48.
  Rng rng(11, 1);
  io::Windows w;
  w.n = 64;
  w.seq = 6;
  w.dim = 1;
  w.lengths.assign(64, 6);
  for (int64_t i = 0; i < 64 * 6; ++i)
    w.data.push_back(rng.next_double() < 0.4 ? kNaN : 0.8 + 0.05 * (rng.next_double() - 0.5));
  TimeGanConfig c = tgtest::small_config({1, 6, 8, 32}, 300, 5);
  c.missing_mask = true;
  TimeGan m(c);
  m.set_data(w);
  while (!m.done()) REQUIRE(m.step().first_nonfinite().empty());
  const io::Windows g = m.generate(200, 3);
  double mean = 0;
  for (double v : g.data) mean += v;
  mean /= static_cast<double>(g.data.size());
  MESSAGE("generated mean " << mean);
  CHECK(mean > 0.7);
  CHECK(mean < 0.9);
  // The same cells filled with 0 and counted as observed (what silent zero-imputation would do).
  io::Windows zeros = w;
  for (double& v : zeros.data) v = std::isnan(v) ? 0.0 : v;
  c.missing_mask = false;
  TimeGan z(c);
  z.set_data(zeros);
  while (!z.done()) REQUIRE(z.step().first_nonfinite().empty());
  const io::Windows gz = z.generate(200, 3);
  double mz = 0;
  for (double v : gz.data) mz += v;
  mz /= static_cast<double>(gz.data.size());
  MESSAGE("generated mean with zeros counted " << mz);
  CHECK(mz < 0.65);
}
