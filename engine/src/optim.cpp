#include "tg/optim.h"

#include <cmath>
#include <stdexcept>

#include "tg/backend.h"

namespace tg {

Adam::Adam(const ParamGroup& group, AdamOptions opt) : group_(group), opt_(opt) {
  if (!(opt.lr > 0) || !(opt.beta1 >= 0 && opt.beta1 < 1) || !(opt.beta2 >= 0 && opt.beta2 < 1) || !(opt.eps >= 0))
    throw std::invalid_argument("Adam: need lr > 0, 0 <= beta1, beta2 < 1, eps >= 0");
  for (const auto& p : group_.params) {
    const Tensor& v = p.value();
    m_.push_back(Tensor::zeros(v.shape(), v.dtype(), v.device()));
    v_.push_back(Tensor::zeros(v.shape(), v.dtype(), v.device()));
  }
}

void Adam::step() {
  ++t_;
  const double t = static_cast<double>(t_);
  const double c1 = 1.0 - std::pow(opt_.beta1, t), c2 = 1.0 - std::pow(opt_.beta2, t);
  AdamStep st;
  st.beta1 = opt_.beta1;
  st.beta2 = opt_.beta2;
  st.step_size = opt_.lr * std::sqrt(c2) / c1;
  st.eps_hat = opt_.form == AdamOptions::Form::Tf1 ? opt_.eps : opt_.eps * std::sqrt(c2);
  for (size_t i = 0; i < group_.params.size(); ++i) {
    Var& p = group_.params[i];
    if (!p.has_grad()) continue;
    backend_for(p.device()).adam_update(p.mutable_value(), p.grad(), m_[i], v_[i], st);
  }
}

void Adam::zero_grad() { group_.zero_grad(); }

void fill_uniform(Tensor& t, Rng& rng, double lo, double hi) {
  backend_for(t.device()).fill_uniform(t, rng, rng.counter(), lo, hi);
  rng.set_counter(rng.counter() + static_cast<uint64_t>((t.numel() + 3) / 4));
}

void init_glorot_uniform(Tensor& t, int64_t fan_in, int64_t fan_out, Rng& rng) {
  if (fan_in + fan_out <= 0) throw std::invalid_argument("init_glorot_uniform: fan_in + fan_out must be positive");
  const double limit = std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  fill_uniform(t, rng, -limit, limit);
}

}  // namespace tg
