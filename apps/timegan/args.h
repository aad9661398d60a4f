// A small declarative command-line parser for the timegan subcommands: every option has a
// default and a help line (so --help lists them all), values are validated with messages that
// name the subcommand and the option, and unknown options are errors.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace tgcli {

struct UsageError : std::runtime_error {
  explicit UsageError(const std::string& m) : std::runtime_error(m) {}
};

struct OptionSpec {
  std::string name;     // without dashes: "hidden-dim"
  std::string metavar;  // "N"; empty for a flag
  std::string def;      // default as text ("" = none)
  std::string help;
};

class Args {
 public:
  Args(std::string command, std::string summary, std::vector<OptionSpec> specs);
  /// Parses argv[first..]; throws UsageError. Returns false when --help was given (help printed).
  bool parse(int argc, char** argv, int first);
  std::string help() const;
  /// Text printed after the option list of --help (e.g. the exit statuses).
  void set_epilogue(std::string text) { epilogue_ = std::move(text); }

  bool given(const std::string& name) const;  // on the command line
  std::string str(const std::string& name) const;
  bool flag(const std::string& name) const;
  int64_t integer(const std::string& name, int64_t lo, int64_t hi) const;
  uint64_t u64(const std::string& name) const;
  double real(const std::string& name, double lo, double hi) const;
  std::string choice(const std::string& name, const std::vector<std::string>& allowed) const;
  /// "90s", "15m", "2h", "1h30m", "45" (seconds) -> seconds; "" -> 0.
  double duration(const std::string& name) const;
  [[noreturn]] void fail(const std::string& name, const std::string& what) const;
  const std::string& command() const { return command_; }

 private:
  const OptionSpec* spec(const std::string& name) const;
  std::string command_, summary_, epilogue_;
  std::vector<OptionSpec> specs_;
  std::map<std::string, std::string> values_;
  std::map<std::string, bool> given_;
};

}  // namespace tgcli
