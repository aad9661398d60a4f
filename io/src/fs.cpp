#include "tg/io/fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string_view>
#include <system_error>

#include "tg/io/error.h"

namespace tg::io {

namespace {
std::atomic<int64_t> g_fault_after{-1};
std::atomic<int64_t> g_stream_fault_after{-1};
std::atomic<uint64_t> g_tmp_counter{0};

std::string errno_text(int e) { return std::strerror(e); }
}  // namespace

namespace testing {
void set_write_fault_after(int64_t bytes) { g_fault_after = bytes; }
void set_stream_fault_after(int64_t bytes) { g_stream_fault_after = bytes; }
}  // namespace testing

bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool dir_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

int64_t file_size(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int64_t>(st.st_size);
}

std::string not_a_file_reason(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return errno == ENOENT ? std::string() : errno_text(errno);
  if (S_ISDIR(st.st_mode)) return "is a directory";
  return S_ISREG(st.st_mode) ? std::string() : std::string("not a regular file");
}

void make_dirs(const std::string& path) {
  if (path.empty() || dir_exists(path)) return;
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec && !dir_exists(path))
    throw OutputError(path + ": cannot create directory: " + ec.message());
}

std::string read_file(const std::string& path, int64_t max_bytes) { return read_file(path, 0, nullptr, max_bytes); }

std::string read_file(const std::string& path, std::size_t head_bytes,
                      const std::function<void(std::string_view head)>& check_head, int64_t max_bytes) {
  if (dir_exists(path)) throw InputError(path + ": cannot open: is a directory");
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw InputError(path + ": cannot open: " + errno_text(errno));
  std::string out;
  bool head_checked = false;
  char buf[1 << 16];
  for (;;) {
    const size_t got = std::fread(buf, 1, sizeof buf, f);
    if (got < sizeof buf && std::ferror(f)) {
      const int err = errno;
      std::fclose(f);
      throw InputError(path + ": read failed: " + errno_text(err));
    }
    if (static_cast<int64_t>(out.size() + got) > max_bytes) {
      std::fclose(f);
      throw InputError(path + ": larger than " + std::to_string(max_bytes) + " bytes, the most an input file may hold");
    }
    out.append(buf, got);
    if (!head_checked && check_head && (out.size() >= head_bytes || got < sizeof buf)) {
      try {
        check_head(std::string_view(out).substr(0, head_bytes));
      } catch (...) {
        std::fclose(f);
        throw;
      }
      head_checked = true;
    }
    if (got < sizeof buf) break;
  }
  std::fclose(f);
  return out;
}

namespace {
// The checks read_text_file makes on the first MiB (or the whole file when shorter).
void check_text_head(const std::string& path, std::string_view head, bool complete) {
  const std::size_t limit = static_cast<std::size_t>(kMaxFirstLineBytes);
  const std::string_view first = head.substr(0, limit + 1);
  if (first.find('\n') != std::string_view::npos) return;
  // No LF: lines separated by CR alone (a CR followed by more text, not only a last line's CR).
  for (std::size_t p = first.find('\r'); p != std::string_view::npos; p = first.find('\r', p + 1))
    if (p + 1 < first.size() && first[p + 1] != '\r')
      throw InputError(path + ": uses CR-only line endings (old Mac format); convert to LF or CRLF");
  if (!complete || head.size() > limit)
    throw InputError(path + ":1: line longer than " + std::to_string(limit) +
                     " bytes (1 MiB, the limit of a first line): not a text file of lines");
}

void check_no_nul(const std::string& path, const std::string& text, std::size_t from) {
  const void* z = std::memchr(text.data() + from, '\0', text.size() - from);
  if (!z) return;
  const auto at = static_cast<std::size_t>(static_cast<const char*>(z) - text.data());
  const auto line = 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n');
  throw InputError(path + ":" + std::to_string(line) +
                   ": holds a NUL byte: not a text file (binary data, or UTF-16 text: save it as UTF-8)");
}
}  // namespace

std::string read_text_file(const std::string& path, int64_t max_bytes) {
  if (dir_exists(path)) throw InputError(path + ": cannot open: is a directory");
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw InputError(path + ": cannot open: " + errno_text(errno));
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> closer(f, &std::fclose);
  const std::size_t head = static_cast<std::size_t>(kMaxFirstLineBytes) + 1;
  std::string out;
  bool head_checked = false;
  char buf[1 << 16];
  for (;;) {
    const size_t got = std::fread(buf, 1, sizeof buf, f);
    const bool end = got < sizeof buf;
    if (end && std::ferror(f)) throw InputError(path + ": read failed: " + errno_text(errno));
    if (static_cast<int64_t>(out.size() + got) > max_bytes)
      throw InputError(path + ": larger than " + std::to_string(max_bytes) + " bytes, the most an input file may hold");
    const std::size_t before = out.size();
    out.append(buf, got);
    if (head_checked) {
      check_no_nul(path, out, before);
    } else if (out.size() >= head || end) {
      check_text_head(path, out, end);
      check_no_nul(path, out, 0);
      head_checked = true;
    }
    if (end) break;
  }
  return out;
}

void atomic_write(const std::string& path, const void* data, std::size_t n) {
  namespace fsys = std::filesystem;
  if (path.empty()) throw OutputError("atomic_write: empty path");
  const fsys::path p(path);
  const std::string dir = p.parent_path().empty() ? std::string(".") : p.parent_path().string();
  if (!dir_exists(dir)) {
    struct stat st;
    const bool there = ::stat(dir.c_str(), &st) == 0;
    throw OutputError(path + ": cannot write: directory '" + dir + "' " +
                      (there ? std::string("is not a directory") : errno == ENOENT ? std::string("does not exist")
                                                                                   : errno_text(errno)));
  }
  if (dir_exists(path)) throw OutputError(path + ": cannot write: is a directory");
  const std::string tmp = path + ".tmp." + std::to_string(static_cast<long long>(::getpid())) + "." +
                          std::to_string(g_tmp_counter++);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) throw OutputError(path + ": cannot create temporary file '" + tmp + "': " + errno_text(errno));

  auto fail = [&](const std::string& what, int e) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw OutputError(path + ": " + what + (e ? ": " + errno_text(e) : std::string()) +
                      " (previous file left unchanged)");
  };

  const char* bytes = static_cast<const char*>(data);
  std::size_t done = 0;
  const int64_t fault = g_fault_after.load();
  while (done < n) {
    std::size_t chunk = n - done;
    if (fault >= 0) {
      if (static_cast<int64_t>(done) >= fault) fail("write failed (injected fault)", ENOSPC);
      chunk = std::min<std::size_t>(chunk, static_cast<std::size_t>(fault) - done);
    }
    const ssize_t w = ::write(fd, bytes + done, chunk);
    if (w < 0) {
      if (errno == EINTR) continue;
      fail("write failed", errno);
    }
    done += static_cast<std::size_t>(w);
  }
  if (fault >= 0 && static_cast<int64_t>(n) > fault) fail("write failed (injected fault)", ENOSPC);
  if (::fsync(fd) != 0) fail("fsync failed", errno);
  if (::close(fd) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    throw OutputError(path + ": close failed: " + errno_text(e) + " (previous file left unchanged)");
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    throw OutputError(path + ": rename failed: " + errno_text(e) + " (previous file left unchanged)");
  }
  // Make the rename itself durable (best effort).
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
}

void atomic_write_text(const std::string& path, const std::string& text) {
  atomic_write(path, text.data(), text.size());
}

namespace {
// As stdio's buffer: a write(2) every few dozen rows of a loss log, so that a disk that fills up
// stops training within those rows.
constexpr std::size_t kAppendBuffer = std::size_t{1} << 12;
}  // namespace

AppendFile::AppendFile(const std::string& path, bool truncate) : path_(path) {
  if (dir_exists(path)) throw OutputError(path + ": cannot open for writing: is a directory");
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0), 0644);
  if (fd_ < 0) throw OutputError(path + ": cannot open for writing: " + errno_text(errno));
  struct stat st;
  size_ = ::fstat(fd_, &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
  fault_ = g_stream_fault_after.load();
  buf_.reserve(kAppendBuffer);
}

AppendFile::~AppendFile() {
  if (fd_ < 0) return;
  if (error_.empty() && !buf_.empty()) {
    try {
      write_out(buf_.data(), buf_.size());
    } catch (const OutputError&) {
      // Unreported here: close() reports it.
    }
  }
  release();
}

AppendFile::AppendFile(AppendFile&& o) noexcept { *this = std::move(o); }

AppendFile& AppendFile::operator=(AppendFile&& o) noexcept {
  if (this != &o) {
    release();
    fd_ = o.fd_;
    path_ = std::move(o.path_);
    buf_ = std::move(o.buf_);
    error_ = std::move(o.error_);
    size_ = o.size_;
    written_ = o.written_;
    fault_ = o.fault_;
    o.fd_ = -1;
  }
  return *this;
}

void AppendFile::release() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void AppendFile::fail(const std::string& what, int err) {
  error_ = path_ + ": " + what + ": " + errno_text(err);
  buf_.clear();
  throw OutputError(error_);
}

void AppendFile::write_out(const char* p, std::size_t n) {
  std::size_t done = 0;
  while (done < n) {
    std::size_t chunk = n - done;
    if (fault_ >= 0) {
      const int64_t room = std::max<int64_t>(0, fault_ - written_);
      if (room == 0) fail("write failed (injected fault)", ENOSPC);
      chunk = std::min<std::size_t>(chunk, static_cast<std::size_t>(room));
    }
    const ssize_t w = ::write(fd_, p + done, chunk);
    if (w < 0) {
      if (errno == EINTR) continue;
      fail("write failed", errno);
    }
    // A regular file takes at least one byte or fails with a reason; no progress is a full disk.
    if (w == 0) fail("write failed", ENOSPC);
    done += static_cast<std::size_t>(w);
    written_ += w;
    size_ += w;
  }
}

void AppendFile::write(std::string_view bytes) {
  if (!error_.empty()) throw OutputError(error_);
  if (fd_ < 0) throw OutputError(path_ + ": write failed: the file is not open");
  if (buf_.size() + bytes.size() > kAppendBuffer) {
    write_out(buf_.data(), buf_.size());
    buf_.clear();
    if (bytes.size() >= kAppendBuffer) {
      write_out(bytes.data(), bytes.size());
      return;
    }
  }
  buf_.append(bytes.data(), bytes.size());
}

int64_t AppendFile::flush() {
  if (!error_.empty()) throw OutputError(error_);
  if (fd_ < 0) throw OutputError(path_ + ": write failed: the file is not open");
  write_out(buf_.data(), buf_.size());
  buf_.clear();
  return size_;
}

int64_t AppendFile::sync() {
  flush();
  if (::fsync(fd_) != 0) {
    const int e = errno;
    // Not every file can be synced (a pipe, a terminal): only a failure of the data counts.
    if (e != EINVAL && e != EROFS) fail("fsync failed", e);
  }
  return size_;
}

void AppendFile::close() {
  if (fd_ < 0) {
    if (!error_.empty()) throw OutputError(error_);
    return;
  }
  sync();
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail("close failed", errno);
}

}  // namespace tg::io
