// libFuzzer target: an NPY file of windows [n, T, d] as `timegan train --data x.npy` reads it.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_common.h"
#include "tg/io/dataset.h"
#include "tg/io/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  tg::io::NpyArray a;
  if (!tgfuzz::expect_input_errors_only([&] { a = tg::io::parse_npy(bytes, "fuzz.npy"); })) return 0;
  if (a.size() != static_cast<int64_t>(a.data.size()))
    tgfuzz::finding("shape does not match the data", std::to_string(a.data.size()));
  // What was read writes back to the same values.
  tgfuzz::expect_input_errors_only([&] {
    const tg::io::NpyArray b = tg::io::parse_npy(tg::io::npy_bytes(a), "again.npy");
    if (b.shape != a.shape || b.data.size() != a.data.size()) tgfuzz::finding("NPY round trip differs", "");
  });
  for (const char* preset : {"default", "original"}) {
    tg::io::PrepOptions o;
    o.preset = preset;
    tgfuzz::expect_input_errors_only([&] { tg::io::prepare_npy(a, o, "fuzz.npy"); });
  }
  return 0;
}
