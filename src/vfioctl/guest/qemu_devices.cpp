// The QEMU script's device blocks for the plan's day-one choices: the CPU
// model, disks and install media, and the NIC of each network mode.
#include <fmt/format.h>

#include <algorithm>

#include "vfioctl/guest/qemu_args.h"

namespace vfioctl::qemu {

std::string qesc(std::string_view value) {
  std::string out;
  for (char c : value) {
    out += c;
    if (c == ',') out += ',';
  }
  return out;
}

std::string cpu_value(const GuestPlan& plan, const QemuOptions& opt) {
  if (opt.virt_type != "kvm") return opt.tcg_cpu_model;
  std::string v = "host,migratable=off,host-cache-info=on,l3-cache=off";
  if (plan.vendor == CpuVendor::amd) v += ",topoext=on";
  if (plan.spec.nested) v += plan.vendor == CpuVendor::amd ? ",svm=on" : ",vmx=on";
  if (plan.windows) {
    v += ",hv-relaxed=on,hv-vapic=on,hv-spinlocks=0x1fff,hv-vpindex=on,hv-runtime=on,hv-synic=on,hv-stimer=on,"
         "hv-stimer-direct=on,hv-reset=on,hv-vendor-id=vfioctlguest,hv-frequencies=on,hv-reenlightenment=on,"
         "hv-tlbflush=on,hv-ipi=on,hv-time=on";
  }
  return v;
}

void disks(Args& args, const GuestPlan& plan) {
  int queues = std::min(plan.cpu.vcpu_count(), 16);
  if (plan.disks.empty()) return;
  bool scsi = std::any_of(plan.disks.begin(), plan.disks.end(),
                          [](const PlannedDisk& d) { return !d.cdrom && d.bus == DiskBus::virtio_scsi; });
  ArgBlock& b = args.block({"Disks: the first disk boots first, then the installer; cache and I/O mode per backing",
                            "store (docs/spec.md, \"Disk I/O\"); virtio-scsi and virtio-blk on iothread1"});
  if (scsi) {
    add(b, {"-device", fmt::format("virtio-scsi-pci,id=scsi0,iothread=iothread1,num_queues={}", queues)});
  }
  int sata = 0, ide = 0, lun = 0, vd = 0;
  for (const PlannedDisk& d : plan.disks) {
    std::string drive = fmt::format("file={},if=none,format={}", qesc(d.source), d.format);
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
      device = fmt::format("virtio-blk-pci,drive=drive-{},id={},iothread=iothread1,num-queues={}", id, id, queues);
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
    std::string netdev = fmt::format("tap,id=hostnet0,br={},helper=/usr/lib/qemu/qemu-bridge-helper", qesc(net.bridge));
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

}  // namespace vfioctl::qemu
