#include "vfioctl/util/atomic_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "vfioctl/util/error.h"

namespace vfioctl {

namespace {

Error io_error(const std::string& path, const char* what, int err) {
  return Error(ExitCode::refused, fmt::format("{}: {}: {}", path, what, std::strerror(err)));
}

void write_all(int fd, const std::string& content, const std::string& path) {
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw io_error(path, "cannot write", errno);
    }
    done += static_cast<size_t>(n);
  }
}

void sync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

void make_parents(const std::string& path) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (parent.empty()) return;
  std::error_code ec;
  if (std::filesystem::is_directory(parent, ec)) return;
  std::filesystem::create_directories(parent, ec);
  if (ec) throw Error(ExitCode::refused, fmt::format("{}: cannot create directory: {}", parent.string(), ec.message()));
}

class RealFileSystem : public FileSystem {
 public:
  void write(const std::string& path, const std::string& content, const FileMode& mode) override {
    make_parents(path);
    std::string dir = std::filesystem::path(path).parent_path().string();
    if (dir.empty()) dir = ".";  // a relative file name: the temporary goes beside it
    std::string tmp = dir + "/." + std::filesystem::path(path).filename().string() + ".vfioctl-XXXXXX";
    int fd = ::mkstemp(tmp.data());
    if (fd < 0) throw io_error(path, "cannot create a temporary file beside it", errno);
    try {
      write_all(fd, content, path);
      if (::fchmod(fd, mode.mode) != 0) throw io_error(path, "cannot set mode", errno);
      if (::fchown(fd, mode.uid, mode.gid) != 0 && errno != EPERM) throw io_error(path, "cannot set owner", errno);
      if (::fsync(fd) != 0) throw io_error(path, "cannot sync", errno);
    } catch (...) {
      ::close(fd);
      ::unlink(tmp.c_str());
      throw;
    }
    ::close(fd);
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      int err = errno;
      ::unlink(tmp.c_str());
      throw io_error(path, "cannot replace", err);
    }
    sync_dir(dir);
  }

  void remove(const std::string& path) override {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) throw io_error(path, "cannot remove", errno);
    sync_dir(std::filesystem::path(path).parent_path().string());
  }

  void write_attribute(const std::string& path, const std::string& value) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) throw io_error(path, "cannot open for writing", errno);
    ssize_t n = ::write(fd, value.data(), value.size());
    int err = errno;
    ::close(fd);
    if (n < 0) throw io_error(path, fmt::format("writing '{}' failed", value).c_str(), err);
  }
};

}  // namespace

std::optional<FileMode> file_mode(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return FileMode{static_cast<mode_t>(st.st_mode & 07777), st.st_uid, st.st_gid};
}

FileMode new_file_mode() {
  mode_t mask = ::umask(0);
  ::umask(mask);
  return FileMode{static_cast<mode_t>(0666 & ~mask), ::geteuid(), ::getegid()};
}

FileSystem& real_fs() {
  static RealFileSystem fs;
  return fs;
}

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return s.str();
}

}  // namespace vfioctl
