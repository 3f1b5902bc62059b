// The QEMU script: its paths, the header that says what the plan is, the
// launch and the pinning; the argument blocks and the checks before the
// launch are in qemu_machine.cpp, qemu_devices.cpp and qemu_checks.cpp.
#include "vfioctl/guest/qemu_script.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "vfioctl/guest/libvirt_xml.h"
#include "vfioctl/guest/qemu_args.h"
#include "vfioctl/plan/memory_plan.h"
#include "vfioctl/util/cpulist.h"
#include "vfioctl/util/strings.h"

namespace vfioctl {

std::string qemu_run_dir(const GuestPlan& plan, const QemuOptions& opt) {
  return opt.run_dir.empty() ? "/run/vfioctl/qemu/" + plan.name : opt.run_dir;
}

std::string qemu_state_dir(const GuestPlan& plan, const QemuOptions& opt) {
  return opt.state_dir.empty() ? "/var/lib/vfioctl/qemu/" + plan.name : opt.state_dir;
}

namespace qemu {

namespace {

// The usual firmware files of a distribution family, for a host whose
// firmware was not read or has none that fits (the script then says which
// package to install).
std::pair<std::string, std::string> family_firmware(const std::string& family, bool sb) {
  if (family == "fedora")
    return sb ? std::pair{"/usr/share/edk2/ovmf/OVMF_CODE.secboot.fd", "/usr/share/edk2/ovmf/OVMF_VARS.secboot.fd"}
              : std::pair{"/usr/share/edk2/ovmf/OVMF_CODE.fd", "/usr/share/edk2/ovmf/OVMF_VARS.fd"};
  // Arch ships no variables template with keys enrolled: its Secure Boot
  // build with the empty template is the nearest, and the script says so
  // each time it starts the guest.
  if (family == "arch")
    return sb ? std::pair{"/usr/share/edk2/x64/OVMF_CODE.secboot.4m.fd", "/usr/share/edk2/x64/OVMF_VARS.4m.fd"}
              : std::pair{"/usr/share/edk2/x64/OVMF_CODE.4m.fd", "/usr/share/edk2/x64/OVMF_VARS.4m.fd"};
  if (family == "suse")
    return sb ? std::pair{"/usr/share/qemu/ovmf-x86_64-ms-code.bin", "/usr/share/qemu/ovmf-x86_64-ms-vars.bin"}
              : std::pair{"/usr/share/qemu/ovmf-x86_64-code.bin", "/usr/share/qemu/ovmf-x86_64-vars.bin"};
  return sb ? std::pair{"/usr/share/OVMF/OVMF_CODE_4M.ms.fd", "/usr/share/OVMF/OVMF_VARS_4M.ms.fd"}
            : std::pair{"/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd"};
}

// The firmware code and variables template: the options' own, the one
// chosen from the host's firmware, or the family's usual files.
void firmware_paths(ScriptContext& c) {
  const QemuOptions& opt = c.opt;
  Paths& p = c.p;
  std::optional<FirmwareChoice> chosen;
  if (opt.firmware.known) {
    chosen = choose_firmware(opt.firmware, c.sb ? FirmwareNeed::uefi_secure_ms : FirmwareNeed::uefi);
    c.firmware_found = chosen.has_value();
    c.firmware_how = chosen ? chosen->how() : "nothing that fits was found when this script was written";
  }
  auto usual = family_firmware(opt.distro.family(), c.sb);
  if (!opt.ovmf_code.empty()) {
    p.code = opt.ovmf_code;
    c.firmware_how = "";
    c.firmware_found = true;
  } else if (chosen) {
    p.code = chosen->code.path;
    c.code_format = chosen->code.format;
  } else {
    p.code = usual.first;
  }
  if (!opt.ovmf_vars_template.empty()) {
    p.vars_template = opt.ovmf_vars_template;
  } else if (chosen && opt.ovmf_code.empty()) {
    p.vars_template = chosen->vars_template.path;
    c.vars_format = chosen->vars_template.format;
  } else {
    p.vars_template = usual.second;
  }
  // The guest's own copy keeps the template's format.
  p.vars = p.state + (c.vars_format == "qcow2" ? "/OVMF_VARS.qcow2" : "/OVMF_VARS.fd");
}

}  // namespace

ScriptContext script_context(const GuestPlan& plan, const QemuOptions& opt) {
  ScriptContext c{plan, opt, true, false, false, {}, "raw", "raw", "", true};
  c.kvm = opt.virt_type == "kvm";
  c.direct = !opt.kernel.empty();
  c.sb = plan.spec.secure_boot && !c.direct;
  Paths& p = c.p;
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
  firmware_paths(c);
  p.hugetlbfs = !opt.hugepages_mount.empty() ? opt.hugepages_mount
                : plan.memory.page_kib ? hugepage_boot(plan.memory.page_kib, plan.memory.pages, opt.openrc).mount_dir
                                       : std::string();
  return c;
}

namespace {

// The whole QEMU command line, block by block.
Args command_line(const ScriptContext& c) {
  const GuestPlan& plan = c.plan;
  Args args;
  identity(args, c);
  machine(args, c);
  cpu(args, c);
  memory(args, c);
  clock(args, c);
  firmware(args, c);
  iothreads(args, plan);
  disks(args, plan);
  usb(args, plan);
  root_ports(args, plan);
  network(args, plan, c.opt);
  passed_functions(args, plan);
  input(args, plan);
  guest_agent(args, c);
  tpm(args, c);
  sound(args, plan);
  looking_glass(args, plan);
  display(args, c);
  serial(args, c);
  balloon(args, plan);
  return args;
}

std::vector<std::string> vcpu_list(const GuestPlan& plan) {
  std::vector<std::string> vcpus;
  for (int cpu : plan.cpu.vcpus) vcpus.push_back(std::to_string(cpu));
  return vcpus;
}

// `vfioctl pin` with the plan's CPUs, quoted for the script.
std::string pin_command(const ScriptContext& c) {
  const GuestPlan& plan = c.plan;
  std::vector<std::string> pin = {"pin", "--qmp", c.p.qmp, "--vcpus", join(vcpu_list(plan), ",")};
  if (!plan.cpu.emulator.empty()) {
    pin.push_back("--emulator");
    pin.push_back(format_cpulist(plan.cpu.emulator));
  }
  if (!plan.cpu.iothread.empty()) {
    pin.push_back("--iothread");
    pin.push_back(format_cpulist(plan.cpu.iothread));
  }
  pin.push_back("--resume");
  std::string cmd = "\"$vfioctl\"";
  for (const auto& w : pin) cmd += " " + shell_quote(w);
  return cmd;
}

// `vfioctl tune` with the plan's request (the same tune_actions() the
// libvirt XML carries), quoted for the script; "" when nothing is tuned.
std::string tune_words(const ScriptContext& c) {
  const GuestPlan& plan = c.plan;
  auto actions = tune_actions(plan);
  if (actions.empty()) return "";
  std::vector<std::string> w = {plan.name, "--actions", join(actions, ",")};
  if (!plan.cpu.vcpus.empty()) {
    std::vector<int> cpus(plan.cpu.vcpus.begin(), plan.cpu.vcpus.end());
    std::sort(cpus.begin(), cpus.end());
    w.push_back("--cpus");
    w.push_back(format_cpulist(cpus));
  }
  if (plan.memory.page_kib) {
    w.push_back("--memory");
    w.push_back(std::to_string(plan.memory.kib) + "K");
    w.push_back("--hugepages");
    w.push_back(std::to_string(plan.memory.page_kib) + "K");
    if (plan.memory.node) {
      w.push_back("--node");
      w.push_back(std::to_string(*plan.memory.node));
    }
  }
  std::string r;
  for (const auto& x : w) r += " " + shell_quote(x);
  return r;
}

// The comment that opens the script: the plan, how to run it, its files;
// then the shell settings and die().
void header(Script& s, const ScriptContext& c) {
  const GuestPlan& plan = c.plan;
  const auto& mem = plan.memory;
  const Paths& p = c.p;
  s.line("#!/usr/bin/env bash");
  s.line(fmt::format("# {}: {} guest written by vfioctl, for plain QEMU (no libvirt).", plan.name,
                     preset_name(plan.spec.preset)));
  s.line("# The same plan as the libvirt XML that `vfioctl new` writes:");
  s.line(fmt::format("#   {} vCPUs ({} cores x {} threads) on host CPUs {}", plan.cpu.vcpu_count(), plan.cpu.cores,
                     plan.cpu.threads, join(vcpu_list(plan), ",")));
  if (!plan.cpu.emulator.empty() || !plan.cpu.iothread.empty()) {
    s.line(fmt::format("#   emulator threads on CPUs {}, {} on CPUs {}", format_cpulist(plan.cpu.emulator),
                       plan.iothreads == 1 ? "iothread" : fmt::format("{} iothreads", plan.iothreads),
                       format_cpulist(plan.cpu.iothread)));
  }
  if (mem.page_kib) {
    s.line(fmt::format("#   {} MiB on {} hugepages of {}", mem.kib / 1024, mem.pages, page_name(mem.page_kib)));
  } else {
    s.line(fmt::format("#   {} MiB", mem.kib / 1024));
  }
  for (const auto& f : plan.passed) {
    s.line(fmt::format("#   {} -> guest {:02x}:00.{}", f.host.str(), f.guest_bus, f.guest_function));
  }
  s.line("#");
  s.line("# Run it as root. It checks what QEMU needs, starts QEMU paused, pins its threads with");
  if (c.opt.serial_stdio) {
    s.line("# `vfioctl pin` and lets the guest run; QEMU stays in the foreground with the serial console.");
  } else {
    s.line("# `vfioctl pin` and lets the guest run in the background. Stop the guest with");
    s.line(fmt::format("#   kill \"$(cat {})\"", shell_quote(p.pidfile)));
  }
  s.line("# Files:");
  s.line(fmt::format("#   {}  QMP monitor", p.qmp));
  s.line(fmt::format("#   {}  QEMU's PID", p.pidfile));
  if (!c.opt.serial_stdio) s.line(fmt::format("#   {}  serial console", p.serial));
  if (!c.direct) s.line(fmt::format("#   {}  this guest's UEFI variables", p.vars));
  if (plan.spec.tpm) s.line(fmt::format("#   {}  TPM state", p.tpm_state));
  s.line("set -euo pipefail");
  s.line("");
  s.line(fmt::format("die() {{ echo {}\"$*\" >&2; exit 1; }}", shell_quote(plan.name + ": ")));
  s.line("");
}

// args=( ... ): every block with its comment, one line of words each.
void arguments(Script& s, const Args& args) {
  s.line("# --- QEMU ---");
  s.line("args=(");
  bool first = true;
  for (const auto& b : args.blocks()) {
    if (!first) s.line("");
    first = false;
    for (const auto& comment : b.comment) s.line("  # " + comment);
    for (const auto& words : b.lines) {
      std::string l = " ";
      for (const auto& w : words) l += " " + shell_quote(w);
      s.line(l);
    }
  }
  s.line(")");
  s.line("");
}

// QEMU started paused, then pinned and resumed: in the background
// (-daemonize), or in the foreground with pinning beside it.
void launch_and_pin(Script& s, const ScriptContext& c) {
  const GuestPlan& plan = c.plan;
  std::string pin_cmd = pin_command(c);
  const std::string tune = tune_words(c);
  const std::string name = shell_quote(plan.name);
  if (!tune.empty()) {
    s.line("# --- Tuning: what the libvirt hook does for a libvirt guest, through the same code and state");
    s.line("# (vfioctl tune; 'vfioctl hook status' shows it). This script, and the QEMU it starts, are put");
    s.line("# in a cgroup of the guest's own first, outside the host processes' confinement ---");
    s.line("\"$vfioctl\" tune start" + tune + " --pid $$ --apply");
    s.line("untune() { \"$vfioctl\" tune stop " + name + " --force --apply >&2 || true; }");
    s.line("trap untune EXIT  # until QEMU runs: a failed start gives it all back");
    s.line("");
  }
  // Once QEMU runs, a detached watcher gives the tuning back when it ends.
  auto watch = [&](const std::string& pid, const std::string& indent) {
    s.line(indent + "\"$vfioctl\" tune stop " + name + " --after " + pid + " --log \"$run_dir/tune.log\" --apply");
  };
  if (c.opt.serial_stdio) {
    s.line("# --- Pinning: once QMP answers, pin every thread and let the guest run ---");
    s.line("# (in the background: QEMU takes this terminal; `exec` keeps its PID this script's, $$)");
    s.line("(");
    s.line("  for _ in $(seq 300); do [ -S \"$qmp\" ] && break; sleep 0.1; done");
    // ($$ is QEMU once it has exec'd; when it never started, untune at once.)
    if (!tune.empty()) {
      s.line("  \"$vfioctl\" tune stop " + name + " --after $$ --log \"$run_dir/tune.log\" --apply >&2 ||");
      s.line("    \"$vfioctl\" tune stop " + name + " --force --apply >&2 || true");
    }
    s.line("  if ! " + pin_cmd + " >&2; then");
    s.line("    echo " + shell_quote(plan.name + ": pinning failed; stopping QEMU") + " >&2");
    s.line("    kill $$");
    s.line("  fi");
    s.line(") &");
    s.line("exec \"$qemu\" \"${args[@]}\" \"${drop[@]}\"");
  } else {
    s.line("# Returns once QEMU runs (paused) in the background, its QMP socket listening.");
    s.line("\"$qemu\" \"${args[@]}\" \"${drop[@]}\"");
    if (!tune.empty()) {
      watch("\"$(cat \"$pidfile\")\"", "");
      s.line("trap - EXIT");
    }
    s.line("");
    s.line("# --- Pinning: vCPU i to the i-th CPU, the iothread and every other thread to theirs; then run ---");
    s.line("if ! " + pin_cmd + "; then");
    s.line("  kill \"$(cat \"$pidfile\")\" 2>/dev/null || true");
    s.line("  die \"pinning failed; QEMU stopped\"");
    s.line("fi");
    s.line(fmt::format("echo {}\"$(cat \"$pidfile\")\"{}", shell_quote(plan.name + ": running, pid "),
                       shell_quote("; serial console: " + c.p.serial)));
  }
}

}  // namespace

}  // namespace qemu

std::string qemu_script(const GuestPlan& plan, const QemuOptions& opt) {
  using namespace qemu;
  const ScriptContext c = script_context(plan, opt);
  Args args = command_line(c);
  Script s;
  header(s, c);
  check_run_dir(s, c);
  check_programs(s, c);
  check_hugepages(s, c);
  check_passed_devices(s, c);
  check_files(s, c);
  check_network(s, c);
  check_uefi(s, c);
  start_tpm(s, c);
  privileges(s);
  arguments(s, args);
  launch_and_pin(s, c);
  return s.text();
}

}  // namespace vfioctl
