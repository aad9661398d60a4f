#include "tg/models/metrics.h"

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

#include "tg/models/network.h"
#include "tg/ops.h"
#include "tg/optim.h"

namespace tg::models::metrics {

namespace {

constexpr uint64_t kDataStreamOffset = uint64_t{1} << 32;  // data stream = init stream + 2^32

void check_pair(const io::Windows& a, const io::Windows& b, const char* what) {
  if (a.dim != b.dim || a.seq != b.seq)
    throw std::invalid_argument(std::string(what) + ": real windows are " + std::to_string(a.seq) + " steps x " +
                                std::to_string(a.dim) + " features but synthetic windows are " +
                                std::to_string(b.seq) + " x " + std::to_string(b.dim));
}

bool all_full(const io::Windows& w) {
  for (int64_t i = 0; i < w.n; ++i)
    if (w.length(i) != w.seq) return false;
  return true;
}

double normal(Rng& rng) {  // Box-Muller
  const double u1 = 1.0 - rng.next_double(), u2 = rng.next_double();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

// Copies windows idx (from up to two sets) into a float buffer [B, T, d] plus lengths.
struct BatchBuf {
  std::vector<float> x;
  std::vector<int32_t> len;
  void clear() {
    x.clear();
    len.clear();
  }
  void add(const io::Windows& w, int64_t i) {
    const double* p = w.data.data() + i * w.seq * w.dim;
    for (int64_t k = 0; k < w.seq * w.dim; ++k) x.push_back(static_cast<float>(p[k]));
    len.push_back(static_cast<int32_t>(std::max<int64_t>(1, w.length(i))));
  }
};

}  // namespace

int posthoc_hidden(int64_t dim) { return static_cast<int>(std::max<int64_t>(1, dim / 2)); }

void mean_std(const std::vector<double>& v, double& mean, double& std) {
  mean = 0;
  std = 0;
  if (v.empty()) return;
  for (double x : v) mean += x;
  mean /= static_cast<double>(v.size());
  for (double x : v) std += (x - mean) * (x - mean);
  std = std::sqrt(std / static_cast<double>(v.size()));
}

// ---- §5.1 discriminative score ---------------------------------------------------------------

DiscriminativeResult discriminative_score(const io::Windows& real, const io::Windows& syn, const PostHocOptions& o) {
  check_pair(real, syn, "discriminative score");
  if (real.n < 2 || syn.n < 2) throw std::invalid_argument("discriminative score: needs at least 2 windows in each set");
  const int64_t T = real.seq, d = real.dim, iters = o.iterations > 0 ? o.iterations : 2000;
  const bool full = all_full(real) && all_full(syn);
  Rng init(o.seed, o.stream), data(o.seed, o.stream + kDataStreamOffset);
  // utils.py train_test_divide: each set split by its own permutation, first int(0.8 n) train.
  const std::vector<int64_t> pr = data.permutation(real.n), ps = data.permutation(syn.n);
  const int64_t nr = static_cast<int64_t>(0.8 * static_cast<double>(real.n));
  const int64_t ns = static_cast<int64_t>(0.8 * static_cast<double>(syn.n));
  Network net("posthoc_discriminator", Cell::GruTf1, 1, static_cast<int>(d), posthoc_hidden(d), 1, Head::Linear, init,
              DType::F32, o.device);
  Adam opt(net.params());
  BatchBuf buf;
  DiscriminativeResult res;
  for (int64_t it = 0; it < iters; ++it) {
    buf.clear();
    const int64_t br = std::min(o.batch, nr), bs = std::min(o.batch, ns);
    for (int64_t j : data.sample_without_replacement(nr, br)) buf.add(real, pr[static_cast<size_t>(j)]);
    for (int64_t j : data.sample_without_replacement(ns, bs)) buf.add(syn, ps[static_cast<size_t>(j)]);
    Var x(Tensor::from_floats(Shape{br + bs, T, d}, buf.x, o.device));
    Var h = net.hidden_states(x, full ? std::vector<int32_t>{} : buf.len);
    Var logit = net.head(last_valid_step(h, buf.len));
    Var loss = mean(sigmoid_cross_entropy(slice_batch(logit, 0, br), 1.0)) +
               mean(sigmoid_cross_entropy(slice_batch(logit, br, br + bs), 0.0));
    opt.zero_grad();
    backward(loss);
    opt.step();
    if (it + 1 == iters) res.final_loss = loss.value().item();
  }
  opt.zero_grad();
  // Test: every held-out window of both sets; prediction sigmoid(logit) > 0.5 <=> logit > 0.
  NoGradGuard ng;
  int64_t correct = 0;
  auto score_set = [&](const io::Windows& w, const std::vector<int64_t>& perm, int64_t from, bool label) {
    for (int64_t s = from; s < w.n; s += 1024) {
      const int64_t e = std::min(w.n, s + 1024);
      buf.clear();
      for (int64_t k = s; k < e; ++k) buf.add(w, perm[static_cast<size_t>(k)]);
      Var x(Tensor::from_floats(Shape{e - s, T, d}, buf.x, o.device));
      Var h = net.hidden_states(x, full ? std::vector<int32_t>{} : buf.len);
      const std::vector<double> z = net.head(last_valid_step(h, buf.len)).value().to_vector();
      for (double v : z) correct += ((v > 0) == label);
    }
  };
  score_set(real, pr, nr, true);
  score_set(syn, ps, ns, false);
  res.test_real = real.n - nr;
  res.test_synthetic = syn.n - ns;
  res.accuracy = static_cast<double>(correct) / static_cast<double>(res.test_real + res.test_synthetic);
  res.score = std::fabs(res.accuracy - 0.5);
  return res;
}

// ---- §5.2 predictive score -------------------------------------------------------------------

PredictiveResult predictive_score(const io::Windows& train, const io::Windows& test, const PostHocOptions& o) {
  check_pair(test, train, "predictive score");
  const int64_t T = train.seq, d = train.dim, iters = o.iterations > 0 ? o.iterations : 5000;
  if (T < 2) throw std::invalid_argument("predictive score: needs windows of at least 2 steps");
  if (train.n < 1 || test.n < 1) throw std::invalid_argument("predictive score: needs at least 1 window in each set");
  const bool own = d == 1;
  const int64_t in = own ? 1 : d - 1, target = d - 1, Tm = T - 1;
  const bool full = all_full(train) && all_full(test);
  Rng init(o.seed, o.stream), data(o.seed, o.stream + kDataStreamOffset);
  Network net("posthoc_predictor", Cell::GruTf1, 1, static_cast<int>(in), posthoc_hidden(d), 1, Head::Sigmoid, init,
              DType::F32, o.device);
  Adam opt(net.params());
  std::vector<float> x, y, m;
  std::vector<int32_t> len;
  // Window i -> X = w[i, 0:T-1, inputs], Y = w[i, 1:T, target], length L-1 (mask past it).
  auto gather = [&](const io::Windows& w, const std::vector<int64_t>& idx) {
    x.clear();
    y.clear();
    m.clear();
    len.clear();
    for (int64_t i : idx) {
      const int64_t L = std::max<int64_t>(0, w.length(i) - 1);
      len.push_back(static_cast<int32_t>(L));
      for (int64_t t = 0; t < Tm; ++t) {
        for (int64_t k = 0; k < in; ++k) x.push_back(static_cast<float>(w.at(i, t, own ? 0 : k)));
        y.push_back(static_cast<float>(w.at(i, t + 1, target)));
        m.push_back(t < L ? 1.f : 0.f);
      }
    }
  };
  PredictiveResult res;
  res.own_past = own;
  const int64_t b = std::min(o.batch, train.n);
  for (int64_t it = 0; it < iters; ++it) {
    gather(train, data.sample_without_replacement(train.n, b));
    Var xv(Tensor::from_floats(Shape{b, Tm, in}, x, o.device));
    Var yv(Tensor::from_floats(Shape{b, Tm, 1}, y, o.device));
    Var pred = net.forward(xv, full ? std::vector<int32_t>{} : len);
    Var loss;
    if (full) {
      loss = l1(pred, yv);
    } else {
      double cnt = 0;
      for (float v : m) cnt += v;
      Var mask(Tensor::from_floats(Shape{b, Tm, 1}, m, o.device));
      loss = scale(sum(abs(pred - yv) * mask), 1.0 / std::max(1.0, cnt));
    }
    opt.zero_grad();
    backward(loss);
    opt.step();
    if (it + 1 == iters) res.final_loss = loss.value().item();
  }
  opt.zero_grad();
  NoGradGuard ng;
  double total = 0;
  int64_t windows = 0;
  for (int64_t s = 0; s < test.n; s += 1024) {
    const int64_t e = std::min(test.n, s + 1024);
    std::vector<int64_t> idx(static_cast<size_t>(e - s));
    std::iota(idx.begin(), idx.end(), s);
    gather(test, idx);
    Var xv(Tensor::from_floats(Shape{e - s, Tm, in}, x, o.device));
    const std::vector<double> p = net.forward(xv, full ? std::vector<int32_t>{} : len).value().to_vector();
    for (int64_t i = 0; i < e - s; ++i) {
      const int64_t L = len[static_cast<size_t>(i)];
      if (L < 1) continue;  // a one-step window has nothing to predict
      double mae = 0;
      for (int64_t t = 0; t < L; ++t) {
        const size_t k = static_cast<size_t>(i * Tm + t);
        mae += std::fabs(p[k] - static_cast<double>(y[k]));
      }
      total += mae / static_cast<double>(L);
      ++windows;
    }
  }
  res.score = windows ? total / static_cast<double>(windows) : std::numeric_limits<double>::quiet_NaN();
  return res;
}

// ---- PCA ---------------------------------------------------------------------------------------

Pca pca_fit(const std::vector<double>& x, int64_t n, int64_t p, int64_t k) {
  if (n < 2 || p < 1 || static_cast<int64_t>(x.size()) != n * p)
    throw std::invalid_argument("pca: needs x of [n >= 2, p >= 1]");
  k = std::min(k, p);
  Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> X(x.data(), n, p);
  const Eigen::RowVectorXd mu = X.colwise().mean();
  const Eigen::MatrixXd C = X.rowwise() - mu;
  const Eigen::MatrixXd cov = (C.transpose() * C) / static_cast<double>(n - 1);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(cov);
  if (es.info() != Eigen::Success) throw std::runtime_error("pca: eigen-decomposition failed");
  Pca out;
  out.features = p;
  out.components = k;
  out.mean.assign(mu.data(), mu.data() + p);
  const double total = std::max(0.0, es.eigenvalues().sum());
  for (int64_t c = 0; c < k; ++c) {
    const int64_t col = p - 1 - c;  // eigenvalues ascend
    Eigen::VectorXd v = es.eigenvectors().col(col);
    Eigen::Index imax = 0;
    v.cwiseAbs().maxCoeff(&imax);
    if (v(imax) < 0) v = -v;
    for (int64_t j = 0; j < p; ++j) out.axes.push_back(v(j));
    const double ev = std::max(0.0, es.eigenvalues()(col));
    out.explained_variance.push_back(ev);
    out.explained_variance_ratio.push_back(total > 0 ? ev / total : 0.0);
  }
  return out;
}

std::vector<double> Pca::transform(const std::vector<double>& x, int64_t n) const {
  if (static_cast<int64_t>(x.size()) != n * features) throw std::invalid_argument("pca transform: wrong input size");
  std::vector<double> out(static_cast<size_t>(n * components));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < components; ++c) {
      double s = 0;
      for (int64_t j = 0; j < features; ++j)
        s += (x[static_cast<size_t>(i * features + j)] - mean[static_cast<size_t>(j)]) *
             axes[static_cast<size_t>(c * features + j)];
      out[static_cast<size_t>(i * components + c)] = s;
    }
  return out;
}

// ---- t-SNE -------------------------------------------------------------------------------------

std::vector<double> tsne(const std::vector<double>& x, int64_t n, int64_t p, const TsneOptions& o) {
  if (n < 2 || static_cast<int64_t>(x.size()) != n * p) throw std::invalid_argument("tsne: needs x of [n >= 2, p]");
  const size_t N = static_cast<size_t>(n);
  const double kEps = std::numeric_limits<double>::epsilon();
  // Squared Euclidean distances.
  std::vector<double> D(N * N, 0.0);
  for (size_t i = 0; i < N; ++i)
    for (size_t j = i + 1; j < N; ++j) {
      double s = 0;
      for (int64_t k = 0; k < p; ++k) {
        const double t = x[i * static_cast<size_t>(p) + static_cast<size_t>(k)] - x[j * static_cast<size_t>(p) + static_cast<size_t>(k)];
        s += t * t;
      }
      D[i * N + j] = D[j * N + i] = s;
    }
  // Conditional P by binary search on beta to match the perplexity (sklearn's
  // _binary_search_perplexity: 100 steps, entropy tolerance 1e-5). Row operations go through
  // Eigen arrays so that they vectorise.
  using RowArr = Eigen::Array<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Eigen::Map<RowArr> Dm(D.data(), n, n);
  std::vector<double> P(N * N, 0.0);
  Eigen::Map<RowArr> Pm(P.data(), n, n);
  const double target = std::log(std::min(o.perplexity, static_cast<double>(n - 1)));
  Eigen::ArrayXd row(n);
  for (int64_t i = 0; i < n; ++i) {
    double beta = 1, lo = -std::numeric_limits<double>::infinity(), hi = std::numeric_limits<double>::infinity();
    const auto d = Dm.row(i).transpose();
    for (int step = 0; step < 100; ++step) {
      row = (-beta * d).exp();
      row(i) = 0.0;
      double sum = row.sum();
      if (sum == 0) sum = 1e-8;
      row /= sum;
      const double entropy = std::log(sum) + beta * (d * row).sum();
      const double diff = entropy - target;
      if (std::fabs(diff) <= 1e-5) break;
      if (diff > 0) {
        lo = beta;
        beta = std::isinf(hi) ? beta * 2 : (beta + hi) / 2;
      } else {
        hi = beta;
        beta = std::isinf(lo) ? beta / 2 : (beta + lo) / 2;
      }
    }
    Pm.row(i) = row.transpose();
  }
  {  // symmetrise and normalise
    double s = 0;
    for (size_t i = 0; i < N; ++i)
      for (size_t j = i + 1; j < N; ++j) {
        const double v = P[i * N + j] + P[j * N + i];
        P[i * N + j] = P[j * N + i] = v;
        s += 2 * v;
      }
    s = std::max(s, kEps);
    for (size_t i = 0; i < N; ++i)
      for (size_t j = 0; j < N; ++j) P[i * N + j] = i == j ? 0.0 : std::max(P[i * N + j] / s, kEps);
  }
  std::vector<double>().swap(D);
  Rng rng(o.seed, o.stream);
  Eigen::ArrayXd Yx(n), Yy(n), Gx(n), Gy(n), num(n), f(n);
  for (int64_t i = 0; i < n; ++i) {  // interleaved draws (x0, y0, x1, y1, ...)
    Yx(i) = o.init_std * normal(rng);
    Yy(i) = o.init_std * normal(rng);
  }
  Eigen::ArrayXd update = Eigen::ArrayXd::Zero(2 * n), gains = Eigen::ArrayXd::Ones(2 * n), grad(2 * n);
  double exag = o.early_exaggeration;
  for (int64_t it = 0; it < o.iterations; ++it) {
    if (it == o.exaggeration_iterations) {  // sklearn's second _gradient_descent call starts afresh
      exag = 1;
      update.setZero();
      gains.setOnes();
    }
    const double momentum = it < o.exaggeration_iterations ? o.momentum_early : o.momentum_late;
    // Student-t affinities q_ij = num_ij / sum num (j != i);
    // grad_i = 4 sum_j (p_ij - q_ij) num_ij (y_i - y_j).
    double zsum = 0;
    for (int64_t i = 0; i < n; ++i) {
      num = (1.0 + (Yx - Yx(i)).square() + (Yy - Yy(i)).square()).inverse();
      zsum += num.sum() - 1.0;  // without j == i
    }
    for (int64_t i = 0; i < n; ++i) {
      num = (1.0 + (Yx - Yx(i)).square() + (Yy - Yy(i)).square()).inverse();
      f = 4.0 * (exag * Pm.row(i).transpose() - (num / zsum).max(kEps)) * num;
      f(i) = 0.0;
      Gx(i) = (f * (Yx(i) - Yx)).sum();
      Gy(i) = (f * (Yy(i) - Yy)).sum();
    }
    for (int64_t i = 0; i < n; ++i) grad(2 * i) = Gx(i), grad(2 * i + 1) = Gy(i);
    if (std::sqrt(grad.square().sum()) < 1e-7) break;  // sklearn's min_grad_norm
    for (int64_t k = 0; k < 2 * n; ++k) {
      if (update(k) * grad(k) < 0) gains(k) += 0.2;
      else gains(k) *= 0.8;
      gains(k) = std::max(gains(k), 0.01);
      update(k) = momentum * update(k) - o.learning_rate * gains(k) * grad(k);
    }
    for (int64_t i = 0; i < n; ++i) Yx(i) += update(2 * i), Yy(i) += update(2 * i + 1);
  }
  std::vector<double> Y(2 * N);
  for (int64_t i = 0; i < n; ++i) Y[2 * static_cast<size_t>(i)] = Yx(i), Y[2 * static_cast<size_t>(i) + 1] = Yy(i);
  return Y;
}

Visualisation visualisation(const io::Windows& real, const io::Windows& syn, const TsneOptions& t, int64_t max_samples) {
  check_pair(real, syn, "visualisation");
  Visualisation v;
  v.n = std::min({max_samples, real.n, syn.n});
  if (v.n < 2) throw std::invalid_argument("visualisation: needs at least 2 windows in each set");
  // The reference draws one permutation of the real set and applies its first n indices to both
  // sets (timegan.md 5.3), which it can because its synthetic set is as large as the real one.
  // Here too whenever every index is inside the synthetic set; a smaller synthetic set gets its
  // own n indices drawn within its own size, next from the same stream.
  Rng rng(t.seed, t.stream + 1);
  const std::vector<int64_t> idx_real = rng.sample_without_replacement(real.n, v.n);
  const std::vector<int64_t> idx_syn = syn.n >= real.n ? idx_real : rng.sample_without_replacement(syn.n, v.n);
  const int64_t T = real.seq;
  auto reduce = [&](const io::Windows& w, const std::vector<int64_t>& idx) {  // mean over features -> [n, T]
    std::vector<double> out(static_cast<size_t>(v.n * T));
    for (int64_t i = 0; i < v.n; ++i)
      for (int64_t s = 0; s < T; ++s) {
        double m = 0;
        for (int64_t k = 0; k < w.dim; ++k) m += w.at(idx[static_cast<size_t>(i)], s, k);
        out[static_cast<size_t>(i * T + s)] = m / static_cast<double>(w.dim);
      }
    return out;
  };
  const std::vector<double> r = reduce(real, idx_real), s = reduce(syn, idx_syn);
  const Pca pca = pca_fit(r, v.n, T, 2);
  v.explained_variance_ratio = pca.explained_variance_ratio;
  v.pca_real = pca.transform(r, v.n);
  v.pca_synthetic = pca.transform(s, v.n);
  if (pca.components < 2) {  // T == 1: pad the second coordinate with zeros
    auto pad = [](std::vector<double>& a) {
      std::vector<double> b;
      for (double x : a) {
        b.push_back(x);
        b.push_back(0.0);
      }
      a.swap(b);
    };
    pad(v.pca_real);
    pad(v.pca_synthetic);
  }
  std::vector<double> both = r;
  both.insert(both.end(), s.begin(), s.end());
  const std::vector<double> y = tsne(both, 2 * v.n, T, t);
  v.tsne_real.assign(y.begin(), y.begin() + 2 * v.n);
  v.tsne_synthetic.assign(y.begin() + 2 * v.n, y.end());
  return v;
}

// ---- further measures --------------------------------------------------------------------------

double wasserstein1(std::vector<double> a, std::vector<double> b) {
  if (a.empty() || b.empty()) throw std::invalid_argument("wasserstein1: empty sample");
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  std::vector<double> all(a.size() + b.size());
  std::merge(a.begin(), a.end(), b.begin(), b.end(), all.begin());
  const double na = static_cast<double>(a.size()), nb = static_cast<double>(b.size());
  size_t ia = 0, ib = 0;
  double w = 0;
  for (size_t k = 0; k + 1 < all.size(); ++k) {
    while (ia < a.size() && a[ia] <= all[k]) ++ia;
    while (ib < b.size() && b[ib] <= all[k]) ++ib;
    w += std::fabs(static_cast<double>(ia) / na - static_cast<double>(ib) / nb) * (all[k + 1] - all[k]);
  }
  return w;
}

namespace {
std::vector<double> feature_values(const io::Windows& w, int64_t k) {
  std::vector<double> v;
  for (int64_t i = 0; i < w.n; ++i)
    for (int64_t t = 0; t < w.length(i); ++t) v.push_back(w.at(i, t, k));
  return v;
}
}  // namespace

std::vector<double> wasserstein_per_feature(const io::Windows& a, const io::Windows& b) {
  check_pair(a, b, "wasserstein");
  std::vector<double> out;
  for (int64_t k = 0; k < a.dim; ++k) out.push_back(wasserstein1(feature_values(a, k), feature_values(b, k)));
  return out;
}

std::vector<double> mean_acf(const io::Windows& w, int64_t L) {
  std::vector<double> acc(static_cast<size_t>(w.dim * L), 0.0), cnt(static_cast<size_t>(w.dim * L), 0.0);
  for (int64_t i = 0; i < w.n; ++i) {
    const int64_t n = w.length(i);
    for (int64_t k = 0; k < w.dim; ++k) {
      double m = 0;
      for (int64_t t = 0; t < n; ++t) m += w.at(i, t, k);
      m /= static_cast<double>(std::max<int64_t>(1, n));
      double var = 0;
      for (int64_t t = 0; t < n; ++t) var += (w.at(i, t, k) - m) * (w.at(i, t, k) - m);
      if (var <= 1e-24) continue;
      for (int64_t l = 1; l <= L && l < n; ++l) {
        double c = 0;
        for (int64_t t = 0; t + l < n; ++t) c += (w.at(i, t, k) - m) * (w.at(i, t + l, k) - m);
        acc[static_cast<size_t>(k * L + l - 1)] += c / var;
        cnt[static_cast<size_t>(k * L + l - 1)] += 1;
      }
    }
  }
  for (size_t j = 0; j < acc.size(); ++j) acc[j] = cnt[j] > 0 ? acc[j] / cnt[j] : 0.0;
  return acc;
}

double acf_difference(const io::Windows& a, const io::Windows& b) {
  check_pair(a, b, "acf difference");
  const int64_t L = std::min<int64_t>(a.seq - 1, 10);
  if (L < 1) return 0.0;
  const std::vector<double> x = mean_acf(a, L), y = mean_acf(b, L);
  double s = 0;
  for (size_t j = 0; j < x.size(); ++j) s += std::fabs(x[j] - y[j]);
  return s / static_cast<double>(x.size());
}

std::vector<double> correlation_matrix(const io::Windows& w) {
  const int64_t d = w.dim;
  std::vector<double> mu(static_cast<size_t>(d), 0.0), C(static_cast<size_t>(d * d), 0.0);
  double n = 0;
  for (int64_t i = 0; i < w.n; ++i)
    for (int64_t t = 0; t < w.length(i); ++t) {
      for (int64_t k = 0; k < d; ++k) mu[static_cast<size_t>(k)] += w.at(i, t, k);
      n += 1;
    }
  for (double& m : mu) m /= std::max(1.0, n);
  for (int64_t i = 0; i < w.n; ++i)
    for (int64_t t = 0; t < w.length(i); ++t)
      for (int64_t k = 0; k < d; ++k)
        for (int64_t l = 0; l < d; ++l)
          C[static_cast<size_t>(k * d + l)] += (w.at(i, t, k) - mu[static_cast<size_t>(k)]) * (w.at(i, t, l) - mu[static_cast<size_t>(l)]);
  std::vector<double> R(C.size());
  for (int64_t k = 0; k < d; ++k)
    for (int64_t l = 0; l < d; ++l) {
      const double den = std::sqrt(C[static_cast<size_t>(k * d + k)] * C[static_cast<size_t>(l * d + l)]);
      R[static_cast<size_t>(k * d + l)] = k == l ? 1.0 : den > 0 ? C[static_cast<size_t>(k * d + l)] / den : 0.0;
    }
  return R;
}

XcorrDifference xcorr_difference(const io::Windows& a, const io::Windows& b) {
  check_pair(a, b, "cross-correlation difference");
  const std::vector<double> x = correlation_matrix(a), y = correlation_matrix(b);
  XcorrDifference r;
  double s = 0, f = 0;
  for (size_t j = 0; j < x.size(); ++j) {
    s += std::fabs(x[j] - y[j]);
    f += (x[j] - y[j]) * (x[j] - y[j]);
  }
  const double off = static_cast<double>(a.dim * (a.dim - 1));
  r.mean_abs = off > 0 ? s / off : 0.0;
  r.frobenius = std::sqrt(f);
  return r;
}

Mmd mmd2_gaussian(const io::Windows& a, const io::Windows& b, int64_t max_samples, uint64_t seed, uint64_t stream) {
  check_pair(a, b, "mmd");
  Rng rng(seed, stream);
  Mmd r;
  r.n_a = std::min(a.n, max_samples);
  r.n_b = std::min(b.n, max_samples);
  if (r.n_a < 1 || r.n_b < 1) throw std::invalid_argument("mmd: empty set");
  const int64_t p = a.seq * a.dim, m = r.n_a + r.n_b;
  Eigen::MatrixXd X(m, p);
  const std::vector<int64_t> ia = rng.sample_without_replacement(a.n, r.n_a), ib = rng.sample_without_replacement(b.n, r.n_b);
  for (int64_t i = 0; i < r.n_a; ++i)
    for (int64_t j = 0; j < p; ++j) X(i, j) = a.data[static_cast<size_t>(ia[static_cast<size_t>(i)] * p + j)];
  for (int64_t i = 0; i < r.n_b; ++i)
    for (int64_t j = 0; j < p; ++j) X(r.n_a + i, j) = b.data[static_cast<size_t>(ib[static_cast<size_t>(i)] * p + j)];
  const Eigen::VectorXd sq = X.rowwise().squaredNorm();
  Eigen::MatrixXd D2 = X * X.transpose();
  D2 = ((-2.0 * D2).colwise() + sq).rowwise() + sq.transpose();
  D2 = D2.cwiseMax(0.0);
  std::vector<double> pd;
  pd.reserve(static_cast<size_t>(m * (m - 1) / 2));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = i + 1; j < m; ++j) pd.push_back(D2(i, j));
  double med2 = 0;
  if (!pd.empty()) {
    std::nth_element(pd.begin(), pd.begin() + static_cast<std::ptrdiff_t>(pd.size() / 2), pd.end());
    med2 = pd[pd.size() / 2];
  }
  r.bandwidth = med2 > 0 ? std::sqrt(med2) : 1.0;
  const double g = 1.0 / (2.0 * r.bandwidth * r.bandwidth);
  double kaa = 0, kbb = 0, kab = 0;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < m; ++j) {
      const double k = std::exp(-g * D2(i, j));
      if (i < r.n_a && j < r.n_a) kaa += k;
      else if (i >= r.n_a && j >= r.n_a) kbb += k;
      else kab += k;
    }
  const double na = static_cast<double>(r.n_a), nb = static_cast<double>(r.n_b);
  r.mmd2 = std::max(0.0, kaa / (na * na) + kbb / (nb * nb) - kab / (na * nb));  // kab counts both halves
  return r;
}

}  // namespace tg::models::metrics
