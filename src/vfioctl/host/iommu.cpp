#include "vfioctl/host/iommu.h"

#include <algorithm>

#include "vfioctl/host/root.h"
#include "vfioctl/util/strings.h"

namespace vfioctl {

namespace {
constexpr std::string_view kGroups = "/sys/kernel/iommu_groups";
}

std::vector<IommuGroup> read_iommu_groups(const Root& root, Notes& notes) {
  std::vector<IommuGroup> groups;
  auto entries = root.list(kGroups);
  if (!entries) return groups;
  for (const auto& name : *entries) {
    auto id = parse_int(name);
    if (!id || *id < 0) {
      notes.push_back({join_path(kGroups, name), "not a group number; ignored"});
      continue;
    }
    IommuGroup group;
    group.id = static_cast<int>(*id);
    std::string dir = join_path(join_path(kGroups, name), "devices");
    auto devices = root.list(dir);
    if (!devices) {
      notes.push_back({dir, "unreadable; the group is listed empty"});
    } else {
      for (const auto& dev : *devices) {
        // Touch the link so a snapshot keeps it.
        if (root.recording()) root.read_link(join_path(dir, dev));
        if (auto addr = PciAddress::parse(dev)) {
          group.devices.push_back(*addr);
        } else {
          notes.push_back({join_path(dir, dev), "not a PCI address; ignored"});
        }
      }
    }
    std::sort(group.devices.begin(), group.devices.end());
    groups.push_back(std::move(group));
  }
  std::sort(groups.begin(), groups.end(), [](const IommuGroup& a, const IommuGroup& b) { return a.id < b.id; });
  return groups;
}

std::vector<IommuUnit> read_iommu_units(const Root& root) {
  std::vector<IommuUnit> units;
  auto entries = root.list("/sys/class/iommu");
  if (!entries) return units;
  for (const auto& name : *entries) {
    root.read_link(join_path("/sys/class/iommu", name));
    IommuUnit unit;
    unit.name = name;
    if (starts_with(name, "dmar"))
      unit.kind = "intel-vt-d";
    else if (starts_with(name, "ivhd"))
      unit.kind = "amd-vi";
    else
      unit.kind = "other";
    units.push_back(std::move(unit));
  }
  return units;
}

}  // namespace vfioctl
