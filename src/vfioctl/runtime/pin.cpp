#include "vfioctl/runtime/pin.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "vfioctl/util/cpulist.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::runtime {

namespace {

std::string first_line(const std::optional<std::string>& text) {
  if (!text) return "";
  return text->substr(0, text->find('\n'));
}

// false when the thread has ended meanwhile.
bool set_affinity(HostIo& io, int tid, const std::vector<int>& cpus, const std::string& what) {
  try {
    io.set_affinity(tid, cpus);
    return true;
  } catch (const IoError& e) {
    int err = e.err();
    if (err == ESRCH) return false;
    if (err == EINVAL) {
      throw input_error(
          fmt::format("cannot pin {} (thread {}) to CPUs {}: none of them is available to it (offline, "
                      "or outside its cpuset)",
                      what, tid, format_cpulist(cpus)));
    }
    throw Error(ExitCode::refused,
                fmt::format("cannot pin {} (thread {}) to CPUs {}: {}{}", what, tid, format_cpulist(cpus),
                            std::strerror(err), err == EPERM ? " (run as root, or as QEMU's user)" : ""));
  }
}

}  // namespace

void check_online(const std::string& option, const std::vector<int>& cpus, const std::vector<int>& online) {
  if (online.empty()) return;
  std::set<int> on(online.begin(), online.end());
  std::vector<int> bad;
  for (int c : cpus) {
    if (!on.count(c)) bad.push_back(c);
  }
  if (!bad.empty()) {
    throw input_error(fmt::format("{}: CPU{} {} {} not online here (online: {})", option, bad.size() > 1 ? "s" : "",
                                  format_cpulist(bad), bad.size() > 1 ? "are" : "is", format_cpulist(online)));
  }
}

int thread_group(HostIo& io, int tid) {
  auto status = io.read("/proc/" + std::to_string(tid) + "/status");
  if (!status) return 0;
  for (auto line : split(*status, '\n')) {
    if (starts_with(line, "Tgid:")) return static_cast<int>(parse_int(line.substr(5)).value_or(0));
  }
  return 0;
}

std::vector<int> process_threads(HostIo& io, int pid) {
  std::vector<int> out;
  for (const auto& name : io.list("/proc/" + std::to_string(pid) + "/task").value_or(std::vector<std::string>{})) {
    if (auto t = parse_int(name)) out.push_back(static_cast<int>(*t));
  }
  std::sort(out.begin(), out.end());
  return out;
}

int qemu_process(HostIo& io, const std::vector<QmpVcpu>& vcpus, int given, int peer, const std::string& socket) {
  int pid = vcpus.empty() ? 0 : thread_group(io, vcpus.front().thread_id);
  if (pid == 0) pid = given ? given : peer;
  if (given && given != pid) {
    throw input_error(
        fmt::format("--pid {} is not the QEMU behind {}: its vCPU threads belong to process {}", given, socket, pid));
  }
  return pid;
}

void require_process(HostIo& io, int pid, const std::string& socket) {
  if (pid <= 0 || !io.exists("/proc/" + std::to_string(pid) + "/task")) {
    throw Error(ExitCode::refused, fmt::format("cannot find QEMU's process behind {} (give it with --pid)", socket));
  }
}

std::vector<PinnedThread> pin_threads(HostIo& io, int pid, const std::vector<QmpVcpu>& vcpus,
                                      const std::vector<QmpIothread>& iothreads, const PinRequest& request) {
  std::vector<PinnedThread> pinned;
  std::set<int> special;
  for (const auto& v : vcpus) special.insert(v.thread_id);
  for (const auto& t : iothreads) special.insert(t.thread_id);
  std::string task_dir = "/proc/" + std::to_string(pid) + "/task/";
  if (!request.emulator.empty()) {
    for (int tid : process_threads(io, pid)) {
      if (special.count(tid)) continue;
      std::string comm = first_line(io.read(task_dir + std::to_string(tid) + "/comm"));
      if (set_affinity(io, tid, request.emulator, "emulator thread '" + comm + "'"))
        pinned.push_back({"emulator", comm, tid, request.emulator});
    }
  }
  if (!request.iothread.empty()) {
    for (const auto& t : iothreads) {
      if (!set_affinity(io, t.thread_id, request.iothread, "iothread " + t.id)) {
        throw Error(ExitCode::refused, fmt::format("iothread {} (thread {}) has ended", t.id, t.thread_id));
      }
      pinned.push_back({"iothread", t.id, t.thread_id, request.iothread});
    }
  }
  for (size_t i = 0; i < vcpus.size() && i < request.vcpus.size(); ++i) {
    const auto& v = vcpus[i];
    std::vector<int> one = {request.vcpus[i]};
    if (!set_affinity(io, v.thread_id, one, fmt::format("vCPU {}", v.index))) {
      throw Error(ExitCode::refused, fmt::format("vCPU {} (thread {}) has ended", v.index, v.thread_id));
    }
    pinned.push_back({"vcpu", std::to_string(v.index), v.thread_id, one});
  }
  return pinned;
}

}  // namespace vfioctl::runtime
