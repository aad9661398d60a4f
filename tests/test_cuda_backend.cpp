// The CUDA backend against the CPU backend (the reference semantics of every primitive).
//
// Every test case starts with REQUIRE_CUDA_OR_SKIP(): on a machine without a usable GPU (or a
// build without the CUDA toolkit) it prints "skipped: no CUDA device: <why>" and returns, so
// the suite passes there; with TG_REQUIRE_CUDA=1 in the environment (bench/gpu-check) it fails
// instead, and TG_REQUIRE_CUDNN=1 makes the cuDNN comparison fail in a build without cuDNN.
// With a device, each case runs the same inputs through backend_for(Device::CPU) and
// backend_for(Device::CUDA) and compares. In a TG_CUDA_EMU build the device is the CPU
// emulation of kernels/cuda/emu (always present; smaller recurrent shapes, see tg_test::emulated()).
//
// Tolerances (|cpu - gpu| <= atol + rtol * |cpu| elementwise):
//   primitives      float32 rtol 1e-5 atol 1e-6    float64 rtol 1e-12 atol 1e-13
//     (the GPU's expf/tanhf/logf are within 2 ulp of glibc's; reductions sum in another order)
//   GEMM / sums     float32 rtol 1e-5 atol 1e-5 * sqrt(k)   float64 rtol 1e-12 atol 1e-12
//   recurrent       float32 rtol 2e-4 atol 2e-5    float64 rtol 1e-10 atol 1e-11
//     (the CPU uses Eigen's polynomial logistic/tanh in float; errors compound over T, L);
//     gradients also get rtol/4 * max|tensor| (sums over B*T rows cancel)
//   ours vs cuDNN   float32 rtol 1e-4 atol 1e-5    float64 rtol 1e-10 atol 1e-11
//   TimeGAN losses  float32 rtol 2e-3 after a few steps; float64 rtol 1e-8
//   Philox fill     bit-exact for spans that are powers of two (the product is exact, so FMA
//                   contraction on either side cannot change the result); 1 ulp otherwise.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tg/autograd.h"
#include "tg/backend.h"
#include "tg/ops.h"
#include "tg/optim.h"
#include "tg/random.h"
#include "tg/rnn_spec.h"
#include "tg/tensor.h"
#ifdef TG_HAVE_CUDA
#include "tg/kernels/cuda_backend.h"
#endif
#include "cuda_test.h"

using namespace tg;

namespace {

const DType kTypes[] = {DType::F32, DType::F64};

// TG_CUDA_TEST_QUICK=1 with the emulation (the sanitizer runs of .ci/cuda-emu): fewer and
// smaller shapes, every kernel path still taken (broadcasting, h0, lengths with 0 and T,
// several layers, several blocks).
bool quick() { return tg_test::emulated() && tg_test::env_is_one("TG_CUDA_TEST_QUICK"); }

struct Tol {
  double rtol, atol;
};
Tol prim_tol(DType dt) { return dt == DType::F32 ? Tol{1e-5, 1e-6} : Tol{1e-12, 1e-13}; }
Tol rnn_tol(DType dt) { return dt == DType::F32 ? Tol{2e-4, 2e-5} : Tol{1e-10, 1e-11}; }

std::vector<double> rand_vec(int64_t n, uint32_t seed, double lo = -1.0, double hi = 1.0) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<double> v(static_cast<size_t>(n));
  for (auto& x : v) x = u(rng);
  return v;
}

Tensor rand_t(const Shape& s, DType dt, uint32_t seed, double lo = -1.0, double hi = 1.0) {
  return Tensor::from_vector(s, rand_vec(s.numel(), seed, lo, hi), dt, Device::CPU);
}

Tensor gpu(const Tensor& t) { return t.to(Device::CUDA); }

Backend& cpu_be() { return backend_for(Device::CPU); }
Backend& gpu_be() { return backend_for(Device::CUDA); }

// Elementwise |ref - got| <= atol + rel_to_max * max|ref| + rtol |ref|; reports the worst
// element. rel_to_max covers sums with cancellation (weight gradients over B*T rows).
void check_close(const Tensor& ref, const Tensor& got, Tol tol, const std::string& what, double rel_to_max = 0) {
  REQUIRE(ref.numel() == got.numel());
  const auto a = ref.to_vector();
  const auto b = got.to_vector();
  double maxabs = 0;
  for (double v : a)
    if (std::isfinite(v)) maxabs = std::max(maxabs, std::abs(v));
  double worst = 0;
  size_t wi = 0;
  bool bad = false;
  for (size_t i = 0; i < a.size(); ++i) {
    const double err = std::abs(a[i] - b[i]);
    const double lim = tol.atol + rel_to_max * maxabs + tol.rtol * std::abs(a[i]);
    const bool nan_mismatch = std::isnan(a[i]) != std::isnan(b[i]);
    if (nan_mismatch || err > lim) {
      if (!bad || err / std::max(lim, 1e-300) > worst) {
        worst = err / std::max(lim, 1e-300);
        wi = i;
      }
      bad = true;
    }
  }
  INFO(what << ": worst element " << wi << " cpu " << (a.empty() ? 0 : a[wi]) << " cuda "
            << (b.empty() ? 0 : b[wi]) << " (" << a.size() << " elements)");
  CHECK_FALSE(bad);
}

std::string dname(DType dt) { return dtype_name(dt); }

}  // namespace

// =============================================================================================
TEST_CASE("cuda: device, backend object and caching allocator") {
  REQUIRE_CUDA_OR_SKIP();
#ifdef TG_HAVE_CUDA
  namespace kc = tg::kernels::cuda;
  MESSAGE("device: " << kc::device_description() << "; " << kc::runtime_description());
  CHECK(gpu_be().device() == Device::CUDA);
  CHECK(gpu_be().name() == "cuda");
  // Steady state: the same sizes again come from the free lists, not cudaMalloc.
  for (int i = 0; i < 3; ++i) {
    Tensor a = Tensor::empty(Shape{1000}, DType::F32, Device::CUDA);
    Tensor b = Tensor::empty(Shape{123457}, DType::F64, Device::CUDA);
  }
  const auto before = kc::allocator_stats();
  for (int i = 0; i < 10; ++i) {
    Tensor a = Tensor::empty(Shape{1000}, DType::F32, Device::CUDA);
    Tensor b = Tensor::empty(Shape{123457}, DType::F64, Device::CUDA);
  }
  const auto after = kc::allocator_stats();
  CHECK(after.cuda_mallocs == before.cuda_mallocs);
  CHECK(after.hits >= before.hits + 20);
  // Round trip host -> device -> host.
  Tensor h = rand_t(Shape{7, 5}, DType::F64, 1);
  check_close(h, gpu(h).to(Device::CPU), Tol{0, 0}, "round trip");
#endif
}

TEST_CASE("cuda: fill, cast, unary and unary_backward match the CPU") {
  REQUIRE_CUDA_OR_SKIP();
  for (DType dt : kTypes) {
    const Shape s{3, 7, 11};
    Tensor fc = Tensor::empty(s, dt), fg = Tensor::empty(s, dt, Device::CUDA);
    cpu_be().fill(fc, 0.3);
    gpu_be().fill(fg, 0.3);
    check_close(fc, fg, Tol{0, 0}, "fill " + dname(dt));

    const DType other = dt == DType::F32 ? DType::F64 : DType::F32;
    Tensor x = rand_t(s, dt, 2, -3, 3);
    Tensor cc = Tensor::empty(s, other), cg = Tensor::empty(s, other, Device::CUDA);
    cpu_be().cast(x, cc);
    gpu_be().cast(gpu(x), cg);
    check_close(cc, cg, Tol{0, 0}, "cast from " + dname(dt));

    for (UnaryOp op : kUnaryOps) {
      const bool pos = op == UnaryOp::Sqrt || op == UnaryOp::Log;
      Tensor xc = rand_t(s, dt, 3 + static_cast<uint32_t>(op), pos ? 0.05 : -4, pos ? 4 : 4);
      Tensor xg = gpu(xc);
      Tensor yc = Tensor::empty(s, dt), yg = Tensor::empty(s, dt, Device::CUDA);
      cpu_be().unary(op, xc, yc);
      gpu_be().unary(op, xg, yg);
      check_close(yc, yg, prim_tol(dt), std::string("unary ") + unary_name(op) + " " + dname(dt));
      Tensor gy = rand_t(s, dt, 50);
      for (bool acc : {false, true}) {
        Tensor gxc = rand_t(s, dt, 51), gxg = gpu(gxc);
        cpu_be().unary_backward(op, xc, yc, gy, gxc, acc);
        gpu_be().unary_backward(op, xg, gpu(yc), gpu(gy), gxg, acc);
        check_close(gxc, gxg, prim_tol(dt),
                    std::string("unary_backward ") + unary_name(op) + (acc ? " acc " : " ") + dname(dt));
      }
    }
  }
}

TEST_CASE("cuda: binary with broadcasting, axpby and sum_to match the CPU") {
  REQUIRE_CUDA_OR_SKIP();
  struct Case {
    Shape a, b, out;
  };
  const std::vector<Case> cases = {
      {Shape{4, 6, 5}, Shape{4, 6, 5}, Shape{4, 6, 5}},  // same
      {Shape{4, 6, 5}, Shape{}, Shape{4, 6, 5}},         // scalar b
      {Shape{1}, Shape{4, 6, 5}, Shape{4, 6, 5}},        // scalar a
      {Shape{4, 6, 5}, Shape{5}, Shape{4, 6, 5}},        // row vector
      {Shape{4, 6, 5}, Shape{6, 5}, Shape{4, 6, 5}},     // trailing block
      {Shape{4, 1, 5}, Shape{4, 6, 1}, Shape{4, 6, 5}},  // both broadcast
      {Shape{4, 6, 5}, Shape{4, 1, 5}, Shape{4, 6, 5}},  // middle axis
      {Shape{2, 3, 4, 5}, Shape{3, 1, 5}, Shape{2, 3, 4, 5}},
  };
  for (DType dt : kTypes) {
    for (size_t ci = 0; ci < cases.size(); ++ci) {
      if (quick() && ci % 3 != 0) continue;  // (quick: the same-shape, both-broadcast and 4-D cases)
      const Case& c = cases[ci];
      Tensor a = rand_t(c.a, dt, 10 + static_cast<uint32_t>(ci), 0.5, 2.0);
      Tensor b = rand_t(c.b, dt, 20 + static_cast<uint32_t>(ci), 0.5, 2.0);
      for (BinaryOp op : kBinaryOps) {
        Tensor oc = Tensor::empty(c.out, dt), og = Tensor::empty(c.out, dt, Device::CUDA);
        cpu_be().binary(op, a, b, oc);
        gpu_be().binary(op, gpu(a), gpu(b), og);
        check_close(oc, og, prim_tol(dt),
                    std::string("binary ") + binary_name(op) + " " + c.a.str() + " " + c.b.str() + " " + dname(dt));
      }
      // sum_to: the gradient of broadcasting, reduce out-shaped x back to a and b
      Tensor x = rand_t(c.out, dt, 30 + static_cast<uint32_t>(ci));
      const double k = static_cast<double>(c.out.numel());
      const Tol st{prim_tol(dt).rtol, (dt == DType::F32 ? 1e-5 : 1e-12) * std::sqrt(k)};
      for (const Shape& target : {c.a, c.b})
        for (bool acc : {false, true}) {
          Tensor sc = rand_t(target, dt, 40), sg = gpu(sc);
          cpu_be().sum_to(x, sc, acc);
          gpu_be().sum_to(gpu(x), sg, acc);
          check_close(sc, sg, st, "sum_to " + c.out.str() + " -> " + target.str() + (acc ? " acc " : " ") + dname(dt));
        }
    }
    // axpby: the three code paths; beta = 0 must overwrite NaN
    Tensor x = rand_t(Shape{33, 9}, dt, 60);
    for (auto ab : std::vector<std::pair<double, double>>{{2.5, 0.0}, {1.0, 1.0}, {-0.7, 0.3}}) {
      Tensor oc = rand_t(Shape{33, 9}, dt, 61);
      if (ab.second == 0.0) cpu_be().fill(oc, std::numeric_limits<double>::quiet_NaN());
      Tensor og = gpu(oc);
      cpu_be().axpby(ab.first, x, ab.second, oc);
      gpu_be().axpby(ab.first, gpu(x), ab.second, og);
      check_close(oc, og, prim_tol(dt), "axpby " + dname(dt));
    }
  }
}

TEST_CASE("cuda: reductions over axis 0, gemm, add_row_vector, copy_rows match the CPU") {
  REQUIRE_CUDA_OR_SKIP();
  for (DType dt : kTypes) {
    const Tol red{prim_tol(dt).rtol * 10, dt == DType::F32 ? 1e-5 : 1e-12};
    for (const Shape& s : {quick() ? Shape{16, 24, 6} : Shape{128, 24, 6}, Shape{5, 3}, Shape{1, 4}, Shape{384, 1}}) {
      Tensor x = rand_t(s, dt, 70);
      const std::vector<int64_t> dims = s.dims();  // (a copy: begin and end of one vector)
      std::vector<int64_t> inner_dims(dims.begin() + 1, dims.end());
      const Shape inner(inner_dims);
      Tensor mc = Tensor::empty(inner, dt), mg = Tensor::empty(inner, dt, Device::CUDA);
      cpu_be().mean_axis0(x, mc);
      gpu_be().mean_axis0(gpu(x), mg);
      check_close(mc, mg, red, "mean_axis0 " + s.str() + " " + dname(dt));
      Tensor vc = Tensor::empty(inner, dt), vg = Tensor::empty(inner, dt, Device::CUDA);
      cpu_be().var_axis0(x, vc);
      gpu_be().var_axis0(gpu(x), vg);
      check_close(vc, vg, red, "var_axis0 " + s.str() + " " + dname(dt));
      Tensor gy = rand_t(inner, dt, 71);
      for (bool acc : {false, true}) {
        Tensor gc = rand_t(s, dt, 72), gg = gpu(gc);
        cpu_be().var_axis0_backward(x, gy, gc, acc);
        gpu_be().var_axis0_backward(gpu(x), gpu(gy), gg, acc);
        check_close(gc, gg, red, "var_axis0_backward " + s.str() + " " + dname(dt));
      }
    }
    // gemm: all transposes, beta 0 (C may hold NaN), 1 and 0.5, k = 0
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb)
        for (double beta : {0.0, 1.0, 0.5})
          for (int64_t k : {int64_t{37}, int64_t{quick() ? 310 : 3072}, int64_t{0}}) {
            const int64_t m = 29, n = 72;
            Tensor a = rand_t(ta ? Shape{std::max<int64_t>(k, 1), m} : Shape{m, std::max<int64_t>(k, 1)}, dt, 80);
            Tensor b = rand_t(tb ? Shape{n, std::max<int64_t>(k, 1)} : Shape{std::max<int64_t>(k, 1), n}, dt, 81);
            Tensor cc = rand_t(Shape{m, n}, dt, 82);
            if (beta == 0.0) cpu_be().fill(cc, std::numeric_limits<double>::quiet_NaN());
            Tensor cg = gpu(cc);
            cpu_be().gemm(ta, tb, m, n, k, 0.75, a, b, beta, cc);
            gpu_be().gemm(ta, tb, m, n, k, 0.75, gpu(a), gpu(b), beta, cg);
            const Tol gt{prim_tol(dt).rtol * 10, (dt == DType::F32 ? 1e-5 : 1e-12) * std::sqrt(double(k) + 1)};
            if (k == 0 && beta == 0.0) continue;  // CPU: 0 * NaN handling differs by design; not a model path
            check_close(cc, cg, gt,
                        "gemm ta=" + std::to_string(ta) + " tb=" + std::to_string(tb) + " k=" + std::to_string(k) +
                            " beta=" + std::to_string(beta) + " " + dname(dt));
          }
    {
      Tensor b = rand_t(Shape{6}, dt, 90);
      Tensor oc = rand_t(Shape{4, 5, 6}, dt, 91), og = gpu(oc);
      cpu_be().add_row_vector(b, oc);
      gpu_be().add_row_vector(gpu(b), og);
      check_close(oc, og, prim_tol(dt), "add_row_vector " + dname(dt));
    }
    for (bool acc : {false, true})
      for (int variant = 0; variant < 2; ++variant) {
        // variant 0: strided (slice_time-like); variant 1: dense rows (memcpy path)
        Tensor src = rand_t(Shape{8, 10, 3}, dt, 92);
        Tensor dc = rand_t(Shape{8, 4, 3}, dt, 93), dg = gpu(dc);
        if (variant == 0) {
          cpu_be().copy_rows(dc, 3, 12, src, 6, 30, 8, 7, acc);
          gpu_be().copy_rows(dg, 3, 12, gpu(src), 6, 30, 8, 7, acc);
        } else {
          cpu_be().copy_rows(dc, 12, 12, src, 30, 30, 5, 12, acc);
          gpu_be().copy_rows(dg, 12, 12, gpu(src), 30, 30, 5, 12, acc);
        }
        check_close(dc, dg, prim_tol(dt), "copy_rows variant " + std::to_string(variant) + " " + dname(dt));
      }
  }
}

TEST_CASE("cuda: sigmoid cross-entropy, Adam and Philox fills match the CPU") {
  REQUIRE_CUDA_OR_SKIP();
  for (DType dt : kTypes) {
    const Shape s{384, 24, 1};
    Tensor z = rand_t(s, dt, 100, -30, 30);
    for (double label : {0.0, 1.0}) {
      Tensor oc = Tensor::empty(s, dt), og = Tensor::empty(s, dt, Device::CUDA);
      cpu_be().sigmoid_ce(z, label, oc);
      gpu_be().sigmoid_ce(gpu(z), label, og);
      check_close(oc, og, prim_tol(dt), "sigmoid_ce " + dname(dt));
      Tensor gy = rand_t(s, dt, 101);
      for (bool acc : {false, true}) {
        Tensor gc = rand_t(s, dt, 102), gg = gpu(gc);
        cpu_be().sigmoid_ce_backward(z, label, gy, gc, acc);
        gpu_be().sigmoid_ce_backward(gpu(z), label, gpu(gy), gg, acc);
        check_close(gc, gg, prim_tol(dt), "sigmoid_ce_backward " + dname(dt));
      }
    }
    // Adam: ten steps on the same parameters (m, v carried)
    Tensor pc = rand_t(Shape{1000}, dt, 110), mc = Tensor::zeros(Shape{1000}, dt), vc = Tensor::zeros(Shape{1000}, dt);
    Tensor pg = gpu(pc), mg = gpu(mc), vg = gpu(vc);
    for (int it = 0; it < 10; ++it) {
      Tensor g = rand_t(Shape{1000}, dt, 111 + static_cast<uint32_t>(it));
      AdamStep st;
      st.step_size = 1e-3 * std::sqrt(1 - std::pow(0.999, it + 1)) / (1 - std::pow(0.9, it + 1));
      cpu_be().adam_update(pc, g, mc, vc, st);
      gpu_be().adam_update(pg, gpu(g), mg, vg, st);
    }
    check_close(pc, pg, prim_tol(dt), "adam param " + dname(dt));
    check_close(mc, mg, prim_tol(dt), "adam m " + dname(dt));
    check_close(vc, vg, prim_tol(dt), "adam v " + dname(dt));

    // Philox: bit-exact for power-of-two spans, every lane/counter position, odd sizes.
    for (int64_t n : {int64_t{1}, int64_t{3}, int64_t{4}, int64_t{1001}, int64_t{262147}}) {
      Rng rng(0x1234567890abcdefULL, 77);
      for (auto lohi : std::vector<std::pair<double, double>>{{0.0, 1.0}, {-1.0, 1.0}, {-0.25, 0.25}}) {
        Tensor fc = Tensor::empty(Shape{n}, dt), fg = Tensor::empty(Shape{n}, dt, Device::CUDA);
        const uint64_t counter = (uint64_t{1} << 32) - 3;  // crosses the 32-bit counter word
        cpu_be().fill_uniform(fc, rng, counter, lohi.first, lohi.second);
        gpu_be().fill_uniform(fg, rng, counter, lohi.first, lohi.second);
        check_close(fc, fg, Tol{0, 0}, "philox n=" + std::to_string(n) + " " + dname(dt));
      }
      // a span that is not a power of two: at most one rounding apart (FMA vs mul+add)
      Tensor fc = Tensor::empty(Shape{n}, dt), fg = Tensor::empty(Shape{n}, dt, Device::CUDA);
      cpu_be().fill_uniform(fc, rng, 5, -0.3, 0.7);
      gpu_be().fill_uniform(fg, rng, 5, -0.3, 0.7);
      check_close(fc, fg, Tol{dt == DType::F32 ? 1.2e-7 : 2.3e-16, dt == DType::F32 ? 6e-8 : 1.2e-16},
                  "philox general span " + dname(dt));
    }
  }
}

TEST_CASE("cuda: gather_rows, max_last, count_above and the gated Adam match the CPU") {
  REQUIRE_CUDA_OR_SKIP();
  for (DType dt : kTypes) {
    // gather_rows: repeated and out-of-order indices, rows of 5
    Tensor src = rand_t(Shape{9, 5}, dt, 120);
    const std::vector<int64_t> idx = {8, 0, 3, 3, 7, 1};
    Tensor dc = Tensor::empty(Shape{6, 5}, dt), dg = Tensor::empty(Shape{6, 5}, dt, Device::CUDA);
    cpu_be().gather_rows(dc, src, idx, 5);
    gpu_be().gather_rows(dg, gpu(src), idx, 5);
    check_close(dc, dg, Tol{0, 0}, "gather_rows " + dname(dt));
    for (size_t i = 0; i < idx.size(); ++i)
      for (int64_t c = 0; c < 5; ++c)
        CHECK(dc.to_vector()[i * 5 + static_cast<size_t>(c)] == src.to_vector()[static_cast<size_t>(idx[i] * 5 + c)]);
    // max_last, with a row holding an infinity and a row holding a NaN (both give 0)
    std::vector<double> xv = rand_vec(7 * 4, 121, -50, 50);
    xv[4 * 2 + 1] = std::numeric_limits<double>::infinity();
    xv[4 * 5 + 0] = std::numeric_limits<double>::quiet_NaN();
    Tensor x = Tensor::from_vector(Shape{7, 4}, xv, dt);
    Tensor mc = Tensor::empty(Shape{7, 1}, dt), mg = Tensor::empty(Shape{7, 1}, dt, Device::CUDA);
    cpu_be().max_last(x, 4, mc);
    gpu_be().max_last(gpu(x), 4, mg);
    check_close(mc, mg, Tol{0, 0}, "max_last " + dname(dt));
    CHECK(mc.to_vector()[2] == 0.0);
    CHECK(mc.to_vector()[5] == 0.0);
    const std::vector<double> xr = x.to_vector();  // (rounded to dt)
    CHECK(mc.to_vector()[0] == *std::max_element(xr.begin(), xr.begin() + 4));
    // Adam::step_if against Adam::step where the value is above the threshold, both forms
    for (auto form : {AdamOptions::Form::Tf1, AdamOptions::Form::PyTorch}) {
      AdamOptions o;
      o.form = form;
      ParamGroup gc, gg;
      Var pc = gc.add("p", rand_t(Shape{300}, dt, 130)), pg = gg.add("p", gpu(rand_t(Shape{300}, dt, 130)));
      Adam ac(gc, o), ag(gg, o);
      ag.set_steps(3);
      ac.set_steps(3);
      const double values[] = {0.5, 0.1, 0.2, 0.05, 0.3};  // threshold 0.15: steps 1, 3, 5
      for (int it = 0; it < 5; ++it) {
        Tensor g = rand_t(Shape{300}, dt, 131 + static_cast<uint32_t>(it));
        pc.zero_grad();
        pg.zero_grad();
        accumulate_grad(*pc.node(), g);
        accumulate_grad(*pg.node(), gpu(g));
        if (values[it] > 0.15) ac.step();
        ag.step_if(Tensor::full(Shape{}, values[it], dt, Device::CUDA), 0.15);
      }
      ag.sync_steps();
      CHECK(ag.steps() == 6);
      CHECK(ac.steps() == 6);
      check_close(pc.value(), pg.value(), prim_tol(dt), "gated adam param " + dname(dt));
      check_close(ac.m()[0], ag.m()[0], prim_tol(dt), "gated adam m " + dname(dt));
      check_close(ac.v()[0], ag.v()[0], prim_tol(dt), "gated adam v " + dname(dt));
      // the generic versions (the host reads the value): the same decisions on the CPU
      Tensor cnt = Tensor::zeros(Shape{1}, DType::F64), cntg = gpu(cnt);
      for (double v : values) {
        cpu_be().count_above(Tensor::full(Shape{}, v, dt), 0.15, cnt);
        gpu_be().count_above(Tensor::full(Shape{}, v, dt, Device::CUDA), 0.15, cntg);
      }
      CHECK(cnt.item() == 3.0);
      CHECK(cntg.item() == 3.0);
    }
  }
}

TEST_CASE("cuda: broadcast_rows, sum_row_groups and the multi-tensor Adam match the CPU") {
  REQUIRE_CUDA_OR_SKIP();
  for (DType dt : kTypes) {
    // broadcast_rows into the last 3 of 7 columns of [4, 5, 7]; sum_row_groups back (exact: the
    // same additions in the same order)
    const int64_t B = 4, T = 5, w = 7, C = 3;
    Tensor src = rand_t(Shape{B, C}, dt, 140), base = rand_t(Shape{B, T, w}, dt, 141);
    Tensor oc = base.clone(), og = gpu(base);
    cpu_be().broadcast_rows(oc, w - C, w, src, C, B, T, C);
    gpu_be().broadcast_rows(og, w - C, w, gpu(src), C, B, T, C);
    check_close(oc, og, Tol{0, 0}, "broadcast_rows " + dname(dt));
    const std::vector<double> ov = oc.to_vector(), sv = src.to_vector(), bv = base.to_vector();
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < T; ++t)
        for (int64_t c = 0; c < w; ++c) {
          const size_t at = static_cast<size_t>((b * T + t) * w + c);
          CHECK(ov[at] == (c < w - C ? bv[at] : sv[static_cast<size_t>(b * C + c - (w - C))]));
        }
    for (int64_t steps : {int64_t{1}, T}) {
      Tensor sc = Tensor::empty(Shape{B, C}, dt), sg = Tensor::empty(Shape{B, C}, dt, Device::CUDA);
      cpu_be().sum_row_groups(sc, C, base, w - C, w, B, steps, C);
      gpu_be().sum_row_groups(sg, C, gpu(base), w - C, w, B, steps, C);
      check_close(sc, sg, Tol{0, 0}, "sum_row_groups T=" + std::to_string(steps) + " " + dname(dt));
      const std::vector<double> sum = sc.to_vector();
      for (int64_t b = 0; b < B; ++b)
        for (int64_t c = 0; c < C; ++c) {
          // (rows b*steps + t of base viewed as [B*T, w]: groups of `steps` consecutive rows)
          double want = bv[static_cast<size_t>(b * steps * w + (w - C) + c)];
          for (int64_t t = 1; t < steps; ++t) want += bv[static_cast<size_t>((b * steps + t) * w + (w - C) + c)];
          CHECK(sum[static_cast<size_t>(b * C + c)] == doctest::Approx(want).epsilon(1e-5));
        }
    }
    // Adam over 41 parameters of different sizes (more than one launch's table), plain and gated
    for (bool gated : {false, true}) {
      ParamGroup gc, gg;
      std::vector<Var> pc, pg;
      for (int i = 0; i < 41; ++i) {
        const Shape sh{1 + (i * 97) % 700};
        Tensor init = rand_t(sh, dt, 150 + static_cast<uint32_t>(i));
        pc.push_back(gc.add("p" + std::to_string(i), init));
        pg.push_back(gg.add("p" + std::to_string(i), gpu(init)));
      }
      Adam ac(gc, AdamOptions{}), ag(gg, AdamOptions{});
      for (int it = 0; it < 4; ++it) {
        for (size_t i = 0; i < pc.size(); ++i) {
          if (i == 7 && it == 1) continue;  // a parameter without a gradient this step is left alone
          Tensor g = rand_t(pc[i].shape(), dt, 300 + static_cast<uint32_t>(it * 50 + static_cast<int>(i)));
          accumulate_grad(*pc[i].node(), g);
          accumulate_grad(*pg[i].node(), gpu(g));
        }
        ac.step();
        if (gated)
          ag.step_if(Tensor::full(Shape{}, 1.0, dt, Device::CUDA), 0.15);
        else
          ag.step();
        for (size_t i = 0; i < pc.size(); ++i) {
          pc[i].zero_grad();
          pg[i].zero_grad();
        }
      }
      for (size_t i = 0; i < pc.size(); ++i) {
        check_close(pc[i].value(), pg[i].value(), prim_tol(dt), "multi adam param " + std::to_string(i) + " " + dname(dt));
        check_close(ac.m()[i], ag.m()[i], prim_tol(dt), "multi adam m " + std::to_string(i) + " " + dname(dt));
      }
    }
  }
}

TEST_CASE("cuda: autograd op gradients match the CPU") {
  REQUIRE_CUDA_OR_SKIP();
  for (DType dt : kTypes) {
    // A small graph through every differentiable op family: linear, broadcasting binary ops,
    // unary ops, batch moments, slicing/concat/append_to_steps, losses.
    auto run = [&](Device dev, std::vector<Tensor>& grads) {
      Var x(Tensor::from_vector(Shape{6, 5, 4}, rand_vec(120, 200), dt, dev), true);
      Var w(Tensor::from_vector(Shape{4, 3}, rand_vec(12, 201), dt, dev), true);
      Var b(Tensor::from_vector(Shape{3}, rand_vec(3, 202), dt, dev), true);
      Var h = tg::sigmoid(linear(x, w, b));                 // [6,5,3]
      Var u = tg::tanh(h * 1.7) + tg::square(h) - tg::exp(h * 0.3) / (tg::abs(h) + 1.0);
      Var v = tg::sqrt(var_batch(u) + 1e-3) + tg::log(mean_batch(h) + 1.0);
      Var s = concat_batch({slice_batch(u, 0, 2), slice_batch(u, 4, 6)});
      Var st = slice_time(s, 1, 4);
      Var loss = mean(v) + mse(st, slice_time(slice_batch(h, 1, 5), 0, 3)) + l1(h, u) +
                 mean(sigmoid_cross_entropy(st, 1.0)) + sum(last_valid_step(u, {5, 1, 3, 0 + 2, 4, 5})) * 0.1;
      // per-sequence features appended to every step (as a condition is): gradients to both
      loss = loss + mean(tg::square(append_to_steps(h, reshape(slice_time(u, 2, 3), Shape{6, 3})) + (-0.2))) * 0.3;
      // features picked and reordered along the last axis (as the categorical heads are)
      loss = loss + mean(tg::square(concat_last({slice_last(u, 2, 1), slice_last(h, 0, 2), u}))) * 0.2;
      backward(loss);
      grads = {loss.value(), x.grad(), w.grad(), b.grad()};
    };
    std::vector<Tensor> gc, gg;
    run(Device::CPU, gc);
    run(Device::CUDA, gg);
    const char* names[] = {"loss", "dx", "dw", "db"};
    for (size_t i = 0; i < gc.size(); ++i)
      check_close(gc[i], gg[i], Tol{prim_tol(dt).rtol * 10, prim_tol(dt).atol * 10},
                  std::string("autograd ") + names[i] + " " + dname(dt));
  }
}

// =============================================================================================
// Recurrent stacks through the backend interface
// =============================================================================================
namespace {

struct RnnCase {
  Cell cell;
  int L, B, T, in, H;
  std::vector<int32_t> len;  // empty = full
  bool h0;
  bool grad_h0;
};

struct RnnOut {
  Tensor y, hT, cT, gx, gh0, gc0;
  std::vector<Tensor> gw;
};

// Runs forward + backward of `c` on device `dev` with deterministic inputs. frozen: the
// backward gets an empty weight-gradient vector (frozen weights, backend.h), as ops.cpp passes
// for a network that is not being trained while its input needs a gradient.
// between: called after the forward and again after the backward (e.g. to flip the GRU
// implementation for the backward only).
RnnOut run_rnn(const RnnCase& c, DType dt, Device dev, bool frozen = false, void (*between)() = nullptr) {
  Backend& be = backend_for(dev);
  auto put = [&](const Tensor& t) { return dev == Device::CPU ? t : t.to(dev); };
  RnnSpec call{c.cell, c.L, c.H, c.B, c.T, c.in};
  std::vector<Tensor> w, gw;
  uint32_t seed = 300;
  for (int l = 0; l < c.L; ++l)
    for (auto& sh : rnn_weight_shapes(c.cell, l == 0 ? c.in : c.H, c.H)) {
      w.push_back(put(rand_t(Shape(sh), dt, seed++, -0.6, 0.6)));
      gw.push_back(put(rand_t(Shape(sh), dt, seed++ + 1000)));  // accumulated into
    }
  const bool has_c = cell_has_c(c.cell);
  Tensor x = put(rand_t(Shape{c.B, c.T, c.in}, dt, 400));
  Tensor h0 = c.h0 ? put(rand_t(Shape{c.L, c.B, c.H}, dt, 401)) : Tensor();
  Tensor c0 = c.h0 && has_c ? put(rand_t(Shape{c.L, c.B, c.H}, dt, 402)) : Tensor();
  RnnOut o;
  o.y = Tensor::empty(Shape{c.B, c.T, c.H}, dt, dev);
  o.hT = Tensor::empty(Shape{c.L, c.B, c.H}, dt, dev);
  o.cT = has_c ? Tensor::empty(Shape{c.L, c.B, c.H}, dt, dev) : Tensor();
  const int32_t* lp = c.len.empty() ? nullptr : c.len.data();
  const std::shared_ptr<RnnSaved> saved = be.rnn_forward(call, w, x, lp, h0, c0, o.y, o.hT, o.cT, true);
  REQUIRE(static_cast<bool>(saved));
  if (between) between();
  Tensor gy = put(rand_t(Shape{c.B, c.T, c.H}, dt, 403));
  o.gx = Tensor::empty(Shape{c.B, c.T, c.in}, dt, dev);
  o.gh0 = c.grad_h0 ? Tensor::empty(Shape{c.L, c.B, c.H}, dt, dev) : Tensor();
  o.gc0 = c.grad_h0 && has_c ? Tensor::empty(Shape{c.L, c.B, c.H}, dt, dev) : Tensor();
  if (frozen) {
    std::vector<Tensor> none;
    be.rnn_backward(call, w, x, lp, h0, c0, *saved, gy, o.gx, none, o.gh0, o.gc0);
  } else {
    be.rnn_backward(call, w, x, lp, h0, c0, *saved, gy, o.gx, gw, o.gh0, o.gc0);
    o.gw = gw;
  }
  if (between) between();
  // inference mode (no reserve) must give the same y
  Tensor y2 = Tensor::empty(Shape{c.B, c.T, c.H}, dt, dev);
  Tensor hT2, cT2;
  CHECK(!be.rnn_forward(call, w, x, lp, h0, c0, y2, hT2, cT2, false));
  // (cuDNN may pick another algorithm for inference: allow rounding differences)
  check_close(o.y, y2, dt == DType::F32 ? Tol{1e-5, 1e-6} : Tol{1e-12, 1e-13}, "inference y vs training y");
  return o;
}

void compare_rnn(const RnnOut& a, const RnnOut& b, Tol tol, const std::string& what) {
  check_close(a.y, b.y, tol, what + " y");
  check_close(a.hT, b.hT, tol, what + " hT");
  if (a.cT.defined()) check_close(a.cT, b.cT, tol, what + " cT");
  // gradients are sums over B*T rows with cancellation: an extra allowance of rtol/4 of the
  // tensor's largest magnitude
  const Tol gt{tol.rtol, tol.atol * 4};
  const double rm = tol.rtol / 4;
  check_close(a.gx, b.gx, gt, what + " gx", rm);
  for (size_t i = 0; i < a.gw.size(); ++i)
    check_close(a.gw[i], b.gw[i], gt, what + " gw[" + std::to_string(i) + "]", rm);
  if (a.gh0.defined()) check_close(a.gh0, b.gh0, gt, what + " gh0", rm);
  if (a.gc0.defined()) check_close(a.gc0, b.gc0, gt, what + " gc0", rm);
}

std::vector<int32_t> mixed_lengths(int B, int T) {
  std::vector<int32_t> len(static_cast<size_t>(B));
  for (int b = 0; b < B; ++b) len[static_cast<size_t>(b)] = (b * 7 + 3) % (T + 1);  // includes 0 and T
  len[0] = T;
  if (B > 1) len[1] = 0;
  return len;
}

std::vector<RnnCase> rnn_cases(Cell cell) {
  std::vector<RnnCase> v;
  v.push_back({cell, 1, 5, 7, 5, 8, {}, false, false});
  if (quick()) {
    v.push_back({cell, 2, 9, 5, 6, 24, mixed_lengths(9, 5), true, true});
    v.push_back({cell, 2, 4, 3, 24, 24, std::vector<int32_t>(4, 0), true, true});  // all length 0
    return v;
  }
  v.push_back({cell, 3, 37, 9, 6, 24, {}, true, true});
  v.push_back({cell, 2, 37, 9, 6, 24, mixed_lengths(37, 9), true, true});
  if (!tg_test::emulated()) {
    v.push_back({cell, 3, 130, 24, 28, 24, mixed_lengths(130, 24), false, true});
  } else {
    v.push_back({cell, 3, 21, 12, 7, 24, mixed_lengths(21, 12), false, true});
  }
  v.push_back({cell, 2, 16, 6, 24, 24, std::vector<int32_t>(16, 0), true, true});  // all length 0
  if (!tg_test::emulated()) v.push_back({cell, 3, 128, 24, 5, 24, {}, false, false});      // TimeGAN shape
  return v;
}

std::string case_name(const RnnCase& c, DType dt) {
  std::ostringstream s;
  s << cell_name(c.cell) << " L" << c.L << " B" << c.B << " T" << c.T << " in" << c.in << " H" << c.H
    << (c.len.empty() ? " full" : " lengths") << (c.h0 ? " h0" : "") << " " << dtype_name(dt);
  return s.str();
}

}  // namespace

TEST_CASE("cuda: GRU kernels (both forms) forward and backward match the CPU") {
  REQUIRE_CUDA_OR_SKIP();
#ifdef TG_HAVE_CUDA
  tg::kernels::cuda::set_gru_impl(tg::kernels::cuda::GruImpl::Ours);
#endif
  for (Cell cell : {Cell::GruTf1, Cell::GruResetAfter})
    for (DType dt : kTypes)
      for (const RnnCase& c : rnn_cases(cell)) {
        const std::string what = case_name(c, dt);
        CAPTURE(what);
        compare_rnn(run_rnn(c, dt, Device::CPU), run_rnn(c, dt, Device::CUDA), rnn_tol(dt), what);
      }
}

TEST_CASE("cuda: GRU results do not depend on the rows per block") {
  REQUIRE_CUDA_OR_SKIP();
#ifdef TG_HAVE_CUDA
  namespace kc = tg::kernels::cuda;
  kc::set_gru_impl(kc::GruImpl::Ours);
  for (Cell cell : {Cell::GruTf1, Cell::GruResetAfter}) {
    const int B = quick() ? 9 : tg_test::emulated() ? 23 : 67, T = quick() ? 5 : tg_test::emulated() ? 7 : 11;
    RnnCase c{cell, 2, B, T, 5, 24, mixed_lengths(B, T), true, true};
    kc::set_gru_rows_per_block(1);
    RnnOut ref = run_rnn(c, DType::F64, Device::CUDA);
    for (int r : {3, 16, 1000}) {
      kc::set_gru_rows_per_block(r);
      compare_rnn(ref, run_rnn(c, DType::F64, Device::CUDA), Tol{1e-13, 1e-14},
                  std::string(cell_name(cell)) + " rows per block " + std::to_string(r));
    }
    kc::set_gru_rows_per_block(0);
  }
#endif
}

TEST_CASE("cuda: the step-wise GRU, forced at small sizes, matches the persistent kernels and the CPU") {
  // The path that runs where the recurrent weights do not fit shared memory (kernels/cuda/gru.cu),
  // forced here where both paths can run: same reserve, so a forward of one path and a backward
  // of the other must agree too. Lengths < T, 0 and T; h0 and its gradient; two layers.
  REQUIRE_CUDA_OR_SKIP();
#ifdef TG_HAVE_CUDA
  namespace kc = tg::kernels::cuda;
  kc::set_gru_impl(kc::GruImpl::Ours);
  struct Restore {
    ~Restore() { kc::set_gru_path(kc::GruPath::Auto); }
  } restore;
  const int B = quick() ? 6 : 11, T = quick() ? 4 : 6, H = quick() ? 12 : 24;
  for (Cell cell : {Cell::GruTf1, Cell::GruResetAfter})
    for (DType dt : kTypes) {
      const RnnCase c{cell, 2, B, T, 5, H, mixed_lengths(B, T), true, true};
      const std::string what = case_name(c, dt);
      CAPTURE(what);
      const Tol same = dt == DType::F32 ? Tol{1e-5, 1e-6} : Tol{1e-12, 1e-13};  // (sums in another order)
      kc::set_gru_path(kc::GruPath::Persistent);
      kc::reset_gru_impls_run();
      const RnnOut persistent = run_rnn(c, dt, Device::CUDA);
      CHECK(kc::gru_impls_run() == "persistent");
      kc::set_gru_path(kc::GruPath::Stepwise);
      kc::reset_gru_impls_run();
      const RnnOut stepwise = run_rnn(c, dt, Device::CUDA);
      CHECK(kc::gru_impls_run() == "stepwise");
      compare_rnn(run_rnn(c, dt, Device::CPU), stepwise, rnn_tol(dt), what + " step-wise vs CPU");
      compare_rnn(persistent, stepwise, same, what + " step-wise vs persistent");
      // forward of one path, backward of the other (then the inference forward of the first)
      void (*flip)() = [] {
        kc::set_gru_path(kc::gru_path() == kc::GruPath::Stepwise ? kc::GruPath::Persistent : kc::GruPath::Stepwise);
      };
      compare_rnn(persistent, run_rnn(c, dt, Device::CUDA, false, flip), same, what + " step-wise forward, persistent backward");
      kc::set_gru_path(kc::GruPath::Persistent);
      compare_rnn(persistent, run_rnn(c, dt, Device::CUDA, false, flip), same, what + " persistent forward, step-wise backward");
      CHECK(kc::gru_impls_run() == "persistent+stepwise");
      // frozen weights: only the input gradient
      kc::set_gru_path(kc::GruPath::Stepwise);
      const RnnOut frozen = run_rnn(c, dt, Device::CUDA, true);
      check_close(persistent.gx, frozen.gx, Tol{same.rtol, same.atol * 4}, what + " frozen gx", same.rtol / 4);
    }
  // The persistent kernel forced where its weights do not fit: an error that names the knob.
  kc::set_gru_path(kc::GruPath::Persistent);
  const RnnCase big{Cell::GruTf1, 1, 2, 2, 3, 256, {}, false, false};
  try {
    (void)run_rnn(big, DType::F64, Device::CUDA);
    FAIL("the persistent GRU at hidden 256 in double did not throw");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find("TG_GRU_PATH") != std::string::npos);
  }
#endif
}

TEST_CASE("cuda: LSTM and LN-LSTM forward and backward match the CPU") {
  REQUIRE_CUDA_OR_SKIP();
  for (Cell cell : {Cell::Lstm, Cell::LstmLn})
    for (DType dt : kTypes)
      for (const RnnCase& c : rnn_cases(cell)) {
        const std::string what = case_name(c, dt);
        CAPTURE(what);
        compare_rnn(run_rnn(c, dt, Device::CPU), run_rnn(c, dt, Device::CUDA), rnn_tol(dt), what);
      }
}

TEST_CASE("cuda: frozen weights (no weight gradients) give the CPU's input gradients, every cell") {
  REQUIRE_CUDA_OR_SKIP();
#ifdef TG_HAVE_CUDA
  tg::kernels::cuda::set_gru_impl(tg::kernels::cuda::GruImpl::Ours);
#endif
  for (Cell cell : {Cell::GruTf1, Cell::GruResetAfter, Cell::Lstm, Cell::LstmLn})
    for (DType dt : kTypes) {
      for (const RnnCase& c : {RnnCase{cell, 3, 9, 6, 4, 8, mixed_lengths(9, 6), true, true},
                               RnnCase{cell, 1, 5, 4, 3, 6, {}, false, false}}) {
        const std::string what = case_name(c, dt) + " frozen";
        CAPTURE(what);
        const RnnOut cpu = run_rnn(c, dt, Device::CPU, true);
        const RnnOut dev = run_rnn(c, dt, Device::CUDA, true);
        CHECK(dev.gw.empty());
        compare_rnn(cpu, dev, rnn_tol(dt), what);
        // and the same input gradients as with trained weights
        compare_rnn(cpu, [&] {
          RnnOut o = run_rnn(c, dt, Device::CUDA, false);
          o.gw.clear();
          return o;
        }(), rnn_tol(dt), what + " vs trained");
      }
    }
}

TEST_CASE("cuda: our reset-after GRU matches cuDNN's") {
  REQUIRE_CUDA_OR_SKIP();
#ifdef TG_HAVE_CUDA
  namespace kc = tg::kernels::cuda;
  if (!kc::have_cudnn()) {
    if (tg_test::env_is_one("TG_REQUIRE_CUDNN")) FAIL("TG_REQUIRE_CUDNN=1 but this build has no cuDNN");
    MESSAGE("skipped: this build has no cuDNN");
    return;
  }
  for (DType dt : kTypes)
    for (const RnnCase& c : rnn_cases(Cell::GruResetAfter)) {
      const std::string what = case_name(c, dt) + " ours vs cudnn";
      CAPTURE(what);
      kc::set_gru_impl(kc::GruImpl::Ours);
      RnnOut ours = run_rnn(c, dt, Device::CUDA);
      kc::set_gru_impl(kc::GruImpl::Cudnn);
      RnnOut theirs = run_rnn(c, dt, Device::CUDA);
      kc::set_gru_impl(kc::GruImpl::Ours);
      compare_rnn(ours, theirs, dt == DType::F32 ? Tol{1e-4, 1e-5} : Tol{1e-10, 1e-11}, what);
      // The backward runs the implementation its forward ran (recorded in what the forward
      // saved), whatever is selected in between.
      kc::set_gru_impl(kc::GruImpl::Cudnn);
      RnnOut switched = run_rnn(c, dt, Device::CUDA, false, [] {
        kc::set_gru_impl(kc::gru_impl() == kc::GruImpl::Cudnn ? kc::GruImpl::Ours : kc::GruImpl::Cudnn);
      });
      kc::set_gru_impl(kc::GruImpl::Ours);
      compare_rnn(theirs, switched, prim_tol(dt), what + " switched to ours for the backward");
    }
#endif
}

TEST_CASE("cuda: autograd rnn op through the CUDA backend matches the CPU") {
  REQUIRE_CUDA_OR_SKIP();
  for (Cell cell : {Cell::GruTf1, Cell::GruResetAfter, Cell::Lstm, Cell::LstmLn})
  for (bool frozen : {false, true}) {  // frozen: weights need no gradient, x and h0 do
    CAPTURE(frozen);
    const DType dt = DType::F64;
    auto run = [&](Device dev, std::vector<Tensor>& out) {
      const int L = 2, B = 9, T = 6, in = 4, H = 8;
      std::vector<Var> w;
      uint32_t seed = 500;
      for (int l = 0; l < L; ++l)
        for (auto& sh : rnn_weight_shapes(cell, l == 0 ? in : H, H))
          w.emplace_back(Tensor::from_vector(Shape(sh), rand_vec(Shape(sh).numel(), seed++, -0.5, 0.5), dt, dev),
                         !frozen);
      Var x(Tensor::from_vector(Shape{B, T, in}, rand_vec(B * T * in, 600), dt, dev), true);
      Var h0(Tensor::from_vector(Shape{L, B, H}, rand_vec(L * B * H, 601), dt, dev), true);
      std::vector<int32_t> len{6, 0, 3, 6, 1, 5, 6, 2, 4};
      Var y = rnn(RnnSpec{cell, L, H}, x, w, len, h0);
      std::vector<int32_t> last(len);  // last_valid_step needs lengths >= 1
      for (auto& v : last) v = std::max(v, 1);
      Var loss = mean(square(y)) + mean(last_valid_step(y, last));
      backward(loss);
      out = {loss.value(), x.grad(), h0.grad()};
      if (!frozen)
        for (auto& wi : w) out.push_back(wi.grad());
    };
    std::vector<Tensor> a, b;
    run(Device::CPU, a);
    run(Device::CUDA, b);
    for (size_t i = 0; i < a.size(); ++i)
      check_close(a[i], b[i], rnn_tol(dt), std::string("rnn op ") + cell_name(cell) + " output " + std::to_string(i));
  }
}
