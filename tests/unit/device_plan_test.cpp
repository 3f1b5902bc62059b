#include "vfioctl/plan/device_plan.h"

#include <gtest/gtest.h>

namespace vfioctl {
namespace {

// Builds a host from (address, vendor:device, class, driver, group) rows.
struct Row {
  const char* addr;
  uint16_t vendor;
  uint16_t device;
  uint32_t cls;
  const char* driver;
  int group;
};

Host make_host(const std::vector<Row>& rows) {
  Host h;
  std::map<int, IommuGroup> groups;
  for (const auto& r : rows) {
    PciDevice d;
    d.address = *PciAddress::parse(r.addr);
    d.vendor_id = r.vendor;
    d.device_id = r.device;
    d.class_code = r.cls;
    if (r.driver) d.driver = r.driver;
    d.iommu_group = r.group;
    h.pci.push_back(d);
    groups[r.group].id = r.group;
    groups[r.group].devices.push_back(d.address);
  }
  std::sort(h.pci.begin(), h.pci.end(), [](const auto& a, const auto& b) { return a.address < b.address; });
  for (auto& [id, g] : groups) h.groups.push_back(g);
  return h;
}

TEST(DevicePlan, GpuBehindItsRootPortIsPassable) {
  Host h = make_host({{"00:01.0", 0x8086, 0x1901, 0x060400, "pcieport", 1},
                      {"01:00.0", 0x10de, 0x1b81, 0x030000, "nouveau", 1},
                      {"01:00.1", 0x10de, 0x10f0, 0x040300, "snd_hda_intel", 1}});
  auto a = assess_group(h, h.groups[0]);
  EXPECT_EQ(a.verdict, GroupVerdict::passable);
  EXPECT_EQ(a.endpoints.size(), 2u);
  EXPECT_EQ(a.bridges.size(), 1u);
  EXPECT_TRUE(group_companions(h, h.groups[0], *PciAddress::parse("01:00.0")).empty());
}

TEST(DevicePlan, ReadyOnlyWhenEveryEndpointIsOnVfio) {
  Host h = make_host({{"00:01.0", 0x8086, 0x1901, 0x060400, "pcieport", 1},
                      {"01:00.0", 0x10de, 0x1b81, 0x030000, "vfio-pci", 1},
                      {"01:00.1", 0x10de, 0x10f0, 0x040300, "snd_hda_intel", 1}});
  EXPECT_EQ(assess_group(h, h.groups[0]).verdict, GroupVerdict::passable);
  h.pci[2].driver = "vfio-pci";
  EXPECT_EQ(assess_group(h, h.groups[0]).verdict, GroupVerdict::ready);
}

TEST(DevicePlan, ChipsetGroupIsSharedAndNamesTheOthers) {
  Host h = make_host({{"00:1f.0", 0x8086, 0xa2c9, 0x060100, nullptr, 10},
                      {"00:1f.3", 0x8086, 0xa2f0, 0x040300, "snd_hda_intel", 10},
                      {"00:1f.4", 0x8086, 0xa2a3, 0x0c0500, "i801_smbus", 10}});
  auto a = assess_group(h, h.groups[0]);
  EXPECT_EQ(a.verdict, GroupVerdict::shared);
  // One slot, but the LPC bridge and SMBus are the platform itself: passing
  // the audio function would take them from the host.
  EXPECT_EQ(a.endpoints.size(), 3u);
  auto others = group_companions(h, h.groups[0], *PciAddress::parse("00:1f.3"));
  ASSERT_EQ(others.size(), 2u);
  EXPECT_EQ(others[0].short_str(), "00:1f.0");
}

TEST(DevicePlan, DifferentSlotsInOneGroupAreShared) {
  Host h = make_host({{"02:00.0", 0x1022, 0x43ef, 0x0c0330, "xhci_hcd", 10},
                      {"02:00.1", 0x1022, 0x43eb, 0x010601, "ahci", 10},
                      {"02:00.2", 0x1022, 0x43e9, 0x060400, "pcieport", 10},
                      {"05:00.0", 0x10ec, 0x8168, 0x020000, "r8169", 10}});
  auto a = assess_group(h, h.groups[0]);
  EXPECT_EQ(a.verdict, GroupVerdict::shared);
  auto others = group_companions(h, h.groups[0], *PciAddress::parse("05:00.0"));
  ASSERT_EQ(others.size(), 2u);
  EXPECT_EQ(others[0].short_str(), "02:00.0");
  EXPECT_EQ(others[1].short_str(), "02:00.1");
}

TEST(DevicePlan, BridgesOnlyIsNone) {
  Host h = make_host({{"00:01.0", 0x1022, 0x1482, 0x060000, nullptr, 0}});
  EXPECT_EQ(assess_group(h, h.groups[0]).verdict, GroupVerdict::none);
  EXPECT_STREQ(verdict_name(GroupVerdict::none), "none");
}

TEST(DevicePlan, SharedIdsIgnoreBridges) {
  Host h = make_host({{"00:01.1", 0x1022, 0x1483, 0x060400, "pcieport", 1},
                      {"00:01.2", 0x1022, 0x1483, 0x060400, "pcieport", 2},
                      {"03:00.0", 0x8086, 0x1533, 0x020000, "igb", 3},
                      {"04:00.0", 0x8086, 0x1533, 0x020000, "igb", 4}});
  auto ids = shared_ids(h);
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(ids.begin()->first, "8086:1533");
  EXPECT_EQ(ids.begin()->second.size(), 2u);
}

}  // namespace
}  // namespace vfioctl
