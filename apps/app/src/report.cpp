#include "tg/app/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

#include "tg/io/error.h"
#include "tg/io/fs.h"

namespace tg::app {

using tg::io::Json;
using tg::io::Windows;
namespace mt = tg::models::metrics;

namespace {

const char* kReal = "#d62728";       // red, as the reference's plots
const char* kSynthetic = "#1f5fd6";  // blue

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '&') o += "&amp;";
    else if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '"') o += "&quot;";
    else o += c;
  }
  return o;
}

std::string num(double v, int sig = 4) {
  if (!std::isfinite(v)) return "n/a";
  char b[48];
  std::snprintf(b, sizeof b, "%.*g", sig, v);
  return b;
}

std::string fixed(double v, int decimals = 4) {
  if (!std::isfinite(v)) return "n/a";
  char b[48];
  std::snprintf(b, sizeof b, "%.*f", decimals, v);
  return b;
}

std::string coord(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", v);
  return b;
}

// "Nice" tick positions (1, 2, 5 x 10^k) covering [lo, hi].
std::vector<double> ticks(double lo, double hi, int target = 5) {
  std::vector<double> t;
  if (!(hi > lo)) return {lo};
  const double raw = (hi - lo) / target, mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  for (double v = std::ceil(lo / step) * step; v <= hi + 1e-9 * step; v += step) t.push_back(std::fabs(v) < 1e-12 * step ? 0.0 : v);
  return t;
}

// A plotting frame: data range -> pixel box with margins, axes with ticks and labels.
struct Frame {
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  int W = 400, H = 300, ml = 52, mr = 12, mt = 12, mb = 38;
  double px(double x) const { return ml + (x - x0) / (x1 - x0) * (W - ml - mr); }
  double py(double y) const { return H - mb - (y - y0) / (y1 - y0) * (H - mt - mb); }
  void fit(const std::vector<double>& xs, const std::vector<double>& ys, double pad = 0.04) {
    x0 = y0 = std::numeric_limits<double>::infinity();
    x1 = y1 = -std::numeric_limits<double>::infinity();
    for (double v : xs)
      if (std::isfinite(v)) x0 = std::min(x0, v), x1 = std::max(x1, v);
    for (double v : ys)
      if (std::isfinite(v)) y0 = std::min(y0, v), y1 = std::max(y1, v);
    if (!std::isfinite(x0)) x0 = 0, x1 = 1;
    if (!std::isfinite(y0)) y0 = 0, y1 = 1;
    if (x1 - x0 < 1e-12) x0 -= 0.5, x1 += 0.5;
    if (y1 - y0 < 1e-12) y0 -= 0.5, y1 += 0.5;
    const double dx = (x1 - x0) * pad, dy = (y1 - y0) * pad;
    x0 -= dx, x1 += dx, y0 -= dy, y1 += dy;
  }
  std::string open() const {
    return "<svg viewBox=\"0 0 " + std::to_string(W) + " " + std::to_string(H) +
           "\" width=\"" + std::to_string(W) + "\" height=\"" + std::to_string(H) + "\">";
  }
  std::string axes(const std::string& xlabel, const std::string& ylabel) const {
    std::ostringstream o;
    o << "<rect x=\"" << ml << "\" y=\"" << mt << "\" width=\"" << W - ml - mr << "\" height=\"" << H - mt - mb
      << "\" fill=\"#fff\" stroke=\"#999\"/>";
    for (double v : ticks(x0, x1)) {
      const double X = px(v);
      o << "<line x1=\"" << coord(X) << "\" x2=\"" << coord(X) << "\" y1=\"" << mt << "\" y2=\"" << H - mb
        << "\" class=\"grid\"/><text x=\"" << coord(X) << "\" y=\"" << H - mb + 14 << "\" class=\"tick\" text-anchor=\"middle\">"
        << num(v, 3) << "</text>";
    }
    for (double v : ticks(y0, y1)) {
      const double Y = py(v);
      o << "<line x1=\"" << ml << "\" x2=\"" << W - mr << "\" y1=\"" << coord(Y) << "\" y2=\"" << coord(Y)
        << "\" class=\"grid\"/><text x=\"" << ml - 4 << "\" y=\"" << coord(Y + 3.5) << "\" class=\"tick\" text-anchor=\"end\">"
        << num(v, 3) << "</text>";
    }
    if (!xlabel.empty())
      o << "<text x=\"" << coord((ml + W - mr) / 2.0) << "\" y=\"" << H - 6 << "\" class=\"lab\" text-anchor=\"middle\">"
        << esc(xlabel) << "</text>";
    if (!ylabel.empty())
      o << "<text transform=\"translate(12," << coord((mt + H - mb) / 2.0) << ") rotate(-90)\" class=\"lab\" text-anchor=\"middle\">"
        << esc(ylabel) << "</text>";
    return o.str();
  }
};

std::string legend(const Frame& f, const std::vector<std::pair<std::string, std::string>>& items, bool dots = false) {
  std::ostringstream o;
  int width = 0;
  for (const auto& it : items) width = std::max(width, static_cast<int>(it.first.size()));
  const int w = 26 + 7 * width, h = 6 + 16 * static_cast<int>(items.size());
  const int x = f.W - f.mr - w - 6, y = f.mt + 6;
  o << "<rect x=\"" << x << "\" y=\"" << y << "\" width=\"" << w << "\" height=\"" << h
    << "\" fill=\"#fff\" fill-opacity=\"0.85\" stroke=\"#ccc\"/>";
  for (size_t i = 0; i < items.size(); ++i) {
    const int yy = y + 12 + 16 * static_cast<int>(i);
    if (dots)
      o << "<circle cx=\"" << x + 11 << "\" cy=\"" << yy - 1 << "\" r=\"4\" fill=\"" << items[i].second << "\"/>";
    else
      o << "<line x1=\"" << x + 4 << "\" x2=\"" << x + 18 << "\" y1=\"" << yy - 1 << "\" y2=\"" << yy - 1 << "\" stroke=\""
        << items[i].second << "\" stroke-width=\"2.5\"/>";
    o << "<text x=\"" << x + 22 << "\" y=\"" << yy + 3 << "\" class=\"tick\">" << esc(items[i].first) << "</text>";
  }
  return o.str();
}

std::string scatter(const std::vector<double>& real, const std::vector<double>& syn, const std::string& xl,
                    const std::string& yl) {
  Frame f;
  f.W = 560;
  f.H = 470;
  std::vector<double> xs, ys;
  for (const auto* v : {&real, &syn})
    for (size_t i = 0; i + 1 < v->size(); i += 2) xs.push_back((*v)[i]), ys.push_back((*v)[i + 1]);
  f.fit(xs, ys);
  std::ostringstream o;
  o << f.open() << f.axes(xl, yl);
  auto dots = [&](const std::vector<double>& v, const char* color) {
    o << "<g fill=\"" << color << "\" fill-opacity=\"0.2\">";
    for (size_t i = 0; i + 1 < v.size(); i += 2)
      o << "<circle cx=\"" << coord(f.px(v[i])) << "\" cy=\"" << coord(f.py(v[i + 1])) << "\" r=\"3\"/>";
    o << "</g>";
  };
  dots(real, kReal);
  dots(syn, kSynthetic);
  o << legend(f, {{"real", kReal}, {"synthetic", kSynthetic}}, true) << "</svg>";
  return o.str();
}

struct Line {
  std::vector<double> x, y;
  std::string color;
  double opacity = 1, width = 1.5;
};

std::string polyline(const Frame& f, const Line& l) {
  std::ostringstream o;
  std::string pts;
  auto flush = [&]() {
    if (!pts.empty())
      o << "<polyline fill=\"none\" stroke=\"" << l.color << "\" stroke-opacity=\"" << l.opacity << "\" stroke-width=\""
        << l.width << "\" points=\"" << pts << "\"/>";
    pts.clear();
  };
  for (size_t i = 0; i < l.x.size(); ++i) {
    if (!std::isfinite(l.y[i])) {
      flush();
      continue;
    }
    pts += coord(f.px(l.x[i])) + "," + coord(f.py(l.y[i])) + " ";
  }
  flush();
  return o.str();
}

std::string lines_plot(const std::vector<Line>& ls, const std::string& xl, const std::string& yl, int W, int H,
                       const std::vector<std::pair<std::string, std::string>>& leg, bool fix01 = false) {
  Frame f;
  f.W = W;
  f.H = H;
  std::vector<double> xs, ys;
  for (const auto& l : ls) xs.insert(xs.end(), l.x.begin(), l.x.end()), ys.insert(ys.end(), l.y.begin(), l.y.end());
  f.fit(xs, ys, 0.02);
  if (fix01 && f.y0 > -0.05 && f.y1 < 1.05) f.y0 = -0.02, f.y1 = 1.02;
  std::ostringstream o;
  o << f.open() << f.axes(xl, yl);
  for (const auto& l : ls) o << polyline(f, l);
  if (!leg.empty()) o << legend(f, leg);
  o << "</svg>";
  return o.str();
}

std::vector<double> values_of(const Windows& w, int64_t k) {
  std::vector<double> v;
  for (int64_t i = 0; i < w.n; ++i)
    for (int64_t t = 0; t < w.length(i); ++t) v.push_back(w.at(i, t, k));
  return v;
}

std::string histogram(const Windows& real, const Windows& syn, int64_t k, int W, int H) {
  const std::vector<double> a = values_of(real, k), b = values_of(syn, k);
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const auto* v : {&a, &b})
    for (double x : *v) lo = std::min(lo, x), hi = std::max(hi, x);
  if (!(hi > lo)) hi = lo + 1;
  const int bins = 30;
  auto density = [&](const std::vector<double>& v) {
    std::vector<double> h(bins, 0.0);
    for (double x : v) h[static_cast<size_t>(std::min(bins - 1, static_cast<int>((x - lo) / (hi - lo) * bins)))] += 1;
    for (double& c : h) c /= std::max<double>(1, static_cast<double>(v.size())) * (hi - lo) / bins;
    return h;
  };
  const std::vector<double> ha = density(a), hb = density(b);
  Frame f;
  f.W = W;
  f.H = H;
  f.x0 = lo;
  f.x1 = hi;
  f.y0 = 0;
  f.y1 = 1.08 * std::max(*std::max_element(ha.begin(), ha.end()), *std::max_element(hb.begin(), hb.end()));
  if (!(f.y1 > 0)) f.y1 = 1;
  std::ostringstream o;
  o << f.open() << f.axes("value", "density");
  auto area = [&](const std::vector<double>& h, const char* color) {
    std::string pts = coord(f.px(lo)) + "," + coord(f.py(0)) + " ";
    for (int i = 0; i < bins; ++i) {
      const double xa = lo + (hi - lo) * i / bins, xb = lo + (hi - lo) * (i + 1) / bins;
      pts += coord(f.px(xa)) + "," + coord(f.py(h[static_cast<size_t>(i)])) + " " + coord(f.px(xb)) + "," +
             coord(f.py(h[static_cast<size_t>(i)])) + " ";
    }
    pts += coord(f.px(hi)) + "," + coord(f.py(0));
    o << "<polygon points=\"" << pts << "\" fill=\"" << color << "\" fill-opacity=\"0.25\" stroke=\"" << color
      << "\" stroke-width=\"1.2\"/>";
  };
  area(ha, kReal);
  area(hb, kSynthetic);
  o << "</svg>";
  return o.str();
}

std::string samples(const Windows& real, const Windows& syn, int64_t k, int W, int H) {
  std::vector<Line> ls;
  const int64_t m = 4;
  auto add = [&](const Windows& w, const char* color) {
    for (int64_t j = 0; j < std::min(m, w.n); ++j) {
      const int64_t i = j * (w.n / std::max<int64_t>(1, std::min(m, w.n)));  // spread over the set
      Line l;
      l.color = color;
      l.opacity = 0.75;
      for (int64_t t = 0; t < w.length(i); ++t) l.x.push_back(static_cast<double>(t)), l.y.push_back(w.at(i, t, k));
      ls.push_back(l);
    }
  };
  add(real, kReal);
  add(syn, kSynthetic);
  return lines_plot(ls, "time step", "value", W, H, {}, true);
}

double mean_of(const std::vector<double>& v) {
  double m, s;
  mt::mean_std(v, m, s);
  return m;
}
double std_of(const std::vector<double>& v) {
  double m, s;
  mt::mean_std(v, m, s);
  return s;
}

std::string column_name(const EvalResult& r, int64_t k) {
  return k < static_cast<int64_t>(r.columns.size()) ? r.columns[static_cast<size_t>(k)] : "feature_" + std::to_string(k + 1);
}

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

}  // namespace

std::vector<LossCurve> read_loss_curves(const std::string& path, size_t max_points) {
  const std::string text = tg::io::read_file(path);
  std::istringstream in(text);
  std::string line;
  std::vector<std::string> header;
  auto split = [](const std::string& s) {
    std::vector<std::string> f;
    std::string cur;
    for (char c : s) {
      if (c == ',') f.push_back(cur), cur.clear();
      else if (c != '\r') cur += c;
    }
    f.push_back(cur);
    return f;
  };
  if (!std::getline(in, line)) throw tg::io::InputError(path + ": empty loss log");
  header = split(line);
  auto col = [&](const std::string& n) -> size_t {
    for (size_t i = 0; i < header.size(); ++i)
      if (header[i] == n) return i;
    throw tg::io::InputError(path + ":1: no column '" + n + "' in the loss log header");
  };
  const size_t cp = col("phase"), ci = col("iteration"), ce = col("e_loss_t0"), cs = col("g_loss_s"), cu = col("g_loss_u"),
               cd = col("d_loss");
  struct Spec {
    const char* phase;
    const char* name;
    size_t c;
    bool sqrt;
  };
  const Spec specs[] = {{"embedding", "sqrt(e_loss_t0)", ce, true}, {"supervised", "g_loss_s", cs, false},
                        {"joint", "sqrt(e_loss_t0)", ce, true},     {"joint", "g_loss_s", cs, false},
                        {"joint", "g_loss_u", cu, false},           {"joint", "d_loss", cd, false}};
  std::vector<LossCurve> all;
  for (const auto& s : specs) {
    LossCurve c;
    c.phase = s.phase;
    c.name = s.name;
    all.push_back(c);
  }
  int64_t ln = 1;
  while (std::getline(in, line)) {
    ++ln;
    if (line.empty() || line == "\r") continue;
    const std::vector<std::string> f = split(line);
    if (f.size() != header.size())
      throw tg::io::InputError(path + ":" + std::to_string(ln) + ": expected " + std::to_string(header.size()) +
                               " fields, found " + std::to_string(f.size()));
    for (size_t k = 0; k < all.size(); ++k) {
      if (f[cp] != specs[k].phase) continue;
      const std::string& v = f[specs[k].c];
      if (v.empty()) continue;
      char* end = nullptr;
      double x = std::strtod(v.c_str(), &end);
      if (*end != '\0')
        throw tg::io::InputError(path + ":" + std::to_string(ln) + ": column '" + header[specs[k].c] + "': not a number: \"" + v + "\"");
      if (!std::isfinite(x)) continue;  // a diverged step (nan / inf): no point to draw
      if (specs[k].sqrt) x = std::sqrt(std::max(0.0, x));
      all[k].iteration.push_back(std::strtod(f[ci].c_str(), nullptr));
      all[k].value.push_back(x);
    }
  }
  std::vector<LossCurve> out;
  for (auto& c : all) {
    if (c.value.empty()) continue;
    const size_t stride = (c.value.size() + max_points - 1) / max_points;
    if (stride > 1) {
      LossCurve s;
      s.phase = c.phase;
      s.name = c.name;
      for (size_t i = 0; i < c.value.size(); i += stride) {
        double m = 0;  // mean of each block: a smoothed, honest summary of the noisy log
        size_t n = 0;
        for (size_t j = i; j < std::min(c.value.size(), i + stride); ++j) m += c.value[j], ++n;
        s.iteration.push_back(c.iteration[i]);
        s.value.push_back(m / static_cast<double>(n));
      }
      c = s;
    }
    out.push_back(c);
  }
  return out;
}

std::vector<StaticColumnStats> static_column_stats(const tg::io::OutputMap& map, const tg::io::Windows& real,
                                                   const tg::io::Windows& synthetic) {
  const auto S = static_cast<int64_t>(map.static_columns.size());
  std::vector<StaticColumnStats> out;
  if (S == 0 || real.static_dim != S || synthetic.static_dim != S || real.n < 1 || synthetic.n < 1) return out;
  std::vector<double> rv = real.statics, sv = synthetic.statics;
  map.statics.inverse(rv.data(), real.n);
  map.statics.inverse(sv.data(), synthetic.n);
  auto moments = [S](const std::vector<double>& v, int64_t k, double& mean, double& sd, std::vector<double>& col) {
    const auto n = static_cast<int64_t>(v.size()) / S;
    col.clear();
    mean = 0;
    for (int64_t i = 0; i < n; ++i) col.push_back(v[static_cast<size_t>(i * S + k)]);
    for (double x : col) mean += x / static_cast<double>(n);
    double var = 0;
    for (double x : col) var += (x - mean) * (x - mean) / static_cast<double>(n);
    sd = std::sqrt(var);  // population standard deviation
  };
  for (int64_t k = 0; k < S; ++k) {
    StaticColumnStats c;
    c.column = map.static_columns[static_cast<size_t>(k)];
    c.real_n = real.n;
    c.synthetic_n = synthetic.n;
    std::vector<double> a, b;
    moments(rv, k, c.real_mean, c.real_std, a);
    moments(sv, k, c.synthetic_mean, c.synthetic_std, b);
    c.wasserstein = mt::wasserstein1(a, b);
    out.push_back(c);
  }
  return out;
}

std::vector<CategoryFrequencies> category_frequencies(const tg::io::OutputMap& map, const tg::io::Windows& real,
                                                      const tg::io::Windows& synthetic) {
  std::vector<CategoryFrequencies> out;
  int64_t off = map.numeric();
  for (const auto& c : map.categorical) {
    CategoryFrequencies f;
    f.column = c.name;
    f.labels = c.labels;
    const auto K = static_cast<int64_t>(c.labels.size());
    auto count = [&](const tg::io::Windows& w, std::vector<double>& freq) {
      freq.assign(static_cast<size_t>(K), 0.0);
      double n = 0;
      for (int64_t i = 0; i < w.n; ++i)
        for (int64_t t = 0; t < w.length(i); ++t) {
          int64_t best = 0;
          for (int64_t j = 1; j < K; ++j)
            if (w.at(i, t, off + j) > w.at(i, t, off + best)) best = j;
          freq[static_cast<size_t>(best)] += 1;
          n += 1;
        }
      if (n > 0)
        for (double& v : freq) v /= n;
    };
    count(real, f.real);
    count(synthetic, f.synthetic);
    for (int64_t j = 0; j < K; ++j)
      f.total_variation += 0.5 * std::fabs(f.real[static_cast<size_t>(j)] - f.synthetic[static_cast<size_t>(j)]);
    out.push_back(std::move(f));
    off += K;
  }
  return out;
}

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
  if (!r.categories.empty()) {
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
    j["categorical"] = cs;
  }
  if (!r.statics.empty()) {
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
    j["static"] = ss;
  }
  if (!r.conditions.column.empty()) {  // absent without a condition
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
    j["conditions"] = c;
  }
  if (r.missing_reported) {
    Json m = Json::object();
    m["cells"] = static_cast<long long>(r.missing_cells);
    m["real_windows"] = static_cast<long long>(r.real_windows);
    m["windows_with_missing"] = static_cast<long long>(r.windows_with_missing);
    m["windows_evaluated"] = static_cast<long long>(r.windows_evaluated);
    m["policy"] = "scores, distances and pictures use only the real windows without a missing cell; nothing is filled in";
    j["missing"] = m;
  }
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
  Json v = Json::object();
  v["samples_per_set"] = static_cast<long long>(r.vis.n);
  v["pca_explained_variance_ratio"] = Json::from_doubles(r.vis.explained_variance_ratio);
  v["pca_real"] = Json::from_doubles(r.vis.pca_real);
  v["pca_synthetic"] = Json::from_doubles(r.vis.pca_synthetic);
  v["tsne_real"] = Json::from_doubles(r.vis.tsne_real);
  v["tsne_synthetic"] = Json::from_doubles(r.vis.tsne_synthetic);
  j["visualisation"] = v;
  j["settings"] = r.settings;
  j["seconds"] = r.seconds;
  return j;
}

std::string report_html(const EvalResult& r) {
  const Windows& real = *r.real;
  const Windows& syn = *r.synthetic;
  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>TimeGAN evaluation</title><style>" << kCss
    << "</style></head><body><main>\n";
  o << "<h1>TimeGAN evaluation report</h1>\n<p class=\"sub\"><b>Real:</b> " << esc(r.real_source) << "<br><b>Synthetic:</b> "
    << esc(r.synthetic_source) << "<br><b>Compared on</b> " << esc(r.scale) << ", preset <code>" << esc(r.preset)
    << "</code>. Colours: <span class=\"key\" style=\"background:" << kReal << "\"></span>real <span class=\"key\" style=\"background:"
    << kSynthetic << "\"></span>synthetic.</p>\n";

  // ---- scores
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

  // ---- missing cells
  if (r.missing_reported) {
    o << "<h2 id=\"missing\">Missing cells</h2>\n<div class=\"card\"><p>The real data hold " << r.missing_cells
      << " missing cell(s) in " << r.windows_with_missing << " of " << r.real_windows
      << " windows. Every score, distance and picture in this report uses only the " << r.windows_evaluated
      << " real windows without a missing cell; nothing is filled in. The synthetic sequences are complete.</p></div>\n";
  }

  // ---- categorical columns
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

  // ---- static columns
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

  // ---- per-condition scores
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

  // ---- PCA / t-SNE
  o << "<h2 id=\"embeddings\">PCA and t-SNE</h2>\n<p class=\"note\">" << r.vis.n
    << " windows of each set (the same random indices), each averaged over its features to a length-" << real.seq
    << " vector, as the reference does. PCA fitted on the real windows only (explained variance "
    << fixed(100 * (r.vis.explained_variance_ratio.size() > 0 ? r.vis.explained_variance_ratio[0] : 0), 1) << "% and "
    << fixed(100 * (r.vis.explained_variance_ratio.size() > 1 ? r.vis.explained_variance_ratio[1] : 0), 1)
    << "%). Overlapping clouds mean similar sets.</p>\n<div class=\"grid2\"><figure><figcaption>PCA</figcaption>"
    << scatter(r.vis.pca_real, r.vis.pca_synthetic, "PC 1", "PC 2") << "</figure><figure><figcaption>t-SNE (perplexity 40, "
    << r.settings.at("tsne_iterations").as_int64() << " iterations)</figcaption>"
    << scatter(r.vis.tsne_real, r.vis.tsne_synthetic, "t-SNE 1", "t-SNE 2") << "</figure></div>\n";

  // ---- samples and marginals
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

  // ---- training losses
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

  // ---- definitions and settings
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
  o << "</main></body></html>\n";
  return o.str();
}

}  // namespace tg::app
