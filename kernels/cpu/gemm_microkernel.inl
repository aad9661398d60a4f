// The register-blocked small-GEMM micro-kernel of the CPU recurrent stacks (interface:
// gemm_cpu.h), written once over a vector type V. Each translation unit that compiles it for one
// instruction set (gemm_avx2.cpp, gemm_avx512.cpp) includes this file inside an anonymous
// namespace, so every copy has internal linkage and the linker cannot hand one instruction set's
// copy to another's caller. It includes nothing and uses no inline function from elsewhere.
//
// V provides: `reg` (a vector of V::W floats), `mask` (which lanes of a partial vector are
// live), `MR` (rows per register block), and
//   zero(), load(p), store(p, x), bcast(p) (one float to every lane),
//   tail(n) (the first n < W lanes), load(p, m) (masked-off lanes read as zero and are not
//   touched in memory), store(p, m, x) (only the live lanes are written),
//   fma(a, b, c) = a * b + c with a single rounding.
//
// The kernel: an MR x 2W (or x W, or masked x n < W) block of C held in registers while k runs
// over K, reading B in place (no packing, no zeroing pass: at these sizes, K = 24..96 and
// N = 24..96, packing and zeroing cost about as much as the arithmetic).
//
// Every element of C is the same chain whatever V is: its initial value (0 or C), then one fused
// multiply-add per k in increasing k (K walked in the same chunks). The kernels therefore give
// bit-identical results (tests/test_rnn_kernels.cpp checks it), and a build's results do not
// depend on which of them the host's CPUID selects.

// n: the live columns of a masked block (NV == 0); 2W or W otherwise.
template <class V, int MR, int NV>
inline void mk_block(int K, const float* A, Idx sai, Idx sak, const float* B, Idx ldb, float* C,
                     Idx ldc, bool acc, int n) {
  using R = typename V::reg;
  constexpr int NR = NV == 0 ? 1 : NV;
  typename V::mask m{};
  if constexpr (NV == 0) m = V::tail(n);
  R c[MR][NR];
  _Pragma("GCC unroll 16") for (int r = 0; r < MR; ++r)
    _Pragma("GCC unroll 2") for (int v = 0; v < NR; ++v) {
      if (!acc) c[r][v] = V::zero();
      else if constexpr (NV == 0) c[r][v] = V::load(C + r * ldc, m);
      else c[r][v] = V::load(C + r * ldc + V::W * v);
    }
  for (int k = 0; k < K; ++k) {
    const float* bk = B + k * ldb;
    R b[NR];
    _Pragma("GCC unroll 2") for (int v = 0; v < NR; ++v) {
      if constexpr (NV == 0) b[v] = V::load(bk, m);
      else b[v] = V::load(bk + V::W * v);
    }
    const float* ak = A + k * sak;
    _Pragma("GCC unroll 16") for (int r = 0; r < MR; ++r) {
      const R a = V::bcast(ak + r * sai);
      _Pragma("GCC unroll 2") for (int v = 0; v < NR; ++v) c[r][v] = V::fma(a, b[v], c[r][v]);
    }
  }
  _Pragma("GCC unroll 16") for (int r = 0; r < MR; ++r)
    _Pragma("GCC unroll 2") for (int v = 0; v < NR; ++v) {
      if constexpr (NV == 0) V::store(C + r * ldc, m, c[r][v]);
      else V::store(C + r * ldc + V::W * v, c[r][v]);
    }
}

// RM rows of C (RM <= V::MR), all N columns: blocks of 2W, then one of W, then a masked tail.
template <class V, int RM>
inline void mk_rows(int N, int K, const float* A, Idx sai, Idx sak, const float* B, Idx ldb,
                    float* C, Idx ldc, bool acc) {
  constexpr int W = V::W;
  int j = 0;
  for (; j + 2 * W <= N; j += 2 * W) mk_block<V, RM, 2>(K, A, sai, sak, B + j, ldb, C + j, ldc, acc, 2 * W);
  if (j + W <= N) {
    mk_block<V, RM, 1>(K, A, sai, sak, B + j, ldb, C + j, ldc, acc, W);
    j += W;
  }
  if (j < N) mk_block<V, RM, 0>(K, A, sai, sak, B + j, ldb, C + j, ldc, acc, N - j);
}

// The last rows < MR rows of C: one block height per count, chosen at compile time.
template <class V, int RM>
inline void mk_row_tail(int rows, int N, int K, const float* A, Idx sai, Idx sak, const float* B,
                        Idx ldb, float* C, Idx ldc, bool acc) {
  if constexpr (RM >= 1) {
    if (rows == RM) mk_rows<V, RM>(N, K, A, sai, sak, B, ldb, C, ldc, acc);
    else mk_row_tail<V, RM - 1>(rows, N, K, A, sai, sak, B, ldb, C, ldc, acc);
  }
}

// C[M,N] (= or +=) A[M,K] * B[K,N] (gemm_cpu.h's addressing); M, N, K >= 1.
template <class V>
void mk_gemm(int M, int N, int K, const float* A, Idx sai, Idx sak, const float* B, Idx ldb,
             float* C, Idx ldc, bool acc) {
  // Long K (weight gradients over all T*nb rows): walk K in chunks so that the chunk of A and
  // B stays in L1/L2 while every (row, column) block of the small C is updated.
  constexpr int kKc = 192;
  if (K > kKc) {
    for (int k0 = 0; k0 < K; k0 += kKc)
      mk_gemm<V>(M, N, K - k0 < kKc ? K - k0 : kKc, A + k0 * sak, sai, sak, B + k0 * ldb, ldb, C,
                 ldc, acc || k0 > 0);
    return;
  }
  int i = 0;
  for (; i + V::MR <= M; i += V::MR)
    mk_rows<V, V::MR>(N, K, A + i * sai, sai, sak, B, ldb, C + i * ldc, ldc, acc);
  if (i < M) mk_row_tail<V, V::MR - 1>(M - i, N, K, A + i * sai, sai, sak, B, ldb, C + i * ldc, ldc, acc);
}
