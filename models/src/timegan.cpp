#include "tg/models/timegan.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "tg/backend.h"
#include "tg/io/error.h"
#include "tg/models/losses.h"

namespace tg::models {

namespace {
constexpr uint64_t kStreamInit = 1, kStreamBatch = 2, kStreamNoise = 3, kStreamGenerate = 4;
// Generation's static noise: its own stream, so that the output does not depend on the chunking.
constexpr uint64_t kStreamGenerateStatic = 6;

double val(const Var& v) { return v.value().item(); }

ParamGroup join(const char* name, const Network& a, const Network& b, const DenseNet* sa = nullptr,
                const DenseNet* sb = nullptr) {
  ParamGroup g;
  g.name = name;
  g.extend(a.params());
  g.extend(b.params());
  if (sa) g.extend(sa->params());
  if (sb) g.extend(sb->params());
  return g;
}

Var with_static(const Var& x, const Var& hs) { return hs.defined() ? append_code(x, hs) : x; }
// The condition c [B, C] appended to every step of x [B, T, d] (x unchanged without a condition).
Var with_cond(const Var& x, const Var& c) { return c.defined() ? append_code(x, c) : x; }
// [v, c] for per-sequence vectors v [B, S] (v unchanged without a condition).
Var with_cond_dense(const Var& v, const Var& c) {
  if (!c.defined()) return v;
  const int64_t B = v.shape()[0], S = v.shape()[1], C = c.shape()[1];
  return reshape(append_code(reshape(v, Shape{B, 1, S}), c), Shape{B, S + C});
}
// The condition repeated for k stacked copies of a batch ([c; c; ...]), undefined without one.
Var repeat_cond(const Var& c, int k) {
  if (!c.defined()) return c;
  std::vector<Var> parts(static_cast<size_t>(k), c);
  return concat_batch(parts);
}
}  // namespace

const char* phase_name(Phase p) {
  switch (p) {
    case Phase::Embedding: return "embedding";
    case Phase::Supervised: return "supervised";
    case Phase::Joint: return "joint";
    case Phase::Done: return "done";
  }
  return "?";
}

std::string StepLosses::csv_header() {
  return "phase,iteration,e_loss_t0,e_loss0,e_loss,g_loss_s,g_loss_u,g_loss_u_e,g_loss_v,g_loss,d_loss,d_step";
}

namespace {
// The losses a phase computes, in csv order, with their names.
struct LossField {
  const char* name;
  double StepLosses::*field;
};
constexpr LossField kLossFields[] = {
    {"e_loss_t0", &StepLosses::e_loss_t0}, {"e_loss0", &StepLosses::e_loss0},     {"e_loss", &StepLosses::e_loss},
    {"g_loss_s", &StepLosses::g_loss_s},   {"g_loss_u", &StepLosses::g_loss_u},   {"g_loss_u_e", &StepLosses::g_loss_u_e},
    {"g_loss_v", &StepLosses::g_loss_v},   {"g_loss", &StepLosses::g_loss},       {"d_loss", &StepLosses::d_loss}};

bool phase_computes(Phase p, const LossField& f) {
  if (p == Phase::Joint) return true;
  const std::string n = f.name;
  if (p == Phase::Embedding) return n == "e_loss_t0" || n == "e_loss0";
  if (p == Phase::Supervised) return n == "g_loss_s";
  return false;
}

std::string format_loss(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char b[32];
  std::snprintf(b, sizeof b, "%.7g", v);
  return b;
}
}  // namespace

std::string StepLosses::csv_row() const {
  std::ostringstream s;
  s << phase_name(phase) << ',' << iteration;
  for (const LossField& f : kLossFields) s << ',' << (phase_computes(phase, f) ? format_loss(this->*f.field) : "");
  s << ',' << (phase == Phase::Joint ? (d_stepped ? "1" : "0") : "");
  return s.str();
}

std::string StepLosses::first_nonfinite() const {
  for (const LossField& f : kLossFields)
    if (phase_computes(phase, f) && !std::isfinite(this->*f.field)) return std::string(f.name) + " = " + format_loss(this->*f.field);
  return "";
}

// ---- model ------------------------------------------------------------------------------

TimeGan::TimeGan(const TimeGanConfig& cfg)
    : cfg_((cfg.validate(), cfg)),
      init_rng_(cfg.seed, kStreamInit),
      batch_rng_(cfg.seed, kStreamBatch),
      noise_rng_(cfg.seed, kStreamNoise) {
  const int d = static_cast<int>(cfg.features), z = static_cast<int>(cfg.noise_dim()), H = static_cast<int>(cfg.hidden),
            L = static_cast<int>(cfg.layers);
  const int hs = static_cast<int>(cfg.static_code());  // the static code appended to each step (0: none)
  const int C = static_cast<int>(cfg.condition_dim);   // the condition appended to each step (0: none)
  e_ = Network("embedder", cfg.cell, L, static_cast<int>(cfg.embedder_inputs()) + hs, H, H, Head::Sigmoid, init_rng_, cfg.dtype,
               cfg.device);
  r_ = Network("recovery", cfg.cell, L, H, H, d, Head::Sigmoid, init_rng_, cfg.dtype, cfg.device);
  g_ = Network("generator", cfg.cell, L, z + hs + C, H, H, Head::Sigmoid, init_rng_, cfg.dtype, cfg.device);
  s_ = Network("supervisor", cfg.cell, L - 1, H + hs + C, H, H, Head::Sigmoid, init_rng_, cfg.dtype, cfg.device);
  d_ = Network("discriminator", cfg.cell, L, H + C, H, 1, Head::Linear, init_rng_, cfg.dtype, cfg.device);
  if (!cfg.categorical.empty()) r_.set_output_blocks(cfg.numeric_features(), cfg.categorical);
  const bool st = cfg.static_features > 0;
  if (st) {  // drawn after the five networks, so that their initial values do not change
    const int S = static_cast<int>(cfg.static_features);
    es_ = DenseNet("static_embedder", S, H, Head::Sigmoid, init_rng_, cfg.dtype, cfg.device);
    rs_ = DenseNet("static_recovery", H, S, Head::Sigmoid, init_rng_, cfg.dtype, cfg.device);
    gs_ = DenseNet("static_generator", S + C, H, Head::Sigmoid, init_rng_, cfg.dtype, cfg.device);
    ds_ = DenseNet("static_discriminator", H + C, 1, Head::Linear, init_rng_, cfg.dtype, cfg.device);
  }
  opt_.emplace_back(join("E0", e_, r_, st ? &es_ : nullptr, st ? &rs_ : nullptr), cfg.adam);
  opt_.emplace_back(join("E", e_, r_, st ? &es_ : nullptr, st ? &rs_ : nullptr), cfg.adam);
  opt_.emplace_back(join("GS", g_, s_), cfg.adam);
  opt_.emplace_back(join("G", g_, s_, st ? &gs_ : nullptr), cfg.adam);
  ParamGroup dg;
  dg.name = "D";
  dg.extend(d_.params());
  if (st) dg.extend(ds_.params());
  opt_.emplace_back(dg, cfg.adam);
  if (cfg.iterations == 0) phase_ = Phase::Done;
  deferred_ = cfg.device != Device::CPU;
}

namespace {
bool all_finite(const Tensor& t) {
  for (double v : t.to_vector())
    if (!std::isfinite(v)) return false;
  return true;
}
}  // namespace

std::vector<const DenseNet*> TimeGan::static_nets() const {
  if (cfg_.static_features == 0) return {};
  return {&es_, &rs_, &gs_, &ds_};
}

std::string TimeGan::first_nonfinite_tensor() const {
  for (const Network* n : {&e_, &r_, &g_, &s_, &d_})
    for (size_t i = 0; i < n->params().params.size(); ++i)
      if (!all_finite(n->params().params[i].value())) return n->name() + "/" + n->params().names[i];
  for (const DenseNet* n : static_nets())
    for (size_t i = 0; i < n->params().params.size(); ++i)
      if (!all_finite(n->params().params[i].value())) return n->name() + "/" + n->params().names[i];
  for (size_t k = 0; k < opt_.size(); ++k) {
    Adam& a = const_cast<Adam&>(opt_[k]);
    for (size_t i = 0; i < a.m().size(); ++i) {
      if (!all_finite(a.m()[i])) return std::string("adam/") + kOptimizerNames[k] + "/m/" + std::to_string(i);
      if (!all_finite(a.v()[i])) return std::string("adam/") + kOptimizerNames[k] + "/v/" + std::to_string(i);
    }
  }
  return "";
}

int64_t TimeGan::parameter_count() const {
  int64_t n = e_.params().numel() + r_.params().numel() + g_.params().numel() + s_.params().numel() +
              d_.params().numel();
  for (const DenseNet* s : static_nets()) n += s->params().numel();
  return n;
}

void TimeGan::set_data(const io::Windows& w) {
  if (w.seq != cfg_.seq_len || w.dim != cfg_.features)
    throw std::invalid_argument("TimeGan::set_data: windows [" + std::to_string(w.n) + ", " + std::to_string(w.seq) +
                                ", " + std::to_string(w.dim) + "] do not match seq_len " + std::to_string(cfg_.seq_len) +
                                " and features " + std::to_string(cfg_.features));
  if (w.n < 1) throw std::invalid_argument("TimeGan::set_data: no windows");
  // A window of one valid step has no step-to-step transition: G_loss_S has no terms and is 0
  // for a batch of such windows, and the generator loss's 100·sqrt(G_loss_S) then has an
  // infinite derivative (times a zero gradient: NaN in every generator weight).
  for (int64_t i = 0; i < w.n; ++i)
    if (w.length(i) < 2)
      throw std::invalid_argument("TimeGan::set_data: window " + std::to_string(i) + " has " +
                                  std::to_string(w.length(i)) + " valid step(s); every window needs at least 2");
  const int64_t S = cfg_.static_features;
  if (w.static_dim != S || static_cast<int64_t>(w.statics.size()) != w.n * w.static_dim)
    throw std::invalid_argument("TimeGan::set_data: the windows hold " + std::to_string(w.static_dim) +
                                " static feature(s); the model is configured for " + std::to_string(S));
  for (size_t i = 0; i < w.statics.size(); ++i)
    if (!std::isfinite(w.statics[i]))
      throw std::invalid_argument("TimeGan::set_data: window " + std::to_string(static_cast<int64_t>(i) / S) +
                                  ": static feature " + std::to_string(static_cast<int64_t>(i) % S) + " is not finite");
  if (S > 0) statics_ = Tensor::from_vector(Shape{w.n, S}, w.statics, cfg_.dtype, cfg_.device);
  const int64_t C = cfg_.condition_dim;
  if (w.cond_dim != C || static_cast<int64_t>(w.conditions.size()) != w.n * w.cond_dim)
    throw std::invalid_argument("TimeGan::set_data: the windows hold a condition of width " + std::to_string(w.cond_dim) +
                                "; the model is configured for " + std::to_string(C));
  for (size_t i = 0; i < w.conditions.size(); ++i)
    if (!std::isfinite(w.conditions[i]))
      throw std::invalid_argument("TimeGan::set_data: window " + std::to_string(static_cast<int64_t>(i) / C) +
                                  ": condition entry " + std::to_string(static_cast<int64_t>(i) % C) + " is not finite");
  if (C > 0) conds_ = Tensor::from_vector(Shape{w.n, C}, w.conditions, cfg_.dtype, cfg_.device);
  n_ = w.n;
  const int64_t numeric = cfg_.numeric_features();
  std::vector<double> obs;
  bool any_missing = false;
  for (size_t i = 0; i < w.data.size() && !any_missing; ++i) any_missing = std::isnan(w.data[i]);
  if (any_missing && !cfg_.missing_mask)
    throw std::invalid_argument("TimeGan::set_data: the windows hold missing (NaN) cells; a model configured without "
                                "missing cells cannot train on them");
  if (cfg_.missing_mask) {
    // Missing cells become 0 in the data and 0 in the observed indicators; padding steps are
    // not observed either.
    std::vector<double> x = w.data, in(static_cast<size_t>(w.n * w.seq * (w.dim + numeric)), 0.0);
    obs.assign(w.data.size(), 0.0);
    for (int64_t i = 0; i < w.n; ++i)
      for (int64_t t = 0; t < w.seq; ++t)
        for (int64_t k = 0; k < w.dim; ++k) {
          const size_t at = static_cast<size_t>((i * w.seq + t) * w.dim + k);
          const bool missing = std::isnan(x[at]);
          if (missing && k >= numeric)
            throw std::invalid_argument("TimeGan::set_data: window " + std::to_string(i) + " step " + std::to_string(t) +
                                        ": a categorical feature is missing");
          if (missing) x[at] = 0.0;
          const double o = (!missing && t < w.length(i)) ? 1.0 : 0.0;
          obs[at] = o;
          const size_t row = static_cast<size_t>((i * w.seq + t) * (w.dim + numeric));
          in[row + static_cast<size_t>(k)] = x[at];
          if (k < numeric) in[row + static_cast<size_t>(w.dim + k)] = o;
        }
    data_ = Tensor::from_vector(Shape{w.n, w.seq, w.dim}, x, cfg_.dtype, cfg_.device);
    data_in_ = Tensor::from_vector(Shape{w.n, w.seq, w.dim + numeric}, in, cfg_.dtype, cfg_.device);
    observed_ = Tensor::from_vector(Shape{w.n, w.seq, w.dim}, obs, cfg_.dtype, cfg_.device);
  } else {
    data_ = Tensor::from_vector(Shape{w.n, w.seq, w.dim}, w.data, cfg_.dtype, cfg_.device);
  }
  lengths_.assign(static_cast<size_t>(w.n), static_cast<int32_t>(w.seq));
  varlen_ = false;
  for (int64_t i = 0; i < w.n; ++i) {
    lengths_[static_cast<size_t>(i)] = static_cast<int32_t>(w.length(i));
    varlen_ = varlen_ || w.length(i) != w.seq;
  }
}

TimeGan::Batch TimeGan::sample_batch() {
  if (n_ == 0) throw std::logic_error("TimeGan: no training data (call set_data first)");
  const int64_t B = std::min(cfg_.batch, n_);
  // As np.random.permutation(n)[:batch]: distinct windows, drawn afresh for every batch.
  const std::vector<int64_t> idx = batch_rng_.sample_without_replacement(n_, B);
  const int64_t T = cfg_.seq_len, d = cfg_.features, row = T * d;
  Tensor x = Tensor::empty(Shape{B, T, d}, cfg_.dtype, cfg_.device);
  Backend& be = backend_for(cfg_.device);
  Batch b;
  // One gather per tensor (the indices travel to a device with the launch; nothing waits).
  be.gather_rows(x, data_, idx, row);
  if (varlen_)
    for (int64_t i = 0; i < B; ++i) b.lengths.push_back(lengths_[static_cast<size_t>(idx[static_cast<size_t>(i)])]);
  b.x = Var(x);
  if (const int64_t S = cfg_.static_features; S > 0) {
    Tensor st = Tensor::empty(Shape{B, S}, cfg_.dtype, cfg_.device);
    be.gather_rows(st, statics_, idx, S);
    b.s = Var(st);
  }
  if (const int64_t C = cfg_.condition_dim; C > 0) {
    Tensor ct = Tensor::empty(Shape{B, C}, cfg_.dtype, cfg_.device);
    be.gather_rows(ct, conds_, idx, C);
    b.c = Var(ct);
  }
  if (varlen_) b.mask = length_mask(b.lengths, T, cfg_.dtype, cfg_.device);
  if (cfg_.missing_mask) {
    const int64_t din = cfg_.embedder_inputs(), row_in = T * din;
    Tensor xi = Tensor::empty(Shape{B, T, din}, cfg_.dtype, cfg_.device);
    Tensor ob = Tensor::empty(Shape{B, T, d}, cfg_.dtype, cfg_.device);
    be.gather_rows(xi, data_in_, idx, row_in);
    be.gather_rows(ob, observed_, idx, row);
    b.x_in = Var(xi);
    b.observed = Var(ob);
  }
  return b;
}

Var TimeGan::sample_noise(int64_t b, Rng& rng) const {
  // Z ~ U[0, 1) i.i.d. per sequence, step and dimension (the reference's random_generator).
  Tensor z = Tensor::empty(Shape{b, cfg_.seq_len, cfg_.noise_dim()}, cfg_.dtype, cfg_.device);
  fill_uniform(z, rng, 0.0, 1.0);
  return Var(z);
}

Var TimeGan::sample_static_noise(int64_t b, Rng& rng) const {
  if (cfg_.static_features == 0) return Var();
  Tensor z = Tensor::empty(Shape{b, cfg_.static_features}, cfg_.dtype, cfg_.device);
  fill_uniform(z, rng, 0.0, 1.0);
  return Var(z);
}

Var TimeGan::static_code(const Batch& b) const { return b.s.defined() ? es_.forward(b.s) : Var(); }

Var TimeGan::static_generate(const Var& zs, const Var& c) const {
  return zs.defined() ? gs_.forward(with_cond_dense(zs, c)) : Var();
}

Var TimeGan::static_recovery_loss(const Batch& b, const Var& hs) const {
  return hs.defined() ? mse(b.s, rs_.forward(hs)) : Var();
}

void TimeGan::only_trainable(std::initializer_list<Network*> nets) {
  Network* owners[4] = {&e_, &r_, &g_, &d_};
  DenseNet* statics[4] = {&es_, &rs_, &gs_, &ds_};
  for (Network* n : {&e_, &r_, &g_, &s_, &d_}) {
    bool on = false;
    for (Network* m : nets) on = on || m == n;
    n->set_trainable(on);
    n->params().zero_grad();
    if (cfg_.static_features > 0)  // each static map trains with its temporal network
      for (int k = 0; k < 4; ++k)
        if (owners[k] == n) {
          statics[k]->set_trainable(on);
          statics[k]->params().zero_grad();
        }
  }
}

namespace {
std::vector<int32_t> cat_lengths(std::initializer_list<const std::vector<int32_t>*> ls) {
  std::vector<int32_t> out;
  for (auto* l : ls) out.insert(out.end(), l->begin(), l->end());
  return out;
}
}  // namespace

Var TimeGan::recovery_loss(const Batch& b, const Var& r_states) const {
  if (cfg_.categorical.empty()) {
    if (b.observed.defined()) return observed_mse(b.x, r_.head(r_states), b.observed);  // missing cells
    return reconstruction_loss(b.x, r_.head(r_states), b.mask);  // the reference's MSE
  }
  Var logits = r_.logits(r_states);
  return mixed_reconstruction_loss(b.x, r_.activate(logits), logits, cfg_.numeric_features(), cfg_.categorical, b.mask,
                                   b.observed);
}

void TimeGan::step_embedding(StepLosses& out) {
  only_trainable({&e_, &r_});
  Batch b = sample_batch();
  Var hs = static_code(b);
  Var h = e_.forward(with_static(b.embed_in(), hs), b.lengths);
  Var e_t0 = recovery_loss(b, r_.hidden_states(h, b.lengths));
  if (hs.defined()) e_t0 = add(e_t0, static_recovery_loss(b, hs));
  Var e0 = scale(sqrt(e_t0), 10.0);
  backward(e0);
  opt_[0].step();
  put(out, &StepLosses::e_loss_t0, e_t0);
  put(out, &StepLosses::e_loss0, e0);
}

void TimeGan::step_supervised(StepLosses& out) {
  only_trainable({&g_, &s_});
  Batch b = sample_batch();
  Var hs = static_code(b);
  Var h = e_.forward(with_static(b.embed_in(), hs), b.lengths);
  Var h_hat_sup = s_.forward(with_cond(with_static(h, hs), b.c), b.lengths);
  Var gs = supervised_loss(h, h_hat_sup, b.mask);
  backward(gs);
  opt_[2].step();
  put(out, &StepLosses::g_loss_s, gs);
}

void TimeGan::step_joint(StepLosses& out) {
  const int64_t T = cfg_.seq_len;
  for (int kk = 0; kk < 2; ++kk) {
    Batch b = sample_batch();
    const int64_t B = b.x.shape()[0];
    Var z = sample_noise(B, noise_rng_);
    Var zs = sample_static_noise(B, noise_rng_);
    const std::vector<int32_t>& L = b.lengths;  // Z shares the batch's lengths, as in the reference
    // The embedder's codes of this batch, H = E(X), are the same in both steps below: the
    // generator step changes only the generator and the supervisor. So E runs once, recorded for
    // the embedder step's gradient, and the generator step reads its value without the tape
    // (bit for bit what a second forward gives).
    only_trainable({&e_, &r_});
    Var hs2 = static_code(b);
    Var h2 = e_.forward(with_static(b.embed_in(), hs2), L);
    // ---- generator step: G_loss -> generator + supervisor
    only_trainable({&g_, &s_});
    Var hs = hs2.defined() ? hs2.detach() : Var();
    Var hs_hat = static_generate(zs, b.c);
    Var h = h2.detach();
    // Generated sequences take the batch's own conditions: the fake (sequence, condition) pairs
    // have the conditions' training distribution.
    Var e_hat = g_.forward(with_cond(with_static(z, hs_hat), b.c), L);
    const std::vector<int32_t> L2 = L.empty() ? L : cat_lengths({&L, &L});
    const Var c2 = repeat_cond(b.c, 2);
    Var s_out = s_.forward(with_cond(concat_batch({with_static(h, hs), with_static(e_hat, hs_hat)}), c2), L2);
    Var h_hat_sup = slice_batch(s_out, 0, B), h_hat = slice_batch(s_out, B, 2 * B);
    Var x_hat = r_.forward(h_hat, L);
    Var y = d_.forward(with_cond(concat_batch({h_hat, e_hat}), c2), L2);
    Var y_fake = slice_batch(y, 0, B), y_fake_e = slice_batch(y, B, 2 * B);
    Var g_s = supervised_loss(h, h_hat_sup, b.mask);
    Var g_v = moment_loss(b.x, x_hat, b.target_mask(), b.mask);
    GLossParts g = generator_loss(y_fake, y_fake_e, g_s, g_v, cfg_.gamma, b.mask);
    if (hs_hat.defined()) {
      // The static adversarial term (weight 1, reported inside G_loss_U) and the static moments
      // (as the temporal ones, weight 100, reported inside G_loss_V).
      Var u_s = static_adversarial_loss(ds_.forward(with_cond_dense(hs_hat, b.c)));
      Var v_s = static_moment_loss(b.s, rs_.forward(hs_hat));
      g.u = add(g.u, u_s);
      g.v = add(g.v, v_s);
      g.total = add(add(g.total, u_s), scale(v_s, 100.0));
    }
    backward(g.total);
    opt_[3].step();
    // ---- embedder step on the same X (and the same H = h2): E_loss -> embedder + recovery
    only_trainable({&e_, &r_});
    Var r_states = r_.hidden_states(h2, L);
    Var h_hat_sup2 = s_.forward(with_cond(with_static(h2, hs2), b.c), L);
    Var e_t0 = recovery_loss(b, r_states);
    if (hs2.defined()) e_t0 = add(e_t0, static_recovery_loss(b, hs2));
    Var g_s2 = supervised_loss(h2, h_hat_sup2, b.mask);
    Var e_loss = add(scale(sqrt(e_t0), 10.0), scale(g_s2, 0.1));
    backward(e_loss);
    opt_[1].step();
    if (kk == 1) {  // (e_loss0 = 10 sqrt(e_loss_t0) is derived on the host: finish_losses)
      put(out, &StepLosses::g_loss_u, g.u);
      put(out, &StepLosses::g_loss_u_e, g.u_e);
      put(out, &StepLosses::g_loss_s, g.s);
      put(out, &StepLosses::g_loss_v, g.v);
      put(out, &StepLosses::g_loss, g.total);
      put(out, &StepLosses::e_loss_t0, e_t0);
      put(out, &StepLosses::e_loss, e_loss);
    }
  }
  // ---- discriminator: fresh X, Z; step only when D_loss > threshold
  only_trainable({&d_});
  Batch b = sample_batch();
  const int64_t B = b.x.shape()[0];
  Var z = sample_noise(B, noise_rng_);
  Var zs = sample_static_noise(B, noise_rng_);
  const std::vector<int32_t>& L = b.lengths;
  Var h, h_hat, e_hat, hs, hs_hat;
  {
    NoGradGuard ng;  // e, g, s are frozen: no tape through them
    hs = static_code(b);
    hs_hat = static_generate(zs, b.c);
    h = e_.forward(with_static(b.embed_in(), hs), L);
    e_hat = g_.forward(with_cond(with_static(z, hs_hat), b.c), L);
    h_hat = s_.forward(with_cond(with_static(e_hat, hs_hat), b.c), L);
  }
  const std::vector<int32_t> L3 = L.empty() ? L : cat_lengths({&L, &L, &L});
  Var y = d_.forward(with_cond(concat_batch({h, h_hat, e_hat}), repeat_cond(b.c, 3)), L3);
  DLossParts dl = discriminator_loss(slice_batch(y, 0, B), slice_batch(y, B, 2 * B), slice_batch(y, 2 * B, 3 * B),
                                     cfg_.gamma, b.mask, b.mask);
  if (hs.defined()) {  // the static discriminator on real and generated static codes, weight 1
    Var ys = ds_.forward(with_cond_dense(concat_batch({hs, hs_hat}), repeat_cond(b.c, 2)));
    Var d_s = static_discriminator_loss(slice_batch(ys, 0, B), slice_batch(ys, B, 2 * B));
    dl.total = add(dl.total, d_s);
  }
  put(out, &StepLosses::d_loss, dl.total);
  if (deferred_) {
    // The device decides: the gradient is always computed, the update runs only when
    // D_loss > threshold (Adam::step_if), so the host never waits for D_loss. The weights end
    // as when the backward is skipped: D's gradients are cleared after every iteration.
    backward(dl.total);
    opt_[4].step_if(dl.total.value(), cfg_.d_threshold);
  } else if (out.d_loss > cfg_.d_threshold) {
    backward(dl.total);
    opt_[4].step();
  }
  (void)T;
}

namespace {
// The device buffer's columns are kLossFields' (the csv order).
constexpr int64_t kLossColumns = static_cast<int64_t>(sizeof kLossFields / sizeof kLossFields[0]);

int loss_column(double StepLosses::*field) {
  for (int c = 0; c < kLossColumns; ++c)
    if (kLossFields[c].field == field) return c;
  throw std::logic_error("TimeGan: a loss without a column");
}
}  // namespace

void TimeGan::put(StepLosses& out, double StepLosses::*field, const Var& v) {
  if (!deferred_) {
    out.*field = val(v);
    return;
  }
  // A device-to-device copy of the scalar into this iteration's row; read with the block.
  const int c = loss_column(field);
  const size_t es = dtype_size(cfg_.dtype);
  char* dst = static_cast<char*>(loss_buf_.raw()) + static_cast<size_t>(row_ * kLossColumns + c) * es;
  backend_for(cfg_.device).copy(dst, v.value().raw(), es);
  put_mask_[static_cast<size_t>(row_)] |= 1u << c;
}

void TimeGan::finish_losses(StepLosses& l) const {
  if (l.phase != Phase::Joint) return;
  l.e_loss0 = 10.0 * std::sqrt(l.e_loss_t0);
  l.d_stepped = l.d_loss > cfg_.d_threshold;  // what the step decided (on the host or the device)
}

StepLosses TimeGan::step_one() {
  StepLosses out;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  out.e_loss_t0 = out.e_loss0 = out.e_loss = out.g_loss_s = out.g_loss_u = out.g_loss_u_e = out.g_loss_v = out.g_loss =
      out.d_loss = nan;
  out.phase = phase_;
  out.iteration = iter_;
  switch (phase_) {
    case Phase::Embedding: step_embedding(out); break;
    case Phase::Supervised: step_supervised(out); break;
    case Phase::Joint: step_joint(out); break;
    case Phase::Done: throw std::logic_error("TimeGan::step: training is already complete");
  }
  if (++iter_ >= cfg_.iterations) {
    iter_ = 0;
    phase_ = static_cast<Phase>(static_cast<int>(phase_) + 1);
  }
  for (Network* n : {&e_, &r_, &g_, &s_, &d_}) n->params().zero_grad();
  if (cfg_.static_features > 0)
    for (DenseNet* n : {&es_, &rs_, &gs_, &ds_}) n->params().zero_grad();
  return out;
}

std::vector<StepLosses> TimeGan::steps(int64_t k) {
  if (phase_ == Phase::Done) throw std::logic_error("TimeGan::step: training is already complete");
  k = std::max<int64_t>(1, std::min(k, cfg_.iterations - iter_));
  std::vector<StepLosses> out;
  out.reserve(static_cast<size_t>(k));
  if (deferred_) {
    if (loss_buf_.numel() < k * kLossColumns)  // grows to the largest block once, then reused
      loss_buf_ = Tensor::empty(Shape{k, kLossColumns}, cfg_.dtype, cfg_.device);
    put_mask_.assign(static_cast<size_t>(k), 0u);
  }
  for (row_ = 0; row_ < k; ++row_) out.push_back(step_one());
  if (deferred_) {
    // The block's one read: every loss of every iteration (the log stays per iteration).
    std::vector<double> v(static_cast<size_t>(k * kLossColumns));
    Backend& be = backend_for(cfg_.device);
    if (cfg_.dtype == DType::F32) {
      std::vector<float> f(v.size());
      be.to_host(f.data(), loss_buf_.raw(), f.size() * sizeof(float));
      std::copy(f.begin(), f.end(), v.begin());
    } else {
      be.to_host(v.data(), loss_buf_.raw(), v.size() * sizeof(double));
    }
    for (int64_t r = 0; r < k; ++r)
      for (int c = 0; c < kLossColumns; ++c)
        if (put_mask_[static_cast<size_t>(r)] & (1u << c))
          out[static_cast<size_t>(r)].*kLossFields[c].field = v[static_cast<size_t>(r * kLossColumns + c)];
    opt_[4].sync_steps();
  }
  for (StepLosses& l : out) finish_losses(l);
  return out;
}

StepLosses TimeGan::step() { return steps(1)[0]; }

io::Windows TimeGan::generate(int64_t n, uint64_t seed, int64_t chunk) {
  if (cfg_.condition_dim > 0)
    throw std::invalid_argument("TimeGan::generate: the model is conditional; give each sequence's condition");
  return generate(n, seed, std::vector<double>(), chunk);
}

io::Windows TimeGan::generate(int64_t n, uint64_t seed, const std::vector<double>& conditions, int64_t chunk) {
  const int64_t C = cfg_.condition_dim;
  if (static_cast<int64_t>(conditions.size()) != n * C)
    throw std::invalid_argument("TimeGan::generate: " + std::to_string(conditions.size()) + " condition values for " +
                                std::to_string(n) + " sequences of a condition of width " + std::to_string(C));
  for (double v : conditions)
    if (!std::isfinite(v)) throw std::invalid_argument("TimeGan::generate: a condition value is not finite");
  NoGradGuard ng;
  Rng rng(seed, kStreamGenerate), static_rng(seed, kStreamGenerateStatic);
  io::Windows w;
  w.n = n;
  w.seq = cfg_.seq_len;
  w.dim = cfg_.features;
  w.data.reserve(static_cast<size_t>(n * w.seq * w.dim));
  w.static_dim = cfg_.static_features;
  w.cond_dim = C;
  w.conditions = conditions;
  for (int64_t start = 0; start < n; start += chunk) {
    const int64_t b = std::min(chunk, n - start);
    std::vector<int32_t> L;
    if (varlen_) {
      if (lengths_.empty()) throw std::logic_error("TimeGan::generate: variable-length model without training lengths");
      for (int64_t i = 0; i < b; ++i) L.push_back(lengths_[rng.next_below(lengths_.size())]);
      w.lengths.insert(w.lengths.end(), L.begin(), L.end());
    }
    Var z = sample_noise(b, rng);
    Var zs = sample_static_noise(b, static_rng);
    Var c;
    if (C > 0) {
      const auto first = conditions.begin() + static_cast<std::ptrdiff_t>(start * C);
      c = Var(Tensor::from_vector(Shape{b, C}, std::vector<double>(first, first + static_cast<std::ptrdiff_t>(b * C)),
                                  cfg_.dtype, cfg_.device));
    }
    Var hs_hat = static_generate(zs, c);
    Var e_hat = g_.forward(with_cond(with_static(z, hs_hat), c), L);
    Var x_hat = r_.forward(s_.forward(with_cond(with_static(e_hat, hs_hat), c), L), L);
    if (hs_hat.defined()) {
      const std::vector<double> sv = rs_.forward(hs_hat).value().to_vector();
      w.statics.insert(w.statics.end(), sv.begin(), sv.end());
    }
    std::vector<double> v = x_hat.value().to_vector();
    if (varlen_)  // cut each output to its length (zeros past it)
      for (int64_t i = 0; i < b; ++i)
        for (int64_t t = L[static_cast<size_t>(i)]; t < w.seq; ++t)
          for (int64_t k = 0; k < w.dim; ++k) v[static_cast<size_t>((i * w.seq + t) * w.dim + k)] = 0.0;
    w.data.insert(w.data.end(), v.begin(), v.end());
  }
  return w;
}

// ---- checkpoints ------------------------------------------------------------------------

namespace {
io::CkptTensor to_ckpt(const std::string& name, const Tensor& t) {
  Tensor h = t.device() == Device::CPU ? t : t.to(Device::CPU);
  if (h.dtype() == DType::F32) return io::CkptTensor::from_f32(name, h.shape().dims(), h.data<float>());
  return io::CkptTensor::from_f64(name, h.shape().dims(), h.data<double>());
}
void from_ckpt(const io::Checkpoint& c, const std::string& name, Tensor& dst) {
  const io::CkptTensor& t = c.get(name);
  if (Shape(t.shape) != dst.shape())
    throw io::InputError(c.source + ": tensor '" + name + "' has shape " + Shape(t.shape).str() + ", expected " +
                         dst.shape().str());
  Tensor h = dst.dtype() == DType::F32 ? Tensor::from_floats(dst.shape(), t.to_f32())
                                       : Tensor::from_vector(dst.shape(), t.to_f64(), DType::F64);
  if (dst.device() != Device::CPU) h = h.to(dst.device());
  backend_for(dst.device()).copy(dst.raw(), h.raw(), dst.nbytes());
}
}  // namespace

io::Checkpoint TimeGan::to_checkpoint(const io::Json& extra_meta) const {
  io::Checkpoint c;
  c.config_json = cfg_.to_json().dump();
  io::Json meta = io::Json::object();
  meta["phase"] = phase_name(phase_);
  meta["iteration"] = static_cast<long long>(iter_);
  meta["batch_rng_counter"] = static_cast<unsigned long long>(batch_rng_.counter());
  meta["noise_rng_counter"] = static_cast<unsigned long long>(noise_rng_.counter());
  io::Json steps = io::Json::object();
  for (size_t i = 0; i < opt_.size(); ++i) steps[kOptimizerNames[i]] = static_cast<long long>(opt_[i].steps());
  meta["adam_steps"] = steps;
  meta["extra"] = extra_meta;
  c.meta_json = meta.dump();
  for (const Network* n : {&e_, &r_, &g_, &s_, &d_})
    for (size_t i = 0; i < n->params().params.size(); ++i)
      c.add(to_ckpt(n->name() + "/" + n->params().names[i], n->params().params[i].value()));
  for (const DenseNet* n : static_nets())
    for (size_t i = 0; i < n->params().params.size(); ++i)
      c.add(to_ckpt(n->name() + "/" + n->params().names[i], n->params().params[i].value()));
  if (varlen_) {  // the length distribution that generation resamples from
    std::vector<float> l(lengths_.begin(), lengths_.end());
    c.add(io::CkptTensor::from_f32("data/lengths", {static_cast<int64_t>(l.size())}, l.data()));
  }
  for (size_t k = 0; k < opt_.size(); ++k) {
    Adam& a = const_cast<Adam&>(opt_[k]);
    for (size_t i = 0; i < a.m().size(); ++i) {
      c.add(to_ckpt(std::string("adam/") + kOptimizerNames[k] + "/m/" + std::to_string(i), a.m()[i]));
      c.add(to_ckpt(std::string("adam/") + kOptimizerNames[k] + "/v/" + std::to_string(i), a.v()[i]));
    }
  }
  return c;
}

io::Json TimeGan::load_checkpoint(const io::Checkpoint& c) {
  const std::string src = c.source.empty() ? "checkpoint" : c.source;
  io::Json cj, meta;
  try {
    cj = io::Json::parse(c.config_json, src + " (config)");
    meta = io::Json::parse(c.meta_json, src + " (meta)");
  } catch (const std::exception& e) {
    throw io::InputError(e.what());
  }
  TimeGanConfig saved;
  try {
    saved = TimeGanConfig::from_json(cj);
  } catch (const std::exception& e) {
    throw io::InputError(src + ": config is not a TimeGAN configuration: " + e.what());
  }
  const std::string diff = saved.mismatch(cfg_);
  if (!diff.empty()) throw io::InputError(src + ": checkpoint from another configuration: " + diff);
  // The position and counters are checked like data before anything is loaded: a checkpoint
  // whose CRC is valid may still have been written by hand or by another program.
  const CheckpointPosition pos = checkpoint_position(meta, saved, src);
  for (Network* n : {&e_, &r_, &g_, &s_, &d_})
    for (size_t i = 0; i < n->params().params.size(); ++i)
      from_ckpt(c, n->name() + "/" + n->params().names[i], n->params().params[i].mutable_value());
  if (cfg_.static_features > 0)
    for (DenseNet* n : {&es_, &rs_, &gs_, &ds_})
      for (size_t i = 0; i < n->params().params.size(); ++i)
        from_ckpt(c, n->name() + "/" + n->params().names[i], n->params().params[i].mutable_value());
  for (size_t k = 0; k < opt_.size(); ++k) {
    for (size_t i = 0; i < opt_[k].m().size(); ++i) {
      from_ckpt(c, std::string("adam/") + kOptimizerNames[k] + "/m/" + std::to_string(i), opt_[k].m()[i]);
      from_ckpt(c, std::string("adam/") + kOptimizerNames[k] + "/v/" + std::to_string(i), opt_[k].v()[i]);
    }
    opt_[k].set_steps(pos.adam_steps[k]);
  }
  if (const io::CkptTensor* l = c.find("data/lengths")) {
    const std::vector<float> v = l->to_f32();
    if (v.empty()) throw io::InputError(src + ": tensor 'data/lengths' is empty (no training sequence lengths)");
    for (float x : v)  // each a whole number of steps in [1, seq_len] (else the float->int cast is undefined)
      if (!(x >= 1.0f && x <= static_cast<float>(cfg_.seq_len) && x == std::floor(x)))
        throw io::InputError(src + ": corrupt checkpoint: data/lengths holds " + io::format_double(x) +
                             ", not a sequence length in [1, " + std::to_string(cfg_.seq_len) + "]");
    lengths_.assign(v.begin(), v.end());
    varlen_ = true;
  }
  const std::string& ph = pos.phase;
  phase_ = ph == "embedding" ? Phase::Embedding : ph == "supervised" ? Phase::Supervised : ph == "joint" ? Phase::Joint : Phase::Done;
  iter_ = pos.iteration;
  batch_rng_.set_counter(pos.batch_rng_counter);
  noise_rng_.set_counter(pos.noise_rng_counter);
  // The iteration budget may have been changed on resume: clamp the phase position. A finished
  // run given more iterations continues its joint phase (the last) to the new count; the
  // embedding and supervised phases keep the iterations they ran.
  if (phase_ == Phase::Done && cfg_.iterations > saved.iterations) {
    phase_ = Phase::Joint;
    iter_ = saved.iterations;
  }
  if (phase_ != Phase::Done && iter_ >= cfg_.iterations) {
    iter_ = 0;
    phase_ = static_cast<Phase>(static_cast<int>(phase_) + 1);
  }
  return meta.contains("extra") ? meta.at("extra") : io::Json::object();
}

}  // namespace tg::models
