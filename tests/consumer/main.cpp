// Trains a one-layer GRU for a few Adam steps through the installed engine and checks that
// the loss falls. Also that the engine has no backend until the application registers the
// built-in ones (tg::kernels, tg/kernels/register.h), that registering them through the static
// libraries works, and that the thread setting goes through the engine.
#include <cstdio>
#include <stdexcept>
#include <string>

#include "tg/engine.h"
#include "tg/kernels/register.h"
#include "tg/models/network.h"

int main() {
  using namespace tg;
  if (!registered_backends().empty()) {
    std::printf("consumer: a backend was registered before the application registered one\n");
    return 1;
  }
  try {
    backend_for(Device::CPU);
    std::printf("consumer: backend_for(cpu) worked with no backend registered\n");
    return 1;
  } catch (const std::runtime_error& e) {
    std::printf("consumer: before registering: %s\n", e.what());
  }
  kernels::register_builtin_backends();
  const std::vector<std::string> backends = registered_backends();
  if (backends.empty() || backends[0] != "cpu") {
    std::printf("consumer: the CPU backend is not registered\n");
    return 1;
  }
  set_num_threads(2);
  if (num_threads() != 2) {
    std::printf("consumer: set_num_threads(2) gave %d threads\n", num_threads());
    return 1;
  }
  Rng rng(1, 0);
  ParamGroup g;
  g.name = "net";
  std::vector<Var> w;
  for (const Tensor& t : models::init_rnn_layer(Cell::GruTf1, 2, 4, rng, DType::F32, Device::CPU))
    w.push_back(g.add("w", t));
  Tensor xt = Tensor::empty(Shape{8, 5, 2});
  fill_uniform(xt, rng, 0.0, 1.0);
  Var x(xt);
  Adam opt(g);
  double first = 0, last = 0;
  for (int i = 0; i < 50; ++i) {
    opt.zero_grad();
    Var y = rnn(RnnSpec{Cell::GruTf1, 1, 4}, x, w);
    Var loss = mean(square(add_scalar(y, -0.5)));
    backward(loss);
    opt.step();
    (i == 0 ? first : last) = loss.value().item();
  }
  std::printf("consumer: loss %.5f -> %.5f\n", first, last);
  return last < first ? 0 : 1;
}
