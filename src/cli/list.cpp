// vfioctl list: IOMMU groups with a verdict each, and the devices in them.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <optional>
#include <set>

#include "cli.h"
#include "vfioctl/host/host.h"
#include "vfioctl/host/json.h"
#include "vfioctl/host/selector.h"
#include "vfioctl/host/usb.h"
#include "vfioctl/plan/device_plan.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::cli {

namespace {

struct ListOptions {
  std::vector<std::string> selectors;
};

bool selected(const std::vector<Selector>& sels, const PciDevice& dev) { return any_selector_matches(sels, dev); }

std::vector<std::string> device_flags(const PciDevice& dev) {
  std::vector<std::string> flags;
  if (dev.boot_vga == true) flags.push_back("boot-vga");
  if (dev.reset_methods) {
    flags.push_back(dev.reset_methods->empty() ? "no-reset" : "reset:" + join(*dev.reset_methods, ","));
  }
  if (dev.sriov_totalvfs && *dev.sriov_totalvfs > 0) {
    flags.push_back(fmt::format("sr-iov:{}/{}vfs", dev.sriov_numvfs.value_or(0), *dev.sriov_totalvfs));
  }
  if (dev.physfn) flags.push_back("vf-of:" + dev.physfn->short_str());
  return flags;
}

std::string describe(const PciDevice& dev) {
  std::string cls = dev.class_name.empty()
                        ? (dev.class_id() ? fmt::format("Class {:04x}", *dev.class_id()) : "Unknown class")
                        : dev.class_name;
  std::string name;
  if (!dev.vendor_name.empty()) name = dev.vendor_name;
  if (!dev.device_name.empty()) name += (name.empty() ? "" : " ") + dev.device_name;
  if (name.empty()) name = "Unknown device";
  // Like lspci: revision 00 is not shown.
  std::string rev = dev.revision && *dev.revision ? fmt::format(" (rev {:02x})", *dev.revision) : "";
  return fmt::format("{}: {} [{}]{}", cls, name, dev.id_pair(), rev);
}

std::string device_line(const PciDevice& dev, const Style& st) {
  std::string driver = dev.driver ? *dev.driver : "no driver";
  if (dev.driver == "vfio-pci") driver = st.green(driver);
  std::string line = fmt::format("  {} {}  {}", st.bold(dev.address.short_str()), describe(dev), "driver: " + driver);
  auto flags = device_flags(dev);
  if (!flags.empty()) line += "  " + st.dim("[" + join(flags, " ") + "]");
  for (const auto& note : dev.notes) line += "\n      " + st.yellow("note: " + note);
  return line;
}

std::string verdict_text(const Host& host, const GroupAssessment& a, const Style& st) {
  switch (a.verdict) {
    case GroupVerdict::ready: return st.green("ready") + " (every endpoint is on vfio-pci)";
    case GroupVerdict::passable: return st.green("passable") + " (one device; bridges stay with the host)";
    case GroupVerdict::none: return st.dim("none") + " (bridges only)";
    case GroupVerdict::shared: break;
  }
  std::set<std::string> slots;
  for (const auto& e : a.endpoints) {
    const PciDevice* d = host.device(e);
    slots.insert(e.short_str() + (d && d->driver ? " (" + *d->driver + ")" : ""));
  }
  return st.yellow("shared") + ": these devices can only leave the host together: " +
         join(std::vector<std::string>(slots.begin(), slots.end()), ", ");
}

bool wants_usb(const std::vector<std::string>& selectors) {
  return std::find(selectors.begin(), selectors.end(), "usb") != selectors.end();
}

// USB devices for [[usb]] in a guest spec: what `list usb` adds below the
// USB controllers.
void print_usb(const std::vector<UsbDevice>& devices, const Style& st) {
  std::cout << "\n" << st.bold("USB devices") << " (for [[usb]] id = \"VENDOR:PRODUCT\" in a guest spec)\n";
  if (devices.empty()) {
    std::cout << "  none: /sys/bus/usb/devices lists no device (no USB controller, or none the kernel drives)\n";
    return;
  }
  std::cout << fmt::format("  {:<10} {:<10} {:<8} {:<9} {}\n", "PORT", "ID", "BUS/DEV", "SPEED", "NAME");
  for (const auto& d : devices) {
    std::string name = join(std::vector<std::string>{d.manufacturer.value_or(""), d.name.value_or("")}, " ");
    if (trim(name).empty()) name = "(no name)";
    if (d.hub) name += " [hub]";
    if (d.controller) name += "  on " + d.controller->short_str();
    std::string busdev = d.busnum && d.devnum ? fmt::format("{:03}/{:03}", *d.busnum, *d.devnum) : "?";
    std::string speed = d.speed ? *d.speed + "M" : "?";
    std::cout << fmt::format("  {:<10} {:<10} {:<8} {:<9} {}\n", d.port, d.id(), busdev, speed, trim(name));
  }
}

void write_usb_json(JsonWriter& w, const std::vector<UsbDevice>& devices) {
  w.key("usb_devices");
  w.begin_array();
  for (const auto& d : devices) {
    w.begin_object();
    w.field("port", d.port);
    w.field("id", d.id());
    w.field("bus", d.busnum);
    w.field("device", d.devnum);
    w.field("manufacturer", d.manufacturer);
    w.field("name", d.name);
    w.field("speed_mbps", d.speed);
    w.field("hub", d.hub);
    w.field("controller", d.controller ? std::optional<std::string>(d.controller->str()) : std::nullopt);
    w.end_object();
  }
  w.end_array();
}

void write_list_json(JsonWriter& w, const Host& host, const std::vector<Selector>& sels,
                     const std::optional<std::vector<UsbDevice>>& usb) {
  w.begin_object();
  if (usb) write_usb_json(w, *usb);
  w.field("iommu_enabled", !host.groups.empty());
  w.key("groups");
  w.begin_array();
  std::set<PciAddress> grouped;
  for (const auto& g : host.groups) {
    for (const auto& a : g.devices) grouped.insert(a);
    bool any = false;
    for (const auto& addr : g.devices) {
      const PciDevice* dev = host.device(addr);
      if (dev && selected(sels, *dev)) any = true;
    }
    if (!any) continue;
    auto a = assess_group(host, g);
    w.begin_object();
    w.field("id", g.id);
    w.field("verdict", verdict_name(a.verdict));
    w.key("endpoints");
    w.begin_array();
    for (const auto& e : a.endpoints) w.value(e.str());
    w.end_array();
    w.key("devices");
    w.begin_array();
    for (const auto& addr : g.devices) {
      if (const PciDevice* dev = host.device(addr)) write_json(w, *dev);
    }
    w.end_array();
    w.end_object();
  }
  w.end_array();
  w.key("devices_without_group");
  w.begin_array();
  for (const auto& dev : host.pci) {
    if (!grouped.count(dev.address) && selected(sels, dev)) write_json(w, dev);
  }
  w.end_array();
  w.key("shared_ids");
  w.begin_array();
  for (const auto& [id, addrs] : shared_ids(host)) {
    w.begin_object();
    w.field("id", id);
    w.key("devices");
    w.begin_array();
    for (const auto& a : addrs) w.value(a.str());
    w.end_array();
    w.end_object();
  }
  w.end_array();
  w.key("notes");
  write_json(w, host.notes);
  w.end_object();
  w.finish();
}

void print_text(const Host& host, const std::vector<Selector>& sels, const Style& st) {
  std::set<PciAddress> grouped;
  size_t shown = 0;
  for (const auto& g : host.groups) {
    for (const auto& a : g.devices) grouped.insert(a);
    bool any = false;
    for (const auto& addr : g.devices) {
      const PciDevice* dev = host.device(addr);
      if (dev && selected(sels, *dev)) any = true;
    }
    if (!any) continue;
    ++shown;
    auto a = assess_group(host, g);
    std::cout << st.bold(fmt::format("IOMMU group {}", g.id)) << "  " << verdict_text(host, a, st) << "\n";
    for (const auto& addr : g.devices) {
      const PciDevice* dev = host.device(addr);
      if (dev)
        std::cout << device_line(*dev, st) << "\n";
      else
        std::cout << "  " << addr.short_str() << " (listed in the group, absent from /sys/bus/pci/devices)\n";
    }
  }
  std::vector<const PciDevice*> ungrouped;
  for (const auto& dev : host.pci) {
    if (!grouped.count(dev.address) && selected(sels, dev)) ungrouped.push_back(&dev);
  }
  if (host.groups.empty()) {
    std::cout << st.yellow("The IOMMU is off: /sys/kernel/iommu_groups is empty, so no device can be passed through.")
              << "\n";
    switch (host.platform.vendor) {
      case CpuVendor::intel:
        std::cout << "Enable VT-d in the firmware setup, and add intel_iommu=on to the kernel command line\n"
                     "(kernels before 6.2 leave the Intel IOMMU off by default). 'vfioctl doctor' checks every step.\n";
        break;
      case CpuVendor::amd:
        std::cout << "Enable the IOMMU (often called AMD-Vi or IOMMU, next to SVM) in the firmware setup;\n"
                     "the kernel turns it on by itself on AMD. 'vfioctl doctor' checks every step.\n";
        break;
      default:
        std::cout << "Enable the IOMMU in the firmware setup (VT-d on Intel, AMD-Vi on AMD); on Intel also add\n"
                     "intel_iommu=on to the kernel command line. 'vfioctl doctor' checks every step.\n";
        break;
    }
    if (!ungrouped.empty()) std::cout << "\nPCI devices:\n";
  } else if (!ungrouped.empty()) {
    std::cout << "\nDevices without an IOMMU group:\n";
  }
  for (const auto* dev : ungrouped) std::cout << device_line(*dev, st) << "\n";
  if (shown == 0 && ungrouped.empty()) std::cout << "No device matches.\n";

  for (const auto& [id, addrs] : shared_ids(host)) {
    bool relevant = false;
    std::vector<std::string> names;
    for (const auto& a : addrs) {
      const PciDevice* d = host.device(a);
      if (d && selected(sels, *d)) relevant = true;
      names.push_back(a.short_str());
    }
    if (!relevant) continue;
    std::cout << st.yellow("warning: ")
              << fmt::format(
                     "{} devices share the id {} ({}): vfio-pci.ids={} would claim all of them; bind one by address "
                     "(driver_override) instead\n",
                     addrs.size(), id, join(names, ", "), id);
  }
}

}  // namespace

void add_list(CLI::App& app, GlobalOptions& g) {
  auto opts = std::make_shared<ListOptions>();
  CLI::App* cmd = app.add_subcommand("list", "IOMMU groups and PCI devices, with what can be passed through");
  cmd->description(
      "List IOMMU groups (numerically) with their devices: address, class, names, [vendor:device], driver.\n"
      "Each group gets a verdict: ready (every endpoint on vfio-pci), passable (one device's functions\n"
      "plus bridges), shared (names the other devices that would have to go too), none (bridges only).");
  cmd->add_option(
      "selector", opts->selectors,
      "only groups holding a matching device: 01:00.0, 0000:01:00.0, 01:00, 10de:1b81, gpu, audio, usb, nvme, sata, "
      "net; usb also lists the USB devices (ids for [[usb]] in a guest spec)");
  cmd->footer(
      "\nExamples:\n  vfioctl list\n  vfioctl list gpu\n  vfioctl list 10de:1b81 --json\n  vfioctl --root "
      "tests/hosts/amd-ryzen9-3900x list");
  cmd->callback([opts, &g]() {
    auto sels = parse_selectors(opts->selectors);
    Root root = open_root(g);
    Host host = read_host(root, HostPart::pci);
    // The CPU vendor decides what to tell a user whose IOMMU is off.
    if (host.groups.empty()) host.platform = read_platform(root, host.notes);
    std::optional<std::vector<UsbDevice>> usb;
    if (wants_usb(opts->selectors)) usb = read_usb_devices(root, host.notes);
    if (g.json) {
      JsonWriter w(std::cout);
      write_list_json(w, host, sels, usb);
      return;
    }
    print_text(host, sels, make_style(g));
    if (usb) print_usb(*usb, make_style(g));
    if (g.verbose) print_notes(host.notes);
  });
}

}  // namespace vfioctl::cli
