// doctor's checks for passing one device to a guest (H101-H108): its IOMMU
// group, driver, reset, and what the host loses with it.
#include <fmt/format.h>

#include "vfioctl/plan/device_plan.h"
#include "vfioctl/plan/doctor_checks.h"
#include "vfioctl/plan/mmio_plan.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::doctor_detail {

void check_iommu_group(const DeviceFacts& f, CheckOut& out) {
  const auto& dev = f.dev;
  const IommuGroup* group = dev.iommu_group ? f.host.group(*dev.iommu_group) : nullptr;
  if (!group) {
    out.add(Severity::fail, f.name + " is in no IOMMU group",
            f.host.groups.empty() ? "turn the IOMMU on first (H003)" : "check the device's iommu_group link", f.where);
  } else {
    auto others = group_companions(f.host, *group, dev.address);
    if (others.empty()) {
      out.add(Severity::pass,
              fmt::format("group {} holds only this device's functions (bridges stay with the host)", group->id));
    } else {
      std::vector<std::string> names;
      for (const auto& o : others) {
        const PciDevice* od = f.host.device(o);
        names.push_back(o.short_str() + (od && od->driver ? " (" + *od->driver + ")" : ""));
      }
      out.add(Severity::fail,
              fmt::format("group {} also holds {}: they must leave the host too", group->id, join(names, ", ")),
              "pass them with it (or leave them without a host driver), or move the card to a slot with its own group "
              "(vfioctl list shows the groups)",
              f.where);
    }
  }
}

void check_driver(const DeviceFacts& f, CheckOut& out) {
  const auto& dev = f.dev;
  auto ids = f.vfio_ids();
  const VfioId* id = vfio_id_for(ids, dev);
  if (dev.driver == "vfio-pci") {
    out.add(Severity::pass, "bound to vfio-pci");
  } else if (id) {
    // Configured for vfio-pci and not on it: say why, as H027 does.
    auto [message, fix] = f.why_not_vfio(dev, *id);
    out.add(Severity::warn, message, fix, f.where);
  } else if (!dev.driver) {
    out.add(Severity::info, "no driver bound: vfio-pci can take it");
  } else if (f.host.kernel.builtin.count(module_name(*dev.driver))) {
    out.add(
        Severity::warn,
        fmt::format("bound to {}, which is built into the kernel: a modprobe softdep cannot keep it away", *dev.driver),
        "bind by address instead: set driver_override to vfio-pci for " + f.where + " before " + *dev.driver +
            " probes (in the initramfs)",
        f.where);
  } else {
    out.add(Severity::info,
            fmt::format(
                "bound to {}; vfio-pci must claim it first (vfio-pci.ids= with a softdep on {}, or driver_override)",
                *dev.driver, *dev.driver));
  }
}

void check_boot_vga(const DeviceFacts& f, CheckOut& out) {
  const auto& dev = f.dev;
  if (dev.is_gpu()) {
    if (dev.boot_vga == true) {
      out.add(
          Severity::warn, "this is the boot GPU: the host's console and firmware use it",
          "use another GPU (or the iGPU) for the host and set it as primary in the firmware setup; or pass this one "
          "in single-GPU mode with a ROM file dumped from the card (romfile=)",
          f.where);
    } else {
      out.add(Severity::pass, "not the boot GPU");
    }
  }
}

void check_reset(const DeviceFacts& f, CheckOut& out) {
  const auto& dev = f.dev;
  if (!dev.reset_methods) {
    out.add(Severity::skip, "reset_method unreadable (kernel older than 5.15?)");
  } else if (dev.reset_methods->empty()) {
    out.add(Severity::warn, "the kernel knows no reset method for this device",
            "expect to reboot the host after the guest stops; vendor-reset (for some AMD GPUs) adds a method", f.where);
  } else if (*dev.reset_methods == std::vector<std::string>{"bus"}) {
    out.add(Severity::info, "bus reset only: it also resets every other device behind the same bridge");
  } else {
    out.add(Severity::pass, "reset methods: " + join(*dev.reset_methods, ", "));
  }
}

void check_identical_devices(const DeviceFacts& f, CheckOut& out) {
  const auto& dev = f.dev;
  auto shared = shared_ids(f.host);
  if (auto it = shared.find(dev.id_pair()); it != shared.end()) {
    std::vector<std::string> others;
    for (const auto& a : it->second) {
      if (a != dev.address) others.push_back(a.short_str());
    }
    out.add(Severity::warn,
            fmt::format("{} also holds the id {}: vfio-pci.ids={} would take it too", join(others, ", "), dev.id_pair(),
                        dev.id_pair()),
            "bind by address with driver_override instead of vfio-pci.ids=", f.where);
  } else {
    out.add(Severity::pass, "no other device has the id " + dev.id_pair());
  }
}

void check_root_filesystem(const DeviceFacts& f, CheckOut& out) {
  const auto& dev = f.dev;
  const auto& sys = f.host.system;
  if (sys.root_devices.count(dev.address)) {
    out.add(Severity::fail,
            "holds the root filesystem (" + sys.root_source.value_or("/") + "): the host would lose its disk",
            "pass a different controller, or move the host's root filesystem first", f.where);
  } else if (sys.root_source) {
    out.add(Severity::pass, "does not hold the root filesystem (" + *sys.root_source + ")");
  } else {
    out.add(Severity::skip, "the root filesystem's source is unknown (/proc/mounts)");
  }
}

void check_network(const DeviceFacts& f, CheckOut& out) {
  const auto& dev = f.dev;
  const auto& sys = f.host.system;
  std::vector<const NetInterface*> mine;
  int wired_others = 0;
  for (const auto& i : sys.net) {
    if (i.pci == dev.address)
      mine.push_back(&i);
    else if (i.pci)
      ++wired_others;
  }
  if (mine.empty()) {
    if (dev.is_network()) {
      out.add(Severity::pass, "no interface of the host is on it");
    }
  } else {
    std::vector<std::string> names;
    bool route = false;
    for (const auto* i : mine) {
      names.push_back(i->name);
      route = route || i->default_route;
    }
    if (route || wired_others == 0) {
      out.add(Severity::fail,
              fmt::format("{} is {}", join(names, ", "),
                          route ? "the host's default route" : "the host's only network interface"),
              "keep another interface for the host (or a console), then pass this one", f.where);
    } else {
      out.add(Severity::info, fmt::format("the host uses it as {}; other interfaces remain", join(names, ", ")));
    }
  }
}

namespace {

// The largest 64-bit prefetchable BAR, or null.
const PciBar* largest_prefetchable64(const std::vector<PciBar>& bars) {
  const PciBar* largest = nullptr;
  for (const auto& b : bars) {
    if (b.mem64() && b.prefetchable() && (!largest || b.size > largest->size)) largest = &b;
  }
  return largest;
}

// The BAR that Resizable BAR lets grow the most beyond the default window
// while it fits now, or null: the largest size a BAR may be given (by the
// firmware with Resizable BAR on, or by a host driver such as amdgpu).
const PciBar* growable_bar(const std::vector<PciBar>& bars) {
  const PciBar* growable = nullptr;
  for (const auto& b : bars) {
    if (b.largest_resizable() >= kDefaultMmio64Bytes && pow2_at_least(b.size) < kDefaultMmio64Bytes &&
        (!growable || b.largest_resizable() > growable->largest_resizable()))
      growable = &b;
  }
  return growable;
}

}  // namespace

void check_large_bar(const DeviceFacts& f, CheckOut& out) {
  const auto& dev = f.dev;
  if (!dev.bars) return;
  const PciBar* largest = largest_prefetchable64(*dev.bars);
  if (!largest) return;
  uint64_t bytes = prefetchable64_bytes(dev);
  auto m = plan_mmio64({&dev}, 0);
  std::string fix = fmt::format(
      "vfioctl new sizes the window for it; another guest needs OVMF's window set: <qemu:commandline> with "
      "-fw_cfg name=opt/ovmf/X-PciMmio64Mb,string={} (and a CPU with the host's physical address bits){}",
      m.window_mib(),
      pow2_at_least(largest->size) >= kDefaultMmio64Bytes
          ? ", or turn Resizable BAR off in the host's firmware setup (the BAR goes back to its small size)"
          : "");
  const PciBar* growable = growable_bar(*dev.bars);
  if (pow2_at_least(largest->size) >= kDefaultMmio64Bytes) {
    out.add(Severity::warn,
            fmt::format("BAR {} is {}{}: the default {} 64-bit window of a guest cannot hold it", largest->index,
                        bytes_name(pow2_at_least(largest->size)), largest->resizable_sizes ? " (Resizable BAR)" : "",
                        bytes_name(kDefaultMmio64Bytes)),
            fix, f.where);
  } else if (m.window_bytes) {
    out.add(Severity::warn,
            fmt::format("64-bit prefetchable BARs take {}: more than the default {} 64-bit window of a guest holds "
                        "beside its own devices",
                        bytes_name(bytes), bytes_name(kDefaultMmio64Bytes)),
            fix, f.where);
  } else if (growable) {
    out.add(Severity::info,
            fmt::format("BAR {} is {} now; Resizable BAR lets it grow to {} (the host's firmware with Resizable "
                        "BAR on, or a host driver such as amdgpu, resizes it), more than the default {} 64-bit "
                        "window of a guest: vfioctl new sizes the window for the size it has when the guest is "
                        "written",
                        growable->index, bytes_name(pow2_at_least(growable->size)),
                        bytes_name(growable->largest_resizable()), bytes_name(kDefaultMmio64Bytes)));
  } else {
    out.add(Severity::pass, fmt::format("64-bit prefetchable BARs take {}: within the default {} 64-bit window",
                                        bytes_name(bytes), bytes_name(kDefaultMmio64Bytes)));
  }
}

}  // namespace vfioctl::doctor_detail
