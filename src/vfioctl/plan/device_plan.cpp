#include "vfioctl/plan/device_plan.h"

#include <fmt/format.h>

#include <set>

#include "vfioctl/host/selector.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/strings.h"

namespace vfioctl {

namespace {

// Chipset functions (LPC/ISA bridge, SMBus, memory controller) share a slot
// with other functions but are the platform itself: each counts as a device
// of its own, so a chipset group never looks like "one device".
bool is_platform_function(const PciDevice* dev) {
  auto c = dev ? dev->class_id() : std::nullopt;
  return c && (*c == 0x0601 || *c == 0x0c05 || *c == 0x0580);
}

// Endpoints that go together: the functions of one slot, except platform
// functions, which stand alone.
bool same_unit(const Host& host, const PciAddress& a, const PciAddress& b) {
  if (a == b) return true;
  if (!a.same_slot(b)) return false;
  return !is_platform_function(host.device(a)) && !is_platform_function(host.device(b));
}

}  // namespace

const char* verdict_name(GroupVerdict v) {
  switch (v) {
    case GroupVerdict::ready: return "ready";
    case GroupVerdict::passable: return "passable";
    case GroupVerdict::shared: return "shared";
    case GroupVerdict::none: break;
  }
  return "none";
}

GroupAssessment assess_group(const Host& host, const IommuGroup& group) {
  GroupAssessment a;
  for (const auto& addr : group.devices) {
    const PciDevice* dev = host.device(addr);
    // A device the group names but sysfs does not list is still an endpoint
    // as far as the kernel's viability check goes.
    if (dev && dev->is_bridge())
      a.bridges.push_back(addr);
    else
      a.endpoints.push_back(addr);
  }
  if (a.endpoints.empty()) {
    a.verdict = GroupVerdict::none;
    return a;
  }
  bool all_vfio = true;
  bool one_slot = true;
  for (const auto& addr : a.endpoints) {
    const PciDevice* dev = host.device(addr);
    if (!dev || dev->driver != "vfio-pci") all_vfio = false;
    if (!same_unit(host, addr, a.endpoints.front())) one_slot = false;
  }
  if (all_vfio)
    a.verdict = GroupVerdict::ready;
  else if (one_slot)
    a.verdict = GroupVerdict::passable;
  else
    a.verdict = GroupVerdict::shared;
  return a;
}

std::vector<PciAddress> group_companions(const Host& host, const IommuGroup& group, const PciAddress& dev) {
  std::vector<PciAddress> out;
  for (const auto& addr : assess_group(host, group).endpoints) {
    if (!same_unit(host, addr, dev)) out.push_back(addr);
  }
  return out;
}

std::map<std::string, std::vector<PciAddress>> shared_ids(const Host& host) {
  std::map<std::string, std::vector<PciAddress>> by_id;
  for (const auto& dev : host.pci) {
    if (dev.is_bridge() || !dev.vendor_id || !dev.device_id) continue;
    by_id[dev.id_pair()].push_back(dev.address);
  }
  std::erase_if(by_id, [](const auto& kv) { return kv.second.size() < 2; });
  return by_id;
}

std::vector<PciAddress> take_devices(const Host& host, const std::string& text, const std::string& where,
                                     bool allow_shared) {
  auto sel = parse_selector(text);
  if (!sel) throw input_error(fmt::format("{} '{}': {}", where, text, selector_help()));
  std::vector<const PciDevice*> matched;
  for (const auto& d : host.pci) {
    if (selector_matches(*sel, d)) matched.push_back(&d);
  }
  if (matched.empty()) {
    throw input_error(fmt::format("{} '{}' matches no device on this host; 'vfioctl list' shows them", where, text));
  }
  if (sel->kind == Selector::Kind::device_class && matched.size() > 1) {
    std::vector<const PciDevice*> keep;
    for (const PciDevice* d : matched) {
      if (d->boot_vga != true) keep.push_back(d);
    }
    if (!keep.empty()) matched = keep;
    if (matched.size() > 1) {
      std::vector<std::string> names;
      for (const PciDevice* d : matched) names.push_back(d->address.short_str() + " [" + d->id_pair() + "]");
      throw input_error(fmt::format("{} '{}' matches {} devices ({}); name one by address, e.g. \"{}\"", where, text,
                                    matched.size(), join(names, ", "), matched.front()->address.short_str()));
    }
  }
  std::set<PciAddress> taken;
  for (const PciDevice* d : matched) {
    if (host.groups.empty()) {
      throw input_error(
          fmt::format("{} '{}': the IOMMU is off on this host, so no device can be passed "
                      "('vfioctl doctor' says how to turn it on)",
                      where, text));
    }
    const IommuGroup* g = d->iommu_group ? host.group(*d->iommu_group) : nullptr;
    if (!g) throw input_error(fmt::format("{} '{}': {} is in no IOMMU group", where, text, d->address.short_str()));
    auto others = group_companions(host, *g, d->address);
    if (!others.empty() && !allow_shared) {
      std::vector<std::string> names;
      for (const auto& o : others) {
        const PciDevice* od = host.device(o);
        names.push_back(o.short_str() + (od && od->driver ? " (" + *od->driver + ")" : ""));
      }
      throw input_error(
          fmt::format("{} '{}': {} shares IOMMU group {} with {}; they would all have to leave the host. Pass a "
                      "device that has its group to itself ('vfioctl list' shows the verdicts)",
                      where, text, d->address.short_str(), g->id, join(names, ", ")));
    }
    for (const auto& e : assess_group(host, *g).endpoints) taken.insert(e);
  }
  return {taken.begin(), taken.end()};
}

}  // namespace vfioctl
