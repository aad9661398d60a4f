// Failed writes in the application layer, through its library API (tg/app): a loss log that
// cannot be written stops training with the last good checkpoint intact. The faults come from
// the io module's test hooks (tg/io/fs.h: testing::set_stream_fault_after), so these run
// anywhere; test_cli.cpp does the same on a real full file system where it may.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "test_util.h"
#include "tg/app/train.h"
#include "tg/io/checkpoint.h"
#include "tg/io/error.h"
#include "tg/io/fs.h"
#include "tg/io/json.h"

namespace {

using tgtest::has;
using tg::io::Json;

std::string tmpdir() { return tgtest::make_tmpdir("tg-app-io"); }

Json sine_options(int64_t n) {
  Json d = Json::object();
  d["data"] = "sine";
  d["columns"] = "";
  d["id_column"] = "";
  d["categorical"] = "";
  d["max_categories"] = 64;
  d["missing"] = "error";
  d["preset"] = "default";
  d["seq_len"] = 6;
  d["stride"] = 1;
  d["sine_n"] = static_cast<long long>(n);
  d["sine_dim"] = 2;
  d["seed"] = 0;
  return d;
}

// A tiny run: 3 phases of 20 iterations, a checkpoint every 5.
tg::app::TrainRequest tiny_run(const std::string& dir) {
  tg::app::TrainRequest req;
  req.dir = dir;
  req.quiet = true;
  req.data = sine_options(64);
  req.model.seq_len = 6;
  req.model.hidden = 4;
  req.model.layers = 2;
  req.model.batch = 8;
  req.model.iterations = 20;
  req.checkpoint_every = 5;
  req.sample = 0;
  return req;
}

// Disables an io fault hook when a check fails half-way.
struct FaultsOff {
  ~FaultsOff() {
    tg::io::testing::set_stream_fault_after(-1);
    tg::io::testing::set_write_fault_after(-1);
  }
};

}  // namespace

TEST_CASE("train: a failed write of losses.csv stops training; model.ckpt keeps the last state the log matches") {
  const std::string d = tmpdir();
  FaultsOff off;
  // The uninterrupted run, for its log.
  REQUIRE(tg::app::train(tiny_run(d + "/full")).outcome == tg::app::TrainOutcome::Done);
  const std::string full_log = tg::io::read_file(d + "/full/losses.csv");
  // The disk fills up in the middle of the row of embedding iteration 7 (rows 0..6 fit): the
  // checkpoint at iteration 5 is written, the log's write at the next one fails.
  size_t fit = full_log.find('\n') + 1;
  for (int row = 0; row < 7; ++row) fit = full_log.find('\n', fit) + 1;
  const int64_t room = static_cast<int64_t>(fit) + 10;
  tg::io::testing::set_stream_fault_after(room);
  const std::string rd = d + "/run";
  const std::string m = tgtest::error_of<tg::io::OutputError>([&] { tg::app::train(tiny_run(rd)); });
  tg::io::testing::set_stream_fault_after(-1);
  CHECK_MESSAGE(m.rfind(rd + "/losses.csv: write failed", 0) == 0, m);
  CHECK_MESSAGE(has(m, "No space left on device"), m);
  CHECK_MESSAGE(has(m, "; model.ckpt keeps the last good state (saved before embedding iteration 5)"), m);
  // The log holds what fitted; the checkpoint is the one before the failure and matches it.
  const std::string log = tg::io::read_file(rd + "/losses.csv");
  CHECK(static_cast<int64_t>(log.size()) == room);
  CHECK(full_log.compare(0, log.size(), log) == 0);
  const tg::io::Checkpoint ck = tg::io::load_checkpoint(rd + "/model.ckpt");
  const Json meta = Json::parse(ck.meta_json, "meta");
  CHECK(meta.at("phase").as_string() == "embedding");
  CHECK(meta.at("iteration").as_int64() == 5);
  CHECK_FALSE(tg::io::file_exists(rd + "/summary.json"));
  // With room again, --resume continues from it and ends as the uninterrupted run did.
  tg::app::TrainRequest resume;
  resume.dir = rd;
  resume.resume = true;
  resume.quiet = true;
  REQUIRE(tg::app::train(resume).outcome == tg::app::TrainOutcome::Done);
  CHECK(tg::io::read_file(rd + "/losses.csv") == full_log);

  // A log that fails before the first checkpoint: no model.ckpt at all, and the message says so.
  tg::io::testing::set_stream_fault_after(10);
  const std::string m0 = tgtest::error_of<tg::io::OutputError>([&] { tg::app::train(tiny_run(d + "/run0")); });
  tg::io::testing::set_stream_fault_after(-1);
  CHECK_MESSAGE(has(m0, "losses.csv: write failed"), m0);
  CHECK_MESSAGE(has(m0, "; no checkpoint was written"), m0);
  CHECK_FALSE(tg::io::file_exists(d + "/run0/model.ckpt"));
  std::filesystem::remove_all(d);
}

TEST_CASE("io: AppendFile writes what fits, then fails with the OS's reason, and keeps failing") {
  const std::string d = tmpdir();
  FaultsOff off;
  tg::io::testing::set_stream_fault_after(5);
  tg::io::AppendFile f(d + "/log.csv", true);
  tg::io::testing::set_stream_fault_after(-1);  // the file keeps the fault it was opened with
  f.write("abc\n");
  CHECK(f.flush() == 4);
  f.write("defg\n");
  const std::string m = tgtest::error_of<tg::io::OutputError>([&] { f.flush(); });
  CHECK(m == d + "/log.csv: write failed (injected fault): No space left on device");
  CHECK(tg::io::read_file(d + "/log.csv") == "abc\nd");
  CHECK(tgtest::error_of<tg::io::OutputError>([&] { f.write("x"); }) == m);
  CHECK(tgtest::error_of<tg::io::OutputError>([&] { f.close(); }) == m);
  // Appending continues a file; a directory is refused by name.
  {
    tg::io::AppendFile g(d + "/log.csv", false);
    CHECK(g.flush() == 5);
    g.write("ok\n");
    g.close();
  }
  CHECK(tg::io::read_file(d + "/log.csv") == "abc\ndok\n");
  const std::string md = tgtest::error_of<tg::io::OutputError>([&] { tg::io::AppendFile(d, true); });
  CHECK(md == d + ": cannot open for writing: is a directory");
  std::filesystem::remove_all(d);
}
