// The one place that names the built-in backends: registers them with the engine's registry
// (tg/backend.h) while the program starts, before main. Every link of tg::kernels pulls this file
// in through the library's link option --undefined=tg_kernels_registered (CMakeLists.txt), so
// linking the library is all an application does; the engine itself names no backend.
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

namespace {

int register_builtin_backends() {
  using namespace tg;
  register_backend({Device::CPU, "cpu", [](std::string*) { return true; },
                    []() -> Backend& { return kernels::cpu::cpu_backend(); }});
#ifdef TG_HAVE_CUDA
  register_backend({Device::CUDA, "cuda", &cuda_device_usable,
                    []() -> Backend& { return *cuda_backend_instance(); }});
#endif
  return 1;
}

}  // namespace

// Initialised (and the backends registered) with the program's static objects; the engine's
// registry is a function-local object, so the order among translation units does not matter.
extern "C" {
extern const int tg_kernels_registered;
const int tg_kernels_registered = register_builtin_backends();
}
