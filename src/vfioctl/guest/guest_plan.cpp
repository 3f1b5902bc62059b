#include "vfioctl/guest/guest_plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "vfioctl/host/selector.h"
#include "vfioctl/plan/device_plan.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/strings.h"

namespace vfioctl {

namespace {

// Re-raises a planner's error at the spec line that asked for it.
template <typename F>
auto at_line(const SpecPos& pos, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Error& e) {
    if (e.code() != ExitCode::bad_input) throw;
    throw input_error(pos.str() + ": " + e.what());
  }
}

std::string gpu_vendor_of(const PciDevice& d) {
  if (!d.vendor_id) return "";
  switch (*d.vendor_id) {
    case 0x10de: return "nvidia";
    case 0x1002: return "amd";
    case 0x8086: return "intel";
    default: return "other";
  }
}

void plan_devices(const Host& host, const GuestSpec& spec, GuestPlan& plan, bool force) {
  std::set<PciAddress> taken;
  for (const auto& text : spec.passthrough) {
    for (const auto& a : take_devices(host, text, spec.passthrough_pos.str() + ": passthrough")) taken.insert(a);
  }

  // One guest slot (behind its own root port) per host slot; functions keep
  // their numbers, so a GPU's video and audio stay functions 0 and 1.
  std::map<std::tuple<unsigned, unsigned, unsigned>, int> slot_bus;
  for (const auto& addr : taken) {
    const PciDevice* d = host.device(addr);
    auto key = std::make_tuple(addr.domain, addr.bus, addr.device);
    if (!slot_bus.count(key)) slot_bus[key] = static_cast<int>(slot_bus.size()) + 1;
    PassedFunction f;
    f.host = addr;
    f.guest_bus = slot_bus[key];
    f.guest_function = static_cast<int>(addr.function);
    f.gpu = d && d->is_gpu();
    if (f.gpu && spec.romfile) f.romfile = spec.romfile;
    plan.passed.push_back(f);
    if (d && d->is_gpu()) {
      if (plan.gpu_vendor.empty()) plan.gpu_vendor = gpu_vendor_of(*d);
      if (d->boot_vga == true && !force) {
        throw input_error(fmt::format(
            "{}: passthrough: {} is the host's boot GPU{}: the host (or its BMC's console) loses its display when "
            "the guest starts. Pass another GPU, or add --force to pass this one",
            spec.passthrough_pos.str(), addr.short_str(), d->device_name.empty() ? "" : " (" + d->device_name + ")"));
      }
      if (d->boot_vga == true) {
        plan.warnings.push_back(fmt::format(
            "{} is the host's boot GPU: the host loses its console when the guest starts; give the guest a ROM "
            "file (romfile = ...) if it shows no picture",
            addr.short_str()));
      }
    }
    if (d && d->driver && *d->driver != "vfio-pci") {
      plan.warnings.push_back(
          fmt::format("{} is bound to {}: libvirt detaches it at start (managed='yes'); "
                      "binding it to vfio-pci at boot is more reliable",
                      addr.short_str(), *d->driver));
    }
  }
  // Guest functions must start at 0 on each slot.
  std::map<int, int> next;
  for (auto& f : plan.passed) f.guest_function = next[f.guest_bus]++;
  for (auto& f : plan.passed) {
    int count = next[f.guest_bus];
    f.multifunction = count > 1 && f.guest_function == 0;
  }
  plan.root_ports = static_cast<int>(slot_bus.size());
}

// "01:00.0 (GPU)": a passed device and what it is, for placement messages.
std::string device_role(const PciDevice& d) {
  const char* kind = d.is_gpu()       ? "GPU"
                     : d.is_nvme()    ? "NVMe drive"
                     : d.is_network() ? "NIC"
                     : d.is_usb()     ? "USB controller"
                     : d.is_audio()   ? "audio"
                                      : "device";
  return fmt::format("{} ({})", d.address.short_str(), kind);
}

// The NUMA node the guest's vCPUs and memory should share with its passed
// devices: theirs when they agree; when they sit on several nodes, the
// GPU's (its DMA and interrupts are what a desktop guest waits on), else
// the node holding most of them, with a warning naming each device's node.
void near_node(const Host& host, GuestPlan& plan, CpuRequest& req) {
  std::map<int, std::vector<const PciDevice*>> by_node;
  for (const auto& f : plan.passed) {
    const PciDevice* d = host.device(f.host);
    if (!d || !d->numa_node || d->is_audio()) continue;  // a GPU's audio function follows its GPU
    by_node[*d->numa_node].push_back(d);
  }
  if (by_node.empty()) return;
  auto names = [](const std::vector<const PciDevice*>& ds) {
    std::vector<std::string> out;
    for (const auto* d : ds) out.push_back(device_role(*d));
    return join(out, ", ");
  };
  int chosen = by_node.begin()->first;
  std::string why;
  if (by_node.size() > 1) {
    std::optional<int> gpu_node;
    for (const auto& [node, ds] : by_node) {
      for (const auto* d : ds) {
        if (d->is_gpu() && !gpu_node) gpu_node = node;
      }
    }
    if (gpu_node) {
      chosen = *gpu_node;
      why = "the GPU's";
    } else {
      for (const auto& [node, ds] : by_node) {
        if (ds.size() > by_node[chosen].size()) chosen = node;
      }
      why = "the node holding most of them";
    }
    std::vector<std::string> where, far;
    for (const auto& [node, ds] : by_node) {
      where.push_back(fmt::format("node {}: {}", node, names(ds)));
      if (node != chosen) far.push_back(names(ds));
    }
    plan.warnings.push_back(fmt::format(
        "the passed devices sit on different NUMA nodes ({}): the guest's vCPUs and memory go to node {} ({}), so "
        "the DMA of {} crosses between the nodes; pass devices of one node to avoid it",
        join(where, "; "), chosen, why, join(far, ", ")));
  }
  req.near_node = chosen;
  req.near_why = names(by_node[chosen]);
}

}  // namespace

long long looking_glass_mib(int width, int height) {
  long long bytes = static_cast<long long>(width) * height * 4 * 2;
  long long mib = (bytes + (1 << 20) - 1) / (1 << 20) + 10;
  long long p = 1;
  while (p < mib) p *= 2;
  return p;
}

std::string guest_name(const GuestPlan& plan) {
  const char* purpose = "desktop";
  switch (plan.spec.preset) {
    case Preset::windows_gaming: purpose = "game"; break;
    case Preset::windows_workstation: purpose = "work"; break;
    case Preset::linux_desktop: purpose = "desktop"; break;
    case Preset::linux_server: purpose = "server"; break;
    case Preset::legacy_windows: purpose = "legacy"; break;
  }
  std::string vendor = plan.gpu_vendor.empty() ? "nogpu" : plan.gpu_vendor;
  std::string os = plan.spec.os.empty() ? (plan.windows ? "win11" : "linux") : plan.spec.os;
  return fmt::format("{}_{}_{}_x64_{}_{}c{}t", purpose, vendor, os, plan.legacy ? "i440fx_bios" : "q35_uefi",
                     plan.cpu.cores, plan.cpu.vcpu_count());
}

EnvRequest env_request(const GuestSpec& spec, std::optional<int> user_uid) {
  EnvRequest req;
  for (const auto& d : spec.disks) req.files.push_back(d.source);
  if (spec.install) {
    req.files.push_back(spec.install->iso);
    if (spec.install->drivers == InstallSpec::Drivers::path) req.files.push_back(spec.install->drivers_path);
    req.virtio_win = spec.install->drivers == InstallSpec::Drivers::automatic && preset_is_windows(spec.preset);
  }
  if (spec.romfile) req.files.push_back(*spec.romfile);
  for (const auto& d : spec.input.devices) req.files.push_back(d);
  req.usb = !spec.usb.empty();
  req.dmi = spec.smbios.from_host;
  req.user_uid = user_uid;
  if (user_uid && (spec.audio.backend == AudioBackend::pipewire || spec.audio.backend == AudioBackend::pulseaudio))
    req.files.push_back(pulse_socket(*user_uid));
  return req;
}

namespace {

// [hide]: "auto" hides KVM from a Windows guest with a passed NVIDIA GPU,
// whose consumer drivers before R465 stop with Code 43 on finding a VM.
// Windows uses none of KVM's own paravirtual features, so hiding costs it
// nothing while the CPU's hypervisor bit stays on.
void plan_hide(GuestPlan& plan) {
  const HideSpec& h = plan.spec.hide;
  bool nvidia_windows = plan.windows && plan.gpu_vendor == "nvidia";
  bool on = h.hypervisor == HideSpec::Mode::on || (h.hypervisor == HideSpec::Mode::automatic && nvidia_windows);
  if (!on) return;
  plan.hide.kvm_hidden = true;
  plan.hide.cpuid_bit_off = !h.cpuid_bit;
  if (plan.windows && h.cpuid_bit) plan.hide.vendor_id = h.vendor_id.value_or(kHiddenVendorId);
  std::string why = h.hypervisor == HideSpec::Mode::on
                        ? "as the spec asks"
                        : "a Windows guest with an NVIDIA GPU (GeForce drivers before R465 stop with Code 43 in a VM)";
  std::string what = "KVM's signature hidden";
  if (!plan.hide.vendor_id.empty()) what += fmt::format(", Hyper-V vendor id '{}'", plan.hide.vendor_id);
  plan.reasons.push_back(fmt::format("hypervisor hidden ({}): {}", what, why));
  if (plan.hide.cpuid_bit_off) {
    plan.reasons.push_back(
        plan.windows ? "the CPU's hypervisor bit is off: Windows takes itself for bare metal and ignores the Hyper-V "
                       "enlightenments (slower timers, no synthetic interrupts), so none are written"
                     : "the CPU's hypervisor bit is off: the guest takes itself for bare metal and leaves out its "
                       "paravirtual clock and devices' shortcuts");
  } else if (plan.windows) {
    plan.reasons.push_back("the CPU's hypervisor bit stays on: Windows keeps the Hyper-V enlightenments");
  }
}

}  // namespace

MemoryRequest memory_request(const Host& host, const GuestSpec& spec) {
  MemoryRequest req;
  req.mib = spec.memory_mib;
  req.page_kib = spec.hugepage_kib;
  req.hugepages_off = spec.hugepages_off;
  req.boot_pages = boot_hugepages(host.kernel, host.memory.default_page_kib());
  return req;
}

GuestPlan plan_guest(const Host& host, const GuestSpec& spec, const std::vector<InputDevice>& inputs,
                     const GuestEnv& env, bool force) {
  GuestPlan plan;
  plan.spec = spec;
  plan.windows = preset_is_windows(spec.preset);
  plan.legacy = spec.preset == Preset::legacy_windows;
  plan.vendor = host.platform.vendor;
  plan_devices(host, spec, plan, force);

  CpuRequest creq;
  creq.cores = spec.cpus_auto ? 0 : spec.cores;
  creq.threads = spec.threads;
  creq.isolation = host_isolation(host.cpu, host.kernel);
  if (host.cpu.nodes.size() > 1) near_node(host, plan, creq);
  plan.cpu = at_line(spec.cpus_pos, [&] { return plan_cpus(host.cpu, creq); });

  MemoryRequest mreq = memory_request(host, spec);
  if (host.cpu.nodes.size() > 1) mreq.node = plan.cpu.node;
  mreq.passthrough = !plan.passed.empty();
  plan.memory = at_line(spec.memory_pos, [&] { return plan_memory(host.memory, host.platform, mreq); });

  {
    std::vector<const PciDevice*> passed;
    for (const auto& f : plan.passed) {
      if (const PciDevice* d = host.device(f.host)) passed.push_back(d);
    }
    plan.mmio = plan_mmio64(passed, plan.memory.kib / 1024);
    if (plan.legacy && plan.mmio.window_bytes) {
      plan.warnings.push_back(fmt::format(
          "the passed devices' 64-bit BARs take {}: SeaBIOS (preset legacy-windows) places them itself and may "
          "leave them unassigned; a UEFI preset sizes the window for them",
          bytes_name(plan.mmio.bar_bytes)));
      plan.mmio.window_bytes = 0;
      plan.mmio.phys_bits = 0;
    }
  }

  if (spec.input.evdev == "auto") {
    for (const auto& i : inputs) {
      if (i.event) plan.evdev.push_back(i);
    }
    if (plan.evdev.empty()) {
      plan.warnings.push_back("input evdev = \"auto\": no keyboard or mouse under /dev/input/by-id; none added");
    }
  } else {
    for (const auto& path : spec.input.devices) {
      // A link under /dev/input that leads elsewhere (a disk, /dev/mem) is
      // not an input device, whatever its name.
      if (auto it = env.files.find(path);
          it != env.files.end() && it->second.resolved && !starts_with(*it->second.resolved, "/dev/input/"))
        throw input_error(
            fmt::format("{}: input.evdev {} leads to {}, outside /dev/input; name the input device "
                        "itself (ls -l /dev/input/by-id)",
                        spec.input.pos.str(), path, *it->second.resolved));
      InputDevice d;
      d.path = path;
      d.kind = ends_with(path, "-event-mouse") ? InputKind::mouse : InputKind::keyboard;
      d.event = path;
      plan.evdev.push_back(d);
    }
  }
  if (spec.looking_glass)
    plan.looking_glass_mib = looking_glass_mib(spec.looking_glass->width, spec.looking_glass->height);

  plan.name = spec.name ? *spec.name : guest_name(plan);
  plan_day_one(host, env, plan);
  plan_hide(plan);
  for (const auto& w : plan.cpu.warnings) plan.warnings.push_back(w);
  for (const auto& w : plan.memory.warnings) plan.warnings.push_back(w);
  return plan;
}

}  // namespace vfioctl
