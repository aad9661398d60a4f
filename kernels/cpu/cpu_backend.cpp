// CPU backend: every primitive of backend.h for float32 and float64.
//
// Elementwise kernels are plain loops over contiguous memory that the compiler vectorises
// (-O3 -march=native), except float sigmoid and tanh, which run the recurrent stacks' vector
// activations (gemm_cpu.h: small::act, at the host's width whatever the build targets); GEMMs
// are Eigen products on row-major maps; the fused recurrent ops call rnn_cpu.h. Nothing here
// starts threads except the recurrent kernels (batch split over the pool); at TimeGAN's sizes
// (<= 10^5 elements) threading elementwise ops does not pay.
#include "tg/kernels/cpu_backend.h"
#include "tg/kernels/backend_common.h"
#include "tg/kernels/elementwise.h"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>
#include <stdexcept>
#include <type_traits>

#include "gemm_cpu.h"
#include "tg/kernels/parallel.h"
#include "tg/kernels/rnn_cpu.h"
#include "tg/kernels/rnn_io_tensors.h"

namespace tg::kernels::cpu {
namespace {

template <typename T>
using MatR = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// f(i0, i1, i2) over the first three axes of a rank-4 index space, in row-major order (the
// caller loops over the fourth).
template <typename F>
void for_rows4(const std::array<int64_t, 4>& d, F&& f) {
  for (int64_t i0 = 0; i0 < d[0]; ++i0)
    for (int64_t i1 = 0; i1 < d[1]; ++i1)
      for (int64_t i2 = 0; i2 < d[2]; ++i2) f(i0, i1, i2);
}

// The mean over axis 0 of s [n0, inner] into m [inner]: summed in row order, then scaled.
template <typename T>
void mean_rows(const T* s, int64_t n0, int64_t inner, T* m) {
  std::fill_n(m, inner, T(0));
  for (int64_t b = 0; b < n0; ++b)
    for (int64_t i = 0; i < inner; ++i) m[i] += s[b * inner + i];
  const T inv = T(1) / static_cast<T>(n0);
  for (int64_t i = 0; i < inner; ++i) m[i] *= inv;
}

template <typename T, typename F>
void binary_loop(const Tensor& a, const Tensor& b, Tensor& out, F f) {
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  T* po = out.data<T>();
  const int64_t n = out.numel();
  if (a.shape() == out.shape() && b.shape() == out.shape()) {
    for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i], pb[i]);
    return;
  }
  if (a.shape() == out.shape() && b.numel() == 1) {
    const T s = pb[0];
    for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i], s);
    return;
  }
  if (b.shape() == out.shape() && a.numel() == 1) {
    const T s = pa[0];
    for (int64_t i = 0; i < n; ++i) po[i] = f(s, pb[i]);
    return;
  }
  // Trailing-block broadcast: b's shape equals out's last dims (a row vector / [T,F] block).
  const int64_t bn = b.numel();
  if (a.shape() == out.shape() && bn > 0 && n % bn == 0) {
    bool suffix = b.rank() <= out.rank();
    for (int i = 1; suffix && i <= b.rank(); ++i) suffix = b.shape()[-i] == out.shape()[-i];
    if (suffix) {
      for (int64_t r = 0; r < n / bn; ++r) {
        const T* ar = pa + r * bn;
        T* orow = po + r * bn;
        for (int64_t i = 0; i < bn; ++i) orow[i] = f(ar[i], pb[i]);
      }
      return;
    }
  }
  // General 4-D broadcast.
  const auto d = dims4(out.shape());
  const auto sa = broadcast_strides(a.shape(), out.shape());
  const auto sb = broadcast_strides(b.shape(), out.shape());
  int64_t o = 0;
  for_rows4(d, [&](int64_t i0, int64_t i1, int64_t i2) {
    const int64_t ba = i0 * sa[0] + i1 * sa[1] + i2 * sa[2];
    const int64_t bb = i0 * sb[0] + i1 * sb[1] + i2 * sb[2];
    for (int64_t i3 = 0; i3 < d[3]; ++i3) po[o++] = f(pa[ba + i3 * sa[3]], pb[bb + i3 * sb[3]]);
  });
}

class CpuBackend final : public Backend {
 public:
  Device device() const override { return Device::CPU; }
  std::string name() const override { return "cpu"; }
  std::string kernels_used() const override { return gemm_kernel_name(gemm_kernel()); }
  void set_num_threads(int n) override { cpu::set_num_threads(n); }
  int num_threads() const override { return cpu::num_threads(); }

  // A caching allocator: freed blocks are kept in per-size free lists and reused, so a
  // training loop that allocates the same shapes every step stops calling malloc, and large
  // blocks are not mmap'ed, page-faulted and zeroed by the kernel on every step (that cost
  // about a quarter of the CPU time as system time before). Sizes are rounded to 64 bytes
  // up to 4 KiB and to powers of two above; at most kCacheCap bytes are kept.
  static constexpr size_t kCacheCap = size_t(1) << 30;
  static size_t bucket(size_t bytes) {
    if (bytes <= 4096) return (bytes + 63) / 64 * 64;
    size_t r = 8192;
    while (r < bytes) r <<= 1;
    return r;
  }
  void* allocate(size_t bytes) override {
    const size_t r = bucket(bytes);
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = free_.find(r);
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        cached_ -= r;
        return p;
      }
    }
    void* p = std::aligned_alloc(64, r);
    if (!p) throw std::bad_alloc();
    return p;
  }
  void deallocate(void* p, size_t bytes) noexcept override {
    const size_t r = bucket(bytes);
    std::lock_guard<std::mutex> lock(mu_);
    if (cached_ + r > kCacheCap) {
      std::free(p);
      return;
    }
    try {
      free_[r].push_back(p);
      cached_ += r;
    } catch (...) {
      std::free(p);
    }
  }
  // (a tensor of no elements may have no memory: memcpy of null pointers is undefined even for 0 bytes)
  void copy(void* dst, const void* src, size_t bytes) override {
    if (bytes > 0) std::memcpy(dst, src, bytes);
  }
  void to_host(void* dst, const void* src, size_t bytes) override { copy(dst, src, bytes); }
  void from_host(void* dst, const void* src, size_t bytes) override { copy(dst, src, bytes); }

  void fill(Tensor& out, double value) override {
    dispatch(out.dtype(), [&](auto z) {
      using T = decltype(z);
      std::fill_n(out.data<T>(), out.numel(), static_cast<T>(value));
    });
  }

  void cast(const Tensor& x, Tensor& out) override {
    const int64_t n = x.numel();
    if (x.dtype() == out.dtype()) {
      std::memcpy(out.raw(), x.raw(), x.nbytes());
    } else if (x.dtype() == DType::F32) {
      const float* s = x.data<float>();
      double* d = out.data<double>();
      for (int64_t i = 0; i < n; ++i) d[i] = s[i];
    } else {
      const double* s = x.data<double>();
      float* d = out.data<float>();
      for (int64_t i = 0; i < n; ++i) d[i] = static_cast<float>(s[i]);
    }
  }

  void unary(UnaryOp op, const Tensor& x, Tensor& out) override {
    dispatch(x.dtype(), [&](auto z) {
      using T = decltype(z);
      const T* s = x.data<T>();
      T* d = out.data<T>();
      const int64_t n = x.numel();
      if constexpr (std::is_same_v<T, float>)
        if (op == UnaryOp::Sigmoid || op == UnaryOp::Tanh) {
          // In rows of up to 2^16 values (the activation's row length is an int).
          const auto a = op == UnaryOp::Tanh ? small::Act::Tanh : small::Act::Sigmoid;
          constexpr int64_t kRow = int64_t{1} << 16;
          const int64_t full = n / kRow * kRow;
          small::act(a, n / kRow, static_cast<int>(kRow), d, kRow, s, kRow, nullptr, 0);
          if (full < n) small::act(a, 1, static_cast<int>(n - full), d + full, 0, s + full, 0, nullptr, 0);
          return;
        }
      ew::with_unary(op, [&](auto u) {
        using U = decltype(u);
        for (int64_t i = 0; i < n; ++i) d[i] = U::f(s[i]);
      });
    });
  }

  void unary_backward(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& gy, Tensor& gx,
                      bool acc) override {
    dispatch(x.dtype(), [&](auto z) {
      using T = decltype(z);
      const T* xs = x.data<T>();
      const T* ys = y.data<T>();
      const T* g = gy.data<T>();
      T* d = gx.data<T>();
      const int64_t n = x.numel();
      ew::with_unary(op, [&](auto u) {
        using U = decltype(u);
        if (acc)
          for (int64_t i = 0; i < n; ++i) d[i] += g[i] * U::d(xs[i], ys[i]);
        else
          for (int64_t i = 0; i < n; ++i) d[i] = g[i] * U::d(xs[i], ys[i]);
      });
    });
  }

  void binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) override {
    dispatch(a.dtype(), [&](auto z) {
      using T = decltype(z);
      ew::with_binary(op, [&](auto o) {
        using O = decltype(o);
        binary_loop<T>(a, b, out, [](T p, T q) { return O::f(p, q); });
      });
    });
  }

  void axpby(double alpha, const Tensor& x, double beta, Tensor& out) override {
    dispatch(x.dtype(), [&](auto z) {
      using T = decltype(z);
      const T* s = x.data<T>();
      T* d = out.data<T>();
      const T al = static_cast<T>(alpha), be = static_cast<T>(beta);
      const int64_t n = x.numel();
      if (beta == 0.0)
        for (int64_t i = 0; i < n; ++i) d[i] = al * s[i];
      else if (alpha == 1.0 && beta == 1.0)
        for (int64_t i = 0; i < n; ++i) d[i] += s[i];
      else
        for (int64_t i = 0; i < n; ++i) d[i] = al * s[i] + be * d[i];
    });
  }

  void sum_to(const Tensor& x, Tensor& out, bool acc) override {
    dispatch(x.dtype(), [&](auto z) {
      using T = decltype(z);
      const T* s = x.data<T>();
      T* d = out.data<T>();
      if (!acc) std::fill_n(d, out.numel(), T(0));
      const int64_t n = x.numel(), on = out.numel();
      if (on == n) {
        for (int64_t i = 0; i < n; ++i) d[i] += s[i];
        return;
      }
      if (on == 1) {
        T sum = 0;
        for (int64_t i = 0; i < n; ++i) sum += s[i];
        d[0] += sum;
        return;
      }
      bool suffix = out.rank() <= x.rank();
      for (int i = 1; suffix && i <= out.rank(); ++i) suffix = out.shape()[-i] == x.shape()[-i];
      if (suffix) {
        for (int64_t r = 0; r < n / on; ++r) {
          const T* row = s + r * on;
          for (int64_t i = 0; i < on; ++i) d[i] += row[i];
        }
        return;
      }
      const auto dd = dims4(x.shape());
      const auto so = broadcast_strides(out.shape(), x.shape());
      int64_t o = 0;
      for_rows4(dd, [&](int64_t i0, int64_t i1, int64_t i2) {
        const int64_t base = i0 * so[0] + i1 * so[1] + i2 * so[2];
        for (int64_t i3 = 0; i3 < dd[3]; ++i3) d[base + i3 * so[3]] += s[o++];
      });
    });
  }

  void mean_axis0(const Tensor& x, Tensor& out) override {
    dispatch(x.dtype(), [&](auto z) {
      using T = decltype(z);
      const int64_t n0 = x.dim(0), inner = x.numel() / std::max<int64_t>(n0, 1);
      const T* s = x.data<T>();
      T* d = out.data<T>();
      mean_rows(s, n0, inner, d);
    });
  }

  void var_axis0(const Tensor& x, Tensor& out) override {
    dispatch(x.dtype(), [&](auto z) {
      using T = decltype(z);
      const int64_t n0 = x.dim(0), inner = x.numel() / std::max<int64_t>(n0, 1);
      const T* s = x.data<T>();
      T* d = out.data<T>();
      std::vector<T> mean(static_cast<size_t>(inner));
      mean_rows(s, n0, inner, mean.data());
      const T inv = T(1) / static_cast<T>(n0);
      std::fill_n(d, inner, T(0));
      for (int64_t b = 0; b < n0; ++b)
        for (int64_t i = 0; i < inner; ++i) {
          const T c = s[b * inner + i] - mean[static_cast<size_t>(i)];
          d[i] += c * c;
        }
      for (int64_t i = 0; i < inner; ++i) d[i] *= inv;
    });
  }

  void var_axis0_backward(const Tensor& x, const Tensor& gy, Tensor& gx, bool acc) override {
    dispatch(x.dtype(), [&](auto z) {
      using T = decltype(z);
      const int64_t n0 = x.dim(0), inner = x.numel() / std::max<int64_t>(n0, 1);
      const T* s = x.data<T>();
      const T* g = gy.data<T>();
      T* d = gx.data<T>();
      std::vector<T> mean(static_cast<size_t>(inner));
      mean_rows(s, n0, inner, mean.data());
      const T inv = T(1) / static_cast<T>(n0);
      for (int64_t b = 0; b < n0; ++b)
        for (int64_t i = 0; i < inner; ++i) {
          const T v = T(2) * inv * (s[b * inner + i] - mean[static_cast<size_t>(i)]) * g[i];
          if (acc)
            d[b * inner + i] += v;
          else
            d[b * inner + i] = v;
        }
    });
  }

  void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const Tensor& a,
            const Tensor& b, double beta, Tensor& c) override {
    dispatch(a.dtype(), [&](auto z) {
      using T = decltype(z);
      using Map = Eigen::Map<MatR<T>>;
      using CMap = Eigen::Map<const MatR<T>>;
      constexpr int64_t kIntMax = std::numeric_limits<int>::max();
      constexpr int64_t kMaxTransposedB = int64_t{1} << 20;  // a weight-sized copy, not a data set
      if (std::is_same_v<T, float> && alpha == 1.0 && (beta == 0.0 || beta == 1.0) && m <= kIntMax &&
          n <= kIntMax && k <= kIntMax && (!tb || n * k <= kMaxTransposedB)) {
        // The dense layers' products (forward X W, backward dY W^T and X^T dY) through the
        // recurrent stacks' micro-kernels: every element of C is one chain of FMAs in k order
        // whatever m is (gemm_microkernel.inl), so a row's result does not depend on how many
        // rows share the call (generation in chunks gives the same sequences as in one call;
        // Eigen's product switches algorithm with the size), and at these shapes they are
        // faster. A transposed B (a weight, n x k) is copied transposed first: the micro-kernels
        // read B row-major.
        const T* bp = b.data<T>();
        if (tb) {
          thread_local std::vector<T> bt;  // grown once: no allocation per training step
          if (bt.size() < static_cast<size_t>(n * k)) bt.resize(static_cast<size_t>(n * k));
          for (int64_t i = 0; i < n; ++i)
            for (int64_t j = 0; j < k; ++j) bt[static_cast<size_t>(j * n + i)] = bp[i * k + j];
          bp = bt.data();
        }
        // A is m x k (row stride k) or, transposed, stored k x m (A(i, p) at i + p * m).
        small::gemm(static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), a.data<T>(), ta ? 1 : k,
                    ta ? m : 1, bp, n, c.data<T>(), n, beta == 1.0);
        return;
      }
      Map C(c.data<T>(), m, n);
      const T al = static_cast<T>(alpha);
      if (beta == 0.0)
        C.setZero();
      else if (beta != 1.0)
        C *= static_cast<T>(beta);
      // A is stored m x k (or k x m when transposed); B is k x n (or n x k).
      if (!ta && !tb)
        C.noalias() += al * CMap(a.data<T>(), m, k) * CMap(b.data<T>(), k, n);
      else if (ta && !tb)
        C.noalias() += al * CMap(a.data<T>(), k, m).transpose() * CMap(b.data<T>(), k, n);
      else if (!ta && tb)
        C.noalias() += al * CMap(a.data<T>(), m, k) * CMap(b.data<T>(), n, k).transpose();
      else
        C.noalias() += al * CMap(a.data<T>(), k, m).transpose() * CMap(b.data<T>(), n, k).transpose();
    });
  }

  void add_row_vector(const Tensor& b, Tensor& out) override {
    dispatch(out.dtype(), [&](auto z) {
      using T = decltype(z);
      const int64_t cols = b.numel(), rows = out.numel() / cols;
      const T* pb = b.data<T>();
      T* po = out.data<T>();
      for (int64_t r = 0; r < rows; ++r) {
        T* row = po + r * cols;
        for (int64_t i = 0; i < cols; ++i) row[i] += pb[i];
      }
    });
  }

  void copy_rows(Tensor& dst, int64_t dst_off, int64_t dst_stride, const Tensor& src,
                 int64_t src_off, int64_t src_stride, int64_t rows, int64_t cols, bool acc) override {
    dispatch(dst.dtype(), [&](auto z) {
      using T = decltype(z);
      T* d = dst.data<T>() + dst_off;
      const T* s = src.data<T>() + src_off;
      for (int64_t r = 0; r < rows; ++r) {
        T* dr = d + r * dst_stride;
        const T* sr = s + r * src_stride;
        if (acc)
          for (int64_t c = 0; c < cols; ++c) dr[c] += sr[c];
        else
          std::memcpy(dr, sr, static_cast<size_t>(cols) * sizeof(T));
      }
    });
  }

  void sigmoid_ce(const Tensor& zt, double label, Tensor& out) override {
    dispatch(zt.dtype(), [&](auto zz) {
      using T = decltype(zz);
      const T* z = zt.data<T>();
      T* d = out.data<T>();
      const T y = static_cast<T>(label);
      for (int64_t i = 0; i < zt.numel(); ++i)
        d[i] = ew::sigmoid_ce(z[i], y);
    });
  }

  void sigmoid_ce_backward(const Tensor& zt, double label, const Tensor& gy, Tensor& gz,
                           bool acc) override {
    dispatch(zt.dtype(), [&](auto zz) {
      using T = decltype(zz);
      const T* z = zt.data<T>();
      const T* g = gy.data<T>();
      T* d = gz.data<T>();
      const T y = static_cast<T>(label);
      for (int64_t i = 0; i < zt.numel(); ++i) {
        const T v = g[i] * ew::sigmoid_ce_grad(z[i], y);
        if (acc)
          d[i] += v;
        else
          d[i] = v;
      }
    });
  }

  // What the forward saves for the backward: the batch slicing and the saved activations.
  struct CpuRnnSaved final : RnnSaved {
    Tensor data;
    int slices = 0;
  };

  bool provides_rnn() const override { return true; }
  std::shared_ptr<RnnSaved> rnn_forward(const RnnSpec& c, const std::vector<Tensor>& w, const Tensor& x,
                                        const int32_t* lengths, const Tensor& h0, const Tensor& c0, Tensor& y,
                                        Tensor& hT, Tensor& cT, bool training) override {
    std::shared_ptr<CpuRnnSaved> saved;
    if (training) {
      saved = std::make_shared<CpuRnnSaved>();
      saved->data = Tensor::empty(Shape{cpu::rnn_reserve_elems(c)}, x.dtype(), Device::CPU);
    }
    dispatch(x.dtype(), [&](auto z) {
      using T = decltype(z);
      RnnTensorIo<T> t("CPU rnn_forward", c, w, x, lengths, h0, c0);
      t.outputs(y, hT, cT);
      if (saved) t.io.reserve = saved->data.data<T>();
      const int slices = cpu::rnn_forward<T>(c, t.io);
      if (saved) saved->slices = slices;
    });
    return saved;
  }

  void rnn_backward(const RnnSpec& c, const std::vector<Tensor>& w, const Tensor& x,
                    const int32_t* lengths, const Tensor& h0, const Tensor& c0,
                    const RnnSaved& saved_any, const Tensor& gy, Tensor& gx,
                    std::vector<Tensor>& gw, Tensor& gh0, Tensor& gc0) override {
    const auto* saved = dynamic_cast<const CpuRnnSaved*>(&saved_any);
    if (saved == nullptr)
      throw std::invalid_argument("CPU rnn_backward: the saved state is not from the CPU backend's rnn_forward");
    if (saved->data.dtype() != x.dtype())
      throw std::invalid_argument("CPU rnn_backward: the saved state has another dtype than x");
    dispatch(x.dtype(), [&](auto z) {
      using T = decltype(z);
      RnnTensorIo<T> t("CPU rnn_backward", c, w, x, lengths, h0, c0);
      t.gradients(gy, gx, gw, gh0, gc0);
      t.io.reserve = saved->data.data<T>();
      t.io.slices = saved->slices;
      cpu::rnn_backward<T>(c, t.io);
    });
  }

  void adam_update(Tensor& p, const Tensor& g, Tensor& m, Tensor& v, const AdamStep& st) override {
    dispatch(p.dtype(), [&](auto z) {
      using T = decltype(z);
      T* pp = p.data<T>();
      const T* gg = g.data<T>();
      T* mm = m.data<T>();
      T* vv = v.data<T>();
      const T b1 = static_cast<T>(st.beta1), b2 = static_cast<T>(st.beta2);
      const T lr = static_cast<T>(st.step_size), eps = static_cast<T>(st.eps_hat);
      for (int64_t i = 0; i < p.numel(); ++i) ew::adam_element(pp[i], gg[i], mm[i], vv[i], b1, b2, lr, eps);
    });
  }

  void fill_uniform(Tensor& out, const Rng& rng, uint64_t counter, double lo, double hi) override {
    Rng r = rng;
    r.set_counter(counter);
    if (out.dtype() == DType::F32)
      r.fill_uniform(out.data<float>(), out.numel(), static_cast<float>(lo), static_cast<float>(hi));
    else
      r.fill_uniform(out.data<double>(), out.numel(), lo, hi);
  }

 private:
  std::mutex mu_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  size_t cached_ = 0;

  template <typename T>
  static T* ptr(const Tensor& t) {
    return t.defined() ? t.data<T>() : nullptr;
  }
};

}  // namespace

Backend& cpu_backend() {
  // Intentionally leaked: outlives static tensors. gemm_kernel() reads TG_CPU_GEMM (rnn_cpu.h)
  // here, so that a bad value fails the first use of the backend, before any work.
  static Backend* b = (static_cast<void>(gemm_kernel()), new CpuBackend());
  return *b;
}

}  // namespace tg::kernels::cpu
