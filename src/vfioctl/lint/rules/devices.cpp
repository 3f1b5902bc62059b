// Devices: disk I/O modes, queues, the balloon, how a passed device's
// functions sit in the guest, suspend, Looking Glass shared memory.
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "vfioctl/lint/rules/checks.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::lint {

namespace {

std::string disk_name(pugi::xml_node disk) {
  std::string dev = disk.child("target").attribute("dev").value();
  return dev.empty() ? "disk" : "disk " + dev;
}

}  // namespace

// L007
void check_io_native_cache(const Domain& d, const Host*, Emitter& out) {
  for (pugi::xml_node disk : d.root().child("devices").children("disk")) {
    pugi::xml_node drv = disk.child("driver");
    if (!attr_is(drv, "io", "native")) continue;
    std::string cache = drv.attribute("cache").value();
    if (cache == "none" || cache == "directsync") continue;
    std::string what = cache.empty() ? "no cache mode (QEMU's default, writeback)" : "cache='" + cache + "'";
    out.add(drv, fmt::format("{}: io='native' with {}", disk_name(disk), what),
            "add cache='none' to this <driver>, or use io='threads'");
  }
}

// L008
void check_queues(const Domain& d, const Host*, Emitter& out) {
  if (!d.vcpus) return;
  for (pugi::xml_node dev : d.root().child("devices").children()) {
    std::string_view kind = dev.name();
    std::string what;
    if (kind == "controller" && attr_is(dev, "type", "scsi") && attr_is(dev, "model", "virtio-scsi")) {
      what = fmt::format("virtio-scsi controller {}", dev.attribute("index").as_string("0"));
    } else if (kind == "disk" && attr_is(dev.child("target"), "bus", "virtio")) {
      what = "virtio " + disk_name(dev);
    } else {
      continue;
    }
    pugi::xml_node drv = dev.child("driver");
    auto queues = parse_number(drv.attribute("queues").value());
    if (!queues || static_cast<long>(*queues) <= *d.vcpus) continue;
    out.add(drv, fmt::format("{} has {} queues for {} vCPUs", what, *queues, *d.vcpus),
            fmt::format("set queues='{}' (one per vCPU at most)", *d.vcpus));
  }
}

// L009
void check_balloon(const Domain& d, const Host*, Emitter& out) {
  if (d.pci_hostdevs.empty()) return;
  pugi::xml_node devices = d.root().child("devices");
  pugi::xml_node balloon = devices.child("memballoon");
  if (!balloon) {
    out.add(devices, "no <memballoon>: libvirt adds a virtio balloon, useless with passed-through PCI devices",
            "add <memballoon model='none'/> to <devices>");
    return;
  }
  std::string model = balloon.attribute("model").value();
  if (model == "none") return;
  out.add(balloon, fmt::format("memballoon model='{}' in a guest with passed-through PCI devices", model),
          "replace it with <memballoon model='none'/>");
}

// L021
void check_function_slots(const Domain& d, const Host*, Emitter& out) {
  // Host devices by slot, in document order of their first function.
  std::vector<std::vector<const PciHostdev*>> slots;
  for (const auto& h : d.pci_hostdevs) {
    auto it = std::find_if(slots.begin(), slots.end(),
                           [&](const auto& s) { return s.front()->host.same_slot(h.host); });
    if (it == slots.end()) slots.push_back({&h});
    else it->push_back(&h);
  }
  for (auto& fns : slots) {
    if (fns.size() < 2) continue;
    std::sort(fns.begin(), fns.end(), [](const auto* a, const auto* b) { return a->host.function < b->host.function; });
    const PciHostdev* f0 = fns.front();
    if (f0->host.function != 0) continue;  // a partial set is another question
    std::vector<std::string> hosts, guests;
    bool all_addressed = true, one_slot = true;
    for (const auto* f : fns) {
      hosts.push_back(f->host.short_str());
      if (!f->guest) {
        all_addressed = false;
        guests.push_back("(none)");
        continue;
      }
      guests.push_back(f->guest->slot_str());
      if (!f0->guest || !f->guest->same_slot(*f0->guest)) one_slot = false;
    }
    std::string slot = f0->host.slot_str();
    std::string listed = join(hosts, ", ");
    std::string layout;
    if (f0->guest) {
      std::vector<std::string> lines;
      for (const auto* f : fns) {
        lines.push_back(fmt::format("{} -> guest {:02x}:{:02x}.{:x}", f->host.short_str(), f0->guest->bus,
                                    f0->guest->slot, f->host.function));
      }
      layout = fmt::format(" ({}), multifunction='on' on function 0", join(lines, ", "));
    }
    std::string fix =
        "give the functions one guest slot: the same bus and slot in each <address type='pci'>, the host's function "
        "numbers" +
        layout;
    if (!all_addressed) {
      out.add(f0->node,
              fmt::format("functions of host device {} ({}) have no guest address: libvirt puts each on a slot of "
                          "its own",
                          slot, listed),
              fix);
    } else if (!one_slot) {
      out.add(f0->node,
              fmt::format("functions of host device {} ({}) are on separate guest slots ({})", slot, listed,
                          join(guests, ", ")),
              fix);
    } else if (!f0->multifunction) {
      out.add(f0->node,
              fmt::format("functions of host device {} share guest slot {}, but function 0's address lacks "
                          "multifunction='on'",
                          slot, f0->guest->slot_str()),
              fmt::format("add multifunction='on' to the guest <address> of {}", f0->host.short_str()));
    }
  }
}

// L022
void check_suspend(const Domain& d, const Host*, Emitter& out) {
  if (d.pci_hostdevs.empty()) return;
  pugi::xml_node pm = d.root().child("pm");
  for (const char* name : {"suspend-to-mem", "suspend-to-disk"}) {
    pugi::xml_node n = pm.child(name);
    if (!attr_is(n, "enabled", "yes")) continue;
    out.add(n, fmt::format("{} (S{}) is enabled in a guest with passed-through PCI devices", name,
                           std::string_view(name) == "suspend-to-mem" ? 3 : 4),
            fmt::format("set <{} enabled='no'/>", name));
  }
}

// L023
void check_looking_glass(const Domain& d, const Host*, Emitter& out) {
  constexpr unsigned long long MiB = 1024ULL * 1024;
  for (pugi::xml_node shm : d.root().child("devices").children("shmem")) {
    std::string name = to_lower(shm.attribute("name").value());
    if (name.find("looking") == std::string::npos) continue;
    pugi::xml_node size = shm.child("size");
    if (!size) continue;
    auto bytes = parse_scaled(size.text().get(), size.attribute("unit").value(), 1);
    if (!bytes) continue;
    std::string shown = *bytes % MiB == 0 ? fmt::format("{} MiB", *bytes / MiB) : fmt::format("{} bytes", *bytes);
    unsigned long long pow2 = 32 * MiB;
    while (pow2 < *bytes) pow2 *= 2;
    if (*bytes & (*bytes - 1)) {
      out.add(size, Severity::fail,
              fmt::format("Looking Glass shared memory of {} is not a power of two", shown),
              fmt::format("<size unit='M'>{}</size>", pow2 / MiB),
              "libvirt refuses a shared memory size that is not a power of two.");
    } else if (*bytes < 32 * MiB) {
      out.add(size, fmt::format("Looking Glass shared memory of {} is too small: 1920x1080 needs 32 MiB", shown),
              "<size unit='M'>32</size> for 1920x1080, 64 for 2560x1440, 128 for 3840x2160");
    }
  }
}

}  // namespace vfioctl::lint
