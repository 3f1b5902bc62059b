#include "vfioctl/host/pci.h"

#include <gtest/gtest.h>

extern "C" {
#include <pci/pci.h>
}

#include <fstream>
#include <set>

#include "temp_tree.h"
#include "vfioctl/host/iommu.h"
#include "vfioctl/host/pci_names.h"
#include "vfioctl/host/root.h"

namespace vfioctl {
namespace {

constexpr const char* kRootPort = "/sys/devices/pci0000:00/0000:00:01.0";

// A GPU (video + audio) behind a root port, both in group 1, the root port
// in group 0; NVIDIA ids known to pci.ids.
void gpu_host(const test::TempTree& t) {
  t.pci("/sys/devices/pci0000:00", "0000:00:01.0", "8086", "1901", "060400", "pcieport", 0);
  t.pci(kRootPort, "0000:01:00.0", "10de", "1b81", "030000", "nouveau", 1);
  t.pci(kRootPort, "0000:01:00.1", "10de", "10f0", "040300", "snd_hda_intel", 1);
  t.file(std::string(kRootPort) + "/0000:01:00.0/boot_vga", "1\n");
  t.file(std::string(kRootPort) + "/0000:01:00.0/reset_method", "flr bus\n");
  t.file(std::string(kRootPort) + "/0000:01:00.1/reset_method", "\n");
}

TEST(PciAddress, ParsesBothForms) {
  auto a = PciAddress::parse("0000:01:00.1");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->bus, 1u);
  EXPECT_EQ(a->function, 1u);
  EXPECT_EQ(PciAddress::parse("01:00.1"), a);
  EXPECT_EQ(a->str(), "0000:01:00.1");
  EXPECT_EQ(a->short_str(), "01:00.1");
  EXPECT_EQ(PciAddress::parse("10000:0a:1f.7")->str(), "10000:0a:1f.7");
  EXPECT_FALSE(PciAddress::parse("01:00"));
  EXPECT_FALSE(PciAddress::parse("01:20.0"));  // device numbers stop at 1f
  EXPECT_FALSE(PciAddress::parse("01:00.8"));
  EXPECT_FALSE(PciAddress::parse("pci0000:00"));
  EXPECT_FALSE(PciAddress::parse("10de:1b81"));
}

TEST(PciAddress, SortsNumerically) {
  EXPECT_LT(*PciAddress::parse("02:00.0"), *PciAddress::parse("0a:00.0"));
  EXPECT_TRUE(PciAddress::parse("01:00.0")->same_slot(*PciAddress::parse("01:00.1")));
}

TEST(Pci, ReadsEveryAttribute) {
  test::TempTree t;
  gpu_host(t);
  Root root(t.dir());
  Notes notes;
  auto devs = read_pci_devices(root, notes);
  ASSERT_EQ(devs.size(), 3u);
  const PciDevice& gpu = devs[1];
  EXPECT_EQ(gpu.address.str(), "0000:01:00.0");
  EXPECT_EQ(gpu.vendor_id, 0x10de);
  EXPECT_EQ(gpu.device_id, 0x1b81);
  EXPECT_EQ(gpu.class_id(), 0x0300);
  EXPECT_EQ(gpu.revision, 0x01);
  EXPECT_EQ(gpu.driver, "nouveau");
  EXPECT_EQ(gpu.iommu_group, 1);
  EXPECT_EQ(gpu.boot_vga, true);
  EXPECT_EQ(gpu.reset_methods, (std::vector<std::string>{"flr", "bus"}));
  EXPECT_EQ(gpu.parent, PciAddress::parse("00:01.0"));
  EXPECT_FALSE(gpu.numa_node);  // -1 means unknown
  EXPECT_EQ(gpu.vendor_name, "NVIDIA Corporation");
  EXPECT_NE(gpu.device_name.find("GTX 1070"), std::string::npos);
  EXPECT_EQ(gpu.class_name, "VGA compatible controller");
  EXPECT_TRUE(gpu.is_gpu());
  EXPECT_FALSE(gpu.is_bridge());
  EXPECT_EQ(devs[2].reset_methods, std::vector<std::string>{});  // present but empty: no reset
  EXPECT_TRUE(devs[0].is_bridge());
  EXPECT_FALSE(devs[0].parent);  // on the root bus
  EXPECT_TRUE(notes.empty());
}

TEST(Pci, GarbageVendorBecomesUnknownWithANote) {
  test::TempTree t;
  gpu_host(t);
  t.file(std::string(kRootPort) + "/0000:01:00.0/vendor", "garbage\n");
  Root root(t.dir());
  Notes notes;
  auto devs = read_pci_devices(root, notes);
  ASSERT_EQ(devs.size(), 3u);
  EXPECT_FALSE(devs[1].vendor_id);
  EXPECT_EQ(devs[1].id_pair(), "????:1b81");
  ASSERT_EQ(devs[1].notes.size(), 1u);
  EXPECT_EQ(devs[1].notes[0], "vendor: unreadable value 'garbage'");
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].path, "/sys/bus/pci/devices/0000:01:00.0/vendor");
}

TEST(Pci, DanglingGroupLinkLeavesTheDeviceUngroupedWithANote) {
  test::TempTree t;
  gpu_host(t);
  std::string link = std::string(kRootPort) + "/0000:01:00.1/iommu_group";
  std::filesystem::remove(t.dir() / link.substr(1));
  t.link(link, "../../../../kernel/iommu_groups/99");
  Root root(t.dir());
  Notes notes;
  auto devs = read_pci_devices(root, notes);
  EXPECT_FALSE(devs[2].iommu_group);
  ASSERT_EQ(devs[2].notes.size(), 1u);
  EXPECT_EQ(devs[2].notes[0], "iommu_group link leads to missing group '99'");
}

TEST(Pci, UeventGivesIdsClassAndDriverInOneRead) {
  test::TempTree t;
  gpu_host(t);
  std::string dir = std::string(kRootPort) + "/0000:01:00.0";
  // The separate files say otherwise: uevent wins when it is complete.
  t.file(dir + "/uevent",
         "DRIVER=vfio-pci\nPCI_CLASS=30000\nPCI_ID=10DE:1B06\nPCI_SUBSYS_ID=1043:8599\n"
         "PCI_SLOT_NAME=0000:01:00.0\n");
  t.file(std::string(kRootPort) + "/0000:01:00.1/uevent", "PCI_CLASS=40300\nPCI_ID=10DE:10F0\n");
  t.file(std::string(kRootPort) + "/0000:00:01.0/uevent", "PCI_CLASS=zz\nPCI_ID=8086:1901\n");
  Root root(t.dir());
  Notes notes;
  auto devs = read_pci_devices(root, notes);
  EXPECT_EQ(devs[1].device_id, 0x1b06);
  EXPECT_EQ(devs[1].driver, "vfio-pci");
  EXPECT_EQ(devs[1].subsystem_vendor_id, 0x1043);
  EXPECT_EQ(devs[1].class_code, 0x030000u);
  EXPECT_FALSE(devs[2].driver);  // no DRIVER= line: nothing bound
  EXPECT_EQ(devs[2].class_id(), 0x0403);
  // A malformed uevent falls back to the separate files.
  EXPECT_EQ(devs[0].driver, "pcieport");
  EXPECT_EQ(devs[0].class_id(), 0x0604);
}

TEST(Pci, NoPciBusIsNotAnError) {
  test::TempTree t;
  t.mkdir("/sys");
  Root root(t.dir());
  Notes notes;
  EXPECT_TRUE(read_pci_devices(root, notes).empty());
  EXPECT_TRUE(notes.empty());
}

TEST(Iommu, GroupsSortNumericallyNotLexically) {
  test::TempTree t;
  for (int g : {10, 2, 1}) t.mkdir("/sys/kernel/iommu_groups/" + std::to_string(g) + "/devices");
  t.link("/sys/kernel/iommu_groups/10/devices/0000:00:1f.3", "x");
  t.link("/sys/kernel/iommu_groups/10/devices/0000:00:1f.0", "x");
  Root root(t.dir());
  Notes notes;
  auto groups = read_iommu_groups(root, notes);
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0].id, 1);
  EXPECT_EQ(groups[1].id, 2);
  EXPECT_EQ(groups[2].id, 10);
  ASSERT_EQ(groups[2].devices.size(), 2u);
  EXPECT_EQ(groups[2].devices[0].str(), "0000:00:1f.0");
}

TEST(Iommu, UnitsByVendor) {
  test::TempTree t;
  t.link("/sys/class/iommu/dmar0", "../../devices/virtual/iommu/dmar0");
  t.link("/sys/class/iommu/ivhd0", "../../devices/pci0000:00/0000:00:00.2/iommu/ivhd0");
  Root root(t.dir());
  auto units = read_iommu_units(root);
  ASSERT_EQ(units.size(), 2u);
  EXPECT_EQ(units[0].kind, "intel-vt-d");
  EXPECT_EQ(units[1].kind, "amd-vi");
}

// sysfs `resource`: start end flags per region; BARs 0-5 only, sizes from
// start and end, unassigned BARs (start 0) keep their size, empty lines
// (no BAR, or a 64-bit BAR's upper half) skipped, garbage counted.
TEST(PciResource, ParsesBarsAndFlags) {
  std::string text =
      "0x0000000081000000 0x0000000081ffffff 0x0000000000040200\n"
      "0x0000006000000000 0x00000067ffffffff 0x000000000014220c\n"
      "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
      "0x0000006800000000 0x0000006801ffffff 0x000000000014220c\n"
      "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
      "0x0000000000005000 0x000000000000507f 0x0000000000040101\n"
      "0x0000000082000000 0x000000008207ffff 0x0000000000046200\n";
  int bad = 0;
  auto bars = parse_pci_resource(text, &bad);
  EXPECT_EQ(bad, 0);
  ASSERT_EQ(bars.size(), 4u);
  EXPECT_EQ(bars[0].index, 0);
  EXPECT_EQ(bars[0].size, uint64_t{16} << 20);
  EXPECT_FALSE(bars[0].mem64());
  EXPECT_EQ(bars[1].index, 1);
  EXPECT_EQ(bars[1].start, uint64_t{0x6000000000});
  EXPECT_EQ(bars[1].size, uint64_t{32} << 30);
  EXPECT_TRUE(bars[1].mem64());
  EXPECT_TRUE(bars[1].prefetchable());
  EXPECT_EQ(bars[2].index, 3);
  EXPECT_EQ(bars[3].index, 5);
  EXPECT_TRUE(bars[3].io());
  EXPECT_FALSE(bars[3].mem());

  bars = parse_pci_resource("0x0 0x0000000fffffffff 0x14220c\nnot hex at all\n0x10 0x1 0x200\n", &bad);
  EXPECT_EQ(bad, 2);
  ASSERT_EQ(bars.size(), 1u);
  EXPECT_EQ(bars[0].size, uint64_t{64} << 30);
  EXPECT_EQ(parse_pci_resource("0x0 0xffffffffffffffff 0x200\n0x00000000000000000 0x1 0x200\n", &bad).size(), 0u);
}

TEST(PciResource, ReadFromTheFixture) {
  Root root(std::string(VFIOCTL_SOURCE_DIR) + "/tests/hosts/rtx3090ti-rebar");
  Notes notes;
  auto devs = read_pci_devices(root, notes);
  ASSERT_EQ(devs.size(), 2u);
  ASSERT_TRUE(devs[0].bars);
  ASSERT_EQ(devs[0].bars->size(), 4u);
  EXPECT_EQ((*devs[0].bars)[1].size, uint64_t{32} << 30);
  EXPECT_EQ((*devs[0].bars)[1].start, uint64_t{0x6000000000});
  EXPECT_EQ((*devs[0].bars)[1].resizable_sizes, uint64_t{0xff00});
  EXPECT_EQ((*devs[0].bars)[1].largest_resizable(), uint64_t{32} << 30);
  EXPECT_EQ((*devs[0].bars)[0].largest_resizable(), 0u);
  ASSERT_TRUE(devs[1].bars);
  ASSERT_EQ(devs[1].bars->size(), 1u);
  EXPECT_EQ((*devs[1].bars)[0].size, uint64_t{16} << 10);
}

void ignore(char*, ...) {}

// PciNames reads pci.ids itself; every answer must be libpci's: every
// vendor id, every device id the database lists (and one it does not, per
// vendor), every class and subclass number.
TEST(PciNames, AnswersAsLibpci) {
  pci_access* a = pci_alloc();
  a->warning = a->error = a->debug = ignore;
  std::string file = a->id_file_name;
  if (file.size() > 3 && file.compare(file.size() - 3, 3, ".gz") == 0) file.resize(file.size() - 3);
  std::ifstream in(file);
  if (!in) {
    pci_cleanup(a);
    GTEST_SKIP() << "no " << file;
  }
  auto lookup = [&](int flags, auto... ids) {
    char buf[256];
    const char* n = pci_lookup_name(a, buf, sizeof buf, flags | PCI_LOOKUP_NO_NUMBERS | PCI_LOOKUP_NO_HWDB, ids...);
    return std::string(n ? n : "");
  };
  std::set<std::pair<int, int>> devices;
  std::string line;
  int vendor = -1;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line[0] != '\t') {
      vendor = line.size() > 5 && line[4] == ' ' ? std::stoi(line.substr(0, 4), nullptr, 16) : -1;
    } else if (vendor >= 0 && line.size() > 6 && line[1] != '\t') {
      devices.insert({vendor, std::stoi(line.substr(1, 4), nullptr, 16)});
      devices.insert({vendor, 0xfffe});
    }
  }
  ASSERT_GT(devices.size(), 1000u);
  PciNames names;
  int named = 0;
  for (int v = 0; v <= 0xffff; ++v) {
    std::string want = lookup(PCI_LOOKUP_VENDOR, v);
    ASSERT_EQ(names.vendor(static_cast<uint16_t>(v)), want) << std::hex << v;
    named += !want.empty();
  }
  EXPECT_GT(named, 1000);
  for (auto [v, d] : devices) {
    ASSERT_EQ(names.device(static_cast<uint16_t>(v), static_cast<uint16_t>(d)), lookup(PCI_LOOKUP_DEVICE, v, d))
        << std::hex << v << ":" << d;
  }
  for (int c = 0; c <= 0xffff; ++c) {
    ASSERT_EQ(names.device_class(static_cast<uint16_t>(c)), lookup(PCI_LOOKUP_CLASS, c)) << std::hex << c;
  }
  pci_cleanup(a);
}

}  // namespace
}  // namespace vfioctl
