#include "tg/io/json.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <unordered_set>

#include "tg/io/error.h"
#include "text.h"

namespace tg::io {

std::string format_double(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[40];
  for (int prec = 15; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

Json::Json(long long v) : type_(Type::Number), num_(NumKind::Int), d_(static_cast<double>(v)), i_(v) {}
Json::Json(unsigned long long v) : type_(Type::Number), d_(static_cast<double>(v)) {
  if (v <= static_cast<unsigned long long>(std::numeric_limits<int64_t>::max())) {
    num_ = NumKind::Int;
    i_ = static_cast<int64_t>(v);
  } else {
    num_ = NumKind::UInt;
    u_ = v;
  }
}

Json Json::from_doubles(const std::vector<double>& v) {
  Json a = array();
  a.arr_.reserve(v.size());
  for (double x : v) a.arr_.emplace_back(x);
  return a;
}

namespace {
const char* type_name(Json::Type t) {
  switch (t) {
    case Json::Type::Null: return "null";
    case Json::Type::Bool: return "bool";
    case Json::Type::Number: return "number";
    case Json::Type::String: return "string";
    case Json::Type::Array: return "array";
    case Json::Type::Object: return "object";
  }
  return "?";
}
[[noreturn]] void type_error(const char* want, Json::Type got) {
  throw std::runtime_error(std::string("json: expected ") + want + ", got " + type_name(got));
}
}  // namespace

bool Json::as_bool() const {
  if (type_ != Type::Bool) type_error("bool", type_);
  return b_;
}
double Json::as_double() const {
  if (type_ != Type::Number) type_error("number", type_);
  return d_;
}
int64_t Json::as_int64() const {
  if (type_ != Type::Number) type_error("number", type_);
  if (num_ == NumKind::Int) return i_;
  if (num_ == NumKind::UInt) throw std::runtime_error("json: integer out of int64 range");
  if (!(d_ == std::floor(d_)) || std::fabs(d_) > 9007199254740992.0)
    throw std::runtime_error("json: expected an integer, got " + format_double(d_));
  return static_cast<int64_t>(d_);
}
uint64_t Json::as_uint64() const {
  if (type_ != Type::Number) type_error("number", type_);
  if (num_ == NumKind::UInt) return u_;
  const int64_t v = as_int64();
  if (v < 0) throw std::runtime_error("json: expected a non-negative integer, got " + std::to_string(v));
  return static_cast<uint64_t>(v);
}
const std::string& Json::as_string() const {
  if (type_ != Type::String) type_error("string", type_);
  return s_;
}
std::vector<double> Json::as_doubles() const {
  if (type_ != Type::Array) type_error("array", type_);
  std::vector<double> out;
  out.reserve(arr_.size());
  for (const auto& x : arr_) out.push_back(x.as_double());
  return out;
}

std::size_t Json::size() const {
  return (type_ == Type::Array || type_ == Type::Object) ? arr_.size() : 0;
}
const Json& Json::operator[](std::size_t i) const {
  if (type_ != Type::Array) type_error("array", type_);
  if (i >= arr_.size()) throw std::runtime_error("json: index " + std::to_string(i) + " out of range");
  return arr_[i];
}
Json& Json::operator[](std::size_t i) {
  if (type_ != Type::Array) type_error("array", type_);
  if (i >= arr_.size()) throw std::runtime_error("json: index " + std::to_string(i) + " out of range");
  return arr_[i];
}
void Json::push_back(Json v) {
  if (type_ == Type::Null) type_ = Type::Array;
  if (type_ != Type::Array) type_error("array", type_);
  arr_.push_back(std::move(v));
}
Json& Json::operator[](const std::string& key) {
  if (type_ == Type::Null) type_ = Type::Object;
  if (type_ != Type::Object) type_error("object", type_);
  for (std::size_t i = 0; i < keys_.size(); ++i)
    if (keys_[i] == key) return arr_[i];
  keys_.push_back(key);
  arr_.emplace_back();
  return arr_.back();
}
const Json* Json::find(const std::string& key) const {
  if (type_ != Type::Object) return nullptr;
  for (std::size_t i = 0; i < keys_.size(); ++i)
    if (keys_[i] == key) return &arr_[i];
  return nullptr;
}
const Json& Json::at(const std::string& key) const {
  if (type_ != Type::Object) type_error("object", type_);
  const Json* j = find(key);
  if (!j) throw std::runtime_error("json: missing key '" + key + "'");
  return *j;
}

bool Json::operator==(const Json& o) const {
  if (type_ != o.type_) return false;
  switch (type_) {
    case Type::Null: return true;
    case Type::Bool: return b_ == o.b_;
    case Type::Number:
      if (num_ == NumKind::Double || o.num_ == NumKind::Double) return d_ == o.d_;
      return num_ == o.num_ && i_ == o.i_ && u_ == o.u_;
    case Type::String: return s_ == o.s_;
    case Type::Array: return arr_ == o.arr_;
    case Type::Object: return keys_ == o.keys_ && arr_ == o.arr_;
  }
  return false;
}

// ---------------------------------------------------------------- writer
namespace {
void escape_to(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}
void newline(std::string& out, int indent, int level) {
  if (indent <= 0) return;
  out += '\n';
  out.append(static_cast<std::size_t>(indent * level), ' ');
}
}  // namespace

void Json::dump_to(std::string& out, int indent, int level) const {
  switch (type_) {
    case Type::Null: out += "null"; return;
    case Type::Bool: out += b_ ? "true" : "false"; return;
    case Type::Number:
      if (num_ == NumKind::Int) {
        out += std::to_string(i_);
      } else if (num_ == NumKind::UInt) {
        out += std::to_string(u_);
      } else {
        if (!std::isfinite(d_))
          throw std::runtime_error("json: cannot write non-finite number " + format_double(d_));
        std::string t = format_double(d_);
        // Keep doubles recognisable as doubles when read back (1.0, not 1).
        if (t.find_first_of(".eE") == std::string::npos) t += ".0";
        out += t;
      }
      return;
    case Type::String: escape_to(out, s_); return;
    case Type::Array:
      if (arr_.empty()) { out += "[]"; return; }
      out += '[';
      for (std::size_t i = 0; i < arr_.size(); ++i) {
        if (i) out += indent > 0 ? "," : ",";
        newline(out, indent, level + 1);
        arr_[i].dump_to(out, indent, level + 1);
      }
      newline(out, indent, level);
      out += ']';
      return;
    case Type::Object:
      if (arr_.empty()) { out += "{}"; return; }
      out += '{';
      for (std::size_t i = 0; i < arr_.size(); ++i) {
        if (i) out += ',';
        newline(out, indent, level + 1);
        escape_to(out, keys_[i]);
        out += indent > 0 ? ": " : ":";
        arr_[i].dump_to(out, indent, level + 1);
      }
      newline(out, indent, level);
      out += '}';
      return;
  }
}

std::string Json::dump(int indent) const {
  std::string out;
  dump_to(out, indent, 0);
  return out;
}

// ---------------------------------------------------------------- parser
class JsonParser {
 public:
  JsonParser(const std::string& t, const std::string& src) : t_(t), src_(src) {}

  Json parse_document() {
    skip_ws();
    if (p_ >= t_.size()) fail("empty document");
    Json v = value(0);
    skip_ws();
    if (p_ < t_.size()) fail("unexpected trailing characters");
    return v;
  }

 private:
  const std::string& t_;
  const std::string& src_;
  std::size_t p_ = 0;

  [[noreturn]] void fail(const std::string& what) const { fail_at(p_, what); }
  [[noreturn]] void fail_at(std::size_t pos, const std::string& what) const {
    int line = 1, col = 1;
    for (std::size_t i = 0; i < pos && i < t_.size(); ++i) {
      if (t_[i] == '\n') { ++line; col = 1; } else { ++col; }
    }
    throw InputError(src_ + ":" + std::to_string(line) + ":" + std::to_string(col) + ": " + detail::printable(what));
  }
  void skip_ws() {
    while (p_ < t_.size() && (t_[p_] == ' ' || t_[p_] == '\t' || t_[p_] == '\n' || t_[p_] == '\r')) ++p_;
  }
  bool consume(const char* lit) {
    std::size_t n = std::char_traits<char>::length(lit);
    if (t_.compare(p_, n, lit) == 0) { p_ += n; return true; }
    return false;
  }
  std::string describe_here() const {
    if (p_ >= t_.size()) return "end of input";
    const char c = t_[p_];
    if (static_cast<unsigned char>(c) < 0x20) return "control character";
    if (static_cast<unsigned char>(c) >= 0x80) return "byte " + detail::printable(std::string(1, c));
    return std::string("'") + c + "'";
  }

  Json value(int depth) {
    if (depth >= kJsonMaxDepth) fail("nesting deeper than " + std::to_string(kJsonMaxDepth) + " levels");
    skip_ws();
    if (p_ >= t_.size()) fail("unexpected end of input, expected a value");
    const char c = t_[p_];
    if (c == '{') return object(depth);
    if (c == '[') return array(depth);
    if (c == '"') return Json(string());
    if (c == '-' || (c >= '0' && c <= '9')) return number();
    if (consume("true")) return Json(true);
    if (consume("false")) return Json(false);
    if (consume("null")) return Json();
    fail("unexpected " + describe_here() + ", expected a value");
  }

  Json object(int depth) {
    ++p_;  // '{'
    Json o = Json::object();
    std::unordered_set<std::string> seen;  // for large objects (a linear search would be quadratic)
    skip_ws();
    if (p_ < t_.size() && t_[p_] == '}') { ++p_; return o; }
    for (;;) {
      skip_ws();
      if (p_ >= t_.size() || t_[p_] != '"') fail("unexpected " + describe_here() + ", expected a string key");
      const std::size_t key_pos = p_;
      std::string key = string();
      if (o.keys_.size() == 16) seen.insert(o.keys_.begin(), o.keys_.end());
      const bool dup = o.keys_.size() < 16 ? o.find(key) != nullptr : !seen.insert(key).second;
      if (dup) fail_at(key_pos, "duplicate key '" + key + "'");
      skip_ws();
      if (p_ >= t_.size() || t_[p_] != ':') fail("unexpected " + describe_here() + ", expected ':'");
      ++p_;
      Json v = value(depth + 1);
      o.keys_.push_back(std::move(key));
      o.arr_.push_back(std::move(v));
      skip_ws();
      if (p_ < t_.size() && t_[p_] == ',') { ++p_; continue; }
      if (p_ < t_.size() && t_[p_] == '}') { ++p_; return o; }
      fail("unexpected " + describe_here() + ", expected ',' or '}'");
    }
  }

  Json array(int depth) {
    ++p_;  // '['
    Json a = Json::array();
    skip_ws();
    if (p_ < t_.size() && t_[p_] == ']') { ++p_; return a; }
    for (;;) {
      a.arr_.push_back(value(depth + 1));
      skip_ws();
      if (p_ < t_.size() && t_[p_] == ',') { ++p_; continue; }
      if (p_ < t_.size() && t_[p_] == ']') { ++p_; return a; }
      fail("unexpected " + describe_here() + ", expected ',' or ']'");
    }
  }

  static void put_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  uint32_t hex4() {
    if (p_ + 4 > t_.size()) fail("truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = t_[p_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<uint32_t>(c - 'A' + 10);
      else { --p_; fail("bad hex digit in \\u escape"); }
    }
    return v;
  }

  std::string string() {
    ++p_;  // opening quote
    std::string out;
    for (;;) {
      if (p_ >= t_.size()) fail("unterminated string");
      const char c = t_[p_];
      if (c == '"') { ++p_; return out; }
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in string");
      if (c != '\\') { out += c; ++p_; continue; }
      ++p_;
      if (p_ >= t_.size()) fail("unterminated string");
      const char e = t_[p_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          const std::size_t esc = p_ - 2;
          uint32_t cp = hex4();
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (!(p_ + 1 < t_.size() && t_[p_] == '\\' && t_[p_ + 1] == 'u')) fail_at(esc, "unpaired surrogate in \\u escape");
            p_ += 2;
            const uint32_t lo = hex4();
            if (lo >= 0xDC00 && lo <= 0xDFFF) cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            else fail_at(esc, "invalid surrogate pair");
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            fail_at(esc, "unpaired surrogate in \\u escape");
          }
          put_utf8(out, cp);
          break;
        }
        default: --p_; fail(std::string("invalid escape '\\") + e + "'");
      }
    }
  }

  Json number() {
    const std::size_t start = p_;
    if (t_[p_] == '-') ++p_;
    if (p_ >= t_.size() || !(t_[p_] >= '0' && t_[p_] <= '9')) fail("invalid number");
    if (t_[p_] == '0') {
      ++p_;
    } else {
      while (p_ < t_.size() && t_[p_] >= '0' && t_[p_] <= '9') ++p_;
    }
    bool is_int = true;
    if (p_ < t_.size() && t_[p_] == '.') {
      is_int = false;
      ++p_;
      if (p_ >= t_.size() || !(t_[p_] >= '0' && t_[p_] <= '9')) fail("invalid number: digit expected after '.'");
      while (p_ < t_.size() && t_[p_] >= '0' && t_[p_] <= '9') ++p_;
    }
    if (p_ < t_.size() && (t_[p_] == 'e' || t_[p_] == 'E')) {
      is_int = false;
      ++p_;
      if (p_ < t_.size() && (t_[p_] == '+' || t_[p_] == '-')) ++p_;
      if (p_ >= t_.size() || !(t_[p_] >= '0' && t_[p_] <= '9')) fail("invalid number: digit expected in exponent");
      while (p_ < t_.size() && t_[p_] >= '0' && t_[p_] <= '9') ++p_;
    }
    const char* b = t_.data() + start;
    const char* e = t_.data() + p_;
    if (is_int) {
      long long iv = 0;
      auto r = std::from_chars(b, e, iv);
      if (r.ec == std::errc() && r.ptr == e) return Json(iv);
      unsigned long long uv = 0;
      auto r2 = std::from_chars(b, e, uv);
      if (r2.ec == std::errc() && r2.ptr == e) return Json(uv);
    }
    const std::string tok(b, e);
    const double d = std::strtod(tok.c_str(), nullptr);
    if (!std::isfinite(d)) fail_at(start, "number out of range: " + tok);
    return Json(d);
  }
};

Json Json::parse(const std::string& text, const std::string& source) {
  return JsonParser(text, source).parse_document();
}

}  // namespace tg::io
