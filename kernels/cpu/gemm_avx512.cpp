// AVX-512 small-GEMM micro-kernels of the CPU recurrent stacks (interface: gemm_cpu.h; the
// kernel itself: gemm_microkernel.inl).
//
// This translation unit is compiled with -mavx512f -mfma in every build (kernels/CMakeLists.txt)
// and is entered only after a CPUID check for AVX512F with the operating system's support for
// the ZMM state (gemm_cpu.cpp). Like gemm_avx2.cpp it shares no inline function or template with
// other translation units, so no AVX-512 code can reach a caller on a host without it.
//
// 16-float vectors, blocks of 24 x 16, 12 x 32 and 8 x 48 (gemm_microkernel.inl chooses by the
// column count): 24 accumulators + the vectors of B + 1 broadcast of the 32 ZMM registers;
// partial blocks use the mask registers. gemm_avx2.cpp runs the same blocking on
// pairs of AVX2 registers (Avx512Layout), which is how the code paths are tested on hosts
// without AVX-512; this file only maps the vector operations onto AVX-512 instructions.
#include <immintrin.h>

#include <cstdint>

#include "gemm_cpu.h"

#if !defined(__AVX512F__)
#error "gemm_avx512.cpp must be compiled with -mavx512f (kernels/CMakeLists.txt)"
#endif

namespace tg::kernels::cpu::small {
namespace {

#include "activations.inl"
#include "gemm_microkernel.inl"

struct Avx512 {
  using reg = __m512;
  using mask = __mmask16;
  using ireg = __m512i;
  static constexpr int W = 16;
  static constexpr int MR1 = kAvx512Rows1;
  static constexpr int MR2 = kAvx512Rows2;
  static constexpr int MR3 = kAvx512Rows3;
  TG_SIMD_LANEWISE_(_mm512, 512)
  static reg load(const float* p, mask m) { return _mm512_maskz_loadu_ps(m, p); }
  static void store(float* p, mask m, reg x) { _mm512_mask_storeu_ps(p, m, x); }
  static reg bcast(const float* p) { return _mm512_set1_ps(*p); }
  static mask tail(int n) { return static_cast<mask>((1u << n) - 1u); }
  static void keep(reg& x) { asm("" : "+v"(x)); }
  // activations.inl
  using cmp = __mmask16;
  static reg abs(reg a) {
    return _mm512_castsi512_ps(_mm512_and_epi32(_mm512_castps_si512(a), _mm512_set1_epi32(0x7fffffff)));
  }
  static reg floor(reg a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC); }
  static cmp lt(reg a, reg b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
  static bool any(cmp c) { return c != 0; }
  static reg select(cmp c, reg a, reg b) { return _mm512_mask_blend_ps(c, b, a); }
};

}  // namespace

void gemm_f32_avx512(int M, int N, int K, const float* A, Idx sai, Idx sak, const float* B, Idx ldb,
                     float* C, Idx ldc, bool acc) {
  mk_gemm<Avx512>(M, N, K, A, sai, sak, B, ldb, C, ldc, acc);
}

void act_f32_avx512(Act a, Idx rows, int n, float* out, Idx ldo, const float* x, Idx ldx,
                    const float* add, Idx lda) {
  if (a == Act::Tanh) act_rows<Avx512, true>(rows, n, out, ldo, x, ldx, add, lda);
  else act_rows<Avx512, false>(rows, n, out, ldo, x, ldx, add, lda);
}

}  // namespace tg::kernels::cpu::small
