/*
gpu_counters.h: what the CUDA backend asks of the device, counted at the seam (gpu.cuh, and the
emulation's runtime in kernels/cuda/emu): kernel launches, BLAS calls, host<->device copies
(count and bytes), memsets, synchronisations (explicit, and the one a blocking copy implies) and
device allocations. Relaxed atomic counters, process-wide: a few nanoseconds per call. Read
through tg::kernels::cuda::device_counts() (include/tg/kernels/cuda_backend.h), e.g. by
bench/bench_timegan --device cuda per training iteration.
*/
#pragma once

#include <atomic>
#include <cstdint>

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

}  // namespace tg::gpu
