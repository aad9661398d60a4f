// The timegan executable: help, every bad-input case with its one-line message and non-zero
// exit, nothing half-written, a short train -> generate round trip, interrupt and resume.
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "test_util.h"
#include "tg/io/checkpoint.h"
#include "tg/io/csv.h"
#include "tg/io/fs.h"
#include "tg/io/npy.h"

namespace {

using Result = tgtest::CliResult;
Result run(const std::string& args) { return tgtest::run_timegan(args); }
std::string tmpdir() { return tgtest::make_tmpdir("tg-cli"); }
using tgtest::count_lines;

void write(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
}

const char* kSmall = "--iterations 3 --hidden-dim 4 --num-layers 2 --batch-size 8 --seq-len 6 --quiet";

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
