// Finite-difference gradient checking in float64 for tests.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "tg/engine.h"

namespace tgtest {

/// A float64 variable of shape `s` holding `v` (hand-built inputs), a leaf with a gradient if `grad`.
inline tg::Var t64(const tg::Shape& s, const std::vector<double>& v, bool grad = false) {
  return tg::Var(tg::Tensor::from_vector(s, v, tg::DType::F64), grad);
}

/// Deterministic pseudo-random float64 tensor in [lo, hi).
inline tg::Tensor rand_tensor(const tg::Shape& s, uint64_t seed, double lo = -1.0, double hi = 1.0) {
  tg::Rng rng(seed, 99);
  tg::Tensor t = tg::Tensor::empty(s, tg::DType::F64);
  rng.fill_uniform(t.data<double>(), t.numel(), lo, hi);
  return t;
}

/// Reduces any output to a scalar with fixed random weights: L = sum(out * R).
inline tg::Var weighted_sum(const tg::Var& out, uint64_t seed = 7) {
  tg::Var r(rand_tensor(out.shape(), seed, -1.0, 1.0), false);
  return tg::sum(tg::mul(out, r));
}

/// Checks d f / d inputs[i] (for every input that requires a gradient) against central
/// differences. `f` must build a scalar from the inputs. Returns the largest relative error.
inline double gradcheck(const std::function<tg::Var(const std::vector<tg::Var>&)>& f,
                        std::vector<tg::Var> inputs, double eps = 1e-6, double tol = 1e-6,
                        int max_coords = 400) {
  for (auto& v : inputs) v.zero_grad();
  tg::Var loss = f(inputs);
  tg::backward(loss);
  double worst = 0.0;
  for (size_t k = 0; k < inputs.size(); ++k) {
    if (!inputs[k].requires_grad()) continue;
    tg::Tensor& val = inputs[k].mutable_value();
    REQUIRE(val.dtype() == tg::DType::F64);
    REQUIRE_MESSAGE(inputs[k].has_grad(), "input " << k << " got no gradient");
    const std::vector<double> analytic = inputs[k].grad().to_vector();
    double* p = val.data<double>();
    const int64_t n = val.numel();
    const int64_t step = n > max_coords ? n / max_coords + 1 : 1;
    for (int64_t i = 0; i < n; i += step) {
      const double orig = p[i];
      double fp, fm;
      {
        tg::NoGradGuard ng;
        p[i] = orig + eps;
        fp = f(inputs).value().item();
        p[i] = orig - eps;
        fm = f(inputs).value().item();
        p[i] = orig;
      }
      const double numeric = (fp - fm) / (2 * eps);
      const double a = analytic[static_cast<size_t>(i)];
      const double err = std::abs(a - numeric) / std::max(1.0, std::abs(a) + std::abs(numeric));
      worst = std::max(worst, err);
      if (err > tol) {
        FAIL_CHECK("input " << k << " element " << i << ": analytic " << a << " numeric " << numeric);
        return err;
      }
    }
  }
  return worst;
}

inline tg::Var param(const tg::Shape& s, uint64_t seed, double lo = -1.0, double hi = 1.0) {
  return tg::Var(rand_tensor(s, seed, lo, hi), true);
}

}  // namespace tgtest
