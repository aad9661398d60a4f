// libFuzzer target: config.json as the CLI reads a run directory: the JSON parser, then the
// model configuration (sizes validated before anything is allocated), the output map, and the
// output map checked against the model and the data (OutputMap::check): a map accepted must
// describe exactly the model's features.
#include <cstddef>
#include <cstdint>
#include <new>
#include <stdexcept>
#include <string>

#include "fuzz_common.h"
#include "tg/io/dataset.h"
#include "tg/io/json.h"
#include "tg/models/timegan.h"

namespace {
/// from_json reports a malformed object with std::invalid_argument / std::runtime_error (the
/// CLI adds the file name); allocation failures are still findings.
template <typename F>
void expect_refusal_or_success(F&& f) {
  try {
    f();
  } catch (const std::bad_alloc& e) {
    tgfuzz::finding("std::bad_alloc", e.what());
  } catch (const std::length_error& e) {
    tgfuzz::finding("std::length_error", e.what());
  } catch (const std::exception& e) {
    tgfuzz::check_message(e.what());
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  tg::io::Json j;
  if (!tgfuzz::expect_input_errors_only([&] { j = tg::io::Json::parse(text, "config.json"); })) return 0;
  // Printing is stable: what was printed parses back and prints the same.
  const std::string once = j.dump();
  tg::io::Json again;
  if (!tgfuzz::expect_input_errors_only([&] { again = tg::io::Json::parse(once, "dumped.json"); }))
    tgfuzz::finding("dump() of a parsed document does not parse", once);
  if (again.dump() != once) tgfuzz::finding("dump -> parse -> dump differs", once);
  if (j.dump(0) != again.dump(0)) tgfuzz::finding("compact dump differs", once);

  const tg::io::Json* model = j.is_object() ? j.find("model") : nullptr;
  tg::models::TimeGanConfig cfg;
  bool have_cfg = false;
  expect_refusal_or_success([&] {
    const tg::models::TimeGanConfig c = tg::models::TimeGanConfig::from_json(model ? *model : j);
    cfg = c;
    have_cfg = true;
    // Accepted configurations are within the documented limits.
    if (c.hidden > c.kMaxHidden || c.layers > c.kMaxLayers || c.seq_len > c.kMaxSeqLen || c.batch > c.kMaxBatch ||
        c.features > c.kMaxFeatures || c.parameter_bound() > c.kMaxParameters)
      tgfuzz::finding("configuration beyond the limits was accepted", c.to_json().dump(0));
  });
  if (const tg::io::Json* m = j.is_object() ? j.find("output_map") : nullptr)
    expect_refusal_or_success([&] {
      const tg::io::OutputMap map = tg::io::OutputMap::from_json(*m);
      if (!have_cfg) return;
      for (bool csv : {false, true}) {
        if (!tgfuzz::expect_input_errors_only([&] { map.check(cfg.features, cfg.static_features, csv); })) continue;
        if (map.model_features() != cfg.features || static_cast<int64_t>(map.static_columns.size()) != cfg.static_features ||
            (map.has_outer && map.outer.dim() != map.numeric()) || (map.has_inner && map.inner.dim() != map.numeric()) ||
            (csv && !map.has_outer))
          tgfuzz::finding("an output map that does not fit the model was accepted", m->dump(0));
      }
    });
  return 0;
}
