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

void Checks::virtualization() {
  section = "Virtualization";
  const auto& p = host.platform;
  const char* why = "KVM runs guests at native speed only with the CPU's virtualization extensions.";
  if (p.flags.empty()) {
    add("H001", "CPU virtualization extensions", Severity::skip, "CPU flags unknown (/proc/cpuinfo unreadable)", why,
        "", "/proc/cpuinfo");
  } else if (p.has_flag("vmx") || p.has_flag("svm")) {
    add("H001", "CPU virtualization extensions", Severity::pass,
        p.has_flag("vmx") ? "vmx (Intel VT-x) present" : "svm (AMD-V) present", why);
  } else if (p.has_flag("hypervisor")) {
    add("H001", "CPU virtualization extensions", Severity::fail,
        "neither vmx nor svm: this host is itself a virtual machine without nested virtualization", why,
        "enable nested virtualization in the outer hypervisor (or run on bare metal)", "/proc/cpuinfo");
  } else {
    add("H001", "CPU virtualization extensions", Severity::fail,
        "neither vmx nor svm in the CPU flags: virtualization is disabled in the firmware", why,
        amd() ? "enable \"SVM Mode\" in the firmware setup (UEFI: Advanced > CPU Configuration)"
              : "enable \"Intel Virtualization Technology\" (VT-x) in the firmware setup",
        "/proc/cpuinfo");
  }

  const char* kwhy =
      "QEMU and libvirt open /dev/kvm for hardware-accelerated guests; without it they fall back to slow emulation.";
  std::string kmod = amd() ? "kvm_amd" : intel() ? "kvm_intel" : "kvm_intel or kvm_amd";
  if (!p.kvm_device) {
    add("H002", "/dev/kvm", Severity::fail, "/dev/kvm does not exist", kwhy,
        p.has_flag("vmx") || p.has_flag("svm") ? "modprobe " + kmod + " (and check dmesg for why it did not load)"
                                               : "fix H001 first; then modprobe " + kmod,
        "/dev/kvm");
  } else if (!ctx.live) {
    add("H002", "/dev/kvm", Severity::pass, "present (whether this user may open it is checked only on a live host)",
        kwhy);
  } else if (ctx.kvm_usable == false) {
    add("H002", "/dev/kvm", Severity::fail, "present, but this user cannot open it read-write", kwhy,
        "usermod -aG kvm $USER, then log in again", "/dev/kvm");
  } else {
    add("H002", "/dev/kvm", Severity::pass, "present and usable", kwhy);
  }
}

void Checks::iommu() {
  section = "IOMMU";
  const auto& k = host.kernel;
  const auto& units = host.platform.iommu_units;
  const char* why = "Passthrough needs the IOMMU: it confines each device's DMA to its guest's memory.";
  std::vector<std::string> names;
  for (const auto& u : units) names.push_back(u.name);
  std::string disabling;
  for (const char* key : {"intel_iommu", "amd_iommu", "iommu"}) {
    if (auto v = k.arg(key); v && *v == "off") disabling = std::string(key) + "=off";
  }
  if (!disabling.empty()) {
    add("H003", "IOMMU enabled", Severity::fail, "the kernel command line turns it off with " + disabling, why,
        remove_kernel_arg(host, disabling), "/proc/cmdline");
  } else if (iommu_on()) {
    add("H003", "IOMMU enabled", Severity::pass,
        fmt::format("{} unit{} ({}), {} IOMMU groups", units.size(), units.size() == 1 ? "" : "s", join(names, ", "),
                    host.groups.size()),
        why);
  } else if (!units.empty()) {
    add("H003", "IOMMU enabled", Severity::fail,
        fmt::format("IOMMU units present ({}) but no IOMMU groups: DMA remapping is not on", join(names, ", ")), why,
        intel() ? add_kernel_arg(host, "intel_iommu=on") : "check dmesg for AMD-Vi or DMAR errors",
        "/sys/kernel/iommu_groups");
  } else if (intel()) {
    add("H003", "IOMMU enabled", Severity::fail, "no IOMMU units in /sys/class/iommu and no IOMMU groups", why,
        "enable VT-d (\"Intel Virtualization Technology for Directed I/O\") in the firmware setup, and " +
            add_kernel_arg(host, "intel_iommu=on"),
        "/sys/class/iommu");
  } else if (amd()) {
    add("H003", "IOMMU enabled", Severity::fail, "no IOMMU units in /sys/class/iommu and no IOMMU groups", why,
        "enable the IOMMU (\"IOMMU\" or \"AMD-Vi\", often next to SVM Mode) in the firmware setup; the kernel "
        "turns it on by itself on AMD, no argument is needed",
        "/sys/class/iommu");
  } else {
    add("H003", "IOMMU enabled", Severity::fail, "no IOMMU units in /sys/class/iommu and no IOMMU groups", why,
        "enable VT-d (Intel) or AMD-Vi (AMD) in the firmware setup; on Intel also " +
            add_kernel_arg(host, "intel_iommu=on"),
        "/sys/class/iommu");
  }

  // Arguments that do not do what the guides say.
  const char* awhy = "Only some IOMMU arguments exist; the others are silently ignored and hide the real setting.";
  std::vector<std::string> noops;
  if (auto v = k.arg("amd_iommu"); v && *v == "on") noops.push_back("amd_iommu=on");
  if (auto v = k.arg("iommu"); v && *v == "on") noops.push_back("iommu=on");
  if (!noops.empty()) {
    add("H004", "IOMMU kernel arguments", Severity::info,
        join(noops, " and ") + (noops.size() == 1 ? " is" : " are") + " not a real switch and does nothing" +
            (amd() ? " (AMD's IOMMU is on by default)" : ""),
        awhy, remove_kernel_arg(host, join(noops, " ")), "/proc/cmdline");
  } else if (intel() && iommu_on() && !k.arg("intel_iommu")) {
    add("H004", "IOMMU kernel arguments", Severity::info,
        "on without intel_iommu=on: this kernel enables the Intel IOMMU by default", awhy,
        "optional: " + add_kernel_arg(host, "intel_iommu=on") + " to keep it on with other kernels");
  } else if (intel() && !iommu_on() && !k.arg("intel_iommu")) {
    add("H004", "IOMMU kernel arguments", Severity::warn, "intel_iommu=on is missing", awhy,
        add_kernel_arg(host, "intel_iommu=on"), "/proc/cmdline");
  } else {
    add("H004", "IOMMU kernel arguments", Severity::pass,
        k.arg("intel_iommu") ? arg_text(k, "intel_iommu") : "no IOMMU argument needed", awhy);
  }

  const char* pwhy =
      "iommu=pt maps the host's own devices 1:1, avoiding translation overhead for them; guests are unaffected.";
  if (auto v = k.arg("iommu"); v && *v == "pt") {
    add("H005", "iommu=pt", Severity::pass, "iommu=pt is set", pwhy);
  } else {
    add("H005", "iommu=pt", Severity::info, "iommu=pt is not set (optional)", pwhy,
        "optional: " + add_kernel_arg(host, "iommu=pt"));
  }

  const char* rwhy =
      "Without interrupt remapping a guest can forge interrupts (MSI) to the host; VFIO then refuses devices unless "
      "allow_unsafe_interrupts is set.";
  const auto& sys = host.system;
  bool capable_known = !sys.dmar_ir_capable.empty();
  bool capable =
      std::any_of(sys.dmar_ir_capable.begin(), sys.dmar_ir_capable.end(), [](const auto& kv) { return kv.second; });
  if (!iommu_on()) {
    add("H006", "Interrupt remapping", Severity::skip, "needs the IOMMU (H003)", rwhy);
  } else if (!sys.remapped_irq_lines) {
    add("H006", "Interrupt remapping", Severity::skip, "/proc/interrupts unreadable", rwhy, "", "/proc/interrupts");
  } else if (*sys.remapped_irq_lines > 0) {
    add("H006", "Interrupt remapping", Severity::pass,
        fmt::format("in effect: {} interrupt lines go through a remapping chip (IR-)", *sys.remapped_irq_lines), rwhy);
  } else if (intel() && capable_known && !capable) {
    add("H006", "Interrupt remapping", Severity::warn, "the DMAR units cannot remap interrupts (ecap bit 3 clear)",
        rwhy,
        "use a platform with interrupt remapping; vfio_iommu_type1.allow_unsafe_interrupts=1 works around it "
        "at the cost of that protection",
        "/sys/class/iommu");
  } else {
    std::string off;
    for (const char* key : {"intremap", "nointremap"}) {
      if (auto v = k.arg(key); v && (std::string(key) == "nointremap" || *v == "off")) off = arg_text(k, key);
    }
    add("H006", "Interrupt remapping", Severity::warn,
        "the hardware can remap interrupts, but no interrupt goes through a remapping chip (no IR- in "
        "/proc/interrupts)",
        rwhy,
        off.empty() ? "check dmesg for 'DMAR-IR' or 'AMD-Vi: Interrupt remapping' messages; a firmware x2APIC opt-out "
                      "can disable it (try enabling x2APIC in the firmware setup)"
                    : remove_kernel_arg(host, off),
        "/proc/interrupts");
  }
}

void Checks::kernel_options() {
  section = "Kernel";
  const auto& k = host.kernel;
  const auto& sys = host.system;
  const char* mwhy = "vfio-pci claims devices for guests; vfio_iommu_type1 maps guest memory for their DMA.";
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
    add("H007", "VFIO modules", Severity::fail, "not available for this kernel: " + join(missing, ", "), mwhy,
        family() == "debian" && k.release && k.release->find("generic") != std::string::npos
            ? "apt install linux-modules-extra-" + *k.release
            : "install the modules package of the running kernel (or boot a kernel built with CONFIG_VFIO_PCI)",
        kdir);
  } else if (unknown) {
    add("H007", "VFIO modules", Severity::skip,
        "cannot tell: not loaded, and neither modules.builtin nor modules.dep is readable", mwhy, "", kdir);
  } else {
    add("H007", "VFIO modules", Severity::pass, join(states, "; "), mwhy);
  }

  const char* owhy =
      "The ACS override makes the kernel pretend devices are isolated when the hardware does not say so: devices in a "
      "split group can still reach each other by DMA.";
  if (k.arg("pcie_acs_override")) {
    bool stock = k.release &&
                 (k.release->find("-amd64") != std::string::npos || k.release->find("-generic") != std::string::npos ||
                  k.release->find("-cloud") != std::string::npos || k.release->find(".fc") != std::string::npos ||
                  k.release->find(".el") != std::string::npos);
    add("H008", "ACS override", Severity::warn,
        stock ? arg_text(k, "pcie_acs_override") + " is set, but this is a stock distribution kernel (" + *k.release +
                    ") without the ACS override patch: the option is not in effect"
              : arg_text(k, "pcie_acs_override") + " is set: IOMMU groups are split beyond what the hardware isolates",
        owhy, remove_kernel_arg(host, "pcie_acs_override") + "; pass whole groups instead (vfioctl list)",
        "/proc/cmdline");
  } else {
    add("H008", "ACS override", Severity::pass, "not set", owhy);
  }

  const char* uwhy =
      "allow_unsafe_interrupts lets VFIO assign devices without interrupt remapping: a guest can then inject "
      "interrupts into the host.";
  bool unsafe = false;
  if (auto it = k.params.find("vfio_iommu_type1"); it != k.params.end()) {
    if (auto p = it->second.find("allow_unsafe_interrupts"); p != it->second.end()) unsafe = truthy(p->second);
  }
  if (auto v = k.arg("vfio_iommu_type1.allow_unsafe_interrupts"); v && truthy(*v)) unsafe = true;
  if (unsafe) {
    add("H009", "Unsafe interrupts", Severity::warn, "vfio_iommu_type1 allow_unsafe_interrupts is on", uwhy,
        "remove allow_unsafe_interrupts (kernel command line or /etc/modprobe.d) unless H006 shows the platform "
        "cannot remap interrupts",
        "/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts");
  } else {
    add("H009", "Unsafe interrupts", Severity::pass, "allow_unsafe_interrupts is off", uwhy);
  }

  const char* dwhy =
      "Options for features removed from the kernel are ignored; they suggest a setup copied from an outdated guide.";
  if (k.arg("kvm.allow_unsafe_assigned_interrupts")) {
    add("H010", "Obsolete options", Severity::info,
        "kvm.allow_unsafe_assigned_interrupts does nothing: it belonged to KVM's legacy device assignment, "
        "removed from Linux in 4.12 (VFIO replaced it)",
        dwhy, remove_kernel_arg(host, "kvm.allow_unsafe_assigned_interrupts"), "/proc/cmdline");
  } else {
    add("H010", "Obsolete options", Severity::pass, "none on the kernel command line", dwhy);
  }

  const char* iwhy =
      "Windows guests can crash on model-specific registers KVM does not emulate; ignore_msrs makes KVM ignore them "
      "instead.";
  std::optional<std::string> im;
  if (auto it = k.params.find("kvm"); it != k.params.end()) {
    if (auto p = it->second.find("ignore_msrs"); p != it->second.end()) im = p->second;
  }
  if (!im) {
    add("H014", "kvm.ignore_msrs", Severity::skip, "the kvm module's parameters are not readable (kvm not loaded?)",
        iwhy);
  } else if (truthy(*im)) {
    add("H014", "kvm.ignore_msrs", Severity::info, "on", iwhy);
  } else {
    add("H014", "kvm.ignore_msrs", Severity::info, "off (the default); turn it on only if a Windows guest crashes",
        iwhy, "if needed: " + add_kernel_arg(host, "kvm.ignore_msrs=1 kvm.report_ignored_msrs=0"));
  }
}

void Checks::memory_and_cpu() {
  section = "Memory and CPU";
  const auto& mem = host.memory;
  const auto& p = host.platform;
  const char* hwhy = "Hugepages back guest memory with fewer TLB misses and keep it from being swapped or moved.";
  std::vector<std::string> pools;
  for (const auto& pool : mem.pools) {
    if (pool.node) continue;
    std::string size = size_text_kib(pool.page_kib, {.smallest = Unit::M, .spelled = true, .fit = Fit::reaches});
    pools.push_back(fmt::format("{}: {} reserved, {} free", size, pool.total.value_or(0), pool.free.value_or(0)));
  }
  std::string pool_text = pools.empty() ? "no hugepage pools" : join(pools, "; ");
  if (p.flags.empty()) {
    add("H011", "Hugepages", Severity::skip, "CPU flags unknown; " + pool_text, hwhy);
  } else if (p.has_flag("pdpe1gb")) {
    add("H011", "Hugepages", Severity::pass, "1 GiB pages supported (pdpe1gb); " + pool_text, hwhy);
  } else {
    add("H011", "Hugepages", Severity::info, "no 1 GiB pages on this CPU (no pdpe1gb): 2 MiB pages only; " + pool_text,
        hwhy);
  }

  const char* twhy =
      "Without reserved hugepages, transparent hugepages ('always' or 'madvise', which QEMU asks for) are what backs "
      "guest memory with large pages.";
  if (!mem.thp_enabled) {
    add("H012", "Transparent hugepages", Severity::skip, "mode unknown", twhy, "",
        "/sys/kernel/mm/transparent_hugepage/enabled");
  } else if (*mem.thp_enabled == "never") {
    add("H012", "Transparent hugepages", Severity::info, "never: guests without reserved hugepages get 4 KiB pages",
        twhy, "echo madvise > /sys/kernel/mm/transparent_hugepage/enabled (or transparent_hugepage=madvise)");
  } else {
    add("H012", "Transparent hugepages", Severity::pass, *mem.thp_enabled, twhy);
  }

  isolation();
  memlock();
  governor();
}

void Checks::isolation() {
  const auto& k = host.kernel;
  const char* why =
      "isolcpus, nohz_full and rcu_nocbs keep host work off guest cores; the host must keep CPU 0 and the sets should "
      "agree.";
  std::vector<std::string> bad;
  auto sets = cmdline_isolation(k, bad);
  if (!bad.empty()) {
    add("H013", "CPU isolation", Severity::fail, "unreadable CPU list in " + join(bad, ", "), why,
        "write CPU lists as the kernel does, e.g. isolcpus=2-7,10-15", "/proc/cmdline");
    return;
  }
  if (sets.empty()) {
    add("H013", "CPU isolation", Severity::info,
        "no CPUs isolated: pinning alone keeps guests on their cores; isolation only reduces jitter further", why);
    return;
  }
  std::vector<std::string> with_zero;
  for (const auto& [key, cpus] : sets) {
    if (std::find(cpus.begin(), cpus.end(), 0) != cpus.end()) with_zero.push_back(key);
  }
  std::vector<std::string> desc;
  for (const auto& [key, cpus] : sets) desc.push_back(key + "=" + format_cpulist(cpus));
  if (!with_zero.empty()) {
    add("H013", "CPU isolation", Severity::fail, join(with_zero, ", ") + " include CPU 0: " + join(desc, ", "), why,
        "leave CPU 0 (and its SMT sibling) to the host: take it out of " + join(with_zero, ", ") +
            " on the kernel command line (/etc/default/grub or /etc/kernel/cmdline), regenerate the boot "
            "configuration, reboot",
        "/proc/cmdline");
    return;
  }
  bool same = std::all_of(sets.begin(), sets.end(), [&](const auto& s) { return s.second == sets.front().second; });
  if (!same) {
    add("H013", "CPU isolation", Severity::warn, "the sets differ: " + join(desc, ", "), why,
        "give isolcpus, nohz_full and rcu_nocbs the same CPU list (the guest's pinned CPUs)", "/proc/cmdline");
    return;
  }
  add("H013", "CPU isolation", Severity::pass, join(desc, ", "), why);
}

void Checks::memlock() {
  const char* why =
      "VFIO pins all guest memory; a plain QEMU process needs a locked-memory limit as large as the guest (libvirt "
      "raises it itself).";
  if (!ctx.live) {
    add("H019", "Locked-memory limit", Severity::skip, "a live session's limit: run doctor on the host itself", why);
  } else if (ctx.root_user) {
    add("H019", "Locked-memory limit", Severity::pass, "running as root (CAP_IPC_LOCK): the limit does not apply", why);
  } else if (!ctx.memlock_bytes) {
    add("H019", "Locked-memory limit", Severity::skip, "unknown", why);
  } else if (*ctx.memlock_bytes < 0) {
    add("H019", "Locked-memory limit", Severity::pass, "unlimited", why);
  } else {
    long long mib = *ctx.memlock_bytes / (1024 * 1024);
    add("H019", "Locked-memory limit", mib < 1024 ? Severity::warn : Severity::info,
        fmt::format(
            "{} MiB for this user: enough for libvirt guests, too small for a plain QEMU guest larger than that", mib),
        why,
        "for plain QEMU: add '<user> hard memlock unlimited' and '<user> soft memlock unlimited' to "
        "/etc/security/limits.conf (or LimitMEMLOCK= in a systemd unit), log in again");
  }
}

void Checks::governor() {
  const char* why = "Frequency scaling adds latency when a guest core wakes; 'performance' keeps cores at speed.";
  const auto& g = host.system.governors;
  if (g.empty()) {
    add("H020", "CPU frequency governor", Severity::skip, "no cpufreq (a virtual machine, or no cpufreq driver)", why);
    return;
  }
  std::vector<std::string> parts;
  int others = 0;
  for (const auto& [name, n] : g) {
    parts.push_back(fmt::format("{}: {} CPU{}", name, n, n == 1 ? "" : "s"));
    if (name != "performance") others += n;
  }
  if (others == 0) {
    add("H020", "CPU frequency governor", Severity::pass, join(parts, ", "), why);
  } else {
    add("H020", "CPU frequency governor", Severity::info, join(parts, ", "), why,
        "for latency-sensitive guests: cpupower frequency-set -g performance");
  }
}

void Checks::guest_features() {
  section = "Guest features";
  const auto& k = host.kernel;
  const auto& sys = host.system;
  const char* vwhy = "vhost-net moves a virtio NIC's packets in the kernel; without it QEMU does, slower.";
  if (k.loaded.count("vhost_net") || k.builtin.count("vhost_net")) {
    add("H021", "vhost-net", Severity::pass, k.loaded.count("vhost_net") ? "vhost_net: loaded" : "vhost_net: built in",
        vwhy);
  } else if (sys.module_files.count("vhost_net")) {
    add("H021", "vhost-net", Severity::pass, "vhost_net: available (it loads when /dev/vhost-net is first opened)",
        vwhy);
  } else if (!k.builtin_known && !sys.module_files_known) {
    add("H021", "vhost-net", Severity::skip, "cannot tell: neither modules.builtin nor modules.dep is readable", vwhy);
  } else {
    add("H021", "vhost-net", Severity::warn, "vhost_net is not available for this kernel", vwhy,
        "install the kernel's modules package, or build it with CONFIG_VHOST_NET");
  }
  const char* nwhy = "A guest with nested = true runs guests of its own: KVM must pass vmx/svm on to it.";
  const char* module = k.loaded.count("kvm_amd") ? "kvm_amd" : k.loaded.count("kvm_intel") ? "kvm_intel" : nullptr;
  if (!module) {
    add("H022", "nested virtualization", Severity::skip, "neither kvm_intel nor kvm_amd is loaded", nwhy);
    return;
  }
  auto mp = k.params.find(module);
  std::optional<std::string> nested;
  if (mp != k.params.end() && mp->second.count("nested")) nested = mp->second.at("nested");
  if (nested && (*nested == "Y" || *nested == "1")) {
    add("H022", "nested virtualization", Severity::pass, std::string(module) + " nested: on", nwhy);
  } else {
    add("H022", "nested virtualization", Severity::info,
        std::string(module) + " nested: " + nested.value_or("unknown") + " (only guests with nested = true need it)",
        nwhy,
        fmt::format(
            "echo 'options {} nested=1' > /etc/modprobe.d/kvm-nested.conf, then reload {} with no guest running",
            module, module),
        "/sys/module/" + std::string(module) + "/parameters/nested");
  }
}

void Checks::software() {
  section = "Software";
  const auto& sys = host.system;
  const char* owhy = "Passthrough guests boot with UEFI firmware (OVMF); GPUs expect it, and Windows 11 requires it.";
  std::vector<std::string> skipped;
  auto plain = choose_firmware(sys.firmware, FirmwareNeed::uefi, &skipped);
  if (plain) {
    auto ms = choose_firmware(sys.firmware, FirmwareNeed::uefi_secure_ms);
    std::string secure = ms ? fmt::format("Secure Boot with Microsoft's keys: {} ({})", ms->code.path, ms->how())
                            : "no Secure Boot firmware with Microsoft's keys enrolled (Windows 11 guests need it)";
    add("H015", "OVMF (UEFI firmware)", Severity::pass,
        fmt::format("{}{} ({}); {}", plain->code.path, version("ovmf"), plain->how(), secure), owhy);
  } else {
    std::string msg =
        "no UEFI firmware for x86_64 q35: no firmware descriptor in /usr/share/qemu/firmware or "
        "/etc/qemu/firmware matches, and none of the distributions' known files exists";
    if (!skipped.empty()) msg += " (" + join(skipped, "; ") + ")";
    add("H015", "OVMF (UEFI firmware)", Severity::fail, msg, owhy, sys.distro.install("ovmf"));
  }
  const char* swhy = "swtpm emulates the TPM 2.0 that Windows 11 requires.";
  if (sys.tools.count("swtpm")) {
    add("H016", "swtpm (TPM emulator)", Severity::pass, sys.tools.at("swtpm") + version("swtpm"), swhy);
  } else {
    add("H016", "swtpm (TPM emulator)", Severity::warn, "not installed (needed for Windows 11 guests)", swhy,
        sys.distro.install("swtpm"));
  }
  const char* lwhy = "libvirt defines, starts and pins guests and sets their memory limits; vfioctl writes its XML.";
  if (sys.tools.count("libvirtd")) {
    add("H017", "libvirt", Severity::pass,
        sys.tools.at("libvirtd") + version("libvirt-daemon-system") +
            (sys.packages.count("libvirt-daemon-system") ? "" : version("libvirt-daemon")),
        lwhy);
  } else {
    add("H017", "libvirt", Severity::warn, "libvirtd not installed (plain QEMU scripts still work)", lwhy,
        sys.distro.install("libvirt"));
  }
  const char* qwhy = "QEMU runs the guest.";
  if (sys.tools.count("qemu")) {
    add("H018", "QEMU", Severity::pass, sys.tools.at("qemu") + version("qemu-system-x86") + version("qemu-kvm"), qwhy);
  } else {
    add("H018", "QEMU", Severity::fail, "qemu-system-x86_64 not installed", qwhy, sys.distro.install("qemu"));
  }
}

}  // namespace vfioctl::doctor_detail
