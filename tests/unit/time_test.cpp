#include "vfioctl/util/time.h"

#include <gtest/gtest.h>

namespace vfioctl {
namespace {

TEST(Time, UtcTimestampIsIso8601ToTheSecond) {
  EXPECT_EQ(utc_timestamp(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(utc_timestamp(1796674317), "2026-12-07T20:11:57Z");
  std::string now = utc_now();
  ASSERT_EQ(now.size(), 20u);
  EXPECT_EQ(now[10], 'T');
  EXPECT_EQ(now.back(), 'Z');
}

}  // namespace
}  // namespace vfioctl
