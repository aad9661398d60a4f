// The CPU backend: Eigen GEMMs, vectorised elementwise loops, fused recurrent kernels
// (rnn_cpu.h) run on a small persistent thread pool (parallel.h).
#pragma once

#include "tg/backend.h"

namespace tg::kernels::cpu {

/// The process-wide CPU backend (never destroyed, so tensors in static objects are safe).
Backend& cpu_backend();

}  // namespace tg::kernels::cpu
