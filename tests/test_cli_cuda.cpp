// What `timegan train --device cuda` shows when the device goes wrong: for each condition one
// line on stderr naming the problem and what to do, and exit status 1. The conditions are
// injected into the CPU emulation of the device (TG_CUDA_EMU_FAULT, kernels/cuda/emu/faults.cpp),
// so the suite runs in the emulated build (.ci/cuda-emu) and is skipped elsewhere.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "test_util.h"

namespace {

#if defined(TG_TIMEGAN_BIN) && defined(TG_TEST_CUDA_EMU)
// timegan train on a tiny model with `env` (VAR=value ...) set; stdout discarded.
// stderr without the lines a sanitizer runtime adds ("==PID==WARNING: ASan doesn't fully support
// makecontext/swapcontext ...", printed once per process of an AddressSanitizer build).
std::string without_sanitizer_notes(const std::string& err) {
  std::string out;
  size_t at = 0;
  while (at < err.size()) {
    const size_t end = std::min(err.find('\n', at), err.size());
    const std::string line = err.substr(at, end - at);
    if (!(line.size() > 2 && line[0] == '=' && line[1] == '=' && line.find("==WARNING: ") != std::string::npos))
      out += line + (end < err.size() ? "\n" : "");
    at = end + 1;
  }
  return out;
}

tgtest::CliResult train(const std::string& env, const std::string& extra = "") {
  const std::string dir = tgtest::make_tmpdir("tg-cli-cuda");
  const tgtest::CliResult r = tgtest::run_shell(
      "env " + env + " " + std::string(TG_TIMEGAN_BIN) +
      " train --device cuda --data sine --sine-n 64 --hidden-dim 4 --num-layers 2 --batch-size 8"
      " --seq-len 6 --iterations 1 --quiet --overwrite --out " +
      dir + "/run " + extra + " 2>&1 >/dev/null");  // (stderr only)
  std::system(("rm -rf " + dir).c_str());
  return {r.code, without_sanitizer_notes(r.out)};
}

void expect_one_line(const std::string& env, const std::string& phrase) {
  const tgtest::CliResult r = train(env);
  CAPTURE(env);
  CAPTURE(r.out);
  CHECK(r.code == 1);
  CHECK(tgtest::count_lines(r.out) == 1);
  CHECK(r.out.rfind("timegan train: error: ", 0) == 0);
  CHECK(tgtest::has(r.out, phrase));
}
#endif

}  // namespace

#if defined(TG_TIMEGAN_BIN) && defined(TG_TEST_CUDA_EMU)

TEST_CASE("cli cuda: the device probe's failures") {
  expect_one_line("TG_CUDA_EMU_FAULT=no_driver", "no NVIDIA driver is loaded; install the NVIDIA driver");
  expect_one_line("TG_CUDA_EMU_FAULT=old_driver", "the NVIDIA driver supports CUDA up to 12.2 but this build's runtime is CUDA 13.0");
  expect_one_line("TG_CUDA_EMU_FAULT=no_device", "no CUDA-capable device is detected");
  expect_one_line("TG_CUDA_EMU_FAULT=no_kernel_image", "(sm_75): it was compiled for CUDA architectures 80-real,90-real,90-virtual");
  expect_one_line("TG_CUDA_EMU_FAULT=busy", "busy or unavailable");
}

TEST_CASE("cli cuda: out of memory") {
  expect_one_line("TG_CUDA_EMU_FAULT=oom_malloc:4096", "CUDA out of memory: a tensor of");
  expect_one_line("TG_CUDA_EMU_FAULT=oom_blas:1000000000", "CUDA out of memory in cuBLAS");
  // one failed cuBLAS call is retried after the cache is released: training goes on
  const tgtest::CliResult r = train("TG_CUDA_EMU_FAULT=oom_blas:1");
  CAPTURE(r.out);
  CHECK(r.code == 0);
}

TEST_CASE("cli cuda: an asynchronous kernel fault") {
  expect_one_line("TG_CUDA_EMU_FAULT=async_fault:adam_multi_kernel", "may come from an earlier kernel launch: rerun with TG_CUDA_SYNC=1");
  expect_one_line("TG_CUDA_EMU_FAULT=async_fault:adam_multi_kernel TG_CUDA_SYNC=1", "CUDA error: kernel adam_multi_kernel failed");
}

#else
TEST_CASE("cli cuda") { MESSAGE("skipped: needs the timegan executable of the emulated CUDA build (TG_CUDA_EMU=ON)"); }
#endif
