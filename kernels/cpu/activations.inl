// The float sigmoid and tanh of the CPU recurrent stacks' gate math (interface: gemm_cpu.h,
// small::act), written once over a vector type V. Like gemm_microkernel.inl, each translation
// unit that compiles it for one instruction set (gemm_avx2.cpp, gemm_avx512.cpp) includes it
// inside an anonymous namespace, so no instruction set's copy can reach another's caller, and it
// uses nothing from outside.
//
// The functions are Eigen 3.4's float logistic and tanh, operation for operation (the rational
// approximations with FMA, and for the logistic below -9 the Cephes-style exp with Eigen's
// four-factor ldexp), so every lane gets the bits Eigen's AVX2 packet functions give it
// (tests/test_rnn_kernels.cpp checks about a million points of [-30, 30] and the edges). Owning
// them lets a build for any x86-64 run the gate math at the host's vector width, picked at run
// time with the GEMM micro-kernels, and keeps results independent of the installed Eigen.
// Accuracy against the exact functions, over 2^21 + 1 points of [-30, 30]: tanh within 2.7e-7
// (5 units in the last place); the sigmoid within 1.6e-7 absolute, but as 0.5 + p/q it loses
// relative accuracy where it is small, up to 8e-4 relative just above its exp branch at -9.
//
// Beyond what gemm_microkernel.inl asks of V:
//   set1(x), add, mul, div (IEEE, correctly rounded), min(a, b) / max(a, b) (b's lanes unless a
//   is a number beyond them: min(a, b) = a < b ? a : b as x86's minps(b, a), Eigen's operand
//   order), abs, floor,
//   `cmp`: a lane mask from lt(a, b); any(c): some lane set; select(c, a, b): a where c, else b,
//   `ireg` (32-bit integer lanes): trunc(a) (float -> int toward zero), sra2(i) (arithmetic
//   shift right by 2), isub(i, j), pow2(i) (the float 2^i for -126 <= i <= 127).

// Eigen's pldexp_generic for floats: a * 2^e for an integral e, in four factors so that no
// intermediate overflows.
template <class V>
inline typename V::reg act_ldexp(typename V::reg a, typename V::reg e) {
  using ireg = typename V::ireg;
  const ireg ei = V::trunc(V::min(V::max(e, V::set1(-278.f)), V::set1(278.f)));
  ireg b = V::sra2(ei);  // floor(e / 4)
  typename V::reg c = V::pow2(b);
  typename V::reg out = V::mul(V::mul(V::mul(a, c), c), c);
  b = V::isub(V::isub(V::isub(ei, b), b), b);  // e - 3 floor(e / 4)
  return V::mul(out, V::pow2(b));
}

// Eigen's pexp_float.
template <class V>
inline typename V::reg act_exp(typename V::reg x0) {
  using reg = typename V::reg;
  const reg x = V::max(V::min(x0, V::set1(88.723f)), V::set1(-88.723f));
  const reg m = V::floor(V::fma(x, V::set1(1.44269504088896341f), V::set1(0.5f)));
  reg r = V::fma(m, V::set1(-0.693359375f), x);
  r = V::fma(m, V::set1(2.12194440e-4f), r);
  const reg r2 = V::mul(r, r);
  const reg r3 = V::mul(r2, r);
  reg y = V::fma(V::set1(1.9875691500E-4f), r, V::set1(1.3981999507E-3f));
  reg y1 = V::fma(V::set1(4.1665795894E-2f), r, V::set1(1.6666665459E-1f));
  const reg y2 = V::add(r, V::set1(1.0f));
  y = V::fma(y, r, V::set1(8.3334519073E-3f));
  y1 = V::fma(y1, r, V::set1(5.0000001201E-1f));
  y = V::fma(y, r3, y1);
  y = V::fma(y, r2, y2);
  return V::max(act_ldexp<V>(y, m), x0);
}

// Eigen's scalar_logistic_op<float>::packetOp (with FMA).
template <class V>
inline typename V::reg act_sigmoid(typename V::reg x0) {
  using reg = typename V::reg;
  const typename V::cmp small = V::lt(x0, V::set1(-9.f));
  const bool any_small = V::any(small);
  const reg x = V::min(x0, V::set1(15.7243833541870117f));
  const reg x2 = V::mul(x, x);
  reg p = V::fma(x2, V::set1(4.37031012579801e-11f), V::set1(1.15627324459942e-07f));
  p = V::fma(x2, p, V::set1(6.08574864600143e-05f));
  p = V::fma(x2, p, V::set1(8.51377133304701e-03f));
  p = V::fma(x2, p, V::set1(2.48287947061529e-01f));
  p = V::mul(x, p);
  reg q = V::fma(x2, V::set1(6.10247389755681e-13f), V::set1(5.76102136993427e-09f));
  q = V::fma(x2, q, V::set1(6.29106785017040e-06f));
  q = V::fma(x2, q, V::set1(1.70198817374094e-03f));
  q = V::fma(x2, q, V::set1(1.16817656904453e-01f));
  q = V::fma(x2, q, V::set1(9.93151921023180e-01f));
  const reg logistic = V::add(V::div(p, q), V::set1(0.5f));
  if (__builtin_expect(any_small, 0)) return V::select(small, act_exp<V>(x0), logistic);
  return logistic;
}

// Eigen's generic_fast_tanh_float (with FMA).
template <class V>
inline typename V::reg act_tanh(typename V::reg x0) {
  using reg = typename V::reg;
  const reg x = V::max(V::min(x0, V::set1(7.99881172180175781f)), V::set1(-7.99881172180175781f));
  const typename V::cmp tiny = V::lt(V::abs(x0), V::set1(0.0004f));
  const reg x2 = V::mul(x, x);
  reg p = V::fma(x2, V::set1(-2.76076847742355e-16f), V::set1(2.00018790482477e-13f));
  p = V::fma(x2, p, V::set1(-8.60467152213735e-11f));
  p = V::fma(x2, p, V::set1(5.12229709037114e-08f));
  p = V::fma(x2, p, V::set1(1.48572235717979e-05f));
  p = V::fma(x2, p, V::set1(6.37261928875436e-04f));
  p = V::fma(x2, p, V::set1(4.89352455891786e-03f));
  p = V::mul(x, p);
  reg q = V::fma(x2, V::set1(1.19825839466702e-06f), V::set1(1.18534705686654e-04f));
  q = V::fma(x2, q, V::set1(2.26843463243900e-03f));
  q = V::fma(x2, q, V::set1(4.89352518554385e-03f));
  return V::select(tiny, x, V::div(p, q));
}

template <class V, bool kTanh>
inline typename V::reg act_one(typename V::reg x) {
  return kTanh ? act_tanh<V>(x) : act_sigmoid<V>(x);
}

// rows x n values: out = act(x + add), or act(x) when add is null (row strides ldo, ldx, lda; x
// may be out). Full vectors, then one masked vector per row for the last n % W values.
template <class V, bool kTanh>
inline void act_rows(Idx rows, int n, float* out, Idx ldo, const float* x, Idx ldx, const float* add,
                     Idx lda) {
  const int nfull = n - n % V::W;
  const typename V::mask m = V::tail(n - nfull);
  for (Idx r = 0; r < rows; ++r, out += ldo, x += ldx) {
    const float* a = add ? add + r * lda : nullptr;
    for (int k = 0; k < nfull; k += V::W) {
      typename V::reg v = V::load(x + k);
      if (a) v = V::add(v, V::load(a + k));
      V::store(out + k, act_one<V, kTanh>(v));
    }
    if (nfull < n) {
      typename V::reg v = V::load(x + nfull, m);
      if (a) v = V::add(v, V::load(a + nfull, m));
      V::store(out + nfull, m, act_one<V, kTanh>(v));
    }
  }
}
