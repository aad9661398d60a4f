// timegan evaluate: a tiny train -> evaluate round trip (model and file inputs), the report's
// sections and self-containment, metrics.json, the one-line errors for mismatched sets and
// incomplete run directories, and a full disk (the previous report kept, nothing of the new one
// left). Iteration counts are tiny: these check the plumbing; the metric values themselves are
// tested in test_metrics.cpp.
#include <doctest/doctest.h>

#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "test_util.h"
#include "tg/io/fs.h"
#include "tg/io/json.h"

namespace {

using Result = tgtest::CliResult;
using tgtest::run;
std::string tmpdir() { return tgtest::make_tmpdir("tg-eval"); }
using tgtest::count_lines;

const char* kData = "--sine-n 80 --seq-len 8 --sine-dim 3";
const char* kQuick = "--repeats 2 --metric-iterations 10 --tsne-iterations 30 --quiet";

std::set<std::string> names_in(const std::string& dir) {
  std::set<std::string> s;
  for (const auto& e : std::filesystem::directory_iterator(dir)) s.insert(e.path().filename().string());
  return s;
}

// One small trained run shared by the cases below.
const std::string& trained_run() {
  static std::string dir;
  if (dir.empty()) {
    dir = tmpdir() + "/run";
    const Result r = run(std::string("train --data sine ") + kData +
                         " --iterations 3" + tgtest::kTinyNet + "--quiet --out " + dir);
    REQUIRE_MESSAGE(r.code == 0, r.out);
  }
  return dir;
}

}  // namespace

TEST_CASE("evaluate --help lists its options") {
  const Result h = run("evaluate --help");
  CHECK(h.code == 0);
  for (const char* opt : {"--real", "--synthetic", "--model", "--repeats", "--metric-iterations", "--tsne-iterations",
                          "--device", "--out", "--seed", "--preset", "--quiet"})
    CHECK_MESSAGE(h.out.find(opt) != std::string::npos, opt);
  CHECK(run("--help").out.find("evaluate") != std::string::npos);
}

TEST_CASE("evaluate --model: report with every section, no external reference, metrics.json") {
  const std::string rep = tmpdir() + "/rep";
  const Result r = run("evaluate --model " + trained_run() + " " + kQuick + " --out " + rep);
  REQUIRE_MESSAGE(r.code == 0, r.out);
  CHECK(r.out.find("discriminative score") != std::string::npos);
  CHECK(r.out.find("predictive score") != std::string::npos);
  CHECK(r.out.find(rep + "/report.html") != std::string::npos);

  const std::string html = tg::io::read_file(rep + "/report.html");
  for (const char* s : {"id=\"scores\"", "id=\"embeddings\"", "id=\"samples\"", "id=\"marginals\"", "id=\"losses\"",
                        "id=\"definitions\"", "paper (Table 2), Sines", "0.011", "0.093", "PCA", "t-SNE", "<svg",
                        "embedding phase", "joint phase", "Wasserstein-1", "MMD"})
    CHECK_MESSAGE(html.find(s) != std::string::npos, s);
  // Self-contained: no links, no scripts, no fonts or images from anywhere.
  for (const char* s : {"http", "<script", "<link", "src=", "url(", "@import"})
    CHECK_MESSAGE(html.find(s) == std::string::npos, s);

  const tg::io::Json j = tg::io::Json::parse(tg::io::read_file(rep + "/metrics.json"), "metrics.json");
  CHECK(j.at("discriminative").at("per_repeat").size() == 2);
  CHECK(j.at("predictive").at("per_repeat").size() == 2);
  CHECK(j.at("discriminative").at("paper").at("mean").as_double() == doctest::Approx(0.011));
  CHECK(j.at("predictive").at("real_on_real").as_double() > 0);
  CHECK(j.at("real").at("windows").as_int64() == 80);
  CHECK(j.at("synthetic").at("windows").as_int64() == 80);
  CHECK(j.at("wasserstein1").at("per_feature").size() == 3);
  CHECK(j.at("settings").at("repeats").as_int64() == 2);
  CHECK(j.at("settings").at("discriminative_iterations").as_int64() == 10);
  CHECK(j.at("settings").at("predictive_iterations").as_int64() == 25);
  CHECK(j.at("visualisation").at("tsne_real").size() == 160);

  // Same seed, same numbers.
  const std::string rep2 = tmpdir() + "/rep";
  REQUIRE(run("evaluate --model " + trained_run() + " " + kQuick + " --out " + rep2).code == 0);
  const tg::io::Json j2 = tg::io::Json::parse(tg::io::read_file(rep2 + "/metrics.json"), "metrics.json");
  CHECK(j2.at("discriminative") == j.at("discriminative"));
  CHECK(j2.at("predictive") == j.at("predictive"));
}

TEST_CASE("evaluate --synthetic: CSV and NPY files in the data's units") {
  const std::string d = tmpdir();
  REQUIRE(run("generate --model " + trained_run() + " --n 50 --out " + d + "/syn.csv --quiet").code == 0);
  REQUIRE(run("generate --model " + trained_run() + " --n 50 --out " + d + "/syn.npy --quiet").code == 0);
  for (const char* f : {"/syn.csv", "/syn.npy"}) {
    const Result r = run(std::string("evaluate --real sine ") + kData + " --synthetic " + d + f + " " + kQuick +
                         " --out " + d + "/rep");
    REQUIRE_MESSAGE(r.code == 0, r.out);
    const std::string html = tg::io::read_file(d + "/rep/report.html");
    CHECK(html.find("no training log") != std::string::npos);
    const tg::io::Json j = tg::io::Json::parse(tg::io::read_file(d + "/rep/metrics.json"), "metrics.json");
    CHECK(j.at("synthetic").at("windows").as_int64() == 50);
  }
}

TEST_CASE("evaluate: mismatched sets and incomplete run directories are one-line errors") {
  const std::string d = tmpdir();
  REQUIRE(run("generate --model " + trained_run() + " --n 20 --out " + d + "/syn.csv --quiet").code == 0);
  REQUIRE(run("generate --model " + trained_run() + " --n 20 --out " + d + "/syn.npy --quiet").code == 0);
  // Feature count.
  Result r = run("evaluate --real sine --sine-n 80 --seq-len 8 --sine-dim 4 --synthetic " + d + "/syn.csv " + kQuick +
                 " --out " + d + "/rep");
  CHECK(r.code == 1);
  CHECK(count_lines(r.out) == 1);
  CHECK(r.out.find("8 steps x 4 features") != std::string::npos);
  CHECK(r.out.find("8 steps x 3 features") != std::string::npos);
  CHECK(r.out.find("syn.csv") != std::string::npos);
  // Sequence length (NPY and model).
  r = run("evaluate --real sine --sine-n 80 --seq-len 10 --sine-dim 3 --synthetic " + d + "/syn.npy " + kQuick +
          " --out " + d + "/rep");
  CHECK(r.code == 1);
  CHECK(count_lines(r.out) == 1);
  CHECK(r.out.find("10 steps x 3 features") != std::string::npos);
  CHECK(r.out.find("8 steps x 3 features") != std::string::npos);
  r = run("evaluate --real sine --sine-n 80 --seq-len 12 --sine-dim 3 --model " + trained_run() + " " + kQuick +
          " --out " + d + "/rep");
  CHECK(r.code == 1);
  CHECK(r.out.find("12 steps x 3 features") != std::string::npos);
  CHECK_FALSE(tg::io::file_exists(d + "/rep/report.html"));

  // A run directory without its files.
  tg::io::make_dirs(d + "/empty");
  r = run("evaluate --model " + d + "/empty " + kQuick + " --out " + d + "/rep");
  CHECK(r.code == 1);
  CHECK(count_lines(r.out) == 1);
  CHECK(r.out.find(d + "/empty") != std::string::npos);
  tg::io::make_dirs(d + "/nockpt");
  tg::io::atomic_write_text(d + "/nockpt/config.json", tg::io::read_file(trained_run() + "/config.json"));
  r = run("evaluate --model " + d + "/nockpt " + kQuick + " --out " + d + "/rep");
  CHECK(r.code == 1);
  CHECK(r.out.find(d + "/nockpt") != std::string::npos);
  CHECK(r.out.find("model.ckpt") != std::string::npos);

  // Usage.
  r = run("evaluate --real sine --out " + d + "/rep");
  CHECK(r.code == 2);
  CHECK(r.out.find("--synthetic") != std::string::npos);
  r = run("evaluate --model " + trained_run() + " --synthetic " + d + "/syn.csv --out " + d + "/rep");
  CHECK(r.code == 2);
  r = run("evaluate --model " + trained_run() + " --repeats 0 --out " + d + "/rep");
  CHECK(r.code == 2);
}

TEST_CASE("evaluate checks --out before any work; a directory it made is removed when the evaluation fails") {
  const std::string d = tmpdir();
  tg::io::atomic_write_text(d + "/afile", "x");
  // The inputs are missing too: the unwritable --out is reported first.
  Result r = run("evaluate --real " + d + "/missing.csv --synthetic " + d + "/missing2.csv " + kQuick + " --out " + d +
                 "/afile/rep");
  CHECK(r.code == 1);
  CHECK(count_lines(r.out) == 1);
  CHECK_MESSAGE(r.out.find("--out " + d + "/afile/rep: cannot create the directory") != std::string::npos, r.out);
  CHECK(r.out.find("missing") == std::string::npos);
  r = run("evaluate --real " + d + "/missing.csv --synthetic " + d + "/missing2.csv " + kQuick + " --out " + d + "/afile");
  CHECK(r.code == 1);
  CHECK_MESSAGE(r.out.find("--out " + d + "/afile: is a file, not a directory") != std::string::npos, r.out);
  // A writable --out with a failing evaluation: the report directory is not left behind.
  r = run("evaluate --real " + d + "/missing.csv --synthetic " + d + "/missing2.csv " + kQuick + " --out " + d + "/rep");
  CHECK(r.code == 1);
  CHECK(r.out.find("missing.csv") != std::string::npos);
  CHECK_FALSE(tg::io::dir_exists(d + "/rep"));
}

TEST_CASE("evaluate: a real set of one window and synthetic sequences shorter than the real ones are named errors") {
  const std::string d = tmpdir();
  REQUIRE(run("generate --model " + trained_run() + " --n 20 --out " + d + "/syn.csv --quiet").code == 0);
  Result r = run("evaluate --real sine --sine-n 1 --seq-len 8 --sine-dim 3 --synthetic " + d + "/syn.csv " + kQuick +
                 " --out " + d + "/rep");
  CHECK(r.code == 1);
  CHECK(count_lines(r.out) == 1);
  CHECK_MESSAGE(r.out.find("real data sine has 1 window; the scores need at least 2") != std::string::npos, r.out);
  // Synthetic sequences of 5 steps against sine windows of 8 (the sine data list their lengths).
  std::string csv = "sequence_id,t,feature_1,feature_2,feature_3\n";
  for (int i = 0; i < 4; ++i)
    for (int t = 0; t < 5; ++t) csv += std::to_string(i) + "," + std::to_string(t) + ",0.5,0.5,0.5\n";
  tg::io::atomic_write_text(d + "/short.csv", csv);
  r = run(std::string("evaluate --real sine ") + kData + " --synthetic " + d + "/short.csv " + kQuick + " --out " + d + "/rep");
  CHECK(r.code == 1);
  CHECK(count_lines(r.out) == 1);
  CHECK_MESSAGE(r.out.find("has 5 steps x 3 features; they must match") != std::string::npos, r.out);
}

TEST_CASE("evaluate on a full disk: the OS's reason, the previous report unchanged, nothing of the new one left") {
  // A real file system that fills up (the same through the library and a fault hook, anywhere:
  // test_app_io.cpp).
  tgtest::SmallFs fs("1m");
  if (!fs.mounted) {
    MESSAGE("skipped: cannot mount a tmpfs here (" << fs.why << "); needs root");
    return;
  }
  const std::string rep = fs.dir + "/rep";
  Result r = run("evaluate --model " + trained_run() + " " + kQuick + " --out " + rep);
  REQUIRE_MESSAGE(r.code == 0, r.out);
  const std::string old_metrics = tg::io::read_file(rep + "/metrics.json"), old_html = tg::io::read_file(rep + "/report.html");
  // Fill it up but for the room of metrics.json and two pages: report.html (11 pages) does not fit.
  struct statvfs st {};
  REQUIRE(statvfs(fs.dir.c_str(), &st) == 0);
  const int64_t page = static_cast<int64_t>(st.f_bsize), free_bytes = static_cast<int64_t>(st.f_bavail) * page;
  const int64_t keep = (static_cast<int64_t>(old_metrics.size()) / page + 3) * page;
  REQUIRE(static_cast<int64_t>(old_html.size()) > keep + 2 * page);
  tgtest::write(fs.dir + "/filler", std::string(static_cast<size_t>(free_bytes - keep), 'x'));
  REQUIRE(tg::io::file_size(fs.dir + "/filler") == free_bytes - keep);

  // Another seed (other numbers) into the existing report directory.
  r = run("evaluate --model " + trained_run() + " " + kQuick + " --seed 1 --out " + rep);
  CHECK(r.code == 1);
  CHECK_MESSAGE(count_lines(r.out) == 1, r.out);
  CHECK_MESSAGE(r.out.rfind("timegan evaluate: error: " + rep + "/report.html: write failed: No space left on device", 0) == 0,
                r.out);
  CHECK(tg::io::read_file(rep + "/metrics.json") == old_metrics);
  CHECK(tg::io::read_file(rep + "/report.html") == old_html);
  CHECK(names_in(rep) == std::set<std::string>{"metrics.json", "report.html"});
  // A new report directory: it does not appear.
  r = run("evaluate --model " + trained_run() + " " + kQuick + " --seed 1 --out " + fs.dir + "/new");
  CHECK(r.code == 1);
  CHECK_MESSAGE(r.out.find(fs.dir + "/new/report.html: write failed: No space left on device") != std::string::npos, r.out);
  CHECK(names_in(fs.dir) == std::set<std::string>{"filler", "rep"});
}

TEST_CASE("evaluate on a completely full disk is refused before the work with the OS's reason") {
  tgtest::SmallFs fs("64k");
  if (!fs.mounted) {
    MESSAGE("skipped: cannot mount a tmpfs here (" << fs.why << "); needs root");
    return;
  }
  {
    std::ofstream f(fs.dir + "/filler", std::ios::binary);
    const std::string chunk(4096, 'x');
    for (int i = 0; i < 1024 && f; ++i) f.write(chunk.data(), static_cast<std::streamsize>(chunk.size())).flush();
  }
  const std::string out = fs.dir + "/rep";
  const Result r = run("evaluate --model " + trained_run() + " " + kQuick + " --out " + out);
  CHECK(r.code == 1);
  CHECK_MESSAGE(r.out == "timegan evaluate: error: --out " + out + ": cannot write in the directory: No space left on device\n",
                r.out);
  CHECK(names_in(fs.dir) == std::set<std::string>{"filler"});
}
