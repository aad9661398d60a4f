// The small GEMMs of the CPU recurrent stacks (rnn_cpu.cpp), with the float micro-kernel chosen
// at run time (tg/kernels/rnn_cpu.h: GemmKernel). Private to kernels/cpu.
//
// C[M,N] (= or +=) A[M,K] * B[K,N], A addressed as A[i*sai + k*sak] (so A or A^T of a row-major
// matrix), B row-major with unit column stride, C row-major.
#pragma once

#include <cstddef>

// The members of a float-vector trait (gemm_avx2.cpp: Avx2, gemm_avx512.cpp: Avx512) whose
// intrinsics differ only in their prefix (_mm256, _mm512) and integer width (256, 512); the
// trait declares reg and ireg first.
#define TG_SIMD_LANEWISE_(P, SI)                                                                 \
  static reg zero() { return P##_setzero_ps(); }                                                 \
  static reg load(const float* p) { return P##_loadu_ps(p); }                                    \
  static void store(float* p, reg x) { P##_storeu_ps(p, x); }                                    \
  static reg fma(reg a, reg b, reg c) { return P##_fmadd_ps(a, b, c); }                          \
  static reg set1(float x) { return P##_set1_ps(x); }                                            \
  static reg add(reg a, reg b) { return P##_add_ps(a, b); }                                      \
  static reg mul(reg a, reg b) { return P##_mul_ps(a, b); }                                      \
  static reg div(reg a, reg b) { return P##_div_ps(a, b); }                                      \
  static reg min(reg a, reg b) { return P##_min_ps(b, a); }                                      \
  static reg max(reg a, reg b) { return P##_max_ps(b, a); }                                      \
  static ireg trunc(reg a) { return P##_cvttps_epi32(a); }                                       \
  static ireg sra2(ireg i) { return P##_srai_epi32(i, 2); }                                      \
  static ireg isub(ireg a, ireg b) { return P##_sub_epi32(a, b); }                               \
  static reg pow2(ireg i) { return P##_castsi##SI##_ps(P##_slli_epi32(P##_add_epi32(i, P##_set1_epi32(127)), 23)); }

namespace tg::kernels::cpu::small {

using Idx = std::ptrdiff_t;  // = Eigen::Index

void gemm(int M, int N, int K, const float* A, Idx sai, Idx sak, const float* B, Idx ldb, float* C,
          Idx ldc, bool acc);
void gemm(int M, int N, int K, const double* A, Idx sai, Idx sak, const double* B, Idx ldb,
          double* C, Idx ldc, bool acc);

// The gate activations of the stacks over `rows` rows of n values: out = act(x + add), or
// act(x) when add is null (row strides ldo, ldx, lda; x may be out). The float forms run the
// vector functions of activations.inl for the same kernel set as the GEMMs (bit-identical across
// Avx2, Avx512 and Avx512Layout, and equal to Eigen's AVX2 packet functions), else Eigen's at
// the build's instruction set (and always for double).
enum class Act { Sigmoid, Tanh };
void act(Act a, Idx rows, int n, float* out, Idx ldo, const float* x, Idx ldx, const float* add,
         Idx lda);
void act(Act a, Idx rows, int n, double* out, Idx ldo, const double* x, Idx ldx, const double* add,
         Idx lda);

// The AVX2+FMA micro-kernels (gemm_avx2.cpp, compiled with -mavx2 -mfma whatever the build's
// instruction set): only to be called once the CPU is known to have AVX2 and FMA. M, N, K >= 1.
void gemm_f32_avx2(int M, int N, int K, const float* A, Idx sai, Idx sak, const float* B, Idx ldb,
                   float* C, Idx ldc, bool acc);
void act_f32_avx2(Act a, Idx rows, int n, float* out, Idx ldo, const float* x, Idx ldx,
                  const float* add, Idx lda);

// The AVX-512 micro-kernels (gemm_avx512.cpp, compiled with -mavx512f -mfma whatever the
// build's instruction set): only to be called once the CPU is known to have AVX512F (with the
// operating system's support for its registers). M, N, K >= 1.
void gemm_f32_avx512(int M, int N, int K, const float* A, Idx sai, Idx sak, const float* B, Idx ldb,
                     float* C, Idx ldc, bool acc);
void act_f32_avx512(Act a, Idx rows, int n, float* out, Idx ldo, const float* x, Idx ldx,
                    const float* add, Idx lda);

// The AVX-512 kernels' blocking run on pairs of AVX2 registers (gemm_avx2.cpp): the code paths
// of gemm_f32_avx512, testable on any AVX2+FMA host, with bit-identical results. Not fast.
void gemm_f32_avx512_layout(int M, int N, int K, const float* A, Idx sai, Idx sak, const float* B,
                            Idx ldb, float* C, Idx ldc, bool acc);
void act_f32_avx512_layout(Act a, Idx rows, int n, float* out, Idx ldo, const float* x, Idx ldx,
                           const float* add, Idx lda);

// Rows per register block of the AVX-512 kernels (and of their AVX2 layout), for blocks of one,
// two and three 16-float vectors (gemm_microkernel.inl): 24 accumulators of the 32 registers.
constexpr int kAvx512Rows1 = 24;
constexpr int kAvx512Rows2 = 12;
constexpr int kAvx512Rows3 = 8;

}  // namespace tg::kernels::cpu::small
