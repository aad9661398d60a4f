// Training into a run directory (tg/app/train.h); `timegan train` and the Python module's fit.
#include "tg/app/train.h"

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

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

TrainResult train(const TrainRequest& req) {
  const bool quiet = req.quiet, resuming = req.resume;
  const std::string& dir = req.dir;
  Json run;  // config.json
  tg::models::TimeGanConfig cfg;
  int64_t ckpt_every = 0, sample_n = 0;
  bool config_changed = false;  // on resume: options given again that are stored back
  int64_t stored_iterations = 0;  // on resume: config.json's iterations per phase before --iterations
  RunLock lock;  // the run directory's one writer, from before its files are read or written
  if (resuming) {
    const std::string cp = join_path(dir, "config.json");
    if (const std::string why = tg::io::not_a_file_reason(cp); !why.empty())
      throw tg::io::InputError(cp + ": cannot read: " + why);
    if (!tg::io::file_exists(cp)) throw tg::io::InputError(dir + ": not a timegan run directory (no config.json)");
    lock = RunLock(dir, "train", quiet);
    run = Json::parse(tg::io::read_file(cp), cp);
    check_run_format(run, cp);
    cfg = tg::models::TimeGanConfig::from_json(run.at("model"), cp);
    stored_iterations = cfg.iterations;
    if (req.iterations) {
      cfg.iterations = *req.iterations;
      run["model"]["iterations"] = static_cast<long long>(cfg.iterations);
      config_changed = true;
    }
    if (!run.contains("train")) run["train"] = Json::object();  // runs from before these were stored
    Json& tr = run["train"];
    ckpt_every = req.resume_checkpoint_every ? *req.resume_checkpoint_every
                 : tr.contains("checkpoint_every") ? tr.at("checkpoint_every").as_int64()
                                                   : req.checkpoint_every;
    sample_n = req.resume_sample ? *req.resume_sample : tr.contains("sample") ? tr.at("sample").as_int64() : req.sample;
    config_changed = config_changed || req.resume_checkpoint_every || req.resume_sample ||
                     !tr.contains("checkpoint_every") || !tr.contains("sample");
    tr["checkpoint_every"] = static_cast<long long>(ckpt_every);
    tr["sample"] = static_cast<long long>(sample_n);
  } else {
    cfg = req.model;
    ckpt_every = req.checkpoint_every;
    sample_n = req.sample;
    run = Json::object();
    run["format"] = kRunFormat;
    run["run_id"] = new_run_id();
    run["data"] = req.data;
    run["train"] = Json::object();
    run["train"]["checkpoint_every"] = static_cast<long long>(ckpt_every);
    run["train"]["sample"] = static_cast<long long>(sample_n);
  }
  const double max_time = req.max_time;

  // Data (re-prepared identically on resume; a fingerprint guards against a changed file).
  tg::io::Prepared loaded;
  if (!req.prepared)
    loaded = resuming ? load_run_data(run.at("data"), join_path(dir, "config.json"), quiet) : load_data(run.at("data"), quiet);
  const tg::io::Prepared& prep = req.prepared ? *req.prepared : loaded;
  const tg::io::Windows& w = prep.windows;
  if (cfg.features == 0) cfg.features = w.dim;
  if (!resuming) cfg.categorical = prep.map.block_sizes();  // one-hot blocks of the categorical columns
  if (!resuming) cfg.missing_mask = missing_mask(run.at("data"));
  if (!resuming) cfg.condition_dim = w.cond_dim;  // conditional generation (resume: config.json's model has it)
  if (!resuming) cfg.static_features = static_cast<int64_t>(prep.map.static_columns.size());  // static columns  // resume: config.json's model has it
  if (prep.windows.seq != cfg.seq_len) cfg.seq_len = prep.windows.seq;  // long format: longest sequence
  const uint32_t fingerprint = tg::io::crc32(w.data.data(), w.data.size() * sizeof(double));
  if (!resuming) {
    run["model"] = cfg.to_json();
    run["output_map"] = prep.map.to_json();
    run["data_fingerprint"] = static_cast<unsigned long long>(fingerprint);
    run["windows"] = static_cast<long long>(w.n);
    if (w.cond_dim > 0)  // absent without a condition (config.json as before)
      run["condition_fingerprint"] = static_cast<unsigned long long>(
          tg::io::crc32(w.conditions.data(), w.conditions.size() * sizeof(double)));
  } else if (w.cond_dim > 0 &&
             (!run.contains("condition_fingerprint") || !run.at("output_map").contains("condition") ||
              run.at("output_map").at("condition") != Json::parse(prep.map.condition.dump()) ||
              run.at("condition_fingerprint").as_uint64() !=
                  tg::io::crc32(w.conditions.data(), w.conditions.size() * sizeof(double)))) {
    throw tg::io::InputError(run.at("data").at("data").as_string() +
                             ": the conditions differ from those the run started with; cannot resume");
  } else if (run.at("data_fingerprint").as_uint64() != fingerprint) {
    throw tg::io::InputError(run.at("data").at("data").as_string() +
                             ": the data differ from those the run started with (fingerprint mismatch); cannot resume");
  }
  // The static values have their own fingerprint (absent without static columns, so that such a
  // run's config.json is as before): their names, their scaler (the data's units) and their
  // model-scale values per sequence.
  if (w.static_dim > 0 || run.contains("static_fingerprint")) {
    const uint32_t sfp = static_fingerprint(prep);
    if (!resuming) {
      run["static_fingerprint"] = static_cast<unsigned long long>(sfp);
    } else if (!run.contains("static_fingerprint") || run.at("static_fingerprint").as_uint64() != sfp) {
      const Json& d = run.at("data");
      const std::string src = d.contains("static_file") ? d.at("static_file").as_string() : d.at("data").as_string();
      throw tg::io::InputError(src + ": the static columns or their values differ from those the run started with "
                               "(fingerprint mismatch); cannot resume");
    }
  }
  // The synthetic sample must fit in memory: refuse now, not after hours of training.
  const int64_t n_sample = sample_n < 0 ? w.n : sample_n;
  check_output_memory("sample", n_sample, w.seq, w.dim, true);
  if (cfg.batch > w.n && !quiet)
    std::fprintf(stderr, "note: --batch-size %lld is more than the %lld training windows; every batch holds all %lld\n",
                 static_cast<long long>(cfg.batch), static_cast<long long>(w.n), static_cast<long long>(w.n));

  if (cfg.device == tg::Device::CPU) check_training_memory(cfg, w.n);
  tg::models::TimeGan model(cfg);
  model.set_data(w);
  const std::string ckpt_path = join_path(dir, "model.ckpt"), log_path = join_path(dir, "losses.csv");
  Json times = Json::object();
  for (const char* p : {"embedding", "supervised", "joint"}) times[p] = 0.0;
  LossLog log;
  std::string last_good;  // where model.ckpt stands, for messages
  if (resuming) {
    remove_stale_temp_files(dir);
    if (const std::string why = tg::io::not_a_file_reason(ckpt_path); !why.empty())
      throw tg::io::InputError(ckpt_path + ": cannot read: " + why);
    if (!tg::io::file_exists(ckpt_path))
      throw tg::io::InputError(dir + ": no model.ckpt to resume from (the run stopped before its first checkpoint); "
                               "start it again with --out " + dir + " --overwrite");
    tg::io::Checkpoint ck = tg::io::load_checkpoint(ckpt_path);
    const Json meta = Json::parse(ck.meta_json, ckpt_path + " (meta)");
    Json extra = model.load_checkpoint(ck);
    check_same_run(dir, run, extra);
    check_finite_model(model, dir);
    if (meta.at("phase").as_string() == "done" && cfg.iterations > stored_iterations && !quiet)
      std::fprintf(stderr, "note: %s finished its %lld iterations per phase; its joint phase continues to %lld (the "
                   "embedding and supervised phases keep %lld)\n", dir.c_str(), static_cast<long long>(stored_iterations),
                   static_cast<long long>(cfg.iterations), static_cast<long long>(stored_iterations));
    times = extra.at("phase_seconds");
    try {
      for (const char* p : {"embedding", "supervised", "joint"}) {
        const double t = times.at(p).as_double();
        if (!(t >= 0 && t < 1e12)) throw std::invalid_argument(std::string("phase_seconds.") + p + " is not a time");
      }
      if (extra.at("loss_log_bytes").as_int64() < 0) throw std::invalid_argument("loss_log_bytes is negative");
    } catch (const std::exception& e) {
      throw tg::io::InputError(ckpt_path + ": corrupt checkpoint metadata: " + e.what());
    }
    if (config_changed) tg::io::atomic_write_text(join_path(dir, "config.json"), run.dump() + "\n");
    last_good = meta.at("phase").as_string() + " iteration " + std::to_string(meta.at("iteration").as_int64());
    log.resume(log_path, phase_index(meta.at("phase").as_string()), meta.at("iteration").as_int64(),
               extra.at("loss_log_bytes").as_int64(), quiet);
    if (!quiet)
      std::fprintf(stderr, "resuming %s at %s iteration %lld\n", dir.c_str(), tg::models::phase_name(model.phase()),
                   static_cast<long long>(model.iteration()));
  } else {
    const bool created = !tg::io::dir_exists(dir);
    tg::io::make_dirs(dir);
    lock = RunLock(dir, "train", quiet);
    try {
      // Checked again under the lock: another process may have made the directory a run since
      // the caller looked.
      if (!req.overwrite && holds_a_run(dir))
        throw OptionError("out", dir + ": the directory already holds a run; continue it with --resume or replace "
                          "it with --overwrite");
      if (req.overwrite) remove_run_files(dir);
      remove_stale_temp_files(dir);
      tg::io::atomic_write_text(join_path(dir, "config.json"), run.dump() + "\n");
      log.create(log_path);
    } catch (...) {
      // A directory this call created holds nothing of a run yet (a full disk, say): nothing of
      // it is left behind.
      if (created) {
        lock.release();
        for (const std::string& f : {RunLock::path_of(dir), join_path(dir, "config.json"), log_path})
          std::remove(f.c_str());
        ::rmdir(dir.c_str());
      }
      throw;
    }
    if (!quiet) {
      std::fprintf(stderr, "training on %lld windows of %lld x %lld (%s), %lld parameters, %lld iterations per phase\n",
                   static_cast<long long>(w.n), static_cast<long long>(w.seq), static_cast<long long>(w.dim),
                   run.at("data").at("data").as_string().c_str(), static_cast<long long>(model.parameter_count()),
                   static_cast<long long>(cfg.iterations));
      if (cfg.device == tg::Device::CPU)
        std::fprintf(stderr, "on the CPU: %d threads, %s kernels\n", tg::num_threads(),
                     tg::backend_for(tg::Device::CPU).kernels_used().c_str());
      else
        std::fprintf(stderr, "on %s\n", tg::device_name(cfg.device));
    }
  }

  auto where_saved = [&]() {
    return last_good.empty() ? std::string("no checkpoint was written")
                             : "model.ckpt keeps the last good state (saved before " + last_good + ")";
  };
  // A failed write of losses.csv (a full disk) stops training: the log would lose rows while
  // training went on. It throws before any later checkpoint, whose loss_log_bytes would count
  // bytes the log does not hold, so model.ckpt keeps the last state the log matches.
  auto checked_log = [&](auto&& op) {
    try {
      return op();
    } catch (const tg::io::OutputError& e) {
      throw tg::io::OutputError(std::string(e.what()) + "; " + where_saved());
    }
  };
  char lr_text[32];
  std::snprintf(lr_text, sizeof lr_text, "%g", cfg.adam.lr);
  // A checkpoint is written only from finite weights: a good model.ckpt is never replaced by
  // a diverged state.
  auto save = [&]() {
    const std::string bad = model.first_nonfinite_tensor();
    if (!bad.empty())
      throw Diverged(std::string("training diverged: tensor '") + bad + "' holds NaN or infinite values at " +
                     tg::models::phase_name(model.phase()) + " iteration " + std::to_string(model.iteration()) + "; " +
                     where_saved() + "; try a smaller --lr (now " + lr_text + ") or check the data's range");
    Json extra = Json::object();
    if (run.contains("run_id")) extra["run_id"] = run.at("run_id");
    extra["loss_log_bytes"] = static_cast<long long>(checked_log([&] { return log.sync(); }));
    extra["phase_seconds"] = times;
    // The labels of the categorical columns travel with the weights too (config.json has them
    // for generate and resume), so that a checkpoint alone says what its one-hot blocks mean.
    if (!prep.map.categorical.empty()) extra["categorical"] = prep.map.to_json().at("categorical");
    // The condition's labels or range and its training distribution, likewise.
    if (!prep.map.condition.is_null()) extra["condition"] = prep.map.condition;
    tg::io::save_checkpoint(ckpt_path, model.to_checkpoint(extra));
    last_good = std::string(tg::models::phase_name(model.phase())) + " iteration " + std::to_string(model.iteration());
  };

  if (req.before_training) req.before_training();
  tg::backend_for(cfg.device).reset_kernels_used();  // (summary.json: this run's)
  const auto start = Clock::now();
  auto phase_start = Clock::now();
  tg::models::Phase phase = model.phase();
  int64_t since_ckpt = 0;
  TrainResult result;
  try {
    while (!model.done()) {
      // On a device the losses of a block of iterations are read in one copy (the host does not
      // wait for each); on the CPU a block is one iteration. A block never passes a checkpoint.
      int64_t block = cfg.device == tg::Device::CPU ? 1 : kDeviceBlock;
      if (ckpt_every > 0) block = std::min(block, ckpt_every - since_ckpt);
      const std::vector<tg::models::StepLosses> ls = model.steps(std::max<int64_t>(1, block));
      const bool phase_ended = model.phase() != phase;
      for (const tg::models::StepLosses& l : ls) {
        const std::string row = l.csv_row();
        checked_log([&] { log.write_row(row); });
        const std::string bad_loss = l.first_nonfinite();
        if (!bad_loss.empty()) {
          checked_log([&] { return log.sync(); });
          std::string weights = model.first_nonfinite_tensor();
          weights = weights.empty() ? "" : " (first non-finite weight: " + weights + ")";
          throw Diverged(std::string("training diverged: non-finite loss at ") + tg::models::phase_name(l.phase) +
                         " iteration " + std::to_string(l.iteration) + ": " + bad_loss + weights + "; " + where_saved() +
                         "; try a smaller --lr (now " + lr_text + ") or check the data's range");
        }
        if (req.on_step) req.on_step(l, l.iteration + 1, cfg.iterations);
      }
      if (phase_ended) {
        const double secs = std::chrono::duration<double>(Clock::now() - phase_start).count();
        times[tg::models::phase_name(phase)] = times.at(tg::models::phase_name(phase)).as_double() + secs;
        if (req.on_phase_end)
          req.on_phase_end(tg::models::phase_name(phase), times.at(tg::models::phase_name(phase)).as_double(),
                           cfg.iterations);
        phase = model.phase();
        phase_start = Clock::now();
      }
      since_ckpt += static_cast<int64_t>(ls.size());
      const int stop = req.stop_requested ? req.stop_requested() : 0;
      const bool timed_out = max_time > 0 && std::chrono::duration<double>(Clock::now() - start).count() >= max_time;
      if (stop || timed_out) {
        if (!phase_ended) {
          const char* pn = tg::models::phase_name(phase);
          times[pn] = times.at(pn).as_double() + std::chrono::duration<double>(Clock::now() - phase_start).count();
        }
        save();
        result.outcome = stop ? TrainOutcome::Stopped : TrainOutcome::TimeUp;
        result.stop_code = stop;
        result.message = std::string(stop ? "interrupted" : "time budget reached") + " at " +
                         tg::models::phase_name(model.phase()) + " iteration " + std::to_string(model.iteration()) +
                         "; checkpoint written. Continue with: " + req.resume_hint;
        return result;
      }
      if (ckpt_every > 0 && since_ckpt >= ckpt_every) {
        const char* pn = tg::models::phase_name(phase);
        if (!phase_ended) {  // account the time so far, then restart the phase clock
          times[pn] = times.at(pn).as_double() + std::chrono::duration<double>(Clock::now() - phase_start).count();
          phase_start = Clock::now();
        }
        save();
        since_ckpt = 0;
        if (req.on_checkpoint && !model.done()) req.on_checkpoint(tg::models::phase_name(model.phase()), model.iteration());
      }
    }
    save();
    checked_log([&] { log.close(); });  // every row is in losses.csv before the run's last files
  } catch (const Diverged& e) {
    result.outcome = TrainOutcome::Diverged;
    result.message = e.what();
    return result;
  }

  // Synthetic sample in the data's original units.
  const int64_t n = n_sample;
  if (n > 0) {
    const Condition cond = condition_of(prep.map, join_path(dir, "config.json"));
    std::vector<std::string> cond_text;
    // A conditional model: conditions drawn from the training distribution (stream (seed, 7)).
    tg::io::Windows syn = cond.defined() ? model.generate(n, cfg.seed, cond.draw(n, cfg.seed, cond_text))
                                         : model.generate(n, cfg.seed);
    syn.columns = w.columns;
    prep.map.model_to_original(syn);
    if (cond.defined()) {
      syn.condition_column = cond.column;
      syn.condition_text = std::move(cond_text);
    }
    for (double v : syn.data)
      if (!std::isfinite(v))
        throw tg::io::InputError(join_path(dir, "synthetic.csv") +
                                 ": not written: the generated sample holds NaN or infinite values in the data's units "
                                 "(check the data's range)");
    tg::io::write_windows_csv(join_path(dir, "synthetic.csv"), syn);
  }
  double total = 0;
  for (const char* p : {"embedding", "supervised", "joint"}) total += times.at(p).as_double();
  Json summary = Json::object();
  if (run.contains("run_id")) summary["run_id"] = run.at("run_id");
  summary["phase_seconds"] = times;
  summary["total_seconds"] = total;
  summary["parameters"] = static_cast<long long>(model.parameter_count());
  // What the times were measured on: the device, and on the CPU its threads and the kernel set
  // CPUID (or TG_CPU_GEMM) chose for the recurrent stacks; on CUDA the GRU implementation(s)
  // that ran (persistent kernels, the step-wise path where the weights do not fit shared memory,
  // or cuDNN: kernels/cuda/gru.cu), when the cell is a GRU.
  summary["device"] = tg::device_name(cfg.device);
  if (cfg.device == tg::Device::CPU) {
    summary["cpu_threads"] = static_cast<long long>(tg::num_threads());
    summary["cpu_kernels"] = tg::backend_for(tg::Device::CPU).kernels_used();
  }
  if (cfg.device == tg::Device::CUDA) {
    const std::string gru = tg::backend_for(tg::Device::CUDA).kernels_used();
    if (!gru.empty()) summary["gru_impl"] = gru;
  }
  tg::io::atomic_write_text(join_path(dir, "summary.json"), summary.dump() + "\n");
  if (!quiet) {
    std::fprintf(stderr, "training time: embedding %s, supervised %s, joint %s, total %s\n",
                 format_seconds(times.at("embedding").as_double()).c_str(),
                 format_seconds(times.at("supervised").as_double()).c_str(),
                 format_seconds(times.at("joint").as_double()).c_str(), format_seconds(total).c_str());
    std::fprintf(stderr, "model:     %s\nloss log:  %s\n", ckpt_path.c_str(), log_path.c_str());
    if (n > 0) std::fprintf(stderr, "synthetic: %s (%lld sequences)\n", join_path(dir, "synthetic.csv").c_str(), static_cast<long long>(n));
  }
  return result;
}

}  // namespace tg::app
