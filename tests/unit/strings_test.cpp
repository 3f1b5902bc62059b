#include "vfioctl/util/strings.h"

#include <gtest/gtest.h>

namespace vfioctl {
namespace {

TEST(Strings, TrimAndSplit) {
  EXPECT_EQ(trim("  a b \n"), "a b");
  EXPECT_EQ(split("a,,b", ',').size(), 3u);
  auto w = split_ws("  intel_iommu=on \t iommu=pt\n");
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[1], "iommu=pt");
}

TEST(Strings, Numbers) {
  EXPECT_EQ(parse_int(" 42\n"), 42);
  EXPECT_EQ(parse_int("-1"), -1);
  EXPECT_FALSE(parse_int("4x"));
  EXPECT_FALSE(parse_int(""));
  EXPECT_EQ(parse_hex("0x10de\n"), 0x10deu);
  EXPECT_EQ(parse_hex("1B81"), 0x1b81u);
  EXPECT_FALSE(parse_hex("0x"));
  EXPECT_FALSE(parse_hex("zz"));
}

TEST(Strings, EditDistanceForSuggestions) {
  EXPECT_EQ(edit_distance("lsit", "list"), 2u);
  EXPECT_EQ(edit_distance("topo", "topo"), 0u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
}

}  // namespace
}  // namespace vfioctl
