// Failed writes in the application layer, through its library API (tg/app): a loss log that
// cannot be written stops training with the last good checkpoint intact, and a report that
// cannot be written leaves nothing of itself. The faults come from the io module's test hooks
// (tg/io/fs.h: testing::set_stream_fault_after, set_write_fault_after), so these run anywhere;
// test_cli.cpp and test_cli_evaluate.cpp do the same on a real full file system where they may.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "test_util.h"
#include "tg/app/evaluate.h"
#include "tg/app/report.h"
#include "tg/app/train.h"
#include "tg/io/checkpoint.h"
#include "tg/io/dataset.h"
#include "tg/io/error.h"
#include "tg/io/fs.h"
#include "tg/io/json.h"
#include "tg/random.h"

namespace {

using tgtest::has;
using tg::io::Json;

std::string tmpdir() { return tgtest::make_tmpdir("tg-app-io"); }

// The names in a directory.
std::set<std::string> names_in(const std::string& dir) {
  std::set<std::string> s;
  for (const auto& e : std::filesystem::directory_iterator(dir)) s.insert(e.path().filename().string());
  return s;
}

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

using tgtest::dead_pid;

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

TEST_CASE("train: on_checkpoint follows each periodic checkpoint; a copy of the directory then resumes to the same end") {
  const std::string d = tmpdir();
  std::vector<std::pair<std::string, int64_t>> seen;
  tg::app::TrainRequest req = tiny_run(d + "/full");  // 3 x 20 iterations, a checkpoint every 5
  req.on_checkpoint = [&](const char* phase, int64_t iteration) {
    seen.emplace_back(phase, iteration);
    // The directory holds the state just saved: copy it at supervised iteration 5.
    const tg::io::Checkpoint ck = tg::io::load_checkpoint(d + "/full/model.ckpt");
    const Json meta = Json::parse(ck.meta_json, "meta");
    CHECK(meta.at("phase").as_string() == phase);
    CHECK(meta.at("iteration").as_int64() == iteration);
    if (std::string(phase) == "supervised" && iteration == 5) {
      std::filesystem::create_directories(d + "/copy");
      for (const char* f : {"config.json", "model.ckpt", "losses.csv"})
        std::filesystem::copy_file(d + "/full/" + f, d + "/copy/" + f);
    }
  };
  REQUIRE(tg::app::train(req).outcome == tg::app::TrainOutcome::Done);
  // Every 5 iterations across the phases, except the last one (the end of training).
  const std::vector<std::pair<std::string, int64_t>> want = {
      {"embedding", 5}, {"embedding", 10}, {"embedding", 15}, {"supervised", 0}, {"supervised", 5},
      {"supervised", 10}, {"supervised", 15}, {"joint", 0}, {"joint", 5}, {"joint", 10}, {"joint", 15}};
  CHECK(seen == want);
  tg::app::TrainRequest resume;
  resume.dir = d + "/copy";
  resume.resume = true;
  resume.quiet = true;
  REQUIRE(tg::app::train(resume).outcome == tg::app::TrainOutcome::Done);
  CHECK(tg::io::read_file(d + "/copy/losses.csv") == tg::io::read_file(d + "/full/losses.csv"));
  std::filesystem::remove_all(d);
}

TEST_CASE("train: a new run whose config.json cannot be written leaves no directory behind") {
  const std::string d = tmpdir(), rd = d + "/run";
  tg::io::testing::set_write_fault_after(0);  // config.json on a full disk
  std::string m = tgtest::error_of<tg::io::OutputError>([&] { tg::app::train(tiny_run(rd)); });
  tg::io::testing::set_write_fault_after(-1);
  CHECK_MESSAGE(has(m, "config.json"), m);
  CHECK_FALSE(std::filesystem::exists(rd));
  // An existing directory is kept, with what it held.
  tg::io::make_dirs(rd);
  tgtest::write(rd + "/notes.txt", "mine");
  tg::io::testing::set_write_fault_after(0);
  m = tgtest::error_of<tg::io::OutputError>([&] { tg::app::train(tiny_run(rd)); });
  tg::io::testing::set_write_fault_after(-1);
  CHECK(tg::io::read_file(rd + "/notes.txt") == "mine");
  CHECK_FALSE(tg::io::file_exists(rd + "/config.json"));
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

TEST_CASE("evaluate: a report that cannot be written leaves nothing of itself; a previous one stays as it was") {
  const std::string d = tmpdir();
  FaultsOff off;
  // Two evaluations with different numbers: sine against sine of another seed.
  tg::Rng rng(7, 5);
  const tg::io::Windows syn = tg::io::sine_data(40, 6, 2, rng);
  auto evaluation = [&](uint64_t seed) {
    tg::app::EvalRequest req;
    req.data = sine_options(40);
    req.synthetic = &syn;
    req.synthetic_name = "syn";
    req.repeats = 1;
    req.metric_iterations = 2;
    req.tsne_iterations = 5;
    req.seed = seed;
    req.quiet = true;
    return tg::app::evaluate(req);
  };
  const auto old_ev = evaluation(0), new_ev = evaluation(1);
  const std::string new_metrics = tg::app::metrics_json(new_ev->result).dump() + "\n";
  const std::string new_html = tg::app::report_html(new_ev->result);
  REQUIRE(new_metrics.size() < new_html.size());

  // An existing report directory that holds another file too.
  const std::string rep = d + "/rep";
  tg::app::write_report(rep, *old_ev);
  tgtest::write(rep + "/notes.txt", "mine");
  const std::string old_metrics = tg::io::read_file(rep + "/metrics.json");
  const std::string old_html = tg::io::read_file(rep + "/report.html");
  REQUIRE(old_metrics != new_metrics);
  // The disk fills up after metrics.json, while report.html is written.
  tg::io::testing::set_write_fault_after(static_cast<int64_t>(new_metrics.size()) + 1);
  std::string m = tgtest::error_of<tg::io::OutputError>([&] { tg::app::write_report(rep, *new_ev); });
  CHECK_MESSAGE(m.rfind(rep + "/report.html: write failed", 0) == 0, m);
  CHECK_MESSAGE(has(m, "No space left on device"), m);
  CHECK_MESSAGE(has(m, "the previous report in " + rep + " is unchanged"), m);
  CHECK(tg::io::read_file(rep + "/metrics.json") == old_metrics);
  CHECK(tg::io::read_file(rep + "/report.html") == old_html);
  CHECK(names_in(rep) == std::set<std::string>{"metrics.json", "notes.txt", "report.html"});  // no temporary directory

  // A new report directory (and a parent made for it): neither exists afterwards.
  m = tgtest::error_of<tg::io::OutputError>([&] { tg::app::write_report(d + "/new/rep", *new_ev); });
  CHECK_MESSAGE(has(m, d + "/new/rep/report.html: write failed"), m);
  CHECK_FALSE(tg::io::dir_exists(d + "/new/rep"));
  CHECK_FALSE(tg::io::dir_exists(d + "/new"));
  CHECK(names_in(d) == std::set<std::string>{"rep"});
  tg::io::testing::set_write_fault_after(-1);

  // With room, the new pair replaces the old one; the other file is not touched.
  tg::app::write_report(rep, *new_ev);
  CHECK(tg::io::read_file(rep + "/metrics.json") == new_metrics);
  CHECK(tg::io::read_file(rep + "/report.html") == new_html);
  CHECK(tg::io::read_file(rep + "/notes.txt") == "mine");
  CHECK(names_in(rep) == std::set<std::string>{"metrics.json", "notes.txt", "report.html"});
  tg::app::write_report(d + "/new/rep", *new_ev);
  CHECK(names_in(d + "/new/rep") == std::set<std::string>{"metrics.json", "report.html"});
  CHECK(names_in(d) == std::set<std::string>{"new", "rep"});
  std::filesystem::remove_all(d);
}

TEST_CASE("evaluate: temporary report directories of killed evaluations are removed, those of running ones kept") {
  const std::string d = tmpdir(), rep = d + "/rep";
  const std::string dead = std::to_string(dead_pid());
  // What a killed evaluation leaves: in an existing report directory, and beside a new one.
  for (const std::string& t : {rep + "/.report.tmp." + dead, d + "/.rep.tmp." + dead}) {
    tg::io::make_dirs(t);
    tgtest::write(t + "/metrics.json", "{}");
    tgtest::write(t + "/report.html.tmp." + dead + ".0", "<ht");
  }
  // A running process's (pid 1 runs as long as the system does), and a directory not of this form.
  const std::string live = rep + "/.report.tmp.1", other = rep + "/.report.tmp.x";
  tg::io::make_dirs(live);
  tg::io::make_dirs(other);
  tgtest::write(rep + "/metrics.json", "{}");
  const std::string own = rep + "/.report.tmp." + std::to_string(getpid());
  {
    tg::app::ReportOutput out(rep, "--out");
    CHECK_FALSE(tg::io::dir_exists(rep + "/.report.tmp." + dead));
    CHECK_FALSE(tg::io::dir_exists(d + "/.rep.tmp." + dead));
    CHECK(tg::io::dir_exists(live));
    CHECK(tg::io::dir_exists(other));
    CHECK(tg::io::dir_exists(own));  // the writer's own, until it is done or gives up
  }
  CHECK_FALSE(tg::io::dir_exists(own));
  CHECK(tg::io::read_file(rep + "/metrics.json") == "{}");
  std::filesystem::remove_all(d);
}

TEST_CASE("read_loss_curves: the report's curves from a hand-written loss log") {
  const std::string d = tmpdir();
  const std::string p = d + "/losses.csv";
  // e_loss_t0 is drawn as its square root; empty cells (not computed in the phase) and diverged
  // steps (nan, inf) give no point; a quoted field is one field.
  tgtest::write(p,
                            "phase,iteration,e_loss_t0,g_loss_s,g_loss_u,d_loss,d_stepped\n"
                            "embedding,1,4,,,,\n"
                            "embedding,2,nan,,,,\n"
                            "\"embedding\",3,0.25,,,,\n"
                            "supervised,1,,0.5,,,\n"
                            "joint,1,9,0.1,inf,0.7,1\n"
                            "joint,2,16,0.2,2.5,0.6,0\n");
  const std::vector<tg::app::LossCurve> c = tg::app::read_loss_curves(p);
  REQUIRE(c.size() == 6);
  CHECK(c[0].phase == "embedding");
  CHECK(c[0].name == "sqrt(e_loss_t0)");
  CHECK(c[0].iteration == std::vector<double>{1, 3});
  CHECK(c[0].value == std::vector<double>{2, 0.5});
  CHECK(c[1].name == "g_loss_s");
  CHECK(c[1].value == std::vector<double>{0.5});
  CHECK(c[2].value == std::vector<double>{3, 4});
  CHECK(c[3].value == std::vector<double>{0.1, 0.2});
  CHECK(c[4].iteration == std::vector<double>{2});  // inf: no point
  CHECK(c[5].value == std::vector<double>{0.7, 0.6});
  // long logs: block means, at most max_points points
  const std::vector<tg::app::LossCurve> two = tg::app::read_loss_curves(p, 1);
  CHECK(two[2].iteration == std::vector<double>{1});
  CHECK(two[2].value == std::vector<double>{3.5});

  tgtest::write(p, "phase,iteration,e_loss_t0,g_loss_s,g_loss_u,d_loss\njoint,1,1,x,1,1\n");
  CHECK_THROWS_WITH_AS(tg::app::read_loss_curves(p), doctest::Contains("losses.csv:2: column 'g_loss_s': not a number: \"x\""),
                       tg::io::InputError);
  tgtest::write(p, "phase,iteration,e_loss_t0,g_loss_s,g_loss_u,d_loss\njoint,1,1\n");
  CHECK_THROWS_WITH_AS(tg::app::read_loss_curves(p), doctest::Contains("losses.csv:2: expected 6 fields, found 3"),
                       tg::io::InputError);
  tgtest::write(p, "phase,iteration,e_loss_t0\n");
  CHECK_THROWS_WITH_AS(tg::app::read_loss_curves(p), doctest::Contains("losses.csv:1: no column 'g_loss_s'"),
                       tg::io::InputError);
  tgtest::write(p, "");
  CHECK_THROWS_WITH_AS(tg::app::read_loss_curves(p), doctest::Contains("empty loss log"), tg::io::InputError);
  std::filesystem::remove_all(d);
}
