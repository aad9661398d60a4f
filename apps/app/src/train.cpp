// Training into a run directory (tg/app/train.h); `timegan train` and the Python module's fit.
#include "tg/app/train.h"

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include <unistd.h>

#include "tg/app/condition.h"
#include "tg/app/run.h"
#include "tg/backend.h"
#include "tg/io/checkpoint.h"
#include "tg/io/csv.h"
#include "tg/io/error.h"
#include "tg/io/fs.h"

namespace tg::app {

using tg::io::Json;
using Clock = std::chrono::steady_clock;

// Iterations per block on a device: their losses are read together, in one wait for the device
// (tg::models::TimeGan::steps). At ~1 ms an iteration the log and a stop request lag by ~0.1 s.
constexpr int64_t kDeviceBlock = 100;

namespace {

// The files train writes into a run directory; any of them marks the directory as a run.
const char* const kRunFiles[] = {"model.ckpt", "summary.json", "synthetic.csv", "losses.csv", "config.json"};

// Overwrite: removes the previous run's files, the checkpoint first, so that no state of the
// old run can ever be paired with the new configuration.
void remove_run_files(const std::string& dir) {
  for (const char* f : kRunFiles) {
    const std::string p = join_path(dir, f);
    if (tg::io::file_exists(p) && std::remove(p.c_str()) != 0)
      throw tg::io::OutputError(p + ": cannot remove the previous run's file: " + std::strerror(errno));
  }
}

int phase_index(const std::string& name) {
  for (int i = 0; i <= 3; ++i)
    if (name == tg::models::phase_name(static_cast<tg::models::Phase>(i))) return i;
  return -1;
}

// The rows of a loss log that precede a checkpoint's position: the header and every complete
// row whose (phase, iteration) comes before (phase, iteration) of the checkpoint. Stops at the
// first row that does not (rows written after the checkpoint), that does not come after the
// row before it, or that does not parse (a torn write).
std::string loss_rows_before(const std::string& text, int ckpt_phase, int64_t ckpt_iter) {
  const std::string header = tg::models::StepLosses::csv_header() + "\n";
  if (text.compare(0, header.size(), header) != 0) return header;
  size_t keep = header.size(), pos = header.size();
  int prev_phase = -1;
  long long prev_iter = -1;
  while (pos < text.size()) {
    const size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) break;  // incomplete last line
    const std::string line = text.substr(pos, nl - pos);
    const size_t c1 = line.find(','), c2 = c1 == std::string::npos ? c1 : line.find(',', c1 + 1);
    if (c2 == std::string::npos) break;
    const int ph = phase_index(line.substr(0, c1));
    const std::string it_s = line.substr(c1 + 1, c2 - c1 - 1);
    char* end = nullptr;
    const long long it = std::strtoll(it_s.c_str(), &end, 10);
    if (ph < 0 || it_s.empty() || *end != '\0' || it < 0) break;
    if (ph > ckpt_phase || (ph == ckpt_phase && it >= ckpt_iter)) break;
    if (ph < prev_phase || (ph == prev_phase && it <= prev_iter)) break;  // rows only move forward
    prev_phase = ph, prev_iter = it;
    pos = keep = nl + 1;
  }
  return text.substr(0, keep);
}

// losses.csv, every write checked (tg::io::AppendFile): a failed write throws OutputError
// naming the file and the OS's reason.
struct LossLog {
  tg::io::AppendFile f;
  /// A new run: a fresh file with the header.
  void create(const std::string& p) {
    f = tg::io::AppendFile(p, true);
    f.write(tg::models::StepLosses::csv_header() + "\n");
  }
  /// Resume: keeps exactly the rows before the checkpoint (drops rows written after it, never
  /// pads), then appends. Notes rows lost before it (a log shorter than the checkpoint expects).
  void resume(const std::string& p, int ckpt_phase, int64_t ckpt_iter, int64_t expected_bytes, bool quiet) {
    const std::string text = tg::io::file_exists(p) ? tg::io::read_file(p) : std::string();
    const std::string kept = loss_rows_before(text, ckpt_phase, ckpt_iter);
    if (kept != text) tg::io::atomic_write_text(p, kept);
    if (!quiet && static_cast<int64_t>(kept.size()) < expected_bytes)
      std::fprintf(stderr, "note: %s: holds fewer rows than the checkpoint expects (%lld of %lld bytes); the rows "
                   "lost are not recovered, the log continues from the checkpoint\n",
                   p.c_str(), static_cast<long long>(kept.size()), static_cast<long long>(expected_bytes));
    f = tg::io::AppendFile(p, false);
  }
  void write_row(const std::string& row) {
    f.write(row);
    f.write("\n");
  }
  /// Everything written reaches the file (write, fsync); returns the log's size in bytes.
  int64_t sync() { return f.sync(); }
  void close() { f.close(); }
};

// The fingerprint of the static values (train.h: resume refuses changed static values).
uint32_t static_fingerprint(const tg::io::Prepared& prep) {
  const tg::io::Windows& w = prep.windows;
  uint32_t c = tg::io::crc32(w.statics.data(), w.statics.size() * sizeof(double));
  const std::vector<double> scaler = prep.map.statics.to_vector();
  c = tg::io::crc32(scaler.data(), scaler.size() * sizeof(double), c);
  for (const auto& name : w.static_columns) c = tg::io::crc32(name.c_str(), name.size() + 1, c);
  return c;
}

// Training stopped because a loss or a weight is no longer finite.
struct Diverged : std::runtime_error {
  explicit Diverged(const std::string& m) : std::runtime_error(m) {}
};

}  // namespace

bool holds_a_run(const std::string& dir) {
  for (const char* f : kRunFiles)
    if (tg::io::file_exists(join_path(dir, f))) return true;
  return false;
}

namespace {

// One call of train(): its steps in order, each a method, sharing the run's state. The order of
// every check and write is the contract of tg/app/train.h (the lock before any file is read,
// config.json before losses.csv, the log synced before each checkpoint, the sample and
// summary.json last).
class Training {
 public:
  explicit Training(const TrainRequest& req)
      : req_(req), quiet_(req.quiet), resuming_(req.resume), dir_(req.dir),
        ckpt_path_(join_path(req.dir, "model.ckpt")), log_path_(join_path(req.dir, "losses.csv")) {}

  TrainResult run() {
    if (resuming_) read_run_config();
    else new_run_config();
    prepare_data();
    check_data_fingerprints();
    check_static_fingerprint();
    check_sizes();
    if (cfg_.device == tg::Device::CPU) check_training_memory(cfg_, prep_->windows.n);
    model_ = std::make_unique<tg::models::TimeGan>(cfg_);
    model_->set_data(prep_->windows);
    for (const char* p : {"embedding", "supervised", "joint"}) times_[p] = 0.0;
    if (resuming_) open_resumed_run();
    else open_new_run();
    std::snprintf(lr_text_, sizeof lr_text_, "%g", cfg_.adam.lr);
    TrainResult result;
    if (!train_steps(result)) return result;
    write_sample();
    write_summary();
    return result;
  }

 private:
  // ---- config.json ------------------------------------------------------------------------
  // Resume: config.json, read under the run's lock; options given again are stored back.
  void read_run_config() {
    const std::string cp = join_path(dir_, "config.json");
    if (const std::string why = tg::io::not_a_file_reason(cp); !why.empty())
      throw tg::io::InputError(cp + ": cannot read: " + why);
    if (!tg::io::file_exists(cp)) throw tg::io::InputError(dir_ + ": not a timegan run directory (no config.json)");
    lock_ = RunLock(dir_, "train", quiet_);
    run_ = Json::parse(tg::io::read_file(cp), cp);
    check_run_format(run_, cp);
    cfg_ = tg::models::TimeGanConfig::from_json(run_.at("model"), cp);
    stored_iterations_ = cfg_.iterations;
    if (req_.iterations) {
      cfg_.iterations = *req_.iterations;
      run_["model"]["iterations"] = static_cast<long long>(cfg_.iterations);
      config_changed_ = true;
    }
    if (!run_.contains("train")) run_["train"] = Json::object();  // runs from before these were stored
    Json& tr = run_["train"];
    ckpt_every_ = req_.resume_checkpoint_every ? *req_.resume_checkpoint_every
                  : tr.contains("checkpoint_every") ? tr.at("checkpoint_every").as_int64()
                                                    : req_.checkpoint_every;
    sample_n_ = req_.resume_sample ? *req_.resume_sample : tr.contains("sample") ? tr.at("sample").as_int64() : req_.sample;
    config_changed_ = config_changed_ || req_.resume_checkpoint_every || req_.resume_sample ||
                      !tr.contains("checkpoint_every") || !tr.contains("sample");
    tr["checkpoint_every"] = static_cast<long long>(ckpt_every_);
    tr["sample"] = static_cast<long long>(sample_n_);
  }

  void new_run_config() {
    cfg_ = req_.model;
    ckpt_every_ = req_.checkpoint_every;
    sample_n_ = req_.sample;
    run_ = Json::object();
    run_["format"] = kRunFormat;
    run_["run_id"] = new_run_id();
    run_["data"] = req_.data;
    run_["train"] = Json::object();
    run_["train"]["checkpoint_every"] = static_cast<long long>(ckpt_every_);
    run_["train"]["sample"] = static_cast<long long>(sample_n_);
  }

  // ---- data ---------------------------------------------------------------------------------
  // The data (re-prepared identically on resume; fingerprints guard against a changed file), and
  // the model's data-dependent settings of a new run.
  void prepare_data() {
    if (!req_.prepared)
      loaded_ = resuming_ ? load_run_data(run_.at("data"), join_path(dir_, "config.json"), quiet_)
                          : load_data(run_.at("data"), quiet_);
    prep_ = req_.prepared ? req_.prepared : &loaded_;
    const tg::io::Windows& w = prep_->windows;
    if (cfg_.features == 0) cfg_.features = w.dim;
    if (!resuming_) {  // (resume: config.json's model has them)
      cfg_.categorical = prep_->map.block_sizes();  // one-hot blocks of the categorical columns
      cfg_.missing_mask = missing_mask(run_.at("data"));
      cfg_.condition_dim = w.cond_dim;  // conditional generation
      cfg_.static_features = static_cast<int64_t>(prep_->map.static_columns.size());  // static columns
    }
    if (w.seq != cfg_.seq_len) cfg_.seq_len = w.seq;  // long format: longest sequence
  }

  void check_data_fingerprints() {
    const tg::io::Windows& w = prep_->windows;
    const uint32_t fingerprint = tg::io::crc32(w.data.data(), w.data.size() * sizeof(double));
    if (!resuming_) {
      run_["model"] = cfg_.to_json();
      run_["output_map"] = prep_->map.to_json();
      run_["data_fingerprint"] = static_cast<unsigned long long>(fingerprint);
      run_["windows"] = static_cast<long long>(w.n);
      if (w.cond_dim > 0)  // absent without a condition (config.json as before)
        run_["condition_fingerprint"] = static_cast<unsigned long long>(
            tg::io::crc32(w.conditions.data(), w.conditions.size() * sizeof(double)));
    } else if (w.cond_dim > 0 &&
               (!run_.contains("condition_fingerprint") || !run_.at("output_map").contains("condition") ||
                run_.at("output_map").at("condition") != Json::parse(prep_->map.condition.dump()) ||
                run_.at("condition_fingerprint").as_uint64() !=
                    tg::io::crc32(w.conditions.data(), w.conditions.size() * sizeof(double)))) {
      throw tg::io::InputError(run_.at("data").at("data").as_string() +
                               ": the conditions differ from those the run started with; cannot resume");
    } else if (run_.at("data_fingerprint").as_uint64() != fingerprint) {
      throw tg::io::InputError(run_.at("data").at("data").as_string() +
                               ": the data differ from those the run started with (fingerprint mismatch); cannot resume");
    }
  }

  // The static values have their own fingerprint (absent without static columns, so that such a
  // run's config.json is as before): their names, their scaler (the data's units) and their
  // model-scale values per sequence.
  void check_static_fingerprint() {
    if (prep_->windows.static_dim == 0 && !run_.contains("static_fingerprint")) return;
    const uint32_t sfp = static_fingerprint(*prep_);
    if (!resuming_) {
      run_["static_fingerprint"] = static_cast<unsigned long long>(sfp);
    } else if (!run_.contains("static_fingerprint") || run_.at("static_fingerprint").as_uint64() != sfp) {
      const Json& d = run_.at("data");
      const std::string src = d.contains("static_file") ? d.at("static_file").as_string() : d.at("data").as_string();
      throw tg::io::InputError(src + ": the static columns or their values differ from those the run started with "
                               "(fingerprint mismatch); cannot resume");
    }
  }

  // The synthetic sample must fit in memory: refused now, not after hours of training.
  void check_sizes() {
    const tg::io::Windows& w = prep_->windows;
    n_sample_ = sample_n_ < 0 ? w.n : sample_n_;
    check_output_memory("sample", n_sample_, w.seq, w.dim, true);
    if (cfg_.batch > w.n && !quiet_)
      std::fprintf(stderr, "note: --batch-size %lld is more than the %lld training windows; every batch holds all %lld\n",
                   static_cast<long long>(cfg_.batch), static_cast<long long>(w.n), static_cast<long long>(w.n));
  }

  // ---- the run directory ----------------------------------------------------------------------
  // Resume: the checkpoint into the model, checked against config.json; the loss log cut back to
  // the checkpoint's position.
  void open_resumed_run() {
    remove_stale_temp_files(dir_);
    if (const std::string why = tg::io::not_a_file_reason(ckpt_path_); !why.empty())
      throw tg::io::InputError(ckpt_path_ + ": cannot read: " + why);
    if (!tg::io::file_exists(ckpt_path_))
      throw tg::io::InputError(dir_ + ": no model.ckpt to resume from (the run stopped before its first checkpoint); "
                               "start it again with --out " + dir_ + " --overwrite");
    tg::io::Checkpoint ck = tg::io::load_checkpoint(ckpt_path_);
    const Json meta = Json::parse(ck.meta_json, ckpt_path_ + " (meta)");
    Json extra = model_->load_checkpoint(ck);
    check_same_run(dir_, run_, extra);
    check_finite_model(*model_, dir_);
    if (meta.at("phase").as_string() == "done" && cfg_.iterations > stored_iterations_ && !quiet_)
      std::fprintf(stderr, "note: %s finished its %lld iterations per phase; its joint phase continues to %lld (the "
                   "embedding and supervised phases keep %lld)\n", dir_.c_str(), static_cast<long long>(stored_iterations_),
                   static_cast<long long>(cfg_.iterations), static_cast<long long>(stored_iterations_));
    times_ = extra.at("phase_seconds");
    try {
      for (const char* p : {"embedding", "supervised", "joint"}) {
        const double t = times_.at(p).as_double();
        if (!(t >= 0 && t < 1e12)) throw std::invalid_argument(std::string("phase_seconds.") + p + " is not a time");
      }
      if (extra.at("loss_log_bytes").as_int64() < 0) throw std::invalid_argument("loss_log_bytes is negative");
    } catch (const std::exception& e) {
      throw tg::io::InputError(ckpt_path_ + ": corrupt checkpoint metadata: " + e.what());
    }
    if (config_changed_) tg::io::atomic_write_text(join_path(dir_, "config.json"), run_.dump() + "\n");
    last_good_ = meta.at("phase").as_string() + " iteration " + std::to_string(meta.at("iteration").as_int64());
    log_.resume(log_path_, phase_index(meta.at("phase").as_string()), meta.at("iteration").as_int64(),
                extra.at("loss_log_bytes").as_int64(), quiet_);
    if (!quiet_)
      std::fprintf(stderr, "resuming %s at %s iteration %lld\n", dir_.c_str(), tg::models::phase_name(model_->phase()),
                   static_cast<long long>(model_->iteration()));
  }

  // A new run: the directory, its lock, config.json and the loss log's header.
  void open_new_run() {
    const bool created = !tg::io::dir_exists(dir_);
    tg::io::make_dirs(dir_);
    lock_ = RunLock(dir_, "train", quiet_);
    try {
      // Checked again under the lock: another process may have made the directory a run since
      // the caller looked.
      if (!req_.overwrite && holds_a_run(dir_))
        throw OptionError("out", dir_ + ": the directory already holds a run; continue it with --resume or replace "
                          "it with --overwrite");
      if (req_.overwrite) remove_run_files(dir_);
      remove_stale_temp_files(dir_);
      tg::io::atomic_write_text(join_path(dir_, "config.json"), run_.dump() + "\n");
      log_.create(log_path_);
    } catch (...) {
      // A directory this call created holds nothing of a run yet (a full disk, say): nothing of
      // it is left behind.
      if (created) {
        lock_.release();
        for (const std::string& f : {RunLock::path_of(dir_), join_path(dir_, "config.json"), log_path_})
          std::remove(f.c_str());
        ::rmdir(dir_.c_str());
      }
      throw;
    }
    if (quiet_) return;
    const tg::io::Windows& w = prep_->windows;
    std::fprintf(stderr, "training on %lld windows of %lld x %lld (%s), %lld parameters, %lld iterations per phase\n",
                 static_cast<long long>(w.n), static_cast<long long>(w.seq), static_cast<long long>(w.dim),
                 run_.at("data").at("data").as_string().c_str(), static_cast<long long>(model_->parameter_count()),
                 static_cast<long long>(cfg_.iterations));
    if (cfg_.device == tg::Device::CPU)
      std::fprintf(stderr, "on the CPU: %d threads, %s kernels\n", tg::num_threads(),
                   tg::backend_for(tg::Device::CPU).kernels_used().c_str());
    else
      std::fprintf(stderr, "on %s\n", tg::device_name(cfg_.device));
  }

  // ---- checkpoints and the loss log ------------------------------------------------------------
  std::string where_saved() const {
    return last_good_.empty() ? std::string("no checkpoint was written")
                              : "model.ckpt keeps the last good state (saved before " + last_good_ + ")";
  }
  // A failed write of losses.csv (a full disk) stops training: the log would lose rows while
  // training went on. It throws before any later checkpoint, whose loss_log_bytes would count
  // bytes the log does not hold, so model.ckpt keeps the last state the log matches.
  template <typename Op>
  auto checked_log(Op&& op) {
    try {
      return op();
    } catch (const tg::io::OutputError& e) {
      throw tg::io::OutputError(std::string(e.what()) + "; " + where_saved());
    }
  }
  std::string diverged_hint() const {
    return "; " + where_saved() + "; try a smaller --lr (now " + lr_text_ + ") or check the data's range";
  }
  // A checkpoint is written only from finite weights: a good model.ckpt is never replaced by
  // a diverged state.
  void save() {
    const std::string bad = model_->first_nonfinite_tensor();
    if (!bad.empty())
      throw Diverged(std::string("training diverged: tensor '") + bad + "' holds NaN or infinite values at " +
                     tg::models::phase_name(model_->phase()) + " iteration " + std::to_string(model_->iteration()) +
                     diverged_hint());
    Json extra = Json::object();
    if (run_.contains("run_id")) extra["run_id"] = run_.at("run_id");
    extra["loss_log_bytes"] = static_cast<long long>(checked_log([&] { return log_.sync(); }));
    extra["phase_seconds"] = times_;
    // The labels of the categorical columns travel with the weights too (config.json has them
    // for generate and resume), so that a checkpoint alone says what its one-hot blocks mean.
    if (!prep_->map.categorical.empty()) extra["categorical"] = prep_->map.to_json().at("categorical");
    // The condition's labels or range and its training distribution, likewise.
    if (!prep_->map.condition.is_null()) extra["condition"] = prep_->map.condition;
    tg::io::save_checkpoint(ckpt_path_, model_->to_checkpoint(extra));
    last_good_ = std::string(tg::models::phase_name(model_->phase())) + " iteration " + std::to_string(model_->iteration());
  }

  // ---- the steps -------------------------------------------------------------------------------
  // Adds the time since the phase clock started to `phase`'s seconds and restarts the clock.
  void account(tg::models::Phase phase) {
    const char* pn = tg::models::phase_name(phase);
    times_[pn] = times_.at(pn).as_double() + std::chrono::duration<double>(Clock::now() - phase_start_).count();
    phase_start_ = Clock::now();
  }

  // Logs a block's losses (the first non-finite loss stops training) and reports each step.
  void log_block(const std::vector<tg::models::StepLosses>& ls) {
    for (const tg::models::StepLosses& l : ls) {
      const std::string row = l.csv_row();
      checked_log([&] { log_.write_row(row); });
      const std::string bad_loss = l.first_nonfinite();
      if (!bad_loss.empty()) {
        checked_log([&] { return log_.sync(); });
        std::string weights = model_->first_nonfinite_tensor();
        weights = weights.empty() ? "" : " (first non-finite weight: " + weights + ")";
        throw Diverged(std::string("training diverged: non-finite loss at ") + tg::models::phase_name(l.phase) +
                       " iteration " + std::to_string(l.iteration) + ": " + bad_loss + weights + diverged_hint());
      }
      if (req_.on_step) req_.on_step(l, l.iteration + 1, cfg_.iterations);
    }
  }

  // Trains to the end of the schedule with checkpoints; false when it stopped early (a stop
  // request, the time budget, divergence), with `result` saying why.
  bool train_steps(TrainResult& result) {
    if (req_.before_training) req_.before_training();
    tg::backend_for(cfg_.device).reset_kernels_used();  // (summary.json: this run's)
    const auto start = Clock::now();
    phase_start_ = Clock::now();
    tg::models::Phase phase = model_->phase();
    int64_t since_ckpt = 0;
    try {
      while (!model_->done()) {
        // On a device the losses of a block of iterations are read in one copy (the host does not
        // wait for each); on the CPU a block is one iteration. A block never passes a checkpoint.
        int64_t block = cfg_.device == tg::Device::CPU ? 1 : kDeviceBlock;
        if (ckpt_every_ > 0) block = std::min(block, ckpt_every_ - since_ckpt);
        const std::vector<tg::models::StepLosses> ls = model_->steps(std::max<int64_t>(1, block));
        const bool phase_ended = model_->phase() != phase;
        log_block(ls);
        if (phase_ended) {
          account(phase);
          const char* pn = tg::models::phase_name(phase);
          if (req_.on_phase_end) req_.on_phase_end(pn, times_.at(pn).as_double(), cfg_.iterations);
          phase = model_->phase();
          phase_start_ = Clock::now();  // (the callback's time counts in neither phase)
        }
        since_ckpt += static_cast<int64_t>(ls.size());
        const int stop = req_.stop_requested ? req_.stop_requested() : 0;
        const bool timed_out =
            req_.max_time > 0 && std::chrono::duration<double>(Clock::now() - start).count() >= req_.max_time;
        if (stop || timed_out) {
          if (!phase_ended) account(phase);
          save();
          result.outcome = stop ? TrainOutcome::Stopped : TrainOutcome::TimeUp;
          result.stop_code = stop;
          result.message = std::string(stop ? "interrupted" : "time budget reached") + " at " +
                           tg::models::phase_name(model_->phase()) + " iteration " + std::to_string(model_->iteration()) +
                           "; checkpoint written. Continue with: " + req_.resume_hint;
          return false;
        }
        if (ckpt_every_ > 0 && since_ckpt >= ckpt_every_) {
          if (!phase_ended) account(phase);  // the time so far; the phase clock restarts
          save();
          since_ckpt = 0;
          if (req_.on_checkpoint && !model_->done())
            req_.on_checkpoint(tg::models::phase_name(model_->phase()), model_->iteration());
        }
      }
      save();
      checked_log([&] { log_.close(); });  // every row is in losses.csv before the run's last files
    } catch (const Diverged& e) {
      result.outcome = TrainOutcome::Diverged;
      result.message = e.what();
      return false;
    }
    return true;
  }

  // ---- the run's last files ----------------------------------------------------------------------
  // The synthetic sample in the data's original units.
  void write_sample() {
    const int64_t n = n_sample_;
    if (n <= 0) return;
    const Condition cond = condition_of(prep_->map, join_path(dir_, "config.json"));
    std::vector<std::string> cond_text;
    // A conditional model: conditions drawn from the training distribution (stream (seed, 7)).
    tg::io::Windows syn = cond.defined() ? model_->generate(n, cfg_.seed, cond.draw(n, cfg_.seed, cond_text))
                                         : model_->generate(n, cfg_.seed);
    syn.columns = prep_->windows.columns;
    prep_->map.model_to_original(syn);
    if (cond.defined()) {
      syn.condition_column = cond.column;
      syn.condition_text = std::move(cond_text);
    }
    for (double v : syn.data)
      if (!std::isfinite(v))
        throw tg::io::InputError(join_path(dir_, "synthetic.csv") +
                                 ": not written: the generated sample holds NaN or infinite values in the data's units "
                                 "(check the data's range)");
    tg::io::write_windows_csv(join_path(dir_, "synthetic.csv"), syn);
  }

  void write_summary() {
    double total = 0;
    for (const char* p : {"embedding", "supervised", "joint"}) total += times_.at(p).as_double();
    Json summary = Json::object();
    if (run_.contains("run_id")) summary["run_id"] = run_.at("run_id");
    summary["phase_seconds"] = times_;
    summary["total_seconds"] = total;
    summary["parameters"] = static_cast<long long>(model_->parameter_count());
    // What the times were measured on: the device, and on the CPU its threads and the kernel set
    // CPUID (or TG_CPU_GEMM) chose for the recurrent stacks; on CUDA the GRU implementation(s)
    // that ran (persistent kernels, the step-wise path where the weights do not fit shared memory,
    // or cuDNN: kernels/cuda/gru.cu), when the cell is a GRU.
    summary["device"] = tg::device_name(cfg_.device);
    if (cfg_.device == tg::Device::CPU) {
      summary["cpu_threads"] = static_cast<long long>(tg::num_threads());
      summary["cpu_kernels"] = tg::backend_for(tg::Device::CPU).kernels_used();
    }
    if (cfg_.device == tg::Device::CUDA) {
      const std::string gru = tg::backend_for(tg::Device::CUDA).kernels_used();
      if (!gru.empty()) summary["gru_impl"] = gru;
    }
    tg::io::atomic_write_text(join_path(dir_, "summary.json"), summary.dump() + "\n");
    if (quiet_) return;
    std::fprintf(stderr, "training time: embedding %s, supervised %s, joint %s, total %s\n",
                 format_seconds(times_.at("embedding").as_double()).c_str(),
                 format_seconds(times_.at("supervised").as_double()).c_str(),
                 format_seconds(times_.at("joint").as_double()).c_str(), format_seconds(total).c_str());
    std::fprintf(stderr, "model:     %s\nloss log:  %s\n", ckpt_path_.c_str(), log_path_.c_str());
    if (n_sample_ > 0)
      std::fprintf(stderr, "synthetic: %s (%lld sequences)\n", join_path(dir_, "synthetic.csv").c_str(),
                   static_cast<long long>(n_sample_));
  }

  const TrainRequest& req_;
  const bool quiet_, resuming_;
  const std::string& dir_;
  const std::string ckpt_path_, log_path_;
  Json run_;  // config.json
  tg::models::TimeGanConfig cfg_;
  int64_t ckpt_every_ = 0, sample_n_ = 0, n_sample_ = 0;
  bool config_changed_ = false;   // on resume: options given again that are stored back
  int64_t stored_iterations_ = 0;  // on resume: config.json's iterations per phase before --iterations
  RunLock lock_;  // the run directory's one writer, from before its files are read or written
  tg::io::Prepared loaded_;
  const tg::io::Prepared* prep_ = nullptr;  // req.prepared, or loaded_
  std::unique_ptr<tg::models::TimeGan> model_;
  Json times_ = Json::object();  // seconds per phase, all invocations
  LossLog log_;
  std::string last_good_;  // where model.ckpt stands, for messages
  char lr_text_[32] = "";
  Clock::time_point phase_start_;
};

}  // namespace

TrainResult train(const TrainRequest& req) { return Training(req).run(); }

}  // namespace tg::app
