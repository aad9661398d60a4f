// The kernel lab of the recurrent stacks: every variant of the registry (kernels/reference/
// rnn_variants.h: the scalar reference, the CPU stacks on Eigen, on the AVX2+FMA and AVX-512
// micro-kernels and on the AVX-512 blocking in AVX2 registers, the CUDA paths where built) is first validated against the double-precision
// reference (forward, and gradients against central finite differences; tolerances printed), then
// timed on TimeGAN's stock shape (3 layers, batch 128, seq 24, hidden 24), printing the fraction
// of this host's measured FMA roof.
//
// Usage: bench_rnn [--variant NAME|all] [--cells gru,gru_ra,lstm,lstm_ln] [--input N]
//                  [--threads 1,2] [--reps N] [--json] | --list | --peak | --gemm
// --gemm times the small GEMMs inside the default cell's stack (kernels/cpu/gemm_cpu.h; stock
// shape, one thread) with every float GEMM kernel this CPU has, against the 1-thread roof.
// (bench_gru keeps its own output, which bench/compare.py and run-cpu-side-by-side read.)
// Exit status: 0 when every variant run validated, 1 when one failed, 2 bad command line.
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/cpu/gemm_cpu.h"
#include "reference/rnn_variants.h"
#include "tg/kernels/parallel.h"
#include "tg/kernels/rnn_cpu.h"
#include "tg/rnn_spec.h"

namespace kc = tg::kernels::cpu;

namespace {

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// FLOPs of the forward: 2*m*n*k per GEMM (input projection + recurrent products); the backward
// counts twice the forward (as bench_gru).
double fwd_flops(const tg::RnnSpec& s) {
  int G = 3 * s.hidden;
  if (tg::cell_has_c(s.cell)) G = 4 * s.hidden;
  double f = 0;
  for (int l = 0; l < s.layers; ++l) {
    int in = l == 0 ? s.input : s.hidden;
    f += 2.0 * s.batch * s.seq * (in + s.hidden) * G;
  }
  return f;
}

// ---- FMA roof: 12 independent FMA chains per thread (enough to cover the latency on two
// pipes), best of 5 runs. Each instruction set's loop is compiled for it by a target attribute and entered only
// when CPUID reports it, so this binary never executes AVX-512 on a host without it.
constexpr long kPeakIters = 5000000;

__attribute__((target("avx2,fma"))) double chains_avx2(float* sink) {
  __m256 a[12];
  const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
  for (int k = 0; k < 12; ++k) a[k] = _mm256_set1_ps(static_cast<float>(k));
  const auto t0 = std::chrono::steady_clock::now();
  for (long i = 0; i < kPeakIters; ++i)
    for (int k = 0; k < 12; ++k) a[k] = _mm256_fmadd_ps(a[k], m, c);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  __m256 acc = a[0];
  for (int k = 1; k < 12; ++k) acc = _mm256_add_ps(acc, a[k]);
  _mm256_storeu_ps(sink, acc);
  return s;
}

__attribute__((target("avx512f"))) double chains_avx512(float* sink) {
  __m512 a[12];
  const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
  for (int k = 0; k < 12; ++k) a[k] = _mm512_set1_ps(static_cast<float>(k));
  const auto t0 = std::chrono::steady_clock::now();
  for (long i = 0; i < kPeakIters; ++i)
    for (int k = 0; k < 12; ++k) a[k] = _mm512_fmadd_ps(a[k], m, c);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  __m512 acc = a[0];
  for (int k = 1; k < 12; ++k) acc = _mm512_add_ps(acc, a[k]);
  _mm512_storeu_ps(sink, acc);
  return s;
}

bool has_avx2_fma() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
bool has_avx512f() { return __builtin_cpu_supports("avx512f"); }

// GFLOP/s of `threads` pool threads at once; 0 when the CPU lacks the instruction set.
double fma_peak_once(bool avx512, int threads) {
  if (avx512 ? !has_avx512f() : !has_avx2_fma()) return 0.0;
  kc::set_num_threads(threads);
  const int lanes = avx512 ? 16 : 8;
  std::vector<double> secs(static_cast<size_t>(threads));
  std::vector<float> sink(static_cast<size_t>(threads) * 16);
  kc::parallel_for(threads, [&](int t) {
    float* s = &sink[static_cast<size_t>(t) * 16];
    secs[static_cast<size_t>(t)] = avx512 ? chains_avx512(s) : chains_avx2(s);
  });
  double worst = 0;
  for (double x : secs) worst = std::max(worst, x);
  volatile float keep = sink[0];
  (void)keep;
  return threads * kPeakIters * 12.0 * lanes * 2 / worst / 1e9;
}

// The best of several measurements: on a shared machine a single one is often slowed down.
double fma_peak_gflops(bool avx512, int threads) {
  double best = 0;
  for (int r = 0; r < 5; ++r) best = std::max(best, fma_peak_once(avx512, threads));
  return best;
}

// The GEMMs of the default cell's (GruTf1) stack at the stock shape (B 128, T 24, in = H = 24;
// R = T * B rows), with the strides the stack uses (rnn_cpu.cpp): per step the recurrent
// products, per layer the input projection, the input gradient and the weight gradients (the
// latter in the transposed form the stack runs, and in the direct form beside it).
struct GemmShape {
  const char* what;
  int M, N, K;
  long sai, sak, ldb, ldc;
  bool acc;
};

int bench_gemm(int reps, bool json, double roof1) {
  const int B = 128, R = 24 * 128, H = 24, in = 24, S = 4 * H, Sg = 3 * H;
  const GemmShape shapes[] = {
      {"step: h W_gates", B, 2 * H, H, H, 1, 2 * H, S, false},
      {"step: (r*h) W_cand", B, H, H, S, 1, H, S, false},
      {"layer: X W_gates", R, 2 * H, in, in, 1, 2 * H, Sg, false},
      {"layer: X W_cand", R, H, in, in, 1, H, Sg, false},
      {"step bwd: dG_cand W_cand^T", B, H, H, Sg, 1, H, H, false},
      {"step bwd: dG_gates W_gates^T", B, H, 2 * H, Sg, 1, H, H, true},
      {"layer bwd: dX = dG W_x^T", R, in, 2 * H, Sg, 1, in, in, false},
      {"wgrad: dG^T X (as run)", 2 * H, in, R, 1, Sg, in, in, true},
      {"wgrad: X^T dG (direct)", in, 2 * H, R, 1, in, Sg, 2 * H, true},
  };
  std::vector<kc::GemmKernel> kernels;
  for (auto k : {kc::GemmKernel::Eigen, kc::GemmKernel::Avx2, kc::GemmKernel::Avx512})
    if (kc::gemm_kernel_available(k)) kernels.push_back(k);
  const kc::GemmKernel saved = kc::gemm_kernel();
  std::vector<float> A(static_cast<size_t>(R) * 96 + 64), Bm(static_cast<size_t>(R) * 96 + 64),
      C(static_cast<size_t>(R) * 96 + 64);
  for (size_t i = 0; i < A.size(); ++i) A[i] = 0.01f * static_cast<float>(i % 17) - 0.08f;
  for (size_t i = 0; i < Bm.size(); ++i) Bm[i] = 0.01f * static_cast<float>(i % 13) - 0.06f;
  if (!json)
    std::printf("%-30s %5s %4s %5s %-7s %10s %8s %6s\n", "GEMM (1 thread)", "M", "N", "K", "kernel",
                "median_us", "GFLOP/s", "%roof");
  for (const auto& g : shapes)
    for (auto k : kernels) {
      kc::set_gemm_kernel(k);
      const double flops = 2.0 * g.M * g.N * g.K;
      const int inner = std::max(1, static_cast<int>(2e6 / flops));
      auto once = [&] {
        for (int i = 0; i < inner; ++i)
          kc::small::gemm(g.M, g.N, g.K, A.data(), g.sai, g.sak, Bm.data(), g.ldb, C.data(), g.ldc, g.acc);
      };
      for (int w = 0; w < 3; ++w) once();
      std::vector<double> us(static_cast<size_t>(reps));
      for (auto& u : us) {
        const auto t0 = std::chrono::steady_clock::now();
        once();
        u = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / inner;
      }
      const double med = median(us), gf = flops / (med * 1e-6) / 1e9;
      const double pct = roof1 > 0 ? 100.0 * gf / roof1 : 0.0;
      if (json)
        std::printf("{\"bench\":\"rnn_gemm\",\"what\":\"%s\",\"M\":%d,\"N\":%d,\"K\":%d,"
                    "\"kernel\":\"%s\",\"median_us\":%.3f,\"gflops\":%.2f,\"roof_pct\":%.2f}\n",
                    g.what, g.M, g.N, g.K, kc::gemm_kernel_name(k), med, gf, pct);
      else
        std::printf("%-30s %5d %4d %5d %-7s %10.2f %8.2f %5.1f%%\n", g.what, g.M, g.N, g.K,
                    kc::gemm_kernel_name(k), med, gf, pct);
      std::fflush(stdout);
    }
  kc::set_gemm_kernel(saved);
  return 0;
}

struct Options {
  bool json = false, list = false, peak_only = false, gemm_only = false;
  int reps = 100, input = 24;
  std::string variant = "all";
  std::vector<std::string> cells = {"gru", "gru_ra"};
  std::vector<int> threads = {1, 2};
};

// The command line; exits with the usage on a bad one (2) or --help (0).
Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_rnn: missing value after %s\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--json") o.json = true;
    else if (a == "--list") o.list = true;
    else if (a == "--peak") o.peak_only = true;
    else if (a == "--gemm") o.gemm_only = true;
    else if (a == "--variant") o.variant = next();
    else if (a == "--reps") o.reps = std::max(1, std::atoi(next().c_str()));
    else if (a == "--input") o.input = std::max(1, std::atoi(next().c_str()));
    else if (a == "--cells") o.cells = split(next());
    else if (a == "--threads") {
      o.threads.clear();
      for (auto& t : split(next())) o.threads.push_back(std::max(1, std::atoi(t.c_str())));
    } else {
      std::fprintf(stderr,
                   "usage: %s [--variant NAME|all] [--cells gru,gru_ra,lstm,lstm_ln] [--input N] "
                   "[--threads 1,2] [--reps N] [--json] | --list | --peak | --gemm\n",
                   argv[0]);
      std::exit(a == "--help" || a == "-h" ? 0 : 2);
    }
  }
  return o;
}

// The roof per thread count: the best FMA peak among the instruction sets CPUID reports (printed).
std::vector<double> roofs(const Options& o) {
  std::vector<double> roof;
  for (int th : o.threads) {
    const double p2 = fma_peak_gflops(false, th), p5 = fma_peak_gflops(true, th);
    roof.push_back(std::max(p2, p5));
    if (o.json || o.peak_only) {
      std::printf("{\"bench\":\"fma_peak\",\"impl\":\"avx2-fma\",\"threads\":%d,\"gflops\":%.1f}\n", th, p2);
      std::printf("{\"bench\":\"fma_peak\",\"impl\":\"avx512-fma\",\"threads\":%d,\"gflops\":%.1f%s}\n", th,
                  p5, has_avx512f() ? "" : ",\"note\":\"not in CPUID\"");
    } else {
      if (has_avx512f())
        std::printf("FMA roof, %d thread(s): AVX2 %.1f GFLOP/s, AVX-512 %.1f GFLOP/s\n", th, p2, p5);
      else
        std::printf("FMA roof, %d thread(s): AVX2 %.1f GFLOP/s, AVX-512 not in CPUID (not run)\n", th, p2);
    }
  }
  return roof;
}

// One variant and cell at the stock shape: validated against the reference, then timed forward
// and forward + backward at each thread count. False when the validation fails.
bool bench_variant(const tg::lab::RnnVariant& v, tg::Cell cell, const Options& o, const std::vector<double>& roof) {
  const int L = 3, B = 128, T = 24, H = 24;
  const char* cname = tg::cell_name(cell);
  kc::set_num_threads(2);
  const auto val = tg::lab::validate(v, cell);
  if (o.json)
    std::printf("{\"bench\":\"rnn_validate\",\"variant\":\"%s\",\"cell\":\"%s\",\"ok\":%s,"
                "\"forward_err\":%.3g,\"forward_tol\":%.3g,\"grad_err\":%.3g,\"grad_tol\":%.3g}\n",
                v.name.c_str(), cname, val.ok ? "true" : "false", val.forward_err,
                tg::lab::kForwardTol, val.grad_err, tg::lab::kGradTol);
  else
    std::printf("%-17s %-7s validate: %s (forward tol %.0e abs, gradients tol %.0e rel): %s\n",
                v.name.c_str(), cname, val.ok ? "ok" : "FAILED", tg::lab::kForwardTol,
                tg::lab::kGradTol, val.detail.c_str());
  std::fflush(stdout);
  if (!val.ok) return false;
  tg::lab::StackCase c = tg::lab::make_case(cell, L, B, T, o.input, H, 1234, 0.3);
  const double ff = fwd_flops(c.s);
  const bool is_ref = !v.backward;
  const int r = is_ref ? std::min(o.reps, 5) : o.reps;
  for (size_t ti = 0; ti < o.threads.size(); ++ti) {
    const int th = o.threads[ti];
    kc::set_num_threads(th);
    for (int mode = 0; mode < (is_ref ? 1 : 2); ++mode) {
      auto run = [&] {
        v.forward(c);
        if (mode == 1) v.backward(c);
      };
      for (int w = 0; w < std::max(is_ref ? 1 : 10, r / 10); ++w) run();
      std::vector<double> ms(static_cast<size_t>(r));
      for (auto& m : ms) {
        const auto t0 = std::chrono::steady_clock::now();
        run();
        m = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      }
      const double med = median(ms), best = *std::min_element(ms.begin(), ms.end());
      const double gflops = (mode == 0 ? ff : 3 * ff) / (med * 1e-3) / 1e9;
      const double frac = roof[ti] > 0 ? 100.0 * gflops / roof[ti] : 0.0;
      const char* mname = mode == 0 ? "fwd" : "fwd_bwd";
      if (o.json)
        std::printf("{\"bench\":\"rnn_variant\",\"variant\":\"%s\",\"cell\":\"%s\",\"batch\":%d,"
                    "\"seq\":%d,\"input\":%d,\"hidden\":%d,\"layers\":%d,\"mode\":\"%s\","
                    "\"threads\":%d,\"median_ms\":%.4f,\"min_ms\":%.4f,\"gflops\":%.2f,"
                    "\"roof_gflops\":%.1f,\"roof_pct\":%.2f}\n",
                    v.name.c_str(), cname, B, T, o.input, H, L, mname, th, med, best, gflops,
                    roof[ti], frac);
      else
        std::printf("%-17s %-7s %5d %7d %8s %10.4f %8.4f %8.2f %5.1f%%\n", v.name.c_str(), cname,
                    o.input, th, mname, med, best, gflops, frac);
      std::fflush(stdout);
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  __builtin_cpu_init();
  const Options o = parse_args(argc, argv);
  const auto& reg = tg::lab::rnn_variants();
  if (o.list) {
    for (const auto& v : reg)
      std::printf("%-17s %-9s %s%s%s\n", v.name.c_str(), v.unavailable.empty() ? "available" : "-",
                  v.description.c_str(), v.unavailable.empty() ? "" : "; not here: ",
                  v.unavailable.c_str());
    return 0;
  }
  std::vector<const tg::lab::RnnVariant*> chosen;
  if (o.variant == "all") {
    for (const auto& v : reg) chosen.push_back(&v);
  } else {
    const auto* v = tg::lab::find_rnn_variant(o.variant);
    if (!v) {
      std::fprintf(stderr, "bench_rnn: unknown variant '%s' (--list shows them)\n", o.variant.c_str());
      return 2;
    }
    chosen.push_back(v);
  }
  std::vector<tg::Cell> cell_list;
  for (const auto& c : o.cells) {
    try {
      cell_list.push_back(tg::parse_cell(c));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bench_rnn: --cells: %s\n", e.what());
      return 2;
    }
  }
  const std::vector<double> roof = roofs(o);
  if (o.peak_only) return 0;
  if (o.gemm_only) {
    kc::set_num_threads(1);
    return bench_gemm(o.reps, o.json, fma_peak_gflops(false, 1));
  }
  bool all_ok = true;
  if (!o.json)
    std::printf("%-17s %-7s %5s %7s %8s %10s %8s %8s %6s\n", "variant", "cell", "input", "threads",
                "mode", "median_ms", "min_ms", "GFLOP/s", "%roof");
  for (const auto* v : chosen) {
    if (!v->unavailable.empty()) {
      if (!o.json) std::printf("%-17s skipped: %s\n", v->name.c_str(), v->unavailable.c_str());
      continue;
    }
    for (tg::Cell cell : cell_list) all_ok = bench_variant(*v, cell, o, roof) && all_ok;
  }
  return all_ok ? 0 : 1;
}
