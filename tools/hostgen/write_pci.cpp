// PCI devices, IOMMU groups and IOMMU units.
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "generate.h"
#include "pci_tree.h"

namespace vfioctl::hostgen {

namespace {

// The driver bound to a device: description, listing, then class default.
std::string driver_of(const HostDescription& desc, const ListedDevice& d) {
  auto it = desc.pci.devices.find(d.address);
  if (it != desc.pci.devices.end() && it->second.driver) return *it->second.driver;
  if (d.driver) return *d.driver;
  return default_driver(d);
}

// The boot VGA device: the description's, else the first VGA device not
// bound to vfio-pci.
std::optional<PciAddress> boot_vga(const HostDescription& desc) {
  if (desc.pci.boot_vga || desc.pci.no_boot_vga) return desc.pci.boot_vga;
  for (const auto& d : desc.listing.sorted()) {
    if (d.class_id == 0x0300 && driver_of(desc, d) != "vfio-pci") return d.address;
  }
  return std::nullopt;
}

// The kernel's IORESOURCE_* flags for a region, with the BAR's own type
// bits in the low byte (include/linux/ioport.h; pci_bar_mem64 = 0x04,
// prefetch = 0x08).
uint64_t region_flags(const Region& r) {
  constexpr uint64_t io = 0x100, mem = 0x200, prefetch = 0x2000, readonly = 0x4000, sizealign = 0x40000,
                     mem64 = 0x100000;
  if (r.io) return io | sizealign | 0x1;
  if (r.rom) return mem | prefetch | readonly | sizealign;
  uint64_t f = mem | sizealign;
  if (r.prefetch) f |= prefetch | 0x8;
  if (r.mem64) f |= mem64 | 0x4;
  return f;
}

Region region(int index, uint64_t size, bool mem64, bool prefetch, bool io = false) {
  Region r;
  r.index = index;
  r.size = size;
  r.mem64 = mem64;
  r.prefetch = prefetch;
  r.io = io;
  return r;
}

// Regions by class when the description gives none: typical sizes, not any
// one card's (tests/hosts/README.md, "BARs").
std::vector<Region> default_regions(const ListedDevice& d) {
  constexpr uint64_t K = 1024, M = K * K;
  uint16_t base = static_cast<uint16_t>(d.class_id >> 8);
  if (base == 0x06) return {};  // bridges: their windows are not BARs 0-5
  if (base == 0x03) {
    if (d.vendor_id == 0x1002)
      return {region(0, 256 * M, true, true), region(2, 2 * M, true, true), region(4, 256, false, false, true),
              region(5, 512 * K, false, false)};
    if (d.vendor_id == 0x8086)
      return {region(0, 16 * M, true, false), region(2, 256 * M, true, true), region(4, 64, false, false, true)};
    return {region(0, 16 * M, false, false), region(1, 256 * M, true, true), region(3, 32 * M, true, true),
            region(5, 128, false, false, true)};
  }
  if (d.class_id == 0x0108) return {region(0, 16 * K, true, false)};
  if (d.class_id == 0x0c03) return {region(0, 64 * K, true, false)};
  if (base == 0x02) return {region(0, 128 * K, false, false)};
  return {region(0, 16 * K, false, false)};
}

// Places regions without an address: 32-bit ones from 0xc0000000 up,
// 64-bit ones from 256 GiB up, I/O from 0x1000 up, each aligned to its size.
struct Placer {
  uint64_t mem32 = 0xc0000000, mem64 = uint64_t{1} << 38, io = 0x1000;
  uint64_t place(const Region& r) {
    uint64_t& at = r.io ? io : r.mem64 ? mem64 : mem32;
    uint64_t a = (at + r.size - 1) / r.size * r.size;
    at = a + r.size;
    return a;
  }
};

// The 13 lines of an endpoint's `resource`: BARs 0-5, the ROM, SR-IOV BARs.
// Gives every region its BAR number ("Region N:", else the next free one,
// a 64-bit BAR taking two; the ROM is line 6).
void number_regions(std::vector<Region>& regions) {
  int next = 0;
  for (auto& r : regions) {
    if (r.rom) {
      r.index = 6;
      continue;
    }
    if (!r.index) r.index = next;
    next = *r.index + (r.mem64 ? 2 : 1);
  }
}

// The 13 lines of an endpoint's `resource`: BARs 0-5, the ROM, SR-IOV BARs.
std::string resource_file(const std::vector<Region>& regions, Placer& placer) {
  std::vector<std::pair<uint64_t, uint64_t>> lines(13, {0, 0});
  std::vector<uint64_t> flags(13, 0);
  for (const auto& r : regions) {
    int i = r.index.value_or(-1);
    if (i < 0 || i > 6 || r.size == 0) continue;
    uint64_t start = r.start ? r.start : placer.place(r);
    lines[static_cast<size_t>(i)] = {start, start + r.size - 1};
    flags[static_cast<size_t>(i)] = region_flags(r);
  }
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i)
    out += fmt::format("0x{:016x} 0x{:016x} 0x{:016x}\n", lines[i].first, lines[i].second, flags[i]);
  return out;
}

// `resourceN_resize` of a Resizable BAR: the sizes offered, bit n = 2^n MiB;
// ASSUMED 256 MiB up to the BAR's size (the capability's usual range).
std::string resize_file(const Region& r) {
  uint64_t mask = 0;
  for (int bit = 8; bit < 44 && (uint64_t{1} << (bit + 20)) <= r.size; ++bit) mask |= uint64_t{1} << bit;
  return fmt::format("{:016x}\n", mask);
}

std::optional<uint64_t> hex_u64(std::string_view s) {
  if (s.empty() || s.size() > 16) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return std::nullopt;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  return v;
}

std::string default_reset(const PlacedDevice& p) {
  const ListedDevice& d = p.dev;
  if (is_pci_bridge(d.class_id) || d.class_id == 0x0600 || d.class_id == 0x0601) return "";
  if (!p.parent) return "pm";
  // Endpoints with FLR: NVMe and Intel NICs report it; GPUs mostly do not.
  if (d.class_id == 0x0108 || (d.class_id == 0x0200 && d.vendor_id == 0x8086)) return "flr bus";
  return "bus";
}

}  // namespace

std::optional<Region> parse_region(std::string_view line) {
  Region r;
  auto s = std::string(line);
  size_t pos = s.find_first_not_of(" \t");
  if (pos == std::string::npos) return std::nullopt;
  s = s.substr(pos);
  if (s.rfind("Region ", 0) == 0) {
    size_t colon = s.find(':');
    if (colon == std::string::npos || colon < 8) return std::nullopt;
    std::string n = s.substr(7, colon - 7);
    if (n.size() != 1 || n[0] < '0' || n[0] > '5') return std::nullopt;
    r.index = n[0] - '0';
    s = s.substr(colon + 1);
    s = s.substr(std::min(s.size(), s.find_first_not_of(' ')));
  }
  std::string addr_prefix;
  if (s.rfind("Memory at ", 0) == 0) {
    addr_prefix = "Memory at ";
  } else if (s.rfind("I/O ports at ", 0) == 0) {
    addr_prefix = "I/O ports at ";
    r.io = true;
  } else if (s.rfind("Expansion ROM at ", 0) == 0 && !r.index) {
    addr_prefix = "Expansion ROM at ";
    r.rom = true;
  } else {
    return std::nullopt;
  }
  s = s.substr(addr_prefix.size());
  size_t sp = s.find(' ');
  if (sp == std::string::npos) return std::nullopt;
  auto start = hex_u64(s.substr(0, sp));
  if (!start) return std::nullopt;
  r.start = *start;
  if (!r.io && !r.rom) {
    if (s.find("(64-bit") != std::string::npos)
      r.mem64 = true;
    else if (s.find("(32-bit") == std::string::npos)
      return std::nullopt;
    r.prefetch = s.find(", prefetchable)") != std::string::npos;
  }
  size_t sz = s.find("[size=");
  if (sz == std::string::npos) return std::nullopt;
  size_t end = s.find(']', sz);
  if (end == std::string::npos) return std::nullopt;
  std::string num = s.substr(sz + 6, end - sz - 6);
  if (num.empty() || num.size() > 8) return std::nullopt;
  uint64_t mul = 1;
  switch (num.back()) {
    case 'K': mul = uint64_t{1} << 10; break;
    case 'M': mul = uint64_t{1} << 20; break;
    case 'G': mul = uint64_t{1} << 30; break;
    case 'T': mul = uint64_t{1} << 40; break;
    default: break;
  }
  if (mul != 1) num.pop_back();
  uint64_t v = 0;
  for (char c : num) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v == 0) return std::nullopt;
  r.size = v * mul;
  return r;
}

void write_pci(const HostDescription& desc, const TreeWriter& w) {
  auto placed = place_devices(desc.listing, desc.pci);
  auto vga = boot_vga(desc);
  Placer placer;
  std::set<std::string> drivers;
  w.dir("sys/bus/pci/devices");
  w.dir("sys/bus/pci/drivers");
  for (const auto& p : placed) {
    const ListedDevice& d = p.dev;
    DeviceFacts f;
    if (auto it = desc.pci.devices.find(d.address); it != desc.pci.devices.end()) f = it->second;
    std::pair<uint16_t, uint16_t> sub{d.vendor_id, d.device_id};
    if (f.subsystem)
      sub = *f.subsystem;
    else if (d.subsystem_vendor_id)
      sub = {*d.subsystem_vendor_id, *d.subsystem_device_id};
    else if (desc.pci.subsystem && !is_pci_bridge(d.class_id))
      sub = *desc.pci.subsystem;
    bool is_boot = vga && *vga == d.address;
    const std::string& dir = p.path;
    w.file(dir + "/vendor", fmt::format("0x{:04x}\n", d.vendor_id));
    w.file(dir + "/device", fmt::format("0x{:04x}\n", d.device_id));
    w.file(dir + "/subsystem_vendor", fmt::format("0x{:04x}\n", sub.first));
    w.file(dir + "/subsystem_device", fmt::format("0x{:04x}\n", sub.second));
    w.file(dir + "/class", fmt::format("0x{:04x}{:02x}\n", d.class_id, default_prog_if(d)));
    w.file(dir + "/revision", fmt::format("0x{:02x}\n", d.revision.value_or(0)));
    int node = desc.pci.numa_node;
    if (auto it = desc.pci.root_bus_nodes.find(p.root_bus); it != desc.pci.root_bus_nodes.end()) node = it->second;
    w.file(dir + "/numa_node", fmt::format("{}\n", f.numa_node.value_or(node)));
    w.file(dir + "/enable", d.class_id != 0x0600 ? "1\n" : "0\n");
    w.file(dir + "/irq", "0\n");
    std::vector<Region> regions;
    for (const auto& b : f.bars) regions.push_back(*parse_region(b));
    if (f.bars.empty()) regions = default_regions(d);
    number_regions(regions);
    w.file(dir + "/resource", resource_file(regions, placer));
    for (int bar : f.resizable_bars) {
      for (const auto& r : regions) {
        if (r.index == bar && !r.rom && !r.io) w.file(fmt::format("{}/resource{}_resize", dir, bar), resize_file(r));
      }
    }
    w.file(dir + "/config", config_space(p, sub.first, sub.second, is_boot));
    std::string reset = f.reset_method ? *f.reset_method : default_reset(p);
    if (!reset.empty() && desc.pci.reset_methods) w.file(dir + "/reset_method", reset + "\n");
    if (d.class_id == 0x0300) w.file(dir + "/boot_vga", is_boot ? "1\n" : "0\n");
    if (f.sriov_totalvfs) {
      w.file(dir + "/sriov_totalvfs", fmt::format("{}\n", *f.sriov_totalvfs));
      w.file(dir + "/sriov_numvfs", fmt::format("{}\n", f.sriov_numvfs.value_or(0)));
    }
    std::string bus_link = "sys/bus/pci/devices/" + d.address.str();
    w.link(bus_link, dir);
    w.link(dir + "/subsystem", "sys/bus/pci");
    std::string driver = driver_of(desc, d);
    if (!driver.empty()) {
      std::string ddir = "sys/bus/pci/drivers/" + driver;
      w.dir(ddir);
      w.link(dir + "/driver", ddir);
      w.link(ddir + "/" + d.address.str(), dir);
    }
    // The kernel's uevent: what udev (and vfioctl) read in one go.
    std::string uevent = driver.empty() ? "" : "DRIVER=" + driver + "\n";
    unsigned cls = (unsigned{d.class_id} << 8) | default_prog_if(d);
    uevent += fmt::format("PCI_CLASS={:X}\nPCI_ID={:04X}:{:04X}\nPCI_SUBSYS_ID={:04X}:{:04X}\nPCI_SLOT_NAME={}\n", cls,
                          d.vendor_id, d.device_id, sub.first, sub.second, d.address.str());
    uevent += fmt::format("MODALIAS=pci:v{:08X}d{:08X}sv{:08X}sd{:08X}bc{:02X}sc{:02X}i{:02X}\n", d.vendor_id,
                          d.device_id, sub.first, sub.second, cls >> 16, (cls >> 8) & 0xff, cls & 0xff);
    w.file(dir + "/uevent", uevent);
    if (d.group) {
      std::string gdir = fmt::format("sys/kernel/iommu_groups/{}", *d.group);
      w.link(dir + "/iommu_group", gdir);
      w.link(gdir + "/devices/" + d.address.str(), dir);
    }
  }
  // Group type: identity with iommu=pt, else the lazy DMA default.
  bool pt = (" " + desc.kernel.cmdline + " ").find(" iommu=pt ") != std::string::npos;
  for (int g : desc.listing.group_ids()) {
    w.file(fmt::format("sys/kernel/iommu_groups/{}/type", g), pt ? "identity\n" : "DMA-FQ\n");
  }
  bool amd = desc.cpu.vendor_id == "AuthenticAMD";
  if (desc.iommu_units > 0) w.dir("sys/class/iommu");
  for (int i = 0; i < desc.iommu_units; ++i) {
    std::string name = fmt::format("{}{}", amd ? "ivhd" : "dmar", i);
    std::string dev = "sys/devices/virtual/iommu/" + name;
    w.file(dev + (amd ? "/amd-iommu/cap" : "/intel-iommu/cap"), amd ? "0x0000000000000000\n" : "0x00d2008c40660462\n");
    w.link("sys/class/iommu/" + name, dev);
  }
}

}  // namespace vfioctl::hostgen
