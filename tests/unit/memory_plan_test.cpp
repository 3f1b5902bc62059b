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

// hugepages = "auto": 1 GiB pages only where they exist (free now, or
// reserved on the kernel command line), else 2 MiB pages, which the host
// can reserve while it runs.
TEST(MemoryPlanAuto, OneGibPagesNeitherFreeNorReservedAtBootGive2MibPages) {
  Host h = host("amd-ryzen9-3900x");  // pdpe1gb, 1 GiB pool empty, 6144 free 2 MiB pages
  auto p = plan_memory(h.memory, h.platform, req(16384));
  EXPECT_EQ(p.page_kib, 2048);
  EXPECT_EQ(p.pages, 8192);
  EXPECT_TRUE(p.locked);
  EXPECT_TRUE(p.nosharepages);
  EXPECT_FALSE(p.balloon);
  ASSERT_EQ(p.reasons.size(), 1u);
  EXPECT_NE(p.reasons[0].find("1 GiB pages would need 16 reserved at boot (0 free, 0 on the kernel command line)"),
            std::string::npos)
      << p.reasons[0];
}

TEST(MemoryPlanAuto, OneGibPagesReservedOnTheCommandLineAreUsedAndTheShortfallNamesTheArguments) {
  Host h = host("amd-ryzen9-3900x");
  auto r = req(16384);
  r.boot_pages[1048576] = 16;  // hugepagesz=1G hugepages=16, not reserved yet (no reboot)
  auto p = plan_memory(h.memory, h.platform, r);
  EXPECT_EQ(p.page_kib, 1048576);
  EXPECT_EQ(p.pages, 16);
  EXPECT_NE(p.reasons.at(0).find("the kernel command line reserves 16"), std::string::npos) << p.reasons[0];
  ASSERT_EQ(p.warnings.size(), 1u);
  EXPECT_NE(p.warnings[0].find("kernel arguments hugepagesz=1G hugepages=16;"), std::string::npos) << p.warnings[0];
  // Fewer than the guest needs: 2 MiB pages.
  r.boot_pages[1048576] = 8;
  EXPECT_EQ(plan_memory(h.memory, h.platform, r).page_kib, 2048);
}

TEST(MemoryPlanAuto, FreeOneGibPagesAreUsed) {
  Host h = host("intel-hybrid-13700k");  // 16 free 1 GiB pages
  auto p = plan_memory(h.memory, h.platform, req(16384));
  EXPECT_EQ(p.page_kib, 1048576);
  EXPECT_TRUE(p.warnings.empty());
  EXPECT_NE(p.reasons.at(0).find("16 free now, 16 needed"), std::string::npos) << p.reasons[0];
  EXPECT_EQ(plan_memory(h.memory, h.platform, req(20480)).page_kib, 2048);  // 20 needed, 16 free
}

// The one description of a boot-time reservation: new, the QEMU script,
// setup, doctor and the hook all say this.
TEST(HugepageBoot, ArgumentsAndMountForEachPageSizeAndInitSystem) {
  auto g = hugepage_boot(1048576, 16, false);
  EXPECT_EQ(g.args_text(), "hugepagesz=1G hugepages=16");
  EXPECT_EQ(g.mount_dir, "/dev/hugepages1G");
  EXPECT_EQ(g.fstab, "hugetlbfs1g /dev/hugepages1G hugetlbfs pagesize=1G 0 0");
  auto m = hugepage_boot(2048, 512, false);
  EXPECT_EQ(m.args_text(), "hugepagesz=2M hugepages=512");
  EXPECT_EQ(m.mount_dir, "/dev/hugepages");
  EXPECT_EQ(m.fstab, "");  // systemd mounts it
  auto og = hugepage_boot(1048576, 4, true);
  EXPECT_EQ(og.fstab, "hugetlbfs /var/lib/vfioctl/hugepages1G hugetlbfs pagesize=1G 0 0");
  auto om = hugepage_boot(2048, 4, true);
  EXPECT_EQ(om.fstab, "hugetlbfs /var/lib/vfioctl/hugepages hugetlbfs pagesize=2M 0 0");
}

TEST(MemoryPlan, LockedOnlyWithPassthrough) {
  Host h = host("amd-ryzen9-3900x");
  auto r = req(2048);
  EXPECT_TRUE(plan_memory(h.memory, h.platform, r).locked);
  r.passthrough = false;
  auto p = plan_memory(h.memory, h.platform, r);
  EXPECT_EQ(p.page_kib, 2048);
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

// A strict <numatune> on a node that cannot hold the guest would fail its
// start: the memory is then left unbound, with a warning.
TEST(MemoryPlan, BindsToTheNodeOnlyWhenTheNodeHoldsTheGuest) {
  Host h = host("threadripper-1900x");  // two nodes of 16128 MiB
  auto r = req(8192);
  r.node = 1;
  auto p = plan_memory(h.memory, h.platform, r);
  EXPECT_EQ(p.node, 1);
  r.mib = 16384;
  p = plan_memory(h.memory, h.platform, r);
  EXPECT_FALSE(p.node);
  ASSERT_FALSE(p.warnings.empty());
  EXPECT_NE(p.warnings[0].find("memory not bound to NUMA node 1: it has 16128 MiB"), std::string::npos)
      << p.warnings[0];
}

}  // namespace
}  // namespace vfioctl
