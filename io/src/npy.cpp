#include "tg/io/npy.h"

#include <cctype>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string_view>

#include "tg/io/error.h"
#include "tg/io/fs.h"
#include "text.h"

namespace tg::io {

namespace {
bool little_endian_host() {
  const uint16_t x = 1;
  unsigned char b;
  std::memcpy(&b, &x, 1);
  return b == 1;
}
}  // namespace

int64_t NpyArray::size() const {
  // Saturates instead of overflowing (a parsed array never gets there: parse_npy checks the
  // element count against the bytes in the file).
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d <= 0) return 0;
    if (__builtin_mul_overflow(n, d, &n)) n = INT64_MAX;
  }
  return n;
}

namespace {

class HeaderParser {
 public:
  static constexpr std::size_t kMaxRank = 32;  // NumPy's own limit is 64; windows are rank 3

  HeaderParser(const std::string& h, const std::string& name) : h_(h), name_(name) {}

  void parse(std::string& descr, bool& fortran, std::vector<int64_t>& shape) {
    bool got_descr = false, got_fortran = false, got_shape = false;
    ws();
    expect('{');
    for (;;) {
      ws();
      if (peek() == '}') { ++p_; break; }
      const std::string key = str();
      ws();
      expect(':');
      ws();
      if (key == "descr") {
        descr = str();
        got_descr = true;
      } else if (key == "fortran_order") {
        if (h_.compare(p_, 4, "True") == 0) { fortran = true; p_ += 4; }
        else if (h_.compare(p_, 5, "False") == 0) { fortran = false; p_ += 5; }
        else fail("fortran_order must be True or False");
        got_fortran = true;
      } else if (key == "shape") {
        expect('(');
        for (;;) {
          ws();
          if (peek() == ')') { ++p_; break; }
          if (!std::isdigit(static_cast<unsigned char>(peek()))) fail("bad shape");
          int64_t v = 0;
          while (std::isdigit(static_cast<unsigned char>(peek()))) {
            if (v > (int64_t{1} << 50)) fail("shape dimension too large");
            v = v * 10 + (h_[p_++] - '0');
          }
          if (peek() == 'L') ++p_;  // Python 2 longs
          if (shape.size() >= kMaxRank) fail("more than " + std::to_string(kMaxRank) + " dimensions");
          shape.push_back(v);
          ws();
          if (peek() == ',') ++p_;
          else if (peek() != ')') fail("bad shape");
        }
        got_shape = true;
      } else {
        fail("unexpected key '" + key + "'");
      }
      ws();
      if (peek() == ',') { ++p_; continue; }
      ws();
      if (peek() == '}') { ++p_; break; }
      fail("expected ',' or '}'");
    }
    if (!got_descr) fail("missing 'descr'");
    if (!got_fortran) fail("missing 'fortran_order'");
    if (!got_shape) fail("missing 'shape'");
  }

 private:
  const std::string& h_;
  const std::string& name_;
  std::size_t p_ = 0;
  char peek() const { return p_ < h_.size() ? h_[p_] : '\0'; }
  void ws() {
    while (p_ < h_.size() && (h_[p_] == ' ' || h_[p_] == '\t' || h_[p_] == '\n')) ++p_;
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw InputError(name_ + ": bad NPY header: " + detail::printable(what) + " (at offset " + std::to_string(p_) + ")");
  }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++p_;
  }
  std::string str() {
    const char q = peek();
    if (q != '\'' && q != '"') fail("expected a quoted string");
    ++p_;
    const std::size_t b = p_;
    while (p_ < h_.size() && h_[p_] != q) ++p_;
    if (p_ >= h_.size()) fail("unterminated string");
    return h_.substr(b, p_++ - b);
  }
};

uint32_t rd_le(const unsigned char* p, int n) {
  uint32_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

NpyArray parse_npy(const std::string& bytes, const std::string& name) {
  if (!little_endian_host()) throw InputError(name + ": NPY reading needs a little-endian host");
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() < 10 || std::memcmp(b, "\x93NUMPY", 6) != 0)
    throw InputError(name + ": not an NPY file (bad magic)");
  const int major = b[6], minor = b[7];
  std::size_t hlen = 0, off = 0;
  if (major == 1) {
    hlen = rd_le(b + 8, 2);
    off = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw InputError(name + ": truncated NPY header");
    hlen = rd_le(b + 8, 4);
    off = 12;
  } else {
    throw InputError(name + ": unsupported NPY version " + std::to_string(major) + "." + std::to_string(minor));
  }
  if (bytes.size() < off + hlen)
    throw InputError(name + ": truncated NPY header: expected " + std::to_string(hlen) + " header bytes, found " +
                     std::to_string(bytes.size() - off));
  const std::string header = bytes.substr(off, hlen);
  std::string descr;
  bool fortran = false;
  NpyArray a;
  HeaderParser(header, name).parse(descr, fortran, a.shape);
  std::size_t esize = 0;
  if (descr == "<f8") esize = 8;
  else if (descr == "<f4") esize = 4;
  else throw InputError(name + ": unsupported NPY dtype '" + detail::printable(descr) + "' (only '<f4' and '<f8' are read)");
  if (fortran) throw InputError(name + ": NPY array is in Fortran order (only C order is read)");
  // The element count comes from the file: compute it without overflow and compare it with the
  // bytes actually there before allocating anything.
  const std::size_t have = bytes.size() - off - hlen;
  std::string shape_text = "(";
  for (std::size_t i = 0; i < a.shape.size(); ++i) shape_text += (i ? ", " : "") + std::to_string(a.shape[i]);
  shape_text += a.shape.size() == 1 ? ",)" : ")";
  uint64_t n = 1, need_bytes = 0;
  bool zero = false, overflow = false;
  for (int64_t d : a.shape) {
    if (d == 0) zero = true;
    else if (__builtin_mul_overflow(n, static_cast<uint64_t>(d), &n)) overflow = true;
  }
  if (zero) n = 0;
  overflow = !zero && (overflow || __builtin_mul_overflow(n, static_cast<uint64_t>(esize), &need_bytes));
  if (overflow || need_bytes > have)
    throw InputError(name + ": truncated: expected " +
                     (overflow ? std::string("more than 2^64") : std::to_string(need_bytes)) + " data bytes, found " +
                     std::to_string(have) + " (shape " + shape_text + " of " + std::to_string(esize) +
                     "-byte elements)");
  const std::size_t need = static_cast<std::size_t>(n) * esize;
  if (have > need)
    throw InputError(name + ": " + std::to_string(have - need) + " unexpected bytes after the array data");
  a.data.resize(static_cast<std::size_t>(n));
  const char* src = bytes.data() + off + hlen;
  if (need == 0) return a;
  if (esize == 8) {
    std::memcpy(a.data.data(), src, need);
  } else {
    for (std::size_t i = 0; i < n; ++i) {
      float f;
      std::memcpy(&f, src + i * 4, 4);
      a.data[static_cast<std::size_t>(i)] = f;
    }
  }
  return a;
}

NpyArray read_npy(const std::string& path) {
  // The magic first, so that a file that is no NPY file is refused before it is read whole.
  auto magic = [&](std::string_view head) {
    if (head.size() < 6 || head.compare(0, 6, "\x93NUMPY") != 0) throw InputError(path + ": not an NPY file (bad magic)");
  };
  return parse_npy(read_file(path, 6, magic), path);
}

std::string npy_bytes(const NpyArray& a, NpyDtype dtype) {
  if (!little_endian_host()) throw std::runtime_error("NPY writing needs a little-endian host");
  for (int64_t d : a.shape)
    if (d < 0) throw std::invalid_argument("write_npy: negative dimension");
  if (a.size() != static_cast<int64_t>(a.data.size()))
    throw std::invalid_argument("write_npy: data size " + std::to_string(a.data.size()) +
                                " does not match the shape (" + std::to_string(a.size()) + " elements)");
  std::string dict = std::string("{'descr': '") + (dtype == NpyDtype::F64 ? "<f8" : "<f4") +
                     "', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < a.shape.size(); ++i) {
    dict += std::to_string(a.shape[i]);
    if (a.shape.size() == 1 || i + 1 < a.shape.size()) dict += ",";
    if (i + 1 < a.shape.size()) dict += " ";
  }
  dict += "), }";
  bool v2 = false;
  std::size_t pre = 10;
  std::size_t total = pre + dict.size() + 1;
  std::size_t padded = (total + 63) / 64 * 64;
  if (padded - pre > 65535) {
    v2 = true;
    pre = 12;
    total = pre + dict.size() + 1;
    padded = (total + 63) / 64 * 64;
  }
  dict.append(padded - total, ' ');
  dict += '\n';
  const std::size_t hlen = dict.size();
  std::string out = "\x93NUMPY";
  out += static_cast<char>(v2 ? 2 : 1);
  out += '\0';
  for (int i = 0; i < (v2 ? 4 : 2); ++i) out += static_cast<char>((hlen >> (8 * i)) & 0xFF);
  out += dict;
  const std::size_t esize = dtype == NpyDtype::F64 ? 8 : 4;
  const std::size_t start = out.size();
  out.resize(start + a.data.size() * esize);
  if (a.data.empty()) return out;
  if (dtype == NpyDtype::F64) {
    std::memcpy(&out[start], a.data.data(), a.data.size() * 8);
  } else {
    for (std::size_t i = 0; i < a.data.size(); ++i) {
      const float f = static_cast<float>(a.data[i]);
      std::memcpy(&out[start + i * 4], &f, 4);
    }
  }
  return out;
}

void write_npy(const std::string& path, const NpyArray& a, NpyDtype dtype) {
  const std::string b = npy_bytes(a, dtype);
  atomic_write(path, b.data(), b.size());
}

}  // namespace tg::io
