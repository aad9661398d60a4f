// Evaluation metrics for synthetic time series (timegan.md §5) and a few measures the
// reference does not ship. Every function takes windows [n, T, d] (io::Windows, lengths
// honoured where noted) that are already on one common scale; mapping to that scale is the
// caller's business (`timegan evaluate` uses the reference's scale, see README).
//
//  - discriminative_score (§5.1): post-hoc 1-layer TF1 GRU classifier, |accuracy - 0.5|.
//  - predictive_score (§5.2): train on synthetic, test on real, one-step-ahead MAE.
//  - pca / tsne (§5.3) and visualisation(): the reference's PCA and t-SNE embeddings.
//  - wasserstein1 per feature, acf_difference, xcorr_difference, mmd2_gaussian.
//
// Randomness comes from counter-based streams (seed, stream): the same arguments give the
// same numbers on every run.
#pragma once

#include <cstdint>
#include <vector>

#include "tg/io/dataset.h"
#include "tg/tensor.h"

namespace tg::models::metrics {

/// Settings of one post-hoc model fit (discriminative or predictive).
struct PostHocOptions {
  int64_t iterations = 0;  ///< 0 = the reference's (2,000 discriminative, 5,000 predictive)
  int64_t batch = 128;     ///< per set (the discriminator draws `batch` real + `batch` synthetic)
  uint64_t seed = 0;
  uint64_t stream = 100;   ///< initialisation stream; the data stream is derived from it
  Device device = Device::CPU;
};

/// The reference's hidden width for the post-hoc GRUs: max(1, int(d / 2)).
int posthoc_hidden(int64_t dim);

struct DiscriminativeResult {
  double score = 0;     ///< |accuracy - 0.5|
  double accuracy = 0;  ///< on the held-out 20 % of each set
  int64_t test_real = 0, test_synthetic = 0;
  double final_loss = 0;
};
/// §5.1. Independent 80/20 splits of each set; 1-layer GRU (hidden posthoc_hidden(d)) whose
/// state at each sequence's length goes to one logit; loss mean CE(real, 1) + mean CE(syn, 0);
/// Adam (TF1 defaults). Needs at least 2 windows in each set. Sets must agree in T and d.
DiscriminativeResult discriminative_score(const io::Windows& real, const io::Windows& synthetic,
                                          const PostHocOptions& o);

struct PredictiveResult {
  double score = 0;  ///< mean over real windows of the per-window MAE
  bool own_past = false;  ///< d == 1: the single feature predicts itself one step ahead
  double final_loss = 0;
};
/// §5.2. Inputs: features 0..d-2 at t; target: feature d-1 at t+1 (d == 1: feature 0 at t
/// predicts feature 0 at t+1, flagged in the result). GRU -> FC -> sigmoid at every step, L1
/// loss, batches from `train`, score on every window of `test`. Windows need length >= 2.
PredictiveResult predictive_score(const io::Windows& train, const io::Windows& test, const PostHocOptions& o);

// ---- PCA ------------------------------------------------------------------------------------
struct Pca {
  int64_t features = 0, components = 0;
  std::vector<double> mean;        ///< [features]
  std::vector<double> axes;        ///< [components, features], unit rows, largest variance first
  std::vector<double> explained_variance;        ///< [components] (n - 1 denominator, as sklearn)
  std::vector<double> explained_variance_ratio;  ///< [components]
  /// x [n, features] -> [n, components]
  std::vector<double> transform(const std::vector<double>& x, int64_t n) const;
};
/// Fits on x [n, p] (n >= 2) through the eigen-decomposition of the covariance. Each axis is
/// signed so that its largest-magnitude entry is positive (a deterministic convention).
Pca pca_fit(const std::vector<double>& x, int64_t n, int64_t p, int64_t components = 2);

// ---- t-SNE ----------------------------------------------------------------------------------
struct TsneOptions {
  double perplexity = 40;
  int64_t iterations = 300;           ///< total, exaggeration phase included (sklearn's n_iter)
  int64_t exaggeration_iterations = 250;
  double early_exaggeration = 12;
  double learning_rate = 200;
  double momentum_early = 0.5, momentum_late = 0.8;
  double init_std = 1e-4;
  uint64_t seed = 0, stream = 300;
};
/// Exact (O(n^2)) t-SNE of x [n, p] to [n, 2] with sklearn's optimiser (squared Euclidean
/// affinities, perplexity binary search, P symmetrised, gains with min 0.01, momentum switch).
std::vector<double> tsne(const std::vector<double>& x, int64_t n, int64_t p, const TsneOptions& o);

// ---- §5.3 visualisation ------------------------------------------------------------------------
struct Visualisation {
  int64_t n = 0;                       ///< samples per set
  std::vector<double> pca_real, pca_synthetic;    ///< [n, 2]
  std::vector<double> explained_variance_ratio;   ///< of the PCA fitted on real
  std::vector<double> tsne_real, tsne_synthetic;  ///< [n, 2]
};
/// n = min(max_samples, real.n, synthetic.n); the first n of one permutation of real.n, applied
/// to both sets when synthetic.n >= real.n (the reference's case), else the synthetic sample is
/// its own n of synthetic.n; each window averaged over features -> [n, T]; PCA fitted on real;
/// t-SNE on both together.
Visualisation visualisation(const io::Windows& real, const io::Windows& synthetic, const TsneOptions& t,
                            int64_t max_samples = 1000);

// ---- measures beyond the reference -----------------------------------------------------------
/// W1 between two samples of reals: integral of |F_a - F_b| (= mean |a_(i) - b_(i)| of the
/// sorted samples when the sizes are equal).
double wasserstein1(std::vector<double> a, std::vector<double> b);
/// Per feature: W1 over every valid value of that feature in the two sets.
std::vector<double> wasserstein_per_feature(const io::Windows& a, const io::Windows& b);

/// Mean over windows of each feature's sample autocorrelation at lags 1..L: [d, L].
/// Windows with a constant feature (zero variance) or too short for a lag are skipped there.
std::vector<double> mean_acf(const io::Windows& w, int64_t max_lag);
/// mean |ACF_a - ACF_b| over features and lags 1..min(T-1, 10).
double acf_difference(const io::Windows& a, const io::Windows& b);

/// Pearson correlation matrix [d, d] of the features over every valid time step of every window.
std::vector<double> correlation_matrix(const io::Windows& w);
struct XcorrDifference {
  double mean_abs = 0;   ///< mean |C_a - C_b| over the d(d-1) off-diagonal entries (0 when d == 1)
  double frobenius = 0;  ///< ||C_a - C_b||_F
};
XcorrDifference xcorr_difference(const io::Windows& a, const io::Windows& b);

struct Mmd {
  double mmd2 = 0;       ///< biased (V-statistic) MMD^2: >= 0, exactly 0 for identical samples
  double bandwidth = 0;  ///< sigma: median pairwise distance of the pooled subsample
  int64_t n_a = 0, n_b = 0;
};
/// Gaussian kernel exp(-|x-y|^2 / (2 sigma^2)) on flattened windows [T*d] (padding included),
/// each set subsampled without replacement to at most `max_samples` from stream (seed, stream).
Mmd mmd2_gaussian(const io::Windows& a, const io::Windows& b, int64_t max_samples = 1000, uint64_t seed = 0,
                  uint64_t stream = 400);

/// Mean and population standard deviation (numpy's np.std) of a list.
void mean_std(const std::vector<double>& v, double& mean, double& std);

}  // namespace tg::models::metrics
