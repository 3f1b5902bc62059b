// Memory plan: how a guest's memory is backed. Pure: judged from the
// host's memory facts and CPU flags.
//
// Rules (docs/placement.md, "Memory"): with hugepages = "auto", pages of 1 GiB where the
// CPU has them (pdpe1gb), the size is a whole number of GiB and the pages
// exist: enough are free now, or the kernel command line reserves enough;
// else 2 MiB pages, which the host can reserve while it runs. The page count
// is the guest size exactly; the NUMA node of the vCPUs; memory never merged
// (nosharepages); with passthrough, locked and no balloon.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "vfioctl/host/kernel.h"
#include "vfioctl/host/memory.h"
#include "vfioctl/host/platform.h"

namespace vfioctl {

struct MemoryRequest {
  long long mib = 0;
  std::optional<long long> page_kib;  // asked page size; nullopt: auto
  bool hugepages_off = false;
  std::optional<int> node;   // NUMA node of the vCPUs
  bool passthrough = false;  // a device is passed: locked, no balloon
  // Pages the kernel command line reserves, by page size in KiB
  // (boot_hugepages()).
  std::map<long long, long long> boot_pages;
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

// How a host reserves `pages` hugepages of `page_kib` at boot, and the
// hugetlbfs mount libvirt (or the QEMU script) backs a guest with: one
// answer for new's advice, the QEMU script, setup, doctor and the hook.
struct HugepageBoot {
  std::vector<KernelArg> args;  // hugepagesz=1G hugepages=16
  std::string mount_dir;        // where hugetlbfs of this size is mounted
  // The /etc/fstab line that mounts it; empty when the init system mounts
  // it itself (systemd mounts /dev/hugepages with the default page size).
  std::string fstab;
  std::string args_text() const;  // "hugepagesz=1G hugepages=16"
};
// `openrc`: the host boots with OpenRC (/etc/runlevels), where nothing
// mounts hugetlbfs and /dev is not there when fstab is mounted.
HugepageBoot hugepage_boot(long long page_kib, long long pages, bool openrc);

// MiB the host keeps for itself out of `total_mib`.
long long host_reserve_mib(long long total_mib);

}  // namespace vfioctl
