// The register-blocked small-GEMM micro-kernel of the CPU recurrent stacks (interface:
// gemm_cpu.h), written once over a vector type V. Each translation unit that compiles it for one
// instruction set (gemm_avx2.cpp, gemm_avx512.cpp) includes this file inside an anonymous
// namespace, so every copy has internal linkage and the linker cannot hand one instruction set's
// copy to another's caller. It includes nothing and uses no inline function from elsewhere.
//
// V provides: `reg` (a vector of V::W floats), `mask` (which lanes of a partial vector are
// live), the rows per register block for blocks one, two and three vectors wide (`MR1`, `MR2`,
// `MR3`: each about as many accumulators as the register file holds beside B and a broadcast),
// and
//   zero(), load(p), store(p, x), bcast(p) (one float to every lane),
//   tail(n) (the first n < W lanes), load(p, m) (masked-off lanes read as zero and are not
//   touched in memory), store(p, m, x) (only the live lanes are written),
//   fma(a, b, c) = a * b + c with a single rounding,
//   keep(x): an empty asm statement that makes the compiler hold x in a register (without it,
//   GCC folds the loads of B into every FMA as a memory operand when registers are tight, and
//   a 4 x 24 AVX2 block then issues 16 loads per 12 FMAs and runs a third slower).
//
// The kernel: an MR x NV*W block of C (its last vector possibly masked) held in registers while
// k runs over K, reading B in place (no packing, no zeroing pass: at these sizes, K = 24..96 and
// N = 24..96, packing and zeroing cost about as much as the arithmetic).
//
// The columns are cut into panels so that every block keeps about as many accumulators as the
// register file allows: a 12-accumulator AVX2 block hides the FMA latency (4 cycles, 2 per
// cycle), a 6-accumulator one does not. Blocks of 2 vectors (MR2 rows) cover the columns in
// multiples of 2W; the remaining r < 2W columns go, when 0 < r <= W and there are 2W columns
// before them, into a last panel of 3 vectors (MR3 rows) with the last 2W columns, else into a
// block of 2 vectors (r > W) or of 1 vector (N <= W, MR1 rows), the last vector masked.
// For AVX2 and H = 24 that turns the 6 x 16 + 6 x 8 pair of a 24-column product into one
// 4 x 24 block of 12 accumulators.
//
// Every element of C is the same chain whatever V is and whatever block holds it: its initial
// value (0 or C), then one fused multiply-add per k in increasing k (K walked in the same
// chunks). The kernels therefore give bit-identical results (tests/test_rnn_kernels.cpp checks
// it), and a build's results do not depend on which of them the host's CPUID selects.

// NV vectors of columns; with kMask the last one has only `nlast` live lanes.
template <class V, int MR, int NV, bool kMask>
inline void mk_block(int K, const float* A, Idx sai, Idx sak, const float* B, Idx ldb, float* C,
                     Idx ldc, bool acc, int nlast) {
  using R = typename V::reg;
  typename V::mask m{};
  if constexpr (kMask) m = V::tail(nlast);
  R c[MR][NV];
  _Pragma("GCC unroll 24") for (int r = 0; r < MR; ++r)
    _Pragma("GCC unroll 3") for (int v = 0; v < NV; ++v) {
      if (!acc) c[r][v] = V::zero();
      else if (kMask && v == NV - 1) c[r][v] = V::load(C + r * ldc + V::W * v, m);
      else c[r][v] = V::load(C + r * ldc + V::W * v);
    }
  for (int k = 0; k < K; ++k) {
    const float* bk = B + k * ldb;
    R b[NV];
    _Pragma("GCC unroll 3") for (int v = 0; v < NV; ++v) {
      if (kMask && v == NV - 1) b[v] = V::load(bk + V::W * v, m);
      else b[v] = V::load(bk + V::W * v);
      V::keep(b[v]);
    }
    const float* ak = A + k * sak;
    _Pragma("GCC unroll 24") for (int r = 0; r < MR; ++r) {
      const R a = V::bcast(ak + r * sai);
      _Pragma("GCC unroll 3") for (int v = 0; v < NV; ++v) c[r][v] = V::fma(a, b[v], c[r][v]);
    }
  }
  _Pragma("GCC unroll 24") for (int r = 0; r < MR; ++r)
    _Pragma("GCC unroll 3") for (int v = 0; v < NV; ++v) {
      if (kMask && v == NV - 1) V::store(C + r * ldc + V::W * v, m, c[r][v]);
      else V::store(C + r * ldc + V::W * v, c[r][v]);
    }
}

// `nblk` blocks of NV vectors side by side (the last vector of the last block masked to `nlast`
// lanes when kMask) over RM rows.
template <class V, int RM, int NV, bool kMask>
inline void mk_band(int nblk, int K, const float* A, Idx sai, Idx sak, const float* B, Idx ldb,
                    float* C, Idx ldc, bool acc, int nlast) {
  constexpr int BW = NV * V::W;
  for (int j = 0; j + 1 < nblk; ++j)
    mk_block<V, RM, NV, false>(K, A, sai, sak, B + j * BW, ldb, C + j * BW, ldc, acc, V::W);
  const int j = nblk - 1;
  mk_block<V, RM, NV, kMask>(K, A, sai, sak, B + j * BW, ldb, C + j * BW, ldc, acc, nlast);
}

// The last rows < MR of a panel: one block height per count, chosen at compile time.
template <class V, int RM, int NV, bool kMask>
inline void mk_row_tail(int rows, int nblk, int K, const float* A, Idx sai, Idx sak,
                        const float* B, Idx ldb, float* C, Idx ldc, bool acc, int nlast) {
  if constexpr (RM >= 1) {
    if (rows == RM) mk_band<V, RM, NV, kMask>(nblk, K, A, sai, sak, B, ldb, C, ldc, acc, nlast);
    else mk_row_tail<V, RM - 1, NV, kMask>(rows, nblk, K, A, sai, sak, B, ldb, C, ldc, acc, nlast);
  }
}

// A panel of columns: all M rows, in bands of MR rows, of `nblk` blocks of NV vectors. A short
// row tail (fewer than MR / 2 rows, whose few accumulators cannot hide the FMA latency) is
// merged with the last full band and the two are cut in halves: 128 rows in bands of 6 end
// with 4 + 4 rows, not 6 + 2.
template <class V, int MR, int NV, bool kMask>
void mk_panel(int M, int nblk, int K, const float* A, Idx sai, Idx sak, const float* B, Idx ldb,
              float* C, Idx ldc, bool acc, int nlast) {
  int full = M / MR, rest = M % MR;
  if (rest > 0 && 2 * rest < MR && full > 0) {
    --full;
    rest += MR;
  }
  int i = 0;
  for (; i < full * MR; i += MR)
    mk_band<V, MR, NV, kMask>(nblk, K, A + i * sai, sai, sak, B, ldb, C + i * ldc, ldc, acc, nlast);
  while (rest > 0) {
    const int rows = rest > MR ? (rest + 1) / 2 : rest;
    if (rows == MR)
      mk_band<V, MR, NV, kMask>(nblk, K, A + i * sai, sai, sak, B, ldb, C + i * ldc, ldc, acc, nlast);
    else
      mk_row_tail<V, MR - 1, NV, kMask>(rows, nblk, K, A + i * sai, sai, sak, B, ldb, C + i * ldc,
                                        ldc, acc, nlast);
    i += rows;
    rest -= rows;
  }
}

// C[M,N] (= or +=) A[M,K] * B[K,N] (gemm_cpu.h's addressing); M, N, K >= 1.
template <class V>
void mk_gemm(int M, int N, int K, const float* A, Idx sai, Idx sak, const float* B, Idx ldb,
             float* C, Idx ldc, bool acc) {
  // Long K (weight gradients over all T*nb rows): walk K in chunks so that the chunk of A and
  // B stays in L1/L2 while every block of the small C is updated.
  constexpr int kKc = 64;
  if (K > kKc) {
    for (int k0 = 0; k0 < K; k0 += kKc)
      mk_gemm<V>(M, N, K - k0 < kKc ? K - k0 : kKc, A + k0 * sak, sai, sak, B + k0 * ldb, ldb, C,
                 ldc, acc || k0 > 0);
    return;
  }
  constexpr int W = V::W;
  if (N <= W) {
    if (N == W) mk_panel<V, V::MR1, 1, false>(M, 1, K, A, sai, sak, B, ldb, C, ldc, acc, W);
    else mk_panel<V, V::MR1, 1, true>(M, 1, K, A, sai, sak, B, ldb, C, ldc, acc, N);
    return;
  }
  const int r = N % (2 * W);
  int full = (N - r) / (2 * W);  // blocks of 2 vectors
  if (r > 0 && r <= W && full > 0) --full;  // the last of them joins the 3-vector panel
  if (full > 0) mk_panel<V, V::MR2, 2, false>(M, full, K, A, sai, sak, B, ldb, C, ldc, acc, W);
  const int j = full * 2 * W;
  if (r == 0) return;
  const float* Bj = B + j;
  float* Cj = C + j;
  if (r > W) mk_panel<V, V::MR2, 2, true>(M, 1, K, A, sai, sak, Bj, ldb, Cj, ldc, acc, r - W);
  else if (r == W) mk_panel<V, V::MR3, 3, false>(M, 1, K, A, sai, sak, Bj, ldb, Cj, ldc, acc, W);
  else mk_panel<V, V::MR3, 3, true>(M, 1, K, A, sai, sak, Bj, ldb, Cj, ldc, acc, r);
}
