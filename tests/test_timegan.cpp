// TimeGAN model: parameter layout, exact losses on hand-built tensors, the D-step gate,
// a short training run whose losses fall, checkpoints, bit-identical resume, determinism.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

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

namespace {
Var t64(const Shape& s, const std::vector<double>& v) { return Var(Tensor::from_vector(s, v, DType::F64)); }

TimeGanConfig small_config(int64_t iters) { return tgtest::small_config({3, 8, 8, 16}, iters, 11); }

io::Windows small_sine(int64_t n = 64) {
  Rng rng(5, 5);
  return io::sine_data(n, 8, 3, rng);
}

std::vector<std::vector<double>> all_params(TimeGan& m) {
  std::vector<std::vector<double>> out;
  for (Network* n : {&m.embedder(), &m.recovery(), &m.generator(), &m.supervisor(), &m.discriminator()})
    for (auto& p : n->params().params) out.push_back(p.value().to_vector());
  return out;
}
}  // namespace

TEST_CASE("parameter count of the stock default configuration is 48,775 (timegan.md 2.3)") {
  TimeGanConfig c;
  c.features = 6;
  TimeGan m(c);
  CHECK(m.embedder().params().numel() == 9888);
  CHECK(m.recovery().params().numel() == 10734);
  CHECK(m.generator().params().numel() == 9888);
  CHECK(m.supervisor().params().numel() == 7656);
  CHECK(m.discriminator().params().numel() == 10609);
  CHECK(m.parameter_count() == 48775);
  // TF1 GRUCell initialisation: gate bias 1, candidate bias 0, glorot-uniform kernel bounds.
  auto& e = m.embedder().params();
  CHECK(e.names[1] == "layer0/b_gates");
  for (double v : e.params[1].value().to_vector()) CHECK(v == 1.0);
  for (double v : e.params[3].value().to_vector()) CHECK(v == 0.0);
  const double limit = std::sqrt(6.0 / (6 + 24 + 48));
  for (double v : e.params[0].value().to_vector()) CHECK(std::abs(v) <= limit);
}

TEST_CASE("invalid configurations are refused with the field named") {
  TimeGanConfig c;
  c.features = 6;
  c.layers = 1;
  CHECK_THROWS_WITH_AS(TimeGan{c}, doctest::Contains("num_layers must be >= 2: the supervisor has num_layers - 1 layers"),
                       std::invalid_argument);
  c.layers = 3;
  c.features = 0;
  CHECK_THROWS_WITH_AS(TimeGan{c}, doctest::Contains("features must be >= 1"), std::invalid_argument);
}

TEST_CASE("losses on hand-built tensors against hand-computed values") {
  // Reconstruction: X = [[1],[2]] per step, X_tilde = 0 -> mean of squares (1+4+9+16)/4.
  Var x = t64(Shape{2, 2, 1}, {1, 2, 3, 4}), z = t64(Shape{2, 2, 1}, {0, 0, 0, 0});
  CHECK(reconstruction_loss(x, z, Var()).value().item() == doctest::Approx(7.5));
  // Supervised: H[:,1:] vs S[:,:-1]. H = [[a0,a1,a2]], S = [[s0,s1,s2]] -> ((a1-s0)^2 + (a2-s1)^2)/2.
  Var h = t64(Shape{1, 3, 1}, {0.0, 1.0, 3.0}), s = t64(Shape{1, 3, 1}, {0.5, 2.0, 9.0});
  CHECK(supervised_loss(h, s, Var()).value().item() == doctest::Approx((0.25 + 1.0) / 2));
  // Moments over a batch of 2, one step, one feature: X = {0, 2} (mean 1, var 1),
  // X_hat = {1, 1} (mean 1, var 0): V1 = |sqrt(1e-6) - sqrt(1 + 1e-6)|, V2 = 0.
  Var xr = t64(Shape{2, 1, 1}, {0, 2}), xh = t64(Shape{2, 1, 1}, {1, 1});
  CHECK(moment_loss(xr, xh, Var(), Var()).value().item() == doctest::Approx(std::sqrt(1 + 1e-6) - std::sqrt(1e-6)).epsilon(1e-12));
  // Discriminator: logits 0 everywhere -> each CE is ln 2; D = 3 ln 2 with gamma 1.
  Var y0 = t64(Shape{2, 2, 1}, {0, 0, 0, 0});
  DLossParts d = discriminator_loss(y0, y0, y0, 1.0, Var(), Var());
  CHECK(d.total.value().item() == doctest::Approx(3 * std::log(2.0)));
  // Generator: U = U_e = ln 2, S = 0.04 -> 100*0.2 = 20, V = 0.01 -> 1; total 2 ln 2 + 21.
  GLossParts g = generator_loss(y0, y0, t64(Shape{}, {0.04}), t64(Shape{}, {0.01}), 1.0, Var());
  CHECK(g.total.value().item() == doctest::Approx(2 * std::log(2.0) + 21.0));
  // CE with label 1 on logit 2: log(1 + e^-2).
  Var y2 = t64(Shape{1, 1, 1}, {2.0});
  CHECK(discriminator_loss(y2, y0, y0, 0.0, Var(), Var()).real.value().item() == doctest::Approx(std::log1p(std::exp(-2.0))));
}

TEST_CASE("masked losses average over valid steps only") {
  // Two sequences of 3 steps, lengths {3, 1}: the padded steps (values 100) must not count.
  Var a = t64(Shape{2, 3, 1}, {1, 2, 3, 4, 100, 100}), b = t64(Shape{2, 3, 1}, {0, 0, 0, 0, 0, 0});
  Var mask = length_mask({3, 1}, 3, DType::F64, Device::CPU);
  CHECK(masked_mse(a, b, mask).value().item() == doctest::Approx((1 + 4 + 9 + 16) / 4.0));
  CHECK_FALSE(length_mask({3, 3}, 3, DType::F64, Device::CPU).defined());  // full lengths: unmasked path
  // Moments over the valid entries of each step. Lengths {2, 1, 2}: at t=0 X = {0, 2, 4}
  // (mean 2, var 8/3) and X_hat = {1, 1, 1}; at t=1 X = {1, 3} (mean 2, var 1), X_hat = {1, 1};
  // the padded entries (100, 50) must not count.
  Var x = t64(Shape{3, 2, 1}, {0, 1, 2, 100, 4, 3}), xh = t64(Shape{3, 2, 1}, {1, 1, 1, 50, 1, 1});
  Var m = length_mask({2, 1, 2}, 2, DType::F64, Device::CPU);
  const double v1 = (std::abs(1e-3 - std::sqrt(8.0 / 3 + 1e-6)) + std::abs(1e-3 - std::sqrt(1 + 1e-6))) / 2;
  CHECK(moment_loss(x, xh, m, m).value().item() == doctest::Approx(v1 + 1.0).epsilon(1e-9));
  // A step where no sequence is valid contributes zero, not NaN.
  Var m0 = length_mask({1, 1, 1}, 2, DType::F64, Device::CPU);
  CHECK(std::isfinite(moment_loss(x, xh, m0, m0).value().item()));
  CHECK(std::isfinite(supervised_loss(x, xh, m0).value().item()));
}

TEST_CASE("the discriminator steps only while D_loss exceeds the threshold") {
  auto run_joint = [](double threshold) {
    TimeGanConfig c = small_config(2);
    c.d_threshold = threshold;
    TimeGan m(c);
    m.set_data(small_sine());
    while (m.phase() != Phase::Joint) m.step();
    auto before = m.discriminator().params().params[0].value().to_vector();
    StepLosses l = m.step();
    auto after = m.discriminator().params().params[0].value().to_vector();
    return std::make_tuple(l, before != after);
  };
  auto [l1, moved1] = run_joint(0.15);  // initial D_loss ~ 3 ln 2 > 0.15: steps
  CHECK(l1.d_loss > 0.15);
  CHECK(l1.d_stepped);
  CHECK(moved1);
  auto [l2, moved2] = run_joint(1e9);  // never above: skipped, D untouched
  CHECK_FALSE(l2.d_stepped);
  CHECK_FALSE(moved2);
}

TEST_CASE("a short run on sine: reconstruction and supervised losses fall clearly") {
  TimeGanConfig c = small_config(200);
  c.hidden = 12;
  c.layers = 3;
  c.batch = 32;
  TimeGan m(c);
  m.set_data(small_sine(256));
  std::vector<double> rec, sup;
  while (m.phase() == Phase::Embedding) rec.push_back(m.step().e_loss_t0);
  while (m.phase() == Phase::Supervised) sup.push_back(m.step().g_loss_s);
  auto avg = [](const std::vector<double>& v, size_t from, size_t to) {
    double s = 0;
    for (size_t i = from; i < to; ++i) s += v[i];
    return s / static_cast<double>(to - from);
  };
  MESSAGE("reconstruction " << avg(rec, 0, 10) << " -> " << avg(rec, 190, 200) << "; supervised " << avg(sup, 0, 10)
                            << " -> " << avg(sup, 190, 200));
  CHECK(avg(rec, 190, 200) < 0.5 * avg(rec, 0, 10));
  CHECK(avg(sup, 190, 200) < 0.5 * avg(sup, 0, 10));
  for (int i = 0; i < 5; ++i) {
    StepLosses l = m.step();
    CHECK(std::isfinite(l.g_loss));
    CHECK(std::isfinite(l.d_loss));
    CHECK(std::isfinite(l.e_loss));
  }
  io::Windows syn = m.generate(10, 3);
  CHECK(syn.n == 10);
  for (double v : syn.data) CHECK((v >= 0.0 && v <= 1.0));  // recovery ends in a sigmoid
}

TEST_CASE("same seed, same bytes; another seed, other bytes") {
  auto train = [](uint64_t seed) {
    TimeGanConfig c = small_config(3);
    c.seed = seed;
    TimeGan m(c);
    m.set_data(small_sine());
    while (!m.done()) m.step();
    return io::checkpoint_bytes(m.to_checkpoint());
  };
  CHECK(train(1) == train(1));
  CHECK(train(1) != train(2));
}

TEST_CASE("same seed, same bytes whatever the thread count: 1, 2, 3 and 8 threads, float and double") {
  // Batches of 130 and 300 rows: several slices of the recurrent stacks (README "Reproducibility"),
  // with uneven ones; every weight, Adam moment and random-stream position compared bit for bit.
  // Before, the slices followed the thread count; and in double, a slice's scratch alignment
  // followed the thread that ran it.
  for (int64_t batch : {130, 300}) {
    for (DType dt : {DType::F32, DType::F64}) {
      CAPTURE(batch);
      const bool is_f32 = dt == DType::F32;
      CAPTURE(is_f32);
      auto train = [&](int threads) {
        const int saved = num_threads();
        set_num_threads(threads);
        TimeGanConfig c = small_config(3);
        c.batch = batch;
        c.dtype = dt;
        TimeGan m(c);
        m.set_data(small_sine(320));
        while (!m.done()) m.step();
        set_num_threads(saved);
        return io::checkpoint_bytes(m.to_checkpoint());
      };
      const std::string one = train(1);
      // 8 threads twice: on a machine with fewer cores the slices land on different threads.
      for (int t : {2, 3, 8, 8}) CHECK_MESSAGE(train(t) == one, t << " threads");
    }
  }
}

TEST_CASE("checkpoint round trip and bit-identical resume mid-phase") {
  TimeGanConfig c = small_config(4);
  // Uninterrupted reference run.
  TimeGan ref(c);
  ref.set_data(small_sine());
  while (!ref.done()) ref.step();
  // Interrupted in the middle of the joint phase, then resumed from the checkpoint bytes.
  TimeGan a(c);
  a.set_data(small_sine());
  for (int i = 0; i < 4 + 4 + 2; ++i) a.step();
  CHECK(a.phase() == Phase::Joint);
  CHECK(a.iteration() == 2);
  const std::string bytes = io::checkpoint_bytes(a.to_checkpoint());
  io::Checkpoint ck = io::parse_checkpoint(bytes, "mid.ckpt");
  TimeGan b(c);
  b.set_data(small_sine());
  b.load_checkpoint(ck);
  CHECK(b.phase() == Phase::Joint);
  CHECK(b.iteration() == 2);
  CHECK(all_params(b) == all_params(a));
  while (!b.done()) b.step();
  CHECK(all_params(b) == all_params(ref));  // exact equality, every parameter
  CHECK(io::checkpoint_bytes(b.to_checkpoint()) == io::checkpoint_bytes(ref.to_checkpoint()));
}

TEST_CASE("a checkpoint from another configuration is refused with the difference named") {
  TimeGanConfig c = small_config(1);
  TimeGan a(c);
  io::Checkpoint ck = io::parse_checkpoint(io::checkpoint_bytes(a.to_checkpoint()), "run/model.ckpt");
  TimeGanConfig other = c;
  other.hidden = 16;
  TimeGan b(other);
  CHECK_THROWS_WITH_AS(b.load_checkpoint(ck),
                       "run/model.ckpt: checkpoint from another configuration: hidden_dim 8 (checkpoint) vs 16 (requested)",
                       io::InputError);
}

TEST_CASE("losses.csv cells: empty where the phase computes no such loss, nan / inf spelled out where it does") {
  using tg::models::Phase;
  using tg::models::StepLosses;
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  StepLosses l;
  l.phase = Phase::Embedding;
  l.iteration = 7;
  l.e_loss_t0 = nan;
  l.e_loss0 = 2.5;
  l.e_loss = l.g_loss_s = l.g_loss_u = l.g_loss_u_e = l.g_loss_v = l.g_loss = l.d_loss = nan;
  CHECK(l.csv_row() == "embedding,7,nan,2.5,,,,,,,,");
  CHECK(l.first_nonfinite() == "e_loss_t0 = nan");
  l.e_loss_t0 = 0.25;
  CHECK(l.csv_row() == "embedding,7,0.25,2.5,,,,,,,,");
  CHECK(l.first_nonfinite().empty());
  l.phase = Phase::Supervised;
  l.g_loss_s = inf;
  CHECK(l.csv_row() == "supervised,7,,,,inf,,,,,,");
  CHECK(l.first_nonfinite() == "g_loss_s = inf");
  l.phase = Phase::Joint;
  l.e_loss = 1, l.g_loss_s = 0.5, l.g_loss_u = 1, l.g_loss_u_e = 1, l.g_loss_v = 1, l.g_loss = -inf, l.d_loss = 0.125;
  l.d_stepped = true;
  CHECK(l.csv_row() == "joint,7,0.25,2.5,1,0.5,1,1,1,-inf,0.125,1");
  CHECK(l.first_nonfinite() == "g_loss = -inf");
}

TEST_CASE("set_data refuses windows of fewer than 2 valid steps (G_loss_S would have no terms: NaN gradients)") {
  tg::models::TimeGanConfig cfg;
  cfg.seq_len = 4;
  cfg.features = 1;
  cfg.hidden = 3;
  cfg.layers = 2;
  cfg.batch = 2;
  cfg.iterations = 1;
  tg::models::TimeGan m(cfg);
  tg::io::Windows w;
  w.n = 3, w.seq = 4, w.dim = 1;
  w.data.assign(12, 0.5);
  w.lengths = {4, 1, 2};
  const std::string e = tgtest::error_of<std::invalid_argument>([&] { m.set_data(w); });
  CHECK(e == "TimeGan::set_data: window 1 has 1 valid step(s); every window needs at least 2");
  w.lengths = {4, 2, 2};
  m.set_data(w);
  CHECK(m.data_size() == 3);
}

TEST_CASE("first_nonfinite_tensor names the first parameter holding a NaN") {
  tg::models::TimeGanConfig cfg;
  cfg.seq_len = 4;
  cfg.features = 2;
  cfg.hidden = 3;
  cfg.layers = 2;
  cfg.iterations = 1;
  tg::models::TimeGan m(cfg);
  CHECK(m.first_nonfinite_tensor().empty());
  tg::Tensor& p = m.generator().params().params[1].mutable_value();
  std::vector<double> v = p.to_vector();
  v[0] = std::numeric_limits<double>::quiet_NaN();
  p = tg::Tensor::from_vector(p.shape(), v, p.dtype(), p.device());
  CHECK(m.first_nonfinite_tensor() == "generator/" + m.generator().params().names[1]);
}

namespace {
// A backend with the primitives only (each passed to the CPU backend): no recurrent stack, no
// fused losses or Adam, no batched copies. What a new backend is on its first day.
class PrimitivesOnly final : public Backend {
 public:
  explicit PrimitivesOnly(Backend& cpu) : cpu_(cpu) {}
  Device device() const override { return Device::CPU; }
  std::string name() const override { return "primitives-only"; }
  void* allocate(size_t bytes) override { return cpu_.allocate(bytes); }
  void deallocate(void* p, size_t bytes) noexcept override { cpu_.deallocate(p, bytes); }
  void copy(void* dst, const void* src, size_t bytes) override { cpu_.copy(dst, src, bytes); }
  void to_host(void* dst, const void* src, size_t bytes) override { cpu_.to_host(dst, src, bytes); }
  void from_host(void* dst, const void* src, size_t bytes) override { cpu_.from_host(dst, src, bytes); }
  void fill(Tensor& out, double v) override { cpu_.fill(out, v); }
  void cast(const Tensor& x, Tensor& out) override { cpu_.cast(x, out); }
  void unary(UnaryOp op, const Tensor& x, Tensor& out) override { cpu_.unary(op, x, out); }
  void unary_backward(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& gy, Tensor& gx, bool acc) override {
    cpu_.unary_backward(op, x, y, gy, gx, acc);
  }
  void binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) override { cpu_.binary(op, a, b, out); }
  void axpby(double a, const Tensor& x, double b, Tensor& out) override { cpu_.axpby(a, x, b, out); }
  void sum_to(const Tensor& x, Tensor& out, bool acc) override { cpu_.sum_to(x, out, acc); }
  void mean_axis0(const Tensor& x, Tensor& out) override { cpu_.mean_axis0(x, out); }
  void var_axis0(const Tensor& x, Tensor& out) override { cpu_.var_axis0(x, out); }
  void var_axis0_backward(const Tensor& x, const Tensor& gy, Tensor& gx, bool acc) override {
    cpu_.var_axis0_backward(x, gy, gx, acc);
  }
  void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const Tensor& a, const Tensor& b,
            double beta, Tensor& c) override {
    cpu_.gemm(ta, tb, m, n, k, alpha, a, b, beta, c);
  }
  void add_row_vector(const Tensor& b, Tensor& out) override { cpu_.add_row_vector(b, out); }
  void copy_rows(Tensor& dst, int64_t doff, int64_t dstride, const Tensor& src, int64_t soff, int64_t sstride,
                 int64_t rows, int64_t cols, bool acc) override {
    cpu_.copy_rows(dst, doff, dstride, src, soff, sstride, rows, cols, acc);
  }
  void fill_uniform(Tensor& out, const Rng& rng, uint64_t counter, double lo, double hi) override {
    cpu_.fill_uniform(out, rng, counter, lo, hi);
  }

 private:
  Backend& cpu_;
};

// Registers `b` as the CPU's backend (tests only; the built-in one is put back the same way).
void use_cpu_backend(Backend* b) {
  static Backend* current = nullptr;
  current = b;
  register_backend(BackendEntry{Device::CPU, "cpu", [](std::string*) { return true; }, []() -> Backend& { return *current; }});
}
}  // namespace

// The generic versions of the fused ops (the recurrent stack composed of the ops, the sigmoid
// cross-entropy and Adam from the primitives, the batched copies one by one) train TimeGAN
// through its three phases to the CPU backend's losses.
TEST_CASE("TimeGAN trains on a backend that has only the primitives, to the fused backend's losses") {
  Backend& cpu = backend_for(Device::CPU);
  PrimitivesOnly prim(cpu);
  auto run = [&](Backend& be) {
    use_cpu_backend(&be);
    REQUIRE(&backend_for(Device::CPU) == &be);
    CHECK(be.provides_rnn() == (&be == &cpu));
    TimeGan m(tgtest::small_config({3, 8, 5, 8}, 4, 7, DType::F64));
    m.set_data(small_sine(40));
    std::vector<models::StepLosses> out;
    while (!m.done()) out.push_back(m.step());
    return out;
  };
  std::vector<models::StepLosses> fused, generic;
  try {
    generic = run(prim);
    fused = run(cpu);
  } catch (...) {
    use_cpu_backend(&cpu);
    throw;
  }
  use_cpu_backend(&cpu);
  REQUIRE(fused.size() == 12);
  REQUIRE(generic.size() == fused.size());
  for (size_t i = 0; i < fused.size(); ++i) {
    CAPTURE(i);
    const models::StepLosses &f = fused[i], &g = generic[i];
    CHECK(g.phase == f.phase);
    CHECK(g.d_stepped == f.d_stepped);
    for (double models::StepLosses::*l : {&models::StepLosses::e_loss_t0, &models::StepLosses::g_loss_s,
                                          &models::StepLosses::g_loss, &models::StepLosses::d_loss, &models::StepLosses::e_loss}) {
      if (std::isnan(f.*l)) {
        CHECK(std::isnan(g.*l));
        continue;
      }
      CHECK(std::abs(g.*l - f.*l) <= 1e-9 * (1 + std::abs(f.*l)));
    }
  }
}
