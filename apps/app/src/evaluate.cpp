// Evaluation (tg/app/evaluate.h): the reference's discriminative and predictive scores
// (repeated, mean and std), its PCA / t-SNE pictures, distribution distances it does not ship,
// and an HTML report; `timegan evaluate` and the Python module's evaluate.
#include "tg/app/evaluate.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "tg/app/condition.h"
#include "tg/app/run.h"
#include "tg/io/csv.h"
#include "tg/io/error.h"
#include "tg/io/fs.h"
#include "tg/io/npy.h"
#include "tg/models/metrics.h"

namespace tg::app {

using tg::io::Json;
using tg::io::Windows;
namespace mt = tg::models::metrics;

namespace {

bool ends_with(const std::string& s, const std::string& suf) {
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

std::string describe(const Windows& w) {
  return std::to_string(w.seq) + " steps x " + std::to_string(w.dim) + " features";
}

[[noreturn]] void shape_mismatch(const std::string& real_src, const Windows& r, const std::string& syn_src,
                                 int64_t seq, int64_t dim) {
  throw tg::io::InputError("real data " + real_src + " has windows of " + describe(r) + " but synthetic data " +
                           syn_src + " has " + std::to_string(seq) + " steps x " + std::to_string(dim) +
                           " features; they must match");
}

// Synthetic windows [n, T, d] in the data's units (an NPY file, or an array from Python).
// The columns of the data's units: the real windows' features, or with categorical columns
// the numeric ones and one label index per categorical column.
int64_t data_columns(const Windows& real, const tg::io::OutputMap& map) {
  return map.categorical.empty() ? real.dim : map.numeric() + static_cast<int64_t>(map.categorical.size());
}

Windows synthetic_windows(tg::io::NpyArray a, const Windows& real, const std::string& real_src, const std::string& path,
                          const tg::io::OutputMap& map) {
  Windows w;
  w.seq = real.seq;
  w.columns = real.columns;
  if (a.shape.size() != 3)
    throw tg::io::InputError(path + ": expected windows of shape [n, T, d], found rank " + std::to_string(a.shape.size()));
  if (a.shape[1] != real.seq || a.shape[2] != data_columns(real, map))
    shape_mismatch(real_src, real, path, a.shape[1], a.shape[2]);
  for (double v : a.data)
    if (!std::isfinite(v)) throw tg::io::InputError(path + ": contains NaN or infinite values");
  w.n = a.shape[0];
  w.dim = a.shape[2];
  w.data = std::move(a.data);
  if (w.n < 2) throw tg::io::InputError(path + ": needs at least 2 windows");
  return w;
}

// A file's label indices -> those of the real data's vocabulary (a label the real data do not
// have is an error naming its line).
void relabel_to_real(tg::io::Table& t, const tg::io::OutputMap& map, const std::string& path, const std::string& real_src) {
  for (int64_t c = 0; c < t.cols(); ++c) {
    if (!t.is_categorical(c)) continue;
    const auto& file_labels = t.categories[static_cast<size_t>(c)];
    const tg::io::CategoricalColumn* cc = nullptr;
    for (const auto& m : map.categorical)
      if (m.name == t.columns[static_cast<size_t>(c)]) cc = &m;
    std::vector<double> code(file_labels.size());
    for (size_t k = 0; k < file_labels.size(); ++k) {
      const auto it = std::find(cc->labels.begin(), cc->labels.end(), file_labels[k]);
      if (it == cc->labels.end()) {
        int64_t line = 0;
        for (int64_t r = 0; r < t.rows && !line; ++r)
          if (t.at(r, c) == static_cast<double>(k)) line = t.line_of_row[static_cast<size_t>(r)];
        throw tg::io::InputError(path + ":" + std::to_string(line) + ": column '" + tg::io::printable(cc->name) +
                                 "': label '" + tg::io::printable(file_labels[k]) + "' does not occur in the real data " +
                                 real_src);
      }
      code[k] = static_cast<double>(it - cc->labels.begin());
    }
    for (int64_t r = 0; r < t.rows; ++r) {
      double& v = t.values[static_cast<size_t>(r * t.cols() + c)];
      v = code[static_cast<size_t>(v)];
    }
  }
}

// The file's columns in the order the map expects (the data's order with categorical columns);
// a file that names them in another order (numeric first, as before that order was kept) is
// read by name.
std::vector<int64_t> columns_in_map_order(const tg::io::Table& t, int64_t tcol, const tg::io::OutputMap& map) {
  std::vector<int64_t> src;
  for (int64_t c = 0; c < t.cols(); ++c)
    if (c != tcol) src.push_back(c);
  if (!map.categorical.empty()) {
    std::vector<std::string> expected = map.order;
    if (expected.empty()) {
      expected = map.columns;
      for (const auto& c : map.categorical) expected.push_back(c.name);
    }
    std::vector<int64_t> by_name;
    for (const auto& e : expected)
      for (int64_t c : src)
        if (t.columns[static_cast<size_t>(c)] == e) by_name.push_back(c);
    if (by_name.size() == src.size()) src = by_name;
  }
  return src;
}

// Synthetic data from a file, in the data's units (as `timegan generate` writes it).
Windows read_synthetic(const std::string& path, const Windows& real, const std::string& real_src,
                       const tg::io::OutputMap& map) {
  Windows w;
  w.seq = real.seq;
  w.columns = real.columns;
  if (ends_with(path, ".npy")) return synthetic_windows(tg::io::read_npy(path), real, real_src, path, map);
  tg::io::CsvOptions co;
  co.id_column = "sequence_id";
  co.auto_categorical = false;  // labels only in the real data's categorical columns
  for (const auto& c : map.categorical) co.categorical.push_back(c.name);
  co.static_columns = map.static_columns;  // repeated on each row, as generate writes them
  const Condition cond = condition_of(map, path);  // a conditional model's column beside each sequence
  if (cond.defined() && cond.categorical) co.categorical.push_back(cond.column);
  tg::io::Table t;
  std::vector<double> cond_rows;
  std::vector<std::string> cond_labels;
  try {
    t = tg::io::read_csv(path, co);
    if (cond.defined()) cond_rows = take_condition_column(t, cond.column, cond_labels);
  } catch (const tg::io::InputError& e) {
    const std::string m = e.what();
    if (m.find("unknown id column") != std::string::npos)
      throw tg::io::InputError(path + ": expected the long format 'timegan generate' writes (sequence_id,t,columns...): no sequence_id column");
    throw;
  }
  int64_t tcol = -1;
  for (int64_t c = 0; c < t.cols(); ++c)
    if (t.columns[static_cast<size_t>(c)] == "t") tcol = c;
  const int64_t dim = t.cols() - (tcol >= 0 ? 1 : 0);
  relabel_to_real(t, map, path, real_src);
  // Group consecutive rows with equal ids.
  std::vector<int64_t> starts;
  for (int64_t r = 0; r < t.rows; ++r)
    if (r == 0 || t.ids[static_cast<size_t>(r)] != t.ids[static_cast<size_t>(r - 1)]) starts.push_back(r);
  starts.push_back(t.rows);
  int64_t longest = 0;
  bool varlen = false;
  for (size_t s = 0; s + 1 < starts.size(); ++s) {
    const int64_t L = starts[s + 1] - starts[s];
    longest = std::max(longest, L);
    varlen = varlen || L != real.seq;
  }
  bool real_varlen = false;  // some real sequence shorter than the window (sine data list full lengths)
  for (int64_t i = 0; i < real.n; ++i) real_varlen = real_varlen || real.length(i) != real.seq;
  if (dim != data_columns(real, map) || longest > real.seq || (varlen && !real_varlen)) {
    int64_t shown = longest;
    if (varlen && !real_varlen && longest == real.seq)  // some shorter: name the first short one
      for (size_t s = 0; s + 1 < starts.size(); ++s)
        if (starts[s + 1] - starts[s] != real.seq) {
          shown = starts[s + 1] - starts[s];
          break;
        }
    shape_mismatch(real_src, real, path + " (sequence '" + t.ids[static_cast<size_t>(starts[0])] + "' and others)", shown, dim);
  }
  w.dim = dim;
  w.n = static_cast<int64_t>(starts.size()) - 1;
  if (w.n < 2) throw tg::io::InputError(path + ": needs at least 2 sequences");
  if (!map.static_columns.empty()) {  // each sequence's static values (constant within it), in model scale
    const auto S = static_cast<int64_t>(map.static_columns.size());
    tg::io::check_scalable(t.statics.data(), t.rows, S, map.static_columns, path);
    w.static_dim = S;
    w.static_columns = map.static_columns;
    for (int64_t i = 0; i < w.n; ++i) {
      const auto row = static_cast<size_t>(starts[static_cast<size_t>(i)] * S);
      w.statics.insert(w.statics.end(), t.statics.begin() + static_cast<std::ptrdiff_t>(row),
                       t.statics.begin() + static_cast<std::ptrdiff_t>(row + static_cast<size_t>(S)));
    }
    map.statics.transform(w.statics.data(), w.n);
  }
  w.data.assign(static_cast<size_t>(w.n * w.seq * w.dim), 0.0);
  const std::vector<int64_t> src = columns_in_map_order(t, tcol, map);
  for (int64_t i = 0; i < w.n; ++i) {
    const int64_t L = starts[static_cast<size_t>(i) + 1] - starts[static_cast<size_t>(i)];
    if (real_varlen) w.lengths.push_back(static_cast<int32_t>(L));
    for (int64_t s = 0; s < L; ++s)
      for (size_t k = 0; k < src.size(); ++k) w.at(i, s, static_cast<int64_t>(k)) = t.at(starts[static_cast<size_t>(i)] + s, src[k]);
  }
  if (cond.defined()) {  // each sequence's condition in model scale (labels mapped to the model's)
    w.cond_dim = cond.width();
    for (int64_t i = 0; i < w.n; ++i) {
      const auto row = static_cast<size_t>(starts[static_cast<size_t>(i)]);
      const double v = cond_rows[row];
      const std::string where = path + ":" + std::to_string(t.line_of_row[row]);
      cond.encode_unchecked(cond_labels.empty() ? tg::io::format_double(v) : cond_labels[static_cast<size_t>(v)],
                            w.conditions, where);
    }
  }
  return w;
}

// The windows i of w with group[i] == g.
Windows subset(const Windows& w, const std::vector<int64_t>& group, int64_t g) {
  Windows o;
  o.seq = w.seq;
  o.dim = w.dim;
  o.columns = w.columns;
  o.categories = w.categories;
  const size_t row = static_cast<size_t>(w.seq * w.dim);
  for (int64_t i = 0; i < w.n; ++i) {
    if (group[static_cast<size_t>(i)] != g) continue;
    o.data.insert(o.data.end(), w.data.begin() + static_cast<std::ptrdiff_t>(static_cast<size_t>(i) * row),
                  w.data.begin() + static_cast<std::ptrdiff_t>((static_cast<size_t>(i) + 1) * row));
    if (!w.lengths.empty()) o.lengths.push_back(w.lengths[static_cast<size_t>(i)]);
    ++o.n;
  }
  return o;
}

// Fewest sequences of a condition group in either set for it to be scored: the discriminative
// score holds out 20% of each set.
constexpr int64_t kMinConditionSequences = 10;

// Per-condition scores: the discriminative and predictive scores on each condition group's real
// and synthetic sequences (docs/conditional.md), with the overall settings.
void condition_scores(const Condition& cond, const Windows& real, const Windows& syn, int64_t repeats, int64_t disc_iters,
                      int64_t pred_iters, uint64_t seed, tg::Device dev, bool quiet, ConditionScores& out) {
  if (!cond.defined() || real.cond_dim != cond.width() || syn.cond_dim != cond.width()) return;
  const ConditionGroups g = condition_groups(cond, real, syn);
  out.column = cond.column;
  out.kind = cond.categorical ? "categorical" : "numeric";
  for (size_t k = 0; k < g.names.size(); ++k) {
    ConditionGroupScores s;
    s.name = g.names[k];
    const Windows r = subset(real, g.real, static_cast<int64_t>(k)), y = subset(syn, g.synthetic, static_cast<int64_t>(k));
    s.real_n = r.n;
    s.synthetic_n = y.n;
    if (r.n < kMinConditionSequences || y.n < kMinConditionSequences) {
      s.skipped = "fewer than " + std::to_string(kMinConditionSequences) + " sequences (" + std::to_string(r.n) +
                  " real, " + std::to_string(y.n) + " synthetic)";
      out.groups.push_back(s);
      continue;
    }
    for (int64_t rep = 0; rep < repeats; ++rep) {
      mt::PostHocOptions o;
      o.seed = seed;
      o.device = dev;
      o.iterations = disc_iters;
      o.stream = 1000 + 100 * static_cast<uint64_t>(k) + static_cast<uint64_t>(rep);
      s.disc.push_back(mt::discriminative_score(r, y, o).score);
      o.iterations = pred_iters;
      o.stream = 1050 + 100 * static_cast<uint64_t>(k) + static_cast<uint64_t>(rep);
      s.pred.push_back(mt::predictive_score(y, r, o).score);
    }
    if (!quiet) {
      double dm = 0, pm = 0;
      for (double v : s.disc) dm += v / static_cast<double>(s.disc.size());
      for (double v : s.pred) pm += v / static_cast<double>(s.pred.size());
      std::fprintf(stderr, "condition %s = %s (%lld real, %lld synthetic): discriminative %.4f, predictive %.4f\n",
                   tg::io::printable(cond.column).c_str(), tg::io::printable(s.name).c_str(), static_cast<long long>(r.n),
                   static_cast<long long>(y.n), dm, pm);
    }
    out.groups.push_back(s);
  }
}

// Which of the paper's data sets this is (Table 2, timegan.md §6), or "".
void paper_values(const Json& data, EvalResult& r) {
  const std::string d = data.at("data").as_string();
  std::string base = d.substr(d.find_last_of('/') == std::string::npos ? 0 : d.find_last_of('/') + 1);
  for (char& c : base) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (d == "sine") {
    r.paper_set = "Sines";
    r.paper_disc = .011, r.paper_disc_std = .008, r.paper_pred = .093, r.paper_pred_std = .019;
  } else if (base.rfind("stock", 0) == 0) {
    r.paper_set = "Stocks";
    r.paper_disc = .102, r.paper_disc_std = .021, r.paper_pred = .038, r.paper_pred_std = .001;
  } else if (base.rfind("energy", 0) == 0) {
    r.paper_set = "Energy";
    r.paper_disc = .236, r.paper_disc_std = .012, r.paper_pred = .273, r.paper_pred_std = .004;
  }
}

// Progress over the repeats: a redrawn bar on a terminal, plain lines otherwise.
class RepeatProgress {
 public:
  RepeatProgress(bool quiet, int64_t total) : quiet_(quiet), tty_(isatty(fileno(stderr)) != 0), total_(total) {
    start_ = std::chrono::steady_clock::now();
  }
  void step(int64_t done, const std::string& what) {
    if (quiet_) return;
    const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double eta = done > 0 ? el / static_cast<double>(done) * static_cast<double>(total_ - done) : 0.0;
    if (tty_) {
      const int width = 24, fill = static_cast<int>(width * done / std::max<int64_t>(1, total_));
      std::string bar(static_cast<size_t>(fill), '#');
      bar.resize(width, '.');
      std::fprintf(stderr, "\r\033[Kevaluate %3lld/%-3lld [%s] %s elapsed, ETA %s  %s", static_cast<long long>(done),
                   static_cast<long long>(total_), bar.c_str(), format_seconds(el).c_str(), format_seconds(eta).c_str(),
                   what.c_str());
      if (done == total_) std::fputs("\n", stderr);
      std::fflush(stderr);
    } else {
      std::fprintf(stderr, "evaluate %lld/%lld  %s elapsed  ETA %s  %s\n", static_cast<long long>(done),
                   static_cast<long long>(total_), format_seconds(el).c_str(), format_seconds(eta).c_str(), what.c_str());
    }
  }

 private:
  bool quiet_, tty_;
  int64_t total_;
  std::chrono::steady_clock::time_point start_;
};

// One call of evaluate(): the real windows (complete ones only where cells are missing), the
// synthetic ones (generated from a run, or given) on the same scale, then the scores. Each step
// a method; the order of the messages and of the random streams is that of tg/app/evaluate.h.
class Evaluating {
 public:
  explicit Evaluating(const EvalRequest& req)
      : req_(req), quiet_(req.quiet), model_dir_(req.model_dir), from_model_(!req.model_dir.empty()),
        pred_iters_(std::max<int64_t>(1, req.metric_iterations * 5 / 2)), ev_(std::make_unique<Evaluation>()) {}

  std::unique_ptr<Evaluation> run() {
    load_real();
    const Windows& real = select_complete();
    if (from_model_) generate_from_model(real);
    else read_given_synthetic(real);
    describe_sources(real);
    score(real);
    record_settings(real);
    ev_->result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - req_.start).count();
    return std::move(ev_);
  }

 private:
  // Real data, on the reference's scale (see README "Evaluation").
  void load_real() {
    if (from_model_) run_ = load_run(model_dir_);  // refuses a directory without config.json / model.ckpt
    data_opts_ = req_.data.is_null() ? run_.config.at("data") : req_.data;
    if (req_.real) ev_->prep = *req_.real;
    else if (req_.data.is_null()) ev_->prep = load_run_data(data_opts_, join_path(model_dir_, "config.json"), quiet_);
    else ev_->prep = load_data(data_opts_, quiet_);
    real_src_ = data_opts_.at("data").as_string();
  }

  // Missing cells: only the windows without any are scored (see README "Missing values").
  const Windows& select_complete() {
    EvalResult& res = ev_->result;
    const Windows& all_real = ev_->prep.reference_windows();
    int64_t missing_cells = 0;
    std::vector<int64_t> complete;
    for (int64_t i = 0; i < all_real.n; ++i) {
      int64_t here = 0;
      for (int64_t t = 0; t < all_real.length(i); ++t)
        for (int64_t k = 0; k < all_real.dim; ++k) here += std::isnan(all_real.at(i, t, k)) ? 1 : 0;
      missing_cells += here;
      if (here) ++with_missing_;
      else complete.push_back(i);
    }
    if (with_missing_) {
      Windows& c = ev_->complete;
      c.n = static_cast<int64_t>(complete.size());
      c.seq = all_real.seq;
      c.dim = all_real.dim;
      c.columns = all_real.columns;
      c.categories = all_real.categories;
      c.cond_dim = all_real.cond_dim;
      const size_t row = static_cast<size_t>(all_real.seq * all_real.dim);
      for (int64_t i : complete) {
        c.data.insert(c.data.end(), all_real.data.begin() + static_cast<std::ptrdiff_t>(static_cast<size_t>(i) * row),
                      all_real.data.begin() + static_cast<std::ptrdiff_t>((static_cast<size_t>(i) + 1) * row));
        if (!all_real.lengths.empty()) c.lengths.push_back(all_real.lengths[static_cast<size_t>(i)]);
        for (int64_t k = 0; k < all_real.cond_dim; ++k)
          c.conditions.push_back(all_real.conditions[static_cast<size_t>(i * all_real.cond_dim + k)]);
      }
      if (c.n < 2)
        throw tg::io::InputError("real data " + real_src_ + ": " + std::to_string(c.n) + " of " +
                                 std::to_string(all_real.n) +
                                 " windows have no missing cell; the scores use only complete windows and need at least 2");
    }
    res.missing_reported = with_missing_ > 0 || missing_mask(data_opts_);
    res.missing_cells = missing_cells;
    res.real_windows = all_real.n;
    res.windows_with_missing = with_missing_;
    res.windows_evaluated = all_real.n - with_missing_;
    const Windows& real = with_missing_ ? ev_->complete : all_real;
    if (real.n < 2)
      throw tg::io::InputError("real data " + real_src_ + " has " + std::to_string(real.n) +
                               " window; the scores need at least 2 (more rows, a shorter --seq-len or a larger --sine-n)");
    return real;
  }

  // The model of a run, checked against the real data's shape and categorical columns, with
  // the real sequences' lengths as its data.
  tg::models::TimeGan load_model(const Windows& real) {
    const tg::io::Prepared& prep = ev_->prep;
    tg::models::TimeGanConfig cfg = run_.model_cfg;
    if (cfg.seq_len != real.seq || cfg.features != real.dim)
      shape_mismatch(real_src_, real, "from " + model_dir_, cfg.seq_len, cfg.features);
    for (size_t c = 0; c < std::max(run_.map.categorical.size(), prep.map.categorical.size()); ++c) {
      const bool same = c < run_.map.categorical.size() && c < prep.map.categorical.size() &&
                        run_.map.categorical[c].name == prep.map.categorical[c].name &&
                        run_.map.categorical[c].labels == prep.map.categorical[c].labels;
      if (!same)
        throw tg::io::InputError(real_src_ + ": the categorical columns or their labels differ from those the model in " +
                                 model_dir_ + " was trained on");
    }
    cfg.device = req_.device;
    cfg.iterations = 1;
    tg::models::TimeGan model(cfg);
    model.load_checkpoint(run_.ckpt);
    check_finite_model(model, model_dir_);
    const int64_t C = cfg.condition_dim;
    if (!prep.windows.lengths.empty()) {  // lengths are drawn from the data (values do not matter here)
      if (with_missing_ || prep.windows.cond_dim != C) {
        Windows lw = prep.windows;
        for (double& v : lw.data) v = std::isnan(v) ? 0.0 : v;
        if (lw.cond_dim != C) lw.cond_dim = C, lw.conditions.assign(static_cast<size_t>(lw.n * C), 0.0);
        model.set_data(lw);
      } else {
        model.set_data(prep.windows);
      }
    }
    return model;
  }

  // Synthetic windows generated from the run, on the reference's scale.
  void generate_from_model(const Windows& real) {
    EvalResult& res = ev_->result;
    Windows& syn = ev_->syn;
    const uint64_t seed = req_.seed;
    tg::models::TimeGan model = load_model(real);
    const int64_t C = run_.model_cfg.condition_dim;
    if (!quiet_)
      std::fprintf(stderr, "generating %lld sequences from %s\n", static_cast<long long>(real.n), model_dir_.c_str());
    if (C == 0) {
      syn = model.generate(real.n, seed);
    } else if (real.cond_dim == C) {
      // A conditional model generates for each real sequence's own condition: the two sets then
      // hold the same number of sequences of every condition (per-condition scores).
      syn = model.generate(real.n, seed, real.conditions);
    } else {
      std::vector<std::string> texts;
      syn = model.generate(real.n, seed, condition_of(run_.map, model_dir_).draw(real.n, seed, texts));
      if (!quiet_)
        std::fprintf(stderr, "note: the real data have no condition column; conditions drawn from the training distribution\n");
    }
    syn.columns = run_.map.categorical.empty() ? run_.map.columns : real.columns;
    {
      const int64_t cd = syn.cond_dim;
      std::vector<double> cv = syn.conditions;
      run_.map.model_to_reference(syn);
      syn.cond_dim = cd, syn.conditions = std::move(cv);
    }
    res.synthetic_source = "generated from " + model_dir_ + " (" + std::to_string(syn.n) + " sequences, seed " +
                           std::to_string(seed) + ")";
    const std::string lp = join_path(model_dir_, "losses.csv");
    if (tg::io::file_exists(lp)) res.losses = read_loss_curves(lp);
    else res.losses_note = lp + " not found";
  }

  // Synthetic windows given as an array (the Python module): model-scale conditions and static
  // values in the data's units come with them.
  void take_array(const Windows& real, const std::string& syn_path) {
    tg::io::Prepared& prep = ev_->prep;
    Windows& syn = ev_->syn;
    tg::io::NpyArray a;
    a.shape = {req_.synthetic->n, req_.synthetic->seq, req_.synthetic->dim};
    a.data = req_.synthetic->data;
    syn = synthetic_windows(std::move(a), real, real_src_, syn_path, prep.map);
    if (req_.synthetic->cond_dim > 0) {  // each sequence's condition, model scale (the Python module)
      if (static_cast<int64_t>(req_.synthetic->conditions.size()) != syn.n * req_.synthetic->cond_dim)
        throw std::invalid_argument("evaluate: the synthetic conditions do not match the sequences");
      syn.cond_dim = req_.synthetic->cond_dim;
      syn.conditions = req_.synthetic->conditions;
    }
    if (req_.synthetic->static_dim > 0) {  // static values in the data's units, one row per sequence
      const auto S = static_cast<int64_t>(prep.map.static_columns.size());
      if (req_.synthetic->static_dim != S)
        throw tg::io::InputError(syn_path + ": has " + std::to_string(req_.synthetic->static_dim) +
                                 " static values per sequence but the real data " + real_src_ + " have " +
                                 std::to_string(S) + " static columns");
      syn.static_dim = S;
      syn.static_columns = prep.map.static_columns;
      syn.statics = req_.synthetic->statics;
      tg::io::check_scalable(syn.statics.data(), syn.n, S, syn.static_columns, syn_path);
      prep.map.statics.transform(syn.statics.data(), syn.n);
    }
  }

  // Synthetic windows given (a file, or an array), in the data's units: to the reference's scale
  // with the real data's scalers (and label indices to one-hot blocks).
  void read_given_synthetic(const Windows& real) {
    tg::io::Prepared& prep = ev_->prep;
    EvalResult& res = ev_->result;
    Windows& syn = ev_->syn;
    const std::string& syn_path = req_.synthetic ? req_.synthetic_name : req_.synthetic_file;
    if (req_.synthetic) take_array(real, syn_path);
    else syn = read_synthetic(syn_path, real, real_src_, prep.map);
    const int64_t cd = syn.cond_dim;
    std::vector<double> cv = syn.conditions;
    if (prep.map.categorical.empty()) {
      if (prep.map.has_outer) prep.map.outer.transform(syn);
    } else {
      try {
        prep.map.original_to_reference(syn);
      } catch (const tg::io::InputError& e) {
        throw tg::io::InputError(syn_path + ": " + e.what());
      }
    }
    syn.cond_dim = cd, syn.conditions = std::move(cv);
    res.synthetic_source = syn_path + " (" + std::to_string(syn.n) + " sequences)";
    res.losses_note = req_.synthetic ? "no training log (synthetic data given as an array)"
                                     : "no training log (synthetic data from a file; give --model RUN_DIR for the loss curves)";
  }

  void describe_sources(const Windows& real) {
    EvalResult& res = ev_->result;
    res.real_source = real_src_ + " (" + std::to_string(real.n) + " windows of " + describe(real) + ")";
    res.preset = data_opts_.at("preset").as_string();
    res.scale = res.preset == "original"
                    ? "the reference's data_loading scale (min-max with 1e-7 over the whole table)"
                    : "the model scale (per-column min-max to [0, 1])";
    res.columns = real.columns.empty() ? ev_->prep.windows.columns : real.columns;
    res.real = &real;
    res.synthetic = &ev_->syn;
    paper_values(data_opts_, res);
  }

  // Post-hoc scores, repeated; then the distances, the per-condition scores and the pictures.
  void score(const Windows& real) {
    EvalResult& res = ev_->result;
    const Windows& syn = ev_->syn;
    const tg::io::Prepared& prep = ev_->prep;
    const int64_t repeats = req_.repeats, disc_iters = req_.metric_iterations;
    const uint64_t seed = req_.seed;
    const tg::Device dev = req_.device;
    RepeatProgress progress(quiet_, 2 * repeats + 2);
    if (!quiet_)
      std::fprintf(stderr, "scoring %lld real against %lld synthetic windows (%s), %lld repeats\n",
                   static_cast<long long>(real.n), static_cast<long long>(syn.n), describe(real).c_str(),
                   static_cast<long long>(repeats));
    for (int64_t r = 0; r < repeats; ++r) {
      mt::PostHocOptions o;
      o.seed = seed;
      o.device = dev;
      o.iterations = disc_iters;
      o.stream = 100 + static_cast<uint64_t>(r);
      const mt::DiscriminativeResult d = mt::discriminative_score(real, syn, o);
      res.disc.push_back(d.score);
      res.disc_accuracy.push_back(d.accuracy);
      char what[96];
      std::snprintf(what, sizeof what, "repeat %lld: discriminative %.4f", static_cast<long long>(r + 1), d.score);
      progress.step(2 * r + 1, what);
      o.iterations = pred_iters_;
      o.stream = 200 + static_cast<uint64_t>(r);
      const mt::PredictiveResult p = mt::predictive_score(syn, real, o);
      res.pred.push_back(p.score);
      res.pred_own_past = p.own_past;
      std::snprintf(what, sizeof what, "repeat %lld: predictive %.4f", static_cast<long long>(r + 1), p.score);
      progress.step(2 * r + 2, what);
    }
    {  // The floor for the predictive score: the same predictor trained on the real set itself.
      mt::PostHocOptions o;
      o.seed = seed;
      o.device = dev;
      o.iterations = pred_iters_;
      o.stream = 250;
      res.pred_real_on_real = mt::predictive_score(real, real, o).score;
      char what[96];
      std::snprintf(what, sizeof what, "predictive, real on real %.4f", res.pred_real_on_real);
      progress.step(2 * repeats + 1, what);
    }
    condition_scores(condition_of(prep.map, real_src_), real, syn, repeats, disc_iters, pred_iters_, seed, dev, quiet_,
                     res.conditions);
    res.wasserstein = mt::wasserstein_per_feature(real, syn);
    res.categories = category_frequencies(prep.map, real, syn);
    res.statics = static_column_stats(prep.map, prep.windows, syn);
    res.acf_diff = mt::acf_difference(real, syn);
    res.xcorr = mt::xcorr_difference(real, syn);
    res.mmd = mt::mmd2_gaussian(real, syn, 1000, seed, 400);
    mt::TsneOptions to;
    to.iterations = req_.tsne_iterations;
    to.exaggeration_iterations = std::min<int64_t>(250, req_.tsne_iterations);
    to.seed = seed;
    to.stream = 300;
    res.vis = mt::visualisation(real, syn, to);
    progress.step(2 * repeats + 2, "distances, PCA and t-SNE");
  }

  void record_settings(const Windows& real) {
    EvalResult& res = ev_->result;
    Json& s = res.settings;
    s["repeats"] = static_cast<long long>(req_.repeats);
    s["discriminative_iterations"] = static_cast<long long>(req_.metric_iterations);
    s["predictive_iterations"] = static_cast<long long>(pred_iters_);
    s["posthoc_batch"] = 128;
    s["posthoc_hidden"] = mt::posthoc_hidden(real.dim);
    s["tsne_iterations"] = static_cast<long long>(req_.tsne_iterations);
    s["tsne_perplexity"] = 40.0;
    s["seed"] = static_cast<unsigned long long>(req_.seed);
    s["streams"] = "discriminative 100+r, predictive 200+r (r = 0..repeats-1), predictive real-on-real 250, t-SNE 300, samples 301, MMD 400";
    if (!res.conditions.column.empty())
      s["condition_streams"] = "condition group g (0-based): discriminative 1000+100g+r, predictive 1050+100g+r";
    s["device"] = tg::device_name(req_.device);
    s["data"] = data_opts_;
    s["model"] = from_model_ ? Json(model_dir_) : Json();
    s["synthetic_file"] = from_model_ || req_.synthetic ? Json() : Json(req_.synthetic_file);
  }

  const EvalRequest& req_;
  const bool quiet_;
  const std::string& model_dir_;
  const bool from_model_;
  const int64_t pred_iters_;
  std::unique_ptr<Evaluation> ev_;
  LoadedRun run_;
  Json data_opts_;
  std::string real_src_;
  int64_t with_missing_ = 0;
};

}  // namespace

std::unique_ptr<Evaluation> evaluate(const EvalRequest& req) { return Evaluating(req).run(); }

namespace {

// The files of a report, in the order they are moved into place.
const char* const kReportFiles[] = {"metrics.json", "report.html"};
// The file ReportOutput writes a byte to, testing the place before the work.
const char* const kProbe = ".timegan-write-test";

std::string reason(int e) { return std::strerror(e); }

// The process id in "<prefix><pid>" or "<prefix><pid>.<n>"; 0 when the name is not of that form.
long temp_pid(const std::string& name, const std::string& prefix) {
  if (name.compare(0, prefix.size(), prefix) != 0) return 0;
  const std::string rest = name.substr(prefix.size());
  char* end = nullptr;
  const long pid = std::strtol(rest.c_str(), &end, 10);
  if (rest.empty() || !std::isdigit(static_cast<unsigned char>(rest[0])) || pid <= 0) return 0;
  if (*end != '\0' && *end != '.') return 0;
  return pid;
}

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return names;
  while (const dirent* e = ::readdir(d)) {
    const std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  return names;
}

// Removes a temporary report directory: the files a report writer puts there (the report's
// files, their atomic-write temporaries, the previous files kept for an undo, the probe), then
// the directory itself, which stays if it holds anything else.
void remove_report_tmp(const std::string& tmp) {
  for (const std::string& n : entries(tmp)) {
    bool ours = n.compare(0, std::strlen(kProbe), kProbe) == 0;
    for (const char* f : kReportFiles) ours = ours || n.compare(0, std::strlen(f), f) == 0;
    if (ours) ::unlink(join_path(tmp, n).c_str());
  }
  ::rmdir(tmp.c_str());
}

// Removes the temporary report directories "<prefix><pid>..." in `where` whose process no
// longer runs (an evaluation killed before it finished, or between its two renames).
void remove_stale_report_tmps(const std::string& where, const std::string& prefix) {
  for (const std::string& n : entries(where)) {
    const long pid = temp_pid(n, prefix);
    if (pid <= 0 || pid == static_cast<long>(::getpid())) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;  // still running (or not ours to ask)
    remove_report_tmp(join_path(where, n));
  }
}

void sync_dir(const std::string& dir) {  // makes renames in `dir` durable (best effort)
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    (void)::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

ReportOutput::ReportOutput(const std::string& dir, const std::string& option) : dir_(dir), option_(option) {
  while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
  if (dir_.empty()) throw tg::io::OutputError(option + ": the report directory name is empty");
  const std::string shown = option + " " + dir;
  existed_ = tg::io::dir_exists(dir_);
  if (!existed_ && tg::io::file_exists(dir_)) throw tg::io::OutputError(shown + ": is a file, not a directory");
  const std::filesystem::path p(dir_);
  const std::string name = p.filename().string();
  const std::string parent = p.has_parent_path() ? p.parent_path().string() : std::string(".");
  const std::string where = existed_ ? dir_ : parent;
  const std::string prefix = existed_ ? std::string(".report.tmp.") : "." + name + ".tmp.";
  // What earlier evaluations into DIR left when they were killed.
  remove_stale_report_tmps(parent, "." + name + ".tmp.");
  if (existed_) remove_stale_report_tmps(dir_, ".report.tmp.");
  if (!existed_) {
    for (std::filesystem::path a(parent); !a.empty() && !tg::io::dir_exists(a.string()); a = a.parent_path()) {
      made_parents_.push_back(a.string());
      if (a == a.parent_path()) break;
    }
    try {
      tg::io::make_dirs(parent);
    } catch (const std::exception& e) {
      for (const std::string& d : made_parents_) ::rmdir(d.c_str());
      throw tg::io::OutputError(shown + ": cannot create the directory: " + e.what());
    }
  }
  auto fail = [&](const std::string& what, int e) {
    if (!tmp_.empty()) remove_report_tmp(tmp_);
    tmp_.clear();
    for (const std::string& d : made_parents_) ::rmdir(d.c_str());
    throw tg::io::OutputError(shown + ": " + what + ": " + reason(e));
  };
  const std::string base = join_path(where, prefix + std::to_string(static_cast<long>(::getpid())));
  for (int k = 0;; ++k) {
    const std::string t = k == 0 ? base : base + "." + std::to_string(k);
    if (::mkdir(t.c_str(), 0777) == 0) {
      tmp_ = t;
      break;
    }
    if (errno != EEXIST) fail(existed_ ? "cannot write in the directory" : "cannot create the directory", errno);
  }
  // A byte written tests the room too (a full disk gives "No space left on device").
  const std::string probe = join_path(tmp_, kProbe);
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) fail("cannot write in the directory", errno);
  const ssize_t w = ::write(fd, "x", 1);
  const int err = w < 0 ? errno : ENOSPC;  // a file that takes no byte: no room
  ::close(fd);
  ::unlink(probe.c_str());
  if (w != 1) fail("cannot write in the directory", err);
}

ReportOutput::~ReportOutput() {
  if (!tmp_.empty()) remove_report_tmp(tmp_);
  if (!committed_)
    for (const std::string& d : made_parents_) ::rmdir(d.c_str());
}

void ReportOutput::commit(const Evaluation& ev) {
  if (committed_ || tmp_.empty()) throw std::logic_error("ReportOutput::commit: called twice");
  const std::string texts[] = {metrics_json(ev.result).dump() + "\n", report_html(ev.result)};
  const std::string unchanged = existed_ ? "; the previous report in " + dir_ + " is unchanged"
                                         : "; " + dir_ + " was not created";
  for (size_t i = 0; i < 2; ++i) {
    try {
      tg::io::atomic_write_text(join_path(tmp_, kReportFiles[i]), texts[i]);
    } catch (const tg::io::OutputError& e) {
      // Named as the file it was to become, with the OS's reason.
      std::string m = e.what();
      const std::string in_tmp = tmp_ + "/", kept = " (previous file left unchanged)";
      if (m.compare(0, in_tmp.size(), in_tmp) == 0) m = join_path(dir_, m.substr(in_tmp.size()));
      if (m.size() >= kept.size() && m.compare(m.size() - kept.size(), kept.size(), kept) == 0)
        m.erase(m.size() - kept.size());
      throw tg::io::OutputError(m + unchanged);
    }
  }
  const std::string parent = std::filesystem::path(dir_).has_parent_path()
                                 ? std::filesystem::path(dir_).parent_path().string()
                                 : std::string(".");
  // A new DIR: one rename makes it appear complete. (A DIR made meanwhile by someone else is
  // replaced when empty; one holding files gets the files one by one, below.)
  if (!existed_) {
    if (::rename(tmp_.c_str(), dir_.c_str()) == 0) {
      tmp_.clear();
      committed_ = true;
      sync_dir(parent);
      return;
    }
    if (errno != ENOTEMPTY && errno != EEXIST)
      throw tg::io::OutputError(dir_ + ": cannot move the report into place: " + reason(errno) + unchanged);
  }
  // An existing DIR: each file replaces its namesake by a rename; the previous file is kept as a
  // hard link in the temporary directory until both are in, so that a failed second rename can
  // put the first one back. Between the two renames (a crash there) DIR holds the new
  // metrics.json and the previous report.html; the temporary directory, with the previous
  // metrics.json, is removed by the next evaluate into DIR.
  bool had_old[2] = {false, false}, moved_in[2] = {false, false};
  auto undo = [&]() {
    for (size_t j = 0; j < 2; ++j) {
      const std::string cur = join_path(dir_, kReportFiles[j]), old = join_path(tmp_, std::string(kReportFiles[j]) + ".old");
      if (had_old[j] && tg::io::file_exists(old)) (void)::rename(old.c_str(), cur.c_str());
      else if (moved_in[j]) (void)::unlink(cur.c_str());
    }
  };
  for (size_t i = 0; i < 2; ++i) {
    const std::string cur = join_path(dir_, kReportFiles[i]), old = join_path(tmp_, std::string(kReportFiles[i]) + ".old");
    if (!tg::io::file_exists(cur)) continue;
    // A file system without hard links: the previous file is moved aside instead.
    if (::link(cur.c_str(), old.c_str()) != 0 && ::rename(cur.c_str(), old.c_str()) != 0) {
      const int e = errno;
      undo();
      throw tg::io::OutputError(cur + ": cannot keep the previous file while the new one moves in: " + reason(e) + unchanged);
    }
    had_old[i] = true;
  }
  for (size_t i = 0; i < 2; ++i) {
    const std::string cur = join_path(dir_, kReportFiles[i]), now = join_path(tmp_, kReportFiles[i]);
    if (::rename(now.c_str(), cur.c_str()) != 0) {
      const int e = errno;
      undo();
      throw tg::io::OutputError(cur + ": cannot move into place: " + reason(e) + unchanged);
    }
    moved_in[i] = true;
  }
  committed_ = true;
  sync_dir(dir_);
  remove_report_tmp(tmp_);
  tmp_.clear();
}

void write_report(const std::string& dir, const Evaluation& ev) {
  ReportOutput out(dir, "report");
  out.commit(ev);
}

}  // namespace tg::app
