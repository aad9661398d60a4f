// SVG charts of the evaluation report (svg.h).
#include "svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

namespace tg::app::svg {

const char* const kReal = "#d62728";       // red, as the reference's plots
const char* const kSynthetic = "#1f5fd6";  // blue

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

std::string num(double v, int sig) {
  if (!std::isfinite(v)) return "n/a";
  char b[48];
  std::snprintf(b, sizeof b, "%.*g", sig, v);
  return b;
}

std::string fixed(double v, int decimals) {
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

std::vector<double> ticks(double lo, double hi, int target) {
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

std::string legend(const Frame& f, const std::vector<std::pair<std::string, std::string>>& items, bool dots) {
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
                       const std::vector<std::pair<std::string, std::string>>& leg, bool fix01) {
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

std::string Frame::axes(const std::string& xlabel, const std::string& ylabel) const {
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

}  // namespace tg::app::svg
