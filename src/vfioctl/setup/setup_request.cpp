// What a request takes from the host and gives back: the devices of
// --device and --remove, and the devices the host cannot give up.
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "vfioctl/host/selector.h"
#include "vfioctl/plan/device_plan.h"
#include "vfioctl/setup/setup_parts.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::setup {

namespace {

void check_host_needs(const Host& host, const PciAddress& a, bool force) {
  if (force) return;
  if (auto why = host_needs(host, a, false)) throw Error(ExitCode::refused, *why + ". Refusing; --force overrides");
}

bool looks_like_id(std::string_view s) {
  if (s.size() != 9 || s[4] != ':') return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i != 4 && !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

}  // namespace

Devices resolve_devices(const Host& host, const SetupRequest& req, Plan& plan) {
  Devices d;
  std::set<PciAddress> taken;
  for (const auto& text : req.devices) {
    // The host's needs first: a refusal says more than an IOMMU error.
    if (auto sel = parse_selector(text)) {
      for (const auto& dev : host.pci) {
        if (selector_matches(*sel, dev)) check_host_needs(host, dev.address, req.force);
      }
    }
    auto got = take_devices(host, text, "--device", req.unsafe);
    for (const auto& a : got) taken.insert(a);
    // take_devices took a shared group only because of --unsafe: say so.
    for (const auto& a : got) {
      const PciDevice* dev = host.device(a);
      if (!dev || !dev->iommu_group) continue;
      const IommuGroup* g = host.group(*dev->iommu_group);
      if (g && !group_companions(host, *g, a).empty()) {
        d.split_groups = true;
        plan.warnings.push_back(fmt::format(
            "--unsafe: IOMMU group {} holds several devices; all of them go to vfio-pci ({}). Splitting the group "
            "needs pcie_acs_override, which only kernels with the ACS override patch read, and it removes the "
            "isolation between those devices: a guest can reach their memory",
            *dev->iommu_group, a.short_str()));
        break;
      }
    }
  }
  d.taken.assign(taken.begin(), taken.end());

  for (const auto& a : d.taken) {
    const PciDevice* dev = host.device(a);
    check_host_needs(host, a, req.force);
    if (dev && dev->boot_vga == true) {
      plan.warnings.push_back(fmt::format(
          "{} is the host's boot GPU: after the next boot the host has no console on it (use another GPU or a "
          "serial/ssh console for the host)",
          a.short_str()));
    }
  }

  // vfio-pci.ids= claims every device with the id: ids the host keeps a
  // device of need per-address driver_override instead.
  std::set<std::string> seen;
  bool shared = false;
  for (const auto& a : d.taken) {
    const PciDevice* dev = host.device(a);
    if (!dev || !dev->vendor_id || !dev->device_id) continue;
    std::string id = dev->id_pair();
    for (const auto& other : host.pci) {
      if (other.id_pair() == id && !taken.count(other.address) && !other.is_bridge()) {
        shared = true;
        plan.notes.push_back(
            fmt::format("{} has the id {} of {}, which the host keeps: binding by address "
                        "(driver_override) instead of vfio-pci.ids",
                        a.short_str(), id, other.address.short_str()));
      }
    }
    if (seen.insert(id).second) d.ids.push_back(id);
  }
  if (shared) {
    d.override_for = d.taken;
    d.ids.clear();
  }
  return d;
}

Removal resolve_removal(const Host& host, const std::vector<std::string>& texts) {
  Removal r;
  for (const auto& text : texts) {
    std::set<PciAddress> found;
    if (auto sel = parse_selector(text)) {
      for (const auto& dev : host.pci) {
        if (!selector_matches(*sel, dev)) continue;
        found.insert(dev.address);
        // The whole group went to vfio-pci with it: it comes back whole.
        if (dev.iommu_group) {
          if (const IommuGroup* g = host.group(*dev.iommu_group)) {
            for (const auto& a : g->devices) {
              const PciDevice* other = host.device(a);
              if (other && !other->is_bridge()) found.insert(a);
            }
          }
        }
      }
    }
    if (found.empty() && looks_like_id(text)) {
      r.ids.push_back(to_lower(text));
      continue;
    }
    if (found.empty()) {
      throw input_error(fmt::format(
          "--remove '{}': no device on this host matches; give its address (01:00.0) or the vendor:device id "
          "as the configuration passes it (10de:1b81)",
          text));
    }
    for (const auto& a : found) {
      r.addresses.push_back(a);
      if (const PciDevice* d = host.device(a); d && d->vendor_id && d->device_id) r.ids.push_back(d->id_pair());
    }
  }
  return r;
}

std::optional<std::string> host_needs(const Host& host, const PciAddress& a, bool running) {
  if (host.system.root_devices.count(a)) {
    return fmt::format(
        "{} holds the root filesystem ({}): without it the host loses / now, and with it on vfio-pci "
        "at boot the host does not start",
        a.short_str(), host.system.root_source.value_or("?"));
  }
  std::vector<const NetInterface*> wired;
  for (const auto& n : host.system.net) {
    if (n.pci) wired.push_back(&n);
  }
  for (const auto* n : wired) {
    if (n->pci != a) continue;
    if (wired.size() == 1 || (running && n->default_route)) {
      return fmt::format("{} is the network interface {}{}: the host would lose its network (and a remote session)",
                         a.short_str(), n->name, wired.size() == 1 ? ", the only one" : " with the default route");
    }
  }
  return std::nullopt;
}

std::vector<std::string> competing_drivers(const Host& host, const std::vector<PciAddress>& devices) {
  std::set<std::string> out;
  for (const auto& a : devices) {
    const PciDevice* d = host.device(a);
    if (!d) continue;
    if (d->driver && *d->driver != "vfio-pci" && *d->driver != "pcieport") out.insert(module_name(*d->driver));
    if (d->is_gpu() && d->vendor_id) {
      switch (*d->vendor_id) {
        case 0x10de: out.insert({"nouveau", "nvidia"}); break;
        case 0x1002: out.insert({"amdgpu", "radeon"}); break;
        case 0x8086: out.insert("i915"); break;
        default: break;
      }
    }
    if (d->is_audio()) out.insert("snd_hda_intel");
    if (d->is_usb()) out.insert("xhci_pci");
    if (d->is_nvme()) out.insert("nvme");
  }
  return {out.begin(), out.end()};
}

}  // namespace vfioctl::setup
