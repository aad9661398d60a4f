// Error types of the io module. Every message is one line and names the file (and line,
// column or field where they apply), e.g. `data.csv:17: column 'Close': not a number: "abc"`.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace tg::io {

/// Bad input: a malformed or inconsistent file, an unknown column, too little data, ...
struct InputError : std::runtime_error {
  explicit InputError(const std::string& msg) : std::runtime_error(msg) {}
};

/// A file could not be written (permissions, missing directory, disk full, ...).
/// The destination is left as it was: writes go to a temporary file that is renamed.
struct OutputError : std::runtime_error {
  explicit OutputError(const std::string& msg) : std::runtime_error(msg) {}
};

/// `s` with control characters and bytes that are not well-formed UTF-8 escaped (\n, \t, \xNN):
/// how messages quote text taken from a file, so that they stay one printable line.
std::string printable(std::string_view s);

}  // namespace tg::io
