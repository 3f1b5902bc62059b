// Every guest-only lint rule (L0xx) on small inline guests: one that trips it
// (and where), one that does not. The base guests are clean; each test changes
// one part. Options and ordering are here too.
#include "lint_rules_guests.h"
#include "vfioctl/lint/rules/checks.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace vfioctl::lint {
namespace {

using namespace test_guests;

// docs/rules.md has a section per rule, headed "### ID TITLE".
TEST(LintRules, EveryRuleIsDocumented) {
  std::ifstream f(std::string(VFIOCTL_SOURCE_DIR) + "/docs/rules.md");
  std::stringstream ss;
  ss << f.rdbuf();
  std::string doc = ss.str();
  for (const auto& r : rules()) {
    std::string heading = "\n### " + std::string(r.id) + " " + std::string(r.title) + "\n";
    EXPECT_NE(doc.find(heading), std::string::npos) << heading;
  }
}

TEST(LintRules, BaseGuestsAreClean) {
  EXPECT_EQ(dump(lint(Guest().xml())), "");
  EXPECT_EQ(dump(lint(windows().xml())), "");
  // The z370 fixture reserves no hugepages: L110 says so, and nothing else.
  LintOptions opt;
  opt.disabled = {"L110"};
  EXPECT_EQ(dump(lint_text("t.xml", Guest().xml(), &z370(), opt).findings), "");
  EXPECT_EQ(dump(lint_text("t.xml", windows().xml(), &z370(), opt).findings), "");
  EXPECT_EQ(only(lint(Guest().xml(), &z370()), "L110").size(), 1u);
}

TEST(LintRules, EveryRuleHasTextsAndUniqueIds) {
  std::set<std::string_view> ids, names;
  for (const auto& r : rules()) {
    EXPECT_TRUE(ids.insert(r.id).second) << r.id;
    EXPECT_TRUE(names.insert(r.name).second) << r.name;
    EXPECT_EQ(r.id.size(), 4u);
    EXPECT_EQ(r.id[0], 'L');
    EXPECT_EQ(r.needs_host, r.id[1] == '1') << r.id;
    EXPECT_FALSE(r.title.empty());
    EXPECT_FALSE(r.why.empty());
    EXPECT_NE(r.check, nullptr);
  }
  EXPECT_EQ(find_rule("l002")->id, "L002");
  EXPECT_EQ(find_rule("L999"), nullptr);
}

// L001
TEST(LintRules, L001VcpupinBeyondCountOrTwice) {
  Guest g;
  g.cputune =
      "<cputune>\n<vcpupin vcpu='0' cpuset='1'/>\n<vcpupin vcpu='1' cpuset='5'/>\n"
      "<vcpupin vcpu='2' cpuset='2'/>\n<vcpupin vcpu='3' cpuset='6'/>\n<vcpupin vcpu='4' cpuset='7'/>\n"
      "<emulatorpin cpuset='3'/>\n<iothreadpin iothread='1' cpuset='3'/>\n</cputune>";
  expect_finding(g, "L001", "vcpu='4'");
  g.cputune =
      "<cputune>\n<vcpupin vcpu='0' cpuset='1'/>\n<vcpupin vcpu='1' cpuset='5'/>\n"
      "<vcpupin vcpu='2' cpuset='2'/>\n<vcpupin vcpu='3' cpuset='6'/>\n<vcpupin vcpu='2' cpuset='7'/>\n"
      "<emulatorpin cpuset='3'/>\n<iothreadpin iothread='1' cpuset='3'/>\n</cputune>";
  expect_finding(g, "L001", "vcpu='2' cpuset='7'");
  expect_none(Guest(), "L001");
}

// L002
TEST(LintRules, L002EmulatorOrIothreadOnVcpuCpus) {
  Guest g;
  g.cputune =
      "<cputune>\n<vcpupin vcpu='0' cpuset='0'/>\n<vcpupin vcpu='1' cpuset='1'/>\n"
      "<vcpupin vcpu='2' cpuset='2'/>\n<vcpupin vcpu='3' cpuset='3'/>\n<emulatorpin cpuset='0-3'/>\n"
      "<iothreadpin iothread='1' cpuset='4'/>\n</cputune>";
  expect_finding(g, "L002", "emulatorpin");
  auto fs = only(lint(g.xml()), "L002");
  EXPECT_EQ(fs[0].finding.message, "emulatorpin 0-3 overlaps vCPUs 0-3 (host CPUs 0-3)");
  // With the host known, the fix names its free CPUs.
  fs = only(lint(g.xml(), &z370()), "L002");
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_NE(fs[0].finding.fix.find("on this host: 4-7"), std::string::npos) << fs[0].finding.fix;

  g.cputune =
      "<cputune>\n<vcpupin vcpu='0' cpuset='1'/>\n<vcpupin vcpu='1' cpuset='5'/>\n"
      "<vcpupin vcpu='2' cpuset='2'/>\n<vcpupin vcpu='3' cpuset='6'/>\n<emulatorpin cpuset='3'/>\n"
      "<iothreadpin iothread='1' cpuset='6-7'/>\n</cputune>";
  expect_finding(g, "L002", "iothreadpin");
  // Pinned vCPUs, no emulatorpin: the emulator floats over them.
  g.cputune =
      "<cputune>\n<vcpupin vcpu='0' cpuset='1'/>\n<vcpupin vcpu='1' cpuset='5'/>\n"
      "<vcpupin vcpu='2' cpuset='2'/>\n<vcpupin vcpu='3' cpuset='6'/>\n"
      "<iothreadpin iothread='1' cpuset='3'/>\n</cputune>";
  expect_finding(g, "L002", "<cputune>");
  // Declared iothread without a pin.
  g = Guest();
  g.iothreads = "<iothreads>2</iothreads>";
  expect_finding(g, "L002", "<iothreads>");
  expect_none(Guest(), "L002");
  // No pinning at all: nothing to overlap.
  g = Guest();
  g.cputune = "";
  expect_none(g, "L002");
}

// L003
TEST(LintRules, L003PartlyPinned) {
  Guest g;
  g.vcpu = "<vcpu placement='static'>6</vcpu>";
  g.cpu = "<cpu mode='host-passthrough'><topology sockets='1' dies='1' cores='3' threads='2'/></cpu>";
  expect_finding(g, "L003", "<cputune>");
  EXPECT_NE(only(lint(g.xml()), "L003")[0].finding.message.find("vCPUs 4-5 are not pinned"), std::string::npos);
  expect_none(Guest(), "L003");
  // vCPUs offline at start run nothing: not "unpinned".
  g.vcpu = "<vcpu placement='static' current='4'>6</vcpu>";
  expect_none(g, "L003");
  g.vcpu =
      "<vcpu placement='static'>6</vcpu><vcpus><vcpu id='0' enabled='yes'/><vcpu id='1' enabled='yes'/>"
      "<vcpu id='2' enabled='yes'/><vcpu id='3' enabled='yes'/><vcpu id='4' enabled='no' hotpluggable='yes'/>"
      "<vcpu id='5' enabled='yes' hotpluggable='yes'/></vcpus>";
  expect_finding(g, "L003", "<cputune>");
  EXPECT_NE(only(lint(g.xml()), "L003")[0].finding.message.find("vCPU 5 is not pinned"), std::string::npos);
}

// L004
TEST(LintRules, L004TwoVcpusOneHostCpu) {
  Guest g;
  g.cputune =
      "<cputune>\n<vcpupin vcpu='0' cpuset='1'/>\n<vcpupin vcpu='1' cpuset='5'/>\n"
      "<vcpupin vcpu='2' cpuset='2'/>\n<vcpupin vcpu='3' cpuset='5'/>\n<emulatorpin cpuset='3'/>\n"
      "<iothreadpin iothread='1' cpuset='3'/>\n</cputune>";
  expect_finding(g, "L004", "vcpu='3'");
  expect_none(Guest(), "L004");
}

// L005
TEST(LintRules, L005UndeclaredIothread) {
  Guest g;
  g.cputune =
      "<cputune>\n<vcpupin vcpu='0' cpuset='1'/>\n<vcpupin vcpu='1' cpuset='5'/>\n"
      "<vcpupin vcpu='2' cpuset='2'/>\n<vcpupin vcpu='3' cpuset='6'/>\n<emulatorpin cpuset='3'/>\n"
      "<iothreadpin iothread='1' cpuset='3'/>\n<iothreadpin iothread='2' cpuset='7'/>\n</cputune>";
  expect_finding(g, "L005", "iothread='2'");
  g = Guest();
  g.disks =
      "<disk type='block' device='disk'>\n<driver name='qemu' type='raw' cache='none' io='native' iothread='3'/>\n"
      "<target dev='vda' bus='virtio'/></disk>";
  expect_finding(g, "L005", "iothread='3'");
  expect_none(Guest(), "L005");
}

// L006
TEST(LintRules, L006TopologyProduct) {
  Guest g;
  g.cpu = "<cpu mode='host-passthrough'>\n<topology sockets='1' dies='1' cores='4' threads='2'/>\n</cpu>";
  expect_finding(g, "L006", "<topology");
  EXPECT_NE(only(lint(g.xml()), "L006")[0].finding.fix.find("cores='2'"), std::string::npos);
  expect_none(Guest(), "L006");
}

// L007
TEST(LintRules, L007NativeIoNeedsDirectCache) {
  Guest g;
  g.disks =
      "<disk type='block' device='disk'>\n<driver name='qemu' type='raw' io='native'/>\n"
      "<target dev='vda' bus='virtio'/></disk>";
  expect_finding(g, "L007", "io='native'");
  g.disks =
      "<disk type='block' device='disk'>\n<driver name='qemu' type='raw' io='native' cache='writeback'/>\n"
      "<target dev='vda' bus='virtio'/></disk>";
  expect_finding(g, "L007", "io='native'");
  g.disks =
      "<disk type='block' device='disk'>\n<driver name='qemu' type='raw' io='native' cache='directsync'/>\n"
      "<target dev='vda' bus='virtio'/></disk>";
  expect_none(g, "L007");
  expect_none(Guest(), "L007");
}

// L008
TEST(LintRules, L008QueuesAboveVcpus) {
  Guest g;
  g.disks = "<controller type='scsi' index='0' model='virtio-scsi'>\n<driver queues='8' iothread='1'/>\n</controller>";
  expect_finding(g, "L008", "queues='8'");
  g.disks = "<controller type='scsi' index='0' model='virtio-scsi'>\n<driver queues='4' iothread='1'/>\n</controller>";
  expect_none(g, "L008");
  expect_none(Guest(), "L008");
}

// L009
TEST(LintRules, L009BalloonWithHostdev) {
  Guest g;
  g.other_devices = "<memballoon model='virtio'/>";
  expect_finding(g, "L009", "<memballoon");
  g.other_devices = "";
  expect_finding(g, "L009", "<devices>");
  g.hostdevs = "";  // no passthrough: the balloon is fine
  g.other_devices = "<memballoon model='virtio'/>";
  expect_none(g, "L009");
  expect_none(Guest(), "L009");
}

// L010
TEST(LintRules, L010HostdevWithoutHugepages) {
  Guest g;
  g.backing = "<memoryBacking><nosharepages/></memoryBacking>";
  expect_finding(g, "L010", "<memoryBacking>");
  EXPECT_NE(only(lint(g.xml()), "L010")[0].finding.fix.find("4096 2 MiB pages"), std::string::npos);
  g.hostdevs = "";
  expect_none(g, "L010");
  expect_none(Guest(), "L010");
}

// L011
TEST(LintRules, L011LockedWithoutHugepages) {
  Guest g;
  g.backing = "<memoryBacking>\n<locked/>\n</memoryBacking>";
  expect_finding(g, "L011", "<locked/>");
  g.backing = "<memoryBacking><hugepages/>\n<locked/>\n</memoryBacking>";
  expect_none(g, "L011");
}

// L012
TEST(LintRules, L012MemoryNotPageMultiple) {
  Guest g;
  g.memory = "<memory unit='MiB'>8193</memory>";
  expect_finding(g, "L012", "<memoryBacking>");  // the default 2 MiB size
  g.memory = "<memory unit='GiB'>8</memory>";
  g.backing = "<memoryBacking><hugepages>\n<page size='1' unit='GiB'/>\n</hugepages></memoryBacking>";
  expect_none(g, "L012");
  g.memory = "<memory unit='MiB'>8704</memory>";  // 8.5 GiB
  expect_finding(g, "L012", "<page size='1'");
  EXPECT_NE(only(lint(g.xml()), "L012")[0].finding.fix.find("8388608"), std::string::npos);
  expect_none(Guest(), "L012");
}

// L013
TEST(LintRules, L013CpuModeWithHostdev) {
  Guest g;
  g.cpu = "<cpu mode='host-model'>\n<topology sockets='1' dies='1' cores='2' threads='2'/></cpu>";
  expect_finding(g, "L013", "<cpu mode='host-model'>");
  g.cpu = "";
  expect_finding(g, "L013", "<vcpu");
  g.hostdevs = "";
  expect_none(g, "L013");
  expect_none(Guest(), "L013");
  // A GPU passed by a raw -device vfio-pci is passthrough too.
  g.extra =
      "<qemu:commandline xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>"
      "<qemu:arg value='-device'/><qemu:arg value='vfio-pci,host=01:00.0,multifunction=on'/></qemu:commandline>";
  expect_finding(g, "L013", "<vcpu");
}

// L014
TEST(LintRules, L014WindowsWithoutHyperV) {
  Guest g = windows();
  g.features = "<features>\n<acpi/><apic/><smm state='on'/></features>";
  expect_finding(g, "L014", "<features>");
  g = windows();
  g.features =
      "<features><acpi/><apic/>\n<hyperv mode='custom'>\n<relaxed state='on'/><vapic state='on'/>"
      "<spinlocks state='on' retries='8191'/></hyperv>\n<smm state='on'/></features>";
  expect_finding(g, "L014", "<hyperv");
  EXPECT_NE(only(lint(g.xml()), "L014")[0].finding.message.find("vpindex, synic, stimer"), std::string::npos);
  // Without the hypervclock timer the enabled stimer lacks hv-time: L029's
  // error, not asked again by L014.
  g = windows();
  g.clock = "<clock offset='localtime'><timer name='hpet' present='no'/></clock>";
  expect_none(g, "L014");
  expect_finding(g, "L029", "<hyperv");
  g = windows();
  g.features = "<features><acpi/><apic/>\n<hyperv mode='passthrough'/>\n<smm state='on'/></features>";
  expect_none(g, "L014");
  expect_none(windows(), "L014");
  expect_none(Guest(), "L014");  // not Windows
}

// L029: QEMU's table of Hyper-V dependencies, checked both ways: every
// enlightenment on its own with all it needs is silent, and without any
// one of them is an error naming it.
TEST(LintRules, L029HypervDependenciesFollowQemusTable) {
  auto guest = [](const std::set<std::string>& on) {
    Guest g = windows();
    std::string hv;
    for (const auto& f : on) {
      if (f == "time") continue;
      if (f == "stimer_direct" || f == "tlbflush_direct" || f == "tlbflush_ext") continue;
      std::string inner;
      if (f == "stimer" && on.count("stimer_direct")) inner = "<direct state='on'/>";
      if (f == "tlbflush" && on.count("tlbflush_direct")) inner += "<direct state='on'/>";
      if (f == "tlbflush" && on.count("tlbflush_ext")) inner += "<extended state='on'/>";
      hv += inner.empty() ? "<" + f + " state='on'/>" : "<" + f + " state='on'>" + inner + "</" + f + ">";
    }
    g.features = "<features><acpi/><apic/>\n<hyperv mode='custom'>" + hv + "</hyperv>\n<smm state='on'/></features>";
    g.clock = std::string("<clock offset='localtime'><timer name='hpet' present='no'/>") +
              (on.count("time") ? "<timer name='hypervclock' present='yes'/>" : "") + "</clock>";
    return g;
  };
  auto disable_l014 = [](const std::string& xml) {
    LintOptions opt;
    opt.disabled = {"L014"};
    return lint_text("t.xml", xml, nullptr, opt).findings;
  };
  for (const auto& dep : hyperv_dependencies()) {
    std::string f(dep.feature);
    if (f == "syndbg") continue;  // not a libvirt element: checked through a -cpu override below
    std::set<std::string> on = {f};
    for (auto n : dep.needs) on.insert(std::string(n));
    if (f == "stimer_direct") on.insert("stimer");
    if (f == "tlbflush_direct" || f == "tlbflush_ext") on.insert("tlbflush");
    // With what those need in turn (tlbflush needs vpindex).
    for (bool grew = true; grew;) {
      grew = false;
      for (const auto& other : hyperv_dependencies())
        if (on.count(std::string(other.feature)))
          for (auto n : other.needs) grew |= on.insert(std::string(n)).second;
    }
    SCOPED_TRACE(f);
    EXPECT_TRUE(only(disable_l014(guest(on).xml()), "L029").empty()) << guest(on).xml();
    for (auto need : dep.needs) {
      // <direct> and <extended> live inside their parent: without it they are not there.
      if ((f == "stimer_direct" && need == "stimer") || (f == "tlbflush_ext" && need == "tlbflush")) continue;
      auto without = on;
      without.erase(std::string(need));
      auto found = only(disable_l014(guest(without).xml()), "L029");
      ASSERT_EQ(found.size(), 1u) << "without " << need << ":\n" << guest(without).xml();
      EXPECT_EQ(found[0].finding.severity, Severity::fail);
      std::string want = "hv-" + std::string(need);
      std::replace(want.begin(), want.end(), '_', '-');
      EXPECT_NE(found[0].finding.message.find(want), std::string::npos) << found[0].finding.message;
      EXPECT_NE(found[0].finding.message.find("QEMU refuses to start the guest"), std::string::npos);
    }
  }
  // --fix turns on what is missing: the result satisfies the table.
  FixResult fixed = fix_text("t.xml", guest({"stimer", "ipi"}).xml(), nullptr, {});
  EXPECT_TRUE(only(fixed.report.findings, "L029").empty()) << fixed.text;
  for (const char* want : {"<vpindex state='on'/>", "<synic state='on'/>", "<timer name='hypervclock' present='yes'/>"})
    EXPECT_NE(fixed.text.find(want), std::string::npos) << want << "\n" << fixed.text;
  // mode='passthrough' turns everything on.
  Guest g = windows();
  g.features = "<features><acpi/><apic/>\n<hyperv mode='passthrough'/>\n<smm state='on'/></features>";
  expect_none(g, "L029");
  // Under a -cpu override the override's flags are judged, not <hyperv>.
  g = windows();
  g.extra =
      "<qemu:commandline xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>"
      "<qemu:arg value='-cpu'/><qemu:arg value='host,hv_relaxed,hv-stimer,hv_time,hv_vpindex'/>"
      "</qemu:commandline>";
  auto found = only(lint(g.xml()), "L029");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_NE(found[0].finding.message.find("hv-stimer requires hv-synic"), std::string::npos)
      << found[0].finding.message;
  EXPECT_NE(found[0].finding.fix.find("add hv-synic to the -cpu value"), std::string::npos) << found[0].finding.fix;
  EXPECT_TRUE(found[0].edits.empty()) << "an override is not edited";
  g.extra =
      "<qemu:commandline xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>"
      "<qemu:arg value='-cpu'/><qemu:arg value='host,hv_relaxed,hv_stimer,hv_synic,hv_time,hv_vpindex,hv_syndbg'/>"
      "</qemu:commandline>";
  found = only(lint(g.xml()), "L029");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_NE(found[0].finding.message.find("hv-syndbg requires hv-vapic, hv-runtime"), std::string::npos)
      << found[0].finding.message;
  g.extra =
      "<qemu:commandline xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>"
      "<qemu:arg value='-cpu'/><qemu:arg value='host,hv-passthrough,hv-stimer'/></qemu:commandline>";
  expect_none(g, "L029");
}

// A -cpu in <qemu:commandline> replaces the CPU libvirt builds from <cpu>
// and <hyperv>: L013 and L014 stay silent (and --fix does not add to a
// <hyperv> the override drops); L016 (HPET, a machine option) stays.
TEST(LintRules, ACpuOverrideVoidsCpuAndHypervRules) {
  Guest g = windows();
  g.features = "<features><acpi/><apic/>\n<hyperv mode='custom'><relaxed state='on'/></hyperv>\n</features>";
  g.cpu = "<cpu mode='host-model'/>";
  g.clock = "<clock offset='localtime'><timer name='hpet' present='yes'/></clock>";
  expect_finding(g, "L013", "<cpu mode");
  expect_finding(g, "L014", "<hyperv");
  g.extra =
      "<qemu:commandline xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>"
      "<qemu:arg value='-cpu'/><qemu:arg value='host,kvm=off,hv_relaxed,hv_vendor_id=whatever'/>"
      "</qemu:commandline>";
  expect_none(g, "L013");
  expect_none(g, "L014");
  expect_finding(g, "L016", "name='hpet'");
}

// Which OS: the libosinfo id decides, then isa-applesmc (macOS), and only
// then <hyperv>. A Linux or macOS guest with a <hyperv> block gets no
// Windows advice (clock, enlightenments, HPET).
TEST(LintRules, TheOsComesFromLibosinfoThenAppleSmcThenHyperv) {
  Guest linux_guest = windows();  // <hyperv>, UTC clock, no hypervclock
  linux_guest.metadata =
      "<metadata><libosinfo:libosinfo xmlns:libosinfo='http://libosinfo.org/xmlns/libvirt/domain/1.0'>"
      "<libosinfo:os id='http://manjaro.org/manjaro/rolling'/></libosinfo:libosinfo></metadata>";
  linux_guest.clock = "<clock offset='utc'><timer name='hpet' present='yes'/></clock>";
  linux_guest.features = "<features><acpi/><apic/>\n<hyperv mode='custom'><relaxed state='on'/></hyperv>\n</features>";
  for (const char* id : {"L014", "L015", "L016"}) expect_none(linux_guest, id);

  Guest mac = linux_guest;
  mac.metadata = "";
  mac.extra =
      "<qemu:commandline xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>"
      "<qemu:arg value='-device'/><qemu:arg value='isa-applesmc,osk=ourhardworkbythesewordsguarded'/>"
      "</qemu:commandline>";
  for (const char* id : {"L014", "L015", "L016"}) expect_none(mac, id);

  Guest guessed = linux_guest;  // no libosinfo id, no Apple SMC: <hyperv> means Windows
  guessed.metadata = "";
  expect_finding(guessed, "L015", "<clock");
}

// A Windows guest that clears the CPU's hypervisor bit ([hide] cpuid_bit =
// false) ignores the enlightenments: L014 does not ask for them.
TEST(LintRules, L014SilentWithoutTheHypervisorBit) {
  Guest g = windows();
  g.features = "<features>\n<acpi/><apic/><kvm><hidden state='on'/></kvm><smm state='on'/></features>";
  g.clock = "<clock offset='localtime'><timer name='hpet' present='no'/></clock>";
  expect_finding(g, "L014", "<features>");
  for (const char* policy : {"disable", "forbid"}) {
    g.cpu = fmt::format(
        "<cpu mode='host-passthrough' check='none' migratable='off'>\n<topology sockets='1' dies='1' cores='2' "
        "threads='2'/><feature policy='{}' name='hypervisor'/></cpu>",
        policy);
    expect_none(g, "L014");
  }
  // Another feature disabled is no reason.
  g.cpu =
      "<cpu mode='host-passthrough' check='none' migratable='off'>\n<topology sockets='1' dies='1' cores='2' "
      "threads='2'/><feature policy='disable' name='svm'/></cpu>";
  expect_finding(g, "L014", "<features>");
}

// L015
TEST(LintRules, L015WindowsClockUtc) {
  Guest g = windows();
  g.clock = "<clock offset='utc'>\n<timer name='hpet' present='no'/><timer name='hypervclock' present='yes'/></clock>";
  expect_finding(g, "L015", "<clock");
  g.clock = "<clock>\n<timer name='hpet' present='no'/><timer name='hypervclock' present='yes'/></clock>";
  expect_finding(g, "L015", "<clock");
  expect_none(windows(), "L015");
  expect_none(Guest(), "L015");  // Linux keeps UTC
}

// L016
TEST(LintRules, L016WindowsHpet) {
  Guest g = windows();
  g.clock =
      "<clock offset='localtime'>\n<timer name='hpet' present='yes'/>\n"
      "<timer name='hypervclock' present='yes'/></clock>";
  expect_finding(g, "L016", "name='hpet'");
  g.clock = "<clock offset='localtime'>\n<timer name='hypervclock' present='yes'/></clock>";
  expect_finding(g, "L016", "<clock");
  expect_none(windows(), "L016");
}

// L017
TEST(LintRules, L017VendorIdLength) {
  expect_finding(windows_with(kLongVendorId, kSpinlocks), "L017", "vendor_id");
  expect_none(windows(), "L017");  // "vfioctlguest": 12
}

// L018
TEST(LintRules, L018SpinlockRetries) {
  expect_finding(windows_with("", "<spinlocks state='on' retries='4094'/>"), "L018", "<spinlocks");
  expect_finding(windows_with("", "<spinlocks state='on'/>"), "L018", "<spinlocks");
  expect_none(windows(), "L018");
}

// L019
TEST(LintRules, L019MisplacedElements) {
  Guest g;
  g.extra = "<kvm>\n<hidden state='on'/>\n</kvm>";  // directly in <domain>
  expect_finding(g, "L019", "<kvm>");
  g = Guest();
  g.features = "<features><acpi/><apic/><smm state='on'/>\n<hidden state='on'/>\n</features>";
  expect_finding(g, "L019", "<hidden");
  g = Guest();
  g.extra = "<vcpupin vcpu='0' cpuset='1'/>";
  expect_finding(g, "L019", "<vcpupin vcpu='0' cpuset='1'/>\n</domain>");
  g = windows();
  g.features =
      "<features><acpi/><apic/><smm state='on'/></features>\n<hyperv mode='custom'><relaxed state='on'/></hyperv>";
  auto fs = only(lint(g.xml()), "L019");
  EXPECT_EQ(fs.size(), 1u) << dump(fs);  // <hyperv>, not its children again
  // Free-form metadata is never judged.
  g = Guest();
  g.metadata = "<metadata><app><kvm/><hyperv/></app></metadata>";
  expect_none(g, "L019");
  expect_none(windows(), "L019");
}

// L020
TEST(LintRules, L020DuplicateSingletons) {
  Guest g;
  g.vcpu = "<vcpu placement='static'>4</vcpu>\n<vcpu placement='static'>8</vcpu>";
  expect_finding(g, "L020", "<vcpu placement='static'>8");
  g = Guest();
  g.cputune =
      "<cputune>\n<vcpupin vcpu='0' cpuset='1'/>\n<vcpupin vcpu='1' cpuset='5'/>\n"
      "<vcpupin vcpu='2' cpuset='2'/>\n<vcpupin vcpu='3' cpuset='6'/>\n<emulatorpin cpuset='3,7'/>\n"
      "<emulatorpin cpuset='0'/>\n<iothreadpin iothread='1' cpuset='3,7'/>\n</cputune>";
  expect_finding(g, "L020", "<emulatorpin cpuset='0'/>");
  g = windows();
  g.clock =
      "<clock offset='localtime'><timer name='hpet' present='no'/>\n<timer name='hpet' present='yes'/>"
      "<timer name='hypervclock' present='yes'/></clock>";
  expect_finding(g, "L020", "<timer name='hpet' present='yes'/>");
  expect_none(Guest(), "L020");
  expect_none(windows(), "L020");
}

// L021
TEST(LintRules, L021FunctionsOnSeparateSlots) {
  Guest g;
  g.hostdevs =
      "<hostdev mode='subsystem' type='pci' managed='yes'>\n"
      "<source><address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source>\n"
      "<address type='pci' domain='0x0000' bus='0x04' slot='0x00' function='0x0'/>\n</hostdev>\n"
      "<hostdev mode='subsystem' type='pci' managed='yes'>\n"
      "<source><address domain='0x0000' bus='0x01' slot='0x00' function='0x1'/></source>\n"
      "<address type='pci' domain='0x0000' bus='0x05' slot='0x00' function='0x0'/>\n</hostdev>";
  expect_finding(g, "L021", "<hostdev");
  auto f = only(lint(g.xml()), "L021")[0].finding;
  EXPECT_NE(f.message.find("separate guest slots (04:00, 05:00)"), std::string::npos) << f.message;
  EXPECT_NE(f.fix.find("01:00.1 -> guest 04:00.1"), std::string::npos) << f.fix;
  // One slot, but function 0 lacks multifunction.
  g.hostdevs =
      "<hostdev mode='subsystem' type='pci' managed='yes'>\n"
      "<source><address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source>\n"
      "<address type='pci' domain='0x0000' bus='0x04' slot='0x00' function='0x0'/>\n</hostdev>\n"
      "<hostdev mode='subsystem' type='pci' managed='yes'>\n"
      "<source><address domain='0x0000' bus='0x01' slot='0x00' function='0x1'/></source>\n"
      "<address type='pci' domain='0x0000' bus='0x04' slot='0x00' function='0x1'/>\n</hostdev>";
  expect_finding(g, "L021", "<hostdev");
  // No guest addresses at all.
  g.hostdevs =
      "<hostdev mode='subsystem' type='pci' managed='yes'>\n"
      "<source><address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source>\n</hostdev>\n"
      "<hostdev mode='subsystem' type='pci' managed='yes'>\n"
      "<source><address domain='0x0000' bus='0x01' slot='0x00' function='0x1'/></source>\n</hostdev>";
  expect_finding(g, "L021", "<hostdev");
  expect_none(Guest(), "L021");
  // The chipset's functions on root bus 00 (here USB 00:14.0 and its
  // shared-SRAM 00:14.2) are devices of their own: no card layout to keep.
  g.hostdevs =
      "<hostdev mode='subsystem' type='pci' managed='yes'>\n"
      "<source><address domain='0x0000' bus='0x00' slot='0x14' function='0x0'/></source>\n</hostdev>\n"
      "<hostdev mode='subsystem' type='pci' managed='yes'>\n"
      "<source><address domain='0x0000' bus='0x00' slot='0x14' function='0x2'/></source>\n</hostdev>";
  expect_none(g, "L021");
  // Partial sets, in either order: .0 and .2 without .1 are judged against
  // function 0's slot; .1 and .2 without .0 are left alone.
  auto hostdev = [](int fn, int guest_bus) {
    return fmt::format(
        "<hostdev mode='subsystem' type='pci' managed='yes'>\n"
        "<source><address domain='0x0000' bus='0x01' slot='0x00' function='0x{}'/></source>\n"
        "<address type='pci' domain='0x0000' bus='0x{:02x}' slot='0x00' function='0x0'/>\n</hostdev>\n",
        fn, guest_bus);
  };
  for (bool reversed : {false, true}) {
    SCOPED_TRACE(reversed);
    g.hostdevs = reversed ? hostdev(2, 5) + hostdev(0, 4) : hostdev(0, 4) + hostdev(2, 5);
    EXPECT_EQ(only(lint(g.xml()), "L021").size(), 1u);
    g.hostdevs = reversed ? hostdev(2, 5) + hostdev(1, 4) : hostdev(1, 4) + hostdev(2, 5);
    expect_none(g, "L021");
  }
}

// L022
TEST(LintRules, L022SuspendWithHostdev) {
  Guest g;
  g.pm = "<pm>\n<suspend-to-mem enabled='yes'/>\n<suspend-to-disk enabled='yes'/>\n</pm>";
  expect_finding(g, "L022", "suspend-to-mem", nullptr, 2);
  g.hostdevs = "";
  expect_none(g, "L022");
  expect_none(Guest(), "L022");
  // No <pm>: QEMU's default offers S3 and S4.
  g = Guest();
  g.pm = "";
  expect_finding(g, "L022", "<domain");
  EXPECT_NE(only(lint(g.xml()), "L022")[0].finding.message.find("S3 and S4"), std::string::npos);
  FixResult fixed = fix_text("t.xml", g.xml(), nullptr, {});
  EXPECT_TRUE(only(fixed.report.findings, "L022").empty()) << fixed.text;
  g.pm = "<pm><suspend-to-mem enabled='no'/></pm>";
  expect_finding(g, "L022", "<pm>");
  EXPECT_NE(only(lint(g.xml()), "L022")[0].finding.message.find("offers the guest S4"), std::string::npos);
  g.hostdevs = "";
  expect_none(g, "L022");
}

// L023
TEST(LintRules, L023LookingGlassSize) {
  Guest g;
  g.other_devices =
      "<memballoon model='none'/>\n<shmem name='looking-glass'><model type='ivshmem-plain'/>\n"
      "<size unit='M'>48</size>\n</shmem>";
  expect_finding(g, "L023", "<size");
  EXPECT_EQ(only(lint(g.xml()), "L023")[0].finding.severity, Severity::fail);
  EXPECT_NE(only(lint(g.xml()), "L023")[0].finding.fix.find(">64<"), std::string::npos);
  g.other_devices =
      "<memballoon model='none'/>\n<shmem name='looking-glass'><model type='ivshmem-plain'/>\n"
      "<size unit='M'>16</size>\n</shmem>";
  expect_finding(g, "L023", "<size");
  EXPECT_EQ(only(lint(g.xml()), "L023")[0].finding.severity, Severity::warn);
  g.other_devices =
      "<memballoon model='none'/>\n<shmem name='looking-glass'><model type='ivshmem-plain'/>\n"
      "<size unit='M'>32</size>\n</shmem>";
  expect_none(g, "L023");
  g.other_devices = "<memballoon model='none'/>\n<shmem name='other'><size unit='M'>3</size></shmem>";
  expect_none(g, "L023");  // not Looking Glass
}

// L024
TEST(LintRules, L024SecureBootWithoutSmm) {
  Guest g;
  g.os =
      "<os>\n<type arch='x86_64' machine='q35'>hvm</type>\n"
      "<loader readonly='yes' secure='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.secboot.fd</loader>\n</os>";
  g.features = "<features><acpi/><apic/></features>";
  expect_finding(g, "L024", "<loader");
  g.features = "<features><acpi/><apic/><smm state='off'/></features>";
  expect_finding(g, "L024", "<loader");
  g.features = "<features><acpi/><apic/><smm state='on'/></features>";
  expect_none(g, "L024");
  // Firmware autoselection asking for Secure Boot.
  g = Guest();
  g.os =
      "<os firmware='efi'><type arch='x86_64' machine='q35'>hvm</type>\n<firmware>\n"
      "<feature enabled='yes' name='secure-boot'/>\n</firmware></os>";
  g.features = "<features><acpi/><apic/>\n<smm state='off'/>\n</features>";
  expect_finding(g, "L024", "<smm");
  g.features = "<features><acpi/><apic/></features>";
  expect_finding(g, "L024", "name='secure-boot'");
  // A Secure Boot build of OVMF loaded without secure='yes'.
  g = Guest();
  g.os =
      "<os>\n<type arch='x86_64' machine='q35'>hvm</type>\n"
      "<loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.secboot.fd</loader>\n</os>";
  expect_finding(g, "L024", "<loader");
  EXPECT_EQ(only(lint(g.xml()), "L024")[0].finding.severity, Severity::warn);
  expect_none(Guest(), "L024");
}

// L025
TEST(LintRules, L025QemuCpuOverride) {
  Guest g = windows();
  g.extra = qemu_args({"-cpu", "host,hv_relaxed,+invtsc"});
  expect_finding(g, "L025", "value='-cpu'");
  auto f = only(lint(g.xml()), "L025")[0].finding;
  EXPECT_EQ(f.severity, Severity::warn);
  EXPECT_NE(f.fix.find("<feature policy='require' name='invtsc'/>"), std::string::npos) << f.fix;
  // Any prefix bound to libvirt's QEMU namespace; another namespace is not it.
  g.extra = qemu_args({"-cpu", "host"}, "q");
  expect_finding(g, "L025", "value='-cpu'");
  g.extra = qemu_args({"-cpu", "host"}, "qemu", "http://example.com/other");
  expect_none(g, "L025");
  // Contradictions run (the last -cpu wins): warnings. One argument holding
  // "-cpu host,..." is an option QEMU does not know: an error.
  g = windows();
  g.features =
      "<features><acpi/><apic/>\n<hyperv mode='custom'><relaxed state='on'/><vapic state='on'/>"
      "<spinlocks state='on' retries='8191'/><vpindex state='on'/><synic state='on'/><stimer state='on'/>"
      "<vendor_id state='on' value='vfioctlguest'/></hyperv>\n<kvm><hidden state='on'/></kvm>\n"
      "<smm state='on'/></features>";
  g.extra = qemu_args({"-cpu", "host,kvm=on"});
  expect_finding(g, "L025", "value='-cpu'");
  f = only(lint(g.xml()), "L025")[0].finding;
  EXPECT_EQ(f.severity, Severity::warn);
  EXPECT_NE(f.message.find("kvm=on shows KVM to the guest"), std::string::npos) << f.message;
  g.extra = qemu_args({"-cpu host,kvm=on"});
  EXPECT_EQ(only(lint(g.xml()), "L025")[0].finding.severity, Severity::fail);
  g.extra = qemu_args({"-cpu", "host,hv_vendor_id=one,hv_vendor_id=two"});
  f = only(lint(g.xml()), "L025")[0].finding;
  EXPECT_EQ(f.severity, Severity::warn);
  EXPECT_NE(f.message.find("QEMU takes the last, 'two'"), std::string::npos) << f.message;
  g.extra = qemu_args({"-cpu", "Skylake-Client,kvm=off,hv_vendor_id=vfioctlguest"});
  f = only(lint(g.xml()), "L025")[0].finding;
  EXPECT_NE(f.message.find("CPU model 'Skylake-Client' differs from <cpu mode='host-passthrough'>"), std::string::npos)
      << f.message;
  // Option and value in one argument: QEMU refuses it.
  g.extra = qemu_args({"-cpu host,kvm=off"});
  expect_finding(g, "L025", "value='-cpu host");
  f = only(lint(g.xml()), "L025")[0].finding;
  EXPECT_EQ(f.severity, Severity::fail);
  EXPECT_NE(f.message.find("is one <qemu:arg>"), std::string::npos) << f.message;
  // Agreeing with the XML: still replaced, so a warning.
  g.extra = qemu_args({"-cpu", "host,kvm=off,hv_vendor_id=vfioctlguest"});
  EXPECT_EQ(only(lint(g.xml()), "L025")[0].finding.severity, Severity::warn);
  g.extra = qemu_args({"-smp", "4"});
  expect_none(g, "L025");
  expect_none(windows(), "L025");
}

// L026
TEST(LintRules, L026TopoextOnIntel) {
  Guest g;
  g.hostdevs = "";  // not judged on passthrough
  g.cpu =
      "<cpu mode='custom' match='exact'>\n<model fallback='forbid'>Skylake-Client</model>\n"
      "<topology sockets='1' dies='1' cores='2' threads='2'/>\n<feature policy='require' name='topoext'/>\n</cpu>";
  expect_finding(g, "L026", "name='topoext'");
  g.cpu =
      "<cpu mode='custom' match='exact'>\n<model fallback='forbid'>EPYC-Rome</model>\n"
      "<topology sockets='1' dies='1' cores='2' threads='2'/>\n<feature policy='require' name='topoext'/>\n</cpu>";
  expect_none(g, "L026");
  g.cpu =
      "<cpu mode='custom' match='exact'>\n<model>qemu64</model>\n<vendor>Intel</vendor>\n"
      "<topology sockets='1' dies='1' cores='2' threads='2'/>\n<feature policy='force' name='topoext'/>\n</cpu>";
  expect_finding(g, "L026", "name='topoext'");
  // host-passthrough: judged only against a known host.
  g = Guest();
  g.cpu =
      "<cpu mode='host-passthrough' check='none'><topology sockets='1' dies='1' cores='2' threads='2'/>\n"
      "<feature policy='require' name='topoext'/>\n</cpu>";
  expect_none(g, "L026");
  expect_finding(g, "L026", "name='topoext'", &z370());
  EXPECT_NE(only(lint(g.xml(), &z370()), "L026")[0].finding.message.find("i5-9300H"), std::string::npos);
  expect_none(g, "L026", &ryzen());
  // Disabling it is fine anywhere.
  g.cpu =
      "<cpu mode='host-passthrough' check='none'><topology sockets='1' dies='1' cores='2' threads='2'/>\n"
      "<feature policy='disable' name='topoext'/>\n</cpu>";
  expect_none(g, "L026", &z370());
}

// L027
TEST(LintRules, L027RawVfioDevice) {
  Guest g;
  g.extra = qemu_args({"-device", "vfio-pci,host=0000:03:00.0,x-vga=on"});
  expect_finding(g, "L027", "value='-device'");
  auto f = only(lint(g.xml()), "L027")[0].finding;
  EXPECT_EQ(f.severity, Severity::warn);
  EXPECT_NE(f.fix.find("bus='0x03' slot='0x00' function='0x0'"), std::string::npos) << f.fix;
  // The same device as a <hostdev>: assigned twice.
  g.extra = qemu_args({"-device", "vfio-pci,host=01:00.0"});
  f = only(lint(g.xml()), "L027")[0].finding;
  EXPECT_EQ(f.severity, Severity::fail);
  EXPECT_NE(f.message.find("is a <hostdev> too"), std::string::npos) << f.message;
  g.extra = qemu_args({"-device", "driver=vfio-pci,sysfsdev=/sys/bus/pci/devices/0000:05:00.0"});
  expect_finding(g, "L027", "value='-device'");
  g.extra = qemu_args({"-device", "ich9-intel-hda,bus=pcie.0,addr=0x1b"});
  expect_none(g, "L027");
  expect_none(Guest(), "L027");
}

// L028
TEST(LintRules, L028IothreadCount) {
  Guest g;
  g.iothreads = "<iothreads>1</iothreads>\n<iothreadids><iothread id='1'/><iothread id='2'/></iothreadids>";
  expect_finding(g, "L028", "<iothreads>");
  EXPECT_EQ(only(lint(g.xml()), "L028")[0].finding.fix, "set <iothreads>2</iothreads>");
  g.iothreads = "<iothreads>3</iothreads>\n<iothreadids><iothread id='1'/></iothreadids>";
  expect_finding(g, "L028", "<iothreads>");
  auto f = only(lint(g.xml()), "L028")[0].finding;
  EXPECT_NE(f.message.find("libvirt adds iothreads 2-3"), std::string::npos) << f.message;
  EXPECT_TRUE(only(lint(g.xml()), "L005").empty());  // the references are L005's, and none is wrong
  g.iothreads = "<iothreads>2</iothreads>\n<iothreadids><iothread id='1'/><iothread id='2'/></iothreadids>";
  expect_none(g, "L028");
  g.iothreads = "<iothreadids><iothread id='1'/><iothread id='2'/></iothreadids>";
  expect_none(g, "L028");
  expect_none(Guest(), "L028");
}

TEST(LintRules, DisableAndMinSeverity) {
  Guest g;
  g.other_devices = "<memballoon model='virtio'/>";                                            // L009, warning
  g.cpu = "<cpu mode='host-passthrough'><topology sockets='1' cores='3' threads='2'/></cpu>";  // L006, error
  LintOptions opt;
  auto all = lint_text("t.xml", g.xml(), nullptr, opt).findings;
  EXPECT_EQ(only(all, "L009").size(), 1u);
  EXPECT_EQ(only(all, "L006").size(), 1u);
  opt.disabled = {"L009"};
  EXPECT_TRUE(only(lint_text("t.xml", g.xml(), nullptr, opt).findings, "L009").empty());
  opt.disabled = {};
  opt.min_severity = Severity::fail;
  auto errors = lint_text("t.xml", g.xml(), nullptr, opt).findings;
  ASSERT_EQ(errors.size(), 1u) << dump(errors);
  EXPECT_EQ(errors[0].finding.id, "L006");
}

TEST(LintRules, FindingsAreOrderedByLine) {
  Guest g = windows();
  g.other_devices = "<memballoon model='virtio'/>";
  g.clock = "<clock offset='utc'><timer name='hypervclock' present='yes'/></clock>";
  auto fs = lint(g.xml());
  ASSERT_GE(fs.size(), 3u);
  for (size_t i = 1; i < fs.size(); ++i) EXPECT_LE(fs[i - 1].line, fs[i].line);
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

// L030
TEST(LintRules, L030WindowsVcpusAsSockets) {
  Guest g = windows();
  g.cpu = "<cpu mode='host-passthrough' check='none'/>";
  expect_finding(g, "L030", "<vcpu");
  FixResult fixed = fix_text("t.xml", g.xml(), nullptr, {});
  EXPECT_NE(fixed.text.find("<topology sockets='1' dies='1' cores='4' threads='1'/>"), std::string::npos) << fixed.text;
  EXPECT_TRUE(only(fixed.report.findings, "L030").empty());
  g.cpu = "<cpu mode='host-passthrough'><topology sockets='4' dies='1' cores='1' threads='1'/></cpu>";
  expect_finding(g, "L030", "<topology");
  g.cpu = "<cpu mode='host-passthrough'><topology sockets='2' dies='1' cores='1' threads='2'/></cpu>";
  expect_none(g, "L030");
  expect_none(windows(), "L030");
  Guest linux_guest;  // Linux uses every socket
  linux_guest.cpu = "<cpu mode='host-passthrough' check='none'/>";
  expect_none(linux_guest, "L030");
  g = windows();
  g.cpu = "<cpu mode='host-passthrough' check='none'/>";
  g.vcpu = "<vcpu placement='static' current='2'>4</vcpu>";
  expect_none(g, "L030");  // two online
  g = windows();
  g.cpu = "<cpu mode='host-passthrough' check='none'/>";
  g.metadata =
      "<metadata><libosinfo:libosinfo xmlns:libosinfo='http://libosinfo.org/xmlns/libvirt/domain/1.0'>"
      "<libosinfo:os id='http://microsoft.com/win/2k19'/></libosinfo:libosinfo></metadata>";
  expect_none(g, "L030");  // Windows Server
}

// L031
TEST(LintRules, L031RomOnTheAudioFunction) {
  Guest g;
  g.hostdevs =
      "<hostdev mode='subsystem' type='pci' managed='yes'>\n"
      "<source><address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source>\n"
      "<rom file='/var/lib/libvirt/vbios/gpu.rom'/>\n"
      "<address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0' multifunction='on'/>\n"
      "</hostdev>\n"
      "<hostdev mode='subsystem' type='pci' managed='yes'>\n"
      "<source><address domain='0x0000' bus='0x01' slot='0x00' function='0x1'/></source>\n"
      "<rom file='/var/lib/libvirt/vbios/gpu.rom'/>\n"
      "<address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x1'/>\n"
      "</hostdev>";
  std::string xml = g.xml();
  auto fs = only(lint(xml), "L031");
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_EQ(fs[0].line, line_of(xml, "function='0x1'/></source>") + 1);
  FixResult fixed = fix_text("t.xml", xml, nullptr, {});
  EXPECT_TRUE(only(fixed.report.findings, "L031").empty());
  EXPECT_EQ(count(fixed.text, "<rom file="), 1u) << fixed.text;
  expect_none(Guest(), "L031");
}

// L032
TEST(LintRules, L032NvramInTheTemplate) {
  Guest g;
  g.os =
      "<os><type arch='x86_64' machine='q35'>hvm</type>\n"
      "<loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader>\n"
      "<nvram>/usr/share/OVMF/OVMF_VARS_4M.fd</nvram>\n</os>";
  expect_finding(g, "L032", "<nvram>");
  FixResult fixed = fix_text("t.xml", g.xml(), nullptr, {});
  EXPECT_NE(fixed.text.find("<nvram template='/usr/share/OVMF/OVMF_VARS_4M.fd'>/var/lib/libvirt/qemu/nvram/t_VARS.fd"
                            "</nvram>"),
            std::string::npos)
      << fixed.text;
  EXPECT_TRUE(only(fixed.report.findings, "L032").empty());
  g.os =
      "<os><type arch='x86_64' machine='q35'>hvm</type>\n"
      "<nvram template='/usr/share/OVMF/OVMF_VARS_4M.fd'>/var/lib/libvirt/qemu/nvram/t_VARS.fd</nvram>\n</os>";
  expect_none(g, "L032");
}

// L033
TEST(LintRules, L033IothreadsNothingUses) {
  Guest g;
  g.disks =
      "<disk type='block' device='disk'><driver name='qemu' type='raw' cache='none' io='native'/>"
      "<source dev='/dev/sdb'/><target dev='vda' bus='virtio'/></disk>";
  expect_finding(g, "L033", "<iothreads>");
  auto fs = only(lint(g.xml()), "L033");
  EXPECT_NE(fs[0].finding.message.find("iothread 1 declared and unused while disk vda runs its I/O"), std::string::npos)
      << fs[0].finding.message;
  // A virtio-scsi controller without one.
  g.disks =
      "<controller type='scsi' index='0' model='virtio-scsi'/>\n<disk type='block' device='disk'>"
      "<source dev='/dev/sdb'/><target dev='sda' bus='scsi'/></disk>";
  expect_finding(g, "L033", "<iothreads>");
  g.disks =
      "<controller type='scsi' index='0' model='virtio-scsi'><driver iothread='1'/></controller>\n"
      "<disk type='block' device='disk'><source dev='/dev/sdb'/><target dev='sda' bus='scsi'/></disk>";
  expect_none(g, "L033");
  // Idle, with nothing that could use it (SATA only, or no disk): silent.
  g.disks = "<disk type='block' device='disk'><source dev='/dev/sdb'/><target dev='sda' bus='sata'/></disk>";
  expect_none(g, "L033");
  g.disks = "";
  expect_none(g, "L033");
  // Two declared, one used, the other disk without: the idle one is named.
  g = Guest();
  g.iothreads = "<iothreads>2</iothreads>";
  g.disks +=
      "\n<disk type='block' device='disk'><driver name='qemu' type='raw'/><source dev='/dev/sdc'/>"
      "<target dev='vdb' bus='virtio'/></disk>";
  fs = only(lint(g.xml()), "L033");
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_NE(fs[0].finding.message.find("iothread 2 declared and unused while disk vdb"), std::string::npos)
      << fs[0].finding.message;
  expect_none(Guest(), "L033");
}

// L034
TEST(LintRules, L034NicModelByQemuName) {
  Guest g;
  g.other_devices =
      "<memballoon model='none'/>\n<interface type='network'><source network='default'/>\n"
      "<model type='virtio-net-pci'/>\n</interface>";
  expect_finding(g, "L034", "<model type='virtio-net-pci'");
  FixResult fixed = fix_text("t.xml", g.xml(), nullptr, {});
  EXPECT_NE(fixed.text.find("<model type='virtio'/>"), std::string::npos);
  g.other_devices =
      "<memballoon model='none'/>\n<interface type='network'><source network='default'/>"
      "<model type='virtio'/></interface>";
  expect_none(g, "L034");
}

// L035
TEST(LintRules, L035InstallerIsoAsAWritableDisk) {
  Guest g;
  g.disks +=
      "\n<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
      "<source file='/srv/iso/Win11_23H2.iso'/><target dev='sda' bus='sata'/></disk>";
  expect_finding(g, "L035", "<disk type='file' device='disk'>");
  FixResult fixed = fix_text("t.xml", g.xml(), nullptr, {});
  EXPECT_TRUE(only(fixed.report.findings, "L035").empty()) << fixed.text;
  EXPECT_NE(fixed.text.find("device='cdrom'"), std::string::npos);
  EXPECT_NE(fixed.text.find("<readonly/>"), std::string::npos) << fixed.text;
  g = Guest();
  g.disks +=
      "\n<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
      "<source file='/srv/iso/a.iso'/><target dev='vdb' bus='virtio'/></disk>";
  auto fs = only(lint(g.xml()), "L035");
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_TRUE(fs[0].edits.empty()) << "no CD-ROM on virtio: not fixed";
  g = Guest();
  g.disks +=
      "\n<disk type='file' device='cdrom'><source file='/srv/iso/a.iso'/><target dev='sda' bus='sata'/>"
      "<readonly/></disk>";
  expect_none(g, "L035");
}

// L036
TEST(LintRules, L036ConsoleOpenToTheNetwork) {
  Guest g;
  g.other_devices = "<memballoon model='none'/>\n<graphics type='vnc' port='-1' autoport='yes' listen='0.0.0.0'/>";
  expect_finding(g, "L036", "<graphics");
  g.other_devices =
      "<memballoon model='none'/>\n<graphics type='spice' autoport='yes'>\n"
      "<listen type='address' address='192.168.1.10'/></graphics>";
  expect_finding(g, "L036", "<graphics");
  for (const char* ok :
       {"<graphics type='vnc' port='-1' listen='0.0.0.0' passwd='s3cret'/>",
        "<graphics type='vnc' listen='127.0.0.1'/>",
        "<graphics type='spice' autoport='yes'><listen type='address'/></graphics>",
        "<graphics type='spice'><listen type='socket'/></graphics>", "<graphics type='vnc' port='-1'/>"}) {
    g.other_devices = std::string("<memballoon model='none'/>\n") + ok;
    SCOPED_TRACE(ok);
    expect_none(g, "L036");
  }
}

// L037
TEST(LintRules, L037MalformedUuid) {
  Guest g;
  g.metadata = "<uuid>3d1f0c1a-8e2b-4c3a-9f00-12ab34cd56e</uuid>";
  expect_finding(g, "L037", "<uuid>");
  EXPECT_EQ(only(lint(g.xml()), "L037")[0].finding.severity, Severity::fail);
  g.metadata = "<uuid>3d1f0c1a-8e2b-4c3a-9f00-12ab34cd56ef</uuid>";
  expect_none(g, "L037");
  g.metadata = "<uuid>3d1f0c1a8e2b4c3a9f0012ab34cd56ef</uuid>";
  expect_none(g, "L037");
  g.metadata = "<uuid>3d1f0c1a-8e2b-4c3a-9f00-12ab34cd56ez</uuid>";
  expect_finding(g, "L037", "<uuid>");
}

// L038, L039
TEST(LintRules, L038SysinfoNeedsItsSmbiosModeAndL039ItsDateFormat) {
  Guest g;
  g.extra =
      "<sysinfo type='smbios'>\n<bios><entry name='vendor'>American Megatrends Inc.</entry>\n"
      "<entry name='date'>2023-03-14</entry></bios>\n</sysinfo>";
  expect_finding(g, "L038", "<sysinfo");
  expect_finding(g, "L039", "<entry name='date'>");
  EXPECT_EQ(only(lint(g.xml()), "L039")[0].finding.severity, Severity::fail);
  FixResult fixed = fix_text("t.xml", g.xml(), nullptr, {});
  EXPECT_NE(fixed.text.find("<smbios mode='sysinfo'/>"), std::string::npos) << fixed.text;
  EXPECT_TRUE(only(fixed.report.findings, "L038").empty());
  g.os = "<os firmware='efi'><type arch='x86_64' machine='q35'>hvm</type><smbios mode='sysinfo'/></os>";
  expect_none(g, "L038");
  for (const char* date : {"03/14/2023", "03/14/23", "12/31/1999"}) {
    g.extra = std::string("<sysinfo type='smbios'><bios><entry name='date'>") + date + "</entry></bios></sysinfo>";
    expect_none(g, "L039");
  }
  for (const char* date : {"3/14/2023", "13/01/2023", "03/14/1899", "03-14-2023"}) {
    g.extra = std::string("<sysinfo type='smbios'><bios><entry name='date'>") + date + "</entry></bios></sysinfo>";
    SCOPED_TRACE(date);
    EXPECT_EQ(only(lint(g.xml()), "L039").size(), 1u);
  }
}

// L040
TEST(LintRules, L040StrayQemuArgument) {
  Guest g;
  auto args = [](const std::string& inner) {
    return "<qemu:commandline xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>\n" + inner +
           "\n</qemu:commandline>";
  };
  g.extra = args("<qemu:arg value='none'/>\n<qemu:arg value='-rtc'/><qemu:arg value='base=localtime'/>");
  expect_finding(g, "L040", "<qemu:arg value='none'/>");
  EXPECT_EQ(only(lint(g.xml()), "L040")[0].finding.severity, Severity::fail);
  for (const char* ok : {"<qemu:arg value='-S'/><qemu:arg value='-device'/><qemu:arg value='ich9-intel-hda'/>",
                         "<qemu:arg value='-no-hpet'/><qemu:arg value='-smbios'/><qemu:arg value='type=0'/>",
                         "<qemu:arg value='-cpu host,kvm=off'/><qemu:arg value='-global'/><qemu:arg value='x.y=1'/>",
                         "<qemu:arg value='--device'/><qemu:arg value='isa-applesmc,osk=x'/>"}) {
    g.extra = args(ok);
    SCOPED_TRACE(ok);
    expect_none(g, "L040");
  }
  g.extra = args("<qemu:arg value='-nodefaults'/><qemu:arg value='stray'/>");
  expect_finding(g, "L040", "stray");
}

}  // namespace
}  // namespace vfioctl::lint
