#include "vfioctl/host/cpu.h"

#include <algorithm>
#include <map>
#include <set>

#include "vfioctl/host/root.h"
#include "vfioctl/util/cpulist.h"
#include "vfioctl/util/strings.h"

namespace vfioctl {

namespace {

constexpr std::string_view kCpuDir = "/sys/devices/system/cpu";
constexpr std::string_view kNodeDir = "/sys/devices/system/node";

std::optional<int> read_int(const Root& root, const std::string& path) {
  auto text = root.read(path);
  if (!text) return std::nullopt;
  auto v = parse_int(*text);
  if (!v) return std::nullopt;
  return static_cast<int>(*v);
}

// Reads a CPU list file, trying the "_list" form first and the hex mask next.
std::optional<std::vector<int>> read_cpus(const Root& root, const std::string& list_path, const std::string& mask_path,
                                          Notes& notes) {
  if (auto text = root.read(list_path)) {
    if (auto cpus = parse_cpulist(*text)) return cpus;
    notes.push_back({list_path, "not a CPU list; ignored"});
  }
  if (!mask_path.empty()) {
    if (auto text = root.read(mask_path)) {
      if (auto cpus = parse_cpumask(*text)) return cpus;
      notes.push_back({mask_path, "not a CPU mask; ignored"});
    }
  }
  return std::nullopt;
}

std::vector<int> intersect(const std::vector<int>& a, const std::set<int>& keep) {
  std::vector<int> out;
  for (int x : a) {
    if (keep.count(x)) out.push_back(x);
  }
  return out;
}

bool contains(const std::vector<int>& v, int x) { return std::binary_search(v.begin(), v.end(), x); }

// Kernel parameter lists: "isolated" and "nohz_full" files.
std::vector<int> read_optional_list(const Root& root, std::string_view name, Notes& notes) {
  std::string path = join_path(kCpuDir, name);
  auto text = root.read(path);
  if (!text) return {};
  auto cpus = parse_cpulist(*text);
  // nohz_full reads "(null)" when the feature is off.
  if (!cpus) {
    if (trim(*text) != "(null)") notes.push_back({path, "not a CPU list; ignored"});
    return {};
  }
  return *cpus;
}

// cgroup v2 cpuset partitions of type "isolated": the cgroups directly
// under the root and one level below (systemd's slices hold them there),
// at most kMaxCgroups directories looked at.
void read_partitions(const Root& root, CpuTopology& topo, Notes& notes) {
  constexpr size_t kMaxCgroups = 512;
  const std::string base = "/sys/fs/cgroup";
  if (!root.exists(base + "/cgroup.controllers")) return;  // not the unified hierarchy
  std::vector<std::string> dirs;
  auto add_children = [&](const std::string& dir) {
    auto names = root.list(dir);
    if (!names) return;
    for (const auto& n : *names) {
      if (dirs.size() >= kMaxCgroups) return;
      std::string path = join_path(dir, n);
      if (root.stat(path).kind == Root::FileInfo::Kind::directory) dirs.push_back(path);
    }
  };
  add_children(base);
  size_t top = dirs.size();
  for (size_t i = 0; i < top; ++i) add_children(dirs[i]);
  std::set<int> cpus;
  for (const auto& dir : dirs) {
    auto type = root.read(dir + "/cpuset.cpus.partition");
    // "isolated invalid (reason)" isolates nothing.
    if (!type || trim(*type) != "isolated") continue;
    auto list = root.read(dir + "/cpuset.cpus.effective");
    auto parsed = list ? parse_cpulist(*list) : std::nullopt;
    if (!parsed) {
      notes.push_back({dir + "/cpuset.cpus.effective", "an isolated partition without a readable CPU list; ignored"});
      continue;
    }
    cpus.insert(parsed->begin(), parsed->end());
    topo.isolated_partitions.push_back(dir);
  }
  topo.partition_isolated.assign(cpus.begin(), cpus.end());
}

// Which CPU each kind holds. Intel hybrid parts register two PMUs,
// cpu_core (P) and cpu_atom (E). Without them (older kernels), P and E
// cores differ in base frequency: two distinct values mean two kinds.
void read_kinds(const Root& root, CpuTopology& topo, Notes& notes) {
  auto p = read_cpus(root, "/sys/devices/cpu_core/cpus", "", notes);
  auto e = read_cpus(root, "/sys/devices/cpu_atom/cpus", "", notes);
  if (p && e) {
    for (auto& cpu : topo.cpus) {
      if (contains(*p, cpu.id))
        cpu.kind = CoreKind::performance;
      else if (contains(*e, cpu.id))
        cpu.kind = CoreKind::efficiency;
    }
    topo.hybrid = !p->empty() && !e->empty();
    return;
  }
  std::map<int, long long> base;
  std::set<long long> values;
  for (const auto& cpu : topo.cpus) {
    if (!cpu.online) continue;
    auto text = root.read(join_path(kCpuDir, "cpu" + std::to_string(cpu.id) + "/cpufreq/base_frequency"));
    if (!text) return;  // one CPU without the file: no judgment
    auto v = parse_int(*text);
    if (!v) return;
    base[cpu.id] = *v;
    values.insert(*v);
  }
  if (values.size() != 2) return;
  long long fast = *values.rbegin();
  for (auto& cpu : topo.cpus) {
    auto it = base.find(cpu.id);
    if (it == base.end()) continue;
    cpu.kind = it->second == fast ? CoreKind::performance : CoreKind::efficiency;
  }
  topo.hybrid = true;
}

}  // namespace

const char* core_kind_name(CoreKind kind) {
  switch (kind) {
    case CoreKind::performance: return "performance";
    case CoreKind::efficiency: return "efficiency";
    case CoreKind::unknown: break;
  }
  return "";
}

const Cpu* CpuTopology::find(int id) const {
  auto it = std::lower_bound(cpus.begin(), cpus.end(), id, [](const Cpu& c, int v) { return c.id < v; });
  return it != cpus.end() && it->id == id ? &*it : nullptr;
}

std::vector<int> CpuTopology::online() const {
  std::vector<int> out;
  for (const auto& c : cpus) {
    if (c.online) out.push_back(c.id);
  }
  return out;
}

std::vector<std::vector<int>> CpuTopology::cores() const {
  std::vector<std::vector<int>> out;
  std::set<int> seen;
  for (const auto& c : cpus) {
    if (!c.online || seen.count(c.id)) continue;
    std::vector<int> core = c.siblings.empty() ? std::vector<int>{c.id} : c.siblings;
    for (int s : core) seen.insert(s);
    out.push_back(std::move(core));
  }
  return out;
}

CpuTopology read_cpu_topology(const Root& root, Notes& notes) {
  CpuTopology topo;
  auto entries = root.list(kCpuDir);
  if (!entries) {
    notes.push_back({std::string(kCpuDir), "missing; the CPU topology is unknown"});
    return topo;
  }
  for (const auto& name : *entries) {
    if (!starts_with(name, "cpu")) continue;
    auto id = parse_int(std::string_view(name).substr(3));
    if (!id || *id < 0) continue;  // cpufreq, cpuidle, ...
    Cpu cpu;
    cpu.id = static_cast<int>(*id);
    topo.cpus.push_back(cpu);
  }
  std::sort(topo.cpus.begin(), topo.cpus.end(), [](const Cpu& a, const Cpu& b) { return a.id < b.id; });

  // Online: the global list when there is one, else each CPU's own file
  // (CPU 0 often has none: it cannot go offline).
  auto online_list = read_cpus(root, join_path(kCpuDir, "online"), "", notes);
  for (auto& cpu : topo.cpus) {
    std::string dir = join_path(kCpuDir, "cpu" + std::to_string(cpu.id));
    if (online_list) {
      cpu.online = contains(*online_list, cpu.id);
    } else if (auto v = read_int(root, join_path(dir, "online"))) {
      cpu.online = *v != 0;
    } else {
      cpu.online = root.exists(join_path(dir, "topology"));
    }
  }
  std::vector<int> online_ids = topo.online();
  std::set<int> online(online_ids.begin(), online_ids.end());

  for (auto& cpu : topo.cpus) {
    if (!cpu.online) continue;
    std::string topo_dir = join_path(kCpuDir, "cpu" + std::to_string(cpu.id) + "/topology");
    cpu.package = read_int(root, join_path(topo_dir, "physical_package_id"));
    // -1: the kernel does not know (POWER takes it from the device tree).
    if (cpu.package && *cpu.package < 0) cpu.package.reset();
    cpu.die = read_int(root, join_path(topo_dir, "die_id"));
    cpu.core_id = read_int(root, join_path(topo_dir, "core_id"));
    cpu.cluster = read_int(root, join_path(topo_dir, "cluster_id"));
    auto sib =
        read_cpus(root, join_path(topo_dir, "thread_siblings_list"), join_path(topo_dir, "thread_siblings"), notes);
    if (!sib) sib = read_cpus(root, join_path(topo_dir, "core_cpus_list"), "", notes);
    cpu.siblings = sib ? intersect(*sib, online) : std::vector<int>{};
    if (!contains(cpu.siblings, cpu.id)) {
      if (sib)
        notes.push_back({join_path(topo_dir, "thread_siblings_list"),
                         "does not contain the CPU itself; treated as a core of its own"});
      cpu.siblings = {cpu.id};
    }
    if (!cpu.package) notes.push_back({join_path(topo_dir, "physical_package_id"), "missing or -1; package unknown"});
  }

  // L3 domains: the first CPU to name a set defines it; a later CPU that
  // already belongs to a domain keeps it even if its own file disagrees.
  for (auto& cpu : topo.cpus) {
    if (!cpu.online) continue;
    for (size_t d = 0; d < topo.l3.size(); ++d) {
      if (contains(topo.l3[d].cpus, cpu.id)) cpu.l3 = static_cast<int>(d);
    }
    if (cpu.l3) continue;
    std::string cache_dir = join_path(kCpuDir, "cpu" + std::to_string(cpu.id) + "/cache");
    auto indexes = root.list(cache_dir);
    if (!indexes) continue;
    for (const auto& index : *indexes) {
      if (!starts_with(index, "index")) continue;
      std::string idir = join_path(cache_dir, index);
      if (read_int(root, join_path(idir, "level")) != 3) continue;
      auto shared = read_cpus(root, join_path(idir, "shared_cpu_list"), join_path(idir, "shared_cpu_map"), notes);
      if (!shared) continue;
      CacheDomain dom;
      dom.index = static_cast<int>(topo.l3.size());
      dom.cpus = intersect(*shared, online);
      // CPUs already placed elsewhere stay there.
      std::erase_if(dom.cpus, [&](int c) {
        for (const auto& other : topo.l3) {
          if (contains(other.cpus, c)) return true;
        }
        return false;
      });
      if (!contains(dom.cpus, cpu.id))
        dom.cpus.insert(std::lower_bound(dom.cpus.begin(), dom.cpus.end(), cpu.id), cpu.id);
      if (auto size = root.read(join_path(idir, "size"))) {
        std::string_view s = trim(*size);
        if (ends_with(s, "K")) s.remove_suffix(1);
        if (auto v = parse_int(s)) dom.size_kib = *v;
      }
      cpu.l3 = dom.index;
      topo.l3.push_back(std::move(dom));
      break;
    }
  }
  for (auto& cpu : topo.cpus) {
    if (!cpu.online || cpu.l3) continue;
    for (size_t d = 0; d < topo.l3.size(); ++d) {
      if (contains(topo.l3[d].cpus, cpu.id)) cpu.l3 = static_cast<int>(d);
    }
  }

  // NUMA nodes, with or without CPUs.
  if (auto nodes = root.list(kNodeDir)) {
    for (const auto& name : *nodes) {
      if (!starts_with(name, "node")) continue;
      auto id = parse_int(std::string_view(name).substr(4));
      if (!id) continue;
      NumaNode node;
      node.id = static_cast<int>(*id);
      std::string dir = join_path(kNodeDir, name);
      auto cpus = read_cpus(root, join_path(dir, "cpulist"), join_path(dir, "cpumap"), notes);
      if (cpus) node.cpus = intersect(*cpus, online);
      topo.nodes.push_back(std::move(node));
    }
    std::sort(topo.nodes.begin(), topo.nodes.end(), [](const NumaNode& a, const NumaNode& b) { return a.id < b.id; });
  }
  // A kernel built without NUMA has no node directory: all memory and CPUs
  // are one node 0.
  if (topo.nodes.empty() && !topo.cpus.empty()) topo.nodes.push_back({0, online_ids});
  for (auto& cpu : topo.cpus) {
    for (const auto& node : topo.nodes) {
      if (contains(node.cpus, cpu.id) && !cpu.node) cpu.node = node.id;
    }
  }

  topo.isolated = read_optional_list(root, "isolated", notes);
  topo.nohz_full = read_optional_list(root, "nohz_full", notes);
  for (auto& cpu : topo.cpus) {
    cpu.isolated = contains(topo.isolated, cpu.id);
    cpu.nohz_full = contains(topo.nohz_full, cpu.id);
  }
  read_partitions(root, topo, notes);
  read_kinds(root, topo, notes);
  return topo;
}

}  // namespace vfioctl
