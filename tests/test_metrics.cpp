// Evaluation metrics (models/include/tg/models/metrics.h): the post-hoc scores against cases
// whose answer is known (real vs. real, real vs. noise), PCA and t-SNE on constructed data,
// and the distribution distances on identical and shifted sets.
//
// The post-hoc fits run with fewer iterations than the reference (2,000 / 5,000) to keep the
// suite short on 2 cores; the counts below are enough for the assertions to mean something:
// the noise case shows that the classifier does learn in that budget.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "tg/io/dataset.h"
#include "tg/models/metrics.h"
#include "tg/random.h"

using namespace tg;
using namespace tg::models::metrics;

namespace {

io::Windows sine(int64_t n, uint64_t seed = 3) {
  Rng rng(seed, 5);
  return io::sine_data(n, 24, 5, rng);
}

io::Windows slice(const io::Windows& w, int64_t from, int64_t to) {
  io::Windows o = w;
  o.n = to - from;
  o.data.assign(w.data.begin() + from * w.seq * w.dim, w.data.begin() + to * w.seq * w.dim);
  o.lengths.clear();
  return o;
}

io::Windows noise_like(const io::Windows& w, uint64_t seed) {
  io::Windows o = w;
  Rng rng(seed, 9);
  for (double& v : o.data) v = rng.next_double();
  return o;
}

}  // namespace

TEST_CASE("discriminative score: real vs. a disjoint half of itself is near 0, vs. noise near 0.5") {
  const io::Windows all = sine(4000);
  const io::Windows a = slice(all, 0, 2000), b = slice(all, 2000, 4000);
  PostHocOptions o;
  o.iterations = 400;  // reduced from 2,000 (test time); the noise case below learns within it
  o.seed = 1;
  // Two repeats averaged, as the tool does: 400 + 400 test windows each, so chance alone gives
  // a standard deviation of about 0.018 per repeat.
  double s = 0;
  for (uint64_t r = 0; r < 2; ++r) {
    o.stream = 100 + r;
    const DiscriminativeResult d = discriminative_score(a, b, o);
    CHECK(d.test_real == 400);
    CHECK(d.test_synthetic == 400);
    s += d.score / 2;
  }
  CHECK(s <= 0.05);
  o.stream = 100;
  const DiscriminativeResult n = discriminative_score(a, noise_like(b, 4), o);
  CHECK(n.score >= 0.4);
}

TEST_CASE("predictive score: trained on real is near the reference level, trained on noise is worse") {
  const io::Windows all = sine(2000, 8);
  const io::Windows a = slice(all, 0, 1000), b = slice(all, 1000, 2000);
  PostHocOptions o;
  o.iterations = 1500;  // reduced from 5,000 (test time)
  o.seed = 2;
  const PredictiveResult real = predictive_score(a, b, o);
  CHECK_FALSE(real.own_past);
  MESSAGE("predictive score, sine trained on sine: " << real.score);
  CHECK(real.score < 0.15);
  const PredictiveResult noise = predictive_score(noise_like(a, 5), b, o);
  MESSAGE("predictive score, sine trained on noise: " << noise.score);
  CHECK(noise.score > real.score + 0.05);
}

TEST_CASE("predictive score with one feature uses the feature's own past") {
  Rng rng(1, 5);
  const io::Windows w = io::sine_data(64, 8, 1, rng);
  PostHocOptions o;
  o.iterations = 5;
  const PredictiveResult r = predictive_score(w, w, o);
  CHECK(r.own_past);
  CHECK(std::isfinite(r.score));
}

TEST_CASE("post-hoc scores refuse sets of different shapes, naming both") {
  const io::Windows a = sine(16);
  Rng rng(1, 5);
  const io::Windows b = io::sine_data(16, 24, 4, rng), c = io::sine_data(16, 12, 5, rng);
  PostHocOptions o;
  o.iterations = 1;
  try {
    discriminative_score(a, b, o);
    FAIL("no error");
  } catch (const std::invalid_argument& e) {
    const std::string m = e.what();
    CHECK(m.find("24 steps x 5 features") != std::string::npos);
    CHECK(m.find("24 x 4") != std::string::npos);
  }
  CHECK_THROWS_AS(predictive_score(c, a, o), std::invalid_argument);
  CHECK_THROWS_AS(wasserstein_per_feature(a, b), std::invalid_argument);
  CHECK_THROWS_AS(mmd2_gaussian(a, c), std::invalid_argument);
}

TEST_CASE("PCA: known covariance and points on a line") {
  // (+-2, +-1): covariance diag(16/3, 4/3) with the n-1 denominator.
  const std::vector<double> x = {2, 1, 2, -1, -2, 1, -2, -1};
  const Pca p = pca_fit(x, 4, 2, 2);
  CHECK(p.explained_variance[0] == doctest::Approx(16.0 / 3));
  CHECK(p.explained_variance[1] == doctest::Approx(4.0 / 3));
  CHECK(p.explained_variance_ratio[0] == doctest::Approx(0.8));
  CHECK(p.axes[0] == doctest::Approx(1.0));
  CHECK(std::fabs(p.axes[1]) < 1e-12);
  CHECK(p.axes[3] == doctest::Approx(1.0));
  const std::vector<double> y = p.transform({2, 1}, 1);
  CHECK(y[0] == doctest::Approx(2.0));
  CHECK(y[1] == doctest::Approx(1.0));

  // Points on the line t * (1, 2, 2) / 3 + (5, 5, 5): one component explains everything.
  std::vector<double> l;
  for (int t = -10; t <= 10; ++t)
    for (double u : {1.0, 2.0, 2.0}) l.push_back(5 + t * u / 3);
  const Pca q = pca_fit(l, 21, 3, 2);
  CHECK(q.explained_variance_ratio[0] == doctest::Approx(1.0));
  CHECK(q.axes[0] == doctest::Approx(1.0 / 3));
  CHECK(q.axes[1] == doctest::Approx(2.0 / 3));
  CHECK(q.mean[0] == doctest::Approx(5.0));
  CHECK(q.explained_variance[0] == doctest::Approx(770.0 / 20));  // sum t^2 / (n - 1)
}

TEST_CASE("t-SNE separates two well-separated clusters") {
  const int64_t n = 200, p = 10;
  std::vector<double> x;
  Rng rng(7, 1);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < p; ++k) x.push_back((i < n / 2 ? 0.0 : 8.0) + (rng.next_double() - 0.5) * 2);
  TsneOptions o;
  o.perplexity = 30;
  const std::vector<double> y = tsne(x, n, p, o);
  int agree = 0;
  for (int64_t i = 0; i < n; ++i) {
    double best = 1e300;
    int64_t bj = -1;
    for (int64_t j = 0; j < n; ++j) {
      if (j == i) continue;
      const double a = y[2 * i] - y[2 * j], b = y[2 * i + 1] - y[2 * j + 1];
      if (a * a + b * b < best) best = a * a + b * b, bj = j;
    }
    agree += (i < n / 2) == (bj < n / 2);
  }
  CHECK(static_cast<double>(agree) / n > 0.95);
  for (double v : y) CHECK(std::isfinite(v));
}

TEST_CASE("visualisation: same samples of both sets, PCA on real") {
  const io::Windows a = sine(60), b = sine(60, 9);
  TsneOptions o;
  o.iterations = 50;
  const Visualisation v = visualisation(a, b, o, 50);
  CHECK(v.n == 50);
  CHECK(v.pca_real.size() == 100);
  CHECK(v.tsne_synthetic.size() == 100);
  CHECK(v.explained_variance_ratio[0] >= v.explained_variance_ratio[1]);
}

TEST_CASE("visualisation: equal or larger synthetic set gets the real sample's indices") {
  // As the reference: one permutation of the real set, its indices used for both sets, so a
  // synthetic set that starts with the real windows maps onto the very same points.
  const io::Windows a = sine(40);
  io::Windows b = a;
  const io::Windows extra = sine(10, 9);
  b.n += extra.n;
  b.data.insert(b.data.end(), extra.data.begin(), extra.data.end());
  TsneOptions o;
  o.iterations = 20;
  const io::Windows* sets[] = {&a, &b};
  for (const io::Windows* syn : sets) {
    const Visualisation v = visualisation(a, *syn, o, 30);
    CHECK(v.n == 30);
    CHECK(v.pca_synthetic == v.pca_real);
  }
}

TEST_CASE("visualisation: a smaller synthetic set is sampled within its own windows") {
  // T = 2 and 2 features; 3 synthetic windows whose feature means are (0, 0), (3, 0), (0, 4),
  // so n = 3 and every synthetic window is used once. With 2 components in 2 dimensions the PCA
  // is a rotation or reflection plus a shift, whatever real windows were drawn: the synthetic
  // points keep their pairwise distances 3, 4 and 5.
  io::Windows real;
  real.n = 40, real.seq = 2, real.dim = 2;
  for (int64_t i = 0; i < real.n; ++i)
    for (double x : {0.1 * i, 0.3 * i, -0.2 * i + 1, 0.05 * i * i}) real.data.push_back(x);
  io::Windows syn;
  syn.n = 3, syn.seq = 2, syn.dim = 2;
  syn.data = {-1, 1, 2, -2,  // means (0, 0)
              2, 4, -1, 1,   // means (3, 0)
              5, -5, 3, 5};  // means (0, 4)
  TsneOptions o;
  o.iterations = 20;
  const Visualisation v = visualisation(real, syn, o);
  REQUIRE(v.n == 3);
  REQUIRE(v.pca_synthetic.size() == 6);
  std::vector<double> d;
  for (int i = 0; i < 3; ++i)
    for (int j = i + 1; j < 3; ++j)
      d.push_back(std::hypot(v.pca_synthetic[2 * i] - v.pca_synthetic[2 * j],
                             v.pca_synthetic[2 * i + 1] - v.pca_synthetic[2 * j + 1]));
  std::sort(d.begin(), d.end());
  CHECK(d[0] == doctest::Approx(3.0));
  CHECK(d[1] == doctest::Approx(4.0));
  CHECK(d[2] == doctest::Approx(5.0));
  CHECK(v.tsne_real.size() == 6);
  CHECK(v.tsne_synthetic.size() == 6);
  for (double x : v.tsne_synthetic) CHECK(std::isfinite(x));
}

TEST_CASE("Wasserstein-1: identical sets 0, shifted set the shift, unequal sizes") {
  const io::Windows a = sine(100);
  io::Windows b = a;
  for (double x : wasserstein_per_feature(a, b)) CHECK(x == 0.0);
  for (double& v : b.data) v += 0.25;
  for (double x : wasserstein_per_feature(a, b)) CHECK(x == doctest::Approx(0.25));
  CHECK(wasserstein1({0, 1}, {0, 0, 1, 1}) == doctest::Approx(0.0));
  CHECK(wasserstein1({0}, {0, 1}) == doctest::Approx(0.5));
}

TEST_CASE("MMD^2, ACF and cross-correlation differences") {
  const io::Windows a = sine(300);
  const Mmd same = mmd2_gaussian(a, a);
  CHECK(same.mmd2 < 1e-12);
  CHECK(same.bandwidth > 0);
  const Mmd other = mmd2_gaussian(a, noise_like(a, 3));
  CHECK(other.mmd2 > 0.05);
  const Mmd sine2 = mmd2_gaussian(a, sine(300, 11));
  CHECK(sine2.mmd2 < other.mmd2 / 5);

  CHECK(acf_difference(a, a) == 0.0);
  CHECK(acf_difference(a, noise_like(a, 3)) > 0.3);  // smooth sines vs. white noise
  CHECK(xcorr_difference(a, a).mean_abs == 0.0);
  const std::vector<double> c = correlation_matrix(a);
  CHECK(c[0] == 1.0);
  io::Windows d = a;  // feature 1 := feature 0 -> their correlation is 1
  for (int64_t i = 0; i < d.n; ++i)
    for (int64_t t = 0; t < d.seq; ++t) d.at(i, t, 1) = d.at(i, t, 0);
  CHECK(correlation_matrix(d)[1] == doctest::Approx(1.0));
  CHECK(xcorr_difference(a, d).frobenius > 0.5);
}
