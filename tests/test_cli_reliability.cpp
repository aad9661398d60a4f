// A run directory's integrity against other processes and crafted files (README "Reliability"):
// one writer at a time (real concurrent processes), files of two runs refused by their run id,
// checkpoint metadata with a valid CRC checked like data, a finished run not silently extended.
#include <doctest/doctest.h>

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "test_util.h"
#include "tg/io/checkpoint.h"
#include "tg/io/fs.h"
#include "tg/io/json.h"

namespace {

using tgtest::count_lines;
using tgtest::has;
using tgtest::write;
using Result = tgtest::CliResult;
using tgtest::run;
std::string tmpdir() { return tgtest::make_tmpdir("tg-reliab"); }

const std::string kTiny = " --data sine --sine-n 200" + tgtest::kTinyNet + "--seq-len 6 --quiet";

// `timegan ARGS` started in the background (its output discarded); the caller waits for it.
pid_t start_timegan(const std::string& args) {
  const std::string cmd = "exec " + std::string(TG_TIMEGAN_BIN) + " " + args + " >/dev/null 2>&1";
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

int wait_exit(pid_t pid) {
  int st = 0;
  REQUIRE(waitpid(pid, &st, 0) == pid);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

// Waits (up to 60 s) until `path` exists and is not empty.
bool wait_for_file(const std::string& path) {
  for (int i = 0; i < 6000; ++i) {
    if (tg::io::file_size(path) > 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

tg::io::Json json_of(const std::string& path) { return tg::io::Json::parse(tg::io::read_file(path), path); }

// Rewrites a checkpoint's metadata through `edit` and re-seals it (a valid CRC).
template <typename F>
void edit_meta(const std::string& path, F&& edit) {
  tg::io::Checkpoint c = tg::io::load_checkpoint(path);
  tg::io::Json meta = tg::io::Json::parse(c.meta_json, "meta");
  edit(meta);
  c.meta_json = meta.dump();
  tg::io::save_checkpoint(path, c);
}

}  // namespace

TEST_CASE("a run directory has one writer: a second train, --overwrite or generate into it exits 2 naming the holder") {
  const std::string d = tmpdir(), rd = d + "/run";
  // Long enough to be running while the others start; stopped with SIGTERM (a checkpoint).
  const pid_t first = start_timegan(std::string("train") + kTiny + " --iterations 100000 --checkpoint-every 50 --out " + rd);
  REQUIRE(wait_for_file(rd + "/.timegan.lock"));
  REQUIRE(wait_for_file(rd + "/model.ckpt"));

  Result r = run("train --resume " + rd + " --max-time 10s");
  CHECK(r.code == 2);
  CHECK(count_lines(r.out) == 1);
  CHECK_MESSAGE(has(r.out, rd + ": the run directory is in use by timegan train (pid " + std::to_string(first)), r.out);
  r = run(std::string("train") + kTiny + " --iterations 5 --overwrite --out " + rd);
  CHECK(r.code == 2);
  CHECK_MESSAGE(has(r.out, "in use by timegan train (pid " + std::to_string(first)), r.out);
  r = run("generate --model " + rd + " --n 3 --out " + rd + "/generated.csv");
  CHECK(r.code == 2);
  CHECK_MESSAGE(has(r.out, "in use by timegan train"), r.out);
  CHECK_FALSE(tg::io::file_exists(rd + "/generated.csv"));
  // Reading while it trains is allowed: a consistent snapshot (config.json and model.ckpt agree).
  r = run("generate --model " + rd + " --n 3 --out " + d + "/elsewhere.csv --quiet");
  CHECK_MESSAGE(r.code == 0, r.out);

  kill(first, SIGTERM);
  CHECK(wait_exit(first) == 143);
  CHECK(tg::io::file_size(rd + "/.timegan.lock") == 0);  // released cleanly: no holder named
  // The log is one writer's: rows 0, 1, ... up to the checkpoint, nothing torn or repeated.
  const tg::io::Json meta = tg::io::Json::parse(tg::io::load_checkpoint(rd + "/model.ckpt").meta_json, "meta");
  REQUIRE(meta.at("phase").as_string() == "embedding");
  const int64_t k = meta.at("iteration").as_int64();
  const std::string log = tg::io::read_file(rd + "/losses.csv");
  REQUIRE(count_lines(log) == 1 + k);
  size_t pos = log.find('\n') + 1;
  for (int64_t i = 0; i < k; ++i) {
    const std::string head = "embedding," + std::to_string(i) + ",";
    REQUIRE_MESSAGE(log.compare(pos, head.size(), head) == 0, "row " << i);
    pos = log.find('\n', pos) + 1;
  }
  r = run("train --resume " + rd + " --max-time 0.001s");
  CHECK_MESSAGE(r.code == 75, r.out);
  CHECK_FALSE(has(r.out, "fewer rows"));
}

TEST_CASE("two resumes started together: one trains, the other exits 2; the loss log stays whole") {
  const std::string d = tmpdir(), rd = d + "/run";
  Result r = run(std::string("train") + kTiny + " --iterations 400 --checkpoint-every 100 --max-time 0.001s --out " + rd);
  REQUIRE(r.code == 75);
  const pid_t a = start_timegan("train --resume " + rd + " --quiet");
  const pid_t b = start_timegan("train --resume " + rd + " --quiet");
  const int ca = wait_exit(a), cb = wait_exit(b);
  CHECK(((ca == 0 && cb == 2) || (ca == 2 && cb == 0) || (ca == 0 && cb == 0)));
  // Both may succeed one after the other (the second finding a finished run); never together.
  const std::string log = tg::io::read_file(rd + "/losses.csv");
  CHECK(count_lines(log) == 1 + 3 * 400);
  CHECK(log.back() == '\n');
  REQUIRE(run(std::string("train") + kTiny + " --iterations 400 --out " + d + "/ref").code == 0);
  CHECK(log == tg::io::read_file(d + "/ref/losses.csv"));
}

TEST_CASE("a lock left by a process that died is taken over with a note") {
  const std::string d = tmpdir(), rd = d + "/run";
  REQUIRE(run(std::string("train") + kTiny + " --iterations 4 --max-time 0.001s --out " + rd).code == 75);
  // As a kill -9 leaves it: the holder line of a process that no longer runs.
  const pid_t gone = tgtest::dead_pid();
  write(rd + "/.timegan.lock", "pid=" + std::to_string(gone) + " host=h started=2026-01-01T00:00:00Z what=train\n");
  Result r = run("train --resume " + rd);
  CHECK_MESSAGE(r.code == 0, r.out);
  CHECK_MESSAGE(has(r.out, "note: " + rd + ": the previous writer, timegan train (pid " + std::to_string(gone) +
                               " on host h, since 2026-01-01T00:00:00Z), ended without releasing the run directory"),
                r.out);
}

TEST_CASE("files of two runs in one directory are refused by generate, evaluate and resume, naming the files") {
  const std::string d = tmpdir(), a = d + "/a", b = d + "/b";
  REQUIRE(run(std::string("train") + kTiny + " --iterations 3 --sample 2 --out " + a).code == 0);
  REQUIRE(run(std::string("train") + kTiny + " --iterations 3 --sample 2 --seed 1 --out " + b).code == 0);
  const std::string ida = json_of(a + "/config.json").at("run_id").as_string();
  CHECK(ida.size() == 16);
  CHECK(json_of(a + "/summary.json").at("run_id").as_string() == ida);
  CHECK(json_of(b + "/config.json").at("run_id").as_string() != ida);
  const tg::io::Json meta = tg::io::Json::parse(tg::io::load_checkpoint(a + "/model.ckpt").meta_json, "meta");
  CHECK(meta.at("extra").at("run_id").as_string() == ida);

  // model.ckpt of b beside config.json of a.
  const std::string mixed = d + "/mixed";
  tg::io::make_dirs(mixed);
  for (const char* f : {"config.json", "losses.csv", "summary.json"}) write(mixed + "/" + f, tg::io::read_file(a + "/" + f));
  write(mixed + "/model.ckpt", tg::io::read_file(b + "/model.ckpt"));
  for (const std::string& cmd : {"generate --model " + mixed + " --n 2 --out " + d + "/g.csv",
                                 "evaluate --model " + mixed + " --repeats 1 --metric-iterations 2 --out " + d + "/rep",
                                 "train --resume " + mixed}) {
    Result r = run(cmd);
    CHECK_MESSAGE(r.code == 1, cmd);
    CHECK(count_lines(r.out) == 1);
    CHECK_MESSAGE(has(r.out, mixed + ": config.json and model.ckpt come from different runs"), r.out);
  }
  CHECK_FALSE(tg::io::file_exists(d + "/g.csv"));
  // summary.json of b beside the rest of a.
  write(mixed + "/model.ckpt", tg::io::read_file(a + "/model.ckpt"));
  write(mixed + "/summary.json", tg::io::read_file(b + "/summary.json"));
  Result r = run("generate --model " + mixed + " --n 2 --out " + d + "/g.csv");
  CHECK(r.code == 1);
  CHECK_MESSAGE(has(r.out, "config.json and summary.json come from different runs"), r.out);
}

TEST_CASE("checkpoint metadata with a valid CRC is checked like data: resume exits 1, the log is untouched") {
  const std::string d = tmpdir();
  struct Case {
    const char* what;
    void (*edit)(tg::io::Json&);
    const char* message;
  };
  const Case cases[] = {
      {"iteration -10^15", [](tg::io::Json& m) { m["iteration"] = -1000000000000000LL; },
       "iteration -1000000000000000 of phase"},
      {"iteration past the phase", [](tg::io::Json& m) { m["iteration"] = 1000000LL; }, "iteration 1000000 of phase"},
      {"unknown phase", [](tg::io::Json& m) { m["phase"] = "bogus"; }, "unknown phase 'bogus'"},
      {"done with an iteration", [](tg::io::Json& m) { m["phase"] = "done", m["iteration"] = 3LL; },
       "iteration 3 of phase done"},
      {"negative Adam steps", [](tg::io::Json& m) { m["adam_steps"]["G"] = -4LL; }, "adam_steps.G is negative"},
      {"iteration not a number", [](tg::io::Json& m) { m["iteration"] = "ten"; }, "corrupt checkpoint metadata"},
      {"negative log size", [](tg::io::Json& m) { m["extra"]["loss_log_bytes"] = -1LL; }, "loss_log_bytes is negative"},
      {"negative phase time", [](tg::io::Json& m) { m["extra"]["phase_seconds"]["joint"] = -5.0; },
       "phase_seconds.joint is not a time"},
  };
  for (const Case& c : cases) {
    const std::string what = c.what;
    CAPTURE(what);
    const std::string rd = d + "/" + std::to_string(&c - cases);
    REQUIRE(run(std::string("train") + kTiny + " --iterations 40 --checkpoint-every 10 --max-time 0.001s --out " + rd).code == 75);
    edit_meta(rd + "/model.ckpt", c.edit);
    const std::string log = tg::io::read_file(rd + "/losses.csv"), ckpt = tg::io::read_file(rd + "/model.ckpt");
    Result r = run("train --resume " + rd);
    CHECK(r.code == 1);
    CHECK(count_lines(r.out) == 1);
    CHECK_MESSAGE(has(r.out, rd + "/model.ckpt: corrupt checkpoint metadata"), r.out);
    CHECK_MESSAGE(has(r.out, c.message), r.out);
    CHECK(tg::io::read_file(rd + "/losses.csv") == log);
    CHECK(tg::io::read_file(rd + "/model.ckpt") == ckpt);
  }
}

TEST_CASE("resuming a finished run with more iterations continues its joint phase, with a note") {
  const std::string d = tmpdir(), rd = d + "/run";
  REQUIRE(run(std::string("train") + kTiny + " --iterations 3 --sample 0 --out " + rd).code == 0);
  const std::string log = tg::io::read_file(rd + "/losses.csv");
  Result r = run(std::string("train --resume ") + rd + " --iterations 6 --sample 0");
  CHECK_MESSAGE(r.code == 0, r.out);
  CHECK_MESSAGE(has(r.out, "note: " + rd + " finished its 3 iterations per phase; its joint phase continues to 6"), r.out);
  CHECK(has(r.out, "resuming " + rd + " at joint iteration 3"));
  const std::string now = tg::io::read_file(rd + "/losses.csv");
  CHECK(now.compare(0, log.size(), log) == 0);  // the finished rows kept, three joint rows after them
  CHECK(count_lines(now) == 1 + 3 * 3 + 3);
  CHECK(has(now.substr(log.size()), "joint,3,"));
  CHECK(has(now.substr(log.size()), "joint,5,"));
  CHECK(json_of(rd + "/config.json").at("model").at("iterations").as_int64() == 6);
  const tg::io::Json meta = tg::io::Json::parse(tg::io::load_checkpoint(rd + "/model.ckpt").meta_json, "meta");
  CHECK(meta.at("phase").as_string() == "done");
  // Nothing more to train at the same count: exit 0, the log unchanged.
  CHECK(run("train --resume " + rd).code == 0);
  CHECK(tg::io::read_file(rd + "/losses.csv") == now);
}

TEST_CASE("same seed, same bytes with 1, 2, 3 and 8 threads: losses.csv, synthetic.csv and model.ckpt") {
  const std::string d = tmpdir();
  std::string first_log, first_syn, first_ckpt;
  for (const char* t : {"1", "2", "3", "8"}) {
    const std::string threads = t;
    CAPTURE(threads);
    setenv("TG_NUM_THREADS", t, 1);  // not clamped to the cores, unlike --threads
    const std::string rd = d + "/t" + threads;
    Result r = run("train --data sine --sine-n 300 --hidden-dim 4 --num-layers 2 --batch-size 130 --seq-len 6 --quiet "
                   "--iterations 6 --sample 20 --out " + rd);
    unsetenv("TG_NUM_THREADS");
    REQUIRE_MESSAGE(r.code == 0, r.out);
    const std::string log = tg::io::read_file(rd + "/losses.csv"), syn = tg::io::read_file(rd + "/synthetic.csv");
    tg::io::Checkpoint c = tg::io::load_checkpoint(rd + "/model.ckpt");
    std::string tensors;
    for (const auto& t : c.tensors) tensors += t.name + std::string(t.bytes.begin(), t.bytes.end());
    if (first_log.empty()) {
      first_log = log, first_syn = syn, first_ckpt = tensors;
      continue;
    }
    CHECK(log == first_log);
    CHECK(syn == first_syn);
    CHECK(tensors == first_ckpt);
  }
}

TEST_CASE("training sizes beyond the memory at hand are refused before any work, naming the option (under ulimit -v)") {
  if (!tgtest::kAddressSpaceBounds) {
    MESSAGE("skipped: no ulimit -v under AddressSanitizer (the sizes would be trained, not refused)");
    return;
  }
  const std::string d = tmpdir();
  struct Case {
    const char* option;
    const char* args;
  };
  // Each one far past the ~1 GB of address space the limit leaves above the program's own.
  const Case cases[] = {
      {"seq-len", "--sine-n 64 --seq-len 20000 --hidden-dim 4"},
      {"batch-size", "--sine-n 20000 --batch-size 20000"},
      {"hidden-dim", "--sine-n 256 --hidden-dim 600"},
      {"num-layers", "--sine-n 256 --num-layers 64 --hidden-dim 48"},
  };
  for (const Case& c : cases) {
    const std::string option = c.option;
    CAPTURE(option);
    const std::string rd = d + "/" + c.option;
    const Result r = tgtest::run_timegan(std::string("train --data sine ") + c.args + " --iterations 1 --quiet --out " + rd,
                                         2000000);
    const std::string& out = r.out;
    CHECK_MESSAGE(r.code == 2, out);
    CHECK(count_lines(out) == 1);
    CHECK_MESSAGE(has(out, std::string("timegan train: --") + c.option + ": training "), out);
    CHECK(has(out, " of memory, more than the "));
    CHECK(has(out, " available; lower --seq-len, --batch-size, --hidden-dim or --num-layers"));
    CHECK_FALSE(tg::io::dir_exists(rd));  // refused before the run directory exists
  }
}

TEST_CASE("hand-edited config.json values are refused naming the file; misleading messages fixed") {
  const std::string d = tmpdir(), rd = d + "/run";
  std::string csv = "a,b\n";
  for (int i = 0; i < 40; ++i) csv += std::to_string(100 + i % 7) + "," + std::to_string(5 + i % 3) + "\n";
  write(d + "/p.csv", csv);
  REQUIRE(run("train --data " + d + "/p.csv --hidden-dim 4 --num-layers 2 --batch-size 8 --seq-len 6 --iterations 2 "
              "--sample 0 --quiet --out " + rd).code == 0);
  const std::string good = tg::io::read_file(rd + "/config.json");
  struct Case {
    const char* what;
    void (*edit)(tg::io::Json&);
    const char* message;
  };
  const Case cases[] = {
      {"no scaler to the data's units", [](tg::io::Json& c) { c["output_map"]["outer"] = tg::io::Json(); },
       "config.json: output_map: the scaler to the data's units (outer) is missing"},
      {"a newer format", [](tg::io::Json& c) { c["format"] = "timegan-run/99"; },
       "config.json: format \"timegan-run/99\" is not timegan-run/1"},
      {"a shorter column list",
       [](tg::io::Json& c) {
         tg::io::Json cols = tg::io::Json::array();
         cols.push_back("a");
         c["output_map"]["columns"] = cols;
       },
       "config.json: output_map: 1 numeric column(s) and 0 categorical one(s) make 1 features, the model has 2"},
  };
  for (const Case& c : cases) {
    const std::string what = c.what;
    CAPTURE(what);
    tg::io::Json cfg = json_of(rd + "/config.json");
    c.edit(cfg);
    write(rd + "/config.json", cfg.dump());
    for (const std::string& cmd : {"generate --model " + rd + " --n 2 --out " + d + "/g.csv",
                                   "evaluate --model " + rd + " --repeats 1 --metric-iterations 2 --out " + d + "/rep"}) {
      Result r = run(cmd);
      CHECK(r.code == 1);
      CHECK(count_lines(r.out) == 1);
      CHECK_MESSAGE(has(r.out, rd + "/" + c.message), r.out);
    }
    write(rd + "/config.json", good);
  }
  // A data option of config.json out of range on resume: the message names config.json.
  tg::io::Json cfg = json_of(rd + "/config.json");
  cfg["data"]["seq_len"] = 1e300;
  write(rd + "/config.json", cfg.dump());
  Result r = run("train --resume " + rd);
  CHECK(r.code == 1);
  CHECK_MESSAGE(has(r.out, rd + "/config.json: data: "), r.out);
  write(rd + "/config.json", good);

  // model.ckpt that is a directory or a symlink loop: said as it is, not "never checkpointed".
  const std::string ckpt = tg::io::read_file(rd + "/model.ckpt");
  REQUIRE(std::remove((rd + "/model.ckpt").c_str()) == 0);
  tg::io::make_dirs(rd + "/model.ckpt");
  r = run("generate --model " + rd + " --n 2 --out " + d + "/g.csv");
  CHECK(r.code == 1);
  CHECK_MESSAGE(has(r.out, rd + "/model.ckpt: cannot read: is a directory"), r.out);
  REQUIRE(rmdir((rd + "/model.ckpt").c_str()) == 0);
  REQUIRE(symlink("model.ckpt", (rd + "/model.ckpt").c_str()) == 0);
  r = run("generate --model " + rd + " --n 2 --out " + d + "/g.csv");
  CHECK(r.code == 1);
  CHECK_MESSAGE(has(r.out, rd + "/model.ckpt: cannot read: Too many levels of symbolic links"), r.out);
  r = run("train --resume " + rd);
  CHECK(r.code == 1);
  CHECK_MESSAGE(has(r.out, rd + "/model.ckpt: cannot read: Too many levels of symbolic links"), r.out);
  REQUIRE(std::remove((rd + "/model.ckpt").c_str()) == 0);
  write(rd + "/model.ckpt", ckpt);
  // An output directory that is a symlink loop: said as it is, not "does not exist".
  REQUIRE(symlink("loop", (d + "/loop").c_str()) == 0);
  r = run("generate --model " + rd + " --n 2 --out " + d + "/loop/g.csv");
  CHECK(r.code == 1);
  CHECK_MESSAGE(has(r.out, "Too many levels of symbolic links"), r.out);
  CHECK_FALSE(has(r.out, "does not exist"));
}
