// TimeGAN's losses exactly as the reference codes them (timegan.md §3). Every `mean` is over
// all elements (batch x time x features). With a mask (sequences of unequal length), means
// run over the valid steps only; without one the numbers equal the unmasked reference.
#pragma once

#include "tg/ops.h"

namespace tg::models {

/// Valid-step mask [B, T, 1] (1 where t < length) for lengths; undefined when all are T.
Var length_mask(const std::vector<int32_t>& lengths, int64_t T, DType dtype, Device device);

/// mean((a - b)^2) over valid steps (mask [B,T,1] or undefined).
Var masked_mse(const Var& a, const Var& b, const Var& mask);
/// mean of sigmoid cross-entropy of logits against a constant label, over valid steps.
Var masked_ce(const Var& logits, double label, const Var& mask);

/// mean((a - b)^2) over the entries where `observed` [B,T,F] (same shape as a) is 1: missing
/// cells and padding steps do not count (0 when nothing is observed).
Var observed_mse(const Var& a, const Var& b, const Var& observed);

/// E_loss_T0 = mse(X, X_tilde).
Var reconstruction_loss(const Var& x, const Var& x_tilde, const Var& mask);
// ---- categorical columns (one-hot blocks after the numeric features) --------------------------
/// x[..., from:from+count] (a product with a constant 0/1 matrix, so gradients flow).
Var select_features(const Var& x, int64_t from, int64_t count);
/// Log-softmax over the last axis of z [..., K] (the largest entry, a constant, subtracted first).
Var log_softmax(const Var& z);
/// The recovery head with categorical columns: sigmoid over y[..., :numeric], softmax over each
/// block of `blocks` widths after it; same shape as y.
Var mixed_activation(const Var& y, int64_t numeric, const std::vector<int64_t>& blocks);
/// E_loss_T0 with categorical columns: the mean over the data's columns of each column's
/// reconstruction error, (numeric * MSE over the numeric features + sum over blocks of the
/// block's cross-entropy -sum_j x_j log softmax(logits)_j, averaged over valid positions)
/// / (numeric + blocks). x_tilde: the head's output; logits: before the activation.
/// `observed` (optional, [B,T,features]): the numeric MSE counts observed cells only
/// (observed_mse); the blocks still use `mask`.
Var mixed_reconstruction_loss(const Var& x, const Var& x_tilde, const Var& logits, int64_t numeric,
                              const std::vector<int64_t>& blocks, const Var& mask, const Var& observed = Var());

// ---- static features -------------------------------------------------------------------------
/// [x_t, c] at every step: x [B, T, d], c [B, H] -> [B, T, d + H] (tg::append_to_steps, so
/// gradients flow to both): how the static code h_S and the condition enter the networks.
Var append_code(const Var& x, const Var& c);

/// G_loss_S = mse(H[:,1:], H_hat_supervise[:,:-1]).
Var supervised_loss(const Var& h, const Var& h_hat_supervise, const Var& mask);
/// G_loss_V = mean|sqrt(Var_b(X_hat)+1e-6) - sqrt(Var_b(X)+1e-6)| + mean|Mean_b(X_hat) - Mean_b(X)|
/// (population variance over the batch axis; masked: moments over the valid entries of each t).
/// A mask may be [B,T,1] (valid steps) or [B,T,F] (observed cells: moments of each (t, k) over
/// the observed entries).
Var moment_loss(const Var& x, const Var& x_hat, const Var& mask_x, const Var& mask_hat);

struct DLossParts {
  Var real, fake, fake_e, total;  // total = real + fake + gamma * fake_e
};
DLossParts discriminator_loss(const Var& y_real, const Var& y_fake, const Var& y_fake_e, double gamma,
                              const Var& mask_real, const Var& mask_fake);

// ---- static terms of the joint phase (docs/static-features.md "Losses") ------------------------
/// The generator's static adversarial term CE(d_S(h^_S), 1): the mean over the batch of the
/// sigmoid cross-entropy of the static discriminator's logits y_hat_s [B, 1] against 1.
Var static_adversarial_loss(const Var& y_hat_s);
/// The static moment term: moment_loss over the batch of real static values s [B, S] and
/// generated ones s_hat = r_S(h^_S) [B, S] (each static feature one step of one feature),
/// mean|sqrt(Var(s^)+1e-6) - sqrt(Var(s)+1e-6)| + mean|Mean(s^) - Mean(s)|.
Var static_moment_loss(const Var& s, const Var& s_hat);
/// The static discriminator's terms CE(d_S(h_S), 1) + CE(d_S(h^_S), 0) (each a mean over the
/// batch) from the logits y_s [B, 1] on real and y_hat_s [B, 1] on generated static codes.
Var static_discriminator_loss(const Var& y_s, const Var& y_hat_s);

struct GLossParts {
  Var u, u_e, s, v, total;  // total = u + gamma u_e + 100 sqrt(s) + 100 v
};
GLossParts generator_loss(const Var& y_fake, const Var& y_fake_e, const Var& g_loss_s, const Var& g_loss_v,
                          double gamma, const Var& mask_fake);

}  // namespace tg::models
