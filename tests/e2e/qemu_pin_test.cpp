// End-to-end: `vfioctl new --qemu-script` on the live host, run without
// libvirt. A small linux-server spec (256 MiB on 2 MiB pages, cpus auto, no
// network) is planned (--json), its script written for TCG with the e2e
// kernel booted directly, and run: QEMU starts paused in the background,
// `vfioctl pin` pins it over QMP and lets it run. The vCPU threads, the
// iothread and every other QEMU thread must run where the plan put them,
// the guest's memory must take exactly the planned hugepages, and the guest
// must see the planned CPUs. Also `vfioctl pin`'s errors: a missing socket
// (exit 3), bad CPU lists and a vCPU count that is not the guest's (exit 2).
// Needs root and tests/e2e/env.sh (see tests/e2e/README.md).
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "e2e.h"

namespace {

using namespace vfioctl::e2e;
using namespace std::chrono_literals;
using Json = nlohmann::json;

std::string vfioctl_cmd(const std::string& args) { return quote(VFIOCTL_BIN) + " " + args; }

// A JSON array of CPUs as the kernel's list text ("0", "2-3" as "2,3").
std::string list_of(const Json& cpus) {
  std::string out;
  for (const auto& c : cpus) out += (out.empty() ? "" : ",") + std::to_string(c.get<int>());
  return out;
}

// The kernel's Cpus_allowed_list ("0-1") as a plain list ("0,1").
std::string expand(const std::string& list) {
  std::string out;
  std::istringstream in(list);
  for (std::string part; std::getline(in, part, ',');) {
    auto dash = part.find('-');
    int lo = std::stoi(part.substr(0, dash));
    int hi = dash == std::string::npos ? lo : std::stoi(part.substr(dash + 1));
    for (int c = lo; c <= hi; ++c) out += (out.empty() ? "" : ",") + std::to_string(c);
  }
  return out;
}

// Alive and not a zombie (a daemonized QEMU's parent is PID 1, which may
// not reap it here).
bool alive(int pid) {
  if (pid <= 0) return false;
  std::istringstream status(slurp("/proc/" + std::to_string(pid) + "/status"));
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("State:", 0) == 0) return line.find('Z') == std::string::npos && line.find('X') == std::string::npos;
  }
  return false;
}

int read_pid(const fs::path& pidfile) {
  std::string s = trim(slurp(pidfile));
  try {
    return s.empty() ? 0 : std::stoi(s);
  } catch (const std::exception&) {
    return 0;
  }
}

// `vfioctl pin` without a guest: its input checks come before QMP.
TEST(PinCommand, MissingSocketIsExit3AndBadListsAreExit2) {
  std::string sock = "/tmp/vfioctl-e2e-no-such-" + std::to_string(::getpid()) + ".sock";
  Result r = sh(vfioctl_cmd("pin --qmp " + quote(sock) + " --vcpus 1"));
  EXPECT_EQ(r.rc, 3) << r.out;
  EXPECT_NE(r.out.find("QMP socket " + sock), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("is the guest running"), std::string::npos) << r.out;

  r = sh(vfioctl_cmd("pin --qmp " + quote(sock) + " --vcpus 1-x"));
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("--vcpus '1-x': not a CPU list"), std::string::npos) << r.out;
  r = sh(vfioctl_cmd("pin --qmp " + quote(sock) + " --vcpus 1 --emulator 0,,1"));
  EXPECT_EQ(r.rc, 2) << r.out;
  r = sh(vfioctl_cmd("pin --qmp " + quote(sock) + " --vcpus 4096"));
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("not online here"), std::string::npos) << r.out;
  r = sh(vfioctl_cmd("pin --vcpus 1"));
  EXPECT_EQ(r.rc, 2) << r.out;
}

class PlainQemuGuest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { env_ = new Env(up()); }
  static void TearDownTestSuite() {
    delete env_;
    env_ = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(env_->error.empty()) << env_->error;
    if (!env_->skipped.empty()) GTEST_SKIP() << env_->skipped;
    name_ = "vfioctl-e2e-qemu-" + std::to_string(::getpid());
    dir_ = fs::path(env_->state) / "guests" / name_;
    run_ = fs::path("/run/vfioctl/qemu") / name_;  // the script's default runtime directory
    stop();                                        // a leftover of a killed run with this PID
    fs::remove_all(dir_);
    fs::remove_all(run_);
    fs::create_directories(dir_);
  }

  // Runs on failure too: QEMU never outlives its test.
  void TearDown() override {
    if (name_.empty()) return;
    if (HasFailure()) {
      std::cerr << "--- serial log (tail) ---\n" << tail(slurp(dir_ / "serial.log"), 40);
    }
    stop();
    std::error_code ec;
    fs::remove_all(dir_, ec);
    fs::remove_all(run_, ec);
    fs::remove("/run/vfioctl/qemu", ec);  // only when empty
    fs::remove("/run/vfioctl", ec);
  }

  // Ends the QEMU of the pid file: SIGTERM, then SIGKILL.
  void stop() {
    int pid = read_pid(run_ / "qemu.pid");
    if (!alive(pid) || trim(slurp("/proc/" + std::to_string(pid) + "/comm")) != "qemu-system-x86") return;
    ::kill(pid, SIGTERM);
    if (!wait_for([&] { return !alive(pid); }, 10s)) {
      ::kill(pid, SIGKILL);
      wait_for([&] { return !alive(pid); }, 5s);
    }
  }

  static Env* env_;
  std::string name_;
  fs::path dir_, run_;
};

Env* PlainQemuGuest::env_ = nullptr;

TEST_F(PlainQemuGuest, GuestRunsPinnedOnItsHugepagesAndSeesItsCpus) {
  const fs::path spec = dir_ / "guest.toml";
  const fs::path script = dir_ / "start.sh";
  const fs::path serial = dir_ / "serial.log";
  {
    std::ofstream f(spec);
    f << "preset = \"linux-server\"\nname = \"" << name_
      << "\"\nmemory = \"256M\"\nhugepages = \"2M\"\ncpus = \"auto\"\n\n[network]\nmode = \"none\"\n";
  }
  // The plan (--json) and the script.
  Result r = sh(vfioctl_cmd("--json new " + quote(spec.string()) + " --virt-type qemu --qemu-script " +
                            quote(script.string()) + " --test-kernel " + quote(env_->kernel) + " --test-initrd " +
                            quote(env_->initrd) + " --test-cmdline console=ttyS0 --test-serial-log " +
                            quote(serial.string()) + " 2>" + quote((dir_ / "new.err").string())));
  ASSERT_EQ(r.rc, 0) << r.out << slurp(dir_ / "new.err");
  Json plan = Json::parse(r.out);
  const Json& cpu = plan["cpu"];
  const int vcpus = static_cast<int>(cpu["vcpus"].size());
  ASSERT_GE(vcpus, 1);
  ASSERT_FALSE(cpu["emulator"].empty());
  ASSERT_FALSE(cpu["iothread"].empty());
  ASSERT_EQ(plan["memory"]["page_kib"].get<long>(), env_->hugepage_kib);
  const long pages = plan["memory"]["pages"].get<long>();
  ASSERT_EQ(pages * env_->hugepage_kib, 256 * 1024);
  ASSERT_TRUE(fs::exists(script));
  EXPECT_NE(fs::status(script).permissions() & fs::perms::owner_exec, fs::perms::none) << "not executable";
  Result syntax = sh("bash -n " + quote(script.string()));
  ASSERT_EQ(syntax.rc, 0) << syntax.out;

  const long free_before = meminfo("HugePages_Free");
  ASSERT_GE(free_before, pages) << "env.sh up reserves hugepages; is it up?";

  // Run it: QEMU in the background, pinned, resumed.
  auto t0 = std::chrono::steady_clock::now();
  r = sh(quote(script.string()));
  auto started_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(r.rc, 0) << r.out;
  std::cerr << "script ran in " << started_ms << " ms\n";
  EXPECT_NE(r.out.find("guest resumed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(name_ + ": running, pid "), std::string::npos) << r.out;
  const int pid = read_pid(run_ / "qemu.pid");
  ASSERT_TRUE(alive(pid)) << "no QEMU behind " << (run_ / "qemu.pid") << "\n" << r.out;
  EXPECT_EQ(trim(slurp("/proc/" + std::to_string(pid) + "/comm")), "qemu-system-x86");

  // Memory: exactly the plan's pages, mapped into this QEMU (prealloc).
  EXPECT_EQ(free_before - meminfo("HugePages_Free"), pages);
  EXPECT_EQ(hugetlb_kib(pid), 256 * 1024);

  // The guest reports what it sees once it has booted.
  std::string log;
  bool ready = wait_for(
      [&] {
        log = slurp(serial);
        return log.find("VFIOCTL-GUEST ready") != std::string::npos;
      },
      90s);
  ASSERT_TRUE(ready) << "no 'VFIOCTL-GUEST ready' on the serial console within 90 s";
  auto guest = guest_report(log);
  EXPECT_EQ(guest["cpus"], std::to_string(vcpus));
  EXPECT_EQ(guest["threads_per_core"], std::to_string(plan["cpu"]["threads"].get<int>()));
  EXPECT_EQ(guest["cores"], std::to_string(plan["cpu"]["cores"].get<int>()));
  EXPECT_EQ(guest["sockets"], "1");

  // Threads, after the vCPUs have run the boot: each where the plan puts it.
  std::map<std::string, std::string> want;
  for (int i = 0; i < vcpus; ++i)
    want["CPU " + std::to_string(i) + "/TCG"] = std::to_string(cpu["vcpus"][i].get<int>());
  want["IO iothread1"] = list_of(cpu["iothread"]);
  const std::string emulator = list_of(cpu["emulator"]);
  std::map<std::string, int> seen;
  bool main_seen = false;
  for (const Thread& t : threads(pid)) {
    auto w = want.find(t.comm);
    const std::string& cpus = w != want.end() ? w->second : emulator;
    if (w != want.end()) ++seen[t.comm];
    if (t.tid == pid) main_seen = true;
    EXPECT_EQ(expand(t.cpus_allowed), cpus) << "thread " << t.tid << " '" << t.comm << "'";
    if (t.comm.find("/TCG") != std::string::npos) {
      EXPECT_EQ(std::to_string(t.last_cpu), cpus) << "vCPU thread '" << t.comm << "' last ran elsewhere";
    }
  }
  EXPECT_TRUE(main_seen);
  for (const auto& [comm, cpus] : want) EXPECT_EQ(seen[comm], 1) << "threads named '" << comm << "'";

  // vfioctl pin on the running guest: --json reports what it pinned; a
  // --vcpus count that is not the guest's is exit 2, nothing changed.
  const std::string qmp = (run_ / "qmp.sock").string();
  const std::string vcpu_list = list_of(cpu["vcpus"]);
  r = sh(vfioctl_cmd("--json pin --qmp " + quote(qmp) + " --vcpus " + vcpu_list + " --emulator " + emulator +
                     " --iothread " + want["IO iothread1"] + " --pid " + std::to_string(pid)));
  ASSERT_EQ(r.rc, 0) << r.out;
  Json report = Json::parse(r.out);
  EXPECT_EQ(report["pid"].get<int>(), pid);
  EXPECT_FALSE(report["resumed"].get<bool>());
  int vcpu_rows = 0, iothread_rows = 0, emulator_rows = 0;
  for (const auto& t : report["threads"]) {
    std::string role = t["role"].get<std::string>();
    if (role == "vcpu") {
      EXPECT_EQ(list_of(t["cpus"]), std::to_string(cpu["vcpus"][std::stoi(t["name"].get<std::string>())].get<int>()));
      ++vcpu_rows;
    } else if (role == "iothread") {
      EXPECT_EQ(t["name"], "iothread1");
      EXPECT_EQ(list_of(t["cpus"]), want["IO iothread1"]);
      ++iothread_rows;
    } else {
      EXPECT_EQ(role, "emulator");
      EXPECT_EQ(list_of(t["cpus"]), emulator);
      ++emulator_rows;
    }
  }
  EXPECT_EQ(vcpu_rows, vcpus);
  EXPECT_EQ(iothread_rows, 1);
  EXPECT_GE(emulator_rows, 1);

  r = sh(vfioctl_cmd("pin --qmp " + quote(qmp) + " --vcpus " + vcpu_list + ",0"));
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("but the guest has " + std::to_string(vcpus) + " vCPU"), std::string::npos) << r.out;
  r = sh(vfioctl_cmd("pin --qmp " + quote(qmp) + " --vcpus " + vcpu_list + " --pid 1"));
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("--pid 1 is not the QEMU behind"), std::string::npos) << r.out;

  // Running the script again refuses a second copy.
  r = sh(quote(script.string()));
  EXPECT_EQ(r.rc, 1) << r.out;
  EXPECT_NE(r.out.find("already running (pid " + std::to_string(pid) + ")"), std::string::npos) << r.out;

  // Ending QEMU by its pid file gives the pages back.
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  EXPECT_TRUE(wait_for([&] { return !alive(pid); }, 10s));
  EXPECT_TRUE(wait_for([&] { return meminfo("HugePages_Free") == free_before; }, 10s))
      << "HugePages_Free " << meminfo("HugePages_Free") << ", was " << free_before;
}

}  // namespace
