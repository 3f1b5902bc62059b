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
  // The x86 CPU feature names this host's libvirt knows (its CPU map,
  // /usr/share/libvirt/cpu_map/x86_features.xml); nullopt when not there.
  std::optional<std::set<std::string>> libvirt_cpu_features;

  bool has_flag(const std::string& f) const { return flags.count(f) > 0; }
};

Platform read_platform(const Root& root, Notes& notes);

inline constexpr const char* kLibvirtX86Features = "/usr/share/libvirt/cpu_map/x86_features.xml";
std::optional<std::set<std::string>> read_libvirt_cpu_features(const Root& root);

}  // namespace vfioctl
