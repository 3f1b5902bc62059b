// CPU topology from sysfs: packages, dies, cores with their SMT siblings,
// L3 domains, NUMA nodes, hybrid core kinds, isolated and nohz_full CPUs.
// Sibling numbering differs between machines, so it is always read, never
// assumed.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "vfioctl/host/notes.h"

namespace vfioctl {

class Root;

enum class CoreKind { unknown, performance, efficiency };

// "performance", "efficiency" or "" for unknown.
const char* core_kind_name(CoreKind kind);

struct Cpu {
  int id = 0;
  bool online = false;
  std::optional<int> package;
  std::optional<int> die;
  std::optional<int> core_id;  // as the kernel numbers it (not unique across packages)
  std::optional<int> cluster;
  std::vector<int> siblings;  // online SMT siblings, itself included
  std::optional<int> node;    // NUMA node
  std::optional<int> l3;      // index into CpuTopology::l3
  CoreKind kind = CoreKind::unknown;
  bool isolated = false;
  bool nohz_full = false;
};

// A set of CPUs sharing one cache (an L3 domain: an AMD CCX/CCD, an Intel
// package).
struct CacheDomain {
  int index = 0;          // our numbering, by lowest CPU
  std::vector<int> cpus;  // online CPUs only
  std::optional<long long> size_kib;
};

struct NumaNode {
  int id = 0;
  std::vector<int> cpus;  // online CPUs only; may be empty
};

struct CpuTopology {
  std::vector<Cpu> cpus;  // every CPU the kernel knows, sorted by id
  std::vector<CacheDomain> l3;
  std::vector<NumaNode> nodes;
  std::vector<int> isolated;   // /sys/devices/system/cpu/isolated
  std::vector<int> nohz_full;  // /sys/devices/system/cpu/nohz_full
  // CPUs of cgroup v2 cpuset partitions of type "isolated" (a cgroup's
  // cpuset.cpus.partition; its cpuset.cpus.effective), and those cgroups.
  std::vector<int> partition_isolated;
  std::vector<std::string> isolated_partitions;  // "/sys/fs/cgroup/vfio"
  bool hybrid = false;                           // both kinds present

  const Cpu* find(int id) const;
  std::vector<int> online() const;
  // One entry per physical core (its sibling list), ordered by first CPU.
  std::vector<std::vector<int>> cores() const;
};

CpuTopology read_cpu_topology(const Root& root, Notes& notes);

}  // namespace vfioctl
