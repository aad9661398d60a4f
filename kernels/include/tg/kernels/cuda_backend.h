// The CUDA backend (kernels/cuda): tg::Backend on one GPU, float32 and float64.
//
// backend_for(Device::CUDA) returns it once a device is usable (cuda_available()). The
// functions here are for tests and benchmarks that need to steer or inspect the backend; they
// exist only in builds with TG_HAVE_CUDA.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "tg/backend.h"

namespace tg::kernels::cuda {

/// Which implementation runs Cell::GruResetAfter stacks. Ours = the hand-written persistent
/// kernels (default); Cudnn = cuDNN's RNN API (only in builds with TG_HAVE_CUDNN). GruTf1 and
/// the LSTM cells always use our kernels. The initial value comes from the environment
/// variable TG_GRU_IMPL ("ours" or "cudnn").
enum class GruImpl { Ours, Cudnn };
GruImpl gru_impl();
/// Select the implementation for the following forwards (a backward runs the implementation of
/// its forward, recorded in what the forward saved). Throws when Cudnn is asked for without cuDNN.
void set_gru_impl(GruImpl impl);
/// Whether this build has the cuDNN path.
bool have_cudnn();

/// Rows of the batch each block of the persistent GRU kernels owns (0 = automatic: about one
/// block per SM). Also read from the environment variable TG_GRU_ROWS. For tuning.
void set_gru_rows_per_block(int rows);
int gru_rows_per_block();

/// How our kernels run the GRU stacks (both forms). Persistent = one kernel per layer with the
/// recurrent weights in shared memory (kernels/cuda/gru.cu); it needs them to fit one block's
/// shared memory (on sm_90, 227 KiB: hidden up to ~138 in float, ~97 in double). Stepwise = per
/// time step a cuBLAS product over all rows and fused gate kernels: any hidden size, slower.
/// Auto (default) = Persistent where it fits, else Stepwise (noted once on stderr). Persistent
/// where it does not fit throws. The initial value comes from the environment variable
/// TG_GRU_PATH ("auto", "persistent" or "stepwise").
enum class GruPath { Auto, Persistent, Stepwise };
GruPath gru_path();
void set_gru_path(GruPath path);
/// The GRU implementations that ran since the start of the process (or reset_gru_impls_run):
/// "persistent", "stepwise", "cudnn", several joined by '+' in that order; "" when none ran.
std::string gru_impls_run();
void reset_gru_impls_run();

struct AllocatorStats {
  size_t device_bytes = 0;   // obtained from cudaMalloc, never returned
  size_t cached_bytes = 0;   // in the free lists
  size_t cuda_mallocs = 0;   // number of cudaMalloc calls so far
  size_t hits = 0;           // allocations served from the free lists
};
AllocatorStats allocator_stats();

/// What the backend has asked of the device since the process started, counted at the seam
/// (kernels/cuda/gpu_counters.h): kernel launches, BLAS calls, copies by direction (count and
/// bytes), memsets, synchronisations (explicit ones and those a blocking copy implies), device
/// allocations (cudaMalloc: the caching allocator's misses) and frees. Differences of two
/// snapshots give the counts of what ran between them.
struct DeviceCounts {
  uint64_t launches = 0, blas = 0, h2d = 0, h2d_bytes = 0, d2h = 0, d2h_bytes = 0, d2d = 0, d2d_bytes = 0,
           memsets = 0, syncs = 0, allocations = 0, frees = 0;
};
DeviceCounts device_counts();
DeviceCounts operator-(const DeviceCounts& a, const DeviceCounts& b);
/// The launches and BLAS calls by name since the last reset, while the tally is on (off by
/// default: a lock per call): "kernel NAME" (the name its launch check gives), "gemm NT MxNxK"
/// (C m x n = op(A) m x k op(B) k x n, cuBLAS's column-major view), "gemv T MxN" (A m x n).
/// The kernel entries add up to DeviceCounts::launches and the BLAS ones to DeviceCounts::blas.
void set_launch_tally(bool on);
std::map<std::string, uint64_t> launch_tally();
void reset_launch_tally();

/// Whether this build's CUDA backend runs on the CPU emulation of kernels/cuda/emu (TG_CUDA_EMU).
bool emulated();

/// A one-line description of the device ("NVIDIA H100 80GB HBM3, sm_90, 132 SMs").
std::string device_description();
/// The versions in use: "driver 13.0, runtime 13.0, cuBLAS 13.1.0" (an emulated build says so).
std::string runtime_description();

}  // namespace tg::kernels::cuda
