#include "vfioctl/host/platform.h"

#include "vfioctl/host/root.h"
#include "vfioctl/util/strings.h"

namespace vfioctl {

const char* cpu_vendor_name(CpuVendor vendor) {
  switch (vendor) {
    case CpuVendor::intel: return "intel";
    case CpuVendor::amd: return "amd";
    case CpuVendor::other: return "other";
    case CpuVendor::unknown: break;
  }
  return "unknown";
}

Platform read_platform(const Root& root, Notes& notes) {
  Platform p;
  if (auto text = root.read("/proc/cpuinfo")) {
    // The first processor block is enough: vendor and flags are uniform
    // across CPUs (hybrid parts included).
    for (auto line : split(*text, '\n')) {
      if (trim(line).empty() && p.vendor_id) break;
      size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      std::string_view key = trim(line.substr(0, colon));
      std::string_view value = trim(line.substr(colon + 1));
      if (key == "vendor_id" && !p.vendor_id)
        p.vendor_id = std::string(value);
      else if (key == "model name" && !p.model_name)
        p.model_name = std::string(value);
      else if (key == "flags" && p.flags.empty()) {
        for (auto f : split_ws(value)) p.flags.emplace(f);
      }
    }
    if (!p.vendor_id)
      p.vendor = CpuVendor::other;
    else if (*p.vendor_id == "GenuineIntel")
      p.vendor = CpuVendor::intel;
    else if (*p.vendor_id == "AuthenticAMD" || *p.vendor_id == "HygonGenuine")
      p.vendor = CpuVendor::amd;
    else
      p.vendor = CpuVendor::other;
  } else {
    notes.push_back({"/proc/cpuinfo", "missing; CPU vendor and flags unknown"});
  }
  p.iommu_units = read_iommu_units(root);
  p.kvm_device = root.exists("/dev/kvm");
  return p;
}

}  // namespace vfioctl
