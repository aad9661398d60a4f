// TimeGAN training steps on the CUDA backend against the CPU at the same seed, through all three
// phases (with a device, or the CPU emulation of kernels/cuda/emu in a TG_CUDA_EMU build; see
// test_cuda_backend.cpp for the skip rules). Tolerances: float32 2e-3 relative after a few Adam
// steps (other summation orders move the weights by ~1e-7 per step, the losses are O(1));
// float64 1e-8.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "cuda_test.h"
#include "small_model.h"
#include "tg/io/checkpoint.h"
#include "tg/io/dataset.h"
#include "tg/models/timegan.h"
#include "tg/random.h"
#include "tg/tensor.h"

using namespace tg;
using tg_test::emulated;

// Steps 6-8 are joint iterations: the generator step back-propagates through the frozen
// recovery and discriminator, the embedder step through the frozen supervisor (empty weight
// gradients in the recurrent backward).
TEST_CASE("cuda: TimeGAN training steps on CUDA match the CPU at the same seed, joint phase included") {
  REQUIRE_CUDA_OR_SKIP();
  using namespace tg::models;
  for (DType dt : {DType::F32, DType::F64}) {
    for (Cell cell : {Cell::GruTf1, Cell::GruResetAfter, Cell::Lstm}) {
      if (cell == Cell::Lstm && dt == DType::F32) continue;
      // three steps of each phase
      TimeGanConfig c = tgtest::small_config({3, emulated() ? 6 : 8, 8, emulated() ? 8 : 16}, 3, 11, dt);
      c.layers = emulated() ? 2 : 3;
      c.cell = cell;
      Rng drng(5, 5);
      io::Windows data = io::sine_data(64, c.seq_len, 3, drng);
      TimeGan cpu_m(c);
      c.device = Device::CUDA;
      TimeGan gpu_m(c);
      cpu_m.set_data(data);
      gpu_m.set_data(data);
      // float32: 2e-3 relative after a few Adam steps (different summation orders move the
      // weights by ~1e-7 per step, the losses are O(1)); float64: 1e-8.
      const double rtol = dt == DType::F32 ? 2e-3 : 1e-8, atol = dt == DType::F32 ? 2e-4 : 1e-10;
      for (int step = 0; step < 9; ++step) {
        const StepLosses a = cpu_m.step();
        const StepLosses b = gpu_m.step();
        CAPTURE(step);
        CAPTURE(std::string(dtype_name(dt)));
        CAPTURE(cell_name(cell));
        CHECK(a.phase == b.phase);
        CHECK(b.phase == (step < 3 ? Phase::Embedding : step < 6 ? Phase::Supervised : Phase::Joint));
        const double va[] = {a.e_loss_t0, a.e_loss0, a.e_loss, a.g_loss_s, a.g_loss_u, a.g_loss_u_e, a.g_loss_v, a.g_loss, a.d_loss};
        const double vb[] = {b.e_loss_t0, b.e_loss0, b.e_loss, b.g_loss_s, b.g_loss_u, b.g_loss_u_e, b.g_loss_v, b.g_loss, b.d_loss};
        for (int i = 0; i < 9; ++i) {
          CAPTURE(i);
          if (std::isnan(va[i])) {
            CHECK(std::isnan(vb[i]));
            continue;
          }
          CHECK(std::abs(va[i] - vb[i]) <= atol + rtol * std::abs(va[i]));
        }
        CHECK(a.d_stepped == b.d_stepped);
      }
    }
  }
}

namespace {
// Windows with every data feature: 2 numeric columns (some cells missing) and a one-hot block
// of 3, lengths from 2 to T, 2 static values and a one-hot condition of 2.
io::Windows every_feature_windows(int64_t n, int64_t T, uint64_t seed) {
  Rng rng(seed, 9);
  io::Windows w;
  w.n = n;
  w.seq = T;
  w.dim = 5;
  w.data.assign(static_cast<size_t>(n * T * 5), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t len = 2 + static_cast<int64_t>(rng.next_below(static_cast<uint64_t>(T - 1)));
    w.lengths.push_back(static_cast<int32_t>(len));
    for (int64_t t = 0; t < len; ++t) {
      for (int64_t k = 0; k < 2; ++k) w.at(i, t, k) = rng.next_below(7) == 0 ? std::nan("") : rng.next_double();
      w.at(i, t, 2 + static_cast<int64_t>(rng.next_below(3))) = 1.0;
    }
  }
  w.static_dim = 2;
  w.cond_dim = 2;
  for (int64_t i = 0; i < n; ++i) {
    w.statics.push_back(rng.next_double());
    w.statics.push_back(rng.next_double());
    const bool first = rng.next_below(2) == 0;
    w.conditions.push_back(first ? 1.0 : 0.0);
    w.conditions.push_back(first ? 0.0 : 1.0);
  }
  return w;
}
// A small CUDA model: 2 layers of 8, batch 8, windows of 6 steps.
tg::models::TimeGanConfig small_cuda_config(int64_t features, int64_t iterations, uint64_t seed) {
  tg::models::TimeGanConfig c;
  c.features = features;
  c.seq_len = 6;
  c.hidden = 8;
  c.layers = 2;
  c.batch = 8;
  c.iterations = iterations;
  c.seed = seed;
  c.device = Device::CUDA;
  return c;
}
}  // namespace

// A block of training iterations on the device waits for it once (the losses' read, and in the
// joint phase the discriminator's step count) however long the block, and allocates nothing
// after the first block (the caching allocator serves every tensor). The tally by name
// (bench_timegan --by-kernel) accounts for every launch and BLAS call: every launch is checked
// under a name.
#ifdef TG_HAVE_CUDA
static void check_block_syncs(bool every_feature) {
  using namespace tg::models;
  using tg::kernels::cuda::device_counts;
  TimeGanConfig c = small_cuda_config(3, 24, 3);
  io::Windows data;
  if (every_feature) {
    c.features = 5;
    c.categorical = {3};
    c.missing_mask = true;
    c.static_features = 2;
    c.condition_dim = 2;
    data = every_feature_windows(32, c.seq_len, 4);
  } else {
    c.features = 3;
    Rng drng(5, 5);
    data = io::sine_data(32, c.seq_len, 3, drng);
  }
  TimeGan m(c);
  m.set_data(data);
  for (Phase phase : {Phase::Embedding, Phase::Supervised, Phase::Joint}) {
    CAPTURE(every_feature);
    CAPTURE(phase_name(phase));
    REQUIRE(m.phase() == phase);
    m.steps(10);  // warm-up: the pool fills, the loss buffer reaches its size
    const auto c0 = device_counts();
    const std::vector<StepLosses> a = m.steps(4);
    const auto c1 = device_counts();
    tg::kernels::cuda::set_launch_tally(true);  // the breakdown by name accounts for every call
    tg::kernels::cuda::reset_launch_tally();
    const std::vector<StepLosses> b = m.steps(10);
    const auto d4 = c1 - c0, d10 = device_counts() - c1;
    tg::kernels::cuda::set_launch_tally(false);
    uint64_t named_launches = 0, named_blas = 0;
    for (const auto& [key, n] : tg::kernels::cuda::launch_tally())
      (key.rfind("kernel ", 0) == 0 ? named_launches : named_blas) += n;
    CHECK(named_launches == d10.launches);
    CHECK(named_blas == d10.blas);
    CHECK(d10.launches > 0);
    REQUIRE(a.size() == 4);
    REQUIRE(b.size() == 10);
    CHECK(d4.syncs == d10.syncs);
    CHECK(d10.syncs == (phase == Phase::Joint ? 2u : 1u));
    CHECK(d4.allocations == 0);
    CHECK(d10.allocations == 0);
    CHECK(d10.d2h == d10.syncs);  // nothing else comes back to the host
    for (const StepLosses& l : b) CHECK(l.first_nonfinite().empty());
  }
  CHECK(m.done());
}
#endif

// (two test cases, so that ctest runs them beside the others: tests/CMakeLists.txt)
TEST_CASE("cuda: a block of TimeGAN steps syncs a fixed number of times and allocates nothing after warm-up") {
  REQUIRE_CUDA_OR_SKIP();
#ifdef TG_HAVE_CUDA
  check_block_syncs(false);
#endif
}

TEST_CASE("cuda: with categorical, static, condition and missing columns, a block of steps syncs a fixed number of "
          "times and allocates nothing") {
  REQUIRE_CUDA_OR_SKIP();
#ifdef TG_HAVE_CUDA
  check_block_syncs(true);
#endif
}

// steps(k) on the device gives what k calls of step() give (the same kernels; only the reads
// are batched), with the device deciding the discriminator's update both ways. Bit for bit on a
// device; the emulation draws another summation order for every GEMM call (kernels/cuda/emu), so
// there the losses agree to rounding and everything else (phases, D's decisions, Adam's step
// counts, the random streams) exactly.
TEST_CASE("cuda: TimeGAN steps(k) equals k step() calls, with the device deciding D's update") {
  REQUIRE_CUDA_OR_SKIP();
  using namespace tg::models;
  const bool exact = !emulated();
  for (double thr : {0.15, 1e9}) {  // D steps at every iteration / at none
    CAPTURE(thr);
    TimeGanConfig c = small_cuda_config(3, 12, 7);
    c.d_threshold = thr;
    Rng drng(5, 5);
    const io::Windows data = io::sine_data(32, c.seq_len, 3, drng);
    TimeGan a(c), b(c);
    a.set_data(data);
    b.set_data(data);
    std::vector<StepLosses> la, lb;
    while (!a.done()) la.push_back(a.step());
    while (!b.done())
      for (const StepLosses& l : b.steps(5)) lb.push_back(l);
    REQUIRE(la.size() == lb.size());
    int stepped = 0;
    for (size_t i = 0; i < la.size(); ++i) {
      CAPTURE(i);
      if (exact) CHECK(la[i].csv_row() == lb[i].csv_row());
      CHECK(la[i].phase == lb[i].phase);
      CHECK(la[i].iteration == lb[i].iteration);
      CHECK(la[i].d_stepped == lb[i].d_stepped);
      for (double StepLosses::*f : {&StepLosses::e_loss_t0, &StepLosses::g_loss_s, &StepLosses::g_loss, &StepLosses::d_loss})
        if (!std::isnan(la[i].*f)) CHECK(std::abs(la[i].*f - lb[i].*f) <= 1e-5 * (1 + std::abs(la[i].*f)));
      stepped += la[i].d_stepped;
    }
    CHECK(stepped == (thr < 1 ? 12 : 0));
    const io::Checkpoint ca = a.to_checkpoint(), cb = b.to_checkpoint();
    CHECK(ca.meta_json == cb.meta_json);  // phases, iterations, Adam step counts, random streams
    if (exact) CHECK(io::checkpoint_bytes(ca) == io::checkpoint_bytes(cb));
  }
}
