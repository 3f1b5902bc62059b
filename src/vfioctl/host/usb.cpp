#include "vfioctl/host/usb.h"

#include <fmt/format.h>

#include <algorithm>
#include <tuple>

#include "vfioctl/host/root.h"
#include "vfioctl/util/strings.h"

namespace vfioctl {

namespace {

std::optional<std::string> attribute(const Root& root, const std::string& dir, const char* name) {
  auto text = root.read(dir + "/" + name);
  if (!text) return std::nullopt;
  std::string v(trim(*text));
  if (v.empty()) return std::nullopt;
  return v;
}

// The last PCI function on a resolved sysfs path: the controller.
std::optional<PciAddress> controller_of(const std::string& path) {
  std::optional<PciAddress> last;
  for (auto part : split(path, '/')) {
    if (part.size() == 12 && part[4] == ':' && part[7] == ':' && part[10] == '.') {
      if (auto a = PciAddress::parse(part)) last = a;
    }
  }
  return last;
}

// "3-1.2" -> (3, {1, 2}) for sorting by bus, then port path.
std::pair<long long, std::vector<long long>> port_key(const std::string& port) {
  std::pair<long long, std::vector<long long>> key{0, {}};
  size_t dash = port.find('-');
  key.first = parse_int(port.substr(0, dash)).value_or(0);
  if (dash == std::string::npos) return key;
  for (auto p : split(std::string_view(port).substr(dash + 1), '.')) key.second.push_back(parse_int(p).value_or(0));
  return key;
}

}  // namespace

std::string UsbDevice::id() const { return fmt::format("{:04x}:{:04x}", vendor, product); }

std::vector<UsbDevice> read_usb_devices(const Root& root, Notes& notes) {
  std::vector<UsbDevice> out;
  const std::string base = "/sys/bus/usb/devices";
  auto names = root.list(base);
  if (!names) return out;
  for (const auto& n : *names) {
    // Interfaces ("1-4:1.0") and root hubs ("usb1") are not devices to pass.
    if (n.find(':') != std::string::npos || starts_with(n, "usb")) continue;
    std::string dir = base + "/" + n;
    UsbDevice d;
    d.port = n;
    unsigned long v = 0x10000, p = 0x10000;
    if (auto vendor = attribute(root, dir, "idVendor")) v = parse_hex(*vendor).value_or(0x10000);
    if (auto product = attribute(root, dir, "idProduct")) p = parse_hex(*product).value_or(0x10000);
    if (v > 0xffff || p > 0xffff) {
      notes.push_back({dir, "no readable idVendor/idProduct; the device is left out"});
      continue;
    }
    d.vendor = static_cast<unsigned>(v);
    d.product = static_cast<unsigned>(p);
    if (auto b = attribute(root, dir, "busnum")) {
      if (auto i = parse_int(*b)) d.busnum = static_cast<int>(*i);
    }
    if (auto b = attribute(root, dir, "devnum")) {
      if (auto i = parse_int(*b)) d.devnum = static_cast<int>(*i);
    }
    d.manufacturer = attribute(root, dir, "manufacturer");
    d.name = attribute(root, dir, "product");
    d.serial = attribute(root, dir, "serial");
    d.speed = attribute(root, dir, "speed");
    d.hub = attribute(root, dir, "bDeviceClass") == std::optional<std::string>("09");
    if (auto real = root.resolve(dir)) d.controller = controller_of(*real);
    out.push_back(std::move(d));
  }
  std::sort(out.begin(), out.end(),
            [](const UsbDevice& a, const UsbDevice& b) { return port_key(a.port) < port_key(b.port); });
  return out;
}

}  // namespace vfioctl
