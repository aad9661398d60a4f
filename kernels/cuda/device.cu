// CUDA device discovery for the engine. A machine without a usable GPU (no driver, no device,
// driver too old) is reported with the runtime's reason instead of failing later.
// The backend object itself lives in cuda_backend.cu (cuda_backend_instance()).
#include <cuda_runtime.h>

#include <string>

#include "tg/backend.h"

namespace tg {

namespace {
// Touches a device once so that a broken context is detected here, not inside a training loop.
__global__ void probe_kernel(int* out) { *out = 42; }
}  // namespace

bool cuda_device_usable(std::string* why) {
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    if (why) *why = std::string("no usable CUDA device: ") + cudaGetErrorString(err);
    cudaGetLastError();  // clear the sticky error
    return false;
  }
  if (count == 0) {
    if (why) *why = "no CUDA device found";
    return false;
  }
  static int probed = -1;
  if (probed < 0) {
    int* d = nullptr;
    int h = 0;
    probed = 0;
    if (cudaMalloc(&d, sizeof(int)) == cudaSuccess) {
      probe_kernel<<<1, 1>>>(d);
      if (cudaMemcpy(&h, d, sizeof(int), cudaMemcpyDeviceToHost) == cudaSuccess && h == 42) probed = 1;
      cudaFree(d);
    }
    cudaGetLastError();
  }
  if (!probed) {
    if (why) *why = "a CUDA device is present but a test kernel failed to run";
    return false;
  }
  return true;
}

}  // namespace tg
