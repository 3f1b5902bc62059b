// CPU plans on every fixture host: whole cores, never CPU 0's core, one L3
// domain when it fits, P before E, the host keeps its share.
#include "vfioctl/plan/cpu_plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "vfioctl/host/host.h"
#include "vfioctl/host/root.h"
#include "vfioctl/util/cpulist.h"
#include "vfioctl/util/error.h"

namespace vfioctl {
namespace {

CpuTopology topo(const std::string& name) {
  Root root(std::string(VFIOCTL_SOURCE_DIR) + "/tests/hosts/" + name);
  return read_host(root, HostPart::cpu).cpu;
}

CpuRequest request(int cores, int threads, std::optional<int> node = std::nullopt) {
  CpuRequest r;
  r.cores = cores;
  r.threads = threads;
  r.near_node = node;
  return r;
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
  auto p = plan_cpus(t, request(6, 2));
  expect_sound(t, p);
  EXPECT_EQ(p.vcpus, (std::vector<int>{3, 15, 4, 16, 5, 17, 6, 18, 7, 19, 8, 20}));
  EXPECT_EQ(p.l3, (std::vector<int>{1, 2}));
  EXPECT_EQ(p.emulator, (std::vector<int>{1, 13}));
  EXPECT_EQ(p.cores, 6);
  EXPECT_EQ(p.threads, 2);
}

TEST(CpuPlan, FitsOneL3DomainWhenItCan) {
  auto t = topo("amd-ryzen9-3900x");
  auto p = plan_cpus(t, request(3, 0));
  EXPECT_EQ(p.vcpus, (std::vector<int>{3, 15, 4, 16, 5, 17}));
  EXPECT_EQ(p.l3, std::vector<int>{1});
  auto tr = topo("threadripper-3960x");
  auto q = plan_cpus(tr, request(3, 2));
  expect_sound(tr, q);
  EXPECT_EQ(q.l3.size(), 1u);
}

TEST(CpuPlan, LaptopAdjacentSiblings) {
  auto t = topo("amd-laptop-5800h");
  auto p = plan_cpus(t, request(4, 2));
  expect_sound(t, p);
  EXPECT_EQ(p.vcpus, (std::vector<int>{2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(CpuPlan, HybridTakesPerformanceCoresFirst) {
  auto t = topo("intel-hybrid-13700k");
  auto p = plan_cpus(t, request(6, 2));
  expect_sound(t, p);
  EXPECT_EQ(p.vcpus, (std::vector<int>{2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}));
  auto a = plan_cpus(t, {});
  EXPECT_EQ(a.cores, 7);  // every P-core but CPU 0's
  EXPECT_EQ(a.threads, 2);
  // One thread per core may use E-cores, after the P-cores.
  auto one = plan_cpus(t, request(10, 1));
  EXPECT_EQ(one.vcpu_count(), 10);
  EXPECT_EQ(one.vcpus.back(), 18);  // P-cores 1..7 (2,4,...,14), then E 16,17,18
  EXPECT_FALSE(one.warnings.empty());
  EXPECT_NE(error_of(t, request(8, 2)).find("7 performance cores"), std::string::npos);
}

TEST(CpuPlan, TwoSocketsFollowTheDevicesNode) {
  auto t = topo("xeon-2socket");
  auto p = plan_cpus(t, request(8, 2, 1));
  expect_sound(t, p);
  EXPECT_EQ(p.node, 1);
  for (int c : p.vcpus) EXPECT_EQ(t.find(c)->node, 1);
  auto q = plan_cpus(t, request(8, 2, 0));
  EXPECT_EQ(q.node, 0);
}

TEST(CpuPlan, ImpossibleRequestsNameWhatTheHostCanGive) {
  auto t = topo("amd-ryzen9-3900x");
  EXPECT_NE(error_of(t, request(12, 2)).find("at most 11"), std::string::npos);
  auto tight = plan_cpus(t, request(11, 2));
  ASSERT_FALSE(tight.warnings.empty());
  EXPECT_NE(tight.warnings[0].find("keeps only 1 core"), std::string::npos);
  EXPECT_NE(error_of(t, request(2, 3)).find("1 or 2 threads"), std::string::npos);
}

TEST(CpuPlan, SmallHostKeepsOneCore) {
  auto t = topo("xeon-e3-fujitsu");  // 4 cores
  auto p = plan_cpus(t, {});
  EXPECT_EQ(p.cores, 3);
  EXPECT_TRUE(p.warnings.empty());
  EXPECT_EQ(p.emulator, t.find(0)->siblings);  // only core 0 is left to the host
}

Isolation isolating(const CpuTopology& t, const std::string& cmdline) {
  Kernel k;
  k.cmdline = cmdline;
  k.args = parse_cmdline(cmdline);
  return host_isolation(t, k);
}

bool all_in(const std::vector<int>& cpus, const std::vector<int>& set) {
  return std::all_of(cpus.begin(), cpus.end(), [&](int c) { return std::count(set.begin(), set.end(), c) > 0; });
}

// threadripper-3960x boots with isolcpus=6-23,30-47 (siblings N / N+24): 18
// whole cores isolated, 6 (with core 0) for the host.
TEST(CpuPlanIsolation, AutoTakesTheIsolatedCoresAndHostThreadsStayOnHousekeepingOnes) {
  Root root(std::string(VFIOCTL_SOURCE_DIR) + "/tests/hosts/threadripper-3960x");
  auto host = read_host(root, HostPart::all);
  CpuRequest r;
  r.isolation = host_isolation(host.cpu, host.kernel);
  ASSERT_EQ(format_cpulist(r.isolation.cpus), "6-23,30-47");
  auto p = plan_cpus(host.cpu, r);
  expect_sound(host.cpu, p);
  EXPECT_EQ(p.cores, 18);
  EXPECT_TRUE(all_in(p.vcpus, r.isolation.cpus));
  for (int c : p.emulator) EXPECT_FALSE(std::count(r.isolation.cpus.begin(), r.isolation.cpus.end(), c)) << c;
  EXPECT_FALSE(std::count(p.emulator.begin(), p.emulator.end(), 0)) << "core 0 while other housekeeping cores are free";
  std::string why;
  for (const auto& line : p.reasons) why += line + "\n";
  EXPECT_NE(why.find("isolcpus=6-23,30-47"), std::string::npos) << why;
  EXPECT_NE(why.find("housekeeping"), std::string::npos) << why;

  // A smaller request stays on isolated cores; a larger one names the set.
  r.cores = 4;
  auto small = plan_cpus(host.cpu, r);
  EXPECT_TRUE(all_in(small.vcpus, r.isolation.cpus));
  r.cores = 20;
  std::string e = error_of(host.cpu, r);
  EXPECT_NE(e.find("isolates 18 whole cores"), std::string::npos) << e;
  EXPECT_NE(e.find("6-23,30-47"), std::string::npos) << e;
}

// The case: 4 cores / 8 threads split N / N+4, isolcpus=2-3,6-7: a
// 2c4t guest gets 2,6,3,7 and its emulator stays off them.
TEST(CpuPlanIsolation, TwoCoresIsolatedOnAFourCoreHost) {
  auto t = topo("xeon-e3-fujitsu");
  CpuRequest r = request(2, 2);
  r.isolation = isolating(t, "ro isolcpus=managed_irq,domain,2-3,6-7 nohz_full=2-3,6-7");
  auto p = plan_cpus(t, r);
  expect_sound(t, p);
  EXPECT_EQ(p.vcpus, (std::vector<int>{2, 6, 3, 7}));
  EXPECT_EQ(p.emulator, (std::vector<int>{1, 5}));
  EXPECT_TRUE(p.warnings.empty()) << p.warnings.front();  // the host keeps its two cores by isolation, no warning
  r.cores = 3;
  EXPECT_NE(error_of(t, r).find("isolates 2 whole cores"), std::string::npos);
}

TEST(CpuPlanIsolation, HalfIsolatedCoresAreNotUsedAndSaySo) {
  auto t = topo("xeon-e3-fujitsu");  // siblings N / N+4: 2-3 alone are half cores
  CpuRequest r = request(2, 2);
  r.isolation = isolating(t, "isolcpus=2-3");
  auto p = plan_cpus(t, r);
  expect_sound(t, p);
  ASSERT_FALSE(p.warnings.empty());
  EXPECT_NE(p.warnings.front().find("no whole core"), std::string::npos) << p.warnings.front();
}

TEST(CpuPlanIsolation, CpusetPartitionsAndKernelReportsCount) {
  auto t = topo("xeon-e3-fujitsu");
  t.partition_isolated = {3, 7};
  t.isolated_partitions = {"/sys/fs/cgroup/vm"};
  t.nohz_full = {2, 6};
  auto iso = isolating(t, "ro quiet");
  EXPECT_EQ(format_cpulist(iso.cpus), "2-3,6-7");
  EXPECT_NE(iso.text().find("nohz_full=2,6"), std::string::npos) << iso.text();
  EXPECT_NE(iso.text().find("/sys/fs/cgroup/vm: 3,7"), std::string::npos) << iso.text();
  // rcu_nocbs alone moves no task.
  EXPECT_TRUE(isolating(topo("xeon-e3-fujitsu"), "rcu_nocbs=1-3").empty());
}

}  // namespace
}  // namespace vfioctl
