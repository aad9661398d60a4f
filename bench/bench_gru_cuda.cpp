// GPU benchmark of the fused GRU stacks: our persistent kernels vs cuDNN (reset-after form),
// and our TF1-form kernels, at TimeGAN's shape (B 128, T 24, H 24, 3 layers) for the input
// widths of the TimeGAN networks (5, 6, 24, 28); impl "stepwise" is our step-wise path forced
// (the one hidden sizes beyond shared memory get, e.g. --hidden 256: kernels/cuda/gru.cu), "ours"
// the automatic choice. Times the backend calls directly (no autograd):
//   fwd      rnn_forward without a reserve (inference)
//   fwd+bwd  rnn_forward with a reserve + rnn_backward
// Each number is the mean over --iters calls after --warmup calls, wall clock around a stream
// synchronisation (so it includes launch overhead, which is the point at these sizes).
//
// Usage: bench_gru_cuda [--iters N] [--warmup N] [--batch B] [--seq T] [--hidden H]
//                       [--layers L] [--json] [--dtype f32|f64]
// Output: a table, and with --json one JSON object per line (fields: bench, device, impl, cell,
// dtype, batch, seq, hidden, layers, input, mode, us_per_call, iters).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "tg/backend.h"
#include "tg/rnn_spec.h"
#include "tg/tensor.h"
#ifdef TG_HAVE_CUDA
#include "tg/kernels/cuda_backend.h"
#endif

using namespace tg;

#ifdef TG_HAVE_CUDA
namespace {

Tensor rand_dev(const Shape& s, DType dt, uint32_t seed, double a) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-a, a);
  std::vector<double> v(static_cast<size_t>(s.numel()));
  for (auto& x : v) x = u(rng);
  return Tensor::from_vector(s, v, dt, Device::CUDA);
}

std::string json_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    o += c;
  }
  return o;
}

}  // namespace
#endif

int main(int argc, char** argv) {
#ifndef TG_HAVE_CUDA
  (void)argc;
  (void)argv;
  std::printf("bench_gru_cuda: skipped: this build has no CUDA backend\n");
  return 0;
#else
  int iters = 200, warmup = 20, B = 128, T = 24, H = 24, L = 3;
  bool json = false;
  DType dt = DType::F32;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_gru_cuda: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--iters") iters = std::atoi(next());
    else if (a == "--warmup") warmup = std::atoi(next());
    else if (a == "--batch") B = std::atoi(next());
    else if (a == "--seq") T = std::atoi(next());
    else if (a == "--hidden") H = std::atoi(next());
    else if (a == "--layers") L = std::atoi(next());
    else if (a == "--json") json = true;
    else if (a == "--dtype") dt = std::string(next()) == "f64" ? DType::F64 : DType::F32;
    else {
      std::fprintf(stderr, "bench_gru_cuda: unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  std::string why;
  if (!cuda_available(&why)) {
    std::printf("bench_gru_cuda: skipped: no CUDA device: %s\n", why.c_str());
    return 0;
  }
  namespace kc = tg::kernels::cuda;
  Backend& be = backend_for(Device::CUDA);
  const std::string dev = kc::device_description();
  struct Variant {
    const char* impl;
    Cell cell;
  };
  // ours: our kernels on their automatic path (persistent where the weights fit shared memory);
  // stepwise: our step-wise path forced (kernels/cuda/gru.cu), what larger hidden sizes get
  std::vector<Variant> variants = {{"ours", Cell::GruResetAfter}, {"ours", Cell::GruTf1},
                                   {"stepwise", Cell::GruResetAfter}, {"stepwise", Cell::GruTf1}};
  if (kc::have_cudnn()) variants.insert(variants.begin() + 1, Variant{"cudnn", Cell::GruResetAfter});
  std::printf("# bench_gru_cuda on %s: B %d T %d H %d L %d %s, %d iters\n", dev.c_str(), B, T, H, L, dtype_name(dt), iters);
  std::printf("%-8s %-7s %5s %10s %12s\n", "impl", "cell", "input", "fwd us", "fwd+bwd us");
  for (int in : {5, 6, 24, 28})
    for (const Variant& v : variants) {
      kc::set_gru_impl(std::string(v.impl) == "cudnn" ? kc::GruImpl::Cudnn : kc::GruImpl::Ours);
      kc::set_gru_path(std::string(v.impl) == "stepwise" ? kc::GruPath::Stepwise : kc::GruPath::Auto);
      RnnSpec call{v.cell, L, H, B, T, in};
      std::vector<Tensor> w, gw;
      uint32_t seed = 1;
      for (int l = 0; l < L; ++l)
        for (auto& sh : rnn_weight_shapes(v.cell, l == 0 ? in : H, H)) {
          w.push_back(rand_dev(Shape(sh), dt, seed++, 0.3));
          gw.push_back(Tensor::zeros(Shape(sh), dt, Device::CUDA));
        }
      Tensor x = rand_dev(Shape{B, T, in}, dt, 100, 1.0);
      Tensor gy = rand_dev(Shape{B, T, H}, dt, 101, 1.0);
      Tensor y = Tensor::empty(Shape{B, T, H}, dt, Device::CUDA);
      Tensor gx = Tensor::empty(Shape{B, T, in}, dt, Device::CUDA);
      Tensor none, hT, cT, gh0, gc0;
      auto time_it = [&](auto&& fn) {
        for (int i = 0; i < warmup; ++i) fn();
        be.synchronize();
        const auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < iters; ++i) fn();
        be.synchronize();
        const auto t1 = std::chrono::steady_clock::now();
        return std::chrono::duration<double, std::micro>(t1 - t0).count() / iters;
      };
      double fwd = -1, fb = -1;
      try {
        fwd = time_it([&] { be.rnn_forward(call, w, x, nullptr, none, none, y, hT, cT, false); });
        fb = time_it([&] {
          const auto saved = be.rnn_forward(call, w, x, nullptr, none, none, y, hT, cT, true);
          be.rnn_backward(call, w, x, nullptr, none, none, *saved, gy, gx, gw, gh0, gc0);
        });
      } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_gru_cuda: %s %s input %d failed: %s\n", v.impl, cell_name(v.cell), in, e.what());
      }
      std::printf("%-8s %-7s %5d %10.1f %12.1f\n", v.impl, cell_name(v.cell), in, fwd, fb);
      if (json)
        for (int m = 0; m < 2; ++m)
          std::printf(
              "{\"bench\":\"gru_cuda\",\"device\":\"%s\",\"impl\":\"%s\",\"cell\":\"%s\",\"dtype\":\"%s\","
              "\"batch\":%d,\"seq\":%d,\"hidden\":%d,\"layers\":%d,\"input\":%d,\"mode\":\"%s\","
              "\"us_per_call\":%.3f,\"iters\":%d}\n",
              json_escape(dev).c_str(), v.impl, cell_name(v.cell), dtype_name(dt), B, T, H, L, in,
              m == 0 ? "fwd" : "fwd+bwd", m == 0 ? fwd : fb, iters);
    }
  kc::set_gru_impl(kc::GruImpl::Ours);
  kc::set_gru_path(kc::GruPath::Auto);
  const auto st = kc::allocator_stats();
  std::printf("# allocator: %zu cudaMalloc calls, %zu cache hits, %zu bytes on device\n", st.cuda_mallocs, st.hits,
              st.device_bytes);
  return 0;
#endif
}
