// The kernel lab's registry of recurrent-stack variants (rnn_variants.h).
#include "reference/rnn_variants.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <sstream>

#include "reference/rnn_reference.h"
#include "tg/kernels/rnn_cpu.h"

namespace tg::lab {
namespace kc = tg::kernels::cpu;
namespace {

int64_t numel(const std::vector<int64_t>& shape) {
  int64_t p = 1;
  for (auto d : shape) p *= d;
  return p;
}

std::vector<const float*> cptrs(const std::vector<std::vector<float>>& v) {
  std::vector<const float*> p;
  for (auto& t : v) p.push_back(t.data());
  return p;
}

// Runs with GemmKernel k for the duration of one call, then restores the previous choice.
struct KernelScope {
  kc::GemmKernel saved;
  explicit KernelScope(kc::GemmKernel k) : saved(kc::gemm_kernel()) { kc::set_gemm_kernel(k); }
  ~KernelScope() { kc::set_gemm_kernel(saved); }
  KernelScope(const KernelScope&) = delete;
  KernelScope& operator=(const KernelScope&) = delete;
};

// The stack's buffers as the CPU kernels take them (tg/kernels/rnn_io.h).
tg::kernels::RnnIo<float> io_of(StackCase& c, const std::vector<const float*>& wp) {
  const bool hc = cell_has_c(c.s.cell);
  tg::kernels::RnnIo<float> io;
  io.weights = wp.data();
  io.x = c.x.data();
  io.lengths = c.len.empty() ? nullptr : c.len.data();
  io.h0 = c.h0.data();
  io.c0 = hc ? c.c0.data() : nullptr;
  io.y = c.y.data();
  io.hT = c.hT.data();
  io.cT = hc ? c.cT.data() : nullptr;
  io.reserve = c.reserve.data();
  return io;
}

void cpu_forward(StackCase& c, kc::GemmKernel k) {
  KernelScope ks(k);
  auto wp = cptrs(c.w);
  c.slices = kc::rnn_forward<float>(c.s, io_of(c, wp));
}

void cpu_backward(StackCase& c, kc::GemmKernel k) {
  KernelScope ks(k);
  const bool hc = cell_has_c(c.s.cell);
  auto wp = cptrs(c.w);
  std::vector<float*> gwp;
  for (auto& t : c.gw) gwp.push_back(t.data());
  tg::kernels::RnnIo<float> io = io_of(c, wp);
  io.slices = c.slices;
  io.gy = c.gy.data();
  io.gx = c.gx.data();
  io.gweights = gwp.data();
  io.gh0 = c.gh0.data();
  io.gc0 = hc ? c.gc0.data() : nullptr;
  kc::rnn_backward<float>(c.s, io);
}

reference::RnnProblem to_reference(const StackCase& c) {
  reference::RnnProblem p;
  p.cell = c.s.cell;
  p.L = c.s.layers, p.B = c.s.batch, p.T = c.s.seq, p.in = c.s.input, p.H = c.s.hidden;
  p.len = c.len;
  for (auto& t : c.w) p.w.emplace_back(t.begin(), t.end());
  p.x.assign(c.x.begin(), c.x.end());
  p.h0.assign(c.h0.begin(), c.h0.end());
  if (cell_has_c(c.s.cell)) p.c0.assign(c.c0.begin(), c.c0.end());
  return p;
}

void reference_forward(StackCase& c) {
  const auto r = reference::rnn_forward(to_reference(c));
  std::copy(r.y.begin(), r.y.end(), c.y.begin());
  std::copy(r.hT.begin(), r.hT.end(), c.hT.begin());
  if (cell_has_c(c.s.cell)) std::copy(r.cT.begin(), r.cT.end(), c.cT.begin());
}

RnnVariant cpu_variant(const char* name, const char* what, kc::GemmKernel k) {
  RnnVariant v;
  v.name = name;
  v.description = what;
  v.unavailable = kc::gemm_kernel_unavailable_reason(k);
  v.forward = [k](StackCase& c) { cpu_forward(c, k); };
  v.backward = [k](StackCase& c) { cpu_backward(c, k); };
  return v;
}

std::vector<RnnVariant> build_registry() {
  std::vector<RnnVariant> r;
  RnnVariant ref;
  ref.name = "reference";
  ref.description = "double-precision scalar reference (kernels/reference), forward only";
  ref.forward = reference_forward;
  r.push_back(ref);
  r.push_back(cpu_variant("cpu-eigen", "CPU stacks, Eigen products (TG_CPU_GEMM=eigen)", kc::GemmKernel::Eigen));
  r.push_back(cpu_variant("cpu-avx2", "CPU stacks, AVX2+FMA micro-kernels (TG_CPU_GEMM=avx2)", kc::GemmKernel::Avx2));
  r.push_back(cpu_variant("cpu-avx512", "CPU stacks, AVX-512 micro-kernels (TG_CPU_GEMM=avx512)", kc::GemmKernel::Avx512));
  r.push_back(cpu_variant("cpu-avx512-layout",
                          "CPU stacks, the AVX-512 blocking on AVX2 registers (TG_CPU_GEMM=avx512-layout)",
                          kc::GemmKernel::Avx512Layout));
#ifdef TG_HAVE_CUDA
  for (const char* n : {"cuda", "cudnn"}) {
    RnnVariant v;
    v.name = n;
    v.description = std::string("CUDA backend, TG_GRU_IMPL=") + (std::string(n) == "cuda" ? "ours" : "cudnn");
    v.unavailable = "listed only: validated by test_cuda_backend, timed by bench_gru_cuda";
    r.push_back(v);
  }
#endif
  return r;
}

template <typename V>
void fill(V& v, std::mt19937& rng, double scale) {
  std::uniform_real_distribution<double> u(-scale, scale);
  for (auto& e : v) e = static_cast<typename V::value_type>(u(rng));
}

}  // namespace

StackCase make_case(Cell cell, int L, int B, int T, int in, int H, uint32_t seed, double scale) {
  StackCase c;
  c.s = RnnSpec{cell, L, H, B, T, in};
  std::mt19937 rng(seed);
  for (int l = 0; l < L; ++l)
    for (auto& sh : rnn_weight_shapes(cell, l == 0 ? in : H, H)) {
      c.w.emplace_back(static_cast<size_t>(numel(sh)));
      fill(c.w.back(), rng, scale);
      c.gw.emplace_back(static_cast<size_t>(numel(sh)), 0.f);
    }
  const size_t state = static_cast<size_t>(L) * B * H;
  c.x.resize(static_cast<size_t>(B) * T * in);
  c.h0.resize(state);
  c.c0.resize(state);
  c.gy.resize(static_cast<size_t>(B) * T * H);
  fill(c.x, rng, scale);
  fill(c.h0, rng, scale);
  fill(c.c0, rng, scale);
  fill(c.gy, rng, 1.0);
  c.y.resize(c.gy.size());
  c.hT.resize(state);
  c.cT.resize(state);
  c.gx.resize(c.x.size());
  c.gh0.resize(state);
  c.gc0.resize(state);
  c.reserve.resize(static_cast<size_t>(kc::rnn_reserve_elems(c.s)));
  return c;
}

const std::vector<RnnVariant>& rnn_variants() {
  static const std::vector<RnnVariant> r = build_registry();
  return r;
}

const RnnVariant* find_rnn_variant(const std::string& name) {
  for (const auto& v : rnn_variants())
    if (v.name == name) return &v;
  return nullptr;
}

Validation validate(const RnnVariant& v, Cell cell) {
  Validation out;
  std::ostringstream det;
  if (!v.unavailable.empty() || !v.forward) {
    out.detail = "not run: " + v.unavailable;
    return out;
  }
  // Forward: 2 layers, 70 rows, lengths 6, 5, 4, 3 in turn.
  {
    StackCase c = make_case(cell, 2, 70, 6, 3, 5, 123, 0.8);
    c.len.resize(70);
    for (int b = 0; b < 70; ++b) c.len[static_cast<size_t>(b)] = 6 - b % 4;
    v.forward(c);
    const auto ref = reference::rnn_forward(to_reference(c));
    for (size_t i = 0; i < ref.y.size(); ++i) out.forward_err = std::max(out.forward_err, std::abs(c.y[i] - ref.y[i]));
    for (size_t i = 0; i < ref.hT.size(); ++i) {
      out.forward_err = std::max(out.forward_err, std::abs(c.hT[i] - ref.hT[i]));
      if (cell_has_c(cell)) out.forward_err = std::max(out.forward_err, std::abs(c.cT[i] - ref.cT[i]));
    }
    det << "forward L=2 B=70 T=6 in=3 H=5 mixed lengths: max abs err " << out.forward_err;
  }
  bool grads_ok = true;
  if (v.backward) {
    // Gradients: 2 layers, 3 rows (lengths 5, 3, 0), every element by central differences.
    StackCase c = make_case(cell, 2, 3, 5, 4, 3, 321, 0.8);
    c.len = {5, 3, 0};
    v.forward(c);
    v.backward(c);
    reference::RnnProblem p = to_reference(c);
    const reference::Vec gy(c.gy.begin(), c.gy.end());
    out.grad_err = 0;
    std::string worst;
    auto cmp = [&](reference::Vec& target, const std::vector<float>& got, const std::string& what) {
      const reference::Vec fd = reference::rnn_grad_fd(p, gy, target);
      for (size_t i = 0; i < fd.size(); ++i) {
        const double e = std::abs(got[i] - fd[i]) / std::max(1.0, std::abs(fd[i]));
        if (e > out.grad_err) {
          out.grad_err = e;
          worst = what + "[" + std::to_string(i) + "]";
        }
      }
    };
    cmp(p.x, c.gx, "gx");
    cmp(p.h0, c.gh0, "gh0");
    if (cell_has_c(cell)) cmp(p.c0, c.gc0, "gc0");
    for (size_t k = 0; k < p.w.size(); ++k) cmp(p.w[k], c.gw[k], "gw" + std::to_string(k));
    grads_ok = out.grad_err <= kGradTol;
    det << "; gradients L=2 B=3 T=5 in=4 H=3 lengths 5,3,0: max rel err " << out.grad_err << " at "
        << worst;
  } else {
    det << "; no backward";
  }
  out.ok = out.forward_err <= kForwardTol && grads_ok;
  out.detail = det.str();
  return out;
}

}  // namespace tg::lab
