// CPU emulation of the few CUDA features gru.cu / lstm.cu use, so that the recurrent kernels can
// be checked against the CPU reference on a machine without a GPU (run-emu.sh; not part of the
// build). Blocks run one after another; the threads of a block that uses dynamic shared memory
// are std::threads with a barrier for __syncthreads (run it under -fsanitize=thread to find
// shared-memory races), other kernels run their threads in sequence. Shared memory and scratch
// start as garbage (0xCD bytes / NaN). Host API calls become memcpy / no-ops and cuBLAS calls
// naive loops. What it cannot show: timing, warp-level behaviour, real cuBLAS/cuDNN results.
#pragma once
#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tg/backend.h"

using std::exp; using std::tanh; using std::sqrt; using std::min; using std::max; using std::fabs; using std::log1p;

struct dim3 { unsigned x = 1, y = 1, z = 1; };
namespace emu {
inline thread_local dim3 tIdx, bIdx, bDim, gDim;
inline thread_local unsigned char* smem = nullptr;
struct Barrier {
  std::mutex m; std::condition_variable cv; int n, count = 0; long gen = 0;
  explicit Barrier(int n_) : n(n_) {}
  void wait() {
    std::unique_lock<std::mutex> l(m);
    long g = gen;
    if (++count == n) { count = 0; ++gen; cv.notify_all(); }
    else cv.wait(l, [&] { return gen != g; });
  }
};
inline thread_local Barrier* bar = nullptr;
struct Launcher {
  unsigned g, t; size_t sm;
  Launcher(int64_t g_, int64_t t_, size_t sm_ = 0, void* = nullptr) : g(unsigned(g_)), t(unsigned(t_)), sm(sm_) {}
  template <typename F, typename... A>
  void run(F fn, A... args) {
    if (sm == 0) {  // no shared memory = no barriers in our kernels: run threads in sequence
      for (unsigned b = 0; b < g; ++b)
        for (unsigned i = 0; i < t; ++i) {
          tIdx.x = i; bIdx.x = b; bDim.x = t; gDim.x = g; smem = nullptr; bar = nullptr;
          fn(args...);
        }
      return;
    }
    for (unsigned b = 0; b < g; ++b) {
      std::vector<unsigned char> shm(sm + 64, 0xCD);  // garbage-filled like real smem
      Barrier barrier{static_cast<int>(t)};
      std::vector<std::thread> th;
      for (unsigned i = 0; i < t; ++i)
        th.emplace_back([&, i] {
          tIdx.x = i; bIdx.x = b; bDim.x = t; gDim.x = g; smem = shm.data(); bar = &barrier;
          fn(args...);
        });
      for (auto& x : th) x.join();
    }
  }
};
}  // namespace emu
#define threadIdx emu::tIdx
#define blockIdx emu::bIdx
#define blockDim emu::bDim
#define gridDim emu::gDim
#define __syncthreads() emu::bar->wait()
#define __global__
#define __device__
#define __forceinline__ inline
#define __restrict__ __restrict
typedef void* cudaStream_t;
enum cudaMemcpyKind { cudaMemcpyDeviceToDevice, cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost };
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize };
inline int cudaMemcpyAsync(void* d, const void* s, size_t n, cudaMemcpyKind, cudaStream_t) { std::memcpy(d, s, n); return 0; }
template <typename F> int cudaFuncSetAttribute(F, cudaFuncAttribute, int) { return 0; }
#define TG_CUDA_CHECK(x) (void)(x)
#define TG_KERNEL_CHECK(x) (void)0

namespace tg::kernels::cuda {
constexpr int kThreads = 256;
inline unsigned grid_for(int64_t n, int threads = kThreads) { int64_t b = (n + threads - 1) / threads; return unsigned(std::max<int64_t>(b, 1)); }
struct Ctx { cudaStream_t stream = nullptr; int num_sms = 4; size_t max_smem_optin = 227 * 1024; };
inline Ctx& ctx() { static Ctx c; return c; }
inline int& rows_override() { static int r = 0; return r; }
inline int gru_rows_per_block() { return rows_override(); }
class Scratch {
 public:
  Scratch() = default;
  explicit Scratch(size_t b) : v_((b + 7) / 8 + 1) { for (auto& x : v_) x = std::nan(""); }
  template <typename T> T* as() const { return reinterpret_cast<T*>(const_cast<double*>(v_.data())); }
  void* get() const { return const_cast<double*>(v_.data()); }
 private:
  std::vector<double> v_;
};
template <typename T>
void gemm_rm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* b,
             int64_t ldb, T beta, T* c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      T s = 0;
      for (int64_t p = 0; p < k; ++p) s += (ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
      c[i * ldc + j] = beta == T(0) ? alpha * s : alpha * s + beta * c[i * ldc + j];
    }
}
template <typename T>
void colsum_add(const T* a, int64_t rows, int64_t ncols, int64_t lda, T* y) {
  for (int64_t j = 0; j < ncols; ++j) { T s = 0; for (int64_t r = 0; r < rows; ++r) s += a[r * lda + j]; y[j] += s; }
}
inline Scratch upload_lengths(const int32_t* host, int n, int full, bool* any) {
  *any = false;
  if (!host) return Scratch();
  bool all = true;
  for (int i = 0; i < n; ++i) all = all && host[i] == full;
  if (all) return Scratch();
  *any = true;
  Scratch s(size_t(n) * 4);
  std::memcpy(s.get(), host, size_t(n) * 4);
  return s;
}
struct RnnArgs {
  RnnCall call; DType dtype; std::vector<const void*> w; const void* x; const int32_t* host_len;
  const void* h0; const void* c0; void* y; void* hT; void* cT; void* reserve;
  const void* gy = nullptr; void* gx = nullptr; std::vector<void*> gw; void* gh0 = nullptr; void* gc0 = nullptr;
};
int64_t gru_reserve_elems(const RnnCall& c);
void gru_forward(const RnnArgs& a);
void gru_backward(const RnnArgs& a);
int64_t lstm_reserve_elems(const RnnCall& c);
void lstm_forward(const RnnArgs& a);
void lstm_backward(const RnnArgs& a);
}  // namespace tg::kernels::cuda
