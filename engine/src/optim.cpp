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
  if (t_dev_ahead_) sync_steps();
  ++t_;
  t_dev_fresh_ = false;
  const AdamStep st = adam_step_at(opt_.lr, opt_.beta1, opt_.beta2, opt_.eps, opt_.form == AdamOptions::Form::PyTorch,
                                   static_cast<double>(t_));
  const std::vector<AdamTensors> ts = with_grads();
  if (!ts.empty()) backend_for(ts[0].param->device()).adam_update_multi(ts, st);
}

std::vector<AdamTensors> Adam::with_grads() {
  std::vector<AdamTensors> ts;
  for (size_t i = 0; i < group_.params.size(); ++i) {
    Var& p = group_.params[i];
    if (p.has_grad()) ts.push_back({&p.mutable_value(), &p.grad(), &m_[i], &v_[i]});
  }
  for (const AdamTensors& t : ts)
    if (t.param->device() != ts[0].param->device() || t.param->dtype() != ts[0].param->dtype())
      throw std::invalid_argument("Adam: the parameters of one optimiser must share a device and a dtype");
  return ts;
}

void Adam::step_if(const Tensor& value, double threshold) {
  if (value.numel() != 1) throw std::invalid_argument("Adam::step_if: the value must have one element");
  if (value.device() == Device::CPU) {
    if (value.item() > threshold) step();
    return;
  }
  Backend& be = backend_for(value.device());
  if (!t_dev_fresh_) {
    if (!t_dev_.defined()) t_dev_ = Tensor::empty(Shape{1}, DType::F64, value.device());
    const double t = static_cast<double>(t_);
    be.from_host(t_dev_.raw(), &t, sizeof t);
    t_dev_fresh_ = true;
  }
  be.count_above(value, threshold, t_dev_);
  t_dev_ahead_ = true;
  AdamGated gate;
  gate.lr = opt_.lr;
  gate.beta1 = opt_.beta1;
  gate.beta2 = opt_.beta2;
  gate.eps = opt_.eps;
  gate.pytorch_form = opt_.form == AdamOptions::Form::PyTorch;
  gate.value = &value;
  gate.threshold = threshold;
  gate.steps = &t_dev_;
  const std::vector<AdamTensors> ts = with_grads();
  if (!ts.empty()) be.adam_update_gated(ts, gate);
}

void Adam::sync_steps() {
  if (!t_dev_ahead_) return;
  double t = 0;
  backend_for(t_dev_.device()).to_host(&t, t_dev_.raw(), sizeof t);
  t_ = static_cast<int64_t>(t);
  t_dev_ahead_ = false;  // (and still fresh: the device holds t_)
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
