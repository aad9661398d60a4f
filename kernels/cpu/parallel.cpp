// Persistent thread pool behind tg::kernels::cpu::parallel_for.
//
// One job at a time (the pool is guarded by a dispatch mutex). Workers spin briefly on the job
// generation counter before sleeping on a condition variable, so back-to-back kernel calls
// (one dispatch per RNN forward/backward) do not pay a futex wake-up each time.
#include "tg/kernels/parallel.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TG_CPU_RELAX() _mm_pause()
#else
#define TG_CPU_RELAX() ((void)0)
#endif

namespace tg::kernels::cpu {
namespace {

thread_local bool t_inside_task = false;

int default_threads() {
  if (const char* env = std::getenv("TG_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n >= 1) return n;
  }
  unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : static_cast<int>(hc);
}

class Pool {
 public:
  Pool() : n_threads_(default_threads()) {}
  ~Pool() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
      gen_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }

  int threads() const { return n_threads_.load(std::memory_order_relaxed); }
  void set_threads(int n) { n_threads_.store(n < 1 ? 1 : n, std::memory_order_relaxed); }

  void run(int n_tasks, const std::function<void(int)>& fn) {
    std::lock_guard<std::mutex> dispatch(dispatch_mu_);
    int helpers = std::min(threads(), n_tasks) - 1;
    ensure_workers(helpers);
    {
      std::lock_guard<std::mutex> lk(mu_);
      fn_ = &fn;
      n_tasks_ = n_tasks;
      active_helpers_ = helpers;
      next_.store(0, std::memory_order_relaxed);
      done_.store(0, std::memory_order_relaxed);
      error_ = nullptr;
      gen_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    work();
    // Tasks not yet started were taken by work() above; wait for those a helper is running.
    // Yield after a short spin so an oversubscribed machine can schedule that helper.
    for (int spin = 0; done_.load(std::memory_order_acquire) < n_tasks; ++spin) {
      if (spin < 4000) TG_CPU_RELAX();
      else std::this_thread::yield();
    }
    {
      // Close the job: no helper can join after this; wait for those that joined to leave.
      std::lock_guard<std::mutex> lk(mu_);
      fn_ = nullptr;
    }
    for (int spin = 0; busy_.load(std::memory_order_acquire) != 0; ++spin) {
      if (spin < 4000) TG_CPU_RELAX();
      else std::this_thread::yield();
    }
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void ensure_workers(int n) {
    while (static_cast<int>(workers_.size()) < n) {
      int id = static_cast<int>(workers_.size());
      uint64_t g = gen_.load(std::memory_order_acquire);
      workers_.emplace_back([this, id, g] { loop(id, g); });
    }
  }

  void work() {
    t_inside_task = true;
    for (;;) {
      int t = next_.fetch_add(1, std::memory_order_relaxed);
      if (t >= n_tasks_) break;
      try {
        (*fn_)(t);
      } catch (...) {
        std::lock_guard<std::mutex> lk(err_mu_);
        if (!error_) error_ = std::current_exception();
      }
      done_.fetch_add(1, std::memory_order_acq_rel);
    }
    t_inside_task = false;
  }

  void loop(int id, uint64_t seen) {
    for (;;) {
      uint64_t g = gen_.load(std::memory_order_acquire);
      for (int spin = 0; g == seen && spin < 20000; ++spin) {
        TG_CPU_RELAX();
        g = gen_.load(std::memory_order_acquire);
      }
      if (g == seen) {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return gen_.load(std::memory_order_acquire) != seen; });
        g = gen_.load(std::memory_order_acquire);
      }
      seen = g;
      bool join = false;
      {
        std::lock_guard<std::mutex> lk(mu_);
        if (stop_) return;
        join = fn_ != nullptr && gen_.load(std::memory_order_relaxed) == g && id < active_helpers_;
        if (join) busy_.fetch_add(1, std::memory_order_acq_rel);
      }
      if (join) {
        work();
        busy_.fetch_sub(1, std::memory_order_acq_rel);
      }
    }
  }

  std::atomic<int> n_threads_;
  std::vector<std::thread> workers_;
  std::mutex dispatch_mu_, mu_, err_mu_;
  std::condition_variable cv_;
  std::atomic<uint64_t> gen_{0};
  std::atomic<int> next_{0}, done_{0}, busy_{0};
  // Job fields: written under mu_ by the caller while no helper is inside the job.
  const std::function<void(int)>* fn_ = nullptr;
  int n_tasks_ = 0;
  int active_helpers_ = 0;
  std::exception_ptr error_;
  bool stop_ = false;
};

Pool& pool() {
  static Pool p;
  return p;
}

}  // namespace

int num_threads() { return pool().threads(); }
void set_num_threads(int n) { pool().set_threads(n); }

void parallel_for(int n_tasks, const std::function<void(int)>& fn) {
  if (n_tasks <= 0) return;
  if (n_tasks == 1 || t_inside_task || pool().threads() <= 1) {
    for (int t = 0; t < n_tasks; ++t) fn(t);
    return;
  }
  pool().run(n_tasks, fn);
}

}  // namespace tg::kernels::cpu
