// AVX2+FMA small-GEMM micro-kernels of the CPU recurrent stacks (interface: gemm_cpu.h).
//
// This translation unit is compiled with -mavx2 -mfma in every build (kernels/CMakeLists.txt)
// and is entered only after a CPUID check (gemm_cpu.cpp), so a baseline x86-64 build uses these
// kernels on a host that has AVX2 and FMA. To keep AVX2 code out of the rest of the program it
// uses no inline function or template shared with other translation units (no Eigen, no
// <algorithm>): the linker would otherwise be free to keep this file's AVX2 copy of such a
// function for every caller.
//
// The kernel: a register-blocked MR x 16 (or x 8, or masked x n < 8) block that reads B in place
// (no packing, no zeroing pass): at these sizes (K = 24..96, N = 24..96) Eigen's packing and
// setZero cost about as much as the arithmetic.
#include <immintrin.h>

#include <cstdint>

#include "gemm_cpu.h"

#if !defined(__AVX2__) || !defined(__FMA__)
#error "gemm_avx2.cpp must be compiled with -mavx2 -mfma (kernels/CMakeLists.txt)"
#endif

namespace tg::kernels::cpu::small {
namespace {

inline __m256i tail_mask(int n) {
  alignas(32) static const int32_t m[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(m + 8 - n));
}

// NV = 2: 16 columns; NV = 1: 8 columns; NV = 0: n < 8 columns with a mask.
template <int MR, int NV>
inline void gemm_block(int K, const float* A, Idx sai, Idx sak, const float* B, Idx ldb, float* C,
                       Idx ldc, bool acc, int n) {
  constexpr int V = NV == 0 ? 1 : NV;
  __m256 c[MR][V];
  const __m256i msk = NV == 0 ? tail_mask(n) : _mm256_setzero_si256();
  _Pragma("GCC unroll 8") for (int r = 0; r < MR; ++r)
    _Pragma("GCC unroll 2") for (int v = 0; v < V; ++v) {
      if (!acc) c[r][v] = _mm256_setzero_ps();
      else if (NV == 0) c[r][v] = _mm256_maskload_ps(C + r * ldc, msk);
      else c[r][v] = _mm256_loadu_ps(C + r * ldc + 8 * v);
    }
  for (int k = 0; k < K; ++k) {
    const float* bk = B + k * ldb;
    __m256 b[V];
    _Pragma("GCC unroll 2") for (int v = 0; v < V; ++v)
      b[v] = NV == 0 ? _mm256_maskload_ps(bk, msk) : _mm256_loadu_ps(bk + 8 * v);
    const float* ak = A + k * sak;
    _Pragma("GCC unroll 8") for (int r = 0; r < MR; ++r) {
      __m256 a = _mm256_broadcast_ss(ak + r * sai);
      _Pragma("GCC unroll 2") for (int v = 0; v < V; ++v) c[r][v] = _mm256_fmadd_ps(a, b[v], c[r][v]);
    }
  }
  _Pragma("GCC unroll 8") for (int r = 0; r < MR; ++r)
    _Pragma("GCC unroll 2") for (int v = 0; v < V; ++v) {
      if (NV == 0) _mm256_maskstore_ps(C + r * ldc, msk, c[r][v]);
      else _mm256_storeu_ps(C + r * ldc + 8 * v, c[r][v]);
    }
}

template <int MR>
inline void gemm_rows(int N, int K, const float* A, Idx sai, Idx sak, const float* B, Idx ldb,
                      float* C, Idx ldc, bool acc) {
  int j = 0;
  for (; j + 16 <= N; j += 16) gemm_block<MR, 2>(K, A, sai, sak, B + j, ldb, C + j, ldc, acc, 16);
  if (j + 8 <= N) {
    gemm_block<MR, 1>(K, A, sai, sak, B + j, ldb, C + j, ldc, acc, 8);
    j += 8;
  }
  if (j < N) gemm_block<MR, 0>(K, A, sai, sak, B + j, ldb, C + j, ldc, acc, N - j);
}

}  // namespace

void gemm_f32_avx2(int M, int N, int K, const float* A, Idx sai, Idx sak, const float* B, Idx ldb,
                   float* C, Idx ldc, bool acc) {
  // Long K (weight gradients over all T*nb rows): walk K in chunks so that the chunk of A and
  // B stays in L1/L2 while every (row, column) block of the small C is updated.
  constexpr int kKc = 192;
  if (K > kKc) {
    for (int k0 = 0; k0 < K; k0 += kKc)
      gemm_f32_avx2(M, N, K - k0 < kKc ? K - k0 : kKc, A + k0 * sak, sai, sak, B + k0 * ldb, ldb,
                    C, ldc, acc || k0 > 0);
    return;
  }
  int i = 0;
  for (; i + 6 <= M; i += 6) gemm_rows<6>(N, K, A + i * sai, sai, sak, B, ldb, C + i * ldc, ldc, acc);
  const float* a = A + i * sai;
  float* c = C + i * ldc;
  switch (M - i) {
    case 5: gemm_rows<5>(N, K, a, sai, sak, B, ldb, c, ldc, acc); break;
    case 4: gemm_rows<4>(N, K, a, sai, sak, B, ldb, c, ldc, acc); break;
    case 3: gemm_rows<3>(N, K, a, sai, sak, B, ldb, c, ldc, acc); break;
    case 2: gemm_rows<2>(N, K, a, sai, sak, B, ldb, c, ldc, acc); break;
    case 1: gemm_rows<1>(N, K, a, sai, sak, B, ldb, c, ldc, acc); break;
    default: break;
  }
}

}  // namespace tg::kernels::cpu::small
