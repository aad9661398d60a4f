// The CPU emulation's runtime: the fibers that run the threads of a block, barriers, warp
// exchanges, memory, the checked launch configuration and the BLAS loops (see cuda_emu.h).
#include <ucontext.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>
#include <vector>

#include "cuda_emu.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define TG_EMU_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define TG_EMU_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define TG_EMU_POISON(p, n) ((void)(p), (void)(n))
#define TG_EMU_UNPOISON(p, n) ((void)(p), (void)(n))
#endif
#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#endif

namespace tg::gpu {

struct EmuStream {};
struct EmuBlas {};

namespace {

constexpr unsigned char kGarbage = 0xFF;  // NaN in float and double
constexpr size_t kDefaultSmem = 48 * 1024;
// The emulated device's SMs and shared-memory opt-in per block: by default as below (the opt-in
// of sm_90), else from TG_CUDA_EMU_SMS and TG_CUDA_EMU_SMEM_OPTIN (cuda_emu.h), read once.
constexpr unsigned kDefaultSms = 4;  // a few blocks per persistent kernel
constexpr size_t kDefaultSmemOptin = 227 * 1024;  // as sm_90
size_t env_size(const char* name, size_t fallback, size_t lo, size_t hi) {
  const char* e = std::getenv(name);
  if (e == nullptr || *e == '\0') return fallback;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(e, &end, 10);  // (ULLONG_MAX on overflow: > hi)
  if (*e < '0' || *e > '9' || *end != '\0' || v < lo || v > hi) {
    std::fprintf(stderr, "cuda_emu: %s='%s' is not a whole number in [%zu, %zu]\n", name, e, lo, hi);
    std::abort();
  }
  return static_cast<size_t>(v);
}
unsigned emu_sms() {
  static const unsigned v = static_cast<unsigned>(env_size("TG_CUDA_EMU_SMS", kDefaultSms, 1, 1024));
  return v;
}
size_t smem_optin() {
  static const size_t v = env_size("TG_CUDA_EMU_SMEM_OPTIN", kDefaultSmemOptin, kDefaultSmem, size_t(1) << 30);
  return v;
}
constexpr unsigned kMaxThreads = 1024;

// ---- errors (sticky until read, like cudaGetLastError) ------------------------------------
std::mutex g_err_mu;
Error g_last_error = kSuccess;
void set_error(Error e) {
  std::lock_guard<std::mutex> l(g_err_mu);
  if (g_last_error == kSuccess) g_last_error = e;
}

// ---- fibers: the CUDA threads of a block ---------------------------------------------------
// All fibers run on the launching CPU thread. The scheduler's own state is in relaxed atomics
// (ThreadSanitizer sees every fiber as a thread; relaxed atomics order nothing, so the only
// happens-before edges between CUDA threads are the ones the barriers annotate).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr size_t kStack = 512 * 1024;
#else
constexpr size_t kStack = 128 * 1024;
#endif

enum FiberState : int { kReady, kBlocked, kDone };

struct Fiber {
  ucontext_t ctx;
  std::unique_ptr<char[]> stack{new char[kStack]};
  void* tsan = nullptr;
  emu::ThreadCoords coords;
  unsigned tid = 0;
  std::atomic<int> state{kDone};
  std::atomic<const void*> blocked_on{nullptr};
};

struct Block;

struct Sched {
  std::vector<std::unique_ptr<Fiber>> fibers;  // slots, reused across blocks and launches
  std::vector<Fiber*> of_thread;               // CUDA thread id -> its fiber in this block
  ucontext_t main_ctx;
  std::atomic<void*> main_tsan{nullptr};
  const void* main_bottom = nullptr;
  size_t main_size = 0;
  std::atomic<Block*> block{nullptr};
  std::atomic<Fiber*> current{nullptr};
  unsigned n = 0;  // threads of the current block
};
Sched g_sched;

void tsan_acquire(const void* p) {
#ifdef __SANITIZE_THREAD__
  __tsan_acquire(const_cast<void*>(p));
#else
  (void)p;
#endif
}
void tsan_release(const void* p) {
#ifdef __SANITIZE_THREAD__
  __tsan_release(const_cast<void*>(p));
#else
  (void)p;
#endif
}

// main -> fiber; returns when the fiber yields or finishes
void switch_to(Fiber& f) {
  void* fake = nullptr;
#ifdef __SANITIZE_ADDRESS__
  __sanitizer_start_switch_fiber(&fake, f.stack.get(), kStack);
#endif
#ifdef __SANITIZE_THREAD__
  __tsan_switch_to_fiber(f.tsan, __tsan_switch_to_fiber_no_sync);
#endif
  g_sched.current.store(&f, std::memory_order_relaxed);
  emu::t_coords.store(&f.coords, std::memory_order_relaxed);
  swapcontext(&g_sched.main_ctx, &f.ctx);
#ifdef __SANITIZE_ADDRESS__
  __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
  (void)fake;
}

// fiber -> main; returns when the scheduler resumes the fiber (never when `finished`)
void yield_to_main(Fiber& f, bool finished) {
  void* fake = nullptr;
#ifdef __SANITIZE_ADDRESS__
  __sanitizer_start_switch_fiber(finished ? nullptr : &fake, g_sched.main_bottom, g_sched.main_size);
#endif
#ifdef __SANITIZE_THREAD__
  __tsan_switch_to_fiber(g_sched.main_tsan.load(std::memory_order_relaxed), __tsan_switch_to_fiber_no_sync);
#endif
  swapcontext(&f.ctx, &g_sched.main_ctx);
#ifdef __SANITIZE_ADDRESS__
  __sanitizer_finish_switch_fiber(fake, &g_sched.main_bottom, &g_sched.main_size);
#endif
  (void)fake;
  (void)finished;
}

// Makes every fiber blocked on `barrier` ready again.
void wake(const void* barrier) {
  for (unsigned i = 0; i < g_sched.n; ++i) {
    Fiber& f = *g_sched.of_thread[i];
    if (f.state.load(std::memory_order_relaxed) == kBlocked &&
        f.blocked_on.load(std::memory_order_relaxed) == barrier) {
      f.blocked_on.store(nullptr, std::memory_order_relaxed);
      f.state.store(kReady, std::memory_order_relaxed);
    }
  }
}

// ---- a barrier whose threads may leave (an exited thread no longer takes part) -------------
class Barrier {
 public:
  void reset(unsigned n) {
    live_.store(n, std::memory_order_relaxed);
    arrived_.store(0, std::memory_order_relaxed);
  }
  void wait() {
    Fiber& self = *g_sched.current.load(std::memory_order_relaxed);
    tsan_release(this);
    const unsigned a = arrived_.load(std::memory_order_relaxed) + 1;
    if (a >= live_.load(std::memory_order_relaxed)) {
      arrived_.store(0, std::memory_order_relaxed);
      wake(this);
    } else {
      arrived_.store(a, std::memory_order_relaxed);
      self.blocked_on.store(this, std::memory_order_relaxed);
      self.state.store(kBlocked, std::memory_order_relaxed);
      yield_to_main(self, false);
    }
    tsan_acquire(this);
  }
  void leave() {
    tsan_release(this);
    const unsigned live = live_.load(std::memory_order_relaxed) - 1;
    live_.store(live, std::memory_order_relaxed);
    if (live > 0 && arrived_.load(std::memory_order_relaxed) >= live) {
      arrived_.store(0, std::memory_order_relaxed);
      wake(this);
    }
  }

 private:
  std::atomic<unsigned> live_{0}, arrived_{0};
};

struct Block {
  unsigned nthreads = 0;
  unsigned char* smem = nullptr;
  Barrier barrier;
  std::vector<std::unique_ptr<Barrier>> warp;  // one per warp
  std::vector<uint64_t> slots;                 // shuffle exchange, one per thread
  void (*invoke)(const void*) = nullptr;
  const void* closure = nullptr;
  char setup = 0, done = 0;  // addresses for the launch -> threads -> launch annotations
};

void fiber_entry() {
#ifdef __SANITIZE_ADDRESS__
  __sanitizer_finish_switch_fiber(nullptr, &g_sched.main_bottom, &g_sched.main_size);
#endif
  Fiber& f = *g_sched.current.load(std::memory_order_relaxed);
  Block& b = *g_sched.block.load(std::memory_order_relaxed);
  tsan_acquire(&b.setup);
  b.invoke(b.closure);
  b.barrier.leave();
  b.warp[f.tid / 32]->leave();
  tsan_release(&b.done);
  f.state.store(kDone, std::memory_order_relaxed);
  yield_to_main(f, true);
  std::abort();  // a finished fiber is never resumed
}

// Runs one block: its threads as fibers, round-robin until all have finished.
void run_block(Block& b, dim3 bidx, dim3 bdim, dim3 gdim, unsigned rotation) {
  Sched& s = g_sched;
  const unsigned n = b.nthreads;
  while (s.fibers.size() < n) {
    s.fibers.push_back(std::make_unique<Fiber>());
#ifdef __SANITIZE_THREAD__
    s.fibers.back()->tsan = __tsan_create_fiber(0);
#endif
  }
  s.of_thread.resize(n);
  s.n = n;
  s.block.store(&b, std::memory_order_relaxed);
#ifdef __SANITIZE_THREAD__
  s.main_tsan.store(__tsan_get_current_fiber(), std::memory_order_relaxed);
#endif
  for (unsigned i = 0; i < n; ++i) {
    // thread i runs on slot (i + rotation) % n: successive blocks pair other threads with a slot
    Fiber& f = *s.fibers[(i + rotation) % n];
    s.of_thread[i] = &f;
    f.tid = i;
    f.coords.thread_idx = uint3{i % bdim.x, i / bdim.x % bdim.y, i / (bdim.x * bdim.y)};
    f.coords.block_idx = uint3{bidx.x, bidx.y, bidx.z};
    f.coords.block_dim = bdim;
    f.coords.grid_dim = gdim;
    f.blocked_on.store(nullptr, std::memory_order_relaxed);
    f.state.store(kReady, std::memory_order_relaxed);
    getcontext(&f.ctx);
    f.ctx.uc_stack.ss_sp = f.stack.get();
    f.ctx.uc_stack.ss_size = kStack;
    f.ctx.uc_link = nullptr;
    makecontext(&f.ctx, fiber_entry, 0);
  }
  tsan_release(&b.setup);
  for (;;) {
    bool ran = false, all_done = true;
    for (unsigned i = 0; i < n; ++i) {
      Fiber& f = *s.of_thread[i];
      if (f.state.load(std::memory_order_relaxed) == kReady) {
        switch_to(f);
        ran = true;
      }
      if (f.state.load(std::memory_order_relaxed) != kDone) all_done = false;
    }
    if (all_done) break;
    if (!ran) {
      std::fprintf(stderr, "CUDA emulation: deadlock in a kernel: its threads wait at different barriers\n");
      std::abort();
    }
  }
  emu::t_coords.store(nullptr, std::memory_order_relaxed);
  tsan_acquire(&b.done);
}

std::mutex g_launch_mu;  // one launch at a time
std::map<uintptr_t, size_t> g_smem_limit;

// ---- memory ---------------------------------------------------------------------------------
std::mutex g_mem_mu;
std::map<void*, size_t> g_allocs;  // device allocations and their sizes

EmuStream g_stream;
EmuBlas g_blas;

}  // namespace

const char* error_string(Error e) {
  switch (e) {
    case kSuccess: return "no error";
    case kErrorInvalidValue: return "invalid argument (emulated)";
    case kErrorInvalidConfiguration: return "invalid configuration argument (emulated)";
    case kErrorMemoryAllocation: return "out of memory (emulated)";
    case kErrorInvalidDevice: return "invalid device ordinal (emulated)";
    case kErrorIllegalAddress: return "an illegal memory access was encountered (emulated)";
  }
  return "unknown error (emulated)";
}

Error get_last_error() {
  std::lock_guard<std::mutex> l(g_err_mu);
  const Error e = g_last_error;
  g_last_error = kSuccess;
  return e;
}

Error device_count(int* n) {
  *n = 1;
  return kSuccess;
}
Error set_device(int d) { return d == 0 ? kSuccess : kErrorInvalidDevice; }
Error device_info(int d, DeviceInfo* out) {
  if (d != 0) return kErrorInvalidDevice;
  out->name = "CPU emulation of a CUDA device (tests/cuda_emu)";
  out->major = 9;
  out->minor = 0;
  out->sms = static_cast<int>(emu_sms());
  out->smem_optin = smem_optin();
  out->global_mem = size_t(1) << 30;
  return kSuccess;
}
Error device_synchronize() { return kSuccess; }
std::string runtime_versions() { return "no driver, no runtime: CPU emulation"; }

Error malloc(void** p, size_t bytes) {
  const size_t n = bytes ? bytes : 1;
  void* q = std::malloc(n);
  if (!q) return kErrorMemoryAllocation;
  std::memset(q, kGarbage, n);
  {
    std::lock_guard<std::mutex> l(g_mem_mu);
    g_allocs[q] = n;
  }
  *p = q;
  return kSuccess;
}

Error free(void* p) {
  if (!p) return kSuccess;
  size_t n;
  {
    std::lock_guard<std::mutex> l(g_mem_mu);
    auto it = g_allocs.find(p);
    if (it == g_allocs.end()) return kErrorInvalidValue;
    n = it->second;
    g_allocs.erase(it);
  }
  TG_EMU_UNPOISON(p, n);
  std::free(p);
  return kSuccess;
}

void mark_allocated(void* p, size_t used, size_t block) {
  TG_EMU_UNPOISON(p, block);
  std::memset(p, kGarbage, used);
  TG_EMU_POISON(static_cast<unsigned char*>(p) + used, block - used);
}

void mark_freed(void* p, size_t block) {
  TG_EMU_UNPOISON(p, block);  // (the tail past the caller's bytes is poisoned)
  std::memset(p, kGarbage, block);
  TG_EMU_POISON(p, block);
}

Error memcpy_async(void* dst, const void* src, size_t bytes, Copy, Stream) {
  if (bytes && (!dst || !src)) return kErrorInvalidValue;
  if (bytes) std::memmove(dst, src, bytes);
  return kSuccess;
}
Error memcpy(void* dst, const void* src, size_t bytes, Copy k) { return memcpy_async(dst, src, bytes, k, nullptr); }
Error memset_async(void* dst, int value, size_t bytes, Stream) {
  if (bytes && !dst) return kErrorInvalidValue;
  if (bytes) std::memset(dst, value, bytes);
  return kSuccess;
}

Error stream_create_nonblocking(Stream* s) {
  *s = &g_stream;
  return kSuccess;
}
Error stream_synchronize(Stream) { return kSuccess; }

// ---- launches ---------------------------------------------------------------------------------
namespace emu {

void set_max_dynamic_smem(uintptr_t kernel, size_t bytes) {
  std::lock_guard<std::mutex> l(g_launch_mu);
  g_smem_limit[kernel] = bytes;
}

void run_grid(uintptr_t kernel, dim3 grid, dim3 block, size_t smem, void (*invoke)(const void*),
              const void* closure) {
  std::lock_guard<std::mutex> l(g_launch_mu);
  const uint64_t nthreads = uint64_t(block.x) * block.y * block.z;
  if (nthreads == 0 || nthreads > kMaxThreads || block.z > 64 || grid.x == 0 || grid.y == 0 || grid.z == 0 ||
      grid.x > 0x7fffffffu || grid.y > 65535 || grid.z > 65535) {
    set_error(kErrorInvalidConfiguration);
    return;
  }
  size_t limit = kDefaultSmem;
  if (auto it = g_smem_limit.find(kernel); it != g_smem_limit.end()) limit = std::max(limit, it->second);
  if (smem > limit || smem > smem_optin()) {
    set_error(kErrorInvalidValue);
    return;
  }
  Block b;
  b.nthreads = static_cast<unsigned>(nthreads);
  b.invoke = invoke;
  b.closure = closure;
  const unsigned nwarps = (b.nthreads + 31) / 32;
  for (unsigned w = 0; w < nwarps; ++w) b.warp.push_back(std::make_unique<Barrier>());
  b.slots.assign(b.nthreads, 0);
  unsigned rotation = 0;
  for (unsigned z = 0; z < grid.z; ++z)
    for (unsigned y = 0; y < grid.y; ++y)
      for (unsigned x = 0; x < grid.x; ++x) {
        // a fresh, exactly sized, garbage-filled shared memory per block
        std::unique_ptr<unsigned char[]> shm(smem ? new unsigned char[smem] : nullptr);
        if (smem) std::memset(shm.get(), kGarbage, smem);
        b.smem = shm.get();
        b.barrier.reset(b.nthreads);
        for (unsigned w = 0; w < nwarps; ++w) b.warp[w]->reset(std::min(32u, b.nthreads - w * 32));
        run_block(b, dim3(x, y, z), block, grid, rotation++);
      }
  g_sched.block.store(nullptr, std::memory_order_relaxed);
}

Block& running_block(const char* what) {
  Block* b = g_sched.block.load(std::memory_order_relaxed);
  if (!b) throw std::logic_error(std::string(what) + " outside a kernel");
  return *b;
}

unsigned char* block_smem() { return running_block("dynamic shared memory").smem; }

void syncthreads() { running_block("__syncthreads").barrier.wait(); }

void shfl_down(const void* value, void* out, size_t bytes, unsigned delta, int width) {
  Block& b = running_block("__shfl_down_sync");
  const unsigned tid = g_sched.current.load(std::memory_order_relaxed)->tid, lane = tid % 32;
  Barrier& wb = *b.warp[tid / 32];
  uint64_t mine = 0;
  std::memcpy(&mine, value, bytes);
  b.slots[tid] = mine;
  wb.wait();  // every live lane has published
  const unsigned w = width > 0 && width <= 32 ? static_cast<unsigned>(width) : 32u;
  const unsigned src_lane = lane % w + delta;
  const unsigned src = tid + delta;
  uint64_t got = mine;
  if (src_lane < w && src < b.nthreads && g_sched.of_thread[src]->state.load(std::memory_order_relaxed) != kDone)
    got = b.slots[src];
  wb.wait();  // every lane has read before the slots are reused
  std::memcpy(out, &got, bytes);
}

}  // namespace emu

// ---- BLAS: column-major loops, accumulation in T as cuBLAS ----------------------------------------
BlasStatus blas_create(BlasHandle* h, Stream) {
  *h = &g_blas;
  return kBlasSuccess;
}
std::string blas_version(BlasHandle) { return "BLAS: plain loops"; }
const char* blas_status_name(BlasStatus s) {
  return s == kBlasSuccess ? "CUBLAS_STATUS_SUCCESS" : "CUBLAS_STATUS_INVALID_VALUE (emulated)";
}

template <typename T>
BlasStatus gemm(BlasHandle h, bool ta, bool tb, int m, int n, int k, const T* alpha, const T* a, int lda, const T* b,
                int ldb, const T* beta, T* c, int ldc) {
  // the argument checks cuBLAS makes
  if (!h || m < 0 || n < 0 || k < 0 || lda < std::max(1, ta ? k : m) || ldb < std::max(1, tb ? n : k) ||
      ldc < std::max(1, m))
    return kBlasInvalidValue;
  const T al = *alpha, be = *beta;
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) {
      T acc = T(0);
      for (int p = 0; p < k; ++p) {
        const T av = ta ? a[static_cast<int64_t>(i) * lda + p] : a[static_cast<int64_t>(p) * lda + i];
        const T bv = tb ? b[static_cast<int64_t>(p) * ldb + j] : b[static_cast<int64_t>(j) * ldb + p];
        acc += av * bv;
      }
      T& cv = c[static_cast<int64_t>(j) * ldc + i];
      cv = be == T(0) ? al * acc : al * acc + be * cv;  // beta = 0: C is not read (may be NaN)
    }
  return kBlasSuccess;
}

template <typename T>
BlasStatus gemv(BlasHandle h, bool ta, int m, int n, const T* alpha, const T* a, int lda, const T* x, int incx,
                const T* beta, T* y, int incy) {
  if (!h || m < 0 || n < 0 || lda < std::max(1, m) || incx == 0 || incy == 0) return kBlasInvalidValue;
  if (incx < 0 || incy < 0) return kBlasInvalidValue;  // not used by the backend
  const T al = *alpha, be = *beta;
  const int rows = ta ? n : m, inner = ta ? m : n;
  for (int i = 0; i < rows; ++i) {
    T acc = T(0);
    for (int p = 0; p < inner; ++p) {
      const T av = ta ? a[static_cast<int64_t>(i) * lda + p] : a[static_cast<int64_t>(p) * lda + i];
      acc += av * x[static_cast<int64_t>(p) * incx];
    }
    T& yv = y[static_cast<int64_t>(i) * incy];
    yv = be == T(0) ? al * acc : al * acc + be * yv;
  }
  return kBlasSuccess;
}

template BlasStatus gemm<float>(BlasHandle, bool, bool, int, int, int, const float*, const float*, int, const float*,
                                int, const float*, float*, int);
template BlasStatus gemm<double>(BlasHandle, bool, bool, int, int, int, const double*, const double*, int,
                                 const double*, int, const double*, double*, int);
template BlasStatus gemv<float>(BlasHandle, bool, int, int, const float*, const float*, int, const float*, int,
                                const float*, float*, int);
template BlasStatus gemv<double>(BlasHandle, bool, int, int, const double*, const double*, int, const double*, int,
                                 const double*, double*, int);

}  // namespace tg::gpu
