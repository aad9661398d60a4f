// The application layer shared by the `timegan` executable and the Python module: loading data
// as `train` does, run directories (config.json, model.ckpt), threads, output checks and a
// progress display.
#pragma once

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "tg/io/csv.h"
#include "tg/io/dataset.h"
#include "tg/io/json.h"
#include "tg/models/timegan.h"

namespace tg::app {

/// A bad option value (what the CLI reports as "timegan <command>: --<option>: <detail>" with
/// exit status 2): `option` is the CLI's option name without dashes ("device", "sample", "n").
struct OptionError : std::invalid_argument {
  OptionError(std::string option_name, std::string what)
      : std::invalid_argument(option_name + ": " + what), option(std::move(option_name)), detail(std::move(what)) {}
  std::string option, detail;
};

/// A run directory is in use by another writer (RunLock); the CLI exits 2 with this line.
struct RunBusy : std::runtime_error {
  explicit RunBusy(const std::string& what) : std::runtime_error(what) {}
};

/// The one writer of a run directory (README "Reliability"): an exclusive advisory lock
/// (flock) on DIR/.timegan.lock, held for the life of the object. While held the file names
/// its holder (pid, host, start time, what it does); it is emptied on release, so a file that
/// still names a holder when the lock is taken was left by a process that ended without
/// releasing it (kill -9, power loss): a note says so and the lock is taken over. The kernel
/// drops a dead process's flock, so a lock is never stale by itself. A second writer gets
/// RunBusy naming the directory and the holder. Where the file system does not support locks
/// (some network file systems), a note says so and the run goes on unlocked.
class RunLock {
 public:
  RunLock() = default;
  /// Locks the existing directory `dir` for `what` ("train", "generate", "save").
  RunLock(const std::string& dir, const std::string& what, bool quiet);
  ~RunLock();
  RunLock(RunLock&& o) noexcept;
  RunLock& operator=(RunLock&& o) noexcept;
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;
  /// Empties the holder line and unlocks (also done by the destructor).
  void release();
  bool held() const { return fd_ >= 0; }
  /// The lock file of a run directory.
  static std::string path_of(const std::string& dir);

 private:
  int fd_ = -1;
};

/// A new random run id (16 hex digits): config.json, model.ckpt and summary.json of one run
/// carry the same one, so that readers refuse a directory whose files come from two runs.
std::string new_run_id();

/// Loads and preprocesses data as `train` does: "sine" or a CSV or an NPY file of windows.
/// Prints notes (skipped date columns) to stderr unless quiet.
tg::io::Prepared load_data(const tg::io::Json& data_opts, bool quiet);
/// load_data with the data options of a run's config.json (`cfg_path`): a malformed option
/// (a type or range error of the JSON) is an InputError naming the file.
tg::io::Prepared load_run_data(const tg::io::Json& data_opts, const std::string& cfg_path, bool quiet);
/// The CSV options for categorical columns from the data options ("categorical": "A,B",
/// "max_categories"; absent keys keep the defaults).
void set_categorical_options(tg::io::CsvOptions& co, const tg::io::Json& data_opts);
/// True when the data options keep missing cells ("missing": "mask"); absent or "error": false.
/// Another value: OptionError "missing".
bool missing_mask(const tg::io::Json& data_opts);
/// The part of load_data after reading a CSV: preprocesses a table (from a file, or built in
/// memory by the Python module) with the data options; refuses long-format sequences of one row.
tg::io::Prepared prepare_table(const tg::io::Table& t, const tg::io::Json& data_opts);

/// A trained model read back from a run directory.
struct LoadedRun {
  tg::io::Json config;  // config.json
  tg::models::TimeGanConfig model_cfg;
  tg::io::OutputMap map;
  tg::io::Checkpoint ckpt;
};
/// The run directory format train writes ("format" of config.json).
constexpr const char* kRunFormat = "timegan-run/1";
/// Refuses (InputError naming the file) a config.json that is not an object or whose "format"
/// is not kRunFormat (one written before the key existed has none: accepted).
void check_run_format(const tg::io::Json& config, const std::string& cfg_path);
/// Refuses (InputError naming the files) a run directory whose files come from two runs: the
/// run id of config.json (`config`) against model.ckpt's (`ckpt_extra`, its metadata's "extra")
/// and, where the file exists, summary.json's. Runs written before run ids carry none: accepted.
void check_same_run(const std::string& dir, const tg::io::Json& config, const tg::io::Json& ckpt_extra);
/// Reads config.json and model.ckpt of a run directory (check_same_run included).
LoadedRun load_run(const std::string& dir);
/// n synthetic sequences from a run read by load_run (`dir` names it in messages), drawn with
/// `seed` on `device`, in the data's original units (`timegan generate`). Refuses a model with
/// non-finite weights. Categorical labels: the most probable (argmax), or with `sample_labels`
/// drawn from the softmax with their own random stream (seed, kStreamCategorical).
tg::io::Windows generate_from_run(const LoadedRun& run, const std::string& dir, int64_t n, uint64_t seed,
                                  tg::Device device, bool sample_labels = false);
/// The random stream of categorical sampling (`generate --categorical-sampling sample`). The
/// streams of one seed: 1 initialisation, 2 batches, 3 training noise, 4 generation noise,
/// 5 data (sine, shuffles), 6 generated static noise, 7 conditions, 8 categorical labels.
constexpr uint64_t kStreamCategorical = 8;
/// The same for chosen conditions (conditional generation, docs/conditional.md): one sequence
/// per entry of `conditions` (values in the data's units: labels or numbers; `where` names each
/// one's origin in messages, e.g. "--condition" or "f.csv:3"); with `conditions` empty, n
/// sequences whose conditions are drawn from the training distribution (stream (seed, 7)).
/// The result carries the condition column (Windows::condition_column / condition_text).
/// Conditions given to a model trained without one, an unknown label or a number outside the
/// training range throw io::InputError.
tg::io::Windows generate_from_run(const LoadedRun& run, const std::string& dir, int64_t n, uint64_t seed,
                                  tg::Device device, const std::vector<std::string>& conditions,
                                  const std::vector<std::string>& where, bool sample_labels = false);

std::string join_path(const std::string& dir, const std::string& file);
/// Parses "cpu" / "cuda" (OptionError "device" for another name) and checks that CUDA is usable
/// when asked for: std::runtime_error with the device's problem and what to do (an error of the
/// machine, not of the command line: the CLI exits 1).
tg::Device parse_device(const std::string& name);
/// Sets the CPU threads (--threads): 0 keeps the default; more than the machine's hardware
/// threads is clamped to them with a note on stderr (unless quiet). The one place the
/// application sets the engine's thread count.
void apply_threads(int64_t threads, bool quiet);
/// Refuses (OptionError naming `option`) a request for n sequences of seq x dim whose
/// in-memory result (and its CSV text when `csv`) would not fit in the available memory.
void check_output_memory(const std::string& option, int64_t n, int64_t seq, int64_t dim, bool csv);
/// About how many bytes training `c` on `windows` windows takes at its peak on the CPU.
double training_memory_bytes(const tg::models::TimeGanConfig& c, int64_t windows);
/// Refuses (OptionError naming the size option furthest above its default) a training whose
/// training_memory_bytes exceeds the memory available to the process (MemAvailable, ulimit -v,
/// the cgroup's memory.max), with the estimate and the available memory.
void check_training_memory(const tg::models::TimeGanConfig& c, int64_t windows);
/// Refuses (InputError naming the run directory and the tensor) a model holding NaN or
/// infinite parameters: what it generates would be NaN.
void check_finite_model(const tg::models::TimeGan& model, const std::string& dir);
/// Removes the temporary files that an interrupted atomic write (kill -9, power loss) left in
/// a run directory ("model.ckpt.tmp.<pid>.<n>" and the same for the other files train writes)
/// when the process that wrote them no longer runs. Returns how many were removed.
int remove_stale_temp_files(const std::string& dir);

/// Progress on a terminal (one redrawn line) or plain periodic lines when not a terminal.
class Progress {
 public:
  Progress(bool quiet, int64_t plain_every);
  void update(const tg::models::StepLosses& l, int64_t done_in_phase, int64_t phase_total);
  void finish_phase(const char* phase, double seconds, int64_t iters);
  /// Ends the redrawn terminal line so that a message can follow.
  void break_line();

 private:
  bool quiet_, tty_;
  int64_t every_;
  std::chrono::steady_clock::time_point phase_start_, last_draw_;
  int64_t phase_first_ = -1;
  std::string current_phase_;
};

std::string format_seconds(double s);

}  // namespace tg::app
