// Small file-system helpers: existence, recursive mkdir, whole-file read, atomic write, and
// checked appends to a file written as a stream (a log).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace tg::io {

/// True if `path` names an existing regular file (or a link to one).
bool file_exists(const std::string& path);
/// True if `path` names an existing directory.
bool dir_exists(const std::string& path);
/// Why `path` cannot be used as a regular file although something is there, or the path cannot
/// be examined: "is a directory", "not a regular file", or the OS's reason ("Too many levels of
/// symbolic links", "Permission denied"); "" for a regular file and for a path that does not exist.
std::string not_a_file_reason(const std::string& path);
/// Creates `path` and its missing parents; no-op if it exists. Throws OutputError.
void make_dirs(const std::string& path);
/// Largest input file read_file takes by default: 4 GiB (data files, checkpoints within
/// TimeGanConfig's limits, config.json). Reading stops (InputError) once a file or stream (a
/// pipe, /dev/zero, ...) goes past it, so an endless input cannot exhaust memory.
constexpr int64_t kMaxInputFileBytes = int64_t{1} << 32;
/// Whole file as bytes. Throws InputError "<path>: cannot open: <reason>", or
/// "<path>: larger than <max_bytes> bytes ..." past `max_bytes`.
std::string read_file(const std::string& path, int64_t max_bytes = kMaxInputFileBytes);
/// The same, and `check_head` sees the first `head_bytes` bytes (all of a shorter file) as soon
/// as they are in: a file of the wrong kind (a sparse file, /dev/zero) is refused by what it
/// throws before the rest is read, in little memory.
std::string read_file(const std::string& path, std::size_t head_bytes,
                      const std::function<void(std::string_view head)>& check_head,
                      int64_t max_bytes = kMaxInputFileBytes);
/// The longest first line a text input (a CSV) may have: 1 MiB.
constexpr int64_t kMaxFirstLineBytes = int64_t{1} << 20;
/// A line-oriented text input (a CSV: data, --static, --condition-file) read whole as read_file
/// reads it, checked while it is read, so that input that is not such text is refused once its
/// first MiB is in, not at the 4 GiB limit (/dev/zero, /dev/urandom, a binary or sparse file):
/// - a first line longer than kMaxFirstLineBytes (no line end in the first MiB): InputError
///   "<path>:1: line longer than 1048576 bytes (1 MiB, the limit of a first line): not a
///   text file of lines";
/// - a first MiB with carriage returns (CR) between its lines but no line feed (LF): InputError
///   "<path>: uses CR-only line endings (old Mac format); convert to LF or CRLF";
/// - a NUL byte anywhere: InputError "<path>:<line>: holds a NUL byte: not a text file (binary
///   data, or UTF-16 text: save it as UTF-8)".
std::string read_text_file(const std::string& path, int64_t max_bytes = kMaxInputFileBytes);
/// Size of a file in bytes, or -1 if it cannot be stat'ed.
int64_t file_size(const std::string& path);

/// Writes `n` bytes to `path` atomically: a temporary file in the same directory is written,
/// flushed and fsync'ed, then renamed over `path`. If anything fails, the temporary file is
/// removed, `path` keeps its previous contents and OutputError is thrown.
void atomic_write(const std::string& path, const void* data, std::size_t n);
void atomic_write_text(const std::string& path, const std::string& text);

/// A file written as a stream of appends (a log), every write checked. Bytes are buffered and
/// reach the file when the buffer fills, at flush(), sync() and close(). The first failed write
/// throws OutputError "<path>: write failed: <the OS's reason>" (a full disk: "No space left on
/// device"); the file then holds what was written before it (possibly a torn last line), and
/// every later write, flush or close throws the same error. The destructor closes the file,
/// writing what is buffered unless a write failed before (errors there go unreported: call
/// close() to have them reported).
class AppendFile {
 public:
  AppendFile() = default;
  /// Opens `path` for appending; with `truncate` it is emptied first (created if missing).
  /// Throws OutputError "<path>: cannot open for writing: <reason>".
  AppendFile(const std::string& path, bool truncate);
  ~AppendFile();
  AppendFile(AppendFile&& o) noexcept;
  AppendFile& operator=(AppendFile&& o) noexcept;
  AppendFile(const AppendFile&) = delete;
  AppendFile& operator=(const AppendFile&) = delete;

  bool is_open() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }
  void write(std::string_view bytes);
  /// Writes the buffered bytes to the file; returns the file's size (every byte written so far).
  int64_t flush();
  /// flush(), then fsync, so that a write error the file system reports late (when the data
  /// reach the disk) is seen now: OutputError "<path>: fsync failed: <reason>". Returns the size.
  int64_t sync();
  /// sync(), then closes the file (a failing close is an OutputError too).
  void close();

 private:
  [[noreturn]] void fail(const std::string& what, int err);
  void write_out(const char* p, std::size_t n);
  void release() noexcept;
  int fd_ = -1;
  std::string path_, buf_, error_;
  int64_t size_ = 0;     // bytes in the file
  int64_t written_ = 0;  // bytes this object wrote
  int64_t fault_ = -1;   // testing::set_stream_fault_after when opened
};

namespace testing {
/// Test hook: make the next atomic writes fail after `bytes` bytes of the temporary file have
/// been written (a simulated full disk). A negative value (the default) disables the fault.
void set_write_fault_after(int64_t bytes);
/// Test hook for AppendFile: a write that takes a file opened while this is set past `bytes`
/// bytes written since it was opened writes what fits and then fails with ENOSPC, as a file
/// system that fills up does. A negative value (the default) disables the fault.
void set_stream_fault_after(int64_t bytes);
}  // namespace testing

}  // namespace tg::io
