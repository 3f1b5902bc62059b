// End-to-end: `vfioctl hook` under the real libvirtd. The hook is installed
// (hook install --apply) and libvirtd restarted; guests written by `vfioctl
// new` (TCG) then start with a hugepage pool too small for them. The pool
// must grow by exactly the shortfall, host processes must be kept off the
// guests' vCPU CPUs while they run (cgroup v1 cpuset on this machine), and
// after `virsh destroy` the pool and the cpusets must be as before, with two
// guests running at once. A hook killed half-way is cleaned up by
// `hook recover`. Needs root and tests/e2e/env.sh (see tests/e2e/README.md).
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "e2e.h"

namespace {

using namespace vfioctl::e2e;
using namespace std::chrono_literals;
using Json = nlohmann::json;

const fs::path kPool = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages";
const fs::path kCpuset = "/sys/fs/cgroup/cpuset";
const fs::path kHostCgroup = kCpuset / "vfioctl.host";
const fs::path kJournal = "/var/lib/vfioctl/journal";

long pool() { return std::stol(trim(slurp(kPool))); }

std::set<std::string> journal_ids() {
  std::set<std::string> ids;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(kJournal, ec)) ids.insert(e.path().filename().string());
  return ids;
}

Result vfioctl(const std::string& args, const std::string& input = "") {
  std::string cmd = "LC_ALL=C NO_COLOR=1 " + quote(VFIOCTL_BIN) + " " + args;
  if (!input.empty()) cmd += " <" + quote(input);
  return sh(cmd + " 2>&1");
}

class Hook : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    env_ = new Env(up());
    if (!env_->error.empty() || !env_->skipped.empty()) return;
    journal_before_ = new std::set<std::string>(journal_ids());
    // Directories the install creates go again at the end.
    for (const char* d :
         {"/var/lib/vfioctl/journal", "/var/lib/vfioctl", "/etc/libvirt/hooks/qemu.d", "/etc/libvirt/hooks"})
      if (!fs::exists(d)) created_dirs_.push_back(d);
    Result r = vfioctl("hook install --apply --binary " + quote(VFIOCTL_BIN));
    if (r.rc != 0) {
      env_->error = "hook install --apply failed:\n" + r.out;
      return;
    }
    r = sh(quote(env_script()) + " restart-libvirtd");
    if (r.rc == 77 && !ci())
      env_->skipped = r.out;
    else if (r.rc != 0)
      env_->error = "env.sh restart-libvirtd failed:\n" + r.out;
  }

  static void TearDownTestSuite() {
    if (env_->error.empty() && env_->skipped.empty()) {
      vfioctl("hook recover --apply");
      Result r = vfioctl("hook uninstall --apply");
      if (r.rc != 0) std::cerr << "hook uninstall: " << r.out;
      // The journal entries the install and uninstall made are this test's.
      for (const auto& id : journal_ids())
        if (!journal_before_->count(id)) fs::remove_all(kJournal / id);
      std::error_code ec;
      for (const auto& d : created_dirs_) fs::remove(d, ec);  // only when empty
      sh(quote(env_script()) + " restart-libvirtd");
    }
    delete journal_before_;
    delete env_;
    env_ = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(env_->error.empty()) << env_->error;
    if (!env_->skipped.empty()) GTEST_SKIP() << env_->skipped;
    ASSERT_EQ(trim(slurp("/sys/devices/system/cpu/online")), "0-1") << "written for the 2-CPU machine";
    ASSERT_TRUE(fs::exists(kCpuset / "cpuset.cpus")) << "this machine has the cpuset controller in cgroup v1";
    // No test depends on an earlier one: what a failed one left is recovered first.
    if (fs::exists(kHostCgroup) || fs::exists("/run/vfioctl/host.json")) {
      Result r = vfioctl("hook recover --apply");
      std::cerr << "recovered what an earlier test left:\n" << r.out;
    }
    ASSERT_FALSE(fs::exists(kHostCgroup)) << "a leftover that 'vfioctl hook recover --apply' cannot remove";
    // The host is busy: a process forks beside every test (the hook moves it
    // between cgroups while it forks).
    load_ = std::make_unique<ForkLoad>();
    ASSERT_GT(load_->pid(), 0);
    dir_ = fs::path(env_->state) / "guests" / ("hook-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                              fs::perms::others_read | fs::perms::others_exec);
    pool_before_ = pool();
    root_procs_before_ = procs(kCpuset).size();
  }

  void TearDown() override {
    for (const auto& n : names_) {
      if (HasFailure())
        std::cerr << "--- /var/log/libvirt/qemu/" << n << ".log (tail) ---\n"
                  << tail(slurp("/var/log/libvirt/qemu/" + n + ".log"), 30);
      virsh(*env_, "destroy " + n);
      virsh(*env_, "undefine " + n);
    }
    if (HasFailure()) std::cerr << "--- hook status ---\n" << vfioctl("hook status").out;
    load_.reset();
    vfioctl("hook recover --apply");
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // A guest written by `vfioctl new` that this host can boot (TCG, the test
  // kernel); returns the plan (--json) and writes the XML to DIR/NAME.xml.
  Json new_guest(const std::string& name, long memory_mib) {
    names_.push_back(name);
    virsh(*env_, "destroy " + name);
    virsh(*env_, "undefine " + name);
    fs::path spec = dir_ / (name + ".toml");
    std::ofstream(spec) << "preset = \"linux-server\"\nname = \"" << name << "\"\nmemory = \"" << memory_mib
                        << "M\"\nhugepages = \"2M\"\n\n[network]\nmode = \"none\"\n";
    Result r = sh("LC_ALL=C " + quote(VFIOCTL_BIN) + " new " + quote(spec.string()) +
                  " --json --virt-type qemu --test-kernel " + quote(env_->kernel) + " --test-initrd " +
                  quote(env_->initrd) + " --test-cmdline 'console=ttyS0 loglevel=4' --test-serial-log " +
                  quote((dir_ / (name + ".serial")).string()) + " 2>/dev/null");
    EXPECT_EQ(r.rc, 0) << r.out;
    Json plan = Json::parse(r.out, nullptr, false);
    EXPECT_FALSE(plan.is_discarded()) << r.out;
    if (plan.is_discarded()) return Json::object();
    std::ofstream(dir_ / (name + ".xml")) << plan["xml"].get<std::string>();
    return plan;
  }

  Result start(const std::string& name) {
    Result r = virsh(*env_, "define " + quote((dir_ / (name + ".xml")).string()));
    if (r.rc != 0) return r;
    return virsh(*env_, "start " + name);
  }

  void destroy(const std::string& name) {
    int pid = qemu_pid(name);
    Result r = virsh(*env_, "destroy " + name);
    ASSERT_EQ(r.rc, 0) << r.out;
    EXPECT_TRUE(wait_for([&] { return pid <= 0 || !fs::exists("/proc/" + std::to_string(pid)); }, 10s));
  }

  static Env* env_;
  static std::set<std::string>* journal_before_;
  static inline std::vector<std::string> created_dirs_;
  fs::path dir_;
  std::unique_ptr<ForkLoad> load_;
  std::vector<std::string> names_;
  long pool_before_ = 0;
  size_t root_procs_before_ = 0;
};

Env* Hook::env_ = nullptr;
std::set<std::string>* Hook::journal_before_ = nullptr;

TEST_F(Hook, TwoGuestsGetTheirPagesAndCpusAndGiveThemBack) {
  const std::string a = "vfioctl-e2e-hook-a-" + std::to_string(::getpid());
  const std::string b = "vfioctl-e2e-hook-b-" + std::to_string(::getpid());
  const long free0 = meminfo("HugePages_Free");
  ASSERT_GT(free0, 0);

  // Guest a needs 32 pages more than the pool has free.
  Json plan_a = new_guest(a, (free0 + 32) * 2);
  ASSERT_FALSE(HasFailure());
  const std::string xml_a = plan_a["xml"].get<std::string>();
  ASSERT_NE(xml_a.find("<vfioctl:tune xmlns:vfioctl=\"urn:vfioctl:tune:1\" actions=\"hugepages isolate governor irq\""),
            std::string::npos)
      << xml_a;
  std::set<int> vcpus;
  for (const auto& c : plan_a["cpu"]["vcpus"]) vcpus.insert(c.get<int>());
  ASSERT_EQ(vcpus, std::set<int>{1});

  Result r = start(a);
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_EQ(pool(), pool_before_ + 32) << "the pool grows by exactly the shortfall";
  EXPECT_NE(slurp("/var/log/libvirt/qemu/" + a + ".log").find("prepare: reserved 32 more 2 MiB pages"),
            std::string::npos);

  // While it runs, host processes are in the host cpuset, off CPU 1.
  ASSERT_TRUE(fs::exists(kHostCgroup));
  EXPECT_EQ(trim(slurp(kHostCgroup / "cpuset.cpus")), "0");
  auto moved = procs(kHostCgroup);
  EXPECT_GT(moved.size(), 3u);
  EXPECT_TRUE(in_cgroup(kHostCgroup, ::getpid())) << "this test runs as a host process";
  EXPECT_TRUE(in_cgroup(kHostCgroup, load_->pid())) << "the forking load too";
  for (const auto& pid : moved) {
    auto now = allowed(pid);
    if (now.empty()) continue;  // exited meanwhile (the forking load's children live milliseconds)
    EXPECT_EQ(now, std::set<int>{0}) << "pid " << pid << " (" << trim(slurp("/proc/" + pid + "/comm")) << ")";
  }
  const int qemu_a = qemu_pid(a);
  ASSERT_GT(qemu_a, 0);
  EXPECT_FALSE(in_cgroup(kHostCgroup, qemu_a)) << "the guest's QEMU stays in libvirt's cgroup";

  // A second guest on the same CPU, with its own shortfall (a took every free page).
  Json plan_b = new_guest(b, 256);  // the smallest guest vfioctl new writes: 128 pages
  ASSERT_FALSE(HasFailure());
  const long pool_a = pool();
  r = start(b);
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_EQ(pool(), pool_a + 128) << "b found no free page (a holds them all) and added its 128";

  Result st = vfioctl("hook status --json");
  ASSERT_EQ(st.rc, 0) << st.out;
  Json status = Json::parse(st.out, nullptr, false);
  ASSERT_FALSE(status.is_discarded()) << st.out;
  EXPECT_TRUE(status["installed"].get<bool>());
  ASSERT_EQ(status["guests"].size(), 2u) << st.out;
  for (const auto& g : status["guests"]) EXPECT_TRUE(g["running"].get<bool>()) << st.out;

  // a stops: its 32 pages go, b keeps its pages and its CPU.
  destroy(a);
  EXPECT_TRUE(wait_for([&] { return pool() == pool_before_ + 128; }, 10s)) << "pool " << pool();
  ASSERT_TRUE(fs::exists(kHostCgroup)) << "b still runs on CPU 1";
  EXPECT_EQ(trim(slurp(kHostCgroup / "cpuset.cpus")), "0");
  EXPECT_EQ(allowed(std::to_string(::getpid())), std::set<int>{0});

  // b stops: everything as before.
  destroy(b);
  EXPECT_TRUE(wait_for([&] { return pool() == pool_before_; }, 10s)) << "pool " << pool() << ", was " << pool_before_;
  EXPECT_TRUE(wait_for([&] { return !fs::exists(kHostCgroup); }, 10s));
  EXPECT_TRUE(in_cgroup(kCpuset, ::getpid()));
  EXPECT_EQ(allowed(std::to_string(::getpid())), (std::set<int>{0, 1}));
  EXPECT_GE(procs(kCpuset).size() + 10, root_procs_before_) << "the host processes are back in the root cpuset";
  EXPECT_TRUE(in_cgroup(kCpuset, load_->pid())) << "the forking load is back in the root cpuset";
  EXPECT_EQ(allowed(std::to_string(load_->pid())), (std::set<int>{0, 1}));
  EXPECT_FALSE(fs::exists("/run/vfioctl/host.json"));
  EXPECT_FALSE(fs::exists("/run/vfioctl/guests/" + a + ".json"));
  EXPECT_FALSE(fs::exists("/run/vfioctl/guests/" + b + ".json"));
}

// The hook is killed (SIGKILL) at a checkpoint the test names, after it has
// changed the host and before it recorded the end of its work.
TEST_F(Hook, AHookKilledHalfWayIsUndoneByRecover) {
  const std::string name = "vfioctl-e2e-hook-kill-" + std::to_string(::getpid());
  const long free0 = meminfo("HugePages_Free");
  fs::path xml = dir_ / "kill.xml";
  std::ofstream(xml)
      << "<domain type='qemu'><name>" << name
      << "</name><metadata><vfioctl:tune xmlns:vfioctl='urn:vfioctl:tune:1' actions='hugepages isolate'/>"
         "</metadata><memory unit='MiB'>"
      << (free0 + 16) * 2
      << "</memory><memoryBacking><hugepages><page size='2048' unit='KiB'/></hugepages></memoryBacking>"
         "<vcpu placement='static'>1</vcpu><cputune><vcpupin vcpu='0' cpuset='1'/></cputune></domain>";

  for (const std::string& step : {std::string("prepare"), std::string("started")}) {
    const std::string checkpoint = step == "prepare" ? "hugepages" : "isolate";
    fs::path err = dir_ / (step + ".err"), pidfile = dir_ / (step + ".pid");
    Result r =
        sh("VFIOCTL_HOOK_PAUSE=" + checkpoint + " " + quote(VFIOCTL_BIN) + " hook run " + name + " " + step +
           " begin - <" + quote(xml.string()) + " 2>" + quote(err.string()) + " & echo $! >" + quote(pidfile.string()));
    ASSERT_EQ(r.rc, 0);
    ASSERT_TRUE(wait_for([&] { return slurp(err).find("paused at " + checkpoint) != std::string::npos; }, 20s))
        << slurp(err);
    pid_t pid = std::stoi(trim(slurp(pidfile)));
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    EXPECT_TRUE(wait_for(
        [&] {
          return !fs::exists("/proc/" + std::to_string(pid)) ||
                 slurp("/proc/" + std::to_string(pid) + "/stat").find(") Z") != std::string::npos;
        },
        5s));
    if (step == "prepare") {
      EXPECT_EQ(pool(), pool_before_ + 16) << "the kernel grew the pool before the kill";
      Result st = vfioctl("hook status --json");
      Json status = Json::parse(st.out, nullptr, false);
      ASSERT_FALSE(status.is_discarded()) << st.out;
      ASSERT_EQ(status["guests"].size(), 1u) << st.out;
      EXPECT_TRUE(status["guests"][0]["hugepages"]["added"].is_null())
          << "killed before it recorded the pages: " << st.out;
    } else {
      ASSERT_TRUE(fs::exists(kHostCgroup));
      EXPECT_TRUE(in_cgroup(kHostCgroup, ::getpid()));
    }
  }

  Result dry = vfioctl("hook recover");
  EXPECT_EQ(dry.rc, 0) << dry.out;
  EXPECT_NE(dry.out.find("would release " + name), std::string::npos) << dry.out;
  EXPECT_TRUE(fs::exists(kHostCgroup)) << "a dry run changes nothing";

  Result rec = vfioctl("hook recover --apply");
  EXPECT_EQ(rec.rc, 0) << rec.out;
  EXPECT_EQ(pool(), pool_before_);
  EXPECT_FALSE(fs::exists(kHostCgroup));
  EXPECT_TRUE(in_cgroup(kCpuset, ::getpid()));
  EXPECT_EQ(allowed(std::to_string(::getpid())), (std::set<int>{0, 1}));
  EXPECT_FALSE(fs::exists("/run/vfioctl/guests/" + name + ".json"));
}

// libvirtd is killed while a tuned guest runs, then the guest's QEMU dies
// too: no release hook runs. `hook recover` gives back what the guest held;
// libvirtd, started again, finds nothing left to release.
TEST_F(Hook, RecoverAfterLibvirtdAndTheGuestWereKilled) {
  const std::string name = "vfioctl-e2e-hook-crash-" + std::to_string(::getpid());
  const long free0 = meminfo("HugePages_Free");
  new_guest(name, (free0 + 8) * 2);
  ASSERT_FALSE(HasFailure());
  Result r = start(name);
  ASSERT_EQ(r.rc, 0) << r.out;
  ASSERT_EQ(pool(), pool_before_ + 8);
  ASSERT_TRUE(fs::exists(kHostCgroup));
  const int qemu = qemu_pid(name);
  ASSERT_GT(qemu, 0);
  const pid_t libvirtd = std::stoi(trim(slurp("/run/libvirtd.pid")));

  ASSERT_EQ(::kill(libvirtd, SIGKILL), 0);
  ASSERT_EQ(::kill(qemu, SIGKILL), 0);
  EXPECT_TRUE(wait_for(
      [&] { return !fs::exists("/proc/" + std::to_string(qemu)) && !fs::exists("/proc/" + std::to_string(libvirtd)); },
      10s));
  EXPECT_TRUE(wait_for([&] { return meminfo("HugePages_Free") >= free0 + 8; }, 10s))
      << "the dead QEMU's pages are free again";
  EXPECT_EQ(pool(), pool_before_ + 8) << "nothing released them from the pool";
  EXPECT_TRUE(fs::exists(kHostCgroup));

  Result st = vfioctl("hook status --json");
  Json status = Json::parse(st.out, nullptr, false);
  ASSERT_FALSE(status.is_discarded()) << st.out;
  ASSERT_EQ(status["guests"].size(), 1u) << st.out;
  EXPECT_FALSE(status["guests"][0]["running"].get<bool>()) << st.out;

  Result rec = vfioctl("hook recover --apply");
  EXPECT_EQ(rec.rc, 0) << rec.out;
  EXPECT_NE(rec.out.find("Released " + name), std::string::npos) << rec.out;
  EXPECT_EQ(pool(), pool_before_);
  EXPECT_FALSE(fs::exists(kHostCgroup));
  EXPECT_TRUE(in_cgroup(kCpuset, ::getpid()));
  EXPECT_EQ(allowed(std::to_string(::getpid())), (std::set<int>{0, 1}));

  // env.sh up starts libvirtd again (and records it); its own cleanup of the
  // dead guest calls the release hook, which finds nothing to give back.
  Result again = sh(quote(env_script()) + " up");
  ASSERT_EQ(again.rc, 0) << again.out;
  virsh(*env_, "destroy " + name);
  EXPECT_EQ(pool(), pool_before_);
  EXPECT_FALSE(fs::exists("/run/vfioctl/guests/" + name + ".json"));
}

}  // namespace
