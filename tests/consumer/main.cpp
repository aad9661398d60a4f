// Trains a one-layer GRU for a few Adam steps through the installed engine and checks that
// the loss falls. Also that the built-in backends are registered before main by linking
// tg::kernels alone (no call, no kernel header), and that the thread setting goes through the
// engine. nobackend.cpp: the same package without tg::kernels has no backend and says so.
#include <cstdio>
#include <string>
#include <vector>

#include "tg/engine.h"
#include "tg/models/network.h"

int main() {
  using namespace tg;
  const std::vector<std::string> backends = registered_backends();
  if (backends.empty() || backends[0] != "cpu") {
    std::printf("consumer: the CPU backend is not registered at start\n");
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
  std::printf("consumer: backends %zu, loss %.5f -> %.5f\n", backends.size(), first, last);
  return last < first ? 0 : 1;
}
