#include "vfioctl/host/cpu.h"

#include <gtest/gtest.h>

#include "temp_tree.h"
#include "vfioctl/host/root.h"

namespace vfioctl {
namespace {

const std::string kCpu = "/sys/devices/system/cpu";

// One CPU's topology and L3 files.
void cpu(const test::TempTree& t, int id, int package, int core, const std::string& siblings, const std::string& l3) {
  std::string d = kCpu + "/cpu" + std::to_string(id);
  t.file(d + "/topology/physical_package_id", std::to_string(package) + "\n");
  t.file(d + "/topology/die_id", "0\n");
  t.file(d + "/topology/core_id", std::to_string(core) + "\n");
  t.file(d + "/topology/thread_siblings_list", siblings + "\n");
  t.file(d + "/cache/index0/level", "1\n");
  t.file(d + "/cache/index0/shared_cpu_list", siblings + "\n");
  t.file(d + "/cache/index3/level", "3\n");
  t.file(d + "/cache/index3/shared_cpu_list", l3 + "\n");
  t.file(d + "/cache/index3/size", "16384K\n");
}

// 8 CPUs, 4 cores with N/N+4 siblings, two L3 domains of two cores (like
// two CCXs), one NUMA node.
void split_host(const test::TempTree& t) {
  for (int c = 0; c < 4; ++c) {
    std::string sib = std::to_string(c) + "," + std::to_string(c + 4);
    std::string l3 = c < 2 ? "0-1,4-5" : "2-3,6-7";
    cpu(t, c, 0, c, sib, l3);
    cpu(t, c + 4, 0, c, sib, l3);
  }
  t.file(kCpu + "/online", "0-7\n");
  t.file("/sys/devices/system/node/node0/cpulist", "0-7\n");
}

TEST(Cpu, ReadsSiblingsAsTheKernelNumbersThem) {
  test::TempTree t;
  split_host(t);
  Root root(t.dir());
  Notes notes;
  auto topo = read_cpu_topology(root, notes);
  ASSERT_EQ(topo.cpus.size(), 8u);
  EXPECT_EQ(topo.find(1)->siblings, (std::vector<int>{1, 5}));
  EXPECT_EQ(topo.find(5)->core_id, 1);
  EXPECT_EQ(topo.cores(), (std::vector<std::vector<int>>{{0, 4}, {1, 5}, {2, 6}, {3, 7}}));
  ASSERT_EQ(topo.l3.size(), 2u);
  EXPECT_EQ(topo.l3[1].cpus, (std::vector<int>{2, 3, 6, 7}));
  EXPECT_EQ(topo.l3[1].size_kib, 16384);
  EXPECT_EQ(topo.find(6)->l3, 1);
  EXPECT_EQ(topo.find(6)->node, 0);
  EXPECT_FALSE(topo.hybrid);
  EXPECT_TRUE(notes.empty());
}

TEST(Cpu, OfflineCpusAreKnownButLeftOutOfSiblingsAndDomains) {
  test::TempTree t;
  split_host(t);
  t.file(kCpu + "/online", "0-6\n");
  Root root(t.dir());
  Notes notes;
  auto topo = read_cpu_topology(root, notes);
  EXPECT_FALSE(topo.find(7)->online);
  EXPECT_EQ(topo.find(3)->siblings, (std::vector<int>{3}));
  EXPECT_EQ(topo.l3[1].cpus, (std::vector<int>{2, 3, 6}));
  EXPECT_EQ(topo.online().size(), 7u);
}

TEST(Cpu, PerCpuOnlineFilesWhenThereIsNoGlobalList) {
  test::TempTree t;
  split_host(t);
  std::filesystem::remove(t.dir() / "sys/devices/system/cpu/online");
  t.file(kCpu + "/cpu3/online", "0\n");
  t.file(kCpu + "/cpu4/online", "1\n");
  Root root(t.dir());
  Notes notes;
  auto topo = read_cpu_topology(root, notes);
  EXPECT_TRUE(topo.find(0)->online);  // cpu0 has no file: its topology says it is there
  EXPECT_FALSE(topo.find(3)->online);
  EXPECT_TRUE(topo.find(4)->online);
}

TEST(Cpu, IsolatedAndNohzFull) {
  test::TempTree t;
  split_host(t);
  t.file(kCpu + "/isolated", "2-3,6-7\n");
  t.file(kCpu + "/nohz_full", "(null)\n");
  Root root(t.dir());
  Notes notes;
  auto topo = read_cpu_topology(root, notes);
  EXPECT_EQ(topo.isolated, (std::vector<int>{2, 3, 6, 7}));
  EXPECT_TRUE(topo.find(6)->isolated);
  EXPECT_FALSE(topo.find(1)->isolated);
  EXPECT_TRUE(topo.nohz_full.empty());
  EXPECT_TRUE(notes.empty());  // "(null)" is how the kernel says none
}

TEST(Cpu, HybridKindsFromThePmus) {
  test::TempTree t;
  // 2 P-cores with adjacent siblings (0-3) and 2 E-cores (4, 5).
  cpu(t, 0, 0, 0, "0-1", "0-5");
  cpu(t, 1, 0, 0, "0-1", "0-5");
  cpu(t, 2, 0, 4, "2-3", "0-5");
  cpu(t, 3, 0, 4, "2-3", "0-5");
  cpu(t, 4, 0, 8, "4", "0-5");
  cpu(t, 5, 0, 9, "5", "0-5");
  t.file(kCpu + "/online", "0-5\n");
  t.file("/sys/devices/cpu_core/cpus", "0-3\n");
  t.file("/sys/devices/cpu_atom/cpus", "4-5\n");
  Root root(t.dir());
  Notes notes;
  auto topo = read_cpu_topology(root, notes);
  EXPECT_TRUE(topo.hybrid);
  EXPECT_EQ(topo.find(1)->kind, CoreKind::performance);
  EXPECT_EQ(topo.find(5)->kind, CoreKind::efficiency);
  EXPECT_EQ(topo.cores().size(), 4u);
}

TEST(Cpu, HybridKindsFromBaseFrequencyWhenThePmusAreMissing) {
  test::TempTree t;
  cpu(t, 0, 0, 0, "0-1", "0-3");
  cpu(t, 1, 0, 0, "0-1", "0-3");
  cpu(t, 2, 0, 8, "2", "0-3");
  cpu(t, 3, 0, 9, "3", "0-3");
  t.file(kCpu + "/online", "0-3\n");
  for (int c = 0; c < 4; ++c) {
    t.file(kCpu + "/cpu" + std::to_string(c) + "/cpufreq/base_frequency", c < 2 ? "1900000\n" : "1400000\n");
  }
  Root root(t.dir());
  Notes notes;
  auto topo = read_cpu_topology(root, notes);
  EXPECT_TRUE(topo.hybrid);
  EXPECT_EQ(topo.find(0)->kind, CoreKind::performance);
  EXPECT_EQ(topo.find(3)->kind, CoreKind::efficiency);
}

TEST(Cpu, UniformFrequencyIsNotHybrid) {
  test::TempTree t;
  split_host(t);
  for (int c = 0; c < 8; ++c) t.file(kCpu + "/cpu" + std::to_string(c) + "/cpufreq/base_frequency", "3600000\n");
  Root root(t.dir());
  Notes notes;
  auto topo = read_cpu_topology(root, notes);
  EXPECT_FALSE(topo.hybrid);
  EXPECT_EQ(topo.find(0)->kind, CoreKind::unknown);
}

TEST(Cpu, MissingTreeIsANoteNotACrash) {
  test::TempTree t;
  t.mkdir("/proc");
  Root root(t.dir());
  Notes notes;
  auto topo = read_cpu_topology(root, notes);
  EXPECT_TRUE(topo.cpus.empty());
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].path, "/sys/devices/system/cpu");
}

TEST(Cpu, SiblingListWithoutTheCpuItselfIsCorrectedWithANote) {
  test::TempTree t;
  split_host(t);
  t.file(kCpu + "/cpu2/topology/thread_siblings_list", "3\n");
  Root root(t.dir());
  Notes notes;
  auto topo = read_cpu_topology(root, notes);
  EXPECT_EQ(topo.find(2)->siblings, std::vector<int>{2});
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].message.find("does not contain the CPU itself"), std::string::npos);
}

}  // namespace
}  // namespace vfioctl
