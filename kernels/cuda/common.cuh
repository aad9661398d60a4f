/*
common.cuh: shared helpers of the CUDA backend (the .cu files of kernels/cuda).

Purpose
  Error checking (every runtime / BLAS / cuDNN call goes through a macro that throws
  std::runtime_error naming the call, the file and the line), launch geometry, and the
  internal interface between the backend object (cuda_backend.cu) and the recurrent kernels
  (gru.cu, lstm.cu, cudnn_gru.cu).

Conventions
  * One stream per backend; every kernel, cuBLAS and cuDNN call is issued on it, so memory
    returned to the caching allocator can be reused by the next op without a sync.
  * Row-major everywhere (our Tensor layout); cuBLAS sees the transposed problem (swap trick).
  * Kernels are templated on the element type (float, double); no tensor cores, no TF32.

Versions: CUDA 12/13 runtime, cuBLAS v2 API, cuDNN 9 (v8 RNN API), sm_80 / sm_90.
*/
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "gpu.cuh"  // the runtime / cuBLAS seam (real or emulated)
#include "tg/backend.h"
#include "tg/kernels/rnn_io.h"

/// The grid-stride loop of an elementwise kernel: i over [0, n) (int64_t), spread over the grid.
#define GRID_STRIDE(i, n) \
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); i += static_cast<int64_t>(gridDim.x) * blockDim.x)

namespace tg::kernels::cuda {

[[noreturn]] void throw_cuda_error(const char* what, const char* call, const char* file, int line);
/// A failed runtime call: the error, what it means and what to do (explain_error), in one line.
/// A kernel fault reported by a later call says so and suggests TG_CUDA_SYNC=1.
[[noreturn]] void throw_cuda_error(gpu::Error e, const char* call, const char* file, int line);
/// A library (cuBLAS, cuDNN) out of device memory after one retry with the allocator's cache
/// released: one line with the device's free and total memory.
[[noreturn]] void throw_library_oom(const char* library, const char* status);
/// Gives the caching allocator's free blocks back to the device (before a retry of a library
/// call that ran out of memory).
void release_cached_memory();
/// What an error of the device means for the user and what to do ("" when nothing specific):
/// a driver missing or too old (with the versions), no device, no kernel image for the device's
/// architecture (its sm and the build's), a busy or prohibited device, out of memory (device.cu).
std::string explain_error(gpu::Error e);
/// TG_CUDA_SYNC=1: every kernel launch is followed by a device synchronisation, so that a fault
/// is reported naming the kernel (read once).
bool sync_after_launch();
/// The check after a kernel launch (TG_KERNEL_CHECK).
void check_kernel(const char* name, const char* file, int line);

#define TG_CUDA_CHECK(call)                                                                   \
  do {                                                                                        \
    const ::tg::gpu::Error tg_err_ = (call);                                                  \
    if (tg_err_ != ::tg::gpu::kSuccess) ::tg::kernels::cuda::throw_cuda_error(tg_err_, #call, __FILE__, __LINE__); \
  } while (0)

// CUBLAS_STATUS_ALLOC_FAILED: the allocator's cache is released and the call made once more.
#define TG_CUBLAS_CHECK(call)                                                                  \
  do {                                                                                         \
    ::tg::gpu::BlasStatus tg_st_ = (call);                                                     \
    if (tg_st_ == ::tg::gpu::kBlasAllocFailed) {                                               \
      ::tg::kernels::cuda::release_cached_memory();                                            \
      tg_st_ = (call);                                                                         \
      if (tg_st_ == ::tg::gpu::kBlasAllocFailed)                                               \
        ::tg::kernels::cuda::throw_library_oom("cuBLAS", ::tg::gpu::blas_status_name(tg_st_));  \
    }                                                                                          \
    if (tg_st_ != ::tg::gpu::kBlasSuccess)                                                     \
      ::tg::kernels::cuda::throw_cuda_error(::tg::gpu::blas_status_name(tg_st_), #call,         \
                                            __FILE__, __LINE__);                               \
  } while (0)

// After every kernel launch: catches bad launch configurations immediately; with TG_CUDA_SYNC=1
// also the kernel's own faults (without it they surface at the next synchronising call).
#define TG_KERNEL_CHECK(name) ::tg::kernels::cuda::check_kernel(name, __FILE__, __LINE__)

constexpr int kThreads = 256;
inline unsigned grid_for(int64_t n, int threads = kThreads) {
  int64_t b = (n + threads - 1) / threads;
  if (b < 1) b = 1;
  if (b > 65535LL * 8) b = 65535LL * 8;  // grid-stride loops cover the rest
  return static_cast<unsigned>(b);
}

/// What the recurrent code needs from the backend object.
struct Ctx {
  gpu::Stream stream = nullptr;
  gpu::BlasHandle cublas = nullptr;
  int num_sms = 1;
  size_t max_smem_optin = 48 * 1024;
  /// Scratch from the caching allocator; released (back to the free lists) by the destructor.
  void* (*alloc)(size_t bytes) = nullptr;
  void (*release)(void* p, size_t bytes) = nullptr;
  /// A device vector of n ones of type T (grown once, owned by the backend).
  const void* (*ones)(int64_t n, bool dbl) = nullptr;
};
Ctx& ctx();

/// RAII scratch buffer from the caching allocator.
class Scratch {
 public:
  Scratch() = default;
  explicit Scratch(size_t bytes) : bytes_(bytes ? bytes : 8) { p_ = ctx().alloc(bytes_); }
  ~Scratch() {
    if (p_) ctx().release(p_, bytes_);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  Scratch(Scratch&& o) noexcept : p_(o.p_), bytes_(o.bytes_) { o.p_ = nullptr; }
  Scratch& operator=(Scratch&& o) noexcept {
    if (this != &o) {
      if (p_) ctx().release(p_, bytes_);
      p_ = o.p_;
      bytes_ = o.bytes_;
      o.p_ = nullptr;
    }
    return *this;
  }
  template <typename T>
  T* as() const {
    return static_cast<T*>(p_);
  }
  void* get() const { return p_; }

 private:
  void* p_ = nullptr;
  size_t bytes_ = 0;
};

/// Row-major C[m,n] = alpha op(A) op(B) + beta C with leading dimensions (elements).
template <typename T>
void gemm_rm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda,
             const T* b, int64_t ldb, T beta, T* c, int64_t ldc);
/// y[j] += sum_r A[r*lda + j] for j < ncols, r < rows (column sums of a row-major block).
template <typename T>
void colsum_add(const T* a, int64_t rows, int64_t ncols, int64_t lda, T* y);
/// Device copy of `n` host ints (lengths); nullptr when host is nullptr or all equal `full`.
Scratch upload_lengths(const int32_t* host, int n, int full, bool* any);

// ---- recurrent stacks (gru.cu, lstm.cu, cudnn_gru.cu) ------------------------------------
// A call is (RnnSpec, element type, RnnIo<void>): the buffers (device memory; lengths on the
// host) and what a null pointer means are described in tg/kernels/rnn_io.h, shared with the CPU
// kernels. io.slices is not used here.
int64_t gru_reserve_elems(const RnnSpec& c);
/// What ran a GRU stack call (gru_impls_run of tg/kernels/cuda_backend.h reports the set).
enum class GruRan { Persistent, Stepwise, Cudnn };
void record_gru_impl(GruRan r);
void gru_forward(const RnnSpec& c, DType dt, const RnnIo<void>& a);
void gru_backward(const RnnSpec& c, DType dt, const RnnIo<void>& a);
int64_t lstm_reserve_elems(const RnnSpec& c);
void lstm_forward(const RnnSpec& c, DType dt, const RnnIo<void>& a);
void lstm_backward(const RnnSpec& c, DType dt, const RnnIo<void>& a);
/// Probes device 0 without caching (device.cu; cuda_device_usable caches its first answer):
/// "" when a test kernel ran, else one line saying what is wrong and what to do.
std::string probe_device();

#ifdef TG_HAVE_CUDNN
int64_t cudnn_gru_reserve_elems(const RnnSpec& c, DType dt);
void cudnn_gru_forward(const RnnSpec& c, DType dt, const RnnIo<void>& a);
void cudnn_gru_backward(const RnnSpec& c, DType dt, const RnnIo<void>& a);
#endif

// The recurrent kernels' (gru.cu, lstm.cu) weight-gradient operand: each row's previous state,
// Hprev[b*T + t] = t > 0 ? out[b*T + t - 1] : h0[b] (or 0). Internal to each file that uses it,
// as their own kernels are.
namespace {
template <typename T>
__global__ void hprev_kernel(const T* out, const T* h0, T* hp, int B, int Tn, int H) {
  const int64_t n = static_cast<int64_t>(B) * Tn * H;
  GRID_STRIDE(i, n) {
    const int64_t row = i / H;
    const int k = static_cast<int>(i % H);
    const int t = static_cast<int>(row % Tn);
    const int64_t b = row / Tn;
    hp[i] = t > 0 ? out[i - H] : (h0 ? h0[b * H + k] : T(0));
  }
}
}  // namespace

}  // namespace tg::kernels::cuda
