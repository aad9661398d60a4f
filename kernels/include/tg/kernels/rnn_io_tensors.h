// From the tensors of a Backend::rnn_forward / rnn_backward call (tg/backend.h) to the
// tg::kernels::RnnIo the kernels take: the one place where the backends apply the conventions
// of that interface (undefined tensor = absent, empty gradient list = frozen weights, the c
// state only for cells that have one) and check what the ops layer does not (pointer counts,
// one dtype for all buffers).
#pragma once

#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "tg/kernels/rnn_io.h"
#include "tg/rnn_spec.h"
#include "tg/tensor.h"

namespace tg::kernels {

/// Owns the pointer arrays that `io` points into (so not copyable). T: the element type, or
/// void (the pointers untyped; the caller dispatches on dtype()).
template <typename T>
class RnnTensorIo {
 public:
  /// The forward's inputs. lengths: host array of `batch` ints or nullptr.
  RnnTensorIo(const char* who, const RnnSpec& s, const std::vector<Tensor>& w, const Tensor& x,
              const int32_t* lengths, const Tensor& h0, const Tensor& c0)
      : who_(who), dtype_(x.dtype()), has_c_(cell_has_c(s.cell)) {
    const size_t nw = static_cast<size_t>(s.layers) * static_cast<size_t>(rnn_weights_per_layer(s.cell));
    if (w.size() != nw)
      throw std::invalid_argument(std::string(who) + ": " + std::to_string(w.size()) + " weights, expected " +
                                  std::to_string(nw));
    w_.reserve(w.size());
    for (const Tensor& t : w) w_.push_back(in(t, "a weight"));
    io.weights = w_.data();
    io.x = in(x, "x");
    io.lengths = lengths;
    io.h0 = opt_in(h0, "h0");
    io.c0 = has_c_ ? opt_in(c0, "c0") : nullptr;
  }
  RnnTensorIo(const RnnTensorIo&) = delete;
  RnnTensorIo& operator=(const RnnTensorIo&) = delete;

  /// The forward's outputs (y required; hT, cT when defined).
  void outputs(Tensor& y, Tensor& hT, Tensor& cT) {
    io.y = out(y, "y");
    io.hT = opt_out(hT, "hT");
    io.cT = has_c_ ? opt_out(cT, "cT") : nullptr;
  }

  /// The backward's buffers. gw: empty (frozen weights) or one per weight; gx, gh0, gc0 when
  /// defined.
  void gradients(const Tensor& gy, Tensor& gx, std::vector<Tensor>& gw, Tensor& gh0, Tensor& gc0) {
    io.gy = in(gy, "gy");
    io.gx = opt_out(gx, "gx");
    if (!gw.empty()) {
      if (gw.size() != w_.size())
        throw std::invalid_argument(std::string(who_) + ": " + std::to_string(gw.size()) +
                                    " weight gradients, expected 0 (frozen) or " + std::to_string(w_.size()));
      gw_.reserve(gw.size());
      for (Tensor& t : gw) gw_.push_back(out(t, "a weight gradient"));
      io.gweights = gw_.data();
    }
    io.gh0 = opt_out(gh0, "gh0");
    io.gc0 = has_c_ ? opt_out(gc0, "gc0") : nullptr;
  }

  DType dtype() const { return dtype_; }

  RnnIo<T> io;

 private:
  using C = const T*;
  void same_dtype(const Tensor& t, const char* what) const {
    if (t.dtype() != dtype_)
      throw std::invalid_argument(std::string(who_) + ": " + what + " has another dtype than x");
  }
  T* out(const Tensor& t, const char* what) const {
    if (!t.defined()) throw std::invalid_argument(std::string(who_) + ": " + what + " is undefined");
    same_dtype(t, what);
    if constexpr (std::is_void_v<T>)
      return t.raw();
    else
      return t.data<T>();
  }
  C in(const Tensor& t, const char* what) const { return out(t, what); }
  T* opt_out(const Tensor& t, const char* what) const { return t.defined() ? out(t, what) : nullptr; }
  C opt_in(const Tensor& t, const char* what) const { return t.defined() ? out(t, what) : nullptr; }

  const char* who_;
  DType dtype_;
  bool has_c_;
  std::vector<C> w_;
  std::vector<T*> gw_;
};

}  // namespace tg::kernels
