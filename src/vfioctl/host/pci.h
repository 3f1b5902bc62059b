// PCI devices as sysfs shows them (/sys/bus/pci/devices/*).
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vfioctl/host/notes.h"

namespace vfioctl {

class Root;

struct PciAddress {
  uint32_t domain = 0;
  uint32_t bus = 0;
  uint32_t device = 0;
  uint32_t function = 0;

  // Accepts "0000:01:00.0" and "01:00.0" (domain 0). nullopt otherwise.
  static std::optional<PciAddress> parse(std::string_view text);

  std::string str() const;        // "0000:01:00.0"
  std::string short_str() const;  // "01:00.0" in domain 0, str() otherwise
  // Same slot: the functions of one physical device share it.
  bool same_slot(const PciAddress& o) const { return domain == o.domain && bus == o.bus && device == o.device; }
  auto operator<=>(const PciAddress&) const = default;
};

// One base address register as the kernel's sysfs `resource` file gives it:
// a line "start end flags" (hex) per region, BARs 0-5 first. Only regions
// the kernel assigned or sized (end != 0) are kept.
struct PciBar {
  int index = 0;                                                   // 0-5
  uint64_t start = 0;                                              // host address; 0 when unassigned
  uint64_t size = 0;                                               // end - start + 1
  uint64_t flags = 0;                                              // IORESOURCE_* bits
  bool io() const { return (flags & 0x100) != 0; }                 // IORESOURCE_IO
  bool mem() const { return (flags & 0x200) != 0; }                // IORESOURCE_MEM
  bool prefetchable() const { return (flags & 0x2000) != 0; }      // IORESOURCE_PREFETCH
  bool mem64() const { return mem() && (flags & 0x100000) != 0; }  // IORESOURCE_MEM_64
  // Resizable BAR: the sizes the device offers (`resourceN_resize`, Linux
  // 6.1+: bit n = 2^n MiB); 0 when it has none or the kernel does not say.
  uint64_t resizable_sizes = 0;
  // The largest size Resizable BAR offers; 0 without it.
  uint64_t largest_resizable() const;
};

// Reads a sysfs `resource` file's text: BARs 0-5, sizes from start/end.
// Lines that are not three hex numbers, or whose end is below the start,
// are skipped; `bad` counts them.
std::vector<PciBar> parse_pci_resource(std::string_view text, int* bad = nullptr);

struct PciDevice {
  PciAddress address;
  std::optional<uint32_t> class_code;  // 24 bits: base, sub, prog-if (0x030000)
  std::optional<uint16_t> vendor_id;
  std::optional<uint16_t> device_id;
  std::optional<uint16_t> subsystem_vendor_id;
  std::optional<uint16_t> subsystem_device_id;
  std::optional<uint8_t> revision;
  std::string vendor_name;  // from pci.ids; empty when unknown
  std::string device_name;
  std::string class_name;
  std::optional<std::string> driver;  // nullopt: no driver bound
  // What modules.alias is matched against ("pci:v000010DEd00001B81sv...").
  std::optional<std::string> modalias;
  std::optional<int> iommu_group;  // nullopt: no group (IOMMU off) or unreadable
  std::optional<bool> boot_vga;    // only VGA devices have the file
  // Reset methods the kernel offers ("flr", "bus", ...); empty: none;
  // nullopt: the kernel does not say (file absent before Linux 5.15).
  std::optional<std::vector<std::string>> reset_methods;
  std::optional<int> sriov_totalvfs;
  std::optional<int> sriov_numvfs;
  std::optional<PciAddress> physfn;  // set on an SR-IOV virtual function
  std::optional<int> numa_node;      // nullopt when the kernel says -1
  std::optional<PciAddress> parent;  // upstream bridge; nullopt on a root bus
  std::vector<std::string> notes;    // what could not be read, for display
  // BARs 0-5 from `resource`; nullopt when the file is missing.
  std::optional<std::vector<PciBar>> bars;

  // Base class and subclass, e.g. 0x0300 for a VGA controller.
  std::optional<uint16_t> class_id() const {
    if (!class_code) return std::nullopt;
    return static_cast<uint16_t>(*class_code >> 8);
  }
  // Bridges (host bridge, PCI-to-PCI bridge, root port) stay with the host
  // and do not block passing the rest of their IOMMU group.
  bool is_bridge() const;
  bool is_gpu() const;      // display controller (class 03xx)
  bool is_vga() const;      // VGA-compatible (0300)
  bool is_audio() const;    // 0403 (HD Audio), 0401
  bool is_usb() const;      // 0c03
  bool is_nvme() const;     // 0108
  bool is_network() const;  // 02xx
  // "10de:1b81", or "?" parts when unknown.
  std::string id_pair() const;
};

struct IommuGroup;

// Reads every device under /sys/bus/pci/devices, sorted by address.
// Names come from pci.ids through libpci. Problems become notes.
// `groups`, when given, is the IOMMU group listing already read: devices it
// names take their group from it instead of a link lookup each.
std::vector<PciDevice> read_pci_devices(const Root& root, Notes& notes,
                                        const std::vector<IommuGroup>* groups = nullptr);

// 4 hex digits, lower case ("10de").
std::string hex4(uint16_t v);
// Lower-case hex in at least `width` digits (fmt's {:0Nx}).
std::string hex_digits(uint32_t v, int width);

}  // namespace vfioctl
