// The CPU emulation's runtime: the fibers that run the threads of a block, barriers, warp
// exchanges, device memory (an mmap'd arena), stream queues, the checked launch configuration
// and the BLAS loops. The model and its adversarial behaviours: cuda_emu.h.
#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <numeric>
#include <random>
#include <stdexcept>
#include <vector>

#include "cuda_emu.h"
#include "../gpu_counters.h"

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
extern "C" {
void AnnotateIgnoreReadsBegin(const char* file, int line);
void AnnotateIgnoreReadsEnd(const char* file, int line);
void AnnotateIgnoreWritesBegin(const char* file, int line);
void AnnotateIgnoreWritesEnd(const char* file, int line);
}
#endif

namespace tg::gpu {

namespace {
struct Queue {
  std::mutex mu;
  std::deque<std::function<void()>> ops;
};
}  // namespace

struct EmuStream {
  Queue queue;
};
struct EmuBlas {
  Stream stream = nullptr;
};

namespace {

constexpr unsigned char kGarbage = 0xFF;  // NaN in float and double
constexpr size_t kDefaultSmem = 48 * 1024;
constexpr size_t kStaticSmem = 48 * 1024;  // static shared memory per block, as on every device
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
constexpr size_t kQueueLimit = 1 << 14;  // ops queued on a stream before it runs them anyway

// ---- options, seed and failures --------------------------------------------------------------
[[noreturn]] void fail(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

emu::Options read_options() {
  emu::Options o;
  if (const char* s = std::getenv("TG_CUDA_EMU_SEED"); s && *s) {
    char* end = nullptr;
    o.seed = std::strtoull(s, &end, 10);
    if (*end || *s == '-') {
      std::fprintf(stderr, "CUDA emulation: TG_CUDA_EMU_SEED must be a non-negative integer, got '%s'\n", s);
      std::abort();
    }
  } else {
    o.seed = (uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
  }
  if (const char* s = std::getenv("TG_CUDA_EMU_OFF"); s && *s) {
    const std::string all = s;
    size_t i = 0;
    while (i <= all.size()) {
      const size_t j = std::min(all.find(',', i), all.size());
      const std::string w = all.substr(i, j - i);
      if (w == "order") o.order = false;
      else if (w == "async") o.async = false;
      else if (w == "protect") o.protect = false;
      else if (w == "gemm") o.gemm = false;
      else if (!w.empty()) {
        std::fprintf(stderr, "CUDA emulation: TG_CUDA_EMU_OFF: unknown behaviour '%s' (order, async, protect, gemm)\n",
                     w.c_str());
        std::abort();
      }
      i = j + 1;
    }
  }
  return o;
}

std::atomic<uint64_t> g_draws{0};  // random streams drawn since the seed was set

void fail(const char* fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  std::fprintf(stderr, "CUDA emulation: %s [TG_CUDA_EMU_SEED=%" PRIu64 "]\n", msg, emu::options().seed);
  std::fflush(stderr);
  std::abort();
}

// splitmix64: small, fast and good enough to pick orders
struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  unsigned below(unsigned n) { return n ? static_cast<unsigned>(next() % n) : 0u; }
  template <typename V>
  void shuffle(V& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(static_cast<unsigned>(i))]);
  }
};
// A fresh random stream: the n-th since the seed was set.
Rng draw() {
  const uint64_t n = g_draws.fetch_add(1, std::memory_order_relaxed);
  Rng r{emu::options().seed ^ (n * 0xD1B54A32D192ED03ull)};
  r.next();
  return r;
}

// ---- errors (sticky until read, like cudaGetLastError) ------------------------------------
std::mutex g_err_mu;
Error g_last_error = kSuccess;
void set_error(Error e) {
  std::lock_guard<std::mutex> l(g_err_mu);
  if (g_last_error == kSuccess) g_last_error = e;
}

// ---- ThreadSanitizer annotations ---------------------------------------------------------------
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
// The runtime's own bookkeeping done from inside a CUDA thread (never across a yield): not an
// access of the kernel's.
struct Unobserved {
#ifdef __SANITIZE_THREAD__
  Unobserved() {
    AnnotateIgnoreReadsBegin(__FILE__, __LINE__);
    AnnotateIgnoreWritesBegin(__FILE__, __LINE__);
  }
  ~Unobserved() {
    AnnotateIgnoreWritesEnd(__FILE__, __LINE__);
    AnnotateIgnoreReadsEnd(__FILE__, __LINE__);
  }
#endif
};

// ---- device memory: an arena of pages, inaccessible to host code -------------------------------
constexpr size_t kPage = 4096;
constexpr size_t kArenaBytes = size_t(8) << 30;  // address space reserved for device memory

struct Allocation {
  size_t bytes;  // the caller's
  size_t pages;  // bytes rounded up to whole pages (accessible while open)
};

struct Arena {
  std::recursive_mutex mu;
  unsigned char* base = nullptr;
  size_t top = 0;                          // offsets below have been handed out at some point
  std::map<size_t, size_t> holes;          // offset -> length of a free span
  std::map<uintptr_t, Allocation> live;    // start -> allocation
  int open = 0;                            // nesting of device work in progress
  bool closed = false;                     // some allocation may be inaccessible now
};
Arena* g_arena = nullptr;  // (a pointer: read by the SIGSEGV handler at any time)
struct sigaction g_old_segv;

size_t round_pages(size_t n) { return (n + kPage - 1) / kPage * kPage; }

void on_segv(int sig, siginfo_t* si, void* uc);

Arena& arena() {
  static Arena* a = [] {
    Arena* r = new Arena();  // leaked: device memory may be released by static destructors
    void* m = mmap(nullptr, kArenaBytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) {
      std::fprintf(stderr, "CUDA emulation: cannot reserve %zu bytes of address space for device memory\n",
                   kArenaBytes);
      std::abort();
    }
    r->base = static_cast<unsigned char*>(m);
    g_arena = r;
    return r;
  }();
  return *a;
}

// Makes on_segv the SIGSEGV handler, passing other faults to the one it replaces. Checked each
// time device memory is closed to the host: a test runner may install its own per test.
void ensure_segv_handler() {
  struct sigaction cur {};
  sigaction(SIGSEGV, nullptr, &cur);
  if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_segv) return;
  struct sigaction sa {};
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, &g_old_segv);
}

bool in_arena(const void* p) {
  const Arena& a = arena();
  const auto u = reinterpret_cast<uintptr_t>(p), b = reinterpret_cast<uintptr_t>(a.base);
  return u >= b && u < b + kArenaBytes;
}

// The live allocation holding p, or nullptr.
const std::pair<const uintptr_t, Allocation>* owner(const void* p) {
  Arena& a = arena();
  const auto u = reinterpret_cast<uintptr_t>(p);
  auto it = a.live.upper_bound(u);
  if (it == a.live.begin()) return nullptr;
  --it;
  return u < it->first + it->second.pages ? &*it : nullptr;
}

void set_access(uintptr_t start, const Allocation& al, bool on) {
  if (mprotect(reinterpret_cast<void*>(start), al.pages, on ? PROT_READ | PROT_WRITE : PROT_NONE) != 0)
    fail("mprotect of device memory failed");
}

// Device work in progress: device memory accessible (without `protect`, it always is).
class Open {
 public:
  Open() {
    Arena& a = arena();
    std::lock_guard<std::recursive_mutex> l(a.mu);
    if (a.open++ == 0 && a.closed) {
      for (const auto& kv : a.live) set_access(kv.first, kv.second, true);
      a.closed = false;
    }
  }
  ~Open() {
    Arena& a = arena();
    std::lock_guard<std::recursive_mutex> l(a.mu);
    if (--a.open == 0 && emu::options().protect) {
      ensure_segv_handler();
      for (const auto& kv : a.live) set_access(kv.first, kv.second, false);
      a.closed = true;
    }
  }
  Open(const Open&) = delete;
  Open& operator=(const Open&) = delete;
};

void write_str(const char* s) {
  size_t n = std::strlen(s);
  while (n) {
    const ssize_t w = write(2, s, n);
    if (w <= 0) return;
    s += w;
    n -= static_cast<size_t>(w);
  }
}

void on_segv(int sig, siginfo_t* si, void* uc) {
  Arena* a = g_arena;
  const auto addr = reinterpret_cast<uintptr_t>(si->si_addr);
  if (a && addr >= reinterpret_cast<uintptr_t>(a->base) && addr < reinterpret_cast<uintptr_t>(a->base) + kArenaBytes) {
    Unobserved quiet;  // (the fault may be in a CUDA thread: the runtime's tables are not its data)
    (void)quiet;
    char msg[512];
    const auto* o = owner(si->si_addr);  // (the process is about to stop: the map is read as it is)
    if (o && a->open == 0)
      std::snprintf(msg, sizeof msg,
                    "CUDA emulation: host code dereferenced device memory at %p, %zu bytes into a device "
                    "allocation of %zu bytes at %p; copy it to the host first (device memory is accessible only "
                    "to kernels, BLAS calls and copies) [TG_CUDA_EMU_SEED=%" PRIu64 "]\n",
                    si->si_addr, static_cast<size_t>(addr - o->first), o->second.bytes,
                    reinterpret_cast<void*>(o->first), emu::options().seed);
    else
      std::snprintf(msg, sizeof msg,
                    "CUDA emulation: an access to device address %p, outside every live device allocation (past "
                    "the end of one, or freed memory) [TG_CUDA_EMU_SEED=%" PRIu64 "]\n",
                    si->si_addr, emu::options().seed);
    write_str(msg);
    signal(SIGABRT, SIG_DFL);
    std::abort();
  }
  if (g_old_segv.sa_flags & SA_SIGINFO) {
    g_old_segv.sa_sigaction(sig, si, uc);
  } else if (g_old_segv.sa_handler != SIG_IGN && g_old_segv.sa_handler != SIG_DFL) {
    g_old_segv.sa_handler(sig);
  } else {
    signal(sig, SIG_DFL);  // the faulting instruction runs again and ends the process
  }
}

// The allocation that [p, p + n) lies in, or a failure naming `what`.
void require_device(const void* p, size_t n, const char* what) {
  if (!in_arena(p)) fail("%s: %p is not device memory", what, p);
  Arena& a = arena();
  std::lock_guard<std::recursive_mutex> l(a.mu);
  const auto* o = owner(p);
  if (!o) fail("%s: %p is not in a live device allocation (freed?)", what, p);
  const auto off = reinterpret_cast<uintptr_t>(p) - o->first;
  if (off + n > o->second.bytes)
    fail("%s: %zu bytes at offset %zu overrun the device allocation of %zu bytes at %p", what, n,
         static_cast<size_t>(off), o->second.bytes, reinterpret_cast<void*>(o->first));
}
void require_host(const void* p, const char* what) {
  if (in_arena(p)) fail("%s: %p is device memory, not host memory", what, p);
}

// ---- stream queues ------------------------------------------------------------------------------
EmuStream g_default_stream;  // stream 0 (nullptr)
std::mutex g_streams_mu;
std::vector<std::unique_ptr<EmuStream>> g_streams;

Queue& queue_of(Stream s) { return (s ? *s : g_default_stream).queue; }

void run_queue(Queue& q) {
  {
    std::lock_guard<std::mutex> l(q.mu);
    if (q.ops.empty()) return;
  }
  Open open;
  for (;;) {
    std::function<void()> op;
    {
      std::lock_guard<std::mutex> l(q.mu);
      if (q.ops.empty()) return;
      op = std::move(q.ops.front());
      q.ops.pop_front();
    }
    op();
  }
}

void run_all_queues() {
  run_queue(g_default_stream.queue);
  std::vector<EmuStream*> all;
  {
    std::lock_guard<std::mutex> l(g_streams_mu);
    for (auto& s : g_streams) all.push_back(s.get());
  }
  for (EmuStream* s : all) run_queue(s->queue);
}

// Device work: queued on `s` (async) or done now.
void submit(Stream s, std::function<void()> op) {
  if (!emu::options().async) {
    Open open;
    op();
    return;
  }
  Queue& q = queue_of(s);
  bool full;
  {
    std::lock_guard<std::mutex> l(q.mu);
    q.ops.push_back(std::move(op));
    full = q.ops.size() >= kQueueLimit;
  }
  if (full) run_queue(q);  // a device does not queue without bound either
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

// Blocks run one at a time, each on the fibers and buffers of one of kSlots slots. Under
// ThreadSanitizer there are several: a slot's memory is reused only by a block ordered after the
// one that used it before (its end is acquired), so blocks of different slots are not ordered
// at all: within every kSlots consecutive blocks of the (shuffled) order, a race between two
// blocks is reported. (ThreadSanitizer keeps what memory saw across fibers; only a slot per block
// would leave every block unordered, at a stack per CUDA thread and block.)
#ifdef __SANITIZE_THREAD__
constexpr unsigned kSlots = 8;
#else
constexpr unsigned kSlots = 1;  // no happens-before to keep apart: one set of fibers suffices
#endif

struct Sched {
  std::vector<std::unique_ptr<Fiber>> fibers[kSlots];  // per slot, reused across blocks and launches
  ucontext_t main_ctx;
  std::atomic<void*> main_tsan{nullptr};
  const void* main_bottom = nullptr;
  size_t main_size = 0;
  std::atomic<Block*> block{nullptr};
  std::atomic<Fiber*> current{nullptr};
  std::atomic<const char*> setup{nullptr};  // the running block's launch -> threads edge (read
                                            // before the thread has acquired anything)
};
Sched g_sched;

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

const std::vector<Fiber*>& threads_of_block();

// Makes every fiber blocked on `barrier` ready again.
void wake(const void* barrier) {
  for (Fiber* fp : threads_of_block()) {
    Fiber& f = *fp;
    if (f.state.load(std::memory_order_relaxed) == kBlocked &&
        f.blocked_on.load(std::memory_order_relaxed) == barrier) {
      f.blocked_on.store(nullptr, std::memory_order_relaxed);
      f.state.store(kReady, std::memory_order_relaxed);
    }
  }
}

// ---- a barrier whose threads may leave (an exited thread no longer takes part) -------------
// Its happens-before edges go through `sync`, an address of the running block's own: barriers
// of different blocks never order each other.
class Barrier {
 public:
  void reset(unsigned n, const void* sync) {
    live_.store(n, std::memory_order_relaxed);
    arrived_.store(0, std::memory_order_relaxed);
    sync_.store(sync, std::memory_order_relaxed);
  }
  void wait() {
    Fiber& self = *g_sched.current.load(std::memory_order_relaxed);
    tsan_release(sync());
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
    tsan_acquire(sync());
  }
  void leave() {
    tsan_release(sync());
    const unsigned live = live_.load(std::memory_order_relaxed) - 1;
    live_.store(live, std::memory_order_relaxed);
    if (live > 0 && arrived_.load(std::memory_order_relaxed) >= live) {
      arrived_.store(0, std::memory_order_relaxed);
      wake(this);
    }
  }

 private:
  const void* sync() const { return sync_.load(std::memory_order_relaxed); }
  std::atomic<unsigned> live_{0}, arrived_{0};
  std::atomic<const void*> sync_{nullptr};
};

struct StaticVar {
  const void* key;
  size_t offset, bytes;
};

struct Block {
  unsigned nthreads = 0;
  std::vector<Fiber*> of_thread;  // CUDA thread id -> its fiber
  dim3 idx;
  unsigned char* smem = nullptr;
  Barrier barrier;
  std::vector<std::unique_ptr<Barrier>> warp;  // one per warp
  std::vector<std::atomic<uint64_t>> slots;    // shuffle exchange, one per thread (ordered by the warp barrier)
  // static shared memory: a pool of the device's 48 KiB, handed out at first use per variable
  std::unique_ptr<unsigned char[]> statics{new unsigned char[kStaticSmem]};
  std::vector<StaticVar> static_vars;
  size_t static_used = 0;
  void (*invoke)(const void*) = nullptr;
  const void* closure = nullptr;
  std::atomic<const char*> done{nullptr};  // the address of this block's threads -> end edge
};

const std::vector<Fiber*>& threads_of_block() { return g_sched.block.load(std::memory_order_relaxed)->of_thread; }

void fiber_entry() {
#ifdef __SANITIZE_ADDRESS__
  __sanitizer_finish_switch_fiber(nullptr, &g_sched.main_bottom, &g_sched.main_size);
#endif
  Fiber& f = *g_sched.current.load(std::memory_order_relaxed);
  Block& b = *g_sched.block.load(std::memory_order_relaxed);
  tsan_acquire(g_sched.setup.load(std::memory_order_relaxed));
  b.invoke(b.closure);
  b.barrier.leave();
  b.warp[f.tid / 32]->leave();
  tsan_release(b.done.load(std::memory_order_relaxed));
  f.state.store(kDone, std::memory_order_relaxed);
  yield_to_main(f, true);
  std::abort();  // a finished fiber is never resumed
}

// Runs one block: its threads as fibers until all have finished; with `order`, the ready threads
// are resumed in a shuffled order at every round and each thread is a new ThreadSanitizer fiber.
void run_block(Block& b, unsigned slot, dim3 bdim, dim3 gdim, Rng& rng) {
  Sched& s = g_sched;
  const unsigned n = b.nthreads;
  const bool order = emu::options().order;
  auto& fibers = s.fibers[slot];
  while (fibers.size() < n) fibers.push_back(std::make_unique<Fiber>());
  b.of_thread.resize(n);
  s.block.store(&b, std::memory_order_relaxed);
#ifdef __SANITIZE_THREAD__
  s.main_tsan.store(__tsan_get_current_fiber(), std::memory_order_relaxed);
#endif
  for (unsigned i = 0; i < n; ++i) {
    Fiber& f = *fibers[i];
#ifdef __SANITIZE_THREAD__
    if (!f.tsan) f.tsan = __tsan_create_fiber(0);
#endif
    b.of_thread[i] = &f;
    f.tid = i;
    f.coords.thread_idx = uint3{i % bdim.x, i / bdim.x % bdim.y, i / (bdim.x * bdim.y)};
    f.coords.block_idx = uint3{b.idx.x, b.idx.y, b.idx.z};
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
  tsan_release(s.setup.load(std::memory_order_relaxed));
  std::vector<unsigned> turn(n);
  std::iota(turn.begin(), turn.end(), 0u);
  for (;;) {
    if (order) rng.shuffle(turn);
    bool ran = false, all_done = true;
    for (unsigned i : turn) {
      Fiber& f = *b.of_thread[i];
      if (f.state.load(std::memory_order_relaxed) == kReady) {
        switch_to(f);
        ran = true;
      }
      if (f.state.load(std::memory_order_relaxed) != kDone) all_done = false;
    }
    if (all_done) break;
    if (!ran) fail("deadlock in a kernel: its threads wait at different barriers (block (%u,%u,%u))", b.idx.x, b.idx.y,
                   b.idx.z);
  }
  emu::t_coords.store(nullptr, std::memory_order_relaxed);
}

std::mutex g_launch_mu;  // one launch at a time
std::map<uintptr_t, size_t> g_smem_limit;

// Runs a grid now (the calling thread holds device memory open).
void run_grid_now(dim3 grid, dim3 block, size_t smem, void (*invoke)(const void*), const void* closure) {
  std::lock_guard<std::mutex> l(g_launch_mu);
  Rng rng = draw();
  const bool order = emu::options().order;
  const unsigned nthreads = block.x * block.y * block.z, nwarps = (nthreads + 31) / 32;
  const uint64_t nblocks = uint64_t(grid.x) * grid.y * grid.z;
  const unsigned nslots = static_cast<unsigned>(std::min<uint64_t>(kSlots, nblocks));
  // per slot: a block's barriers, shuffle slots, shared memory
  std::vector<std::unique_ptr<Block>> slots;
  std::vector<std::unique_ptr<unsigned char[]>> shm;
  for (unsigned i = 0; i < nslots; ++i) {
    auto b = std::make_unique<Block>();
    b->nthreads = nthreads;
    b->invoke = invoke;
    b->closure = closure;
    for (unsigned w = 0; w < nwarps; ++w) b->warp.push_back(std::make_unique<Barrier>());
    b->slots = std::vector<std::atomic<uint64_t>>(nthreads);
    shm.emplace_back(smem ? new unsigned char[smem] : nullptr);
    b->smem = shm.back().get();
    slots.push_back(std::move(b));
  }
  // the blocks, in launch order or shuffled
  std::vector<uint32_t> blocks(nblocks);
  std::iota(blocks.begin(), blocks.end(), 0u);
  if (order) rng.shuffle(blocks);
  // addresses only (ThreadSanitizer's synchronisation objects): per block, its setup edge, its
  // end, its barrier and its warps' barriers
  const size_t per_block = 3 + nwarps;
  std::unique_ptr<char[]> sync(new char[nblocks * per_block]);
  std::vector<const char*> slot_done(nslots, nullptr);  // the end of each slot's last block
  for (uint64_t j = 0; j < nblocks; ++j) {
    const uint32_t k = blocks[j];
    const unsigned slot = static_cast<unsigned>(j % nslots);
    Block& b = *slots[slot];
    if (slot_done[slot]) tsan_acquire(slot_done[slot]);  // the slot's previous block is over
    const char* own = &sync[static_cast<size_t>(k) * per_block];
    b.idx = dim3(k % grid.x, k / grid.x % grid.y, static_cast<unsigned>(k / (uint64_t(grid.x) * grid.y)));
    g_sched.setup.store(own, std::memory_order_relaxed);
    b.done.store(own + 1, std::memory_order_relaxed);
    // fresh garbage-filled shared memory
    if (smem) std::memset(b.smem, kGarbage, smem);
    b.static_vars.clear();
    b.static_used = 0;
    b.barrier.reset(nthreads, own + 2);
    for (unsigned w = 0; w < nwarps; ++w) b.warp[w]->reset(std::min(32u, nthreads - w * 32), own + 3 + w);
    run_block(b, slot, block, grid, rng);
    slot_done[slot] = own + 1;
    if (!order) tsan_acquire(own + 1);  // blocks one after another, as the emulation used to run them
  }
  for (const char* d : slot_done) tsan_acquire(d);  // the launch is over when every block is
  g_sched.block.store(nullptr, std::memory_order_relaxed);
}

// ---- BLAS summation orders ---------------------------------------------------------------------
struct SumOrder {
  enum Kind { kSequential, kReversed, kBlocked, kSplitK } kind = kSequential;
  int chunk = 1;  // kBlocked: the block length; kSplitK: the number of parts
  bool fma = false;
  uint64_t combine = 0;  // kSplitK: the order the parts are added in
};
SumOrder pick_order() {
  SumOrder o;
  if (!emu::options().gemm) return o;
  Rng r = draw();
  o.kind = static_cast<SumOrder::Kind>(r.below(4));
  o.fma = r.below(2) != 0;
  o.chunk = o.kind == SumOrder::kBlocked ? (2 << r.below(4)) : 2 + static_cast<int>(r.below(3));
  o.combine = r.next();
  return o;
}
// sum over p < k of term(p) = (a, b) products, in order o
template <typename T, typename Term>
T dot(int k, const SumOrder& o, Term term) {
  auto add = [&](T acc, int p) {
    const auto [a, b] = term(p);
    return o.fma ? std::fma(a, b, acc) : acc + a * b;
  };
  T acc = T(0);
  switch (o.kind) {
    case SumOrder::kSequential:
      for (int p = 0; p < k; ++p) acc = add(acc, p);
      break;
    case SumOrder::kReversed:
      for (int p = k - 1; p >= 0; --p) acc = add(acc, p);
      break;
    case SumOrder::kBlocked:
      for (int p0 = 0; p0 < k; p0 += o.chunk) {
        T part = T(0);
        for (int p = p0; p < std::min(k, p0 + o.chunk); ++p) part = add(part, p);
        acc += part;
      }
      break;
    case SumOrder::kSplitK: {
      const int parts = o.chunk, len = (k + parts - 1) / parts;
      T part[4] = {T(0), T(0), T(0), T(0)};
      for (int q = 0; q < parts; ++q)
        for (int p = q * len; p < std::min(k, (q + 1) * len); ++p) part[q] = add(part[q], p);
      for (int q = 0; q < parts; ++q) acc += part[(q + static_cast<int>(o.combine % 4)) % parts];
      break;
    }
  }
  return acc;
}

}  // namespace

// ---- options ----------------------------------------------------------------------------------
namespace emu {
Options& options() {
  static Options o = read_options();
  return o;
}
void reseed(uint64_t seed) {
  options().seed = seed;
  g_draws.store(0, std::memory_order_relaxed);
}
}  // namespace emu

const char* error_string(Error e) {
  switch (e) {
    case kSuccess: return "no error";
    case kErrorInvalidValue: return "invalid argument (emulated)";
    case kErrorInvalidConfiguration: return "invalid configuration argument (emulated)";
    case kErrorMemoryAllocation: return "out of memory (emulated)";
    case kErrorInvalidDevice: return "invalid device ordinal (emulated)";
    case kErrorIllegalAddress: return "an illegal memory access was encountered (emulated)";
    case kErrorInsufficientDriver: return "CUDA driver version is insufficient for CUDA runtime version (emulated)";
    case kErrorNoDevice: return "no CUDA-capable device is detected (emulated)";
    case kErrorNoKernelImage: return "no kernel image is available for execution on the device (emulated)";
    case kErrorDevicesUnavailable: return "CUDA-capable device(s) is/are busy or unavailable (emulated)";
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
  if (const Error fe = emu::fault_device_count(n)) return fe;
  *n = 1;
  return kSuccess;
}
Error set_device(int d) {
  if (const Error fe = emu::fault_set_device()) return fe;
  return d == 0 ? kSuccess : kErrorInvalidDevice;
}
Error device_info(int d, DeviceInfo* out) {
  if (d != 0) return kErrorInvalidDevice;
  out->name = "CPU emulation of a CUDA device (kernels/cuda/emu)";
  out->major = 9;
  out->minor = 0;
  out->sms = static_cast<int>(emu_sms());
  out->smem_optin = smem_optin();
  out->global_mem = size_t(1) << 30;
  emu::fault_device_info(out);
  return kSuccess;
}
Error device_synchronize() {
  count(g_counters.syncs);
  run_all_queues();
  return emu::fault_sync();
}
std::string runtime_versions() { return "no driver, no runtime: CPU emulation"; }

// ---- memory -------------------------------------------------------------------------------------
Error malloc(void** p, size_t bytes) {
  count(g_counters.allocations);
  Arena& a = arena();
  std::lock_guard<std::recursive_mutex> l(a.mu);
  const size_t n = std::max<size_t>(bytes, 1);
  if (const Error fe = emu::fault_malloc(n)) return fe;
  const size_t pages = round_pages(n), span = pages + kPage;  // + an inaccessible guard page
  size_t off = SIZE_MAX;
  for (auto it = a.holes.begin(); it != a.holes.end(); ++it)
    if (it->second >= span) {
      off = it->first;
      const size_t rest = it->second - span;
      a.holes.erase(it);
      if (rest) a.holes[off + span] = rest;
      break;
    }
  if (off == SIZE_MAX) {
    if (a.top + span > kArenaBytes) return kErrorMemoryAllocation;
    off = a.top;
    a.top += span;
  }
  unsigned char* q = a.base + off;
  const Allocation al{n, pages};
  set_access(reinterpret_cast<uintptr_t>(q), al, true);
  std::memset(q, kGarbage, n);
  TG_EMU_POISON(q + n, pages - n);  // the tail of the last page, as a heap redzone
  a.live[reinterpret_cast<uintptr_t>(q)] = al;
  if (a.open == 0 && emu::options().protect) {
    ensure_segv_handler();
    set_access(reinterpret_cast<uintptr_t>(q), al, false);
    a.closed = true;
  }
  *p = q;
  return kSuccess;
}

Error free(void* p) {
  if (!p) return kSuccess;
  count(g_counters.frees);
  run_all_queues();  // cudaFree waits for the device
  Arena& a = arena();
  std::lock_guard<std::recursive_mutex> l(a.mu);
  auto it = a.live.find(reinterpret_cast<uintptr_t>(p));
  if (it == a.live.end()) return kErrorInvalidValue;
  const Allocation al = it->second;
  a.live.erase(it);
  TG_EMU_UNPOISON(p, al.pages);
  madvise(p, al.pages, MADV_DONTNEED);
  if (mprotect(p, al.pages, PROT_NONE) != 0) fail("mprotect of freed device memory failed");
  size_t off = static_cast<size_t>(static_cast<unsigned char*>(p) - a.base), len = al.pages + kPage;
  // coalesce with the free spans on either side
  auto next = a.holes.find(off + len);
  if (next != a.holes.end()) {
    len += next->second;
    a.holes.erase(next);
  }
  auto prev = a.holes.lower_bound(off);
  if (prev != a.holes.begin()) {
    --prev;
    if (prev->first + prev->second == off) {
      off = prev->first;
      len += prev->second;
      a.holes.erase(prev);
    }
  }
  a.holes[off] = len;
  emu::fault_free(al.bytes);
  return kSuccess;
}

void mark_allocated(void* p, size_t used, size_t block, Stream s) {
  require_device(p, block, "mark_allocated");
  submit(s, [=] {
    TG_EMU_UNPOISON(p, block);
    std::memset(p, kGarbage, used);
    TG_EMU_POISON(static_cast<unsigned char*>(p) + used, block - used);
  });
}

void mark_freed(void* p, size_t block, Stream s) {
  require_device(p, block, "mark_freed");
  submit(s, [=] {
    TG_EMU_UNPOISON(p, block);  // (the tail past the caller's bytes is poisoned)
    std::memset(p, kGarbage, block);
    TG_EMU_POISON(p, block);
  });
}

Error memcpy_async(void* dst, const void* src, size_t bytes, Copy k, Stream s) {
  count_copy(static_cast<int>(k), bytes);
  if (bytes && (!dst || !src)) return kErrorInvalidValue;
  if (!bytes) return kSuccess;
  switch (k) {
    case Copy::HostToDevice: {
      require_device(dst, bytes, "memcpy HostToDevice: the destination");
      require_host(src, "memcpy HostToDevice: the source");
      // pageable host memory is staged before the call returns: the caller may reuse it
      auto staged = std::make_shared<std::vector<unsigned char>>(static_cast<const unsigned char*>(src),
                                                                 static_cast<const unsigned char*>(src) + bytes);
      submit(s, [dst, staged] { std::memcpy(dst, staged->data(), staged->size()); });
      break;
    }
    case Copy::DeviceToHost:
      require_device(src, bytes, "memcpy DeviceToHost: the source");
      require_host(dst, "memcpy DeviceToHost: the destination");
      // until the copy has run, the destination holds garbage
      if (emu::options().async) std::memset(dst, kGarbage, bytes);
      submit(s, [=] { std::memcpy(dst, src, bytes); });
      break;
    case Copy::DeviceToDevice:
      require_device(src, bytes, "memcpy DeviceToDevice: the source");
      require_device(dst, bytes, "memcpy DeviceToDevice: the destination");
      submit(s, [=] { std::memmove(dst, src, bytes); });
      break;
  }
  return kSuccess;
}
Error memcpy(void* dst, const void* src, size_t bytes, Copy k) {
  count(g_counters.syncs);  // a blocking copy waits for the default stream
  if (const Error fe = emu::fault_sync()) return fe;
  // a blocking copy on the default stream: after the default stream's work, before returning
  const Error e = memcpy_async(dst, src, bytes, k, nullptr);
  run_queue(g_default_stream.queue);
  return e;
}
Error memset_async(void* dst, int value, size_t bytes, Stream s) {
  count(g_counters.memsets);
  if (bytes && !dst) return kErrorInvalidValue;
  if (!bytes) return kSuccess;
  require_device(dst, bytes, "memset");
  submit(s, [=] { std::memset(dst, value, bytes); });
  return kSuccess;
}

Error stream_create_nonblocking(Stream* s) {
  std::lock_guard<std::mutex> l(g_streams_mu);
  g_streams.push_back(std::make_unique<EmuStream>());
  *s = g_streams.back().get();
  return kSuccess;
}
Error stream_synchronize(Stream s) {
  count(g_counters.syncs);
  run_queue(queue_of(s));
  return emu::fault_sync();
}

// ---- launches ---------------------------------------------------------------------------------
namespace emu {

void set_max_dynamic_smem(uintptr_t kernel, size_t bytes) {
  std::lock_guard<std::mutex> l(g_launch_mu);
  g_smem_limit[kernel] = bytes;
}

bool check_launch(uintptr_t kernel, dim3 grid, dim3 block, size_t smem) {
  count(g_counters.launches);
  if (const Error fe = emu::fault_launch()) {
    set_error(fe);
    return false;
  }
  const uint64_t nthreads = uint64_t(block.x) * block.y * block.z;
  if (nthreads == 0 || nthreads > kMaxThreads || block.z > 64 || grid.x == 0 || grid.y == 0 || grid.z == 0 ||
      grid.x > 0x7fffffffu || grid.y > 65535 || grid.z > 65535) {
    set_error(kErrorInvalidConfiguration);
    return false;
  }
  size_t limit = kDefaultSmem;
  {
    std::lock_guard<std::mutex> l(g_launch_mu);
    if (auto it = g_smem_limit.find(kernel); it != g_smem_limit.end()) limit = std::max(limit, it->second);
  }
  if (smem > limit || smem > smem_optin()) {
    set_error(kErrorInvalidValue);
    return false;
  }
  return true;
}

void submit_grid(Stream stream, dim3 grid, dim3 block, size_t smem, void (*invoke)(const void*),
                 std::shared_ptr<const void> closure) {
  submit(stream, [=] { run_grid_now(grid, block, smem, invoke, closure.get()); });
}

Block& running_block(const char* what) {
  Block* b = g_sched.block.load(std::memory_order_relaxed);
  if (!b) throw std::logic_error(std::string(what) + " outside a kernel");
  return *b;
}

unsigned char* block_smem() { return running_block("dynamic shared memory").smem; }

void* static_smem(const void* key, size_t bytes, size_t align) {
  Block& b = running_block("static shared memory");
  Unobserved quiet;  // the table is the runtime's; the memory it hands out is the kernel's
  (void)quiet;
  for (const StaticVar& v : b.static_vars)
    if (v.key == key) return b.statics.get() + v.offset;
  const size_t a = std::max<size_t>(align, 16);
  const size_t off = (b.static_used + a - 1) / a * a;
  if (off + bytes > kStaticSmem) fail("a block's static shared memory exceeds %zu bytes", kStaticSmem);
  b.static_vars.push_back(StaticVar{key, off, bytes});
  b.static_used = off + bytes;
  std::memset(b.statics.get() + off, kGarbage, bytes);  // as a device leaves it: garbage
  return b.statics.get() + off;
}

void syncthreads() { running_block("__syncthreads").barrier.wait(); }

void shfl_down(unsigned mask, const void* value, void* out, size_t bytes, unsigned delta, int width) {
  Block& b = running_block("__shfl_down_sync");
  const Fiber& self = *g_sched.current.load(std::memory_order_relaxed);
  const uint3 bi = self.coords.block_idx;
  const unsigned tid = self.tid, lane = tid % 32, base = tid - lane;
  Barrier& wb = *b.warp[tid / 32];
  uint64_t mine = 0;
  std::memcpy(&mine, value, bytes);
  b.slots[tid].store(mine, std::memory_order_relaxed);
  wb.wait();  // every live lane has published
  unsigned arrived = 0;  // the live lanes: all of them are here (the warp barrier waits for them)
  for (unsigned l = 0; l < 32 && base + l < b.nthreads; ++l)
    if (b.of_thread[base + l]->state.load(std::memory_order_relaxed) != kDone) arrived |= 1u << l;
  if (mask != arrived)
    fail("__shfl_down_sync with mask 0x%08x in block (%u,%u,%u), thread %u: the lanes that take part are 0x%08x; the "
         "mask must name exactly them",
         mask, bi.x, bi.y, bi.z, tid, arrived);
  const unsigned w = width > 0 && width <= 32 ? static_cast<unsigned>(width) : 32u;
  uint64_t got = mine;
  if (lane % w + delta < w) {  // (otherwise the caller keeps its own value, as on a device)
    const unsigned src_lane = lane + delta;
    if (src_lane >= 32 || !(arrived >> src_lane & 1u))
      fail("__shfl_down_sync in block (%u,%u,%u): thread %u reads lane %u, which has exited or does not exist",
           bi.x, bi.y, bi.z, tid, src_lane);
    got = b.slots[base + src_lane].load(std::memory_order_relaxed);
  }
  wb.wait();  // every lane has read before the slots are reused
  std::memcpy(out, &got, bytes);
}

}  // namespace emu

// ---- BLAS: column-major loops, accumulation in T as cuBLAS, in a seeded order --------------------
BlasStatus blas_create(BlasHandle* h, Stream s) {
  static std::mutex mu;
  static std::vector<std::unique_ptr<EmuBlas>> handles;  // (kept as long as the process, as the backend's)
  std::lock_guard<std::mutex> l(mu);
  handles.push_back(std::make_unique<EmuBlas>(EmuBlas{s}));
  *h = handles.back().get();
  return kBlasSuccess;
}
std::string blas_version(BlasHandle) { return "BLAS: plain loops in seeded summation orders"; }
const char* blas_status_name(BlasStatus s) {
  switch (s) {
    case kBlasSuccess: return "CUBLAS_STATUS_SUCCESS";
    case kBlasInvalidValue: return "CUBLAS_STATUS_INVALID_VALUE (emulated)";
    case kBlasAllocFailed: return "CUBLAS_STATUS_ALLOC_FAILED (emulated)";
  }
  return "CUBLAS_STATUS_<unknown> (emulated)";
}

template <typename T>
BlasStatus gemm(BlasHandle h, bool ta, bool tb, int m, int n, int k, const T* alpha, const T* a, int lda, const T* b,
                int ldb, const T* beta, T* c, int ldc) {
  count(g_counters.blas);
  tally_blas(false, ta, tb, m, n, k);
  if (const BlasStatus fs = emu::fault_blas()) return fs;
  // the argument checks cuBLAS makes
  if (!h || m < 0 || n < 0 || k < 0 || lda < std::max(1, ta ? k : m) || ldb < std::max(1, tb ? n : k) ||
      ldc < std::max(1, m))
    return kBlasInvalidValue;
  if (m == 0 || n == 0) return kBlasSuccess;
  if (k > 0) {
    require_device(a, 1, "gemm: A");
    require_device(b, 1, "gemm: B");
  }
  require_device(c, 1, "gemm: C");
  const T al = *alpha, be = *beta;  // host scalars are read at the call
  const SumOrder o = pick_order();
  submit(h->stream, [=] {
    for (int j = 0; j < n; ++j)
      for (int i = 0; i < m; ++i) {
        const T acc = dot<T>(k, o, [&](int p) {
          const T av = ta ? a[static_cast<int64_t>(i) * lda + p] : a[static_cast<int64_t>(p) * lda + i];
          const T bv = tb ? b[static_cast<int64_t>(p) * ldb + j] : b[static_cast<int64_t>(j) * ldb + p];
          return std::pair<T, T>(av, bv);
        });
        T& cv = c[static_cast<int64_t>(j) * ldc + i];
        cv = be == T(0) ? al * acc : al * acc + be * cv;  // beta = 0: C is not read (may be NaN)
      }
  });
  return kBlasSuccess;
}

template <typename T>
BlasStatus gemv(BlasHandle h, bool ta, int m, int n, const T* alpha, const T* a, int lda, const T* x, int incx,
                const T* beta, T* y, int incy) {
  count(g_counters.blas);
  tally_blas(true, ta, false, m, 0, n);
  if (const BlasStatus fs = emu::fault_blas()) return fs;
  if (!h || m < 0 || n < 0 || lda < std::max(1, m) || incx == 0 || incy == 0) return kBlasInvalidValue;
  if (incx < 0 || incy < 0) return kBlasInvalidValue;  // not used by the backend
  const int rows = ta ? n : m, inner = ta ? m : n;
  if (rows == 0) return kBlasSuccess;
  if (inner > 0) {
    require_device(a, 1, "gemv: A");
    require_device(x, 1, "gemv: x");
  }
  require_device(y, 1, "gemv: y");
  const T al = *alpha, be = *beta;
  const SumOrder o = pick_order();
  submit(h->stream, [=] {
    for (int i = 0; i < rows; ++i) {
      const T acc = dot<T>(inner, o, [&](int p) {
        const T av = ta ? a[static_cast<int64_t>(i) * lda + p] : a[static_cast<int64_t>(p) * lda + i];
        return std::pair<T, T>(av, x[static_cast<int64_t>(p) * incx]);
      });
      T& yv = y[static_cast<int64_t>(i) * incy];
      yv = be == T(0) ? al * acc : al * acc + be * yv;
    }
  });
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

extern "C" unsigned long long tg_cuda_emu_seed() { return tg::gpu::emu::options().seed; }
