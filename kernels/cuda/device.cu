/*
device.cu: CUDA device discovery for the engine (tg::cuda_available, backend_for(CUDA)).

A machine without a usable GPU (no driver, no device, driver too old for the runtime) is
reported with the runtime's reason instead of failing later; a present device is probed once
with a one-thread kernel so that a broken context is caught here, not inside a training loop.
After the first success the answer is cached (backend_for asks on every tensor allocation).
The backend object itself lives in cuda_backend.cu (cuda_backend_instance()).

Versions: CUDA 12/13 runtime; sm_80 / sm_90.
*/
#include <atomic>
#include <string>

#include "gpu.cuh"
#include "tg/backend.h"

namespace tg {

namespace {
// Touches a device once so that a broken context is detected here, not inside a training loop.
__global__ void probe_kernel(int* out) { *out = 42; }
}  // namespace

bool cuda_device_usable(std::string* why) {
  // Every Tensor allocation on CUDA asks (backend_for); once a device has worked, say yes
  // without another runtime call.
  static std::atomic<bool> known_good{false};
  if (known_good.load(std::memory_order_relaxed)) return true;
  int count = 0;
  const gpu::Error err = gpu::device_count(&count);
  if (err != gpu::kSuccess) {
    if (why) *why = std::string("no usable CUDA device: ") + gpu::error_string(err);
    gpu::get_last_error();  // clear the sticky error
    return false;
  }
  if (count == 0) {
    if (why) *why = "no CUDA device found";
    return false;
  }
  static int probed = -1;
  if (probed < 0) {
    void* raw = nullptr;
    int h = 0;
    probed = 0;
    if (gpu::malloc(&raw, sizeof(int)) == gpu::kSuccess) {
      int* d = static_cast<int*>(raw);
      gpu::launch(probe_kernel, 1, 1, 0, nullptr, d);
      if (gpu::memcpy(&h, d, sizeof(int), gpu::Copy::DeviceToHost) == gpu::kSuccess && h == 42) probed = 1;
      gpu::free(d);
    }
    gpu::get_last_error();
  }
  if (!probed) {
    if (why) *why = "a CUDA device is present but a test kernel failed to run";
    return false;
  }
  known_good.store(true, std::memory_order_relaxed);
  return true;
}

}  // namespace tg
