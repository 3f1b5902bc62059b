#include "vfioctl/plan/doctor.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "vfioctl/plan/device_plan.h"
#include "vfioctl/plan/doctor_checks.h"
#include "vfioctl/plan/mmio_plan.h"
#include "vfioctl/util/cpulist.h"
#include "vfioctl/util/json_writer.h"
#include "vfioctl/util/strings.h"

namespace vfioctl {

const char* severity_label(Severity s) {
  switch (s) {
    case Severity::pass: return "PASS";
    case Severity::info: return "INFO";
    case Severity::warn: return "WARN";
    case Severity::fail: return "FAIL";
    case Severity::skip: return "SKIP";
  }
  return "?";
}

const char* severity_name(Severity s) {
  switch (s) {
    case Severity::pass: return "pass";
    case Severity::info: return "info";
    case Severity::warn: return "warn";
    case Severity::fail: return "fail";
    case Severity::skip: return "skip";
  }
  return "?";
}

void write_json(JsonWriter& w, const Finding& f) {
  w.begin_object();
  w.field("id", f.id);
  w.field("title", f.title);
  w.field("result", severity_name(f.severity));
  w.field("section", f.section);
  w.field("message", f.message);
  w.field("why", f.why);
  if (f.fix.empty())
    w.field("fix", nullptr);
  else
    w.field("fix", f.fix);
  if (f.where.empty())
    w.field("where", nullptr);
  else
    w.field("where", f.where);
  w.end_object();
}

using doctor_detail::Checks;

std::vector<Finding> host_checks(const Host& host, const DoctorContext& ctx) {
  Checks c{host, ctx, {}, {}};
  c.virtualization();
  c.iommu();
  c.kernel_options();
  c.memory_and_cpu();
  c.software();
  c.guest_features();
  c.drift();
  std::stable_sort(c.out.begin(), c.out.end(), [](const Finding& a, const Finding& b) { return a.id < b.id; });
  return c.out;
}

std::vector<Finding> device_checks(const Host& host, const PciDevice& dev, const DoctorContext& ctx) {
  Checks c{host, ctx, {}, {}};
  std::string name = dev.address.short_str();
  c.section = "Device " + name + " [" + dev.id_pair() + "]" + (dev.device_name.empty() ? "" : " " + dev.device_name);
  std::string where = dev.address.str();

  const char* gwhy = "An IOMMU group leaves the host whole: every endpoint in it must be given up by the host.";
  const IommuGroup* group = dev.iommu_group ? host.group(*dev.iommu_group) : nullptr;
  if (!group) {
    c.add("H101", "IOMMU group", Severity::fail, name + " is in no IOMMU group", gwhy,
          host.groups.empty() ? "turn the IOMMU on first (H003)" : "check the device's iommu_group link", where);
  } else {
    auto others = group_companions(host, *group, dev.address);
    if (others.empty()) {
      c.add("H101", "IOMMU group", Severity::pass,
            fmt::format("group {} holds only this device's functions (bridges stay with the host)", group->id), gwhy);
    } else {
      std::vector<std::string> names;
      for (const auto& o : others) {
        const PciDevice* od = host.device(o);
        names.push_back(o.short_str() + (od && od->driver ? " (" + *od->driver + ")" : ""));
      }
      c.add("H101", "IOMMU group", Severity::fail,
            fmt::format("group {} also holds {}: they must leave the host too", group->id, join(names, ", ")), gwhy,
            "pass them with it (or leave them without a host driver), or move the card to a slot with its own group "
            "(vfioctl list shows the groups)",
            where);
    }
  }

  const char* dwhy = "vfio-pci must own the device before any host driver grabs it at boot.";
  auto ids = c.vfio_ids();
  const doctor_detail::VfioId* id = Checks::vfio_id_for(ids, dev);
  if (dev.driver == "vfio-pci") {
    c.add("H102", "Driver", Severity::pass, "bound to vfio-pci", dwhy);
  } else if (id) {
    // Configured for vfio-pci and not on it: say why, as H027 does.
    auto [message, fix] = c.why_not_vfio(dev, *id);
    c.add("H102", "Driver", Severity::warn, message, dwhy, fix, where);
  } else if (!dev.driver) {
    c.add("H102", "Driver", Severity::info, "no driver bound: vfio-pci can take it", dwhy);
  } else if (host.kernel.builtin.count(module_name(*dev.driver))) {
    c.add(
        "H102", "Driver", Severity::warn,
        fmt::format("bound to {}, which is built into the kernel: a modprobe softdep cannot keep it away", *dev.driver),
        dwhy,
        "bind by address instead: set driver_override to vfio-pci for " + where + " before " + *dev.driver +
            " probes (in the initramfs)",
        where);
  } else {
    c.add("H102", "Driver", Severity::info,
          fmt::format(
              "bound to {}; vfio-pci must claim it first (vfio-pci.ids= with a softdep on {}, or driver_override)",
              *dev.driver, *dev.driver),
          dwhy);
  }

  if (dev.is_gpu()) {
    const char* bwhy =
        "The firmware initialised the boot GPU and the host console runs on it; its ROM may be shadowed.";
    if (dev.boot_vga == true) {
      c.add("H103", "Boot VGA", Severity::warn, "this is the boot GPU: the host's console and firmware use it", bwhy,
            "use another GPU (or the iGPU) for the host and set it as primary in the firmware setup; or pass this one "
            "in single-GPU mode with a ROM file dumped from the card (romfile=)",
            where);
    } else {
      c.add("H103", "Boot VGA", Severity::pass, "not the boot GPU", bwhy);
    }
  }

  const char* rwhy =
      "A guest reboot resets the device; without a working reset it can come back hung (the 'reset bug').";
  if (!dev.reset_methods) {
    c.add("H104", "Reset", Severity::skip, "reset_method unreadable (kernel older than 5.15?)", rwhy);
  } else if (dev.reset_methods->empty()) {
    c.add("H104", "Reset", Severity::warn, "the kernel knows no reset method for this device", rwhy,
          "expect to reboot the host after the guest stops; vendor-reset (for some AMD GPUs) adds a method", where);
  } else if (*dev.reset_methods == std::vector<std::string>{"bus"}) {
    c.add("H104", "Reset", Severity::info, "bus reset only: it also resets every other device behind the same bridge",
          rwhy);
  } else {
    c.add("H104", "Reset", Severity::pass, "reset methods: " + join(*dev.reset_methods, ", "), rwhy);
  }

  const char* swhy = "vfio-pci.ids= claims every device with the id, including ones the host keeps.";
  auto shared = shared_ids(host);
  if (auto it = shared.find(dev.id_pair()); it != shared.end()) {
    std::vector<std::string> others;
    for (const auto& a : it->second) {
      if (a != dev.address) others.push_back(a.short_str());
    }
    c.add("H105", "Identical devices", Severity::warn,
          fmt::format("{} also holds the id {}: vfio-pci.ids={} would take it too", join(others, ", "), dev.id_pair(),
                      dev.id_pair()),
          swhy, "bind by address with driver_override instead of vfio-pci.ids=", where);
  } else {
    c.add("H105", "Identical devices", Severity::pass, "no other device has the id " + dev.id_pair(), swhy);
  }

  const auto& sys = host.system;
  const char* fwhy = "Passing the controller of the root filesystem takes the host's own disk away.";
  if (sys.root_devices.count(dev.address)) {
    c.add("H106", "Root filesystem", Severity::fail,
          "holds the root filesystem (" + sys.root_source.value_or("/") + "): the host would lose its disk", fwhy,
          "pass a different controller, or move the host's root filesystem first", where);
  } else if (sys.root_source) {
    c.add("H106", "Root filesystem", Severity::pass, "does not hold the root filesystem (" + *sys.root_source + ")",
          fwhy);
  } else {
    c.add("H106", "Root filesystem", Severity::skip, "the root filesystem's source is unknown (/proc/mounts)", fwhy);
  }

  const char* nwhy = "Passing the host's only network interface cuts it off the network, remote sessions included.";
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
      c.add("H107", "Network", Severity::pass, "no interface of the host is on it", nwhy);
    }
  } else {
    std::vector<std::string> names;
    bool route = false;
    for (const auto* i : mine) {
      names.push_back(i->name);
      route = route || i->default_route;
    }
    if (route || wired_others == 0) {
      c.add("H107", "Network", Severity::fail,
            fmt::format("{} is {}", join(names, ", "),
                        route ? "the host's default route" : "the host's only network interface"),
            nwhy, "keep another interface for the host (or a console), then pass this one", where);
    } else {
      c.add("H107", "Network", Severity::info,
            fmt::format("the host uses it as {}; other interfaces remain", join(names, ", ")), nwhy);
    }
  }

  // Large BARs: what a guest's firmware must fit in its 64-bit MMIO window.
  const char* mwhy =
      "OVMF puts 64-bit prefetchable BARs in a 64-bit MMIO window of 32 GiB unless told otherwise; BARs that do not "
      "fit stay unassigned (no picture, error 12 or 43, or the guest does not start).";
  if (dev.bars) {
    uint64_t bytes = prefetchable64_bytes(dev);
    const PciBar* largest = nullptr;
    for (const auto& b : *dev.bars) {
      if (b.mem64() && b.prefetchable() && (!largest || b.size > largest->size)) largest = &b;
    }
    if (largest) {
      auto m = plan_mmio64({&dev}, 0);
      std::string fix = fmt::format(
          "vfioctl new sizes the window for it; another guest needs OVMF's window set: <qemu:commandline> with "
          "-fw_cfg name=opt/ovmf/X-PciMmio64Mb,string={} (and a CPU with the host's physical address bits){}",
          m.window_mib(),
          pow2_at_least(largest->size) >= kDefaultMmio64Bytes
              ? ", or turn Resizable BAR off in the host's firmware setup (the BAR goes back to its small size)"
              : "");
      // Resizable BAR: the largest size a BAR may be given (by the firmware
      // with Resizable BAR on, or by a host driver such as amdgpu).
      const PciBar* growable = nullptr;
      for (const auto& b : *dev.bars) {
        if (b.largest_resizable() >= kDefaultMmio64Bytes && pow2_at_least(b.size) < kDefaultMmio64Bytes &&
            (!growable || b.largest_resizable() > growable->largest_resizable()))
          growable = &b;
      }
      if (pow2_at_least(largest->size) >= kDefaultMmio64Bytes) {
        c.add("H108", "Large BAR", Severity::warn,
              fmt::format("BAR {} is {}{}: the default {} 64-bit window of a guest cannot hold it", largest->index,
                          bytes_name(pow2_at_least(largest->size)), largest->resizable_sizes ? " (Resizable BAR)" : "",
                          bytes_name(kDefaultMmio64Bytes)),
              mwhy, fix, where);
      } else if (m.window_bytes) {
        c.add("H108", "Large BAR", Severity::warn,
              fmt::format("64-bit prefetchable BARs take {}: more than the default {} 64-bit window of a guest holds "
                          "beside its own devices",
                          bytes_name(bytes), bytes_name(kDefaultMmio64Bytes)),
              mwhy, fix, where);
      } else if (growable) {
        c.add("H108", "Large BAR", Severity::info,
              fmt::format("BAR {} is {} now; Resizable BAR lets it grow to {} (the host's firmware with Resizable "
                          "BAR on, or a host driver such as amdgpu, resizes it), more than the default {} 64-bit "
                          "window of a guest: vfioctl new sizes the window for the size it has when the guest is "
                          "written",
                          growable->index, bytes_name(pow2_at_least(growable->size)),
                          bytes_name(growable->largest_resizable()), bytes_name(kDefaultMmio64Bytes)),
              mwhy);
      } else {
        c.add("H108", "Large BAR", Severity::pass,
              fmt::format("64-bit prefetchable BARs take {}: within the default {} 64-bit window", bytes_name(bytes),
                          bytes_name(kDefaultMmio64Bytes)),
              mwhy);
      }
    }
  }
  return c.out;
}

}  // namespace vfioctl