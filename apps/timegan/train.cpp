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
#include "options.h"
#include "tg/app/train.h"
#include "tg/io/error.h"

namespace tgcli {

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

  tg::app::TrainRequest req;
  req.dir = dir;
  req.resume = resuming;
  req.overwrite = overwrite;
  req.quiet = quiet;
  req.resume_hint = "timegan train --resume " + dir;
  if (resuming) {
    static const char* allowed[] = {"resume", "max-time", "checkpoint-every", "quiet", "threads", "log-every", "iterations", "sample"};
    for (const auto& s : train_specs()) {
      bool ok = false;
      for (const char* n : allowed) ok = ok || s.name == n;
      if (!ok && a.given(s.name))
        throw UsageError("timegan train: --" + s.name + " cannot change on --resume (the run keeps its configuration)");
    }
    if (a.given("iterations")) req.iterations = a.integer("iterations", 1, 100000000);
    if (a.given("checkpoint-every")) req.resume_checkpoint_every = a.integer("checkpoint-every", 0, 1000000000);
    if (a.given("sample")) req.resume_sample = a.integer("sample", -1, 100000000);
    // Defaults for runs whose config.json predates these fields.
    req.checkpoint_every = a.integer("checkpoint-every", 0, 1000000000);
    req.sample = a.integer("sample", -1, 100000000);
  } else {
    tg::models::TimeGanConfig& cfg = req.model;
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
    req.checkpoint_every = a.integer("checkpoint-every", 0, 1000000000);
    req.sample = a.integer("sample", -1, 100000000);
    req.data = data_options_json(a);
  }
  req.max_time = a.duration("max-time");
  const int64_t log_every = a.integer("log-every", 1, 1000000000);

  Progress progress(quiet, log_every);
  req.on_step = [&](const tg::models::StepLosses& l, int64_t done, int64_t total) { progress.update(l, done, total); };
  req.on_phase_end = [&](const char* phase, double seconds, int64_t iters) { progress.finish_phase(phase, seconds, iters); };
  req.stop_requested = [] { return static_cast<int>(g_signal); };
  // SIGINT and SIGTERM stop training with a checkpoint once it runs (before, they end the
  // process as usual).
  req.before_training = [] {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
  };

  tg::app::TrainResult r;
  try {
    r = tg::app::train(req);
  } catch (const OptionError& e) {
    usage_error(a, e);
  } catch (const std::exception&) {
    progress.break_line();  // the error (exit 1, main.cpp) goes on a line of its own
    throw;
  }
  switch (r.outcome) {
    case tg::app::TrainOutcome::Done:
      return kExitOk;
    case tg::app::TrainOutcome::Diverged:
      progress.break_line();
      std::fprintf(stderr, "timegan train: error: %s\n", r.message.c_str());
      return kExitDiverged;
    case tg::app::TrainOutcome::TimeUp:
    case tg::app::TrainOutcome::Stopped:
      progress.break_line();
      std::fprintf(stderr, "%s\n", r.message.c_str());
      return r.outcome == tg::app::TrainOutcome::TimeUp ? kExitTimeUp
             : r.stop_code == SIGINT                    ? kExitSigint
                                                        : kExitSigterm;
  }
  return kExitError;
}

}  // namespace tgcli
