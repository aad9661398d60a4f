// bench_timegan: milliseconds per training iteration (mean over the timed iterations; the
// median is in the JSON too) of each TimeGAN phase (embedding,
// supervised, joint) at the reference's shapes, on the CPU or the CUDA device. On CUDA it also
// prints what one iteration asks of the device, counted at the backend's seam
// (kernels/cuda/gpu_counters.h): kernel launches, BLAS calls, synchronisations, device
// allocations, copies each way (count and bytes) and memsets, per timed iteration. In an
// emulated build (TG_CUDA_EMU) the counts are the device's; the times are not.
//
//   bench_timegan [--json] [--iters N] [--warmup N] [--features 6,28] [--threads 1,2] [--cell gru]
//                 [--device cpu|cuda] [--block K] [--by-kernel]
//
// --block K: each timed unit is TimeGan::steps(K), K iterations whose losses are read from the
// device once, as `timegan train` does (blocks of 100); times and counts are per iteration.
// --by-kernel (CUDA): also each kernel's launches and each BLAS shape's calls per iteration
// (tg::kernels::cuda::launch_tally), the input of bench/gpu-latency-model.
//
// Data: the stock CSV beside the project when present for 6 features (original preset), else
// random sine windows of the requested width: speed does not depend on the values (the D-step
// gate fires on almost every joint iteration either way; the fraction is reported).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tg/io/csv.h"
#include "tg/io/dataset.h"
#include "tg/io/fs.h"
#include "tg/backend.h"
#include "tg/models/timegan.h"
#ifdef TG_HAVE_CUDA
#include "tg/kernels/cuda_backend.h"
#endif

using namespace tg;
using Clock = std::chrono::steady_clock;

static double load1() {
  double l = -1;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &l) != 1) l = -1;
    std::fclose(f);
  }
  return l;
}

static std::vector<int> parse_list(const char* s) {
  std::vector<int> v;
  std::string cur;
  for (const char* p = s;; ++p) {
    if (*p == ',' || *p == '\0') {
      if (!cur.empty()) v.push_back(std::atoi(cur.c_str()));
      cur.clear();
      if (*p == '\0') break;
    } else {
      cur += *p;
    }
  }
  return v;
}

#ifdef TG_HAVE_CUDA
// What one iteration asked of the device: the counts of `iters` iterations, divided.
static void print_counts(bool json, const std::string& data, const char* phase, const kernels::cuda::DeviceCounts& n,
                         int iters) {
  const double k = 1.0 / iters;
  if (json) {
    std::printf("{\"bench\":\"timegan-device-counts\",\"phase\":\"%s\",\"data\":\"%s\",\"per_iteration\":{"
                "\"launches\":%.2f,\"blas\":%.2f,\"syncs\":%.2f,\"allocations\":%.2f,\"h2d\":%.2f,\"h2d_bytes\":%.1f,"
                "\"d2h\":%.2f,\"d2h_bytes\":%.1f,\"d2d\":%.2f,\"memsets\":%.2f},\"iterations\":%d,\"emulated\":%s}\n",
                phase, data.c_str(), n.launches * k, n.blas * k, n.syncs * k, n.allocations * k, n.h2d * k,
                n.h2d_bytes * k, n.d2h * k, n.d2h_bytes * k, n.d2d * k, n.memsets * k, iters,
                kernels::cuda::emulated() ? "true" : "false");
  } else {
    std::printf("  per iteration: %.1f launches, %.1f BLAS, %.2f syncs, %.2f allocations, %.2f H2D (%.0f B), "
                "%.2f D2H (%.0f B), %.2f D2D, %.2f memsets\n",
                n.launches * k, n.blas * k, n.syncs * k, n.allocations * k, n.h2d * k, n.h2d_bytes * k, n.d2h * k,
                n.d2h_bytes * k, n.d2d * k, n.memsets * k);
  }
}

// Each kernel's launches and each BLAS shape's calls per iteration, most first.
static void print_tally(bool json, const std::string& data, const char* phase, int iters, int seq) {
  std::vector<std::pair<std::string, uint64_t>> t;
  for (const auto& kv : kernels::cuda::launch_tally()) t.emplace_back(kv.first, kv.second);
  std::stable_sort(t.begin(), t.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  if (json) {
    std::printf("{\"bench\":\"timegan-launch-tally\",\"phase\":\"%s\",\"data\":\"%s\",\"seq\":%d,\"iterations\":%d,"
                "\"per_iteration\":{", phase, data.c_str(), seq, iters);
    for (size_t i = 0; i < t.size(); ++i)
      std::printf("%s\"%s\":%.3f", i ? "," : "", t[i].first.c_str(), static_cast<double>(t[i].second) / iters);
    std::printf("}}\n");
  } else {
    for (const auto& kv : t) std::printf("    %8.2f  %s\n", static_cast<double>(kv.second) / iters, kv.first.c_str());
  }
}
#endif

int main(int argc, char** argv) {
  bool json = false, by_kernel = false;
  int iters = 30, warmup = 3, block = 1;
  std::vector<int> features{6, 28}, threads{1, 2};
  std::string cell = "gru";
  Device device = Device::CPU;
  std::string stock = std::string(TG_SOURCE_DIR_BENCH) + "/../shared/data/stock_data.csv";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_timegan: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--json") json = true;
    else if (a == "--iters") iters = std::atoi(next());
    else if (a == "--warmup") warmup = std::atoi(next());
    else if (a == "--features") features = parse_list(next());
    else if (a == "--threads") threads = parse_list(next());
    else if (a == "--cell") cell = next();
    else if (a == "--block") block = std::max(1, std::atoi(next()));
    else if (a == "--by-kernel") by_kernel = true;
    else if (a == "--stock") stock = next();
    else if (a == "--device") {
      const std::string v = next();
      if (v != "cpu" && v != "cuda") {
        std::fprintf(stderr, "bench_timegan: --device must be cpu or cuda, got '%s'\n", v.c_str());
        return 2;
      }
      device = v == "cuda" ? Device::CUDA : Device::CPU;
#ifndef TG_HAVE_CUDA
      if (device == Device::CUDA) {
        std::fprintf(stderr, "bench_timegan: this build has no CUDA backend\n");
        return 2;
      }
#endif
    }
    else {
      std::fprintf(stderr, "usage: bench_timegan [--json] [--iters N] [--warmup N] [--features 6,28] [--threads 1,2] [--cell gru] [--stock CSV] [--device cpu|cuda] [--block K] [--by-kernel]\n");
      return 2;
    }
  }
  if (!json)
    std::printf("%-10s %-5s %-8s %-3s %-7s %-11s %12s\n", "data", "feat", "cell", "thr", "phase", "", "ms/iteration");
  for (int th : threads) {
    set_num_threads(th);
    for (int d : features) {
      io::Windows w;
      std::string data = "sine" + std::to_string(d);
      if (d == 6 && io::file_exists(stock)) {
        Rng rng(0, 5);
        io::PrepOptions p;
        p.preset = "original";
        w = io::prepare(io::read_csv(stock), p, rng).windows;
        data = "stock";
      } else {
        Rng rng(0, 5);
        w = io::sine_data(4000, 24, d, rng);
      }
      models::TimeGanConfig c;
      c.features = d;
      c.cell = parse_cell(cell);
      c.iterations = (warmup + iters) * block;
      c.device = device;
      models::TimeGan m(c);
      m.set_data(w);
      for (int ph = 0; ph < 3; ++ph) {
        std::vector<double> ms;
        int dsteps = 0;
#ifdef TG_HAVE_CUDA
        kernels::cuda::DeviceCounts before;
#endif
        for (int i = 0; i < warmup + iters; ++i) {
#ifdef TG_HAVE_CUDA
          if (device == Device::CUDA && i == warmup) {
            before = kernels::cuda::device_counts();
            kernels::cuda::set_launch_tally(by_kernel);
            kernels::cuda::reset_launch_tally();
          }
#endif
          const auto t0 = Clock::now();
          const std::vector<models::StepLosses> ls = m.steps(block);
          const double el = std::chrono::duration<double, std::milli>(Clock::now() - t0).count() / block;
          if (i >= warmup) {
            ms.push_back(el);
            for (const auto& l : ls) dsteps += l.d_stepped;
          }
        }
        std::sort(ms.begin(), ms.end());
        const double med = ms[ms.size() / 2];
        double mean = 0;
        for (double x : ms) mean += x;
        mean /= static_cast<double>(ms.size());
        const char* phase = ph == 0 ? "embedding" : ph == 1 ? "supervised" : "joint";
        if (json)
          std::printf("{\"bench\":\"timegan\",\"impl\":\"%s\",\"phase\":\"%s\",\"data\":\"%s\",\"batch\":128,\"seq\":24,"
                      "\"features\":%d,\"hidden\":24,\"layers\":3,\"cell\":\"%s\",\"ms_per_iter\":%.3f,\"median_ms\":%.3f,"
                      "\"iterations\":%d,\"block\":%d,\"threads\":%d,\"load1\":%.2f%s}\n",
                      device == Device::CUDA ? "ours-cuda" : "ours-cpu", phase, data.c_str(), d, cell.c_str(), mean, med,
                      iters * block, block, th, load1(),
                      ph == 2 ? (",\"d_step_fraction\":" + std::to_string(static_cast<double>(dsteps) / (iters * block))).c_str() : "");
        else
          std::printf("%-10s %-5d %-8s %-3d %-10s %8s %12.2f\n", data.c_str(), d, cell.c_str(), th, phase, "", mean);
#ifdef TG_HAVE_CUDA
        if (device == Device::CUDA) {
          print_counts(json, data, phase, kernels::cuda::device_counts() - before, iters * block);
          if (by_kernel) print_tally(json, data, phase, iters * block, static_cast<int>(w.seq));
          kernels::cuda::set_launch_tally(false);
        }
#endif
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
