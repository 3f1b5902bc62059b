#include "vfioctl/util/input_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "vfioctl/util/error.h"
#include "vfioctl/util/units.h"

namespace vfioctl {

namespace {

std::string bytes_text(size_t n) {
  return size_text_bytes(n, {.largest = Unit::M, .spelled = true, .fit = Fit::whole});
}

std::string too_large(const std::string& path, const char* what, size_t limit) {
  return fmt::format("{}: {} is larger than {} (the most vfioctl reads); is this the right file?", path, what,
                     bytes_text(limit));
}

// Why a bounded read failed, for the two entry points to word (or not).
enum class Failure { none, open, directory, not_regular, too_large, read };

struct Bounded {
  std::string text;
  Failure failure = Failure::none;
  int err = 0;  // errno for open and read
};

// Reads `path` ("-" is standard input when `stdin_ok`) whole: a regular file
// (standard input is whatever it is) of at most `limit` bytes. Opened
// without blocking, so a FIFO never stalls the open.
Bounded read_bounded(const std::string& path, size_t limit, bool stdin_ok) {
  Bounded r;
  bool from_stdin = stdin_ok && path == "-";
  int fd = from_stdin ? STDIN_FILENO : ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    r.failure = Failure::open;
    r.err = errno;
    return r;
  }
  auto fail = [&](Failure f, int err = 0) {
    if (!from_stdin) ::close(fd);
    r.text.clear();
    r.failure = f;
    r.err = err;
    return r;
  };
  if (!from_stdin) {
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
      return fail(S_ISDIR(st.st_mode) ? Failure::directory : Failure::not_regular);
    if (static_cast<unsigned long long>(st.st_size) > limit) return fail(Failure::too_large);
    // Opened without blocking only to be safe from a FIFO; read normally.
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  }
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(Failure::read, errno);
    if (n == 0) break;
    r.text.append(buf, static_cast<size_t>(n));
    if (r.text.size() > limit) return fail(Failure::too_large);
  }
  if (!from_stdin) ::close(fd);
  return r;
}

}  // namespace

std::string read_input_file(const std::string& path, const char* what, size_t limit) {
  Bounded r = read_bounded(path, limit, true);
  switch (r.failure) {
    case Failure::none: return std::move(r.text);
    case Failure::open:
    case Failure::read: throw input_error(fmt::format("{}: cannot read {}: {}", path, what, std::strerror(r.err)));
    case Failure::directory:
    case Failure::not_regular:
      throw input_error(
          fmt::format("{}: {} {}, not a regular file; give the file itself", path, what,
                      r.failure == Failure::directory ? "is a directory" : "is a device, FIFO or socket"));
    case Failure::too_large: throw input_error(too_large(path, what, limit));
  }
  return std::move(r.text);
}

std::optional<std::string> read_regular_file(const std::string& path, size_t limit) {
  Bounded r = read_bounded(path, limit, false);
  if (r.failure != Failure::none) return std::nullopt;
  return std::move(r.text);
}

namespace fs = std::filesystem;

bool path_exists(const std::string& path) {
  std::error_code ec;
  return fs::exists(fs::symlink_status(path, ec));
}

bool is_regular_file_path(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

bool is_empty_directory(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec) && fs::is_empty(path, ec) && !ec;
}

std::optional<std::string> missing_directory_of(const std::string& path) {
  fs::path target(path);
  fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return std::nullopt;
  return dir.string();
}

std::string absolute_path(const std::string& path) {
  if (path.empty()) return path;
  std::error_code ec;
  fs::path p = fs::absolute(path, ec);
  return ec ? path : p.string();
}

std::string link_target(const std::string& path) {
  std::error_code ec;
  if (!fs::is_symlink(path, ec)) return path;
  std::string target = fs::canonical(path, ec).string();
  if (ec) throw Error(ExitCode::refused, fmt::format("{}: cannot resolve the link: {}", path, ec.message()));
  return target;
}

std::string self_executable() {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : p.string();
}

}  // namespace vfioctl
