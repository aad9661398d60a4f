// timegan._core: the Python binding of the application layer (tg::app), the same code the
// timegan executable runs. The Python package (python/timegan) builds its API on these calls:
// data in memory become the same tg::io::Table / NPY windows the CLI reads from files; training,
// generation and evaluation are tg::app::train, generate_from_run and evaluate, run with the GIL
// released. Options travel as JSON text with the CLI's names and ranges.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <Python.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "tg/app/condition.h"
#include "tg/app/evaluate.h"
#include "tg/app/run.h"
#include "tg/app/train.h"
#include "tg/backend.h"
#include "tg/io/csv.h"
#include "tg/io/error.h"
#include "tg/io/json.h"
#include "tg/io/npy.h"

namespace nb = nanobind;
using tg::io::Json;

namespace {

// Prepared data (model scale, the output map) and the data options they were prepared with.
struct Data {
  tg::io::Prepared prep;
  std::string options;  // config.json "data", as JSON text
};

int64_t integer(const Json& o, const char* key, const char* option, int64_t lo, int64_t hi) {
  const Json& v = o.at(key);
  if (!v.is_integer()) throw tg::app::OptionError(option, "expected an integer");
  const int64_t x = v.as_int64();
  if (x < lo || x > hi)
    throw tg::app::OptionError(option, "value " + std::to_string(x) + " out of range [" + std::to_string(lo) + ", " +
                                           std::to_string(hi) + "]");
  return x;
}

double real(const Json& o, const char* key, const char* option, double lo, double hi) {
  const Json& v = o.at(key);
  if (!v.is_number()) throw tg::app::OptionError(option, "expected a number");
  const double x = v.as_double();
  if (!std::isfinite(x) || x < lo || x > hi) {
    char b[160];
    std::snprintf(b, sizeof b, "value %g out of range [%g, %g]", x, lo, hi);
    throw tg::app::OptionError(option, b);
  }
  return x;
}

// The data options as `timegan train` stores them (config.json "data"), checked with its ranges.
Json data_options(const Json& o) {
  Json j = Json::object();
  j["data"] = o.at("data").as_string();
  j["columns"] = o.at("columns").as_string();
  j["id_column"] = o.at("id_column").as_string();
  j["categorical"] = o.contains("categorical") ? o.at("categorical").as_string() : std::string();
  // Absent when empty, as the CLI stores them.
  if (o.contains("static_columns") && !o.at("static_columns").as_string().empty())
    j["static_columns"] = o.at("static_columns").as_string();
  if (o.contains("static_file") && !o.at("static_file").as_string().empty()) j["static_file"] = o.at("static_file").as_string();
  // Conditional generation: a per-sequence column of long-format data (absent without, as the CLI stores it).
  if (o.contains("condition") && !o.at("condition").as_string().empty()) j["condition"] = o.at("condition").as_string();
  j["max_categories"] =
      static_cast<long long>(o.contains("max_categories") ? integer(o, "max_categories", "max-categories", 1, 100000) : 64);
  const std::string missing = o.contains("missing") ? o.at("missing").as_string() : std::string("error");
  if (missing != "error" && missing != "mask")
    throw tg::app::OptionError("missing", "'" + missing + "' is not one of error, mask");
  j["missing"] = missing;
  const std::string preset = o.at("preset").as_string();
  if (preset != "default" && preset != "original")
    throw tg::app::OptionError("preset", "'" + preset + "' is not one of default, original");
  j["preset"] = preset;
  j["seq_len"] = static_cast<long long>(
      integer(o, "seq_len", "seq-len", o.at("id_column").as_string().empty() ? 2 : 0, 100000));
  j["stride"] = static_cast<long long>(integer(o, "stride", "stride", 1, 1000000));
  j["sine_n"] = static_cast<long long>(integer(o, "sine_n", "sine-n", 1, 100000000));
  j["sine_dim"] = static_cast<long long>(integer(o, "sine_dim", "sine-dim", 1, 100000));
  const Json& seed = o.at("seed");
  if (!seed.is_integer() || seed.as_double() < 0) throw tg::app::OptionError("seed", "expected a non-negative integer");
  j["seed"] = static_cast<unsigned long long>(seed.as_uint64());
  return j;
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s + ",") {
    if (c != ',') {
      cur += c;
    } else if (!cur.empty()) {
      out.push_back(cur);
      cur.clear();
    }
  }
  return out;
}

// The model options of `timegan train`, with its ranges and messages.
tg::models::TimeGanConfig model_config(const Json& o, bool long_format) {
  tg::models::TimeGanConfig cfg;
  cfg.seq_len = integer(o, "seq_len", "seq-len", long_format ? 0 : 2, 100000);
  cfg.hidden = integer(o, "hidden_dim", "hidden-dim", 1, 4096);
  cfg.layers = integer(o, "num_layers", "num-layers", 1, 64);
  if (cfg.layers < 2) throw tg::app::OptionError("num-layers", "must be at least 2: the supervisor has num-layers - 1 layers");
  cfg.batch = integer(o, "batch_size", "batch-size", 1, 1000000);
  cfg.iterations = integer(o, "iterations", "iterations", 1, 100000000);
  cfg.z_dim = integer(o, "z_dim", "z-dim", 0, 100000);
  cfg.gamma = real(o, "gamma", "gamma", 0, 1e6);
  cfg.d_threshold = real(o, "d_threshold", "d-threshold", 0, 1e6);
  cfg.adam.lr = real(o, "lr", "lr", 1e-12, 10);
  const std::string adam = o.at("adam").as_string();
  if (adam != "tf1" && adam != "pytorch") throw tg::app::OptionError("adam", "'" + adam + "' is not one of tf1, pytorch");
  cfg.adam.form = adam == "tf1" ? tg::AdamOptions::Form::Tf1 : tg::AdamOptions::Form::PyTorch;
  try {
    cfg.cell = tg::parse_cell(o.at("cell").as_string());
  } catch (const std::exception& e) {
    throw tg::app::OptionError("cell", e.what());
  }
  const Json& seed = o.at("seed");
  if (!seed.is_integer() || seed.as_double() < 0) throw tg::app::OptionError("seed", "expected a non-negative integer");
  cfg.seed = seed.as_uint64();
  cfg.device = tg::app::parse_device(o.at("device").as_string());
  return cfg;
}

// A bad option names the Python keyword (hidden_dim, not --hidden-dim).
std::string python_name(std::string option) {
  for (char& c : option)
    if (c == '-') c = '_';
  return option;
}

// A Python exception raised inside a hook while the engine works: kept (with the GIL) until the
// engine has stopped, then raised again.
struct PendingError {
  PyObject *type = nullptr, *value = nullptr, *trace = nullptr;
  bool set() const { return type != nullptr; }
  void fetch() { PyErr_Fetch(&type, &value, &trace); }
  [[noreturn]] void raise() {
    PyErr_Restore(type, value, trace);
    type = value = trace = nullptr;
    throw nb::python_error();
  }
  ~PendingError() {  // only reached with the GIL held and an unraised error after a C++ failure
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(trace);
  }
};

nb::dict losses_dict(const tg::models::StepLosses& l) {
  nb::dict d;
  const std::pair<const char*, double> v[] = {{"e_loss_t0", l.e_loss_t0}, {"e_loss0", l.e_loss0}, {"e_loss", l.e_loss},
                                              {"g_loss_s", l.g_loss_s},   {"g_loss_u", l.g_loss_u}, {"g_loss_u_e", l.g_loss_u_e},
                                              {"g_loss_v", l.g_loss_v},   {"g_loss", l.g_loss},     {"d_loss", l.d_loss}};
  for (const auto& [k, x] : v)
    if (!std::isnan(x) || l.phase == tg::models::Phase::Joint) d[k] = x;
  if (l.phase == tg::models::Phase::Joint) d["d_stepped"] = l.d_stepped;
  return d;
}

// n sequences from a run directory. Chosen conditions (docs/conditional.md): `values` (labels
// or numbers as text, never split at commas), each repeated n times in order (as
// generate --condition V1,V2 with --n), their origin in messages "condition"; or with
// `one_each`, one sequence per value (as --condition-file), named "conditions[i]". Without
// values a conditional model draws them from the training distribution.
tg::io::Windows generated(const std::string& dir, int64_t n, uint64_t seed, const std::string& device,
                          const std::string& sampling, const std::vector<std::string>& values, bool one_each) {
  if (sampling != "argmax" && sampling != "sample")
    throw tg::app::OptionError("categorical-sampling", "'" + sampling + "' is not one of argmax, sample");
  if (n < 1 || n > 1000000000) throw tg::app::OptionError("n", "value " + std::to_string(n) + " out of range [1, 1000000000]");
  const tg::Device dev = tg::app::parse_device(device);
  tg::app::LoadedRun run = tg::app::load_run(dir);
  std::vector<std::string> conds, where;
  if (!values.empty()) {
    if (run.model_cfg.condition_dim == 0 && run.map.condition.is_null())
      throw tg::io::InputError(std::string(one_each ? "conditions" : "condition") +
                               ": the model was trained without a condition (TimeGAN(condition=...)); it cannot generate for one");
    if (one_each) {
      if (values.size() > 1000000000) throw tg::app::OptionError("conditions", "more than 1,000,000,000 values");
      conds = values;
      for (size_t i = 0; i < values.size(); ++i) where.push_back("conditions[" + std::to_string(i) + "]");
    } else {
      if (static_cast<double>(values.size()) * static_cast<double>(n) > 1e9)
        throw tg::app::OptionError("n", "n times the number of condition values is more than 1,000,000,000 sequences");
      for (const auto& v : values)
        for (int64_t i = 0; i < n; ++i) conds.push_back(v);
      where.assign(1, "condition");  // generate_from_run names the entries beyond `where` "condition" too
    }
    n = static_cast<int64_t>(conds.size());
  }
  tg::app::check_output_memory("n", n, run.model_cfg.seq_len, run.model_cfg.features, false);
  return tg::app::generate_from_run(run, dir, n, seed, dev, conds, where, sampling == "sample");
}

// An owned vector as a NumPy array without a copy.
template <typename T>
nb::ndarray<nb::numpy, T> to_numpy(std::vector<T>&& v, std::vector<size_t> shape) {
  auto* owned = new std::vector<T>(std::move(v));
  nb::capsule owner(owned, [](void* p) noexcept { delete static_cast<std::vector<T>*>(p); });
  return nb::ndarray<nb::numpy, T>(owned->data(), shape.size(), shape.data(), owner);
}

// Errors: the engine's one-line messages as the natural Python exception.
void register_errors() {
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const tg::app::RunBusy& e) {
      PyErr_SetString(PyExc_BlockingIOError, e.what());
    } catch (const tg::app::OptionError& e) {
      const std::string msg = python_name(e.option) + ": " + e.detail;
      PyErr_SetString(PyExc_ValueError, msg.c_str());
    } catch (const tg::io::InputError& e) {
      const std::string msg = e.what();
      const bool missing = msg.find(": cannot open: No such file or directory") != std::string::npos ||
                           msg.find("not a timegan run directory (no config.json)") != std::string::npos ||
                           msg.find(": no model.ckpt") != std::string::npos;
      PyErr_SetString(missing ? PyExc_FileNotFoundError : PyExc_ValueError, e.what());
    } catch (const tg::io::OutputError& e) {
      PyErr_SetString(PyExc_OSError, e.what());
    } catch (const std::invalid_argument& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const std::bad_alloc&) {
      PyErr_SetString(PyExc_MemoryError, "out of memory (the data or the requested sizes are too large for this machine)");
    } catch (const std::runtime_error& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    }
  });
}

// The run lock and the prepared data's view.
void bind_data(nb::module_& m) {
  nb::class_<tg::app::RunLock>(m, "RunLock",
                               "the one writer of a run directory (an exclusive lock on DIR/.timegan.lock, as "
                               "timegan train holds it); BlockingIOError naming the holder when another has it")
      .def(nb::init<const std::string&, const std::string&, bool>(), nb::arg("dir"), nb::arg("what"), nb::arg("quiet"))
      .def("release", &tg::app::RunLock::release, "unlocks (also done when the object is freed)");

  nb::class_<Data>(m, "Data", "Training or real data, prepared as timegan train prepares them")
      .def_prop_ro("n", [](const Data& d) { return d.prep.windows.n; })
      .def_prop_ro("seq_len", [](const Data& d) { return d.prep.windows.seq; })
      .def_prop_ro("dim", [](const Data& d) { return d.prep.windows.dim; })
      .def_prop_ro("columns", [](const Data& d) { return d.prep.windows.columns; })
      .def_prop_ro("ids", [](const Data& d) { return d.prep.ids; })
      .def_prop_ro("options", [](const Data& d) { return d.options; })
      .def_prop_ro("lengths", [](const Data& d) { return std::vector<int32_t>(d.prep.windows.lengths); })
      .def_prop_ro("static_columns", [](const Data& d) { return d.prep.map.static_columns; })
      .def_prop_ro("condition_column", [](const Data& d) {
        return d.prep.map.condition.is_null() ? std::string() : d.prep.map.condition.at("column").as_string();
      }, "the condition column (empty without)")
      .def_prop_ro("data_columns", [](const Data& d) {
        if (!d.prep.map.order.empty()) return d.prep.map.order;
        std::vector<std::string> out = d.prep.map.columns;
        for (const auto& c : d.prep.map.categorical) out.push_back(c.name);
        return out;
      }, "the columns in the data's units, in the order sample() and generate write them")
      .def_prop_ro("categorical", [](const Data& d) {
        std::vector<std::pair<std::string, std::vector<std::string>>> out;
        for (const auto& c : d.prep.map.categorical) out.emplace_back(c.name, c.labels);
        return out;
      }, "the categorical columns: (name, labels) in the model's order")
      .def("reference_windows", [](const Data& d) {
        const tg::io::Windows& w = d.prep.reference_windows();
        std::vector<double> v = w.data;
        return to_numpy(std::move(v), {size_t(w.n), size_t(w.seq), size_t(w.dim)});
      }, "the windows on the evaluation's scale [n, T, d] (a copy)");
}

// Preparing data: from a file, a table or windows in memory.
void bind_prepare(nb::module_& m) {
  m.def("data_options", [](const std::string& opts) { return data_options(Json::parse(opts, "options")).dump(); },
        nb::arg("options"), "the data options as config.json stores them (checked)");

  m.def(
      "prepare_source",
      [](const std::string& opts, bool quiet) {
        auto d = std::make_unique<Data>();
        const Json o = data_options(Json::parse(opts, "options"));
        d->options = o.dump();
        nb::gil_scoped_release unlocked;
        d->prep = tg::app::load_data(o, quiet);
        return d.release();
      },
      nb::arg("options"), nb::arg("quiet") = false, "data as timegan train --data reads them (a CSV, an NPY file or 'sine')");

  m.def(
      "prepare_table",
      [](nb::ndarray<const double, nb::ndim<2>, nb::c_contig, nb::device::cpu> values, std::vector<std::string> columns,
         std::optional<std::vector<std::string>> ids, const std::string& opts,
         std::optional<std::vector<std::vector<std::string>>> categories,
         std::optional<nb::ndarray<const double, nb::ndim<2>, nb::c_contig, nb::device::cpu>> static_values,
         std::optional<std::vector<std::string>> static_columns, std::optional<std::vector<std::string>> static_ids) {
        const size_t rows = values.shape(0), cols = values.shape(1);
        if (cols != columns.size()) throw std::invalid_argument("prepare_table: columns do not match the values");
        if (ids && ids->size() != rows) throw std::invalid_argument("prepare_table: ids do not match the rows");
        tg::io::check_window_size(static_cast<int64_t>(rows), 1, static_cast<int64_t>(cols), "data");
        auto d = std::make_unique<Data>();
        const Json o = data_options(Json::parse(opts, "options"));
        d->options = o.dump();
        tg::io::Table t;
        t.source = o.at("data").as_string();
        t.columns = std::move(columns);
        t.rows = static_cast<int64_t>(rows);
        t.values.assign(values.data(), values.data() + rows * cols);
        if (ids) t.ids = std::move(*ids);
        const std::string cond_column = o.contains("condition") ? o.at("condition").as_string() : std::string();
        if (categories) {  // label indices in the categorical columns (the labels sorted, as the CSV reader numbers them)
          if (categories->size() != cols) throw std::invalid_argument("prepare_table: categories do not match the columns");
          bool any = false;
          for (size_t c = 0; c < cols; ++c) {
            const auto K = static_cast<double>((*categories)[c].size());
            if (K == 0) continue;
            any = true;
            const bool condition = t.columns[c] == cond_column;  // an empty cell (NaN) is refused with its line below
            for (size_t r = 0; r < rows; ++r) {
              const double v = t.values[r * cols + c];
              if (condition && std::isnan(v)) continue;
              if (!(v >= 0 && v < K) || v != std::floor(v))
                throw std::invalid_argument("prepare_table: column '" + t.columns[c] + "': not a label index");
            }
          }
          if (any) t.categories = std::move(*categories);
        }
        t.line_of_row.resize(rows);
        for (size_t r = 0; r < rows; ++r) t.line_of_row[r] = static_cast<int64_t>(r) + 2;  // as in the frame's CSV
        // Static values: a per-id table (as --static FILE) or columns of this one (--static-columns).
        if (static_values) {
          const size_t srows = static_values->shape(0), scols = static_values->shape(1);
          if (!static_columns || static_columns->size() != scols || !static_ids || static_ids->size() != srows)
            throw std::invalid_argument("prepare_table: the static table's columns or ids do not match its values");
          tg::io::check_window_size(static_cast<int64_t>(srows), 1, static_cast<int64_t>(scols), "static data");
          tg::io::Table st;
          st.source = "static DataFrame";
          st.columns = std::move(*static_columns);
          st.rows = static_cast<int64_t>(srows);
          st.values.assign(static_values->data(), static_values->data() + srows * scols);
          st.ids = std::move(*static_ids);
          for (size_t r = 0; r < srows; ++r) st.line_of_row.push_back(static_cast<int64_t>(r) + 2);
          tg::io::join_statics(t, st, o.at("id_column").as_string());
        } else if (o.contains("static_columns")) {
          tg::io::split_static_columns(t, split_commas(o.at("static_columns").as_string()));
        }
        // The condition column, taken out of the table as load_data takes it out of a CSV.
        const std::string cond = o.contains("condition") ? o.at("condition").as_string() : std::string();
        std::vector<double> cond_rows;
        std::vector<std::string> cond_labels;
        if (!cond.empty()) {
          if (o.contains("static_columns"))
            for (const auto& s : split_commas(o.at("static_columns").as_string()))
              if (s == cond)
                throw tg::app::OptionError("condition", "'" + tg::io::printable(cond) +
                                                            "' is also a static column; a condition is an input, not generated");
          cond_rows = tg::app::take_condition_column(t, cond, cond_labels);
        }
        nb::gil_scoped_release unlocked;
        d->prep = tg::app::prepare_table(t, o);
        if (!cond.empty()) tg::app::attach_condition(d->prep, cond, cond_rows, cond_labels);
        return d.release();
      },
      nb::arg("values"), nb::arg("columns"), nb::arg("ids").none(), nb::arg("options"), nb::arg("categories").none() = nb::none(),
      nb::arg("static_values").none() = nb::none(), nb::arg("static_columns").none() = nb::none(),
      nb::arg("static_ids").none() = nb::none(),
      "a table of rows [rows, d] (wide, or long with one id per row) as timegan train prepares a CSV; static values "
      "from a per-id table (static_values [ids, S], static_columns, static_ids) or the options' static_columns");

  m.def(
      "prepare_windows",
      [](nb::ndarray<const double, nb::ndim<3>, nb::c_contig, nb::device::cpu> w, const std::string& opts) {
        auto d = std::make_unique<Data>();
        const Json o = data_options(Json::parse(opts, "options"));
        d->options = o.dump();
        tg::io::check_window_size(static_cast<int64_t>(w.shape(0)), static_cast<int64_t>(w.shape(1)),
                                  static_cast<int64_t>(w.shape(2)), o.at("data").as_string());
        tg::io::NpyArray a;
        a.shape = {static_cast<int64_t>(w.shape(0)), static_cast<int64_t>(w.shape(1)), static_cast<int64_t>(w.shape(2))};
        a.data.assign(w.data(), w.data() + w.size());
        tg::io::PrepOptions p;
        p.preset = o.at("preset").as_string();
        p.seq_len = o.at("seq_len").as_int64();
        p.stride = o.at("stride").as_int64();
        p.missing = tg::app::missing_mask(o);
        nb::gil_scoped_release unlocked;
        d->prep = tg::io::prepare_npy(std::move(a), p, o.at("data").as_string());
        return d.release();
      },
      nb::arg("windows"), nb::arg("options"), "windows [n, T, d] as timegan train prepares an NPY file");
}

// Training into a run directory.
void bind_train(nb::module_& m) {
  m.def(
      "train",
      [](const std::string& request, Data* data, nb::object hook, nb::object checkpoint_hook) {
        const Json r = Json::parse(request, "request");
        tg::app::TrainRequest req;
        req.dir = r.at("dir").as_string();
        req.resume = r.at("resume").as_bool();
        req.overwrite = true;
        req.quiet = r.at("quiet").as_bool();
        req.max_time = r.at("max_time").as_double();
        req.resume_hint = "fit again (or fit(..., resume=True))";
        tg::app::apply_threads(integer(r, "threads", "threads", 0, 1024), req.quiet);
        if (req.resume) {
          if (r.contains("iterations")) req.iterations = integer(r, "iterations", "iterations", 1, 100000000);
          req.resume_checkpoint_every = integer(r, "checkpoint_every", "checkpoint-every", 0, 1000000000);
          req.resume_sample = 0;
        } else {
          if (!data) throw std::invalid_argument("train: data are needed for a new run");
          const Json opts = Json::parse(data->options, "options");
          req.model = model_config(r.at("model"), !opts.at("id_column").as_string().empty());
          req.data = opts;
          req.checkpoint_every = integer(r, "checkpoint_every", "checkpoint-every", 0, 1000000000);
          req.sample = 0;
        }
        if (data) req.prepared = &data->prep;
        PendingError pending;
        const bool has_hook = !hook.is_none();
        // After every iteration, with the GIL taken briefly: Ctrl-C (PyErr_CheckSignals) and the
        // Python hook (progress, the user's callback). An exception stops training with a
        // checkpoint and is raised once the engine has stopped.
        req.on_step = [&](const tg::models::StepLosses& l, int64_t done, int64_t total) {
          nb::gil_scoped_acquire locked;
          if (pending.set()) return;
          if (PyErr_CheckSignals() != 0) {
            pending.fetch();
            return;
          }
          if (!has_hook) return;
          try {
            hook(tg::models::phase_name(l.phase), done, total, l.iteration, losses_dict(l));
          } catch (nb::python_error& e) {
            e.restore();
            pending.fetch();
          }
        };
        // After each periodic checkpoint (the run directory then holds a resumable state): the
        // Python checkpoint hook, as the step hook (an exception stops training).
        if (!checkpoint_hook.is_none())
          req.on_checkpoint = [&](const char* phase, int64_t iteration) {
            nb::gil_scoped_acquire locked;
            if (pending.set()) return;
            try {
              checkpoint_hook(phase, iteration);
            } catch (nb::python_error& e) {
              e.restore();
              pending.fetch();
            }
          };
        req.stop_requested = [&]() { return pending.set() ? SIGINT : 0; };
        tg::app::TrainResult res;
        {
          nb::gil_scoped_release unlocked;
          res = tg::app::train(req);
        }
        if (pending.set()) pending.raise();
        const char* outcome = res.outcome == tg::app::TrainOutcome::Done      ? "done"
                              : res.outcome == tg::app::TrainOutcome::TimeUp  ? "time_up"
                              : res.outcome == tg::app::TrainOutcome::Stopped ? "stopped"
                                                                              : "diverged";
        return std::make_pair(std::string(outcome), res.message);
      },
      nb::arg("request"), nb::arg("data").none(), nb::arg("hook").none(), nb::arg("checkpoint_hook").none() = nb::none(),
      "trains into request['dir'] as timegan train does; returns (outcome, message)");
}

// Generation and evaluation from a run directory.
void bind_generate_evaluate(nb::module_& m) {
  m.def(
      "generate",
      [](const std::string& dir, int64_t n, uint64_t seed, const std::string& device, const std::string& sampling,
         std::vector<std::string> conditions, bool one_each) {
        tg::io::Windows w;
        {
          nb::gil_scoped_release unlocked;
          w = generated(dir, n, seed, device, sampling, conditions, one_each);
        }
        const size_t sn = size_t(w.n), st = size_t(w.seq), sd = size_t(w.dim);
        std::vector<std::vector<std::string>> cats = w.categories;
        cats.resize(sd);
        const size_t ss = size_t(w.static_dim);
        return nb::make_tuple(to_numpy(std::move(w.data), {sn, st, sd}), std::vector<int32_t>(w.lengths), w.columns, cats,
                              to_numpy(std::move(w.statics), {sn, ss}), w.static_columns, w.condition_column,
                              w.condition_text);
      },
      nb::arg("dir"), nb::arg("n"), nb::arg("seed") = 0, nb::arg("device") = "cpu", nb::arg("categorical_sampling") = "argmax",
      nb::arg("conditions") = std::vector<std::string>(), nb::arg("one_each") = false,
      "n sequences from a run directory, in the data's units, as timegan generate: (windows [n, T, d], lengths, columns, "
      "labels per column: those of a categorical column, whose values are label indices, else empty, static values "
      "[n, S], static columns, the condition column (empty without), each sequence's condition as text). conditions: "
      "n sequences for each value in order (as --condition), or with one_each one per value (as --condition-file)");

  m.def(
      "evaluate",
      [](const std::string& request, Data* real, std::optional<nb::ndarray<const double, nb::ndim<3>, nb::c_contig, nb::device::cpu>> syn,
         const std::string& report_dir,
         std::optional<nb::ndarray<const double, nb::ndim<2>, nb::c_contig, nb::device::cpu>> syn_static,
         std::optional<std::vector<std::string>> syn_conditions) {
        const Json r = Json::parse(request, "request");
        tg::app::EvalRequest req;
        if (real) {
          req.data = Json::parse(real->options, "options");
          req.real = &real->prep;
        }
        req.model_dir = r.at("model_dir").as_string();
        req.synthetic_file = r.at("synthetic_file").as_string();
        req.synthetic_name = r.at("synthetic_name").as_string();
        req.repeats = integer(r, "repeats", "repeats", 1, 1000);
        req.metric_iterations = integer(r, "metric_iterations", "metric-iterations", 1, 100000000);
        req.tsne_iterations = integer(r, "tsne_iterations", "tsne-iterations", 1, 100000);
        const Json& seed = r.at("seed");
        if (!seed.is_integer() || seed.as_double() < 0) throw tg::app::OptionError("seed", "expected a non-negative integer");
        req.seed = seed.as_uint64();
        req.device = tg::app::parse_device(r.at("device").as_string());
        req.quiet = r.at("quiet").as_bool();
        tg::app::apply_threads(integer(r, "threads", "threads", 0, 1024), req.quiet);
        tg::io::Windows sw;
        if (syn) {
          sw.n = static_cast<int64_t>(syn->shape(0));
          sw.seq = static_cast<int64_t>(syn->shape(1));
          sw.dim = static_cast<int64_t>(syn->shape(2));
          tg::io::check_window_size(sw.n, sw.seq, sw.dim, req.synthetic_name);
          sw.data.assign(syn->data(), syn->data() + syn->size());
          req.synthetic = &sw;
          if (syn_static) {  // in the data's units, one row per sequence
            if (static_cast<int64_t>(syn_static->shape(0)) != sw.n)
              throw std::invalid_argument("evaluate: the synthetic static values do not match the sequences");
            sw.static_dim = static_cast<int64_t>(syn_static->shape(1));
            sw.statics.assign(syn_static->data(), syn_static->data() + syn_static->size());
          }
          if (syn_conditions && real) {  // in the data's units (labels or numbers as text), one per sequence
            const tg::app::Condition cond = tg::app::condition_of(real->prep.map, req.synthetic_name);
            if (!cond.defined())
              throw std::invalid_argument("evaluate: synthetic conditions given but the real data have no condition column");
            if (static_cast<int64_t>(syn_conditions->size()) != sw.n)
              throw std::invalid_argument("evaluate: the synthetic conditions do not match the sequences");
            sw.cond_dim = cond.width();
            for (size_t i = 0; i < syn_conditions->size(); ++i)
              cond.encode_unchecked((*syn_conditions)[i], sw.conditions, req.synthetic_name + ": sequence " + std::to_string(i));
          }
        }
        std::string metrics, html;
        {
          nb::gil_scoped_release unlocked;
          // As timegan evaluate: the report's place is tested for writing before the work, and
          // the report is moved into place only when complete (nothing of it when this fails).
          std::optional<tg::app::ReportOutput> report;
          if (!report_dir.empty()) report.emplace(report_dir, "report");
          std::unique_ptr<tg::app::Evaluation> ev = tg::app::evaluate(req);
          metrics = tg::app::metrics_json(ev->result).dump();
          html = tg::app::report_html(ev->result);
          if (report) report->commit(*ev);
        }
        return std::make_pair(metrics, html);
      },
      nb::arg("request"), nb::arg("real").none(), nb::arg("synthetic").none(), nb::arg("report_dir") = "",
      nb::arg("synthetic_static").none() = nb::none(), nb::arg("synthetic_conditions").none() = nb::none(),
      "evaluates as timegan evaluate; returns (metrics.json text, report.html text)");
}

// What the build and the CSV reader can do.
void bind_build_info(nb::module_& m) {
  m.def("looks_like_date", &tg::io::looks_like_date, nb::arg("text"),
        "whether the CSV reader takes this value for a date (its column is skipped)");
  m.def("cuda_available", []() {
    std::string why;
    const bool ok = tg::cuda_available(&why);
    return std::make_pair(ok, why);
  });
  m.def("has_cuda_backend", []() {
    const std::vector<std::string> names = tg::registered_backends();
    return std::find(names.begin(), names.end(), "cuda") != names.end();
  });
  m.def("loss_columns", []() { return tg::models::StepLosses::csv_header(); });
}

}  // namespace

NB_MODULE(_core, m) {
  m.doc() = "The TimeGAN engine's application layer (training, generation, evaluation), as the timegan CLI runs it.";

  register_errors();
  bind_data(m);
  bind_prepare(m);
  bind_train(m);
  bind_generate_evaluate(m);
  bind_build_info(m);
}
