// libFuzzer target: the checkpoint container. Inputs that start with the magic are parsed
// twice: as they are, and with the size field and CRC-32 footer made consistent, so that the
// fuzzer reaches the structure behind the checksum.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "fuzz_common.h"
#include "tg/io/checkpoint.h"
#include "tg/io/json.h"

namespace {
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
  tgfuzz::expect_input_errors_only([&] { tg::io::Json::parse(c.config_json, "fuzz.ckpt (config)"); });
  tgfuzz::expect_input_errors_only([&] { tg::io::Json::parse(c.meta_json, "fuzz.ckpt (meta)"); });
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
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
