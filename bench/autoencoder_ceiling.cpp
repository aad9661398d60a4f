// autoencoder_ceiling: the autoencoder reconstruction r(e(X)) of every real training window of a
// trained run, in the data's units, as an NPY file that `timegan evaluate --synthetic` scores.
//
//   autoencoder_ceiling --model RUN_DIR --out RECON.npy [--real-out REAL.npy] [--data PATH]
//                       [--threads N] [--chunk N]
//
// Why: the generator produces latent sequences that the recovery network maps to data; the
// recovery can only produce what r(e(.)) reaches. Scoring r(e(X)) of the real windows against the
// real windows bounds what any generator could achieve with this embedder/recovery pair: if the
// discriminative score of the reconstruction is already far from 0, the autoencoder (not the
// generator) loses the information the post-hoc discriminator uses.
//
// The real windows are read and preprocessed as training read them (tg::app::load_data with the
// run's config.json data options; --data replaces the data path when it was relative to another
// working directory) and checked against the run's data fingerprint and output map, so they are
// the exact training windows. Both outputs go to the data's units through the run's output map
// (OutputMap::model_to_original, as `timegan generate` writes generated data), float32 [n, T, d].
// --real-out writes the real windows themselves the same way: scored against the real data they
// give the metric's noise floor and check the round trip.
//
// Only the plain model is supported (numeric features, no static features, no condition, no
// missing-cell mask, fixed-length windows); others are refused.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include "tg/app/run.h"
#include "tg/autograd.h"
#include "tg/io/checkpoint.h"
#include "tg/io/dataset.h"
#include "tg/io/fs.h"
#include "tg/io/json.h"
#include "tg/io/npy.h"
#include "tg/models/timegan.h"

using namespace tg;
using Clock = std::chrono::steady_clock;

namespace {

void usage() {
  std::fprintf(stderr,
               "usage: autoencoder_ceiling --model RUN_DIR --out RECON.npy [--real-out REAL.npy] [--data PATH]\n"
               "                           [--threads N] [--chunk N]\n"
               "  --model     run directory of 'timegan train' (config.json, model.ckpt)\n"
               "  --out       r(e(X)) of every training window, data units, float32 NPY [n, T, d]\n"
               "  --real-out  the training windows themselves, data units, the same way\n"
               "  --data      the training data file (default: the run's config.json data path)\n"
               "  --threads   CPU threads (default 1)\n"
               "  --chunk     windows per forward pass (default 1024)\n");
}

void write_f32(const std::string& path, const io::Windows& w) {
  io::NpyArray a;
  a.shape = {w.n, w.seq, w.dim};
  a.data = w.data;
  io::write_npy(path, a, io::NpyDtype::F32);
}

struct Options {
  std::string model_dir, out, real_out, data_path;
  int64_t threads = 1, chunk = 1024;
};

// The command line; exits with the usage on a bad one (2) or --help (0).
Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "autoencoder_ceiling: %s needs a value\n", a.c_str());
        usage();
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--model") o.model_dir = next();
    else if (a == "--out") o.out = next();
    else if (a == "--real-out") o.real_out = next();
    else if (a == "--data") o.data_path = next();
    else if (a == "--threads") o.threads = std::atoll(next().c_str());
    else if (a == "--chunk") o.chunk = std::atoll(next().c_str());
    else if (a == "--help" || a == "-h") {
      usage();
      std::exit(0);
    } else {
      std::fprintf(stderr, "autoencoder_ceiling: unknown option '%s'\n", a.c_str());
      usage();
      std::exit(2);
    }
  }
  if (o.model_dir.empty() || o.out.empty() || o.chunk < 1) {
    usage();
    std::exit(2);
  }
  return o;
}

// The training windows, prepared exactly as training prepared them (checked by fingerprint).
io::Prepared training_windows(const app::LoadedRun& run, const Options& o) {
  const models::TimeGanConfig& mc = run.model_cfg;
  io::Json data_opts = run.config.at("data");
  if (!o.data_path.empty()) data_opts["data"] = o.data_path;
  const std::string src = data_opts.at("data").as_string();
  if (src != "sine" && !io::file_exists(src))
    throw std::runtime_error(src + ": not found (the run's data path is relative to the directory training ran in; give --data PATH)");
  io::Prepared prep = app::load_data(data_opts, false);
  const io::Windows& x = prep.windows;  // model scale, training order
  const uint32_t fp = io::crc32(x.data.data(), x.data.size() * sizeof(double));
  if (run.config.contains("data_fingerprint") && run.config.at("data_fingerprint").as_uint64() != fp)
    throw std::runtime_error(src + ": the prepared windows differ from the training windows (data fingerprint " +
                             std::to_string(fp) + ", the run has " +
                             std::to_string(run.config.at("data_fingerprint").as_uint64()) + ")");
  if (prep.map.to_json().dump() != run.map.to_json().dump())
    throw std::runtime_error(src + ": the output map of the prepared data differs from the run's");
  bool full = true;
  for (int64_t i = 0; i < x.n; ++i) full = full && x.length(i) == x.seq;
  if (x.seq != mc.seq_len || x.dim != mc.features || !full)
    throw std::runtime_error(src + ": windows of " + std::to_string(x.seq) + " x " + std::to_string(x.dim) +
                             " (or variable lengths) do not match the model's " + std::to_string(mc.seq_len) + " x " +
                             std::to_string(mc.features));
  std::fprintf(stderr, "%lld training windows of %lld x %lld from %s (fingerprint %u matches the run)\n",
               static_cast<long long>(x.n), static_cast<long long>(x.seq), static_cast<long long>(x.dim), src.c_str(), fp);
  return prep;
}

// r(e(X)) in model scale, in chunks without gradients.
io::Windows reconstruct(models::TimeGan& model, const io::Windows& x, const app::LoadedRun& run, int64_t chunk) {
  io::Windows rec;
  rec.n = x.n;
  rec.seq = x.seq;
  rec.dim = x.dim;
  rec.columns = run.map.columns;
  rec.data.reserve(x.data.size());
  NoGradGuard ng;
  const int64_t row = x.seq * x.dim;
  for (int64_t start = 0; start < x.n; start += chunk) {
    const int64_t b = std::min(chunk, x.n - start);
    const auto first = x.data.begin() + static_cast<std::ptrdiff_t>(start * row);
    Var xb(Tensor::from_vector(Shape{b, x.seq, x.dim}, std::vector<double>(first, first + static_cast<std::ptrdiff_t>(b * row)),
                               model.config().dtype, model.config().device));
    Var h = model.embedder().forward(xb);
    Var xr = model.recovery().forward(h);
    const std::vector<double> v = xr.value().to_vector();
    rec.data.insert(rec.data.end(), v.begin(), v.end());
  }
  return rec;
}

// Reconstruction error in model scale (what E_loss_T0 measures) and per feature.
void print_error(const io::Windows& x, const io::Windows& rec) {
  double se = 0;
  std::vector<double> sef(static_cast<size_t>(x.dim), 0.0);
  for (size_t i = 0; i < x.data.size(); ++i) {
    const double d = rec.data[i] - x.data[i];
    se += d * d;
    sef[i % static_cast<size_t>(x.dim)] += d * d;
  }
  const double cells = static_cast<double>(x.data.size());
  std::fprintf(stderr, "reconstruction, model scale: mse %.6g, rmse %.6g (10*rmse = E_loss0-style %.4f)\n", se / cells,
               std::sqrt(se / cells), 10.0 * std::sqrt(se / cells));
  std::fprintf(stderr, "per-feature rmse, model scale:");
  for (int64_t k = 0; k < x.dim; ++k)
    std::fprintf(stderr, " %s=%.4f", k < static_cast<int64_t>(rec.columns.size()) ? rec.columns[static_cast<size_t>(k)].c_str() : "?",
                 std::sqrt(sef[static_cast<size_t>(k)] / (cells / static_cast<double>(x.dim))));
  std::fprintf(stderr, "\n");
}

// The training windows in the data's units, after a round-trip check: data units -> the
// reference scale the evaluation compares, against the prepared reference windows (what
// `timegan evaluate --real` scores).
void write_real(const io::Prepared& prep, const app::LoadedRun& run, const std::string& path) {
  io::Windows real = prep.windows;
  real.columns = run.map.columns;
  run.map.model_to_original(real);
  const io::Windows& ref = prep.reference_windows();
  io::Windows back = real;
  if (run.map.has_outer) run.map.outer.transform(back);
  double maxd = 0;
  for (size_t i = 0; i < back.data.size(); ++i) maxd = std::max(maxd, std::fabs(back.data[i] - ref.data[i]));
  std::fprintf(stderr, "real windows: data units -> reference scale vs the prepared reference windows: max |diff| %.3g (float64)\n",
               maxd);
  write_f32(path, real);
  std::fprintf(stderr, "wrote the real windows [%lld, %lld, %lld] to %s\n", static_cast<long long>(real.n),
               static_cast<long long>(real.seq), static_cast<long long>(real.dim), path.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse_args(argc, argv);
  try {
    const auto t0 = Clock::now();
    app::apply_threads(o.threads, false);
    const app::LoadedRun run = app::load_run(o.model_dir);
    const models::TimeGanConfig& mc = run.model_cfg;
    if (!mc.categorical.empty() || mc.static_features > 0 || mc.condition_dim > 0 || mc.missing_mask)
      throw std::runtime_error(o.model_dir + ": only plain models (numeric features, no static features, condition or missing mask) are supported");
    const io::Prepared prep = training_windows(run, o);
    // The model as generate_from_run builds it.
    models::TimeGanConfig cfg = mc;
    cfg.device = Device::CPU;
    cfg.iterations = 1;
    models::TimeGan model(cfg);
    model.load_checkpoint(run.ckpt);
    app::check_finite_model(model, o.model_dir);
    io::Windows rec = reconstruct(model, prep.windows, run, o.chunk);
    print_error(prep.windows, rec);
    // To the data's units, as generated data (timegan generate).
    run.map.model_to_original(rec);
    write_f32(o.out, rec);
    std::fprintf(stderr, "wrote r(e(X)) [%lld, %lld, %lld] to %s\n", static_cast<long long>(rec.n),
                 static_cast<long long>(rec.seq), static_cast<long long>(rec.dim), o.out.c_str());
    if (!o.real_out.empty()) write_real(prep, run, o.real_out);
    std::fprintf(stderr, "took %.1f s\n", std::chrono::duration<double>(Clock::now() - t0).count());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "autoencoder_ceiling: %s\n", e.what());
    return 1;
  }
  return 0;
}
