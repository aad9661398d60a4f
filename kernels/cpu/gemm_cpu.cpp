// The small GEMMs of the CPU recurrent stacks (gemm_cpu.h) and the run-time choice of the float
// micro-kernel (GemmKernel, tg/kernels/rnn_cpu.h): the AVX-512 kernels of gemm_avx512.cpp when
// CPUID reports AVX512F, else the AVX2+FMA kernels of gemm_avx2.cpp when it reports AVX2 and FMA,
// else Eigen's product (and always Eigen for double).
#include "gemm_cpu.h"

#include <Eigen/Core>
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "eigen_maps.h"
#include "tg/kernels/rnn_cpu.h"

namespace tg::kernels::cpu {
namespace {

template <typename T>
void gemm_eigen(int M, int N, int K, const T* A, Index sai, Index sak, const T* B, Index ldb, T* C,
                Index ldc, bool acc) {
  // Unit inner strides only, so Eigen multiplies in place instead of copying A to a temporary.
  auto run = [&](const auto& a) {
    if (acc) mm(C, M, N, ldc).noalias() += a * cm(B, K, N, ldb);
    else mm(C, M, N, ldc).noalias() = a * cm(B, K, N, ldb);
  };
  if (sak == 1) {
    run(cm(A, M, K, sai));
  } else if (sai == 1) {
    run(cm(A, K, M, sak).transpose());
  } else {
    using SMap = Eigen::Map<const MatR<T>, 0, Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>>;
    run(SMap(A, M, K, Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>(sai, sak)));
  }
}

bool cpu_has_avx2_fma() {
#if defined(__x86_64__) || defined(__i386__)
  // GCC's checks include the operating system's support for the YMM state (XGETBV).
  static const bool has = [] {
    __builtin_cpu_init();  // may run before libgcc's own initialiser (static constructors)
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return has;
#else
  return false;
#endif
}

bool cpu_has_avx512f() {
#if defined(__x86_64__) || defined(__i386__)
  // As above, including the operating system's support for the ZMM and mask registers.
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && cpu_has_avx2_fma();
  }();
  return has;
#else
  return false;
#endif
}

GemmKernel best_kernel() {
  if (cpu_has_avx512f()) return GemmKernel::Avx512;
  return cpu_has_avx2_fma() ? GemmKernel::Avx2 : GemmKernel::Eigen;
}

constexpr GemmKernel kAllKernels[] = {GemmKernel::Eigen, GemmKernel::Avx2, GemmKernel::Avx512,
                                      GemmKernel::Avx512Layout};

GemmKernel parse_env() {
  const char* e = std::getenv("TG_CPU_GEMM");
  if (e == nullptr || *e == '\0' || std::string(e) == "auto") return best_kernel();
  const std::string v = e;
  for (GemmKernel k : kAllKernels)
    if (v == gemm_kernel_name(k)) {
      if (!gemm_kernel_available(k))
        throw std::runtime_error("TG_CPU_GEMM=" + v + ": " + gemm_kernel_unavailable_reason(k));
      return k;
    }
  throw std::runtime_error("TG_CPU_GEMM must be auto, eigen, avx2, avx512 or avx512-layout, got '" + v + "'");
}

// -1: not resolved yet (the environment is read on first use).
std::atomic<int> g_kernel{-1};

}  // namespace

const char* gemm_kernel_name(GemmKernel k) {
  switch (k) {
    case GemmKernel::Eigen: return "eigen";
    case GemmKernel::Avx2: return "avx2";
    case GemmKernel::Avx512: return "avx512";
    case GemmKernel::Avx512Layout: return "avx512-layout";
  }
  return "?";
}

std::string gemm_kernel_unavailable_reason(GemmKernel k) {
  switch (k) {
    case GemmKernel::Eigen: return "";
    case GemmKernel::Avx2: return cpu_has_avx2_fma() ? "" : "this CPU does not report AVX2 and FMA";
    case GemmKernel::Avx512: return cpu_has_avx512f() ? "" : "this CPU does not report AVX512F";
    case GemmKernel::Avx512Layout:
      return cpu_has_avx2_fma() ? "" : "this CPU does not report AVX2 and FMA";
  }
  return "unknown kernel";
}

bool gemm_kernel_available(GemmKernel k) { return gemm_kernel_unavailable_reason(k).empty(); }

GemmKernel gemm_kernel() {
  int k = g_kernel.load(std::memory_order_relaxed);
  if (k < 0) {
    k = static_cast<int>(parse_env());
    g_kernel.store(k, std::memory_order_relaxed);
  }
  return static_cast<GemmKernel>(k);
}

void set_gemm_kernel(GemmKernel k) {
  if (!gemm_kernel_available(k))
    throw std::invalid_argument(std::string("set_gemm_kernel(") + gemm_kernel_name(k) +
                                "): " + gemm_kernel_unavailable_reason(k));
  g_kernel.store(static_cast<int>(k), std::memory_order_relaxed);
}

void reset_gemm_kernel() { g_kernel.store(static_cast<int>(best_kernel()), std::memory_order_relaxed); }

namespace small {

void gemm(int M, int N, int K, const float* A, Idx sai, Idx sak, const float* B, Idx ldb, float* C,
          Idx ldc, bool acc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!acc)
      for (int i = 0; i < M; ++i) std::fill(C + i * ldc, C + i * ldc + N, 0.f);
    return;
  }
  switch (gemm_kernel()) {
    case GemmKernel::Avx2: gemm_f32_avx2(M, N, K, A, sai, sak, B, ldb, C, ldc, acc); return;
    case GemmKernel::Avx512: gemm_f32_avx512(M, N, K, A, sai, sak, B, ldb, C, ldc, acc); return;
    case GemmKernel::Avx512Layout:
      gemm_f32_avx512_layout(M, N, K, A, sai, sak, B, ldb, C, ldc, acc);
      return;
    case GemmKernel::Eigen: break;
  }
  gemm_eigen<float>(M, N, K, A, sai, sak, B, ldb, C, ldc, acc);
}

void gemm(int M, int N, int K, const double* A, Idx sai, Idx sak, const double* B, Idx ldb,
          double* C, Idx ldc, bool acc) {
  gemm_eigen<double>(M, N, K, A, sai, sak, B, ldb, C, ldc, acc);
}

namespace {
template <typename T>
void act_eigen(Act a, Idx rows, int n, T* out, Idx ldo, const T* x, Idx ldx, const T* add, Idx lda) {
  for (Idx r = 0; r < rows; ++r) {
    T* o = out + r * ldo;
    const T* xr = x + r * ldx;
    if (add)
      for (int k = 0; k < n; ++k) o[k] = xr[k] + add[r * lda + k];
    else if (o != xr)
      for (int k = 0; k < n; ++k) o[k] = xr[k];
    Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>> v(o, n);
    if (a == Act::Tanh) v = v.tanh();
    else v = v.logistic();
  }
}
}  // namespace

void act(Act a, Idx rows, int n, float* out, Idx ldo, const float* x, Idx ldx, const float* add, Idx lda) {
  if (rows <= 0 || n <= 0) return;
  switch (gemm_kernel()) {
    case GemmKernel::Avx2: act_f32_avx2(a, rows, n, out, ldo, x, ldx, add, lda); return;
    case GemmKernel::Avx512: act_f32_avx512(a, rows, n, out, ldo, x, ldx, add, lda); return;
    case GemmKernel::Avx512Layout: act_f32_avx512_layout(a, rows, n, out, ldo, x, ldx, add, lda); return;
    case GemmKernel::Eigen: break;
  }
  act_eigen<float>(a, rows, n, out, ldo, x, ldx, add, lda);
}

void act(Act a, Idx rows, int n, double* out, Idx ldo, const double* x, Idx ldx, const double* add, Idx lda) {
  if (rows <= 0 || n <= 0) return;
  act_eigen<double>(a, rows, n, out, ldo, x, ldx, add, lda);
}

}  // namespace small
}  // namespace tg::kernels::cpu
