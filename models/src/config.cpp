// TimeGanConfig: validation with upper limits, and its JSON form (config.json "model", the
// checkpoint's config). Kept apart from the model so that it needs only the io library and
// tg/rnn_spec (the config.json fuzz target builds it on its own).
#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>

#include "tg/io/error.h"
#include "tg/models/timegan.h"

namespace tg::models {

namespace {
// The names tg::dtype_name / tg::device_name give.
const char* dtype_str(DType t) { return t == DType::F64 ? "float64" : "float32"; }
const char* device_str(Device d) { return d == Device::CUDA ? "cuda" : "cpu"; }
}  // namespace

void TimeGanConfig::validate() const {
  auto bad = [](const std::string& m) { throw std::invalid_argument(m); };
  if (features < 1) bad("features must be >= 1 (got " + std::to_string(features) + ")");
  if (seq_len < 2) bad("seq_len must be >= 2 (got " + std::to_string(seq_len) + ")");
  if (hidden < 1) bad("hidden_dim must be >= 1 (got " + std::to_string(hidden) + ")");
  if (layers < 2)
    bad("num_layers must be >= 2: the supervisor has num_layers - 1 layers (got " + std::to_string(layers) + ")");
  if (batch < 1) bad("batch_size must be >= 1 (got " + std::to_string(batch) + ")");
  if (iterations < 0) bad("iterations must be >= 0 (got " + std::to_string(iterations) + ")");
  if (z_dim < 0) bad("z_dim must be >= 0 (got " + std::to_string(z_dim) + ")");
  auto at_most = [&](const char* name, int64_t v, int64_t limit) {
    if (v > limit) bad(std::string(name) + " must be at most " + std::to_string(limit) + " (got " + std::to_string(v) + ")");
  };
  at_most("seq_len", seq_len, kMaxSeqLen);
  at_most("features", features, kMaxFeatures);
  at_most("z_dim", z_dim, kMaxZDim);
  at_most("hidden_dim", hidden, kMaxHidden);
  at_most("num_layers", layers, kMaxLayers);
  at_most("batch_size", batch, kMaxBatch);
  at_most("iterations", iterations, kMaxIterations);
  const int64_t params = parameter_bound();
  if (params > kMaxParameters)
    bad("hidden_dim " + std::to_string(hidden) + " x num_layers " + std::to_string(layers) + " with " +
        std::to_string(features) + " features gives about " + std::to_string(params) +
        " parameters, more than the limit of " + std::to_string(kMaxParameters));
  const int64_t widest = std::max({hidden, features, noise_dim()});
  const int64_t act = batch * seq_len * widest;  // < 2^63: each factor is bounded above
  if (act > kMaxActivations)
    bad("batch_size " + std::to_string(batch) + " x seq_len " + std::to_string(seq_len) + " x width " +
        std::to_string(widest) + " = " + std::to_string(act) + " values per layer, more than the limit of " +
        std::to_string(kMaxActivations));
  int64_t cat = 0;
  for (int64_t k : categorical) {
    if (k < 1 || k > kMaxFeatures) bad("categorical: a block width must be in [1, " + std::to_string(kMaxFeatures) + "]");
    cat += k;
    if (cat >= features)
      bad("categorical: the one-hot blocks (" + std::to_string(cat) + "+ features) leave no numeric feature of " +
          std::to_string(features));
  }
  if (static_features < 0) bad("static_features must be >= 0 (got " + std::to_string(static_features) + ")");
  at_most("static_features", static_features, kMaxFeatures);
  if (condition_dim < 0) bad("condition_dim must be >= 0 (got " + std::to_string(condition_dim) + ")");
  at_most("condition_dim", condition_dim, kMaxFeatures);
  if (!(gamma >= 0) || !std::isfinite(gamma)) bad("gamma must be a finite number >= 0");
  if (!std::isfinite(d_threshold)) bad("d_threshold must be finite");
  if (!(adam.lr > 0) || !std::isfinite(adam.lr)) bad("adam lr must be a finite number > 0");
  if (!(adam.beta1 >= 0 && adam.beta1 < 1)) bad("adam beta1 must be in [0, 1)");
  if (!(adam.beta2 >= 0 && adam.beta2 < 1)) bad("adam beta2 must be in [0, 1)");
  if (!(adam.eps > 0) || !std::isfinite(adam.eps)) bad("adam eps must be a finite number > 0");
}

int64_t TimeGanConfig::numeric_features() const {
  int64_t n = features;
  for (int64_t k : categorical) n -= k;
  return n;
}

int64_t TimeGanConfig::parameter_bound() const {
  // Per network: `layers` cells of 4 gates over [input; hidden] plus biases, and an output
  // layer; the widest input stands in for every network's.
  const int64_t in = std::max({hidden, features, noise_dim(), int64_t{1}});
  const int64_t cell = 4 * hidden * (in + hidden + 2);
  const int64_t out = (hidden + 1) * in;
  const int64_t stat = static_features > 0 ? 4 * (static_features + 1) * (hidden + 1) : 0;  // the four dense maps
  // The condition widens the first layer of three networks and two static maps.
  const int64_t cond = condition_dim > 0 ? 5 * 4 * hidden * condition_dim : 0;
  return 5 * (layers * cell + out) + stat + cond;
}

io::Json TimeGanConfig::to_json() const {
  io::Json j = io::Json::object();
  j["seq_len"] = static_cast<long long>(seq_len);
  j["features"] = static_cast<long long>(features);
  j["z_dim"] = static_cast<long long>(noise_dim());
  j["hidden_dim"] = static_cast<long long>(hidden);
  j["num_layers"] = static_cast<long long>(layers);
  j["batch_size"] = static_cast<long long>(batch);
  j["iterations"] = static_cast<long long>(iterations);
  j["cell"] = cell_name(cell);
  j["gamma"] = gamma;
  j["d_threshold"] = d_threshold;
  j["adam"] = io::Json::object();
  j["adam"]["lr"] = adam.lr;
  j["adam"]["beta1"] = adam.beta1;
  j["adam"]["beta2"] = adam.beta2;
  j["adam"]["eps"] = adam.eps;
  j["adam"]["form"] = adam.form == AdamOptions::Form::Tf1 ? "tf1" : "pytorch";
  j["seed"] = static_cast<unsigned long long>(seed);
  j["dtype"] = dtype_str(dtype);
  j["device"] = device_str(device);
  if (!categorical.empty()) {  // absent without categorical columns (as before they existed)
    std::vector<double> b(categorical.begin(), categorical.end());
    j["categorical"] = io::Json::from_doubles(b);
  }
  if (missing_mask) j["missing"] = "mask";
  if (condition_dim > 0) j["condition_dim"] = static_cast<long long>(condition_dim);  // absent without a condition
  if (static_features > 0) j["static_features"] = static_cast<long long>(static_features);  // absent without statics  // absent by default (as before missing cells existed)
  return j;
}

TimeGanConfig TimeGanConfig::from_json(const io::Json& j) {
  TimeGanConfig c;
  c.seq_len = j.at("seq_len").as_int64();
  c.features = j.at("features").as_int64();
  c.z_dim = j.at("z_dim").as_int64();
  c.hidden = j.at("hidden_dim").as_int64();
  c.layers = j.at("num_layers").as_int64();
  c.batch = j.at("batch_size").as_int64();
  c.iterations = j.at("iterations").as_int64();
  try {
    c.cell = parse_cell(j.at("cell").as_string());
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(io::printable(e.what()));
  }
  auto one_of = [](const std::string& field, const std::string& v, std::initializer_list<const char*> allowed) {
    std::string list;
    for (const char* a : allowed) {
      if (v == a) return;
      list += (list.empty() ? "" : ", ") + std::string(a);
    }
    throw std::invalid_argument(field + " must be one of " + list + " (got '" + io::printable(v) + "')");
  };
  c.gamma = j.at("gamma").as_double();
  c.d_threshold = j.at("d_threshold").as_double();
  const io::Json& a = j.at("adam");
  c.adam.lr = a.at("lr").as_double();
  c.adam.beta1 = a.at("beta1").as_double();
  c.adam.beta2 = a.at("beta2").as_double();
  c.adam.eps = a.at("eps").as_double();
  one_of("adam form", a.at("form").as_string(), {"tf1", "pytorch"});
  c.adam.form = a.at("form").as_string() == "pytorch" ? AdamOptions::Form::PyTorch : AdamOptions::Form::Tf1;
  c.seed = j.at("seed").as_uint64();
  one_of("dtype", j.at("dtype").as_string(), {dtype_str(DType::F32), dtype_str(DType::F64)});
  c.dtype = j.at("dtype").as_string() == dtype_str(DType::F64) ? DType::F64 : DType::F32;
  one_of("device", j.at("device").as_string(), {"cpu", "cuda"});
  c.device = j.at("device").as_string() == "cuda" ? Device::CUDA : Device::CPU;
  if (j.contains("categorical")) {
    const auto& items = j.at("categorical").items();
    if (static_cast<int64_t>(items.size()) >= c.features)
      throw std::invalid_argument("categorical: more blocks than features");
    for (const auto& b : items) c.categorical.push_back(b.as_int64());
  }
  if (j.contains("missing")) {
    one_of("missing", j.at("missing").as_string(), {"error", "mask"});
    c.missing_mask = j.at("missing").as_string() == "mask";
  }
  if (j.contains("static_features")) c.static_features = j.at("static_features").as_int64();
  if (j.contains("condition_dim")) c.condition_dim = j.at("condition_dim").as_int64();
  c.validate();
  return c;
}

TimeGanConfig TimeGanConfig::from_json(const io::Json& j, const std::string& source) {
  try {
    return from_json(j);
  } catch (const io::InputError&) {
    throw;
  } catch (const std::exception& e) {
    throw io::InputError(source + ": model configuration: " + e.what());
  }
}

std::string TimeGanConfig::mismatch(const TimeGanConfig& o) const {
  auto diff = [](const char* what, auto a, auto b) {
    std::ostringstream s;
    s << what << " " << a << " (checkpoint) vs " << b << " (requested)";
    return s.str();
  };
  if (features != o.features) return diff("features", features, o.features);
  if (seq_len != o.seq_len) return diff("seq_len", seq_len, o.seq_len);
  if (noise_dim() != o.noise_dim()) return diff("z_dim", noise_dim(), o.noise_dim());
  if (hidden != o.hidden) return diff("hidden_dim", hidden, o.hidden);
  if (layers != o.layers) return diff("num_layers", layers, o.layers);
  if (cell != o.cell) return diff("cell", cell_name(cell), cell_name(o.cell));
  if (dtype != o.dtype) return diff("dtype", dtype_str(dtype), dtype_str(o.dtype));
  if (categorical != o.categorical) {
    auto str = [](const std::vector<int64_t>& v) {
      std::string s = "[";
      for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
      return s + "]";
    };
    return diff("categorical blocks", str(categorical), str(o.categorical));
  }
  if (missing_mask != o.missing_mask)
    return diff("missing", missing_mask ? "mask" : "error", o.missing_mask ? "mask" : "error");
  if (static_features != o.static_features) return diff("static_features", static_features, o.static_features);
  if (condition_dim != o.condition_dim) return diff("condition_dim", condition_dim, o.condition_dim);
  return "";
}

CheckpointPosition checkpoint_position(const io::Json& meta, const TimeGanConfig& saved, const std::string& src) {
  auto corrupt = [&](const std::string& what) {
    return io::InputError(src + ": corrupt checkpoint metadata: " + what);
  };
  CheckpointPosition p;
  try {
    p.phase = meta.at("phase").as_string();
    p.iteration = meta.at("iteration").as_int64();
    p.batch_rng_counter = meta.at("batch_rng_counter").as_uint64();
    p.noise_rng_counter = meta.at("noise_rng_counter").as_uint64();
    for (int k = 0; k < 5; ++k) p.adam_steps[k] = meta.at("adam_steps").at(kOptimizerNames[k]).as_int64();
  } catch (const std::exception& e) {
    throw corrupt(e.what());
  }
  for (int k = 0; k < 5; ++k)
    if (p.adam_steps[k] < 0) throw corrupt(std::string("adam_steps.") + kOptimizerNames[k] + " is negative");
  if (p.phase != "embedding" && p.phase != "supervised" && p.phase != "joint" && p.phase != "done")
    throw corrupt("unknown phase '" + io::printable(p.phase) + "' (embedding, supervised, joint or done)");
  const int64_t last = p.phase == "done" ? 0 : saved.iterations;
  if (p.iteration < 0 || p.iteration > last)
    throw corrupt("iteration " + std::to_string(p.iteration) + " of phase " + p.phase + " is outside [0, " +
                  std::to_string(last) + "] (the run's iterations per phase)");
  return p;
}

}  // namespace tg::models
