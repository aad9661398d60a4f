# Compiler defects that would otherwise fail a -Werror build; each is detected, not assumed.

# GCC 12.1/12.2 (Debian 12's compiler), GCC bug 105593: the _mm*_undefined_* intrinsics of GCC's
# own <immintrin.h> produce their don't-care value by self-initialisation (`__m256d __Y = __Y;`).
# In C++ -Wall turns on -Winit-self, which takes away the exemption that idiom has from
# -Wuninitialized, and once such an intrinsic is inlined (Eigen's AVX-512 reductions use
# _mm512_extractf64x4_pd, for instance) GCC reports "'__Y' may be used uninitialized" inside
# avx512fintrin.h / avxintrin.h, although the value is never read (the builtins' mask is all ones).
# -isystem does not hide it: the warning is issued after inlining. GCC 13 fixed its headers by
# turning -Winit-self off around those lines; on a compiler that still has the defect the project
# does the same with -Wno-init-self. That only exempts `x = x` self-initialisation: every other
# read of an uninitialised variable, in intrinsics or not, is still an error.
include(CheckCXXCompilerFlag)
include(CheckCXXSourceCompiles)
set(TG_WARNING_WORKAROUNDS "")
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  check_cxx_compiler_flag(-march=x86-64-v4 TG_HAS_MARCH_X86_64_V4_PROBE)
  if(TG_HAS_MARCH_X86_64_V4_PROBE)
    set(CMAKE_REQUIRED_FLAGS "-O2 -Wall -Werror -march=x86-64-v4")
    check_cxx_source_compiles([[
#include <immintrin.h>
double f(__m512d x) {
  const __m256d h = _mm256_add_pd(_mm512_extractf64x4_pd(x, 0), _mm512_extractf64x4_pd(x, 1));
  return _mm256_cvtsd_f64(h);
}
int main() { return 0; }
]] TG_GCC_UNDEFINED_INTRINSICS_CLEAN)
    unset(CMAKE_REQUIRED_FLAGS)
    if(NOT TG_GCC_UNDEFINED_INTRINSICS_CLEAN)
      list(APPEND TG_WARNING_WORKAROUNDS -Wno-init-self)
      message(STATUS "TimeGAN engine: GCC warns inside its own _mm*_undefined_* intrinsics (GCC bug 105593): -Wno-init-self")
    endif()
  endif()
endif()
