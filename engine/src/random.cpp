#include "tg/random.h"

#include <stdexcept>

namespace tg {

namespace {
template <typename T, typename Conv>
void fill_impl(const Rng& rng, uint64_t& counter, T* out, int64_t n, T lo, T hi, Conv conv) {
  const T span = hi - lo;
  int64_t i = 0;
  for (; i < n; i += 4) {
    const auto b = rng.block(counter + static_cast<uint64_t>(i / 4));
    for (int lane = 0; lane < 4 && i + lane < n; ++lane) out[i + lane] = lo + span * conv(b[lane]);
  }
  counter += static_cast<uint64_t>((n + 3) / 4);
}
}  // namespace

void Rng::fill_uniform(float* out, int64_t n, float lo, float hi) {
  fill_impl<float>(*this, counter_, out, n, lo, hi, [](uint32_t x) { return u32_to_unit_float(x); });
}

// Doubles use the same per-element 32-bit lanes as floats (so a float64 gradient-check run
// and a float32 run draw the same numbers up to rounding).
void Rng::fill_uniform(double* out, int64_t n, double lo, double hi) {
  fill_impl<double>(*this, counter_, out, n, lo, hi,
                    [](uint32_t x) { return static_cast<double>(u32_to_unit_float(x)); });
}

uint64_t Rng::next_below(uint64_t n) {
  if (n == 0) throw std::invalid_argument("Rng::next_below: n must be positive");
  // Lemire: multiply-shift with rejection of the biased low range.
  const uint64_t threshold = (0 - n) % n;
  for (;;) {
    const uint64_t x = next_u64();
    __extension__ using u128 = unsigned __int128;
    const u128 m = static_cast<u128>(x) * n;
    if (static_cast<uint64_t>(m) >= threshold) return static_cast<uint64_t>(m >> 64);
  }
}

std::vector<int64_t> Rng::sample_without_replacement(int64_t n, int64_t k) {
  if (n < 0 || k < 0 || k > n)
    throw std::invalid_argument("Rng::sample_without_replacement: need 0 <= k <= n");
  std::vector<int64_t> idx(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) idx[static_cast<size_t>(i)] = i;
  for (int64_t i = 0; i < k; ++i) {
    const int64_t j = i + static_cast<int64_t>(next_below(static_cast<uint64_t>(n - i)));
    std::swap(idx[static_cast<size_t>(i)], idx[static_cast<size_t>(j)]);
  }
  idx.resize(static_cast<size_t>(k));
  return idx;
}

}  // namespace tg
