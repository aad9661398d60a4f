// The evaluation report's SVG charts (inline in report.html: no scripts, no external reference):
// a plotting frame with axes, legends, scatter and line plots, histograms and sample sequences.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "tg/io/dataset.h"

namespace tg::app::svg {

using tg::io::Windows;

/// The colours of the real and the synthetic set.
extern const char* const kReal;
extern const char* const kSynthetic;

/// HTML/XML text with & < > " escaped.
std::string esc(const std::string& s);
/// v with `sig` significant digits ("n/a" when not finite).
std::string num(double v, int sig = 4);
/// v with `decimals` digits after the point ("n/a" when not finite).
std::string fixed(double v, int decimals = 4);
/// A pixel coordinate (one decimal).
std::string coord(double v);
/// "Nice" tick positions (1, 2, 5 x 10^k) covering [lo, hi].
std::vector<double> ticks(double lo, double hi, int target = 5);

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
  /// The frame, the grid with tick labels, and the axis labels.
  std::string axes(const std::string& xlabel, const std::string& ylabel) const;
};

/// A legend box in the frame's upper right corner: (label, colour) pairs, as lines or dots.
std::string legend(const Frame& f, const std::vector<std::pair<std::string, std::string>>& items, bool dots = false);
/// Two point clouds (x0 y0 x1 y1 ... each), real and synthetic.
std::string scatter(const std::vector<double>& real, const std::vector<double>& syn, const std::string& xl,
                    const std::string& yl);

struct Line {
  std::vector<double> x, y;
  std::string color;
  double opacity = 1, width = 1.5;
};

/// One line in a frame (broken where y is not finite).
std::string polyline(const Frame& f, const Line& l);
/// Lines in one frame fitted to them; fix01 keeps [0, 1] when the values lie in it.
std::string lines_plot(const std::vector<Line>& ls, const std::string& xl, const std::string& yl, int W, int H,
                       const std::vector<std::pair<std::string, std::string>>& leg, bool fix01 = false);
/// Every value of feature k over the valid steps of every window.
std::vector<double> values_of(const Windows& w, int64_t k);
/// Histograms (30 bins, density) of feature k in both sets.
std::string histogram(const Windows& real, const Windows& syn, int64_t k, int W, int H);
/// Four real and four synthetic sequences of feature k, spread over each set.
std::string samples(const Windows& real, const Windows& syn, int64_t k, int W, int H);

}  // namespace tg::app::svg
