// The timegan executable: help, every bad-input case with its one-line message and non-zero
// exit, nothing half-written, a short train -> generate round trip, interrupt and resume, a full
// disk, and input that is not text.
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include "test_util.h"
#include "tg/backend.h"
#include "tg/io/checkpoint.h"
#include "tg/io/csv.h"
#include "tg/io/fs.h"
#include "tg/io/json.h"
#include "tg/io/npy.h"

namespace {

using Result = tgtest::CliResult;
using tgtest::run;
std::string tmpdir() { return tgtest::make_tmpdir("tg-cli"); }
using tgtest::count_lines;

using tgtest::write;

const std::string kSmall = "--iterations 3" + tgtest::kTinyNet + "--seq-len 6 --quiet";

}  // namespace

TEST_CASE("help lists every option with its default") {
  Result r = run("--help");
  CHECK(r.code == 0);
  CHECK(r.out.find("train") != std::string::npos);
  Result t = run("train --help");
  CHECK(t.code == 0);
  for (const char* opt : {"--data", "--out", "--resume", "--cell", "--hidden-dim", "--num-layers", "--batch-size",
                          "--iterations", "--seed", "--device", "--checkpoint-every", "--max-time", "--preset",
                          "--seq-len", "--columns", "--quiet"})
    CHECK_MESSAGE(t.out.find(opt) != std::string::npos, opt);
  CHECK(t.out.find("(default: 50000)") != std::string::npos);
  CHECK(run("generate --help").code == 0);
}

TEST_CASE("usage errors: unknown options, bad values, --num-layers 1") {
  const std::string d = tmpdir();
  Result r = run("train --bogus 1 --out " + d + "/x");
  CHECK(r.code == 2);
  CHECK(r.out == "timegan train: unknown option '--bogus' (see timegan train --help)\n");
  r = run("train --num-layers 1 --out " + d + "/x");
  CHECK(r.code == 2);
  CHECK(r.out.find("--num-layers: must be at least 2: the supervisor has num-layers - 1 layers") != std::string::npos);
  r = run("train --hidden-dim abc --out " + d + "/x");
  CHECK(r.code == 2);
  CHECK(r.out.find("--hidden-dim: expected an integer, got 'abc'") != std::string::npos);
  r = run("train --batch-size 0 --out " + d + "/x");
  CHECK(r.code == 2);
  CHECK(r.out.find("--batch-size: value 0 out of range") != std::string::npos);
  r = run("train --cell rnn --out " + d + "/x");
  CHECK(r.code == 2);
  CHECK(r.out.find("--cell") != std::string::npos);
  r = run("train --max-time 5x --out " + d + "/x");
  CHECK(r.code == 2);
  CHECK(r.out.find("unknown unit 'x'") != std::string::npos);
  r = run("train");
  CHECK(r.code == 2);
  CHECK(r.out.find("--out RUN_DIR is required") != std::string::npos);
  r = run("frobnicate");
  CHECK(r.code == 2);
  CHECK(r.out.find("unknown command 'frobnicate'") != std::string::npos);
  // A repeated option is an error, not "the last one wins".
  r = run("train --data sine --seed 1 --iterations 2 --seed 2 --out " + d + "/x");
  CHECK(r.code == 2);
  CHECK(r.out == "timegan train: option --seed given twice ('1' and '2'); give it once\n");
  r = run("generate --model " + d + " --quiet --quiet --out " + d + "/g.csv");
  CHECK(r.code == 2);
  CHECK(r.out == "timegan generate: option --quiet given twice; give it once\n");
  CHECK_FALSE(tg::io::dir_exists(d + "/x"));
}

TEST_CASE("bad data files: one line naming file, line and field; nothing written") {
  const std::string d = tmpdir();
  struct Case {
    const char* name;
    const char* text;
    const char* expect;
  } cases[] = {
      {"ragged.csv", "a,b\n1,2\n3\n", "ragged.csv:3: expected 2 fields, found 1"},
      {"text.csv", "a,b\n1,2\n3,abc\n", "ragged"},
      {"nan.csv", "a,b\n1,2\n3,nan\n", "nan.csv:3"},
      {"empty.csv", "a,b\n1,\n", "empty.csv:2"},
      {"header.csv", "a,b\n", "header.csv"},
  };
  cases[1].expect = "text.csv:3: column 'b'";
  for (const auto& c : cases) {
    write(d + "/" + c.name, c.text);
    Result r = run(std::string("train --data ") + d + "/" + c.name + " --out " + d + "/run_" + c.name + " " + kSmall);
    CHECK_MESSAGE(r.code == 1, c.name);
    CHECK_MESSAGE(count_lines(r.out) == 1, r.out);
    CHECK_MESSAGE(r.out.find(c.expect) != std::string::npos, r.out);
    CHECK_FALSE(tg::io::dir_exists(d + "/run_" + c.name));  // nothing half-written
  }
  // Too few rows for the window.
  write(d + "/short.csv", "a,b\n1,2\n3,4\n5,6\n");
  Result r = run("train --data " + d + "/short.csv --out " + d + "/run_short " + kSmall);
  CHECK(r.code == 1);
  CHECK(r.out.find("short.csv") != std::string::npos);
  CHECK(r.out.find("seq") != std::string::npos);
  // Missing file, unknown column.
  r = run("train --data " + d + "/nope.csv --out " + d + "/run_nope " + kSmall);
  CHECK(r.code == 1);
  CHECK(r.out.find("nope.csv") != std::string::npos);
  std::string ok = "a,b\n";
  for (int i = 0; i < 40; ++i) ok += std::to_string(i) + "," + std::to_string(i * i % 7) + "\n";
  write(d + "/ok.csv", ok);
  r = run("train --data " + d + "/ok.csv --columns a,zz --out " + d + "/run_cols " + kSmall);
  CHECK(r.code == 1);
  CHECK(r.out.find("zz") != std::string::npos);
}

TEST_CASE("train on CUDA: summary.json names the GRU implementation that ran") {
  // (a GPU, or the CPU emulation of kernels/cuda/emu; skipped elsewhere)
  std::string why;
  if (!tg::cuda_available(&why)) {
    MESSAGE("skipped: no CUDA device: " << why);
    return;
  }
  const std::string d = tmpdir();
  std::string csv = "a,b\n";
  for (int i = 0; i < 40; ++i) csv += std::to_string(i % 9) + "," + std::to_string(i * i % 7) + "\n";
  write(d + "/c.csv", csv);
  for (const char* path : {"persistent", "stepwise"}) {  // (hidden 4: persistent unless forced)
    setenv("TG_GRU_PATH", path == std::string("persistent") ? "auto" : path, 1);
    const std::string out = d + "/run_" + path;
    const Result r = run("train --data " + d + "/c.csv --device cuda --out " + out + " " + kSmall);
    unsetenv("TG_GRU_PATH");
    REQUIRE_MESSAGE(r.code == 0, r.out);
    const tg::io::Json s = tg::io::Json::parse(tg::io::read_file(out + "/summary.json"), "summary.json");
    CHECK(s.at("device").as_string() == "cuda");
    CHECK(s.at("gru_impl").as_string() == path);
  }
}

TEST_CASE("train -> generate in original units; truncated and foreign checkpoints are refused") {
  const std::string d = tmpdir();
  // A two-column CSV with a date column, in its own units (prices in the hundreds).
  std::string csv = "date,price,volume\n";
  for (int i = 0; i < 60; ++i)
    csv += "2020-01-" + std::to_string(10 + i % 20) + "," + std::to_string(100 + 10 * std::sin(i * 0.3)) + "," +
           std::to_string(5000 + 100 * i) + "\n";
  write(d + "/p.csv", csv);
  Result r = run("train --data " + d + "/p.csv --out " + d + "/run " + std::string(kSmall) + " --sample 5");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  for (const char* f : {"config.json", "model.ckpt", "losses.csv", "synthetic.csv", "summary.json"})
    CHECK_MESSAGE(tg::io::file_exists(d + "/run/" + f), f);
  {  // the summary says what the times were measured on
    const tg::io::Json s = tg::io::Json::parse(tg::io::read_file(d + "/run/summary.json"), "summary.json");
    CHECK(s.at("device").as_string() == "cpu");
    CHECK(s.at("cpu_threads").as_double() >= 1);
    const std::string k = s.at("cpu_kernels").as_string();
    CHECK((k == "eigen" || k == "avx2" || k == "avx512" || k == "avx512-layout"));
    CHECK(s.at("total_seconds").as_double() > 0);
  }
  tg::io::Table syn = tg::io::read_csv(d + "/run/synthetic.csv");
  CHECK(syn.columns == std::vector<std::string>{"sequence_id", "t", "price", "volume"});
  CHECK(syn.rows == 5 * 6);
  for (int64_t i = 0; i < syn.rows; ++i) {  // in the CSV's units, within its range
    CHECK((syn.at(i, 2) >= 89.9 && syn.at(i, 2) <= 110.1));
    CHECK((syn.at(i, 3) >= 4999 && syn.at(i, 3) <= 10901));
  }
  CHECK(count_lines(tg::io::read_file(d + "/run/losses.csv")) == 1 + 3 * 3);
  r = run("generate --model " + d + "/run --n 7 --seed 3 --out " + d + "/g.npy --quiet");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  tg::io::NpyArray a = tg::io::read_npy(d + "/g.npy");
  CHECK(a.shape == std::vector<int64_t>{7, 6, 2});
  r = run("generate --model " + d + "/run --n 7 --seed 3 --out " + d + "/g.csv --quiet");
  CHECK(r.code == 0);
  r = run("generate --model " + d + "/run --n 7 --out " + d + "/g.txt");
  CHECK(r.code == 2);
  CHECK(r.out.find("must end in .csv or .npy") != std::string::npos);
  // Truncated checkpoint.
  const std::string bytes = tg::io::read_file(d + "/run/model.ckpt");
  tg::io::atomic_write(d + "/run/model.ckpt", bytes.data(), bytes.size() / 2);
  r = run("generate --model " + d + "/run --n 7 --out " + d + "/h.csv");
  CHECK(r.code == 1);
  CHECK(count_lines(r.out) == 1);
  CHECK(r.out.find("model.ckpt: truncated") != std::string::npos);
  CHECK_FALSE(tg::io::file_exists(d + "/h.csv"));
  // Not a run directory.
  r = run("generate --model " + d + " --n 7 --out " + d + "/h.csv");
  CHECK(r.code == 1);
  CHECK(r.out.find("not a timegan run directory") != std::string::npos);
}

TEST_CASE("--max-time stops with a checkpoint; --resume finishes with the same parameters") {
  const std::string d = tmpdir();
  const std::string common = " --data sine --sine-n 64 --iterations 30 --hidden-dim 4 --num-layers 2 --batch-size 8 "
                             "--seq-len 6 --sine-dim 2 --sample 0 --quiet --seed 4";
  Result full = run("train" + common + " --out " + d + "/full");
  REQUIRE_MESSAGE(full.code == 0, full.out);
  Result part = run("train" + common + " --out " + d + "/part --max-time 0.001s");
  CHECK(part.code == 75);
  CHECK(part.out.find("timegan train --resume") != std::string::npos);
  Result res = run("train --resume " + d + "/part --quiet");
  REQUIRE_MESSAGE(res.code == 0, res.out);
  // Parameters, Adam moments and counters identical (the meta differs only in wall times).
  tg::io::Checkpoint a = tg::io::load_checkpoint(d + "/part/model.ckpt"), b = tg::io::load_checkpoint(d + "/full/model.ckpt");
  REQUIRE(a.tensors.size() == b.tensors.size());
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    CHECK(a.tensors[i].name == b.tensors[i].name);
    CHECK(a.tensors[i].bytes == b.tensors[i].bytes);
  }
  CHECK(tg::io::read_file(d + "/part/losses.csv") == tg::io::read_file(d + "/full/losses.csv"));
  Result bad = run("train --resume " + d + "/part --hidden-dim 8");
  CHECK(bad.code == 2);
  CHECK(bad.out.find("cannot change on --resume") != std::string::npos);
}

namespace {

const std::string kTiny = tgtest::kTinyNet + "--quiet";
const char* kSine = " --data sine --sine-n 64 --seq-len 6 --sine-dim 2";

bool all_finite(const tg::io::Checkpoint& c) {
  for (const auto& t : c.tensors)
    for (double v : t.to_f64())
      if (!std::isfinite(v)) return false;
  return true;
}

tg::io::Json config_of(const std::string& run_dir) {
  return tg::io::Json::parse(tg::io::read_file(run_dir + "/config.json"), "config.json");
}

using tgtest::dead_pid;

}  // namespace

TEST_CASE("help lists the exit statuses and --overwrite") {
  for (const char* cmd : {"--help", "train --help"}) {
    const Result r = run(cmd);
    CHECK(r.code == 0);
    CHECK_MESSAGE(r.out.find("exit status:") != std::string::npos, cmd);
    for (const char* code : {"  0 ", "  1 ", "  2 ", "  3 ", "  75 ", "  130 ", "  143 "})
      CHECK_MESSAGE(r.out.find(code) != std::string::npos, cmd << ": " << code);
  }
  const Result t = run("train --help");
  CHECK(t.out.find("--overwrite") != std::string::npos);
  CHECK(t.out.find("Per invocation only: --threads, --max-time, --log-every, --quiet") != std::string::npos);
}

TEST_CASE("a diverging run stops at the first non-finite loss: exit 3, one line, last good checkpoint kept") {
  const std::string d = tmpdir();
  // --lr 10 blows the weights up within the first joint iterations.
  Result r = run(std::string("train") + kSine + kTiny + " --iterations 20 --checkpoint-every 2 --lr 10 --out " + d + "/run");
  CHECK(r.code == 3);
  CHECK_MESSAGE(count_lines(r.out) == 1, r.out);
  CHECK(r.out.rfind("timegan train: error: training diverged", 0) == 0);
  CHECK(r.out.find(" iteration ") != std::string::npos);
  CHECK((r.out.find("= nan") != std::string::npos || r.out.find("= inf") != std::string::npos ||
         r.out.find("= -inf") != std::string::npos));
  CHECK(r.out.find("model.ckpt keeps the last good state (saved before ") != std::string::npos);
  CHECK(r.out.find("--lr") != std::string::npos);
  // No synthetic sample, no summary; the checkpoint holds a finite, earlier state.
  CHECK_FALSE(tg::io::file_exists(d + "/run/synthetic.csv"));
  CHECK_FALSE(tg::io::file_exists(d + "/run/summary.json"));
  REQUIRE(tg::io::file_exists(d + "/run/model.ckpt"));
  CHECK(all_finite(tg::io::load_checkpoint(d + "/run/model.ckpt")));
  // losses.csv spells the non-finite loss out (an empty cell means "not computed").
  const std::string log = tg::io::read_file(d + "/run/losses.csv");
  CHECK((log.find(",nan,") != std::string::npos || log.find(",inf,") != std::string::npos ||
         log.find(",-inf,") != std::string::npos));
  // Generating from the run uses the last good checkpoint: finite numbers.
  r = run("generate --model " + d + "/run --n 4 --out " + d + "/g.csv --quiet");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  const tg::io::Table g = tg::io::read_csv(d + "/g.csv");
  for (double v : g.values) CHECK(std::isfinite(v));

  // Without any checkpoint before the divergence: nothing but config.json and losses.csv.
  r = run(std::string("train") + kSine + kTiny + " --iterations 20 --checkpoint-every 0 --lr 10 --out " + d + "/run0");
  CHECK(r.code == 3);
  CHECK(r.out.find("no checkpoint was written") != std::string::npos);
  CHECK_FALSE(tg::io::file_exists(d + "/run0/model.ckpt"));
  CHECK_FALSE(tg::io::file_exists(d + "/run0/synthetic.csv"));
}

TEST_CASE("long format: sequences of one row are refused at load time, naming the file, line and id") {
  const std::string d = tmpdir();
  write(d + "/one.csv", "id,a,b\n1,1,2\n2,3,4\n3,5,6\n4,7,8\n");
  for (const char* seq : {"", " --seq-len 0"}) {
    Result r = run("train --data " + d + "/one.csv --id-column id" + seq + kTiny + " --iterations 3 --out " + d + "/run");
    CHECK(r.code == 1);
    CHECK_MESSAGE(count_lines(r.out) == 1, r.out);
    CHECK_MESSAGE(r.out.find("one.csv:2: sequence '1' has 1 row; every sequence needs at least 2 rows") != std::string::npos,
                  r.out);
    CHECK(r.out.find("4 of 4 sequences") != std::string::npos);
    CHECK_FALSE(tg::io::dir_exists(d + "/run"));
  }
  // A sequence longer than --seq-len: the message names what to change.
  write(d + "/long.csv", "id,a\n1,1\n1,2\n1,3\n2,4\n2,5\n");
  Result r = run("train --data " + d + "/long.csv --id-column id --seq-len 2" + std::string(kTiny) + " --out " + d + "/run");
  CHECK(r.code == 1);
  CHECK(r.out.find("enable truncation") == std::string::npos);
  CHECK_MESSAGE(r.out.find("give a seq_len of at least 3, or 0 for the longest sequence") != std::string::npos, r.out);
}

TEST_CASE("train --out refuses a directory holding a run unless --overwrite; never two runs' files") {
  const std::string d = tmpdir(), rd = d + "/run";
  Result r = run(std::string("train") + kSine + kTiny + " --iterations 2 --sample 2 --out " + rd);
  REQUIRE_MESSAGE(r.code == 0, r.out);
  const std::string cfg = tg::io::read_file(rd + "/config.json"), ckpt = tg::io::read_file(rd + "/model.ckpt");
  // Same --out again: refused, nothing touched.
  const std::string tiny5 = " --hidden-dim 5 --num-layers 2 --batch-size 8 --quiet";  // kTiny at hidden 5
  r = run(std::string("train") + kSine + tiny5 + " --iterations 3 --out " + rd);
  CHECK(r.code == 2);
  CHECK(count_lines(r.out) == 1);
  CHECK_MESSAGE(r.out.find("already holds a run") != std::string::npos, r.out);
  CHECK(r.out.find("--resume " + rd) != std::string::npos);
  CHECK(r.out.find("--overwrite") != std::string::npos);
  CHECK(tg::io::read_file(rd + "/config.json") == cfg);
  CHECK(tg::io::read_file(rd + "/model.ckpt") == ckpt);
  // A directory with only a loss log counts as a run too.
  tg::io::make_dirs(d + "/logonly");
  write(d + "/logonly/losses.csv", "phase\n");
  CHECK(run(std::string("train") + kSine + kTiny + " --iterations 2 --out " + d + "/logonly").code == 2);
  // --overwrite whose data fail to load: the old run stays whole.
  r = run("train --data " + d + "/missing.csv" + kTiny + " --overwrite --out " + rd);
  CHECK(r.code == 1);
  CHECK(tg::io::read_file(rd + "/config.json") == cfg);
  CHECK(tg::io::read_file(rd + "/model.ckpt") == ckpt);
  // --overwrite with a new run that dies before its first checkpoint: the old model is gone
  // with the rest of the old run (it would be read with the new config.json otherwise).
  r = run(std::string("train") + kSine + tiny5 + " --iterations 20 --checkpoint-every 0 --lr 10 --overwrite --out " + rd);
  CHECK(r.code == 3);
  CHECK_FALSE(tg::io::file_exists(rd + "/model.ckpt"));
  CHECK_FALSE(tg::io::file_exists(rd + "/synthetic.csv"));
  CHECK_FALSE(tg::io::file_exists(rd + "/summary.json"));
  CHECK(config_of(rd).at("model").at("hidden_dim").as_int64() == 5);
  r = run("generate --model " + rd + " --n 2 --out " + d + "/g.csv");
  CHECK(r.code == 1);
  CHECK(r.out.find("no model.ckpt") != std::string::npos);
  // --overwrite and --resume do not combine.
  CHECK(run("train --resume " + rd + " --overwrite").code == 2);
  // --overwrite that succeeds: a complete new run.
  r = run(std::string("train") + kSine + kTiny + " --iterations 2 --sample 3 --overwrite --out " + rd);
  REQUIRE_MESSAGE(r.code == 0, r.out);
  CHECK(config_of(rd).at("model").at("hidden_dim").as_int64() == 4);
  CHECK(tg::io::read_csv(rd + "/synthetic.csv").rows == 3 * 6);
}

TEST_CASE("--checkpoint-every and --sample are stored in config.json and restored by --resume") {
  const std::string d = tmpdir(), rd = d + "/run";
  Result r = run(std::string("train") + kSine + kTiny + " --iterations 4 --checkpoint-every 7 --sample 3 --max-time 0.001s --out " + rd);
  REQUIRE(r.code == 75);
  tg::io::Json c = config_of(rd);
  CHECK(c.at("train").at("checkpoint_every").as_int64() == 7);
  CHECK(c.at("train").at("sample").as_int64() == 3);
  r = run("train --resume " + rd + " --quiet");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  CHECK(tg::io::read_csv(rd + "/synthetic.csv").rows == 3 * 6);  // not the default (every window)
  // Values given again on --resume are stored for later resumes.
  r = run("train --resume " + rd + " --sample 2 --checkpoint-every 5 --quiet");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  CHECK(tg::io::read_csv(rd + "/synthetic.csv").rows == 2 * 6);
  c = config_of(rd);
  CHECK(c.at("train").at("sample").as_int64() == 2);
  CHECK(c.at("train").at("checkpoint_every").as_int64() == 5);
  r = run("train --resume " + rd + " --quiet");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  CHECK(tg::io::read_csv(rd + "/synthetic.csv").rows == 2 * 6);
  // --iterations changed on --resume is stored too.
  r = run("train --resume " + rd + " --iterations 5 --quiet");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  CHECK(config_of(rd).at("model").at("iterations").as_int64() == 5);
}

TEST_CASE("resume removes stale temporary files of dead writers and keeps those of live ones") {
  const std::string d = tmpdir(), rd = d + "/run";
  Result r = run(std::string("train") + kSine + kTiny + " --iterations 3 --max-time 0.001s --out " + rd);
  REQUIRE(r.code == 75);
  const std::string stale = rd + "/model.ckpt.tmp." + std::to_string(dead_pid()) + ".0";
  const std::string live = rd + "/model.ckpt.tmp." + std::to_string(getpid()) + ".0";
  const std::string other = rd + "/notes.tmp.1.0";
  write(stale, "partial");
  write(live, "partial");
  write(other, "mine");
  r = run("train --resume " + rd + " --quiet");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  CHECK_FALSE(tg::io::file_exists(stale));
  CHECK(tg::io::file_exists(live));   // its writer (this process) still runs
  CHECK(tg::io::file_exists(other));  // not a file train writes
}

TEST_CASE("resume cuts losses.csv to the checkpoint: never padded, rows after it dropped") {
  const std::string d = tmpdir();
  const std::string common = std::string(kSine) + kTiny + " --iterations 5 --sample 0 --seed 2";
  Result full = run("train" + common + " --out " + d + "/full");
  REQUIRE_MESSAGE(full.code == 0, full.out);
  const std::string full_log = tg::io::read_file(d + "/full/losses.csv");

  // Rows written after the checkpoint (a crash between two checkpoints) are dropped.
  REQUIRE(run("train" + common + " --out " + d + "/long --max-time 0.001s").code == 75);
  {
    const tg::io::Json meta = tg::io::Json::parse(tg::io::load_checkpoint(d + "/long/model.ckpt").meta_json, "meta");
    const std::string ph = meta.at("phase").as_string();
    const long long it = meta.at("iteration").as_int64();
    std::ofstream f(d + "/long/losses.csv", std::ios::app | std::ios::binary);
    f << ph << "," << it << ",9,9,9,9,9,9,9,9,9,\n" << ph << "," << it + 1 << ",9,9,9,9,9,9,9,9,9,\nembed";  // and a torn line
  }
  Result r = run("train --resume " + d + "/long --quiet");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  CHECK(tg::io::read_file(d + "/long/losses.csv") == full_log);

  // A log shorter than the checkpoint expects: cut at its last whole row, never NUL-padded.
  REQUIRE(run("train" + common + " --out " + d + "/short --max-time 0.001s").code == 75);
  const std::string part = tg::io::read_file(d + "/short/losses.csv");
  const size_t header_end = part.find('\n') + 1;
  tg::io::atomic_write_text(d + "/short/losses.csv", part.substr(0, header_end + 5));  // header + a torn row
  r = run("train --resume " + d + "/short");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  CHECK(r.out.find("fewer rows than the checkpoint expects") != std::string::npos);
  const std::string log = tg::io::read_file(d + "/short/losses.csv");
  CHECK(log.find('\0') == std::string::npos);
  CHECK(log.substr(0, header_end) == part.substr(0, header_end));
  // The rows present are exactly the uninterrupted run's rows from the checkpoint on.
  CHECK(full_log.size() > log.size());
  CHECK(full_log.compare(full_log.size() - (log.size() - header_end), std::string::npos, log.substr(header_end)) == 0);
}

TEST_CASE("sizes that cannot fit in memory are refused up front, naming the option") {
  const std::string d = tmpdir(), rd = d + "/run";
  const std::string data = " --data sine --sine-n 32 --seq-len 24 --sine-dim 5";
  Result r = run("train" + data + kTiny + " --iterations 1 --sample 100000000 --out " + rd);
  CHECK(r.code == 2);
  CHECK(count_lines(r.out) == 1);
  CHECK_MESSAGE(r.out.find("timegan train: --sample: 100000000 sequences of 24 steps x 5 features need about") !=
                    std::string::npos, r.out);
  CHECK_FALSE(tg::io::dir_exists(rd));
  r = run("train" + data + kTiny + " --iterations 1 --sample 0 --out " + rd);
  REQUIRE_MESSAGE(r.code == 0, r.out);
  r = run("generate --model " + rd + " --n 1000000000 --out " + d + "/g.csv");
  CHECK(r.code == 2);
  CHECK(count_lines(r.out) == 1);
  CHECK_MESSAGE(r.out.find("timegan generate: --n: 1000000000 sequences of 24 steps x 5 features need about") !=
                    std::string::npos, r.out);
  CHECK(r.out.find("available") != std::string::npos);
  CHECK_FALSE(tg::io::file_exists(d + "/g.csv"));
}

TEST_CASE("a checkpoint without training lengths is refused by name (not an internal random-stream error)") {
  const std::string d = tmpdir(), rd = d + "/run";
  write(d + "/v.csv", "id,a\n1,1\n1,2\n1,3\n2,4\n2,5\n3,6\n3,7\n3,8\n");
  Result r = run("train --data " + d + "/v.csv --id-column id --seq-len 0 --iterations 1 --sample 0" + kTiny + " --out " + rd);
  REQUIRE_MESSAGE(r.code == 0, r.out);
  tg::io::Checkpoint c = tg::io::load_checkpoint(rd + "/model.ckpt");
  bool found = false;
  for (auto& t : c.tensors)
    if (t.name == "data/lengths") {
      t = tg::io::CkptTensor::from_f32("data/lengths", {0}, nullptr);
      found = true;
    }
  REQUIRE(found);
  tg::io::save_checkpoint(rd + "/model.ckpt", c);
  r = run("generate --model " + rd + " --n 3 --out " + d + "/g.csv");
  CHECK(r.code == 1);
  CHECK(count_lines(r.out) == 1);
  CHECK(r.out.find("next_below") == std::string::npos);
  CHECK_MESSAGE(r.out.find("model.ckpt: tensor 'data/lengths' is empty") != std::string::npos, r.out);
}

TEST_CASE("--threads beyond the machine and --batch-size beyond the data are clamped with a note") {
  const std::string d = tmpdir();
  Result r = run(std::string("train") + kSine + " --hidden-dim 4 --num-layers 2 --iterations 2 --sample 0 --threads 1000 "
                 "--batch-size 500 --log-every 100 --out " + d + "/run");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  CHECK_MESSAGE(r.out.find("note: --threads 1000 is more than the ") != std::string::npos, r.out);
  CHECK_MESSAGE(r.out.find("note: --batch-size 500 is more than the 64 training windows; every batch holds all 64") !=
                    std::string::npos, r.out);
  CHECK(run("train --threads 1025 --out " + d + "/x").code == 2);
}

TEST_CASE("data whose range overflows a double are refused at load time, naming the column") {
  const std::string d = tmpdir();
  std::string csv = "a,b\n";
  for (int i = 0; i < 20; ++i) csv += std::string(i % 2 ? "1e308" : "-1e308") + "," + std::to_string(i) + "\n";
  write(d + "/big.csv", csv);
  const Result r = run("train --data " + d + "/big.csv --seq-len 6 --iterations 3" + std::string(kTiny) + " --out " + d + "/run");
  CHECK(r.code == 1);
  CHECK(count_lines(r.out) == 1);
  CHECK_MESSAGE(r.out.find("big.csv: column 'a': values") != std::string::npos, r.out);
  CHECK_MESSAGE(r.out.find("rescale the column") != std::string::npos, r.out);
  CHECK_FALSE(tg::io::dir_exists(d + "/run"));
}

TEST_CASE("a checkpoint with non-finite weights is refused by generate and evaluate; resume without one says why") {
  const std::string d = tmpdir(), rd = d + "/run";
  Result r = run(std::string("train") + kSine + kTiny + " --iterations 2 --sample 0 --out " + rd);
  REQUIRE_MESSAGE(r.code == 0, r.out);
  tg::io::Checkpoint c = tg::io::load_checkpoint(rd + "/model.ckpt");
  std::string name;
  for (auto& t : c.tensors)
    if (t.name.rfind("generator/", 0) == 0 && name.empty()) {
      std::vector<float> v = t.to_f32();
      v[0] = std::numeric_limits<float>::quiet_NaN();
      t = tg::io::CkptTensor::from_f32(t.name, t.shape, v.data());
      name = t.name;
    }
  REQUIRE_FALSE(name.empty());
  tg::io::save_checkpoint(rd + "/model.ckpt", c);
  r = run("generate --model " + rd + " --n 3 --out " + d + "/g.csv");
  CHECK(r.code == 1);
  CHECK(count_lines(r.out) == 1);
  CHECK_MESSAGE(r.out.find("model.ckpt: tensor '" + name + "' holds NaN or infinite values") != std::string::npos, r.out);
  CHECK_FALSE(tg::io::file_exists(d + "/g.csv"));
  r = run("evaluate --model " + rd + " --repeats 1 --metric-iterations 2 --tsne-iterations 2 --quiet --out " + d + "/rep");
  CHECK(r.code == 1);
  CHECK(r.out.find("holds NaN or infinite values") != std::string::npos);
  // A run that never checkpointed.
  std::remove((rd + "/model.ckpt").c_str());
  r = run("train --resume " + rd);
  CHECK(r.code == 1);
  CHECK_MESSAGE(r.out.find("no model.ckpt to resume from") != std::string::npos, r.out);
}

TEST_CASE("a full disk stops training at the first failed write of losses.csv; model.ckpt keeps the last good state") {
  // A real file system that fills up: 128 KiB. The run's checkpoint takes 7 pages (28 KiB) and
  // the log about 44 bytes an embedding iteration: the checkpoint at iteration 1500 fits beside
  // the log (66 KB), the log of iteration 3000 (133 KB) does not. (The same, through the library
  // and a fault hook, anywhere: test_app_io.cpp.)
  tgtest::SmallFs fs("128k");
  if (!fs.mounted) {
    MESSAGE("skipped: cannot mount a tmpfs here (" << fs.why << "); needs root");
    return;
  }
  const std::string rd = fs.dir + "/run";
  const std::string opts = std::string(kSine) + kTiny + " --sample 0 --checkpoint-every 1500";
  Result r = run("train" + opts + " --iterations 3000 --out " + rd);
  CHECK(r.code == 1);
  CHECK_MESSAGE(count_lines(r.out) == 1, r.out);
  CHECK_MESSAGE(r.out.rfind("timegan train: error: " + rd + "/losses.csv: write failed: No space left on device; ", 0) == 0,
                r.out);
  CHECK_MESSAGE(r.out.find("model.ckpt keeps the last good state (saved before embedding iteration 1500)") !=
                    std::string::npos,
                r.out);
  CHECK_FALSE(tg::io::file_exists(rd + "/summary.json"));
  // The checkpoint is the one before the failure; with room again the run resumes from it.
  REQUIRE(tg::io::file_exists(rd + "/model.ckpt"));
  const tg::io::Json meta = tg::io::Json::parse(tg::io::load_checkpoint(rd + "/model.ckpt").meta_json, "meta");
  CHECK(meta.at("phase").as_string() == "embedding");
  CHECK(meta.at("iteration").as_int64() == 1500);
  REQUIRE(fs.resize("8m"));
  r = run("train --resume " + rd + " --iterations 1510 --quiet");
  CHECK_MESSAGE(r.code == 0, r.out);
  CHECK(tg::io::file_exists(rd + "/summary.json"));
}

TEST_CASE("a data file that is not text of lines is refused after its first MiB, in little memory") {
  const std::string d = tmpdir();
  // Under a bound of 1 GiB of virtual memory: reading such input whole (up to 4 GiB) fails.
  // (Not under AddressSanitizer, which reserves terabytes of address space for itself.)
  const long kBound = tgtest::kAddressSpaceBounds ? 1 << 20 : 0;
  const auto start = std::chrono::steady_clock::now();
  Result r = run("train --data /dev/zero --threads 1 --out " + d + "/run", kBound);
  CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < 20);  // not 4 GiB read
  CHECK(r.code == 1);
  CHECK_MESSAGE(count_lines(r.out) == 1, r.out);
  CHECK_MESSAGE(r.out == "timegan train: error: /dev/zero:1: line longer than 1048576 bytes (1 MiB, the limit of a first "
                         "line): not a text file of lines\n",
                r.out);
  CHECK_FALSE(tg::io::dir_exists(d + "/run"));
  r = run("train --data /dev/urandom --threads 1 --out " + d + "/run", kBound);
  CHECK(r.code == 1);
  CHECK_MESSAGE(r.out.find("/dev/urandom:") != std::string::npos, r.out);
  CHECK_MESSAGE(r.out.find(": holds a NUL byte: not a text file") != std::string::npos, r.out);
  // A sparse 4 GiB file: NUL bytes, no line end.
  const std::string sparse = d + "/sparse.csv";
  REQUIRE(std::system(("truncate -s 4G " + sparse).c_str()) == 0);
  r = run("train --data " + sparse + " --threads 1 --out " + d + "/run", kBound);
  CHECK(r.code == 1);
  CHECK_MESSAGE(r.out.find(sparse + ":1: line longer than 1048576 bytes") != std::string::npos, r.out);
  std::remove(sparse.c_str());
  // The same for the other files a CSV comes in: --static, evaluate's --real and --synthetic.
  write(d + "/long.csv", "id,a\n1,1\n1,2\n2,3\n2,4\n");
  r = run("train --data " + d + "/long.csv --id-column id --static /dev/zero --threads 1 --out " + d + "/run", kBound);
  CHECK_MESSAGE(r.out.find("/dev/zero:1: line longer than 1048576 bytes") != std::string::npos, r.out);
  r = run("evaluate --real /dev/zero --synthetic " + d + "/long.csv --threads 1 --out " + d + "/rep", kBound);
  CHECK_MESSAGE(r.out.find("/dev/zero:1: line longer than 1048576 bytes") != std::string::npos, r.out);
  CHECK_FALSE(tg::io::dir_exists(d + "/rep"));
  // An NPY file's magic is looked at before it is read whole.
  const std::string big = d + "/big.npy";
  REQUIRE(std::system(("truncate -s 4G " + big).c_str()) == 0);
  r = run("train --data " + big + " --threads 1 --out " + d + "/run", kBound);
  CHECK_MESSAGE(r.out == "timegan train: error: " + big + ": not an NPY file (bad magic)\n", r.out);
  std::remove(big.c_str());

  // A first line longer than 1 MiB, then ordinary lines: refused naming line 1 and the limit.
  write(d + "/wide.csv", std::string(1 << 20, 'a') + "b\n1\n2\n3\n");
  r = run("train --data " + d + "/wide.csv --out " + d + "/run");
  CHECK(r.code == 1);
  CHECK_MESSAGE(r.out.find(d + "/wide.csv:1: line longer than 1048576 bytes (1 MiB") != std::string::npos, r.out);
  // CR-only line ends (old Mac files) are named as such.
  write(d + "/mac.csv", "a,b\r1,2\r3,4\r5,6\r7,8\r");
  r = run("train --data " + d + "/mac.csv --out " + d + "/run");
  CHECK(r.code == 1);
  CHECK_MESSAGE(r.out == "timegan train: error: " + d + "/mac.csv: uses CR-only line endings (old Mac format); convert to "
                         "LF or CRLF\n",
                r.out);
  CHECK_FALSE(tg::io::dir_exists(d + "/run"));
}
