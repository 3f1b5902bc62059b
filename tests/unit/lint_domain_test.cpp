// lint/domain: parsing with positions, libvirt's cpusets, sizes and numbers,
// and the facts collected for the rules.
#include "vfioctl/lint/domain.h"

#include <gtest/gtest.h>

namespace vfioctl::lint {
namespace {

TEST(LintCpuset, RangesListsAndExclusions) {
  EXPECT_EQ(parse_cpuset("0-3,8"), (std::vector<int>{0, 1, 2, 3, 8}));
  EXPECT_EQ(parse_cpuset("0-4,^2"), (std::vector<int>{0, 1, 3, 4}));
  EXPECT_EQ(parse_cpuset(" 6 "), (std::vector<int>{6}));
  EXPECT_EQ(parse_cpuset("3,1,1"), (std::vector<int>{1, 3}));
  EXPECT_FALSE(parse_cpuset(""));
  EXPECT_FALSE(parse_cpuset("a"));
  EXPECT_FALSE(parse_cpuset("4-2"));
  EXPECT_FALSE(parse_cpuset("^1"));  // nothing left
  EXPECT_FALSE(parse_cpuset("1-"));
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

}  // namespace
}  // namespace vfioctl::lint
