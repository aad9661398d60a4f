// timegan evaluate: the reference's discriminative and predictive scores (repeated, mean and
// std), its PCA / t-SNE pictures, distribution distances it does not ship, and an HTML report
// (the work is tg::app::evaluate; this is its command line and its printed table).
#include <chrono>
#include <cstdio>
#include <memory>

#include "commands.h"
#include "options.h"
#include "tg/app/evaluate.h"
#include "tg/models/metrics.h"

namespace tgcli {

using tg::io::Json;
namespace mt = tg::models::metrics;

namespace {

std::vector<OptionSpec> evaluate_specs() {
  std::vector<OptionSpec> s;
  for (OptionSpec o : data_option_specs()) {
    if (o.name == "data") {
      o.name = "real";
      o.def = "";
      o.help = "real data as 'timegan train --data' takes it (a CSV, an NPY file of windows or 'sine'); default with --model: the run's training data";
    }
    s.push_back(o);
  }
  std::vector<OptionSpec> more = {
      {"synthetic", "FILE", "", "synthetic data in the data's units: a CSV as 'timegan generate' writes (sequence_id,t,columns...) or an NPY file [n, T, d]"},
      {"model", "RUN_DIR", "", "a run directory of 'timegan train': generate as many sequences as the real set (instead of --synthetic)"},
      {"out", "REPORT_DIR", "", "directory for report.html and metrics.json (required)"},
      {"repeats", "R", "10", "repetitions of each post-hoc score (mean and std are reported)"},
      {"metric-iterations", "N", "2000", "discriminator iterations; the predictor runs 2.5x as many (the reference: 2,000 / 5,000)"},
      {"tsne-iterations", "N", "300", "t-SNE iterations (the reference's 300; the first 250 with early exaggeration)"},
      {"seed", "S", "0", "seed of every random stream (data, generation, splits, batches, initialisations)"},
      {"device", "cpu|cuda", "cpu", "where to run the generator and the post-hoc networks"},
      {"threads", "N", "0", "CPU threads (0 = all cores or TG_NUM_THREADS; more than the machine has is clamped to it)"},
      {"quiet", "", "", "no progress output (the final table is still printed)"},
  };
  s.insert(s.end(), more.begin(), more.end());
  return s;
}

Json real_data_json(const Args& a) { return data_options_json(a, "real"); }

}  // namespace

int cmd_evaluate(int argc, char** argv) {
  Args a("timegan evaluate",
         "Score synthetic data against real data: the reference's discriminative and predictive scores, its PCA and "
         "t-SNE plots, distribution distances, and an HTML report.",
         evaluate_specs());
  a.set_epilogue(exit_status_help());
  if (!a.parse(argc, argv, 2)) return 0;
  const auto t0 = std::chrono::steady_clock::now();
  const bool quiet = a.flag("quiet");
  const std::string out = a.str("out"), model_dir = a.str("model"), syn_path = a.str("synthetic");
  if (out.empty()) throw UsageError("timegan evaluate: --out REPORT_DIR is required");
  if (model_dir.empty() == syn_path.empty())
    throw UsageError("timegan evaluate: give exactly one of --synthetic FILE and --model RUN_DIR");
  if (a.str("real").empty() && model_dir.empty())
    throw UsageError("timegan evaluate: --real DATA is required with --synthetic");
  if (a.str("real").empty())
    for (const char* o : {"columns", "id-column", "categorical", "max-categories", "missing", "preset", "seq-len", "stride", "sine-n",
                          "sine-dim", "static-columns", "static"})
      if (a.given(o))
        throw UsageError(std::string("timegan evaluate: --") + o + " applies to --real; without --real the run's own data options are used");
  const int64_t repeats = a.integer("repeats", 1, 1000);
  const int64_t disc_iters = a.integer("metric-iterations", 1, 100000000);
  const int64_t tsne_iters = a.integer("tsne-iterations", 1, 100000);
  const uint64_t seed = a.u64("seed");
  const tg::Device dev = parse_device(a);
  apply_threads(a, quiet);
  // The report's place must be writable before minutes of work. The report is written in a
  // temporary directory made now and moved into place when complete (tg::app::ReportOutput):
  // when the evaluation or the writing fails, nothing of it remains and a previous report in
  // --out stays as it was.
  tg::app::ReportOutput report(out, "--out");

  tg::app::EvalRequest req;
  req.start = t0;
  if (!a.str("real").empty()) req.data = real_data_json(a);
  req.model_dir = model_dir;
  req.synthetic_file = syn_path;
  req.repeats = repeats;
  req.metric_iterations = disc_iters;
  req.tsne_iterations = tsne_iters;
  req.seed = seed;
  req.device = dev;
  req.quiet = quiet;
  const std::unique_ptr<tg::app::Evaluation> ev = tg::app::evaluate(req);
  const tg::app::EvalResult& res = ev->result;

  report.commit(*ev);
  const std::string html = join_path(out, "report.html"), js = join_path(out, "metrics.json");

  double dm, ds, pm, ps;
  mt::mean_std(res.disc, dm, ds);
  mt::mean_std(res.pred, pm, ps);
  std::printf("%-28s %10s %10s\n", "metric", "mean", "std");
  std::printf("%-28s %10.4f %10.4f\n", "discriminative score", dm, ds);
  std::printf("%-28s %10.4f %10.4f\n", res.pred_own_past ? "predictive score (own past)" : "predictive score", pm, ps);
  std::printf("%-28s %10.4f %10s\n", "  (real-on-real floor)", res.pred_real_on_real, "-");
  double wm = 0;
  for (double w : res.wasserstein) wm += w / static_cast<double>(res.wasserstein.size());
  std::printf("%-28s %10.4f %10s\n", "wasserstein-1 (feature mean)", wm, "-");
  std::printf("%-28s %10.4f %10s\n", "acf difference", res.acf_diff, "-");
  std::printf("%-28s %10.4f %10s\n", "cross-corr. difference", res.xcorr.mean_abs, "-");
  std::printf("%-28s %10.5f %10s\n", "mmd^2 (gaussian)", res.mmd.mmd2, "-");
  if (res.missing_reported)
    std::printf("missing cells: %lld in %lld of %lld real windows; scored on the %lld complete ones\n",
                static_cast<long long>(res.missing_cells), static_cast<long long>(res.windows_with_missing),
                static_cast<long long>(res.real_windows), static_cast<long long>(res.windows_evaluated));
  std::printf("report:  %s\nmetrics: %s\n", html.c_str(), js.c_str());
  if (!quiet) std::fprintf(stderr, "evaluation took %s\n", format_seconds(res.seconds).c_str());
  return 0;
}

}  // namespace tgcli
