// TimeGAN training steps on the CUDA backend against the CPU at the same seed, through all three
// phases (with a device, or the CPU emulation of tests/cuda_emu in a TG_CUDA_EMU build; see
// test_cuda_backend.cpp for the skip rules). Tolerances: float32 2e-3 relative after a few Adam
// steps (other summation orders move the weights by ~1e-7 per step, the losses are O(1));
// float64 1e-8.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "cuda_test.h"
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
      TimeGanConfig c;
      c.features = 3;
      c.seq_len = emulated() ? 6 : 8;
      c.hidden = 8;
      c.layers = emulated() ? 2 : 3;
      c.batch = emulated() ? 8 : 16;
      c.iterations = 3;  // three steps of each phase
      c.seed = 11;
      c.cell = cell;
      c.dtype = dt;
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
