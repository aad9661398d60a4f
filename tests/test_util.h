// Helpers shared by the test suites: temporary directories, a small file system to fill,
// expected-error capture, and running the built timegan executable.
#pragma once

#include <doctest/doctest.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

namespace tgtest {

inline bool has(const std::string& s, const std::string& sub) { return s.find(sub) != std::string::npos; }

inline int count_lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

/// Writes `text` to `path` as is (binary: no newline translation).
inline void write(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
}

/// The directories make_tmpdir made in this run of the suite.
inline std::vector<std::string>& made_tmpdirs() {
  static std::vector<std::string> dirs;
  return dirs;
}

/// A fresh directory under /tmp named after `prefix`. Removed when the suite ends with every test
/// passed (test_main.cc: remove_tmpdirs); kept after a failure, and with TG_TEST_KEEP_TMP=1.
inline std::string make_tmpdir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
  const char* d = mkdtemp(tmpl.data());
  REQUIRE(d != nullptr);
  made_tmpdirs().push_back(d);
  return d;
}

inline void remove_tmpdirs() {
  const char* keep = std::getenv("TG_TEST_KEEP_TMP");
  if (keep != nullptr && std::strcmp(keep, "1") == 0) return;
  std::error_code ec;
  for (const std::string& d : made_tmpdirs()) std::filesystem::remove_all(d, ec);
  made_tmpdirs().clear();
}

/// Message of the exception of type E thrown by f; fails the test when none is thrown, and
/// checks the message is one line.
template <typename E, typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    const std::string m = e.what();
    CHECK(m.find('\n') == std::string::npos);  // one line
    return m;
  }
  FAIL("expected an exception");
  return "";
}

/// Whether `s` is one non-empty line (no newline).
inline bool one_line(const std::string& s) { return !s.empty() && s.find('\n') == std::string::npos; }

/// The message of whatever exception `f` throws, "" when it throws none.
template <typename F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

/// A small tmpfs of `size` (as mount's size= takes it: "128k") on a fresh directory, to fill a
/// file system for real; unmounted and removed when it goes. Mounting needs root (the tests run
/// as root in CI): where it is not permitted, `mounted` is false and `why` says why.
struct SmallFs {
  std::string dir, why;
  bool mounted = false;
  explicit SmallFs(const std::string& size) : dir(make_tmpdir("tg-smallfs")) {
    mounted = ::mount("tmpfs", dir.c_str(), "tmpfs", 0, ("size=" + size).c_str()) == 0;
    if (!mounted) why = std::strerror(errno);
  }
  /// Gives the file system another size (room again after filling it).
  bool resize(const std::string& size) {
    return ::mount("tmpfs", dir.c_str(), "tmpfs", MS_REMOUNT, ("size=" + size).c_str()) == 0;
  }
  ~SmallFs() {
    if (mounted) ::umount2(dir.c_str(), MNT_DETACH);
    ::rmdir(dir.c_str());
  }
  SmallFs(const SmallFs&) = delete;
  SmallFs& operator=(const SmallFs&) = delete;
};

/// Whether a child may run under `ulimit -v`: not in an AddressSanitizer build, whose programs
/// reserve terabytes of address space for themselves.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSpaceBounds = false;
#elif defined(__has_feature)
constexpr bool kAddressSpaceBounds = !__has_feature(address_sanitizer);
#else
constexpr bool kAddressSpaceBounds = true;
#endif

/// A pid that is certainly not running: a child that has exited and been reaped.
inline pid_t dead_pid() {
  const pid_t p = fork();
  if (p == 0) _exit(0);
  int st = 0;
  waitpid(p, &st, 0);
  return p;
}

struct CliResult {
  int code;
  std::string out;  // stdout + stderr
};

/// Runs a shell command line; its exit status (128 + signal when killed) and what it printed on
/// the stdout the line leaves it (redirect stderr there with 2>&1).
inline CliResult run_shell(const std::string& cmd) {
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), out};
}

#ifdef TG_TIMEGAN_BIN
// ---- the CLI suites (test_cli*.cpp) ----------------------------------------------------------

/// Runs the built timegan with `args` (a shell fragment), capturing both streams; with
/// `max_memory_kb`, under that bound of its virtual memory (ulimit -v).
inline CliResult run_timegan(const std::string& args, long max_memory_kb = 0) {
  const std::string limit = max_memory_kb > 0 ? "ulimit -v " + std::to_string(max_memory_kb) + " && exec " : "";
  return run_shell(limit + std::string(TG_TIMEGAN_BIN) + " " + args + " 2>&1");
}
inline CliResult run(const std::string& args, long max_memory_kb = 0) { return run_timegan(args, max_memory_kb); }

/// The networks of a model small enough for a test, as timegan options (with spaces around).
inline const std::string kTinyNet = " --hidden-dim 4 --num-layers 2 --batch-size 8 ";
#endif

}  // namespace tgtest
