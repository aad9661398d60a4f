// timegan train: data in, a trained model, a loss log and a synthetic sample out; checkpoints
// every --checkpoint-every iterations, at the end, on SIGINT/SIGTERM and at --max-time.
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <unistd.h>

#include "commands.h"
#include "run.h"
#include "tg/io/checkpoint.h"
#include "tg/io/csv.h"
#include "tg/io/error.h"
#include "tg/io/fs.h"

namespace tgcli {

using tg::io::Json;
using Clock = std::chrono::steady_clock;

namespace {
volatile std::sig_atomic_t g_signal = 0;
extern "C" void on_signal(int sig) { g_signal = sig; }

std::vector<OptionSpec> train_specs() {
  std::vector<OptionSpec> s = data_option_specs();
  std::vector<OptionSpec> more = {
      {"out", "RUN_DIR", "", "directory for the model, config, loss log and synthetic sample (required unless --resume)"},
      {"resume", "RUN_DIR", "", "continue an interrupted run from its last checkpoint"},
      {"overwrite", "", "", "--out names a directory that already holds a run: remove that run's files (model.ckpt, config.json, losses.csv, synthetic.csv, summary.json) and start afresh"},
      {"cell", "NAME", "gru", "recurrent cell: gru (TF1 GRUCell, the original), gru_ra (cuDNN/PyTorch form), lstm, lstm_ln"},
      {"hidden-dim", "N", "24", "hidden units of every network"},
      {"num-layers", "N", "3", "recurrent layers per network (the supervisor has one fewer; >= 2)"},
      {"batch-size", "N", "128", "windows per batch (more than the training windows: every batch holds all of them, with a note)"},
      {"iterations", "N", "50000", "iterations of each of the three phases"},
      {"z-dim", "N", "0", "noise width (0 = number of features, as the original)"},
      {"gamma", "X", "1", "weight of the E_hat adversarial terms"},
      {"d-threshold", "X", "0.15", "discriminator steps only while D_loss exceeds this"},
      {"lr", "X", "0.001", "Adam learning rate of all five optimisers"},
      {"adam", "FORM", "tf1", "Adam form: tf1 (the original) or pytorch"},
      {"seed", "S", "0", "seed of every random stream (data shuffle, initialisation, batches, noise)"},
      {"device", "cpu|cuda", "cpu", "where to train"},
      {"threads", "N", "0", "CPU threads (0 = all cores or TG_NUM_THREADS; more than the machine has is clamped to it)"},
      {"checkpoint-every", "N", "1000", "write a checkpoint every N iterations (0 = only at the end)"},
      {"max-time", "DURATION", "", "stop cleanly with a checkpoint after this wall time (e.g. 50m, 2h); resume later"},
      {"sample", "N", "-1", "synthetic sequences written to RUN_DIR/synthetic.csv at the end (-1 = as many as the training set)"},
      {"log-every", "N", "1000", "progress line every N iterations when stderr is not a terminal"},
      {"quiet", "", "", "no progress output"},
  };
  s.insert(s.end(), more.begin(), more.end());
  return s;
}

// The files train writes into a run directory; any of them marks the directory as a run.
const char* const kRunFiles[] = {"model.ckpt", "summary.json", "synthetic.csv", "losses.csv", "config.json"};

bool holds_a_run(const std::string& dir) {
  for (const char* f : kRunFiles)
    if (tg::io::file_exists(join_path(dir, f))) return true;
  return false;
}

// --overwrite: removes the previous run's files, the checkpoint first, so that no state of the
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

struct LossLog {
  FILE* f = nullptr;
  std::string path;
  ~LossLog() {
    if (f) std::fclose(f);
  }
  /// A new run: a fresh file with the header.
  void create(const std::string& p) {
    path = p;
    f = std::fopen(p.c_str(), "wb");
    if (f) std::fprintf(f, "%s\n", tg::models::StepLosses::csv_header().c_str());
    if (!f) throw tg::io::OutputError(p + ": cannot open for writing: " + std::strerror(errno));
  }
  /// Resume: keeps exactly the rows before the checkpoint (drops rows written after it, never
  /// pads), then appends. Notes rows lost before it (a log shorter than the checkpoint expects).
  void resume(const std::string& p, int ckpt_phase, int64_t ckpt_iter, int64_t expected_bytes, bool quiet) {
    path = p;
    const std::string text = tg::io::file_exists(p) ? tg::io::read_file(p) : std::string();
    const std::string kept = loss_rows_before(text, ckpt_phase, ckpt_iter);
    if (kept != text) tg::io::atomic_write_text(p, kept);
    if (!quiet && static_cast<int64_t>(kept.size()) < expected_bytes)
      std::fprintf(stderr, "note: %s: holds fewer rows than the checkpoint expects (%lld of %lld bytes); the rows "
                   "lost are not recovered, the log continues from the checkpoint\n",
                   p.c_str(), static_cast<long long>(kept.size()), static_cast<long long>(expected_bytes));
    f = std::fopen(p.c_str(), "ab");
    if (!f) throw tg::io::OutputError(p + ": cannot open for writing: " + std::strerror(errno));
  }
  int64_t flush() {
    std::fflush(f);
    return static_cast<int64_t>(std::ftell(f));
  }
};

// Training stopped because a loss or a weight is no longer finite.
struct Diverged : std::runtime_error {
  explicit Diverged(const std::string& m) : std::runtime_error(m) {}
};

}  // namespace

int cmd_train(int argc, char** argv) {
  Args a("timegan train", "Train TimeGAN on a CSV, an NPY file of windows or the built-in sine data.", train_specs());
  a.set_epilogue(std::string(
      "Stored in RUN_DIR/config.json and restored by --resume: the data options, the model and\n"
      "optimiser options, --seed, --device, --checkpoint-every and --sample (--iterations,\n"
      "--checkpoint-every and --sample may be changed on --resume; the new values are stored).\n"
      "Per invocation only: --threads, --max-time, --log-every, --quiet.\n\n") + exit_status_help());
  if (!a.parse(argc, argv, 2)) return 0;
  const bool quiet = a.flag("quiet");
  const bool resuming = a.given("resume");
  std::string dir = resuming ? a.str("resume") : a.str("out");
  if (dir.empty()) throw UsageError("timegan train: --out RUN_DIR is required (or --resume RUN_DIR)");
  if (resuming && a.given("out")) throw UsageError("timegan train: give either --out or --resume, not both");
  if (resuming && a.given("overwrite"))
    throw UsageError("timegan train: --overwrite replaces a run given with --out; it does not combine with --resume");
  const bool overwrite = a.flag("overwrite");
  if (!resuming && !overwrite && holds_a_run(dir))
    throw UsageError("timegan train: --out " + dir + ": the directory already holds a run; continue it with "
                     "'timegan train --resume " + dir + "' or replace it with --overwrite");
  apply_threads(a, quiet);

  Json run;  // config.json
  tg::models::TimeGanConfig cfg;
  int64_t ckpt_every = 0, sample_n = 0;
  bool config_changed = false;  // on resume: options given again that are stored back
  if (resuming) {
    static const char* allowed[] = {"resume", "max-time", "checkpoint-every", "quiet", "threads", "log-every", "iterations", "sample"};
    for (const auto& s : train_specs()) {
      bool ok = false;
      for (const char* n : allowed) ok = ok || s.name == n;
      if (!ok && a.given(s.name))
        throw UsageError("timegan train: --" + s.name + " cannot change on --resume (the run keeps its configuration)");
    }
    const std::string cp = join_path(dir, "config.json");
    if (!tg::io::file_exists(cp)) throw tg::io::InputError(dir + ": not a timegan run directory (no config.json)");
    run = Json::parse(tg::io::read_file(cp), cp);
    cfg = tg::models::TimeGanConfig::from_json(run.at("model"), cp);
    if (a.given("iterations")) {
      cfg.iterations = a.integer("iterations", 1, 100000000);
      run["model"]["iterations"] = static_cast<long long>(cfg.iterations);
      config_changed = true;
    }
    if (!run.contains("train")) run["train"] = Json::object();  // runs from before these were stored
    Json& tr = run["train"];
    ckpt_every = a.given("checkpoint-every") || !tr.contains("checkpoint_every")
                     ? a.integer("checkpoint-every", 0, 1000000000)
                     : tr.at("checkpoint_every").as_int64();
    sample_n = a.given("sample") || !tr.contains("sample") ? a.integer("sample", -1, 100000000) : tr.at("sample").as_int64();
    config_changed = config_changed || a.given("checkpoint-every") || a.given("sample") || !tr.contains("checkpoint_every") ||
                     !tr.contains("sample");
    tr["checkpoint_every"] = static_cast<long long>(ckpt_every);
    tr["sample"] = static_cast<long long>(sample_n);
  } else {
    cfg.seq_len = a.integer("seq-len", a.str("id-column").empty() ? 2 : 0, 100000);
    cfg.hidden = a.integer("hidden-dim", 1, 4096);
    cfg.layers = a.integer("num-layers", 1, 64);
    if (cfg.layers < 2) a.fail("num-layers", "must be at least 2: the supervisor has num-layers - 1 layers");
    cfg.batch = a.integer("batch-size", 1, 1000000);
    cfg.iterations = a.integer("iterations", 1, 100000000);
    cfg.z_dim = a.integer("z-dim", 0, 100000);
    cfg.gamma = a.real("gamma", 0, 1e6);
    cfg.d_threshold = a.real("d-threshold", 0, 1e6);
    cfg.adam.lr = a.real("lr", 1e-12, 10);
    cfg.adam.form = a.choice("adam", {"tf1", "pytorch"}) == "tf1" ? tg::AdamOptions::Form::Tf1 : tg::AdamOptions::Form::PyTorch;
    try {
      cfg.cell = tg::parse_cell(a.str("cell"));
    } catch (const std::exception& e) {
      a.fail("cell", e.what());
    }
    cfg.seed = a.u64("seed");
    cfg.device = parse_device(a);
    ckpt_every = a.integer("checkpoint-every", 0, 1000000000);
    sample_n = a.integer("sample", -1, 100000000);
    run = Json::object();
    run["format"] = "timegan-run/1";
    run["data"] = data_options_json(a);
    run["train"] = Json::object();
    run["train"]["checkpoint_every"] = static_cast<long long>(ckpt_every);
    run["train"]["sample"] = static_cast<long long>(sample_n);
  }
  const double max_time = a.duration("max-time");
  const int64_t log_every = a.integer("log-every", 1, 1000000000);

  // Data (re-prepared identically on resume; a fingerprint guards against a changed file).
  tg::io::Prepared prep = load_data(run.at("data"), quiet);
  const tg::io::Windows& w = prep.windows;
  if (cfg.features == 0) cfg.features = w.dim;
  if (prep.windows.seq != cfg.seq_len) cfg.seq_len = prep.windows.seq;  // long format: longest sequence
  const uint32_t fingerprint = tg::io::crc32(w.data.data(), w.data.size() * sizeof(double));
  if (!resuming) {
    run["model"] = cfg.to_json();
    run["output_map"] = prep.map.to_json();
    run["data_fingerprint"] = static_cast<unsigned long long>(fingerprint);
    run["windows"] = static_cast<long long>(w.n);
  } else if (run.at("data_fingerprint").as_uint64() != fingerprint) {
    throw tg::io::InputError(run.at("data").at("data").as_string() +
                             ": the data differ from those the run started with (fingerprint mismatch); cannot resume");
  }
  // The synthetic sample must fit in memory: refuse now, not after hours of training.
  const int64_t n_sample = sample_n < 0 ? w.n : sample_n;
  check_output_memory(a, "sample", n_sample, w.seq, w.dim, true);
  if (cfg.batch > w.n && !quiet)
    std::fprintf(stderr, "note: --batch-size %lld is more than the %lld training windows; every batch holds all %lld\n",
                 static_cast<long long>(cfg.batch), static_cast<long long>(w.n), static_cast<long long>(w.n));

  tg::models::TimeGan model(cfg);
  model.set_data(w);
  const std::string ckpt_path = join_path(dir, "model.ckpt"), log_path = join_path(dir, "losses.csv");
  Json times = Json::object();
  for (const char* p : {"embedding", "supervised", "joint"}) times[p] = 0.0;
  LossLog log;
  std::string last_good;  // where model.ckpt stands, for messages
  if (resuming) {
    remove_stale_temp_files(dir);
    if (!tg::io::file_exists(ckpt_path))
      throw tg::io::InputError(dir + ": no model.ckpt to resume from (the run stopped before its first checkpoint); "
                               "start it again with --out " + dir + " --overwrite");
    tg::io::Checkpoint ck = tg::io::load_checkpoint(ckpt_path);
    const Json meta = Json::parse(ck.meta_json, ckpt_path + " (meta)");
    Json extra = model.load_checkpoint(ck);
    check_finite_model(model, dir);
    times = extra.at("phase_seconds");
    if (config_changed) tg::io::atomic_write_text(join_path(dir, "config.json"), run.dump() + "\n");
    last_good = meta.at("phase").as_string() + " iteration " + std::to_string(meta.at("iteration").as_int64());
    log.resume(log_path, phase_index(meta.at("phase").as_string()), meta.at("iteration").as_int64(),
               extra.at("loss_log_bytes").as_int64(), quiet);
    if (!quiet)
      std::fprintf(stderr, "resuming %s at %s iteration %lld\n", dir.c_str(), tg::models::phase_name(model.phase()),
                   static_cast<long long>(model.iteration()));
  } else {
    if (overwrite) remove_run_files(dir);
    tg::io::make_dirs(dir);
    remove_stale_temp_files(dir);
    tg::io::atomic_write_text(join_path(dir, "config.json"), run.dump() + "\n");
    log.create(log_path);
    if (!quiet)
      std::fprintf(stderr, "training on %lld windows of %lld x %lld (%s), %lld parameters, %lld iterations per phase\n",
                   static_cast<long long>(w.n), static_cast<long long>(w.seq), static_cast<long long>(w.dim),
                   run.at("data").at("data").as_string().c_str(), static_cast<long long>(model.parameter_count()),
                   static_cast<long long>(cfg.iterations));
  }

  auto where_saved = [&]() {
    return last_good.empty() ? std::string("no checkpoint was written")
                             : "model.ckpt keeps the last good state (saved before " + last_good + ")";
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
    extra["loss_log_bytes"] = static_cast<long long>(log.flush());
    extra["phase_seconds"] = times;
    tg::io::save_checkpoint(ckpt_path, model.to_checkpoint(extra));
    last_good = std::string(tg::models::phase_name(model.phase())) + " iteration " + std::to_string(model.iteration());
  };

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  Progress progress(quiet, log_every);
  const auto start = Clock::now();
  auto phase_start = Clock::now();
  tg::models::Phase phase = model.phase();
  int64_t since_ckpt = 0;
  int exit_code = 0;
  try {
    while (!model.done()) {
      const tg::models::StepLosses l = model.step();
      const std::string row = l.csv_row();
      std::fprintf(log.f, "%s\n", row.c_str());
      const std::string bad_loss = l.first_nonfinite();
      if (!bad_loss.empty()) {
        log.flush();
        std::string weights = model.first_nonfinite_tensor();
        weights = weights.empty() ? "" : " (first non-finite weight: " + weights + ")";
        throw Diverged(std::string("training diverged: non-finite loss at ") + tg::models::phase_name(l.phase) +
                       " iteration " + std::to_string(l.iteration) + ": " + bad_loss + weights + "; " + where_saved() +
                       "; try a smaller --lr (now " + lr_text + ") or check the data's range");
      }
      const bool phase_ended = model.phase() != phase;
      const int64_t done_in_phase = phase_ended ? cfg.iterations : model.iteration();
      progress.update(l, done_in_phase, cfg.iterations);
      if (phase_ended) {
        const double secs = std::chrono::duration<double>(Clock::now() - phase_start).count();
        times[tg::models::phase_name(phase)] = times.at(tg::models::phase_name(phase)).as_double() + secs;
        progress.finish_phase(tg::models::phase_name(phase), times.at(tg::models::phase_name(phase)).as_double(), cfg.iterations);
        phase = model.phase();
        phase_start = Clock::now();
      }
      ++since_ckpt;
      const bool timed_out = max_time > 0 && std::chrono::duration<double>(Clock::now() - start).count() >= max_time;
      if (g_signal || timed_out) {
        if (!phase_ended) {
          const char* pn = tg::models::phase_name(phase);
          times[pn] = times.at(pn).as_double() + std::chrono::duration<double>(Clock::now() - phase_start).count();
        }
        save();
        progress.break_line();
        std::fprintf(stderr, "%s\n", (std::string(g_signal ? "interrupted" : "time budget reached") + " at " +
                      tg::models::phase_name(model.phase()) + " iteration " + std::to_string(model.iteration()) +
                      "; checkpoint written. Continue with: timegan train --resume " + dir).c_str());
        exit_code = g_signal == SIGINT ? kExitSigint : g_signal == SIGTERM ? kExitSigterm : kExitTimeUp;
        break;
      }
      if (ckpt_every > 0 && since_ckpt >= ckpt_every) {
        const char* pn = tg::models::phase_name(phase);
        if (!phase_ended) {  // account the time so far, then restart the phase clock
          times[pn] = times.at(pn).as_double() + std::chrono::duration<double>(Clock::now() - phase_start).count();
          phase_start = Clock::now();
        }
        save();
        since_ckpt = 0;
      }
    }
    if (exit_code != 0) return exit_code;
    save();
  } catch (const Diverged& e) {
    progress.break_line();
    std::fprintf(stderr, "timegan train: error: %s\n", e.what());
    return kExitDiverged;
  }

  // Synthetic sample in the data's original units.
  const int64_t n = n_sample;
  if (n > 0) {
    tg::io::Windows syn = model.generate(n, cfg.seed);
    syn.columns = w.columns;
    prep.map.model_to_original(syn);
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
  summary["phase_seconds"] = times;
  summary["total_seconds"] = total;
  summary["parameters"] = static_cast<long long>(model.parameter_count());
  tg::io::atomic_write_text(join_path(dir, "summary.json"), summary.dump() + "\n");
  if (!quiet) {
    std::fprintf(stderr, "training time: embedding %s, supervised %s, joint %s, total %s\n",
                 format_seconds(times.at("embedding").as_double()).c_str(),
                 format_seconds(times.at("supervised").as_double()).c_str(),
                 format_seconds(times.at("joint").as_double()).c_str(), format_seconds(total).c_str());
    std::fprintf(stderr, "model:     %s\nloss log:  %s\n", ckpt_path.c_str(), log_path.c_str());
    if (n > 0) std::fprintf(stderr, "synthetic: %s (%lld sequences)\n", join_path(dir, "synthetic.csv").c_str(), static_cast<long long>(n));
  }
  return 0;
}

}  // namespace tgcli
