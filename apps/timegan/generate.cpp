// timegan generate: N synthetic sequences from a trained run, in the data's original units.
#include <cstdio>
#include <string>
#include <vector>

#include "commands.h"
#include "options.h"
#include "tg/io/csv.h"
#include "tg/io/error.h"
#include "tg/io/fs.h"
#include "tg/io/npy.h"
#include "tg/app/condition.h"
#include "tg/app/train.h"

namespace tgcli {

namespace {
// The values of a --condition-file: a CSV whose header names the condition column (or has one
// column), one value a line after it.
void read_condition_file(const std::string& path, const LoadedRun& run, const std::string& dir,
                         std::vector<std::string>& values, std::vector<std::string>& where) {
  const tg::app::Condition cond = tg::app::condition_of(run.map, tg::app::join_path(dir, "config.json"));
  if (!cond.defined())
    throw tg::io::InputError(dir + ": the model was trained without a condition (--condition); it cannot generate for one");
  // Read as text (the values are labels or numbers; Condition::encode checks each).
  const std::string text = tg::io::read_text_file(path);
  std::vector<std::vector<std::string>> rows;
  size_t pos = 0;
  int64_t line = 0;
  std::vector<int64_t> lines;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string l = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line;
    if (!l.empty() && l.back() == '\r') l.pop_back();
    if (l.find_first_not_of(" \t") == std::string::npos) continue;  // blank lines
    std::vector<std::string> f;
    size_t from = 0;
    for (;;) {
      const size_t c = l.find(',', from);
      std::string v = l.substr(from, c == std::string::npos ? std::string::npos : c - from);
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      f.push_back(v);
      if (c == std::string::npos) break;
      from = c + 1;
    }
    rows.push_back(f);
    lines.push_back(line);
  }
  if (rows.size() < 2) throw tg::io::InputError(path + ": no condition values (a header line, then one value a line)");
  size_t col = 0;
  if (rows[0].size() > 1) {
    bool found = false;
    for (size_t k = 0; k < rows[0].size(); ++k)
      if (rows[0][k] == cond.column) col = k, found = true;
    if (!found)
      throw tg::io::InputError(path + ":1: no column '" + tg::io::printable(cond.column) +
                               "' (the condition the model was trained with)");
  }
  for (size_t r = 1; r < rows.size(); ++r) {
    const std::string at = path + ":" + std::to_string(lines[r]);
    if (rows[r].size() != rows[0].size())
      throw tg::io::InputError(at + ": " + std::to_string(rows[r].size()) + " fields, the header has " +
                               std::to_string(rows[0].size()));
    values.push_back(rows[r][col]);
    where.push_back(at);
  }
  if (values.size() > 1000000000) throw tg::io::InputError(path + ": more than 1,000,000,000 condition values");
}
}  // namespace

int cmd_generate(int argc, char** argv) {
  Args a("timegan generate", "Generate synthetic sequences from a trained model, in the data's original units.",
         {
             {"model", "RUN_DIR", "", "run directory written by timegan train (required)"},
             {"n", "N", "1000", "number of sequences"},
             {"seed", "S", "0", "seed of the noise stream"},
             {"out", "FILE", "", "output: FILE.csv (long format: sequence_id, t, columns...; categorical columns as labels) or FILE.npy [n, T, d] (categorical columns as label indices) (required)"},
             {"condition", "VALUE[,VALUE...]", "", "a model trained with --condition: generate --n sequences for each value (a label, or a number within the training range); without it (and without --condition-file) conditions are drawn from the training distribution"},
             {"condition-file", "FILE", "", "a model trained with --condition: a CSV with one value per wanted sequence (a header, then one value a line; or a column named as the condition); the file gives the count, so not with --n"},
             {"device", "cpu|cuda", "cpu", "where to run the generator"},
             {"categorical-sampling", "argmax|sample", "argmax", "categorical columns: the most probable label at each step (argmax), or a label drawn from the model's probabilities (sample; its own random stream of --seed)"},
             {"threads", "N", "0", "CPU threads (0 = all cores or TG_NUM_THREADS; more than the machine has is clamped to it)"},
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
  int64_t n = a.integer("n", 1, 1000000000);
  if (a.given("condition") && a.given("condition-file")) throw UsageError("timegan generate: give either --condition or --condition-file, not both");
  if (a.given("condition-file") && a.given("n")) throw UsageError("timegan generate: --condition-file gives the number of sequences; --n does not combine with it");
  const uint64_t seed = a.u64("seed");
  const tg::Device dev = parse_device(a);
  const bool sample_labels = a.choice("categorical-sampling", {"argmax", "sample"}) == "sample";
  apply_threads(a, a.flag("quiet"));

  LoadedRun run = load_run(a.str("model"));
  const tg::models::TimeGanConfig& cfg = run.model_cfg;
  // Chosen conditions: --n sequences per --condition value, or one per --condition-file row.
  std::vector<std::string> conds, where;
  if (a.given("condition")) {
    const std::string list = a.str("condition");
    std::vector<std::string> values;
    size_t from = 0;
    for (;;) {
      const size_t comma = list.find(',', from);
      values.push_back(list.substr(from, comma == std::string::npos ? std::string::npos : comma - from));
      if (comma == std::string::npos) break;
      from = comma + 1;
    }
    if (static_cast<double>(values.size()) * static_cast<double>(n) > 1e9)
      a.fail("n", "--n times the number of --condition values is more than 1,000,000,000 sequences");
    try {  // the output's size before the list of conditions is built
      check_output_memory("n", static_cast<int64_t>(values.size()) * n, cfg.seq_len, cfg.features, csv);
    } catch (const OptionError& e) {
      usage_error(a, e);
    }
    for (const auto& v : values)
      for (int64_t i = 0; i < n; ++i) conds.push_back(v), where.push_back("--condition");
  } else if (a.given("condition-file")) {
    read_condition_file(a.str("condition-file"), run, a.str("model"), conds, where);
  }
  if (!conds.empty()) n = static_cast<int64_t>(conds.size());
  try {
    check_output_memory("n", n, cfg.seq_len, cfg.features, csv);
  } catch (const OptionError& e) {
    usage_error(a, e);
  }
  // Into a run directory (e.g. RUN_DIR/generated.csv): as its writer, so not while it trains.
  const size_t slash = out.find_last_of('/');
  const std::string out_dir = slash == std::string::npos ? std::string(".") : slash == 0 ? std::string("/") : out.substr(0, slash);
  tg::app::RunLock lock;
  if (tg::app::holds_a_run(out_dir)) lock = tg::app::RunLock(out_dir, "generate", a.flag("quiet"));
  tg::io::Windows syn = generate_from_run(run, a.str("model"), n, seed, dev, conds, where, sample_labels);
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
