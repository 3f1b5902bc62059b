// Memory: /proc/meminfo, hugepage pools per page size and per NUMA node,
// transparent hugepage mode.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "vfioctl/host/notes.h"

namespace vfioctl {

class Root;

struct HugepagePool {
  long long page_kib = 0;             // 2048, 1048576
  std::optional<int> node;            // nullopt: the system-wide pool
  std::optional<long long> total;     // nr_hugepages
  std::optional<long long> free;      // free_hugepages
  std::optional<long long> reserved;  // resv_hugepages (system-wide only)
  std::optional<long long> surplus;   // surplus_hugepages
};

struct Memory {
  std::map<std::string, long long> meminfo_kib;  // "MemTotal" -> kB (counts stay counts)
  std::vector<HugepagePool> pools;               // system-wide first, then per node
  std::map<int, long long> node_total_kib;       // node -> MemTotal of nodeN/meminfo
  std::optional<std::string> thp_enabled;        // "always", "madvise", "never"
  std::optional<std::string> thp_defrag;

  std::optional<long long> total_kib() const;
  // The default hugepage size (/proc/meminfo Hugepagesize), else 2048.
  long long default_page_kib() const;
  // Page sizes the kernel offers (kB), ascending.
  std::vector<long long> page_sizes() const;
  const HugepagePool* pool(long long page_kib, std::optional<int> node = std::nullopt) const;
};

Memory read_memory(const Root& root, Notes& notes);

// The bracketed choice of a sysfs multiple-choice file: "always [madvise] never" -> "madvise".
std::optional<std::string> bracketed_choice(const std::string& text);

}  // namespace vfioctl
