/*
cuda_backend.cu: tg::Backend on one NVIDIA GPU (float32 and float64).

Purpose
  Every primitive of engine/include/tg/backend.h with the exact semantics of the CPU
  reference (kernels/cpu/cpu_backend.cpp): numpy broadcasting for binary ops, sum_to over
  broadcast axes, `accumulate` flags, population variance over axis 0, row-major GEMM,
  strided row copies, sigmoid cross-entropy, fused Adam, and Philox uniform fills that give
  the CPU's values bit for bit. The recurrent stacks are dispatched to gru.cu (both GRU
  forms: persistent kernels, or a step-wise path where the weights exceed shared memory),
  lstm.cu (LSTM / LN-LSTM, per-step kernels) and cudnn_gru.cu (cuDNN baseline for the
  reset-after GRU, TG_GRU_IMPL=cudnn).

Layout
  * Caching allocator: sizes rounded to size classes (256 B granularity up to 64 KiB, then 8
    classes per power of two); freed blocks go to a per-class free list and are reused, so a
    training loop calls cudaMalloc only while the pool warms up and never calls cudaFree.
    Reuse is safe without events because all work is issued on the backend's one stream.
  * One non-blocking stream; the cuBLAS handle is bound to it (default math: no TF32).
  * GEMM: row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T, so cuBLAS gets
    (B, A) swapped with their leading dimensions; nothing is transposed in memory.
  * Elementwise kernels: grid-stride loops; broadcasting through 4-D strides (0 on broadcast
    axes), the same index arithmetic as the CPU's general path.
  * to_host is synchronous (copy on the stream, then stream sync); from_host of pageable
    memory returns once the source has been staged, so the caller may free it.

Versions: CUDA 12/13, cuBLAS v2; sm_80, sm_90.
*/
#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "common.cuh"
#include "cudnn_checks.h"
#include "tg/kernels/cuda_backend.h"
#include "tg/kernels/backend_common.h"
#include "tg/kernels/elementwise.h"
#include "tg/kernels/rnn_io_tensors.h"

namespace tg {
bool cuda_device_usable(std::string* why);
Backend* cuda_backend_instance();
}  // namespace tg

namespace tg::kernels::cuda {

void throw_cuda_error(const char* what, const char* call, const char* file, int line) {
  throw std::runtime_error(std::string("CUDA error: ") + call + " failed: " + what + " (" + file + ":" +
                           std::to_string(line) + ")");
}

void throw_cuda_error(gpu::Error e, const char* call, const char* file, int line) {
  std::string msg = std::string("CUDA error: ") + call + " failed: " + gpu::error_string(e) + " (" + file + ":" +
                    std::to_string(line) + ")";
  if (gpu::error_kind(e) == gpu::ErrorKind::AsyncFault) {
    if (!sync_after_launch())
      msg += "; kernels run asynchronously, so the fault may come from an earlier kernel launch: rerun with "
             "TG_CUDA_SYNC=1 to have the faulting kernel named";
  } else {
    const std::string hint = explain_error(e);
    if (!hint.empty()) msg += "; " + hint;
  }
  gpu::get_last_error();
  throw std::runtime_error(msg);
}

bool sync_after_launch() {
  static const bool on = [] {
    const char* e = std::getenv("TG_CUDA_SYNC");
    return e && *e && std::string(e) != "0";
  }();
  return on;
}

void check_kernel(const char* name, const char* file, int line) {
  gpu::tally_kernel(name);
  gpu::Error e = gpu::launch_error(name);
  if (e != gpu::kSuccess) throw_cuda_error(e, (std::string("launch of ") + name).c_str(), file, line);
  if (!sync_after_launch()) return;
  e = gpu::device_synchronize();
  if (e != gpu::kSuccess) {
    gpu::get_last_error();
    throw std::runtime_error(std::string("CUDA error: kernel ") + name + " failed: " + gpu::error_string(e) +
                             " (found by the synchronisation after its launch, TG_CUDA_SYNC=1; " + file + ":" +
                             std::to_string(line) + ")");
  }
}

namespace {

gpu::Stream work_stream();
// "512 bytes", "12.3 KiB", "256.0 MiB", "79.1 GiB"
std::string size_text(size_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + " bytes";
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  size_t scale = 1024;
  while (u < 3 && bytes >= scale * 1024) {
    scale *= 1024;
    ++u;
  }
  const size_t tenths = (bytes * 10 + scale / 2) / scale;
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " " + units[u];
}

// "the device has F MiB free of T MiB" (cudaMemGetInfo), or "" when the query fails.
std::string memory_text() {
  size_t free_b = 0, total_b = 0;
  if (gpu::mem_info(&free_b, &total_b) != gpu::kSuccess) {
    gpu::get_last_error();
    return "";
  }
  return "the device has " + size_text(free_b) + " free of " + size_text(total_b);
}

const char* const kOomAdvice = "use smaller sizes (batch, hidden size, sequence length) or a device with more memory";

// =============================================================================================
// Caching allocator
// =============================================================================================
class CachingAllocator {
 public:
  static size_t size_class(size_t bytes) {
    if (bytes == 0) bytes = 1;
    if (bytes <= 65536) return (bytes + 255) / 256 * 256;
    // 8 classes per power of two above 64 KiB (at most 12.5% waste).
    size_t p = 65536;
    while (p * 2 < bytes) p *= 2;
    const size_t step = p / 8;
    return (bytes + step - 1) / step * step;
  }

  void* allocate(size_t bytes) {
    const size_t cls = size_class(bytes);
    std::lock_guard<std::mutex> lock(mu_);
    auto& fl = free_[cls];
    void* p = nullptr;
    if (!fl.empty()) {
      p = fl.back();
      fl.pop_back();
      stats_.cached_bytes -= cls;
      ++stats_.hits;
    } else {
      gpu::Error err = gpu::malloc(&p, cls);
      if (err != gpu::kSuccess) {
        // Out of memory: give the cached blocks back to the driver once and retry.
        gpu::get_last_error();
        release_cached_locked();
        err = gpu::malloc(&p, cls);
        if (err != gpu::kSuccess) {
          gpu::get_last_error();
          if (gpu::error_kind(err) != gpu::ErrorKind::OutOfMemory)
            throw_cuda_error(err, ("cudaMalloc of " + std::to_string(cls) + " bytes").c_str(), __FILE__, __LINE__);
          const std::string mem = memory_text();
          throw std::runtime_error("CUDA out of memory: a tensor of " + std::to_string(bytes) + " bytes" +
                                   (bytes >= 1024 ? " (" + size_text(bytes) + ")" : std::string()) +
                                   " could not be allocated, also after the allocator released its cache" +
                                   (mem.empty() ? "" : ": " + mem) + "; " + kOomAdvice);
        }
      }
      stats_.device_bytes += cls;
      ++stats_.cuda_mallocs;
    }
    live_[p] = cls;
    gpu::mark_allocated(p, bytes, cls, work_stream());
    return p;
  }

  void deallocate(void* p) noexcept {
    if (!p) return;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_.find(p);
    if (it == live_.end()) return;  // not ours: ignore rather than corrupt the pool
    const size_t cls = it->second;
    live_.erase(it);
    gpu::mark_freed(p, cls, work_stream());
    try {
      free_[cls].push_back(p);
      stats_.cached_bytes += cls;
    } catch (...) {
    }
  }

  AllocatorStats stats() {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }

  /// Gives the free blocks back to the device (before a library call is retried).
  void release_cache() {
    std::lock_guard<std::mutex> lock(mu_);
    release_cached_locked();
  }

 private:
  void release_cached_locked() {
    gpu::device_synchronize();
    for (auto& kv : free_) {
      for (void* p : kv.second) {
        gpu::free(p);
        stats_.device_bytes -= kv.first;
        stats_.cached_bytes -= kv.first;
      }
      kv.second.clear();
    }
  }

  std::mutex mu_;
  std::map<size_t, std::vector<void*>> free_;
  std::unordered_map<void*, size_t> live_;
  AllocatorStats stats_;
};

CachingAllocator& allocator() {
  static CachingAllocator* a = new CachingAllocator();  // leaked: outlives static tensors
  return *a;
}

}  // namespace

void release_cached_memory() { allocator().release_cache(); }

void throw_library_oom(const char* library, const char* status) {
  const std::string mem = memory_text();
  throw std::runtime_error(std::string("CUDA out of memory in ") + library + ": " + status +
                           ", also when retried after the allocator released its cache" +
                           (mem.empty() ? "" : ": " + mem) + "; " + kOomAdvice);
}

namespace {

// =============================================================================================
// Elementwise kernels
// =============================================================================================

template <typename T>
__global__ void fill_kernel(T* out, int64_t n, T v) {
  GRID_STRIDE(i, n) out[i] = v;
}

// Up to kFillSlots tensors filled by one launch, their pointers and sizes a kernel argument:
// blockIdx.y picks the tensor, the x blocks stride over it.
constexpr int kFillSlots = 32;
template <typename T>
struct FillTable {
  T* p[kFillSlots];
  int64_t n[kFillSlots];
};
template <typename T>
__global__ void fill_multi_kernel(FillTable<T> tab, T v) {
  const int k = static_cast<int>(blockIdx.y);
  T* p = tab.p[k];
  GRID_STRIDE(i, tab.n[k]) p[i] = v;
}

// The launches over a list of tensors passed as tables of `slots` entries (kernel arguments: no
// upload, nothing allocated): put(i, k) writes entry i of the list into slot k of the table and
// returns its element count (an empty one is left out: its slot is taken by the next), and
// launch(k, most) launches once a table holds k entries, the largest of `most` elements.
template <typename Put, typename Launch>
void by_tables(size_t count, int slots, Put&& put, Launch&& launch) {
  for (size_t first = 0; first < count; first += static_cast<size_t>(slots)) {
    int k = 0;
    int64_t most = 0;
    for (size_t i = first; i < count && i < first + static_cast<size_t>(slots); ++i) {
      const int64_t n = put(i, k);
      if (n == 0) continue;
      most = std::max(most, n);
      ++k;
    }
    if (k > 0) launch(k, most);
  }
}

template <typename S, typename D>
__global__ void cast_kernel(const S* x, D* out, int64_t n) {
  GRID_STRIDE(i, n) out[i] = static_cast<D>(x[i]);
}

// The elementwise ops: one kernel per op and type, from its definition (tg/kernels/elementwise.h).
template <typename T, typename Op>
__global__ void unary_kernel(const T* x, T* out, int64_t n) {
  GRID_STRIDE(i, n) out[i] = Op::f(x[i]);
}

template <typename T, typename Op>
__global__ void unary_backward_kernel(const T* x, const T* y, const T* gy, T* gx, int64_t n, bool acc) {
  GRID_STRIDE(i, n) {
    const T v = gy[i] * Op::d(x[i], y[i]);
    gx[i] = acc ? gx[i] + v : v;
  }
}

struct Bcast {
  int64_t d[4];   // output dims (rank 4, right-aligned)
  int64_t sa[4];  // strides of a in elements, 0 on broadcast axes
  int64_t sb[4];
};

template <typename T, typename Op>
__global__ void binary_same_kernel(const T* a, const T* b, T* out, int64_t n) {
  GRID_STRIDE(i, n) out[i] = Op::f(a[i], b[i]);
}

template <typename T, typename Op>
__global__ void binary_bcast_kernel(const T* a, const T* b, T* out, int64_t n, Bcast s) {
  GRID_STRIDE(i, n) {
    int64_t r = i;
    const int64_t i3 = r % s.d[3];
    r /= s.d[3];
    const int64_t i2 = r % s.d[2];
    r /= s.d[2];
    const int64_t i1 = r % s.d[1];
    const int64_t i0 = r / s.d[1];
    const int64_t oa = i0 * s.sa[0] + i1 * s.sa[1] + i2 * s.sa[2] + i3 * s.sa[3];
    const int64_t ob = i0 * s.sb[0] + i1 * s.sb[1] + i2 * s.sb[2] + i3 * s.sb[3];
    out[i] = Op::f(a[oa], b[ob]);
  }
}

template <typename T>
__global__ void axpby_kernel(T alpha, const T* x, T beta, T* out, int64_t n, int mode) {
  GRID_STRIDE(i, n) {
    if (mode == 0)
      out[i] = alpha * x[i];
    else if (mode == 1)
      out[i] += x[i];
    else
      out[i] = alpha * x[i] + beta * out[i];
  }
}

// sum_to: one block per output element; threads stride over the reduced index space.
// Output element o has 4-D index (in x's space) on the kept axes; reduced axes are looped.
struct SumTo {
  int64_t xd[4];  // x dims (rank 4)
  int64_t xs[4];  // x strides (contiguous)
  int64_t od[4];  // output extent per axis in x's space (xd on kept axes, 1 on reduced)
  int64_t rd[4];  // reduced extent per axis (1 on kept axes, xd on reduced)
  int64_t rn;     // product of rd
};

template <typename T>
__device__ T block_sum(T v) {
  TG_STATIC_SHARED(T, red, 32);
  for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
  const int lane = threadIdx.x & 31, wid = threadIdx.x >> 5;
  __syncthreads();
  if (lane == 0) red[wid] = v;
  __syncthreads();
  const int nw = (blockDim.x + 31) >> 5;
  v = static_cast<int>(threadIdx.x) < nw ? red[threadIdx.x] : T(0);
  if (wid == 0)
    for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
  return v;  // valid in thread 0
}

template <typename T>
__global__ void sum_to_kernel(const T* x, T* out, int64_t on, SumTo s, bool acc) {
  for (int64_t o = blockIdx.x; o < on; o += gridDim.x) {
    int64_t r = o;
    int64_t base_idx[4];
    for (int k = 3; k >= 0; --k) {
      base_idx[k] = r % s.od[k];
      r /= s.od[k];
    }
    const int64_t base = base_idx[0] * s.xs[0] + base_idx[1] * s.xs[1] + base_idx[2] * s.xs[2] + base_idx[3] * s.xs[3];
    T v = T(0);
    for (int64_t j = threadIdx.x; j < s.rn; j += blockDim.x) {
      int64_t q = j, off = 0;
      for (int k = 3; k >= 0; --k) {
        off += (q % s.rd[k]) * s.xs[k];
        q /= s.rd[k];
      }
      v += x[base + off];
    }
    v = block_sum(v);
    if (threadIdx.x == 0) out[o] = acc ? out[o] + v : v;
    __syncthreads();
  }
}

template <typename T>
__global__ void add_kernel(const T* x, T* out, int64_t n, bool acc) {
  GRID_STRIDE(i, n) out[i] = acc ? out[i] + x[i] : x[i];
}

// Reductions over axis 0 of [n0, inner]: one thread per column, coalesced across columns.
template <typename T>
__global__ void mean_axis0_kernel(const T* x, T* out, int64_t n0, int64_t inner) {
  GRID_STRIDE(i, inner) {
    T s = T(0);
    for (int64_t b = 0; b < n0; ++b) s += x[b * inner + i];
    out[i] = s * (T(1) / static_cast<T>(n0));
  }
}

template <typename T>
__global__ void var_axis0_kernel(const T* x, T* out, int64_t n0, int64_t inner) {
  GRID_STRIDE(i, inner) {
    const T inv = T(1) / static_cast<T>(n0);
    T m = T(0);
    for (int64_t b = 0; b < n0; ++b) m += x[b * inner + i];
    m *= inv;
    T s = T(0);
    for (int64_t b = 0; b < n0; ++b) {
      const T c = x[b * inner + i] - m;
      s += c * c;
    }
    out[i] = s * inv;
  }
}

template <typename T>
__global__ void var_axis0_backward_kernel(const T* x, const T* gy, T* gx, int64_t n0, int64_t inner, bool acc) {
  GRID_STRIDE(i, inner) {
    const T inv = T(1) / static_cast<T>(n0);
    T m = T(0);
    for (int64_t b = 0; b < n0; ++b) m += x[b * inner + i];
    m *= inv;
    const T g = gy[i];
    for (int64_t b = 0; b < n0; ++b) {
      const T v = T(2) * inv * (x[b * inner + i] - m) * g;
      T& d = gx[b * inner + i];
      d = acc ? d + v : v;
    }
  }
}

template <typename T>
__global__ void scale_kernel(T* c, int64_t n, T beta) {
  GRID_STRIDE(i, n) c[i] = beta == T(0) ? T(0) : beta * c[i];
}

template <typename T>
__global__ void add_row_vector_kernel(const T* b, T* out, int64_t n, int64_t cols) {
  GRID_STRIDE(i, n) out[i] += b[i % cols];
}

template <typename T>
__global__ void copy_rows_kernel(T* d, int64_t ds, const T* s, int64_t ss, int64_t rows, int64_t cols, bool acc) {
  GRID_STRIDE(i, rows * cols) {
    const int64_t r = i / cols, c = i % cols;
    T& o = d[r * ds + c];
    const T v = s[r * ss + c];
    o = acc ? o + v : v;
  }
}

template <typename T>
__global__ void gather_rows_kernel(T* d, const T* s, const int64_t* idx, int64_t rows, int64_t cols) {
  GRID_STRIDE(i, rows * cols) {
    const int64_t r = i / cols, c = i % cols;
    d[i] = s[idx[r] * cols + c];
  }
}

// One thread per row; 0 where the row's largest value is not finite (Backend::max_last, with
// std::max's treatment of NaN: a NaN first element stays, a later one is passed over).
template <typename T>
__global__ void max_last_kernel(const T* x, T* out, int64_t rows, int64_t k) {
  GRID_STRIDE(r, rows) {
    T best = x[r * k];
    for (int64_t j = 1; j < k; ++j) best = best < x[r * k + j] ? x[r * k + j] : best;
    out[r] = best - best == T(0) ? best : T(0);  // finite
  }
}

template <typename T>
__global__ void count_above_kernel(const T* value, double threshold, double* count) {
  if (blockIdx.x == 0 && threadIdx.x == 0 && static_cast<double>(value[0]) > threshold) count[0] += 1.0;
}

template <typename T>
__global__ void sigmoid_ce_kernel(const T* z, T y, T* out, int64_t n) {
  GRID_STRIDE(i, n) out[i] = ew::sigmoid_ce(z[i], y);
}

template <typename T>
__global__ void sigmoid_ce_backward_kernel(const T* z, T y, const T* gy, T* gz, int64_t n, bool acc) {
  GRID_STRIDE(i, n) {
    const T v = gy[i] * ew::sigmoid_ce_grad(z[i], y);
    gz[i] = acc ? gz[i] + v : v;
  }
}

// Up to kAdamSlots parameters of one optimiser step, passed by value as a kernel argument (no
// upload, nothing to allocate): blockIdx.y picks the parameter, the x blocks stride over it.
constexpr int kAdamSlots = 32;
template <typename T>
struct AdamTable {
  T* p[kAdamSlots];
  const T* g[kAdamSlots];
  T* m[kAdamSlots];
  T* v[kAdamSlots];
  int64_t n[kAdamSlots];
};

// The step constants: given (value == nullptr), or, for a gated update, computed on the device
// from the step count when value[0] > threshold, by the formula of tg::adam_step_at
// (engine/src/backend.cpp); at or below the threshold nothing changes.
struct AdamConsts {
  double b1, b2, step, eps_hat;            // the update's constants when not gated
  double lr, eps, threshold;               // gated: the inputs of adam_step_at
  bool pytorch_form;
};

template <typename T>
__global__ void adam_multi_kernel(AdamTable<T> tab, AdamConsts c, const T* value, const double* steps) {
  double step = c.step, eps_hat = c.eps_hat;
  if (value != nullptr) {
    if (!(static_cast<double>(value[0]) > c.threshold)) return;
    const AdamStep st = adam_step_at(c.lr, c.b1, c.b2, c.eps, c.pytorch_form, steps[0]);
    step = st.step_size;
    eps_hat = st.eps_hat;
  }
  const int k = static_cast<int>(blockIdx.y);
  T* p = tab.p[k];
  const T* g = tab.g[k];
  T* m = tab.m[k];
  T* v = tab.v[k];
  const T b1 = static_cast<T>(c.b1), b2 = static_cast<T>(c.b2), lr = static_cast<T>(step),
          eps = static_cast<T>(eps_hat);
  GRID_STRIDE(i, tab.n[k]) ew::adam_element(p[i], g[i], m[i], v[i], b1, b2, lr, eps);
}

// Backend::broadcast_rows: element (b, t, c) of dst from row b of src.
template <typename T>
__global__ void broadcast_rows_kernel(T* d, int64_t ds, const T* s, int64_t ss, int64_t B, int64_t T_, int64_t cols) {
  GRID_STRIDE(i, B * T_ * cols) {
    const int64_t r = i / cols, c = i % cols;
    d[r * ds + c] = s[(r / T_) * ss + c];
  }
}

// Backend::sum_row_groups: one thread per (b, c), summing over t in order (as the generic
// version's sequence of accumulating copies does).
template <typename T>
__global__ void sum_row_groups_kernel(T* d, int64_t ds, const T* s, int64_t ss, int64_t B, int64_t T_, int64_t cols) {
  GRID_STRIDE(i, B * cols) {
    const int64_t b = i / cols, c = i % cols;
    const T* src = s + b * T_ * ss + c;
    T acc = src[0];
    for (int64_t t = 1; t < T_; ++t) acc += src[t * ss];
    d[b * ds + c] = acc;
  }
}

// Element i uses lane i%4 of block counter + i/4. The CPU computes lo + span*u in T; with
// -march=native GCC contracts that into one FMA, so the GPU uses fma() as well (identical
// results whenever span*u is exact, e.g. spans that are powers of two).
template <typename T>
__global__ void philox_fill_kernel(T* out, int64_t n, uint64_t seed, uint64_t stream, uint64_t counter, T lo,
                                   T span) {
  const int64_t nblocks = (n + 3) / 4;
  GRID_STRIDE(j, nblocks) {
    const uint64_t ctr = counter + static_cast<uint64_t>(j);
    // the block tg::Rng::block computes (random.h: the same rounds, one definition)
    uint32_t lanes[4] = {static_cast<uint32_t>(ctr), static_cast<uint32_t>(ctr >> 32), static_cast<uint32_t>(stream),
                         static_cast<uint32_t>(stream >> 32)};
    philox4x32_rounds(lanes, static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
#pragma unroll
    for (int lane = 0; lane < 4; ++lane) {
      const int64_t i = j * 4 + lane;
      if (i < n) {
        const float u = u32_to_unit_float(lanes[lane]);
        if constexpr (std::is_same_v<T, float>)
          out[i] = __fmaf_rn(span, u, lo);  // single rounding in float, as the CPU's vfmadd
        else
          out[i] = __fma_rn(span, static_cast<double>(u), lo);
      }
    }
  }
}

// =============================================================================================
// The backend
// =============================================================================================
class CudaBackend;
CudaBackend* g_backend = nullptr;

class CudaBackend final : public Backend {
 public:
  CudaBackend() {
    TG_CUDA_CHECK(gpu::set_device(0));
    gpu::DeviceInfo prop;
    TG_CUDA_CHECK(gpu::device_info(0, &prop));
    desc_ = prop.name + ", sm_" + std::to_string(prop.major) + std::to_string(prop.minor) + ", " +
            std::to_string(prop.sms) + " SMs, " + std::to_string(prop.global_mem >> 20) + " MiB";
    TG_CUDA_CHECK(gpu::stream_create_nonblocking(&ctx_.stream));
    TG_CUBLAS_CHECK(gpu::blas_create(&ctx_.cublas, ctx_.stream));  // default math: no TF32; host scalars
    versions_ = gpu::runtime_versions() + ", " + gpu::blas_version(ctx_.cublas);
    ctx_.num_sms = prop.sms;
    ctx_.max_smem_optin = prop.smem_optin;
    ctx_.alloc = [](size_t b) { return allocator().allocate(b); };
    ctx_.release = [](void* p, size_t) { allocator().deallocate(p); };
    ctx_.ones = [](int64_t n, bool dbl) -> const void* { return g_backend->ones(n, dbl); };
  }

  Ctx& context() { return ctx_; }
  const std::string& description() const { return desc_; }
  const std::string& versions() const { return versions_; }

  const void* ones(int64_t n, bool dbl) {
    std::lock_guard<std::mutex> lock(ones_mu_);
    int64_t& have = dbl ? ones_n64_ : ones_n32_;
    void*& p = dbl ? ones64_ : ones32_;
    if (have < n) {
      const int64_t want = std::max<int64_t>(n, 4096);
      if (p) allocator().deallocate(p);
      p = allocator().allocate(static_cast<size_t>(want) * (dbl ? 8 : 4));
      if (dbl)
        gpu::launch(fill_kernel<double>, grid_for(want), kThreads, 0, ctx_.stream, static_cast<double*>(p), want, 1.0);
      else
        gpu::launch(fill_kernel<float>, grid_for(want), kThreads, 0, ctx_.stream, static_cast<float*>(p), want, 1.0f);
      TG_KERNEL_CHECK("fill_kernel(ones)");
      have = want;
    }
    return p;
  }

  Device device() const override { return Device::CUDA; }
  std::string name() const override { return "cuda"; }
  std::string kernels_used() const override { return gru_impls_run(); }
  void reset_kernels_used() override { reset_gru_impls_run(); }

  // ---- memory ------------------------------------------------------------------------
  void* allocate(size_t bytes) override { return allocator().allocate(bytes); }
  void deallocate(void* p, size_t) noexcept override { allocator().deallocate(p); }
  void copy(void* dst, const void* src, size_t bytes) override {
    if (bytes == 0) return;
    TG_CUDA_CHECK(gpu::memcpy_async(dst, src, bytes, gpu::Copy::DeviceToDevice, ctx_.stream));
  }
  void to_host(void* dst, const void* src, size_t bytes) override {
    if (bytes == 0) return;
    TG_CUDA_CHECK(gpu::memcpy_async(dst, src, bytes, gpu::Copy::DeviceToHost, ctx_.stream));
    TG_CUDA_CHECK(gpu::stream_synchronize(ctx_.stream));
  }
  void from_host(void* dst, const void* src, size_t bytes) override {
    if (bytes == 0) return;
    TG_CUDA_CHECK(gpu::memcpy_async(dst, src, bytes, gpu::Copy::HostToDevice, ctx_.stream));
  }
  void synchronize() override { TG_CUDA_CHECK(gpu::stream_synchronize(ctx_.stream)); }

  // ---- elementwise -------------------------------------------------------------------
  void fill(Tensor& out, double value) override {
    const int64_t n = out.numel();
    if (n == 0) return;
    dispatch(out.dtype(), [&](auto z) {
      using T = decltype(z);
      gpu::launch(fill_kernel<T>, grid_for(n), kThreads, 0, ctx_.stream, out.data<T>(), n, static_cast<T>(value));
    });
    TG_KERNEL_CHECK("fill_kernel");
  }

  void fill_multi(const std::vector<Tensor*>& ts, double value) override {
    if (ts.empty()) return;
    const DType dt = ts[0]->dtype();
    for (const Tensor* t : ts)
      if (t->dtype() != dt) throw std::invalid_argument("cuda fill_multi: tensors of different dtypes");
    dispatch(dt, [&](auto z) {
      using T = decltype(z);
      FillTable<T> tab{};
      by_tables(
          ts.size(), static_cast<int>(std::size(tab.p)),
          [&](size_t i, int k) {
            tab.p[k] = ts[i]->data<T>();
            tab.n[k] = ts[i]->numel();
            return tab.n[k];
          },
          [&](int k, int64_t most) {
            gpu::launch(fill_multi_kernel<T>, dim3(grid_for(most), static_cast<unsigned>(k)), kThreads, 0, ctx_.stream,
                        tab, static_cast<T>(value));
            TG_KERNEL_CHECK("fill_multi_kernel");
          });
    });
  }

  void cast(const Tensor& x, Tensor& out) override {
    const int64_t n = x.numel();
    if (n == 0) return;
    if (x.dtype() == out.dtype()) {
      copy(out.raw(), x.raw(), x.nbytes());
    } else if (x.dtype() == DType::F32) {
      gpu::launch(cast_kernel<float, double>, grid_for(n), kThreads, 0, ctx_.stream, x.data<float>(), out.data<double>(), n);
      TG_KERNEL_CHECK("cast_kernel<float,double>");
    } else {
      gpu::launch(cast_kernel<double, float>, grid_for(n), kThreads, 0, ctx_.stream, x.data<double>(), out.data<float>(), n);
      TG_KERNEL_CHECK("cast_kernel<double,float>");
    }
  }

  void unary(UnaryOp op, const Tensor& x, Tensor& out) override {
    const int64_t n = x.numel();
    if (n == 0) return;
    dispatch(x.dtype(), [&](auto z) {
      using T = decltype(z);
      ew::with_unary(op, [&](auto u) {
        gpu::launch(unary_kernel<T, decltype(u)>, grid_for(n), kThreads, 0, ctx_.stream, x.data<T>(), out.data<T>(), n);
      });
    });
    TG_KERNEL_CHECK("unary_kernel");
  }

  void unary_backward(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& gy, Tensor& gx,
                      bool acc) override {
    const int64_t n = x.numel();
    if (n == 0) return;
    dispatch(x.dtype(), [&](auto z) {
      using T = decltype(z);
      ew::with_unary(op, [&](auto u) {
        gpu::launch(unary_backward_kernel<T, decltype(u)>, grid_for(n), kThreads, 0, ctx_.stream, x.data<T>(),
                    y.data<T>(), gy.data<T>(), gx.data<T>(), n, acc);
      });
    });
    TG_KERNEL_CHECK("unary_backward_kernel");
  }

  void binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) override {
    const int64_t n = out.numel();
    if (n == 0) return;
    const bool same = a.shape() == out.shape() && b.shape() == out.shape();
    Bcast s{};
    if (!same) {
      const auto d = dims4(out.shape());
      const auto sa = broadcast_strides(a.shape(), out.shape());
      const auto sb = broadcast_strides(b.shape(), out.shape());
      for (int k = 0; k < 4; ++k) {
        s.d[k] = d[static_cast<size_t>(k)];
        s.sa[k] = sa[static_cast<size_t>(k)];
        s.sb[k] = sb[static_cast<size_t>(k)];
      }
    }
    dispatch(a.dtype(), [&](auto z) {
      using T = decltype(z);
      ew::with_binary(op, [&](auto o) {
        using O = decltype(o);
        if (same)
          gpu::launch(binary_same_kernel<T, O>, grid_for(n), kThreads, 0, ctx_.stream, a.data<T>(), b.data<T>(),
                      out.data<T>(), n);
        else
          gpu::launch(binary_bcast_kernel<T, O>, grid_for(n), kThreads, 0, ctx_.stream, a.data<T>(), b.data<T>(),
                      out.data<T>(), n, s);
      });
    });
    TG_KERNEL_CHECK("binary_kernel");
  }

  void axpby(double alpha, const Tensor& x, double beta, Tensor& out) override {
    const int64_t n = x.numel();
    if (n == 0) return;
    const int mode = beta == 0.0 ? 0 : (alpha == 1.0 && beta == 1.0 ? 1 : 2);
    dispatch(x.dtype(), [&](auto z) {
      using T = decltype(z);
      gpu::launch(axpby_kernel<T>, grid_for(n), kThreads, 0, ctx_.stream, static_cast<T>(alpha), x.data<T>(),
                                                                  static_cast<T>(beta), out.data<T>(), n, mode);
    });
    TG_KERNEL_CHECK("axpby_kernel");
  }

  void sum_to(const Tensor& x, Tensor& out, bool acc) override {
    const int64_t n = x.numel(), on = out.numel();
    if (on == 0) return;
    if (n == on) {
      dispatch(x.dtype(), [&](auto z) {
        using T = decltype(z);
        gpu::launch(add_kernel<T>, grid_for(n), kThreads, 0, ctx_.stream, x.data<T>(), out.data<T>(), n, acc);
      });
      TG_KERNEL_CHECK("add_kernel");
      return;
    }
    SumTo s{};
    const auto xd = dims4(x.shape());
    const auto so = broadcast_strides(out.shape(), x.shape());
    int64_t stride = 1;
    for (int k = 3; k >= 0; --k) {
      s.xd[k] = xd[static_cast<size_t>(k)];
      s.xs[k] = stride;
      stride *= s.xd[k];
      const bool kept = so[static_cast<size_t>(k)] != 0 || s.xd[k] == 1;
      s.od[k] = kept ? s.xd[k] : 1;
      s.rd[k] = kept ? 1 : s.xd[k];
    }
    s.rn = s.rd[0] * s.rd[1] * s.rd[2] * s.rd[3];
    const unsigned blocks = static_cast<unsigned>(std::min<int64_t>(on, 65535));
    dispatch(x.dtype(), [&](auto z) {
      using T = decltype(z);
      gpu::launch(sum_to_kernel<T>, blocks, kThreads, 0, ctx_.stream, x.data<T>(), out.data<T>(), on, s, acc);
    });
    TG_KERNEL_CHECK("sum_to_kernel");
  }

  // ---- reductions over axis 0 --------------------------------------------------------
  void mean_axis0(const Tensor& x, Tensor& out) override {
    const int64_t n0 = x.dim(0), inner = x.numel() / std::max<int64_t>(n0, 1);
    if (inner == 0) return;
    dispatch(x.dtype(), [&](auto z) {
      using T = decltype(z);
      gpu::launch(mean_axis0_kernel<T>, grid_for(inner, 128), 128, 0, ctx_.stream, x.data<T>(), out.data<T>(), n0, inner);
    });
    TG_KERNEL_CHECK("mean_axis0_kernel");
  }
  void var_axis0(const Tensor& x, Tensor& out) override {
    const int64_t n0 = x.dim(0), inner = x.numel() / std::max<int64_t>(n0, 1);
    if (inner == 0) return;
    dispatch(x.dtype(), [&](auto z) {
      using T = decltype(z);
      gpu::launch(var_axis0_kernel<T>, grid_for(inner, 128), 128, 0, ctx_.stream, x.data<T>(), out.data<T>(), n0, inner);
    });
    TG_KERNEL_CHECK("var_axis0_kernel");
  }
  void var_axis0_backward(const Tensor& x, const Tensor& gy, Tensor& gx, bool acc) override {
    const int64_t n0 = x.dim(0), inner = x.numel() / std::max<int64_t>(n0, 1);
    if (inner == 0) return;
    dispatch(x.dtype(), [&](auto z) {
      using T = decltype(z);
      gpu::launch(var_axis0_backward_kernel<T>, grid_for(inner, 128), 128, 0, ctx_.stream, x.data<T>(), gy.data<T>(),
                                                                                   gx.data<T>(), n0, inner, acc);
    });
    TG_KERNEL_CHECK("var_axis0_backward_kernel");
  }

  // ---- linear algebra ----------------------------------------------------------------
  void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const Tensor& a, const Tensor& b,
            double beta, Tensor& c) override {
    dispatch(a.dtype(), [&](auto z) {
      using T = decltype(z);
      gemm_rm<T>(ta, tb, m, n, k, static_cast<T>(alpha), a.data<T>(), ta ? m : k, b.data<T>(), tb ? k : n,
                 static_cast<T>(beta), c.data<T>(), n);
    });
  }

  void add_row_vector(const Tensor& b, Tensor& out) override {
    const int64_t n = out.numel(), cols = b.numel();
    if (n == 0 || cols == 0) return;
    dispatch(out.dtype(), [&](auto z) {
      using T = decltype(z);
      gpu::launch(add_row_vector_kernel<T>, grid_for(n), kThreads, 0, ctx_.stream, b.data<T>(), out.data<T>(), n, cols);
    });
    TG_KERNEL_CHECK("add_row_vector_kernel");
  }

  void copy_rows(Tensor& dst, int64_t dst_off, int64_t dst_stride, const Tensor& src, int64_t src_off,
                 int64_t src_stride, int64_t rows, int64_t cols, bool acc) override {
    if (rows <= 0 || cols <= 0) return;
    dispatch(dst.dtype(), [&](auto z) {
      using T = decltype(z);
      T* d = dst.data<T>() + dst_off;
      const T* s = src.data<T>() + src_off;
      if (!acc && dst_stride == cols && src_stride == cols) {
        copy(d, s, static_cast<size_t>(rows * cols) * sizeof(T));
        return;
      }
      gpu::launch(copy_rows_kernel<T>, grid_for(rows * cols), kThreads, 0, ctx_.stream, d, dst_stride, s, src_stride, rows,
                                                                                cols, acc);
      TG_KERNEL_CHECK("copy_rows_kernel");
    });
  }

  void gather_rows(Tensor& dst, const Tensor& src, const std::vector<int64_t>& rows, int64_t cols) override {
    const int64_t n = static_cast<int64_t>(rows.size());
    if (n == 0 || cols <= 0) return;
    Scratch idx(rows.size() * sizeof(int64_t));  // pageable source: staged before the call returns
    TG_CUDA_CHECK(gpu::memcpy_async(idx.get(), rows.data(), rows.size() * sizeof(int64_t), gpu::Copy::HostToDevice,
                                    ctx_.stream));
    dispatch(dst.dtype(), [&](auto z) {
      using T = decltype(z);
      gpu::launch(gather_rows_kernel<T>, grid_for(n * cols), kThreads, 0, ctx_.stream, dst.data<T>(), src.data<T>(),
                  static_cast<const int64_t*>(idx.get()), n, cols);
    });
    TG_KERNEL_CHECK("gather_rows_kernel");
  }

  void broadcast_rows(Tensor& dst, int64_t dst_off, int64_t dst_stride, const Tensor& src, int64_t src_stride,
                      int64_t B, int64_t T_, int64_t cols) override {
    if (B <= 0 || T_ <= 0 || cols <= 0) return;
    dispatch(dst.dtype(), [&](auto z) {
      using T = decltype(z);
      gpu::launch(broadcast_rows_kernel<T>, grid_for(B * T_ * cols), kThreads, 0, ctx_.stream, dst.data<T>() + dst_off,
                  dst_stride, src.data<T>(), src_stride, B, T_, cols);
    });
    TG_KERNEL_CHECK("broadcast_rows_kernel");
  }

  void sum_row_groups(Tensor& dst, int64_t dst_stride, const Tensor& src, int64_t src_off, int64_t src_stride, int64_t B,
                      int64_t T_, int64_t cols) override {
    if (B <= 0 || cols <= 0) return;
    if (T_ < 1) throw std::invalid_argument("cuda sum_row_groups: needs T >= 1");
    dispatch(dst.dtype(), [&](auto z) {
      using T = decltype(z);
      gpu::launch(sum_row_groups_kernel<T>, grid_for(B * cols), kThreads, 0, ctx_.stream, dst.data<T>(), dst_stride,
                  src.data<T>() + src_off, src_stride, B, T_, cols);
    });
    TG_KERNEL_CHECK("sum_row_groups_kernel");
  }

  void max_last(const Tensor& x, int64_t k, Tensor& out) override {
    const int64_t rows = out.numel();
    if (rows == 0) return;
    if (k < 1 || x.numel() != rows * k) throw std::invalid_argument("cuda max_last: x does not hold [rows, k]");
    dispatch(x.dtype(), [&](auto z) {
      using T = decltype(z);
      gpu::launch(max_last_kernel<T>, grid_for(rows), kThreads, 0, ctx_.stream, x.data<T>(), out.data<T>(), rows, k);
    });
    TG_KERNEL_CHECK("max_last_kernel");
  }

  // ---- losses ------------------------------------------------------------------------
  void sigmoid_ce(const Tensor& z, double label, Tensor& out) override {
    const int64_t n = z.numel();
    if (n == 0) return;
    dispatch(z.dtype(), [&](auto zz) {
      using T = decltype(zz);
      gpu::launch(sigmoid_ce_kernel<T>, grid_for(n), kThreads, 0, ctx_.stream, z.data<T>(), static_cast<T>(label),
                                                                       out.data<T>(), n);
    });
    TG_KERNEL_CHECK("sigmoid_ce_kernel");
  }
  void sigmoid_ce_backward(const Tensor& z, double label, const Tensor& gy, Tensor& gz, bool acc) override {
    const int64_t n = z.numel();
    if (n == 0) return;
    dispatch(z.dtype(), [&](auto zz) {
      using T = decltype(zz);
      gpu::launch(sigmoid_ce_backward_kernel<T>, grid_for(n), kThreads, 0, ctx_.stream,
          z.data<T>(), static_cast<T>(label), gy.data<T>(), gz.data<T>(), n, acc);
    });
    TG_KERNEL_CHECK("sigmoid_ce_backward_kernel");
  }

  // ---- recurrent stacks --------------------------------------------------------------
  // What the forward saves for the backward: which implementation ran (the reserve layouts of
  // ours and cuDNN's differ) and its reserve.
  struct CudaRnnSaved final : RnnSaved {
    Tensor reserve;
    GruImpl impl = GruImpl::Ours;
    // cuDNN's backward writes the forward's reserve space: one backward per forward (cudnn_checks.h)
    mutable cudnn_checks::OneBackward cudnn_backward;
  };

#ifdef TG_HAVE_CUDNN
  // Whether cuDNN runs the call: the reset-after GRU when TG_GRU_IMPL chose it. A build without
  // cuDNN has no such path, so it has no such test either (every call runs the kernels below).
  static bool use_cudnn(const RnnSpec& c, GruImpl impl) {
    return c.cell == Cell::GruResetAfter && impl == GruImpl::Cudnn;
  }
#endif

  static int64_t reserve_elems(const RnnSpec& c, DType dt, GruImpl impl) {
#ifdef TG_HAVE_CUDNN
    if (use_cudnn(c, impl)) return cudnn_gru_reserve_elems(c, dt);
#else
    (void)dt;
    (void)impl;
#endif
    switch (c.cell) {
      case Cell::GruResetAfter:
      case Cell::GruTf1: return gru_reserve_elems(c);
      case Cell::Lstm:
      case Cell::LstmLn: return lstm_reserve_elems(c);
    }
    throw std::invalid_argument("CUDA backend: unknown cell");
  }

  bool provides_rnn() const override { return true; }
  std::shared_ptr<RnnSaved> rnn_forward(const RnnSpec& c, const std::vector<Tensor>& w, const Tensor& x,
                                        const int32_t* lengths, const Tensor& h0, const Tensor& c0, Tensor& y,
                                        Tensor& hT, Tensor& cT, bool training) override {
    RnnTensorIo<void> t("CUDA rnn_forward", c, w, x, lengths, h0, c0);
    t.outputs(y, hT, cT);
    const DType dt = t.dtype();
    const GruImpl impl = c.cell == Cell::GruResetAfter ? gru_impl() : GruImpl::Ours;
    std::shared_ptr<CudaRnnSaved> saved;
    if (training) {
      saved = std::make_shared<CudaRnnSaved>();
      saved->impl = impl;
      saved->reserve = Tensor::empty(Shape{reserve_elems(c, dt, impl)}, dt, Device::CUDA);
      t.io.reserve = saved->reserve.raw();
    }
#ifdef TG_HAVE_CUDNN
    if (use_cudnn(c, impl)) {
      record_gru_impl(GruRan::Cudnn);
      cudnn_gru_forward(c, dt, t.io);
      return saved;
    }
#endif
    switch (c.cell) {
      case Cell::GruResetAfter:
      case Cell::GruTf1: gru_forward(c, dt, t.io); break;
      case Cell::Lstm:
      case Cell::LstmLn: lstm_forward(c, dt, t.io); break;
    }
    return saved;
  }

  void rnn_backward(const RnnSpec& c, const std::vector<Tensor>& w, const Tensor& x, const int32_t* lengths,
                    const Tensor& h0, const Tensor& c0, const RnnSaved& saved_any, const Tensor& gy, Tensor& gx,
                    std::vector<Tensor>& gw, Tensor& gh0, Tensor& gc0) override {
    const auto* saved = dynamic_cast<const CudaRnnSaved*>(&saved_any);
    if (saved == nullptr)
      throw std::invalid_argument("CUDA rnn_backward: the saved state is not from the CUDA backend's rnn_forward");
    RnnTensorIo<void> t("CUDA rnn_backward", c, w, x, lengths, h0, c0);
    t.gradients(gy, gx, gw, gh0, gc0);
    t.io.reserve = saved->reserve.raw();
    const DType dt = t.dtype();
#ifdef TG_HAVE_CUDNN
    if (use_cudnn(c, saved->impl)) {
      saved->cudnn_backward.claim();
      return cudnn_gru_backward(c, dt, t.io);
    }
#endif
    switch (c.cell) {
      case Cell::GruResetAfter:
      case Cell::GruTf1: return gru_backward(c, dt, t.io);
      case Cell::Lstm:
      case Cell::LstmLn: return lstm_backward(c, dt, t.io);
    }
  }

  // ---- optimiser and random numbers ---------------------------------------------------
  void adam_update(Tensor& p, const Tensor& g, Tensor& m, Tensor& v, const AdamStep& st) override {
    adam_update_multi({AdamTensors{&p, &g, &m, &v}}, st);
  }

  void count_above(const Tensor& value, double threshold, Tensor& count) override {
    if (count.dtype() != DType::F64 || count.numel() != 1 || value.numel() < 1)
      throw std::invalid_argument("cuda count_above: needs a value and one float64 count");
    dispatch(value.dtype(), [&](auto z) {
      using T = decltype(z);
      gpu::launch(count_above_kernel<T>, 1, 32, 0, ctx_.stream, value.data<T>(), threshold, count.data<double>());
    });
    TG_KERNEL_CHECK("count_above_kernel");
  }

  void adam_update_multi(const std::vector<AdamTensors>& ts, const AdamStep& st) override {
    AdamConsts c{};
    c.b1 = st.beta1;
    c.b2 = st.beta2;
    c.step = st.step_size;
    c.eps_hat = st.eps_hat;
    adam_multi(ts, c, nullptr, nullptr, "adam_update_multi");
  }

  void adam_update_gated(const std::vector<AdamTensors>& ts, const AdamGated& gate) override {
    if (!gate.value || !gate.steps) throw std::invalid_argument("cuda adam_update_gated: no value or step count");
    if (gate.steps->dtype() != DType::F64 || gate.steps->numel() != 1 || gate.value->numel() < 1)
      throw std::invalid_argument("cuda adam_update_gated: needs a value and one float64 step count");
    AdamConsts c{};
    c.b1 = gate.beta1;
    c.b2 = gate.beta2;
    c.lr = gate.lr;
    c.eps = gate.eps;
    c.threshold = gate.threshold;
    c.pytorch_form = gate.pytorch_form;
    adam_multi(ts, c, gate.value, gate.steps, "adam_update_gated");
  }

  // One launch per kAdamSlots parameters (every optimiser of TimeGAN fits in one).
  void adam_multi(const std::vector<AdamTensors>& ts, const AdamConsts& c, const Tensor* value, const Tensor* steps,
                  const char* what) {
    if (ts.empty()) return;
    const DType dt = ts[0].param->dtype();
    for (const AdamTensors& t : ts) {
      const int64_t n = t.param->numel();
      if (t.param->dtype() != dt || t.grad->dtype() != dt || t.m->dtype() != dt || t.v->dtype() != dt ||
          t.grad->numel() != n || t.m->numel() != n || t.v->numel() != n)
        throw std::invalid_argument(std::string("cuda ") + what + ": parameter, gradient and moments differ in dtype or size");
    }
    if (value && value->dtype() != dt)
      throw std::invalid_argument(std::string("cuda ") + what + ": the gate value's dtype is not the parameters'");
    dispatch(dt, [&](auto z) {
      using T = decltype(z);
      AdamTable<T> tab{};
      by_tables(
          ts.size(), static_cast<int>(std::size(tab.p)),
          [&](size_t i, int k) {
            const AdamTensors& t = ts[i];
            tab.p[k] = t.param->data<T>();
            tab.g[k] = t.grad->data<T>();
            tab.m[k] = t.m->data<T>();
            tab.v[k] = t.v->data<T>();
            tab.n[k] = t.param->numel();
            return tab.n[k];
          },
          [&](int k, int64_t most) {
            gpu::launch(adam_multi_kernel<T>, dim3(grid_for(most), static_cast<unsigned>(k)), kThreads, 0, ctx_.stream,
                        tab, c, value ? value->data<T>() : static_cast<const T*>(nullptr),
                        steps ? steps->data<double>() : static_cast<const double*>(nullptr));
            TG_KERNEL_CHECK("adam_multi_kernel");
          });
    });
  }

  void fill_uniform(Tensor& out, const Rng& rng, uint64_t counter, double lo, double hi) override {
    const int64_t n = out.numel();
    if (n == 0) return;
    const int64_t nb = (n + 3) / 4;
    if (out.dtype() == DType::F32) {
      const float l = static_cast<float>(lo), span = static_cast<float>(hi) - l;
      gpu::launch(philox_fill_kernel<float>, grid_for(nb), kThreads, 0, ctx_.stream, out.data<float>(), n, rng.seed(),
                                                                            rng.stream(), counter, l, span);
    } else {
      gpu::launch(philox_fill_kernel<double>, grid_for(nb), kThreads, 0, ctx_.stream, out.data<double>(), n, rng.seed(),
                                                                              rng.stream(), counter, lo, hi - lo);
    }
    TG_KERNEL_CHECK("philox_fill_kernel");
  }

 private:
  Ctx ctx_;
  std::string desc_, versions_;
  std::mutex ones_mu_;
  void* ones32_ = nullptr;
  void* ones64_ = nullptr;
  int64_t ones_n32_ = 0, ones_n64_ = 0;
};

// The stream all of the backend's work is issued on (the caching allocator's hooks follow it).
gpu::Stream work_stream() { return g_backend ? g_backend->context().stream : nullptr; }

CudaBackend* instance() {
  static CudaBackend* b = [] {
    std::string why;
    if (!cuda_device_usable(&why)) throw std::runtime_error("CUDA device unavailable: " + why);
    g_backend = new CudaBackend();  // intentionally leaked: tensors in static objects outlive main
    return g_backend;
  }();
  return b;
}

}  // namespace

Ctx& ctx() { return instance()->context(); }

template <typename T>
void gemm_rm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* b,
             int64_t ldb, T beta, T* c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  Ctx& cx = ctx();
  if (k <= 0) {  // C = beta C (cuBLAS is not asked about k = 0)
    if (ldc == n) {
      gpu::launch(scale_kernel<T>, grid_for(m * n), kThreads, 0, cx.stream, c, m * n, beta);
      TG_KERNEL_CHECK("scale_kernel");
    } else {
      for (int64_t r = 0; r < m; ++r) {
        gpu::launch(scale_kernel<T>, grid_for(n), kThreads, 0, cx.stream, c + r * ldc, n, beta);
        TG_KERNEL_CHECK("scale_kernel");
      }
    }
    return;
  }
  TG_CUBLAS_CHECK(gpu::gemm<T>(cx.cublas, tb, ta, static_cast<int>(n), static_cast<int>(m), static_cast<int>(k), &alpha,
                               b, static_cast<int>(ldb), a, static_cast<int>(lda), &beta, c, static_cast<int>(ldc)));
}
template void gemm_rm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*,
                             int64_t, float, float*, int64_t);
template void gemm_rm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t,
                              const double*, int64_t, double, double*, int64_t);

template <typename T>
void colsum_add(const T* a, int64_t rows, int64_t ncols, int64_t lda, T* y) {
  if (rows <= 0 || ncols <= 0) return;
  Ctx& cx = ctx();
  // Column sums as a GEMV with a vector of ones: y += A^T 1 (A row-major [rows, ncols], ld lda
  // is column-major [ncols, rows] with the same ld).
  const T one = T(1);
  const T* ones = static_cast<const T*>(cx.ones(rows, std::is_same_v<T, double>));
  TG_CUBLAS_CHECK(gpu::gemv<T>(cx.cublas, false, static_cast<int>(ncols), static_cast<int>(rows), &one, a,
                               static_cast<int>(lda), ones, 1, &one, y, 1));
}
template void colsum_add<float>(const float*, int64_t, int64_t, int64_t, float*);
template void colsum_add<double>(const double*, int64_t, int64_t, int64_t, double*);

Scratch upload_lengths(const int32_t* host, int n, int full, bool* any) {
  *any = false;
  if (!host) return Scratch();
  bool all_full = true;
  for (int i = 0; i < n; ++i) all_full = all_full && host[i] == full;
  if (all_full) return Scratch();
  *any = true;
  Scratch s(static_cast<size_t>(n) * sizeof(int32_t));
  TG_CUDA_CHECK(gpu::memcpy_async(s.get(), host, static_cast<size_t>(n) * sizeof(int32_t), gpu::Copy::HostToDevice,
                                ctx().stream));
  return s;
}

// ---- public steering functions (cuda_backend.h) -------------------------------------------
namespace {
GruImpl initial_impl() {
  const char* e = std::getenv("TG_GRU_IMPL");
  if (e && std::string(e) == "cudnn") {
#ifdef TG_HAVE_CUDNN
    return GruImpl::Cudnn;
#else
    throw std::runtime_error("TG_GRU_IMPL=cudnn but this build has no cuDNN");
#endif
  }
  if (e && *e && std::string(e) != "ours")
    throw std::runtime_error(std::string("TG_GRU_IMPL must be 'ours' or 'cudnn', got '") + e + "'");
  return GruImpl::Ours;
}
GruImpl& impl_ref() {
  static GruImpl v = initial_impl();
  return v;
}
GruPath initial_path() {
  const char* e = std::getenv("TG_GRU_PATH");
  const std::string v = e ? e : "";
  if (v.empty() || v == "auto") return GruPath::Auto;
  if (v == "persistent") return GruPath::Persistent;
  if (v == "stepwise") return GruPath::Stepwise;
  throw std::runtime_error("TG_GRU_PATH must be 'auto', 'persistent' or 'stepwise', got '" + v + "'");
}
std::atomic<GruPath>& path_ref() {
  static std::atomic<GruPath> v{initial_path()};
  return v;
}
std::atomic<unsigned> g_gru_ran{0};  // bit i: GruRan(i) ran
int& rows_ref() {
  static int v = [] {
    const char* e = std::getenv("TG_GRU_ROWS");
    return e ? std::max(0, std::atoi(e)) : 0;
  }();
  return v;
}
}  // namespace

GruImpl gru_impl() { return impl_ref(); }
void set_gru_impl(GruImpl impl) {
#ifndef TG_HAVE_CUDNN
  if (impl == GruImpl::Cudnn) throw std::runtime_error("set_gru_impl(Cudnn): this build has no cuDNN");
#endif
  impl_ref() = impl;
}
bool have_cudnn() {
#ifdef TG_HAVE_CUDNN
  return true;
#else
  return false;
#endif
}
GruPath gru_path() { return path_ref().load(); }
void set_gru_path(GruPath path) { path_ref().store(path); }
void record_gru_impl(GruRan r) { g_gru_ran.fetch_or(1u << static_cast<unsigned>(r)); }
std::string gru_impls_run() {
  const unsigned ran = g_gru_ran.load();
  std::string s;
  const char* names[] = {"persistent", "stepwise", "cudnn"};
  for (unsigned i = 0; i < 3; ++i)
    if (ran & (1u << i)) s += (s.empty() ? "" : "+") + std::string(names[i]);
  return s;
}
void reset_gru_impls_run() { g_gru_ran.store(0); }
void set_gru_rows_per_block(int rows) { rows_ref() = std::max(0, rows); }
int gru_rows_per_block() { return rows_ref(); }
AllocatorStats allocator_stats() { return allocator().stats(); }
namespace {
// DeviceCounts' fields and the seam's counters, in the same order
using CountField = uint64_t DeviceCounts::*;
using CounterField = std::atomic<uint64_t> gpu::Counters::*;
constexpr CountField kCountFields[] = {
    &DeviceCounts::launches, &DeviceCounts::blas,      &DeviceCounts::h2d,     &DeviceCounts::h2d_bytes,
    &DeviceCounts::d2h,      &DeviceCounts::d2h_bytes, &DeviceCounts::d2d,     &DeviceCounts::d2d_bytes,
    &DeviceCounts::memsets,  &DeviceCounts::syncs,     &DeviceCounts::allocations, &DeviceCounts::frees};
constexpr CounterField kCounters[] = {
    &gpu::Counters::launches, &gpu::Counters::blas,      &gpu::Counters::h2d,     &gpu::Counters::h2d_bytes,
    &gpu::Counters::d2h,      &gpu::Counters::d2h_bytes, &gpu::Counters::d2d,     &gpu::Counters::d2d_bytes,
    &gpu::Counters::memsets,  &gpu::Counters::syncs,     &gpu::Counters::allocations, &gpu::Counters::frees};
static_assert(std::size(kCountFields) == std::size(kCounters), "one counter per field");
}  // namespace
DeviceCounts device_counts() {
  DeviceCounts d;
  for (size_t i = 0; i < std::size(kCounters); ++i)
    d.*kCountFields[i] = (gpu::g_counters.*kCounters[i]).load(std::memory_order_relaxed);
  return d;
}
DeviceCounts operator-(const DeviceCounts& a, const DeviceCounts& b) {
  DeviceCounts d;
  for (auto f : kCountFields) d.*f = a.*f - b.*f;
  return d;
}
void set_launch_tally(bool on) { gpu::g_tally.on.store(on); }
std::map<std::string, uint64_t> launch_tally() {
  std::lock_guard<std::mutex> lock(gpu::g_tally.m);
  return gpu::g_tally.counts;
}
void reset_launch_tally() {
  std::lock_guard<std::mutex> lock(gpu::g_tally.m);
  gpu::g_tally.counts.clear();
}
std::string device_description() { return instance()->description(); }
std::string runtime_description() { return instance()->versions(); }
bool emulated() {
#ifdef TG_CUDA_EMU
  return true;
#else
  return false;
#endif
}

}  // namespace tg::kernels::cuda

namespace tg {
Backend* cuda_backend_instance() { return kernels::cuda::instance(); }
}  // namespace tg
