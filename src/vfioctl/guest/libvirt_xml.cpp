#include "vfioctl/guest/libvirt_xml.h"

#include <fmt/format.h>

#include <algorithm>
#include <pugixml.hpp>
#include <sstream>

#include "vfioctl/guest/evdev_out.h"
#include "vfioctl/util/cpulist.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/strings.h"
#include "vfioctl/util/tune_contract.h"

namespace vfioctl {

namespace {

using pugi::xml_node;

xml_node child(xml_node parent, const char* name) { return parent.append_child(name); }

xml_node text_child(xml_node parent, const char* name, const std::string& text) {
  xml_node n = parent.append_child(name);
  n.append_child(pugi::node_pcdata).set_value(text.c_str());
  return n;
}

xml_node attr(xml_node n, const char* name, const std::string& value) {
  n.append_attribute(name) = value.c_str();
  return n;
}

xml_node state(xml_node parent, const char* name, const char* attr_name, const char* value) {
  return attr(child(parent, name), attr_name, value);
}

std::string hex(unsigned v, int width) { return fmt::format("0x{:0{}x}", v, width); }

std::string target_name(const std::string& prefix, int index) {
  std::string s;
  int i = index;
  do {
    s.insert(s.begin(), static_cast<char>('a' + i % 26));
    i = i / 26 - 1;
  } while (i >= 0);
  return prefix + s;
}

void features(xml_node domain, const GuestPlan& plan, const XmlOptions& opt) {
  bool kvm = opt.virt_type == "kvm";
  xml_node f = child(domain, "features");
  child(f, "acpi");
  child(f, "apic");
  // Without the CPU's hypervisor bit Windows ignores the enlightenments.
  if (plan.windows && kvm && !plan.hide.cpuid_bit_off) {
    xml_node hv = attr(child(f, "hyperv"), "mode", "custom");
    for (const char* name : {"relaxed", "vapic"}) state(hv, name, "state", "on");
    attr(state(hv, "spinlocks", "state", "on"), "retries", "8191");
    for (const char* name : {"vpindex", "runtime", "synic"}) state(hv, name, "state", "on");
    xml_node stimer = state(hv, "stimer", "state", "on");
    state(stimer, "direct", "state", "on");
    state(hv, "reset", "state", "on");
    if (!plan.hide.vendor_id.empty()) attr(state(hv, "vendor_id", "state", "on"), "value", plan.hide.vendor_id);
    for (const char* name : {"frequencies", "reenlightenment", "tlbflush", "ipi"}) state(hv, name, "state", "on");
  }
  if (kvm && plan.hide.kvm_hidden) state(child(f, "kvm"), "hidden", "state", "on");
  state(f, "vmport", "state", "off");
  if (!plan.legacy) state(f, "smm", "state", "on");
  if (kvm && !plan.legacy) state(f, "ioapic", "driver", "kvm");
}

void cpu(xml_node domain, const GuestPlan& plan, const XmlOptions& opt) {
  xml_node c = child(domain, "cpu");
  if (opt.virt_type == "kvm") {
    attr(c, "mode", "host-passthrough");
    attr(c, "check", "none");
    attr(c, "migratable", "off");
  } else {
    attr(c, "mode", "custom");
    attr(c, "match", "exact");
    attr(c, "check", "none");
    attr(text_child(c, "model", opt.tcg_cpu_model), "fallback", "forbid");
    if (plan.mmio.window_bytes)
      attr(state(c, "maxphysaddr", "mode", "emulate"), "bits", std::to_string(plan.mmio.phys_bits));
  }
  xml_node t = child(c, "topology");
  attr(t, "sockets", "1");
  attr(t, "dies", "1");
  attr(t, "cores", std::to_string(plan.cpu.cores));
  attr(t, "threads", std::to_string(plan.cpu.threads));
  if (opt.virt_type == "kvm") {
    state(c, "cache", "mode", "passthrough");
    // A sized 64-bit MMIO window must lie inside the guest's address width:
    // the host's (plan.mmio).
    if (plan.mmio.window_bytes) state(c, "maxphysaddr", "mode", "passthrough");
    if (plan.vendor == CpuVendor::amd) attr(state(c, "feature", "policy", "require"), "name", "topoext");
    if (plan.spec.nested) {
      // host-passthrough hides vmx/svm unless asked: the guest's own hypervisor needs it.
      attr(state(c, "feature", "policy", "require"), "name", plan.vendor == CpuVendor::amd ? "svm" : "vmx");
    }
    if (plan.hide.cpuid_bit_off) attr(state(c, "feature", "policy", "disable"), "name", "hypervisor");
  }
}

void clock(xml_node domain, const GuestPlan& plan, const XmlOptions& opt) {
  xml_node c = state(domain, "clock", "offset", plan.windows ? "localtime" : "utc");
  attr(state(c, "timer", "name", "rtc"), "tickpolicy", "catchup");
  attr(state(c, "timer", "name", "pit"), "tickpolicy", "delay");
  attr(state(c, "timer", "name", "hpet"), "present", "no");
  if (plan.windows && opt.virt_type == "kvm" && !plan.hide.cpuid_bit_off)
    attr(state(c, "timer", "name", "hypervclock"), "present", "yes");
}

std::string version_name(unsigned long v) { return fmt::format("{}.{}.{}", v / 1000000, v / 1000 % 1000, v % 1000); }

// An NVMe disk in a libvirt that cannot describe one: an error at the spec
// line, with what to use instead. Never a silent change of bus.
void refuse_nvme(const PlannedDisk& d, const XmlOptions& opt) {
  throw input_error(fmt::format(
      "{}: disk.bus \"nvme\" ({}): libvirt {} has no emulated NVMe disk (libvirt {} added <controller "
      "type='nvme'>); for the libvirt XML use bus = \"virtio-scsi\" (or \"virtio-blk\"), or write only the plain "
      "QEMU script, which gives the disk an emulated NVMe controller: vfioctl new SPEC --qemu-script FILE (without "
      "-o, --define or --json)",
      d.bus_pos.str(), d.source, version_name(opt.libvirt_version), version_name(kLibvirtNvme)));
}

void disks(xml_node devices, const GuestPlan& plan, const XmlOptions& opt, bool& scsi, int& nvme) {
  int sd = 0, vd = 0, hd = 0;
  for (const PlannedDisk& d : plan.disks) {
    if (!d.cdrom && d.bus == DiskBus::nvme && opt.libvirt_version < kLibvirtNvme) refuse_nvme(d, opt);
  }
  for (const PlannedDisk& d : plan.disks) {
    xml_node disk = child(devices, "disk");
    attr(disk, "type", d.block ? "block" : "file");
    attr(disk, "device", d.cdrom ? "cdrom" : "disk");
    xml_node drv = state(disk, "driver", "name", "qemu");
    attr(drv, "type", d.format);
    if (!d.cdrom) {
      attr(drv, "cache", d.io.cache);
      attr(drv, "io", d.io.io);
      if (d.discard) attr(drv, "discard", "unmap");
      if (d.bus == DiskBus::virtio_blk) {
        attr(drv, "iothread", std::to_string(d.iothread));
        attr(drv, "queues", std::to_string(std::min(plan.cpu.vcpu_count(), 16)));
      }
    }
    state(disk, "source", d.block ? "dev" : "file", d.source.c_str());
    xml_node target = child(disk, "target");
    if (d.cdrom && plan.legacy) {
      // i440fx: the built-in IDE controller (no AHCI without a driver in old Windows).
      attr(target, "dev", target_name("hd", hd++));
      attr(target, "bus", "ide");
    } else if (d.cdrom || d.bus == DiskBus::sata) {
      attr(target, "dev", target_name("sd", sd++));
      attr(target, "bus", "sata");
    } else if (d.bus == DiskBus::virtio_blk) {
      attr(target, "dev", target_name("vd", vd++));
      attr(target, "bus", "virtio");
    } else if (d.bus == DiskBus::nvme) {
      // One controller per disk, the disk its first namespace.
      attr(target, "dev", fmt::format("nvme{}n1", nvme++));
      attr(target, "bus", "nvme");
      text_child(disk, "serial", nvme_serial(d.source));
    } else {
      attr(target, "dev", target_name("sd", sd++));
      attr(target, "bus", "scsi");
      scsi = true;
    }
    if (d.cdrom) child(disk, "readonly");
    if (d.boot > 0) state(disk, "boot", "order", std::to_string(d.boot).c_str());
  }
}

void pci_address(xml_node parent, const PciAddress& a, bool typed) {
  xml_node src = child(parent, "address");
  if (typed) attr(src, "type", "pci");
  attr(src, "domain", hex(a.domain, 4));
  attr(src, "bus", hex(a.bus, 2));
  attr(src, "slot", hex(a.device, 2));
  attr(src, "function", hex(a.function, 1));
}

void network(xml_node devices, const GuestPlan& plan, const XmlOptions& opt) {
  const auto& net = plan.spec.network;
  const PlannedNet& pn = plan.net;
  xml_node iface;
  switch (pn.mode) {
    case NetworkSpec::Mode::none: return;
    case NetworkSpec::Mode::nat:
      iface = state(devices, "interface", "type", "network");
      if (net.mac) state(iface, "mac", "address", net.mac->c_str());
      state(iface, "source", "network", pn.source.c_str());
      break;
    case NetworkSpec::Mode::bridge:
      iface = state(devices, "interface", "type", "bridge");
      if (net.mac) state(iface, "mac", "address", net.mac->c_str());
      state(iface, "source", "bridge", pn.source.c_str());
      break;
    case NetworkSpec::Mode::macvtap:
      iface = state(devices, "interface", "type", "direct");
      if (net.mac) state(iface, "mac", "address", net.mac->c_str());
      attr(state(iface, "source", "dev", pn.source.c_str()), "mode", "bridge");
      break;
    case NetworkSpec::Mode::sriov:
      // The VF itself: the guest runs its own VF driver, no virtio.
      iface = state(devices, "interface", "type", "hostdev");
      attr(iface, "managed", "yes");
      if (net.mac) state(iface, "mac", "address", net.mac->c_str());
      if (pn.vf) pci_address(child(iface, "source"), *pn.vf, true);
      return;
  }
  state(iface, "model", "type", "virtio");
  if (opt.virt_type == "kvm") {
    xml_node drv = state(iface, "driver", "name", "vhost");
    attr(drv, "queues", std::to_string(std::min(plan.cpu.vcpu_count(), 16)));
  }
}

void audio(xml_node devices, const GuestPlan& plan) {
  switch (plan.audio) {
    case AudioBackend::none: return;
    case AudioBackend::scream: {
      xml_node sh = state(devices, "shmem", "name", "scream-ivshmem");
      state(sh, "model", "type", "ivshmem-plain");
      attr(text_child(sh, "size", std::to_string(plan.scream_mib)), "unit", "M");
      return;
    }
    case AudioBackend::pipewire:
    case AudioBackend::pulseaudio: {
      // PipeWire serves the PulseAudio protocol (pipewire-pulse); libvirt
      // 9.0 and QEMU 7.2 have no native PipeWire backend.
      xml_node snd = state(devices, "sound", "model", "ich9");
      state(snd, "audio", "id", "1");
      xml_node a = state(devices, "audio", "id", "1");
      attr(a, "type", "pulseaudio");
      attr(a, "serverName", plan.audio_socket);
      return;
    }
  }
}

void display(xml_node devices, const GuestPlan& plan) {
  if (plan.looking_glass_mib > 0) {
    xml_node sh = state(devices, "shmem", "name", "looking-glass");
    state(sh, "model", "type", "ivshmem-plain");
    attr(text_child(sh, "size", std::to_string(plan.looking_glass_mib)), "unit", "M");
  }
  bool gpu = std::any_of(plan.passed.begin(), plan.passed.end(), [](const PassedFunction& f) { return f.gpu; });
  if (gpu) {
    if (plan.spice_input) {
      // Looking Glass's client sends keyboard and mouse through SPICE; no
      // picture goes that way (video stays none).
      xml_node g = state(devices, "graphics", "type", "spice");
      attr(g, "autoport", "yes");
      state(g, "listen", "type", "none");
      attr(state(devices, "input", "type", "mouse"), "bus", "virtio");
      attr(state(devices, "input", "type", "keyboard"), "bus", "virtio");
      xml_node ch = state(devices, "channel", "type", "spicevmc");
      attr(state(ch, "target", "type", "virtio"), "name", "com.redhat.spice.0");
    }
    state(child(devices, "video"), "model", "type", "none");
  } else if (plan.spec.preset != Preset::linux_server) {
    attr(state(devices, "graphics", "type", "spice"), "autoport", "yes");
    xml_node model = state(child(devices, "video"), "model", "type", plan.legacy ? "vga" : "virtio");
    attr(model, "heads", "1");
    attr(model, "primary", "yes");
  }
}

void sysinfo(xml_node domain, const GuestPlan& plan) {
  if (plan.sysinfo.empty()) return;
  xml_node si = state(domain, "sysinfo", "type", "smbios");
  for (const auto& [section, entries] : plan.sysinfo) {
    xml_node sec = child(si, section.c_str());
    for (const auto& [name, value] : entries) attr(text_child(sec, "entry", value), "name", name);
  }
}

// The domain's identity: name, uuid, title and the hook's opt-in element.
void identity(xml_node domain, const GuestPlan& plan) {
  text_child(domain, "name", plan.name);
  if (!plan.uuid.empty()) text_child(domain, "uuid", plan.uuid);
  text_child(domain, "title", fmt::format("{} guest written by vfioctl", preset_name(plan.spec.preset)));
  // The libvirt hook (vfioctl hook) acts only on guests that carry this.
  if (auto actions = tune_actions(plan); !actions.empty()) {
    xml_node t = child(child(domain, "metadata"), fmt::format("{}:{}", kTunePrefix, kTuneElement).c_str());
    attr(t, fmt::format("xmlns:{}", kTunePrefix).c_str(), kTuneNamespace);
    attr(t, kTuneActionsAttr, join(actions, " "));
  }
}

void memory(xml_node domain, const GuestPlan& plan) {
  attr(text_child(domain, "memory", std::to_string(plan.memory.kib)), "unit", "KiB");
  attr(text_child(domain, "currentMemory", std::to_string(plan.memory.kib)), "unit", "KiB");
  if (plan.memory.page_kib || plan.memory.nosharepages || plan.memory.locked) {
    xml_node mb = child(domain, "memoryBacking");
    if (plan.memory.page_kib) {
      xml_node page = child(child(mb, "hugepages"), "page");
      attr(page, "size", std::to_string(plan.memory.page_kib));
      attr(page, "unit", "KiB");
    }
    if (plan.memory.nosharepages) child(mb, "nosharepages");
    if (plan.memory.locked) child(mb, "locked");
  }
}

// vCPUs, iothreads, their pinning and the NUMA node of the memory.
void cputune(xml_node domain, const GuestPlan& plan) {
  attr(text_child(domain, "vcpu", std::to_string(plan.cpu.vcpu_count())), "placement", "static");
  text_child(domain, "iothreads", std::to_string(plan.iothreads));
  xml_node tune = child(domain, "cputune");
  for (int i = 0; i < plan.cpu.vcpu_count(); ++i) {
    xml_node pin = child(tune, "vcpupin");
    attr(pin, "vcpu", std::to_string(i));
    attr(pin, "cpuset", std::to_string(plan.cpu.vcpus[static_cast<size_t>(i)]));
  }
  if (!plan.cpu.emulator.empty()) state(tune, "emulatorpin", "cpuset", format_cpulist(plan.cpu.emulator).c_str());
  if (!plan.cpu.iothread.empty()) {
    for (int i = 1; i <= plan.iothreads; ++i) {
      xml_node pin = state(tune, "iothreadpin", "iothread", std::to_string(i).c_str());
      attr(pin, "cpuset", format_cpulist(plan.cpu.iothread));
    }
  }
  if (plan.memory.node) {
    xml_node m = state(child(domain, "numatune"), "memory", "mode", "strict");
    attr(m, "nodeset", std::to_string(*plan.memory.node));
  }
}

// <os>: the machine type and either a kernel booted directly or the firmware.
void os_element(xml_node domain, const GuestPlan& plan, const XmlOptions& opt) {
  xml_node os = child(domain, "os");
  bool direct = !opt.kernel.empty();
  bool uefi = !direct && !plan.legacy;
  if (uefi) attr(os, "firmware", "efi");
  xml_node type = text_child(os, "type", "hvm");
  attr(type, "arch", "x86_64");
  attr(type, "machine", plan.legacy ? "pc" : "q35");
  if (direct) {
    text_child(os, "kernel", opt.kernel);
    if (!opt.initrd.empty()) text_child(os, "initrd", opt.initrd);
    if (!opt.cmdline.empty()) text_child(os, "cmdline", opt.cmdline);
  } else if (uefi) {
    xml_node fw = child(os, "firmware");
    bool sb = plan.spec.secure_boot;
    attr(state(fw, "feature", "enabled", sb ? "yes" : "no"), "name", "secure-boot");
    if (sb) attr(state(fw, "feature", "enabled", "yes"), "name", "enrolled-keys");
  }
  if (!plan.sysinfo.empty()) state(os, "smbios", "mode", "sysinfo");
}

void lifecycle(xml_node domain, const GuestPlan& plan) {
  text_child(domain, "on_poweroff", "destroy");
  text_child(domain, "on_reboot", "restart");
  text_child(domain, "on_crash", "destroy");
  xml_node pm = child(domain, "pm");
  bool passed = !plan.passed.empty();
  state(pm, "suspend-to-mem", "enabled", passed ? "no" : "yes");
  // S4 always off: the distributions' OVMF descriptors do not offer
  // acpi-s4, so libvirt finds no firmware for an EFI guest that asks for it.
  state(pm, "suspend-to-disk", "enabled", "no");
}

// The disk controllers the disks asked for, the USB controller and the PCI
// root (ports).
void controllers(xml_node devices, const GuestPlan& plan, bool scsi, int nvme) {
  for (int i = 0; i < nvme; ++i) attr(state(devices, "controller", "type", "nvme"), "index", std::to_string(i));
  if (scsi) {
    xml_node ctl = state(devices, "controller", "type", "scsi");
    attr(ctl, "index", "0");
    attr(ctl, "model", "virtio-scsi");
    xml_node drv = child(ctl, "driver");
    attr(drv, "queues", std::to_string(std::min(plan.cpu.vcpu_count(), 16)));
    attr(drv, "iothread", std::to_string(plan.scsi_iothread));
  }
  {
    // Windows 7 and older have no xHCI driver: QEMU's UHCI serves them.
    xml_node usb = state(devices, "controller", "type", "usb");
    attr(usb, "index", "0");
    attr(usb, "model", plan.legacy ? "piix3-uhci" : "qemu-xhci");
  }
  // One pcie-root-port per passed host slot: libvirt numbers them 1..N.
  // i440fx has no PCIe: devices sit on its PCI bus instead.
  if (!plan.legacy) {
    if (plan.mmio.window_bytes) {
      // QEMU's q35 64-bit hole (the root bus's ACPI window) as large as the firmware's.
      xml_node root = state(devices, "controller", "type", "pci");
      attr(root, "index", "0");
      attr(root, "model", "pcie-root");
      attr(text_child(root, "pcihole64", std::to_string(plan.mmio.window_bytes >> 10)), "unit", "KiB");
    }
    for (int i = 1; i <= plan.root_ports; ++i) {
      xml_node rp = state(devices, "controller", "type", "pci");
      attr(rp, "index", std::to_string(i));
      attr(rp, "model", "pcie-root-port");
    }
  }
}

// The passed PCI functions and USB devices.
void hostdevs(xml_node devices, const GuestPlan& plan) {
  for (const auto& f : plan.passed) {
    xml_node hd = state(devices, "hostdev", "mode", "subsystem");
    attr(hd, "type", "pci");
    attr(hd, "managed", "yes");
    pci_address(child(hd, "source"), f.host, false);
    if (f.romfile) state(hd, "rom", "file", f.romfile->c_str());
    xml_node ga = state(hd, "address", "type", "pci");
    attr(ga, "domain", "0x0000");
    if (plan.legacy) {
      // Slots 0x10 and up on bus 0, one per host slot, functions kept together.
      attr(ga, "bus", "0x00");
      attr(ga, "slot", hex(static_cast<unsigned>(0x10 + f.guest_bus - 1), 2));
    } else {
      attr(ga, "bus", hex(static_cast<unsigned>(f.guest_bus), 2));
      attr(ga, "slot", "0x00");
    }
    attr(ga, "function", hex(static_cast<unsigned>(f.guest_function), 1));
    if (f.multifunction) attr(ga, "multifunction", "on");
  }
  for (const auto& u : plan.usb) {
    xml_node hd = state(devices, "hostdev", "mode", "subsystem");
    attr(hd, "type", "usb");
    attr(hd, "managed", "yes");
    xml_node src = child(hd, "source");
    state(src, "vendor", "id", hex(u.host.vendor, 4).c_str());
    state(src, "product", "id", hex(u.host.product, 4).c_str());
    if (u.by_port && u.host.busnum && u.host.devnum) {
      xml_node a = state(src, "address", "bus", std::to_string(*u.host.busnum).c_str());
      attr(a, "device", std::to_string(*u.host.devnum));
    }
  }
}

// The guest agent's channel and the TPM.
void agent_and_tpm(xml_node devices, const GuestPlan& plan) {
  {
    xml_node ch = state(devices, "channel", "type", "unix");
    attr(state(ch, "target", "type", "virtio"), "name", "org.qemu.guest_agent.0");
  }
  if (plan.spec.tpm) {
    // tpm-crb is a q35 (ACPI) device; i440fx guests get the older TIS interface.
    xml_node tpm = state(devices, "tpm", "model", plan.legacy ? "tpm-tis" : "tpm-crb");
    attr(state(tpm, "backend", "type", "emulator"), "version", "2.0");
  }
}

// The serial console: a pty, or a log file (--serial-log).
void serial_console(xml_node devices, const XmlOptions& opt) {
  if (opt.serial_log.empty()) {
    state(devices, "serial", "type", "pty");
    state(devices, "console", "type", "pty");
  } else {
    xml_node serial = state(devices, "serial", "type", "file");
    state(serial, "source", "path", opt.serial_log.c_str());
    xml_node console = state(devices, "console", "type", "file");
    state(console, "source", "path", opt.serial_log.c_str());
    attr(state(console, "target", "type", "serial"), "port", "0");
  }
}

void fw_cfg(xml_node domain, const GuestPlan& plan) {
  if (!plan.mmio.window_bytes) return;
  // OVMF's 64-bit PCI MMIO aperture, in MiB, through fw_cfg (libvirt has no element for it).
  xml_node cmd = child(domain, "qemu:commandline");
  state(cmd, "qemu:arg", "value", "-fw_cfg");
  state(cmd, "qemu:arg", "value", fmt::format("name=opt/ovmf/X-PciMmio64Mb,string={}", plan.mmio.window_mib()).c_str());
}

}  // namespace

std::vector<std::string> tune_actions(const GuestPlan& plan) {
  // The spec's actions in its order, else all of them; hugepages only with pages.
  std::vector<std::string> r;
  for (const auto& a : plan.spec.tune_actions ? *plan.spec.tune_actions : tune_action_names())
    if (a != "hugepages" || plan.memory.page_kib) r.push_back(a);
  return r;
}

std::string libvirt_xml(const GuestPlan& plan, const XmlOptions& opt) {
  pugi::xml_document doc;
  xml_node domain = attr(child(doc, "domain"), "type", opt.virt_type);
  if (plan.mmio.window_bytes) attr(domain, "xmlns:qemu", "http://libvirt.org/schemas/domain/qemu/1.0");
  identity(domain, plan);
  memory(domain, plan);
  cputune(domain, plan);
  os_element(domain, plan, opt);
  sysinfo(domain, plan);
  features(domain, plan, opt);
  cpu(domain, plan, opt);
  clock(domain, plan, opt);
  lifecycle(domain, plan);

  xml_node devices = child(domain, "devices");
  text_child(devices, "emulator", opt.emulator);
  bool scsi = false;
  int nvme = 0;
  disks(devices, plan, opt, scsi, nvme);
  controllers(devices, plan, scsi, nvme);
  network(devices, plan, opt);
  hostdevs(devices, plan);
  if (!plan.evdev.empty()) {
    append_evdev_inputs(devices, plan.evdev, plan.spec.input.grab_toggle);
    // virtio keyboard and mouse for evdev to feed once the guest has the
    // driver (Looking Glass's SPICE input adds them below otherwise).
    if (!plan.spice_input) {
      attr(state(devices, "input", "type", "keyboard"), "bus", "virtio");
      attr(state(devices, "input", "type", "mouse"), "bus", "virtio");
    }
  }
  agent_and_tpm(devices, plan);
  audio(devices, plan);
  display(devices, plan);
  serial_console(devices, opt);
  state(devices, "memballoon", "model", plan.memory.balloon ? "virtio" : "none");
  fw_cfg(domain, plan);

  std::ostringstream out;
  doc.save(out, "  ", pugi::format_default | pugi::format_no_declaration);
  return out.str();
}

}  // namespace vfioctl
