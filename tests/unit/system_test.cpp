// The system reader: distribution, packages, tools, module files, interrupt
// remapping, governors, and the devices behind / and the network.
#include "vfioctl/host/system.h"

#include <gtest/gtest.h>

#include "temp_tree.h"
#include "vfioctl/host/root.h"

namespace vfioctl {
namespace {

TEST(System, OsReleaseGivesTheFamily) {
  auto d = parse_os_release(
      "NAME=\"Ubuntu\"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"24.04\"\n"
      "PRETTY_NAME=\"Ubuntu 24.04.1 LTS\"\n# comment=1\n");
  EXPECT_EQ(d.id, "ubuntu");
  EXPECT_EQ(d.version_id, "24.04");
  EXPECT_EQ(d.pretty_name, "Ubuntu 24.04.1 LTS");
  EXPECT_EQ(d.family(), "debian");
  EXPECT_EQ(parse_os_release("ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n").family(), "fedora");
  EXPECT_EQ(parse_os_release("ID=arch\n").family(), "arch");
  EXPECT_EQ(parse_os_release("ID=nixos\n").family(), "");
}

TEST(System, ReadsPackagesToolsFirmwareAndModules) {
  test::TempTree t;
  t.file("/etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n");
  t.file("/var/lib/dpkg/status",
         "Package: ovmf\nStatus: install ok installed\nVersion: 2022.11-6+deb12u1\n\n"
         "Package: swtpm\nStatus: deinstall ok config-files\nVersion: 0.7.1-1.3\n\n"
         "Package: bash\nStatus: install ok installed\nVersion: 5.2.15-2\n");
  t.file("/usr/share/OVMF/OVMF_CODE_4M.fd", "");
  t.file("/usr/bin/qemu-system-x86_64", "");
  t.file("/lib/modules/6.1.0-18-amd64/modules.dep",
         "kernel/drivers/vfio/pci/vfio-pci.ko: kernel/drivers/vfio/vfio.ko\n"
         "kernel/drivers/vfio/vfio_iommu_type1.ko.xz:\n");
  Root root(t.dir());
  Notes notes;
  auto s = read_system(root, std::string("6.1.0-18-amd64"), notes);
  EXPECT_EQ(s.distro.family(), "debian");
  EXPECT_TRUE(s.package_db);
  EXPECT_EQ(s.packages.size(), 1u);  // swtpm is removed, bash is not watched
  EXPECT_EQ(s.packages.at("ovmf"), "2022.11-6+deb12u1");
  EXPECT_EQ(s.tools.at("qemu"), "/usr/bin/qemu-system-x86_64");
  EXPECT_EQ(s.tools.count("swtpm"), 0u);
  // No descriptors and no template: only the code file, so no firmware to choose.
  EXPECT_TRUE(s.firmware.known);
  EXPECT_TRUE(s.firmware.descriptors.empty());
  EXPECT_FALSE(choose_firmware(s.firmware, FirmwareNeed::uefi));
  EXPECT_TRUE(s.module_files_known);
  EXPECT_EQ(s.module_files, (std::set<std::string>{"vfio_pci", "vfio_iommu_type1"}));
}

TEST(System, BootConfigurationLineIsFound) {
  test::TempTree t;
  t.file("/etc/default/grub",
         "GRUB_DEFAULT=0\nGRUB_TIMEOUT=5\n#GRUB_CMDLINE_LINUX_DEFAULT=\"old\"\n"
         "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet splash\"\nGRUB_CMDLINE_LINUX=\"\"\n");
  Root root(t.dir());
  Notes notes;
  auto s = read_system(root, std::nullopt, notes);
  EXPECT_EQ(s.boot.grub_line, 4);
  EXPECT_EQ(s.boot.grub_value, "quiet splash");
  EXPECT_FALSE(s.boot.kernel_cmdline);
}

TEST(System, InterruptRemappingFromInterruptsAndEcap) {
  test::TempTree t;
  t.file("/proc/interrupts",
         "           CPU0       CPU1\n"
         "  0:         33          0   IO-APIC    2-edge      timer\n"
         "124:          0          0  IR-PCI-MSI 327680-edge      xhci_hcd\n"
         "125:          0          0  IR-PCI-MSI 520192-edge      enp0s31f6\n");
  t.file("/sys/class/iommu/dmar0/intel-iommu/ecap", "f050da\n");  // bit 3 set
  t.file("/sys/class/iommu/dmar1/intel-iommu/ecap", "1e0\n");     // bit 3 clear
  Root root(t.dir());
  Notes notes;
  auto s = read_system(root, std::nullopt, notes);
  EXPECT_EQ(s.remapped_irq_lines, 2);
  EXPECT_EQ(s.dmar_ir_capable.at("dmar0"), true);
  EXPECT_EQ(s.dmar_ir_capable.at("dmar1"), false);
}

TEST(System, GovernorsAreCounted) {
  test::TempTree t;
  for (int i = 0; i < 3; ++i) {
    t.file("/sys/devices/system/cpu/cpu" + std::to_string(i) + "/cpufreq/scaling_governor",
           i == 2 ? "powersave\n" : "performance\n");
  }
  t.mkdir("/sys/devices/system/cpu/cpufreq");
  Root root(t.dir());
  Notes notes;
  auto s = read_system(root, std::nullopt, notes);
  EXPECT_EQ(s.governors, (std::map<std::string, int>{{"performance", 2}, {"powersave", 1}}));
}

TEST(System, RootFilesystemThroughDeviceMapperToItsController) {
  test::TempTree t;
  t.file("/proc/mounts", "sysfs /sys sysfs rw 0 0\n/dev/mapper/vg-root / ext4 rw 0 0\n");
  t.mkdir("/dev/mapper");
  t.file("/dev/dm-0", "");
  t.link("/dev/mapper/vg-root", "../dm-0");
  std::string nvme = "/sys/devices/pci0000:00/0000:00:01.1/0000:01:00.0/nvme/nvme0/nvme0n1";
  t.mkdir(nvme + "/nvme0n1p3");
  t.mkdir("/sys/devices/virtual/block/dm-0/slaves");
  t.link("/sys/devices/virtual/block/dm-0/slaves/nvme0n1p3",
         "../../../../pci0000:00/0000:00:01.1/0000:01:00.0/nvme/nvme0/nvme0n1/nvme0n1p3");
  t.link("/sys/class/block/dm-0", "../../devices/virtual/block/dm-0");
  t.link("/sys/class/block/nvme0n1p3",
         "../../devices/pci0000:00/0000:00:01.1/0000:01:00.0/nvme/nvme0/nvme0n1/nvme0n1p3");
  Root root(t.dir());
  Notes notes;
  auto s = read_system(root, std::nullopt, notes);
  EXPECT_EQ(s.root_source, "/dev/mapper/vg-root");
  EXPECT_EQ(s.root_devices, (std::set<PciAddress>{*PciAddress::parse("0000:01:00.0")}));
}

TEST(System, OverlayRootNamesNoDevice) {
  test::TempTree t;
  t.file("/proc/mounts", "overlay / overlay rw 0 0\n");
  Root root(t.dir());
  Notes notes;
  auto s = read_system(root, std::nullopt, notes);
  EXPECT_EQ(s.root_source, "overlay");
  EXPECT_TRUE(s.root_devices.empty());
}

TEST(System, NetworkInterfacesWithTheirDevicesAndDefaultRoute) {
  test::TempTree t;
  t.file("/proc/net/route",
         "Iface\tDestination\tGateway \tFlags\n"
         "enp3s0\t00000000\t0101A8C0\t0003\n"
         "enp3s0\t0001A8C0\t00000000\t0001\n");
  t.mkdir("/sys/devices/pci0000:00/0000:00:1c.5/0000:03:00.0/net/enp3s0");
  t.mkdir("/sys/devices/pci0000:00/0000:00:1c.6/0000:04:00.0/net/wlp4s0/wireless");
  t.mkdir("/sys/devices/virtual/net/lo");
  t.mkdir("/sys/devices/virtual/net/virbr0");
  t.link("/sys/class/net/enp3s0", "../../devices/pci0000:00/0000:00:1c.5/0000:03:00.0/net/enp3s0");
  t.link("/sys/devices/pci0000:00/0000:00:1c.5/0000:03:00.0/net/enp3s0/device", "../../../0000:03:00.0");
  t.link("/sys/class/net/wlp4s0", "../../devices/pci0000:00/0000:00:1c.6/0000:04:00.0/net/wlp4s0");
  t.link("/sys/devices/pci0000:00/0000:00:1c.6/0000:04:00.0/net/wlp4s0/device", "../../../0000:04:00.0");
  t.link("/sys/class/net/lo", "../../devices/virtual/net/lo");
  t.link("/sys/class/net/virbr0", "../../devices/virtual/net/virbr0");
  Root root(t.dir());
  Notes notes;
  auto s = read_system(root, std::nullopt, notes);
  ASSERT_EQ(s.net.size(), 3u);  // lo left out
  EXPECT_EQ(s.net[0].name, "enp3s0");
  EXPECT_EQ(s.net[0].pci, PciAddress::parse("0000:03:00.0"));
  EXPECT_TRUE(s.net[0].default_route);
  EXPECT_FALSE(s.net[0].wireless);
  EXPECT_EQ(s.net[1].name, "virbr0");
  EXPECT_FALSE(s.net[1].pci);
  EXPECT_EQ(s.net[2].name, "wlp4s0");
  EXPECT_TRUE(s.net[2].wireless);
  EXPECT_FALSE(s.net[2].default_route);
}

}  // namespace
}  // namespace vfioctl
