// Small file-system helpers: existence, recursive mkdir, whole-file read, atomic write.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace tg::io {

/// True if `path` names an existing regular file (or a link to one).
bool file_exists(const std::string& path);
/// True if `path` names an existing directory.
bool dir_exists(const std::string& path);
/// Creates `path` and its missing parents; no-op if it exists. Throws OutputError.
void make_dirs(const std::string& path);
/// Largest input file read_file takes by default: 4 GiB (data files, checkpoints within
/// TimeGanConfig's limits, config.json). Reading stops (InputError) once a file or stream (a
/// pipe, /dev/zero, ...) goes past it, so an endless input cannot exhaust memory.
constexpr int64_t kMaxInputFileBytes = int64_t{1} << 32;
/// Whole file as bytes. Throws InputError "<path>: cannot open: <reason>", or
/// "<path>: larger than <max_bytes> bytes ..." past `max_bytes`.
std::string read_file(const std::string& path, int64_t max_bytes = kMaxInputFileBytes);
/// Size of a file in bytes, or -1 if it cannot be stat'ed.
int64_t file_size(const std::string& path);

/// Writes `n` bytes to `path` atomically: a temporary file in the same directory is written,
/// flushed and fsync'ed, then renamed over `path`. If anything fails, the temporary file is
/// removed, `path` keeps its previous contents and OutputError is thrown.
void atomic_write(const std::string& path, const void* data, std::size_t n);
void atomic_write_text(const std::string& path, const std::string& text);

namespace testing {
/// Test hook: make the next atomic writes fail after `bytes` bytes of the temporary file have
/// been written (a simulated full disk). A negative value (the default) disables the fault.
void set_write_fault_after(int64_t bytes);
}  // namespace testing

}  // namespace tg::io
