#include "options.h"

namespace tgcli {

using tg::io::Json;

std::vector<OptionSpec> data_option_specs() {
  return {
      {"data", "FILE|sine", "sine", "training data: a CSV file with a header, an NPY file of windows [n, T, d], or 'sine'"},
      {"columns", "A,B,...", "", "CSV columns to use, in order (default: every numeric column)"},
      {"id-column", "NAME", "", "long-format CSV: column holding a sequence id (each id is one sequence)"},
      {"categorical", "A,B,...", "", "CSV columns read as categories (labels; one-hot in the model); a column whose first value is not a number is categorical anyway"},
      {"static-columns", "A,B,...", "", "long-format CSV (with --id-column): numeric columns that describe a whole sequence (constant within each id; min-max scaled on their own; generated beside each sequence)"},
      {"static", "FILE", "", "long-format CSV (with --id-column): a per-id CSV of static values (a header with the id column and the static columns, one row per id; --static-columns selects some, default: all)"},
      {"condition", "COLUMN", "", "long-format CSV (with --id-column): a per-sequence column (constant within each id) to condition on: an input of the generator and the discriminators, never generated; labels (or --categorical) one-hot, numbers min-max scaled; generate --condition picks its value"},
      {"max-categories", "N", "64", "most distinct labels a categorical column may hold"},
      {"missing", "error|mask", "error", "missing cells (empty, NaN, NA) in numeric columns: 'error' refuses them naming the cell; 'mask' keeps them as missing (an observed-indicator channel per numeric feature, losses over observed cells only, complete synthetic output)"},
      {"preset", "NAME", "default", "preprocessing: 'default' (scale once, keep time order, every window, output in the CSV's units) or 'original' (the reference's flip, double min-max and shuffle)"},
      {"seq-len", "N", "24", "window length (long format: 0 = the longest sequence)"},
      {"stride", "N", "1", "step between windows (default preset)"},
      {"sine-n", "N", "10000", "number of sine sequences (--data sine)"},
      {"sine-dim", "N", "5", "features of the sine data (--data sine)"},
  };
}

Json data_options_json(const Args& a, const std::string& data_opt) {
  Json j = Json::object();
  j["data"] = a.str(data_opt);
  j["columns"] = a.str("columns");
  j["id_column"] = a.str("id-column");
  j["categorical"] = a.str("categorical");
  if (!a.str("static-columns").empty()) j["static_columns"] = a.str("static-columns");  // absent without (as before)
  if (!a.str("static").empty()) j["static_file"] = a.str("static");  // absent without (as before)
  if (!a.str("condition").empty()) j["condition"] = a.str("condition");  // absent without (as before)
  j["max_categories"] = static_cast<long long>(a.integer("max-categories", 1, 100000));
  j["missing"] = a.choice("missing", {"error", "mask"});
  j["preset"] = a.choice("preset", {"default", "original"});
  j["seq_len"] = static_cast<long long>(a.integer("seq-len", a.str("id-column").empty() ? 2 : 0, 100000));
  j["stride"] = static_cast<long long>(a.integer("stride", 1, 1000000));
  j["sine_n"] = static_cast<long long>(a.integer("sine-n", 1, 100000000));
  j["sine_dim"] = static_cast<long long>(a.integer("sine-dim", 1, 100000));
  j["seed"] = static_cast<unsigned long long>(a.u64("seed"));
  return j;
}

tg::Device parse_device(const Args& a) {
  const std::string d = a.choice("device", {"cpu", "cuda"});
  try {
    return tg::app::parse_device(d);
  } catch (const OptionError& e) {
    usage_error(a, e);
  }
}

void apply_threads(const Args& a, bool quiet) { tg::app::apply_threads(a.integer("threads", 0, 1024), quiet); }

void usage_error(const Args& a, const OptionError& e) { a.fail(e.option, e.detail); }

}  // namespace tgcli
