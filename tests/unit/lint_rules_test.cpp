// Every lint rule on small inline guests: one that trips it (and where), one
// that does not. The base guests are clean; each test changes one part.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "fixture_hosts.h"
#include "vfioctl/lint/lint.h"

namespace vfioctl::lint {
namespace {

// A clean passthrough guest, one part per line range; tests replace parts.
struct Guest {
  std::string metadata;
  std::string memory = "<memory unit='KiB'>8388608</memory>";
  std::string backing = "<memoryBacking><hugepages/></memoryBacking>";
  std::string vcpu = "<vcpu placement='static'>4</vcpu>";
  std::string iothreads = "<iothreads>1</iothreads>";
  std::string cputune =
      "<cputune>\n"
      "<vcpupin vcpu='0' cpuset='1'/>\n"
      "<vcpupin vcpu='1' cpuset='5'/>\n"
      "<vcpupin vcpu='2' cpuset='2'/>\n"
      "<vcpupin vcpu='3' cpuset='6'/>\n"
      "<emulatorpin cpuset='3,7'/>\n"
      "<iothreadpin iothread='1' cpuset='3,7'/>\n"
      "</cputune>";
  std::string os = "<os firmware='efi'><type arch='x86_64' machine='q35'>hvm</type></os>";
  std::string features = "<features><acpi/><apic/><smm state='on'/></features>";
  std::string cpu = "<cpu mode='host-passthrough' check='none'><topology sockets='1' dies='1' cores='2' threads='2'/></cpu>";
  std::string clock = "<clock offset='utc'><timer name='hpet' present='no'/></clock>";
  std::string pm = "<pm><suspend-to-mem enabled='no'/><suspend-to-disk enabled='no'/></pm>";
  std::string disks =
      "<disk type='block' device='disk'><driver name='qemu' type='raw' cache='none' io='native' iothread='1' "
      "queues='4'/><source dev='/dev/sdb'/><target dev='vda' bus='virtio'/></disk>";
  std::string hostdevs =
      "<hostdev mode='subsystem' type='pci' managed='yes'>\n"
      "<source><address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source>\n"
      "<address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0' multifunction='on'/>\n"
      "</hostdev>\n"
      "<hostdev mode='subsystem' type='pci' managed='yes'>\n"
      "<source><address domain='0x0000' bus='0x01' slot='0x00' function='0x1'/></source>\n"
      "<address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x1'/>\n"
      "</hostdev>";
  std::string other_devices = "<memballoon model='none'/>";
  std::string extra;  // appended inside <domain>

  std::string xml() const {
    return "<domain type='kvm'>\n<name>t</name>\n" + metadata + "\n" + memory + "\n" + backing + "\n" + vcpu + "\n" +
           iothreads + "\n" + cputune + "\n" + os + "\n" + features + "\n" + cpu + "\n" + clock + "\n" + pm +
           "\n<devices>\n" + disks + "\n" + hostdevs + "\n" + other_devices + "\n</devices>\n" + extra + "\n</domain>\n";
  }
};

// A Windows guest with everything the Windows rules want.
Guest windows() {
  Guest g;
  g.metadata =
      "<metadata><libosinfo:libosinfo xmlns:libosinfo='http://libosinfo.org/xmlns/libvirt/domain/1.0'>"
      "<libosinfo:os id='http://microsoft.com/win/11'/></libosinfo:libosinfo></metadata>";
  g.features =
      "<features><acpi/><apic/>\n"
      "<hyperv mode='custom'>\n"
      "<relaxed state='on'/><vapic state='on'/><spinlocks state='on' retries='8191'/>\n"
      "<vpindex state='on'/><synic state='on'/><stimer state='on'/>\n"
      "<vendor_id state='on' value='vfioctlguest'/>\n"
      "</hyperv>\n"
      "<smm state='on'/></features>";
  g.clock =
      "<clock offset='localtime'>\n<timer name='hpet' present='no'/>\n<timer name='hypervclock' present='yes'/>\n"
      "</clock>";
  return g;
}

// A Windows guest whose Hyper-V set has this vendor_id and spinlocks element.
Guest windows_with(const std::string& vendor_id, const std::string& spinlocks) {
  Guest g = windows();
  g.features =
      "<features><hyperv mode='custom'>\n<relaxed state='on'/><vapic state='on'/>\n" + spinlocks +
      "\n<vpindex state='on'/><synic state='on'/><stimer state='on'/>\n" + vendor_id +
      "\n</hyperv><smm state='on'/></features>";
  return g;
}

const char* kSpinlocks = "<spinlocks state='on' retries='8191'/>";
const char* kLongVendorId = "<vendor_id state='on' value='thirteenchars'/>";

std::vector<LintFinding> lint(const std::string& xml, const Host* host = nullptr) {
  FileReport r = lint_text("t.xml", xml, host, {});
  EXPECT_TRUE(r.ok) << r.error << " at line " << r.error_line << "\n" << xml;
  return r.findings;
}

std::vector<LintFinding> only(const std::vector<LintFinding>& all, const std::string& id) {
  std::vector<LintFinding> out;
  std::copy_if(all.begin(), all.end(), std::back_inserter(out), [&](const auto& f) { return f.finding.id == id; });
  return out;
}

std::string dump(const std::vector<LintFinding>& fs) {
  std::string s;
  for (const auto& f : fs) s += f.finding.where + " " + f.finding.id + " " + f.finding.message + "\n";
  return s;
}

// Line of the first line of `xml` containing `text`.
int line_of(const std::string& xml, const std::string& text) {
  size_t at = xml.find(text);
  if (at == std::string::npos) return -1;
  return 1 + static_cast<int>(std::count(xml.begin(), xml.begin() + static_cast<long>(at), '\n'));
}

// Expects exactly `n` findings of `id`, the first at the line holding `at`.
void expect_finding(const Guest& g, const std::string& id, const std::string& at, const Host* host = nullptr,
                    size_t n = 1) {
  std::string xml = g.xml();
  auto all = lint(xml, host);
  auto fs = only(all, id);
  ASSERT_EQ(fs.size(), n) << id << "\n" << dump(all) << xml;
  EXPECT_EQ(fs[0].line, line_of(xml, at)) << fs[0].finding.message;
  EXPECT_FALSE(fs[0].finding.message.empty());
  EXPECT_FALSE(fs[0].finding.why.empty());
  EXPECT_FALSE(fs[0].finding.fix.empty());
  EXPECT_EQ(fs[0].finding.where, "t.xml:" + std::to_string(fs[0].line));
}

void expect_none(const Guest& g, const std::string& id, const Host* host = nullptr) {
  auto all = lint(g.xml(), host);
  EXPECT_TRUE(only(all, id).empty()) << dump(all);
}

using test::fixture_host;

const Host& z370() { return fixture_host("intel-desktop-z370"); }
const Host& ryzen() { return fixture_host("amd-ryzen9-3900x"); }

// A <cputune> pinning vCPUs 0.. to `cpus` in order, the emulator and the
// iothread to `rest`.
std::string pins(const std::vector<int>& cpus, const std::string& rest) {
  std::string s = "<cputune>\n";
  for (size_t i = 0; i < cpus.size(); ++i) s += fmt::format("<vcpupin vcpu='{}' cpuset='{}'/>\n", i, cpus[i]);
  return s + "<emulatorpin cpuset='" + rest + "'/>\n<iothreadpin iothread='1' cpuset='" + rest + "'/>\n</cputune>";
}

const char* kQemuNs = "http://libvirt.org/schemas/domain/qemu/1.0";

// <qemu:commandline> (prefix `prefix`) with these arguments, one <arg> each.
std::string qemu_args(const std::vector<std::string>& args, const std::string& prefix = "qemu",
                      const std::string& ns = kQemuNs) {
  std::string s = "<" + prefix + ":commandline xmlns:" + prefix + "='" + ns + "'>\n";
  for (const auto& a : args) s += "<" + prefix + ":arg value='" + a + "'/>\n";
  return s + "</" + prefix + ":commandline>";
}

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
  g.cputune = "<cputune>\n<vcpupin vcpu='0' cpuset='1'/>\n<vcpupin vcpu='1' cpuset='5'/>\n"
              "<vcpupin vcpu='2' cpuset='2'/>\n<vcpupin vcpu='3' cpuset='6'/>\n<vcpupin vcpu='4' cpuset='7'/>\n"
              "<emulatorpin cpuset='3'/>\n<iothreadpin iothread='1' cpuset='3'/>\n</cputune>";
  expect_finding(g, "L001", "vcpu='4'");
  g.cputune = "<cputune>\n<vcpupin vcpu='0' cpuset='1'/>\n<vcpupin vcpu='1' cpuset='5'/>\n"
              "<vcpupin vcpu='2' cpuset='2'/>\n<vcpupin vcpu='3' cpuset='6'/>\n<vcpupin vcpu='2' cpuset='7'/>\n"
              "<emulatorpin cpuset='3'/>\n<iothreadpin iothread='1' cpuset='3'/>\n</cputune>";
  expect_finding(g, "L001", "vcpu='2' cpuset='7'");
  expect_none(Guest(), "L001");
}

// L002
TEST(LintRules, L002EmulatorOrIothreadOnVcpuCpus) {
  Guest g;
  g.cputune = "<cputune>\n<vcpupin vcpu='0' cpuset='0'/>\n<vcpupin vcpu='1' cpuset='1'/>\n"
              "<vcpupin vcpu='2' cpuset='2'/>\n<vcpupin vcpu='3' cpuset='3'/>\n<emulatorpin cpuset='0-3'/>\n"
              "<iothreadpin iothread='1' cpuset='4'/>\n</cputune>";
  expect_finding(g, "L002", "emulatorpin");
  auto fs = only(lint(g.xml()), "L002");
  EXPECT_EQ(fs[0].finding.message, "emulatorpin 0-3 overlaps vCPUs 0-3 (host CPUs 0-3)");
  // With the host known, the fix names its free CPUs.
  fs = only(lint(g.xml(), &z370()), "L002");
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_NE(fs[0].finding.fix.find("on this host: 4-7"), std::string::npos) << fs[0].finding.fix;

  g.cputune = "<cputune>\n<vcpupin vcpu='0' cpuset='1'/>\n<vcpupin vcpu='1' cpuset='5'/>\n"
              "<vcpupin vcpu='2' cpuset='2'/>\n<vcpupin vcpu='3' cpuset='6'/>\n<emulatorpin cpuset='3'/>\n"
              "<iothreadpin iothread='1' cpuset='6-7'/>\n</cputune>";
  expect_finding(g, "L002", "iothreadpin");
  // Pinned vCPUs, no emulatorpin: the emulator floats over them.
  g.cputune = "<cputune>\n<vcpupin vcpu='0' cpuset='1'/>\n<vcpupin vcpu='1' cpuset='5'/>\n"
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
}

// L004
TEST(LintRules, L004TwoVcpusOneHostCpu) {
  Guest g;
  g.cputune = "<cputune>\n<vcpupin vcpu='0' cpuset='1'/>\n<vcpupin vcpu='1' cpuset='5'/>\n"
              "<vcpupin vcpu='2' cpuset='2'/>\n<vcpupin vcpu='3' cpuset='5'/>\n<emulatorpin cpuset='3'/>\n"
              "<iothreadpin iothread='1' cpuset='3'/>\n</cputune>";
  expect_finding(g, "L004", "vcpu='3'");
  expect_none(Guest(), "L004");
}

// L005
TEST(LintRules, L005UndeclaredIothread) {
  Guest g;
  g.cputune = "<cputune>\n<vcpupin vcpu='0' cpuset='1'/>\n<vcpupin vcpu='1' cpuset='5'/>\n"
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
  g.disks = "<disk type='block' device='disk'>\n<driver name='qemu' type='raw' io='native'/>\n"
            "<target dev='vda' bus='virtio'/></disk>";
  expect_finding(g, "L007", "io='native'");
  g.disks = "<disk type='block' device='disk'>\n<driver name='qemu' type='raw' io='native' cache='writeback'/>\n"
            "<target dev='vda' bus='virtio'/></disk>";
  expect_finding(g, "L007", "io='native'");
  g.disks = "<disk type='block' device='disk'>\n<driver name='qemu' type='raw' io='native' cache='directsync'/>\n"
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
  g = windows();
  g.clock = "<clock offset='localtime'><timer name='hpet' present='no'/></clock>";
  expect_finding(g, "L014", "<hyperv");
  g = windows();
  g.features = "<features><acpi/><apic/>\n<hyperv mode='passthrough'/>\n<smm state='on'/></features>";
  expect_none(g, "L014");
  expect_none(windows(), "L014");
  expect_none(Guest(), "L014");  // not Windows
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
  g.clock = "<clock offset='localtime'>\n<timer name='hpet' present='yes'/>\n"
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
  g.features = "<features><acpi/><apic/><smm state='on'/></features>\n<hyperv mode='custom'><relaxed state='on'/></hyperv>";
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
  g.cputune = "<cputune>\n<vcpupin vcpu='0' cpuset='1'/>\n<vcpupin vcpu='1' cpuset='5'/>\n"
              "<vcpupin vcpu='2' cpuset='2'/>\n<vcpupin vcpu='3' cpuset='6'/>\n<emulatorpin cpuset='3,7'/>\n"
              "<emulatorpin cpuset='0'/>\n<iothreadpin iothread='1' cpuset='3,7'/>\n</cputune>";
  expect_finding(g, "L020", "<emulatorpin cpuset='0'/>");
  g = windows();
  g.clock = "<clock offset='localtime'><timer name='hpet' present='no'/>\n<timer name='hpet' present='yes'/>"
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
}

// L022
TEST(LintRules, L022SuspendWithHostdev) {
  Guest g;
  g.pm = "<pm>\n<suspend-to-mem enabled='yes'/>\n<suspend-to-disk enabled='yes'/>\n</pm>";
  expect_finding(g, "L022", "suspend-to-mem", nullptr, 2);
  g.hostdevs = "";
  expect_none(g, "L022");
  expect_none(Guest(), "L022");
}

// L023
TEST(LintRules, L023LookingGlassSize) {
  Guest g;
  g.other_devices = "<memballoon model='none'/>\n<shmem name='looking-glass'><model type='ivshmem-plain'/>\n"
                    "<size unit='M'>48</size>\n</shmem>";
  expect_finding(g, "L023", "<size");
  EXPECT_EQ(only(lint(g.xml()), "L023")[0].finding.severity, Severity::fail);
  EXPECT_NE(only(lint(g.xml()), "L023")[0].finding.fix.find(">64<"), std::string::npos);
  g.other_devices = "<memballoon model='none'/>\n<shmem name='looking-glass'><model type='ivshmem-plain'/>\n"
                    "<size unit='M'>16</size>\n</shmem>";
  expect_finding(g, "L023", "<size");
  EXPECT_EQ(only(lint(g.xml()), "L023")[0].finding.severity, Severity::warn);
  g.other_devices = "<memballoon model='none'/>\n<shmem name='looking-glass'><model type='ivshmem-plain'/>\n"
                    "<size unit='M'>32</size>\n</shmem>";
  expect_none(g, "L023");
  g.other_devices = "<memballoon model='none'/>\n<shmem name='other'><size unit='M'>3</size></shmem>";
  expect_none(g, "L023");  // not Looking Glass
}

// L024
TEST(LintRules, L024SecureBootWithoutSmm) {
  Guest g;
  g.os = "<os>\n<type arch='x86_64' machine='q35'>hvm</type>\n"
         "<loader readonly='yes' secure='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.secboot.fd</loader>\n</os>";
  g.features = "<features><acpi/><apic/></features>";
  expect_finding(g, "L024", "<loader");
  g.features = "<features><acpi/><apic/><smm state='off'/></features>";
  expect_finding(g, "L024", "<loader");
  g.features = "<features><acpi/><apic/><smm state='on'/></features>";
  expect_none(g, "L024");
  // Firmware autoselection asking for Secure Boot.
  g = Guest();
  g.os = "<os firmware='efi'><type arch='x86_64' machine='q35'>hvm</type>\n<firmware>\n"
         "<feature enabled='yes' name='secure-boot'/>\n</firmware></os>";
  g.features = "<features><acpi/><apic/>\n<smm state='off'/>\n</features>";
  expect_finding(g, "L024", "<smm");
  g.features = "<features><acpi/><apic/></features>";
  expect_finding(g, "L024", "name='secure-boot'");
  // A Secure Boot build of OVMF loaded without secure='yes'.
  g = Guest();
  g.os = "<os>\n<type arch='x86_64' machine='q35'>hvm</type>\n"
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
  // Contradictions are errors.
  g = windows();
  g.features = "<features><acpi/><apic/>\n<hyperv mode='custom'><relaxed state='on'/><vapic state='on'/>"
               "<spinlocks state='on' retries='8191'/><vpindex state='on'/><synic state='on'/><stimer state='on'/>"
               "<vendor_id state='on' value='vfioctlguest'/></hyperv>\n<kvm><hidden state='on'/></kvm>\n"
               "<smm state='on'/></features>";
  g.extra = qemu_args({"-cpu", "host,kvm=on"});
  expect_finding(g, "L025", "value='-cpu'");
  f = only(lint(g.xml()), "L025")[0].finding;
  EXPECT_EQ(f.severity, Severity::fail);
  EXPECT_NE(f.message.find("kvm=on shows KVM to the guest"), std::string::npos) << f.message;
  g.extra = qemu_args({"-cpu", "host,hv_vendor_id=one,hv_vendor_id=two"});
  f = only(lint(g.xml()), "L025")[0].finding;
  EXPECT_EQ(f.severity, Severity::fail);
  EXPECT_NE(f.message.find("QEMU takes the last, 'two'"), std::string::npos) << f.message;
  g.extra = qemu_args({"-cpu", "Skylake-Client,kvm=off,hv_vendor_id=vfioctlguest"});
  f = only(lint(g.xml()), "L025")[0].finding;
  EXPECT_NE(f.message.find("CPU model 'Skylake-Client' differs from <cpu mode='host-passthrough'>"),
            std::string::npos)
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
  g.cpu = "<cpu mode='custom' match='exact'>\n<model fallback='forbid'>Skylake-Client</model>\n"
          "<topology sockets='1' dies='1' cores='2' threads='2'/>\n<feature policy='require' name='topoext'/>\n</cpu>";
  expect_finding(g, "L026", "name='topoext'");
  g.cpu = "<cpu mode='custom' match='exact'>\n<model fallback='forbid'>EPYC-Rome</model>\n"
          "<topology sockets='1' dies='1' cores='2' threads='2'/>\n<feature policy='require' name='topoext'/>\n</cpu>";
  expect_none(g, "L026");
  g.cpu = "<cpu mode='custom' match='exact'>\n<model>qemu64</model>\n<vendor>Intel</vendor>\n"
          "<topology sockets='1' dies='1' cores='2' threads='2'/>\n<feature policy='force' name='topoext'/>\n</cpu>";
  expect_finding(g, "L026", "name='topoext'");
  // host-passthrough: judged only against a known host.
  g = Guest();
  g.cpu = "<cpu mode='host-passthrough' check='none'><topology sockets='1' dies='1' cores='2' threads='2'/>\n"
          "<feature policy='require' name='topoext'/>\n</cpu>";
  expect_none(g, "L026");
  expect_finding(g, "L026", "name='topoext'", &z370());
  EXPECT_NE(only(lint(g.xml(), &z370()), "L026")[0].finding.message.find("i5-9300H"), std::string::npos);
  expect_none(g, "L026", &ryzen());
  // Disabling it is fine anywhere.
  g.cpu = "<cpu mode='host-passthrough' check='none'><topology sockets='1' dies='1' cores='2' threads='2'/>\n"
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

// L101
TEST(LintRules, L101PinnedCpuMissing) {
  Guest g;
  g.cputune = "<cputune>\n<vcpupin vcpu='0' cpuset='1'/>\n<vcpupin vcpu='1' cpuset='5'/>\n"
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
  g.cputune = "<cputune>\n<vcpupin vcpu='0' cpuset='1'/>\n<vcpupin vcpu='1' cpuset='2'/>\n"
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
  g.cputune = "<cputune>\n<vcpupin vcpu='0' cpuset='1'/>\n<vcpupin vcpu='1' cpuset='13'/>\n"
              "<vcpupin vcpu='2' cpuset='0'/>\n<vcpupin vcpu='3' cpuset='12'/>\n<emulatorpin cpuset='2,14'/>\n"
              "<iothreadpin iothread='1' cpuset='2,14'/>\n</cputune>";
  expect_finding(g, "L103", "vcpu='2'", &ryzen());
  EXPECT_NE(only(lint(g.xml(), &ryzen()), "L103")[0].finding.message.find("(CPU 0 and its siblings, 0,12)"),
            std::string::npos);
  g.cputune = "<cputune>\n<vcpupin vcpu='0' cpuset='1'/>\n<vcpupin vcpu='1' cpuset='13'/>\n"
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
  EXPECT_NE(only(lint(g.xml(), &z370()), "L104")[0].finding.message.find("01:00.1 (snd_hda_intel)"),
            std::string::npos);
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
  EXPECT_NE(only(lint(g.xml(), &ryzen()), "L110")[0].finding.fix.find("hugepagesz=1G hugepages=16"),
            std::string::npos);
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

// --fix, rule by rule: the finding is fixed, and the text changes exactly as
// `changes` says (each `from` replaced by its `to`, once), nothing else.
using Changes = std::vector<std::pair<std::string, std::string>>;

std::string changed(std::string xml, const Changes& changes) {
  for (const auto& [from, to] : changes) {
    size_t at = xml.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) xml.replace(at, from.size(), to);
  }
  return xml;
}

void expect_fixed(const Guest& g, const std::string& id, const Changes& changes, const Host* host = nullptr) {
  std::string xml = g.xml();
  auto before = only(lint(xml, host), id);
  ASSERT_FALSE(before.empty()) << id << "\n" << xml;
  for (const auto& f : before) EXPECT_TRUE(f.fixable()) << f.finding.message;
  FixResult r = fix_text("t.xml", xml, host, {});
  ASSERT_TRUE(r.report.ok) << r.report.error << "\n" << r.text;
  EXPECT_EQ(r.text, changed(xml, changes));
  EXPECT_EQ(std::count(r.fixed.begin(), r.fixed.end(), id), static_cast<long>(before.size())) << id;
  EXPECT_TRUE(only(r.report.findings, id).empty()) << dump(r.report.findings);
  // Fixed once is fixed: a second pass changes nothing.
  FixResult again = fix_text("t.xml", r.text, host, {});
  EXPECT_EQ(again.text, r.text);
  EXPECT_TRUE(again.fixed.empty());
}

// Findings of `id` that --fix leaves alone.
void expect_unfixable(const Guest& g, const std::string& id) {
  auto fs = only(lint(g.xml()), id);
  ASSERT_FALSE(fs.empty()) << id;
  for (const auto& f : fs) EXPECT_FALSE(f.fixable()) << f.finding.message;
}

TEST(LintFix, OnlyFixableRulesCarryEdits) {
  std::set<std::string> fixable;
  for (const auto& r : rules()) {
    if (r.fixable) fixable.insert(std::string(r.id));
  }
  EXPECT_EQ(fixable, (std::set<std::string>{"L001", "L007", "L008", "L009", "L012", "L013", "L014", "L015", "L016",
                                            "L017", "L018", "L019", "L022", "L023", "L024", "L028"}));
  // docs/rules.md says which, in the rule's section.
  std::ifstream f(std::string(VFIOCTL_SOURCE_DIR) + "/docs/rules.md");
  std::stringstream ss;
  ss << f.rdbuf();
  std::string doc = ss.str();
  for (const auto& r : rules()) {
    size_t at = doc.find("\n### " + std::string(r.id) + " ");
    ASSERT_NE(at, std::string::npos) << r.id;
    std::string section = doc.substr(at, doc.find("\n### ", at + 1) - at);
    EXPECT_EQ(section.find("`--fix`") != std::string::npos, r.fixable) << r.id;
  }
}

TEST(LintFix, L001DropsPinsBeyondTheCountAndExactCopies) {
  Guest g;
  g.cputune = "<cputune>\n<vcpupin vcpu='0' cpuset='1'/>\n<vcpupin vcpu='1' cpuset='5'/>\n"
              "<vcpupin vcpu='2' cpuset='2'/>\n<vcpupin vcpu='3' cpuset='6'/>\n<vcpupin vcpu='4' cpuset='7'/>\n"
              "<vcpupin vcpu='1' cpuset='5'/>\n<emulatorpin cpuset='3,7'/>\n<iothreadpin iothread='1' cpuset='3,7'/>\n"
              "</cputune>";
  expect_fixed(g, "L001", {{"<vcpupin vcpu='4' cpuset='7'/>\n<vcpupin vcpu='1' cpuset='5'/>\n", ""}});
  // Two different pins for one vCPU: which one was meant is not for --fix.
  g.cputune = "<cputune>\n<vcpupin vcpu='0' cpuset='1'/>\n<vcpupin vcpu='1' cpuset='5'/>\n"
              "<vcpupin vcpu='2' cpuset='2'/>\n<vcpupin vcpu='3' cpuset='6'/>\n<vcpupin vcpu='3' cpuset='7'/>\n"
              "<emulatorpin cpuset='3'/>\n<iothreadpin iothread='1' cpuset='3'/>\n</cputune>";
  expect_unfixable(g, "L001");
}

TEST(LintFix, L007CacheNone) {
  Guest g;
  g.disks = "<disk type='block' device='disk'>\n<driver name='qemu' type='raw' io='native'/>\n"
            "<target dev='vda' bus='virtio'/></disk>";
  expect_fixed(g, "L007", {{"io='native'/>", "io='native' cache='none'/>"}});
  g.disks = "<disk type='block' device='disk'>\n<driver name=\"qemu\" cache=\"writeback\" io=\"native\"/>\n"
            "<target dev='vda' bus='virtio'/></disk>";
  expect_fixed(g, "L007", {{"cache=\"writeback\"", "cache=\"none\""}});
}

TEST(LintFix, L008QueuesPerVcpu) {
  Guest g;
  g.disks = "<controller type='scsi' index='0' model='virtio-scsi'>\n<driver queues='8' iothread='1'/>\n</controller>";
  expect_fixed(g, "L008", {{"queues='8'", "queues='4'"}});
}

TEST(LintFix, L009BalloonNone) {
  Guest g;
  g.other_devices = "  <memballoon model='virtio'>\n    <address type='pci' bus='0x05' slot='0x00'/>\n  </memballoon>";
  expect_fixed(g, "L009", {{"<memballoon model='virtio'>\n    <address type='pci' bus='0x05' slot='0x00'/>\n"
                            "  </memballoon>",
                            "<memballoon model='none'/>"}});
  g.other_devices = "";
  expect_fixed(g, "L009", {{"\n</devices>", "\n<memballoon model='none'/>\n</devices>"}});
  // A comment inside the balloon would be lost: left to the user.
  g.other_devices = "<memballoon model='virtio'><!-- keep --></memballoon>";
  expect_unfixable(g, "L009");
}

TEST(LintFix, L012MemoryRoundedUpToWholePages) {
  Guest g;
  g.memory = "<memory unit='MiB'>8193</memory>\n<currentMemory unit='MiB'>8193</currentMemory>";
  expect_fixed(g, "L012", {{"<memory unit='MiB'>8193</memory>", "<memory unit='KiB'>8390656</memory>"},
                           {"<currentMemory unit='MiB'>8193</currentMemory>",
                            "<currentMemory unit='KiB'>8390656</currentMemory>"}});
  g.memory = "<memory>8389000</memory>";  // KiB by default
  g.backing = "<memoryBacking><hugepages>\n<page size='1' unit='GiB'/>\n</hugepages></memoryBacking>";
  expect_fixed(g, "L012", {{"<memory>8389000</memory>", "<memory>9437184</memory>"}});
}

TEST(LintFix, L013HostPassthroughKeepsTopologyAndFeatures) {
  Guest g;
  g.cpu = "<cpu mode='custom' match='exact' check='partial'>\n<model fallback='allow'>Skylake-Client</model>\n"
          "<vendor>Intel</vendor>\n<topology sockets='1' dies='1' cores='2' threads='2'/>\n"
          "<feature policy='require' name='invtsc'/>\n</cpu>";
  expect_fixed(g, "L013", {{"mode='custom' match='exact'", "mode='host-passthrough'"},
                           {"<model fallback='allow'>Skylake-Client</model>\n<vendor>Intel</vendor>\n", ""}});
  g.cpu = "";  // no <cpu>: one after <features>
  expect_fixed(g, "L013", {{"<smm state='on'/></features>\n",
                            "<smm state='on'/></features>\n<cpu mode='host-passthrough' check='none'/>\n"}});
}

TEST(LintFix, L014AddsTheMissingEnlightenments) {
  Guest g = windows();
  g.features =
      "<features><acpi/><apic/>\n  <hyperv mode='custom'>\n    <relaxed state='on'/>\n    <vapic state='off'/>\n"
      "  </hyperv>\n<smm state='on'/></features>";
  expect_fixed(g, "L014",
               {{"<vapic state='off'/>", "<vapic state='on'/>"},
                {"    <vapic state='on'/>\n", "    <vapic state='on'/>\n    <spinlocks state='on' retries='8191'/>\n"
                                              "    <vpindex state='on'/>\n    <synic state='on'/>\n"
                                              "    <stimer state='on'/>\n"}});
  // No <hyperv> at all, and no Hyper-V clock.
  g = windows();
  g.features = "<features>\n  <acpi/>\n  <smm state='on'/>\n</features>";
  g.clock = "<clock offset='localtime'>\n  <timer name='hpet' present='no'/>\n</clock>";
  expect_fixed(g, "L014",
               {{"  <smm state='on'/>\n", "  <smm state='on'/>\n  <hyperv mode='custom'>\n"
                                          "    <relaxed state='on'/>\n    <vapic state='on'/>\n"
                                          "    <spinlocks state='on' retries='8191'/>\n    <vpindex state='on'/>\n"
                                          "    <synic state='on'/>\n    <stimer state='on'/>\n  </hyperv>\n"},
                {"present='no'/>\n", "present='no'/>\n  <timer name='hypervclock' present='yes'/>\n"}});
}

TEST(LintFix, L015LocalTime) {
  Guest g = windows();
  g.clock = "<clock offset='utc'>\n<timer name='hpet' present='no'/><timer name='hypervclock' present='yes'/></clock>";
  expect_fixed(g, "L015", {{"offset='utc'", "offset='localtime'"}});
  g.clock = "<clock>\n<timer name='hpet' present='no'/><timer name='hypervclock' present='yes'/></clock>";
  expect_fixed(g, "L015", {{"<clock>", "<clock offset='localtime'>"}});
}

TEST(LintFix, L016NoHpet) {
  Guest g = windows();
  g.clock = "<clock offset='localtime'>\n<timer name='hpet' present='yes'/>\n"
            "<timer name='hypervclock' present='yes'/></clock>";
  expect_fixed(g, "L016", {{"name='hpet' present='yes'", "name='hpet' present='no'"}});
  g.clock = "<clock offset='localtime'>\n<timer name='hypervclock' present='yes'/>\n</clock>";
  expect_fixed(g, "L016", {{"present='yes'/>\n</clock>", "present='yes'/>\n<timer name='hpet' present='no'/>\n</clock>"}});
}

TEST(LintFix, L017VendorIdCut) {
  expect_fixed(windows_with(kLongVendorId, kSpinlocks), "L017", {{"value='thirteenchars'", "value='thirteenchar'"}});
}

TEST(LintFix, L018Retries) {
  expect_fixed(windows_with("", "<spinlocks state='on'/>"), "L018",
               {{"<spinlocks state='on'/>", "<spinlocks state='on' retries='8191'/>"}});
}

TEST(LintFix, L019MovesWhereLibvirtReads) {
  Guest g;
  g.features = "<features>\n  <acpi/>\n  <smm state='on'/>\n</features>";
  g.extra = "<kvm>\n  <hidden state='on'/>\n</kvm>";
  expect_fixed(g, "L019", {{"<kvm>\n  <hidden state='on'/>\n</kvm>\n", ""},
                           {"  <smm state='on'/>\n", "  <smm state='on'/>\n  <kvm>\n    <hidden state='on'/>\n  </kvm>\n"}});
  // Not over a copy already there, nor without a place to go.
  g.features = "<features>\n  <kvm><hidden state='off'/></kvm>\n</features>";
  expect_unfixable(g, "L019");
  g = Guest();
  g.features = "<features><acpi/><apic/><smm state='on'/>\n<hidden state='on'/>\n</features>";
  expect_unfixable(g, "L019");
}

TEST(LintFix, L022SuspendOff) {
  Guest g;
  g.pm = "<pm>\n<suspend-to-mem enabled='yes'/>\n<suspend-to-disk enabled='yes'/>\n</pm>";
  expect_fixed(g, "L022", {{"<suspend-to-mem enabled='yes'/>", "<suspend-to-mem enabled='no'/>"},
                           {"<suspend-to-disk enabled='yes'/>", "<suspend-to-disk enabled='no'/>"}});
}

TEST(LintFix, L023PowerOfTwo) {
  Guest g;
  g.other_devices = "<memballoon model='none'/>\n<shmem name='looking-glass'><model type='ivshmem-plain'/>\n"
                    "<size unit='M'>48</size>\n</shmem>";
  expect_fixed(g, "L023", {{"<size unit='M'>48</size>", "<size unit='M'>64</size>"}});
  g.other_devices = "<memballoon model='none'/>\n<shmem name='looking-glass'><model type='ivshmem-plain'/>\n"
                    "<size>16777216</size>\n</shmem>";
  expect_fixed(g, "L023", {{"<size>16777216</size>", "<size unit='M'>32</size>"}});
}

TEST(LintFix, L024SmmOn) {
  Guest g;
  g.os = "<os>\n<type arch='x86_64' machine='q35'>hvm</type>\n"
         "<loader readonly='yes' secure='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.secboot.fd</loader>\n</os>";
  g.features = "<features><acpi/><apic/><smm state='off'/></features>";
  expect_fixed(g, "L024", {{"<smm state='off'/>", "<smm state='on'/>"}});
  g.features = "<features><acpi/><apic/></features>";
  expect_fixed(g, "L024", {{"<apic/></features>", "<apic/><smm state='on'/></features>"}});
  // A Secure Boot build not marked secure: marked, with SMM.
  g.os = "<os>\n<type arch='x86_64' machine='pc-q35-8.1'>hvm</type>\n"
         "<loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.secboot.fd</loader>\n</os>";
  expect_fixed(g, "L024", {{"type='pflash'>", "type='pflash' secure='yes'>"},
                           {"<apic/></features>", "<apic/><smm state='on'/></features>"}});
  // Not on i440fx, where SMM and Secure Boot do not go.
  g.os = "<os>\n<type arch='x86_64' machine='pc-i440fx-8.1'>hvm</type>\n"
         "<loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.secboot.fd</loader>\n</os>";
  expect_unfixable(g, "L024");
}

TEST(LintFix, L028IothreadsAgree) {
  Guest g;
  g.iothreads = "<iothreads>1</iothreads>\n<iothreadids><iothread id='1'/><iothread id='2'/></iothreadids>";
  expect_fixed(g, "L028", {{"<iothreads>1</iothreads>", "<iothreads>2</iothreads>"}});
  g.iothreads = "<iothreads>3</iothreads>\n<iothreadids>\n  <iothread id='1'/>\n</iothreadids>";
  expect_fixed(g, "L028", {{"  <iothread id='1'/>\n", "  <iothread id='1'/>\n  <iothread id='2'/>\n  <iothread id='3'/>\n"}});
}

// Fixes that meet in one place land in later passes; one that moves an
// element goes first, so that the others complete it where it lands.
TEST(LintFix, CollidingFixesTakeSeveralPasses) {
  Guest g = windows();
  g.features = "<features>\n  <acpi/>\n  <smm state='on'/>\n</features>";
  g.extra = "<hyperv mode='custom'>\n  <relaxed state='on'/>\n</hyperv>";
  g.clock = "<clock offset='localtime'>\n</clock>";
  FixResult r = fix_text("t.xml", g.xml(), nullptr, {});
  EXPECT_EQ(dump(r.report.findings), "");
  std::multiset<std::string> ids(r.fixed.begin(), r.fixed.end());
  EXPECT_EQ(ids, (std::multiset<std::string>{"L014", "L016", "L019"}));
  EXPECT_NE(r.text.find("  <smm state='on'/>\n  <hyperv mode='custom'>\n    <relaxed state='on'/>\n"
                        "    <vapic state='on'/>\n"),
            std::string::npos)
      << r.text;
  EXPECT_NE(r.text.find("<timer name='hypervclock' present='yes'/>"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("<timer name='hpet' present='no'/>"), std::string::npos) << r.text;
}

TEST(LintFix, RespectsDisableAndMinSeverity) {
  Guest g;
  g.other_devices = "<memballoon model='virtio'/>";                            // L009, warning
  g.pm = "<pm><suspend-to-mem enabled='yes'/><suspend-to-disk enabled='no'/></pm>";  // L022, warning
  LintOptions opt;
  opt.disabled = {"L009"};
  FixResult r = fix_text("t.xml", g.xml(), nullptr, opt);
  EXPECT_EQ(r.fixed, (std::vector<std::string>{"L022"}));
  EXPECT_NE(r.text.find("<memballoon model='virtio'/>"), std::string::npos);
  opt.disabled = {};
  opt.min_severity = Severity::fail;
  r = fix_text("t.xml", g.xml(), nullptr, opt);
  EXPECT_TRUE(r.fixed.empty());
  EXPECT_EQ(r.text, g.xml());
}

TEST(LintFix, MalformedInputIsLeftAlone) {
  FixResult r = fix_text("t.xml", "<domain><vcpu>4</vcpu>", nullptr, {});
  EXPECT_FALSE(r.report.ok);
  EXPECT_TRUE(r.fixed.empty());
  EXPECT_EQ(r.text, "<domain><vcpu>4</vcpu>");
}

TEST(LintRules, DisableAndMinSeverity) {
  Guest g;
  g.other_devices = "<memballoon model='virtio'/>";                       // L009, warning
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

}  // namespace
}  // namespace vfioctl::lint
