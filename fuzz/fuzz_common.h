// Shared by the libFuzzer targets: what counts as a finding besides a sanitizer report.
//  - An InputError (bad input, refused) is the expected outcome; its message must be one line.
//  - std::bad_alloc or std::length_error mean a size taken from the input was trusted: abort.
//  - Any other exception escaping a reader is a bug too (the CLI would not name the file).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <new>
#include <stdexcept>
#include <string>

#include "tg/io/error.h"

namespace tgfuzz {

[[noreturn]] inline void finding(const char* what, const std::string& msg) {
  std::fprintf(stderr, "FUZZ FINDING: %s: %s\n", what, msg.c_str());
  std::abort();
}

inline void check_message(const std::string& m) {
  if (m.empty()) finding("empty error message", m);
  if (m.find('\n') != std::string::npos || m.find('\r') != std::string::npos)
    finding("error message is not one line", m);
}

/// Runs f; InputError is accepted (message checked), everything else is a finding. Returns
/// true when f returned normally.
template <typename F>
bool expect_input_errors_only(F&& f) {
  try {
    f();
    return true;
  } catch (const tg::io::InputError& e) {
    check_message(e.what());
  } catch (const std::bad_alloc& e) {
    finding("std::bad_alloc (an allocation sized from the input)", e.what());
  } catch (const std::length_error& e) {
    finding("std::length_error (a size taken from the input)", e.what());
  } catch (const std::exception& e) {
    finding("unexpected exception type", e.what());
  }
  return false;
}

}  // namespace tgfuzz
