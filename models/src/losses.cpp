#include "tg/models/losses.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "tg/backend.h"

namespace tg::models {

Var length_mask(const std::vector<int32_t>& lengths, int64_t T, DType dtype, Device device) {
  bool full = true;
  for (auto l : lengths) full = full && l == T;
  if (full) return Var();
  std::vector<double> m(lengths.size() * static_cast<size_t>(T), 0.0);
  for (size_t b = 0; b < lengths.size(); ++b)
    for (int64_t t = 0; t < std::min<int64_t>(lengths[b], T); ++t) m[b * static_cast<size_t>(T) + static_cast<size_t>(t)] = 1.0;
  return Var(Tensor::from_vector(Shape{static_cast<int64_t>(lengths.size()), T, 1}, m, dtype, device));
}

namespace {
// Added to denominators that can be 0 (no valid entry): 0 / kTiny = 0, and for any real count
// (>= 1, or >= 1/B as a fraction) it is far below float rounding, so the value is unchanged.
constexpr double kTiny = 1e-12;

// sum(x * mask) / (valid steps * features), computed on the device (no read-back to the host
// inside a training step).
Var masked_mean(const Var& x, const Var& mask) {
  if (!mask.defined()) return mean(x);
  return div(sum(mul(x, mask)), add_scalar(scale(sum(mask), static_cast<double>(x.shape()[-1])), kTiny));
}
}  // namespace

Var masked_mse(const Var& a, const Var& b, const Var& mask) {
  if (!mask.defined()) return mse(a, b);
  return masked_mean(square(sub(a, b)), mask);
}

Var masked_ce(const Var& logits, double label, const Var& mask) {
  return masked_mean(sigmoid_cross_entropy(logits, label), mask);
}

Var observed_mse(const Var& a, const Var& b, const Var& observed) {
  return div(sum(mul(square(sub(a, b)), observed)), add_scalar(sum(observed), kTiny));
}

Var reconstruction_loss(const Var& x, const Var& x_tilde, const Var& mask) { return masked_mse(x, x_tilde, mask); }

Var select_features(const Var& x, int64_t from, int64_t count) {
  const int64_t d = x.shape()[-1];
  if (from < 0 || count < 1 || from + count > d)
    throw std::invalid_argument("select_features: [" + std::to_string(from) + ", " + std::to_string(from + count) +
                                ") is not within " + std::to_string(d) + " features");
  return slice_last(x, from, count);
}

namespace {
// Sum over the last axis, keeping it: [..., k] -> [..., 1].
Var sum_last(const Var& x) {
  const int64_t k = x.shape()[-1];
  return linear(x, Var(Tensor::full(Shape{k, 1}, 1.0, x.dtype(), x.device())), Var());
}
}  // namespace

Var log_softmax(const Var& z) {
  // The per-position maximum is a constant (softmax does not depend on it), computed where z
  // lives: no read-back to the host inside a training step.
  std::vector<int64_t> dims = z.shape().dims();
  const int64_t k = dims.back();
  dims.back() = 1;
  Tensor m = Tensor::empty(Shape(dims), z.dtype(), z.device());
  backend_for(z.device()).max_last(z.value(), k, m);
  Var zs = sub(z, Var(m));
  return sub(zs, log(sum_last(exp(zs))));
}

Var mixed_activation(const Var& y, int64_t numeric, const std::vector<int64_t>& blocks) {
  std::vector<Var> parts;
  if (numeric > 0) parts.push_back(sigmoid(select_features(y, 0, numeric)));
  int64_t off = numeric;
  for (int64_t k : blocks) {
    parts.push_back(exp(log_softmax(select_features(y, off, k))));
    off += k;
  }
  if (off != y.shape()[-1])
    throw std::invalid_argument("mixed_activation: " + std::to_string(off) + " features described, " +
                                std::to_string(y.shape()[-1]) + " given");
  return parts.size() == 1 ? parts[0] : concat_last(parts);
}

Var mixed_reconstruction_loss(const Var& x, const Var& x_tilde, const Var& logits, int64_t numeric,
                              const std::vector<int64_t>& blocks, const Var& mask, const Var& observed) {
  Var total;
  if (numeric > 0 && observed.defined())
    total = scale(observed_mse(select_features(x, 0, numeric), select_features(x_tilde, 0, numeric),
                               select_features(observed, 0, numeric)),
                  static_cast<double>(numeric));
  else if (numeric > 0)
    total = scale(masked_mse(select_features(x, 0, numeric), select_features(x_tilde, 0, numeric), mask),
                  static_cast<double>(numeric));
  int64_t off = numeric;
  for (int64_t k : blocks) {
    Var ce = neg(sum_last(mul(select_features(x, off, k), log_softmax(select_features(logits, off, k)))));
    Var m = masked_mean(ce, mask);
    total = total.defined() ? add(total, m) : m;
    off += k;
  }
  return scale(total, 1.0 / static_cast<double>(numeric + static_cast<int64_t>(blocks.size())));
}

Var supervised_loss(const Var& h, const Var& h_hat_supervise, const Var& mask) {
  // The target at t+1 is valid when t+1 < length: the shifted mask is mask[:, 1:].
  return masked_mse(slice_time(h, 1, h.shape()[1]), slice_time(h_hat_supervise, 0, -1),
                    mask.defined() ? slice_time(mask, 1, mask.shape()[1]) : Var());
}

namespace {
struct Moments {
  Var mean, var;
};
// B / (valid entries at t), [T, 1]: turns mean_batch(x * mask) into the mean over the valid
// entries of each time step (0 where none is valid).
Var valid_rescale(const Var& mask) {
  Var one(Tensor::full(Shape{}, 1.0, mask.dtype(), mask.device()));
  return div(one, add_scalar(mean_batch(mask), kTiny));
}

// Per-(t, k) mean and population variance over the batch, counting valid entries only. The
// variance is the mean squared deviation from that mean (two passes, as var_batch and the
// reference's tf.nn.moments), never E[x^2] - E[x]^2: where few entries are valid the latter
// cancels to a rounding error that can fall below -1e-6 and make the moment loss's
// sqrt(var + 1e-6) NaN (it did, with missing cells and sequences of different lengths).
Moments batch_moments(const Var& x, const Var& mask) {
  if (!mask.defined()) return {mean_batch(x), var_batch(x)};
  Var inv = valid_rescale(mask);
  Var m = mul(mean_batch(mul(x, mask)), inv);  // [T, F] via [T,1] broadcast
  Var var = mul(mean_batch(mul(square(sub(x, m)), mask)), inv);
  return {m, var};
}
}  // namespace

Var moment_loss(const Var& x, const Var& x_hat, const Var& mask_x, const Var& mask_hat) {
  const Moments a = batch_moments(x_hat, mask_hat), b = batch_moments(x, mask_x);
  Var v1 = mean(abs(sub(sqrt(add_scalar(a.var, 1e-6)), sqrt(add_scalar(b.var, 1e-6)))));
  Var v2 = mean(abs(sub(a.mean, b.mean)));
  return add(v1, v2);
}

Var static_adversarial_loss(const Var& y_hat_s) { return mean(sigmoid_cross_entropy(y_hat_s, 1.0)); }

Var static_moment_loss(const Var& s, const Var& s_hat) {
  const int64_t B = s.shape()[0], S = s.shape()[1];
  return moment_loss(reshape(s, Shape{B, 1, S}), reshape(s_hat, Shape{B, 1, S}), Var(), Var());
}

Var static_discriminator_loss(const Var& y_s, const Var& y_hat_s) {
  Var real = mean(sigmoid_cross_entropy(y_s, 1.0));
  Var fake = mean(sigmoid_cross_entropy(y_hat_s, 0.0));
  return add(real, fake);
}

DLossParts discriminator_loss(const Var& y_real, const Var& y_fake, const Var& y_fake_e, double gamma,
                              const Var& mask_real, const Var& mask_fake) {
  DLossParts p;
  p.real = masked_ce(y_real, 1.0, mask_real);
  p.fake = masked_ce(y_fake, 0.0, mask_fake);
  p.fake_e = masked_ce(y_fake_e, 0.0, mask_fake);
  p.total = add(add(p.real, p.fake), scale(p.fake_e, gamma));
  return p;
}

GLossParts generator_loss(const Var& y_fake, const Var& y_fake_e, const Var& g_loss_s, const Var& g_loss_v,
                          double gamma, const Var& mask_fake) {
  GLossParts p;
  p.u = masked_ce(y_fake, 1.0, mask_fake);
  p.u_e = masked_ce(y_fake_e, 1.0, mask_fake);
  p.s = g_loss_s;
  p.v = g_loss_v;
  p.total = add(add(add(p.u, scale(p.u_e, gamma)), scale(sqrt(g_loss_s), 100.0)), scale(g_loss_v, 100.0));
  return p;
}

Var append_code(const Var& x, const Var& hs) { return append_to_steps(x, hs); }

}  // namespace tg::models
