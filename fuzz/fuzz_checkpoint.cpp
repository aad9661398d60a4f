// libFuzzer target: the checkpoint container. Inputs that start with the magic are parsed
// twice: as they are, and with the size field and CRC-32 footer made consistent, so that the
// fuzzer reaches the structure behind the checksum; the metadata of a container that parses are
// then checked for their meaning (tg::models::checkpoint_position against the configuration the
// checkpoint carries): a position accepted must be one training can resume from. Every input is
// also read as the metadata's fields themselves (a phase chosen by its first byte among the
// known ones and others, then the iteration, the random-stream counters and the Adam steps as
// 64-bit integers), checked against a fixed configuration of 50 iterations a phase, so that the
// fuzzer reaches the fields' meaning without having to keep a container's lengths and CRC or the
// JSON's syntax right; an input that starts with '{' is also read as the metadata JSON.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "fuzz_common.h"
#include "tg/io/checkpoint.h"
#include "tg/io/json.h"
#include "tg/models/timegan.h"

namespace {
void check_position(const tg::io::Json& meta, const tg::models::TimeGanConfig& saved);

void parse(const std::string& b) {
  tg::io::Checkpoint c;
  if (!tgfuzz::expect_input_errors_only([&] { c = tg::io::parse_checkpoint(b, "fuzz.ckpt"); })) return;
  for (const auto& t : c.tensors) {
    if (static_cast<std::size_t>(t.numel()) * t.element_size() != t.bytes.size())
      tgfuzz::finding("tensor bytes do not match its shape", t.name);
    (void)t.to_f64();
  }
  // What was read writes back byte for byte.
  if (tg::io::checkpoint_bytes(c) != b) tgfuzz::finding("checkpoint round trip differs", "");
  tg::io::Json config, meta;
  const bool config_ok = tgfuzz::expect_input_errors_only([&] { config = tg::io::Json::parse(c.config_json, "fuzz.ckpt (config)"); });
  const bool meta_ok = tgfuzz::expect_input_errors_only([&] { meta = tg::io::Json::parse(c.meta_json, "fuzz.ckpt (meta)"); });
  if (!config_ok || !meta_ok) return;
  tg::models::TimeGanConfig saved;
  try {
    saved = tg::models::TimeGanConfig::from_json(config);
  } catch (const std::exception& e) {
    tgfuzz::check_message(e.what());
    return;
  }
  check_position(meta, saved);
}

void check_position(const tg::io::Json& meta, const tg::models::TimeGanConfig& saved) {
  tg::models::CheckpointPosition p;
  if (!tgfuzz::expect_input_errors_only([&] { p = tg::models::checkpoint_position(meta, saved, "fuzz.ckpt"); })) return;
  const bool known = p.phase == "embedding" || p.phase == "supervised" || p.phase == "joint" || p.phase == "done";
  if (!known) tgfuzz::finding("unknown phase accepted", p.phase);
  if (p.iteration < 0 || p.iteration > saved.iterations || (p.phase == "done" && p.iteration != 0))
    tgfuzz::finding("iteration out of range accepted", std::to_string(p.iteration));
  for (int64_t s : p.adam_steps)
    if (s < 0) tgfuzz::finding("negative Adam steps accepted", std::to_string(s));
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  tg::models::TimeGanConfig saved;
  saved.features = 1;
  saved.iterations = 50;
  {  // the fields themselves
    static const char* const phases[] = {"embedding", "supervised", "joint", "done", "bogus", "", "Joint", "done "};
    size_t at = 1;
    auto next = [&]() {
      uint64_t v = 0;
      for (int i = 0; i < 8; ++i, ++at) v |= static_cast<uint64_t>(at < size ? data[at] : 0) << (8 * i);
      return v;
    };
    tg::io::Json meta = tg::io::Json::object();
    meta["phase"] = phases[size > 0 ? data[0] % 8 : 0];
    meta["iteration"] = static_cast<long long>(next());
    meta["batch_rng_counter"] = static_cast<unsigned long long>(next());
    meta["noise_rng_counter"] = static_cast<unsigned long long>(next());
    tg::io::Json steps = tg::io::Json::object();
    for (const char* name : tg::models::kOptimizerNames) steps[name] = static_cast<long long>(next());
    meta["adam_steps"] = steps;
    check_position(meta, saved);
  }
  if (size > 0 && data[0] == '{') {  // the metadata JSON alone
    tg::io::Json meta;
    if (tgfuzz::expect_input_errors_only([&] { meta = tg::io::Json::parse(bytes, "fuzz.ckpt (meta)"); }))
      check_position(meta, saved);
    return 0;
  }
  parse(bytes);
  if (size >= 24 && std::memcmp(data, "TGCKPT\r\n", 8) == 0) {
    std::string body = bytes.substr(0, size - 4);
    const uint64_t total = body.size() + 4;
    for (int i = 0; i < 8; ++i) body[12 + static_cast<std::size_t>(i)] = static_cast<char>((total >> (8 * i)) & 0xFF);
    const uint32_t crc = tg::io::crc32(body.data(), body.size());
    for (int i = 0; i < 4; ++i) body += static_cast<char>((crc >> (8 * i)) & 0xFF);
    parse(body);
  }
  return 0;
}
