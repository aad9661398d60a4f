// bench_timegan: milliseconds per training iteration (mean over the timed iterations; the
// median is in the JSON too) of each TimeGAN phase (embedding,
// supervised, joint) at the reference's shapes, on the CPU (later: CUDA).
//
//   bench_timegan [--json] [--iters N] [--warmup N] [--features 6,28] [--threads 1,2] [--cell gru]
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

int main(int argc, char** argv) {
  bool json = false;
  int iters = 30, warmup = 3;
  std::vector<int> features{6, 28}, threads{1, 2};
  std::string cell = "gru";
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
    else if (a == "--stock") stock = next();
    else {
      std::fprintf(stderr, "usage: bench_timegan [--json] [--iters N] [--warmup N] [--features 6,28] [--threads 1,2] [--cell gru] [--stock CSV]\n");
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
      c.iterations = warmup + iters;
      models::TimeGan m(c);
      m.set_data(w);
      for (int ph = 0; ph < 3; ++ph) {
        std::vector<double> ms;
        int dsteps = 0;
        for (int i = 0; i < warmup + iters; ++i) {
          const auto t0 = Clock::now();
          const models::StepLosses l = m.step();
          const double el = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
          if (i >= warmup) {
            ms.push_back(el);
            dsteps += l.d_stepped;
          }
        }
        std::sort(ms.begin(), ms.end());
        const double med = ms[ms.size() / 2];
        double mean = 0;
        for (double x : ms) mean += x;
        mean /= static_cast<double>(ms.size());
        const char* phase = ph == 0 ? "embedding" : ph == 1 ? "supervised" : "joint";
        if (json)
          std::printf("{\"bench\":\"timegan\",\"impl\":\"ours-cpu\",\"phase\":\"%s\",\"data\":\"%s\",\"batch\":128,\"seq\":24,"
                      "\"features\":%d,\"hidden\":24,\"layers\":3,\"cell\":\"%s\",\"ms_per_iter\":%.3f,\"median_ms\":%.3f,"
                      "\"iterations\":%d,\"threads\":%d,\"load1\":%.2f%s}\n",
                      phase, data.c_str(), d, cell.c_str(), mean, med, iters, th, load1(),
                      ph == 2 ? (",\"d_step_fraction\":" + std::to_string(static_cast<double>(dsteps) / iters)).c_str() : "");
        else
          std::printf("%-10s %-5d %-8s %-3d %-10s %8s %12.2f\n", data.c_str(), d, cell.c_str(), th, phase, "", mean);
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
