// The CPU emulation of the CUDA device (cuda_emu.h, runtime.cpp) on kernels written here: what
// the emulated CUDA backend's tests rely on. Built and run only with TG_CUDA_EMU=ON.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "gpu.cuh"

namespace {

using tg::gpu::Copy;

// out[block] = sum of in[block*n .. block*n + n) with a shared-memory tree (barriers between levels).
__global__ void tree_sum(const float* in, float* out, int n) {
  float* s = tg::gpu::dynamic_smem<float>();
  const int t = threadIdx.x;
  s[t] = t < n ? in[blockIdx.x * n + t] : 0.0f;
  __syncthreads();
  for (int half = blockDim.x / 2; half > 0; half /= 2) {
    if (t < half) s[t] += s[t + half];
    __syncthreads();
  }
  if (t == 0) out[blockIdx.x] = s[0];
}

// Warp reduction with shuffles; lane 0 of each warp writes its warp's sum.
__global__ void warp_sum(const double* in, double* out) {
  double v = in[threadIdx.x];
  for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
  if ((threadIdx.x & 31) == 0) out[threadIdx.x / 32] = v;
}

// Reads shared memory nobody wrote.
__global__ void read_unwritten(float* out) { out[threadIdx.x] = tg::gpu::dynamic_smem<float>()[threadIdx.x]; }

__global__ void coords(int* out) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  out[4 * i + 0] = threadIdx.x;
  out[4 * i + 1] = blockIdx.x;
  out[4 * i + 2] = blockDim.x;
  out[4 * i + 3] = gridDim.x;
}

// Threads leave early while the others still meet at barriers (exited threads no longer count).
__global__ void early_exit(int* out) {
  if (threadIdx.x >= 3) return;
  int* s = tg::gpu::dynamic_smem<int>();
  s[threadIdx.x] = static_cast<int>(threadIdx.x) + 1;
  __syncthreads();
  out[threadIdx.x] = s[0] + s[1] + s[2];
}

template <typename T>
std::vector<T> to_host(const void* d, size_t n) {
  std::vector<T> h(n);
  REQUIRE(tg::gpu::memcpy(h.data(), d, n * sizeof(T), Copy::DeviceToHost) == tg::gpu::kSuccess);
  return h;
}

template <typename T>
void* to_device(const std::vector<T>& h) {
  void* d = nullptr;
  REQUIRE(tg::gpu::malloc(&d, h.size() * sizeof(T)) == tg::gpu::kSuccess);
  REQUIRE(tg::gpu::memcpy(d, h.data(), h.size() * sizeof(T), Copy::HostToDevice) == tg::gpu::kSuccess);
  return d;
}

}  // namespace

TEST_CASE("cuda emulation: barriers order shared-memory reductions across the threads of a block") {
  const int blocks = 3, n = 50;
  std::vector<float> in(blocks * n);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>(i % 7) + 0.5f;
  void* din = to_device(in);
  void* dout = nullptr;
  REQUIRE(tg::gpu::malloc(&dout, blocks * sizeof(float)) == tg::gpu::kSuccess);
  tg::gpu::launch(tree_sum, blocks, 64, 64 * sizeof(float), nullptr, static_cast<const float*>(din),
                  static_cast<float*>(dout), n);
  REQUIRE(tg::gpu::get_last_error() == tg::gpu::kSuccess);
  const auto out = to_host<float>(dout, blocks);
  for (int b = 0; b < blocks; ++b) {
    float want = 0;
    for (int i = 0; i < n; ++i) want += in[static_cast<size_t>(b * n + i)];
    CHECK(out[static_cast<size_t>(b)] == want);
  }
  tg::gpu::free(din);
  tg::gpu::free(dout);
}

TEST_CASE("cuda emulation: warp shuffles exchange values between lanes") {
  std::vector<double> in(64);
  for (int i = 0; i < 64; ++i) in[static_cast<size_t>(i)] = i;
  void* din = to_device(in);
  void* dout = nullptr;
  REQUIRE(tg::gpu::malloc(&dout, 2 * sizeof(double)) == tg::gpu::kSuccess);
  tg::gpu::launch(warp_sum, 1, 64, 0, nullptr, static_cast<const double*>(din), static_cast<double*>(dout));
  const auto out = to_host<double>(dout, 2);
  CHECK(out[0] == 31 * 32 / 2);                // 0 + ... + 31
  CHECK(out[1] == (32 + 63) * 32 / 2);         // 32 + ... + 63
  tg::gpu::free(din);
  tg::gpu::free(dout);
}

TEST_CASE("cuda emulation: shared and device memory start as NaN") {
  void* d = nullptr;
  REQUIRE(tg::gpu::malloc(&d, 32 * sizeof(float)) == tg::gpu::kSuccess);
  for (float v : to_host<float>(d, 32)) CHECK(std::isnan(v));  // fresh device memory
  tg::gpu::launch(read_unwritten, 1, 32, 32 * sizeof(float), nullptr, static_cast<float*>(d));
  for (float v : to_host<float>(d, 32)) CHECK(std::isnan(v));  // unwritten shared memory
  // a block handed out again by a caching allocator is garbage again
  std::vector<float> zeros(32, 0.0f);
  REQUIRE(tg::gpu::memcpy(d, zeros.data(), sizeof(float) * 32, Copy::HostToDevice) == tg::gpu::kSuccess);
  tg::gpu::mark_freed(d, 32 * sizeof(float));
  tg::gpu::mark_allocated(d, 32 * sizeof(float), 32 * sizeof(float));
  for (float v : to_host<float>(d, 32)) CHECK(std::isnan(v));
  tg::gpu::free(d);
}

TEST_CASE("cuda emulation: thread and block coordinates") {
  void* d = nullptr;
  REQUIRE(tg::gpu::malloc(&d, 3 * 5 * 4 * sizeof(int)) == tg::gpu::kSuccess);
  tg::gpu::launch(coords, 3, 5, 0, nullptr, static_cast<int*>(d));
  const auto h = to_host<int>(d, 60);
  for (int i = 0; i < 15; ++i) {
    CHECK(h[static_cast<size_t>(4 * i + 0)] == i % 5);
    CHECK(h[static_cast<size_t>(4 * i + 1)] == i / 5);
    CHECK(h[static_cast<size_t>(4 * i + 2)] == 5);
    CHECK(h[static_cast<size_t>(4 * i + 3)] == 3);
  }
  tg::gpu::free(d);
}

TEST_CASE("cuda emulation: threads that exit early no longer hold a barrier") {
  void* d = nullptr;
  REQUIRE(tg::gpu::malloc(&d, 3 * sizeof(int)) == tg::gpu::kSuccess);
  tg::gpu::launch(early_exit, 1, 40, 3 * sizeof(int), nullptr, static_cast<int*>(d));
  REQUIRE(tg::gpu::get_last_error() == tg::gpu::kSuccess);
  for (int v : to_host<int>(d, 3)) CHECK(v == 6);
  tg::gpu::free(d);
}

TEST_CASE("cuda emulation: launch configurations are checked as on a device") {
  void* d = nullptr;
  REQUIRE(tg::gpu::malloc(&d, 64 * sizeof(float)) == tg::gpu::kSuccess);
  float* f = static_cast<float*>(d);
  tg::gpu::launch(read_unwritten, 1, 2048, 0, nullptr, f);  // more than 1024 threads
  CHECK(tg::gpu::get_last_error() == tg::gpu::kErrorInvalidConfiguration);
  CHECK(tg::gpu::get_last_error() == tg::gpu::kSuccess);  // read once, then cleared
  tg::gpu::launch(read_unwritten, 0, 32, 0, nullptr, f);   // empty grid
  CHECK(tg::gpu::get_last_error() == tg::gpu::kErrorInvalidConfiguration);
  // more than 48 KiB of dynamic shared memory only after allow_dynamic_smem, up to the opt-in
  tg::gpu::launch(read_unwritten, 1, 32, 64 * 1024, nullptr, f);
  CHECK(tg::gpu::get_last_error() == tg::gpu::kErrorInvalidValue);
  REQUIRE(tg::gpu::allow_dynamic_smem(read_unwritten, 64 * 1024) == tg::gpu::kSuccess);
  tg::gpu::launch(read_unwritten, 1, 32, 64 * 1024, nullptr, f);
  CHECK(tg::gpu::get_last_error() == tg::gpu::kSuccess);
  tg::gpu::DeviceInfo info;
  REQUIRE(tg::gpu::device_info(0, &info) == tg::gpu::kSuccess);
  REQUIRE(tg::gpu::allow_dynamic_smem(read_unwritten, info.smem_optin + 1024) == tg::gpu::kSuccess);
  tg::gpu::launch(read_unwritten, 1, 32, info.smem_optin + 1024, nullptr, f);
  CHECK(tg::gpu::get_last_error() == tg::gpu::kErrorInvalidValue);
  tg::gpu::free(d);
}

TEST_CASE("cuda emulation: BLAS loops follow cuBLAS (column-major, beta 0 does not read C)") {
  // A 2x3, B 3x2 column-major; C = A B with C full of NaN and beta 0
  const std::vector<double> a{1, 4, 2, 5, 3, 6}, b{7, 9, 11, 8, 10, 12};
  void* da = to_device(a);
  void* db = to_device(b);
  void* dc = nullptr;
  REQUIRE(tg::gpu::malloc(&dc, 4 * sizeof(double)) == tg::gpu::kSuccess);  // NaN bytes
  tg::gpu::BlasHandle h;
  REQUIRE(tg::gpu::blas_create(&h, nullptr) == tg::gpu::kBlasSuccess);
  const double one = 1, zero = 0;
  REQUIRE(tg::gpu::gemm<double>(h, false, false, 2, 2, 3, &one, static_cast<const double*>(da), 2,
                                static_cast<const double*>(db), 3, &zero, static_cast<double*>(dc), 2) ==
          tg::gpu::kBlasSuccess);
  const auto c = to_host<double>(dc, 4);
  CHECK(c == std::vector<double>{58, 139, 64, 154});
  // a leading dimension smaller than the rows is an error, as in cuBLAS
  CHECK(tg::gpu::gemm<double>(h, false, false, 2, 2, 3, &one, static_cast<const double*>(da), 1,
                              static_cast<const double*>(db), 3, &zero, static_cast<double*>(dc), 2) ==
        tg::gpu::kBlasInvalidValue);
  tg::gpu::free(da);
  tg::gpu::free(db);
  tg::gpu::free(dc);
}
