#include "vfioctl/host/memory.h"

#include <gtest/gtest.h>

#include "temp_tree.h"
#include "vfioctl/host/root.h"

namespace vfioctl {
namespace {

TEST(Memory, MeminfoPoolsAndThp) {
  test::TempTree t;
  t.file("/proc/meminfo", "MemTotal:       32768000 kB\nMemFree:  1000 kB\nHugePages_Total:      64\n");
  t.file("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "64\n");
  t.file("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "60\n");
  t.file("/sys/kernel/mm/hugepages/hugepages-2048kB/resv_hugepages", "0\n");
  t.file("/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages", "8\n");
  t.file("/sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages", "32\n");
  t.file("/sys/kernel/mm/transparent_hugepage/enabled", "always [madvise] never\n");
  Root root(t.dir());
  Notes notes;
  Memory m = read_memory(root, notes);
  EXPECT_EQ(m.total_kib(), 32768000);
  EXPECT_EQ(m.meminfo_kib.at("HugePages_Total"), 64);
  EXPECT_EQ(m.page_sizes(), (std::vector<long long>{2048, 1048576}));
  ASSERT_TRUE(m.pool(2048));
  EXPECT_EQ(m.pool(2048)->total, 64);
  EXPECT_EQ(m.pool(2048)->free, 60);
  EXPECT_EQ(m.pool(1048576)->total, 8);
  EXPECT_FALSE(m.pool(1048576)->free);  // file absent: unknown, not zero
  ASSERT_TRUE(m.pool(2048, 1));
  EXPECT_EQ(m.pool(2048, 1)->total, 32);
  EXPECT_EQ(m.thp_enabled, "madvise");
  EXPECT_FALSE(m.thp_defrag);
}

TEST(Memory, BracketedChoice) {
  EXPECT_EQ(bracketed_choice("[always] madvise never"), "always");
  EXPECT_FALSE(bracketed_choice("always madvise never"));
}

TEST(Memory, MissingMeminfoIsANote) {
  test::TempTree t;
  t.mkdir("/proc");
  Root root(t.dir());
  Notes notes;
  Memory m = read_memory(root, notes);
  EXPECT_FALSE(m.total_kib());
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].path, "/proc/meminfo");
}

}  // namespace
}  // namespace vfioctl
