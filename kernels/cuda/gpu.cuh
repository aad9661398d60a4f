/*
gpu.cuh: the one seam between the CUDA backend (the .cu files of kernels/cuda) and the CUDA runtime and
cuBLAS. Every kernel launch, device allocation, copy, memset, stream operation, device query
and BLAS call of the backend goes through tg::gpu; nothing else in kernels/cuda names a
cuda* / cublas* function.

Two implementations:
  * the real one (this file): inline wrappers over the CUDA runtime and cuBLAS, the launch a
    template around the <<<>>> syntax, so the compiled code is what direct calls would give;
  * with TG_CUDA_EMU defined, kernels/cuda/emu/cuda_emu.h: the .cu files compiled as C++ and run
    on the CPU (threads of a block on CPU threads with real barriers, shared memory and device
    memory filled with NaN bytes, BLAS as loops), so that CI runs the backend's code on every
    commit without a GPU (the model and its limits: kernels/cuda/emu/cuda_emu.h).
cuDNN (cudnn_gru.cu) calls its own API directly and has no emulation.

Conventions: functions return gpu::Error (checked by TG_CUDA_CHECK in common.cuh) or
gpu::BlasStatus (TG_CUBLAS_CHECK); a launch is followed by TG_KERNEL_CHECK. BLAS calls use
cuBLAS's column-major convention and host pointers for alpha/beta.

Versions: CUDA 12/13 runtime, cuBLAS v2 API; sm_80 / sm_90.
*/
#pragma once

#include "gpu_counters.h"  // (both implementations count at the seam)

#ifdef TG_CUDA_EMU
#include "cuda_emu.h"
#else

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <string>
#include <type_traits>
#include <utility>

namespace tg::gpu {

using Error = cudaError_t;
using Stream = cudaStream_t;
using BlasHandle = cublasHandle_t;
using BlasStatus = cublasStatus_t;
constexpr Error kSuccess = cudaSuccess;
constexpr BlasStatus kBlasSuccess = CUBLAS_STATUS_SUCCESS;
constexpr BlasStatus kBlasAllocFailed = CUBLAS_STATUS_ALLOC_FAILED;

enum class Copy { HostToDevice, DeviceToHost, DeviceToDevice };
inline cudaMemcpyKind kind_of(Copy k) {
  return k == Copy::HostToDevice ? cudaMemcpyHostToDevice
                                 : (k == Copy::DeviceToHost ? cudaMemcpyDeviceToHost : cudaMemcpyDeviceToDevice);
}

struct DeviceInfo {
  std::string name;
  int major = 0, minor = 0, sms = 1;
  size_t smem_optin = 48 * 1024;
  size_t global_mem = 0;
};

// ---- errors --------------------------------------------------------------------------------
inline const char* error_string(Error e) { return cudaGetErrorString(e); }
/// Returns and clears the last error (launch configuration errors surface here).
inline Error get_last_error() { return cudaGetLastError(); }
/// After a launch of kernel `name`: its launch error (the emulation also uses the name to inject
/// a fault into that kernel, kernels/cuda/emu/faults.cpp).
inline Error launch_error(const char* /*name*/) { return cudaGetLastError(); }

/// What an error means for the user (the messages: kernels/cuda/device.cu, explain_error).
enum class ErrorKind { Other, InsufficientDriver, NoDevice, NoKernelImage, DeviceUnavailable, OutOfMemory, AsyncFault };
inline ErrorKind error_kind(Error e) {
  switch (e) {
    case cudaErrorInsufficientDriver: return ErrorKind::InsufficientDriver;
    case cudaErrorNoDevice: return ErrorKind::NoDevice;
    case cudaErrorNoKernelImageForDevice:
    case cudaErrorUnsupportedPtxVersion: return ErrorKind::NoKernelImage;
    case cudaErrorDevicesUnavailable: return ErrorKind::DeviceUnavailable;
    case cudaErrorMemoryAllocation: return ErrorKind::OutOfMemory;
    // faults of a running kernel: reported by a later call, sticky for the context
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
    case cudaErrorMisalignedAddress:
    case cudaErrorIllegalInstruction:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorHardwareStackError:
    case cudaErrorAssert:
    case cudaErrorLaunchTimeout:
    case cudaErrorECCUncorrectable: return ErrorKind::AsyncFault;
    default: return ErrorKind::Other;
  }
}

// ---- device ----------------------------------------------------------------------------------
inline Error device_count(int* n) { return cudaGetDeviceCount(n); }
inline Error set_device(int d) { return cudaSetDevice(d); }
inline Error device_info(int d, DeviceInfo* out) {
  cudaDeviceProp prop{};
  const Error e = cudaGetDeviceProperties(&prop, d);
  if (e != cudaSuccess) return e;
  out->name = prop.name;
  out->major = prop.major;
  out->minor = prop.minor;
  out->sms = prop.multiProcessorCount;
  out->smem_optin = prop.sharedMemPerBlockOptin;
  out->global_mem = prop.totalGlobalMem;
  return e;
}
inline Error device_synchronize() {
  count(g_counters.syncs);
  return cudaDeviceSynchronize();
}
/// "driver 13.0, runtime 13.0" (cudaDriverGetVersion / cudaRuntimeGetVersion).
inline std::string runtime_versions() {
  int drv = 0, rt = 0;
  cudaDriverGetVersion(&drv);
  cudaRuntimeGetVersion(&rt);
  auto v = [](int x) { return std::to_string(x / 1000) + "." + std::to_string(x % 1000 / 10); };
  return "driver " + v(drv) + ", runtime " + v(rt);
}

/// Driver and runtime versions as 1000 * major + 10 * minor; the driver's is 0 when no driver is
/// loaded (cudaDriverGetVersion).
inline void version_numbers(int* driver, int* runtime) {
  *driver = 0;
  *runtime = 0;
  cudaDriverGetVersion(driver);
  cudaRuntimeGetVersion(runtime);
}

// ---- memory ----------------------------------------------------------------------------------
/// Free and total device memory (cudaMemGetInfo).
inline Error mem_info(size_t* free_bytes, size_t* total_bytes) { return cudaMemGetInfo(free_bytes, total_bytes); }
inline Error malloc(void** p, size_t bytes) {
  count(g_counters.allocations);
  return cudaMalloc(p, bytes);
}
inline Error free(void* p) {
  count(g_counters.frees);
  return cudaFree(p);
}
inline Error memcpy_async(void* dst, const void* src, size_t bytes, Copy k, Stream s) {
  count_copy(static_cast<int>(k), bytes);
  return cudaMemcpyAsync(dst, src, bytes, kind_of(k), s);
}
inline Error memcpy(void* dst, const void* src, size_t bytes, Copy k) {
  count_copy(static_cast<int>(k), bytes);
  count(g_counters.syncs);  // a blocking copy waits for the device
  return cudaMemcpy(dst, src, bytes, kind_of(k));
}
inline Error memset_async(void* dst, int value, size_t bytes, Stream s) {
  count(g_counters.memsets);
  return cudaMemsetAsync(dst, value, bytes, s);
}
/// Hooks of the caching allocator: a block handed out (`used` of its `block` bytes are the
/// caller's) and a block returned to the free list, in the order of stream `s`'s work. Nothing
/// to do on a device; the emulation fills handed-out memory with garbage and makes the rest
/// unaddressable for ASan.
inline void mark_allocated(void*, size_t, size_t, Stream) {}
inline void mark_freed(void*, size_t, Stream) {}

// ---- streams ---------------------------------------------------------------------------------
inline Error stream_create_nonblocking(Stream* s) { return cudaStreamCreateWithFlags(s, cudaStreamNonBlocking); }
inline Error stream_synchronize(Stream s) {
  count(g_counters.syncs);
  return cudaStreamSynchronize(s);
}

// ---- kernels ---------------------------------------------------------------------------------
/// kernel<<<grid, block, smem, stream>>>(args...), each argument converted to the parameter's type.
template <typename... P, typename... A>
inline void launch(void (*kernel)(P...), dim3 grid, dim3 block, size_t smem, Stream s, A&&... args) {
  static_assert(sizeof...(P) == sizeof...(A), "gpu::launch: argument count does not match the kernel");
  count(g_counters.launches);
  kernel<<<grid, block, smem, s>>>(static_cast<P>(std::forward<A>(args))...);
}
/// Allows a kernel more than 48 KiB of dynamic shared memory.
template <typename... P>
inline Error allow_dynamic_smem(void (*kernel)(P...), size_t bytes) {
  return cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes));
}
/// The block's dynamic shared memory (the launch's `smem` bytes), 16-byte aligned.
template <typename T>
__device__ __forceinline__ T* dynamic_smem() {
  extern __shared__ __align__(16) unsigned char tg_dynamic_smem[];
  return reinterpret_cast<T*>(tg_dynamic_smem);
}

/// A static shared-memory array of the block: `TG_STATIC_SHARED(float, red, 32);` declares `red`.
/// (The emulation gives every block its own, filled with garbage; a plain __shared__ would be
/// one zeroed object there.)
#define TG_STATIC_SHARED(type, name, count) __shared__ type name[count]

// ---- BLAS (cuBLAS, column-major, host scalars) --------------------------------------------------
inline BlasStatus blas_create(BlasHandle* h, Stream s) {
  BlasStatus st = cublasCreate(h);
  if (st == CUBLAS_STATUS_SUCCESS) st = cublasSetStream(*h, s);
  if (st == CUBLAS_STATUS_SUCCESS) st = cublasSetMathMode(*h, CUBLAS_DEFAULT_MATH);  // no TF32
  if (st == CUBLAS_STATUS_SUCCESS) st = cublasSetPointerMode(*h, CUBLAS_POINTER_MODE_HOST);
  return st;
}
inline std::string blas_version(BlasHandle h) {
  int v = 0;
  if (cublasGetVersion(h, &v) != CUBLAS_STATUS_SUCCESS) return "cuBLAS ?";
  return "cuBLAS " + std::to_string(v / 10000) + "." + std::to_string(v % 10000 / 100) + "." + std::to_string(v % 100);
}
/// C = alpha op(A) op(B) + beta C, column-major; op(A) m x k, op(B) k x n.
template <typename T>
inline BlasStatus gemm(BlasHandle h, bool ta, bool tb, int m, int n, int k, const T* alpha, const T* a, int lda,
                       const T* b, int ldb, const T* beta, T* c, int ldc) {
  count(g_counters.blas);
  tally_blas(false, ta, tb, m, n, k);
  const cublasOperation_t oa = ta ? CUBLAS_OP_T : CUBLAS_OP_N, ob = tb ? CUBLAS_OP_T : CUBLAS_OP_N;
  if constexpr (std::is_same_v<T, float>)
    return cublasSgemm(h, oa, ob, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  else
    return cublasDgemm(h, oa, ob, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
/// y = alpha op(A) x + beta y, column-major A m x n.
template <typename T>
inline BlasStatus gemv(BlasHandle h, bool ta, int m, int n, const T* alpha, const T* a, int lda, const T* x,
                       int incx, const T* beta, T* y, int incy) {
  count(g_counters.blas);
  tally_blas(true, ta, false, m, 0, n);
  const cublasOperation_t oa = ta ? CUBLAS_OP_T : CUBLAS_OP_N;
  if constexpr (std::is_same_v<T, float>)
    return cublasSgemv(h, oa, m, n, alpha, a, lda, x, incx, beta, y, incy);
  else
    return cublasDgemv(h, oa, m, n, alpha, a, lda, x, incx, beta, y, incy);
}
inline const char* blas_status_name(BlasStatus s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
    default: return "CUBLAS_STATUS_<unknown>";
  }
}

}  // namespace tg::gpu

#endif  // TG_CUDA_EMU
