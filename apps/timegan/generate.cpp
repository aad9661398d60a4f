// timegan generate: N synthetic sequences from a trained run, in the data's original units.
#include <cstdio>

#include "commands.h"
#include "options.h"
#include "tg/io/csv.h"
#include "tg/io/error.h"
#include "tg/io/npy.h"

namespace tgcli {

int cmd_generate(int argc, char** argv) {
  Args a("timegan generate", "Generate synthetic sequences from a trained model, in the data's original units.",
         {
             {"model", "RUN_DIR", "", "run directory written by timegan train (required)"},
             {"n", "N", "1000", "number of sequences"},
             {"seed", "S", "0", "seed of the noise stream"},
             {"out", "FILE", "", "output: FILE.csv (long format: sequence_id, t, columns...; categorical columns as labels) or FILE.npy [n, T, d] (categorical columns as label indices) (required)"},
             {"device", "cpu|cuda", "cpu", "where to run the generator"},
             {"categorical-sampling", "argmax|sample", "argmax", "categorical columns: the most probable label at each step (argmax), or a label drawn from the model's probabilities (sample; its own random stream of --seed)"},
             {"quiet", "", "", "no messages"},
         });
  a.set_epilogue(exit_status_help());
  if (!a.parse(argc, argv, 2)) return 0;
  if (a.str("model").empty()) throw UsageError("timegan generate: --model RUN_DIR is required");
  const std::string out = a.str("out");
  if (out.empty()) throw UsageError("timegan generate: --out FILE.csv|FILE.npy is required");
  const bool npy = out.size() > 4 && out.compare(out.size() - 4, 4, ".npy") == 0;
  const bool csv = out.size() > 4 && out.compare(out.size() - 4, 4, ".csv") == 0;
  if (!npy && !csv) a.fail("out", "the file name must end in .csv or .npy, got '" + out + "'");
  const int64_t n = a.integer("n", 1, 1000000000);
  const uint64_t seed = a.u64("seed");
  const tg::Device dev = parse_device(a);
  const bool sample_labels = a.choice("categorical-sampling", {"argmax", "sample"}) == "sample";

  LoadedRun run = load_run(a.str("model"));
  const tg::models::TimeGanConfig& cfg = run.model_cfg;
  try {
    check_output_memory("n", n, cfg.seq_len, cfg.features, csv);
  } catch (const OptionError& e) {
    usage_error(a, e);
  }
  tg::io::Windows syn = generate_from_run(run, a.str("model"), n, seed, dev, sample_labels);
  if (csv) {
    tg::io::write_windows_csv(out, syn);
  } else {
    tg::io::NpyArray arr;
    arr.shape = {syn.n, syn.seq, syn.dim};
    arr.data = std::move(syn.data);
    tg::io::write_npy(out, arr, tg::io::NpyDtype::F32);
  }
  if (!a.flag("quiet"))
    std::fprintf(stderr, "wrote %lld sequences of %lld x %lld to %s\n", static_cast<long long>(n),
                 static_cast<long long>(cfg.seq_len), static_cast<long long>(cfg.features), out.c_str());
  return 0;
}

}  // namespace tgcli
