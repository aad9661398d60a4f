#include "tg/io/checkpoint.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string_view>
#include <unordered_set>

#include <zlib.h>

#include "tg/io/error.h"
#include "tg/io/fs.h"
#include "text.h"

namespace tg::io {

namespace {
constexpr char kMagic[8] = {'T', 'G', 'C', 'K', 'P', 'T', '\r', '\n'};

bool little_endian_host() {
  const uint16_t x = 1;
  unsigned char b;
  std::memcpy(&b, &x, 1);
  return b == 1;
}

template <typename T>
void put(std::string& out, T v) {
  for (std::size_t i = 0; i < sizeof(T); ++i)
    out += static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xFF);
}

std::string hex32(uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof b, "0x%08x", v);
  return b;
}
}  // namespace

uint32_t crc32(const void* data, std::size_t n, uint32_t crc) {
  // zlib's crc32 takes its length as uInt: longer buffers go in chunks (the CRC chains).
  constexpr std::size_t kChunk = std::numeric_limits<uInt>::max();
  const auto* p = static_cast<const Bytef*>(data);
  uLong c = crc;
  while (n > 0) {
    const std::size_t len = std::min(n, kChunk);
    c = ::crc32(c, p, static_cast<uInt>(len));
    p += len;
    n -= len;
  }
  return static_cast<uint32_t>(c);
}

int64_t CkptTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

CkptTensor CkptTensor::from_f32(std::string name, std::vector<int64_t> shape, const float* data) {
  CkptTensor t;
  t.name = std::move(name);
  t.dtype = F32;
  t.shape = std::move(shape);
  t.bytes.resize(static_cast<std::size_t>(t.numel()) * 4);
  if (!t.bytes.empty()) std::memcpy(t.bytes.data(), data, t.bytes.size());
  return t;
}

CkptTensor CkptTensor::from_f64(std::string name, std::vector<int64_t> shape, const double* data) {
  CkptTensor t;
  t.name = std::move(name);
  t.dtype = F64;
  t.shape = std::move(shape);
  t.bytes.resize(static_cast<std::size_t>(t.numel()) * 8);
  if (!t.bytes.empty()) std::memcpy(t.bytes.data(), data, t.bytes.size());
  return t;
}

std::vector<float> CkptTensor::to_f32() const {
  const auto n = static_cast<std::size_t>(numel());
  std::vector<float> out(n);
  if (bytes.size() != n * element_size()) throw std::runtime_error("tensor '" + name + "': byte length mismatch");
  for (std::size_t i = 0; i < n; ++i) {
    if (dtype == F32) {
      std::memcpy(&out[i], bytes.data() + 4 * i, 4);
    } else {
      double d;
      std::memcpy(&d, bytes.data() + 8 * i, 8);
      out[i] = static_cast<float>(d);
    }
  }
  return out;
}

std::vector<double> CkptTensor::to_f64() const {
  const auto n = static_cast<std::size_t>(numel());
  std::vector<double> out(n);
  if (bytes.size() != n * element_size()) throw std::runtime_error("tensor '" + name + "': byte length mismatch");
  for (std::size_t i = 0; i < n; ++i) {
    if (dtype == F64) {
      std::memcpy(&out[i], bytes.data() + 8 * i, 8);
    } else {
      float f;
      std::memcpy(&f, bytes.data() + 4 * i, 4);
      out[i] = f;
    }
  }
  return out;
}

const CkptTensor* Checkpoint::find(const std::string& name) const {
  for (const auto& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

const CkptTensor& Checkpoint::get(const std::string& name) const {
  if (const CkptTensor* t = find(name)) return *t;
  std::string have;
  for (std::size_t i = 0; i < tensors.size() && i < 8; ++i) have += (i ? ", " : "") + tensors[i].name;
  if (tensors.size() > 8) have += ", ...";
  throw InputError((source.empty() ? std::string("checkpoint") : source) + ": checkpoint has no tensor '" + name +
                   "' (has " + std::to_string(tensors.size()) + (tensors.empty() ? "" : ": " + have) + ")");
}

std::string checkpoint_bytes(const Checkpoint& c) {
  if (!little_endian_host()) throw std::runtime_error("checkpoint writing needs a little-endian host");
  std::string out(kMagic, 8);
  put<uint32_t>(out, kCheckpointVersion);
  const std::size_t total_pos = out.size();
  put<uint64_t>(out, 0);  // patched below
  put<uint64_t>(out, c.config_json.size());
  out += c.config_json;
  put<uint64_t>(out, c.meta_json.size());
  out += c.meta_json;
  put<uint64_t>(out, c.tensors.size());
  for (std::size_t i = 0; i < c.tensors.size(); ++i) {
    const CkptTensor& t = c.tensors[i];
    if (t.name.empty()) throw std::invalid_argument("save_checkpoint: tensor " + std::to_string(i) + " has no name");
    for (std::size_t j = 0; j < i; ++j)
      if (c.tensors[j].name == t.name) throw std::invalid_argument("save_checkpoint: duplicate tensor '" + t.name + "'");
    if (t.dtype != CkptTensor::F32 && t.dtype != CkptTensor::F64)
      throw std::invalid_argument("save_checkpoint: tensor '" + t.name + "': bad dtype " + std::to_string(t.dtype));
    if (t.shape.size() > 255) throw std::invalid_argument("save_checkpoint: tensor '" + t.name + "': rank > 255");
    for (int64_t d : t.shape)
      if (d < 0) throw std::invalid_argument("save_checkpoint: tensor '" + t.name + "': negative dimension");
    if (t.bytes.size() != static_cast<std::size_t>(t.numel()) * t.element_size())
      throw std::invalid_argument("save_checkpoint: tensor '" + t.name + "': " + std::to_string(t.bytes.size()) +
                                  " bytes for " + std::to_string(t.numel()) + " elements");
    put<uint32_t>(out, static_cast<uint32_t>(t.name.size()));
    out += t.name;
    put<uint8_t>(out, t.dtype);
    put<uint8_t>(out, static_cast<uint8_t>(t.shape.size()));
    for (int64_t d : t.shape) put<uint64_t>(out, static_cast<uint64_t>(d));
    put<uint64_t>(out, t.bytes.size());
    out.append(reinterpret_cast<const char*>(t.bytes.data()), t.bytes.size());
  }
  const uint64_t total = out.size() + 4;
  for (std::size_t i = 0; i < 8; ++i) out[total_pos + i] = static_cast<char>((total >> (8 * i)) & 0xFF);
  put<uint32_t>(out, crc32(out.data(), out.size()));
  return out;
}

void save_checkpoint(const std::string& path, const Checkpoint& c) {
  const std::string b = checkpoint_bytes(c);
  atomic_write(path, b.data(), b.size());
}

namespace {
class Reader {
 public:
  Reader(const std::string& b, std::size_t end, const std::string& name) : b_(b), end_(end), name_(name) {}
  template <typename T>
  T get(const char* what) {
    need(sizeof(T), what);
    uint64_t v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i)
      v |= static_cast<uint64_t>(static_cast<unsigned char>(b_[p_ + i])) << (8 * i);
    p_ += sizeof(T);
    return static_cast<T>(v);
  }
  std::string bytes(uint64_t n, const char* what) {
    need(n, what);
    std::string s = b_.substr(p_, static_cast<std::size_t>(n));
    p_ += static_cast<std::size_t>(n);
    return s;
  }
  /// Checks that n bytes are there and steps over them; returns where they start.
  std::size_t skip(uint64_t n, const char* what) {
    need(n, what);
    const std::size_t at = p_;
    p_ += static_cast<std::size_t>(n);
    return at;
  }
  std::size_t pos() const { return p_; }
  void seek(std::size_t p) { p_ = p; }
  [[noreturn]] void corrupt(const std::string& what) const {
    throw InputError(name_ + ": corrupt checkpoint: " + detail::printable(what) + " (at byte " + std::to_string(p_) + ")");
  }

 private:
  const std::string& b_;
  std::size_t end_;
  const std::string& name_;
  std::size_t p_ = 0;
  void need(uint64_t n, const char* what) const {
    if (n > end_ - p_) corrupt(std::string(what) + " runs past the end of the data");
  }
};
}  // namespace

Checkpoint parse_checkpoint(const std::string& b, const std::string& name) {
  if (!little_endian_host()) throw std::runtime_error("checkpoint reading needs a little-endian host");
  const std::size_t n = b.size();
  if (n < 8 || std::memcmp(b.data(), kMagic, 8) != 0) {
    if (n > 0 && n < 8 && std::memcmp(b.data(), kMagic, n) == 0)
      throw InputError(name + ": truncated: expected at least 24 bytes, found " + std::to_string(n));
    throw InputError(name + ": not a TimeGAN checkpoint (bad magic)");
  }
  constexpr std::size_t kHead = 8 + 4 + 8;
  if (n < kHead) throw InputError(name + ": truncated: expected at least 24 bytes, found " + std::to_string(n));
  Reader hr(b, n, name);
  hr.seek(8);
  const auto version = hr.get<uint32_t>("version");
  if (version != kCheckpointVersion)
    throw InputError(name + ": unsupported checkpoint version " + std::to_string(version) + " (this build reads " +
                     std::to_string(kCheckpointVersion) + ")");
  const auto total = hr.get<uint64_t>("total size");
  if (total != n) {
    if (total > n)
      throw InputError(name + ": truncated: expected " + std::to_string(total) + " bytes, found " + std::to_string(n));
    throw InputError(name + ": corrupt checkpoint: expected " + std::to_string(total) + " bytes, found " +
                     std::to_string(n) + " (trailing data)");
  }
  if (n < kHead + 4) throw InputError(name + ": corrupt checkpoint: size field too small");
  uint32_t stored = 0;
  for (int i = 0; i < 4; ++i) stored |= static_cast<uint32_t>(static_cast<unsigned char>(b[n - 4 + i])) << (8 * i);
  const uint32_t computed = crc32(b.data(), n - 4);
  if (stored != computed)
    throw InputError(name + ": checksum mismatch (file is corrupt): stored " + hex32(stored) + ", computed " +
                     hex32(computed));

  Reader r(b, n - 4, name);
  r.seek(kHead);
  Checkpoint c;
  c.source = name;
  c.config_json = r.bytes(r.get<uint64_t>("config length"), "config");
  c.meta_json = r.bytes(r.get<uint64_t>("meta length"), "meta");
  const auto count = r.get<uint64_t>("tensor count");
  // Each tensor takes at least 14 bytes (name length, dtype, rank, byte length).
  if (count > n / 14) r.corrupt("impossible tensor count " + std::to_string(count));
  std::unordered_set<std::string> names;  // (Checkpoint::find is linear: quadratic over many tensors)
  for (uint64_t i = 0; i < count; ++i) {
    CkptTensor t;
    t.name = r.bytes(r.get<uint32_t>("tensor name length"), "tensor name");
    t.dtype = r.get<uint8_t>("dtype");
    if (t.dtype != CkptTensor::F32 && t.dtype != CkptTensor::F64)
      r.corrupt("tensor '" + t.name + "': unknown dtype " + std::to_string(t.dtype));
    const auto rank = r.get<uint8_t>("rank");
    uint64_t numel = 1;
    for (int k = 0; k < rank; ++k) {
      const auto d = static_cast<int64_t>(r.get<uint64_t>("dimension"));
      if (d < 0 || (d > 0 && numel > (uint64_t{1} << 60) / static_cast<uint64_t>(d)))
        r.corrupt("tensor '" + t.name + "': bad dimension " + std::to_string(d));
      numel *= static_cast<uint64_t>(d);
      t.shape.push_back(d);
    }
    const auto nbytes = r.get<uint64_t>("byte length");
    if (nbytes != numel * t.element_size())
      r.corrupt("tensor '" + t.name + "': " + std::to_string(nbytes) + " bytes for " + std::to_string(numel) +
                " elements");
    const std::size_t at = r.skip(nbytes, "tensor data");
    t.bytes.assign(b.begin() + static_cast<std::ptrdiff_t>(at), b.begin() + static_cast<std::ptrdiff_t>(at + nbytes));
    if (!names.insert(t.name).second) r.corrupt("duplicate tensor '" + t.name + "'");
    c.tensors.push_back(std::move(t));
  }
  if (r.pos() != n - 4) r.corrupt(std::to_string(n - 4 - r.pos()) + " unexpected bytes before the footer");
  return c;
}

Checkpoint load_checkpoint(const std::string& path) {
  // The magic first, so that a file that is no checkpoint is refused before it is read whole
  // (a shorter file is parse_checkpoint's to name).
  auto magic = [&](std::string_view head) {
    if (head.size() == sizeof kMagic && std::memcmp(head.data(), kMagic, sizeof kMagic) != 0)
      throw InputError(path + ": not a TimeGAN checkpoint (bad magic)");
  };
  return parse_checkpoint(read_file(path, sizeof kMagic, magic), path);
}

}  // namespace tg::io
