// End-to-end: a hand-written TCG domain with vCPU, emulator and iothread pinning
// on 2 MiB hugepages is defined and started under the real libvirtd; the QEMU
// threads must run where the XML pins them, the guest's memory must come from
// the hugepage pool, and the guest must see the CPU topology the XML gives it.
// Needs root and tests/e2e/env.sh (see tests/e2e/README.md).
#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <set>

#include "e2e.h"

namespace {

using namespace vfioctl::e2e;
using namespace std::chrono_literals;

constexpr long kGuestKib = 128 * 1024;

// This host has CPUs 0 and 1: every pinned set differs from the default 0-1.
const std::map<std::string, std::string> kPinned = {
    {"CPU 0/TCG", "1"},     // <vcpupin vcpu='0' cpuset='1'/>
    {"CPU 1/TCG", "0"},     // <vcpupin vcpu='1' cpuset='0'/>
    {"IO iothread1", "1"},  // <iothreadpin iothread='1' cpuset='1'/>
};
const std::string kEmulatorCpus = "0";  // <emulatorpin cpuset='0'/>: every other thread

std::string domain_xml(const std::string& name, const Env& env, const fs::path& serial) {
  return R"(<domain type='qemu'>
  <name>)" +
         name + R"(</name>
  <memory unit='KiB'>)" +
         std::to_string(kGuestKib) + R"(</memory>
  <currentMemory unit='KiB'>)" +
         std::to_string(kGuestKib) + R"(</currentMemory>
  <memoryBacking>
    <hugepages>
      <page size=')" +
         std::to_string(env.hugepage_kib) + R"(' unit='KiB'/>
    </hugepages>
  </memoryBacking>
  <vcpu placement='static'>2</vcpu>
  <iothreads>1</iothreads>
  <cputune>
    <vcpupin vcpu='0' cpuset='1'/>
    <vcpupin vcpu='1' cpuset='0'/>
    <emulatorpin cpuset=')" +
         kEmulatorCpus + R"('/>
    <iothreadpin iothread='1' cpuset='1'/>
  </cputune>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>)" +
         env.kernel + R"(</kernel>
    <initrd>)" +
         env.initrd + R"(</initrd>
    <cmdline>console=ttyS0</cmdline>
  </os>
  <features>
    <acpi/>
    <apic/>
  </features>
  <cpu mode='custom' match='exact' check='none'>
    <model fallback='forbid'>Skylake-Client</model>
    <topology sockets='1' dies='1' cores='1' threads='2'/>
  </cpu>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <serial type='file'>
      <source path=')" +
         serial.string() + R"('/>
      <target port='0'/>
    </serial>
    <memballoon model='none'/>
  </devices>
</domain>
)";
}

class LibvirtPinning : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { env_ = new Env(up()); }
  static void TearDownTestSuite() {
    delete env_;
    env_ = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(env_->error.empty()) << env_->error;
    if (!env_->skipped.empty()) GTEST_SKIP() << env_->skipped;
    name_ = "vfioctl-e2e-pinning-" + std::to_string(::getpid());
    dir_ = fs::path(env_->state) / "guests" / name_;
    virsh(*env_, "destroy " + name_);  // a leftover of a killed run with this PID
    virsh(*env_, "undefine " + name_);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                              fs::perms::others_read | fs::perms::others_exec);
  }

  // Runs on failure too: the guest never outlives its test.
  void TearDown() override {
    if (name_.empty()) return;
    if (HasFailure()) {
      std::cerr << "--- serial log (tail) ---\n"
                << tail(slurp(dir_ / "serial.log"), 40) << "--- /var/log/libvirt/qemu/" << name_ << ".log (tail) ---\n"
                << tail(slurp("/var/log/libvirt/qemu/" + name_ + ".log"), 20);
    }
    virsh(*env_, "destroy " + name_);
    virsh(*env_, "undefine " + name_);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  static Env* env_;
  std::string name_;
  fs::path dir_;
};

Env* LibvirtPinning::env_ = nullptr;

TEST_F(LibvirtPinning, ThreadsRunWherePinnedOnHugepagesAndGuestSeesTopology) {
  const long pages = kGuestKib / env_->hugepage_kib;
  const fs::path xml = dir_ / "domain.xml";
  const fs::path serial = dir_ / "serial.log";
  {
    std::ofstream f(xml);
    f << domain_xml(name_, *env_, serial);
  }
  Result valid = sh("virt-xml-validate " + quote(xml.string()) + " domain");
  ASSERT_EQ(valid.rc, 0) << valid.out;

  const long free_before = meminfo("HugePages_Free");
  ASSERT_GE(free_before, pages) << "env.sh up reserves hugepages; is it up?";

  Result r = virsh(*env_, "define " + quote(xml.string()));
  ASSERT_EQ(r.rc, 0) << r.out;
  r = virsh(*env_, "start " + name_);
  ASSERT_EQ(r.rc, 0) << r.out;
  const int pid = qemu_pid(name_);
  ASSERT_GT(pid, 0) << "no /run/libvirt/qemu/" << name_ << ".pid";
  EXPECT_EQ(trim(slurp("/proc/" + std::to_string(pid) + "/comm")), "qemu-system-x86");

  // Memory: all of it from the pool, mapped into this QEMU (prealloc).
  EXPECT_EQ(free_before - meminfo("HugePages_Free"), pages);
  EXPECT_EQ(hugetlb_kib(pid), kGuestKib);

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
  EXPECT_EQ(guest["cpus"], "2");
  EXPECT_EQ(guest["threads_per_core"], "2");
  EXPECT_EQ(guest["cores"], "1");
  EXPECT_EQ(guest["sockets"], "1");
  ASSERT_FALSE(guest["mem_kib"].empty());
  const long mem_kib = std::stol(guest["mem_kib"]);
  EXPECT_GT(mem_kib, kGuestKib / 2);
  EXPECT_LE(mem_kib, kGuestKib);

  // Threads, after the vCPUs have run the boot: each where the XML pins it.
  std::vector<Thread> ts = threads(pid);
  std::map<std::string, int> seen;
  bool main_seen = false;
  for (const Thread& t : ts) {
    auto want = kPinned.find(t.comm);
    const std::string& cpus = want != kPinned.end() ? want->second : kEmulatorCpus;
    if (want != kPinned.end()) ++seen[t.comm];
    if (t.tid == pid) main_seen = true;
    EXPECT_EQ(t.cpus_allowed, cpus) << "thread " << t.tid << " '" << t.comm << "'";
    // vCPU threads ran the whole boot after pinning: they must also have run there.
    if (t.comm.find("/TCG") != std::string::npos) {
      EXPECT_EQ(std::to_string(t.last_cpu), cpus) << "vCPU thread '" << t.comm << "' last ran elsewhere";
    }
  }
  EXPECT_TRUE(main_seen);
  for (const auto& [comm, cpus] : kPinned) EXPECT_EQ(seen[comm], 1) << "threads named '" << comm << "'";

  // Destroying the guest ends QEMU and gives the pages back.
  r = virsh(*env_, "destroy " + name_);
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_TRUE(wait_for([&] { return !fs::exists("/proc/" + std::to_string(pid)); }, 10s));
  EXPECT_TRUE(wait_for([&] { return meminfo("HugePages_Free") == free_before; }, 10s))
      << "HugePages_Free " << meminfo("HugePages_Free") << ", was " << free_before;
  r = virsh(*env_, "undefine " + name_);
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_EQ(virsh(*env_, "dominfo " + name_).rc, 1) << "still defined";
}

}  // namespace
