// The backend registry and the names of the elementwise ops (tg/backend.h). The engine names no
// backend and links none: the kernels library registers the built-in ones when it is linked, an
// application may register its own.
#include "tg/backend.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace tg {

namespace {

struct Registry {
  std::mutex mu;
  std::array<BackendEntry, 2> entries{};  // indexed by Device
  std::array<bool, 2> set{};
};

Registry& registry() {
  static Registry* r = new Registry();  // never destroyed: backends outlive static tensors
  return *r;
}

size_t slot_of(Device d) {
  const size_t i = static_cast<size_t>(d);
  if (i >= 2) throw std::invalid_argument("tg: invalid device value " + std::to_string(i));
  return i;
}

bool lookup(Device d, BackendEntry* out) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lk(r.mu);
  const size_t i = slot_of(d);
  if (!r.set[i]) return false;
  *out = r.entries[i];
  return true;
}

}  // namespace

void register_backend(const BackendEntry& e) {
  if (e.usable == nullptr || e.instance == nullptr || e.name == nullptr)
    throw std::invalid_argument("tg::register_backend: entry with a null name or function");
  Registry& r = registry();
  std::lock_guard<std::mutex> lk(r.mu);
  const size_t i = slot_of(e.device);
  r.entries[i] = e;
  r.set[i] = true;
}

std::vector<std::string> registered_backends() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lk(r.mu);
  std::vector<std::string> names;
  for (size_t i = 0; i < r.entries.size(); ++i)
    if (r.set[i]) names.emplace_back(r.entries[i].name);
  return names;
}

const char* unary_name(UnaryOp op) {
  switch (op) {
#define TG_NAME_(Op, fn) \
  case UnaryOp::Op: return #fn;
    TG_UNARY_OPS(TG_NAME_)
#undef TG_NAME_
  }
  return "?";
}

const char* binary_name(BinaryOp op) {
  switch (op) {
#define TG_NAME_(Op, fn) \
  case BinaryOp::Op: return #fn;
    TG_BINARY_OPS(TG_NAME_)
#undef TG_NAME_
  }
  return "?";
}

namespace {
// Why a device has no backend: none registered at all (the program does not link the kernels
// library), or this build has none for it.
std::string unregistered(Device d) {
  if (registered_backends().empty())
    return std::string("no backend registered for device ") + device_name(d) +
           ": link the kernels library (tg::kernels), which registers the built-in backends";
  if (d == Device::CUDA) return "this build has no CUDA backend (configured without the CUDA toolkit)";
  return std::string("no backend registered for device ") + device_name(d);
}
}  // namespace

bool cuda_available(std::string* why) {
  BackendEntry e;
  if (!lookup(Device::CUDA, &e)) {
    if (why) *why = unregistered(Device::CUDA);
    return false;
  }
  return e.usable(why);
}

Backend& backend_for(Device d) {
  BackendEntry e;
  if (!lookup(d, &e)) {
    if (d == Device::CUDA && !registered_backends().empty())
      throw std::runtime_error("CUDA device unavailable: this build has no CUDA backend");
    throw std::runtime_error(unregistered(d));
  }
  std::string why;
  if (!e.usable(&why)) throw std::runtime_error(std::string(d == Device::CUDA ? "CUDA" : e.name) + " device unavailable: " + why);
  return e.instance();
}

void set_num_threads(int n) { backend_for(Device::CPU).set_num_threads(n); }
int num_threads() { return backend_for(Device::CPU).num_threads(); }

// ---- generic versions of the extensions a backend may provide (tg/backend.h) ----------------


namespace {
double first_value(Backend& be, const Tensor& t) {
  if (t.numel() < 1) throw std::invalid_argument("tg: a gate or counter tensor is empty");
  if (t.dtype() == DType::F32) {
    float v = 0;
    be.to_host(&v, t.raw(), sizeof v);
    return v;
  }
  double v = 0;
  be.to_host(&v, t.raw(), sizeof v);
  return v;
}
}  // namespace

void Backend::gather_rows(Tensor& dst, const Tensor& src, const std::vector<int64_t>& rows, int64_t cols) {
  for (size_t i = 0; i < rows.size(); ++i)
    copy_rows(dst, static_cast<int64_t>(i) * cols, 0, src, rows[i] * cols, 0, 1, cols, false);
}

void Backend::max_last(const Tensor& x, int64_t k, Tensor& out) {
  const int64_t rows = out.numel();
  if (rows == 0) return;
  if (k < 1 || x.numel() != rows * k) throw std::invalid_argument("Backend::max_last: x does not hold [rows, k]");
  std::vector<double> v(static_cast<size_t>(x.numel())), m(static_cast<size_t>(rows));
  if (x.dtype() == DType::F32) {
    std::vector<float> f(v.size());
    to_host(f.data(), x.raw(), f.size() * sizeof(float));
    for (size_t i = 0; i < f.size(); ++i) v[i] = f[i];
  } else {
    to_host(v.data(), x.raw(), v.size() * sizeof(double));
  }
  for (int64_t r = 0; r < rows; ++r) {
    double best = v[static_cast<size_t>(r * k)];
    for (int64_t j = 1; j < k; ++j) best = std::max(best, v[static_cast<size_t>(r * k + j)]);
    m[static_cast<size_t>(r)] = std::isfinite(best) ? best : 0.0;
  }
  if (out.dtype() == DType::F32) {
    std::vector<float> f(m.begin(), m.end());
    from_host(out.raw(), f.data(), f.size() * sizeof(float));
  } else {
    from_host(out.raw(), m.data(), m.size() * sizeof(double));
  }
}

void Backend::count_above(const Tensor& value, double threshold, Tensor& count) {
  if (count.dtype() != DType::F64 || count.numel() != 1)
    throw std::invalid_argument("Backend::count_above: the count must be one float64");
  double c = first_value(*this, count);
  if (first_value(*this, value) > threshold) c += 1.0;
  from_host(count.raw(), &c, sizeof c);
}

void Backend::broadcast_rows(Tensor& dst, int64_t dst_off, int64_t dst_stride, const Tensor& src, int64_t src_stride,
                             int64_t B, int64_t T, int64_t cols) {
  for (int64_t t = 0; t < T; ++t)
    copy_rows(dst, dst_off + t * dst_stride, T * dst_stride, src, 0, src_stride, B, cols, false);
}

void Backend::sum_row_groups(Tensor& dst, int64_t dst_stride, const Tensor& src, int64_t src_off, int64_t src_stride,
                             int64_t B, int64_t T, int64_t cols) {
  for (int64_t t = 0; t < T; ++t)
    copy_rows(dst, 0, dst_stride, src, src_off + t * src_stride, T * src_stride, B, cols, t > 0);
}

// ---- the fused ops' generic versions, from the primitives -------------------------------------
void Backend::sigmoid_ce(const Tensor& z, double label, Tensor& out) {
  Tensor a = Tensor::empty(z.shape(), z.dtype(), z.device()), t = Tensor::empty(z.shape(), z.dtype(), z.device());
  unary(UnaryOp::Abs, z, a);         // |z|
  binary(BinaryOp::Add, z, a, out);  // z + |z| = 2 max(z, 0)
  axpby(-label, z, 0.5, out);        // max(z, 0) - label z
  unary(UnaryOp::Neg, a, t);
  unary(UnaryOp::Exp, t, a);  // exp(-|z|)
  fill(t, 1.0);
  axpby(1.0, a, 1.0, t);
  unary(UnaryOp::Log, t, a);  // log(1 + exp(-|z|))
  axpby(1.0, a, 1.0, out);
}

void Backend::sigmoid_ce_backward(const Tensor& z, double label, const Tensor& gy, Tensor& gz, bool accumulate) {
  Tensor s = Tensor::empty(z.shape(), z.dtype(), z.device()), t = Tensor::empty(z.shape(), z.dtype(), z.device());
  unary(UnaryOp::Sigmoid, z, s);
  fill(t, -label);
  axpby(1.0, s, 1.0, t);             // sigmoid(z) - label
  binary(BinaryOp::Mul, gy, t, s);
  axpby(1.0, s, accumulate ? 1.0 : 0.0, gz);
}

void Backend::adam_update(Tensor& p, const Tensor& g, Tensor& m, Tensor& v, const AdamStep& st) {
  Tensor a = Tensor::empty(g.shape(), g.dtype(), g.device()), b = Tensor::empty(g.shape(), g.dtype(), g.device());
  axpby(1.0 - st.beta1, g, st.beta1, m);  // m = b1 m + (1 - b1) g
  binary(BinaryOp::Mul, g, g, a);
  axpby(1.0 - st.beta2, a, st.beta2, v);  // v = b2 v + (1 - b2) g^2
  unary(UnaryOp::Sqrt, v, a);
  fill(b, st.eps_hat);
  axpby(1.0, b, 1.0, a);  // sqrt(v) + eps_hat
  binary(BinaryOp::Div, m, a, b);
  axpby(-st.step_size, b, 1.0, p);
}

std::shared_ptr<RnnSaved> Backend::rnn_forward(const RnnSpec&, const std::vector<Tensor>&, const Tensor&, const int32_t*,
                                               const Tensor&, const Tensor&, Tensor&, Tensor&, Tensor&, bool) {
  throw std::logic_error("backend " + name() + " has no fused recurrent stack (provides_rnn() is false): tg::rnn composes it");
}

void Backend::rnn_backward(const RnnSpec&, const std::vector<Tensor>&, const Tensor&, const int32_t*, const Tensor&,
                           const Tensor&, const RnnSaved&, const Tensor&, Tensor&, std::vector<Tensor>&, Tensor&,
                           Tensor&) {
  throw std::logic_error("backend " + name() + " has no fused recurrent stack (provides_rnn() is false): tg::rnn composes it");
}

void Backend::fill_multi(const std::vector<Tensor*>& ts, double value) {
  for (Tensor* t : ts) fill(*t, value);
}

void Backend::adam_update_multi(const std::vector<AdamTensors>& ts, const AdamStep& step) {
  for (const AdamTensors& t : ts) adam_update(*t.param, *t.grad, *t.m, *t.v, step);
}

void Backend::adam_update_gated(const std::vector<AdamTensors>& ts, const AdamGated& gate) {
  if (!gate.value || !gate.steps) throw std::invalid_argument("Backend::adam_update_gated: no value or step count");
  if (!(first_value(*this, *gate.value) > gate.threshold)) return;
  adam_update_multi(ts, adam_step_at(gate.lr, gate.beta1, gate.beta2, gate.eps, gate.pytorch_form,
                                     first_value(*this, *gate.steps)));
}

}  // namespace tg
