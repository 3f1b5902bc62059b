#include "vfioctl/util/cpulist.h"

#include <gtest/gtest.h>

namespace vfioctl {
namespace {

using V = std::vector<int>;

TEST(Cpulist, ParsesRangesAndSingles) {
  EXPECT_EQ(parse_cpulist("0-3,8-11\n"), V({0, 1, 2, 3, 8, 9, 10, 11}));
  EXPECT_EQ(parse_cpulist("5"), V({5}));
  EXPECT_EQ(parse_cpulist("3,1,2,1"), V({1, 2, 3}));  // sorted, no duplicates
  EXPECT_EQ(parse_cpulist(""), V({}));
  EXPECT_EQ(parse_cpulist("\n"), V({}));
}

TEST(Cpulist, RejectsGarbage) {
  EXPECT_FALSE(parse_cpulist("a-b"));
  EXPECT_FALSE(parse_cpulist("3-1"));
  EXPECT_FALSE(parse_cpulist("1,,2"));
  EXPECT_FALSE(parse_cpulist("-1"));
  EXPECT_FALSE(parse_cpulist("(null)"));
  EXPECT_FALSE(parse_cpulist("0-99999999"));
}

TEST(Cpulist, ParsesKernelMasks) {
  EXPECT_EQ(parse_cpumask("00000003"), V({0, 1}));
  EXPECT_EQ(parse_cpumask("00000001,00000000"), V({32}));
  EXPECT_EQ(parse_cpumask("f0\n"), V({4, 5, 6, 7}));
  EXPECT_FALSE(parse_cpumask("xyz"));
}

TEST(Cpulist, FormatsAsRanges) {
  EXPECT_EQ(format_cpulist({0, 1, 2, 3, 8}), "0-3,8");
  EXPECT_EQ(format_cpulist({12, 0, 13, 1}), "0-1,12-13");
  EXPECT_EQ(format_cpulist({}), "");
  EXPECT_EQ(format_cpulist({7}), "7");
}

TEST(Cpulist, RoundTrips) {
  for (const char* text : {"0-3,8-11", "1,3,5", "0-63", "6-11,18-23"}) {
    EXPECT_EQ(format_cpulist(*parse_cpulist(text)), text);
  }
}

}  // namespace
}  // namespace vfioctl
