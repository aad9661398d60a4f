// NPY files from untrusted bytes: hand-built malicious headers (overflowing shapes, huge
// dimensions with no data, too many dimensions) are refused with one-line InputErrors before
// anything is allocated; windows [n, T, d] are checked before their columns are built.
#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "test_util.h"
#include "tg/io/dataset.h"
#include "tg/io/error.h"
#include "tg/io/npy.h"

using namespace tg::io;
using tgtest::has;

namespace {
template <typename F>
std::string input_error(F&& f) {
  return tgtest::error_of<InputError>(std::forward<F>(f));
}

/// A version-1 NPY file with this header dictionary (padded as NumPy pads) and data bytes.
std::string npy(const std::string& dict, const std::string& data = "") {
  std::string h = dict;
  while ((10 + h.size() + 1) % 64 != 0) h += ' ';
  h += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(h.size() & 0xFF);
  out += static_cast<char>(h.size() >> 8);
  return out + h + data;
}

std::string f8_header(const std::string& shape) {
  return "{'descr': '<f8', 'fortran_order': False, 'shape': " + shape + ", }";
}
std::string f4_header(const std::string& shape) {
  return "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
}
}  // namespace

TEST_CASE("npy: a shape whose element count overflows 64 bits is refused") {
  // 2^32 * 2^32 wraps to 0 in 64 bits: before the check this read as an empty array whose
  // shape claimed 2^64 elements (and crashed whoever trusted the shape).
  std::string m = input_error([] { parse_npy(npy(f8_header("(4294967296, 4294967296, 1)")), "o.npy"); });
  CHECK(m == "o.npy: truncated: expected more than 2^64 data bytes, found 0 (shape (4294967296, 4294967296, 1) of "
             "8-byte elements)");
  // 536903681 * 536838145 = 2^58 + 1, so the element count is 2^61 + 8 and its byte count
  // 2^64 + 64 wraps to the 64 bytes present: before the check this went on to resize a vector
  // to 2^61 elements.
  m = input_error([] {
    parse_npy(npy(f8_header("(536903681, 536838145, 8)"), std::string(64, '\0')), "w.npy");
  });
  CHECK(has(m, "w.npy: truncated: expected more than 2^64 data bytes, found 64 (shape (536903681, 536838145, 8)"));
  // '<f4': 2147549185 * 2147418113 = 2^62 + 1 elements, 2^64 + 4 bytes, wrapping to 4.
  m = input_error([] { parse_npy(npy(f4_header("(2147549185, 2147418113)"), std::string(4, '\0')), "f4.npy"); });
  CHECK(has(m, "f4.npy: truncated: expected more than 2^64 data bytes, found 4 (shape (2147549185, 2147418113) of "
               "4-byte elements)"));
}

TEST_CASE("npy: huge dimensions are checked against the bytes in the file") {
  std::string m = input_error([] { parse_npy(npy(f8_header("(1, 2, 1125899906842624)")), "h.npy"); });
  CHECK(m == "h.npy: truncated: expected 18014398509481984 data bytes, found 0 (shape (1, 2, 1125899906842624) of "
             "8-byte elements)");
  m = input_error([] { parse_npy(npy(f8_header("(3,)"), std::string(16, '\0')), "s.npy"); });
  CHECK(has(m, "s.npy: truncated: expected 24 data bytes, found 16 (shape (3,) of 8-byte elements)"));
  m = input_error([] { parse_npy(npy(f8_header("(11258999068426240000,)")), "d.npy"); });
  CHECK(has(m, "d.npy: bad NPY header: shape dimension too large"));
  std::string rank = "(";
  for (int i = 0; i < 40; ++i) rank += "1, ";
  rank += ")";
  m = input_error([&] { parse_npy(npy(f8_header(rank), std::string(8, '\0')), "r.npy"); });
  CHECK(has(m, "r.npy: bad NPY header: more than 32 dimensions"));
}

TEST_CASE("npy: a zero-size array with a huge dimension parses but is not training data") {
  // Zero elements is a valid NPY array; the huge third dimension must not be trusted to build
  // 2^50 column names before the shape is checked.
  const NpyArray a = parse_npy(npy(f8_header("(0, 2, 1125899906842624)")), "z.npy");
  CHECK(a.data.empty());
  CHECK(a.size() == 0);
  std::string m = input_error([&] { prepare_npy(a, PrepOptions{}, "z.npy"); });
  CHECK(has(m, "z.npy: shape (0, 2, 1125899906842624) leaves nothing to train on"));

  // n >= 1 with an empty step axis: also no data (no scaler fit on zero rows).
  const NpyArray b = parse_npy(npy(f8_header("(5, 0, 3)")), "e.npy");
  m = input_error([&] { prepare_npy(b, PrepOptions{}, "e.npy"); });
  CHECK(has(m, "e.npy: shape (5, 0, 3) leaves nothing to train on"));

  m = input_error([] { prepare_npy(parse_npy(npy(f8_header("(2, 3)"), std::string(48, '\0')), "r2.npy"), PrepOptions{}, "r2.npy"); });
  CHECK(has(m, "r2.npy: expected windows of shape [n, T, d], found rank 2"));
}

TEST_CASE("npy: windows are prepared as train reads them; bad values name file and column") {
  NpyArray a;
  a.shape = {2, 2, 2};
  a.data = {1, 10, 3, 20, 5, 30, 7, 40};
  Prepared p = prepare_npy(a, PrepOptions{}, "ok.npy");
  REQUIRE(p.windows.n == 2);
  CHECK(p.windows.columns == std::vector<std::string>{"feature_1", "feature_2"});
  CHECK(p.windows.at(0, 0, 0) == 0.0);
  CHECK(p.windows.at(1, 1, 0) == 1.0);
  CHECK(p.windows.at(0, 1, 1) == 1.0 / 3.0);
  CHECK(p.map.has_outer);
  CHECK(p.map.outer.min == std::vector<double>{1, 10});
  CHECK(p.map.outer.range == std::vector<double>{6, 30});

  a.data[5] = 1.7e308;
  a.data[1] = -1.7e308;
  std::string m = input_error([&] { prepare_npy(a, PrepOptions{}, "big.npy"); });
  CHECK(has(m, "big.npy: column 'feature_2': values from -1.7e+308 to 1.7e+308 span more than the largest double"));
  a.data[1] = 10;
  a.data[5] = std::numeric_limits<double>::infinity();
  m = input_error([&] { prepare_npy(a, PrepOptions{}, "inf.npy"); });
  CHECK(has(m, "inf.npy: column 'feature_2': NaN or infinite value inf"));
}
