// The runtime tuning behind `vfioctl hook`, against a model of the kernel:
// a hugepage pool that can run short until memory is compacted, a cgroup v1
// cpuset hierarchy that resets a process's affinity when it moves (as the
// kernel does), IRQs some of which refuse user affinity, cpufreq governors
// and systemd's AllowedCPUs. Every test checks what a user relies on: the
// guest gets what it needs, and afterwards the host is exactly as before,
// also when the hook is killed at any point and `recover` runs.
#include <gtest/gtest.h>

#include <sstream>

#include "hook_model.h"

namespace vfioctl::runtime {
namespace {

using namespace test_model;

// ---- the domain XML ---------------------------------------------------------

TEST(DomainTune, OptInIsByNamespaceNotByPrefix) {
  auto d = parse_domain_tune(domain_xml("g", "2,3"));
  EXPECT_TRUE(d.opted_in);
  EXPECT_EQ(d.name, "g");
  EXPECT_EQ(d.actions, (std::vector<std::string>{"hugepages", "isolate", "governor", "irq"}));
  EXPECT_EQ(d.memory_kib, 64 * 1024);
  EXPECT_EQ(d.hugepage_kib, 2048);
  EXPECT_EQ(d.vcpu_cpus, (std::vector<int>{2, 3}));

  auto other = parse_domain_tune(
      "<domain><name>x</name><metadata><vfioctl:tune xmlns:vfioctl='http://example.org/other' "
      "actions='isolate'/></metadata></domain>");
  EXPECT_FALSE(other.opted_in) << "the same name in another namespace is someone else's element";
  EXPECT_FALSE(parse_domain_tune("<domain><name>x</name></domain>").opted_in);
}

TEST(DomainTune, ReadsUnitsNodesAndLibvirtCpusets) {
  auto d = parse_domain_tune(
      "<domain><name>n</name><metadata><vfioctl:tune xmlns:vfioctl='urn:vfioctl:tune:1' actions='irq "
      "hugepages'/></metadata>"
      "<memory unit='GiB'>2</memory><memoryBacking><hugepages/></memoryBacking>"
      "<numatune><memory mode='strict' nodeset='1'/></numatune>"
      "<vcpu placement='static' cpuset='0-7,^3'>4</vcpu></domain>");
  EXPECT_EQ(d.actions, (std::vector<std::string>{"hugepages", "irq"})) << "kept in the order the hook performs them";
  EXPECT_EQ(d.memory_kib, 2LL * 1024 * 1024);
  EXPECT_EQ(d.hugepage_kib, 0) << "<hugepages/> without a size: the host's default";
  EXPECT_EQ(d.node, 1);
  EXPECT_EQ(d.vcpu_cpus, (std::vector<int>{0, 1, 2, 4, 5, 6, 7})) << "<vcpu cpuset> when there is no vcpupin";
  EXPECT_EQ(parse_libvirt_cpuset("1-5,^2,^3,9"), (std::vector<int>{1, 4, 5, 9}));
  EXPECT_FALSE(parse_libvirt_cpuset("1-5,^2-3")) << "libvirt takes single CPUs out, never ranges";
  EXPECT_FALSE(parse_libvirt_cpuset("1-x"));
}

TEST(DomainTune, BadInputNamesTheDomainAndTheElement) {
  auto expect_error = [](const std::string& xml, const std::string& part) {
    try {
      parse_domain_tune(xml);
      ADD_FAILURE() << "no error for " << xml;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::bad_input);
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  expect_error(domain_xml("g", "1", "hugepages isolat"), "domain 'g': <vfioctl:tune actions> has 'isolat'");
  expect_error("<domain><name>g</name><cputune><vcpupin vcpu='0' cpuset='one'/></cputune></domain>",
               "<vcpupin vcpu='0' cpuset='one'>");
  expect_error("<domain><name>g</name><memory unit='parsecs'>4</memory></domain>", "parsecs");
  expect_error("<domani/>", "no <domain> element");
  expect_error("<domain><name>g", "domain XML on stdin");
}

// ---- events -------------------------------------------------------------------

TEST(Hook, ADomainThatDidNotOptInIsNotTouched) {
  ModelIo io;
  Kernel before = io.k;
  std::string xml =
      "<domain><name>plain</name><memory unit='GiB'>4</memory><cputune><vcpupin vcpu='0' "
      "cpuset='2'/></cputune></domain>";
  for (const char* op : {"prepare", "started", "release"}) EXPECT_EQ(event(io, xml, op), 0);
  EXPECT_TRUE(io.writes.empty());
  EXPECT_TRUE(io.files.empty()) << "no state, no log";
  EXPECT_EQ(io.k, before);
}

TEST(Hook, PrepareAddsExactlyTheShortfallAndReleaseTakesExactlyThatBack) {
  ModelIo io;
  io.k.nr = 10;
  io.k.used = 4;  // 6 free; the guest needs 32 (64 MiB of 2 MiB pages)
  std::string xml = domain_xml("g", "2", "hugepages");
  std::string log;
  EXPECT_EQ(event(io, xml, "prepare", &log), 0) << log;
  EXPECT_EQ(io.k.nr, 36) << "grew by 32 - 6 = 26";
  EXPECT_NE(log.find("reserved 26 more 2 MiB pages (pool 10 -> 36)"), std::string::npos) << log;
  EXPECT_NE(io.files.at("/run/vfioctl/guests/g.json").find("\"added\": 26"), std::string::npos);
  // The guest takes its pages; meanwhile someone else grows the pool by 5.
  io.k.used += 32;
  io.k.nr += 5;
  io.k.used -= 32;  // the guest stopped
  EXPECT_EQ(event(io, xml, "release", &log), 0);
  EXPECT_EQ(io.k.nr, 15) << "only the 26 the hook added go back; the other 5 stay";
  EXPECT_FALSE(io.files.count("/run/vfioctl/guests/g.json"));
}

TEST(Hook, AnAmplePoolIsLeftAlone) {
  ModelIo io;
  io.k.nr = 64;
  std::string log;
  EXPECT_EQ(event(io, domain_xml("g", "2", "hugepages"), "prepare", &log), 0);
  EXPECT_EQ(io.k.nr, 64);
  EXPECT_TRUE(io.writes.empty());
  EXPECT_NE(log.find("32 2 MiB pages needed, 64 free"), std::string::npos) << log;
  EXPECT_EQ(event(io, domain_xml("g", "2", "hugepages"), "release"), 0);
  EXPECT_EQ(io.k.nr, 64);
}

TEST(Hook, CompactionIsTriedAndAShortPoolIsGivenBackWithAClearError) {
  ModelIo io;
  io.k.nr = 0;
  io.k.cap = 10;  // fragmented: only 10 pages to be had
  std::string log;
  EXPECT_EQ(event(io, domain_xml("g", "2", "hugepages"), "prepare", &log), 1);
  EXPECT_EQ(io.k.nr, 0) << "the 10 pages found are given back: the guest cannot start anyway";
  EXPECT_NE(log.find("needs 32 more 2 MiB pages but the kernel found only 10 after compacting memory"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("vfioctl setup --hugepages-for"), std::string::npos) << "says how to reserve them at boot";
  EXPECT_EQ(std::count(io.writes.begin(), io.writes.end(), "/proc/sys/vm/compact_memory=1"), 2)
      << "compacted before each try";
  EXPECT_EQ(io.files["/run/vfioctl/guests/g.json"].find("size_kib"), std::string::npos) << "nothing left to give back";

  ModelIo io2;
  io2.k.nr = 0;
  io2.k.cap = 10;
  io2.k.cap_after_compact = 100;  // compaction frees contiguous blocks
  EXPECT_EQ(event(io2, domain_xml("g", "2", "hugepages"), "prepare", &log), 0);
  EXPECT_EQ(io2.k.nr, 32);
  EXPECT_EQ(io2.writes.front(), "/proc/sys/vm/compact_memory=1") << "compaction first";
}

TEST(Hook, OneGibPagesAreOnlyReportedWithTheBootTimeFix) {
  ModelIo io;
  std::string log;
  EXPECT_EQ(event(io, domain_xml("big", "2", "hugepages", 4096, "<page size='1' unit='G'/>"), "prepare", &log), 1);
  EXPECT_NE(log.find("the kernel has no 1 GiB pages"), std::string::npos) << log;
  EXPECT_TRUE(io.writes.empty());
}

TEST(Hook, OverTheBudgetSaysSoInTheLog) {
  ModelIo io;
  io.k.nr = 0;
  io.compact_cost = 12;  // compaction takes 12 s on this host
  std::string log;
  EXPECT_EQ(event(io, domain_xml("slow", "2", "hugepages"), "prepare", &log), 0);
  EXPECT_NE(log.find("the hugepage reservation took 12.0 s, over its 10 s budget"), std::string::npos) << log;
}

TEST(Hook, StartedConfinesHostProcessesAndReleaseRestoresEverything) {
  ModelIo io;
  Kernel before = io.k;
  std::string xml = domain_xml("g", "2,3", "isolate governor irq");
  std::string log;
  ASSERT_EQ(event(io, xml, "prepare"), 0);
  ASSERT_EQ(event(io, xml, "started", &log), 0) << log;
  // Host processes moved into the host cpuset, on CPUs 0-1 only.
  EXPECT_EQ(io.k.cgroup_cpus.at(kHostCgroup), "0-1");
  EXPECT_EQ(io.k.cgroups.at(kHostCgroup), (std::set<int>{1, 100, 103, 104}));
  EXPECT_EQ(io.k.cgroups.at(""), (std::set<int>{2, 101, 102})) << "kernel threads and libvirtd stay";
  for (int pid : io.k.cgroups.at(kHostCgroup)) EXPECT_EQ(io.k.affinity[pid], (std::vector<int>{0, 1})) << pid;
  // Governor and IRQs.
  EXPECT_EQ(io.k.governor[2], "performance");
  EXPECT_EQ(io.k.governor[3], "performance");
  EXPECT_EQ(io.k.governor[0], "schedutil");
  EXPECT_EQ(io.k.irq[24], "0-1");
  EXPECT_EQ(io.k.irq[25], "0-1") << "an IRQ only on guest CPUs goes to the host's";
  EXPECT_EQ(io.k.irq[40], "0-3") << "a managed IRQ refuses and is left";
  EXPECT_EQ(io.k.irq_default, "3");
  EXPECT_NE(log.find("(1 kept by the kernel)"), std::string::npos) << log;

  ASSERT_EQ(event(io, xml, "release", &log), 0) << log;
  EXPECT_EQ(io.k, before) << dump(io.k) << "\nwanted\n" << dump(before);
  EXPECT_EQ(io.k.affinity[103], (std::vector<int>{3})) << "a process's own affinity comes back";
  EXPECT_TRUE(io.files.empty() || (io.files.size() == 0)) << "no state left";
}

// Every process of the host cpuset, and none in the root.
std::set<int> confined(const ModelIo& io) {
  auto it = io.k.cgroups.find(kHostCgroup);
  return it == io.k.cgroups.end() ? std::set<int>{} : it->second;
}

TEST(Hook, ReleaseOnABusyHostMovesForkedChildrenUntilTheCgroupCanGo) {
  ModelIo io;
  std::string xml = domain_xml("g", "2,3", "isolate");
  ASSERT_EQ(event(io, xml, "prepare"), 0);
  ASSERT_EQ(event(io, xml, "started"), 0);
  ASSERT_FALSE(confined(io).empty());
  io.forks = 40;  // children keep appearing in the cgroup while its processes move out
  std::string log;
  ASSERT_EQ(event(io, xml, "release", &log), 0) << log;
  EXPECT_EQ(io.forks, 0) << "every fork happened during the release";
  EXPECT_FALSE(io.k.cgroups.count(kHostCgroup)) << log;
  EXPECT_EQ(io.k.cgroups.size(), 1u);
  for (const auto& [pid, cpus] : io.k.affinity) {
    if (pid == 103) continue;  // its own affinity came back
    EXPECT_EQ(cpus, io.k.online) << "pid " << pid << " is still confined";
  }
  EXPECT_NE(log.find("passes: processes forked as they moved"), std::string::npos) << log;
  EXPECT_FALSE(io.files.count(kHostState)) << "nothing left to recover";
}

TEST(Hook, ACgroupThatNeverEmptiesGetsEveryCpuAndRecoverRemovesItLater) {
  ModelIo io;
  Kernel before = io.k;
  std::string xml = domain_xml("g", "2,3", "isolate governor irq");
  ASSERT_EQ(event(io, xml, "prepare"), 0);
  ASSERT_EQ(event(io, xml, "started"), 0);
  io.forks = -1;  // a fork loop inside the cgroup
  std::string log;
  const double t0 = io.clock;
  ASSERT_EQ(event(io, xml, "release", &log), 0) << "the guest has stopped: the hook must not fail it\n" << log;
  EXPECT_LE(io.clock - t0, TunerOptions{}.budgets.empty_cgroup + 0.1) << "bounded by its budget";
  ASSERT_TRUE(io.k.cgroups.count(kHostCgroup)) << log;
  EXPECT_EQ(io.k.cgroup_cpus.at(kHostCgroup), "0-3") << "nothing left in it is confined";
  for (int pid : confined(io)) EXPECT_EQ(io.k.affinity.at(pid), io.k.online) << pid;
  EXPECT_EQ(io.k.governor, before.governor) << "the other settings came back all the same";
  EXPECT_EQ(io.k.irq, before.irq);
  EXPECT_NE(log.find("'vfioctl hook recover --apply' removes it"), std::string::npos) << log;
  {
    std::ostringstream quiet;
    Tuner t(io, quiet);
    EXPECT_EQ(t.leftover_cgroup(), std::string(ModelIo::kCpuset) + "/" + kHostCgroup);
    EXPECT_EQ(t.stale_domains(), std::vector<std::string>{}) << "no guest holds it";
  }
  // The fork loop ends; recover finishes the job.
  io.forks = 0;
  std::ostringstream out;
  Tuner t(io, out);
  t.recover({});
  EXPECT_FALSE(io.k.cgroups.count(kHostCgroup)) << out.str();
  EXPECT_EQ(confined(io), std::set<int>{});
  EXPECT_EQ(t.leftover_cgroup(), std::nullopt);
  EXPECT_FALSE(io.files.count(kHostState));
  EXPECT_EQ(io.k.affinity[103], (std::vector<int>{3})) << "a process's own affinity came back at release";
}

// A guest starting while a leftover cgroup waits for recover reuses it.
TEST(Hook, AGuestStartingBesideALeftoverCgroupConfinesTheHostAgain) {
  ModelIo io;
  std::string a = domain_xml("a", "2,3", "isolate");
  ASSERT_EQ(event(io, a, "prepare"), 0);
  ASSERT_EQ(event(io, a, "started"), 0);
  io.forks = -1;
  ASSERT_EQ(event(io, a, "release"), 0);
  ASSERT_TRUE(io.k.cgroups.count(kHostCgroup));
  io.forks = 0;
  std::string b = domain_xml("b", "3", "isolate");
  std::string log;
  ASSERT_EQ(event(io, b, "prepare"), 0);
  ASSERT_EQ(event(io, b, "started", &log), 0) << log;
  EXPECT_EQ(io.k.cgroup_cpus.at(kHostCgroup), "0-2");
  for (int pid : confined(io)) EXPECT_EQ(io.k.affinity.at(pid), (std::vector<int>{0, 1, 2})) << pid;
  ASSERT_EQ(event(io, b, "release", &log), 0) << log;
  EXPECT_FALSE(io.k.cgroups.count(kHostCgroup)) << log;
  EXPECT_FALSE(io.files.count(kHostState));
}

TEST(Hook, TwoGuestsReleaseInAnyOrderAndKeepEachOthersCpus) {
  for (bool a_first : {true, false}) {
    ModelIo io;
    io.k.nr = 0;
    Kernel before = io.k;
    std::string a = domain_xml("a", "2"), b = domain_xml("b", "3");
    for (const auto& x : {a, b}) {
      ASSERT_EQ(event(io, x, "prepare"), 0);
      ASSERT_EQ(event(io, x, "started"), 0);
      io.k.used += 32;
    }
    EXPECT_EQ(io.k.nr, 64);
    EXPECT_EQ(io.k.cgroup_cpus.at(kHostCgroup), "0-1");
    const std::string& first = a_first ? a : b;
    io.k.used -= 32;
    ASSERT_EQ(event(io, first, "release"), 0);
    EXPECT_EQ(io.k.nr, 32) << "the other guest's pages stay";
    EXPECT_EQ(io.k.cgroup_cpus.at(kHostCgroup), a_first ? "0-2" : "0-1,3") << "the other guest's CPU stays isolated";
    EXPECT_EQ(io.k.governor[a_first ? 2 : 3], before.governor[a_first ? 2 : 3]);
    EXPECT_EQ(io.k.governor[a_first ? 3 : 2], "performance");
    io.k.used -= 32;
    ASSERT_EQ(event(io, a_first ? b : a, "release"), 0);
    EXPECT_EQ(io.k, before) << dump(io.k);
    EXPECT_TRUE(io.files.empty());
  }
}

TEST(Hook, SystemdSlicesGetAllowedCpusAndTheirOldValuesBack) {
  ModelIo io;
  io.k.systemd = true;
  io.k.allowed["user.slice"] = "0-3";
  Kernel before = io.k;
  std::string xml = domain_xml("g", "3", "isolate");
  ASSERT_EQ(event(io, xml, "started"), 0);
  EXPECT_EQ(io.k.allowed["system.slice"], "0-2");
  EXPECT_EQ(io.k.allowed["user.slice"], "0-2");
  EXPECT_EQ(io.k.allowed["init.scope"], "0-2");
  EXPECT_FALSE(io.k.cgroups.count(kHostCgroup)) << "systemd owns the cgroups: no cgroup of ours";
  ASSERT_EQ(event(io, xml, "release"), 0);
  EXPECT_EQ(io.k, before) << dump(io.k);
  EXPECT_NE(
      std::find(io.commands.begin(), io.commands.end(), "systemctl set-property --runtime user.slice AllowedCPUs=0-3"),
      io.commands.end());
}

TEST(Hook, GuestsOnEveryCpuLeaveTheHostAlone) {
  ModelIo io;
  Kernel before = io.k;
  std::string log;
  ASSERT_EQ(event(io, domain_xml("all", "0-3", "isolate irq"), "started", &log), 0);
  EXPECT_EQ(io.k, before);
  EXPECT_NE(log.find("all of the host's CPUs"), std::string::npos) << log;
}

// The property the state files exist for: kill the hook after any number of
// changes, in any event, and `recover` brings the host back to exactly how
// it was (the guest is not running any more).
TEST(Hook, KilledAtAnyPointRecoverRestoresTheHost) {
  for (const char* op : {"prepare", "started", "release"}) {
    for (int kill = 0;; ++kill) {
      ModelIo io;
      io.k.nr = 0;
      Kernel before = io.k;
      std::string xml = domain_xml("g", "2,3");
      bool finished = false;
      // Run up to the event to kill in, then kill it after `kill` changes.
      for (const char* step : {"prepare", "started", "release"}) {
        if (std::string(step) == op) io.kill_after = kill;
        try {
          event(io, xml, step);
          if (std::string(step) == op) finished = true;
        } catch (const Killed&) {
          break;
        }
        if (std::string(step) == "started") io.k.used = 0;  // the guest ran and stopped
      }
      io.kill_after = -1;
      std::ostringstream out;
      Tuner t(io, out);
      t.recover(t.stale_domains());
      EXPECT_EQ(io.k, before) << "killed in " << op << " after " << kill << " changes\n" << dump(io.k) << out.str();
      EXPECT_EQ(t.states().size(), 0u) << op << " " << kill;
      EXPECT_FALSE(io.files.count(kHostState)) << op << " " << kill << "\n" << io.files[kHostState];
      if (finished) break;
      ASSERT_LT(kill, 200);
    }
  }
}

TEST(Hook, RecoverLeavesRunningGuestsAlone) {
  ModelIo io;
  std::string a = domain_xml("a", "2", "isolate"), b = domain_xml("b", "3", "isolate");
  ASSERT_EQ(event(io, a, "started"), 0);
  ASSERT_EQ(event(io, b, "started"), 0);
  // a's QEMU is alive (libvirt's pid file names a live process); b's is gone.
  io.files["/run/libvirt/qemu/a.pid"] = "100";
  std::ostringstream out;
  Tuner t(io, out);
  EXPECT_EQ(t.stale_domains(), (std::vector<std::string>{"b"}));
  t.recover(t.stale_domains());
  EXPECT_EQ(io.k.cgroup_cpus.at(kHostCgroup), "0-1,3") << "a's CPU is still kept free";
  ASSERT_EQ(t.states().size(), 1u);
  EXPECT_EQ(t.states()[0].domain, "a");
}

// A /run that survives a reboot keeps records whose settings are gone: the
// pool the new boot reserved must not lose the pages the old record added.
TEST(Hook, RecordsFromBeforeARebootAreDroppedWithoutTouchingTheHost) {
  ModelIo io;
  io.k.nr = 0;
  std::string xml = domain_xml("g", "2,3");
  ASSERT_EQ(event(io, xml, "prepare"), 0);
  ASSERT_EQ(event(io, xml, "started"), 0);
  ASSERT_EQ(io.k.nr, 32);
  // Reboot: a new boot id, the kernel's settings back to the boot's own.
  ModelIo fresh;
  fresh.files = io.files;
  fresh.boot_id = "boot-2";
  fresh.k.nr = 100;  // reserved on the new kernel command line
  Kernel before = fresh.k;
  std::ostringstream out;
  Tuner t(fresh, out);
  EXPECT_TRUE(t.states().empty()) << "status does not show settings that are gone";
  EXPECT_TRUE(t.host_state_json().find("boot-1") != std::string::npos) << "still on disk until recover";
  t.recover(t.stale_domains());
  EXPECT_EQ(fresh.k, before) << dump(fresh.k);
  EXPECT_FALSE(fresh.files.count("/run/vfioctl/guests/g.json"));
  EXPECT_FALSE(fresh.files.count(kHostState));
  // The same guest's next start after the reboot works from a clean slate.
  ASSERT_EQ(event(fresh, xml, "prepare"), 0);
  EXPECT_EQ(fresh.k.nr, 100) << "100 free pages hold the guest's 32";
  ASSERT_EQ(event(fresh, xml, "release"), 0);
  EXPECT_EQ(fresh.k, before);
}

// The shared record is not in the guests' namespace: a guest called "host"
// has its own record, and its release gives the host back.
TEST(Hook, AGuestNamedHostKeepsItsRecordApartFromTheSharedOne) {
  ModelIo io;
  Kernel before = io.k;
  std::string host = domain_xml("host", "2", "isolate governor irq"), other = domain_xml("g", "3", "governor");
  ASSERT_EQ(event(io, other, "started"), 0);
  ASSERT_EQ(event(io, host, "started"), 0);
  EXPECT_TRUE(io.files.count("/run/vfioctl/guests/host.json"));
  EXPECT_NE(io.files.at(kHostState).find("\"holders\""), std::string::npos) << "the shared record is intact";
  ASSERT_EQ(event(io, host, "release"), 0);
  EXPECT_EQ(io.k.governor[3], "performance") << "g still holds CPU 3";
  ASSERT_EQ(event(io, other, "release"), 0);
  EXPECT_EQ(io.k, before) << dump(io.k) << "\nwanted\n" << dump(before);
  EXPECT_TRUE(io.files.empty()) << io.files.begin()->first;
}

// Records of the earlier layout (/run/vfioctl/NAME.json beside host.json)
// are still read: status shows them, recover releases them.
TEST(Hook, RecoverReadsRecordsOfTheEarlierLayout) {
  ModelIo io;
  io.k.nr = 0;
  Kernel before = io.k;
  std::string xml = domain_xml("g", "2,3");
  ASSERT_EQ(event(io, xml, "prepare"), 0);
  ASSERT_EQ(event(io, xml, "started"), 0);
  io.files["/run/vfioctl/g.json"] = io.files.at("/run/vfioctl/guests/g.json");
  io.files.erase("/run/vfioctl/guests/g.json");
  io.k.used = 0;  // the guest stopped without its release
  std::ostringstream out;
  Tuner t(io, out);
  ASSERT_EQ(t.states().size(), 1u);
  EXPECT_EQ(t.states()[0].domain, "g");
  t.recover(t.stale_domains());
  EXPECT_EQ(io.k, before) << dump(io.k) << out.str();
  EXPECT_TRUE(io.files.empty()) << io.files.begin()->first;
}

// Records with a field of the wrong kind (found by hook_fuzz: each threw
// out of the hook or `hook status`) are set aside whole, like bad JSON.
TEST(Hook, DamagedRecordsAreSetAsideNotFollowed) {
  const std::vector<std::pair<std::string, std::string>> damaged = {
      {kHostState, R"({"boot": 5})"},
      {kHostState, R"({"governor": {"x": "schedutil"}})"},
      {kHostState, R"({"governor": {"99999999999": "schedutil"}})"},
      {kHostState, R"({"holders": {"g": {"cpus": "2", "actions": 7}}})"},
      {kHostState, R"({"isolate": {"affinity": {"1": {"start": 5}}}})"},
      {"/run/vfioctl/guests/g.json", R"({"domain": ["g"], "phase": "started"})"},
      {"/run/vfioctl/guests/g.json", R"({"hugepages": {"added": "many"}})"},
  };
  for (const auto& [path, text] : damaged) {
    ModelIo io;
    Kernel before = io.k;
    io.files[path] = text;
    std::ostringstream out;
    Tuner t(io, out);
    EXPECT_NO_THROW(t.states()) << text;
    EXPECT_NO_THROW(t.recover(t.stale_domains())) << text;
    EXPECT_NE(out.str().find("not a record this hook wrote"), std::string::npos) << text << "\n" << out.str();
    EXPECT_TRUE(io.files.count(path + ".bad")) << text;
    std::string xml = domain_xml("g", "2,3", "isolate governor irq");
    std::string log;
    EXPECT_EQ(event(io, xml, "started", &log), 0) << text << "\n" << log;
    EXPECT_EQ(event(io, xml, "release", &log), 0) << text << "\n" << log;
    io.files.erase(path + ".bad");
    EXPECT_EQ(io.k, before) << text << "\n" << dump(io.k);
  }
}

TEST(DomainTune, SizesPastAnyMachineAreRefusedNotOverflowed) {
  auto expect_refused = [](const std::string& memory, const std::string& page) {
    std::string xml =
        "<domain><name>g</name><metadata><t:tune xmlns:t='urn:vfioctl:tune:1' actions='hugepages'/>"
        "</metadata>" +
        memory + "<memoryBacking><hugepages>" + page + "</hugepages></memoryBacking></domain>";
    EXPECT_THROW(parse_domain_tune(xml), Error) << memory << page;
  };
  expect_refused("<memory unit='GiB'>10485759998951424</memory>", "");
  expect_refused("<memory unit='KiB'>-4</memory>", "");
  expect_refused("<memory unit='GiB'>4</memory>", "<page size='9223372036854775807' unit='M'/>");
}

TEST(Hook, NamesThatCannotNameAFileAreRefusedWithTheReason) {
  for (const std::string& name : {std::string("."), std::string(".."), std::string(201, 'a'), std::string("a/b")}) {
    try {
      parse_domain_tune(domain_xml(name, "2"));
      ADD_FAILURE() << name;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::bad_input);
      EXPECT_NE(std::string(e.what()).find("virsh domrename"), std::string::npos) << e.what();
      EXPECT_LT(std::string(e.what()).size(), 300u) << "a long name is quoted by its first bytes";
    }
  }
  // A guest that did not opt in is none of the hook's business, whatever its name.
  EXPECT_FALSE(parse_domain_tune("<domain><name>..</name></domain>").opted_in);
  EXPECT_EQ(parse_domain_tune(domain_xml(std::string(200, 'a'), "2")).name.size(), 200u);
}

TEST(Hook, CpumaskFormat) {
  EXPECT_EQ(format_cpumask({0}), "1");
  EXPECT_EQ(format_cpumask({0, 1, 2, 3}), "f");
  EXPECT_EQ(format_cpumask({0, 33}), "2,00000001");
  EXPECT_EQ(parse_cpumask(format_cpumask({1, 5, 40, 63})), (std::vector<int>{1, 5, 40, 63}));
}

// ---- plain-QEMU guests (`vfioctl tune`) ------------------------------------

// What `tune start` does: prepare, place the calling shell, started.
DomainTune script_guest(ModelIo& io, const std::string& name, int script_pid) {
  io.procs[script_pid] = {"bash", 100, std::to_string(5000 + script_pid)};
  io.k.cgroups[""].insert(script_pid);
  io.k.affinity[script_pid] = {0, 1, 2, 3};
  DomainTune d = tune_request({name, "hugepages,isolate,governor,irq", "2,3", "64M", "2M", std::nullopt});
  d.process = script_pid;
  return d;
}

TunerOptions tune_options() {
  TunerOptions o;
  o.self = 999;
  o.libvirt_log = false;
  return o;
}

// The script forks QEMU: it starts in the script's cgroup.
void fork_qemu(ModelIo& io, int parent, int pid) {
  io.procs[pid] = {"qemu-system-x86", parent, std::to_string(5000 + pid)};
  for (auto& [cg, pids] : io.k.cgroups)
    if (pids.count(parent)) pids.insert(pid);
  io.k.affinity[pid] = io.k.affinity[parent];
}

void exits(ModelIo& io, int pid) { io.exit_process(pid); }

// A script guest "g" (the script is pid 500) on the model, with its tuner.
class Tune : public ::testing::Test {
 protected:
  Tune() : d(script_guest(io, "g", 500)), before(io.k), t(io, log, tune_options()) {}
  // The script starts QEMU as `pid` and the tuning follows it.
  void qemu_runs(int pid) {
    fork_qemu(io, 500, pid);
    t.follow("g", pid);
  }
  // The host as before, but for the script that has exited since.
  Kernel without_script() const {
    Kernel want = before;
    want.cgroups[""].erase(500);
    want.affinity.erase(500);
    return want;
  }
  ModelIo io;
  DomainTune d;
  Kernel before;
  std::ostringstream log;
  Tuner t;
};

TEST_F(Tune, AScriptGuestIsTunedAndGivenBackWhenQemuEnds) {
  t.start(d);

  EXPECT_EQ(io.k.nr, 32) << "64 MiB of 2 MiB pages: the 8-page pool grew by its shortfall of 24";
  const std::string guest_cg = "vfioctl.guest.g";
  ASSERT_TRUE(io.k.cgroups.count(guest_cg)) << dump(io.k);
  EXPECT_EQ(io.k.cgroups[guest_cg], std::set<int>{500}) << "the script, placed before the host was confined";
  EXPECT_EQ(io.k.cgroup_cpus[guest_cg], "0-3") << "every CPU: the QEMU it starts can be pinned anywhere";
  EXPECT_EQ(io.k.cgroup_cpus[kHostCgroup], "0-1");
  EXPECT_TRUE(io.k.cgroups[kHostCgroup].count(100)) << "host processes confined";
  EXPECT_FALSE(io.k.cgroups[kHostCgroup].count(500));
  EXPECT_EQ(io.k.governor[2], "performance");
  EXPECT_EQ(io.k.governor[3], "performance");
  EXPECT_EQ(io.k.governor[0], "schedutil") << "the host's CPUs keep theirs";
  EXPECT_EQ(io.k.irq[24], "0-1");
  EXPECT_EQ(log.str().find("vfioctl hook:"), std::string::npos) << "its log lines say tune: " << log.str();
  EXPECT_FALSE(io.files.count("/var/log/libvirt/qemu/g.log")) << "not libvirt's log";

  // QEMU starts from the script, in its cgroup, with every CPU; the
  // script ends, and the tuning follows QEMU.
  fork_qemu(io, 500, 501);
  EXPECT_EQ(io.k.affinity[501], (std::vector<int>{0, 1, 2, 3}));
  t.follow("g", 501);
  exits(io, 500);
  auto states = t.states();
  ASSERT_EQ(states.size(), 1u);
  EXPECT_TRUE(states[0].running);
  EXPECT_EQ(states[0].via, "script");
  EXPECT_EQ(states[0].pid, 501);
  EXPECT_TRUE(t.stale_domains().empty());

  // The watcher: QEMU ends while it waits; everything comes back.
  io.end_when_waited.insert(501);
  EXPECT_TRUE(t.release_when_gone("g", 501));
  EXPECT_FALSE(io.k.cgroups.count(guest_cg)) << dump(io.k);
  EXPECT_FALSE(io.k.cgroups.count(kHostCgroup)) << dump(io.k);
  EXPECT_EQ(io.k, without_script()) << dump(io.k);
  EXPECT_TRUE(io.files.empty()) << "no state left";
}

TEST_F(Tune, AGuestWhoseQemuDiedIsReleasedByRecover) {
  t.start(d);
  qemu_runs(501);
  exits(io, 500);
  // QEMU and its watcher are killed: no release ran.
  exits(io, 501);
  EXPECT_EQ(t.stale_domains(), std::vector<std::string>{"g"});
  EXPECT_EQ(t.recover(t.stale_domains()), std::vector<std::string>{"g"});
  EXPECT_EQ(io.k, without_script()) << dump(io.k);
  EXPECT_TRUE(io.files.empty());
}

TEST_F(Tune, APidReusedByAnotherProgramIsNotTheGuest) {
  t.start(d);
  qemu_runs(501);
  exits(io, 501);
  io.procs[501] = {"cron", 1, "99999"};  // the same pid, another start time
  EXPECT_EQ(t.stale_domains(), std::vector<std::string>{"g"});
  EXPECT_TRUE(t.release_when_gone("g", 501)) << "it does not wait for the pid's new owner";
}

TEST_F(Tune, AWatcherOfAnEarlierRunLeavesANewRunAlone) {
  t.start(d);
  qemu_runs(501);
  // Stopped by hand and started again before the first watcher woke up.
  t.release("g");
  t.start(d);
  qemu_runs(502);
  exits(io, 501);
  EXPECT_FALSE(t.release_when_gone("g", 501));
  EXPECT_EQ(io.k.governor[2], "performance") << "the new run keeps its tuning";
  EXPECT_TRUE(io.files.count(kGuestStateDir + std::string("/g.json")));
}

TEST_F(Tune, AFailedStartGivesBackAndTakesTheScriptOutOfItsCgroup) {
  t.start(d);
  // The script's check failed before QEMU started: its trap releases.
  auto states = t.states();
  ASSERT_EQ(states.size(), 1u);
  EXPECT_TRUE(states[0].running) << "the script itself is the guest until QEMU runs";
  t.release("g");
  EXPECT_EQ(io.k, before) << dump(io.k);
  EXPECT_TRUE(io.files.empty());
}

TEST(TuneStart, AStartThatCannotFillThePoolLeavesNothingBehind) {
  ModelIo io;
  DomainTune d = script_guest(io, "g", 500);
  io.k.cap = 10;  // the kernel finds 2 more pages, not the 24 missing
  io.k.cap_after_compact = 10;
  Kernel before = io.k;
  std::ostringstream log;
  Tuner t(io, log, tune_options());
  try {
    t.start(d);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::refused);
  }
  EXPECT_EQ(io.k, before) << dump(io.k);
  EXPECT_TRUE(io.files.empty()) << "no state left";
}

TEST(TuneStart, UnderSystemdTheScriptGoesToAScopeInMachineSlice) {
  ModelIo io;
  io.k.systemd = true;
  DomainTune d = script_guest(io, "win 11", 500);
  std::ostringstream log;
  Tuner t(io, log, tune_options());
  t.start(d);
  ASSERT_FALSE(io.commands.empty());
  EXPECT_EQ(io.commands[0],
            "busctl call org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager "
            "StartTransientUnit ssa(sv)a(sa(sv)) vfioctl-guest-win\\x2011.scope fail 2 PIDs au 1 500 Slice s "
            "machine.slice 0");
  EXPECT_EQ(io.k.allowed["user.slice"], "0-1") << "the host's slices confined; machine.slice is not one of them";
}

TEST(TuneRequest, RequestsFromTheCommandLineAreChecked) {
  auto bad = [](TuneRequest r, const std::string& part) {
    try {
      tune_request(r);
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::bad_input);
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  bad({"g", "hugepages,warp", "1", "1G", "2M", std::nullopt}, "--actions: 'warp' is not one of");
  bad({"g", "isolate", "", "", "", std::nullopt}, "need --cpus");
  bad({"g", "isolate", "1-x", "", "", std::nullopt}, "--cpus '1-x': not a CPU list");
  bad({"g", "hugepages", "", "1G", "", std::nullopt}, "needs --memory and --hugepages");
  bad({"g", "hugepages", "", "lots", "2M", std::nullopt}, "--memory 'lots': not a size");
  bad({"a/b", "isolate", "1", "", "", std::nullopt}, "holds a '/'");
  auto d = tune_request({"g", "irq hugepages", "3,1", "1G", "1G", 1});
  EXPECT_EQ(d.actions, (std::vector<std::string>{"hugepages", "irq"}));
  EXPECT_EQ(d.vcpu_cpus, (std::vector<int>{1, 3}));
  EXPECT_EQ(d.memory_kib, 1024 * 1024);
  EXPECT_EQ(d.hugepage_kib, 1024 * 1024);
  EXPECT_EQ(d.node, 1);
}

}  // namespace
}  // namespace vfioctl::runtime
