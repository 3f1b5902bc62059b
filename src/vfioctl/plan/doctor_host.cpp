// doctor's host-wide checks: virtualization, the IOMMU, kernel options,
// memory and CPUs, what day-one guests use, and the software.
#include "vfioctl/plan/doctor_checks.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "vfioctl/plan/cpu_plan.h"
#include "vfioctl/util/cpulist.h"
#include "vfioctl/util/strings.h"
#include "vfioctl/util/units.h"

namespace vfioctl::doctor_detail {

namespace {

std::string regenerate(const Host& host) {
  std::string family = host.system.distro.family();
  if (host.system.boot.proxmox) return "proxmox-boot-tool refresh";
  if (family == "fedora") return "grub2-mkconfig -o /boot/grub2/grub.cfg";
  if (family == "arch" || family == "alpine") return "grub-mkconfig -o /boot/grub/grub.cfg";
  return "update-grub";
}

}  // namespace

std::string add_kernel_arg(const Host& host, const std::string& arg) {
  std::string family = host.system.distro.family();
  const auto& boot = host.system.boot;
  if (boot.ostree) {
    return fmt::format("rpm-ostree kargs --append-if-missing={} (the next deployment gets it), then reboot", arg);
  }
  if (boot.kernel_cmdline) {
    return fmt::format("/etc/kernel/cmdline: append {} (\"{}\" -> \"{}\"), {}, then reboot", arg, *boot.kernel_cmdline,
                       trim(*boot.kernel_cmdline + " " + arg),
                       boot.proxmox ? "run 'proxmox-boot-tool refresh'"
                                    : "reinstall the kernel entries (kernel-install, or your distribution's hook)");
  }
  if (boot.grub_line) {
    std::string now = boot.grub_value;
    std::string next = now.empty() ? arg : now + " " + arg;
    return fmt::format("/etc/default/grub:{}: GRUB_CMDLINE_LINUX_DEFAULT=\"{}\" -> \"{}\", then run '{}' and reboot",
                       *boot.grub_line, now, next, regenerate(host));
  }
  if (boot.extlinux_line) {
    std::string now = boot.extlinux_value;
    std::string next = now.empty() ? arg : now + " " + arg;
    return fmt::format(
        "/etc/update-extlinux.conf:{}: default_kernel_opts=\"{}\" -> \"{}\", then run 'update-extlinux' and reboot",
        *boot.extlinux_line, now, next);
  }
  if (family == "fedora") return fmt::format("grubby --update-kernel=ALL --args='{}', then reboot", arg);
  if (family == "alpine") {
    return fmt::format(
        "add {} to default_kernel_opts in /etc/update-extlinux.conf and run 'update-extlinux' (GRUB: "
        "GRUB_CMDLINE_LINUX_DEFAULT in /etc/default/grub, then 'grub-mkconfig -o /boot/grub/grub.cfg'), then reboot",
        arg);
  }
  return fmt::format(
      "add {} to GRUB_CMDLINE_LINUX_DEFAULT in /etc/default/grub and run '{}' (systemd-boot: add it to "
      "/etc/kernel/cmdline), then reboot",
      arg, regenerate(host));
}

std::string remove_kernel_arg(const Host& host, const std::string& arg) {
  const auto& boot = host.system.boot;
  if (boot.ostree) return fmt::format("rpm-ostree kargs --delete-if-present={}, then reboot", arg);
  if (boot.grub_line && boot.grub_value.find(arg) != std::string::npos) {
    return fmt::format(
        "/etc/default/grub:{}: take {} out of GRUB_CMDLINE_LINUX_DEFAULT=\"{}\", then run '{}' and reboot",
        *boot.grub_line, arg, boot.grub_value, regenerate(host));
  }
  if (boot.extlinux_line && boot.extlinux_value.find(arg) != std::string::npos) {
    return fmt::format(
        "/etc/update-extlinux.conf:{}: take {} out of default_kernel_opts=\"{}\", then run 'update-extlinux' and "
        "reboot",
        *boot.extlinux_line, arg, boot.extlinux_value);
  }
  if (boot.kernel_cmdline && boot.kernel_cmdline->find(arg) != std::string::npos) {
    return fmt::format("/etc/kernel/cmdline: take {} out, {}, then reboot", arg,
                       boot.proxmox ? "run 'proxmox-boot-tool refresh'" : "reinstall the kernel entries");
  }
  return fmt::format(
      "remove {} from the kernel command line (GRUB_CMDLINE_LINUX_DEFAULT in /etc/default/grub, or "
      "/etc/kernel/cmdline; it may also come from a boot entry), regenerate the boot configuration, reboot",
      arg);
}

// "key" or "key=value" as written on the command line, for messages.
namespace {

std::string arg_text(const Kernel& k, const std::string& key) {
  auto v = k.arg(key);
  if (!v) return key;
  return v->empty() ? key : key + "=" + *v;
}

bool truthy(std::string_view v) {
  v = trim(v);
  return v == "1" || v == "Y" || v == "y" || v == "on" || v == "true";
}

}  // namespace

void check_cpu_virtualization(const HostFacts& f, CheckOut& out) {
  const auto& p = f.host.platform;
  if (p.flags.empty()) {
    out.add(Severity::skip, "CPU flags unknown (/proc/cpuinfo unreadable)", "", "/proc/cpuinfo");
  } else if (p.has_flag("vmx") || p.has_flag("svm")) {
    out.add(Severity::pass, p.has_flag("vmx") ? "vmx (Intel VT-x) present" : "svm (AMD-V) present");
  } else if (p.has_flag("hypervisor")) {
    out.add(Severity::fail, "neither vmx nor svm: this host is itself a virtual machine without nested virtualization",
            "enable nested virtualization in the outer hypervisor (or run on bare metal)", "/proc/cpuinfo");
  } else {
    out.add(Severity::fail, "neither vmx nor svm in the CPU flags: virtualization is disabled in the firmware",
            f.amd() ? "enable \"SVM Mode\" in the firmware setup (UEFI: Advanced > CPU Configuration)"
                    : "enable \"Intel Virtualization Technology\" (VT-x) in the firmware setup",
            "/proc/cpuinfo");
  }
}

void check_kvm_device(const HostFacts& f, CheckOut& out) {
  const auto& p = f.host.platform;
  std::string kmod = f.amd() ? "kvm_amd" : f.intel() ? "kvm_intel" : "kvm_intel or kvm_amd";
  if (!p.kvm_device) {
    out.add(Severity::fail, "/dev/kvm does not exist",
            p.has_flag("vmx") || p.has_flag("svm") ? "modprobe " + kmod + " (and check dmesg for why it did not load)"
                                                   : "fix H001 first; then modprobe " + kmod,
            "/dev/kvm");
  } else if (!f.ctx.live) {
    out.add(Severity::pass, "present (whether this user may open it is checked only on a live host)");
  } else if (f.ctx.kvm_usable == false) {
    out.add(Severity::fail, "present, but this user cannot open it read-write",
            "usermod -aG kvm $USER, then log in again", "/dev/kvm");
  } else {
    out.add(Severity::pass, "present and usable");
  }
}

void check_iommu_enabled(const HostFacts& f, CheckOut& out) {
  const auto& k = f.host.kernel;
  const auto& units = f.host.platform.iommu_units;
  std::vector<std::string> names;
  for (const auto& u : units) names.push_back(u.name);
  std::string disabling;
  for (const char* key : {"intel_iommu", "amd_iommu", "iommu"}) {
    if (auto v = k.arg(key); v && *v == "off") disabling = std::string(key) + "=off";
  }
  if (!disabling.empty()) {
    out.add(Severity::fail, "the kernel command line turns it off with " + disabling,
            remove_kernel_arg(f.host, disabling), "/proc/cmdline");
  } else if (f.iommu_on()) {
    out.add(Severity::pass, fmt::format("{} unit{} ({}), {} IOMMU groups", units.size(), units.size() == 1 ? "" : "s",
                                        join(names, ", "), f.host.groups.size()));
  } else if (!units.empty()) {
    out.add(Severity::fail,
            fmt::format("IOMMU units present ({}) but no IOMMU groups: DMA remapping is not on", join(names, ", ")),
            f.intel() ? add_kernel_arg(f.host, "intel_iommu=on") : "check dmesg for AMD-Vi or DMAR errors",
            "/sys/kernel/iommu_groups");
  } else if (f.intel()) {
    out.add(Severity::fail, "no IOMMU units in /sys/class/iommu and no IOMMU groups",
            "enable VT-d (\"Intel Virtualization Technology for Directed I/O\") in the firmware setup, and " +
                add_kernel_arg(f.host, "intel_iommu=on"),
            "/sys/class/iommu");
  } else if (f.amd()) {
    out.add(Severity::fail, "no IOMMU units in /sys/class/iommu and no IOMMU groups",
            "enable the IOMMU (\"IOMMU\" or \"AMD-Vi\", often next to SVM Mode) in the firmware setup; the kernel "
            "turns it on by itself on AMD, no argument is needed",
            "/sys/class/iommu");
  } else {
    out.add(Severity::fail, "no IOMMU units in /sys/class/iommu and no IOMMU groups",
            "enable VT-d (Intel) or AMD-Vi (AMD) in the firmware setup; on Intel also " +
                add_kernel_arg(f.host, "intel_iommu=on"),
            "/sys/class/iommu");
  }
}

void check_iommu_args(const HostFacts& f, CheckOut& out) {
  const auto& k = f.host.kernel;
  // Arguments that do not do what the guides say.
  std::vector<std::string> noops;
  if (auto v = k.arg("amd_iommu"); v && *v == "on") noops.push_back("amd_iommu=on");
  if (auto v = k.arg("iommu"); v && *v == "on") noops.push_back("iommu=on");
  if (!noops.empty()) {
    out.add(Severity::info,
            join(noops, " and ") + (noops.size() == 1 ? " is" : " are") + " not a real switch and does nothing" +
                (f.amd() ? " (AMD's IOMMU is on by default)" : ""),
            remove_kernel_arg(f.host, join(noops, " ")), "/proc/cmdline");
  } else if (f.intel() && f.iommu_on() && !k.arg("intel_iommu")) {
    out.add(Severity::info, "on without intel_iommu=on: this kernel enables the Intel IOMMU by default",
            "optional: " + add_kernel_arg(f.host, "intel_iommu=on") + " to keep it on with other kernels");
  } else if (f.intel() && !f.iommu_on() && !k.arg("intel_iommu")) {
    out.add(Severity::warn, "intel_iommu=on is missing", add_kernel_arg(f.host, "intel_iommu=on"), "/proc/cmdline");
  } else {
    out.add(Severity::pass, k.arg("intel_iommu") ? arg_text(k, "intel_iommu") : "no IOMMU argument needed");
  }
}

void check_iommu_pt(const HostFacts& f, CheckOut& out) {
  const auto& k = f.host.kernel;
  if (auto v = k.arg("iommu"); v && *v == "pt") {
    out.add(Severity::pass, "iommu=pt is set");
  } else {
    out.add(Severity::info, "iommu=pt is not set (optional)", "optional: " + add_kernel_arg(f.host, "iommu=pt"));
  }
}

void check_interrupt_remapping(const HostFacts& f, CheckOut& out) {
  const auto& k = f.host.kernel;
  const auto& sys = f.host.system;
  bool capable_known = !sys.dmar_ir_capable.empty();
  bool capable =
      std::any_of(sys.dmar_ir_capable.begin(), sys.dmar_ir_capable.end(), [](const auto& kv) { return kv.second; });
  if (!f.iommu_on()) {
    out.add(Severity::skip, "needs the IOMMU (H003)");
  } else if (!sys.remapped_irq_lines) {
    out.add(Severity::skip, "/proc/interrupts unreadable", "", "/proc/interrupts");
  } else if (*sys.remapped_irq_lines > 0) {
    out.add(Severity::pass,
            fmt::format("in effect: {} interrupt lines go through a remapping chip (IR-)", *sys.remapped_irq_lines));
  } else if (f.intel() && capable_known && !capable) {
    out.add(Severity::warn, "the DMAR units cannot remap interrupts (ecap bit 3 clear)",
            "use a platform with interrupt remapping; vfio_iommu_type1.allow_unsafe_interrupts=1 works around it "
            "at the cost of that protection",
            "/sys/class/iommu");
  } else {
    std::string off;
    for (const char* key : {"intremap", "nointremap"}) {
      if (auto v = k.arg(key); v && (std::string(key) == "nointremap" || *v == "off")) off = arg_text(k, key);
    }
    out.add(Severity::warn,
            "the hardware can remap interrupts, but no interrupt goes through a remapping chip (no IR- in "
            "/proc/interrupts)",
            off.empty()
                ? "check dmesg for 'DMAR-IR' or 'AMD-Vi: Interrupt remapping' messages; a firmware x2APIC opt-out "
                  "can disable it (try enabling x2APIC in the firmware setup)"
                : remove_kernel_arg(f.host, off),
            "/proc/interrupts");
  }
}

void check_vfio_modules(const HostFacts& f, CheckOut& out) {
  const auto& k = f.host.kernel;
  const auto& sys = f.host.system;
  std::vector<std::string> states, missing;
  bool unknown = false;
  for (const char* m : {"vfio", "vfio_pci", "vfio_iommu_type1"}) {
    if (k.loaded.count(m))
      states.push_back(std::string(m) + ": loaded");
    else if (k.builtin.count(m))
      states.push_back(std::string(m) + ": built in");
    else if (sys.module_files.count(m))
      states.push_back(std::string(m) + ": available");
    else if (!k.builtin_known && !sys.module_files_known)
      unknown = true;
    else
      missing.push_back(m);
  }
  std::string kdir = "/lib/modules/" + k.release.value_or("RELEASE");
  if (!missing.empty()) {
    out.add(Severity::fail, "not available for this kernel: " + join(missing, ", "),
            f.family() == "debian" && k.release && k.release->find("generic") != std::string::npos
                ? "apt install linux-modules-extra-" + *k.release
                : "install the modules package of the running kernel (or boot a kernel built with CONFIG_VFIO_PCI)",
            kdir);
  } else if (unknown) {
    out.add(Severity::skip, "cannot tell: not loaded, and neither modules.builtin nor modules.dep is readable", "",
            kdir);
  } else {
    out.add(Severity::pass, join(states, "; "));
  }
}

void check_acs_override(const HostFacts& f, CheckOut& out) {
  const auto& k = f.host.kernel;
  if (k.arg("pcie_acs_override")) {
    bool stock = k.release &&
                 (k.release->find("-amd64") != std::string::npos || k.release->find("-generic") != std::string::npos ||
                  k.release->find("-cloud") != std::string::npos || k.release->find(".fc") != std::string::npos ||
                  k.release->find(".el") != std::string::npos);
    out.add(
        Severity::warn,
        stock ? arg_text(k, "pcie_acs_override") + " is set, but this is a stock distribution kernel (" + *k.release +
                    ") without the ACS override patch: the option is not in effect"
              : arg_text(k, "pcie_acs_override") + " is set: IOMMU groups are split beyond what the hardware isolates",
        remove_kernel_arg(f.host, "pcie_acs_override") + "; pass whole groups instead (vfioctl list)", "/proc/cmdline");
  } else {
    out.add(Severity::pass, "not set");
  }
}

void check_unsafe_interrupts(const HostFacts& f, CheckOut& out) {
  const auto& k = f.host.kernel;
  bool unsafe = false;
  if (auto it = k.params.find("vfio_iommu_type1"); it != k.params.end()) {
    if (auto p = it->second.find("allow_unsafe_interrupts"); p != it->second.end()) unsafe = truthy(p->second);
  }
  if (auto v = k.arg("vfio_iommu_type1.allow_unsafe_interrupts"); v && truthy(*v)) unsafe = true;
  if (unsafe) {
    out.add(Severity::warn, "vfio_iommu_type1 allow_unsafe_interrupts is on",
            "remove allow_unsafe_interrupts (kernel command line or /etc/modprobe.d) unless H006 shows the platform "
            "cannot remap interrupts",
            "/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts");
  } else {
    out.add(Severity::pass, "allow_unsafe_interrupts is off");
  }
}

void check_obsolete_options(const HostFacts& f, CheckOut& out) {
  const auto& k = f.host.kernel;
  if (k.arg("kvm.allow_unsafe_assigned_interrupts")) {
    out.add(Severity::info,
            "kvm.allow_unsafe_assigned_interrupts does nothing: it belonged to KVM's legacy device assignment, "
            "removed from Linux in 4.12 (VFIO replaced it)",
            remove_kernel_arg(f.host, "kvm.allow_unsafe_assigned_interrupts"), "/proc/cmdline");
  } else {
    out.add(Severity::pass, "none on the kernel command line");
  }
}

void check_ignore_msrs(const HostFacts& f, CheckOut& out) {
  const auto& k = f.host.kernel;
  std::optional<std::string> im;
  if (auto it = k.params.find("kvm"); it != k.params.end()) {
    if (auto p = it->second.find("ignore_msrs"); p != it->second.end()) im = p->second;
  }
  if (!im) {
    out.add(Severity::skip, "the kvm module's parameters are not readable (kvm not loaded?)");
  } else if (truthy(*im)) {
    out.add(Severity::info, "on");
  } else {
    out.add(Severity::info, "off (the default); turn it on only if a Windows guest crashes",
            "if needed: " + add_kernel_arg(f.host, "kvm.ignore_msrs=1 kvm.report_ignored_msrs=0"));
  }
}

void check_hugepages(const HostFacts& f, CheckOut& out) {
  const auto& mem = f.host.memory;
  const auto& p = f.host.platform;
  std::vector<std::string> pools;
  for (const auto& pool : mem.pools) {
    if (pool.node) continue;
    std::string size = size_text_kib(pool.page_kib, {.smallest = Unit::M, .spelled = true, .fit = Fit::reaches});
    pools.push_back(fmt::format("{}: {} reserved, {} free", size, pool.total.value_or(0), pool.free.value_or(0)));
  }
  std::string pool_text = pools.empty() ? "no hugepage pools" : join(pools, "; ");
  if (p.flags.empty()) {
    out.add(Severity::skip, "CPU flags unknown; " + pool_text);
  } else if (p.has_flag("pdpe1gb")) {
    out.add(Severity::pass, "1 GiB pages supported (pdpe1gb); " + pool_text);
  } else {
    out.add(Severity::info, "no 1 GiB pages on this CPU (no pdpe1gb): 2 MiB pages only; " + pool_text);
  }
}

void check_thp(const HostFacts& f, CheckOut& out) {
  const auto& mem = f.host.memory;
  if (!mem.thp_enabled) {
    out.add(Severity::skip, "mode unknown", "", "/sys/kernel/mm/transparent_hugepage/enabled");
  } else if (*mem.thp_enabled == "never") {
    out.add(Severity::info, "never: guests without reserved hugepages get 4 KiB pages",
            "echo madvise > /sys/kernel/mm/transparent_hugepage/enabled (or transparent_hugepage=madvise)");
  } else {
    out.add(Severity::pass, *mem.thp_enabled);
  }
}

void check_isolation(const HostFacts& f, CheckOut& out) {
  const auto& k = f.host.kernel;
  std::vector<std::string> bad;
  auto sets = cmdline_isolation(k, bad);
  if (!bad.empty()) {
    out.add(Severity::fail, "unreadable CPU list in " + join(bad, ", "),
            "write CPU lists as the kernel does, e.g. isolcpus=2-7,10-15", "/proc/cmdline");
    return;
  }
  if (sets.empty()) {
    out.add(Severity::info,
            "no CPUs isolated: pinning alone keeps guests on their cores; isolation only reduces jitter further");
    return;
  }
  std::vector<std::string> with_zero;
  for (const auto& [key, cpus] : sets) {
    if (std::find(cpus.begin(), cpus.end(), 0) != cpus.end()) with_zero.push_back(key);
  }
  std::vector<std::string> desc;
  for (const auto& [key, cpus] : sets) desc.push_back(key + "=" + format_cpulist(cpus));
  if (!with_zero.empty()) {
    out.add(Severity::fail, join(with_zero, ", ") + " include CPU 0: " + join(desc, ", "),
            "leave CPU 0 (and its SMT sibling) to the host: take it out of " + join(with_zero, ", ") +
                " on the kernel command line (/etc/default/grub or /etc/kernel/cmdline), regenerate the boot "
                "configuration, reboot",
            "/proc/cmdline");
    return;
  }
  bool same = std::all_of(sets.begin(), sets.end(), [&](const auto& s) { return s.second == sets.front().second; });
  if (!same) {
    out.add(Severity::warn, "the sets differ: " + join(desc, ", "),
            "give isolcpus, nohz_full and rcu_nocbs the same CPU list (the guest's pinned CPUs)", "/proc/cmdline");
    return;
  }
  out.add(Severity::pass, join(desc, ", "));
}

void check_memlock(const HostFacts& f, CheckOut& out) {
  if (!f.ctx.live) {
    out.add(Severity::skip, "a live session's limit: run doctor on the host itself");
  } else if (f.ctx.root_user) {
    out.add(Severity::pass, "running as root (CAP_IPC_LOCK): the limit does not apply");
  } else if (!f.ctx.memlock_bytes) {
    out.add(Severity::skip, "unknown");
  } else if (*f.ctx.memlock_bytes < 0) {
    out.add(Severity::pass, "unlimited");
  } else {
    long long mib = *f.ctx.memlock_bytes / (1024 * 1024);
    out.add(
        mib < 1024 ? Severity::warn : Severity::info,
        fmt::format(
            "{} MiB for this user: enough for libvirt guests, too small for a plain QEMU guest larger than that", mib),
        "for plain QEMU: add '<user> hard memlock unlimited' and '<user> soft memlock unlimited' to "
        "/etc/security/limits.conf (or LimitMEMLOCK= in a systemd unit), log in again");
  }
}

void check_governor(const HostFacts& f, CheckOut& out) {
  const auto& g = f.host.system.governors;
  if (g.empty()) {
    out.add(Severity::skip, "no cpufreq (a virtual machine, or no cpufreq driver)");
    return;
  }
  std::vector<std::string> parts;
  int others = 0;
  for (const auto& [name, n] : g) {
    parts.push_back(fmt::format("{}: {} CPU{}", name, n, n == 1 ? "" : "s"));
    if (name != "performance") others += n;
  }
  if (others == 0) {
    out.add(Severity::pass, join(parts, ", "));
  } else {
    out.add(Severity::info, join(parts, ", "), "for latency-sensitive guests: cpupower frequency-set -g performance");
  }
}

void check_vhost_net(const HostFacts& f, CheckOut& out) {
  const auto& k = f.host.kernel;
  const auto& sys = f.host.system;
  if (k.loaded.count("vhost_net") || k.builtin.count("vhost_net")) {
    out.add(Severity::pass, k.loaded.count("vhost_net") ? "vhost_net: loaded" : "vhost_net: built in");
  } else if (sys.module_files.count("vhost_net")) {
    out.add(Severity::pass, "vhost_net: available (it loads when /dev/vhost-net is first opened)");
  } else if (!k.builtin_known && !sys.module_files_known) {
    out.add(Severity::skip, "cannot tell: neither modules.builtin nor modules.dep is readable");
  } else {
    out.add(Severity::warn, "vhost_net is not available for this kernel",
            "install the kernel's modules package, or build it with CONFIG_VHOST_NET");
  }
}

void check_nested(const HostFacts& f, CheckOut& out) {
  const auto& k = f.host.kernel;
  const char* module = k.loaded.count("kvm_amd") ? "kvm_amd" : k.loaded.count("kvm_intel") ? "kvm_intel" : nullptr;
  if (!module) {
    out.add(Severity::skip, "neither kvm_intel nor kvm_amd is loaded");
    return;
  }
  auto mp = k.params.find(module);
  std::optional<std::string> nested;
  if (mp != k.params.end() && mp->second.count("nested")) nested = mp->second.at("nested");
  if (nested && (*nested == "Y" || *nested == "1")) {
    out.add(Severity::pass, std::string(module) + " nested: on");
  } else {
    out.add(
        Severity::info,
        std::string(module) + " nested: " + nested.value_or("unknown") + " (only guests with nested = true need it)",
        fmt::format(
            "echo 'options {} nested=1' > /etc/modprobe.d/kvm-nested.conf, then reload {} with no guest running",
            module, module),
        "/sys/module/" + std::string(module) + "/parameters/nested");
  }
}

void check_ovmf(const HostFacts& f, CheckOut& out) {
  const auto& sys = f.host.system;
  std::vector<std::string> skipped;
  auto plain = choose_firmware(sys.firmware, FirmwareNeed::uefi, &skipped);
  if (plain) {
    auto ms = choose_firmware(sys.firmware, FirmwareNeed::uefi_secure_ms);
    std::string secure = ms ? fmt::format("Secure Boot with Microsoft's keys: {} ({})", ms->code.path, ms->how())
                            : "no Secure Boot firmware with Microsoft's keys enrolled (Windows 11 guests need it)";
    out.add(Severity::pass, fmt::format("{}{} ({}); {}", plain->code.path, f.version("ovmf"), plain->how(), secure));
  } else {
    std::string msg =
        "no UEFI firmware for x86_64 q35: no firmware descriptor in /usr/share/qemu/firmware or "
        "/etc/qemu/firmware matches, and none of the distributions' known files exists";
    if (!skipped.empty()) msg += " (" + join(skipped, "; ") + ")";
    out.add(Severity::fail, msg, sys.distro.install("ovmf"));
  }
}

void check_swtpm(const HostFacts& f, CheckOut& out) {
  const auto& sys = f.host.system;
  if (sys.tools.count("swtpm")) {
    out.add(Severity::pass, sys.tools.at("swtpm") + f.version("swtpm"));
  } else {
    out.add(Severity::warn, "not installed (needed for Windows 11 guests)", sys.distro.install("swtpm"));
  }
}

void check_libvirt(const HostFacts& f, CheckOut& out) {
  const auto& sys = f.host.system;
  if (sys.tools.count("libvirtd")) {
    out.add(Severity::pass, sys.tools.at("libvirtd") + f.version("libvirt-daemon-system") +
                                (sys.packages.count("libvirt-daemon-system") ? "" : f.version("libvirt-daemon")));
  } else {
    out.add(Severity::warn, "libvirtd not installed (plain QEMU scripts still work)", sys.distro.install("libvirt"));
  }
}

void check_qemu(const HostFacts& f, CheckOut& out) {
  const auto& sys = f.host.system;
  if (sys.tools.count("qemu")) {
    out.add(Severity::pass, sys.tools.at("qemu") + f.version("qemu-system-x86") + f.version("qemu-kvm"));
  } else {
    out.add(Severity::fail, "qemu-system-x86_64 not installed", sys.distro.install("qemu"));
  }
}

}  // namespace vfioctl::doctor_detail
