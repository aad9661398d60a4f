// AVX2+FMA small-GEMM micro-kernels of the CPU recurrent stacks (interface: gemm_cpu.h; the
// kernel itself: gemm_microkernel.inl).
//
// This translation unit is compiled with -mavx2 -mfma in every build (kernels/CMakeLists.txt)
// and is entered only after a CPUID check (gemm_cpu.cpp), so a baseline x86-64 build uses these
// kernels on a host that has AVX2 and FMA. To keep AVX2 code out of the rest of the program it
// uses no inline function or template shared with other translation units (no Eigen, no
// <algorithm>): the linker would otherwise be free to keep this file's AVX2 copy of such a
// function for every caller.
//
// Two instantiations, of the GEMM and of the activations (activations.inl): the AVX2 kernels
// proper (8-float vectors; 6 x 16 blocks, 4 x 24 and 12 x 8 where the columns call for them),
// and the AVX-512 kernels' blocking (16-float vectors, kAvx512Rows2 x 32 blocks and their 48-
// and 16-column forms, masked tails of up to 15 columns) on pairs of AVX2 registers, so that the
// code paths of gemm_avx512.cpp run, and are tested, on hosts without AVX-512. The pair form is
// for testing, not speed.
#include <immintrin.h>

#include <cstdint>

#include "gemm_cpu.h"

#if !defined(__AVX2__) || !defined(__FMA__)
#error "gemm_avx2.cpp must be compiled with -mavx2 -mfma (kernels/CMakeLists.txt)"
#endif

namespace tg::kernels::cpu::small {
namespace {

#include "activations.inl"
#include "gemm_microkernel.inl"

// The first n of 8 lanes (0 <= n <= 8).
inline __m256i tail8(int n) {
  alignas(32) static const int32_t m[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(m + 8 - n));
}

struct Avx2 {
  using reg = __m256;
  using mask = __m256i;
  using ireg = __m256i;
  static constexpr int W = 8;
  // 12 accumulators (the FMA latency times its throughput is 8 in flight), the vectors of B and
  // a broadcast: 14, 15 and 16 of the 16 registers.
  static constexpr int MR1 = 12;
  static constexpr int MR2 = 6;
  static constexpr int MR3 = 4;
  TG_SIMD_LANEWISE_(_mm256, 256)
  static reg load(const float* p, mask m) { return _mm256_maskload_ps(p, m); }
  static void store(float* p, mask m, reg x) { _mm256_maskstore_ps(p, m, x); }
  static reg bcast(const float* p) { return _mm256_broadcast_ss(p); }
  static mask tail(int n) { return tail8(n); }
  static void keep(reg& x) { asm("" : "+x"(x)); }
  // activations.inl
  using cmp = __m256;
  static reg abs(reg a) { return _mm256_and_ps(a, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff))); }
  static reg floor(reg a) { return _mm256_floor_ps(a); }
  static cmp lt(reg a, reg b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
  static bool any(cmp c) { return _mm256_movemask_ps(c) != 0; }
  static reg select(cmp c, reg a, reg b) { return _mm256_blendv_ps(b, a, c); }
};

// 16 floats as two AVX2 registers, lanes 0-7 in lo and 8-15 in hi: the Avx512 vector of
// gemm_avx512.cpp, lane for lane.
struct Avx512Layout {
  struct reg {
    __m256 lo, hi;
  };
  struct mask {
    __m256i lo, hi;
  };
  static constexpr int W = 16;
  static constexpr int MR1 = kAvx512Rows1;
  static constexpr int MR2 = kAvx512Rows2;
  static constexpr int MR3 = kAvx512Rows3;
  static reg zero() { return {_mm256_setzero_ps(), _mm256_setzero_ps()}; }
  static reg load(const float* p) { return {_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8)}; }
  static reg load(const float* p, mask m) {
    return {_mm256_maskload_ps(p, m.lo), _mm256_maskload_ps(p + 8, m.hi)};
  }
  static void store(float* p, reg x) {
    _mm256_storeu_ps(p, x.lo);
    _mm256_storeu_ps(p + 8, x.hi);
  }
  static void store(float* p, mask m, reg x) {
    _mm256_maskstore_ps(p, m.lo, x.lo);
    _mm256_maskstore_ps(p + 8, m.hi, x.hi);
  }
  static reg bcast(const float* p) {
    const __m256 v = _mm256_broadcast_ss(p);
    return {v, v};
  }
  static reg fma(reg a, reg b, reg c) {
    return {_mm256_fmadd_ps(a.lo, b.lo, c.lo), _mm256_fmadd_ps(a.hi, b.hi, c.hi)};
  }
  static mask tail(int n) { return {tail8(n < 8 ? n : 8), tail8(n > 8 ? n - 8 : 0)}; }
  static void keep(reg&) {}
  // activations.inl: each half through Avx2's operation.
  struct cmp {
    __m256 lo, hi;
  };
  struct ireg {
    __m256i lo, hi;
  };
  static reg set1(float x) { return {Avx2::set1(x), Avx2::set1(x)}; }
  static reg add(reg a, reg b) { return {Avx2::add(a.lo, b.lo), Avx2::add(a.hi, b.hi)}; }
  static reg mul(reg a, reg b) { return {Avx2::mul(a.lo, b.lo), Avx2::mul(a.hi, b.hi)}; }
  static reg div(reg a, reg b) { return {Avx2::div(a.lo, b.lo), Avx2::div(a.hi, b.hi)}; }
  static reg min(reg a, reg b) { return {Avx2::min(a.lo, b.lo), Avx2::min(a.hi, b.hi)}; }
  static reg max(reg a, reg b) { return {Avx2::max(a.lo, b.lo), Avx2::max(a.hi, b.hi)}; }
  static reg abs(reg a) { return {Avx2::abs(a.lo), Avx2::abs(a.hi)}; }
  static reg floor(reg a) { return {Avx2::floor(a.lo), Avx2::floor(a.hi)}; }
  static cmp lt(reg a, reg b) { return {Avx2::lt(a.lo, b.lo), Avx2::lt(a.hi, b.hi)}; }
  static bool any(cmp c) { return Avx2::any(c.lo) || Avx2::any(c.hi); }
  static reg select(cmp c, reg a, reg b) {
    return {Avx2::select(c.lo, a.lo, b.lo), Avx2::select(c.hi, a.hi, b.hi)};
  }
  static ireg trunc(reg a) { return {Avx2::trunc(a.lo), Avx2::trunc(a.hi)}; }
  static ireg sra2(ireg i) { return {Avx2::sra2(i.lo), Avx2::sra2(i.hi)}; }
  static ireg isub(ireg a, ireg b) { return {Avx2::isub(a.lo, b.lo), Avx2::isub(a.hi, b.hi)}; }
  static reg pow2(ireg i) { return {Avx2::pow2(i.lo), Avx2::pow2(i.hi)}; }
};

}  // namespace

void gemm_f32_avx2(int M, int N, int K, const float* A, Idx sai, Idx sak, const float* B, Idx ldb,
                   float* C, Idx ldc, bool acc) {
  mk_gemm<Avx2>(M, N, K, A, sai, sak, B, ldb, C, ldc, acc);
}

void gemm_f32_avx512_layout(int M, int N, int K, const float* A, Idx sai, Idx sak, const float* B,
                            Idx ldb, float* C, Idx ldc, bool acc) {
  mk_gemm<Avx512Layout>(M, N, K, A, sai, sak, B, ldb, C, ldc, acc);
}

void act_f32_avx2(Act a, Idx rows, int n, float* out, Idx ldo, const float* x, Idx ldx,
                  const float* add, Idx lda) {
  if (a == Act::Tanh) act_rows<Avx2, true>(rows, n, out, ldo, x, ldx, add, lda);
  else act_rows<Avx2, false>(rows, n, out, ldo, x, ldx, add, lda);
}

void act_f32_avx512_layout(Act a, Idx rows, int n, float* out, Idx ldo, const float* x, Idx ldx,
                           const float* add, Idx lda) {
  if (a == Act::Tanh) act_rows<Avx512Layout, true>(rows, n, out, ldo, x, ldx, add, lda);
  else act_rows<Avx512Layout, false>(rows, n, out, ldo, x, ldx, add, lda);
}

}  // namespace tg::kernels::cpu::small
