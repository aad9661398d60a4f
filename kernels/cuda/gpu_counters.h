/*
gpu_counters.h: what the CUDA backend asks of the device, counted at the seam (gpu.cuh, and the
emulation's runtime in kernels/cuda/emu): kernel launches, BLAS calls, host<->device copies
(count and bytes), memsets, synchronisations (explicit, and the one a blocking copy implies) and
device allocations. Relaxed atomic counters, process-wide: a few nanoseconds per call. Read
through tg::kernels::cuda::device_counts() (include/tg/kernels/cuda_backend.h), e.g. by
bench/bench_timegan --device cuda per training iteration.

Beside them, off unless asked for (set_launch_tally), a tally by name: each kernel launch under
the name its check gives (TG_KERNEL_CHECK, common.cuh), each BLAS call under its operation and
shape ("gemm NT 72x128x24"): the breakdown a latency model needs (docs/gpu-performance.md). A
lock and a map look-up per call when on; one relaxed load when off.
*/
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace tg::gpu {

struct Counters {
  std::atomic<uint64_t> launches{0}, blas{0}, h2d{0}, h2d_bytes{0}, d2h{0}, d2h_bytes{0}, d2d{0}, d2d_bytes{0},
      memsets{0}, syncs{0}, allocations{0}, frees{0};
};
inline Counters g_counters;

inline void count(std::atomic<uint64_t>& c, uint64_t n = 1) { c.fetch_add(n, std::memory_order_relaxed); }

// A copy of `bytes` in direction k (0 host->device, 1 device->host, 2 device->device).
inline void count_copy(int k, uint64_t bytes) {
  Counters& c = g_counters;
  count(k == 0 ? c.h2d : k == 1 ? c.d2h : c.d2d);
  count(k == 0 ? c.h2d_bytes : k == 1 ? c.d2h_bytes : c.d2d_bytes, bytes);
}

struct Tally {
  std::atomic<bool> on{false};
  std::mutex m;
  std::map<std::string, uint64_t> counts;  // "kernel NAME" / "gemm NT MxNxK" / "gemv T MxN"
};
inline Tally g_tally;

inline void tally(const std::string& key) {
  std::lock_guard<std::mutex> lock(g_tally.m);
  ++g_tally.counts[key];
}
/// A launch of kernel `name` (called by the check after every launch).
inline void tally_kernel(const char* name) {
  if (g_tally.on.load(std::memory_order_relaxed)) tally(std::string("kernel ") + name);
}
/// A BLAS call: C (m x n) = op(A) (m x k) op(B) (k x n); a gemv has n = 0 and no op(B).
inline void tally_blas(bool gemv, bool ta, bool tb, int m, int n, int k) {
  if (!g_tally.on.load(std::memory_order_relaxed)) return;
  std::string key = gemv ? "gemv " : "gemm ";
  key += ta ? 'T' : 'N';
  if (!gemv) key += tb ? 'T' : 'N';
  key += " " + std::to_string(m) + "x" + std::to_string(gemv ? k : n);
  if (!gemv) key += "x" + std::to_string(k);
  tally(key);
}

}  // namespace tg::gpu
