// A tiny persistent thread pool for the CPU kernels.
//
// Workers are created once (lazily, on the first parallel_for that needs them) and reused.
// The calling thread runs task 0 (and any others it grabs). parallel_for runs inline when
// n_tasks <= 1, when only one thread is configured, or when called from inside a task.
#pragma once

#include <functional>

namespace tg::kernels::cpu {

/// Threads used by parallel_for (including the caller). Default:
/// std::thread::hardware_concurrency(), overridden by the TG_NUM_THREADS environment variable.
int num_threads();
/// Sets the thread count (n < 1 means 1). Not to be called concurrently with parallel_for.
void set_num_threads(int n);
/// Runs fn(0) .. fn(n_tasks-1), possibly concurrently, and returns when all are done.
/// The first exception thrown by a task is rethrown in the caller.
void parallel_for(int n_tasks, const std::function<void(int task)>& fn);

}  // namespace tg::kernels::cpu
