// A bash script that starts a GuestPlan with plain QEMU (no libvirt): the
// same guest the libvirt XML describes (docs/design.md, "Guest defaults"), with
// checks of what libvirt would otherwise do for it (hugetlbfs and its page
// size, free pages, vfio-pci bindings, OVMF variables, swtpm), and thread
// pinning by `vfioctl pin` over QMP once QEMU has started, paused, and
// before the guest runs.
#pragma once

#include <string>

#include "vfioctl/guest/guest_plan.h"
#include "vfioctl/host/firmware.h"
#include "vfioctl/host/system.h"

namespace vfioctl {

struct QemuOptions {
  // "kvm" for real guests; "qemu" (TCG) for tests where /dev/kvm is missing:
  // the CPU becomes the Intel model below, as in XmlOptions.
  std::string virt_type = "kvm";
  std::string tcg_cpu_model = "Skylake-Client";
  std::string emulator = "/usr/bin/qemu-system-x86_64";
  // The vfioctl the script calls to pin QEMU's threads.
  std::string vfioctl = "vfioctl";
  // Runtime files (QMP socket, pid file, swtpm socket, serial log); empty:
  // /run/vfioctl/qemu/NAME.
  std::string run_dir;
  // Files that outlive a run (UEFI variables, TPM state); empty:
  // /var/lib/vfioctl/qemu/NAME.
  std::string state_dir;
  // OVMF firmware code and variables template (raw); empty: the firmware
  // chosen from `firmware` (host/firmware.h: QEMU's descriptors, then the
  // distributions' known files), UEFI without Secure Boot, or with
  // Microsoft's keys enrolled when the plan asks for Secure Boot.
  std::string ovmf_code, ovmf_vars_template;
  // The host's firmware. Not read (known false), or nothing that fits: the
  // usual files of `distro`'s family are named, and the script stops with
  // the package to install when they are missing.
  FirmwareCatalog firmware;
  // hugetlbfs mount for the guest's memory; empty: /dev/hugepages for 2 MiB
  // pages, /dev/hugepages1G for 1 GiB pages.
  std::string hugepages_mount;
  // Boot a kernel directly (tests): empty means boot from disk with OVMF.
  std::string kernel, initrd, cmdline;
  // Serial console to this file; empty: RUN_DIR/serial.log.
  std::string serial_log;
  // Serial console (and QEMU's monitor, Ctrl-A C) on the terminal instead:
  // QEMU stays in the foreground and pinning runs beside it.
  bool serial_stdio = false;
  // The host's distribution: the script's errors name its packages.
  Distro distro;
  // The host boots with OpenRC: hugetlbfs is mounted where setup's fstab
  // line puts it (hugepage_boot()), not under /dev.
  bool openrc = false;
};

// The runtime and state directories a script uses (the defaults above
// filled in for the plan's name).
std::string qemu_run_dir(const GuestPlan& plan, const QemuOptions& opt);
std::string qemu_state_dir(const GuestPlan& plan, const QemuOptions& opt);

// The whole script, starting with "#!/usr/bin/env bash".
std::string qemu_script(const GuestPlan& plan, const QemuOptions& opt = {});

}  // namespace vfioctl
