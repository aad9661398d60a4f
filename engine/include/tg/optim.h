// Adam, one independent state per optimiser (TimeGAN runs five of them).
//
// Form::Tf1 (default, as tf.train.AdamOptimizer in TF 1.x):
//   lr_t = lr * sqrt(1 - b2^t) / (1 - b1^t); m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
//   p -= lr_t * m / (sqrt(v) + eps)          (epsilon outside the bias correction)
// Form::PyTorch (torch.optim.Adam):
//   p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
// Both are the backend's fused update with step = lr_t and eps_hat = eps (TF1) or
// eps * sqrt(1 - b2^t) (PyTorch). Parameters without a gradient in a step are left alone
// (their moments too), as TF does for variables the loss does not reach; the step count t
// still advances, as TF's beta powers do.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tg/autograd.h"
#include "tg/backend.h"
#include "tg/random.h"

namespace tg {

struct AdamOptions {
  enum class Form : uint8_t { Tf1 = 0, PyTorch = 1 };
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  Form form = Form::Tf1;
};

class Adam {
 public:
  Adam(const ParamGroup& group, AdamOptions opt = {});
  /// One update from the parameters' current gradients.
  void step();
  /// One update when value (one element, on the parameters' device) > threshold, decided where
  /// the value lives: on the CPU at once; on a device by the update kernels themselves, with the
  /// step count kept on the device, so the host never waits. steps() is then stale until
  /// sync_steps() (which waits).
  void step_if(const Tensor& value, double threshold);
  /// Brings steps() up to date after step_if on a device (a read of one number).
  void sync_steps();
  void zero_grad();
  int64_t steps() const { return t_; }
  const AdamOptions& options() const { return opt_; }
  const ParamGroup& group() const { return group_; }
  /// Moments (for checkpoints): m[i], v[i] belong to group().params[i].
  std::vector<Tensor>& m() { return m_; }
  std::vector<Tensor>& v() { return v_; }
  void set_steps(int64_t t) {
    t_ = t;
    t_dev_fresh_ = t_dev_ahead_ = false;
  }

 private:
  /// The parameters that have a gradient this step, with their moments.
  std::vector<AdamTensors> with_grads();
  ParamGroup group_;
  AdamOptions opt_;
  std::vector<Tensor> m_, v_;
  int64_t t_ = 0;
  // step_if on a device: the step count there ([1] float64), equal to t_ when t_dev_fresh_ is
  // false (re-uploaded at the next gated step) and ahead of it until sync_steps().
  Tensor t_dev_;
  bool t_dev_fresh_ = false;
  bool t_dev_ahead_ = false;
};

/// Glorot (Xavier) uniform: U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out)), drawn from
/// `rng` (advancing it), written into t on its device.
void init_glorot_uniform(Tensor& t, int64_t fan_in, int64_t fan_out, Rng& rng);
/// U[lo, hi) from rng (advancing it), on t's device: the same numbers on every backend.
void fill_uniform(Tensor& t, Rng& rng, double lo, double hi);

}  // namespace tg
