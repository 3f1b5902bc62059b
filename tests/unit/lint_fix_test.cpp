// lint --fix: the edits each fixable rule makes, and what they leave alone.
#include "lint_rules_guests.h"

namespace vfioctl::lint {
namespace {

using namespace test_guests;

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
  EXPECT_EQ(fixable, (std::set<std::string>{"L001", "L007", "L008", "L009", "L012", "L013", "L014", "L015",
                                            "L016", "L017", "L018", "L019", "L022", "L023", "L024", "L028",
                                            "L029", "L030", "L031", "L032", "L034", "L035", "L038"}));
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
  g.cputune =
      "<cputune>\n<vcpupin vcpu='0' cpuset='1'/>\n<vcpupin vcpu='1' cpuset='5'/>\n"
      "<vcpupin vcpu='2' cpuset='2'/>\n<vcpupin vcpu='3' cpuset='6'/>\n<vcpupin vcpu='4' cpuset='7'/>\n"
      "<vcpupin vcpu='1' cpuset='5'/>\n<emulatorpin cpuset='3,7'/>\n<iothreadpin iothread='1' cpuset='3,7'/>\n"
      "</cputune>";
  expect_fixed(g, "L001", {{"<vcpupin vcpu='4' cpuset='7'/>\n<vcpupin vcpu='1' cpuset='5'/>\n", ""}});
  // Two different pins for one vCPU: which one was meant is not for --fix.
  g.cputune =
      "<cputune>\n<vcpupin vcpu='0' cpuset='1'/>\n<vcpupin vcpu='1' cpuset='5'/>\n"
      "<vcpupin vcpu='2' cpuset='2'/>\n<vcpupin vcpu='3' cpuset='6'/>\n<vcpupin vcpu='3' cpuset='7'/>\n"
      "<emulatorpin cpuset='3'/>\n<iothreadpin iothread='1' cpuset='3'/>\n</cputune>";
  expect_unfixable(g, "L001");
}

TEST(LintFix, L007CacheNone) {
  Guest g;
  g.disks =
      "<disk type='block' device='disk'>\n<driver name='qemu' type='raw' io='native'/>\n"
      "<target dev='vda' bus='virtio'/></disk>";
  expect_fixed(g, "L007", {{"io='native'/>", "io='native' cache='none'/>"}});
  g.disks =
      "<disk type='block' device='disk'>\n<driver name=\"qemu\" cache=\"writeback\" io=\"native\"/>\n"
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
  expect_fixed(g, "L009",
               {{"<memballoon model='virtio'>\n    <address type='pci' bus='0x05' slot='0x00'/>\n"
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
  expect_fixed(
      g, "L012",
      {{"<memory unit='MiB'>8193</memory>", "<memory unit='KiB'>8390656</memory>"},
       {"<currentMemory unit='MiB'>8193</currentMemory>", "<currentMemory unit='KiB'>8390656</currentMemory>"}});
  g.memory = "<memory>8389000</memory>";  // KiB by default
  g.backing = "<memoryBacking><hugepages>\n<page size='1' unit='GiB'/>\n</hugepages></memoryBacking>";
  expect_fixed(g, "L012", {{"<memory>8389000</memory>", "<memory>9437184</memory>"}});
}

TEST(LintFix, L013HostPassthroughKeepsTopologyAndFeatures) {
  Guest g;
  g.cpu =
      "<cpu mode='custom' match='exact' check='partial'>\n<model fallback='allow'>Skylake-Client</model>\n"
      "<vendor>Intel</vendor>\n<topology sockets='1' dies='1' cores='2' threads='2'/>\n"
      "<feature policy='require' name='invtsc'/>\n</cpu>";
  expect_fixed(g, "L013",
               {{"mode='custom' match='exact'", "mode='host-passthrough'"},
                {"<model fallback='allow'>Skylake-Client</model>\n<vendor>Intel</vendor>\n", ""}});
  g.cpu = "";  // no <cpu>: one after <features>
  expect_fixed(g, "L013",
               {{"<smm state='on'/></features>\n",
                 "<smm state='on'/></features>\n<cpu mode='host-passthrough' check='none'/>\n"}});
}

TEST(LintFix, L014AddsTheMissingEnlightenments) {
  Guest g = windows();
  g.features =
      "<features><acpi/><apic/>\n  <hyperv mode='custom'>\n    <relaxed state='on'/>\n    <vapic state='off'/>\n"
      "  </hyperv>\n<smm state='on'/></features>";
  expect_fixed(g, "L014",
               {{"<vapic state='off'/>", "<vapic state='on'/>"},
                {"    <vapic state='on'/>\n",
                 "    <vapic state='on'/>\n    <spinlocks state='on' retries='8191'/>\n"
                 "    <vpindex state='on'/>\n    <synic state='on'/>\n"
                 "    <stimer state='on'/>\n"}});
  // No <hyperv> at all, and no Hyper-V clock.
  g = windows();
  g.features = "<features>\n  <acpi/>\n  <smm state='on'/>\n</features>";
  g.clock = "<clock offset='localtime'>\n  <timer name='hpet' present='no'/>\n</clock>";
  expect_fixed(g, "L014",
               {{"  <smm state='on'/>\n",
                 "  <smm state='on'/>\n  <hyperv mode='custom'>\n"
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
  g.clock =
      "<clock offset='localtime'>\n<timer name='hpet' present='yes'/>\n"
      "<timer name='hypervclock' present='yes'/></clock>";
  expect_fixed(g, "L016", {{"name='hpet' present='yes'", "name='hpet' present='no'"}});
  g.clock = "<clock offset='localtime'>\n<timer name='hypervclock' present='yes'/>\n</clock>";
  expect_fixed(g, "L016",
               {{"present='yes'/>\n</clock>", "present='yes'/>\n<timer name='hpet' present='no'/>\n</clock>"}});
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
  expect_fixed(g, "L019",
               {{"<kvm>\n  <hidden state='on'/>\n</kvm>\n", ""},
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
  expect_fixed(g, "L022",
               {{"<suspend-to-mem enabled='yes'/>", "<suspend-to-mem enabled='no'/>"},
                {"<suspend-to-disk enabled='yes'/>", "<suspend-to-disk enabled='no'/>"}});
}

TEST(LintFix, L023PowerOfTwo) {
  Guest g;
  g.other_devices =
      "<memballoon model='none'/>\n<shmem name='looking-glass'><model type='ivshmem-plain'/>\n"
      "<size unit='M'>48</size>\n</shmem>";
  expect_fixed(g, "L023", {{"<size unit='M'>48</size>", "<size unit='M'>64</size>"}});
  g.other_devices =
      "<memballoon model='none'/>\n<shmem name='looking-glass'><model type='ivshmem-plain'/>\n"
      "<size>16777216</size>\n</shmem>";
  expect_fixed(g, "L023", {{"<size>16777216</size>", "<size unit='M'>32</size>"}});
}

TEST(LintFix, L024SmmOn) {
  Guest g;
  g.os =
      "<os>\n<type arch='x86_64' machine='q35'>hvm</type>\n"
      "<loader readonly='yes' secure='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.secboot.fd</loader>\n</os>";
  g.features = "<features><acpi/><apic/><smm state='off'/></features>";
  expect_fixed(g, "L024", {{"<smm state='off'/>", "<smm state='on'/>"}});
  g.features = "<features><acpi/><apic/></features>";
  expect_fixed(g, "L024", {{"<apic/></features>", "<apic/><smm state='on'/></features>"}});
  // A Secure Boot build not marked secure: marked, with SMM.
  g.os =
      "<os>\n<type arch='x86_64' machine='pc-q35-8.1'>hvm</type>\n"
      "<loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.secboot.fd</loader>\n</os>";
  expect_fixed(g, "L024",
               {{"type='pflash'>", "type='pflash' secure='yes'>"},
                {"<apic/></features>", "<apic/><smm state='on'/></features>"}});
  // Not on i440fx, where SMM and Secure Boot do not go.
  g.os =
      "<os>\n<type arch='x86_64' machine='pc-i440fx-8.1'>hvm</type>\n"
      "<loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.secboot.fd</loader>\n</os>";
  expect_unfixable(g, "L024");
}

TEST(LintFix, L028IothreadsAgree) {
  Guest g;
  g.iothreads = "<iothreads>1</iothreads>\n<iothreadids><iothread id='1'/><iothread id='2'/></iothreadids>";
  expect_fixed(g, "L028", {{"<iothreads>1</iothreads>", "<iothreads>2</iothreads>"}});
  g.iothreads = "<iothreads>3</iothreads>\n<iothreadids>\n  <iothread id='1'/>\n</iothreadids>";
  expect_fixed(g, "L028",
               {{"  <iothread id='1'/>\n", "  <iothread id='1'/>\n  <iothread id='2'/>\n  <iothread id='3'/>\n"}});
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
  g.other_devices = "<memballoon model='virtio'/>";                                  // L009, warning
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

}  // namespace
}  // namespace vfioctl::lint
