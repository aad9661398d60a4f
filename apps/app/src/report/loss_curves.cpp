// The loss curves of a run's losses.csv for the report (tg/app/report.h).
#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "tg/app/report.h"
#include "tg/io/csv.h"
#include "tg/io/error.h"
#include "tg/io/fs.h"

namespace tg::app {

std::vector<LossCurve> read_loss_curves(const std::string& path, size_t max_points) {
  const std::string text = tg::io::read_file(path);
  tg::io::CsvRecords records(text, path);  // the log is CSV: split as the data readers split it
  std::vector<std::string> header, f;
  int64_t ln = 0;
  if (!records.next(header, ln)) throw tg::io::InputError(path + ": empty loss log");
  auto col = [&](const std::string& n) -> size_t {
    for (size_t i = 0; i < header.size(); ++i)
      if (header[i] == n) return i;
    throw tg::io::InputError(path + ":" + std::to_string(ln) + ": no column '" + n + "' in the loss log header");
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
  while (records.next(f, ln)) {
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

}  // namespace tg::app
