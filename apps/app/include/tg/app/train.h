// Training into a run directory, as `timegan train` does it: config.json, losses.csv (every
// loss of every iteration), model.ckpt (every checkpoint_every iterations, at the end, on a
// stop request and at max_time), synthetic.csv and summary.json at the end; resume from the
// last checkpoint; divergence detected at the first non-finite loss or weight.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "tg/io/dataset.h"
#include "tg/io/json.h"
#include "tg/models/timegan.h"

namespace tg::app {

struct TrainRequest {
  std::string dir;          ///< the run directory
  bool resume = false;      ///< continue the run in `dir` from its checkpoint (its config.json)
  bool overwrite = false;   ///< new run: remove a previous run's files first
  // A new run.
  tg::models::TimeGanConfig model;     ///< features and (long format) seq_len follow the data
  tg::io::Json data = tg::io::Json::object();  ///< config.json "data" (the data options)
  int64_t checkpoint_every = 1000;     ///< 0 = only at the end
  int64_t sample = -1;                 ///< synthetic.csv sequences at the end (-1 = as many as the data)
  // Resume: values given again, stored back into config.json.
  std::optional<int64_t> iterations, resume_checkpoint_every, resume_sample;
  // This invocation only.
  double max_time = 0;  ///< seconds; 0 = no limit
  bool quiet = false;   ///< no notes or summary on stderr
  /// The prepared data when they are in memory (the Python module); nullptr: load_data(data).
  const tg::io::Prepared* prepared = nullptr;
  /// After every iteration: its losses, the iterations done in its phase and the phase's total.
  std::function<void(const tg::models::StepLosses&, int64_t done, int64_t total)> on_step;
  /// When a phase ends: its name, its seconds so far (all invocations) and its iterations.
  std::function<void(const char* phase, double seconds, int64_t iterations)> on_phase_end;
  /// Called once the data, the model and the run directory are ready, before the first step.
  std::function<void()> before_training;
  /// After each periodic checkpoint (every checkpoint_every iterations; not the last one, nor
  /// the one written when training stops early): the phase and the iterations done in it. The
  /// run directory then holds a resumable state (model.ckpt, config.json, losses.csv).
  std::function<void(const char* phase, int64_t iteration)> on_checkpoint;
  /// Asked after every iteration: non-zero stops training with a checkpoint (the value is
  /// returned as TrainResult::stop_code, e.g. the signal number).
  std::function<int()> stop_requested;
  /// The command that continues the run, for messages ("timegan train --resume DIR").
  std::string resume_hint;
};

enum class TrainOutcome { Done, TimeUp, Stopped, Diverged };

struct TrainResult {
  TrainOutcome outcome = TrainOutcome::Done;
  int stop_code = 0;    ///< Stopped: what stop_requested returned
  std::string message;  ///< one line for TimeUp, Stopped and Diverged
};

/// True when `dir` holds any file of a run (config.json, model.ckpt, losses.csv, synthetic.csv,
/// summary.json).
bool holds_a_run(const std::string& dir);

/// Trains as described above. Bad input and I/O failures throw (io::InputError, io::OutputError,
/// OptionError "sample" when the synthetic sample cannot fit in memory); divergence, a stop
/// request and the time budget are outcomes, each with model.ckpt holding the last good state.
TrainResult train(const TrainRequest& req);

}  // namespace tg::app
