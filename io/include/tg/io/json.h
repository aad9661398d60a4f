// A small JSON value: null / bool / number / string / array / object (keys keep insertion
// order), a parser with line:column errors and a pretty writer. Numbers are written with
// round-trip precision; integers (no '.', 'e' in the text, or built from an integer) are
// kept exactly as int64 / uint64 so 64-bit seeds and counters survive a round trip.
// The parser is nlohmann-json's (its SAX interface, inside json.cpp: this header does not
// need it); the writer is this library's own, for format_double's numbers and strings that
// keep bytes which are not UTF-8.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace tg::io {

/// Shortest decimal text that reads back as exactly `v` (at most 17 significant digits).
/// Non-finite values give "nan", "inf", "-inf".
std::string format_double(double v);

/// Deepest nesting of arrays / objects the parser accepts (deeper documents are refused
/// rather than recursed into).
constexpr int kJsonMaxDepth = 128;

class Json {
 public:
  enum class Type { Null, Bool, Number, String, Array, Object };

  Json() = default;
  Json(std::nullptr_t) {}
  Json(bool b) : type_(Type::Bool), b_(b) {}
  Json(double d) : type_(Type::Number), num_(NumKind::Double), d_(d) {}
  Json(float d) : Json(static_cast<double>(d)) {}
  Json(int v) : Json(static_cast<long long>(v)) {}
  Json(long v) : Json(static_cast<long long>(v)) {}
  Json(long long v);
  Json(unsigned v) : Json(static_cast<unsigned long long>(v)) {}
  Json(unsigned long v) : Json(static_cast<unsigned long long>(v)) {}
  Json(unsigned long long v);
  Json(const char* s) : type_(Type::String), s_(s) {}
  Json(std::string s) : type_(Type::String), s_(std::move(s)) {}

  static Json array() { Json j; j.type_ = Type::Array; return j; }
  static Json object() { Json j; j.type_ = Type::Object; return j; }
  /// Array of numbers.
  static Json from_doubles(const std::vector<double>& v);

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::Null; }
  bool is_bool() const { return type_ == Type::Bool; }
  bool is_number() const { return type_ == Type::Number; }
  bool is_string() const { return type_ == Type::String; }
  bool is_array() const { return type_ == Type::Array; }
  bool is_object() const { return type_ == Type::Object; }
  /// True for numbers held exactly as integers.
  bool is_integer() const { return type_ == Type::Number && num_ != NumKind::Double; }

  // Accessors throw std::runtime_error (one line) on a type mismatch.
  bool as_bool() const;
  double as_double() const;
  int64_t as_int64() const;    // exact; a double must be integral and in range
  uint64_t as_uint64() const;  // exact; must be >= 0
  const std::string& as_string() const;
  std::vector<double> as_doubles() const;  // array of numbers

  // Arrays.
  std::size_t size() const;  // elements of an array / members of an object, else 0
  const Json& operator[](std::size_t i) const;
  Json& operator[](std::size_t i);
  void push_back(Json v);  // null becomes an array
  const std::vector<Json>& items() const { return arr_; }

  // Objects (insertion-ordered).
  Json& operator[](const std::string& key);  // inserts null if absent; null becomes an object
  Json& operator[](const char* key) { return (*this)[std::string(key)]; }
  const Json& at(const std::string& key) const;  // throws "missing key 'x'"
  const Json* find(const std::string& key) const;
  bool contains(const std::string& key) const { return find(key) != nullptr; }
  const std::vector<std::string>& keys() const { return keys_; }
  const std::vector<Json>& values() const { return arr_; }  // object values, in key order

  /// indent > 0: pretty, that many spaces per level; indent <= 0: compact one line.
  std::string dump(int indent = 2) const;
  /// Throws InputError "<source>:<line>:<col>: <what>" (text quoted from the document is
  /// escaped to one printable line). Nesting is limited to kJsonMaxDepth; duplicate keys and
  /// \u escapes of unpaired UTF-16 surrogates are refused. Bytes of a string that are not
  /// UTF-8 are kept as they are, as dump() writes them (a column name from a Latin-1 CSV
  /// header survives config.json).
  static Json parse(const std::string& text, const std::string& source = "<json>");

  bool operator==(const Json& o) const;
  bool operator!=(const Json& o) const { return !(*this == o); }

 private:
  enum class NumKind { Double, Int, UInt };
  Type type_ = Type::Null;
  NumKind num_ = NumKind::Double;
  bool b_ = false;
  double d_ = 0.0;
  int64_t i_ = 0;
  uint64_t u_ = 0;
  std::string s_;
  std::vector<std::string> keys_;  // objects
  std::vector<Json> arr_;          // array elements or object values
  void dump_to(std::string& out, int indent, int level) const;
  friend class JsonParser;
};

}  // namespace tg::io
