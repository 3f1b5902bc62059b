// The lint rule tests' guests and helpers, shared by lint_rules_test.cpp,
// lint_host_rules_test.cpp and lint_fix_test.cpp.
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "fixture_hosts.h"
#include "vfioctl/lint/lint.h"

namespace vfioctl::lint::test_guests {

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
  std::string cpu =
      "<cpu mode='host-passthrough' check='none'><topology sockets='1' dies='1' cores='2' threads='2'/></cpu>";
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
           "\n<devices>\n" + disks + "\n" + hostdevs + "\n" + other_devices + "\n</devices>\n" + extra +
           "\n</domain>\n";
  }
};

// A Windows guest with everything the Windows rules want.
inline Guest windows() {
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
inline Guest windows_with(const std::string& vendor_id, const std::string& spinlocks) {
  Guest g = windows();
  g.features = "<features><hyperv mode='custom'>\n<relaxed state='on'/><vapic state='on'/>\n" + spinlocks +
               "\n<vpindex state='on'/><synic state='on'/><stimer state='on'/>\n" + vendor_id +
               "\n</hyperv><smm state='on'/></features>";
  return g;
}

inline const char* const kSpinlocks = "<spinlocks state='on' retries='8191'/>";
inline const char* const kLongVendorId = "<vendor_id state='on' value='thirteenchars'/>";

inline std::vector<LintFinding> lint(const std::string& xml, const Host* host = nullptr) {
  FileReport r = lint_text("t.xml", xml, host, {});
  EXPECT_TRUE(r.ok) << r.error << " at line " << r.error_line << "\n" << xml;
  return r.findings;
}

inline std::vector<LintFinding> only(const std::vector<LintFinding>& all, const std::string& id) {
  std::vector<LintFinding> out;
  std::copy_if(all.begin(), all.end(), std::back_inserter(out), [&](const auto& f) { return f.finding.id == id; });
  return out;
}

inline std::string dump(const std::vector<LintFinding>& fs) {
  std::string s;
  for (const auto& f : fs) s += f.finding.where + " " + f.finding.id + " " + f.finding.message + "\n";
  return s;
}

// Line of the first line of `xml` containing `text`.
inline int line_of(const std::string& xml, const std::string& text) {
  size_t at = xml.find(text);
  if (at == std::string::npos) return -1;
  return 1 + static_cast<int>(std::count(xml.begin(), xml.begin() + static_cast<long>(at), '\n'));
}

// Expects exactly `n` findings of `id`, the first at the line holding `at`.
inline void expect_finding(const Guest& g, const std::string& id, const std::string& at, const Host* host = nullptr,
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

inline void expect_none(const Guest& g, const std::string& id, const Host* host = nullptr) {
  auto all = lint(g.xml(), host);
  EXPECT_TRUE(only(all, id).empty()) << dump(all);
}

using test::fixture_host;

inline const Host& z370() { return fixture_host("intel-desktop-z370"); }
inline const Host& ryzen() { return fixture_host("amd-ryzen9-3900x"); }

// A <cputune> pinning vCPUs 0.. to `cpus` in order, the emulator and the
// iothread to `rest`.
inline std::string pins(const std::vector<int>& cpus, const std::string& rest) {
  std::string s = "<cputune>\n";
  for (size_t i = 0; i < cpus.size(); ++i) s += fmt::format("<vcpupin vcpu='{}' cpuset='{}'/>\n", i, cpus[i]);
  return s + "<emulatorpin cpuset='" + rest + "'/>\n<iothreadpin iothread='1' cpuset='" + rest + "'/>\n</cputune>";
}

inline const char* const kQemuNs = "http://libvirt.org/schemas/domain/qemu/1.0";

// <qemu:commandline> (prefix `prefix`) with these arguments, one <arg> each.
inline std::string qemu_args(const std::vector<std::string>& args, const std::string& prefix = "qemu",
                             const std::string& ns = kQemuNs) {
  std::string s = "<" + prefix + ":commandline xmlns:" + prefix + "='" + ns + "'>\n";
  for (const auto& a : args) s += "<" + prefix + ":arg value='" + a + "'/>\n";
  return s + "</" + prefix + ":commandline>";
}

}  // namespace vfioctl::lint::test_guests
