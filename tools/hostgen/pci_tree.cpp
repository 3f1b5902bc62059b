#include "pci_tree.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace vfioctl::hostgen {

namespace {

using BusKey = std::pair<uint32_t, unsigned>;  // domain, bus

BusKey bus_of(const PciAddress& a) { return {a.domain, a.bus}; }

std::set<BusKey> root_buses(const std::vector<PlacedDevice>& devs, const PciFacts& facts) {
  std::set<BusKey> roots;
  std::set<uint32_t> domains;
  for (const auto& p : devs) {
    const PciAddress& a = p.dev.address;
    if (domains.insert(a.domain).second) roots.insert(bus_of(a));  // sorted: the lowest bus
    if (p.dev.class_id == 0x0600) roots.insert(bus_of(a));
    for (unsigned b : facts.root_buses) {
      if (a.bus == b) roots.insert(bus_of(a));
    }
  }
  return roots;
}

std::optional<size_t> pick_upstream(const std::vector<PlacedDevice>& devs, const BusKey& bus,
                                    const std::vector<bool>& used, const PciFacts& facts) {
  if (auto it = facts.upstream.find(bus.second); it != facts.upstream.end()) {
    for (size_t i = 0; i < devs.size(); ++i) {
      if (devs[i].dev.address == it->second) return i;
    }
    throw InputError(
        fmt::format("[pci.upstream] bus {:02x}: bridge {} is not in the listing", bus.second, it->second.short_str()));
  }
  std::set<int> groups;
  std::map<int, int> group_size;
  for (const auto& p : devs) {
    if (p.dev.group) ++group_size[*p.dev.group];
    if (bus_of(p.dev.address) == bus && p.dev.group) groups.insert(*p.dev.group);
  }
  std::optional<size_t> same_group, deepest;
  for (size_t i = 0; i < devs.size(); ++i) {
    const auto& d = devs[i].dev;
    if (used[i] || !is_pci_bridge(d.class_id) || d.address.domain != bus.first || d.address.bus >= bus.second) continue;
    bool shares = d.group && groups.count(*d.group);
    // A bridge that shares its group with other devices isolates nothing:
    // whatever sits behind it would be in that group too.
    if (!shares && d.group && group_size[*d.group] > 1) continue;
    if (shares && (!same_group || d.address.bus > devs[*same_group].dev.address.bus)) same_group = i;
    if (!deepest || d.address.bus > devs[*deepest].dev.address.bus) deepest = i;
  }
  return same_group ? same_group : deepest;
}

}  // namespace

bool is_pci_bridge(uint16_t class_id) { return class_id == 0x0604 || class_id == 0x0609; }

std::vector<PlacedDevice> place_devices(const Listing& listing, const PciFacts& facts) {
  std::vector<PlacedDevice> devs;
  for (auto& d : listing.sorted()) devs.push_back(PlacedDevice{d, {}, 0, 0, 0, false, {}});
  std::set<BusKey> roots = root_buses(devs, facts);
  std::set<BusKey> buses;
  for (const auto& p : devs) buses.insert(bus_of(p.dev.address));
  std::vector<bool> used(devs.size(), false);
  std::map<BusKey, std::optional<size_t>> upstream;  // nullopt: root bus
  for (const auto& bus : buses) {
    std::optional<size_t> up;
    if (!roots.count(bus)) up = pick_upstream(devs, bus, used, facts);
    if (up) {
      used[*up] = true;
      devs[*up].secondary = devs[*up].subordinate = bus.second;
    }
    upstream[bus] = up;
  }
  // Parents, root buses and paths, in address order: a bridge always sorts
  // before the buses behind it, so its path is known first.
  for (auto& p : devs) {
    const PciAddress& a = p.dev.address;
    p.parent = upstream[bus_of(a)];
    p.multifunction =
        std::count_if(devs.begin(), devs.end(), [&](const PlacedDevice& o) { return o.dev.address.same_slot(a); }) > 1;
    if (p.parent) {
      const PlacedDevice& up = devs[*p.parent];
      p.root_bus = up.root_bus;
      p.path = up.path + "/" + a.str();
    } else {
      p.root_bus = a.bus;
      p.path = fmt::format("sys/devices/pci{:04x}:{:02x}/{}", a.domain, a.bus, a.str());
    }
  }
  // A bridge's subordinate bus covers everything below it.
  for (const auto& p : devs) {
    for (auto up = p.parent; up; up = devs[*up].parent) {
      devs[*up].subordinate = std::max(devs[*up].subordinate, p.dev.address.bus);
    }
  }
  return devs;
}

uint8_t default_prog_if(const ListedDevice& dev) {
  if (dev.prog_if) return *dev.prog_if;
  switch (dev.class_id) {
    case 0x0c03: {
      std::string n = dev.name;
      if (n.find("EHCI") != std::string::npos || n.find("Enhanced") != std::string::npos) return 0x20;
      if (n.find("OHCI") != std::string::npos) return 0x10;
      return 0x30;
    }
    case 0x0106: return 0x01;
    case 0x0108: return 0x02;
    case 0x0101: return 0x8f;
    case 0x0800: return 0x20;
    default: return 0x00;
  }
}

std::string default_driver(const ListedDevice& d) {
  uint16_t v = d.vendor_id;
  switch (d.class_id) {
    case 0x0604:
    case 0x0609: return "pcieport";
    case 0x0108: return "nvme";
    case 0x0106: return "ahci";
    case 0x0101: return "ata_piix";
    case 0x0104: return v == 0x103c ? "hpsa" : "megaraid_sas";
    case 0x0c03: return default_prog_if(d) == 0x20 ? "ehci-pci" : "xhci_hcd";
    case 0x0c05: return v == 0x1022 ? "piix4_smbus" : v == 0x8086 ? "i801_smbus" : "";
    case 0x0403: return "snd_hda_intel";
    case 0x0780: return v == 0x8086 ? "mei_me" : "";
    case 0x1080: return v == 0x1022 ? "ccp" : "";
    case 0x1180: return v == 0x8086 ? "intel_pch_thermal" : "";
    case 0x0280: return v == 0x8086 ? "iwlwifi" : v == 0x14c3 ? "mt7921e" : "";
    case 0x0300:
    case 0x0302:
    case 0x0380:
      if (v == 0x10de) return "nouveau";
      if (v == 0x1002) return "amdgpu";
      if (v == 0x8086) return "i915";
      if (v == 0x102b) return "mgag200";
      return "";
    case 0x0200:
      if (v == 0x10ec) return "r8169";
      if (v == 0x14e4) return "tg3";
      if (v == 0x1d6a) return "atlantic";
      if (v == 0x8086) {
        switch (d.device_id) {
          case 0x10fb:
          case 0x1528: return "ixgbe";
          case 0x1533:
          case 0x1539:
          case 0x1521:
          case 0x157b: return "igb";
          case 0x1572:
          case 0x1583: return "i40e";
          default: return "e1000e";
        }
      }
      return "";
    default: return "";
  }
}

std::string driver_module(const std::string& driver) {
  if (driver.empty() || driver == "pcieport") return "";
  if (driver == "xhci_hcd") return "xhci_pci";
  if (driver == "piix4_smbus") return "i2c_piix4";
  if (driver == "i801_smbus") return "i2c_i801";
  std::string m = driver;
  std::replace(m.begin(), m.end(), '-', '_');
  return m;
}

std::string config_space(const PlacedDevice& p, uint16_t sub_vendor, uint16_t sub_device, bool boot_vga) {
  std::string c(256, '\0');
  auto put16 = [&](size_t at, unsigned v) {
    c[at] = static_cast<char>(v & 0xff);
    c[at + 1] = static_cast<char>((v >> 8) & 0xff);
  };
  const ListedDevice& d = p.dev;
  bool bridge = is_pci_bridge(d.class_id);
  put16(0x00, d.vendor_id);
  put16(0x02, d.device_id);
  put16(0x04, bridge ? 0x0407 : (boot_vga ? 0x0007 : (d.class_id == 0x0600 ? 0x0000 : 0x0006)));
  c[0x08] = static_cast<char>(d.revision.value_or(0));
  c[0x09] = static_cast<char>(default_prog_if(d));
  c[0x0a] = static_cast<char>(d.class_id & 0xff);
  c[0x0b] = static_cast<char>(d.class_id >> 8);
  c[0x0e] = static_cast<char>((bridge ? 0x01 : 0x00) | (p.multifunction ? 0x80 : 0x00));
  if (bridge) {
    c[0x18] = static_cast<char>(d.address.bus);
    c[0x19] = static_cast<char>(p.secondary);
    c[0x1a] = static_cast<char>(p.subordinate);
    c[0x1c] = static_cast<char>(0xf0);  // I/O window closed
    put16(0x20, 0xfff0);                // memory window closed
    put16(0x24, 0xfff1);                // prefetchable window closed
  } else {
    put16(0x2c, sub_vendor);
    put16(0x2e, sub_device);
    if (d.class_id != 0x0600) c[0x3d] = 0x01;  // INTA
  }
  return c;
}

}  // namespace vfioctl::hostgen
