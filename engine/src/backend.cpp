#include "tg/backend.h"

#include <stdexcept>

#include "tg/kernels/cpu_backend.h"

namespace tg {

#ifdef TG_HAVE_CUDA
// Implemented by the CUDA backend (kernels/cuda).
bool cuda_device_usable(std::string* why);
Backend* cuda_backend_instance();
#endif

const char* unary_name(UnaryOp op) {
  switch (op) {
    case UnaryOp::Neg: return "neg";
    case UnaryOp::Sigmoid: return "sigmoid";
    case UnaryOp::Tanh: return "tanh";
    case UnaryOp::Sqrt: return "sqrt";
    case UnaryOp::Abs: return "abs";
    case UnaryOp::Square: return "square";
    case UnaryOp::Exp: return "exp";
    case UnaryOp::Log: return "log";
  }
  return "?";
}

const char* binary_name(BinaryOp op) {
  switch (op) {
    case BinaryOp::Add: return "add";
    case BinaryOp::Sub: return "sub";
    case BinaryOp::Mul: return "mul";
    case BinaryOp::Div: return "div";
  }
  return "?";
}

bool cuda_available(std::string* why) {
#ifdef TG_HAVE_CUDA
  return cuda_device_usable(why);
#else
  if (why) *why = "this build has no CUDA backend (configured without the CUDA toolkit)";
  return false;
#endif
}

Backend& backend_for(Device d) {
  if (d == Device::CPU) return kernels::cpu::cpu_backend();
#ifdef TG_HAVE_CUDA
  std::string why;
  if (!cuda_device_usable(&why)) throw std::runtime_error("CUDA device unavailable: " + why);
  if (Backend* b = cuda_backend_instance()) return *b;
  throw std::runtime_error("CUDA device unavailable: the CUDA backend is not implemented in this build");
#else
  throw std::runtime_error("CUDA device unavailable: this build has no CUDA backend");
#endif
}

}  // namespace tg
