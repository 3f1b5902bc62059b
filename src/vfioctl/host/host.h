// Host: every fact vfioctl judges from, read once from a Root.
#pragma once

#include <vector>

#include "vfioctl/host/cpu.h"
#include "vfioctl/host/iommu.h"
#include "vfioctl/host/kernel.h"
#include "vfioctl/host/memory.h"
#include "vfioctl/host/notes.h"
#include "vfioctl/host/pci.h"
#include "vfioctl/host/platform.h"
#include "vfioctl/host/system.h"

namespace vfioctl {

class Root;

struct Host {
  std::vector<PciDevice> pci;      // sorted by address
  std::vector<IommuGroup> groups;  // sorted by id
  CpuTopology cpu;
  Memory memory;
  Kernel kernel;
  Platform platform;
  System system;
  Notes notes;

  const PciDevice* device(const PciAddress& addr) const;
  const IommuGroup* group(int id) const;
};

// Which parts to read; commands read only what they show.
enum class HostPart : unsigned {
  pci = 1,
  cpu = 2,
  memory = 4,
  kernel = 8,
  platform = 16,
  system = 32,
  all = 63,
};
inline HostPart operator|(HostPart a, HostPart b) {
  return static_cast<HostPart>(static_cast<unsigned>(a) | static_cast<unsigned>(b));
}
inline bool has_part(HostPart set, HostPart p) { return (static_cast<unsigned>(set) & static_cast<unsigned>(p)) != 0; }

Host read_host(const Root& root, HostPart parts = HostPart::all);

}  // namespace vfioctl
