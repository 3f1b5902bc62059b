// HostIo: every read and write the runtime tuning does on the running host
// (sysfs, procfs, cgroupfs, systemctl, CPU affinity, its state files). The
// live implementation works under a root directory: "/" for the host, or a
// scratch tree in which kernel attributes are plain files. Unit tests use a
// model of the kernel instead (tests/unit/hook_test.cpp).
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "vfioctl/util/process.h"

namespace vfioctl::runtime {

// A write the kernel refused: the path and errno, for the log line.
class IoError : public std::runtime_error {
 public:
  IoError(const std::string& path, int err);
  const std::string& path() const { return m_path; }
  int err() const { return m_err; }

 private:
  std::string m_path;
  int m_err;
};

class HostIo {
 public:
  virtual ~HostIo() = default;
  virtual std::optional<std::string> read(const std::string& path) = 0;
  // Names in a directory, sorted; nullopt when it is not a directory.
  virtual std::optional<std::vector<std::string>> list(const std::string& path) = 0;
  virtual bool exists(const std::string& path) = 0;
  // One write(2) of `value` to a kernel attribute. Throws IoError.
  virtual void write(const std::string& path, const std::string& value) = 0;
  virtual void mkdir(const std::string& path) = 0;  // throws IoError
  virtual void rmdir(const std::string& path) = 0;  // throws IoError
  // State files: replaced atomically (temporary file, rename).
  virtual void save(const std::string& path, const std::string& content) = 0;
  virtual void remove(const std::string& path) = 0;
  // Appends a line to a log file (created when missing; errors ignored).
  virtual void append(const std::string& path, const std::string& line) = 0;
  virtual ProcessResult run(const std::vector<std::string>& argv) = 0;
  // A thread's CPU affinity; nullopt when it is gone. set_affinity throws IoError.
  virtual std::optional<std::vector<int>> affinity(pid_t pid) = 0;
  virtual void set_affinity(pid_t pid, const std::vector<int>& cpus) = 0;
  // Seconds on a monotonic clock, and a pause of `seconds` on it.
  virtual double now() = 0;
  virtual void sleep(double seconds) = 0;
  // Blocks until process `pid` has ended (exited, or a zombie) or `seconds`
  // have passed, whichever comes first.
  virtual void wait_exit(pid_t pid, double seconds) = 0;
  // Holds an exclusive lock on the runtime state until the returned object
  // is destroyed (one hook at a time changes shared host settings).
  virtual std::shared_ptr<void> lock() = 0;
};

// The host under `root` ("/" is the live host). Under any other root the
// commands in `run` are not executed but appended, one line each, to
// <root>/run/vfioctl/commands.log, and affinity calls do nothing.
std::unique_ptr<HostIo> live_io(const std::string& root);

}  // namespace vfioctl::runtime
