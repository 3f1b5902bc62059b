// The QEMU script's argument blocks for the machine itself: identity,
// chipset and SMBIOS, CPU model and topology, memory, clock, firmware.
#include <fmt/format.h>

#include <map>

#include "vfioctl/guest/qemu_args.h"

namespace vfioctl::qemu {

std::string qemu_size(long long kib) { return size_text_kib(kib, {.largest = Unit::M}); }

std::string page_option(long long page_kib) { return size_text_kib(page_kib, {.fit = Fit::whole}); }

void identity(Args& args, const ScriptContext& c) {
  ArgBlock& b = args.block({"Identity: thread names like libvirt's (\"CPU 0/KVM\", \"IO iothread1\"); nothing QEMU",
                            "would add on its own; QMP for `vfioctl pin`; started paused (-S) until pinned"});
  add(b, {"-name", fmt::format("guest={},debug-threads=on", qemu_escape(c.plan.name))});
  add(b, {"-no-user-config"});
  add(b, {"-nodefaults"});
  add(b, {"-S"});
  add(b, {"-qmp", fmt::format("unix:{},server=on,wait=off", qemu_escape(c.p.qmp))});
  if (!c.opt.serial_stdio) add(b, {"-daemonize"});
  add(b, {"-pidfile", c.p.pidfile});
}

namespace {

// SMBIOS: libvirt's <sysinfo> sections and entries as QEMU's -smbios types and keys.
void smbios(Args& args, const GuestPlan& plan) {
  if (plan.sysinfo.empty()) return;
  ArgBlock& smb =
      args.block({"SMBIOS: the host's BIOS, system, board and chassis strings (serials masked unless asked)"});
  static const std::map<std::string, std::pair<int, std::map<std::string, std::string>>> kTypes = {
      {"bios", {0, {{"vendor", "vendor"}, {"version", "version"}, {"date", "date"}}}},
      {"system",
       {1,
        {{"manufacturer", "manufacturer"},
         {"product", "product"},
         {"version", "version"},
         {"serial", "serial"},
         {"sku", "sku"},
         {"family", "family"}}}},
      {"baseBoard",
       {2,
        {{"manufacturer", "manufacturer"},
         {"product", "product"},
         {"version", "version"},
         {"serial", "serial"},
         {"asset", "asset"}}}},
      {"chassis",
       {3, {{"manufacturer", "manufacturer"}, {"version", "version"}, {"serial", "serial"}, {"asset", "asset"}}}},
  };
  for (const auto& [section, entries] : plan.sysinfo) {
    auto t = kTypes.find(section);
    if (t == kTypes.end()) continue;
    std::string v = fmt::format("type={}", t->second.first);
    for (const auto& [name, value] : entries) {
      auto key = t->second.second.find(name);
      if (key != t->second.second.end()) v += fmt::format(",{}={}", key->second, qemu_escape(value));
    }
    add(smb, {"-smbios", v});
  }
}

}  // namespace

void machine(Args& args, const ScriptContext& c) {
  const GuestPlan& plan = c.plan;
  bool passed = !plan.passed.empty();
  if (plan.legacy) {
    ArgBlock& b = args.block({"Machine: i440fx with SeaBIOS (a guest that predates UEFI), no VMware port, no HPET;",
                              "S3 off with a passed device, S4 always off"});
    add(b, {"-machine", fmt::format("pc,accel={},vmport=off,hpet=off", c.kvm ? "kvm" : "tcg")});
    add(b, {"-global", fmt::format("PIIX4_PM.disable_s3={}", passed ? 1 : 0)});
    add(b, {"-global", "PIIX4_PM.disable_s4=1"});
  } else {
    ArgBlock& b =
        args.block({"Machine: q35, SMM on, no VMware port, no HPET; S3 off with a passed device, S4 always off"});
    std::string m = fmt::format("q35,accel={},smm=on,vmport=off,hpet=off", c.kvm ? "kvm" : "tcg");
    if (c.kvm) m += ",kernel-irqchip=on";
    add(b, {"-machine", m});
    add(b, {"-global", fmt::format("ICH9-LPC.disable_s3={}", passed ? 1 : 0)});
    add(b, {"-global", "ICH9-LPC.disable_s4=1"});
  }
  if (!plan.uuid.empty()) add(args.blocks_back(), {"-uuid", plan.uuid});
  smbios(args, plan);
  if (plan.mmio.window_bytes && !plan.legacy) {
    ArgBlock& w = args.block({fmt::format(
        "64-bit MMIO window: {} for the passed devices' {} of 64-bit BARs (the firmware's default is {})",
        bytes_name(plan.mmio.window_bytes), bytes_name(plan.mmio.bar_bytes), bytes_name(kDefaultMmio64Bytes))});
    add(w, {"-fw_cfg", fmt::format("name=opt/ovmf/X-PciMmio64Mb,string={}", plan.mmio.window_mib())});
    add(w, {"-global", fmt::format("q35-pcihost.pci-hole64-size={}",
                                   qemu_size(static_cast<long long>(plan.mmio.window_bytes >> 10)))});
  }
}

std::string cpu_value(const GuestPlan& plan, const QemuOptions& opt) {
  if (opt.virt_type != "kvm")
    return plan.mmio.window_bytes ? fmt::format("{},phys-bits={}", opt.tcg_cpu_model, plan.mmio.phys_bits)
                                  : opt.tcg_cpu_model;
  std::string v = "host,migratable=off,host-cache-info=on,l3-cache=off";
  if (plan.vendor == CpuVendor::amd) v += ",topoext=on";
  if (plan.spec.nested) v += plan.vendor == CpuVendor::amd ? ",svm=on" : ",vmx=on";
  if (plan.hide.kvm_hidden) v += ",kvm=off";
  if (plan.hide.cpuid_bit_off) v += ",hypervisor=off";
  if (plan.mmio.window_bytes) v += ",host-phys-bits=on";
  // Without the hypervisor bit Windows ignores the enlightenments.
  if (plan.windows && !plan.hide.cpuid_bit_off) {
    v += ",hv-relaxed=on,hv-vapic=on,hv-spinlocks=0x1fff,hv-vpindex=on,hv-runtime=on,hv-synic=on,hv-stimer=on,"
         "hv-stimer-direct=on,hv-reset=on";
    if (!plan.hide.vendor_id.empty()) v += ",hv-vendor-id=" + plan.hide.vendor_id;
    v += ",hv-frequencies=on,hv-reenlightenment=on,hv-tlbflush=on,hv-ipi=on,hv-time=on";
  }
  return v;
}

void cpu(Args& args, const ScriptContext& c) {
  const GuestPlan& plan = c.plan;
  std::vector<std::string> comment;
  if (c.kvm) {
    comment.push_back("CPU: the host's own model and caches");
    if (plan.vendor == CpuVendor::amd) comment.back() += " (topoext: AMD SMT)";
    if (plan.windows && !plan.hide.cpuid_bit_off) comment.back() += ", Hyper-V enlightenments for Windows";
    if (plan.hide.kvm_hidden) {
      comment.push_back(
          plan.hide.cpuid_bit_off
              ? "Hypervisor hidden: no KVM signature, no hypervisor bit (so no Hyper-V enlightenments)"
              : "Hypervisor hidden: no KVM signature" +
                    (plan.hide.vendor_id.empty() ? std::string() : ", Hyper-V vendor id " + plan.hide.vendor_id));
    }
  } else {
    comment.push_back("CPU: " + c.opt.tcg_cpu_model + " (TCG cannot pass the host CPU; an Intel model shows SMT)");
  }
  comment.push_back(
      fmt::format("Topology as pinned: 1 socket, {} cores x {} threads", plan.cpu.cores, plan.cpu.threads));
  ArgBlock& b = args.block(comment);
  add(b, {"-cpu", cpu_value(plan, c.opt)});
  add(b, {"-smp", fmt::format("{},sockets=1,dies=1,cores={},threads={}", plan.cpu.vcpu_count(), plan.cpu.cores,
                              plan.cpu.threads)});
}

void memory(Args& args, const ScriptContext& c) {
  const auto& mem = c.plan.memory;
  std::vector<std::string> comment;
  if (mem.page_kib) {
    comment.push_back(fmt::format("Memory: {} MiB on {} hugepages of {}, preallocated", mem.kib / 1024, mem.pages,
                                  page_name(mem.page_kib)));
  } else {
    comment.push_back(fmt::format("Memory: {} MiB", mem.kib / 1024));
  }
  if (mem.node) comment.back() += fmt::format(", from NUMA node {} only", *mem.node);
  if (mem.nosharepages) comment.back() += "; never merged (KSM)";
  if (mem.locked) comment.back() += "; locked (never swapped)";
  ArgBlock& b = args.block(comment);
  add(b, {"-m", qemu_size(mem.kib)});
  std::string numa = mem.node ? fmt::format(",host-nodes={},policy=bind", *mem.node) : "";
  if (mem.page_kib) {
    add(b, {"-object", fmt::format("memory-backend-file,id=mem,size={},mem-path={},prealloc=on,share=off{}",
                                   qemu_size(mem.kib), qemu_escape(c.p.hugetlbfs), numa)});
    add(b, {"-machine", "memory-backend=mem"});
  } else if (mem.node) {
    add(b, {"-object", fmt::format("memory-backend-ram,id=mem,size={}{}", qemu_size(mem.kib), numa)});
    add(b, {"-machine", "memory-backend=mem"});
  }
  if (mem.nosharepages) add(b, {"-machine", "mem-merge=off"});
  if (mem.locked) add(b, {"-overcommit", "mem-lock=on"});
}

void clock(Args& args, const ScriptContext& c) {
  bool windows = c.plan.windows;
  ArgBlock& b =
      args.block({fmt::format("Clock: {}, the RTC catches up missed ticks{}", windows ? "local time (Windows)" : "UTC",
                              c.kvm ? ", the PIT delays them" : "")});
  add(b, {"-rtc", fmt::format("base={},driftfix=slew", windows ? "localtime" : "utc")});
  if (c.kvm) add(b, {"-global", "kvm-pit.lost_tick_policy=delay"});
}

void firmware(Args& args, const ScriptContext& c) {
  if (c.direct) {
    ArgBlock& b = args.block({"Boot: this kernel directly (no firmware)"});
    add(b, {"-kernel", c.opt.kernel});
    if (!c.opt.initrd.empty()) add(b, {"-initrd", c.opt.initrd});
    if (!c.opt.cmdline.empty()) add(b, {"-append", c.opt.cmdline});
    return;
  }
  // i440fx boots QEMU's own SeaBIOS: no firmware files to name.
  if (c.plan.legacy) return;
  std::vector<std::string> comment = {
      c.sb ? "Firmware: OVMF with Secure Boot (Microsoft keys enrolled; needs SMM), read-only, and this"
           : "Firmware: OVMF (UEFI, no Secure Boot), read-only, and this",
      "guest's own copy of the UEFI variables"};
  // Where the firmware came from, when the host's was looked at.
  if (c.firmware_found && !c.firmware_how.empty()) comment.push_back("From the " + c.firmware_how);
  ArgBlock& b = args.block(comment);
  if (c.sb) add(b, {"-global", "driver=cfi.pflash01,property=secure,value=on"});
  add(b,
      {"-drive", fmt::format("if=pflash,format={},unit=0,file={},readonly=on", c.code_format, qemu_escape(c.p.code))});
  add(b, {"-drive", fmt::format("if=pflash,format={},unit=1,file={}", c.vars_format, qemu_escape(c.p.vars))});
}

void iothreads(Args& args, const GuestPlan& plan) {
  ArgBlock& b = args.block({plan.iothreads == 1
                                ? "I/O thread 1: disk I/O off the vCPUs and the main loop"
                                : fmt::format("I/O threads 1-{}: disk I/O off the vCPUs and the main loop, one per "
                                              "virtio disk controller",
                                              plan.iothreads)});
  for (int i = 1; i <= plan.iothreads; ++i) add(b, {"-object", fmt::format("iothread,id=iothread{}", i)});
}

}  // namespace vfioctl::qemu
