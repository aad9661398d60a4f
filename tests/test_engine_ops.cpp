// Engine core: tensors, broadcasting, every op's gradient (finite differences in float64),
// shape errors that name the op and shapes, Adam against hand-computed values, Philox.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "gradcheck.h"
#include "tg/engine.h"

using namespace tg;
using tgtest::gradcheck;
using tgtest::param;
using tgtest::weighted_sum;

TEST_CASE("tensor basics: shapes, reshape, copies, casts") {
  Tensor t = Tensor::from_vector(Shape{2, 3}, {1, 2, 3, 4, 5, 6});
  CHECK(t.shape() == Shape{2, 3});
  CHECK(t.numel() == 6);
  CHECK(t.dtype() == DType::F32);
  Tensor r = t.view({3, -1});
  CHECK(r.shape() == Shape{3, 2});
  CHECK(r.same_storage(t));
  Tensor c = t.clone();
  CHECK_FALSE(c.same_storage(t));
  CHECK(c.to_vector() == t.to_vector());
  Tensor d = t.cast(DType::F64);
  CHECK(d.dtype() == DType::F64);
  CHECK(d.to_vector() == t.to_vector());
  CHECK(Shape{2, 3, 4, 5}.numel() == 120);
  CHECK_THROWS_WITH_AS(Shape({1, 2, 3, 4, 5}), doctest::Contains("rank 5 exceeds 4"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(t.reshape(Shape{4, 2}), doctest::Contains("cannot view [2, 3] as [4, 2]"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(t.data<double>(), doctest::Contains("float32"), std::logic_error);
  CHECK(Tensor::full(Shape{}, 2.5).item() == 2.5);
}

TEST_CASE("CUDA: a device that is absent or unusable is reported, not a crash") {
  std::string why;
  if (!cuda_available(&why)) {
    MESSAGE("no CUDA device here (" << why << "); CUDA tensors skipped");
    CHECK_THROWS_WITH_AS(Tensor::zeros(Shape{2}, DType::F32, Device::CUDA), doctest::Contains("CUDA device unavailable"),
                         std::runtime_error);
    CHECK(!why.empty());
  }
}

TEST_CASE("broadcasting values") {
  Var a(Tensor::from_vector(Shape{2, 3}, {1, 2, 3, 4, 5, 6}));
  Var b(Tensor::from_vector(Shape{3}, {10, 20, 30}));
  CHECK(add(a, b).value().to_vector() == std::vector<double>{11, 22, 33, 14, 25, 36});
  Var col(Tensor::from_vector(Shape{2, 1}, {2, 3}));
  CHECK(mul(a, col).value().to_vector() == std::vector<double>{2, 4, 6, 12, 15, 18});
  CHECK(sub(b, a).value().to_vector() == std::vector<double>{9, 18, 27, 6, 15, 24});
  Var s(Tensor::full(Shape{}, 2.0));
  CHECK(div(a, s).value().to_vector() == std::vector<double>{0.5, 1, 1.5, 2, 2.5, 3});
  CHECK(broadcast_shape(Shape{4, 1, 3}, Shape{5, 1}, "x") == Shape{4, 5, 3});
}

TEST_CASE("shape mistakes name the op and the shapes") {
  Var a(Tensor::zeros(Shape{2, 3})), b(Tensor::zeros(Shape{4}));
  CHECK_THROWS_WITH_AS(add(a, b), "add: shapes [2, 3] and [4] do not broadcast", std::invalid_argument);
  CHECK_THROWS_WITH_AS(mul(a, b), "mul: shapes [2, 3] and [4] do not broadcast", std::invalid_argument);
  Var w(Tensor::zeros(Shape{4, 5}));
  CHECK_THROWS_WITH_AS(linear(a, w, Var()), "linear: input [2, 3] does not end in 4 for weight [4, 5]",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(mse(a, Var(Tensor::zeros(Shape{3, 2}))), "mse: shapes [2, 3] and [3, 2] differ",
                       std::invalid_argument);
  Var x3(Tensor::zeros(Shape{2, 4, 3}));
  CHECK_THROWS_WITH_AS(slice_time(x3, 2, 6), doctest::Contains("slice_time: range [2, 6) outside axis 1 of [2, 4, 3]"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(concat_batch({x3, a}), doctest::Contains("concat_batch"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(append_to_steps(x3, Var(Tensor::zeros(Shape{3, 2}))),
                       "append_to_steps: needs x [B, T, d] and c [B, C], got [2, 4, 3] and [3, 2]", std::invalid_argument);
  CHECK_THROWS_WITH_AS(append_to_steps(a, a), doctest::Contains("append_to_steps: needs x [B, T, d]"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(slice_last(x3, 2, 2), "slice_last: [2, 4) is not within the last axis of [2, 4, 3]",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(slice_last(x3, 0, 0), doctest::Contains("slice_last: [0, 0)"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(concat_last({x3, a}), "concat_last: shapes [2, 4, 3] and [2, 3] differ before the last axis",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(concat_last({}), "concat_last: needs at least one tensor", std::invalid_argument);
  Var d64(Tensor::zeros(Shape{2, 3}, DType::F64));
  CHECK_THROWS_WITH_AS(add(a, d64), doctest::Contains("add: dtype mismatch float32 [2, 3] vs float64 [2, 3]"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(rnn(RnnSpec{Cell::GruTf1, 2, 3}, x3, {}), doctest::Contains("rnn: gru stack of 2 layers needs 8 weights, got 0"),
                       std::invalid_argument);
}

TEST_CASE("gradients of elementwise ops (finite differences, float64)") {
  using V = std::vector<Var>;
  auto a = param(Shape{3, 4, 2}, 1), b = param(Shape{3, 4, 2}, 2);
  auto row = param(Shape{2}, 3), blk = param(Shape{4, 2}, 4), sc = param(Shape{}, 5);
  auto pos = param(Shape{3, 4, 2}, 6, 0.5, 2.0);
  SUBCASE("add/sub/mul/div, same shape") {
    gradcheck([](const V& v) { return weighted_sum(add(v[0], v[1])); }, {a, b});
    gradcheck([](const V& v) { return weighted_sum(sub(v[0], v[1])); }, {a, b});
    gradcheck([](const V& v) { return weighted_sum(mul(v[0], v[1])); }, {a, b});
    gradcheck([](const V& v) { return weighted_sum(div(v[0], v[1])); }, {a, pos});
  }
  SUBCASE("broadcast: bias row, [T,F] block, scalar, both sides") {
    for (const Var& bb : {row, blk, sc}) {
      gradcheck([](const V& v) { return weighted_sum(add(v[0], v[1])); }, {a, bb});
      gradcheck([](const V& v) { return weighted_sum(sub(v[1], v[0])); }, {a, bb});
      gradcheck([](const V& v) { return weighted_sum(mul(v[0], v[1])); }, {a, bb});
    }
    auto posrow = param(Shape{2}, 8, 0.5, 2.0);
    gradcheck([](const V& v) { return weighted_sum(div(v[0], v[1])); }, {a, posrow});
    gradcheck([](const V& v) { return weighted_sum(div(v[1], v[0])); }, {pos, row});
    auto col = param(Shape{3, 1, 1}, 9);
    gradcheck([](const V& v) { return weighted_sum(mul(v[0], v[1])); }, {a, col});
  }
  SUBCASE("unary") {
    gradcheck([](const V& v) { return weighted_sum(sigmoid(v[0])); }, {a});
    gradcheck([](const V& v) { return weighted_sum(tanh(v[0])); }, {a});
    gradcheck([](const V& v) { return weighted_sum(sqrt(v[0])); }, {pos});
    gradcheck([](const V& v) { return weighted_sum(abs(v[0])); }, {a});
    gradcheck([](const V& v) { return weighted_sum(square(v[0])); }, {a});
    gradcheck([](const V& v) { return weighted_sum(exp(v[0])); }, {a});
    gradcheck([](const V& v) { return weighted_sum(log(v[0])); }, {pos});
    gradcheck([](const V& v) { return weighted_sum(neg(v[0])); }, {a});
    gradcheck([](const V& v) { return weighted_sum(scale(v[0], -2.5)); }, {a});
    gradcheck([](const V& v) { return weighted_sum(add_scalar(v[0], 0.3)); }, {a});
  }
}

TEST_CASE("gradients of reductions, layout ops and losses") {
  using V = std::vector<Var>;
  auto a = param(Shape{5, 4, 3}, 11), b = param(Shape{5, 4, 3}, 12);
  gradcheck([](const V& v) { return sum(v[0]); }, {a});
  gradcheck([](const V& v) { return mean(v[0]); }, {a});
  gradcheck([](const V& v) { return weighted_sum(mean_batch(v[0])); }, {a});
  gradcheck([](const V& v) { return weighted_sum(var_batch(v[0])); }, {a});
  gradcheck([](const V& v) { return weighted_sum(slice_time(v[0], 1, 4)); }, {a});
  gradcheck([](const V& v) { return weighted_sum(slice_time(v[0], 0, -1)); }, {a});
  gradcheck([](const V& v) { return weighted_sum(slice_batch(v[0], 1, 3)); }, {a});
  gradcheck([](const V& v) { return weighted_sum(concat_batch({v[0], v[1], v[0]})); }, {a, b});
  auto c = param(Shape{5, 2}, 13);
  gradcheck([](const V& v) { return weighted_sum(append_to_steps(v[0], v[1])); }, {a, c});
  gradcheck([](const V& v) { return weighted_sum(tg::square(append_to_steps(v[0], v[1]))); }, {a, c});
  gradcheck([](const V& v) { return weighted_sum(reshape(v[0], Shape{20, 3})); }, {a});
  gradcheck([](const V& v) { return weighted_sum(slice_last(v[0], 1, 2)); }, {a});
  gradcheck([](const V& v) { return weighted_sum(concat_last({v[0], slice_last(v[1], 2, 1), v[0]})); }, {a, b});
  gradcheck([](const V& v) { return weighted_sum(last_valid_step(v[0], {4, 1, 2, 4, 3})); }, {a});
  gradcheck([](const V& v) { return weighted_sum(sigmoid_cross_entropy(v[0], 1.0)); }, {a});
  gradcheck([](const V& v) { return weighted_sum(sigmoid_cross_entropy(v[0], 0.0)); }, {a});
  gradcheck([](const V& v) { return mse(v[0], v[1]); }, {a, b});
  gradcheck([](const V& v) { return l1(v[0], v[1]); }, {a, b});
  auto w = param(Shape{3, 6}, 13), bias = param(Shape{6}, 14);
  gradcheck([](const V& v) { return weighted_sum(linear(v[0], v[1], v[2])); }, {a, w, bias});
  gradcheck([](const V& v) { return weighted_sum(linear(v[0], v[1], Var())); }, {a, w});
  // The TimeGAN moment loss: |sqrt(var + 1e-6) - sqrt(var' + 1e-6)| averaged.
  gradcheck(
      [](const V& v) {
        return mean(abs(sub(sqrt(add_scalar(var_batch(v[0]), 1e-6)), sqrt(add_scalar(var_batch(v[1]), 1e-6)))));
      },
      {a, b});
}

TEST_CASE("known values: losses and moments on hand-built tensors") {
  // CE(z, y) = max(z,0) - z y + log(1 + e^-|z|): z = 0 -> ln 2; z = 2, y = 1 -> ln(1 + e^-2).
  Var z(Tensor::from_vector(Shape{2}, {0.0, 2.0}, DType::F64));
  auto ce = sigmoid_cross_entropy(z, 1.0).value().to_vector();
  CHECK(ce[0] == doctest::Approx(std::log(2.0)).epsilon(1e-14));
  CHECK(ce[1] == doctest::Approx(std::log1p(std::exp(-2.0))).epsilon(1e-14));
  // Large logits stay finite (stable form): z = -1000, y = 1 -> 1000.
  Var big(Tensor::from_vector(Shape{1}, {-1000.0}, DType::F64));
  CHECK(sigmoid_cross_entropy(big, 1.0).value().item() == doctest::Approx(1000.0));
  // Population variance over the batch: values {1, 3} -> mean 2, var 1 (not 2).
  Var x(Tensor::from_vector(Shape{2, 1}, {1.0, 3.0}, DType::F64));
  CHECK(var_batch(x).value().item() == 1.0);
  CHECK(mean_batch(x).value().item() == 2.0);
  Var p(Tensor::from_vector(Shape{2, 2}, {1, 2, 3, 4}, DType::F64)), q(Tensor::from_vector(Shape{2, 2}, {0, 0, 0, 8}, DType::F64));
  CHECK(mse(p, q).value().item() == doctest::Approx((1 + 4 + 9 + 16) / 4.0));
  CHECK(l1(p, q).value().item() == doctest::Approx((1 + 2 + 3 + 4) / 4.0));
}

TEST_CASE("append_to_steps: exact values and gradients; an infinite input stays in its own cells") {
  Var x(Tensor::from_vector(Shape{2, 3, 1}, {1, 2, 3, 4, 5, 6}, DType::F64), true);
  Var c(Tensor::from_vector(Shape{2, 2}, {0.5, -1, 7, 8}, DType::F64), true);
  Var y = append_to_steps(x, c);
  CHECK(y.shape() == Shape{2, 3, 3});
  CHECK(y.value().to_vector() == std::vector<double>{1, 0.5, -1, 2, 0.5, -1, 3, 0.5, -1, 4, 7, 8, 5, 7, 8, 6, 7, 8});
  // d/dx of sum(w * y) is w's x column; d/dc sums w's c columns over the 3 steps.
  Var w(Tensor::from_vector(Shape{2, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18}, DType::F64));
  backward(sum(y * w));
  CHECK(x.grad().to_vector() == std::vector<double>{1, 4, 7, 10, 13, 16});
  CHECK(c.grad().to_vector() == std::vector<double>{2 + 5 + 8, 3 + 6 + 9, 11 + 14 + 17, 12 + 15 + 18});
  // Copies, not products with 0/1 matrices: inf and NaN do not leak into the other cells.
  const double inf = std::numeric_limits<double>::infinity();
  Var xi(Tensor::from_vector(Shape{1, 2, 1}, {inf, std::nan("")}, DType::F64));
  Var ci(Tensor::from_vector(Shape{1, 1}, {3.0}, DType::F64));
  auto v = append_to_steps(xi, ci).value().to_vector();
  CHECK(v[0] == inf);
  CHECK(std::isnan(v[2]));
  CHECK(v[1] == 3.0);
  CHECK(v[3] == 3.0);
  // No steps: an empty output and a zero gradient for c.
  Var x0(Tensor::zeros(Shape{2, 0, 1}, DType::F64), true), c0(Tensor::from_vector(Shape{2, 1}, {1, 2}, DType::F64), true);
  Var y0 = append_to_steps(x0, c0);
  CHECK(y0.shape() == Shape{2, 0, 2});
  backward(sum(y0));
  CHECK(c0.grad().to_vector() == std::vector<double>{0, 0});
}

TEST_CASE("slice_last and concat_last: exact values and gradients; inf and NaN stay in their cells") {
  const double inf = std::numeric_limits<double>::infinity();
  Var x(Tensor::from_vector(Shape{2, 3}, {1, inf, 3, 4, std::nan(""), -0.0}, DType::F64), true);
  Var a = slice_last(x, 2, 1), b = slice_last(x, 0, 2);
  CHECK(a.shape() == Shape{2, 1});
  CHECK(a.value().to_vector() == std::vector<double>{3, -0.0});
  CHECK(std::signbit(a.value().to_vector()[1]));  // copied, not summed: -0 stays -0
  Var y = concat_last({a, b});
  CHECK(y.shape() == Shape{2, 3});
  const std::vector<double> v = y.value().to_vector();
  CHECK(v[0] == 3);
  CHECK(v[1] == 1);
  CHECK(v[2] == inf);
  CHECK(v[4] == 4);
  CHECK(std::isnan(v[5]));
  // d/dx of sum(w * y): each of x's cells gets w at the place it was moved to
  Var w(Tensor::from_vector(Shape{2, 3}, {10, 20, 30, 40, 50, 60}, DType::F64));
  backward(sum(y * w));
  CHECK(x.grad().to_vector() == std::vector<double>{20, 30, 10, 50, 60, 40});
}

TEST_CASE("autograd: accumulation across uses and calls, no-grad scope, detach") {
  Var a(Tensor::from_vector(Shape{2}, {1.0, 2.0}, DType::F64), true);
  // f = sum(a*a + a) -> grad 2a + 1, used twice in the graph.
  backward(sum(add(mul(a, a), a)));
  CHECK(a.grad().to_vector() == std::vector<double>{3.0, 5.0});
  backward(sum(a));  // accumulates
  CHECK(a.grad().to_vector() == std::vector<double>{4.0, 6.0});
  a.zero_grad();
  CHECK_FALSE(a.has_grad());
  {
    NoGradGuard ng;
    Var y = mul(a, a);
    CHECK_FALSE(y.requires_grad());
  }
  Var y = mul(a.detach(), a);
  backward(sum(y));
  CHECK(a.grad().to_vector() == std::vector<double>{1.0, 2.0});
  Var c(Tensor::zeros(Shape{2}, DType::F64));
  CHECK_THROWS_WITH_AS(backward(sum(c)), doctest::Contains("does not require a gradient"), std::invalid_argument);
}

TEST_CASE("Adam, TF1 form, against hand-computed values") {
  ParamGroup g;
  g.name = "net";
  Var p = g.add("w", Tensor::from_vector(Shape{2}, {1.0, -2.0}, DType::F64));
  Adam opt(g);
  // Step 1 with grad {0.5, -1}: m = 0.1 g, v = 0.001 g^2, lr_1 = 1e-3 * sqrt(0.001) / 0.1.
  // update = lr_1 * m / (sqrt(v) + 1e-8) = 1e-3*sqrt(.001)/.1 * 0.05/(sqrt(.001)*0.5 + 1e-8)
  p.mutable_value();
  {
    Var loss = sum(mul(p, Var(Tensor::from_vector(Shape{2}, {0.5, -1.0}, DType::F64))));
    backward(loss);
  }
  opt.step();
  const double lr1 = 1e-3 * std::sqrt(1 - 0.999) / (1 - 0.9);
  const double u0 = lr1 * 0.05 / (std::sqrt(0.001 * 0.25) + 1e-8);
  const double u1 = lr1 * -0.1 / (std::sqrt(0.001 * 1.0) + 1e-8);
  auto v = p.value().to_vector();
  CHECK(v[0] == doctest::Approx(1.0 - u0).epsilon(1e-15));
  CHECK(v[1] == doctest::Approx(-2.0 - u1).epsilon(1e-15));
  // Step 2 with grad {1, 1}: m = 0.9*0.05 + 0.1 = 0.145 (and 0.9*-0.1+0.1 = 0.01),
  // v = 0.999*0.00025 + 0.001 (and 0.999*0.001 + 0.001).
  opt.zero_grad();
  backward(sum(p));
  opt.step();
  const double lr2 = 1e-3 * std::sqrt(1 - 0.999 * 0.999) / (1 - 0.81);
  const double w0 = 1.0 - u0 - lr2 * 0.145 / (std::sqrt(0.999 * 0.00025 + 0.001) + 1e-8);
  const double w1 = -2.0 - u1 - lr2 * 0.01 / (std::sqrt(0.999 * 0.001 + 0.001) + 1e-8);
  v = p.value().to_vector();
  CHECK(v[0] == doctest::Approx(w0).epsilon(1e-14));
  CHECK(v[1] == doctest::Approx(w1).epsilon(1e-14));
  CHECK(opt.steps() == 2);
}

TEST_CASE("Adam, PyTorch form, against hand-computed values; untouched params stay put") {
  ParamGroup g;
  Var p = g.add("w", Tensor::from_vector(Shape{1}, {0.5}, DType::F64));
  Var idle = g.add("idle", Tensor::from_vector(Shape{1}, {7.0}, DType::F64));
  AdamOptions o;
  o.form = AdamOptions::Form::PyTorch;
  o.lr = 0.01;
  o.eps = 1e-3;  // large eps so that the two forms differ visibly
  Adam opt(g, o);
  backward(sum(scale(p, 2.0)));  // grad 2
  opt.step();
  // PyTorch: mhat = 2, vhat = 4 -> p -= 0.01 * 2 / (2 + 1e-3)
  CHECK(p.value().item() == doctest::Approx(0.5 - 0.01 * 2.0 / (2.0 + 1e-3)).epsilon(1e-14));
  CHECK(idle.value().item() == 7.0);
  // The TF1 form with the same eps: p -= lr*sqrt(.001)/.1 * 0.2 / (sqrt(.004) + 1e-3)
  ParamGroup g2;
  Var p2 = g2.add("w", Tensor::from_vector(Shape{1}, {0.5}, DType::F64));
  o.form = AdamOptions::Form::Tf1;
  Adam tf(g2, o);
  backward(sum(scale(p2, 2.0)));
  tf.step();
  CHECK(p2.value().item() == doctest::Approx(0.5 - 0.01 * std::sqrt(0.001) / 0.1 * 0.2 / (std::sqrt(0.004) + 1e-3)).epsilon(1e-14));
}

TEST_CASE("Philox4x32-10 known answers and counter-based streams") {
  // Known-answer vectors of the Random123 distribution (kat_vectors): philox4x32 10 rounds.
  auto r0 = philox4x32({0, 0, 0, 0}, {0, 0});
  CHECK(r0 == std::array<uint32_t, 4>{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u});
  auto r1 = philox4x32({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, {0xffffffffu, 0xffffffffu});
  CHECK(r1 == std::array<uint32_t, 4>{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu});
  auto r2 = philox4x32({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, {0xa4093822u, 0x299f31d0u});
  CHECK(r2 == std::array<uint32_t, 4>{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u});
  // A bulk fill equals element-wise draws from the same counter, and advances ceil(n/4).
  Rng a(42, 1), b(42, 1);
  std::vector<float> v(10);
  a.fill_uniform(v.data(), 10);
  CHECK(a.counter() == 3);
  auto blk = b.block(2);
  CHECK(v[9] == u32_to_unit_float(blk[1]));
  for (float x : v) CHECK((x >= 0.f && x < 1.f));
  // Tensor fill through the backend equals Rng::fill_uniform.
  Rng c(42, 1);
  Tensor t = Tensor::empty(Shape{10});
  fill_uniform(t, c, 0.0, 1.0);
  CHECK(t.to_vector() == std::vector<double>(v.begin(), v.end()));
  // Sampling without replacement: distinct, in range; permutations are permutations.
  Rng s(3, 2);
  auto idx = s.sample_without_replacement(100, 30);
  std::sort(idx.begin(), idx.end());
  CHECK(std::unique(idx.begin(), idx.end()) == idx.end());
  CHECK(idx.front() >= 0);
  CHECK(idx.back() < 100);
  auto perm = s.permutation(50);
  std::sort(perm.begin(), perm.end());
  for (int i = 0; i < 50; ++i) CHECK(perm[static_cast<size_t>(i)] == i);
}

TEST_CASE("rnn op: gradients through frozen weights equal those of the full backward") {
  // Frozen weights (no requires_grad) take the kernel path without weight-gradient GEMMs; the
  // input gradient must not change. Every cell, batch 40 so the threaded split runs too.
  for (Cell cell : {Cell::GruTf1, Cell::GruResetAfter, Cell::Lstm, Cell::LstmLn}) {
    const int B = 70, T = 6, in = 3, H = 4, L = 2;
    std::vector<Var> w_train, w_frozen;
    uint64_t seed = 100;
    for (int l = 0; l < L; ++l)
      for (const auto& s : rnn_weight_shapes(cell, l == 0 ? in : H, H)) {
        Tensor t = tgtest::rand_tensor(Shape(s), seed++, -0.5, 0.5);
        w_train.emplace_back(t, true);
        w_frozen.emplace_back(t, false);
      }
    std::vector<int32_t> len(B, T);
    for (int b = 0; b < B; b += 3) len[static_cast<size_t>(b)] = b % T;
    Var x1 = param(Shape{B, T, in}, 1), x2(x1.value(), true);
    backward(weighted_sum(rnn(RnnSpec{cell, L, H}, x1, w_train, len)));
    backward(weighted_sum(rnn(RnnSpec{cell, L, H}, x2, w_frozen, len)));
    const auto a = x1.grad().to_vector(), b = x2.grad().to_vector();
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i) CHECK(a[i] == doctest::Approx(b[i]).epsilon(1e-12));
    CHECK_FALSE(w_frozen[0].has_grad());
    CHECK(w_train[0].has_grad());
  }
}

TEST_CASE("backend registry: the built-in backends are registered; threads go through the engine") {
  const std::vector<std::string> names = registered_backends();
  REQUIRE(!names.empty());
  CHECK(names[0] == "cpu");
#ifdef TG_HAVE_CUDA
  CHECK(std::find(names.begin(), names.end(), "cuda") != names.end());
#else
  CHECK(names.size() == 1);
  std::string why;
  CHECK_FALSE(cuda_available(&why));
  CHECK(why.find("no CUDA backend") != std::string::npos);
  CHECK_THROWS_WITH_AS(backend_for(Device::CUDA), doctest::Contains("CUDA device unavailable"), std::runtime_error);
#endif
  CHECK(backend_for(Device::CPU).name() == "cpu");
  const int saved = num_threads();
  set_num_threads(1);
  CHECK(num_threads() == 1);
  CHECK(backend_for(Device::CPU).num_threads() == 1);
  set_num_threads(0);  // < 1 means 1
  CHECK(num_threads() == 1);
  set_num_threads(3);
  CHECK(num_threads() == 3);
  set_num_threads(saved);
  CHECK_THROWS_AS(register_backend(BackendEntry{Device::CPU, "x", nullptr, nullptr}), std::invalid_argument);
}

TEST_CASE("rnn backend: the forward's saved state is typed; a foreign one is refused") {
  Backend& be = backend_for(Device::CPU);
  const RnnSpec call{Cell::GruTf1, 1, 2, 1, 2, 1};
  std::vector<Tensor> w;
  for (const auto& s : rnn_weight_shapes(call.cell, call.input, call.hidden)) w.push_back(Tensor::full(Shape(s), 0.1f));
  Tensor x = Tensor::full(Shape{1, 2, 1}, 0.5f), y = Tensor::empty(Shape{1, 2, 2}), hT, cT;
  CHECK(!be.rnn_forward(call, w, x, nullptr, Tensor(), Tensor(), y, hT, cT, false));
  const std::shared_ptr<RnnSaved> saved = be.rnn_forward(call, w, x, nullptr, Tensor(), Tensor(), y, hT, cT, true);
  REQUIRE(static_cast<bool>(saved));
  Tensor gy = Tensor::full(Shape{1, 2, 2}, 1.0f), gx = Tensor::empty(Shape{1, 2, 1}), gh0, gc0;
  std::vector<Tensor> gw;
  CHECK_NOTHROW(be.rnn_backward(call, w, x, nullptr, Tensor(), Tensor(), *saved, gy, gx, gw, gh0, gc0));
  struct Foreign : RnnSaved {};
  CHECK_THROWS_WITH_AS(be.rnn_backward(call, w, x, nullptr, Tensor(), Tensor(), Foreign(), gy, gx, gw, gh0, gc0),
                       doctest::Contains("not from the CPU backend"), std::invalid_argument);
}

TEST_CASE("rnn backend: the buffers of a call are checked where the tensors become pointers") {
  Backend& be = backend_for(Device::CPU);
  const RnnSpec call{Cell::GruTf1, 1, 2, 1, 2, 1};
  std::vector<Tensor> w;
  for (const auto& s : rnn_weight_shapes(call.cell, call.input, call.hidden)) w.push_back(Tensor::full(Shape(s), 0.1f));
  Tensor x = Tensor::full(Shape{1, 2, 1}, 0.5f), y = Tensor::empty(Shape{1, 2, 2}), hT, cT;
  std::vector<Tensor> w3(w.begin(), w.end() - 1);
  CHECK_THROWS_WITH_AS(be.rnn_forward(call, w3, x, nullptr, Tensor(), Tensor(), y, hT, cT, false),
                       doctest::Contains("CPU rnn_forward: 3 weights, expected 4"), std::invalid_argument);
  Tensor h0d = Tensor::zeros(Shape{1, 1, 2}, DType::F64, Device::CPU);
  CHECK_THROWS_WITH_AS(be.rnn_forward(call, w, x, nullptr, h0d, Tensor(), y, hT, cT, false),
                       doctest::Contains("h0 has another dtype than x"), std::invalid_argument);
  Tensor ynone;
  CHECK_THROWS_WITH_AS(be.rnn_forward(call, w, x, nullptr, Tensor(), Tensor(), ynone, hT, cT, false),
                       doctest::Contains("y is undefined"), std::invalid_argument);
  // A c0 given to a cell without a c state is not read (the same output as without it).
  Tensor c0 = Tensor::full(Shape{1, 1, 2}, 7.0f), y2 = Tensor::empty(Shape{1, 2, 2});
  be.rnn_forward(call, w, x, nullptr, Tensor(), Tensor(), y, hT, cT, false);
  be.rnn_forward(call, w, x, nullptr, Tensor(), c0, y2, hT, cT, false);
  for (int i = 0; i < 4; ++i) CHECK(y.data<float>()[i] == y2.data<float>()[i]);
  const std::shared_ptr<RnnSaved> saved = be.rnn_forward(call, w, x, nullptr, Tensor(), Tensor(), y, hT, cT, true);
  REQUIRE(static_cast<bool>(saved));
  Tensor gy = Tensor::full(Shape{1, 2, 2}, 1.0f), gx = Tensor::empty(Shape{1, 2, 1}), gh0, gc0;
  std::vector<Tensor> gw2{Tensor::zeros(w[0].shape(), DType::F32, Device::CPU)};
  CHECK_THROWS_WITH_AS(be.rnn_backward(call, w, x, nullptr, Tensor(), Tensor(), *saved, gy, gx, gw2, gh0, gc0),
                       doctest::Contains("1 weight gradients, expected 0 (frozen) or 4"), std::invalid_argument);
}

TEST_CASE("backend: the fused ops' generic versions (from the primitives) agree with the CPU's fused ones") {
  Backend& be = backend_for(Device::CPU);
  for (DType dt : {DType::F64, DType::F32}) {
    const double tol = dt == DType::F64 ? 1e-12 : 2e-6;
    auto rand = [&](uint64_t stream, double lo, double hi) {
      Rng r(7, stream);
      Tensor t = Tensor::empty(Shape{5, 13}, dt);
      fill_uniform(t, r, lo, hi);
      return t;
    };
    auto close = [&](const Tensor& a, const Tensor& b, const char* what) {
      const auto x = a.to_vector(), y = b.to_vector();
      REQUIRE(x.size() == y.size());
      for (size_t i = 0; i < x.size(); ++i)
        CHECK_MESSAGE(std::abs(x[i] - y[i]) <= tol * (1 + std::abs(y[i])), what << " [" << i << "]: " << x[i] << " vs " << y[i]);
    };
    const Tensor z = rand(1, -30, 30), gy = rand(2, -1, 1);
    for (double label : {0.0, 1.0}) {
      Tensor f = Tensor::empty(z.shape(), dt), g = Tensor::empty(z.shape(), dt);
      be.sigmoid_ce(z, label, f);
      be.Backend::sigmoid_ce(z, label, g);
      close(g, f, "sigmoid_ce");
      for (bool acc : {false, true}) {
        Tensor gf = rand(3, -1, 1), gg = rand(3, -1, 1);
        be.sigmoid_ce_backward(z, label, gy, gf, acc);
        be.Backend::sigmoid_ce_backward(z, label, gy, gg, acc);
        close(gg, gf, "sigmoid_ce_backward");
      }
    }
    const AdamStep st = adam_step_at(1e-3, 0.9, 0.999, 1e-8, false, 3);
    Tensor p1 = rand(4, -1, 1), p2 = rand(4, -1, 1), m1 = rand(5, -0.1, 0.1), m2 = rand(5, -0.1, 0.1);
    Tensor v1 = rand(6, 0, 0.01), v2 = rand(6, 0, 0.01);
    const Tensor g = rand(7, -1, 1);
    for (int step = 0; step < 3; ++step) {
      be.adam_update(p1, g, m1, v1, st);
      be.Backend::adam_update(p2, g, m2, v2, st);
    }
    close(m2, m1, "adam m");
    close(v2, v1, "adam v");
    close(p2, p1, "adam param");
  }
}

// A backend without a fused recurrent stack gets tg::rnn_composed (the ops, step by step): the
// same values and gradients as the CPU's fused stack, for every cell, two layers, with and
// without an initial state and lengths below T (one of them 0).
TEST_CASE("rnn: the stack composed of the ops agrees with the fused one, values and gradients") {
  REQUIRE(backend_for(Device::CPU).provides_rnn());
  const int64_t B = 4, T = 5, in = 3, H = 6, L = 2;
  for (Cell cell : {Cell::GruTf1, Cell::GruResetAfter, Cell::Lstm, Cell::LstmLn})
    for (bool varied : {false, true}) {
      CAPTURE(cell_name(cell));
      CAPTURE(varied);
      const RnnSpec spec{cell, static_cast<int>(L), static_cast<int>(H)};
      uint64_t stream = 1;
      auto leaf = [&](const Shape& s, double lo, double hi) {
        Rng r(11, stream++);
        Tensor t = Tensor::empty(s, DType::F64);
        fill_uniform(t, r, lo, hi);
        return Var(t, true);
      };
      std::vector<Var> inputs{leaf(Shape{B, T, in}, -1, 1)};
      for (int64_t l = 0; l < L; ++l)
        for (const auto& sh : rnn_weight_shapes(cell, l == 0 ? in : H, H)) inputs.push_back(leaf(Shape(sh), -0.6, 0.6));
      const size_t nw = inputs.size() - 1;
      Var h0, c0;
      if (varied) {
        h0 = leaf(Shape{L, B, H}, -0.5, 0.5);
        inputs.push_back(h0);
        if (cell_has_c(cell)) {
          c0 = leaf(Shape{L, B, H}, -0.5, 0.5);
          inputs.push_back(c0);
        }
      }
      const std::vector<int32_t> lengths = varied ? std::vector<int32_t>{5, 2, 0, 3} : std::vector<int32_t>{};
      const Var gy = leaf(Shape{B, T, H}, -1, 1);
      std::vector<Var> w(inputs.begin() + 1, inputs.begin() + 1 + static_cast<std::ptrdiff_t>(nw));
      auto run = [&](bool composed) {
        for (Var& v : inputs) v.zero_grad();
        const Var y = composed ? rnn_composed(spec, inputs[0], w, lengths, h0, c0) : rnn(spec, inputs[0], w, lengths, h0, c0);
        backward(sum(mul(y, gy)));
        std::vector<std::vector<double>> out{y.value().to_vector()};
        for (const Var& v : inputs) out.push_back(v.grad().to_vector());
        return out;
      };
      const auto fused = run(false), composed = run(true);
      // both check their arguments alike (the composed one would otherwise index past them)
      const std::vector<Var> short_w(w.begin(), w.end() - 1);
      CHECK_THROWS_WITH_AS(rnn_composed(spec, inputs[0], short_w), doctest::Contains("rnn_composed: "), std::invalid_argument);
      CHECK_THROWS_WITH_AS(rnn_composed(spec, inputs[0], w, {1, 2}), doctest::Contains("2 lengths for input"),
                           std::invalid_argument);
      const Var empty(Tensor::zeros(Shape{B, 0, in}, DType::F64));
      for (bool c : {false, true})
        CHECK_THROWS_WITH_AS(c ? rnn_composed(spec, empty, w) : rnn(spec, empty, w), doctest::Contains("is empty"),
                             std::invalid_argument);
      REQUIRE(fused.size() == composed.size());
      for (size_t k = 0; k < fused.size(); ++k) {
        CAPTURE(k);  // 0: y; then the gradients of x, the weights, h0, c0
        REQUIRE(fused[k].size() == composed[k].size());
        for (size_t i = 0; i < fused[k].size(); ++i)
          CHECK(std::abs(fused[k][i] - composed[k][i]) <= 1e-12 * (1 + std::abs(fused[k][i])));
      }
    }
}
