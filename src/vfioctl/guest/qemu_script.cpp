#include "vfioctl/guest/qemu_script.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <string_view>
#include <vector>

#include "vfioctl/guest/qemu_args.h"
#include "vfioctl/host/input.h"
#include "vfioctl/util/cpulist.h"
#include "vfioctl/util/strings.h"

namespace vfioctl {

namespace {

using namespace qemu;

// "256M" for whole MiB, else "262145K".
std::string qemu_size(long long kib) {
  if (kib % 1024 == 0) return fmt::format("{}M", kib / 1024);
  return fmt::format("{}K", kib);
}

std::string page_name(long long page_kib) {
  if (page_kib >= 1048576 && page_kib % 1048576 == 0) return fmt::format("{} GiB", page_kib / 1048576);
  if (page_kib >= 1024 && page_kib % 1024 == 0) return fmt::format("{} MiB", page_kib / 1024);
  return fmt::format("{} KiB", page_kib);
}

// hugetlbfs's own spelling of a page size: "2M", "1G".
std::string page_option(long long page_kib) {
  if (page_kib >= 1048576 && page_kib % 1048576 == 0) return fmt::format("{}G", page_kib / 1048576);
  if (page_kib >= 1024 && page_kib % 1024 == 0) return fmt::format("{}M", page_kib / 1024);
  return fmt::format("{}K", page_kib);
}

struct Paths {
  std::string run, state, qmp, pidfile, serial, swtpm_sock, swtpm_pid, swtpm_log, tpm_state, qga, spice, vars, code,
      vars_template, hugetlbfs;
};

bool any_gpu(const GuestPlan& plan) {
  return std::any_of(plan.passed.begin(), plan.passed.end(), [](const PassedFunction& f) { return f.gpu; });
}

}  // namespace

std::string shell_quote(const std::string& word) {
  if (word.empty()) return "''";
  bool safe = std::all_of(word.begin(), word.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("@%+=:,./_-").find(c) != std::string_view::npos;
  });
  if (safe) return word;
  std::string q = "'";
  for (char c : word) {
    if (c == '\'')
      q += "'\\''";
    else
      q += c;
  }
  return q + "'";
}

std::string qemu_run_dir(const GuestPlan& plan, const QemuOptions& opt) {
  return opt.run_dir.empty() ? "/run/vfioctl/qemu/" + plan.name : opt.run_dir;
}

std::string qemu_state_dir(const GuestPlan& plan, const QemuOptions& opt) {
  return opt.state_dir.empty() ? "/var/lib/vfioctl/qemu/" + plan.name : opt.state_dir;
}

std::string qemu_script(const GuestPlan& plan, const QemuOptions& opt) {
  const bool kvm = opt.virt_type == "kvm";
  const bool direct = !opt.kernel.empty();
  const bool sb = plan.spec.secure_boot && !direct;
  const auto& mem = plan.memory;

  Paths p;
  p.run = qemu_run_dir(plan, opt);
  p.state = qemu_state_dir(plan, opt);
  p.qmp = p.run + "/qmp.sock";
  p.pidfile = p.run + "/qemu.pid";
  p.serial = opt.serial_log.empty() ? p.run + "/serial.log" : opt.serial_log;
  p.swtpm_sock = p.run + "/swtpm.sock";
  p.swtpm_pid = p.run + "/swtpm.pid";
  p.swtpm_log = p.run + "/swtpm.log";
  p.tpm_state = p.state + "/tpm";
  p.qga = p.run + "/qga.sock";
  p.spice = p.run + "/spice.sock";
  p.vars = p.state + "/OVMF_VARS.fd";
  p.code = !opt.ovmf_code.empty() ? opt.ovmf_code
           : sb                   ? "/usr/share/OVMF/OVMF_CODE_4M.ms.fd"
                                  : "/usr/share/OVMF/OVMF_CODE_4M.fd";
  p.vars_template = !opt.ovmf_vars_template.empty() ? opt.ovmf_vars_template
                    : sb                            ? "/usr/share/OVMF/OVMF_VARS_4M.ms.fd"
                                                    : "/usr/share/OVMF/OVMF_VARS_4M.fd";
  p.hugetlbfs = !opt.hugepages_mount.empty() ? opt.hugepages_mount
                : mem.page_kib >= 1048576    ? "/dev/hugepages1G"
                                             : "/dev/hugepages";
  const auto q = [](const std::string& s) { return shell_quote(s); };

  // ---- the QEMU command line ----
  Args args;
  {
    ArgBlock& b = args.block({"Identity: thread names like libvirt's (\"CPU 0/KVM\", \"IO iothread1\"); nothing QEMU",
                              "would add on its own; QMP for `vfioctl pin`; started paused (-S) until pinned"});
    add(b, {"-name", fmt::format("guest={},debug-threads=on", qesc(plan.name))});
    add(b, {"-no-user-config"});
    add(b, {"-nodefaults"});
    add(b, {"-S"});
    add(b, {"-qmp", fmt::format("unix:{},server=on,wait=off", qesc(p.qmp))});
    if (!opt.serial_stdio) add(b, {"-daemonize"});
    add(b, {"-pidfile", p.pidfile});
  }
  {
    bool passed = !plan.passed.empty();
    if (plan.legacy) {
      ArgBlock& b = args.block({"Machine: i440fx with SeaBIOS (a guest that predates UEFI), no VMware port, no HPET;",
                                "S3 off with a passed device, S4 always off"});
      add(b, {"-machine", fmt::format("pc,accel={},vmport=off,hpet=off", kvm ? "kvm" : "tcg")});
      add(b, {"-global", fmt::format("PIIX4_PM.disable_s3={}", passed ? 1 : 0)});
      add(b, {"-global", "PIIX4_PM.disable_s4=1"});
    } else {
      ArgBlock& b =
          args.block({"Machine: q35, SMM on, no VMware port, no HPET; S3 off with a passed device, S4 always off"});
      std::string machine = fmt::format("q35,accel={},smm=on,vmport=off,hpet=off", kvm ? "kvm" : "tcg");
      if (kvm) machine += ",kernel-irqchip=on";
      add(b, {"-machine", machine});
      add(b, {"-global", fmt::format("ICH9-LPC.disable_s3={}", passed ? 1 : 0)});
      add(b, {"-global", "ICH9-LPC.disable_s4=1"});
    }
    if (!plan.uuid.empty()) add(args.blocks_back(), {"-uuid", plan.uuid});
    if (!plan.sysinfo.empty()) {
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
          if (key != t->second.second.end()) v += fmt::format(",{}={}", key->second, qesc(value));
        }
        add(smb, {"-smbios", v});
      }
    }
  }
  {
    std::vector<std::string> comment;
    if (kvm) {
      comment.push_back("CPU: the host's own model and caches");
      if (plan.vendor == CpuVendor::amd) comment.back() += " (topoext: AMD SMT)";
      if (plan.windows) comment.back() += ", Hyper-V enlightenments for Windows";
    } else {
      comment.push_back("CPU: " + opt.tcg_cpu_model + " (TCG cannot pass the host CPU; an Intel model shows SMT)");
    }
    comment.push_back(
        fmt::format("Topology as pinned: 1 socket, {} cores x {} threads", plan.cpu.cores, plan.cpu.threads));
    ArgBlock& b = args.block(comment);
    add(b, {"-cpu", cpu_value(plan, opt)});
    add(b, {"-smp", fmt::format("{},sockets=1,dies=1,cores={},threads={}", plan.cpu.vcpu_count(), plan.cpu.cores,
                                plan.cpu.threads)});
  }
  {
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
                                     qemu_size(mem.kib), qesc(p.hugetlbfs), numa)});
      add(b, {"-machine", "memory-backend=mem"});
    } else if (mem.node) {
      add(b, {"-object", fmt::format("memory-backend-ram,id=mem,size={}{}", qemu_size(mem.kib), numa)});
      add(b, {"-machine", "memory-backend=mem"});
    }
    if (mem.nosharepages) add(b, {"-machine", "mem-merge=off"});
    if (mem.locked) add(b, {"-overcommit", "mem-lock=on"});
  }
  {
    ArgBlock& b =
        args.block({fmt::format("Clock: {}, the RTC catches up missed ticks{}",
                                plan.windows ? "local time (Windows)" : "UTC", kvm ? ", the PIT delays them" : "")});
    add(b, {"-rtc", fmt::format("base={},driftfix=slew", plan.windows ? "localtime" : "utc")});
    if (kvm) add(b, {"-global", "kvm-pit.lost_tick_policy=delay"});
  }
  if (direct) {
    ArgBlock& b = args.block({"Boot: this kernel directly (no firmware)"});
    add(b, {"-kernel", opt.kernel});
    if (!opt.initrd.empty()) add(b, {"-initrd", opt.initrd});
    if (!opt.cmdline.empty()) add(b, {"-append", opt.cmdline});
  } else if (plan.legacy) {
    // QEMU's own SeaBIOS: no firmware files to name.
  } else {
    ArgBlock& b =
        args.block({sb ? "Firmware: OVMF with Secure Boot (Microsoft keys enrolled; needs SMM), read-only, and this"
                       : "Firmware: OVMF (UEFI, no Secure Boot), read-only, and this",
                    "guest's own copy of the UEFI variables"});
    if (sb) add(b, {"-global", "driver=cfi.pflash01,property=secure,value=on"});
    add(b, {"-drive", fmt::format("if=pflash,format=raw,unit=0,file={},readonly=on", qesc(p.code))});
    add(b, {"-drive", fmt::format("if=pflash,format=raw,unit=1,file={}", qesc(p.vars))});
  }
  {
    ArgBlock& b = args.block({"I/O thread 1: disk I/O off the vCPUs and the main loop"});
    add(b, {"-object", "iothread,id=iothread1"});
  }
  disks(args, plan);
  {
    ArgBlock& b = args.block(
        {plan.legacy ? "USB controller: UHCI (Windows 7 and older have no xHCI driver)" : "USB 3 controller"});
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
  if (plan.root_ports > 0 && !plan.legacy) {
    ArgBlock& b = args.block({"PCIe root ports, one per passed host slot (rp1, rp2, ... like libvirt's indexes)"});
    for (int i = 1; i <= plan.root_ports; ++i) {
      add(b, {"-device", fmt::format("pcie-root-port,id=rp{},chassis={},bus=pcie.0", i, i)});
    }
  }
  network(args, plan, opt);
  if (!plan.passed.empty()) {
    ArgBlock& b = args.block({"Passed host functions (vfio-pci): a device's functions share one guest slot"});
    int n = 0;
    for (const auto& f : plan.passed) {
      std::string v = plan.legacy ? fmt::format("vfio-pci,host={},id=hostdev{},bus=pci.0,addr={:02x}.{}", f.host.str(),
                                                n++, 0x10 + f.guest_bus - 1, f.guest_function)
                                  : fmt::format("vfio-pci,host={},id=hostdev{},bus=rp{},addr=00.{}", f.host.str(), n++,
                                                f.guest_bus, f.guest_function);
      if (f.multifunction) v += ",multifunction=on";
      if (f.romfile) v += ",romfile=" + qesc(*f.romfile);
      add(b, {"-device", v});
    }
  }
  std::vector<std::string> evdev = qemu_evdev_args(plan.evdev, plan.spec.input.grab_toggle);
  if (!evdev.empty()) {
    ArgBlock& b = args.block({fmt::format("Keyboard and mouse by evdev: {} moves them between host and guest",
                                          grab_toggle_help(plan.spec.input.grab_toggle))});
    for (size_t i = 0; i + 1 < evdev.size(); i += 2) add(b, {evdev[i], evdev[i + 1]});
  }
  {
    ArgBlock& b = args.block({"Guest agent channel (qemu-guest-agent in the guest)"});
    add(b, {"-chardev", fmt::format("socket,id=qga0,path={},server=on,wait=off", qesc(p.qga))});
    add(b, {"-device", "virtio-serial-pci,id=virtio-serial0"});
    add(b, {"-device", "virtserialport,bus=virtio-serial0.0,nr=1,chardev=qga0,name=org.qemu.guest_agent.0"});
  }
  if (plan.spec.tpm) {
    ArgBlock& b = args.block({"TPM 2.0: the swtpm started above"});
    add(b, {"-chardev", fmt::format("socket,id=chrtpm,path={}", qesc(p.swtpm_sock))});
    add(b, {"-tpmdev", "emulator,id=tpm0,chardev=chrtpm"});
    add(b, {"-device", "tpm-crb,tpmdev=tpm0"});
  }
  if (plan.audio == AudioBackend::pulseaudio || plan.audio == AudioBackend::pipewire) {
    ArgBlock& b =
        args.block({"Sound: Intel HDA to the user's PulseAudio socket (PipeWire serves it through pipewire-pulse)"});
    add(b, {"-audiodev", fmt::format("pa,id=snd0,server=unix:{}", qesc(plan.audio_socket))});
    add(b, {"-device", "ich9-intel-hda,id=sound0"});
    add(b, {"-device", "hda-micro,audiodev=snd0"});
  } else if (plan.audio == AudioBackend::scream) {
    ArgBlock& b = args.block({fmt::format(
        "Sound: {} MiB of shared memory for the Scream receiver (/dev/shm/scream-ivshmem)", plan.scream_mib)});
    add(b, {"-object", fmt::format("memory-backend-file,id=scream,mem-path=/dev/shm/scream-ivshmem,size={}M,share=on",
                                   plan.scream_mib)});
    add(b, {"-device", "ivshmem-plain,memdev=scream"});
  }
  if (plan.looking_glass_mib > 0) {
    ArgBlock& b = args.block({fmt::format(
        "Looking Glass: {} MiB shared with the host's client (/dev/shm/looking-glass)", plan.looking_glass_mib)});
    add(b, {"-object",
            fmt::format("memory-backend-file,id=looking-glass,mem-path=/dev/shm/looking-glass,size={}M,share=on",
                        plan.looking_glass_mib)});
    add(b, {"-device", "ivshmem-plain,memdev=looking-glass"});
  }
  {
    bool gpu = any_gpu(plan);
    bool spice = !gpu && plan.spec.preset != Preset::linux_server;
    ArgBlock& b =
        args.block({gpu     ? "Display: the passed GPU's own outputs; no emulated video"
                    : spice ? "Display: virtio video through SPICE on a unix socket (remote-viewer spice+unix://SOCKET)"
                            : "Display: none (a server)"});
    add(b, {"-display", "none"});
    if (spice) {
      add(b, {"-device", plan.legacy ? "VGA,id=video0" : "virtio-vga,id=video0,max_outputs=1"});
      add(b, {"-spice", fmt::format("unix=on,addr={},disable-ticketing=on", qesc(p.spice))});
    }
    if (plan.spice_input) {
      // Looking Glass's client sends keyboard and mouse through SPICE.
      add(b, {"-spice", fmt::format("unix=on,addr={},disable-ticketing=on", qesc(p.spice))});
      add(b, {"-device", "virtio-keyboard-pci,id=input0"});
      add(b, {"-device", "virtio-mouse-pci,id=input1"});
      add(b, {"-chardev", "spicevmc,id=vdagent,name=vdagent"});
      add(b, {"-device", "virtserialport,bus=virtio-serial0.0,nr=2,chardev=vdagent,name=com.redhat.spice.0"});
    }
  }
  {
    ArgBlock& b =
        args.block({opt.serial_stdio ? "Serial console on this terminal (Ctrl-A C: QEMU's monitor; Ctrl-A X: quit)"
                                     : "Serial console to a file"});
    if (opt.serial_stdio) {
      add(b, {"-serial", "mon:stdio"});
    } else {
      add(b, {"-chardev", fmt::format("file,id=charserial0,path={}", qesc(p.serial))});
      add(b, {"-device", "isa-serial,chardev=charserial0,id=serial0"});
    }
  }
  if (mem.balloon) {
    ArgBlock& b = args.block({"Memory balloon (no device is passed)"});
    add(b, {"-device", "virtio-balloon-pci,id=balloon0"});
  }

  // ---- the pin command ----
  std::vector<std::string> vcpus;
  for (int c : plan.cpu.vcpus) vcpus.push_back(std::to_string(c));
  std::vector<std::string> pin = {"pin", "--qmp", p.qmp, "--vcpus", join(vcpus, ",")};
  if (!plan.cpu.emulator.empty()) {
    pin.push_back("--emulator");
    pin.push_back(format_cpulist(plan.cpu.emulator));
  }
  if (!plan.cpu.iothread.empty()) {
    pin.push_back("--iothread");
    pin.push_back(format_cpulist(plan.cpu.iothread));
  }
  pin.push_back("--resume");
  std::string pin_cmd = "\"$vfioctl\"";
  for (const auto& w : pin) pin_cmd += " " + q(w);

  // ---- the script ----
  std::string s;
  auto line = [&s](const std::string& l) { s += l + "\n"; };
  line("#!/usr/bin/env bash");
  line(fmt::format("# {}: {} guest written by vfioctl, for plain QEMU (no libvirt).", plan.name,
                   preset_name(plan.spec.preset)));
  line("# The same plan as the libvirt XML that `vfioctl new` writes:");
  line(fmt::format("#   {} vCPUs ({} cores x {} threads) on host CPUs {}", plan.cpu.vcpu_count(), plan.cpu.cores,
                   plan.cpu.threads, join(vcpus, ",")));
  if (!plan.cpu.emulator.empty() || !plan.cpu.iothread.empty()) {
    line(fmt::format("#   emulator threads on CPUs {}, iothread on CPUs {}", format_cpulist(plan.cpu.emulator),
                     format_cpulist(plan.cpu.iothread)));
  }
  if (mem.page_kib) {
    line(fmt::format("#   {} MiB on {} hugepages of {}", mem.kib / 1024, mem.pages, page_name(mem.page_kib)));
  } else {
    line(fmt::format("#   {} MiB", mem.kib / 1024));
  }
  for (const auto& f : plan.passed) {
    line(fmt::format("#   {} -> guest {:02x}:00.{}", f.host.str(), f.guest_bus, f.guest_function));
  }
  line("#");
  line("# Run it as root. It checks what QEMU needs, starts QEMU paused, pins its threads with");
  if (opt.serial_stdio) {
    line("# `vfioctl pin` and lets the guest run; QEMU stays in the foreground with the serial console.");
  } else {
    line("# `vfioctl pin` and lets the guest run in the background. Stop the guest with");
    line(fmt::format("#   kill \"$(cat {})\"", q(p.pidfile)));
  }
  line("# Files:");
  line(fmt::format("#   {}  QMP monitor", p.qmp));
  line(fmt::format("#   {}  QEMU's PID", p.pidfile));
  if (!opt.serial_stdio) line(fmt::format("#   {}  serial console", p.serial));
  if (!direct) line(fmt::format("#   {}  this guest's UEFI variables", p.vars));
  if (plan.spec.tpm) line(fmt::format("#   {}  TPM state", p.tpm_state));
  line("set -euo pipefail");
  line("");
  line(fmt::format("die() {{ echo {}\"$*\" >&2; exit 1; }}", q(plan.name + ": ")));
  line("");

  line("# --- Runtime directory; refuse a second copy of this guest ---");
  line(fmt::format("run_dir={}", q(p.run)));
  line(fmt::format("pidfile={}", q(p.pidfile)));
  line(fmt::format("qmp={}", q(p.qmp)));
  line("mkdir -p \"$run_dir\"");
  line("if [ -s \"$pidfile\" ] && kill -0 \"$(cat \"$pidfile\")\" 2>/dev/null; then");
  line("  die \"already running (pid $(cat \"$pidfile\")); stop it with: kill $(cat \"$pidfile\")\"");
  line("fi");
  line("rm -f \"$pidfile\" \"$qmp\"");
  line("");

  line("# --- Programs ---");
  line(fmt::format("qemu={}", q(opt.emulator)));
  line(fmt::format("vfioctl={}", q(opt.vfioctl)));
  line(fmt::format("command -v \"$qemu\" >/dev/null || die {}",
                   q(opt.emulator + " is missing (" + opt.distro.install("qemu") + ")")));
  line("command -v \"$vfioctl\" >/dev/null || die \"$vfioctl is missing: it pins the guest's threads\"");
  if (kvm) {
    line(
        "[ -w /dev/kvm ] || die \"/dev/kvm is missing or not writable: virtualization must be on ('vfioctl doctor')\"");
  }
  line("");

  if (mem.page_kib) {
    std::string kb = std::to_string(mem.page_kib) + "kB";
    std::string pool = mem.node ? fmt::format("/sys/devices/system/node/node{}/hugepages/hugepages-{}", *mem.node, kb)
                                : "/sys/kernel/mm/hugepages/hugepages-" + kb;
    line(fmt::format("# --- Hugepages: {} pages of {} free{}, on a hugetlbfs with that page size ---", mem.pages,
                     page_name(mem.page_kib), mem.node ? fmt::format(" on NUMA node {}", *mem.node) : ""));
    line(fmt::format("hugetlbfs={}", q(p.hugetlbfs)));
    line(fmt::format("hugepool={}", q(pool)));
    line(fmt::format("pages={}", mem.pages));
    line("[ \"$(stat -f -c %T \"$hugetlbfs\" 2>/dev/null || true)\" = hugetlbfs ] ||");
    line(
        fmt::format("  die \"no hugetlbfs at $hugetlbfs; mount one: mkdir -p $hugetlbfs && mount -t hugetlbfs -o "
                    "pagesize={} hugetlbfs $hugetlbfs\"",
                    page_option(mem.page_kib)));
    line(fmt::format("[ \"$(stat -f -c %S \"$hugetlbfs\")\" = {} ] ||", mem.page_kib * 1024));
    line(
        fmt::format("  die \"the hugetlbfs at $hugetlbfs has pages of $(stat -f -c %S \"$hugetlbfs\") bytes, not {}: "
                    "mount one with -o pagesize={}\"",
                    page_name(mem.page_kib), page_option(mem.page_kib)));
    line("free=$(cat \"$hugepool/free_hugepages\" 2>/dev/null || echo 0)");
    line("if [ \"$free\" -lt \"$pages\" ]; then");
    if (mem.page_kib >= 1048576) {
      line(
          fmt::format("  die \"$free free hugepages of {}, $pages needed: reserve them at boot (kernel arguments "
                      "default_hugepagesz=1G hugepagesz=1G hugepages=N; 'vfioctl doctor')\"",
                      page_name(mem.page_kib)));
    } else {
      line(
          fmt::format("  die \"$free free hugepages of {}, $pages needed: echo $(( $(cat \"$hugepool/nr_hugepages\") + "
                      "pages - free )) > $hugepool/nr_hugepages\"",
                      page_name(mem.page_kib)));
    }
    line("fi");
    line("");
  }

  if (!plan.passed.empty() || plan.net.vf) {
    std::vector<std::string> addrs;
    for (const auto& f : plan.passed) addrs.push_back(f.host.str());
    if (plan.net.vf) addrs.push_back(plan.net.vf->str());
    line("# --- Passed devices: each function must already be bound to vfio-pci ---");
    line("# (libvirt's managed='yes' would detach them; this script leaves the host's bindings alone)");
    line(fmt::format("for dev in {}; do", join(addrs, " ")));
    line("  sys=/sys/bus/pci/devices/$dev");
    line("  [ -e \"$sys\" ] || die \"$dev: no such PCI device\"");
    line("  drv=none");
    line("  [ -e \"$sys/driver\" ] && drv=$(basename \"$(readlink -f \"$sys/driver\")\")");
    line(
        "  [ \"$drv\" = vfio-pci ] || die \"$dev is bound to $drv, not vfio-pci; hand it over with: echo vfio-pci > "
        "$sys/driver_override; [ -e $sys/driver ] && echo $dev > $sys/driver/unbind; echo $dev > "
        "/sys/bus/pci/drivers_probe\"");
    line("done");
    line("");
  }

  bool any_disk_check = false;
  for (const auto& d : plan.disks) {
    if (!any_disk_check) {
      line("# --- Disks and install media must exist ---");
      any_disk_check = true;
    }
    std::string fix = d.cdrom ? "put the image there" : d.block ? "is the disk attached?" : "create it with qemu-img";
    for (const auto& img : plan.images) {
      if (img.path == d.source) fix = "create it: " + join(img.argv(), " ");
    }
    line(fmt::format("[ -e {} ] || die {}", q(d.source), q(fmt::format("{} is missing: {}", d.source, fix))));
  }
  for (const auto& i : plan.evdev) {
    if (!any_disk_check) {
      line("# --- Input devices must exist ---");
      any_disk_check = true;
    }
    line(fmt::format("[ -e {} ] || die {}", q(i.path), q(i.path + " is missing: is it plugged in? ('vfioctl evdev')")));
  }
  if (any_disk_check) line("");

  if (plan.spec.network.mode == NetworkSpec::Mode::bridge) {
    const std::string& br = plan.spec.network.bridge;
    line("# --- Network: the bridge must exist and qemu-bridge-helper may use it ---");
    line(fmt::format("[ -d /sys/class/net/{}/bridge ] || die {}", q(br), q(fmt::format("bridge {} is missing", br))));
    line(fmt::format("grep -qsE '^allow[[:space:]]+({}|all)[[:space:]]*$' /etc/qemu/bridge.conf ||", br));
    line(fmt::format("  die {}",
                     q(fmt::format("/etc/qemu/bridge.conf does not allow {}: add the line 'allow {}'", br, br))));
    line("");
  }

  if (plan.net.mode == NetworkSpec::Mode::macvtap) {
    const std::string& dev = plan.spec.network.dev;
    std::string tap = macvtap_name(plan);
    line(fmt::format("# --- Network: a macvtap device over {} for this guest, opened as descriptor 3 ---", dev));
    line(fmt::format("[ -e /sys/class/net/{} ] || die {}", q(dev), q(fmt::format("interface {} is missing", dev))));
    line(fmt::format("ip link del {} 2>/dev/null || true", tap));
    line(fmt::format("ip link add link {} name {} address {} type macvtap mode bridge ||", q(dev), tap,
                     script_mac(plan)));
    line(fmt::format("  die {}", q("cannot create the macvtap device " + tap + " over " + dev)));
    line(fmt::format("ip link set {} up", tap));
    line(fmt::format("exec 3<>\"/dev/tap$(cat /sys/class/net/{}/ifindex)\"", tap));
    line("");
  }

  if (!direct && !plan.legacy) {
    line("# --- UEFI: the firmware, and this guest's own variables (copied once from the template) ---");
    line(fmt::format("[ -r {} ] || die {}", q(p.code), q(p.code + " is missing (" + opt.distro.install("ovmf") + ")")));
    line(fmt::format("if [ ! -e {} ]; then", q(p.vars)));
    line(fmt::format("  [ -r {} ] || die {}", q(p.vars_template),
                     q(p.vars_template + " is missing (" + opt.distro.install("ovmf") + ")")));
    line(fmt::format("  mkdir -p {}", q(p.state)));
    line(fmt::format("  install -m 0600 {} {}", q(p.vars_template), q(p.vars)));
    line("fi");
    line("");
  }

  if (plan.spec.tpm) {
    line("# --- TPM 2.0 emulator: swtpm on a unix socket; it ends when QEMU closes the socket ---");
    line(fmt::format("command -v swtpm >/dev/null || die {}",
                     q("swtpm is missing (" + opt.distro.install("swtpm") + ")")));
    line(fmt::format("mkdir -p {}", q(p.tpm_state)));
    line(fmt::format("if [ ! -e {} ] && command -v swtpm_setup >/dev/null; then", q(p.tpm_state + "/tpm2-00.permall")));
    line("  # First start: manufacture the TPM (endorsement key and certificates), as libvirt does.");
    line(
        fmt::format("  swtpm_setup --tpm2 --tpmstate {} --createek --create-ek-cert --create-platform-cert "
                    "--lock-nvram --not-overwrite --logfile {} >/dev/null ||",
                    q(p.tpm_state), q(p.run + "/swtpm_setup.log")));
    line(fmt::format("    die {}", q("swtpm_setup failed; see " + p.run + "/swtpm_setup.log")));
    line("fi");
    line(fmt::format("if [ -s {} ] && kill -0 \"$(cat {})\" 2>/dev/null; then kill \"$(cat {})\"; sleep 0.2; fi",
                     q(p.swtpm_pid), q(p.swtpm_pid), q(p.swtpm_pid)));
    line(fmt::format("rm -f {}", q(p.swtpm_sock)));
    line(
        fmt::format("swtpm socket --tpm2 --tpmstate dir={} --ctrl type=unixio,path={} --terminate --daemon "
                    "--pid file={} --log file={}",
                    q(p.tpm_state), q(p.swtpm_sock), q(p.swtpm_pid), q(p.swtpm_log)));
    line("");
  }

  line("# --- Privileges: QEMU opens its devices, memory and files as root, then runs as the user who");
  line("# called sudo (or VFIOCTL_QEMU_USER): -run-with user= on QEMU 9.1 and later, -runas before ---");
  line("run_as=${VFIOCTL_QEMU_USER:-${SUDO_USER:-}}");
  line("drop=()");
  line("if [ -n \"$run_as\" ] && [ \"$run_as\" != root ]; then");
  line("  id -u \"$run_as\" >/dev/null 2>&1 || die \"no user $run_as to run QEMU as\"");
  line(
      "  read -r qemu_major qemu_minor < <(\"$qemu\" --version | sed -n '1s/.*version "
      "\\([0-9]*\\)\\.\\([0-9]*\\).*/\\1 \\2/p') || true");
  line(
      "  if [ \"${qemu_major:-0}\" -gt 9 ] || { [ \"${qemu_major:-0}\" -eq 9 ] && [ \"${qemu_minor:-0}\" -ge 1 ]; }; "
      "then");
  line("    drop=(-run-with \"user=$run_as\")");
  line("  else");
  line("    drop=(-runas \"$run_as\")");
  line("  fi");
  line("fi");
  line("");
  line("# --- QEMU ---");
  line("args=(");
  bool first = true;
  for (const auto& b : args.blocks()) {
    if (!first) line("");
    first = false;
    for (const auto& c : b.comment) line("  # " + c);
    for (const auto& words : b.lines) {
      std::string l = " ";
      for (const auto& w : words) l += " " + q(w);
      line(l);
    }
  }
  line(")");
  line("");

  if (opt.serial_stdio) {
    line("# --- Pinning: once QMP answers, pin every thread and let the guest run ---");
    line("# (in the background: QEMU takes this terminal; `exec` keeps its PID this script's, $$)");
    line("(");
    line("  for _ in $(seq 300); do [ -S \"$qmp\" ] && break; sleep 0.1; done");
    line("  if ! " + pin_cmd + " >&2; then");
    line("    echo " + q(plan.name + ": pinning failed; stopping QEMU") + " >&2");
    line("    kill $$");
    line("  fi");
    line(") &");
    line("exec \"$qemu\" \"${args[@]}\" \"${drop[@]}\"");
  } else {
    line("# Returns once QEMU runs (paused) in the background, its QMP socket listening.");
    line("\"$qemu\" \"${args[@]}\" \"${drop[@]}\"");
    line("");
    line("# --- Pinning: vCPU i to the i-th CPU, the iothread and every other thread to theirs; then run ---");
    line("if ! " + pin_cmd + "; then");
    line("  kill \"$(cat \"$pidfile\")\" 2>/dev/null || true");
    line("  die \"pinning failed; QEMU stopped\"");
    line("fi");
    line(fmt::format("echo {}\"$(cat \"$pidfile\")\"{}", q(plan.name + ": running, pid "),
                     q("; serial console: " + p.serial)));
  }
  return s;
}

}  // namespace vfioctl
