// Seeded, counter-based random numbers (Philox4x32-10, Salmon et al. SC'11).
//
// A value is a pure function of (seed, stream, counter): the CUDA backend computes the same
// numbers in parallel, and a stream's position is one 64-bit counter, so checkpoints can save
// and restore it exactly. Streams are named by a 64-bit id (e.g. one for initialisation,
// one for batch sampling, one for noise).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

// The functions below marked TG_RANDOM_HD are the one definition of the generator for the host
// and, compiled by nvcc, for the CUDA kernels (kernels/cuda/cuda_backend.cu).
#ifdef __CUDACC__
#define TG_RANDOM_HD __host__ __device__ __forceinline__
#else
#define TG_RANDOM_HD inline
#endif
#ifdef __CUDA_ARCH__  // the device pass only: host compilers warn about the pragma
#define TG_RANDOM_UNROLL _Pragma("unroll")
#else
#define TG_RANDOM_UNROLL
#endif

namespace tg {

/// The ten Philox4x32-10 rounds, in place on the counter words c[0..3] with the key k0, k1.
TG_RANDOM_HD void philox4x32_rounds(uint32_t* c, uint32_t k0, uint32_t k1) {
  constexpr uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u, W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  TG_RANDOM_UNROLL
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = static_cast<uint64_t>(M0) * c[0];
    const uint64_t p1 = static_cast<uint64_t>(M1) * c[2];
    const uint32_t x = static_cast<uint32_t>(p1 >> 32) ^ c[1] ^ k0, z = static_cast<uint32_t>(p0 >> 32) ^ c[3] ^ k1;
    c[0] = x;
    c[1] = static_cast<uint32_t>(p1);
    c[2] = z;
    c[3] = static_cast<uint32_t>(p0);
    k0 += W0;
    k1 += W1;
  }
}

/// One Philox4x32-10 block: 4 x 32 random bits for a 128-bit counter and 64-bit key.
inline std::array<uint32_t, 4> philox4x32(std::array<uint32_t, 4> ctr, std::array<uint32_t, 2> key) {
  philox4x32_rounds(ctr.data(), key[0], key[1]);
  return ctr;
}

/// Uniform float in [0, 1) from 32 random bits (24-bit mantissa, exact in float).
TG_RANDOM_HD float u32_to_unit_float(uint32_t x) { return static_cast<float>(x >> 8) * (1.0f / 16777216.0f); }
/// Uniform double in [0, 1) from 64 random bits (53-bit mantissa).
inline double u64_to_unit_double(uint64_t x) {
  return static_cast<double>(x >> 11) * (1.0 / 9007199254740992.0);
}

/// A random stream: (seed, stream id) is the key; `counter` counts 128-bit blocks used.
/// Element i of a "fill" draws lane i%4 of block (counter + i/4), so a bulk fill of n values
/// advances the counter by ceil(n/4) and equals what the CUDA backend computes in parallel.
class Rng {
 public:
  Rng() = default;
  Rng(uint64_t seed, uint64_t stream) : seed_(seed), stream_(stream) {}

  uint64_t seed() const { return seed_; }
  uint64_t stream() const { return stream_; }
  uint64_t counter() const { return counter_; }
  void set_counter(uint64_t c) { counter_ = c; }

  /// Block at an absolute counter position (no state change).
  std::array<uint32_t, 4> block(uint64_t ctr) const {
    return philox4x32({static_cast<uint32_t>(ctr), static_cast<uint32_t>(ctr >> 32),
                       static_cast<uint32_t>(stream_), static_cast<uint32_t>(stream_ >> 32)},
                      {static_cast<uint32_t>(seed_), static_cast<uint32_t>(seed_ >> 32)});
  }

  /// Fill n floats uniform in [lo, hi): element i uses lane i%4 of block counter+i/4.
  void fill_uniform(float* out, int64_t n, float lo = 0.f, float hi = 1.f);
  void fill_uniform(double* out, int64_t n, double lo = 0.0, double hi = 1.0);

  /// One 64-bit value (consumes one block).
  uint64_t next_u64() {
    auto b = block(counter_++);
    return (static_cast<uint64_t>(b[0]) << 32) | b[1];
  }
  /// Uniform double in [0,1) (consumes one block).
  double next_double() { return u64_to_unit_double(next_u64()); }
  /// Uniform integer in [0, n) without modulo bias (Lemire's method on 64-bit draws).
  uint64_t next_below(uint64_t n);

  /// k distinct indices from [0, n) in random order: the first k of a uniformly random
  /// permutation (partial Fisher-Yates), as np.random.permutation(n)[:k] does in law.
  std::vector<int64_t> sample_without_replacement(int64_t n, int64_t k);
  /// A uniformly random permutation of [0, n).
  std::vector<int64_t> permutation(int64_t n) { return sample_without_replacement(n, n); }

 private:
  uint64_t seed_ = 0, stream_ = 0, counter_ = 0;
};

}  // namespace tg
