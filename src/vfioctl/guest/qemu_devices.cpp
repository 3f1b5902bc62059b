// The QEMU script's argument blocks for the guest's devices: disks and
// install media, USB, PCIe root ports, the NIC of each network mode, passed
// host functions, input, the guest agent, TPM, sound, shared memory,
// display, serial console and balloon.
#include <fmt/format.h>

#include <algorithm>

#include "vfioctl/guest/evdev_out.h"
#include "vfioctl/guest/qemu_args.h"

namespace vfioctl::qemu {

void disks(Args& args, const GuestPlan& plan) {
  int queues = std::min(plan.cpu.vcpu_count(), 16);
  if (plan.disks.empty()) return;
  bool scsi = std::any_of(plan.disks.begin(), plan.disks.end(),
                          [](const PlannedDisk& d) { return !d.cdrom && d.bus == DiskBus::virtio_scsi; });
  ArgBlock& b =
      args.block({"Disks: the first disk boots first, then the installer; cache and I/O mode per backing",
                  plan.iothreads == 1 ? "store (docs/spec.md, \"Disk I/O\"); virtio-scsi and virtio-blk on iothread1"
                                      : "store (docs/spec.md, \"Disk I/O\"); each virtio controller on its iothread"});
  if (scsi) {
    add(b, {"-device",
            fmt::format("virtio-scsi-pci,id=scsi0,iothread=iothread{},num_queues={}", plan.scsi_iothread, queues)});
  }
  int sata = 0, ide = 0, lun = 0, vd = 0, nvme = 0;
  for (const PlannedDisk& d : plan.disks) {
    std::string drive = fmt::format("file={},if=none,format={}", qemu_escape(d.source), d.format);
    std::string id;
    std::string device;
    if (d.cdrom && plan.legacy) {
      // i440fx: PIIX IDE, two buses of two units.
      id = fmt::format("ide0-{}", ide);
      device = fmt::format("ide-cd,bus=ide.{},unit={},drive=drive-{},id={}", ide / 2, ide % 2, id, id);
      ++ide;
    } else if (d.cdrom || d.bus == DiskBus::sata) {
      id = fmt::format("sata0-{}", sata);
      device = fmt::format("{},bus=ide.{},drive=drive-{},id={}", d.cdrom ? "ide-cd" : "ide-hd", sata, id, id);
      ++sata;
    } else if (d.bus == DiskBus::virtio_blk) {
      id = fmt::format("virtio-disk{}", vd++);
      device = fmt::format("virtio-blk-pci,drive=drive-{},id={},iothread=iothread{},num-queues={}", id, id, d.iothread,
                           queues);
    } else if (d.bus == DiskBus::nvme) {
      // An emulated NVMe controller of its own, the drive its namespace.
      id = fmt::format("nvme{}", nvme++);
      device = fmt::format("nvme,serial={},drive=drive-{},id={}", nvme_serial(d.source), id, id);
    } else {
      id = fmt::format("scsi0-0-0-{}", lun);
      device = fmt::format("scsi-hd,bus=scsi0.0,channel=0,scsi-id=0,lun={},drive=drive-{},id={}", lun, id, id);
      ++lun;
    }
    drive += ",id=drive-" + id;
    if (d.cdrom) {
      drive += ",media=cdrom,readonly=on";
    } else {
      drive += fmt::format(",cache={},aio={}", d.io.cache, d.io.io);
      if (d.discard) drive += ",discard=unmap";
    }
    if (d.boot > 0) device += fmt::format(",bootindex={}", d.boot);
    add(b, {"-drive", drive});
    add(b, {"-device", device});
  }
}

std::string script_mac(const GuestPlan& plan) {
  if (plan.spec.network.mac) return *plan.spec.network.mac;
  unsigned h = 2166136261u;
  for (unsigned char c : plan.name) h = (h ^ c) * 16777619u;
  return fmt::format("52:54:00:{:02x}:{:02x}:{:02x}", (h >> 16) & 0xff, (h >> 8) & 0xff, h & 0xff);
}

std::string macvtap_name(const GuestPlan& plan) {
  unsigned h = 2166136261u;
  for (unsigned char c : plan.name) h = (h ^ c) * 16777619u;
  return fmt::format("vfmt{:08x}", h);
}

void network(Args& args, const GuestPlan& plan, const QemuOptions& opt) {
  const auto& net = plan.spec.network;
  if (net.mode == NetworkSpec::Mode::none) return;
  std::string dev = "virtio-net-pci,netdev=hostnet0,id=net0";
  if (net.mode == NetworkSpec::Mode::sriov) {
    ArgBlock& b = args.block({fmt::format("Network: virtual function {} of {} (SR-IOV), the guest's own NIC",
                                          plan.net.vf ? plan.net.vf->short_str() : "?", net.pf)});
    std::string v = fmt::format("vfio-pci,host={},id=net0", plan.net.vf ? plan.net.vf->str() : "");
    add(b, {"-device", v});
    return;
  }
  if (net.mode == NetworkSpec::Mode::macvtap) {
    // The macvtap device made above carries this MAC: the guest's must match.
    ArgBlock& b =
        args.block({fmt::format("Network: virtio-net on a macvtap over {} (made above, on descriptor 3)", net.dev)});
    std::string netdev = "tap,id=hostnet0,fd=3";
    if (opt.virt_type == "kvm") netdev += ",vhost=on";
    add(b, {"-netdev", netdev});
    add(b, {"-device", dev + ",mac=" + script_mac(plan)});
    return;
  }
  if (net.mac) dev += ",mac=" + *net.mac;
  if (net.mode == NetworkSpec::Mode::bridge) {
    std::string netdev =
        fmt::format("tap,id=hostnet0,br={},helper=/usr/lib/qemu/qemu-bridge-helper", qemu_escape(net.bridge));
    if (opt.virt_type == "kvm") netdev += ",vhost=on";
    ArgBlock& b = args.block(
        {fmt::format("Network: virtio-net on the host's bridge {} (a tap made by qemu-bridge-helper;", net.bridge),
         "vhost in the kernel; one queue: the helper cannot make multiqueue taps)"});
    add(b, {"-netdev", netdev});
    add(b, {"-device", dev});
  } else {
    ArgBlock& b = args.block(
        {"Network: virtio-net behind QEMU's own NAT (user networking): outgoing connections",
         fmt::format("work; libvirt's '{}' network is libvirt's, not available to plain QEMU", net.network)});
    add(b, {"-netdev", "user,id=hostnet0"});
    add(b, {"-device", dev});
  }
}

void usb(Args& args, const GuestPlan& plan) {
  ArgBlock& b =
      args.block({plan.legacy ? "USB controller: UHCI (Windows 7 and older have no xHCI driver)" : "USB 3 controller"});
  add(b, {"-device", plan.legacy ? "piix3-usb-uhci,id=usb" : "qemu-xhci,id=usb"});
  for (const auto& u : plan.usb) {
    // By port when two devices share the id: the port path stays when it is plugged in again.
    std::string v =
        u.by_port && u.host.busnum
            ? fmt::format("usb-host,bus=usb.0,hostbus={},hostport={}", *u.host.busnum,
                          u.host.port.substr(u.host.port.find('-') + 1))
            : fmt::format("usb-host,bus=usb.0,vendorid=0x{:04x},productid=0x{:04x}", u.host.vendor, u.host.product);
    add(b, {"-device", v});
  }
}

void root_ports(Args& args, const GuestPlan& plan) {
  if (plan.root_ports <= 0 || plan.legacy) return;
  ArgBlock& b = args.block({"PCIe root ports, one per passed host slot (rp1, rp2, ... like libvirt's indexes)"});
  for (int i = 1; i <= plan.root_ports; ++i) {
    add(b, {"-device", fmt::format("pcie-root-port,id=rp{},chassis={},bus=pcie.0", i, i)});
  }
}

void passed_functions(Args& args, const GuestPlan& plan) {
  if (plan.passed.empty()) return;
  ArgBlock& b = args.block({"Passed host functions (vfio-pci): a device's functions share one guest slot"});
  int n = 0;
  for (const auto& f : plan.passed) {
    std::string v = plan.legacy ? fmt::format("vfio-pci,host={},id=hostdev{},bus=pci.0,addr={:02x}.{}", f.host.str(),
                                              n++, 0x10 + f.guest_bus - 1, f.guest_function)
                                : fmt::format("vfio-pci,host={},id=hostdev{},bus=rp{},addr=00.{}", f.host.str(), n++,
                                              f.guest_bus, f.guest_function);
    if (f.multifunction) v += ",multifunction=on";
    if (f.romfile) v += ",romfile=" + qemu_escape(*f.romfile);
    add(b, {"-device", v});
  }
}

void input(Args& args, const GuestPlan& plan) {
  std::vector<std::string> evdev = qemu_evdev_args(plan.evdev, plan.spec.input.grab_toggle);
  if (evdev.empty()) return;
  std::vector<std::string> comment = {fmt::format("Keyboard and mouse by evdev: {} moves them between host and guest",
                                                  grab_toggle_help(plan.spec.input.grab_toggle))};
  // Looking Glass's SPICE input adds the same two devices with the display.
  if (!plan.spice_input) comment.push_back("virtio keyboard and mouse for them (PS/2 until the guest has the driver)");
  ArgBlock& b = args.block(comment);
  for (size_t i = 0; i + 1 < evdev.size(); i += 2) add(b, {evdev[i], evdev[i + 1]});
  if (!plan.spice_input) {
    add(b, {"-device", "virtio-keyboard-pci,id=input0"});
    add(b, {"-device", "virtio-mouse-pci,id=input1"});
  }
}

void guest_agent(Args& args, const ScriptContext& c) {
  ArgBlock& b = args.block({"Guest agent channel (qemu-guest-agent in the guest)"});
  add(b, {"-chardev", fmt::format("socket,id=qga0,path={},server=on,wait=off", qemu_escape(c.p.qga))});
  add(b, {"-device", "virtio-serial-pci,id=virtio-serial0"});
  add(b, {"-device", "virtserialport,bus=virtio-serial0.0,nr=1,chardev=qga0,name=org.qemu.guest_agent.0"});
}

void tpm(Args& args, const ScriptContext& c) {
  if (!c.plan.spec.tpm) return;
  ArgBlock& b = args.block({"TPM 2.0: the swtpm started above"});
  add(b, {"-chardev", fmt::format("socket,id=chrtpm,path={}", qemu_escape(c.p.swtpm_sock))});
  add(b, {"-tpmdev", "emulator,id=tpm0,chardev=chrtpm"});
  add(b, {"-device", "tpm-crb,tpmdev=tpm0"});
}

void sound(Args& args, const GuestPlan& plan) {
  if (plan.audio == AudioBackend::pulseaudio || plan.audio == AudioBackend::pipewire) {
    ArgBlock& b =
        args.block({"Sound: Intel HDA to the user's PulseAudio socket (PipeWire serves it through pipewire-pulse)"});
    add(b, {"-audiodev", fmt::format("pa,id=snd0,server=unix:{}", qemu_escape(plan.audio_socket))});
    add(b, {"-device", "ich9-intel-hda,id=sound0"});
    add(b, {"-device", "hda-micro,audiodev=snd0"});
  } else if (plan.audio == AudioBackend::scream) {
    ArgBlock& b = args.block({fmt::format(
        "Sound: {} MiB of shared memory for the Scream receiver (/dev/shm/scream-ivshmem)", plan.scream_mib)});
    add(b, {"-object", fmt::format("memory-backend-file,id=scream,mem-path=/dev/shm/scream-ivshmem,size={}M,share=on",
                                   plan.scream_mib)});
    add(b, {"-device", "ivshmem-plain,memdev=scream"});
  }
}

void looking_glass(Args& args, const GuestPlan& plan) {
  if (plan.looking_glass_mib <= 0) return;
  ArgBlock& b = args.block({fmt::format("Looking Glass: {} MiB shared with the host's client (/dev/shm/looking-glass)",
                                        plan.looking_glass_mib)});
  add(b,
      {"-object", fmt::format("memory-backend-file,id=looking-glass,mem-path=/dev/shm/looking-glass,size={}M,share=on",
                              plan.looking_glass_mib)});
  add(b, {"-device", "ivshmem-plain,memdev=looking-glass"});
}

void display(Args& args, const ScriptContext& c) {
  const GuestPlan& plan = c.plan;
  bool gpu = std::any_of(plan.passed.begin(), plan.passed.end(), [](const PassedFunction& f) { return f.gpu; });
  bool spice = !gpu && plan.spec.preset != Preset::linux_server;
  ArgBlock& b =
      args.block({gpu     ? "Display: the passed GPU's own outputs; no emulated video"
                  : spice ? "Display: virtio video through SPICE on a unix socket (remote-viewer spice+unix://SOCKET)"
                          : "Display: none (a server)"});
  add(b, {"-display", "none"});
  if (spice) {
    add(b, {"-device", plan.legacy ? "VGA,id=video0" : "virtio-vga,id=video0,max_outputs=1"});
    add(b, {"-spice", fmt::format("unix=on,addr={},disable-ticketing=on", qemu_escape(c.p.spice))});
  }
  if (plan.spice_input) {
    // Looking Glass's client sends keyboard and mouse through SPICE.
    add(b, {"-spice", fmt::format("unix=on,addr={},disable-ticketing=on", qemu_escape(c.p.spice))});
    add(b, {"-device", "virtio-keyboard-pci,id=input0"});
    add(b, {"-device", "virtio-mouse-pci,id=input1"});
    add(b, {"-chardev", "spicevmc,id=vdagent,name=vdagent"});
    add(b, {"-device", "virtserialport,bus=virtio-serial0.0,nr=2,chardev=vdagent,name=com.redhat.spice.0"});
  }
}

void serial(Args& args, const ScriptContext& c) {
  ArgBlock& b =
      args.block({c.opt.serial_stdio ? "Serial console on this terminal (Ctrl-A C: QEMU's monitor; Ctrl-A X: quit)"
                                     : "Serial console to a file"});
  if (c.opt.serial_stdio) {
    add(b, {"-serial", "mon:stdio"});
  } else {
    add(b, {"-chardev", fmt::format("file,id=charserial0,path={}", qemu_escape(c.p.serial))});
    add(b, {"-device", "isa-serial,chardev=charserial0,id=serial0"});
  }
}

void balloon(Args& args, const GuestPlan& plan) {
  if (!plan.memory.balloon) return;
  ArgBlock& b = args.block({"Memory balloon (no device is passed)"});
  add(b, {"-device", "virtio-balloon-pci,id=balloon0"});
}

}  // namespace vfioctl::qemu
