// vfioctl topo on fixture hosts: siblings as the kernel numbers them.
#include <gtest/gtest.h>

#include "run.h"

namespace vfioctl::test {
namespace {

using nlohmann::json;

bool has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

json topo_json(const std::string& host_name) {
  Result r = vfioctl({"--root", host(host_name), "topo", "--json"});
  EXPECT_EQ(r.rc, 0) << r.err;
  return r.json();
}

const json& cpu(const json& doc, int id) {
  for (const auto& c : doc["cpus"]) {
    if (c["cpu"] == id) return c;
  }
  static const json none;
  ADD_FAILURE() << "no cpu " << id;
  return none;
}

std::vector<int> siblings(const json& doc, int id) { return cpu(doc, id)["siblings"].get<std::vector<int>>(); }

TEST(CliTopo, LiveHostRunsToTheEnd) {
  Result r = vfioctl({"topo"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(has(r.out, "CPUs online"));
  Result j = vfioctl({"topo", "--json"});
  ASSERT_EQ(j.rc, 0) << j.err;
  EXPECT_FALSE(j.json()["cpus"].empty());
}

TEST(CliTopo, JsonCarriesTheContractFields) {
  auto doc = topo_json("amd-ryzen9-3900x");
  ASSERT_EQ(doc["cpus"].size(), 24u);
  const json& c = cpu(doc, 13);
  for (const char* field : {"cpu", "package", "core", "siblings", "l3", "node", "kind", "online"}) {
    EXPECT_TRUE(c.contains(field)) << field;
  }
  EXPECT_EQ(c["package"], 0);
  EXPECT_EQ(c["node"], 0);
  EXPECT_TRUE(c["kind"].is_null());
  EXPECT_EQ(c["online"], true);
}

// AMD desktop: the second thread of core N is N+12; three cores per L3.
TEST(CliTopo, AmdSiblingsAreNPlusHalfAndL3DomainsAreCcx) {
  auto doc = topo_json("amd-ryzen9-3900x");
  EXPECT_EQ(siblings(doc, 0), (std::vector<int>{0, 12}));
  EXPECT_EQ(siblings(doc, 23), (std::vector<int>{11, 23}));
  EXPECT_EQ(doc["l3"].size(), 4u);
  EXPECT_EQ(cpu(doc, 2)["l3"], cpu(doc, 14)["l3"]);
  EXPECT_NE(cpu(doc, 2)["l3"], cpu(doc, 3)["l3"]);
  Result r = vfioctl({"--root", host("amd-ryzen9-3900x"), "topo"});
  EXPECT_TRUE(has(r.out, "24 CPUs online (24 known), 12 cores, 1 package, 4 L3 domains, 1 NUMA node"));
  EXPECT_TRUE(has(r.out, "3,15 4,16 5,17"));
}

// Intel desktop: N and N+6 on a 6-core part.
TEST(CliTopo, IntelDesktopSiblingsAreNPlusHalf) {
  auto doc = topo_json("intel-desktop-z370");
  int n = static_cast<int>(doc["cpus"].size());
  ASSERT_EQ(n % 2, 0);
  EXPECT_EQ(siblings(doc, 0), (std::vector<int>{0, n / 2}));
  EXPECT_EQ(siblings(doc, 1), (std::vector<int>{1, n / 2 + 1}));
}

// AMD laptop: siblings are adjacent numbers.
TEST(CliTopo, LaptopSiblingsAreAdjacent) {
  auto doc = topo_json("amd-laptop-5800h");
  EXPECT_EQ(siblings(doc, 0), (std::vector<int>{0, 1}));
  EXPECT_EQ(siblings(doc, 7), (std::vector<int>{6, 7}));
}

// Hybrid Intel: P cores with two threads, E cores with one.
TEST(CliTopo, HybridKindsComeFromTheCorePmus) {
  auto doc = topo_json("intel-hybrid-13700k");
  EXPECT_EQ(doc["hybrid"], true);
  EXPECT_EQ(cpu(doc, 0)["kind"], "performance");
  EXPECT_EQ(siblings(doc, 0), (std::vector<int>{0, 1}));
  EXPECT_EQ(cpu(doc, 16)["kind"], "efficiency");
  EXPECT_EQ(siblings(doc, 16), std::vector<int>{16});
  int p = 0, e = 0;
  for (const auto& c : doc["cpus"]) {
    if (c["kind"] == "performance") ++p;
    if (c["kind"] == "efficiency") ++e;
  }
  EXPECT_EQ(p, 16);
  EXPECT_EQ(e, 8);
  Result r = vfioctl({"--root", host("intel-hybrid-13700k"), "topo"});
  EXPECT_TRUE(has(r.out, "hybrid: yes"));
  EXPECT_TRUE(has(r.out, "0,1P"));
  EXPECT_TRUE(has(r.out, "16E"));
}

TEST(CliTopo, TwoSocketsAreTwoPackagesAndTwoNodes) {
  auto doc = topo_json("xeon-2socket");
  EXPECT_EQ(doc["nodes"].size(), 2u);
  EXPECT_EQ(cpu(doc, 0)["package"], 0);
  EXPECT_EQ(cpu(doc, 16)["package"], 1);
  EXPECT_EQ(cpu(doc, 16)["node"], 1);
  EXPECT_EQ(siblings(doc, 16), (std::vector<int>{16, 48}));
  Result r = vfioctl({"--root", host("xeon-2socket"), "topo"});
  EXPECT_TRUE(has(r.out, "2 packages"));
  EXPECT_TRUE(has(r.out, "2 NUMA nodes"));
}

TEST(CliTopo, BadRootIsExitTwo) {
  Result r = vfioctl({"--root", "/nonexistent/host", "topo"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(has(r.err, "/nonexistent/host"));
}

}  // namespace
}  // namespace vfioctl::test
