// config.json from untrusted bytes: the JSON parser's limits (nesting, UTF-8, surrogates, NUL,
// one-line messages) and the model configuration's validation (sizes bounded before anything
// is allocated).
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <utility>

#include "small_model.h"
#include "test_util.h"
#include "tg/io/checkpoint.h"
#include "tg/io/error.h"
#include "tg/io/json.h"
#include "tg/models/timegan.h"

using namespace tg::io;
using tg::models::TimeGanConfig;
using tgtest::has;

namespace {
template <typename F>
std::string input_error(F&& f) {
  return tgtest::error_of<InputError>(std::forward<F>(f));
}

std::string nested(int depth) { return std::string(static_cast<std::size_t>(depth), '[') + std::string(static_cast<std::size_t>(depth), ']'); }

TimeGanConfig small_config() { return tgtest::small_config({2, 4, 3, 2}, 1, 0); }

/// The model object of config.json with one field replaced.
Json model_json_with(const std::string& key, Json v) {
  Json j = small_config().to_json();
  j[key] = std::move(v);
  return Json::parse(j.dump());
}

std::string config_error(const Json& j) {
  try {
    TimeGanConfig::from_json(j);
  } catch (const std::exception& e) {
    return e.what();
  }
  FAIL("expected the configuration to be refused");
  return "";
}
}  // namespace

TEST_CASE("json: nesting is bounded") {
  CHECK(Json::parse(nested(kJsonMaxDepth)).is_array());
  std::string m = input_error([] { Json::parse(nested(kJsonMaxDepth + 1), "deep.json"); });
  CHECK(m == "deep.json:1:129: nesting deeper than 128 levels");
  // Far deeper than any stack would take by recursion: refused, not a crash.
  m = input_error([] { Json::parse(std::string(1000000, '['), "d.json"); });
  CHECK(has(m, "d.json:1:129: nesting deeper than 128 levels"));
  m = input_error([] {
    std::string s;
    for (int i = 0; i < 200; ++i) s += "{\"a\":";
    Json::parse(s, "o.json");
  });
  CHECK(has(m, "nesting deeper than 128 levels"));
}

TEST_CASE("json: strings, UTF-8 and surrogates") {
  CHECK(Json::parse("\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"").as_string() == "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
  CHECK(Json::parse("\"\\u00e9\\ud83d\\ude00\"").as_string() == "\xC3\xA9\xF0\x9F\x98\x80");
  // Bytes that are not UTF-8 (a Latin-1 column name) are kept, and survive dump -> parse.
  Json j = Json::object();
  j["columns"].push_back("Temp\xE9rature");
  j["nul"] = std::string("a\0b", 3);
  const Json back = Json::parse(j.dump());
  CHECK(back == j);
  CHECK(back.at("columns")[0].as_string() == "Temp\xE9rature");
  CHECK(back.at("nul").as_string() == std::string("a\0b", 3));
  // ... and are escaped when a message quotes them.
  std::string m = input_error([] { Json::parse("{\"\xFF\xC0\": 1, \"\xFF\xC0\": 2}", "u.json"); });
  CHECK(m == "u.json:1:11: duplicate key '\\xff\\xc0'");

  m = input_error([] { Json::parse("\"ab\\ud800\"", "s.json"); });
  CHECK(m == "s.json:1:4: unpaired surrogate in \\u escape");
  m = input_error([] { Json::parse("\"\\udc00\"", "s.json"); });
  CHECK(m == "s.json:1:2: unpaired surrogate in \\u escape");
  m = input_error([] { Json::parse("\"\\ud800\\u0041\"", "s.json"); });
  CHECK(m == "s.json:1:2: invalid surrogate pair");
}

TEST_CASE("json: NUL bytes and binary garbage give one-line messages") {
  std::string m = input_error([] { Json::parse(std::string("{\"a\": 1,\0}", 10), "z.json"); });
  CHECK(m == "z.json:1:9: unexpected control character, expected a string key");
  m = input_error([] { Json::parse(std::string("\"a\0b\"", 5), "z.json"); });
  CHECK(m == "z.json:1:3: control character in string");
  m = input_error([] { Json::parse("\xFF\xFE{}", "bom.json"); });
  CHECK(m == "bom.json:1:1: unexpected byte \\xff, expected a value");
  // A key holding a newline (escaped) is quoted escaped.
  m = input_error([] { Json::parse("{\"a\\nb\": 1, \"a\\nb\": 2}", "k.json"); });
  CHECK(m == "k.json:1:13: duplicate key 'a\\nb'");
}

TEST_CASE("json: parsed by nlohmann-json, with this parser's bytes, limits and messages") {
  // Bytes that are not UTF-8 next to real U+FFFD (raw and escaped): each comes back as it was.
  const Json mixed = Json::parse("[\"\xE9\\uFFFD\xEF\xBF\xBD\xFF\\ufffd\"]");
  CHECK(mixed[0].as_string() == "\xE9\xEF\xBF\xBD\xEF\xBF\xBD\xFF\xEF\xBF\xBD");
  // Positions count the bytes of the original text.
  CHECK(input_error([] { Json::parse("{\"a\xE9\xE9\": 1,\n \"b\": tru}", "p.json"); }) ==
        "p.json:2:7: unexpected 't', expected a value");
  CHECK(input_error([] { Json::parse("\"\xE9\\u12\"", "p.json"); }) == "p.json:1:5: truncated \\u escape");
  CHECK(input_error([] { Json::parse("\"\\u12x4\"", "p.json"); }) == "p.json:1:6: bad hex digit in \\u escape");
  // nlohmann-json stops at a NUL and skips a BOM; neither is JSON here.
  CHECK(input_error([] { Json::parse(std::string("{\"a\": 1}\0{}", 11), "n.json"); }) ==
        "n.json:1:9: unexpected trailing characters");
  CHECK(input_error([] { Json::parse("\xEF\xBB\xBF{}", "b.json"); }) == "b.json:1:1: unexpected byte \\xef, expected a value");
  CHECK(input_error([] { Json::parse("[1, 2e400]", "r.json"); }) == "r.json:1:5: number out of range: 2e400");
  CHECK(input_error([] { Json::parse("[1] x", "t.json"); }) == "t.json:1:5: unexpected trailing characters");
  // Integers stay exact over the whole int64 / uint64 range; exponents make doubles.
  const Json n = Json::parse("[18446744073709551615, -9223372036854775808, 9223372036854775808, 1e2, -0]");
  CHECK(n[0].as_uint64() == 18446744073709551615ull);
  CHECK(n[1].as_int64() == INT64_MIN);
  CHECK(n[2].as_uint64() == 9223372036854775808ull);
  CHECK_FALSE(n[3].is_integer());
  CHECK(n[4].is_integer());
  CHECK(n.dump(0) == "[18446744073709551615,-9223372036854775808,9223372036854775808,100.0,0]");
}

TEST_CASE("json: duplicate keys are found in large objects too") {
  std::string s = "{";
  for (int i = 0; i < 5000; ++i) s += "\"k" + std::to_string(i) + "\": " + std::to_string(i) + ", ";
  Json ok = Json::parse(s.substr(0, s.size() - 2) + "}");
  CHECK(ok.size() == 5000);
  CHECK(ok.at("k4999").as_int64() == 4999);
  const std::string m = input_error([&] { Json::parse(s + "\"k17\": 0}", "big.json"); });
  CHECK(has(m, "big.json:1:"));
  CHECK(has(m, "duplicate key 'k17'"));
}

TEST_CASE("config: sizes read from config.json are bounded before anything is allocated") {
  CHECK_NOTHROW(TimeGanConfig::from_json(Json::parse(small_config().to_json().dump())));

  CHECK(config_error(model_json_with("hidden_dim", 4097)) == "hidden_dim must be at most 4096 (got 4097)");
  CHECK(config_error(model_json_with("seq_len", 100001)) == "seq_len must be at most 100000 (got 100001)");
  CHECK(config_error(model_json_with("num_layers", 65)) == "num_layers must be at most 64 (got 65)");
  CHECK(config_error(model_json_with("batch_size", 1000001)) == "batch_size must be at most 1000000 (got 1000001)");
  CHECK(config_error(model_json_with("features", 100001)) == "features must be at most 100000 (got 100001)");
  CHECK(config_error(model_json_with("z_dim", 100001)) == "z_dim must be at most 100000 (got 100001)");
  CHECK(config_error(model_json_with("iterations", 1000000001LL)) ==
        "iterations must be at most 1000000000 (got 1000000001)");
  CHECK(config_error(model_json_with("hidden_dim", 0)) == "hidden_dim must be >= 1 (got 0)");
  CHECK(config_error(model_json_with("num_layers", 1)) ==
        "num_layers must be >= 2: the supervisor has num_layers - 1 layers (got 1)");
  CHECK(has(config_error(model_json_with("hidden_dim", 1e300)), "json"));  // not an integer
  CHECK(has(config_error(model_json_with("seq_len", -5)), "seq_len must be >= 2 (got -5)"));

  // Each field within its limit, the products not: 4096 hidden x 64 layers.
  Json j = small_config().to_json();
  j["hidden_dim"] = 4096;
  j["num_layers"] = 64;
  CHECK(has(config_error(Json::parse(j.dump())), "hidden_dim 4096 x num_layers 64 with 2 features gives about"));
  j = small_config().to_json();
  j["batch_size"] = 1000000;
  j["seq_len"] = 100000;
  CHECK(config_error(Json::parse(j.dump())) ==
        "batch_size 1000000 x seq_len 100000 x width 3 = 300000000000 values per layer, more than the limit of "
        "1073741824");
  // The largest products the limits allow.
  TimeGanConfig c = small_config();
  c.hidden = 512;
  c.layers = 3;
  c.features = 6;
  c.batch = 2048;
  c.seq_len = 1024;
  CHECK(c.parameter_bound() <= TimeGanConfig::kMaxParameters);
  CHECK_NOTHROW(c.validate());
  c.hidden = 1024;  // about 89 million parameters
  c.batch = 64;
  CHECK(has(tgtest::error_of<std::invalid_argument>([&] { c.validate(); }), "parameters, more than the limit of 67108864"));

  CHECK(config_error(model_json_with("dtype", "float16")) == "dtype must be one of float32, float64 (got 'float16')");
  CHECK(config_error(model_json_with("device", "tpu")) == "device must be one of cpu, cuda (got 'tpu')");
  CHECK(config_error(model_json_with("gamma", -1.0)) == "gamma must be a finite number >= 0");
  Json adam = small_config().to_json();
  adam["adam"]["lr"] = 0.0;
  CHECK(config_error(Json::parse(adam.dump())) == "adam lr must be a finite number > 0");
  adam = small_config().to_json();
  adam["adam"]["beta2"] = 1.0;
  CHECK(config_error(Json::parse(adam.dump())) == "adam beta2 must be in [0, 1)");
  adam = small_config().to_json();
  adam["adam"]["form"] = "sgd";
  CHECK(config_error(Json::parse(adam.dump())) == "adam form must be one of tf1, pytorch (got 'sgd')");
}

TEST_CASE("config: errors name the file when it is given") {
  const std::string m = input_error([] { TimeGanConfig::from_json(model_json_with("hidden_dim", 5000), "run/config.json"); });
  CHECK(m == "run/config.json: model configuration: hidden_dim must be at most 4096 (got 5000)");
  CHECK(has(input_error([] { TimeGanConfig::from_json(Json::object(), "c.json"); }), "c.json: model configuration: "));
}

TEST_CASE("config: sequence lengths stored in a checkpoint are checked") {
  TimeGanConfig c = small_config();
  tg::models::TimeGan model(c);
  Checkpoint ck = model.to_checkpoint();
  ck.source = "m.ckpt";
  const float bad[] = {2.0f, 1e9f};
  ck.add(CkptTensor::from_f32("data/lengths", {2}, bad));
  std::string m = input_error([&] { model.load_checkpoint(ck); });
  CHECK(m == "m.ckpt: corrupt checkpoint: data/lengths holds 1000000000, not a sequence length in [1, 4]");
  ck.tensors.back() = CkptTensor::from_f32("data/lengths", {1}, &bad[0]);
  CHECK_NOTHROW(model.load_checkpoint(ck));
}
