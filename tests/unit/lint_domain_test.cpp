// lint/domain: parsing with positions, libvirt's cpusets, sizes and numbers,
// and the facts collected for the rules.
#include "vfioctl/lint/domain.h"
#include "vfioctl/lint/edit.h"

#include <gtest/gtest.h>

namespace vfioctl::lint {
namespace {

TEST(LintCpuset, RangesListsAndExclusions) {
  EXPECT_EQ(parse_libvirt_cpuset("0-3,8"), (std::vector<int>{0, 1, 2, 3, 8}));
  EXPECT_EQ(parse_libvirt_cpuset("0-4,^2"), (std::vector<int>{0, 1, 3, 4}));
  EXPECT_EQ(parse_libvirt_cpuset(" 6 "), (std::vector<int>{6}));
  EXPECT_EQ(parse_libvirt_cpuset("3,1,1"), (std::vector<int>{1, 3}));
  EXPECT_FALSE(parse_libvirt_cpuset(""));
  EXPECT_FALSE(parse_libvirt_cpuset("a"));
  EXPECT_FALSE(parse_libvirt_cpuset("4-2"));
  EXPECT_FALSE(parse_libvirt_cpuset("^1"));  // nothing left
  EXPECT_FALSE(parse_libvirt_cpuset("1-"));
}

TEST(LintScaled, LibvirtUnits) {
  EXPECT_EQ(parse_scaled("16", "GiB", 1), 16ULL << 30);
  EXPECT_EQ(parse_scaled("16", "G", 1), 16ULL << 30);
  EXPECT_EQ(parse_scaled("16", "GB", 1), 16000000000ULL);
  EXPECT_EQ(parse_scaled("4", "KB", 1), 4000ULL);
  EXPECT_EQ(parse_scaled("4", "k", 1), 4096ULL);
  EXPECT_EQ(parse_scaled("64", "M", 1), 64ULL << 20);
  EXPECT_EQ(parse_scaled("64", "", 1024), 65536ULL);
  EXPECT_EQ(parse_scaled("7", "bytes", 1024), 7ULL);
  EXPECT_FALSE(parse_scaled("7", "parsecs", 1));
  EXPECT_FALSE(parse_scaled("x", "", 1));
}

TEST(LintNumber, HexAndDecimal) {
  EXPECT_EQ(parse_number("0x1f"), 31UL);
  EXPECT_EQ(parse_number("17"), 17UL);
  EXPECT_FALSE(parse_number("0x"));
  EXPECT_FALSE(parse_number("-1"));
  EXPECT_EQ(format_kib(12582912), "12 GiB");
  EXPECT_EQ(format_kib(2048), "2 MiB");
  EXPECT_EQ(format_kib(13107200), "12800 MiB");
  EXPECT_EQ(format_kib(100), "100 KiB");
}

TEST(LintDomain, LinesOfElements) {
  auto r = parse_domain(
      "<!-- a comment\n"
      "     over two lines -->\n"
      "<domain type='kvm'>\n"
      "  <vcpu>4</vcpu>\r\n"
      "  <cputune>\n"
      "    <vcpupin vcpu='0' cpuset='2'/>\n"
      "  </cputune>\n"
      "</domain>\n");
  ASSERT_TRUE(r.domain) << r.error;
  const Domain& d = *r.domain;
  EXPECT_EQ(d.line(d.root()), 3);
  EXPECT_EQ(d.line(d.vcpu_node), 4);
  ASSERT_EQ(d.vcpupins.size(), 1u);
  EXPECT_EQ(d.line(d.vcpupins[0].node), 6);
  EXPECT_EQ(d.line(pugi::xml_node()), 0);
  EXPECT_EQ(d.line_or_root(pugi::xml_node()), 3);
}

TEST(LintDomain, MalformedXmlNamesTheLine) {
  auto r = parse_domain("<domain>\n  <vcpu>4</vcpu>\n  <cputune>\n</domain>\n");
  EXPECT_FALSE(r.domain);
  EXPECT_NE(r.error.find("not well-formed XML"), std::string::npos);
  EXPECT_EQ(r.line, 4);
}

TEST(LintDomain, RootMustBeDomain) {
  auto r = parse_domain("\n<network><name>default</name></network>");
  EXPECT_FALSE(r.domain);
  EXPECT_NE(r.error.find("<network>"), std::string::npos);
  EXPECT_EQ(r.line, 2);
  EXPECT_FALSE(parse_domain("").domain);
}

TEST(LintDomain, Facts) {
  auto r = parse_domain(R"(<domain type='kvm'>
  <metadata><libosinfo:libosinfo xmlns:libosinfo="http://libosinfo.org/xmlns/libvirt/domain/1.0">
    <libosinfo:os id="http://microsoft.com/win/11"/></libosinfo:libosinfo></metadata>
  <memory unit='GiB'>16</memory>
  <memoryBacking><hugepages><page size='1' unit='G'/></hugepages><locked/></memoryBacking>
  <vcpu placement='static' current='2'>4</vcpu>
  <iothreads>2</iothreads>
  <iothreadids><iothread id='5'/></iothreadids>
  <cputune>
    <vcpupin vcpu='0' cpuset='2-3'/>
    <emulatorpin cpuset='0'/>
    <iothreadpin iothread='5' cpuset='1'/>
  </cputune>
  <devices>
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <source><address domain='0x0000' bus='0x0b' slot='0x00' function='0x1'/></source>
      <address type='pci' domain='0x0000' bus='0x04' slot='0x00' function='0x0' multifunction='on'/>
    </hostdev>
    <hostdev mode='subsystem' type='usb'><source><vendor id='0x1'/><product id='0x2'/></source></hostdev>
  </devices>
</domain>)");
  ASSERT_TRUE(r.domain) << r.error;
  const Domain& d = *r.domain;
  EXPECT_EQ(d.vcpus, 4);
  EXPECT_EQ(d.memory_kib, 16ULL * 1024 * 1024);
  ASSERT_EQ(d.page_sizes.size(), 1u);
  EXPECT_EQ(d.page_sizes[0].kib, 1048576ULL);
  EXPECT_TRUE(d.locked);
  EXPECT_EQ(d.iothread_ids, (std::vector<int>{1, 5}));  // 5 listed, one more numbered by libvirt
  ASSERT_TRUE(d.emulatorpin);
  EXPECT_EQ(d.emulatorpin->cpus, std::vector<int>{0});
  ASSERT_EQ(d.pci_hostdevs.size(), 1u);  // the USB one is not PCI
  EXPECT_EQ(d.pci_hostdevs[0].host.short_str(), "0b:00.1");
  ASSERT_TRUE(d.pci_hostdevs[0].guest);
  EXPECT_EQ(d.pci_hostdevs[0].guest->slot_str(), "04:00");
  EXPECT_TRUE(d.pci_hostdevs[0].multifunction);
  EXPECT_TRUE(d.windows);  // by its libosinfo id
  EXPECT_FALSE(d.hyperv);
}

TEST(LintDomain, HypervMakesItWindows) {
  auto r = parse_domain("<domain><features><hyperv><relaxed state='on'/></hyperv></features></domain>");
  ASSERT_TRUE(r.domain);
  EXPECT_TRUE(r.domain->windows);
  auto linux_guest = parse_domain(
      "<domain><metadata><libosinfo:libosinfo xmlns:libosinfo='x'><libosinfo:os id='http://debian.org/debian/12'/>"
      "</libosinfo:libosinfo></metadata></domain>");
  ASSERT_TRUE(linux_guest.domain);
  EXPECT_FALSE(linux_guest.domain->windows);
}

TEST(LintDomain, QemuArgumentsByNamespaceNotPrefix) {
  auto r = parse_domain(
      "<domain xmlns:q='http://libvirt.org/schemas/domain/qemu/1.0' xmlns:other='urn:x'>\n"
      "<q:commandline>\n<q:arg value='-cpu'/>\n<q:arg value='host'/>\n</q:commandline>\n"
      "<other:commandline><other:arg value='-smp'/></other:commandline>\n"
      "<qemu:commandline xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'><qemu:arg value='-S'/>"
      "</qemu:commandline>\n</domain>");
  ASSERT_TRUE(r.domain) << r.error;
  const Domain& d = *r.domain;
  ASSERT_EQ(d.qemu_args.size(), 3u);
  EXPECT_EQ(d.qemu_args[0].value, "-cpu");
  EXPECT_EQ(d.line(d.qemu_args[0].node), 3);
  EXPECT_EQ(d.qemu_args[1].value, "host");
  EXPECT_EQ(d.qemu_args[2].value, "-S");
  EXPECT_EQ(local_name(d.qemu_args[0].node), "arg");
  EXPECT_EQ(namespace_of(d.root()), "");
}

// Editing: byte ranges of the original text; everything else stays.
std::string edited(const Domain& d, const std::vector<std::optional<TextEdit>>& edits) {
  std::vector<TextEdit> all;
  for (const auto& e : edits) {
    EXPECT_TRUE(e);
    if (e) all.push_back(*e);
  }
  return apply_edits(d.text(), all);
}

const char* kIndented =
    "<!-- kept -->\n"
    "<domain type=\"kvm\">\n"
    "    <name>t</name>\n"
    "    <features>\n"
    "        <acpi/>\n"
    "        <hyperv mode='custom'><relaxed state=\"on\" /></hyperv>\n"
    "    </features>\n"
    "    <clock offset='utc'/>\n"
    "    <devices>\n"
    "        <!-- a <disk> in a comment -->\n"
    "        <disk type='file'><![CDATA[<not a tag>]]><target dev='vda'/></disk>\n"
    "        <memballoon model='virtio'/> <!-- same line -->\n"
    "    </devices>\n"
    "</domain>\n";

TEST(LintEdit, AttributesInPlaceWithTheirQuotes) {
  auto r = parse_domain(kIndented);
  ASSERT_TRUE(r.domain) << r.error;
  const Domain& d = *r.domain;
  const XmlEditor& ed = d.editor();
  pugi::xml_node relaxed = d.features.child("hyperv").child("relaxed");
  pugi::xml_node clock = d.root().child("clock");
  std::string out = edited(d, {ed.set_attr(relaxed, "state", "o\"n"), ed.set_attr(clock, "offset", "local'time"),
                               ed.set_attr(d.root(), "id", "a&b<")});
  EXPECT_NE(out.find("<relaxed state=\"o&quot;n\" />"), std::string::npos) << out;
  EXPECT_NE(out.find("<clock offset='local&apos;time'/>"), std::string::npos) << out;
  EXPECT_NE(out.find("<domain type=\"kvm\" id=\"a&amp;b&lt;\">"), std::string::npos) << out;
  out = edited(d, {ed.remove_attr(clock, "offset")});
  EXPECT_NE(out.find("    <clock/>\n"), std::string::npos) << out;
  EXPECT_FALSE(ed.remove_attr(clock, "absent"));
}

TEST(LintEdit, ExtentSkipsCommentsAndCdata) {
  auto r = parse_domain(kIndented);
  ASSERT_TRUE(r.domain);
  const Domain& d = *r.domain;
  pugi::xml_node devices = d.root().child("devices");
  auto x = d.editor().extent(devices);
  ASSERT_TRUE(x);
  EXPECT_EQ(d.text().substr(x->lt, 9), "<devices>");
  EXPECT_EQ(d.text().substr(x->close, 10), "</devices>");
  EXPECT_EQ(x->end, x->close + 10);
  auto disk = d.editor().extent(devices.child("disk"));
  ASSERT_TRUE(disk);
  EXPECT_EQ(d.text().substr(disk->close, 7), "</disk>");
}

TEST(LintEdit, RemoveTakesTheLineWhenAlone) {
  auto r = parse_domain(kIndented);
  ASSERT_TRUE(r.domain);
  const Domain& d = *r.domain;
  std::string out = edited(d, {d.editor().remove(d.root().child("clock"))});
  EXPECT_EQ(out.find("clock"), std::string::npos);
  EXPECT_NE(out.find("    </features>\n    <devices>\n"), std::string::npos) << out;
  // A comment on the same line stays.
  out = edited(d, {d.editor().remove(d.root().child("devices").child("memballoon"))});
  EXPECT_NE(out.find("\n         <!-- same line -->\n"), std::string::npos) << out;
}

TEST(LintEdit, NewChildrenTakeTheirSiblingsIndentation) {
  auto r = parse_domain(kIndented);
  ASSERT_TRUE(r.domain);
  const Domain& d = *r.domain;
  const XmlEditor& ed = d.editor();
  NewElement smm{"smm", {{"state", "on"}}, {}, {}};
  std::string out = edited(d, {ed.append(d.features, smm)});
  EXPECT_NE(out.find("</hyperv>\n        <smm state=\"on\"/>\n    </features>"), std::string::npos) << out;
  // Into a parent written on one line: inline.
  out = edited(d, {ed.append(d.features.child("hyperv"), NewElement{"vapic", {{"state", "on"}}, {}, {}})});
  EXPECT_NE(out.find("<relaxed state=\"on\" /><vapic state=\"on\"/></hyperv>"), std::string::npos) << out;
  // Into an empty element on its own line: it opens, at the next level.
  NewElement timer{"timer", {{"name", "hpet"}, {"present", "no"}}, {}, {}};
  out = edited(d, {ed.append(d.root().child("clock"), timer)});
  EXPECT_NE(out.find("    <clock offset='utc'>\n        <timer name=\"hpet\" present=\"no\"/>\n    </clock>\n"),
            std::string::npos)
      << out;
  // After the elements libvirt puts first; with children, indented a level deeper.
  NewElement cpu{"cpu", {{"mode", "host-passthrough"}}, {NewElement{"topology", {{"cores", "2"}}, {}, {}}}, {}};
  out = edited(d, {ed.insert(d.root(), cpu, {"name", "features"})});
  EXPECT_NE(out.find("    </features>\n    <cpu mode=\"host-passthrough\">\n        <topology cores=\"2\"/>\n"
                     "    </cpu>\n    <clock"),
            std::string::npos)
      << out;
}

TEST(LintEdit, TextOnlyWhereThereIsNothingElse) {
  auto r =
      parse_domain("<domain>\n  <memory unit='GiB'>8</memory>\n  <vcpu><!-- n -->4</vcpu>\n  <iothreads/>\n</domain>");
  ASSERT_TRUE(r.domain);
  const Domain& d = *r.domain;
  const XmlEditor& ed = d.editor();
  EXPECT_EQ(edited(d, {ed.set_text(d.memory_node, "16")}),
            "<domain>\n  <memory unit='GiB'>16</memory>\n  <vcpu><!-- n -->4</vcpu>\n  <iothreads/>\n</domain>");
  EXPECT_FALSE(ed.set_text(d.vcpu_node, "2"));  // the comment would go
  EXPECT_NE(edited(d, {ed.set_text(d.root().child("iothreads"), "2")}).find("<iothreads>2</iothreads>"),
            std::string::npos);
}

TEST(LintEdit, MoveReindents) {
  auto r = parse_domain(
      "<domain>\n  <features>\n    <acpi/>\n  </features>\n  <kvm>\n    <hidden state='on'/>\n  </kvm>\n</domain>\n");
  ASSERT_TRUE(r.domain);
  const Domain& d = *r.domain;
  auto moved = d.editor().move(d.root().child("kvm"), d.features);
  ASSERT_TRUE(moved);
  EXPECT_EQ(apply_edits(d.text(), *moved),
            "<domain>\n  <features>\n    <acpi/>\n    <kvm>\n      <hidden state='on'/>\n    </kvm>\n  </features>\n"
            "</domain>\n");
}

TEST(LintEdit, CollisionsAndOrder) {
  TextEdit ins5{5, 5, "a"}, ins5b{5, 5, "b"}, rep5_8{5, 8, "x"}, rep2_6{2, 6, "y"}, rep8_9{8, 9, "z"};
  EXPECT_TRUE(collide(ins5, ins5b));
  EXPECT_FALSE(collide(ins5, rep5_8));  // at its edge
  EXPECT_TRUE(collide(ins5, rep2_6));   // inside
  EXPECT_FALSE(collide(TextEdit{2, 2, "c"}, rep2_6));
  EXPECT_TRUE(collide(rep2_6, rep5_8));
  EXPECT_FALSE(collide(rep5_8, rep8_9));
  EXPECT_EQ(apply_edits("0123456789", {rep5_8, ins5, rep8_9}), "01234axz9");
}

}  // namespace
}  // namespace vfioctl::lint
