// The one place that names the built-in backends: registers them with the engine's registry
// (tg/backend.h). The application calls this once at start (tg/kernels/register.h).
#include <mutex>
#include <string>

#include "tg/backend.h"
#include "tg/kernels/cpu_backend.h"
#include "tg/kernels/register.h"

#ifdef TG_HAVE_CUDA
namespace tg {
// Implemented by the CUDA backend (kernels/cuda).
bool cuda_device_usable(std::string* why);
Backend* cuda_backend_instance();
}  // namespace tg
#endif

namespace tg::kernels {

void register_builtin_backends() {
  static std::once_flag once;
  std::call_once(once, [] {
    register_backend({Device::CPU, "cpu", [](std::string*) { return true; },
                      []() -> Backend& { return cpu::cpu_backend(); }});
#ifdef TG_HAVE_CUDA
    register_backend({Device::CUDA, "cuda", &cuda_device_usable,
                      []() -> Backend& { return *cuda_backend_instance(); }});
#endif
  });
}

}  // namespace tg::kernels
