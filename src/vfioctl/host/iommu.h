// IOMMU groups (/sys/kernel/iommu_groups) and IOMMU units (/sys/class/iommu).
#pragma once

#include <string>
#include <vector>

#include "vfioctl/host/notes.h"
#include "vfioctl/host/pci.h"

namespace vfioctl {

class Root;

struct IommuGroup {
  int id = 0;
  std::vector<PciAddress> devices;  // sorted
};

struct IommuUnit {
  std::string name;  // "dmar0", "ivhd0"
  std::string kind;  // "intel-vt-d", "amd-vi", or "other"
};

// Groups sorted numerically (2 before 10), devices in each sorted.
std::vector<IommuGroup> read_iommu_groups(const Root& root, Notes& notes);

// Units the kernel registered; empty when the IOMMU is off.
std::vector<IommuUnit> read_iommu_units(const Root& root);

}  // namespace vfioctl
