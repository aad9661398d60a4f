// CPU emulation of the CUDA features the backend uses (kernels/cuda/*.cu compiled as C++ with
// TG_CUDA_EMU defined; kernels/cuda/gpu.cuh includes this header instead of the CUDA runtime).
//
// What it provides
//   * the CUDA C++ dialect the kernels are written in: __global__/__device__/__host__/
//     __forceinline__, dim3/uint2/uint4, threadIdx/blockIdx/blockDim/gridDim, __syncthreads
//     (a real barrier), __shfl_down_sync (a real exchange between the lanes of a warp),
//     atomicAdd, __umulhi/__fmaf_rn/__fma_rn, min/max and the math functions; static shared
//     memory through TG_STATIC_SHARED (a plain `__shared__` does not compile here);
//   * tg::gpu, the same seam as the real gpu.cuh: launches, memory, streams, device queries and
//     the two BLAS calls.
//
// Execution model (runtime.cpp). One launch at a time; its blocks run one after another on the
// calling thread; the threads of a block are fibers (ucontext), each running until it finishes
// or waits at a barrier, so __syncthreads and the warp shuffles really synchronise. The fibers
// are annotated for the sanitizers: ThreadSanitizer sees every CUDA thread as a thread of its
// own, ordered only by the barriers (a missing __syncthreads is a reported data race);
// AddressSanitizer follows the fiber stacks. Launch configurations are checked as on a device
// (block size, grid limits, shared memory over 48 KiB only after allow_dynamic_smem, at most
// the emulated device's opt-in). A kernel whose threads wait at different barriers (a deadlock
// on a device) aborts with a message.
//
// Adversarial by default: what a real GPU may do, the emulation does, so that code relying on
// what a GPU does not promise fails here (each behaviour has a planted-defect test in
// test_cuda_emu.cpp):
//   order    the blocks of a launch run in a seeded random order, each on fresh fibers with no
//            happens-before edge to any other block (ThreadSanitizer reports a race between
//            blocks), and the threads of a block are resumed in a seeded shuffled order at
//            every barrier round;
//   shuffle  __shfl_down_sync aborts unless its mask is exactly the set of lanes that arrive,
//            and a lane that reads an exited or absent lane aborts (always on);
//   garbage  dynamic and static shared memory are fresh per block and per launch and start as
//            0xFF bytes (NaN in float and double); device memory is 0xFF on every allocation,
//            also when the caching allocator hands a block out again (always on);
//   protect  device memory is not host memory: it is an mmap'd arena, PROT_NONE except while a
//            kernel, an emulated BLAS call or a copy runs, so a host dereference of a device
//            pointer stops with a message naming the allocation; every allocation is followed
//            by an inaccessible guard page; a copy whose direction does not match where its
//            pointers live aborts;
//   async    stream work (launches, copies, memsets, BLAS) is queued per stream and runs at the
//            next synchronisation of that stream (stream_synchronize, device_synchronize, a
//            blocking memcpy for the default stream, free); a device-to-host copy fills its
//            host destination with 0xFF when it is queued, so a host read before the sync sees
//            NaN;
//   gemm     each BLAS call sums its dot products in a seeded order (sequential, reversed,
//            blocked, split-K; with or without FMA), as cuBLAS picks kernels by shape.
// The seed is TG_CUDA_EMU_SEED (default: a random one); it is printed with every failure the
// emulation reports and, by the test runner, after a failed test. TG_CUDA_EMU_OFF=order,async,
// protect,gemm (any subset) turns behaviours off to tell a defect from its detector.
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
#include <memory>
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
// A plain static __shared__ variable would be one object for every block and launch, zeroed at
// start: the kernels declare static shared memory with TG_STATIC_SHARED (gpu.cuh), which the
// emulation gives each block afresh, filled with garbage.
#define __shared__ static_assert(false, "declare static shared memory with TG_STATIC_SHARED (gpu.cuh)");
#define TG_STATIC_SHARED(type, name, count)                                                            \
  static const char name##_tg_key = 0;                                                                 \
  type* const name = static_cast<type*>(                                                               \
      ::tg::gpu::emu::static_smem(&name##_tg_key, sizeof(type) * static_cast<size_t>(count), alignof(type)))

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
                   kErrorInvalidDevice, kErrorIllegalAddress,
                   // what the injected faults return (faults.cpp): cudaErrorInsufficientDriver,
                   // cudaErrorNoDevice, cudaErrorNoKernelImageForDevice, cudaErrorDevicesUnavailable
                   kErrorInsufficientDriver, kErrorNoDevice, kErrorNoKernelImage, kErrorDevicesUnavailable };
enum BlasStatus : int { kBlasSuccess = 0, kBlasInvalidValue, kBlasAllocFailed };
/// What an error means for the user (kernels/cuda/gpu.cuh has the same enum for the real runtime).
enum class ErrorKind { Other, InsufficientDriver, NoDevice, NoKernelImage, DeviceUnavailable, OutOfMemory, AsyncFault };
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
void mark_allocated(void* p, size_t used, size_t block, Stream s);
void mark_freed(void* p, size_t block, Stream s);

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

// ---- error reporting and fault injection (faults.cpp) -----------------------------------------
ErrorKind error_kind(Error e);
/// Driver and runtime versions as 1000 * major + 10 * minor; driver 0 when no driver is loaded.
void version_numbers(int* driver, int* runtime);
Error mem_info(size_t* free_bytes, size_t* total_bytes);
/// After a launch: the launch's own error (get_last_error); `name` is the kernel the caller
/// launched, matched by an injected async_fault.
Error launch_error(const char* name);

namespace emu {
/// The adversarial behaviours (header comment), read once from TG_CUDA_EMU_SEED / TG_CUDA_EMU_OFF;
/// the emulation's own tests change them.
struct Options {
  uint64_t seed = 0;
  bool order = true;    // random block order, no ordering between blocks, shuffled threads
  bool async = true;    // queued stream work
  bool protect = true;  // device memory inaccessible to host code
  bool gemm = true;     // seeded summation orders in BLAS
};
Options& options();
/// Sets the seed and restarts the sequence of per-launch random streams derived from it.
void reseed(uint64_t seed);
/// Checks a launch configuration as a device does; false (and the sticky error set) when invalid.
bool check_launch(uintptr_t kernel, dim3 grid, dim3 block, size_t smem);
/// Runs, or queues on `stream`, `invoke(closure)` on every thread of every block of the grid.
void submit_grid(Stream stream, dim3 grid, dim3 block, size_t smem, void (*invoke)(const void*),
                 std::shared_ptr<const void> closure);
/// Fault injection, for the tests of what the user sees when the device goes wrong. The spec is
/// TG_CUDA_EMU_FAULT's (read on first use) or set_fault's: "" (none), no_driver, old_driver,
/// no_device, no_kernel_image, busy, oom_malloc[:BYTES] (device allocations fail once BYTES are
/// live; default 0), oom_blas[:N] (the next N BLAS calls fail with ALLOC_FAILED; default 1),
/// async_fault:KERNEL (the launch of KERNEL faults: a sticky illegal-address error returned by
/// every later synchronising call). set_fault also clears a fired fault; a bad spec throws
/// std::invalid_argument.
void set_fault(const std::string& spec);
// One-line hooks in runtime.cpp's functions: kSuccess / kBlasSuccess when nothing is injected.
Error fault_device_count(int* n);
Error fault_set_device();
void fault_device_info(DeviceInfo* out);
Error fault_malloc(size_t bytes);  // also counts the live bytes (mem_info)
void fault_free(size_t bytes);
Error fault_launch();
Error fault_sync();
BlasStatus fault_blas();
void set_max_dynamic_smem(uintptr_t kernel, size_t bytes);
unsigned char* block_smem();
/// The running block's static shared variable `key` (bytes, aligned), garbage at its first use.
void* static_smem(const void* key, size_t bytes, size_t align);
void syncthreads();
/// Warp exchange: every lane of the calling thread's warp named in `mask` publishes `bytes` of
/// `value`; returns (into out) the value of lane + delta, or the caller's own when that lane is
/// outside the warp's `width` segment. Aborts when `mask` is not exactly the lanes that arrive
/// or when the source lane has exited.
void shfl_down(unsigned mask, const void* value, void* out, size_t bytes, unsigned delta, int width);
}  // namespace emu

template <typename... P, typename... A>
inline void launch(void (*kernel)(P...), dim3 grid, dim3 block, size_t smem, Stream stream, A&&... args) {
  static_assert(sizeof...(P) == sizeof...(A), "gpu::launch: argument count does not match the kernel");
  using Args = std::tuple<std::decay_t<P>...>;
  struct Closure {
    void (*k)(P...);
    Args args;
  };
  if (!emu::check_launch(reinterpret_cast<uintptr_t>(kernel), grid, block, smem)) return;
  // the arguments are captured now (the launch may run later); every thread gets its own copies
  auto c = std::make_shared<const Closure>(Closure{kernel, Args(static_cast<P>(std::forward<A>(args))...)});
  emu::submit_grid(stream, grid, block, smem,
                   [](const void* p) {
                     const Closure* cl = static_cast<const Closure*>(p);
                     std::apply(cl->k, cl->args);
                   },
                   std::move(c));
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
inline T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8, "__shfl_down_sync: 1 to 8 byte values");
  T out;
  tg::gpu::emu::shfl_down(mask, &v, &out, sizeof(T), delta, width);
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
