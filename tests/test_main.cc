// The test runner of every suite: doctest's (the built-in backends register themselves when
// tg::kernels is linked: kernels/register_backends.cpp), plus, in
// builds on the CPU emulation of the CUDA device, the emulation's seed after a failure
// (kernels/cuda/emu/cuda_emu.h: TG_CUDA_EMU_SEED reproduces the run's block orders, thread
// orders and summation orders).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

#include "test_util.h"

// defined by kernels/cuda/emu/runtime.cpp in emulated builds only
extern "C" unsigned long long tg_cuda_emu_seed() __attribute__((weak));

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  const int rc = context.run();
  if (rc == 0) tgtest::remove_tmpdirs();  // after a failure they stay for a look
  if (context.shouldExit()) return rc;
  if (rc != 0 && tg_cuda_emu_seed)
    std::fprintf(stderr, "CUDA emulation: this run's seed was TG_CUDA_EMU_SEED=%llu\n", tg_cuda_emu_seed());
  return rc;
}
