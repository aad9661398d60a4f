// What the CUDA backend reports when the device goes wrong, on the CPU emulation with injected
// faults (kernels/cuda/emu/faults.cpp): each condition gives one line naming the problem and what
// to do. The same conditions through the timegan executable: tests/test_cli_cuda.cpp; the cuDNN
// GRU's guards: tests/cudnn_host/test_cudnn_host.cpp.
#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "../test_util.h"

#include "common.cuh"
#include "tg/backend.h"
#include "tg/kernels/cuda_backend.h"
#include "tg/tensor.h"

using namespace tg;
namespace emu = tg::gpu::emu;

namespace {

using tgtest::one_line;
using tgtest::message_of;  // (the message of what a call throws, "" when nothing)

// Resets the injected fault when a case ends, whatever it asserted.
struct Fault {
  explicit Fault(const std::string& spec) { emu::set_fault(spec); }
  ~Fault() { emu::set_fault(""); }
};

// Device bytes allocated now (the emulation's memory query without a fault).
size_t live_bytes() {
  emu::set_fault("");
  size_t free_b = 0, total_b = 0;
  REQUIRE(gpu::mem_info(&free_b, &total_b) == gpu::kSuccess);
  return total_b - free_b;
}

}  // namespace

TEST_CASE("device probe: each failure is one line naming the problem and what to do") {
  REQUIRE(tg::kernels::cuda::emulated());
  CHECK(tg::kernels::cuda::probe_device().empty());
  struct Case {
    const char* fault;
    std::vector<const char*> phrases;
  };
  const std::vector<Case> cases = {
      {"no_driver", {"CUDA driver version is insufficient", "no NVIDIA driver is loaded", "install the NVIDIA driver for CUDA 13.0"}},
      {"old_driver", {"supports CUDA up to 12.2", "runtime is CUDA 13.0", "install a driver for CUDA 13.0"}},
      {"no_device", {"no CUDA-capable device is detected", "CUDA_VISIBLE_DEVICES"}},
      {"no_kernel_image", {"no kernel image is available", "(sm_75)", "80-real,90-real,90-virtual", "-DTG_CUDA_ARCHITECTURES=75"}},
      {"busy", {"busy or unavailable", "exclusive-process", "nvidia-smi -c DEFAULT"}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.fault);
    Fault f(c.fault);
    const std::string why = tg::kernels::cuda::probe_device();
    CAPTURE(why);
    CHECK(one_line(why));
    for (const char* p : c.phrases) CHECK(why.find(p) != std::string::npos);
    CHECK(gpu::get_last_error() == gpu::kSuccess);  // nothing left behind
  }
  CHECK(tg::kernels::cuda::probe_device().empty());
}

TEST_CASE("caching allocator: out of memory after the retry names the size and the device's memory") {
  Tensor warm = Tensor::zeros(Shape{16}, DType::F32, Device::CUDA);  // the backend is up
  const size_t live = live_bytes();
  Fault f("oom_malloc:" + std::to_string(live + (size_t(1) << 20)));
  const std::string msg = message_of([] { Tensor::empty(Shape{16 << 20}, DType::F32, Device::CUDA); });
  CAPTURE(msg);
  CHECK(one_line(msg));
  CHECK(msg.find("CUDA out of memory: a tensor of 67108864 bytes (64.0 MiB)") != std::string::npos);
  CHECK(msg.find("also after the allocator released its cache") != std::string::npos);
  CHECK(msg.find("the device has ") != std::string::npos);
  CHECK(msg.find(" free of ") != std::string::npos);
  // the process goes on: a small tensor still fits
  CHECK_NOTHROW(Tensor::zeros(Shape{1024}, DType::F32, Device::CUDA));
}

TEST_CASE("caching allocator: a failed cudaMalloc releases the cache and succeeds on the retry") {
  {
    Tensor cached = Tensor::empty(Shape{3 << 18}, DType::F32, Device::CUDA);  // 3 MiB, then cached
  }
  const size_t live = live_bytes();
  const auto before = tg::kernels::cuda::allocator_stats();
  REQUIRE(before.cached_bytes >= (size_t(3) << 20));
  Fault f("oom_malloc:" + std::to_string(live + (size_t(1) << 20)));
  // 2 MiB does not fit beside the cache: the first cudaMalloc fails, the retry fits
  CHECK_NOTHROW(Tensor::empty(Shape{1 << 19}, DType::F32, Device::CUDA));
  CHECK(tg::kernels::cuda::allocator_stats().cached_bytes < before.cached_bytes);
}

TEST_CASE("cuBLAS out of memory: the call is retried once after the cache is released") {
  Tensor a = Tensor::full(Shape{4, 3}, 1.0, DType::F32, Device::CUDA);
  Tensor b = Tensor::full(Shape{3, 2}, 2.0, DType::F32, Device::CUDA);
  Tensor c = Tensor::zeros(Shape{4, 2}, DType::F32, Device::CUDA);
  auto gemm = [&] {
    tg::kernels::cuda::gemm_rm<float>(false, false, 4, 2, 3, 1.f, static_cast<const float*>(a.raw()), 3,
                                      static_cast<const float*>(b.raw()), 2, 0.f, static_cast<float*>(c.raw()), 2);
  };
  {
    Fault f("oom_blas:1");
    CHECK_NOTHROW(gemm());
    CHECK(c.to_vector() == std::vector<double>(8, 6.0));
  }
  {
    Fault f("oom_blas:2");
    const std::string msg = message_of(gemm);
    CAPTURE(msg);
    CHECK(one_line(msg));
    CHECK(msg.find("CUDA out of memory in cuBLAS: CUBLAS_STATUS_ALLOC_FAILED") != std::string::npos);
    CHECK(msg.find("the device has ") != std::string::npos);
  CHECK(msg.find(" free of ") != std::string::npos);
  }
  CHECK_NOTHROW(gemm());
}

TEST_CASE("an asynchronous kernel fault: sticky, reported by the next synchronising call with the TG_CUDA_SYNC hint") {
  REQUIRE(!tg::kernels::cuda::sync_after_launch());  // (TG_CUDA_SYNC=1: tests/test_cli_cuda.cpp)
  Tensor t = Tensor::zeros(Shape{8}, DType::F32, Device::CUDA);
  Fault f("async_fault:fill_kernel");
  Tensor u = Tensor::full(Shape{8}, 3.0, DType::F32, Device::CUDA);  // the launch itself succeeds
  const std::string msg = message_of([&] { u.to(Device::CPU); });
  CAPTURE(msg);
  CHECK(one_line(msg));
  CHECK(msg.find("an illegal memory access was encountered") != std::string::npos);
  CHECK(msg.find("may come from an earlier kernel launch") != std::string::npos);
  CHECK(msg.find("TG_CUDA_SYNC=1") != std::string::npos);
  // sticky, like a real context fault
  CHECK(message_of([&] { t.to(Device::CPU); }).find("illegal memory access") != std::string::npos);
  CHECK(message_of([] { tg::backend_for(Device::CUDA).synchronize(); }).find("illegal memory access") !=
        std::string::npos);
}

TEST_CASE("fault injection: a bad spec is refused") {
  CHECK_THROWS_AS(emu::set_fault("no_such_fault"), std::invalid_argument);
  CHECK_THROWS_AS(emu::set_fault("oom_malloc:x"), std::invalid_argument);
  CHECK_THROWS_AS(emu::set_fault("async_fault"), std::invalid_argument);
  CHECK_THROWS_AS(emu::set_fault("busy:1"), std::invalid_argument);
  emu::set_fault("");
}
