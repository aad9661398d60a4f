// Benchmark of the CPU recurrent-stack kernels on TimeGAN's shapes: 3-layer GRU stacks,
// batch 128, seq 24, hidden 24, input widths 5, 6, 24, 28; forward (training mode, with the
// reserve) and forward+backward (gx and weight gradients), thread counts 1 and 2.
//
// Usage: bench_gru [--json] [--reps N] [--cells gru,gru_ra] [--threads 1,2]
// The table also shows the fastest repetition (min_ms), useful on a shared machine; GFLOP/s is
// computed from the median. FLOPs counted: 2*m*n*k per GEMM (input projection + recurrent products; the backward does the
// transposed products, weight gradients and input gradients, i.e. twice the forward).
#include <algorithm>
#include <chrono>
#include <immintrin.h>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <sstream>
#include <string>
#include <vector>

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

struct Case {
  tg::RnnSpec s;
  std::vector<std::vector<float>> w, gw;
  std::vector<const float*> wp;
  std::vector<float*> gwp;
  std::vector<float> x, y, gy, gx, reserve;
};

Case make_case(tg::Cell cell, int L, int B, int T, int in, int H) {
  Case c;
  c.s = tg::RnnSpec{cell, L, H, B, T, in};
  std::mt19937 rng(1234);
  std::uniform_real_distribution<float> u(-0.3f, 0.3f);
  for (int l = 0; l < L; ++l)
    for (auto& sh : tg::rnn_weight_shapes(cell, l == 0 ? in : H, H)) {
      int64_t n = 1;
      for (auto d : sh) n *= d;
      std::vector<float> t(n);
      for (auto& v : t) v = u(rng);
      c.w.push_back(t);
      c.gw.emplace_back(n, 0.f);
    }
  for (auto& t : c.w) c.wp.push_back(t.data());
  for (auto& t : c.gw) c.gwp.push_back(t.data());
  c.x.resize(static_cast<size_t>(B) * T * in);
  for (auto& v : c.x) v = u(rng) * 3;
  c.y.resize(static_cast<size_t>(B) * T * H);
  c.gy.resize(c.y.size());
  for (auto& v : c.gy) v = u(rng);
  c.gx.resize(c.x.size());
  c.reserve.resize(kc::rnn_reserve_elems(c.s));
  return c;
}

double fwd_flops(const tg::RnnSpec& s) {
  int G = 3 * s.hidden;  // both GRU forms: 3H gate columns
  if (tg::cell_has_c(s.cell)) G = 4 * s.hidden;
  double f = 0;
  for (int l = 0; l < s.layers; ++l) {
    int in = l == 0 ? s.input : s.hidden;
    f += 2.0 * s.batch * s.seq * (in + s.hidden) * G;
  }
  return f;
}

}  // namespace

// Achievable FP32 FMA peak of this machine: 12 independent 8-wide FMA chains per thread (enough
// to cover the FMA latency on two pipes), run on `threads` pool threads at once.
double fma_peak_gflops(int threads) {
#if defined(__AVX2__) && defined(__FMA__)
  kc::set_num_threads(threads);
  const long iters = 20000000;
  std::vector<double> secs(static_cast<size_t>(threads));
  std::vector<float> sink(static_cast<size_t>(threads) * 8);
  kc::parallel_for(threads, [&](int t) {
    __m256 a[12];
    const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    for (int k = 0; k < 12; ++k) a[k] = _mm256_set1_ps(static_cast<float>(k));
    const auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < iters; ++i)
      for (int k = 0; k < 12; ++k) a[k] = _mm256_fmadd_ps(a[k], m, c);
    secs[static_cast<size_t>(t)] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    __m256 s = a[0];
    for (int k = 1; k < 12; ++k) s = _mm256_add_ps(s, a[k]);
    _mm256_storeu_ps(&sink[static_cast<size_t>(t) * 8], s);
  });
  double worst = 0;
  for (double x : secs) worst = std::max(worst, x);
  volatile float keep = sink[0];
  (void)keep;
  return threads * iters * 12.0 * 8 * 2 / worst / 1e9;
#else
  (void)threads;
  return 0.0;
#endif
}

int main(int argc, char** argv) {
  bool json = false;
  int reps = 200;
  std::vector<std::string> cells = {"gru", "gru_ra"};
  std::vector<int> threads = {1, 2};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "missing value after %s\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--json") json = true;
    else if (a == "--peak") {
      for (int th : {1, 2})
        std::printf("{\"bench\":\"fma_peak\",\"impl\":\"avx2-fma\",\"threads\":%d,\"gflops\":%.1f}\n", th,
                    fma_peak_gflops(th));
      return 0;
    }
    else if (a == "--reps") reps = std::max(1, std::atoi(next().c_str()));
    else if (a == "--cells") cells = split(next());
    else if (a == "--threads") {
      threads.clear();
      for (auto& t : split(next())) threads.push_back(std::max(1, std::atoi(t.c_str())));
    } else {
      std::fprintf(stderr, "usage: %s [--json] [--reps N] [--cells gru,gru_ra] [--threads 1,2] | --peak\n",
                   argv[0]);
      return a == "--help" || a == "-h" ? 0 : 2;
    }
  }
  const int L = 3, B = 128, T = 24, H = 24;
  const int inputs[] = {5, 6, 24, 28};
  if (!json)
    std::printf("%-7s %5s %5s %3s %6s %7s %8s %10s %8s %8s\n", "cell", "input", "batch", "seq",
                "layers", "threads", "mode", "median_ms", "min_ms", "GFLOP/s");
  for (const auto& cname : cells) {
    tg::Cell cell = tg::parse_cell(cname);
    for (int in : inputs) {
      Case c = make_case(cell, L, B, T, in, H);
      const double ff = fwd_flops(c.s);
      for (int th : threads) {
        kc::set_num_threads(th);
        tg::kernels::RnnIo<float> io;
        io.weights = c.wp.data();
        io.x = c.x.data();
        io.y = c.y.data();
        io.reserve = c.reserve.data();
        io.gy = c.gy.data();
        io.gx = c.gx.data();
        io.gweights = c.gwp.data();
        auto fwd = [&] { io.slices = kc::rnn_forward<float>(c.s, io); };
        auto fwd_bwd = [&] {
          fwd();
          kc::rnn_backward<float>(c.s, io);
        };
        for (int mode = 0; mode < 2; ++mode) {
          auto run = [&] { mode == 0 ? fwd() : fwd_bwd(); };
          for (int w = 0; w < std::max(10, reps / 10); ++w) run();
          std::vector<double> ms(reps);
          for (int r = 0; r < reps; ++r) {
            auto t0 = std::chrono::steady_clock::now();
            run();
            auto t1 = std::chrono::steady_clock::now();
            ms[r] = std::chrono::duration<double, std::milli>(t1 - t0).count();
          }
          double med = median(ms);
          double best = *std::min_element(ms.begin(), ms.end());
          double flops = mode == 0 ? ff : 3 * ff;
          double gflops = flops / (med * 1e-3) / 1e9;
          const char* mname = mode == 0 ? "fwd" : "fwd_bwd";
          if (json)
            std::printf(
                "{\"bench\":\"gru_stack\",\"impl\":\"ours-cpu\",\"cell\":\"%s\",\"batch\":%d,"
                "\"seq\":%d,\"input\":%d,\"hidden\":%d,\"layers\":%d,\"mode\":\"%s\","
                "\"median_ms\":%.4f,\"threads\":%d,\"gflops\":%.2f}\n",
                cname.c_str(), B, T, in, H, L, mname, med, th, gflops);
          else
            std::printf("%-7s %5d %5d %3d %6d %7d %8s %10.4f %8.4f %8.2f\n", cname.c_str(), in, B, T,
                        L, th, mname, med, best, gflops);
          std::fflush(stdout);
        }
      }
    }
  }
  return 0;
}
