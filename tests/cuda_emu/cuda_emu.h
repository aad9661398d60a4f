// CPU emulation of the CUDA features the backend uses (kernels/cuda/*.cu compiled as C++ with
// TG_CUDA_EMU defined; kernels/cuda/gpu.cuh includes this header instead of the CUDA runtime).
//
// What it provides
//   * the CUDA C++ dialect the kernels are written in: __global__/__device__/__host__/
//     __forceinline__, dim3/uint2/uint4, threadIdx/blockIdx/blockDim/gridDim, __syncthreads
//     (a real barrier), __shfl_down_sync (a real exchange between the lanes of a warp),
//     atomicAdd, __umulhi/__fmaf_rn/__fma_rn, min/max and the math functions;
//   * tg::gpu, the same seam as the real gpu.cuh: launches, memory, streams, device queries and
//     the two BLAS calls, all synchronous on the calling thread's "stream".
//
// Execution model (runtime.cpp). One launch at a time; its blocks run one after another on the
// calling thread; the threads of a block are fibers (ucontext) scheduled round-robin, each
// running until it finishes or waits at a barrier, so __syncthreads and the warp shuffles really
// synchronise. The fibers are annotated for the sanitizers: ThreadSanitizer sees every CUDA
// thread as a thread of its own, ordered only by the barriers (a missing __syncthreads is a
// reported data race); AddressSanitizer follows the fiber stacks.
// Dynamic shared memory is a buffer of exactly the launch's size per block (AddressSanitizer
// sees an overrun), filled with 0xFF bytes: NaN in float and double, so a read before a write
// shows up in the results. Device memory is host memory filled with 0xFF on every allocation,
// including blocks the caching allocator hands out again; the allocator's padding and freed
// blocks are poisoned for AddressSanitizer. Static __shared__ variables are function-local
// statics: shared by all threads of a block (blocks run one at a time), but they start zeroed,
// not as garbage. Launch configurations are checked as on a device (block size, grid limits,
// shared memory over 48 KiB only after allow_dynamic_smem, at most the emulated device's opt-in).
// A kernel whose threads wait at different barriers (a deadlock on a device) aborts with a message.
// What it cannot show: timing, memory coalescing, warp divergence effects, real cuBLAS/cuDNN.
//
// The emulated device's properties (device_info, and the launch check of dynamic shared memory)
// can be set from the environment, read once per process: TG_CUDA_EMU_SMS, the number of SMs
// (default 4), and TG_CUDA_EMU_SMEM_OPTIN, the shared-memory opt-in per block in bytes (default
// 232448 = 227 KiB, as sm_90; e.g. 166912 for sm_80, 101376 for consumer cards); unset or empty:
// the default. A value that is not a whole number in range (SMS 1..1024, opt-in 48 KiB..1 GiB)
// aborts with a message.
#pragma once

#include <math.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __align__(n) alignas(n)
#define __shared__ static

struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct uint3 {
  unsigned x, y, z;
};
struct uint2 {
  unsigned x, y;
};
struct uint4 {
  unsigned x, y, z, w;
};
inline uint2 make_uint2(unsigned x, unsigned y) { return uint2{x, y}; }
inline uint4 make_uint4(unsigned x, unsigned y, unsigned z, unsigned w) { return uint4{x, y, z, w}; }

namespace tg::gpu::emu {
/// The running CUDA thread's coordinates (set by runtime.cpp when it switches to the thread).
struct ThreadCoords {
  uint3 thread_idx{0, 0, 0}, block_idx{0, 0, 0};
  dim3 block_dim, grid_dim;
};
// (an atomic pointer: the CUDA threads of a block are fibers of one CPU thread, and
// ThreadSanitizer treats each fiber as a thread of its own)
inline thread_local std::atomic<const ThreadCoords*> t_coords{nullptr};
inline const ThreadCoords& coords() { return *t_coords.load(std::memory_order_relaxed); }
}  // namespace tg::gpu::emu
#define threadIdx (::tg::gpu::emu::coords().thread_idx)
#define blockIdx (::tg::gpu::emu::coords().block_idx)
#define blockDim (::tg::gpu::emu::coords().block_dim)
#define gridDim (::tg::gpu::emu::coords().grid_dim)

using std::max;
using std::min;

inline unsigned __umulhi(unsigned a, unsigned b) {
  return static_cast<unsigned>((static_cast<unsigned long long>(a) * b) >> 32);
}
inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
inline double __fma_rn(double a, double b, double c) { return std::fma(a, b, c); }

namespace tg::gpu {

enum Error : int { kSuccess = 0, kErrorInvalidValue, kErrorInvalidConfiguration, kErrorMemoryAllocation,
                   kErrorInvalidDevice, kErrorIllegalAddress };
enum BlasStatus : int { kBlasSuccess = 0, kBlasInvalidValue };
struct EmuStream;
struct EmuBlas;
using Stream = EmuStream*;
using BlasHandle = EmuBlas*;
enum class Copy { HostToDevice, DeviceToHost, DeviceToDevice };

struct DeviceInfo {
  std::string name;
  int major = 0, minor = 0, sms = 1;
  size_t smem_optin = 48 * 1024;
  size_t global_mem = 0;
};

const char* error_string(Error e);
Error get_last_error();
Error device_count(int* n);
Error set_device(int d);
Error device_info(int d, DeviceInfo* out);
Error device_synchronize();
std::string runtime_versions();

Error malloc(void** p, size_t bytes);
Error free(void* p);
Error memcpy_async(void* dst, const void* src, size_t bytes, Copy k, Stream s);
Error memcpy(void* dst, const void* src, size_t bytes, Copy k);
Error memset_async(void* dst, int value, size_t bytes, Stream s);
void mark_allocated(void* p, size_t used, size_t block);
void mark_freed(void* p, size_t block);

Error stream_create_nonblocking(Stream* s);
Error stream_synchronize(Stream s);

BlasStatus blas_create(BlasHandle* h, Stream s);
std::string blas_version(BlasHandle h);
const char* blas_status_name(BlasStatus s);
template <typename T>
BlasStatus gemm(BlasHandle h, bool ta, bool tb, int m, int n, int k, const T* alpha, const T* a, int lda, const T* b,
                int ldb, const T* beta, T* c, int ldc);
template <typename T>
BlasStatus gemv(BlasHandle h, bool ta, int m, int n, const T* alpha, const T* a, int lda, const T* x, int incx,
                const T* beta, T* y, int incy);

namespace emu {
/// Runs `invoke(closure)` on every thread of every block of the grid (runtime.cpp).
void run_grid(uintptr_t kernel, dim3 grid, dim3 block, size_t smem, void (*invoke)(const void*), const void* closure);
void set_max_dynamic_smem(uintptr_t kernel, size_t bytes);
unsigned char* block_smem();
void syncthreads();
/// Warp exchange: every live lane of the calling thread's warp publishes `bytes` of `value`;
/// returns (into out) the value of lane + delta, or the caller's own when that lane is outside
/// the warp (or `width` segment) or has exited.
void shfl_down(const void* value, void* out, size_t bytes, unsigned delta, int width);
}  // namespace emu

template <typename... P, typename... A>
inline void launch(void (*kernel)(P...), dim3 grid, dim3 block, size_t smem, Stream, A&&... args) {
  static_assert(sizeof...(P) == sizeof...(A), "gpu::launch: argument count does not match the kernel");
  using Args = std::tuple<std::decay_t<P>...>;
  struct Closure {
    void (*k)(P...);
    Args args;
  };
  const Closure c{kernel, Args(static_cast<P>(std::forward<A>(args))...)};
  // every thread gets its own copies of the arguments, as on a device
  emu::run_grid(reinterpret_cast<uintptr_t>(kernel), grid, block, smem,
                [](const void* p) {
                  const Closure* cl = static_cast<const Closure*>(p);
                  std::apply(cl->k, cl->args);
                },
                &c);
}

template <typename... P>
inline Error allow_dynamic_smem(void (*kernel)(P...), size_t bytes) {
  emu::set_max_dynamic_smem(reinterpret_cast<uintptr_t>(kernel), bytes);
  return kSuccess;
}

template <typename T>
inline T* dynamic_smem() {
  return reinterpret_cast<T*>(emu::block_smem());
}

}  // namespace tg::gpu

inline void __syncthreads() { tg::gpu::emu::syncthreads(); }

template <typename T>
inline T __shfl_down_sync(unsigned /*mask*/, T v, unsigned delta, int width = 32) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8, "__shfl_down_sync: 1 to 8 byte values");
  T out;
  tg::gpu::emu::shfl_down(&v, &out, sizeof(T), delta, width);
  return out;
}

template <typename T>
inline T atomicAdd(T* addr, T v) {
  static_assert(std::is_arithmetic_v<T>, "atomicAdd: arithmetic types");
  T old;
  __atomic_load(addr, &old, __ATOMIC_RELAXED);
  if constexpr (std::is_integral_v<T>) {
    return __atomic_fetch_add(addr, v, __ATOMIC_RELAXED);
  } else {
    T want;
    do {
      want = old + v;
    } while (!__atomic_compare_exchange(addr, &old, &want, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
    return old;
  }
}
