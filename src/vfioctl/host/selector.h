// Device selectors, as users write them on the command line and in specs:
// "01:00.0", "0000:01:00.0", "01:00" (every function of a slot),
// "10de:1b81" (vendor:device), or a kind: gpu, audio, usb, nvme, sata, net.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "vfioctl/host/pci.h"

namespace vfioctl {

struct Selector {
  enum class Kind { address, slot, ids, device_class };
  Kind kind = Kind::address;
  std::string text;        // as given
  PciAddress address;      // address, slot (function ignored)
  uint16_t vendor_id = 0;  // ids
  uint16_t device_id = 0;
  std::string class_name;  // device_class: "gpu", ...
};

// nullopt when the text is none of the forms; see selector_help().
std::optional<Selector> parse_selector(const std::string& text);

bool selector_matches(const Selector& sel, const PciDevice& dev);

// One line naming the accepted forms, for error messages.
const char* selector_help();

// Parses each text; throws an input Error (exit 2) naming the first that is
// none of the forms.
std::vector<Selector> parse_selectors(const std::vector<std::string>& texts);

// Whether `dev` matches any of `sels`; an empty list matches everything.
bool any_selector_matches(const std::vector<Selector>& sels, const PciDevice& dev);

// The device kinds a selector may name.
const std::vector<std::string>& selector_kinds();

}  // namespace vfioctl
