// Helpers of the CUDA test suites (test_cuda_backend.cpp, test_cuda_timegan.cpp).
#pragma once

#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

#include "tg/backend.h"
#ifdef TG_HAVE_CUDA
#include "tg/kernels/cuda_backend.h"
#endif

namespace tg_test {

inline bool env_is_one(const char* name) {
  const char* v = std::getenv(name);
  return v && std::string(v) == "1";
}

// The CPU emulation of the device (TG_CUDA_EMU, kernels/cuda/emu) runs every CUDA thread as a
// fiber: the large shapes are left to real devices.
inline bool emulated() {
#ifdef TG_HAVE_CUDA
  return tg::kernels::cuda::emulated();
#else
  return false;
#endif
}

}  // namespace tg_test

// Without a usable device: "skipped: no CUDA device: <why>" and return, or a failure when
// TG_REQUIRE_CUDA=1 (bench/gpu-check).
#define REQUIRE_CUDA_OR_SKIP()                                       \
  do {                                                               \
    std::string why_;                                                \
    if (!tg::cuda_available(&why_)) {                                \
      if (tg_test::env_is_one("TG_REQUIRE_CUDA"))                    \
        FAIL("TG_REQUIRE_CUDA=1 but no CUDA device: " << why_);      \
      MESSAGE("skipped: no CUDA device: " << why_);                  \
      return;                                                        \
    }                                                                \
  } while (0)
