// The backend registry and the names of the elementwise ops (tg/backend.h). The engine names no
// backend: the built-in ones register themselves through kernels::register_builtin_backends().
#include "tg/backend.h"

#include <array>
#include <mutex>
#include <stdexcept>

namespace tg {

namespace kernels {
// Registers the backends this build has (kernels/register_backends.cpp, the one place that
// names them). Called before the registry's first lookup: an explicit reference, so a static
// link always keeps it and the backends it names.
void register_builtin_backends();
}  // namespace kernels

namespace {

struct Registry {
  std::mutex mu;
  std::array<BackendEntry, 2> entries{};  // indexed by Device
  std::array<bool, 2> set{};
};

// The storage alone (register_backend writes here, also from inside the built-in registration).
Registry& storage() {
  static Registry* r = new Registry();  // never destroyed: backends outlive static tensors
  return *r;
}

// The storage once the built-in backends are in.
Registry& registry() {
  static std::once_flag once;
  std::call_once(once, [] { kernels::register_builtin_backends(); });
  return storage();
}

size_t slot_of(Device d) {
  const size_t i = static_cast<size_t>(d);
  if (i >= 2) throw std::invalid_argument("tg: invalid device value " + std::to_string(i));
  return i;
}

bool lookup(Device d, BackendEntry* out) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lk(r.mu);
  const size_t i = slot_of(d);
  if (!r.set[i]) return false;
  *out = r.entries[i];
  return true;
}

}  // namespace

void register_backend(const BackendEntry& e) {
  if (e.usable == nullptr || e.instance == nullptr || e.name == nullptr)
    throw std::invalid_argument("tg::register_backend: entry with a null name or function");
  Registry& r = storage();
  std::lock_guard<std::mutex> lk(r.mu);
  const size_t i = slot_of(e.device);
  r.entries[i] = e;
  r.set[i] = true;
}

std::vector<std::string> registered_backends() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lk(r.mu);
  std::vector<std::string> names;
  for (size_t i = 0; i < r.entries.size(); ++i)
    if (r.set[i]) names.emplace_back(r.entries[i].name);
  return names;
}

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
  BackendEntry e;
  if (!lookup(Device::CUDA, &e)) {
    if (why) *why = "this build has no CUDA backend (configured without the CUDA toolkit)";
    return false;
  }
  return e.usable(why);
}

Backend& backend_for(Device d) {
  BackendEntry e;
  if (!lookup(d, &e)) {
    if (d == Device::CUDA) throw std::runtime_error("CUDA device unavailable: this build has no CUDA backend");
    throw std::runtime_error(std::string("no backend registered for device ") + device_name(d));
  }
  std::string why;
  if (!e.usable(&why)) throw std::runtime_error(std::string(d == Device::CUDA ? "CUDA" : e.name) + " device unavailable: " + why);
  return e.instance();
}

void set_num_threads(int n) { backend_for(Device::CPU).set_num_threads(n); }
int num_threads() { return backend_for(Device::CPU).num_threads(); }

}  // namespace tg
