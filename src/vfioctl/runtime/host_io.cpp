#include "vfioctl/runtime/host_io.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "vfioctl/util/atomic_file.h"
#include "vfioctl/util/input_file.h"
#include "vfioctl/util/limits.h"
#include "vfioctl/util/root_dir.h"

namespace vfioctl::runtime {

IoError::IoError(const std::string& path, int err)
    : std::runtime_error(path + ": " + std::strerror(err)), m_path(path), m_err(err) {}

namespace {

namespace fs = std::filesystem;

class LiveIo : public HostIo {
 public:
  explicit LiveIo(const std::string& root) : m_dir(root), m_live(m_dir.live()) {}

  // Bounded like a Root's reads: a FIFO or a huge file in /run/vfioctl is
  // not a record.
  std::optional<std::string> read(const std::string& path) override {
    return read_regular_file(real(path), limits::kHostFileBytes);
  }

  std::optional<std::vector<std::string>> list(const std::string& path) override {
    std::error_code ec;
    fs::directory_iterator it(real(path), ec);
    if (ec) return std::nullopt;
    std::vector<std::string> names;
    for (const auto& e : it) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

  bool exists(const std::string& path) override {
    struct stat st;
    return ::lstat(real(path).c_str(), &st) == 0;
  }

  void write(const std::string& path, const std::string& value) override {
    std::string p = real(path);
    // Kernel attributes take one write(2) at offset 0; in a scratch tree
    // the file is truncated (or created, as the kernel creates a new
    // cgroup's files) so that it reads back as the kernel's would.
    int fd = ::open(p.c_str(), O_WRONLY | O_CLOEXEC | (m_live ? 0 : O_TRUNC | O_CREAT), 0644);
    if (fd < 0) throw IoError(path, errno);
    ssize_t n = ::write(fd, value.data(), value.size());
    int err = errno;
    if (::close(fd) != 0 && n >= 0) {
      n = -1;
      err = errno;
    }
    if (n < 0) throw IoError(path, err);
  }

  void mkdir(const std::string& path) override {
    if (::mkdir(real(path).c_str(), 0755) != 0) throw IoError(path, errno);
  }

  void rmdir(const std::string& path) override {
    if (m_live) {
      if (::rmdir(real(path).c_str()) != 0) throw IoError(path, errno);
      return;
    }
    // A scratch cgroup directory holds the attribute files the test made.
    std::error_code ec;
    fs::remove_all(real(path), ec);
    if (ec) throw IoError(path, ec.value());
  }

  // State files describe kernel settings that a reboot clears anyway: they
  // must survive a killed process (rename is atomic), not a power loss, so
  // they are not fsynced (a hook call writes several).
  void save(const std::string& path, const std::string& content) override {
    std::string p = real(path);
    std::string dir = p.substr(0, p.rfind('/'));
    std::error_code ec;
    fs::create_directories(dir, ec);
    std::string tmp = dir + "/." + p.substr(p.rfind('/') + 1) + ".tmp" + std::to_string(::getpid());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw IoError(path, errno);
    size_t done = 0;
    while (done < content.size()) {
      ssize_t n = ::write(fd, content.data() + done, content.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        int err = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        throw IoError(path, err);
      }
      done += static_cast<size_t>(n);
    }
    if (::close(fd) != 0 || ::rename(tmp.c_str(), p.c_str()) != 0) {
      int err = errno;
      ::unlink(tmp.c_str());
      throw IoError(path, err);
    }
  }

  void remove(const std::string& path) override { real_fs().remove(real(path)); }

  void append(const std::string& path, const std::string& line) override {
    int fd = ::open(real(path).c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return;
    std::string l = line + "\n";
    [[maybe_unused]] ssize_t n = ::write(fd, l.data(), l.size());
    ::close(fd);
  }

  ProcessResult run(const std::vector<std::string>& argv) override {
    if (m_live) return run_process(argv);
    std::string line;
    for (const auto& a : argv) line += (line.empty() ? "" : " ") + a;
    fs::create_directories(real("/run/vfioctl"));
    append("/run/vfioctl/commands.log", line);
    return ProcessResult{0, ""};
  }

  std::optional<std::vector<int>> affinity(pid_t pid) override {
    if (!m_live) return std::nullopt;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(pid, sizeof set, &set) != 0) return std::nullopt;
    std::vector<int> cpus;
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &set)) cpus.push_back(c);
    return cpus;
  }

  void set_affinity(pid_t pid, const std::vector<int>& cpus) override {
    if (!m_live) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int c : cpus)
      if (c >= 0 && c < CPU_SETSIZE) CPU_SET(c, &set);
    if (::sched_setaffinity(pid, sizeof set, &set) != 0) throw IoError("/proc/" + std::to_string(pid), errno);
  }

  double now() override {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  }

  void sleep(double seconds) override { std::this_thread::sleep_for(std::chrono::duration<double>(seconds)); }

  // A pidfd becomes readable when its process ends (Linux 5.3); without
  // one (an older kernel, or a scratch tree) the wait is a plain pause.
  void wait_exit(pid_t pid, double seconds) override {
    int fd = m_live ? static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)) : -1;
    if (fd < 0) {
      sleep(std::min(seconds, 0.5));
      return;
    }
    struct pollfd p {
      fd, POLLIN, 0
    };
    ::poll(&p, 1, static_cast<int>(seconds * 1000));
    ::close(fd);
  }

  std::shared_ptr<void> lock() override {
    std::string dir = real("/run/vfioctl");
    std::error_code ec;
    fs::create_directories(dir, ec);
    int fd = ::open((dir + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) throw IoError("/run/vfioctl/lock", errno);
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno != EINTR) {
        int err = errno;
        ::close(fd);
        throw IoError("/run/vfioctl/lock", err);
      }
    }
    return std::shared_ptr<void>(nullptr, [fd](void*) { ::close(fd); });
  }

 private:
  // Under a scratch root every link resolves inside it (util/root_dir.h).
  std::string real(const std::string& path) const { return m_dir.real(path); }
  RootDir m_dir;
  bool m_live;
};

}  // namespace

std::unique_ptr<HostIo> live_io(const std::string& root) { return std::make_unique<LiveIo>(root); }

}  // namespace vfioctl::runtime
