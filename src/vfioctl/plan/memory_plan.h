// Memory plan: how a guest's memory is backed. Pure: judged from the
// host's memory facts and CPU flags.
//
// Rules (DESIGN.md, "Memory plan"): hugepages of 1 GiB where the CPU has
// them (pdpe1gb) and the size is a whole number of GiB, else 2 MiB; the page
// count is the guest size exactly; the NUMA node of the vCPUs; memory never
// merged (nosharepages); with passthrough, locked and no balloon.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "vfioctl/host/memory.h"
#include "vfioctl/host/platform.h"

namespace vfioctl {

struct MemoryRequest {
  long long mib = 0;
  std::optional<long long> page_kib;  // asked page size; nullopt: auto
  bool hugepages_off = false;
  std::optional<int> node;   // NUMA node of the vCPUs
  bool passthrough = false;  // a device is passed: locked, no balloon
};

struct MemoryPlan {
  long long kib = 0;
  long long page_kib = 0;  // 0: ordinary pages
  long long pages = 0;
  std::optional<int> node;
  bool locked = false;
  bool nosharepages = true;
  bool balloon = true;
  std::vector<std::string> warnings;  // e.g. the pool is short, with the fix
  std::vector<std::string> reasons;
};

// Throws Error(bad_input) for impossible requests: more than the host can
// give, a page size the CPU or kernel lacks, a size not a multiple of it.
MemoryPlan plan_memory(const Memory& mem, const Platform& platform, const MemoryRequest& req);

// MiB the host keeps for itself out of `total_mib`.
long long host_reserve_mib(long long total_mib);

}  // namespace vfioctl
