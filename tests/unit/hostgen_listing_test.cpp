// The IOMMU listing parser against every listing in tests/hosts/src/listings.
#include <gtest/gtest.h>

#include <string>

#include "description.h"
#include "listing.h"

namespace vfioctl::hostgen {
namespace {

Listing load(const std::string& file) {
  std::string path = std::string(VFIOCTL_SOURCE_DIR) + "/tests/hosts/src/listings/" + file;
  return parse_listing(read_text_file(path), file);
}

const ListedDevice& dev(const Listing& l, const char* addr) {
  const ListedDevice* d = l.find(addr);
  if (!d) throw std::runtime_error(std::string("no device ") + addr);
  return *d;
}

TEST(hostgen_device_line, BracketsInNamesAndLastIdsWin) {
  auto d = parse_device_line(
      "2d:00.1 Audio device [0403]: Advanced Micro Devices, Inc. [AMD/ATI] Ellesmere HDMI Audio "
      "[Radeon RX 470/480 / 570/580/590] [1002:aaf0]",
      "t");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->class_id, 0x0403);
  EXPECT_EQ(d->vendor_id, 0x1002);
  EXPECT_EQ(d->device_id, 0xaaf0);
  EXPECT_FALSE(d->revision);
  EXPECT_EQ(d->class_name, "Audio device");
}

TEST(hostgen_device_line, DomainRevisionProgIf) {
  auto d = parse_device_line(
      "0000:00:14.0 USB controller [0c03]: Intel Corporation Device [8086:a2af] (rev 31) (prog-if 30 [XHCI])", "t");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->address.str(), "0000:00:14.0");
  EXPECT_EQ(d->revision, 0x31);
  EXPECT_EQ(d->prog_if, 0x30);
}

TEST(hostgen_device_line, NotADeviceAndMalformed) {
  EXPECT_FALSE(parse_device_line("sda     5.5T", "t"));
  EXPECT_FALSE(parse_device_line("Bus 001 Device 004: ID 8087:0029 Intel Corp.", "t"));
  EXPECT_THROW(parse_device_line("01:00.0 VGA compatible controller: NVIDIA [10de:1b80]", "f:3"), InputError);
  try {
    parse_device_line("01:00.0 VGA [0300]: NVIDIA GP104", "f.txt:7");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("f.txt:7"), std::string::npos);
  }
}

TEST(hostgen_listing, RejectsTextWithoutDevices) { EXPECT_THROW(parse_listing("hello\nworld\n", "x.txt"), InputError); }

TEST(hostgen_listing, OneLineLexicographicWithCmdline) {
  auto l = load("intel-i5-9400-asrock-z370m-itx_gt1030_asokolsky-duo.txt");
  EXPECT_TRUE(l.has_groups);
  EXPECT_EQ(l.devices.size(), 21u);
  EXPECT_EQ(l.group_ids().size(), 15u);
  ASSERT_TRUE(l.cmdline);
  EXPECT_EQ(l.cmdline->substr(0, 11), "BOOT_IMAGE=");
  auto g2 = l.group(2);
  ASSERT_EQ(g2.size(), 3u);
  EXPECT_EQ(g2[0].address.short_str(), "00:01.0");
  EXPECT_EQ(g2[1].vendor_id, 0x10de);
  EXPECT_EQ(g2[1].device_id, 0x1d01);
  EXPECT_EQ(g2[1].revision, 0xa1);
  EXPECT_FALSE(dev(l, "01:00.0").driver);
}

TEST(hostgen_listing, FujitsuBmcSharesGroup) {
  auto l = load("xeon-e3-1230v6-fujitsu-tx1320m3-c236_asokolsky-fuji.txt");
  EXPECT_EQ(l.devices.size(), 21u);
  EXPECT_EQ(dev(l, "02:00.0").group, 10);
  EXPECT_EQ(dev(l, "02:00.1").group, 10);
  EXPECT_EQ(dev(l, "02:00.1").class_id, 0x0b40);
  EXPECT_EQ(dev(l, "03:00.0").device_id, dev(l, "04:00.0").device_id);
  EXPECT_NE(l.cmdline->find("intel_iommu=on"), std::string::npos);
}

TEST(hostgen_listing, AnnotatedNixComments) {
  auto l = load("xeon-e5-sandybridge-ep_hp-dl380p-gen8_hernad-annotated.nix.txt");
  EXPECT_EQ(l.devices.size(), 84u);
  EXPECT_EQ(l.group_ids().size(), 61u);
  EXPECT_EQ(l.group(29).size(), 4u);
  EXPECT_EQ(dev(l, "01:00.1").class_id, 0x0300);
  EXPECT_EQ(dev(l, "1f:13.6").group, 60);
  EXPECT_EQ(l.group(31).size(), 4u);
}

TEST(hostgen_listing, BlockFormWithPromptAndLoop) {
  auto l = load("ryzen-matisse-x570-msi_gt710+rx580_yyu-vm.txt");
  EXPECT_EQ(l.devices.size(), 47u);
  EXPECT_EQ(l.group_ids().size(), 32u);
  EXPECT_EQ(dev(l, "24:00.0").group, 23);
  EXPECT_EQ(dev(l, "2d:00.0").device_id, 0x67df);
  EXPECT_EQ(dev(l, "2d:00.0").revision, 0xe7);
  EXPECT_EQ(l.group(20).size(), 4u);
}

TEST(hostgen_listing, LspciNnkHasNoGroupsButDrivers) {
  auto l = load("ryzen-matisse-x570-msi_gt710+rx580_yyu-vm_lspci-nnk.txt");
  EXPECT_FALSE(l.has_groups);
  EXPECT_TRUE(l.group_ids().empty());
  EXPECT_EQ(l.devices.size(), 49u);
  EXPECT_EQ(dev(l, "24:00.0").driver, "vfio-pci");
  EXPECT_EQ(dev(l, "24:00.0").subsystem_vendor_id, 0x3842);
  EXPECT_EQ(dev(l, "24:00.0").subsystem_device_id, 0x2717);
  EXPECT_EQ(dev(l, "24:00.0").modules.size(), 4u);
  EXPECT_EQ(dev(l, "2d:00.0").driver, "amdgpu");
  EXPECT_EQ(dev(l, "00:00.2").class_id, 0x0806);
  EXPECT_EQ(dev(l, "00:14.3").driver, "");  // listed without a driver line: unbound
}

TEST(hostgen_listing, SortedOneLine3900x) {
  auto l = load("ryzen9-3900x-gigabyte-x570-aorus-pro-wifi_joe-p.txt");
  EXPECT_EQ(l.devices.size(), 54u);
  EXPECT_EQ(l.group_ids().size(), 39u);
  EXPECT_EQ(dev(l, "0b:00.0").device_id, 0x1b06);
  EXPECT_EQ(l.group(30).size(), 2u);
  EXPECT_EQ(l.group(23).size(), 4u);
}

TEST(hostgen_listing, TreeFormat) {
  auto l = load("threadripper-1900X-asrock-x399-taichi_tree-format_tehcorwiz.txt");
  EXPECT_EQ(l.devices.size(), 67u);
  EXPECT_EQ(l.group_ids().size(), 40u);
  EXPECT_EQ(l.group_ids().back(), 39);
  EXPECT_EQ(dev(l, "43:00.0").group, 34);
  EXPECT_EQ(dev(l, "43:00.0").device_id, 0x1c03);
  EXPECT_EQ(l.group(11).size(), 8u);
  EXPECT_EQ(dev(l, "45:00.2").group, 39);
}

TEST(hostgen_listing, UnsortedThreadripper) {
  auto l = load("threadripper-3960x-asrock-trx40-creator_ryanherbison.txt");
  EXPECT_EQ(l.devices.size(), 89u);
  EXPECT_EQ(l.group_ids().size(), 73u);
  EXPECT_EQ(l.devices.front().address.short_str(), "45:00.0");
  EXPECT_EQ(dev(l, "21:00.0").device_id, 0x1b80);
  EXPECT_FALSE(l.lists_drivers);
}

TEST(hostgen_listing, WithDriversAndBlockDevices) {
  auto l = load("threadripper-3960x-asrock-trx40-creator_with-drivers_ryanherbison.txt");
  auto plain = load("threadripper-3960x-asrock-trx40-creator_ryanherbison.txt");
  EXPECT_EQ(l.devices.size(), plain.devices.size());
  EXPECT_EQ(l.group_ids().size(), 73u);
  EXPECT_TRUE(l.lists_drivers);
  EXPECT_EQ(dev(l, "21:00.0").driver, "vfio-pci");
  EXPECT_EQ(dev(l, "4c:00.1").driver, "vfio-pci");
  EXPECT_EQ(dev(l, "01:00.0").driver, "nouveau");
  EXPECT_EQ(dev(l, "20:02.0").driver, "");  // "Driver: none"
  EXPECT_EQ(dev(l, "48:00.0").driver, "ahci");
  EXPECT_EQ(dev(l, "48:00.0").group, 51);
}

TEST(hostgen_listing, PartialGroupsAndElisions) {
  auto g814 = load("laptop-asus-rog-strix-g814_i7-13650HX_rtx4080-mobile_PARTIAL-gpu-group_fanfan42.txt");
  EXPECT_EQ(g814.devices.size(), 2u);
  EXPECT_EQ(g814.devices[0].group, 16);
  EXPECT_EQ(g814.devices[0].device_id, 0x27e0);
  auto legion = load("laptop-lenovo-legion5-17ACH6H_ryzen7-5800H_rtx3060-mobile_PARTIAL-gpu-group_fanfan42.txt");
  EXPECT_EQ(legion.group(10).size(), 2u);
  EXPECT_EQ(dev(legion, "01:00.1").device_id, 0x228e);
  auto before = load("amd-renoir_BEFORE-acs-override-partial_benbaker76.txt");
  EXPECT_EQ(before.devices.size(), 10u);
  EXPECT_EQ(before.group_ids(), std::vector<int>{2});
  EXPECT_EQ(dev(before, "06:00.0").device_id, 0x7901);
  auto after = load("amd-renoir_AFTER-acs-override-downstream-multifunction_benbaker76.txt");
  EXPECT_EQ(after.group_ids().size(), 22u);
  EXPECT_EQ(after.devices.size(), 30u);
}

TEST(hostgen_listing, AcsOverrideBeforeAndAfter) {
  auto before = load("amd-renoir-pro_lenovo-m75s-gen2_BEFORE-acs-override_masafm.txt");
  auto after = load("amd-renoir-pro_lenovo-m75s-gen2_AFTER-acs-override_masafm.txt");
  EXPECT_EQ(before.devices.size(), 39u);
  EXPECT_EQ(after.devices.size(), 39u);
  EXPECT_EQ(before.group_ids().size(), 12u);
  EXPECT_EQ(after.group_ids().size(), 31u);
  EXPECT_EQ(before.group(10).size(), 12u);
  EXPECT_EQ(dev(before, "0c:00.0").group, 5);
  EXPECT_EQ(dev(after, "0c:00.0").group, 24);
}

TEST(hostgen_listing, DerivedTwoIdenticalGpus) {
  auto l = load("two-identical-gt710_derived-from-yyu-vm.txt");
  EXPECT_EQ(l.devices.size(), 47u);
  EXPECT_EQ(dev(l, "2d:00.0").device_id, dev(l, "24:00.0").device_id);
  EXPECT_EQ(dev(l, "2d:00.1").device_id, 0x0e0f);
  EXPECT_EQ(dev(l, "2d:00.0").group, 27);
}

}  // namespace
// lspci -v region lines, as the `bars` key takes them.
TEST(hostgen_region, LspciRegionLines) {
  auto r = parse_region("\tRegion 1: Memory at 6000000000 (64-bit, prefetchable) [size=32G]");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->index, 1);
  EXPECT_TRUE(r->mem64);
  EXPECT_TRUE(r->prefetch);
  EXPECT_EQ(r->start, uint64_t{0x6000000000});
  EXPECT_EQ(r->size, uint64_t{32} << 30);
  r = parse_region("Memory at 81000000 (32-bit, non-prefetchable) [size=16M]");
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->index);
  EXPECT_FALSE(r->mem64);
  EXPECT_FALSE(r->prefetch);
  r = parse_region("I/O ports at 5000 [size=128]");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->io);
  EXPECT_EQ(r->size, 128u);
  r = parse_region("Expansion ROM at 82000000 [disabled] [size=512K]");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->rom);
  EXPECT_EQ(r->size, uint64_t{512} << 10);
  EXPECT_FALSE(parse_region("Capabilities: <access denied>"));
  EXPECT_FALSE(parse_region("Memory at 81000000 [size=16M]"));
  EXPECT_FALSE(parse_region("Memory at zz (32-bit, non-prefetchable) [size=16M]"));
  EXPECT_FALSE(parse_region("Region 7: Memory at 0 (32-bit, non-prefetchable) [size=16M]"));
  EXPECT_FALSE(parse_region("Memory at 0 (32-bit, non-prefetchable) [size=0]"));
}

}  // namespace vfioctl::hostgen
