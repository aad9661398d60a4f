// Static features (docs/static-features.md): the static code appended to every step (exact
// values and finite-difference gradients), the static dense maps, the static reconstruction
// term and the static adversarial, moment and discriminator terms (hand-computed), configuration and checkpoints, generated static values, and a learning
// test (a static attribute that sets a sequence's level).
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "gradcheck.h"
#include "small_model.h"
#include "test_util.h"
#include "tg/engine.h"
#include "tg/io/checkpoint.h"
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
TimeGanConfig static_config(int64_t iters, DType dt = DType::F32) {
  TimeGanConfig c = tgtest::small_config({2, 4, 5, 6}, iters, 3, dt);
  c.static_features = 2;
  return c;
}
// n windows [n, 4, 2] and two static values each, all in [0, 1].
io::Windows with_statics(int64_t n) {
  io::Windows w;
  w.n = n;
  w.seq = 4;
  w.dim = 2;
  w.static_dim = 2;
  for (int64_t i = 0; i < n; ++i) {
    const double a = static_cast<double>(i % 3) / 2.0, b = static_cast<double>(i % 2);
    w.statics.push_back(a);
    w.statics.push_back(b);
    for (int64_t t = 0; t < 4; ++t) {
      w.data.push_back(0.2 + 0.6 * a + 0.1 * std::sin(static_cast<double>(t + i)));
      w.data.push_back(0.5 + 0.3 * std::cos(static_cast<double>(t * i)));
    }
  }
  return w;
}
double sig(double v) { return 1.0 / (1.0 + std::exp(-v)); }
}  // namespace

TEST_CASE("append_code: [x_t, c] at every step, exact values") {
  Var x = t64(Shape{2, 3, 1}, {1, 2, 3, 4, 5, 6});
  Var c = t64(Shape{2, 2}, {0.5, -1, 7, 8});
  Var y = append_code(x, c);
  CHECK(y.shape() == Shape{2, 3, 3});
  CHECK(y.value().to_vector() ==
        std::vector<double>{1, 0.5, -1, 2, 0.5, -1, 3, 0.5, -1, 4, 7, 8, 5, 7, 8, 6, 7, 8});
}

TEST_CASE("finite-difference gradients: append_code, the static maps and the embedder path") {
  Var x(tgtest::rand_tensor(Shape{2, 3, 2}, 1), true);
  Var c(tgtest::rand_tensor(Shape{2, 4}, 2), true);
  double err = tgtest::gradcheck(
      [](const std::vector<Var>& in) { return tgtest::weighted_sum(append_code(in[0], in[1])); }, {x, c});
  CHECK(err < 1e-6);
  // h = e_X([x_t, e_S(s)]) and s~ = r_S(e_S(s)) in float64: gradients to the data and the static values.
  TimeGan m(static_config(1, DType::F64));
  Var s(tgtest::rand_tensor(Shape{2, 2}, 3, 0.0, 1.0), true);
  Var xx(tgtest::rand_tensor(Shape{2, 4, 2}, 4, 0.0, 1.0), true);
  err = tgtest::gradcheck(
      [&](const std::vector<Var>& in) {
        Var hs = m.static_embedder().forward(in[1]);
        Var h = m.embedder().forward(append_code(in[0], hs));
        return add(tgtest::weighted_sum(h), tgtest::weighted_sum(m.static_recovery().forward(hs), 9));
      },
      {xx, s});
  CHECK(err < 1e-6);
  // The generator path: g_X([z_t, g_S(z_S)]), the supervisor on [h_t, h^_S], d_S(h^_S).
  Var zs(tgtest::rand_tensor(Shape{2, 2}, 5, 0.0, 1.0), true);
  Var z(tgtest::rand_tensor(Shape{2, 4, 2}, 6, 0.0, 1.0), true);
  err = tgtest::gradcheck(
      [&](const std::vector<Var>& in) {
        Var hs = m.static_generator().forward(in[1]);
        Var e = m.generator().forward(append_code(in[0], hs));
        Var h = m.supervisor().forward(append_code(e, hs));
        return add(tgtest::weighted_sum(h), tgtest::weighted_sum(m.static_discriminator().forward(hs), 9));
      },
      {z, zs});
  CHECK(err < 1e-6);
}

TEST_CASE("static loss terms: adversarial, moments and discriminator, exact values by hand") {
  // CE(y, 1) = log(1 + e^-y) and CE(y, 0) = log(1 + e^y) (the sigmoid cross-entropy of a logit).
  auto ce1 = [](double y) { return std::log1p(std::exp(-y)); };
  auto ce0 = [](double y) { return std::log1p(std::exp(y)); };
  // G_loss_U's static term CE(d_S(h^_S), 1): a mean over the batch.
  const Var y_hat = t64(Shape{3, 1}, {0.5, -1.0, 2.0});
  CHECK(static_adversarial_loss(y_hat).value().item() ==
        doctest::Approx((ce1(0.5) + ce1(-1.0) + ce1(2.0)) / 3.0).epsilon(1e-14));
  // D_loss's static terms CE(d_S(h_S), 1) + CE(d_S(h^_S), 0), each a mean over the batch.
  const Var y_real = t64(Shape{2, 1}, {1.0, -0.5}), y_fake = t64(Shape{2, 1}, {0.3, -2.0});
  CHECK(static_discriminator_loss(y_real, y_fake).value().item() ==
        doctest::Approx((ce1(1.0) + ce1(-0.5)) / 2.0 + (ce0(0.3) + ce0(-2.0)) / 2.0).epsilon(1e-14));
  // G_loss_V's static moments over a batch of 3 sequences with 2 static values each:
  // per feature the batch mean and population variance of s and s^.
  const Var s = t64(Shape{3, 2}, {0.0, 1.0, 1.0, 1.0, 0.5, 0.0});
  const Var s_hat = t64(Shape{3, 2}, {0.2, 0.4, 0.6, 0.9, 0.1, 0.5});
  // feature 0: s 0, 1, 0.5 -> mean 0.5, var (0.25 + 0.25 + 0) / 3 = 1/6;
  //            s^ 0.2, 0.6, 0.1 -> mean 0.3, var (0.01 + 0.09 + 0.04) / 3 = 0.14 / 3.
  // feature 1: s 1, 1, 0 -> mean 2/3, var (1/9 + 1/9 + 4/9) / 3 = 2/9;
  //            s^ 0.4, 0.9, 0.5 -> mean 0.6, var (0.04 + 0.09 + 0.01) / 3 = 0.14 / 3.
  const double sd0 = std::sqrt(1.0 / 6.0 + 1e-6), sd0h = std::sqrt(0.14 / 3.0 + 1e-6);
  const double sd1 = std::sqrt(2.0 / 9.0 + 1e-6), sd1h = std::sqrt(0.14 / 3.0 + 1e-6);
  const double v1 = (std::abs(sd0h - sd0) + std::abs(sd1h - sd1)) / 2.0;
  const double v2 = (std::abs(0.3 - 0.5) + std::abs(0.6 - 2.0 / 3.0)) / 2.0;
  CHECK(static_moment_loss(s, s_hat).value().item() == doctest::Approx(v1 + v2).epsilon(1e-12));
  // Equal sets: no moment difference; the term is symmetric in its moments.
  CHECK(static_moment_loss(s, s).value().item() == 0.0);
  // Gradients by finite differences (to the logits and to the generated values).
  Var yg(tgtest::rand_tensor(Shape{4, 1}, 11), true), yr(tgtest::rand_tensor(Shape{4, 1}, 12), true);
  CHECK(tgtest::gradcheck([](const std::vector<Var>& in) { return static_adversarial_loss(in[0]); }, {yg}) < 1e-6);
  CHECK(tgtest::gradcheck([](const std::vector<Var>& in) { return static_discriminator_loss(in[0], in[1]); }, {yr, yg}) <
        1e-6);
  Var sg(tgtest::rand_tensor(Shape{4, 2}, 13, 0.0, 1.0), true);
  const Var sr(tgtest::rand_tensor(Shape{4, 2}, 14, 0.0, 1.0));
  CHECK(tgtest::gradcheck([&](const std::vector<Var>& in) { return static_moment_loss(sr, in[0]); }, {sg}) < 1e-6);
}

TEST_CASE("static model: network shapes, parameter count, generated static values") {
  const TimeGanConfig c = static_config(2);
  TimeGanConfig plain = c;
  plain.static_features = 0;
  TimeGan m(c), p(plain);
  CHECK(m.embedder().input() == 2 + 5);   // [x_t, h_S]
  CHECK(m.generator().input() == 2 + 5);  // [z_t, h^_S]
  CHECK(m.supervisor().input() == 5 + 5);
  CHECK(m.recovery().input() == 5);
  CHECK(m.discriminator().input() == 5);
  // Four dense maps: e_S 2x5+5, r_S 5x2+2, g_S 2x5+5, d_S 5x1+1; three recurrent first layers
  // read 5 more inputs (GRU: 3 gates' W over the input rows).
  const int64_t dense = (2 * 5 + 5) + (5 * 2 + 2) + (2 * 5 + 5) + (5 + 1);
  CHECK(m.parameter_count() == p.parameter_count() + dense + 3 * 5 * 3 * 5);
  m.set_data(with_statics(10));
  while (!m.done()) REQUIRE(m.step().first_nonfinite().empty());
  CHECK(m.first_nonfinite_tensor().empty());
  const io::Windows g = m.generate(7, 1, 3);  // chunks of 3: statics follow their sequences
  CHECK(g.static_dim == 2);
  REQUIRE(g.statics.size() == 14);
  for (double v : g.statics) CHECK((v > 0.0 && v < 1.0));
  // Without static features the windows carry none.
  p.set_data([] {
    io::Windows w = with_statics(10);
    w.static_dim = 0;
    w.statics.clear();
    return w;
  }());
  CHECK(p.generate(3, 1).static_dim == 0);
  CHECK(p.generate(3, 1).statics.empty());
}

TEST_CASE("static model: E_loss_T0 adds the static reconstruction mse(s, r_S(e_S(s))), hand-computed") {
  // A batch of every window (batch >= n): the means do not depend on the order drawn.
  TimeGanConfig c = static_config(1, DType::F64);
  c.batch = 64;
  TimeGan m(c);
  const io::Windows w = with_statics(6);
  m.set_data(w);
  // The temporal part with the model's networks.
  Var x = t64(Shape{6, 4, 2}, w.data), s = t64(Shape{6, 2}, w.statics);
  double temporal;
  {
    NoGradGuard ng;
    Var h = m.embedder().forward(append_code(x, m.static_embedder().forward(s)));
    temporal = mse(x, m.recovery().forward(h)).value().item();
  }
  // The static part by hand from the dense weights: h_S = sigmoid(s We + be), s~ = sigmoid(h_S Wr + br).
  const std::vector<double> We = m.static_embedder().params().params[0].value().to_vector(),
                            be = m.static_embedder().params().params[1].value().to_vector(),
                            Wr = m.static_recovery().params().params[0].value().to_vector(),
                            br = m.static_recovery().params().params[1].value().to_vector();
  double stat = 0;
  for (int i = 0; i < 6; ++i) {
    double hs[5];
    for (int j = 0; j < 5; ++j) {
      double a = be[static_cast<size_t>(j)];
      for (int k = 0; k < 2; ++k) a += w.statics[static_cast<size_t>(i * 2 + k)] * We[static_cast<size_t>(k * 5 + j)];
      hs[j] = sig(a);
    }
    for (int k = 0; k < 2; ++k) {
      double a = br[static_cast<size_t>(k)];
      for (int j = 0; j < 5; ++j) a += hs[j] * Wr[static_cast<size_t>(j * 2 + k)];
      const double e = w.statics[static_cast<size_t>(i * 2 + k)] - sig(a);
      stat += e * e;
    }
  }
  stat /= 12.0;
  const StepLosses l = m.step();
  CHECK(l.e_loss_t0 == doctest::Approx(temporal + stat).epsilon(1e-12));
  CHECK(l.e_loss0 == doctest::Approx(10.0 * std::sqrt(temporal + stat)).epsilon(1e-12));
  CHECK(stat > 0.0);
}

TEST_CASE("static config: JSON round trip, absent by default, checkpoints, bad data") {
  const TimeGanConfig c = static_config(2);
  const io::Json j = c.to_json();
  CHECK(j.at("static_features").as_int64() == 2);
  CHECK(TimeGanConfig::from_json(j).static_features == 2);
  CHECK(!TimeGanConfig().to_json().contains("static_features"));
  io::Json bad = j;
  bad["static_features"] = -1;
  CHECK(has(error_of<std::invalid_argument>([&] { TimeGanConfig::from_json(bad); }), "static_features must be >= 0"));
  TimeGan m(c);
  m.set_data(with_statics(8));
  for (int i = 0; i < 5; ++i) m.step();  // into the joint phase
  TimeGanConfig other = c;
  other.static_features = 0;
  TimeGan plain(other);
  CHECK(has(error_of<io::InputError>([&] { plain.load_checkpoint(m.to_checkpoint()); }),
            "static_features 2 (checkpoint) vs 0 (requested)"));
  TimeGan again(c);
  again.load_checkpoint(io::parse_checkpoint(io::checkpoint_bytes(m.to_checkpoint()), "m.ckpt"));
  again.set_data(with_statics(8));
  CHECK(again.generate(4, 1).statics == m.generate(4, 1).statics);
  CHECK(again.generate(4, 1).data == m.generate(4, 1).data);
  // Resumed training continues bit-identically.
  const StepLosses a = m.step(), b = again.step();
  CHECK(a.csv_row() == b.csv_row());
  // Windows without (or with other) static values, or a non-finite one: refused.
  io::Windows none = with_statics(4);
  none.static_dim = 0;
  none.statics.clear();
  CHECK(has(error_of<std::invalid_argument>([&] { m.set_data(none); }), "0 static feature(s); the model is configured for 2"));
  io::Windows nan = with_statics(4);
  nan.statics[3] = std::nan("");
  CHECK(has(error_of<std::invalid_argument>([&] { m.set_data(nan); }), "window 1: static feature 1 is not finite"));
  CHECK(has(error_of<std::invalid_argument>([&] { plain.set_data(with_statics(4)); }), "configured for 0"));
}

TEST_CASE("learning: a static attribute sets the level of the generated sequence") {
  // s in {0, 1}; the sequence hovers at 0.25 (s = 0) or 0.75 (s = 1). Generated sequences whose
  // generated static value is high must have the higher level.
  Rng rng(21, 1);
  io::Windows w;
  w.n = 64;
  w.seq = 6;
  w.dim = 1;
  w.static_dim = 1;
  for (int64_t i = 0; i < w.n; ++i) {
    const double s = static_cast<double>(i % 2);
    w.statics.push_back(s);
    for (int64_t t = 0; t < w.seq; ++t)
      w.data.push_back(0.25 + 0.5 * s + 0.05 * std::sin(static_cast<double>(t)) + 0.02 * (rng.next_double() - 0.5));
  }
  // about 4 s on one core; at 300 iterations the static generator has not yet spread out
  TimeGanConfig c = tgtest::small_config({1, 6, 8, 32}, 1000, 5);
  c.static_features = 1;
  TimeGan m(c);
  m.set_data(w);
  while (!m.done()) REQUIRE(m.step().first_nonfinite().empty());
  const io::Windows g = m.generate(400, 3);
  double hi = 0, lo = 0;
  int nhi = 0, nlo = 0;
  for (int64_t i = 0; i < g.n; ++i) {
    double level = 0;
    for (int64_t t = 0; t < g.seq; ++t) level += g.at(i, t, 0) / static_cast<double>(g.seq);
    if (g.statics[static_cast<size_t>(i)] > 0.5) {
      hi += level;
      ++nhi;
    } else {
      lo += level;
      ++nlo;
    }
  }
  double sm = 0, ss = 0;
  for (double v : g.statics) sm += v / 400.0;
  for (double v : g.statics) ss += (v - sm) * (v - sm) / 400.0;
  MESSAGE("generated static mean " << sm << " std " << std::sqrt(ss));
  MESSAGE("generated static > 0.5: " << nhi << " sequences, level " << hi / nhi << "; <= 0.5: " << nlo << ", level "
                                     << lo / nlo);
  REQUIRE(nhi > 40);
  REQUIRE(nlo > 40);
  CHECK(hi / nhi - lo / nlo > 0.2);
}
