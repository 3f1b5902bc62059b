// PCI devices, IOMMU groups and IOMMU units.
#include <fmt/format.h>

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

std::string default_reset(const PlacedDevice& p) {
  const ListedDevice& d = p.dev;
  if (is_pci_bridge(d.class_id) || d.class_id == 0x0600 || d.class_id == 0x0601) return "";
  if (!p.parent) return "pm";
  // Endpoints with FLR: NVMe and Intel NICs report it; GPUs mostly do not.
  if (d.class_id == 0x0108 || (d.class_id == 0x0200 && d.vendor_id == 0x8086)) return "flr bus";
  return "bus";
}

}  // namespace

void write_pci(const HostDescription& desc, const TreeWriter& w) {
  auto placed = place_devices(desc.listing, desc.pci);
  auto vga = boot_vga(desc);
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
    std::string resource;
    for (int i = 0; i < 13; ++i) resource += "0x0000000000000000 0x0000000000000000 0x0000000000000000\n";
    w.file(dir + "/resource", resource);
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
