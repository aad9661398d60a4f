// The kernel lab's registry: every implementation of the recurrent stacks as a named variant,
// validated against THE reference (rnn_reference.h) by one function, used by the test suite
// (tests/test_rnn_kernels.cpp: every variant available on the host) and by bench_rnn
// (bench/bench_rnn.cpp: --variant NAME|all validates, then times).
//
// Variants (a name is listed whether or not it runs here; `unavailable` says why not):
//   reference   the double-precision scalar reference (forward only: its gradients are finite
//               differences)
//   cpu-eigen   the CPU stacks (rnn_cpu.h) with Eigen's products (GemmKernel::Eigen)
//   cpu-avx2    the CPU stacks with the AVX2+FMA micro-kernels (GemmKernel::Avx2; needs
//               AVX2 and FMA in CPUID, whatever the build's instruction set)
//   cpu-avx512  the CPU stacks with the AVX-512 micro-kernels (GemmKernel::Avx512; needs
//               AVX512F in CPUID)
//   cpu-avx512-layout  the AVX-512 kernels' blocking on pairs of AVX2 registers
//               (GemmKernel::Avx512Layout): their code paths, validated on AVX2 hosts; not fast
//   cuda, cudnn (builds with CUDA only) our GRU kernels (persistent, or step-wise where the
//               weights exceed shared memory: TG_GRU_PATH) and the cuDNN path,
//               chosen on the CUDA backend by TG_GRU_IMPL=ours|cudnn (block rows: TG_GRU_ROWS);
//               listed here, validated by tests/test_cuda_backend.cpp and timed by bench_gru_cuda.
// Outside the lab the CPU variant is chosen by TG_CPU_GEMM=auto|eigen|avx2|avx512|avx512-layout
// (rnn_cpu.h).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tg/rnn_spec.h"

namespace tg::lab {

/// One float stack call: inputs, outputs, saved state (rnn_cpu.h layouts).
struct StackCase {
  RnnSpec s{};
  std::vector<std::vector<float>> w, gw;  // weights, weight gradients (accumulated)
  std::vector<float> x, h0, c0, y, hT, cT, gy, gx, gh0, gc0, reserve;
  std::vector<int32_t> len;  // empty = full length
  int slices = 0;
};

/// A stack of `cell` with random weights/inputs in [-scale, scale] (seeded), h0/c0 and gy set.
StackCase make_case(Cell cell, int L, int B, int T, int in, int H, uint32_t seed, double scale = 0.5);

struct RnnVariant {
  std::string name, description;
  std::string unavailable;  // empty: runs on this host and build
  /// Training-mode forward: y, hT, cT and the saved state.
  std::function<void(StackCase&)> forward;
  /// After forward: gx, gh0, gc0 written, gw accumulated, for the loss sum(gy * y). Empty for
  /// variants without a backward (the reference).
  std::function<void(StackCase&)> backward;
};

/// The registry, in the order above.
const std::vector<RnnVariant>& rnn_variants();
/// nullptr when no variant has that name.
const RnnVariant* find_rnn_variant(const std::string& name);

/// Tolerances of validate(): the float forward (y, hT, cT) against the double reference,
/// absolute; the float gradients against central finite differences of the reference,
/// relative to max(1, |gradient|).
constexpr double kForwardTol = 2e-5;
constexpr double kGradTol = 1e-4;

struct Validation {
  bool ok = false;
  double forward_err = 0;  // max |variant - reference| over y, hT, cT
  double grad_err = -1;    // max |variant - fd| / max(1, |fd|) over gx, gh0, gc0, gw; -1: no backward
  std::string detail;      // the shapes checked and, on failure, where
};

/// Checks `v` on `cell` against the reference: the forward on a 2-layer stack of 70 rows (two
/// batch slices with 2 threads) with mixed lengths, the gradients on a small stack (every
/// element, by central differences). The caller's thread count is used.
Validation validate(const RnnVariant& v, Cell cell);

}  // namespace tg::lab
