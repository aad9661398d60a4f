#include "args.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace tgcli {

Args::Args(std::string command, std::string summary, std::vector<OptionSpec> specs)
    : command_(std::move(command)), summary_(std::move(summary)), specs_(std::move(specs)) {
  for (const auto& s : specs_) values_[s.name] = s.def;
}

const OptionSpec* Args::spec(const std::string& name) const {
  for (const auto& s : specs_)
    if (s.name == name) return &s;
  return nullptr;
}

bool Args::parse(int argc, char** argv, int first) {
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      std::fputs(help().c_str(), stdout);
      return false;
    }
    if (a.rfind("--", 0) != 0)
      throw UsageError(command_ + ": unexpected argument '" + a + "' (options start with --; see " + command_ + " --help)");
    std::string name = a.substr(2), value;
    bool has_value = false;
    const auto eq = name.find('=');
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    const OptionSpec* s = spec(name);
    if (!s) throw UsageError(command_ + ": unknown option '--" + name + "' (see " + command_ + " --help)");
    if (s->metavar.empty()) {
      if (has_value) throw UsageError(command_ + ": option --" + name + " takes no value");
      value = "1";
    } else if (!has_value) {
      if (i + 1 >= argc) throw UsageError(command_ + ": option --" + name + " needs a value (" + s->metavar + ")");
      value = argv[++i];
    }
    // A repeated option is an error, never "the last one wins": `--seed 1 ... --seed 2` in a
    // long command line is a mistake that would otherwise go unnoticed.
    if (given_.count(name))
      throw UsageError(command_ + ": option --" + name + " given twice" +
                       (s->metavar.empty() ? std::string() : " ('" + values_[name] + "' and '" + value + "')") +
                       "; give it once");
    values_[name] = value;
    given_[name] = true;
  }
  return true;
}

std::string Args::help() const {
  std::ostringstream o;
  o << "usage: " << command_ << " [options]\n\n" << summary_ << "\n\noptions:\n";
  for (const auto& s : specs_) {
    std::string left = "  --" + s.name + (s.metavar.empty() ? "" : " " + s.metavar);
    if (left.size() < 30) left.resize(30, ' ');
    else left += "\n" + std::string(30, ' ');
    o << left << s.help;
    if (!s.metavar.empty()) o << " (default: " << (s.def.empty() ? "none" : s.def) << ")";
    o << "\n";
  }
  o << "  --help                      show this help\n";
  if (!epilogue_.empty()) o << "\n" << epilogue_;
  return o.str();
}

bool Args::given(const std::string& name) const { return given_.count(name) > 0; }

std::string Args::str(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) throw std::logic_error("Args: undeclared option " + name);
  return it->second;
}

bool Args::flag(const std::string& name) const { return str(name) == "1"; }

void Args::fail(const std::string& name, const std::string& what) const {
  throw UsageError(command_ + ": --" + name + ": " + what);
}

int64_t Args::integer(const std::string& name, int64_t lo, int64_t hi) const {
  const std::string v = str(name);
  errno = 0;
  char* end = nullptr;
  const long long x = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno == ERANGE) fail(name, "expected an integer, got '" + v + "'");
  if (x < lo || x > hi)
    fail(name, "value " + v + " out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return x;
}

uint64_t Args::u64(const std::string& name) const {
  const std::string v = str(name);
  errno = 0;
  char* end = nullptr;
  const unsigned long long x = std::strtoull(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno == ERANGE || v[0] == '-') fail(name, "expected a non-negative integer, got '" + v + "'");
  return x;
}

double Args::real(const std::string& name, double lo, double hi) const {
  const std::string v = str(name);
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || !std::isfinite(x)) fail(name, "expected a number, got '" + v + "'");
  if (x < lo || x > hi) {
    std::ostringstream s;
    s << "value " << v << " out of range [" << lo << ", " << hi << "]";
    fail(name, s.str());
  }
  return x;
}

std::string Args::choice(const std::string& name, const std::vector<std::string>& allowed) const {
  const std::string v = str(name);
  for (const auto& a : allowed)
    if (a == v) return v;
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  fail(name, "'" + v + "' is not one of " + list);
}

double Args::duration(const std::string& name) const {
  const std::string v = str(name);
  if (v.empty()) return 0.0;
  double total = 0;
  size_t i = 0;
  bool any = false;
  while (i < v.size()) {
    char* end = nullptr;
    const double x = std::strtod(v.c_str() + i, &end);
    const size_t used = static_cast<size_t>(end - (v.c_str() + i));
    if (used == 0 || !(x >= 0)) fail(name, "expected a duration like 90s, 15m, 2h or 1h30m, got '" + v + "'");
    i += used;
    double unit = 1;
    if (i < v.size()) {
      const char u = v[i++];
      if (u == 's') unit = 1;
      else if (u == 'm') unit = 60;
      else if (u == 'h') unit = 3600;
      else if (u == 'd') unit = 86400;
      else fail(name, "unknown unit '" + std::string(1, u) + "' in '" + v + "' (use s, m, h or d)");
    }
    total += x * unit;
    any = true;
  }
  if (!any || total <= 0) fail(name, "expected a positive duration, got '" + v + "'");
  return total;
}

}  // namespace tgcli
