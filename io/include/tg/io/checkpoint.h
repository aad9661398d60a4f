// Versioned binary checkpoint container.
//
// Layout (little-endian):
//   magic    8 bytes  "TGCKPT\r\n"
//   version  u32      1
//   total    u64      size of the whole file in bytes, footer included
//   config   u64 length + UTF-8 JSON text
//   meta     u64 length + UTF-8 JSON text (counters, rng positions, ...)
//   count    u64      number of tensors, then per tensor:
//            u32 name length + name, u8 dtype (0 f32, 1 f64), u8 rank, rank x i64 dims,
//            u64 byte length (= numel * element size), raw little-endian data
//   footer   u32      CRC-32 (IEEE 802.3, as zlib's crc32) of every byte before it
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tg::io {

constexpr uint32_t kCheckpointVersion = 1;

struct CkptTensor {
  enum : uint8_t { F32 = 0, F64 = 1 };
  std::string name;
  uint8_t dtype = F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;

  int64_t numel() const;
  std::size_t element_size() const { return dtype == F64 ? 8 : 4; }
  static CkptTensor from_f32(std::string name, std::vector<int64_t> shape, const float* data);
  static CkptTensor from_f64(std::string name, std::vector<int64_t> shape, const double* data);
  /// Values converted to float / double (f64 -> f32 rounds).
  std::vector<float> to_f32() const;
  std::vector<double> to_f64() const;
};

struct Checkpoint {
  std::string source;  ///< file it was loaded from (for messages); empty when built in memory
  std::string config_json, meta_json;
  std::vector<CkptTensor> tensors;

  const CkptTensor* find(const std::string& name) const;
  /// Throws InputError "<source>: checkpoint has no tensor 'x'".
  const CkptTensor& get(const std::string& name) const;
  void add(CkptTensor t) { tensors.push_back(std::move(t)); }
};

/// Serialises (validates names unique, dtype, byte lengths) and writes atomically: temporary
/// file in the same directory, write, fsync, rename. On failure the previous file is intact
/// and OutputError (or std::invalid_argument for an inconsistent Checkpoint) is thrown.
void save_checkpoint(const std::string& path, const Checkpoint& c);
std::string checkpoint_bytes(const Checkpoint& c);

/// Throws InputError naming the file: "not a TimeGAN checkpoint (bad magic)", "unsupported
/// checkpoint version N", "truncated: expected X bytes, found Y", "checksum mismatch", "corrupt: ...".
Checkpoint load_checkpoint(const std::string& path);
Checkpoint parse_checkpoint(const std::string& bytes, const std::string& name);

/// CRC-32 (IEEE, reflected, init and final xor 0xFFFFFFFF), computed by zlib's crc32; any
/// length (zlib's takes an unsigned int: longer buffers go in chunks). Chains: crc32(b, m,
/// crc32(a, n)) is the CRC of a's n bytes followed by b's m bytes.
uint32_t crc32(const void* data, std::size_t n, uint32_t crc = 0);

}  // namespace tg::io
