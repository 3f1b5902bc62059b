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

std::optional<std::set<std::string>> read_libvirt_cpu_features(const Root& root) {
  auto text = root.read(kLibvirtX86Features);
  if (!text) return std::nullopt;
  // <feature name='fpu'> (or name="fpu"), one per feature.
  std::set<std::string> names;
  const std::string_view tag = "<feature name=";
  for (size_t at = text->find(tag); at != std::string::npos; at = text->find(tag, at + tag.size())) {
    size_t q = at + tag.size();
    if (q >= text->size() || ((*text)[q] != '\'' && (*text)[q] != '"')) continue;
    size_t end = text->find((*text)[q], q + 1);
    if (end == std::string::npos) break;
    names.insert(text->substr(q + 1, end - q - 1));
  }
  if (names.empty()) return std::nullopt;  // not the file it should be
  return names;
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
  p.libvirt_cpu_features = read_libvirt_cpu_features(root);
  return p;
}

}  // namespace vfioctl
