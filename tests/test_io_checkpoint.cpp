// Checkpoint container (round trip, every refusal, atomic save), JSON, fs helpers.
#include <doctest/doctest.h>

#include <utility>

#include "test_util.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <sys/resource.h>
#include <unistd.h>

#include "tg/io/checkpoint.h"
#include "tg/io/error.h"
#include "tg/io/fs.h"
#include "tg/io/json.h"
#include "tg/io/npy.h"

using namespace tg::io;

namespace {
std::string tmp_dir() {
  const auto d = std::filesystem::temp_directory_path() / ("tg_io_ckpt_" + std::to_string(::getpid()));
  make_dirs(d.string());
  return d.string();
}

template <typename F>
std::string input_error(F&& f) {
  return tgtest::error_of<InputError>(std::forward<F>(f));
}
using tgtest::has;

Checkpoint sample_checkpoint() {
  Checkpoint c;
  c.config_json = "{\n  \"hidden\": 24,\n  \"cell\": \"gru\"\n}";
  c.meta_json = "{\"step\": 1234, \"rng\": [18446744073709551615, 7]}";
  std::vector<float> w(24 * 6);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = std::sin(static_cast<float>(i)) * 1e-3f;
  w[3] = std::numeric_limits<float>::quiet_NaN();
  w[4] = -0.0f;
  w[5] = std::numeric_limits<float>::denorm_min();
  c.add(CkptTensor::from_f32("embedder/gru0/kernel", {24, 6}, w.data()));
  std::vector<double> b{1.0 / 3.0, -2.5e300, 0.0};
  c.add(CkptTensor::from_f64("embedder/gru0/bias", {3}, b.data()));
  c.add(CkptTensor::from_f32("empty", {0, 5}, nullptr));
  const double scalar = 42.0;
  c.add(CkptTensor::from_f64("scalar", {}, &scalar));
  return c;
}

int count_files(const std::string& dir) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    (void)e;
    ++n;
  }
  return n;
}
}  // namespace

TEST_CASE("crc32 matches the standard check value") {
  CHECK(crc32("123456789", 9) == 0xCBF43926u);
  CHECK(crc32("", 0) == 0u);
  CHECK(crc32("", 0, 0x1234u) == 0x1234u);
  // Chained calls give the CRC of the concatenation (train.cpp's fingerprints rely on it).
  CHECK(crc32("56789", 5, crc32("1234", 4)) == 0xCBF43926u);
  CHECK(crc32("9", 1, crc32("5678", 4, crc32("1234", 4))) == 0xCBF43926u);
  // A known value over every byte value (the table the hand-written CRC used to compute).
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  CHECK(crc32(all.data(), all.size()) == 0x29058C73u);
}

TEST_CASE("checkpoint: bit-exact round trip") {
  const std::string dir = tmp_dir();
  const std::string path = dir + "/model.ckpt";
  const Checkpoint c = sample_checkpoint();
  save_checkpoint(path, c);
  const Checkpoint d = load_checkpoint(path);
  CHECK(d.source == path);
  CHECK(d.config_json == c.config_json);
  CHECK(d.meta_json == c.meta_json);
  REQUIRE(d.tensors.size() == c.tensors.size());
  for (std::size_t i = 0; i < c.tensors.size(); ++i) {
    CHECK(d.tensors[i].name == c.tensors[i].name);
    CHECK(d.tensors[i].dtype == c.tensors[i].dtype);
    CHECK(d.tensors[i].shape == c.tensors[i].shape);
    CHECK(d.tensors[i].bytes == c.tensors[i].bytes);  // bit-exact, NaN payload and -0 included
  }
  const CkptTensor& k = d.get("embedder/gru0/kernel");
  CHECK(k.numel() == 144);
  const std::vector<float> kv = k.to_f32();
  CHECK(std::isnan(kv[3]));
  CHECK(std::signbit(kv[4]));
  CHECK(kv[5] == std::numeric_limits<float>::denorm_min());
  CHECK(d.get("embedder/gru0/bias").to_f64()[0] == 1.0 / 3.0);
  CHECK(d.get("scalar").to_f64() == std::vector<double>{42.0});
  CHECK(d.get("empty").numel() == 0);
  CHECK(Json::parse(d.meta_json).at("rng")[0].as_uint64() == 18446744073709551615ull);
  // The file's size field and layout.
  const std::string bytes = read_file(path);
  CHECK(bytes.compare(0, 8, "TGCKPT\r\n") == 0);
  CHECK(bytes == checkpoint_bytes(c));
  std::filesystem::remove_all(dir);
}

TEST_CASE("checkpoint: get names the missing tensor") {
  const Checkpoint c = parse_checkpoint(checkpoint_bytes(sample_checkpoint()), "m.ckpt");
  const std::string m = input_error([&] { c.get("discriminator/out/kernel"); });
  CHECK(has(m, "m.ckpt"));
  CHECK(has(m, "no tensor 'discriminator/out/kernel'"));
}

TEST_CASE("checkpoint: refuses wrong magic, version, truncation, corruption") {
  const std::string good = checkpoint_bytes(sample_checkpoint());
  std::string m = input_error([&] { parse_checkpoint("{\"json\": true}", "x.ckpt"); });
  CHECK(has(m, "x.ckpt: not a TimeGAN checkpoint"));
  m = input_error([&] { parse_checkpoint("", "e.ckpt"); });
  CHECK(has(m, "e.ckpt: not a TimeGAN checkpoint"));

  std::string v2 = good;
  v2[8] = 2;
  m = input_error([&] { parse_checkpoint(v2, "v.ckpt"); });
  CHECK(has(m, "v.ckpt: unsupported checkpoint version 2"));

  REQUIRE(good.size() > 500);
  m = input_error([&] { parse_checkpoint(good.substr(0, 500), "t.ckpt"); });
  CHECK(has(m, "t.ckpt: truncated: expected " + std::to_string(good.size()) + " bytes, found 500"));
  m = input_error([&] { parse_checkpoint(good.substr(0, 16), "t2.ckpt"); });
  CHECK(has(m, "t2.ckpt: truncated"));
  m = input_error([&] { parse_checkpoint(good.substr(0, 5), "t3.ckpt"); });
  CHECK(has(m, "t3.ckpt: truncated"));
  m = input_error([&] { parse_checkpoint(good + "xx", "long.ckpt"); });
  CHECK(has(m, "long.ckpt: corrupt checkpoint"));

  std::string flipped = good;
  flipped[good.size() / 2] ^= 0x10;
  m = input_error([&] { parse_checkpoint(flipped, "c.ckpt"); });
  CHECK(has(m, "c.ckpt: checksum mismatch"));

  // A structurally bad file with a valid checksum (written by a buggy tool): still refused.
  std::string bad = good.substr(0, good.size() - 4);
  const std::size_t cfg_len_pos = 20;
  bad[cfg_len_pos] = static_cast<char>(0xFF);
  bad[cfg_len_pos + 1] = static_cast<char>(0xFF);
  const uint32_t crc = crc32(bad.data(), bad.size());
  for (int i = 0; i < 4; ++i) bad += static_cast<char>((crc >> (8 * i)) & 0xFF);
  m = input_error([&] { parse_checkpoint(bad, "s.ckpt"); });
  CHECK(has(m, "s.ckpt: corrupt checkpoint: config runs past the end"));

  const std::string dir = tmp_dir();
  atomic_write(dir + "/cut.ckpt", good.data(), 300);
  m = input_error([&] { load_checkpoint(dir + "/cut.ckpt"); });
  CHECK(has(m, dir + "/cut.ckpt: truncated: expected " + std::to_string(good.size()) + " bytes, found 300"));
  m = input_error([&] { load_checkpoint(dir + "/none.ckpt"); });
  CHECK(has(m, "none.ckpt: cannot open"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("checkpoint: inconsistent tensors are refused before writing") {
  Checkpoint c = sample_checkpoint();
  c.tensors[0].bytes.pop_back();
  CHECK_THROWS_AS(checkpoint_bytes(c), std::invalid_argument);
  c = sample_checkpoint();
  c.tensors[1].name = c.tensors[0].name;
  CHECK_THROWS_AS(checkpoint_bytes(c), std::invalid_argument);
  c = sample_checkpoint();
  c.tensors[1].dtype = 7;
  CHECK_THROWS_AS(checkpoint_bytes(c), std::invalid_argument);
}

TEST_CASE("checkpoint: a failed save leaves the previous file intact") {
  const std::string dir = tmp_dir();
  const std::string path = dir + "/model.ckpt";
  Checkpoint a = sample_checkpoint();
  a.meta_json = "{\"step\": 1}";
  save_checkpoint(path, a);
  const std::string before = read_file(path);

  Checkpoint b = sample_checkpoint();
  b.meta_json = "{\"step\": 2}";
  // Simulated disk full half-way through the new file.
  tg::io::testing::set_write_fault_after(100);
  bool threw = false;
  try {
    save_checkpoint(path, b);
  } catch (const OutputError& e) {
    threw = true;
    CHECK(has(e.what(), "model.ckpt"));
    CHECK(std::string(e.what()).find('\n') == std::string::npos);
  }
  tg::io::testing::set_write_fault_after(-1);
  CHECK(threw);
  CHECK(read_file(path) == before);
  CHECK(load_checkpoint(path).meta_json == "{\"step\": 1}");
  CHECK(count_files(dir) == 1);  // no temporary file left behind

  // Destination directory missing: nothing is created.
  CHECK_THROWS_AS(save_checkpoint(dir + "/missing/model.ckpt", b), OutputError);
  CHECK_FALSE(dir_exists(dir + "/missing"));
  // Destination is a directory.
  make_dirs(dir + "/sub");
  CHECK_THROWS_AS(save_checkpoint(dir + "/sub", b), OutputError);
  // Unwritable directory (only meaningful when not running as root).
  if (::geteuid() != 0) {
    std::filesystem::permissions(dir, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
    CHECK_THROWS_AS(save_checkpoint(path, b), OutputError);
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all);
    CHECK(read_file(path) == before);
  }
  // And a successful save replaces it.
  save_checkpoint(path, b);
  CHECK(load_checkpoint(path).meta_json == "{\"step\": 2}");
  std::filesystem::remove_all(dir);
}

TEST_CASE("fs helpers") {
  const std::string dir = tmp_dir();
  make_dirs(dir + "/a/b/c");
  CHECK(dir_exists(dir + "/a/b/c"));
  make_dirs(dir + "/a/b/c");  // idempotent
  atomic_write_text(dir + "/a/b/c/x.txt", "hello");
  CHECK(file_exists(dir + "/a/b/c/x.txt"));
  CHECK_FALSE(file_exists(dir + "/a/b/c"));
  CHECK(file_size(dir + "/a/b/c/x.txt") == 5);
  CHECK(read_file(dir + "/a/b/c/x.txt") == "hello");
  atomic_write_text(dir + "/a/b/c/x.txt", "bye");
  CHECK(read_file(dir + "/a/b/c/x.txt") == "bye");
  atomic_write_text(dir + "/a/b/c/x.txt", "");
  CHECK(file_size(dir + "/a/b/c/x.txt") == 0);
  atomic_write_text(dir + "/blocker", "");
  CHECK_THROWS_AS(make_dirs(dir + "/blocker/sub"), OutputError);
  std::filesystem::remove_all(dir);
}

// ------------------------------------------------------------------ JSON

TEST_CASE("json: build, dump, parse round trip") {
  Json j = Json::object();
  j["name"] = "timegan \"v1\"\n\ttab \\ slash";
  j["hidden"] = 24;
  j["lr"] = 0.001;
  j["third"] = 1.0 / 3.0;
  j["tiny"] = 5e-324;
  j["big"] = -2.5e300;
  j["one"] = 1.0;
  j["seed"] = std::numeric_limits<uint64_t>::max();
  j["neg"] = std::numeric_limits<int64_t>::min();
  j["flag"] = false;
  j["none"] = nullptr;
  j["list"] = Json::from_doubles({0.1, 0.2, 0.30000000000000004});
  j["nested"]["deeper"]["x"] = Json::array();
  j["nested"]["deeper"]["y"] = Json::object();
  j["unicode"] = "caf\xc3\xa9 \xe2\x82\xac";
  for (int indent : {2, 0, 4}) {
    const std::string text = j.dump(indent);
    const Json k = Json::parse(text);
    CHECK(k == j);
    CHECK(k.dump(indent) == text);
  }
  const Json k = Json::parse(j.dump());
  CHECK(k.keys().front() == "name");  // insertion order kept
  CHECK(k.keys().back() == "unicode");
  CHECK(k.at("third").as_double() == 1.0 / 3.0);
  CHECK(k.at("tiny").as_double() == 5e-324);
  CHECK(k.at("seed").as_uint64() == std::numeric_limits<uint64_t>::max());
  CHECK(k.at("neg").as_int64() == std::numeric_limits<int64_t>::min());
  CHECK(k.at("one").is_number());
  CHECK_FALSE(k.at("one").is_integer());
  CHECK(k.at("hidden").is_integer());
  CHECK(k.at("hidden").as_int64() == 24);
  CHECK(k.at("list").as_doubles()[2] == 0.30000000000000004);
  CHECK(j.dump(0).find('\n') == std::string::npos);
  CHECK(Json::parse("\"\\u00e9\\ud83d\\ude00\"").as_string() == "\xc3\xa9\xf0\x9f\x98\x80");
  CHECK(format_double(0.1) == "0.1");
  CHECK(format_double(1.0 / 3.0) == "0.3333333333333333");
  CHECK(format_double(0.30000000000000004) == "0.30000000000000004");
  CHECK(format_double(100) == "100");
  CHECK_THROWS_AS(Json(std::nan("")).dump(), std::runtime_error);
  CHECK_THROWS_AS(k.at("missing"), std::runtime_error);
  CHECK_THROWS_AS(k.at("name").as_double(), std::runtime_error);
  CHECK_THROWS_AS(k.at("lr").as_int64(), std::runtime_error);
}

TEST_CASE("json: parse errors give line and column") {
  auto err = [](const std::string& text) { return input_error([&] { Json::parse(text, "cfg.json"); }); };
  CHECK(has(err("{\n  \"a\": 1,\n  \"b\": tru\n}"), "cfg.json:3:8: unexpected 't'"));
  CHECK(has(err("{\"a\": 1,}"), "cfg.json:1:9: unexpected '}', expected a string key"));
  CHECK(has(err("[1, 2"), "cfg.json:1:6: unexpected end of input"));
  CHECK(has(err("\"abc"), "cfg.json:1:5: unterminated string"));
  CHECK(has(err("{\"a\": 1} x"), "cfg.json:1:10: unexpected trailing characters"));
  CHECK(has(err(""), "cfg.json:1:1: empty document"));
  CHECK(has(err("{\"a\": 1, \"a\": 2}"), "cfg.json:1:10: duplicate key 'a'"));
  CHECK(has(err("[01]"), "cfg.json:1:3: unexpected '1', expected ',' or ']'"));
  CHECK(has(err("[1.]"), "cfg.json:1:4: invalid number"));
  CHECK(has(err("\"a\\x\""), "cfg.json:1:4: invalid escape"));
  CHECK(has(err("[1e999]"), "cfg.json:1:2: number out of range"));
  CHECK(has(err("\n\n   nul"), "cfg.json:3:4: unexpected 'n'"));
}

namespace {
/// `body` (everything before the footer) with its total-size field and CRC made consistent:
/// how a buggy or hostile writer gets past the checksum.
std::string reseal(std::string body) {
  const uint64_t total = body.size() + 4;
  for (int i = 0; i < 8; ++i) body[12 + static_cast<std::size_t>(i)] = static_cast<char>((total >> (8 * i)) & 0xFF);
  const uint32_t crc = crc32(body.data(), body.size());
  for (int i = 0; i < 4; ++i) body += static_cast<char>((crc >> (8 * i)) & 0xFF);
  return body;
}
}  // namespace

TEST_CASE("checkpoint: declared sizes are checked against the bytes there, with valid checksums") {
  Checkpoint c;
  c.config_json = "{}";
  c.meta_json = "{}";
  const float v[2] = {1, 2};
  c.add(CkptTensor::from_f32("a\nb", {2}, v));
  c.add(CkptTensor::from_f32("a\nc", {2}, v));
  const std::string good = checkpoint_bytes(c);
  std::string body = good.substr(0, good.size() - 4);
  // Second tensor's name -> the first's: a duplicate, quoted on one line.
  const std::size_t second = body.rfind("a\nc");
  body[second + 2] = 'b';
  std::string m = input_error([&] { parse_checkpoint(reseal(body), "d.ckpt"); });
  CHECK(has(m, "d.ckpt: corrupt checkpoint: duplicate tensor 'a\\nb'"));

  // Tensor count (after the two JSON texts of 2 bytes each): 2^40 tensors cannot fit.
  body = good.substr(0, good.size() - 4);
  const std::size_t count_pos = 20 + 8 + 2 + 8 + 2;
  body[count_pos + 5] = 1;
  m = input_error([&] { parse_checkpoint(reseal(body), "n.ckpt"); });
  CHECK(has(m, "n.ckpt: corrupt checkpoint: impossible tensor count 1099511627778"));

  // A dimension whose element count overflows, and one that the bytes do not back.
  body = good.substr(0, good.size() - 4);
  const std::size_t dim_pos = count_pos + 8 + 4 + 3 + 1 + 1;
  for (int i = 0; i < 8; ++i) body[dim_pos + static_cast<std::size_t>(i)] = static_cast<char>(0xFF);
  m = input_error([&] { parse_checkpoint(reseal(body), "o.ckpt"); });
  CHECK(has(m, "o.ckpt: corrupt checkpoint: tensor 'a\\nb': bad dimension -1"));
  body = good.substr(0, good.size() - 4);
  body[dim_pos + 6] = 1;  // 2^48 + 2 elements
  m = input_error([&] { parse_checkpoint(reseal(body), "b.ckpt"); });
  CHECK(has(m, "b.ckpt: corrupt checkpoint: tensor 'a\\nb': 8 bytes for 281474976710658 elements"));
}

TEST_CASE("fs: read_file stops at its size limit (an endless stream is refused)") {
  const std::string m = input_error([] { read_file("/dev/zero", 1 << 20); });
  CHECK(m == "/dev/zero: larger than 1048576 bytes, the most an input file may hold");
  const std::string dir = tmp_dir();
  atomic_write_text(dir + "/f.txt", std::string(100, 'x'));
  CHECK(read_file(dir + "/f.txt", 100).size() == 100);
  CHECK_THROWS_AS(read_file(dir + "/f.txt", 99), InputError);
  std::filesystem::remove_all(dir);
}

TEST_CASE("npy and checkpoint readers refuse a file of another kind before reading it whole") {
  // A sparse 4 GiB file (NUL bytes, no disk space), as read_file's limit lets through: read
  // whole it would take 4 GiB of memory before its magic is looked at.
  const std::string dir = tmp_dir(), f = dir + "/big.npy";
  atomic_write_text(f, "");
  std::filesystem::resize_file(f, std::uintmax_t{1} << 32);
  struct rusage before {}, after {};
  getrusage(RUSAGE_SELF, &before);
  CHECK(input_error([&] { read_npy(f); }) == f + ": not an NPY file (bad magic)");
  CHECK(input_error([&] { load_checkpoint(f); }) == f + ": not a TimeGAN checkpoint (bad magic)");
  CHECK(input_error([] { read_npy("/dev/zero"); }) == "/dev/zero: not an NPY file (bad magic)");
  CHECK(input_error([] { load_checkpoint("/dev/zero"); }) == "/dev/zero: not a TimeGAN checkpoint (bad magic)");
  getrusage(RUSAGE_SELF, &after);
  CHECK(after.ru_maxrss - before.ru_maxrss < 64 * 1024);  // KiB: the peak grew by less than 64 MiB
  std::filesystem::remove_all(dir);
}

TEST_CASE("fs: a failed read names the OS's reason") {
  // The process's own memory at address 0 opens but cannot be read.
  if (!file_exists("/proc/self/mem")) return;
  CHECK(input_error([] { read_file("/proc/self/mem"); }) == "/proc/self/mem: read failed: Input/output error");
}
