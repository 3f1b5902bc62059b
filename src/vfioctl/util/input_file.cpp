#include "vfioctl/util/input_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "vfioctl/util/error.h"

namespace vfioctl {

namespace {

std::string bytes_text(size_t n) {
  if (n >= (1u << 20) && n % (1u << 20) == 0) return fmt::format("{} MiB", n >> 20);
  if (n >= 1024 && n % 1024 == 0) return fmt::format("{} KiB", n >> 10);
  return fmt::format("{} bytes", n);
}

std::string too_large(const std::string& path, const char* what, size_t limit) {
  return fmt::format("{}: {} is larger than {} (the most vfioctl reads); is this the right file?", path, what,
                     bytes_text(limit));
}

}  // namespace

std::string read_input_file(const std::string& path, const char* what, size_t limit) {
  bool stdin_ = path == "-";
  int fd = stdin_ ? STDIN_FILENO : ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) throw input_error(fmt::format("{}: cannot read {}: {}", path, what, std::strerror(errno)));
  struct stat st {};
  if (!stdin_) {
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      bool dir = S_ISDIR(st.st_mode);
      ::close(fd);
      throw input_error(fmt::format("{}: {} {}, not a regular file; give the file itself", path, what,
                                    dir ? "is a directory" : "is a device, FIFO or socket"));
    }
    if (static_cast<unsigned long long>(st.st_size) > limit) {
      ::close(fd);
      throw input_error(too_large(path, what, limit));
    }
    // Opened without blocking only to be safe from a FIFO; read normally.
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  }
  std::string text;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      if (!stdin_) ::close(fd);
      throw input_error(fmt::format("{}: cannot read {}: {}", path, what, std::strerror(err)));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > limit) {
      if (!stdin_) ::close(fd);
      throw input_error(too_large(path, what, limit));
    }
  }
  if (!stdin_) ::close(fd);
  return text;
}

std::optional<std::string> read_regular_file(const std::string& path, size_t limit) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return std::nullopt;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return std::nullopt;
  }
  std::string text;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || text.size() + static_cast<size_t>(n) > limit) {
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return text;
}

}  // namespace vfioctl
