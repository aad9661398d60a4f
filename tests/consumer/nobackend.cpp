// The installed engine linked without tg::kernels: no backend is registered, and asking for one
// fails with a message that says which library to link.
#include <cstdio>
#include <stdexcept>
#include <string>

#include "tg/engine.h"

int main() {
  using namespace tg;
  if (!registered_backends().empty()) {
    std::printf("consumer-nobackend: a backend is registered without tg::kernels\n");
    return 1;
  }
  try {
    backend_for(Device::CPU);
    std::printf("consumer-nobackend: backend_for(cpu) worked with no backend registered\n");
    return 1;
  } catch (const std::runtime_error& e) {
    std::printf("consumer-nobackend: %s\n", e.what());
    return std::string(e.what()).find("tg::kernels") != std::string::npos ? 0 : 1;
  }
}
