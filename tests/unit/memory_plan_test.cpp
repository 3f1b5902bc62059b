// Memory plans on fixture hosts: page size, exact count, pool shortfalls
// with their fix, and requests the host cannot meet.
#include "vfioctl/plan/memory_plan.h"

#include <gtest/gtest.h>

#include "vfioctl/host/host.h"
#include "vfioctl/host/root.h"
#include "vfioctl/util/error.h"

namespace vfioctl {
namespace {

Host host(const std::string& name) {
  Root root(std::string(VFIOCTL_SOURCE_DIR) + "/tests/hosts/" + name);
  return read_host(root, HostPart::memory | HostPart::platform);
}

std::string error_of(const Host& h, const MemoryRequest& r) {
  try {
    plan_memory(h.memory, h.platform, r);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input);
    return e.what();
  }
  return "";
}

MemoryRequest req(long long mib) {
  MemoryRequest r;
  r.mib = mib;
  r.passthrough = true;
  return r;
}

TEST(MemoryPlan, WholeGibOnA1GCapableCpuUses1GPagesAndSaysToReserveAtBoot) {
  Host h = host("amd-ryzen9-3900x");  // 1 GiB pool empty, 6144 free 2 MiB pages
  auto p = plan_memory(h.memory, h.platform, req(16384));
  EXPECT_EQ(p.page_kib, 1048576);
  EXPECT_EQ(p.pages, 16);
  EXPECT_TRUE(p.locked);
  EXPECT_TRUE(p.nosharepages);
  EXPECT_FALSE(p.balloon);
  ASSERT_EQ(p.warnings.size(), 1u);
  EXPECT_NE(p.warnings[0].find("hugepagesz=1G hugepages=16"), std::string::npos);
}

TEST(MemoryPlan, TwoMegPagesCountedExactly) {
  Host h = host("amd-ryzen9-3900x");
  auto r = req(12288);
  r.page_kib = 2048;
  auto p = plan_memory(h.memory, h.platform, r);
  EXPECT_EQ(p.pages, 6144);
  EXPECT_TRUE(p.warnings.empty());  // exactly the free pool
  r.mib = 16384;
  p = plan_memory(h.memory, h.platform, r);
  EXPECT_EQ(p.pages, 8192);
  ASSERT_EQ(p.warnings.size(), 1u);
  EXPECT_NE(p.warnings[0].find("6144 free 2 MiB pages, 8192 needed"), std::string::npos);
  EXPECT_NE(p.warnings[0].find("echo 8192 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"),
            std::string::npos);
}

TEST(MemoryPlan, SizeNotWholeGibFallsBackTo2M) {
  Host h = host("amd-ryzen9-3900x");
  auto p = plan_memory(h.memory, h.platform, req(1536));
  EXPECT_EQ(p.page_kib, 2048);
  EXPECT_EQ(p.pages, 768);
  h.platform.flags.erase("pdpe1gb");
  p = plan_memory(h.memory, h.platform, req(16384));
  EXPECT_EQ(p.page_kib, 2048);
}

TEST(MemoryPlan, LockedOnlyWithPassthrough) {
  Host h = host("amd-ryzen9-3900x");
  auto r = req(2048);
  EXPECT_TRUE(plan_memory(h.memory, h.platform, r).locked);
  r.passthrough = false;
  auto p = plan_memory(h.memory, h.platform, r);
  EXPECT_EQ(p.page_kib, 1048576);
  EXPECT_FALSE(p.locked);
  EXPECT_TRUE(p.nosharepages);
}

TEST(MemoryPlan, OffMeansOrdinaryPagesAndNoBalloonStillWithPassthrough) {
  Host h = host("intel-desktop-z370");
  auto r = req(8192);
  r.hugepages_off = true;
  auto p = plan_memory(h.memory, h.platform, r);
  EXPECT_EQ(p.page_kib, 0);
  EXPECT_EQ(p.pages, 0);
  EXPECT_FALSE(p.balloon);
  r.passthrough = false;
  EXPECT_TRUE(plan_memory(h.memory, h.platform, r).balloon);
}

TEST(MemoryPlan, ImpossibleRequests) {
  Host h = host("amd-ryzen9-3900x");  // 32256 MiB
  EXPECT_NE(error_of(h, req(40960)).find("more than this host can give: it has 32256 MiB and keeps 4032 MiB"),
            std::string::npos);
  auto r = req(1536);
  r.page_kib = 1048576;
  EXPECT_NE(error_of(h, r).find("not a whole number of 1G pages"), std::string::npos);
  h.platform.flags.erase("pdpe1gb");
  r.mib = 2048;
  EXPECT_NE(error_of(h, r).find("no 1 GiB pages (no pdpe1gb flag)"), std::string::npos);
  r.page_kib = 64;
  EXPECT_NE(error_of(h, r).find("no 64K pool"), std::string::npos);
}

}  // namespace
}  // namespace vfioctl
