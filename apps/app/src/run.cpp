#include "tg/app/run.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <algorithm>
#include <ctime>
#include <random>
#include <stdexcept>
#include <thread>

#include "tg/app/condition.h"
#include "tg/backend.h"
#include "tg/io/checkpoint.h"
#include "tg/io/csv.h"
#include "tg/io/error.h"
#include "tg/io/fs.h"
#include "tg/io/npy.h"

namespace tg::app {

using tg::io::Json;

static std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == ',') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

static bool ends_with(const std::string& s, const std::string& suf) {
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

bool missing_mask(const Json& o) {
  // Data options of runs from before missing cells lack the key: "error".
  if (!o.contains("missing")) return false;
  const std::string m = o.at("missing").as_string();
  if (m != "error" && m != "mask") throw OptionError("missing", "must be 'error' or 'mask' (got '" + tg::io::printable(m) + "')");
  return m == "mask";
}

void set_categorical_options(tg::io::CsvOptions& co, const Json& o) {
  // Data options of runs from before categorical columns lack these: the defaults.
  if (o.contains("categorical")) co.categorical = split_commas(o.at("categorical").as_string());
  if (o.contains("max_categories")) co.max_categories = o.at("max_categories").as_int64();
}

// The preprocessing options of config.json's data section.
static tg::io::PrepOptions prep_options(const Json& o) {
  tg::io::PrepOptions p;
  p.preset = o.at("preset").as_string();
  p.seq_len = o.at("seq_len").as_int64();
  p.stride = o.at("stride").as_int64();
  p.missing = missing_mask(o);
  return p;
}

// Values that cannot be scaled (non-finite, or a range max - min that overflows a double) are
// refused by the io loaders (io/src/dataset.cpp: check_scalable), naming file and column.
tg::io::Prepared load_data(const Json& o, bool quiet) {
  const std::string data = o.at("data").as_string();
  const tg::io::PrepOptions p = prep_options(o);
  tg::Rng rng(o.at("seed").as_uint64(), 5);  // the data stream: sine generation and the original preset's shuffle
  if ((data == "sine" || ends_with(data, ".npy")) && o.contains("categorical") && !o.at("categorical").as_string().empty())
    throw OptionError("categorical", "applies to a CSV file; " + data + " holds numbers only");
  if ((data == "sine" || ends_with(data, ".npy")) && o.contains("static_columns") && !o.at("static_columns").as_string().empty())
    throw OptionError("static-columns", "applies to a long-format CSV file (--id-column); " + data + " has no per-sequence columns");
  const std::string static_file = o.contains("static_file") ? o.at("static_file").as_string() : std::string();
  if ((data == "sine" || ends_with(data, ".npy")) && !static_file.empty())
    throw OptionError("static", "applies to a long-format CSV file (--id-column); " + data + " has no sequence ids");
  if (!static_file.empty() && o.at("id_column").as_string().empty())
    throw OptionError("static", "needs long-format data (--id-column): the static file gives one row per sequence id");
  // Conditional generation (--condition): a per-sequence column of a long-format CSV.
  const std::string cond = o.contains("condition") ? o.at("condition").as_string() : std::string();
  if (!cond.empty() && (data == "sine" || ends_with(data, ".npy")))
    throw OptionError("condition", "applies to a long-format CSV file (--id-column); " + data + " has no per-sequence columns");
  if (!cond.empty() && o.at("id_column").as_string().empty())
    throw OptionError("condition", "needs a long-format CSV with --id-column (a condition belongs to one sequence)");
  if (data == "sine") {
    tg::io::Windows w = tg::io::sine_data(o.at("sine_n").as_int64(), p.seq_len, o.at("sine_dim").as_int64(), rng);
    return tg::io::prepare(std::move(w), p);
  }
  if (ends_with(data, ".npy")) return tg::io::prepare_npy(tg::io::read_npy(data), p, data);
  tg::io::CsvOptions co;
  co.columns = split_commas(o.at("columns").as_string());
  co.id_column = o.at("id_column").as_string();
  set_categorical_options(co, o);
  // With a static file, --static-columns selects among its columns (else: columns of the data).
  const std::vector<std::string> static_columns =
      o.contains("static_columns") ? split_commas(o.at("static_columns").as_string()) : std::vector<std::string>();
  if (static_file.empty()) co.static_columns = static_columns;
  co.missing = p.missing;
  if (!cond.empty()) {
    for (const auto& s : co.static_columns)
      if (s == cond) throw OptionError("condition", "'" + tg::io::printable(cond) + "' is also a static column; a condition is an input, not generated");
    if (!co.columns.empty() && std::find(co.columns.begin(), co.columns.end(), cond) == co.columns.end())
      co.columns.push_back(cond);  // read it beside the chosen columns
  }
  tg::io::Table t = tg::io::read_csv(data, co);
  if (!static_file.empty()) tg::io::join_statics(t, tg::io::read_static_csv(static_file, co.id_column, static_columns), co.id_column);
  std::vector<double> cond_rows;
  std::vector<std::string> cond_labels;
  if (!cond.empty()) cond_rows = take_condition_column(t, cond, cond_labels);
  if (!quiet) {
    for (const auto& s : t.skipped) std::fprintf(stderr, "note: %s: skipping date/time column '%s'\n", data.c_str(), s.c_str());
    for (const auto& s : t.auto_categorical) {
      size_t labels = 0;
      for (size_t c = 0; c < t.columns.size(); ++c)
        if (t.columns[c] == s) labels = t.categories[c].size();
      std::fprintf(stderr, "note: %s: column '%s' is not numeric: read as categorical (%zu labels)\n", data.c_str(),
                   tg::io::printable(s).c_str(), labels);
    }
  }
  if (cond.empty()) return prepare_table(t, o);
  tg::io::Prepared prep = prepare_table(t, o);
  attach_condition(prep, cond, cond_rows, cond_labels);
  return prep;
}

tg::io::Prepared load_run_data(const Json& data_opts, const std::string& cfg_path, bool quiet) {
  try {
    return load_data(data_opts, quiet);
  } catch (const tg::io::InputError&) {
    throw;  // names its own file (the data)
  } catch (const OptionError& e) {
    throw tg::io::InputError(cfg_path + ": data." + e.option + ": " + e.detail);
  } catch (const std::runtime_error& e) {  // a JSON accessor: wrong type, out of range, missing key
    throw tg::io::InputError(cfg_path + ": data: " + e.what());
  }
}

tg::io::Prepared prepare_table(const tg::io::Table& t, const Json& o) {
  const std::string data = o.at("data").as_string();
  const tg::io::PrepOptions p = prep_options(o);
  tg::Rng rng(o.at("seed").as_uint64(), 5);  // the data stream: the original preset's shuffle
  const std::string id_column = o.at("id_column").as_string();
  tg::io::Prepared prep = tg::io::prepare(t, p, rng);
  // Long format: a sequence of one row has no step-to-step transition, so the supervised loss
  // (which compares step t+1 with the supervisor's prediction from step t) has no terms for it,
  // and a batch of such sequences gives 0/0 = NaN. Refuse it here with its id and line.
  const tg::io::Windows& w = prep.windows;
  for (int64_t i = 0; i < w.n; ++i) {
    if (w.length(i) >= 2) continue;
    int64_t short_count = 0;
    for (int64_t k = 0; k < w.n; ++k) short_count += w.length(k) < 2;
    std::string where = data;
    if (static_cast<size_t>(i) < prep.first_row.size()) {
      const auto row = static_cast<size_t>(prep.first_row[static_cast<size_t>(i)]);
      if (row < t.line_of_row.size()) where += ":" + std::to_string(t.line_of_row[row]);
    }
    const std::string id = static_cast<size_t>(i) < prep.ids.size() ? prep.ids[static_cast<size_t>(i)] : std::to_string(i);
    throw tg::io::InputError(where + ": sequence '" + id + "' has " + std::to_string(w.length(i)) +
                             " row; every sequence needs at least 2 rows (" + std::to_string(short_count) + " of " +
                             std::to_string(w.n) + " sequences have fewer; is --id-column '" + id_column +
                             "' the right column?)");
  }
  return prep;
}

namespace {
std::string host_name() {
  char b[256] = {};
  return ::gethostname(b, sizeof b - 1) == 0 && b[0] ? std::string(b) : std::string("?");
}

// The holder line of a lock file (at most 1 KiB of it; an empty string when there is none).
std::string read_holder(int fd) {
  char b[1024];
  const ssize_t got = ::pread(fd, b, sizeof b, 0);
  std::string s = got > 0 ? std::string(b, static_cast<size_t>(got)) : std::string();
  const size_t nl = s.find('\n');
  return tg::io::printable(nl == std::string::npos ? s : s.substr(0, nl));
}

// The value of `key=` in a holder line ("pid=12 host=h started=... what=train"); "?" if absent.
std::string holder_field(const std::string& line, const std::string& key) {
  const std::string k = key + "=";
  for (size_t from = 0; from < line.size();) {
    size_t end = line.find(' ', from);
    if (end == std::string::npos) end = line.size();
    if (line.compare(from, k.size(), k) == 0) return line.substr(from + k.size(), end - from - k.size());
    from = end + 1;
  }
  return "?";
}

std::string describe_holder(const std::string& line) {
  if (line.empty()) return "another process";
  return "timegan " + holder_field(line, "what") + " (pid " + holder_field(line, "pid") + " on host " +
         holder_field(line, "host") + ", since " + holder_field(line, "started") + ")";
}
}  // namespace

std::string RunLock::path_of(const std::string& dir) { return join_path(dir, ".timegan.lock"); }

RunLock::RunLock(const std::string& dir, const std::string& what, bool quiet) {
  const std::string p = path_of(dir);
  const int fd = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) throw tg::io::OutputError(p + ": cannot open the run directory's lock file: " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int e = errno;
    const std::string holder = read_holder(fd);
    ::close(fd);
    if (e == EWOULDBLOCK)
      throw RunBusy(dir + ": the run directory is in use by " + describe_holder(holder) +
                    "; a run has one writer at a time: wait for it to end or stop it");
    if (e == ENOLCK || e == EOPNOTSUPP || e == ENOSYS || e == EINVAL) {
      if (!quiet)
        std::fprintf(stderr, "note: %s: the file system does not support locks (%s); the run is not protected against a "
                     "second writer: make sure no other process writes to it\n", dir.c_str(), std::strerror(e));
      return;
    }
    throw tg::io::OutputError(p + ": cannot lock the run directory: " + std::strerror(e));
  }
  const std::string before = read_holder(fd);
  if (!before.empty() && !quiet)
    std::fprintf(stderr, "note: %s: the previous writer, %s, ended without releasing the run directory; taking it over\n",
                 dir.c_str(), describe_holder(before).c_str());
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char started[32];
  std::strftime(started, sizeof started, "%Y-%m-%dT%H:%M:%SZ", &utc);
  const std::string line = "pid=" + std::to_string(static_cast<long long>(::getpid())) + " host=" + host_name() +
                           " started=" + started + " what=" + what + "\n";
  // The holder line is information for a second writer's message; failing to write it (a full
  // disk) does not weaken the lock.
  if (::ftruncate(fd, 0) == 0) (void)!::pwrite(fd, line.data(), line.size(), 0);
  fd_ = fd;
}

RunLock::~RunLock() { release(); }

RunLock::RunLock(RunLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }

RunLock& RunLock::operator=(RunLock&& o) noexcept {
  if (this != &o) {
    release();
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

void RunLock::release() {
  if (fd_ < 0) return;
  (void)!::ftruncate(fd_, 0);  // still locked here: an empty file means "released cleanly"
  ::close(fd_);                // drops the flock
  fd_ = -1;
}

std::string new_run_id() {
  std::random_device rd;
  const uint64_t a = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  const uint64_t b = static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count()) ^
                     (static_cast<uint64_t>(::getpid()) << 40);
  char s[17];
  std::snprintf(s, sizeof s, "%016llx", static_cast<unsigned long long>(a ^ (b * 0x9e3779b97f4a7c15ull)));
  return s;
}

std::string join_path(const std::string& dir, const std::string& file) {
  if (dir.empty()) return file;
  return dir.back() == '/' ? dir + file : dir + "/" + file;
}

void check_same_run(const std::string& dir, const Json& config, const Json& ckpt_extra) {
  auto id_of = [](const Json& j) { return j.is_object() && j.contains("run_id") ? j.at("run_id").as_string() : std::string(); };
  const std::string id = id_of(config);
  auto refuse = [&](const std::string& file, const std::string& other) {
    throw tg::io::InputError(dir + ": config.json and " + file + " come from different runs (run id " +
                             (id.empty() ? std::string("none") : tg::io::printable(id)) + " against " +
                             (other.empty() ? std::string("none") : tg::io::printable(other)) +
                             "): two processes wrote the directory, or it was copied in part; train it again "
                             "(--overwrite)");
  };
  if (id_of(ckpt_extra) != id) refuse("model.ckpt", id_of(ckpt_extra));
  const std::string sp = join_path(dir, "summary.json");
  if (!id.empty() && tg::io::file_exists(sp)) {
    const Json summary = Json::parse(tg::io::read_file(sp, 1 << 20), sp);
    if (id_of(summary) != id) refuse("summary.json", id_of(summary));
  }
}

void check_run_format(const Json& config, const std::string& cfg_path) {
  if (!config.is_object()) throw tg::io::InputError(cfg_path + ": not a JSON object");
  if (config.contains("format") && !(config.at("format").is_string() && config.at("format").as_string() == kRunFormat))
    throw tg::io::InputError(cfg_path + ": format " + tg::io::printable(config.at("format").dump(0)) + " is not " +
                             kRunFormat + ", the run format this version reads (a run of a newer version?)");
}

namespace {
// config.json's output map against its model and data, as written by train: a hand-edited or
// truncated one would otherwise map generated values to the wrong columns or scale. A CSV's
// values are scaled from its units (sine and NPY windows are used as they are).
void check_output_map(const Json& config, const tg::models::TimeGanConfig& m, const tg::io::OutputMap& map) {
  const Json* data = config.find("data");
  const std::string src = data && data->is_object() && data->contains("data") && data->at("data").is_string()
                              ? data->at("data").as_string() : std::string();
  const bool csv = !src.empty() && src != "sine" && !ends_with(src, ".npy");
  map.check(m.features, m.static_features, csv);
}
}  // namespace

LoadedRun load_run(const std::string& dir) {
  LoadedRun r;
  const std::string cfg_path = join_path(dir, "config.json");
  if (const std::string why = tg::io::not_a_file_reason(cfg_path); !why.empty())
    throw tg::io::InputError(cfg_path + ": cannot read: " + why);
  if (!tg::io::file_exists(cfg_path))
    throw tg::io::InputError(dir + ": not a timegan run directory (no config.json)");
  r.config = Json::parse(tg::io::read_file(cfg_path), cfg_path);
  check_run_format(r.config, cfg_path);
  try {
    r.model_cfg = tg::models::TimeGanConfig::from_json(r.config.at("model"));
    r.map = tg::io::OutputMap::from_json(r.config.at("output_map"));
    check_output_map(r.config, r.model_cfg, r.map);
  } catch (const tg::io::InputError& e) {
    const std::string m = e.what();
    if (m.compare(0, cfg_path.size(), cfg_path) == 0) throw;
    throw tg::io::InputError(cfg_path + ": " + m);  // named after the file, as every message
  } catch (const std::exception& e) {
    throw tg::io::InputError(cfg_path + ": " + e.what());
  }
  const std::string ck = join_path(dir, "model.ckpt");
  if (const std::string why = tg::io::not_a_file_reason(ck); !why.empty())
    throw tg::io::InputError(ck + ": cannot read: " + why);
  if (!tg::io::file_exists(ck)) throw tg::io::InputError(dir + ": no model.ckpt (training never checkpointed)");
  r.ckpt = tg::io::load_checkpoint(ck);
  const Json meta = Json::parse(r.ckpt.meta_json, ck + " (meta)");
  check_same_run(dir, r.config, meta.is_object() && meta.contains("extra") ? meta.at("extra") : Json::object());
  return r;
}

tg::io::Windows generate_from_run(const LoadedRun& run, const std::string& dir, int64_t n, uint64_t seed,
                                  tg::Device device, bool sample_labels) {
  return generate_from_run(run, dir, n, seed, device, {}, {}, sample_labels);
}

tg::io::Windows generate_from_run(const LoadedRun& run, const std::string& dir, int64_t n, uint64_t seed,
                                  tg::Device device, const std::vector<std::string>& conditions,
                                  const std::vector<std::string>& where, bool sample_labels) {
  const Condition cond = condition_of(run.map, join_path(dir, "config.json"));
  if (!conditions.empty() && !cond.defined())
    throw tg::io::InputError(dir + ": the model was trained without a condition (--condition); it cannot generate for one");
  if (cond.defined() != (run.model_cfg.condition_dim > 0) || (cond.defined() && cond.width() != run.model_cfg.condition_dim))
    throw tg::io::InputError(join_path(dir, "config.json") + ": the model's condition_dim and output_map.condition disagree");
  // Conditions first, so that a bad value is refused before the model is built.
  std::vector<double> c;
  std::vector<std::string> texts;
  if (cond.defined()) {
    if (conditions.empty()) {
      c = cond.draw(n, seed, texts);
    } else {
      n = static_cast<int64_t>(conditions.size());
      for (size_t i = 0; i < conditions.size(); ++i) {
        cond.encode(conditions[i], c, i < where.size() ? where[i] : std::string("condition"));
        // In the data's units: the label, or the number as read.
        texts.push_back(cond.categorical ? cond.text(c.data() + static_cast<std::ptrdiff_t>(i) * cond.width())
                                         : tg::io::format_double(std::strtod(conditions[i].c_str(), nullptr)));
      }
    }
  }
  tg::models::TimeGanConfig cfg = run.model_cfg;
  cfg.device = device;
  cfg.iterations = 1;  // generation only; the phase counters come from the checkpoint
  tg::models::TimeGan model(cfg);
  model.load_checkpoint(run.ckpt);
  check_finite_model(model, dir);
  tg::io::Windows syn = cond.defined() ? model.generate(n, seed, c) : model.generate(n, seed);
  syn.columns = run.map.columns;
  tg::Rng label_rng(seed, kStreamCategorical);
  run.map.model_to_original(syn, sample_labels ? &label_rng : nullptr);
  if (cond.defined()) {
    syn.condition_column = cond.column;
    syn.condition_text = std::move(texts);
  }
  return syn;
}

tg::Device parse_device(const std::string& d) {
  if (d == "cpu") return tg::Device::CPU;
  if (d != "cuda") throw OptionError("device", "'" + d + "' is not one of cpu, cuda");
  std::string why;
  if (!tg::cuda_available(&why)) throw std::runtime_error("device cuda is not usable: " + why);
  return tg::Device::CUDA;
}

void apply_threads(int64_t th, bool quiet) {
  if (th < 0 || th > 1024) throw OptionError("threads", "value " + std::to_string(th) + " out of range [0, 1024]");
  if (th == 0) return;
  const int64_t hw = static_cast<int64_t>(std::thread::hardware_concurrency());
  if (hw > 0 && th > hw) {
    if (!quiet)
      std::fprintf(stderr, "note: --threads %lld is more than the %lld hardware threads of this machine; using %lld\n",
                   static_cast<long long>(th), static_cast<long long>(hw), static_cast<long long>(hw));
    th = hw;
  }
  tg::set_num_threads(static_cast<int>(th));
}

namespace {
// Bytes of memory available to this process: MemAvailable of /proc/meminfo, else the
// physical memory; 0 when unknown.
// Bytes of memory available to this process: MemAvailable of /proc/meminfo (else the physical
// memory), lowered to what the process's limits leave: the address-space limit (ulimit -v) less
// the address space in use, and a cgroup v2 memory.max less memory.current; 0 when unknown.
double available_memory_bytes() {
  double avail = 0;
  {
    std::ifstream f("/proc/meminfo");
    std::string key, unit;
    double kb = 0;
    while (f >> key >> kb >> unit)
      if (key == "MemAvailable:") {
        avail = kb * 1024.0;
        break;
      }
  }
  if (avail <= 0) {
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    avail = pages > 0 && page > 0 ? static_cast<double>(pages) * static_cast<double>(page) : 0.0;
  }
  auto lower_to = [&](double room) {
    if (room < 0) room = 0;
    if (avail <= 0 || room < avail) avail = room;
  };
  rlimit rl{};
  if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
    std::ifstream f("/proc/self/status");
    std::string line;
    double vm_kb = 0;
    while (std::getline(f, line))
      if (line.compare(0, 7, "VmSize:") == 0) vm_kb = std::atof(line.c_str() + 7);
    lower_to(static_cast<double>(rl.rlim_cur) - vm_kb * 1024.0);
  }
  std::ifstream cg_max("/sys/fs/cgroup/memory.max"), cg_cur("/sys/fs/cgroup/memory.current");
  std::string max_text;
  double cur = 0;
  if (cg_max >> max_text && max_text != "max" && cg_cur >> cur) lower_to(std::atof(max_text.c_str()) - cur);
  return avail;
}

std::string format_bytes(double b) {
  const char* units[] = {"bytes", "KB", "MB", "GB", "TB", "PB"};
  int u = 0;
  while (b >= 1024.0 && u < 5) b /= 1024.0, ++u;
  char buf[48];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", b, units[u]);
  return buf;
}
}  // namespace

void check_output_memory(const std::string& option, int64_t n, int64_t seq, int64_t dim, bool csv) {
  const double values = static_cast<double>(n) * static_cast<double>(seq) * static_cast<double>(dim);
  // The windows as doubles, the generator's float output per chunk (small), and the file's
  // text (about 20 bytes per value plus the id and step columns) or its float32 copy.
  const double need = 8.0 * values + (csv ? 20.0 * values + 12.0 * static_cast<double>(n) * static_cast<double>(seq)
                                          : 4.0 * values);
  const double avail = available_memory_bytes();
  if (avail > 0 && need > avail)
    throw OptionError(option, std::to_string(n) + " sequences of " + std::to_string(seq) + " steps x " + std::to_string(dim) +
                       " features need about " + format_bytes(need) + " of memory, more than the " +
                       format_bytes(avail) + " available; ask for fewer (several calls with different seeds)");
}

double training_memory_bytes(const tg::models::TimeGanConfig& c, int64_t windows) {
  const double T = static_cast<double>(c.seq_len), B = static_cast<double>(std::min(c.batch, windows));
  const double H = static_cast<double>(c.hidden), L = static_cast<double>(c.layers);
  const double d = static_cast<double>(c.features + c.noise_dim() + c.static_features + c.condition_dim);
  // Per (step, sequence) row of a batch: the five networks' saved activations and their
  // gradients through the three phases, about 45 floats per hidden unit and layer and 45 per
  // hidden unit besides, plus the data-width tensors. Fitted to the peak resident memory of
  // `timegan train --iterations 1` on the CPU for T = 500..4,000, H = 4..96, B = 64..128,
  // L = 3..6, where it is 5-17 % above it (bench/results/memory-estimate-2026-12-07.md);
  // 256 MB for the program and its buffers.
  const double per_row = 4.0 * (H * (45.0 * L + 45.0) + 30.0 * d + 50.0);
  const double params = 16.0 * static_cast<double>(c.parameter_bound());  // weights, gradients, 2 Adam moments
  const double data = 8.0 * 3.0 * static_cast<double>(windows) * T * static_cast<double>(c.features);
  return 256.0 * 1024 * 1024 + T * B * per_row + params + data;
}

void check_training_memory(const tg::models::TimeGanConfig& c, int64_t windows) {
  const double need = training_memory_bytes(c, windows), avail = available_memory_bytes();
  if (avail <= 0 || need <= avail) return;
  // Named after the size furthest above its default.
  const std::pair<const char*, double> drivers[] = {
      {"seq-len", static_cast<double>(c.seq_len) / 24.0},
      {"batch-size", static_cast<double>(std::min(c.batch, windows)) / 128.0},
      {"hidden-dim", static_cast<double>(c.hidden) / 24.0},
      {"num-layers", static_cast<double>(c.layers) / 3.0}};
  const auto* top = &drivers[0];
  for (const auto& dr : drivers)
    if (dr.second > top->second) top = &dr;
  throw OptionError(top->first, "training " + std::to_string(c.seq_len) + " steps x " +
                                    std::to_string(std::min(c.batch, windows)) + " sequences a batch at hidden " +
                                    std::to_string(c.hidden) + " x " + std::to_string(c.layers) +
                                    " layers needs about " + format_bytes(need) + " of memory, more than the " +
                                    format_bytes(avail) + " available; lower --seq-len, --batch-size, --hidden-dim or "
                                    "--num-layers");
}

void check_finite_model(const tg::models::TimeGan& model, const std::string& dir) {
  const std::string bad = model.first_nonfinite_tensor();
  if (!bad.empty())
    throw tg::io::InputError(join_path(dir, "model.ckpt") + ": tensor '" + bad +
                             "' holds NaN or infinite values (the run diverged); retrain, e.g. with a smaller --lr");
}

int remove_stale_temp_files(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (!d) return 0;
  std::vector<std::string> stale;
  while (const dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    const auto t = name.find(".tmp.");
    if (t == std::string::npos) continue;
    bool ours = false;  // only the files train writes
    for (const char* f : {"config.json", "model.ckpt", "losses.csv", "summary.json", "synthetic.csv"})
      ours = ours || name.compare(0, t, f) == 0;
    if (!ours) continue;
    // <file>.tmp.<pid>.<counter>, as tg::io::atomic_write names them.
    const std::string rest = name.substr(t + 5);
    const auto dot = rest.find('.');
    if (dot == std::string::npos || dot == 0) continue;
    const std::string pid_text = rest.substr(0, dot);  // named: `end` points into it
    char* end = nullptr;
    const long pid = std::strtol(pid_text.c_str(), &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    if (pid != static_cast<long>(getpid()) && kill(static_cast<pid_t>(pid), 0) == 0) continue;  // still being written
    if (pid != static_cast<long>(getpid()) && errno != ESRCH) continue;
    stale.push_back(name);
  }
  closedir(d);
  int removed = 0;
  for (const auto& n : stale) removed += std::remove(join_path(dir, n).c_str()) == 0;
  return removed;
}

std::string format_seconds(double s) {
  char b[64];
  if (s < 60) std::snprintf(b, sizeof b, "%.1fs", s);
  else if (s < 3600) std::snprintf(b, sizeof b, "%dm%02ds", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  else std::snprintf(b, sizeof b, "%dh%02dm", static_cast<int>(s) / 3600, (static_cast<int>(s) % 3600) / 60);
  return b;
}

Progress::Progress(bool quiet, int64_t every) : quiet_(quiet), tty_(isatty(fileno(stderr)) != 0), every_(every) {}

void Progress::update(const tg::models::StepLosses& l, int64_t done, int64_t total) {
  if (quiet_) return;
  const auto now = std::chrono::steady_clock::now();
  const std::string ph = tg::models::phase_name(l.phase);
  if (ph != current_phase_) {
    current_phase_ = ph;
    phase_start_ = now;
    phase_first_ = done - 1;
    last_draw_ = now - std::chrono::seconds(1);
  }
  const double el = std::chrono::duration<double>(now - phase_start_).count();
  const double rate = el > 0 ? static_cast<double>(done - phase_first_) / el : 0.0;
  const double eta = rate > 0 ? static_cast<double>(total - done) / rate : 0.0;
  const std::string eta_s = rate > 0 ? format_seconds(eta) : std::string("--");
  char losses[160];
  if (l.phase == tg::models::Phase::Embedding)
    std::snprintf(losses, sizeof losses, "e_loss_t0 %.4f", l.e_loss_t0);
  else if (l.phase == tg::models::Phase::Supervised)
    std::snprintf(losses, sizeof losses, "g_loss_s %.5f", l.g_loss_s);
  else
    std::snprintf(losses, sizeof losses, "d %.3f g_u %.3f g_s %.4f g_v %.4f e_t0 %.4f", l.d_loss, l.g_loss_u,
                  std::sqrt(l.g_loss_s), l.g_loss_v, std::sqrt(l.e_loss_t0));
  if (tty_) {
    if (std::chrono::duration<double>(now - last_draw_).count() < 0.1 && done != total) return;
    last_draw_ = now;
    const int width = 24;
    const int fill = total > 0 ? static_cast<int>(width * done / total) : width;
    std::string bar(static_cast<size_t>(fill), '#');
    bar.resize(width, '.');
    std::fprintf(stderr, "\r\033[K%-10s %7lld/%-7lld [%s] %6.1f it/s ETA %-7s %s", ph.c_str(),
                 static_cast<long long>(done), static_cast<long long>(total), bar.c_str(), rate, eta_s.c_str(),
                 losses);
    std::fflush(stderr);
  } else if (done % every_ == 0 || done == total) {
    std::fprintf(stderr, "%s %lld/%lld  %.1f it/s  ETA %s  %s\n", ph.c_str(), static_cast<long long>(done),
                 static_cast<long long>(total), rate, eta_s.c_str(), losses);
  }
}

void Progress::finish_phase(const char* phase, double seconds, int64_t iters) {
  if (quiet_) return;
  if (tty_) std::fputs("\n", stderr);
  std::fprintf(stderr, "%s phase: %lld iterations in %s (%.2f ms/iteration)\n", phase, static_cast<long long>(iters),
               format_seconds(seconds).c_str(), iters ? 1000.0 * seconds / static_cast<double>(iters) : 0.0);
  current_phase_.clear();
}

void Progress::break_line() {
  if (!quiet_ && tty_ && !current_phase_.empty()) std::fputs("\n", stderr);
}

}  // namespace tg::app
