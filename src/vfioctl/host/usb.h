// USB devices on the host (/sys/bus/usb/devices), for [[usb]] in a guest
// spec and `vfioctl list usb`.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "vfioctl/host/notes.h"
#include "vfioctl/host/pci.h"

namespace vfioctl {

class Root;

struct UsbDevice {
  std::string port;                   // the kernel's name: "1-4", "3-1.2"
  unsigned vendor = 0, product = 0;   // idVendor, idProduct
  std::optional<int> busnum, devnum;  // what libvirt's <address bus= device=> names
  std::optional<std::string> manufacturer, name, serial;
  std::optional<std::string> speed;      // Mb/s as the kernel writes it: "12", "480", "5000"
  bool hub = false;                      // bDeviceClass 09
  std::optional<PciAddress> controller;  // the PCI USB controller it hangs off
  std::string id() const;                // "046d:c52b"
};

// Every USB device but the root hubs, sorted by bus and port. No
// /sys/bus/usb (no USB controller, or USB not built) gives an empty list.
std::vector<UsbDevice> read_usb_devices(const Root& root, Notes& notes);

}  // namespace vfioctl
