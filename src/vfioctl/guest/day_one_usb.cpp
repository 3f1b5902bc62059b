// The guest's USB devices (docs/design.md, "Day one of a guest"): each found on
// the host by its id, and by its port when the id is not unique.
#include <fmt/format.h>

#include <algorithm>

#include "vfioctl/guest/day_one_parts.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::day_one {

namespace {

std::string usb_line(const UsbDevice& u) {
  std::string name = join(std::vector<std::string>{u.manufacturer.value_or(""), u.name.value_or("")}, " ");
  return fmt::format("{} {}{}", u.port, u.id(), trim(name).empty() ? "" : " " + std::string(trim(name)));
}

}  // namespace

void plan_usb(const GuestEnv& env, GuestPlan& plan) {
  for (const auto& u : plan.spec.usb) {
    PlannedUsb p;
    p.spec = u;
    if (!env.known) {
      p.host.vendor = u.vendor;
      p.host.product = u.product;
      p.host.port = u.port.value_or("");
      plan.usb.push_back(p);
      continue;
    }
    std::vector<const UsbDevice*> same;
    for (const auto& h : env.usb) {
      if (h.vendor == u.vendor && h.product == u.product) same.push_back(&h);
    }
    std::vector<std::string> all;
    for (const auto& h : env.usb) {
      if (!h.hub) all.push_back(usb_line(h));
    }
    std::string have = all.empty() ? "this host has no USB devices (/sys/bus/usb/devices lists none)"
                                   : "this host has: " + join(all, "; ");
    if (same.empty() && unchecked(env, plan, u.pos, "USB device " + u.id(), !env.usb.empty())) {
      p.host.vendor = u.vendor;
      p.host.product = u.product;
      p.host.port = u.port.value_or("");
      plan.usb.push_back(p);
      continue;
    }
    if (same.empty()) fail_at(u.pos, fmt::format("no USB device {} on this host; {}", u.id(), have));
    const UsbDevice* pick = nullptr;
    if (u.port) {
      for (const auto* h : same) {
        if (h->port == *u.port) pick = h;
      }
      if (!pick) {
        std::vector<std::string> ports;
        for (const auto* h : same) ports.push_back(h->port);
        fail_at(u.pos, fmt::format("no USB device {} at port {}; it is at {}", u.id(), *u.port, join(ports, ", ")));
      }
      p.by_port = same.size() > 1;
    } else if (same.size() > 1) {
      std::vector<std::string> ports;
      for (const auto* h : same) ports.push_back(h->port);
      fail_at(u.pos, fmt::format("{} USB devices are {} (ports {}); add port = \"{}\" (or another) to say which",
                                 same.size(), u.id(), join(ports, ", "), ports.front()));
    } else {
      pick = same.front();
    }
    if (pick->hub)
      plan.warnings.push_back(
          fmt::format("{}: {} is a USB hub: only the hub goes to the guest, not what is "
                      "plugged into it; pass its controller instead (passthrough = [\"usb\"])",
                      u.pos.str(), u.id()));
    if (p.by_port)
      plan.warnings.push_back(
          fmt::format("{}: {} is picked by its bus and device number ({} on bus {}): they "
                      "change when it is plugged in again",
                      u.pos.str(), u.id(), pick->devnum.value_or(0), pick->busnum.value_or(0)));
    p.host = *pick;
    plan.usb.push_back(p);
  }
}

}  // namespace vfioctl::day_one
