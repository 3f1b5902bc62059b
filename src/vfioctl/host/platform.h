// The platform: CPU vendor, model and flags (/proc/cpuinfo), IOMMU units,
// and whether /dev/kvm exists.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "vfioctl/host/iommu.h"
#include "vfioctl/host/notes.h"

namespace vfioctl {

class Root;

enum class CpuVendor { unknown, intel, amd, other };

// "intel", "amd", "other", "unknown".
const char* cpu_vendor_name(CpuVendor vendor);

struct Platform {
  CpuVendor vendor = CpuVendor::unknown;
  std::optional<std::string> vendor_id;   // "GenuineIntel"
  std::optional<std::string> model_name;  // "AMD Ryzen 9 3900X 12-Core Processor"
  std::set<std::string> flags;            // of the first CPU
  std::vector<IommuUnit> iommu_units;
  bool kvm_device = false;  // /dev/kvm exists

  bool has_flag(const std::string& f) const { return flags.count(f) > 0; }
};

Platform read_platform(const Root& root, Notes& notes);

}  // namespace vfioctl
