// Internal helpers of the io module: UTF-8 validation and one-line, printable error text.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tg::io::detail {

/// Length of the well-formed UTF-8 sequence starting at s[i] (1-4), or 0 if the bytes there
/// are not one (stray continuation byte, overlong form, surrogate, > U+10FFFF, truncated).
inline std::size_t utf8_seq_len(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) n = 2;
  else if (c == 0xE0) { n = 3; lo = 0xA0; }
  else if (c >= 0xE1 && c <= 0xEC) n = 3;
  else if (c == 0xED) { n = 3; hi = 0x9F; }  // no UTF-16 surrogates
  else if (c >= 0xEE && c <= 0xEF) n = 3;
  else if (c == 0xF0) { n = 4; lo = 0x90; }
  else if (c >= 0xF1 && c <= 0xF3) n = 4;
  else if (c == 0xF4) { n = 4; hi = 0x8F; }
  else return 0;
  if (i + n > s.size()) return 0;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k)
    if (b(i + k) < 0x80 || b(i + k) > 0xBF) return 0;
  return n;
}

/// Offset of the first byte that is not part of well-formed UTF-8, or npos.
inline std::size_t find_bad_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = utf8_seq_len(s, i);
    if (n == 0) return i;
    i += n;
  }
  return std::string_view::npos;
}

/// `s` with control characters and bytes that are not well-formed UTF-8 written as \n, \t,
/// \xNN: what error messages quote, so that they stay one printable line.
inline std::string printable(std::string_view s) {
  static const char* hex = "0123456789abcdef";
  std::string o;
  o.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t n = utf8_seq_len(s, i);
    if (n > 1) {
      o.append(s.substr(i, n));
      i += n;
      continue;
    }
    if (c == '\n') o += "\\n";
    else if (c == '\r') o += "\\r";
    else if (c == '\t') o += "\\t";
    else if (n == 0 || c < 0x20 || c == 0x7F) {
      o += "\\x";
      o += hex[c >> 4];
      o += hex[c & 15];
    } else {
      o += static_cast<char>(c);
    }
    ++i;
  }
  return o;
}

}  // namespace tg::io::detail
