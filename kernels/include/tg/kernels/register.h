// Registration of the backends this build has with the engine's registry (tg/backend.h).
#pragma once

namespace tg::kernels {

/// Registers the built-in backends: the CPU, and CUDA in builds that have it (the real device or
/// its CPU emulation). Call once before the engine is used; further calls do nothing. The
/// timegan executable, the Python module, the tests and the benchmarks call it at start.
void register_builtin_backends();

}  // namespace tg::kernels
