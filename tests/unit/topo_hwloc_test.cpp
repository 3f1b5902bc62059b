// The topology oracle: on every host root we have (hwloc's real trees and
// our fixtures), `read_cpu_topology` must agree with hwloc's own reading of
// the same root: online CPUs, packages, cores (SMT siblings), L3 domains,
// NUMA nodes and, on hybrid parts, P/E kinds.
#include <gtest/gtest.h>

#include <pugixml.hpp>

#include <filesystem>
#include <map>
#include <set>

#include "vfioctl/host/cpu.h"
#include "vfioctl/host/root.h"
#include "vfioctl/util/process.h"
#include "vfioctl/util/strings.h"

namespace vfioctl {
namespace {

namespace fs = std::filesystem;
using CpuSet = std::set<int>;

// hwloc's "0x0000ffff,0xffffffff" (most significant word first).
CpuSet parse_hwloc_set(std::string_view text) {
  CpuSet out;
  auto words = split(text, ',');
  int base = 0;
  for (auto it = words.rbegin(); it != words.rend(); ++it, base += 32) {
    auto v = parse_hex(*it);
    if (!v) continue;
    for (int b = 0; b < 32; ++b) {
      if (*v & (1ul << b)) out.insert(base + b);
    }
  }
  return out;
}

struct Oracle {
  CpuSet online;
  std::map<int, int> package;       // PU -> package os_index
  std::map<int, CpuSet> core;       // PU -> its core's PUs
  std::map<int, CpuSet> l3;         // PU -> its L3's PUs
  std::map<int, CpuSet> node_cpus;  // node -> PUs
  std::vector<CpuSet> kinds;        // least to most performant
};

void walk(const pugi::xml_node& obj, Oracle& o, int package, const CpuSet* core, const CpuSet* l3) {
  std::string type = obj.attribute("type").as_string();
  CpuSet set = parse_hwloc_set(obj.attribute("cpuset").as_string());
  CpuSet here_core, here_l3;
  if (type == "Package") package = obj.attribute("os_index").as_int();
  if (type == "Core") {
    here_core = set;
    core = &here_core;
  }
  if (type == "L3Cache") {
    here_l3 = set;
    l3 = &here_l3;
  }
  if (type == "NUMANode") o.node_cpus[obj.attribute("os_index").as_int()] = set;
  if (type == "PU") {
    int pu = obj.attribute("os_index").as_int();
    o.online.insert(pu);
    o.package[pu] = package;
    o.core[pu] = core ? *core : CpuSet{pu};
    if (l3) o.l3[pu] = *l3;
  }
  for (auto child : obj.children("object")) walk(child, o, package, core, l3);
}

Oracle ask_hwloc(const fs::path& root) {
  setenv("HWLOC_COMPONENTS", "linux,stop", 1);
  setenv("HWLOC_FSROOT", root.c_str(), 1);
  auto r = run_process({"lstopo-no-graphics", "--disallowed", "--of", "xml"});
  unsetenv("HWLOC_FSROOT");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  pugi::xml_document doc;
  // lstopo prints warnings about odd trees before the XML on stderr.
  size_t start = r.output.find("<?xml");
  EXPECT_NE(start, std::string::npos) << r.output;
  Oracle o;
  if (start == std::string::npos) return o;
  doc.load_string(r.output.c_str() + start);
  auto top = doc.child("topology");
  for (auto obj : top.children("object")) walk(obj, o, -1, nullptr, nullptr);
  for (auto kind : top.children("cpukind")) o.kinds.push_back(parse_hwloc_set(kind.attribute("cpuset").as_string()));
  return o;
}

CpuSet to_set(const std::vector<int>& v) { return CpuSet(v.begin(), v.end()); }

std::vector<fs::path> all_roots() {
  std::vector<fs::path> roots;
  fs::path unpack = fs::path(VFIOCTL_BINARY_DIR) / "tests/hwloc-roots";
  for (const auto& e : fs::directory_iterator(fs::path(VFIOCTL_SOURCE_DIR) / "tests/hosts/hwloc")) {
    std::string name = e.path().filename().string();
    if (!ends_with(name, ".tar.xz")) continue;
    fs::path dir = unpack / name.substr(0, name.size() - 7);
    if (!fs::exists(dir / "sys")) {
      fs::create_directories(dir);
      auto r = run_process({"tar", "-xJf", e.path().string(), "-C", dir.string()});
      EXPECT_EQ(r.exit_code, 0) << r.output;
    }
    roots.push_back(dir);
  }
  for (const auto& e : fs::directory_iterator(fs::path(VFIOCTL_SOURCE_DIR) / "tests/hosts")) {
    if (fs::is_directory(e.path() / "sys/devices/system/cpu")) roots.push_back(e.path());
  }
  std::sort(roots.begin(), roots.end());
  return roots;
}

TEST(TopoVsHwloc, EveryRootAgrees) {
  if (!program_exists("lstopo-no-graphics")) {
    if (std::getenv("CI")) FAIL() << "lstopo-no-graphics missing: install hwloc";
    GTEST_SKIP() << "lstopo-no-graphics missing: install hwloc";
  }
  auto roots = all_roots();
  ASSERT_GE(roots.size(), 12u);
  for (const auto& root_dir : roots) {
    SCOPED_TRACE(root_dir.string());
    Oracle o = ask_hwloc(root_dir);
    Root root(root_dir);
    Notes notes;
    CpuTopology topo = read_cpu_topology(root, notes);

    EXPECT_EQ(to_set(topo.online()), o.online);
    for (int pu : o.online) {
      const Cpu* cpu = topo.find(pu);
      ASSERT_NE(cpu, nullptr) << "CPU " << pu;
      SCOPED_TRACE("CPU " + std::to_string(pu));
      // Where the kernel says -1 (POWER), hwloc asks the device tree, which
      // we do not read: our answer is "unknown", never a wrong number.
      if (cpu->package) {
        EXPECT_EQ(cpu->package, o.package[pu]);
      }
      EXPECT_EQ(to_set(cpu->siblings), o.core[pu]);
      if (o.l3.count(pu)) {
        ASSERT_TRUE(cpu->l3.has_value());
        EXPECT_EQ(to_set(topo.l3[static_cast<size_t>(*cpu->l3)].cpus), o.l3[pu]);
      } else {
        EXPECT_FALSE(cpu->l3.has_value());
      }
    }
    for (const auto& [node, cpus] : o.node_cpus) {
      SCOPED_TRACE("node " + std::to_string(node));
      auto it = std::find_if(topo.nodes.begin(), topo.nodes.end(), [&](const NumaNode& n) { return n.id == node; });
      ASSERT_NE(it, topo.nodes.end());
      EXPECT_EQ(to_set(it->cpus), cpus);
    }
    if (o.kinds.size() == 2) {
      EXPECT_TRUE(topo.hybrid);
      for (int pu : o.kinds[0]) EXPECT_EQ(topo.find(pu)->kind, CoreKind::efficiency) << pu;
      for (int pu : o.kinds[1]) EXPECT_EQ(topo.find(pu)->kind, CoreKind::performance) << pu;
    } else {
      EXPECT_FALSE(topo.hybrid);
    }
  }
}

}  // namespace
}  // namespace vfioctl
