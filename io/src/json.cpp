#include "tg/io/json.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

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
// nlohmann-json's SAX parser reads the document; JsonParser builds the Json from its events.
// Three things nlohmann-json does differently are bridged here:
//  - its lexer refuses bytes that are not UTF-8, which strings here keep: before parsing, each
//    such byte inside a string is replaced by U+FFFD, and put back in the parsed string;
//  - it reports where its lexer stopped (a byte offset) with messages of its own: the message
//    and the position of the error (the offending token, character or \u escape) are worked out
//    from that offset, the parser's context and the text, as line:column;
//  - it takes a NUL byte outside strings for the end of the text, and skips a UTF-8 BOM: both
//    are refused here, as any other character that is not JSON.
namespace {
constexpr std::size_t npos = std::string::npos;
constexpr char kFffd[] = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

/// The text nlohmann-json parses, and what it takes to map its results back to the original.
struct Prepared {
  std::string text;                 // the original with bytes that are not UTF-8 replaced
  std::vector<std::size_t> marks;   // offsets in `text` of the U+FFFD that replace such bytes
  std::vector<std::size_t> quotes;  // offset in the original of each string's opening quote
  // String index -> each U+FFFD of that string's value, in order: the byte it stands for, or
  // -1 for a real U+FFFD (written raw or as \uFFFD). Only strings that had such bytes.
  std::unordered_map<std::size_t, std::vector<int>> fffd;
  std::size_t too_deep = npos;  // where the first value kJsonMaxDepth levels deep begins
  std::size_t nul = npos;       // the first NUL byte outside strings
};

/// Copies the string starting at t[i] (its opening quote) into p.text; returns the offset after it.
std::size_t copy_string(const std::string& t, std::size_t i, Prepared& p) {
  const std::size_t index = p.quotes.size();
  p.quotes.push_back(i);
  std::vector<int> fffd;
  bool replaced = false;
  p.text += t[i++];
  while (i < t.size()) {
    const char c = t[i];
    if (c == '"') {
      p.text += t[i++];
      break;
    }
    if (c == '\\') {  // the escape is nlohmann-json's to check; only \uFFFD matters here
      if (t.size() - i >= 6 && t[i + 1] == 'u') {
        std::string h = t.substr(i + 2, 4);
        for (char& x : h) x = static_cast<char>(std::tolower(static_cast<unsigned char>(x)));
        if (h == "fffd") fffd.push_back(-1);
      }
      p.text.append(t, i, 2);
      i += 2;
      continue;
    }
    const std::size_t n = detail::utf8_seq_len(t, i);
    if (n == 0) {
      p.marks.push_back(p.text.size());
      p.text += kFffd;
      fffd.push_back(static_cast<unsigned char>(c));
      replaced = true;
      ++i;
      continue;
    }
    if (t.compare(i, n, kFffd) == 0) fffd.push_back(-1);
    p.text.append(t, i, n);
    i += n;
  }
  if (replaced) p.fffd.emplace(index, std::move(fffd));
  return i;
}

Prepared prepare(const std::string& t) {
  Prepared p;
  p.text.reserve(t.size());
  std::size_t level = 0;  // arrays and objects open
  // '[' or '{' while in the first container kJsonMaxDepth levels deep, before its first value:
  // the error is reported where that value begins: an array's first element, or right after
  // the ':' of an object's first member.
  char deep = 0;
  for (std::size_t i = 0; i < t.size();) {
    const char c = t[i];
    if (deep == '[' && !is_ws(c)) {
      if (c != ']') p.too_deep = i;
      deep = 0;
    }
    if (c == '"') {
      i = copy_string(t, i, p);
      continue;
    }
    if (c == '[' || c == '{') {
      if (++level == static_cast<std::size_t>(kJsonMaxDepth) && p.too_deep == npos) deep = c;
    } else if (c == ']' || c == '}') {
      if (level == static_cast<std::size_t>(kJsonMaxDepth)) deep = 0;
      if (level > 0) --level;
    } else if (c == ':' && deep == '{' && level == static_cast<std::size_t>(kJsonMaxDepth)) {
      p.too_deep = i + 1;
      deep = 0;
    } else if (c == '\0' && p.nul == npos) {
      p.nul = i;
    }
    p.text += c;
    ++i;
  }
  return p;
}

/// Offset in the original of offset `at` of the prepared text.
std::size_t original_offset(const Prepared& p, std::size_t at) {
  const auto k = static_cast<std::size_t>(std::upper_bound(p.marks.begin(), p.marks.end(), at) - p.marks.begin());
  if (k > 0 && at < p.marks[k - 1] + 3) return p.marks[k - 1] - 2 * (k - 1);
  return at - 2 * k;
}

/// End of the token that starts at t[i] as nlohmann-json's lexer reads it: a malformed token
/// ends after the byte the lexer stopped at. `open`: the token runs into the end of the text.
std::size_t token_end(const std::string& t, std::size_t i, bool& open) {
  const std::size_t n = t.size();
  open = false;
  const auto stop_at = [&](std::size_t k) {
    if (k < n) return k + 1;
    open = true;
    return n;
  };
  const char c = t[i];
  if (c == '"') {
    for (std::size_t k = i + 1; k < n; ++k) {
      if (t[k] == '\\') ++k;
      else if (t[k] == '"') return k + 1;
    }
    return stop_at(n);
  }
  if (c == '-' || is_digit(c)) {
    std::size_t k = i + (c == '-' ? 1 : 0);
    const auto digits = [&]() {
      if (k >= n || !is_digit(t[k])) return false;
      while (k < n && is_digit(t[k])) ++k;
      return true;
    };
    if (k < n && t[k] == '0') ++k;
    else if (!digits()) return stop_at(k);
    if (k < n && t[k] == '.') {
      ++k;
      if (!digits()) return stop_at(k);
    }
    if (k < n && (t[k] == 'e' || t[k] == 'E')) {
      ++k;
      if (k < n && (t[k] == '+' || t[k] == '-')) ++k;
      if (!digits()) return stop_at(k);
    }
    return k;
  }
  for (const std::string_view lit : {"true", "false", "null"}) {
    if (c != lit[0]) continue;
    for (std::size_t k = 1; k < lit.size(); ++k)
      if (i + k >= n || t[i + k] != lit[k]) return stop_at(i + k);
    return i + lit.size();
  }
  return i + 1;  // structural character, NUL, or a byte that starts no token
}

/// Start of the token whose reading stopped at t[at] (at == size: the end of the text).
std::size_t token_start(const std::string& t, std::size_t at) {
  for (std::size_t i = 0; i < t.size() && i <= at;) {
    if (is_ws(t[i])) {
      ++i;
      continue;
    }
    bool open = false;
    const std::size_t e = token_end(t, i, open);
    if (at < e || (open && at == t.size())) return i;
    i = e;
  }
  return at;
}

std::string describe(const std::string& t, std::size_t at) {
  if (at >= t.size()) return "end of input";
  const auto c = static_cast<unsigned char>(t[at]);
  if (c < 0x20) return "control character";
  if (c >= 0x80) return "byte " + detail::printable(std::string(1, t[at]));
  return std::string("'") + t[at] + "'";
}

bool ends_with(const std::string& s, std::string_view end) {
  return s.size() >= end.size() && s.compare(s.size() - end.size(), end.size(), end) == 0;
}
}  // namespace

class JsonParser {
 public:
  using nj = nlohmann::json;

  JsonParser(const std::string& t, const std::string& src) : t_(t), src_(src), p_(prepare(t)) {}

  Json parse_document() {
    if (!t_.empty() && t_[0] == '\xEF') fail_at(0, "unexpected " + describe(t_, 0) + ", expected a value");  // no BOM
    if (!nj::sax_parse(p_.text, this)) {
      switch (error_) {
        case Error::Depth: too_deep(t_.size());
        case Error::Duplicate: fail_at(dup_at_, "duplicate key '" + dup_key_ + "'");
        case Error::Syntax: syntax_error();
        case Error::None: break;
      }
      fail_at(0, "invalid JSON");
    }
    if (p_.nul != npos) fail_at(p_.nul, "unexpected trailing characters");
    return std::move(root_);
  }

  // The SAX interface of nlohmann-json.
  bool null() { return add(Json()) != nullptr; }
  bool boolean(bool b) { return add(Json(b)) != nullptr; }
  bool number_integer(nj::number_integer_t v) { return add(Json(static_cast<long long>(v))) != nullptr; }
  bool number_unsigned(nj::number_unsigned_t v) { return add(Json(static_cast<unsigned long long>(v))) != nullptr; }
  bool number_float(nj::number_float_t v, const nj::string_t&) { return add(Json(static_cast<double>(v))) != nullptr; }
  bool string(nj::string_t& s) { return add(Json(next_string(s))) != nullptr; }
  bool binary(nj::binary_t&) { return true; }  // not in JSON text
  bool start_object(std::size_t) { return open(Json::object()); }
  bool start_array(std::size_t) { return open(Json::array()); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool key(nj::string_t& k) {
    const std::size_t index = strings_;
    std::string key = next_string(k);
    if (!seen_.back().insert(key).second) {
      error_ = Error::Duplicate;
      dup_at_ = p_.quotes[index];
      dup_key_ = std::move(key);
      return false;
    }
    stack_.back()->keys_.push_back(std::move(key));
    return true;
  }
  bool parse_error(std::size_t position, const std::string& last_token, const nlohmann::detail::exception& ex) {
    error_ = Error::Syntax;
    err_at_ = position;
    err_token_ = last_token;
    err_what_ = ex.what();
    err_id_ = ex.id;
    return false;
  }

 private:
  enum class Error { None, Depth, Duplicate, Syntax };
  const std::string& t_;
  const std::string& src_;
  Prepared p_;
  Json root_;
  bool started_ = false;
  std::vector<Json*> stack_;                         // open arrays and objects
  std::vector<std::unordered_set<std::string>> seen_;  // their keys (empty for arrays)
  std::size_t strings_ = 0;                          // strings and keys read
  Error error_ = Error::None;
  std::size_t dup_at_ = 0;
  std::string dup_key_;
  std::size_t err_at_ = 0;
  std::string err_token_, err_what_;
  int err_id_ = 0;

  [[noreturn]] void fail_at(std::size_t pos, const std::string& what) const {
    int line = 1, col = 1;
    for (std::size_t i = 0; i < pos && i < t_.size(); ++i) {
      if (t_[i] == '\n') { ++line; col = 1; } else { ++col; }
    }
    throw InputError(src_ + ":" + std::to_string(line) + ":" + std::to_string(col) + ": " + detail::printable(what));
  }

  /// The next string's value, with the bytes that were not UTF-8 put back.
  std::string next_string(std::string& s) {
    const auto it = p_.fffd.find(strings_++);
    if (it == p_.fffd.end()) return std::move(s);
    std::string out;
    out.reserve(s.size());
    std::size_t k = 0;
    for (std::size_t i = 0; i < s.size();) {
      if (k < it->second.size() && s.compare(i, 3, kFffd) == 0) {
        const int b = it->second[k++];
        if (b < 0) out.append(kFffd);
        else out += static_cast<char>(b);
        i += 3;
      } else {
        out += s[i++];
      }
    }
    return out;
  }

  Json* add(Json v) {
    if (stack_.size() >= static_cast<std::size_t>(kJsonMaxDepth)) {
      error_ = Error::Depth;
      return nullptr;
    }
    started_ = true;
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    Json& top = *stack_.back();
    top.arr_.push_back(std::move(v));
    return &top.arr_.back();
  }
  bool open(Json v) {
    Json* j = add(std::move(v));
    if (!j) return false;
    stack_.push_back(j);
    seen_.emplace_back();
    return true;
  }
  bool close() {
    stack_.pop_back();
    seen_.pop_back();
    return true;
  }

  [[noreturn]] void too_deep(std::size_t fallback) const {
    fail_at(p_.too_deep != npos ? p_.too_deep : fallback, "nesting deeper than " + std::to_string(kJsonMaxDepth) + " levels");
  }

  /// nlohmann-json's error as this parser words it, at the offending token, character or escape.
  [[noreturn]] void syntax_error() const {
    const std::string& w = err_what_;
    // The last byte its lexer read (an offset past the end: it read the end of the text).
    const std::size_t last = original_offset(p_, std::min(err_at_, p_.text.size() + 1) - (err_at_ > 0 ? 1 : 0));
    const std::size_t at = token_start(t_, last);
    std::string context = "value";  // object key, object separator, object, array
    if (std::size_t a = w.find("while parsing "); a != npos) {
      a += 14;
      context = w.substr(a, w.find(" - ", a) - a);
    }
    std::string lexer;  // the lexer's message when the token itself is malformed
    const std::size_t dash = w.find(" - "), read = w.find("; last read: '");
    if (dash != npos && read != npos && dash < read) lexer = w.substr(dash + 3, read - dash - 3);
    const bool value = context == "value";

    if (ends_with(w, "; expected end of input")) fail_at(at, "unexpected trailing characters");
    if (value && stack_.size() >= static_cast<std::size_t>(kJsonMaxDepth)) too_deep(at);
    if (err_id_ == 406) fail_at(at, "number out of range: " + err_token_);
    const char c = at < t_.size() ? t_[at] : '\0';
    if (!lexer.empty() && c == '"' && (value || context == "object key")) string_error(last, lexer);
    if (!lexer.empty() && value && (c == '-' || is_digit(c))) {
      if (ends_with(lexer, "after '-'")) fail_at(last, "invalid number");
      if (ends_with(lexer, "after '.'")) fail_at(last, "invalid number: digit expected after '.'");
      fail_at(last, "invalid number: digit expected in exponent");
    }
    if (value && at == t_.size() && !started_) fail_at(at, "empty document");
    const char* expected = context == "object key"         ? "a string key"
                           : context == "object separator" ? "':'"
                           : context == "object"           ? "',' or '}'"
                           : context == "array"            ? "',' or ']'"
                                                           : "a value";
    fail_at(at, "unexpected " + describe(t_, at) + ", expected " + expected);
  }

  /// A malformed string whose reading stopped at t_[at] (at == size: the end of the text).
  [[noreturn]] void string_error(std::size_t at, const std::string& lexer) const {
    const std::size_t n = t_.size();
    if (lexer.find("missing closing quote") != npos) fail_at(n, "unterminated string");
    if (lexer.find("control character") != npos) fail_at(at, "control character in string");
    if (lexer.find("after backslash") != npos) {
      if (at >= n) fail_at(n, "unterminated string");
      fail_at(at, std::string("invalid escape '\\") + t_[at] + "'");
    }
    if (lexer.find("4 hex digits") != npos) {  // at: the byte that is not a hex digit
      std::size_t u = at - 1;  // the 'u' of the escape, before up to 3 hex digits
      while (u + 4 > at && is_hex(t_[u])) --u;
      if (u + 5 > n) fail_at(u + 1, "truncated \\u escape");
      fail_at(at, "bad hex digit in \\u escape");
    }
    if (lexer.find("must follow") != npos) fail_at(at - 5, "unpaired surrogate in \\u escape");  // a lone low surrogate
    if (lexer.find("must be followed") != npos) {  // a high surrogate without its low half
      if (at < n && at >= 11 && t_[at - 5] == '\\') fail_at(at - 11, "invalid surrogate pair");  // at: the last hex digit of the next \u
      const std::size_t hex_end = t_[at - 1] == '\\' ? at - 2 : at - 1;  // at: the byte after the escape, or after its '\'
      fail_at(hex_end - 5, "unpaired surrogate in \\u escape");
    }
    fail_at(at, lexer);
  }
};

Json Json::parse(const std::string& text, const std::string& source) {
  return JsonParser(text, source).parse_document();
}

}  // namespace tg::io
