// timegan train: data in, a trained model, a loss log and a synthetic sample out; checkpoints
// every --checkpoint-every iterations, at the end, on SIGINT/SIGTERM and at --max-time.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <unistd.h>

#include "commands.h"
#include "run.h"
#include "tg/io/checkpoint.h"
#include "tg/io/csv.h"
#include "tg/io/error.h"
#include "tg/io/fs.h"
#include "tg/kernels/parallel.h"

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
      {"cell", "NAME", "gru", "recurrent cell: gru (TF1 GRUCell, the original), gru_ra (cuDNN/PyTorch form), lstm, lstm_ln"},
      {"hidden-dim", "N", "24", "hidden units of every network"},
      {"num-layers", "N", "3", "recurrent layers per network (the supervisor has one fewer; >= 2)"},
      {"batch-size", "N", "128", "windows per batch"},
      {"iterations", "N", "50000", "iterations of each of the three phases"},
      {"z-dim", "N", "0", "noise width (0 = number of features, as the original)"},
      {"gamma", "X", "1", "weight of the E_hat adversarial terms"},
      {"d-threshold", "X", "0.15", "discriminator steps only while D_loss exceeds this"},
      {"lr", "X", "0.001", "Adam learning rate of all five optimisers"},
      {"adam", "FORM", "tf1", "Adam form: tf1 (the original) or pytorch"},
      {"seed", "S", "0", "seed of every random stream (data shuffle, initialisation, batches, noise)"},
      {"device", "cpu|cuda", "cpu", "where to train"},
      {"threads", "N", "0", "CPU threads (0 = all cores or TG_NUM_THREADS)"},
      {"checkpoint-every", "N", "1000", "write a checkpoint every N iterations (0 = only at the end)"},
      {"max-time", "DURATION", "", "stop cleanly with a checkpoint after this wall time (e.g. 50m, 2h); resume later"},
      {"sample", "N", "-1", "synthetic sequences written to RUN_DIR/synthetic.csv at the end (-1 = as many as the training set)"},
      {"log-every", "N", "1000", "progress line every N iterations when stderr is not a terminal"},
      {"quiet", "", "", "no progress output"},
  };
  s.insert(s.end(), more.begin(), more.end());
  return s;
}

struct LossLog {
  FILE* f = nullptr;
  std::string path;
  ~LossLog() {
    if (f) std::fclose(f);
  }
  void open(const std::string& p, int64_t keep_bytes) {
    path = p;
    if (keep_bytes >= 0 && tg::io::file_exists(p)) {
      // Resume: drop rows written after the checkpoint we restart from.
      if (truncate(p.c_str(), static_cast<off_t>(keep_bytes)) != 0)
        throw tg::io::OutputError(p + ": cannot truncate: " + std::strerror(errno));
      f = std::fopen(p.c_str(), "ab");
    } else {
      f = std::fopen(p.c_str(), "wb");
      if (f) std::fprintf(f, "%s\n", tg::models::StepLosses::csv_header().c_str());
    }
    if (!f) throw tg::io::OutputError(p + ": cannot open for writing: " + std::strerror(errno));
  }
  int64_t flush() {
    std::fflush(f);
    return static_cast<int64_t>(std::ftell(f));
  }
};

}  // namespace

int cmd_train(int argc, char** argv) {
  Args a("timegan train", "Train TimeGAN on a CSV, an NPY file of windows or the built-in sine data.", train_specs());
  if (!a.parse(argc, argv, 2)) return 0;
  const bool quiet = a.flag("quiet");
  const bool resuming = a.given("resume");
  std::string dir = resuming ? a.str("resume") : a.str("out");
  if (dir.empty()) throw UsageError("timegan train: --out RUN_DIR is required (or --resume RUN_DIR)");
  if (resuming && a.given("out")) throw UsageError("timegan train: give either --out or --resume, not both");
  if (const int64_t th = a.integer("threads", 0, 1024)) tg::kernels::cpu::set_num_threads(static_cast<int>(th));

  Json run;  // config.json
  tg::models::TimeGanConfig cfg;
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
    if (a.given("iterations")) cfg.iterations = a.integer("iterations", 1, 100000000);
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
    run = Json::object();
    run["format"] = "timegan-run/1";
    run["data"] = data_options_json(a);
  }
  const int64_t ckpt_every = a.integer("checkpoint-every", 0, 1000000000);
  const double max_time = a.duration("max-time");
  const int64_t log_every = a.integer("log-every", 1, 1000000000);
  const int64_t sample_n = a.integer("sample", -1, 100000000);

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

  tg::models::TimeGan model(cfg);
  model.set_data(w);
  const std::string ckpt_path = join_path(dir, "model.ckpt"), log_path = join_path(dir, "losses.csv");
  Json times = Json::object();
  for (const char* p : {"embedding", "supervised", "joint"}) times[p] = 0.0;
  int64_t log_bytes = -1;
  if (resuming) {
    tg::io::Checkpoint ck = tg::io::load_checkpoint(ckpt_path);
    Json extra = model.load_checkpoint(ck);
    log_bytes = extra.at("loss_log_bytes").as_int64();
    times = extra.at("phase_seconds");
    if (!quiet)
      std::fprintf(stderr, "resuming %s at %s iteration %lld\n", dir.c_str(), tg::models::phase_name(model.phase()),
                   static_cast<long long>(model.iteration()));
  } else {
    tg::io::make_dirs(dir);
    tg::io::atomic_write_text(join_path(dir, "config.json"), run.dump() + "\n");
    if (!quiet)
      std::fprintf(stderr, "training on %lld windows of %lld x %lld (%s), %lld parameters, %lld iterations per phase\n",
                   static_cast<long long>(w.n), static_cast<long long>(w.seq), static_cast<long long>(w.dim),
                   run.at("data").at("data").as_string().c_str(), static_cast<long long>(model.parameter_count()),
                   static_cast<long long>(cfg.iterations));
  }
  LossLog log;
  log.open(log_path, log_bytes);

  auto save = [&]() {
    Json extra = Json::object();
    extra["loss_log_bytes"] = static_cast<long long>(log.flush());
    extra["phase_seconds"] = times;
    tg::io::save_checkpoint(ckpt_path, model.to_checkpoint(extra));
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
  while (!model.done()) {
    const tg::models::StepLosses l = model.step();
    const std::string row = l.csv_row();
    std::fprintf(log.f, "%s\n", row.c_str());
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
      exit_code = g_signal == SIGINT ? 130 : g_signal == SIGTERM ? 143 : 75;
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

  // Synthetic sample in the data's original units.
  const int64_t n = sample_n < 0 ? w.n : sample_n;
  if (n > 0) {
    tg::io::Windows syn = model.generate(n, cfg.seed);
    syn.columns = w.columns;
    prep.map.model_to_original(syn);
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
