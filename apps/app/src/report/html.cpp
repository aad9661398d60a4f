// report.html: the evaluation report, one self-contained page (inline CSS and SVG, no scripts, no
// external reference of any kind; tg/app/report.h). Each section is one function.
#include <algorithm>
#include <sstream>

#include "common.h"
#include "svg.h"
#include "tg/app/report.h"

namespace tg::app {

using tg::io::Windows;
using report_detail::column_name;
using report_detail::mean_of;
using report_detail::std_of;
using namespace svg;

namespace {

const char* kCss = R"CSS(
body{font-family:-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;background:#f4f5f7;color:#1d2330}
main{max-width:1320px;margin:0 auto;padding:24px 28px 40px}
h1{font-size:26px;margin:0 0 4px}
h2{font-size:19px;margin:30px 0 10px;border-bottom:2px solid #dde1e8;padding-bottom:4px}
.sub{color:#555;margin:0 0 14px;font-size:14px}
.card{background:#fff;border:1px solid #dde1e8;border-radius:8px;padding:14px 18px;margin:10px 0}
table{border-collapse:collapse;font-size:14px}
th,td{padding:6px 12px;text-align:left;border-bottom:1px solid #e6e8ec}
th{background:#f0f2f5;font-weight:600}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.big td{font-size:15px}
.note{color:#666;font-size:12.5px;line-height:1.45}
.grid2{display:flex;flex-wrap:wrap;gap:14px}
.grid2 figure{margin:0;background:#fff;border:1px solid #dde1e8;border-radius:8px;padding:8px}
figcaption{font-size:13.5px;font-weight:600;margin:2px 4px 4px}
.keys{font-weight:400;font-size:12px}
.keys .key:first-child{margin-left:0}
.key{display:inline-block;width:12px;height:12px;border-radius:2px;vertical-align:-1px;margin:0 4px 0 10px}
svg{display:block}
svg .grid{stroke:#eceef2;stroke-width:1}
svg .tick{font-size:11px;fill:#555;font-family:inherit}
svg .lab{font-size:12px;fill:#333;font-family:inherit}
dl{font-size:13px;line-height:1.5;margin:0}
dt{font-weight:600;margin-top:6px}
dd{margin:0 0 0 14px;color:#333}
.chips{display:flex;flex-wrap:wrap;gap:6px}
.chips span{font-size:12.5px;background:#f0f2f5;border-radius:4px;padding:3px 8px}
code{font-size:12.5px;background:#f0f2f5;padding:1px 4px;border-radius:3px}
)CSS";

// ---- scores
void scores(std::ostringstream& o, const EvalResult& r) {
  const Windows& real = *r.real;
  const int64_t R = static_cast<int64_t>(r.disc.size());
  o << "<h2 id=\"scores\">Scores</h2>\n<div class=\"card\"><table class=\"big\"><tr><th>metric</th><th>this data (mean &plusmn; std over "
    << R << " repeat" << (R == 1 ? "" : "s") << ")</th><th>paper (Table 2)" << (r.paper_set.empty() ? "" : ", " + r.paper_set)
    << "</th><th>ideal</th></tr>\n";
  auto paper_cell = [&](double m, double s) {
    return r.paper_set.empty() ? std::string("&ndash;") : fixed(m, 3) + " &plusmn; " + fixed(s, 3);
  };
  o << "<tr><td>Discriminative score |accuracy &minus; 0.5|</td><td class=\"n\"><b>" << fixed(mean_of(r.disc)) << "</b> &plusmn; "
    << fixed(std_of(r.disc)) << "</td><td class=\"n\">" << paper_cell(r.paper_disc, r.paper_disc_std) << "</td><td>0 (lower is better)</td></tr>\n";
  o << "<tr><td>Predictive score (MAE, train on synthetic, test on real)" << (r.pred_own_past ? " &ndash; <i>own past</i>, d = 1" : "")
    << "</td><td class=\"n\"><b>" << fixed(mean_of(r.pred)) << "</b> &plusmn; " << fixed(std_of(r.pred)) << "</td><td class=\"n\">"
    << paper_cell(r.paper_pred, r.paper_pred_std) << "</td><td>real-on-real: " << fixed(r.pred_real_on_real) << "</td></tr>\n";
  o << "<tr><td>Wasserstein-1, mean over features</td><td class=\"n\">" << fixed(mean_of(r.wasserstein))
    << "</td><td class=\"n\">&ndash;</td><td>0</td></tr>\n";
  o << "<tr><td>Autocorrelation difference (lags 1&ndash;" << std::min<int64_t>(real.seq - 1, 10) << ")</td><td class=\"n\">"
    << fixed(r.acf_diff) << "</td><td class=\"n\">&ndash;</td><td>0</td></tr>\n";
  o << "<tr><td>Cross-correlation difference (mean |&Delta;| off-diagonal; Frobenius " << fixed(r.xcorr.frobenius, 3)
    << ")</td><td class=\"n\">" << fixed(r.xcorr.mean_abs) << "</td><td class=\"n\">&ndash;</td><td>0</td></tr>\n";
  o << "<tr><td>MMD&sup2;, Gaussian kernel (&sigma; = " << num(r.mmd.bandwidth, 3) << ", " << r.mmd.n_a << " + " << r.mmd.n_b
    << " windows)</td><td class=\"n\">" << fixed(r.mmd.mmd2, 5) << "</td><td class=\"n\">&ndash;</td><td>0</td></tr>\n</table>\n";
  o << "<p class=\"note\">Per repeat &ndash; discriminative:";
  for (double v : r.disc) o << " " << fixed(v, 4);
  o << "; predictive:";
  for (double v : r.pred) o << " " << fixed(v, 4);
  o << ". The discriminative score uses a fresh classifier and fresh 80/20 splits each repeat; the predictive score a fresh "
       "predictor. Paper values come from a different implementation and schedule (TF1, 2019) and are a yardstick, not a target.</p>\n";
  o << "<p class=\"note\" style=\"margin-bottom:4px\">Wasserstein-1 per feature:</p><div class=\"chips\">";
  for (int64_t k = 0; k < real.dim; ++k)
    o << "<span>" << esc(column_name(r, k)) << " <b>" << fixed(r.wasserstein[static_cast<size_t>(k)]) << "</b></span>";
  o << "</div></div>\n";
}

// ---- missing cells
void missing_cells(std::ostringstream& o, const EvalResult& r) {
  if (r.missing_reported) {
    o << "<h2 id=\"missing\">Missing cells</h2>\n<div class=\"card\"><p>The real data hold " << r.missing_cells
      << " missing cell(s) in " << r.windows_with_missing << " of " << r.real_windows
      << " windows. Every score, distance and picture in this report uses only the " << r.windows_evaluated
      << " real windows without a missing cell; nothing is filled in. The synthetic sequences are complete.</p></div>\n";
  }
}

// ---- categorical columns
void categorical_columns(std::ostringstream& o, const EvalResult& r) {
  if (!r.categories.empty()) {
    o << "<h2 id=\"categories\">Categorical columns</h2>\n<p class=\"note\">How often each label occurs over every "
         "valid time step (synthetic: the largest entry of the column's softmax block), and the total variation distance "
         "&frac12; &Sigma; |real &minus; synthetic| (0 best, 1 worst). The scores above see these columns one-hot encoded, "
         "as the model does.</p>\n<div class=\"card\">";
    for (const auto& c : r.categories) {
      o << "<p><b>" << esc(c.column) << "</b> &middot; total variation " << fixed(c.total_variation, 4)
        << "</p>\n<table><tr><th>label</th><th>real</th><th>synthetic</th></tr>\n";
      for (size_t k = 0; k < c.labels.size(); ++k)
        o << "<tr><td>" << esc(c.labels[k]) << "</td><td class=\"n\">" << fixed(c.real[k], 4) << "</td><td class=\"n\">"
          << fixed(c.synthetic[k], 4) << "</td></tr>\n";
      o << "</table>\n";
    }
    o << "</div>\n";
  }
}

// ---- static columns
void static_columns(std::ostringstream& o, const EvalResult& r) {
  if (!r.statics.empty()) {
    o << "<h2 id=\"static\">Static columns</h2>\n<p class=\"note\">Each sequence's static value, in the data's units: "
         "mean and standard deviation over the sequences of each set, and the Wasserstein-1 distance between the two "
         "distributions (0 best). The scores above see the temporal features only.</p>\n<div class=\"card\">"
         "<table><tr><th>column</th><th>real mean</th><th>real std</th><th>synthetic mean</th><th>synthetic std</th>"
         "<th>Wasserstein-1</th></tr>\n";
    for (const auto& c : r.statics)
      o << "<tr><td>" << esc(c.column) << "</td><td class=\"n\">" << fixed(c.real_mean, 4) << "</td><td class=\"n\">"
        << fixed(c.real_std, 4) << "</td><td class=\"n\">" << fixed(c.synthetic_mean, 4) << "</td><td class=\"n\">"
        << fixed(c.synthetic_std, 4) << "</td><td class=\"n\">" << fixed(c.wasserstein, 4) << "</td></tr>\n";
    o << "</table></div>\n";
  }
}

// ---- per-condition scores
void condition_scores(std::ostringstream& o, const EvalResult& r) {
  if (!r.conditions.column.empty()) {
    o << "<h2 id=\"conditions\">Scores per condition</h2>\n<p class=\"note\">The discriminative and predictive scores "
         "(as above, same settings) on the real and synthetic sequences of each "
      << (r.conditions.kind == "categorical" ? "label" : "quantile bin of the real values")
      << " of the condition <b>" << esc(r.conditions.column)
      << "</b>. Groups with fewer than 10 sequences in either set are skipped.</p>\n<div class=\"card\">"
         "<table><tr><th>condition</th><th>real</th><th>synthetic</th><th>discriminative</th><th>predictive</th></tr>\n";
    for (const auto& g : r.conditions.groups) {
      o << "<tr><td>" << esc(g.name) << "</td><td class=\"n\">" << g.real_n << "</td><td class=\"n\">" << g.synthetic_n
        << "</td>";
      if (!g.skipped.empty())
        o << "<td colspan=\"2\">skipped: " << esc(g.skipped) << "</td>";
      else
        o << "<td class=\"n\">" << fixed(mean_of(g.disc), 4) << " &plusmn; " << fixed(std_of(g.disc), 4)
          << "</td><td class=\"n\">" << fixed(mean_of(g.pred), 4) << " &plusmn; " << fixed(std_of(g.pred), 4) << "</td>";
      o << "</tr>\n";
    }
    o << "</table></div>\n";
  }
}

// ---- PCA / t-SNE
void embeddings(std::ostringstream& o, const EvalResult& r) {
  const Windows& real = *r.real;
  o << "<h2 id=\"embeddings\">PCA and t-SNE</h2>\n<p class=\"note\">" << r.vis.n
    << " windows of each set (the same random indices), each averaged over its features to a length-" << real.seq
    << " vector, as the reference does. PCA fitted on the real windows only (explained variance "
    << fixed(100 * (r.vis.explained_variance_ratio.size() > 0 ? r.vis.explained_variance_ratio[0] : 0), 1) << "% and "
    << fixed(100 * (r.vis.explained_variance_ratio.size() > 1 ? r.vis.explained_variance_ratio[1] : 0), 1)
    << "%). Overlapping clouds mean similar sets.</p>\n<div class=\"grid2\"><figure><figcaption>PCA</figcaption>"
    << scatter(r.vis.pca_real, r.vis.pca_synthetic, "PC 1", "PC 2") << "</figure><figure><figcaption>t-SNE (perplexity 40, "
    << r.settings.at("tsne_iterations").as_int64() << " iterations)</figcaption>"
    << scatter(r.vis.tsne_real, r.vis.tsne_synthetic, "t-SNE 1", "t-SNE 2") << "</figure></div>\n";
}

// ---- samples and marginals
void samples_and_marginals(std::ostringstream& o, const EvalResult& r) {
  const Windows& real = *r.real;
  const Windows& syn = *r.synthetic;
  const int64_t shown = std::min<int64_t>(real.dim, 12);
  const std::string more = real.dim > shown ? " (first " + std::to_string(shown) + " of " + std::to_string(real.dim) + " features)" : "";
  o << "<h2 id=\"samples\">Sample sequences per feature" << more << "</h2>\n<p class=\"note\">Four real and four synthetic "
       "sequences (spread over each set), on the compared scale.</p>\n<div class=\"grid2\">";
  for (int64_t k = 0; k < shown; ++k)
    o << "<figure><figcaption>" << esc(column_name(r, k)) << "</figcaption>" << samples(real, syn, k, 280, 200) << "</figure>";
  o << "</div>\n<h2 id=\"marginals\">Marginal distributions per feature" << more
    << "</h2>\n<p class=\"note\">Histograms (30 bins, density) of every value of each feature.</p>\n<div class=\"grid2\">";
  for (int64_t k = 0; k < shown; ++k)
    o << "<figure><figcaption>" << esc(column_name(r, k)) << " &middot; W1 " << fixed(r.wasserstein[static_cast<size_t>(k)], 4)
      << "</figcaption>" << histogram(real, syn, k, 280, 200) << "</figure>";
  o << "</div>\n";
}

// ---- training losses
void training_losses(std::ostringstream& o, const EvalResult& r) {
  o << "<h2 id=\"losses\">Training losses</h2>\n";
  if (r.losses.empty()) {
    o << "<p class=\"note\">" << esc(r.losses_note.empty() ? "no losses recorded" : r.losses_note) << "</p>\n";
  } else {
    o << "<p class=\"note\">From the run's <code>losses.csv</code>, per phase (long logs averaged in blocks to at most 1,000 "
         "points).</p>\n<div class=\"grid2\">";
    const char* colors[] = {"#2b8a3e", "#e8590c", "#7048e8", "#1c1c1c"};
    // Panels: each phase; the joint phase split so that curves of one scale share a panel.
    struct Panel {
      const char* phase;
      const char* title;
      std::vector<std::string> names;
    };
    const Panel panels[] = {{"embedding", "embedding phase", {"sqrt(e_loss_t0)"}},
                            {"supervised", "supervised phase", {"g_loss_s"}},
                            {"joint", "joint phase: adversarial", {"g_loss_u", "d_loss"}},
                            {"joint", "joint phase: reconstruction, supervised", {"sqrt(e_loss_t0)", "g_loss_s"}}};
    for (const Panel& p : panels) {
      std::vector<Line> ls;
      std::string keys;
      for (const auto& c : r.losses) {
        if (c.phase != p.phase || std::find(p.names.begin(), p.names.end(), c.name) == p.names.end()) continue;
        Line l;
        l.x = c.iteration;
        l.y = c.value;
        l.color = colors[ls.size() % 4];
        l.width = 1.3;
        ls.push_back(l);
        keys += "<span class=\"key\" style=\"background:" + l.color + "\"></span>" + esc(c.name);
      }
      if (ls.empty()) continue;
      o << "<figure><figcaption>" << p.title << "<br><span class=\"keys\">" << keys << "</span></figcaption>"
        << lines_plot(ls, "iteration", "loss", 280, 200, {}) << "</figure>";
    }
    o << "</div>\n";
  }
}

// ---- definitions and settings
void definitions(std::ostringstream& o, const EvalResult& r) {
  o << "<h2 id=\"definitions\">Definitions and settings</h2>\n<div class=\"card\"><dl>"
       "<dt>Discriminative score</dt><dd>A 1-layer GRU (TF1 GRUCell, hidden max(1, &lfloor;d/2&rfloor;) = "
    << r.settings.at("posthoc_hidden").as_int64() << ") reads each window; its final state goes to one logit. Trained "
    << r.settings.at("discriminative_iterations").as_int64()
    << " Adam steps on 128 real + 128 synthetic windows from independent 80/20 splits; score = |accuracy &minus; 0.5| on the held-out 20%.</dd>"
       "<dt>Predictive score</dt><dd>A 1-layer GRU &rarr; dense &rarr; sigmoid trained "
    << r.settings.at("predictive_iterations").as_int64()
    << " Adam steps (batch 128) on the <i>synthetic</i> set to predict the last feature at t+1 from the other features at t "
       "(one feature: its own past), L1 loss; score = mean over all real windows of the per-window mean absolute error. "
       "The real-on-real value is the same predictor trained on the real set itself (once): the floor to compare with.</dd>"
       "<dt>Wasserstein-1</dt><dd>Per feature, &int;|F<sub>real</sub>(x) &minus; F<sub>syn</sub>(x)| dx over every value of that "
       "feature (= mean |a<sub>(i)</sub> &minus; b<sub>(i)</sub>| of the sorted values for equal counts).</dd>"
       "<dt>Autocorrelation difference</dt><dd>mean over features k and lags &ell; = 1..min(T&minus;1, 10) of "
       "|ACF<sub>real</sub>(k, &ell;) &minus; ACF<sub>syn</sub>(k, &ell;)|, each ACF the per-window sample autocorrelation averaged over windows.</dd>"
       "<dt>Cross-correlation difference</dt><dd>mean over the d(d&minus;1) off-diagonal entries of |C<sub>real</sub> &minus; "
       "C<sub>syn</sub>|, C the Pearson correlation of the features over all time steps of all windows.</dd>"
       "<dt>MMD&sup2;</dt><dd>Biased estimate (1/m&sup2;)&Sigma;k(x,x&prime;) + (1/n&sup2;)&Sigma;k(y,y&prime;) &minus; (2/mn)&Sigma;k(x,y) "
       "with k = exp(&minus;|x&minus;y|&sup2;/2&sigma;&sup2;) on flattened windows, &sigma; the median pairwise distance, at most 1,000 windows per set.</dd>"
       "</dl><p class=\"note\">Seed "
    << esc(r.settings.at("seed").dump(0)) << "; random streams: " << esc(r.settings.at("streams").as_string()) << "; device "
    << esc(r.settings.at("device").as_string()) << "; evaluation time " << fixed(r.seconds, 1)
    << " s. Every number is in <code>metrics.json</code> next to this file.</p></div>\n";
}

}  // namespace

std::string report_html(const EvalResult& r) {
  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>TimeGAN evaluation</title><style>" << kCss
    << "</style></head><body><main>\n";
  o << "<h1>TimeGAN evaluation report</h1>\n<p class=\"sub\"><b>Real:</b> " << esc(r.real_source) << "<br><b>Synthetic:</b> "
    << esc(r.synthetic_source) << "<br><b>Compared on</b> " << esc(r.scale) << ", preset <code>" << esc(r.preset)
    << "</code>. Colours: <span class=\"key\" style=\"background:" << kReal << "\"></span>real <span class=\"key\" style=\"background:"
    << kSynthetic << "\"></span>synthetic.</p>\n";
  scores(o, r);
  missing_cells(o, r);
  categorical_columns(o, r);
  static_columns(o, r);
  condition_scores(o, r);
  embeddings(o, r);
  samples_and_marginals(o, r);
  training_losses(o, r);
  definitions(o, r);
  o << "</main></body></html>\n";
  return o.str();
}

}  // namespace tg::app
