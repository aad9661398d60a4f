/*
device.cu: CUDA device discovery for the engine (tg::cuda_available, backend_for(CUDA)).

A machine without a usable GPU (no driver, no device, driver too old for the runtime, no kernel
image for the device's architecture, a busy or prohibited device) is reported with the runtime's
reason and what to do (explain_error, one line) instead of failing later; a present device is
probed once with a one-thread kernel so that a broken context is caught here, not inside a
training loop. explain_error also words the backend's own errors (cuda_backend.cu).
The first answer is cached, a failure with its reason (backend_for asks on every tensor allocation).
The backend object itself lives in cuda_backend.cu (cuda_backend_instance()).

Versions: CUDA 12/13 runtime; sm_80 / sm_90.
*/
#include <atomic>
#include <mutex>
#include <string>

#include "common.cuh"
#include "tg/backend.h"

#ifndef TG_CUDA_ARCHS
#define TG_CUDA_ARCHS "?"  // (set by CMakeLists.txt from TG_CUDA_ARCHITECTURES)
#endif

namespace tg {
namespace {
// Touches a device once so that a broken context is detected here, not inside a training loop.
// (in namespace tg, as recorded in bench/results/ptxas-sm90-*.txt)
__global__ void probe_kernel(int* out) { *out = 42; }
}  // namespace
}  // namespace tg

namespace tg::kernels::cuda {

namespace {
std::string version_text(int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); }
}  // namespace

std::string explain_error(gpu::Error e) {
  switch (gpu::error_kind(e)) {
    case gpu::ErrorKind::InsufficientDriver: {
      int drv = 0, rt = 0;
      gpu::version_numbers(&drv, &rt);
      if (drv == 0)
        return "no NVIDIA driver is loaded; install the NVIDIA driver for CUDA " + version_text(rt) +
               " or newer (this build's runtime), or use --device cpu";
      return "the NVIDIA driver supports CUDA up to " + version_text(drv) + " but this build's runtime is CUDA " +
             version_text(rt) + "; install a driver for CUDA " + version_text(rt) +
             " or newer, or build with a CUDA toolkit no newer than " + version_text(drv) + ", or use --device cpu";
    }
    case gpu::ErrorKind::NoDevice:
      return "no CUDA device is visible; check nvidia-smi and CUDA_VISIBLE_DEVICES, or use --device cpu";
    case gpu::ErrorKind::NoKernelImage: {
      gpu::DeviceInfo info;
      std::string dev = "this GPU";
      if (gpu::device_info(0, &info) == gpu::kSuccess)
        dev = info.name + " (sm_" + std::to_string(info.major) + std::to_string(info.minor) + ")";
      gpu::get_last_error();
      return "this build has no kernels for " + dev + ": it was compiled for CUDA architectures " TG_CUDA_ARCHS
             "; rebuild with -DTG_CUDA_ARCHITECTURES=" +
             (info.major ? std::to_string(info.major) + std::to_string(info.minor) : std::string("native")) +
             " (or add it to the list), or use --device cpu";
    }
    case gpu::ErrorKind::DeviceUnavailable:
      return "the CUDA device is busy or unavailable: its compute mode is exclusive-process and another process "
             "holds it, or it is prohibited; stop the other process or have the compute mode set to Default "
             "(nvidia-smi -c DEFAULT), or use --device cpu";
    case gpu::ErrorKind::OutOfMemory: {
      size_t free_b = 0, total_b = 0;
      if (gpu::mem_info(&free_b, &total_b) != gpu::kSuccess) {
        gpu::get_last_error();
        return "the device is out of memory; use smaller sizes or a device with more memory";
      }
      return "the device has " + std::to_string(free_b >> 20) + " MiB free of " + std::to_string(total_b >> 20) +
             " MiB; use smaller sizes (batch, hidden, sequence length) or a device with more memory";
    }
    case gpu::ErrorKind::AsyncFault:
    case gpu::ErrorKind::Other: break;
  }
  return "";
}

std::string probe_device() {
  int count = 0;
  gpu::Error err = gpu::device_count(&count);
  auto failed = [](gpu::Error e, const char* step) {
    gpu::get_last_error();  // clear the error
    const std::string hint = explain_error(e);
    return std::string(step) + " failed: " + gpu::error_string(e) + (hint.empty() ? "" : "; " + hint);
  };
  if (err != gpu::kSuccess) return failed(err, "cudaGetDeviceCount");
  if (count == 0) return "no CUDA device found; check nvidia-smi and CUDA_VISIBLE_DEVICES, or use --device cpu";
  if ((err = gpu::set_device(0)) != gpu::kSuccess) return failed(err, "cudaSetDevice(0)");
  void* raw = nullptr;
  if ((err = gpu::malloc(&raw, sizeof(int))) != gpu::kSuccess) return failed(err, "cudaMalloc of the probe");
  int* d = static_cast<int*>(raw);
  int h = 0;
  gpu::launch(probe_kernel, 1, 1, 0, nullptr, d);
  err = gpu::launch_error("probe_kernel");
  if (err == gpu::kSuccess) err = gpu::memcpy(&h, d, sizeof(int), gpu::Copy::DeviceToHost);
  gpu::free(d);
  if (err != gpu::kSuccess) return failed(err, "a test kernel");
  if (h != 42) return "a CUDA device is present but a test kernel returned a wrong value (" + std::to_string(h) + ")";
  return "";
}

}  // namespace tg::kernels::cuda

namespace tg {

bool cuda_device_usable(std::string* why) {
  // Every Tensor allocation on CUDA asks (backend_for); once a device has worked, say yes
  // without another runtime call. A failed probe is not repeated either: its reason is kept.
  static std::atomic<bool> known_good{false};
  if (known_good.load(std::memory_order_relaxed)) return true;
  static std::mutex mu;
  static bool probed = false;
  static std::string reason;
  std::lock_guard<std::mutex> lock(mu);
  if (!probed) {
    reason = kernels::cuda::probe_device();
    probed = true;
  }
  if (!reason.empty()) {
    if (why) *why = reason;
    return false;
  }
  known_good.store(true, std::memory_order_relaxed);
  return true;
}

}  // namespace tg
