// The part of the QEMU script that runs before QEMU: what libvirt would
// otherwise take care of (the runtime directory, programs, hugepages,
// vfio-pci bindings, files, the bridge or macvtap device, OVMF variables,
// swtpm, dropping root), each stopping with the fix for this host.
#include <fmt/format.h>

#include <algorithm>

#include "vfioctl/guest/libvirt_xml.h"
#include "vfioctl/guest/qemu_args.h"
#include "vfioctl/plan/memory_plan.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::qemu {

void check_run_dir(Script& s, const ScriptContext& c) {
  s.line("# --- Runtime directory; refuse a second copy of this guest ---");
  s.line(fmt::format("run_dir={}", shell_quote(c.p.run)));
  s.line(fmt::format("pidfile={}", shell_quote(c.p.pidfile)));
  s.line(fmt::format("qmp={}", shell_quote(c.p.qmp)));
  s.line("mkdir -p \"$run_dir\"");
  s.line("if [ -s \"$pidfile\" ] && kill -0 \"$(cat \"$pidfile\")\" 2>/dev/null; then");
  s.line("  die \"already running (pid $(cat \"$pidfile\")); stop it with: kill $(cat \"$pidfile\")\"");
  s.line("fi");
  s.line("rm -f \"$pidfile\" \"$qmp\"");
  s.line("");
}

void check_programs(Script& s, const ScriptContext& c) {
  const QemuOptions& opt = c.opt;
  s.line("# --- Programs ---");
  s.line(fmt::format("qemu={}", shell_quote(opt.emulator)));
  s.line(fmt::format("vfioctl={}", shell_quote(opt.vfioctl)));
  s.line(fmt::format("command -v \"$qemu\" >/dev/null || die {}",
                     shell_quote(opt.emulator + " is missing (" + opt.distro.install("qemu") + ")")));
  s.line("command -v \"$vfioctl\" >/dev/null || die \"$vfioctl is missing: it pins the guest's threads\"");
  if (c.kvm) {
    s.line(
        "[ -w /dev/kvm ] || die \"/dev/kvm is missing or not writable: virtualization must be on ('vfioctl doctor')\"");
  }
  s.line("");
}

bool tunes_hugepages(const GuestPlan& plan) {
  auto actions = tune_actions(plan);
  return std::find(actions.begin(), actions.end(), "hugepages") != actions.end();
}

void check_hugepages(Script& s, const ScriptContext& c) {
  const auto& mem = c.plan.memory;
  if (!mem.page_kib) return;
  std::string kb = std::to_string(mem.page_kib) + "kB";
  std::string pool = mem.node ? fmt::format("/sys/devices/system/node/node{}/hugepages/hugepages-{}", *mem.node, kb)
                              : "/sys/kernel/mm/hugepages/hugepages-" + kb;
  s.line(fmt::format("# --- Hugepages: {} pages of {} free{}, on a hugetlbfs with that page size ---", mem.pages,
                     page_name(mem.page_kib), mem.node ? fmt::format(" on NUMA node {}", *mem.node) : ""));
  s.line(fmt::format("hugetlbfs={}", shell_quote(c.p.hugetlbfs)));
  s.line(fmt::format("hugepool={}", shell_quote(pool)));
  s.line(fmt::format("pages={}", mem.pages));
  // The reservation and the mount, as setup and doctor describe them.
  auto boot = hugepage_boot(mem.page_kib, mem.pages, c.opt.openrc);
  s.line("[ \"$(stat -f -c %T \"$hugetlbfs\" 2>/dev/null || true)\" = hugetlbfs ] ||");
  s.line(fmt::format(
      "  die \"no hugetlbfs at $hugetlbfs; mount one: mkdir -p $hugetlbfs && mount -t hugetlbfs -o pagesize={} "
      "hugetlbfs $hugetlbfs{}\"",
      page_option(mem.page_kib),
      boot.fstab.empty() || !c.opt.hugepages_mount.empty()
          ? std::string()
          : fmt::format(" (to keep it: the /etc/fstab line '{}', which 'vfioctl setup --hugepages-for SPEC' writes)",
                        boot.fstab)));
  s.line(fmt::format("[ \"$(stat -f -c %S \"$hugetlbfs\")\" = {} ] ||", mem.page_kib * 1024));
  s.line(
      fmt::format("  die \"the hugetlbfs at $hugetlbfs has pages of $(stat -f -c %S \"$hugetlbfs\") bytes, not {}: "
                  "mount one with -o pagesize={}\"",
                  page_name(mem.page_kib), page_option(mem.page_kib)));
  // `vfioctl tune start` reserves what the pool lacks, just before QEMU starts.
  if (tunes_hugepages(c.plan)) {
    s.line("");
    return;
  }
  s.line("free=$(cat \"$hugepool/free_hugepages\" 2>/dev/null || echo 0)");
  s.line("if [ \"$free\" -lt \"$pages\" ]; then");
  if (mem.page_kib >= 1048576) {
    s.line(
        fmt::format("  die \"$free free hugepages of {}, $pages needed: reserve them at boot (kernel arguments {}, "
                    "then reboot; 'vfioctl setup --hugepages-for SPEC' writes them)\"",
                    page_name(mem.page_kib), boot.args_text()));
  } else {
    s.line(
        fmt::format("  die \"$free free hugepages of {}, $pages needed: echo $(( $(cat \"$hugepool/nr_hugepages\") + "
                    "pages - free )) > $hugepool/nr_hugepages\"",
                    page_name(mem.page_kib)));
  }
  s.line("fi");
  s.line("");
}

void check_passed_devices(Script& s, const ScriptContext& c) {
  const GuestPlan& plan = c.plan;
  if (plan.passed.empty() && !plan.net.vf) return;
  std::vector<std::string> addrs;
  for (const auto& f : plan.passed) addrs.push_back(f.host.str());
  if (plan.net.vf) addrs.push_back(plan.net.vf->str());
  s.line("# --- Passed devices: each function must already be bound to vfio-pci ---");
  s.line("# (libvirt's managed='yes' would detach them; this script leaves the host's bindings alone)");
  s.line(fmt::format("for dev in {}; do", join(addrs, " ")));
  s.line("  sys=/sys/bus/pci/devices/$dev");
  s.line("  [ -e \"$sys\" ] || die \"$dev: no such PCI device\"");
  s.line("  drv=none");
  s.line("  [ -e \"$sys/driver\" ] && drv=$(basename \"$(readlink -f \"$sys/driver\")\")");
  s.line(
      "  [ \"$drv\" = vfio-pci ] || die \"$dev is bound to $drv, not vfio-pci; hand it over with: echo vfio-pci > "
      "$sys/driver_override; [ -e $sys/driver ] && echo $dev > $sys/driver/unbind; echo $dev > "
      "/sys/bus/pci/drivers_probe\"");
  s.line("done");
  s.line("");
}

void check_files(Script& s, const ScriptContext& c) {
  const GuestPlan& plan = c.plan;
  bool any = false;
  for (const auto& d : plan.disks) {
    if (!any) {
      s.line("# --- Disks and install media must exist ---");
      any = true;
    }
    std::string fix = d.cdrom ? "put the image there" : d.block ? "is the disk attached?" : "create it with qemu-img";
    for (const auto& img : plan.images) {
      if (img.path == d.source) fix = "create it: " + join(img.argv(), " ");
    }
    s.line(fmt::format("[ -e {} ] || die {}", shell_quote(d.source),
                       shell_quote(fmt::format("{} is missing: {}", d.source, fix))));
  }
  for (const auto& i : plan.evdev) {
    if (!any) {
      s.line("# --- Input devices must exist ---");
      any = true;
    }
    s.line(fmt::format("[ -e {} ] || die {}", shell_quote(i.path),
                       shell_quote(i.path + " is missing: is it plugged in? ('vfioctl evdev')")));
  }
  if (any) s.line("");
}

void check_network(Script& s, const ScriptContext& c) {
  const GuestPlan& plan = c.plan;
  if (plan.spec.network.mode == NetworkSpec::Mode::bridge) {
    const std::string& br = plan.spec.network.bridge;
    s.line("# --- Network: the bridge must exist and qemu-bridge-helper may use it ---");
    s.line(fmt::format("[ -d /sys/class/net/{}/bridge ] || die {}", shell_quote(br),
                       shell_quote(fmt::format("bridge {} is missing", br))));
    s.line(fmt::format("grep -qsE '^allow[[:space:]]+({}|all)[[:space:]]*$' /etc/qemu/bridge.conf ||", br));
    s.line(fmt::format("  die {}", shell_quote(fmt::format(
                                       "/etc/qemu/bridge.conf does not allow {}: add the line 'allow {}'", br, br))));
    s.line("");
  }
  if (plan.net.mode == NetworkSpec::Mode::macvtap) {
    const std::string& dev = plan.spec.network.dev;
    std::string tap = macvtap_name(plan);
    s.line(fmt::format("# --- Network: a macvtap device over {} for this guest, opened as descriptor 3 ---", dev));
    s.line(fmt::format("[ -e /sys/class/net/{} ] || die {}", shell_quote(dev),
                       shell_quote(fmt::format("interface {} is missing", dev))));
    s.line(fmt::format("ip link del {} 2>/dev/null || true", tap));
    s.line(fmt::format("ip link add link {} name {} address {} type macvtap mode bridge ||", shell_quote(dev), tap,
                       script_mac(plan)));
    s.line(fmt::format("  die {}", shell_quote("cannot create the macvtap device " + tap + " over " + dev)));
    s.line(fmt::format("ip link set {} up", tap));
    s.line(fmt::format("exec 3<>\"/dev/tap$(cat /sys/class/net/{}/ifindex)\"", tap));
    s.line("");
  }
}

void check_uefi(Script& s, const ScriptContext& c) {
  if (c.direct || c.plan.legacy) return;
  const Paths& p = c.p;
  std::string install = c.opt.distro.install("ovmf");
  s.line("# --- UEFI: the firmware, and this guest's own variables (copied once from the template) ---");
  if (c.firmware_found) {
    s.line(
        fmt::format("[ -r {} ] || die {}", shell_quote(p.code), shell_quote(p.code + " is missing (" + install + ")")));
  } else {
    // Nothing fitting when the script was written: the usual files are named.
    std::string what = c.sb ? "UEFI firmware with Secure Boot and Microsoft's keys enrolled" : "UEFI firmware";
    s.line(fmt::format("# No {} was found when this script was written; these are the usual files.", what));
    s.line(fmt::format(
        "[ -r {} ] || die {}", shell_quote(p.code),
        shell_quote(fmt::format("{} is missing: no {} was found when this script was written ({}); install it "
                                "and write the script again with 'vfioctl new --qemu-script'",
                                p.code, what, install))));
    // They exist now, yet no descriptor said what they are: say so at each start.
    s.line(fmt::format(
        "echo {} >&2",
        shell_quote(fmt::format("{}: note: no {} was found when this script was written; starting with {} and "
                                "the template {}",
                                c.plan.name, what, p.code, p.vars_template))));
  }
  s.line(fmt::format("if [ ! -e {} ]; then", shell_quote(p.vars)));
  s.line(fmt::format("  [ -r {} ] || die {}", shell_quote(p.vars_template),
                     shell_quote(p.vars_template + " is missing (" + install + ")")));
  s.line(fmt::format("  mkdir -p {}", shell_quote(p.state)));
  s.line(fmt::format("  install -m 0600 {} {}", shell_quote(p.vars_template), shell_quote(p.vars)));
  s.line("fi");
  s.line("");
}

void start_tpm(Script& s, const ScriptContext& c) {
  if (!c.plan.spec.tpm) return;
  const Paths& p = c.p;
  s.line("# --- TPM 2.0 emulator: swtpm on a unix socket; it ends when QEMU closes the socket ---");
  s.line(fmt::format("command -v swtpm >/dev/null || die {}",
                     shell_quote("swtpm is missing (" + c.opt.distro.install("swtpm") + ")")));
  s.line(fmt::format("mkdir -p {}", shell_quote(p.tpm_state)));
  s.line(fmt::format("if [ ! -e {} ] && command -v swtpm_setup >/dev/null; then",
                     shell_quote(p.tpm_state + "/tpm2-00.permall")));
  s.line("  # First start: manufacture the TPM (endorsement key and certificates), as libvirt does.");
  s.line(
      fmt::format("  swtpm_setup --tpm2 --tpmstate {} --createek --create-ek-cert --create-platform-cert "
                  "--lock-nvram --not-overwrite --logfile {} >/dev/null ||",
                  shell_quote(p.tpm_state), shell_quote(p.run + "/swtpm_setup.log")));
  s.line(fmt::format("    die {}", shell_quote("swtpm_setup failed; see " + p.run + "/swtpm_setup.log")));
  s.line("fi");
  s.line(fmt::format("if [ -s {} ] && kill -0 \"$(cat {})\" 2>/dev/null; then kill \"$(cat {})\"; sleep 0.2; fi",
                     shell_quote(p.swtpm_pid), shell_quote(p.swtpm_pid), shell_quote(p.swtpm_pid)));
  s.line(fmt::format("rm -f {}", shell_quote(p.swtpm_sock)));
  s.line(fmt::format(
      "swtpm socket --tpm2 --tpmstate dir={} --ctrl type=unixio,path={} --terminate --daemon "
      "--pid file={} --log file={}",
      shell_quote(p.tpm_state), shell_quote(p.swtpm_sock), shell_quote(p.swtpm_pid), shell_quote(p.swtpm_log)));
  s.line("");
}

void privileges(Script& s) {
  s.line("# --- Privileges: QEMU opens its devices, memory and files as root, then runs as the user who");
  s.line("# called sudo (or VFIOCTL_QEMU_USER): -run-with user= on QEMU 9.1 and later, -runas before ---");
  s.line("run_as=${VFIOCTL_QEMU_USER:-${SUDO_USER:-}}");
  s.line("drop=()");
  s.line("if [ -n \"$run_as\" ] && [ \"$run_as\" != root ]; then");
  s.line("  id -u \"$run_as\" >/dev/null 2>&1 || die \"no user $run_as to run QEMU as\"");
  s.line(
      "  read -r qemu_major qemu_minor < <(\"$qemu\" --version | sed -n '1s/.*version "
      "\\([0-9]*\\)\\.\\([0-9]*\\).*/\\1 \\2/p') || true");
  s.line(
      "  if [ \"${qemu_major:-0}\" -gt 9 ] || { [ \"${qemu_major:-0}\" -eq 9 ] && [ \"${qemu_minor:-0}\" -ge 1 ]; }; "
      "then");
  s.line("    drop=(-run-with \"user=$run_as\")");
  s.line("  else");
  s.line("    drop=(-runas \"$run_as\")");
  s.line("  fi");
  s.line("fi");
  s.line("");
}

}  // namespace vfioctl::qemu
