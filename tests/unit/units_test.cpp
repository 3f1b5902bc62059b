#include "vfioctl/util/units.h"

#include <gtest/gtest.h>

namespace vfioctl {
namespace {

TEST(Units, DividesTakesTheLargestExactUnit) {
  EXPECT_EQ(size_text_kib(2048), "2M");
  EXPECT_EQ(size_text_kib(1048576), "1G");
  EXPECT_EQ(size_text_kib(3 * 1048576 / 2), "1536M");
  EXPECT_EQ(size_text_kib(100), "100K");
  EXPECT_EQ(size_text_mib(16384), "16G");
  EXPECT_EQ(size_text_mib(1000), "1000M");
  // Zero divides by anything: the largest unit (setup's "0G").
  EXPECT_EQ(size_text_kib(0), "0G");
  EXPECT_EQ(size_text_mib(0), "0G");
  // Never past the largest unit asked for.
  EXPECT_EQ(size_text_kib(4LL << 30), "4096G");
  EXPECT_EQ(size_text_mib(1LL << 20, {.largest = Unit::T}), "1T");
  EXPECT_EQ(size_text_kib(1048576, {.largest = Unit::M}), "1024M");
  EXPECT_EQ(size_text_kib(1025, {.largest = Unit::M}), "1025K");
}

TEST(Units, WholeNeedsAtLeastOneOfTheUnit) {
  SizeStyle whole{.largest = Unit::T, .fit = Fit::whole};
  EXPECT_EQ(size_text_mib(0, whole), "0M");
  EXPECT_EQ(size_text_mib(-1024, whole), "-1024M");
  EXPECT_EQ(size_text_mib(2LL << 20, whole), "2T");
  EXPECT_EQ(size_text_mib(1536, whole), "1536M");
  EXPECT_EQ(page_name(2048), "2 MiB");
  EXPECT_EQ(page_name(1048576), "1 GiB");
  EXPECT_EQ(page_name(64), "64 KiB");
  EXPECT_EQ(page_name(0), "0 KiB");
}

TEST(Units, ReachesRoundsDown) {
  EXPECT_EQ(size_text_kib(1048576 + 2048, {.fit = Fit::reaches}), "1G");
  EXPECT_EQ(size_text_kib(3000, {.fit = Fit::reaches}), "2M");
  EXPECT_EQ(size_text_kib(512, {.fit = Fit::reaches}), "512K");
  // Not below the smallest unit: 512 KiB is "0M" then.
  EXPECT_EQ(size_text_kib(512, {.smallest = Unit::M, .fit = Fit::reaches}), "0M");
  EXPECT_EQ(size_text_kib(2048, {.smallest = Unit::M, .spelled = true, .fit = Fit::reaches}), "2 MiB");
}

TEST(Units, BytesRunToTheTopOf64Bits) {
  SizeStyle bytes{.largest = Unit::T, .spelled = true, .fit = Fit::whole};
  EXPECT_EQ(size_text_bytes(32ULL << 30, bytes), "32 GiB");
  EXPECT_EQ(size_text_bytes(288ULL << 20, bytes), "288 MiB");
  EXPECT_EQ(size_text_bytes(1000, bytes), "1000 bytes");
  EXPECT_EQ(size_text_bytes(0, bytes), "0 bytes");
  EXPECT_EQ(size_text_bytes(UINT64_MAX, bytes), "18446744073709551615 bytes");
  EXPECT_EQ(size_text_bytes(1ULL << 63, bytes), "8388608 TiB");
  EXPECT_EQ(size_text_bytes(2048), "2K");
}

}  // namespace
}  // namespace vfioctl
