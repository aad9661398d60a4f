// The one place that names the built-in backends: registers them with the engine's registry
// (tg/backend.h). The registry calls this before its first lookup.
#include <string>

#include "tg/backend.h"
#include "tg/kernels/cpu_backend.h"

#ifdef TG_HAVE_CUDA
namespace tg {
// Implemented by the CUDA backend (kernels/cuda).
bool cuda_device_usable(std::string* why);
Backend* cuda_backend_instance();
}  // namespace tg
#endif

namespace tg::kernels {

void register_builtin_backends() {
  register_backend({Device::CPU, "cpu", [](std::string*) { return true; },
                    []() -> Backend& { return cpu::cpu_backend(); }});
#ifdef TG_HAVE_CUDA
  register_backend({Device::CUDA, "cuda", &cuda_device_usable,
                    []() -> Backend& { return *cuda_backend_instance(); }});
#endif
}

}  // namespace tg::kernels
