// metrics.json: every number of an evaluation (tg/app/report.h).
#include "common.h"
#include "tg/app/report.h"

namespace tg::app {

using tg::io::Json;
using report_detail::column_name;
using report_detail::mean_of;
using report_detail::std_of;

namespace {

// The label frequencies of each categorical column.
Json categorical_json(const EvalResult& r) {
  Json cs = Json::object();
  for (const auto& c : r.categories) {
    Json o = Json::object();
    Json lr = Json::object(), ls = Json::object();
    for (size_t k = 0; k < c.labels.size(); ++k) {
      lr[c.labels[k]] = c.real[k];
      ls[c.labels[k]] = c.synthetic[k];
    }
    o["real"] = lr;
    o["synthetic"] = ls;
    o["total_variation"] = c.total_variation;
    cs[c.column] = o;
  }
  return cs;
}

// Each static column's moments and distance.
Json static_json(const EvalResult& r) {
  Json ss = Json::object();
  for (const auto& c : r.statics) {
    Json o = Json::object();
    o["real_mean"] = c.real_mean;
    o["real_std"] = c.real_std;
    o["synthetic_mean"] = c.synthetic_mean;
    o["synthetic_std"] = c.synthetic_std;
    o["wasserstein"] = c.wasserstein;
    o["real_n"] = static_cast<long long>(c.real_n);
    o["synthetic_n"] = static_cast<long long>(c.synthetic_n);
    ss[c.column] = o;
  }
  return ss;
}

// The scores per condition.
Json conditions_json(const EvalResult& r) {
  Json c = Json::object();
  c["column"] = r.conditions.column;
  c["kind"] = r.conditions.kind;
  c["groups_by"] = r.conditions.kind == "categorical" ? "label" : "quantile bins of the real values (at most 4)";
  Json gs = Json::array();
  for (const auto& g : r.conditions.groups) {
    Json o = Json::object();
    o["condition"] = g.name;
    o["real_sequences"] = static_cast<long long>(g.real_n);
    o["synthetic_sequences"] = static_cast<long long>(g.synthetic_n);
    if (!g.skipped.empty()) {
      o["skipped"] = g.skipped;
    } else {
      Json d = Json::object();
      d["mean"] = mean_of(g.disc);
      d["std"] = std_of(g.disc);
      d["per_repeat"] = Json::from_doubles(g.disc);
      o["discriminative"] = d;
      Json p = Json::object();
      p["mean"] = mean_of(g.pred);
      p["std"] = std_of(g.pred);
      p["per_repeat"] = Json::from_doubles(g.pred);
      o["predictive"] = p;
    }
    gs.push_back(o);
  }
  c["groups"] = gs;
  return c;
}

// The missing cells of the real data and what the scores did with them.
Json missing_json(const EvalResult& r) {
  Json m = Json::object();
  m["cells"] = static_cast<long long>(r.missing_cells);
  m["real_windows"] = static_cast<long long>(r.real_windows);
  m["windows_with_missing"] = static_cast<long long>(r.windows_with_missing);
  m["windows_evaluated"] = static_cast<long long>(r.windows_evaluated);
  m["policy"] = "scores, distances and pictures use only the real windows without a missing cell; nothing is filled in";
  return m;
}

// The PCA and t-SNE coordinates of the pictures.
Json visualisation_json(const EvalResult& r) {
  Json v = Json::object();
  v["samples_per_set"] = static_cast<long long>(r.vis.n);
  v["pca_explained_variance_ratio"] = Json::from_doubles(r.vis.explained_variance_ratio);
  v["pca_real"] = Json::from_doubles(r.vis.pca_real);
  v["pca_synthetic"] = Json::from_doubles(r.vis.pca_synthetic);
  v["tsne_real"] = Json::from_doubles(r.vis.tsne_real);
  v["tsne_synthetic"] = Json::from_doubles(r.vis.tsne_synthetic);
  return v;
}

}  // namespace

Json metrics_json(const EvalResult& r) {
  Json j = Json::object();
  j["format"] = "timegan-evaluation/1";
  Json real = Json::object();
  real["source"] = r.real_source;
  real["windows"] = static_cast<long long>(r.real->n);
  real["seq_len"] = static_cast<long long>(r.real->seq);
  real["features"] = static_cast<long long>(r.real->dim);
  Json cols = Json::array();
  for (int64_t k = 0; k < r.real->dim; ++k) cols.push_back(column_name(r, k));
  real["columns"] = cols;
  real["preset"] = r.preset;
  real["scale"] = r.scale;
  j["real"] = real;
  Json syn = Json::object();
  syn["source"] = r.synthetic_source;
  syn["windows"] = static_cast<long long>(r.synthetic->n);
  j["synthetic"] = syn;
  auto paper = [&](double m, double s) {
    if (r.paper_set.empty()) return Json();
    Json p = Json::object();
    p["data_set"] = r.paper_set;
    p["mean"] = m;
    p["std"] = s;
    p["source"] = "Yoon et al. 2019, Table 2 (TimeGAN row)";
    return p;
  };
  Json d = Json::object();
  d["mean"] = mean_of(r.disc);
  d["std"] = std_of(r.disc);
  d["per_repeat"] = Json::from_doubles(r.disc);
  d["accuracy_per_repeat"] = Json::from_doubles(r.disc_accuracy);
  d["paper"] = paper(r.paper_disc, r.paper_disc_std);
  j["discriminative"] = d;
  Json p = Json::object();
  p["mean"] = mean_of(r.pred);
  p["std"] = std_of(r.pred);
  p["per_repeat"] = Json::from_doubles(r.pred);
  p["own_past"] = r.pred_own_past;
  p["real_on_real"] = r.pred_real_on_real;
  p["paper"] = paper(r.paper_pred, r.paper_pred_std);
  j["predictive"] = p;
  Json w = Json::object();
  Json wf = Json::object();
  for (size_t k = 0; k < r.wasserstein.size(); ++k) wf[column_name(r, static_cast<int64_t>(k))] = r.wasserstein[k];
  w["per_feature"] = wf;
  w["mean"] = mean_of(r.wasserstein);
  j["wasserstein1"] = w;
  if (!r.categories.empty()) j["categorical"] = categorical_json(r);
  if (!r.statics.empty()) j["static"] = static_json(r);
  if (!r.conditions.column.empty()) j["conditions"] = conditions_json(r);  // absent without a condition
  if (r.missing_reported) j["missing"] = missing_json(r);
  j["acf_difference"] = r.acf_diff;
  Json x = Json::object();
  x["mean_abs"] = r.xcorr.mean_abs;
  x["frobenius"] = r.xcorr.frobenius;
  j["xcorr_difference"] = x;
  Json m = Json::object();
  m["mmd2"] = r.mmd.mmd2;
  m["bandwidth"] = r.mmd.bandwidth;
  m["n_real"] = static_cast<long long>(r.mmd.n_a);
  m["n_synthetic"] = static_cast<long long>(r.mmd.n_b);
  j["mmd"] = m;
  j["visualisation"] = visualisation_json(r);
  j["settings"] = r.settings;
  j["seconds"] = r.seconds;
  return j;
}

}  // namespace tg::app
