// The lint rules that judge a guest against host facts (L1xx), on fixture hosts.
#include "lint_rules_guests.h"
#include "temp_tree.h"
#include "vfioctl/host/root.h"

namespace vfioctl::lint {
namespace {

using namespace test_guests;

// L101
TEST(LintRules, L101PinnedCpuMissing) {
  Guest g;
  g.cputune =
      "<cputune>\n<vcpupin vcpu='0' cpuset='1'/>\n<vcpupin vcpu='1' cpuset='5'/>\n"
      "<vcpupin vcpu='2' cpuset='2'/>\n<vcpupin vcpu='3' cpuset='6'/>\n<emulatorpin cpuset='3,7'/>\n"
      "<iothreadpin iothread='1' cpuset='3,7,12'/>\n</cputune>";
  expect_finding(g, "L101", "<iothreadpin", &z370());
  EXPECT_NE(only(lint(g.xml(), &z370()), "L101")[0].finding.message.find("host CPU 12 does not exist"),
            std::string::npos);
  expect_none(g, "L101");  // without the host: not judged
  expect_none(Guest(), "L101", &z370());
}

// L102
TEST(LintRules, L102ThreadsNotSiblings) {
  Guest g;  // vCPUs 0,1 on 1,2 and 2,3 on 5,6: siblings on this host are N/N+4
  g.cputune =
      "<cputune>\n<vcpupin vcpu='0' cpuset='1'/>\n<vcpupin vcpu='1' cpuset='2'/>\n"
      "<vcpupin vcpu='2' cpuset='5'/>\n<vcpupin vcpu='3' cpuset='6'/>\n<emulatorpin cpuset='3,7'/>\n"
      "<iothreadpin iothread='1' cpuset='3,7'/>\n</cputune>";
  expect_finding(g, "L102", "vcpu='0'", &z370());
  EXPECT_NE(only(lint(g.xml(), &z370()), "L102")[0].finding.message.find("2 of 2 guest cores"), std::string::npos);
  g.cpu = "<cpu mode='host-passthrough'><topology sockets='1' dies='1' cores='4' threads='1'/></cpu>";
  expect_none(g, "L102", &z370());  // declared as separate cores
  expect_none(Guest(), "L102", &z370());
}

// L103
TEST(LintRules, L103HostFirstCore) {
  Guest g;  // CPU 0's core on the 3900X is 0,12
  g.cputune =
      "<cputune>\n<vcpupin vcpu='0' cpuset='1'/>\n<vcpupin vcpu='1' cpuset='13'/>\n"
      "<vcpupin vcpu='2' cpuset='0'/>\n<vcpupin vcpu='3' cpuset='12'/>\n<emulatorpin cpuset='2,14'/>\n"
      "<iothreadpin iothread='1' cpuset='2,14'/>\n</cputune>";
  expect_finding(g, "L103", "vcpu='2'", &ryzen());
  EXPECT_NE(only(lint(g.xml(), &ryzen()), "L103")[0].finding.message.find("(CPU 0 and its siblings, 0,12)"),
            std::string::npos);
  g.cputune =
      "<cputune>\n<vcpupin vcpu='0' cpuset='1'/>\n<vcpupin vcpu='1' cpuset='13'/>\n"
      "<vcpupin vcpu='2' cpuset='2'/>\n<vcpupin vcpu='3' cpuset='14'/>\n<emulatorpin cpuset='0,12'/>\n"
      "<iothreadpin iothread='1' cpuset='0,12'/>\n</cputune>";
  expect_none(g, "L103", &ryzen());  // the emulator may live there
}

// L104
TEST(LintRules, L104GroupNotViable) {
  Guest g;  // 00:1f.3 (HD Audio) shares group 10 with 00:1f.4 on i801_smbus
  g.hostdevs =
      "<hostdev mode='subsystem' type='pci' managed='yes'>\n"
      "<source><address domain='0x0000' bus='0x00' slot='0x1f' function='0x3'/></source>\n</hostdev>";
  expect_finding(g, "L104", "<hostdev", &z370());
  auto f = only(lint(g.xml(), &z370()), "L104")[0].finding;
  EXPECT_NE(f.message.find("IOMMU group 10"), std::string::npos) << f.message;
  EXPECT_NE(f.message.find("00:1f.4 (i801_smbus)"), std::string::npos) << f.message;
  EXPECT_EQ(f.message.find("00:1f.0"), std::string::npos) << "no driver: does not block";
  // Passing the held device too makes the group viable.
  g.hostdevs +=
      "\n<hostdev mode='subsystem' type='pci' managed='yes'>\n"
      "<source><address domain='0x0000' bus='0x00' slot='0x1f' function='0x4'/></source>\n</hostdev>";
  expect_none(g, "L104", &z370());
  // The GPU group holds its root port, a bridge that stays with the host.
  expect_none(Guest(), "L104", &z370());
}

// L104: another function of the passed device left behind.
TEST(LintRules, L104SameDeviceFunctionLeftBehind) {
  Guest g;
  g.hostdevs =
      "<hostdev mode='subsystem' type='pci' managed='yes'>\n"
      "<source><address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source>\n</hostdev>";
  expect_finding(g, "L104", "<hostdev", &z370());
  EXPECT_NE(only(lint(g.xml(), &z370()), "L104")[0].finding.message.find("01:00.1 (snd_hda_intel)"), std::string::npos);
}

// L105
TEST(LintRules, L105HostdevMissing) {
  Guest g;
  g.hostdevs =
      "<hostdev mode='subsystem' type='pci' managed='yes'>\n"
      "<source><address domain='0x0000' bus='0x0d' slot='0x00' function='0x0'/></source>\n</hostdev>";
  expect_finding(g, "L105", "<hostdev", &z370());
  expect_none(g, "L105");
  expect_none(Guest(), "L105", &z370());
}

// L106
TEST(LintRules, L106SmtThreadsOnECores) {
  const Host& hybrid = fixture_host("intel-hybrid-13700k");  // P 0-15 (adjacent pairs), E 16-23
  Guest g;
  g.cputune = pins({2, 3, 16, 17}, "0-1");
  expect_finding(g, "L106", "vcpu='2'", &hybrid);
  auto f = only(lint(g.xml(), &hybrid), "L106")[0].finding;
  EXPECT_NE(f.message.find("vCPUs 2-3 on 16E,17E"), std::string::npos) << f.message;
  EXPECT_TRUE(only(lint(g.xml(), &hybrid), "L102").empty());  // said once, by L106
  g.cputune = pins({2, 3, 4, 5}, "0-1");
  expect_none(g, "L106", &hybrid);
  // threads='1' on E-cores is right.
  g.cputune = pins({2, 3, 16, 17}, "0-1");
  g.cpu = "<cpu mode='host-passthrough'><topology sockets='1' dies='1' cores='4' threads='1'/></cpu>";
  expect_none(g, "L106", &hybrid);
}

// L107
TEST(LintRules, L107SiblingsHiddenAsCores) {
  Guest g;  // z370: siblings N/N+4; vCPUs 0,1 on 1,5 and 2,3 on 2,6
  g.cpu = "<cpu mode='host-passthrough'><topology sockets='1' dies='1' cores='4' threads='1'/></cpu>";
  expect_finding(g, "L107", "vcpu='0'", &z370());
  auto f = only(lint(g.xml(), &z370()), "L107")[0].finding;
  EXPECT_NE(f.message.find("2 pairs of vCPUs"), std::string::npos) << f.message;
  EXPECT_NE(f.fix.find("cores='2' threads='2'"), std::string::npos) << f.fix;
  // No topology at all means threads='1' too.
  g.cpu = "<cpu mode='host-passthrough'/>";
  expect_finding(g, "L107", "vcpu='0'", &z370());
  // One vCPU per host core.
  g.cpu = "<cpu mode='host-passthrough'><topology sockets='1' dies='1' cores='4' threads='1'/></cpu>";
  g.cputune = pins({1, 2, 3, 0}, "4-7");
  expect_none(g, "L107", &z370());
  expect_none(Guest(), "L107", &z370());
  expect_none(Guest(), "L107");
}

// L108
TEST(LintRules, L108SpanOfL3AndNuma) {
  const Host& tr = fixture_host("threadripper-3960x");  // 8 L3 domains of 3 cores, N/N+24
  Guest g;
  g.cputune = pins({6, 30, 9, 33}, "0,24");  // two cores of two L3 domains; one holds 6 CPUs
  expect_finding(g, "L108", "vcpu='0'", &tr);
  EXPECT_EQ(only(lint(g.xml(), &tr), "L108")[0].finding.severity, Severity::info);
  g.cputune = pins({6, 30, 7, 31}, "0,24");
  expect_none(g, "L108", &tr);
  // Two sockets: both L3 and NUMA.
  const Host& xeon = fixture_host("xeon-2socket");
  g.cputune = pins({1, 33, 17, 49}, "0,32");
  expect_finding(g, "L108", "vcpu='0'", &xeon, 2);
  g.cputune = pins({1, 33, 2, 34}, "0,32");
  expect_none(g, "L108", &xeon);
}

// L109
TEST(LintRules, L109PinsOutsideIsolatedCpus) {
  const Host& tr = fixture_host("threadripper-3960x");  // isolcpus=6-23,30-47
  Guest g;
  g.cputune = pins({6, 30, 1, 25}, "0,24");
  expect_finding(g, "L109", "vcpu='2'", &tr);
  auto f = only(lint(g.xml(), &tr), "L109")[0].finding;
  EXPECT_NE(f.message.find("vCPUs 2-3 run on host CPUs 1,25"), std::string::npos) << f.message;
  g.cputune = pins({6, 30, 7, 31}, "0,24");
  expect_none(g, "L109", &tr);
  // A host that isolates nothing: doctor's business.
  expect_none(Guest(), "L109", &z370());
}

// L110
TEST(LintRules, L110HugepagePoolShort) {
  Guest g;  // the 3900X fixture has 6144 free 2 MiB pages (12 GiB)
  expect_none(g, "L110", &ryzen());
  g.memory = "<memory unit='GiB'>16</memory>";
  expect_finding(g, "L110", "<memoryBacking>", &ryzen());
  auto f = only(lint(g.xml(), &ryzen()), "L110")[0].finding;
  EXPECT_NE(f.message.find("needs 8192 pages of 2 MiB (16 GiB); this host has 6144 free"), std::string::npos)
      << f.message;
  EXPECT_NE(f.fix.find("echo 8192 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"), std::string::npos)
      << f.fix;
  g.backing = "<memoryBacking><hugepages>\n<page size='1' unit='G'/>\n</hugepages></memoryBacking>";
  expect_finding(g, "L110", "<page size='1'", &ryzen());
  EXPECT_NE(only(lint(g.xml(), &ryzen()), "L110")[0].finding.fix.find("hugepagesz=1G hugepages=16"), std::string::npos);
  g.backing = "<memoryBacking><hugepages>\n<page size='16' unit='M'/>\n</hugepages></memoryBacking>";
  expect_finding(g, "L110", "<page size='16'", &ryzen());
  // Per NUMA node: 32 free 1 GiB pages on each node of the Xeon.
  const Host& xeon = fixture_host("xeon-2socket");
  g.memory = "<memory unit='GiB'>48</memory>";
  g.backing = "<memoryBacking><hugepages>\n<page size='1' unit='G'/>\n</hugepages></memoryBacking>";
  expect_none(g, "L110", &xeon);
  g.extra = "<numatune><memory mode='strict' nodeset='1'/></numatune>";
  expect_finding(g, "L110", "<page size='1'", &xeon);
  EXPECT_NE(only(lint(g.xml(), &xeon), "L110")[0].finding.message.find("on NUMA node 1"), std::string::npos);
  expect_none(Guest(), "L110");  // without a host: not judged
}

// A guest that opts into the hook's hugepage reservation: L110 says the hook
// raises the pool when the guest starts; for 1 GiB pages, that it cannot.
TEST(LintRules, L110SaysWhenTheHookReservesTheShortfall) {
  Guest g;
  g.memory = "<memory unit='GiB'>16</memory>";
  g.extra = "<metadata><vfioctl:tune xmlns:vfioctl='urn:vfioctl:tune:1' actions='hugepages isolate'/></metadata>";
  auto f = only(lint(g.xml(), &ryzen()), "L110").at(0).finding;
  EXPECT_NE(f.message.find("this host has 6144 free (of 6144 reserved): the vfioctl hook reserves the rest when the "
                           "guest starts"),
            std::string::npos)
      << f.message;
  EXPECT_NE(f.fix.find("raise the pool by 2048 pages when the guest starts"), std::string::npos) << f.fix;
  // Another namespace's tune element, or no hugepages action: the plain advice.
  g.extra = "<metadata><x:tune xmlns:x='urn:example' actions='hugepages'/></metadata>";
  EXPECT_NE(only(lint(g.xml(), &ryzen()), "L110").at(0).finding.fix.find("echo 8192 >"), std::string::npos);
  g.extra = "<metadata><vfioctl:tune xmlns:vfioctl='urn:vfioctl:tune:1' actions='isolate'/></metadata>";
  EXPECT_NE(only(lint(g.xml(), &ryzen()), "L110").at(0).finding.fix.find("echo 8192 >"), std::string::npos);
  g.extra = "<metadata><vfioctl:tune xmlns:vfioctl='urn:vfioctl:tune:1' actions='hugepages'/></metadata>";
  g.backing = "<memoryBacking><hugepages>\n<page size='1' unit='G'/>\n</hugepages></memoryBacking>";
  auto gig = only(lint(g.xml(), &ryzen()), "L110").at(0).finding;
  EXPECT_NE(gig.fix.find("hugepagesz=1G hugepages=16 on the kernel command line"), std::string::npos) << gig.fix;
  EXPECT_NE(gig.fix.find("cannot reserve them and refuses to start it"), std::string::npos) << gig.fix;
}

// L111
TEST(LintRules, L111CpuFeatureTheHostsLibvirtDoesNotKnow) {
  Host h = z370();
  h.platform.libvirt_cpu_features = std::set<std::string>{"invtsc", "topoext", "hypervisor", "vmx"};
  Guest g;
  g.cpu =
      "<cpu mode='host-passthrough' check='none'><topology sockets='1' dies='1' cores='2' threads='2'/>\n"
      "<feature policy='require' name='invtsc'/>\n<feature policy='disable' name='hypervsior'/>\n</cpu>";
  LintOptions opt;
  opt.disabled = {"L110"};
  auto fs = only(lint_text("t.xml", g.xml(), &h, opt).findings, "L111");
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_EQ(fs[0].line, line_of(g.xml(), "hypervsior"));
  EXPECT_EQ(fs[0].finding.severity, Severity::fail);
  EXPECT_NE(fs[0].finding.fix.find("name='hypervisor'"), std::string::npos) << fs[0].finding.fix;
  // Without a CPU map (the fixtures have none) the rule cannot judge: silent.
  expect_none(g, "L111", &z370());
  expect_none(g, "L111");
}

// The CPU map is read from the host's libvirt.
TEST(LintRules, TheCpuMapIsReadFromTheHostsLibvirt) {
  test::TempTree t;
  t.file("/usr/share/libvirt/cpu_map/x86_features.xml",
         "<cpus>\n  <feature name='fpu'>\n    <cpuid eax_in='0x01' edx='0x00000001'/>\n  </feature>\n"
         "  <feature name=\"invtsc\">\n  </feature>\n</cpus>\n");
  auto names = read_libvirt_cpu_features(Root(t.str()));
  ASSERT_TRUE(names);
  EXPECT_EQ(*names, (std::set<std::string>{"fpu", "invtsc"}));
  test::TempTree empty;
  EXPECT_FALSE(read_libvirt_cpu_features(Root(empty.str())));
}

}  // namespace
}  // namespace vfioctl::lint
