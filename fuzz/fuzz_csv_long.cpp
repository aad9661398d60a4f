// libFuzzer target: a long-format CSV (one sequence per id, --id-column). The id column is the
// header's first field, so every input is read as long format; sequences are padded to the
// longest (seq_len 0) or cut (seq_len 3 with truncation).
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_common.h"
#include "tg/io/csv.h"
#include "tg/io/dataset.h"
#include "tg/random.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::size_t end = text.find_first_of(",\n");
  if (end == std::string::npos) end = text.size();
  tg::io::CsvOptions co;
  co.id_column = text.substr(0, end);
  if (co.id_column.empty()) co.id_column = "id";
  tg::io::Table t;
  if (!tgfuzz::expect_input_errors_only([&] { t = tg::io::parse_csv(text, "fuzz.csv", co); })) return 0;
  if (static_cast<int64_t>(t.ids.size()) != t.rows) tgfuzz::finding("ids do not match rows", std::to_string(t.rows));
  for (int variant = 0; variant < 3; ++variant) {
    tg::io::PrepOptions o;
    o.preset = variant == 1 ? "original" : "default";
    o.seq_len = variant == 2 ? 3 : 0;
    o.truncate = variant == 2;
    tg::Rng rng(1, 5);
    tgfuzz::expect_input_errors_only([&] {
      const tg::io::Prepared p = tg::io::prepare(t, o, rng);
      const tg::io::Windows& w = p.windows;
      if (static_cast<int64_t>(w.lengths.size()) != w.n) tgfuzz::finding("lengths do not match windows", "");
      for (int32_t l : w.lengths)
        if (l < 1 || l > w.seq) tgfuzz::finding("bad sequence length", std::to_string(l));
    });
  }
  return 0;
}
