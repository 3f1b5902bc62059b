#include "vfioctl/host/selector.h"

#include <gtest/gtest.h>

namespace vfioctl {
namespace {

PciDevice device(const char* addr, uint16_t vendor, uint16_t dev, uint32_t cls) {
  PciDevice d;
  d.address = *PciAddress::parse(addr);
  d.vendor_id = vendor;
  d.device_id = dev;
  d.class_code = cls;
  return d;
}

TEST(Selector, EveryForm) {
  auto gpu = device("0000:01:00.0", 0x10de, 0x1b81, 0x030000);
  auto audio = device("0000:01:00.1", 0x10de, 0x10f0, 0x040300);
  auto nvme = device("0000:02:00.0", 0x144d, 0xa808, 0x010802);

  auto addr = parse_selector("01:00.0");
  ASSERT_TRUE(addr);
  EXPECT_EQ(addr->kind, Selector::Kind::address);
  EXPECT_TRUE(selector_matches(*addr, gpu));
  EXPECT_FALSE(selector_matches(*addr, audio));
  EXPECT_TRUE(selector_matches(*parse_selector("0000:01:00.1"), audio));

  auto slot = parse_selector("01:00");
  ASSERT_TRUE(slot);
  EXPECT_EQ(slot->kind, Selector::Kind::slot);
  EXPECT_TRUE(selector_matches(*slot, gpu));
  EXPECT_TRUE(selector_matches(*slot, audio));
  EXPECT_FALSE(selector_matches(*slot, nvme));

  auto ids = parse_selector("10DE:1B81");
  ASSERT_TRUE(ids);
  EXPECT_EQ(ids->kind, Selector::Kind::ids);
  EXPECT_TRUE(selector_matches(*ids, gpu));
  EXPECT_FALSE(selector_matches(*ids, audio));

  EXPECT_TRUE(selector_matches(*parse_selector("gpu"), gpu));
  EXPECT_TRUE(selector_matches(*parse_selector("audio"), audio));
  EXPECT_TRUE(selector_matches(*parse_selector("nvme"), nvme));
  EXPECT_FALSE(selector_matches(*parse_selector("usb"), nvme));
  EXPECT_FALSE(selector_matches(*parse_selector("net"), gpu));
}

TEST(Selector, RejectsWhatIsNone) {
  for (const char* bad : {"", "graphics", "01:00.9", "10de", "10de:1b8", "zz:zz.z"}) {
    EXPECT_FALSE(parse_selector(bad)) << bad;
  }
}

}  // namespace
}  // namespace vfioctl
