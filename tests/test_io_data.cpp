// Datasets: sine generator, scalers, the original/default presets (hand-worked), long format,
// the stock file, and NPY files.
#include <doctest/doctest.h>

#include <utility>

#include "test_util.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <unistd.h>

#include "tg/io/csv.h"
#include "tg/io/dataset.h"
#include "tg/io/error.h"
#include "tg/io/fs.h"
#include "tg/io/npy.h"
#include "tg/random.h"

#ifndef TG_SOURCE_DIR
#define TG_SOURCE_DIR "."
#endif

using namespace tg::io;

namespace {
std::string data_path(const std::string& f) { return std::string(TG_SOURCE_DIR) + "/tests/data/" + f; }
std::string stock_path() { return std::string(TG_SOURCE_DIR) + "/../shared/data/stock_data.csv"; }

std::string tmp_dir() {
  const auto d = std::filesystem::temp_directory_path() / ("tg_io_data_" + std::to_string(::getpid()));
  make_dirs(d.string());
  return d.string();
}

template <typename F>
std::string input_error(F&& f) {
  return tgtest::error_of<InputError>(std::forward<F>(f));
}
using tgtest::has;

/// max |a-b| over valid steps
double max_abs_diff(const Windows& a, const Windows& b) {
  double m = 0;
  for (std::size_t i = 0; i < a.data.size(); ++i) m = std::max(m, std::fabs(a.data[i] - b.data[i]));
  return m;
}

/// Checks that window k step t, mapped back to file units, equals the table row it came from.
void check_round_trip(const Table& t, const Prepared& p, double rel_tol) {
  Windows back = p.windows;
  p.map.model_to_original(back);
  std::vector<double> range(static_cast<std::size_t>(t.cols()), 0.0);
  for (int64_t c = 0; c < t.cols(); ++c) {
    double lo = 1e300, hi = -1e300;
    for (int64_t r = 0; r < t.rows; ++r) {
      lo = std::min(lo, t.at(r, c));
      hi = std::max(hi, t.at(r, c));
    }
    range[static_cast<std::size_t>(c)] = std::max(hi - lo, 1.0);
  }
  double worst = 0;
  for (int64_t k = 0; k < back.n; ++k)
    for (int64_t s = 0; s < back.length(k); ++s) {
      const int64_t row = p.first_row[static_cast<std::size_t>(k)] + s * p.row_step;
      for (int64_t c = 0; c < back.dim; ++c)
        worst = std::max(worst, std::fabs(back.at(k, s, c) - t.at(row, c)) / range[static_cast<std::size_t>(c)]);
    }
  CHECK(worst <= rel_tol);
}
}  // namespace

// ------------------------------------------------------------------ sine

TEST_CASE("sine: shape, range, smoothness, start near 0.5") {
  tg::Rng rng(7, 1);
  const Windows w = sine_data(2000, 24, 5, rng);
  CHECK(w.n == 2000);
  CHECK(w.seq == 24);
  CHECK(w.dim == 5);
  CHECK(w.data.size() == 2000u * 24 * 5);
  CHECK(w.lengths == std::vector<int32_t>(2000, 24));
  CHECK(w.columns == std::vector<std::string>{"feature_1", "feature_2", "feature_3", "feature_4", "feature_5"});
  // Two draws per (sample, feature).
  CHECK(rng.counter() == 2000u * 5 * 2);
  double lo = 1, hi = 0, max_step = 0;
  for (int64_t i = 0; i < w.n; ++i)
    for (int64_t k = 0; k < w.dim; ++k) {
      // step 0 is (sin(phase)+1)/2 with phase in [0, 0.1)
      CHECK(w.at(i, 0, k) >= 0.5);
      CHECK(w.at(i, 0, k) < 0.5 + std::sin(0.1) / 2 + 1e-12);
      for (int64_t j = 0; j < w.seq; ++j) {
        lo = std::min(lo, w.at(i, j, k));
        hi = std::max(hi, w.at(i, j, k));
        if (j) max_step = std::max(max_step, std::fabs(w.at(i, j, k) - w.at(i, j - 1, k)));
      }
    }
  CHECK(lo >= 0.0);
  CHECK(hi <= 1.0);
  CHECK(max_step <= 0.05 + 1e-12);  // |d/dj (sin(f j + p)+1)/2| <= f/2 < 0.05
}

TEST_CASE("sine: per-step mean matches the analytic expectation") {
  // E[sin(f j + p)], f, p ~ U[0, 0.1):  j = 0: (1 - cos 0.1) / 0.1
  //                                     j > 0: 100 (sin(0.1 j) - sin(0.1 j + 0.1) + sin 0.1) / j
  tg::Rng rng(11, 3);
  const Windows w = sine_data(4000, 24, 5, rng);
  for (int64_t j = 0; j < 24; ++j) {
    const double e = j == 0 ? (1 - std::cos(0.1)) / 0.1
                            : 100.0 * (std::sin(0.1 * j) - std::sin(0.1 * j + 0.1) + std::sin(0.1)) / double(j);
    double mean = 0;
    for (int64_t i = 0; i < w.n; ++i)
      for (int64_t k = 0; k < w.dim; ++k) mean += w.at(i, j, k);
    mean /= double(w.n * w.dim);
    CHECK(std::fabs(mean - (e + 1) / 2) < 4e-3);  // ~4 standard errors
  }
  double first = 0;
  for (int64_t i = 0; i < w.n; ++i) first += w.at(i, 0, 0);
  CHECK(first / double(w.n) == doctest::Approx(0.525).epsilon(0.003));
}

TEST_CASE("sine: determinism") {
  tg::Rng a(42, 0), b(42, 0), c(43, 0);
  const Windows x = sine_data(50, 24, 5, a), y = sine_data(50, 24, 5, b), z = sine_data(50, 24, 5, c);
  CHECK(std::memcmp(x.data.data(), y.data.data(), x.data.size() * sizeof(double)) == 0);
  CHECK(std::memcmp(x.data.data(), z.data.data(), x.data.size() * sizeof(double)) != 0);
  // The exact first value: freq then phase from next_double().
  tg::Rng r(42, 0);
  const double f = 0.1 * r.next_double(), p = 0.1 * r.next_double();
  CHECK(x.at(0, 3, 0) == doctest::Approx((std::sin(f * 3 + p) + 1.0) * 0.5).epsilon(1e-15));  // FMA may contract
}

TEST_CASE("sine: presets") {
  tg::Rng rng(5, 0);
  const Windows w = sine_data(100, 24, 3, rng);
  const Prepared d = prepare(w, PrepOptions{});
  CHECK(d.windows.data == w.data);  // default: unchanged
  CHECK_FALSE(d.map.has_inner);
  CHECK_FALSE(d.map.has_outer);
  PrepOptions o;
  o.preset = "original";
  const Prepared p = prepare(w, o);
  CHECK(p.reference.data == w.data);
  CHECK(p.map.has_inner);
  CHECK_FALSE(p.map.has_outer);
  double lo = 1, hi = 0;
  for (double v : p.windows.data) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  CHECK(lo == 0.0);
  CHECK(hi < 1.0);
  CHECK(hi > 1.0 - 1e-6);
  Windows back = p.windows;
  p.map.model_to_reference(back);
  CHECK(max_abs_diff(back, w) < 1e-6);
}

// ------------------------------------------------------------------ scalers

TEST_CASE("scaler: reference formulas, asymmetric inner inverse, serialisation") {
  const std::vector<double> x{1, 10, 3, 30, 2, 20};  // 3 rows x 2
  MinMaxScaler s = MinMaxScaler::fit_reference_outer(x.data(), 3, 2);
  CHECK(s.min == std::vector<double>{1, 10});
  CHECK(s.range == std::vector<double>{2, 20});
  std::vector<double> y = x;
  s.transform(y.data(), 3);
  CHECK(y[2] == 2.0 / (2.0 + 1e-7));
  CHECK(y[1] == 0.0);
  s.inverse(y.data(), 3);
  for (std::size_t i = 0; i < x.size(); ++i) CHECK(y[i] == doctest::Approx(x[i]).epsilon(1e-14));

  Windows w;
  w.n = 1;
  w.seq = 3;
  w.dim = 2;
  w.data = x;
  const MinMaxScaler in = MinMaxScaler::fit_reference_inner(w);
  CHECK(in.min == std::vector<double>{1, 10});
  CHECK(in.range == std::vector<double>{2, 20});
  CHECK_FALSE(in.eps_in_inverse);
  Windows v = w;
  in.transform(v);
  CHECK(v.data[2] == 2.0 / (2.0 + 1e-7));
  in.inverse(v);
  CHECK(v.data[2] == (2.0 / (2.0 + 1e-7)) * 2.0 + 1.0);  // y*max + min: no 1e-7 on the way back
  CHECK(v.data[2] != 3.0);

  const MinMaxScaler d = MinMaxScaler::fit_default(std::vector<double>{4, 4, 4}.data(), 3, 1);
  CHECK(d.range == std::vector<double>{1.0});  // zero range guarded
  CHECK(d.eps == 0.0);

  CHECK(MinMaxScaler::from_vector(in.to_vector()) == in);
  CHECK(MinMaxScaler::from_json(Json::parse(in.to_json().dump())) == in);
  CHECK(MinMaxScaler::from_json(Json::parse(s.to_json().dump(0))) == s);
  CHECK_THROWS_AS(MinMaxScaler::from_vector({2, 0, 1, 5}), InputError);
  CHECK_THROWS_AS(MinMaxScaler::from_json(Json::parse("{\"min\": [1]}")), InputError);
}

// ------------------------------------------------------------------ presets

// tests/data/small.csv (file order, columns A, B):
//   r0: 0 10 | r1: 1 20 | r2: 2 40 | r3: 3 30 | r4: 4 10 | r5: 5 50          N = 6, seq = 3
// original preset, by hand (e = 1e-7):
//   flip:   f0 = r5 (5,50), f1 = r4 (4,10), f2 = r3 (3,30), f3 = r2 (2,40), f4 = r1 (1,20), f5 = r0 (0,10)
//   outer:  A: min 0, max 5  -> A/(5+e);   B: min 10, max 50 -> (B-10)/(40+e)
//           f0 = (5/(5+e), 40/(40+e)), f1 = (4/(5+e), 0), f2 = (3/(5+e), 20/(40+e)),
//           f3 = (2/(5+e), 30/(40+e)), f4 = (1/(5+e), 10/(40+e)), f5 = (0, 0)
//   windows i = 0..N-seq-1 = 0..2 (3, not 4; f5 = the oldest row is never used):
//           w0 = f0 f1 f2,  w1 = f1 f2 f3,  w2 = f2 f3 f4
//   inner over w0..w2 (rows f0..f4): A: min 1/(5+e), max of shifted 4/(5+e) (= 5/(5+e) - 1/(5+e))
//                                    B: min 0,        max 40/(40+e)
//           model scale ~ A: (A-1)/4,  B: (B-10)/40:
//           w0 = [(1,1), (.75,0), (.5,.5)]  w1 = [(.75,0), (.5,.5), (.25,.75)]  w2 = [(.5,.5), (.25,.75), (0,.25)]
TEST_CASE("preset original: hand-worked 6x2 example") {
  const Table t = read_csv(data_path("small.csv"));
  PrepOptions o;
  o.preset = "original";
  o.seq_len = 3;
  tg::Rng rng(1234, 9);
  const Prepared p = prepare(t, o, rng);
  const double e = 1e-7;
  CHECK(p.windows.n == 3);
  CHECK(p.windows.seq == 3);
  CHECK(p.windows.dim == 2);
  CHECK(p.windows.lengths == std::vector<int32_t>{3, 3, 3});
  CHECK(p.map.preset == "original");

  // Shuffle: the permutation used is rng.permutation(3) from the same stream.
  tg::Rng same(1234, 9);
  CHECK(p.order == same.permutation(3));
  CHECK(rng.counter() == same.counter());

  // Outer-scaled flipped rows, computed with the reference's operations.
  const double fA[5] = {5 / (5 + e), 4 / (5 + e), 3 / (5 + e), 2 / (5 + e), 1 / (5 + e)};
  const double fB[5] = {(50.0 - 10) / (40 + e), 0.0 / (40 + e), (30.0 - 10) / (40 + e), (40.0 - 10) / (40 + e),
                        (20.0 - 10) / (40 + e)};
  const double minA = fA[4], maxA = fA[0] - fA[4];
  const double minB = 0.0, maxB = fB[0];
  CHECK(p.map.inner.min == std::vector<double>{minA, minB});
  CHECK(p.map.inner.range == std::vector<double>{maxA, maxB});
  CHECK(p.map.outer.min == std::vector<double>{0, 10});
  CHECK(p.map.outer.range == std::vector<double>{5, 40});

  const double approx[3][3][2] = {{{1, 1}, {.75, 0}, {.5, .5}},
                                  {{.75, 0}, {.5, .5}, {.25, .75}},
                                  {{.5, .5}, {.25, .75}, {0, .25}}};
  for (int k = 0; k < 3; ++k) {
    const int64_t i = p.order[static_cast<std::size_t>(k)];  // unshuffled window index
    CHECK(p.first_row[static_cast<std::size_t>(k)] == 5 - i);
    for (int s = 0; s < 3; ++s) {
      const int64_t r = i + s;  // flipped row
      // reference (data_loading) scale: exact
      CHECK(p.reference.at(k, s, 0) == fA[r]);
      CHECK(p.reference.at(k, s, 1) == fB[r]);
      // model scale: exact reference arithmetic, and the hand values
      CHECK(p.windows.at(k, s, 0) == (fA[r] - minA) / (maxA + e));
      CHECK(p.windows.at(k, s, 1) == (fB[r] - minB) / (maxB + e));
      CHECK(p.windows.at(k, s, 0) == doctest::Approx(approx[i][s][0]).epsilon(1e-6));
      CHECK(p.windows.at(k, s, 1) == doctest::Approx(approx[i][s][1]).epsilon(1e-6));
    }
  }
  // Round trip to file units (the inner inverse lacks the 1e-7, so ~1e-7 relative).
  check_round_trip(t, p, 1e-6);
  // OutputMap survives JSON.
  const OutputMap m = OutputMap::from_json(Json::parse(p.map.to_json().dump()));
  CHECK(m.inner == p.map.inner);
  CHECK(m.outer == p.map.outer);
  CHECK(m.columns == t.columns);
  CHECK(m.preset == "original");
}

TEST_CASE("preset default: every window, time order, exact round trip") {
  const Table t = read_csv(data_path("small.csv"));
  PrepOptions o;
  o.seq_len = 3;
  tg::Rng rng(1, 1);
  const Prepared p = prepare(t, o, rng);
  CHECK(p.windows.n == 4);  // N - seq + 1
  CHECK(rng.counter() == 0);  // no shuffle
  CHECK(p.first_row == std::vector<int64_t>{0, 1, 2, 3});
  CHECK(p.reference.n == 0);
  CHECK(&p.reference_windows() == &p.windows);
  CHECK_FALSE(p.map.has_inner);
  // A: (A-0)/5, B: (B-10)/40, no epsilon
  CHECK(p.windows.at(0, 0, 0) == 0.0);
  CHECK(p.windows.at(1, 2, 0) == 3.0 / 5.0);
  CHECK(p.windows.at(3, 2, 1) == 1.0);
  CHECK(p.windows.at(2, 0, 1) == 30.0 / 40.0);
  check_round_trip(t, p, 1e-15);

  o.stride = 2;
  const Prepared q = prepare(t, o, rng);
  CHECK(q.windows.n == 2);
  CHECK(q.first_row == std::vector<int64_t>{0, 2});
  check_round_trip(t, q, 1e-15);
}

TEST_CASE("presets: too few rows and bad options") {
  const Table t = read_csv(data_path("small.csv"));
  tg::Rng rng(1, 1);
  PrepOptions o;
  o.preset = "original";
  o.seq_len = 6;  // N <= seq
  std::string m = input_error([&] { prepare(t, o, rng); });
  CHECK(has(m, "small.csv"));
  CHECK(has(m, "6 rows"));
  CHECK(has(m, "seq_len 6"));
  o.seq_len = 5;
  CHECK(prepare(t, o, rng).windows.n == 1);

  o.preset = "default";
  o.seq_len = 7;  // N < seq
  m = input_error([&] { prepare(t, o, rng); });
  CHECK(has(m, "small.csv"));
  CHECK(has(m, "6 rows"));
  CHECK(has(m, "seq_len 7"));
  o.seq_len = 6;
  CHECK(prepare(t, o, rng).windows.n == 1);

  o.preset = "fancy";
  CHECK(has(input_error([&] { prepare(t, o, rng); }), "unknown preprocessing preset 'fancy'"));
  o.preset = "default";
  o.seq_len = 0;
  CHECK(has(input_error([&] { prepare(t, o, rng); }), "seq_len must be positive"));
  o.seq_len = 2;
  o.stride = 0;
  CHECK(has(input_error([&] { prepare(t, o, rng); }), "stride must be positive"));
}

TEST_CASE("preset: long format sequences") {
  CsvOptions c;
  c.id_column = "id";
  const Table t = read_csv(data_path("long.csv"), c);  // s1: 3 rows, s2: 2 rows, s3: 4 rows
  tg::Rng rng(1, 1);
  PrepOptions o;
  o.seq_len = 0;  // longest
  const Prepared p = prepare(t, o, rng);
  CHECK(p.windows.n == 3);
  CHECK(p.windows.seq == 4);
  CHECK(p.windows.lengths == std::vector<int32_t>{3, 2, 4});
  CHECK(p.ids == std::vector<std::string>{"s1", "s2", "s3"});
  // x: 1..9 -> (x-1)/8; padding stays zero
  CHECK(p.windows.at(1, 0, 0) == 3.0 / 8.0);
  CHECK(p.windows.at(1, 2, 0) == 0.0);
  CHECK(p.windows.at(1, 3, 1) == 0.0);
  CHECK(p.windows.at(2, 3, 1) == 1.0);
  check_round_trip(t, p, 1e-15);
  Windows back = p.windows;
  p.map.model_to_original(back);
  CHECK(back.at(0, 3, 0) == 0.0);  // padding untouched by the inverse

  o.seq_len = 3;
  std::string m = input_error([&] { prepare(t, o, rng); });
  CHECK(has(m, "long.csv:7: sequence 's3' has 4 rows, longer than seq_len 3"));
  o.truncate = true;
  const Prepared q = prepare(t, o, rng);
  CHECK(q.windows.lengths == std::vector<int32_t>{3, 2, 3});
  check_round_trip(t, q, 1e-15);

  o.truncate = false;
  o.seq_len = 0;
  o.preset = "original";
  const Prepared r = prepare(t, o, rng);
  CHECK(r.map.has_inner);
  CHECK(r.reference.n == 3);
  check_round_trip(t, r, 1e-6);

  const Table bad = parse_csv("id,x\na,1\nb,2\na,3\n", "ids.csv", c);
  CHECK(has(input_error([&] { prepare(bad, PrepOptions{}, rng); }), "ids.csv:4: sequence id 'a' appears again"));
}

TEST_CASE("stock file: 3661 windows (original), 3662 (default)") {
  if (!file_exists(stock_path())) {
    MESSAGE("stock_data.csv not found at " << stock_path() << "; skipped");
    return;
  }
  const Table t = read_csv(stock_path());
  CHECK(t.rows == 3685);
  CHECK(t.columns == std::vector<std::string>{"Open", "High", "Low", "Close", "Adj_Close", "Volume"});
  CHECK(t.at(0, 0) == 49.676899);
  CHECK(t.at(3684, 5) == 865500);
  tg::Rng rng(0, 0);
  PrepOptions o;
  o.preset = "original";
  const Prepared p = prepare(t, o, rng);
  CHECK(p.windows.n == 3661);
  CHECK(p.windows.seq == 24);
  CHECK(p.windows.dim == 6);
  CHECK(p.reference.n == 3661);
  // The oldest row (file row 0) is never used; the newest (row 3684) starts a window.
  CHECK(*std::min_element(p.first_row.begin(), p.first_row.end()) == 24);
  CHECK(*std::max_element(p.first_row.begin(), p.first_row.end()) == 3684);
  double lo = 1, hi = 0;
  for (double v : p.windows.data) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  CHECK(lo >= 0.0);
  CHECK(hi < 1.0);
  check_round_trip(t, p, 1e-6);

  const Prepared d = prepare(t, PrepOptions{}, rng);
  CHECK(d.windows.n == 3662);
  CHECK(d.windows.seq == 24);
  CHECK(d.windows.dim == 6);
  check_round_trip(t, d, 1e-14);
}

// ------------------------------------------------------------------ NPY

TEST_CASE("npy: round trip f8 and f4, shapes") {
  const std::string dir = tmp_dir();
  NpyArray a;
  a.shape = {2, 3, 4};
  for (int i = 0; i < 24; ++i) a.data.push_back(i * 0.1 - 1.0 / 3.0);
  write_npy(dir + "/a.npy", a);
  const NpyArray b = read_npy(dir + "/a.npy");
  CHECK(b.shape == a.shape);
  CHECK(b.data == a.data);
  const std::string bytes = read_file(dir + "/a.npy");
  CHECK(bytes.compare(0, 8, std::string("\x93NUMPY\x01\x00", 8)) == 0);
  CHECK((bytes.size() - 24 * 8) % 64 == 0);
  CHECK(bytes.find("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3, 4), }") != std::string::npos);

  write_npy(dir + "/f.npy", a, NpyDtype::F32);
  const NpyArray f = read_npy(dir + "/f.npy");
  CHECK(f.shape == a.shape);
  for (std::size_t i = 0; i < a.data.size(); ++i) CHECK(f.data[i] == static_cast<double>(static_cast<float>(a.data[i])));

  NpyArray v{{5}, {1, 2, 3, 4, 5}};
  CHECK(npy_bytes(v).find("'shape': (5,), }") != std::string::npos);
  CHECK(parse_npy(npy_bytes(v), "v").data == v.data);
  NpyArray s{{}, {42}};
  CHECK(parse_npy(npy_bytes(s), "s").data == std::vector<double>{42});
  NpyArray z{{0, 3}, {}};
  CHECK(parse_npy(npy_bytes(z), "z").shape == std::vector<int64_t>{0, 3});
  CHECK_THROWS_AS(write_npy(dir + "/bad.npy", NpyArray{{2, 2}, {1, 2, 3}}), std::invalid_argument);
  std::filesystem::remove_all(dir);
}

namespace {
std::string npy_with_header(const std::string& dict, int major, const std::string& payload) {
  std::string h = dict;
  const std::size_t pre = major == 1 ? 10 : 12;
  while ((pre + h.size() + 1) % 64) h += ' ';
  h += '\n';
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  for (std::size_t i = 0; i < (major == 1 ? 2u : 4u); ++i) out += static_cast<char>((h.size() >> (8 * i)) & 0xFF);
  return out + h + payload;
}
}  // namespace

TEST_CASE("npy: v2/v3 headers and every bad-input message") {
  const double vals[2] = {1.5, -2.5};
  const std::string payload(reinterpret_cast<const char*>(vals), 16);
  const std::string good = "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }";
  CHECK(parse_npy(npy_with_header(good, 2, payload), "v2.npy").data == std::vector<double>{1.5, -2.5});
  CHECK(parse_npy(npy_with_header(good, 3, payload), "v3.npy").data == std::vector<double>{1.5, -2.5});

  std::string m = input_error([&] { parse_npy("PK\x03\x04 not numpy", "x.npy"); });
  CHECK(has(m, "x.npy: not an NPY file (bad magic)"));
  m = input_error([&] { parse_npy(npy_with_header(good, 4, payload), "v4.npy"); });
  CHECK(has(m, "v4.npy: unsupported NPY version 4.0"));
  m = input_error([&] {
    parse_npy(npy_with_header("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", 1, payload), "i8.npy");
  });
  CHECK(has(m, "i8.npy: unsupported NPY dtype '<i8'"));
  m = input_error([&] {
    parse_npy(npy_with_header("{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }", 1, payload), "be.npy");
  });
  CHECK(has(m, "be.npy: unsupported NPY dtype '>f8'"));
  m = input_error([&] {
    parse_npy(npy_with_header("{'descr': '<f8', 'fortran_order': True, 'shape': (2,), }", 1, payload), "fo.npy");
  });
  CHECK(has(m, "fo.npy: NPY array is in Fortran order"));
  m = input_error([&] { parse_npy(npy_with_header("{'descr': '<f8', 'fortran_order': False}", 1, payload), "h.npy"); });
  CHECK(has(m, "h.npy: bad NPY header: missing 'shape'"));
  m = input_error([&] { parse_npy(npy_with_header("{'descr': '<f8', 'shape': (2,x), }", 1, payload), "h2.npy"); });
  CHECK(has(m, "h2.npy: bad NPY header"));
  m = input_error([&] { parse_npy(npy_with_header(good, 1, payload.substr(0, 12)), "t.npy"); });
  CHECK(has(m, "t.npy: truncated: expected 16 data bytes, found 12"));
  m = input_error([&] { parse_npy(npy_with_header(good, 1, payload).substr(0, 40), "th.npy"); });
  CHECK(has(m, "th.npy: truncated NPY header"));
  m = input_error([&] { read_npy(data_path("missing.npy")); });
  CHECK(has(m, "missing.npy: cannot open"));
}
