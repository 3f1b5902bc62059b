// CPU plans on every fixture host: whole cores, never CPU 0's core, one L3
// domain when it fits, P before E, the host keeps its share.
#include "vfioctl/plan/cpu_plan.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "vfioctl/host/host.h"
#include "vfioctl/host/root.h"
#include "vfioctl/util/error.h"

namespace vfioctl {
namespace {

CpuTopology topo(const std::string& name) {
  Root root(std::string(VFIOCTL_SOURCE_DIR) + "/tests/hosts/" + name);
  return read_host(root, HostPart::cpu).cpu;
}

std::string error_of(const CpuTopology& t, const CpuRequest& r) {
  try {
    plan_cpus(t, r);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input);
    return e.what();
  }
  return "";
}

// What must hold for every plan on every host.
void expect_sound(const CpuTopology& t, const CpuPlan& p) {
  ASSERT_EQ(p.vcpu_count(), p.cores * p.threads);
  std::set<int> vcpus(p.vcpus.begin(), p.vcpus.end());
  EXPECT_EQ(vcpus.size(), p.vcpus.size()) << "two vCPUs on one host CPU";
  EXPECT_FALSE(vcpus.count(0)) << "CPU 0 given to a guest";
  // Whole cores: vCPUs 2k and 2k+1 are SMT siblings of one core.
  for (int i = 0; i + 1 < p.vcpu_count() && p.threads == 2; i += 2) {
    const Cpu* c = t.find(p.vcpus[static_cast<size_t>(i)]);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->siblings, (std::vector<int>{p.vcpus[static_cast<size_t>(i)], p.vcpus[static_cast<size_t>(i) + 1]}));
  }
  // The core of CPU 0 keeps every thread for the host.
  for (int s : t.find(0)->siblings) EXPECT_FALSE(vcpus.count(s));
  for (int e : p.emulator) EXPECT_FALSE(vcpus.count(e)) << "emulator on a vCPU's CPU";
  for (int e : p.iothread) EXPECT_FALSE(vcpus.count(e)) << "iothread on a vCPU's CPU";
  EXPECT_FALSE(p.emulator.empty());
  EXPECT_EQ(p.host.size() + p.vcpus.size(), t.online().size());
}

TEST(CpuPlan, EveryFixtureHostAutoPlanIsSound) {
  for (const auto& entry : std::filesystem::directory_iterator(std::string(VFIOCTL_SOURCE_DIR) + "/tests/hosts")) {
    std::string name = entry.path().filename().string();
    if (!std::filesystem::exists(entry.path() / "sys/devices/system/cpu")) continue;
    SCOPED_TRACE(name);
    auto t = topo(name);
    auto p = plan_cpus(t, {});
    expect_sound(t, p);
    int total = static_cast<int>(t.cores().size());
    if (!t.hybrid) {
      EXPECT_EQ(p.cores, total - host_cores_to_keep(total));
    }
  }
}

TEST(CpuPlan, AmdSpansTwoCcxWithoutCoreZerosAndPairsNPlus12) {
  auto t = topo("amd-ryzen9-3900x");
  auto p = plan_cpus(t, {6, 2, std::nullopt});
  expect_sound(t, p);
  EXPECT_EQ(p.vcpus, (std::vector<int>{3, 15, 4, 16, 5, 17, 6, 18, 7, 19, 8, 20}));
  EXPECT_EQ(p.l3, (std::vector<int>{1, 2}));
  EXPECT_EQ(p.emulator, (std::vector<int>{1, 13}));
  EXPECT_EQ(p.cores, 6);
  EXPECT_EQ(p.threads, 2);
}

TEST(CpuPlan, FitsOneL3DomainWhenItCan) {
  auto t = topo("amd-ryzen9-3900x");
  auto p = plan_cpus(t, {3, 0, std::nullopt});
  EXPECT_EQ(p.vcpus, (std::vector<int>{3, 15, 4, 16, 5, 17}));
  EXPECT_EQ(p.l3, std::vector<int>{1});
  auto tr = topo("threadripper-3960x");
  auto q = plan_cpus(tr, {3, 2, std::nullopt});
  expect_sound(tr, q);
  EXPECT_EQ(q.l3.size(), 1u);
}

TEST(CpuPlan, LaptopAdjacentSiblings) {
  auto t = topo("amd-laptop-5800h");
  auto p = plan_cpus(t, {4, 2, std::nullopt});
  expect_sound(t, p);
  EXPECT_EQ(p.vcpus, (std::vector<int>{2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(CpuPlan, HybridTakesPerformanceCoresFirst) {
  auto t = topo("intel-hybrid-13700k");
  auto p = plan_cpus(t, {6, 2, std::nullopt});
  expect_sound(t, p);
  EXPECT_EQ(p.vcpus, (std::vector<int>{2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}));
  auto a = plan_cpus(t, {});
  EXPECT_EQ(a.cores, 7);  // every P-core but CPU 0's
  EXPECT_EQ(a.threads, 2);
  // One thread per core may use E-cores, after the P-cores.
  auto one = plan_cpus(t, {10, 1, std::nullopt});
  EXPECT_EQ(one.vcpu_count(), 10);
  EXPECT_EQ(one.vcpus.back(), 18);  // P-cores 1..7 (2,4,...,14), then E 16,17,18
  EXPECT_FALSE(one.warnings.empty());
  EXPECT_NE(error_of(t, {8, 2, std::nullopt}).find("7 performance cores"), std::string::npos);
}

TEST(CpuPlan, TwoSocketsFollowTheDevicesNode) {
  auto t = topo("xeon-2socket");
  auto p = plan_cpus(t, {8, 2, 1});
  expect_sound(t, p);
  EXPECT_EQ(p.node, 1);
  for (int c : p.vcpus) EXPECT_EQ(t.find(c)->node, 1);
  auto q = plan_cpus(t, {8, 2, 0});
  EXPECT_EQ(q.node, 0);
}

TEST(CpuPlan, ImpossibleRequestsNameWhatTheHostCanGive) {
  auto t = topo("amd-ryzen9-3900x");
  EXPECT_NE(error_of(t, {12, 2, std::nullopt}).find("at most 11"), std::string::npos);
  auto tight = plan_cpus(t, {11, 2, std::nullopt});
  ASSERT_FALSE(tight.warnings.empty());
  EXPECT_NE(tight.warnings[0].find("keeps only 1 core"), std::string::npos);
  EXPECT_NE(error_of(t, {2, 3, std::nullopt}).find("1 or 2 threads"), std::string::npos);
}

TEST(CpuPlan, SmallHostKeepsOneCore) {
  auto t = topo("xeon-e3-fujitsu");  // 4 cores
  auto p = plan_cpus(t, {});
  EXPECT_EQ(p.cores, 3);
  EXPECT_TRUE(p.warnings.empty());
  EXPECT_EQ(p.emulator, t.find(0)->siblings);  // only core 0 is left to the host
}

}  // namespace
}  // namespace vfioctl
