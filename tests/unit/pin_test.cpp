// Pinning a plain-QEMU guest's threads (runtime/pin.h) against a small
// kernel: a process's threads in /proc, their affinity, and threads that end
// or refuse CPUs, as sched_setaffinity does.
#include "vfioctl/runtime/pin.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <set>

#include "vfioctl/util/error.h"

namespace vfioctl::runtime {
namespace {

// A QEMU process 500 with a main thread, a worker, two vCPU threads and an
// iothread; `refuse` maps a thread to the errno its affinity call fails with.
class ThreadsIo : public HostIo {
 public:
  std::map<int, std::string> comm = {
      {500, "qemu-system-x86"}, {501, "worker"}, {502, "CPU 0/KVM"}, {503, "CPU 1/KVM"}, {504, "IO iothread1"}};
  std::map<int, std::vector<int>> pinned;
  std::map<int, int> refuse;
  std::vector<int> order;

  std::optional<std::string> read(const std::string& path) override {
    for (const auto& [tid, name] : comm) {
      std::string t = std::to_string(tid);
      if (path == "/proc/500/task/" + t + "/comm") return name + "\n";
      if (path == "/proc/" + t + "/status") return "Name:\t" + name + "\nTgid:\t500\nPid:\t" + t + "\n";
    }
    return std::nullopt;
  }
  std::optional<std::vector<std::string>> list(const std::string& path) override {
    if (path != "/proc/500/task") return std::nullopt;
    std::vector<std::string> names;
    for (const auto& [tid, name] : comm) names.push_back(std::to_string(tid));
    std::sort(names.begin(), names.end());
    return names;
  }
  bool exists(const std::string& path) override { return path == "/proc/500/task"; }
  void write(const std::string&, const std::string&) override {}
  void mkdir(const std::string&) override {}
  void rmdir(const std::string&) override {}
  void save(const std::string&, const std::string&) override {}
  void remove(const std::string&) override {}
  void append(const std::string&, const std::string&) override {}
  ProcessResult run(const std::vector<std::string>&) override { return {0, ""}; }
  std::optional<std::vector<int>> affinity(pid_t pid) override {
    if (!pinned.count(pid)) return std::nullopt;
    return pinned[pid];
  }
  void set_affinity(pid_t pid, const std::vector<int>& cpus) override {
    if (refuse.count(pid)) throw IoError("/proc/" + std::to_string(pid), refuse[pid]);
    if (!comm.count(pid)) throw IoError("/proc/" + std::to_string(pid), ESRCH);
    pinned[pid] = cpus;
    order.push_back(pid);
  }
  double now() override { return 0; }
  void sleep(double) override {}
  void wait_exit(pid_t, double) override {}
  std::shared_ptr<void> lock() override { return nullptr; }
};

const std::vector<QmpVcpu> kVcpus = {{0, 502}, {1, 503}};
const std::vector<QmpIothread> kIothreads = {{"iothread1", 504}};

TEST(Pin, FindsTheProcessFromItsVcpuThreads) {
  ThreadsIo io;
  EXPECT_EQ(thread_group(io, 502), 500);
  EXPECT_EQ(thread_group(io, 999), 0) << "a thread that is gone";
  EXPECT_EQ(process_threads(io, 500), (std::vector<int>{500, 501, 502, 503, 504}));
  EXPECT_EQ(qemu_process(io, kVcpus, 0, 77, "q.sock"), 500) << "the vCPUs' process, not the socket's peer";
  EXPECT_EQ(qemu_process(io, kVcpus, 500, 0, "q.sock"), 500);
  EXPECT_EQ(qemu_process(io, {}, 0, 500, "q.sock"), 500) << "no vCPU thread: the socket's peer";
  try {
    qemu_process(io, kVcpus, 600, 0, "q.sock");
    FAIL() << "--pid of another process";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input);
    EXPECT_NE(std::string(e.what()).find("belong to process 500"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(require_process(io, 500, "q.sock"));
  EXPECT_THROW(require_process(io, 0, "q.sock"), Error);
  EXPECT_THROW(require_process(io, 600, "q.sock"), Error);
}

TEST(Pin, EmulatorFirstThenIothreadsThenOneCpuPerVcpu) {
  ThreadsIo io;
  auto pinned = pin_threads(io, 500, kVcpus, kIothreads, {{2, 3}, {0}, {1}});
  EXPECT_EQ(io.order, (std::vector<int>{500, 501, 504, 502, 503}));
  EXPECT_EQ(io.pinned[500], (std::vector<int>{0}));
  EXPECT_EQ(io.pinned[501], (std::vector<int>{0}));
  EXPECT_EQ(io.pinned[504], (std::vector<int>{1}));
  EXPECT_EQ(io.pinned[502], (std::vector<int>{2}));
  EXPECT_EQ(io.pinned[503], (std::vector<int>{3}));
  ASSERT_EQ(pinned.size(), 5u);
  EXPECT_EQ(pinned[0].role, "emulator");
  EXPECT_EQ(pinned[0].name, "qemu-system-x86");
  EXPECT_EQ(pinned[2].role, "iothread");
  EXPECT_EQ(pinned[2].name, "iothread1");
  EXPECT_EQ(pinned[4].role, "vcpu");
  EXPECT_EQ(pinned[4].name, "1");
  EXPECT_EQ(pinned[4].cpus, (std::vector<int>{3}));
}

TEST(Pin, LeavesAloneWhatWasNotAskedFor) {
  ThreadsIo io;
  auto pinned = pin_threads(io, 500, kVcpus, kIothreads, {{2, 3}, {}, {}});
  EXPECT_EQ(io.order, (std::vector<int>{502, 503}));
  EXPECT_EQ(pinned.size(), 2u);
}

TEST(Pin, AnEmulatorThreadThatEndedIsSkippedAVcpuIsNot) {
  ThreadsIo io;
  io.refuse[501] = ESRCH;
  auto pinned = pin_threads(io, 500, kVcpus, {}, {{2, 3}, {0}, {}});
  EXPECT_EQ(io.order, (std::vector<int>{500, 504, 502, 503})) << "the iothread is an ordinary thread here";
  EXPECT_EQ(pinned.size(), 4u);

  ThreadsIo gone;
  gone.refuse[503] = ESRCH;
  try {
    pin_threads(gone, 500, kVcpus, {}, {{2, 3}, {}, {}});
    FAIL() << "a vCPU thread that ended";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::refused);
    EXPECT_STREQ(e.what(), "vCPU 1 (thread 503) has ended");
  }
}

TEST(Pin, RefusalsSayWhy) {
  ThreadsIo io;
  io.refuse[502] = EINVAL;
  try {
    pin_threads(io, 500, kVcpus, {}, {{6, 7}, {}, {}});
    FAIL() << "CPUs outside the thread's cpuset";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input);
    EXPECT_NE(std::string(e.what()).find("outside its cpuset"), std::string::npos) << e.what();
  }
  ThreadsIo denied;
  denied.refuse[502] = EPERM;
  try {
    pin_threads(denied, 500, kVcpus, {}, {{2, 3}, {}, {}});
    FAIL() << "not allowed";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::refused);
    EXPECT_NE(std::string(e.what()).find("run as root, or as QEMU's user"), std::string::npos) << e.what();
  }
}

TEST(Pin, CpusMustBeOnline) {
  EXPECT_NO_THROW(check_online("--vcpus", {2, 3}, {0, 1, 2, 3}));
  EXPECT_NO_THROW(check_online("--vcpus", {9}, {})) << "unknown: the kernel judges";
  try {
    check_online("--emulator", {4, 5}, {0, 1, 2, 3});
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "--emulator: CPUs 4-5 are not online here (online: 0-3)");
  }
}

}  // namespace
}  // namespace vfioctl::runtime
