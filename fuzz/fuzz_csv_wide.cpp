// libFuzzer target: a wide CSV file (header + numeric rows) read and windowed as `timegan train
// --data file.csv` does, with both presets.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_common.h"
#include "tg/io/csv.h"
#include "tg/io/dataset.h"
#include "tg/random.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  tg::io::Table t;
  if (!tgfuzz::expect_input_errors_only([&] { t = tg::io::parse_csv(text, "fuzz.csv"); })) return 0;
  if (t.rows < 1 || t.cols() < 1 || static_cast<int64_t>(t.values.size()) != t.rows * t.cols())
    tgfuzz::finding("inconsistent table", std::to_string(t.rows) + " x " + std::to_string(t.cols()));
  for (const char* preset : {"default", "original"}) {
    tg::io::PrepOptions o;
    o.preset = preset;
    o.seq_len = 2;
    tg::Rng rng(1, 5);
    tgfuzz::expect_input_errors_only([&] {
      const tg::io::Prepared p = tg::io::prepare(t, o, rng);
      for (double v : p.windows.data)
        if (!(v >= -1e-9 && v <= 1 + 1e-9)) tgfuzz::finding("scaled value outside [0, 1]", std::to_string(v));
    });
  }
  // A column selection taken from the header (the first column, name trimmed as --columns is).
  if (!t.columns.empty()) {
    tg::io::CsvOptions co;
    co.columns = {" " + t.columns.back() + " "};
    tgfuzz::expect_input_errors_only([&] { tg::io::parse_csv(text, "fuzz.csv", co); });
  }
  return 0;
}
