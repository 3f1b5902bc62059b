// CPU topology, caches, frequencies, NUMA nodes and hybrid PMUs.
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "generate.h"
#include "vfioctl/util/cpulist.h"

namespace vfioctl::hostgen {

namespace {

constexpr const char* kCpuDir = "sys/devices/system/cpu";
constexpr const char* kNodeDir = "sys/devices/system/node";

std::string list_text(const std::vector<int>& cpus) { return format_cpulist(cpus) + "\n"; }

bool contains(const std::vector<int>& v, int x) { return std::find(v.begin(), v.end(), x) != v.end(); }

// Ways of associativity for a cache of a level and size (sets stay integral).
int ways_for(int level, int kib) {
  if (level == 1) return kib % 48 == 0 ? 12 : 8;
  if (level == 2) return kib >= 1024 ? 16 : (kib % 5 == 0 ? 10 : 8);
  return kib % 12 == 0 ? 12 : (kib % 11 == 0 ? 11 : 16);
}

struct CacheLevel {
  const char* key;
  int level;
  const char* type;
};
constexpr CacheLevel kLevels[] = {
    {"l1d", 1, "Data"}, {"l1i", 1, "Instruction"}, {"l2", 2, "Unified"}, {"l3", 3, "Unified"}};

void write_pair(const TreeWriter& w, const std::string& base, const std::vector<int>& cpus, int nbits) {
  w.file(base + "_list", list_text(cpus));
  w.file(base, cpumask(cpus, nbits) + "\n");
}

}  // namespace

std::string cpumask(const std::vector<int>& cpus, int nbits) {
  int chunks = (nbits + 31) / 32;
  int top_bits = nbits - 32 * (chunks - 1);
  std::string out;
  for (int c = chunks - 1; c >= 0; --c) {
    unsigned long long val = 0;
    for (int cpu : cpus) {
      if (cpu / 32 == c) val |= 1ULL << (cpu % 32);
    }
    int width = c == chunks - 1 ? (top_bits + 3) / 4 : 8;
    if (!out.empty()) out += ',';
    out += fmt::format("{:0{}x}", val, width);
  }
  return out;
}

void write_cpus(const HostDescription& desc, const TreeWriter& w) {
  const CpuTable& t = desc.cpu.table;
  const CpuFacts& cf = desc.cpu;
  std::vector<int> all, online;
  for (const auto& r : t.rows) {
    all.push_back(r.cpu);
    if (r.online) online.push_back(r.cpu);
  }
  int nbits = t.rows.back().cpu + 1;
  std::string cpu_dir = kCpuDir;
  w.file(cpu_dir + "/online", list_text(online));
  w.file(cpu_dir + "/possible", list_text(all));
  w.file(cpu_dir + "/present", list_text(all));
  w.file(cpu_dir + "/offline", list_text([&] {
           std::vector<int> off;
           for (int c : all) {
             if (!contains(online, c)) off.push_back(c);
           }
           return off;
         }()));
  w.file(cpu_dir + "/kernel_max", "8191\n");
  w.file(cpu_dir + "/isolated", list_text(desc.kernel.isolated));
  w.file(cpu_dir + "/nohz_full", desc.kernel.nohz_full.empty() ? "(null)\n" : list_text(desc.kernel.nohz_full));

  // Core ids restart in every package, in the order lscpu numbers cores.
  std::map<std::pair<int, int>, int> core_id;
  std::map<int, int> next_core;
  for (const auto& r : t.rows) {
    if (!core_id.count({r.socket, r.core})) core_id[{r.socket, r.core}] = next_core[r.socket]++;
  }
  for (const auto& r : t.rows) {
    std::string dir = fmt::format("{}/cpu{}", kCpuDir, r.cpu);
    if (r.cpu != 0) w.file(dir + "/online", r.online ? "1\n" : "0\n");
    if (!r.online) continue;
    std::string topo = dir + "/topology";
    auto siblings = t.siblings(r.cpu);
    auto package = t.socket_cpus(r.socket);
    auto cluster = r.l2 ? t.sharing(r.cpu, "l2") : siblings;
    w.file(topo + "/physical_package_id", fmt::format("{}\n", r.socket));
    w.file(topo + "/die_id", "0\n");
    w.file(topo + "/core_id", fmt::format("{}\n", core_id[{r.socket, r.core}]));
    w.file(topo + "/cluster_id", fmt::format("{}\n", r.l2.value_or(r.core)));
    write_pair(w, topo + "/thread_siblings", siblings, nbits);
    write_pair(w, topo + "/core_cpus", siblings, nbits);
    write_pair(w, topo + "/core_siblings", package, nbits);
    write_pair(w, topo + "/package_cpus", package, nbits);
    write_pair(w, topo + "/die_cpus", package, nbits);
    write_pair(w, topo + "/cluster_cpus", cluster, nbits);

    bool e_core = contains(cf.e_cpus, r.cpu);
    const CacheSizes& sizes = e_core ? cf.e_cache : cf.cache;
    int index = 0;
    for (const auto& lv : kLevels) {
      std::optional<int> id = lv.level == 1 ? (lv.type[0] == 'D' ? r.l1d : r.l1i) : lv.level == 2 ? r.l2 : r.l3;
      if (!id) continue;
      int kib = lv.level == 1 ? (lv.type[0] == 'D' ? sizes.l1d : sizes.l1i) : lv.level == 2 ? sizes.l2 : sizes.l3;
      int ways = ways_for(lv.level, kib);
      std::string c = fmt::format("{}/cache/index{}", dir, index++);
      w.file(c + "/level", fmt::format("{}\n", lv.level));
      w.file(c + "/type", fmt::format("{}\n", lv.type));
      w.file(c + "/size", fmt::format("{}K\n", kib));
      w.file(c + "/id", fmt::format("{}\n", *id));
      w.file(c + "/coherency_line_size", "64\n");
      w.file(c + "/ways_of_associativity", fmt::format("{}\n", ways));
      w.file(c + "/number_of_sets", fmt::format("{}\n", kib * 1024 / (ways * 64)));
      w.file(c + "/physical_line_partition", "1\n");
      auto shared = t.sharing(r.cpu, lv.key);
      w.file(c + "/shared_cpu_list", list_text(shared));
      w.file(c + "/shared_cpu_map", cpumask(shared, nbits) + "\n");
    }
    std::string freq = dir + "/cpufreq";
    if (r.max_mhz)
      w.file(freq + "/cpuinfo_max_freq", fmt::format("{}\n", static_cast<long long>(*r.max_mhz * 1000 + 0.5)));
    if (r.min_mhz)
      w.file(freq + "/cpuinfo_min_freq", fmt::format("{}\n", static_cast<long long>(*r.min_mhz * 1000 + 0.5)));
    double base = e_core && cf.e_base_mhz > 0 ? cf.e_base_mhz : cf.base_mhz;
    if (base > 0) w.file(freq + "/base_frequency", fmt::format("{}\n", static_cast<long long>(base * 1000 + 0.5)));
  }
  if (!cf.p_cpus.empty() && !cf.e_cpus.empty()) {
    w.file("sys/devices/cpu_core/cpus", list_text(cf.p_cpus));
    w.file("sys/devices/cpu_atom/cpus", list_text(cf.e_cpus));
  }

  auto nodes = t.nodes();
  std::vector<int> with_cpus;
  std::string distances;
  for (int n : nodes) {
    std::vector<int> cpus;
    for (int c : t.node_cpus(n)) {
      if (contains(online, c)) cpus.push_back(c);
    }
    if (!cpus.empty()) with_cpus.push_back(n);
    std::string dir = fmt::format("{}/node{}", kNodeDir, n);
    w.file(dir + "/cpulist", list_text(cpus));
    w.file(dir + "/cpumap", cpumask(cpus, nbits) + "\n");
    std::string d;
    for (int m : nodes) d += fmt::format("{}{}", d.empty() ? "" : " ", m == n ? 10 : 21);
    w.file(dir + "/distance", d + "\n");
  }
  std::string node_dir = kNodeDir;
  w.file(node_dir + "/online", list_text(nodes));
  w.file(node_dir + "/possible", list_text(nodes));
  w.file(node_dir + "/has_cpu", list_text(with_cpus));
  w.file(node_dir + "/has_memory", list_text(nodes));
  w.file(node_dir + "/has_normal_memory", list_text(nodes));
}

}  // namespace vfioctl::hostgen
