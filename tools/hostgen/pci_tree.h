// Where each listed PCI device sits: its upstream bridge (inferred, since
// listings do not say), bus numbers behind bridges, and its sysfs path.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "description.h"

namespace vfioctl::hostgen {

struct PlacedDevice {
  ListedDevice dev;
  std::optional<size_t> parent;  // index of the upstream bridge
  unsigned root_bus = 0;         // the root bus the device hangs from
  unsigned secondary = 0;        // bridges: bus behind it (0: none inferred)
  unsigned subordinate = 0;      // bridges: highest bus behind it
  bool multifunction = false;    // its slot has several functions
  std::string path;              // "sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0"
};

// Places every device of the listing. Root buses: the lowest bus of each
// domain, buses holding a host bridge (class 0600), and pci.root_buses.
// Each other bus, ascending, gets as upstream: the pci.upstream override;
// else a not yet used PCI bridge (0604) on a lower bus in the same IOMMU
// group as a device of the bus; else (skipping bridges whose group holds
// other devices: nothing behind them could be in another group) the not
// yet used bridge on the highest
// lower bus (lowest address first), which follows depth-first enumeration;
// a bus with no candidate left becomes a root bus. Sorted by address.
std::vector<PlacedDevice> place_devices(const Listing& listing, const PciFacts& facts);

// Whether a class is a PCI-to-PCI bridge (0604, 0609: header type 1).
bool is_pci_bridge(uint16_t class_id);

// The programming interface a class usually has when the listing does not
// show one (xHCI 0x30, AHCI 0x01, NVMe 0x02, ...).
uint8_t default_prog_if(const ListedDevice& dev);

// The driver a host would bind by default ("" for none), from class,
// vendor and device ids.
std::string default_driver(const ListedDevice& dev);

// The kernel module that provides a driver ("xhci_hcd" -> "xhci_pci"), ""
// for drivers that are always built in (pcieport).
std::string driver_module(const std::string& driver);

// 256 bytes of configuration space for a placed device.
std::string config_space(const PlacedDevice& p, uint16_t sub_vendor, uint16_t sub_device, bool boot_vga);

}  // namespace vfioctl::hostgen
