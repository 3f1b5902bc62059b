// End-to-end: a plain-QEMU guest is tuned as the libvirt hook tunes a
// libvirt guest. The script `vfioctl new --qemu-script` writes runs on a
// busy host (a process forks beside the test) with a hugepage pool too
// small for the guest: `vfioctl tune start` must grow the pool by exactly
// the shortfall, confine the host's processes (this test among them) to the
// housekeeping CPU while the script and its QEMU sit in a cgroup of their
// own, and QEMU must still be pinned where the plan says. When QEMU ends,
// the watcher `tune stop --after` left must give everything back. Then a
// crash: the watcher and QEMU are killed, and `hook recover` gives it back.
// This machine has no cpufreq: the governor is checked against the kernel
// model (tests/unit/hook_test.cpp, Tune.*); here the log must say so.
// Needs root and tests/e2e/env.sh (see tests/e2e/README.md).
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <regex>

#include "e2e.h"

namespace {

using namespace vfioctl::e2e;
using namespace std::chrono_literals;
using Json = nlohmann::json;

const fs::path kPool = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages";
// The cpuset hierarchy the tuner uses without systemd: cgroup v1's cpuset
// controller where it is mounted (this machine), else the v2 root.
const fs::path kCpuset =
    fs::exists("/sys/fs/cgroup/cpuset/cpuset.cpus") ? fs::path("/sys/fs/cgroup/cpuset") : fs::path("/sys/fs/cgroup");
const fs::path kHostCgroup = kCpuset / "vfioctl.host";

// The CPUs a cgroup's processes may use (v2: the effective set).
std::set<int> cgroup_cpus(const fs::path& cg) {
  fs::path eff = cg / "cpuset.cpus.effective";
  return cpus(trim(slurp(fs::exists(eff) && kCpuset == "/sys/fs/cgroup" ? eff : cg / "cpuset.cpus")));
}

long pool() { return std::stol(trim(slurp(kPool))); }

Result vfioctl(const std::string& args) { return sh("LC_ALL=C NO_COLOR=1 " + quote(VFIOCTL_BIN) + " " + args); }

bool gone(int pid) {
  if (pid <= 0) return true;
  std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  return stat.empty() || stat.find(") Z") != std::string::npos;
}

int read_pid(const fs::path& pidfile) {
  std::string s = trim(slurp(pidfile));
  try {
    return s.empty() ? 0 : std::stoi(s);
  } catch (const std::exception&) {
    return 0;
  }
}

class TunedPlainQemu : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { env_ = new Env(up()); }
  static void TearDownTestSuite() {
    delete env_;
    env_ = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(env_->error.empty()) << env_->error;
    if (!env_->skipped.empty()) GTEST_SKIP() << env_->skipped;
    online_ = cpus(trim(slurp("/sys/devices/system/cpu/online")));
    ASSERT_GE(online_.size(), 2u) << "the guest needs a CPU of its own beside the host's";
    // Under systemd the host is confined through its slices' AllowedCPUs
    // (tests/unit/hook_test.cpp models that); this test reads cpuset cgroups.
    if (fs::exists("/run/systemd/system")) {
      if (ci()) FAIL() << "CI runs without systemd as PID 1: this test reads the tuner's cpuset cgroups";
      GTEST_SKIP() << "systemd confines through AllowedCPUs; this test reads the tuner's cpuset cgroups";
    }
    // No test depends on an earlier one: what a failed one left is recovered first.
    if (fs::exists(kHostCgroup) || fs::exists("/run/vfioctl/host.json"))
      std::cerr << "recovered what an earlier test left:\n" << vfioctl("hook recover --apply").out;
    ASSERT_FALSE(fs::exists(kHostCgroup));
    name_ = "vfioctl-e2e-tune-" + std::to_string(::getpid());
    dir_ = fs::path(env_->state) / "guests" / name_;
    run_ = fs::path("/run/vfioctl/qemu") / name_;
    fs::remove_all(dir_);
    fs::remove_all(run_);
    fs::create_directories(dir_);
    load_ = std::make_unique<ForkLoad>();
    ASSERT_GT(load_->pid(), 0);
    pool_before_ = pool();
    irq_default_before_ = trim(slurp("/proc/irq/default_smp_affinity"));
  }

  void TearDown() override {
    if (name_.empty()) return;
    if (HasFailure()) {
      std::cerr << "--- tune.log ---\n" << slurp(run_ / "tune.log");
      std::cerr << "--- hook status ---\n" << vfioctl("hook status").out;
    }
    for (int pid : {qemu_, watcher_}) {
      if (pid > 0 && !gone(pid)) {
        ::kill(pid, SIGKILL);
        wait_for([&] { return gone(pid); }, 5s);
      }
    }
    load_.reset();
    vfioctl("hook recover --apply");
    std::error_code ec;
    fs::remove_all(dir_, ec);
    fs::remove_all(run_, ec);
    fs::remove("/run/vfioctl/qemu", ec);  // only when empty
  }

  // Writes the guest's script (memory_mib on 2 MiB pages) and runs it.
  Result start(long memory_mib) {
    const fs::path spec = dir_ / "guest.toml";
    std::ofstream(spec) << "preset = \"linux-server\"\nname = \"" << name_ << "\"\nmemory = \"" << memory_mib
                        << "M\"\nhugepages = \"2M\"\ncpus = \"auto\"\n\n[network]\nmode = \"none\"\n";
    const fs::path script = dir_ / "start.sh";
    Result r =
        sh(quote(VFIOCTL_BIN) + " --json new " + quote(spec.string()) + " --force --virt-type qemu --qemu-script " +
           quote(script.string()) + " --test-kernel " + quote(env_->kernel) + " --test-initrd " + quote(env_->initrd) +
           " --test-cmdline console=ttyS0 --test-serial-log " + quote((dir_ / "serial.log").string()) + " 2>" +
           quote((dir_ / "new.err").string()));
    if (r.rc != 0) return r;
    plan_ = Json::parse(r.out);
    r = sh(quote(script.string()));
    qemu_ = read_pid(run_ / "qemu.pid");
    std::smatch m;
    if (std::regex_search(r.out, m, std::regex("watched by process ([0-9]+)"))) watcher_ = std::stoi(m[1]);
    return r;
  }

  static Env* env_;
  std::string name_;
  fs::path dir_, run_;
  std::unique_ptr<ForkLoad> load_;
  Json plan_;
  std::set<int> online_;
  int qemu_ = 0, watcher_ = 0;
  long pool_before_ = 0;
  std::string irq_default_before_;
};

Env* TunedPlainQemu::env_ = nullptr;

TEST_F(TunedPlainQemu, TheScriptTunesTheHostAndTheWatcherGivesItBack) {
  const long free0 = meminfo("HugePages_Free");
  ASSERT_GT(free0, 0);
  // 24 pages more than the pool has free.
  Result r = start((free0 + 24) * 2);
  ASSERT_EQ(r.rc, 0) << r.out << slurp(dir_ / "new.err");
  ASSERT_GT(qemu_, 0) << r.out;
  ASSERT_GT(watcher_, 0) << "the script left no watcher:\n" << r.out;
  EXPECT_NE(r.out.find(name_ + ": tuned (hugepages, isolate, governor, irq)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("guest resumed"), std::string::npos) << r.out;

  // Hugepages: exactly the shortfall added, and all of them the guest's.
  EXPECT_EQ(pool(), pool_before_ + 24) << "the pool grows by exactly the shortfall";
  EXPECT_EQ(hugetlb_kib(qemu_), (free0 + 24) * 2 * 1024);

  // Confinement: host processes (this test, the forking load) on the
  // housekeeping CPUs; QEMU in the guest's own cgroup, each vCPU pinned to
  // its planned CPU.
  std::set<int> guest_cpus, host_cpus = online_;
  for (const auto& c : plan_["cpu"]["vcpus"]) {
    guest_cpus.insert(c.get<int>());
    host_cpus.erase(c.get<int>());
  }
  ASSERT_FALSE(guest_cpus.empty());
  ASSERT_FALSE(host_cpus.empty());
  const fs::path guest_cg = kCpuset / ("vfioctl.guest." + name_);
  ASSERT_TRUE(fs::exists(kHostCgroup));
  EXPECT_EQ(cgroup_cpus(kHostCgroup), host_cpus);
  EXPECT_TRUE(in_cgroup(kHostCgroup, ::getpid())) << "this test runs as a host process";
  EXPECT_TRUE(in_cgroup(kHostCgroup, load_->pid())) << "the forking load too";
  EXPECT_EQ(allowed(std::to_string(::getpid())), host_cpus);
  ASSERT_TRUE(fs::exists(guest_cg));
  EXPECT_EQ(cgroup_cpus(guest_cg), online_);
  EXPECT_TRUE(in_cgroup(guest_cg, qemu_)) << "QEMU was born in the script's cgroup";
  EXPECT_FALSE(in_cgroup(kHostCgroup, qemu_));
  int vcpu_threads = 0;
  for (const Thread& t : threads(qemu_)) {
    if (t.comm.find("/TCG") == std::string::npos) continue;
    int index = std::stoi(t.comm.substr(4));  // "CPU 0/TCG"
    ++vcpu_threads;
    EXPECT_EQ(cpus(t.cpus_allowed), std::set<int>{plan_["cpu"]["vcpus"][index].get<int>()})
        << "vCPU thread '" << t.comm << "' pinned despite the host's confinement";
  }
  EXPECT_EQ(vcpu_threads, static_cast<int>(plan_["cpu"]["vcpus"].size()));
  // IRQs off the guest's CPUs (the default affinity is a hex mask); the
  // governor: the log says what it did, or why not (no cpufreq here).
  unsigned long long mask = std::stoull(trim(slurp("/proc/irq/default_smp_affinity")), nullptr, 16);
  for (int c : guest_cpus)
    if (c < 64) {
      EXPECT_EQ(mask & (1ULL << c), 0u) << "CPU " << c << " in the default IRQ affinity";
    }
  EXPECT_TRUE(r.out.find("performance governor on CPUs") != std::string::npos ||
              r.out.find("have no cpufreq driver") != std::string::npos)
      << r.out;

  // hook status sees it, following QEMU.
  Result st = vfioctl("hook status --json");
  ASSERT_EQ(st.rc, 0) << st.out;
  Json status = Json::parse(st.out, nullptr, false);
  ASSERT_FALSE(status.is_discarded()) << st.out;
  ASSERT_EQ(status["guests"].size(), 1u) << st.out;
  EXPECT_EQ(status["guests"][0]["domain"], name_);
  EXPECT_EQ(status["guests"][0]["via"], "script");
  EXPECT_EQ(status["guests"][0]["pid"], qemu_);
  EXPECT_TRUE(status["guests"][0]["running"].get<bool>());

  // A second start of the same guest is refused before anything changes.
  Result again = vfioctl("tune start " + name_ + " --cpus 1 --actions isolate --apply");
  EXPECT_EQ(again.rc, 3) << again.out;
  EXPECT_NE(again.out.find("is tuned already"), std::string::npos) << again.out;

  // QEMU ends: the watcher gives everything back.
  ASSERT_EQ(::kill(qemu_, SIGTERM), 0);
  EXPECT_TRUE(wait_for([&] { return gone(qemu_); }, 10s));
  EXPECT_TRUE(wait_for([&] { return gone(watcher_); }, 15s)) << "the watcher did not finish";
  EXPECT_EQ(pool(), pool_before_) << "pool " << pool() << ", was " << pool_before_;
  EXPECT_FALSE(fs::exists(kHostCgroup));
  EXPECT_FALSE(fs::exists(guest_cg));
  EXPECT_TRUE(in_cgroup(kCpuset, ::getpid()));
  EXPECT_EQ(allowed(std::to_string(::getpid())), online_);
  EXPECT_TRUE(in_cgroup(kCpuset, load_->pid())) << "the forking load is back in the root cpuset";
  EXPECT_EQ(trim(slurp("/proc/irq/default_smp_affinity")), irq_default_before_);
  EXPECT_FALSE(fs::exists("/run/vfioctl/guests/" + name_ + ".json"));
  EXPECT_FALSE(fs::exists("/run/vfioctl/host.json"));
  EXPECT_NE(slurp(run_ / "tune.log").find("process " + std::to_string(qemu_) + " ended: releasing"), std::string::npos)
      << slurp(run_ / "tune.log");
}

TEST_F(TunedPlainQemu, AfterACrashRecoverGivesItBack) {
  const long free0 = meminfo("HugePages_Free");
  Result r = start((free0 + 8) * 2);
  ASSERT_EQ(r.rc, 0) << r.out << slurp(dir_ / "new.err");
  ASSERT_GT(qemu_, 0);
  ASSERT_GT(watcher_, 0) << r.out;
  ASSERT_EQ(pool(), pool_before_ + 8);
  ASSERT_TRUE(fs::exists(kHostCgroup));

  // The watcher, then QEMU, are killed: nothing releases.
  ASSERT_EQ(::kill(watcher_, SIGKILL), 0);
  ASSERT_EQ(::kill(qemu_, SIGKILL), 0);
  EXPECT_TRUE(wait_for([&] { return gone(qemu_) && gone(watcher_); }, 10s));
  EXPECT_TRUE(fs::exists(kHostCgroup)) << "no release ran";
  Result st = vfioctl("hook status --json");
  Json status = Json::parse(st.out, nullptr, false);
  ASSERT_FALSE(status.is_discarded()) << st.out;
  ASSERT_EQ(status["guests"].size(), 1u) << st.out;
  EXPECT_FALSE(status["guests"][0]["running"].get<bool>()) << st.out;

  Result rec = vfioctl("hook recover --apply");
  EXPECT_EQ(rec.rc, 0) << rec.out;
  EXPECT_NE(rec.out.find("Released " + name_), std::string::npos) << rec.out;
  EXPECT_EQ(pool(), pool_before_);
  EXPECT_FALSE(fs::exists(kHostCgroup));
  EXPECT_FALSE(fs::exists(kCpuset / ("vfioctl.guest." + name_)));
  EXPECT_EQ(allowed(std::to_string(::getpid())), online_);
  EXPECT_FALSE(fs::exists("/run/vfioctl/guests/" + name_ + ".json"));
}

}  // namespace
