// Parser for IOMMU group listings and `lspci -nnk` output as people paste
// them: one line per device, group blocks, trees, comments, prompts.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "vfioctl/host/pci.h"

namespace vfioctl::hostgen {

// A description or input file that cannot be used; what() names file:line.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One device line of a listing, with what the following lines added.
struct ListedDevice {
  PciAddress address;
  std::optional<int> group;        // nullopt: the listing has no groups
  uint16_t class_id = 0;           // base class and subclass (0x0300)
  std::optional<uint8_t> prog_if;  // only when "(prog-if xx" is shown
  uint16_t vendor_id = 0;
  uint16_t device_id = 0;
  std::optional<uint8_t> revision;
  std::optional<uint16_t> subsystem_vendor_id;
  std::optional<uint16_t> subsystem_device_id;
  std::optional<std::string> driver;  // "" means listed as bound to nothing
  std::vector<std::string> modules;   // "Kernel modules:" line
  std::string class_name;             // "VGA compatible controller"
  std::string name;                   // vendor and device names as printed
  int line = 0;                       // 1-based line of the device in the file
};

// A parsed listing: devices in file order.
struct Listing {
  std::vector<ListedDevice> devices;
  bool has_groups = false;             // any "IOMMU group N" seen
  bool lists_drivers = false;          // driver lines present: absence means unbound
  std::optional<std::string> cmdline;  // a /proc/cmdline line, when pasted along

  // Devices sorted by address.
  std::vector<ListedDevice> sorted() const;
  // Distinct group numbers, ascending.
  std::vector<int> group_ids() const;
  // Devices of one group, sorted by address.
  std::vector<ListedDevice> group(int id) const;
  // The device at an address, or nullptr.
  const ListedDevice* find(std::string_view address) const;
};

// Parses one device line "BB:DD.F Class [cccc]: Names [vvvv:dddd] (rev rr)".
// Returns nullopt when the line does not start with a PCI address; throws
// InputError (naming `where`) when it does but the rest is malformed.
std::optional<ListedDevice> parse_device_line(std::string_view line, const std::string& where);

// Parses a whole listing. `name` is used in error messages (file name).
// Throws InputError when no device line is found or a line is malformed.
Listing parse_listing(std::string_view text, const std::string& name);

}  // namespace vfioctl::hostgen
