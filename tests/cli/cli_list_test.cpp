// vfioctl list on fixture hosts and on this machine (no IOMMU).
#include <gtest/gtest.h>

#include "run.h"

namespace vfioctl::test {
namespace {

TEST(CliList, LiveHostWithoutIommuSaysSoAndListsDevices) {
  Result r = vfioctl({"list"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("The IOMMU is off"), std::string::npos);
  EXPECT_NE(r.out.find("PCI devices:"), std::string::npos);
  Result j = vfioctl({"list", "--json"});
  ASSERT_EQ(j.rc, 0);
  auto doc = j.json();
  EXPECT_EQ(doc["iommu_enabled"], false);
  EXPECT_TRUE(doc["groups"].empty());
  EXPECT_FALSE(doc["devices_without_group"].empty());
}

TEST(CliList, UnknownSelectorIsExitTwoAndTeachesTheForms) {
  Result r = vfioctl({"list", "graphics"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("unknown selector 'graphics'"), std::string::npos);
  EXPECT_NE(r.err.find("10de:1b81"), std::string::npos);
  EXPECT_TRUE(r.out.empty());
}

}  // namespace
}  // namespace vfioctl::test
